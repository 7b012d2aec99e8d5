// RQ's rq/job.py callback fields: a job's success, failure and stopped callbacks as its hash stores them,
// `<kind>_callback_name` and (RQ 2.x) `<kind>_callback_timeout`. callback.ts parses the options they come from.

import type { ParsedCallback } from "./callback.ts";
import { type RawHash, text } from "./job_data.ts";

/** A job's callback fields, as Job has them: names, and timeouts in seconds (null: not in the hash). */
export interface JobCallbacks {
  successCallbackName: string | null;
  failureCallbackName: string | null;
  stoppedCallbackName: string | null;
  successCallbackTimeout: number | null;
  failureCallbackTimeout: number | null;
  stoppedCallbackTimeout: number | null;
}

/** The callbacks of a new job, as the Queue parsed them. */
export interface CallbackInit {
  successCallback?: ParsedCallback;
  failureCallback?: ParsedCallback;
  stoppedCallback?: ParsedCallback;
}

/** Sets a new job's callback fields. */
export function initCallbacks(job: JobCallbacks, init: CallbackInit): void {
  job.successCallbackName = init.successCallback?.name ?? null;
  job.failureCallbackName = init.failureCallback?.name ?? null;
  job.stoppedCallbackName = init.stoppedCallback?.name ?? null;
  job.successCallbackTimeout = init.successCallback?.timeout ?? null;
  job.failureCallbackTimeout = init.failureCallback?.timeout ?? null;
  job.stoppedCallbackTimeout = init.stoppedCallback?.timeout ?? null;
}

/** Appends the name fields to a job's hash fields, where RQ's `to_dict` has them (stopped only when set). */
export function pushCallbackNames(m: (string | Uint8Array)[], job: JobCallbacks): void {
  m.push(
    "success_callback_name",
    job.successCallbackName ?? "",
    "failure_callback_name",
    job.failureCallbackName ?? "",
  );
  if (job.stoppedCallbackName) m.push("stopped_callback_name", job.stoppedCallbackName);
}

/** Appends the timeout fields to a job's hash fields. */
export function pushCallbackTimeouts(m: (string | Uint8Array)[], job: JobCallbacks): void {
  // RQ 2.x writes each only when set (as its Callback always sets one, 60 by default); RQ 1.13 ignores them.
  if (job.successCallbackTimeout !== null) m.push("success_callback_timeout", String(job.successCallbackTimeout));
  if (job.failureCallbackTimeout !== null) m.push("failure_callback_timeout", String(job.failureCallbackTimeout));
  if (job.stoppedCallbackTimeout !== null) m.push("stopped_callback_timeout", String(job.stoppedCallbackTimeout));
}

/**
 * Reads the callback fields of a job hash (RQ's `Job.restore`); `int` reads an integer field.
 * @throws {DeserializationError} from `int`.
 */
export function restoreCallbacks(job: JobCallbacks, raw: RawHash, int: (field: string) => number | null): void {
  job.successCallbackName = text(raw.success_callback_name) || null;
  job.failureCallbackName = text(raw.failure_callback_name) || null;
  job.stoppedCallbackName = text(raw.stopped_callback_name) || null;
  job.successCallbackTimeout = int("success_callback_timeout");
  job.failureCallbackTimeout = int("failure_callback_timeout");
  job.stoppedCallbackTimeout = int("stopped_callback_timeout");
}
