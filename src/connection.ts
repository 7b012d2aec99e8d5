// RQ's rq/connections.py: resolving the `connection` option, and the few Redis calls rqts makes, in one place.

import { Buffer } from "node:buffer";
import { DEFAULT_REDIS_URL } from "./defaults.ts";
import { RedisConnectionError } from "./errors.ts";
import { RespClient, type RespTarget, respTarget } from "./resp.ts";
import { getRuntime } from "./runtime.ts";

/** One argument of a Redis command. */
export type RedisArg = string | Uint8Array;
/** A Redis command as its words: `["HSET", key, field, value]`. */
export type Command = RedisArg[];
/** What node-redis itself accepts as a command word. */
export type WireArg = string | Buffer;

// node-redis costs ~300 ms to import, so it is loaded on the first command: horses and enqueue-only processes that
// never talk to Redis start fast.
type RedisModule = typeof import("redis");
let redisModule: Promise<RedisModule> | undefined;
const loadRedis = (): Promise<RedisModule> => redisModule ??= import("redis");

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
}

/** A dedicated connection for one blocking command at a time (see {@link Connection.blocking}). */
export interface BlockingClient {
  sendCommand(args: WireArg[]): Promise<unknown>;
  destroy(): void;
}

/**
 * Where a caller's `pipeline` option must accept commands: node-redis's `client.multi()` fits,
 * as does rqts's own {@link Pipeline}. The caller executes it.
 */
export interface PipelineLike {
  addCommand(args: WireArg[]): unknown;
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

// node-redis errors for a command that never reached Redis, and for a connection that broke under one.
const NOT_SENT = new Set(["The client is offline", "The client is closed"]);
const BROKEN =
  /^(Socket closed unexpectedly|Connection timeout|Socket timeout)|ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|EHOSTUNREACH/;

/** Errors of a connection attempt made for a command (so the command was not sent), once connected before. */
const reconnectFailures = new WeakSet<object>();

/** Whether `error` says Redis could not be reached (rather than Redis answering with an error). */
export function isConnectionError(error: unknown): boolean {
  if (error instanceof RedisConnectionError) return true;
  if (typeof error === "object" && error !== null && reconnectFailures.has(error)) return true;
  const message = String((error as Error)?.message ?? "");
  return NOT_SENT.has(message) || BROKEN.test(message) || BROKEN.test(String((error as { code?: string })?.code));
}

/** A Lua script run with EVALSHA, loaded on first NOSCRIPT. */
export class Script {
  #sha: Promise<string> | undefined;
  constructor(readonly source: string) {}
  sha(): Promise<string> {
    return this.#sha ??= crypto.subtle.digest("SHA-1", new TextEncoder().encode(this.source)).then((d) =>
      Array.from(new Uint8Array(d), (b) => b.toString(16).padStart(2, "0")).join("")
    );
  }
}

/** node-redis takes strings and Buffers only: view other byte arrays as Buffers (no copy). */
export function wireArgs(args: Command): WireArg[] {
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

/** The URL with its credentials hidden; up to the last `@`, since node-redis accepts an unencoded `@` in a password. */
function redactUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/).*@/is, "$1***@");
}

/**
 * A Redis connection as rqts uses it: string replies by default, Buffer replies where bytes matter.
 * Clients it created it closes on {@link close}; clients the caller passed it never closes.
 */
export class Connection {
  #client: RedisClient | undefined;
  #bytes: RedisClient | undefined;
  readonly #owned: boolean;
  readonly #label: string;
  readonly #url: string | undefined;
  readonly #settings: ConnectionSettings;
  #ready: Promise<RedisClient> | undefined;
  #everConnected = false;
  /** Whether the node-redis client has connected once (then it reconnects by itself, with backoff). */
  #clientConnected = false;
  /** The RESP client for non-blocking commands; null where node-redis does everything (TLS, a caller's client). */
  #fast: RespClient | null | undefined;
  #fastTarget: RespTarget | undefined;
  #blockingIdle: RedisClient[] = [];
  #fastBlockingIdle: RespClient[] = [];
  #fastBlockingAll = new Set<RespClient>();
  #blockingAll = new Set<RedisClient>();
  #closed = false;

  private constructor(
    client: RedisClient | undefined,
    owned: boolean,
    label: string,
    url?: string,
    settings: ConnectionSettings = {},
  ) {
    this.#client = client;
    this.#owned = owned;
    this.#label = label;
    this.#url = url;
    this.#settings = settings;
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
    if (!this.#client) {
      throw new RedisConnectionError(
        `The connection to ${this.#label} is not open yet; use 'await connection.ready()'.`,
      );
    }
    return this.#client;
  }

