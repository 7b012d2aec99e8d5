// No RQ counterpart (redis-py's Connection): a small pipelined RESP3 client, the Transport (transport.ts) of a
// redis:// URL rqts owns, over the raw socket the runtime adapter gives: the commands rqts sends on its hot paths
// (EVALSHA, MULTI/EXEC, single commands) and the worker's blocking waits. node-redis serves rediss:// URLs and callers'
// own clients (transport_node_redis.ts); this one exists because each node-redis round trip costs ~3x a raw one
// (command queue, per-command timers, tracing, and on Deno the node:net emulation), which is most of an enqueue and
// of a worker's time per job. Its replies are parsed by resp_parser.ts.

import { Buffer } from "node:buffer";
import { setImmediate } from "node:timers";
import { within } from "./deadline.ts";
import { RedisConnectionError } from "./errors.ts";
import { needed, parse, parseBytes, RedisReplyError, skip } from "./resp_parser.ts";
import type { RawSocket, Runtime } from "./runtime.ts";
import type { Transport } from "./transport.ts";

export { RedisReplyError };

/** An argument as it goes on the wire. */
export type RespArg = string | Uint8Array;

/** Where and as whom to connect. */
export interface RespTarget {
  host: string;
  port: number;
  username?: string;
  password?: string;
  db?: number;
}

/** A command that never left: the connection is closed, or was lost before the command's write. */
function notSent(message: string, cause?: unknown): RedisConnectionError {
  return new RedisConnectionError(message, { cause, maybeRan: false });
}

/** Milliseconds a connection attempt may take (node-redis's default connectTimeout). */
const CONNECT_TIMEOUT_MS = 5000;
/** A reply watchdog firing this much after it was due finds its process was stalled, not Redis: it looks again. */
const WATCHDOG_LATE_MS = 500;

/**
 * A promise waiting for its reply. `skip`: replies to pass over first (a transaction's +OK and +QUEUED ones, whose
 * first error is kept in `error`, since EXEC then only says EXECABORT).
 */
type Pending = {
  resolve(v: unknown): void;
  reject(e: Error): void;
  bytes: boolean;
  skip: number;
  sent: boolean;
  error?: RedisReplyError;
};

const CRLF = 0x0d;
/** The output buffer's starting size: a worker's writes fit. */
const OUT_BYTES = 16384;
/** A transaction this long is written in pieces of about this size as it is encoded (see #queue). */
const SPILL_BYTES = 1 << 16;
const encoder = new TextEncoder();

/** Parses the RESP `target` out of a `redis://` URL, or undefined when the URL is not one this client handles. */
export function respTarget(url: string): RespTarget | undefined {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return undefined;
  }
  if (u.protocol !== "redis:" || u.search || u.hash) return undefined;
  const host = u.hostname.replace(/^\[(.*)\]$/, "$1") || "127.0.0.1";
  const port = u.port ? Number(u.port) : 6379;
  const path = u.pathname.replace(/^\//, "");
  if (path && !/^\d+$/.test(path)) return undefined;
  return {
    host,
    port,
    username: u.username ? decodeURIComponent(u.username) : undefined,
    password: u.password ? decodeURIComponent(u.password) : undefined,
    db: path ? Number(path) : undefined,
  };
}

/**
 * A RESP3 connection that connects on first use and again after a break (never on its own: the next command does),
 * pipelines every command, and writes all commands issued in one tick in a single write.
 */
export class RespClient implements Transport {
  readonly #runtime: Runtime;
  readonly #target: RespTarget;
  #socket: RawSocket | undefined;
  #connecting: Promise<void> | undefined;
  /** CLIENT ID of the open socket, from its HELLO reply. */
  #id: Promise<number> | undefined;
  /** While a flush is scheduled and someone waits for it (see flushed): resolved by the flush. */
  #written: Promise<void> | undefined;
  #wrote: (() => void) | undefined;
  /** The socket's last write while it goes on after the call (Deno), for flushed(). */
  #writing: void | Promise<void> = undefined;
  #pending: Pending[] = [];
  #head = 0;
  #out: Uint8Array = new Uint8Array(OUT_BYTES);
  #outLen = 0;
  #flushScheduled = false;
  #unsent: Pending[] = [];
  /** Bytes received and not parsed yet, their total, and how many a complete reply needs at least. */
  #chunks: Uint8Array[] = [];
  #inLen = 0;
  #need = 0;
  #closed = false;
  #drained: (() => void) | undefined;

