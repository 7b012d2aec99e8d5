// The demo's job functions (RQ's "declare a function"): each wrapped with job() so a queue can store where it lives.
import { getCurrentJob, type Job, job } from "../mod.ts";

/** The seed's count_words_at_url, without the network: counts the words of a text. */
export const countWords = job(function countWords(text: string, _kwargs?: { description?: string; ttl?: number }) {
  return text.split(/\s+/).filter(Boolean).length;
});

const fibonacci = (n: number): number => (n <= 1 ? n : fibonacci(n - 1) + fibonacci(n - 2));
export const fib = job(function fib(n: number): number {
  return fibonacci(n);
});

/** The seed's `@job('low', connection=my_redis_conn, timeout=5)` add: `add.delay(3, 4)` enqueues on "low". */
export const add = job("low", { timeout: 5 })(function add(x: number, y: number): number {
  return x + y;
});

export const generateReport = job(function generateReport(): string {
  return "report: 3 queues, 0 failures";
});

export const sendReport = job(function sendReport(to: string): string {
  return `report sent to ${to}`;
});

export const divide = job(function divide(x: number, y: number): number {
  if (y === 0) throw new RangeError(`cannot divide ${x} by 0`);
  return x / y;
});

/** Success callback: `(job, connection, result)`, connection being the node-redis client. */
export const reportSuccess = job(function reportSuccess(job: Job, _connection: unknown, result: unknown) {
  console.log(`    onSuccess: ${job.funcName} returned ${JSON.stringify(result)}`);
});

/** Failure callback: `(job, connection, error)`. */
export const reportFailure = job(function reportFailure(job: Job, _connection: unknown, error: unknown) {
  console.log(`    onFailure: ${job.funcName} threw ${(error as Error).message}`);
});

/** Fails while its job has retries left (`retry: { max: 1 }`: the first try fails, the retry succeeds). */
export const flaky = job(function flaky(): string {
  const left = getCurrentJob()?.retriesLeft ?? 0;
  if (left > 0) throw new Error(`transient failure (${left} retr${left === 1 ? "y" : "ies"} left)`);
  return "succeeded on its last try";
});
