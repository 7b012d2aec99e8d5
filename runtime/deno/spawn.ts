// The Deno adapter's horses: Deno.Command children running this adapter's horse entry. Deno.Command has no IPC
// channel, so messages travel as JSON lines over a Unix socket (socket_channel.ts, the default) or stdio
// (stdio_channel.ts).
import {
  afterChannelEnd,
  type ExitStatus,
  type HorseChannel,
  type HorseMessage,
  type HorseProcess,
  type SpawnHorseOptions,
} from "../../src/runtime.ts";
import { Deno, encoder } from "./deno_api.ts";
import { listenForHorses, newMarker, socketChannel, workerSocketEnd } from "./socket_channel.ts";
import { stdioChannel, workerStdioEnd } from "./stdio_channel.ts";

// Horses run this adapter's horse entry, next to this file (horse.ts from source, horse.js in the npm package).
const HORSE_ENTRY = new URL(import.meta.url.endsWith(".ts") ? "./horse.ts" : "./horse.js", import.meta.url).href;
// The channel marker travels as the horse's first argument, not in its environment, so a horse needs no
// --allow-env: the operator's --horse-permissions alone decide what jobs may do.
const MARKER_ARG = "--rqts-horse-marker=";
// The worker's abstract socket name (without its leading NUL, which an argument cannot carry), for socket horses.
const SOCKET_ARG = "--rqts-horse-socket=";

/** Starts a horse (the worker's side). */
export function spawnHorse(options: SpawnHorseOptions): HorseProcess {
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
  const write = socket
    ? workerSocketEnd(socket, marker, deliver, channelEnded)
    : workerStdioEnd(child, marker, deliver, channelEnded);
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
}

/** The horse's end of its channel, as its arguments say (a socket name, or stdio). */
export function horseChannel(): HorseChannel {
  const marker = Deno.args.find((a) => a.startsWith(MARKER_ARG))?.slice(MARKER_ARG.length);
  if (!marker) throw new Error("rqts: this process was not started as a horse (no channel marker).");
  const socket = Deno.args.find((a) => a.startsWith(SOCKET_ARG))?.slice(SOCKET_ARG.length);
  return socket ? socketChannel(socket, marker) : stdioChannel(marker);
}
