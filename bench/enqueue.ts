/**
 * Enqueue throughput: rqts vs Python RQ 1.13 vs BullMQ 6.7, on one Redis, in one run.
 *
 *   deno task bench                         (= deno run --allow-all bench/enqueue.ts)
 *   tools/node_modules/.bin/bun bench/enqueue.ts   (Deno and Bun come from tools/, see scripts/setup.sh)
 *   ... [--n 5000] [--many 10000] [--rounds 3]
 *
 * Each of --rounds rounds measures rqts, then Python RQ, then BullMQ; every figure printed is the median over the
 * rounds (the machine's speed drifts by ±20% over a minute, so one measurement of each tool in turn can land a slow
 * spell on one tool only); the JSON keeps every round.
 *
 * Uses REDIS_URL when set (then nothing is flushed: every queue has a unique name and is deleted
 * afterwards), else starts a private redis-server (scripts/redis_server.ts) and FLUSHALLs it
 * between phases. Each phase does a warm-up that is not counted.
 *
 * rqts (this process, from ../mod.ts):
 *   rqts_enqueue               N sequential awaited `queue.enqueue("bench_tasks.noop")`
 *   rqts_enqueue_concurrent100 N enqueues in Promise.all batches of 100
 *   rqts_enqueue_many          one `enqueueMany` of M `Queue.prepareData(...)` (prepareData timed too)
 *   ping_per_s                 sequential PINGs per second over the connection rqts sends on, i.e. the
 *                              ceiling for anything that needs one round trip per job
 * Peers (bench/peers/, separate processes): rq_enqueue, rq_enqueue_many (/usr/bin/python3);
 * bullmq_add, bullmq_add_bulk, bullmq_add_concurrent100 (node, BullMQ over ioredis).
 *
 * Prints a table and the target ratios with PASS/MISS, and writes the raw figures to
 * bench/results/enqueue-<runtime>.json. Exits 0 on MISS (it is a report), non-zero on any error.
 *
 * Portable on purpose: `node:` modules only (no Deno.* / Bun.* APIs beyond reading the version).
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { relative } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { Queue } from "../mod.ts";
import { redisUrlOrStart, runJson } from "../scripts/redis_server.ts";
import { flushAll, fmtRate, medianFigures, pad, positiveInt, redact, runtimeInfo } from "./_common.ts";

const FUNC = "bench_tasks.noop";
const WARMUP = 200;
const CONCURRENCY = 100;

type Figures = Record<string, number>;

const now = () => performance.now();
const perSecond = (count: number, ms: number) => count / (ms / 1000);

/** Sequential PINGs per second on the connection rqts itself sends its commands on. */
async function pingRate(queue: Queue, count: number): Promise<number> {
  for (let i = 0; i < 200; i++) await queue.connection.call(["PING"]); // connects
  const t0 = now();
  for (let i = 0; i < count; i++) await queue.connection.call(["PING"]);
  return perSecond(count, now() - t0);
}

