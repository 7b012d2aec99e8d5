// RQ's rq/registry.py: sorted sets of job ids per queue and state, scored by expiry time.

import { Buffer } from "node:buffer";
import { deflate } from "./zlib.ts";
import { Connection, type ConnectionOption } from "./connection.ts";
import { DEFAULT_FAILURE_TTL } from "./defaults.ts";
import { InvalidJobOperationError, NoSuchJobError } from "./errors.ts";
import { fetchJobs, type Job } from "./job.ts";
import { dependenciesKey, dependentsKey, jobKey, registryKey, type RegistryKind, schedulerWakeKey } from "./keys.ts";
import { dueScore } from "./lua/schedule.ts";
import { JSONSerializer, type Serializer } from "./serializer.ts";
import { nowSeconds, utcNow } from "./utils.ts";

/** Options of a registry. */
export interface RegistryOptions {
  connection?: ConnectionOption;
  serializer?: Serializer;
}

/** A registry: one sorted set `rq:<kind>:<queue>` of job ids. */
export abstract class BaseRegistry {
  abstract readonly kind: RegistryKind;
  readonly name: string;
  readonly connection: Connection;
  readonly serializer: Serializer;

  constructor(name: string = "default", options: RegistryOptions = {}) {
    this.name = name;
    this.connection = Connection.resolve(options.connection);
    this.serializer = options.serializer ?? JSONSerializer;
  }

  /** The sorted set's key. */
  get key(): string {
    return registryKey(this.kind, this.name);
  }

  /** Removes expired entries (RQ runs this before every count and listing). */
  async cleanup(): Promise<void> {}

  /** Number of jobs, after cleanup. */
  async count(): Promise<number> {
    await this.cleanup();
    return await this.connection.call<number>(["ZCARD", this.key]);
  }

  /** Job ids from `start` to `end` (inclusive, -1 = last), after cleanup. */
  async getJobIds(start = 0, end = -1): Promise<string[]> {
    await this.cleanup();
    return await this.connection.call<string[]>(["ZRANGE", this.key, String(start), String(end)]);
  }

  /** Jobs whose hashes still exist. */
  async getJobs(start = 0, end = -1): Promise<Job[]> {
    const jobs = await fetchJobs(this.connection, this.serializer, await this.getJobIds(start, end));
    return jobs.filter((j): j is Job => j !== null);
  }

  /** Whether the registry holds this job. */
  async contains(job: Job | string): Promise<boolean> {
    const id = typeof job === "string" ? job : job.id;
    return (await this.connection.call<string | null>(["ZSCORE", this.key, id])) !== null;
  }

  /** Ids whose score (expiry) is before `timestamp` (seconds; default now). */
  async getExpiredJobIds(timestamp: number = nowSeconds()): Promise<string[]> {
    return await this.connection.call<string[]>(["ZRANGEBYSCORE", this.key, "0", String(timestamp)]);
  }

  /** Removes a job from the registry; with `deleteJob`, deletes the job too. */
  async remove(job: Job | string, options: { deleteJob?: boolean } = {}): Promise<number> {
    const id = typeof job === "string" ? job : job.id;
    const removed = await this.connection.call<number>(["ZREM", this.key, id]);
    if (options.deleteJob) {
      const [found] = await fetchJobs(this.connection, this.serializer, [id]);
      if (found) await found.delete();
    }
    return removed;
  }
}

/**
 * The job id of a started-registry entry. RQ 2.x writes `<job_id>:<execution_id>` (rq/executions.py: the execution id
 * is `uuid4().hex`, and 2.x job ids cannot hold a colon); RQ 1.13 and rqts write the bare job id. Only a tail of a
 * colon and 32 hex digits is taken for an execution id, so an rqts job id that holds colons stays whole.
 */
export function startedEntryJobId(entry: string): string {
  return EXECUTION_TAIL.test(entry) ? entry.slice(0, -33) : entry;
}
const EXECUTION_TAIL = /.:[0-9a-f]{32}$/;

