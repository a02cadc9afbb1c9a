#!/usr/bin/env bash
# Install the Debian 12 packages holdfast needs to build, run and test.
# Idempotent and quick when everything is present: it asks dpkg first and
# runs apt-get only for what is missing. Needs root (or sudo) to install.
#   scripts/install-deps.sh               build and test packages
#   scripts/install-deps.sh --build-only  build packages
#   scripts/install-deps.sh --bench       also what `make bench` needs
set -euo pipefail

BUILD_PKGS=(gcc make pkg-config libc6-dev liblmdb-dev libisal-dev libexpat1-dev libjansson-dev
            libssl-dev libcurl4-openssl-dev)
# chromium: the status page test renders the page headless and screenshots it.
# libclang-rt-14-dev, node-llhttp: the fuzz harnesses and their parser oracle.
# openssl: the TLS test makes its CA and certificates with the command.
# etcd-server: the cluster tests and `make run-cluster` run a real 3-member etcd.
TEST_PKGS=(clang libclang-rt-14-dev node-llhttp awscli python3 python3-boto3 s3cmd rclone curl nodejs npm valgrind chromium openssl
           etcd-server)
# `make bench` only: the server compared against, the second load generator,
# the chart, the profiler.
BENCH_PKGS=(nginx wrk gnuplot-nox linux-perf)

want=("${BUILD_PKGS[@]}")
case "${1:-}" in
    --build-only) ;;
    --bench) want+=("${TEST_PKGS[@]}" "${BENCH_PKGS[@]}") ;;
    *) want+=("${TEST_PKGS[@]}") ;;
esac

missing=()
for p in "${want[@]}"; do
    # nodejs/npm may come from elsewhere (a newer Node on PATH is fine).
    if [ "$p" = nodejs ] && command -v node >/dev/null 2>&1; then continue; fi
    if [ "$p" = npm ] && command -v npm >/dev/null 2>&1; then continue; fi
    status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    case "$status" in
        "install ok installed") ;;
        *) missing+=("$p") ;;
    esac
done

if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi

echo "installing Debian packages: ${missing[*]}"
SUDO=
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then SUDO=sudo; else
        echo "error: need root to install: ${missing[*]} (run as root, or install them with apt-get)" >&2
        exit 1
    fi
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
