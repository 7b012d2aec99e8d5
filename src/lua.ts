// RQ's multi-step WATCH/MULTI sequences (Queue.setup_dependencies, enqueue_dependents, Job._handle_success,
// _handle_failure, cancel) as Lua scripts: each runs atomically in one round trip, so no WATCH retry loops and
// no interleaving with another client on a shared connection. Key names come from keys.ts.

import { Script } from "./connection.ts";
import { DEFAULT_FAILURE_TTL, RESULTS_STREAM_MAXLEN } from "./defaults.ts";
import {
  HELD_PREFIX,
  JOB_PREFIX,
  OWN_LIST_PREFIX,
  QUEUE_PREFIX,
  QUEUES_KEY,
  REGISTRY_PREFIXES,
  RESULTS_PREFIX,
  RQTS_WORKERS_KEY,
  RUNNING_PREFIX,
  SUSPENDED_KEY,
  WORKER_PREFIX,
  WORKERS_KEY,
} from "./keys.ts";

const PRELUDE = `
local JOB = ${JSON.stringify(JOB_PREFIX)}
local QUEUE = ${JSON.stringify(QUEUE_PREFIX)}
local QUEUES = ${JSON.stringify(QUEUES_KEY)}
local RESULTS = ${JSON.stringify(RESULTS_PREFIX)}
local RUNNING = ${JSON.stringify(RUNNING_PREFIX)}
local REG = { started = ${JSON.stringify(REGISTRY_PREFIXES.started)}, finished = ${
  JSON.stringify(REGISTRY_PREFIXES.finished)
},
  failed = ${JSON.stringify(REGISTRY_PREFIXES.failed)}, deferred = ${JSON.stringify(REGISTRY_PREFIXES.deferred)},
  scheduled = ${JSON.stringify(REGISTRY_PREFIXES.scheduled)}, canceled = ${JSON.stringify(REGISTRY_PREFIXES.canceled)} }
-- A job's origin, or nil when its key is missing or not a hash (a foreign client's junk); '' counts as none.
local function origin_of(id)
  local o = redis.pcall('HGET', JOB .. id, 'origin')
  if type(o) ~= 'string' or o == '' then return nil end
  return o
end
-- Whether id has a job hash (a key of another type is junk, not a job).
local function is_job(id)
  return redis.call('TYPE', JOB .. id)['ok'] == 'hash'
end
-- Puts a job worker wname marked started but never ran back at the front of its queue, as if never dequeued; only
-- while it is still started by wname. queue: the queue it was taken from ('' = unknown: its origin, else 'default';
-- the two differ only for a hash whose origin names another queue). Returns 1 when it went back.
-- was: nil, or the values dequeuing overwrote as they were before, {started_at, last_heartbeat, worker_name}, each
-- '=' .. value, or '-' for a field that was absent (without them, those fields are emptied).
local function give_back(id, wname, queue, was)
  local key = JOB .. id
  local st, w = unpack(redis.call('HMGET', key, 'status', 'worker_name'))
  if st ~= 'started' or w ~= wname then return 0 end
  local origin = origin_of(id)
  if queue == '' then queue = origin or 'default' end
  redis.call('ZREM', REG.started .. (origin or queue), id)
  redis.call('SREM', RUNNING .. wname, id)
  redis.call('HSET', key, 'status', 'queued', 'started_at', '', 'last_heartbeat', '', 'worker_name', '')
  if was then
    for i, field in ipairs({'started_at', 'last_heartbeat', 'worker_name'}) do
      local v = was[i]
      if v == '-' then redis.call('HDEL', key, field)
      elseif string.sub(v, 1, 1) == '=' then redis.call('HSET', key, field, string.sub(v, 2)) end
    end
  end
  redis.call('LPUSH', QUEUE .. queue, id)
  return 1
end
-- Puts the ids left in a worker's own list back at the front of their queues, in order; drops ids that are no job.
local function return_own_list(own)
  local n = 0
  while true do
    local id = redis.call('RPOP', own)
    if not id then break end
    if is_job(id) then
      redis.call('LPUSH', QUEUE .. (origin_of(id) or 'default'), id)
      n = n + 1
    end
  end
  return n
end
local function deps_key(id) return JOB .. ':' .. id .. ':dependencies' end
local function dependents_key(id) return JOB .. id .. ':dependents' end

-- RQ's Queue.enqueue_dependents + Job.dependencies_are_met: queue every deferred dependent of parent_id whose
-- other dependencies are finished (missing hashes count as met; failed ones only with allow_dependency_failures).
-- When the parent failed, only dependents that allow failures are released. Returns {id, origin, ...}.
local function release_dependents(parent_id, now_ts, parent_failed)
  local dkey = dependents_key(parent_id)
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
        for _, other in ipairs(redis.call('SMEMBERS', deps_key(dep))) do
          if other ~= parent_id then
            local ost = redis.call('HGET', JOB .. other, 'status')
            if ost and ost ~= 'finished' and not (allow and ost == 'failed') then met = false break end
          end
        end
      end
      if met then
        local origin = redis.call('HGET', key, 'origin') or 'default'
        redis.call('ZREM', REG.deferred .. origin, dep)
        redis.call('SADD', QUEUES, QUEUE .. origin)
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

-- RQ's Job.cleanup(ttl): 0 deletes the job, > 0 expires it with its dependency keys, < 0 keeps it. has_dependents:
-- false when the dependents set is known not to exist (release_dependents just found it empty or deleted it).
local function cleanup(id, ttl, has_dependents)
  if ttl == 0 then
    redis.call('DEL', JOB .. id, dependents_key(id), deps_key(id))
  elseif ttl > 0 then
    redis.call('EXPIRE', JOB .. id, ttl)
    if has_dependents ~= false then redis.call('EXPIRE', dependents_key(id), ttl) end
    redis.call('EXPIRE', deps_key(id), ttl)
  end
end
`;

