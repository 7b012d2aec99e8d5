// RQ's key templates (scattered over rq/*.py there): the only place rqts spells a Redis key name.

/** Set of all queue keys (`rq:queue:<name>`), as Python's `Queue.all()` reads it. */
export const QUEUES_KEY = "rq:queues";
/** Prefix of a queue's list key. */
export const QUEUE_PREFIX = "rq:queue:";
/** Prefix of a job hash key. */
export const JOB_PREFIX = "rq:job:";
/** Prefix of a job's results stream. */
export const RESULTS_PREFIX = "rq:results:";
/** Set of live worker keys. */
export const WORKERS_KEY = "rq:workers";
/** Prefix of a worker hash key. */
export const WORKER_PREFIX = "rq:worker:";
/** Present while all workers are suspended. */
export const SUSPENDED_KEY = "rq:suspended";

export const queueKey = (name: string): string => QUEUE_PREFIX + name;
export const jobKey = (id: string): string => JOB_PREFIX + id;
export const dependentsKey = (id: string): string => `${JOB_PREFIX}${id}:dependents`;
/** RQ 1.13 really writes a double colon here (`rq:job::<id>:dependencies`). */
export const dependenciesKey = (id: string): string => `${JOB_PREFIX}:${id}:dependencies`;
export const resultsKey = (id: string): string => RESULTS_PREFIX + id;

/** Registry kinds and their key prefixes (`StartedJobRegistry` is `rq:wip:`). */
export const REGISTRY_PREFIXES = {
  started: "rq:wip:",
  finished: "rq:finished:",
  failed: "rq:failed:",
  deferred: "rq:deferred:",
  scheduled: "rq:scheduled:",
  canceled: "rq:canceled:",
} as const;
export type RegistryKind = keyof typeof REGISTRY_PREFIXES;
export const registryKey = (kind: RegistryKind, queue: string): string => REGISTRY_PREFIXES[kind] + queue;

export const workerKey = (name: string): string => WORKER_PREFIX + name;
/** Prefix of the set of worker keys listening on one queue. */
export const WORKERS_BY_QUEUE_PREFIX = `${WORKERS_KEY}:`;
export const workersByQueueKey = (queue: string): string => WORKERS_BY_QUEUE_PREFIX + queue;
export const cleanRegistriesKey = (queue: string): string => `rq:clean_registries:${queue}`;
export const pubsubChannel = (worker: string): string => `rq:pubsub:${worker}`;
/** RQ's per-queue scheduler lock (`SET NX EX`; RQ 1.13 stores its pid, 2.x its scheduler's name, rqts its worker's). */
export const SCHEDULER_LOCK_PREFIX = "rq:scheduler-lock:";
export const schedulerLockKey = (queue: string): string => SCHEDULER_LOCK_PREFIX + queue;
/** rqts only: a one-entry list pushed when a job becomes a queue's earliest scheduled one; the scheduler BLPOPs it. */
export const SCHEDULER_WAKE_PREFIX = "rqts:scheduler-wake:";
export const schedulerWakeKey = (queue: string): string => SCHEDULER_WAKE_PREFIX + queue;

/** rqts only: ids a worker moved out of a queue with BLMOVE and has not started yet (recovered if it dies). */
export const OWN_LIST_PREFIX = "rqts:dequeued:";
export const ownListKey = (worker: string): string => OWN_LIST_PREFIX + worker;
/** rqts only: ids a worker took ahead (marked started) while its current job runs; given back if it dies first. */
export const HELD_PREFIX = "rqts:held:";
export const heldKey = (worker: string): string => HELD_PREFIX + worker;
/** rqts only: ids a worker marked started and has not finished (running or taken ahead); recovered if it dies. */
export const RUNNING_PREFIX = "rqts:running:";
export const runningKey = (worker: string): string => RUNNING_PREFIX + worker;
/** rqts only: present while a worker lives (short TTL, refreshed); a worker whose key lapsed is dead. */
export const aliveKey = (worker: string): string => "rqts:alive:" + worker;
/** rqts only: the names of rqts workers that have not ended cleanly, for the recovery of dead ones. */
export const RQTS_WORKERS_KEY = "rqts:workers";

/** A worker's own keys, built once per worker for the scripts that take them (see src/lua/). */
export interface WorkerKeys {
  readonly name: string;
  /** `rq:worker:<name>`, its hash. */
  readonly key: string;
  readonly running: string;
  readonly ownList: string;
  readonly held: string;
}
export const workerKeys = (name: string): WorkerKeys => ({
  name,
  key: workerKey(name),
  running: runningKey(name),
  ownList: ownListKey(name),
  held: heldKey(name),
});

/** RQ 2.x's registry of cron schedulers (rq/cron_scheduler_registry.py): names scored by their last heartbeat. */
export const CRON_SCHEDULERS_KEY = "rq:cron_schedulers";
/** Prefix of a cron scheduler's hash (RQ 2.x's `CronScheduler.key`). */
export const CRON_SCHEDULER_PREFIX = "rq:cron_scheduler:";
export const cronSchedulerKey = (name: string): string => CRON_SCHEDULER_PREFIX + name;
/** rqts only: the latest tick of a cron entry that was enqueued (epoch ms), set with the enqueue in one script. */
export const CRON_TICK_PREFIX = "rqts:cron:tick:";
export const cronTickKey = (entryId: string): string => CRON_TICK_PREFIX + entryId;

/**
 * rqts only: a queue's throughput counters (src/stats.ts), a hash the finish scripts keep: `f:<minute>` and
 * `x:<minute>` count the runs that finished and failed in an epoch minute, `f`, `x` the runs of minutes since folded
 * away, `t` the seconds all runs took.
 */
export const STATS_PREFIX = "rqts:stats:";
export const statsKey = (queue: string): string => STATS_PREFIX + queue;
