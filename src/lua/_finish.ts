// RQ's Job._handle_success / _handle_failure + the worker's bookkeeping, in Lua: how one run's outcome is stored, by
// FINISH_SUCCESS, FINISH_FAILURE, FINISH_SUCCESSES, the finish-and-dequeue scripts and RECOVER_WORKER.

import { DEFAULT_FAILURE_TTL, RESULTS_STREAM_MAXLEN } from "../defaults.ts";
import { snippet } from "./_compose.ts";
import { releaseDependents } from "./_dependencies.ts";
import { cleanup } from "./_job.ts";
import { REG } from "./_key_prefixes.ts";
import { repeatJob, retryJob } from "./_retry.ts";
import { countOutcomes } from "./_stats.ts";

export const finishKeys = snippet(`
-- A finish's keys from KEYS[i] on (the layout of finish_success.ts): worker and running are absent (and worker '')
-- when no worker ran the job.
local function finish_keys(i)
  return { job = KEYS[i], results = KEYS[i + 1], dependents = KEYS[i + 2], dependencies = KEYS[i + 3],
    started = KEYS[i + 4], ended = KEYS[i + 5], queues = KEYS[i + 6], worker = KEYS[i + 7] or '', running = KEYS[i + 8] }
end
`);

export const defer = snippet(`
-- Adds values to a command kept in tally (see finish_success) for one call after a batch: one per command and key,
-- in the order first asked for (run them with run_deferred).
local function defer(tally, cmd, key, ...)
  local name = cmd .. ' ' .. key
  local op = tally[name]
  if not op then
    op = { cmd, key }
    tally[name] = op
    table.insert(tally, op)
  end
  for _, v in ipairs({ ... }) do table.insert(op, v) end
end

-- Runs the commands defer kept.
local function run_deferred(tally)
  for _, op in ipairs(tally) do redis.call(unpack(op)) end
end
`);

export const owned = snippet(
  `
-- Whether worker wname may store id's outcome: the job is still started by it, or was failed as abandoned by a
-- worker that thought it dead (then the real outcome replaces that guess). A finish that is not owned (a retry after
-- a lost reply, a job canceled or deleted meanwhile) stores nothing. k.worker '' = no worker (isAsync: false).
-- Also returns, read in the same HMGET (an owned job's hash exists), its repeats_left (false when absent) and whether
-- it has dependencies (dependency_ids or RQ's older dependency_id: false means no dependencies set was ever made;
-- nil when unknown). tally: see finish_success (the running set's SREM is deferred to it).
local function owned(k, id, wname, tally)
  if k.worker == '' then return true, false, nil end
  if tally then defer(tally, 'SREM', k.running, id) else redis.call('SREM', k.running, id) end
  local key = k.job
  local st, w, left, dids, did = unpack(redis.call('HMGET', key, 'status', 'worker_name', 'repeats_left',
    'dependency_ids', 'dependency_id'))
  if w ~= wname then return false end
  local deps = (dids and dids ~= '' and dids ~= '[]') or (did and did ~= '') or false
  if st == 'started' then return true, left, deps end
  if st == 'failed' and redis.call('HGET', key, 'rqts_abandoned') == wname then
    redis.call('HDEL', key, 'rqts_abandoned')
    redis.call('ZREM', REG.failed .. (redis.call('HGET', key, 'origin') or ''), id)
    return true, left, deps
  end
  return false
end
`,
  REG,
  defer,
);

