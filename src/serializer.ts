// RQ's rq/serializers.py (JSONSerializer): bytes that Python's json.dumps would write, and a tolerant reader.

import { SerializationError, type ValuePath } from "./errors.ts";

/** Turns values into bytes and back, as RQ's `serializer` option does. */
export interface Serializer {
  /** @throws {SerializationError} when the value cannot be represented. */
  dumps(value: unknown): Uint8Array;
  loads(bytes: Uint8Array): unknown;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

// Python's json.dumps default is ensure_ascii=True: everything outside ' '..'~' is escaped.
const NON_ASCII = /[\u007f-\uffff]/g;
const escapeNonAscii = (ch: string) => "\\u" + ch.charCodeAt(0).toString(16).padStart(4, "0");

// The last string quoted and its JSON: a batch of jobs quotes the same function name for each.
let lastQuoted = "", lastJson = '""';

function quote(s: string): string {
  if (s === lastQuoted) return lastJson;
  let json = JSON.stringify(s);
  for (let i = 0; i < json.length; i++) {
    if (json.charCodeAt(i) > 0x7e) {
      json = json.replace(NON_ASCII, escapeNonAscii);
      break;
    }
  }
  lastQuoted = s;
  return lastJson = json;
}

function isPlainObject(value: object): boolean {
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * Writes `value` as Python's `json.dumps` does (`", "` and `": "` separators, ASCII only), refusing what
 * JSON cannot carry back faithfully instead of silently changing it as `JSON.stringify` would.
 * Objects with `toJSON` (such as `Date`) are written as what `toJSON` returns.
 *
 * @throws {SerializationError} with the path of the first value that cannot be written.
 */
export function toPythonJson(value: unknown): string {
  return writeJson(value, false, { path: [], ancestors: [] })!;
}

/** Where {@link writeJson} is: the path to the value (for errors) and the objects it is inside (for cycles). */
interface JsonWalk {
  path: ValuePath;
  ancestors: object[];
}

function writeJson(v: unknown, inArray: boolean, walk: JsonWalk): string | undefined {
  const path = walk.path;
  switch (typeof v) {
    case "string":
      return quote(v);
    case "number":
      if (!Number.isFinite(v)) throw new SerializationError("value", path.slice(), `${v} is not a finite number`);
      return String(v);
    case "boolean":
      return v ? "true" : "false";
    case "undefined":
      if (inArray || path.length === 0) {
        throw new SerializationError("value", path.slice(), "undefined has no JSON form (use null)");
      }
      return undefined; // dropped from objects, as JSON.stringify does
    case "bigint":
      throw new SerializationError("value", path.slice(), `a BigInt (${v}n) has no JSON form`);
    case "function":
      throw new SerializationError(
        "value",
        path.slice(),
        `a function (${(v as { name?: string }).name || "anonymous"})`,
      );
    case "symbol":
      throw new SerializationError("value", path.slice(), `a symbol (${String(v)})`);
  }
  if (v === null) return "null";
  const obj = v as Record<string, unknown>;
  if (typeof obj.toJSON === "function") {
    return writeJson((obj.toJSON as () => unknown)(), inArray, walk);
  }
  // The objects this one is inside: a short list (a job's arguments nest a few levels), cheaper than a Set per call.
  const ancestors = walk.ancestors;
  if (ancestors.includes(obj)) throw new SerializationError("value", path.slice(), "a circular reference");
  ancestors.push(obj);
  try {
    if (Array.isArray(obj)) {
      let out = "[";
      for (let i = 0; i < obj.length; i++) {
        path.push(i);
        out += (i ? ", " : "") + writeJson(obj[i], true, walk)!;
        path.pop();
      }
      return out + "]";
    }
    if (!isPlainObject(obj)) {
      const kind = (obj as object).constructor?.name ?? "object";
      throw new SerializationError(
        "value",
        path.slice(),
        `a ${kind} instance (only plain objects and arrays are kept)`,
      );
    }
    let out = "{";
    let first = true;
    for (const key of Object.keys(obj)) {
      path.push(key);
      const item = writeJson(obj[key], false, walk);
      path.pop();
      if (item === undefined) continue;
      out += (first ? "" : ", ") + quote(key) + ": " + item;
      first = false;
    }
    return out + "}";
  } finally {
    ancestors.pop();
  }
}

const NAN = "\u0000rqts:NaN", INF = "\u0000rqts:Infinity", NINF = "\u0000rqts:-Infinity";

/** JSON.parse that also reads Python's `NaN`, `Infinity` and `-Infinity` tokens. */
export function parsePythonJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    if (!/NaN|Infinity/.test(text)) throw error;
  }
  // Replace the bare tokens outside strings with sentinel strings, then map them back.
  const replaced = text.replace(/"(?:[^"\\]|\\.)*"|-?Infinity|NaN/g, (m) => {
    if (m.startsWith('"')) return m;
    return JSON.stringify(m === "NaN" ? NAN : m === "Infinity" ? INF : NINF);
  });
  return JSON.parse(replaced, (_k, v) => v === NAN ? NaN : v === INF ? Infinity : v === NINF ? -Infinity : v);
}

/** RQ's `JSONSerializer`: UTF-8 JSON as Python writes it. The default serializer. */
export const JSONSerializer: Serializer = {
  dumps(value: unknown): Uint8Array {
    return encoder.encode(toPythonJson(value));
  },
  loads(bytes: Uint8Array): unknown {
    return parsePythonJson(decoder.decode(bytes));
  },
};
