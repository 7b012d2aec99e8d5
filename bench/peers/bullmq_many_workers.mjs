// BullMQ's side of the many-workers benchmark (bench/many_workers.ts): one role per process.
//
//   node bench/peers/bullmq_many_workers.mjs --role worker --url URL --queue NAME [--concurrency 4]
//                                            [--processor sandboxed|inprocess]
//       One Worker: `sandboxed` runs bench/peers/bullmq_noop_processor.cjs in BullMQ's child processes (forked on
//       demand, up to `concurrency`, reused: as bench/worker.ts measures BullMQ), `inprocess` an `async () => {}` in
//       this process. Prints "ready" once the worker is connected; on SIGTERM or SIGINT closes it (running jobs
//       finish) and prints one JSON line, {"jobs": <jobs this worker completed>}, then exits.
//   node bench/peers/bullmq_many_workers.mjs --role feeder --url URL --queue NAME
//       Reads commands from stdin, one a line, and answers each with one line, "ok <ms>", once done:
//         add N     N `{ name: "noop", data: {} }` jobs with addBulk, 10,000 a call (BullMQ's default job options)
//         pause     queue.pause(): workers take no job until resume (jobs added meanwhile wait)
//         resume    queue.resume()
//       Exits when stdin ends.
// Plain ESM JavaScript on purpose: Node 20 cannot strip TypeScript types. Diagnostics go to stderr.
import { Queue, Worker } from "bullmq";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { bullmqConnection } from "./_bullmq_connection.mjs";

const { values } = parseArgs({
  options: {
    role: { type: "string" },
    url: { type: "string", default: process.env.REDIS_URL ?? "redis://127.0.0.1:6379" },
    queue: { type: "string" },
    concurrency: { type: "string", default: "4" },
    processor: { type: "string", default: "sandboxed" },
  },
});
if (!values.queue) throw new Error("--queue is required");
const connection = bullmqConnection(values.url, "bullmq_many_workers");
const PROCESSOR = fileURLToPath(new URL("./bullmq_noop_processor.cjs", import.meta.url));
const CHUNK = 10_000;

async function worker() {
  if (!["sandboxed", "inprocess"].includes(values.processor)) {
    throw new Error(`--processor: sandboxed or inprocess, got ${values.processor}`);
  }
  const processor = values.processor === "sandboxed" ? PROCESSOR : async () => {};
  const w = new Worker(values.queue, processor, {
    connection,
    concurrency: Number.parseInt(values.concurrency, 10),
  });
  let jobs = 0;
  w.on("completed", () => jobs++);
  w.on("failed", (job, err) => console.error(`bullmq_many_workers: job ${job?.id} failed: ${err?.message}`));
  w.on("error", (err) => console.error("bullmq_many_workers: worker error:", err));
  let closing;
  const close = () => {
    closing ??= w.close().then(() => {
      process.stdout.write(JSON.stringify({ jobs }) + "\n");
      process.exit(0);
    });
  };
  process.on("SIGTERM", close);
  process.on("SIGINT", close);
  await w.waitUntilReady();
  process.stdout.write("ready\n");
}

async function feeder() {
  const queue = new Queue(values.queue, { connection });
  queue.on("error", (err) => console.error("bullmq_many_workers: queue error:", err));
  await queue.waitUntilReady();
  const commands = {
    add: async (n) => {
      for (let done = 0; done < n; done += CHUNK) {
        const count = Math.min(CHUNK, n - done);
        await queue.addBulk(Array.from({ length: count }, () => ({ name: "noop", data: {} })));
      }
    },
    pause: () => queue.pause(),
    resume: () => queue.resume(),
  };
  for await (const line of createInterface({ input: process.stdin })) {
    const [name, arg] = line.trim().split(/\s+/);
    if (!commands[name]) throw new Error(`feeder: unknown command ${line}`);
    const t0 = performance.now();
    await commands[name](Number.parseInt(arg ?? "0", 10));
    process.stdout.write(`ok ${(performance.now() - t0).toFixed(1)}\n`);
  }
  await queue.close();
}

if (values.role === "worker") await worker();
else if (values.role === "feeder") await feeder();
else throw new Error(`--role: worker or feeder, got ${values.role}`);
