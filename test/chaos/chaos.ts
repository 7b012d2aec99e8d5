// The chaos run (issue 5): N jobs that succeed, throw, time out, exit or SIGKILL their horse, plus dependency chains,
// run by worker processes while this driver SIGKILLs a random worker every few seconds and starts a replacement.
// At the end every job must be in exactly one terminal place (finished or failed, with its reason), none missing,
// none that finished having run more or less than once (counted through a side channel the jobs write to, see
// chaos_jobs.ts), and dependents run only after their parents. The deaths must have happened (kills close to the
// number planned) and explain every abandoned job: each names a worker the driver killed, and each killed worker
// abandoned no more than its slots can hold (so a live worker wrongly declared dead cannot hide among them). Prints
// `jobs: N, finished: F, failed: X, lost: 0, duplicated: 0` and exits 1 on any violation.
//
// Time (issue 18): some single jobs are scheduled (due 0.2-4 s after their enqueue) and some retried (Retry(max 1-2,
// interval 0 or 1 s), throwing on their first runs: "retry" ones until a later run succeeds, "retryFail" ones on every
// run); every chaos worker runs a scheduler (lock TTL SCHEDULER_LOCK_TTL s), so the kills hit schedulers too, the lock
// holder among them; and CRON_PROCESSES `rqts cron` processes run one entry ticking every second onto the chaos
// queue, one of them SIGKILLed and replaced every CRON_KILL_EVERY kills. Checked: a scheduled job ends like any other;
// a retried job ends finished after exactly failTimes + 1 runs, or failed after exactly max + 1 (or abandoned), with
// one result per run in its results stream; every cron tick from the first to the last enqueued once (ids
// cron-<entry>-<tick>), each finished after one run or abandoned by a killed worker.
//
//   deno run -A test/chaos/chaos.ts [--jobs 2000] [--workers 3] [--kill-every 3] [--runtime deno|bun|node]
//     [--seed S] [--liveness-ttl 2] [--deadline SECONDS] [--url redis://…] [--node-build DIR] [--verbose]
//
// --runtime picks the workers' (and so the horses') runtime; node runs the npm build (deno run -A build_npm.ts).
// Without --url a private redis-server is started on a free port. Portable (node: modules only), so the driver itself
// also runs under Bun, and under Node from the npm build (npm/esm/test/chaos/chaos.js).

import { type ChildProcess, spawn } from "node:child_process";
import {
  createWriteStream,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  type WriteStream,
} from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { delimiter, dirname, join, resolve } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { Connection, Job, Queue, RedisConnectionError } from "../../mod.ts";
import {
  cleanRegistriesKey,
  cronTickKey,
  dependenciesKey,
  dependentsKey,
  jobKey,
  queueKey,
  QUEUES_KEY,
  registryKey,
  resultsKey,
  schedulerLockKey,
  workerKey,
} from "../../src/keys.ts";
import { runtimeName } from "../../runtime/detect.ts";
import { startRedis } from "../../scripts/redis_server.ts";
import { sideChannelKeys } from "./chaos_jobs.ts";
import { prng } from "../_random.ts";

type RuntimeName = "deno" | "bun" | "node";
type Kind = "ok" | "fail" | "hang" | "exit" | "kill" | "retry" | "retryFail";
type Reason = "thrown" | "timeout" | "horse exited" | "horse killed" | "abandoned" | "other";

/** One planned job: what it does, where it goes, what it waits for. */
interface Planned {
  id: string;
  kind: Kind;
  queue: string;
  parents: string[];
  /** Dependents that run whether the parents finished or failed (RQ's Dependency(allow_failure=True)). */
  allowFailure: boolean;
  chain: "none" | "allow-failure" | "plain";
  /** The job's arguments after the run id (an ok job's sleep in ms, a hang job's in seconds, a flaky job's failures). */
  args: number[];
  /** Enqueued with a due time this many ms after its enqueue (the scheduler queues it). */
  delayMs?: number;
  /** Retry kinds: RQ's Retry(max, interval); the job throws on its first `failTimes` runs. */
  retry?: { max: number; interval: number; failTimes: number };
}

/** A running worker process. */
interface WorkerProc {
  name: string;
  pid: number;
  child: ChildProcess;
  stable: boolean;
  exited: Promise<{ code: number | null; signal: string | null }>;
  gone: boolean;
  killedByUs: boolean;
  /** Its slots (horses running at once). */
  concurrency: number;
  /** Whether it logged that its liveness lapsed (out of touch past its TTL: others may have recovered it). */
  lapsed: boolean;
  stoppingByUs: boolean;
  spawnedAt: number;
  /** When its worker key first showed up in Redis (start-up done), ms. */
  registeredAt?: number;
}

const KIND_FUNCTION: Record<Kind, string> = {
  ok: "ok",
  fail: "fail",
  hang: "hang",
  exit: "exit",
  kill: "killSelf",
  retry: "flaky",
  retryFail: "flaky",
};
/** The failure reason each kind must end with (any job may instead be abandoned by a worker that died under it). */
const EXPECTED: Record<Kind, "finished" | Reason> = {
  ok: "finished",
  fail: "thrown",
  hang: "timeout",
  exit: "horse exited",
  kill: "horse killed",
  retry: "finished", // after failTimes (<= max) failed runs
  retryFail: "thrown", // fails every run: max + 1 of them
};
const JOBS_MODULE = "./test/chaos/chaos_jobs.ts";
const HANG_TIMEOUT = 1; // jobTimeout of the "hang" jobs, seconds
const JOB_TIMEOUT = 30; // of every other job: far above their run time, even on a loaded machine
/** The chaos workers' scheduler lock TTL, s: a SIGKILLed lock holder's queue is taken over within it. */
const SCHEDULER_LOCK_TTL = 3;
/** Cron processes running the run's one entry (every second) at once; one is SIGKILLed every CRON_KILL_EVERY kills. */
const CRON_PROCESSES = 2;
const CRON_KILL_EVERY = 3;
/**
 * src/slot.ts's BATCH_MAX (most jobs one message sends to a horse), for the bound on abandoned jobs below; checked
 * against the source when the driver runs from it.
 */
const BATCH_MAX = 8;
/**
 * Most jobs one slot of a killed worker can leave to be failed as abandoned. Recovery (src/lua/recover_worker.ts)
 * gives back what the dead worker's own list and held set (`rqts:held:<worker>`: jobs taken ahead) hold, and fails as
 * abandoned only the jobs still 'started' by it in `rqts:running:<worker>` outside those. A slot's jobs there (see
 * Slot and runBatch in src/slot.ts, src/batch.ts) are at most: the message its horse is running (up to BATCH_MAX jobs, which leave the
 * held set before they reach the horse: the running one, the ones before it whose outcomes are stored when the
 * message is done, and the ones after it, which the horse gives back itself unless it died too), plus the outcomes of
 * the message before it, still on their way to Redis while the next runs (up to BATCH_MAX more). Jobs a wait took
 * (one, or three with a finish) are counted among those, as they go to the horse as one message. So 2 × BATCH_MAX per
 * slot. (docs/guarantees.md: "usually only the running one fails as abandoned", one per slot.) A live worker's
 * name on an abandoned job is a false death however few there are, and is checked separately.
 */
