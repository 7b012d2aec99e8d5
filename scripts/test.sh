#!/usr/bin/env bash
# Sets up (scripts/setup.sh) and runs the whole test suite against a private redis-server.
# Prints per-runtime counts and a closing line "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh || exit 1
export PATH="$PWD/node_modules/.bin:$PATH"

# A private redis-server on a free port unless REDIS_URL is given.
if [ -z "${REDIS_URL:-}" ]; then
  port=$(node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
  dir=$(mktemp -d)
  redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no --dir "$dir" --daemonize yes \
    --pidfile "$dir/redis.pid" --logfile "$dir/redis.log"
  trap 'kill "$(cat "$dir/redis.pid" 2>/dev/null)" 2>/dev/null; rm -rf "$dir"' EXIT
  for _ in $(seq 50); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done
  export REDIS_URL="redis://127.0.0.1:$port"
fi
echo "tests use $REDIS_URL"

total_pass=0; total_fail=0; status=0
log=$(mktemp)

echo "== deno test =="
deno test --allow-all test/ 2>&1 | tee "$log"
[ "${PIPESTATUS[0]}" = 0 ] || status=1
line=$(grep -E '^(ok|FAILED) \| [0-9]+ passed' "$log" | tail -1)
p=$(sed -E 's/.*\| ([0-9]+) passed.*/\1/' <<<"$line"); f=$(sed -E 's/.*passed[^|]*\| ([0-9]+) failed.*/\1/' <<<"$line")
[[ "$p" =~ ^[0-9]+$ ]] || p=0; [[ "$f" =~ ^[0-9]+$ ]] || { f=1; status=1; }
echo "deno: ${p} passed, ${f} failed"
total_pass=$((total_pass + p)); total_fail=$((total_fail + f))

echo
echo "total: ${total_pass} passed, ${total_fail} failed"
rm -f "$log"
exit $status
