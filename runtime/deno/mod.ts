// The Deno adapter: Deno's own APIs behind the core's Runtime, one module per capability: horses (spawn.ts, with
// their socket_channel.ts and stdio_channel.ts), TCP sockets for the RESP client (tcp.ts), and the Deno namespace
// slice they use (deno_api.ts).
import type { Runtime } from "../../src/runtime.ts";
import { Deno } from "./deno_api.ts";
import { serve } from "./serve.ts";
import { horseChannel, spawnHorse } from "./spawn.ts";
import { connectTcp } from "./tcp.ts";

export const denoRuntime: Runtime = {
  connectTcp,
  name: "deno",
  version: Deno.version.deno,
  env(name) {
    try {
      return Deno.env.get(name);
    } catch {
      return undefined; // no --allow-env for this name
    }
  },
  cwd: () => Deno.cwd(),
  hostname: () => Deno.hostname(),
  pid: () => Deno.pid,
  args: () => [...Deno.args],
  importModule: (specifier) => import(specifier),
  spawnHorse,
  horseChannel,
  onSignal(signal, handler) {
    Deno.addSignalListener(signal, handler);
    return () => Deno.removeSignalListener(signal, handler);
  },
  exit: (code) => Deno.exit(code),
  rss: () => Deno.memoryUsage().rss,
  serve,
};
