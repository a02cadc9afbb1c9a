#!/usr/bin/env bash
# s3cmd (Debian's /usr/bin/s3cmd) against a real holdfast server.
# One PASS/FAIL line per step (see clientlib.py); the driver starts its own
# server in its own temp dir and stops it with SIGTERM on exit.
set -u
here=$(cd "$(dirname "$0")" && pwd)
if [ ! -x /usr/bin/s3cmd ]; then
    echo "FAIL clients/s3cmd/setup: /usr/bin/s3cmd is not installed (scripts/install-deps.sh installs s3cmd)"
    exit 1
fi
PYTHONDONTWRITEBYTECODE=1 exec /usr/bin/python3 "$here/s3cmd_test.py" "$@"
