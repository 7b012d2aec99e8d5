// The Deno adapter: Deno's own APIs behind the core's Runtime interface.
import type { Runtime } from "../../src/runtime.ts";

export const denoRuntime: Runtime = {
  name: "deno",
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
  importModule: (specifier) => import(specifier),
};
