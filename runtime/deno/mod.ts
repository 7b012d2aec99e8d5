// The Deno adapter: Deno.Command horses and Deno's own APIs behind the core's Runtime.
// Deno.Command has no IPC channel, so messages travel as JSON lines: worker → horse on stdin, horse → worker on
// stdout behind a per-horse marker; other stdout lines are the job's own output and go to the worker's stdout.
import type {
  ExitStatus,
  HorseMessage,
  HorseProcess,
  RawSocket,
  RawSocketHandlers,
  Runtime,
} from "../../src/runtime.ts";

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
    stdin: "piped";
    stdout: "piped";
    stderr: "inherit";
  }) => { spawn(): DenoChild };
  addSignalListener(signal: string, handler: () => void): void;
  removeSignalListener(signal: string, handler: () => void): void;
  exit(code: number): never;
  memoryUsage(): { rss: number };
  connect(options: { hostname: string; port: number; transport: "tcp" }): Promise<DenoConn>;
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
const encoder = new TextEncoder();

function writeAllSync(w: { writeSync(p: Uint8Array): number }, bytes: Uint8Array) {
  let off = 0;
  while (off < bytes.length) off += w.writeSync(bytes.subarray(off));
}

/** The chunks of a reader read directly (Deno.stdin.read: no stream machinery per chunk). */
async function* chunks(reader: { read(p: Uint8Array): Promise<number | null> }): AsyncGenerator<Uint8Array> {
  const buffer = new Uint8Array(64 * 1024);
  while (true) {
    const n = await reader.read(buffer);
    if (n === null) return;
    yield buffer.subarray(0, n);
  }
}

async function* lines(stream: AsyncIterable<Uint8Array>): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  // The pieces of the line being read: only each new chunk is searched, so a 50 MB message stays linear.
  let pieces: string[] = [];
  for await (const chunk of stream) {
    let text = decoder.decode(chunk, { stream: true });
    let nl: number;
    while ((nl = text.indexOf("\n")) >= 0) {
      pieces.push(text.slice(0, nl));
      yield pieces.join("");
      pieces = [];
      text = text.slice(nl + 1);
    }
    if (text) pieces.push(text);
  }
  if (pieces.length) yield pieces.join("");
}

/** Deno.connect behind the core's RawSocket: one read loop, writes chained so partial writes keep their order. */
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
  let writing: Promise<void> = Promise.resolve();
  return {
    write(bytes) {
      if (closed) return;
      writing = writing.then(async () => {
        let off = 0;
        while (off < bytes.length && !closed) off += await conn.write(off ? bytes.subarray(off) : bytes);
      }).catch((error) => finish(error));
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
    const marker = `\u001erqts:${crypto.randomUUID()}:`;
    const flags = options.permissions?.length ? options.permissions : ["--allow-all"];
    const v8 = options.maxHeapMb ? [`--v8-flags=--max-old-space-size=${options.maxHeapMb}`] : [];
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "--quiet", "--no-prompt", ...flags, ...v8, HORSE_ENTRY, MARKER_ARG + marker],
      cwd: options.cwd,
      env: options.env,
      stdin: "piped",
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    const listeners: ((m: HorseMessage) => void)[] = [];
    const writer = child.stdin.getWriter();
    let done = false;
    const exited: Promise<ExitStatus> = child.status.then((s) => {
      done = true;
      return { code: s.signal ? null : s.code, signal: s.signal };
    });
    void (async () => {
      for await (const line of lines(child.stdout)) {
        if (line.startsWith(marker)) {
          const message = JSON.parse(line.slice(marker.length)) as HorseMessage;
          for (const l of listeners) l(message);
        } else writeAllSync(Deno.stdout, encoder.encode(line + "\n"));
      }
    })().catch(() => {});
    return {
      pid: child.pid,
      send: (message) => {
        if (!done) writer.write(encoder.encode(JSON.stringify(message) + "\n")).catch(() => {});
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
    const closeListeners: (() => void)[] = [];
    return {
      send: (message) => {
        try {
          writeAllSync(Deno.stdout, encoder.encode(marker + JSON.stringify(message) + "\n"));
        } catch (error) {
          // The worker is gone (SIGKILLed): nobody reads the outcome; the horse ends as its channel closes.
          if ((error as Error)?.name !== "BrokenPipe") throw error;
        }
      },
      onMessage: (listener) => {
        void (async () => {
          for await (const line of lines(chunks(Deno.stdin))) {
            if (line) listener(JSON.parse(line) as HorseMessage);
          }
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
