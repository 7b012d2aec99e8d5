// BullMQ's side of the cold enqueueMany benchmark (bench/cold_enqueue.ts): in this fresh process, a Queue, ready, then
// the process's first `addBulk` of N noop jobs timed, the job list's building included (as bench/peers/
// bullmq_enqueue.mjs times its warm addBulk). Plain ESM JavaScript, run with node.
//
//   node bench/peers/bullmq_cold_enqueue.mjs --url redis://127.0.0.1:6379 --queue q --n 10000
//
// Prints one JSON line: first_ms, connect_ms (new Queue to waitUntilReady), process_ms (uptime when done).
import { Queue } from "bullmq";
import { parseArgs } from "node:util";
import { bullmqConnection } from "./_bullmq_connection.mjs";

const { values } = parseArgs({
  options: { url: { type: "string" }, queue: { type: "string" }, n: { type: "string", default: "10000" } },
});
const n = Number.parseInt(values.n, 10);
const t0 = performance.now();
const queue = new Queue(values.queue, { connection: bullmqConnection(values.url, "bullmq_cold_enqueue") });
await queue.waitUntilReady();
const t1 = performance.now();
await queue.addBulk(Array.from({ length: n }, () => ({ name: "noop", data: {} })));
const t2 = performance.now();
await queue.close();
process.stdout.write(
  JSON.stringify({ first_ms: t2 - t1, connect_ms: t1 - t0, process_ms: process.uptime() * 1000 }) + "\n",
);
