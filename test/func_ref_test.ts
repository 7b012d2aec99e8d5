import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { FUNC_REF, FunctionReferenceError, job, Queue } from "../mod.ts";
import { funcNameOf, makeReference, PROJECT_MARKERS, projectRootOf, resolveSpecifier } from "../src/func_ref.ts";
import { freshQueue } from "./_fixtures.ts";
import { test } from "./_harness.ts";

// From source the fixtures are .ts; on Node the suite runs on the build, whose fixtures are .js.
const EXT = import.meta.url.endsWith(".ts") ? "ts" : "js";

test("makeReference() is relative to the root under it, a file URL outside it", () => {
  assert.equal(makeReference("file:///srv/app/jobs/a.ts", "run", "/srv/app"), "./jobs/a.ts#run");
  assert.equal(makeReference("file:///opt/lib/a.ts", "run", "/srv/app"), "file:///opt/lib/a.ts#run");
  assert.equal(makeReference("file:///srv/app2/a.ts", "run", "/srv/app"), "file:///srv/app2/a.ts#run");
});

test("resolveSpecifier() keeps imports inside the job root or in packages", () => {
  assert.equal(resolveSpecifier("./jobs/a.ts", "/srv/app"), "file:///srv/app/jobs/a.ts");
  assert.equal(resolveSpecifier("file:///srv/app/a.ts", "/srv/app"), "file:///srv/app/a.ts");
  assert.equal(resolveSpecifier("my-package/jobs", "/srv/app"), "my-package/jobs");
  for (
    const bad of [
      "../../etc/passwd",
      "/etc/passwd",
      "file:///etc/passwd",
      "http://evil/x.ts",
      "data:text/javascript,1",
      "./a/../../b.ts",
    ]
  ) {
    assert.throws(() => resolveSpecifier(bad, "/srv/app"), /outside the job root|remote/, bad);
  }
});

/**
 * A project in the OS temp dir: `<dir>/proj` with `marker` (deno.json unless given), `jobs.ts`, `sub/deep/` and
 * `built.ts` whose only loadable form is the `built.js` beside it; `<dir>/outside.ts` next to it.
 */
