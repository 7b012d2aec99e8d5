// RQ's Job._handle_failure and the next Queue.dequeue_any in one Lua script: stores a failed run's outcome as
// FINISH_FAILURE does (finish_failure.ts) and takes the next jobs as DEQUEUE does (dequeue.ts), in the same round trip.
// What lets a worker run a job per round trip, or several. With an idle_ttl, a worker that takes nothing is marked
// idle (its key living idle_ttl seconds), as its idle heartbeat would.
//
// KEYS[1]    rq:job:<id>                   the finished job's hash
// KEYS[2]    rq:results:<id>               its results stream
// KEYS[3]    rq:job:<id>:dependents        its dependents set
// KEYS[4]    rq:job::<id>:dependencies     its dependencies set
// KEYS[5]    rq:wip:<origin>               the started registry
// KEYS[6]    rq:failed:<origin>            the failed registry
// KEYS[7]    rq:queues                     the set of queue keys
// KEYS[8]    rq:worker:<name>              the worker's hash
// KEYS[9]    rqts:running:<name>           the worker's running set
// KEYS[10]   rqts:dequeued:<name>          the worker's own list
// KEYS[11]   rqts:held:<name>              the worker's held set
// KEYS[12]   rq:suspended
// KEYS[13..] rq:queue:<queue>              the queues, in priority order
// ARGV[1]    idle_ttl                      seconds; '' = no idle mark
// ARGV[2]    n                             how many of the arguments after it are the finish's
// ARGV[3..]  the finish's ARGV, as FINISH_FAILURE's (id, now_seconds, now_ts, failure_ttl, started_at,
//            working_time, worker_name, last_heartbeat, status, the XADD fields), then DEQUEUE's (n, worker_name,
//            now_seconds, now_ts, ahead, started)
// Built in the script: as FINISH_FAILURE and DEQUEUE.
// Returns DEQUEUE's reply.

import { Script } from "../connection.ts";
import type { Failure, ScriptArgs } from "./_args.ts";
import { finishAndDequeueArgs } from "./_finish_and_dequeue.ts";
import { compose } from "./_compose.ts";
import { dequeueKeys, dequeueMany } from "./_dequeue.ts";
import { finishFailure, finishKeys } from "./_finish.ts";
import { markIdle, split } from "./_finish_and_dequeue.ts";
import type { Dequeue, DequeueTarget } from "./dequeue.ts";

export const FINISH_FAILURE_AND_DEQUEUE = new Script(
  compose(
    `
local idle_ttl = table.remove(ARGV, 1)
local f, d = split(ARGV)
local k = finish_keys(1)
finish_failure(k, f, true)
local taken = dequeue_many(dequeue_keys(8), d)
if not taken then mark_idle(k.worker, idle_ttl, f[3]) end
return taken
`,
    finishKeys,
    finishFailure,
    dequeueKeys,
    dequeueMany,
    markIdle,
    split,
  ),
);

/** FINISH_FAILURE_AND_DEQUEUE's KEYS and ARGV: `t` is the worker's, `idleTtl` '' for no idle mark. */
export function finishFailureAndDequeueArgs(f: Failure, t: DequeueTarget, d: Dequeue, idleTtl: string): ScriptArgs {
  return finishAndDequeueArgs(f, t, d, idleTtl);
}
