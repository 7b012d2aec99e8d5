// RQ's Job.cancel as one Lua script: status canceled, out of its queue and current registry, into the canceled
// registry; with enqueue_dependents = '1' its dependents are released as if it had finished.
//
// KEYS[1]    rq:job:<id>                   the job's hash
// KEYS[2]    rq:job:<id>:dependents        its dependents set
// KEYS[3]    rq:queues                     the set of queue keys (a released dependent's queue joins it)
// ARGV[1]    id
// ARGV[2]    now_seconds
// ARGV[3]    now_ts
// ARGV[4]    enqueue_dependents            '1' or '0'
// Built in the script: of the job's origin (read from its hash), rq:queue:<origin> and its registries
// (REGISTRY_PREFIXES); for released dependents, as FINISH_SUCCESS (finish_success.ts).
// Returns the old status ('' = none), or false when the job is gone.

import { Script } from "../connection.ts";
import { dependentsKey, jobKey, QUEUES_KEY } from "../keys.ts";
import type { ScriptArgs } from "./_args.ts";
import { compose } from "./_compose.ts";
import { releaseDependents } from "./_dependencies.ts";
import { QUEUE, REG } from "./_key_prefixes.ts";

export const CANCEL = new Script(compose(
  `
local id, now, now_ts, release = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local key = KEYS[1]
local st = redis.call('HGET', key, 'status')
if not st and redis.call('EXISTS', key) == 0 then return false end
local origin = redis.call('HGET', key, 'origin') or 'default'
if release == '1' then release_dependents(KEYS[2], KEYS[3], id, now_ts, false) end
redis.call('HSET', key, 'status', 'canceled')
redis.call('LREM', QUEUE .. origin, 1, id)
local reg = ({ finished = REG.finished, deferred = REG.deferred, started = REG.started, scheduled = REG.scheduled,
  failed = REG.failed, stopped = REG.failed })[st or '']
if reg then redis.call('ZREM', reg .. origin, id) end
redis.call('ZADD', REG.canceled .. origin, now, id)
return st or ''
`,
  QUEUE,
  REG,
  releaseDependents,
));

/** One cancel. */
export interface Cancel {
  id: string;
  nowSeconds: number;
  nowTs: string;
  enqueueDependents: boolean;
}

/** CANCEL's KEYS and ARGV. */
export function cancelArgs(c: Cancel): ScriptArgs {
  return [
    [jobKey(c.id), dependentsKey(c.id), QUEUES_KEY],
    [c.id, String(c.nowSeconds), c.nowTs, c.enqueueDependents ? "1" : "0"],
  ];
}
