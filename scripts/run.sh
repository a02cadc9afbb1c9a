#!/usr/bin/env bash
# `make run`: serve a single node on 127.0.0.1:9000 with data in ./data.
# Prints the root key and an example command; stops on Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${HOLDFAST_DATA:-./data}
LISTEN=${HOLDFAST_LISTEN:-127.0.0.1:9000}
first=0
[ -e "$DATA/root-credentials" ] || first=1
if [ $first -eq 0 ]; then
    ak=$(sed -n 's/^access_key=//p' "$DATA/root-credentials")
    sk=$(sed -n 's/^secret_key=//p' "$DATA/root-credentials")
    cat <<MSG
Root credentials (from $DATA/root-credentials):
  access key: $ak
  secret key: $sk
Try:
  AWS_ACCESS_KEY_ID=$ak AWS_SECRET_ACCESS_KEY=$sk \\
    aws --endpoint-url http://$LISTEN s3 ls
MSG
fi
exec bin/holdfast server --data "$DATA" --listen "$LISTEN"