const ABANDONED_PER_SLOT = 2 * BATCH_MAX;

// ---------------------------------------------------------------------------------------------------------------
// Flags

const { values: flags } = parseArgs({
  args: process.argv.slice(2),
  options: {
    jobs: { type: "string", default: "2000" },
    workers: { type: "string", default: "3" },
    "kill-every": { type: "string", default: "3" },
    runtime: { type: "string" },
    seed: { type: "string" },
    "liveness-ttl": { type: "string", default: "2" },
    deadline: { type: "string" },
    "node-build": { type: "string" },
    url: { type: "string" },
    verbose: { type: "boolean", default: false },
  },
});

function positive(name: string, value: string, max = Infinity): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0 || n > max) {
    throw new RangeError(
      `--${name}: received ${value}; expected a positive number${max < Infinity ? ` <= ${max}` : ""}.`,
    );
  }
  return n;
}

const N = Math.floor(positive("jobs", flags.jobs!, 100_000));
const WORKERS = Math.floor(positive("workers", flags.workers!, 32));
const KILL_EVERY = positive("kill-every", flags["kill-every"]!);
const LIVENESS_TTL = positive("liveness-ttl", flags["liveness-ttl"]!);
// The whole run's time budget, a guard against a run that never ends (default 600 s + 0.2 s a job, several times what
// a quiet 2-core machine needs): killing stops at 90% terminal or at 80% of it, whichever comes first, and jobs not
// terminal when it ends are lost.
const DEADLINE = positive("deadline", flags.deadline ?? String(600 + 0.2 * N));
const SEED = flags.seed !== undefined ? Number(flags.seed) >>> 0 : (Math.random() * 2 ** 32) >>> 0;
const RUNTIME = (flags.runtime ?? runtimeName()) as RuntimeName;
if (!["deno", "bun", "node"].includes(RUNTIME)) {
  throw new TypeError(`--runtime: deno, bun or node; received ${RUNTIME}`);
}
const VERBOSE = flags.verbose!;

// ---------------------------------------------------------------------------------------------------------------
// Small helpers

const rand = prng(SEED); // the plan: kinds, chains, sleeps
const chaosRand = prng(SEED ^ 0x9e3779b9); // workers' concurrency and which one dies (their timing is the machine's)
const randInt = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const started = Date.now();
const elapsed = () => ((Date.now() - started) / 1000).toFixed(1);
const log = (line: string) => console.error(`[chaos ${elapsed().padStart(6)} s] ${line}`);

function which(name: string, fallback: string): string {
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    if (dir && existsSync(join(dir, name))) return join(dir, name);
  }
  return fallback;
}

// ---------------------------------------------------------------------------------------------------------------
// Where things are: the driver runs from the sources (test/chaos/chaos.ts) or from the npm build (…/chaos.js).

const HERE = dirname(fileURLToPath(import.meta.url));
const FROM_SOURCES = import.meta.url.endsWith(".ts");
const ROOT = resolve(HERE, "../..");

function workerCommand(): { exe: string; args: string[]; jobRoot: string } {
  const own = runtimeName();
  if (RUNTIME === "node") {
    const jobRoot = flags["node-build"] ? resolve(flags["node-build"]) : FROM_SOURCES ? join(ROOT, "npm/esm") : ROOT;
    const script = join(jobRoot, "test/chaos/chaos_worker.js");
    if (!existsSync(script)) {
      throw new Error(`--runtime node runs the npm build, and ${script} is missing: run 'deno run -A build_npm.ts'.`);
    }
    return { exe: own === "node" ? process.execPath : "node", args: [script], jobRoot };
  }
  if (!FROM_SOURCES) throw new Error(`--runtime ${RUNTIME}: run the driver from the sources (test/chaos/chaos.ts).`);
  const script = join(HERE, "chaos_worker.ts");
  const tools = join(ROOT, "tools/node_modules/.bin");
  if (RUNTIME === "deno") {
    const exe = own === "deno" ? process.execPath : which("deno", join(tools, "deno"));
    return { exe, args: ["run", "--allow-all", "--quiet", script], jobRoot: ROOT };
  }
  const exe = own === "bun" ? process.execPath : which("bun", join(tools, "bun"));
  return { exe, args: [script], jobRoot: ROOT };
}

// ---------------------------------------------------------------------------------------------------------------
// The plan: singles of every kind, chains whose members allow their parent's failure, and plain chains.

const run = Math.floor(Math.random() * 2 ** 32).toString(16).padStart(8, "0");
const MAIN = `chaos-${run}`;
const STABLE = `chaos-${run}-stable`;
/** Gate jobs wait here, never run (see the enqueue loop). */
const GATES = `chaos-${run}-gates`;

function randomKind(): Kind {
  const r = rand();
  if (r < 0.78) return "ok";
  if (r < 0.86) return "fail";
  if (r < 0.89) return "hang";
  if (r < 0.945) return "exit";
  return "kill";
}

/**
 * Units to enqueue, each a list of jobs enqueued in order (a chain's members after their parent). Plain chains
 * (RQ's default: a dependent runs only once its parent finished) would leave their dependents deferred for ever when
 * a parent is abandoned by a killed worker, so their parents are `ok` jobs on a queue served by a worker that is never
 * killed; the last member, on the chaos queue, may be of any kind.
 */
function plan(): { units: Planned[][]; jobs: Planned[] } {
  const units: Planned[][] = [];
  const jobs: Planned[] = [];
  let i = 0;
  const next = (kind: Kind, queue: string, parents: string[], chain: Planned["chain"]): Planned => {
    const p: Planned = {
      id: `${run}-${String(i++).padStart(6, "0")}-${kind}`,
      kind,
      queue,
      parents,
      allowFailure: chain === "allow-failure",
      chain,
      args: kind === "ok" ? [randInt(0, 30)] : kind === "hang" ? [5] : [],
    };
    jobs.push(p);
    return p;
  };
  while (i < N) {
    const left = N - i;
    const r = rand();
    if (left >= 2 && r < 0.1) {
      const unit: Planned[] = [];
      for (let k = randInt(2, Math.min(5, left)); k > 0; k--) {
        unit.push(next(randomKind(), MAIN, unit.length ? [unit[unit.length - 1].id] : [], "allow-failure"));
      }
      units.push(unit);
    } else if (left >= 2 && r < 0.14) {
      const unit: Planned[] = [];
      const length = randInt(2, Math.min(5, left));
      for (let k = 0; k < length; k++) {
        const last = k === length - 1;
        const parents = unit.length ? [unit[unit.length - 1].id] : [];
        unit.push(next(last ? randomKind() : "ok", last ? MAIN : STABLE, parents, "plain"));
      }
      units.push(unit);
    } else {
      // Singles may also be retried (Retry(max, interval 0 or 1 s)) and scheduled (due 0.2-4 s after enqueue).
      const r2 = rand();
      const kind: Kind = r2 < 0.06 ? "retry" : r2 < 0.09 ? "retryFail" : randomKind();
      const p = next(kind, MAIN, [], "none");
      if (kind === "retry" || kind === "retryFail") {
        const max = randInt(1, 2);
        const failTimes = kind === "retry" ? randInt(1, max) : max + 1;
        p.retry = { max, interval: rand() < 0.5 ? 0 : 1, failTimes };
        p.args = [failTimes];
      }
      if (rand() < 0.08) p.delayMs = randInt(200, 4000);
      units.push([p]);
    }
  }
  return { units, jobs };
}

