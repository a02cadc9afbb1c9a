#!/usr/bin/env bash
# Run every test suite and print one summary line "N passed, N failed".
#   unit tests (release build), unit tests (ASan+UBSan build), unit tests
#   under valgrind (memory errors and leaks), the fuzz corpora replayed
#   through their harnesses (ASan+UBSan),
#   integration tests (a real server driven by boto3, awscli, s3cmd, rclone),
#   the AWS SDK for JavaScript v3 test.
# Each suite prints PASS/FAIL lines; a suite that dies without reporting
# counts as one failure. Set HF_TESTS=pattern to run only matching suites.
set -u
cd "$(dirname "$0")/.."
PY=/usr/bin/python3
pass=0 fail=0
log=$(mktemp)

run_suite() { # name, command...
    local name=$1; shift
    if [ -n "${HF_TESTS:-}" ] && [[ "$name" != *${HF_TESTS}* ]]; then return; fi
    echo "== $name"
    "$@" >"$log" 2>&1; local rc=$?
    grep -E '^(PASS|FAIL) |^    ' "$log" | grep -v '^PASS ' || true
    local p f
    p=$(grep -c '^PASS ' "$log"); f=$(grep -c '^FAIL ' "$log")
    if [ $rc -ne 0 ] && [ "$f" -eq 0 ]; then
        echo "FAIL $name: exited with status $rc without reporting a failure"
        tail -n 30 "$log" | sed 's/^/    /'
        f=1
    fi
    echo "   $p passed, $f failed"
    pass=$((pass + p)); fail=$((fail + f))
}

layers() { if scripts/check-layers.sh; then echo "PASS check/layers"; else echo "FAIL check/layers: an #include crosses a forbidden layer edge"; fi; }
run_suite "check:layers" layers
for t in build/rel/tests/unit/*/*; do
    [ -x "$t" ] && run_suite "unit:${t#build/rel/tests/unit/}" "$t"
done
for t in build/san/tests/unit/*/*; do
    [ -x "$t" ] && run_suite "unit-asan:${t#build/san/tests/unit/}" env ASAN_OPTIONS=detect_leaks=1 "$t"
done
for t in build/rel/tests/unit/*/*; do
    [ -x "$t" ] && run_suite "unit-valgrind:${t#build/rel/tests/unit/}" \
        valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect "$t"
done
run_suite "fuzz:replay" tests/fuzz/run.sh replay
for t in tests/integ/test_*.py; do
    run_suite "integ:$(basename "$t" .py)" $PY "$t"
done
if [ -x build/san/holdfast ]; then
    for t in tests/integ/test_s3_boto3.py tests/integ/test_wire.py tests/integ/test_observability.py tests/integ/test_sigv2.py \
             tests/integ/test_hostile.py tests/integ/test_scrub.py tests/integ/test_failstate.py \
             tests/integ/test_users.py tests/integ/test_tls.py tests/integ/test_cluster.py \
             tests/integ/test_sse.py; do
        run_suite "integ-asan:$(basename "$t" .py)" env HF_BIN=build/san/holdfast ASAN_OPTIONS=detect_leaks=0 $PY "$t"
    done
fi
for t in tests/clients/*.sh; do
    [ -e "$t" ] && run_suite "clients:$(basename "$t" .sh)" bash "$t"
done

rm -f "$log"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