/**
 * RQ's enqueue_job transaction (§4.1 of the protocol): register the queue, write the hash (status first, as RQ),
 * expire it with its dependency keys when the job has a ttl, push the id.
 * ARGV: id, queue, push ('RPUSH' | 'LPUSH' | '' for none), ttl ('' = none), then the hash mapping.
 */
export const ENQUEUE = new Script(
  PRELUDE + `
local id, queue, push, ttl = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local key = JOB .. id
redis.call('SADD', QUEUES, QUEUE .. queue)
redis.call('HSET', key, 'status', 'queued')
redis.call('HSET', key, unpack(ARGV, 5))
if ttl ~= '' then cleanup(id, tonumber(ttl)) end
if push ~= '' then redis.call(push, QUEUE .. queue, id) end
return 1
`,
);

/**
 * Enqueue with dependencies (RQ's setup_dependencies + enqueue_job). Defers the job when any existing
 * dependency is not finished, else queues it.
 * ARGV: id, origin, now_seconds, now_ts, at_front (0/1), ttl ('' = none), n_deps, dep ids…, then the job hash
 * mapping as field/value pairs (status deferred, no enqueued_at). Returns 1 when queued, 0 when deferred.
 */
export const ENQUEUE_WITH_DEPENDENCIES = new Script(
  PRELUDE + `
local id, origin, now, now_ts, at_front, ttl = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local n = tonumber(ARGV[7])
local deps = {}
for i = 1, n do deps[i] = ARGV[7 + i] end
local mapping = {}
for i = 8 + n, #ARGV do table.insert(mapping, ARGV[i]) end
local allow = false
for i = 1, #mapping, 2 do
  if mapping[i] == 'allow_dependency_failures' and mapping[i + 1] == '1' then allow = true end
end
-- A dependency that already ended counts as met: finished, or failed when failures are allowed (else a job that
-- allows failure, enqueued after its parent failed, would wait for ever).
local defer = false
for _, dep in ipairs(deps) do
  local st = redis.call('HGET', JOB .. dep, 'status')
  if st and st ~= 'finished' and not (allow and st == 'failed') then defer = true break end
end
local key = JOB .. id
if defer then
  redis.call('HSET', key, 'status', 'deferred')
  redis.call('ZADD', REG.deferred .. origin, now, id)
  for _, dep in ipairs(deps) do
    redis.call('SADD', dependents_key(dep), id)
    redis.call('SADD', deps_key(id), dep)
  end
  redis.call('HSET', key, unpack(mapping))
else
  redis.call('SADD', QUEUES, QUEUE .. origin)
  redis.call('HSET', key, 'status', 'queued')
  redis.call('HSET', key, unpack(mapping))
  redis.call('HSET', key, 'status', 'queued', 'enqueued_at', now_ts)
end
if ttl ~= '' then cleanup(id, tonumber(ttl)) end
if not defer then
  if at_front == '1' then redis.call('LPUSH', QUEUE .. origin, id) else redis.call('RPUSH', QUEUE .. origin, id) end
  return 1
end
return 0
`,
);

