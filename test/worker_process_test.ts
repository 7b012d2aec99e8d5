// The worker CLI as a real process: warm and cold shutdown by signal, recovery of jobs a killed worker had taken,
// `rq info` (Python) seeing it, and --help.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { onlyOn, redisUrl, rqCli, test } from "./_harness.ts";
import { freshQueue } from "./_fixtures.ts";
import { type Job, Queue } from "../mod.ts";
import { childrenOf, type Cli, cli, exitOf, holds, until, workerName } from "./_process.ts";

const JOBS = "./test/fixtures/jobs.ts";
const T = { timeout: 10_000 };

test("warm shutdown (SIGTERM) while a job runs: the job finishes, the worker exits 0 and unregisters", async () => {
  await using q = await freshQueue();
  const c = q.connection;
  const job = await q.enqueue(`${JOBS}#sleep`, 2);
  const waiting = await q.enqueue(`${JOBS}#add`, 1, 2);
  const name = workerName();
  const w = cli(["worker", q.name, "--url", await redisUrl(), "--name", name]);
  try {
    await until("the job to start", async () => (await job.getStatus()) === "started", 6000, w);
    w.signal("SIGTERM");
    const exit = await exitOf(w);
    assert.deepEqual(exit, { code: 0, signal: null }, w.output());
    assert.equal(await job.getStatus(), "finished", w.output());
    assert.equal(await job.result, "slept 2");
    assert.ok(await c.call(["HGET", `rq:worker:${name}`, "death"]), "the worker key has death");
    assert.equal(await c.call<number>(["SISMEMBER", "rq:workers", `rq:worker:${name}`]), 0);
    assert.equal(await c.call<number>(["SISMEMBER", `rq:workers:${q.name}`, `rq:worker:${name}`]), 0);
    assert.match(w.output(), /Warm shut down requested/);
    // The job behind it was not run: it is queued again, as if never taken.
    assert.equal(await waiting.getStatus(), "queued");
    assert.deepEqual(await q.getJobIds(), [waiting.id]);
    assert.equal(await q.startedJobRegistry.count(), 0);
    assert.equal(await c.call<number>(["EXISTS", `rqts:held:${name}`, `rqts:dequeued:${name}`]), 0);
  } finally {
    await w.stop();
  }
}, T);

test("Ctrl+C (SIGINT to the whole process group) is a warm shutdown: the horse is not interrupted", async () => {
  await using q = await freshQueue();
  const job = await q.enqueue(`${JOBS}#sleep`, 2);
  const w = cli(["worker", q.name, "--url", await redisUrl()], { detached: true });
  try {
    await until("the job to start", async () => (await job.getStatus()) === "started", 6000, w);
    process.kill(-w.pid, "SIGINT"); // what a terminal does on Ctrl+C
    const exit = await exitOf(w);
    assert.deepEqual(exit, { code: 0, signal: null }, w.output());
    assert.equal(await job.getStatus(), "finished", w.output());
    assert.equal(await job.result, "slept 2");
  } finally {
    await w.stop();
  }
}, T);

test(
  "cold shutdown (SIGTERM, then SIGINT) kills the horse: the job fails as cold shutdown, no horse is left",
  async () => {
    await using q = await freshQueue();
    const job = await q.enqueue(`${JOBS}#sleep`, 10);
    const w = cli(["worker", q.name, "--url", await redisUrl()]);
    try {
      await until("the job to start", async () => (await job.getStatus()) === "started", 6000, w);
      const horses = childrenOf(w.pid);
      assert.equal(horses.length, 1, `one horse under the worker (${horses})`);
      w.signal("SIGTERM");
      await until("the warm shutdown to begin", () => /Warm shut down requested/.test(w.output()), 6000, w);
      w.signal("SIGINT");
      const started = Date.now();
      const exit = await exitOf(w, 9000);
      // The job sleeps 10 s: a worker that waited for it would exit only then.
      assert.ok(Date.now() - started < 8000, `cold shutdown does not wait for the job (${Date.now() - started} ms)`);
      assert.equal(exit.signal, null, w.output());
      assert.equal(await job.getStatus(), "failed", w.output());
      assert.match((await job.excInfo) ?? "", /Worker was shut down \(cold\)/);
      assert.equal(await job.result, null);
      assert.equal(await q.startedJobRegistry.count(), 0);
      assert.ok(!existsSync(`/proc/${horses[0]}`), `horse ${horses[0]} is gone (not even a zombie)`);
      assert.match(w.output(), /Cold shut down/);
    } finally {
      await w.stop();
    }
  },
  { timeout: 20_000 },
);

