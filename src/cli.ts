// RQ's rq/cli (rq worker, rq info, rq empty, rq requeue, rq suspend, rq resume, rq cron): one implementation behind
// `deno task worker`, and the npm bin `rqts` on Node and Bun.

import { parseArgs as nodeParseArgs } from "node:util";
import { sendKillHorseCommand, sendShutdownCommand, sendStopJobCommand } from "./command.ts";
import { Connection } from "./connection.ts";
import { CronScheduler } from "./cron.ts";
import { RedisConnectionError } from "./errors.ts";
import { DEFAULT_REDIS_URL, RQ_VERSION, RQTS_VERSION } from "./defaults.ts";
import { workerKey, WORKERS_KEY, workersByQueueKey } from "./keys.ts";
import { Queue } from "./queue.ts";
import { FailedJobRegistry } from "./registry.ts";
import { getRuntime, type Signal } from "./runtime.ts";
import { dashboard, type DashboardOptions } from "./dashboard/dashboard.ts";
import { loadFunction } from "./perform.ts";
import { replayOutcomes } from "./outcome_spool.ts";
import { join } from "node:path";
import { type DequeueStrategy, type LogLevel, Worker } from "./worker.ts";
import { checkWorkerOptions } from "./worker_options.ts";
import { isSuspended, resume, suspend } from "./suspension.ts";

