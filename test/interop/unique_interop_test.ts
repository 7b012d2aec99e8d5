// Issue 19 item 7: unique jobs across RQ 2.10 and rqts on one Redis: each side's unique enqueue refuses an id the
// other side enqueued (Python: rq.exceptions.DuplicateJobError; rqts: DuplicateJobError), and a job rqts enqueued
// with unique: true reads in RQ 2.10 as any other.

import assert from "node:assert/strict";
import { DuplicateJobError } from "../../mod.ts";
import { python, redisUrl, test } from "../_harness.ts";
import { freshQueue } from "../_fixtures.ts";
import { RQ2_PATH } from "./_rq2.ts";

const PRELUDE = `
import json, os, sys
from redis import Redis
from rq import Queue
from rq.exceptions import DuplicateJobError
from rq.job import Job
from rq.serializers import JSONSerializer

r = Redis.from_url(os.environ["RQTS_URL"])
A = json.loads(os.environ["RQTS_ARGS"])
q = Queue(A["queue"], connection=r, serializer=JSONSerializer)
`;

async function py210(body: string, args: unknown): Promise<string> {
  const env = {
    RQTS_URL: await redisUrl(),
    RQTS_ARGS: JSON.stringify(args),
    PYTHONPATH: RQ2_PATH ?? "/work/shared/peers/rq-2.10",
  };
  return (await python(PRELUDE + body, env)).trim();
}

test("unique ids are refused across RQ 2.10 and rqts, both ways; rqts' unique job reads in RQ 2.10", async () => {
  await using q = await freshQueue();
  const ours = `${q.name}-ours`;
  const theirs = `${q.name}-theirs`;
  await q.enqueueCall("interop_tasks.add", { args: [1, 2], jobId: ours, unique: true });
  const seen = JSON.parse(
    await py210(
      `
job = Job.fetch(A["ours"], connection=r, serializer=JSONSerializer)
try:
    q.enqueue("interop_tasks.add", 5, 6, job_id=A["ours"], unique=True)
    refused = False
except DuplicateJobError:
    refused = True
q.enqueue("interop_tasks.add", 3, 4, job_id=A["theirs"], unique=True)
sys.stdout.write(json.dumps([refused, job.func_name, job.args, job.get_status(refresh=False), q.job_ids]))`,
      { queue: q.name, ours, theirs },
    ),
  );
  assert.deepEqual(seen, [true, "interop_tasks.add", [1, 2], "queued", [ours, theirs]]);
  const refused = await q.enqueueCall("interop_tasks.add", { args: [7, 8], jobId: theirs, unique: true }).catch((e) =>
    e
  );
  assert.ok(refused instanceof DuplicateJobError, String(refused));
  assert.deepEqual((await q.fetchJob(theirs))?.args, [3, 4]);
  assert.deepEqual(await q.getJobIds(), [ours, theirs]);
}, { timeout: 60_000 });