test("a job a SIGKILLed worker had dequeued but not started runs exactly once on another worker", async () => {
  await using q = await freshQueue();
  const c = q.connection;
  const dir = await mkdtemp(join(tmpdir(), "rqts-recover-"));
  const file = join(dir, "runs");
  const killedName = workerName();
  const url = await redisUrl();
  const killed = cli(["worker", q.name, "--url", url, "--name", killedName]);
  let second: Cli | undefined;
  try {
    await until(
      "the first worker to be idle",
      async () => (await c.call(["HGET", `rq:worker:${killedName}`, "state"])) === "idle",
      6000,
      killed,
    );
    killed.signal("SIGKILL");
    assert.equal((await exitOf(killed)).signal, "SIGKILL");
    // Its BLMOVE had just moved the first id into its own list when it died; the second is still queued.
    const a = await q.enqueue(`${JOBS}#mark`, file, "a");
    const b = await q.enqueue(`${JOBS}#mark`, file, "b");
    assert.equal(await c.call(["LMOVE", `rq:queue:${q.name}`, `rqts:dequeued:${killedName}`, "LEFT", "RIGHT"]), a.id);
    // A SIGKILLed worker's key lives on until its TTL runs out (it may still be alive as far as Redis knows);
    // let that happen now instead of in 480 s.
    await c.call(["PEXPIRE", `rq:worker:${killedName}`, "1"]);
    await until(
      "the killed worker's key to expire",
      async () => (await c.call(["EXISTS", `rq:worker:${killedName}`])) === 0,
    );
    second = cli(["worker", q.name, "--url", url, "--burst"]);
    const exit = await exitOf(second);
    assert.equal(exit.code, 0, second.output());
    assert.deepEqual((await readFile(file, "utf8")).split("\n").filter(Boolean).sort(), ["a", "b"]);
    assert.equal(await a.getStatus(), "finished");
    assert.equal(await b.getStatus(), "finished");
    assert.equal(await c.call<number>(["EXISTS", `rqts:dequeued:${killedName}`]), 0);
    assert.equal(await q.count(), 0);
    assert.match(second.output(), new RegExp(`Worker ${killedName} died: 1 job\\(s\\) it had not started went back`));
  } finally {
    await killed.stop();
    await second?.stop();
    await rm(dir, { recursive: true, force: true });
  }
}, T);

test(
  "a job a SIGKILLed worker had taken ahead (held, marked started, while its current job ran) goes back to its queue and runs once on another worker",
  async () => {
    await using q = await freshQueue();
    const c = q.connection;
    const dir = await mkdtemp(join(tmpdir(), "rqts-ahead-"));
    const file = join(dir, "runs");
    const name = workerName();
    const secondName = workerName();
    const url = await redisUrl();
    const slow = await q.enqueue(`${JOBS}#sleep`, 10);
    const after = await q.enqueue(`${JOBS}#mark`, file, "after");
    const killed = cli(["worker", q.name, "--url", url, "--name", name]);
    let second: Cli | undefined;
    try {
      // Status 'started' alone says nothing (the dequeue writes it before any horse has the job): the held set does.
      await until("the next job to be taken ahead", () => holds(c, name, after.id), 10_000, killed);
      assert.equal(await slow.getStatus(), "started");
      assert.equal(await after.getStatus(), "started", "a job taken ahead is marked started");
      assert.ok(!existsSync(file), "the job taken ahead has not run");
      killed.signal("SIGKILL");
      await exitOf(killed);
      // Its key outlives it until the TTL; let that pass now.
      await c.call(["PEXPIRE", `rq:worker:${name}`, "1"]);
      await until(
        "the killed worker's key to expire",
        async () => (await c.call(["EXISTS", `rq:worker:${name}`])) === 0,
      );
      second = cli(["worker", q.name, "--url", url, "--burst", "--name", secondName]);
      assert.equal((await exitOf(second)).code, 0, second.output());
      // Found through rqts:workers (its hash expired): the job taken ahead goes back, the running one is abandoned.
      assert.match(
        second.output(),
        new RegExp(`Worker ${name} died: 1 job\\(s\\) it had not started went back to their queues; 1 it was running`),
      );
      assert.equal(await slow.getStatus(), "failed", "the job it was running fails as abandoned");
      assert.equal(await after.getStatus(), "finished", `status of the job behind the killed one\n${second.output()}`);
      assert.equal(await c.call(["HGET", after.key, "worker_name"]), secondName, "run by the second worker");
      assert.deepEqual((await readFile(file, "utf8")).split("\n").filter(Boolean), ["after"]);
      assert.equal(await c.call<number>(["EXISTS", `rqts:held:${name}`]), 0, "the dead worker's held set is gone");
    } finally {
      await killed.stop();
      await second?.stop();
      await rm(dir, { recursive: true, force: true });
    }
  },
  T,
);

