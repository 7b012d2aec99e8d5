// Runtime detection, in exactly one place: which adapter fits the JavaScript runtime we are running on.

import type { Runtime } from "../src/runtime.ts";

/** `"deno"`, `"bun"` or `"node"`. */
export function runtimeName(): Runtime["name"] {
  const g = globalThis as { Deno?: unknown; Bun?: unknown };
  if (g.Deno !== undefined) return "deno";
  if (g.Bun !== undefined) return "bun";
  return "node";
}

/** Loads the adapter for the current runtime. */
export async function detectRuntime(): Promise<Runtime> {
  switch (runtimeName()) {
    case "deno":
      return (await import("./deno/mod.ts")).denoRuntime;
    case "bun":
      return (await import("./bun/mod.ts")).bunRuntime;
    default:
      return (await import("./node/mod.ts")).nodeRuntime;
  }
}
