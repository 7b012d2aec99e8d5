// RQ's Worker.dequeue_job_and_maintain_ttl and Queue.dequeue_any: waiting for work on a worker's queues and taking
// jobs off them, in priority order. rqts takes them with a script that also marks them started (one round trip), can
// store the last job's outcome in the same script, and waits on every queue at once with BLMOVE into the worker's own
// list, so a job that arrives while the worker waits is never lost with it.

import type { Connection, Transport } from "./connection.ts";
import type { Finish } from "./finish.ts";
import { queueKey, workerKeys } from "./keys.ts";
import type { Dequeued, Ledger } from "./ledger.ts";
import { evalshaCommand, type Success } from "./lua/_args.ts";
import { DEQUEUE, type Dequeue, dequeueArgs, type DequeueTarget, dequeueTarget } from "./lua/dequeue.ts";
import { FINISH_FAILURE, finishFailureArgs } from "./lua/finish_failure.ts";
import { FINISH_FAILURE_AND_DEQUEUE, finishFailureAndDequeueArgs } from "./lua/finish_failure_and_dequeue.ts";
import { FINISH_SUCCESS, finishSuccessArgs } from "./lua/finish_success.ts";
import { FINISH_SUCCESS_AND_DEQUEUE, finishSuccessAndDequeueArgs } from "./lua/finish_success_and_dequeue.ts";
import { FINISH_SUCCESSES, finishSuccessesArgs } from "./lua/finish_successes.ts";
import type { OutageGuard } from "./outage.ts";
import { RedisReplyError } from "./resp.ts";
import { sleep, utcNow } from "./utils.ts";
import type { DequeueStrategy, LogLevel } from "./worker_options.ts";

/** What a dequeue gives: the jobs taken (at least one), "suspended" (rq:suspended is set), or null (none). */
export type Taken = Dequeued[] | "suspended" | null;
/**
 * The end of a wait for work: jobs the wait itself took (single-queue workers), for the first idle slot to claim, and
 * whether more may be queued behind them (false: the queue was empty once they were taken).
 */
export type Wake = { jobs: Dequeued[] | null; more: boolean };
/** What {@link Dequeuer.waitAndTake} did (see there). */
export type Taking = { next: Taken; more: boolean; stored: boolean; error?: unknown };

/** How long a blocking dequeue waits before looking around (heartbeats run on their own timer), seconds. */
const BLOCK_SECONDS = 5;

const utf8 = new TextDecoder();

/** The reply of a dequeue script: the jobs taken (at least one), "suspended", or null (none). */
function decodeDequeued(reply: unknown, epoch: number): Taken {
  if (!reply) return null;
  if (!Array.isArray(reply)) return utf8.decode(reply as Uint8Array) === "suspended" ? "suspended" : null;
  return (reply as [Uint8Array, Uint8Array, Uint8Array[]][]).map(([id, queue, flat]) => {
    const raw: Record<string, Uint8Array> = {};
    for (let i = 0; i < flat.length; i += 2) raw[utf8.decode(flat[i])] = flat[i + 1];
    return { id: utf8.decode(id), queue: utf8.decode(queue), raw, epoch };
  });
}

/** What a dequeuer needs of its worker. */
export interface DequeuerOptions {
  connection: Connection;
  outage: OutageGuard;
  ledger: Ledger;
  workerName: string;
  queueNames: readonly string[];
  /** The worker key's TTL while idle, seconds. */
  workerTtl: number;
  /** RQ 2.x's dequeue strategy. Default "default" (the order given). */
  dequeueStrategy?: DequeueStrategy;
  stopping(): boolean;
  /** Keeps an outcome Redis could not take while the worker stopped (see OutcomeSpool). */
  spool(finish: Finish): void;
  /** An outcome was stored, or spooled (the worker's exception handlers run after it). */
  stored?(finish: Finish): void;
  log(level: LogLevel, message: string): void;
}

/** Takes a worker's jobs off its queues, and waits for them when there are none. */
export class Dequeuer {
  readonly #o: DequeuerOptions;
  readonly #connection: Connection;
  readonly #outage: OutageGuard;
  readonly #ledger: Ledger;
  readonly #workerKey: string;
  readonly #ownList: string;
  /** The dequeue scripts' keys: from the worker's queues, and from its own list only (see waitAndTake). */
  #target: DequeueTarget;
  /** The queue order the next dequeue tries (see {@link #reorder}). */
  #queues: readonly string[];
  readonly #ownListTarget: DequeueTarget;
  /** Ends the running wait for work, on stop. A Set: each wait removes its own entry when it ends. */
  readonly #wake = new Set<() => void>();
  readonly #blockedClients = new Set<Transport>();
  /** Waits that dequeue what they wake for (see waitAndTake), with their connection's CLIENT ID: unblocked, not cut. */
  readonly #takingWaits = new Set<{ id: Promise<number> }>();
  #waiting: Promise<Wake> | undefined;

