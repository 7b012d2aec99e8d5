// RQ's Worker.perform_job / execute_job, for a batch: jobs a slot dequeued (already marked started) run one after
// another in its horse, sent in one message. RQ runs one job per fork; rqts sends a horse up to BATCH_MAX short jobs
// at once, and lets the jobs behind one that runs long go back to their queue for other slots and workers.

import type { TlsSettings } from "./connection.ts";
import { DEFAULT_JOB_TIMEOUT } from "./defaults.ts";
import type { Deadline } from "./deadline.ts";
import { type Finish, type FinishContext, finishOf } from "./finish.ts";
import type { Horse, HorseOutcome } from "./horse.ts";
import { Job, type WireJob } from "./job.ts";
import type { Dequeued, Ledger } from "./ledger.ts";
import { describeError, runStoppedCallback } from "./perform.ts";
import type { Connection } from "./connection.ts";
import type { Serializer } from "./serializer.ts";
import { nowMicros } from "./utils.ts";

/**
 * A job running longer than this, ms, releases the jobs queued behind it in its slot (the rest of its batch, and all
 * but one of those taken ahead): they go back to their queue, for other slots and workers.
 */
export const RELEASE_AFTER_MS = 50;

/** What a batch needs of its worker. */
export interface BatchContext extends FinishContext {
  connection: Connection;
  serializer: Serializer;
  ledger: Ledger;
  /** Where horses import jobs from, how they reach Redis, and the worker's name. */
  horseSettings(): { jobRoot: string; redisUrl: string; tls?: TlsSettings; worker: string };
  /** Stores an outcome now (see Dequeuer.store). */
  store(finish: Finish): Promise<void>;
  /** Stores several outcomes now, in one write (see Dequeuer.storeAll). */
  storeAll(finishes: readonly Finish[]): Promise<void>;
  /** Counts a job done (Worker.jobsDone). */
  jobDone(): void;
  /** A job failed (not stopped): for the worker's exception handlers. */
  failed?(job: Job, excString: string): void;
  /** Whether a stop-job command came for `jobId` before it started (its horse is then killed as it starts). */
  stopRequested?(jobId: string): boolean;
}

/** What a batch did: the outcomes to store, the jobs that never started, and its longest job, ms. */
export interface BatchResult {
  finishes: Finish[];
  notStarted: Dequeued[];
  slowestMs: number;
}

type Ready = { d: Dequeued; job: Job; run: { job: WireJob; timeout: number; queue: string } };

/**
 * Runs dequeued (already started) jobs in `horse`, one after another. A job running past RELEASE_AFTER_MS releases
 * the jobs after it (`horse.release()`), has the outcomes so far stored now rather than when the batch ends, and calls
 * `onSlow`; `slow` is the slot's timer for that point.
 */
export function runBatch(
  horse: Horse,
  batch: Dequeued[],
  slow: Deadline,
  onSlow: (() => void) | undefined,
  ctx: BatchContext,
): Promise<BatchResult> {
  return new BatchRun(horse, slow, onSlow, ctx).run(batch);
}

/** One batch in one horse: its jobs' progress, in fields. */
class BatchRun {
  readonly #finishes: Finish[] = [];
  /** Outcomes stored early, and released jobs given back. */
  readonly #stored: Promise<unknown>[] = [];
  #ready: Ready[] = [];
  #releasedFrom = Infinity;
  #started = 0;
  #ended = 0;
  #startedMicros = 0;
  #slowestMs = 0;

  // Declared here, not as constructor parameter properties: with those, Deno's transpiler moves every field initializer
  // into the constructor, and each batch's jobs then outlived young-generation GCs (--trace-gc-nvp: ~1 MB promoted per
  // scavenge instead of ~0.2 MB at concurrency 1, GC ticks doubled; the whole of a 0.8x Deno regression). guard_test
  // keeps parameter properties out of src/.
  readonly horse: Horse;
  readonly slow: Deadline;
  readonly onSlow: (() => void) | undefined;
  readonly ctx: BatchContext;
  constructor(horse: Horse, slow: Deadline, onSlow: (() => void) | undefined, ctx: BatchContext) {
    this.horse = horse;
    this.slow = slow;
    this.onSlow = onSlow;
    this.ctx = ctx;
  }

