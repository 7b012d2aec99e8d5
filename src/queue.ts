// RQ's rq/queue.py: named Redis lists of job ids, created on first enqueue.

import { Connection, type ConnectionOption, Pipeline, type PipelineLike, wireArgs } from "./connection.ts";
import { DEFAULT_JOB_TIMEOUT, DEFAULT_QUEUE_NAME } from "./defaults.ts";
import { DuplicateJobError } from "./errors.ts";
import { funcNameOf, type FunctionReference, type ReferenceContext } from "./func_ref.ts";
import { fetchJobs, Job } from "./job.ts";
import {
  dependenciesKey,
  dependentsKey,
  QUEUE_PREFIX,
  queueKey,
  QUEUES_KEY,
  registryKey,
  schedulerWakeKey,
} from "./keys.ts";
import { EMPTY, emptyArgs } from "./lua/empty.ts";
import { ENQUEUE, enqueueArgs } from "./lua/enqueue.ts";
import { duplicateIds, ENQUEUE_MANY, enqueueManyArgs } from "./lua/enqueue_many.ts";
import { ENQUEUE_WITH_DEPENDENCIES, enqueueWithDependenciesArgs } from "./lua/enqueue_with_dependencies.ts";
import { dueScore, SCHEDULE, scheduleArgs } from "./lua/schedule.ts";
import { type JobOptions, type ParsedJobOptions, parseDurationOption, parseJobOptions } from "./options.ts";
import { performInProcess } from "./perform.ts";
import {
  CanceledJobRegistry,
  DeferredJobRegistry,
  FailedJobRegistry,
  FinishedJobRegistry,
  ScheduledJobRegistry,
  StartedJobRegistry,
} from "./registry.ts";
import { getRuntime } from "./runtime.ts";
import { JSONSerializer, type Serializer } from "./serializer.ts";
import { callString, nowSeconds, utcNow } from "./utils.ts";
import type { Duration } from "./options.ts";

/** Options of `new Queue()`. */
export interface QueueOptions {
  /** Redis URL, node-redis client (you keep ownership), or nothing (`REDIS_URL`, else redis://127.0.0.1:6379). */
  connection?: ConnectionOption;
  /** `false` runs each job in this process at enqueue time (for tests). Default `true`. */
  isAsync?: boolean;
  /** Timeout for jobs that set none, in seconds or `"3m"` form. Default 180. */
  defaultTimeout?: Duration;
  /** Default: RQ's JSONSerializer. */
  serializer?: Serializer;
  /**
   * The folder workers run in (their working directory or `--path`): references to job modules are stored as paths
   * from it, and a reference naming no file under it is refused at enqueue. Default: the job module's project root,
   * the nearest folder above it holding deno.json, deno.jsonc or package.json (for a string reference, above the
   * module that enqueues), else the working directory.
   */
  jobRoot?: string;
  /**
   * `false` stores string references exactly as given, unchecked: for a producer that does not have the job modules
   * (its workers run elsewhere). Default `true`.
   */
  checkReferences?: boolean;
}

/** A job function that knows its module (what `job()` returns), with its argument and result types. */
// deno-lint-ignore no-explicit-any
export type TypedJobFunction<A extends any[], R> = ((...args: A) => R) & { readonly __rqtsTyped?: true };

/** `enqueueCall`/`prepareData` input: the job's arguments plus job options. */
export interface EnqueueCallOptions<A extends unknown[] = unknown[]> extends JobOptions {
  /** Positional arguments for the job function. */
  args?: A;
  /** Keyword arguments (Python's `**kwargs`); a JS job function receives them as one last object argument. */
  kwargs?: Record<string, unknown>;
}

/** One job of `enqueueMany()`, made by {@link Queue.prepareData}. */
export interface EnqueueData {
  readonly funcName: string;
  readonly args: unknown[];
  readonly kwargs: Record<string, unknown>;
  readonly options: Omit<JobOptions, "dependsOn">;
}

const ENQUEUE_CALL_KEYS = ["args", "kwargs"] as const;

