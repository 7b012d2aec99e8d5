// RQ 2.x's CronScheduler (rq/cron.py): the process that enqueues CronJobs (cron_job.ts) on their ticks, `rqts cron
// CONFIG`, registered under RQ 2.x's keys so its tooling lists it. Unlike RQ's, any number of schedulers may run one
// schedule: each tick is claimed and enqueued in one script (lua/cron_enqueue.ts), so it is enqueued exactly once.

import { isAbsolute, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { Connection, type ConnectionOption } from "./connection.ts";
import { CronConfigError, type CronEntry, CronJob, type CronRegisterOptions } from "./cron_job.ts";
import * as registry from "./cron_scheduler_registry.ts";
import type { FunctionReference } from "./func_ref.ts";
import { cronSchedulerKey, cronTickKey } from "./keys.ts";
import { CRON_ENQUEUE, cronEnqueueArgs } from "./lua/cron_enqueue.ts";
import { Queue } from "./queue.ts";
import { getRuntime } from "./runtime.ts";
import { parseUtc, utcFormat } from "./utils.ts";
import { consoleLogger, type Logger, type LogLevel } from "./worker_options.ts";

/** Seconds between heartbeats (RQ's registry counts a scheduler stale after 120 s without one). */
export const CRON_HEARTBEAT_INTERVAL = 30;
// RQ's key lifetimes: the scheduler hash lives 60 s after its birth and 120 s after each heartbeat.
const BIRTH_TTL = 60;
const HEARTBEAT_TTL = 120;
// Most ms one sleep lasts (a clock jump does not leave the scheduler asleep for long).
const MAX_SLEEP_MS = 60_000;

/** A registered cron scheduler, rqts' or Python RQ 2.x's, as {@link CronScheduler.all} reads it. */
export interface CronSchedulerInfo {
  name: string;
  hostname: string;
  pid: number;
  createdAt: Date | null;
  /** The config it loaded ('' when registered from code). */
  configFile: string;
  /** Its score in `rq:cron_schedulers`: registration or last heartbeat. */
  lastHeartbeat: Date | null;
  /** Its entries as stored: RQ's `CronJob.to_dict()` fields (`func_name`, `queue_name`, `cron`, `interval`, …). */
  cronJobs: Record<string, unknown>[];
}

/** Options of `new CronScheduler()`. */
export interface CronSchedulerOptions {
  /** Redis URL, node-redis client, or nothing (`REDIS_URL`, else redis://127.0.0.1:6379). */
  connection?: ConnectionOption;
  /** Scheduler name. Default: `<hostname>:<pid>:<6 hex digits>`, as RQ. */
  name?: string;
  /** Default `"info"`. */
  logLevel?: LogLevel;
  /** Where log lines go. Default: the console, at `logLevel`. */
  logger?: Logger;
}

/**
 * RQ 2.x's `CronScheduler`: enqueues registered functions on their cron strings or intervals until stopped,
 * registered in `rq:cron_schedulers` and `rq:cron_scheduler:<name>` as RQ's. Run several on one schedule for
 * availability: each tick is enqueued once.
 *
 * @example Every 10 seconds, and at 09:30 Berlin time on weekdays
 * ```ts
 * import { CronScheduler } from "@rqts/rqts";
 * const cron = new CronScheduler({ connection: "redis://127.0.0.1:6379" });
 * cron.register("./jobs.ts#ping", "default", { interval: 10 });
 * cron.register("./jobs.ts#report", "low", { cron: "30 9 * * 1-5", timezone: "Europe/Berlin" });
 * await cron.start(); // until SIGINT/SIGTERM or cron.stop()
 * ```
 */
export class CronScheduler {
  readonly connection: Connection;
  readonly name: string;
  readonly hostname: string;
  readonly pid: number;
  readonly createdAt: Date = new Date();
  configFile = "";
  readonly #jobs: CronJob[] = [];
  readonly #queues = new Map<string, Queue>();
  readonly #logger: Logger;
  #stopped = false;
  #wake: (() => void) | null = null;

  constructor(options: CronSchedulerOptions = {}) {
    const known = ["connection", "name", "logLevel", "logger"];
    for (const k of Object.keys(options)) {
      if (!known.includes(k)) throw new TypeError(`Unknown CronScheduler option '${k}'. Allowed: ${known.join(", ")}.`);
    }
    const runtime = getRuntime();
    this.connection = Connection.resolve(options.connection);
    this.hostname = runtime.hostname();
    this.pid = runtime.pid();
    this.name = options.name ??
      `${this.hostname}:${this.pid}:${crypto.randomUUID().replaceAll("-", "").slice(0, 6)}`;
    this.#logger = options.logger ?? consoleLogger(options.logLevel ?? "info");
  }

  /**
   * RQ's `CronScheduler.all()`: every registered cron scheduler, rqts' and Python's, oldest heartbeat first. With
   * `cleanup` (default true, as RQ) those without a heartbeat for 120 s leave the registry first.
   */
  static async all(
    options: { connection?: ConnectionOption; cleanup?: boolean } = {},
  ): Promise<CronSchedulerInfo[]> {
    const connection = Connection.resolve(options.connection);
    try {
      if (options.cleanup ?? true) await registry.cleanup(connection);
      const out: CronSchedulerInfo[] = [];
      for (const name of await registry.getKeys(connection)) {
        const [hash, score] = await connection.transaction([
          ["HGETALL", cronSchedulerKey(name)],
          ["ZSCORE", registry.getRegistryKey(), name],
        ]) as [Record<string, string> | string[], string | null];
        // HGETALL is a map on RESP3 and a flat list on RESP2.
        const h = Array.isArray(hash)
          ? Object.fromEntries(hash.flatMap((v, i) => (i % 2 ? [] : [[v, hash[i + 1]]])))
          : hash;
        if (!h || !Object.keys(h).length) continue; // its hash expired: RQ skips it too
        let cronJobs: Record<string, unknown>[] = [];
        try {
          cronJobs = JSON.parse(h.cron_jobs ?? "[]");
        } catch { /* as RQ: unreadable entries read as none */ }
        out.push({
          name,
          hostname: h.hostname ?? "",
          pid: Number(h.pid ?? 0),
          createdAt: parseUtc(h.created_at) ?? null,
          configFile: h.config_file ?? "",
          lastHeartbeat: score === null ? null : new Date(Number(score) * 1000),
          cronJobs,
        });
      }
      return out;
    } finally {
      if (!(options.connection instanceof Connection)) await connection.close();
    }
  }

  /** `rq:cron_scheduler:<name>`. */
  get key(): string {
    return cronSchedulerKey(this.name);
  }

  /**
   * RQ's `register`: enqueue `func` on `queueName` on a cron string or every `interval` seconds.
   * @throws {CronConfigError} for bad timing options (see {@link CronJob}).
   */
  register(func: FunctionReference, queueName: string, options: CronRegisterOptions = {}): CronJob {
    const job = new CronJob(func, queueName, options);
    if (this.#jobs.some((j) => j.id === job.id)) {
      throw new CronConfigError(
        `cron entry ${job.funcName} on ${queueName}: registered twice with the same timing and arguments; give ` +
          `one of them an id option to run both.`,
      );
    }
    this.#jobs.push(job);
    this.#log(
      "info",
      `Registered '${job.funcName}' to run on ${queueName} ` +
        (job.cron === null ? `every ${job.interval} seconds` : `with cron schedule '${job.cron}'`) +
        (job.timezone ? ` (${job.timezone})` : ""),
    );
    return job;
  }

  /** The registered entries. */
  getJobs(): CronJob[] {
    return [...this.#jobs];
  }

  /**
   * RQ's `load_config_from_file`: imports a config module (a path, relative to the working directory, or a URL)
   * whose default export is an array of {@link CronEntry}, and registers each entry.
   * @throws {CronConfigError} when the module cannot be imported or its export is not such an array.
   */
  async loadConfigFromFile(configPath: string): Promise<void> {
    const runtime = getRuntime();
    const url = /^[a-z][a-z0-9+.-]+:/i.test(configPath) && !/^[a-z]:[\\/]/i.test(configPath)
      ? configPath
      : pathToFileURL(isAbsolute(configPath) ? configPath : resolve(runtime.cwd(), configPath)).href;
    let module: Record<string, unknown>;
    try {
      module = await runtime.importModule(url);
    } catch (error) {
      throw new CronConfigError(
        `cron config ${configPath}: cannot import it (${(error as Error)?.message ?? error}). Give the path of a ` +
          `module (relative to the working directory) whose default export is an array of cron entries.`,
      );
    }
    const entries = module.default;
    if (!Array.isArray(entries)) {
      throw new CronConfigError(
        `cron config ${configPath}: its default export is ${entries === undefined ? "missing" : typeof entries}; ` +
          `export an array of entries: export default [{ func: "./jobs.ts#cleanup", queueName: "default", ` +
          `cron: "0 * * * *" }].`,
      );
    }
    entries.forEach((entry, i) => {
      if (entry === null || typeof entry !== "object") {
        throw new CronConfigError(`cron config ${configPath}: entry ${i} is ${String(entry)}; expected an object.`);
      }
      const { func, queueName, ...options } = entry as CronEntry;
      try {
        this.register(func, queueName, options);
      } catch (error) {
        throw new CronConfigError(`cron config ${configPath}, entry ${i}: ${(error as Error).message}`);
      }
    });
    this.configFile = configPath;
    this.#log("info", `Successfully registered ${entries.length} cron jobs from '${configPath}'`);
  }

  /**
   * RQ's `start`: registers this scheduler, enqueues each entry's ticks as they come (sleeping until the next one)
   * and heartbeats, until {@link stop}, SIGINT or SIGTERM; then deregisters. Redis errors are logged and retried
   * each second (a tick whose claim went through is never enqueued again).
   */
  async start(): Promise<void> {
    if (!this.#jobs.length) {
      throw new CronConfigError("CronScheduler.start(): no entries; register() some or load a config first.");
    }
    this.#stopped = false;
    const runtime = getRuntime();
    const unsubscribe = (["SIGINT", "SIGTERM"] as const).map((sig) =>
      runtime.onSignal(sig, () => {
        this.#log("info", `CronScheduler ${this.name}: received shutdown signal ${sig}`);
        this.stop();
      })
    );
    this.#log("info", `CronScheduler ${this.name}: starting...`);
    const due = new Map<CronJob, number>();
    let birthDone = false;
    let nextHeartbeat = 0;
    try {
      while (!this.#stopped) {
        try {
          if (!birthDone) {
            await this.registerBirth();
            birthDone = true;
            nextHeartbeat = Date.now() + CRON_HEARTBEAT_INTERVAL * 1000;
          }
          if (due.size < this.#jobs.length) await this.#loadTicks(due);
          let enqueued = false;
          for (const job of this.#jobs) {
            while (!this.#stopped && due.get(job)! <= Date.now()) {
              enqueued = (await this.#enqueueTick(job, due)) || enqueued;
            }
            job.nextEnqueueTime = new Date(due.get(job)!);
          }
          if (enqueued) await this.saveJobsData();
          if (Date.now() >= nextHeartbeat) {
            await this.heartbeat();
            nextHeartbeat = Date.now() + CRON_HEARTBEAT_INTERVAL * 1000;
          }
          const next = Math.min(nextHeartbeat, ...due.values());
          await this.#sleep(Math.min(next - Date.now(), MAX_SLEEP_MS));
        } catch (error) {
          this.#log("error", `CronScheduler ${this.name}: ${(error as Error)?.message ?? error}; retrying in 1 s`);
          await this.#sleep(1000);
        }
      }
    } finally {
      unsubscribe.forEach((off) => off());
      if (birthDone) await this.registerDeath().catch(() => {});
      this.#log("info", `CronScheduler ${this.name}: shutdown complete`);
    }
  }

  /** Ends {@link start} after the enqueue under way, if any. */
  stop(): void {
    this.#stopped = true;
    this.#wake?.();
  }

  // Each entry's next tick from its latest enqueued one (any scheduler's), in one round trip.
  async #loadTicks(due: Map<CronJob, number>): Promise<void> {
    const keys = this.#jobs.map((j) => cronTickKey(j.id));
    const values = await this.connection.call<(string | null)[]>(["MGET", ...keys]);
    const now = Date.now();
    this.#jobs.forEach((job, i) => due.set(job, job.nextDue(values[i] === null ? null : Number(values[i]), now)));
  }

  // Claims and enqueues the entry's due tick; moves its next tick on. True when this call enqueued the job.
  async #enqueueTick(job: CronJob, due: Map<CronJob, number>): Promise<boolean> {
    const tick = due.get(job)!;
    let queue = this.#queues.get(job.queueName);
    if (!queue) this.#queues.set(job.queueName, queue = new Queue(job.queueName, { connection: this.connection }));
    const built = queue._buildJob(
      Queue.prepareData(job.funcName, {
        args: job.args,
        kwargs: job.kwargs,
        ...job.jobOptions,
        jobId: `cron-${job.id}-${tick / 1000}`,
      }),
    );
    const [claimed, last] = await this.connection.eval<[number, number | string]>(
      CRON_ENQUEUE,
      ...cronEnqueueArgs({
        entryId: job.id,
        tick,
        gap: job.claimGap,
        keep: job.claimKeep,
        id: built.id,
        queue: job.queueName,
        ttl: built.ttl,
        mapping: built.mapping(),
      }),
    );
    const now = Date.now();
    due.set(job, job.nextDue(Math.max(tick, Number(last)), now));
    if (claimed !== 1) {
      this.#log("debug", `${job.funcName} at ${new Date(tick).toISOString()}: enqueued by another scheduler`);
      return false;
    }
    job.latestEnqueueTime = new Date(now);
    this.#log("info", `Enqueued job ${job.funcName} to queue ${job.queueName} (tick ${new Date(tick).toISOString()})`);
    return true;
  }

  async #sleep(ms: number): Promise<void> {
    if (this.#stopped || ms <= 0) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.#wake = null;
        resolve();
      }, ms);
      this.#wake = () => {
        clearTimeout(timer);
        this.#wake = null;
        resolve();
      };
    });
  }

  /** RQ's `to_dict()`: the scheduler's hash. */
  toDict(): Record<string, string> {
    return {
      hostname: this.hostname,
      pid: String(this.pid),
      name: this.name,
      created_at: utcFormat(this.createdAt),
      config_file: this.configFile,
      cron_jobs: JSON.stringify(this.#jobs.map((j) => j.toDict())),
    };
  }

  /** RQ's `register_birth`: joins `rq:cron_schedulers` and writes the hash (60 s TTL), in one transaction. */
  async registerBirth(): Promise<void> {
    this.#log("info", `CronScheduler ${this.name}: registering birth...`);
    await this.connection.transaction([
      registry.registerCommand(this.name, Date.now() / 1000),
      ["HSET", this.key, ...Object.entries(this.toDict()).flat()],
      ["EXPIRE", this.key, String(BIRTH_TTL)],
    ]);
  }

  /** RQ's `register_death`: leaves `rq:cron_schedulers` (and, unlike RQ, deletes its hash at once). */
  async registerDeath(): Promise<void> {
    this.#log("info", `CronScheduler ${this.name}: registering death...`);
    await this.connection.transaction([["ZREM", registry.getRegistryKey(), this.name], ["DEL", this.key]]);
  }

  /** RQ's `heartbeat`: rescores this scheduler and extends its hash to 120 s; registers again if it was dropped. */
  async heartbeat(): Promise<void> {
    const [changed] = await this.connection.transaction([
      registry.heartbeatCommand(this.name, Date.now() / 1000),
      ["EXPIRE", this.key, String(HEARTBEAT_TTL)],
    ]);
    if (changed === 0) {
      this.#log("warning", `CronScheduler ${this.name}: heartbeat found it unregistered (stale?); registering again`);
      await this.registerBirth();
    }
  }

  /** RQ's `save_jobs_data`: the entries' enqueue times, in the hash's `cron_jobs`. */
  async saveJobsData(): Promise<void> {
    await this.connection.call(["HSET", this.key, "cron_jobs", JSON.stringify(this.#jobs.map((j) => j.toDict()))]);
  }

  /** Closes the Redis client if this scheduler created it. */
  async close(): Promise<void> {
    await this.connection.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #log(level: LogLevel, message: string): void {
    this.#logger.log(level, message);
  }
}
