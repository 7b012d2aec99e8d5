#!/usr/bin/env bash
# Sets up (scripts/setup.sh) and runs the whole test suite against a private redis-server: the suite under Deno, Bun and
# Node (the npm build), the examples, the chaos run and the soak. Prints each suite's counts ("deno: N passed, N failed,
# N skipped") and a closing line "N passed, N failed, N skipped" (CI reads it; the exit status is 0 only when nothing
# failed). A suite counts as failed when it exits non-zero, when its runner's summary line is missing or not recognised,
# or when it reports 0 passed and 0 failed; and the run fails when Deno, Bun and Node did not register the same number
# of tests (passed + failed + skipped: a runtime-specific test is registered everywhere and skipped where it does not
# apply, test/_harness.ts onlyOn), so a file that did not load on one runtime cannot pass unnoticed.
#
# Switches (environment variables; none is set in CI, and without them the run is the plain one above):
#   STRESS=1        keeps every core busy for the whole run: one CPU burner per core (a node busy loop at normal
#                   priority), killed when the script exits however it exits. Tests must pass under that load.
#   REPEAT=N        runs each runtime's suite (Deno, Bun, Node) N times in a row; every run is counted and reported
#                   ("deno run 2/5: ..."), a failed run does not stop the next, and every run must register as many
#                   tests as the others. E.g. `STRESS=1 REPEAT=5 bash scripts/test.sh`.
#   SUITES=...      runs only these of "deno bun node examples chaos soak" (default: all), e.g. SUITES="deno node".
#   TEST_FILES=...  runs only these test files on each runtime, e.g. TEST_FILES="test/queue_test.ts test/job_test.ts".
#   CHAOS_JOBS, SOAK_JOBS, SOAK_RUNTIME: the size of the chaos run and of the soak, and the soak's runtime.
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh || exit 1
export PATH="$PWD/tools/node_modules/.bin:$PWD/node_modules/.bin:$PATH"
export NO_COLOR=1

suites=" ${SUITES:-deno bun node examples chaos soak} "
repeat=${REPEAT:-1}
[[ "$repeat" =~ ^[1-9][0-9]*$ ]] || { echo "REPEAT must be a positive integer, got '$repeat'" >&2; exit 1; }
read -r -a test_files <<< "${TEST_FILES:-}"

