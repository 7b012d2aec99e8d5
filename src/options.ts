// RQ's Queue.parse_args / create_job checks: validating job options before anything is written.

import { type CallbackOption, parseCallback, type ParsedCallback } from "./callback.ts";
import type { ReferenceContext } from "./func_ref.ts";
import { type ParsedRepetition, parseRepeat, parseRetry, type RepeatSpec, type RetrySpec } from "./retry.ts";
import { isEmpty, parseDuration } from "./utils.ts";

/** A duration in seconds: a number, a numeric string, or digits plus `d`/`h`/`m`/`s` (`"1h"`, `"3m"`). */
export type Duration = number | string;

/** Something a job can depend on: a job (anything with an `id`) or a job id. */
export type Dependency = { readonly id: string } | string;

/**
 * RQ's `Dependency(jobs, allow_failure, enqueue_at_front)`: the jobs to wait for, and how.
 * @example
 * ```ts
 * await queue.enqueue(report, [], { dependsOn: { jobs: [a, b], allowFailure: true } });
 * ```
 */
export interface DependencySpec {
  /** The jobs (or ids) to wait for. */
  readonly jobs: Dependency | readonly Dependency[];
  /** Run once the dependencies have ended, finished or failed. Default false (only after they all finished). */
  readonly allowFailure?: boolean;
  /** Put the job at the front of its queue when it is released. Default false. */
  readonly enqueueAtFront?: boolean;
}

/** The job options of RQ's `enqueue`, camelCased, with RQ's defaults and units (seconds). */
export interface JobOptions {
  /** Maximum runtime before the job is interrupted and marked failed. Default 180; `-1` = no limit. */
  jobTimeout?: Duration;
  /** How long a successful job and its result are kept. Default 500; `0` = not kept; `-1` = forever. */
  resultTtl?: Duration;
  /** Maximum time the job may wait in the queue before it is discarded. Default: none (forever). */
  ttl?: Duration | null;
  /** How long a failed job is kept. Default 31536000 (one year); `-1` = forever. */
  failureTtl?: Duration;
  /** Jobs (or ids) that must finish successfully before this one is queued. */
  dependsOn?: Dependency | readonly Dependency[] | DependencySpec;
  /** The job's id. Default: a random UUID. */
  jobId?: string;
  /** Put the job at the front of the queue instead of the back. Default false. */
  atFront?: boolean;
  /**
   * RQ 2.x's `unique=True`: refuse the job, atomically and with a {@link DuplicateJobError}, when a job with its
   * `jobId` exists already (in any state, until its hash is deleted or expires). Needs `jobId`; not with
   * `dependsOn` (as RQ). Default false.
   */
  unique?: boolean;
  /** Shown by `rq info` and logs. Default: the call, e.g. `./jobs.ts#add(3, 4)`. */
  description?: string;
  /**
   * Run after the job succeeds: `(job, connection, result)`. A job() function or `"module#export"`, or RQ's
   * `Callback` with its own time limit, `{ func, timeout }` (default 60 s). One that throws or runs over its limit
   * fails the job (as RQ).
   */
  onSuccess?: CallbackOption;
  /** Run after the job fails: `(job, connection, error)`. As {@link onSuccess}. */
  onFailure?: CallbackOption;
  /**
   * RQ 2.x's `on_stopped`: run by the worker after a stop-job command ended the job, `(job, connection)`. As
   * {@link onSuccess}.
   */
  onStopped?: CallbackOption;
  /** Your own data stored with the job (`job.meta`), a JSON object. */
  meta?: Record<string, unknown>;
  /** Run at this time, not now (RQ's `enqueue_at`): the job waits, `scheduled`, for a scheduler. Default: now. */
  enqueueAt?: Date;
  /** Run after this long (RQ's `enqueue_in`): seconds (fractions allowed) or `"5m"` form. Default: now. */
  enqueueIn?: Duration;
  /** Run a failed job again (RQ's `Retry`): `{ max, interval }`. Default: no retries. */
  retry?: RetrySpec;
  /** Run a successful job again (RQ 2.x's `Repeat`): `{ times, interval }`. Default: no repeats. */
  repeat?: RepeatSpec;
}

/** Options validated and in RQ's stored form. */
export interface ParsedJobOptions {
  timeout: number | undefined;
  resultTtl: number | undefined;
  ttl: number | undefined;
  failureTtl: number | undefined;
  dependencyIds: string[];
  /** Set by a {@link DependencySpec}; undefined otherwise (the hash then carries no such field, as RQ). */
  allowDependencyFailures: boolean | undefined;
  enqueueAtFront: boolean | undefined;
  jobId: string | undefined;
  atFront: boolean;
  unique: boolean;
  description: string | undefined;
  successCallback: ParsedCallback | undefined;
  failureCallback: ParsedCallback | undefined;
  stoppedCallback: ParsedCallback | undefined;
  meta: Record<string, unknown>;
  /** When the job is due, epoch milliseconds; undefined = now. */
  dueAt: number | undefined;
  retry: ParsedRepetition | undefined;
  repeat: ParsedRepetition | undefined;
}

