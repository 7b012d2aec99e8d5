// Preloaded into the soak's Bun worker (`bun --preload bench/soak_bun_heap.ts runtime/bun/bin.ts ...`, bench/soak.ts):
// JavaScriptCore has no --trace-gc, so on each SIGUSR2 from the soak the worker runs a full, synchronous GC
// (Bun.gc(true)) and writes its live heap (bun:jsc heapStats().heapSize) to stderr as "soak-live-heap <pid> <bytes>".
// Only the worker: its horses are spawned with their own command line, and never get the preload.
const jsc = "bun:jsc";
const { heapStats } = await import(jsc) as { heapStats(): { heapSize: number } };
const { Bun } = globalThis as unknown as { Bun: { gc(force: boolean): void } };
const process = (globalThis as unknown as {
  process: { pid: number; on(signal: string, fn: () => void): void; stderr: { write(s: string): void } };
}).process;

process.on("SIGUSR2", () => {
  Bun.gc(true);
  process.stderr.write(`soak-live-heap ${process.pid} ${heapStats().heapSize}\n`);
});
