// RQ's rq/job.py: a job as stored in `rq:job:<id>`, with its lifecycle operations.

import { Buffer } from "node:buffer";
import { deflate, inflate } from "./zlib.ts";
import { Connection, type ConnectionOption } from "./connection.ts";
import { DeserializationError, InvalidJobOperationError, NoSuchJobError, SerializationError } from "./errors.ts";
import {
  type CallbackInit,
  initCallbacks,
  pushCallbackNames,
  pushCallbackTimeouts,
  restoreCallbacks,
} from "./job_callbacks.ts";
import { bytes, type Call, decodeCall, encodeCall, hashDate, hashInt, type RawHash, text } from "./job_data.ts";
import { dependenciesKey, dependentsKey, jobKey, queueKey, QUEUES_KEY, registryKey } from "./keys.ts";
import { CANCEL, cancelArgs } from "./lua/cancel.ts";
import { fetchAll, fetchLatest, type Result, waitLatest } from "./results.ts";
import { JSONSerializer, type Serializer } from "./serializer.ts";
import { type JobStatus, parseStatus, registryForStatus } from "./job_status.ts";
import { isEmpty, nowSeconds, parseUtc, utcFormat, utcNow } from "./utils.ts";

export { type JobStatus, registryForStatus };

/** Options shared by the static Job functions. */
export interface JobFetchOptions {
  /** Redis URL, node-redis client, or nothing (`REDIS_URL`, else redis://127.0.0.1:6379). */
  connection?: ConnectionOption;
  /** Default: RQ's JSONSerializer. */
  serializer?: Serializer;
}

/** What a new job is made of; the Queue fills it from validated options. */
export interface JobInit extends CallbackInit {
  id: string;
  funcName: string;
  args: unknown[];
  kwargs: Record<string, unknown>;
  origin: string;
  description?: string;
  timeout?: number;
  resultTtl?: number;
  failureTtl?: number;
  ttl?: number;
  meta?: Record<string, unknown>;
  dependencyIds?: string[];
  status?: JobStatus;
  enqueueAtFront?: boolean;
  allowDependencyFailures?: boolean;
  /** RQ's Retry: retries left and the seconds before each. */
  retry?: { count: number; intervals: number[] };
  /** RQ 2.x's Repeat: repeats left and the seconds before each. */
  repeat?: { count: number; intervals: number[] };
}

/** A job as the worker sends it to a horse: its hash fields as text, the decoded call and meta. */
export interface WireJob {
  id: string;
  fields: Record<string, string>;
  call: Call;
  meta: Record<string, unknown>;
}
/**
 * A job: a function call stored in Redis for a worker to run. Returned by `Queue.enqueue()`; a proxy whose
 * fields are as of enqueue or the last {@link refresh}.
 *
 * @example Wait for a result
 * ```ts
 * const job = await queue.enqueue(add, 3, 4);
 * const result = await job.latestResult({ timeout: 10 });
 * console.log(result?.returnValue); // 7
 * ```
 */
export class Job<R = unknown> {
  readonly id: string;
  readonly connection: Connection;
  readonly serializer: Serializer;

  /** Queue name the job belongs to. */
  origin = "";
  /** Shown by `rq info` and logs. */
  description: string | null = null;
  /** Seconds before the job is interrupted (`-1` = none); `null` = the queue/worker default. */
  timeout: number | null = null;
  resultTtl: number | null = null;
  failureTtl: number | null = null;
  ttl: number | null = null;
  startedAt: Date | null = null;
  endedAt: Date | null = null;
  lastHeartbeat: Date | null = null;
  workerName: string | null = null;
  successCallbackName: string | null = null;
  failureCallbackName: string | null = null;
  /** RQ 2.x's `on_stopped`: run by the worker when a stop-job command ended the job. */
  stoppedCallbackName: string | null = null;
  /** RQ 2.x's `*_callback_timeout`, seconds: null when the hash has none (RQ 1.13's jobs; RQ then uses 60). */
  successCallbackTimeout: number | null = null;
  failureCallbackTimeout: number | null = null;
  stoppedCallbackTimeout: number | null = null;
  allowDependencyFailures: boolean | null = null;
  enqueueAtFront: boolean | null = null;
  retriesLeft: number | null = null;
  retryIntervals: number[] | null = null;
  /** RQ 2.x's `repeats_left`: how many more times a successful run is repeated. */
  repeatsLeft: number | null = null;
  repeatIntervals: number[] | null = null;

