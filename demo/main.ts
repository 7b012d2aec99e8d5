// The rqts demo: the examples of RQ's "Queues" page, run for real against Redis (`deno task demo`).
// Uses REDIS_URL when set, else a private redis-server that is stopped at the end.
import { spawnSync } from "node:child_process";
import process from "node:process";
import { dashboard, FunctionReferenceError, Job, Queue, Worker } from "../mod.ts";
import { getRuntime } from "../src/runtime.ts";
import { startRedis } from "../scripts/redis_server.ts";
import {
  add,
  countWords,
  divide,
  fib,
  flaky,
  generateReport,
  reportFailure,
  reportSuccess,
  sendReport,
} from "./jobs.ts";

const SEED = "A job is a Python object, representing a function that is invoked asynchronously in a worker " +
  "(background) process. Any Python function can be invoked asynchronously, by simply pushing a reference to " +
  "the function and its arguments onto a queue. This is called enqueueing.";

const heading = (title: string) => console.log(`\n== ${title} ==`);
const show = (label: string, value: unknown) =>
  console.log(`  ${label.padEnd(26)} ${typeof value === "string" ? value : JSON.stringify(value)}`);
const created: Job[] = []; // every job the demo makes, deleted at the end
const track = <J extends Job>(...jobs: J[]) => (created.push(...jobs), jobs[0]);

