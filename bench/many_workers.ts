/**
 * Many workers, one Redis: 8 worker processes at concurrency 4 (a mix of runtimes) draining 100,000 noop jobs, rqts
 * vs BullMQ 6.7 with the same layout, on one private Redis, in one run.
 *
 *   deno task bench:scale                    (= deno run -A bench/many_workers.ts)
 *     [--jobs 100000] [--mix deno:3,bun:3,node:2] [--concurrency 4] [--warmup 4000]
 *     [--tools rqts,bullmq,bullmq-inprocess] [--interval 250] [--out many-workers]
 *   Node workers run the npm build: `deno run -A build_npm.ts` first.
 *
 * What it measures, for each tool in turn (a FLUSHALL before each):
 *   rqts              the --mix worker processes, each `rqts worker <queue> -c <concurrency> -q` through the CLI
 *                     (Deno: runtime/deno/bin.ts, Bun: runtime/bun/bin.ts, Node: npm/esm/runtime/node/bin.js), job
 *                     "./bench/jobs.ts#noop"; jobs enqueued by this process with `enqueueMany`, 10,000 a call
 *   bullmq            as many Node processes (bench/peers/bullmq_many_workers.mjs), each one `Worker` at the same
 *                     concurrency with the sandboxed processor (bench/peers/bullmq_noop_processor.cjs, BullMQ's child
 *                     processes: as bench/worker.ts measures it, the fair comparison with rqts' horses); jobs added
 *                     with `addBulk`, 10,000 a call, from a feeder process
 *   bullmq-inprocess  the same with an in-process `async () => {}` processor (no process isolation: not what rqts
 *                     does; for reference)
 * Steps: start the worker processes and wait until they are up; a warm-up of --warmup jobs (horses and sandbox
 * children started, code warm); close the gate (rqts: RQ's suspension, `rq:suspended`, which rqts' workers poll
 * once a second; BullMQ: `queue.pause()`); enqueue --jobs jobs (not part of the drain; its Redis CPU per job is
 * reported on its own); open the gate (rqts: delete `rq:suspended`; BullMQ: `queue.resume()`) and sample every
 * --interval ms, on the bench's own connection, Redis' main-thread CPU (INFO cpu used_cpu_sys_main_thread +
 * used_cpu_user_main_thread), its commands (INFO commandstats, those inside scripts included), the jobs finished
 * (rqts: ZCARD rq:finished:<queue>; BullMQ: ZCARD bull:<queue>:completed) and the machine's CPU (/proc/stat), until
 * every job finished. The figures come from the samples between 10% and 90% of the jobs finished (start-up of the
 * drain, the suspension poll and the tail where processes run dry excluded):
 *   jobs/s                 jobs finished / time
 *   Redis CPU %            main-thread CPU / time (100% = one core)
 *   Redis CPU per job      main-thread CPU / jobs finished (µs)
 *   ceiling per Redis core 1 s / Redis CPU per job: the jobs/s at which this layout's work would fill Redis' main
 *                          thread, given workers enough CPU elsewhere
 *   commands per job       INFO commandstats calls (those inside scripts included), and each command's calls
 *   reads / writes per job INFO stats total_reads_processed / total_writes_processed: Redis' socket reads and writes,
 *                          i.e. how many round trips (each carrying a pipeline) the jobs cost
 * and, for reference, over the whole drain (from opening the gate to the last job).
 *
 * This machine has 2 cores: 8 worker processes, their 32 horses (BullMQ: up to 32 children) and Redis share them,
 * so the aggregate jobs/s here is bound by the workers' CPU, not by Redis: the ceiling per Redis core is the figure
 * that bounds a deployment whose workers have their own machines. One round per run (a run takes 2–4 minutes).
 *
 * Always starts its own redis-server (scripts/redis_server.ts; never a REDIS_URL: it FLUSHALLs it). Prints a table and
 * the ratios against BullMQ, and writes bench/results/<out>.txt (what it printed) and <out>.json (figures, samples).
 * Exits non-zero on any error (a worker process ending early, a failed job, jobs left in the queue).
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { relative } from "node:path";
import process from "node:process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { Connection, Queue } from "../mod.ts";
import { startRedis } from "../scripts/redis_server.ts";
import { fmtRate, pad, positiveInt, runtimeInfo, type RuntimeName } from "./_common.ts";
import { type CommandStat, parseCommandStats, parseCpuSeconds } from "./_redis_info.ts";

const NOOP = "./bench/jobs.ts#noop";
const TOOLS = ["rqts", "bullmq", "bullmq-inprocess"] as const;
type Tool = typeof TOOLS[number];
const TOOL_NAMES: Record<Tool, string> = {
  rqts: "rqts",
  bullmq: "BullMQ sandboxed",
  "bullmq-inprocess": "BullMQ in-process",
};
/** Jobs a call of enqueueMany / addBulk. */
const CHUNK = 10_000;
/** The share of the jobs finished at which the measured window opens and closes. */
const WINDOW = [0.1, 0.9] as const;
/** A drain that finishes no job for this long has failed. */
const STALL_MS = 60_000;