export const JOB_OPTION_NAMES = [
  "jobTimeout",
  "resultTtl",
  "ttl",
  "failureTtl",
  "dependsOn",
  "jobId",
  "atFront",
  "unique",
  "description",
  "onSuccess",
  "onFailure",
  "onStopped",
  "meta",
  "enqueueAt",
  "enqueueIn",
  "retry",
  "repeat",
] as const;

const show = (value: unknown) => {
  try {
    return typeof value === "string" ? JSON.stringify(value) : String(value);
  } catch {
    return typeof value;
  }
};

const DURATION_FORMS = `an integer number of seconds, a numeric string ("90"), or digits plus one unit ` +
  `d/h/m/s ("2d", "1h", "3m", "5s")`;

/**
 * Parses a duration option.
 * @throws {TypeError} when the value has no duration form; {RangeError} when it is out of the allowed range.
 */
export function parseDurationOption(
  name: string,
  value: unknown,
  rule: { min: number; zero: boolean; zeroHint?: string },
): number {
  if (typeof value !== "number" && typeof value !== "string") {
    throw new TypeError(`${name}: received ${show(value)} (${typeof value}); expected ${DURATION_FORMS}.`);
  }
  const seconds = parseDuration(value);
  if (seconds === undefined) {
    throw new TypeError(`${name}: received ${show(value)}, which is not ${DURATION_FORMS}.`);
  }
  if (seconds === 0 && !rule.zero) {
    throw new RangeError(`${name}: received ${show(value)}; ${rule.zeroHint ?? "0 is not allowed"}.`);
  }
  if (seconds < rule.min) {
    const allowed = rule.min === -1 ? `a positive number of seconds, or -1 for none` : `at least ${rule.min}`;
    throw new RangeError(`${name}: received ${show(value)}; allowed is ${allowed}.`);
  }
  if (!Number.isSafeInteger(seconds)) {
    throw new RangeError(`${name}: received ${show(value)}, which is too large.`);
  }
  return seconds;
}

/** `enqueueAt`/`enqueueIn` as epoch milliseconds (undefined: neither given). */
function parseDue(at: unknown, within: unknown): number | undefined {
  if (at !== undefined && within !== undefined) {
    throw new TypeError(`enqueueAt and enqueueIn: give one of them, not both.`);
  }
  if (at !== undefined) {
    if (!(at instanceof Date) || Number.isNaN(at.getTime())) {
      throw new TypeError(
        `enqueueAt: received ${show(at)}; expected a valid Date, e.g. new Date("2030-01-01T09:00Z").`,
      );
    }
    return at.getTime();
  }
  if (within === undefined) return undefined;
  const seconds = typeof within === "number" && Number.isFinite(within)
    ? within
    : typeof within === "string" || typeof within === "number"
    ? parseDuration(within)
    : undefined;
  if (seconds === undefined) {
    throw new TypeError(
      `enqueueIn: received ${show(within)}; expected seconds (a number, fractions allowed) or ${DURATION_FORMS}.`,
    );
  }
  if (seconds < 0) throw new RangeError(`enqueueIn: received ${show(within)}; expected a delay >= 0.`);
  return Date.now() + seconds * 1000;
}

type ParsedDependencies = { ids: string[]; allowFailure?: boolean; enqueueAtFront?: boolean };

function parseDependencySpec(value: unknown): ParsedDependencies {
  if (value !== null && typeof value === "object" && !Array.isArray(value) && "jobs" in value) {
    const spec = value as { jobs: unknown; allowFailure?: unknown; enqueueAtFront?: unknown };
    for (const flag of ["allowFailure", "enqueueAtFront"] as const) {
      if (spec[flag] !== undefined && typeof spec[flag] !== "boolean") {
        throw new TypeError(`dependsOn.${flag}: received ${show(spec[flag])}; expected true or false.`);
      }
    }
    const ids = parseDependencies(spec.jobs);
    if (!ids.length) throw new TypeError(`dependsOn.jobs: give at least one job or job id.`);
    return {
      ids,
      allowFailure: (spec.allowFailure as boolean | undefined) ?? false,
      enqueueAtFront: (spec.enqueueAtFront as boolean | undefined) ?? false,
    };
  }
  return { ids: parseDependencies(value) };
}

function parseDependencies(value: unknown): string[] {
  if (value === undefined || value === null) return [];
  const list = Array.isArray(value) ? value : [value];
  return list.map((dep, i) => {
    const where = Array.isArray(value) ? `dependsOn[${i}]` : "dependsOn";
    const id = typeof dep === "string" ? dep : (dep as { id?: unknown } | null)?.id;
    if (typeof id !== "string" || id === "") {
      throw new TypeError(`${where}: received ${show(dep)}; expected a Job or a non-empty job id string.`);
    }
    return id;
  });
}

