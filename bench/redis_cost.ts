/**
 * What a job costs the Redis every worker shares: rqts vs BullMQ 6.7 vs Python RQ 1.13, on one private Redis, in one
 * run.
 *
 *   deno task bench:redis                    (= deno run -A bench/redis_cost.ts)   [--n 5000] [--rounds 3]
 *
 * For each tool, in each round: a fresh queue, N noop jobs enqueued one by one (each call awaited), then drained by
 * one worker at concurrency 1 (until every job finished); the two phases are measured apart. Around each phase the
 * bench reads, on its own connection:
 *   - Redis' main-thread CPU time, INFO cpu used_cpu_sys_main_thread + used_cpu_user_main_thread (getrusage of the
 *     main thread: command execution, Lua, and the socket reads and writes, which Redis 7 does on that thread unless
 *     io-threads is set; the same machine's other load hardly moves it, unlike wall-clock rates);
 *   - INFO commandstats after CONFIG RESETSTAT: every command's calls, those run inside Lua scripts included (a script
 *     counts once as EVALSHA/EVAL and once per redis.call). The bench's own INFO and CONFIG calls are left out.
 * CPU is reported in µs per job, commands in calls per job; the per-command figures (calls and usec per job; an
 * EVALSHA's usec includes the commands it ran) are kept in the JSON.
 *
 * The tools (one phase per call; the peers in their own processes, so their start-up — connect, HELLO, loading
 * scripts — falls into the phase, a one-off over N jobs):
 *   rqts    in this process (../mod.ts): `queue.enqueue("./bench/jobs.ts#noop")` N times; then one burst
 *           `Worker` (concurrency 1, a warm horse) — the same commands on every runtime, so Deno runs it
 *   BullMQ  bench/peers/bullmq_redis_cost.mjs (node): `queue.add("noop", {})` N times; one sandboxed `Worker`
 *           (concurrency 1) closed after the N-th 'completed'
 *   RQ      bench/peers/rq_redis_cost.py (/usr/bin/python3): `q.enqueue("bench_tasks.noop")` N times (JSONSerializer);
 *           `rq worker --burst --worker-class rq.worker.SimpleWorker`
 * After each work phase the bench checks that N jobs finished (rqts, RQ: rq:finished:<queue>; BullMQ:
 * bull:<queue>:completed) and the queue is empty. Every figure printed is the median over the rounds.
 *
 * Always starts its own redis-server (scripts/redis_server.ts; never a REDIS_URL: it resets the server's statistics
 * and FLUSHALLs it between tools). Writes the raw figures to bench/results/redis-cost.json. Exits 0 on MISS (it is a
 * report), non-zero on any error.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { relative } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { Connection, Queue, Worker } from "../mod.ts";
import { runJson, startRedis } from "../scripts/redis_server.ts";
import { medianFigures, pad, positiveInt, runtimeInfo } from "./_common.ts";
import { commandStats, cpuSeconds } from "./_redis_info.ts";

const NOOP = "./bench/jobs.ts#noop";
const TOOLS = ["rqts", "bullmq", "rq"] as const;
type Tool = typeof TOOLS[number];
type Phase = "enqueue" | "work";

/** One phase's cost: CPU µs, commands, and each command's calls and usec, all in total (not yet per job). */
interface Cost {
  cpuUs: number;
  commands: number;
  wallMs: number;
  byCommand: Record<string, { calls: number; usec: number }>;
}

const here = (file: string) => fileURLToPath(new URL(file, import.meta.url));
const root = fileURLToPath(new URL("..", import.meta.url)).replace(/\/$/, "");

/** Runs `phase` between two readings of Redis' counters. */
async function measure(c: Connection, phase: () => Promise<void>): Promise<Cost> {
  await c.call(["CONFIG", "RESETSTAT"]);
  const cpu0 = await cpuSeconds(c);
  const t0 = performance.now();
  await phase();
  const wallMs = performance.now() - t0;
  const cpu1 = await cpuSeconds(c);
  const byCommand = await commandStats(c);
  const commands = Object.values(byCommand).reduce((sum, s) => sum + s.calls, 0);
  return { cpuUs: (cpu1 - cpu0) * 1e6, commands, wallMs, byCommand };
}