const here = (file: string) => fileURLToPath(new URL(file, import.meta.url));
const ROOT = fileURLToPath(new URL("..", import.meta.url)).replace(/\/$/, "");
const ESM = `${ROOT}/npm/esm`;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** One reading during a drain. */
interface Sample {
  /** ms (performance.now()) */
  t: number;
  /** Redis main-thread CPU, s */
  cpu: number;
  /** commands Redis ran so far (INFO commandstats), in all and by command */
  commands: number;
  byCommand: Record<string, CommandStat>;
  /** INFO stats: socket reads and writes Redis did (total_reads_processed, total_writes_processed), bytes in and out */
  reads: number;
  writes: number;
  bytesIn: number;
  bytesOut: number;
  /** jobs finished */
  done: number;
  /** machine CPU ticks busy and in all, from /proc/stat (NaN elsewhere) */
  busy: number;
  total: number;
}

type Figures = Record<string, number>;

/** A process the bench started: its stdout lines, the tail of its stderr, its exit. */
class Child {
  readonly label: string;
  readonly proc: ChildProcess;
  readonly exit: Promise<{ code: number | null; signal: string | null }>;
  exited = false;
  #lines: string[] = [];
  #waiter: (() => void) | undefined;
  #stderr = "";

  constructor(label: string, bin: string, args: string[], cwd: string) {
    this.label = label;
    this.proc = spawn(bin, args, { cwd, stdio: ["pipe", "pipe", "pipe"] });
    createInterface({ input: this.proc.stdout! }).on("line", (line) => {
      this.#lines.push(line);
      this.#waiter?.();
    });
    this.proc.stderr!.on("data", (chunk) => this.#stderr = (this.#stderr + String(chunk)).slice(-3000));
    this.exit = new Promise((resolve) => {
      this.proc.once("error", (e) => {
        this.#stderr += `\n${e.message}`;
        this.exited = true;
        this.#waiter?.();
        resolve({ code: null, signal: null });
      });
      this.proc.once("exit", (code, signal) => {
        this.exited = true;
        this.#waiter?.();
        resolve({ code, signal });
      });
    });
  }

  /** The next stdout line (in order). @throws when the process ends first or after `timeoutMs`. */
  async line(timeoutMs = 120_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    while (!this.#lines.length) {
      if (this.exited) throw new Error(`${this.label} ended before answering:\n${this.#stderr}`);
      if (Date.now() > deadline) throw new Error(`${this.label}: no answer in ${timeoutMs} ms:\n${this.#stderr}`);
      await new Promise<void>((resolve) => {
        this.#waiter = resolve;
        setTimeout(resolve, 500);
      });
    }
    return this.#lines.shift()!;
  }

  send(line: string): void {
    this.proc.stdin!.write(line + "\n");
  }

  /** SIGTERM (a warm stop), then SIGKILL after 30 s. */
  async stop(): Promise<void> {
    if (this.exited) return;
    this.proc.kill("SIGTERM");
    const timer = setTimeout(() => this.proc.kill("SIGKILL"), 30_000);
    await this.exit;
    clearTimeout(timer);
  }

  get stderrTail(): string {
    return this.#stderr;
  }
}

/** The executable of a runtime: this one's own, else tools/node_modules/.bin's, else PATH's. */
function runtimeBin(rt: RuntimeName): string {
  if (runtimeInfo().name === rt) return process.execPath;
  if (rt === "node") return "node";
  const local = `${ROOT}/tools/node_modules/.bin/${rt}`;
  return existsSync(local) ? local : rt;
}

function runtimeVersion(rt: RuntimeName): string {
  const out = execFileSync(runtimeBin(rt), ["--version"], { encoding: "utf8" }).trim();
  return out.replace(/^v/, "").replace(/^deno /, "").split(/\s/)[0];
}

/** `rqts worker` on `rt` through its CLI: the command, and the directory its job root is. */
function rqtsWorker(rt: RuntimeName, args: string[]): { bin: string; args: string[]; root: string } {
  const bin = runtimeBin(rt);
  if (rt === "deno") return { bin, args: ["run", "-A", `${ROOT}/runtime/deno/bin.ts`, ...args], root: ROOT };
  if (rt === "bun") return { bin, args: [`${ROOT}/runtime/bun/bin.ts`, ...args], root: ROOT };
  return { bin, args: [`${ESM}/runtime/node/bin.js`, ...args], root: ESM };
}

/** Puts the job fixture where Node's worker (npm build) finds "./bench/jobs.ts" (as bench/worker_node.mjs does). */
function prepareNode(): void {
  if (!existsSync(`${ESM}/runtime/node/bin.js`)) {
    throw new Error(`${ESM}/runtime/node/bin.js is missing; build it first: deno run -A build_npm.ts`);
  }
  mkdirSync(`${ESM}/bench`, { recursive: true });
  copyFileSync(here("./jobs.ts"), `${ESM}/bench/jobs.js`);
}

/** "deno:3,bun:3,node:2" → [["deno", 3], ...]. */
function parseMix(text: string): [RuntimeName, number][] {
  const mix = text.split(",").map((part) => {
    const [rt, count] = part.split(":");
    if (!["deno", "bun", "node"].includes(rt)) throw new Error(`--mix: deno, bun or node, got ${rt}`);
    return [rt as RuntimeName, positiveInt("mix", count ?? "")] as [RuntimeName, number];
  });
  if (!mix.length) throw new Error("--mix: give at least one runtime, e.g. deno:3,bun:3,node:2");
  return mix;
}

/** Busy and total CPU ticks of the machine (Linux /proc/stat), NaN where there is none. */
function machineTicks(): { busy: number; total: number } {
  try {
    const fields = readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/).slice(1).map(Number);
    const total = fields.slice(0, 8).reduce((a, b) => a + b, 0);
    return { busy: total - fields[3] - fields[4], total };
  } catch {
    return { busy: NaN, total: NaN };
  }
}

