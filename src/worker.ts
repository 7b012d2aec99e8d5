// RQ's rq/worker.py: a process that takes jobs off its queues in priority order and runs each one in a horse
// process under its timeout, registered so that `rq info` lists it, and storing outcomes exactly as RQ does.

import { Buffer } from "node:buffer";
import { Connection, type ConnectionOption, type RedisClient } from "./connection.ts";
import {
  DEFAULT_JOB_MONITORING_INTERVAL,
  DEFAULT_JOB_TIMEOUT,
  DEFAULT_REDIS_URL,
  DEFAULT_RESULT_TTL,
  DEFAULT_WORKER_TTL,
  RQ_VERSION,
} from "./defaults.ts";
import { RqtsError } from "./errors.ts";
import { Horse, type HorseOutcome } from "./horse.ts";
import { Job } from "./job.ts";
import {
  cleanRegistriesKey,
  HELD_PREFIX,
  heldKey,
  jobKey,
  OWN_LIST_PREFIX,
  ownListKey,
  queueKey,
  QUEUES_KEY,
  registryKey,
  WORKER_PREFIX,
  workerKey,
  WORKERS_KEY,
  workersByQueueKey,
} from "./keys.ts";
import {
  DEQUEUE,
  FINISH_FAILURE,
  FINISH_FAILURE_AND_DEQUEUE,
  FINISH_SUCCESS,
  FINISH_SUCCESS_AND_DEQUEUE,
  GIVE_BACK,
  RETURN_OWN_LIST,
} from "./lua.ts";
import { describeError } from "./perform.ts";
import type { Queue } from "./queue.ts";
import { FailedJobRegistry, FinishedJobRegistry, StartedJobRegistry } from "./registry.ts";
import { failureFields, RESULT_TYPES } from "./results.ts";
import { getRuntime, type Runtime } from "./runtime.ts";
import { JSONSerializer, type Serializer } from "./serializer.ts";
import { formatMicros, nowMicros, nowSeconds, utcNow } from "./utils.ts";

/** Log levels, as RQ's `--logging_level`. */
export type LogLevel = "debug" | "info" | "warning" | "error";
const LEVELS: Record<LogLevel, number> = { debug: 10, info: 20, warning: 30, error: 40 };

/** Where a worker's log lines go. */
export interface Logger {
  log(level: LogLevel, message: string): void;
}

/** RQ's log format: `HH:MM:SS message`, warnings and errors on stderr. */
export function consoleLogger(level: LogLevel = "info"): Logger {
  const min = LEVELS[level];
  return {
    log(l, message) {
      if (LEVELS[l] < min) return;
      const line = `${new Date().toTimeString().slice(0, 8)} ${message}`;
      if (LEVELS[l] >= LEVELS.warning) console.error(line);
      else console.log(line);
    },
  };
}

/** Options of `new Worker()`. */
export interface WorkerOptions {
  /** Redis URL, node-redis client, or nothing (`REDIS_URL`, else redis://127.0.0.1:6379). */
  connection?: ConnectionOption;
  /** Worker name. Default: a UUID4 hex, as RQ. */
  name?: string;
  /** Horses running at once (RQ needs one worker per job at a time). Default 1. */
  concurrency?: number;
  /** Jobs a horse runs before it is replaced; `1` = a fresh process per job (RQ's fork isolation). Default: no limit. */
  maxJobsPerHorse?: number;
  /** Where job modules are imported from; references may not leave it. Default: the working directory. */
  jobRoot?: string;
  /** Deno only: permission flags for horses. Default `["--allow-all"]`. */
  horsePermissions?: string[];
  /** Heap limit for each horse, MiB (Deno and Node). Default: the runtime's own. */
  horseMaxHeapMb?: number;
  /** `resultTtl` for jobs that set none, seconds. Default 500. */
  defaultResultTtl?: number;
  /** Worker key lifetime, seconds (`worker_ttl`). Default 420. */
  workerTtl?: number;
  /** Heartbeat interval while busy, seconds. Default 30. */
  jobMonitoringInterval?: number;
  serializer?: Serializer;
  /** Default "info". */
  logLevel?: LogLevel;
  logger?: Logger;
  /** Install SIGINT/SIGTERM handlers during `work()` (warm, then cold shutdown). Default true. */
  handleSignals?: boolean;
}