const HELP: Record<string, string> = {
  main: `Usage: rqts <command> [options]

Commands (as Python RQ's 'rq' CLI):
  worker [queues...]   Run a worker on the queues, in priority order (default: default)
  info [queues...]     Show queues, their job counts and the workers (Python and rqts alike)
  empty <queues...>    Delete every queued job of the queues (--all: every queue)
  requeue <ids...>     Put failed jobs back on their queue (--queue Q; --all: every failed job of every queue)
  suspend              Stop all workers from taking jobs (--duration N seconds)
  resume               Let suspended workers go on
  cron <config>        Enqueue the config module's cron entries on their schedules (as 'rq cron')
  shutdown <names...>  Ask workers to stop, warm (RQ's send_shutdown_command)
  kill-horse <names..> Ask workers to kill their busy horses (RQ's send_kill_horse_command)
  stop-job <ids...>    Ask the workers running the jobs to stop them (RQ's send_stop_job_command)
  dashboard            Serve the web dashboard (default http://127.0.0.1:9181/)
  store-outcomes       Store what workers stopped during a Redis outage kept in .rqts/outcomes (rqts only)

Common options:
  --url, -u URL        Redis URL (default: REDIS_URL, else ${DEFAULT_REDIS_URL})
  --help, -h           Help for a command: rqts worker --help
  --version, -V        rqts' version

Unknown flags are errors (exit 2); put '--' before a queue name that starts with '-'.`,
  worker: `Usage: rqts worker [queues...] [options]

Runs jobs from the queues (first non-empty queue wins), each in a horse process under its timeout.

Options:
  --url, -u URL                 Redis URL (default: REDIS_URL, else ${DEFAULT_REDIS_URL})
  --burst, -b                   Quit when the queues are empty
  --with-scheduler, -s          Also queue scheduled jobs when due (enqueueAt/enqueueIn, retries), as RQ's
  --scheduler-lock-ttl N        Seconds the scheduler's per-queue lock lives unrenewed (default 10)
  --concurrency, -c N           Horses running at once (default 1)
  --max-jobs-per-horse N        Replace a horse after N jobs; 1 = a fresh process per job (default: no limit)
  --name, -n NAME               Worker name (default: a random UUID hex)
  --path, -P DIR                Job root: where job modules are imported from (default: the working directory)
  --horse-permissions "FLAGS"   Deno only: permission flags for horses (default "--allow-all"),
                                e.g. "--allow-read=. --allow-net=127.0.0.1:6379 --allow-env"
  --results-ttl N               resultTtl for jobs that set none, seconds (default 500)
  --worker-ttl N                Worker key lifetime, seconds (default 420)
  --liveness-ttl N              Seconds without a sign of life after which this worker counts as dead and
                                others recover its jobs (default 30)
  --max-jobs N                  Stop (warm) after running N jobs (default: no limit)
  --max-idle-time SECONDS       Stop once no job came for SECONDS (default: no limit)
  --dequeue-strategy S          default (queues in the order given), round_robin or random (RQ 2.x's)
  --exception-handler REF       Call "module#export" (job, excString) for each failed job, in the worker;
                                repeat for several, in order (one returning false ends the chain)
  --disable-default-exception-handler
                                Failed jobs skip the failed registry and get no failure result (RQ's)
  --outcomes-dir DIR            Where outcomes Redis could not take at shutdown are kept, and replayed from
                                at start (default .rqts/outcomes in the job root)
  --maintenance-interval N      Seconds between registry maintenance runs (default 600)
  --log-level, -l LEVEL         debug, info, warning or error (default info); also --logging_level
  --log-format FORMAT           Python logging format of log lines (default "%(asctime)s %(message)s")
  --date-format FORMAT          strftime format of %(asctime)s (default "%H:%M:%S")
  --verbose, -v                 --log-level debug
  --quiet, -q                   --log-level warning

The first SIGINT/SIGTERM finishes running jobs then exits (warm); a second kills the horses (cold).`,
  info: `Usage: rqts info [queues...] [--url URL]

Shows each queue with its job count, and each worker with its state and queues, as 'rq info' does.`,
  empty: `Usage: rqts empty <queues...> [--all] [--url URL]

Deletes every queued job (and its hash) of the queues. Registries are left alone, as in RQ.`,
  requeue: `Usage: rqts requeue [ids...] [--queue Q] [--all] [--url URL]

Puts failed jobs back on their queue: the given ids of queue Q (default "default"), or with --all every failed
job of every queue (of queue Q only with --queue Q), saying how many per queue.`,
  suspend: `Usage: rqts suspend [--duration SECONDS] [--url URL]

Sets rq:suspended: workers (Python and rqts) stop taking jobs until 'resume' (or the duration ends).`,
  resume: `Usage: rqts resume [--url URL]

Deletes rq:suspended, so suspended workers go on.`,
  cron: `Usage: rqts cron <config> [options]

Enqueues jobs on cron strings or intervals until SIGINT/SIGTERM, registered where RQ 2.x's tooling lists cron
schedulers (rq:cron_schedulers). <config> is a module (path relative to the working directory) whose default
export is an array of entries, e.g.
  export default [
    { func: "./jobs.ts#cleanup", queueName: "default", cron: "0 3 * * *", timezone: "Europe/Berlin" },
    { func: "./jobs.ts#ping", queueName: "default", interval: 30 },
  ];
Run several 'rqts cron' on one config for availability: each tick is enqueued once. See docs/cli.md.

Options:
  --url, -u URL                 Redis URL (default: REDIS_URL, else ${DEFAULT_REDIS_URL})
  --name, -n NAME               Scheduler name (default: <hostname>:<pid>:<6 hex digits>, as RQ)
  --log-level, -l LEVEL         debug, info, warning or error (default info)
  --verbose, -v                 --log-level debug
  --quiet, -q                   --log-level warning`,
  shutdown: `Usage: rqts shutdown <worker names...> [--url URL]

Publishes RQ's shutdown command on rq:pubsub:<name>: the worker (Python or rqts) stops as on SIGTERM, letting its
running jobs finish. Exits 1 when a worker did not get it (none listens under that name).`,
  "kill-horse": `Usage: rqts kill-horse <worker names...> [--url URL]

Publishes RQ's kill-horse command: the worker kills its busy horses (their jobs fail as killed) and goes on.
Exits 1 when a worker did not get it.`,
  "stop-job": `Usage: rqts stop-job <job ids...> [--url URL]

Publishes RQ's stop-job command to the worker named in each job's worker_name: it kills the job's horse and the job
ends 'stopped', in the failed registry. Exits 1 when a job is not running or its worker did not get the command.`,
  dashboard: `Usage: rqts dashboard [options]

Serves the web dashboard: queues, workers and jobs of Python RQ and rqts alike, search, actions, live updates.

Options:
  --url, -u URL         Redis URL (default: REDIS_URL, else ${DEFAULT_REDIS_URL})
  --host HOST           Address to listen on (default 127.0.0.1); beyond loopback it needs --auth or --token
  --port, -p N          Port (default 9181, rq-dashboard's)
  --base-path PATH      Serve under PATH, e.g. /rq behind a reverse proxy (default: the root)
  --read-only           Pages only: every action is refused
  --auth USER:PASSWORD  HTTP basic auth (or set RQTS_DASHBOARD_AUTH)
  --token TOKEN         Bearer token (8+ chars); a browser opens /?token=TOKEN once (or set RQTS_DASHBOARD_TOKEN)

Stops on SIGINT/SIGTERM. See docs/dashboard.md.`,
  "store-outcomes": `Usage: rqts store-outcomes [--outcomes-dir DIR] [--url URL]

Stores the outcomes workers kept in DIR (default .rqts/outcomes in the working directory) because Redis was unreachable
as they stopped, as a worker started with that directory does; each only while its job is still that worker's.`,
};