test(
  "a job running when its worker is SIGKILLed fails as abandoned once the worker's liveness lapses, not run twice",
  async () => {
    await using q = await freshQueue();
    const c = q.connection;
    const dir = await mkdtemp(join(tmpdir(), "rqts-abandon-"));
    const file = join(dir, "runs");
    const name = workerName();
    const url = await redisUrl();
    const slow = await q.enqueue(`${JOBS}#markThenSleep`, file, "slow", 30);
    const after = await q.enqueue(`${JOBS}#mark`, file, "after");
    const killed = cli(["worker", q.name, "--url", url, "--name", name, "--liveness-ttl", "1"]);
    let rescuer: Cli | undefined;
    try {
      await until(
        "the slow job to run",
        async () => (await readFile(file, "utf8").catch(() => "")) === "slow\n",
        10_000,
        killed,
      );
      await until("the next job to be taken ahead", () => holds(c, name, after.id), 10_000, killed);
      killed.signal("SIGKILL");
      await exitOf(killed);
      // No key tricks: the rescuer notices the lapsed liveness key by itself within about two TTLs.
      rescuer = cli(["worker", q.name, "--url", url, "--liveness-ttl", "1"]);
      await until(
        "the slow job to fail as abandoned",
        async () => (await slow.getStatus()) === "failed",
        8000,
        rescuer,
      );
      await until("the job behind it to finish", async () => (await after.getStatus()) === "finished", 8000, rescuer);
      assert.match(await slow.excInfo ?? "", new RegExp(`AbandonedJobError: worker ${name} died while this job ran`));
      assert.deepEqual(await q.failedJobRegistry.getJobIds(), [slow.id]);
      assert.equal(await q.startedJobRegistry.count(), 0);
      assert.deepEqual((await readFile(file, "utf8")).split("\n").filter(Boolean), ["slow", "after"], "each ran once");
      assert.ok(await c.call(["HEXISTS", `rq:worker:${name}`, "death"]), "the dead worker is unregistered");
      assert.equal(await c.call<number>(["SISMEMBER", "rq:workers", `rq:worker:${name}`]), 0);
      assert.match(rescuer.output(), new RegExp(`Worker ${name} died: 1 job\\(s\\) it had not started went back`));
    } finally {
      await killed.stop();
      await rescuer?.stop();
      await rm(dir, { recursive: true, force: true });
    }
  },
  { timeout: 20_000 },
);

