// What the Node and Bun adapters share: node:process for the process itself; the IPC channel is Bun's horse channel
// (Node horses talk on fd 3, runtime/node/mod.ts).
import { createRequire } from "node:module";
import process from "node:process";
import type { HorseMessage, RawSocket, RawSocketHandlers, Runtime } from "../src/runtime.ts";

/** The Runtime members that node:process gives alike on Node and Bun. */
export const nodeProcess: Pick<
  Runtime,
  "env" | "cwd" | "hostname" | "pid" | "args" | "horseChannel" | "onSignal" | "exit" | "rss" | "connectTcp"
> = {
  connectTcp,
  env: (name) => process.env[name],
  cwd: () => process.cwd(),
  // node:os on first use: a horse never asks, and loading it costs a Bun horse ~1 ms of start-up.
  hostname: () => (createRequire(import.meta.url)("node:os") as typeof import("node:os")).hostname(),
  pid: () => process.pid,
  args: () => process.argv.slice(2),
  horseChannel() {
    return {
      send: (message) =>
        new Promise<void>((resolve) => {
          if (!process.send) return resolve();
          // The callback runs once the message is handed to the OS, or on failure (the worker is gone).
          process.send(message, undefined, undefined, () => resolve());
        }),
      onMessage: (listener) => process.on("message", (m) => listener(m as HorseMessage)),
      onClose: (listener) => process.once("disconnect", listener),
    };
  },
  onSignal(signal, handler) {
    process.on(signal, handler);
    return () => process.off(signal, handler);
  },
  exit: (code) => process.exit(code),
  rss: () => process.memoryUsage.rss(),
};

/** node:net behind the core's RawSocket; loaded on first use, since it costs a horse ~14 ms of start-up on Bun. */
async function connectTcp(target: { host: string; port: number }, handlers: RawSocketHandlers): Promise<RawSocket> {
  const { createConnection } = await import("node:net");
  return await new Promise((resolve, reject) => {
    const socket = createConnection({ host: target.host, port: target.port, noDelay: true });
    socket.once("error", reject);
    socket.once("connect", () => {
      socket.off("error", reject);
      let closed = false;
      const finish = (error?: Error) => {
        if (closed) return;
        closed = true;
        socket.destroy();
        handlers.closed(error);
      };
      socket.on("data", (chunk: Uint8Array) => handlers.data(chunk));
      socket.on("error", (error) => finish(error));
      socket.on("close", () => finish());
      resolve({
        write: (bytes) => {
          if (!closed) socket.write(bytes);
        },
        close: () => finish(),
      });
    });
  });
}
