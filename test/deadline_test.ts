// src/deadline.ts: one lazily re-armed timer serving a run of deadlines (job timeouts, the "taking long" check).
// Lower bounds only (a deadline never fires early); upper bounds are loose, as timers run late on a loaded machine.
import assert from "node:assert/strict";
import { test } from "./_harness.ts";
import { Deadline, within } from "../src/deadline.ts";

const fired = (deadline: Deadline, due: number): Promise<number> =>
  new Promise((resolve) => deadline.set(due, () => resolve(Date.now())));

test("Deadline: fires once, not before its due time", async () => {
  const d = new Deadline();
  let calls = 0;
  const due = Date.now() + 80;
  const at = await new Promise<number>((resolve) => d.set(due, () => (calls++, resolve(Date.now()))));
  assert.ok(at >= due, `fired ${due - at} ms early`);
  // A later deadline proves the timer ran on without calling the first again.
  await fired(d, Date.now() + 30);
  assert.equal(calls, 1);
  d.dispose();
});

test("Deadline: set again for a nearer time fires at the nearer one; for a later one waits for it", async () => {
  const d = new Deadline();
  const start = Date.now();
  d.set(start + 60_000, () => assert.fail("the replaced deadline fired"));
  const nearer = await fired(d, start + 50);
  assert.ok(nearer - start < 30_000, "the nearer deadline re-armed the timer");
  assert.ok(nearer >= start + 50);
  // A later deadline after an earlier one: the armed timer fires first, finds it not due, re-arms.
  const t0 = Date.now();
  d.set(t0 + 40, () => assert.fail("replaced by the later deadline"));
  const later = await fired(d, t0 + 150);
  assert.ok(later >= t0 + 150, `fired ${t0 + 150 - later} ms early`);
  d.dispose();
});

test("Deadline: clear() and dispose() forget the deadline; a deadline past 2^31 ms does not fire at once", async () => {
  const d = new Deadline();
  let calls = 0;
  d.set(Date.now() + 20, () => calls++);
  d.clear();
  d.set(Date.now() + 2 ** 31 + 10_000, () => calls++); // setTimeout alone would fire this at once
  const probe = new Deadline();
  await fired(probe, Date.now() + 100); // well past the cleared one
  assert.equal(calls, 0);
  d.dispose();
  probe.dispose();
  // Disposed: nothing fires, and nothing keeps the process alive (the runner would hang).
  const e = new Deadline();
  e.set(Date.now() + 10, () => calls++);
  e.dispose();
  await fired(probe, Date.now() + 60);
  assert.equal(calls, 0);
  probe.dispose();
});

test("within(): the promise's value when it settles in time; late()'s (or undefined) when the time runs out", async () => {
  assert.equal(await within(Promise.resolve(7), 1000), 7);
  await assert.rejects(within(Promise.reject(new Error("boom")), 1000), /boom/);
  const never = new Promise<number>(() => {});
  assert.equal(await within(never, 20), undefined);
  assert.equal(await within(never, 20, () => "late"), "late");
  await assert.rejects(
    within(never, 20, (): never => {
      throw new Error("too slow");
    }),
    /too slow/,
  );
  // A value that arrives after the time ran out is not seen; one that arrives before wins even with a late().
  let resolve!: (n: number) => void;
  const slow = new Promise<number>((r) => (resolve = r));
  const waited = within(slow, 40, () => -1);
  setTimeout(() => resolve(1), 120);
  assert.equal(await waited, -1);
  assert.equal(await within(new Promise<number>((r) => setTimeout(r, 5, 2)), 5_000, () => -1), 2);
});