test(
  "a worker SIGKILLed in the middle of a batch: its horse gives the jobs it had not started back at once, run once",
  async () => {
    await using q = await freshQueue();
    const c = q.connection;
    const dir = await mkdtemp(join(tmpdir(), "rqts-batch-kill-"));
    const name = workerName();
    const url = await redisUrl();
    const read = async (file: string) =>
      existsSync(file) ? (await readFile(file, "utf8")).split("\n").filter(Boolean) : [];
    const mark = (file: string, label: string) => Queue.prepareData(`${JOBS}#mark`, { args: [file, label] });
    const killed = cli(["worker", q.name, "--url", url, "--name", name, "--liveness-ttl", "1", "--log-level", "debug"]);
    let rescuer: Cli | undefined;
    const gates: string[] = [];
    try {
      // The worker batches jobs only behind jobs that took under 10 ms: on a loaded machine a round may not form the
      // batch wanted (or, rarely, the worker lets the jobs behind the long one go before that job freezes it). Such a
      // round ends (the worker thawed, the long job let go), and the next one tries again.
      let formed: { file: string; first: Job; slow: Job; after: Job[] } | undefined;
      for (let round = 0; !formed; round++) {
        assert.ok(round < 6, `in 6 rounds the long job and the five after it never went to the horse as one message`);
        // Short jobs first, so that the worker batches what follows them.
        const warm = await q.enqueueMany(Array.from({ length: 24 }, (_, i) => mark(join(dir, "warm"), `w${i}`)));
        await until("the short jobs to finish", async () => (await warm.at(-1)!.getStatus()) === "finished", 15_000);
        await until(
          "the worker to be idle",
          async () => (await c.call(["HGET", `rq:worker:${name}`, "state"])) === "idle",
          10_000,
          killed,
        );
        // Arriving together at an idle worker: `first` runs alone, the rest are taken while it runs, as one batch.
        const file = join(dir, `runs${round}`);
        const gate = join(dir, `gate${round}`);
        gates.push(gate);
        const [first, slow, ...after] = await q.enqueueMany([
          mark(file, "first"),
          Queue.prepareData(`${JOBS}#stopWorkerThenAwait`, { args: [file, "slow", gate] }),
          ...Array.from({ length: 5 }, (_, i) => mark(file, `after${i}`)),
        ]);
        await until("the slow job to start", async () => (await read(file)).includes("slow"), 10_000, killed);
        // The worker is frozen now (the slow job stopped it): the jobs behind that job are still its, not released.
        const batch = [slow, ...after].map((j) => j.id).join(" ");
        if (killed.output().includes(`jobs in one message (${batch})`) && (await q.count()) === 0) {
          formed = { file, first, slow, after };
        } else {
          killed.signal("SIGCONT");
          await writeFile(gate, "");
          await until("the round's jobs to finish", async () => {
            for (const j of [first, slow, ...after]) if ((await j.getStatus()) !== "finished") return false;
            return true;
          }, 15_000);
        }
      }
      const { file, first, slow, after } = formed;
      const [horse] = childrenOf(killed.pid);
      assert.equal(
        (await q.startedJobRegistry.getJobIds()).length,
        6,
        "the slow job and the five behind it are started",
      );
      killed.signal("SIGKILL");
      await exitOf(killed);
      // No other worker yet: the horse itself puts them back, in order, before the worker's liveness even lapses.
      await until("the unstarted jobs to be queued again", async () => (await q.count()) === after.length, 10_000);
      assert.deepEqual(await q.getJobIds(), after.map((j) => j.id));
      for (const j of after) assert.equal(await j.getStatus(), "queued");
      assert.deepEqual(await q.startedJobRegistry.getJobIds(), [slow.id]);
      await until("the orphan horse to exit", () => !existsSync(`/proc/${horse}`), 10_000);
      rescuer = cli(["worker", q.name, "--url", url, "--liveness-ttl", "1"]);
      await until(
        "the slow job to fail as abandoned",
        async () => (await slow.getStatus()) === "failed",
        15_000,
        rescuer,
      );
      await until("the rest to finish", async () => (await after.at(-1)!.getStatus()) === "finished", 15_000, rescuer);
      for (const j of after) assert.equal(await j.getStatus(), "finished");
      assert.equal(await first.getStatus(), "finished");
      assert.match(await slow.excInfo ?? "", new RegExp(`AbandonedJobError: worker ${name} died while this job ran`));
      assert.deepEqual(await q.failedJobRegistry.getJobIds(), [slow.id], "only the running job failed");
      const labels = ["first", "slow", ...after.map((_, i) => `after${i}`)];
      assert.deepEqual(await read(file), labels, "each ran once, in order");
    } finally {
      for (const gate of gates) await writeFile(gate, "").catch(() => {});
      await killed.stop();
      await rescuer?.stop();
      await rm(dir, { recursive: true, force: true });
    }
  },
  { timeout: 90_000 },
);

/**
 * A worker (liveness TTL 1 s) running a gated `slow` job with `after` taken ahead, then frozen (SIGSTOP) past its
 * TTL while a second worker starts and recovers it. `ended`: the file the slow job writes when its gate opens.
 */
