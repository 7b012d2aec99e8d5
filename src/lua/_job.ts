// RQ's Job (its hash as Lua reads it, and Job.cleanup): the job-hash helpers the scripts of src/lua/ share.

import { snippet } from "./_compose.ts";

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