// ---------------------------------------------------------------------------------------------------------------
// Processes: workers, and the horses of this run found through /proc (they inherit CHAOS_RUN from their worker).

type ProcInfo = { pid: number; ppid: number; cmd: string };

function runProcesses(): ProcInfo[] | null {
  if (!existsSync("/proc/self/environ")) return null;
  const marker = `CHAOS_RUN=${run}\0`;
  const found: ProcInfo[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const env = readFileSync(`/proc/${entry}/environ`, "latin1");
      if (!env.includes(marker)) continue;
      const stat = readFileSync(`/proc/${entry}/stat`, "latin1");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (fields[0] === "Z") continue; // a zombie waiting to be reaped is no running process
      const cmd = readFileSync(`/proc/${entry}/cmdline`, "latin1").replaceAll("\0", " ").trim();
      found.push({ pid: Number(entry), ppid: Number(fields[1]), cmd });
    } catch { /* gone meanwhile, or not ours to read */ }
  }
  return found;
}

const workers: WorkerProc[] = [];
let workerSeq = 0;
let logDir = "";
const logStreams: WriteStream[] = [];

function startWorker(url: string, stable: boolean): WorkerProc {
  const { exe, args, jobRoot } = workerCommand();
  const name = stable ? `${run}-stable` : `${run}-w${++workerSeq}`;
  const concurrency = stable ? 1 : 1 + Math.floor(chaosRand() * 2);
  const child = spawn(exe, [
    ...args,
    "--url",
    url,
    "--name",
    name,
    "--queues",
    stable ? STABLE : MAIN,
    "--concurrency",
    String(concurrency),
    "--liveness-ttl",
    String(LIVENESS_TTL),
    "--job-root",
    jobRoot,
    // Every chaos worker runs a scheduler too (scheduled jobs, retries with an interval), so kills hit schedulers.
    ...(stable ? [] : ["--with-scheduler", "--scheduler-lock-ttl", String(SCHEDULER_LOCK_TTL)]),
  ], { cwd: jobRoot, env: { ...process.env, CHAOS_RUN: run }, stdio: ["ignore", "pipe", "pipe"] });
  if (!child.pid) throw new Error(`could not start a worker: ${exe} ${args.join(" ")}`);
  const out = createWriteStream(join(logDir, `${name}.log`));
  logStreams.push(out);
  let tail = ""; // the end of its output so far, to spot a line split across chunks
  const watch = (d: Uint8Array) => {
    out.write(d);
    tail = (tail + String(d)).slice(-400);
    if (tail.includes("This worker was out of touch")) w.lapsed = true;
  };
  child.stdout!.on("data", watch);
  child.stderr!.on("data", watch);
  const w: WorkerProc = {
    name,
    pid: child.pid,
    child,
    stable,
    gone: false,
    killedByUs: false,
    concurrency,
    lapsed: false,
    stoppingByUs: false,
    spawnedAt: Date.now(),
    exited: new Promise((resolve) => {
      child.once("exit", (code, signal) => resolve({ code, signal }));
      child.once("error", () => resolve({ code: -1, signal: null }));
    }),
  };
  void w.exited.then((status) => {
    w.gone = true;
    if (!w.killedByUs && !w.stoppingByUs) {
      violations.push(`worker ${name} (pid ${w.pid}) exited on its own: ${JSON.stringify(status)}; see ${logDir}`);
      log(`worker ${name} exited on its own (${JSON.stringify(status)})`);
    }
  });
  workers.push(w);
  if (VERBOSE) log(`started worker ${name} (pid ${w.pid}, concurrency ${concurrency})`);
  return w;
}

const violations: string[] = [];

// ---------------------------------------------------------------------------------------------------------------
// Cron: CRON_PROCESSES `rqts cron` processes run one entry ticking every second onto the chaos queue (an `ok` job);
// the driver SIGKILLs one now and then and starts a replacement. Each tick's job id is cron-<entry>-<tick seconds>.

const CRON_ENTRY = `chaos-${run}`;
const CRON_ID = new RegExp(`^cron-${CRON_ENTRY}-(\\d+)$`);

interface CronProc {
  name: string;
  child: ChildProcess;
  gone: boolean;
  killedByUs: boolean;
  stoppingByUs: boolean;
  exited: Promise<{ code: number | null; signal: string | null }>;
}
const crons: CronProc[] = [];
let cronSeq = 0;

function startCron(url: string): CronProc {
  const { exe, args: workerArgs, jobRoot } = workerCommand();
  const ext = RUNTIME === "node" ? ".js" : ".ts";
  const bin = RUNTIME === "node" ? "runtime/node/bin.js" : `runtime/${RUNTIME}/bin.ts`;
  const pre = RUNTIME === "deno" ? workerArgs.slice(0, -1) : []; // deno: "run --allow-all --quiet"
  const name = `${run}-cron${++cronSeq}`;
  const entry = {
    func: `${JOBS_MODULE}#ok`,
    queueName: MAIN,
    args: [run, 0],
    cron: "* * * * * *",
    id: CRON_ENTRY,
    missed: "catchUp",
    jobTimeout: JOB_TIMEOUT,
    resultTtl: -1,
    failureTtl: -1,
  };
  const child = spawn(exe, [
    ...pre,
    join(jobRoot, bin),
    "cron",
    `test/fixtures/cron_config${ext}`,
    "--url",
    url,
    "--name",
    name,
  ], {
    cwd: jobRoot,
    env: { ...process.env, RQTS_TEST_CRON: JSON.stringify([entry]) }, // no CHAOS_RUN: not a worker's process
    stdio: ["ignore", "pipe", "pipe"],
  });
  if (!child.pid) throw new Error(`could not start a cron process: ${exe}`);
  const out = createWriteStream(join(logDir, `${name}.log`));
  logStreams.push(out);
  child.stdout!.on("data", (d: Uint8Array) => out.write(d));
  child.stderr!.on("data", (d: Uint8Array) => out.write(d));
  const c: CronProc = {
    name,
    child,
    gone: false,
    killedByUs: false,
    stoppingByUs: false,
    exited: new Promise((resolve) => {
      child.once("exit", (code, signal) => resolve({ code, signal }));
      child.once("error", () => resolve({ code: -1, signal: null }));
    }),
  };
  void c.exited.then((status) => {
    c.gone = true;
    if (!c.killedByUs && !c.stoppingByUs) {
      violations.push(`cron process ${name} exited on its own: ${JSON.stringify(status)}; see ${logDir}`);
    }
  });
  crons.push(c);
  return c;
}

