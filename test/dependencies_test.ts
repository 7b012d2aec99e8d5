import assert from "node:assert/strict";
import { Job, Worker } from "../mod.ts";
import { test } from "./_harness.ts";
import { freshQueue } from "./_fixtures.ts";

const ADD = "./test/fixtures/jobs.ts#add";
const FAIL = "./test/fixtures/jobs.ts#fail";

test("dependsOn an unfinished job defers, writing RQ's deferred registry and dependents sets", async () => {
  await using q = await freshQueue();
  const c = q.connection;
  const a = await q.enqueue(ADD, 1, 2);
  const b = await q.enqueue(ADD, 3, 4);
  const child = await q.enqueueCall(ADD, { args: [5, 6], dependsOn: [a, b.id] });
  assert.equal(child.status, "deferred");
  assert.equal(await child.getStatus(), "deferred");
  assert.deepEqual(await q.deferredJobRegistry.getJobIds(), [child.id]);
  assert.deepEqual(await c.call(["SMEMBERS", `rq:job:${a.id}:dependents`]), [child.id]);
  assert.deepEqual(await c.call(["SMEMBERS", `rq:job:${b.id}:dependents`]), [child.id]);
  assert.deepEqual(
    ((await c.call<string[]>(["SMEMBERS", `rq:job::${child.id}:dependencies`])) ?? []).sort(),
    [a.id, b.id].sort(),
  );
  const hash = await c.call<Record<string, string>>(["HGETALL", child.key]);
  assert.equal(hash.status, "deferred");
  assert.equal(hash.dependency_id, a.id);
  assert.equal(hash.dependency_ids, JSON.stringify([a.id, b.id]));
  assert.equal(hash.enqueued_at, undefined, "no enqueued_at while deferred");
  assert.deepEqual(await q.getJobIds(), [a.id, b.id], "not pushed");
});

test("dependsOn a finished (or missing) job enqueues at once, without dependents sets", async () => {
  await using sync = await freshQueue({ isAsync: false });
  const done = await sync.enqueue(ADD, 1, 2);
  assert.equal(await done.getStatus(), "finished");
  await using q = await freshQueue();
  const child = await q.enqueueCall(ADD, { dependsOn: [done, "missing-" + q.name] });
  assert.equal(child.status, "queued");
  assert.deepEqual(await q.getJobIds(), [child.id]);
  assert.equal(await q.connection.call<number>(["EXISTS", `rq:job:${done.id}:dependents`]), 0);
  assert.deepEqual((await Job.fetch(child.id, { connection: q.connection })).dependencyIds, [
    done.id,
    "missing-" + q.name,
  ]);
});

test("a deferred job is enqueued only when every dependency has finished successfully", async () => {
  await using q = await freshQueue();
  await using sync = await freshQueue({ isAsync: false });
  const a = await q.enqueue(ADD, 1, 2);
  const b = await q.enqueue(ADD, 3, 4);
  const child = await q.enqueueCall(ADD, { dependsOn: [a, b] });
  // Run a and b in-process, one by one, as a worker would.
  await q.connection.call(["LREM", q.key, "0", a.id]);
  const runA = await sync.enqueueCall(ADD, { args: [1, 2], jobId: a.id });
  assert.equal(await runA.getStatus(), "finished");
  await q.connection.call(["HSET", a.key, "origin", q.name]);
  assert.equal(await child.getStatus(), "deferred", "b has not finished yet");
  await q.connection.call(["LREM", q.key, "0", b.id]);
  await sync.enqueueCall(ADD, { args: [3, 4], jobId: b.id });
  assert.equal(await child.getStatus(), "queued");
  assert.deepEqual(await q.getJobIds(), [child.id]);
  assert.equal(await q.deferredJobRegistry.count(), 0);
  assert.equal(await q.connection.call<number>(["EXISTS", `rq:job:${b.id}:dependents`]), 0);
});

