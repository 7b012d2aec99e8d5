// Enqueues a chain of three jobs (each dependsOn the one before), then prints their results in order as a worker
// runs them. Runs unchanged on Node (`node main.js`) and Bun (`bun main.js`).
import process from "node:process";
import { Queue } from "rqts";
import { fetchOrder, priceOrder, sendInvoice } from "./jobs.js";

const runtime = globalThis.Bun ? `bun ${globalThis.Bun.version}` : `node ${process.versions.node}`;
console.log(`${runtime}: "rqts" resolves to ${import.meta.resolve("rqts")}`);

const queue = new Queue(process.argv[2] ?? "orders"); // Redis from REDIS_URL, else redis://127.0.0.1:6379
try {
  const fetched = await queue.enqueue(fetchOrder, 42);
  const priced = await queue.enqueueCall(priceOrder, { dependsOn: fetched });
  const sent = await queue.enqueueCall(sendInvoice, { args: ["ann@example.com"], dependsOn: priced });
  console.log(
    `enqueued on '${queue.name}': ${[fetched, priced, sent].map((j) => `${j.funcName} (${j.status})`).join(" -> ")}`,
  );

  for (const [i, job] of [fetched, priced, sent].entries()) {
    const result = await job.latestResult({ timeout: 60 }); // blocks until the worker has run it
    console.log(`${i + 1}. ${job.funcName}: ${result?.type ?? "no result"} ${JSON.stringify(result?.returnValue)}`);
  }
} finally {
  await queue.close(); // Node 20 has no `await using`
}
