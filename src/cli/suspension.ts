// RQ's `rq suspend` and `rq resume` (see src/suspension.ts).

import { Connection } from "../connection.ts";
import { resume, suspend } from "../suspension.ts";
import { COMMON, type Flag, intFlag, out, type Parsed, UsageError } from "./common.ts";

/** `rqts suspend --help`, `rqts resume --help`. */
export const HELP: Record<string, string> = {
  suspend: `Usage: rqts suspend [--duration SECONDS] [--url URL]

Sets rq:suspended: workers (Python and rqts) stop taking jobs until 'resume' (or the duration ends).`,
  resume: `Usage: rqts resume [--url URL]

Deletes rq:suspended, so suspended workers go on.`,
};

/** The flags of suspend and resume. */
export const FLAGS: Record<string, Record<string, Flag>> = {
  suspend: { ...COMMON, duration: { type: "string" } },
  resume: { ...COMMON },
};

/** `rqts suspend [--duration N]`, `rqts resume`: sets or deletes rq:suspended. */
export async function suspendCommand(command: "suspend" | "resume", p: Parsed, url: string): Promise<number> {
  const duration = intFlag(p, "duration");
  if (duration !== undefined && duration < 1) throw new UsageError("--duration must be at least 1 second");
  const connection = Connection.fromUrl(url);
  try {
    if (command === "resume") {
      await resume(connection);
      out("Resuming workers.");
      return 0;
    }
    await suspend(connection, duration);
    out(duration ? `Suspending workers for ${duration} seconds.` : "Suspending workers. Run 'rqts resume' to resume.");
  } finally {
    await connection.close();
  }
  return 0;
}