// What each prepareData() item was given as, so enqueueMany stores it for its own queue's jobRoot.
const preparedFunctions = new WeakMap<EnqueueData, FunctionReference>();

// For an isAsync: false queue: the root each job's reference is relative to, to run it from there.
const syncRoots = new WeakMap<Job, string>();

/** A function reference as stored, and the root it was made from (see ReferenceContext.usedRoot). */
interface StoredName {
  funcName: string;
  root: string | undefined;
}

// Most job ids enqueueMany puts in one RPUSH/LPUSH.
const PUSH_BATCH = 1000;

/**
 * A new job id (a UUID, as RQ's). Node builds `randomUUID()`'s string from 20 pieces, a tree of ~500 bytes that a job
 * would keep (and the garbage collector copy) until it is first read: `toLowerCase` gives it flat (~60 bytes; a UUID
 * is lowercase already). Deno's and Bun's are flat anyway.
 */
function newJobId(): string {
  return crypto.randomUUID().toLowerCase();
}

function checkArgs(args: unknown, kwargs: unknown): void {
  if (args !== undefined && !Array.isArray(args)) {
    throw new TypeError(`args: received ${typeof args}; expected an array of positional arguments.`);
  }
  if (kwargs !== undefined && (kwargs === null || typeof kwargs !== "object" || Array.isArray(kwargs))) {
    throw new TypeError(`kwargs: received ${Array.isArray(kwargs) ? "an array" : String(kwargs)}; expected an object.`);
  }
}

/**
 * A queue: a Redis list of job ids that workers pop in order. It exists once a job is enqueued on it.
 *
 * @example Enqueue and wait
 * ```ts
 * import { Queue } from "@rqts/rqts";
 * await using queue = new Queue("low", { connection: "redis://127.0.0.1:6379" });
 * const job = await queue.enqueue("./jobs.ts#countWords", "https://nvie.com");
 * console.log((await job.latestResult({ timeout: 30 }))?.returnValue);
 * ```
 */
export class Queue {
  readonly name: string;
  readonly key: string;
  readonly connection: Connection;
  readonly serializer: Serializer;
  readonly isAsync: boolean;
  readonly defaultTimeout: number;
  readonly jobRoot: string | undefined;
  readonly checkReferences: boolean;

  /**
   * @param name Queue name. Default `"default"`.
   * @throws {TypeError} for an empty name or a bad option.
   */
  constructor(name: string = DEFAULT_QUEUE_NAME, options: QueueOptions = {}) {
    if (typeof name !== "string" || name === "") {
      throw new TypeError(`Queue name: received ${JSON.stringify(name)}; expected a non-empty string such as "low".`);
    }
    const known = ["connection", "isAsync", "defaultTimeout", "serializer", "jobRoot", "checkReferences"];
    for (const k of Object.keys(options)) {
      if (!known.includes(k)) throw new TypeError(`Unknown Queue option '${k}'. Allowed: ${known.join(", ")}.`);
    }
    this.name = name;
    this.key = queueKey(name);
    this.connection = Connection.resolve(options.connection);
    this.serializer = options.serializer ?? JSONSerializer;
    this.isAsync = options.isAsync ?? true;
    this.defaultTimeout = options.defaultTimeout === undefined
      ? DEFAULT_JOB_TIMEOUT
      : parseDurationOption("defaultTimeout", options.defaultTimeout, { min: -1, zero: false });
    if (options.jobRoot !== undefined && (typeof options.jobRoot !== "string" || options.jobRoot === "")) {
      throw new TypeError(
        `jobRoot: received ${String(options.jobRoot)}; expected the path of the folder workers run in.`,
      );
    }
    if (options.checkReferences !== undefined && typeof options.checkReferences !== "boolean") {
      throw new TypeError(`checkReferences: received ${String(options.checkReferences)}; expected true or false.`);
    }
    this.jobRoot = options.jobRoot;
    this.checkReferences = options.checkReferences ?? true;
  }