  /** Whether a connection to Redis is open now (they open on the first command and close on {@link close}). */
  get isOpen(): boolean {
    return Boolean(this.#fast?.isOpen || this.#client?.isOpen);
  }

  /** Whether {@link close} will close the client (it was created here, not passed in). */
  get owned(): boolean {
    return this.#owned;
  }

  /** Opens the connection if needed and gives the node-redis client. @throws {RedisConnectionError} */
  ready(): Promise<RedisClient> {
    const client = this.#client;
    if (client?.isOpen && this.#bytes) return Promise.resolve(client);
    if (this.#closed) return Promise.reject(new RedisConnectionError(`Connection to ${this.#label} is closed.`));
    return this.#ready ??= this.#open().finally(() => (this.#ready = undefined));
  }

  async #open(): Promise<RedisClient> {
    const { createClient, RESP_TYPES } = await loadRedis();
    if (!this.#client) {
      const tls = this.#settings.tls;
      this.#client = createClient({
        url: this.#url,
        // A command sent while Redis is away fails at once (see #guard) instead of queueing for ever.
        disableOfflineQueue: true,
        socket: {
          ...(tls ? { tls: true, ...tls } : {}),
          connectTimeout: 5000,
          // The first connection fails fast with a clear error; once connected, reconnect with backoff.
          reconnectStrategy: (retries: number, cause: Error) =>
            this.#clientConnected ? Math.min(50 * 2 ** Math.min(retries, 6), 2000) : cause,
        },
      }) as unknown as RedisClient;
      this.#client.on("error", () => {/* surfaced through the failing command instead */});
    }
    this.#bytes ??= this.#client.withTypeMapping({ [RESP_TYPES.BLOB_STRING]: Buffer });
    if (!this.#client.isOpen) {
      try {
        await this.#client.connect();
      } catch (error) {
        throw this.#cannotConnect(error);
      }
    }
    this.#everConnected = true;
    this.#clientConnected = true;
    return this.#client;
  }