async function rqtsPhase(url: string, queue: string, n: number, phase: Phase): Promise<void> {
  if (phase === "enqueue") {
    const q = new Queue(queue, { connection: url });
    try {
      for (let i = 0; i < n; i++) await q.enqueue(NOOP);
    } finally {
      await q.close();
    }
    return;
  }
  const worker = new Worker([queue], { connection: url, jobRoot: root, logLevel: "warning", handleSignals: false });
  await worker.work({ burst: true });
  if (worker.jobsDone !== n) throw new Error(`rqts: the worker ran ${worker.jobsDone} jobs, expected ${n}`);
}

async function peerPhase(tool: Tool, url: string, queue: string, n: number, phase: Phase): Promise<void> {
  const args = ["--url", url, "--queue", queue, "--n", String(n), "--phase", phase];
  if (tool === "bullmq") await runJson("node", [here("./peers/bullmq_redis_cost.mjs"), ...args]);
  else await runJson("/usr/bin/python3", [here("./peers/rq_redis_cost.py"), ...args]);
}

/** Checks that the work phase finished every job and left the queue empty. */
async function checkDrained(c: Connection, tool: Tool, queue: string, n: number): Promise<void> {
  const [done, left] = tool === "bullmq"
    ? [await c.call(["ZCARD", `bull:${queue}:completed`]), await c.call(["LLEN", `bull:${queue}:wait`])]
    : [await c.call(["ZCARD", `rq:finished:${queue}`]), await c.call(["LLEN", `rq:queue:${queue}`])];
  if (Number(done) !== n || Number(left) !== 0) {
    throw new Error(`${tool}: ${done} of ${n} jobs finished, ${left} left in the queue`);
  }
}