export const finishSuccess = snippet(
  `
-- A successful run (RQ's Job._handle_success + cleanup + enqueue_dependents + worker bookkeeping). k: finish_keys.
-- a: id, now_seconds, now_ts, result_ttl, started_at, working_time, worker_name, last_heartbeat, then the XADD
-- fields. Returns the released dependents as {id, origin, ...}. tally: nil, or a table {n = 0, wtime = 0} where a
-- batch of finishes (finish_successes.ts) adds its worker counters, for one HINCRBY and one HINCRBYFLOAT after the
-- batch, and defers its running-set and registry writes (one SREM, ZADD, ZREM a key for the batch: run_deferred).
local function finish_success(k, a, next_job, tally)
  local id, now, now_ts, ttl = a[1], tonumber(a[2]), a[3], tonumber(a[4])
  local started_at, wtime, wname, hb = a[5], a[6], a[7], a[8]
  local ok, left, has_dependencies = owned(k, id, wname, tally)
  if not ok then return false end
  local queue = string.sub(k.started, #REG.started + 1)
  if tally then
    -- counted once a queue after the batch (finish_successes.ts: count_tallied)
    local c = tally.counted[queue] or { n = 0, secs = 0 }
    c.n, c.secs = c.n + 1, c.secs + tonumber(wtime)
    tally.counted[queue], tally.now = c, now
  else
    count_outcomes(queue, 'f', 1, wtime, now)
  end
  local fields = {}
  for i = 9, #a do table.insert(fields, a[i]) end
  local released, has_dependents = release_dependents(k.dependents, k.queues, id, now_ts, false)
  local wkey = k.worker
  if wkey ~= '' then
    -- With a dequeue in the same script (next_job), that one sets or clears current_job.
    if not next_job then redis.call('HDEL', wkey, 'current_job') end
    if tally then
      tally.n = tally.n + 1
      tally.wtime = tally.wtime + tonumber(wtime)
    else
      redis.call('HINCRBY', wkey, 'successful_job_count', 1)
      redis.call('HINCRBYFLOAT', wkey, 'total_working_time', wtime)
    end
  end
  if ttl ~= 0 then
    redis.call('HSET', k.job, 'status', 'finished', 'started_at', started_at, 'ended_at', now_ts,
      'worker_name', wname, 'last_heartbeat', hb)
    local rkey = k.results
    redis.call('XADD', rkey, 'MAXLEN', '~', ${RESULTS_STREAM_MAXLEN}, '*', unpack(fields))
    if ttl < 0 then redis.call('PERSIST', rkey) else redis.call('EXPIRE', rkey, ttl) end
    local score = ttl < 0 and '+inf' or (now + ttl)
    if tally then defer(tally, 'ZADD', k.ended, score, id) else redis.call('ZADD', k.ended, score, id) end
  end
  if tally then defer(tally, 'ZREM', k.started, id) else redis.call('ZREM', k.started, id) end
  -- RQ 2.x: a job with repeats left runs again instead of being cleaned up (its hash must outlive a result_ttl 0).
  if wkey ~= '' and left and repeat_job(k.job, id, string.sub(k.started, #REG.started + 1), k.queues, now_ts, left) then
    return released
  end
  cleanup(k, ttl, has_dependents, has_dependencies)
  return released
end
`,
  owned,
  releaseDependents,
  cleanup,
  repeatJob,
  countOutcomes,
  REG,
);

export const finishFailure = snippet(
  `
-- A failed run (RQ's Job._handle_failure via FailedJobRegistry.add + Result.create_failure + worker bookkeeping,
-- then the release of dependents that allow failures). k: finish_keys.
-- a: id, now_seconds, now_ts, failure_ttl ('' = the job has none), started_at, working_time, worker_name,
-- last_heartbeat, status ('failed' | 'stopped'), then the XADD fields. may_retry: a failed job with retries left
-- runs again (retry_job) instead: its try's result is stored, but not the failed registry, nor its dependents.
-- No XADD fields: RQ's disable_default_exception_handler (no failed registry, no result, no expiry).
local function finish_failure(k, a, may_retry)
  local id, now, now_ts, own_ttl = a[1], tonumber(a[2]), a[3], a[4]
  local started_at, wtime, wname, hb, status = a[5], a[6], a[7], a[8], a[9]
  if not owned(k, id, wname) then return false end
  count_outcomes(string.sub(k.started, #REG.started + 1), 'x', 1, wtime, now)
  local fields = {}
  for i = 10, #a do table.insert(fields, a[i]) end
  local handled = #fields > 0
  local key = k.job
  local retried = nil
  if redis.call('EXISTS', key) == 1 then
    redis.call('HSET', key, 'status', status, 'started_at', started_at, 'ended_at', now_ts, 'worker_name', wname,
      'last_heartbeat', hb)
    if may_retry and status == 'failed' and k.worker ~= '' then
      retried = retry_job(key, id, string.sub(k.started, #REG.started + 1), k.queues, now_ts)
    end
  end
  redis.call('ZREM', k.started, id)
  local ttl = ${DEFAULT_FAILURE_TTL}
  if own_ttl ~= '' then ttl = tonumber(own_ttl) end
  if not retried and handled then
    cleanup(k, ttl)
    redis.call('ZADD', k.ended, ttl < 0 and ttl or (now + ttl), id)
  end
  local rkey = k.results
  if handled then
    redis.call('XADD', rkey, 'MAXLEN', '~', ${RESULTS_STREAM_MAXLEN}, '*', unpack(fields))
    if own_ttl ~= '' then
      if ttl < 0 then redis.call('PERSIST', rkey) else redis.call('EXPIRE', rkey, ttl) end
    end
  end
  local wkey = k.worker
  if wkey ~= '' then
    redis.call('HDEL', wkey, 'current_job')
    redis.call('HINCRBY', wkey, 'failed_job_count', 1)
    redis.call('HINCRBYFLOAT', wkey, 'total_working_time', wtime)
  end
  if retried then return {} end
  return release_dependents(k.dependents, k.queues, id, now_ts, true)
end
`,
  owned,
  releaseDependents,
  cleanup,
  retryJob,
  countOutcomes,
  REG,
);
