// RQ's Job.perform / Queue.run_sync: resolving a stored function reference and running a job in this process,
// storing its outcome exactly as a worker does.

import { within } from "./deadline.ts";
import { realpathSync } from "node:fs";
import { isAbsolute, relative } from "node:path";
import { fileURLToPath } from "node:url";
import type { Connection, RedisClient } from "./connection.ts";
import { CALLBACK_TIMEOUT } from "./defaults.ts";
import { FunctionReferenceError, SerializationError } from "./errors.ts";
import { parseReference, resolveSpecifier } from "./func_ref.ts";
import { withCurrentJob } from "./current.ts";
import type { Job } from "./job.ts";
import { workerKeys } from "./keys.ts";
import { resultTtl } from "./lua/_args.ts";
import { FINISH_FAILURE, finishFailureArgs } from "./lua/finish_failure.ts";
import { FINISH_SUCCESS, finishSuccessArgs } from "./lua/finish_success.ts";
import { failureFields, successFields } from "./results.ts";
import { getRuntime } from "./runtime.ts";
import { formatMicros, nowMicros, nowSeconds, utcFormat } from "./utils.ts";

// deno-lint-ignore no-explicit-any
type AnyFunction = (...args: any[]) => unknown;

/** `(job, connection, result)`: RQ's success callback, `connection` being the node-redis client. */
export type SuccessCallback<R = unknown> = (job: Job<R>, connection: RedisClient, result: R) => unknown;
/** `(job, connection, error)`: RQ's failure callback; `error` stands for Python's `type, value, traceback`. */
export type FailureCallback<R = unknown> = (job: Job<R>, connection: RedisClient, error: unknown) => unknown;
/** `(job, connection)`: RQ 2.x's stopped callback, run by the worker after a stop-job command ended the job. */
export type StoppedCallback<R = unknown> = (job: Job<R>, connection: RedisClient) => unknown;

/**
 * Imports the function a stored reference names: `"specifier#export"`, with relative paths resolved against
 * `jobRoot` and never leaving it.
 * @throws {FunctionReferenceError} when the reference is not a JavaScript one, escapes the job root, or the
 * module has no such function.
 */
export async function loadFunction(ref: string, jobRoot: string): Promise<AnyFunction> {
  const parsed = parseReference(ref);
  if (!parsed) {
    throw new FunctionReferenceError(
      `'${ref}' is not a JavaScript function reference ("module#export"); it looks like a Python dotted name, ` +
        `which only a Python RQ worker can run.`,
    );
  }
  const key = `${jobRoot}\n${parsed.specifier}`;
  let mod = imported.get(key);
  if (!mod) {
    const url = resolveSpecifier(parsed.specifier, jobRoot);
    if (url.startsWith("file:")) checkRealPath(url, jobRoot, ref);
    try {
      mod = await getRuntime().importModule(url);
    } catch (error) {
      throw new FunctionReferenceError(
        `Cannot import job module '${parsed.specifier}' (resolved to ${url}) for '${ref}': ${
          (error as Error)?.message ?? error
        }`,
      );
    }
    imported.set(key, mod);
  }
  const fn = mod[parsed.exportName];
  if (typeof fn !== "function") {
    throw new FunctionReferenceError(
      `Module '${parsed.specifier}' has no exported function '${parsed.exportName}' (exports: ${
        Object.keys(mod).join(", ") || "none"
      }).`,
    );
  }
  return fn as AnyFunction;
}

/**
 * Job modules imported so far, by job root and specifier. The runtime caches an imported module by its URL, so a
 * second import returns the same module whatever the file system says now; keeping it here skips, for every job a
 * horse runs after the first, resolving the specifier, the symlink check (realpath syscalls) and the import call
 * (together ~100-250 µs a job).
 */
const imported = new Map<string, Record<string, unknown>>();

const realRoots = new Map<string, string>();

/**
 * The lexical check of {@link resolveSpecifier} cannot see symlinks: a module inside the job root that links to a file
 * outside it is refused too. A missing file is left for the import to report.
 */
function checkRealPath(url: string, jobRoot: string, ref: string): void {
  const path = fileURLToPath(url);
  let real: string | undefined;
  for (const candidate of [path, path.replace(/\.([cm]?)ts$/, ".$1js")]) {
    try {
      real = realpathSync(candidate);
      break;
    } catch { /* try the next, or let the import fail */ }
  }
  if (real === undefined) return;
  let root = realRoots.get(jobRoot);
  if (root === undefined) {
    try {
      root = realpathSync(jobRoot);
    } catch {
      root = jobRoot;
    }
    realRoots.set(jobRoot, root);
  }
  const rel = relative(root, real);
  if (rel.startsWith("..") || isAbsolute(rel)) {
    throw new FunctionReferenceError(
      `Job module for '${ref}' is a symlink to ${real}, outside the job root ${root}. Workers import job modules only ` +
        `from inside their job root (--path); copy the module there instead of linking it.`,
    );
  }
}

