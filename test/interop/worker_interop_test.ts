// Issue item 8: the rqts worker shares Redis with Python RQ 1.13 (JSONSerializer). Jobs Python enqueued run on an
// rqts worker and read back in Python; `rq info` lists rqts workers; a Python and an rqts worker drain one queue
// together, each job running exactly once; and the abandoned-job rule (rq:wip entries past their heartbeat move to
// failed) works across the two in both directions.

import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Connection, Job, Queue, Worker } from "../../mod.ts";
import { python, redisUrl, rqCli, test, uniqueName } from "../_harness.ts";

// ---------------------------------------------------------------------------------------------------------------
// Helpers

/** Python helpers every script starts with: `r` (redis), `A` (arguments from TS), `us(datetime)`, `out(value)`. */
const PRELUDE = `
import calendar, json, os, sys, time
from redis import Redis
from rq import Queue, Worker
from rq.exceptions import NoSuchJobError
from rq.job import Job
from rq.registry import StartedJobRegistry
from rq.serializers import JSONSerializer

r = Redis.from_url(os.environ["RQTS_URL"])
A = json.loads(os.environ["RQTS_ARGS"])

def us(d):
    """A naive-UTC datetime as integer microseconds since the epoch (None stays None)."""
    return None if d is None else calendar.timegm(d.utctimetuple()) * 1000000 + d.microsecond

def out(value):
    sys.stdout.write(json.dumps(value))
`;

/** deepStrictEqual whose failure shows `what` above node's diff of the two values. */
function same(actual: unknown, expected: unknown, what?: string): void {
  try {
    assert.deepStrictEqual(actual, expected);
  } catch (error) {
    if (what && error instanceof assert.AssertionError) error.message = `${what}\n${error.message}`;
    throw error;
  }
}

/** Runs {@link PRELUDE} + `body` in Debian's Python (RQ 1.13) and parses the JSON it printed with `out()`. */
async function py<T>(body: string, args: unknown = null): Promise<T> {
  const output = await python(PRELUDE + body, { RQTS_URL: await redisUrl(), RQTS_ARGS: JSON.stringify(args) });
  try {
    return JSON.parse(output) as T;
  } catch {
    throw new Error(`The Python script did not print JSON; it printed:\n${output}`);
  }
}

/** Deletes every key that mentions `name`, and its entries in rq:queues / rq:workers. */
async function cleanup(conn: Connection, name: string, workerKeys: string[] = []): Promise<void> {
  let cursor = "0";
  do {
    const [next, keys] = await conn.call<[string, string[]]>(["SCAN", cursor, "MATCH", `*${name}*`, "COUNT", "1000"]);
    if (keys.length) await conn.call(["DEL", ...keys]);
    cursor = String(next);
  } while (cursor !== "0");
  if (workerKeys.length) {
    await conn.call(["DEL", ...workerKeys]);
    await conn.call(["SREM", "rq:workers", ...workerKeys]);
  }
  const queues = await conn.call<string[]>(["SMEMBERS", "rq:queues"]);
  const mine = queues.filter((k) => k.includes(name));
  if (mine.length) await conn.call(["SREM", "rq:queues", ...mine]);
}

