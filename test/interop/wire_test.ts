// Issue item 11: wire compatibility with Debian's python3-rq 1.13 (JSONSerializer), proven by driving real
// Python RQ against the same Redis: rqts writes → Python reads, Python writes → rqts reads, and results written
// by a Python worker (or by rqts in-process) read on the other side.

import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Connection, Job, Queue } from "../../mod.ts";
import { python, redisUrl, rqCli, test, uniqueName } from "../_harness.ts";

// ---------------------------------------------------------------------------------------------------------------
// Helpers

/** Python helpers every script starts with: `r` (redis), `A` (arguments from TS), `describe(id)`, `out(value)`. */
const PRELUDE = `
import calendar, json, os, sys, zlib
from redis import Redis
from rq import Queue
from rq.job import Job, Dependency
from rq.results import Result
from rq.serializers import JSONSerializer

r = Redis.from_url(os.environ["RQTS_URL"])
A = json.loads(os.environ["RQTS_ARGS"])

def ms(d):
    return None if d is None else calendar.timegm(d.utctimetuple()) * 1000 + d.microsecond // 1000

def text(v):
    return None if v is None else v.decode("utf-8")

def describe(job_id):
    j = Job.fetch(job_id, connection=r, serializer=JSONSerializer)
    raw = r.hgetall(j.key)
    payload = zlib.decompress(raw[b"data"])
    return {
        "id": j.id,
        "func_name": j.func_name,
        "args": list(j.args),
        "kwargs": j.kwargs,
        "status": j.get_status(),
        "timeout": j.timeout,
        "result_ttl": j.result_ttl,
        "ttl": j.ttl,
        "failure_ttl": j.failure_ttl,
        "description": j.description,
        "meta": j.meta,
        "origin": j.origin,
        "dependency_ids": j._dependency_ids,
        "dependencies_set": sorted(k.decode("utf-8") for k in j.dependency_ids),
        "success_callback_name": j._success_callback_name,
        "failure_callback_name": j._failure_callback_name,
        "enqueue_at_front": j.enqueue_at_front,
        "created_at": ms(j.created_at),
        "enqueued_at": ms(j.enqueued_at),
        "raw_timeout": text(raw.get(b"timeout")),
        "raw_created_at": text(raw.get(b"created_at")),
        "raw_enqueued_at": text(raw.get(b"enqueued_at")),
        "data_is_python_json": payload == json.dumps([j.func_name, None, j.args, j.kwargs]).encode("utf-8"),
        "meta_is_python_json": b"meta" not in raw or raw[b"meta"] == json.dumps(j.meta).encode("utf-8"),
        "key_ttl": r.ttl(j.key),
    }

def out(value):
    sys.stdout.write(json.dumps(value))
`;

/** What {@link PRELUDE}'s `describe()` returns. */
interface PyJob {
  id: string;
  func_name: string;
  args: unknown[];
  kwargs: Record<string, unknown>;
  status: string | null;
  timeout: number | null;
  result_ttl: number | null;
  ttl: number | null;
  failure_ttl: number | null;
  description: string | null;
  meta: Record<string, unknown>;
  origin: string;
  dependency_ids: string[];
  dependencies_set: string[];
  success_callback_name: string | null;
  failure_callback_name: string | null;
  enqueue_at_front: boolean | null;
  created_at: number | null;
  enqueued_at: number | null;
  raw_timeout: string | null;
  raw_created_at: string | null;
  raw_enqueued_at: string | null;
  data_is_python_json: boolean;
  meta_is_python_json: boolean;
  key_ttl: number;
}

/** deepStrictEqual whose failure shows `what` above node's diff of the two values (a bare message would hide it). */
function same(actual: unknown, expected: unknown, what?: string): void {
  try {
    assert.deepStrictEqual(actual, expected);
  } catch (error) {
    if (what && error instanceof assert.AssertionError) error.message = `${what}\n${error.message}`;
    throw error;
  }
}

