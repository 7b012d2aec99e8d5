// BullMQ worker throughput and latency (peer for the rqts worker benchmark, bench/worker.ts).
//
// Plain ESM JavaScript on purpose: Node 20 cannot strip TypeScript types.
//
//   node bench/peers/bullmq_worker.mjs --url redis://127.0.0.1:6379 --n 3000 --latency 300
//
// Throughput: for each worker below, a Worker is started on a fresh queue (unique name) and warmed with
// 2 × concurrency jobs (every sandbox child forked and its processor loaded, as rqts' horses are before their first
// job); then N jobs are added in one addBulk and waited for; the worker is closed and the queue obliterated.
//   bullmq_sandboxed_c1   new Worker(q, "bench/peers/bullmq_noop_processor.cjs", { concurrency: 1 })
//   bullmq_sandboxed_c4   the same, concurrency 4 (BullMQ forks up to 4 child processes, reused across jobs)
//   bullmq_inprocess_c1   new Worker(q, async () => {}, { concurrency: 1 })
// each reported as
//   <name>_per_s       N / (max finishedOn - min processedOn) over the N jobs: the drain rate, with warm
//                      children (worker start-up and forks excluded, as for rqts and RQ)
//   <name>_wall_per_s  N / (time from `new Worker` to the N-th 'completed' event: start-up, forks and the
//                      2 × concurrency warm-up jobs included)
//   <name>_wall_ms     that time
// An uncounted warm-up (an in-process worker draining 200 jobs) loads BullMQ's scripts and JITs the client
// first.
//
// Latency: a running sandboxed worker (concurrency 1) and a QueueEvents; after 20 uncounted jobs, `--latency`
// jobs one at a time: `await queue.add("noop", {})` then `await job.waitUntilFinished(queueEvents)`, timed from
// the add call. Reported as bullmq_latency_{p50,p99,mean,max}_ms (nearest-rank percentiles).
//
// Connections: BullMQ's ordinary `connection: { host, port }` (it creates and closes its own ioredis clients).
// Jobs use BullMQ's default options (completed jobs are kept, as RQ keeps results for 500 s).
// Prints exactly one JSON line on stdout; diagnostics go to stderr.
//
// Note: this machine sets NODE_EXTRA_CA_CERTS, which adds ~50 ms to every Node process start, including each
// sandboxed child BullMQ forks (once per child: children are reused, and forked during the warm-up, so this lands
// in the wall time only, not in the drain rate).
import { Queue, QueueEvents, Worker } from "bullmq";
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { bullmqConnection } from "./_bullmq_connection.mjs";

const { values } = parseArgs({
  options: {
    url: { type: "string", default: process.env.REDIS_URL ?? "redis://127.0.0.1:6379" },
    n: { type: "string", default: "3000" },
    latency: { type: "string", default: "300" },
  },
});
const N = Number.parseInt(values.n, 10);
const LATENCY_N = Number.parseInt(values.latency, 10);
const WARMUP = 200;
const LATENCY_WARMUP = 20;
const PROCESSOR = fileURLToPath(new URL("./bullmq_noop_processor.cjs", import.meta.url));

const now = () => performance.now();
const connection = bullmqConnection(values.url, "bullmq_worker");

const uniqueName = (tag) => `bullworkerbench-${tag}-${process.pid}-${randomBytes(4).toString("hex")}`;

/** Nearest-rank percentile of an ascending array. */
const percentile = (sorted, p) => sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)];

/**
 * Starts a Worker on a fresh queue, warms it with 2 × concurrency jobs (so every sandbox child is forked and has
 * loaded the processor, as rqts' horses are before their first job), then adds `n` jobs in one addBulk and waits for
 * them; returns the figures under `key`.
 */
async function drain(key, processor, concurrency, n) {
  const name = uniqueName(key);
  const queue = new Queue(name, { connection });
  queue.on("error", (err) => console.error("bullmq_worker: queue error:", err));
  let worker;
  try {
    await queue.waitUntilReady();
    const pending = { warmup: 0, noop: 0 };
    const waiters = {};
    const until = (kind, count) => {
      pending[kind] = count;
      return new Promise((resolve) => (waiters[kind] = resolve));
    };
    let firstStart = Infinity;
    let lastEnd = -Infinity;
    let failed;
    const t0 = now();
    worker = new Worker(name, processor, { connection, concurrency });
    worker.on("error", (err) => console.error("bullmq_worker: worker error:", err));
    worker.on("failed", (job, err) => {
      failed ??= new Error(`${key}: job ${job?.id} failed: ${err?.message}`);
      for (const w of Object.values(waiters)) w();
    });
    worker.on("completed", (job) => {
      if (job.name === "noop") {
        if (job.processedOn < firstStart) firstStart = job.processedOn;
        if (job.finishedOn > lastEnd) lastEnd = job.finishedOn;
      }
      if (--pending[job.name] === 0) waiters[job.name]();
    });
    const warm = 2 * concurrency;
    const warmed = until("warmup", warm);
    await queue.addBulk(Array.from({ length: warm }, () => ({ name: "warmup", data: {} })));
    await warmed;
    if (failed) throw failed;
    const drained = until("noop", n);
    await queue.addBulk(Array.from({ length: n }, () => ({ name: "noop", data: {} })));
    await drained;
    const wall = now() - t0;
    if (failed) throw failed;
    return {
      [`${key}_per_s`]: n / ((lastEnd - firstStart) / 1000),
      [`${key}_wall_per_s`]: n / (wall / 1000),
      [`${key}_wall_ms`]: wall,
    };
  } finally {
    await worker?.close();
    try {
      await queue.obliterate({ force: true });
    } finally {
      await queue.close();
    }
  }
}

async function latency(n) {
  const name = uniqueName("latency");
  const queue = new Queue(name, { connection });
  const events = new QueueEvents(name, { connection });
  const worker = new Worker(name, PROCESSOR, { connection, concurrency: 1 });
  worker.on("error", (err) => console.error("bullmq_worker: worker error:", err));
  try {
    await Promise.all([queue.waitUntilReady(), events.waitUntilReady(), worker.waitUntilReady()]);
    const one = async () => {
      const t0 = now();
      const job = await queue.add("noop", {});
      await job.waitUntilFinished(events, 10_000);
      return now() - t0;
    };
    for (let i = 0; i < LATENCY_WARMUP; i++) await one();
    const samples = [];
    for (let i = 0; i < n; i++) samples.push(await one());
    samples.sort((a, b) => a - b);
    return {
      bullmq_latency_p50_ms: percentile(samples, 0.5),
      bullmq_latency_p99_ms: percentile(samples, 0.99),
      bullmq_latency_mean_ms: samples.reduce((a, b) => a + b, 0) / samples.length,
      bullmq_latency_max_ms: samples[samples.length - 1],
    };
  } finally {
    await worker.close();
    await events.close();
    try {
      await queue.obliterate({ force: true });
    } finally {
      await queue.close();
    }
  }
}

const result = {};
await drain("warmup", async () => {}, 1, WARMUP);
Object.assign(result, await drain("bullmq_sandboxed_c1", PROCESSOR, 1, N));
Object.assign(result, await drain("bullmq_sandboxed_c4", PROCESSOR, 4, N));
Object.assign(result, await drain("bullmq_inprocess_c1", async () => {}, 1, N));
if (LATENCY_N > 0) Object.assign(result, await latency(LATENCY_N));
process.stdout.write(JSON.stringify(result) + "\n");