async function benchRqts(url: string, n: number, many: number, tag: string): Promise<Figures> {
  const queue = new Queue(`rqtsbench-${tag}`, { connection: url });
  const out: Figures = {};
  try {
    out.ping_per_s = await pingRate(queue, Math.max(2000, n));

    // Warm-up: connection, JIT, the code paths of all three measurements.
    for (let i = 0; i < WARMUP; i++) await queue.enqueue(FUNC);
    await Promise.all(Array.from({ length: CONCURRENCY }, () => queue.enqueue(FUNC)));
    await queue.enqueueMany(Array.from({ length: WARMUP }, () => Queue.prepareData(FUNC, { args: [] })));

    // (a) sequential awaited enqueue
    let t0 = now();
    for (let i = 0; i < n; i++) await queue.enqueue(FUNC);
    out.rqts_enqueue = perSecond(n, now() - t0);

    // (b) 100 concurrent enqueues at a time, n in total
    t0 = now();
    for (let done = 0; done < n;) {
      const k = Math.min(CONCURRENCY, n - done);
      await Promise.all(Array.from({ length: k }, () => queue.enqueue(FUNC)));
      done += k;
    }
    out.rqts_enqueue_concurrent100 = perSecond(n, now() - t0);

    // (c) enqueueMany, building the prepareData list inside the timing
    t0 = now();
    const data = Array.from({ length: many }, () => Queue.prepareData(FUNC, { args: [] }));
    await queue.enqueueMany(data);
    out.rqts_enqueue_many = perSecond(many, now() - t0);

    const expected = 2 * WARMUP + CONCURRENCY + 2 * n + many;
    const count = await queue.count();
    if (count !== expected) throw new Error(`rqts queue holds ${count} jobs, expected ${expected}`);
  } finally {
    try {
      await queue.delete({ deleteJobs: true });
    } finally {
      await queue.close();
    }
  }
  return out;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: {
      n: { type: "string", default: "5000" },
      many: { type: "string", default: "10000" },
      rounds: { type: "string", default: "3" },
    },
  });
  const n = positiveInt("n", values.n!);
  const many = positiveInt("many", values.many!);
  const roundCount = positiveInt("rounds", values.rounds!);
  const rt = runtimeInfo();
  const envUrl = process.env.REDIS_URL || undefined;
  const peer = (file: string) => fileURLToPath(new URL(`./peers/${file}`, import.meta.url));
  const tag = `${process.pid}-${Math.random().toString(16).slice(2, 10)}`;

  const loadBefore = loadavg()[0];
  console.log(
    `rqts enqueue benchmark — runtime: ${rt.name} ${rt.version}; N=${n}, M=${many}; ` +
      `${cpus().length} CPUs, load average ${loadBefore.toFixed(2)}`,
  );
  const redis = await redisUrlOrStart(envUrl);
  let rqts: Figures, rq: Figures, bull: Figures;
  const rounds: { rqts: Figures[]; rq: Figures[]; bullmq: Figures[] } = { rqts: [], rq: [], bullmq: [] };
  try {
    console.log(envUrl ? `Redis: ${redact(redis.url)} (REDIS_URL; no FLUSHALL)` : `Redis: private ${redis.url}`);
    const peerArgs = ["--url", redis.url, "--n", String(n), "--many", String(many)];
    const between = envUrl ? () => Promise.resolve() : () => flushAll(redis.url);

    for (let round = 1; round <= roundCount; round++) {
      const of = `(round ${round}/${roundCount})`;
      await between();
      console.error(`… rqts ${of}`);
      rounds.rqts.push(await benchRqts(redis.url, n, many, `${tag}-${round}`));
      await between();
      console.error(`… Python RQ (bench/peers/rq_enqueue.py) ${of}`);
      rounds.rq.push(await runJson("/usr/bin/python3", [peer("rq_enqueue.py"), ...peerArgs]));
      await between();
      console.error(`… BullMQ (bench/peers/bullmq_enqueue.mjs) ${of}`);
      rounds.bullmq.push(await runJson("node", [peer("bullmq_enqueue.mjs"), ...peerArgs]));
    }
    await between();
    rqts = medianFigures(rounds.rqts);
    rq = medianFigures(rounds.rq);
    bull = medianFigures(rounds.bullmq);
  } finally {
    await redis.stop();
  }

  const need = (fig: Figures, key: string): number => {
    const v = fig[key];
    if (typeof v !== "number" || !Number.isFinite(v) || v <= 0) throw new Error(`missing figure ${key}`);
    return v;
  };
  const seq = need(rqts, "rqts_enqueue");
  const conc = need(rqts, "rqts_enqueue_concurrent100");
  const bulk = need(rqts, "rqts_enqueue_many");
  const rqSeq = need(rq, "rq_enqueue");
  const bullAdd = need(bull, "bullmq_add");
  const bullBulk = need(bull, "bullmq_add_bulk");

  const rows: [string, number, number | undefined, number | undefined][] = [
    [`sequential enqueue (N=${n})`, seq, rqSeq, bullAdd],
    [`100 concurrent enqueue (N=${n})`, conc, undefined, bull.bullmq_add_concurrent100],
    [`enqueueMany (M=${many})`, bulk, rq.rq_enqueue_many, bullBulk],
  ];
  const targets = [
    { what: "sequential enqueue / BullMQ add", ratio: seq / bullAdd, target: 1.2 },
    { what: "sequential enqueue / RQ enqueue", ratio: seq / rqSeq, target: 2 },
    { what: "enqueueMany / BullMQ addBulk", ratio: bulk / bullBulk, target: 2 },
    { what: "100 concurrent enqueue / RQ sequential enqueue", ratio: conc / rqSeq, target: 5 },
  ].map((t) => ({ ...t, pass: t.ratio >= t.target }));

  const loadAfter = loadavg()[0];
  const w = [34, 12, 12, 12];
  console.log("");
  console.log(`jobs/s, the median of ${roundCount} interleaved rounds (rqts, RQ, BullMQ in turn)`);
  console.log(
    pad("metric (jobs/s)", w[0]) + pad(`rqts (${rt.name})`, w[1], true) + pad("RQ", w[2], true) +
      pad("BullMQ", w[3], true),
  );
  console.log("-".repeat(w.reduce((a, b) => a + b)));
  for (const [label, a, b, c] of rows) {
    console.log(
      pad(label, w[0]) + pad(fmtRate(a), w[1], true) + pad(fmtRate(b), w[2], true) + pad(fmtRate(c), w[3], true),
    );
  }
  console.log("");
  const tw = 48;
  console.log(pad("target", tw) + pad("ratio", 8, true) + pad("need", 8, true) + "  result");
  console.log("-".repeat(tw + 24));
  for (const t of targets) {
    console.log(
      pad(t.what, tw) + pad(`${t.ratio.toFixed(2)}×`, 8, true) + pad(`≥${t.target}×`, 8, true) +
        `  ${t.pass ? "PASS" : "MISS"}`,
    );
  }
  console.log("");
  console.log(
    `Redis round trip: ${fmtRate(rqts.ping_per_s)} sequential PING/s (rqts connection.call, ${rt.name}); ` +
      `a sequential enqueue needs one round trip (one EVALSHA), so this is its ceiling.`,
  );
  // The bench itself keeps about one CPU busy, so only a load already above 1 at the start means competition.
  if (loadBefore > 1) {
    const at = `${loadBefore.toFixed(2)} at the start, ${loadAfter.toFixed(2)} at the end`;
    console.log(`Note: 1-minute load average ${at}: other processes were using the CPUs, so these figures are noisy.`);
  }
  if (process.env.NODE_EXTRA_CA_CERTS) {
    console.log(
      "Note: NODE_EXTRA_CA_CERTS is set, which adds ~50 ms to each Node process start (the BullMQ peer); " +
        "that is outside every timed region, so it affects wall-clock time only.",
    );
  }

  const resultsDir = fileURLToPath(new URL("./results/", import.meta.url));
  mkdirSync(resultsDir, { recursive: true });
  const file = `${resultsDir}enqueue-${rt.name}.json`;
  const record = {
    runtime: rt,
    date: new Date().toISOString(),
    n,
    many,
    concurrency: CONCURRENCY,
    loadavg: { before: loadBefore, after: loadAfter },
    warmup: WARMUP,
    redis: envUrl ? { url: redact(redis.url), private: false } : { private: true },
    metric: `median of ${roundCount} interleaved rounds (rqts, RQ, BullMQ in turn); every round in "rounds"`,
    rqts,
    rq,
    bullmq: bull,
    targets,
    rounds,
  };
  writeFileSync(file, JSON.stringify(record, null, 2) + "\n");
  console.log(`Raw figures: ${relative(process.cwd(), file) || file}`);
}

try {
  await main();
} catch (error) {
  console.error("bench/enqueue.ts failed:", error);
  process.exit(1);
}
