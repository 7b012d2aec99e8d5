import assert from "node:assert/strict";
import { JSONSerializer, SerializationError } from "../mod.ts";
import { test } from "./_harness.ts";
import { freshQueue } from "./_fixtures.ts";

const ADD = "./test/fixtures/jobs.ts#add";

test("JSONSerializer.dumps() writes what Python's json.dumps writes", () => {
  const text = new TextDecoder().decode(JSONSerializer.dumps({ a: [1, 2.5, "é✓", null, true], b: { c: "x\n" } }));
  assert.equal(text, '{"a": [1, 2.5, "\\u00e9\\u2713", null, true], "b": {"c": "x\\n"}}');
});

test("JSONSerializer.loads() reads Python's NaN and Infinity", () => {
  const value = JSONSerializer.loads(new TextEncoder().encode('[NaN, Infinity, -Infinity, "NaN"]')) as number[];
  assert.ok(Number.isNaN(value[0]));
  assert.equal(value[1], Infinity);
  assert.equal(value[2], -Infinity);
  assert.equal(value[3], "NaN");
});

test("Queue.enqueueCall() refuses values JSON cannot carry, giving the argument's path", async () => {
  await using q = await freshQueue();
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ args: [1, { user: { id: 10n } }] }, /Cannot serialize args\[1\]\.user\.id: a BigInt/],
    [{ args: [() => 1] }, /Cannot serialize args\[0\]: a function/],
    [{ args: [[1, undefined]] }, /Cannot serialize args\[0\]\[1\]: undefined has no JSON form/],
    [{ args: [Symbol("s")] }, /Cannot serialize args\[0\]: a symbol/],
    [{ args: [NaN] }, /Cannot serialize args\[0\]: NaN is not a finite number/],
    [{ kwargs: { "a b": cyclic } }, /Cannot serialize kwargs\["a b"\]\.self: a circular reference/],
    [{ kwargs: { m: new Map() } }, /Cannot serialize kwargs\.m: a Map instance/],
    [{ meta: { s: new Set([1]) } }, /Cannot serialize meta\.s: a Set instance/],
  ];
  for (const [options, message] of cases) {
    await assert.rejects(q.enqueueCall(ADD, options as never), (e: Error) => {
      assert.ok(e instanceof SerializationError, `${e.name}: ${e.message}`);
      assert.match(e.message, message);
      return true;
    });
  }
  assert.equal(await q.count(), 0);
});

test("Queue.enqueueCall() writes Dates as ISO strings and drops undefined object properties", async () => {
  await using q = await freshQueue();
  const job = await q.enqueueCall(ADD, { args: [new Date(0), { a: undefined, b: 1 }] });
  assert.deepEqual(job.args.length, 2);
  const { Job } = await import("../mod.ts");
  const back = await Job.fetch(job.id, { connection: q.connection });
  assert.deepEqual(back.args, ["1970-01-01T00:00:00.000Z", { b: 1 }]);
});
