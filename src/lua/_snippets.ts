// No RQ counterpart (RQ runs these steps as WATCH/MULTI sequences): the Lua the scripts in src/lua/ share, and how a
// script's source is put together from them. Key prefixes come from keys.ts by interpolation, never spelled here.

import { DEFAULT_FAILURE_TTL, RESULTS_STREAM_MAXLEN, STATS_MINUTES_KEPT } from "../defaults.ts";
import {
  dependenciesKey,
  dependentsKey,
  JOB_PREFIX,
  QUEUE_PREFIX,
  REGISTRY_PREFIXES,
  RESULTS_PREFIX,
  SCHEDULER_WAKE_PREFIX,
  STATS_PREFIX,
  WORKERS_BY_QUEUE_PREFIX,
} from "../keys.ts";
import { HEARTBEAT_CAP, HEARTBEAT_GRACE } from "./_args.ts";

/** A piece of Lua (a function, or a constant) and the pieces it calls. */
export interface Snippet {
  readonly source: string;
  readonly uses: readonly Snippet[];
}

const snippet = (source: string, ...uses: Snippet[]): Snippet => ({ source, uses });
const lua = (s: string): string => JSON.stringify(s);

/** A script's source: the snippets it uses, each once and after the ones it calls, then its body. */
export function compose(body: string, ...uses: Snippet[]): string {
  const seen = new Set<Snippet>();
  const parts: string[] = [];
  const add = (s: Snippet) => {
    if (seen.has(s)) return;
    seen.add(s);
    s.uses.forEach(add);
    parts.push(s.source);
  };
  uses.forEach(add);
  return parts.join("") + body;
}

/** A Lua function of one id that builds the key keys.ts' `key` builds, from the prefix and suffix keys.ts spells. */
function keyFunction(name: string, key: (id: string) => string): Snippet {
  const [prefix, suffix] = key("\u0000").split("\u0000");
  return snippet(`local function ${name}(id) return ${lua(prefix)} .. id${suffix ? ` .. ${lua(suffix)}` : ""} end\n`);
}

export const JOB = snippet(`local JOB = ${lua(JOB_PREFIX)}\n`);
export const QUEUE = snippet(`local QUEUE = ${lua(QUEUE_PREFIX)}\n`);
export const RESULTS = snippet(`local RESULTS = ${lua(RESULTS_PREFIX)}\n`);
export const WORKERS_BY_QUEUE = snippet(`local WORKERS_BY_QUEUE = ${lua(WORKERS_BY_QUEUE_PREFIX)}\n`);
export const REG = snippet(
  `local REG = { ${
    Object.entries(REGISTRY_PREFIXES).map(([kind, prefix]) => `${kind} = ${lua(prefix)}`).join(", ")
  } }\n`,
);
export const SCHEDULER_WAKE = snippet(`local SCHEDULER_WAKE = ${lua(SCHEDULER_WAKE_PREFIX)}\n`);
export const STATS = snippet(`local STATS = ${lua(STATS_PREFIX)}\n`);
export const DEPENDENTS_KEY = keyFunction("dependents_key", dependentsKey);
export const DEPENDENCIES_KEY = keyFunction("dependencies_key", dependenciesKey);

export const originOf = snippet(`
-- A job's origin (key: its hash), or nil when the key is missing or not a hash (a foreign client's junk); '' counts
-- as none.
local function origin_of(key)
  local o = redis.pcall('HGET', key, 'origin')
  if type(o) ~= 'string' or o == '' then return nil end
  return o
end
`);

export const isJob = snippet(`
-- Whether key is a job hash (a key of another type is junk, not a job).
local function is_job(key)
  return redis.call('TYPE', key)['ok'] == 'hash'
end
`);

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

export const cleanup = snippet(`
-- RQ's Job.cleanup(ttl): 0 deletes the job, > 0 expires it with its dependency keys, < 0 keeps it. k: the job's keys
-- {job, dependents, dependencies}. has_dependents: false when the dependents set is known not to exist
-- (release_dependents just found it empty or deleted it); has_dependencies: false when the job's hash says it has no
-- dependencies (no dependencies set).
local function cleanup(k, ttl, has_dependents, has_dependencies)
  if ttl == 0 then
    redis.call('DEL', k.job, k.dependents, k.dependencies)
  elseif ttl > 0 then
    redis.call('EXPIRE', k.job, ttl)
    if has_dependents ~= false then redis.call('EXPIRE', k.dependents, ttl) end
    if has_dependencies ~= false then redis.call('EXPIRE', k.dependencies, ttl) end
  end
end
`);

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

export const jsonList = snippet(`
-- A JSON list field of a job hash (retry_intervals, repeat_intervals, dependency_ids), or nil when absent, empty or
-- unreadable.
local function json_list(key, field)
  local raw = redis.call('HGET', key, field)
  if not raw or raw == '' then return nil end
  local ok, list = pcall(cjson.decode, raw)
  if not ok or type(list) ~= 'table' or #list == 0 then return nil end
  return list
end
`);

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

export const countOutcomes = snippet(
  `
-- rqts' throughput counters of a queue (src/stats.ts reads them): n runs of kind ('f' finished, 'x' failed) that took
-- secs seconds in all (added to t in microseconds: HINCRBY costs less than HINCRBYFLOAT), counted in the epoch minute
-- of now (seconds). Two commands a call (~3 us of Redis CPU), whatever n: a batch finish counts once per outcome kind.
-- The first count of a kind in a minute also folds the minutes older than the ${STATS_MINUTES_KEPT} kept into the
-- totals f, x (once a minute at most, over a hash of at most ${2 * (STATS_MINUTES_KEPT + 1) + 3} fields).
local function count_outcomes(queue, kind, n, secs, now)
  local key = STATS .. queue
  local minute = math.floor(now / 60)
  if redis.call('HINCRBY', key, kind .. ':' .. minute, n) == n then
    local h, old, folded = redis.call('HGETALL', key), {}, { f = 0, x = 0 }
    for i = 1, #h, 2 do
      local k, m = string.match(h[i], '^([fx]):(%d+)$')
      if m and tonumber(m) < minute - ${STATS_MINUTES_KEPT} then
        folded[k] = folded[k] + tonumber(h[i + 1])
        table.insert(old, h[i])
      end
    end
    if #old > 0 then
      redis.call('HDEL', key, unpack(old))
      for k, v in pairs(folded) do if v > 0 then redis.call('HINCRBY', key, k, v) end end
    end
  end
  redis.call('HINCRBY', key, 't', math.floor(tonumber(secs) * 1e6 + 0.5))
end
`,
  STATS,
);

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

export const markIdle = snippet(`
-- The idle heartbeat (state idle, last_heartbeat, the worker key's TTL) of a worker that took nothing; idle_ttl ''
-- or no worker key: nothing.
local function mark_idle(wkey, idle_ttl, now_ts)
  if idle_ttl == '' or wkey == '' then return end
  redis.call('HSET', wkey, 'state', 'idle', 'last_heartbeat', now_ts)
  redis.call('EXPIRE', wkey, idle_ttl)
end
`);

export const split = snippet(`
-- args[2 .. n + 1] and args[n + 2 ..], n = args[1].
local function split(args)
  local n = tonumber(args[1])
  local first, second = {}, {}
  for i = 2, n + 1 do table.insert(first, args[i]) end
  for i = n + 2, #args do table.insert(second, args[i]) end
  return first, second
end
`);
