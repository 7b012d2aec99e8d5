// RQ's Worker.__init__ arguments and its logging setup: the options of `new Worker()`, checked in one place before a
// worker touches Redis, and the console logger that writes RQ's log format.

import type { ConnectionOption } from "./connection.ts";
import {
  DEFAULT_JOB_MONITORING_INTERVAL,
  DEFAULT_LIVENESS_TTL,
  DEFAULT_RESULT_TTL,
  DEFAULT_WORKER_TTL,
  SCHEDULER_LOCK_TTL,
} from "./defaults.ts";
import type { Serializer } from "./serializer.ts";

/** Log levels, as RQ's `--logging_level`. */
export type LogLevel = "debug" | "info" | "warning" | "error";
const LEVELS: Record<LogLevel, number> = { debug: 10, info: 20, warning: 30, error: 40 };

/** Where a worker's log lines go. */
export interface Logger {
  log(level: LogLevel, message: string): void;
}

/** RQ's log format: `HH:MM:SS message`, warnings and errors on stderr. */
export function consoleLogger(level: LogLevel = "info"): Logger {
  const min = LEVELS[level];
  return {
    log(l, message) {
      if (LEVELS[l] < min) return;
      const line = `${new Date().toTimeString().slice(0, 8)} ${message}`;
      if (LEVELS[l] >= LEVELS.warning) console.error(line);
      else console.log(line);
    },
  };
}

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
  logger?: Logger;
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
    schedulerLockTtl: numberOption(
      "schedulerLockTtl",
      options.schedulerLockTtl,
      SCHEDULER_LOCK_TTL,
      (n) => int(n) && n >= 2,
      `whole seconds >= 2 (default ${SCHEDULER_LOCK_TTL})`,
    ),
  };
  if (options.withScheduler !== undefined && typeof options.withScheduler !== "boolean") {
    throw new TypeError(`withScheduler: received ${String(options.withScheduler)}; expected true or false.`);
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
