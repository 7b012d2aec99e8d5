// RQ's Worker.handle_job_success / handle_job_failure: a job's outcome as the worker stores it, with the log lines RQ
// writes for it. The storing itself is one script (src/lua/finish_success.ts, finish_failure.ts), run by the dequeuer,
// often in the same round trip as the next dequeue.

import type { HorseOutcome } from "./horse.ts";
import type { Job } from "./job.ts";
import type { WorkerKeys } from "./keys.ts";
import { type Finish, resultTtl } from "./lua/_args.ts";
import { failureFields, RESULT_TYPES } from "./results.ts";
import { formatMicros, nowMicros, nowSeconds } from "./utils.ts";
import type { LogLevel } from "./worker_options.ts";

export type { Finish };

/** What an outcome needs of its worker. */
export interface FinishContext {
  /** The worker's keys (its name among them). */
  worker: WorkerKeys;
  /** Seconds a result is kept when the job does not say (the worker's `defaultResultTtl`). */
  defaultResultTtl: number;
  /** Whether the worker is shutting down cold (a horse killed for it says so). */
  cold: boolean;
  /**
   * RQ's `disable_default_exception_handler`: a failure is stored without its result entry, failed registry and expiry
   * (the finish script gets no result fields).
   */
  disableDefaultExceptionHandler?: boolean;
  /** Whether a stop-job command killed `jobId`'s horse (asked once per job outcome; see command.ts). */
  stopped?(jobId: string): boolean;
  log(level: LogLevel, message: string): void;
}

/** The outcome of `job`, taken from `queue` and run from `startedMicros` (ended now), for its finish script. */
export function finishOf(
  job: Job,
  queue: string,
  startedMicros: number,
  outcome: HorseOutcome,
  ctx: FinishContext,
): Finish {
  const stopped = ctx.stopped?.(job.id) ?? false;
  if (!outcome.ok && outcome.horseDied && stopped) return stoppedOf(job, queue, startedMicros, ctx);
  if (!outcome.ok && outcome.horseDied && ctx.cold) {
    outcome.excString =
      `Worker was shut down (cold) while the job ran: its work-horse was killed.\n${outcome.excString}`;
  }
  const run = runOf(job, startedMicros, ctx);
  if (outcome.ok) {
    const ttl = resultTtl(job.resultTtl, ctx.defaultResultTtl);
    ctx.log("info", `${queue}: Job OK (${job.id})`);
    if (ttl > 0) ctx.log("info", `Result is kept for ${ttl} seconds`);
    else if (ttl === 0) ctx.log("info", "Result discarded immediately");
    else ctx.log("info", "Result will never expire, clean up result key manually");
    const fields = ["type", RESULT_TYPES.successful];
    if (outcome.returnValue !== null) fields.push("return_value", outcome.returnValue);
    return { kind: "success", ...run, resultTtl: ttl, fields };
  }
  ctx.log("error", `${queue}: ${job.id}: ${outcome.excString.trimEnd().split("\n")[0]}`);
  ctx.log("debug", outcome.excString);
  // The finish script runs it again (RQ's Job.retry), unless it was canceled or stopped meanwhile.
  if (job.retriesLeft && job.retriesLeft > 0) {
    ctx.log("info", `Job ${job.id}: retrying, ${job.retriesLeft - 1} retries left`);
  }
  return {
    kind: "failure",
    ...run,
    failureTtl: job.failureTtl,
    status: "failed",
    fields: ctx.disableDefaultExceptionHandler ? [] : failureFields(outcome.excString),
  };
}

/** The fields every outcome of `job` stores. */
function runOf(job: Job, startedMicros: number, ctx: FinishContext) {
  return {
    id: job.id,
    origin: job.origin,
    startedMicros,
    endedMicros: nowMicros(),
    endedSeconds: nowSeconds(),
    worker: ctx.worker,
    lastHeartbeat: formatMicros(startedMicros),
  };
}

/** RQ's outcome of a job whose horse a stop-job command killed: status `stopped`, in the failed registry. */
function stoppedOf(job: Job, queue: string, startedMicros: number, ctx: FinishContext): Finish {
  ctx.log("warning", `${queue}: job ${job.id} stopped by user, moving job to FailedJobRegistry`);
  return {
    kind: "failure",
    ...runOf(job, startedMicros, ctx),
    failureTtl: job.failureTtl,
    status: "stopped",
    fields: ctx.disableDefaultExceptionHandler ? [] : failureFields(STOPPED_EXC_STRING),
  };
}

/** RQ's exc_string for a stopped job (worker.py's monitor_work_horse, 1.13 and 2.x). */
export const STOPPED_EXC_STRING = "Job stopped by user, work-horse terminated.";