/** Polls `check` every 50 ms until it returns true; fails with `what` after `ms`. */
async function until(check: () => Promise<boolean>, what: string, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`Timed out after ${ms} ms waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A burst rqts worker on `queues`, quiet, without signal handlers (several tests share the process). */
function rqtsWorker(url: string, queues: string[]): Worker {
  return new Worker(queues, { connection: url, logLevel: "error", handleSignals: false });
}

const JOBS = "./test/fixtures/jobs.ts";

// ---------------------------------------------------------------------------------------------------------------
// 1. Python enqueues, an rqts worker runs, Python reads the outcome

interface PyOutcome {
  missing?: boolean;
  status?: string | null;
  return_value?: unknown;
  result?: unknown;
  type?: string | null;
  exc_string?: string | null;
  started_at?: number | null;
  ended_at?: number | null;
  worker_name?: string | null;
  key_ttl?: number;
  results_ttl?: number;
}

test("worker interop: an rqts worker runs jobs Python RQ enqueued; Python reads every outcome", async () => {
  const name = uniqueName("wi-run");
  const url = await redisUrl();
  const conn = Connection.fromUrl(url);
  const ids = {
    add: `${name}-add`,
    echo: `${name}-echo`,
    keep: `${name}-keep`,
    discard: `${name}-discard`,
    fail: `${name}-fail`,
    parent: `${name}-parent`,
    dep: `${name}-dep`,
  };
  const worker = rqtsWorker(url, [name]);
  try {
    const enqueued = await py<Record<string, string>>(
      `
q = Queue(A["queue"], connection=Redis.from_url(os.environ["RQTS_URL"]), serializer=JSONSerializer)
ids, f = A["ids"], A["jobs"]
q.enqueue(f + "#add", 3, 4, job_id=ids["add"])
q.enqueue(f + "#echo", 1, "two", job_id=ids["echo"], k="v", n=[1, None])
q.enqueue(f + "#add", 20, 22, result_ttl=-1, job_id=ids["keep"])
q.enqueue(f + "#add", 5, 5, result_ttl=0, job_id=ids["discard"])
q.enqueue(f + "#fail", "kaput", job_id=ids["fail"])
parent = q.enqueue(f + "#sleep", 0.2, job_id=ids["parent"])
q.enqueue(f + "#add", 10, 20, depends_on=parent, job_id=ids["dep"])
out({i: Job.fetch(i, connection=r, serializer=JSONSerializer).get_status() for i in ids.values()})
`,
      { queue: name, ids, jobs: JOBS },
    );
    same(enqueued[ids.dep], "deferred", "setup: the dependent waits for its parent in Python");
    same(enqueued[ids.add], "queued", "setup: Python queued the add job");

    await worker.work({ burst: true });

    const res = await py<{
      jobs: Record<string, PyOutcome>;
      finished: string[];
      failed: string[];
      started: string[];
      deferred: string[];
      queued: string[];
      worker: Record<string, unknown> | null;
      all_workers: string[];
    }>(
      `
q = Queue(A["queue"], connection=r, serializer=JSONSerializer)
jobs = {}
for i in A["ids"]:
    try:
        j = Job.fetch(i, connection=r, serializer=JSONSerializer)
    except NoSuchJobError:
        jobs[i] = {"missing": True}
        continue
    latest = j.latest_result()
    jobs[i] = {
        "status": j.get_status(),
        "return_value": j.return_value(),
        "result": j.result,
        "type": None if latest is None else latest.type.name,
        "exc_string": None if latest is None else latest.exc_string,
        "started_at": us(j.started_at),
        "ended_at": us(j.ended_at),
        "worker_name": j.worker_name,
        "key_ttl": r.ttl(j.key),
        "results_ttl": r.ttl("rq:results:" + i),
    }
w = Worker.find_by_key("rq:worker:" + A["worker"], connection=r, serializer=JSONSerializer)
out({
    "jobs": jobs,
    "finished": sorted(q.finished_job_registry.get_job_ids()),
    "failed": q.failed_job_registry.get_job_ids(),
    "started": q.started_job_registry.get_job_ids(),
    "deferred": q.deferred_job_registry.get_job_ids(),
    "queued": q.job_ids,
    "worker": None if w is None else {
        "name": w.name,
        "queues": w.queue_names(),
        "successful_job_count": w.successful_job_count,
        "failed_job_count": w.failed_job_count,
        "total_working_time": w.total_working_time,
        "birth": us(w.birth_date),
        "death": us(w.death_date),
        "version": w.version,
        "pid": w.pid,
        "hostname": w.hostname,
    },
    "all_workers": [x.name for x in Worker.all(connection=r, serializer=JSONSerializer)],
})
`,
      { queue: name, ids: Object.values(ids), worker: worker.name },
    );
    const j = res.jobs;
    const dump = `\n--- Python's view ---\n${JSON.stringify(res, null, 1)}`;

    // add(3, 4)
    same(j[ids.add].status, "finished", `Python's get_status() of add(3, 4)${dump}`);
    same(j[ids.add].return_value, 7, "Python's return_value() of add(3, 4)");
    same(j[ids.add].result, 7, "Python's (deprecated) job.result of add(3, 4)");
    same(j[ids.add].type, "SUCCESSFUL", "Python's latest_result().type of add(3, 4)");
    same(j[ids.add].worker_name, worker.name, "the job hash names the rqts worker that ran it");
    assert.ok(
      j[ids.add].started_at && j[ids.add].ended_at && j[ids.add].ended_at! >= j[ids.add].started_at!,
      `started_at/ended_at parse in Python and ended_at >= started_at${dump}`,
    );
    const addTtl = j[ids.add].key_ttl!;
    assert.ok(addTtl > 0 && addTtl <= 500, `the finished job expires after the default 500 s; TTL ${addTtl}`);

    // echo with kwargs: positional args then the kwargs object
    same(j[ids.echo].status, "finished", `echo(1, "two", k=..., n=...)${dump}`);
    same(j[ids.echo].return_value, [1, "two", { k: "v", n: [1, null] }], "kwargs reach the TS function as one object");

    // result_ttl=-1: kept forever
    same(j[ids.keep].status, "finished");
    same(j[ids.keep].return_value, 42);
    same(j[ids.keep].key_ttl, -1, "result_ttl=-1: the job hash never expires");
    same(j[ids.keep].results_ttl, -1, "result_ttl=-1: the results stream never expires");
    same(
      await conn.call<string[]>(["ZRANGEBYSCORE", `rq:finished:${name}`, "+inf", "+inf"]),
      [ids.keep],
      "result_ttl=-1: only that job has finished registry score +inf",
    );

    // result_ttl=0: gone
    same(j[ids.discard], { missing: true }, "result_ttl=0: Job.fetch raises NoSuchJobError in Python");
    same(await conn.call<number>(["EXISTS", `rq:results:${ids.discard}`]), 0, "result_ttl=0: no results stream");

    // fail('kaput')
    const f = j[ids.fail];
    same(f.status, "failed", `Python's get_status() of fail('kaput')${dump}`);
    same(f.type, "FAILED");
    same(f.return_value, null);
    assert.ok(
      f.exc_string?.includes("kaput"),
      `latest_result().exc_string should contain "kaput"; got ${f.exc_string}`,
    );
    same(res.failed, [ids.fail], "Python's failed_job_registry");
    const failTtl = f.key_ttl!;
    assert.ok(failTtl > 500 && failTtl <= 31536000, `a failed job expires after failure_ttl (1 year); TTL ${failTtl}`);

    // depends_on: ran after its parent
    const p = j[ids.parent], d = j[ids.dep];
    same(p.status, "finished", `the parent sleep(0.2)${dump}`);
    same(p.return_value, "slept 0.2");
    same(d.status, "finished", `the dependent was released and run${dump}`);
    same(d.return_value, 30);
    assert.ok(
      d.started_at! >= p.ended_at! && d.ended_at! >= p.ended_at!,
      `the dependent started (${d.started_at}) and ended (${d.ended_at}) after its parent ended (${p.ended_at})`,
    );
    same(res.deferred, [], "the deferred registry is empty");

    same(
      res.finished,
      [ids.add, ids.dep, ids.echo, ids.keep, ids.parent].sort(),
      "Python's finished_job_registry lists every success (not the result_ttl=0 one)",
    );
    same(res.started, [], "nothing is left in the started registry");
    same(res.queued, [], "nothing is left queued");

    // The worker's own hash, as Python reads it after the burst run (the key lives 60 s after death).
    const w = res.worker;
    assert.ok(w, `Python's Worker.find_by_key('rq:worker:${worker.name}') found nothing after the burst run`);
    same(w.name, worker.name);
    same(w.queues, [name], "worker.queue_names()");
    same(w.successful_job_count, 6, "successful_job_count (add, echo, keep, discard, parent, dep)");
    same(w.failed_job_count, 1, "failed_job_count (fail)");
    const working = w.total_working_time as number;
    assert.ok(working >= 0.2 && working < 30, `total_working_time in seconds, sleep(0.2) included; got ${working}`);
    assert.ok(w.birth && w.death && (w.death as number) >= (w.birth as number), "birth and death dates parse");
    same(w.version, "1.13.0", "the worker hash's version field");
    assert.ok(Number.isInteger(w.pid), `pid parses as an int; got ${w.pid}`);
    assert.ok(!res.all_workers.includes(worker.name), "a dead worker is no longer in Python's Worker.all()");
    const workerTtl = await conn.call<number>(["TTL", worker.key]);
    assert.ok(workerTtl > 0 && workerTtl <= 60, `the dead worker's key expires within 60 s; TTL ${workerTtl}`);
  } finally {
    await cleanup(conn, name, [worker.key]);
    await conn.close();
  }
}, { timeout: 60_000 });