/** JSON with every non-ASCII character escaped, so it survives the environment whatever the locale. */
function asciiJson(value: unknown): string {
  return JSON.stringify(value).replace(
    /[\u007f-\uffff]/g,
    (c) => "\\u" + c.charCodeAt(0).toString(16).padStart(4, "0"),
  );
}

/** Runs {@link PRELUDE} + `body` in Debian's Python (RQ 1.13) and parses the JSON it printed with `out()`. */
async function py<T>(body: string, args: unknown = null): Promise<T> {
  const output = await python(PRELUDE + body, { RQTS_URL: await redisUrl(), RQTS_ARGS: asciiJson(args) });
  try {
    return JSON.parse(output) as T;
  } catch {
    throw new Error(`The Python script did not print JSON; it printed:\n${output}`);
  }
}

/** The fields Python's describe() reports, as the rqts Job knows them. */
function rqtsView(job: Job) {
  return {
    id: job.id,
    func_name: job.funcName,
    args: job.args,
    kwargs: job.kwargs,
    status: job.status,
    timeout: job.timeout,
    result_ttl: job.resultTtl,
    ttl: job.ttl,
    failure_ttl: job.failureTtl,
    description: job.description,
    meta: job.meta,
    origin: job.origin,
    dependency_ids: job.dependencyIds,
    success_callback_name: job.successCallbackName,
    failure_callback_name: job.failureCallbackName,
    created_at: job.createdAt.getTime(),
    enqueued_at: job.enqueuedAt?.getTime() ?? null,
  };
}

/** The same keys picked from Python's describe(). */
function pythonView(p: PyJob) {
  return {
    id: p.id,
    func_name: p.func_name,
    args: p.args,
    kwargs: p.kwargs,
    status: p.status,
    timeout: p.timeout,
    result_ttl: p.result_ttl,
    ttl: p.ttl,
    failure_ttl: p.failure_ttl,
    description: p.description,
    meta: p.meta,
    origin: p.origin,
    dependency_ids: p.dependency_ids,
    success_callback_name: p.success_callback_name,
    failure_callback_name: p.failure_callback_name,
    created_at: p.created_at,
    enqueued_at: p.enqueued_at,
  };
}

/** Asserts the rqts job and Python's reading of it agree on every field, and that the bytes are Python's own. */
function assertSameJob(job: Job, p: PyJob | undefined, what: string): asserts p is PyJob {
  assert.ok(p, `${what}: Python RQ could not fetch job ${job.id}`);
  same(pythonView(p), rqtsView(job), `${what}: Python RQ 1.13 reads job ${job.id} differently from rqts`);
  assert.ok(
    p.data_is_python_json,
    `${what}: the zlib'd 'data' of ${job.id} is not byte-identical to Python's json.dumps([func, None, args, kwargs])`,
  );
  assert.ok(p.meta_is_python_json, `${what}: 'meta' of ${job.id} is not byte-identical to Python's json.dumps(meta)`);
  assert.match(
    p.raw_created_at ?? "",
    /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/,
    `${what}: created_at of ${job.id} is not in RQ's %Y-%m-%dT%H:%M:%S.%fZ form`,
  );
}

/** Deletes every key that mentions `name` (queue, registries, jobs, results: ids here all contain it). */
async function cleanup(conn: Connection, name: string): Promise<void> {
  let cursor = "0";
  do {
    const [next, keys] = await conn.call<[string, string[]]>(["SCAN", cursor, "MATCH", `*${name}*`, "COUNT", "1000"]);
    if (keys.length) await conn.call(["DEL", ...keys]);
    cursor = next;
  } while (cursor !== "0");
  const queues = await conn.call<string[]>(["SMEMBERS", "rq:queues"]);
  const mine = queues.filter((k) => k.includes(name));
  if (mine.length) await conn.call(["SREM", "rq:queues", ...mine]);
}

/** Runs a burst Python RQ worker (JSONSerializer) on `queue` with `dir` on its import path. */
function runPythonWorker(url: string, queue: string, dir: string): Promise<string> {
  const args = ["worker", "--burst", "--url", url, "--serializer", "rq.serializers.JSONSerializer", "--path", dir];
  return rqCli([...args, queue], { cwd: dir });
}

