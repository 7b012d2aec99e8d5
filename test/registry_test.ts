import assert from "node:assert/strict";
import { inflateSync } from "node:zlib";
import { FailedJobRegistry, Job, StartedJobRegistry } from "../mod.ts";
import { test } from "./_harness.ts";
import { freshQueue } from "./_fixtures.ts";

const JOBS = "./test/fixtures/jobs.ts";

test("registries count, list and contain jobs by queue", async () => {
  await using q = await freshQueue({ isAsync: false });
  const ok = await q.enqueue(`${JOBS}#add`, 1, 2);
  const bad = await q.enqueue(`${JOBS}#fail`, "x");
  assert.equal(await q.finishedJobRegistry.count(), 1);
  assert.ok(await q.finishedJobRegistry.contains(ok));
  assert.deepEqual(await q.failedJobRegistry.getJobIds(), [bad.id]);
  assert.deepEqual((await q.failedJobRegistry.getJobs()).map((j) => j.id), [bad.id]);
  assert.equal(await q.startedJobRegistry.count(), 0);
  assert.equal(await q.scheduledJobRegistry.count(), 0);
  assert.equal(await q.canceledJobRegistry.count(), 0);
  assert.equal(q.failedJobRegistry.key, `rq:failed:${q.name}`);
  assert.equal(q.startedJobRegistry.key, `rq:wip:${q.name}`);
});

test("FailedJobRegistry.requeue() puts a failed job back on its queue", async () => {
  await using q = await freshQueue({ isAsync: false });
  const bad = await q.enqueue(`${JOBS}#fail`, "x");
  const registry = new FailedJobRegistry(q.name, { connection: q.connection });
  await registry.requeue(bad.id, { atFront: true });
  assert.equal(await bad.getStatus(), "queued");
  assert.deepEqual(await q.getJobIds(), [bad.id]);
  await assert.rejects(registry.requeue(bad.id), /not in the failed job registry/);
});

test("FinishedJobRegistry.cleanup() drops expired entries", async () => {
  await using q = await freshQueue();
  await q.connection.call([
    "ZADD",
    `rq:finished:${q.name}`,
    "1",
    "old",
    String(Math.floor(Date.now() / 1000) + 100),
    "new",
  ]);
  assert.deepEqual(await q.finishedJobRegistry.getJobIds(), ["new"]);
});

test("StartedJobRegistry.cleanup() moves abandoned jobs to failed, as RQ does", async () => {
  await using q = await freshQueue();
  const job = await q.enqueue(`${JOBS}#add`, 1, 2);
  await q.connection.call(["LREM", q.key, "0", job.id]);
  await q.connection.call(["HSET", job.key, "status", "started"]);
  await q.connection.call(["ZADD", `rq:wip:${q.name}`, "1", job.id]);
  const started = new StartedJobRegistry(q.name, { connection: q.connection });
  assert.equal(await started.count(), 0);
  assert.equal(await job.getStatus(), "failed");
  assert.deepEqual(await q.failedJobRegistry.getJobIds(), [job.id]);
  const exc = await q.connection.callBytes<Uint8Array>(["HGET", job.key, "exc_info"]);
  assert.match(inflateSync(exc).toString(), /^Moved to FailedJobRegistry at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}$/);
  assert.match(
    (await (await Job.fetch(job.id, { connection: q.connection })).excInfo) ?? "",
    /Moved to FailedJobRegistry/,
  );
});