type Dequeued = { id: string; queue: string; raw: Record<string, Uint8Array> };
type Finish = { kind: "success" | "failure"; args: string[] };

/** How long a blocking dequeue waits before looking around (heartbeats run on their own timer), seconds. */
const BLOCK_SECONDS = 5;
/** Registry maintenance interval, seconds (RQ's). */
const MAINTENANCE_INTERVAL = 600;

/** CLIENT ID of each dedicated blocking connection, asked once. */
const clientIds = new WeakMap<RedisClient, number>();

function decodeDequeued(reply: unknown): Dequeued | "suspended" | null {
  if (!reply) return null;
  if (!Array.isArray(reply)) return Buffer.from(reply as Uint8Array).toString() === "suspended" ? "suspended" : null;
  const [id, queue, flat] = reply as [Uint8Array, Uint8Array, Uint8Array[]];
  const raw: Record<string, Uint8Array> = {};
  for (let i = 0; i < flat.length; i += 2) raw[Buffer.from(flat[i]).toString()] = flat[i + 1];
  return { id: Buffer.from(id).toString(), queue: Buffer.from(queue).toString(), raw };
}

/**
 * A worker: takes jobs off its queues (the first non-empty queue in the order given wins) and runs each in a
 * horse process under the job's timeout.
 *
 * @example
 * ```ts
 * import { Worker } from "@rqts/rqts";
 * const worker = new Worker(["high", "default"], { connection: "redis://127.0.0.1:6379" });
 * await worker.work({ burst: true }); // returns when the queues are empty
 * ```
 */
export class Worker {
  readonly name: string;
  readonly key: string;
  readonly queueNames: string[];
  readonly connection: Connection;
  readonly serializer: Serializer;
  readonly concurrency: number;
  readonly maxJobsPerHorse: number;
  readonly jobRoot: string;

  readonly #runtime: Runtime;
  readonly #options: WorkerOptions;
  readonly #logger: Logger;
  readonly #redisUrl: string;
  readonly #ownList: string;
  readonly #heldKey: string;
  #stopping = false;
  #cold = false;
  #horses = new Set<Horse>();
  #running = new Map<string, { job: Job; startedMicros: number; timeout: number }>();
  /** Jobs taken ahead (marked started in Redis) that wait for their slot's current job to end. */
  #held = new Map<string, Dequeued>();
  #wake: (() => void)[] = [];
  #blockedClients = new Set<RedisClient>();
  #waiting: Promise<void> | undefined;
  #suspendedLogged = false;
  /** Jobs this worker has finished (success or failure). */
  jobsDone = 0;

  /**
   * @param queues Queue names or Queues, in priority order. Default `["default"]`.
   * @throws {TypeError|RangeError} for bad options.
   */
  constructor(queues: readonly (string | Queue)[] | string | Queue = ["default"], options: WorkerOptions = {}) {
    const list = Array.isArray(queues) ? queues : [queues as string | Queue];
    if (!list.length) throw new TypeError("Worker: give at least one queue name, e.g. new Worker(['default']).");
    this.queueNames = list.map((q) => typeof q === "string" ? q : q.name);
    for (const name of this.queueNames) {
      if (typeof name !== "string" || name === "") {
        throw new TypeError(`Worker: queue names must be non-empty strings.`);
      }
    }
    const concurrency = options.concurrency ?? 1;
    if (!Number.isInteger(concurrency) || concurrency < 1) {
      throw new RangeError(`concurrency: received ${concurrency}; expected an integer >= 1.`);
    }
    const maxJobs = options.maxJobsPerHorse ?? 0;
    if (!Number.isInteger(maxJobs) || maxJobs < 0) {
      throw new RangeError(`maxJobsPerHorse: received ${maxJobs}; expected an integer >= 1 (or 0 for no limit).`);
    }
    this.#runtime = getRuntime();
    this.#options = options;
    const firstQueue = list.find((q): q is Queue => typeof q !== "string");
    this.connection = Connection.resolve(options.connection ?? firstQueue?.connection);
    this.serializer = options.serializer ?? JSONSerializer;
    this.name = options.name ?? crypto.randomUUID().replaceAll("-", "");
    this.key = workerKey(this.name);
    this.#ownList = ownListKey(this.name);
    this.#heldKey = heldKey(this.name);
    this.concurrency = concurrency;
    this.maxJobsPerHorse = maxJobs;
    this.jobRoot = options.jobRoot ?? this.#runtime.cwd();
    this.#logger = options.logger ?? consoleLogger(options.logLevel ?? "info");
    this.#redisUrl = this.connection.url ?? this.#runtime.env("REDIS_URL") ?? DEFAULT_REDIS_URL;
  }

