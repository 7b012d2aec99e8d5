#!/usr/bin/env bash
# The one-command demo on a fresh machine: installs what rqts needs (scripts/setup.sh), then `deno task demo`
# (demo/main.ts), which starts a private redis-server (unless REDIS_URL is set) and stops it at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="$PWD/tools/node_modules/.bin:$PATH"
exec deno task demo
