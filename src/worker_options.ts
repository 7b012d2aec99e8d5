// RQ's Worker.__init__ arguments and its logging setup: the options of `new Worker()`, checked in one place before a
// worker touches Redis, and the console logger that writes RQ's log format.

import type { ConnectionOption } from "./connection.ts";
import {
  DEFAULT_JOB_MONITORING_INTERVAL,
  DEFAULT_LIVENESS_TTL,
  DEFAULT_MAINTENANCE_INTERVAL,
  DEFAULT_RESULT_TTL,
  DEFAULT_WORKER_TTL,
  SCHEDULER_LOCK_TTL,
} from "./defaults.ts";
import type { Job } from "./job.ts";
import type { Serializer } from "./serializer.ts";

/** Log levels, as RQ's `--logging_level`. */
export type LogLevel = "debug" | "info" | "warning" | "error";
const LEVELS: Record<LogLevel, number> = { debug: 10, info: 20, warning: 30, error: 40 };

/** Where a worker's log lines go. */
export interface Logger {
  log(level: LogLevel, message: string): void;
}

/** RQ's default log format and date format (rq/defaults.py: DEFAULT_LOGGING_FORMAT, DEFAULT_LOGGING_DATE_FORMAT). */
export const DEFAULT_LOG_FORMAT = "%(asctime)s %(message)s";
export const DEFAULT_DATE_FORMAT = "%H:%M:%S";
const LEVEL_NAMES: Record<LogLevel, string> = { debug: "DEBUG", info: "INFO", warning: "WARNING", error: "ERROR" };

/** Python's strftime for the directives log dates use (%Y %m %d %H %M %S %f %z %%), in local time as Python's logging. */
function strftime(format: string, d: Date): string {
  const two = (n: number) => String(n).padStart(2, "0");
  const offset = -d.getTimezoneOffset();
  const codes: Record<string, string> = {
    Y: String(d.getFullYear()),
    m: two(d.getMonth() + 1),
    d: two(d.getDate()),
    H: two(d.getHours()),
    M: two(d.getMinutes()),
    S: two(d.getSeconds()),
    f: String(d.getMilliseconds() * 1000).padStart(6, "0"),
    z: `${offset < 0 ? "-" : "+"}${two(Math.floor(Math.abs(offset) / 60))}${two(Math.abs(offset) % 60)}`,
    "%": "%",
  };
  return format.replace(/%([YmdHMSfz%])/g, (_, c: string) => codes[c]);
}

/**
 * RQ's console logging (`rq worker --logging_level/--log-format/--date-format`): lines in Python logging's `format`
 * (`%(asctime)s`, `%(message)s`, `%(levelname)s`, `%(name)s`), dates in `dateFormat` (strftime's
 * %Y %m %d %H %M %S %f %z); warnings and errors on stderr.
 */
export function consoleLogger(
  level: LogLevel = "info",
  options: { format?: string; dateFormat?: string } = {},
): Logger {
  const min = LEVELS[level];
  const format = options.format ?? DEFAULT_LOG_FORMAT;
  const dateFormat = options.dateFormat ?? DEFAULT_DATE_FORMAT;
  const plain = format === DEFAULT_LOG_FORMAT && dateFormat === DEFAULT_DATE_FORMAT;
  return {
    log(l, message) {
      if (LEVELS[l] < min) return;
      const line = plain ? `${new Date().toTimeString().slice(0, 8)} ${message}` : format.replace(
        /%\((asctime|message|levelname|name)\)s/g,
        (_, key: string) =>
          key === "asctime"
            ? strftime(dateFormat, new Date())
            : key === "message"
            ? message
            : key === "levelname"
            ? LEVEL_NAMES[l]
            : "rq.worker",
      );
      if (LEVELS[l] >= LEVELS.warning) console.error(line);
      else console.log(line);
    },
  };
}

/** RQ 2.x's dequeue strategies: queue order as given, rotated after each job (round_robin), or shuffled. */
export type DequeueStrategy = "default" | "round_robin" | "random";
const DEQUEUE_STRATEGIES: readonly DequeueStrategy[] = ["default", "round_robin", "random"];

/**
 * RQ's exception handlers: called in the worker process, in order, for each job that fails (its error text, RQ's
 * traceback), after its failure is stored; one that returns `false` ends the chain (as RQ's). A handler that throws is
 * logged, and the chain goes on.
 */
export type ExceptionHandler = (job: Job, excString: string) => unknown;

