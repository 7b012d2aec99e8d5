// Shared setup for tests: a connection to the test Redis and a fresh queue name per test.
import { Connection, Queue, type QueueOptions } from "../mod.ts";
import { redisUrl, uniqueName } from "./_harness.ts";

/** A Queue with a unique name on the test Redis; closes its connection with `await using`. */
export async function freshQueue(options: Omit<QueueOptions, "connection"> = {}, prefix = "q"): Promise<Queue> {
  return new Queue(uniqueName(prefix), { ...options, connection: await redisUrl() });
}

/** A raw connection to the test Redis, for looking at keys directly. */
export async function rawConnection(): Promise<Connection> {
  return Connection.fromUrl(await redisUrl());
}
