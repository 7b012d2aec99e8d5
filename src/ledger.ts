// The jobs a worker has in hand (RQ keeps one: the job in its horse, in `StartedJobRegistry` and the worker hash's
// `current_job`). An rqts worker runs several slots and takes jobs ahead, so it keeps three sets, in memory and in
// Redis: jobs running in horses, jobs taken ahead that wait for their slot (the held set `rqts:held:<worker>`), and
// every id it dequeued and has not stored or given back (what a reconcile after a lost reply compares with Redis).

import { Buffer } from "node:buffer";
import type { Connection } from "./connection.ts";
import type { Horse } from "./horse.ts";
import type { Job } from "./job.ts";
import { heldKey, jobKey, registryKey } from "./keys.ts";
import { heartbeatSeconds } from "./lua/_args.ts";
import { GIVE_BACK, giveBackArgs } from "./lua/give_back.ts";
import { RECONCILE, reconcileArgs } from "./lua/reconcile.ts";
import type { OutageGuard } from "./outage.ts";
import { nowMicros, nowSeconds } from "./utils.ts";

/** A job taken off a queue; `epoch`: the worker's life it was taken in (see {@link Ledger.epoch}). */
export type Dequeued = { id: string; queue: string; raw: Record<string, Uint8Array>; epoch: number };

/** A job running in a horse, from `startedMicros` (nowMicros), under `timeout` seconds. */
export interface RunningJob {
  job: Job;
  startedMicros: number;
  timeout: number;
  /** The horse it runs in (a stop-job command kills it). */
  horse?: Horse;
}

const utf8 = new TextDecoder();
const EQUALS = Buffer.from("=");

/** One worker's jobs in hand. */
export class Ledger {
  /** Jobs running in horses now, by id. */
  readonly running = new Map<string, RunningJob>();
  /** Jobs taken ahead (marked started in Redis, in the held set) that wait for their slot's current job to end. */
  readonly held = new Map<string, Dequeued>();
  /** Ids this worker dequeued and has not stored or given back: what it knows it holds (see OutageGuard.reconcile). */
  readonly taken = new Set<string>();
  /**
   * Bumped when the worker finds its liveness key had lapsed (cut off from Redis for longer than its TTL): other
   * workers may have recovered it meanwhile, so jobs it took ahead before then are not run but given back.
   */
  epoch = 0;
  readonly #connection: Connection;
  readonly #workerName: string;
  readonly #heldKey: string;
  readonly #outage: OutageGuard;

  /** `outage`: retries give-backs while Redis is away. */
  constructor(connection: Connection, workerName: string, outage: OutageGuard) {
    this.#connection = connection;
    this.#workerName = workerName;
    this.#heldKey = heldKey(workerName);
    this.#outage = outage;
  }

  /** Jobs taken and not given back, over the worker's life (run, running or in hand): what `maxJobs` counts. */
  claimed = 0;

  /** Records jobs a dequeue took. */
  took(jobs: Dequeued[]): void {
    for (const d of jobs) this.taken.add(d.id);
    this.claimed += jobs.length;
  }

  /** Records jobs taken ahead, until they start or go back. */
  hold(jobs: Dequeued[]): void {
    for (const d of jobs) this.held.set(d.id, d);
  }

  /**
   * Takes `ids` out of the held set, in one command (not awaited: a worker that dies from here on leaves started
   * jobs).
   */
  unhold(...ids: string[]): void {
    if (!ids.length) return;
    void this.#connection.call(["SREM", this.#heldKey, ...ids]).catch(() => {});
  }

  /** Whether any of `jobs` was taken ahead and still waits. */
  holds(jobs: Dequeued[]): boolean {
    return jobs.some((d) => this.held.has(d.id));
  }

  /**
   * Gives back jobs a slot took but did not start (a stopping worker, a dead horse, a release), keeping their order
   * at the front of their queues: one script, so two give-backs at once do not interleave.
   */
  async giveBack(jobs: Dequeued[]): Promise<void> {
    if (!jobs.length) return;
    for (const d of jobs) this.held.delete(d.id);
    // As if never taken: the fields dequeuing set get their values from before (a foreign client's, even garbage).
    const was = (v: Uint8Array | undefined) => v ? Buffer.concat([EQUALS, v]) : "-";
    const args = giveBackArgs(
      this.#workerName,
      jobs.map((d) => ({
        id: d.id,
        queue: d.queue,
        was: [was(d.raw.started_at), was(d.raw.last_heartbeat), was(d.raw.worker_name)] as const,
      })),
    );
    try {
      await this.#outage.retrying(() => this.#connection.eval(GIVE_BACK, ...args));
    } catch (error) {
      // A stopping worker cut off from Redis: the jobs stay in its own list or held set, which the next live rqts
      // worker gives back to their queues once this one's liveness key lapses (none of them started).
      if (!this.#outage.gaveUp(error)) throw error;
      this.#outage.note(
        "warning",
        `Could not give back ${jobs.length} job(s) not started (${jobs.map((d) => d.id).join(", ")}): Redis is ` +
          `unreachable; a live rqts worker queues them again once this one's liveness key lapses`,
      );
      return;
    }
    for (const d of jobs) if (this.taken.delete(d.id)) this.claimed--;
    await this.#connection.call(["SREM", this.#heldKey, ...jobs.map((d) => d.id)]).catch(() => {});
  }

  /** Gives back what Redis says this worker took and it does not know of; resolves to how many. */
  reconcile(): Promise<number> {
    return this.#connection.eval<number>(RECONCILE, ...reconcileArgs(this.#workerName, this.taken));
  }

  /**
   * The heartbeat of the jobs in hand: running jobs' `last_heartbeat` and started-registry deadlines (their timeout
   * left, at most 30 s, plus 60), and held jobs' deadlines (90 s), as RQ's `Worker.maintain_heartbeats` keeps them.
   */
  heartbeatCommands(now: string): string[][] {
    const commands: string[][] = [];
    const seconds = nowSeconds();
    for (const [id, r] of this.running) {
      const elapsed = (nowMicros() - r.startedMicros) / 1e6;
      const hb = heartbeatSeconds(r.timeout, elapsed);
      commands.push(
        ["HSET", jobKey(id), "last_heartbeat", now],
        ["ZADD", registryKey("started", r.job.origin), "XX", String(Math.floor(seconds + hb)), id],
      );
    }
    for (const [id, d] of this.held) {
      const origin = (d.raw.origin ? utf8.decode(d.raw.origin) : "") || d.queue;
      commands.push(["ZADD", registryKey("started", origin), "XX", String(seconds + 90), id]);
    }
    return commands;
  }

  /** Seconds the longest-running job has run (0: none). */
  longestRunning(): number {
    let oldest = nowMicros();
    for (const r of this.running.values()) oldest = Math.min(oldest, r.startedMicros);
    return (nowMicros() - oldest) / 1e6;
  }
}
