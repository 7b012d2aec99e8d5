// RQ's Queue.enqueue_dependents + Job.dependencies_are_met in Lua: the release of a finished job's deferred
// dependents, shared by the finish, cancel and recovery scripts.

import { snippet } from "./_compose.ts";
import { DEPENDENCIES_KEY, JOB, QUEUE, REG } from "./_key_prefixes.ts";

export const releaseDependents = snippet(
  `
-- RQ's Queue.enqueue_dependents + Job.dependencies_are_met: queue every deferred dependent of parent_id whose
-- other dependencies are finished (missing hashes count as met; failed ones only with allow_dependency_failures).
-- When the parent failed, only dependents that allow failures are released. dkey: the parent's dependents set;
-- queues: rq:queues. Returns {id, origin, ...}, and whether the dependents set is left.
local function release_dependents(dkey, queues, parent_id, now_ts, parent_failed)
  local ids = redis.call('SMEMBERS', dkey)
  if #ids == 0 then return {}, false end
  local released, done = {}, {}
  for _, dep in ipairs(ids) do
    local key = JOB .. dep
    local st = redis.call('HGET', key, 'status')
    if not st then
      table.insert(done, dep)
    elseif st == 'deferred' then
      local allow = redis.call('HGET', key, 'allow_dependency_failures') == '1'
      local met = (not parent_failed) or allow
      if met then
        for _, other in ipairs(redis.call('SMEMBERS', dependencies_key(dep))) do
          if other ~= parent_id then
            local ost = redis.call('HGET', JOB .. other, 'status')
            if ost and ost ~= 'finished' and not (allow and ost == 'failed') then met = false break end
          end
        end
      end
      if met then
        local origin = redis.call('HGET', key, 'origin') or 'default'
        redis.call('ZREM', REG.deferred .. origin, dep)
        redis.call('SADD', queues, QUEUE .. origin)
        redis.call('HSET', key, 'status', 'queued', 'enqueued_at', now_ts)
        if redis.call('HGET', key, 'enqueue_at_front') == '1' then
          redis.call('LPUSH', QUEUE .. origin, dep)
        else
          redis.call('RPUSH', QUEUE .. origin, dep)
        end
        table.insert(done, dep)
        table.insert(released, dep)
        table.insert(released, origin)
      end
    end
  end
  if #done == #ids then
    redis.call('DEL', dkey)
    return released, false
  elseif #done > 0 then
    redis.call('SREM', dkey, unpack(done))
  end
  return released, true
end
`,
  JOB,
  QUEUE,
  REG,
  DEPENDENCIES_KEY,
);