// ---------------------------------------------------------------------------------------------------------------
// 2. `rq info` (and Worker.all) list a running rqts worker

test("worker interop: Python's `rq info` and Worker.all() list a running rqts worker, then forget it", async () => {
  const name = uniqueName("wi-info");
  const other = `${name}-waiting`;
  const url = await redisUrl();
  const conn = Connection.fromUrl(url);
  const worker = rqtsWorker(url, [name]);
  const dir = mkdtempSync(join(tmpdir(), "rqts-info-"));
  const gate = join(dir, "gate");
  let running: Promise<void> | undefined;
  try {
    running = worker.work();
    await until(
      async () => (await conn.call<number>(["SISMEMBER", "rq:workers", worker.key])) === 1,
      `the rqts worker ${worker.key} is in rq:workers`,
    );

    // One job for the worker to run (until the test creates `gate`, so it can watch the worker busy), two on a queue
    // nobody listens to.
    await py<null>(
      `
Queue(A["queue"], connection=r, serializer=JSONSerializer).enqueue(
    A["jobs"] + "#markUntilGate", A["runs"], "j", A["gate"], A["ended"], job_id=A["queue"] + "-j")
o = Queue(A["other"], connection=r, serializer=JSONSerializer)
o.enqueue("app.tasks.later", 1, job_id=A["other"] + "-1")
o.enqueue("app.tasks.later", 2, job_id=A["other"] + "-2")
out(None)
`,
      { queue: name, other, jobs: JOBS, gate, runs: join(dir, "runs"), ended: join(dir, "ended") },
    );
    const job = new Job(`${name}-j`, conn);
    await until(async () => (await job.getStatus()) === "started", "the rqts worker started the job");

    // While the job runs: busy, with the job as its current job, in Python's eyes and rq info's.
    const busy = await py<Record<string, unknown> | null>(
      `
mine = [w for w in Worker.all(connection=r, serializer=JSONSerializer) if w.name == A["worker"]]
w = mine[0] if mine else None
j = Job.fetch(A["job"], connection=r, serializer=JSONSerializer)
out(None if w is None else {
    "state": w.get_state(),
    "current_job": w.get_current_job_id(),
    "job_status": j.get_status(),
    "job_worker": j.worker_name,
    "started": [m.decode() for m in r.zrangebyscore("rq:wip:" + A["queue"], int(time.time()), "+inf")],
})
`,
      { worker: worker.name, queue: name, job: job.id },
    );
    same(
      busy,
      { state: "busy", current_job: job.id, job_status: "started", job_worker: worker.name, started: [job.id] },
      "Python's view of the rqts worker while it runs a job (state, current job, job in rq:wip with a live deadline)",
    );
    const busyInfo = await rqCli(["info", "--url", url, name]);
    assert.ok(
      busyInfo.split("\n").some((l) => l.startsWith(worker.name) && l.includes(": busy ")),
      `rq info shows the rqts worker busy while it runs a job:\n${busyInfo}`,
    );

    writeFileSync(gate, "");
    await until(async () => (await job.getStatus()) === "finished", "the rqts worker finished the job");
    await until(
      async () => (await conn.call<string | null>(["HGET", worker.key, "state"])) === "idle",
      "the rqts worker is idle again",
    );

    const info = await rqCli(["info", "--url", url, name, other]);
    const lines = info.split("\n");
    const workerLine = lines.find((l) => l.startsWith(worker.name));
    assert.ok(workerLine, `rq info ${name} ${other} does not list the rqts worker ${worker.name}:\n${info}`);
    assert.match(workerLine, /: idle /, `rq info shows the rqts worker as idle:\n${info}`);
    assert.ok(workerLine.trimEnd().endsWith(` ${name}`), `rq info shows the worker's queue ${name}:\n${info}`);
    assert.ok(
      lines.some((l) => l.startsWith(name + " ") && /\s0$/.test(l.trimEnd())),
      `rq info shows queue ${name} with 0 jobs:\n${info}`,
    );
    assert.ok(
      lines.some((l) => l.startsWith(other + " ") && /\s2$/.test(l.trimEnd())),
      `rq info shows queue ${other} with 2 jobs:\n${info}`,
    );
    assert.match(info, /1 workers, 2 queues/, `rq info counts the rqts worker on those queues:\n${info}`);

    // Without queue names, rq info lists workers from rq:workers.
    const all = await rqCli(["info", "--url", url, "--raw"]);
    const rawLine = all.split("\n").find((l) => l.startsWith(`worker ${worker.name} `));
    assert.ok(rawLine, `rq info --raw does not list the rqts worker ${worker.name}:\n${all}`);
    assert.match(rawLine, new RegExp(` idle ${name}$`), `rq info --raw: state idle and queue ${name}:\n${all}`);
    assert.ok(all.includes(`queue ${other} 2`), `rq info --raw lists queue ${other} with 2 jobs:\n${all}`);

    const w = await py<Record<string, unknown> | null>(
      `
mine = [w for w in Worker.all(connection=r, serializer=JSONSerializer) if w.name == A["worker"]]
w = mine[0] if mine else None
out(None if w is None else {
    "state": w.get_state(),
    "queues": w.queue_names(),
    "successful_job_count": w.successful_job_count,
    "failed_job_count": w.failed_job_count,
    "current_job": w.get_current_job_id(),
    "heartbeat": us(w.last_heartbeat),
    "by_queue": [x.name for x in Worker.all(queue=Queue(A["queue"], connection=r))],
    "key_ttl": r.ttl(w.key),
})
`,
      { worker: worker.name, queue: name },
    );
    assert.ok(w, `Python's Worker.all() does not list the running rqts worker ${worker.name}`);
    same(w.state, "idle", "Python's worker.get_state()");
    same(w.queues, [name], "Python's worker.queue_names()");
    same(w.successful_job_count, 1, "Python reads successful_job_count of the running worker");
    same(w.failed_job_count, 0, "Python reads failed_job_count of the running worker");
    same(w.current_job, null, "an idle worker has no current job");
    same(w.by_queue, [worker.name], "Python's Worker.all(queue=...) (rq:workers:<q>)");
    assert.ok(w.heartbeat, "last_heartbeat parses in Python");
    assert.ok((w.key_ttl as number) > 60, `an idle worker key lives worker_ttl (420 + 60 s); TTL ${w.key_ttl}`);

    worker.stop();
    await running;
    running = undefined;

    const after = await rqCli(["info", "--url", url, name, other]);
    assert.ok(!after.includes(worker.name), `rq info still lists the stopped rqts worker:\n${after}`);
    assert.match(after, /0 workers, 2 queues/, `rq info after stop:\n${after}`);
    const afterAll = await rqCli(["info", "--url", url, "--raw"]);
    assert.ok(!afterAll.includes(worker.name), `rq info --raw still lists the stopped rqts worker:\n${afterAll}`);
  } finally {
    if (running) {
      writeFileSync(gate, "");
      worker.stop();
      await running.catch(() => {});
    }
    rmSync(dir, { recursive: true, force: true });
    await cleanup(conn, name, [worker.key]);
    await conn.close();
  }
}, { timeout: 60_000 });

