// RQ's rq/worker.py: a process that takes jobs off its queues in priority order and runs each one in a horse
// process under its timeout, registered so that `rq info` lists it, and storing outcomes exactly as RQ does.

import { type CommandListener, type CommandTarget, listenForCommands } from "./command.ts";
import { Connection, type TlsSettings } from "./connection.ts";
import { DEFAULT_REDIS_URL, OUTAGE_STOP_GRACE, RQ_VERSION } from "./defaults.ts";
import { Dequeuer } from "./dequeuer.ts";
import { Horse } from "./horse.ts";
import { workerKey, workerKeys } from "./keys.ts";
import { Ledger } from "./ledger.ts";
import { cleanRegistries } from "./maintenance.ts";
import { within } from "./deadline.ts";
import { OutageGuard } from "./outage.ts";
import { OutcomeSpool, replayOutcomes } from "./outcome_spool.ts";
import { join } from "node:path";
import type { Finish } from "./finish.ts";
import type { Job } from "./job.ts";
import type { Queue } from "./queue.ts";
import { getRuntime, type Runtime } from "./runtime.ts";
import { Scheduler } from "./scheduler.ts";
import { JSONSerializer, type Serializer } from "./serializer.ts";
import { Slot, type SlotHost } from "./slot.ts";
import { sleep, utcNow } from "./utils.ts";
import { WorkerRegistration } from "./worker_registration.ts";
import {
  type CheckedWorkerOptions,
  checkWorkerOptions,
  consoleLogger,
  type DequeueStrategy,
  type ExceptionHandler,
  type Logger,
  type LogLevel,
  type WorkerOptions,
} from "./worker_options.ts";

/** How long a stopping worker waits for exception handlers still running, ms. */
const HANDLERS_WAIT_MS = 10_000;

