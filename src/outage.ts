// No RQ counterpart (an RQ worker dies with its connection): rqts workers ride out a Redis outage. This guard tells
// transient errors from others, logs an outage once when it starts and once when it ends, retries with backoff, and
// keeps the reconcile gate: after a round trip whose reply was lost, new dequeues wait while those in flight end and
// the worker gives back what Redis says it took unheard.

import { isConnectionError } from "./connection.ts";
import { RedisConnectionError } from "./errors.ts";
import type { LogLevel } from "./worker_options.ts";
import { sleep } from "./utils.ts";

/** Longest pause between retries while Redis is unreachable, ms. */
export const MAX_BACKOFF_MS = 5000;
/** First pause between retries, ms; it doubles up to {@link MAX_BACKOFF_MS}. */
const FIRST_BACKOFF_MS = 100;
/** Redis error replies that mean "not now" (restarting, loading its AOF, out of memory...): retried, not fatal. */
const TRANSIENT_REPLY = /^(LOADING|BUSY|MISCONF|READONLY|TRYAGAIN|OOM|MASTERDOWN|CLUSTERDOWN)\b/;

/** What the guard needs of its worker. */
export interface OutageGuardOptions {
  log(level: LogLevel, message: string): void;
  /** How many jobs are running now (said when an outage starts). */
  running(): number;
  /**
   * Whether retries give up: the worker is shutting down cold, or is stopping and has waited its grace for Redis to
   * come back (see Worker: what it could not store then is spooled).
   */
  giveUp(): boolean;
  /** Gives back what Redis says this worker took in a round trip whose reply was lost; resolves to how many. */
  reconcile(): Promise<number>;
  /** Ends blocking waits that count as in flight, so a reconcile need not wait out their block time. */
  unblockWaits(): void;
}

/** One worker's view of Redis' availability, and the reconcile gate. */
export class OutageGuard {
  readonly #o: OutageGuardOptions;
  #since: number | undefined;
  #connectedSince = Date.now();
  #gate: Promise<void> | undefined;
  #inflight = 0;
  /** Set when a command's reply was lost with its connection: what it did must be reconciled before going on. */
  needReconcile = false;

  constructor(options: OutageGuardOptions) {
    this.#o = options;
  }

  /** Whether `error` is one to wait out (a lost connection, or a "not now" reply) rather than a failure. */
  transient(error: unknown): boolean {
    return isConnectionError(error) || TRANSIENT_REPLY.test(String((error as Error)?.message ?? ""));
  }

  /** Notes that Redis is unreachable; logs it once per outage. */
  down(error: unknown): void {
    if (this.#since !== undefined) return;
    this.#since = Date.now();
    const kept = this.#o.running();
    this.#o.log(
      "warning",
      `Redis is unreachable (${(error as Error)?.message ?? error}); retrying with backoff up to ` +
        `${MAX_BACKOFF_MS / 1000} s. Running jobs go on; their outcomes are kept until Redis is back` +
        (kept ? ` (${kept} running now).` : "."),
    );
  }

  /** Notes that Redis answers; logs the end of an outage once. */
  up(): void {
    if (this.#since === undefined) return;
    const seconds = ((Date.now() - this.#since) / 1000).toFixed(1);
    this.#since = undefined;
    this.#connectedSince = Date.now();
    this.#o.log("warning", `Redis is back after ${seconds} s; storing kept outcomes and going on.`);
  }

  /** Logs a line through the worker's logger. */
  note(level: LogLevel, message: string): void {
    this.#o.log(level, message);
  }

  /** Whether `error` is {@link retrying} giving up on Redis (the worker is stopping), not a failure. */
  gaveUp(error: unknown): boolean {
    return this.transient(error) && this.#o.giveUp();
  }

  /** When the current outage began, ms since the epoch (undefined: Redis answers). */
  get downSince(): number | undefined {
    return this.#since;
  }

  /** Whether Redis has answered without an outage for at least `ms` (others' liveness keys can be judged). */
  steadyFor(ms: number): boolean {
    return this.#since === undefined && Date.now() - this.#connectedSince >= ms;
  }

  /**
   * Runs `fn` until it succeeds, waiting with backoff while Redis is unreachable or busy, so an outage never ends
   * the worker nor loses an outcome. Gives up only when the worker is stopping (see {@link OutageGuardOptions.giveUp}):
   * then the transient error is thrown ({@link gaveUp} tells it). Other errors are thrown.
   */
  async retrying<T>(fn: () => Promise<T>): Promise<T> {
    let delay = FIRST_BACKOFF_MS;
    while (true) {
      try {
        if (this.needReconcile) await this.reconcile();
        const value = await fn();
        this.up();
        return value;
      } catch (error) {
        if (!this.transient(error) || this.#o.giveUp()) throw error;
        if (error instanceof RedisConnectionError && error.maybeRan) this.needReconcile = true;
        this.down(error);
        await sleep(delay);
        delay = Math.min(delay * 2, MAX_BACKOFF_MS);
      }
    }
  }

  /**
   * While a reconcile holds new dequeues back, the promise that ends when it is done; else undefined. A dequeue waits
   * with `while (guard.gate) await guard.gate;`, which costs nothing (no await) when there is no gate.
   */
  get gate(): Promise<void> | undefined {
    return this.#gate;
  }

  /** A dequeue starts: counted as in flight until {@link leave} (a reconcile waits for it to end). */
  enter(): void {
    this.#inflight++;
  }

  /** A dequeue counted by {@link enter} has ended. */
  leave(): void {
    this.#inflight--;
  }

  /**
   * After a round trip whose reply was lost: holds new dequeues, waits for those in flight, then gives back any job
   * Redis says this worker took but that the worker never heard of (it would otherwise stay 'started' for ever).
   */
  async reconcile(): Promise<void> {
    while (this.#gate) await this.#gate;
    if (!this.needReconcile) return;
    let open!: () => void;
    this.#gate = new Promise((r) => (open = r));
    try {
      this.#o.unblockWaits(); // in flight while they block
      while (this.#inflight > 0) await sleep(10);
      const n = await this.#o.reconcile();
      this.needReconcile = false;
      if (n) this.#o.log("warning", `Gave back ${n} job(s) taken in a round trip whose reply was lost`);
    } finally {
      this.#gate = undefined;
      open();
    }
  }
}