  /** Every queue Redis knows (`rq:queues`), sharing one connection. */
  static async all(options: Omit<QueueOptions, "isAsync"> = {}): Promise<Queue[]> {
    const connection = Connection.resolve(options.connection);
    const keys = await connection.call<string[]>(["SMEMBERS", QUEUES_KEY]);
    return keys
      .filter((k) => k.startsWith(QUEUE_PREFIX))
      .map((k) => k.slice(QUEUE_PREFIX.length))
      .sort()
      .map((name) => new Queue(name, { ...options, connection }));
  }

  /** Enqueues `fn(...args)` with the queue's defaults; use {@link enqueueCall} to pass job options. */
  enqueue<A extends unknown[], R>(fn: (...args: A) => R, ...args: A): Promise<Job<Awaited<R>>>;
  enqueue<R = unknown>(fn: string, ...args: unknown[]): Promise<Job<R>>;
  async enqueue(fn: FunctionReference, ...args: unknown[]): Promise<Job> {
    return await this.enqueueCall(fn as string, { args });
  }

  /**
   * Enqueues with job options; `args`/`kwargs` carry the job's own arguments, so names such as `ttl` or
   * `description` can go to the function (as in RQ's seed example).
   * @throws {TypeError|RangeError} for a bad option (before anything is written); {SerializationError} for an
   * argument JSON cannot carry; {FunctionReferenceError} for a plain function.
   */
  enqueueCall<A extends unknown[], R>(fn: (...args: A) => R, options?: EnqueueCallOptions<A>): Promise<Job<Awaited<R>>>;
  enqueueCall<R = unknown>(fn: string, options?: EnqueueCallOptions): Promise<Job<R>>;
  async enqueueCall(fn: FunctionReference, options: EnqueueCallOptions = {}): Promise<Job> {
    const { args = [], kwargs = {}, ...jobOptions } = options;
    checkArgs(args, kwargs);
    const refs = this.#references();
    const [job, parsed] = this.#createJob(
      fn,
      args,
      kwargs,
      jobOptions as Record<string, unknown>,
      refs,
      ENQUEUE_CALL_KEYS,
    );
    const atFront = ((jobOptions as JobOptions).atFront ?? false) || job.enqueueAtFront === true;
    if (parsed.dueAt !== undefined) {
      if ((jobOptions as JobOptions).unique === true) {
        throw new TypeError(
          "unique: not supported with a due time (enqueueAt/enqueueIn); enqueue it when due instead.",
        );
      }
      // RQ's schedule_job: the job waits in the scheduled registry; a scheduler queues it when due (and then checks
      // its dependencies).
      await this.connection.eval(
        SCHEDULE,
        ...scheduleArgs({ id: job.id, queue: this.name, dueAt: parsed.dueAt, ttl: job.ttl, mapping: job.mapping() }),
      );
      return job;
    }
    if (job.dependencyIds.length) {
      const now = utcNow();
      const queued = await this.connection.eval<number>(
        ENQUEUE_WITH_DEPENDENCIES,
        ...enqueueWithDependenciesArgs({
          id: job.id,
          origin: this.name,
          nowSeconds: nowSeconds(),
          nowTs: now,
          atFront,
          ttl: job.ttl,
          dependencyIds: job.dependencyIds,
          mapping: job.mapping(),
        }),
      );
      if (queued) {
        job.setStatus("queued");
        job.stamp("enqueued_at", now);
      }
    } else {
      // RQ's enqueue transaction (SADD, HSET, [EXPIRE], RPUSH) as one script: one command instead of a five-command
      // MULTI/EXEC, which is most of a client's per-enqueue cost.
      const push = this.isAsync ? (atFront ? "LPUSH" : "RPUSH") : "";
      const unique = (jobOptions as JobOptions).unique === true;
      const written = await this.connection.eval<number>(
        ENQUEUE,
        ...enqueueArgs({ id: job.id, queue: this.name, push, ttl: job.ttl, mapping: job.mapping(), unique }),
      );
      if (!written) throw new DuplicateJobError([job.id]);
    }
    if (!this.isAsync && job.status === "queued") await this.#runSync(job);
    return job;
  }

  /**
   * RQ's `enqueue_at`: enqueues `fn(...args)` to run at `date` (status `scheduled`, in the queue's
   * {@link ScheduledJobRegistry}); a worker started with `withScheduler` queues it when it is due. Job options go
   * through {@link enqueueCall}'s `enqueueAt`.
   * @throws {TypeError} for an invalid Date.
   */
  enqueueAt<A extends unknown[], R>(date: Date, fn: (...args: A) => R, ...args: A): Promise<Job<Awaited<R>>>;
  enqueueAt<R = unknown>(date: Date, fn: string, ...args: unknown[]): Promise<Job<R>>;
  async enqueueAt(date: Date, fn: FunctionReference, ...args: unknown[]): Promise<Job> {
    return await this.enqueueCall(fn as string, { args, enqueueAt: date });
  }

  /**
   * RQ's `enqueue_in`: enqueues `fn(...args)` to run after `delay` (seconds, fractions allowed, or `"5m"` form).
   * @throws {TypeError|RangeError} for a delay that is no duration, or negative.
   */
  enqueueIn<A extends unknown[], R>(delay: Duration, fn: (...args: A) => R, ...args: A): Promise<Job<Awaited<R>>>;
  enqueueIn<R = unknown>(delay: Duration, fn: string, ...args: unknown[]): Promise<Job<R>>;
  async enqueueIn(delay: Duration, fn: FunctionReference, ...args: unknown[]): Promise<Job> {
    return await this.enqueueCall(fn as string, { args, enqueueIn: delay });
  }

  /** RQ's `Queue.prepare_data`: one job for {@link enqueueMany}. `dependsOn` is not supported, as in RQ. */
  static prepareData<A extends unknown[], R>(fn: (...args: A) => R, options?: EnqueueCallOptions<A>): EnqueueData;
  static prepareData(fn: string, options?: EnqueueCallOptions): EnqueueData;
  static prepareData(fn: FunctionReference, options: EnqueueCallOptions = {}): EnqueueData {
    const { args = [], kwargs = {}, ...jobOptions } = options;
    checkArgs(args, kwargs);
    if ("dependsOn" in jobOptions) {
      throw new TypeError(
        "dependsOn: not supported by Queue.prepareData/enqueueMany (as in RQ); enqueue dependent jobs with " +
          "enqueueCall(fn, { dependsOn }) instead.",
      );
    }
    // Bad options are refused here (a delay counts from now, not from enqueueMany); references are checked by
    // enqueueMany, with its queue's jobRoot.
    const parsed = parseJobOptions(jobOptions as Record<string, unknown>, [], { check: false });
    const { enqueueIn: _, ...rest } = jobOptions as JobOptions;
    const stored = parsed.dueAt === undefined ? rest : { ...rest, enqueueAt: new Date(parsed.dueAt) };
    const data = { funcName: funcNameOf(fn, "func", { check: false }), args, kwargs, options: stored };
    // A string is stored as given here: enqueueMany checks data.funcName itself (no weak entry per job to collect).
    if (fn !== data.funcName) preparedFunctions.set(data, fn);
    return data;
  }

  /**
   * Enqueues many jobs in one transaction (one round trip). With `pipeline` (node-redis `client.multi()` or
   * {@link Queue.pipeline}), the commands are only added to it and the caller executes it.
   */
  async enqueueMany(jobs: readonly EnqueueData[], options: { pipeline?: PipelineLike } = {}): Promise<Job[]> {
    const refs = this.#references();
    // Most batches name one function many times: its reference is resolved and checked once per call.
    const names = new Map<FunctionReference, StoredName>();
    // The jobs, and the due times of those that have one: a job's parsed options die young (not kept for the batch).
    const built: Job[] = new Array(jobs.length);
    const due: (number | undefined)[] = [];
    for (let i = 0; i < jobs.length; i++) {
      const d = jobs[i];
      if (!d || typeof d.funcName !== "string") {
        throw new TypeError(`enqueueMany: item ${i} is not made by Queue.prepareData().`);
      }
      const fn = preparedFunctions.get(d) ?? d.funcName;
      const [job, o] = this.#createJob(fn, d.args, d.kwargs, d.options as Record<string, unknown>, refs, [], names);
      built[i] = job;
      if (o.dueAt !== undefined) due[i] = o.dueAt;
    }
    if (jobs.some((d) => d.options.unique)) {
      if (due.length) {
        throw new TypeError("enqueueMany: unique jobs cannot have a due time (enqueueAt/enqueueIn) in the same batch.");
      }
      return await this.#enqueueManyUnique(jobs, built, options.pipeline);
    }
    // Made as they are sent (each job's hash words die young, and a long batch streams to Redis while the rest is
    // encoded); again if the transaction is sent again.
    const commands = { [Symbol.iterator]: () => this.#enqueueManyCommands(built, due, (i) => jobs[i].options.atFront) };
    if (options.pipeline) {
      for (const c of commands) options.pipeline.addCommand(wireArgs(c));
      return built;
    }
    if (built.length) await this.connection.transaction(commands);
    if (!this.isAsync) {
      for (let i = 0; i < built.length; i++) {
        if (due[i] === undefined) await this.#runSync(built[i]);
      }
    }
    return built;
  }

  /**
   * @internal A job made from {@link prepareData}'s output as enqueueCall makes it, not written: for callers that
   * write it with a script of their own (CronScheduler claims a tick and enqueues in one script).
   */
  _buildJob(data: EnqueueData): Job {
    // data.funcName is a stored reference already (CronJob made it where the entry was registered): not checked again
    // from here, where the calling module is rqts' own scheduler loop.
    const refs = { ...this.#references(), check: false };
    return this.#createJob(data.funcName, data.args, data.kwargs, data.options as Record<string, unknown>, refs)[0];
  }

  /**
   * enqueueMany with unique jobs: one script checks every unique id and writes the batch, atomically; a duplicate
   * refuses it all (DuplicateJobError). In a caller's pipeline, the refusal is that command's error reply.
   */
  async #enqueueManyUnique(
    jobs: readonly EnqueueData[],
    created: Job[],
    pipeline: PipelineLike | undefined,
  ): Promise<Job[]> {
    const push = (i: number) => this.isAsync ? (jobs[i].options.atFront ? "LPUSH" : "RPUSH") : "" as const;
    const [keys, argv] = enqueueManyArgs(
      this.name,
      created.map((job, i) => ({
        id: job.id,
        push: push(i),
        ttl: job.ttl,
        mapping: job.mapping(),
        unique: jobs[i].options.unique === true,
      })),
    );
    if (pipeline) {
      pipeline.addCommand(wireArgs(["EVAL", ENQUEUE_MANY.source, String(keys.length), ...keys, ...argv]));
      return created;
    }
    try {
      await this.connection.eval(ENQUEUE_MANY, keys, argv);
    } catch (error) {
      const ids = duplicateIds(error);
      throw ids ? new DuplicateJobError(ids) : error;
    }
    if (!this.isAsync) { for (const job of created) await this.#runSync(job); }
    return created;
  }

  /** A pipeline for {@link enqueueMany}: add to it, then `await pipeline.exec()` (one MULTI/EXEC). */
  pipeline(): Pipeline {
    return new Pipeline(this.connection);
  }

  /** How this queue's enqueues store references: one context per enqueue call, so the caller is looked up once. */
  #references(): ReferenceContext {
    return { jobRoot: this.jobRoot, check: this.checkReferences };
  }

  #createJob(
    fn: FunctionReference,
    args: unknown[],
    kwargs: Record<string, unknown>,
    rawOptions: Record<string, unknown>,
    refs: ReferenceContext,
    extraAllowed: readonly string[] = [],
    names?: Map<FunctionReference, StoredName>,
  ): [Job, ParsedJobOptions] {
    let name = names?.get(fn);
    if (!name) {
      refs.usedRoot = undefined;
      name = { funcName: funcNameOf(fn, "func", refs), root: refs.usedRoot };
      names?.set(fn, name);
    }
    const { funcName, root } = name;
    const o = parseJobOptions(rawOptions, extraAllowed, refs);
    const job = Job.create(
      {
        id: o.jobId ?? newJobId(),
        funcName,
        args,
        kwargs,
        origin: this.name,
        description: o.description,
        timeout: o.timeout ?? this.defaultTimeout,
        resultTtl: o.resultTtl,
        failureTtl: o.failureTtl,
        ttl: o.ttl,
        meta: o.meta,
        dependencyIds: o.dependencyIds,
        allowDependencyFailures: o.allowDependencyFailures,
        enqueueAtFront: o.enqueueAtFront,
        successCallback: o.successCallback,
        failureCallback: o.failureCallback,
        stoppedCallback: o.stoppedCallback,
        retry: o.retry,
        repeat: o.repeat,
        status: o.dueAt !== undefined ? "scheduled" : o.dependencyIds.length ? "deferred" : "queued",
      },
      this.connection,
      this.serializer,
    );
    // After Job.create has validated the arguments (no cycles), so the call string can be built.
    job.description ??= callString(funcName, args, kwargs);
    const now = utcNow();
    job.stamp("created_at", now);
    if (!o.dependencyIds.length && o.dueAt === undefined) job.stamp("enqueued_at", now);
    if (!this.isAsync && root !== undefined) syncRoots.set(job, root);
    return [job, o];
  }

  // The hash write of RQ's enqueue_job body (§4.1 of the protocol), for enqueueMany's transaction; then, for a job
  // with a ttl, expiring it with its dependency keys (#expireCommands).
  #hashCommand(job: Job): (string | Uint8Array)[] {
    const hset = job.mapping();
    hset.unshift("HSET", job.key); // no copy of the fields (a spread costs ~2 µs a job on a cold first call)
    return hset;
  }

  *#expireCommands(job: Job): Generator<string[]> {
    const ttl = String(job.ttl);
    yield ["EXPIRE", job.key, ttl];
    yield ["EXPIRE", dependentsKey(job.id), ttl];
    yield ["EXPIRE", dependenciesKey(job.id), ttl];
  }

  // enqueue_job for every job, in fewer commands: the queue is added to rq:queues once, and the ids follow the
  // hashes, consecutive pushes to the same end sharing one RPUSH/LPUSH (same list order as one push per job).
  // Redis ends up exactly as after RQ's per-job SADD/HSET/RPUSH, and each id still lands after its hash.
  // Jobs with a due time go to the scheduled registry instead (RQ's schedule_job), and wake a sleeping scheduler.
  *#enqueueManyCommands(
    created: readonly Job[],
    due: readonly (number | undefined)[],
    atFront: (i: number) => boolean | undefined,
  ): Generator<(string | Uint8Array)[]> {
    if (!created.length) return;
    yield ["SADD", QUEUES_KEY, this.key];
    const pushes: string[][] = [];
    let push: string[] | undefined;
    let scheduled = false;
    for (let i = 0; i < created.length; i++) {
      const job = created[i], dueAt = due[i];
      yield this.#hashCommand(job);
      if (job.ttl) yield* this.#expireCommands(job);
      if (dueAt !== undefined) {
        yield ["ZADD", registryKey("scheduled", this.name), dueScore(dueAt), job.id];
        scheduled = true;
        continue;
      }
      if (!this.isAsync) continue;
      const op = atFront(i) ? "LPUSH" : "RPUSH";
      if (!push || push[0] !== op || push.length >= 2 + PUSH_BATCH) pushes.push(push = [op, this.key]);
      push.push(job.id);
    }
    yield* pushes;
    if (scheduled) {
      const wake = schedulerWakeKey(this.name);
      yield ["LPUSH", wake, "1"];
      yield ["LTRIM", wake, "0", "0"];
      yield ["EXPIRE", wake, "60"];
    }
  }

  async #runSync(job: Job, root?: string): Promise<void> {
    // The folder the job's reference was made from (a worker's job root), so it resolves as it will on a worker.
    const jobRoot = this.jobRoot ?? root ?? syncRoots.get(job) ?? getRuntime().cwd();
    const released = await performInProcess(this.connection, job, { jobRoot, workerKey: "", workerName: "" });
    // Released dependents of a synchronous queue run now too, instead of waiting for a worker that never comes.
    for (const [id, origin] of released) {
      if (origin !== this.name) continue;
      await this.connection.call(["LREM", this.key, "1", id]);
      const [dependent] = await fetchJobs(this.connection, this.serializer, [id]);
      if (dependent) await this.#runSync(dependent, jobRoot);
    }
  }

  /** Number of queued jobs (`LLEN`; deferred jobs are not counted). */
  async count(): Promise<number> {
    return await this.connection.call<number>(["LLEN", this.key]);
  }

  /** Queued job ids from `offset`, `length` of them (all by default). */
  async getJobIds(offset = 0, length = -1): Promise<string[]> {
    const end = length < 0 ? -1 : offset + length - 1;
    return await this.connection.call<string[]>(["LRANGE", this.key, String(offset), String(end)]);
  }

  /** Queued jobs, skipping ids whose hash has expired. */
  async getJobs(offset = 0, length = -1): Promise<Job[]> {
    const ids = await this.getJobIds(offset, length);
    const jobs = await fetchJobs(this.connection, this.serializer, ids);
    return jobs.filter((j): j is Job => j !== null);
  }

  /** The job with this id if it belongs to this queue, else `null` (a dangling id is removed, as in RQ). */
  async fetchJob<R = unknown>(id: string): Promise<Job<R> | null> {
    const [job] = await fetchJobs<R>(this.connection, this.serializer, [id]);
    if (!job) {
      await this.connection.call(["LREM", this.key, "1", id]);
      return null;
    }
    return job.origin === this.name ? job : null;
  }

  /** The 0-based position of a job in this queue, or `null`. */
  async getJobPosition(job: Job | string): Promise<number | null> {
    return await this.connection.call<number | null>(["LPOS", this.key, typeof job === "string" ? job : job.id]);
  }

  /** Removes a job id from the queue (the job hash stays). */
  async remove(job: Job | string): Promise<number> {
    return await this.connection.call<number>(["LREM", this.key, "1", typeof job === "string" ? job : job.id]);
  }

  /** Removes every queued job and its hash; returns how many. Registries are left alone, as in RQ. */
  async empty(): Promise<number> {
    return await this.connection.eval<number>(EMPTY, ...emptyArgs(this.name));
  }

  /**
   * Deletes the queue: it disappears from `Queue.all()` and `rq info`. With `deleteJobs` (default true) its
   * queued jobs are deleted too. It is created again by the next enqueue.
   */
  async delete(options: { deleteJobs?: boolean } = {}): Promise<void> {
    if (options.deleteJobs ?? true) await this.empty();
    await this.connection.transaction([["SREM", QUEUES_KEY, this.key], ["DEL", this.key]]);
  }

  get startedJobRegistry(): StartedJobRegistry {
    return new StartedJobRegistry(this.name, { connection: this.connection, serializer: this.serializer });
  }
  get finishedJobRegistry(): FinishedJobRegistry {
    return new FinishedJobRegistry(this.name, { connection: this.connection, serializer: this.serializer });
  }
  get failedJobRegistry(): FailedJobRegistry {
    return new FailedJobRegistry(this.name, { connection: this.connection, serializer: this.serializer });
  }
  get deferredJobRegistry(): DeferredJobRegistry {
    return new DeferredJobRegistry(this.name, { connection: this.connection, serializer: this.serializer });
  }
  get scheduledJobRegistry(): ScheduledJobRegistry {
    return new ScheduledJobRegistry(this.name, { connection: this.connection, serializer: this.serializer });
  }
  get canceledJobRegistry(): CanceledJobRegistry {
    return new CanceledJobRegistry(this.name, { connection: this.connection, serializer: this.serializer });
  }

  /** Closes the Redis client if this queue created it; a client you passed stays open. */
  async close(): Promise<void> {
    await this.connection.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  toString(): string {
    return `Queue(${this.name})`;
  }
}