  #log(level: LogLevel, message: string): void {
    this.#logger.log(level, message);
  }

  /**
   * Registers, runs jobs until stopped (or, with `burst`, until the queues are empty), then unregisters.
   * @throws {RqtsError} when an active worker of the same name exists.
   */
  async work(options: { burst?: boolean } = {}): Promise<void> {
    const burst = options.burst ?? false;
    const unsubscribe: (() => void)[] = [];
    if (this.#options.handleSignals ?? true) {
      const onSignal = (sig: string) => () => {
        if (!this.#stopping) {
          this.#log(
            "warning",
            `Warm shut down requested (${sig}): finishing running jobs, press Ctrl+C again to kill them`,
          );
          this.stop();
        } else {
          this.#log("warning", `Cold shut down (${sig}): killing horses`);
          this.stop({ cold: true });
        }
      };
      for (const sig of ["SIGINT", "SIGTERM"] as const) unsubscribe.push(this.#runtime.onSignal(sig, onSignal(sig)));
    }
    try {
      await this.#registerBirth();
      this.#log(
        "info",
        `Worker ${this.key} started with PID ${this.#runtime.pid()}, version ${RQ_VERSION} (rqts on ${this.#runtime.name} ${this.#runtime.version})`,
      );
      this.#log("info", `*** Listening on ${this.queueNames.join(", ")}...`);
      await this.#maintenance();
      const heartbeat = setInterval(() => void this.#heartbeat().catch(() => {}), this.#heartbeatMs());
      const maintenance = setInterval(() => void this.#maintenance().catch(() => {}), MAINTENANCE_INTERVAL * 1000);
      try {
        await Promise.all(Array.from({ length: this.concurrency }, () => this.#slot(burst)));
      } finally {
        clearInterval(heartbeat);
        clearInterval(maintenance);
      }
      this.#log("info", `Worker ${this.name}: done, quitting`);
    } finally {
      for (const u of unsubscribe) u();
      await Promise.allSettled([...this.#horses].map((h) => h.dispose()));
      await this.#registerDeath().catch((e) => this.#log("error", `Could not unregister: ${e?.message ?? e}`));
      await this.connection.close();
    }
  }

  /** Stops dequeuing; running jobs finish (warm), or with `cold` their horses are killed and the jobs fail. */
  stop(options: { cold?: boolean } = {}): void {
    this.#stopping = true;
    if (options.cold) {
      this.#cold = true;
      for (const h of this.#horses) void h.kill();
    }
    for (const c of this.#blockedClients) c.destroy();
    this.#blockedClients.clear();
    for (const w of this.#wake.splice(0)) w();
  }

  #heartbeatMs(): number {
    return Math.min(this.#options.jobMonitoringInterval ?? DEFAULT_JOB_MONITORING_INTERVAL, 30) * 1000;
  }

  #workerTtl(): number {
    return (this.#options.workerTtl ?? DEFAULT_WORKER_TTL) + 60;
  }

  async #registerBirth(): Promise<void> {
    const c = this.connection;
    const exists = await c.call<number>(["EXISTS", this.key]);
    if (exists && !(await c.call<number>(["HEXISTS", this.key, "death"]))) {
      throw new RqtsError(`There exists an active worker named '${this.name}' already; pick another --name.`);
    }
    let ip = "unknown";
    try {
      const info = await c.call<string>(["CLIENT", "INFO"]);
      ip = /\baddr=(\S+)/.exec(info)?.[1] ?? ip;
    } catch { /* Redis < 6.2 */ }
    const now = utcNow();
    await c.transaction([
      ["DEL", this.key],
      [
        "HSET",
        this.key,
        "birth",
        now,
        "last_heartbeat",
        now,
        "queues",
        this.queueNames.join(","),
        "pid",
        String(this.#runtime.pid()),
        "hostname",
        this.#runtime.hostname(),
        "ip_address",
        ip,
        "version",
        RQ_VERSION,
        "python_version",
        `rqts (${this.#runtime.name} ${this.#runtime.version})`,
      ],
      ["SADD", WORKERS_KEY, this.key],
      ...this.queueNames.map((q) => ["SADD", workersByQueueKey(q), this.key]),
      ...this.queueNames.map((q) => ["SADD", QUEUES_KEY, queueKey(q)]),
      ["EXPIRE", this.key, String(this.#workerTtl())],
    ]);
    await c.call(["HSET", this.key, "state", "started"]);
  }

  async #registerDeath(): Promise<void> {
    await this.connection.eval(RETURN_OWN_LIST, [this.#ownList], []);
    await this.connection.transaction([
      ["SREM", WORKERS_KEY, this.key],
      ...this.queueNames.map((q) => ["SREM", workersByQueueKey(q), this.key]),
      ["HSET", this.key, "death", utcNow()],
      ["EXPIRE", this.key, "60"],
    ]);
  }

  async #heartbeat(): Promise<void> {
    const now = utcNow();
    const busy = this.#running.size > 0;
    const commands: string[][] = [
      ["EXPIRE", this.key, String(busy ? 90 : this.#workerTtl())],
      ["HSET", this.key, "last_heartbeat", now],
    ];
    const seconds = nowSeconds();
    for (const [id, r] of this.#running) {
      const elapsed = (nowMicros() - r.startedMicros) / 1e6;
      const hb = (r.timeout > 0 ? Math.min(Math.max(r.timeout - elapsed, 0), 30) : 30) + 60;
      commands.push(
        ["HSET", jobKey(id), "last_heartbeat", now],
        ["ZADD", registryKey("started", r.job.origin), "XX", String(Math.floor(seconds + hb)), id],
      );
    }
    for (const [id, d] of this.#held) {
      const origin = Buffer.from(d.raw.origin ?? d.queue).toString() || d.queue;
      commands.push(["ZADD", registryKey("started", origin), "XX", String(seconds + 90), id]);
    }
    if (busy) commands.push(["HSET", this.key, "current_job_working_time", String(this.#longestRunning())]);
    await this.connection.transaction(commands);
  }

  #longestRunning(): number {
    let oldest = nowMicros();
    for (const r of this.#running.values()) oldest = Math.min(oldest, r.startedMicros);
    return (nowMicros() - oldest) / 1e6;
  }

  /** RQ's maintenance: abandoned started jobs to failed, expired entries out, dead workers' own lists returned. */
  async #maintenance(): Promise<void> {
    const c = this.connection;
    for (const q of this.queueNames) {
      const locked = await c.call<string | null>(["SET", cleanRegistriesKey(q), "1", "EX", "899", "NX"]);
      if (!locked) continue;
      const opts = { connection: c, serializer: this.serializer };
      await new StartedJobRegistry(q, opts).cleanup();
      await new FinishedJobRegistry(q, opts).cleanup();
      await new FailedJobRegistry(q, opts).cleanup();
      for (const w of await c.call<string[]>(["SMEMBERS", workersByQueueKey(q)])) {
        if (!(await c.call<number>(["EXISTS", w]))) {
          await c.transaction([["SREM", workersByQueueKey(q), w], ["SREM", WORKERS_KEY, w]]);
        }
      }
    }
    // Ids a dead worker had moved to its own list (BLMOVE), never started: back to the front of their queues.
    await this.#forDeadWorkers(OWN_LIST_PREFIX, async (key, owner) => {
      const n = await c.eval<number>(RETURN_OWN_LIST, [key], []);
      if (n) this.#log("warning", `Returned ${n} job(s) that dead worker ${owner} had dequeued to their queues`);
    });
    // Jobs a dead worker had taken ahead (started in Redis, never run): back to the front of their queues.
    await this.#forDeadWorkers(HELD_PREFIX, async (key, owner, name) => {
      let n = 0;
      for (const id of await c.call<string[]>(["SMEMBERS", key])) {
        n += await c.eval<number>(GIVE_BACK, [], [id, name, "default"]);
      }
      await c.call(["DEL", key]);
      if (n) this.#log("warning", `Returned ${n} job(s) that dead worker ${owner} had taken ahead to their queues`);
    });
  }

  /** Calls `fn` for each `<prefix><worker>` key whose worker is gone (no key, or a `death` field). */
  async #forDeadWorkers(
    prefix: string,
    fn: (key: string, owner: string, name: string) => Promise<void>,
  ): Promise<void> {
    const c = this.connection;
    let cursor = "0";
    do {
      const [next, keys] = await c.call<[string, string[]]>(["SCAN", cursor, "MATCH", prefix + "*", "COUNT", "200"]);
      cursor = String(next);
      for (const key of keys) {
        const name = key.slice(prefix.length);
        const owner = WORKER_PREFIX + name;
        const alive = (await c.call<number>(["EXISTS", owner])) && !(await c.call<number>(["HEXISTS", owner, "death"]));
        if (!alive) await fn(key, owner, name);
      }
    } while (cursor !== "0");
  }

  #dequeueArgs(ahead: boolean, started: string): string[] {
    const held = ahead ? this.#heldKey : "";
    return [this.key, this.name, this.#ownList, String(nowSeconds()), utcNow(), held, started, ...this.queueNames];
  }

  /** Takes `id` out of the held set (not awaited: a worker that dies from here on leaves a started job). */
  #unhold(id: string): void {
    void this.connection.call(["SREM", this.#heldKey, id]).catch(() => {});
  }

  /**
   * Stores `finish` (if any) and takes the next job, in one round trip. `ahead`: the job is taken while another
   * runs, so it is recorded in the held set until it starts. `started` (with `ahead`): a job taken ahead earlier that
   * starts now, taken out of the held set in the same round trip.
   */
  async #finishAndDequeue(
    finish: Finish | undefined,
    ahead = false,
    started = "",
  ): Promise<Dequeued | "suspended" | null> {
    if (this.#stopping) {
      if (started) this.#unhold(started);
      if (finish) await this.#store(finish);
      return null;
    }
    let reply: unknown;
    if (!finish) reply = await this.connection.eval(DEQUEUE, [], this.#dequeueArgs(ahead, started), true);
    else {
      const script = finish.kind === "success" ? FINISH_SUCCESS_AND_DEQUEUE : FINISH_FAILURE_AND_DEQUEUE;
      const args = [String(finish.args.length), ...finish.args, ...this.#dequeueArgs(ahead, started)];
      reply = await this.connection.eval(script, [], args, true);
    }
    return decodeDequeued(reply);
  }

  async #store(finish: Finish): Promise<void> {
    await this.connection.eval(finish.kind === "success" ? FINISH_SUCCESS : FINISH_FAILURE, [], finish.args);
  }

  /**
   * Waits until a queue may have work: one BLMOVE per queue (on dedicated connections) moves the first id that
   * arrives into this worker's own list, where the next dequeue takes it. Shared by all idle slots.
   */
  #waitForWork(): Promise<void> {
    return this.#waiting ??= (async () => {
      try {
        // Sent alongside the blocking wait rather than before it, so a job that arrives meanwhile is not held up by
        // its round trip; it is awaited before the wait ends, so Redis still sees "idle" before the dequeue's "busy".
        const heartbeat = this.#heartbeatIdle();
        heartbeat.catch(() => {});
        const blocked = new Map<RedisClient, number>(); // dedicated client → its CLIENT ID, while it blocks
        const waits = this.queueNames.map((q) =>
          this.connection.blocking(async (client) => {
            if (this.#stopping) return null;
            let id = clientIds.get(client);
            if (id === undefined) clientIds.set(client, id = Number(await client.sendCommand(["CLIENT", "ID"])));
            this.#blockedClients.add(client);
            blocked.set(client, id);
            try {
              return await client.sendCommand([
                "BLMOVE",
                queueKey(q),
                this.#ownList,
                "LEFT",
                "RIGHT",
                String(BLOCK_SECONDS),
              ]);
            } finally {
              blocked.delete(client);
              this.#blockedClients.delete(client);
            }
          })
        );
        const stop = new Promise<"stop">((resolve) => this.#wake.push(() => resolve("stop")));
        await Promise.race([Promise.race(waits.map((w) => w.then((id) => id ? "got" : "timeout"))), stop]);
        // Wake the waits still blocked on other queues; one that moved an id meanwhile left it in the own list,
        // which the next dequeue reads first.
        for (const id of blocked.values()) await this.connection.call(["CLIENT", "UNBLOCK", String(id)]);
        await Promise.race([Promise.allSettled(waits), stop]);
        await heartbeat;
      } catch (error) {
        if (!this.#stopping) {
          this.#log("warning", `Waiting for jobs failed (${(error as Error)?.message ?? error}); retrying in 1 s`);
          await new Promise((r) => setTimeout(r, 1000));
        }
      } finally {
        this.#waiting = undefined;
      }
    })();
  }

  async #heartbeatIdle(): Promise<void> {
    if (this.#running.size) return;
    await this.connection.transaction([
      ["HSET", this.key, "state", "idle", "last_heartbeat", utcNow()],
      ["EXPIRE", this.key, String(this.#workerTtl())],
    ]);
  }

  #spawnHorse(): Horse {
    const horse = new Horse(this.#runtime, {
      env: {},
      cwd: this.#runtime.cwd(),
      permissions: this.#options.horsePermissions,
      maxHeapMb: this.#options.horseMaxHeapMb,
    });
    this.#horses.add(horse);
    void horse.ready.then(
      () => this.#log("debug", `Horse ${horse.pid} ready`),
      (e) => this.#log("error", `Horse ${horse.pid}: ${e.message}`),
    );
    return horse;
  }

  #retire(horse: Horse): void {
    this.#horses.delete(horse);
    void horse.dispose();
  }

  /**
   * One concurrency slot: its own horse, running one job at a time. While a job runs, the slot already stores the
   * previous outcome and takes the next job in one round trip, so Redis time hides behind job time.
   */
  async #slot(burst: boolean): Promise<void> {
    let horse: Horse | undefined;
    // With one job per horse, process start-up is the cost: keep two horses starting ahead of need.
    const spares: Horse[] = [];
    const sparesWanted = this.maxJobsPerHorse === 1 ? 2 : 1;
    let finish: Finish | undefined; // the last outcome, not stored yet
    let next: Dequeued | "suspended" | null = null;
    let fetched = false; // whether `next` is the answer of a dequeue made since the last job started
    try {
      while (true) {
        // A ready horse before taking a job, so a horse that cannot start never costs a job.
        if (!horse || horse.dead || (this.maxJobsPerHorse && horse.jobsRun >= this.maxJobsPerHorse)) {
          if (horse) this.#retire(horse);
          horse = spares.shift() ?? this.#spawnHorse();
          try {
            await horse.ready;
          } catch {
            this.#retire(horse);
            horse = undefined;
            if (this.#stopping) break;
            await new Promise((r) => setTimeout(r, 1000));
            continue;
          }
        }
        if (!fetched) {
          next = await this.#finishAndDequeue(finish);
          finish = undefined;
        }
        fetched = false;
        if (next === "suspended") {
          if (burst) break;
          if (!this.#suspendedLogged) {
            this.#log("warning", "Worker suspended (rq:suspended is set); waiting for resume");
          }
          this.#suspendedLogged = true;
          await this.connection.call(["HSET", this.key, "state", "suspended"]);
          await new Promise((r) => setTimeout(r, 1000));
          continue;
        }
        this.#suspendedLogged = false;
        if (!next) {
          if (burst || this.#stopping) break;
          await this.#waitForWork();
          if (this.#stopping) break;
          continue;
        }
        if (this.#stopping) {
          await this.#giveBack(next);
          break;
        }
        // When this horse is about to reach its job limit, the next ones start now, while this job runs.
        if (this.maxJobsPerHorse && horse.jobsRun + 1 >= this.maxJobsPerHorse) {
          while (spares.length < sparesWanted) spares.push(this.#spawnHorse());
        }
        const job: Dequeued = next;
        // A job taken ahead leaves the held set as it starts: in the round trip that takes the next one ahead, or alone.
        const wasHeld = this.#held.delete(job.id);
        const running = this.#perform(horse, job);
        // Meanwhile: store the previous outcome and take the next job (it waits, started, in this slot) — but only
        // when every slot is busy: while another slot is idle, the next job is its to run now, not this one's later.
        const allBusy = this.#running.size >= this.concurrency;
        if (wasHeld && !allBusy) this.#unhold(job.id);
        const ahead = allBusy
          ? this.#finishAndDequeue(finish, true, wasHeld ? job.id : "").then((d) => {
            if (d && d !== "suspended") this.#held.set(d.id, d);
            return d;
          })
          : (finish ? this.#store(finish) : Promise.resolve()).then(() => null);
        finish = undefined;
        [finish, next] = await Promise.all([running, ahead]);
        // With a job in hand, its predecessor's outcome is stored when it ends; with none, store it now (and look
        // again) rather than leave a finished job waiting on the next arrival.
        fetched = !!next && next !== "suspended";
      }
    } finally {
      if (fetched && next && next !== "suspended") await this.#giveBack(next).catch(() => {});
      if (finish) await this.#store(finish).catch((e) => this.#log("error", `Could not store a job's outcome: ${e}`));
      if (horse) this.#retire(horse);
      for (const h of spares) this.#retire(h);
    }
  }

  /** Returns a job this slot took but did not start (a stopping worker) to the front of its queue. */
  async #giveBack(d: Dequeued): Promise<void> {
    this.#held.delete(d.id);
    await this.connection.eval(GIVE_BACK, [], [d.id, this.name, d.queue]);
    await this.connection.call(["SREM", this.#heldKey, d.id]);
  }

  /** Runs one dequeued (already started) job in `horse`; returns the outcome to store. */
  async #perform(horse: Horse, next: Dequeued): Promise<Finish> {
    const startedMicros = nowMicros();
    const job = new Job(next.id, this.connection, this.serializer);
    let outcome: HorseOutcome;
    let timeout = DEFAULT_JOB_TIMEOUT;
    try {
      job.restore(next.raw);
      job.origin ||= next.queue;
      timeout = job.timeout ?? DEFAULT_JOB_TIMEOUT;
      this.#log("info", `${next.queue}: ${job.description ?? job.funcName} (${job.id})`);
      this.#running.set(job.id, { job, startedMicros, timeout });
      outcome = await horse.run(job.toWire(), { timeout, jobRoot: this.jobRoot, redisUrl: this.#redisUrl });
    } catch (error) {
      job.origin ||= next.queue;
      outcome = { ok: false, horseDied: false, excString: describeError(error) };
    } finally {
      this.#running.delete(job.id);
    }
    if (!outcome.ok && outcome.horseDied && this.#cold) {
      outcome.excString =
        `Worker was shut down (cold) while the job ran: its work-horse was killed.\n${outcome.excString}`;
    }
    this.jobsDone++;
    const now = nowMicros();
    const common = [
      job.id,
      job.origin,
      String(nowSeconds()),
      formatMicros(now),
    ];
    const tail = [
      formatMicros(startedMicros),
      this.key,
      String((now - startedMicros) / 1e6),
      this.name,
      formatMicros(startedMicros),
    ];
    if (outcome.ok) {
      const ttl = job.resultTtl ?? this.#options.defaultResultTtl ?? DEFAULT_RESULT_TTL;
      this.#log("info", `${next.queue}: Job OK (${job.id})`);
      if (ttl > 0) this.#log("info", `Result is kept for ${ttl} seconds`);
      else if (ttl === 0) this.#log("info", "Result discarded immediately");
      else this.#log("info", "Result will never expire, clean up result key manually");
      const fields = ["type", RESULT_TYPES.successful];
      if (outcome.returnValue !== null) fields.push("return_value", outcome.returnValue);
      return { kind: "success", args: [...common, String(ttl), ...tail, ...fields] };
    }
    this.#log("error", `${next.queue}: ${job.id}: ${outcome.excString.trimEnd().split("\n")[0]}`);
    this.#log("debug", outcome.excString);
    return {
      kind: "failure",
      args: [
        ...common,
        job.failureTtl === null ? "" : String(job.failureTtl),
        ...tail,
        "failed",
        ...failureFields(outcome.excString),
      ],
    };
  }
}