// ---------------------------------------------------------------------------------------------------------------
// 1. rqts enqueues, Python reads

test("wire: a job rqts enqueued reads back in Python RQ with every option", async () => {
  const name = uniqueName("wire-opts");
  const q = new Queue(name, { connection: await redisUrl() });
  const sync = new Queue(name, { connection: q.connection, isAsync: false });
  try {
    const parent = await q.enqueueCall("app.tasks.slow", { args: [1], jobId: `${name}-parent` });
    const finished = await sync.enqueueCall("./test/fixtures/jobs.ts#add", { args: [1, 1], jobId: `${name}-done` });
    same(await finished.getStatus(), "finished", "setup: the in-process job should have finished");

    const meta = { owner: "interop", note: "héllo wörld — 世界 🎉", nested: { list: [1, 2.5, null, true], s: "ü" } };
    const full = await q.enqueueCall("app.tasks.count", {
      args: [1, "zwei", [3, 4.5], { "fünf": 5 }, null, true],
      kwargs: { name: "Zoë ✓", flag: false, nested: { a: [1, "b"] } },
      jobTimeout: "3m",
      resultTtl: 600,
      ttl: 900,
      failureTtl: 1200,
      description: "Zählen — 数える ✓",
      meta,
      jobId: `${name}-full`,
      onSuccess: "app.callbacks.on_ok",
      onFailure: "app.callbacks.on_bad",
    });
    const deferred = await q.enqueueCall("app.tasks.after", {
      args: ["x"],
      kwargs: { y: 2 },
      dependsOn: parent,
      jobId: `${name}-deferred`,
      jobTimeout: "1h",
      resultTtl: -1,
      meta: { step: 2 },
    });
    const released = await q.enqueueCall("app.tasks.after", {
      args: ["z"],
      dependsOn: [finished, `${name}-missing`],
      jobId: `${name}-released`,
    });
    const front = await q.enqueueCall("app.tasks.urgent", { jobId: `${name}-front`, atFront: true });

    const py_ = await py<{ jobs: Record<string, PyJob>; job_ids: string[]; deferred: string[]; dependents: string[] }>(
      `
q = Queue(A["queue"], connection=r, serializer=JSONSerializer)
out({
    "jobs": {i: describe(i) for i in A["ids"]},
    "job_ids": q.job_ids,
    "deferred": q.deferred_job_registry.get_job_ids(),
    "dependents": sorted(m.decode() for m in r.smembers("rq:job:%s:dependents" % A["parent"])),
})
`,
      { queue: name, ids: [parent.id, full.id, deferred.id, released.id, front.id], parent: parent.id },
    );

    // The job with every option, field by field, then against everything rqts knows about it.
    const f = py_.jobs[full.id];
    assertSameJob(full, f, "job with every option");
    same(f.func_name, "app.tasks.count");
    same(f.args, [1, "zwei", [3, 4.5], { "fünf": 5 }, null, true], "args as Python sees them");
    same(f.kwargs, { name: "Zoë ✓", flag: false, nested: { a: [1, "b"] } }, "kwargs as Python sees them");
    same(f.status, "queued");
    same(f.timeout, 180, 'jobTimeout "3m" must reach Python as 180 seconds');
    same(f.raw_timeout, "180", 'jobTimeout "3m" must be stored as the integer string "180" (§2.1)');
    same(f.result_ttl, 600);
    same(f.ttl, 900);
    assert.ok(f.key_ttl > 0 && f.key_ttl <= 900, `the job key should EXPIRE after ttl 900; redis TTL is ${f.key_ttl}`);
    same(f.failure_ttl, 1200);
    same(f.description, "Zählen — 数える ✓");
    same(f.meta, meta, "meta (with non-ASCII text) as Python sees it");
    same(f.origin, name);
    same(f.dependency_ids, []);
    same(f.success_callback_name, "app.callbacks.on_ok");
    same(f.failure_callback_name, "app.callbacks.on_bad");
    same(f.created_at, full.createdAt.getTime(), "created_at to the millisecond");
    same(f.enqueued_at, full.enqueuedAt?.getTime(), "enqueued_at to the millisecond");

    // Default description and timeout of a plain enqueue.
    const p = py_.jobs[parent.id];
    assertSameJob(parent, p, "plain job");
    same(p.description, "app.tasks.slow(1)");
    same(p.timeout, 180);
    same(p.key_ttl, -1, "a job without ttl must not expire while queued");

    // Depends on an unfinished job: deferred, no enqueued_at, registered on both sides of the dependency.
    const d = py_.jobs[deferred.id];
    assertSameJob(deferred, d, "deferred job");
    same(d.status, "deferred");
    same(d.enqueued_at, null, "a deferred job has no enqueued_at");
    same(d.timeout, 3600);
    same(d.result_ttl, -1);
    same(d.dependency_ids, [parent.id]);
    same(d.dependencies_set, [`rq:job:${parent.id}`], "rq:job::<id>:dependencies as Python reads it");
    same(py_.deferred, [deferred.id], "Python's deferred_job_registry");
    same(py_.dependents, [deferred.id], "rq:job:<parent>:dependents");

    // Depends on a finished and a missing job: queued at once, dependency ids kept, no dependency sets.
    const rel = py_.jobs[released.id];
    assertSameJob(released, rel, "job whose dependencies are finished/missing");
    same(rel.status, "queued");
    same(rel.dependency_ids, [finished.id, `${name}-missing`]);
    assert.notEqual(rel.enqueued_at, null, "a job queued through the dependency path has enqueued_at");

    const fr = py_.jobs[front.id];
    assertSameJob(front, fr, "at-front job");
    same(
      py_.job_ids,
      [front.id, parent.id, full.id, released.id],
      "Python's q.job_ids: the atFront job first, the rest in enqueue order, deferred job absent",
    );
  } finally {
    await cleanup(q.connection, name);
    await q.close();
  }
});

