// The job function: job() records where it lives ("./jobs.ts#fib", a path from the queue's jobRoot, this folder).
import { job } from "@rqts/rqts";

export const fib = job(function fib(n: number): number {
  let [a, b] = [0, 1];
  for (let i = 0; i < n; i++) [a, b] = [b, a + b];
  return a;
});
