// No RQ counterpart (rq-dashboard's web.py reads through RQ's classes one call at a time): what the dashboard reads
// from Redis, bounded per page. Counts are one pipelined round trip; a registry page reads its own window of ids
// (LRANGE / ZRANGE by index) and those jobs' hashes, so a registry of 10^5 jobs costs what one of 10 does.

import type { Connection } from "../connection.ts";
import { CronScheduler, type CronSchedulerInfo } from "../cron.ts";
import { CronJob } from "../cron_job.ts";
import { DeserializationError } from "../errors.ts";
import { Job } from "../job.ts";
import {
  dependentsKey,
  jobKey,
  QUEUE_PREFIX,
  queueKey,
  QUEUES_KEY,
  registryKey,
  type RegistryKind,
  WORKER_PREFIX,
  WORKERS_KEY,
} from "../keys.ts";
import { startedEntryJobId } from "../registry.ts";
import { throughput, type ThroughputMinute } from "../stats.ts";
import type { Result } from "../results.ts";
import { isSuspended } from "../suspension.ts";
import { parseUtc } from "../utils.ts";

/** What a queue page lists: the queue itself, or one of its registries. */
export const LISTINGS = ["queued", "started", "deferred", "scheduled", "finished", "failed", "canceled"] as const;
export type Listing = typeof LISTINGS[number];

export const isListing = (value: string): value is Listing => (LISTINGS as readonly string[]).includes(value);

/** A queue and its job count per listing. */
export interface QueueCounts {
  name: string;
  counts: Record<Listing, number>;
}

/** Every queue in `rq:queues`, by name, with its counts: one pipelined round trip for all of them. */
export async function readQueues(c: Connection): Promise<QueueCounts[]> {
  const names = await queueNames(c);
  return await Promise.all(names.map(async (name) => ({ name, counts: await readCounts(c, name) })));
}

/** Every queue's name in `rq:queues`, sorted. */
export async function queueNames(c: Connection): Promise<string[]> {
  return (await c.call<string[]>(["SMEMBERS", QUEUES_KEY]))
    .filter((k) => k.startsWith(QUEUE_PREFIX))
    .map((k) => k.slice(QUEUE_PREFIX.length))
    .sort();
}

/** One queue's counts (LLEN and six ZCARDs, sent together). */
export async function readCounts(c: Connection, queue: string): Promise<Record<Listing, number>> {
  const values = await Promise.all(
    LISTINGS.map((l) =>
      c.call<number>(l === "queued" ? ["LLEN", queueKey(queue)] : ["ZCARD", registryKey(l as RegistryKind, queue)])
    ),
  );
  return Object.fromEntries(LISTINGS.map((l, i) => [l, Number(values[i])])) as Record<Listing, number>;
}

/** Which software runs a worker, told from the fields it registered. */
export type WorkerKind = "rqts" | "RQ 1.x" | "RQ 2.x" | "RQ";

/** A worker as its hash `rq:worker:<name>` describes it. */
export interface WorkerInfo {
  name: string;
  kind: WorkerKind;
  queues: string[];
  state: string;
  currentJob: string | null;
  birth: Date | null;
  lastHeartbeat: Date | null;
  successes: number;
  failures: number;
  /** Seconds spent running jobs (RQ's `total_working_time`). */
  workingTime: number;
  hostname: string;
  pid: string;
  /** The `version` field (RQ's version, or the RQ version rqts speaks), and `python_version` as written. */
  version: string;
  pythonVersion: string;
}

/**
 * rqts registers `python_version` as `rqts (<runtime> <version>)` and the RQ version it speaks as `version`; Python
 * RQ writes its own version and Python's.
 */
export function workerKind(fields: Record<string, string>): WorkerKind {
  if ((fields.python_version ?? "").startsWith("rqts")) return "rqts";
  const major = (fields.version ?? "").split(".")[0];
  return major === "1" ? "RQ 1.x" : major === "2" ? "RQ 2.x" : "RQ";
}