async function demo(url: string): Promise<void> {
  await using q = new Queue("default", { connection: url }); // new Queue() alone would use REDIS_URL too
  await using low = new Queue("low", { connection: url });

  heading("1. Enqueueing jobs");
  const job = track(await q.enqueue(countWords, "There's nothing special about this function!"));
  show("job.id", job.id);
  show("job.funcName", job.funcName);
  show("job.description", job.description);
  show("job.status", job.status);
  show("job.timeout", job.timeout);
  show("await job.result", await job.result); // null: no worker has run it yet
  show("q.count()", await q.count());
  track(await low.enqueue(countWords, "a common naming pattern"));
  show("Queue.all()", (await Queue.all({ connection: q.connection })).map(String).join(", "));

  heading("2. enqueueCall: job options vs the function's own arguments");
  const withTtl = track(
    await low.enqueueCall(countWords, {
      ttl: 30, // used by rqts, as by RQ
      args: ["http://nvie.com"],
      kwargs: { description: "Function description", ttl: 15 }, // passed on to countWords
    }),
  );
  show("job.ttl", withTtl.ttl);
  show("job.args / kwargs", [withTtl.args, withTtl.kwargs]);
  show("job.description", withTtl.description);
  const py = track(await low.enqueue("my_package.my_module.my_func", 3, 4));
  show("Python dotted name", `${py.funcName} (stored verbatim, for a Python worker)`);
  try {
    await low.enqueue(function plain() {});
  } catch (e) {
    show("a plain function", `${(e as Error).name}: ${(e as Error).message.slice(0, 70)}...`);
    if (!(e instanceof FunctionReferenceError)) throw e;
  }

  heading("3. enqueueMany with Queue.prepareData");
  const many = await q.enqueueMany([
    Queue.prepareData(countWords, { args: ["http://nvie.com"], jobId: "my_job_id" }),
    Queue.prepareData(countWords, { args: ["http://nvie.com"], jobId: "my_other_job_id" }),
  ]);
  track(...many);
  show("job ids", many.map((j) => j.id));
  const pipe = q.pipeline(); // or a node-redis client.multi(); the caller executes it
  track(
    ...await q.enqueueMany([Queue.prepareData(fib, { args: [10] }), Queue.prepareData(fib, { args: [11] })], {
      pipeline: pipe,
    }),
  );
  show("before pipe.exec()", `q.count() = ${await q.count()}`);
  await pipe.exec();
  show("after pipe.exec()", `q.count() = ${await q.count()}`);
  show("q.getJobIds(0, 3)", await q.getJobIds(0, 3));
  show("q.fetchJob('my_job_id')", String(await q.fetchJob("my_job_id")));

  heading("4. Job dependencies");
  const report = track(await low.enqueue(generateReport));
  const send = track(await low.enqueueCall(sendReport, { args: ["boss@example.com"], dependsOn: report }));
  show("sendReport status", send.status);
  show("dependencyIds", send.dependencyIds);
  show("deferred registry", await low.deferredJobRegistry.getJobIds());
  show("low.count()", `${await low.count()} (deferred jobs are not counted)`);
  const both = track(await low.enqueueCall(sendReport, { args: ["team@example.com"], dependsOn: [report, job] }));
  show("two dependencies", `${both.status}, on ${both.dependencyIds.length} jobs`);

  heading("5. A worker runs them: new Worker(['default', 'low']).work({ burst: true })");
  // Each job runs in a horse (a child process) under its timeout; the log reads like RQ's. Burst: quit when empty.
  const worker = new Worker(["default", "low"], { connection: url, logLevel: "info", handleSignals: false });
  await worker.work({ burst: true });
  show("countWords: await job.result", await job.result);
  show("many[0] (my_job_id)", await many[0].result);
  show("generateReport", `${await report.getStatus()}: ${await report.result}`);
  show("sendReport (was deferred)", `${await send.getStatus()}: ${await send.result}`);
  show("the Python job", `${await py.getStatus()}: ${(await py.excInfo)?.split("\n")[0].slice(0, 70)}...`);
  show("finished registry", `${await q.finishedJobRegistry.count()} + ${await low.finishedJobRegistry.count()} jobs`);

  heading("6. Bypassing workers: new Queue('low', { isAsync: false })");
  await using sync = new Queue("low", { connection: url, isAsync: false });
  const f = track(await sync.enqueueCall(fib, { args: [8], onSuccess: reportSuccess }));
  show("fib(8): await job.result", await f.result);
  show("job.getStatus()", await f.getStatus());
  show("await add(3, 4) directly", await add(3, 4));
  const delayed = track(await add.delay(3, 4)); // on the decorator's queue "low", which is asynchronous
  show("add.delay(3, 4)", `${delayed.status} on '${delayed.origin}' (timeout ${delayed.timeout} s), for a worker`);
  const seven = track(await sync.enqueue(add, 3, 4));
  show("sync.enqueue(add, 3, 4)", await seven.result);
  const words = track(await sync.enqueue(countWords, SEED));
  show("countWords(seed intro)", await words.result);
  const r = track(await sync.enqueue(generateReport));
  const s = track(await sync.enqueueCall(sendReport, { args: ["boss@example.com"], dependsOn: r }));
  show("chain: generateReport", await r.result);
  show("chain: then sendReport", await s.result);
  const bad = track(await sync.enqueueCall(divide, { args: [1, 0], onFailure: reportFailure }));
  show("divide(1, 0) status", await bad.getStatus());
  show("job.excInfo (1st line)", (await bad.excInfo)?.split("\n")[0]);
  show("failed registry", await sync.failedJobRegistry.getJobIds());
  show("finished registry", `${await sync.finishedJobRegistry.count()} jobs`);

  heading("7. Time: a scheduled job and a retried job");
  const soon = track(await q.enqueueIn(1, countWords, "due in one second")); // or enqueueAt(date, ...), "5m", ...
  const due = await q.scheduledJobRegistry.getScheduledTime(soon);
  show("enqueueIn(1, ...) status", `${soon.status}, due ${due.toISOString()}`);
  const retried = track(await q.enqueueCall(flaky, { retry: { max: 1 } })); // interval 0: straight back to the queue
  show("retry: { max: 1 }", `retriesLeft ${retried.retriesLeft}`);
  // A running worker with the scheduler (`rqts worker --with-scheduler`): it queues the job when it is due.
  const timed = new Worker(["default"], { connection: url, handleSignals: false, withScheduler: true });
  const working = timed.work();
  const settled = async (j: Job) => {
    for (let i = 0; i < 200 && !["finished", "failed"].includes(await j.getStatus() ?? ""); i++) {
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  await settled(soon);
  await settled(retried);
  timed.stop();
  await working;
  const started = (await Job.fetch(soon.id, { connection: q.connection })).startedAt!;
  show(
    "the scheduled job",
    `${await soon.getStatus()}: ${await soon.result}, started ${started.getTime() - due.getTime()} ms after due`,
  );
  show("the retried job", `${await retried.getStatus()}: ${await retried.result}`);
  show("its tries (job.results())", (await retried.results()).map((r) => r.type).reverse().join(", "));

  heading("8. Interop with Python RQ 1.13 (JSONSerializer)");
  if (spawnSync("/usr/bin/python3", ["-c", "import rq"]).status !== 0) {
    console.log("  (skipped: /usr/bin/python3 has no rq module; bash scripts/setup.sh installs python3-rq)");
  } else {
    const script = `
import os, rq
from redis import Redis
from rq import Queue
from rq.job import Job
from rq.serializers import JSONSerializer
r = Redis.from_url(os.environ["URL"])
print(f"  Python rq {rq.__version__}: len(Queue('default')) = {len(Queue('default', connection=r))}")
for job_id in os.environ["IDS"].split():
    j = Job.fetch(job_id, connection=r, serializer=JSONSerializer)
    print(f"  {j.func_name!r} args={j.args!r} status={j.get_status()!r} return_value={j.return_value()!r}")
job = Queue("low", connection=r, serializer=JSONSerializer).enqueue("app.tasks.count_words", "hello from Python")
print(job.id)
`;
    const env = { ...process.env, URL: url, IDS: `${job.id} ${py.id} ${f.id}` };
    const out = spawnSync("/usr/bin/python3", ["-c", script], { env, encoding: "utf8" });
    if (out.status !== 0) throw new Error(`python3 failed:\n${out.stderr}`);
    const lines = out.stdout.trimEnd().split("\n");
    console.log(lines.slice(0, -1).join("\n"));
    const fromPython = track(await Job.fetch(lines.at(-1)!, { connection: q.connection }));
    show("rqts reads Python's job", `${fromPython.funcName} ${JSON.stringify(fromPython.args)} ${fromPython.status}`);
  }

  if (process.env.DASHBOARD) await showDashboard(url);

  heading("9. Cleaning up");
  for (const j of created) {
    await j.delete();
    await q.connection.call(["DEL", `rq:results:${j.id}`]); // Job.delete keeps the results stream, as RQ does
  }
  show("jobs deleted", created.length);
  for (const queue of [q, low]) {
    if ((await queue.count()) === 0) await queue.delete(); // on a shared Redis, never someone else's jobs
  }
  show("Queue.all() now", (await Queue.all({ connection: q.connection })).map(String).join(", ") || "(none)");
}

/** With DASHBOARD=1 (DASHBOARD_PORT, default 9181): the demo's jobs in the dashboard until Ctrl-C, then cleanup. */
async function showDashboard(url: string): Promise<void> {
  heading("The dashboard");
  const handler = dashboard({ connection: url });
  const port = Number(process.env.DASHBOARD_PORT ?? 9181);
  const server = await getRuntime().serve(handler, { hostname: "127.0.0.1", port });
  console.log(`  http://127.0.0.1:${server.port}/ shows the demo's queues and jobs; Ctrl-C cleans up and ends.`);
  await new Promise<void>((resolve) => process.once("SIGINT", () => resolve()));
  await server.close();
  await handler.close();
}

const server = process.env.REDIS_URL ? undefined : await startRedis();
const url = process.env.REDIS_URL ?? server!.url;
process.env.REDIS_URL = url; // the job() decorator's queue ("low", for add.delay) connects through REDIS_URL
console.log(`rqts demo on ${url}${server ? " (a private redis-server)" : ""}`);
try {
  await demo(url);
} finally {
  await add.close();
  await server?.stop();
}
console.log("\ndone.");
