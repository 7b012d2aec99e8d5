// RQ's Worker.work loop, for one concurrency slot: a horse, and the jobs it runs one after another. RQ forks a horse
// per job and dequeues between jobs; an rqts slot keeps its horse, stores the last outcome and takes the next job in
// one round trip while a job runs (so Redis time hides behind job time), and sends short jobs to the horse in batches.

import { type BatchContext, runBatch } from "./batch.ts";
import { Deadline } from "./deadline.ts";
import type { Dequeuer, Taken } from "./dequeuer.ts";
import type { Finish } from "./finish.ts";
import type { Horse } from "./horse.ts";
import type { Dequeued } from "./ledger.ts";
import { sleep } from "./utils.ts";

/** Most jobs taken ahead at once, to go to a horse in one message. */
export const BATCH_MAX = 8;
/** Jobs are batched only in a slot whose last jobs each took less than this, ms. */
const BATCH_JOB_MS = 10;

/** What a slot needs of its worker; one host is shared by all the worker's slots. */
export interface SlotHost extends BatchContext {
  dequeuer: Dequeuer;
  concurrency: number;
  /** 0: no limit. */
  maxJobsPerHorse: number;
  /**
   * Slots without a job in hand: starting, or waiting for work. While there is one, no slot takes a job ahead (that
   * job is the hungry slot's to run now).
   */
  hungry: number;
  stopping(): boolean;
  spawnHorse(): Horse;
  retire(horse: Horse): void;
  /** Whether the worker's liveness key was last set longer ago than its refresh period allows. */
  readonly livenessOverdue: boolean;
  /** Sets the liveness key now; a lapse found bumps the ledger's epoch. */
  refreshLiveness(): Promise<void>;
  /** Redis says the workers are suspended: says so (once), and waits a while. */
  suspended(): Promise<void>;
  /** Work goes on (no longer suspended). */
  resumed(): void;
  /** Whether the worker has a `maxJobs` (then {@link jobBudget} and {@link reserved} are kept). */
  readonly limitJobs: boolean;
  /** How many more jobs this worker may take (its `maxJobs` left; Infinity: no limit). */
  jobBudget(): number;
  /** Jobs being taken right now (dequeues in flight), which the budget already counts. */
  reserved: number;
}

/** A loop step's verdict: go round again, or end the slot. */
type Step = "next" | "stop";

/** One concurrency slot: its own horse, running one job (or one batch) at a time. */
export class Slot {
  readonly #host: SlotHost;
  readonly #burst: boolean;
  #horse: Horse | undefined;
  /** With one job per horse, process start-up is the cost: keep two horses starting ahead of need. */
  readonly #spares: Horse[] = [];
  readonly #sparesWanted: number;
  /** The last outcomes, not stored yet. */
  #finishes: Finish[] = [];
  #next: Taken = null;
  /** Whether `#next` is the answer of a dequeue made since the last jobs started. */
  #fetched = false;
  /** The longest job of the slot's last batch, ms (Infinity: none yet). Jobs are batched only behind short ones. */
  #slowestMs = Infinity;
  /** Whether this slot counts in the host's `hungry`. */
  #hungry = true;
  /**
   * Whether the jobs in hand were taken by a wait for work that left their queue empty: taking ahead while they run
   * would most likely find nothing (a script call per job for nothing, in the path of latency).
   */
  #woke = false;
  /** The running job's "taking long" point (see RELEASE_AFTER_MS). */
  readonly #slow = new Deadline();

  constructor(host: SlotHost, burst: boolean) {
    this.#host = host;
    this.#burst = burst;
    this.#sparesWanted = host.maxJobsPerHorse === 1 ? 2 : 1;
    host.hungry++;
  }

  /** Runs jobs until the worker stops (or, in burst mode, the queues are empty). */
  async run(): Promise<void> {
    try {
      let step: Step;
      do step = await this.#step(); while (step === "next");
    } finally {
      await this.#end();
    }
  }