async function sample(c: Connection, doneKey: string): Promise<Sample> {
  const done = Number(await c.call(["ZCARD", doneKey]));
  const info = String(await c.call(["INFO", "cpu", "commandstats", "stats"]));
  const byCommand = parseCommandStats(info);
  const commands = Object.values(byCommand).reduce((sum, s) => sum + s.calls, 0);
  const stat = (name: string) => Number(new RegExp(`^${name}:(\\d+)`, "m").exec(info)?.[1] ?? NaN);
  return {
    t: performance.now(),
    cpu: parseCpuSeconds(info),
    commands,
    byCommand,
    reads: stat("total_reads_processed"),
    writes: stat("total_writes_processed"),
    bytesIn: stat("total_net_input_bytes"),
    bytesOut: stat("total_net_output_bytes"),
    done,
    ...machineTicks(),
  };
}

/** Redis CPU, commands and wall time of `step` (the enqueue), per job. */
async function costOf(c: Connection, n: number, step: () => Promise<void>): Promise<Figures> {
  const a = await sample(c, "-");
  await step();
  const b = await sample(c, "-");
  return {
    enqueue_ms: b.t - a.t,
    enqueue_cpu_us_per_job: (b.cpu - a.cpu) * 1e6 / n,
    enqueue_commands_per_job: (b.commands - a.commands) / n,
  };
}

