// No RQ counterpart (rq-dashboard's POST routes): what the dashboard's buttons do, each through the same library
// call as the CLI (src/cli.ts): FailedJobRegistry.requeue, Job.delete/cancel, sendStopJobCommand, Queue.empty,
// suspend/resume.

import { sendStopJobCommand } from "../command.ts";
import type { Connection } from "../connection.ts";
import { InvalidJobOperationError, NoSuchJobError, RedisConnectionError } from "../errors.ts";
import { Job } from "../job.ts";
import { Queue } from "../queue.ts";
import { FailedJobRegistry } from "../registry.ts";
import { resume, suspend } from "../suspension.ts";

/** What an action did: a message for the page, and the HTTP status to answer with. */
export interface ActionOutcome {
  ok: boolean;
  status: 200 | 404 | 409;
  message: string;
}

const done = (message: string): ActionOutcome => ({ ok: true, status: 200, message });
const refused = (message: string): ActionOutcome => ({ ok: false, status: 409, message });

/** The actions on one job. */
export const JOB_ACTIONS = ["requeue", "delete", "cancel", "stop"] as const;
export type JobAction = typeof JOB_ACTIONS[number];

/** The actions on one queue. */
export const QUEUE_ACTIONS = ["requeue-failed", "empty"] as const;
export type QueueAction = typeof QUEUE_ACTIONS[number];

/** The actions on all workers. */
export const WORKER_ACTIONS = ["suspend", "resume"] as const;
export type WorkerAction = typeof WORKER_ACTIONS[number];

/** Runs a job action; a job that is gone, or in no state for it, is an outcome, not an error. */
export async function jobAction(c: Connection, action: JobAction, id: string): Promise<ActionOutcome> {
  let job: Job;
  try {
    job = await Job.fetch(id, { connection: c });
  } catch (error) {
    if (error instanceof NoSuchJobError) return { ok: false, status: 404, message: `No job ${id}.` };
    if (action !== "delete" || error instanceof RedisConnectionError) throw error;
    // A job whose hash does not parse can still be deleted: as RQ does, by its keys.
    job = new Job(id, c);
  }
  try {
    switch (action) {
      case "requeue":
        await new FailedJobRegistry(job.origin, { connection: c }).requeue(id);
        return done(`Requeued job ${id} on queue ${job.origin}.`);
      case "delete":
        await job.delete();
        return done(`Deleted job ${id}.`);
      case "cancel":
        await job.cancel();
        return done(`Canceled job ${id}.`);
      case "stop": {
        const received = await sendStopJobCommand(c, id);
        return received
          ? done(`Asked worker ${job.workerName} to stop job ${id}.`)
          : refused(`Sent stop-job for ${id}, but no worker listens for it (is its worker running?).`);
      }
    }
  } catch (error) {
    if (error instanceof InvalidJobOperationError || error instanceof NoSuchJobError) {
      return refused((error as Error).message);
    }
    throw error;
  }
}

/** Failed jobs requeued at once by "requeue all". */
const REQUEUE_BATCH = 100;

/** Runs a queue action: requeue every failed job of the queue (as `rqts requeue --all --queue Q`), or empty it. */
export async function queueAction(c: Connection, action: QueueAction, name: string): Promise<ActionOutcome> {
  if (action === "empty") {
    const removed = await new Queue(name, { connection: c }).empty();
    return done(`Removed ${removed} jobs from queue ${name}.`);
  }
  const registry = new FailedJobRegistry(name, { connection: c });
  let requeued = 0, failed = 0;
  const ids = await registry.getJobIds();
  // Each job is requeued as `rqts requeue` does it, REQUEUE_BATCH at a time: their round trips overlap, so 10^4
  // failed jobs take seconds rather than minutes.
  for (let i = 0; i < ids.length; i += REQUEUE_BATCH) {
    await Promise.all(
      ids.slice(i, i + REQUEUE_BATCH).map(async (id) => {
        try {
          await registry.requeue(id);
          requeued++;
        } catch (error) {
          if (error instanceof RedisConnectionError) throw error;
          failed++;
        }
      }),
    );
  }
  return done(`Requeued ${requeued} failed jobs on queue ${name}` + (failed ? `; ${failed} could not be.` : "."));
}

/** Suspends or resumes every worker (Python RQ's and rqts'), as `rqts suspend` / `rqts resume`. */
export async function workerAction(c: Connection, action: WorkerAction): Promise<ActionOutcome> {
  if (action === "suspend") {
    await suspend(c);
    return done("Workers suspended: they take no new jobs until resumed.");
  }
  await resume(c);
  return done("Workers resumed.");
}
