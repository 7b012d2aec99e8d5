// src/utils.ts: RQ's timestamp format both ways (its fast paths included), checked against Python's own formatting,
// and parse_timeout's duration forms.
import assert from "node:assert/strict";
import { python, test } from "./_harness.ts";
import { formatMicros, parseDuration, parseUtc, utcFormat } from "../src/utils.ts";

// Instants that stress the calendar: epoch, leap days, century rules, month and year ends, sub-second edges.
const INSTANTS_MICROS = [
  0,
  1,
  999_999,
  Date.UTC(2000, 1, 29, 23, 59, 59) * 1000 + 999_999, // leap day of a year divisible by 400
  Date.UTC(2024, 1, 29, 12, 0, 0) * 1000 + 5,
  Date.UTC(2100, 1, 28, 23, 59, 59) * 1000 + 1, // 2100 is not a leap year
  Date.UTC(2100, 2, 1, 0, 0, 0) * 1000,
  Date.UTC(2026, 11, 31, 23, 59, 59) * 1000 + 123_456,
  Date.UTC(2027, 0, 1, 0, 0, 0) * 1000,
  Date.UTC(1999, 11, 31, 23, 59, 59) * 1000 + 500_000,
];

test("utils: formatMicros() writes what Python's datetime.strftime('%Y-%m-%dT%H:%M:%S.%fZ') writes", async () => {
  const ours = INSTANTS_MICROS.map(formatMicros);
  const theirs = (await python(
    `import datetime
for us in ${JSON.stringify(INSTANTS_MICROS)}:
    t = datetime.datetime(1970, 1, 1) + datetime.timedelta(microseconds=us)
    print(t.strftime('%Y-%m-%dT%H:%M:%S.%fZ'))`,
  )).trim().split("\n");
  assert.deepEqual(ours, theirs);
  // The same second formatted twice in a row takes the cached prefix: still right after a change of second.
  assert.equal(formatMicros(INSTANTS_MICROS[3] - 1), "2000-02-29T23:59:59.999998Z");
  assert.equal(formatMicros(INSTANTS_MICROS[3] + 1), "2000-03-01T00:00:00.000000Z");
});

test("utils: parseUtc() reads back formatMicros() to the millisecond, on its fast path and off it", () => {
  for (const micros of INSTANTS_MICROS) {
    const text = formatMicros(micros);
    const expected = Math.floor(micros / 1000);
    assert.equal(parseUtc(text)?.getTime(), expected, text); // first: the slow path, which primes the fast one
    assert.equal(parseUtc(text)?.getTime(), expected, `${text} (fast path)`);
    // Another instant in the same second takes the fast path too.
    const sibling = formatMicros(Math.floor(micros / 1e6) * 1e6 + 654_321);
    assert.equal(parseUtc(sibling)?.getTime(), Math.floor(micros / 1e6) * 1000 + 654, sibling);
  }
  assert.equal(utcFormat(new Date(Date.UTC(2026, 0, 2, 3, 4, 5, 678))), "2026-01-02T03:04:05.678000Z");
});

test("utils: parseUtc() takes 0 to 6 fractional digits, empty as unset, and refuses anything else", () => {
  assert.equal(parseUtc("2026-11-27T18:46:20Z")?.getTime(), Date.UTC(2026, 10, 27, 18, 46, 20));
  assert.equal(parseUtc("2026-11-27T18:46:20.5Z")?.getTime(), Date.UTC(2026, 10, 27, 18, 46, 20, 500));
  assert.equal(parseUtc("2026-11-27T18:46:20.084526Z")?.getTime(), Date.UTC(2026, 10, 27, 18, 46, 20, 84));
  assert.equal(parseUtc(""), null);
  assert.equal(parseUtc(undefined), null);
  // The fast path (same second as the last parse) still checks its digits.
  parseUtc("2026-11-27T18:46:20.000001Z");
  for (const bad of ["2026-11-27T18:46:20.0845x6Z", "2026-11-27 18:46:20Z", "2026-11-27T18:46:20.1234567Z", "yes"]) {
    assert.equal(parseUtc(bad), undefined, bad);
  }
});

test("utils: parseDuration() reads RQ's parse_timeout forms and refuses others", () => {
  const cases: [number | string, number | undefined][] = [
    [90, 90],
    ["90", 90],
    [" 7 ", 7],
    ["-1", -1],
    ["2d", 172_800],
    ["1h", 3600],
    ["3m", 180],
    ["5S", 5],
    [1.5, undefined],
    ["1.5h", undefined],
    ["1h30m", undefined],
    ["h", undefined],
    ["", undefined],
  ];
  for (const [input, seconds] of cases) assert.equal(parseDuration(input), seconds, JSON.stringify(input));
});
