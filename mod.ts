/**
 * rqts: Python RQ's job queue for Deno, Bun and Node, sharing RQ 1.13's Redis format.
 *
 * @example
 * ```ts
 * import { Queue } from "./mod.ts";
 * await using queue = new Queue("default");
 * const job = await queue.enqueue("./jobs.ts#add", 3, 4);
 * ```
 * @module
 */
import "./runtime/auto.ts";
export * from "./src/public.ts";
