#!/usr/bin/env bash
# Installs what rqts needs on a fresh Debian machine with Node 20: npm packages (Deno and Bun come from npm),
# redis-server, Debian's python3-rq (RQ 1.13, the interop peer), python3-croniter (RQ 2.10 imports it) and chromium
# (the dashboard's browser test).
# Idempotent: skips what is there.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
/usr/bin/python3 -c 'import rq' >/dev/null 2>&1 || missing+=(python3-rq)
# RQ 2.10 (shared/peers/rq-2.10, the cron interop peer) imports croniter.
/usr/bin/python3 -c 'import croniter' >/dev/null 2>&1 || missing+=(python3-croniter)
# Debian's chromium: the dashboard's browser test drives it with playwright-core (npm), which cannot download one here.
[ -x /usr/bin/chromium ] || missing+=(chromium)
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]} with apt-get" >&2
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# The library's npm dependencies (and the bench peers), then Deno and Bun from npm in tools/: kept out of the root
# node_modules because `deno task` would otherwise find npm's deno in node_modules/.bin and run it as a script.
if [ ! -d node_modules/redis ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: npm ci" >&2
  npm ci --no-audit --no-fund >/dev/null
fi
# A tools/node_modules that is a symlink (a git worktree sharing another checkout's) is that checkout's to install.
if [ ! -L tools/node_modules ] && { [ ! -x tools/node_modules/.bin/deno ] || [ ! -x tools/node_modules/.bin/bun ] ||
  [ tools/package-lock.json -nt tools/node_modules/.package-lock.json ]; }; then
  echo "setup: npm ci in tools/ (deno, bun)" >&2
  npm ci --prefix tools --no-audit --no-fund >/dev/null
fi
tools/node_modules/.bin/deno --version | head -1 >&2
tools/node_modules/.bin/bun --version | sed 's/^/bun /' >&2
