// No RQ counterpart (RQ has no own lists): puts the ids left in a stopping worker's own list back at the front of
// their queues, in order, dropping ids that are no job.
//
// KEYS[1]    rqts:dequeued:<name>          the worker's own list
// Built in the script: rq:job:<id> (JOB_PREFIX) of each id, rq:queue:<origin> of its origin ('default' without one).
// Returns how many went back.

import { Script } from "../connection.ts";
import { ownListKey } from "../keys.ts";
import type { ScriptArgs } from "./_args.ts";
import { compose } from "./_compose.ts";
import { returnOwnList } from "./_give_back.ts";

export const RETURN_OWN_LIST = new Script(compose("return return_own_list(KEYS[1])", returnOwnList));

/** RETURN_OWN_LIST's KEYS and ARGV, for worker `name`. */
export function returnOwnListArgs(name: string): ScriptArgs {
  return [[ownListKey(name)], []];
}
