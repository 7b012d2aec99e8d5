import assert from "node:assert/strict";
import { Job, Queue } from "../mod.ts";
import { redisUrl, test } from "./_harness.ts";
import { freshQueue } from "./_fixtures.ts";

const JOBS = "./test/fixtures/jobs.ts";

test("isAsync: false runs fib(8) at enqueue and stores 21 as a worker would (the seed's example)", async () => {
  await using q = await freshQueue({ isAsync: false }, "low");
  const job = await q.enqueue<number>(`${JOBS}#fib`, 8);
  assert.equal(await job.result, 21);
  const c = q.connection;
  const hash = await c.call<Record<string, string>>(["HGETALL", job.key]);
  assert.equal(hash.status, "finished");
  assert.match(hash.started_at, /\.\d{6}Z$/);
  assert.match(hash.ended_at, /\.\d{6}Z$/);
  assert.ok(hash.ended_at >= hash.started_at);
  const ttl = await c.call<number>(["TTL", job.key]);
  assert.ok(ttl > 490 && ttl <= 500, `job TTL ${ttl}, RQ's default result_ttl is 500`);
  assert.equal(await c.call<number>(["TTL", `rq:results:${job.id}`]) > 490, true);
  const [entry] = await c.call<[string, string[]][]>(["XREVRANGE", `rq:results:${job.id}`, "+", "-"]);
  assert.deepEqual(entry[1], ["type", "1", "return_value", btoa("21")]);
  assert.deepEqual(await q.finishedJobRegistry.getJobIds(), [job.id]);
  const score = Number(await c.call<string>(["ZSCORE", `rq:finished:${q.name}`, job.id]));
  assert.ok(Math.abs(score - (Date.now() / 1000 + 500)) < 5);
  assert.equal(await q.count(), 0, "an in-process job is never pushed");
});

test("isAsync: false stores a failure with its error text, failed registry and a year's TTL", async () => {
  await using q = await freshQueue({ isAsync: false });
  const job = await q.enqueue(`${JOBS}#fail`, "kaput");
  assert.equal(await job.getStatus(), "failed");
  assert.equal(await job.result, null);
  const exc = await job.excInfo;
  assert.match(exc ?? "", /^Error: kaput\n\s+at fail/);
  assert.deepEqual(await q.failedJobRegistry.getJobIds(), [job.id]);
  const ttl = await q.connection.call<number>(["TTL", job.key]);
  assert.ok(ttl > 31_535_000, `failure TTL ${ttl}`);
  assert.equal(await q.connection.call<number>(["TTL", `rq:results:${job.id}`]), -1, "no stream TTL by default, as RQ");
  const latest = await job.latestResult();
  assert.equal(latest?.type, "failed");
});

test("isAsync: false with resultTtl 0 keeps nothing, and -1 keeps the job forever", async () => {
  await using q = await freshQueue({ isAsync: false });
  const gone = await q.enqueueCall(`${JOBS}#add`, { args: [1, 2], resultTtl: 0 });
  assert.equal(await Job.exists(gone.id, { connection: q.connection }), false);
  assert.equal(await gone.latestResult(), null);
  assert.equal(await q.finishedJobRegistry.count(), 0);
  const kept = await q.enqueueCall(`${JOBS}#add`, { args: [1, 2], resultTtl: -1 });
  assert.equal(await q.connection.call<number>(["TTL", kept.key]), -1);
  assert.equal(await q.connection.call<number>(["TTL", `rq:results:${kept.id}`]), -1);
  assert.equal(Number(await q.connection.call(["ZSCORE", `rq:finished:${q.name}`, kept.id])), Infinity);
});

test("isAsync: false calls onSuccess(job, connection, result) before storing the outcome", async () => {
  await using q = await freshQueue({ isAsync: false });
  const job = await q.enqueueCall(`${JOBS}#add`, { args: [2, 3], onSuccess: `${JOBS}#recordSuccess` });
  assert.equal(await job.result, 5);
  assert.deepEqual((await job.getMeta()).callback, { result: 5 });
  assert.equal(await q.connection.call<string>(["HGET", job.key, "success_callback_name"]), `${JOBS}#recordSuccess`);
});

