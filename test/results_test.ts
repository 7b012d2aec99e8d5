// RQ's results stream (src/results.ts): `job.results()` is the history, newest first, and reads what RQ 2.x adds to an
// entry (worker_name, execution_id, execution_started_at/ended_at, types 4 retried and 5 max retries exceeded).
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { deflateSync } from "node:zlib";
import { Worker } from "../mod.ts";
import { redisUrl, test } from "./_harness.ts";
import { freshQueue } from "./_fixtures.ts";

const JOBS = "./test/fixtures/jobs.ts";
const b64 = (text: string) => Buffer.from(text).toString("base64");
const zb64 = (text: string) => deflateSync(Buffer.from(text)).toString("base64");

test("Job.results() reads RQ 2.x's entries newest first: types 1-5, worker_name, execution id and times", async () => {
  await using q = await freshQueue();
  const job = await q.enqueue(`${JOBS}#add`, 1, 2);
  const key = `rq:results:${job.id}`;
  const c = q.connection;
  // As RQ 2.10's Result.serialize() writes them (execution times: datetime.timestamp(), float seconds).
  const exec = ["execution_id", "ex1", "execution_started_at", "1765000000.25", "execution_ended_at", "1765000001.5"];
  await c.call([
    "XADD",
    key,
    "1-1",
    "type",
    "2",
    "worker_name",
    "py-w",
    "exc_string",
    zb64("Traceback: boom"),
    ...exec,
  ]);
  await c.call(["XADD", key, "2-1", "type", "4", "worker_name", "py-w", "return_value", b64("{}"), ...exec]);
  await c.call(["XADD", key, "3-1", "type", "5", "worker_name", "py-w", "return_value", b64("not json")]);
  await c.call(["XADD", key, "4-1", "type", "3", "exc_string", zb64("stopped")]);
  await c.call(["XADD", key, "5-1", "type", "1", "worker_name", "", "return_value", b64("3")]);
  const results = await job.results();
  assert.deepEqual(results.map((r) => [r.id, r.type]), [
    ["5-1", "successful"],
    ["4-1", "stopped"],
    ["3-1", "max_retries_exceeded"],
    ["2-1", "retried"],
    ["1-1", "failed"],
  ]);
  const [ok, stopped, maxed, retried, failed] = results;
  assert.equal(ok.returnValue, 3);
  assert.equal(ok.workerName, "");
  assert.equal(ok.executionId, null);
  assert.equal(stopped.excString, "stopped");
  assert.equal(maxed.returnValue, null, "a return value that does not decode is null on a non-success entry");
  assert.deepEqual(retried.returnValue, {});
  assert.equal(failed.excString, "Traceback: boom");
  assert.equal(failed.workerName, "py-w");
  assert.equal(failed.executionId, "ex1");
  assert.equal(failed.executionStartedAt?.toISOString(), "2025-12-06T05:46:40.250Z");
  assert.equal(failed.executionEndedAt?.toISOString(), "2025-12-06T05:46:41.500Z");
  assert.equal((await job.latestResult())?.id, "5-1");
});

test("Job.results() after two runs of one job by an rqts worker: both entries, newest first", async () => {
  await using q = await freshQueue();
  const job = await q.enqueue(`${JOBS}#fail`, "first");
  const run = async () => {
    const worker = new Worker([q.name], { connection: await redisUrl(), logger: { log() {} }, handleSignals: false });
    await worker.work({ burst: true });
  };
  await run();
  await q.failedJobRegistry.requeue(job);
  await run();
  const results = await job.results();
  assert.equal(results.length, 2);
  assert.deepEqual(results.map((r) => r.type), ["failed", "failed"]);
  assert.ok(results[0].id > results[1].id, `newest first: ${results.map((r) => r.id)}`);
  assert.match(results[0].excString ?? "", /first/);
});
