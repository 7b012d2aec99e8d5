/**
 * Soak: leaks over a long run. N noop jobs go through ONE worker process (the real CLI, `rqts worker`, concurrency 1,
 * one warm horse for the whole run), and the bench watches what must stay flat.
 *
 *   deno run -A bench/soak.ts                              120,000 jobs on the Deno worker (the CI run; ~1 minute)
 *   deno run -A bench/soak.ts --runtime all                the same on Deno, Bun and Node, one after the other
 *   deno run -A bench/soak.ts --jobs 60000                 enough for Bun and Node's horse (under a minute)
 *   deno run -A bench/soak.ts --pace trickle --jobs 40000  one job at a time: the worker idles before every job
 *   ... [--jobs 120000] [--warmup half the jobs, ≥ 25000] [--runtime deno|bun|node|all] [--pace flood|trickle]
 *       [--sample-every 5000] [--max-queued 20000]
 *   Diagnosis: [--worker-flags="--heapsnapshot-signal=SIGUSR2"] (runtime flags of the worker process) and
 *   [--worker-log /tmp/soak-{rt}.log] (the worker's whole output; by default only its tail is kept, for errors).
 *   [--results DIR] where the JSON goes instead of bench/results/ (scripts/test.sh: a run of the suite does not
 *   rewrite the committed results bench/README.md quotes).
 *
 * The worker runs as `deno run -A runtime/deno/bin.ts`, `bun runtime/bun/bin.ts` or, from the npm build (run
 * `deno run -A build_npm.ts` first), `node npm/esm/runtime/node/bin.js`, always with
 * `worker <queue> --url U --path ROOT --name N --concurrency 1 --log-level warning` (warning: 100,000 "Job OK" lines
 * would measure the pipe, not the worker). Each runtime gets its own private redis-server (scripts/redis_server.ts).
 *
 * Jobs are "./bench/jobs.ts#noop" with resultTtl 0 (as RQ: no result kept, the job hash deleted when it ends).
 *   flood    enqueueMany in batches as the worker drains, never more than MAX_QUEUED waiting: the worker never idles
 *            (the busy path: finish-and-dequeue in one round trip, one warm horse);
 *   trickle  one job, then the next once it is done: the queue is empty before every job, so every job wakes the
 *            worker from its blocking wait (the idle path: BLMOVE on the dedicated connection, idle heartbeats).
 *
 * Measured ten times a second (/proc, Linux only): VmRSS and the /proc/<pid>/fd count of the worker and of its horse
 * (the worker's child running runtime/<rt>/horse.*), Redis' connected_clients minus the bench's own. The V8 workers
 * (Deno, Node) also run with --trace-gc, which changes nothing but logging: the live heap after each full GC
 * (Mark-Compact) is the figure that tells a leak from a heap merely raising its limit, and is judged too (below).
 * JavaScriptCore has no such log: Bun's worker runs with `--preload bench/soak_bun_heap.ts`, and at each sample from the
 * warm-up's end on the soak sends it SIGUSR2, which it answers with a full GC (Bun.gc(true)) and its live heap
 * (bun:jsc heapStats().heapSize) on stderr; its horse does not get the preload.
 *
 * Start and end: every runtime grows its heaps and JIT-compiles for the first thousands of jobs (measured: Bun settles
 * within ~12,000 jobs, Deno's horse and Node's horse within ~25,000, Deno's worker within ~60,000 since its horse
 * messages travel on a socket (RSS +25% from 45,000 to 55,000 jobs, live heap flat at 7 MB, then flat to 120,000);
 * Node's worker raises its V8 heap limit for 60,000 to 110,000 jobs, RSS +40%, while its live heap stays flat), and a
 * GC'd heap's RSS saw-tooths around its level (Bun's worker by ±10% over ~40,000 jobs). So nothing is judged before WARMUP jobs (default: half of them), and
 * "start" and "end" are the median RSS over the first and the second half of the jobs after it: a leak of L bytes a
 * job shows as L × (jobs − warmup) / 2 between them. That is a blunt instrument (the leaks found while building this
 * bench, 0.4 to 2 kB a job, moved a worker's RSS by 8 to 27%), hence the live heap check.
 *
 * Verdict per runtime: PASS when neither median RSS grew by more than 10%; the worker's live heap grew by at most 200
 * bytes a job (the least-squares slope through its full GCs from the warm-up's last one on, Bun's forced ones from the
 * warm-up's end on: far more sensitive than RSS; the warm-up's last GC is kept because a leak makes full GCs rare), and
 * was judged at all: fewer than two full-GC samples is a FAIL, not a pass; the most fds (worker, horse) and Redis
 * connections seen in the second half are not above the most seen in the first (the most: counts flicker by one); the
 * horse is the same process throughout; and Redis holds as many keys after the last job as with the idle worker before
 * the first one (used_memory is reported, not judged: its allocator noise is not a leak of ours).
 *
 * Prints a table per runtime and one verdict line each, writes bench/results/soak-<runtime>.json (soak-trickle-<rt>
 * with --pace trickle), and exits 1 when a runtime FAILs, 2 on an error.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import {
  copyFileSync,
  createWriteStream,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  writeFileSync,
} from "node:fs";
import { cpus, loadavg } from "node:os";
import { relative } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { Queue } from "../mod.ts";
import { STATS_MINUTES_KEPT } from "../src/defaults.ts";
import { statsKey, workerKey } from "../src/keys.ts";
import { startRedis } from "../scripts/redis_server.ts";
import { pad, positiveInt, runtimeInfo, type RuntimeName } from "./_common.ts";

const NOOP = "./bench/jobs.ts#noop";
const ENQUEUE_BATCH = 2_000;
/** The most fields a queue's throughput hash holds: finished and failed per minute kept, their totals, the run time. */
const MAX_STATS_FIELDS = 2 * STATS_MINUTES_KEPT + 5;
const MEASURE_MS = 100;
/** A run that makes no progress for this long is stuck: fail it rather than wait forever. */
const STALL_MS = 30_000;
const START_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 10_000;
/** Allowed growth of the median RSS from the start window to the end window. */
const RSS_TOLERANCE = 0.10;
/**
 * Allowed growth of a V8 worker's live heap, bytes a job (the least-squares slope through its full GCs). Measured: 37
 * (Deno) and -3 (Node) bytes a job without a leak, up to ~110 on Node while it still raises its heap limit; 369 (Deno)
 * and 538 (Node) with a warm horse's leak of one promise reaction a job.
 */
