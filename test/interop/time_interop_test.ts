// Issue 18 item 6: scheduled jobs and retries shared with Python RQ, both Debian's 1.13 and 2.10 (shared/peers):
// Python's enqueue_in run by an rqts worker with its scheduler and rqts' enqueueIn by `rq worker --with-scheduler`;
// Retry jobs retried across the two; Python and rqts schedulers racing on one queue, each job queued once; and the
// lock of a SIGKILLed rqts scheduler taken over by Python's.

import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Connection, Queue, Worker } from "../../mod.ts";
import { redisUrl, test, uniqueName } from "../_harness.ts";
import { cli, exitOf, until } from "../_process.ts";
import { Scheduler } from "../../src/scheduler.ts";
import { RQ2_PATH } from "./_rq2.ts";

const JOBS = "./test/fixtures/jobs.ts";

const RQ210 = RQ2_PATH;

/** The two RQ lines: Debian's 1.13, and 2.10 from shared/peers (skipped where that checkout is missing). */
const LINES = [
  { line: "1.13", pythonPath: "", skip: undefined },
  { line: "2.10", pythonPath: RQ210 ?? "", skip: RQ210 ? undefined : "shared/peers/rq-2.10 not found" },
] as const;

/** Python job functions for Python workers (their module: tasks). */
const TASKS = `
def add(x, y):
    return x + y

def fail_times(path, times):
    try:
        calls = int(open(path).read())
    except FileNotFoundError:
        calls = 0
    calls += 1
    open(path, "w").write(str(calls))
    if calls <= times:
        raise RuntimeError("try %d fails" % calls)
    return calls
`;

/** A temporary directory holding tasks.py, removed on dispose. */
function tasksDir(): { path: string; [Symbol.dispose](): void } {
  const path = mkdtempSync(join(tmpdir(), "rqts-time-interop-"));
  writeFileSync(join(path, "tasks.py"), TASKS);
  return { path, [Symbol.dispose]: () => rmSync(path, { recursive: true, force: true }) };
}

