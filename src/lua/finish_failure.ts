// RQ's Job._handle_failure (FailedJobRegistry.add + Result.create_failure + the worker's counters, then the release of
// dependents that allow failures) as one Lua script: stores a failed run's outcome, if the job is still the worker's.
//
// KEYS[1]    rq:job:<id>                   the job's hash
// KEYS[2]    rq:results:<id>               its results stream
// KEYS[3]    rq:job:<id>:dependents        its dependents set (those allowing failures are released)
// KEYS[4]    rq:job::<id>:dependencies     its dependencies set (expired with the job)
// KEYS[5]    rq:wip:<origin>               the started registry
// KEYS[6]    rq:failed:<origin>            the failed registry
// KEYS[7]    rq:queues                     the set of queue keys (a released dependent's queue joins it)
// KEYS[8]?   rq:worker:<name>              the worker's hash (absent, with KEYS[9], when no worker ran the job)
// KEYS[9]?   rqts:running:<name>           the worker's running set
// ARGV[1]    id
// ARGV[2]    now_seconds
// ARGV[3]    now_ts                        RQ's timestamp of the end
// ARGV[4]    failure_ttl                   seconds; '' = the job has none (RQ's default, a year)
// ARGV[5]    started_at
// ARGV[6]    working_time                  seconds
// ARGV[7]    worker_name                   '' = none
// ARGV[8]    last_heartbeat
// ARGV[9]    status                        'failed' or 'stopped'
// ARGV[10..] fields                        the result entry's XADD field/value pairs; none: RQ's disable_default_exception_handler
// Built in the script: as FINISH_SUCCESS (finish_success.ts), for the dependents it releases and for an abandoned
// failure it replaces; for a failed job with retries left (RQ's Retry: run again, no failed registry, no dependents
// released), rq:queue:<origin> and its dependency sets (a ttl applied again), or rq:scheduled:<origin> and
// rqts:scheduler-wake:<origin>.
// Always rqts:stats:<origin>, the throughput counters (STATS_PREFIX; src/stats.ts).
// Returns the released dependents, {id, origin, ...} (none when retried), or false when the job was no longer the
// worker's.

import { type RedisArg, Script } from "../connection.ts";
import { type Failure, pushFinishArgs, pushFinishKeys, type ScriptArgs } from "./_args.ts";
import { compose } from "./_compose.ts";
import { finishFailure, finishKeys } from "./_finish.ts";

export const FINISH_FAILURE = new Script(
  compose("return finish_failure(finish_keys(1), ARGV, true)", finishKeys, finishFailure),
);

/** FINISH_FAILURE's KEYS and ARGV. */
export function finishFailureArgs(f: Failure): ScriptArgs {
  const keys: string[] = [];
  const args: RedisArg[] = [];
  pushFinishKeys(keys, f, true);
  pushFinishArgs(args, f);
  return [keys, args];
}
