#!/usr/bin/env bash
# Runs every example end to end against a real Redis and checks its output: REDIS_URL when set, else a private
# redis-server on a free port (as scripts/test.sh). Prints "examples: N passed, N failed", stops every process it
# started, and exits non-zero on any failure.
#
#   bash examples/run_all.sh
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
bash scripts/setup.sh || exit 1
TOOLS=$ROOT/tools/node_modules/.bin
BUN=$TOOLS/bun
export PATH="$TOOLS:$PATH" NO_COLOR=1 PYTHONDONTWRITEBYTECODE=1

work=$(mktemp -d)
pids=() # every background process; each leads its own process group (setsid), so horses go with it
redis_pid=""

cleanup() {
  local pid _
  for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && kill -TERM -- "-$pid" 2>/dev/null; done
  for _ in $(seq 50); do
    local alive=0
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ $alive = 0 ] && break
    sleep 0.1
  done
  for pid in "${pids[@]}"; do kill -KILL -- "-$pid" 2>/dev/null; done
  [ -n "$redis_pid" ] && kill "$redis_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A private redis-server on a free port unless REDIS_URL is given.
if [ -z "${REDIS_URL:-}" ]; then
  port=$(node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
  redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no --dir "$work" --daemonize yes \
    --pidfile "$work/redis.pid" --logfile "$work/redis.log"
  for _ in $(seq 50); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done
  redis_pid=$(cat "$work/redis.pid" 2>/dev/null)
  export REDIS_URL="redis://127.0.0.1:$port"
fi
echo "examples use $REDIS_URL"

# ---- helpers ----------------------------------------------------------------------------------------------------

errors=() # what went wrong in the current example

fail() { errors+=("$*"); }

# start NAME DIR CMD...: CMD in DIR, in the background and its own process group; output in $work/NAME.log.
# Sets PID.
start() {
  local name=$1 dir=$2
  shift 2
  (cd "$dir" && exec setsid "$@") >"$work/$name.log" 2>&1 &
  PID=$!
  pids+=("$PID")
}

# run NAME DIR SECONDS CMD...: CMD in DIR, waited for (in the background, so that a signal to this script stops it
# at once), killed after SECONDS; output in $work/NAME.log.
run() {
  local name=$1 dir=$2 seconds=$3 rc
  shift 3
  (cd "$dir" && exec setsid timeout -k 5 "$seconds" "$@") >"$work/$name.log" 2>&1 &
  pids+=("$!")
  wait "$!"
  rc=$?
  [ $rc = 124 ] && fail "$name: still running after ${seconds}s: $*"
  [ $rc = 0 ] || fail "$name: exited with $rc: $*"
  return $rc
}

# wait_for NAME REGEX SECONDS: waits until $work/NAME.log has a line matching REGEX.
wait_for() {
  local i
  for i in $(seq $(($3 * 10))); do
    grep -qE -- "$2" "$work/$1.log" 2>/dev/null && return 0
    sleep 0.1
  done
  fail "$1: no line matching /$2/ within $3s"
  return 1
}

# finish NAME PID SECONDS [SIGNAL]: optionally signals PID, then waits up to SECONDS for it to exit with code 0.
finish() {
  local name=$1 pid=$2 seconds=$3 signal=${4:-} i rc
  [ -n "$signal" ] && kill "-$signal" "$pid" 2>/dev/null
  for i in $(seq $((seconds * 10))); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    fail "$name: did not exit within ${seconds}s${signal:+ of SIG$signal}; killed"
    kill -KILL -- "-$pid" 2>/dev/null
  fi
  wait "$pid"
  rc=$?
  [ $rc = 0 ] || fail "$name: exited with $rc${signal:+ after $signal}"
}

# expect NAME REGEX...: each REGEX must match a line of $work/NAME.log.
expect() {
  local name=$1 re
  shift
  for re in "$@"; do
    grep -qE -- "$re" "$work/$name.log" 2>/dev/null || fail "$name: expected a line matching /$re/"
  done
}

# show NAME...: prints the logs, indented.
show() {
  local name
  for name in "$@"; do
    echo "  --- $name"
    sed 's/^/  | /' "$work/$name.log" 2>/dev/null
  done
}

# ---- the examples -----------------------------------------------------------------------------------------------

# A Deno.serve API and a worker, started in the same directory; both stopped with SIGTERM (the worker's warm shutdown).
example_deno_server() {
  local dir=examples/deno-server server worker url
  start deno-server "$dir" env PORT=0 deno run --allow-all server.ts
  server=$PID
  start deno-worker "$dir" deno run --allow-all ../../runtime/deno/bin.ts worker words --url "$REDIS_URL"
  worker=$PID
  if wait_for deno-server '^listening on http://' 30 && wait_for deno-worker 'Listening on words' 30; then
    url=$(grep -oE 'http://[0-9.]+:[0-9]+' "$work/deno-server.log" | head -1)
    run deno-client "$dir" 60 deno run --allow-net client.ts "$url" "one two three four five six seven"
    expect deno-client '^POST /jobs -> 201 \{"id":"[0-9a-f-]+"\}$' '"status":"finished","result":7\}$'
  fi
  finish deno-worker "$worker" 15 TERM
  finish deno-server "$server" 15 TERM
  expect deno-worker 'Job OK' 'Warm shut down requested \(SIGTERM\)' 'done, quitting'
  expect deno-server '^server stopped$'
  show deno-server deno-worker deno-client
}

# A Bun script: enqueueMany in one transaction, a burst worker as a subprocess, latestResult for each job.
example_bun_script() {
  run bun-batch examples/bun-script 60 bun batch.ts
  expect bun-batch '^enqueued 7 jobs in one transaction: \./jobs\.ts#fib$' 'rqts on bun ' \
    '^fib\(10\) = 55$' '^fib\(30\) = 832040$' '^fib\(70\) = 190392490709135$' '^worker exited with code 0$'
  show bun-batch
}

# The npm package on Node 20 and on Bun, installed from the packed tarball into a copy of the app, with no Deno
# on the PATH.
example_node_app() {
  local app=$work/node-app tarball main dir node_path=""
  # PATH without any folder that holds deno or bun: the app sees only node and npm.
  IFS=: read -ra dirs <<<"$PATH"
  for dir in "${dirs[@]}"; do
    [ -n "$dir" ] && { [ -e "$dir/deno" ] || [ -e "$dir/bun" ]; } && continue
    node_path=${node_path:+$node_path:}$dir
  done
  run node-build . 120 deno run --allow-all build_npm.ts || { show node-build; return; }
  mkdir -p "$work/pack" "$app"
  run node-pack npm 60 npm pack --pack-destination "$work/pack" || { show node-pack; return; }
  tarball=$(ls "$work"/pack/rqts-*.tgz)
  cp -r examples/node-app/. "$app"
  run node-install "$app" 120 env PATH="$node_path" \
    npm install --no-audit --no-fund --prefer-offline --loglevel=error "$tarball" || { show node-install; return; }
  run node-no-deno "$app" 10 env PATH="$node_path" sh -c \
    'if command -v deno || command -v bun; then exit 1; fi; echo "PATH has node $(node --version), no deno, no bun"'

  start node-main "$app" env PATH="$node_path" node main.js orders
  main=$PID
  wait_for node-main '^enqueued on' 30 &&
    run node-worker "$app" 60 env PATH="$node_path" npm run worker -- --url "$REDIS_URL"
  finish node-main "$main" 30
  expect node-main '"rqts" resolves to file://.*/node_modules/rqts/esm/runtime/node/entry\.js$' \
    '^1\. \./jobs\.js#fetchOrder: successful \{"orderId":42,' \
    '^2\. \./jobs\.js#priceOrder: successful \{"orderId":42,"total":17\.25\}$' \
    '^3\. \./jobs\.js#sendInvoice: successful "invoice for order 42 \(17\.25 EUR\) sent to ann@example\.com"$'
  expect node-worker 'rqts on node 20\.' 'done, quitting'

  # Bun on the same install: its "bun" export condition, and the installed bin run by Bun.
  start bun-main "$app" env PATH="$node_path" "$BUN" main.js orders-bun
  main=$PID
  wait_for bun-main '^enqueued on' 30 &&
    run bun-worker "$app" 60 env PATH="$node_path" "$BUN" node_modules/.bin/rqts worker orders-bun --burst --url "$REDIS_URL"
  finish bun-main "$main" 30
  run bun-info "$app" 30 env PATH="$node_path" "$BUN" node_modules/.bin/rqts info orders-bun --url "$REDIS_URL"
  expect bun-main '"rqts" resolves to file://.*/node_modules/rqts/esm/runtime/bun/entry\.js$' \
    '^3\. \./jobs\.js#sendInvoice: successful "invoice for order 42 \(17\.25 EUR\) sent to ann@example\.com"$'
  expect bun-worker 'rqts on bun ' 'done, quitting'
  expect bun-info '^orders-bun +\| 0$' '^1 queues, 0 jobs total$'
  show node-no-deno node-main node-worker bun-main bun-worker bun-info
}

# Python RQ 1.13 <-> rqts, both ways, on the JSON serializer.
example_python_interop() {
  local dir=examples/python-interop producer
  # (a) Python enqueues "./jobs.ts#add"; an rqts worker (Deno) runs it; Python reads return_value().
  start py-producer "$dir" /usr/bin/python3 producer.py
  producer=$PID
  wait_for py-producer '^enqueued' 30 && run ts-worker "$dir" 60 deno run --allow-all ../../runtime/deno/bin.ts worker py-to-ts --burst --url "$REDIS_URL"
  finish py-producer "$producer" 30
  expect py-producer "^\./jobs\.ts#add\(1, 2\) finished: return_value\(\) = 3$" \
    "^\./jobs\.ts#add\(20, 22\) finished: return_value\(\) = 42$" \
    "^\./jobs\.ts#greet\('Ann', punctuation='!'\) finished: return_value\(\) = 'Hello, Ann!'$"
  expect ts-worker 'rqts on deno ' 'done, quitting'
  # (b) rqts (Deno) enqueues "tasks.multiply"; a Python `rq worker` runs it; rqts reads latestResult().
  start ts-producer "$dir" deno run --allow-all producer.ts
  producer=$PID
  wait_for ts-producer '^enqueued' 30 &&
    run py-worker "$dir" 60 /usr/bin/rq worker --burst -S rq.serializers.JSONSerializer --path . \
      --url "$REDIS_URL" ts-to-py
  finish ts-producer "$producer" 30
  expect ts-producer '^tasks\.multiply\(6, 7\) successful: 42$' '^tasks\.multiply\(12, 12\) successful: 144$' \
    '^tasks\.multiply\(1\.5, 4\) successful: 6$'
  expect py-worker 'ts-to-py: Job OK' 'done, quitting'
  show py-producer ts-worker ts-producer py-worker
}

# ---- run them ---------------------------------------------------------------------------------------------------

passed=0
failed=0
summary=()
for example in deno-server bun-script node-app python-interop; do
  echo
  echo "== $example =="
  errors=()
  began=$SECONDS
  "example_${example//-/_}"
  if [ ${#errors[@]} = 0 ]; then
    passed=$((passed + 1))
    summary+=("ok    $example ($((SECONDS - began))s)")
  else
    failed=$((failed + 1))
    summary+=("FAIL  $example ($((SECONDS - began))s)")
    printf '  FAILED: %s\n' "${errors[@]}"
  fi
done

echo
printf '%s\n' "${summary[@]}"
echo "examples: $passed passed, $failed failed"
[ "$failed" = 0 ]
