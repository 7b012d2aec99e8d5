// RQ's rq/results.py: the results stream `rq:results:<id>` (type 1 success, 2 failure, 3 stopped; RQ 2.x adds 4
// retried and 5 max retries exceeded, and the execution fields of its runs).

import { Buffer } from "node:buffer";
import { deflate, inflate } from "./zlib.ts";
import type { Connection } from "./connection.ts";
import { DeserializationError } from "./errors.ts";
import { resultsKey } from "./keys.ts";
import type { Serializer } from "./serializer.ts";

/** How a run ended, as RQ's `Result.Type` numbers it on the wire. */
export const RESULT_TYPES = {
  successful: "1",
  failed: "2",
  stopped: "3",
  retried: "4",
  max_retries_exceeded: "5",
} as const;
export type ResultType = keyof typeof RESULT_TYPES;
const TYPE_OF: Record<string, ResultType> = Object.fromEntries(
  Object.entries(RESULT_TYPES).map(([name, n]) => [n, name as ResultType]),
);

/** What RQ 2.x also writes in an entry (`worker_name`, and the execution its run had); absent: empty/null. */
export interface ResultDetails {
  /** The worker that wrote it (RQ 2.x and rqts write it; RQ 1.13 does not: ""). */
  workerName?: string;
  /** RQ 2.x: the run's execution id (`rq:execution:<job>:<id>`), else null. */
  executionId?: string | null;
  /** RQ 2.x: when the run started and ended, else null. */
  executionStartedAt?: Date | null;
  executionEndedAt?: Date | null;
}

/** One entry of a job's results stream. */
export class Result<R = unknown> {
  /** The stream entry id (`<ms>-<seq>`). */
  readonly id: string;
  readonly type: ResultType;
  /** When the result was written (from the entry id's milliseconds). */
  readonly createdAt: Date;
  /** The job's return value for a successful run, else `null`. */
  readonly returnValue: R | null;
  /** The error text (RQ: the traceback) for a failed or stopped run, else `null`. */
  readonly excString: string | null;
  /** The worker that wrote the entry; "" when not recorded (RQ 1.13). */
  readonly workerName: string;
  /** RQ 2.x: the id of the execution (one run of the job) this entry ends, else `null`. */
  readonly executionId: string | null;
  /** RQ 2.x: when that execution started, else `null`. */
  readonly executionStartedAt: Date | null;
  /** RQ 2.x: when that execution ended, else `null`. */
  readonly executionEndedAt: Date | null;

  constructor(
    id: string,
    type: ResultType,
    createdAt: Date,
    returnValue: R | null,
    excString: string | null,
    details: ResultDetails = {},
  ) {
    this.id = id;
    this.type = type;
    this.createdAt = createdAt;
    this.returnValue = returnValue;
    this.excString = excString;
    this.workerName = details.workerName ?? "";
    this.executionId = details.executionId ?? null;
    this.executionStartedAt = details.executionStartedAt ?? null;
    this.executionEndedAt = details.executionEndedAt ?? null;
  }
}

/** RQ 2.x's execution times: float seconds since the epoch (`datetime.timestamp()`); garbage reads as null. */
function epochDate(text: string | undefined): Date | null {
  if (!text) return null;
  const seconds = Number(text);
  return Number.isFinite(seconds) ? new Date(Math.round(seconds * 1000)) : null;
}

/** `XADD` fields of a success entry: `type 1` and, unless the value is null/undefined, base64(JSON). */
export function successFields(value: unknown, serializer: Serializer): string[] {
  if (value === undefined || value === null) return ["type", RESULT_TYPES.successful];
  return ["type", RESULT_TYPES.successful, "return_value", Buffer.from(serializer.dumps(value)).toString("base64")];
}

/** `XADD` fields of a failure entry: `type 2` and base64(zlib(text)). RQ 1.13 writes no type 3: a stopped job's entry is a failure too. */
export function failureFields(excString: string): string[] {
  return ["type", RESULT_TYPES.failed, "exc_string", deflate(Buffer.from(excString, "utf8")).toString("base64")];
}

