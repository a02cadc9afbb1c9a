#!/usr/bin/env bash
# AWS SDK for JavaScript v3 (versions pinned in js/package.json and
# js/package-lock.json) against a real holdfast server. Installs the SDK
# into tests/clients/js/node_modules (git-ignored) with `npm ci` when it is
# missing or older than the lock file, then runs js_sdk_test.py, which
# starts a server, runs js/test.mjs and stops the server with SIGTERM.
set -u
here=$(cd "$(dirname "$0")" && pwd)
js="$here/js"
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    echo "FAIL clients/js-sdk/setup: node and npm are needed (scripts/install-deps.sh installs them)"
    exit 1
fi
if [ ! -d "$js/node_modules/@aws-sdk/client-s3" ] || [ ! -d "$js/node_modules/@aws-sdk/lib-storage" ] ||
   [ "$js/package-lock.json" -nt "$js/node_modules/.package-lock.json" ]; then
    if ! out=$(cd "$js" && npm ci --no-audit --no-fund 2>&1); then
        echo "FAIL clients/js-sdk/npm-ci: npm ci failed in tests/clients/js"
        printf '%s\n' "$out" | tail -n 20 | sed 's/^/    /'
        exit 1
    fi
fi
PYTHONDONTWRITEBYTECODE=1 exec /usr/bin/python3 "$here/js_sdk_test.py" "$@"
