// RQ's rq/defaults.py: every default rqts shares with Python RQ 1.13, once, with its unit.

/** Redis URL used when neither a connection nor `REDIS_URL` is given. */
export const DEFAULT_REDIS_URL = "redis://127.0.0.1:6379";

/** Queue name used by `new Queue()` with no name. */
export const DEFAULT_QUEUE_NAME = "default";

/** Maximum runtime of a job, in seconds (`Queue.DEFAULT_TIMEOUT`). `-1` means no limit. */
export const DEFAULT_JOB_TIMEOUT = 180;

/** How long a successful job and its result are kept, in seconds. `0` = not kept, `-1` = forever. */
export const DEFAULT_RESULT_TTL = 500;

/** How long a failed job is kept, in seconds (one year). */
export const DEFAULT_FAILURE_TTL = 31_536_000;

/** Time limit of a success or failure callback, in seconds. */
export const CALLBACK_TIMEOUT = 60;

/**
 * rqts only: how long a worker asked to stop keeps retrying Redis, in seconds, for the outcomes of jobs that ended while
 * it was unreachable; what it still holds then is written to its outcomes directory (see outcome_spool.ts).
 */
export const OUTAGE_STOP_GRACE = 10;

/** Worker key lifetime, in seconds; the key's TTL is this plus 60. */
export const DEFAULT_WORKER_TTL = 420;

/**
 * rqts only: lifetime of a worker's liveness key, in seconds, refreshed every third of it. Once it lapses the
 * worker counts as dead and live workers recover its jobs.
 */
export const DEFAULT_LIVENESS_TTL = 30;

/** How often a busy worker heartbeats, in seconds. */
export const DEFAULT_JOB_MONITORING_INTERVAL = 30;

/** Seconds between a worker's registry maintenance runs (RQ's `DEFAULT_MAINTENANCE_TASK_INTERVAL`). */
export const DEFAULT_MAINTENANCE_INTERVAL = 600;

/** Description arguments longer than this many characters are cut and end in `...`. */
export const DESCRIPTION_ARG_MAX_LENGTH = 75;

/** Approximate number of results kept per job in `rq:results:<id>` (`MAXLEN ~ 10`). */
export const RESULTS_STREAM_MAXLEN = 10;

/** Version rqts writes in worker hashes, so `rq info` and Python clients see an RQ 1.13 peer. */
export const RQ_VERSION = "1.13.0";
/** This package's version (deno.json's and the npm package's; a guard test keeps them equal). */
export const RQTS_VERSION = "0.1.0";

/**
 * rqts only: lifetime of an rqts scheduler's lock on a queue (`rq:scheduler-lock:<queue>`), in seconds. RQ sets its
 * own to its interval + 60 (61 s) and renews it every second; rqts renews it on each look at the queue (at least once
 * a second) and moves jobs only while holding it (checked inside the moving script), so a short lifetime is safe and
 * lets another scheduler take over soon after the holder dies.
 */
export const SCHEDULER_LOCK_TTL = 10;

/** rqts only: most milliseconds a scheduler sleeps between looks (jobs Python schedules do not wake it early). */
export const SCHEDULER_MAX_SLEEP_MS = 1000;

/** Most due jobs one scheduler step moves (RQ's `get_jobs_to_schedule` chunk size). */
export const SCHEDULER_CHUNK = 1000;

/**
 * rqts only: minutes of throughput counters kept per queue (src/stats.ts); older minutes are folded into the running
 * totals, so a queue's counters hash holds at most 2 * (this + 1) + 3 fields.
 */
export const STATS_MINUTES_KEPT = 120;