// ---------------------------------------------------------------------------------------------------------------
// 2. Python enqueues, rqts reads

test("wire: a job Python RQ enqueued with JSONSerializer reads back in rqts", async () => {
  const name = uniqueName("wire-py");
  const q = new Queue(name, { connection: await redisUrl() });
  try {
    const args = [1, "zwei", [3, 4.5], { "fünf": 5 }, null, true];
    const kwargs = { who: "Zoë ✓", flag: false };
    const meta = { owner: "python", note: "naïve — 日本 🎉", n: [1, { x: null }] };
    const ids = {
      parent: `${name}-parent`,
      count: `${name}-count`,
      add: `${name}-add`,
      front: `${name}-front`,
    };
    const py_ = await py<{ jobs: Record<string, PyJob>; job_ids: string[] }>(
      `
q = Queue(A["queue"], connection=r, serializer=JSONSerializer)
ids = A["ids"]
parent = q.enqueue("app.tasks.parent", job_id=ids["parent"])
q.enqueue("app.tasks.count", *A["args"], **A["kwargs"], job_timeout="1h", result_ttl=600, ttl=900,
          failure_ttl=1200, meta=A["meta"], at_front=True, job_id=ids["count"])
q.enqueue("./jobs.ts#add", 2, 3, depends_on=parent, meta={"k": "v"}, job_id=ids["add"], result_ttl=-1)
q.enqueue("./jobs.ts#add", 5, 6, depends_on=Dependency(jobs=[parent], enqueue_at_front=True), job_id=ids["front"])
out({"jobs": {i: describe(i) for i in ids.values()}, "job_ids": q.job_ids})
`,
      { queue: name, ids, args, kwargs, meta },
    );

    for (const id of Object.values(ids)) {
      const p = py_.jobs[id];
      const job = await Job.fetch(id, { connection: q.connection });
      same(rqtsView(job), pythonView(p), `rqts reads Python job ${id} differently from Python RQ`);
    }

    const count = await Job.fetch(ids.count, { connection: q.connection });
    same(count.funcName, "app.tasks.count");
    same(count.args, args);
    same(count.kwargs, kwargs);
    same(await count.getStatus(), "queued");
    same(count.timeout, 3600, "job_timeout='1h' is 3600 seconds");
    same(count.resultTtl, 600);
    same(count.ttl, 900);
    same(count.failureTtl, 1200);
    same(count.meta, meta, "meta Python wrote (ensure_ascii escapes) reads back as the same text");
    same(count.origin, name);
    same(
      count.description,
      "app.tasks.count(1, 'zwei', [3, 4.5], {'fünf': 5}, None, True, flag=False, who='Zoë ✓')",
      "Python's own call-string description",
    );
    assert.ok(count.enqueuedAt, "a queued Python job has enqueued_at");

    const add = await Job.fetch(ids.add, { connection: q.connection });
    same(add.funcName, "./jobs.ts#add");
    same(add.args, [2, 3]);
    same(add.kwargs, {});
    same(add.status, "deferred");
    same(add.timeout, 180);
    same(add.resultTtl, -1);
    same(add.description, "./jobs.ts#add(2, 3)");
    same(add.dependencyIds, [ids.parent]);
    same(add.enqueuedAt, null, "a deferred Python job has no enqueued_at");
    assert.ok(await q.deferredJobRegistry.contains(add), "rqts sees the Python job in the deferred registry");

    const front = await Job.fetch(ids.front, { connection: q.connection });
    same(front.enqueueAtFront, true, "Dependency(enqueue_at_front=True) reads as enqueueAtFront");

    same(await q.getJobIds(), py_.job_ids, "rqts and Python list the same queue order");
    same(py_.job_ids, [ids.count, ids.parent], "at_front=True put the count job first");

    // rqts writes the same default description for the same call as Python does.
    const mirror = await q.enqueueCall("app.tasks.count", { args, kwargs, jobId: `${name}-mirror` });
    same(mirror.description, count.description, "rqts's default description differs from Python's");
  } finally {
    await cleanup(q.connection, name);
    await q.close();
  }
});

