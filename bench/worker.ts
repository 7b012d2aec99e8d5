/**
 * Worker throughput and latency: rqts vs Python RQ 1.13 vs BullMQ 6.7, on one Redis, in one run.
 *
 *   deno run -A bench/worker.ts                          rqts on Deno
 *   tools/node_modules/.bin/bun bench/worker.ts          rqts on Bun
 *   deno run -A build_npm.ts && deno run -A bench/worker.ts --runtime node
 *                                                        rqts on Node, from the npm build (bench/worker_node.mjs)
 *   ... [--n 3000] [--fresh 200] [--latency 1000] [--rounds 3]
 *
 * Each of --rounds rounds measures rqts, then BullMQ, then Python RQ; every figure is the median over the rounds
 * (this shared machine's speed drifts by ±20% within a minute, and its latency by up to 2× between runs a minute
 * apart: one measurement of each tool in turn can put a slow spell on one tool only). BullMQ comes right after rqts
 * so that the two latency measurements, which end each run, are seconds apart rather than minutes (RQ's runs take
 * about two). The JSON keeps every round (perRound).
 *
 * Uses REDIS_URL when set (then nothing is flushed: every queue has a unique name and its keys are deleted
 * afterwards), else starts a private redis-server (scripts/redis_server.ts) and FLUSHALLs it between phases.
 *
 * rqts (bench/worker_rqts.mjs, the same code on every runtime; job "./bench/jobs.ts#noop"):
 *   one burst Worker per scenario on N pre-filled jobs (enqueueMany): concurrency 1 (warm horse), 4, 8, and
 *   maxJobsPerHorse 1 (a process per job) at concurrency 1 and 2 on FRESH jobs; end-to-end latency over LATENCY
 *   sequential jobs through a running worker (enqueue → `job.latestResult({ timeout: 10 })`); sequential PING/s.
 * Peers (bench/peers/, separate processes):
 *   rq_worker.py      `rq worker --burst` (JSONSerializer): the default Worker (fork per job) on FRESH jobs and
 *                     SimpleWorker on N jobs;                                              (/usr/bin/python3)
 *   rq_latency.py     a running forking `rq worker`, LATENCY sequential jobs;               (/usr/bin/python3)
 *   bullmq_worker.mjs sandboxed processor (bullmq_noop_processor.cjs) at concurrency 1 and 4, in-process worker at
 *                     concurrency 1, on N jobs each; latency through a running sandboxed worker.       (node)
 *
 * Throughput is judged on the drain rate: jobs / (last job's end − start), from the timestamps each implementation
 * stores with its jobs (RQ and rqts: started_at/ended_at; BullMQ: processedOn/finishedOn), with process and
 * interpreter start-up excluded for all: rqts from the moment all its slots run (the c-th job start; each horse is
 * ready before its slot's first job), BullMQ after a warm-up of 2 × concurrency jobs (its sandbox children are
 * forked lazily, on the first jobs), RQ from its first job start (a per-job process start — RQ's fork,
 * maxJobsPerHorse 1 — is inside every window). The total wall time including start-up (rqts:
 * `worker.work({ burst: true })`; RQ: the `rq worker --burst` process from spawn to exit; BullMQ: `new Worker` to
 * the last 'completed' event, warm-up included) is printed in parentheses.
 *
 * Prints a table and the target ratios with PASS/MISS, and writes the raw figures to
 * bench/results/worker-<runtime>.json. Exits 0 on MISS (it is a report), non-zero on any error.
 *
 * Portable on purpose: `node:` modules only (no Deno.* / Bun.* APIs beyond reading the version).
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { relative } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import * as rqtsModule from "../mod.ts";
import { redisUrlOrStart, runJson } from "../scripts/redis_server.ts";
import { measureRqts } from "./worker_rqts.mjs";
import {
  flushAll,
  fmtRate,
  medianFigures,
  pad,
  positiveInt,
  redact,
  runtimeInfo,
  type RuntimeName,
} from "./_common.ts";

type Figures = Record<string, number>;

const fmtMs = (v: number | undefined): string => v === undefined ? "—" : v.toFixed(2);

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: {
      n: { type: "string", default: "3000" },
      fresh: { type: "string", default: "200" },
      latency: { type: "string", default: "1000" },
      runtime: { type: "string" },
      rounds: { type: "string", default: "3" },
    },
  });
  const roundCount = positiveInt("rounds", values.rounds!);
  const n = positiveInt("n", values.n!);
  const fresh = positiveInt("fresh", values.fresh!);
  const latencyN = positiveInt("latency", values.latency!);
  const own = runtimeInfo();
  const target = (values.runtime ?? own.name) as RuntimeName;
  if (!["deno", "bun", "node"].includes(target)) throw new Error(`--runtime: deno, bun or node, got ${target}`);
  if (target !== own.name && target !== "node") {
    throw new Error(`--runtime ${target}: run this file under ${target} instead (only node is driven from here)`);
  }
  const rt = target === own.name
    ? own
    : { name: target, version: execFileSync("node", ["--version"], { encoding: "utf8" }).trim().replace(/^v/, "") };
  const here = (file: string) => fileURLToPath(new URL(file, import.meta.url));
  const root = fileURLToPath(new URL("..", import.meta.url)).replace(/\/$/, "");
  const envUrl = process.env.REDIS_URL || undefined;

  const loadBefore = loadavg();
  console.log(
    `rqts worker benchmark — rqts on ${rt.name} ${rt.version}; N=${n} (warm), FRESH=${fresh} ` +
      `(maxJobsPerHorse 1, RQ fork), LATENCY=${latencyN}; ${cpus().length} CPUs, load average ` +
      loadBefore.map((l) => l.toFixed(2)).join(" "),
  );
  const redis = await redisUrlOrStart(envUrl);
  let rqts: Figures, rq: Figures, bull: Figures;
  const rounds: { rqts: Figures[]; rq: Figures[]; bullmq: Figures[] } = { rqts: [], rq: [], bullmq: [] };
  try {
    console.log(envUrl ? `Redis: ${redact(redis.url)} (REDIS_URL; no FLUSHALL)` : `Redis: private ${redis.url}`);
    const between = envUrl ? () => Promise.resolve() : () => flushAll(redis.url);
    const log = (line: string) => console.error(line);

    for (let round = 1; round <= roundCount; round++) {
      const of = `(round ${round}/${roundCount})`;
      await between();
      if (rt.name === own.name) {
        console.error(`… rqts on ${rt.name} (bench/worker_rqts.mjs) ${of}`);
        rounds.rqts.push(
          await measureRqts(rqtsModule, { url: redis.url, jobRoot: root, n, fresh, latency: latencyN, log }),
        );
      } else {
        console.error(`… rqts on node (bench/worker_node.mjs, from npm/esm) ${of}`);
        rounds.rqts.push(
          await runJson("node", [
            here("./worker_node.mjs"),
            ...["--url", redis.url, "--n", String(n), "--fresh", String(fresh), "--latency", String(latencyN)],
          ]),
        );
      }
      await between();
      console.error(`… BullMQ (bench/peers/bullmq_worker.mjs) ${of}`);
      rounds.bullmq.push(
        await runJson("node", [
          here("./peers/bullmq_worker.mjs"),
          ...["--url", redis.url, "--n", String(n), "--latency", String(latencyN)],
        ]),
      );
      await between();
      console.error(`… Python RQ workers (bench/peers/rq_worker.py) ${of}`);
      const rqRound = await runJson("/usr/bin/python3", [
        here("./peers/rq_worker.py"),
        ...["--url", redis.url, "--n-fork", String(fresh), "--n-simple", String(n)],
      ]);
      await between();
      console.error(`… Python RQ latency (bench/peers/rq_latency.py) ${of}`);
      const rqLatRound = await runJson("/usr/bin/python3", [
        here("./peers/rq_latency.py"),
        "--url",
        redis.url,
        "--n",
        String(latencyN),
      ]);
      rounds.rq.push({ ...rqRound, ...rqLatRound });
    }
    await between();
    rqts = medianFigures(rounds.rqts);
    rq = medianFigures(rounds.rq);
    bull = medianFigures(rounds.bullmq);
  } finally {
    await redis.stop();
  }
  const loadAfter = loadavg();

  const need = (fig: Figures, key: string): number => {
    const v = fig[key];
    if (typeof v !== "number" || !Number.isFinite(v) || v <= 0) throw new Error(`missing figure ${key}`);
    return v;
  };
  const cell = (fig: Figures, key: string | undefined, tag = ""): string =>
    key === undefined
      ? "—"
      : `${tag}${fmtRate(need(fig, `${key}_per_s`))} (${fmtRate(need(fig, `${key}_wall_per_s`))})`;

  // [scenario, rqts key, RQ cell, BullMQ cell]
  const rows: [string, string | undefined, string, string][] = [
    [
      `concurrency 1, warm horse (N=${n})`,
      "rqts_c1",
      cell(rq, "rq_simple", "Simple "),
      cell(bull, "bullmq_sandboxed_c1", "sbx "),
    ],
    [`concurrency 4 (N=${n})`, "rqts_c4", "—", cell(bull, "bullmq_sandboxed_c4", "sbx ")],
    [`concurrency 8 (N=${n})`, "rqts_c8", "—", "—"],
    [`maxJobsPerHorse 1, c1 (N=${fresh})`, "rqts_fresh_c1", cell(rq, "rq_fork", "fork "), "—"],
    [`maxJobsPerHorse 1, c2 (N=${fresh})`, "rqts_fresh_c2", "—", "—"],
    [`in-process, c1 (N=${n})`, undefined, "—", cell(bull, "bullmq_inprocess_c1", "inproc ")],
  ];

  const c1 = need(rqts, "rqts_c1_per_s");
  const c4 = need(rqts, "rqts_c4_per_s");
  const freshC1 = need(rqts, "rqts_fresh_c1_per_s");
  const rqFork = need(rq, "rq_fork_per_s");
  const p50 = need(rqts, "rqts_latency_p50_ms");
  const bullP50 = need(bull, "bullmq_latency_p50_ms");
  const targets = [
    { what: "c1 warm / BullMQ sandboxed c1", ratio: c1 / need(bull, "bullmq_sandboxed_c1_per_s"), target: 1.5 },
    { what: "c1 warm / RQ forking worker", ratio: c1 / rqFork, target: 15 },
    { what: "c4 / BullMQ sandboxed c4", ratio: c4 / need(bull, "bullmq_sandboxed_c4_per_s"), target: 1.5 },
    {
      what: `maxJobsPerHorse 1 c1 (${rt.name}) / RQ forking`,
      ratio: freshC1 / rqFork,
      target: 1,
      note: rt.name === "bun" ? undefined : "target set for Bun; reported",
    },
    { what: "latency p50: BullMQ sandboxed / rqts", ratio: bullP50 / p50, target: 1 },
  ].map((t) => ({ ...t, pass: t.ratio >= t.target }));

  const w = [36, 20, 22, 22];
  console.log("");
  console.log(
    `Throughput, jobs/s, the median of ${roundCount} interleaved rounds (rqts, BullMQ, RQ in turn): drain rate, ` +
      "start-up excluded (see the header of bench/worker.ts);",
  );
  console.log("in (): N / total wall time, start-up included");
  console.log(
    pad("scenario", w[0]) + pad(`rqts (${rt.name})`, w[1], true) + pad("RQ 1.13", w[2], true) +
      pad("BullMQ 6.7", w[3], true),
  );
  console.log("-".repeat(w.reduce((a, b) => a + b)));
  for (const [label, key, rqCell, bullCell] of rows) {
    console.log(
      pad(label, w[0]) + pad(cell(rqts, key), w[1], true) + pad(rqCell, w[2], true) + pad(bullCell, w[3], true),
    );
  }
  console.log("  RQ: Simple = SimpleWorker, fork = default Worker; BullMQ: sbx = sandboxed processor file, inproc =");
  console.log("  processor function in the worker process.");
  console.log("");
  const lat = (fig: Figures, p: string) => `${fmtMs(fig[`${p}_p50_ms`])} / ${fmtMs(fig[`${p}_p99_ms`])}`;
  console.log(
    pad(`latency p50 / p99, ms (${latencyN} seq.)`, w[0]) + pad(lat(rqts, "rqts_latency"), w[1], true) +
      pad(`fork ${lat(rq, "rq_latency")}`, w[2], true) + pad(`sbx ${lat(bull, "bullmq_latency")}`, w[3], true),
  );
  console.log("");
  const ping = need(rqts, "ping_per_s");
  console.log(`Redis round trip: ${fmtRate(ping)} sequential PING/s (rqts connection.call, ${rt.name}).`);
  const rtp = (key: string) => {
    const r = need(rqts, `${key}_per_s`) / ping;
    return `${r.toFixed(3)} (a job per ${(1 / r).toFixed(1)} PING round-trip times)`;
  };
  console.log(`rqts jobs/s ÷ PING/s:  c1 ${rtp("rqts_c1")};  c4 ${rtp("rqts_c4")};  c8 ${rtp("rqts_c8")}`);
  const spj = (key: string) => need(rqts, `${key}_scripts_per_job`).toFixed(2);
  console.log(
    `Lua scripts per job (whole burst): c1 ${spj("rqts_c1")};  c4 ${spj("rqts_c4")};  c8 ${spj("rqts_c8")}  (one per ` +
      "outcome stored; the one that also takes the next jobs, up to 8, goes in the same write as the others)",
  );
  console.log("");
  const tw = 46;
  console.log(pad("target", tw) + pad("ratio", 9, true) + pad("need", 8, true) + "  result");
  console.log("-".repeat(tw + 25));
  for (const t of targets) {
    console.log(
      pad(t.what, tw) + pad(`${t.ratio.toFixed(2)}×`, 9, true) + pad(`≥${t.target}×`, 8, true) +
        `  ${t.pass ? "PASS" : "MISS"}${t.note ? ` (${t.note})` : ""}`,
    );
  }
  console.log("");
  console.log(
    `Load average (1/5/15 min): ${loadBefore.map((l) => l.toFixed(2)).join(" ")} at the start, ` +
      `${loadAfter.map((l) => l.toFixed(2)).join(" ")} at the end.`,
  );
  // The bench keeps about one CPU busy itself, so only a 1-minute load already above 1 at the start means competition.
  if (loadBefore[0] > 1) {
    console.log("Note: other processes were using the CPUs at the start, so these figures are noisy.");
  }
  if (process.env.NODE_EXTRA_CA_CERTS) {
    console.log(
      "Note: NODE_EXTRA_CA_CERTS is set, which adds ~50 ms to each Node process start: the BullMQ peer's sandboxed " +
        "children (once per child, during its warm-up: wall time only)" +
        (rt.name === "node" ? " and rqts' Node horses (once per job with maxJobsPerHorse 1)." : "."),
    );
  }

  const resultsDir = here("./results/");
  mkdirSync(resultsDir, { recursive: true });
  const file = `${resultsDir}worker-${rt.name}.json`;
  const record = {
    runtime: rt,
    date: new Date().toISOString(),
    n,
    fresh,
    latency: latencyN,
    cpus: cpus().length,
    loadavg: { before: loadBefore, after: loadAfter },
    redis: envUrl ? { url: redact(redis.url), private: false } : { private: true },
    metric:
      "median over the rounds of: *_per_s = drain rate from stored job timestamps, start-up excluded (rqts: from the c-th job start; " +
      "BullMQ: after a 2 x concurrency warm-up; RQ: from the first job start); *_wall_per_s = jobs / total wall " +
      "time, start-up included; latency = enqueue call -> result visible to the enqueuer",
    nodeExtraCaCerts: Boolean(process.env.NODE_EXTRA_CA_CERTS),
    rounds: roundCount,
    rqts,
    rq,
    bullmq: bull,
    targets,
    perRound: rounds,
  };
  writeFileSync(file, JSON.stringify(record, null, 2) + "\n");
  console.log(`Raw figures: ${relative(process.cwd(), file) || file}`);
}

try {
  await main();
} catch (error) {
  console.error("bench/worker.ts failed:", error);
  process.exit(1);
}
