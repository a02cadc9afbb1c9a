#!/usr/bin/env bash
# Fuzz harnesses (tests/fuzz/fuzz_*.c, built by 'make fuzz-build' into build/fuzz).
#   tests/fuzz/run.sh replay   run every corpus file through its harness once
#                              (what 'make test' does): one PASS/FAIL line each
#   tests/fuzz/run.sh fuzz S   fuzz each harness for S seconds, starting from its
#                              corpus; new inputs go to build/fuzz/work/<name>,
#                              crashes to build/fuzz/crash-<name>-*
set -u
cd "$(dirname "$0")/../.."
mode=${1:-replay}
secs=${2:-60}
rc=0
for src in tests/fuzz/fuzz_*.c; do
    name=$(basename "$src" .c)
    bin=build/fuzz/$name
    corpus=tests/fuzz/corpus/${name#fuzz_}
    if [ ! -x "$bin" ]; then
        echo "FAIL fuzz/$name: $bin not built (make fuzz-build)"; rc=1; continue
    fi
    files=("$corpus"/*)
    if [ ! -e "${files[0]}" ]; then
        echo "FAIL fuzz/$name: empty corpus $corpus"; rc=1; continue
    fi
    if [ "$mode" = replay ]; then
        out=$("$bin" -runs=1 "${files[@]}" 2>&1); st=$?
        if [ $st -eq 0 ]; then
            echo "PASS fuzz/$name (${#files[@]} inputs replayed)"
        else
            echo "FAIL fuzz/$name: a corpus input crashes the harness"
            printf '%s\n' "$out" | grep -E "ERROR|SUMMARY|Running:|abort|runtime error" | head -n 12 | sed 's/^/    /'
            rc=1
        fi
    else
        mkdir -p build/fuzz/work/$name
        echo "== fuzzing $name for ${secs}s"
        "$bin" -max_total_time="$secs" -max_len=65536 -timeout=10 \
            -artifact_prefix=build/fuzz/crash-$name- build/fuzz/work/$name "$corpus" \
            > build/fuzz/$name.log 2>&1
        st=$?
        tail -n 3 build/fuzz/$name.log
        if [ $st -ne 0 ]; then
            echo "FAIL fuzz/$name: see build/fuzz/$name.log and build/fuzz/crash-$name-*"; rc=1
        else
            echo "PASS fuzz/$name"
        fi
    fi
done
exit $rc
