// RQ's Queue.schedule_job (enqueue_at / enqueue_in) as one Lua script: registers the queue, writes the hash with
// status 'scheduled', expires it with its dependency keys when the job has a ttl, and adds the id to the queue's
// scheduled registry scored by its due time (UTC epoch seconds, as RQ scores it; rqts keeps the milliseconds as a
// fraction). When the job is now the queue's earliest, a sleeping rqts scheduler is woken (its wake list).
//
// KEYS[1]    rq:queues                     the set of queue keys (the queue joins it)
// KEYS[2]    rq:queue:<queue>              the queue (only named, as the set's member)
// KEYS[3]    rq:scheduled:<queue>          the scheduled registry
// KEYS[4]    rqts:scheduler-wake:<queue>   the schedulers' wake list
// KEYS[5]    rq:job:<id>                   the job's hash
// KEYS[6]?   rq:job:<id>:dependents        its dependents set (only with a ttl, and then with KEYS[7])
// KEYS[7]?   rq:job::<id>:dependencies     its dependencies set
// ARGV[1]    id
// ARGV[2]    score                         due time, epoch seconds
// ARGV[3]    ttl                           seconds; '' = none
// ARGV[4..]  mapping                       the job hash's field/value pairs
// Built in the script: nothing.
// Returns 1.

import { type RedisArg, Script } from "../connection.ts";
import {
  dependenciesKey,
  dependentsKey,
  jobKey,
  queueKey,
  QUEUES_KEY,
  registryKey,
  schedulerWakeKey,
} from "../keys.ts";
import type { ScriptArgs } from "./_args.ts";
import { compose } from "./_compose.ts";
import { wake } from "./_enqueue.ts";
import { cleanup } from "./_job.ts";

export const SCHEDULE = new Script(compose(
  `
local id, score, ttl = ARGV[1], ARGV[2], ARGV[3]
local key = KEYS[5]
redis.call('SADD', KEYS[1], KEYS[2])
redis.call('HSET', key, 'status', 'scheduled')
redis.call('HSET', key, unpack(ARGV, 4))
if ttl ~= '' then cleanup({ job = key, dependents = KEYS[6], dependencies = KEYS[7] }, tonumber(ttl)) end
redis.call('ZADD', KEYS[3], score, id)
wake(KEYS[3], KEYS[4], id)
return 1
`,
  cleanup,
  wake,
));

/** One scheduled enqueue. */
export interface Schedule {
  id: string;
  queue: string;
  /** Due time, epoch milliseconds. */
  dueAt: number;
  /** The job's ttl in seconds; null = none. */
  ttl: number | null;
  /** The job hash's field/value pairs. */
  mapping: RedisArg[];
}

/** A due time (epoch ms) as its score in a scheduled registry: epoch seconds, as RQ scores it. */
export function dueScore(dueAt: number): string {
  return String(dueAt / 1000);
}

/** SCHEDULE's KEYS and ARGV. */
export function scheduleArgs(s: Schedule): ScriptArgs {
  const keys = [
    QUEUES_KEY,
    queueKey(s.queue),
    registryKey("scheduled", s.queue),
    schedulerWakeKey(s.queue),
    jobKey(s.id),
  ];
  if (s.ttl) keys.push(dependentsKey(s.id), dependenciesKey(s.id));
  return [keys, [s.id, dueScore(s.dueAt), s.ttl ? String(s.ttl) : "", ...s.mapping]];
}
