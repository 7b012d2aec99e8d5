// RQ's rq/command.py: commands to a worker over its pub/sub channel `rq:pubsub:<worker>` (JSON payloads
// `{"command": "shutdown" | "kill-horse" | "stop-job", "job_id": ...}`), the functions that send them, and the
// listener a worker keeps subscribed for its life. Python's send_*_command and rqts' reach each other's workers.

import { type Connection, type ConnectionOption, type Subscription, withConnection } from "./connection.ts";
import { InvalidJobOperationError, NoSuchJobError } from "./errors.ts";
import { jobKey, pubsubChannel } from "./keys.ts";
import type { LogLevel } from "./worker_options.ts";

/** The commands RQ's workers understand. */
export type WorkerCommand = "shutdown" | "kill-horse" | "stop-job";
const COMMANDS: readonly WorkerCommand[] = ["shutdown", "kill-horse", "stop-job"];

/** Publishes `command` to a worker, as RQ's `send_command` (Python's `json.dumps` spacing). Gives the receivers. */
export async function sendCommand(
  connection: ConnectionOption,
  workerName: string,
  command: WorkerCommand,
  fields: Record<string, string> = {},
): Promise<number> {
  if (typeof workerName !== "string" || workerName === "") {
    throw new TypeError(`workerName: received ${JSON.stringify(workerName)}; expected a worker's name.`);
  }
  if (!COMMANDS.includes(command)) {
    throw new TypeError(`command: received ${JSON.stringify(command)}; expected one of ${COMMANDS.join(", ")}.`);
  }
  const payload = JSON.stringify({ command, ...fields }).replaceAll('","', '", "').replaceAll('":"', '": "');
  return await withConnection(connection, (c) => c.call<number>(["PUBLISH", pubsubChannel(workerName), payload]));
}

/**
 * Asks a worker to stop as SIGTERM/SIGINT does (warm: running jobs finish, then it exits), as RQ's
 * `send_shutdown_command`. Resolves to how many workers got it (0: none listens under that name).
 */
export function sendShutdownCommand(connection: ConnectionOption, workerName: string): Promise<number> {
  return sendCommand(connection, workerName, "shutdown");
}

/**
 * Asks a worker to kill its busy horses, as RQ's `send_kill_horse_command`: their running jobs fail as a horse that
 * died; the worker goes on. Resolves to how many workers got it.
 */
export function sendKillHorseCommand(connection: ConnectionOption, workerName: string): Promise<number> {
  return sendCommand(connection, workerName, "kill-horse");
}

/**
 * Asks the worker running job `jobId` (the job hash's `worker_name`) to stop it, as RQ's `send_stop_job_command`:
 * its horse is killed and the job ends `stopped`, in the failed registry. Resolves to how many workers got it.
 * @throws {NoSuchJobError} when the job does not exist; {InvalidJobOperation} when it has no worker (not running).
 */
export function sendStopJobCommand(connection: ConnectionOption, jobId: string): Promise<number> {
  return withConnection(connection, async (conn) => {
    const key = jobKey(jobId);
    const [exists, worker] = await conn.transaction([["EXISTS", key], ["HGET", key, "worker_name"]]);
    if (!exists) throw new NoSuchJobError(jobId);
    if (!worker) {
      throw new InvalidJobOperationError(
        `Job ${jobId} is not currently executing (its hash names no worker); there is nothing to stop.`,
      );
    }
    return await sendCommand(conn, String(worker), "stop-job", { job_id: jobId });
  });
}

/** What a worker does for each command (see Worker). */
export interface CommandTarget {
  shutdown(): void;
  killHorse(): void;
  /** Stops `jobId` if this worker is running it; false: it is not (the command is ignored). */
  stopJob(jobId: string): boolean;
  log(level: LogLevel, message: string): void;
}

/** Parses one payload and hands it to `target`; bad payloads are logged and ignored, never thrown. */
export function handleCommand(target: CommandTarget, payload: string): void {
  let parsed: unknown;
  try {
    parsed = JSON.parse(payload);
  } catch {
    target.log("warning", `Ignored a worker command that is not JSON: ${payload.slice(0, 200)}`);
    return;
  }
  const command = (parsed as { command?: unknown } | null)?.command;
  if (command === "shutdown") {
    target.log("info", "Received shutdown command, stopping (warm).");
    target.shutdown();
  } else if (command === "kill-horse") {
    target.log("info", "Received kill horse command.");
    target.killHorse();
  } else if (command === "stop-job") {
    const jobId = (parsed as { job_id?: unknown }).job_id;
    target.log("debug", `Received command to stop job ${String(jobId)}`);
    if (typeof jobId !== "string" || !target.stopJob(jobId)) {
      target.log("info", `Not working on job ${String(jobId)}, command ignored.`);
    }
  } else {
    target.log("warning", `Ignored an unknown worker command: ${payload.slice(0, 200)}`);
  }
}

/** A worker's subscription to its command channel (see {@link listenForCommands}). */
export interface CommandListener {
  /**
   * Subscribes again when the subscription was lost or never made: the worker calls it whenever Redis answers it
   * (its liveness refresh), so a listener never retries on its own while Redis is away.
   */
  check(): void;
  /** Ends the subscription. */
  stop(): Promise<void>;
}

/** Subscribes `workerName`'s command channel (now, and again on {@link CommandListener.check}); payloads go to `target`. */
export function listenForCommands(connection: Connection, workerName: string, target: CommandTarget): CommandListener {
  let ended = false;
  let subscription: Subscription | undefined;
  let subscribing: Promise<void> | undefined;
  let failures = 0;
  const channel = pubsubChannel(workerName);
  const attempt = async (): Promise<void> => {
    try {
      const sub = await connection.subscribe(channel, (message) => handleCommand(target, message));
      if (ended) return void await sub.close();
      subscription = sub;
      failures = 0;
      target.log("debug", `Subscribed to channel ${channel}`);
    } catch (error) {
      // Said once until it works: the next check tries again.
      const level = failures++ ? "debug" : "warning";
      target.log(level, `Could not subscribe to ${channel} (${(error as Error)?.message ?? error}); will retry`);
    }
  };
  const subscribe = () => void (subscribing ??= attempt().finally(() => (subscribing = undefined)));
  subscribe();
  return {
    check() {
      if (ended || subscribing || subscription?.ready) return;
      void subscription?.close();
      subscription = undefined;
      subscribe();
    },
    async stop() {
      // A subscribe in flight is not waited for (its connect may take seconds with Redis away): it closes what it
      // opens once it sees `ended`.
      ended = true;
      await subscription?.close();
    },
  };
}