  async #step(): Promise<Step> {
    if (!this.#horseUsable() && !await this.#newHorse()) {
      if (this.#host.stopping()) return "stop";
      await sleep(1000);
      return "next";
    }
    if (this.#fetched) this.#fetched = false;
    else if (this.#host.limitJobs && this.#host.jobBudget() <= 0) return await this.#budgetSpent();
    else await this.#take();
    const next = this.#next;
    this.#setHungry(!next || next === "suspended");
    if (next === "suspended") {
      if (this.#burst) return "stop";
      await this.#host.suspended();
      return "next";
    }
    this.#host.resumed();
    if (!next) return await this.#idle();
    if (this.#host.stopping()) {
      this.#next = null;
      await this.#host.ledger.giveBack(next);
      return "stop";
    }
    await this.#run(this.#horse!, next);
    return "next";
  }

  /**
   * The worker's maxJobs are all taken (run, running or in hand elsewhere): stores the outcomes left and looks again
   * shortly (a job given back frees its place; the worker stops once the last one is done).
   */
  async #budgetSpent(): Promise<Step> {
    this.#next = null;
    this.#setHungry(true);
    await Promise.all(this.#finishes.splice(0).map((f) => this.#host.store(f)));
    await sleep(100);
    return this.#host.stopping() ? "stop" : "next";
  }

  /** Whether the slot's horse can take more jobs (alive, below its job limit). */
  #horseUsable(): boolean {
    const horse = this.#horse;
    const max = this.#host.maxJobsPerHorse;
    return !!horse && !horse.dead && !(max && horse.jobsRun >= max);
  }

  /** A ready horse before taking a job, so a horse that cannot start never costs a job. False: it did not start. */
  async #newHorse(): Promise<boolean> {
    const host = this.#host;
    if (this.#horse) host.retire(this.#horse);
    const horse = this.#horse = this.#spares.shift() ?? host.spawnHorse();
    // Outcomes do not wait for a horse to start (after one died, say): a worker killed meanwhile would lose them.
    const stored = Promise.all(horse.isReady ? [] : this.#finishes.splice(0).map((f) => host.store(f)));
    try {
      await horse.ready;
    } catch {
      await stored;
      host.retire(horse);
      this.#horse = undefined;
      return false;
    }
    await stored;
    return true;
  }

  /** Stores the last outcomes and takes the next jobs into `#next` (called when no dequeue took them already). */
  async #take(): Promise<void> {
    const host = this.#host;
    // (Not under maxJobs: the wait may take two jobs, where the budget reserves one.)
    if (
      this.#woke && !this.#burst && this.#finishes.length === 1 && host.concurrency === 1 &&
      host.dequeuer.takesInWait && !host.limitJobs
    ) await this.#storeAndWait();
    if (!this.#fetched) {
      // The last outcome goes with the dequeue; any others in the same write, ahead of it, so that a job one of them
      // sends back to its queue (a retry) is there for the dequeue to see (a burst worker would otherwise end with it
      // queued).
      const last = this.#finishes.pop();
      const d = host.dequeuer;
      host.reserved++;
      try {
        const stores = this.#finishes.length ? [d.storeAll(this.#finishes)] : [];
        const [next] = await Promise.all([d.finishAndDequeue(last), ...stores]);
        this.#next = next;
      } finally {
        host.reserved--;
      }
      this.#finishes = [];
      this.#woke = false;
    }
    this.#fetched = false;
  }

  /**
   * The job came to an idle worker and found its queue empty: its outcome is stored and the wait for the next starts
   * in one write (see Dequeuer.waitAndTake).
   */
  async #storeAndWait(): Promise<void> {
    const d = this.#host.dequeuer;
    const last = this.#finishes.pop()!;
    const taking = await d.waitAndTake(last);
    let next = taking.next;
    this.#woke = !taking.more;
    if (!taking.stored) {
      const more = await d.finishAndDequeue(last);
      next = Array.isArray(next) && Array.isArray(more) ? [...next, ...more] : Array.isArray(next) ? next : more;
    } else if (!next && taking.error) await d.waitFailed(taking.error);
    this.#next = next;
    if (next) this.#fetched = true;
  }

  /** No job: waits for work (in burst mode, or when stopping, the slot ends). */
  async #idle(): Promise<Step> {
    if (this.#burst || this.#host.stopping()) return "stop";
    const host = this.#host;
    if (host.limitJobs && host.jobBudget() <= 0) return await this.#budgetSpent();
    host.reserved++;
    let woken;
    try {
      woken = await host.dequeuer.waitForWork();
    } finally {
      host.reserved--;
    }
    this.#woke = !woken.more;
    // Claimed before anything else: jobs the wait took are this slot's to run (or give back, when stopping).
    if (woken.jobs) {
      this.#next = woken.jobs;
      woken.jobs = null;
      this.#fetched = true;
    } else if (this.#host.stopping()) return "stop";
    return "next";
  }

  /**
   * Runs `next` in `horse`. Meanwhile stores the previous outcomes and takes the next jobs (they wait, started, in
   * this slot), which are in `#next` when it returns.
   */
  async #run(horse: Horse, next: Dequeued[]): Promise<void> {
    const host = this.#host;
    this.#startSpares(horse, next.length);
    const { jobs, heldIds } = await this.#claim(next);
    if (!jobs.length) return;
    const take = this.#aheadCount(horse, jobs.length);
    // One script stores the first outcome and takes the jobs; the other outcomes and held-set removals go in the
    // same write.
    const ahead = take ? this.#takeAhead(take, heldIds[0] ?? "") : Promise.resolve(null);
    const stores = host.storeAll(this.#finishes.slice(take ? 1 : 0));
    host.ledger.unhold(...heldIds.slice(take ? 1 : 0));
    this.#finishes = [];
    // The commands taking the jobs out of the held set must be on the socket before the jobs reach their horse:
    // a worker killed after that leaves jobs that ran nowhere in the held set (which would run them again).
    if (heldIds.length) await host.connection.flushed();
    // When a job turns out long, all but one of the jobs taken ahead go back to their queue instead of waiting.
    let trimmed: Promise<void> | undefined;
    const trim = take > 1
      ? () =>
        void (trimmed ??= ahead.then((taken) =>
          Array.isArray(taken) && taken.length > 1 ? host.ledger.giveBack(taken.splice(1)) : undefined
        ))
      : undefined;
    const [ran, got] = await Promise.all([runBatch(horse, jobs, this.#slow, trim, host), ahead, stores]);
    await trimmed;
    this.#finishes = ran.finishes;
    this.#slowestMs = ran.slowestMs;
    // Jobs after one that killed its horse never started: back to the front of their queues, in order. (Jobs
    // released behind a long one went back as soon as the horse let them go.)
    await host.ledger.giveBack(ran.notStarted);
    this.#next = got;
    // With jobs in hand, their predecessors' outcomes are stored when they start; with none, store them now (and
    // look again) rather than leave finished jobs waiting on the next arrival.
    this.#fetched = !!got && got !== "suspended";
  }

  /** When this horse is about to reach its job limit, the next ones start now, while these `n` jobs run. */
  #startSpares(horse: Horse, n: number): void {
    const max = this.#host.maxJobsPerHorse;
    if (!max || horse.jobsRun + n < max) return;
    while (this.#spares.length < this.#sparesWanted) this.#spares.push(this.#host.spawnHorse());
  }

  /**
   * The jobs of `next` to run now, and which of them were taken ahead (they leave the held set as they go to the
   * horse). Jobs taken ahead before the worker was presumed dead go back instead: another worker may have given them
   * back and run them meanwhile.
   */
  async #claim(next: Dequeued[]): Promise<{ jobs: Dequeued[]; heldIds: string[] }> {
    const ledger = this.#host.ledger;
    // Before jobs taken ahead start: when the liveness key was last set longer ago than its refresh period allows
    // (the process was frozen, or its event loop stalled, past the refresh timer), set it now, so a lapse is found
    // (and the epoch bumped) before they run rather than at the next timer. No await in the usual case (the timer
    // sets the key every third of its TTL).
    if (this.#host.livenessOverdue && ledger.holds(next)) await this.#host.refreshLiveness();
    const jobs: Dequeued[] = [];
    const heldIds: string[] = [];
    for (const d of next) {
      const wasHeld = ledger.held.delete(d.id);
      if (wasHeld && d.epoch !== ledger.epoch) {
        await ledger.giveBack([d]);
        continue;
      }
      if (wasHeld) heldIds.push(d.id);
      jobs.push(d);
    }
    return { jobs, heldIds };
  }

  /**
   * How many jobs to take ahead while `n` jobs run in `horse`: none while another slot is idle (the next job is its to
   * run now, not this one's later; a slot between two jobs it holds is not idle: counting running jobs instead sent a
   * fifth of all jobs at concurrency 4 through three round trips instead of one), nor behind jobs a wait took from an
   * emptied queue; behind short jobs up to BATCH_MAX, to go to the horse in one message; within the horse's job limit.
   */
  #aheadCount(horse: Horse, n: number): number {
    if (this.#host.hungry !== 0 || this.#woke) return 0;
    let take = this.#slowestMs < BATCH_JOB_MS ? BATCH_MAX : 1;
    if (this.#host.limitJobs) take = Math.max(0, Math.min(take, this.#host.jobBudget()));
    const max = this.#host.maxJobsPerHorse;
    if (!max) return take;
    const room = max - horse.jobsRun - n; // left in this horse after these jobs
    return Math.min(take, room > 0 ? room : max);
  }

  /** Stores the first outcome and takes `take` jobs ahead, recorded as held; `started` leaves the held set. */
  #takeAhead(take: number, started: string): Promise<Taken> {
    const host = this.#host;
    host.reserved += take;
    return host.dequeuer.finishAndDequeue(this.#finishes[0], true, started, take).then((taken) => {
      host.reserved -= take;
      if (taken && taken !== "suspended") host.ledger.hold(taken);
      return taken;
    }, (error) => {
      host.reserved -= take;
      throw error;
    });
  }

  #setHungry(hungry: boolean): void {
    if (hungry === this.#hungry) return;
    this.#hungry = hungry;
    this.#host.hungry += hungry ? 1 : -1;
  }

  /** Gives back jobs in hand and stores the outcomes left; retires the horses. */
  async #end(): Promise<void> {
    const host = this.#host;
    this.#slow.dispose();
    this.#setHungry(false);
    const next = this.#next;
    if (this.#fetched && next && next !== "suspended") await host.ledger.giveBack(next).catch(() => {});
    for (const f of this.#finishes) {
      await host.store(f).catch((e) => host.log("error", `Could not store a job's outcome: ${e}`));
    }
    if (this.#horse) host.retire(this.#horse);
    for (const h of this.#spares) host.retire(h);
  }
}