/** Calls a job function: positional args, then kwargs as one last object argument when there are any. */
export function invoke(fn: AnyFunction, args: unknown[], kwargs: Record<string, unknown>): unknown {
  return Object.keys(kwargs).length ? fn(...args, kwargs) : fn(...args);
}

/** The text stored for a failure (RQ stores the traceback): the stack when there is one. */
export function describeError(error: unknown): string {
  if (error instanceof Error) {
    const stack = error.stack ?? "";
    const head = `${error.name}: ${error.message}`;
    return (stack.includes(error.message) ? stack : `${head}\n${stack}`).trimEnd() + "\n";
  }
  return `Error: ${String(error)}\n`;
}

/**
 * RQ's death penalty for a callback: `JobTimeoutException` once it has run `seconds` (`-1`: no limit). A callback
 * stuck in a synchronous loop never yields to this timer: in a horse, the worker kills it instead (see Horse).
 */
function withTimeout<T>(promise: Promise<T>, seconds: number, what: string): Promise<T> {
  if (seconds < 0) return promise;
  return within(promise, seconds * 1000, (): never => {
    const error = new Error(`${what} exceeded maximum timeout value (${seconds} seconds)`);
    error.name = "JobTimeoutException";
    throw error;
  });
}

/**
 * Imports and calls a callback under its time limit (`timeout`, null: RQ's CALLBACK_TIMEOUT), the import and the
 * connection included, as RQ's (it imports the callback inside its death penalty). `callbackStarted` is told the limit
 * as the clock starts, so the worker's deadline for it never runs ahead of this one.
 */
async function runCallback(
  ref: string,
  timeout: number | null,
  what: string,
  o: {
    jobRoot: string;
    connection: Connection;
    callbackStarted?: CallbackStarted;
    call(cb: AnyFunction, client: RedisClient): unknown;
  },
): Promise<void> {
  const limit = timeout ?? CALLBACK_TIMEOUT;
  await o.callbackStarted?.(limit);
  const run = async () => {
    const cb = await loadFunction(ref, o.jobRoot);
    await o.call(cb, await o.connection.ready());
  };
  await withTimeout(run(), limit, what);
}

/** Where the outcome of a run is written. */
export interface RunContext {
  jobRoot: string;
  /** `rq:worker:<name>` to update counters on, or "" outside a worker. */
  workerKey: string;
  workerName: string;
  defaultResultTtl?: number;
}

/** Outcome of {@link storeSuccess}/{@link storeFailure}: dependents the finish released, `[id, origin]`. */
export type Released = [id: string, origin: string][];

function pairs(flat: string[] | null): Released {
  const out: Released = [];
  for (let i = 0; flat && i < flat.length; i += 2) out.push([flat[i], flat[i + 1]]);
  return out;
}

/** What both finish scripts store of a run that started at `startedMicros` and ends now. */
function runOf(job: Job, ctx: RunContext, startedMicros: number) {
  return {
    id: job.id,
    origin: job.origin,
    startedMicros,
    endedMicros: nowMicros(),
    endedSeconds: nowSeconds(),
    worker: ctx.workerKey ? workerKeys(ctx.workerName) : null,
    lastHeartbeat: job.lastHeartbeat ? utcFormat(job.lastHeartbeat) : "",
  };
}

/**
 * Writes a success atomically (status, result stream, finished registry, TTLs, dependents, worker counters).
 * `fields` are the result entry's ({@link successFields}).
 */
export async function storeSuccess(
  conn: Connection,
  job: Job,
  fields: string[],
  ctx: RunContext,
  startedMicros: number,
): Promise<Released> {
  const ttl = resultTtl(job.resultTtl, ctx.defaultResultTtl);
  const released = await conn.eval<string[]>(
    FINISH_SUCCESS,
    ...finishSuccessArgs({ kind: "success", ...runOf(job, ctx, startedMicros), resultTtl: ttl, fields }),
  );
  job.setStatus(ttl === 0 ? job.status ?? "started" : "finished");
  return pairs(released);
}

