// The Node adapter: Node's process APIs behind the core's Runtime interface.
import process from "node:process";
import { hostname } from "node:os";
import type { Runtime } from "../../src/runtime.ts";

export const nodeRuntime: Runtime = {
  name: "node",
  env: (name) => process.env[name],
  cwd: () => process.cwd(),
  hostname: () => hostname(),
  pid: () => process.pid,
  importModule: (specifier) => import(specifier),
};
