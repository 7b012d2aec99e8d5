// RQ's `rq worker`: the worker command and its flags.

import { Connection } from "../connection.ts";
import { DEFAULT_REDIS_URL } from "../defaults.ts";
import { loadFunction } from "../perform.ts";
import { getRuntime } from "../runtime.ts";
import { isSuspended } from "../suspension.ts";
import { type DequeueStrategy, Worker } from "../worker.ts";
import { checkWorkerOptions } from "../worker_options.ts";
import { COMMON, type Flag, intFlag, logLevel, type Parsed, UsageError } from "./common.ts";

/** `rqts worker --help`. */
export const HELP: Record<string, string> = {
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
};

/** The worker's flags (short forms are RQ's). */
export const FLAGS: Record<string, Record<string, Flag>> = {
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
};

function splitFlags(text: string): string[] {
  return text.split(/\s+/).filter(Boolean);
}

/** `rqts worker [queues...]`: runs a worker until it is told to stop (or, with --burst, until the queues are empty). */
export async function workerCommand(queues: string[], p: Parsed, url: string): Promise<number> {
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
