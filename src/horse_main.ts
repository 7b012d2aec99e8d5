// The child side of RQ's work horse (Worker.main_work_horse / perform_job): runs the jobs its worker sends, one at a
// time, and reports each outcome. It never writes job state itself; the worker does, so a killed horse loses nothing.

import { Buffer } from "node:buffer";
import { Connection, type TlsSettings } from "./connection.ts";
import { Job, type WireJob } from "./job.ts";
import { runJobsSerially } from "./current.ts";
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
  channel.onClose(() => void shutdown(0));
  // As RQ's horse (SIG_IGN): Ctrl+C in a terminal signals the whole process group, horses included, and must only
  // start the worker's warm shutdown, not kill the running job. The worker stops horses with SIGTERM/SIGKILL.
  runtime.onSignal("SIGINT", () => {});
  /** Runs one job; returns its outcome message. */
  const runOne = async (run: RunMessage, wire: WireJob, seq: number): Promise<DoneMessage> => {
    try {
      const connection = connectionFor(run.redisUrl, run.tls);
      const job = Job.fromWire(wire, connection, JSONSerializer);
      const outcome = await runJobFunction(job, connection, run.jobRoot);
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
    if (message.type !== "run") return;
    const run = message as RunMessage;
    void (async () => {
      for (let i = 0; i < run.jobs.length; i++) {
        const sent = channel.send(await runOne(run, run.jobs[i], run.seq + i));
        // The next job starts only once this outcome has left the process: if the next one kills the horse, the
        // worker still learns how this one ended.
        if (i + 1 < run.jobs.length) await sent;
      }
    })();
  });
  channel.send({ type: "ready", pid: runtime.pid() });
}
