/**
 * Scheduler benchmark: rqts vs Python RQ 1.13's scheduler vs BullMQ 6.7 delayed jobs, on one Redis, in one run.
 *
 *   deno task bench:scheduler        (= deno run -A bench/scheduler.ts)  [--n 1000] [--spread 5] [--burst 10000]
 *
 * Starts a private redis-server (scripts/redis_server.ts; FLUSHALL between the tools), then for each tool:
 *   lateness  N jobs due evenly across SPREAD seconds, starting 2 s from now, all enqueued up front, run by one
 *             running worker at concurrency 1 with its scheduler; for each job, its start minus its due time (ms),
 *             reported as p50 / p99 / mean / max. rqts: `enqueueMany` of `Queue.prepareData(NOOP, { enqueueAt })`
 *             and a `Worker({ withScheduler: true })` in this process (jobs in its horse); start = the job's
 *             started_at. RQ (bench/peers/rq_scheduler.py): `enqueue_at` and `rq worker --with-scheduler
 *             --worker-class rq.SimpleWorker`; start = started_at. BullMQ (bench/peers/bullmq_delayed.mjs): `addBulk`
 *             with `delay`, an in-process Worker; start = processedOn.
 *   burst     BURST jobs due at the same whole second, 3+ s from now, enqueued up front, the same running worker
 *             set-up: the time from that second until the scheduled set (rq:scheduled:<queue>; BullMQ:
 *             bull:<queue>:delayed) is empty, i.e. every job was moved to its queue, polled every 2 ms.
 * Targets: rqts p99 lateness ≤ 20 ms and ≤ BullMQ's; the BURST jobs queued within 1 s. Prints a table and the
 * targets with PASS/MISS, and writes the raw figures to bench/results/scheduler-<runtime>.json. Exits 0 on MISS
 * (it is a report), non-zero on any error.
 *
 * Portable on purpose: `node:` modules only (no Deno.* / Bun.* APIs beyond reading the version).
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { relative } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { Queue, Worker } from "../mod.ts";
import { runJson, startRedis } from "../scripts/redis_server.ts";
import { flushAll, pad, positiveInt, runtimeInfo } from "./_common.ts";

type Figures = Record<string, number>;

const NOOP = "./bench/jobs.ts#noop";
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const percentile = (sorted: number[], p: number) => sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)];
/** RQ's `%Y-%m-%dT%H:%M:%S.%fZ` as epoch milliseconds (with the microseconds). */
const millis = (text: string) => Date.parse(text.slice(0, 19) + "Z") + Number(text.slice(20, 26).padEnd(6, "0")) / 1000;
const uniqueName = (tag: string) => `rqtsschedbench-${tag}-${Date.now().toString(36)}`;

/** A running worker with its scheduler on a fresh queue, once it holds the queue's scheduler lock. */
async function running(url: string, root: string, tag: string) {
  const queue = new Queue(uniqueName(tag), { connection: url });
  const worker = new Worker([queue.name], {
    connection: url,
    jobRoot: root,
    logLevel: "warning",
    handleSignals: false,
    withScheduler: true,
  });
  const work = worker.work();
  const deadline = Date.now() + 20_000;
  while (!(await queue.connection.call(["EXISTS", `rq:scheduler-lock:${queue.name}`]))) {
    if (Date.now() > deadline) throw new Error("rqts: the worker did not take the scheduler lock within 20 s");
    await sleep(20);
  }
  const warm = await queue.enqueue(NOOP); // its horse started, as the peers' workers are warm
  if (!(await warm.latestResult({ timeout: 20 }))) throw new Error("rqts: the warm-up job did not run");
  return {
    queue,
    async close() {
      worker.stop();
      await work;
      await queue.close();
    },
  };
}