test("isAsync: false: a success callback that throws fails the job, and its dependent stays deferred (one that passes releases it)", async () => {
  await using q = await freshQueue({ isAsync: false });
  // Each parent is first enqueued by an asynchronous Queue of the same name (queued, not run), so that a dependent can
  // wait on it; enqueueing the same id on the synchronous queue then runs it in this process.
  await using pending = new Queue(q.name, { connection: await redisUrl() });
  await using waiting = await freshQueue();
  const parentWithChild = async (label: string, onSuccess: string) => {
    const id = `${q.name}-${label}`;
    await pending.enqueueCall(`${JOBS}#add`, { args: [1, 1], jobId: id });
    const child = await waiting.enqueueCall(`${JOBS}#add`, { args: [2, 2], dependsOn: id });
    assert.equal(child.status, "deferred", "its parent is queued, not finished");
    const parent = await q.enqueueCall(`${JOBS}#add`, { args: [1, 1], jobId: id, onSuccess });
    return { parent, child };
  };
  const exploding = await parentWithChild("exploding", `${JOBS}#explodingCallback`);
  assert.equal(await exploding.parent.getStatus(), "failed");
  assert.equal(await exploding.parent.result, null);
  assert.match((await exploding.parent.excInfo) ?? "", /success callback exploded/);
  assert.equal(await exploding.child.getStatus(), "deferred");
  assert.deepEqual(await waiting.deferredJobRegistry.getJobIds(), [exploding.child.id]);
  assert.deepEqual(await waiting.getJobIds(), [], "nothing released to the dependent's queue");
  // The same with a callback that passes: the dependent is released, so the one above was held by its parent's
  // failure, not by how it was set up.
  const passing = await parentWithChild("passing", `${JOBS}#recordSuccess`);
  assert.equal(await passing.parent.getStatus(), "finished");
  assert.equal(await passing.child.getStatus(), "queued");
  assert.deepEqual(await waiting.getJobIds(), [passing.child.id]);
  assert.equal(await exploding.child.getStatus(), "deferred");
  assert.deepEqual(await waiting.deferredJobRegistry.getJobIds(), [exploding.child.id]);
});

test("Queue.enqueueCall({ dependsOn }) queues a job whose dependency does not exist: a missing one counts as met", async () => {
  await using q = await freshQueue();
  const child = await q.enqueueCall(`${JOBS}#add`, { args: [1, 2], dependsOn: `${q.name}-never-enqueued` });
  assert.equal(child.status, "queued");
  assert.deepEqual(await q.getJobIds(), [child.id]);
});

test("isAsync: false calls onFailure(job, connection, error) when the job throws", async () => {
  await using q = await freshQueue({ isAsync: false });
  const job = await q.enqueueCall(`${JOBS}#fail`, { args: ["nope"], onFailure: `${JOBS}#recordFailure` });
  assert.equal(await job.getStatus(), "failed");
  assert.equal((await job.getMeta()).failure, "nope");
});

test("isAsync: false fails a job whose result JSON cannot carry", async () => {
  await using q = await freshQueue({ isAsync: false });
  const job = await q.enqueue(`${JOBS}#makeSet`);
  assert.equal(await job.getStatus(), "failed");
  assert.match((await job.excInfo) ?? "", /Cannot serialize result: a Set instance/);
});

test("isAsync: false passes kwargs as one last object argument", async () => {
  await using q = await freshQueue({ isAsync: false });
  const job = await q.enqueueCall<unknown[]>(`${JOBS}#echo`, { args: [1], kwargs: { a: 2 } });
  assert.deepEqual(await job.result, [1, { a: 2 }]);
});

test("isAsync: false fails clearly for a Python name, an unknown export, and a path outside the job root", async () => {
  await using q = await freshQueue({ isAsync: false });
  const py = await q.enqueue("app.tasks.count");
  assert.match((await py.excInfo) ?? "", /looks like a Python dotted name/);
  const missing = await q.enqueue(`${JOBS}#nope`);
  assert.match((await missing.excInfo) ?? "", /has no exported function 'nope'/);
  // What a producer that skips the enqueue checks (or one in Python) may store: the run refuses it.
  await using unchecked = await freshQueue({ isAsync: false, checkReferences: false });
  const escape = await unchecked.enqueue("../../etc/passwd#x");
  assert.match((await escape.excInfo) ?? "", /outside the job root/);
  const remote = await unchecked.enqueue("https://example.com/x.ts#x");
  assert.match((await remote.excInfo) ?? "", /remote or non-file URL/);
});

test("isAsync: false refuses a job module that is a symlink leading outside the job root", async () => {
  const { mkdtemp, symlink, writeFile, rm } = await import("node:fs/promises");
  const { tmpdir } = await import("node:os");
  const { join } = await import("node:path");
  const outside = await mkdtemp(join(tmpdir(), "rqts-outside-"));
  const root = await mkdtemp(join(tmpdir(), "rqts-root-"));
  try {
    await writeFile(join(outside, "evil.mjs"), "export function run() { return 'pwned'; }\n");
    await symlink(join(outside, "evil.mjs"), join(root, "innocent.mjs"));
    await writeFile(join(root, "fine.mjs"), "export function run() { return 'ok'; }\n");
    await using q = await freshQueue({ isAsync: false, jobRoot: root });
    const bad = await q.enqueue("./innocent.mjs#run");
    assert.equal(await bad.getStatus(), "failed");
    assert.match((await bad.excInfo) ?? "", /is a symlink to .*evil\.mjs, outside the job root/);
    const good = await q.enqueue("./fine.mjs#run");
    assert.equal(await good.result, "ok");
  } finally {
    await rm(outside, { recursive: true, force: true });
    await rm(root, { recursive: true, force: true });
  }
});