type StreamEntry = [string, string[]] | { id: string; message: Record<string, string> };

/** Decodes one stream entry (node-redis returns `{ id, message }`). */
export function parseEntry<R>(jobId: string, entry: StreamEntry, serializer: Serializer): Result<R> {
  const id = Array.isArray(entry) ? entry[0] : entry.id;
  let fields: Record<string, string>;
  if (Array.isArray(entry)) {
    fields = {};
    for (let i = 0; i < entry[1].length; i += 2) fields[entry[1][i]] = entry[1][i + 1];
  } else fields = entry.message;
  const type: ResultType = TYPE_OF[fields.type] ?? "failed";
  let returnValue: R | null = null;
  if (fields.return_value) {
    try {
      returnValue = serializer.loads(Buffer.from(fields.return_value, "base64")) as R;
    } catch (error) {
      // RQ 2.x's retry entries carry a return value of their own (its Retry): only a success's must decode.
      if (type === "successful") {
        throw new DeserializationError(jobId, "return_value", (error as Error).message, { cause: error });
      }
    }
  }
  let excString: string | null = null;
  if (fields.exc_string) {
    const raw = Buffer.from(fields.exc_string, "base64");
    try {
      excString = inflate(raw).toString("utf8");
    } catch {
      excString = raw.toString("utf8");
    }
  }
  return new Result<R>(id, type, new Date(Number(id.split("-")[0])), returnValue, excString, {
    workerName: fields.worker_name ?? "",
    executionId: fields.execution_id || null,
    executionStartedAt: epochDate(fields.execution_started_at),
    executionEndedAt: epochDate(fields.execution_ended_at),
  });
}

/** `XREVRANGE rq:results:<id> + - COUNT 1`: the latest result, or `null`. */
export async function fetchLatest<R>(
  conn: Connection,
  jobId: string,
  serializer: Serializer,
): Promise<Result<R> | null> {
  const entries = await conn.call<StreamEntry[]>(["XREVRANGE", resultsKey(jobId), "+", "-", "COUNT", "1"]);
  return entries?.length ? parseEntry<R>(jobId, entries[0], serializer) : null;
}

/** Every result, newest first. */
export async function fetchAll<R>(conn: Connection, jobId: string, serializer: Serializer): Promise<Result<R>[]> {
  const entries = await conn.call<StreamEntry[]>(["XREVRANGE", resultsKey(jobId), "+", "-"]);
  return (entries ?? []).map((e) => parseEntry<R>(jobId, e, serializer));
}

/**
 * Waits up to `timeoutSeconds` for the first result to appear, blocking on the stream (XREAD BLOCK) on a
 * dedicated connection instead of polling. Returns the latest result at once when one exists.
 */
export async function waitLatest<R>(
  conn: Connection,
  jobId: string,
  serializer: Serializer,
  timeoutSeconds: number,
): Promise<Result<R> | null> {
  if (timeoutSeconds <= 0) return await fetchLatest<R>(conn, jobId, serializer);
  const key = resultsKey(jobId);
  const ms = Math.max(1, Math.round(timeoutSeconds * 1000));
  // Reading from 0-0 returns at once when the stream has entries (no XREVRANGE first: one command less per wait).
  const reply = await conn.blocking((client) =>
    client.send(["XREAD", "BLOCK", String(ms), "STREAMS", key, "0-0"])
  ) as unknown;
  if (!reply) return null;
  // The reply holds every entry so far ({key: entries} in RESP3, [[key, entries]] in RESP2): the last is the latest,
  // as XREVRANGE would say, without another round trip.
  const entries = Array.isArray(reply)
    ? (reply as [string, StreamEntry[]][])[0]?.[1]
    : (reply as Record<string, StreamEntry[]>)[key];
  const last = Array.isArray(entries) ? entries[entries.length - 1] : undefined;
  return last ? parseEntry<R>(jobId, last, serializer) : await fetchLatest<R>(conn, jobId, serializer);
}
