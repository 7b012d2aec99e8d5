// node:http behind the core's Runtime.serve (the dashboard's server on Node), and the same bridge for users who mount
// the dashboard in their own node:http (or Express) server (`toNodeListener`, exported by the npm package's entries):
// each request becomes a fetch Request and the handler's Response is written back, streamed. A bridge of this size
// keeps the npm package at one more dependency (hono) rather than two; @hono/node-server does the same with more
// (HTTP/2, early hints) we do not use.
import type { IncomingMessage, ServerResponse } from "node:http";
import { Readable } from "node:stream";
import type { FetchHandler, HttpServer } from "../../src/runtime.ts";

/** A node:http request listener, what `http.createServer` and Express's `app.use` take. */
export type NodeListener = (req: IncomingMessage, res: ServerResponse) => void;

/**
 * A fetch handler (such as `dashboard(…)`) as a node:http request listener:
 * `http.createServer(toNodeListener(dashboard({ basePath: "/rq" })))`. Request bodies (form POSTs) are streamed to
 * the handler, its Response (redirects, server-sent events) streamed back; a handler that throws answers 500.
 * The request's URL is `req.url` as it is: a server that strips a mount path (Express's `app.use("/rq", …)`) must
 * give it back (`req.url = req.originalUrl`), since the dashboard answers under its `basePath` only.
 */
export function toNodeListener(handler: FetchHandler): NodeListener {
  return listener(handler, "localhost");
}

/** The listener, with `hostname` for a request whose Host header is missing or is not a host. */
function listener(handler: FetchHandler, hostname: string): NodeListener {
  return (req, res) => void respond(handler, hostname, req, res);
}

/** Serves `handler` with node:http (loaded on first use: horses never serve); resolves once it listens. */
export async function serve(handler: FetchHandler, options: { hostname: string; port: number }): Promise<HttpServer> {
  const { createServer } = await import("node:http");
  const server = createServer(listener(handler, options.hostname));
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.hostname, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address();
  return {
    port: typeof address === "object" && address ? address.port : options.port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function toRequest(req: IncomingMessage, hostname: string): Request {
  const controller = new AbortController();
  req.once("close", () => controller.abort());
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (Array.isArray(value)) { for (const v of value) headers.append(name, v); }
    else if (value !== undefined) headers.set(name, value);
  }
  // A Host header that is not a host (and port) would change the URL's path when parsed: the listening address then.
  const given = req.headers.host;
  const host = given && /^[\w.-]+(:\d+)?$|^\[[\da-fA-F:.]+\](:\d+)?$/.test(given) ? given : hostname;
  const method = req.method ?? "GET";
  const body = method === "GET" || method === "HEAD" ? undefined : Readable.toWeb(req) as ReadableStream<Uint8Array>;
  return new Request(`http://${host}${req.url ?? "/"}`, {
    method,
    headers,
    body,
    signal: controller.signal,
    ...(body ? { duplex: "half" } : {}),
  } as RequestInit);
}

async function respond(handler: FetchHandler, hostname: string, req: IncomingMessage, res: ServerResponse) {
  let response: Response;
  try {
    response = await handler(toRequest(req, hostname));
  } catch (error) {
    res.writeHead(500, { "content-type": "text/plain; charset=utf-8" });
    res.end(`Internal error: ${(error as Error)?.message ?? error}`);
    return;
  }
  const headers: Record<string, string | string[]> = {};
  response.headers.forEach((value, name) => {
    if (name === "set-cookie") return;
    headers[name] = value;
  });
  const cookies = response.headers.getSetCookie?.() ?? [];
  if (cookies.length) headers["set-cookie"] = cookies;
  res.writeHead(response.status, headers);
  if (!response.body || req.method === "HEAD") return void res.end();
  const reader = response.body.getReader();
  let gone = false;
  const closed = new Promise<void>((resolve) =>
    res.once("close", () => {
      gone = true;
      void reader.cancel().catch(() => {});
      resolve();
    })
  );
  try {
    while (!gone) {
      const { done, value } = await reader.read();
      if (done) break;
      // Backpressure: wait for the socket to drain, or for the client to go (no drain comes then).
      if (!res.write(value)) await Promise.race([new Promise((resolve) => res.once("drain", resolve)), closed]);
    }
  } catch { /* the client went away */ }
  res.end();
}