/** Runs /usr/bin/python3 with `args` on one RQ line (its PYTHONPATH, plus `extraPath`); resolves with its output. */
async function runPython(
  pythonPath: string,
  args: string[],
  env: Record<string, string> = {},
  options: { cwd?: string; timeoutMs?: number } = {},
): Promise<string> {
  const { spawn } = await import("node:child_process");
  const process = (await import("node:process")).default;
  const path = [pythonPath, options.cwd].filter(Boolean).join(":");
  return await new Promise((resolvePromise, reject) => {
    const child = spawn("/usr/bin/python3", args, {
      cwd: options.cwd,
      env: { ...process.env, ...env, PYTHONPATH: path, COLUMNS: "120" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stdout.on("data", (d: unknown) => (out += String(d)));
    child.stderr.on("data", (d: unknown) => (out += String(d)));
    const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 45_000);
    child.on("close", (code: number | null, signal: string | null) => {
      clearTimeout(timer);
      if (code === 0) resolvePromise(out);
      else reject(new Error(`python3 ${args.slice(0, 3).join(" ")} exited ${code ?? signal}:\n${out}`));
    });
  });
}

const PRELUDE = `
import json, os, sys, time
from datetime import datetime, timedelta, timezone
from redis import Redis
from rq import Queue, Retry
from rq.job import Job
from rq.registry import ScheduledJobRegistry
from rq.serializers import JSONSerializer
import rq
r = Redis.from_url(os.environ["RQTS_URL"])
A = json.loads(os.environ["RQTS_ARGS"])
def out(value):
    sys.stdout.write("\\n" + json.dumps(value))
`;

/** Runs PRELUDE + `body` on an RQ line; parses the JSON its last `out()` printed. */
async function py<T>(pythonPath: string, body: string, args: unknown = null, timeoutMs?: number): Promise<T> {
  const output = await runPython(pythonPath, ["-c", PRELUDE + body], {
    RQTS_URL: await redisUrl(),
    RQTS_ARGS: JSON.stringify(args),
  }, { timeoutMs });
  const last = output.trimEnd().split("\n").pop() ?? "";
  try {
    return JSON.parse(last) as T;
  } catch {
    throw new Error(`The Python script did not print JSON last; it printed:\n${output}`);
  }
}

/** A burst `rq worker` (JSONSerializer) of one RQ line on `queue`, importing tasks from `dir`. */
async function pythonWorker(pythonPath: string, queue: string, dir: string, withScheduler = false): Promise<string> {
  const args = ["-m", "rq.cli", "worker", "--burst", "--url", await redisUrl(), "--path", dir];
  args.push("--serializer", "rq.serializers.JSONSerializer", ...(withScheduler ? ["--with-scheduler"] : []), queue);
  return await runPython(pythonPath, args, {}, { cwd: dir });
}

/** An rqts worker with its scheduler, working in the background until disposed. */
async function schedulingWorker(queue: string) {
  const worker = new Worker([queue], {
    connection: await redisUrl(),
    logLevel: "error",
    handleSignals: false,
    withScheduler: true,
  });
  const working = worker.work();
  return {
    async [Symbol.asyncDispose]() {
      worker.stop();
      await working;
    },
  };
}

/** Deletes the keys of a test (every key naming `name`). */
async function cleanup(conn: Connection, name: string): Promise<void> {
  let cursor = "0";
  do {
    const [next, keys] = await conn.call<[string, string[]]>(["SCAN", cursor, "MATCH", `*${name}*`, "COUNT", "1000"]);
    if (keys.length) await conn.call(["DEL", ...keys]);
    cursor = String(next);
  } while (cursor !== "0");
  const mine = (await conn.call<string[]>(["SMEMBERS", "rq:queues"])).filter((k) => k.includes(name));
  if (mine.length) await conn.call(["SREM", "rq:queues", ...mine]);
}

for (const { line, pythonPath, skip } of LINES) {
  test(`time interop (RQ ${line}): Python's enqueue_in runs on an rqts worker with a scheduler, on time`, async () => {
    const name = uniqueName(`ti-in-${line}`);
    await using q = new Queue(name, { connection: await redisUrl() });
    try {
      const made = await py<{ id: string; status: string; score: number; version: string }>(
        pythonPath,
        `
q = Queue(A["name"], connection=r, serializer=JSONSerializer)
job = q.enqueue_in(timedelta(seconds=1), A["func"], 2, 3)
out({"id": job.id, "status": job.get_status(), "score": r.zscore("rq:scheduled:" + A["name"], job.id),
     "version": rq.__version__})
`,
        { name, func: `${JOBS}#add` },
      );
      assert.equal(made.version.slice(0, 4), line);
      assert.equal(made.status, "scheduled");
      await using _w = await schedulingWorker(name);
      const job = await q.fetchJob(made.id);
      assert.ok(job);
      assert.equal((await job.latestResult({ timeout: 10 }))?.returnValue, 5);
      await job.refresh();
      assert.ok(job.startedAt && job.startedAt.getTime() >= made.score * 1000, "not before its due time");
      const back = await py<{ status: string; result: unknown }>(
        pythonPath,
        `
job = Job.fetch(A["id"], connection=r, serializer=JSONSerializer)
out({"status": job.get_status(), "result": job.latest_result().return_value})
`,
        { id: made.id },
      );
      assert.deepEqual(back, { status: "finished", result: 5 });
    } finally {
      await cleanup(q.connection, name);
    }
  }, { timeout: 60_000, skip });

  test(
    `time interop (RQ ${line}): rqts' enqueueIn runs on \`rq worker --with-scheduler\`; Python reads its due time`,
    async () => {
      const name = uniqueName(`ti-out-${line}`);
      await using q = new Queue(name, { connection: await redisUrl() });
      using dir = tasksDir();
      try {
        const job = await q.enqueueIn(0.5, "tasks.add", 20, 22);
        const due = (await q.scheduledJobRegistry.getScheduledTime(job)).getTime();
        const seen = await py<{ due_ms: number; ids: string[]; status: string }>(
          pythonPath,
          `
reg = ScheduledJobRegistry(A["name"], connection=r, serializer=JSONSerializer)
when = reg.get_scheduled_time(A["id"])
out({"due_ms": round(when.timestamp() * 1000), "ids": reg.get_job_ids(),
     "status": Job.fetch(A["id"], connection=r, serializer=JSONSerializer).get_status()})
`,
          { name, id: job.id },
        );
        assert.deepEqual(seen, { due_ms: due, ids: [job.id], status: "scheduled" });
        // RQ's scheduler queues what is due by its whole-second clock: wait for the second after the due time.
        await new Promise((r) => setTimeout(r, Math.ceil(due / 1000) * 1000 - Date.now() + 50));
        await pythonWorker(pythonPath, name, dir.path, true);
        assert.equal(await job.getStatus(), "finished");
        assert.equal(await job.returnValue(), 42);
      } finally {
        await cleanup(q.connection, name);
      }
    },
    { timeout: 60_000, skip },
  );

  test(`time interop (RQ ${line}): a Python Retry job is retried by rqts, an rqts retry job by Python`, async () => {
    const name = uniqueName(`ti-retry-${line}`);
    await using q = new Queue(name, { connection: await redisUrl() });
    using dir = tasksDir();
    try {
      // Python's Retry(max=2), failing once, on an rqts worker.
      const pyCalls = join(dir.path, "py-calls");
      const made = await py<{ id: string; fields: Record<string, string> }>(
        pythonPath,
        `
q = Queue(A["name"], connection=r, serializer=JSONSerializer)
job = q.enqueue(A["func"], A["path"], 1, retry=Retry(max=2))
out({"id": job.id, "fields": {k.decode(): v.decode() for k, v in r.hgetall(job.key).items()
     if k in (b"retries_left", b"retry_intervals")}})
`,
        { name, func: `${JOBS}#failTimes`, path: pyCalls },
      );
      assert.deepEqual(made.fields, { retries_left: "2", retry_intervals: "[0]" });
      await new Worker([name], { connection: await redisUrl(), logLevel: "error", handleSignals: false })
        .work({ burst: true });
      assert.equal(readFileSync(pyCalls, "utf8"), "2");
      const back = await py<{ status: string; retries_left: number; result: unknown }>(
        pythonPath,
        `
job = Job.fetch(A["id"], connection=r, serializer=JSONSerializer)
out({"status": job.get_status(), "retries_left": job.retries_left, "result": job.latest_result().return_value})
`,
        { id: made.id },
      );
      assert.deepEqual(back, { status: "finished", retries_left: 1, result: 2 });

      // rqts' retry, failing twice, on a Python worker; then a retry with an interval, which Python schedules.
      const tsCalls = join(dir.path, "ts-calls");
      const job = await q.enqueueCall("tasks.fail_times", { args: [tsCalls, 2], retry: { max: 3 } });
      await pythonWorker(pythonPath, name, dir.path);
      assert.equal(readFileSync(tsCalls, "utf8"), "3");
      assert.equal(await job.getStatus(), "finished");
      await job.refresh();
      assert.equal(job.retriesLeft, 1);
      assert.equal(await job.returnValue(), 3);
      const later = await q.enqueueCall("tasks.fail_times", {
        args: [join(dir.path, "later"), 5],
        retry: { max: 2, interval: [30, 60] },
      });
      await pythonWorker(pythonPath, name, dir.path);
      assert.equal(await later.getStatus(), "scheduled");
      const wait = (await q.scheduledJobRegistry.getScheduledTime(later)).getTime() - Date.now();
      assert.ok(wait > 25_000 && wait <= 31_000, `Python scheduled the retry ${wait} ms ahead (RQ's [30, 60][0])`);
    } finally {
      await cleanup(q.connection, name);
    }
  }, { timeout: 90_000, skip });

  test(
    `time interop (RQ ${line}): Python's and rqts' schedulers racing on 500 due jobs queue each exactly once`,
    async () => {
      const name = uniqueName(`ti-race-${line}`);
      await using q = new Queue(name, { connection: await redisUrl() });
      try {
        const dueAt = new Date(Date.now() + 2500);
        const jobs = await q.enqueueMany(
          Array.from({ length: 500 }, (_, i) => Queue.prepareData(`${JOBS}#add`, { args: [i, 1], enqueueAt: dueAt })),
        );
        // Python's scheduler as its work() loop runs it, trying for the lock on every round, for 6 s; rqts' meanwhile.
        const python = py<{ held: boolean }>(
          pythonPath,
          `
from rq.scheduler import RQScheduler
s = RQScheduler([A["name"]], connection=r, serializer=JSONSerializer)
held = False
end = time.time() + 6
while time.time() < end:
    if s.acquire_locks():
        held = True
    s.enqueue_scheduled_jobs()
    time.sleep(0.02)
if s.acquired_locks:
    s.release_locks()
out({"held": held})
`,
          { name },
        );
        const rqts = new Scheduler({
          connection: q.connection,
          queueNames: [name],
          name: `rqts-${name}`,
          log: () => {},
        });
        rqts.start();
        let rqtsHeld = false;
        await until("all 500 queued", async () => {
          rqtsHeld ||= rqts.acquiredLocks.has(name);
          return (await q.count()) >= 500;
        }, 15_000);
        const { held } = await python;
        rqtsHeld ||= rqts.acquiredLocks.has(name);
        await rqts.stop();
        assert.ok(held !== rqtsHeld, `exactly one held the lock (python ${held}, rqts ${rqtsHeld})`);
        const queued = await q.getJobIds();
        assert.equal(queued.length, 500, "each once");
        assert.deepEqual(new Set(queued), new Set(jobs.map((j) => j.id)));
        assert.equal(await q.scheduledJobRegistry.count(), 0);
      } finally {
        await cleanup(q.connection, name);
      }
    },
    { timeout: 60_000, skip },
  );

  test(
    `time interop (RQ ${line}): a SIGKILLed rqts scheduler's lock is taken over by Python's within its TTL`,
    async () => {
      const name = uniqueName(`ti-kill-${line}`);
      await using q = new Queue(name, { connection: await redisUrl() });
      const worker = cli(["worker", name, "--url", await redisUrl(), "--with-scheduler", "--scheduler-lock-ttl", "3"]);
      try {
        const lock = `rq:scheduler-lock:${name}`;
        await until(
          "the rqts scheduler's lock",
          async () => (await q.connection.call(["EXISTS", lock])) === 1,
          20_000,
          worker,
        );
        worker.signal("SIGKILL");
        await exitOf(worker);
        const killedAt = Date.now();
        const job = await q.enqueueAt(new Date(Date.now() - 1000), "tasks.add", 1, 2);
        // RQ's scheduler tries for the lock each round: it gets it once the dead holder's lapses, and queues the job.
        const took = await py<{ after_ms: number; queued: string[] }>(
          pythonPath,
          `
from rq.scheduler import RQScheduler
s = RQScheduler([A["name"]], connection=r, serializer=JSONSerializer)
while not s.acquire_locks():
    time.sleep(0.05)
after = round(time.time() * 1000) - A["killed_at"]
s.enqueue_scheduled_jobs()
s.release_locks()
out({"after_ms": after, "queued": [i.decode() for i in r.lrange("rq:queue:" + A["name"], 0, -1)]})
`,
          { name, killed_at: killedAt },
          20_000,
        );
        assert.ok(took.after_ms <= 3500, `taken over ${took.after_ms} ms after the kill (TTL 3 s)`);
        assert.deepEqual(took.queued, [job.id]);
      } finally {
        await worker.stop();
        await cleanup(q.connection, name);
      }
    },
    { timeout: 60_000, skip },
  );
}

test(
  "time interop (RQ 2.10): a Python Repeat job repeats on an rqts worker, an rqts repeat job on Python's",
  async () => {
    const { pythonPath, skip } = LINES[1];
    if (skip) return;
    const name = uniqueName("ti-repeat");
    await using q = new Queue(name, { connection: await redisUrl() });
    using dir = tasksDir();
    try {
      const pyCalls = join(dir.path, "py-calls");
      const made = await py<{ id: string; fields: Record<string, string> }>(
        pythonPath,
        `
from rq.repeat import Repeat
q = Queue(A["name"], connection=r, serializer=JSONSerializer)
job = q.enqueue(A["func"], A["path"], 0, repeat=Repeat(times=2))
out({"id": job.id, "fields": {k.decode(): v.decode() for k, v in r.hgetall(job.key).items()
     if k in (b"repeats_left", b"repeat_intervals")}})
`,
        { name, func: `${JOBS}#failTimes`, path: pyCalls },
      );
      assert.deepEqual(made.fields, { repeats_left: "2", repeat_intervals: "[0]" });
      await new Worker([name], { connection: await redisUrl(), logLevel: "error", handleSignals: false })
        .work({ burst: true });
      assert.equal(readFileSync(pyCalls, "utf8"), "3");
      const back = await py<{ status: string; repeats_left: number; results: unknown[] }>(
        pythonPath,
        `
job = Job.fetch(A["id"], connection=r, serializer=JSONSerializer)
out({"status": job.get_status(), "repeats_left": job.repeats_left,
     "results": [res.return_value for res in job.results()]})
`,
        { id: made.id },
      );
      assert.deepEqual(back, { status: "finished", repeats_left: 0, results: [3, 2, 1] });

      const tsCalls = join(dir.path, "ts-calls");
      const job = await q.enqueueCall("tasks.fail_times", { args: [tsCalls, 0], repeat: { times: 2 } });
      await pythonWorker(pythonPath, name, dir.path);
      assert.equal(readFileSync(tsCalls, "utf8"), "3");
      await job.refresh();
      assert.equal(job.repeatsLeft, 0);
      assert.equal(await job.getStatus(), "finished");
    } finally {
      await cleanup(q.connection, name);
    }
  },
  { timeout: 60_000, skip: LINES[1].skip },
);
