// What the benches share: flags, the runtime they run on, and the printed table's formatting.
import process from "node:process";
import { Connection } from "../mod.ts";

export type RuntimeName = "deno" | "bun" | "node";

/** Parses a positive integer flag value. @throws naming the flag. */
export function positiveInt(name: string, value: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1) {
    throw new Error(`--${name}: expected a positive integer, got ${value}`);
  }
  return Number(value);
}

/** The runtime this bench runs on, and its version. */
export function runtimeInfo(): { name: RuntimeName; version: string } {
  const g = globalThis as { Deno?: { version: { deno: string } }; Bun?: { version: string } };
  if (g.Deno) return { name: "deno", version: g.Deno.version.deno };
  if (g.Bun) return { name: "bun", version: g.Bun.version };
  return { name: "node", version: process.versions.node };
}

/** A Redis URL without its password, for printing. */
export function redact(url: string): string {
  return url.replace(/\/\/([^@/]*)@/, "//***@");
}

/** Empties the bench's own private Redis between phases (never called on a REDIS_URL the user gave). */
export async function flushAll(url: string): Promise<void> {
  const c = Connection.fromUrl(url);
  try {
    await c.call(["FLUSHALL"]);
  } finally {
    await c.close();
  }
}

export const fmtRate = (v: number | undefined): string => v === undefined ? "—" : Math.round(v).toLocaleString("en-US");
export const pad = (s: string, w: number, right = false): string => right ? s.padStart(w) : s.padEnd(w);

/**
 * The median of each figure over rounds (each round measures every tool once, in turn, so a slow spell of this
 * shared machine lands on one round of each tool rather than on one tool). Keys missing from a round are skipped.
 */
export function medianFigures(rounds: Record<string, number>[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const key of new Set(rounds.flatMap((r) => Object.keys(r)))) {
    const values = rounds.map((r) => r[key]).filter((v) => typeof v === "number").sort((a, b) => a - b);
    const mid = values.length >> 1;
    out[key] = values.length % 2 ? values[mid] : (values[mid - 1] + values[mid]) / 2;
  }
  return out;
}
