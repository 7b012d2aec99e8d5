// Job fixtures for the worker benchmark (bench/worker.ts), referenced as "./bench/jobs.ts#noop".
//
// Plain JavaScript syntax on purpose (no type annotations): under Node, bench/worker_node.mjs places this file
// as npm/esm/bench/jobs.js, where the Node adapter finds it for the same reference (the build does not compile
// bench/).

/** Does nothing: the benchmark measures the worker, not the job. */
export function noop() {}