// ---------------------------------------------------------------------------------------------------------------
// 3. Queue.all() and counts

test("wire: Queue.all() and count() agree with Python RQ, after delete() and empty()", async () => {
  const name = uniqueName("wire-all");
  const q = new Queue(`${name}-a`, { connection: await redisUrl() });
  const qc = new Queue(`${name}-c`, { connection: q.connection });
  const conn = q.connection;
  const pyState = async () =>
    await py<[string, number][]>(
      `
out(sorted([q.name, len(q)] for q in Queue.all(connection=r, serializer=JSONSerializer)
           if q.name.startswith(A["prefix"])))
`,
      { prefix: name },
    );
  const rqtsState = async () => {
    const all = (await Queue.all({ connection: conn })).filter((x) => x.name.startsWith(name));
    return await Promise.all(all.map(async (x) => [x.name, await x.count()] as [string, number]));
  };
  try {
    await q.enqueue("app.tasks.a", 1);
    await q.enqueue("app.tasks.a", 2);
    await qc.enqueue("app.tasks.c", 1);
    await py<null>(
      `
q = Queue(A["name"], connection=r, serializer=JSONSerializer)
for i in range(3):
    q.enqueue("app.tasks.b", i, job_id="%s-%d" % (A["name"], i))
out(None)
`,
      { name: `${name}-b` },
    );

    const expected: [string, number][] = [[`${name}-a`, 2], [`${name}-b`, 3], [`${name}-c`, 1]];
    same(await pyState(), expected, "Python's Queue.all() names and len(q)");
    same(await rqtsState(), expected, "rqts's Queue.all() names and count()");

    // rqts deletes queue a (with its jobs): Python no longer lists it and the job hashes are gone.
    const aIds = await q.getJobIds();
    await q.delete();
    const afterDelete = await py<{ queues: [string, number][]; exists: number }>(
      `
out({
    "queues": sorted([q.name, len(q)] for q in Queue.all(connection=r, serializer=JSONSerializer)
                     if q.name.startswith(A["prefix"])),
    "exists": sum(Job.exists(i, connection=r) for i in A["ids"]),
})
`,
      { prefix: name, ids: aIds },
    );
    same(
      afterDelete.queues,
      [[`${name}-b`, 3], [`${name}-c`, 1]],
      "after rqts queue.delete(), Python's Queue.all() must not list the queue",
    );
    same(afterDelete.exists, 0, "queue.delete() must delete the queued jobs too (Python's Job.exists)");
    same(await rqtsState(), [[`${name}-b`, 3], [`${name}-c`, 1]]);

    // Python empties queue b: rqts counts 0; the queue stays known on both sides (RQ's empty() keeps rq:queues).
    await py<null>(`Queue(A, connection=r, serializer=JSONSerializer).empty()\nout(None)`, `${name}-b`);
    const afterEmpty: [string, number][] = [[`${name}-b`, 0], [`${name}-c`, 1]];
    same(await new Queue(`${name}-b`, { connection: conn }).count(), 0, "rqts count() after Python q.empty()");
    same(await rqtsState(), afterEmpty, "rqts's Queue.all() after Python q.empty()");
    same(await pyState(), afterEmpty, "Python's Queue.all() after q.empty()");
    same(await Job.exists(`${name}-b-0`, { connection: conn }), false, "Python's empty() deleted its jobs");
  } finally {
    await cleanup(conn, name);
    await q.close();
  }
});

