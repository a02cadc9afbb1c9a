#!/usr/bin/env bash
# Run unit test binaries given as arguments; each prints PASS/FAIL lines.
# Prints a summary line; exits non-zero if any test failed or a binary crashed.
set -u
pass=0 fail=0
for t in "$@"; do
    out=$("$t" 2>&1); rc=$?
    printf '%s\n' "$out" | grep -E '^(PASS|FAIL) ' || true
    p=$(printf '%s\n' "$out" | grep -c '^PASS ')
    f=$(printf '%s\n' "$out" | grep -c '^FAIL ')
    if [ $rc -ne 0 ] && [ "$f" -eq 0 ]; then
        echo "FAIL $t: exited with status $rc"
        printf '%s\n' "$out" | tail -n 20 | sed 's/^/    /'
        f=1
    fi
    pass=$((pass + p)); fail=$((fail + f))
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