type Flag = { type: "string" | "boolean"; short?: string; multiple?: boolean };

// Every command's flags, strictly: an unknown one is an error (exit 2), and a flag takes a value only if it is
// declared to, so a misspelt flag never swallows the queue name after it. Short forms are RQ's where RQ has one.
const COMMON: Record<string, Flag> = {
  url: { type: "string", short: "u" },
  help: { type: "boolean", short: "h" },
};
const FLAGS: Record<string, Record<string, Flag>> = {
  worker: {
    ...COMMON,
    burst: { type: "boolean", short: "b" },
    "with-scheduler": { type: "boolean", short: "s" },
    "scheduler-lock-ttl": { type: "string" },
    concurrency: { type: "string", short: "c" },
    "max-jobs-per-horse": { type: "string" },
    name: { type: "string", short: "n" },
    path: { type: "string", short: "P" },
    "horse-permissions": { type: "string" },
    "results-ttl": { type: "string" },
    "worker-ttl": { type: "string" },
    "liveness-ttl": { type: "string" },
    "log-level": { type: "string", short: "l" },
    logging_level: { type: "string" },
    "log-format": { type: "string" },
    "date-format": { type: "string" },
    "max-jobs": { type: "string" },
    "max-idle-time": { type: "string" },
    "disable-default-exception-handler": { type: "boolean" },
    "outcomes-dir": { type: "string" },
    "dequeue-strategy": { type: "string" },
    "exception-handler": { type: "string", multiple: true },
    "maintenance-interval": { type: "string" },
    verbose: { type: "boolean", short: "v" },
    quiet: { type: "boolean", short: "q" },
  },
  info: { ...COMMON },
  empty: { ...COMMON, all: { type: "boolean", short: "a" } },
  requeue: { ...COMMON, queue: { type: "string" }, all: { type: "boolean", short: "a" } },
  suspend: { ...COMMON, duration: { type: "string" } },
  resume: { ...COMMON },
  cron: {
    ...COMMON,
    name: { type: "string", short: "n" },
    "log-level": { type: "string", short: "l" },
    verbose: { type: "boolean", short: "v" },
    quiet: { type: "boolean", short: "q" },
  },
  shutdown: { ...COMMON },
  "kill-horse": { ...COMMON },
  "stop-job": { ...COMMON },
  dashboard: {
    ...COMMON,
    host: { type: "string" },
    port: { type: "string", short: "p" },
    "base-path": { type: "string" },
    "read-only": { type: "boolean" },
    auth: { type: "string" },
    token: { type: "string" },
  },
  "store-outcomes": { ...COMMON, "outcomes-dir": { type: "string" } },
};

/** A command line parsed for one command. */
export type Parsed = { command: string; positional: string[]; flags: Map<string, string | true | string[]> };

/** A command line that cannot be run as given: the CLI prints its message and exits 2. */
export class UsageError extends TypeError {
  override name = "UsageError";
}

