// RQ 2.x's job.Callback: a job callback (success, failure, stopped) as a function reference with its own time limit,
// stored as `<kind>_callback_name` and `<kind>_callback_timeout` in the job hash.

import { CALLBACK_TIMEOUT } from "./defaults.ts";
import { funcNameOf, type FunctionReference, type ReferenceContext } from "./func_ref.ts";
import { parseDurationOption } from "./options.ts";

/**
 * RQ's `Callback(func, timeout)`: a callback with its own time limit, in seconds (default 60, RQ's
 * `CALLBACK_TIMEOUT`; `-1`: none). A bare function reference is a callback with the default limit.
 * @example
 * ```ts
 * await queue.enqueue(report, [], { onSuccess: { func: notify, timeout: 10 }, onStopped: "./jobs.ts#cleanUp" });
 * ```
 */
export interface Callback {
  /** The callback: a job() function, `"module#export"`, or a Python dotted name for a Python worker. */
  readonly func: FunctionReference;
  /** Its time limit: seconds, or `"1m"` form. Default 60; `-1`: no limit. */
  readonly timeout?: number | string;
}

/** A callback option as given: a function reference, or a {@link Callback}. */
export type CallbackOption = FunctionReference | Callback;

/** A callback as stored: its `*_callback_name`, and its `*_callback_timeout` (undefined: not written). */
export interface ParsedCallback {
  name: string;
  timeout: number | undefined;
}

/**
 * Turns a callback option into its stored form. As RQ's `Callback`, `{ func }` stores the default timeout (60);
 * a bare reference stores none (RQ 1.13's form, which RQ 2.x reads as 60).
 * @throws {TypeError} for a value that is neither; {RangeError} for a timeout of 0 or below -1.
 */
export function parseCallback(option: string, value: unknown, references: ReferenceContext): ParsedCallback {
  if (value !== null && typeof value === "object") {
    const { func, timeout, ...rest } = value as Record<string, unknown>;
    const extra = Object.keys(rest);
    if (func === undefined || extra.length) {
      throw new TypeError(
        `${option}: received an object with ${extra.length ? `unknown key(s) ${extra.join(", ")}` : "no func"}; ` +
          `expected a function reference or { func, timeout } (RQ's Callback).`,
      );
    }
    return {
      name: funcNameOf(func, `${option}.func`, references),
      timeout: timeout === undefined || timeout === null ? CALLBACK_TIMEOUT : parseDurationOption(
        `${option}.timeout`,
        timeout,
        { min: -1, zero: false, zeroHint: "0 is not a time limit, use -1 for none" },
      ),
    };
  }
  return { name: funcNameOf(value, option, references), timeout: undefined };
}
