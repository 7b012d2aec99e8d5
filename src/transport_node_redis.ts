// No RQ counterpart (redis-py is RQ's only client): the Transport (transport.ts) over node-redis, for rediss:// URLs
// (TLS) and for a node-redis client the caller passes. The one place that knows node-redis: its client options, its
// blocking duplicates, when it writes, and which of its errors mean a lost connection.

import { Buffer } from "node:buffer";
import { setImmediate } from "node:timers";
import { RedisConnectionError } from "./errors.ts";
import { RedisReplyError } from "./resp.ts";
import type { RedisArg, Transport } from "./transport.ts";

/** What node-redis itself accepts as a command word. */
export type WireArg = string | Buffer;

/** The node-redis client shape rqts relies on (`createClient()` from the `redis` package). */
export interface RedisClient {
  readonly isOpen: boolean;
  readonly isReady: boolean;
  connect(): Promise<unknown>;
  sendCommand(args: WireArg[]): Promise<unknown>;
  withTypeMapping(mapping: Record<number, unknown>): RedisClient;
  multi(): { addCommand(args: WireArg[]): unknown; exec(): Promise<unknown[]> };
  duplicate(overrides?: { commandOptions?: { timeout?: number } }): RedisClient;
  close(): Promise<void>;
  destroy(): void;
  on(event: "error", listener: (error: Error) => void): unknown;
  on(event: "reconnecting", listener: () => void): unknown;
  subscribe(channel: string, listener: (message: string, channel: string) => void): Promise<void>;
}

/** TLS options for `rediss://` URLs, as Node's `tls.connect()` takes them (PEM strings). */
export interface TlsSettings {
  /** CA certificate(s) to trust, e.g. for a self-signed server. Default: the system's. */
  ca?: string | string[];
  /** Client certificate and key, when the server asks for one (`tls-auth-clients yes`). */
  cert?: string;
  key?: string;
  /** Default true. */
  rejectUnauthorized?: boolean;
  /** Server name to verify the certificate against. Default: the URL's host. */
  servername?: string;
}

// node-redis costs ~300 ms to import, so it is loaded on the first connect: horses and enqueue-only processes that
// never talk to Redis start fast.
type RedisModule = typeof import("redis");
let redisModule: Promise<RedisModule> | undefined;
/** The module once loaded: every command follows a connect, which loads it. */
let loaded: RedisModule | undefined;
const loadRedis = (): Promise<RedisModule> => redisModule ??= import("redis").then((m) => (loaded = m));

/** node-redis takes strings and Buffers only: view other byte arrays as Buffers (no copy). */
export function wireArgs(args: readonly RedisArg[]): WireArg[] {
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (typeof a !== "string" && !Buffer.isBuffer(a)) {
      const out: WireArg[] = [];
      for (const b of args) {
        out.push(typeof b === "string" || Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength));
      }
      return out;
    }
  }
  return args as WireArg[];
}

/** Socket error codes of a connection that broke under a command (which may have run). */
const BROKEN_CODES = new Set(["ECONNRESET", "EPIPE", "ETIMEDOUT", "EHOSTUNREACH"]);

/**
 * node-redis' errors as the Transport contract has them: a lost connection becomes a RedisConnectionError that says
 * whether the command had been written, an error reply a RedisReplyError; anything else is left as it is.
 */
function typed(error: unknown): unknown {
  const m = loaded;
  if (!m || !(error instanceof Error)) return error;
  if (error instanceof m.MultiErrorReply) {
    const replies = error.replies.map((r) => r instanceof m.ErrorReply ? new RedisReplyError(r.message) : r);
    const reply = new RedisReplyError((replies[error.errorIndexes[0]] as Error | undefined)?.message ?? error.message);
    reply.replies = replies;
    return reply;
  }
  if (error instanceof m.ErrorReply) return new RedisReplyError(error.message);
  const code = (error as { code?: unknown }).code;
  // Refused, offline (disableOfflineQueue: it fails at once while Redis is away) or closed: never sent.
  if (error instanceof m.ClientClosedError || error instanceof m.ClientOfflineError || code === "ECONNREFUSED") {
    return new RedisConnectionError(error.message, { cause: error, maybeRan: false });
  }
  // node-redis fails every command in flight or queued with the socket's error: they may have been written.
  if (
    error instanceof m.SocketClosedUnexpectedlyError || error instanceof m.SocketTimeoutError ||
    error instanceof m.ConnectionTimeoutError || error instanceof m.DisconnectsClientError ||
    (typeof code === "string" && BROKEN_CODES.has(code))
  ) {
    return new RedisConnectionError(error.message, { cause: error, maybeRan: true });
  }
  return error;
}

const rethrow = (error: unknown): never => {
  throw typed(error);
};

const immediate = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Where a NodeRedisTransport's client comes from. */
type Source =
  | { client: RedisClient }
  | { url: string; tls?: TlsSettings; reconnect?: boolean }
  | { parent: NodeRedisTransport };

/**
 * A Transport over one node-redis client: a caller's (never closed here), one created for a URL, or a duplicate for
 * blocking commands. Connects on {@link connect}; then node-redis reconnects by itself after a break, with backoff.
 */
export class NodeRedisTransport implements Transport {
  readonly #source: Source;
  #client: RedisClient | undefined;
  /** The same client with bulk replies as Buffers. */
  #bytes: RedisClient | undefined;
  #connecting: Promise<void> | undefined;
  /** Whether the client has connected once (then it reconnects by itself, with backoff). */
  #connectedOnce = false;
  #id: Promise<number> | undefined;
  #closed = false;

  constructor(source: Source) {
    this.#source = source;
    if ("client" in source) this.#client = source.client;
  }