/**
 * Parses `rqts <command> [args...]` with `node:util`'s parseArgs, strictly, with the command's own flags
 * (`--flag value`, `--flag=value`, `-f value`, booleans, `--` before positionals that start with `-`).
 * `--help` and `--version` with no command give command "help" and "version".
 * @throws {UsageError} naming the unknown command or flag, or the flag missing its value.
 */
export function parseArgs(args: readonly string[]): Parsed {
  const [first, ...rest] = args;
  if (first === undefined || first === "--help" || first === "-h") {
    return { command: "help", positional: [], flags: new Map() };
  }
  if (first === "--version" || first === "-V") return { command: "version", positional: [], flags: new Map() };
  if (first.startsWith("-")) throw new UsageError(`rqts: the command comes first (got ${first}); see rqts --help.`);
  const options = FLAGS[first];
  if (!options) {
    throw new UsageError(`rqts: unknown command '${first}'; the commands are ${Object.keys(FLAGS).join(", ")}.`);
  }
  try {
    const { values, positionals } = nodeParseArgs({ args: [...rest], options, strict: true, allowPositionals: true });
    const flags = new Map<string, string | true | string[]>();
    for (const [name, value] of Object.entries(values)) {
      if (value !== undefined && value !== false) flags.set(name, value as string | true | string[]);
    }
    return { command: first, positional: positionals, flags };
  } catch (error) {
    // Node's messages name the flag ("Unknown option '--foo'", "Option '-c, --concurrency <value>' argument
    // missing"); they go out as they are, behind the command and a pointer to its help.
    throw new UsageError(
      `rqts ${first}: ${
        (error as Error).message.replace(/\. To specify a positional.*$/s, "")
      }; see rqts ${first} --help.`,
    );
  }
}

function intFlag(p: Parsed, name: string): number | undefined {
  const v = p.flags.get(name);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (typeof v !== "string" || !/^-?\d+$/.test(v) || !Number.isSafeInteger(n)) {
    throw new UsageError(`--${name}: received ${String(v)}; expected an integer.`);
  }
  return n;
}

function splitFlags(text: string): string[] {
  return text.split(/\s+/).filter(Boolean);
}

const out = (line = "") => console.log(line);

/** Runs the CLI with `args` (without the program name); resolves to the exit code (2: a usage error). */
export async function main(args: readonly string[]): Promise<number> {
  let parsed: Parsed;
  try {
    parsed = parseArgs(args);
  } catch (error) {
    console.error((error as Error).message);
    return 2;
  }
  const { command } = parsed;
  if (command === "help") {
    out(HELP.main);
    return 0;
  }
  if (command === "version") {
    out(`rqts ${RQTS_VERSION} (RQ ${RQ_VERSION} wire format)`);
    return 0;
  }
  if (parsed.flags.has("help")) {
    out(HELP[command]);
    return 0;
  }
  const url = (parsed.flags.get("url") as string | undefined) ?? getRuntime().env("REDIS_URL") ?? DEFAULT_REDIS_URL;
  try {
    switch (command) {
      case "worker":
        return await workerCommand(parsed.positional, parsed, url);
      case "info":
        return await infoCommand(parsed.positional, url);
      case "empty":
        return await emptyCommand(parsed.positional, parsed, url);
      case "requeue":
        return await requeueCommand(parsed.positional, parsed, url);
      case "cron":
        return await cronCommand(parsed.positional, parsed, url);
      case "suspend":
      case "resume":
        if (parsed.positional.length) throw new UsageError(`takes no arguments (got ${parsed.positional.join(" ")})`);
        return await suspendCommand(command, parsed, url);
      case "shutdown":
      case "kill-horse":
      case "stop-job":
        return await workerCommandCommand(command, parsed.positional, url);
      case "dashboard":
        if (parsed.positional.length) throw new UsageError(`takes no arguments (got ${parsed.positional.join(" ")})`);
        return await dashboardCommand(parsed, url);
      case "store-outcomes":
        return await storeOutcomesCommand(parsed, url);
    }
  } catch (error) {
    console.error(`rqts ${command}: ${(error as Error)?.message ?? error}`);
    return error instanceof UsageError ? 2 : 1;
  }
  return 2;
}

