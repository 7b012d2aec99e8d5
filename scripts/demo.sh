#!/usr/bin/env bash
# The one-command demo on a fresh machine: installs what rqts needs (scripts/setup.sh), then runs demo/main.ts,
# which starts a private redis-server (unless REDIS_URL is set) and stops it at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# This is the command of `deno task demo`, spelled out: deno task takes node_modules/.bin/deno (npm's native
# Deno binary) for a JavaScript bin script and fails to run it.
exec node_modules/.bin/deno run --allow-all demo/main.ts