  #status: JobStatus | null = null;
  #data: Uint8Array | undefined; // as stored: zlib(JSON) (or raw JSON from lenient writers)
  #call: Call | undefined;
  // Timestamps as stored, so re-saving keeps RQ's microseconds while the Date still matches; text only (a job kept by
  // the thousand, as enqueueMany returns them, holds no more per stamp than its string). created_at and enqueued_at,
  // which every job has, in fields of their own; the others in an object made when one is set.
  #createdStamp: string | undefined;
  #enqueuedStamp: string | undefined;
  #stamps: Record<string, string> | undefined;
  #legacyExcInfo: string | null = null;
  // meta and dependencyIds are made when first read if empty (enqueueMany returns jobs by the thousand).
  #meta: Record<string, unknown> | undefined;
  #dependencyIds: string[] | undefined;
  // createdAt and enqueuedAt are made from their stamps when first read (a Date is ~100 bytes, and enqueueMany
  // returns jobs by the thousand); until then the stamp is what is saved. undefined: not made yet.
  #createdAt: Date | undefined;
  #enqueuedAt: Date | null | undefined;

  /** @internal Use {@link Job.fetch} or a Queue. */
  constructor(id: string, connection: Connection, serializer: Serializer = JSONSerializer) {
    this.id = id;
    this.connection = connection;
    this.serializer = serializer;
  }

  /** @internal Builds a job that is not saved yet. @throws {SerializationError} naming the argument path. */
  static create<R>(init: JobInit, connection: Connection, serializer: Serializer): Job<R> {
    const job = new Job<R>(init.id, connection, serializer);
    job.#call = { funcName: init.funcName, args: init.args, kwargs: init.kwargs };
    job.#data = encodeCall(job.#call, serializer);
    job.origin = init.origin;
    job.description = init.description ?? null;
    job.timeout = init.timeout ?? null;
    job.resultTtl = init.resultTtl ?? null;
    job.failureTtl = init.failureTtl ?? null;
    job.ttl = init.ttl ?? null;
    const meta = init.meta;
    if (meta && !isEmpty(meta)) {
      job.#meta = meta;
      try {
        serializer.dumps(meta);
      } catch (error) {
        if (error instanceof SerializationError) throw new SerializationError("meta", error.valuePath, error.reason);
        throw error;
      }
    }
    if (init.dependencyIds?.length) job.#dependencyIds = init.dependencyIds;
    initCallbacks(job, init);
    job.enqueueAtFront = init.enqueueAtFront ?? null;
    job.allowDependencyFailures = init.allowDependencyFailures ?? null;
    job.retriesLeft = init.retry?.count ?? null;
    job.retryIntervals = init.retry?.intervals ?? null;
    job.repeatsLeft = init.repeat?.count ?? null;
    job.repeatIntervals = init.repeat?.intervals ?? null;
    job.#status = init.status ?? null;
    return job;
  }

  /** @internal The job for a horse (no `data` bytes: the call is sent decoded). */
  toWire(): WireJob {
    const fields: Record<string, string> = {};
    const m = this.mapping(false);
    for (let i = 0; i < m.length; i += 2) {
      if (m[i] !== "data") fields[m[i] as string] = m[i + 1] as string;
    }
    return { id: this.id, fields, call: this.#decodeCall(), meta: this.meta };
  }

  /** @internal The job a horse received. */
  static fromWire<R>(wire: WireJob, connection: Connection, serializer: Serializer): Job<R> {
    const job = new Job<R>(wire.id, connection, serializer);
    job.restore({ ...wire.fields, data: Buffer.alloc(0) });
    job.#call = wire.call;
    job.meta = wire.meta;
    return job;
  }

  /** The job hash key, `rq:job:<id>`. */
  get key(): string {
    return jobKey(this.id);
  }

  #decodeCall(): Call {
    return this.#call ??= decodeCall(this, this.#data);
  }

  /** RQ's `func_name`: `"./jobs.ts#add"` for rqts jobs, a dotted name for Python ones. @throws {DeserializationError} */
  get funcName(): string {
    return this.#decodeCall().funcName;
  }
  /** Positional arguments. @throws {DeserializationError} when the stored data is corrupt. */
  get args(): unknown[] {
    return this.#decodeCall().args;
  }
  /** Keyword arguments (Python's `**kwargs`). @throws {DeserializationError} */
  get kwargs(): Record<string, unknown> {
    return this.#decodeCall().kwargs;
  }

