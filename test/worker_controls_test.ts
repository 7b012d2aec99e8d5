// The worker options RQ has (issue 19 item 5) against real workers and horses: maxJobs, maxIdleTime, dequeueStrategy,
// exception handlers, maintenanceInterval, and the CLI flags for them and for RQ's log format and date format.
import assert from "node:assert/strict";
import { type Job, type Queue, Worker, type WorkerOptions } from "../mod.ts";
import { redisUrl, test, uniqueName } from "./_harness.ts";
import { freshQueue } from "./_fixtures.ts";
import { cli, exitOf, until } from "./_process.ts";
import { nowSeconds } from "../src/utils.ts";

const JOBS = "./test/fixtures/jobs.ts";
const T = { timeout: 30_000 };

function worker(queues: string[], url: string, options: Omit<WorkerOptions, "connection"> = {}): Worker {
  return new Worker(queues, { connection: url, logger: { log() {} }, handleSignals: false, ...options });
}

const statuses = (jobs: Job[]) => Promise.all(jobs.map((j) => j.getStatus()));
const count = (list: (string | null)[], status: string) => list.filter((s) => s === status).length;

for (const concurrency of [1, 3]) {
  test(
    `maxJobs 4 (concurrency ${concurrency}): the worker runs exactly 4 of 12 short jobs, then stops by itself; the rest stay queued`,
    async () => {
      await using q = await freshQueue();
      const jobs = await Promise.all(Array.from({ length: 12 }, (_, i) => q.enqueue(`${JOBS}#add`, i, 1)));
      const w = worker([q.name], await redisUrl(), { maxJobs: 4, concurrency });
      await w.work(); // not burst: it returns because of maxJobs
      const after = await statuses(jobs);
      assert.equal(w.jobsDone, 4);
      assert.equal(count(after, "finished"), 4, after.join(" "));
      assert.equal(count(after, "queued"), 8, after.join(" "));
      assert.equal(await q.count(), 8);
      assert.equal(await q.startedJobRegistry.count(), 0);
    },
    T,
  );
}

test("maxIdleTime 1: a running worker with no job for a second stops by itself; a job that came first ran", async () => {
  await using q = await freshQueue();
  const job = await q.enqueue(`${JOBS}#add`, 2, 2);
  const w = worker([q.name], await redisUrl(), { maxIdleTime: 1 });
  const started = Date.now();
  await w.work();
  const took = Date.now() - started;
  assert.equal(await job.getStatus(), "finished");
  assert.ok(took >= 1000 && took < 6000, `stopped after ${took} ms`);
});

/** The queue of each job, in the order they started. */
async function startOrder(queues: Queue[], jobs: Job[]): Promise<string[]> {
  for (const j of jobs) await j.refresh();
  const byStart = [...jobs].sort((a, b) => a.startedAt!.getTime() - b.startedAt!.getTime() || 0);
  return byStart.map((j) => queues.find((q) => q.name === j.origin)!.name);
}

test("dequeueStrategy: default takes queue a before b; round_robin alternates a, b, a, b, as RQ 2.x", async () => {
  const url = await redisUrl();
  for (const strategy of ["default", "round_robin"] as const) {
    await using a = await freshQueue({}, "a");
    await using b = await freshQueue({}, "b");
    const jobs: Job[] = [];
    for (let i = 0; i < 3; i++) jobs.push(await a.enqueue(`${JOBS}#sleep`, 0.02));
    for (let i = 0; i < 3; i++) jobs.push(await b.enqueue(`${JOBS}#sleep`, 0.02));
    await worker([a.name, b.name], url, { dequeueStrategy: strategy }).work({ burst: true });
    const order = await startOrder([a, b], jobs);
    const expected = strategy === "default"
      ? [a.name, a.name, a.name, b.name, b.name, b.name]
      : [a.name, b.name, a.name, b.name, a.name, b.name];
    assert.deepEqual(order, expected, strategy);
  }
}, T);

