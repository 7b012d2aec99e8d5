// No RQ counterpart (RQ keeps only each worker's successful/failed counts, lost with the worker): the throughput
// counters the finish scripts keep per queue in rqts:stats:<queue> (count_outcomes in src/lua/_stats.ts, in the
// same script that stores each outcome), read back for the dashboard's chart and its /metrics.

import { type Connection, type ConnectionOption, withConnection } from "./connection.ts";
import { STATS_MINUTES_KEPT } from "./defaults.ts";
import { QUEUE_PREFIX, QUEUES_KEY, statsKey } from "./keys.ts";

/** One minute of a throughput series. */
export interface ThroughputMinute {
  /** The minute's start, epoch milliseconds. */
  minute: number;
  /** Runs that finished, and that failed (or were stopped), in that minute. */
  finished: number;
  failed: number;
}

/** A queue's totals since its counters began. */
export interface QueueTotals {
  /** Runs that finished, and that failed (or were stopped); a failed try that was retried counts as failed. */
  finished: number;
  failed: number;
  /** Seconds all those runs took (a run's working time, as the worker's `total_working_time` adds it). */
  runSeconds: number;
}

/** {@link throughput}'s options. */
export interface ThroughputOptions {
  /** One queue's series; default: the sum over every queue in `rq:queues`. */
  queue?: string;
  /**
   * How many minutes, the current one last (default 60, at most the {@link STATS_MINUTES_KEPT} kept).
   * @default 60
   */
  minutes?: number;
  /** Now, epoch ms (default: this process' clock). */
  now?: number;
}

/**
 * Finished and failed runs per minute over the last `minutes` minutes, oldest first, minutes without runs as zeros.
 * Reads one hash per queue, all in one round trip.
 * @throws {RangeError} when `minutes` is not a whole number from 1 to {@link STATS_MINUTES_KEPT}.
 * @example Last hour of one queue
 * ```ts
 * const series = await throughput("redis://127.0.0.1:6379", { queue: "default" });
 * console.log(series.at(-1)); // { minute: 1765145400000, finished: 312, failed: 2 }
 * ```
 */
export async function throughput(
  connection: ConnectionOption,
  options: ThroughputOptions = {},
): Promise<ThroughputMinute[]> {
  const minutes = options.minutes ?? 60;
  if (!Number.isInteger(minutes) || minutes < 1 || minutes > STATS_MINUTES_KEPT) {
    throw new RangeError(
      `minutes: received ${minutes}; expected a whole number from 1 to ${STATS_MINUTES_KEPT} (the minutes kept).`,
    );
  }
  const last = Math.floor((options.now ?? Date.now()) / 60_000);
  const series: ThroughputMinute[] = [];
  for (let m = last - minutes + 1; m <= last; m++) series.push({ minute: m * 60_000, finished: 0, failed: 0 });
  await withConnection(connection, async (c) => {
    const queues = options.queue === undefined ? await queueNames(c) : [options.queue];
    for (const h of await Promise.all(queues.map((q) => readHash(c, statsKey(q))))) {
      for (const [field, value] of Object.entries(h)) {
        const m = /^([fx]):(\d+)$/.exec(field);
        const i = m ? Number(m[2]) - (last - minutes + 1) : -1;
        if (!m || i < 0 || i >= minutes) continue;
        if (m[1] === "f") series[i].finished += Number(value);
        else series[i].failed += Number(value);
      }
    }
  });
  return series;
}

/**
 * Each queue's totals (finished, failed, run seconds) since its counters began, in one round trip; a queue that never
 * ran a job has zeros.
 */
export async function queueTotals(connection: ConnectionOption, queues: string[]): Promise<Map<string, QueueTotals>> {
  return await withConnection(connection, async (c) => {
    const hashes = await Promise.all(queues.map((q) => readHash(c, statsKey(q))));
    return new Map(queues.map((q, i) => [q, totalsOf(hashes[i])]));
  });
}

/** A counters hash's totals: the folded totals plus the minutes still kept. */
function totalsOf(h: Record<string, string>): QueueTotals {
  const totals = { finished: Number(h.f ?? 0), failed: Number(h.x ?? 0), runSeconds: Number(h.t ?? 0) / 1e6 };
  for (const [field, value] of Object.entries(h)) {
    if (field.startsWith("f:")) totals.finished += Number(value);
    else if (field.startsWith("x:")) totals.failed += Number(value);
  }
  return totals;
}

/** The names of every queue in `rq:queues`, sorted. */
export async function queueNames(c: Connection): Promise<string[]> {
  const keys = await c.call<string[]>(["SMEMBERS", QUEUES_KEY]);
  return keys.filter((k) => k.startsWith(QUEUE_PREFIX)).map((k) => k.slice(QUEUE_PREFIX.length)).sort();
}

/** HGETALL as a record (a map on RESP3, a flat list on RESP2). */
async function readHash(c: Connection, key: string): Promise<Record<string, string>> {
  const h = await c.call<Record<string, string> | string[] | null>(["HGETALL", key]);
  if (!h) return {};
  if (!Array.isArray(h)) return h;
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < h.length; i += 2) out[h[i]] = h[i + 1];
  return out;
}