test("a dependency that fails leaves its dependents deferred", async () => {
  await using sync = await freshQueue({ isAsync: false });
  await using q = await freshQueue();
  const parentId = `${q.name}-parent`;
  // The parent is deferred on a placeholder first so the child can be attached before it runs.
  const blocker = await q.enqueue(ADD, 0, 0);
  await q.enqueueCall(FAIL, { args: ["boom"], jobId: parentId, dependsOn: blocker });
  const child = await q.enqueueCall(ADD, { dependsOn: parentId });
  await q.connection.call(["DEL", `rq:job:${blocker.id}:dependents`]);
  await q.connection.call(["ZREM", `rq:deferred:${q.name}`, parentId]);
  await sync.connection.call(["HSET", `rq:job:${parentId}`, "origin", sync.name]);
  const parent = await Job.fetch(parentId, { connection: sync.connection });
  await sync.enqueueCall(FAIL, { args: ["boom"], jobId: parent.id });
  assert.equal(await parent.getStatus(), "failed");
  assert.equal(await child.getStatus(), "deferred");
});

test("isAsync: false runs a chain of three dependent jobs in order", async () => {
  await using q = await freshQueue({ isAsync: false });
  const a = await q.enqueue(ADD, 1, 2);
  const b = await q.enqueueCall(ADD, { args: [3, 4], dependsOn: a });
  const c = await q.enqueueCall(ADD, { args: [5, 6], dependsOn: b });
  assert.deepEqual([await a.result, await b.result, await c.result], [3, 7, 11]);
  assert.equal(await c.getStatus(), "finished");
});

test("dependsOn { jobs, allowFailure: true } releases the dependent when its parent fails (RQ's Dependency)", async () => {
  await using q = await freshQueue();
  const parent = await q.enqueueCall(FAIL, { args: ["boom"] });
  const strict = await q.enqueueCall(ADD, { args: [1, 1], dependsOn: parent });
  const lenient = await q.enqueueCall(ADD, { args: [2, 2], dependsOn: { jobs: [parent], allowFailure: true } });
  const hash = await q.connection.call<Record<string, string>>(["HGETALL", lenient.key]);
  assert.equal(hash.allow_dependency_failures, "1");
  assert.equal(hash.enqueue_at_front, "0");
  assert.equal(
    await q.connection.call(["HGET", strict.key, "allow_dependency_failures"]),
    null,
    "no field without a spec, as RQ",
  );
  await new Worker([q.name], { connection: q.connection.url, handleSignals: false, logLevel: "error" }).work({
    burst: true,
  });
  assert.equal(await parent.getStatus(), "failed");
  assert.equal(await strict.getStatus(), "deferred");
  assert.equal(await lenient.getStatus(), "finished");
  assert.equal(await lenient.result, 4);
});

test("dependsOn { jobs } rejects a spec without jobs or with a non-boolean flag", async () => {
  await using q = await freshQueue();
  await assert.rejects(q.enqueueCall(ADD, { dependsOn: { jobs: [] } }), /dependsOn.jobs: give at least one/);
  await assert.rejects(
    q.enqueueCall(ADD, { dependsOn: { jobs: "x", allowFailure: "yes" as unknown as boolean } }),
    /dependsOn.allowFailure: received "yes"; expected true or false/,
  );
});

test("dependsOn { jobs, allowFailure: true } on a parent that already failed queues the job at once", async () => {
  await using sync = await freshQueue({ isAsync: false });
  const parent = await sync.enqueueCall(FAIL, { args: ["boom"] });
  assert.equal(await parent.getStatus(), "failed");
  await using q = await freshQueue();
  const lenient = await q.enqueueCall(ADD, { args: [1, 1], dependsOn: { jobs: parent, allowFailure: true } });
  const strict = await q.enqueueCall(ADD, { args: [1, 1], dependsOn: parent });
  assert.equal(await lenient.getStatus(), "queued");
  assert.equal(await strict.getStatus(), "deferred");
  assert.deepEqual(await q.getJobIds(), [lenient.id]);
});