/** Sends `sig` to one process; never to a pid <= 1 (kill(-1) would reach every process on the machine). */
function signal(pid: number, sig: "SIGTERM" | "SIGKILL"): void {
  if (!Number.isInteger(pid) || pid <= 1 || pid === process.pid) return;
  try {
    process.kill(pid, sig);
  } catch { /* already gone */ }
}

/** The driver's worst event-loop stall, ms: on a loaded machine it explains slow counts and late kills. */
let maxLagMs = 0;
function watchLag(): () => void {
  let last = Date.now();
  const timer = setInterval(() => {
    const now = Date.now();
    maxLagMs = Math.max(maxLagMs, now - last - 100);
    last = now;
  }, 100);
  return () => clearInterval(timer);
}

// ---------------------------------------------------------------------------------------------------------------
// The run

async function main(): Promise<number> {
  logDir = mkdtempSync(join(tmpdir(), `rqts-chaos-${run}-`));
  const redis = flags.url ? undefined : await startRedis();
  const url = flags.url ?? redis!.url;
  // offlineWait: a loaded machine can stall a socket past node-redis's timeouts; wait for it rather than fail the run.
  const connection = Connection.fromUrl(url, { offlineWait: 30 });
  const mainQueue = new Queue(MAIN, { connection });
  const stableQueue = new Queue(STABLE, { connection });
  const gateQueue = new Queue(GATES, { connection });
  const keys = sideChannelKeys(run);
  const { units, jobs } = plan();
  const byId = new Map(jobs.map((j) => [j.id, j]));
  log(
    `run ${run}: ${N} jobs (${units.length} units), ${WORKERS} workers on ${RUNTIME}, a SIGKILL every ${KILL_EVERY} s, ` +
      `livenessTtl ${LIVENESS_TTL} s, seed ${SEED}; worker logs in ${logDir}`,
  );

  let exitCode = 1;
  const stopWatchingLag = watchLag();
  // Ctrl+C or SIGTERM: stop the workers and report what was reached, rather than leave them running.
  let interrupted = "";
  for (const sig of ["SIGINT", "SIGTERM"] as const) process.on(sig, () => (interrupted ||= sig));
  const orphanFirstSeen = new Map<number, number>();
  let orphanPeak = 0;
  let orphanLongestMs = 0;
  let kills = 0;
  let lockHolderKills = 0; // kills of the worker holding the chaos queue's scheduler lock
  let cronKills = 0;
  let cronJobs: number | undefined; // cron jobs enqueued, counted once the cron processes stopped
  try {
    startWorker(url, true);
    for (let k = 0; k < WORKERS; k++) startWorker(url, false);
    for (let k = 0; k < CRON_PROCESSES; k++) startCron(url);

    // Enqueue while the workers run and the killing goes on: 32 units in flight.
    let enqueued = 0;
    let enqueueDone = false;
    const enqueueStarted = Date.now();
    const enqueueing = (async () => {
      let next = 0;
      const lane = async () => {
        while (next < units.length) {
          const unit = units[next++];
          // RQ (1.13 and later alike) defers a job whose dependency is not 'finished' at enqueue time, even with
          // allow_failure: a dependent enqueued after its parent already failed waits for ever. So an allowFailure
          // chain's root waits on a gate, a job on a queue no worker serves, canceled with enqueueDependents once
          // the whole chain is in place: no member can end before its dependents are registered.
          const gateId = unit[0].allowFailure ? `${run}-gate-${unit[0].id}` : undefined;
          if (gateId) {
            await enqueueOnce(
              connection,
              gateId,
              () => gateQueue.enqueueCall(`${JOBS_MODULE}#ok`, { jobId: gateId, args: [run, 0] }),
            );
          }
          for (const p of unit) {
            const q = p.queue === MAIN ? mainQueue : stableQueue;
            const parents = p.parents.length ? p.parents : gateId ? [gateId] : [];
            await enqueueOnce(connection, p.id, () =>
              q.enqueueCall(`${JOBS_MODULE}#${KIND_FUNCTION[p.kind]}`, {
                jobId: p.id,
                args: [run, ...p.args],
                jobTimeout: p.kind === "hang" ? HANG_TIMEOUT : JOB_TIMEOUT,
                resultTtl: -1, // kept for the verification, however long a large run takes
                failureTtl: -1,
                ...(p.retry ? { retry: { max: p.retry.max, interval: p.retry.interval } } : {}),
                ...(p.delayMs ? { enqueueAt: new Date(Date.now() + p.delayMs) } : {}),
                ...(parents.length
                  ? { dependsOn: p.allowFailure ? { jobs: parents, allowFailure: true } : parents }
                  : {}),
              }));
            enqueued++;
          }
          if (gateId) await openGate(connection, gateId);
        }
      };
      await Promise.all(Array.from({ length: 32 }, lane));
      enqueueDone = true;
      log(`enqueued ${enqueued} jobs in ${((Date.now() - enqueueStarted) / 1000).toFixed(1)} s`);
    })();
    enqueueing.catch((e) => violations.push(`enqueue failed: ${e?.stack ?? e}`));

    const terminalCount = async () => {
      const counts = await Promise.all(
        [MAIN, STABLE].flatMap((q) => [
          connection.call<number>(["ZCARD", registryKey("finished", q)]),
          connection.call<number>(["ZCARD", registryKey("failed", q)]),
        ]),
      );
      return { finished: counts[0] + counts[2], failed: counts[1] + counts[3] };
    };
    const sampleOrphans = () => {
      const procs = runProcesses();
      if (!procs) return;
      const live = new Set(workers.filter((w) => !w.gone).map((w) => w.pid));
      const now = Date.now();
      const orphans = procs.filter((p) => !live.has(p.pid) && !live.has(p.ppid));
      orphanPeak = Math.max(orphanPeak, orphans.length);
      const current = new Set(orphans.map((o) => o.pid));
      for (const pid of current) if (!orphanFirstSeen.has(pid)) orphanFirstSeen.set(pid, now);
      for (const [pid, since] of orphanFirstSeen) {
        if (!current.has(pid)) orphanFirstSeen.delete(pid);
        else orphanLongestMs = Math.max(orphanLongestMs, now - since);
      }
    };

    // Kill a random chaos worker every KILL_EVERY seconds until everything is enqueued and 90% is terminal.
    let killing = true;
    const killingSince = Date.now();
    let killingEnded: number | undefined;
    let nextKill = killingSince + KILL_EVERY * 1000;
    let lastReport = 0;
    let done = { finished: 0, failed: 0 };
    while (true) {
      await sleep(250);
      try {
        done = await terminalCount();
        for (const w of workers.filter((w) => !w.gone && w.registeredAt === undefined)) {
          if (await connection.call<number>(["EXISTS", workerKey(w.name)])) w.registeredAt = Date.now();
        }
      } catch (error) {
        log(`reading Redis failed (${(error as Error)?.message ?? error}); going on`);
        continue;
      }
      const terminal = done.finished + done.failed;
      sampleOrphans();
      if (killing && ((enqueueDone && terminal >= 0.9 * N) || Date.now() - started > 0.8 * DEADLINE * 1000)) {
        killing = false;
        killingEnded = Date.now();
        log(`stopped killing after ${kills} kills: ${terminal}/${N} terminal; stopping the cron processes`);
        const alive = crons.filter((c) => !c.gone);
        for (const c of alive) {
          c.stoppingByUs = true;
          c.child.kill("SIGTERM");
        }
        await Promise.race([Promise.all(alive.map((c) => c.exited)), sleep(15_000)]);
        for (const c of alive.filter((c) => !c.gone)) {
          violations.push(`cron process ${c.name} did not stop within 15 s of SIGTERM`);
          c.child.kill("SIGKILL");
        }
        cronJobs = (await cronJobIds(connection)).length;
        log(`cron: ${cronJobs} ticks enqueued by ${crons.length} cron processes (${cronKills} SIGKILLed)`);
      }
      if (killing && Date.now() >= nextKill) {
        // Only registered workers: one killed while still starting up has taken nothing, so its death tests nothing.
        // With none registered yet, the kill waits for the first that is.
        const candidates = workers.filter((w) => !w.gone && !w.stable && w.registeredAt !== undefined);
        const victim = candidates[Math.floor(chaosRand() * candidates.length)];
        if (victim) {
          nextKill = Date.now() + KILL_EVERY * 1000;
          const holder = await connection.call<string | null>(["GET", schedulerLockKey(MAIN)]).catch(() => null);
          if (holder === victim.name) lockHolderKills++;
          victim.killedByUs = true;
          signal(victim.pid, "SIGKILL"); // the worker only: its horses must notice on their own
          kills++;
          if (VERBOSE) log(`SIGKILL ${victim.name} (pid ${victim.pid})`);
          startWorker(url, false);
          if (kills % CRON_KILL_EVERY === 0) {
            const cron = crons.filter((c) => !c.gone)[Math.floor(chaosRand() * CRON_PROCESSES)];
            if (cron) {
              cron.killedByUs = true;
              cron.child.kill("SIGKILL");
              cronKills++;
              startCron(url);
            }
          }
        }
      }
      // Workers that died on their own are replaced too (and reported as violations).
      // (A killed worker's replacement starts at once, so fewer than WORKERS live ones means one exited by itself.)
      const live = workers.filter((w) => !w.gone && !w.stable).length;
      for (let k = live; k < WORKERS; k++) startWorker(url, false);
      if (!workers.some((w) => w.stable && !w.gone)) startWorker(url, true);
      if (Date.now() - lastReport >= 5000) {
        lastReport = Date.now();
        log(
          `enqueued ${enqueued}/${N}, terminal ${terminal} (finished ${done.finished}, failed ${done.failed}), ` +
            `kills ${kills} (cron ${cronKills}), orphan horses now ${orphanFirstSeen.size}`,
        );
      }
      if (enqueueDone && cronJobs !== undefined && terminal >= N + cronJobs) break;
      if (interrupted) {
        violations.push(`interrupted by ${interrupted} with ${terminal}/${N} jobs terminal`);
        break;
      }
      if (Date.now() - started > DEADLINE * 1000) {
        violations.push(`deadline: only ${terminal}/${N} jobs terminal after ${DEADLINE} s`);
        log(`deadline reached with ${terminal}/${N} terminal`);
        break;
      }
    }
    await enqueueing.catch(() => {});
    const drained = Date.now();
    killingEnded ??= drained;

    // Warm shutdown of every worker, then whatever is left of this run's processes is an orphan.
    const alive = workers.filter((w) => !w.gone);
    for (const w of alive) {
      w.stoppingByUs = true;
      signal(w.pid, "SIGTERM");
    }
    const stopped = await Promise.race([
      Promise.all(alive.map((w) => w.exited)).then(() => true),
      sleep(20_000).then(() => false),
    ]);
    if (!stopped) {
      for (const w of alive.filter((w) => !w.gone)) {
        violations.push(`worker ${w.name} (pid ${w.pid}) did not stop within 20 s of SIGTERM`);
        signal(w.pid, "SIGKILL");
      }
    }
    for (const w of stopped ? alive : []) {
      const status = await w.exited;
      if (status.code !== 0) violations.push(`worker ${w.name} exited with ${JSON.stringify(status)} on SIGTERM`);
    }
    let leftovers = runProcesses() ?? [];
    for (let t = 0; leftovers.length && t < 20; t++) {
      await sleep(250); // horses of the last stopped workers may still be on their way out
      leftovers = runProcesses() ?? [];
    }
    for (const p of leftovers) {
      signal(p.pid, "SIGKILL");
    }
    if (leftovers.length) {
      violations.push(
        `${leftovers.length} process(es) of this run still alive 5 s after all workers stopped (killed now): ` +
          leftovers.map((p) => `${p.pid} (ppid ${p.ppid}) ${p.cmd}`).join("; "),
      );
    }

    // ---------------------------------------------------------------------------------------------------------------
    // Verification: every job's place, reason, execution count and order against its parents.
    const ids = jobs.map((j) => j.id);
    const zset = (kind: Parameters<typeof registryKey>[0], q: string) =>
      connection.call<string[]>(["ZRANGE", registryKey(kind, q), "0", "-1"]);
    const places = new Map<string, string[]>(); // id → every place it is in
    const placeQueues = new Map<string, string[]>(); // id → the queue of each of those places
    // Ids in this run's queues and registries that the plan does not have (Redis' view, against the plan's).
    const unplanned: string[] = [];
    const cronPlaces = new Map<string, string[]>(); // cron job id → every place@queue it is in
    const put = (id: string, place: string, q: string) => {
      if (CRON_ID.test(id)) return void cronPlaces.set(id, [...(cronPlaces.get(id) ?? []), `${place}@${q}`]);
      if (!byId.has(id)) return void unplanned.push(`${id} in ${place} of ${q}`);
      places.set(id, [...(places.get(id) ?? []), place]);
      placeQueues.set(id, [...(placeQueues.get(id) ?? []), q]);
    };
    for (const q of [MAIN, STABLE]) {
      for (const kind of ["finished", "failed", "started", "deferred", "scheduled", "canceled"] as const) {
        for (const id of await zset(kind, q)) put(id, kind, q);
      }
      for (const id of await connection.call<string[]>(["LRANGE", queueKey(q), "0", "-1"])) put(id, "queued", q);
    }
    const execCounts = await connection.call<Record<string, string> | string[]>(["HGETALL", keys.exec]);
    const exec = new Map<string, number>();
    if (Array.isArray(execCounts)) {
      for (let k = 0; k < execCounts.length; k += 2) exec.set(execCounts[k], Number(execCounts[k + 1]));
    } else for (const [id, n] of Object.entries(execCounts)) exec.set(id, Number(n));
    const firstStart = new Map<string, number>();
    const lastEvent = new Map<string, number>();
    const ended = new Set<string>(); // ids whose function returned or threw
    for (const line of await connection.call<string[]>(["LRANGE", keys.log, "0", "-1"])) {
      const [id, event, ms] = line.split(" ");
      const t = Number(ms);
      if (event === "start" && !(firstStart.get(id)! <= t)) firstStart.set(id, t);
      if (event === "end") ended.add(id);
      if (!(lastEvent.get(id)! >= t)) lastEvent.set(id, t);
    }

    const fetched = new Map<string, Job | null>();
    const excInfo = new Map<string, string | null>();
    for (let k = 0; k < ids.length; k += 500) {
      const chunk = ids.slice(k, k + 500);
      const found = await Job.fetchMany(chunk, { connection });
      await Promise.all(found.map(async (job, n) => {
        fetched.set(chunk[n], job);
        if (job?.status === "failed") excInfo.set(job.id, await job.excInfo);
      }));
    }

    let finished = 0, failed = 0, lost = 0, duplicated = 0, reran = 0, wrong = 0, orderBad = 0, inconsistent = 0;
    // Retried jobs: how they ended, and those whose runs or results stream do not add up (retryBad).
    const retried = { finished: 0, exhausted: 0, abandoned: 0 };
    let retryBad = 0;
    // Abandoned jobs by the worker named in them: each must be a worker this driver killed (a live one's name is a
    // false death detection), and each killed worker's count within what its slots can hold (ABANDONED_PER_SLOT).
    const abandonedBy = new Map<string, string[]>();
    const reasons: Record<Reason, number> = {
      thrown: 0,
      timeout: 0,
      "horse exited": 0,
      "horse killed": 0,
      abandoned: 0,
      other: 0,
    };
    const problems: string[] = [];
    const problem = (text: string) => problems.length < 40 ? problems.push(text) : undefined;
    const classify = (text: string | null): Reason => {
      if (!text) return "other";
      if (/chaos: thrown on purpose/.test(text)) return "thrown";
      if (/JobTimeoutException/.test(text)) return "timeout";
      if (/exit code 3\b/.test(text)) return "horse exited";
      if (/killed by signal SIGKILL/.test(text)) return "horse killed";
      if (/AbandonedJobError|Moved to FailedJobRegistry/.test(text)) return "abandoned";
      return "other";
    };
    const describe = (id: string) => {
      const j = fetched.get(id);
      const queues = placeQueues.get(id) ?? [];
      const where = (places.get(id) ?? []).map((place, i) => `${place}@${queues[i] === MAIN ? "main" : "stable"}`);
      return `${id} [${byId.get(id)?.chain} chain, ${byId.get(id)?.queue === MAIN ? "main" : "stable"}] status=${
        j?.status ?? "(no hash)"
      } places=${where.join(",") || "none"} worker=${j?.workerName ?? "-"} exec=${exec.get(id) ?? 0}`;
    };

    for (const p of jobs) {
      const job = fetched.get(p.id) ?? null;
      const where = places.get(p.id) ?? [];
      const terminalPlaces = where.filter((w) => w === "finished" || w === "failed");
      const status = job?.status;
      if (!job || terminalPlaces.length === 0) {
        lost++;
        problem(`lost: ${describe(p.id)}`);
        continue;
      }
      if (where.length !== 1 || status !== where[0] || placeQueues.get(p.id)![0] !== p.queue) {
        inconsistent++;
        problem(`not in exactly one place of its queue matching its status: ${describe(p.id)}`);
        continue;
      }
      const runs = exec.get(p.id) ?? 0;
      // A retried job runs until it succeeds or has run max + 1 times; each run (not abandoned) adds a result.
      const retryCounted = async (want: number) => {
        const results = await connection.call<number>(["XLEN", resultsKey(p.id)]);
        if (runs === want && results === want) return;
        retryBad++;
        problem(`${p.kind} job: ${runs} runs and ${results} results, expected ${want} of each: ${describe(p.id)}`);
      };
      if (status === "finished") {
        finished++;
        if (p.retry) {
          retried.finished++;
          await retryCounted(p.retry.failTimes + 1);
        } else if (runs !== 1) {
          duplicated++;
          problem(`finished with ${runs} executions: ${describe(p.id)}`);
        }
        if (EXPECTED[p.kind] !== "finished") {
          wrong++;
          problem(`a ${p.kind} job finished: ${describe(p.id)}`);
        }
      } else {
        failed++;
        const text = excInfo.get(p.id) ?? null;
        const reason = classify(text);
        reasons[reason]++;
        if (reason === "abandoned") {
          const by = job.workerName ?? "(none)";
          abandonedBy.set(by, [...(abandonedBy.get(by) ?? []), p.id]);
        }
        if (p.retry && reason === "abandoned") retried.abandoned++;
        if (p.retry && reason === "thrown") {
          retried.exhausted++;
          await retryCounted(p.retry.max + 1);
        }
        if (runs > (p.retry ? p.retry.max + 1 : 1)) {
          reran++;
          problem(`failed after ${runs} executions: ${describe(p.id)}`);
        }
        if (reason !== "abandoned" && reason !== EXPECTED[p.kind]) {
          wrong++;
          problem(`a ${p.kind} job failed as "${reason}": ${describe(p.id)}: ${(text ?? "(no exc_info)").trim()}`);
        }
      }
      // Dependents ran only after their parents ended (and, without allowFailure, only after they finished).
      const childStart = firstStart.get(p.id);
      if (childStart !== undefined) {
        for (const parent of p.parents) {
          const pj = fetched.get(parent);
          const ended = pj?.endedAt?.getTime();
          const parentDone = Math.max(lastEvent.get(parent) ?? 0, ended !== undefined ? Math.floor(ended) : 0);
          if (ended === undefined || childStart < parentDone || (!p.allowFailure && pj?.status !== "finished")) {
            orderBad++;
            problem(
              `ran at ${childStart} before its parent ${parent} (status ${pj?.status}, ended ${
                ended ?? "never"
              }, last event ${lastEvent.get(parent)}) was done: ${describe(p.id)}`,
            );
          }
        }
      }
    }

    // Cron: every tick's job in exactly one terminal place of the chaos queue, a finished one run once, a failed one
    // only abandoned by a killed worker; the ticks from the first to the last without a gap.
    let cronFinished = 0, cronFailed = 0, cronBad = 0;
    const cronIds = new Set([...await cronJobIds(connection), ...cronPlaces.keys()]);
    for (const id of exec.keys()) if (CRON_ID.test(id)) cronIds.add(id);
    const ticks = [...cronIds].map((id) => Number(CRON_ID.exec(id)![1])).sort((a, b) => a - b);
    for (const id of cronIds) {
      const where = cronPlaces.get(id) ?? [];
      const runs = exec.get(id) ?? 0;
      if (where.length !== 1 || !/^(finished|failed)@/.test(where[0]) || !where[0].endsWith(`@${MAIN}`)) {
        cronBad++;
        problem(`cron job ${id}: in ${where.join(", ") || "no place"}, ${runs} runs`);
        continue;
      }
      if (where[0].startsWith("finished")) {
        cronFinished++;
        if (runs !== 1) {
          cronBad++;
          problem(`cron job ${id} finished with ${runs} executions`);
        }
        continue;
      }
      cronFailed++;
      const job = await Job.fetch(id, { connection }).catch(() => null);
      const reason = classify(job ? await job.excInfo : null);
      if (reason !== "abandoned" || runs > 1) {
        cronBad++;
        problem(`cron job ${id} failed as "${reason}" after ${runs} runs`);
      } else {
        reasons.abandoned++;
        const by = job?.workerName ?? "(none)";
        abandonedBy.set(by, [...(abandonedBy.get(by) ?? []), id]);
      }
    }
    const cronGaps = ticks.filter((t, i) => i > 0 && t !== ticks[i - 1] + 1).length;
    if (cronGaps || !ticks.length || (cronJobs !== undefined && cronJobs !== ticks.length)) {
      violations.push(
        `cron: ${ticks.length} ticks (${
          cronJobs ?? "?"
        } counted when the cron processes stopped), ${cronGaps} gap(s): ` +
          `${ticks.slice(0, 5).join(" ")}…`,
      );
    }

    const seconds = (ms: number) => (ms / 1000).toFixed(1);
    console.log(`jobs: ${N}, finished: ${finished}, failed: ${failed}, lost: ${lost}, duplicated: ${duplicated}`);
    console.log(
      `failed by reason: ${Object.entries(reasons).map(([r, n]) => `${r} ${n}`).join(", ")}; ` +
        `failed after a second run: ${reran}; unexpected outcome: ${wrong}; in more or other places: ${inconsistent}`,
    );
    const retries = jobs.filter((p) => p.retry).length;
    console.log(
      `retried jobs: ${retries} (finished after their failed runs ${retried.finished}, failed after their last run ` +
        `${retried.exhausted}, abandoned ${retried.abandoned}); runs or results miscounted: ${retryBad}`,
    );
    console.log(
      `scheduled jobs: ${jobs.filter((p) => p.delayMs).length} with a due time; kills of the scheduler lock ` +
        `holder: ${lockHolderKills} (lock TTL ${SCHEDULER_LOCK_TTL} s)`,
    );
    console.log(
      `cron: ${ticks.length} ticks (${ticks.length ? `${ticks[0]}..${ticks[ticks.length - 1]}` : "none"}), ` +
        `gaps ${cronGaps}, finished ${cronFinished}, failed (abandoned) ${cronFailed}, miscounted ${cronBad}; ` +
        `${crons.length} cron processes, ${cronKills} SIGKILLed`,
    );
    const chains = (kind: Planned["chain"]) => units.filter((u) => u[0].chain === kind).length;
    console.log(
      `chains: ${chains("allow-failure")} allowing failure, ${chains("plain")} plain; ` +
        `dependents run before their parent ended: ${orderBad}`,
    );
    console.log(
      `workers: ${WORKERS} on ${RUNTIME} (+1 never killed, for plain chains' parents), ${kills} SIGKILLed and replaced; ` +
        `orphan horses: peak ${orphanPeak} at once, longest-lived ${seconds(orphanLongestMs)} s, ` +
        `${leftovers.length} left at the end`,
    );
    const startups = workers.filter((w) => w.registeredAt !== undefined).map((w) => w.registeredAt! - w.spawnedAt);
    const meanStartup = startups.reduce((a, b) => a + b, 0) / (startups.length || 1);
    const neverUp = workers.filter((w) => w.registeredAt === undefined).length;
    const maxStartup = Math.max(0, ...startups);
    console.log(
      `worker start-up (spawn to registered): mean ${seconds(meanStartup)} s, max ${seconds(maxStartup)} s; ` +
        `${neverUp} of ${workers.length} never registered`,
    );
    const load = loadavg().map((l) => l.toFixed(1)).join(" ");
    console.log(
      `elapsed: ${seconds(Date.now() - started)} s (waiting ended after ${seconds(drained - started)} s); ` +
        `seed ${SEED}; load average ${load}; driver's worst event-loop stall ${maxLagMs} ms`,
    );
    // The kills: at least one (a run without a death shows nothing about recovery), and about as many as the run
    // planned, one every KILL_EVERY s while killing went on; half of it allows for kills late on a loaded machine.
    const killingSeconds = (killingEnded - killingSince) / 1000;
    const expectedKills = Math.floor(killingSeconds / KILL_EVERY);
    const killed = new Map(workers.filter((w) => w.killedByUs).map((w) => [w.name, w]));
    console.log(
      `kills: ${kills} (planned ${expectedKills}: one every ${KILL_EVERY} s over ${killingSeconds.toFixed(1)} s ` +
        `of killing; at least ${Math.max(1, Math.ceil(expectedKills / 2))} required)`,
    );
    if (kills < 1 || kills < expectedKills / 2) {
      violations.push(
        `${kills} worker(s) killed, ${expectedKills} planned: the run did not test deaths` +
          (expectedKills < 1 ? ` (too short for one kill every ${KILL_EVERY} s: raise --jobs)` : ""),
      );
    }
    // Abandoned jobs: each named worker killed, each within its slots' bound (see ABANDONED_PER_SLOT).
    if (FROM_SOURCES) {
      const source = readFileSync(join(ROOT, "src/slot.ts"), "utf8");
      const batchMax = Number(/^export const BATCH_MAX = (\d+);/m.exec(source)?.[1]);
      if (batchMax !== BATCH_MAX) violations.push(`src/slot.ts has BATCH_MAX ${batchMax}: update chaos.ts's`);
    }
    let abandonedBound = 0;
    for (const w of killed.values()) abandonedBound += w.concurrency * ABANDONED_PER_SLOT;
    // A worker that logged its liveness lapsed (stalled past --liveness-ttl on a loaded machine) was recovered as dead,
    // rightly by the TTL: what it then gave back instead of running (released or never-started jobs) stays abandoned
    // under its name. It counts like a killed one; a live worker that never said so must not appear here.
    const lapsed = new Map(workers.filter((w) => w.lapsed && !w.killedByUs).map((w) => [w.name, w]));
    for (const w of lapsed.values()) abandonedBound += w.concurrency * ABANDONED_PER_SLOT;
    const abandonedByLive = [...abandonedBy].filter(([name]) => !killed.has(name) && !lapsed.has(name));
    const all = [...abandonedBy.values()].flat();
    const perWorker = [...abandonedBy].map(([name, ids]) =>
      `${name.slice(run.length + 1)} (c${(killed.get(name) ?? lapsed.get(name))?.concurrency ?? "?"}) ${ids.length}`
    );
    console.log(
      `abandoned: ${reasons.abandoned} (${all.filter((id) => ended.has(id)).length} had returned, ` +
        `${all.filter((id) => firstStart.has(id) && !ended.has(id)).length} were running, ` +
        `${all.filter((id) => !firstStart.has(id)).length} never started), by ${abandonedBy.size} worker(s)` +
        `${perWorker.length ? ` [${perWorker.join(", ")}]` : ""}, ${abandonedByLive.length} of them never killed ` +
        `(${lapsed.size} live worker(s) logged a liveness lapse); at most ${abandonedBound} allowed ` +
        `(${ABANDONED_PER_SLOT} per slot of the ${kills} killed and ${lapsed.size} lapsed workers)`,
    );
    for (const [name, ids] of abandonedByLive) {
      violations.push(`${ids.length} job(s) failed as abandoned by ${name}, which was never killed: ${ids.join(", ")}`);
    }
    for (const [name, ids] of abandonedBy) {
      const w = killed.get(name) ?? lapsed.get(name);
      if (w && ids.length > w.concurrency * ABANDONED_PER_SLOT) {
        violations.push(
          `${ids.length} job(s) abandoned by ${name} (concurrency ${w.concurrency}), more than its slots can hold: ` +
            ids.join(", "),
        );
      }
    }
    if (reasons.abandoned > abandonedBound) {
      violations.push(`${reasons.abandoned} jobs abandoned, more than the killed workers' ${abandonedBound}`);
    }
    // What Redis holds against what the plan expects: no id the plan lacks in any queue, registry or the side channel,
    // and the terminal registries' own counts equal the jobs found finished and failed one by one.
    for (const id of exec.keys()) {
      if (!byId.has(id) && !CRON_ID.test(id)) unplanned.push(`${id} executed (side channel)`);
    }
    if (unplanned.length) {
      violations.push(`${unplanned.length} id(s) the plan does not have: ${unplanned.slice(0, 10).join("; ")}`);
    }
    const registered = { finished: 0, failed: 0 };
    for (const q of [MAIN, STABLE]) {
      registered.finished += await connection.call<number>(["ZCARD", registryKey("finished", q)]);
      registered.failed += await connection.call<number>(["ZCARD", registryKey("failed", q)]);
    }
    if (registered.finished !== finished + cronFinished || registered.failed !== failed + cronFailed) {
      violations.push(
        `registries hold ${registered.finished} finished and ${registered.failed} failed; the ${N} planned jobs ` +
          `were found ${finished} finished and ${failed} failed, the cron jobs ${cronFinished} and ${cronFailed}`,
      );
    }
    for (const p of problems) console.log(`  ${p}`);
    for (const v of violations) console.log(`  ${v}`);
    const bad = lost + duplicated + reran + wrong + orderBad + inconsistent + retryBad + cronBad + violations.length;
    exitCode = bad ? 1 : 0;
    if (exitCode) console.log(`FAILED: worker logs kept in ${logDir}`);
    return exitCode;
  } finally {
    for (const w of workers.filter((w) => !w.gone)) {
      signal(w.pid, "SIGKILL");
    }
    for (const c of crons.filter((c) => !c.gone)) c.child.kill("SIGKILL");
    for (const p of runProcesses() ?? []) {
      signal(p.pid, "SIGKILL");
    }
    stopWatchingLag();
    for (const s of logStreams) s.end();
    if (flags.url) {
      await cleanUp(connection, [...jobs.map((j) => j.id), ...await cronJobIds(connection).catch(() => [])])
        .catch(() => {});
    }
    await connection.close();
    await redis?.stop();
    if (exitCode === 0) rmSync(logDir, { recursive: true, force: true });
  }
}