  /** The status as of enqueue or the last refresh; {@link getStatus} reads it from Redis. */
  get status(): JobStatus | null {
    return this.#status;
  }

  /** @internal */
  setStatus(status: JobStatus): void {
    this.#status = status;
  }

  /** Your own data; save changes with {@link saveMeta}. */
  get meta(): Record<string, unknown> {
    return this.#meta ??= {};
  }
  set meta(value: Record<string, unknown>) {
    this.#meta = value;
  }

  /** The ids of the jobs this one waits for. */
  get dependencyIds(): string[] {
    return this.#dependencyIds ??= [];
  }
  set dependencyIds(ids: string[]) {
    this.#dependencyIds = ids;
  }

  /** When the job was created. */
  get createdAt(): Date {
    return this.#createdAt ??= this.#dateOf("created_at") ?? new Date();
  }
  set createdAt(date: Date) {
    this.#createdAt = date;
  }

  /** When the job was put on its queue; `null` while it waits for dependencies or a due time. */
  get enqueuedAt(): Date | null {
    return this.#enqueuedAt !== undefined ? this.#enqueuedAt : (this.#enqueuedAt = this.#dateOf("enqueued_at"));
  }
  set enqueuedAt(date: Date | null) {
    this.#enqueuedAt = date;
  }