const LIVE_HEAP_BYTES_PER_JOB = 200;

const here = (file: string) => fileURLToPath(new URL(file, import.meta.url));
const ROOT = here("..").replace(/\/$/, "");

type Pace = "flood" | "trickle";

interface Options {
  jobs: number;
  warmup: number;
  every: number;
  maxQueued: number;
  pace: Pace;
  /** Extra runtime flags for the worker process. */
  workerFlags: string[];
  /** Where to write the worker's whole output ("{rt}" = the runtime); by default only its tail is kept. */
  workerLog?: string;
}

/** One measurement. */
interface Measure {
  jobs: number;
  elapsedS: number;
  workerRssKb: number;
  horseRssKb: number;
  horsePid: number;
  workerFds: number;
  horseFds: number;
  redisConnections: number;
  redisUsedMemory: number;
}

/** One half of the jobs after the warm-up: median RSS, and the most fds and connections seen. */
interface Window {
  fromJobs: number;
  toJobs: number;
  measures: number;
  workerRssKb: number;
  horseRssKb: number;
  workerFds: number;
  horseFds: number;
  redisConnections: number;
}

interface Verdict {
  runtime: { name: RuntimeName; version: string };
  pace: Pace;
  jobs: number;
  warmup: number;
  seconds: number;
  jobsPerSecond: number;
  /** The printed rows. */
  samples: (Measure & { queued: number; redisKeys: number })[];
  start: Window;
  end: Window;
  workerRssGrowth: number;
  horseRssGrowth: number;
  fds: { worker: [number, number]; horse: [number, number] };
  redisConnections: [number, number];
  redis: { idleUsedMemory: number; endUsedMemory: number; idleKeys: number; endKeys: number; statsFields: number };
  /** [jobs done, live heap MB]: V8 after the warm-up's last full GC and each one after it; Bun at each sample. */
  workerLiveHeapMb: [number, number][];
  /** Their least-squares slope, bytes a job (undefined: fewer than two full GCs, a FAIL). */
  workerLiveHeapBytesPerJob: number | undefined;
  failures: string[];
  pass: boolean;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const mb = (kb: number) => (kb / 1024).toFixed(1);
const pct = (x: number) => `${x >= 0 ? "+" : ""}${(x * 100).toFixed(1)}%`;
const int = (n: number) => n.toLocaleString("en-US");
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** The least-squares slope of y over x; undefined for fewer than two distinct x. */
function slope(points: [number, number][]): number | undefined {
  const n = points.length;
  const mx = points.reduce((a, [x]) => a + x, 0) / n;
  const my = points.reduce((a, [, y]) => a + y, 0) / n;
  const sxx = points.reduce((a, [x]) => a + (x - mx) ** 2, 0);
  if (!(sxx > 0)) return undefined;
  return points.reduce((a, [x, y]) => a + (x - mx) * (y - my), 0) / sxx;
}

/** VmRSS of a process, in kB. */
function rssKb(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  if (!m) throw new Error(`/proc/${pid}/status has no VmRSS line`);
  return Number(m[1]);
}

const fdCount = (pid: number) => readdirSync(`/proc/${pid}/fd`).length;

/** The worker's horse: its one child process whose command line names a horse entry. */
function horsePid(worker: number): number {
  const children = readdirSync(`/proc/${worker}/task`).flatMap((tid) => {
    try {
      return readFileSync(`/proc/${worker}/task/${tid}/children`, "utf8").trim().split(/\s+/).filter(Boolean);
    } catch {
      return []; // the thread ended meanwhile
    }
  }).map(Number);
  const horses = children.filter((pid) => {
    try {
      return /horse\.(ts|js)/.test(readFileSync(`/proc/${pid}/cmdline`, "utf8"));
    } catch {
      return false;
    }
  });
  if (horses.length !== 1) {
    throw new Error(`worker ${worker}: expected one horse among its children [${children}], found [${horses}]`);
  }
  return horses[0];
}

/** A field of INFO as a number. */
function infoField(info: string, field: string): number {
  const m = new RegExp(`^${field}:(\\d+)`, "m").exec(info);
  if (!m) throw new Error(`INFO has no ${field}`);
  return Number(m[1]);
}

/** The version string of a runtime binary. */
function versionOf(rt: RuntimeName, bin: string): string {
  const own = runtimeInfo();
  if (own.name === rt) return own.version;
  const out = execFileSync(bin, ["--version"], { encoding: "utf8" }).trim();
  return out.replace(/^v/, "").replace(/^deno /, "").split(/\s/)[0];
}

/** The command that runs `rqts worker ...` on `rt`, and the job root it imports "./bench/jobs.ts" from. */
function workerCommand(rt: RuntimeName, flags: string[]): { bin: string; args: string[]; jobRoot: string } {
  const own = runtimeInfo().name;
  const tool = (name: string) => {
    const local = `${ROOT}/tools/node_modules/.bin/${name}`;
    return existsSync(local) ? local : name;
  };
  const bin = rt === own ? process.execPath : rt === "node" ? "node" : tool(rt);
  if (rt === "deno") {
    return {
      bin,
      args: ["run", "-A", "--v8-flags=--trace-gc", ...flags, `${ROOT}/runtime/deno/bin.ts`],
      jobRoot: ROOT,
    };
  }
  if (rt === "bun") {
    // JavaScriptCore has no --trace-gc: the preload answers the soak's SIGUSR2 with the live heap after a full GC.
    return {
      bin,
      args: ["--preload", `${ROOT}/bench/soak_bun_heap.ts`, ...flags, `${ROOT}/runtime/bun/bin.ts`],
      jobRoot: ROOT,
    };
  }
  // Node runs the npm build; the build does not compile bench/, so the (plain JavaScript) fixture is put where the
  // Node adapter's .ts → .js fallback finds "./bench/jobs.ts" from npm/esm (as bench/worker_node.mjs does).
  const esm = `${ROOT}/npm/esm`;
  if (!existsSync(`${esm}/runtime/node/bin.js`)) {
    throw new Error(`${esm}/runtime/node/bin.js is missing; build it first: deno run -A build_npm.ts`);
  }
  mkdirSync(`${esm}/bench`, { recursive: true });
  copyFileSync(here("./jobs.ts"), `${esm}/bench/jobs.js`);
  return { bin, args: ["--trace-gc", ...flags, `${esm}/runtime/node/bin.js`], jobRoot: esm };
}

type Exit = { code: number | null; signal: string | null };

// A --trace-gc line of a full GC: "[<pid>:0x…]  1234 ms: [Incremental ]Mark-Compact 92.4 (144.8) -> 44.5 (137.3) MB".
const FULL_GC =
  /^\[(\d+):0x[0-9a-f]+\]\s+[\d.]+ ms: (?:Incremental )?Mark-Compact[^\d]* [\d.]+ \([\d.]+\) -> ([\d.]+) /;
// bench/soak_bun_heap.ts' answer to SIGUSR2 in a Bun worker: "soak-live-heap <pid> <bytes>" after Bun.gc(true).
const BUN_LIVE_HEAP = /^soak-live-heap (\d+) (\d+)$/;
/** How long the soak waits for a Bun worker's answer to its last SIGUSR2 before it stops the worker. */
const HEAP_ANSWER_MS = 10_000;

/** Runs the soak on one runtime. */
async function soak(rt: RuntimeName, o: Options): Promise<Verdict> {
  const cmd = workerCommand(rt, o.workerFlags);
  const runtime = { name: rt, version: versionOf(rt, cmd.bin) };
  console.log(
    `\n— ${rt} ${runtime.version}, ${o.pace}: ${int(o.jobs)} noop jobs; start = median over jobs ` +
      `${int(o.warmup)}–${int(half(o))}, end = median over ${int(half(o))}–${int(o.jobs)}`,
  );
  const redis = await startRedis();
  const name = `soak-${rt}-${Date.now().toString(36)}`;
  const queue = new Queue(`soak-${rt}`, { connection: redis.url });
  const c = queue.connection;
  let child: ChildProcess | undefined;
  let exit: Exit | undefined;
  let tail = "";
  let done = 0;
  const liveHeap: [number, number][] = [];
  /** Bun: SIGUSR2s sent to the worker (each answered by one "soak-live-heap" line). */
  let heapAsked = 0;
  const log = o.workerLog ? createWriteStream(o.workerLog.replace("{rt}", rt)) : undefined;
  try {
    const info = (section = "") => c.call<string>(section ? ["INFO", section] : ["INFO"]);
    const own = infoField(await info("clients"), "connected_clients");

    child = spawn(cmd.bin, [
      ...cmd.args,
      ...["worker", queue.name, "--url", redis.url, "--path", cmd.jobRoot, "--name", name],
      ...["--concurrency", "1", "--log-level", "warning"],
    ], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
    const pid = child.pid!;
    const onLine = (line: string) => {
      const gc = FULL_GC.exec(line);
      if (gc && Number(gc[1]) === pid) {
        // The last full GC of the warm-up stays as the baseline: a leak makes full GCs rare.
        if (done < o.warmup) liveHeap.length = 0;
        liveHeap.push([done, Number(gc[2])]);
      }
      const bun = BUN_LIVE_HEAP.exec(line);
      if (bun && Number(bun[1]) === pid) liveHeap.push([done, Number(bun[2]) / 1024 / 1024]);
    };
    const output = () => {
      let partial = "";
      return (d: unknown) => {
        const text = String(d);
        tail = (tail + text).slice(-4000);
        log?.write(text);
        const lines = (partial + text).split("\n");
        partial = lines.pop()!;
        lines.forEach(onLine);
      };
    };
    child.stdout!.on("data", output());
    child.stderr!.on("data", output());
    const exited = new Promise<Exit>((resolve) => {
      child!.once("exit", (code, signal) => resolve(exit = { code, signal }));
      child!.once("error", (e) => resolve(exit = { code: -1, signal: String(e) }));
    });
    const died = () => new Error(`the worker exited (${JSON.stringify(exit)}) early; its output:\n${tail}`);

    // Up, and idle once: its blocking wait opens the dedicated connection (pooled from then on), so that the start and
    // the end see the same set of connections.
    const wkey = workerKey(name);
    const startBy = Date.now() + START_TIMEOUT_MS;
    while (
      !(await c.call<number>(["EXISTS", wkey])) || infoField(await info("clients"), "blocked_clients") < 1
    ) {
      if (exit) throw died();
      if (Date.now() > startBy) throw new Error(`the worker did not start waiting for jobs in 30 s; output:\n${tail}`);
      await sleep(50);
    }
    const idleKeys = await c.call<number>(["DBSIZE"]);
    const idleUsedMemory = infoField(await info("memory"), "used_memory");

    const t0 = performance.now();
    const measures: Measure[] = [];
    const measure = async (): Promise<Measure> => {
      const horse = horsePid(pid);
      const [clients, memory] = [await info("clients"), await info("memory")];
      const m: Measure = {
        jobs: done,
        elapsedS: (performance.now() - t0) / 1000,
        workerRssKb: rssKb(pid),
        horseRssKb: rssKb(horse),
        horsePid: horse,
        workerFds: fdCount(pid),
        horseFds: fdCount(horse),
        redisConnections: infoField(clients, "connected_clients") - own,
        redisUsedMemory: infoField(memory, "used_memory"),
      };
      if (done >= o.warmup) measures.push(m);
      return m;
    };
    const samples: Verdict["samples"] = [];
    const marks = [o.warmup];
    for (let m = o.warmup + o.every; m < o.jobs; m += o.every) marks.push(m);
    marks.push(o.jobs);

    const readDone = async () => {
      const [ok, failed] = await c.call<(string | null)[]>(["HMGET", wkey, "successful_job_count", "failed_job_count"]);
      if (Number(failed ?? 0) > 0) throw new Error(`${failed} noop job(s) failed; worker output:\n${tail}`);
      done = Number(ok ?? 0);
    };
    let enqueued = 0;
    const enqueue = (n: number) =>
      queue.enqueueMany(Array.from({ length: n }, () => Queue.prepareData(NOOP, { resultTtl: 0 })))
        .then(() => void (enqueued += n));
    // flood: top the queue up every tick; trickle: the next job once the last one is done.
    const advance = o.pace === "flood"
      ? async () => {
        await sleep(MEASURE_MS);
        await readDone();
        let queued = await queue.count();
        while (enqueued < o.jobs && queued < o.maxQueued) {
          const n = Math.min(ENQUEUE_BATCH, o.jobs - enqueued, o.maxQueued - queued);
          await enqueue(n);
          queued += n;
        }
      }
      : async () => {
        if (enqueued < o.jobs) await enqueue(1);
        const by = Date.now() + MEASURE_MS;
        do await readDone(); while (done < enqueued && Date.now() < by);
      };

    let lastMeasure = 0;
    let lastDone = -1;
    let lastProgress = Date.now();
    while (marks.length) {
      if (exit) throw died();
      await advance();
      if (done !== lastDone) [lastDone, lastProgress] = [done, Date.now()];
      else if (Date.now() - lastProgress > STALL_MS) {
        throw new Error(`no job finished for ${STALL_MS / 1000} s (${done} done); worker output:\n${tail}`);
      }
      const crossed = done >= marks[0];
      if (!crossed && performance.now() - lastMeasure < MEASURE_MS) continue;
      lastMeasure = performance.now();
      const m = await measure();
      if (crossed) {
        while (marks.length && done >= marks[0]) marks.shift();
        const s = { ...m, queued: await queue.count(), redisKeys: await c.call<number>(["DBSIZE"]) };
        samples.push(s);
        printSample(s, samples.length === 1);
        // Bun: a live heap at every sample from the warm-up's end on (the preload answers on stderr).
        if (rt === "bun") {
          process.kill(pid, "SIGUSR2");
          heapAsked++;
        }
      }
    }
    const seconds = (performance.now() - t0) / 1000;
    // The queue's throughput counters (rqts:stats:<queue>, src/stats.ts) appear with the first job: one hash, bounded
    // by the minutes it keeps (judged below), so not counted as a key the jobs left behind.
    const statsFields = await c.call<number>(["HLEN", statsKey(queue.name)]);
    const endKeys = await c.call<number>(["DBSIZE"]) - Math.min(1, statsFields);
    const answersBy = Date.now() + HEAP_ANSWER_MS;
    while (liveHeap.length < heapAsked && Date.now() < answersBy && !exit) await sleep(50);

    // Warm shutdown, as an operator would stop it. process.kill, not child.kill: after child.kill(), Deno's
    // node:child_process reports the exit as by that signal even when the worker caught it and exited 0.
    process.kill(pid, "SIGTERM");
    const stopped = await Promise.race([exited, sleep(STOP_TIMEOUT_MS).then(() => undefined)]);
    if (!stopped) throw new Error(`the worker did not stop within ${STOP_TIMEOUT_MS / 1000} s of SIGTERM`);

    const win = (from: number, to: number): Window => {
      const ms = measures.filter((m) => m.jobs >= from && (m.jobs < to || to === o.jobs));
      return {
        fromJobs: from,
        toJobs: to,
        measures: ms.length,
        workerRssKb: median(ms.map((m) => m.workerRssKb)),
        horseRssKb: median(ms.map((m) => m.horseRssKb)),
        // The most, not the last: a runtime's fd count flickers by one (Deno's horse: 24/25) without leaking.
        workerFds: Math.max(...ms.map((m) => m.workerFds)),
        horseFds: Math.max(...ms.map((m) => m.horseFds)),
        redisConnections: Math.max(...ms.map((m) => m.redisConnections)),
      };
    };
    const start = win(o.warmup, half(o));
    const end = win(half(o), o.jobs);
    const last = measures[measures.length - 1];
    const verdict: Verdict = {
      runtime,
      pace: o.pace,
      jobs: o.jobs,
      warmup: o.warmup,
      seconds,
      jobsPerSecond: o.jobs / seconds,
      samples,
      start,
      end,
      workerRssGrowth: end.workerRssKb / start.workerRssKb - 1,
      horseRssGrowth: end.horseRssKb / start.horseRssKb - 1,
      fds: { worker: [start.workerFds, end.workerFds], horse: [start.horseFds, end.horseFds] },
      redisConnections: [start.redisConnections, end.redisConnections],
      redis: { idleUsedMemory, endUsedMemory: last.redisUsedMemory, idleKeys, endKeys, statsFields },
      workerLiveHeapMb: liveHeap,
      workerLiveHeapBytesPerJob: slope(liveHeap.map(([j, h]) => [j, h * 1024 * 1024])),
      failures: [],
      pass: false,
    };
    const f = verdict.failures;
    if (verdict.workerRssGrowth > RSS_TOLERANCE) f.push(`worker RSS grew ${pct(verdict.workerRssGrowth)}`);
    if (verdict.horseRssGrowth > RSS_TOLERANCE) f.push(`horse RSS grew ${pct(verdict.horseRssGrowth)}`);
    const perJob = verdict.workerLiveHeapBytesPerJob;
    if (perJob === undefined) {
      // Not judged is not passed: a leak slows full GCs down, and too short a run may see none.
      f.push(
        `the worker's live heap could not be judged: ${liveHeap.length} full-GC sample(s) after the warm-up, ` +
          `2 needed (run more jobs)`,
      );
    } else if (perJob > LIVE_HEAP_BYTES_PER_JOB) {
      f.push(`the worker's live heap grew ${Math.round(perJob)} bytes a job`);
    }
    if (end.workerFds > start.workerFds) f.push(`worker fds ${start.workerFds} → ${end.workerFds}`);
    if (end.horseFds > start.horseFds) f.push(`horse fds ${start.horseFds} → ${end.horseFds}`);
    if (end.redisConnections > start.redisConnections) {
      f.push(`Redis connections ${start.redisConnections} → ${end.redisConnections}`);
    }
    const horses = new Set(measures.map((m) => m.horsePid));
    if (horses.size > 1) f.push(`the horse was replaced (${[...horses].join(" → ")})`);
    if (endKeys > idleKeys) f.push(`Redis keys ${idleKeys} with the idle worker → ${endKeys} after the last job`);
    if (statsFields > MAX_STATS_FIELDS) f.push(`${statsFields} throughput fields (> ${MAX_STATS_FIELDS})`);
    if (stopped.code !== 0) f.push(`the worker exited ${JSON.stringify(stopped)} on SIGTERM`);
    if (start.measures < 3 || end.measures < 3) f.push("fewer than 3 measurements in a window: run more jobs");
    verdict.pass = f.length === 0;

    console.log(
      `${int(o.jobs)} jobs in ${seconds.toFixed(1)} s (${int(Math.round(verdict.jobsPerSecond))} jobs/s, enqueueing ` +
        `included). Median RSS over ${start.measures} / ${end.measures} measurements: worker ` +
        `${mb(start.workerRssKb)} → ${mb(end.workerRssKb)} MB, horse ${mb(start.horseRssKb)} → ` +
        `${mb(end.horseRssKb)} MB.`,
    );
    if (liveHeap.length) {
      const heaps = liveHeap.map(([, h]) => h);
      console.log(
        (rt === "bun"
          ? `Worker live heap after a full GC at each sample from the warm-up's end on (Bun.gc(true) on SIGUSR2, ` +
            `bench/soak_bun_heap.ts; ${liveHeap.length} of ${heapAsked} answered): first `
          : `Worker live heap after the last full GC of the warm-up and each one after it (--trace-gc, ` +
            `${liveHeap.length} GCs): first `) +
          `${heaps[0].toFixed(1)} MB, last ${heaps[heaps.length - 1].toFixed(1)} MB, range ` +
          `${Math.min(...heaps).toFixed(1)}–${Math.max(...heaps).toFixed(1)} MB; ` +
          (perJob === undefined
            ? "too few GCs to judge: FAIL."
            : `${Math.round(perJob)} bytes a job (≤ ${LIVE_HEAP_BYTES_PER_JOB}).`),
      );
    } else console.log("Worker live heap: no full-GC sample at all, so not judged: FAIL.");
    console.log(
      `Redis: used_memory ${mb(idleUsedMemory / 1024)} MB with the idle worker → ${
        mb(last.redisUsedMemory / 1024)
      } MB ` +
        `after the last job; keys ${idleKeys} → ${endKeys}.`,
    );
    return verdict;
  } finally {
    if (child && !exit) {
      try {
        process.kill(child.pid!, "SIGKILL");
      } catch { /* gone */ }
    }
    log?.end();
    await queue.close();
    await redis.stop();
  }
}

/** Where the start window ends and the end window begins: halfway between the warm-up and the last job. */
const half = (o: Options) => Math.round((o.warmup + o.jobs) / 2);

const COLS: [string, number][] = [
  ["jobs", 9],
  ["s", 7],
  ["worker RSS MB", 14],
  ["horse RSS MB", 13],
  ["fds w/h", 9],
  ["Redis conns", 12],
  ["queued", 8],
  ["Redis MB", 9],
  ["keys", 7],
];

function printSample(s: Verdict["samples"][number], header: boolean): void {
  if (header) {
    console.log(COLS.map(([h, w]) => pad(h, w, true)).join(""));
    console.log("-".repeat(COLS.reduce((a, [, w]) => a + w, 0)));
  }
  const cells = [
    int(s.jobs),
    s.elapsedS.toFixed(1),
    mb(s.workerRssKb),
    mb(s.horseRssKb),
    `${s.workerFds}/${s.horseFds}`,
    String(s.redisConnections),
    int(s.queued),
    mb(s.redisUsedMemory / 1024),
    String(s.redisKeys),
  ];
  console.log(cells.map((v, i) => pad(v, COLS[i][1], true)).join(""));
}

function verdictLine(v: Verdict): string {
  const { start: a, end: b } = v;
  return `soak ${v.runtime.name}${v.pace === "trickle" ? " (trickle)" : ""}: jobs ${v.jobs}, worker RSS ` +
    `${mb(a.workerRssKb)}→${mb(b.workerRssKb)} MB (${pct(v.workerRssGrowth)}), horse RSS ${mb(a.horseRssKb)}→` +
    `${mb(b.horseRssKb)} MB (${pct(v.horseRssGrowth)}), fds ${v.fds.worker.join("→")}, ${v.fds.horse.join("→")}, ` +
    `redis connections ${v.redisConnections.join("→")}: ${v.pass ? "PASS" : "FAIL"}` +
    (v.pass ? "" : ` (${v.failures.join("; ")})`);
}

/** Half the jobs, and at least the 25,000 after which Deno's horse has settled (when there are 40,000 or more). */
const defaultWarmup = (jobs: number) => Math.round(jobs >= 40_000 ? Math.max(0.5 * jobs, 25_000) : 0.5 * jobs);

async function main(): Promise<number> {
  if (process.platform !== "linux") throw new Error("bench/soak.ts reads /proc: Linux only");
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: {
      jobs: { type: "string", default: "120000" },
      warmup: { type: "string" },
      runtime: { type: "string" },
      pace: { type: "string", default: "flood" },
      "sample-every": { type: "string", default: "5000" },
      "max-queued": { type: "string", default: "20000" },
      "worker-flags": { type: "string", default: "" },
      "worker-log": { type: "string" },
      results: { type: "string" },
    },
  });
  const jobs = positiveInt("jobs", values.jobs!);
  const o: Options = {
    jobs,
    warmup: values.warmup === undefined ? defaultWarmup(jobs) : positiveInt("warmup", values.warmup),
    every: positiveInt("sample-every", values["sample-every"]!),
    maxQueued: positiveInt("max-queued", values["max-queued"]!),
    pace: values.pace as Pace,
    workerFlags: values["worker-flags"]!.split(/\s+/).filter(Boolean),
    workerLog: values["worker-log"],
  };
  if (o.pace !== "flood" && o.pace !== "trickle") throw new Error(`--pace: flood or trickle, got ${o.pace}`);
  if (o.warmup >= o.jobs) throw new Error(`--warmup ${o.warmup} must be below --jobs ${o.jobs}`);
  const which = values.runtime ?? runtimeInfo().name;
  const all: RuntimeName[] = ["deno", "bun", "node"];
  if (which !== "all" && !all.includes(which as RuntimeName)) {
    throw new Error(`--runtime: deno, bun, node or all; got ${which}`);
  }
  const runtimes = which === "all" ? all : [which as RuntimeName];
  console.log(
    `rqts soak — ${int(o.jobs)} noop jobs (resultTtl 0) per runtime through one worker (concurrency 1, one horse), ` +
      `${o.pace === "flood" ? `flood (≤ ${int(o.maxQueued)} queued)` : "trickle (one job at a time)"}; warm-up ` +
      `${int(o.warmup)} jobs; ${cpus().length} CPUs, load average ${loadavg().map((l) => l.toFixed(2)).join(" ")}`,
  );
  const verdicts: Verdict[] = [];
  for (const rt of runtimes) {
    const v = await soak(rt, o);
    verdicts.push(v);
    const dir = values.results ? `${values.results.replace(/\/$/, "")}/` : here("./results/");
    mkdirSync(dir, { recursive: true });
    const file = `${dir}soak-${o.pace === "trickle" ? "trickle-" : ""}${rt}.json`;
    const record = {
      ...v,
      date: new Date().toISOString(),
      maxQueued: o.maxQueued,
      workerFlags: o.workerFlags,
      cpus: cpus().length,
      loadavg: loadavg(),
      metric: "RSS = /proc/<pid>/status VmRSS (kB), start/end = its median over the first/second half of the jobs " +
        "after `warmup`; fds = /proc/<pid>/fd entries; redisConnections = INFO connected_clients minus the bench's " +
        "own; workerLiveHeapMb = [jobs done, heap MB after a V8 Mark-Compact] from --trace-gc (Deno, Node), or " +
        "after Bun.gc(true) at each sample (Bun: bun:jsc heapStats().heapSize, bench/soak_bun_heap.ts)",
    };
    writeFileSync(file, JSON.stringify(record, null, 2) + "\n");
    console.log(`Raw figures: ${relative(process.cwd(), file) || file}`);
  }
  console.log("");
  for (const v of verdicts) console.log(verdictLine(v));
  return verdicts.every((v) => v.pass) ? 0 : 1;
}

try {
  process.exit(await main());
} catch (error) {
  console.error("bench/soak.ts failed:", error);
  process.exit(2);
}
