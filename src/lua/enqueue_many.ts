// RQ 2.x's save_unique_job (rq/scripts.py) for a whole Queue.enqueueMany batch: when any of its jobs is unique, the
// batch is one script, so "no such id exists yet" and the writes are one atomic step: a duplicate refuses the whole
// batch, nothing written. (RQ 2.10's enqueue_many ignores unique; rqts does not.) Each job is written as ENQUEUE
// writes one (status first, the hash, its ttl, the push).
//
// KEYS[1]    rq:queues                     the set of queue keys (the queue joins it)
// KEYS[2]    rq:queue:<queue>              the queue
// KEYS[3..]  for each job: rq:job:<id>, rq:job:<id>:dependents, rq:job::<id>:dependencies
// ARGV[1]    n                             how many jobs
// ARGV[2..]  for each job: id, push ('RPUSH', 'LPUSH' or ''), ttl ('' = none), unique ('1' or ''), m, then the m
//            words of its hash's field/value pairs
// Built in the script: nothing.
// Returns 1, or an error reply 'DUPLICATE <ids as a JSON array>' (nothing written) when a unique job's id exists, or comes twice.

import { type RedisArg, Script } from "../connection.ts";
import { dependenciesKey, dependentsKey, jobKey, queueKey, QUEUES_KEY } from "../keys.ts";
import type { ScriptArgs } from "./_args.ts";
import { compose } from "./_compose.ts";
import { cleanup } from "./_job.ts";
import type { Enqueue } from "./enqueue.ts";

export const ENQUEUE_MANY = new Script(compose(
  `
local n = tonumber(ARGV[1])
local jobs, at, seen, dups = {}, 2, {}, {}
for j = 1, n do
  local m = tonumber(ARGV[at + 4])
  local job = { id = ARGV[at], push = ARGV[at + 1], ttl = ARGV[at + 2], unique = ARGV[at + 3] == '1',
    first = at + 5, last = at + 4 + m, k = { job = KEYS[3 * j], dependents = KEYS[3 * j + 1],
    dependencies = KEYS[3 * j + 2] } }
  if job.unique and (seen[job.id] or redis.call('EXISTS', job.k.job) == 1) then table.insert(dups, job.id) end
  seen[job.id] = true
  jobs[j] = job
  at = job.last + 1
end
if #dups > 0 then return redis.error_reply('DUPLICATE ' .. cjson.encode(dups)) end
redis.call('SADD', KEYS[1], KEYS[2])
for _, job in ipairs(jobs) do
  redis.call('HSET', job.k.job, 'status', 'queued', unpack(ARGV, job.first, job.last))
  if job.ttl ~= '' then cleanup(job.k, tonumber(job.ttl)) end
  if job.push ~= '' then redis.call(job.push, KEYS[2], job.id) end
end
return 1
`,
  cleanup,
));

/** ENQUEUE_MANY's KEYS and ARGV: `jobs` all go to `queue`. */
export function enqueueManyArgs(queue: string, jobs: readonly Omit<Enqueue, "queue">[]): ScriptArgs {
  const keys = [QUEUES_KEY, queueKey(queue)];
  const argv: RedisArg[] = [String(jobs.length)];
  for (const e of jobs) {
    keys.push(jobKey(e.id), dependentsKey(e.id), dependenciesKey(e.id));
    argv.push(e.id, e.push, e.ttl ? String(e.ttl) : "", e.unique ? "1" : "", String(e.mapping.length), ...e.mapping);
  }
  return [keys, argv];
}

/** The id list of ENQUEUE_MANY's refusal, or undefined for any other error. */
export function duplicateIds(error: unknown): string[] | undefined {
  const m = /DUPLICATE (\[.*\])$/s.exec(String((error as Error)?.message ?? ""));
  return m ? JSON.parse(m[1]) as string[] : undefined;
}
