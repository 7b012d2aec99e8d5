// Enqueues a batch in one transaction (Queue.prepareData + enqueueMany), runs a burst worker in a subprocess, as
// you would in production, and waits for each result. Run it from this directory: bun batch.ts
import process from "node:process";
import { Queue } from "@rqts/rqts";
import { fib } from "./jobs.ts";

const QUEUE = "bun-batch";
// Redis from REDIS_URL, else redis://127.0.0.1:6379. References are paths from the project root, the folder the worker
// runs in: this example lives inside the rqts checkout, whose deno.json would make that the root, so jobRoot names this
// folder (a project of your own leaves it out).
await using queue = new Queue(QUEUE, { jobRoot: import.meta.dir });

const inputs = [10, 20, 30, 40, 50, 60, 70];
const jobs = await queue.enqueueMany(inputs.map((n) => Queue.prepareData(fib, { args: [n], resultTtl: 60 })));
console.log(`enqueued ${jobs.length} jobs in one transaction: ${jobs[0].funcName}`);

// The rqts CLI on Bun: `bun ../../runtime/bun/bin.ts worker bun-batch --burst` (from the installed npm package:
// `bun node_modules/.bin/rqts worker …`). It runs in this working directory, so "./jobs.ts#fib" resolves to this folder's jobs.ts.
const cli = `${import.meta.dir}/../../runtime/bun/bin.ts`;
const worker = Bun.spawn([process.execPath, cli, "worker", QUEUE, "--burst"], { stdout: "inherit", stderr: "inherit" });

for (const job of jobs) {
  const result = await job.latestResult({ timeout: 30 }); // blocks on the job's results stream, no polling
  console.log(`fib(${job.args[0]}) = ${result ? result.returnValue ?? result.type : "no result within 30 s"}`);
}
console.log(`worker exited with code ${await worker.exited}`);
