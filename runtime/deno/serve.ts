// Deno.serve behind the core's Runtime.serve (the dashboard's server: `rqts dashboard`).
import type { FetchHandler, HttpServer } from "../../src/runtime.ts";
import { Deno } from "./deno_api.ts";

/** Serves `handler` with Deno.serve; resolves once it listens. */
export function serve(handler: FetchHandler, options: { hostname: string; port: number }): Promise<HttpServer> {
  return new Promise((resolve, reject) => {
    try {
      const server = Deno.serve({
        hostname: options.hostname,
        port: options.port,
        onListen: (addr) => resolve({ port: addr.port, close: () => server.shutdown() }),
      }, handler);
    } catch (error) {
      reject(error); // AddrInUse, PermissionDenied: thrown before onListen
    }
  });
}
