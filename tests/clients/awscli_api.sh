#!/usr/bin/env bash
# AWS CLI v2 (Debian's /usr/bin/aws) and the S3 API beyond plain objects.
# One PASS/FAIL line per step (see clientlib.py); the driver starts its own
# server in its own temp dir and stops it with SIGTERM on exit.
set -u
here=$(cd "$(dirname "$0")" && pwd)
if [ ! -x /usr/bin/aws ]; then
    echo "FAIL clients/awscli/setup: /usr/bin/aws is not installed (scripts/install-deps.sh installs awscli)"
    exit 1
fi
PYTHONDONTWRITEBYTECODE=1 exec /usr/bin/python3 "$here/awscli_api_test.py" "$@"
