// RQ's rq/scheduler.py (RQScheduler): moves due jobs from a queue's scheduled registry to the queue, under RQ's
// per-queue lock `rq:scheduler-lock:<queue>`, so Python RQ 1.13 / 2.x schedulers and rqts ones share the work. Run
// by a worker started with `withScheduler` (as `rq worker --with-scheduler`).
//
// Where RQ polls once a second, this sleeps until the next due score and is woken early by a job that becomes a
// queue's earliest (its enqueue pushes the queue's wake list, which the sleep is a BLPOP on): a due job is queued
// within milliseconds, and an idle scheduler sends about two commands a second (the BLPOP's timeout is capped at
// SCHEDULER_MAX_SLEEP_MS, so jobs Python schedules, which push no wake list, are seen within a second, as RQ's).

import type { Connection, Transport } from "./connection.ts";
import { SCHEDULER_CHUNK, SCHEDULER_LOCK_TTL, SCHEDULER_MAX_SLEEP_MS } from "./defaults.ts";
import { schedulerWakeKey } from "./keys.ts";
import { ENQUEUE_SCHEDULED, enqueueScheduledArgs } from "./lua/enqueue_scheduled.ts";
import { utcNow } from "./utils.ts";
import type { LogLevel } from "./worker_options.ts";

/** What a {@link Scheduler} needs of its worker. */
export interface SchedulerOptions {
  connection: Connection;
  /** The queues whose scheduled registries it looks after. */
  queueNames: readonly string[];
  /** The lock's value (the worker's name), as RQ 2.x stores its scheduler's name. */
  name: string;
  /** Seconds the lock lives without renewal. Default {@link SCHEDULER_LOCK_TTL}. */
  lockTtl?: number;
  log(level: LogLevel, message: string): void;
}

/** What one look at a queue found. */
interface Look {
  held: boolean;
  moved: number;
  /** Milliseconds until this queue needs another look. */
  wait: number;
}

/** How much earlier than a due time a scheduler's BLPOP times out (Redis' timeout may be 100 ms late). */
const WAKE_SLACK_MS = 150;

const sleep = (ms: number, signal: { wake?: () => void }) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.wake = undefined;
      resolve();
    }
    signal.wake = done;
  });

/** A scheduler for some queues: {@link run} until {@link stop}, or {@link enqueueDue} once (burst workers). */
export class Scheduler {
  readonly #o: SchedulerOptions;
  readonly #lockTtl: number;
  readonly #held = new Set<string>();
  #stopping = false;
  #running: Promise<void> | undefined;
  /** The BLPOP's connection id while one blocks (for CLIENT UNBLOCK on stop). */
  #blocked: Promise<number> | undefined;
  readonly #napping: { wake?: () => void } = {};

  constructor(options: SchedulerOptions) {
    this.#o = options;
    this.#lockTtl = options.lockTtl ?? SCHEDULER_LOCK_TTL;
  }

  /** Queues whose lock this scheduler holds (as of its last look). */
  get acquiredLocks(): ReadonlySet<string> {
    return this.#held;
  }

  /** Looks at every queue once, moving all jobs due now (RQ's burst-mode `enqueue_scheduled_jobs`). */
  async enqueueDue(): Promise<number> {
    let moved = 0;
    for (const queue of this.#o.queueNames) {
      let look: Look;
      do {
        look = await this.#look(queue);
        moved += look.moved;
      } while (look.moved >= SCHEDULER_CHUNK);
    }
    return moved;
  }

  /** Starts the loop in the background; {@link stop} ends it. */
  start(): void {
    this.#running ??= this.#loop().catch((e) => this.#o.log("error", `Scheduler stopped: ${e?.message ?? e}`));
  }