const FINISH_FUNCTIONS = `
-- Whether worker wname may store id's outcome: the job is still started by it, or was failed as abandoned by a
-- worker that thought it dead (then the real outcome replaces that guess). A finish that is not owned (a retry after
-- a lost reply, a job canceled or deleted meanwhile) stores nothing. wkey '' = no worker (isAsync: false).
local function owned(id, wkey, wname)
  if wkey == '' then return true end
  redis.call('SREM', RUNNING .. wname, id)
  local key = JOB .. id
  local st, w = unpack(redis.call('HMGET', key, 'status', 'worker_name'))
  if w ~= wname then return false end
  if st == 'started' then return true end
  if st == 'failed' and redis.call('HGET', key, 'rqts_abandoned') == wname then
    redis.call('HDEL', key, 'rqts_abandoned')
    redis.call('ZREM', REG.failed .. (redis.call('HGET', key, 'origin') or ''), id)
    return true
  end
  return false
end
-- A successful run (RQ's Job._handle_success + cleanup + enqueue_dependents + worker bookkeeping).
-- a: id, origin, now_seconds, now_ts, result_ttl, started_at, worker_key ('' = none), working_time, worker_name,
-- last_heartbeat, then the XADD fields. Returns the released dependents as {id, origin, ...}.
local function finish_success(a, next_job)
  local id, origin, now, now_ts, ttl = a[1], a[2], tonumber(a[3]), a[4], tonumber(a[5])
  local started_at, wkey, wtime, wname, hb = a[6], a[7], a[8], a[9], a[10]
  if not owned(id, wkey, wname) then return false end
  local fields = {}
  for i = 11, #a do table.insert(fields, a[i]) end
  local released, has_dependents = release_dependents(id, now_ts, false)
  if wkey ~= '' then
    -- With a dequeue in the same script (next_job), that one sets or clears current_job.
    if not next_job then redis.call('HDEL', wkey, 'current_job') end
    redis.call('HINCRBY', wkey, 'successful_job_count', 1)
    redis.call('HINCRBYFLOAT', wkey, 'total_working_time', wtime)
  end
  if ttl ~= 0 then
    redis.call('HSET', JOB .. id, 'status', 'finished', 'started_at', started_at, 'ended_at', now_ts,
      'worker_name', wname, 'last_heartbeat', hb)
    local rkey = RESULTS .. id
    redis.call('XADD', rkey, 'MAXLEN', '~', ${RESULTS_STREAM_MAXLEN}, '*', unpack(fields))
    if ttl < 0 then redis.call('PERSIST', rkey) else redis.call('EXPIRE', rkey, ttl) end
    redis.call('ZADD', REG.finished .. origin, ttl < 0 and '+inf' or (now + ttl), id)
  end
  cleanup(id, ttl, has_dependents)
  redis.call('ZREM', REG.started .. origin, id)
  return released
end

-- A failed run (RQ's Job._handle_failure via FailedJobRegistry.add + Result.create_failure + worker bookkeeping,
-- then the release of dependents that allow failures).
-- a: id, origin, now_seconds, now_ts, failure_ttl ('' = the job has none), started_at, worker_key, working_time,
-- worker_name, last_heartbeat, status ('failed' | 'stopped'), then the XADD fields.
local function finish_failure(a)
  local id, origin, now, now_ts, own_ttl = a[1], a[2], tonumber(a[3]), a[4], a[5]
  local started_at, wkey, wtime, wname, hb, status = a[6], a[7], a[8], a[9], a[10], a[11]
  if not owned(id, wkey, wname) then return false end
  local fields = {}
  for i = 12, #a do table.insert(fields, a[i]) end
  local key = JOB .. id
  if redis.call('EXISTS', key) == 1 then
    redis.call('HSET', key, 'status', status, 'started_at', started_at, 'ended_at', now_ts, 'worker_name', wname,
      'last_heartbeat', hb)
  end
  redis.call('ZREM', REG.started .. origin, id)
  local ttl = ${DEFAULT_FAILURE_TTL}
  if own_ttl ~= '' then ttl = tonumber(own_ttl) end
  cleanup(id, ttl)
  redis.call('ZADD', REG.failed .. origin, ttl < 0 and ttl or (now + ttl), id)
  local rkey = RESULTS .. id
  redis.call('XADD', rkey, 'MAXLEN', '~', ${RESULTS_STREAM_MAXLEN}, '*', unpack(fields))
  if own_ttl ~= '' then
    if ttl < 0 then redis.call('PERSIST', rkey) else redis.call('EXPIRE', rkey, ttl) end
  end
  if wkey ~= '' then
    redis.call('HDEL', wkey, 'current_job')
    redis.call('HINCRBY', wkey, 'failed_job_count', 1)
    redis.call('HINCRBYFLOAT', wkey, 'total_working_time', wtime)
  end
  return release_dependents(id, now_ts, true)
end

-- Marks a job started (RQ's prepare_for_execution + StartedJobRegistry.add + PERSIST) and returns its hash as it
-- was, or nil when the hash is gone (a job whose ttl expired is dropped silently, as RQ does).
local function mark_started(id, popped_from, wkey, wname, now, now_ts)
  local key = JOB .. id
  local h = redis.pcall('HGETALL', key)
  if type(h) ~= 'table' or h.err or #h == 0 then return nil end
  local origin, timeout = popped_from, nil
  for i = 1, #h, 2 do
    if h[i] == 'origin' then
      if h[i + 1] ~= '' then origin = h[i + 1] end
    elseif h[i] == 'timeout' then timeout = tonumber(h[i + 1]) end
  end
  local hb = 90
  if timeout and timeout > 0 then hb = math.min(timeout, 30) + 60 end
  redis.call('ZADD', REG.started .. origin, now + hb, id)
  redis.call('HSET', key, 'status', 'started', 'started_at', now_ts, 'last_heartbeat', now_ts, 'worker_name', wname)
  redis.call('PERSIST', key)
  redis.call('SADD', RUNNING .. wname, id)
  redis.call('HSET', wkey, 'current_job', id, 'current_job_working_time', '0', 'state', 'busy', 'last_heartbeat', now_ts)
  return h
end

-- Takes the next job: first ids this worker already moved to its own list (BLMOVE), then the queues in priority
-- order; the id goes from the list straight into the started registry in this one atomic step, so a worker that
-- dies at any instant leaves every job in a queue, a registry or its own list.
-- a: worker_key, worker_name, own_list, now_seconds, now_ts, held_set ('' = not taking ahead), started (an id taken
-- ahead before that starts now, so it leaves held_set; '' = none), queue names...
-- Returns {id, queue, hash} or 'suspended' or false.
local function dequeue(a)
  local wkey, wname, own, now, now_ts, held, started = a[1], a[2], a[3], tonumber(a[4]), a[5], a[6], a[7]
  if started ~= '' then redis.call('SREM', held, started) end
  -- A job taken ahead (held = the worker's held set) is recorded there in the same step, so that if the worker
  -- dies before running it, maintenance gives it back to its queue instead of leaving it 'started' for ever.
  local function took(id, q, h)
    if held ~= '' then redis.call('SADD', held, id) end
    return {id, q, h}
  end
  if redis.call('EXISTS', ${JSON.stringify(SUSPENDED_KEY)}) == 1 then return 'suspended' end
  while true do
    local id = redis.call('LPOP', own)
    if not id then break end
    local origin = origin_of(id) or 'default'
    local h = mark_started(id, origin, wkey, wname, now, now_ts)
    if h then return took(id, origin, h) end
  end
  for i = 8, #a do
    local q = a[i]
    while true do
      local id = redis.call('LPOP', QUEUE .. q)
      if not id then break end
      local h = mark_started(id, q, wkey, wname, now, now_ts)
      if h then return took(id, q, h) end
    end
  end
  return false
end

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

-- Takes up to n jobs as dequeue does, in one step. a: n, then dequeue's arguments (its 'started' applies once; an
-- empty now_seconds means now by Redis' clock, for a dequeue sent ahead of the time it runs).
-- Returns {{id, queue, hash}, ...} (at least one), or 'suspended' or false.
local function dequeue_many(a)
  local n = tonumber(table.remove(a, 1))
  if a[4] == '' then
    local t = redis.call('TIME')
    a[4] = t[1]
    a[5] = iso_utc(tonumber(t[1]), tonumber(t[2]))
  end
  local got = {}
  for i = 1, n do
    local taken = dequeue(a)
    if type(taken) ~= 'table' then
      if i == 1 then return taken end
      break
    end
    table.insert(got, taken)
    a[7] = ''
  end
  return got
end

-- The idle heartbeat (state idle, last_heartbeat, the worker key's TTL) of a worker that took nothing; idle_ttl ''
-- or no worker key: nothing.
local function mark_idle(wkey, idle_ttl, now_ts)
  if idle_ttl == '' or wkey == '' then return end
  redis.call('HSET', wkey, 'state', 'idle', 'last_heartbeat', now_ts)
  redis.call('EXPIRE', wkey, idle_ttl)
end

local function split(args)
  local n = tonumber(args[1])
  local first, second = {}, {}
  for i = 2, n + 1 do table.insert(first, args[i]) end
  for i = n + 2, #args do table.insert(second, args[i]) end
  return first, second
end
`;

