// Job functions for the rqts worker, enqueued from Python by their string reference ("./jobs.ts#add"), so they
// need no job() wrapper: any exported function will do.

export function add(x: number, y: number): number {
  return x + y;
}

/** Python keyword arguments arrive as one last object argument: greet("Ann", punctuation="!"). */
export function greet(name: string, options: { punctuation?: string } = {}): string {
  return `Hello, ${name}${options.punctuation ?? "."}`;
}
