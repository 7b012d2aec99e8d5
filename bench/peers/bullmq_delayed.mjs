// BullMQ 6.7 delayed jobs (peer for the rqts scheduler benchmark, bench/scheduler.ts).
//
// Plain ESM JavaScript on purpose: Node 20 cannot strip TypeScript types.
//
//   node bench/peers/bullmq_delayed.mjs --url redis://127.0.0.1:6379 --n 1000 --spread 5 --burst 10000
//
// Each scenario starts an in-process Worker (`async () => {}`, concurrency 1) on a fresh queue, and waits until it
// runs (an uncounted job), then:
//   lateness  N jobs added with one addBulk, each with `timestamp: t0, delay: due - t0` (so its due time is exactly
//             `due`), due evenly across SPREAD seconds starting 2 s from now; once all have completed, each job's
//             processedOn minus its due time, in ms.
//   burst     BURST jobs due at the same whole second, 3+ s from now (one addBulk); the time from that second until
//             bull:<queue>:delayed is empty (every job moved to wait), polled every 2 ms.
// The worker is closed and the queue obliterated afterwards. Prints exactly one JSON line on stdout:
//   {"bullmq_lateness_p50_ms", "bullmq_lateness_p99_ms", "bullmq_lateness_mean_ms", "bullmq_lateness_max_ms",
//    "bullmq_burst_queued_ms"}
import { Queue, Worker } from "bullmq";
import { randomBytes } from "node:crypto";
import { parseArgs } from "node:util";
import { bullmqConnection } from "./_bullmq_connection.mjs";

const { values } = parseArgs({
  options: {
    url: { type: "string", default: process.env.REDIS_URL ?? "redis://127.0.0.1:6379" },
    n: { type: "string", default: "1000" },
    spread: { type: "string", default: "5" },
    burst: { type: "string", default: "10000" },
  },
});
const N = Number.parseInt(values.n, 10);
const SPREAD_MS = Number.parseFloat(values.spread) * 1000;
const BURST = Number.parseInt(values.burst, 10);
const connection = bullmqConnection(values.url, "bullmq_delayed");

const uniqueName = (tag) => `bullschedbench-${tag}-${process.pid}-${randomBytes(4).toString("hex")}`;
const percentile = (sorted, p) => sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)];
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** A running worker on a fresh queue, with one job already through it. */
async function running(tag) {
  const queue = new Queue(uniqueName(tag), { connection });
  const worker = new Worker(queue.name, async () => {}, { connection, concurrency: 1 });
  await worker.waitUntilReady();
  const first = new Promise((resolve) => worker.once("completed", resolve));
  await queue.add("warm", {});
  await first;
  return { queue, worker };
}

async function close({ queue, worker }) {
  await worker.close();
  await queue.obliterate({ force: true });
  await queue.close();
}

async function lateness() {
  const run = await running("late");
  try {
    const t0 = Date.now();
    const due = Array.from({ length: N }, (_, i) => t0 + 2000 + (SPREAD_MS * i) / N);
    const jobs = await run.queue.addBulk(
      due.map((d) => ({ name: "noop", data: {}, opts: { timestamp: t0, delay: d - t0 } })),
    );
    const deadline = Date.now() + SPREAD_MS + 60_000;
    while ((await run.queue.getCompletedCount()) < N + 1) {
      if (Date.now() > deadline) throw new Error("lateness: not every job completed within 60 s of the last due time");
      await sleep(100);
    }
    const samples = [];
    for (let i = 0; i < jobs.length; i++) {
      const job = await run.queue.getJob(jobs[i].id);
      samples.push(job.processedOn - due[i]);
    }
    samples.sort((a, b) => a - b);
    return {
      bullmq_lateness_p50_ms: percentile(samples, 0.5),
      bullmq_lateness_p99_ms: percentile(samples, 0.99),
      bullmq_lateness_mean_ms: samples.reduce((a, b) => a + b, 0) / samples.length,
      bullmq_lateness_max_ms: samples[samples.length - 1],
    };
  } finally {
    await close(run);
  }
}

async function burst() {
  const run = await running("burst");
  try {
    const t0 = Date.now();
    const at = Math.ceil((t0 + 3000) / 1000) * 1000;
    await run.queue.addBulk(
      Array.from({ length: BURST }, () => ({ name: "noop", data: {}, opts: { timestamp: t0, delay: at - t0 } })),
    );
    if (Date.now() >= at) throw new Error("burst: adding took longer than the 3 s before the due time");
    while ((await run.queue.getDelayedCount()) > 0) { // ZCARD bull:<queue>:delayed
      if (Date.now() > at + 120_000) throw new Error("burst: jobs still delayed 120 s after their due time");
      await sleep(2);
    }
    return { bullmq_burst_queued_ms: Date.now() - at };
  } finally {
    await close(run);
  }
}

try {
  const out = { ...(await lateness()), ...(await burst()) };
  console.log(JSON.stringify(out));
  process.exit(0);
} catch (error) {
  console.error("bullmq_delayed failed:", error);
  process.exit(1);
}
