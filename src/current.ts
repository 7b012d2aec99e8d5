// RQ's get_current_job(): the job running in this process, for progress in `meta`.
import type { AsyncLocalStorage } from "node:async_hooks";
import { createRequire } from "node:module";
import type { Job } from "./job.ts";

// In a horse jobs run one at a time, so the current job is a plain variable there (a fresh horse then never loads
// node:async_hooks: ~3 ms of its start-up on Bun). Elsewhere (isAsync: false queues, possibly concurrent) it is
// an AsyncLocalStorage, created on first use.
let storage: AsyncLocalStorage<Job> | undefined;
let serial = false;
let serialJob: Job | undefined;

/** @internal Called by the horse: jobs in this process run one at a time. */
export function runJobsSerially(): void {
  serial = true;
}

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
  return ((serial ? serialJob : storage?.getStore()) as Job<R> | undefined) ?? null;
}

/** @internal Runs `fn` with `job` as the current job. */
export function withCurrentJob<T>(job: Job, fn: () => Promise<T>): Promise<T> {
  if (serial) {
    const outer = serialJob;
    serialJob = job;
    return fn().finally(() => (serialJob = outer));
  }
  if (!storage) {
    // In two steps: tsc 7 drops the parentheses of `new (require(...) as T).AsyncLocalStorage()` when it emits JS.
    const hooks = createRequire(import.meta.url)("node:async_hooks") as typeof import("node:async_hooks");
    storage = new hooks.AsyncLocalStorage<Job>();
  }
  return storage.run(job, fn);
}