/** The figures between two samples. */
function between(a: Sample, b: Sample, prefix: string): Figures {
  const s = (b.t - a.t) / 1000;
  const jobs = b.done - a.done;
  const cpuUs = (b.cpu - a.cpu) * 1e6 / jobs;
  return {
    [`${prefix}seconds`]: s,
    [`${prefix}jobs`]: jobs,
    [`${prefix}jobs_per_s`]: jobs / s,
    [`${prefix}redis_cpu_pct`]: (b.cpu - a.cpu) / s * 100,
    [`${prefix}redis_cpu_us_per_job`]: cpuUs,
    [`${prefix}commands_per_job`]: (b.commands - a.commands) / jobs,
    [`${prefix}reads_per_job`]: (b.reads - a.reads) / jobs,
    [`${prefix}writes_per_job`]: (b.writes - a.writes) / jobs,
    [`${prefix}bytes_in_per_job`]: (b.bytesIn - a.bytesIn) / jobs,
    [`${prefix}bytes_out_per_job`]: (b.bytesOut - a.bytesOut) / jobs,
    [`${prefix}ceiling_per_redis_core`]: 1e6 / cpuUs,
    [`${prefix}machine_busy_pct`]: (b.busy - a.busy) / (b.total - a.total) * 100,
  };
}

interface Layout {
  url: string;
  mix: [RuntimeName, number][];
  processes: number;
  concurrency: number;
  jobs: number;
  warmup: number;
  intervalMs: number;
}

/** How one tool's side is driven: its worker processes, its enqueuer, its gate, and where it counts finished jobs. */
interface Side {
  doneKey: string;
  failedKey: string;
  waitingKeys: string[];
  workers: Child[];
  ready(): Promise<void>;
  add(n: number): Promise<void>;
  pause(): Promise<void>;
  resume(): Promise<void>;
  /** Jobs each worker process completed, warm-up included. */
  perProcess(): Promise<number[]>;
  close(): Promise<void>;
}

function rqtsSide(c: Connection, layout: Layout, queueName: string): Side {
  const queue = new Queue(queueName, { connection: layout.url });
  const names: string[] = [];
  const workers: Child[] = [];
  for (const [rt, count] of layout.mix) {
    for (let i = 1; i <= count; i++) {
      const name = `${queueName}-${rt}-${i}`;
      const args = ["worker", queueName, "-c", String(layout.concurrency), "-q", "--url", layout.url, "--name", name];
      const cmd = rqtsWorker(rt, args);
      names.push(name);
      workers.push(new Child(`rqts worker on ${rt} (${name})`, cmd.bin, [...cmd.args, "--path", cmd.root], cmd.root));
    }
  }
  return {
    doneKey: `rq:finished:${queueName}`,
    failedKey: `rq:failed:${queueName}`,
    waitingKeys: [`rq:queue:${queueName}`],
    workers,
    async ready() {
      const deadline = Date.now() + 120_000;
      while (Number(await c.call(["SCARD", "rq:workers"])) < workers.length) {
        const gone = workers.find((w) => w.exited);
        if (gone) throw new Error(`${gone.label} ended:\n${gone.stderrTail}`);
        if (Date.now() > deadline) throw new Error("rqts: the workers did not all register within 120 s");
        await sleep(100);
      }
    },
    async add(n) {
      for (let done = 0; done < n; done += CHUNK) {
        await queue.enqueueMany(Array.from({ length: Math.min(CHUNK, n - done) }, () => Queue.prepareData(NOOP)));
      }
    },
    // RQ's `rq suspend` / `rq resume`: the key every RQ and rqts worker checks before it takes a job.
    pause: async () => void await c.call(["SET", "rq:suspended", "1"]),
    resume: async () => void await c.call(["DEL", "rq:suspended"]),
    perProcess: async () =>
      await Promise.all(
        names.map(async (n) => Number(await c.call(["HGET", `rq:worker:${n}`, "successful_job_count"]))),
      ),
    async close() {
      await Promise.all(workers.map((w) => w.stop()));
      await queue.close();
    },
  };
}

