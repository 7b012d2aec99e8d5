// Redis going away under running workers (issue: nothing lost): a redis-server with AOF is stopped and started
// again while a worker process runs jobs. The worker logs the outage, keeps its horses' outcomes, stores them once
// Redis is back and goes on; enqueue calls made meanwhile fail fast, or wait when asked to.
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { Connection, Queue, RedisConnectionError } from "../mod.ts";
import { test, uniqueName } from "./_harness.ts";
import { cli, exitOf, until } from "./_process.ts";

const JOBS = "./test/fixtures/jobs.ts";

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

/** A redis-server with AOF (fsync always) in `dir` on `port`, that can be stopped and started again. */
class AofRedis {
  #child: ChildProcess | undefined;
  #exited: Promise<void> = Promise.resolve();
  constructor(readonly dir: string, readonly port: number) {}
  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }
  async start(): Promise<void> {
    const child = spawn("redis-server", [
      "--port",
      String(this.port),
      "--bind",
      "127.0.0.1",
      "--dir",
      this.dir,
      "--appendonly",
      "yes",
      "--appendfsync",
      "always",
      "--save",
      "",
    ], { stdio: "ignore" });
    this.#child = child;
    this.#exited = new Promise((resolve) => child.once("exit", () => resolve()));
    const c = Connection.fromUrl(this.url, { offlineWait: 10 });
    try {
      await until("redis-server to answer", async () => (await c.call(["PING"]).catch(() => "")) === "PONG", 10_000);
    } finally {
      await c.close();
    }
  }
  /** Sends `signal` to the server (SIGSTOP: it hangs, connections open and silent; SIGCONT: it goes on). */
  signal(signal: "SIGSTOP" | "SIGCONT"): void {
    // process.kill: Deno's ChildProcess#kill does not deliver SIGCONT.
    if (this.#child?.pid) process.kill(this.#child.pid, signal);
  }
  /** SIGTERM (redis-server writes its AOF and exits), then waits for the exit. */
  async stop(): Promise<void> {
    this.#child?.kill("SIGTERM");
    await this.#exited;
    this.#child = undefined;
  }
}

test(
  "a worker rides out a Redis restart: outage logged, outcomes kept and stored after, no job lost, no exit",
  async () => {
    const dir = await mkdtemp(join(tmpdir(), "rqts-outage-"));
    const redis = new AofRedis(dir, await freePort());
    await redis.start();
    const name = uniqueName("outage");
    const runs = join(dir, "runs");
    const q = new Queue(name, { connection: redis.url });
    const w = cli(["worker", name, "--url", redis.url, "--concurrency", "2", "--liveness-ttl", "2"]);
    try {
      const jobs = [];
      for (let i = 0; i < 20; i++) jobs.push(await q.enqueue(`${JOBS}#markThenSleep`, runs, `j${i}`, 0.3));
      await until("a few jobs to finish", async () => (await q.finishedJobRegistry.count()) >= 3, 15_000, w);
      await until("jobs to be running", async () => (await q.startedJobRegistry.count()) >= 1, 5000, w);

      await redis.stop();
      // During the outage: a plain enqueue fails at once with a clear error; one that asked to wait waits.
      const t0 = Date.now();
      const error = await q.enqueue(`${JOBS}#add`, 1, 2).then(() => null, (e) => e);
      assert.ok(error instanceof RedisConnectionError, `expected RedisConnectionError, got ${error}`);
      // Usually "unreachable ... not sent"; when the client had not yet seen the socket close, "broke while in flight".
      assert.match(error.message, /unreachable .* the command was not sent.*offlineWait|broke while a command was in/s);
      assert.ok(Date.now() - t0 < 1000, `failed fast (${Date.now() - t0} ms)`);
      const patient = new Queue(name, { connection: { url: redis.url, offlineWait: 20 } });
      const waited = patient.enqueue(`${JOBS}#mark`, runs, "waited");
      await new Promise((r) => setTimeout(r, 3000)); // jobs running in horses end during the outage
      assert.equal(w.child.exitCode, null, `the worker is still running\n${w.output()}`);

      await redis.start();
      const late = await waited;
      await until(
        "every job to finish",
        async () => (await q.finishedJobRegistry.count()) === jobs.length + 1,
        30_000,
        w,
      );
      assert.equal(await q.failedJobRegistry.count(), 0, w.output());
      assert.equal(await q.startedJobRegistry.count(), 0);
      assert.equal(await q.count(), 0);
      assert.equal(await late.getStatus(), "finished");
      const labels = (await readFile(runs, "utf8")).split("\n").filter(Boolean).sort();
      assert.deepEqual(labels, [...jobs.map((_, i) => `j${i}`), "waited"].sort(), "each job ran exactly once");
      assert.match(w.output(), /Redis is unreachable \(/);
      assert.match(w.output(), /Redis is back after [\d.]+ s/);
      await patient.connection.close();

      w.signal("SIGTERM");
      assert.equal((await exitOf(w, 10_000)).code, 0, w.output());
    } finally {
      await w.stop();
      await q.connection.close();
      await redis.stop();
      await rm(dir, { recursive: true, force: true });
    }
  },
  { timeout: 90_000 },
);

test("Connection: a first command to a Redis that is down fails fast; with offlineWait it retries until the deadline", async () => {
  const port = await freePort();
  const fast = Connection.fromUrl(`redis://127.0.0.1:${port}`);
  let t0 = Date.now();
  await assert.rejects(
    fast.call(["PING"]),
    (e: Error) => e instanceof RedisConnectionError && /Cannot connect/.test(e.message),
  );
  assert.ok(Date.now() - t0 < 2000);
  const slow = Connection.fromUrl(`redis://127.0.0.1:${port}`, { offlineWait: 1 });
  t0 = Date.now();
  await assert.rejects(slow.call(["PING"]), RedisConnectionError);
  const took = Date.now() - t0;
  assert.ok(took >= 900 && took < 4000, `waited about 1 s (${took} ms)`);
  assert.throws(() => Connection.fromUrl("redis://x", { offlineWait: -1 }), /offlineWait: received -1/);
  await fast.close();
  await slow.close();
});

test(
  "Connection: a Redis that hangs (SIGSTOP) fails a command after 5 s of silence, maybe-ran; it works again after SIGCONT",
  async () => {
    const dir = await mkdtemp(join(tmpdir(), "rqts-hang-"));
    const redis = new AofRedis(dir, await freePort());
    await redis.start();
    const c = Connection.fromUrl(redis.url);
    try {
      assert.equal(await c.call(["PING"]), "PONG");
      redis.signal("SIGSTOP");
      const t0 = Date.now();
      const error = await c.call(["PING"]).then(() => undefined, (e: unknown) => e);
      const took = Date.now() - t0;
      redis.signal("SIGCONT");
      assert.ok(error instanceof RedisConnectionError, String(error));
      assert.equal(error.maybeRan, true);
      assert.match(error.message, /no reply from Redis in 5 s/);
      assert.ok(took >= 4500 && took < 9000, `failed after about 5 s (${took} ms)`);
      assert.equal(await c.call(["PING"]), "PONG");
    } finally {
      redis.signal("SIGCONT");
      await c.close();
      await redis.stop();
      await rm(dir, { recursive: true, force: true });
    }
  },
  { timeout: 30_000 },
);
