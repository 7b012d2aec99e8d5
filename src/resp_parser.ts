// No RQ counterpart (redis-py's _RESP3Parser): the RESP3 reply parser of RespClient (resp.ts). Replies are parsed
// from the bytes received so far; one that is not complete yet says so, with how many bytes it needs at least.

import { Buffer } from "node:buffer";

/** An error reply from Redis (`-ERR ...`); `message` is its text (as in node-redis's ErrorReply). */
export class RedisReplyError extends Error {
  /** For a failed MULTI/EXEC: every reply, errors included. */
  replies?: unknown[];
  constructor(message: string) {
    super(message);
    this.name = "RedisReplyError";
  }
}

const CRLF = 0x0d;

/** Set by {@link parse} when it needs more bytes: the buffer length that may complete the reply. */
let need = 0;

function more(bytes: number): undefined {
  need = bytes;
  return undefined;
}

/**
 * After {@link parse}, {@link parseBytes} or {@link skip} returned undefined: the buffer length that may complete the
 * reply (every undefined they return sets it first).
 */
export function needed(): number {
  return need;
}

/** Finds the CRLF ending the line that starts at `from`, or -1. */
function lineEnd(buf: Buffer, from: number): number {
  // A plain loop: lines here are headers of a few bytes (bulk bodies are skipped by length), and Buffer#indexOf
  // costs more than the scan on Deno.
  const n = buf.length - 1;
  for (let i = from; i < n; i++) if (buf[i] === CRLF) return i;
  return -1;
}

function parseInt10(buf: Buffer, from: number, to: number): number {
  let n = 0;
  let i = from;
  let sign = 1;
  if (buf[i] === 0x2d) {
    sign = -1;
    i++;
  }
  for (; i < to; i++) n = n * 10 + (buf[i] - 0x30);
  return sign * n;
}

/**
 * Parses one reply whose bulk strings are wanted as bytes: the reply's bytes are copied once (so its values do not
 * keep the whole read buffer alive) and each bulk string is a Uint8Array view into that copy. One copy per reply
 * instead of one Buffer per value: a worker's dequeue reply has ~40 of them.
 */
export function parseBytes(buf: Buffer, pos: number): { value: unknown; end: number } | undefined {
  const end = skip(buf, pos);
  if (end === undefined) return undefined;
  const copy = buf.buffer.slice(buf.byteOffset + pos, buf.byteOffset + end);
  const parsed = parse(Buffer.from(copy), 0, true)!;
  return { value: parsed.value, end };
}

/** Where the reply at `pos` ends, or undefined (with `need` set) when more bytes are needed. */
export function skip(buf: Buffer, pos: number): number | undefined {
  if (pos >= buf.length) return more(buf.length + 1);
  const type = buf[pos];
  const eol = lineEnd(buf, pos + 1);
  if (eol < 0) return more(buf.length + 1);
  switch (type) {
    case 0x24:
    case 0x21:
    case 0x3d: {
      const len = parseInt10(buf, pos + 1, eol);
      if (len < 0) return eol + 2;
      const end = eol + 2 + len + 2;
      return end > buf.length ? more(end) : end;
    }
    case 0x2a:
    case 0x7e:
    case 0x3e:
    case 0x25:
    case 0x7c: {
      const count = parseInt10(buf, pos + 1, eol);
      const items = type === 0x25 || type === 0x7c ? 2 * Math.max(count, 0) + (type === 0x7c ? 1 : 0) : count;
      let at: number | undefined = eol + 2;
      for (let i = 0; i < items; i++) {
        at = skip(buf, at);
        if (at === undefined) return undefined;
      }
      return at;
    }
    default:
      return eol + 2;
  }
}

/** Parses one RESP3 reply at `pos`: its value and where it ends, or undefined when more bytes are needed. */
export function parse(buf: Buffer, pos: number, bytes: boolean): { value: unknown; end: number } | undefined {
  if (pos >= buf.length) return more(buf.length + 1);
  const type = buf[pos];
  const eol = lineEnd(buf, pos + 1);
  if (eol < 0) return more(buf.length + 1);
  switch (type) {
    case 0x2b: // + simple string
      return { value: buf.toString("utf8", pos + 1, eol), end: eol + 2 };
    case 0x2d: // - simple error
      return { value: new RedisReplyError(buf.toString("utf8", pos + 1, eol)), end: eol + 2 };
    case 0x3a: // : integer
      return { value: parseInt10(buf, pos + 1, eol), end: eol + 2 };
    case 0x5f: // _ null
      return { value: null, end: eol + 2 };
    case 0x2c: // , double
      return { value: Number(buf.toString("latin1", pos + 1, eol).replace("inf", "Infinity")), end: eol + 2 };
    case 0x23: // # boolean
      return { value: buf[pos + 1] === 0x74, end: eol + 2 };
    case 0x28: // ( big number
      return { value: buf.toString("latin1", pos + 1, eol), end: eol + 2 };
    case 0x24: // $ blob string
    case 0x21: // ! blob error
    case 0x3d: { // = verbatim string ("txt:" + text)
      const len = parseInt10(buf, pos + 1, eol);
      if (len < 0) return { value: null, end: eol + 2 };
      let start = eol + 2;
      const end = start + len;
      if (end + 2 > buf.length) return more(end + 2);
      if (type === 0x21) return { value: new RedisReplyError(buf.toString("utf8", start, end)), end: end + 2 };
      if (type === 0x3d) start += 4;
      // Bytes: a view into the reply's own copy (see parseBytes).
      const value = bytes ? buf.subarray(start, end) : buf.toString("utf8", start, end);
      return { value, end: end + 2 };
    }
    case 0x2a: // * array
    case 0x7e: // ~ set
    case 0x3e: { // > push
      const count = parseInt10(buf, pos + 1, eol);
      if (count < 0) return { value: null, end: eol + 2 };
      const items = new Array(count);
      let at = eol + 2;
      for (let i = 0; i < count; i++) {
        const item = parse(buf, at, bytes);
        if (item === undefined) return undefined;
        items[i] = item.value;
        at = item.end;
      }
      return { value: items, end: at };
    }
    case 0x25: // % map: an object with string keys, as node-redis gives it
    case 0x7c: { // | attribute: read and dropped, the value follows
      const count = parseInt10(buf, pos + 1, eol);
      const map: Record<string, unknown> = {};
      let at = eol + 2;
      for (let i = 0; i < count; i++) {
        const k = parse(buf, at, false);
        if (k === undefined) return undefined;
        const v = parse(buf, k.end, bytes);
        if (v === undefined) return undefined;
        map[String(k.value)] = v.value;
        at = v.end;
      }
      if (type === 0x7c) return parse(buf, at, bytes);
      return { value: map, end: at };
    }
    default:
      throw new Error(`Protocol error: unexpected reply type byte ${type}`);
  }
}
