// No RQ counterpart (RQ never takes a job it does not start, and has no own lists): jobs a worker took but never ran,
// put back at the front of their queues (GIVE_BACK, RECONCILE, RETURN_OWN_LIST, RECOVER_WORKER).

import { snippet } from "./_compose.ts";
import { isJob, originOf } from "./_job.ts";
import { JOB, QUEUE, REG } from "./_key_prefixes.ts";

export const giveBack = snippet(
  `
-- Puts a job worker wname marked started but never ran back at the front of its queue, as if never dequeued; only
-- while it is still started by wname. key: the job's hash; running: wname's running set. qkey: the key of the queue
-- it was taken from (nil or the bare queue prefix = unknown: its origin's, else 'default''s; the two differ only for a
-- hash whose origin names another queue). Returns 1 when it went back.
-- was: nil, or the values dequeuing overwrote as they were before, {started_at, last_heartbeat, worker_name}, each
-- '=' .. value, or '-' for a field that was absent (without them, those fields are emptied).
local function give_back(key, id, wname, running, qkey, was)
  local st, w = unpack(redis.call('HMGET', key, 'status', 'worker_name'))
  if st ~= 'started' or w ~= wname then return 0 end
  local origin = origin_of(key)
  local queue = qkey and string.sub(qkey, #QUEUE + 1) or ''
  if queue == '' then
    queue = origin or 'default'
    qkey = QUEUE .. queue
  end
  redis.call('ZREM', REG.started .. (origin or queue), id)
  redis.call('SREM', running, id)
  redis.call('HSET', key, 'status', 'queued', 'started_at', '', 'last_heartbeat', '', 'worker_name', '')
  if was then
    for i, field in ipairs({'started_at', 'last_heartbeat', 'worker_name'}) do
      local v = was[i]
      if v == '-' then redis.call('HDEL', key, field)
      elseif string.sub(v, 1, 1) == '=' then redis.call('HSET', key, field, string.sub(v, 2)) end
    end
  end
  redis.call('LPUSH', qkey, id)
  return 1
end
`,
  originOf,
  QUEUE,
  REG,
);

export const returnOwnList = snippet(
  `
-- Puts the ids left in a worker's own list back at the front of their queues, in order; drops ids that are no job.
local function return_own_list(own)
  local n = 0
  while true do
    local id = redis.call('RPOP', own)
    if not id then break end
    local key = JOB .. id
    if is_job(key) then
      redis.call('LPUSH', QUEUE .. (origin_of(key) or 'default'), id)
      n = n + 1
    end
  end
  return n
end
`,
  isJob,
  originOf,
  JOB,
  QUEUE,
);
