// RQ's rq/worker.py: a process that takes jobs off its queues in priority order and runs each one in a horse
// process under its timeout, registered so that `rq info` lists it, and storing outcomes exactly as RQ does.

import { Buffer } from "node:buffer";
import { Connection, type TlsSettings, type Transport } from "./connection.ts";
import { DEFAULT_JOB_TIMEOUT, DEFAULT_REDIS_URL, RQ_VERSION } from "./defaults.ts";
import { Deadline } from "./deadline.ts";
import { Horse, type HorseOutcome } from "./horse.ts";
import { Job, type WireJob } from "./job.ts";
import { heldKey, jobKey, ownListKey, queueKey, registryKey, workerKey } from "./keys.ts";
import {
  DEQUEUE,
  FINISH_FAILURE,
  FINISH_FAILURE_AND_DEQUEUE,
  FINISH_SUCCESS,
  FINISH_SUCCESS_AND_DEQUEUE,
  GIVE_BACK,
  RECONCILE,
} from "./lua.ts";
import { describeError } from "./perform.ts";
import { cleanRegistries } from "./maintenance.ts";
import { OutageGuard } from "./outage.ts";
import { WorkerRegistration } from "./worker_registration.ts";
import { RedisReplyError } from "./resp.ts";
import type { Queue } from "./queue.ts";
import { failureFields, RESULT_TYPES } from "./results.ts";
import { getRuntime, type Runtime } from "./runtime.ts";
import { JSONSerializer, type Serializer } from "./serializer.ts";
import { formatMicros, nowMicros, nowSeconds, utcNow } from "./utils.ts";

import {
  type CheckedWorkerOptions,
  checkWorkerOptions,
  consoleLogger,
  type Logger,
  type LogLevel,
  type WorkerOptions,
} from "./worker_options.ts";

export { consoleLogger, type Logger, type LogLevel, type WorkerOptions };

/** A job taken off a queue; `epoch`: the worker's life it was taken in (see Worker.#epoch). */
type Dequeued = { id: string; queue: string; raw: Record<string, Uint8Array>; epoch: number };
type Finish = { kind: "success" | "failure"; args: string[] };
/**
 * The end of a wait for work: jobs the wait itself took (single-queue workers), for the first idle slot to claim, and
 * whether more may be queued behind them (false: the queue was empty once they were taken).
 */
type Wake = { jobs: Dequeued[] | null; more: boolean };
/** What Worker.#waitAndTake did (see there). */
type Taking = { next: Dequeued[] | "suspended" | null; more: boolean; stored: boolean; error?: unknown };

/** How long a blocking dequeue waits before looking around (heartbeats run on their own timer), seconds. */
const BLOCK_SECONDS = 5;
/** Most jobs taken ahead at once, to go to a horse in one message. */
const BATCH_MAX = 8;
/** Jobs are batched only in a slot whose last jobs each took less than this, ms. */
const BATCH_JOB_MS = 10;
/**
 * A job running longer than this, ms, releases the jobs queued behind it in its slot (the rest of its batch, and all
 * but one of those taken ahead): they go back to their queue, for other slots and workers.
 */
const RELEASE_AFTER_MS = 50;
/** Registry maintenance interval, seconds (RQ's). */
const MAINTENANCE_INTERVAL = 600;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

const utf8 = new TextDecoder();
const EQUALS = Buffer.from("=");

/** The reply of a dequeue script: the jobs taken (at least one), "suspended", or null (none). */
function decodeDequeued(reply: unknown, epoch: number): Dequeued[] | "suspended" | null {
  if (!reply) return null;
  if (!Array.isArray(reply)) return utf8.decode(reply as Uint8Array) === "suspended" ? "suspended" : null;
  return (reply as [Uint8Array, Uint8Array, Uint8Array[]][]).map(([id, queue, flat]) => {
    const raw: Record<string, Uint8Array> = {};
    for (let i = 0; i < flat.length; i += 2) raw[utf8.decode(flat[i])] = flat[i + 1];
    return { id: utf8.decode(id), queue: utf8.decode(queue), raw, epoch };
  });
}

/**
 * A worker: takes jobs off its queues (the first non-empty queue in the order given wins) and runs each in a
 * horse process under the job's timeout.
 *
 * @example
 * ```ts
 * import { Worker } from "@rqts/rqts";
 * const worker = new Worker(["high", "default"], { connection: "redis://127.0.0.1:6379" });
 * await worker.work({ burst: true }); // returns when the queues are empty
 * ```
 */
export class Worker {
  readonly name: string;
  readonly key: string;
  readonly queueNames: string[];
  readonly connection: Connection;
  readonly serializer: Serializer;
  readonly concurrency: number;
  readonly maxJobsPerHorse: number;
  readonly jobRoot: string;