/** Every live worker in `rq:workers` (hashes that expired or recorded a death are left out), by name. */
export async function readWorkers(c: Connection): Promise<WorkerInfo[]> {
  const keys = (await c.call<string[]>(["SMEMBERS", WORKERS_KEY])).sort();
  const hashes = await Promise.all(keys.map((k) => c.call<Record<string, string> | null>(["HGETALL", k])));
  const out: WorkerInfo[] = [];
  for (const [i, key] of keys.entries()) {
    const h = hashes[i];
    if (!h || !Object.keys(h).length || h.death) continue;
    out.push({
      name: key.slice(WORKER_PREFIX.length),
      kind: workerKind(h),
      queues: (h.queues ?? "").split(",").filter(Boolean),
      state: h.state ?? "?",
      currentJob: h.current_job || null,
      birth: parseUtc(h.birth) ?? null,
      lastHeartbeat: parseUtc(h.last_heartbeat) ?? null,
      successes: Number(h.successful_job_count ?? 0) || 0,
      failures: Number(h.failed_job_count ?? 0) || 0,
      workingTime: Number(h.total_working_time ?? 0) || 0,
      hostname: h.hostname ?? "",
      pid: h.pid ?? "",
      version: h.version ?? "",
      pythonVersion: h.python_version ?? "",
    });
  }
  return out;
}

/** A job as a listing row: the job, or why it cannot be shown (gone, or a hash rqts cannot read). */
export interface JobRow {
  id: string;
  /** The entry's score: a scheduled job's due time, a registry entry's expiry (Unix seconds); null in a queue. */
  score: number | null;
  job: Job | null;
  problem: string | null;
}

/** One page of a listing. */
export interface Page {
  total: number;
  /** 1-based. */
  page: number;
  pages: number;
  perPage: number;
  rows: JobRow[];
}

/**
 * The order a listing is shown in: a queue from its head, scheduled and deferred jobs soonest first, the others
 * newest first (their scores are expiry times, which grow with the time of the entry).
 */
const NEWEST_FIRST: ReadonlySet<Listing> = new Set(["started", "finished", "failed", "canceled"]);

/** Ids (and scores) of entries `start..end` (inclusive) of a listing, in the order it is shown. */
export async function readIds(
  c: Connection,
  queue: string,
  listing: Listing,
  start: number,
  end: number,
): Promise<{ id: string; score: number | null }[]> {
  if (listing === "queued") {
    return (await c.call<string[]>(["LRANGE", queueKey(queue), String(start), String(end)])).map((id) => ({
      id,
      score: null,
    }));
  }
  const key = registryKey(listing, queue);
  const reply = await c.call<unknown[]>(
    NEWEST_FIRST.has(listing)
      ? ["ZREVRANGE", key, String(start), String(end), "WITHSCORES"]
      : ["ZRANGE", key, String(start), String(end), "WITHSCORES"],
  );
  return withScores(reply).map(([member, score]) => ({
    id: listing === "started" ? startedEntryJobId(member) : member,
    score,
  }));
}

/** A WITHSCORES reply as pairs: RESP2 gives a flat list, RESP3 a list of pairs. */
export function withScores(reply: unknown[]): [string, number][] {
  if (reply.length && Array.isArray(reply[0])) return (reply as [string, string][]).map(([m, s]) => [m, Number(s)]);
  const out: [string, number][] = [];
  for (let i = 0; i < reply.length; i += 2) out.push([String(reply[i]), Number(reply[i + 1])]);
  return out;
}

/** Count of a listing. */
export async function countListing(c: Connection, queue: string, listing: Listing): Promise<number> {
  return Number(
    await c.call<number>(
      listing === "queued" ? ["LLEN", queueKey(queue)] : ["ZCARD", registryKey(listing, queue)],
    ),
  );
}

