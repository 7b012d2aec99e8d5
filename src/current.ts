// RQ's get_current_job(): the job running in this process, for progress in `meta`.
import { AsyncLocalStorage } from "node:async_hooks";
import type { Job } from "./job.ts";

const storage = new AsyncLocalStorage<Job>();

/**
 * The job whose function is running (in a horse, or in-process on an `isAsync: false` queue), or `null`.
 * @example Report progress
 * ```ts
 * export async function crunch(items: string[]) {
 *   const job = getCurrentJob();
 *   for (const [i, item] of items.entries()) {
 *     await work(item);
 *     if (job) { job.meta.progress = (i + 1) / items.length; await job.saveMeta(); }
 *   }
 * }
 * ```
 */
export function getCurrentJob<R = unknown>(): Job<R> | null {
  return (storage.getStore() as Job<R> | undefined) ?? null;
}

/** @internal Runs `fn` with `job` as the current job. */
export function withCurrentJob<T>(job: Job, fn: () => T): T {
  return storage.run(job, fn);
}