// ---------------------------------------------------------------------------------------------------------------
// 4. enqueueMany

test("wire: jobs rqts enqueued with enqueueMany (direct and into a caller pipeline) read back in Python RQ", async () => {
  const name = uniqueName("wire-many");
  // No worker runs these: references are stored as given (no ./jobs.ts here).
  const q = new Queue(name, { connection: await redisUrl(), checkReferences: false });
  try {
    const direct = await q.enqueueMany([
      Queue.prepareData("app.tasks.count", {
        args: [1],
        kwargs: { k: "välue" },
        jobId: `${name}-m1`,
        meta: { batch: "direct", ü: true },
        resultTtl: "2m",
        jobTimeout: 30,
        description: "first of many",
      }),
      Queue.prepareData("./jobs.ts#add", { args: [2, 3], atFront: true, ttl: 100, jobId: `${name}-m2` }),
      Queue.prepareData("app.tasks.count", { args: [3], failureTtl: 50, jobId: `${name}-m3` }),
    ]);

    const pipeline = q.pipeline();
    const piped = await q.enqueueMany([
      Queue.prepareData("app.tasks.count", { args: [4], jobId: `${name}-p1`, meta: { batch: "pipeline" } }),
      Queue.prepareData("app.tasks.count", { args: [5], jobId: `${name}-p2`, jobTimeout: "1m" }),
    ], { pipeline });
    same(await Job.exists(`${name}-p1`, { connection: q.connection }), false, "nothing is written before exec");
    await pipeline.exec();

    // A node-redis MULTI the caller owns works as the pipeline too.
    const multi = (await q.connection.ready()).multi();
    const multied = await q.enqueueMany([
      Queue.prepareData("app.tasks.count", { args: [6], jobId: `${name}-n1`, atFront: true }),
    ], { pipeline: multi });
    await multi.exec();

    const all = [...direct, ...piped, ...multied];
    const py_ = await py<{ jobs: Record<string, PyJob>; job_ids: string[] }>(
      `
q = Queue(A["queue"], connection=r, serializer=JSONSerializer)
out({"jobs": {i: describe(i) for i in A["ids"]}, "job_ids": q.job_ids})
`,
      { queue: name, ids: all.map((j) => j.id) },
    );
    for (const job of all) assertSameJob(job, py_.jobs[job.id], "enqueueMany job");

    const m1 = py_.jobs[`${name}-m1`];
    same(m1.result_ttl, 120, 'resultTtl "2m" is 120 seconds');
    same(m1.timeout, 30);
    same(m1.description, "first of many");
    same(m1.meta, { batch: "direct", ü: true });
    same(m1.kwargs, { k: "välue" });
    same(py_.jobs[`${name}-m2`].ttl, 100);
    assert.ok(py_.jobs[`${name}-m2`].key_ttl > 0, "ttl 100 set an EXPIRE on the job key");
    same(py_.jobs[`${name}-m2`].description, "./jobs.ts#add(2, 3)");
    same(py_.jobs[`${name}-m3`].failure_ttl, 50);
    same(py_.jobs[`${name}-p2`].timeout, 60);
    for (const job of all) same(py_.jobs[job.id].status, "queued", `${job.id} is queued for Python`);
    same(
      py_.job_ids,
      [`${name}-n1`, `${name}-m2`, `${name}-m1`, `${name}-m3`, `${name}-p1`, `${name}-p2`],
      "Python's q.job_ids (atFront jobs LPUSHed, others RPUSHed, batches in exec order)",
    );
  } finally {
    await cleanup(q.connection, name);
    await q.close();
  }
});

