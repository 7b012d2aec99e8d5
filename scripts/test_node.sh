#!/usr/bin/env bash
# Runs the test suite on Node 20 against the built package (npm/, from build_npm.ts): Node cannot strip types, so it
# runs the compiled tests, from npm/esm so that the job references in them ("./test/fixtures/jobs.ts#add") resolve.
#   bash scripts/test_node.sh                              every test/*_test.js and test/interop/*_test.js
#   bash scripts/test_node.sh test/queue_test.ts ...       those files only (the .ts names map to the built .js)
# No file to run is an error: given none, `node --test` would discover files on its own instead.
# --test-force-exit: a test that timed out (reported "cancelled") must not keep its file's process alive with what
# it left running (a timer, a child process, a socket).
set -uo pipefail
cd "$(dirname "$0")/../npm/esm" || { echo "test_node.sh: npm/esm is missing; build it: deno run -A build_npm.ts" >&2; exit 1; }
shopt -s nullglob
if [ $# = 0 ]; then
  files=(test/*_test.js test/interop/*_test.js)
else
  files=()
  for f in "$@"; do
    f=${f#./}
    case "$f" in *.ts) f=${f%.ts}.js ;; esac
    [ -f "$f" ] || { echo "test_node.sh: $f is not in npm/esm (rebuild: deno run -A build_npm.ts)" >&2; exit 1; }
    files+=("$f")
  done
fi
if [ ${#files[@]} = 0 ]; then
  echo "test_node.sh: no test file in $PWD/test (build first: deno run -A build_npm.ts)" >&2
  exit 1
fi
exec node --test --test-force-exit --test-concurrency=1 --test-reporter=spec "${files[@]}"
