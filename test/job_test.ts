import assert from "node:assert/strict";
import { deflateSync } from "node:zlib";
import { DeserializationError, InvalidJobOperationError, Job, NoSuchJobError, RqtsError } from "../mod.ts";
import { test } from "./_harness.ts";
import { freshQueue } from "./_fixtures.ts";

const ADD = "./test/fixtures/jobs.ts#add";
const FAIL = "./test/fixtures/jobs.ts#fail";

test("Job.fetch() reads back every field; timestamps are Dates", async () => {
  await using q = await freshQueue();
  const job = await q.enqueueCall(ADD, { args: [1, 2], kwargs: { k: "v" }, meta: { a: 1 }, description: "d" });
  const back = await Job.fetch(job.id, { connection: q.connection });
  assert.equal(back.funcName, ADD);
  assert.deepEqual(back.args, [1, 2]);
  assert.deepEqual(back.kwargs, { k: "v" });
  assert.equal(back.origin, q.name);
  assert.equal(back.description, "d");
  assert.deepEqual(back.meta, { a: 1 });
  assert.ok(back.createdAt instanceof Date);
  assert.ok(back.enqueuedAt instanceof Date);
  assert.ok(Math.abs(back.createdAt.getTime() - Date.now()) < 5000);
  assert.equal(back.startedAt, null);
  assert.equal(back.status, "queued");
});

test("Job.fetch() throws NoSuchJobError for an unknown id; Job.fetchMany() gives null for it", async () => {
  await using q = await freshQueue();
  const job = await q.enqueue(ADD, 1, 2);
  await assert.rejects(Job.fetch("nope-" + q.name, { connection: q.connection }), (e: Error) => {
    assert.ok(e instanceof NoSuchJobError && e instanceof RqtsError);
    assert.match(e.message, /No such job: nope-.*check the id/);
    return true;
  });
  const many = await Job.fetchMany([job.id, "nope"], { connection: q.connection });
  assert.equal(many[0]?.id, job.id);
  assert.equal(many[1], null);
  assert.equal(await Job.exists(job.id, { connection: q.connection }), true);
});

test("Job data that is corrupt gives DeserializationError naming the job and field, never a crash", async () => {
  await using q = await freshQueue();
  const c = q.connection;
  const id = `${q.name}-bad`;
  await c.call(["HSET", `rq:job:${id}`, "data", "\x78\x9cgarbage", "origin", q.name, "status", "queued"]);
  const job = await Job.fetch(id, { connection: c });
  assert.throws(() => job.args, (e: Error) => {
    assert.ok(e instanceof DeserializationError);
    assert.equal(e.jobId, id);
    assert.equal(e.field, "data");
    assert.match(e.message, new RegExp(`Job ${id}: field 'data' cannot be decoded`));
    return true;
  });
  await c.call(["HSET", `rq:job:${id}`, "data", deflateSync(Buffer.from('{"not": "a list"}'))]);
  await job.refresh();
  assert.throws(() => job.funcName, /expected \[func_name, null, args, kwargs\]/);
  await c.call(["HSET", `rq:job:${id}`, "data", '["plain.json", null, [1], {}]']);
  await job.refresh();
  assert.deepEqual(job.args, [1], "raw (uncompressed) JSON is accepted, as RQ does");
  await c.call(["HSET", `rq:job:${id}`, "meta", "{bad"]);
  await assert.rejects(job.refresh(), (e: Error) => e instanceof DeserializationError && e.field === "meta");
  await c.call(["HDEL", `rq:job:${id}`, "meta"]);
  await c.call(["HSET", `rq:job:${id}`, "created_at", "yesterday"]);
  await assert.rejects(job.refresh(), (e: Error) => e instanceof DeserializationError && e.field === "created_at");
  await c.call(["HSET", `rq:job:${id}`, "created_at", "", "timeout", "abc"]);
  await assert.rejects(job.refresh(), (e: Error) => e instanceof DeserializationError && e.field === "timeout");
  await c.call(["HSET", `rq:job:${id}`, "timeout", "3m"]);
  await job.refresh();
  assert.equal(job.timeout, 180, "a foreign '3m' timeout is read with its unit");
  await c.call(["HDEL", `rq:job:${id}`, "data"]);
  await assert.rejects(
    Job.fetch(id, { connection: c }),
    (e: Error) => e instanceof DeserializationError && e.field === "data",
  );
  await job.delete();
  assert.equal(await c.call<number>(["EXISTS", `rq:job:${id}`]), 0, "a broken job can still be deleted");
});

test("Job.result is null until the job finishes, then its return value", async () => {
  await using q = await freshQueue();
  const job = await q.enqueue(ADD, 3, 4);
  assert.equal(await job.result, null);
  await using sync = await freshQueue({ isAsync: false });
  const done = await sync.enqueue<number>(ADD, 3, 4);
  assert.equal(await done.result, 7);
  assert.equal(await done.returnValue(), 7);
});

