// Repeats (RQ 2.x's Repeat: repeats_left, repeat_intervals): a job that succeeds runs again, at once or scheduled,
// each run's result in its results stream.
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Queue, Worker } from "../mod.ts";
import { redisUrl, test } from "./_harness.ts";
import { freshQueue } from "./_fixtures.ts";

const JOBS = "./test/fixtures/jobs.ts";
const COUNT = `${JOBS}#failTimes`; // with times 0: never fails, returns its call count

async function burst(q: Queue): Promise<void> {
  await new Worker([q.name], { connection: await redisUrl(), logLevel: "error", handleSignals: false }).work({
    burst: true,
  });
}

async function counter(): Promise<{ path: string; calls(): Promise<number>; [Symbol.asyncDispose](): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), "rqts-repeat-"));
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

test("repeat: { times: 2 } runs a successful job 3 times, each result in the stream, as RQ 2.x stores it", async () => {
  await using q = await freshQueue();
  await using c = await counter();
  const j = await q.enqueueCall(COUNT, { args: [c.path, 0], repeat: { times: 2 } });
  const stored = await hash(q, j.key);
  assert.equal(stored.repeats_left, "2");
  assert.equal(stored.repeat_intervals, "[0]");
  await burst(q);
  assert.equal(await c.calls(), 3);
  assert.deepEqual((await j.results()).map((r) => r.returnValue), [3, 2, 1]);
  const h = await hash(q, j.key);
  assert.equal(h.status, "finished");
  assert.equal(h.repeats_left, "0");
  assert.deepEqual(await q.finishedJobRegistry.getJobIds(), [j.id]);
});

test("a repeat interval schedules the next run at now + RQ 2.x's interval; a failure ends the repeats", async () => {
  await using q = await freshQueue();
  await using c = await counter();
  // RQ 2.x picks repeat_intervals[min(repeats_left - 1, len - 1)]: with 2 left of [30, 60], the next waits 60 s.
  const j = await q.enqueueCall(COUNT, { args: [c.path, 0], repeat: { times: 2, interval: [30, 60] } });
  await burst(q);
  assert.equal(await c.calls(), 1);
  const h = await hash(q, j.key);
  assert.equal(h.status, "scheduled");
  assert.equal(h.repeats_left, "1");
  const wait = (await q.scheduledJobRegistry.getScheduledTime(j)).getTime() - Date.now();
  assert.ok(wait > 58_000 && wait <= 60_000, `next run in ${wait} ms`);
  const failing = await q.enqueueCall(`${JOBS}#fail`, { args: ["no"], repeat: { times: 3 } });
  await burst(q);
  assert.equal(await failing.getStatus(), "failed");
  assert.equal(await q.count(), 0, "a failed run is not repeated");
});

test("a repeated job with resultTtl 0 keeps its hash between runs, and repeat options are checked", async () => {
  await using q = await freshQueue();
  await using c = await counter();
  const j = await q.enqueueCall(COUNT, { args: [c.path, 0], repeat: { times: 1 }, resultTtl: 0 });
  await burst(q);
  assert.equal(await c.calls(), 2);
  assert.equal(await q.connection.call(["EXISTS", j.key]), 0, "deleted after its last run, as resultTtl 0 says");
  await assert.rejects(q.enqueueCall(COUNT, { repeat: { times: 0 } }), {
    name: "RangeError",
    message: /repeat.times: received 0; expected an integer >= 1/,
  });
  await assert.rejects(q.enqueueCall(COUNT, { repeat: { times: 1, interval: "1m" as never } }), {
    name: "TypeError",
    message: /repeat.interval/,
  });
});
