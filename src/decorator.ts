// RQ's rq/decorators.py (`@job('low', connection=…, timeout=5)`): a function that knows its module and queue,
// so `add.delay(3, 4)` enqueues it and `queue.enqueue(add, 3, 4)` works.

import type { ConnectionOption } from "./connection.ts";
import { callerModuleUrl, defaultReference, FUNC_REF, FUNC_SOURCE, type FunctionSource } from "./func_ref.ts";
import type { Job } from "./job.ts";
import { type JobOptions, parseJobOptions } from "./options.ts";
import { type EnqueueCallOptions, Queue } from "./queue.ts";
import type { Serializer } from "./serializer.ts";

/** Options of {@link job}: where `.delay()` enqueues, the job options it uses, and how to find the function. */
export interface JobDecoratorOptions extends Omit<JobOptions, "jobId"> {
  /** Queue name or Queue for `.delay()`. Default `"default"`. */
  queue?: string | Queue;
  /** Connection for `.delay()`'s queue (URL, node-redis client, or nothing for `REDIS_URL`). */
  connection?: ConnectionOption;
  /** RQ's decorator name for `jobTimeout`. */
  timeout?: JobOptions["jobTimeout"];
  serializer?: Serializer;
  /** The module's URL (`import.meta.url`). Default: found from the call stack. */
  module?: string;
  /** The name the module exports the function under. Default: the function's name. */
  name?: string;
}

/** A function wrapped by {@link job}: still callable directly, and enqueueable with its types carried through. */
// deno-lint-ignore no-explicit-any
export type JobFunction<A extends any[], R> = ((...args: A) => Promise<Awaited<R>>) & {
  /** The stored reference, e.g. `"./jobs.ts#add"`. */
  readonly [FUNC_REF]: string;
  /** Enqueues a call on the decorator's queue with its options (RQ's `add.delay(3, 4)`). */
  delay(...args: A): Promise<Job<Awaited<R>>>;
  /** Enqueues with per-call options on the decorator's queue. */
  enqueueCall(options?: EnqueueCallOptions<A>): Promise<Job<Awaited<R>>>;
  /** The queue `.delay()` uses (created on first use). */
  readonly queue: Queue;
  /** Closes the queue's connection if the decorator created it. */
  close(): Promise<void>;
};

// deno-lint-ignore no-explicit-any
type AnyFn = (...args: any[]) => any;

/**
 * Wraps a job function (RQ's `@job` decorator). The module is found from the call stack (or `module`), the
 * export name is the function's name (or `name`), so define it where it is exported.
 *
 * @example
 * ```ts
 * // jobs.ts
 * import { job } from "@rqts/rqts";
 * export const add = job("low", { timeout: 5 })(function add(x: number, y: number) {
 *   return x + y;
 * });
 * // elsewhere
 * const j = await add.delay(3, 4);
 * console.log((await j.latestResult({ timeout: 5 }))?.returnValue); // 7
 * ```
 */
export function job<F extends AnyFn>(fn: F, options?: JobDecoratorOptions): JobFunction<Parameters<F>, ReturnType<F>>;
export function job(
  queue: string | Queue,
  options?: Omit<JobDecoratorOptions, "queue">,
): <F extends AnyFn>(fn: F) => JobFunction<Parameters<F>, ReturnType<F>>;
export function job(first: AnyFn | string | Queue, options: JobDecoratorOptions = {}): unknown {
  if (typeof first === "function") return wrap(first, options, callerModuleUrl());
  const module = callerModuleUrl();
  return (fn: AnyFn) => wrap(fn, { ...options, queue: first }, module);
}

function wrap(fn: AnyFn, options: JobDecoratorOptions, stackModule: string | undefined): unknown {
  if (typeof fn !== "function") {
    throw new TypeError(`job(): expected a function to wrap; received ${typeof fn}.`);
  }
  const { queue, connection, timeout, serializer, module, name, ...rest } = options;
  const jobOptions: JobOptions = {
    ...rest,
    ...(timeout !== undefined && rest.jobTimeout === undefined ? { jobTimeout: timeout } : {}),
  };
  parseJobOptions(jobOptions as Record<string, unknown>); // bad options fail at definition time
  const exportName = name ?? fn.name;
  if (!exportName) {
    throw new TypeError(
      "job(): the function has no name, so a worker could not find its export. Use a named function " +
        "(job(function add() {…})) or pass { name: 'add' } matching the export.",
    );
  }
  const moduleUrl = module ?? stackModule;
  if (!moduleUrl) {
    throw new TypeError(`job(): cannot tell which module defines '${exportName}'; pass { module: import.meta.url }.`);
  }
  // The reference is made on first use (an enqueue), not here: a worker importing the module pays nothing for it.
  const source: FunctionSource = { moduleUrl, exportName };
  let ref: string | undefined;
  let q: Queue | undefined;
  const getQueue = () =>
    q ??= queue instanceof Queue ? queue : new Queue(queue ?? "default", { connection, serializer });
  const wrapper = async function (this: unknown, ...args: unknown[]) {
    return await fn.apply(this, args);
  };
  Object.defineProperties(wrapper, {
    name: { value: exportName },
    [FUNC_SOURCE]: { value: source },
    [FUNC_REF]: { get: () => ref ??= defaultReference(source) },
    queue: { get: getQueue },
    delay: { value: (...args: unknown[]) => getQueue().enqueueCall(wrapper, { ...jobOptions, args }) },
    enqueueCall: {
      value: (opts: EnqueueCallOptions = {}) => getQueue().enqueueCall(wrapper, { ...jobOptions, ...opts }),
    },
    close: { value: async () => await q?.close() },
  });
  return wrapper;
}
