// Issue 19 items 1 and 2: rqts beside Python RQ 2.x (the unmodified RQ 2.10 of ../shared/peers, JSONSerializer) on one
// Redis. Jobs cross both ways with every option; RQ 2.10's `rq info` reads rqts workers; 2.10 and rqts workers drain
// one queue together, each job taken once; and after SIGKILLs every job ends finished, failed as abandoned, or queued,
// each side's maintenance reading the other's rq:wip entries (2.x writes `<job_id>:<execution_id>`).

import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { Connection, Job, Queue, StartedJobRegistry, Worker } from "../../mod.ts";
import { redisUrl, test, uniqueName } from "../_harness.ts";
import { childrenOf, cli } from "../_process.ts";
import { RQ2_PATH } from "./_rq2.ts";

// ---------------------------------------------------------------------------------------------------------------
// Helpers

/** Where RQ 2.10 lives (unmodified upstream; see ../shared/peers/README.md). */
const RQ2 = RQ2_PATH ?? "/work/shared/peers/rq-2.10";
const JOBS = "./test/fixtures/jobs.ts";

const PRELUDE = `
import calendar, json, os, sys, time
import rq
assert rq.__version__.startswith("2."), "expected RQ 2.x on PYTHONPATH, got " + rq.__version__
from redis import Redis
from rq import Callback, Queue, Worker
from rq.job import Job
from rq.registry import StartedJobRegistry
from rq.serializers import JSONSerializer

r = Redis.from_url(os.environ["RQTS_URL"])
A = json.loads(os.environ["RQTS_ARGS"])

def us(d):
    return None if d is None else calendar.timegm(d.utctimetuple()) * 1000000 + d.microsecond

def out(value):
    sys.stdout.write(json.dumps(value))
`;

/** Python job functions for RQ 2.10 workers (written to a temporary folder on their --path). */
const PY_TASKS = `
import json, os, time
from rq import get_current_job

def add(x, y):
    return x + y

def fail(message):
    raise ValueError(message)

def meta_echo(key):
    job = get_current_job()
    job.meta["seen_by"] = "rq2"
    job.save_meta()
    return job.meta.get(key)

def on_success(job, connection, result, *args, **kwargs):
    connection.rpush("rq2cb:" + job.id, "success " + json.dumps(result))

def on_failure(job, connection, typ, value, tb):
    connection.rpush("rq2cb:" + job.id, "failure " + typ.__name__)

def mark(path, label):
    with open(path, "a") as f:
        f.write(label + "\\n")
    return label

def mark_then_sleep(path, label, seconds):
    mark(path, label)
    time.sleep(seconds)
    return label

def gated(gate):
    while not os.path.exists(gate):
        time.sleep(0.02)
    return "opened"
`;

function pyEnv(extraPath?: string): Record<string, string | undefined> {
  if (!existsSync(join(RQ2, "rq", "__init__.py"))) {
    throw new Error(`RQ 2.x not found at ${RQ2}: set RQTS_RQ2_PATH to a folder holding the rq package (see README)`);
  }
  return { ...process.env, PYTHONPATH: extraPath ? `${RQ2}:${extraPath}` : RQ2, COLUMNS: "120" };
}

