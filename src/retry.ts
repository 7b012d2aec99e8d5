// RQ's `Retry` (rq/job.py) and `Repeat` (RQ 2.x's rq/repeat.py): how often a job runs again after it fails or
// succeeds, and after how long; stored in the job hash as RQ stores them (`retries_left` and `retry_intervals`,
// `repeats_left` and `repeat_intervals`, the intervals as a JSON list of seconds).

/**
 * RQ's `Retry(max, interval)`: run a failed job again, up to `max` more times.
 * @example
 * ```ts
 * await queue.enqueueCall(fetchPage, { args: [url], retry: { max: 3, interval: [10, 30, 60] } });
 * ```
 */
export interface RetrySpec {
  /** How many times a failed job runs again (at least 1). */
  readonly max: number;
  /**
   * Seconds before each retry: one number for all, or a list (the n-th retry waits the n-th entry, as RQ picks
   * them). `0` puts the job straight back on its queue; more schedules it. Default 0.
   */
  readonly interval?: number | readonly number[];
}

/**
 * RQ 2.x's `Repeat(times, interval)`: after the job succeeds, run it again, `times` more times.
 * @example
 * ```ts
 * await queue.enqueueCall(report, { repeat: { times: 3, interval: 60 } });
 * ```
 */
export interface RepeatSpec {
  /** How many more times the job runs after its first success (at least 1). */
  readonly times: number;
  /** Seconds before each repeat: one number, or a list (RQ 2.x's order, see docs/guide.md). Default 0. */
  readonly interval?: number | readonly number[];
}

/** A {@link RetrySpec} or {@link RepeatSpec} checked, its intervals as the list stored. */
export interface ParsedRepetition {
  count: number;
  intervals: number[];
}

const show = (v: unknown) => {
  try {
    return typeof v === "string" ? JSON.stringify(v) : Array.isArray(v) ? JSON.stringify(v) : String(v);
  } catch {
    return typeof v;
  }
};

function parseIntervals(name: string, value: unknown): number[] {
  if (value === undefined) return [0];
  const list = typeof value === "number" ? [value] : value;
  if (!Array.isArray(list) || !list.length) {
    throw new TypeError(
      `${name}: received ${show(value)}; expected seconds (a number >= 0) or a non-empty list of them.`,
    );
  }
  for (const s of list) {
    if (typeof s !== "number" || !Number.isFinite(s) || s < 0) {
      throw new RangeError(`${name}: received ${show(value)}; every interval must be a number of seconds >= 0.`);
    }
  }
  return [...list];
}

function parseRepetition(name: string, countName: string, value: unknown): ParsedRepetition | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "object" || Array.isArray(value)) {
    throw new TypeError(
      `${name}: received ${show(value)}; expected { ${countName}, interval }, e.g. { ${countName}: 3 }.`,
    );
  }
  const v = value as Record<string, unknown>;
  for (const k of Object.keys(v)) {
    if (k !== countName && k !== "interval") {
      throw new TypeError(`${name}: unknown field '${k}'. Allowed: ${countName}, interval.`);
    }
  }
  const count = v[countName];
  if (typeof count !== "number" || !Number.isSafeInteger(count) || count < 1) {
    throw new RangeError(`${name}.${countName}: received ${show(count)}; expected an integer >= 1.`);
  }
  return { count, intervals: parseIntervals(`${name}.interval`, v.interval) };
}

/**
 * Checks a `retry` option.
 * @throws {TypeError|RangeError} naming the bad field.
 */
export function parseRetry(value: unknown): ParsedRepetition | undefined {
  return parseRepetition("retry", "max", value);
}

/**
 * Checks a `repeat` option.
 * @throws {TypeError|RangeError} naming the bad field.
 */
export function parseRepeat(value: unknown): ParsedRepetition | undefined {
  return parseRepetition("repeat", "times", value);
}

/** Options of {@link exponentialBackoff}. */
export interface BackoffOptions {
  /** Seconds before the first retry (before jitter). Default 1. */
  base?: number;
  /** Each retry waits this many times longer than the one before. Default 2. */
  factor?: number;
  /** Most seconds any retry waits. Default 3600. */
  cap?: number;
  /** Randomize each wait within its upper half ("equal jitter"), so failed jobs do not retry in lockstep. Default true. */
  jitter?: boolean;
}

/**
 * A {@link RetrySpec} of `max` retries with exponentially growing waits (`base * factor^n`, at most `cap`), jittered.
 * The waits are drawn once, here, and stored as RQ's `retry_intervals` list of whole seconds, so Python RQ
 * workers retry such a job exactly as rqts workers do.
 * @throws {RangeError} for a `max` below 1 or a negative or non-finite option.
 * @example
 * ```ts
 * await queue.enqueueCall(callApi, { retry: exponentialBackoff(5, { base: 2 }) }); // e.g. [2, 3, 7, 13, 25]
 * ```
 */
export function exponentialBackoff(max: number, options: BackoffOptions = {}): RetrySpec {
  if (!Number.isSafeInteger(max) || max < 1) {
    throw new RangeError(`exponentialBackoff: max received ${show(max)}; expected an integer >= 1.`);
  }
  const { base = 1, factor = 2, cap = 3600, jitter = true } = options;
  for (const [name, v] of [["base", base], ["factor", factor], ["cap", cap]] as const) {
    if (typeof v !== "number" || !Number.isFinite(v) || v < 0) {
      throw new RangeError(`exponentialBackoff: ${name} received ${show(v)}; expected a number >= 0.`);
    }
  }
  const interval: number[] = [];
  for (let n = 0; n < max; n++) {
    const wait = Math.min(cap, base * factor ** n);
    const drawn = jitter ? wait / 2 + Math.random() * wait / 2 : wait;
    interval.push(Math.max(wait >= 1 ? 1 : 0, Math.round(drawn)));
  }
  return { max, interval };
}
