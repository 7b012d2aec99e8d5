// Issue 19 item 1, in part: RQ 2.10 enqueues jobs (with options and meta, one that fails) for an rqts worker, which
// runs them, and RQ 2.10 reads the outcomes back; rqts enqueues Python jobs (options, a dependency, callbacks, a
// failure, meta) that an RQ 2.10 worker runs, and rqts reads the outcomes back; RQ 2.10's `rq info` lists the rqts
// worker busy on its job, and its queue.

import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { spawn } from "node:child_process";
import process from "node:process";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Job, type LogLevel, Queue, Worker } from "../../mod.ts";
import { python, redisUrl, test } from "../_harness.ts";
import { freshQueue } from "../_fixtures.ts";
import { until, workerName } from "../_process.ts";
import { RQ2_PATH } from "./_rq2.ts";

const JOBS = "./test/fixtures/jobs.ts";
const RQ_2_10 = RQ2_PATH ?? "/work/shared/peers/rq-2.10";

const PRELUDE = `
import json, os, sys
from redis import Redis
from rq import Queue
from rq.job import Job
from rq.registry import FailedJobRegistry, FinishedJobRegistry
from rq.serializers import JSONSerializer

r = Redis.from_url(os.environ["RQTS_URL"])
A = json.loads(os.environ["RQTS_ARGS"])
value = lambda v: getattr(v, "value", v)
`;

async function py210(body: string, args: unknown): Promise<string> {
  const env = { RQTS_URL: await redisUrl(), RQTS_ARGS: JSON.stringify(args), PYTHONPATH: RQ_2_10 };
  return (await python(PRELUDE + body, env)).trim();
}