/** Runs /usr/bin/python3 with RQ 2.10 first on its path; resolves with stdout (+ stderr with `merge`). */
function runPy2(args: string[], opts: { env?: Record<string, string>; path?: string; merge?: boolean; ms?: number }) {
  return new Promise<string>((resolve, reject) => {
    const child = spawn("/usr/bin/python3", args, {
      env: { ...pyEnv(opts.path), ...opts.env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "", err = "";
    child.stdout.on("data", (d: unknown) => (out += String(d)));
    child.stderr.on("data", (d: unknown) => (opts.merge ? (out += String(d)) : (err += String(d))));
    const timer = setTimeout(() => child.kill("SIGKILL"), opts.ms ?? 45_000);
    child.on("close", (code: number | null, signal: string | null) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else reject(new Error(`python3 (RQ 2.10) ${args.slice(0, 3).join(" ")} exited ${code ?? signal}:\n${err}${out}`));
    });
  });
}

/** Runs {@link PRELUDE} + `body` under RQ 2.10 and parses what it printed with `out()`. */
async function py2<T>(body: string, args: unknown = null, path?: string): Promise<T> {
  const output = await runPy2(["-c", PRELUDE + body], {
    env: { RQTS_URL: await redisUrl(), RQTS_ARGS: JSON.stringify(args) },
    path,
  });
  try {
    return JSON.parse(output) as T;
  } catch {
    throw new Error(`The Python script did not print JSON; it printed:\n${output}`);
  }
}

/** RQ 2.10's CLI: `python3 -m rq.cli <args>`. */
function rq2Cli(args: string[], path?: string, ms = 90_000): Promise<string> {
  return runPy2(["-m", "rq.cli", ...args], { path, merge: true, ms });
}

/** A long-running RQ 2.10 worker process (JSONSerializer), to watch and to kill. */
function rq2Worker(url: string, queue: string, name: string, path: string, burst: boolean, simple = false) {
  const child: ChildProcess = spawn("/usr/bin/python3", [
    "-m",
    "rq.cli",
    "worker",
    ...(burst ? ["--burst"] : []),
    ...(simple ? ["--worker-class", "rq.worker.SimpleWorker"] : []),
    "--url",
    url,
    "--serializer",
    "rq.serializers.JSONSerializer",
    "--path",
    path,
    "--name",
    name,
    queue,
  ], { env: pyEnv(path), stdio: ["ignore", "pipe", "pipe"], cwd: path });
  let out = "";
  child.stdout!.on("data", (d: unknown) => (out += String(d)));
  child.stderr!.on("data", (d: unknown) => (out += String(d)));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  let gone = false;
  void exited.then(() => (gone = true));
  return {
    pid: child.pid!,
    exited,
    output: () => out,
    kill(sig: "SIGKILL" | "SIGTERM" = "SIGKILL") {
      if (!gone) process.kill(child.pid!, sig);
    },
    get gone() {
      return gone;
    },
  };
}

function same(actual: unknown, expected: unknown, what?: string): void {
  try {
    assert.deepStrictEqual(actual, expected);
  } catch (error) {
    if (what && error instanceof assert.AssertionError) error.message = `${what}\n${error.message}`;
    throw error;
  }
}

async function until(check: () => Promise<boolean>, what: string, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`Timed out after ${ms} ms waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Deletes every key that mentions `name`, and its entries in rq:queues / rq:workers. */
async function cleanup(conn: Connection, name: string): Promise<void> {
  let cursor = "0";
  do {
    const [next, keys] = await conn.call<[string, string[]]>(["SCAN", cursor, "MATCH", `*${name}*`, "COUNT", "1000"]);
    if (keys.length) await conn.call(["DEL", ...keys]);
    cursor = String(next);
  } while (cursor !== "0");
  for (const set of ["rq:queues", "rq:workers", "rqts:workers"]) {
    const mine = (await conn.call<string[]>(["SMEMBERS", set])).filter((k) => k.includes(name));
    if (mine.length) await conn.call(["SREM", set, ...mine]);
  }
}

function tasksDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "rqts-rq2-"));
  writeFileSync(join(dir, "rq2_tasks.py"), PY_TASKS);
  return dir;
}

// ---------------------------------------------------------------------------------------------------------------
// 1. rqts enqueues, an RQ 2.10 worker runs, rqts reads the outcome

test(
  "rq2 interop: an RQ 2.10 worker runs jobs rqts enqueued (options, dependency, callbacks, failure, meta)",
  async () => {
    const name = uniqueName("r2-run");
    const url = await redisUrl();
    const q = new Queue(name, { connection: url });
    const conn = q.connection;
    const dir = tasksDir();
    try {
      const add = await q.enqueueCall("rq2_tasks.add", {
        args: [3, 4],
        jobId: `${name}-add`,
        resultTtl: 900,
        description: "three plus four",
        onSuccess: "rq2_tasks.on_success",
        onFailure: "rq2_tasks.on_failure",
      });
      const fail = await q.enqueueCall("rq2_tasks.fail", {
        args: ["kaput"],
        jobId: `${name}-fail`,
        failureTtl: 3600,
        onFailure: "rq2_tasks.on_failure",
      });
      const meta = await q.enqueueCall("rq2_tasks.meta_echo", {
        args: ["given"],
        jobId: `${name}-meta`,
        meta: { given: "from rqts" },
      });
      const dep = await q.enqueueCall("rq2_tasks.add", { args: [10, 20], jobId: `${name}-dep`, dependsOn: add });
      const onFail = await q.enqueueCall("rq2_tasks.add", { args: [1, 1], jobId: `${name}-dep2`, dependsOn: fail });
      same(await dep.getStatus(), "deferred", "setup: the dependent waits");

      const log = await rq2Cli(
        ["worker", "--burst", "--url", url, "--serializer", "rq.serializers.JSONSerializer", "--path", dir, name],
        dir,
      );
      const ctx = `\n--- RQ 2.10 worker log ---\n${log}`;

      const fetched = await Job.fetchMany([add.id, fail.id, meta.id, dep.id, onFail.id], { connection: conn });
      const [a, f, m, d, d2] = fetched.map((j, i) => {
        assert.ok(j, `job ${i} vanished${ctx}`);
        return j;
      });
      same(await a.getStatus(), "finished", `add's status${ctx}`);
      same(await a.result, 7, "add's return value, read by rqts from RQ 2.10's result entry");
      const latest = await a.latestResult();
      same(latest?.type, "successful", "add's latest result type");
      same(latest?.returnValue, 7, "add's latest result value");
      same(a.description, "three plus four", "description kept");
      same(await d.getStatus(), "finished", `the dependent ran after its parent${ctx}`);
      same(await d.result, 30, "the dependent's return value");
      same(await f.getStatus(), "failed", "fail's status");
      const exc = (await f.excInfo) ?? "";
      assert.match(exc, /ValueError: kaput/, `rqts reads RQ 2.10's traceback; got ${exc}`);
      same((await f.latestResult())?.type, "failed", "fail's latest result type");
      same(await d2.getStatus(), "deferred", "a job depending on a failed job stays deferred, as RQ");
      same(await m.getStatus(), "finished", "meta job's status");
      same(await m.result, "from rqts", "the 2.10 worker read the meta rqts wrote");
      await m.refresh();
      same(m.meta, { given: "from rqts", seen_by: "rq2" }, "rqts reads meta the 2.10 job saved");
      same(await conn.call(["LRANGE", `rq2cb:${a.id}`, "0", "-1"]), ["success 7"], "2.10 ran rqts' on_success");
      same(await conn.call(["LRANGE", `rq2cb:${f.id}`, "0", "-1"]), ["failure ValueError"], "2.10 ran on_failure");
      same(await q.finishedJobRegistry.getJobIds().then((x) => x.sort()), [a.id, m.id, d.id].sort(), "finished");
      same(await q.failedJobRegistry.getJobIds(), [f.id], "failed registry");
      same(await q.startedJobRegistry.getJobIds(), [], "nothing left started");
      const ttl = await conn.call<number>(["TTL", a.key]);
      assert.ok(ttl > 500 && ttl <= 900, `the 2.10 worker kept rqts' resultTtl 900; TTL ${ttl}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
      await cleanup(conn, name);
      await q.close();
    }
  },
  { timeout: 120_000 },
);

// ---------------------------------------------------------------------------------------------------------------
// 2. RQ 2.10 enqueues, an rqts worker runs, RQ 2.10 reads the outcome

test("rq2 interop: an rqts worker runs jobs RQ 2.10 enqueued; RQ 2.10 reads every outcome", async () => {
  const name = uniqueName("r2-back");
  const url = await redisUrl();
  const conn = Connection.fromUrl(url);
  const worker = new Worker([name], { connection: url, logLevel: "error", handleSignals: false });
  try {
    const ids = await py2<Record<string, string>>(
      `
q = Queue(A["queue"], connection=r, serializer=JSONSerializer)
f = A["jobs"]
a = q.enqueue(f + "#add", 3, 4, job_id=A["queue"] + "-add", result_ttl=900,
              on_success=Callback(f + "#recordSuccess", timeout=7))
e = q.enqueue(f + "#echo", 1, "two", job_id=A["queue"] + "-echo", k="v")
x = q.enqueue(f + "#fail", "kaput", job_id=A["queue"] + "-fail",
              on_failure=Callback(f + "#recordFailure", timeout=9))
d = q.enqueue(f + "#add", 10, 20, job_id=A["queue"] + "-dep", depends_on=a, meta={"from": "rq2"})
out({"add": a.id, "echo": e.id, "fail": x.id, "dep": d.id,
     "timeouts": [r.hget(a.key, "success_callback_timeout").decode(), r.hget(x.key, "failure_callback_timeout").decode()]})
`,
      { queue: name, jobs: JOBS },
    );
    same(ids.timeouts, ["7", "9"], "setup: RQ 2.10 wrote the callbacks' timeouts");

    await worker.work({ burst: true });

    const res = await py2<Record<string, Record<string, unknown>>>(
      `
q = Queue(A["queue"], connection=r, serializer=JSONSerializer)
jobs = {}
for k in ["add", "echo", "fail", "dep"]:
    j = Job.fetch(A["ids"][k], connection=r, serializer=JSONSerializer)
    latest = j.latest_result()
    jobs[k] = {
        "status": j.get_status(),
        "return_value": j.return_value(),
        "type": None if latest is None else latest.type.name,
        "exc": None if latest is None or latest.exc_string is None else latest.exc_string.splitlines()[0],
        "worker": j.worker_name,
        "meta": j.meta,
        "timed": j.started_at is not None and j.ended_at is not None and j.ended_at >= j.started_at,
        "cb_timeouts": [j.success_callback_timeout, j.failure_callback_timeout],
        "results": len(j.results()),
    }
jobs["registries"] = {
    "finished": sorted(q.finished_job_registry.get_job_ids()),
    "failed": q.failed_job_registry.get_job_ids(),
    "started": q.started_job_registry.get_job_ids(),
    "queued": q.job_ids,
}
out(jobs)
`,
      { queue: name, ids },
    );
    const dump = `\n--- RQ 2.10's view ---\n${JSON.stringify(res, null, 1)}`;
    same(res.add.status, "finished", `add${dump}`);
    same(res.add.return_value, 7, `add's return value in 2.10${dump}`);
    same(res.add.type, "SUCCESSFUL", "add's latest result type");
    same(res.add.worker, worker.name, "worker_name");
    same(res.add.timed, true, "started_at/ended_at parse in 2.10");
    same(res.add.results, 1, "one entry in 2.10's Job.results()");
    same((res.add.meta as Record<string, unknown>).callback, { result: 7 }, "rqts ran 2.10's on_success Callback");
    same(
      res.add.cb_timeouts,
      [7, 60],
      "the callback's timeout survives rqts' run (2.10 reads it back; 60 is its default)",
    );
    same(res.echo.return_value, [1, "two", { k: "v" }], "2.10 kwargs reach the TS function as a last object");
    same(res.fail.status, "failed", "fail");
    same(res.fail.type, "FAILED", "fail's result type");
    assert.match(String(res.fail.exc), /kaput/, `2.10 reads rqts' failure; got ${res.fail.exc}`);
    same((res.fail.meta as Record<string, unknown>).failure, "kaput", "rqts ran 2.10's on_failure Callback");
    same(res.dep.status, "finished", "the 2.10 dependent ran after its parent on rqts");
    same(res.dep.return_value, 30, "dependent's value");
    same(res.dep.meta, { from: "rq2" }, "meta 2.10 wrote");
    same(res.registries, {
      finished: [ids.add, ids.dep, ids.echo].sort(),
      failed: [ids.fail],
      started: [],
      queued: [],
    }, "2.10's registries after the rqts run");
  } finally {
    await cleanup(conn, name);
    await conn.close();
  }
}, { timeout: 120_000 });

// ---------------------------------------------------------------------------------------------------------------
// 3. `rq info` (2.10) and RQ 2.10's registries read a busy rqts worker; rqts reads a busy 2.10 worker's entry

test(
  "rq2 interop: RQ 2.10's `rq info` shows an rqts worker busy with its job; rqts leaves a live 2.10 job alone",
  async () => {
    const name = uniqueName("r2-info");
    const url = await redisUrl();
    const conn = Connection.fromUrl(url);
    const dir = tasksDir();
    const gate = join(dir, "gate");
    const worker = new Worker([name], { connection: url, logLevel: "error", handleSignals: false });
    let running: Promise<void> | undefined;
    const pyName = `${name}-py`.replaceAll("-", "");
    let pyWorker: ReturnType<typeof rq2Worker> | undefined;
    try {
      running = worker.work();
      const q = new Queue(name, { connection: conn });
      const job = await q.enqueueCall(`${JOBS}#markUntilGate`, {
        args: [join(dir, "runs"), "j", gate, join(dir, "ended")],
        jobId: `${name}-ts`,
      });
      await until(async () => (await job.getStatus()) === "started", "the rqts worker started its job");
      const info = await rq2Cli(["info", "--url", url, name]);
      const line = info.split("\n").find((l) => l.startsWith(worker.name));
      assert.ok(line, `RQ 2.10's rq info lists the rqts worker:\n${info}`);
      assert.match(line, /: busy /, `RQ 2.10's rq info shows it busy:\n${info}`);
      assert.match(info, /1 workers, 1 queues/, `rq info counts:\n${info}`);
      const view = await py2<Record<string, unknown>>(
        `
w = [w for w in Worker.all(connection=r, serializer=JSONSerializer) if w.name == A["worker"]][0]
reg = StartedJobRegistry(A["queue"], connection=r, serializer=JSONSerializer)
out({"state": w.get_state(), "current": w.get_current_job_id(), "started": reg.get_job_ids(),
     "in": A["job"] in reg, "queues": w.queue_names()})
`,
        { worker: worker.name, queue: name, job: job.id },
      );
      same(
        view,
        { state: "busy", current: job.id, started: [job.id], in: true, queues: [name] },
        "RQ 2.10 reads the busy rqts worker and its rq:wip entry (rqts writes the bare job id)",
      );

      // A live RQ 2.10 worker's job: its rq:wip entry is `<job_id>:<execution_id>`. rqts reads the job id from it, and
      // its maintenance leaves the job running.
      writeFileSync(gate, "");
      await until(async () => (await job.getStatus()) === "finished", "the rqts job finished");
      worker.stop();
      await running;
      running = undefined;
      const pyJob = await q.enqueueCall("rq2_tasks.gated", { args: [gate + "2"], jobId: `${name}-py` });
      pyWorker = rq2Worker(url, name, pyName, dir, true);
      await until(async () => (await pyJob.getStatus()) === "started", "the 2.10 worker started its job", 30_000);
      const entries = await conn.call<string[]>(["ZRANGE", `rq:wip:${name}`, "0", "-1"]);
      same(entries.length, 1, "one rq:wip entry");
      assert.match(entries[0], new RegExp(`^${pyJob.id}:[0-9a-f]{32}$`), "RQ 2.10 writes <job_id>:<execution_id>");
      const reg = new StartedJobRegistry(name, { connection: conn });
      same(await reg.getJobIds(), [pyJob.id], "rqts reads the job id of a 2.x entry");
      same(await reg.contains(pyJob.id), true, "contains() finds a 2.x entry by job id");
      same(await q.startedJobRegistry.count(), 1, "count");
      await conn.call(["DEL", `rq:clean_registries:${name}`]);
      const tsMaint = new Worker([name], { connection: url, logLevel: "error", handleSignals: false });
      await tsMaint.work({ burst: true }); // runs maintenance on the queue
      same(await pyJob.getStatus(), "started", "rqts maintenance leaves the live 2.10 worker's job running");
      same(await reg.getJobIds(), [pyJob.id], "and its rq:wip entry");
      writeFileSync(gate + "2", "");
      await pyWorker.exited;
      same(await pyJob.getStatus(), "finished", `the 2.10 job finished\n${pyWorker.output()}`);
      same(await conn.call(["ZCARD", `rq:wip:${name}`]), 0, "2.10 removed its entry");
    } finally {
      writeFileSync(gate, "");
      writeFileSync(gate + "2", "");
      if (running) {
        worker.stop();
        await running.catch(() => {});
      }
      pyWorker?.kill();
      await pyWorker?.exited;
      rmSync(dir, { recursive: true, force: true });
      await cleanup(conn, name);
      await conn.close();
    }
  },
  { timeout: 120_000 },
);

// ---------------------------------------------------------------------------------------------------------------
// 4. Mixed workers: 2,000 jobs drained together, then SIGKILL one of each mid-job

test("rq2 interop: RQ 2.10 and rqts workers drain 2,000 jobs from one queue, each job taken once", async () => {
  const name = uniqueName("r2-mix");
  const url = await redisUrl();
  const conn = Connection.fromUrl(url);
  const dir = tasksDir();
  const marks = join(dir, "marks.txt");
  writeFileSync(marks, "");
  const N = 2000;
  // One forking 2.10 worker (RQ's default) and one SimpleWorker (no fork per job, so it keeps pace with rqts).
  const pys = [0, 1].map((i) => rq2Worker(url, name, `${name}py${i}`.replaceAll("-", ""), dir, true, i === 1));
  const ts = [0, 1].map(() => new Worker([name], { connection: url, logLevel: "error", handleSignals: false }));
  try {
    // Even jobs are Python functions, odd ones TypeScript: each runs where it can and fails, unrun, where it cannot;
    // either way one worker takes it once.
    const q = new Queue(name, { connection: conn });
    const ids: string[] = [];
    for (let start = 0; start < N; start += 500) {
      const specs = Array.from({ length: Math.min(500, N - start) }, (_, k) => {
        const i = start + k, id = `${name}-${i}`;
        ids.push(id);
        return Queue.prepareData(i % 2 ? `${JOBS}#mark` : "rq2_tasks.mark", { args: [marks, id], jobId: id });
      });
      await q.enqueueMany(specs);
    }
    // The 2.10 workers start slowly: the rqts ones join once both have taken jobs.
    const pyKeys = pys.map((_, i) => `rq:worker:${name}py${i}`.replaceAll("-", ""));
    await until(
      async () => {
        const counts = await Promise.all(
          pyKeys.map((k) => conn.call<string | null>(["HGET", k, "successful_job_count"])),
        );
        return counts.every((c) => Number(c ?? 0) >= 5) || pys.some((p) => p.gone);
      },
      "both 2.10 workers have run jobs",
      60_000,
    );
    await Promise.all([...ts.map((w) => w.work({ burst: true })), ...pys.map((p) => p.exited)]);
    const ctx = () => `\n--- 2.10 logs (tails) ---\n${pys.map((p) => p.output().slice(-1500)).join("\n---\n")}`;
    same(await conn.call(["LLEN", `rq:queue:${name}`]), 0, `nothing left queued${ctx()}`);
    same(await conn.call(["ZCARD", `rq:wip:${name}`]), 0, `nothing left started${ctx()}`);
    const finished = new Set(await conn.call<string[]>(["ZRANGE", `rq:finished:${name}`, "0", "-1"]));
    const failed = new Set(await conn.call<string[]>(["ZRANGE", `rq:failed:${name}`, "0", "-1"]));
    const lines = readFileSync(marks, "utf8").split("\n").filter(Boolean);
    const seen = new Map<string, number>();
    for (const l of lines) seen.set(l, (seen.get(l) ?? 0) + 1);
    same([...seen].filter(([, n]) => n > 1), [], "no job ran twice");
    const jobs = await Job.fetchMany(ids, { connection: conn });
    const takers = new Map<string, number>();
    for (let i = 0; i < N; i++) {
      const id = ids[i], job = jobs[i];
      assert.ok(job, `job ${id} vanished`);
      assert.ok(finished.has(id) !== failed.has(id), `job ${id} is in exactly one of finished/failed`);
      same(finished.has(id), seen.get(id) === 1, `job ${id}: finished exactly when it ran once`);
      const by = job.workerName ?? "?";
      takers.set(by, (takers.get(by) ?? 0) + 1);
      const byRqts = ts.some((w) => w.name === by);
      same(finished.has(id), (i % 2 === 1) === byRqts, `job ${id} finished exactly when its own language ran it`);
    }
    console.log(`  ${N} jobs: ${JSON.stringify(Object.fromEntries(takers))}`);
    assert.ok(takers.size === 4, `all four workers took jobs: ${JSON.stringify(Object.fromEntries(takers))}${ctx()}`);
  } finally {
    for (const p of pys) p.kill();
    await Promise.all(pys.map((p) => p.exited));
    rmSync(dir, { recursive: true, force: true });
    await cleanup(conn, name);
    await conn.close();
  }
}, { timeout: 300_000 });

test(
  "rq2 interop: SIGKILL an RQ 2.10 and an rqts worker mid-job: every job finished, failed as abandoned, or queued",
  async () => {
    const name = uniqueName("r2-kill");
    const url = await redisUrl();
    const conn = Connection.fromUrl(url);
    const dir = tasksDir();
    const marks = join(dir, "marks.txt");
    writeFileSync(marks, "");
    const N = 30;
    const pyVictim = rq2Worker(url, name, `${name}pyv`.replaceAll("-", ""), dir, false);
    const tsVictim = cli(["worker", name, "--url", url, "--liveness-ttl", "3", "--log-level", "warning"]);
    const others: { exited: Promise<unknown>; kill(): void }[] = [];
    try {
      const q = new Queue(name, { connection: conn });
      const ids = Array.from({ length: N }, (_, i) => `${name}-${i}`);
      await q.enqueueMany(
        ids.map((id, i) =>
          Queue.prepareData(i % 2 ? `${JOBS}#markThenSleep` : "rq2_tasks.mark_then_sleep", {
            args: [marks, id, 1],
            jobId: id,
            jobTimeout: 30,
          })
        ),
      );
      const pyKey = `rq:worker:${name}pyv`.replaceAll("-", "");
      const busyJob = async (key: string) => {
        const [state, job] = await conn.call<[string | null, string | null]>(["HMGET", key, "state", "current_job"]);
        return state === "busy" && job ? job : null;
      };
      await until(
        async () => (await busyJob(pyKey)) !== null,
        "the 2.10 victim runs a job",
        30_000,
      );
      const tsKeys = async () =>
        (await conn.call<string[]>(["SMEMBERS", `rq:workers:${name}`])).filter((k) => k !== pyKey);
      // The rqts victim also takes the Python jobs (and fails them at once) and takes jobs ahead (its current_job may
      // be one it has not started): the job it runs is a TypeScript one that has written its mark and is still started.
      const tsRuns = async () => {
        const keys = await tsKeys();
        if (keys.length !== 1) return null;
        const mine = readFileSync(marks, "utf8").split("\n").filter((l) => Number(l.split("-").pop()) % 2 === 1);
        const last = mine.at(-1);
        if (!last) return null;
        const [status, by] = await conn.call<[string | null, string | null]>([
          "HMGET",
          `rq:job:${last}`,
          "status",
          "worker_name",
        ]);
        return status === "started" && `rq:worker:${by}` === keys[0] ? last : null;
      };
      // Each worker with its horses (children that could otherwise still finish the job), as when a machine or
      // container dies: at a moment when each runs a job of its own, in a horse.
      // The 2.10 victim also takes the TypeScript jobs and fails them at once (its hash can still say busy with one
      // whose failure is stored): the job it runs is a Python one that has written its mark and is still started.
      const pyRuns = async () => {
        const job = await busyJob(pyKey);
        if (!job || Number(job.split("-").pop()) % 2 !== 0) return null;
        if (!readFileSync(marks, "utf8").split("\n").includes(job)) return null;
        const [status] = await conn.call<[string | null]>(["HMGET", `rq:job:${job}`, "status"]);
        return status === "started" ? job : null;
      };
      let pyLost: string | null = null, tsLost: string | null = null, horses: number[] = [];
      await until(
        async () => {
          pyLost = await pyRuns();
          tsLost = await tsRuns();
          const [ph, th] = [childrenOf(pyVictim.pid), childrenOf(tsVictim.pid)];
          horses = [...ph, ...th];
          return pyLost !== null && tsLost !== null && ph.length > 0 && th.length > 0;
        },
        "each victim runs a job of its own in a horse",
        30_000,
      );
      pyVictim.kill("SIGKILL");
      tsVictim.signal("SIGKILL");
      for (const h of horses) {
        try {
          process.kill(h, "SIGKILL");
        } catch { /* it ended its job meanwhile */ }
      }
      await pyVictim.exited;
      await tsVictim.exited;
      assert.ok(pyLost && tsLost, `both victims had a current job (${pyLost}, ${tsLost})`);

      // Survivors: a burst worker of each side drains the rest; rqts' maintenance recovers the dead rqts worker at once
      // (its liveness key lapsed) and the dead 2.10 worker's job when its rq:wip deadline (heartbeat TTL + 60 s) passes.
      const py = rq2Worker(url, name, `${name}pys`.replaceAll("-", ""), dir, true);
      others.push(py);
      await new Promise((r) => setTimeout(r, 3500));
      const survivor = new Worker([name], { connection: url, logLevel: "error", handleSignals: false });
      await Promise.all([survivor.work({ burst: true }), py.exited]);
      await until(
        async () => {
          await conn.call(["DEL", `rq:clean_registries:${name}`]);
          await new StartedJobRegistry(name, { connection: conn }).cleanup();
          return (await conn.call<number>(["ZCARD", `rq:wip:${name}`])) === 0;
        },
        "the dead 2.10 worker's rq:wip entry expired and rqts cleanup failed its job",
        90_000,
      );

      const queued = new Set(await conn.call<string[]>(["LRANGE", `rq:queue:${name}`, "0", "-1"]));
      const finished = new Set(await conn.call<string[]>(["ZRANGE", `rq:finished:${name}`, "0", "-1"]));
      const failed = new Set(await conn.call<string[]>(["ZRANGE", `rq:failed:${name}`, "0", "-1"]));
      const lines = readFileSync(marks, "utf8").split("\n").filter(Boolean);
      const seen = new Map<string, number>();
      for (const l of lines) seen.set(l, (seen.get(l) ?? 0) + 1);
      same([...seen].filter(([, n]) => n > 1), [], "no job ran twice");
      const jobs = await Job.fetchMany(ids, { connection: conn });
      let abandoned = 0;
      for (let i = 0; i < N; i++) {
        const id = ids[i], job = jobs[i];
        assert.ok(job, `job ${id} vanished`);
        const status = await job.getStatus();
        const places = [queued.has(id), finished.has(id), failed.has(id)].filter(Boolean).length;
        same(places, 1, `job ${id} (status ${status}) is in exactly one of queue/finished/failed`);
        const expected = queued.has(id) ? "queued" : finished.has(id) ? "finished" : "failed";
        same(status, expected, `job ${id}'s status matches where it is`);
        if (failed.has(id)) {
          const exc = (await job.excInfo) ?? "";
          const wrongLanguage = /looks like a Python dotted name|Traceback/.test(exc) &&
            !/Abandoned|Moved to/.test(exc);
          if (!wrongLanguage) {
            abandoned++;
            assert.match(exc, /AbandonedJobError|Moved to FailedJobRegistry/, `abandoned job ${id}: ${exc}`);
          }
        }
      }
      assert.ok(abandoned >= 2, `both victims' running jobs failed as abandoned (${abandoned})`);
      const [pyJob, tsJob] = await Job.fetchMany([pyLost!, tsLost!], { connection: conn });
      same(await pyJob?.getStatus(), "failed", "the job the 2.10 victim ran failed");
      assert.match((await pyJob?.excInfo) ?? "", /Moved to FailedJobRegistry/, "as RQ's abandoned job (rqts cleanup)");
      same(await tsJob?.getStatus(), "failed", "the job the rqts victim ran failed");
      const tsExc = (await tsJob?.excInfo) ?? "";
      // rqts' recovery of the dead worker (AbandonedJobError) or the abandoned-job rule of either side's cleanup,
      // whichever comes first.
      assert.match(tsExc, /AbandonedJobError|Moved to FailedJobRegistry/, `as an abandoned job; got ${tsExc}`);
    } finally {
      pyVictim.kill();
      await tsVictim.stop();
      for (const o of others) o.kill();
      await Promise.all(others.map((o) => o.exited));
      rmSync(dir, { recursive: true, force: true });
      await cleanup(conn, name);
      await conn.close();
    }
  },
  { timeout: 240_000 },
);

test(
  "rq2 interop: RQ 2.10's cleanup fails a job a dead rqts worker left in rq:wip (a bare job id, 1.13's dialect)",
  async () => {
    const name = uniqueName("r2-aban");
    const url = await redisUrl();
    const q = new Queue(name, { connection: url });
    const conn = q.connection;
    try {
      const job = await q.enqueueCall(`${JOBS}#add`, { args: [1, 2], jobId: `${name}-j` });
      // What a dead rqts worker leaves: the job started, its bare id in rq:wip with a deadline now past.
      const now = Math.floor(Date.now() / 1000);
      const stamp = new Date().toISOString().replace("Z", "000Z");
      await conn.transaction([
        ["LREM", `rq:queue:${name}`, "0", job.id],
        ["HSET", job.key, "status", "started", "started_at", stamp, "worker_name", `${name}-dead`],
        ["PERSIST", job.key],
        ["ZADD", `rq:wip:${name}`, String(now - 10), job.id],
      ]);
      const info = await rq2Cli(["info", "--url", url, name]);
      const res = await py2<{ status: string; failed: string[]; wip: number }>(
        `
q = Queue(A["queue"], connection=r, serializer=JSONSerializer)
out({"status": Job.fetch(A["id"], connection=r, serializer=JSONSerializer).get_status(),
     "failed": q.failed_job_registry.get_job_ids(), "wip": r.zcard("rq:wip:" + A["queue"])})
`,
        { queue: name, id: job.id },
      );
      same(
        res,
        { status: "failed", failed: [job.id], wip: 0 },
        `RQ 2.10's rq info cleaned up the rqts entry:\n${info}`,
      );
      const exc = (await (await Job.fetch(job.id, { connection: conn })).excInfo) ?? "";
      assert.match(exc, /Moved to FailedJobRegistry/, `rqts reads 2.10's abandoned-job failure; got ${exc}`);
    } finally {
      await cleanup(conn, name);
      await q.close();
    }
  },
  { timeout: 60_000 },
);
