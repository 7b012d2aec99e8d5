// Redis going away under running workers (issue: nothing lost): a redis-server with AOF is stopped and started
// again while a worker process runs jobs. The worker logs the outage once, retries with backoff, keeps its horses'
// outcomes, stores them once Redis is back and goes on; a reply lost with its connection is reconciled; enqueue calls
// made meanwhile fail fast, or wait when asked to.
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { connect, createServer, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Connection, Queue, RedisConnectionError } from "../mod.ts";
import { test, uniqueName } from "./_harness.ts";
import { Script } from "../src/connection.ts";
import * as lua from "../src/lua/mod.ts";
import { type Cli, cli, exitOf, until, workerName } from "./_process.ts";
import { AofRedis, freePort } from "./_aof_redis.ts";

const JOBS = "./test/fixtures/jobs.ts";

/** The lines of `path` (none when it does not exist yet). */
async function linesOf(path: string): Promise<string[]> {
  return (await readFile(path, "utf8").catch(() => "")).split("\n").filter(Boolean);
}

/** How many times `pattern` occurs in `text`. */
function count(text: string, pattern: RegExp): number {
  return text.match(new RegExp(pattern.source, "g"))?.length ?? 0;
}

test(
  "a worker rides out a Redis restart: a job that ends while Redis is down has its outcome stored after; the outage " +
    "logged once; no job lost, each ran once, no exit",
  async () => {
    const dir = await mkdtemp(join(tmpdir(), "rqts-outage-"));
    const redis = new AofRedis(dir, await freePort());
    await redis.start();
    const name = uniqueName("outage");
    const runs = join(dir, "runs");
    const gate = join(dir, "gate");
    const ended = join(dir, "ended");
    const q = new Queue(name, { connection: redis.url });
    const w = cli(["worker", name, "--url", redis.url, "--concurrency", "2", "--liveness-ttl", "2"]);
    try {
      // The gated job runs until the test creates `gate` (during the outage), then writes its label to `ended`.
      const gated = await q.enqueue(`${JOBS}#markUntilGate`, runs, "gated", gate, ended);
      const jobs = [gated];
      for (let i = 0; i < 19; i++) jobs.push(await q.enqueue(`${JOBS}#markThenSleep`, runs, `j${i}`, 0.3));
      await until(
        "the gated job to run and a few others to finish",
        async () => (await linesOf(runs)).includes("gated") && (await q.finishedJobRegistry.count()) >= 3,
        30_000,
        w,
      );

      await redis.stop();
      // During the outage: a plain enqueue fails at once with a clear error; one that asked to wait waits.
      const t0 = Date.now();
      const error = await q.enqueue(`${JOBS}#add`, 1, 2).then(() => null, (e) => e);
      assert.ok(error instanceof RedisConnectionError, `expected RedisConnectionError, got ${error}`);
      // Usually "unreachable ... not sent"; when the client had not yet seen the socket close, "broke while in flight".
      assert.match(error.message, /unreachable .* the command was not sent.*offlineWait|broke while a command was in/s);
      assert.doesNotMatch(error.message, /after waiting/, "a plain enqueue does not wait for Redis");
      // Generous: far below the 5 s connect and reply timeouts a waiting or hanging enqueue would run into.
      assert.ok(Date.now() - t0 < 3000, `failed at once (${Date.now() - t0} ms)`);
      const patient = new Queue(name, { connection: { url: redis.url, offlineWait: 60 } });
      const waited = patient.enqueue(`${JOBS}#mark`, runs, "waited");
      // The gated job ends while Redis is down: its outcome can only be kept by the worker, not stored.
      await writeFile(gate, "");
      await until(
        "the gated job to end while Redis is down",
        async () => (await linesOf(ended)).includes("gated"),
        30_000,
        w,
      );
      assert.equal(w.child.exitCode, null, `the worker is still running\n${w.output()}`);

      await redis.start();
      const late = await waited;
      await until(
        "every job to finish",
        async () => (await q.finishedJobRegistry.count()) === jobs.length + 1,
        30_000,
        w,
      );
      assert.equal(await gated.getStatus(), "finished", "the outcome kept through the outage was stored after it");
      assert.equal(await q.failedJobRegistry.count(), 0, w.output());
      assert.equal(await q.startedJobRegistry.count(), 0);
      assert.equal(await q.count(), 0);
      assert.equal(await late.getStatus(), "finished");
      const labels = (await linesOf(runs)).sort();
      assert.deepEqual(
        labels,
        ["gated", ...jobs.slice(1).map((_, i) => `j${i}`), "waited"].sort(),
        "each job ran once",
      );
      // One outage, one pair of lines, however many commands failed during it (stores, dequeues, liveness).
      assert.equal(count(w.output(), /Redis is unreachable \(/), 1, `"unreachable" logged once:\n${w.output()}`);
      assert.equal(count(w.output(), /Redis is back after [\d.]+ s/), 1, `"back" logged once:\n${w.output()}`);
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
  { timeout: 120_000 },
);

/**
 * A listener on the port of a stopped Redis, where connection attempts are otherwise invisible: it notes when each
 * attempt arrives and closes it on its first bytes (the client's handshake fails, as against a closed port: the
 * command is not sent).
 */
async function doorman(port: number): Promise<{ attempts: number[]; close(): Promise<void> }> {
  const attempts: number[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    attempts.push(Date.now());
    sockets.add(socket);
    socket.on("error", () => {});
    socket.on("close", () => sockets.delete(socket));
    socket.once("data", () => socket.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolve());
  });
  return {
    attempts,
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

const gapsOf = (times: number[]) => times.slice(1).map((t, i) => t - times[i]);

test(
  "worker during a Redis outage: reconnects back off (each wait at least double the last from 100 ms, none past " +
    "the 5 s cap), and the outage is logged once, as one 'unreachable' and one 'back' line",
  async () => {
    const dir = await mkdtemp(join(tmpdir(), "rqts-backoff-"));
    const redis = new AofRedis(dir, await freePort());
    await redis.start();
    const name = uniqueName("backoff");
    const runs = join(dir, "runs");
    const q = new Queue(name, { connection: redis.url });
    // Liveness and heartbeat timers (every 30 s) stay out of the window watched, so every attempt seen is a retry.
    const w = cli(["worker", name, "--url", redis.url, "--liveness-ttl", "90"]);
    let door: Awaited<ReturnType<typeof doorman>> | undefined;
    try {
      await q.enqueue(`${JOBS}#mark`, runs, "before");
      await until(
        "the job before the outage to finish",
        async () => (await q.finishedJobRegistry.count()) === 1,
        30_000,
        w,
      );

      await redis.stop();
      door = await doorman(redis.port);
      const attempts = door.attempts;
      // Two waits at the cap (100 ms doubling reaches 5 s after ~6 s of retries), or more attempts than a backoff
      // makes in a minute.
      await until(
        "the worker's reconnects to be 4 s apart twice",
        () => gapsOf(attempts).filter((g) => g >= 4000).length >= 2 || attempts.length > 30,
        60_000,
        w,
      );
      const gaps = gapsOf(attempts);
      const seen = `attempts ${attempts.length}, gaps ${gaps.join(", ")} ms`;
      console.log(`  ${seen}`);
      // Lower bounds (a loaded machine lengthens waits; only a late accept here can shorten the next gap): the k-th
      // wait is at least three quarters of min(100 * 2^k, 5000) ms. One attempt may be the 30 s heartbeat's, not a
      // retry: it splits a wait in two, so the bounds may hold with two adjacent gaps taken as one.
      const doubling = (gs: number[]) => gs.every((g, k) => g >= Math.min(100 * 2 ** k, 5000) * 0.75);
      const merged = (i: number) => [...gaps.slice(0, i), gaps[i] + gaps[i + 1], ...gaps.slice(i + 2)];
      assert.ok(
        doubling(gaps) || gaps.slice(1).some((_, i) => doubling(merged(i))),
        `each wait at least about double the last, from 100 ms (${seen})`,
      );
      // And they grow (a fixed wait, even a long one, is no backoff): the first is under a quarter of the longest.
      assert.ok(gaps[0] * 4 < Math.max(...gaps), `the waits grow (${seen})`);
      // The cap: an uncapped doubling would wait 6.4 s and then 12.8 s; 8 s leaves 3 s of slack to a 5 s wait.
      assert.ok(gaps.every((g) => g < 8000), `no wait past the 5 s cap (${seen})`);
      await door.close();
      door = undefined;

      await redis.start();
      await until("the worker to say Redis is back", () => /Redis is back after/.test(w.output()), 30_000, w);
      await q.enqueue(`${JOBS}#mark`, runs, "after");
      await until(
        "the job after the outage to finish",
        async () => (await q.finishedJobRegistry.count()) === 2,
        30_000,
        w,
      );
      assert.deepEqual(await linesOf(runs), ["before", "after"]);
      assert.equal(count(w.output(), /Redis is unreachable \(/), 1, `"unreachable" logged once:\n${w.output()}`);
      assert.equal(count(w.output(), /Redis is back after [\d.]+ s/), 1, `"back" logged once:\n${w.output()}`);

      w.signal("SIGTERM");
      assert.equal((await exitOf(w, 10_000)).code, 0, w.output());
    } finally {
      await w.stop();
      await door?.close();
      await q.connection.close();
      await redis.stop();
      await rm(dir, { recursive: true, force: true });
    }
  },
  { timeout: 120_000 },
);

/**
 * A TCP proxy in front of a Redis on `target` that loses one reply, as a connection that breaks after a command
 * reached Redis and before its reply came back: once armed, the first client write containing `needle` goes on to
 * Redis, replies on that connection are dropped from then on, and when `landed()` says Redis ran the command the
 * connection is cut on both sides.
 */
class ReplyCutter {
  #server = createServer((client) => this.#pipe(client));
  #armed: { needle: Buffer; landed: () => Promise<boolean>; done: () => void } | undefined;
  #sockets = new Set<Socket>();
  constructor(readonly target: number) {}
  get url(): string {
    return `redis://127.0.0.1:${(this.#server.address() as { port: number }).port}`;
  }
  async listen(): Promise<this> {
    await new Promise<void>((resolve) => this.#server.listen(0, "127.0.0.1", () => resolve()));
    return this;
  }
  /** Resolves once a command containing `needle` ran in Redis (`landed`) and its connection was cut unanswered. */
  arm(needle: string, landed: () => Promise<boolean>): Promise<void> {
    return new Promise((done) => (this.#armed = { needle: Buffer.from(needle), landed, done }));
  }
  #pipe(client: Socket): void {
    const upstream = connect(this.target, "127.0.0.1");
    for (const s of [client, upstream]) {
      this.#sockets.add(s);
      s.on("error", () => {});
      s.on("close", () => this.#sockets.delete(s));
    }
    client.on("close", () => upstream.destroy());
    upstream.on("close", () => client.destroy());
    let cut = false;
    let tail = Buffer.alloc(0); // the end of the last write, for a needle split between two
    client.on("data", (chunk: Buffer) => {
      const armed = this.#armed;
      if (armed && !cut) {
        const seen = Buffer.concat([tail, chunk]);
        tail = seen.subarray(Math.max(0, seen.length - armed.needle.length));
        if (seen.includes(armed.needle)) {
          this.#armed = undefined;
          cut = true;
          void until("the command to run in Redis", armed.landed, 15_000).then(() => {
            client.destroy();
            upstream.destroy();
            armed.done();
          });
        }
      }
      upstream.write(chunk);
    });
    upstream.on("data", (reply: Buffer) => {
      if (!cut) client.write(reply);
    });
  }
  close(): Promise<void> {
    for (const s of this.#sockets) s.destroy();
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }
}

test(
  "worker: a reply lost when the connection broke (the outcome stored and the next job taken, unanswered) is " +
    "reconciled: the job taken goes back and runs, every job ran and was stored once, no rqts:* list left behind",
  async () => {
    const dir = await mkdtemp(join(tmpdir(), "rqts-lost-"));
    const redis = new AofRedis(dir, await freePort());
    await redis.start();
    const proxy = await new ReplyCutter(redis.port).listen();
    const name = uniqueName("lost");
    const wname = workerName();
    const runs = join(dir, "runs");
    const q = new Queue(name, { connection: redis.url });
    const c = q.connection;
    let w: Cli | undefined;
    try {
      // Scripts loaded ahead, so the command cut is the script itself (EVALSHA), not a NOSCRIPT reply before it.
      for (const script of Object.values(lua)) {
        if (script instanceof Script) await c.call(["SCRIPT", "LOAD", script.source]);
      }
      // With jobs waiting, a worker of concurrency 1 takes the next job ahead while one runs, and stores an outcome
      // and takes the next in one script: the reply lost is that of a's outcome, which took c.
      const jobs = [];
      for (const label of ["a", "b", "c", "d"]) jobs.push(await q.enqueue(`${JOBS}#markThenSleep`, runs, label, 0.3));
      const [a] = jobs;
      const cut = proxy.arm(a.id, async () => (await a.getStatus()) === "finished");
      let wasCut = false;
      void cut.then(() => (wasCut = true));
      w = cli(["worker", name, "--url", proxy.url, "--name", wname]);
      await until("a's outcome to be stored and the reply lost", () => wasCut, 30_000, w);
      await until("every job to finish", async () => (await q.finishedJobRegistry.count()) === jobs.length, 30_000, w);

      assert.deepEqual((await linesOf(runs)).sort(), ["a", "b", "c", "d"], "each job ran once");
      assert.match(w.output(), /Gave back 1 job\(s\) taken in a round trip whose reply was lost/);
      for (const job of jobs) {
        assert.equal(await job.getStatus(), "finished");
        assert.equal(await c.call(["XLEN", `rq:results:${job.id}`]), 1, `one result stored for ${job.id}`);
      }
      assert.equal(await c.call(["HGET", `rq:worker:${wname}`, "successful_job_count"]), "4", "each counted once");
      assert.equal(await q.failedJobRegistry.count(), 0, w.output());
      assert.equal(await q.startedJobRegistry.count(), 0);
      assert.equal(await q.count(), 0);
      for (const key of [`rqts:running:${wname}`, `rqts:held:${wname}`, `rqts:dequeued:${wname}`]) {
        assert.equal(await c.call(["EXISTS", key]), 0, `${key} is empty`);
      }

      w.signal("SIGTERM");
      assert.equal((await exitOf(w, 10_000)).code, 0, w.output());
    } finally {
      await w?.stop();
      await proxy.close();
      await c.close();
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