async function frozenHoldingAJob(q: Queue) {
  const c = q.connection;
  const dir = await mkdtemp(join(tmpdir(), "rqts-frozen-"));
  const [file, gate, ended] = ["runs", "gate", "ended"].map((f) => join(dir, f));
  const runs = async () => existsSync(file) ? (await readFile(file, "utf8")).split("\n").filter(Boolean) : [];
  const [name, otherName] = [workerName(), workerName()];
  const url = await redisUrl();
  const slow = await q.enqueue(`${JOBS}#markUntilGate`, file, "slow", gate, ended);
  const after = await q.enqueue(`${JOBS}#mark`, file, "after");
  const w = cli(["worker", q.name, "--url", url, "--name", name, "--liveness-ttl", "1"]);
  let other: Cli | undefined;
  const cleanup = async () => {
    await writeFile(gate, "").catch(() => {});
    w.signal("SIGCONT");
    await w.stop();
    await other?.stop();
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await until("the next job to be taken ahead", () => holds(c, name, after.id), 10_000, w);
    await until("the slow job to run", async () => (await runs()).length > 0, 10_000, w);
    assert.deepEqual(await runs(), ["slow"]);
    // Frozen (as by a long pause, or a cut from Redis): no liveness refresh; its horse goes on with the slow job.
    w.signal("SIGSTOP");
    other = cli(["worker", q.name, "--url", url, "--name", otherName, "--liveness-ttl", "1"]);
    await until("the other worker to recover it", () => /Worker \S+ died/.test(other!.output()), 15_000, other);
    assert.match(
      other.output(),
      new RegExp(`Worker ${name} died: 1 job\\(s\\) it had not started went back to their queues; 1 it was running`),
    );
    await until("the job taken ahead to run on the other worker", async () => (await after.getStatus()) === "finished");
    assert.equal(await c.call(["HGET", after.key, "worker_name"]), otherName);
  } catch (error) {
    await cleanup();
    throw error;
  }
  /** Waits until the thawed worker is idle again. */
  const idle = () =>
    until(
      "the thawed worker to be idle",
      async () => (await c.call(["HGET", `rq:worker:${name}`, "state"])) === "idle",
      10_000,
      w,
    );
  return { w, name, gate, ended, runs, slow, after, idle, cleanup };
}

test(
  "a worker frozen past its liveness TTL is recovered by another, which runs the job it had taken ahead; thawed, it registers again and does not run that job",
  async () => {
    await using q = await freshQueue();
    const c = q.connection;
    const { w, name, gate, runs, slow, after, idle, cleanup } = await frozenHoldingAJob(q);
    try {
      assert.match(await slow.excInfo ?? "", new RegExp(`AbandonedJobError: worker ${name} died while this job ran`));
      w.signal("SIGCONT");
      await until("the thawed worker to find its liveness lapsed", () => /out of touch/.test(w.output()), 10_000, w);
      assert.match(w.output(), /out of touch for longer than its liveness TTL \(1 s\)/);
      // Its slow job ends; the job it took ahead before the lapse is not run by it, and it waits for work again.
      await writeFile(gate, "");
      await idle();
      assert.deepEqual(await runs(), ["slow", "after"], "each ran once");
      assert.notEqual(await c.call(["HGET", after.key, "worker_name"]), name);
      // Its real outcome replaces the abandoned failure: the job did end, in this worker's horse.
      await until("the slow job's outcome to be stored", async () => (await slow.getStatus()) === "finished");
      assert.equal(await slow.result, "slow");
      assert.equal(await q.failedJobRegistry.count(), 0);
      assert.equal(await c.call<number>(["EXISTS", `rqts:held:${name}`]), 0);
      assert.equal(await c.call<number>(["EXISTS", `rqts:alive:${name}`]), 1, "alive again");
      assert.equal(await c.call<number>(["SISMEMBER", "rqts:workers", name]), 1, "registered again");
      assert.equal(await c.call<number>(["SISMEMBER", "rq:workers", `rq:worker:${name}`]), 1);
    } finally {
      await cleanup();
    }
  },
  { timeout: 40_000 },
);

test(
  "a worker frozen past its liveness TTL whose running job ends while it is frozen does not start the job it took ahead (another ran it)",
  async () => {
    // The thaw delivers the ended job's outcome before the liveness timer fires: the slot would start the job taken
    // ahead at once, unless it checks its liveness first (the job went back and ran on the other worker meanwhile).
    for (let round = 1; round <= 3; round++) {
      await using q = await freshQueue();
      const { w, gate, ended, runs, slow, idle, cleanup } = await frozenHoldingAJob(q);
      try {
        // The frozen worker's horse is not frozen: its job ends now, and its outcome waits on the worker's channel.
        await writeFile(gate, "");
        await until("the frozen worker's job to end", () => existsSync(ended), 10_000, w);
        // Not a wait for state (the worker is frozen): time for the horse to write its outcome, so the thaw finds it.
        await new Promise((r) => setTimeout(r, 200));
        w.signal("SIGCONT");
        await until("the thawed worker to find its liveness lapsed", () => /out of touch/.test(w.output()), 10_000, w);
        await until(
          "the slow job's outcome to be stored",
          async () => (await slow.getStatus()) === "finished",
          10_000,
          w,
        );
        await idle();
        assert.deepEqual((await runs()).sort(), ["after", "slow"], `round ${round}: each ran once\n${w.output()}`);
      } finally {
        await cleanup();
      }
    }
  },
  { timeout: 120_000 },
);

