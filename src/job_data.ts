// RQ's rq/job.py `Job.data` and `Job._deserialize_data`: a job's call as stored in its hash's `data` field (the
// serializer's [func_name, null, args, kwargs], zlib-compressed), and the values of a job hash as read.

import { Buffer } from "node:buffer";
import { DeserializationError, SerializationError } from "./errors.ts";
import { JSONSerializer, type Serializer, toPythonJson } from "./serializer.ts";
import { parseDuration, parseUtc } from "./utils.ts";
import { deflate, inflate, STORED_BELOW, zlibStoredAscii } from "./zlib.ts";

/** A job's call, decoded. */
export type Call = { funcName: string; args: unknown[]; kwargs: Record<string, unknown> };

/** A job hash as read from Redis (bytes), or as a horse receives it (`Job.fromWire`: text as strings). */
export type RawHash = Record<string, Uint8Array | string>;

// Byte values are decoded without a copy. Strings (a horse's job) pass as they are.
const utf8 = new TextDecoder();
/** A hash value as text. */
export const text = (v: Uint8Array | string | undefined): string | undefined =>
  v === undefined || typeof v === "string" ? v : utf8.decode(v);
/** A hash value as bytes. */
export const bytes = (v: Uint8Array | string): Uint8Array => typeof v === "string" ? Buffer.from(v, "utf8") : v;

const dataEncoder = new TextEncoder();

/** Job data as stored: zlib of the serialized call. */
function compress(bytes: Uint8Array): Buffer {
  // A chunkSize that fits the output avoids a 16 KiB output buffer per job (most of deflateSync's cost for
  // small payloads on Deno and Bun); the compressed bytes are the same for any chunkSize.
  return deflate(bytes, { chunkSize: Math.min(16 * 1024, Math.max(1024, bytes.length + 64)) });
}

/**
 * {@link compress} of the default serializer's JSON, the same bytes as `compress(JSONSerializer.dumps(call))`: that
 * JSON is ASCII (Python's ensure_ascii), so short text goes into its stored zlib block straight from the string.
 */
function storedJson(json: string): Buffer {
  return (json.length < STORED_BELOW ? zlibStoredAscii(json) : undefined) ?? compress(dataEncoder.encode(json));
}

/** The `data` field of a new job. @throws {SerializationError} naming the argument path (`args`, `kwargs`). */
export function encodeCall(c: Call, serializer: Serializer): Uint8Array {
  const call = [c.funcName, null, c.args, c.kwargs];
  try {
    return serializer === JSONSerializer ? storedJson(toPythonJson(call)) : compress(serializer.dumps(call));
  } catch (error) {
    if (error instanceof SerializationError && typeof error.valuePath[0] === "number" && error.valuePath[0] >= 2) {
      throw new SerializationError(
        error.valuePath[0] === 2 ? "args" : "kwargs",
        error.valuePath.slice(1),
        error.reason,
      );
    }
    throw error;
  }
}

/**
 * The call in a job's `data` field: zlib-compressed or not (RQ falls back to the bytes as they are), in the job's
 * serializer. @throws {DeserializationError} naming the job, and a Python pickle as such.
 */
export function decodeCall(
  job: { readonly id: string; readonly serializer: Serializer },
  data: Uint8Array | undefined,
): Call {
  if (data === undefined) throw new DeserializationError(job.id, "data", "the field is missing");
  let bytes: Uint8Array;
  try {
    bytes = inflate(data);
  } catch {
    bytes = data; // RQ falls back to uncompressed bytes
  }
  let value: unknown;
  try {
    value = job.serializer.loads(bytes);
  } catch (error) {
    // A pickle (protocol 2 and later open with PROTO, 0x80, and the protocol's number): Python RQ's default.
    const pickled = bytes[0] === 0x80 && bytes[1] >= 2 && bytes[1] <= 5;
    throw new DeserializationError(
      job.id,
      "data",
      pickled
        ? `a Python pickle (protocol ${bytes[1]}): it was enqueued with Python RQ's default serializer, which only ` +
          `Python can read. Enqueue jobs meant for rqts with RQ's JSON serializer: Queue(..., ` +
          `serializer=JSONSerializer), from rq.serializers import JSONSerializer`
        : `neither zlib-compressed JSON nor plain JSON (${(error as Error).message})`,
      { cause: error },
    );
  }
  if (!Array.isArray(value) || value.length !== 4 || typeof value[0] !== "string") {
    throw new DeserializationError(
      job.id,
      "data",
      `expected [func_name, null, args, kwargs], got ${JSON.stringify(value)?.slice(0, 80)}`,
    );
  }
  const [funcName, , args, kwargs] = value;
  if (!Array.isArray(args)) throw new DeserializationError(job.id, "data", "args is not an array");
  if (kwargs === null || typeof kwargs !== "object" || Array.isArray(kwargs)) {
    throw new DeserializationError(job.id, "data", "kwargs is not an object");
  }
  return { funcName, args, kwargs: kwargs as Record<string, unknown> };
}

/**
 * A timestamp field of a job hash, and its text: null when empty or absent.
 * @throws {DeserializationError} when the text is not RQ's timestamp.
 */
export function hashDate(id: string, raw: RawHash, field: string): [Date | null, string | undefined] {
  const t = text(raw[field]);
  const d = parseUtc(t);
  if (d === undefined) {
    throw new DeserializationError(
      id,
      field,
      `${JSON.stringify(t)} is not a timestamp like 2026-11-27T18:46:20.084526Z`,
    );
  }
  return [d, t];
}

/**
 * An integer field of a job hash (`timeout` also in RQ's duration form): null when empty or absent.
 * @throws {DeserializationError} when it is not an integer, or beyond 2^53 (no longer the stored integer, and an
 * expiry Redis refuses, which would fail the worker's finishing script rather than this job).
 */
export function hashInt(id: string, raw: RawHash, field: string): number | null {
  const t = text(raw[field]);
  if (t === undefined || t === "") return null;
  const n = field === "timeout" ? parseDuration(t) : /^-?\d+$/.test(t.trim()) ? Number(t) : undefined;
  if (n === undefined) throw new DeserializationError(id, field, `${JSON.stringify(t)} is not an integer`);
  if (!Number.isSafeInteger(n)) {
    throw new DeserializationError(id, field, `${JSON.stringify(t)} is out of range (at most 2^53 - 1)`);
  }
  return n;
}
