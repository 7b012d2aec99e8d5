// A worker process for the chaos run (test/chaos/chaos.ts starts and SIGKILLs these): the library's Worker with the
// options the CLI does not take (livenessTtl). Runs on Deno and Bun from the sources, on Node from the npm build
// (npm/esm/test/chaos/chaos_worker.js).
//
//   deno run -A test/chaos/chaos_worker.ts --url redis://127.0.0.1:6379 --name w1 --queues chaos-x,chaos-x-stable \
//     [--concurrency 2] [--liveness-ttl 2] [--job-root DIR] [--log-level warning] [--with-scheduler]
//     [--scheduler-lock-ttl 10]

import process from "node:process";
import { parseArgs } from "node:util";
import { type LogLevel, Worker, type WorkerOptions } from "../../mod.ts";

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: {
    url: { type: "string" },
    name: { type: "string" },
    queues: { type: "string", default: "default" },
    concurrency: { type: "string", default: "1" },
    "liveness-ttl": { type: "string", default: "2" },
    "job-root": { type: "string" },
    "log-level": { type: "string", default: "warning" },
    "with-scheduler": { type: "boolean", default: false },
    "scheduler-lock-ttl": { type: "string", default: "10" },
  },
});

if (!values.url) {
  console.error("chaos_worker: --url is required");
  process.exit(2);
}

// livenessTtl: how long a worker's liveness key lives (seconds); a short one lets live workers recover a killed one's
// jobs within seconds. (Typed loosely so this file also compiles against a worker.ts from before the option.)
const options: WorkerOptions & { livenessTtl?: number } = {
  connection: values.url,
  name: values.name,
  concurrency: Number(values.concurrency),
  livenessTtl: Number(values["liveness-ttl"]),
  jobRoot: values["job-root"] ?? process.cwd(),
  logLevel: values["log-level"] as LogLevel,
  withScheduler: values["with-scheduler"],
  schedulerLockTtl: Number(values["scheduler-lock-ttl"]),
};
const worker = new Worker(values.queues!.split(","), options);
await worker.work();
process.exit(0);
