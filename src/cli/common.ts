// RQ's rq/cli/helpers.py, as far as rqts needs it: what every command of src/cli/ shares (the shape of a flag and
// the flags every command takes, the parsed command line, usage errors, the readers of integer and log-level flags).

import type { LogLevel } from "../worker.ts";

/** How a flag is parsed (node:util's parseArgs option). */
export type Flag = { type: "string" | "boolean"; short?: string; multiple?: boolean };

/** The flags every command takes. */
export const COMMON: Record<string, Flag> = {
  url: { type: "string", short: "u" },
  help: { type: "boolean", short: "h" },
};

/** A command line parsed for one command. */
export type Parsed = { command: string; positional: string[]; flags: Map<string, string | true | string[]> };

/** A command line that cannot be run as given: the CLI prints its message and exits 2. */
export class UsageError extends TypeError {
  override name = "UsageError";
}

/**
 * Reads flag `name` as an integer (undefined when absent).
 * @throws {UsageError} when it is not one.
 */
export function intFlag(p: Parsed, name: string): number | undefined {
  const v = p.flags.get(name);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (typeof v !== "string" || !/^-?\d+$/.test(v) || !Number.isSafeInteger(n)) {
    throw new UsageError(`--${name}: received ${String(v)}; expected an integer.`);
  }
  return n;
}

/** Prints a line of a command's output. */
export const out = (line = "") => console.log(line);

/** The log level the flags ask for (--log-level, --logging_level, --verbose, --quiet; default info). */
export function logLevel(p: Parsed): LogLevel {
  if (p.flags.has("verbose") && p.flags.has("quiet")) throw new UsageError("--verbose and --quiet: pick one.");
  if (p.flags.has("log-level") && p.flags.has("logging_level")) {
    throw new UsageError("--log-level and --logging_level: pick one.");
  }
  const level = ((p.flags.get("log-level") ?? p.flags.get("logging_level")) as string | undefined)?.toLowerCase() ??
    (p.flags.has("verbose") ? "debug" : p.flags.has("quiet") ? "warning" : "info");
  if (!["debug", "info", "warning", "error"].includes(level)) {
    throw new UsageError(`--log-level: received ${level}; expected debug, info, warning or error.`);
  }
  return level as LogLevel;
}
