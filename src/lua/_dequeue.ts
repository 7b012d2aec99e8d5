// RQ's Queue.dequeue_any + Worker.prepare_job_execution in Lua: how a worker takes jobs and marks them started, by
// DEQUEUE and the finish-and-dequeue scripts.

import { HEARTBEAT_CAP, HEARTBEAT_GRACE } from "./_args.ts";
import { snippet } from "./_compose.ts";
import { originOf } from "./_job.ts";
import { JOB, QUEUE, REG } from "./_key_prefixes.ts";

export const markStarted = snippet(
  `
-- Marks a job started (RQ's prepare_for_execution + StartedJobRegistry.add + PERSIST) and returns its hash as it
-- was, or nil when the hash is gone (a job whose ttl expired is dropped silently, as RQ does). Its score in the
-- started registry is heartbeatSeconds(timeout, 0) of src/lua/_args.ts from now: added to wip[registry key] as a
-- score/member pair, for one ZADD a registry after the batch (see dequeue_many, which also writes the worker's sets and
-- hash once a batch).
local function mark_started(id, popped_from, wname, now, now_ts, wip)
  local key = JOB .. id
  local h = redis.pcall('HGETALL', key)
  if type(h) ~= 'table' or h.err or #h == 0 then return nil end
  local origin, timeout = popped_from, nil
  for i = 1, #h, 2 do
    if h[i] == 'origin' then
      if h[i + 1] ~= '' then origin = h[i + 1] end
    elseif h[i] == 'timeout' then timeout = tonumber(h[i + 1]) end
  end
  local hb = ${HEARTBEAT_CAP + HEARTBEAT_GRACE}
  if timeout and timeout > 0 then hb = math.min(timeout, ${HEARTBEAT_CAP}) + ${HEARTBEAT_GRACE} end
  local reg = REG.started .. origin
  local pairs_of = wip[reg]
  if not pairs_of then
    pairs_of = {}
    wip[reg] = pairs_of
    table.insert(wip, reg)
  end
  table.insert(pairs_of, now + hb)
  table.insert(pairs_of, id)
  redis.call('HSET', key, 'status', 'started', 'started_at', now_ts, 'last_heartbeat', now_ts, 'worker_name', wname)
  redis.call('PERSIST', key)
  return h
end
`,
  JOB,
  REG,
);

export const dequeueKeys = snippet(`
-- A dequeue's keys from KEYS[i] on (the layout of dequeue.ts); queues: the index of the first queue key.
local function dequeue_keys(i)
  return { worker = KEYS[i], running = KEYS[i + 1], own = KEYS[i + 2], held = KEYS[i + 3], suspended = KEYS[i + 4],
    queues = i + 5 }
end
`);

export const isoUtc = snippet(`
-- Redis' clock as RQ's timestamp (%Y-%m-%dT%H:%M:%S.%fZ, UTC): days to a civil date as in Howard Hinnant's
-- civil_from_days.
local function iso_utc(sec, usec)
  local days = math.floor(sec / 86400)
  local rem = sec - days * 86400
  local z = days + 719468
  local era = math.floor(z / 146097)
  local doe = z - era * 146097
  local yoe = math.floor((doe - math.floor(doe / 1460) + math.floor(doe / 36524) - math.floor(doe / 146096)) / 365)
  local doy = doe - (365 * yoe + math.floor(yoe / 4) - math.floor(yoe / 100))
  local mp = math.floor((5 * doy + 2) / 153)
  local d = doy - math.floor((153 * mp + 2) / 5) + 1
  local m = mp < 10 and mp + 3 or mp - 9
  local y = yoe + era * 400 + (m <= 2 and 1 or 0)
  return string.format('%04d-%02d-%02dT%02d:%02d:%02d.%06dZ', y, m, d, math.floor(rem / 3600),
    math.floor(rem % 3600 / 60), rem % 60, usec)
end
`);

export const dequeueMany = snippet(
  `
-- Takes up to n jobs: first ids this worker already moved to its own list (BLMOVE), then the queues in priority
-- order; each id goes from its list straight into the started registry in this one atomic step, so a worker that dies
-- at any instant leaves every job in a queue, a registry or its own list. k: dequeue_keys.
-- a: n, worker_name, now_seconds ('' = now by Redis' clock, with now_ts: a dequeue sent ahead of the time it runs),
-- now_ts, ahead ('1' = taking ahead: recorded in the held set, so that if the worker dies before running them,
-- maintenance gives them back to their queue instead of leaving them 'started' for ever), started (an id taken ahead
-- before that starts now, so it leaves the held set; '' = none).
-- Returns {{id, queue, hash}, ...} (at least one), or 'suspended' or false. The worker's running and held sets, the
-- started registries and the worker's hash (current_job: the first job taken) are written once for the batch.
local function dequeue_many(k, a)
  local n, wname, ahead, started = tonumber(a[1]), a[2], a[5] == '1', a[6]
  if a[3] == '' then
    local t = redis.call('TIME')
    a[3] = t[1]
    a[4] = iso_utc(tonumber(t[1]), tonumber(t[2]))
  end
  local now, now_ts = tonumber(a[3]), a[4]
  if started ~= '' then redis.call('SREM', k.held, started) end
  if redis.call('EXISTS', k.suspended) == 1 then return 'suspended' end
  local got, ids, wip, failed = {}, {}, {}, nil
  local function take(list, queue_of)
    while #got < n do
      local popped = redis.pcall('LPOP', list, n - #got)
      if type(popped) == 'table' and popped.err then
        failed = popped
        return
      end
      if not popped then return end
      for _, id in ipairs(popped) do
        local q = queue_of(id)
        local h = mark_started(id, q, wname, now, now_ts, wip)
        if h then
          table.insert(got, {id, q, h})
          table.insert(ids, id)
        end
      end
    end
  end
  take(k.own, function(id) return origin_of(JOB .. id) or 'default' end)
  for i = k.queues, #KEYS do
    if #got >= n or failed then break end
    local q = string.sub(KEYS[i], #QUEUE + 1)
    take(KEYS[i], function() return q end)
  end
  -- The jobs marked started go into the worker's sets first (a reconcile or a recovery finds them there), even when
  -- a list could not be popped (not a list): then the script still ends with that error, as a single LPOP's would.
  if #got > 0 then
    redis.call('SADD', k.running, unpack(ids))
    if ahead then redis.call('SADD', k.held, unpack(ids)) end
    for _, reg in ipairs(wip) do redis.call('ZADD', reg, unpack(wip[reg])) end
    redis.call('HSET', k.worker, 'current_job', ids[1], 'current_job_working_time', '0', 'state', 'busy',
      'last_heartbeat', now_ts)
  end
  if failed then return failed end
  if #got == 0 then return false end
  return got
end
`,
  originOf,
  markStarted,
  isoUtc,
  JOB,
  QUEUE,
);