/** Per-job figures of one phase: cpu_us, commands, and per command. */
function perJob(cost: Cost, n: number): Record<string, number> {
  const out: Record<string, number> = { cpu_us: cost.cpuUs / n, commands: cost.commands / n, wall_ms: cost.wallMs };
  for (const [cmd, s] of Object.entries(cost.byCommand)) {
    out[`calls.${cmd}`] = s.calls / n;
    out[`usec.${cmd}`] = s.usec / n;
  }
  return out;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: { n: { type: "string", default: "5000" }, rounds: { type: "string", default: "3" } },
  });
  const n = positiveInt("n", values.n!);
  const roundCount = positiveInt("rounds", values.rounds!);
  const own = runtimeInfo();
  const loadBefore = loadavg();
  console.log(
    `Redis cost per job — rqts on ${own.name} ${own.version}, BullMQ 6.7, RQ 1.13; N=${n}, ${roundCount} rounds; ` +
      `${cpus().length} CPUs, load average ${loadBefore.map((l) => l.toFixed(2)).join(" ")}`,
  );
  const redis = await startRedis();
  const c = Connection.fromUrl(redis.url);
  const rounds: Record<string, Record<string, number>[]> = {};
  let idleUsPerS = 0;
  try {
    const idle = await measure(c, () => new Promise((r) => setTimeout(r, 2000)));
    idleUsPerS = idle.cpuUs / (idle.wallMs / 1000);
    for (let round = 1; round <= roundCount; round++) {
      for (const tool of TOOLS) {
        await c.call(["FLUSHALL"]);
        const queue = `rediscost-${tool}-${round}-${Math.random().toString(16).slice(2, 10)}`;
        for (const phase of ["enqueue", "work"] as const) {
          console.error(`… ${tool} ${phase} (round ${round}/${roundCount})`);
          const run = tool === "rqts"
            ? () => rqtsPhase(redis.url, queue, n, phase)
            : () => peerPhase(tool, redis.url, queue, n, phase);
          const cost = await measure(c, run);
          if (phase === "work") await checkDrained(c, tool, queue, n);
          (rounds[`${tool}_${phase}`] ??= []).push(perJob(cost, n));
        }
      }
    }
  } finally {
    await c.close();
    await redis.stop();
  }
  const loadAfter = loadavg();
  const med: Record<string, Record<string, number>> = {};
  for (const [key, list] of Object.entries(rounds)) med[key] = medianFigures(list);

  const fig = (tool: Tool, phase: Phase, what: string) => med[`${tool}_${phase}`][what];
  const total = (tool: Tool, what: string) => fig(tool, "enqueue", what) + fig(tool, "work", what);
  const names: Record<Tool, string> = { rqts: "rqts", bullmq: "BullMQ 6.7", rq: "RQ 1.13" };
  const w = [34, 14, 14, 14];
  console.log("");
  console.log(
    `Redis main-thread CPU (µs) and commands (incl. those inside scripts) per job, median of ${roundCount} rounds:`,
  );
  console.log(pad("", w[0]) + TOOLS.map((t, i) => pad(names[t], w[i + 1], true)).join(""));
  console.log("-".repeat(w.reduce((a, b) => a + b)));
  const row = (label: string, value: (t: Tool) => string) =>
    console.log(pad(label, w[0]) + TOOLS.map((t, i) => pad(value(t), w[i + 1], true)).join(""));
  row("CPU, enqueue one by one", (t) => fig(t, "enqueue", "cpu_us").toFixed(1));
  row("CPU, work (one worker, c1)", (t) => fig(t, "work", "cpu_us").toFixed(1));
  row("CPU, enqueue + work", (t) => total(t, "cpu_us").toFixed(1));
  row("  ratio to BullMQ", (t) => `${(total(t, "cpu_us") / total("bullmq", "cpu_us")).toFixed(2)}×`);
  row("commands, enqueue", (t) => fig(t, "enqueue", "commands").toFixed(2));
  row("commands, work", (t) => fig(t, "work", "commands").toFixed(2));
  row("commands, enqueue + work", (t) => total(t, "commands").toFixed(2));
  row("  ratio to BullMQ", (t) => `${(total(t, "commands") / total("bullmq", "commands")).toFixed(2)}×`);
  row("wall, work (ms, for reference)", (t) => Math.round(fig(t, "work", "wall_ms")).toLocaleString("en-US"));
  console.log("");
  for (const tool of TOOLS) {
    for (const phase of ["enqueue", "work"] as const) {
      const m = med[`${tool}_${phase}`];
      const cmds = Object.keys(m).filter((k) => k.startsWith("calls.") && m[k] >= 0.01)
        .map((k) => k.slice(6)).sort((a, b) => m[`calls.${b}`] - m[`calls.${a}`]);
      console.log(
        `${names[tool]} ${phase}, calls per job: ` +
          cmds.map((cmd) => `${cmd} ${m[`calls.${cmd}`].toFixed(2)}`).join(", "),
      );
    }
  }
  const ratio = total("rqts", "cpu_us") / total("bullmq", "cpu_us");
  const pass = ratio <= 0.5;
  console.log("");
  console.log(
    `target: rqts enqueue + work CPU ≤ ½ of BullMQ's: ${ratio.toFixed(2)}× ${pass ? "PASS" : "MISS"}` +
      ` (${total("rqts", "cpu_us").toFixed(1)} vs ${total("bullmq", "cpu_us").toFixed(1)} µs)`,
  );
  console.log(
    `Idle Redis (before the first phase): ${idleUsPerS.toFixed(0)} µs of CPU per second (serverCron), included above.`,
  );
  console.log(
    `Load average (1/5/15 min): ${loadBefore.map((l) => l.toFixed(2)).join(" ")} at the start, ` +
      `${loadAfter.map((l) => l.toFixed(2)).join(" ")} at the end.`,
  );

  const resultsDir = here("./results/");
  mkdirSync(resultsDir, { recursive: true });
  const file = `${resultsDir}redis-cost.json`;
  const record = {
    runtime: own,
    date: new Date().toISOString(),
    n,
    rounds: roundCount,
    cpus: cpus().length,
    loadavg: { before: loadBefore, after: loadAfter },
    idleCpuUsPerS: idleUsPerS,
    metric:
      "per job, median over the rounds: cpu_us = Redis main-thread CPU (INFO cpu sys+user) during the phase / N; " +
      "commands = INFO commandstats calls (inside scripts included, the bench's INFO/CONFIG excluded) / N; " +
      "calls.<cmd>, usec.<cmd> = that command's calls and usec / N (an EVALSHA's usec includes its inner commands)",
    target: { what: "rqts (enqueue + work) CPU / BullMQ's", ratio, pass },
    median: med,
    perRound: rounds,
  };
  writeFileSync(file, JSON.stringify(record, null, 2) + "\n");
  console.log(`Raw figures: ${relative(process.cwd(), file) || file}`);
}

try {
  await main();
} catch (error) {
  console.error("bench/redis_cost.ts failed:", error);
  process.exit(1);
}