/** Page `page` (1-based) of a listing; `page` beyond the last gives `rows: []` and the real `pages`. */
export async function readPage(
  c: Connection,
  queue: string,
  listing: Listing,
  page: number,
  perPage: number,
): Promise<Page> {
  const total = await countListing(c, queue, listing);
  const pages = Math.max(1, Math.ceil(total / perPage));
  if (page > pages) return { total, page, pages, perPage, rows: [] };
  const start = (page - 1) * perPage;
  const entries = await readIds(c, queue, listing, start, start + perPage - 1);
  const jobs = await readJobs(c, entries.map((e) => e.id));
  return {
    total,
    page,
    pages,
    perPage,
    rows: entries.map((e, i) => ({ id: e.id, score: e.score, ...jobs[i] })),
  };
}

type RawHash = Record<string, Uint8Array>;

/** Jobs by id in one pipelined round trip, each either read or with the reason it could not be. */
export async function readJobs(
  c: Connection,
  ids: readonly string[],
): Promise<{ job: Job | null; problem: string | null }[]> {
  const raws = await Promise.all(ids.map((id) => c.callBytes<RawHash | null>(["HGETALL", jobKey(id)])));
  return raws.map((raw, i) => {
    if (!raw || !Object.keys(raw).length) return { job: null, problem: "gone (its hash expired or was deleted)" };
    const job = new Job(ids[i], c);
    try {
      job.restore(raw);
      return { job, problem: null };
    } catch (error) {
      return { job: null, problem: (error as Error).message };
    }
  });
}

/** A job's function name, or what made its data unreadable. */
export function funcNameOf(job: Job): string {
  try {
    return job.funcName;
  } catch (error) {
    return `(unreadable: ${(error as Error).message})`;
  }
}

/** Everything the job page shows. */
export interface JobDetails {
  job: Job;
  /** Its call, when its data decodes. */
  call: { funcName: string; args: unknown[]; kwargs: Record<string, unknown> } | null;
  callProblem: string | null;
  dependencies: { id: string; status: string | null }[];
  dependents: { id: string; status: string | null }[];
  results: Result[];
  resultsProblem: string | null;
  traceback: string | null;
}

/**
 * A job and what surrounds it, or `null` when there is no such job.
 * @throws {DeserializationError} when its hash cannot be read (the page shows the raw fields instead).
 */
export async function readJob(c: Connection, id: string): Promise<JobDetails | null> {
  const raw = await c.callBytes<RawHash | null>(["HGETALL", jobKey(id)]);
  if (!raw || !Object.keys(raw).length) return null;
  const job = new Job(id, c);
  job.restore(raw);
  let call: JobDetails["call"] = null, callProblem: string | null = null;
  try {
    call = { funcName: job.funcName, args: job.args, kwargs: job.kwargs };
  } catch (error) {
    callProblem = (error as Error).message;
  }
  const dependentIds = (await c.call<string[]>(["SMEMBERS", dependentsKey(id)])).sort();
  const statusOf = (ids: string[]) =>
    Promise.all(ids.map(async (d) => ({ id: d, status: await c.call<string | null>(["HGET", jobKey(d), "status"]) })));
  let results: Result[] = [], resultsProblem: string | null = null;
  try {
    results = (await job.results()).reverse();
  } catch (error) {
    resultsProblem = (error as Error).message;
  }
  let traceback: string | null = null;
  try {
    traceback = await job.excInfo;
  } catch (error) {
    traceback = `(unreadable: ${(error as Error).message})`;
  }
  return {
    job,
    call,
    callProblem,
    dependencies: await statusOf(job.dependencyIds),
    dependents: await statusOf(dependentIds),
    results,
    resultsProblem,
    traceback,
  };
}

/** A job hash's fields as text, for a job whose hash does not parse. */
export async function readRawJob(c: Connection, id: string): Promise<Record<string, string>> {
  return (await c.call<Record<string, string> | null>(["HGETALL", jobKey(id)])) ?? {};
}

