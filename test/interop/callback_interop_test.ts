// Issue 19 item 4: RQ 2.x's callbacks across the wire. rqts enqueues `{ func, timeout }` callbacks and `onStopped` that
// an RQ 2.10 worker honours (a success callback over its limit fails the job; a stopped job runs its stopped
// callback), and RQ 1.13's worker runs such jobs (it ignores the fields it does not know); RQ 2.10 enqueues
// `Callback(func, timeout)` and `on_stopped` that an rqts worker honours, and reads the outcomes back.

import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import process from "node:process";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type LogLevel, Queue, sendStopJobCommand, Worker } from "../../mod.ts";
import { redisUrl, test } from "../_harness.ts";
import { freshQueue } from "../_fixtures.ts";
import { until, workerName } from "../_process.ts";
import { RQ2_PATH, RQ2_SKIP, rqPython } from "./_rq2.ts";

const JOBS = "./test/fixtures/jobs.ts";
const T = { timeout: 90_000, skip: RQ2_SKIP };

const PRELUDE = `
import json, os, sys
from redis import Redis
from rq import Queue
from rq.job import Job
from rq.serializers import JSONSerializer

r = Redis.from_url(os.environ["RQTS_URL"])
A = json.loads(os.environ["RQTS_ARGS"])
value = lambda v: getattr(v, "value", v)
`;

const PY_TASKS = `
import time


def add(x, y):
    return x + y


def nap(seconds):
    time.sleep(seconds)
    return seconds


def on_ok(job, connection, result, *args, **kwargs):
    job.meta["ok_cb"] = result
    job.save_meta()


def slow_ok(job, connection, result, *args, **kwargs):
    time.sleep(5)
    job.meta["slow_cb"] = "done"
    job.save_meta()


def on_fail(job, connection, type, value, traceback):
    job.meta["fail_cb"] = type.__name__
    job.save_meta()


def on_stopped(job, connection):
    job.meta["stopped_cb"] = True
    job.save_meta()
`;

/** A Python RQ worker of `line` on `queue`, not burst, in the background (the tasks in `dir` importable). */
async function pythonWorker(line: "1.13" | "2.10", dir: string, queue: string): Promise<ChildProcess> {
  const env: Record<string, string | undefined> = { ...process.env, RQTS_URL: await redisUrl() };
  if (line === "2.10") env.PYTHONPATH = RQ2_PATH;
  const script = `
import os, sys
sys.path.insert(0, ${JSON.stringify(dir)})
from redis import Redis
from rq import Queue, Worker
from rq.serializers import JSONSerializer
r = Redis.from_url(os.environ["RQTS_URL"])
Worker([Queue(${JSON.stringify(queue)}, connection=r, serializer=JSONSerializer)], connection=r,
       serializer=JSONSerializer).work()`;
  return spawn("/usr/bin/python3", ["-c", script], { env, stdio: ["ignore", "ignore", "pipe"] });
}

async function stopped(child: ChildProcess): Promise<void> {
  const closed = new Promise((r) => child.on("close", r));
  child.kill("SIGTERM");
  await closed;
}

test(
  "rqts enqueues { func, timeout } callbacks and onStopped; an RQ 2.10 worker applies each time limit and runs the stopped callback",
  async () => {
    await using base = await freshQueue();
    await using q = new Queue(base.name, { connection: await redisUrl(), checkReferences: false });
    const dir = mkdtempSync(join(tmpdir(), "rqts-cb210-"));
    writeFileSync(join(dir, "t19cb.py"), PY_TASKS);
    const ok = await q.enqueueCall("t19cb.add", { args: [1, 2], onSuccess: { func: "t19cb.on_ok", timeout: 5 } });
    const slow = await q.enqueueCall("t19cb.add", {
      args: [2, 2],
      onSuccess: { func: "t19cb.slow_ok", timeout: 1 },
      onFailure: { func: "t19cb.on_fail", timeout: 5 },
    });
    const long = await q.enqueueCall("t19cb.nap", {
      args: [30],
      onStopped: { func: "t19cb.on_stopped", timeout: 5 },
    });
    const read = JSON.parse(
      await rqPython(
        "2.10",
        PRELUDE + `
j = Job.fetch(A["slow"], connection=r, serializer=JSONSerializer)
l = Job.fetch(A["long"], connection=r, serializer=JSONSerializer)
sys.stdout.write(json.dumps([j.success_callback_timeout, j.failure_callback_timeout, l.stopped_callback_timeout,
                             l._stopped_callback_name]))`,
        { slow: slow.id, long: long.id },
      ),
    );
    assert.deepEqual(read, [1, 5, 5, "t19cb.on_stopped"]);
    const worker = await pythonWorker("2.10", dir, q.name);
    try {
      await until("the long job to start", async () => (await long.getStatus()) === "started", 30_000);
      assert.equal(await sendStopJobCommand(q.connection, long.id), 1);
      await until("the long job to stop", async () => (await long.getStatus()) === "stopped", 15_000);
      assert.equal(await ok.getStatus(), "finished");
      assert.equal((await ok.getMeta()).ok_cb, 3);
      assert.equal(await slow.getStatus(), "failed");
      assert.match((await slow.latestResult())?.excString ?? "", /JobTimeoutException/);
      const slowMeta = await slow.getMeta();
      assert.equal(slowMeta.slow_cb, undefined, "the success callback was cut at 1 s");
      assert.equal(slowMeta.fail_cb, "JobTimeoutException", "and the failure callback ran");
      assert.equal((await long.getMeta()).stopped_cb, true, "RQ 2.10 ran the stopped callback");
    } finally {
      await stopped(worker);
      rmSync(dir, { recursive: true, force: true });
    }
  },
  T,
);

