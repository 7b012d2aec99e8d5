// Issue 19 item 3: Python RQ's worker commands (rq.command: send_stop_job_command, send_kill_horse_command,
// send_shutdown_command), from Debian's RQ 1.13 and from RQ 2.10, reach an rqts worker; Python reads the stopped job
// back as it reads its own (status stopped, in the failed registry, a failed result with RQ's exc_string).

import assert from "node:assert/strict";
import { type Job, type LogLevel, Worker } from "../../mod.ts";
import { redisUrl, test } from "../_harness.ts";
import { freshQueue } from "../_fixtures.ts";
import { until, workerName } from "../_process.ts";
import { rqPython } from "./_rq2.ts";

const JOBS = "./test/fixtures/jobs.ts";

const PRELUDE = `
import json, os, sys
from redis import Redis
from rq.command import send_kill_horse_command, send_shutdown_command, send_stop_job_command
from rq.job import Job
from rq.registry import FailedJobRegistry
from rq.serializers import JSONSerializer
import rq

r = Redis.from_url(os.environ["RQTS_URL"])
A = json.loads(os.environ["RQTS_ARGS"])
value = lambda v: getattr(v, "value", v)
`;

const py = (line: "1.13" | "2.10", body: string, args: unknown) => rqPython(line, PRELUDE + body, args);

for (const line of ["1.13", "2.10"] as const) {
  test(
    `RQ ${line}'s send_stop_job_command, send_kill_horse_command and send_shutdown_command drive an rqts worker; RQ ${line} reads the stopped job`,
    async () => {
      await using q = await freshQueue();
      const c = q.connection;
      const stopMe = await q.enqueue(`${JOBS}#sleep`, 30);
      const killMe = await q.enqueue(`${JOBS}#sleep`, 30);
      const last = await q.enqueue(`${JOBS}#sleep`, 1);
      const lines: string[] = [];
      const worker = new Worker([q.name], {
        connection: await redisUrl(),
        name: workerName(),
        handleSignals: false,
        logger: { log: (level: LogLevel, message: string) => void lines.push(`${level}: ${message}`) },
      });
      const done = worker.work();
      const log = () => lines.join("\n");
      // In a horse: the worker logged its start (a job taken ahead is "started" before it runs).
      const started = (job: Job) => until(`${job.id} to run in a horse`, () => log().includes(`(${job.id})`), 8000);
      try {
        await until("the worker to subscribe", async () => {
          const [, n] = await c.call<[string, number]>(["PUBSUB", "NUMSUB", `rq:pubsub:${worker.name}`]);
          return Number(n) === 1;
        }, 8000);
        assert.equal(await py(line, "sys.stdout.write(rq.__version__)", null), line === "1.13" ? "1.13.0" : "2.10.0");

        await started(stopMe);
        await py(line, `send_stop_job_command(r, A, serializer=JSONSerializer)`, stopMe.id);
        await until("the job to stop", async () => (await stopMe.getStatus()) === "stopped", 8000);

        await started(killMe);
        await py(line, `send_kill_horse_command(r, A)`, worker.name);
        await until("the job to fail", async () => (await killMe.getStatus()) === "failed", 8000);

        await started(last);
        await py(line, `send_shutdown_command(r, A)`, worker.name);
        await done; // a warm stop: the running job finished first
        assert.equal(await last.getStatus(), "finished", log());

        const seen = JSON.parse(
          await py(
            line,
            `
job = Job.fetch(A["id"], connection=r, serializer=JSONSerializer)
result = job.latest_result()
out = [value(job.get_status()), A["id"] in FailedJobRegistry(A["queue"], connection=r).get_job_ids(),
       value(result.type), result.exc_string]
sys.stdout.write(json.dumps(out))`,
            { id: stopMe.id, queue: q.name },
          ),
        );
        assert.deepEqual(seen, ["stopped", true, 2, "Job stopped by user, work-horse terminated."]);
        assert.match(log(), /Received kill horse command/);
        assert.match(log(), /Warm shut down requested \(shutdown command\)/);
      } finally {
        worker.stop({ cold: true });
        await done.catch(() => {});
      }
    },
    { timeout: 60_000 },
  );
}