burners=()
dir=""
# Stops what this script started: the CPU burners (by pid) and the private redis-server.
cleanup() {
  if [ ${#burners[@]} -gt 0 ]; then kill "${burners[@]}" 2>/dev/null; wait "${burners[@]}" 2>/dev/null; fi
  if [ -n "$dir" ]; then
    local pid; pid=$(cat "$dir/redis.pid" 2>/dev/null)
    if [ -n "$pid" ]; then
      kill "$pid" 2>/dev/null
      for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done   # let it finish writing
    fi
    rm -rf "$dir"
  fi
  rm -f "${log:-}"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# A private redis-server on a free port unless REDIS_URL is given.
if [ -z "${REDIS_URL:-}" ]; then
  port=$(node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
  dir=$(mktemp -d)
  redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no --dir "$dir" --daemonize yes \
    --pidfile "$dir/redis.pid" --logfile "$dir/redis.log"
  for _ in $(seq 50); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done
  export REDIS_URL="redis://127.0.0.1:$port"
fi
echo "tests use $REDIS_URL"

if [ "${STRESS:-}" = 1 ]; then
  for _ in $(seq "$(nproc)"); do
    # Busy, and every ~0.1 s checks this script is still there: gone (even SIGKILLed), the burner ends too.
    node -e 'for (;;) { for (let i = 0; i < 5e7; i++); try { process.kill(+process.argv[1], 0) } catch { process.exit() } }' $$ &
    burners+=($!)
  done
  echo "stress: ${#burners[@]} CPU burners (pids ${burners[*]}) keep every core busy until the end of the run"
fi

total_pass=0; total_fail=0; total_skip=0; status=0
log=$(mktemp)
summary=()
registered=()   # "label count" for every run of deno, bun and node: all counts must be equal

# counts NAME: "passed failed skipped" from the runner's summary in $log, or nothing when it has none we recognise.
counts() {
  local line n
  case "$1" in
    deno)   # "ok | 150 passed | 0 failed | 1 ignored (5m)" or "FAILED | ..."; " | N ignored" only when N > 0
      line=$(grep -E '^(ok|FAILED) \| [0-9]+ passed \| [0-9]+ failed' "$log" | tail -1)
      [ -n "$line" ] || return
      n=$(sed -nE 's/.*\| ([0-9]+) ignored.*/\1/p' <<< "$line")
      sed -E 's/^[A-Za-z]+ \| ([0-9]+) passed \| ([0-9]+) failed.*/\1 \2/' <<< "$line" | tr '\n' ' '
      echo "${n:-0}" ;;
    bun)    # " 150 pass", " 1 skip" (only when N > 0), " 0 fail", "Ran 151 tests across 30 files."
      local p f s ran
      p=$(grep -E '^ *[0-9]+ pass$' "$log" | tail -1 | tr -dc 0-9)
      f=$(grep -E '^ *[0-9]+ fail$' "$log" | tail -1 | tr -dc 0-9)
      s=$(grep -E '^ *[0-9]+ skip$' "$log" | tail -1 | tr -dc 0-9)
      ran=$(grep -E '^Ran [0-9]+ tests? across' "$log" | tail -1 | sed -E 's/^Ran ([0-9]+).*/\1/')
      [ -n "$p" ] && [ -n "$f" ] && [ -n "$ran" ] || return
      [ "$ran" = $((p + f + ${s:-0})) ] || return   # a kind of result we do not count (todo, error): unrecognised
      echo "$p $f ${s:-0}" ;;
    node)   # "ℹ tests 151", "ℹ pass 150", "ℹ fail 0", "ℹ cancelled 0" (timed out), "ℹ skipped 1", "ℹ todo 0"
      local field; declare -A v=()
      for field in tests pass fail cancelled skipped todo; do
        v[$field]=$(grep -E "^ℹ $field [0-9]+$" "$log" | tail -1 | tr -dc 0-9)
        [ -n "${v[$field]}" ] || return
      done
      [ "${v[tests]}" = $((v[pass] + v[fail] + v[cancelled] + v[skipped] + v[todo])) ] || return
      echo "${v[pass]} $((v[fail] + v[cancelled])) $((v[skipped] + v[todo]))" ;;
    examples) # "examples: 5 passed, 0 failed"
      grep -E '^examples: [0-9]+ passed, [0-9]+ failed$' "$log" | tail -1 | sed -E 's/examples: ([0-9]+) passed, ([0-9]+) failed/\1 \2 0/' ;;
  esac
}

# run NAME LABEL COMMAND...: runs one suite, prints "LABEL: N passed, N failed, N skipped", adds to the totals.
run() {
  local name=$1 label=$2; shift 2
  echo "== $label: $* =="
  "$@" 2>&1 | tee "$log"
  local rc=${PIPESTATUS[0]} c p f s note=""
  case "$name" in
    deno|bun|node|examples)
      c=$(counts "$name")
      if [ -z "$c" ]; then
        p=0; f=1; s=0; note="no test summary recognised in its output (exit $rc)"
      else
        read -r p f s <<< "$c"
        if [ $((p + f)) = 0 ]; then f=1; note="0 passed and 0 failed: nothing ran"
        elif [ "$rc" != 0 ] && [ "$f" = 0 ]; then f=1; note="exit $rc with no failed test"
        elif [ "$rc" = 0 ] && [ "$f" != 0 ]; then note="exit 0 with failed tests"; fi
      fi
      case "$name" in deno|bun|node) registered+=("$label $((p + f + s))") ;; esac ;;
    *) s=0; if [ "$rc" = 0 ]; then p=1; f=0; else p=0; f=1; fi ;;   # one run that passes or fails as a whole
  esac
  [ "$f" = 0 ] || status=1
  [ "$rc" = 0 ] || status=1
  local line="$label: $p passed, $f failed, $s skipped${note:+ ($note)}"
  echo "$line"
  total_pass=$((total_pass + p)); total_fail=$((total_fail + f)); total_skip=$((total_skip + s))
  summary+=("$line")
}