async function rqtsLateness(url: string, root: string, n: number, spreadMs: number): Promise<Figures> {
  const run = await running(url, root, "late");
  try {
    const t0 = Date.now();
    const due = Array.from({ length: n }, (_, i) => t0 + 2000 + (spreadMs * i) / n);
    const jobs = await run.queue.enqueueMany(due.map((d) => Queue.prepareData(NOOP, { enqueueAt: new Date(d) })));
    if (Date.now() >= t0 + 2000) throw new Error("rqts lateness: enqueueing took longer than 2 s");
    const finished = run.queue.finishedJobRegistry;
    const deadline = Date.now() + spreadMs + 60_000;
    while ((await finished.count()) < n + 1) {
      if (Date.now() > deadline) throw new Error("rqts lateness: not every job finished within 60 s of the last due");
      await sleep(100);
    }
    const rows = await run.queue.connection.transaction(
      jobs.map((j) => ["HGET", `rq:job:${j.id}`, "started_at"]),
    ) as string[];
    const samples = rows.map((s, i) => millis(s) - due[i]).sort((a, b) => a - b);
    return {
      rqts_lateness_p50_ms: percentile(samples, 0.5),
      rqts_lateness_p99_ms: percentile(samples, 0.99),
      rqts_lateness_mean_ms: samples.reduce((a, b) => a + b, 0) / samples.length,
      rqts_lateness_max_ms: samples[samples.length - 1],
    };
  } finally {
    await run.close();
  }
}

