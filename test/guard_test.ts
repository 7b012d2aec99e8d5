import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { test } from "./_harness.ts";
import { CORE_NODE_MODULES } from "../src/runtime.ts";

const SRC = fileURLToPath(new URL("../src/", import.meta.url));
// From source the core is .ts; on Node the suite runs on the build, whose core is .js.
const EXT = import.meta.url.endsWith(".ts") ? ".ts" : ".js";
// Every core file, src/lua/ and other folders included, as a path under src/.
const sources = () =>
  (readdirSync(SRC, { recursive: true }) as string[])
    .map((f) => f.replaceAll("\\", "/"))
    .filter((f) => f.endsWith(EXT) && !f.endsWith(".d.ts"));
const GLOBAL = /(^|[^A-Za-z0-9_.])(Deno|Bun)\.[a-zA-Z]|(^|[^A-Za-z0-9_.])process\.(env|exit|on|pid|argv|cwd|kill)/;

test("src/ never touches Deno, Bun or process globals (only runtime/* may)", () => {
  const offenders: string[] = [];
  const files = sources();
  assert.ok(files.length > 10, `found the core's files in ${SRC}`);
  for (const file of files) {
    readFileSync(SRC + file, "utf8").split("\n").forEach((line, i) => {
      if (GLOBAL.test(line) && !line.trimStart().startsWith("//") && !line.trimStart().startsWith("*")) {
        offenders.push(`${file}:${i + 1}: ${line.trim()}`);
      }
    });
  }
  assert.deepEqual(offenders, []);
});

test("src/ imports only the node: modules src/runtime.ts allows (CORE_NODE_MODULES), each for its stated reason", () => {
  const allowed = new Set(Object.keys(CORE_NODE_MODULES));
  const used = new Set<string>();
  const offenders: string[] = [];
  for (const file of sources()) {
    readFileSync(SRC + file, "utf8").split("\n").forEach((line, i) => {
      for (const [, specifier] of line.matchAll(/["'](node:[a-z_/]+)["']/g)) {
        used.add(specifier);
        if (!allowed.has(specifier)) offenders.push(`${file}:${i + 1}: ${specifier}`);
      }
    });
  }
  assert.deepEqual(
    offenders,
    [],
    "add the module to CORE_NODE_MODULES with why all three runtimes serve it, or use the Runtime",
  );
  // No stale entries either: the list says what the core uses.
  assert.deepEqual([...allowed].filter((m) => !used.has(m)), []);
});

// `constructor(readonly x: T)`, `constructor(private x: T)` …: a constructor parameter that declares a field.
const PARAMETER_PROPERTY = /^\s*(?:(?:readonly|private|public|protected|override)\s+)+[A-Za-z_$][\w$]*\??\s*:/;

test(
  "src/ declares no fields as constructor parameter properties (on Deno they cost a batch's jobs their young-GC death)",
  () => {
    const offenders: string[] = [];
    for (const file of sources()) {
      const text = readFileSync(SRC + file, "utf8");
      for (const [, params] of text.matchAll(/\bconstructor\(([^)]*)\)/g)) {
        for (const param of params.split(/,(?![^<{(]*[>})])/)) {
          const line = param.split("\n").filter((l) => !/^\s*(\/\/|\/?\*)/.test(l)).join(" ");
          if (PARAMETER_PROPERTY.test(line)) offenders.push(`${file}: ${line.trim()}`);
        }
      }
    }
    assert.deepEqual(offenders, [], "declare the field in the class body and assign it in the constructor");
  },
  {
    skip: EXT === ".js"
      ? "the build's JavaScript has no parameter properties; checked on the TypeScript sources"
      : undefined,
  },
);

// A quote right before `rq:<name>` / `rqts:<name>` (TypeScript and Lua strings alike), or a key suffix spelled out.
const KEY_LITERAL = /["'`](rq|rqts):[a-z_]|["'`]:(dependents|dependencies)\b/;

test("src/keys.ts is the only place Redis key names are spelled (rq: and rqts: keys, in TypeScript and in Lua)", () => {
  const offenders: string[] = [];
  const files = sources().filter((f) => f !== "keys" + EXT);
  assert.ok(files.some((f) => f.startsWith("lua/")), `found the Lua scripts in ${SRC}lua/`);
  for (const file of files) {
    readFileSync(SRC + file, "utf8").split("\n").forEach((line, i) => {
      const code = line.trimStart();
      if (code.startsWith("//") || code.startsWith("/*") || code.startsWith("*")) return;
      if (KEY_LITERAL.test(line)) offenders.push(`${file}:${i + 1}: ${line.trim()}`);
    });
  }
  assert.deepEqual(
    offenders,
    [],
    "build the key with keys.ts (in Lua: interpolate its prefix, see src/lua/_key_prefixes.ts)",
  );
});

test("the guard on key spelling catches a key literal in a Lua script or in TypeScript", () => {
  for (
    const line of [`redis.call('LPUSH', 'rq:queue:' .. q, id)`, `const k = "rqts:held:" + name;`, "x .. ':dependents'"]
  ) {
    assert.ok(KEY_LITERAL.test(line), line);
  }
  for (const line of ["`rqts: unknown command '${first}'`", "JOB .. id", "(rq:suspended is set)"]) {
    assert.ok(!KEY_LITERAL.test(line), line);
  }
});
