// RQ's Job._handle_success for several jobs of one worker in one Lua script: stores each outcome as FINISH_SUCCESS does
// (finish_success.ts), in order, then the worker's counters once for all of them (one HINCRBY successful_job_count and
// one HINCRBYFLOAT total_working_time instead of one of each a job) and clears its current_job once, as each
// FINISH_SUCCESS would; the running set's SREM and the started and finished registries' ZREM and ZADD are one call a
// key for the batch too, and so are the throughput counters (one count_outcomes a queue). What a batch's other
// outcomes cost Redis: one script call where there was one a job, and about three commands a job fewer.
//
// KEYS[1]    rq:queues                     the set of queue keys (a released dependent's queue joins it)
// KEYS[2]    rq:worker:<name>              the worker's hash
// KEYS[3]    rqts:running:<name>           the worker's running set
// KEYS[4..]  for each job, six keys: rq:job:<id>, rq:results:<id>, rq:job:<id>:dependents,
//            rq:job::<id>:dependencies, rq:wip:<origin>, rq:finished:<origin> (as FINISH_SUCCESS's KEYS[1..6])
// ARGV[1..]  for each job: m, then its m FINISH_SUCCESS arguments (id, now_seconds, now_ts, result_ttl, started_at,
//            working_time, worker_name, last_heartbeat, the XADD fields)
// Built in the script: as FINISH_SUCCESS (rqts:stats:<origin> once an origin, after the batch).
// Returns how many of the outcomes were stored (the others were no longer the worker's).

import { type RedisArg, Script } from "../connection.ts";
import { dependenciesKey, dependentsKey, jobKey, QUEUES_KEY, registryKey, resultsKey } from "../keys.ts";
import { pushFinishArgs, type ScriptArgs, type Success } from "./_args.ts";
import { compose } from "./_compose.ts";
import { defer, finishSuccess } from "./_finish.ts";

export const FINISH_SUCCESSES = new Script(
  compose(
    `
local wkey = KEYS[2]
local tally = { n = 0, wtime = 0, counted = {} }
local at = 1
for b = 4, #KEYS, 6 do
  local k = { job = KEYS[b], results = KEYS[b + 1], dependents = KEYS[b + 2], dependencies = KEYS[b + 3],
    started = KEYS[b + 4], ended = KEYS[b + 5], queues = KEYS[1], worker = wkey, running = KEYS[3] }
  local m = tonumber(ARGV[at])
  finish_success(k, { unpack(ARGV, at + 1, at + m) }, true, tally)
  at = at + m + 1
end
run_deferred(tally)
for queue, c in pairs(tally.counted) do count_outcomes(queue, 'f', c.n, c.secs, tally.now) end
redis.call('HDEL', wkey, 'current_job')
if tally.n > 0 then
  redis.call('HINCRBY', wkey, 'successful_job_count', tally.n)
  redis.call('HINCRBYFLOAT', wkey, 'total_working_time', string.format('%.6f', tally.wtime))
end
return tally.n
`,
    finishSuccess,
    defer,
  ),
);

/** FINISH_SUCCESSES' KEYS and ARGV: `all` were run by one worker (their `worker`, not null). */
export function finishSuccessesArgs(all: readonly Success[]): ScriptArgs {
  const worker = all[0].worker!;
  const keys: string[] = [QUEUES_KEY, worker.key, worker.running];
  const args: RedisArg[] = [];
  for (const s of all) {
    keys.push(
      jobKey(s.id),
      resultsKey(s.id),
      dependentsKey(s.id),
      dependenciesKey(s.id),
      registryKey("started", s.origin),
      registryKey("finished", s.origin),
    );
    const at = args.length;
    args.push("");
    pushFinishArgs(args, s);
    args[at] = String(args.length - at - 1);
  }
  return [keys, args];
}