test(
  "RQ 1.13's worker runs a job with callback timeouts and onStopped (fields it does not know are ignored)",
  async () => {
    await using base = await freshQueue();
    await using q = new Queue(base.name, { connection: await redisUrl(), checkReferences: false });
    const dir = mkdtempSync(join(tmpdir(), "rqts-cb113-"));
    writeFileSync(join(dir, "t19cb.py"), PY_TASKS);
    try {
      const job = await q.enqueueCall("t19cb.add", {
        args: [20, 22],
        onSuccess: { func: "t19cb.on_ok", timeout: 5 },
        onFailure: { func: "t19cb.on_fail", timeout: 5 },
        onStopped: { func: "t19cb.on_stopped", timeout: 5 },
      });
      await rqPython(
        "1.13",
        PRELUDE + `
sys.path.insert(0, A["dir"])
from rq import Worker
Worker([Queue(A["queue"], connection=r, serializer=JSONSerializer)], connection=r,
       serializer=JSONSerializer).work(burst=True)`,
        { dir, queue: q.name },
      );
      assert.equal(await job.getStatus(), "finished");
      assert.equal(await job.result, 42);
      assert.equal((await job.getMeta()).ok_cb, 42);
      // Still readable by rqts and RQ 2.10 after RQ 1.13 saved the job.
      await job.refresh();
      assert.deepEqual([job.successCallbackTimeout, job.stoppedCallbackName], [5, "t19cb.on_stopped"]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
  { timeout: 60_000 },
);

test(
  "RQ 2.10 enqueues Callback(func, timeout) and on_stopped; an rqts worker applies the limit and runs the stopped callback; 2.10 reads the outcomes",
  async () => {
    await using q = await freshQueue();
    const ids = JSON.parse(
      await rqPython(
        "2.10",
        PRELUDE + `
from rq.job import Callback
q = Queue(A["queue"], connection=r, serializer=JSONSerializer)
slow = q.enqueue(A["jobs"] + "#add", 1, 2, meta={"callbackSleep": 10},
                 on_success=Callback(A["jobs"] + "#sleepingCallback", timeout=1),
                 on_failure=Callback(A["jobs"] + "#recordFailure", timeout="5s"))
long = q.enqueue(A["jobs"] + "#sleep", 30, on_stopped=Callback(A["jobs"] + "#recordStopped", timeout=5))
sys.stdout.write(json.dumps([slow.id, long.id]))`,
        { queue: q.name, jobs: JOBS },
      ),
    );
    const lines: string[] = [];
    const worker = new Worker([q.name], {
      connection: await redisUrl(),
      name: workerName(),
      handleSignals: false,
      logger: { log: (level: LogLevel, message: string) => void lines.push(`${level}: ${message}`) },
    });
    const done = worker.work();
    try {
      await until("the long job to run", () => lines.some((l) => l.includes(`(${ids[1]})`)), 20_000);
      await rqPython(
        "2.10",
        PRELUDE + `
from rq.command import send_stop_job_command
send_stop_job_command(r, A, serializer=JSONSerializer)`,
        ids[1],
      );
      const job = (id: string) => q.fetchJob(id).then((j) => j!);
      await until("the long job to stop", async () => (await (await job(ids[1])).getStatus()) === "stopped", 15_000);
      const seen = JSON.parse(
        await rqPython(
          "2.10",
          PRELUDE + `
slow = Job.fetch(A[0], connection=r, serializer=JSONSerializer)
long = Job.fetch(A[1], connection=r, serializer=JSONSerializer)
sys.stdout.write(json.dumps({
    "slow": [value(slow.get_status()), "JobTimeoutException" in slow.latest_result().exc_string,
             "callback" in slow.meta, "Success callback exceeded" in slow.meta.get("failure", "")],
    "long": [value(long.get_status()), long.meta.get("stopped"), value(long.latest_result().type)],
}))`,
          ids,
        ),
      );
      assert.deepEqual(seen, {
        slow: ["failed", true, false, true],
        long: ["stopped", { args: 2 }, 2],
      }, lines.join("\n"));
    } finally {
      worker.stop();
      await done;
    }
  },
  T,
);
