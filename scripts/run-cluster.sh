#!/usr/bin/env bash
# `make run-cluster`: a 3-member etcd and 6 holdfast nodes in 3 zones on
# loopback, data under ./data-cluster, a first layout applied; prints the
# endpoints and the root key. Runs in the background: `make stop-cluster`
# stops exactly the processes it started (their PIDs are in
# ./data-cluster/pids). Running it again restarts the same cluster.
#
#   scripts/run-cluster.sh          start (or restart) the cluster
#   scripts/run-cluster.sh stop     stop it
#
# HOLDFAST_CLUSTER_DIR (default ./data-cluster) and HOLDFAST_CLUSTER_PORT_BASE
# (default 12300) move it; ports are BASE+0..2 etcd clients, +3..5 etcd
# peers, +10..15 S3, +20..25 status, +30..35 node-to-node.
set -euo pipefail
cd "$(dirname "$0")/.."
DIR=${HOLDFAST_CLUSTER_DIR:-./data-cluster}
BASE=${HOLDFAST_CLUSTER_PORT_BASE:-12300}
BIN=${HF_BIN:-bin/holdfast}
ETCD=/usr/bin/etcd
NODES=(n1 n2 n3 n4 n5 n6)
ZONES=(a a b b c c)
PIDS="$DIR/pids"

# A PID from the file that is still the process we started (not a reused PID).
ours() { # pid
    [ -r "/proc/$1/cmdline" ] && tr '\0' ' ' < "/proc/$1/cmdline" | grep -q -- "$(realpath "$DIR")"
}

stop() {
    [ -e "$PIDS" ] || { echo "no cluster running from $DIR"; return 0; }
    # Nodes first (they leave the cluster through etcd), etcd last.
    tac "$PIDS" | while read -r name pid; do
        if ours "$pid"; then kill "$pid" && echo "stopped $name (pid $pid)"; fi
    done
    # Wait for them to be gone, then forget them.
    for _ in $(seq 1 100); do
        alive=0
        while read -r _ pid; do ours "$pid" && alive=1; done < "$PIDS"
        [ $alive -eq 0 ] && break
        sleep 0.1
    done
    rm -f "$PIDS"
}

if [ "${1:-}" = stop ]; then stop; exit 0; fi

if [ -e "$PIDS" ]; then
    while read -r name pid; do
        if ours "$pid"; then
            echo "a cluster from $DIR is running ($name, pid $pid): 'make stop-cluster' first" >&2
            exit 1
        fi
    done < "$PIDS"
    rm -f "$PIDS"
fi
[ -x "$ETCD" ] || { echo "error: $ETCD missing: scripts/install-deps.sh installs etcd-server" >&2; exit 1; }
mkdir -p "$DIR"
DIR=$(realpath "$DIR")

# The cluster's secret and root key, made once and kept with the data.
if [ ! -s "$DIR/secret" ]; then
    (umask 077; od -An -N32 -tx1 /dev/urandom | tr -d ' \n' > "$DIR/secret")
fi
if [ ! -s "$DIR/root.env" ]; then
    ak="HF$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n' | tr 'a-f' 'A-F' | cut -c1-18)"
    sk=$(od -An -N20 -tx1 /dev/urandom | tr -d ' \n')
    (umask 077; printf 'HOLDFAST_ACCESS_KEY=%s\nHOLDFAST_SECRET_KEY=%s\n' "$ak" "$sk" > "$DIR/root.env")
fi
set -a; . "$DIR/root.env"; set +a

initial=""
endpoints=""
for i in 0 1 2; do
    initial+="${initial:+,}m$i=http://127.0.0.1:$((BASE + 3 + i))"
    endpoints+="${endpoints:+,}127.0.0.1:$((BASE + i))"
done
for i in 0 1 2; do
    c="http://127.0.0.1:$((BASE + i))"; p="http://127.0.0.1:$((BASE + 3 + i))"
    "$ETCD" --name "m$i" --data-dir "$DIR/etcd-m$i" --listen-client-urls "$c" \
        --advertise-client-urls "$c" --listen-peer-urls "$p" --initial-advertise-peer-urls "$p" \
        --initial-cluster "$initial" --initial-cluster-state new >> "$DIR/etcd-m$i.log" 2>&1 &
    echo "etcd-m$i $!" >> "$PIDS"
done
ready=0
for _ in $(seq 1 100); do
    if curl -sf -m 1 -X POST -d '{"key":"cmVhZHk="}' "http://127.0.0.1:$BASE/v3/kv/range" > /dev/null; then
        ready=1; break
    fi
    sleep 0.2
done
[ $ready -eq 1 ] || { echo "etcd did not start (see $DIR/etcd-m0.log)" >&2; stop; exit 1; }

URL="etcd://$endpoints/holdfast"
for k in "${!NODES[@]}"; do
    n=${NODES[$k]}
    HOLDFAST_CLUSTER_SECRET= "$BIN" server --data "$DIR/$n" --listen "127.0.0.1:$((BASE + 10 + k))" \
        --status-listen "127.0.0.1:$((BASE + 20 + k))" --cluster "$URL" --node-id "$n" \
        --zone "${ZONES[$k]}" --capacity 1TiB --rpc-listen "127.0.0.1:$((BASE + 30 + k))" \
        --cluster-secret-file "$DIR/secret" --access-log off >> "$DIR/$n.log" 2>&1 &
    echo "$n $!" >> "$PIDS"
    # One at a time: the first node founds the cluster.
    up=0
    for _ in $(seq 1 100); do
        if curl -sf -m 1 "http://127.0.0.1:$((BASE + 20 + k))/metrics" 2> /dev/null |
            grep -q '^holdfast_cluster_registered 1'; then up=1; break; fi
        sleep 0.1
    done
    [ $up -eq 1 ] || { echo "node $n did not start (see $DIR/$n.log)" >&2; stop; exit 1; }
done

gen=$("$BIN" admin --cluster "$URL" layout show --json | sed -n 's/^  "generation": \([0-9]*\),*$/\1/p' | head -1)
if [ "${gen:-0}" = 0 ]; then
    "$BIN" admin --cluster "$URL" layout apply --generation 0 \
        $(printf -- '--add %s ' "${NODES[@]}") > /dev/null
fi
# Until every node serves it (they follow etcd's watch within moments).
for k in "${!NODES[@]}"; do
    for _ in $(seq 1 100); do
        curl -sf -m 1 "http://127.0.0.1:$((BASE + 20 + k))/metrics" 2> /dev/null |
            grep -q '^holdfast_layout_generation [1-9]' && break
        sleep 0.1
    done
done
"$BIN" admin --cluster "$URL" layout show
cat <<MSG

etcd:        $endpoints   (cluster URL: $URL)
S3:          http://127.0.0.1:$((BASE + 10)) ... http://127.0.0.1:$((BASE + 15))  (any node)
status:      http://127.0.0.1:$((BASE + 20)) ... http://127.0.0.1:$((BASE + 25))
data, logs:  $DIR
root key:    access key $HOLDFAST_ACCESS_KEY
             secret key $HOLDFAST_SECRET_KEY
Try:
  AWS_ACCESS_KEY_ID=$HOLDFAST_ACCESS_KEY AWS_SECRET_ACCESS_KEY=$HOLDFAST_SECRET_KEY \\
    aws --endpoint-url http://127.0.0.1:$((BASE + 10)) s3 mb s3://photos
  bin/holdfast admin --admin http://127.0.0.1:$((BASE + 20)) --data $DIR/n1 nodes
  bin/holdfast admin --cluster $URL layout plan --remove n6
Stop it with: make stop-cluster
MSG