function withProject(fn: (proj: string, dir: string) => void | Promise<void>, marker = "deno.json") {
  return async () => {
    const dir = mkdtempSync(join(tmpdir(), "rqts-ref-"));
    try {
      const proj = join(dir, "proj");
      mkdirSync(join(proj, "sub", "deep"), { recursive: true });
      writeFileSync(join(proj, marker), "{}\n");
      writeFileSync(join(proj, "jobs.ts"), "export function add(x: number, y: number) { return x + y; }\n");
      writeFileSync(join(proj, "sub", "more.js"), "export function run() {}\n");
      writeFileSync(join(proj, "built.js"), "export function run() {}\n");
      writeFileSync(join(dir, "outside.ts"), "export function run() {}\n");
      await fn(proj, dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
}

test("PROJECT_MARKERS are deno.json, deno.jsonc and package.json", () => {
  assert.deepEqual([...PROJECT_MARKERS], ["deno.json", "deno.jsonc", "package.json"]);
});

for (const marker of ["deno.json", "deno.jsonc", "package.json"]) {
  test(
    `projectRootOf() finds the nearest folder holding ${marker}, from any folder below it`,
    withProject((proj) => {
      // A nested project is its own root.
      mkdirSync(join(proj, "nested", "src"), { recursive: true });
      writeFileSync(join(proj, "nested", "package.json"), "{}\n");
      assert.equal(projectRootOf(join(proj, "sub", "deep")), proj);
      assert.equal(projectRootOf(join(proj, "sub")), proj);
      assert.equal(projectRootOf(proj), proj);
      assert.equal(projectRootOf(join(proj, "nested", "src")), join(proj, "nested"));
    }, marker),
  );
}

test(
  "job() stores a reference from its module's project root, whatever the working directory; jobRoot re-roots it",
  withProject((proj) => {
    const moduleUrl = pathToFileURL(join(proj, "sub", "more.js")).href;
    const run = job(function run() {}, { module: moduleUrl });
    assert.equal(run[FUNC_REF], "./sub/more.js#run");
    assert.equal(funcNameOf(run), "./sub/more.js#run");
    assert.equal(funcNameOf(run, "func", { jobRoot: join(proj, "sub") }), "./more.js#run");
    assert.throws(
      () => funcNameOf(run, "func", { jobRoot: join(proj, "sub", "deep") }),
      (e: Error) =>
        e instanceof FunctionReferenceError &&
        /^func: 'run' is defined in \S+more\.js, outside the Queue's jobRoot \S+deep, so a worker started there/
          .test(e.message) &&
        /Set the Queue's jobRoot to the folder the worker runs in/.test(e.message),
    );
  }),
);

test(
  "funcNameOf() stores a string reference as a path from jobRoot, checking the file is there (nothing imported)",
  withProject((proj) => {
    const at = { jobRoot: proj };
    assert.equal(funcNameOf("./jobs.ts#add", "func", at), "./jobs.ts#add");
    assert.equal(funcNameOf("./sub/../jobs.ts#add", "func", at), "./jobs.ts#add");
    assert.equal(funcNameOf(`${proj}/sub/more.js#run`, "func", at), "./sub/more.js#run");
    assert.equal(funcNameOf(pathToFileURL(join(proj, "jobs.ts")).href + "#add", "func", at), "./jobs.ts#add");
    // A .ts whose compiled .js is all there is (a deployed Node build) is accepted.
    assert.equal(funcNameOf("./built.ts#run", "func", at), "./built.ts#run");
    // Python dotted names and package specifiers pass untouched.
    for (const ref of ["tasks.add", "app.tasks.count", "print", "npm:some-pkg#run", "some-pkg/jobs#run"]) {
      assert.equal(funcNameOf(ref, "func", at), ref);
    }
    // checkReferences: false stores anything as given.
    assert.equal(funcNameOf("../outside.ts#run", "func", { ...at, check: false }), "../outside.ts#run");
  }),
);

test(
  "funcNameOf() refuses a module without #export, a missing file, a path out of the root and a remote URL",
  withProject((proj, dir) => {
    const at = { jobRoot: proj };
    const refused = (ref: string, pattern: RegExp) =>
      assert.throws(
        () => funcNameOf(ref, "onSuccess", at),
        (e: Error) => e instanceof FunctionReferenceError && pattern.test(e.message),
        ref,
      );
    const noExport =
      /^onSuccess: '\.\/jobs\.ts#?' names a module but no function\. Add the export's name after '#': "\.\/jobs\.ts#add"/;
    refused("./jobs.ts", noExport);
    refused("./jobs.ts#", noExport);
    refused("./sub", /names a module but no function/);
    refused("jobs.ts#add", /reads as a package name; .* starting with "\.\/": "\.\/jobs\.ts#add"\./);
    const missing = (p: string) =>
      new RegExp(
        `^onSuccess: '\\./nope\\.ts#add' names ${p}/nope\\.ts, which does not exist\\. References are paths from ` +
          `the Queue's jobRoot ${p}, the folder a worker runs in \\(its working directory or --path\\)`,
      );
    refused("./nope.ts#add", missing(proj));
    const outside =
      /leads to \S+outside\.ts, outside the Queue's jobRoot \S+proj\. References are paths from that root/;
    refused("../outside.ts#run", outside);
    refused("./sub/../../outside.ts#run", outside);
    refused(`${dir}/outside.ts#run`, outside);
    refused(pathToFileURL(join(dir, "outside.ts")).href + "#run", outside);
    refused("https://example.com/jobs.ts#run", /names a remote or non-file module, which workers refuse to import/);
  }),
);

test("funcNameOf() without jobRoot makes string references from the enqueuing module's project root", () => {
  // This file's project is the checkout (the npm build's esm/ on Node), whatever the working directory.
  assert.equal(funcNameOf(`./test/fixtures/jobs.${EXT}#add`), `./test/fixtures/jobs.${EXT}#add`);
  assert.equal(funcNameOf("./test/fixtures/jobs.ts#add"), "./test/fixtures/jobs.ts#add");
  assert.throws(
    () => funcNameOf("./fixtures/jobs.ts#add"),
    /names \S+\/fixtures\/jobs\.ts, which does not exist\. References are paths from the project root \(the nearest folder with deno\.json, deno\.jsonc or package\.json above \S+func_ref_test\.[jt]s\)/,
  );
});

test(
  "Queue.enqueue() refuses a bad reference before writing anything; jobRoot and checkReferences are Queue options",
  withProject(async (proj) => {
    await using q = await freshQueue();
    await assert.rejects(q.enqueue("./jobs.ts"), FunctionReferenceError);
    await assert.rejects(q.enqueue("./missing.ts#add"), /which does not exist/);
    await assert.rejects(q.enqueue("../../etc/passwd#x"), /outside the project root/);
    await assert.rejects(
      q.enqueueCall(`./test/fixtures/jobs.ts#add`, { onFailure: "./nope.ts#cb" }),
      /^FunctionReferenceError: onFailure: '\.\/nope\.ts#cb' names/,
    );
    await assert.rejects(q.enqueueMany([Queue.prepareData("./jobs.ts#add")]), /not exist/);
    assert.equal(await q.count(), 0);
    await using rooted = await freshQueue({ jobRoot: proj });
    assert.equal((await rooted.enqueue("./jobs.ts#add", 1, 2)).funcName, "./jobs.ts#add");
    await using unchecked = await freshQueue({ checkReferences: false });
    assert.equal((await unchecked.enqueue("./nowhere.ts#x")).funcName, "./nowhere.ts#x");
    assert.throws(() => new Queue("x", { jobRoot: "" }), /^TypeError: jobRoot/);
  }),
);