function bullmqSide(layout: Layout, queueName: string, processor: "sandboxed" | "inprocess"): Side {
  const peer = here("./peers/bullmq_many_workers.mjs");
  const common = ["--url", layout.url, "--queue", queueName];
  const workers = Array.from(
    { length: layout.processes },
    (_, i) =>
      new Child(`BullMQ ${processor} worker ${i + 1}`, "node", [
        peer,
        "--role",
        "worker",
        ...common,
        "--concurrency",
        String(layout.concurrency),
        "--processor",
        processor,
      ], ROOT),
  );
  const feeder = new Child("BullMQ feeder", "node", [peer, "--role", "feeder", ...common], ROOT);
  const command = async (line: string) => {
    feeder.send(line);
    const reply = await feeder.line();
    if (!reply.startsWith("ok")) throw new Error(`BullMQ feeder: ${line} → ${reply}`);
  };
  const counts: number[] = [];
  return {
    doneKey: `bull:${queueName}:completed`,
    failedKey: `bull:${queueName}:failed`,
    waitingKeys: [`bull:${queueName}:wait`, `bull:${queueName}:paused`],
    workers,
    async ready() {
      for (const w of workers) {
        const line = await w.line();
        if (line !== "ready") throw new Error(`${w.label}: expected "ready", got ${line}`);
      }
    },
    add: (n) => command(`add ${n}`),
    pause: () => command("pause"),
    resume: () => command("resume"),
    perProcess: () => Promise.resolve(counts),
    async close() {
      // Each worker prints its count as it closes.
      await Promise.all(workers.map(async (w) => {
        w.proc.kill("SIGTERM");
        const line = await w.line(30_000).catch(() => "{}");
        counts.push(Number(JSON.parse(line).jobs));
        await w.stop();
      }));
      feeder.proc.stdin!.end();
      await feeder.exit;
    },
  };
}

/** Each command's calls and usec (its execution; an EVALSHA's includes the commands it ran) per job, a to b. */
function perCommand(a: Sample, b: Sample): Figures {
  const jobs = b.done - a.done;
  const out: Figures = {};
  for (const [cmd, s] of Object.entries(b.byCommand)) {
    const before = a.byCommand[cmd] ?? { calls: 0, usec: 0 };
    if (s.calls === before.calls) continue;
    out[`calls.${cmd}`] = (s.calls - before.calls) / jobs;
    out[`usec.${cmd}`] = (s.usec - before.usec) / jobs;
  }
  return out;
}

