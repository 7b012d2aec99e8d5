// RQ's rq/connections.py: resolving the `connection` option, and the few Redis calls rqts makes, in one place.

import { DEFAULT_REDIS_URL } from "./defaults.ts";
import { RedisConnectionError } from "./errors.ts";
import { RespClient, respTarget } from "./resp.ts";
import { getRuntime } from "./runtime.ts";
import { type Command, type RedisArg, RESOLVED, type Transport } from "./transport.ts";
import { NodeRedisTransport, type RedisClient, type TlsSettings, type WireArg } from "./transport_node_redis.ts";
import { sleep } from "./utils.ts";

export type { Command, RedisArg, RedisClient, TlsSettings, Transport, WireArg };
export { wireArgs } from "./transport_node_redis.ts";

/**
 * Where a caller's `pipeline` option must accept commands: node-redis's `client.multi()` fits,
 * as does rqts's own {@link Pipeline}. The caller executes it.
 */
export interface PipelineLike {
  addCommand(args: WireArg[]): unknown;
}

/** A connection described by settings: the URL plus how to behave when Redis is away. */
export interface ConnectionSettings {
  /** Redis URL (`redis://[:password@]host:port[/db]`, `rediss://` for TLS). Default `REDIS_URL`, else the local one. */
  url?: string;
  /**
   * Seconds a command waits for Redis to come back while it is unreachable, then fails with a
   * {@link RedisConnectionError}. Default 0: fail at once, so a caller never hangs on a Redis that is down.
   */
  offlineWait?: number;
  /** TLS settings for `rediss://`. */
  tls?: TlsSettings;
}

/**
 * What every class accepts as `connection`: a Redis URL, {@link ConnectionSettings}, a node-redis client the
 * caller owns, a Connection to share, or nothing (`REDIS_URL`, else redis://127.0.0.1:6379).
 */
export type ConnectionOption = string | ConnectionSettings | RedisClient | Connection | undefined;

/** Whether `error` says Redis could not be reached (rather than Redis answering with an error). */
export function isConnectionError(error: unknown): boolean {
  return error instanceof RedisConnectionError;
}

/** Errors this Connection worded itself (the first connect's "Cannot connect ..."): thrown as they are. */
const worded = new WeakSet<Error>();

/** A Lua script run with EVALSHA, loaded on first NOSCRIPT. */
export class Script {
  readonly source: string;
  #sha: Promise<string> | undefined;
  constructor(source: string) {
    this.source = source;
  }
  sha(): Promise<string> {
    return this.#sha ??= crypto.subtle.digest("SHA-1", new TextEncoder().encode(this.source)).then((d) =>
      Array.from(new Uint8Array(d), (b) => b.toString(16).padStart(2, "0")).join("")
    );
  }
}

/** The URL with its credentials hidden; up to the last `@`, since node-redis accepts an unencoded `@` in a password. */
function redactUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/).*@/is, "$1***@");
}

/**
 * A Redis connection as rqts uses it: string replies by default, bytes where they matter. Commands go through one
 * {@link Transport}, picked on first use: rqts' own RESP3 client for a redis:// URL it owns on a runtime with raw
 * TCP, else node-redis (rediss://, a caller's client). Clients it created it closes on {@link close}; a client the
 * caller passed it never closes.
 */
/** A pub/sub subscription (see {@link Connection.subscribe}). */
export interface Subscription {
  /** Whether its connection is up (false once lost: messages published meanwhile are missed, as pub/sub's are). */
  readonly ready: boolean;
  /** Ends it. */
  close(): Promise<void>;
}

export class Connection {
  readonly #owned: boolean;
  readonly #label: string;
  readonly #url: string | undefined;
  readonly #settings: ConnectionSettings;
  /** Where commands go; undefined until the first one (owned connections). */
  #transport: Transport | undefined;
  /** node-redis: the transport where RESP does not serve, and the client {@link ready} gives (job callbacks get it). */
  #node: NodeRedisTransport | undefined;
  /** Dedicated connections for blocking commands (see {@link blocking}): all of them, and those not in use. */
  #dedicated = new Set<Transport>();
  #idle: Transport[] = [];
  #everConnected = false;
  #closed = false;

