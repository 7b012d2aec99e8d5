// BullMQ enqueue throughput (peer for the rqts enqueue benchmark).
//
// Plain ESM JavaScript on purpose: Node 20 cannot strip TypeScript types.
//
//   node bench/peers/bullmq_enqueue.mjs --url redis://127.0.0.1:6379 --n 5000 --many 20000
//
// Measures (each after a warm-up that is not counted):
//   bullmq_add               sequential `await queue.add("noop", {})` x N      -> jobs/s
//   bullmq_add_bulk          one `queue.addBulk` of M jobs                     -> jobs/s
//   bullmq_add_concurrent100 Promise.all batches of 100 `add`s, N jobs total   -> jobs/s
//
// Nothing consumes the jobs, so removeOnComplete/removeOnFail are irrelevant:
// in bullmq 6.7 they are only read by moveToFinished (job completion), not by
// the addStandardJob script. The add path does include bullmq's default event
// stream XADD (capped by streams.events.maxLen), which is part of its normal cost.
//
// Redis client: BullMQ's ordinary one. bullmq 6.7 lists ioredis as an optional
// peer dependency (">=5.0.0"); the project pins ioredis 5.11.1 as a
// devDependency (the version bullmq 6.7.0 itself develops against). The queue
// gets `connection: { host, port }` (plus db/username/password when the URL
// has them), so BullMQ creates and owns its ioredis client exactly as BullMQ
// users run it; queue.close() closes it.
//
// The queue has a unique name and is obliterated afterwards; connections are
// closed. Prints exactly one JSON line on stdout:
//   {"bullmq_add": ..., "bullmq_add_bulk": ..., "bullmq_add_concurrent100": ...}
//
// Note: this machine sets NODE_EXTRA_CA_CERTS, which adds ~50 ms to every node
// start-up. That is outside every timed region, so it does not affect the
// throughput figures (only the wall-clock time of the whole run).
import { Queue } from "bullmq";
import { randomBytes } from "node:crypto";
import { parseArgs } from "node:util";
import { bullmqConnection } from "./_bullmq_connection.mjs";

const { values } = parseArgs({
  options: {
    url: { type: "string", default: process.env.REDIS_URL ?? "redis://127.0.0.1:6379" },
    n: { type: "string", default: "5000" },
    many: { type: "string", default: "20000" },
  },
});
const N = Number.parseInt(values.n, 10);
const MANY = Number.parseInt(values.many, 10);
const WARMUP = 200;
const CONCURRENCY = 100;

const now = () => performance.now();
const name = `bullbench-${process.pid}-${randomBytes(4).toString("hex")}`;
const connection = bullmqConnection(values.url, "bullmq_enqueue");
// BullMQ builds (and on close() closes) its own ioredis client from this.
const queue = new Queue(name, { connection });
queue.on("error", (err) => console.error("bullmq_enqueue: redis error:", err));

const result = {};
try {
  await queue.waitUntilReady();

  // Warm-up: connection, Lua script loading (EVALSHA caches), JIT.
  for (let i = 0; i < WARMUP; i++) await queue.add("noop", {});
  await queue.addBulk(Array.from({ length: WARMUP }, () => ({ name: "noop", data: {} })));
  await Promise.all(Array.from({ length: CONCURRENCY }, () => queue.add("noop", {})));

  // (a) sequential awaited add
  let t0 = now();
  for (let i = 0; i < N; i++) await queue.add("noop", {});
  result.bullmq_add = N / ((now() - t0) / 1000);

  // (b) addBulk (timing includes building the job array)
  t0 = now();
  const jobs = Array.from({ length: MANY }, () => ({ name: "noop", data: {} }));
  await queue.addBulk(jobs);
  result.bullmq_add_bulk = MANY / ((now() - t0) / 1000);

  // (c) 100 concurrent adds at a time, N in total
  t0 = now();
  for (let done = 0; done < N;) {
    const k = Math.min(CONCURRENCY, N - done);
    await Promise.all(Array.from({ length: k }, () => queue.add("noop", {})));
    done += k;
  }
  result.bullmq_add_concurrent100 = N / ((now() - t0) / 1000);

  const expected = 2 * WARMUP + CONCURRENCY + 2 * N + MANY;
  const waiting = await queue.getWaitingCount();
  if (waiting !== expected) {
    console.error(`bullmq_enqueue: warning: queue holds ${waiting} jobs, expected ${expected}`);
  }
} finally {
  try {
    await queue.obliterate({ force: true });
  } finally {
    await queue.close();
  }
}

process.stdout.write(JSON.stringify(result) + "\n");
