// What the Node and Bun adapters share: both speak node:process for the process itself and its IPC channel.
import { hostname } from "node:os";
import process from "node:process";
import type { HorseMessage, Runtime } from "../src/runtime.ts";

/** The Runtime members that node:process gives alike on Node and Bun. */
export const nodeProcess: Pick<
  Runtime,
  "env" | "cwd" | "hostname" | "pid" | "args" | "horseChannel" | "onSignal" | "exit" | "rss"
> = {
  env: (name) => process.env[name],
  cwd: () => process.cwd(),
  hostname: () => hostname(),
  pid: () => process.pid,
  args: () => process.argv.slice(2),
  horseChannel() {
    return {
      send: (message) => process.send?.(message),
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
