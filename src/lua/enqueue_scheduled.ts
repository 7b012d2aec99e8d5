// RQ's RQScheduler.acquire_locks + enqueue_scheduled_jobs + heartbeat for one queue, as one Lua script (RQ's own
// TODO: "try to use Lua script to make get_jobs_to_schedule() and remove_jobs() atomic"). Takes or renews the
// queue's scheduler lock (SET NX EX, as RQ), and only while holding it moves the due jobs out of the scheduled
// registry: each id leaves the registry and enters its queue in the same atomic step, so no two schedulers (rqts
// or Python, which moves only under the same lock) move a job twice. Unlike RQ, a due job whose dependencies have
// not finished is deferred (RQ queues it regardless). With lock_ttl '0' it only releases the lock, if held.
//
// KEYS[1]    rq:scheduler-lock:<queue>     the queue's scheduler lock
// KEYS[2]    rq:scheduled:<queue>          its scheduled registry
// KEYS[3]    rq:queues                     the set of queue keys (the queue joins it)
// KEYS[4]    rq:deferred:<queue>           its deferred registry (due jobs still waiting on dependencies)
// ARGV[1]    owner                         the lock's value: this scheduler's name
// ARGV[2]    lock_ttl                      seconds; '0' = release the lock
// ARGV[3]    now                           epoch seconds (jobs scored up to it are due)
// ARGV[4]    now_ts                        RQ's timestamp of now (enqueued_at)
// ARGV[5]    limit                         most jobs moved
// Built in the script: rq:queue:<queue> (QUEUE_PREFIX); of each due job, its hash rq:job:<id> (JOB_PREFIX) and
// dependency sets; of each of its dependencies, its hash and dependents set (JOB_PREFIX).
// Returns {1, moved, next}: next = the earliest score left ('' = none); or {0, 0, pttl} when another holds the lock
// (pttl: its milliseconds left; -1 = no expiry); on release, {released 0|1}.

import { Script } from "../connection.ts";
import { QUEUES_KEY, registryKey, schedulerLockKey } from "../keys.ts";
import type { ScriptArgs } from "./_args.ts";
import { compose } from "./_compose.ts";
import { enqueueJob } from "./_enqueue.ts";
import { jsonList } from "./_job.ts";
import { DEPENDENCIES_KEY, DEPENDENTS_KEY, JOB, REG } from "./_key_prefixes.ts";

export const ENQUEUE_SCHEDULED = new Script(compose(
  `
local owner, lock_ttl, now, now_ts, limit = ARGV[1], tonumber(ARGV[2]), ARGV[3], ARGV[4], tonumber(ARGV[5])
local lock, reg = KEYS[1], KEYS[2]
local holder = redis.call('GET', lock)
if lock_ttl == 0 then
  if holder == owner then redis.call('DEL', lock) return {1} end
  return {0}
end
if not holder then
  redis.call('SET', lock, owner, 'NX', 'EX', lock_ttl)
elseif holder ~= owner then
  return {0, 0, redis.call('PTTL', lock)}
else
  redis.call('EXPIRE', lock, lock_ttl)
end
local queue = string.sub(reg, #REG.scheduled + 1)
local ids = redis.call('ZRANGEBYSCORE', reg, '-inf', now, 'LIMIT', 0, limit)
local moved = 0
for _, id in ipairs(ids) do
  redis.call('ZREM', reg, id)
  local key = JOB .. id
  if redis.call('EXISTS', key) == 1 then
    local allow = redis.call('HGET', key, 'allow_dependency_failures') == '1'
    local unmet = {}
    for _, dep in ipairs(json_list(key, 'dependency_ids') or {}) do
      local st = redis.call('HGET', JOB .. dep, 'status')
      if st and st ~= 'finished' and not (allow and st == 'failed') then table.insert(unmet, dep) end
    end
    if #unmet > 0 then
      -- RQ's register_dependency: waits in the deferred registry, released by the last dependency to finish.
      redis.call('HSET', key, 'status', 'deferred')
      redis.call('ZADD', KEYS[4], now, id)
      for _, dep in ipairs(unmet) do
        redis.call('SADD', dependents_key(dep), id)
        redis.call('SADD', dependencies_key(id), dep)
      end
    else
      local front = redis.call('HGET', key, 'enqueue_at_front') == '1' or
        (redis.call('HGET', key, 'enqueue_at_front_on_retry') == '1' and (redis.call('HGET', key, 'ended_at') or '') ~= '')
      enqueue_job(key, id, queue, KEYS[3], now_ts, front)
    end
    moved = moved + 1
  end
end
local first = redis.call('ZRANGE', reg, 0, 0, 'WITHSCORES')
return {1, moved, first[2] or ''}
`,
  REG,
  JOB,
  jsonList,
  enqueueJob,
  DEPENDENTS_KEY,
  DEPENDENCIES_KEY,
));

/** One scheduler step on a queue. */
export interface EnqueueScheduled {
  queue: string;
  owner: string;
  /** Seconds; 0 releases the lock. */
  lockTtl: number;
  /** Epoch milliseconds. */
  now: number;
  nowTs: string;
  limit: number;
}

/** ENQUEUE_SCHEDULED's KEYS and ARGV. */
export function enqueueScheduledArgs(e: EnqueueScheduled): ScriptArgs {
  return [
    [schedulerLockKey(e.queue), registryKey("scheduled", e.queue), QUEUES_KEY, registryKey("deferred", e.queue)],
    [e.owner, String(e.lockTtl), String(e.now / 1000), e.nowTs, String(e.limit)],
  ];
}
