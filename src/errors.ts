// RQ's rq/exceptions.py: every error rqts throws on purpose derives from RqtsError, and says what to do.

/** Base class of every rqts error, so `catch (e) { if (e instanceof RqtsError) … }` catches them all. */
export class RqtsError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The job hash does not exist (never created, deleted, or expired after its TTL). */
export class NoSuchJobError extends RqtsError {
  readonly jobId: string;
  constructor(jobId: string, detail = "") {
    super(
      `No such job: ${jobId}${detail}. It was never enqueued, was deleted, or expired ` +
        `(finished jobs are kept for resultTtl, 500 s by default): check the id, or enqueue it again.`,
    );
    this.jobId = jobId;
  }
}

/** RQ's DuplicateJobError: a job enqueued with `unique: true` whose id exists already; nothing was enqueued. */
export class DuplicateJobError extends RqtsError {
  /** The ids that exist already (or appear twice in one enqueueMany). */
  readonly jobIds: string[];
  constructor(jobIds: string[]) {
    const list = jobIds.join(", ");
    super(
      `A job with id ${list} already exists, and unique: true refuses a second one; nothing was enqueued. Wait for ` +
        `(or delete) the existing job, or give another jobId.`,
    );
    this.jobIds = jobIds;
  }
}

/** An operation that makes no sense in the job's current state (e.g. cancelling a canceled job). */
export class InvalidJobOperationError extends RqtsError {}

/** A job's `dependsOn` names something that is not a job. */
export class InvalidJobDependencyError extends RqtsError {}

/** A stored job cannot be decoded: bad zlib, bad JSON, wrong shape, or a missing field. */
export class DeserializationError extends RqtsError {
  readonly jobId: string;
  readonly field: string;
  constructor(jobId: string, field: string, detail: string, options?: ErrorOptions) {
    super(
      `Job ${jobId}: field '${field}' cannot be decoded: ${detail}. The hash rq:job:${jobId} was ` +
        `written by an incompatible or broken client; delete it (Job.delete) or enqueue the job again.`,
      options,
    );
    this.jobId = jobId;
    this.field = field;
  }
}

/** A path inside a value: numbers index arrays, strings name object keys. */
export type ValuePath = (string | number)[];

/** Formats a path under a root name: `args[1].user.id`, `kwargs["a b"]`. */
export function formatPath(root: string, path: ValuePath): string {
  let out = root;
  for (const part of path) {
    if (typeof part === "number") out += `[${part}]`;
    else if (/^[A-Za-z_$][\w$]*$/.test(part)) out += "." + part;
    else out += `[${JSON.stringify(part)}]`;
  }
  return out;
}

/** A value cannot be stored faithfully as JSON; `path` says where it sits (`args[1].user.id`). */
export class SerializationError extends RqtsError {
  readonly path: string;
  readonly root: string;
  readonly valuePath: ValuePath;
  readonly reason: string;
  constructor(root: string, valuePath: ValuePath, reason: string) {
    const path = formatPath(root, valuePath);
    super(
      `Cannot serialize ${path}: ${reason}. Job arguments, meta and results must be JSON values ` +
        `(strings, finite numbers, booleans, null, arrays, plain objects); convert it first ` +
        `(e.g. String(bigint), [...set], Object.fromEntries(map)).`,
    );
    this.path = path;
    this.root = root;
    this.valuePath = valuePath;
    this.reason = reason;
  }
}

/** A job function or callback reference cannot be made into RQ's `func_name`. */
export class FunctionReferenceError extends TypeError {
  constructor(message: string) {
    super(message);
    this.name = "FunctionReferenceError";
  }
}

/** A job failed while running in-process (`isAsync: false` queues rethrow nothing; this is for callers). */
export class JobFailedError extends RqtsError {}

/** No Redis connection could be made or it broke. */
export class RedisConnectionError extends RqtsError {
  /** True when the connection broke after the command was sent: Redis may or may not have run it. */
  readonly maybeRan: boolean;
  constructor(message: string, options?: ErrorOptions & { maybeRan?: boolean }) {
    super(message, options);
    this.maybeRan = options?.maybeRan ?? false;
  }
}