/** What {@link parseJobOptions} makes of `{}` (a test holds the two equal). */
function noOptions(): ParsedJobOptions {
  return {
    dueAt: undefined,
    retry: undefined,
    repeat: undefined,
    timeout: undefined,
    resultTtl: undefined,
    ttl: undefined,
    failureTtl: undefined,
    dependencyIds: [],
    allowDependencyFailures: undefined,
    enqueueAtFront: undefined,
    jobId: undefined,
    atFront: false,
    unique: false,
    description: undefined,
    successCallback: undefined,
    failureCallback: undefined,
    stoppedCallback: undefined,
    meta: {},
  };
}

/**
 * Validates job options before anything is written.
 * @throws {TypeError} for unknown option names and wrongly typed values; {RangeError} for values out of range.
 */
export function parseJobOptions(
  options: Record<string, unknown>,
  extraAllowed: readonly string[] = [],
  references: ReferenceContext = {},
): ParsedJobOptions {
  if (isEmpty(options)) return noOptions(); // most jobs of a batch: nothing to check
  for (const key of Object.keys(options)) {
    if (!(JOB_OPTION_NAMES as readonly string[]).includes(key) && !extraAllowed.includes(key)) {
      throw new TypeError(
        `Unknown job option '${key}' (value ${show(options[key])}). Allowed: ${
          [...JOB_OPTION_NAMES, ...extraAllowed].join(", ")
        }. To pass '${key}' to the job function itself, put it in 'kwargs' (or 'args') of enqueueCall().`,
      );
    }
  }
  const o = options as JobOptions;
  const opt = <T>(v: T | undefined | null) => v === undefined || v === null ? undefined : v;

  const timeout = opt(o.jobTimeout) === undefined ? undefined : parseDurationOption("jobTimeout", o.jobTimeout, {
    min: -1,
    zero: false,
    zeroHint: "0 timeout is not allowed, use -1 for no timeout",
  });
  const resultTtl = opt(o.resultTtl) === undefined
    ? undefined
    : parseDurationOption("resultTtl", o.resultTtl, { min: -1, zero: true });
  const failureTtl = opt(o.failureTtl) === undefined
    ? undefined
    : parseDurationOption("failureTtl", o.failureTtl, { min: -1, zero: true });
  const ttl = opt(o.ttl) === undefined ? undefined : parseDurationOption("ttl", o.ttl, {
    min: 1,
    zero: false,
    zeroHint: "the job ttl must be greater than 0 (leave it unset for no limit)",
  });
  if (o.ttl !== undefined && o.ttl !== null && ttl! < 1) {
    throw new RangeError(`ttl: received ${show(o.ttl)}; the job ttl must be greater than 0.`);
  }

  if (o.jobId !== undefined && (typeof o.jobId !== "string" || o.jobId === "")) {
    throw new TypeError(
      `jobId: received ${show(o.jobId)}; expected a non-empty string (or leave it unset for a UUID).`,
    );
  }
  if (o.atFront !== undefined && typeof o.atFront !== "boolean") {
    throw new TypeError(`atFront: received ${show(o.atFront)}; expected true or false.`);
  }
  if (o.description !== undefined && typeof o.description !== "string") {
    throw new TypeError(`description: received ${show(o.description)}; expected a string.`);
  }
  if (
    o.meta !== undefined &&
    (o.meta === null || typeof o.meta !== "object" || Array.isArray(o.meta))
  ) {
    throw new TypeError(`meta: received ${show(o.meta)}; expected a plain object such as { owner: "me" }.`);
  }
  const deps = parseDependencySpec(o.dependsOn);
  if (o.unique !== undefined && typeof o.unique !== "boolean") {
    throw new TypeError(`unique: received ${show(o.unique)}; expected true or false.`);
  }
  if (o.unique && o.jobId === undefined) {
    throw new TypeError(
      "unique: true needs a jobId (the id that must not exist yet), e.g. { jobId: 'report-42', unique: true }.",
    );
  }
  if (o.unique && deps.ids.length) {
    throw new TypeError(
      "unique: true is not supported with dependsOn (as in RQ); enqueue the job without one of them.",
    );
  }
  return {
    dueAt: parseDue(o.enqueueAt, o.enqueueIn),
    retry: parseRetry(o.retry),
    repeat: parseRepeat(o.repeat),
    timeout,
    resultTtl,
    ttl,
    failureTtl,
    dependencyIds: deps.ids,
    allowDependencyFailures: deps.allowFailure,
    enqueueAtFront: deps.enqueueAtFront,
    jobId: o.jobId,
    atFront: o.atFront ?? false,
    unique: o.unique ?? false,
    description: o.description,
    successCallback: o.onSuccess === undefined ? undefined : parseCallback("onSuccess", o.onSuccess, references),
    failureCallback: o.onFailure === undefined ? undefined : parseCallback("onFailure", o.onFailure, references),
    stoppedCallback: o.onStopped === undefined ? undefined : parseCallback("onStopped", o.onStopped, references),
    meta: o.meta ?? {},
  };
}
