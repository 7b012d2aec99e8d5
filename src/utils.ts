// RQ's rq/utils.py: timestamps in RQ's format, registry time, duration parsing and Python-style call strings.

import { DESCRIPTION_ARG_MAX_LENGTH } from "./defaults.ts";

/** Microseconds since the epoch, from the high-resolution clock (RQ's timestamps carry 6 fractional digits). */
export function nowMicros(): number {
  return Math.floor((performance.timeOrigin + performance.now()) * 1000);
}

/** Formats epoch microseconds as RQ's `%Y-%m-%dT%H:%M:%S.%fZ`. */
export function formatMicros(micros: number): string {
  const second = Math.floor(micros / 1_000_000);
  if (second !== lastSecond) {
    lastSecond = second;
    lastPrefix = new Date(second * 1000).toISOString().slice(0, 19) + "."; // 2026-11-27T18:46:20.
  }
  // Joined, not added: `+` makes a tree of three strings (~90 bytes) that a job keeps; join makes one flat string.
  return [lastPrefix, String(micros - second * 1_000_000).padStart(6, "0"), "Z"].join("");
}
// The date and time up to the second change once a second: formatted once (workers format several per job).
let lastSecond = NaN;
let lastPrefix = "";

/** RQ's `utcformat(utcnow())`. */
export function utcNow(): string {
  return formatMicros(nowMicros());
}

/** Formats a Date as RQ's timestamp (microseconds are zero beyond the millisecond). */
export function utcFormat(date: Date): string {
  return formatMicros(date.getTime() * 1000);
}

const TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?Z$/;

/**
 * Parses RQ's timestamp (`…:20.084526Z`, 1–6 fractional digits, or none). Empty means unset.
 * @returns the Date, `null` when empty, `undefined` when the text is not a timestamp.
 */
export function parseUtc(text: string | undefined): Date | null | undefined {
  if (text === undefined || text === "") return null;
  // Fast path: RQ's full form (…:20.084526Z) in the same second as the last one parsed (a job's stamps usually are).
  if (text.length === 27 && lastParsedSecond !== "" && text.startsWith(lastParsedSecond) && text[26] === "Z") {
    let ms = 0;
    for (let i = 20; i < 26; i++) {
      const d = text.charCodeAt(i) - 48;
      if (d < 0 || d > 9) return undefined;
      if (i < 23) ms = ms * 10 + d;
    }
    return new Date(lastParsedBase + ms);
  }
  const m = TIMESTAMP.exec(text);
  if (!m) return undefined;
  const base = Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]);
  lastParsedSecond = text.slice(0, 20); // up to and with the "."
  lastParsedBase = base;
  if (text[19] !== ".") lastParsedSecond = "";
  const ms = Number((m[7] ?? "0").padEnd(6, "0").slice(0, 3));
  return new Date(base + ms);
}
let lastParsedSecond = "";
let lastParsedBase = 0;

/** Registry time: whole Unix seconds (`calendar.timegm(utcnow())`). */
/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise<void>((resolve) => setTimeout(resolve, ms));
}

export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

const UNIT_SECONDS: Record<string, number> = { d: 86400, h: 3600, m: 60, s: 1 };

/**
 * RQ's `parse_timeout`: an integer, an integer string, or digits plus one unit `d`/`h`/`m`/`s`.
 * @returns seconds, or `undefined` when the value has none of those forms.
 */
export function parseDuration(value: number | string): number | undefined {
  if (typeof value === "number") return Number.isInteger(value) ? value : undefined;
  const text = value.trim();
  if (/^[+-]?\d+$/.test(text)) return Number(text);
  const m = /^(\d+)([dhms])$/i.exec(text);
  return m ? Number(m[1]) * UNIT_SECONDS[m[2].toLowerCase()] : undefined;
}

/** Python's `repr()` of a JSON-like value, so descriptions read as RQ writes them. */
export function pythonRepr(value: unknown): string {
  if (value === null || value === undefined) return "None";
  if (value === true) return "True";
  if (value === false) return "False";
  if (typeof value === "string") {
    const quote = value.includes("'") && !value.includes('"') ? '"' : "'";
    const body = value.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/\r/g, "\\r").replace(/\t/g, "\\t");
    return quote + (quote === "'" ? body.replace(/'/g, "\\'") : body) + quote;
  }
  if (typeof value === "number") return String(value);
  if (Array.isArray(value)) return "[" + value.map(pythonRepr).join(", ") + "]";
  if (typeof value === "object") {
    if (value instanceof Date) return pythonRepr(value.toJSON());
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
    return "{" + entries.map(([k, v]) => `${pythonRepr(k)}: ${pythonRepr(v)}`).join(", ") + "}";
  }
  return String(value);
}

function truncate(text: string, max: number): string {
  return text.length > max ? text.slice(0, max) + "..." : text;
}

/** Whether an object has no enumerable properties (no array of its keys made). */
export function isEmpty(object: Record<string, unknown>): boolean {
  for (const _ in object) return false;
  return true;
}

let lastBareName = "", lastBare = "()";

/** RQ's `get_call_string`: `func(arg, …, k=v)` with kwargs sorted and each argument cut at 75 chars. */
export function callString(funcName: string, args: readonly unknown[], kwargs: Record<string, unknown>): string {
  if (!args.length && isEmpty(kwargs)) {
    // One string for a batch of calls without arguments to one function.
    if (funcName !== lastBareName) lastBare = `${lastBareName = funcName}()`;
    return lastBare;
  }
  const max = DESCRIPTION_ARG_MAX_LENGTH;
  const parts = args.map((a) => truncate(pythonRepr(a), max));
  const kw = Object.entries(kwargs).map(([k, v]) => `${k}=${truncate(pythonRepr(v), max)}`);
  kw.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return `${funcName}(${[...parts, ...kw].join(", ")})`;
}