/** One tool's run: start, warm up, enqueue behind the gate, drain while sampling. */
async function runTool(c: Connection, layout: Layout, tool: Tool, log: (s: string) => void): Promise<{
  figures: Figures;
  samples: Sample[];
  perProcess: number[];
}> {
  await c.call(["FLUSHALL"]);
  const queueName = `scale-${tool}-${Math.random().toString(16).slice(2, 10)}`;
  const side = tool === "rqts"
    ? rqtsSide(c, layout, queueName)
    : bullmqSide(layout, queueName, tool === "bullmq" ? "sandboxed" : "inprocess");
  const total = layout.warmup + layout.jobs;
  let closed = false;
  try {
    log(`… ${TOOL_NAMES[tool]}: starting ${side.workers.length} worker processes`);
    await side.ready();
    log(`… ${TOOL_NAMES[tool]}: warm-up, ${layout.warmup} jobs`);
    await side.add(layout.warmup);
    await waitFor(c, side, layout.warmup, layout.intervalMs);
    await side.pause();
    log(`… ${TOOL_NAMES[tool]}: enqueueing ${layout.jobs} jobs (gate closed)`);
    const enqueue = await costOf(c, layout.jobs, () => side.add(layout.jobs));
    log(`… ${TOOL_NAMES[tool]}: draining`);
    const first = await sample(c, side.doneKey);
    await side.resume();
    const samples = [first, ...await waitFor(c, side, total, layout.intervalMs)];
    const perProcess = await side.perProcess();
    const failed = Number(await c.call(["ZCARD", side.failedKey]));
    let waiting = 0;
    for (const key of side.waitingKeys) waiting += Number(await c.call(["LLEN", key]));
    if (failed || waiting) throw new Error(`${tool}: ${failed} jobs failed, ${waiting} left waiting`);
    closed = true;
    await side.close();
    const counts = tool === "rqts" ? perProcess : await side.perProcess();
    const lo = samples.find((s) => s.done >= layout.warmup + WINDOW[0] * layout.jobs)!;
    const hi = samples.find((s) => s.done >= layout.warmup + WINDOW[1] * layout.jobs)!;
    const [a, b] = hi === lo ? [samples[0], samples[samples.length - 1]] : [lo, hi];
    const figures = {
      ...between(a, b, ""),
      ...perCommand(a, b),
      ...between(samples[0], samples[samples.length - 1], "whole_"),
      ...enqueue,
      samples: samples.length,
      jobs_per_process_min: Math.min(...counts),
      jobs_per_process_max: Math.max(...counts),
    };
    return { figures, samples, perProcess: counts };
  } finally {
    if (!closed) await side.close().catch((e) => console.error(`closing ${tool}: ${e}`));
  }
}

