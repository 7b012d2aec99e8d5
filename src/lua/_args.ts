// No RQ counterpart: the argument parts several scripts in src/lua/ share (as BullMQ's scripts.ts builds them), so
// the finish arguments, the heartbeat deadline and the result-TTL fallback are each written once.

import type { Command, RedisArg } from "../connection.ts";
import { DEFAULT_RESULT_TTL } from "../defaults.ts";
import {
  dependenciesKey,
  dependentsKey,
  jobKey,
  QUEUES_KEY,
  registryKey,
  resultsKey,
  type WorkerKeys,
} from "../keys.ts";
import { formatMicros } from "../utils.ts";

/** A script call's KEYS and ARGV, as `Connection.eval` takes them: `connection.eval(SCRIPT, ...xArgs(input))`. */
export type ScriptArgs = [keys: string[], args: RedisArg[]];

/** `EVALSHA sha numkeys ...keys ...args`, for a script sent as a raw command (on a blocking connection). */
export function evalshaCommand(sha: string, [keys, args]: ScriptArgs): Command {
  const command: Command = ["EVALSHA", sha, String(keys.length)];
  for (const k of keys) command.push(k);
  for (const a of args) command.push(a);
  return command;
}

/** Most seconds a started job's deadline in its started registry runs ahead of its heartbeats. */
export const HEARTBEAT_CAP = 30;
/** Seconds of grace on top, so one missed heartbeat does not make a job look abandoned. */
export const HEARTBEAT_GRACE = 60;

/**
 * How far ahead a running job's score in the started registry is set, in seconds: what is left of its timeout (at
 * most {@link HEARTBEAT_CAP}; the cap when it has none), plus {@link HEARTBEAT_GRACE}. The dequeue scripts set it
 * with `elapsed` 0 (mark_started in _dequeue.ts, the same formula in Lua); the worker's heartbeat renews it.
 */
export function heartbeatSeconds(timeout: number, elapsed: number): number {
  return (timeout > 0 ? Math.min(Math.max(timeout - elapsed, 0), HEARTBEAT_CAP) : HEARTBEAT_CAP) + HEARTBEAT_GRACE;
}

/** A successful job's result TTL: its own, else the worker's default, else RQ's (500 s). */
export function resultTtl(own: number | null | undefined, fallback?: number): number {
  return own ?? fallback ?? DEFAULT_RESULT_TTL;
}

/** What both finish scripts store of a job's run. */
interface Run {
  id: string;
  /** The job's origin: its registries. */
  origin: string;
  /** When the run started and ended, epoch µs; and its end in whole seconds (`nowSeconds()`, the registries' clock). */
  startedMicros: number;
  endedMicros: number;
  endedSeconds: number;
  /** The worker that ran it, or null (a queue with `isAsync: false`). */
  worker: WorkerKeys | null;
  /** The job's `last_heartbeat` as RQ writes it ('' = none). */
  lastHeartbeat: string;
  /** The result entry's XADD field/value pairs. */
  fields: RedisArg[];
}

/** A successful run, as FINISH_SUCCESS stores it. */
export interface Success extends Run {
  kind: "success";
  /** Seconds the result is kept ({@link resultTtl}): 0 none, -1 for ever. */
  resultTtl: number;
}

/** A failed (or stopped) run, as FINISH_FAILURE stores it. */
export interface Failure extends Run {
  kind: "failure";
  /** The job's own failure_ttl, or null for RQ's default (a year). */
  failureTtl: number | null;
  status: "failed" | "stopped";
}

/** A job's outcome, for the finish script of its kind. */
export type Finish = Success | Failure;

/** Pushes a finish's KEYS (those of finish_success.ts' header): the worker's two only with `withWorker`. */
export function pushFinishKeys(keys: string[], f: Finish, withWorker: boolean): void {
  keys.push(
    jobKey(f.id),
    resultsKey(f.id),
    dependentsKey(f.id),
    dependenciesKey(f.id),
    registryKey("started", f.origin),
    registryKey(f.kind === "success" ? "finished" : "failed", f.origin),
    QUEUES_KEY,
  );
  if (withWorker && f.worker) keys.push(f.worker.key, f.worker.running);
}

/** Pushes a finish's ARGV (those of finish_success.ts' and finish_failure.ts' headers). */
export function pushFinishArgs(args: RedisArg[], f: Finish): void {
  args.push(
    f.id,
    String(f.endedSeconds),
    formatMicros(f.endedMicros),
    f.kind === "success" ? String(f.resultTtl) : f.failureTtl === null ? "" : String(f.failureTtl),
    formatMicros(f.startedMicros),
    String((f.endedMicros - f.startedMicros) / 1e6),
    f.worker?.name ?? "",
    f.lastHeartbeat,
  );
  if (f.kind === "failure") args.push(f.status);
  for (const field of f.fields) args.push(field);
}
