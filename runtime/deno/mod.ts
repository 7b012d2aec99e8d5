// The Deno adapter: Deno.Command horses and Deno's own APIs behind the core's Runtime.
// Deno.Command has no IPC channel, so messages travel as JSON lines, by one of two routes:
// - a Unix socket (the default): the worker listens on an abstract socket (no file; it goes with the process), each
//   horse connects and names itself with its marker; the horse's stdout and stderr are the worker's. About a tenth
//   less CPU per job than stdio: Deno reads stdin on a blocking thread (a thread hop per message) and a child's
//   stdout through the streams machinery.
// - stdio, when horses run with the operator's --horse-permissions (the socket needs net access to connect) or the
//   worker may not listen: worker → horse on stdin, horse → worker on stdout behind the marker; other stdout lines
//   are the job's own output and go to the worker's stdout.
import {
  afterChannelEnd,
  type ExitStatus,
  type HorseChannel,
  type HorseMessage,
  type HorseProcess,
  type RawSocket,
  type RawSocketHandlers,
  type Runtime,
} from "../../src/runtime.ts";
import { lineSplitter } from "../lines.ts";

// The slice of the Deno namespace this adapter uses, typed here so the npm build (tsc, no Deno types) compiles it.
interface DenoChild {
  pid: number;
  stdin: WritableStream<Uint8Array>;
  stdout: ReadableStream<Uint8Array>;
  status: Promise<{ code: number; signal: string | null }>;
  kill(signal: string): void;
}
interface DenoApi {
  version: { deno: string };
  env: { get(name: string): string | undefined };
  cwd(): string;
  hostname(): string;
  pid: number;
  args: string[];
  execPath(): string;
  stdout: { writeSync(p: Uint8Array): number };
  stdin: { read(p: Uint8Array): Promise<number | null> };
  Command: new (cmd: string, options: {
    args: string[];
    cwd: string;
    env: Record<string, string>;
    stdin: "piped" | "null";
    stdout: "piped" | "inherit";
    stderr: "inherit";
  }) => { spawn(): DenoChild };
  addSignalListener(signal: string, handler: () => void): void;
  removeSignalListener(signal: string, handler: () => void): void;
  exit(code: number): never;
  memoryUsage(): { rss: number };
  connect(options: { hostname: string; port: number; transport: "tcp" }): Promise<DenoConn>;
  connect(options: { path: string; transport: "unix" }): Promise<DenoConn>;
  listen(options: { path: string; transport: "unix" }): AsyncIterable<DenoConn> & { unref(): void };
  permissions: { querySync(descriptor: { name: "net" }): { state: string } };
}
interface DenoConn {
  read(p: Uint8Array): Promise<number | null>;
  write(p: Uint8Array): Promise<number>;
  setNoDelay(noDelay?: boolean): void;
  close(): void;
}
const Deno = (globalThis as unknown as { Deno: DenoApi }).Deno;

// Horses run this adapter's horse entry, next to this file (horse.ts from source, horse.js in the npm package).
const HORSE_ENTRY = new URL(import.meta.url.endsWith(".ts") ? "./horse.ts" : "./horse.js", import.meta.url).href;
// The channel marker travels as the horse's first argument, not in its environment, so a horse needs no
// --allow-env: the operator's --horse-permissions alone decide what jobs may do.
const MARKER_ARG = "--rqts-horse-marker=";
// The worker's abstract socket name (without its leading NUL, which an argument cannot carry), for socket horses.
const SOCKET_ARG = "--rqts-horse-socket=";
const encoder = new TextEncoder();

function writeAllSync(w: { writeSync(p: Uint8Array): number }, bytes: Uint8Array) {
  let off = 0;
  while (off < bytes.length) off += w.writeSync(bytes.subarray(off));
}

/** Reads `reader` to its end into `sink`, directly (Deno.stdin, a Deno.Conn: no stream machinery per chunk). */
async function readAll(
  reader: { read(p: Uint8Array): Promise<number | null> },
  sink: ReturnType<typeof lineSplitter>,
): Promise<void> {
  const buffer = new Uint8Array(64 * 1024);
  while (true) {
    const n = await reader.read(buffer);
    if (n === null) break;
    sink.push(buffer.subarray(0, n));
  }
  sink.end();
}

/**
 * Writes to a connection in order (a write may be partial); each call resolves once its bytes are written (or
 * dropped). A failed write calls `onError` and drops the rest.
 */
function inOrder(conn: DenoConn, onError: (error: Error) => void): (bytes: Uint8Array) => Promise<void> {
  let writing: Promise<void> = Promise.resolve();
  let failed = false;
  return (bytes) => {
    if (failed) return Promise.resolve();
    writing = writing.then(async () => {
      let off = 0;
      while (off < bytes.length && !failed) off += await conn.write(off ? bytes.subarray(off) : bytes);
    }).catch((error) => {
      if (failed) return;
      failed = true;
      onError(error);
    });
    return writing;
  };
}