  /** The node-redis client (string replies); undefined until the first connect for one this transport creates. */
  get client(): RedisClient | undefined {
    return this.#client;
  }

  /** Whether this transport has connected once and node-redis keeps the client open (reconnecting after a break). */
  get isOpen(): boolean {
    return this.#bytes !== undefined && this.#client!.isOpen;
  }

  /** Whether close() and destroy() end the client (not a caller's). */
  get #owned(): boolean {
    return !("client" in this.#source);
  }

  connect(): Promise<void> {
    if (this.#closed) return Promise.reject(new RedisConnectionError("The client is closed", { maybeRan: false }));
    return this.#connecting ??= this.#open().then(
      () => {
        this.#connecting = undefined;
        this.#connectedOnce = true;
      },
      (error) => {
        this.#connecting = undefined;
        throw new RedisConnectionError(String((error as Error)?.message || error), { cause: error, maybeRan: false });
      },
    );
  }

  async #open(): Promise<void> {
    const { createClient, RESP_TYPES } = await loadRedis();
    const source = this.#source;
    if (!this.#client && "url" in source) {
      const tls = source.tls;
      const reconnect = source.reconnect !== false;
      this.#client = createClient({
        url: source.url,
        // A command sent while Redis is away fails at once (a not-sent error) instead of queueing for ever.
        disableOfflineQueue: true,
        socket: {
          ...(tls ? { tls: true, ...tls } : {}),
          connectTimeout: 5000,
          // The first connection fails fast with a clear error; once connected, reconnect with backoff.
          // (`reconnect: false`: never; its owner opens a new one when it wants.)
          reconnectStrategy: (retries: number, cause: Error) =>
            this.#connectedOnce && reconnect ? Math.min(50 * 2 ** Math.min(retries, 6), 2000) : cause,
        },
      }) as unknown as RedisClient;
      this.#client.on("error", () => {/* surfaced through the failing command instead */});
    }
    if (!this.#client && "parent" in source) {
      const parent = source.parent;
      if (!parent.isOpen) await parent.connect();
      // No command timeout here: node-redis aborts any command after 5 s by default, which would cut short a
      // BLMOVE or XREAD BLOCK that is meant to wait longer.
      const client = parent.client!.duplicate({ commandOptions: { timeout: 0 } });
      // node-redis keeps retrying a connect that fails (its reconnect strategy): the first error ends this one, so a
      // wait started while Redis goes away fails (and is retried by its caller) instead of hanging.
      let failed!: (error: Error) => void;
      const failure = new Promise<never>((_, reject) => (failed = reject));
      failure.catch(() => {}); // later errors (a break while blocked) reach the command instead
      client.on("error", (error) => failed(error));
      try {
        await Promise.race([client.connect(), failure]);
      } catch (error) {
        if (client.isOpen) client.destroy();
        throw error;
      }
      this.#client = client;
    }
    const client = this.#client!;
    if (!client.isOpen) await client.connect();
    if (!this.#bytes) {
      this.#bytes = client.withTypeMapping({ [RESP_TYPES.BLOB_STRING]: Buffer });
      client.on("reconnecting", () => (this.#id = undefined)); // a new connection, with a new CLIENT ID
    }
  }

  send(command: readonly RedisArg[], bytes = false): Promise<unknown> {
    const client = bytes ? this.#bytes : this.#client;
    if (!client || !this.#bytes) return this.connect().then(() => this.send(command, bytes));
    return client.sendCommand(wireArgs(command)).then(undefined, rethrow);
  }

  transaction(commands: Iterable<readonly RedisArg[]>): Promise<unknown[]> {
    if (!this.#bytes) return this.connect().then(() => this.transaction(commands));
    const multi = this.#client!.multi();
    for (const c of commands) multi.addCommand(wireArgs(c));
    return multi.exec().then(undefined, rethrow);
  }

  /** CLIENT ID, asked once per connection. A caller may drop the promise (a failure is the connection's). */
  clientId(): Promise<number> {
    if (this.#id) return this.#id;
    const id = this.#id = this.send(["CLIENT", "ID"]).then(Number, (error) => {
      if (this.#id === id) this.#id = undefined;
      throw error;
    });
    id.catch(() => {});
    return id;
  }

  /**
   * node-redis writes what was queued on setImmediate (scheduled with the first command): after two turns of the check
   * phase, every write queued before this call, or by promise callbacks under way, has been made.
   */
  async flushed(): Promise<void> {
    await immediate();
    await immediate();
  }

  /** Whether the connection is up now (a subscriber that lost it, and does not reconnect, is not). */
  get isReady(): boolean {
    return !!this.#client?.isReady;
  }

  duplicate(): NodeRedisTransport {
    return new NodeRedisTransport({ parent: this });
  }

  /**
   * Subscribes this transport's own client (a URL's or a duplicate; never a caller's) to `channel`: node-redis puts
   * the connection in subscriber mode (and subscribes again after a reconnect, when it reconnects). {@link destroy}
   * ends the subscription.
   */
  async subscribe(channel: string, listener: (message: string) => void): Promise<void> {
    if (!this.#owned) throw new TypeError("subscribe: a caller's client cannot be put in subscriber mode.");
    await this.connect();
    await this.#client!.subscribe(channel, (message) => listener(message)).then(undefined, rethrow);
  }

  async close(): Promise<void> {
    if (!this.#owned) return; // a caller's client stays open
    this.#closed = true;
    await this.#connecting?.catch(() => {});
    if (this.#client?.isOpen) await this.#client.close();
  }

  destroy(): void {
    if (!this.#owned) return;
    this.#closed = true;
    if (this.#client?.isOpen) this.#client.destroy();
  }
}