  readonly #runtime: Runtime;
  readonly #options: WorkerOptions;
  readonly #checked: CheckedWorkerOptions;
  readonly #logger: Logger;
  readonly #redisUrl: string;
  readonly #ownList: string;
  readonly #heldKey: string;
  #stopping = false;
  #cold = false;
  #horses = new Set<Horse>();
  #running = new Map<string, { job: Job; startedMicros: number; timeout: number }>();
  /**
   * Slots without a job in hand: starting, or waiting for work. While there is one, no slot takes a job ahead (that
   * job is the hungry slot's to run now).
   */
  #hungry = 0;
  /** Jobs taken ahead (marked started in Redis) that wait for their slot's current job to end. */
  #held = new Map<string, Dequeued>();
  /** Ends the running wait for work, on stop. A Set: each wait removes its own entry when it ends. */
  #wake = new Set<() => void>();
  #blockedClients = new Set<Transport>();
  /** Waits that dequeue what they wake for (see #waitAndTake), with their connection's CLIENT ID: unblocked, not cut. */
  #takingWaits = new Set<{ id: Promise<number> }>();
  #waiting: Promise<Wake> | undefined;
  #suspendedLogged = false;
  /** Ids this worker dequeued and has not stored or given back: what it knows it holds (see OutageGuard.reconcile). */
  #taken = new Set<string>();
  /** Outages of Redis, retries, and the reconcile gate that dequeues pass (see outage.ts). */
  readonly #outage: OutageGuard;
  /**
   * Bumped when this worker finds its liveness key had lapsed (cut off from Redis for longer than its TTL): other
   * workers may have recovered it meanwhile, so jobs it took ahead before then are not run but given back.
   */
  #epoch = 0;
  readonly #registration: WorkerRegistration;
  /** Jobs this worker has finished (success or failure). */
  jobsDone = 0;