test("dequeueStrategy random: both queues are drained, and b's jobs do not all wait for a's", async () => {
  await using a = await freshQueue({}, "a");
  await using b = await freshQueue({}, "b");
  const jobs: Job[] = [];
  for (let i = 0; i < 12; i++) jobs.push(await a.enqueue(`${JOBS}#add`, i, 0));
  for (let i = 0; i < 12; i++) jobs.push(await b.enqueue(`${JOBS}#add`, i, 0));
  await worker([a.name, b.name], await redisUrl(), { dequeueStrategy: "random" }).work({ burst: true });
  assert.equal(count(await statuses(jobs), "finished"), 24);
  const firstHalf = (await startOrder([a, b], jobs)).slice(0, 12);
  // In the default order the first 12 are all a's; at random that happens with probability 1 / C(24, 12) ≈ 4e-7.
  assert.ok(firstHalf.includes(b.name), firstHalf.join(" "));
}, T);

test(
  "exceptionHandlers run in order for each failed job until one returns false; one that throws is logged",
  async () => {
    await using q = await freshQueue();
    const failing = await q.enqueue(`${JOBS}#fail`, "kaput");
    const ok = await q.enqueue(`${JOBS}#add`, 1, 1);
    const calls: string[] = [];
    const lines: string[] = [];
    const w = new Worker([q.name], {
      connection: await redisUrl(),
      handleSignals: false,
      logger: { log: (level, message) => void lines.push(`${level}: ${message}`) },
      exceptionHandlers: [
        () => {
          calls.push("throws");
          throw new Error("handler broke");
        },
        (job, excString) => {
          calls.push(`first ${job.id} ${excString.includes("kaput")}`);
          return false;
        },
        () => void calls.push("never"),
      ],
    });
    await w.work({ burst: true });
    await until("the handlers to run", () => calls.length >= 2, 2000);
    assert.deepEqual(calls, ["throws", `first ${failing.id} true`]);
    assert.ok(lines.some((l) => /Exception handler .* failed: handler broke/.test(l)), lines.join("\n"));
    assert.equal(await failing.getStatus(), "failed", "the failure is stored as without handlers");
    assert.equal(await ok.getStatus(), "finished");
  },
  T,
);

test(
  "exceptionHandlers run after the failure is stored, as RQ 1.13's: a handler sees the job failed, in the failed registry, with its result",
  async () => {
    await using q = await freshQueue();
    const failing = await q.enqueue(`${JOBS}#fail`, "kaput");
    const seen: unknown[] = [];
    await worker([q.name], await redisUrl(), {
      exceptionHandlers: [async (job) => {
        seen.push(await job.getStatus(), await q.failedJobRegistry.contains(job), (await job.latestResult())?.type);
        seen.push(await q.startedJobRegistry.contains(job));
      }],
    }).work({ burst: true });
    await until("the handler to run", () => seen.length === 4, 4000);
    assert.deepEqual(seen, ["failed", true, "failed", false], failing.id);
  },
  T,
);

test(
  "disableDefaultExceptionHandler (--disable-default-exception-handler): a failed job is marked failed and leaves the " +
    "started registry, but has no failed-registry entry, result or expiry (as RQ); handlers still run; a dependent " +
    "allowing failures is released",
  async () => {
    await using q = await freshQueue();
    const url = await redisUrl();
    const failing = await q.enqueue(`${JOBS}#fail`, "kaput");
    const dependent = await q.enqueueCall(`${JOBS}#add`, {
      args: [1, 2],
      dependsOn: { jobs: [failing], allowFailure: true },
    });
    const handled: string[] = [];
    await worker([q.name], url, {
      disableDefaultExceptionHandler: true,
      exceptionHandlers: [(job, excString) => void handled.push(`${job.id} ${excString.includes("kaput")}`)],
    }).work({ burst: true });
    await until("the handler to run", () => handled.length === 1, 4000);
    assert.deepEqual(handled, [`${failing.id} true`]);
    assert.equal(await failing.getStatus(), "failed");
    assert.equal(await q.failedJobRegistry.contains(failing), false);
    assert.equal(await q.startedJobRegistry.contains(failing), false);
    assert.equal(await failing.latestResult(), null);
    assert.equal(await q.connection.call(["TTL", failing.key]), -1, "no failure_ttl expiry, as RQ's");
    assert.equal(await dependent.getStatus(), "finished");

    // The flag, and a job without it fails as usual.
    const viaCli = await q.enqueue(`${JOBS}#fail`, "cli");
    const w = cli(["worker", q.name, "--url", url, "--burst", "--disable-default-exception-handler"]);
    assert.deepEqual(await exitOf(w, 15_000), { code: 0, signal: null }, w.output());
    assert.equal(await viaCli.getStatus(), "failed");
    assert.equal(await q.failedJobRegistry.contains(viaCli), false, w.output());
    const usual = await q.enqueue(`${JOBS}#fail`, "usual");
    await worker([q.name], url).work({ burst: true });
    assert.equal(await q.failedJobRegistry.contains(usual), true);
    assert.match((await usual.latestResult())?.excString ?? "", /usual/);
  },
  T,
);

