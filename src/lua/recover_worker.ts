// No RQ counterpart (RQ's clean_worker_registry only drops dead workers' names): recovers what a dead rqts worker left
// (its liveness key lapsed). Ids in its own list and jobs it took ahead go back to the front of their queues (they
// never ran); the jobs it was running fail as abandoned (RQ's choice: no second run of a job that may have done its
// work); its registration is removed, as RQ's clean-up would. Its name stays in rqts:workers until its worker hash has
// expired (60 s after the death recorded here), and recovery runs again on each pass until then: a wait the dead
// worker had sent may still move an id into its own list after this ran, and this is how maintenance finds such lists
// without scanning the keyspace.
//
// KEYS[1]    rq:worker:<name>              the dead worker's hash
// KEYS[2]    rqts:dequeued:<name>          its own list
// KEYS[3]    rqts:held:<name>              its held set
// KEYS[4]    rqts:running:<name>           its running set
// KEYS[5]    rq:workers                    the set of worker keys
// KEYS[6]    rqts:workers                  the set of rqts worker names
// KEYS[7]    rq:queues                     the set of queue keys (a released dependent's queue joins it)
// ARGV[1]    worker_name
// ARGV[2]    now_seconds
// ARGV[3]    now_ts
// ARGV[4..]  fields                        the XADD field/value pairs of the abandoned failure
// Built in the script: for each job it held or ran, its keys as FINISH_FAILURE declares them (finish_failure.ts: hash,
// results, dependency sets, registries of its origin) and its queue (as GIVE_BACK, give_back.ts); the queues of own
// list ids (as RETURN_OWN_LIST); rq:workers:<queue> (WORKERS_BY_QUEUE_PREFIX) of each queue the worker listened on;
// rqts:stats:<origin> of each job it fails (an abandoned run counts as failed in the throughput counters).
// Returns {returned, abandoned ids...}.

import { Script } from "../connection.ts";
import { QUEUES_KEY, RQTS_WORKERS_KEY, workerKeys, WORKERS_KEY } from "../keys.ts";
import type { ScriptArgs } from "./_args.ts";
import { compose } from "./_compose.ts";
import { finishFailure } from "./_finish.ts";
import { giveBack, returnOwnList } from "./_give_back.ts";
import { DEPENDENCIES_KEY, DEPENDENTS_KEY, JOB, REG, RESULTS, WORKERS_BY_QUEUE } from "./_key_prefixes.ts";

export const RECOVER_WORKER = new Script(compose(
  `
local wname, now, now_ts = ARGV[1], ARGV[2], ARGV[3]
local wkey, own, held, running = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local fields = {}
for i = 4, #ARGV do table.insert(fields, ARGV[i]) end
local abandoned = {}
local returned = return_own_list(own)
for _, id in ipairs(redis.call('SMEMBERS', held)) do returned = returned + give_back(JOB .. id, id, wname, running) end
for _, id in ipairs(redis.call('SMEMBERS', running)) do
  local key = JOB .. id
  local st, w, origin, fttl, started_at, hb = unpack(redis.call('HMGET', key, 'status', 'worker_name', 'origin',
    'failure_ttl', 'started_at', 'last_heartbeat'))
  if st == 'started' and w == wname then
    origin = origin or 'default'
    local k = { job = key, results = RESULTS .. id, dependents = dependents_key(id),
      dependencies = dependencies_key(id), started = REG.started .. origin, ended = REG.failed .. origin,
      queues = KEYS[7], worker = '' }
    local a = { id, now, now_ts, fttl or '', started_at or '', '0', wname, hb or '', 'failed' }
    for _, f in ipairs(fields) do table.insert(a, f) end
    finish_failure(k, a)
    redis.call('HSET', key, 'rqts_abandoned', wname)
    table.insert(abandoned, id)
  end
end
local queues = redis.call('HGET', wkey, 'queues')
if queues and redis.call('HEXISTS', wkey, 'death') == 0 then
  for q in string.gmatch(queues, '[^,]+') do redis.call('SREM', WORKERS_BY_QUEUE .. q, wkey) end
  redis.call('SREM', KEYS[5], wkey)
  redis.call('HSET', wkey, 'death', now_ts)
  redis.call('EXPIRE', wkey, 60)
end
redis.call('DEL', own, held, running)
if redis.call('EXISTS', wkey) == 0 then redis.call('SREM', KEYS[6], wname) end
local reply = { returned }
for _, id in ipairs(abandoned) do table.insert(reply, id) end
return reply
`,
  returnOwnList,
  giveBack,
  finishFailure,
  JOB,
  REG,
  RESULTS,
  DEPENDENTS_KEY,
  DEPENDENCIES_KEY,
  WORKERS_BY_QUEUE,
));

/** One recovery. */
export interface RecoverWorker {
  /** The dead worker's name. */
  name: string;
  nowSeconds: number;
  nowTs: string;
  /** The abandoned failure's result entry (`failureFields`). */
  fields: string[];
}

/** RECOVER_WORKER's KEYS and ARGV. */
export function recoverWorkerArgs(r: RecoverWorker): ScriptArgs {
  const w = workerKeys(r.name);
  return [
    [w.key, w.ownList, w.held, w.running, WORKERS_KEY, RQTS_WORKERS_KEY, QUEUES_KEY],
    [r.name, String(r.nowSeconds), r.nowTs, ...r.fields],
  ];
}
