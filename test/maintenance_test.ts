// The worker's maintenance and recovery cost O(workers + registries), not O(keys): with 200,000 unrelated keys in
// Redis, starting a worker, its maintenance and the recovery of a SIGKILLed worker's lists issue no SCAN.
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test, uniqueName } from "./_harness.ts";
import { Queue } from "../mod.ts";
import { type Cli, cli, exitOf, until, workerName } from "./_process.ts";
import { startRedis } from "../scripts/redis_server.ts";

const JOBS = "./test/fixtures/jobs.ts";

/** `INFO commandstats` as { command: calls }. */
async function commandCalls(q: Queue): Promise<Record<string, number>> {
  const info = await q.connection.call<string>(["INFO", "commandstats"]);
  return Object.fromEntries([...info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)].map(([, c, n]) => [c, Number(n)]));
}

test(
  "Worker maintenance: with 200,000 unrelated keys, start, maintenance and recovery of a SIGKILLed worker's own and held lists issue no SCAN",
  async () => {
    // A private server: the keys would slow every other test, and INFO commandstats counts the whole server.
    const redis = await startRedis();
    const q = new Queue(uniqueName("maint"), { connection: redis.url });
    const c = q.connection;
    const dir = await mkdtemp(join(tmpdir(), "rqts-maint-"));
    const file = join(dir, "runs");
    const killedName = workerName();
    let killed: Cli | undefined, second: Cli | undefined;
    try {
      await c.call(["EVAL", "for i = 1, 200000 do redis.call('SET', 'unrelated:' .. i, 'x') end", "0"]);
      assert.ok((await c.call<number>(["DBSIZE"])) >= 200_000);
      const slow = await q.enqueue(`${JOBS}#sleep`, 30);
      const ahead = await q.enqueue(`${JOBS}#mark`, file, "ahead");
      killed = cli(["worker", q.name, "--url", redis.url, "--name", killedName, "--liveness-ttl", "2"]);
      // The job behind the running one is taken ahead: in the worker's held set, status started, never run.
      await until(
        "the second job to be taken ahead",
        async () => (await c.call<number>(["SISMEMBER", `rqts:held:${killedName}`, ahead.id])) === 1,
        20_000,
        killed,
      );
      assert.equal(await slow.getStatus(), "started");
      // A third id that the worker's wait had just moved into its own list when it died.
      const dequeued = await q.enqueue(`${JOBS}#mark`, file, "dequeued");
      assert.equal(
        await c.call(["LMOVE", `rq:queue:${q.name}`, `rqts:dequeued:${killedName}`, "LEFT", "RIGHT"]),
        dequeued.id,
      );
      await c.call(["CONFIG", "RESETSTAT"]);
      killed.signal("SIGKILL");
      assert.equal((await exitOf(killed)).signal, "SIGKILL");

      second = cli(["worker", q.name, "--url", redis.url, "--liveness-ttl", "2"]);
      await until(
        "the held and dequeued jobs to finish",
        async () => {
          const [a, d] = await Promise.all([ahead.getStatus(), dequeued.getStatus()]);
          return a === "finished" && d === "finished";
        },
        30_000,
        second,
      );
      await until(
        "the running job to fail as abandoned",
        async () => (await slow.getStatus()) === "failed",
        30_000,
        second,
      );
      assert.match(second.output(), new RegExp(`Worker ${killedName} died: 2 job\\(s\\) it had not started went back`));
      assert.deepEqual((await readFile(file, "utf8")).split("\n").filter(Boolean).sort(), ["ahead", "dequeued"]);
      assert.equal(
        await c.call<number>(["EXISTS", `rqts:held:${killedName}`, `rqts:dequeued:${killedName}`]),
        0,
        "the dead worker's lists are gone",
      );
      const calls = await commandCalls(q);
      assert.ok((calls.evalsha ?? 0) + (calls.eval ?? 0) > 0, `the worker ran its scripts: ${JSON.stringify(calls)}`);
      assert.equal(calls.scan, undefined, `no SCAN: ${JSON.stringify(calls)}`);
      assert.equal(calls.keys, undefined, `no KEYS: ${JSON.stringify(calls)}`);
      second.signal("SIGTERM");
      assert.equal((await exitOf(second)).code, 0, second.output());
    } finally {
      await killed?.stop();
      await second?.stop();
      await q.close();
      await redis.stop();
      await rm(dir, { recursive: true, force: true });
    }
  },
  { timeout: 90_000 },
);
