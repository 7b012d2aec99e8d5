// No RQ counterpart (rq-dashboard is a separate Flask app): the dashboard as a standard fetch handler, for
// `rqts dashboard` and for mounting in any Deno, Bun or Node server. Its web layer (Hono, app.ts) is imported on the
// first request, so workers and horses that import rqts never load it.

import { Connection, type ConnectionOption } from "../connection.ts";
import { checkAuth, type DashboardAuth, newCsrfToken } from "./auth.ts";

/** Options of {@link dashboard}. */
export interface DashboardOptions {
  /** Redis URL, node-redis client, Connection, or nothing (`REDIS_URL`, else redis://127.0.0.1:6379). */
  connection?: ConnectionOption;
  /**
   * The path it is mounted under, e.g. `"/rq"`: its pages link below it, and requests outside it get 404.
   * @default "" (the root)
   */
  basePath?: string;
  /** Pages only: every action (requeue, delete, cancel, stop, empty, suspend) is refused with 403. */
  readOnly?: boolean;
  /** Who may look: `"user:password"` or `{ user, password }` (HTTP basic auth), or `{ token }` (bearer token). */
  auth?: string | DashboardAuth;
}

/** A fetch handler (`(Request) => Promise<Response>`) with `close()` to release the connection it opened. */
export type DashboardHandler = ((request: Request) => Promise<Response>) & {
  /** Closes the Redis connection the dashboard opened (one passed in as a Connection or client is left open). */
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
};

/**
 * The rqts dashboard as a fetch handler: queues, workers, jobs, search and actions, for RQ and rqts queues alike.
 * @throws {TypeError} for an unknown option, a malformed `basePath` or `auth`.
 * @example Mounted under /rq by any server that takes a fetch handler (Deno's, Bun's; Node: toNodeListener)
 * ```ts
 * import { dashboard } from "@rqts/rqts";
 * const rq = dashboard({ basePath: "/rq", auth: "admin:s3cret" });
 * const handler = (req: Request) => new URL(req.url).pathname.startsWith("/rq") ? rq(req) : new Response("app");
 * ```
 */
export function dashboard(options: DashboardOptions = {}): DashboardHandler {
  const known = ["connection", "basePath", "readOnly", "auth"];
  for (const k of Object.keys(options)) {
    if (!known.includes(k)) throw new TypeError(`Unknown dashboard option '${k}'. Allowed: ${known.join(", ")}.`);
  }
  const base = checkBasePath(options.basePath);
  const auth = checkAuth(options.auth);
  const connection = Connection.resolve(options.connection);
  const owned = !(options.connection instanceof Connection);
  const settings = { connection, base, readOnly: options.readOnly === true, auth, csrf: newCsrfToken() };
  let app: Promise<(request: Request) => Response | Promise<Response>> | undefined;
  const handler = async (request: Request): Promise<Response> => {
    app ??= import("./app.ts").then(({ createApp }) => {
      const hono = createApp(settings);
      return (req: Request) => hono.fetch(req);
    });
    return await (await app)(request);
  };
  const close = async () => {
    if (owned) await connection.close();
  };
  return Object.assign(handler, { close, [Symbol.asyncDispose]: close });
}

/** `basePath` as the app uses it: "" or "/a/b" (leading slash, none trailing). */
function checkBasePath(basePath: unknown): string {
  if (basePath === undefined || basePath === "" || basePath === "/") return "";
  if (typeof basePath !== "string" || !/^(\/[A-Za-z0-9._~-]+)+\/?$/.test(basePath)) {
    throw new TypeError(
      `basePath: received ${JSON.stringify(basePath)}; expected a path such as "/rq" (letters, digits, . _ ~ -).`,
    );
  }
  return basePath.replace(/\/$/, "");
}