export { consoleLogger, type DequeueStrategy, type ExceptionHandler, type Logger, type LogLevel, type WorkerOptions };

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
  /** Jobs this worker has finished (success or failure). */
  jobsDone = 0;

  readonly #runtime: Runtime;
  readonly #options: WorkerOptions;
  readonly #checked: CheckedWorkerOptions;
  readonly #logger: Logger;
  readonly #redisUrl: string;
  #stopping = false;
  /** When a stop was first asked for, ms (0: not yet). */
  #stoppedAt = 0;
  #cold = false;
  /** Failed jobs whose outcome is not stored yet: their exception handlers run once it is (see #afterStore). */
  readonly #failures = new Map<string, { job: Job; excString: string }>();
  /** Exception handlers running: work() waits for them before it closes the connection their jobs use. */
  readonly #handling = new Set<Promise<void>>();
  /** Outcomes Redis could not take while this worker stopped (see outcome_spool.ts). */
  readonly #spool: OutcomeSpool;
  readonly #outcomesDir: string;
  #suspendedLogged = false;
  /** When every slot was last found without a job (0: busy), for maxIdleTime. */
  #idleSince = 0;
  readonly #horses = new Set<Horse>();
  /** The subscription to rq:pubsub:<name>, while work() runs. */
  #commands: CommandListener | undefined;
  /** Jobs a stop-job command killed the horse of, until their outcome is made (see finish.ts). */
  readonly #stoppedJobs = new Set<string>();
  /** Outages of Redis, retries, and the reconcile gate that dequeues pass (see outage.ts). */
  readonly #outage: OutageGuard;
  /** The jobs in hand: running, taken ahead, taken at all (see ledger.ts). */
  readonly #ledger: Ledger;
  readonly #dequeuer: Dequeuer;
  readonly #registration: WorkerRegistration;
  /** With `withScheduler`: queues this worker's due scheduled jobs. */
  readonly #scheduler: Scheduler | undefined;

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
    const checked = this.#checked = checkWorkerOptions(options);
    this.#runtime = getRuntime();
    this.#options = options;
    const firstQueue = list.find((q): q is Queue => typeof q !== "string");
    this.connection = Connection.resolve(options.connection ?? firstQueue?.connection);
    this.serializer = options.serializer ?? JSONSerializer;
    this.name = options.name ?? crypto.randomUUID().replaceAll("-", "");
    this.key = workerKey(this.name);
    this.concurrency = checked.concurrency;
    this.maxJobsPerHorse = checked.maxJobsPerHorse;
    this.jobRoot = options.jobRoot ?? this.#runtime.cwd();
    this.#logger = options.logger ??
      consoleLogger(options.logLevel ?? "info", { format: options.logFormat, dateFormat: options.dateFormat });
    this.#redisUrl = this.connection.url ?? this.#runtime.env("REDIS_URL") ?? DEFAULT_REDIS_URL;
    const log = (level: LogLevel, message: string) => this.#log(level, message);
    this.#outcomesDir = options.outcomesDir ?? join(this.jobRoot, ".rqts", "outcomes");
    this.#spool = new OutcomeSpool(this.#outcomesDir, this.name);
    this.#outage = new OutageGuard({
      log,
      running: () => this.#ledger.running.size,
      giveUp: () => this.#cold || this.#waitedForRedis(),
      reconcile: () => this.#ledger.reconcile(),
      unblockWaits: () => this.#dequeuer.unblockTakingWaits(),
    });
    this.#ledger = new Ledger(this.connection, this.name, this.#outage);
    this.#dequeuer = new Dequeuer({
      connection: this.connection,
      outage: this.#outage,
      ledger: this.#ledger,
      workerName: this.name,
      queueNames: this.queueNames,
      workerTtl: this.#workerTtl(),
      dequeueStrategy: checked.dequeueStrategy,
      stopping: () => this.#stopping,
      spool: (finish) => this.#spool.add(finish),
      stored: (finish) => this.#afterStore(finish),
      log,
    });
    this.#scheduler = options.withScheduler
      ? new Scheduler({
        connection: this.connection,
        queueNames: this.queueNames,
        name: this.name,
        lockTtl: checked.schedulerLockTtl,
        log,
      })
      : undefined;
    this.#registration = new WorkerRegistration({
      connection: this.connection,
      runtime: this.#runtime,
      name: this.name,
      queueNames: this.queueNames,
      workerTtl: this.#workerTtl(),
      livenessTtl: this.#checked.livenessTtl,
      log,
    });
  }

  /**
   * Registers, runs jobs until stopped (or, with `burst`, until the queues are empty), then unregisters.
   * @throws {RqtsError} when an active worker of the same name exists.
   */
  async work(options: { burst?: boolean } = {}): Promise<void> {
    const unsubscribe = this.#options.handleSignals ?? true ? this.#handleSignals() : [];
    try {
      await this.#registration.birth();
      this.#commands = listenForCommands(this.connection, this.name, this.#commandTarget());
      this.#log(
        "info",
        `Worker ${this.key} started with PID ${this.#runtime.pid()}, version ${RQ_VERSION} (rqts on ${this.#runtime.name} ${this.#runtime.version})`,
      );
      this.#log("info", `*** Listening on ${this.queueNames.join(", ")}...`);
      await replayOutcomes(this.#outcomesDir, this.connection, this.name, (level, message) => this.#log(level, message))
        .catch((e) =>
          this.#log("error", `Could not store the outcomes kept in ${this.#outcomesDir}: ${e?.message ?? e}`)
        );
      await this.#maintenance();
      // As RQ: a burst worker queues what is due once, before it starts; another runs the scheduler alongside.
      if (options.burst) await this.#scheduler?.enqueueDue().catch((e) => this.#log("error", `Scheduler: ${e}`));
      else this.#scheduler?.start();
      const host = this.#slotHost();
      const stopTimers = this.#startTimers(host);
      try {
        const slots = Array.from({ length: this.concurrency }, () => new Slot(host, options.burst ?? false));
        await Promise.all(slots.map((slot) => slot.run()));
      } finally {
        stopTimers();
        await this.#scheduler?.stop();
      }
      this.#log("info", `Worker ${this.name}: done, quitting`);
    } finally {
      for (const u of unsubscribe) u();
      await this.#commands?.stop();
      await Promise.allSettled([...this.#horses].map((h) => h.dispose()));
      // A dequeue whose reply was lost (Redis went away under it) may have left a job started: give it back first.
      if (this.#outage.needReconcile) await this.#outage.reconcile().catch(() => {});
      this.#keepUnstored();
      // Bounded, so that a handler that hangs cannot keep the worker from stopping.
      const handled = await within(Promise.allSettled([...this.#handling]).then(() => true), HANDLERS_WAIT_MS);
      if (!handled) this.#log("warning", `Exception handlers still running after ${HANDLERS_WAIT_MS} ms; quitting`);
      await this.#registration.death().catch((e) => this.#log("error", `Could not unregister: ${e?.message ?? e}`));
      await this.connection.close();
    }
  }

  /** Stops dequeuing; running jobs finish (warm), or with `cold` their horses are killed and the jobs fail. */
  stop(options: { cold?: boolean } = {}): void {
    this.#stopping = true;
    this.#stoppedAt ||= Date.now();
    if (options.cold) {
      this.#cold = true;
      for (const h of this.#horses) void h.kill();
    }
    this.#dequeuer.stop();
  }

  /** SIGINT and SIGTERM: a warm shut down, then (again) a cold one, as RQ's. Gives the unsubscribe functions. */
  #handleSignals(): (() => void)[] {
    return (["SIGINT", "SIGTERM"] as const).map((sig) => this.#runtime.onSignal(sig, () => this.#shutDown(sig)));
  }

  /** A shut down asked for (by a signal, or RQ's shutdown command): warm, then (again) cold. */
  #shutDown(why: string): void {
    if (!this.#stopping) {
      this.#log(
        "warning",
        `Warm shut down requested (${why}): finishing running jobs, press Ctrl+C again to kill them`,
      );
      this.stop();
    } else {
      this.#log("warning", `Cold shut down (${why}): killing horses`);
      this.stop({ cold: true });
    }
  }

  /** What RQ's worker commands (shutdown, kill-horse, stop-job over rq:pubsub:<name>) do here (see command.ts). */
  #commandTarget(): CommandTarget {
    return {
      shutdown: () => this.#shutDown("shutdown command"),
      killHorse: () => {
        const busy = new Set([...this.#ledger.running.values()].map((r) => r.horse));
        if (!busy.size) this.#log("info", "Worker is not working, kill horse command ignored");
        for (const horse of busy) {
          this.#log("info", `Killing horse ${horse?.pid}...`);
          void horse?.kill();
        }
      },
      stopJob: (jobId) => {
        const horse = this.#ledger.running.get(jobId)?.horse;
        // A job in hand that has not started (taken ahead, or later in its batch) is stopped as it starts.
        if (!horse && !this.#ledger.taken.has(jobId)) return false;
        // Only the job's own horse dies: the jobs after it in its batch never started and go back to their queue, and
        // jobs the slot took ahead run in its next horse (as after any horse death).
        this.#stoppedJobs.add(jobId);
        void horse?.kill();
        return true;
      },
      log: (level, message) => this.#log(level, message),
    };
  }

  /** The heartbeat, maintenance, liveness and recovery timers; gives the function that stops them. */
  #startTimers(host: SlotHost): () => void {
    const livenessMs = this.#checked.livenessTtl * 1000;
    const timers = [
      setInterval(
        () => void this.#heartbeat().catch(() => {}),
        Math.min(this.#checked.jobMonitoringInterval, 30) * 1000,
      ),
      setInterval(() => void this.#maintenance().catch(() => {}), this.#checked.maintenanceInterval * 1000),
      setInterval(() => void this.#refreshLiveness(), livenessMs / 3),
      setInterval(() => void this.#recoverDeadWorkers().catch(() => {}), livenessMs),
    ];
    const idle = this.#checked.maxIdleTime * 1000;
    if (idle) timers.push(setInterval(() => this.#quitIfIdle(host), Math.min(idle / 4, 1000)));
    return () => timers.forEach(clearInterval);
  }

  /** What the slots share of this worker (see SlotHost). */
  #slotHost(): SlotHost {
    // deno-lint-ignore no-this-alias -- the host's getters read the worker's private state
    const worker = this;
    const host: SlotHost = {
      dequeuer: this.#dequeuer,
      ledger: this.#ledger,
      connection: this.connection,
      serializer: this.serializer,
      concurrency: this.concurrency,
      maxJobsPerHorse: this.maxJobsPerHorse,
      worker: workerKeys(this.name),
      defaultResultTtl: this.#checked.defaultResultTtl,
      disableDefaultExceptionHandler: this.#options.disableDefaultExceptionHandler ?? false,
      hungry: 0,
      get cold() {
        return worker.#cold;
      },
      get livenessOverdue() {
        return worker.#registration.livenessOverdue;
      },
      stopping: () => this.#stopping,
      stopped: (jobId) => this.#stoppedJobs.delete(jobId),
      stopRequested: (jobId) => this.#stoppedJobs.has(jobId),
      refreshLiveness: () => this.#refreshLiveness(),
      store: (finish) => this.#dequeuer.store(finish),
      storeAll: (finishes) => this.#dequeuer.storeAll(finishes),
      jobDone: () => this.#jobDone(),
      failed: (job, excString) => void this.#failures.set(job.id, { job, excString }),
      limitJobs: this.#checked.maxJobs > 0,
      jobBudget: () => this.#checked.maxJobs ? this.#checked.maxJobs - this.#ledger.claimed - host.reserved : Infinity,
      reserved: 0,
      spawnHorse: () => this.#spawnHorse(),
      retire: (horse) => this.#retire(horse),
      suspended: () => this.#suspended(),
      resumed: () => void (this.#suspendedLogged = false),
      horseSettings: () => ({
        jobRoot: this.jobRoot,
        redisUrl: this.#redisUrl,
        tls: this.connection.settings.tls ?? this.#callerTls(),
        worker: this.name,
      }),
      log: (level, message) => this.#log(level, message),
    };
    return host;
  }

  /** A job ended: counted; with `maxJobs`, the worker stops (warm) once it has run that many, as RQ's. */
  #jobDone(): void {
    this.jobsDone++;
    const max = this.#checked.maxJobs;
    if (max && this.jobsDone >= max && !this.#stopping) {
      this.#log("info", `Worker ${this.name}: finished executing ${this.jobsDone} jobs, quitting`);
      this.stop();
    }
  }

  /** With `maxIdleTime`: stops the worker once no slot has had a job for that long, as RQ's. */
  #quitIfIdle(host: SlotHost): void {
    const idle = host.hungry === this.concurrency && this.#ledger.taken.size === 0;
    if (!idle || this.#stopping) {
      this.#idleSince = 0;
      return;
    }
    this.#idleSince ||= Date.now();
    if (Date.now() - this.#idleSince >= this.#checked.maxIdleTime * 1000) {
      this.#log("info", `Worker ${this.name}: idle for ${this.#checked.maxIdleTime} seconds, quitting`);
      this.stop();
    }
  }

  /**
   * An outcome was stored (or spooled, Redis being away): a failure's exception handlers run now, after it, as RQ
   * 1.13's worker calls handle_exception after handle_job_failure (RQ 2.x calls them just before storing; after, a
   * handler that throws or hangs here cannot keep a failure from being recorded, and it sees the job failed).
   */
  #afterStore(finish: Finish): void {
    const failure = this.#failures.get(finish.id);
    if (!failure) return;
    this.#failures.delete(finish.id);
    const handling = this.#handleException(failure.job, failure.excString);
    this.#handling.add(handling);
    void handling.finally(() => this.#handling.delete(handling));
  }

  /** RQ's handle_exception: the exception handlers in order, until one returns false; one that throws is logged. */
  async #handleException(job: Job, excString: string): Promise<void> {
    for (const handler of this.#options.exceptionHandlers ?? []) {
      try {
        if (await handler(job, excString) === false) break;
      } catch (error) {
        this.#log("error", `Exception handler ${handler.name || "(anonymous)"} failed: ${(error as Error)?.message}`);
      }
    }
  }

  /**
   * Whether a stopping worker has waited OUTAGE_STOP_GRACE for Redis: since the stop, or since the outage began when
   * it began after the stop (a blip during a long warm stop gets the whole grace too).
   */
  #waitedForRedis(): boolean {
    if (!this.#stoppedAt) return false;
    const since = Math.max(this.#stoppedAt, this.#outage.downSince ?? Date.now());
    return Date.now() - since >= OUTAGE_STOP_GRACE * 1000;
  }

  /** Writes the outcomes Redis could not take to the outcomes directory, saying which jobs they are and where. */
  #keepUnstored(): void {
    const ids = this.#spool.ids;
    if (!ids.length) return;
    try {
      const path = this.#spool.write();
      this.#log(
        "error",
        `Redis is still unreachable as the worker stops (a warm stop waits ${OUTAGE_STOP_GRACE} s for it, a cold ` +
          `one not): the outcomes of ${ids.length} job(s) ` +
          `(${ids.join(", ")}) are kept in ${path}; a worker started with outcomes directory ${this.#outcomesDir} ` +
          `stores them. Until then each stays started in its queue's started registry.`,
      );
    } catch (error) {
      this.#log(
        "error",
        `Redis is unreachable and ${this.#outcomesDir} cannot be written (${(error as Error)?.message ?? error}): ` +
          `the outcomes of ${ids.length} job(s) are lost: ${ids.join(", ")}. Each stays started until maintenance ` +
          `fails it as abandoned (none runs again).`,
      );
    }
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

  #workerTtl(): number {
    return this.#checked.workerTtl + 60;
  }

  /** Keeps this worker's liveness key; notices Redis going away and coming back, and a lapse. */
  async #refreshLiveness(): Promise<void> {
    try {
      // Jobs taken ahead before a lapse go back instead of running (see Slot): the epoch moves on before the key
      // counts as fresh again (a slot that finds it fresh starts its held jobs without asking).
      const lapsed = await this.#registration.keepAlive(() => {
        if (!this.#stopping) this.#ledger.epoch++;
      });
      this.#outage.up();
      this.#commands?.check();
      if (lapsed && !this.#stopping) await this.#registration.rejoin();
    } catch (error) {
      if (this.#outage.transient(error)) this.#outage.down(error);
    }
  }

  /** Recovers every rqts worker that has stopped living (see WorkerRegistration.recoverDeadWorkers). */
  async #recoverDeadWorkers(): Promise<void> {
    // Right after an outage every worker's key may have lapsed: give live ones a full TTL to show up first.
    if (!this.#outage.steadyFor(this.#checked.livenessTtl * 1000)) return;
    await this.#registration.recoverDeadWorkers();
  }

  /** RQ's Worker.heartbeat with its jobs' (maintain_heartbeats): the worker key's TTL, and the jobs in hand. */
  async #heartbeat(): Promise<void> {
    const now = utcNow();
    const busy = this.#ledger.running.size > 0;
    const commands: string[][] = [
      ["EXPIRE", this.key, String(busy ? 90 : this.#workerTtl())],
      ["HSET", this.key, "last_heartbeat", now],
      ...this.#ledger.heartbeatCommands(now),
    ];
    if (busy) commands.push(["HSET", this.key, "current_job_working_time", String(this.#ledger.longestRunning())]);
    await this.connection.transaction(commands);
  }

  /** RQ's maintenance (registries, stale workers), and the own and held lists of rqts workers that are gone. */
  async #maintenance(): Promise<void> {
    await cleanRegistries(this.connection, this.queueNames, this.serializer);
    await this.#registration.recoverGoneWorkers();
  }

  /** rq:suspended is set: says so once, marks this worker suspended, and waits a second before looking again. */
  async #suspended(): Promise<void> {
    if (!this.#suspendedLogged) this.#log("warning", "Worker suspended (rq:suspended is set); waiting for resume");
    this.#suspendedLogged = true;
    await this.connection.call(["HSET", this.key, "state", "suspended"]).catch(() => {});
    await sleep(1000);
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
}