function logLevel(p: Parsed): LogLevel {
  if (p.flags.has("verbose") && p.flags.has("quiet")) throw new UsageError("--verbose and --quiet: pick one.");
  if (p.flags.has("log-level") && p.flags.has("logging_level")) {
    throw new UsageError("--log-level and --logging_level: pick one.");
  }
  const level = ((p.flags.get("log-level") ?? p.flags.get("logging_level")) as string | undefined)?.toLowerCase() ??
    (p.flags.has("verbose") ? "debug" : p.flags.has("quiet") ? "warning" : "info");
  if (!["debug", "info", "warning", "error"].includes(level)) {
    throw new UsageError(`--log-level: received ${level}; expected debug, info, warning or error.`);
  }
  return level as LogLevel;
}

async function workerCommand(queues: string[], p: Parsed, url: string): Promise<number> {
  // Every flag is checked before anything connects, so a typo is told as a typo, not as a Redis error.
  const level = logLevel(p);
  const permissions = p.flags.get("horse-permissions");
  const options = {
    name: p.flags.get("name") as string | undefined,
    concurrency: intFlag(p, "concurrency"),
    maxJobsPerHorse: intFlag(p, "max-jobs-per-horse"),
    jobRoot: p.flags.get("path") as string | undefined,
    horsePermissions: typeof permissions === "string" ? splitFlags(permissions) : undefined,
    defaultResultTtl: intFlag(p, "results-ttl"),
    workerTtl: intFlag(p, "worker-ttl"),
    livenessTtl: intFlag(p, "liveness-ttl"),
    logLevel: level,
    logFormat: p.flags.get("log-format") as string | undefined,
    dateFormat: p.flags.get("date-format") as string | undefined,
    maxJobs: intFlag(p, "max-jobs"),
    maxIdleTime: intFlag(p, "max-idle-time"),
    dequeueStrategy: p.flags.get("dequeue-strategy") as DequeueStrategy | undefined,
    maintenanceInterval: intFlag(p, "maintenance-interval"),
    withScheduler: p.flags.has("with-scheduler"),
    schedulerLockTtl: intFlag(p, "scheduler-lock-ttl"),
    disableDefaultExceptionHandler: p.flags.has("disable-default-exception-handler"),
    outcomesDir: p.flags.get("outcomes-dir") as string | undefined,
  };
  // Options are checked (a bad value is a usage error) before handlers are imported or Redis is reached.
  try {
    checkWorkerOptions(options);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const handlerRefs = (p.flags.get("exception-handler") as string[] | undefined) ?? [];
  const jobRoot = options.jobRoot ?? getRuntime().cwd();
  const exceptionHandlers = await Promise.all(handlerRefs.map((ref) => loadFunction(ref, jobRoot)));
  const connection = Connection.fromUrl(url);
  if (await isSuspended(connection)) {
    console.error("Workers are suspended (rq:suspended is set). Run 'rqts resume' first.");
    await connection.close();
    return 1;
  }
  const worker = new Worker(queues.length ? queues : ["default"], { connection, ...options, exceptionHandlers });
  await worker.work({ burst: p.flags.has("burst") });
  return 0;
}

async function cronCommand(args: string[], p: Parsed, url: string): Promise<number> {
  const level = logLevel(p);
  if (args.length !== 1) {
    throw new UsageError(`give one config module (got ${args.length ? args.join(" ") : "none"}); see rqts cron --help`);
  }
  const connection = Connection.fromUrl(url);
  try {
    const cron = new CronScheduler({ connection, name: p.flags.get("name") as string | undefined, logLevel: level });
    await cron.loadConfigFromFile(args[0]);
    await cron.start();
  } finally {
    await connection.close();
  }
  return 0;
}

async function infoCommand(only: string[], url: string): Promise<number> {
  const c = Connection.fromUrl(url);
  try {
    const queues = (await Queue.all({ connection: c })).filter((q) => !only.length || only.includes(q.name));
    const counts = await Promise.all(queues.map((q) => q.count()));
    const pad = Math.max(0, ...queues.map((q) => q.name.length));
    for (const [i, q] of queues.entries()) {
      out(`${q.name.padEnd(pad)} |${"█".repeat(Math.min(counts[i], 50))} ${counts[i]}`);
    }
    out(`${queues.length} queues, ${counts.reduce((a, b) => a + b, 0)} jobs total`);
    out();
    // As rq info: workers are listed from each queue's worker set (all workers when there are no queues).
    const keys = new Set<string>();
    const sources = queues.length ? queues.map((q) => workersByQueueKey(q.name)) : [WORKERS_KEY];
    for (const s of sources) for (const k of await c.call<string[]>(["SMEMBERS", s])) keys.add(k);
    let n = 0;
    for (const key of [...keys].sort()) {
      const h = await c.call<Record<string, string>>(["HGETALL", key]);
      if (!h || !Object.keys(h).length || h.death) continue;
      n++;
      const name = key.slice(workerKey("").length);
      out(
        `${name} (${h.hostname} ${h.ip_address} ${h.pid}): ${h.state ?? "?"} ${(h.queues ?? "").split(",").join(", ")}`,
      );
    }
    out(`${n} workers, ${queues.length} queues`);
  } finally {
    await c.close();
  }
  return 0;
}

async function emptyCommand(names: string[], p: Parsed, url: string): Promise<number> {
  const connection = Connection.fromUrl(url);
  try {
    const queues = p.flags.has("all")
      ? await Queue.all({ connection })
      : names.map((n) => new Queue(n, { connection }));
    if (!queues.length) throw new UsageError("give queue names, or --all");
    for (const q of queues) out(`${await q.empty()} jobs removed from ${q.name} queue`);
  } finally {
    await connection.close();
  }
  return 0;
}

async function requeueCommand(ids: string[], p: Parsed, url: string): Promise<number> {
  const connection = Connection.fromUrl(url);
  try {
    const only = p.flags.get("queue") as string | undefined;
    if (p.flags.has("all")) {
      if (ids.length) throw new UsageError("give job ids or --all, not both");
      // Every queue's failed jobs, as RQ's `rq requeue --all` (or one queue's with --queue).
      const names = only !== undefined ? [only] : (await Queue.all({ connection })).map((q) => q.name);
      let total = 0, refused = 0;
      for (const name of names) {
        const registry = new FailedJobRegistry(name, { connection });
        let done = 0;
        for (const id of await registry.getJobIds()) {
          // One job that cannot be requeued (a broken hash) is reported; the others are still requeued.
          try {
            await registry.requeue(id);
            done++;
          } catch (error) {
            if (error instanceof RedisConnectionError) throw error;
            console.error(`Could not requeue ${id} of queue ${name}: ${(error as Error)?.message ?? error}`);
            refused++;
          }
        }
        if (done) out(`Requeued ${done} failed jobs on queue ${name}`);
        total += done;
      }
      out(`Requeued ${total} jobs` + (refused ? `; ${refused} could not be requeued (above)` : ""));
      return refused ? 1 : 0;
    }
    if (!ids.length) throw new UsageError("give job ids, or --all");
    const registry = new FailedJobRegistry(only ?? "default", { connection });
    for (const id of ids) await registry.requeue(id);
    out(`Requeued ${ids.length} jobs`);
  } finally {
    await connection.close();
  }
  return 0;
}

async function suspendCommand(command: "suspend" | "resume", p: Parsed, url: string): Promise<number> {
  const duration = intFlag(p, "duration");
  if (duration !== undefined && duration < 1) throw new UsageError("--duration must be at least 1 second");
  const connection = Connection.fromUrl(url);
  try {
    if (command === "resume") {
      await resume(connection);
      out("Resuming workers.");
      return 0;
    }
    await suspend(connection, duration);
    out(duration ? `Suspending workers for ${duration} seconds.` : "Suspending workers. Run 'rqts resume' to resume.");
  } finally {
    await connection.close();
  }
  return 0;
}

/** `rqts store-outcomes`: the outcomes stopped workers kept (see outcome_spool.ts), stored without a worker. */
async function storeOutcomesCommand(p: Parsed, url: string): Promise<number> {
  if (p.positional.length) throw new UsageError(`takes no arguments (got ${p.positional.join(" ")})`);
  const dir = (p.flags.get("outcomes-dir") as string | undefined) ?? join(getRuntime().cwd(), ".rqts", "outcomes");
  const connection = Connection.fromUrl(url);
  try {
    const files = await replayOutcomes(dir, connection, `cli${getRuntime().pid()}`, (_level, message) => out(message));
    if (!files) out(`No kept outcomes in ${dir}.`);
  } finally {
    await connection.close();
  }
  return 0;
}

/** `rqts shutdown|kill-horse <workers...>`, `rqts stop-job <ids...>`: RQ's worker commands (see command.ts). */
async function workerCommandCommand(
  command: "shutdown" | "kill-horse" | "stop-job",
  targets: string[],
  url: string,
): Promise<number> {
  if (!targets.length) throw new UsageError(command === "stop-job" ? "give job ids" : "give worker names");
  const connection = Connection.fromUrl(url);
  let missed = 0;
  try {
    for (const target of targets) {
      let received: number;
      try {
        received = command === "shutdown"
          ? await sendShutdownCommand(connection, target)
          : command === "kill-horse"
          ? await sendKillHorseCommand(connection, target)
          : await sendStopJobCommand(connection, target);
      } catch (error) {
        if (error instanceof RedisConnectionError) throw error;
        console.error(`${target}: ${(error as Error)?.message ?? error}`);
        missed++;
        continue;
      }
      if (received) out(`Sent ${command} for ${target}`);
      else {
        console.error(`Sent ${command} for ${target}, but no worker listens for it (is it running?)`);
        missed++;
      }
    }
  } finally {
    await connection.close();
  }
  return missed ? 1 : 0;
}

/** Whether `host` only takes connections from this machine. */
export function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || host === "[::1]" || /^127(\.\d{1,3}){3}$/.test(host);
}