  #cannotConnect(error: unknown): RedisConnectionError {
    const message = String((error as Error)?.message || error);
    const hint = /WRONGPASS|NOAUTH|invalid password|invalid username/i.test(message)
      ? `Check the password in the URL (redis://:password@host:port, or redis://user:password@host:port for ` +
        `an ACL user).`
      : /certificate|self.signed|SSL|TLS/i.test(message)
      ? `Pass the server's CA as { url, tls: { ca } }, or set NODE_EXTRA_CA_CERTS (Node, Bun) / DENO_CERT (Deno).`
      : `Start redis-server there, or pass another URL as 'connection' or in REDIS_URL.`;
    return new RedisConnectionError(`Cannot connect to Redis at ${this.#label} (${message}). ${hint}`, {
      cause: error,
    });
  }

  /** The RESP client when this Connection owns a plain `redis://` URL and the runtime gives raw sockets. */
  #fastClient(): RespClient | null {
    if (this.#fast !== undefined) return this.#fast;
    const runtime = getRuntime();
    this.#fastTarget = this.#owned && this.#url && runtime.connectTcp ? respTarget(this.#url) : undefined;
    return this.#fast = this.#fastTarget ? new RespClient(runtime, this.#fastTarget) : null;
  }

  /** Connects a RESP client; a failed connect is a "not sent" error (a RedisConnectionError the first time). */
  async #connectFast(fast: RespClient): Promise<void> {
    if (this.#closed) throw new RedisConnectionError(`Connection to ${this.#label} is closed.`);
    try {
      await fast.connect();
    } catch (error) {
      // The first connection fails with what to do; a later one is an outage (#guard: "unreachable, not sent").
      if (!this.#everConnected) throw this.#cannotConnect(error);
      const failure = error instanceof Error ? error : new Error(String(error));
      reconnectFailures.add(failure);
      throw failure;
    }
    this.#everConnected = true;
  }

  /**
   * Runs `send` and turns node-redis's connection failures into a {@link RedisConnectionError} that says whether the
   * command reached Redis. A command that was not sent is retried while `offlineWait` lasts.
   */
  async #guard<T>(send: () => Promise<T>): Promise<T> {
    const deadline = Date.now() + (this.#settings.offlineWait ?? 0) * 1000;
    while (true) {
      try {
        return await send();
      } catch (error) {
        if (!isConnectionError(error) || this.#closed) throw error;
        const message = String((error as Error)?.message ?? error);
        const notSent = NOT_SENT.has(message) || reconnectFailures.has(error as object) ||
          (error instanceof RedisConnectionError && !error.maybeRan) ||
          /ECONNREFUSED/.test(message);
        if (notSent && Date.now() < deadline) {
          await new Promise((r) => setTimeout(r, Math.min(250, Math.max(deadline - Date.now(), 1))));
          continue;
        }
        if (error instanceof RedisConnectionError) throw error;
        const waited = this.#settings.offlineWait ? ` after waiting ${this.#settings.offlineWait} s` : "";
        throw new RedisConnectionError(
          notSent
            ? `Redis at ${this.#label} is unreachable (${message}${waited}); the command was not sent. Retry once ` +
              `Redis is back, or pass { url, offlineWait: <seconds> } as 'connection' to wait for it.`
            : `The connection to Redis at ${this.#label} broke while a command was in flight (${message}); it may ` +
              `or may not have run.`,
          { cause: error, maybeRan: !notSent },
        );
      }
    }
  }

  /** Sends one command; bulk replies come back as strings. @throws {RedisConnectionError} when Redis is away. */
  call<T = unknown>(args: Command): Promise<T> {
    return this.#guard(async () => {
      const fast = this.#fastClient();
      if (fast) {
        if (!fast.isOpen) await this.#connectFast(fast);
        return await fast.send(args) as T;
      }
      const client = this.#client?.isOpen ? this.#client : await this.ready();
      return await client.sendCommand(wireArgs(args)) as T;
    });
  }

  /** Sends one command; bulk replies come back as bytes. @throws {RedisConnectionError} when Redis is away. */
  callBytes<T = unknown>(args: Command): Promise<T> {
    return this.#guard(async () => {
      const fast = this.#fastClient();
      if (fast) {
        if (!fast.isOpen) await this.#connectFast(fast);
        return await fast.send(args, true) as T;
      }
      if (!this.#client?.isOpen || !this.#bytes) await this.ready();
      return await this.#bytes!.sendCommand(wireArgs(args)) as T;
    });
  }

  /**
   * Runs commands in one MULTI/EXEC transaction (one round trip); returns their replies.
   * @throws {RedisConnectionError} when Redis is away.
   */
  transaction(commands: Command[]): Promise<unknown[]> {
    return this.#guard(async () => {
      const fast = this.#fastClient();
      if (fast) {
        if (!fast.isOpen) await this.#connectFast(fast);
        return await fast.transaction(commands);
      }
      const client = this.#client?.isOpen ? this.#client : await this.ready();
      const multi = client.multi();
      for (const c of commands) multi.addCommand(wireArgs(c));
      return await multi.exec();
    });
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

  /** Whether {@link blocking} hands out rqts' own RESP clients (an owned redis:// connection), not node-redis ones. */
  get blockingIsResp(): boolean {
    return this.#fastClient() !== null;
  }

  /**
   * Runs `fn` on a dedicated connection for blocking commands (XREAD BLOCK, BLMOVE), so they never stall
   * the shared one. Connections are pooled and reused.
   */
  async blocking<T>(fn: (client: BlockingClient) => Promise<T>): Promise<T> {
    if (this.#fastClient()) {
      // Dedicated RESP connections, as for every other command of an owned redis:// connection.
      let dedicated = this.#fastBlockingIdle.pop();
      if (!dedicated) {
        // No reply timeout: these connections block on purpose (the caller's own block time bounds each wait).
        dedicated = new RespClient(getRuntime(), this.#fastTarget!, { replyTimeoutMs: 0 });
        this.#fastBlockingAll.add(dedicated);
      }
      try {
        if (!dedicated.isOpen) await this.#connectFast(dedicated);
        return await fn(dedicated);
      } finally {
        if (this.#closed || !dedicated.isOpen) {
          this.#fastBlockingAll.delete(dedicated);
          dedicated.destroy();
        } else this.#fastBlockingIdle.push(dedicated);
      }
    }
    const client = await this.ready();
    let dedicated = this.#blockingIdle.pop();
    if (!dedicated) {
      // No command timeout here: node-redis aborts any command after 5 s by default, which would cut short a
      // BLMOVE or XREAD BLOCK that is meant to wait longer.
      dedicated = client.duplicate({ commandOptions: { timeout: 0 } });
      this.#blockingAll.add(dedicated);
      // node-redis keeps retrying a connect that fails (its reconnect strategy): the first error ends this one, so a
      // wait started while Redis goes away fails (and is retried by its caller) instead of hanging.
      let failed!: (error: Error) => void;
      const failure = new Promise<never>((_, reject) => (failed = reject));
      failure.catch(() => {}); // later errors (a break while blocked) reach the command instead
      dedicated.on("error", (error) => failed(error));
      try {
        await Promise.race([dedicated.connect(), failure]);
      } catch (error) {
        this.#blockingAll.delete(dedicated);
        try {
          dedicated.destroy();
        } catch { /* not open */ }
        throw error;
      }
    }
    try {
      return await fn(dedicated);
    } finally {
      if (this.#closed || !dedicated.isOpen) {
        this.#blockingAll.delete(dedicated);
        if (dedicated.isOpen) dedicated.destroy();
      } else this.#blockingIdle.push(dedicated);
    }
  }

  /** Closes the clients this Connection created. A caller's client is left open. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const c of this.#fastBlockingAll) c.destroy();
    this.#fastBlockingAll.clear();
    this.#fastBlockingIdle = [];
    for (const c of this.#blockingAll) if (c.isOpen) c.destroy();
    this.#blockingAll.clear();
    this.#blockingIdle = [];
    await this.#ready?.catch(() => {});
    await this.#fast?.close();
    if (this.#owned && this.#client?.isOpen) await this.#client.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/** Collects commands for one MULTI/EXEC; satisfies {@link PipelineLike}. */
export class Pipeline implements PipelineLike {
  readonly commands: Command[] = [];
  constructor(readonly connection: Connection) {}
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