/**
 * Jobs being run (`rq:wip:<queue>`), scored by heartbeat deadline. Entries are job ids (RQ 1.13, rqts) or RQ 2.x's
 * `<job_id>:<execution_id>`; every method here speaks of job ids, whichever dialect wrote the entry.
 */
export class StartedJobRegistry extends BaseRegistry {
  readonly kind = "started" as const;

  /** Job ids from `start` to `end` (inclusive, -1 = last), after cleanup; RQ 2.x entries give their job id. */
  override async getJobIds(start = 0, end = -1): Promise<string[]> {
    return (await super.getJobIds(start, end)).map(startedEntryJobId);
  }

  /** Ids whose heartbeat deadline is before `timestamp` (seconds; default now); RQ 2.x entries give their job id. */
  override async getExpiredJobIds(timestamp: number = nowSeconds()): Promise<string[]> {
    return (await super.getExpiredJobIds(timestamp)).map(startedEntryJobId);
  }

  /** Whether the registry holds this job, as an entry of either dialect. */
  override async contains(job: Job | string): Promise<boolean> {
    if (await super.contains(job)) return true;
    const id = typeof job === "string" ? job : job.id;
    const entries = await this.connection.call<string[]>(["ZRANGE", this.key, "0", "-1"]);
    return entries.some((e) => e !== id && startedEntryJobId(e) === id);
  }

  /** Removes the job's entries of either dialect; with `deleteJob`, deletes the job too. */
  override async remove(job: Job | string, options: { deleteJob?: boolean } = {}): Promise<number> {
    const id = typeof job === "string" ? job : job.id;
    const entries = await this.connection.call<string[]>(["ZRANGE", this.key, "0", "-1"]);
    const executions = entries.filter((e) => e !== id && startedEntryJobId(e) === id);
    const removed = executions.length ? await this.connection.call<number>(["ZREM", this.key, ...executions]) : 0;
    return removed + await super.remove(job, options);
  }

  /**
   * RQ's abandoned-job rule: entries whose heartbeat deadline has passed move to the failed registry, with
   * `exc_info` "Moved to FailedJobRegistry at <time>" in the hash and no result entry, as RQ writes it.
   */
  override async cleanup(): Promise<void> {
    const now = nowSeconds();
    const ids = await this.getExpiredJobIds(now);
    if (!ids.length) return;
    const commands: (string | Uint8Array)[][] = [];
    for (const job of await fetchJobs(this.connection, this.serializer, ids)) {
      if (!job) continue;
      const ttl = job.failureTtl ?? DEFAULT_FAILURE_TTL;
      const stamp = utcNow().replace("T", " ").replace("Z", "");
      commands.push(
        [
          "HSET",
          job.key,
          "status",
          "failed",
          "exc_info",
          deflate(Buffer.from(`Moved to FailedJobRegistry at ${stamp}`)),
        ],
        ["ZADD", registryKey("failed", this.name), String(ttl < 0 ? ttl : now + ttl), job.id],
      );
      if (ttl > 0) {
        for (const key of [jobKey(job.id), dependentsKey(job.id), dependenciesKey(job.id)]) {
          commands.push(["EXPIRE", key, String(ttl)]);
        }
      }
    }
    commands.push(["ZREMRANGEBYSCORE", this.key, "0", String(now)]);
    await this.connection.transaction(commands);
  }
}

/** Successful jobs (`rq:finished:<queue>`), scored by expiry (`+inf` for resultTtl -1). */
export class FinishedJobRegistry extends BaseRegistry {
  readonly kind = "finished" as const;
  override async cleanup(): Promise<void> {
    await this.connection.call(["ZREMRANGEBYSCORE", this.key, "0", String(nowSeconds())]);
  }
}