async function rqtsBurst(url: string, root: string, n: number): Promise<Figures> {
  const run = await running(url, root, "burst");
  try {
    const at = Math.ceil((Date.now() + 3000) / 1000) * 1000;
    const data = Array.from({ length: n }, () => Queue.prepareData(NOOP, { enqueueAt: new Date(at) }));
    for (let i = 0; i < n; i += 2000) await run.queue.enqueueMany(data.slice(i, i + 2000));
    if (Date.now() >= at) throw new Error("rqts burst: enqueueing took longer than the 3 s before the due time");
    const key = `rq:scheduled:${run.queue.name}`;
    while (Number(await run.queue.connection.call(["ZCARD", key])) > 0) {
      if (Date.now() > at + 120_000) throw new Error("rqts burst: jobs still scheduled 120 s after their due time");
      await sleep(2);
    }
    return { rqts_burst_queued_ms: Date.now() - at };
  } finally {
    await run.close();
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: {
      n: { type: "string", default: "1000" },
      spread: { type: "string", default: "5" },
      burst: { type: "string", default: "10000" },
    },
  });
  const n = positiveInt("n", values.n!);
  const spread = positiveInt("spread", values.spread!);
  const burst = positiveInt("burst", values.burst!);
  const rt = runtimeInfo();
  const here = (file: string) => fileURLToPath(new URL(file, import.meta.url));
  const root = fileURLToPath(new URL("..", import.meta.url)).replace(/\/$/, "");
  const loadBefore = loadavg();
  console.log(
    `rqts scheduler benchmark — rqts on ${rt.name} ${rt.version}; lateness: ${n} jobs due across ${spread} s; ` +
      `burst: ${burst} jobs due at one second; ${cpus().length} CPUs, load average ` +
      loadBefore.map((l) => l.toFixed(2)).join(" "),
  );
  const redis = await startRedis();
  let rqts: Figures, rq: Figures, bull: Figures;
  try {
    console.log(`Redis: private ${redis.url}`);
    console.error(`… rqts on ${rt.name}`);
    rqts = {
      ...(await rqtsLateness(redis.url, root, n, spread * 1000)),
      ...(await rqtsBurst(redis.url, root, burst)),
    };
    await flushAll(redis.url);
    console.error("… BullMQ (bench/peers/bullmq_delayed.mjs)");
    const peerArgs = ["--url", redis.url, "--n", String(n), "--spread", String(spread), "--burst", String(burst)];
    bull = await runJson("node", [here("./peers/bullmq_delayed.mjs"), ...peerArgs]);
    await flushAll(redis.url);
    console.error("… Python RQ 1.13 (bench/peers/rq_scheduler.py)");
    rq = await runJson("/usr/bin/python3", [here("./peers/rq_scheduler.py"), ...peerArgs]);
  } finally {
    await redis.stop();
  }
  const loadAfter = loadavg();

  const need = (fig: Figures, key: string): number => {
    const v = fig[key];
    if (typeof v !== "number" || !Number.isFinite(v)) throw new Error(`missing figure ${key}`);
    return v;
  };
  const ms = (v: number) => v.toFixed(1);
  const w = [38, 18, 18, 18];
  console.log("");
  console.log(
    pad("ms", w[0]) + pad(`rqts (${rt.name})`, w[1], true) + pad("RQ 1.13", w[2], true) + pad("BullMQ 6.7", w[3], true),
  );
  console.log("-".repeat(w.reduce((a, b) => a + b)));
  for (const [label, key] of [["p50", "p50"], ["p99", "p99"], ["mean", "mean"], ["max", "max"]]) {
    console.log(
      pad(`lateness ${label} (${n} due across ${spread} s)`, w[0]) +
        pad(ms(need(rqts, `rqts_lateness_${key}_ms`)), w[1], true) +
        pad(ms(need(rq, `rq_lateness_${key}_ms`)), w[2], true) +
        pad(ms(need(bull, `bullmq_lateness_${key}_ms`)), w[3], true),
    );
  }
  console.log(
    pad(`${burst} due at once: all queued after`, w[0]) + pad(ms(need(rqts, "rqts_burst_queued_ms")), w[1], true) +
      pad(ms(need(rq, "rq_burst_queued_ms")), w[2], true) + pad(ms(need(bull, "bullmq_burst_queued_ms")), w[3], true),
  );
  console.log(
    "  lateness = job start minus due time; RQ 1.13 stores due times in whole seconds and polls once a second.",
  );
  console.log("");

  const p99 = need(rqts, "rqts_lateness_p99_ms");
  const bullP99 = need(bull, "bullmq_lateness_p99_ms");
  const queued = need(rqts, "rqts_burst_queued_ms");
  const targets = [
    { what: "rqts lateness p99 ≤ 20 ms", value: `${ms(p99)} ms`, pass: p99 <= 20 },
    {
      what: "rqts lateness p99 ≤ BullMQ's",
      value: `${(p99 / bullP99).toFixed(2)}× (${ms(p99)} / ${ms(bullP99)} ms)`,
      pass: p99 <= bullP99,
    },
    { what: `rqts: ${burst} due at once queued within 1 s`, value: `${ms(queued)} ms`, pass: queued <= 1000 },
    {
      what: "(report) RQ 1.13 / rqts lateness p99",
      value: `${(need(rq, "rq_lateness_p99_ms") / p99).toFixed(1)}×`,
      pass: undefined,
    },
    {
      what: "(report) RQ 1.13 / rqts burst queued",
      value: `${(need(rq, "rq_burst_queued_ms") / queued).toFixed(1)}×`,
      pass: undefined,
    },
    {
      what: "(report) BullMQ / rqts burst queued",
      value: `${(need(bull, "bullmq_burst_queued_ms") / queued).toFixed(1)}×`,
      pass: undefined,
    },
  ];
  const tw = 44;
  console.log(pad("target", tw) + pad("figure", 30, true) + "  result");
  console.log("-".repeat(tw + 38));
  for (const t of targets) {
    console.log(
      pad(t.what, tw) + pad(t.value, 30, true) + (t.pass === undefined ? "" : `  ${t.pass ? "PASS" : "MISS"}`),
    );
  }
  console.log("");
  console.log(
    `Load average (1/5/15 min): ${loadBefore.map((l) => l.toFixed(2)).join(" ")} at the start, ` +
      `${loadAfter.map((l) => l.toFixed(2)).join(" ")} at the end.`,
  );
  if (loadBefore[0] > 1) {
    console.log("Note: other processes were using the CPUs at the start, so these figures are noisy.");
  }

  const resultsDir = here("./results/");
  mkdirSync(resultsDir, { recursive: true });
  const file = `${resultsDir}scheduler-${rt.name}.json`;
  writeFileSync(
    file,
    JSON.stringify(
      {
        runtime: rt,
        date: new Date().toISOString(),
        n,
        spreadSeconds: spread,
        burst,
        cpus: cpus().length,
        loadavg: { before: loadBefore, after: loadAfter },
        metric: "lateness = job start (started_at; BullMQ processedOn) minus due time, ms; burst_queued = due " +
          "second -> scheduled/delayed set empty, ms",
        rqts,
        rq,
        bullmq: bull,
        targets,
      },
      null,
      2,
    ) + "\n",
  );
  console.log(`Raw figures: ${relative(process.cwd(), file) || file}`);
}

try {
  await main();
  process.exit(0);
} catch (error) {
  console.error("bench/scheduler.ts failed:", error);
  process.exit(1);
}
