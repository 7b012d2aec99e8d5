// rq-dashboard's command line (`rq-dashboard`): serves src/dashboard/ until SIGINT/SIGTERM.

import { dashboard, type DashboardOptions } from "../dashboard/dashboard.ts";
import { DEFAULT_REDIS_URL } from "../defaults.ts";
import { getRuntime, type Signal } from "../runtime.ts";
import { COMMON, type Flag, intFlag, out, type Parsed, UsageError } from "./common.ts";

/** `rqts dashboard --help`. */
export const HELP: Record<string, string> = {
  dashboard: `Usage: rqts dashboard [options]

Serves the web dashboard: queues, workers and jobs of Python RQ and rqts alike, search, actions, live updates.

Options:
  --url, -u URL         Redis URL (default: REDIS_URL, else ${DEFAULT_REDIS_URL})
  --host HOST           Address to listen on (default 127.0.0.1); beyond loopback it needs --auth or --token
  --port, -p N          Port (default 9181, rq-dashboard's)
  --base-path PATH      Serve under PATH, e.g. /rq behind a reverse proxy (default: the root)
  --read-only           Pages only: every action is refused
  --auth USER:PASSWORD  HTTP basic auth (or set RQTS_DASHBOARD_AUTH)
  --token TOKEN         Bearer token (8+ chars); a browser opens /?token=TOKEN once (or set RQTS_DASHBOARD_TOKEN)

Stops on SIGINT/SIGTERM. See docs/dashboard.md.`,
};

/** The dashboard's flags. */
export const FLAGS: Record<string, Record<string, Flag>> = {
  dashboard: {
    ...COMMON,
    host: { type: "string" },
    port: { type: "string", short: "p" },
    "base-path": { type: "string" },
    "read-only": { type: "boolean" },
    auth: { type: "string" },
    token: { type: "string" },
  },
};

/** Whether `host` only takes connections from this machine. */
export function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || host === "[::1]" || /^127(\.\d{1,3}){3}$/.test(host);
}

/** A Redis URL with its password masked, for a log line. */
function redacted(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return url;
  }
}

/** `rqts dashboard`: serves the dashboard until SIGINT/SIGTERM. */
export async function dashboardCommand(p: Parsed, url: string): Promise<number> {
  const runtime = getRuntime();
  const host = (p.flags.get("host") as string | undefined) ?? "127.0.0.1";
  const port = intFlag(p, "port") ?? 9181;
  if (port < 0 || port > 65535) throw new UsageError(`--port: received ${port}; expected 0-65535.`);
  const basic = (p.flags.get("auth") as string | undefined) ?? runtime.env("RQTS_DASHBOARD_AUTH");
  const token = (p.flags.get("token") as string | undefined) ?? runtime.env("RQTS_DASHBOARD_TOKEN");
  if (basic && token) throw new UsageError("--auth and --token: pick one.");
  if (!basic && !token && !isLoopback(host)) {
    throw new UsageError(
      `refusing to listen on ${host} without authentication: anyone who reaches it could delete jobs. Give ` +
        `--auth USER:PASSWORD or --token TOKEN, or listen on 127.0.0.1.`,
    );
  }
  const options: DashboardOptions = {
    connection: url,
    basePath: p.flags.get("base-path") as string | undefined,
    readOnly: p.flags.has("read-only"),
    auth: basic ? basic : token ? { token } : undefined,
  };
  let handler;
  try {
    handler = dashboard(options);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const server = await runtime.serve(handler, { hostname: host, port });
  const shown = host.includes(":") && !host.startsWith("[") ? `[${host}]` : host;
  out(
    `rqts dashboard on http://${shown}:${server.port}${options.basePath ?? ""}/ for ${redacted(url)}` +
      (options.readOnly ? " (read-only)" : "") + (token ? " (open it once with ?token=TOKEN)" : ""),
  );
  await new Promise<void>((resolve) => {
    const offs = (["SIGINT", "SIGTERM"] as Signal[]).map((signal) => runtime.onSignal(signal, () => resolve()));
    void offs;
  });
  await server.close();
  await handler.close();
  return 0;
}