  /**
   * @param queues Queue names or Queues, in priority order. Default `["default"]`.
   * @throws {TypeError|RangeError} for bad options.
   */
  constructor(queues: readonly (string | Queue)[] | string | Queue = ["default"], options: WorkerOptions = {}) {
    const list = Array.isArray(queues) ? queues : [queues as string | Queue];
    if (!list.length) throw new TypeError("Worker: give at least one queue name, e.g. new Worker(['default']).");
    this.queueNames = list.map((q) => typeof q === "string" ? q : q.name);
    for (const name of this.queueNames) {
      if (typeof name !== "string" || name === "") {
        throw new TypeError(`Worker: queue names must be non-empty strings.`);
      }
    }
    const checked = checkWorkerOptions(options);
    this.#runtime = getRuntime();
    this.#options = options;
    const firstQueue = list.find((q): q is Queue => typeof q !== "string");
    this.connection = Connection.resolve(options.connection ?? firstQueue?.connection);
    this.serializer = options.serializer ?? JSONSerializer;
    this.name = options.name ?? crypto.randomUUID().replaceAll("-", "");
    this.key = workerKey(this.name);
    this.#ownList = ownListKey(this.name);
    this.#heldKey = heldKey(this.name);
    this.concurrency = checked.concurrency;
    this.maxJobsPerHorse = checked.maxJobsPerHorse;
    this.#checked = checked;
    this.jobRoot = options.jobRoot ?? this.#runtime.cwd();
    this.#logger = options.logger ?? consoleLogger(options.logLevel ?? "info");
    this.#redisUrl = this.connection.url ?? this.#runtime.env("REDIS_URL") ?? DEFAULT_REDIS_URL;
    this.#outage = new OutageGuard({
      log: (level, message) => this.#log(level, message),
      running: () => this.#running.size,
      cold: () => this.#cold,
      reconcile: () => this.connection.eval<number>(RECONCILE, [], [this.name, ...this.#taken]),
      unblockWaits: () => this.#unblockTakingWaits(),
    });
    this.#registration = new WorkerRegistration({
      connection: this.connection,
      runtime: this.#runtime,
      name: this.name,
      queueNames: this.queueNames,
      ownList: this.#ownList,
      workerTtl: this.#workerTtl(),
      livenessTtl: this.#livenessTtl(),
      log: (level, message) => this.#log(level, message),
    });
  }

  /** TLS options of a caller's node-redis client (`socket: { tls: true, ca }`), for the horses. */
  #callerTls(): TlsSettings | undefined {
    if (this.connection.owned) return undefined;
    let socket: Record<string, unknown> | undefined;
    try {
      socket = (this.connection.client as unknown as { options?: { socket?: Record<string, unknown> } }).options
        ?.socket;
    } catch {
      return undefined; // not connected yet
    }
    if (!socket?.tls) return undefined;
    const pick = ["ca", "cert", "key", "rejectUnauthorized", "servername"].filter((k) => socket![k] !== undefined);
    return Object.fromEntries(pick.map((k) => [k, socket![k]])) as TlsSettings;
  }

  #log(level: LogLevel, message: string): void {
    this.#logger.log(level, message);
  }

  /**
   * Registers, runs jobs until stopped (or, with `burst`, until the queues are empty), then unregisters.
   * @throws {RqtsError} when an active worker of the same name exists.
   */
  async work(options: { burst?: boolean } = {}): Promise<void> {
    const burst = options.burst ?? false;
    const unsubscribe: (() => void)[] = [];
    if (this.#options.handleSignals ?? true) {
      const onSignal = (sig: string) => () => {
        if (!this.#stopping) {
          this.#log(
            "warning",
            `Warm shut down requested (${sig}): finishing running jobs, press Ctrl+C again to kill them`,
          );
          this.stop();
        } else {
          this.#log("warning", `Cold shut down (${sig}): killing horses`);
          this.stop({ cold: true });
        }
      };
      for (const sig of ["SIGINT", "SIGTERM"] as const) unsubscribe.push(this.#runtime.onSignal(sig, onSignal(sig)));
    }
    try {
      await this.#registration.birth();
      this.#log(
        "info",
        `Worker ${this.key} started with PID ${this.#runtime.pid()}, version ${RQ_VERSION} (rqts on ${this.#runtime.name} ${this.#runtime.version})`,
      );
      this.#log("info", `*** Listening on ${this.queueNames.join(", ")}...`);
      await this.#maintenance();
      const heartbeat = setInterval(() => void this.#heartbeat().catch(() => {}), this.#heartbeatMs());
      const maintenance = setInterval(() => void this.#maintenance().catch(() => {}), MAINTENANCE_INTERVAL * 1000);
      const liveness = setInterval(() => void this.#refreshLiveness(), this.#livenessTtl() * 1000 / 3);
      const recovery = setInterval(() => void this.#recoverDeadWorkers().catch(() => {}), this.#livenessTtl() * 1000);
      try {
        await Promise.all(Array.from({ length: this.concurrency }, () => this.#slot(burst)));
      } finally {
        clearInterval(heartbeat);
        clearInterval(maintenance);
        clearInterval(liveness);
        clearInterval(recovery);
      }
      this.#log("info", `Worker ${this.name}: done, quitting`);
    } finally {
      for (const u of unsubscribe) u();
      await Promise.allSettled([...this.#horses].map((h) => h.dispose()));
      // A dequeue whose reply was lost (Redis went away under it) may have left a job started: give it back first.
      if (this.#outage.needReconcile) await this.#outage.reconcile().catch(() => {});
      await this.#registration.death().catch((e) => this.#log("error", `Could not unregister: ${e?.message ?? e}`));
      await this.connection.close();
    }
  }

  /** Stops dequeuing; running jobs finish (warm), or with `cold` their horses are killed and the jobs fail. */
  stop(options: { cold?: boolean } = {}): void {
    this.#stopping = true;
    if (options.cold) {
      this.#cold = true;
      for (const h of this.#horses) void h.kill();
    }
    for (const c of this.#blockedClients) c.destroy();
    this.#blockedClients.clear();
    this.#unblockTakingWaits();
    for (const w of this.#wake) w();
    this.#wake.clear();
  }

  /**
   * Ends the waits that dequeue what they wake for by unblocking them (CLIENT UNBLOCK), never by cutting their
   * connection: their dequeue still runs (taking at most an id their BLMOVE moved) and its reply is read.
   */
  #unblockTakingWaits(): void {
    for (const wait of this.#takingWaits) this.#unblock(wait);
  }

  /** Unblocks a taking wait (one of #takingWaits). */
  #unblock(wait: { id: Promise<number> }): void {
    void (async () => {
      const id = String(await wait.id.catch(() => -1)); // -1: the wait's connection failed, and the wait with it
      // The unblock travels on another connection: it may reach Redis before the BLMOVE it is meant for (0: nothing
      // was blocked). Again until that wait ends.
      while (this.#takingWaits.has(wait)) {
        const n = await this.connection.call<number>(["CLIENT", "UNBLOCK", id]).catch(() => -1);
        if (n !== 0) return; // unblocked, or Redis is unreachable (the wait's connection fails with it)
        await sleep(5);
      }
    })();
  }

  #heartbeatMs(): number {
    return Math.min(this.#checked.jobMonitoringInterval, 30) * 1000;
  }

  #workerTtl(): number {
    return this.#checked.workerTtl + 60;
  }

  #livenessTtl(): number {
    return this.#checked.livenessTtl;
  }

  /** Keeps this worker's liveness key; notices Redis going away and coming back, and a lapse. */
  async #refreshLiveness(): Promise<void> {
    try {
      const lapsed = await this.#registration.keepAlive();
      this.#outage.up();
      if (lapsed && !this.#stopping) {
        this.#epoch++; // jobs taken ahead before the lapse go back instead of running (see #slot)
        await this.#registration.rejoin();
      }
    } catch (error) {
      if (this.#outage.transient(error)) this.#outage.down(error);
    }
  }

  /** Recovers every rqts worker that has stopped living (see WorkerRegistration.recoverDeadWorkers). */
  async #recoverDeadWorkers(): Promise<void> {
    // Right after an outage every worker's key may have lapsed: give live ones a full TTL to show up first.
    if (!this.#outage.steadyFor(this.#livenessTtl() * 1000)) return;
    await this.#registration.recoverDeadWorkers();
  }

  async #heartbeat(): Promise<void> {
    const now = utcNow();
    const busy = this.#running.size > 0;
    const commands: string[][] = [
      ["EXPIRE", this.key, String(busy ? 90 : this.#workerTtl())],
      ["HSET", this.key, "last_heartbeat", now],
    ];
    const seconds = nowSeconds();
    for (const [id, r] of this.#running) {
      const elapsed = (nowMicros() - r.startedMicros) / 1e6;
      const hb = (r.timeout > 0 ? Math.min(Math.max(r.timeout - elapsed, 0), 30) : 30) + 60;
      commands.push(
        ["HSET", jobKey(id), "last_heartbeat", now],
        ["ZADD", registryKey("started", r.job.origin), "XX", String(Math.floor(seconds + hb)), id],
      );
    }
    for (const [id, d] of this.#held) {
      const origin = (d.raw.origin ? utf8.decode(d.raw.origin) : "") || d.queue;
      commands.push(["ZADD", registryKey("started", origin), "XX", String(seconds + 90), id]);
    }
    if (busy) commands.push(["HSET", this.key, "current_job_working_time", String(this.#longestRunning())]);
    await this.connection.transaction(commands);
  }

  #longestRunning(): number {
    let oldest = nowMicros();
    for (const r of this.#running.values()) oldest = Math.min(oldest, r.startedMicros);
    return (nowMicros() - oldest) / 1e6;
  }

  /** RQ's maintenance (registries, stale workers), and the own and held lists of rqts workers that are gone. */
  async #maintenance(): Promise<void> {
    await cleanRegistries(this.connection, this.queueNames, this.serializer);
    await this.#registration.recoverGoneWorkers();
  }

  #dequeueArgs(ahead: boolean, started: string): string[] {
    const held = ahead ? this.#heldKey : "";
    return [this.key, this.name, this.#ownList, String(nowSeconds()), utcNow(), held, started, ...this.queueNames];
  }

  /** Takes `id` out of the held set (not awaited: a worker that dies from here on leaves a started job). */
  #unhold(id: string): void {
    void this.connection.call(["SREM", this.#heldKey, id]).catch(() => {});
  }

  /**
   * Stores `finish` (if any) and takes up to `count` jobs, in one round trip. `ahead`: the jobs are taken while
   * another runs, so they are recorded in the held set until they start. `started` (with `ahead`): a job taken ahead
   * earlier that starts now, taken out of the held set in the same round trip.
   */
  async #finishAndDequeue(
    finish: Finish | undefined,
    ahead = false,
    started = "",
    count = 1,
  ): Promise<Dequeued[] | "suspended" | null> {
    if (this.#stopping) {
      if (started) this.#unhold(started);
      if (finish) await this.#store(finish);
      return null;
    }
    return await this.#outage.retrying(async () => {
      while (this.#outage.gate) await this.#outage.gate;
      this.#outage.enter();
      let reply: unknown;
      const dequeueArgs = [String(count), ...this.#dequeueArgs(ahead, started)];
      try {
        if (!finish) reply = await this.connection.eval(DEQUEUE, [], dequeueArgs, true);
        else {
          const script = finish.kind === "success" ? FINISH_SUCCESS_AND_DEQUEUE : FINISH_FAILURE_AND_DEQUEUE;
          reply = await this.connection.eval(
            script,
            [],
            ["", String(finish.args.length), ...finish.args, ...dequeueArgs],
            true,
          );
        }
      } finally {
        this.#outage.leave();
      }
      if (finish) this.#taken.delete(finish.args[0]);
      const taken = decodeDequeued(reply, this.#epoch);
      if (taken && taken !== "suspended") { for (const d of taken) this.#taken.add(d.id); }
      return taken;
    });
  }

  async #store(finish: Finish): Promise<void> {
    await this.#outage.retrying(() =>
      this.connection.eval(finish.kind === "success" ? FINISH_SUCCESS : FINISH_FAILURE, [], finish.args)
    );
    this.#taken.delete(finish.args[0]);
  }

  /**
   * Waits until a queue may have work: one BLMOVE per queue (on dedicated connections) moves the first id that
   * arrives into this worker's own list, where the next dequeue takes it. A single-queue worker takes the job in the
   * wait itself (see {@link #waitAndTake}). Shared by all idle slots: the first to look claims the jobs taken.
   */
  #waitForWork(): Promise<Wake> {
    return this.#waiting ??= (async () => {
      const woken: Wake = { jobs: null, more: true };
      let wake: (() => void) | undefined;
      try {
        if (this.#takesInWait()) {
          const taking = await this.#waitAndTake();
          if (Array.isArray(taking.next)) [woken.jobs, woken.more] = [taking.next, taking.more];
          else if (taking.error) throw taking.error;
          return woken;
        }
        // Sent alongside the blocking wait rather than before it, so a job that arrives meanwhile is not held up by
        // its round trip; it is awaited before the wait ends, so Redis still sees "idle" before the dequeue's "busy".
        const heartbeat = this.#sendIdleHeartbeat();
        heartbeat.catch(() => {});
        const blocked = new Map<Transport, Promise<number>>(); // dedicated connection → its CLIENT ID, while it blocks
        const waits = this.queueNames.map((q) =>
          this.connection.blocking(async (client) => {
            if (this.#stopping) return null;
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
                String(BLOCK_SECONDS),
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
        for (const id of blocked.values()) await this.connection.call(["CLIENT", "UNBLOCK", String(await id)]);
        await Promise.race([Promise.allSettled(waits), stop]);
        await heartbeat;
      } catch (error) {
        await this.#waitFailed(error);
      } finally {
        // Each wait's stop handle goes with it: kept, they held every past wait's promises and maps (~1.5 kB a wait,
        // i.e. a job arriving at an idle worker, or BLOCK_SECONDS of idling).
        if (wake) this.#wake.delete(wake);
        this.#waiting = undefined;
      }
      return woken;
    })();
  }

  /** Whether waits take the job they wake for (see #waitAndTake): a single queue. */
  #takesInWait(): boolean {
    return this.queueNames.length === 1;
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
   * the finish script, which stores the outcome and takes the next job as #finishAndDequeue does, or marks the worker
   * idle when there is none: the wait behind it then costs no write of its own. When the finish script takes a job,
   * the wait is unblocked at once (a job it then took too comes along).
   *
   * Never throws: `error` says what failed, `stored` whether `finish` was stored (if not, the caller stores it the
   * ordinary way; a finish that did run stores nothing the second time). Jobs taken are in `next` even then.
   */
  async #waitAndTake(finish?: Finish): Promise<Taking> {
    const out: Taking = { next: null, more: true, stored: !finish };
    try {
      while (this.#outage.gate) await this.#outage.gate;
      const script = finish && (finish.kind === "success" ? FINISH_SUCCESS_AND_DEQUEUE : FINISH_FAILURE_AND_DEQUEUE);
      const [sha, finishSha] = await Promise.all([DEQUEUE.sha(), script?.sha()]);
      await this.connection.blocking(async (client) => {
        if (this.#stopping || this.#outage.gate) return;
        const wait = { id: client.clientId() }; // asked before the block (it would wait behind it)
        const queue = queueKey(this.queueNames[0]);
        const others: Promise<unknown>[] = []; // replies whose failure is the dequeue's
        let finished: Promise<unknown> | undefined;
        if (finish) {
          const ttl = String(this.#workerTtl());
          const dequeueArgs = ["1", ...this.#dequeueArgs(false, "")];
          finished = client.send(
            ["EVALSHA", finishSha!, "0", ttl, String(finish.args.length), ...finish.args, ...dequeueArgs],
            true,
          );
        } else if (this.#running.size === 0) {
          others.push(...this.#idleHeartbeatCommands().map((command) => client.send(command)));
        }
        others.push(client.send(["BLMOVE", queue, this.#ownList, "LEFT", "RIGHT", String(BLOCK_SECONDS)]));
        // No queue names after the dequeue's fixed arguments: it takes from the own list only.
        const taken = client.send(["EVALSHA", sha, "0", "1", this.key, this.name, this.#ownList, "", "", "", ""], true);
        const left = client.send(["LLEN", queue]);
        for (const r of [...others, finished, taken, left]) r?.catch(() => {});
        this.#outage.enter();
        this.#takingWaits.add(wait);
        try {
          if (finished) {
            try {
              const now = decodeDequeued(await finished, this.#epoch);
              out.stored = true;
              if (Array.isArray(now)) { for (const d of now) this.#taken.add(d.id); }
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
            reply = await taken;
          } catch (error) {
            // An error reply: the dequeue did not run, and an id BLMOVE moved waits in the own list for the next one.
            if (error instanceof RedisReplyError) return;
            throw error;
          }
          const jobs = decodeDequeued(reply, this.#epoch);
          if (Array.isArray(jobs)) {
            for (const d of jobs) this.#taken.add(d.id);
            out.more = Array.isArray(out.next) || await left.then((n) => n !== 0, () => true);
            out.next = Array.isArray(out.next) ? [...out.next, ...jobs] : jobs;
          }
        } catch (error) {
          this.#outage.needReconcile = true; // the connection broke: a dequeue may have run unheard
          throw error;
        } finally {
          this.#takingWaits.delete(wait);
          this.#outage.leave();
        }
      });
    } catch (error) {
      out.error = error;
    }
    return out;
  }

  /** After a wait for work failed (Redis went away, say): says so, and pauses a second before the next look. */
  async #waitFailed(error: unknown): Promise<void> {
    if (this.#stopping) return;
    if (this.#outage.transient(error)) this.#outage.down(error);
    else this.#log("warning", `Waiting for jobs failed (${(error as Error)?.message ?? error}); retrying in 1 s`);
    await sleep(1000);
  }

  /** The commands of the idle heartbeat: state idle, last_heartbeat, the worker key's TTL. */
  #idleHeartbeatCommands(): string[][] {
    return [
      ["HSET", this.key, "state", "idle", "last_heartbeat", utcNow()],
      ["EXPIRE", this.key, String(this.#workerTtl())],
    ];
  }

  async #sendIdleHeartbeat(): Promise<void> {
    if (this.#running.size) return;
    await this.connection.transaction(this.#idleHeartbeatCommands());
  }

  #spawnHorse(): Horse {
    const horse = new Horse(this.#runtime, {
      env: {},
      cwd: this.#runtime.cwd(),
      permissions: this.#options.horsePermissions,
      maxHeapMb: this.#options.horseMaxHeapMb,
    });
    this.#horses.add(horse);
    void horse.ready.then(
      () => this.#log("debug", `Horse ${horse.pid} ready`),
      (e) => this.#log("error", `Horse ${horse.pid}: ${e.message}`),
    );
    return horse;
  }

  #retire(horse: Horse): void {
    this.#horses.delete(horse);
    void horse.dispose();
  }

  /**
   * One concurrency slot: its own horse, running one job at a time. While a job runs, the slot already stores the
   * previous outcome and takes the next job in one round trip, so Redis time hides behind job time.
   */
  async #slot(burst: boolean): Promise<void> {
    let horse: Horse | undefined;
    // With one job per horse, process start-up is the cost: keep two horses starting ahead of need.
    const spares: Horse[] = [];
    const sparesWanted = this.maxJobsPerHorse === 1 ? 2 : 1;
    let finishes: Finish[] = []; // the last outcomes, not stored yet
    let next: Dequeued[] | "suspended" | null = null;
    let fetched = false; // whether `next` is the answer of a dequeue made since the last jobs started
    // The longest job of the slot's last batch, ms (Infinity: none yet). Jobs are batched only behind short ones.
    let slowestMs = Infinity;
    let hungry = true; // counted in #hungry
    // Whether the jobs in hand were taken by a wait for work that left their queue empty: taking ahead while they run
    // would most likely find nothing (a script call per job for nothing, in the path of latency).
    let woke = false;
    this.#hungry++;
    const slow = new Deadline(); // the running job's "taking long" point (see RELEASE_AFTER_MS)
    const setHungry = (h: boolean) => {
      if (h === hungry) return;
      hungry = h;
      this.#hungry += h ? 1 : -1;
    };
    try {
      while (true) {
        // A ready horse before taking a job, so a horse that cannot start never costs a job.
        if (!horse || horse.dead || (this.maxJobsPerHorse && horse.jobsRun >= this.maxJobsPerHorse)) {
          if (horse) this.#retire(horse);
          horse = spares.shift() ?? this.#spawnHorse();
          // Outcomes do not wait for a horse to start (after one died, say): a worker killed meanwhile would lose them.
          const stored = Promise.all(horse.isReady ? [] : finishes.splice(0).map((f) => this.#store(f)));
          try {
            await horse.ready;
          } catch {
            await stored;
            this.#retire(horse);
            horse = undefined;
            if (this.#stopping) break;
            await new Promise((r) => setTimeout(r, 1000));
            continue;
          }
          await stored;
        }
        if (!fetched && woke && !burst && finishes.length === 1 && this.concurrency === 1 && this.#takesInWait()) {
          // The job came to an idle worker and found its queue empty: store its outcome and wait for the next in one
          // write (see #waitAndTake).
          const last = finishes.pop()!;
          const taking = await this.#waitAndTake(last);
          next = taking.next;
          woke = !taking.more;
          if (!taking.stored) {
            const more = await this.#finishAndDequeue(last);
            next = Array.isArray(next) && Array.isArray(more) ? [...next, ...more] : Array.isArray(next) ? next : more;
          } else if (!next && taking.error) await this.#waitFailed(taking.error);
          if (next) fetched = true;
        }
        if (!fetched) {
          // The last outcome goes with the dequeue; any others in the same write.
          const last = finishes.pop();
          [next] = await Promise.all([this.#finishAndDequeue(last), ...finishes.map((f) => this.#store(f))]);
          finishes = [];
          woke = false;
        }
        fetched = false;
        setHungry(!next || next === "suspended");
        if (next === "suspended") {
          if (burst) break;
          if (!this.#suspendedLogged) {
            this.#log("warning", "Worker suspended (rq:suspended is set); waiting for resume");
          }
          this.#suspendedLogged = true;
          await this.connection.call(["HSET", this.key, "state", "suspended"]).catch(() => {});
          await sleep(1000);
          continue;
        }
        this.#suspendedLogged = false;
        if (!next) {
          if (burst || this.#stopping) break;
          const woken = await this.#waitForWork();
          woke = !woken.more;
          // Claimed before anything else: jobs the wait took are this slot's to run (or give back, when stopping).
          if (woken.jobs) {
            next = woken.jobs;
            woken.jobs = null;
            fetched = true;
          } else if (this.#stopping) break;
          continue;
        }
        if (this.#stopping) {
          await this.#giveBackAll(next);
          break;
        }
        // When this horse is about to reach its job limit, the next ones start now, while these jobs run.
        if (this.maxJobsPerHorse && horse.jobsRun + next.length >= this.maxJobsPerHorse) {
          while (spares.length < sparesWanted) spares.push(this.#spawnHorse());
        }
        const jobs: Dequeued[] = [];
        const heldIds: string[] = []; // jobs taken ahead, which leave the held set as they go to the horse
        // Before jobs taken ahead start: when the liveness key was last set longer ago than its refresh period allows
        // (the process was frozen, or its event loop stalled, past the refresh timer), set it now, so a lapse is found
        // (and the epoch bumped) before they run rather than at the next timer: another worker may have given them
        // back and run them meanwhile. No await in the usual case (the timer sets the key every third of its TTL).
        if (this.#registration.livenessOverdue && next.some((d) => this.#held.has(d.id))) await this.#refreshLiveness();
        for (const d of next) {
          const wasHeld = this.#held.delete(d.id);
          if (wasHeld && d.epoch !== this.#epoch) {
            // Taken ahead before this worker was presumed dead: it may have been given back and run elsewhere.
            await this.#giveBackAll([d]);
            continue;
          }
          if (wasHeld) heldIds.push(d.id);
          jobs.push(d);
        }
        if (!jobs.length) continue;
        // Meanwhile: store the previous outcomes and take the next jobs (they wait, started, in this slot) — but only
        // when every slot has a job: while another slot is idle, the next job is its to run now, not this one's later.
        // (A slot between two jobs it holds is not idle: counting running jobs instead sent a fifth of all jobs at
        // concurrency 4 through three round trips instead of one.) Behind short jobs, up to BATCH_MAX are taken, to
        // go to the horse in one message (one round of messages and wake-ups for several jobs).
        let take = 0;
        if (this.#hungry === 0 && !woke) {
          take = slowestMs < BATCH_JOB_MS ? BATCH_MAX : 1;
          if (this.maxJobsPerHorse) {
            const room = this.maxJobsPerHorse - horse.jobsRun - jobs.length; // left in this horse after these jobs
            take = Math.min(take, room > 0 ? room : this.maxJobsPerHorse);
          }
        }
        // One script stores the first outcome and takes the jobs; the other outcomes and held-set removals go in the
        // same write.
        const ahead = take
          ? this.#finishAndDequeue(finishes[0], true, heldIds[0] ?? "", take).then((taken) => {
            if (taken && taken !== "suspended") { for (const d of taken) this.#held.set(d.id, d); }
            return taken;
          })
          : Promise.resolve(null);
        const stores = finishes.slice(take ? 1 : 0).map((f) => this.#store(f));
        for (const id of heldIds.slice(take ? 1 : 0)) this.#unhold(id);
        finishes = [];
        // The commands taking the jobs out of the held set must be on the socket before the jobs reach their horse:
        // a worker killed after that leaves jobs that ran nowhere in the held set (which would run them again).
        if (heldIds.length) await this.connection.flushed();
        // When a job turns out long, all but one of the jobs taken ahead go back to their queue instead of waiting.
        let trimmed: Promise<void> | undefined;
        const trim = take > 1
          ? () =>
            void (trimmed ??= ahead.then((taken) =>
              Array.isArray(taken) && taken.length > 1 ? this.#giveBackAll(taken.splice(1)) : undefined
            ))
          : undefined;
        const [ran, got] = await Promise.all([this.#perform(horse, jobs, slow, trim), ahead, Promise.all(stores)]);
        await trimmed;
        finishes = ran.finishes;
        slowestMs = ran.slowestMs;
        // Jobs after one that killed its horse never started: back to the front of their queues, in order. (Jobs
        // released behind a long one went back as soon as the horse let them go.)
        await this.#giveBackAll(ran.notStarted);
        next = got;
        // With jobs in hand, their predecessors' outcomes are stored when they start; with none, store them now (and
        // look again) rather than leave finished jobs waiting on the next arrival.
        fetched = !!next && next !== "suspended";
      }
    } finally {
      slow.dispose();
      setHungry(false);
      if (fetched && next && next !== "suspended") await this.#giveBackAll(next).catch(() => {});
      for (const f of finishes) {
        await this.#store(f).catch((e) => this.#log("error", `Could not store a job's outcome: ${e}`));
      }
      if (horse) this.#retire(horse);
      for (const h of spares) this.#retire(h);
    }
  }

  /**
   * Gives back jobs this slot took but did not start (a stopping worker, a dead horse, a release), keeping their
   * order at the front of their queues: one script, so two give-backs at once do not interleave.
   */
  async #giveBackAll(jobs: Dequeued[]): Promise<void> {
    if (!jobs.length) return;
    for (const d of jobs) this.#held.delete(d.id);
    // As if never taken: the fields dequeuing set get their values from before (a foreign client's, even garbage).
    const was = (v: Uint8Array | undefined) => v ? Buffer.concat([EQUALS, v]) : "-";
    const args = jobs.flatMap((d) => [
      d.id,
      d.queue,
      was(d.raw.started_at),
      was(d.raw.last_heartbeat),
      was(d.raw.worker_name),
    ]);
    await this.#outage.retrying(() => this.connection.eval(GIVE_BACK, [], [this.name, ...args]));
    for (const d of jobs) this.#taken.delete(d.id);
    await this.connection.call(["SREM", this.#heldKey, ...jobs.map((d) => d.id)]).catch(() => {});
  }

  /**
   * Runs dequeued (already started) jobs in `horse`, one after another; returns the outcomes to store, the jobs that
   * never started (the horse died in an earlier one, or they were released) and the longest job's duration in ms.
   * A job running past RELEASE_AFTER_MS releases the jobs after it (`horse.release()`), has the outcomes so far stored
   * now rather than when the batch ends, and calls `onSlow`.
   */
  async #perform(
    horse: Horse,
    batch: Dequeued[],
    slow: Deadline,
    onSlow?: () => void,
  ): Promise<{ finishes: Finish[]; notStarted: Dequeued[]; slowestMs: number }> {
    const finishes: Finish[] = [];
    const stored: Promise<unknown>[] = []; // outcomes stored early, and released jobs given back
    let releasedFrom = Infinity;
    const onLong = () => {
      // onSlow first: its give-back (jobs taken ahead, behind this batch) then reaches Redis before the release's (the
      // horse's answer takes a message each way), so the batch's own jobs end up in front of them, in order.
      onSlow?.();
      horse.release();
      if (finishes.length) stored.push(Promise.all(finishes.splice(0).map((f) => this.#store(f))));
    };
    const ready: { d: Dequeued; job: Job; run: { job: WireJob; timeout: number; queue: string } }[] = [];
    for (const d of batch) {
      const job = new Job(d.id, this.connection, this.serializer);
      try {
        job.restore(d.raw);
        job.origin ||= d.queue;
        ready.push({ d, job, run: { job: job.toWire(), timeout: job.timeout ?? DEFAULT_JOB_TIMEOUT, queue: d.queue } });
      } catch (error) {
        // A hash this worker cannot read fails without reaching a horse.
        job.origin ||= d.queue;
        const outcome: HorseOutcome = { ok: false, horseDied: false, excString: describeError(error) };
        finishes.push(this.#finishOf(job, d, nowMicros(), outcome));
      }
    }
    let slowestMs = 0;
    let started = 0;
    let ended = 0;
    let startedMicros = 0;
    if (ready.length > 1) {
      this.#log(
        "debug",
        `Horse ${horse.pid}: ${ready.length} jobs in one message (${ready.map((r) => r.job.id).join(" ")})`,
      );
    }
    if (ready.length) {
      try {
        await horse.run(ready.map((r) => r.run), {
          jobRoot: this.jobRoot,
          redisUrl: this.#redisUrl,
          tls: this.connection.settings.tls ?? this.#callerTls(),
          worker: this.name,
        }, {
          started: (i) => {
            const { d, job } = ready[i];
            started = i + 1;
            startedMicros = nowMicros();
            this.#log("info", `${d.queue}: ${job.description ?? job.funcName} (${job.id})`);
            this.#running.set(job.id, { job, startedMicros, timeout: ready[i].run.timeout });
            if (onSlow || i + 1 < ready.length) slow.set(Date.now() + RELEASE_AFTER_MS, onLong);
          },
          ended: (i, outcome) => {
            const { d, job } = ready[i];
            ended = i + 1;
            slow.clear();
            this.#running.delete(job.id);
            slowestMs = Math.max(slowestMs, (nowMicros() - startedMicros) / 1000);
            finishes.push(this.#finishOf(job, d, startedMicros, outcome));
          },
          released: (i) => {
            // Back to the front of their queue now, not when the long job ends.
            releasedFrom = i;
            stored.push(this.#giveBackAll(ready.slice(i).map((r) => r.d)));
            this.#log(
              "debug",
              `Horse ${horse.pid}: ${ready.length - i} job(s) behind a long one went back to their queue`,
            );
          },
        });
      } catch (error) {
        // Not expected (the horse reports deaths as outcomes): the job it was in fails with the error.
        if (started > ended) {
          const { d, job } = ready[ended];
          this.#running.delete(job.id);
          const outcome: HorseOutcome = { ok: false, horseDied: false, excString: describeError(error) };
          finishes.push(this.#finishOf(job, d, startedMicros, outcome));
          ended++;
        }
      }
    }
    slow.clear();
    await Promise.all(stored);
    return { finishes, notStarted: ready.slice(ended, releasedFrom).map((r) => r.d), slowestMs };
  }

  /** The outcome of `job` (run from `startedMicros`, ended now), as the arguments of its finish script. */
  #finishOf(job: Job, taken: Dequeued, startedMicros: number, outcome: HorseOutcome): Finish {
    if (!outcome.ok && outcome.horseDied && this.#cold) {
      outcome.excString =
        `Worker was shut down (cold) while the job ran: its work-horse was killed.\n${outcome.excString}`;
    }
    this.jobsDone++;
    const now = nowMicros();
    const common = [
      job.id,
      job.origin,
      String(nowSeconds()),
      formatMicros(now),
    ];
    const tail = [
      formatMicros(startedMicros),
      this.key,
      String((now - startedMicros) / 1e6),
      this.name,
      formatMicros(startedMicros),
    ];
    if (outcome.ok) {
      const ttl = job.resultTtl ?? this.#checked.defaultResultTtl;
      this.#log("info", `${taken.queue}: Job OK (${job.id})`);
      if (ttl > 0) this.#log("info", `Result is kept for ${ttl} seconds`);
      else if (ttl === 0) this.#log("info", "Result discarded immediately");
      else this.#log("info", "Result will never expire, clean up result key manually");
      const fields = ["type", RESULT_TYPES.successful];
      if (outcome.returnValue !== null) fields.push("return_value", outcome.returnValue);
      return { kind: "success", args: [...common, String(ttl), ...tail, ...fields] };
    }
    this.#log("error", `${taken.queue}: ${job.id}: ${outcome.excString.trimEnd().split("\n")[0]}`);
    this.#log("debug", outcome.excString);
    return {
      kind: "failure",
      args: [
        ...common,
        job.failureTtl === null ? "" : String(job.failureTtl),
        ...tail,
        "failed",
        ...failureFields(outcome.excString),
      ],
    };
  }
}
