// RQ 2.x's callbacks (src/callback.ts, perform.ts, horse.ts, batch.ts): `{ func, timeout }` stored as RQ 2.10 stores
// it, each callback under its own time limit in a real horse, and `onStopped` run by the worker after a stop-job.
import assert from "node:assert/strict";
import { type Job, type LogLevel, type Queue, sendStopJobCommand, Worker } from "../mod.ts";
import { redisUrl, test } from "./_harness.ts";
import { freshQueue } from "./_fixtures.ts";
import { until, workerName } from "./_process.ts";

const JOBS = "./test/fixtures/jobs.ts";
const T = { timeout: 30_000 };

const fields = (q: Queue, job: Job) => q.connection.call<Record<string, string>>(["HGETALL", job.key]);

/** A running (not burst) in-process worker on `q`, its log lines, and the promise of its work(). */
async function running(q: Queue) {
  const lines: string[] = [];
  const worker = new Worker([q.name], {
    connection: await redisUrl(),
    name: workerName(),
    handleSignals: false,
    logger: { log: (level: LogLevel, message: string) => void lines.push(`${level}: ${message}`) },
  });
  const done = worker.work();
  return { worker, lines, done };
}

/** Runs the queue's jobs with a burst worker; gives its log lines. */
async function burst(q: Queue): Promise<string> {
  const lines: string[] = [];
  const worker = new Worker([q.name], {
    connection: await redisUrl(),
    name: workerName(),
    handleSignals: false,
    logger: { log: (level: LogLevel, message: string) => void lines.push(`${level}: ${message}`) },
  });
  await worker.work({ burst: true });
  return lines.join("\n");
}

test("enqueue() stores callbacks as RQ 2.10: { func, timeout } names and times each, a bare reference has no timeout", async () => {
  await using q = await freshQueue();
  const job = await q.enqueueCall(`${JOBS}#add`, {
    args: [1, 2],
    onSuccess: { func: `${JOBS}#recordSuccess`, timeout: 5 },
    onFailure: { func: `${JOBS}#recordFailure` },
    onStopped: { func: `${JOBS}#recordStopped`, timeout: "2m" },
  });
  const f = await fields(q, job);
  assert.equal(f.success_callback_name, `${JOBS}#recordSuccess`);
  assert.equal(f.success_callback_timeout, "5");
  assert.equal(f.failure_callback_name, `${JOBS}#recordFailure`);
  assert.equal(f.failure_callback_timeout, "60", "RQ's Callback(func) stores CALLBACK_TIMEOUT");
  assert.equal(f.stopped_callback_name, `${JOBS}#recordStopped`);
  assert.equal(f.stopped_callback_timeout, "120");
  const back = await q.fetchJob(job.id);
  assert.deepEqual(
    [
      back?.successCallbackTimeout,
      back?.failureCallbackTimeout,
      back?.stoppedCallbackName,
      back?.stoppedCallbackTimeout,
    ],
    [5, 60, `${JOBS}#recordStopped`, 120],
  );

  const bare = await q.enqueueCall(`${JOBS}#add`, { args: [1, 2], onSuccess: `${JOBS}#recordSuccess` });
  const g = await fields(q, bare);
  assert.equal(g.success_callback_name, `${JOBS}#recordSuccess`);
  for (const k of ["success_callback_timeout", "failure_callback_timeout", "stopped_callback_name"]) {
    assert.equal(g[k], undefined, `${k} is not written for RQ 1.13's form`);
  }
});

test("enqueue() refuses a callback with timeout 0, an unknown key, or no func, saying what it expects", async () => {
  await using q = await freshQueue();
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ onSuccess: { func: `${JOBS}#recordSuccess`, timeout: 0 } }, /onSuccess\.timeout: received 0; 0 is not a time/],
    [{ onFailure: { func: `${JOBS}#recordFailure`, timout: 5 } }, /onFailure: received an object with unknown key/],
    [{ onStopped: { timeout: 5 } }, /onStopped: received an object with no func/],
    [{ onStopped: { func: "./nope.ts#cb", timeout: 5 } }, /onStopped\.func: .\.\/nope\.ts#cb. names/],
  ];
  for (const [options, message] of cases) {
    await assert.rejects(q.enqueueCall(`${JOBS}#add`, { args: [1, 2], ...options }), message, String(message));
  }
  assert.equal(await q.count(), 0);
});

