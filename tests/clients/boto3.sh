#!/usr/bin/env bash
# boto3 as Debian ships it (python3-boto3) against a real holdfast server,
# with the client's defaults. One PASS/FAIL line per step (see
# clientlib.py); the driver starts its own server in its own temp dir and
# stops it with SIGTERM on exit.
set -u
here=$(cd "$(dirname "$0")" && pwd)
if ! /usr/bin/python3 -c 'import boto3' 2>/dev/null; then
    echo "FAIL clients/boto3/setup: python3-boto3 is not installed (scripts/install-deps.sh installs it)"
    exit 1
fi
PYTHONDONTWRITEBYTECODE=1 exec /usr/bin/python3 "$here/boto3_test.py" "$@"