/** Stores a success; ARGV as `finish_success`. Returns the released dependents. */
export const FINISH_SUCCESS = new Script(PRELUDE + FINISH_FUNCTIONS + "return finish_success(ARGV)");

/** Stores a failure; ARGV as `finish_failure`. Returns the released dependents. */
export const FINISH_FAILURE = new Script(PRELUDE + FINISH_FUNCTIONS + "return finish_failure(ARGV)");

/** Takes the next jobs; ARGV as `dequeue_many` (how many at most, then `dequeue`'s). */
export const DEQUEUE = new Script(PRELUDE + FINISH_FUNCTIONS + "return dequeue_many(ARGV)");

/**
 * Stores one job's outcome and takes the next jobs in the same round trip (what lets a worker run a job per round
 * trip, or several). ARGV: idle_ttl, n, the n finish arguments (success or failure by `kind`), then `dequeue_many`'s.
 * With an idle_ttl (not ''), a worker that takes nothing is marked idle (its key living idle_ttl seconds), as its
 * idle heartbeat would.
 */
export const FINISH_SUCCESS_AND_DEQUEUE = new Script(
  PRELUDE + FINISH_FUNCTIONS + `
local idle_ttl = table.remove(ARGV, 1)
local f, d = split(ARGV)
finish_success(f, true)
local taken = dequeue_many(d)
if type(taken) ~= 'table' and f[7] ~= '' then redis.call('HDEL', f[7], 'current_job') end
if not taken then mark_idle(f[7], idle_ttl, f[4]) end
return taken
`,
);
export const FINISH_FAILURE_AND_DEQUEUE = new Script(
  PRELUDE + FINISH_FUNCTIONS + `
local idle_ttl = table.remove(ARGV, 1)
local f, d = split(ARGV)
finish_failure(f)
local taken = dequeue_many(d)
if not taken then mark_idle(f[7], idle_ttl, f[4]) end
return taken
`,
);

