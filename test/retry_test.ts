// Retries (RQ's Retry: retries_left, retry_intervals) and the backoff helper: a failed job with retries left runs
// again, at once or scheduled; the failed registry and the failure callback come only after the last try.
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { exponentialBackoff, type Queue, Worker } from "../mod.ts";
import { redisUrl, test } from "./_harness.ts";
import { freshQueue } from "./_fixtures.ts";
import { cli, exitOf, until, workerName } from "./_process.ts";

const JOBS = "./test/fixtures/jobs.ts";
const FAIL_TIMES = `${JOBS}#failTimes`;

/** Runs a burst worker on `q`; gives its log lines. */
async function burst(q: Queue): Promise<string[]> {
  const lines: string[] = [];
  const logger = { log: (_: unknown, message: string) => void lines.push(message) };
  await new Worker([q.name], { connection: await redisUrl(), logger, handleSignals: false }).work({ burst: true });
  return lines;
}

/** A file path in a fresh directory (for failTimes' call count), removed on dispose. */
async function counter(): Promise<{ path: string; calls(): Promise<number>; [Symbol.asyncDispose](): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), "rqts-retry-"));
  const path = join(dir, "calls");
  return {
    path,
    calls: async () => Number(await readFile(path, "utf8").catch(() => "0")),
    [Symbol.asyncDispose]: () => rm(dir, { recursive: true, force: true }),
  };
}

async function hash(q: Queue, key: string): Promise<Record<string, string>> {
  return await q.connection.call<Record<string, string>>(["HGETALL", key]);
}

test("retry: { max: 2 } runs a failing job 3 times; failed registry and onFailure only after the last try", async () => {
  await using q = await freshQueue();
  await using c = await counter();
  const j = await q.enqueueCall(FAIL_TIMES, {
    args: [c.path, 10],
    retry: { max: 2 },
    onFailure: `${JOBS}#countFailure`,
  });
  const stored = await hash(q, j.key);
  assert.equal(stored.retries_left, "2");
  assert.equal(stored.retry_intervals, "[0]", "RQ's Retry(max=2) stores interval 0 as [0]");
  const log = await burst(q);
  assert.equal(await c.calls(), 3);
  const retrying = log.filter((l) => l.startsWith(`Job ${j.id}: retrying`));
  assert.deepEqual(retrying, [`Job ${j.id}: retrying, 1 retries left`, `Job ${j.id}: retrying, 0 retries left`]);
  const results = await j.results();
  assert.deepEqual(results.map((r) => r.type), ["failed", "failed", "failed"], "each try's result is stored");
  assert.match(results[0].excString ?? "", /try 3 fails/);
  const h = await hash(q, j.key);
  assert.equal(h.status, "failed");
  assert.equal(h.retries_left, "0");
  assert.deepEqual(await q.failedJobRegistry.getJobIds(), [j.id]);
  await j.refresh();
  assert.equal(j.meta.failures, 1, "the failure callback ran once, after the last try");
});

test("a job that succeeds on its second try finishes, its failed first try in the results stream", async () => {
  await using q = await freshQueue();
  await using c = await counter();
  const j = await q.enqueueCall(FAIL_TIMES, { args: [c.path, 1], retry: { max: 3 } });
  await burst(q);
  assert.equal(await c.calls(), 2);
  assert.deepEqual((await j.results()).map((r) => r.type), ["successful", "failed"]);
  assert.equal(await j.returnValue(), 2);
  const h = await hash(q, j.key);
  assert.equal(h.status, "finished");
  assert.equal(h.retries_left, "2");
  assert.equal(await q.failedJobRegistry.count(), 0, "never in the failed registry");
});

