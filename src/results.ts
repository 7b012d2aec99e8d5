// RQ's rq/results.py: the results stream `rq:results:<id>` (type 1 success, 2 failure, 3 stopped).

import { Buffer } from "node:buffer";
import { deflate, inflate } from "./zlib.ts";
import type { Connection } from "./connection.ts";
import { DeserializationError } from "./errors.ts";
import { resultsKey } from "./keys.ts";
import type { Serializer } from "./serializer.ts";

/** How a run ended, as RQ's `Result.Type` numbers it on the wire. */
export const RESULT_TYPES = { successful: "1", failed: "2", stopped: "3" } as const;
export type ResultType = keyof typeof RESULT_TYPES;

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

  constructor(id: string, type: ResultType, createdAt: Date, returnValue: R | null, excString: string | null) {
    this.id = id;
    this.type = type;
    this.createdAt = createdAt;
    this.returnValue = returnValue;
    this.excString = excString;
  }
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
  const type: ResultType = fields.type === "1" ? "successful" : fields.type === "3" ? "stopped" : "failed";
  let returnValue: R | null = null;
  if (type === "successful" && fields.return_value) {
    try {
      returnValue = serializer.loads(Buffer.from(fields.return_value, "base64")) as R;
    } catch (error) {
      throw new DeserializationError(jobId, "return_value", (error as Error).message, { cause: error });
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
  return new Result<R>(id, type, new Date(Number(id.split("-")[0])), returnValue, excString);
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
