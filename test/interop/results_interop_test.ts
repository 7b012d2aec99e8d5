// Issue 19 item 6: a job's results history crosses between rqts and RQ 2.10 (and 1.13) both ways: entries an RQ 2.10
// worker wrote (with its worker_name and execution fields) read in rqts with Job.results(), and entries an rqts
// worker wrote read by RQ 2.10's and 1.13's Job.results(), newest first.

import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Worker } from "../../mod.ts";
import { redisUrl, test } from "../_harness.ts";
import { freshQueue } from "../_fixtures.ts";
import { rqPython } from "./_rq2.ts";

const JOBS = "./test/fixtures/jobs.ts";

const PRELUDE = `
import json, os, sys
from redis import Redis
from rq import Queue, Worker
from rq.job import Job
from rq.serializers import JSONSerializer

r = Redis.from_url(os.environ["RQTS_URL"])
A = json.loads(os.environ["RQTS_ARGS"])
value = lambda v: getattr(v, "value", v)
`;

const py = (line: "1.13" | "2.10", body: string, args: unknown) => rqPython(line, PRELUDE + body, args);

/** Fails on its first run (a marker file is missing), returns "second" on the next. */
const PY_TASKS = `
import os

def flaky(path):
    if not os.path.exists(path):
        open(path, "w").close()
        raise ValueError("first run fails")
    return "second"
`;

test(
  "RQ 2.10 worker's results history (worker_name, execution fields) reads in rqts' Job.results(), newest first",
  async () => {
    await using q = await freshQueue();
    const dir = mkdtempSync(join(tmpdir(), "rqts-results-"));
    try {
      writeFileSync(join(dir, "results_tasks.py"), PY_TASKS);
      const job = await q.enqueueCall("results_tasks.flaky", { args: [join(dir, "marker")] });
      const work = `
sys.path.insert(0, A["dir"])
queue = Queue(A["queue"], connection=r, serializer=JSONSerializer)
worker = Worker([queue], connection=r, serializer=JSONSerializer, name=A["worker"])
worker.work(burst=True)
`;
      const args = { dir, queue: q.name, worker: `py210-${q.name}` };
      await py("2.10", work, args);
      assert.equal(await job.getStatus(), "failed");
      await q.failedJobRegistry.requeue(job);
      await py("2.10", work, args);
      assert.equal(await job.getStatus(), "finished");
      const results = await job.results();
      assert.deepEqual(results.map((r) => r.type), ["successful", "failed"]);
      const [ok, failed] = results;
      assert.equal(ok.returnValue, "second");
      assert.match(failed.excString ?? "", /ValueError: first run fails/);
      for (const r of results) {
        assert.equal(r.workerName, args.worker);
        assert.match(r.executionId ?? "", /\S/, "RQ 2.10 writes an execution id");
        assert.ok(r.executionStartedAt && r.executionEndedAt, "and the execution's start and end");
        assert.ok(r.executionStartedAt <= r.executionEndedAt);
        assert.ok(Math.abs(r.executionEndedAt.getTime() - r.createdAt.getTime()) < 5000);
      }
      assert.notEqual(ok.executionId, failed.executionId, "each run is its own execution");
      // The same history as RQ 2.10 itself reads it.
      const seen = JSON.parse(
        await py(
          "2.10",
          `
job = Job.fetch(A, connection=r, serializer=JSONSerializer)
sys.stdout.write(json.dumps([[res.id, value(res.type), res.execution_id] for res in job.results()]))`,
          job.id,
        ),
      );
      assert.deepEqual(seen, results.map((r) => [r.id, r.type === "successful" ? 1 : 2, r.executionId]));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
  { timeout: 60_000 },
);

for (const line of ["1.13", "2.10"] as const) {
  test(`an rqts worker's results history reads in RQ ${line}'s Job.results(), newest first`, async () => {
    await using q = await freshQueue();
    const job = await q.enqueue(`${JOBS}#fail`, "boom");
    const ok = await q.enqueue(`${JOBS}#add`, 2, 3);
    const run = async () => {
      const worker = new Worker([q.name], { connection: await redisUrl(), logger: { log() {} }, handleSignals: false });
      await worker.work({ burst: true });
    };
    await run();
    await q.failedJobRegistry.requeue(job);
    await run();
    const ours = await job.results();
    const seen = JSON.parse(
      await py(
        line,
        `
out = []
for job_id in A:
    job = Job.fetch(job_id, connection=r, serializer=JSONSerializer)
    out.append([[res.id, value(res.type), res.return_value, res.exc_string, getattr(res, "worker_name", "")]
                for res in job.results()])
sys.stdout.write(json.dumps(out))`,
        [job.id, ok.id],
      ),
    );
    assert.equal(seen[0].length, 2);
    assert.deepEqual(seen[0].map((e: unknown[]) => e[0]), ours.map((r) => r.id), "the same entries, newest first");
    for (const e of seen[0]) {
      assert.equal(e[1], 2);
      assert.match(e[3], /Error: boom/);
    }
    assert.deepEqual(seen[1].map((e: unknown[]) => e.slice(1, 4)), [[1, 5, null]]);
  }, { timeout: 60_000 });
}