test("a retry interval schedules the retry at now + RQ's interval; a scheduling worker runs it when due", async () => {
  await using q = await freshQueue();
  await using c = await counter();
  // RQ picks retry_intervals[max(len - retries_left, 0)]: with 3 left of [1, 5, 9], the first retry waits 1 s.
  const j = await q.enqueueCall(FAIL_TIMES, { args: [c.path, 10], retry: { max: 3, interval: [1, 5, 9] } });
  const before = Date.now();
  await burst(q);
  assert.equal(await c.calls(), 1);
  const h = await hash(q, j.key);
  assert.equal(h.status, "scheduled");
  assert.equal(h.retries_left, "2");
  const due = (await q.scheduledJobRegistry.getScheduledTime(j)).getTime();
  assert.ok(due >= before + 1000 && due <= Date.now() + 1000, `due ${due - before} ms after the run began`);
  assert.equal(await q.failedJobRegistry.count(), 0);
  // Due in a second: a worker with a scheduler runs it then; its next retry waits 5 s.
  const w = new Worker([q.name], {
    connection: await redisUrl(),
    logLevel: "error",
    handleSignals: false,
    withScheduler: true,
  });
  const working = w.work();
  try {
    await until("the second try", async () => (await c.calls()) === 2, 5000);
    await until("scheduled again", async () => (await j.getStatus()) === "scheduled", 3000);
    const next = (await q.scheduledJobRegistry.getScheduledTime(j)).getTime() - Date.now();
    assert.ok(next > 3500 && next <= 5000, `next retry in ${next} ms`);
  } finally {
    w.stop();
    await working;
  }
});

test("exponentialBackoff(max) gives RQ's Retry a list of whole seconds, doubling from base and jittered", async () => {
  for (let round = 0; round < 20; round++) {
    const spec = exponentialBackoff(6, { base: 2, cap: 40 });
    assert.equal(spec.max, 6);
    const list = spec.interval as number[];
    assert.equal(list.length, 6);
    [2, 4, 8, 16, 32, 40].forEach((wait, n) => {
      assert.ok(Number.isInteger(list[n]), `${list}`);
      assert.ok(list[n] >= Math.floor(wait / 2) && list[n] <= wait, `retry ${n}: ${list[n]} for ${wait}`);
    });
  }
  assert.deepEqual(exponentialBackoff(3, { jitter: false }).interval, [1, 2, 4]);
  await using q = await freshQueue();
  const j = await q.enqueueCall(`${JOBS}#add`, { args: [1, 2], retry: exponentialBackoff(3, { jitter: false }) });
  assert.equal((await hash(q, j.key)).retry_intervals, "[1,2,4]");
  assert.throws(() => exponentialBackoff(0), { name: "RangeError", message: /max received 0/ });
});

test("a bad retry option is refused before anything is written, saying what it takes", async () => {
  await using q = await freshQueue();
  const add = `${JOBS}#add`;
  await assert.rejects(q.enqueueCall(add, { retry: { max: 0 } }), {
    name: "RangeError",
    message: /retry.max: received 0/,
  });
  await assert.rejects(
    q.enqueueCall(add, { retry: { max: 2, interval: [1, -1] } }),
    { name: "RangeError", message: /retry.interval: .*>= 0/ },
  );
  await assert.rejects(
    q.enqueueCall(add, { retry: { tries: 2 } as never }),
    { name: "TypeError", message: /retry: unknown field 'tries'/ },
  );
  assert.equal(await q.count(), 0);
});

test(
  "a job abandoned by a SIGKILLed worker fails as abandoned, its retries left untouched (it may have run)",
  async () => {
    await using q = await freshQueue();
    const slow = await q.enqueueCall(`${JOBS}#sleep`, { args: [30], retry: { max: 2 } });
    const killed = cli(["worker", q.name, "--url", await redisUrl(), "--name", workerName(), "--liveness-ttl", "2"]);
    const w = new Worker([q.name], {
      connection: await redisUrl(),
      logLevel: "error",
      handleSignals: false,
      livenessTtl: 2,
    });
    let working: Promise<void> | undefined;
    try {
      await until("the job to start", async () => (await slow.getStatus()) === "started", 20_000, killed);
      killed.signal("SIGKILL");
      await exitOf(killed);
      working = w.work();
      await until("the job to fail as abandoned", async () => (await slow.getStatus()) === "failed", 20_000);
      assert.match((await slow.excInfo) ?? "", /AbandonedJobError/);
      assert.equal((await hash(q, slow.key)).retries_left, "2");
      assert.deepEqual(await q.failedJobRegistry.getJobIds(), [slow.id]);
      assert.equal(await q.count(), 0, "not queued again");
    } finally {
      await killed.stop();
      w.stop();
      await working;
    }
  },
  { timeout: 60_000 },
);
