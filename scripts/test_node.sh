#!/usr/bin/env bash
# Runs the test suite on Node 20 against the built package (npm/, from build_npm.ts): Node cannot strip types, so it
# runs the compiled tests, from npm/esm so that the job references in them ("./test/fixtures/jobs.ts#add") resolve.
set -uo pipefail
cd "$(dirname "$0")/../npm/esm"
shopt -s nullglob
exec node --test --test-concurrency=1 --test-reporter=spec test/*_test.js test/interop/*_test.js
