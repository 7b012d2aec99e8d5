// The child side of RQ's work horse (Worker.main_work_horse / perform_job): runs the jobs its worker sends, one at a
// time, and reports each outcome. It never writes job state itself; the worker does, so a killed horse loses nothing.
// The one exception: when its worker is gone in the middle of a batch, it gives the jobs it has not started back.

import { within } from "./deadline.ts";
import { Buffer } from "node:buffer";
import { Connection, type TlsSettings } from "./connection.ts";
import { Job, type WireJob } from "./job.ts";
import { runJobsSerially } from "./current.ts";
import { GIVE_BACK, giveBackArgs } from "./lua/give_back.ts";
import { runJobFunction } from "./perform.ts";
import { getRuntime, type HorseMessage } from "./runtime.ts";
import { JSONSerializer } from "./serializer.ts";

/**
 * Worker → horse: run these jobs, one after another (several only when they are short: see the worker's batching).
 * Job `i` has sequence number `seq + i`; its outcome is written out before job `i + 1` starts, so a horse that dies
 * has reported every job before the one it died in, and started none after it.
 */
export interface RunMessage extends HorseMessage {
  type: "run";
  seq: number;
  jobs: WireJob[];
  jobRoot: string;
  redisUrl: string;
  /** The worker's TLS settings for `rediss://`, so jobs in the horse reach the same Redis. */
  tls?: TlsSettings;
  /**
   * The worker's name. When its channel closes in the middle of a batch (the worker was killed), the horse gives the
   * jobs it has not started back to the front of their queues, as the worker would have.
   */
  worker?: string;
  /** With `worker`: the queue each job was taken from ('' = its origin). */
  queues?: string[];
}

/** How long a horse whose worker is gone spends giving back jobs it has not started, at most, in milliseconds. */
const GIVE_BACK_MS = 5000;

/**
 * Worker → horse: start no more jobs of batch `seq` after the running one (it is taking long, and the jobs behind it
 * should not wait in this horse). The horse answers with a {@link ReleasedMessage}.
 */
export interface ReleaseMessage extends HorseMessage {
  type: "release";
  seq: number;
}

/**
 * Horse → worker: jobs of batch `batch` from sequence number `seq` on will not run here (the worker gives them back);
 * `seq: null` when every job of that batch had already started.
 */
export interface ReleasedMessage extends HorseMessage {
  type: "released";
  batch: number;
  seq: number | null;
}

/**
 * Horse → worker: job `seq`'s function has ended and one of its callbacks starts, with its own time limit (`timeout`
 * seconds, `-1`: none), which from now on replaces the job's (RQ times callbacks apart from their job).
 */
export interface CallbackMessage extends HorseMessage {
  type: "callback";
  seq: number;
  timeout: number;
}

/** Horse → worker: how the job ended. `returnValue` is base64 of the serialized value, `null` for none. */
export type DoneMessage =
  & HorseMessage
  & { type: "done"; seq: number }
  & ({ ok: true; returnValue: string | null } | { ok: false; excString: string });

/** Serves jobs on the horse channel until the worker says `exit` or goes away. */
export function serveHorse(): void {
  runJobsSerially();
  const runtime = getRuntime();
  const channel = runtime.horseChannel();
  const connections = new Map<string, Connection>();
  const connectionFor = (url: string, tls: TlsSettings | undefined) => {
    let c = connections.get(url);
    if (!c) connections.set(url, c = Connection.fromUrl(url, tls ? { tls } : {}));
    return c;
  };
  const shutdown = async (code: number) => {
    await Promise.allSettled([...connections.values()].map((c) => c.close()));
    runtime.exit(code);
  };
  // The batch being run, how many of its jobs have started, and how many may (fewer once released).
  let batch: { run: RunMessage; started: number; end: number } | undefined;
  let closed = false;
  /** Jobs of the batch that never started go back to the front of their queues, in order. */
  const giveBackUnstarted = async () => {
    const b = batch;
    if (!b?.run.worker || b.started >= b.end) return;
    const jobs = b.run.jobs.slice(b.started, b.end).map((wire, i) => ({
      id: wire.id,
      queue: b.run.queues?.[b.started + i] ?? "",
    }));
    await connectionFor(b.run.redisUrl, b.run.tls).eval(GIVE_BACK, ...giveBackArgs(b.run.worker, jobs));
  };
  // The worker is gone (killed): nobody will read outcomes; the running job ends with the horse (the worker's
  // recovery fails it as abandoned), the jobs after it go back to their queues, unrun.
  channel.onClose(() => {
    closed = true;
    void within(giveBackUnstarted().catch(() => {}), GIVE_BACK_MS).finally(() => void shutdown(0));
  });
  // As RQ's horse (SIG_IGN): Ctrl+C in a terminal signals the whole process group, horses included, and must only
  // start the worker's warm shutdown, not kill the running job. The worker stops horses with SIGTERM/SIGKILL.
  runtime.onSignal("SIGINT", () => {});
  /** Runs one job; returns its outcome message. */
  const runOne = async (run: RunMessage, wire: WireJob, seq: number): Promise<DoneMessage> => {
    try {
      const connection = connectionFor(run.redisUrl, run.tls);
      const job = Job.fromWire(wire, connection, JSONSerializer);
      // No closure for the jobs without callbacks (most of them, on the hot path).
      const callbackStarted = job.successCallbackName || job.failureCallbackName
        ? (timeout: number) => channel.send({ type: "callback", seq, timeout } satisfies CallbackMessage)
        : undefined;
      const outcome = await runJobFunction(job, connection, run.jobRoot, callbackStarted);
      if (!outcome.ok) return { type: "done", seq, ok: false, excString: outcome.excString };
      const value = outcome.value;
      const returnValue = value === undefined || value === null
        ? null
        : Buffer.from(job.serializer.dumps(value)).toString("base64");
      return { type: "done", seq, ok: true, returnValue };
    } catch (error) {
      return { type: "done", seq, ok: false, excString: `Horse error: ${(error as Error)?.stack ?? error}\n` };
    }
  };
  channel.onMessage((message) => {
    if (message.type === "exit") return void shutdown(0);
    if (message.type === "release") {
      const { seq } = message as ReleaseMessage;
      const b = batch?.run.seq === seq ? batch : undefined;
      if (b) b.end = b.started;
      const reply: ReleasedMessage = { type: "released", batch: seq, seq: b ? seq + b.started : null };
      return void channel.send(reply);
    }
    if (message.type !== "run") return;
    const run = message as RunMessage;
    void (async () => {
      const b = batch = { run, started: 0, end: run.jobs.length };
      for (let i = 0; i < b.end && !closed; i++) {
        b.started = i + 1;
        const sent = channel.send(await runOne(run, run.jobs[i], run.seq + i));
        // The next job starts only once this outcome has left the process: if the next one kills the horse, the
        // worker still learns how this one ended.
        if (i + 1 < b.end) await sent;
      }
      if (batch === b) batch = undefined;
    })();
  });
  channel.send({ type: "ready", pid: runtime.pid() });
}