/** Options of `new Worker()`. */
export interface WorkerOptions {
  /** Redis URL, node-redis client, or nothing (`REDIS_URL`, else redis://127.0.0.1:6379). */
  connection?: ConnectionOption;
  /** Worker name. Default: a UUID4 hex, as RQ. */
  name?: string;
  /** Horses running at once (RQ needs one worker per job at a time). Default 1. */
  concurrency?: number;
  /** Jobs a horse runs before it is replaced; `1` = a fresh process per job (RQ's fork isolation). Default: no limit. */
  maxJobsPerHorse?: number;
  /** Where job modules are imported from; references may not leave it. Default: the working directory. */
  jobRoot?: string;
  /** Deno only: permission flags for horses. Default `["--allow-all"]`. */
  horsePermissions?: string[];
  /** Heap limit for each horse, MiB (Deno and Node). Default: the runtime's own. */
  horseMaxHeapMb?: number;
  /** `resultTtl` for jobs that set none, seconds. Default 500. */
  defaultResultTtl?: number;
  /** Worker key lifetime, seconds (`worker_ttl`). Default 420. */
  workerTtl?: number;
  /** Heartbeat interval while busy, seconds. Default 30. */
  jobMonitoringInterval?: number;
  /**
   * rqts only: seconds without a sign of life (refreshed every third of it) after which this worker counts as dead
   * and other rqts workers recover its jobs: taken-but-not-started ones are queued again, the running one fails as
   * abandoned. Default 30.
   */
  livenessTtl?: number;
  serializer?: Serializer;
  /** Default "info". */
  logLevel?: LogLevel;
  /** Python logging format of the console logger's lines (RQ's `--log-format`). Default `%(asctime)s %(message)s`. */
  logFormat?: string;
  /** strftime format of `%(asctime)s` (RQ's `--date-format`). Default `%H:%M:%S`. */
  dateFormat?: string;
  logger?: Logger;
  /** RQ's `max_jobs`: the worker stops (warm) once it has run this many jobs. Default: no limit. */
  maxJobs?: number;
  /** RQ's `max_idle_time`: the worker stops once it has had no job for this many seconds. Default: no limit. */
  maxIdleTime?: number;
  /** RQ 2.x's `dequeue_strategy`: `default` (the order given), `round_robin` or `random`. Default "default". */
  dequeueStrategy?: DequeueStrategy;
  /** RQ's `exception_handlers` (see {@link ExceptionHandler}). Default: none. */
  exceptionHandlers?: ExceptionHandler[];
  /**
   * RQ's `disable_default_exception_handler`: a failed job is marked `failed` (or `stopped`) and leaves the started
   * registry, but is not put in the failed registry and gets no failure result (nor exc_info), as RQ's worker does
   * with it set: the exception handlers own the failure. Default false.
   */
  disableDefaultExceptionHandler?: boolean;
  /**
   * rqts only: where a worker asked to stop while Redis is unreachable keeps the outcomes it could not store (after
   * waiting 10 s for Redis), as `<name>.outcomes.json`; a worker started with the same directory stores them. Default
   * `.rqts/outcomes` in the job root.
   */
  outcomesDir?: string;
  /** Seconds between registry maintenance runs (RQ's `maintenance_interval`). Default 600. */
  maintenanceInterval?: number;
  /** Install SIGINT/SIGTERM handlers during `work()` (warm, then cold shutdown). Default true. */
  handleSignals?: boolean;
  /**
   * Also run a scheduler (RQ's `--with-scheduler`): queue this worker's scheduled jobs (`enqueueAt`/`enqueueIn`,
   * retries with an interval) when they are due, sharing RQ's per-queue lock with other schedulers. Default false.
   */
  withScheduler?: boolean;
  /** rqts only: seconds the scheduler's lock on a queue lives unrenewed (renewed each second). Default 10. */
  schedulerLockTtl?: number;
}

/** The numeric options with their defaults filled in, once checked. */
export interface CheckedWorkerOptions {
  concurrency: number;
  maxJobsPerHorse: number;
  livenessTtl: number;
  workerTtl: number;
  jobMonitoringInterval: number;
  defaultResultTtl: number;
  /** 0: no limit. */
  maxJobs: number;
  /** Seconds; 0: no limit. */
  maxIdleTime: number;
  dequeueStrategy: DequeueStrategy;
  maintenanceInterval: number;
  schedulerLockTtl: number;
}

const LOG_LEVELS: readonly LogLevel[] = ["debug", "info", "warning", "error"];

/** A number option: `undefined` gives `fallback`; else it must pass `ok`, or a RangeError says what was expected. */
function numberOption(
  name: string,
  value: unknown,
  fallback: number,
  ok: (n: number) => boolean,
  expected: string,
): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isFinite(value) || !ok(value)) {
    throw new RangeError(`${name}: received ${String(value)}; expected ${expected}.`);
  }
  return value;
}

/**
 * Checks every option of `new Worker()` (before anything connects) and fills in RQ's defaults.
 * @throws {RangeError} for a number out of range, {TypeError} for an option of the wrong type; each names the
 *   option, what it received and what it takes.
 */