// ---------------------------------------------------------------------------------------------------------------
// 3. A Python worker and an rqts worker drain one queue together

const PY_TASKS = `
import os, time

def mark(path, label):
    with open(path, "a") as f:
        f.write(label + "\\n")
    return label

def gated_mark(path, label, gate):
    while not os.path.exists(gate):
        time.sleep(0.02)
    return mark(path, label)
`;

test(
  "worker interop: a Python RQ worker and an rqts worker drain one queue together: each takes jobs, each job runs once",
  async () => {
    const name = uniqueName("wi-both");
    const url = await redisUrl();
    const conn = Connection.fromUrl(url);
    const dir = mkdtempSync(join(tmpdir(), "rqts-both-"));
    const marks = join(dir, "marks.txt");
    const gate = join(dir, "gate");
    const N = 40;
    const worker = rqtsWorker(url, [name]);
    let pythonWorkerKeys: string[] = [];
    try {
      writeFileSync(join(dir, "interop_tasks.py"), PY_TASKS);
      writeFileSync(marks, "");
      const ids = Array.from({ length: N }, (_, i) => `${name}-${String(i).padStart(2, "0")}`);
      const label = (i: number) => `L${String(i).padStart(2, "0")}`;
      const isPython = (i: number) => i % 2 === 0;
      await py<null>(
        `
q = Queue(A["queue"], connection=r, serializer=JSONSerializer)
for n, i in enumerate(A["ids"]):
    if n == 0:
        q.enqueue("interop_tasks.gated_mark", A["marks"], "L00", A["gate"], job_id=i)
        continue
    func = "interop_tasks.mark" if n % 2 == 0 else A["ts"]
    q.enqueue(func, A["marks"], "L%02d" % n, job_id=i)
out(None)
`,
        { queue: name, ids, ts: `${JOBS}#mark`, marks, gate },
      );
      same(await conn.call<number>(["LLEN", `rq:queue:${name}`]), N, "setup: 40 jobs queued");

      // The Python worker first (it starts slowly) takes the first job, which runs until the test creates `gate`; the
      // rqts worker joins meanwhile, and `gate` opens once it has run a job: so both take jobs from the one queue.
      const pyRun = rqCli(
        ["worker", "--burst", "--url", url, "--serializer", "rq.serializers.JSONSerializer", "--path", dir, name],
        { cwd: dir, timeoutMs: 90_000 },
      );
      let pyDone = false;
      const pyResult = pyRun.finally(() => (pyDone = true));
      await until(
        async () => pyDone || (await conn.call<string | null>(["HGET", `rq:job:${ids[0]}`, "status"])) === "started",
        "the Python worker started the first job",
        30_000,
      );
      pythonWorkerKeys = await conn.call<string[]>(["SMEMBERS", `rq:workers:${name}`]);
      let rqtsDone = false;
      const rqtsRun = worker.work({ burst: true }).finally(() => (rqtsDone = true));
      await until(() => Promise.resolve(rqtsDone || worker.jobsDone > 0), "the rqts worker ran a job", 30_000);
      writeFileSync(gate, "");
      const [pyLog] = await Promise.all([pyResult, rqtsRun]);
      const context = `\n--- python worker log ---\n${pyLog}`;

      const zset = (kind: string) => conn.call<string[]>(["ZRANGE", `rq:${kind}:${name}`, "0", "-1"]);
      const finished = new Set(await zset("finished"));
      const failed = new Set(await zset("failed"));
      same(await conn.call<number>(["LLEN", `rq:queue:${name}`]), 0, `no job is left queued${context}`);
      same(await zset("wip"), [], `no job is left in the started registry${context}`);
      same(finished.size + failed.size, N, `finished (${finished.size}) + failed (${failed.size}) = ${N}${context}`);

      const jobs = await Job.fetchMany(ids, { connection: conn });
      const lines = readFileSync(marks, "utf8").split("\n").filter((l) => l !== "");
      const times = new Map<string, number>();
      for (const l of lines) times.set(l, (times.get(l) ?? 0) + 1);
      const dupes = [...times].filter(([, n]) => n > 1);
      same(dupes, [], `a label appears more than once in the marks file: some job ran twice${context}`);

      const taken = new Map<string, number>();
      for (let i = 0; i < N; i++) {
        const id = ids[i], job = jobs[i];
        assert.ok(job, `job ${id} vanished`);
        const inFinished = finished.has(id), inFailed = failed.has(id);
        assert.ok(
          inFinished !== inFailed,
          `job ${id} must be in exactly one of finished/failed (finished ${inFinished})`,
        );
        const status = await job.getStatus();
        same(status, inFinished ? "finished" : "failed", `status of ${id} matches its registry`);
        const by = job.workerName ?? "";
        taken.set(by, (taken.get(by) ?? 0) + 1);
        const byRqts = by === worker.name;
        const mine = isPython(i) ? !byRqts : byRqts; // the worker that can run this function took it
        same(inFinished, mine, `job ${id} (${isPython(i) ? "Python" : "TS"} function, taken by ${by}) outcome`);
        if (inFinished) {
          same(await job.result, label(i), `return value of ${id}`);
          same(times.get(label(i)), 1, `finished job ${id}'s label ${label(i)} appears exactly once in the marks file`);
        } else {
          same(times.get(label(i)), undefined, `failed job ${id} must not have written its label`);
          const exc = (await job.excInfo) ?? "";
          if (byRqts) assert.match(exc, /looks like a Python dotted name/, `rqts's failure text for ${id}`);
          else assert.ok(exc.includes("Traceback"), `the Python worker's failure for ${id} is a traceback; got ${exc}`);
        }
      }
      same(pythonWorkerKeys.length, 1, "one Python worker registered on the queue");
      const pyName = pythonWorkerKeys[0].slice("rq:worker:".length);
      const rqtsTook = taken.get(worker.name) ?? 0;
      const pyTook = taken.get(pyName) ?? 0;
      console.log(
        `  drained ${N} jobs: rqts worker took ${rqtsTook}, Python worker took ${pyTook} ` +
          `(${finished.size} finished, ${failed.size} failed)`,
      );
      same(
        [...taken.keys()].sort(),
        [worker.name, pyName].sort(),
        `the two workers, and only they, took jobs${context}`,
      );
      assert.ok(rqtsTook >= 1 && pyTook >= 1, `each worker took jobs (rqts ${rqtsTook}, Python ${pyTook})${context}`);
      same(rqtsTook + pyTook, N, "every job taken by one of the two");
      // Each worker counted the jobs it finished (its successful_job_count), as the jobs' worker_name says.
      const finishedBy = (w: string) => ids.filter((id, i) => finished.has(id) && jobs[i]?.workerName === w).length;
      for (const [label, key, w] of [["rqts", worker.key, worker.name], ["Python", pythonWorkerKeys[0], pyName]]) {
        const counted = Number(await conn.call<string | null>(["HGET", key, "successful_job_count"]) ?? 0);
        same(counted, finishedBy(w), `the ${label} worker's successful_job_count`);
      }
      same(lines.length, finished.size, "one mark per finished job");
    } finally {
      rmSync(dir, { recursive: true, force: true });
      await cleanup(conn, name, [worker.key, ...pythonWorkerKeys]);
      await conn.close();
    }
  },
  { timeout: 120_000 },
);