test("Job.latestResult({ timeout }) waits on the results stream and returns as soon as a result lands", async () => {
  await using q = await freshQueue();
  const job = await q.enqueue(ADD, 3, 4);
  assert.equal(await job.latestResult(), null, "no wait without a timeout");
  const started = Date.now();
  const waiting = job.latestResult({ timeout: 5 });
  setTimeout(() => {
    void q.connection.call(["XADD", `rq:results:${job.id}`, "*", "type", "1", "return_value", btoa("7")]);
  }, 300);
  const result = await waiting;
  const waited = Date.now() - started;
  assert.equal(result?.returnValue, 7);
  assert.equal(result?.type, "successful");
  assert.ok(waited >= 250 && waited < 2000, `waited ${waited} ms`);
  const none = await (await q.enqueue(ADD, 1, 1)).latestResult({ timeout: 0.3 });
  assert.equal(none, null, "gives up after the timeout");
});

test("Job.saveMeta() and getMeta() round-trip meta", async () => {
  await using q = await freshQueue();
  const job = await q.enqueue(ADD, 1, 2);
  job.meta.progress = 0.5;
  await job.saveMeta();
  const other = await Job.fetch(job.id, { connection: q.connection });
  assert.deepEqual(await other.getMeta(), { progress: 0.5 });
});

test("Job.cancel() moves a queued job to the canceled registry; a second cancel is refused", async () => {
  await using q = await freshQueue();
  const job = await q.enqueue(ADD, 1, 2);
  await job.cancel();
  assert.equal(await job.getStatus(), "canceled");
  assert.equal(await q.count(), 0);
  assert.deepEqual(await q.canceledJobRegistry.getJobIds(), [job.id]);
  await assert.rejects(job.cancel(), InvalidJobOperationError);
});

test("Job.cancel({ enqueueDependents }) releases the jobs waiting on it", async () => {
  await using q = await freshQueue();
  const parent = await q.enqueue(ADD, 1, 2);
  const child = await q.enqueueCall(ADD, { args: [3, 4], dependsOn: parent });
  assert.equal(child.status, "deferred");
  await parent.cancel({ enqueueDependents: true });
  assert.equal(await child.getStatus(), "queued");
  assert.deepEqual(await q.getJobIds(), [child.id]);
});

test("Job.requeue() puts a failed job back on its queue; other jobs are refused", async () => {
  await using sync = await freshQueue({ isAsync: false });
  const job = await sync.enqueue(FAIL, "kaput");
  assert.equal(await job.getStatus(), "failed");
  assert.equal(await sync.failedJobRegistry.count(), 1);
  await job.requeue();
  assert.equal(await job.getStatus(), "queued");
  assert.equal(await sync.failedJobRegistry.count(), 0);
  assert.deepEqual(await sync.getJobIds(), [job.id]);
  await using q = await freshQueue();
  const queued = await q.enqueue(ADD, 1, 2);
  await assert.rejects(queued.requeue(), /not in the failed job registry/);
});

test("Job.delete() removes the job from its queue and registry, with its dependency keys", async () => {
  await using q = await freshQueue();
  const parent = await q.enqueue(ADD, 1, 2);
  const child = await q.enqueueCall(ADD, { dependsOn: parent });
  await child.delete();
  assert.equal(await q.deferredJobRegistry.count(), 0);
  assert.equal(await q.connection.call<number>(["EXISTS", `rq:job::${child.id}:dependencies`]), 0);
  const child2 = await q.enqueueCall(ADD, { dependsOn: parent });
  await parent.delete({ deleteDependents: true });
  assert.equal(await q.count(), 0);
  assert.equal(await Job.exists(child2.id, { connection: q.connection }), false);
});

test("Job.getStatus() is null once the hash is gone", async () => {
  await using q = await freshQueue();
  const job = await q.enqueue(ADD, 1, 2);
  await q.connection.call(["DEL", job.key]);
  assert.equal(await job.getStatus(), null);
});

test("Job.latestResult({ timeout }) can wait longer than node-redis's 5 s command timeout", async () => {
  await using q = await freshQueue();
  const job = await q.enqueue(ADD, 3, 4);
  const started = Date.now();
  setTimeout(() => {
    void q.connection.call(["XADD", `rq:results:${job.id}`, "*", "type", "1", "return_value", btoa("7")]);
  }, 5600);
  const result = await job.latestResult({ timeout: 8 });
  assert.equal(result?.returnValue, 7);
  assert.ok(Date.now() - started >= 5500);
}, { timeout: 15_000 });
