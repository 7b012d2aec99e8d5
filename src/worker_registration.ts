// RQ's rq/worker_registration.py (register, unregister) plus what rqts adds for dead workers: a worker's birth and
// death in RQ's keys, its liveness key (rqts:alive:<name>), registering again after a lapse, and the recovery of rqts
// workers that stopped living (their own and held lists back to their queues, their running jobs abandoned).

import type { Connection } from "./connection.ts";
import { RQ_VERSION } from "./defaults.ts";
import { RqtsError } from "./errors.ts";
import { aliveKey, queueKey, QUEUES_KEY, RQTS_WORKERS_KEY, workerKey, WORKERS_KEY, workersByQueueKey } from "./keys.ts";
import { RECOVER_WORKER, recoverWorkerArgs } from "./lua/recover_worker.ts";
import { RETURN_OWN_LIST, returnOwnListArgs } from "./lua/return_own_list.ts";
import { failureFields } from "./results.ts";
import type { Runtime } from "./runtime.ts";
import { nowSeconds, utcNow } from "./utils.ts";
import type { LogLevel } from "./worker.ts";

/** What a registration needs to know of its worker. */
export interface RegistrationOptions {
  connection: Connection;
  runtime: Runtime;
  name: string;
  queueNames: readonly string[];
  /** The worker key's lifetime, seconds (RQ's worker_ttl + 60). */
  workerTtl: number;
  /** Seconds without a sign of life after which the worker counts as dead. */
  livenessTtl: number;
  log(level: LogLevel, message: string): void;
}

/** The exc_string of a job whose worker died while it ran. */
export function abandonedMessage(worker: string): string {
  return `AbandonedJobError: worker ${worker} died while this job ran (its process was killed, or it lost Redis ` +
    `for longer than its liveness TTL); whether the job's function completed is unknown. It was not run again. ` +
    `Requeue it (rqts requeue, or job.requeue()) if it is safe to run twice.\n`;
}

/** One worker's registration in Redis, as RQ keeps it, and its liveness, as rqts keeps it. */
export class WorkerRegistration {
  readonly #o: RegistrationOptions;
  readonly key: string;
  /** When the liveness key was last set (Date.now()). */
  livenessSetAt = Date.now();

  constructor(options: RegistrationOptions) {
    this.#o = options;
    this.key = workerKey(options.name);
  }