// ---------------------------------------------------------------------------------------------------------------
// 4. The abandoned-job rule across the two

test("worker interop: Python's `rq info` moves a job a dead rqts worker left in rq:wip to failed", async () => {
  const name = uniqueName("wi-aban-py");
  const url = await redisUrl();
  const q = new Queue(name, { connection: url });
  const conn = q.connection;
  const deadWorker = `${name}-deadrqts`;
  try {
    const job = await q.enqueueCall(`${JOBS}#add`, { args: [1, 2], jobId: `${name}-j` });
    // What an rqts worker leaves when it dies mid-job: the job out of its queue, started, in rq:wip with a
    // heartbeat deadline (here already past), and no live worker.
    const now = Math.floor(Date.now() / 1000);
    const stamp = new Date().toISOString().replace("Z", "000Z");
    await conn.transaction([
      ["LREM", `rq:queue:${name}`, "0", job.id],
      ["HSET", job.key, "status", "started", "started_at", stamp, "last_heartbeat", stamp, "worker_name", deadWorker],
      ["PERSIST", job.key],
      ["ZADD", `rq:wip:${name}`, String(now - 10), job.id],
    ]);
    same(await job.getStatus(), "started", "setup: the job is started");

    const info = await rqCli(["info", "--url", url, name]);

    const fetched = await Job.fetch(job.id, { connection: conn });
    same(await fetched.getStatus(), "failed", `rqts reads the status after rq info's cleanup:\n${info}`);
    const exc = await fetched.excInfo;
    assert.ok(exc?.includes("Moved to FailedJobRegistry"), `rqts reads Python's exc_info; got ${exc}`);
    same(await fetched.latestResult(), null, "the abandoned-job rule writes no result entry");
    assert.ok(await q.failedJobRegistry.contains(job), "the job is in the failed registry (rqts)");
    same(await q.startedJobRegistry.getJobIds(), [], "the started registry is empty");
    const ttl = await conn.call<number>(["TTL", job.key]);
    assert.ok(ttl > 500 && ttl <= 31536000, `the moved job expires after the failure TTL; TTL ${ttl}`);
  } finally {
    await cleanup(conn, name);
    await q.close();
  }
}, { timeout: 60_000 });