// ---------------------------------------------------------------------------------------------------------------
// 5. A Python worker runs rqts-enqueued jobs; rqts reads the outcome

const PY_TASKS = `
def add(x, y):
    return x + y


def fail(msg):
    raise ValueError(msg)
`;

test("wire: results written by a Python RQ worker read back in rqts", async () => {
  const name = uniqueName("wire-worker");
  const url = await redisUrl();
  const q = new Queue(name, { connection: url });
  const dir = mkdtempSync(join(tmpdir(), "rqts-wire-"));
  try {
    writeFileSync(join(dir, "interop_tasks.py"), PY_TASKS);
    const add = await q.enqueueCall<number>("interop_tasks.add", { args: [3, 4], jobId: `${name}-add` });
    const fail = await q.enqueueCall("interop_tasks.fail", { args: ["kaput"], jobId: `${name}-fail` });
    const kw = await q.enqueueCall<number>("interop_tasks.add", {
      kwargs: { x: 1, y: 2 },
      jobId: `${name}-kw`,
      resultTtl: -1,
    });
    const dependent = await q.enqueueCall<number>("interop_tasks.add", {
      args: [10, 20],
      dependsOn: add,
      jobId: `${name}-dep`,
    });
    same(dependent.status, "deferred", "setup: the dependent waits for the add job");

    const log = await runPythonWorker(url, name, dir);
    const context = `\n--- python worker log ---\n${log}`;

    same(await add.getStatus(), "finished", `add job status after the Python worker${context}`);
    same(await add.result, 7, `await job.result for interop_tasks.add(3, 4)${context}`);
    assert.ok(await q.finishedJobRegistry.contains(add), `the add job is in the finished registry${context}`);
    const addResult = await add.latestResult();
    same(addResult?.type, "successful");
    same(addResult?.returnValue, 7);
    await add.refresh();
    assert.ok(add.startedAt && add.endedAt, "the Python worker's started_at/ended_at parse in rqts");
    assert.ok(add.workerName, "the Python worker's name is on the job");

    same(await kw.result, 3, `kwargs reach the Python function${context}`);

    same(await fail.getStatus(), "failed", `fail job status after the Python worker${context}`);
    const exc = await fail.excInfo;
    assert.ok(exc?.includes("ValueError: kaput"), `job.excInfo should hold the Python traceback; got: ${exc}`);
    assert.ok(await q.failedJobRegistry.contains(fail), "the fail job is in the failed registry");
    same(await fail.result, null, "a failed job has no result");
    same((await fail.latestResult())?.type, "failed");

    same(await dependent.getStatus(), "finished", `the Python worker released and ran the dependent${context}`);
    same(await dependent.result, 30);
    assert.ok(!(await q.deferredJobRegistry.contains(dependent)), "the dependent left the deferred registry");
    same(await q.count(), 0, "the burst worker drained the queue");
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await cleanup(q.connection, name);
    await q.close();
  }
}, { timeout: 60_000 });

// ---------------------------------------------------------------------------------------------------------------
// 6. rqts runs jobs in-process; Python reads the outcome