/** Samples until `target` jobs finished. @throws when a worker process ends or nothing finishes for STALL_MS. */
async function waitFor(c: Connection, side: Side, target: number, intervalMs: number): Promise<Sample[]> {
  const samples: Sample[] = [];
  let progressAt = performance.now();
  let last = -1;
  while (true) {
    const s = await sample(c, side.doneKey);
    samples.push(s);
    if (s.done >= target) return samples;
    if (s.done !== last) [last, progressAt] = [s.done, s.t];
    const gone = side.workers.find((w) => w.exited);
    if (gone) throw new Error(`${gone.label} ended during the drain:\n${gone.stderrTail}`);
    if (s.t - progressAt > STALL_MS) throw new Error(`no job finished for ${STALL_MS / 1000} s (${s.done}/${target})`);
    if (Number(await c.call(["ZCARD", side.failedKey]))) throw new Error("a job failed");
    await sleep(intervalMs);
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: {
      jobs: { type: "string", default: "100000" },
      mix: { type: "string", default: "deno:3,bun:3,node:2" },
      concurrency: { type: "string", default: "4" },
      warmup: { type: "string", default: "4000" },
      tools: { type: "string", default: TOOLS.join(",") },
      interval: { type: "string", default: "250" },
      out: { type: "string", default: "many-workers" },
    },
  });
  const mix = parseMix(values.mix!);
  const tools = values.tools!.split(",") as Tool[];
  for (const t of tools) if (!TOOLS.includes(t)) throw new Error(`--tools: ${TOOLS.join(", ")}; got ${t}`);
  if (!/^[\w.-]+$/.test(values.out!)) throw new Error(`--out: a file name without directory, got ${values.out}`);
  const processes = mix.reduce((sum, [, n]) => sum + n, 0);
  const layoutBase = {
    mix,
    processes,
    concurrency: positiveInt("concurrency", values.concurrency!),
    jobs: positiveInt("jobs", values.jobs!),
    warmup: positiveInt("warmup", values.warmup!),
    intervalMs: positiveInt("interval", values.interval!),
  };
  if (mix.some(([rt]) => rt === "node")) prepareNode();
  const versions = Object.fromEntries(["deno", "bun", "node"].map((rt) => [rt, runtimeVersion(rt as RuntimeName)]));

  const printed: string[] = [];
  const out = (line = "") => {
    printed.push(line);
    console.log(line);
  };
  const loadBefore = loadavg();
  const mixText = mix.map(([rt, n]) => `${n} ${rt} ${versions[rt]}`).join(", ");
  out(
    `Many workers, one Redis — ${processes} worker processes × concurrency ${layoutBase.concurrency}, ` +
      `${layoutBase.jobs.toLocaleString("en-US")} noop jobs (after ${layoutBase.warmup} warm-up jobs); ` +
      `rqts workers: ${mixText}; BullMQ 6.7 on node ${versions.node}; ${cpus().length} CPUs, load average ` +
      loadBefore.map((l) => l.toFixed(2)).join(" "),
  );
  const redis = await startRedis();
  const c = Connection.fromUrl(redis.url);
  const results: Partial<Record<Tool, Awaited<ReturnType<typeof runTool>>>> = {};
  try {
    for (const tool of tools) {
      results[tool] = await runTool(c, { ...layoutBase, url: redis.url }, tool, (s) => console.error(s));
    }
  } finally {
    await c.close();
    await redis.stop();
  }
  const loadAfter = loadavg();
  const fig = (t: Tool, key: string) => results[t]!.figures[key];
  const w = [46, 18, 18, 18];
  out("");
  out(`Between ${WINDOW[0] * 100}% and ${WINDOW[1] * 100}% of the jobs finished (whole drain in the lower rows):`);
  out(pad("", w[0]) + tools.map((t, i) => pad(TOOL_NAMES[t], w[i + 1], true)).join(""));
  out("-".repeat(w[0] + 18 * tools.length));
  const row = (label: string, value: (t: Tool) => string) =>
    out(pad(label, w[0]) + tools.map((t, i) => pad(value(t), w[i + 1], true)).join(""));
  row("aggregate jobs/s", (t) => fmtRate(fig(t, "jobs_per_s")));
  row("Redis main thread CPU (% of one core)", (t) => fig(t, "redis_cpu_pct").toFixed(1));
  row("Redis CPU per job (µs)", (t) => fig(t, "redis_cpu_us_per_job").toFixed(1));
  row("Redis commands per job (inside scripts incl.)", (t) => fig(t, "commands_per_job").toFixed(2));
  row(
    "Redis socket reads / writes per job",
    (t) => `${fig(t, "reads_per_job").toFixed(2)} / ${fig(t, "writes_per_job").toFixed(2)}`,
  );
  row(
    "bytes to / from Redis per job",
    (t) => `${Math.round(fig(t, "bytes_in_per_job"))} / ${Math.round(fig(t, "bytes_out_per_job"))}`,
  );
  row("ceiling: jobs/s per Redis core (1 s / CPU)", (t) => fmtRate(fig(t, "ceiling_per_redis_core")));
  row(`machine CPU busy (% of ${cpus().length} cores)`, (t) => fig(t, "machine_busy_pct").toFixed(1));
  row("whole drain: jobs/s (from the gate)", (t) => fmtRate(fig(t, "whole_jobs_per_s")));
  row("whole drain: Redis CPU per job (µs)", (t) => fig(t, "whole_redis_cpu_us_per_job").toFixed(1));
  row("whole drain: seconds", (t) => fig(t, "whole_seconds").toFixed(1));
  row(
    "jobs per worker process (min–max, warm-up incl.)",
    (t) => `${fig(t, "jobs_per_process_min")}–${fig(t, "jobs_per_process_max")}`,
  );
  row("enqueue (enqueueMany / addBulk): Redis µs/job", (t) => fig(t, "enqueue_cpu_us_per_job").toFixed(1));
  row("enqueue: commands per job", (t) => fig(t, "enqueue_commands_per_job").toFixed(2));
  row("enqueue: ms (not in the drain)", (t) => fmtRate(fig(t, "enqueue_ms")));
  out("");
  for (const t of tools) {
    const f = results[t]!.figures;
    const cmds = Object.keys(f).filter((k) => k.startsWith("calls.") && f[k] >= 0.01).map((k) => k.slice(6))
      .sort((x, y) => f[`calls.${y}`] - f[`calls.${x}`]);
    out(
      `${TOOL_NAMES[t]}, calls per job: ` + cmds.map((cmd) => `${cmd} ${f[`calls.${cmd}`].toFixed(2)}`).join(", "),
    );
  }
  out(
    "(Each command's usec, kept in the JSON, is wall time inside Redis: on this overloaded machine it includes the " +
      "time the OS preempted Redis mid-command, so it is no CPU figure here.)",
  );
  out("");
  if (results.rqts) {
    for (const peer of ["bullmq", "bullmq-inprocess"] as const) {
      if (!results[peer]) continue;
      out(
        `rqts vs ${TOOL_NAMES[peer]}, same run: jobs/s ${
          (fig("rqts", "jobs_per_s") / fig(peer, "jobs_per_s")).toFixed(2)
        }×, Redis CPU per job ${
          (fig("rqts", "redis_cpu_us_per_job") / fig(peer, "redis_cpu_us_per_job")).toFixed(2)
        }×` +
          ` (lower is better), ceiling per Redis core ${
            (fig("rqts", "ceiling_per_redis_core") / fig(peer, "ceiling_per_redis_core")).toFixed(2)
          }×`,
      );
    }
    out("");
  }
  out(
    `Read the ceiling, not the jobs/s: on this ${cpus().length}-CPU machine the ${processes} worker processes, their ` +
      `${processes * layoutBase.concurrency} horses (BullMQ sandboxed: children) and Redis share the CPUs, so the ` +
      `aggregate jobs/s is bound by the workers' CPU (machine busy row), not by Redis (its main thread stays below one ` +
      `core). With workers on their own machines, the jobs/s one Redis can take is bounded by its main thread: ` +
      `1 s / Redis CPU per job (network round trips and the workers' own CPU aside; see docs/scaling.md).`,
  );
  out(
    `Load average (1/5/15 min): ${loadBefore.map((l) => l.toFixed(2)).join(" ")} at the start, ` +
      `${loadAfter.map((l) => l.toFixed(2)).join(" ")} at the end.`,
  );

  const dir = here("./results/");
  mkdirSync(dir, { recursive: true });
  const json = `${dir}${values.out}.json`;
  const record = {
    date: new Date().toISOString(),
    driver: runtimeInfo(),
    versions,
    layout: { ...layoutBase, mix: Object.fromEntries(mix) },
    cpus: cpus().length,
    loadavg: { before: loadBefore, after: loadAfter },
    window: WINDOW,
    metric: "figures between the samples at 10% and 90% of the jobs finished; whole_* from opening the gate to the " +
      "last job; redis_cpu = INFO cpu used_cpu_sys_main_thread + used_cpu_user_main_thread; commands = INFO " +
      "commandstats calls (inside scripts included); ceiling_per_redis_core = 1e6 / redis_cpu_us_per_job; samples: " +
      "[t ms, Redis CPU s, commands, jobs finished, machine busy ticks, machine total ticks, Redis reads, Redis writes]",
    results: Object.fromEntries(
      Object.entries(results).map(([tool, r]) => [tool, {
        figures: r.figures,
        perProcess: r.perProcess,
        samples: r.samples.map((s) => [Math.round(s.t), s.cpu, s.commands, s.done, s.busy, s.total, s.reads, s.writes]),
      }]),
    ),
  };
  writeFileSync(json, JSON.stringify(record, null, 2) + "\n");
  writeFileSync(`${dir}${values.out}.txt`, printed.join("\n") + "\n");
  console.log(`Raw figures: ${relative(process.cwd(), json) || json} (and .txt)`);
}

try {
  await main();
  process.exit(0);
} catch (error) {
  console.error("bench/many_workers.ts failed:", error);
  process.exit(1);
}
