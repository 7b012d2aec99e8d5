import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { test } from "./_harness.ts";
import { CORE_NODE_MODULES } from "../src/runtime.ts";

const SRC = fileURLToPath(new URL("../src/", import.meta.url));
// From source the core is .ts; on Node the suite runs on the build, whose core is .js.
const EXT = import.meta.url.endsWith(".ts") ? ".ts" : ".js";
const sources = () => readdirSync(SRC).filter((f) => f.endsWith(EXT) && !f.endsWith(".d.ts"));
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

test("src/keys.ts is the only place Redis key prefixes are spelled", () => {
  const offenders: string[] = [];
  for (const file of sources().filter((f) => f !== "keys" + EXT)) {
    readFileSync(SRC + file, "utf8").split("\n").forEach((line, i) => {
      const code = line.trimStart();
      if (code.startsWith("//") || code.startsWith("/*") || code.startsWith("*")) return;
      if (/["'`]rq:(job|queue|queues|wip|finished|failed|deferred|scheduled|canceled|results|worker)/.test(line)) {
        offenders.push(`${file}:${i + 1}: ${line.trim()}`);
      }
    });
  }
  assert.deepEqual(offenders, []);
});