  constructor(options: DequeuerOptions) {
    this.#o = options;
    this.#connection = options.connection;
    this.#outage = options.outage;
    this.#ledger = options.ledger;
    const keys = workerKeys(options.workerName);
    this.#workerKey = keys.key;
    this.#ownList = keys.ownList;
    this.#queues = options.queueNames;
    this.#target = dequeueTarget(keys, options.queueNames);
    this.#ownListTarget = dequeueTarget(keys, []);
  }

  /** Ends every wait for work: blocked connections are cut, taking waits unblocked. */
  stop(): void {
    for (const c of this.#blockedClients) c.destroy();
    this.#blockedClients.clear();
    this.unblockTakingWaits();
    for (const w of this.#wake) w();
    this.#wake.clear();
  }

  /**
   * Stores `finish` (if any) and takes up to `count` jobs, in one round trip. `ahead`: the jobs are taken while
   * another runs, so they are recorded in the held set until they start. `started` (with `ahead`): a job taken ahead
   * earlier that starts now, taken out of the held set in the same round trip.
   */
  async finishAndDequeue(finish: Finish | undefined, ahead = false, started = "", count = 1): Promise<Taken> {
    if (this.#o.stopping()) {
      if (started) this.#ledger.unhold(started);
      if (finish) await this.store(finish);
      return null;
    }
    let taken: Taken;
    try {
      taken = await this.#takeRetrying(finish, ahead, started, count);
    } catch (error) {
      // Asked to stop meanwhile, and Redis stayed away past the grace: the outcome is spooled, nothing taken.
      if (!this.#outage.gaveUp(error)) throw error;
      if (finish) this.#spool(finish);
      return null;
    }
    if (finish) this.#o.stored?.(finish);
    return taken;
  }

  #takeRetrying(finish: Finish | undefined, ahead: boolean, started: string, count: number): Promise<Taken> {
    return this.#outage.retrying(async () => {
      while (this.#outage.gate) await this.#outage.gate;
      this.#outage.enter();
      let reply: unknown;
      // Under round_robin and random, one job a dequeue: the order changes after each job, as RQ's.
      const n = this.#o.dequeueStrategy && this.#o.dequeueStrategy !== "default" ? 1 : count;
      const dequeue: Dequeue = { count: n, ahead, started, now: true };
      try {
        reply = await (finish
          ? this.#finishAndTake(finish, dequeue)
          : this.#connection.eval(DEQUEUE, ...dequeueArgs(this.#target, dequeue), true));
      } finally {
        this.#outage.leave();
      }
      if (finish) this.#ledger.taken.delete(finish.id);
      const taken = decodeDequeued(reply, this.#ledger.epoch);
      if (taken && taken !== "suspended") this.#ledger.took(taken);
      if (this.#o.dequeueStrategy && this.#o.dequeueStrategy !== "default") this.#reorder(taken);
      return taken;
    });
  }

  /**
   * RQ 2.x's Worker.reorder_queues after a dequeue: round_robin puts the queues after the last job's queue first (that
   * queue last); random shuffles them.
   */
  #reorder(taken: Taken): void {
    const queues = this.#queues;
    if (queues.length < 2) return;
    let order: string[];
    if (this.#o.dequeueStrategy === "random") {
      order = [...queues];
      for (let i = order.length - 1; i > 0; i--) {
        const j = Math.floor(Math.random() * (i + 1));
        [order[i], order[j]] = [order[j], order[i]];
      }
    } else {
      const pos = Array.isArray(taken) && taken.length ? queues.indexOf(taken[taken.length - 1].queue) : -1;
      if (pos < 0) return;
      order = [...queues.slice(pos + 1), ...queues.slice(0, pos + 1)];
    }
    this.#queues = order;
    this.#target = dequeueTarget(this.#target.worker, order);
  }

  /** The finish script of `finish`'s kind that also dequeues (with no idle TTL: the worker is not idle after it). */
  #finishAndTake(finish: Finish, dequeue: Dequeue): Promise<unknown> {
    const c = this.#connection;
    const t = this.#target;
    return finish.kind === "success"
      ? c.eval(FINISH_SUCCESS_AND_DEQUEUE, ...finishSuccessAndDequeueArgs(finish, t, dequeue, ""), true)
      : c.eval(FINISH_FAILURE_AND_DEQUEUE, ...finishFailureAndDequeueArgs(finish, t, dequeue, ""), true);
  }

  /** Keeps an outcome Redis could not take (the worker is stopping); as far as the worker goes, it is stored. */
  #spool(finish: Finish): void {
    this.#o.spool(finish);
    this.#o.stored?.(finish);
  }

  /**
   * Stores several outcomes (a batch's, in one write): the successes in one script (FINISH_SUCCESSES, which writes
   * the worker's counters once for them all), the others one script each.
   */
  async storeAll(finishes: readonly Finish[]): Promise<void> {
    const successes = finishes.filter((f): f is Success => f.kind === "success" && f.worker !== null);
    if (successes.length < 2) {
      await Promise.all(finishes.map((f) => this.store(f)));
      return;
    }
    const others = finishes.filter((f) => !successes.includes(f as Success)).map((f) => this.store(f));
    await Promise.all([this.#storeSuccesses(successes), ...others]);
  }

  /** FINISH_SUCCESSES for `successes`, kept in the spool as {@link store} keeps one when Redis stays away. */
  async #storeSuccesses(successes: readonly Success[]): Promise<void> {
    try {
      await this.#outage.retrying(() => this.#connection.eval(FINISH_SUCCESSES, ...finishSuccessesArgs(successes)));
    } catch (error) {
      if (!this.#outage.gaveUp(error)) throw error;
      for (const f of successes) this.#spool(f);
      return;
    }
    for (const f of successes) {
      this.#ledger.taken.delete(f.id);
      this.#o.stored?.(f);
    }
  }

  /** Stores a job's outcome. */
  async store(finish: Finish): Promise<void> {
    try {
      await this.#outage.retrying(() =>
        finish.kind === "success"
          ? this.#connection.eval(FINISH_SUCCESS, ...finishSuccessArgs(finish))
          : this.#connection.eval(FINISH_FAILURE, ...finishFailureArgs(finish))
      );
    } catch (error) {
      if (!this.#outage.gaveUp(error)) throw error;
      this.#spool(finish);
      return;
    }
    this.#ledger.taken.delete(finish.id);
    this.#o.stored?.(finish);
  }

  /**
   * Waits until a queue may have work: one BLMOVE per queue (on dedicated connections) moves the first id that
   * arrives into this worker's own list, where the next dequeue takes it. A single-queue worker takes the job in the
   * wait itself (see {@link waitAndTake}). Shared by all idle slots: the first to look claims the jobs taken.
   */
  waitForWork(): Promise<Wake> {
    return this.#waiting ??= this.#waitOnce();
  }

  async #waitOnce(): Promise<Wake> {
    const woken: Wake = { jobs: null, more: true };
    try {
      if (this.takesInWait) {
        const taking = await this.waitAndTake();
        if (Array.isArray(taking.next)) [woken.jobs, woken.more] = [taking.next, taking.more];
        else if (taking.error) throw taking.error;
        return woken;
      }
      await this.#waitOnEachQueue();
    } catch (error) {
      await this.waitFailed(error);
    } finally {
      this.#waiting = undefined;
    }
    return woken;
  }

  /** A wait on every queue at once: ends when one of them moves an id into the own list, on stop, or after a while. */
  async #waitOnEachQueue(): Promise<void> {
    let wake: (() => void) | undefined;
    try {
      // Sent alongside the blocking wait rather than before it, so a job that arrives meanwhile is not held up by
      // its round trip; it is awaited before the wait ends, so Redis still sees "idle" before the dequeue's "busy".
      const heartbeat = this.#sendIdleHeartbeat();
      heartbeat.catch(() => {});
      const blocked = new Map<Transport, Promise<number>>(); // dedicated connection → its CLIENT ID, while it blocks
      const waits = this.#o.queueNames.map((q) =>
        this.#connection.blocking(async (client) => {
          if (this.#o.stopping()) return null;
          const id = client.clientId(); // asked before the block (it would wait behind it)
          this.#blockedClients.add(client);
          blocked.set(client, id);
          try {
            return await client.send([
              "BLMOVE",
              queueKey(q),
              this.#ownList,
              "LEFT",
              "RIGHT",
              `${BLOCK_SECONDS}`,
            ]);
          } finally {
            blocked.delete(client);
            this.#blockedClients.delete(client);
          }
        })
      );
      const stop = new Promise<"stop">((resolve) => this.#wake.add(wake = () => resolve("stop")));
      await Promise.race([Promise.race(waits.map((w) => w.then((id) => id ? "got" : "timeout"))), stop]);
      // Wake the waits still blocked on other queues; one that moved an id meanwhile left it in the own list,
      // which the next dequeue reads first.
      for (const id of blocked.values()) await this.#connection.call(["CLIENT", "UNBLOCK", String(await id)]);
      await Promise.race([Promise.allSettled(waits), stop]);
      await heartbeat;
    } finally {
      // Each wait's stop handle goes with it: kept, they held every past wait's promises and maps (~1.5 kB a wait,
      // i.e. a job arriving at an idle worker, or BLOCK_SECONDS of idling).
      if (wake) this.#wake.delete(wake);
    }
  }

