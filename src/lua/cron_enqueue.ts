// No RQ counterpart (RQ's cron enqueues whatever is due in each process, so two `rq cron` processes enqueue every
// tick twice): claims one tick of one cron entry and enqueues its job in the same script, so each tick is enqueued
// exactly once however many cron processes run the entry, and a process dying between the claim and the enqueue
// cannot lose the tick. The claim is monotonic (a tick at or before the entry's latest claimed one is refused), so
// the processes of one entry need no per-tick keys (and an interval entry's rhythm is kept: a tick closer than
// the interval to the latest claimed one is refused); the enqueue is RQ's enqueue_job (as enqueue.ts).
//
// KEYS[1]    rqts:cron:tick:<entry>        the entry's latest enqueued tick, epoch ms
// KEYS[2]    rq:queues                     the set of queue keys (the queue joins it)
// KEYS[3]    rq:queue:<queue>              the queue
// KEYS[4]    rq:job:<id>                   the job's hash
// KEYS[5]?   rq:job:<id>:dependents        its dependents set (only with a ttl, and then with KEYS[6])
// KEYS[6]?   rq:job::<id>:dependencies     its dependencies set
// ARGV[1]    tick                          epoch ms of the tick
// ARGV[2]    gap                           ms the tick must lie past the latest claimed one (1: any later tick)
// ARGV[3]    keep                          seconds KEYS[1] lives after the claim
// ARGV[4]    id
// ARGV[5]    ttl                           the job's ttl in seconds; '' = none
// ARGV[6..]  mapping                       the job hash's field/value pairs
// Built in the script: nothing.
// Returns {1, tick} when this call claimed the tick and enqueued the job, else {0, the latest claimed tick}.

import { type RedisArg, Script } from "../connection.ts";
import { cronTickKey, dependenciesKey, dependentsKey, jobKey, queueKey, QUEUES_KEY } from "../keys.ts";
import type { ScriptArgs } from "./_args.ts";
import { compose } from "./_compose.ts";
import { cleanup } from "./_job.ts";

export const CRON_ENQUEUE = new Script(compose(
  `
local tick, gap, keep, id, ttl = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local last = redis.call('GET', KEYS[1])
if last and tonumber(tick) < tonumber(last) + tonumber(gap) then return { 0, last } end
redis.call('SET', KEYS[1], tick, 'EX', keep)
local key = KEYS[4]
redis.call('SADD', KEYS[2], KEYS[3])
redis.call('HSET', key, 'status', 'queued')
redis.call('HSET', key, unpack(ARGV, 6))
if ttl ~= '' then cleanup({ job = key, dependents = KEYS[5], dependencies = KEYS[6] }, tonumber(ttl)) end
redis.call('RPUSH', KEYS[3], id)
return { 1, tick }
`,
  cleanup,
));

/** One tick's claim and enqueue. */
export interface CronEnqueue {
  /** The cron entry's id (see `CronJob.id`). */
  entryId: string;
  /** The tick, epoch ms. */
  tick: number;
  /** Ms the tick must lie past the entry's latest claimed one (an interval entry's interval; 1 for cron). */
  gap: number;
  /** Seconds the entry's claim key lives. */
  keep: number;
  id: string;
  queue: string;
  /** The job's ttl in seconds; null = none. */
  ttl: number | null;
  /** The job hash's field/value pairs. */
  mapping: RedisArg[];
}

/** CRON_ENQUEUE's KEYS and ARGV. */
export function cronEnqueueArgs(e: CronEnqueue): ScriptArgs {
  const keys = [cronTickKey(e.entryId), QUEUES_KEY, queueKey(e.queue), jobKey(e.id)];
  if (e.ttl) keys.push(dependentsKey(e.id), dependenciesKey(e.id));
  return [keys, [String(e.tick), String(e.gap), String(e.keep), e.id, e.ttl ? String(e.ttl) : "", ...e.mapping]];
}
