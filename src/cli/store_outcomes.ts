// No RQ counterpart (RQ's worker does not keep outcomes through a Redis outage): `rqts store-outcomes`, which stores
// the outcomes stopped workers kept on disk (see src/outcome_spool.ts).

import { join } from "node:path";
import { Connection } from "../connection.ts";
import { replayOutcomes } from "../outcome_spool.ts";
import { getRuntime } from "../runtime.ts";
import { COMMON, type Flag, out, type Parsed, UsageError } from "./common.ts";

/** `rqts store-outcomes --help`. */
export const HELP: Record<string, string> = {
  "store-outcomes": `Usage: rqts store-outcomes [--outcomes-dir DIR] [--url URL]

Stores the outcomes workers kept in DIR (default .rqts/outcomes in the working directory) because Redis was unreachable
as they stopped, as a worker started with that directory does; each only while its job is still that worker's.`,
};

/** The store-outcomes command's flags. */
export const FLAGS: Record<string, Record<string, Flag>> = {
  "store-outcomes": { ...COMMON, "outcomes-dir": { type: "string" } },
};

/** `rqts store-outcomes`: the outcomes stopped workers kept (see outcome_spool.ts), stored without a worker. */
export async function storeOutcomesCommand(p: Parsed, url: string): Promise<number> {
  if (p.positional.length) throw new UsageError(`takes no arguments (got ${p.positional.join(" ")})`);
  const dir = (p.flags.get("outcomes-dir") as string | undefined) ?? join(getRuntime().cwd(), ".rqts", "outcomes");
  const connection = Connection.fromUrl(url);
  try {
    const files = await replayOutcomes(dir, connection, `cli${getRuntime().pid()}`, (_level, message) => out(message));
    if (!files) out(`No kept outcomes in ${dir}.`);
  } finally {
    await connection.close();
  }
  return 0;
}