  /** Whether waits take the job they wake for (see waitAndTake): a single queue. */
  get takesInWait(): boolean {
    return this.#o.queueNames.length === 1;
  }

  /**
   * The wait of a single-queue worker, which takes the job it wakes for in the same round trip: the idle heartbeat,
   * BLMOVE and a dequeue go to Redis in one write on the blocking connection. Redis runs the dequeue the moment BLMOVE
   * returns (an id moved into the own list, or none after BLOCK_SECONDS or an unblock), before it replies to either,
   * so a job reaching an idle worker costs one round trip less. The dequeue reads only the own list (an id there is
   * this worker's already), with Redis' clock (it runs when the job arrives, not when it was sent); an LLEN behind it
   * says whether more jobs wait. It counts as in flight until its reply is read; a reply lost with the connection
   * leaves the outage guard's reconcile to find the job.
   *
   * With `finish` (a worker of concurrency 1 whose last job had found the queue empty), the same write starts with
   * the finish script, which stores the outcome and takes the next job as finishAndDequeue does, or marks the worker
   * idle when there is none: the wait behind it then costs no write of its own. When the finish script takes a job,
   * the wait is unblocked at once (a job it then took too comes along).
   *
   * Never throws: `error` says what failed, `stored` whether `finish` was stored (if not, the caller stores it the
   * ordinary way; a finish that did run stores nothing the second time). Jobs taken are in `next` even then.
   */
  async waitAndTake(finish?: Finish): Promise<Taking> {
    const out: Taking = { next: null, more: true, stored: !finish };
    try {
      while (this.#outage.gate) await this.#outage.gate;
      const script = finish && (finish.kind === "success" ? FINISH_SUCCESS_AND_DEQUEUE : FINISH_FAILURE_AND_DEQUEUE);
      const [sha, finishSha] = await Promise.all([DEQUEUE.sha(), script?.sha()]);
      await this.#connection.blocking(async (client) => {
        if (this.#o.stopping() || this.#outage.gate) return;
        const wait = { id: client.clientId() }; // asked before the block (it would wait behind it)
        const sent = this.#sendTakingWait(client, sha, finish && { finish, sha: finishSha! });
        await this.#readTakingWait(sent, wait, out);
      });
    } catch (error) {
      out.error = error;
    }
    if (finish && out.stored) this.#o.stored?.(finish);
    return out;
  }

