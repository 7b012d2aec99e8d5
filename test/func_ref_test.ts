import assert from "node:assert/strict";
import { makeReference, resolveSpecifier } from "../src/func_ref.ts";
import { test } from "./_harness.ts";

test("makeReference() is relative to cwd under it, a file URL outside it", () => {
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