test("maintenanceInterval 1: registry maintenance runs every second, not only at start", async () => {
  await using q = await freshQueue();
  const c = q.connection;
  const w = worker([q.name], await redisUrl(), { maintenanceInterval: 1 });
  const done = w.work();
  try {
    await until(
      "the start's maintenance",
      async () => (await c.call(["EXISTS", `rq:clean_registries:${q.name}`])) === 1,
    );
    // Scheduled an hour ahead, so the live worker cannot take it from its queue first (it did: a flake on Bun).
    const abandoned = await q.enqueueIn(3600, `${JOBS}#add`, 1, 2);
    await c.call(["ZREM", `rq:scheduled:${q.name}`, abandoned.id]);
    await c.call(["HSET", abandoned.key, "status", "started"]);
    await c.call(["ZADD", `rq:wip:${q.name}`, String(Math.floor(nowSeconds()) - 10), abandoned.id]);
    await c.call(["DEL", `rq:clean_registries:${q.name}`]); // the lock RQ's maintenance takes for 899 s
    await until("maintenance to fail the abandoned job", async () => (await abandoned.getStatus()) === "failed", 4000);
  } finally {
    w.stop();
    await done;
  }
}, T);

test(
  "rqts worker --max-jobs, --max-idle-time, --exception-handler, --log-format, --date-format, --logging_level",
  async () => {
    await using q = await freshQueue();
    const url = await redisUrl();
    const failing = await q.enqueue(`${JOBS}#fail`, "kaput");
    const jobs = [failing, ...await Promise.all([1, 2, 3].map((i) => q.enqueue(`${JOBS}#add`, i, 1)))];
    const w = cli([
      "worker",
      q.name,
      "--url",
      url,
      "--max-jobs",
      "3",
      "--exception-handler",
      `${JOBS}#markHandled`,
      "--log-format",
      "[%(levelname)s] %(asctime)s %(name)s: %(message)s",
      "--date-format",
      "%Y-%m-%d",
      "--logging_level",
      "INFO",
    ]);
    assert.deepEqual(await exitOf(w, 15_000), { code: 0, signal: null }, w.output());
    assert.deepEqual(await statuses(jobs), ["failed", "finished", "finished", "queued"], w.output());
    await failing.refresh();
    assert.match(String(failing.meta.handled), /kaput/, w.output());
    assert.match(w.output(), /^\[INFO\] \d{4}-\d\d-\d\d rq\.worker: \*\*\* Listening on /m);
    assert.match(w.output(), /finished executing 3 jobs, quitting/);

    const idle = cli(["worker", uniqueName("idle"), "--url", url, "--max-idle-time", "1"]);
    assert.deepEqual(await exitOf(idle, 10_000), { code: 0, signal: null }, idle.output());
    assert.match(idle.output(), /idle for 1 seconds, quitting/);

    for (
      const [flags, message] of [
        [["--max-jobs", "0"], /maxJobs: received 0/],
        [["--dequeue-strategy", "fifo"], /dequeueStrategy: received fifo; expected default, round_robin, random/],
        [["--max-idle-time", "soon"], /--max-idle-time: received soon; expected an integer/],
        [["--exception-handler"], /argument missing/],
      ] as const
    ) {
      const bad = cli(["worker", q.name, "--url", url, ...flags]);
      assert.deepEqual(await exitOf(bad), { code: 2, signal: null }, bad.output());
      assert.match(bad.output(), message);
    }
  },
  T,
);