/**
 * Enqueues a job exactly once: a call whose connection broke in flight may or may not have run, and enqueueing the
 * same id again would push it twice (a false "duplicated"), so it is retried only when the job hash is not there.
 */
async function enqueueOnce(connection: Connection, id: string, enqueue: () => Promise<unknown>): Promise<void> {
  for (let attempt = 1;; attempt++) {
    try {
      await enqueue();
      return;
    } catch (error) {
      if (!(error instanceof RedisConnectionError) || attempt >= 5) throw error;
      log(`enqueue of ${id} failed (${error.message}); ${error.maybeRan ? "checking whether it ran" : "retrying"}`);
      await sleep(500);
      if (error.maybeRan && await connection.call<number>(["EXISTS", jobKey(id)])) return;
    }
  }
}

/** The ids of the cron jobs this run's entry enqueued (their hashes: results are kept for ever). */
async function cronJobIds(connection: Connection): Promise<string[]> {
  const ids: string[] = [];
  let cursor = "0";
  do {
    const [next, keys] = await connection.call<[string, string[]]>(
      ["SCAN", cursor, "MATCH", jobKey(`cron-${CRON_ENTRY}-*`), "COUNT", "1000"],
    );
    cursor = next;
    for (const key of keys) ids.push(key.slice(jobKey("").length));
  } while (cursor !== "0");
  return ids.filter((id) => CRON_ID.test(id));
}