  private constructor(
    client: RedisClient | undefined,
    owned: boolean,
    label: string,
    url?: string,
    settings: ConnectionSettings = {},
  ) {
    this.#owned = owned;
    this.#label = label;
    this.#url = url;
    this.#settings = settings;
    if (client) this.#transport = this.#node = new NodeRedisTransport({ client });
  }

  /** Resolves the `connection` option: a URL, a client, a Connection to share, or `REDIS_URL`/the default. */
  static resolve(option: ConnectionOption): Connection {
    if (option instanceof Connection) return option;
    if (option === undefined || typeof option === "string") {
      const url = option ?? getRuntime().env("REDIS_URL") ?? DEFAULT_REDIS_URL;
      return Connection.fromUrl(url);
    }
    if (typeof option === "object" && option !== null && typeof (option as RedisClient).sendCommand === "function") {
      const url = (option as unknown as { options?: { url?: string } }).options?.url;
      return new Connection(option as RedisClient, false, "caller's client", url);
    }
    if (typeof option === "object" && option !== null && !Array.isArray(option)) {
      const settings = option as ConnectionSettings;
      return Connection.fromUrl(settings.url ?? getRuntime().env("REDIS_URL") ?? DEFAULT_REDIS_URL, settings);
    }
    throw new TypeError(
      `connection: expected a Redis URL string (e.g. "redis://127.0.0.1:6379"), settings such as { url, ` +
        `offlineWait }, a node-redis client from createClient(), or nothing (REDIS_URL, else ${DEFAULT_REDIS_URL}); ` +
        `received ${option === null ? "null" : typeof option}.`,
    );
  }

  /**
   * A Connection to `url` that owns its client. Nothing is loaded or sent until the first command.
   * @throws {TypeError} for a URL that is not redis:// or rediss://, or bad settings.
   */
  static fromUrl(url: string, settings: Omit<ConnectionSettings, "url"> = {}): Connection {
    if (typeof url !== "string" || !/^rediss?:\/\//.test(url)) {
      throw new TypeError(
        `connection: "${redactUrl(String(url))}" is not a Redis URL; use redis://host:port[/db] or rediss:// for TLS.`,
      );
    }
    const wait = settings.offlineWait ?? 0;
    if (typeof wait !== "number" || !(wait >= 0) || wait === Infinity) {
      throw new RangeError(
        `offlineWait: received ${String(wait)}; expected seconds >= 0 (0 = fail at once when Redis is unreachable).`,
      );
    }
    return new Connection(undefined, true, redactUrl(url), url, { ...settings, url });
  }

  /** The settings this Connection was made with (URL, offlineWait, tls); `{}` for a caller's client. */
  get settings(): ConnectionSettings {
    return this.#settings;
  }

  /** The Redis URL, when known (given, or the caller's client was made from one). */
  get url(): string | undefined {
    return this.#url;
  }

  /**
   * The node-redis client (string replies).
   * @throws {RedisConnectionError} before the first command; `await connection.ready()` gives it at any time.
   */
  get client(): RedisClient {
    const client = this.#node?.client;
    if (!client) {
      throw new RedisConnectionError(
        `The connection to ${this.#label} is not open yet; use 'await connection.ready()'.`,
      );
    }
    return client;
  }

  /** Whether a connection to Redis is open now (they open on the first command and close on {@link close}). */
  get isOpen(): boolean {
    return Boolean(this.#transport?.isOpen || this.#node?.client?.isOpen);
  }

  /** Whether {@link close} will close the client (it was created here, not passed in). */
  get owned(): boolean {
    return this.#owned;
  }

  /** Opens the connection if needed and gives the node-redis client. @throws {RedisConnectionError} */
  ready(): Promise<RedisClient> {
    const node = this.#nodeRedis();
    if (node.isOpen) return Promise.resolve(node.client!);
    return this.#connect(node, true).then(() => node.client!);
  }

  /** The node-redis transport: the caller's client, or one created for the URL (on first use). */
  #nodeRedis(): NodeRedisTransport {
    return this.#node ??= new NodeRedisTransport({ url: this.#url!, tls: this.#settings.tls });
  }