  /** Writes a taking wait's commands (see waitAndTake) in one go; gives their replies' promises. */
  #sendTakingWait(client: Transport, sha: string, first: { finish: Finish; sha: string } | undefined) {
    const queue = queueKey(this.#o.queueNames[0]);
    const others: Promise<unknown>[] = []; // replies whose failure is the dequeue's
    let finished: Promise<unknown> | undefined;
    if (first) {
      const { finish } = first;
      const ttl = String(this.#o.workerTtl);
      const dequeue: Dequeue = { count: 1, ahead: false, started: "", now: true };
      const args = finish.kind === "success"
        ? finishSuccessAndDequeueArgs(finish, this.#target, dequeue, ttl)
        : finishFailureAndDequeueArgs(finish, this.#target, dequeue, ttl);
      finished = client.send(evalshaCommand(first.sha, args), true);
    } else if (this.#ledger.running.size === 0) {
      others.push(...this.#idleHeartbeatCommands().map((command) => client.send(command)));
    }
    others.push(client.send(["BLMOVE", queue, this.#ownList, "LEFT", "RIGHT", String(BLOCK_SECONDS)]));
    // The own list only (no queue keys), by Redis' clock when it runs.
    const own = dequeueArgs(this.#ownListTarget, { count: 1, ahead: false, started: "", now: false });
    const taken = client.send(evalshaCommand(sha, own), true);
    const left = client.send(["LLEN", queue]);
    for (const r of [...others, finished, taken, left]) r?.catch(() => {});
    return { finished, taken, left };
  }

  /** Reads a taking wait's replies into `out`; the wait counts as in flight (and can be unblocked) meanwhile. */
  async #readTakingWait(
    sent: { finished?: Promise<unknown>; taken: Promise<unknown>; left: Promise<unknown> },
    wait: { id: Promise<number> },
    out: Taking,
  ): Promise<void> {
    this.#outage.enter();
    this.#takingWaits.add(wait);
    try {
      if (sent.finished) {
        try {
          const now = decodeDequeued(await sent.finished, this.#ledger.epoch);
          out.stored = true;
          if (Array.isArray(now)) this.#ledger.took(now);
          out.next = now;
        } catch (error) {
          if (!(error instanceof RedisReplyError)) throw error;
          // Not run (NOSCRIPT, say): the caller stores the outcome once this wait ends.
        }
        // A job taken, suspended, or the finish not stored: the wait behind is not wanted.
        if (out.next || !out.stored) this.#unblock(wait);
      }
      let reply: unknown;
      try {
        reply = await sent.taken;
      } catch (error) {
        // An error reply: the dequeue did not run, and an id BLMOVE moved waits in the own list for the next one.
        if (error instanceof RedisReplyError) return;
        throw error;
      }
      const jobs = decodeDequeued(reply, this.#ledger.epoch);
      if (Array.isArray(jobs)) {
        this.#ledger.took(jobs);
        out.more = Array.isArray(out.next) || await sent.left.then((n) => n !== 0, () => true);
        out.next = Array.isArray(out.next) ? [...out.next, ...jobs] : jobs;
      }
    } catch (error) {
      this.#outage.needReconcile = true; // the connection broke: a dequeue may have run unheard
      throw error;
    } finally {
      this.#takingWaits.delete(wait);
      this.#outage.leave();
    }
  }

  /**
   * Ends the waits that dequeue what they wake for by unblocking them (CLIENT UNBLOCK), never by cutting their
   * connection: their dequeue still runs (taking at most an id their BLMOVE moved) and its reply is read.
   */
  unblockTakingWaits(): void {
    for (const wait of this.#takingWaits) this.#unblock(wait);
  }

  /** Unblocks a taking wait (one of #takingWaits). */
  #unblock(wait: { id: Promise<number> }): void {
    void (async () => {
      const id = String(await wait.id.catch(() => -1)); // -1: the wait's connection failed, and the wait with it
      // The unblock travels on another connection: it may reach Redis before the BLMOVE it is meant for (0: nothing
      // was blocked). Again until that wait ends.
      while (this.#takingWaits.has(wait)) {
        const n = await this.#connection.call<number>(["CLIENT", "UNBLOCK", id]).catch(() => -1);
        if (n !== 0) return; // unblocked, or Redis is unreachable (the wait's connection fails with it)
        await sleep(5);
      }
    })();
  }

  /** After a wait for work failed (Redis went away, say): says so, and pauses a second before the next look. */
  async waitFailed(error: unknown): Promise<void> {
    if (this.#o.stopping()) return;
    if (this.#outage.transient(error)) this.#outage.down(error);
    else this.#o.log("warning", `Waiting for jobs failed (${(error as Error)?.message ?? error}); retrying in 1 s`);
    await sleep(1000);
  }

  /** The commands of the idle heartbeat: state idle, last_heartbeat, the worker key's TTL. */
  #idleHeartbeatCommands(): string[][] {
    return [
      ["HSET", this.#workerKey, "state", "idle", "last_heartbeat", utcNow()],
      ["EXPIRE", this.#workerKey, String(this.#o.workerTtl)],
    ];
  }

  async #sendIdleHeartbeat(): Promise<void> {
    if (this.#ledger.running.size) return;
    await this.#connection.transaction(this.#idleHeartbeatCommands());
  }
}
