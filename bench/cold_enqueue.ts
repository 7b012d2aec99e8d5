/**
 * Cold bulk enqueue: the first `enqueueMany` of N jobs in a fresh process, rqts on Deno, Bun and Node against BullMQ's
 * first `addBulk` in a fresh Node process, on one private redis-server, in one run.
 *
 *   deno task bench:cold          (= deno run -A bench/cold_enqueue.ts)   [--n 10000] [--rounds 5]
 *
 * Node runs the npm build (`deno run -A build_npm.ts` first). Each round starts one process per side, in turn
 * (bench/cold_enqueue_side.mjs for rqts, bench/peers/bullmq_cold_enqueue.mjs for BullMQ), each of which connects, then
 * times its first bulk call with the job list's building included (rqts: `Queue.prepareData` ×N, then
 * `enqueueMany`; BullMQ: N `{ name, data }` objects, then `addBulk`). Redis is emptied between processes. Figures are
 * the medians over the rounds; the ratio is BullMQ's time over rqts'. The processes' whole lifetimes (start-up and
 * imports included) are printed for reference: each Node process start pays ~50 ms on this machine for
 * NODE_EXTRA_CA_CERTS, which is outside the timed call.
 *
 * Writes the raw figures to bench/results/cold-enqueue.json.
 */
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { relative } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { runJson, startRedis } from "../scripts/redis_server.ts";
import { flushAll, medianFigures, pad, positiveInt } from "./_common.ts";

const here = (file: string) => fileURLToPath(new URL(file, import.meta.url));
const SIDES = ["deno", "bun", "node", "bullmq"] as const;
type Side = typeof SIDES[number];

function command(side: Side, args: string[]): [string, string[]] {
  const sideScript = here("./cold_enqueue_side.mjs");
  switch (side) {
    case "deno":
      return [process.execPath, ["run", "-A", sideScript, ...args]];
    case "bun":
      return [here("../tools/node_modules/.bin/bun"), [sideScript, ...args]];
    case "node":
      return ["node", [sideScript, "--module", here("../npm/esm/runtime/node/entry.js"), ...args]];
    case "bullmq":
      return ["node", [here("./peers/bullmq_cold_enqueue.mjs"), ...args]];
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: { n: { type: "string", default: "10000" }, rounds: { type: "string", default: "5" } },
  });
  const n = positiveInt("n", values.n!);
  const roundCount = positiveInt("rounds", values.rounds!);
  if (!existsSync(here("../npm/esm/runtime/node/entry.js"))) {
    throw new Error("npm/esm is missing: build it first (deno run -A build_npm.ts)");
  }
  const loadBefore = loadavg();
  console.log(
    `Cold enqueueMany — N=${n}, ${roundCount} rounds, a fresh process per side and round; ${cpus().length} CPUs, ` +
      `load average ${loadBefore.map((l) => l.toFixed(2)).join(" ")}`,
  );
  const redis = await startRedis();
  const rounds: Record<Side, Record<string, number>[]> = { deno: [], bun: [], node: [], bullmq: [] };
  try {
    for (let round = 1; round <= roundCount; round++) {
      for (const side of SIDES) {
        await flushAll(redis.url);
        console.error(`… ${side} (round ${round}/${roundCount})`);
        const [cmd, args] = command(side, ["--url", redis.url, "--queue", `cold-${side}-${round}`, "--n", String(n)]);
        rounds[side].push(await runJson(cmd, args));
      }
    }
  } finally {
    await redis.stop();
  }
  const med = Object.fromEntries(SIDES.map((s) => [s, medianFigures(rounds[s])])) as Record<
    Side,
    Record<string, number>
  >;
  const bull = med.bullmq.first_ms;
  const w = [22, 14, 14, 14, 12];
  console.log("");
  console.log(
    pad("", w[0]) + pad("first call ms", w[1], true) + pad("jobs/s", w[2], true) + pad("process ms", w[3], true) +
      pad("vs BullMQ", w[4], true),
  );
  console.log("-".repeat(w.reduce((a, b) => a + b)));
  const targets = [];
  for (const side of SIDES) {
    const m = med[side];
    const ratio = bull / m.first_ms;
    if (side !== "bullmq") targets.push({ runtime: side, ratio, pass: ratio >= 2 });
    console.log(
      pad(side === "bullmq" ? "BullMQ addBulk (node)" : `rqts on ${side}`, w[0]) +
        pad(m.first_ms.toFixed(0), w[1], true) +
        pad(Math.round(n / (m.first_ms / 1000)).toLocaleString("en-US"), w[2], true) +
        pad(m.process_ms.toFixed(0), w[3], true) + pad(side === "bullmq" ? "1" : `${ratio.toFixed(2)}×`, w[4], true),
    );
  }
  console.log("");
  for (const t of targets) {
    console.log(`target: rqts on ${t.runtime} ≥ 2× BullMQ addBulk: ${t.ratio.toFixed(2)}× ${t.pass ? "PASS" : "MISS"}`);
  }
  const loadAfter = loadavg();
  console.log(
    `Load average (1/5/15 min): ${loadBefore.map((l) => l.toFixed(2)).join(" ")} at the start, ` +
      `${loadAfter.map((l) => l.toFixed(2)).join(" ")} at the end.`,
  );
  if (process.env.NODE_EXTRA_CA_CERTS) {
    console.log("Note: NODE_EXTRA_CA_CERTS is set: ~50 ms of each Node process's start (in process ms, not the call).");
  }
  const file = here("./results/cold-enqueue.json");
  mkdirSync(here("./results/"), { recursive: true });
  writeFileSync(
    file,
    JSON.stringify(
      {
        date: new Date().toISOString(),
        n,
        rounds: roundCount,
        cpus: cpus().length,
        loadavg: { before: loadBefore, after: loadAfter },
        nodeExtraCaCerts: Boolean(process.env.NODE_EXTRA_CA_CERTS),
        metric: "median over rounds, one fresh process per side and round: first_ms = the first enqueueMany/addBulk " +
          "of n jobs, list building included, after connecting; connect_ms; process_ms = process uptime when done",
        median: med,
        targets,
        perRound: rounds,
      },
      null,
      2,
    ) + "\n",
  );
  console.log(`Raw figures: ${relative(process.cwd(), file) || file}`);
}

try {
  await main();
} catch (error) {
  console.error("bench/cold_enqueue.ts failed:", error);
  process.exit(1);
}
