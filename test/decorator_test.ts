import assert from "node:assert/strict";
import { FUNC_REF, Job, job, Queue } from "../mod.ts";
import { redisUrl, test, uniqueName } from "./_harness.ts";
import { freshQueue } from "./_fixtures.ts";
import { addLow, multiply } from "./fixtures/jobs.ts";

// The fixtures are .ts from source, .js in the build that Node runs.
const EXT = import.meta.url.endsWith(".ts") ? "ts" : "js";

test("job() stores a reference relative to the working directory, found from the call stack", () => {
  assert.equal(multiply[FUNC_REF], `./test/fixtures/jobs.${EXT}#multiply`);
  assert.equal(addLow[FUNC_REF], `./test/fixtures/jobs.${EXT}#addLow`);
});

test("job() functions stay callable directly", async () => {
  assert.equal(await multiply(6, 7), 42);
});

test("job('low', { timeout: 5 }) delays onto its queue with its options (the seed's @job example)", async () => {
  const name = uniqueName("low");
  const add = job(name, {
    connection: await redisUrl(),
    timeout: 5,
    module: new URL("./fixtures/jobs.ts", import.meta.url).href,
    name: "addLow",
  })(
    function addLow(x: number, y: number) {
      return x + y;
    },
  );
  const j = await add.delay(3, 4);
  assert.equal(j.origin, name);
  assert.equal(j.timeout, 5);
  assert.equal(j.funcName, "./test/fixtures/jobs.ts#addLow");
  assert.deepEqual(await add.queue.getJobIds(), [j.id]);
  const hash = await add.queue.connection.call<Record<string, string>>(["HGETALL", j.key]);
  assert.equal(hash.timeout, "5");
  assert.equal(hash.description, "./test/fixtures/jobs.ts#addLow(3, 4)");
  await add.queue.delete();
  await add.close();
});

test("Queue.enqueue(jobFunction) types its arguments and result at compile time only; at run time it stores and runs the values as given", async () => {
  await using q = await freshQueue({ isAsync: false });
  const j = await q.enqueue(multiply, 6, 7);
  const result: number | null = await j.result; // typed from multiply's signature
  assert.equal(result, 42);
  // A wrong argument type is a compile error: `deno check` (and so `deno test`) fails on an unused @ts-expect-error.
  // @ts-expect-error: "6" is no number
  const loose = await q.enqueue(multiply, "6", 8);
  // At run time enqueue checks no types: the string is stored as given (the data Redis holds says so) and the function
  // runs on it, as JavaScript's "6" * 8 does.
  const stored = await Job.fetch(loose.id, { connection: q.connection });
  assert.deepEqual(stored.args, ["6", 8]);
  assert.equal(await loose.getStatus(), "finished");
  assert.equal(await loose.result, 48);
});

test("job() enqueueCall() merges per-call options over the decorator's", async () => {
  await using q = new Queue(uniqueName(), { connection: await redisUrl() });
  const wrapped = job(function multiply(x: number, y: number) {
    return x * y;
  }, { queue: q, description: "from decorator", module: new URL("./fixtures/jobs.ts", import.meta.url).href });
  const j = await wrapped.enqueueCall({ args: [2, 3], atFront: true, meta: { m: 1 } });
  assert.equal(j.description, "from decorator");
  assert.deepEqual(j.meta, { m: 1 });
});

test("job() refuses anonymous functions and bad options at definition time", () => {
  assert.throws(() => job(() => 1, { module: "file:///x.ts" }), /has no name/);
  assert.throws(() => job(function f() {}, { jobTimeout: "1.5h" }), /jobTimeout: received "1\.5h"/);
});

test("Queue.enqueue() refuses a plain function, showing both fixes", async () => {
  await using q = await freshQueue();
  function countWords() {}
  await assert.rejects(q.enqueue(countWords), (e: Error) => {
    assert.equal(e.name, "FunctionReferenceError");
    assert.ok(e instanceof TypeError);
    assert.match(e.message, /export const countWords = job\(/);
    assert.match(e.message, /"\.\/path\/to\/module\.ts#countWords"/);
    return true;
  });
});
