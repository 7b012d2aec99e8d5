// RQ's enqueue_job transaction (§4.1 of the protocol) as one Lua script: registers the queue, writes the hash in one
// HSET (status first, as RQ), expires it with its dependency keys when the job has a ttl, pushes the id. One command instead of a
// five-command MULTI/EXEC, which is most of a client's per-enqueue cost.
//
// KEYS[1]    rq:queues                     the set of queue keys (the queue joins it)
// KEYS[2]    rq:queue:<queue>              the queue
// KEYS[3]    rq:job:<id>                   the job's hash
// KEYS[4]?   rq:job:<id>:dependents        its dependents set (only with a ttl, and then with KEYS[5])
// KEYS[5]?   rq:job::<id>:dependencies     its dependencies set
// ARGV[1]    id
// ARGV[2]    push                          'RPUSH', 'LPUSH', or '' for none (isAsync: false)
// ARGV[3]    ttl                           seconds; '' = none
// ARGV[4]    unique                        '1': write nothing when the job hash exists (RQ 2.x's unique=True)
// ARGV[5..]  mapping                       the job hash's field/value pairs
// Built in the script: nothing.
// Returns 1, or 0 when unique refused it.

import { type RedisArg, Script } from "../connection.ts";
import { dependenciesKey, dependentsKey, jobKey, queueKey, QUEUES_KEY } from "../keys.ts";
import type { ScriptArgs } from "./_args.ts";
import { compose } from "./_compose.ts";
import { cleanup } from "./_job.ts";

export const ENQUEUE = new Script(compose(
  `
local id, push, ttl = ARGV[1], ARGV[2], ARGV[3]
local key = KEYS[3]
if ARGV[4] == '1' and redis.call('EXISTS', key) == 1 then return 0 end
redis.call('SADD', KEYS[1], KEYS[2])
redis.call('HSET', key, 'status', 'queued', unpack(ARGV, 5))
if ttl ~= '' then cleanup({ job = key, dependents = KEYS[4], dependencies = KEYS[5] }, tonumber(ttl)) end
if push ~= '' then redis.call(push, KEYS[2], id) end
return 1
`,
  cleanup,
));

/** One enqueue. */
export interface Enqueue {
  id: string;
  queue: string;
  push: "RPUSH" | "LPUSH" | "";
  /** The job's ttl in seconds; null = none. */
  ttl: number | null;
  /** The job hash's field/value pairs. */
  mapping: RedisArg[];
  /** Refuse (write nothing, return 0) when the job hash exists. Default false. */
  unique?: boolean;
}

/** ENQUEUE's KEYS and ARGV. */
export function enqueueArgs(e: Enqueue): ScriptArgs {
  const keys = [QUEUES_KEY, queueKey(e.queue), jobKey(e.id)];
  if (e.ttl) keys.push(dependentsKey(e.id), dependenciesKey(e.id));
  return [keys, [e.id, e.push, e.ttl ? String(e.ttl) : "", e.unique ? "1" : "", ...e.mapping]];
}