# run_runtime NAME COMMAND...: one runtime's suite, REPEAT times.
run_runtime() {
  local name=$1 i; shift
  for i in $(seq "$repeat"); do
    if [ "$repeat" = 1 ]; then run "$name" "$name" "$@"; else run "$name" "$name run $i/$repeat" "$@"; fi
  done
}

wanted() { [[ "$suites" == *" $1 "* ]]; }

# The npm package first: Node's run uses it, and a guard test checks it against deno.json on every runtime.
echo "== build: deno run --allow-all build_npm.ts =="
built=1
deno run --allow-all build_npm.ts > "$log" 2>&1 || { cat "$log"; built=0; }
tail -1 "$log"
bun_files=()
for f in "${test_files[@]}"; do bun_files+=("./${f#./}"); done
if wanted deno; then run_runtime deno deno test --allow-all "${test_files[@]:-test/}"; fi
if wanted bun; then run_runtime bun bun test --timeout 60000 "${bun_files[@]:-./test/}"; fi
# Node 20 cannot strip types: it runs the same suite on the npm package built above.
if wanted node; then
  if [ "$built" = 1 ]; then
    run_runtime node bash scripts/test_node.sh "${test_files[@]}"
  else
    echo "node: build_npm.ts failed"; status=1; total_fail=$((total_fail + 1)); summary+=("node: build failed")
  fi
fi
# Every example in examples/, end to end (the Node one installs the packed tarball with no Deno or Bun on PATH).
if wanted examples; then run examples examples bash examples/run_all.sh; fi
# Robustness runs, sized for CI (each prints its figures; docs/guarantees.md quotes them): workers SIGKILLed at
# random under 2,000 mixed jobs, and a soak of one worker checking RSS, fds and connections stay flat (120,000 jobs:
# Deno's worker reaches its steady RSS between 45,000 and 60,000, and the soak judges the half after its warm-up).
if wanted chaos; then run chaos chaos deno run --allow-all test/chaos/chaos.ts --jobs "${CHAOS_JOBS:-2000}"; fi
# Its JSON goes to a scratch directory: bench/results/ holds the committed runs bench/README.md quotes.
if wanted soak; then
  results=$(mktemp -d)
  run soak soak deno run --allow-all bench/soak.ts --jobs "${SOAK_JOBS:-120000}" --runtime "${SOAK_RUNTIME:-deno}" \
    --results "$results"
  rm -rf "$results"
fi

# Every run of Deno, Bun and Node must have registered the same number of tests.
if [ ${#registered[@]} -gt 1 ]; then
  first=${registered[0]##* }; same=1
  for r in "${registered[@]}"; do [ "${r##* }" = "$first" ] || same=0; done
  if [ "$same" = 0 ]; then
    line="test counts differ (passed + failed + skipped): $(printf '%s, ' "${registered[@]}" | sed 's/, $//'):"
    line+=" a test file did not load, or a test is not registered, on some runtime"
    echo "$line"; summary+=("$line"); status=1; total_fail=$((total_fail + 1))
  fi
fi

echo
printf '%s\n' "${summary[@]}"
if [ ${#burners[@]} -gt 0 ]; then echo "stress: ${#burners[@]} CPU burners ran throughout (load average $(cut -d' ' -f1-3 /proc/loadavg))"; fi
echo "${total_pass} passed, ${total_fail} failed, ${total_skip} skipped"
exit $status