/** Cancels a gate job, releasing the chain root that waits on it (as if the gate had finished). */
async function openGate(connection: Connection, gateId: string): Promise<void> {
  for (let attempt = 1;; attempt++) {
    try {
      await (await Job.fetch(gateId, { connection })).cancel({ enqueueDependents: true });
      return;
    } catch (error) {
      if (!(error instanceof RedisConnectionError) || attempt >= 5) throw error;
      await sleep(500);
      if (await connection.call<string | null>(["HGET", jobKey(gateId), "status"]) === "canceled") return;
    }
  }
}

/** On a Redis the caller gave (--url), removes what this run wrote. */
async function cleanUp(connection: Connection, ids: string[]): Promise<void> {
  const keys = sideChannelKeys(run);
  const del: string[] = [keys.exec, keys.log, cronTickKey(CRON_ENTRY)];
  for (const w of workers) del.push(workerKey(w.name));
  for (const q of [MAIN, STABLE, GATES]) {
    del.push(queueKey(q), cleanRegistriesKey(q));
    for (const kind of ["finished", "failed", "started", "deferred", "scheduled", "canceled"] as const) {
      del.push(registryKey(kind, q));
    }
  }
  for (const id of [...ids, ...ids.map((id) => `${run}-gate-${id}`)]) {
    del.push(jobKey(id), resultsKey(id), dependentsKey(id), dependenciesKey(id));
  }
  for (let k = 0; k < del.length; k += 1000) await connection.call(["DEL", ...del.slice(k, k + 1000)]);
  await connection.call(["SREM", QUEUES_KEY, queueKey(MAIN), queueKey(STABLE), queueKey(GATES)]);
}

process.exit(await main());
