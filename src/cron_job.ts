// RQ 2.x's CronJob (rq/cron.py): one entry of a cron schedule, a function enqueued on a cron string (croner) or every
// N seconds, with the tick arithmetic every scheduler of that entry shares and its fields as RQ 2.x stores them.
// The process that enqueues the ticks is CronScheduler (cron.ts).

import { Cron } from "croner";
import { DEFAULT_RESULT_TTL } from "./defaults.ts";
import { RqtsError } from "./errors.ts";
import { funcNameOf, type FunctionReference } from "./func_ref.ts";
import { type Duration, type JobOptions, parseDurationOption } from "./options.ts";
import { Queue } from "./queue.ts";
import { utcFormat } from "./utils.ts";

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
// A tick claim key outlives its entry's period several times over, and at least a month, so a restart after a long
// stop still knows the entry's last tick (missed: "catchUp") and interval entries keep their rhythm.
const CLAIM_KEEP_MIN = 30 * 86400;

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
