// A worker asked to stop while Redis is down (issue 19 item 8): it waits OUTAGE_STOP_GRACE (10 s) for Redis, then
// exits, keeping the outcomes it could not store in its outcomes directory, naming each job; a worker started with that
// directory once Redis is back stores them. Nothing lost, nothing run twice. A redis-server of the test's own (AOF).
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync, renameSync, statSync, utimesSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type LogLevel, Queue, Worker } from "../mod.ts";
import { test, uniqueName } from "./_harness.ts";
import { cli, exitOf, until, workerName } from "./_process.ts";
import { AofRedis, freePort } from "./_aof_redis.ts";
import { STALE_CLAIM_MS } from "../src/outcome_spool.ts";

const JOBS = "./test/fixtures/jobs.ts";

const linesOf = async (path: string) => (await readFile(path, "utf8").catch(() => "")).split("\n").filter(Boolean);

test(
  "SIGTERM while Redis is down: the worker exits within the 10 s grace (+ one 5 s backoff), keeps the outcomes of the " +
    "jobs that ended meanwhile in its outcomes directory, naming them; rqts store-outcomes stores them; each job ran once",
  async () => {
    const dir = await mkdtemp(join(tmpdir(), "rqts-outage-stop-"));
    const outcomes = join(dir, "outcomes");
    const redis = new AofRedis(dir, await freePort());
    await redis.start();
    const name = uniqueName("ostop");
    const [runs, gate, ended] = [join(dir, "runs"), join(dir, "gate"), join(dir, "ended")];
    const q = new Queue(name, { connection: redis.url });
    const wname = workerName();
    const args = ["worker", name, "--url", redis.url, "--concurrency", "2", "--liveness-ttl", "2"];
    const w = cli([...args, "--name", wname, "--outcomes-dir", outcomes]);
    let next: Worker | undefined;
    let nextDone: Promise<void> | undefined;
    try {
      const a = await q.enqueue(`${JOBS}#markUntilGate`, runs, "a", gate, ended);
      const b = await q.enqueue(`${JOBS}#markUntilGate`, runs, "b", gate, ended);
      const c = await q.enqueue(`${JOBS}#mark`, runs, "c");
      await until("a and b to run", async () => (await linesOf(runs)).length >= 2, 30_000, w);

      await redis.stop();
      await writeFile(gate, "");
      await until("a and b to end while Redis is down", async () => (await linesOf(ended)).length === 2, 30_000, w);
      const t0 = Date.now();
      w.signal("SIGTERM");
      const exit = await exitOf(w, 30_000);
      const took = Date.now() - t0;
      console.log(`  exited ${took} ms after SIGTERM`);
      assert.ok(took < 17_000, `exited within the grace and one backoff (${took} ms)\n${w.output()}`);
      assert.equal(exit.code, 0, w.output());
      const file = join(outcomes, `${wname}.outcomes.json`);
      assert.ok(existsSync(file), `the outcomes file exists\n${w.output()}`);
      const kept = JSON.parse(readFileSync(file, "utf8")) as { outcomes: { id: string; kind: string }[] };
      assert.equal(statSync(file).mode & 0o777, 0o600, "readable by its user only");
      // c, behind them, was taken ahead: it ran while Redis was down (kept too), or never started (taken back later).
      const cRan = (await linesOf(runs)).includes("c");
      const expected = cRan ? [a.id, b.id, c.id] : [a.id, b.id];
      const keptIds = kept.outcomes.map((o) => o.id);
      assert.deepEqual([...keptIds].sort(), [...expected].sort(), `a ${a.id}, b ${b.id}, c ${c.id}\n${w.output()}`);
      assert.ok(kept.outcomes.every((o) => o.kind === "success"));
      assert.ok(
        w.output().includes(`the outcomes of ${expected.length} job(s) (${keptIds.join(", ")}) are kept in ${file}`),
        w.output(),
      );

      await redis.start();
      // As a replay that died part way leaves it: claimed, the claim older than STALE_CLAIM_MS; it is taken over.
      const claim = `${file}.cli999.replaying`;
      renameSync(file, claim);
      const old = new Date(Date.now() - STALE_CLAIM_MS - 60_000);
      utimesSync(claim, old, old);
      // Stored by `rqts store-outcomes` here (the cold test below has a worker store them).
      const store = cli(["store-outcomes", "--url", redis.url, "--outcomes-dir", outcomes]);
      assert.deepEqual(await exitOf(store, 15_000), { code: 0, signal: null }, store.output());
      assert.match(store.output(), new RegExp(`Stored ${expected.length} outcome\\(s\\) worker ${wname} kept`));
      assert.deepEqual([await a.getStatus(), await b.getStatus()], ["finished", "finished"], store.output());
      assert.equal(await a.result, "a");
      assert.deepEqual(readdirSync(outcomes), [], "the file is gone once stored");
      // c, if it had not started, runs once here (given back once the stopped worker's liveness lapsed).
      next = new Worker([name], { connection: redis.url, handleSignals: false, livenessTtl: 2, logger: { log() {} } });
      nextDone = next.work();
      await until("c to finish", async () => (await c.getStatus()) === "finished", 30_000);
      assert.deepEqual((await linesOf(runs)).sort(), ["a", "b", "c"], "each job ran once");
      assert.equal(await q.failedJobRegistry.count(), 0);
      assert.equal(await q.startedJobRegistry.count(), 0);
    } finally {
      next?.stop();
      await nextDone;
      await w.stop();
      await q.connection.close();
      await redis.stop();
      await rm(dir, { recursive: true, force: true });
    }
  },
  { timeout: 120_000 },
);

