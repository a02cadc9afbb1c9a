#!/usr/bin/env bash
# Fail if a source file includes a header across a forbidden layer edge
# (docs/internals/LAYERS.md is the list).
set -u
cd "$(dirname "$0")/.."
declare -A allow=(
    [base]=""
    [net]="base"
    [chunk]="base"
    [meta]="base chunk"
    [auth]="base net"
    [access]="base"
    [guard]="base net"
    [scrub]="base chunk meta"
    [sse]="base"
    [s3]="base net auth meta chunk guard access sse"
    [status]="base net auth meta chunk guard s3 scrub access sse etcd cluster peer"
    [bench]="base net auth"
    [peer]="base net"
    [etcd]="base"
    [cluster]="base etcd meta net peer"
    [cli]="base net auth meta chunk guard scrub s3 status bench access sse peer etcd cluster"
)
bad=0
for f in src/*/*.[ch] src/*/*.def; do
    [ -e "$f" ] || continue
    layer=$(basename "$(dirname "$f")")
    while IFS= read -r inc; do
        dep=${inc%%/*}
        [ "$dep" = "$layer" ] && continue
        case " ${allow[$layer]-} " in
            *" $dep "*) ;;
            *) echo "layer violation: $f includes \"$inc\" ($layer may not depend on $dep)"; bad=1 ;;
        esac
    done < <(sed -n 's/^#include "\([a-z0-9_]*\/[^"]*\)".*/\1/p' "$f")
done
if [ $bad -eq 0 ]; then echo "layers ok"; fi
exit $bad
