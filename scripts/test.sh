#!/usr/bin/env bash
# Sets up (scripts/setup.sh) and runs the whole test suite against a private redis-server.
# Prints per-runtime counts and a closing line "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh || exit 1
export PATH="$PWD/tools/node_modules/.bin:$PWD/node_modules/.bin:$PATH"
export NO_COLOR=1

# A private redis-server on a free port unless REDIS_URL is given.
if [ -z "${REDIS_URL:-}" ]; then
  port=$(node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
  dir=$(mktemp -d)
  redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no --dir "$dir" --daemonize yes \
    --pidfile "$dir/redis.pid" --logfile "$dir/redis.log"
  stop_redis() {
    local pid; pid=$(cat "$dir/redis.pid" 2>/dev/null)
    if [ -n "$pid" ]; then
      kill "$pid" 2>/dev/null
      for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done   # let it finish writing
    fi
    rm -rf "$dir"
  }
  trap stop_redis EXIT
  for _ in $(seq 50); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done
  export REDIS_URL="redis://127.0.0.1:$port"
fi
echo "tests use $REDIS_URL"

total_pass=0; total_fail=0; status=0
log=$(mktemp)

# run NAME COMMAND...: runs one runtime's suite, prints "NAME: N passed, N failed", adds to the totals.
run() {
  local name=$1; shift
  echo "== $name: $* =="
  "$@" 2>&1 | tee "$log"
  local rc=${PIPESTATUS[0]} p f
  case "$name" in
    deno) p=$(grep -E '^(ok|FAILED) \| [0-9]+ passed' "$log" | tail -1 | sed -E 's/.*\| ([0-9]+) passed \| ([0-9]+) failed.*/\1 \2/') ;;
    bun) p="$(grep -E '^ *[0-9]+ pass$' "$log" | tail -1 | tr -dc 0-9) $(grep -E '^ *[0-9]+ fail$' "$log" | tail -1 | tr -dc 0-9)" ;;
    node) p="$(grep -E '^ℹ pass [0-9]+$' "$log" | tail -1 | tr -dc 0-9) $(grep -E '^ℹ fail [0-9]+$' "$log" | tail -1 | tr -dc 0-9)" ;;
    examples) p=$(grep -E '^examples: [0-9]+ passed, [0-9]+ failed$' "$log" | tail -1 | sed -E 's/examples: ([0-9]+) passed, ([0-9]+) failed/\1 \2/') ;;
    *) if [ "$rc" = 0 ]; then p="1 0"; else p="0 1"; fi ;;   # one run that passes or fails as a whole
  esac
  f=${p#* }; p=${p% *}
  [[ "$p" =~ ^[0-9]+$ ]] || p=0
  [[ "$f" =~ ^[0-9]+$ ]] || f=0
  if [ "$rc" != 0 ] && [ "$f" = 0 ]; then f=1; fi   # a crash with no count is a failure
  [ "$rc" = 0 ] || status=1
  echo "$name: ${p} passed, ${f} failed"
  total_pass=$((total_pass + p)); total_fail=$((total_fail + f))
  summary+=("$name: ${p} passed, ${f} failed")
}

summary=()
# The npm package first: Node's run uses it, and a guard test checks it against deno.json on every runtime.
echo "== build: deno run --allow-all build_npm.ts =="
built=1
deno run --allow-all build_npm.ts > "$log" 2>&1 || { cat "$log"; built=0; }
tail -1 "$log"
run deno deno test --allow-all test/
run bun bun test --timeout 60000 ./test/
# Node 20 cannot strip types: it runs the same suite on the npm package built above.
if [ "$built" = 1 ]; then
  run node bash scripts/test_node.sh
else
  echo "node: build_npm.ts failed"; status=1; total_fail=$((total_fail + 1)); summary+=("node: build failed")
fi
# Every example in examples/, end to end (the Node one installs the packed tarball with no Deno or Bun on PATH).
run examples bash examples/run_all.sh
# Robustness runs, sized for CI (each prints its figures; README "Guarantees" quotes them): workers SIGKILLed at
# random under 2,000 mixed jobs, and a soak of one worker checking RSS, fds and connections stay flat (120,000 jobs:
# Deno's worker reaches its steady RSS between 45,000 and 60,000, and the soak judges the half after its warm-up).
run chaos deno run --allow-all test/chaos/chaos.ts --jobs "${CHAOS_JOBS:-2000}"
run soak deno run --allow-all bench/soak.ts --jobs "${SOAK_JOBS:-120000}" --runtime "${SOAK_RUNTIME:-deno}"

echo
printf '%s\n' "${summary[@]}"
echo "${total_pass} passed, ${total_fail} failed"
rm -f "$log"
exit $status