  async run(batch: Dequeued[]): Promise<BatchResult> {
    this.#ready = this.#restore(batch);
    if (this.#ready.length) await this.#runInHorse();
    this.slow.clear();
    await Promise.all(this.#stored);
    const notStarted = this.#ready.slice(this.#ended, this.#releasedFrom).map((r) => r.d);
    return { finishes: this.#finishes, notStarted, slowestMs: this.#slowestMs };
  }

  /** The jobs of the batch as the horse gets them; a hash this worker cannot read fails without reaching a horse. */
  #restore(batch: Dequeued[]): Ready[] {
    const ready: Ready[] = [];
    for (const d of batch) {
      const job = new Job(d.id, this.ctx.connection, this.ctx.serializer);
      try {
        job.restore(d.raw);
        job.origin ||= d.queue;
        ready.push({ d, job, run: { job: job.toWire(), timeout: job.timeout ?? DEFAULT_JOB_TIMEOUT, queue: d.queue } });
      } catch (error) {
        job.origin ||= d.queue;
        this.#finish({ d, job }, nowMicros(), { ok: false, horseDied: false, excString: describeError(error) });
      }
    }
    return ready;
  }

  async #runInHorse(): Promise<void> {
    const ready = this.#ready;
    if (ready.length > 1) {
      const ids = ready.map((r) => r.job.id).join(" ");
      this.ctx.log("debug", `Horse ${this.horse.pid}: ${ready.length} jobs in one message (${ids})`);
    }
    try {
      await this.horse.run(ready.map((r) => r.run), this.ctx.horseSettings(), {
        started: (i) => this.#onStarted(i),
        ended: (i, outcome) => this.#onEnded(i, outcome),
        released: (i) => this.#onReleased(i),
      });
    } catch (error) {
      // Not expected (the horse reports deaths as outcomes): the job it was in fails with the error.
      if (this.#started > this.#ended) {
        const r = ready[this.#ended++];
        this.ctx.ledger.running.delete(r.job.id);
        this.#finish(r, this.#startedMicros, { ok: false, horseDied: false, excString: describeError(error) });
      }
    }
  }

  #onStarted(i: number): void {
    const { d, job, run } = this.#ready[i];
    this.#started = i + 1;
    this.#startedMicros = nowMicros();
    this.ctx.log("info", `${d.queue}: ${job.description ?? job.funcName} (${job.id})`);
    const running = { job, startedMicros: this.#startedMicros, timeout: run.timeout, horse: this.horse };
    this.ctx.ledger.running.set(job.id, running);
    if (this.ctx.stopRequested?.(job.id)) void this.horse.kill();
    if (this.onSlow || i + 1 < this.#ready.length) this.slow.set(Date.now() + RELEASE_AFTER_MS, this.#onLong);
  }

  #onEnded(i: number, outcome: HorseOutcome): void {
    const r = this.#ready[i];
    this.#ended = i + 1;
    this.slow.clear();
    this.ctx.ledger.running.delete(r.job.id);
    this.#slowestMs = Math.max(this.#slowestMs, (nowMicros() - this.#startedMicros) / 1000);
    this.#finish(r, this.#startedMicros, outcome);
  }

  /** The horse let the jobs from `i` on go: back to the front of their queue now, not when the long job ends. */
  #onReleased(i: number): void {
    this.#releasedFrom = i;
    this.#stored.push(this.ctx.ledger.giveBack(this.#ready.slice(i).map((r) => r.d)));
    const n = this.#ready.length - i;
    this.ctx.log("debug", `Horse ${this.horse.pid}: ${n} job(s) behind a long one went back to their queue`);
  }

  /** The running job is taking long. */
  readonly #onLong = () => {
    // onSlow first: its give-back (jobs taken ahead, behind this batch) then reaches Redis before the release's (the
    // horse's answer takes a message each way), so the batch's own jobs end up in front of them, in order.
    this.onSlow?.();
    this.horse.release();
    if (this.#finishes.length) this.#stored.push(this.ctx.storeAll(this.#finishes.splice(0)));
  };

  async #stoppedCallback(job: Job): Promise<void> {
    const failed = await runStoppedCallback(job, this.ctx.connection, this.ctx.horseSettings().jobRoot);
    if (failed) this.ctx.log("error", `Job ${job.id}: error while executing stopped callback\n${failed}`);
  }

  #finish(r: { d: Dequeued; job: Job }, startedMicros: number, outcome: HorseOutcome): void {
    const finish = finishOf(r.job, r.d.queue, startedMicros, outcome, this.ctx);
    if (finish.kind === "failure" && finish.status === "stopped" && r.job.stoppedCallbackName) {
      // As RQ 2.x: the stopped callback runs (in the worker: the horse is gone) before the outcome is stored.
      this.#stored.push(this.#stoppedCallback(r.job).then(() => void this.#finishes.push(finish)));
    } else this.#finishes.push(finish);
    this.ctx.jobDone();
    if (!outcome.ok && finish.kind === "failure" && finish.status === "failed") {
      this.ctx.failed?.(r.job, outcome.excString);
    }
  }
}
