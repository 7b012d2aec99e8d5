// RQ's Job.retry and RQ 2.x's Repeat.schedule in Lua: a finished or failed job run again, now or after its
// interval.

import { snippet } from "./_compose.ts";
import { enqueueJob, wake } from "./_enqueue.ts";
import { jsonList } from "./_job.ts";
import { REG, SCHEDULER_WAKE } from "./_key_prefixes.ts";

export const runAgain = snippet(
  `
-- RQ's Job.retry and Repeat.schedule once the counter is decremented: the job (key) goes back to its queue
-- (interval 0, at the front with at_front) or, after interval seconds by Redis' clock, to its scheduled registry.
-- Returns the new status.
local function run_again(key, id, origin, queues, interval, now_ts, at_front)
  if interval > 0 then
    local t = redis.call('TIME')
    local reg = REG.scheduled .. origin
    redis.call('HSET', key, 'status', 'scheduled')
    redis.call('ZADD', reg, tostring(tonumber(t[1]) + tonumber(t[2]) / 1e6 + interval), id)
    wake(reg, SCHEDULER_WAKE .. origin, id)
    return 'scheduled'
  end
  enqueue_job(key, id, origin, queues, now_ts, at_front)
  return 'queued'
end
`,
  REG,
  SCHEDULER_WAKE,
  wake,
  enqueueJob,
);

export const retryJob = snippet(
  `
-- RQ's Worker.handle_job_failure when the job has retries left (Job.retry): decrements retries_left and runs the
-- job again after the interval RQ picks (retry_intervals[max(#intervals - retries_left, 0)], 0-based), at the front
-- when RQ 2.x's enqueue_at_front_on_retry says so. Returns the new status, or nil when no retry is left.
local function retry_job(key, id, origin, queues, now_ts)
  local left = tonumber(redis.call('HGET', key, 'retries_left') or '')
  if not left or left <= 0 or left % 1 ~= 0 then return nil end
  local interval = 0
  local list = json_list(key, 'retry_intervals')
  if list then interval = tonumber(list[math.max(#list - left, 0) + 1]) or 0 end
  redis.call('HSET', key, 'retries_left', left - 1)
  return run_again(key, id, origin, queues, interval, now_ts, redis.call('HGET', key, 'enqueue_at_front_on_retry') == '1')
end
`,
  jsonList,
  runAgain,
);

export const repeatJob = snippet(
  `
-- RQ 2.x's Repeat.schedule after a success: decrements repeats_left and runs the job again after the interval RQ
-- picks (repeat_intervals[min(repeats_left - 1, #intervals - 1)], 0-based). Returns the new status, or nil when no
-- repeat is left. raw_left: repeats_left as the caller read it (nil: read here).
local function repeat_job(key, id, origin, queues, now_ts, raw_left)
  local left = tonumber(raw_left or redis.call('HGET', key, 'repeats_left') or '')
  if not left or left <= 0 or left % 1 ~= 0 then return nil end
  local interval = 0
  local list = json_list(key, 'repeat_intervals')
  if list then interval = tonumber(list[math.min(left - 1, #list - 1) + 1]) or 0 end
  redis.call('HSET', key, 'repeats_left', left - 1)
  return run_again(key, id, origin, queues, interval, now_ts, false)
end
`,
  jsonList,
  runAgain,
);