  /** A timestamp field's text as stored (read, or set by {@link stamp}). */
  #stampOf(field: string): string | undefined {
    if (field === "created_at") return this.#createdStamp;
    if (field === "enqueued_at") return this.#enqueuedStamp;
    return this.#stamps?.[field];
  }

  #setStamp(field: string, text: string | undefined): void {
    if (field === "created_at") this.#createdStamp = text;
    else if (field === "enqueued_at") this.#enqueuedStamp = text;
    else if (text !== undefined) (this.#stamps ??= {})[field] = text;
    else if (this.#stamps) delete this.#stamps[field];
  }

  #dateOf(field: string): Date | null {
    const stored = this.#stampOf(field);
    return stored === undefined ? null : parseUtc(stored) ?? null;
  }

  /** A timestamp field as saved: its stamp while `date` matches it (or was never made: undefined), else `date`'s. */
  #stamp(field: string, date: Date | null | undefined): string {
    const stored = this.#stampOf(field);
    if (date === undefined) return stored ?? "";
    if (!date) return "";
    return stored !== undefined && parseUtc(stored)?.getTime() === date.getTime() ? stored : utcFormat(date);
  }

  /** @internal Sets a timestamp field from RQ's text form (microseconds kept). */
  stamp(field: "created_at" | "enqueued_at" | "started_at", text: string): void {
    if (field !== "started_at") {
      // Made into a Date when read (see #createdAt); the text is rqts' own (utcNow).
      this.#setStamp(field, text);
      if (field === "created_at") this.#createdAt = undefined;
      else this.#enqueuedAt = undefined;
      return;
    }
    const date = parseUtc(text) as Date;
    this.#setStamp(field, date ? text : undefined);
    this.startedAt = date;
  }

  /** @internal The hash fields in RQ's order (`Job.to_dict`). */
  mapping(includeMeta = true): (string | Uint8Array)[] {
    const m: (string | Uint8Array)[] = [
      "created_at",
      this.#stamp(
        "created_at",
        this.#createdAt ?? (this.#createdStamp === undefined ? this.createdAt : undefined),
      ),
      "data",
      this.#data!,
    ];
    pushCallbackNames(m, this);
    m.push(
      "started_at",
      this.#stamp("started_at", this.startedAt),
      "ended_at",
      this.#stamp("ended_at", this.endedAt),
      "last_heartbeat",
      this.#stamp("last_heartbeat", this.lastHeartbeat),
      "worker_name",
      this.workerName ?? "",
    );
    if (this.retriesLeft !== null) m.push("retries_left", String(this.retriesLeft));
    if (this.retryIntervals !== null) m.push("retry_intervals", JSON.stringify(this.retryIntervals));
    if (this.origin) m.push("origin", this.origin);
    if (this.description !== null) m.push("description", this.description);
    const enqueued = this.#enqueuedAt;
    if (enqueued === undefined ? this.#enqueuedStamp !== undefined : enqueued) {
      m.push("enqueued_at", this.#stamp("enqueued_at", enqueued));
    }
    if (this.timeout !== null) m.push("timeout", String(this.timeout));
    if (this.resultTtl !== null) m.push("result_ttl", String(this.resultTtl));
    if (this.failureTtl !== null) m.push("failure_ttl", String(this.failureTtl));
    if (this.#status !== null) m.push("status", this.#status);
    const deps = this.#dependencyIds;
    if (deps?.length) {
      m.push("dependency_id", deps[0], "dependency_ids", JSON.stringify(deps));
    }
    const meta = this.#meta;
    if (includeMeta && meta && !isEmpty(meta)) m.push("meta", this.serializer.dumps(meta));
    if (this.ttl) m.push("ttl", String(this.ttl));
    if (this.allowDependencyFailures !== null) {
      m.push("allow_dependency_failures", this.allowDependencyFailures ? "1" : "0");
    }
    if (this.enqueueAtFront !== null) m.push("enqueue_at_front", this.enqueueAtFront ? "1" : "0");
    if (this.repeatsLeft !== null) m.push("repeats_left", String(this.repeatsLeft));
    if (this.repeatIntervals !== null) m.push("repeat_intervals", JSON.stringify(this.repeatIntervals));
    pushCallbackTimeouts(m, this);
    return m;
  }

  /** @internal Overwrites this job's fields from a raw hash (RQ's `Job.restore`). */
  restore(raw: RawHash): void {
    // Read before anything that may throw: a worker failing this job files it under its origin.
    this.origin = text(raw.origin) ?? "";
    if (raw.data === undefined) {
      throw new DeserializationError(this.id, "data", "the field is missing (RQ treats such a job as nonexistent)");
    }
    this.#data = bytes(raw.data);
    this.#call = undefined;
    this.#createdStamp = this.#enqueuedStamp = this.#stamps = undefined;
    const date = (field: string): Date | null => {
      const [d, t] = hashDate(this.id, raw, field);
      if (d) this.#setStamp(field, t);
      return d;
    };
    const int = (field: string): number | null => hashInt(this.id, raw, field);
    this.createdAt = date("created_at") ?? new Date();
    this.workerName = text(raw.worker_name) || null;
    this.description = text(raw.description) ?? null;
    this.enqueuedAt = date("enqueued_at");
    this.startedAt = date("started_at");
    this.endedAt = date("ended_at");
    this.lastHeartbeat = date("last_heartbeat");
    this.timeout = int("timeout");
    this.resultTtl = int("result_ttl");
    this.failureTtl = int("failure_ttl");
    this.ttl = int("ttl");
    this.retriesLeft = int("retries_left");
    this.#status = parseStatus(text(raw.status));
    restoreCallbacks(this, raw, int);
    const depIds = text(raw.dependency_ids);
    const depId = text(raw.dependency_id);
    try {
      this.dependencyIds = depIds ? JSON.parse(depIds) : depId ? [depId] : [];
      if (!Array.isArray(this.dependencyIds)) throw new Error("not an array");
    } catch (error) {
      throw new DeserializationError(this.id, "dependency_ids", (error as Error).message, { cause: error });
    }
    const allow = text(raw.allow_dependency_failures);
    this.allowDependencyFailures = allow ? allow === "1" : null;
    const front = text(raw.enqueue_at_front);
    this.enqueueAtFront = front === undefined ? null : front === "1";
    this.repeatsLeft = int("repeats_left");
    const list = (field: string): number[] | null => {
      const t = text(raw[field]);
      try {
        const value = t ? JSON.parse(t) : null;
        if (value !== null && !Array.isArray(value)) throw new Error("not an array");
        return value;
      } catch (error) {
        throw new DeserializationError(this.id, field, (error as Error).message, { cause: error });
      }
    };
    this.retryIntervals = list("retry_intervals");
    this.repeatIntervals = list("repeat_intervals");
    if (raw.meta !== undefined && raw.meta.length) {
      try {
        const meta = this.serializer.loads(bytes(raw.meta));
        if (meta === null || typeof meta !== "object" || Array.isArray(meta)) throw new Error("not a JSON object");
        this.meta = meta as Record<string, unknown>;
      } catch (error) {
        throw new DeserializationError(this.id, "meta", (error as Error).message, { cause: error });
      }
    } else this.meta = {};
    if (raw.exc_info?.length) {
      try {
        this.#legacyExcInfo = inflate(bytes(raw.exc_info)).toString("utf8");
      } catch {
        this.#legacyExcInfo = text(raw.exc_info)!;
      }
    } else this.#legacyExcInfo = null;
  }

  /**
   * Loads a job by id.
   * @throws {NoSuchJobError} when there is no such job; {DeserializationError} when its hash is corrupt.
   */
  static async fetch<R = unknown>(id: string, options: JobFetchOptions = {}): Promise<Job<R>> {
    const connection = Connection.resolve(options.connection);
    const job = new Job<R>(id, connection, options.serializer ?? JSONSerializer);
    await job.refresh();
    return job;
  }

  /** Loads many jobs in one round trip; missing ones are `null`. */
  static async fetchMany<R = unknown>(
    ids: readonly string[],
    options: JobFetchOptions = {},
  ): Promise<(Job<R> | null)[]> {
    const connection = Connection.resolve(options.connection);
    return await fetchJobs<R>(connection, options.serializer ?? JSONSerializer, ids);
  }

  /** Whether a job hash exists for `id`. */
  static async exists(id: string, options: JobFetchOptions = {}): Promise<boolean> {
    return (await Connection.resolve(options.connection).call<number>(["EXISTS", jobKey(id)])) === 1;
  }

  /** Re-reads every field from Redis. @throws {NoSuchJobError} {DeserializationError} */
  async refresh(): Promise<void> {
    const raw = await this.connection.callBytes<RawHash>(["HGETALL", this.key]);
    if (!raw || Object.keys(raw).length === 0) throw new NoSuchJobError(this.id);
    this.restore(raw);
  }

  /** The status in Redis (`refresh: false` gives the cached one). `null` once the job hash is gone. */
  async getStatus(options: { refresh?: boolean } = {}): Promise<JobStatus | null> {
    if (options.refresh === false) return this.#status;
    const status = await this.connection.call<string | null>(["HGET", this.key, "status"]);
    this.#status = parseStatus(status ?? undefined);
    return this.#status;
  }

  /** The meta stored in Redis (`refresh: false` gives the local one). */
  async getMeta(options: { refresh?: boolean } = {}): Promise<Record<string, unknown>> {
    if (options.refresh === false) return this.meta;
    const raw = await this.connection.callBytes<Uint8Array | null>(["HGET", this.key, "meta"]);
    this.meta = raw?.length ? this.serializer.loads(raw) as Record<string, unknown> : {};
    return this.meta;
  }

  /** Writes `job.meta` to Redis (RQ's `save_meta`), e.g. progress from inside a running job. */
  async saveMeta(): Promise<void> {
    let bytes: Uint8Array;
    try {
      bytes = this.serializer.dumps(this.meta);
    } catch (error) {
      if (error instanceof SerializationError) throw new SerializationError("meta", error.valuePath, error.reason);
      throw error;
    }
    await this.connection.call(["HSET", this.key, "meta", bytes]);
  }

  /**
   * The return value once the job has finished, else `null` — RQ's `job.result`, read from Redis on each access.
   * @example
   * ```ts
   * console.log(await job.result); // null until a worker has run it, then e.g. 889
   * ```
   */
  get result(): Promise<R | null> {
    return this.returnValue();
  }

  /** RQ's `return_value()`: the latest result's value if it was a success, else `null`. */
  async returnValue(): Promise<R | null> {
    const latest = await fetchLatest<R>(this.connection, this.id, this.serializer);
    return latest?.type === "successful" ? latest.returnValue : null;
  }

  /**
   * The latest {@link Result}, or `null` when there is none. With `timeout` (seconds), waits up to that long for
   * the first result, blocking on the results stream rather than polling.
   */
  async latestResult(options: { timeout?: number } = {}): Promise<Result<R> | null> {
    const timeout = options.timeout ?? 0;
    if (typeof timeout !== "number" || !(timeout >= 0)) {
      throw new RangeError(`latestResult: timeout must be a number of seconds >= 0; received ${String(timeout)}.`);
    }
    return await waitLatest<R>(this.connection, this.id, this.serializer, timeout);
  }

  /** Every stored result, newest first (RQ keeps about the last 10). */
  async results(): Promise<Result<R>[]> {
    return await fetchAll<R>(this.connection, this.id, this.serializer);
  }

  /** The failure text (RQ: traceback) of the latest failed run, or `null` — RQ's `job.exc_info`. */
  get excInfo(): Promise<string | null> {
    return fetchLatest(this.connection, this.id, this.serializer).then((latest) =>
      latest?.type === "failed" || latest?.type === "stopped" ? latest.excString : this.#legacyExcInfo
    );
  }

  /** The 0-based position in its queue, or `null` when it is not queued. */
  async getPosition(): Promise<number | null> {
    return await this.connection.call<number | null>(["LPOS", queueKey(this.origin), this.id]);
  }

  /**
   * Cancels the job: it leaves its queue or registry for the canceled registry and will not run.
   * With `enqueueDependents`, jobs waiting on it are released as if it had finished.
   * @throws {InvalidJobOperationError} when it is already canceled. {NoSuchJobError} when it is gone.
   */
  async cancel(options: { enqueueDependents?: boolean } = {}): Promise<void> {
    const status = await this.getStatus();
    if (status === "canceled") {
      throw new InvalidJobOperationError(
        `Cannot cancel job ${this.id}: it is already canceled. Use job.requeue() after moving it, or job.delete().`,
      );
    }
    const old = await this.connection.eval<string | null>(
      CANCEL,
      ...cancelArgs({
        id: this.id,
        nowSeconds: nowSeconds(),
        nowTs: utcNow(),
        enqueueDependents: options.enqueueDependents ?? false,
      }),
    );
    if (old === null) throw new NoSuchJobError(this.id);
    this.#status = "canceled";
  }

  /**
   * Puts a failed job back on its queue (RQ's `job.requeue()`).
   * @throws {InvalidJobOperationError} when the job is not in the failed registry.
   */
  async requeue(options: { atFront?: boolean } = {}): Promise<Job<R>> {
    await this.refresh();
    const inFailed = await this.connection.call<string | null>(["ZSCORE", registryKey("failed", this.origin), this.id]);
    if (inFailed === null) {
      throw new InvalidJobOperationError(
        `Cannot requeue job ${this.id}: it is not in the failed job registry of '${this.origin}' (status ` +
          `${this.#status}). Only failed jobs can be requeued.`,
      );
    }
    this.startedAt = null;
    this.endedAt = null;
    this.#legacyExcInfo = null;
    this.#status = "queued";
    this.stamp("enqueued_at", utcNow());
    await this.connection.transaction([
      ["ZREM", registryKey("failed", this.origin), this.id],
      ["HSET", this.key, ...this.mapping(), "exc_info", deflate(Buffer.alloc(0))],
      ["SADD", QUEUES_KEY, queueKey(this.origin)],
      [options.atFront ? "LPUSH" : "RPUSH", queueKey(this.origin), this.id],
    ]);
    return this;
  }

  /**
   * Deletes the job: out of its queue and registry, and its hash and dependency keys removed.
   * The results stream is left, as RQ leaves it.
   */
  async delete(options: { removeFromQueue?: boolean; deleteDependents?: boolean } = {}): Promise<void> {
    const status = await this.getStatus();
    const origin = this.origin || (await this.connection.call<string | null>(["HGET", this.key, "origin"])) || "";
    const commands: (string | Uint8Array)[][] = [];
    if (options.removeFromQueue !== false) commands.push(["LREM", queueKey(origin), "1", this.id]);
    const reg = registryForStatus(status);
    if (reg) commands.push(["ZREM", registryKey(reg, origin), this.id]);
    if (options.deleteDependents) {
      const ids = await this.connection.call<string[]>(["SMEMBERS", dependentsKey(this.id)]);
      for (const dep of await fetchJobs(this.connection, this.serializer, ids)) {
        if (dep) await dep.delete({ removeFromQueue: false });
      }
    }
    commands.push(["DEL", this.key, dependentsKey(this.id), dependenciesKey(this.id)]);
    await this.connection.transaction(commands);
  }

  /** Closes the connection if this job opened it (a `Job.fetch` without a client). */
  async close(): Promise<void> {
    await this.connection.close();
  }

  toString(): string {
    return `Job(${this.id}: ${this.description ?? ""})`;
  }
}

/** HGETALL many jobs in one pipeline round trip. */
export async function fetchJobs<R>(
  connection: Connection,
  serializer: Serializer,
  ids: readonly string[],
): Promise<(Job<R> | null)[]> {
  if (!ids.length) return [];
  const raws = await Promise.all(ids.map((id) => connection.callBytes<RawHash>(["HGETALL", jobKey(id)])));
  return raws.map((raw, i) => {
    if (!raw || Object.keys(raw).length === 0) return null;
    const job = new Job<R>(ids[i], connection, serializer);
    job.restore(raw);
    return job;
  });
}