/** Closes `conn`, which its reader may have closed already (a write failing after the peer went away). */
function closeQuietly(conn: DenoConn): void {
  try {
    conn.close();
  } catch { /* already closed */ }
}

/** Calls `onMessage` for each JSON line read from `conn`, then `onEnd` once it ends (and closes it). */
function readMessages(conn: DenoConn, onMessage: (m: HorseMessage) => void, onEnd: () => void): void {
  void (async () => {
    try {
      await readAll(conn, lineSplitter((line) => line && onMessage(JSON.parse(line) as HorseMessage)));
    } catch { /* broken connection: the same as its end */ }
    closeQuietly(conn);
    onEnd();
  })();
}

/**
 * The worker's end of the horse sockets, made on first use: one listener on an abstract Unix socket. A horse's
 * first line is its marker (a random UUID the worker gave it), which says which horse it is; a connection with
 * another first line is dropped. `null` when this worker may not listen (no unscoped --allow-net): horses use stdio.
 */
let horseListener: { name: string; waiting: Map<string, (conn: DenoConn) => void> } | null | undefined;
function listenForHorses(): typeof horseListener {
  if (horseListener !== undefined) return horseListener;
  try {
    // Only with net access already granted: asking would prompt on a terminal.
    if (Deno.permissions.querySync({ name: "net" }).state !== "granted") return horseListener = null;
    const name = `rqts-${Deno.pid}-${crypto.randomUUID()}`;
    const listener = Deno.listen({ path: "\0" + name, transport: "unix" });
    listener.unref(); // an idle listener does not keep the worker alive
    const waiting = new Map<string, (conn: DenoConn) => void>();
    horseListener = { name, waiting };
    void (async () => {
      for await (const conn of listener) void identify(conn, waiting).catch(() => conn.close());
    })().catch(() => {});
  } catch {
    horseListener = null;
  }
  return horseListener;
}

/** A horse's marker: the same length for every horse, so a socket horse's first line is read exactly. */
const newMarker = () => `\u001erqts:${crypto.randomUUID()}:`;
const MARKER_LINE_BYTES = newMarker().length + 1;

/** Reads a horse's marker line (and nothing after it: its first message follows) and hands `conn` over. */
async function identify(conn: DenoConn, waiting: Map<string, (conn: DenoConn) => void>): Promise<void> {
  const line = new Uint8Array(MARKER_LINE_BYTES);
  let got = 0;
  while (got < line.length) {
    const n = await conn.read(line.subarray(got));
    if (n === null) return conn.close();
    got += n;
  }
  const marker = new TextDecoder().decode(line.subarray(0, -1));
  const take = line[line.length - 1] === 10 ? waiting.get(marker) : undefined;
  waiting.delete(marker);
  if (take) take(conn);
  else conn.close();
}

/** The horse's side of a socket channel: connects, names itself, then sends and receives JSON lines. */
function socketChannel(name: string, marker: string): HorseChannel {
  const messageListeners: ((m: HorseMessage) => void)[] = [];
  const closeListeners: (() => void)[] = [];
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    for (const l of closeListeners) l();
  };
  let write: ((bytes: Uint8Array) => Promise<void>) | undefined;
  // Until connected, sends wait for this (in order: reactions run in the order they were added).
  const connected = Deno.connect({ path: "\0" + name, transport: "unix" }).then((conn) => {
    const w = inOrder(conn, () => closeQuietly(conn));
    void w(encoder.encode(marker + "\n"));
    readMessages(conn, (m) => {
      for (const l of messageListeners) l(m);
    }, close);
    return write = w;
  }, () => {
    close();
    return undefined;
  });
  return {
    send: (message) => {
      const bytes = encoder.encode(JSON.stringify(message) + "\n");
      return write ? write(bytes) : connected.then((w) => w?.(bytes));
    },
    onMessage: (listener) => void messageListeners.push(listener),
    onClose: (listener) => void closeListeners.push(listener),
  };
}

/** Deno.connect behind the core's RawSocket: one read loop, writes in order. */
async function connectTcp(target: { host: string; port: number }, handlers: RawSocketHandlers): Promise<RawSocket> {
  const conn = await Deno.connect({ hostname: target.host, port: target.port, transport: "tcp" });
  conn.setNoDelay(true);
  let closed = false;
  const finish = (error?: Error) => {
    if (closed) return;
    closed = true;
    try {
      conn.close();
    } catch { /* already closed */ }
    handlers.closed(error);
  };
  void (async () => {
    const buffer = new Uint8Array(64 * 1024);
    try {
      while (!closed) {
        const n = await conn.read(buffer);
        if (n === null) break;
        handlers.data(buffer.slice(0, n));
      }
      finish();
    } catch (error) {
      finish(closed ? undefined : error as Error);
    }
  })();
  const write = inOrder(conn, (error) => finish(error));
  return {
    write(bytes) {
      if (!closed) write(bytes);
    },
    close: () => finish(),
  };
}

