#!/usr/bin/env bash
# s3cmd (Debian's /usr/bin/s3cmd) with `signature_v2 = True` against a real
# holdfast server: the same flows as s3cmd.sh, every request signed with
# AWS Signature Version 2. One PASS/FAIL line per step (see clientlib.py).
set -u
here=$(cd "$(dirname "$0")" && pwd)
if [ ! -x /usr/bin/s3cmd ]; then
    echo "FAIL clients/s3cmd-v2/setup: /usr/bin/s3cmd is not installed (scripts/install-deps.sh installs s3cmd)"
    exit 1
fi
HF_S3CMD_SIGV2=1 PYTHONDONTWRITEBYTECODE=1 exec /usr/bin/python3 "$here/s3cmd_test.py" "$@"