/** A Redis URL with its password masked, for a log line. */
function redacted(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return url;
  }
}

/** `rqts dashboard`: serves the dashboard until SIGINT/SIGTERM. */
async function dashboardCommand(p: Parsed, url: string): Promise<number> {
  const runtime = getRuntime();
  const host = (p.flags.get("host") as string | undefined) ?? "127.0.0.1";
  const port = intFlag(p, "port") ?? 9181;
  if (port < 0 || port > 65535) throw new UsageError(`--port: received ${port}; expected 0-65535.`);
  const basic = (p.flags.get("auth") as string | undefined) ?? runtime.env("RQTS_DASHBOARD_AUTH");
  const token = (p.flags.get("token") as string | undefined) ?? runtime.env("RQTS_DASHBOARD_TOKEN");
  if (basic && token) throw new UsageError("--auth and --token: pick one.");
  if (!basic && !token && !isLoopback(host)) {
    throw new UsageError(
      `refusing to listen on ${host} without authentication: anyone who reaches it could delete jobs. Give ` +
        `--auth USER:PASSWORD or --token TOKEN, or listen on 127.0.0.1.`,
    );
  }
  const options: DashboardOptions = {
    connection: url,
    basePath: p.flags.get("base-path") as string | undefined,
    readOnly: p.flags.has("read-only"),
    auth: basic ? basic : token ? { token } : undefined,
  };
  let handler;
  try {
    handler = dashboard(options);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const server = await runtime.serve(handler, { hostname: host, port });
  const shown = host.includes(":") && !host.startsWith("[") ? `[${host}]` : host;
  out(
    `rqts dashboard on http://${shown}:${server.port}${options.basePath ?? ""}/ for ${redacted(url)}` +
      (options.readOnly ? " (read-only)" : "") + (token ? " (open it once with ?token=TOKEN)" : ""),
  );
  await new Promise<void>((resolve) => {
    const offs = (["SIGINT", "SIGTERM"] as Signal[]).map((signal) => runtime.onSignal(signal, () => resolve()));
    void offs;
  });
  await server.close();
  await handler.close();
  return 0;
}