  /**
   * @param options.replyTimeoutMs How long replies may be due with no byte from Redis before the connection counts as
   *   broken (a hung server or a silent network): node-redis's default command timeout, 5 s. 0 = never (for
   *   dedicated connections that block on purpose).
   */
  constructor(runtime: Runtime, target: RespTarget, options: { replyTimeoutMs?: number } = {}) {
    this.#runtime = runtime;
    this.#target = target;
    this.#replyTimeoutMs = options.replyTimeoutMs ?? 5000;
  }

  // One timer, armed while replies are due and re-armed when it fires (not one per command): it breaks the connection
  // when nothing has come from Redis for replyTimeoutMs while replies are due, so no command waits for ever.
  readonly #replyTimeoutMs: number;
  #lastHeard = 0;
  #watchdog: ReturnType<typeof setTimeout> | undefined;

  #armWatchdog(ms: number): void {
    const due = Date.now() + ms;
    this.#watchdog = setTimeout(() => {
      this.#watchdog = undefined;
      if (this.#head >= this.#pending.length || !this.#socket) return;
      const now = Date.now();
      const quiet = now - this.#lastHeard;
      if (quiet < this.#replyTimeoutMs) return this.#armWatchdog(this.#replyTimeoutMs - quiet);
      // A timer this late means this process did not run for a while (a starved CPU, a long synchronous step): the
      // replies may be in the socket, unread, as timers run before I/O. Reading gets its turn before the verdict.
      if (now - due > WATCHDOG_LATE_MS) return this.#armWatchdog(WATCHDOG_LATE_MS);
      const socket = this.#socket;
      this.#onClosed(socket, new Error(`Socket timeout: no reply from Redis in ${this.#replyTimeoutMs / 1000} s`));
      socket.close();
    }, ms);
  }

  #stopWatchdog(): void {
    clearTimeout(this.#watchdog);
    this.#watchdog = undefined;
  }

  /** Whether a socket is open. */
  get isOpen(): boolean {
    return this.#socket !== undefined;
  }

  /**
   * Sends one command; bulk replies as strings, or as Buffers with `bytes`. Rejects with a RedisReplyError, or a
   * RedisConnectionError (see Transport).
   */
  send(args: readonly RespArg[], bytes = false): Promise<unknown> {
    if (this.#socket) return this.#queue([args], bytes);
    return this.#connect().then(() => this.#queue([args], bytes));
  }

  /** MULTI, the commands, EXEC: resolves with EXEC's replies; rejects if any of them is an error. */
  async transaction(commands: Iterable<readonly RespArg[]>): Promise<unknown[]> {
    if (!this.#socket) await this.#connect();
    const replies = await this.#queue(framed(commands), false) as unknown[] | null;
    if (!replies) throw new RedisReplyError("EXECABORT Transaction discarded");
    const failed = replies.find((r) => r instanceof RedisReplyError) as RedisReplyError | undefined;
    if (failed) {
      const error = new RedisReplyError(failed.message);
      error.replies = replies;
      throw error;
    }
    return replies;
  }

  /**
   * CLIENT ID of this connection: Redis says it in its HELLO reply, so this costs no round trip. A caller may drop the
   * promise: a failure here is the connection's, which its commands report.
   */
  clientId(): Promise<number> {
    if (this.#socket && this.#id) return this.#id;
    const id = this.#connect().then(() => this.#id!);
    id.catch(() => {});
    return id;
  }

  /**
   * Resolves once the commands sent so far are written. A scheduled write takes everything queued until it runs
   * (commands sent by promise callbacks after this call too); with none scheduled, one turn of the event loop lets
   * callbacks under way send theirs first.
   */
  flushed(): Promise<void> {
    if (this.#flushScheduled) return this.#written ??= new Promise((resolve) => (this.#wrote = resolve));
    if (this.#connecting) return this.#connecting.then(() => this.flushed(), () => {});
    return new Promise((resolve) =>
      setImmediate(() => resolve(this.#flushScheduled || this.#connecting ? this.flushed() : this.#writing))
    );
  }

  /** A new connection to the same Redis with no reply timeout, for commands that block on purpose. */
  duplicate(): RespClient {
    return new RespClient(this.#runtime, this.#target, { replyTimeoutMs: 0 });
  }

  /** Closes the socket now: replies in flight fail (maybeRan true); later commands fail. */
  destroy(): void {
    this.#closed = true;
    this.#stopWatchdog();
    this.#socket?.close();
  }

  /** Waits for replies in flight, then closes the socket. Later commands fail. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.#connecting?.catch(() => {});
    if (this.#pending.length > this.#head || this.#outLen) {
      await new Promise<void>((resolve) => (this.#drained = resolve));
    }
    this.#stopWatchdog();
    this.#socket?.close();
    this.#socket = undefined;
  }

  /**
   * Connects now (commands connect by themselves; this lets a caller tell a failed connect from a failed command).
   * A failed connect rejects with a RedisConnectionError (maybeRan false) whose message is the cause's.
   */
  connect(): Promise<void> {
    return this.#connect();
  }

  #connect(): Promise<void> {
    if (this.#closed) return Promise.reject(notSent("The client is closed"));
    return this.#connecting ??= this.#open().then(
      () => (this.#connecting = undefined),
      (error) => {
        this.#connecting = undefined;
        throw notSent(String((error as Error)?.message ?? error), error);
      },
    );
  }

  async #open(): Promise<void> {
    const connectTcp = this.#runtime.connectTcp!;
    let socket: RawSocket | undefined = undefined;
    const attempt = connectTcp({ host: this.#target.host, port: this.#target.port }, {
      // Only the current socket's bytes: a closed one's last chunk, delivered late (a read that completed as the
      // watchdog closed it), would otherwise be read as the replies of the next connection's commands.
      data: (chunk) => {
        if (socket !== undefined && this.#socket === socket) this.#onData(chunk);
      },
      closed: (error) => this.#onClosed(socket, error),
    });
    try {
      socket = await within(attempt, CONNECT_TIMEOUT_MS, (): never => {
        throw new Error("Connection timeout");
      });
    } catch (error) {
      void attempt.then((s) => s.close(), () => {});
      throw error;
    }
    this.#socket = socket;
    // RESP3, as node-redis speaks it: replies keep the same shapes (maps as objects, doubles as numbers).
    const { username, password, db } = this.#target;
    const hello: Promise<unknown>[] = [
      this.#queue(
        [password === undefined ? ["HELLO", "3"] : ["HELLO", "3", "AUTH", username || "default", password]],
        false,
      ),
    ];
    if (db) hello.push(this.#queue([["SELECT", String(db)]], false));
    try {
      const [reply] = await Promise.all(hello);
      this.#id = Promise.resolve(Number((reply as { id?: unknown })?.id));
    } catch (error) {
      socket.close();
      throw error;
    }
  }

  /** Queues commands whose last reply resolves the returned promise (the others are passed over). */
  #queue(commands: Iterable<readonly RespArg[]>, bytes: boolean): Promise<unknown> {
    if (this.#closed) return Promise.reject(notSent("The client is closed"));
    return new Promise((resolve, reject) => {
      const count = this.#encodeAll(commands, reject);
      if (count === 0) return;
      const p: Pending = { resolve, reject, bytes, skip: count - 1, sent: false };
      this.#pending.push(p);
      this.#unsent.push(p);
      // Written after the event loop's current round of I/O callbacks (not per microtask checkpoint): a worker that
      // hears from several horses at once sends their stores in one write, and Redis wakes once for them (A/B at
      // concurrency 4 on Node: ~6% more jobs/s; Deno and Bun unchanged).
      if (!this.#flushScheduled) {
        this.#flushScheduled = true;
        setImmediate(() => this.#flush());
      }
    });
  }

  /**
   * Encodes the commands into the output buffer; returns how many, or 0 when the list threw (then `reject` has its
   * error and nothing of it is left to send). A long transaction goes out in pieces while the rest is encoded, so
   * Redis reads and queues them meanwhile; its promise stays unsent until the piece with EXEC is written, as a
   * connection lost before that ran none of it.
   */
  #encodeAll(commands: Iterable<readonly RespArg[]>, reject: (error: unknown) => void): number {
    const start = this.#outLen;
    let count = 0, spilled = false;
    try {
      for (const command of commands) {
        this.#encode(command);
        count++;
        if (this.#outLen >= SPILL_BYTES && this.#socket) {
          this.#write();
          spilled = true;
        }
      }
      return count;
    } catch (error) {
      reject(error);
      // Since the last piece went out, the buffer holds only these commands.
      this.#outLen = spilled ? 0 : start;
      // Part of a transaction is out: closing the connection makes Redis drop it (commands in flight fail maybeRan).
      if (spilled && this.#socket) {
        const socket = this.#socket;
        this.#onClosed(socket, new Error("a transaction's commands could not be encoded"));
        socket.close();
      }
      return 0;
    }
  }

  #flush(): void {
    this.#flushScheduled = false;
    if (this.#outLen) this.#write();
    if (this.#wrote) {
      const wrote = this.#wrote;
      this.#wrote = this.#written = undefined;
      if (this.#writing) this.#writing.then(wrote);
      else wrote();
    }
  }

  #write(): void {
    const socket = this.#socket;
    // A large buffer is handed over whole (no copy) and a new one started; a small one is copied and kept.
    const large = this.#outLen >= SPILL_BYTES;
    const bytes = large ? this.#out.subarray(0, this.#outLen) : this.#out.slice(0, this.#outLen);
    // Sized for the next piece of a long transaction (no regrowth and copy on the way to SPILL_BYTES).
    if (large) this.#out = new Uint8Array(SPILL_BYTES + OUT_BYTES);
    this.#outLen = 0;
    const unsent = this.#unsent;
    this.#unsent = [];
    if (!socket) {
      for (const p of unsent) p.reject(notSent("The client is offline"));
    } else {
      for (const p of unsent) p.sent = true;
      // The clock starts when a reply becomes due, unless earlier ones already were.
      if (this.#pending.length - this.#head === unsent.length) this.#lastHeard = Date.now();
      if (this.#replyTimeoutMs && this.#watchdog === undefined) this.#armWatchdog(this.#replyTimeoutMs);
      this.#writing = socket.write(bytes);
    }
  }

  #reserve(n: number): void {
    if (this.#outLen + n <= this.#out.length) return;
    let size = this.#out.length * 2;
    while (size < this.#outLen + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.#out.subarray(0, this.#outLen));
    this.#out = next;
  }

  #ascii(text: string): void {
    this.#reserve(text.length);
    const out = this.#out;
    let pos = this.#outLen;
    for (let i = 0; i < text.length; i++) out[pos++] = text.charCodeAt(i);
    this.#outLen = pos;
  }

  /** Writes `<prefix><n>\r\n` (a RESP array or bulk-string header) with no string built: one per argument. */
  #header(prefix: number, n: number): void {
    if (this.#outLen + 24 > this.#out.length) this.#reserve(24);
    const out = this.#out;
    let pos = this.#outLen;
    out[pos++] = prefix;
    if (n < 10) out[pos++] = 48 + n;
    else if (n < 100) {
      out[pos++] = 48 + ((n / 10) | 0);
      out[pos++] = 48 + (n % 10);
    } else {
      const digits = String(n);
      for (let i = 0; i < digits.length; i++) out[pos++] = digits.charCodeAt(i);
    }
    out[pos++] = CRLF;
    out[pos++] = 0x0a;
    this.#outLen = pos;
  }

  /**
   * Writes a short string argument (under 256 chars) with its CRLF when it is ASCII; false (nothing written) otherwise.
   * One room check and one pass over the chars: most arguments of a bulk enqueue are these.
   */
  #asciiArg(arg: string): boolean {
    const n = arg.length;
    if (this.#outLen + n + 8 > this.#out.length) this.#reserve(n + 8);
    const out = this.#out;
    const start = this.#outLen;
    let pos = start;
    out[pos++] = 0x24; // $
    if (n >= 100) out[pos++] = 48 + ((n / 100) | 0);
    if (n >= 10) out[pos++] = 48 + (((n / 10) | 0) % 10);
    out[pos++] = 48 + (n % 10);
    out[pos++] = CRLF;
    out[pos++] = 0x0a;
    for (let i = 0; i < n; i++) {
      const c = arg.charCodeAt(i);
      if (c > 0x7f) return false; // this.#outLen unchanged: nothing written
      out[pos++] = c;
    }
    out[pos++] = CRLF;
    out[pos++] = 0x0a;
    this.#outLen = pos;
    return true;
  }

  #encode(args: readonly RespArg[]): void {
    this.#header(0x2a, args.length); // *
    for (const arg of args) {
      if (typeof arg === "string" && arg.length < 256 && this.#asciiArg(arg)) {
        continue; // most arguments (ids, keys, numbers, timestamps): no TextEncoder call; CRLF written
      }
      if (typeof arg === "string") {
        // Written first where it leaves room for the longest header, then moved up behind the real header.
        const max = arg.length > 4096 ? Buffer.byteLength(arg) : arg.length * 3;
        const room = String(max).length + 3;
        this.#reserve(room + max + 2);
        const start = this.#outLen + room;
        const { written } = encoder.encodeInto(arg, this.#out.subarray(start, start + max));
        const header = `$${written}\r\n`;
        if (header.length !== room) this.#out.copyWithin(this.#outLen + header.length, start, start + written);
        this.#ascii(header);
        this.#outLen += written;
      } else {
        this.#header(0x24, arg.byteLength);
        this.#reserve(arg.byteLength + 2);
        this.#out.set(arg, this.#outLen);
        this.#outLen += arg.byteLength;
      }
      // Room for the CRLF too: a short argument may end exactly at the buffer's end (writes past a typed array's end
      // are dropped, and the flush's slice then sent the command two bytes short, desyncing the connection).
      this.#reserve(2);
      this.#out[this.#outLen++] = CRLF;
      this.#out[this.#outLen++] = 0x0a;
    }
  }

  #onData(chunk: Uint8Array): void {
    if (this.#replyTimeoutMs) this.#lastHeard = Date.now();
    try {
      this.#read(chunk);
    } catch (error) {
      // A reply that is not RESP: nothing after it can be matched to its command any more.
      const socket = this.#socket;
      this.#onClosed(socket, error as Error);
      socket?.close();
    }
  }

  #read(chunk: Uint8Array): void {
    // Chunks wait until there are enough bytes for the reply being read: a 50 MB reply is joined once, not per chunk.
    this.#chunks.push(chunk);
    this.#inLen += chunk.length;
    if (this.#inLen < this.#need) return;
    const joined = this.#chunks.length === 1 ? this.#chunks[0] : Buffer.concat(this.#chunks, this.#inLen);
    const buf = Buffer.from(joined.buffer, joined.byteOffset, joined.byteLength);
    let pos = 0;
    this.#need = 0;
    while (this.#head < this.#pending.length) {
      const p = this.#pending[this.#head];
      const type = buf[pos];
      if (p.skip > 0 && type !== 0x2d && type !== 0x21 && type !== 0x3e) {
        const end = skip(buf, pos); // a reply passed over: not built
        if (end === undefined) {
          this.#need = needed() - pos;
          break;
        }
        pos = end;
        p.skip--;
        continue;
      }
      const parsed = p.bytes && p.skip === 0 ? parseBytes(buf, pos) : parse(buf, pos, false);
      if (parsed === undefined) {
        this.#need = needed() - pos;
        break;
      }
      pos = parsed.end;
      if (type === 0x3e) continue; // an out-of-band push (none is asked for): not a reply
      if (p.skip > 0) {
        p.skip--;
        p.error ??= parsed.value as RedisReplyError;
        continue;
      }
      this.#pending[this.#head++] = undefined as unknown as Pending;
      if (parsed.value instanceof RedisReplyError) p.reject(p.error ?? parsed.value);
      else p.resolve(parsed.value);
    }
    const rest = buf.subarray(pos);
    this.#chunks = rest.length ? [rest] : [];
    this.#inLen = rest.length;
    if (this.#head === this.#pending.length) {
      this.#pending = [];
      this.#head = 0;
      if (this.#drained && !this.#outLen) {
        this.#drained();
        this.#drained = undefined;
      }
    } else if (this.#head > 1024) {
      this.#pending = this.#pending.slice(this.#head);
      this.#head = 0;
    }
  }

  #onClosed(socket: RawSocket | undefined, error?: Error): void {
    if (socket === undefined || this.#socket !== socket) return;
    this.#socket = undefined;
    this.#id = undefined;
    this.#stopWatchdog();
    this.#chunks = [];
    this.#inLen = 0;
    this.#need = 0;
    const pending = this.#pending.slice(this.#head);
    this.#pending = [];
    this.#head = 0;
    const message = error?.message ? `Socket closed unexpectedly (${error.message})` : "Socket closed unexpectedly";
    for (const p of pending) {
      if (!p.sent) continue; // rejected as offline by the flush that finds no socket
      p.reject(new RedisConnectionError(message, { cause: error, maybeRan: true }));
    }
    if (this.#drained) {
      this.#drained();
      this.#drained = undefined;
    }
  }
}

/** MULTI, the commands, EXEC, without copying the list. */
function* framed(commands: Iterable<readonly RespArg[]>): Generator<readonly RespArg[]> {
  yield ["MULTI"];
  yield* commands;
  yield ["EXEC"];
}
