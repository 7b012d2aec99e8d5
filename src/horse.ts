// The parent side of RQ's work horse (Worker.fork_work_horse / monitor_work_horse): one horse process, its job
// timeout, and how its death is reported. A horse that failed to start or died is never reused.

import type { TlsSettings } from "./connection.ts";
import { Deadline, within } from "./deadline.ts";
import type { CallbackMessage, DoneMessage, ReleasedMessage, ReleaseMessage, RunMessage } from "./horse_main.ts";
import type { WireJob } from "./job.ts";
import type { ExitStatus, HorseMessage, HorseProcess, Runtime, SpawnHorseOptions } from "./runtime.ts";

/** How long a horse gets to exit after SIGTERM before SIGKILL, in milliseconds. */
export const KILL_GRACE_MS = 1000;

/**
 * How long past a callback's time limit the worker waits before killing its horse, ms: the horse's own timer ends a
 * callback that awaits (and the job then fails as RQ's does); the worker's only one stuck in a synchronous loop.
 */
const CALLBACK_GRACE_MS = 2000;

/** The outcome of one job in a horse: the function's, or the horse's death. */
export type HorseOutcome =
  | { ok: true; returnValue: string | null }
  | { ok: false; excString: string; horseDied: boolean };

function deathText(status: ExitStatus): string {
  const how = status.signal ? `killed by signal ${status.signal}` : `exit code ${status.code}`;
  return `Work-horse terminated unexpectedly; ${how}`;
}

/** One horse process. */
export class Horse {
  readonly #child: HorseProcess;
  readonly ready: Promise<void>;
  #status: ExitStatus | undefined;
  #seq = 0;
  // The running job's settle function: a done message, or the horse's exit. Its death reaches the job through here,
  // never by racing `exited` per job: a reaction added to that long-lived promise per job lives as long as the
  // horse does (with the job's outcome), which leaked ~0.5 kB a job in a warm horse.
  #pending: { seq: number; resolve: (m: DoneMessage | ExitStatus) => void } | undefined;
  /** Outcomes of the running batch's jobs that arrived before their turn, by sequence number. */
  readonly #early = new Map<number, DoneMessage>();
  /** The first and last sequence numbers of the running batch (0: none). */
  #batchStart = 0;
  #batchEnd = 0;
  /** After {@link release}: the first sequence number of the batch that will not run (Infinity: all will). */
  #released: Promise<number> | undefined;
  #onReleased: ((seq: number) => void) | undefined;
  /**
   * The running batch's `released` hook. (Kept as it is, not wrapped in a closure made per batch: with that closure
   * the worker took ~0.04 ms more CPU per job on Deno, A/B over 5,000 noop jobs at concurrency 4; why, not pinned.)
   */
  #releasedHook: ((i: number) => void) | undefined;
  /** Jobs this horse has been given. */
  jobsRun = 0;
  /** Whether it has said it is ready ({@link ready} resolved). */
  isReady = false;
  /** The running job's timeout: one timer per horse, not one per job. */
  readonly #watchdog = new Deadline();
  /** Set once a job's deadline made the worker kill this horse. */
  #killedAtDeadline = false;
  /** The running job's callback started (its limit, seconds): its deadline is the callback's from then on. */
  #onCallback: ((timeout: number) => void) | undefined;
  /** Callback starts of the running batch's jobs that arrived before their turn, by sequence number. */
  readonly #earlyCallbacks = new Map<number, number>();

