// RQ's Job._handle_success (+ cleanup, enqueue_dependents and the worker's counters) as one Lua script: stores a
// successful run's outcome, if the job is still the worker's.
//
// KEYS[1]    rq:job:<id>                   the job's hash
// KEYS[2]    rq:results:<id>               its results stream
// KEYS[3]    rq:job:<id>:dependents        its dependents set (released here)
// KEYS[4]    rq:job::<id>:dependencies     its dependencies set (expired with the job)
// KEYS[5]    rq:wip:<origin>               the started registry
// KEYS[6]    rq:finished:<origin>          the finished registry
// KEYS[7]    rq:queues                     the set of queue keys (a released dependent's queue joins it)
// KEYS[8]?   rq:worker:<name>              the worker's hash (absent, with KEYS[9], when no worker ran the job)
// KEYS[9]?   rqts:running:<name>           the worker's running set
// ARGV[1]    id
// ARGV[2]    now_seconds
// ARGV[3]    now_ts                        RQ's timestamp of the end
// ARGV[4]    result_ttl                    seconds (0: nothing stored, -1: kept for ever)
// ARGV[5]    started_at
// ARGV[6]    working_time                  seconds
// ARGV[7]    worker_name                   '' = none
// ARGV[8]    last_heartbeat
// ARGV[9..]  fields                        the result entry's XADD field/value pairs
// Built in the script: of each dependent <dep>, rq:job:<dep> (JOB_PREFIX), its dependencies set (dependenciesKey)
// and the hashes rq:job:<other> of its other dependencies, rq:deferred:<origin> and rq:queue:<origin> of its origin;
// rq:failed:<origin> of the job's own origin (a finish replacing an abandoned failure); for a job with repeats left
// (RQ 2.x's Repeat, run again), rq:queue:<origin>, or rq:scheduled:<origin> and rqts:scheduler-wake:<origin>.
// Always rqts:stats:<origin>, the throughput counters (STATS_PREFIX; src/stats.ts).
// Returns the released dependents, {id, origin, ...}, or false when the job was no longer the worker's.

import { type RedisArg, Script } from "../connection.ts";
import { pushFinishArgs, pushFinishKeys, type ScriptArgs, type Success } from "./_args.ts";
import { compose } from "./_compose.ts";
import { finishKeys, finishSuccess } from "./_finish.ts";

export const FINISH_SUCCESS = new Script(
  compose("return finish_success(finish_keys(1), ARGV)", finishKeys, finishSuccess),
);

/** FINISH_SUCCESS's KEYS and ARGV. */
export function finishSuccessArgs(s: Success): ScriptArgs {
  const keys: string[] = [];
  const args: RedisArg[] = [];
  pushFinishKeys(keys, s, true);
  pushFinishArgs(args, s);
  return [keys, args];
}