/** RQ 2.10's `rq info` (its CLI, on PYTHONPATH), output and errors. */
function rqInfo210(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn("/usr/bin/python3", ["-m", "rq.cli", "info", ...args], {
      env: { ...process.env, PYTHONPATH: RQ_2_10, COLUMNS: "120" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stdout.on("data", (d: unknown) => (out += String(d)));
    child.stderr.on("data", (d: unknown) => (out += String(d)));
    child.on("close", (code: number | null) => code === 0 ? resolve(out) : reject(new Error(`rq info: ${out}`)));
  });
}

test(
  "RQ 2.10 enqueues (job_id, result_ttl, meta, a failure); an rqts worker runs them; RQ 2.10 reads the outcomes",
  async () => {
    await using q = await freshQueue();
    const ids = JSON.parse(
      await py210(
        `
q = Queue(A["queue"], connection=r, serializer=JSONSerializer)
ok = q.enqueue(A["jobs"] + "#add", 2, 3, job_id=A["queue"] + "-ok", result_ttl=600, meta={"owner": "py210"})
bad = q.enqueue(A["jobs"] + "#fail", "from 2.10", job_id=A["queue"] + "-bad")
sys.stdout.write(json.dumps([ok.id, bad.id]))`,
        { queue: q.name, jobs: JOBS },
      ),
    );
    const worker = new Worker([q.name], { connection: await redisUrl(), logger: { log() {} }, handleSignals: false });
    await worker.work({ burst: true });
    const seen = JSON.parse(
      await py210(
        `
ok = Job.fetch(A["ok"], connection=r, serializer=JSONSerializer)
bad = Job.fetch(A["bad"], connection=r, serializer=JSONSerializer)
res = bad.latest_result()
sys.stdout.write(json.dumps({
    "ok": [value(ok.get_status()), ok.return_value(), ok.meta, ok.worker_name == A["worker"],
           A["ok"] in FinishedJobRegistry(A["queue"], connection=r).get_job_ids(), r.ttl(ok.key) > 590],
    "bad": [value(bad.get_status()), A["bad"] in FailedJobRegistry(A["queue"], connection=r).get_job_ids(),
            value(res.type), "from 2.10" in res.exc_string],
}))`,
        { ok: ids[0], bad: ids[1], queue: q.name, worker: worker.name },
      ),
    );
    assert.deepEqual(seen, {
      ok: ["finished", 5, { owner: "py210" }, true, true, true],
      bad: ["failed", true, 2, true],
    });
  },
  { timeout: 60_000 },
);

test("RQ 2.10's `rq info` lists an rqts worker busy on its queue while it runs a job, then idle", async () => {
  await using q = await freshQueue();
  const url = await redisUrl();
  const dir = mkdtempSync(join(tmpdir(), "rqts-info210-"));
  const gate = join(dir, "gate");
  const lines: string[] = [];
  const worker = new Worker([q.name], {
    connection: url,
    name: workerName(),
    handleSignals: false,
    logger: { log: (level: LogLevel, message: string) => void lines.push(`${level}: ${message}`) },
  });
  const done = worker.work();
  try {
    const job: Job = await q.enqueue(`${JOBS}#markUntilGate`, join(dir, "runs"), "j", gate, join(dir, "ended"));
    await until("the job to run", () => lines.some((l) => l.includes(`(${job.id})`)), 8000);
    const busy = await rqInfo210(["--url", url, q.name]);
    assert.ok(
      busy.split("\n").some((l) => l.startsWith(worker.name) && l.includes(": busy ") && l.includes(q.name)),
      `RQ 2.10's rq info shows the rqts worker busy:\n${busy}`,
    );
    writeFileSync(gate, "");
    await until("the job to finish", async () => (await job.getStatus()) === "finished", 8000);
    await until(
      "the worker to be idle",
      async () => (await q.connection.call(["HGET", worker.key, "state"])) === "idle",
    );
    const idle = await rqInfo210(["--url", url, q.name]);
    assert.ok(
      idle.split("\n").some((l) => l.startsWith(worker.name) && l.includes(": idle ")),
      `RQ 2.10's rq info shows the rqts worker idle:\n${idle}`,
    );
    assert.ok(idle.split("\n").some((l) => l.startsWith(q.name + " ")), `and its queue:\n${idle}`);
  } finally {
    worker.stop();
    await done;
    rmSync(dir, { recursive: true, force: true });
  }
}, { timeout: 60_000 });

const PY_TASKS = `
def add(x, y):
    return x + y


def boom(msg):
    raise ValueError(msg)


def on_ok(job, connection, result, *args, **kwargs):
    job.meta["ok_cb"] = result
    job.save_meta()


def on_fail(job, connection, type, value, traceback):
    job.meta["fail_cb"] = str(value)
    job.save_meta()
`;

test(
  "rqts enqueues Python jobs (options, a dependency, callbacks, a failure, meta); an RQ 2.10 worker runs them; rqts reads the outcomes",
  async () => {
    await using base = await freshQueue();
    // checkReferences false: the functions are Python's, not modules of this project.
    await using q = new Queue(base.name, { connection: await redisUrl(), checkReferences: false });
    const dir = mkdtempSync(join(tmpdir(), "rqts-py210-"));
    try {
      writeFileSync(join(dir, "t19tasks.py"), PY_TASKS);
      const a = await q.enqueueCall<number>("t19tasks.add", {
        args: [1, 2],
        onSuccess: "t19tasks.on_ok",
        meta: { owner: "rqts" },
        resultTtl: 100,
        jobTimeout: 30,
      });
      const b = await q.enqueueCall<number>("t19tasks.add", { args: [3, 4], dependsOn: a });
      const c = await q.enqueueCall("t19tasks.boom", { args: ["kaput"], onFailure: "t19tasks.on_fail" });
      assert.equal(b.status, "deferred");
      await py210(
        `
sys.path.insert(0, A["dir"])
from rq import Worker
queue = Queue(A["queue"], connection=r, serializer=JSONSerializer)
Worker([queue], connection=r, serializer=JSONSerializer).work(burst=True)`,
        { dir, queue: q.name },
      );
      assert.equal(await a.getStatus(), "finished");
      assert.equal(await a.result, 3);
      await a.refresh();
      assert.deepEqual(a.meta, { owner: "rqts", ok_cb: 3 }, "the success callback ran, meta kept");
      const ttl = await q.connection.call<number>(["TTL", a.key]);
      assert.ok(ttl > 90 && ttl <= 100, `resultTtl 100 honoured: ${ttl}`);
      assert.equal(await b.getStatus(), "finished", "the dependent was released by RQ 2.10 and ran");
      assert.equal(await b.result, 7);
      assert.equal(await c.getStatus(), "failed");
      assert.match((await c.latestResult())?.excString ?? "", /ValueError: kaput/);
      await c.refresh();
      assert.equal(c.meta.fail_cb, "kaput", "the failure callback ran");
      assert.ok(await q.failedJobRegistry.contains(c));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
  { timeout: 60_000 },
);