  /**
   * RQ's `register_birth`: the worker hash, the workers sets, and rqts' liveness key and name set, in one transaction.
   * @throws {RqtsError} when a live worker of the same name exists.
   */
  async birth(): Promise<void> {
    const { connection: c, runtime, name, queueNames } = this.#o;
    const exists = await c.call<number>(["EXISTS", this.key]);
    if (exists && !(await c.call<number>(["HEXISTS", this.key, "death"]))) {
      // A worker of this name that was killed (no death recorded) but has stopped living: recover it, then go on.
      if (await this.#isDeadRqtsWorker(name)) await this.recover(name);
      else throw new RqtsError(`There exists an active worker named '${name}' already; pick another --name.`);
    }
    let ip = "unknown";
    try {
      const info = await c.call<string>(["CLIENT", "INFO"]);
      ip = /\baddr=(\S+)/.exec(info)?.[1] ?? ip;
    } catch { /* Redis < 6.2 */ }
    const now = utcNow();
    await c.transaction([
      ["DEL", this.key],
      [
        "HSET",
        this.key,
        "birth",
        now,
        "last_heartbeat",
        now,
        "queues",
        queueNames.join(","),
        "pid",
        String(runtime.pid()),
        "hostname",
        runtime.hostname(),
        "ip_address",
        ip,
        "version",
        RQ_VERSION,
        "python_version",
        `rqts (${runtime.name} ${runtime.version})`,
      ],
      ["SADD", WORKERS_KEY, this.key],
      ...queueNames.map((q) => ["SADD", workersByQueueKey(q), this.key]),
      ...queueNames.map((q) => ["SADD", QUEUES_KEY, queueKey(q)]),
      ["EXPIRE", this.key, String(this.#o.workerTtl)],
      this.#aliveCommand(),
      ["SADD", RQTS_WORKERS_KEY, name],
    ]);
    this.livenessSetAt = Date.now();
    await c.call(["HSET", this.key, "state", "started"]);
  }

  /** RQ's `register_death`: the own list back to its queues, out of the workers sets, `death` recorded. */
  async death(): Promise<void> {
    const { connection: c, name, queueNames } = this.#o;
    await c.eval(RETURN_OWN_LIST, ...returnOwnListArgs(name));
    await c.transaction([
      ["DEL", aliveKey(name)],
      ["SREM", RQTS_WORKERS_KEY, name],
      ["SREM", WORKERS_KEY, this.key],
      ...queueNames.map((q) => ["SREM", workersByQueueKey(q), this.key]),
      ["HSET", this.key, "death", utcNow()],
      ["EXPIRE", this.key, "60"],
    ]);
  }

  /**
   * Sets the liveness key for another TTL. `onLapse` runs when it had lapsed (others may have recovered this worker
   * meanwhile), in the same turn that ends {@link livenessOverdue}: nothing that trusts a fresh key can run between.
   * @returns whether it had lapsed.
   * @throws what the connection throws (the caller tells an outage from other errors).
   */
  async keepAlive(onLapse: () => void): Promise<boolean> {
    const before = await this.#o.connection.call<string | null>([...this.#aliveCommand(), "GET"]);
    if (before === null) onLapse();
    this.livenessSetAt = Date.now();
    return before === null;
  }

  /** Whether the liveness key was last set longer ago than its refresh period (a third of its TTL) allows. */
  get livenessOverdue(): boolean {
    return Date.now() - this.livenessSetAt > (this.#o.livenessTtl * 1000 * 2) / 3;
  }

  /** After a lapse (others may have recovered this worker): registers again. */
  async rejoin(): Promise<void> {
    const { connection: c, name, queueNames } = this.#o;
    this.#o.log(
      "warning",
      `This worker was out of touch for longer than its liveness TTL (${this.#o.livenessTtl} s) and may have been ` +
        `recovered by another: registering again; jobs it had taken ahead go back to their queues.`,
    );
    await c.transaction([
      ["HDEL", this.key, "death"],
      ["SADD", WORKERS_KEY, this.key],
      ...queueNames.map((q) => ["SADD", workersByQueueKey(q), this.key]),
      ["SADD", RQTS_WORKERS_KEY, name],
      ["EXPIRE", this.key, String(this.#o.workerTtl)],
    ]);
  }

  /** Recovers every other rqts worker whose liveness key has lapsed (see {@link RECOVER_WORKER}). */
  recoverDeadWorkers(): Promise<void> {
    return this.#recoverOthers((name) => this.#isDeadRqtsWorker(name));
  }

  /**
   * Recovers every other rqts worker whose registration says it is gone (no worker hash, or a death recorded) and
   * that may have left ids in its own or held lists (a wait that landed after it was recovered). Found through
   * rqts:workers, where recovery keeps a name until its hash expires (see RECOVER_WORKER), not by scanning the
   * keyspace: a pass costs O(workers).
   */
  recoverGoneWorkers(): Promise<void> {
    return this.#recoverOthers(async (name) => {
      const key = workerKey(name);
      const [exists, died] = await this.#o.connection.transaction([["EXISTS", key], ["HEXISTS", key, "death"]]);
      return !exists || Boolean(died);
    });
  }

  /** Recovers each other worker named in rqts:workers for which `isGone` holds. */
  async #recoverOthers(isGone: (name: string) => Promise<boolean>): Promise<void> {
    for (const name of await this.#o.connection.call<string[]>(["SMEMBERS", RQTS_WORKERS_KEY])) {
      if (name !== this.#o.name && await isGone(name)) await this.recover(name);
    }
  }

  /** Recovers what the rqts worker `name` left, and says what it did. */
  async recover(name: string): Promise<void> {
    const [returned, ...abandoned] = await this.#o.connection.eval<[number, ...string[]]>(
      RECOVER_WORKER,
      ...recoverWorkerArgs({
        name,
        nowSeconds: nowSeconds(),
        nowTs: utcNow(),
        fields: failureFields(abandonedMessage(name)),
      }),
    );
    if (returned || abandoned.length) {
      this.#o.log(
        "warning",
        `Worker ${name} died: ${returned} job(s) it had not started went back to their queues` +
          (abandoned.length
            ? `; ${abandoned.length} it was running failed as abandoned (${abandoned.join(", ")})`
            : ""),
      );
    }
  }

  /** Whether `name` is an rqts worker that has stopped showing signs of life (its liveness key lapsed). */
  async #isDeadRqtsWorker(name: string): Promise<boolean> {
    const [alive, version] = await this.#o.connection.transaction([
      ["EXISTS", aliveKey(name)],
      ["HGET", workerKey(name), "python_version"],
    ]) as [number, string | null];
    return !alive && (version === null || version.startsWith("rqts"));
  }

  #aliveCommand(): string[] {
    const { runtime, name, livenessTtl } = this.#o;
    return ["SET", aliveKey(name), String(runtime.pid()), "PX", String(Math.round(livenessTtl * 1000))];
  }
}
