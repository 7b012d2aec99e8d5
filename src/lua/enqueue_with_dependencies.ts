// RQ's Queue.setup_dependencies + enqueue_job as one Lua script: defers the job when any existing dependency has not
// ended (finished, or failed when the job allows failures), else queues it.
//
// KEYS[1]    rq:queues                     the set of queue keys
// KEYS[2]    rq:queue:<origin>             the job's queue
// KEYS[3]    rq:deferred:<origin>          its deferred registry
// KEYS[4]    rq:job:<id>                   the job's hash
// KEYS[5]    rq:job:<id>:dependents        its dependents set (expired with a ttl)
// KEYS[6]    rq:job::<id>:dependencies     its dependencies set
// KEYS[7..]  for each dependency <dep>: rq:job:<dep> (its hash), then rq:job:<dep>:dependents (its dependents set)
// ARGV[1]    id
// ARGV[2]    now_seconds
// ARGV[3]    now_ts
// ARGV[4]    at_front                      '1' or '0'
// ARGV[5]    ttl                           seconds; '' = none
// ARGV[6]    n_deps
// ARGV[7..]  the n_deps dependency ids, then the job hash's field/value pairs (status deferred, no enqueued_at)
// Built in the script: nothing.
// Returns 1 when queued, 0 when deferred.

import { type RedisArg, Script } from "../connection.ts";
import { dependenciesKey, dependentsKey, jobKey, queueKey, QUEUES_KEY, registryKey } from "../keys.ts";
import type { ScriptArgs } from "./_args.ts";
import { compose } from "./_compose.ts";
import { cleanup } from "./_job.ts";

export const ENQUEUE_WITH_DEPENDENCIES = new Script(compose(
  `
local id, now, now_ts, at_front, ttl = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local n = tonumber(ARGV[6])
local deps = {}
for i = 1, n do deps[i] = ARGV[6 + i] end
local mapping = {}
for i = 7 + n, #ARGV do table.insert(mapping, ARGV[i]) end
local allow = false
for i = 1, #mapping, 2 do
  if mapping[i] == 'allow_dependency_failures' and mapping[i + 1] == '1' then allow = true end
end
-- A dependency that already ended counts as met: finished, or failed when failures are allowed (else a job that
-- allows failure, enqueued after its parent failed, would wait for ever).
local defer = false
for j = 1, n do
  local st = redis.call('HGET', KEYS[5 + 2 * j], 'status')
  if st and st ~= 'finished' and not (allow and st == 'failed') then defer = true break end
end
local k = { job = KEYS[4], dependents = KEYS[5], dependencies = KEYS[6] }
local key = k.job
if defer then
  redis.call('HSET', key, 'status', 'deferred')
  redis.call('ZADD', KEYS[3], now, id)
  for j, dep in ipairs(deps) do
    redis.call('SADD', KEYS[6 + 2 * j], id)
    redis.call('SADD', k.dependencies, dep)
  end
  redis.call('HSET', key, unpack(mapping))
else
  redis.call('SADD', KEYS[1], KEYS[2])
  redis.call('HSET', key, 'status', 'queued')
  redis.call('HSET', key, unpack(mapping))
  redis.call('HSET', key, 'status', 'queued', 'enqueued_at', now_ts)
end
if ttl ~= '' then cleanup(k, tonumber(ttl)) end
if not defer then
  if at_front == '1' then redis.call('LPUSH', KEYS[2], id) else redis.call('RPUSH', KEYS[2], id) end
  return 1
end
return 0
`,
  cleanup,
));

/** One enqueue of a job with dependencies. */
export interface EnqueueWithDependencies {
  id: string;
  origin: string;
  nowSeconds: number;
  nowTs: string;
  atFront: boolean;
  /** The job's ttl in seconds; null = none. */
  ttl: number | null;
  dependencyIds: readonly string[];
  /** The job hash's field/value pairs. */
  mapping: RedisArg[];
}

/** ENQUEUE_WITH_DEPENDENCIES's KEYS and ARGV. */
export function enqueueWithDependenciesArgs(e: EnqueueWithDependencies): ScriptArgs {
  const keys = [
    QUEUES_KEY,
    queueKey(e.origin),
    registryKey("deferred", e.origin),
    jobKey(e.id),
    dependentsKey(e.id),
    dependenciesKey(e.id),
  ];
  for (const dep of e.dependencyIds) keys.push(jobKey(dep), dependentsKey(dep));
  return [keys, [
    e.id,
    String(e.nowSeconds),
    e.nowTs,
    e.atFront ? "1" : "0",
    e.ttl ? String(e.ttl) : "",
    String(e.dependencyIds.length),
    ...e.dependencyIds,
    ...e.mapping,
  ]];
}