export const denoRuntime: Runtime = {
  connectTcp,
  name: "deno",
  version: Deno.version.deno,
  env(name) {
    try {
      return Deno.env.get(name);
    } catch {
      return undefined; // no --allow-env for this name
    }
  },
  cwd: () => Deno.cwd(),
  hostname: () => Deno.hostname(),
  pid: () => Deno.pid,
  args: () => [...Deno.args],
  importModule: (specifier) => import(specifier),
  spawnHorse(options): HorseProcess {
    const marker = newMarker();
    const flags = options.permissions?.length ? options.permissions : ["--allow-all"];
    const v8 = options.maxHeapMb ? [`--v8-flags=--max-old-space-size=${options.maxHeapMb}`] : [];
    // Horses with the operator's permissions may lack the net access the socket needs: they use stdio.
    const socket = options.permissions?.length ? null : listenForHorses();
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--quiet",
        "--no-prompt",
        ...flags,
        ...v8,
        HORSE_ENTRY,
        MARKER_ARG + marker,
        ...(socket ? [SOCKET_ARG + socket.name] : []),
      ],
      cwd: options.cwd,
      env: options.env,
      stdin: socket ? "null" : "piped",
      stdout: socket ? "inherit" : "piped",
      stderr: "inherit",
    }).spawn();
    const listeners: ((m: HorseMessage) => void)[] = [];
    const deliver = (message: HorseMessage) => {
      for (const l of listeners) l(message);
    };
    let done = false;
    let channelEnded!: () => void;
    const channelEnd = new Promise<void>((resolve) => (channelEnded = resolve));
    const exited: Promise<ExitStatus> = afterChannelEnd(
      child.status.then((s) => {
        done = true;
        socket?.waiting.delete(marker);
        return { code: s.signal ? null : s.code, signal: s.signal };
      }),
      channelEnd,
    );
    let write: (bytes: Uint8Array) => void;
    if (socket) {
      // Until the horse connects, messages wait here.
      const queued: Uint8Array[] = [];
      write = (bytes) => void queued.push(bytes);
      socket.waiting.set(marker, (conn) => {
        const w = inOrder(conn, () => closeQuietly(conn));
        write = (bytes) => void w(bytes);
        for (const bytes of queued) write(bytes);
        queued.length = 0;
        readMessages(conn, deliver, channelEnded);
      });
    } else {
      const writer = child.stdin.getWriter();
      write = (bytes) => void writer.write(bytes).catch(() => {});
      const sink = lineSplitter((line) => {
        if (line.startsWith(marker)) deliver(JSON.parse(line.slice(marker.length)) as HorseMessage);
        else writeAllSync(Deno.stdout, encoder.encode(line + "\n"));
      });
      void (async () => {
        for await (const chunk of child.stdout) sink.push(chunk);
        sink.end();
      })().catch(() => {}).finally(channelEnded);
    }
    return {
      pid: child.pid,
      send: (message) => {
        if (!done) write(encoder.encode(JSON.stringify(message) + "\n"));
      },
      onMessage: (listener) => void listeners.push(listener),
      exited,
      kill: (signal) => {
        if (done) return;
        try {
          child.kill(signal);
        } catch { /* already gone */ }
      },
    };
  },
  horseChannel() {
    const marker = Deno.args.find((a) => a.startsWith(MARKER_ARG))?.slice(MARKER_ARG.length);
    if (!marker) throw new Error("rqts: this process was not started as a horse (no channel marker).");
    const socket = Deno.args.find((a) => a.startsWith(SOCKET_ARG))?.slice(SOCKET_ARG.length);
    if (socket) return socketChannel(socket, marker);
    const closeListeners: (() => void)[] = [];
    return {
      send: (message) => {
        try {
          writeAllSync(Deno.stdout, encoder.encode(marker + JSON.stringify(message) + "\n"));
        } catch (error) {
          // The worker is gone (SIGKILLed): nobody reads the outcome; the horse ends as its channel closes.
          if ((error as Error)?.name !== "BrokenPipe") throw error;
        }
        return Promise.resolve();
      },
      onMessage: (listener) => {
        void (async () => {
          await readAll(Deno.stdin, lineSplitter((line) => line && listener(JSON.parse(line) as HorseMessage)));
          for (const l of closeListeners) l(); // the worker closed our stdin: it is gone
        })();
      },
      onClose: (listener) => void closeListeners.push(listener),
    };
  },
  onSignal(signal, handler) {
    Deno.addSignalListener(signal, handler);
    return () => Deno.removeSignalListener(signal, handler);
  },
  exit: (code) => Deno.exit(code),
  rss: () => Deno.memoryUsage().rss,
};
