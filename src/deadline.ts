// No RQ counterpart (RQ's horse times a job with SIGALRM): one timer that serves a run of deadlines, for job
// timeouts (one per horse) and the worker's "this job is taking long" check (one per slot).

/**
 * Waits for `promise`, but at most `ms` milliseconds: resolves to its value, or, when the time runs out first, to what
 * `late` returns (or throws; `undefined` without it). The timer is cleared either way, so it keeps nothing alive.
 */
export async function within<T, L = undefined>(promise: Promise<T>, ms: number, late?: () => L): Promise<T | L> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = Symbol("expired");
  try {
    const first = await Promise.race([promise, new Promise<symbol>((r) => (timer = setTimeout(r, ms, expired)))]);
    if (first !== expired) return first as T;
  } finally {
    clearTimeout(timer);
  }
  return late ? late() : undefined as L;
}

/** The longest delay setTimeout keeps, in milliseconds. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Calls back once a deadline has passed. One timer, re-armed lazily rather than per deadline: set for deadline after
 * deadline (a job after a job), it stays armed and, when it fires, calls back if the current deadline has passed,
 * else re-arms for it. It is re-armed early only for a nearer deadline.
 */
export class Deadline {
  #due = Infinity;
  #fire: (() => void) | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #timerAt = Infinity;

  /** Calls `fire` once `due` (ms since the epoch) has passed, unless set again or cleared before. */
  set(due: number, fire: () => void): void {
    this.#due = due;
    this.#fire = fire;
    if (this.#timer !== undefined && this.#timerAt <= due) return;
    clearTimeout(this.#timer);
    this.#arm();
  }

  /** Forgets the deadline; the timer, if armed, finds nothing to do when it fires. */
  clear(): void {
    this.#due = Infinity;
    this.#fire = undefined;
  }

  /** Forgets the deadline and stops the timer. */
  dispose(): void {
    this.clear();
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #arm(): void {
    // setTimeout fires at once for delays beyond 2^31 - 1 ms (~24.8 days): longer ones are waited in steps.
    const delay = Math.min(Math.max(this.#due - Date.now(), 0), MAX_TIMER_MS);
    this.#timerAt = Date.now() + delay;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      if (this.#due === Infinity) return;
      if (Date.now() < this.#due) return this.#arm();
      const fire = this.#fire;
      this.clear();
      fire?.();
    }, delay);
  }
}
