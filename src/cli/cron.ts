// RQ 2.x's `rq cron`: the cron command and its flags.

import { Connection } from "../connection.ts";
import { CronScheduler } from "../cron.ts";
import { DEFAULT_REDIS_URL } from "../defaults.ts";
import { COMMON, type Flag, logLevel, type Parsed, UsageError } from "./common.ts";

/** `rqts cron --help`. */
export const HELP: Record<string, string> = {
  cron: `Usage: rqts cron <config> [options]

Enqueues jobs on cron strings or intervals until SIGINT/SIGTERM, registered where RQ 2.x's tooling lists cron
schedulers (rq:cron_schedulers). <config> is a module (path relative to the working directory) whose default
export is an array of entries, e.g.
  export default [
    { func: "./jobs.ts#cleanup", queueName: "default", cron: "0 3 * * *", timezone: "Europe/Berlin" },
    { func: "./jobs.ts#ping", queueName: "default", interval: 30 },
  ];
Run several 'rqts cron' on one config for availability: each tick is enqueued once. See docs/cli.md.

Options:
  --url, -u URL                 Redis URL (default: REDIS_URL, else ${DEFAULT_REDIS_URL})
  --name, -n NAME               Scheduler name (default: <hostname>:<pid>:<6 hex digits>, as RQ)
  --log-level, -l LEVEL         debug, info, warning or error (default info)
  --verbose, -v                 --log-level debug
  --quiet, -q                   --log-level warning`,
};

/** The cron command's flags. */
export const FLAGS: Record<string, Record<string, Flag>> = {
  cron: {
    ...COMMON,
    name: { type: "string", short: "n" },
    "log-level": { type: "string", short: "l" },
    verbose: { type: "boolean", short: "v" },
    quiet: { type: "boolean", short: "q" },
  },
};

/** `rqts cron <config>`: enqueues the config's entries on their schedules until SIGINT/SIGTERM. */
export async function cronCommand(args: string[], p: Parsed, url: string): Promise<number> {
  const level = logLevel(p);
  if (args.length !== 1) {
    throw new UsageError(`give one config module (got ${args.length ? args.join(" ") : "none"}); see rqts cron --help`);
  }
  const connection = Connection.fromUrl(url);
  try {
    const cron = new CronScheduler({ connection, name: p.flags.get("name") as string | undefined, logLevel: level });
    await cron.loadConfigFromFile(args[0]);
    await cron.start();
  } finally {
    await connection.close();
  }
  return 0;
}
