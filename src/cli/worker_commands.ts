// RQ's send_shutdown_command, send_kill_horse_command and send_stop_job_command (rq/command.py) as commands; RQ's
// `rq` CLI has none of them.

import { sendKillHorseCommand, sendShutdownCommand, sendStopJobCommand } from "../command.ts";
import { Connection } from "../connection.ts";
import { RedisConnectionError } from "../errors.ts";
import { COMMON, type Flag, out, UsageError } from "./common.ts";

/** `rqts shutdown --help`, `rqts kill-horse --help`, `rqts stop-job --help`. */
export const HELP: Record<string, string> = {
  shutdown: `Usage: rqts shutdown <worker names...> [--url URL]

Publishes RQ's shutdown command on rq:pubsub:<name>: the worker (Python or rqts) stops as on SIGTERM, letting its
running jobs finish. Exits 1 when a worker did not get it (none listens under that name).`,
  "kill-horse": `Usage: rqts kill-horse <worker names...> [--url URL]

Publishes RQ's kill-horse command: the worker kills its busy horses (their jobs fail as killed) and goes on.
Exits 1 when a worker did not get it.`,
  "stop-job": `Usage: rqts stop-job <job ids...> [--url URL]

Publishes RQ's stop-job command to the worker named in each job's worker_name: it kills the job's horse and the job
ends 'stopped', in the failed registry. Exits 1 when a job is not running or its worker did not get the command.`,
};

/** The flags of shutdown, kill-horse and stop-job. */
export const FLAGS: Record<string, Record<string, Flag>> = {
  shutdown: { ...COMMON },
  "kill-horse": { ...COMMON },
  "stop-job": { ...COMMON },
};

/** `rqts shutdown|kill-horse <workers...>`, `rqts stop-job <ids...>`: RQ's worker commands (see command.ts). */
export async function sendCommand(
  command: "shutdown" | "kill-horse" | "stop-job",
  targets: string[],
  url: string,
): Promise<number> {
  if (!targets.length) throw new UsageError(command === "stop-job" ? "give job ids" : "give worker names");
  const connection = Connection.fromUrl(url);
  let missed = 0;
  try {
    for (const target of targets) {
      let received: number;
      try {
        received = command === "shutdown"
          ? await sendShutdownCommand(connection, target)
          : command === "kill-horse"
          ? await sendKillHorseCommand(connection, target)
          : await sendStopJobCommand(connection, target);
      } catch (error) {
        if (error instanceof RedisConnectionError) throw error;
        console.error(`${target}: ${(error as Error)?.message ?? error}`);
        missed++;
        continue;
      }
      if (received) out(`Sent ${command} for ${target}`);
      else {
        console.error(`Sent ${command} for ${target}, but no worker listens for it (is it running?)`);
        missed++;
      }
    }
  } finally {
    await connection.close();
  }
  return missed ? 1 : 0;
}