test(
  "a success callback gets its own time limit, not what is left of the job's: a 3 s callback after a job with timeout 2 finishes",
  async () => {
    await using q = await freshQueue();
    const job = await q.enqueueCall(`${JOBS}#sleep`, {
      args: [0.2],
      jobTimeout: 2,
      meta: { callbackSleep: 3 },
      onSuccess: { func: `${JOBS}#sleepingCallback`, timeout: 6 },
    });
    const log = await burst(q);
    assert.equal(await job.getStatus(), "finished", log);
    assert.equal((await job.getMeta()).callback, "slept");
  },
  T,
);

test(
  "a success callback over its timeout fails the job with JobTimeoutException, and the failure callback runs (RQ 2.10)",
  async () => {
    await using q = await freshQueue();
    const job = await q.enqueueCall(`${JOBS}#add`, {
      args: [1, 2],
      meta: { callbackSleep: 10 },
      onSuccess: { func: `${JOBS}#sleepingCallback`, timeout: 1 },
      onFailure: { func: `${JOBS}#recordFailure`, timeout: 5 },
    });
    const started = Date.now();
    const log = await burst(q);
    assert.ok(
      Date.now() - started < 6000,
      `ended within the callback's limit, not its 10 s (${Date.now() - started} ms)`,
    );
    assert.equal(await job.getStatus(), "failed", log);
    assert.match(
      (await job.latestResult())?.excString ?? "",
      /^JobTimeoutException: Success callback exceeded maximum timeout value \(1 seconds\)/,
    );
    const meta = await job.getMeta();
    assert.equal(meta.callback, undefined, "the success callback never finished");
    assert.match(String(meta.failure), /Success callback exceeded maximum timeout value/);
  },
  T,
);

test(
  "a success callback stuck in a synchronous loop past its timeout: the worker kills the horse, the job fails, the next job runs",
  async () => {
    await using q = await freshQueue();
    const job = await q.enqueueCall(`${JOBS}#add`, {
      args: [1, 2],
      onSuccess: { func: `${JOBS}#spinningCallback`, timeout: 1 },
    });
    const next = await q.enqueue(`${JOBS}#add`, 3, 4);
    const started = Date.now();
    const log = await burst(q);
    assert.ok(Date.now() - started < 8000, `${Date.now() - started} ms`);
    assert.equal(await job.getStatus(), "failed", log);
    assert.match(
      (await job.latestResult())?.excString ?? "",
      /^JobTimeoutException: Callback exceeded maximum timeout value \(1 seconds\)/,
    );
    assert.equal(await next.getStatus(), "finished", log);
  },
  T,
);

test(
  "onStopped runs in the worker after a stop-job command, (job, connection), before the job is stored stopped",
  async () => {
    await using q = await freshQueue();
    const long = await q.enqueueCall(`${JOBS}#sleep`, { args: [30], onStopped: `${JOBS}#recordStopped` });
    const bad = await q.enqueueCall(`${JOBS}#sleep`, {
      args: [30],
      onStopped: { func: `${JOBS}#explodingStoppedCallback`, timeout: 5 },
    });
    const { worker, lines, done } = await running(q);
    const log = () => lines.join("\n");
    try {
      for (const job of [long, bad]) {
        await until(`${job.id} to run in a horse`, () => log().includes(`(${job.id})`), 8000);
        assert.equal(await sendStopJobCommand(q.connection, job.id), 1);
        await until(`${job.id} to stop`, async () => (await job.getStatus()) === "stopped", 8000);
      }
      assert.deepEqual((await long.getMeta()).stopped, { args: 2 });
      assert.equal((await long.latestResult())?.excString, "Job stopped by user, work-horse terminated.");
      // One that throws is logged; the job is stored stopped all the same, and the worker goes on.
      assert.match(
        log(),
        new RegExp(`Job ${bad.id}: error while executing stopped callback\\n.*stopped callback exploded`),
      );
      assert.deepEqual((await q.failedJobRegistry.getJobIds()).sort(), [long.id, bad.id].sort());
      const after = await q.enqueue(`${JOBS}#add`, 1, 1);
      await until("a job after them to finish", async () => (await after.getStatus()) === "finished", 8000);
    } finally {
      worker.stop();
      await done;
    }
  },
  T,
);