/**
 * RQ's Job.cancel: status canceled, out of its queue and current registry, into the canceled registry; with
 * enqueue_dependents = 1 its dependents are released as if it had finished.
 * ARGV: id, now_seconds, now_ts, enqueue_dependents. Returns the old status, or false if the job is gone.
 */
export const CANCEL = new Script(
  PRELUDE + `
local id, now, now_ts, release = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local key = JOB .. id
local st = redis.call('HGET', key, 'status')
if not st and redis.call('EXISTS', key) == 0 then return false end
local origin = redis.call('HGET', key, 'origin') or 'default'
if release == '1' then release_dependents(id, now_ts, false) end
redis.call('HSET', key, 'status', 'canceled')
redis.call('LREM', QUEUE .. origin, 1, id)
local reg = ({ finished = REG.finished, deferred = REG.deferred, started = REG.started, scheduled = REG.scheduled,
  failed = REG.failed, stopped = REG.failed })[st or '']
if reg then redis.call('ZREM', reg .. origin, id) end
redis.call('ZADD', REG.canceled .. origin, now, id)
return st or ''
`,
);

/**
 * Puts the ids left in a worker's own list back at the front of their queues, in order (a stopping worker's). KEYS: the own list. Returns how many.
 */
export const RETURN_OWN_LIST = new Script(
  PRELUDE + `
return return_own_list(KEYS[1])
`,
);

