// No RQ counterpart (RQ never takes a job it does not start): puts jobs a worker took but never started back at the
// front of their queues, in the order given, as if never dequeued (each only while it is still started by that
// worker). One script, so two give-backs at once do not interleave.
//
// KEYS[1]    rqts:running:<name>           the worker's running set
// KEYS[2..]  for each job: rq:job:<id> (its hash), then rq:queue:<queue> (the queue it was taken from; the bare
//            queue prefix when unknown: then its origin's, built in the script)
// ARGV[1]    worker_name
// ARGV[2..]  for each job: id, then the started_at, last_heartbeat and worker_name it had before it was taken
//            ('=' .. value, '-' for absent, '' each when unknown: emptied)
// Built in the script: rq:wip:<origin> (the started registry's prefix) of each job's origin (or its queue), and
// rq:queue:<origin> for a job whose queue is unknown.
// Returns how many went back.

import { type RedisArg, Script } from "../connection.ts";
import { jobKey, queueKey, runningKey } from "../keys.ts";
import type { ScriptArgs } from "./_args.ts";
import { compose } from "./_compose.ts";
import { giveBack } from "./_give_back.ts";

export const GIVE_BACK = new Script(compose(
  `
local n = 0
for j = (#ARGV - 1) / 4 - 1, 0, -1 do
  local i = 2 + 4 * j
  n = n + give_back(KEYS[2 + 2 * j], ARGV[i], ARGV[1], KEYS[1], KEYS[3 + 2 * j], { ARGV[i + 1], ARGV[i + 2], ARGV[i + 3] })
end
return n
`,
  giveBack,
));

/** A job to give back. */
export interface GivenBack {
  id: string;
  /** The queue it was taken from ('' = unknown: its origin). */
  queue: string;
  /** Its started_at, last_heartbeat and worker_name before it was taken (see the header); absent: unknown. */
  was?: readonly [RedisArg, RedisArg, RedisArg];
}

/** GIVE_BACK's KEYS and ARGV: `worker`'s jobs, in queue order. */
export function giveBackArgs(worker: string, jobs: readonly GivenBack[]): ScriptArgs {
  const keys = [runningKey(worker)];
  const args: RedisArg[] = [worker];
  for (const job of jobs) {
    keys.push(jobKey(job.id), queueKey(job.queue));
    args.push(job.id, ...(job.was ?? ["", "", ""]));
  }
  return [keys, args];
}
