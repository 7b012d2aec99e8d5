// BullMQ's side of the Redis cost benchmark (bench/redis_cost.ts): one phase per process, so that the driver can read
// Redis' counters around it.
//
//   node bench/peers/bullmq_redis_cost.mjs --url redis://127.0.0.1:6379 --queue NAME --n 5000 --phase enqueue|work
//
//   enqueue  N sequential awaited `queue.add("noop", {})` (BullMQ's default job options: completed jobs kept)
//   work     one sandboxed Worker (bench/peers/bullmq_noop_processor.cjs, concurrency 1) drains the queue: closed
//            once N jobs completed
// Plain ESM JavaScript on purpose: Node 20 cannot strip TypeScript types. Prints one JSON line on stdout (the phase's
// wall time in ms); diagnostics go to stderr.
import { Queue, Worker } from "bullmq";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { bullmqConnection } from "./_bullmq_connection.mjs";

const { values } = parseArgs({
  options: {
    url: { type: "string", default: process.env.REDIS_URL ?? "redis://127.0.0.1:6379" },
    queue: { type: "string" },
    n: { type: "string", default: "5000" },
    phase: { type: "string" },
  },
});
const N = Number.parseInt(values.n, 10);
const PROCESSOR = fileURLToPath(new URL("./bullmq_noop_processor.cjs", import.meta.url));
const connection = bullmqConnection(values.url, "bullmq_redis_cost");
if (!values.queue) throw new Error("--queue is required");

async function enqueue() {
  const queue = new Queue(values.queue, { connection });
  try {
    for (let i = 0; i < N; i++) await queue.add("noop", {});
  } finally {
    await queue.close();
  }
}

async function work() {
  let done = 0;
  let failed;
  let finish;
  const drained = new Promise((resolve) => (finish = resolve));
  const worker = new Worker(values.queue, PROCESSOR, { connection, concurrency: 1 });
  worker.on("error", (err) => console.error("bullmq_redis_cost: worker error:", err));
  worker.on("failed", (job, err) => {
    failed ??= new Error(`job ${job?.id} failed: ${err?.message}`);
    finish();
  });
  worker.on("completed", () => {
    if (++done === N) finish();
  });
  try {
    await drained;
    if (failed) throw failed;
  } finally {
    await worker.close();
  }
}

const t0 = performance.now();
if (values.phase === "enqueue") await enqueue();
else if (values.phase === "work") await work();
else throw new Error(`--phase: enqueue or work, got ${values.phase}`);
process.stdout.write(JSON.stringify({ ms: performance.now() - t0 }) + "\n");
