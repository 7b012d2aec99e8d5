// RQ's Queue.dequeue_any + Worker.prepare_job_execution as one Lua script: takes up to n jobs off a worker's own list
// and its queues, and marks each started (started registry, hash, the worker's running set and hash) atomically.
//
// KEYS[1]    rq:worker:<name>          the worker's hash (current_job, state)
// KEYS[2]    rqts:running:<name>       the worker's running set
// KEYS[3]    rqts:dequeued:<name>      the worker's own list, read first
// KEYS[4]    rqts:held:<name>          the worker's held set (jobs taken ahead)
// KEYS[5]    rq:suspended              present while workers are suspended
// KEYS[6..]  rq:queue:<queue>          the queues, in priority order (none: the own list only)
// ARGV[1]    n                         most jobs to take
// ARGV[2]    worker_name
// ARGV[3]    now_seconds               '' = now by Redis' clock (with now_ts)
// ARGV[4]    now_ts                    RQ's timestamp of now
// ARGV[5]    ahead                     '1': the jobs are taken while another runs, recorded in the held set
// ARGV[6]    started                   a job taken ahead earlier that starts now (leaves the held set); '' = none
// Built in the script: rq:job:<id> (JOB_PREFIX) of each id popped, rq:wip:<origin> (the started registry's prefix) of
// its origin (or the queue it came from).
// Returns {{id, queue, hash}, ...}, or 'suspended', or false.

import { type RedisArg, Script } from "../connection.ts";
import { queueKey, SUSPENDED_KEY, type WorkerKeys } from "../keys.ts";
import { nowSeconds, utcNow } from "../utils.ts";
import type { ScriptArgs } from "./_args.ts";
import { compose } from "./_compose.ts";
import { dequeueKeys, dequeueMany } from "./_dequeue.ts";

export const DEQUEUE = new Script(compose("return dequeue_many(dequeue_keys(1), ARGV)", dequeueKeys, dequeueMany));

/** A worker's dequeue KEYS for a list of queues, built once: they do not change between calls. */
export interface DequeueTarget {
  readonly worker: WorkerKeys;
  readonly keys: readonly string[];
}

/** The dequeue target of `worker` taking from `queues` (names, in priority order; none: its own list only). */
export function dequeueTarget(worker: WorkerKeys, queues: readonly string[]): DequeueTarget {
  return {
    worker,
    keys: [worker.key, worker.running, worker.ownList, worker.held, SUSPENDED_KEY, ...queues.map(queueKey)],
  };
}

/** One dequeue's arguments. */
export interface Dequeue {
  /** Most jobs to take. */
  count: number;
  /** Whether the jobs are taken while another runs (recorded in the held set until they start). */
  ahead: boolean;
  /** A job taken ahead earlier that starts now ('' = none). */
  started: string;
  /** false: now by Redis' clock when the script runs (a dequeue sent ahead of the time it runs). */
  now: boolean;
}

/** Pushes a dequeue's ARGV (see the header). */
export function pushDequeueArgs(args: RedisArg[], t: DequeueTarget, d: Dequeue): void {
  args.push(
    String(d.count),
    t.worker.name,
    d.now ? String(nowSeconds()) : "",
    d.now ? utcNow() : "",
    d.ahead ? "1" : "",
    d.started,
  );
}

/** DEQUEUE's KEYS and ARGV (the KEYS are the target's own array, shared by every call: not to be changed). */
export function dequeueArgs(t: DequeueTarget, d: Dequeue): ScriptArgs {
  const args: RedisArg[] = [];
  pushDequeueArgs(args, t, d);
  return [t.keys as string[], args];
}