  /** Ends the loop and releases the locks it holds. */
  async stop(): Promise<void> {
    this.#stopping = true;
    this.#napping.wake?.();
    const blocked = this.#blocked;
    if (blocked) {
      const id = await blocked.catch(() => -1);
      if (id >= 0) await this.#o.connection.call(["CLIENT", "UNBLOCK", String(id)]).catch(() => {});
    }
    await this.#running;
    await this.#release();
  }

  async #loop(): Promise<void> {
    this.#o.log("info", `Scheduler for ${this.#o.queueNames.join(", ")} started`);
    while (!this.#stopping) {
      let wait = SCHEDULER_MAX_SLEEP_MS;
      try {
        for (const queue of this.#o.queueNames) wait = Math.min(wait, (await this.#look(queue)).wait);
      } catch (error) {
        // Redis away, most likely: the worker says so; look again in a second.
        this.#o.log("debug", `Scheduler: ${(error as Error)?.message ?? error}`);
      }
      if (this.#stopping) break;
      if (wait > 0) await this.#wait(wait);
    }
  }

  /** One step on a queue: take or renew its lock and, holding it, move the jobs due now. */
  async #look(queue: string): Promise<Look> {
    const now = Date.now();
    const [held, moved, next] = await this.#o.connection.eval<[number, number, string | number]>(
      ENQUEUE_SCHEDULED,
      ...enqueueScheduledArgs({
        queue,
        owner: this.#o.name,
        lockTtl: this.#lockTtl,
        now,
        nowTs: utcNow(),
        limit: SCHEDULER_CHUNK,
      }),
    );
    if (!held) {
      if (this.#held.delete(queue)) this.#o.log("warning", `Scheduler lost the lock of ${queue} to another scheduler`);
      // Another scheduler holds the lock: look again when it would lapse, at most a second from now.
      const pttl = Number(next);
      return { held: false, moved: 0, wait: pttl > 0 ? pttl + 5 : SCHEDULER_MAX_SLEEP_MS };
    }
    if (!this.#held.has(queue)) {
      this.#held.add(queue);
      this.#o.log("info", `Scheduler acquired the lock of ${queue}`);
    }
    if (moved) this.#o.log("debug", `Scheduler queued ${moved} due job(s) of ${queue}`);
    if (moved >= SCHEDULER_CHUNK) return { held: true, moved, wait: 0 };
    // Scores are epoch seconds; a job due at 12.3456 s is looked at from then on (the ms rounded up).
    const wait = next === "" ? SCHEDULER_MAX_SLEEP_MS : Math.ceil(Number(next) * 1000) - Date.now();
    return { held: true, moved, wait: Math.max(0, wait) };
  }

  /**
   * Sleeps up to `ms`, woken early by a push on a held queue's wake list (or by stop). Redis times a blocking
   * command out on its cron (every 100 ms at the default hz 10), so up to that late: the BLPOP ends WAKE_SLACK_MS
   * early, and the last stretch to a due time is a timer of this process, which is punctual.
   */
  async #wait(ms: number): Promise<void> {
    const keys = [...this.#held].map(schedulerWakeKey);
    if (!keys.length || ms <= WAKE_SLACK_MS) return await sleep(ms, this.#napping);
    await this.#o.connection.blocking(async (client: Transport) => {
      if (this.#stopping) return;
      this.#blocked = client.clientId(); // asked before the block (it would wait behind it)
      try {
        await client.send(["BLPOP", ...keys, ((ms - WAKE_SLACK_MS) / 1000).toFixed(3)]);
      } finally {
        this.#blocked = undefined;
      }
    }).catch(() => sleep(Math.min(ms, SCHEDULER_MAX_SLEEP_MS), this.#napping));
  }

  async #release(): Promise<void> {
    for (const queue of this.#held) {
      await this.#o.connection.eval(
        ENQUEUE_SCHEDULED,
        ...enqueueScheduledArgs({ queue, owner: this.#o.name, lockTtl: 0, now: 0, nowTs: "", limit: 0 }),
      ).catch(() => {});
    }
    this.#held.clear();
  }
}