export function checkWorkerOptions(options: WorkerOptions): CheckedWorkerOptions {
  const int = Number.isInteger;
  const checked = {
    concurrency: numberOption("concurrency", options.concurrency, 1, (n) => int(n) && n >= 1, "an integer >= 1"),
    maxJobsPerHorse: numberOption(
      "maxJobsPerHorse",
      options.maxJobsPerHorse,
      0,
      (n) => int(n) && n >= 0,
      "an integer >= 1 (or 0 for no limit)",
    ),
    livenessTtl: numberOption(
      "livenessTtl",
      options.livenessTtl,
      DEFAULT_LIVENESS_TTL,
      (n) => n >= 1,
      `seconds >= 1 (default ${DEFAULT_LIVENESS_TTL})`,
    ),
    workerTtl: numberOption(
      "workerTtl",
      options.workerTtl,
      DEFAULT_WORKER_TTL,
      (n) => int(n) && n >= 1,
      `whole seconds >= 1 (default ${DEFAULT_WORKER_TTL})`,
    ),
    jobMonitoringInterval: numberOption(
      "jobMonitoringInterval",
      options.jobMonitoringInterval,
      DEFAULT_JOB_MONITORING_INTERVAL,
      (n) => n > 0,
      `seconds > 0 (default ${DEFAULT_JOB_MONITORING_INTERVAL})`,
    ),
    defaultResultTtl: numberOption(
      "defaultResultTtl",
      options.defaultResultTtl,
      DEFAULT_RESULT_TTL,
      (n) => int(n) && n >= -1,
      `whole seconds >= 0, or -1 to keep results forever (default ${DEFAULT_RESULT_TTL})`,
    ),
    maxJobs: numberOption("maxJobs", options.maxJobs, 0, (n) => int(n) && n >= 1, "an integer >= 1 (jobs)"),
    maxIdleTime: numberOption("maxIdleTime", options.maxIdleTime, 0, (n) => n > 0, "seconds > 0"),
    dequeueStrategy: options.dequeueStrategy ?? "default",
    maintenanceInterval: numberOption(
      "maintenanceInterval",
      options.maintenanceInterval,
      DEFAULT_MAINTENANCE_INTERVAL,
      (n) => n > 0,
      `seconds > 0 (default ${DEFAULT_MAINTENANCE_INTERVAL})`,
    ),
    schedulerLockTtl: numberOption(
      "schedulerLockTtl",
      options.schedulerLockTtl,
      SCHEDULER_LOCK_TTL,
      (n) => int(n) && n >= 2,
      `whole seconds >= 2 (default ${SCHEDULER_LOCK_TTL})`,
    ),
  };
  if (!DEQUEUE_STRATEGIES.includes(checked.dequeueStrategy)) {
    throw new TypeError(
      `dequeueStrategy: received ${String(checked.dequeueStrategy)}; expected ${DEQUEUE_STRATEGIES.join(", ")}.`,
    );
  }
  const handlers = options.exceptionHandlers;
  if (handlers !== undefined && (!Array.isArray(handlers) || handlers.some((h) => typeof h !== "function"))) {
    throw new TypeError(`exceptionHandlers: expected an array of functions (job, excString) => boolean | void.`);
  }
  for (const name of ["logFormat", "dateFormat"] as const) {
    const v = options[name];
    if (v !== undefined && (typeof v !== "string" || v === "")) {
      throw new TypeError(`${name}: received ${JSON.stringify(v)}; expected a non-empty format string.`);
    }
  }
  for (const name of ["withScheduler", "disableDefaultExceptionHandler"] as const) {
    if (options[name] !== undefined && typeof options[name] !== "boolean") {
      throw new TypeError(`${name}: received ${String(options[name])}; expected true or false.`);
    }
  }
  if (options.outcomesDir !== undefined && (typeof options.outcomesDir !== "string" || options.outcomesDir === "")) {
    throw new TypeError(`outcomesDir: received ${String(options.outcomesDir)}; expected a directory path.`);
  }
  numberOption("horseMaxHeapMb", options.horseMaxHeapMb, 0, (n) => int(n) && n >= 1, "an integer number of MiB >= 1");
  if (options.name !== undefined && (typeof options.name !== "string" || options.name === "")) {
    throw new TypeError(`name: received ${JSON.stringify(options.name)}; expected a non-empty string.`);
  }
  if (options.logLevel !== undefined && !LOG_LEVELS.includes(options.logLevel)) {
    throw new TypeError(`logLevel: received ${String(options.logLevel)}; expected ${LOG_LEVELS.join(", ")}.`);
  }
  if (options.jobRoot !== undefined && (typeof options.jobRoot !== "string" || options.jobRoot === "")) {
    throw new TypeError(`jobRoot: received ${String(options.jobRoot)}; expected a directory path.`);
  }
  const permissions = options.horsePermissions;
  if (permissions !== undefined && (!Array.isArray(permissions) || permissions.some((p) => typeof p !== "string"))) {
    throw new TypeError(`horsePermissions: expected an array of Deno permission flags, e.g. ["--allow-read=."].`);
  }
  return checked;
}
