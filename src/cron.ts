// RQ 2.x's rq/cron.py: CronJob (a function enqueued on a cron string or every N seconds) and CronScheduler (the
// process that enqueues them, `rqts cron CONFIG`), registered under RQ 2.x's keys so its tooling lists it. Unlike
// RQ's, any number of schedulers may run one schedule: each tick is claimed and enqueued in one script
// (lua/cron_enqueue.ts), so it is enqueued exactly once.

import { Cron } from "croner";
import { isAbsolute, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { Connection, type ConnectionOption } from "./connection.ts";
import * as registry from "./cron_scheduler_registry.ts";
import { DEFAULT_RESULT_TTL } from "./defaults.ts";
import { RqtsError } from "./errors.ts";
import { funcNameOf, type FunctionReference } from "./func_ref.ts";
import { cronSchedulerKey, cronTickKey } from "./keys.ts";
import { CRON_ENQUEUE, cronEnqueueArgs } from "./lua/cron_enqueue.ts";
import { type Duration, type JobOptions, parseDurationOption } from "./options.ts";
import { Queue } from "./queue.ts";
import { getRuntime } from "./runtime.ts";
import { parseUtc, utcFormat } from "./utils.ts";
import { consoleLogger, type Logger, type LogLevel } from "./worker_options.ts";

/** What a scheduler does with ticks that passed while no scheduler of the entry ran. */
export type MissedTicks = "skip" | "catchUp";

/** The job options a cron entry passes to each job it enqueues (RQ's `CronJob` job options). */
export type CronJobOptions = Pick<JobOptions, "jobTimeout" | "resultTtl" | "ttl" | "failureTtl" | "meta">;

/** Options of {@link CronScheduler.register}: when, with what, and the options of each job. */
export interface CronRegisterOptions extends CronJobOptions {
  /** Positional arguments of each job. */
  args?: unknown[];
  /** Keyword arguments of each job. */
  kwargs?: Record<string, unknown>;
  /**
   * A cron string: 5 fields (minute resolution), or 6 with seconds first (`"*\/10 * * * * *"`: every 10 s), or a
   * nickname (`"@hourly"`). Parsed by croner. Exactly one of `cron` and `interval`.
   */
  cron?: string;
  /** Enqueue every this many seconds (or `"5m"`), the first time at once, as RQ. Exactly one of `cron`, `interval`. */
  interval?: Duration;
  /** IANA time zone the cron string is read in (`"Europe/Berlin"`). Default: UTC, as RQ. Not with `interval`. */
  timezone?: string;
  /**
   * Ticks that passed while no scheduler of this entry ran: `"skip"` them (RQ's behaviour), or `"catchUp"`: enqueue
   * each, oldest first (at most {@link MAX_CATCH_UP} of them, the latest). Default `"skip"`.
   */
  missed?: MissedTicks;
  /**
   * The entry's identity across processes and restarts (letters, digits, `_`, `-`): schedulers running an entry of
   * the same id share its ticks. Default: derived from the function, queue, arguments and timing, so every process
   * loading one config agrees.
   */
  id?: string;
}

/** One entry of a cron config module's default export (`rqts cron CONFIG`): RQ's `cron.register(...)` arguments. */
export interface CronEntry extends CronRegisterOptions {
  /** The job function: a `job()` function or a reference (`"./jobs.ts#cleanup"`, `"app.tasks.cleanup"`). */
  func: FunctionReference;
  /** The queue each job goes to. */
  queueName: string;
}

/** A cron config or cron entry that cannot be used; the message says what to change. */
export class CronConfigError extends RqtsError {}

/** Most missed ticks one entry catches up on (the latest ones), so a long outage does not flood its queue. */
export const MAX_CATCH_UP = 100;
/** A tick this many ms past when a scheduler reaches it counts as missed (a shorter delay is only lateness). */
export const MISSED_AFTER_MS = 1000;
/** Seconds between heartbeats (RQ's registry counts a scheduler stale after 120 s without one). */
export const CRON_HEARTBEAT_INTERVAL = 30;
// RQ's key lifetimes: the scheduler hash lives 60 s after its birth and 120 s after each heartbeat.
const BIRTH_TTL = 60;
const HEARTBEAT_TTL = 120;
// A tick claim key outlives its entry's period several times over, and at least a month, so a restart after a long
// stop still knows the entry's last tick (missed: "catchUp") and interval entries keep their rhythm.
const CLAIM_KEEP_MIN = 30 * 86400;
// Most ms one sleep lasts (a clock jump does not leave the scheduler asleep for long).
const MAX_SLEEP_MS = 60_000;

const ID_FORM = /^[A-Za-z0-9_-]+$/;
const REGISTER_OPTIONS = [
  "args",
  "kwargs",
  "cron",
  "interval",
  "timezone",
  "missed",
  "id",
  "jobTimeout",
  "resultTtl",
  "ttl",
  "failureTtl",
  "meta",
];

// 64-bit FNV-1a of the text's UTF-8 bytes, as 16 hex digits: a stable entry id that every runtime computes alike.
function fnv1a64(text: string): string {
  let h = 0xcbf29ce484222325n;
  for (const byte of new TextEncoder().encode(text)) h = ((h ^ BigInt(byte)) * 0x100000001b3n) & 0xffffffffffffffffn;
  return h.toString(16).padStart(16, "0");
}

// croner puts seconds first in a 6-field string, croniter (RQ's parser, which RQ's tooling runs on the stored
// string) last: the stored form moves them, so `CronScheduler.all()` in Python reads the same schedule.
function croniterForm(cron: string): string {
  const fields = cron.trim().split(/\s+/);
  return fields.length === 6 ? [...fields.slice(1), fields[0]].join(" ") : fields.join(" ");
}

/** RQ's `CronJob`: one function enqueued on a cron string or an interval. */
export class CronJob {
  readonly funcName: string;
  readonly queueName: string;
  readonly args: unknown[];
  readonly kwargs: Record<string, unknown>;
  readonly cron: string | null;
  /** Seconds between enqueues, or null for a cron entry. */
  readonly interval: number | null;
  readonly timezone: string | null;
  readonly missed: MissedTicks;
  /** The entry's id: its tick claims are `rqts:cron:tick:<id>`, its jobs `cron-<id>-<tick seconds>`. */
  readonly id: string;
  readonly jobOptions: CronJobOptions;
  /** When this process last enqueued the entry's job, and the entry's next tick (RQ's fields). */
  latestEnqueueTime: Date | null = null;
  nextEnqueueTime: Date | null = null;
  readonly #pattern: Cron | null;

  /**
   * @throws {CronConfigError} for a bad cron string, time zone, interval or option; {TypeError|RangeError} for a bad
   * job option; {FunctionReferenceError} for a plain function.
   */
  constructor(func: FunctionReference, queueName: string, options: CronRegisterOptions = {}) {
    const where = `cron entry for ${typeof func === "string" ? func : func?.name || "a function"}`;
    if (typeof queueName !== "string" || queueName === "") {
      throw new CronConfigError(`${where}: queueName: received ${String(queueName)}; give a queue name.`);
    }
    for (const k of Object.keys(options)) {
      if (!REGISTER_OPTIONS.includes(k)) {
        throw new CronConfigError(`${where}: unknown option '${k}'. Allowed: ${REGISTER_OPTIONS.join(", ")}.`);
      }
    }
    const { args, kwargs, cron, interval, timezone, missed, id, ...jobOptions } = options;
    if ((cron === undefined) === (interval === undefined)) {
      throw new CronConfigError(
        `${where}: give exactly one of cron (e.g. "*/5 * * * *") and interval (seconds, e.g. 60 or "1m"); ` +
          `received ${cron === undefined ? "neither" : "both"}.`,
      );
    }
    if (missed !== undefined && missed !== "skip" && missed !== "catchUp") {
      throw new CronConfigError(`${where}: missed: received ${String(missed)}; expected "skip" or "catchUp".`);
    }
    if (id !== undefined && (typeof id !== "string" || !ID_FORM.test(id))) {
      throw new CronConfigError(`${where}: id: received ${String(id)}; use letters, digits, '_' and '-' only.`);
    }
    this.funcName = funcNameOf(func);
    this.queueName = queueName;
    // Validates args, kwargs and the job options now, not at the first tick.
    const data = Queue.prepareData(this.funcName, { args, kwargs, ...jobOptions });
    this.args = data.args;
    this.kwargs = data.kwargs;
    this.jobOptions = jobOptions;
    this.missed = missed ?? "skip";
    this.timezone = timezone ?? null;
    if (cron !== undefined) {
      if (typeof cron !== "string") {
        throw new CronConfigError(`${where}: cron: received ${typeof cron}; give a string.`);
      }
      try {
        this.#pattern = new Cron(cron, { timezone, mode: "5-or-6-parts" });
        this.#pattern.nextRun(); // an unknown time zone is only found when a date is computed
      } catch (error) {
        throw new CronConfigError(
          `${where}: ${timezone === undefined ? "" : `timezone ${JSON.stringify(timezone)} or `}cron ` +
            `${JSON.stringify(cron)}: ${(error as Error).message}. A cron string has 5 fields (minute hour ` +
            `day-of-month month day-of-week) or 6 with seconds first; a time zone is an IANA name such as "Europe/Berlin".`,
        );
      }
      this.cron = cron;
      this.interval = null;
    } else {
      if (timezone !== undefined) {
        throw new CronConfigError(`${where}: timezone applies to cron strings only; drop it or use cron.`);
      }
      this.interval = parseDurationOption("interval", interval, { min: 1, zero: false });
      this.cron = null;
      this.#pattern = null;
    }
    this.id = id ?? fnv1a64(
      JSON.stringify([this.funcName, queueName, this.args, this.kwargs, this.cron, this.interval, this.timezone]),
    );
  }

  /** The first tick strictly after `after` (epoch ms), or Infinity when the cron string has none. */
  nextTick(after: number): number {
    if (this.#pattern) return this.#pattern.nextRun(new Date(after))?.getTime() ?? Infinity;
    return after + this.interval! * 1000;
  }

  /**
   * The tick to enqueue next, given the entry's latest enqueued tick (`last`, from any scheduler; null: none yet)
   * and now: the following tick when it is due, else what `missed` says about the ticks that passed.
   */
  nextDue(last: number | null, now: number): number {
    if (last === null) {
      // No history: cron entries wait for their next tick and interval entries start at once, as RQ's.
      return this.#pattern ? this.nextTick(now - 1) : Math.floor(now / 1000) * 1000;
    }
    const next = this.nextTick(last);
    if (next >= now - MISSED_AFTER_MS) return next;
    if (this.missed === "skip") return this.#pattern ? this.nextTick(now - 1) : this.#gridAtOrAfter(last, now);
    // Catch up on the latest MAX_CATCH_UP missed ticks.
    if (this.#pattern) {
      const recent = this.#pattern.previousRuns(MAX_CATCH_UP, new Date(now + 1));
      const oldest = recent.length ? recent[recent.length - 1].getTime() : next;
      return Math.max(next, oldest);
    }
    const step = this.interval! * 1000;
    return Math.max(next, this.#gridAtOrAfter(last, now) - (MAX_CATCH_UP - 1) * step);
  }

  // The first tick of an interval entry's rhythm (last + k × interval) at or after `now`.
  #gridAtOrAfter(last: number, now: number): number {
    const step = this.interval! * 1000;
    return last + Math.ceil((now - last) / step) * step;
  }

  /** Seconds an entry's claim key lives: several of its periods, and at least a month. */
  get claimKeep(): number {
    const period = this.interval ?? (() => {
      const [a, b] = this.#pattern!.nextRuns(2);
      return a && b ? (b.getTime() - a.getTime()) / 1000 : 0;
    })();
    return Math.max(CLAIM_KEEP_MIN, Math.ceil(period * 3));
  }

  /** The least gap between two ticks that the claim accepts: an interval entry's interval (so schedulers started
   * apart keep one rhythm), 1 ms for cron (any later tick). */
  get claimGap(): number {
    return this.interval === null ? 1 : this.interval * 1000;
  }

  /** RQ's `CronJob.to_dict()`, as stored in the scheduler's `cron_jobs` field (plus `timezone`, `missed`, `id`). */
  toDict(): Record<string, unknown> {
    const o = this.jobOptions;
    const seconds = (name: string, v: Duration | null | undefined) =>
      v === undefined || v === null ? undefined : parseDurationOption(name, v, { min: -1, zero: true });
    const dict: Record<string, unknown> = {
      func_name: this.funcName,
      queue_name: this.queueName,
      args: this.args.length ? JSON.stringify(this.args) : null,
      kwargs: Object.keys(this.kwargs).length ? JSON.stringify(this.kwargs) : null,
      interval: this.interval,
      cron: this.cron === null ? null : croniterForm(this.cron),
      latest_enqueue_time: this.latestEnqueueTime ? utcFormat(this.latestEnqueueTime) : null,
      next_enqueue_time: this.nextEnqueueTime && Number.isFinite(this.nextEnqueueTime.getTime())
        ? utcFormat(this.nextEnqueueTime)
        : null,
      job_timeout: seconds("jobTimeout", o.jobTimeout),
      result_ttl: seconds("resultTtl", o.resultTtl) ?? DEFAULT_RESULT_TTL,
      ttl: seconds("ttl", o.ttl),
      failure_ttl: seconds("failureTtl", o.failureTtl),
      meta: o.meta ? JSON.stringify(o.meta) : undefined,
      timezone: this.timezone ?? undefined,
      missed: this.missed,
      id: this.id,
    };
    for (const k of Object.keys(dict)) if (dict[k] === undefined) delete dict[k];
    return dict;
  }
}

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