test(
  "a second SIGTERM while Redis is down (cold): the worker kills the running job's horse and exits at once, keeping " +
    "its failure in the outcomes file; the next worker stores it: failed, with the cold shutdown's reason",
  async () => {
    const dir = await mkdtemp(join(tmpdir(), "rqts-outage-cold-"));
    const outcomes = join(dir, "outcomes");
    const redis = new AofRedis(dir, await freePort());
    await redis.start();
    const name = uniqueName("ocold");
    const runs = join(dir, "runs");
    const q = new Queue(name, { connection: redis.url });
    const wname = workerName();
    const w = cli(["worker", name, "--url", redis.url, "--name", wname, "--outcomes-dir", outcomes]);
    let next: Worker | undefined;
    let nextDone: Promise<void> | undefined;
    try {
      const long = await q.enqueue(`${JOBS}#markThenSleep`, runs, "long", 60);
      await until("the long job to run", async () => (await linesOf(runs)).length === 1, 30_000, w);
      await redis.stop();
      const t0 = Date.now();
      w.signal("SIGTERM");
      await until("the warm stop to be logged", () => w.output().includes("Warm shut down requested"), 5000, w);
      w.signal("SIGTERM");
      const exit = await exitOf(w, 15_000);
      const took = Date.now() - t0;
      console.log(`  exited ${took} ms after the first SIGTERM`);
      assert.ok(took < 8000, `a cold stop does not wait for Redis (${took} ms)\n${w.output()}`);
      assert.equal(exit.code, 0, w.output());
      const file = join(outcomes, `${wname}.outcomes.json`);
      const kept = JSON.parse(readFileSync(file, "utf8")) as { outcomes: { id: string; kind: string }[] };
      assert.deepEqual(kept.outcomes.map((o) => [o.id, o.kind]), [[long.id, "failure"]], w.output());

      await redis.start();
      const lines: string[] = [];
      next = new Worker([name], {
        connection: redis.url,
        handleSignals: false,
        outcomesDir: outcomes,
        logger: { log: (level: LogLevel, message: string) => void lines.push(`${level}: ${message}`) },
      });
      nextDone = next.work();
      await until("the kept outcome to be stored", () => lines.some((l) => l.includes(`Stored 1 outcome(s)`)), 20_000);
      assert.equal(await long.getStatus(), "failed", lines.join("\n"));
      assert.match((await long.latestResult())?.excString ?? "", /Worker was shut down \(cold\)/);
      assert.equal(await q.failedJobRegistry.contains(long), true);
      assert.equal(await q.startedJobRegistry.count(), 0);
      assert.deepEqual(readdirSync(outcomes), []);
      assert.deepEqual(await linesOf(runs), ["long"], "it never ran again");
    } finally {
      next?.stop();
      await nextDone;
      await w.stop();
      await q.connection.close();
      await redis.stop();
      await rm(dir, { recursive: true, force: true });
    }
  },
  { timeout: 120_000 },
);
