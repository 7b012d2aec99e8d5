// The Deno adapter's TCP sockets for rqts' RESP client: Deno.connect behind the core's RawSocket.
import type { RawSocket, RawSocketHandlers } from "../../src/runtime.ts";
import { Deno, inOrder } from "./deno_api.ts";

/** Deno.connect behind the core's RawSocket: one read loop, writes in order. */
export async function connectTcp(
  target: { host: string; port: number },
  handlers: RawSocketHandlers,
): Promise<RawSocket> {
  const conn = await Deno.connect({ hostname: target.host, port: target.port, transport: "tcp" });
  conn.setNoDelay(true);
  let closed = false;
  const finish = (error?: Error) => {
    if (closed) return;
    closed = true;
    try {
      conn.close();
    } catch { /* already closed */ }
    handlers.closed(error);
  };
  void (async () => {
    const buffer = new Uint8Array(64 * 1024);
    try {
      while (!closed) {
        const n = await conn.read(buffer);
        if (n === null || closed) break; // nothing after close reaches the client
        handlers.data(buffer.slice(0, n));
      }
      finish();
    } catch (error) {
      finish(closed ? undefined : error as Error);
    }
  })();
  const write = inOrder(conn, (error) => finish(error));
  return {
    write: (bytes) => closed ? undefined : write(bytes),
    close: () => finish(),
  };
}
