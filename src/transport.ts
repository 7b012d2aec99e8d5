// No RQ counterpart (redis-py's Connection carries RQ's commands): the one interface rqts sends Redis commands
// through. Two implementations: rqts' own RESP3 client (resp.ts), for a redis:// URL rqts owns on runtimes with raw
// TCP, and node-redis (transport_node_redis.ts), for rediss:// and a caller's client. Connection picks one per
// connection; the worker's waits use the same interface on their dedicated connections.

/** One argument of a Redis command. */
export type RedisArg = string | Uint8Array;
/** A Redis command as its words: `["HSET", key, field, value]`. */
export type Command = RedisArg[];

/**
 * One Redis connection. Commands are pipelined: those sent in one tick go to Redis in one write, in order.
 *
 * Failures: an error reply rejects with a `RedisReplyError` (resp.ts). Every failure to reach Redis rejects with a
 * {@link RedisConnectionError} whose `maybeRan` says whether the command had been written when the connection
 * failed: false when it never left (no connection, a connect that failed, a closed transport), true when the
 * connection broke after it was written (Redis may or may not have run it).
 */
export interface Transport {
  /** Whether a connection is open (node-redis: or being re-opened by node-redis itself); if not, call connect(). */
  readonly isOpen: boolean;
  /** Opens the connection (once, however many callers ask at a time). Rejects with a RedisConnectionError. */
  connect(): Promise<void>;
  /** Sends one command; bulk replies as strings, or as bytes with `bytes`. */
  send(command: readonly RedisArg[], bytes?: boolean): Promise<unknown>;
  /**
   * MULTI, the commands, EXEC: resolves with their replies; rejects if any of them is an error. `commands` may be
   * iterated more than once (a transaction not sent is sent again), and is read as it is sent.
   */
  transaction(commands: Iterable<readonly RedisArg[]>): Promise<unknown[]>;
  /**
   * The connection's CLIENT ID (for CLIENT UNBLOCK from another connection): asked once per connection and cached.
   * Ask it before a blocking command on this connection: asked while one blocks, the answer waits behind it. A
   * caller may drop the promise (no unhandled rejection): a failure here is the connection's, which its commands say.
   */
  clientId(): Promise<number>;
  /**
   * Resolves once the commands sent so far (including those that promise callbacks under way at the call send) have
   * been written to the socket: what they change in Redis no longer depends on this process living on.
   */
  flushed(): Promise<void>;
  /** A new, unopened connection to the same Redis for blocking commands: it has no reply timeout. */
  duplicate(): Transport;
  /** Waits for the replies in flight, then closes the connection. Later commands fail. */
  close(): Promise<void>;
  /** Closes the connection now: commands in flight fail (maybeRan true); later commands fail. */
  destroy(): void;
}

/** A resolved promise, for "nothing to wait for" without an allocation. */
export const RESOLVED: Promise<void> = Promise.resolve();