/** Writes a failure atomically (status, result stream, failed registry, TTLs, worker counters). */
export async function storeFailure(
  conn: Connection,
  job: Job,
  excString: string,
  ctx: RunContext,
  startedMicros: number,
  status: "failed" | "stopped" = "failed",
): Promise<Released> {
  const released = await conn.eval<string[]>(
    FINISH_FAILURE,
    ...finishFailureArgs({
      kind: "failure",
      ...runOf(job, ctx, startedMicros),
      failureTtl: job.failureTtl,
      status,
      fields: failureFields(excString),
    }),
  );
  job.setStatus(status);
  return pairs(released);
}

/** How running a job's function (and its callbacks) ended. */
export type RunOutcome = { ok: true; value: unknown } | { ok: false; excString: string };

/**
 * Told when a job's function has ended and one of its callbacks starts, with that callback's time limit; the callback
 * starts once what it returns has settled (a horse's message has left the process: a callback stuck in a synchronous
 * loop would keep it from ever being written on Node, whose pipe writes wait for the event loop).
 */
export type CallbackStarted = (timeout: number) => unknown;

/**
 * Runs a job's function, then its success callback (one that throws or runs over its time limit fails the job, as in
 * RQ), or on failure its failure callback. Writes nothing to Redis itself: the caller stores the outcome.
 */
export async function runJobFunction(
  job: Job,
  connection: Connection,
  jobRoot: string,
  callbackStarted?: CallbackStarted,
): Promise<RunOutcome> {
  let value: unknown;
  try {
    const fn = await loadFunction(job.funcName, jobRoot);
    value = await withCurrentJob(job, async () => await invoke(fn, job.args, job.kwargs));
    if (job.successCallbackName) {
      await runCallback(job.successCallbackName, job.successCallbackTimeout, "Success callback", {
        jobRoot,
        connection,
        callbackStarted,
        call: (cb, client) => cb(job, client, value),
      });
    }
    // Refuse a result JSON cannot carry before anything is written, so the job fails instead.
    successFields(value, job.serializer);
    return { ok: true, value };
  } catch (error) {
    let excString = error instanceof SerializationError
      ? describeError(new SerializationError("result", error.valuePath, error.reason))
      : describeError(error);
    // A job with retries left runs again: its failure callback waits for the last try (RQ 1.13 calls it each try).
    if (job.failureCallbackName && !(job.retriesLeft && job.retriesLeft > 0)) {
      try {
        await runCallback(job.failureCallbackName, job.failureCallbackTimeout, "Failure callback", {
          jobRoot,
          connection,
          callbackStarted,
          call: (cb, client) => cb(job, client, error),
        });
      } catch (cbError) {
        excString += `\nDuring the failure callback, another error occurred:\n${describeError(cbError)}`;
      }
    }
    return { ok: false, excString };
  }
}

/**
 * RQ 2.x's `execute_stopped_callback`: runs a stopped job's `onStopped` callback, `(job, connection)`, in the worker
 * (its horse is gone), under its time limit. Resolves to an error text when it failed or ran over (RQ's worker then
 * quits and leaves the job in the started registry; rqts logs it and stores the job stopped all the same).
 */
export async function runStoppedCallback(
  job: Job,
  connection: Connection,
  jobRoot: string,
): Promise<string | undefined> {
  if (!job.stoppedCallbackName) return undefined;
  try {
    await runCallback(job.stoppedCallbackName, job.stoppedCallbackTimeout, "Stopped callback", {
      jobRoot,
      connection,
      call: (cb, client) => cb(job, client),
    });
    return undefined;
  } catch (error) {
    return describeError(error);
  }
}

/**
 * Runs a job in this process (a queue with `isAsync: false`): marks it started, runs it with its callbacks
 * ({@link runJobFunction}) and stores the outcome as a worker would.
 * @returns the dependents the run released.
 */
export async function performInProcess(conn: Connection, job: Job, ctx: RunContext): Promise<Released> {
  const startedMicros = nowMicros();
  job.startedAt = new Date(Math.floor(startedMicros / 1000));
  job.setStatus("started");
  await conn.transaction([
    ["HSET", job.key, "status", "started", "started_at", formatMicros(startedMicros), "worker_name", ctx.workerName],
    ["PERSIST", job.key],
  ]);
  const outcome = await runJobFunction(job, conn, ctx.jobRoot);
  return outcome.ok
    ? await storeSuccess(conn, job, successFields(outcome.value, job.serializer), ctx, startedMicros)
    : await storeFailure(conn, job, outcome.excString, ctx, startedMicros);
}