/** Failed jobs (`rq:failed:<queue>`), scored by expiry (failureTtl, one year by default). */
export class FailedJobRegistry extends BaseRegistry {
  readonly kind = "failed" as const;
  override async cleanup(): Promise<void> {
    await this.connection.call(["ZREMRANGEBYSCORE", this.key, "0", String(nowSeconds())]);
  }

  /**
   * Puts a failed job back on its queue.
   * @throws {InvalidJobOperationError} when it is not in this registry; {NoSuchJobError} when its hash is gone.
   */
  async requeue(job: Job | string, options: { atFront?: boolean } = {}): Promise<Job> {
    const id = typeof job === "string" ? job : job.id;
    if (!(await this.contains(id))) {
      throw new InvalidJobOperationError(
        `Cannot requeue job ${id}: it is not in the failed job registry of '${this.name}'. Only failed jobs can be requeued.`,
      );
    }
    const [found] = await fetchJobs(this.connection, this.serializer, [id]);
    if (!found) {
      await this.connection.call(["ZREM", this.key, id]);
      throw new NoSuchJobError(id, " (its failed-registry entry was dangling and is now removed)");
    }
    return await found.requeue(options);
  }
}

/** Jobs waiting on dependencies (`rq:deferred:<queue>`); never cleaned by time, as in RQ. */
export class DeferredJobRegistry extends BaseRegistry {
  readonly kind = "deferred" as const;
}

/** Jobs scheduled for later (`rq:scheduled:<queue>`), scored by run time (UTC epoch seconds); never cleaned by time. */
export class ScheduledJobRegistry extends BaseRegistry {
  readonly kind = "scheduled" as const;

  /**
   * RQ's `schedule`: (re)sets when a job in this registry is due; its hash and status are left as they are (use
   * `queue.enqueueAt` to schedule a new job). Wakes a sleeping rqts scheduler.
   */
  async schedule(job: Job | string, date: Date): Promise<void> {
    const id = typeof job === "string" ? job : job.id;
    if (!(date instanceof Date) || Number.isNaN(date.getTime())) {
      throw new TypeError(`ScheduledJobRegistry.schedule: received ${String(date)}; expected a valid Date.`);
    }
    const wake = schedulerWakeKey(this.name);
    await this.connection.transaction([
      ["ZADD", this.key, dueScore(date.getTime()), id],
      ["LPUSH", wake, "1"],
      ["LTRIM", wake, "0", "0"],
      ["EXPIRE", wake, "60"],
    ]);
  }

  /** RQ's `get_jobs_to_schedule`: ids due by `timestamp` (epoch seconds; default now), at most `chunkSize`. */
  async getJobsToSchedule(timestamp: number = Date.now() / 1000, chunkSize = 1000): Promise<string[]> {
    return await this.connection.call<string[]>([
      "ZRANGEBYSCORE",
      this.key,
      "0",
      String(timestamp),
      "LIMIT",
      "0",
      String(chunkSize),
    ]);
  }

  /** RQ's `remove_jobs` (deprecated in RQ 2.x): drops ids due by `timestamp` (default now) without queuing them. */
  async removeJobs(timestamp: number = Date.now() / 1000): Promise<number> {
    return await this.connection.call<number>(["ZREMRANGEBYSCORE", this.key, "0", String(timestamp)]);
  }

  /** When the job is scheduled to run. @throws {NoSuchJobError} when it is not scheduled. */
  async getScheduledTime(job: Job | string): Promise<Date> {
    const id = typeof job === "string" ? job : job.id;
    const score = await this.connection.call<string | null>(["ZSCORE", this.key, id]);
    if (score === null) throw new NoSuchJobError(id, ` (not in the scheduled registry of '${this.name}')`);
    return new Date(Math.round(Number(score) * 1000));
  }
}

/** Canceled jobs (`rq:canceled:<queue>`); never cleaned by time, as in RQ. */
export class CanceledJobRegistry extends BaseRegistry {
  readonly kind = "canceled" as const;
}
