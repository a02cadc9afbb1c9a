#!/usr/bin/env bash
# rclone (Debian's /usr/bin/rclone) against a real holdfast server.
# One PASS/FAIL line per step (see clientlib.py); the driver starts its own
# server in its own temp dir and stops it with SIGTERM on exit.
set -u
here=$(cd "$(dirname "$0")" && pwd)
if [ ! -x /usr/bin/rclone ]; then
    echo "FAIL clients/rclone/setup: /usr/bin/rclone is not installed (scripts/install-deps.sh installs rclone)"
    exit 1
fi
PYTHONDONTWRITEBYTECODE=1 exec /usr/bin/python3 "$here/rclone_test.py" "$@"