test("wire: jobs rqts ran in-process read back in Python RQ as finished and failed", async () => {
  const name = uniqueName("wire-sync");
  const q = new Queue(name, { connection: await redisUrl(), isAsync: false });
  try {
    const ok = await q.enqueueCall("./test/fixtures/jobs.ts#add", { args: [3, 4], jobId: `${name}-ok` });
    const bad = await q.enqueueCall("./test/fixtures/jobs.ts#fail", {
      args: ["kaput from rqts"],
      jobId: `${name}-bad`,
      failureTtl: 300,
    });
    same(ok.status, "finished", "setup: the add job ran in-process");
    same(bad.status, "failed", "setup: the fail job ran in-process");

    const py_ = await py<Record<string, Record<string, unknown>>>(
      `
q = Queue(A["queue"], connection=r, serializer=JSONSerializer)
res = {}
for i in A["ids"]:
    j = Job.fetch(i, connection=r, serializer=JSONSerializer)
    latest = j.latest_result()
    res[i] = {
        "status": j.get_status(),
        "return_value": j.return_value(),
        "type": None if latest is None else latest.type.name,
        "successful": latest is not None and latest.type == Result.Type.SUCCESSFUL,
        "exc_string": None if latest is None else latest.exc_string,
        "exc_info": j.exc_info,
        "has_times": j.started_at is not None and j.ended_at is not None,
        "failure_ttl": j.failure_ttl,
        "key_ttl": r.ttl(j.key),
    }
res["finished_registry"] = q.finished_job_registry.get_job_ids()
res["failed_registry"] = q.failed_job_registry.get_job_ids()
out(res)
`,
      { queue: name, ids: [ok.id, bad.id] },
    );

    const o = py_[ok.id];
    same(o.status, "finished", "Python's get_status() of the in-process add job");
    same(o.return_value, 7, "Python's return_value()");
    same(o.type, "SUCCESSFUL", "Python's latest_result().type");
    same(o.successful, true, "latest_result().type == Result.Type.SUCCESSFUL");
    same(o.has_times, true, "started_at/ended_at parse in Python");
    assert.ok((o.key_ttl as number) > 0 && (o.key_ttl as number) <= 500, "the finished job expires after 500 s");
    same(py_.finished_registry, [ok.id], "Python's finished_job_registry");

    const b = py_[bad.id];
    same(b.status, "failed", "Python's get_status() of the in-process fail job");
    same(b.type, "FAILED");
    same(b.return_value, null);
    assert.ok(
      String(b.exc_string).includes("kaput from rqts"),
      `latest_result().exc_string should contain the error message; got: ${b.exc_string}`,
    );
    assert.ok(String(b.exc_info).includes("kaput from rqts"), `Python's job.exc_info; got: ${b.exc_info}`);
    same(b.failure_ttl, 300);
    assert.ok((b.key_ttl as number) > 0 && (b.key_ttl as number) <= 300, "the failed job expires after failureTtl");
    same(py_.failed_registry, [bad.id], "Python's failed_job_registry");
  } finally {
    await cleanup(q.connection, name);
    await q.close();
  }
});

test("wire: a job Python RQ pickled (its default serializer) is refused in rqts with an error naming pickle and JSONSerializer", async () => {
  const name = uniqueName("wire-pickle");
  const q = new Queue(name, { connection: await redisUrl() });
  try {
    await py<null>(
      `
q = Queue(A["queue"], connection=r)  # no serializer: RQ's default, pickle
q.enqueue("app.tasks.count", 1, 2, job_id=A["id"])
out(None)
`,
      { queue: name, id: `${name}-job` },
    );
    const job = await Job.fetch(`${name}-job`, { connection: q.connection });
    assert.throws(
      () => job.args,
      (error: Error) => {
        assert.equal(error.name, "DeserializationError");
        assert.match(error.message, /a Python pickle \(protocol \d\)/);
        assert.match(error.message, /serializer=JSONSerializer\), from rq\.serializers import JSONSerializer/);
        return true;
      },
    );
  } finally {
    await q.delete();
    await q.close();
  }
});
