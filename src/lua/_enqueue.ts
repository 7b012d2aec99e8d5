// RQ's Queue.enqueue_job for a job whose hash exists, in Lua, and the wake-up of a sleeping rqts scheduler when a
// job becomes the earliest of its scheduled registry.

import { snippet } from "./_compose.ts";
import { cleanup } from "./_job.ts";
import { DEPENDENCIES_KEY, DEPENDENTS_KEY, QUEUE } from "./_key_prefixes.ts";

export const wake = snippet(`
-- Wakes a sleeping rqts scheduler of a queue when id is now the earliest job of its scheduled registry reg: one
-- entry in the wake list wkey (its BLPOP returns), kept a minute when no scheduler takes it.
local function wake(reg, wkey, id)
  local first = redis.call('ZRANGE', reg, 0, 0)[1]
  if first ~= id then return end
  redis.call('LPUSH', wkey, '1')
  redis.call('LTRIM', wkey, 0, 0)
  redis.call('EXPIRE', wkey, 60)
end
`);

export const enqueueJob = snippet(
  `
-- RQ's Queue.enqueue_job for a job that already has its hash (key): status queued, enqueued_at, the job's ttl
-- applied again (RQ's cleanup(ttl)), the id pushed to its queue (front when at_front).
local function enqueue_job(key, id, queue, queues, now_ts, at_front)
  redis.call('SADD', queues, QUEUE .. queue)
  redis.call('HSET', key, 'status', 'queued', 'enqueued_at', now_ts)
  local ttl = tonumber(redis.call('HGET', key, 'ttl') or '')
  if ttl and ttl > 0 then cleanup({ job = key, dependents = dependents_key(id), dependencies = dependencies_key(id) }, ttl) end
  if at_front then redis.call('LPUSH', QUEUE .. queue, id) else redis.call('RPUSH', QUEUE .. queue, id) end
end
`,
  cleanup,
  QUEUE,
  DEPENDENTS_KEY,
  DEPENDENCIES_KEY,
);