/**
 * Puts jobs a worker took but never started back at the front of their queues, in the order given, as if never
 * dequeued (each only while it is still started by that worker). ARGV: worker_name, then for each job: id, queue
 * (the one it was taken from; '' = its origin), and the started_at, last_heartbeat and worker_name it had before
 * (see `give_back`; '' each when unknown). Returns how many went back.
 */
export const GIVE_BACK = new Script(
  PRELUDE + `
local n = 0
for i = #ARGV - 4, 2, -5 do
  n = n + give_back(ARGV[i], ARGV[1], ARGV[i + 1], { ARGV[i + 2], ARGV[i + 3], ARGV[i + 4] })
end
return n
`,
);

/**
 * Recovers what a dead rqts worker left (its liveness key lapsed): ids in its own list and jobs it took ahead go
 * back to the front of their queues (they never ran); the jobs it was running fail as abandoned (RQ's choice: no
 * second run of a job that may have done its work); its registration is removed, as RQ's clean-up would. Its name
 * stays in rqts:workers until its worker hash has expired (60 s after the death recorded here), and recovery runs
 * again on each pass until then: a wait the dead worker had sent may still move an id into its own list after this
 * ran, and this is how maintenance finds such lists without scanning the keyspace.
 * ARGV: worker_name, now_seconds, now_ts, then the XADD fields of the abandoned failure.
 * Returns {returned, abandoned ids...}.
 */
export const RECOVER_WORKER = new Script(
  PRELUDE + FINISH_FUNCTIONS + `
local wname, now, now_ts = ARGV[1], ARGV[2], ARGV[3]
local fields = {}
for i = 4, #ARGV do table.insert(fields, ARGV[i]) end
local own, held, running = ${JSON.stringify(OWN_LIST_PREFIX)} .. wname, ${JSON.stringify(HELD_PREFIX)} .. wname,
  RUNNING .. wname
local abandoned = {}
local returned = return_own_list(own)
for _, id in ipairs(redis.call('SMEMBERS', held)) do returned = returned + give_back(id, wname, '') end
for _, id in ipairs(redis.call('SMEMBERS', running)) do
  local key = JOB .. id
  local st, w, origin, fttl, started_at, hb = unpack(redis.call('HMGET', key, 'status', 'worker_name', 'origin',
    'failure_ttl', 'started_at', 'last_heartbeat'))
  if st == 'started' and w == wname then
    local a = { id, origin or 'default', now, now_ts, fttl or '', started_at or '', '', '0', wname, hb or '', 'failed' }
    for _, f in ipairs(fields) do table.insert(a, f) end
    finish_failure(a)
    redis.call('HSET', key, 'rqts_abandoned', wname)
    table.insert(abandoned, id)
  end
end
local wkey = ${JSON.stringify(WORKER_PREFIX)} .. wname
local queues = redis.call('HGET', wkey, 'queues')
if queues and redis.call('HEXISTS', wkey, 'death') == 0 then
  for q in string.gmatch(queues, '[^,]+') do redis.call('SREM', ${JSON.stringify(WORKERS_KEY)} .. ':' .. q, wkey) end
  redis.call('SREM', ${JSON.stringify(WORKERS_KEY)}, wkey)
  redis.call('HSET', wkey, 'death', now_ts)
  redis.call('EXPIRE', wkey, 60)
end
redis.call('DEL', own, held, running)
if redis.call('EXISTS', wkey) == 0 then redis.call('SREM', ${JSON.stringify(RQTS_WORKERS_KEY)}, wname) end
local reply = { returned }
for _, id in ipairs(abandoned) do table.insert(reply, id) end
return reply
`,
);

/**
 * After a command whose reply was lost (the connection broke under it), gives back the jobs the worker marked
 * started but does not know of: a lost dequeue reply must not leave a job 'started' for ever.
 * ARGV: worker_name, then the ids the worker knows it holds. Returns how many went back.
 */
export const RECONCILE = new Script(
  PRELUDE + `
local wname = ARGV[1]
local known = {}
for i = 2, #ARGV do known[ARGV[i]] = true end
local n = 0
for _, id in ipairs(redis.call('SMEMBERS', RUNNING .. wname)) do
  if not known[id] then
    redis.call('SREM', RUNNING .. wname, id)
    redis.call('SREM', ${JSON.stringify(HELD_PREFIX)} .. wname, id)
    n = n + give_back(id, wname, '')
  end
end
return n
`,
);