export { DeserializationError };

/** A scheduled job and when it is due. */
export interface ScheduledEntry {
  queue: string;
  id: string;
  due: Date;
}

/** The `limit` soonest scheduled jobs over all queues (each queue's `limit` soonest, merged). */
export async function readScheduled(
  c: Connection,
  queues: readonly string[],
  limit: number,
): Promise<ScheduledEntry[]> {
  const lists = await Promise.all(
    queues.map((q) => c.call<unknown[]>(["ZRANGE", registryKey("scheduled", q), "0", String(limit - 1), "WITHSCORES"])),
  );
  const out: ScheduledEntry[] = [];
  for (const [i, reply] of lists.entries()) {
    for (const [id, score] of withScores(reply)) out.push({ queue: queues[i], id, due: new Date(score * 1000) });
  }
  return out.sort((a, b) => a.due.getTime() - b.due.getTime()).slice(0, limit);
}

/** Registered cron schedulers (rqts' and RQ 2.x's) with their entries; read only (no registry cleanup). */
export async function readCron(c: Connection): Promise<CronSchedulerInfo[]> {
  return await CronScheduler.all({ connection: c, cleanup: false });
}

/** A stored RQ time (`2026-12-07T22:41:03.123456Z`, or without the zone as RQ 2.x writes some). */
export function storedTime(value: unknown): Date | null {
  if (typeof value !== "string" || !value) return null;
  const d = new Date(/[zZ]|[+-]\d\d:?\d\d$/.test(value) ? value : `${value}Z`);
  return Number.isFinite(d.getTime()) ? d : null;
}

/**
 * A cron entry's next run: the one its scheduler stored when it is still ahead, else computed from its cron string
 * (stored in croniter's order, seconds last) or from its last enqueue plus its interval. Schedulers store the next run
 * only after an enqueue, so an entry that has not fired yet has none stored.
 */
export function nextRun(entry: Record<string, unknown>, now = Date.now()): Date | null {
  const stored = storedTime(entry.next_enqueue_time);
  if (stored && stored.getTime() >= now) return stored;
  try {
    if (typeof entry.cron === "string" && entry.cron) {
      const fields = entry.cron.trim().split(/\s+/);
      const cron = fields.length === 6 ? [fields[5], ...fields.slice(0, 5)].join(" ") : fields.join(" ");
      const timezone = typeof entry.timezone === "string" ? entry.timezone : undefined;
      const next = new CronJob("x.y", "q", { cron, timezone }).nextTick(now);
      return Number.isFinite(next) ? new Date(next) : null;
    }
    const latest = storedTime(entry.latest_enqueue_time);
    const interval = Number(entry.interval);
    if (latest && interval > 0) {
      const step = interval * 1000;
      return new Date(latest.getTime() + Math.max(1, Math.ceil((now - latest.getTime()) / step)) * step);
    }
  } catch { /* an entry rqts cannot read: no next run shown */ }
  return stored;
}

/** Whether workers are suspended (`rq:suspended`). */
export function readSuspended(c: Connection): Promise<boolean> {
  return isSuspended(c);
}

/** Whether a job hash exists (the search box's exact-id lookup). */
export async function jobExists(c: Connection, id: string): Promise<boolean> {
  return (await c.call<number>(["EXISTS", jobKey(id)])) === 1;
}

/** Whether `rq:queues` holds the queue. */
export async function queueKnown(c: Connection, queue: string): Promise<boolean> {
  return (await c.call<number>(["SISMEMBER", QUEUES_KEY, queueKey(queue)])) === 1;
}

/** Finished and failed runs per minute over the last hour, all queues summed (the workers' counters, src/stats.ts). */
export async function readThroughput(c: Connection): Promise<ThroughputMinute[]> {
  return await throughput(c, { minutes: 60 });
}