  /** Picks the transport, once: RESP for a plain redis:// URL this Connection owns where the runtime gives raw TCP. */
  #pick(): Transport {
    const runtime = getRuntime();
    const target = this.#owned && this.#url && runtime.connectTcp ? respTarget(this.#url) : undefined;
    return this.#transport = target ? new RespClient(runtime, target) : this.#nodeRedis();
  }

  /**
   * Connects a transport. The first connection ever fails with what to do ("Cannot connect ..."); a later failure is
   * an outage (the transport's "not sent" error), as is every failure with `worded`.
   */
  async #connect(transport: Transport, worded = false): Promise<void> {
    if (this.#closed) throw new RedisConnectionError(`Connection to ${this.#label} is closed.`);
    try {
      await transport.connect();
    } catch (error) {
      if (!this.#everConnected || worded) throw this.#cannotConnect(error);
      throw error;
    }
    this.#everConnected = true;
  }

  #cannotConnect(error: unknown): RedisConnectionError {
    const message = String((error as Error)?.message || error);
    const hint = /WRONGPASS|NOAUTH|invalid password|invalid username/i.test(message)
      ? `Check the password in the URL (redis://:password@host:port, or redis://user:password@host:port for ` +
        `an ACL user).`
      : /certificate|self.signed|SSL|TLS/i.test(message)
      ? `Pass the server's CA as { url, tls: { ca } }, or set NODE_EXTRA_CA_CERTS (Node, Bun) / DENO_CERT (Deno).`
      : `Start redis-server there, or pass another URL as 'connection' or in REDIS_URL.`;
    const failure = new RedisConnectionError(`Cannot connect to Redis at ${this.#label} (${message}). ${hint}`, {
      cause: error,
    });
    worded.add(failure);
    return failure;
  }

  /**
   * Sends a command (or with `commands`, a transaction) through the transport, connecting it first if needed. A
   * command that was not sent is retried while `offlineWait` lasts; a lost connection becomes a
   * {@link RedisConnectionError} that names this connection and says whether the command may have run.
   */
  async #send(
    command: readonly RedisArg[],
    bytes: boolean,
    commands?: Iterable<readonly RedisArg[]>,
  ): Promise<unknown> {
    let since = 0;
    while (true) {
      const transport = this.#transport ?? this.#pick();
      try {
        if (!transport.isOpen) {
          since ||= Date.now();
          await this.#connect(transport);
        }
        return await (commands ? transport.transaction(commands) : transport.send(command, bytes));
      } catch (error) {
        await this.#failed(error, since ||= Date.now());
      }
    }
  }

  /** After a failed send: returns when it is to be tried again, else throws what the caller gets. */
  async #failed(error: unknown, since: number): Promise<void> {
    if (!(error instanceof RedisConnectionError) || this.#closed) throw error;
    const wait = this.#settings.offlineWait ?? 0;
    const deadline = since + wait * 1000;
    const now = Date.now();
    if (!error.maybeRan && now < deadline) return await sleep(Math.min(250, Math.max(deadline - now, 1)));
    if (worded.has(error)) throw error;
    const waited = wait ? ` after waiting ${wait} s` : "";
    throw new RedisConnectionError(
      error.maybeRan
        ? `The connection to Redis at ${this.#label} broke while a command was in flight (${error.message}); it may ` +
          `or may not have run.`
        : `Redis at ${this.#label} is unreachable (${error.message}${waited}); the command was not sent. Retry once ` +
          `Redis is back, or pass { url, offlineWait: <seconds> } as 'connection' to wait for it.`,
      { cause: error, maybeRan: error.maybeRan },
    );
  }

  /**
   * Subscribes to a pub/sub channel on a connection of its own (node-redis); `listener` gets each message as text. The
   * subscription ends with its connection: a subscriber on a URL does not reconnect (its owner subscribes again when
   * Redis is back, see {@link Subscription.ready}); one duplicated from a caller's client reconnects as that client
   * does. Resolves once subscribed.
   * @throws {RedisConnectionError} when Redis cannot be reached.
   */
  async subscribe(channel: string, listener: (message: string) => void): Promise<Subscription> {
    if (this.#closed) throw new RedisConnectionError(`Connection to ${this.#label} is closed.`);
    const sub = new NodeRedisTransport(
      this.#node ? { parent: this.#node } : { url: this.#url!, tls: this.#settings.tls, reconnect: false },
    );
    try {
      await sub.subscribe(channel, listener);
    } catch (error) {
      sub.destroy();
      throw error;
    }
    return {
      get ready() {
        return sub.isReady;
      },
      // Destroyed, not closed: a subscriber has nothing to flush, and a close waits for a Redis that may be away.
      close: () => Promise.resolve(sub.destroy()),
    };
  }

  /** Sends one command; bulk replies come back as strings. @throws {RedisConnectionError} when Redis is away. */
  call<T = unknown>(args: Command): Promise<T> {
    return this.#send(args, false) as Promise<T>;
  }

  /** Sends one command; bulk replies come back as bytes. @throws {RedisConnectionError} when Redis is away. */
  callBytes<T = unknown>(args: Command): Promise<T> {
    return this.#send(args, true) as Promise<T>;
  }

  /**
   * Runs commands in one MULTI/EXEC transaction (one round trip); returns their replies. `commands` is read as it is
   * sent, and read again if the transaction is sent again (a connection lost before it went out).
   * @throws {RedisConnectionError} when Redis is away.
   */
  transaction(commands: Iterable<Command>): Promise<unknown[]> {
    return this.#send(["MULTI"], false, commands) as Promise<unknown[]>;
  }

  /** Runs a Lua script (EVALSHA, loading it on NOSCRIPT). */
  async eval<T = unknown>(script: Script, keys: RedisArg[], args: RedisArg[], bytes = false): Promise<T> {
    const sha = await script.sha();
    const words = (op: string, head: string): Command => [op, head, String(keys.length), ...keys, ...args];
    try {
      return await (bytes ? this.callBytes<T>(words("EVALSHA", sha)) : this.call<T>(words("EVALSHA", sha)));
    } catch (error) {
      if (!String((error as Error)?.message).startsWith("NOSCRIPT")) throw error;
      return await (bytes
        ? this.callBytes<T>(words("EVAL", script.source))
        : this.call<T>(words("EVAL", script.source)));
    }
  }

  /**
   * Resolves once the commands given to this Connection so far are written to the socket (so what they do in Redis
   * no longer depends on this process living on).
   */
  flushed(): Promise<void> {
    return this.#transport?.flushed() ?? RESOLVED;
  }

  /**
   * Runs `fn` on a dedicated connection for blocking commands (XREAD BLOCK, BLMOVE), so they never stall
   * the shared one. Connections are pooled and reused; one that broke is dropped.
   */
  async blocking<T>(fn: (transport: Transport) => Promise<T>): Promise<T> {
    let dedicated = this.#idle.pop();
    if (!dedicated) {
      dedicated = (this.#transport ?? this.#pick()).duplicate();
      this.#dedicated.add(dedicated);
    }
    try {
      if (!dedicated.isOpen) await this.#connect(dedicated);
      return await fn(dedicated);
    } finally {
      if (this.#closed || !dedicated.isOpen) {
        this.#dedicated.delete(dedicated);
        dedicated.destroy();
      } else this.#idle.push(dedicated);
    }
  }

  /** Closes the clients this Connection created. A caller's client is left open. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const t of this.#dedicated) t.destroy();
    this.#dedicated.clear();
    this.#idle = [];
    await this.#transport?.close();
    if (this.#node && this.#node !== this.#transport) await this.#node.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/** Collects commands for one MULTI/EXEC; satisfies {@link PipelineLike}. */
export class Pipeline implements PipelineLike {
  readonly connection: Connection;
  readonly commands: Command[] = [];
  constructor(connection: Connection) {
    this.connection = connection;
  }
  addCommand(args: Command | WireArg[]): this {
    this.commands.push(args);
    return this;
  }
  /** Executes the collected commands in one transaction and clears them. */
  async exec(): Promise<unknown[]> {
    const commands = this.commands.splice(0);
    return commands.length ? await this.connection.transaction(commands) : [];
  }
}

/** Runs `f` on the Connection `option` resolves to, closing it after when it was made here (a URL, settings). */
export async function withConnection<T>(option: ConnectionOption, f: (c: Connection) => Promise<T>): Promise<T> {
  const connection = Connection.resolve(option);
  try {
    return await f(connection);
  } finally {
    if (connection !== option) await connection.close();
  }
}