  constructor(runtime: Runtime, options: SpawnHorseOptions) {
    this.#child = runtime.spawnHorse(options);
    void this.#child.exited.then((s) => {
      this.#status = s;
      this.#watchdog.dispose();
      const p = this.#pending;
      this.#pending = undefined;
      p?.resolve(s);
      this.#onReleased?.(Infinity);
    });
    let onReady!: () => void;
    this.ready = new Promise<void>((resolve, reject) => {
      onReady = resolve;
      void this.#child.exited.then((s) => reject(new Error(`horse failed to start (${deathText(s)})`)));
    });
    this.ready.catch(() => {});
    this.#child.onMessage((m: HorseMessage) => {
      if (m.type === "ready") {
        this.isReady = true;
        onReady();
      } else if (m.type === "done" && this.#pending && m.seq === this.#pending.seq) {
        const p = this.#pending;
        this.#pending = undefined;
        p.resolve(m as DoneMessage);
      } else if (m.type === "done" && (m.seq as number) <= this.#batchEnd) {
        // A later job of the running batch reported before the worker got round to waiting for it.
        this.#early.set(m.seq as number, m as DoneMessage);
      } else if (m.type === "callback") {
        const { seq, timeout } = m as CallbackMessage;
        if (this.#pending?.seq === seq) this.#onCallback?.(timeout);
        else if (seq <= this.#batchEnd) this.#earlyCallbacks.set(seq, timeout);
      } else if (m.type === "released" && (m as ReleasedMessage).batch === this.#batchStart) {
        this.#onReleased?.((m as ReleasedMessage).seq ?? Infinity);
      }
    });
  }

  get pid(): number {
    return this.#child.pid;
  }

  /** Whether the process has exited. */
  get dead(): boolean {
    return this.#status !== undefined;
  }

  /**
   * Runs `jobs` one after another, sent to the horse in one message. A job starts when the worker hears that the one
   * before it ended (the first: now), and its `timeout` (seconds, `-1` = none) counts from then: past it the horse is
   * terminated, then killed, and the job fails with RQ's JobTimeoutException text. `hooks.started(i)` and
   * `hooks.ended(i, outcome)` follow each job; when the horse dies in a job, or is released, the jobs after it never
   * start and get no hooks (the horse reports each outcome before starting the next job). `options.worker`: the
   * worker's name, with which a horse whose worker dies mid-batch gives the jobs it has not started back (to the
   * `queue` each was taken from).
   */
  async run(
    jobs: { job: WireJob; timeout: number; queue?: string }[],
    options: { jobRoot: string; redisUrl: string; tls?: TlsSettings; worker?: string },
    hooks: {
      started(i: number): void;
      ended(i: number, outcome: HorseOutcome): void;
      /** After {@link release}: jobs from `i` on will not run (as soon as the horse says so). */
      released?(i: number): void;
    },
  ): Promise<void> {
    await this.ready;
    this.jobsRun += jobs.length;
    const seq = this.#seq + 1;
    this.#seq += jobs.length;
    this.#batchStart = seq;
    this.#batchEnd = this.#seq;
    const message: RunMessage = {
      type: "run",
      seq,
      jobs: jobs.map((j) => j.job),
      jobRoot: options.jobRoot,
      redisUrl: options.redisUrl,
      ...(options.tls ? { tls: options.tls } : {}),
      ...(options.worker && jobs.length > 1 ? { worker: options.worker, queues: jobs.map((j) => j.queue ?? "") } : {}),
    };
    this.#child.send(message);
    this.#releasedHook = hooks.released;
    try {
      for (let i = 0; i < jobs.length; i++) {
        hooks.started(i);
        const outcome = await this.#outcome(seq + i, jobs[i].timeout);
        hooks.ended(i, outcome);
        if (!outcome.ok && outcome.horseDied) return;
        // Killed at this job's deadline, though it had ended (its outcome was on its way): the next job had started
        // and died with the horse, by the worker's hand, not its own. It and those after it count as never started
        // (they go back to their queue) rather than failing as killed by SIGTERM.
        if (this.#killedAtDeadline) return;
        // Released: the horse says which job is the first it will not start.
        if (this.#released && i + 1 < jobs.length && seq + i + 1 >= await this.#released) return;
      }
    } finally {
      this.#early.clear();
      this.#earlyCallbacks.clear();
      this.#batchStart = this.#batchEnd = 0;
      this.#released = this.#onReleased = this.#releasedHook = undefined;
    }
  }

  /**
   * Asks the horse to start no more jobs of the running batch after the one it runs (which is taking long): `run`
   * then returns once that job ends, and the jobs after it count as never started. No-op without a batch running.
   */
  release(): void {
    if (!this.#batchStart || this.#batchStart === this.#batchEnd || this.#released || this.#status) return;
    const [hook, start, end] = [this.#releasedHook, this.#batchStart, this.#batchEnd];
    this.#released = new Promise((resolve) => (this.#onReleased = resolve));
    void this.#released.then((from) => from <= end && hook?.(from - start));
    const message: ReleaseMessage = { type: "release", seq: this.#batchStart };
    this.#child.send(message);
  }

  /** Waits for the outcome of job `seq`, under its timeout (then, once a callback starts, under the callback's). */
  async #outcome(seq: number, timeout: number): Promise<HorseOutcome> {
    const done = new Promise<DoneMessage | ExitStatus>((resolve) => {
      const early = this.#early.get(seq);
      if (early) {
        this.#early.delete(seq);
        resolve(early);
      } else if (this.#status) resolve(this.#status);
      else this.#pending = { seq, resolve };
    });
    let overrun = `JobTimeoutException: Task exceeded maximum timeout value (${timeout} seconds)\n`;
    const timedOut = new Promise<"timeout">((resolve) => {
      const fire = () => resolve("timeout");
      if (timeout > 0) this.#watchdog.set(Date.now() + timeout * 1000, fire);
      this.#onCallback = (limit) => {
        overrun = `JobTimeoutException: Callback exceeded maximum timeout value (${limit} seconds)\n`;
        if (limit > 0) this.#watchdog.set(Date.now() + limit * 1000 + CALLBACK_GRACE_MS, fire);
        else this.#watchdog.clear();
      };
      const early = this.#earlyCallbacks.get(seq);
      if (early !== undefined) this.#onCallback(early);
    });
    try {
      let first = await Promise.race([done, timedOut]);
      if (first === "timeout") {
        this.#killedAtDeadline = true;
        await this.kill();
        // Its channel has delivered all it sent by now: a job that ended right at its deadline keeps its outcome.
        first = await done;
        if (!("type" in first)) return { ok: false, horseDied: true, excString: overrun };
      }
      if ("type" in first) {
        return first.ok
          ? { ok: true, returnValue: first.returnValue }
          : { ok: false, excString: first.excString, horseDied: false };
      }
      return { ok: false, horseDied: true, excString: deathText(first) + "\n" };
    } finally {
      this.#watchdog.clear();
      this.#pending = undefined;
      this.#onCallback = undefined;
    }
  }

  /** Terminates the horse: SIGTERM, then SIGKILL after a short grace. Resolves once it has exited. */
  async kill(): Promise<ExitStatus> {
    if (this.#status) return this.#status;
    this.#child.kill("SIGTERM");
    if (!(await within(this.#child.exited, KILL_GRACE_MS))) this.#child.kill("SIGKILL");
    return await this.#child.exited;
  }

  /** Asks the horse to exit, then makes sure it did. */
  async dispose(): Promise<void> {
    this.#watchdog.dispose();
    if (this.#status) return;
    this.#child.send({ type: "exit" });
    if (!(await within(this.#child.exited, KILL_GRACE_MS))) await this.kill();
  }
}