test("worker interop: rqts worker maintenance moves a job a dead Python worker left in rq:wip to failed", async () => {
  const name = uniqueName("wi-aban-ts");
  const url = await redisUrl();
  const conn = Connection.fromUrl(url);
  const worker = rqtsWorker(url, [name]);
  const deadWorker = `${name}-deadpy`;
  try {
    // A Python worker takes a job, marks it started, and dies without a word (its key gone, e.g. expired).
    const setup = await py<{ status: string; wip: string[] }>(
      `
q = Queue(A["queue"], connection=r, serializer=JSONSerializer)
q.enqueue(A["jobs"] + "#add", 1, 2, job_id=A["id"])
w = Worker([q], connection=r, name=A["dead"], serializer=JSONSerializer)
w.register_birth()
job, _ = Queue.dequeue_any([q], None, connection=r, serializer=JSONSerializer)
w.prepare_job_execution(job)
r.delete(w.key)
reg = StartedJobRegistry(q.name, connection=r, serializer=JSONSerializer)
r.zadd(reg.key, {job.id: int(time.time()) - 10})
r.delete("rq:clean_registries:" + q.name)
out({"status": job.get_status(), "wip": [m.decode() for m in r.zrange(reg.key, 0, -1)]})
`,
      { queue: name, id: `${name}-j`, dead: deadWorker, jobs: JOBS },
    );
    same(
      setup,
      { status: "started", wip: [`${name}-j`] },
      "setup: the dead Python worker left the job started in rq:wip",
    );
  } catch (error) {
    await cleanup(conn, name, [`rq:worker:${deadWorker}`]);
    await conn.close();
    throw error;
  }
  try {
    await worker.work({ burst: true });

    const res = await py<
      { status: string; exc_info: string | null; failed: string[]; wip: string[]; workers: string[] }
    >(
      `
q = Queue(A["queue"], connection=r, serializer=JSONSerializer)
j = Job.fetch(A["id"], connection=r, serializer=JSONSerializer)
out({
    "status": j.get_status(),
    "exc_info": j.exc_info,
    "failed": q.failed_job_registry.get_job_ids(),
    "wip": [m.decode() for m in r.zrange("rq:wip:" + q.name, 0, -1)],
    "workers": [m.decode() for m in r.smembers("rq:workers:" + q.name)],
})
`,
      { queue: name, id: `${name}-j` },
    );
    same(res.status, "failed", "Python's get_status() after the rqts worker's maintenance");
    assert.ok(
      res.exc_info?.includes("Moved to FailedJobRegistry"),
      `Python's job.exc_info should say "Moved to FailedJobRegistry"; got ${res.exc_info}`,
    );
    same(res.failed, [`${name}-j`], "Python's failed_job_registry");
    same(res.wip, [], "rq:wip is empty");
    same(res.workers, [], "maintenance dropped the dead Python worker (and the finished rqts one) from rq:workers:<q>");
    same(
      await conn.call<number>(["SISMEMBER", "rq:workers", `rq:worker:${deadWorker}`]),
      0,
      "maintenance dropped the dead Python worker from rq:workers",
    );
    const job = await Job.fetch(`${name}-j`, { connection: conn });
    same(await job.getStatus(), "failed", "rqts's getStatus()");
    assert.ok((await job.excInfo)?.includes("Moved to FailedJobRegistry"), "rqts's excInfo");
  } finally {
    await cleanup(conn, name, [worker.key, `rq:worker:${deadWorker}`]);
    await conn.close();
  }
}, { timeout: 60_000 });