test("Python's `rq info` lists a running rqts worker with its queues and state, and the queue counts", async () => {
  await using qa = await freshQueue({}, "qa");
  await using qb = await freshQueue({}, "qb");
  await using other = await freshQueue({}, "other"); // not listened on: its jobs stay queued
  for (let i = 0; i < 3; i++) await other.enqueue(`${JOBS}#add`, i, i);
  const name = workerName();
  const url = await redisUrl();
  const w = cli(["worker", qa.name, qb.name, "--url", url, "--name", name]);
  try {
    await until(
      "the worker to be idle",
      async () => (await qa.connection.call(["HGET", `rq:worker:${name}`, "state"])) === "idle",
      6000,
      w,
    );
    const info = await rqCli(["info", "--url", url, "--raw", qa.name, qb.name, other.name]);
    const lines = info.split("\n");
    assert.ok(lines.includes(`queue ${qa.name} 0`), info);
    assert.ok(lines.includes(`queue ${qb.name} 0`), info);
    assert.ok(lines.includes(`queue ${other.name} 3`), info);
    const workerLine = lines.find((l) => l.startsWith(`worker ${name} (`));
    assert.ok(workerLine, info);
    assert.match(workerLine, new RegExp(` ${w.pid}\\) idle ${qa.name}, ${qb.name}$`));
    assert.equal(lines.filter((l) => l.startsWith("worker ")).length, 1, info);

    const pretty = await rqCli(["info", "--url", url, qa.name, qb.name, other.name]);
    assert.match(pretty, /3 queues, 3 jobs total/);
    assert.match(pretty, new RegExp(`${name} \\(.* ${w.pid}\\): .*idle.* ${qa.name}, ${qb.name}`));
    assert.match(pretty, /1 workers, 3 queues/);
  } finally {
    w.signal("SIGTERM");
    await exitOf(w).catch(() => {});
    await w.stop();
  }
}, T);

test("`worker --help` and `info --help` print usage and exit 0", async () => {
  for (const command of ["worker", "info"]) {
    const run = cli([command, "--help"]);
    try {
      const exit = await exitOf(run);
      assert.deepEqual(exit, { code: 0, signal: null }, run.output());
      assert.match(run.output(), new RegExp(`^Usage: rqts ${command} `));
    } finally {
      await run.stop();
    }
  }
}, T);

test(
  "worker CLI on Deno with net access only to Redis: horses talk over stdio, job output still reaches the log",
  async () => {
    await using q = await freshQueue({}, "scopednet");
    const job = await q.enqueue(`${JOBS}#log`, "scoped");
    const url = await redisUrl();
    const { hostname, port } = new URL(url);
    const w = cli(["worker", q.name, "--burst", "--url", url], {
      // No unscoped --allow-net: the worker may not listen on its horse socket and must not prompt for it.
      denoPermissions: [`--allow-net=${hostname}:${port}`, "--allow-read", "--allow-env", "--allow-run", "--allow-sys"],
    });
    try {
      const exit = await exitOf(w);
      assert.equal(exit.code, 0, w.output());
      assert.match(w.output(), /job says: scoped/);
      assert.match(w.output(), new RegExp(`${q.name}: Job OK \\(${job.id}\\)`));
      assert.equal(await job.result, "scoped");
    } finally {
      await w.stop();
    }
  },
  { ...T, skip: onlyOn("deno") }, // the permission model is Deno's
);

test("worker CLI: a job's stdout and stderr reach the worker's output, and the log reads like RQ's", async () => {
  await using q = await freshQueue({}, "logs");
  const job = await q.enqueue(`${JOBS}#log`, "hello");
  const w = cli(["worker", q.name, "--burst", "--url", await redisUrl()]);
  try {
    const exit = await w.exited;
    assert.equal(exit.code, 0, w.output());
    const out = w.output();
    assert.match(out, /job says: hello/);
    assert.match(out, /job warns: hello/);
    assert.match(
      out,
      new RegExp(`\\d\\d:\\d\\d:\\d\\d ${q.name}: \\./test/fixtures/jobs\\.[jt]s#log\\('hello'\\) \\(${job.id}\\)`),
    );
    assert.match(out, new RegExp(`${q.name}: Job OK \\(${job.id}\\)`));
    assert.match(out, /Result is kept for 500 seconds/);
    assert.match(out, /\*\*\* Listening on /);
    assert.equal(await job.result, "hello");
  } finally {
    await w.stop();
  }
}, T);
