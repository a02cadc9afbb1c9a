#!/usr/bin/python3
"""Driver for the AWS SDK for JavaScript v3 suite (js/test.mjs).

Run by tests/clients/js-sdk.sh after `npm ci`. Starts a server in a temp
dir, runs `node js/test.mjs` against it (the node program prints its own
PASS/FAIL lines, passed through unchanged), then stops the server with
SIGTERM (step server-sigterm-exit).
"""
import os
import subprocess

import clientlib as cl

NODE = os.environ.get("HF_NODE", "node")


def main(s):
    env = dict(os.environ)
    # AWS_* variables change the SDK's behaviour (AWS_REQUEST_CHECKSUM_CALCULATION,
    # AWS_REGION, AWS_PROFILE...): the test wants the defaults.
    for k in list(env):
        if k.startswith("AWS_"):
            del env[k]
    env.update({
        "HF_ENDPOINT": s.endpoint,
        "HF_ACCESS_KEY": cl.ACCESS_KEY,
        "HF_SECRET_KEY": cl.SECRET_KEY,
        "HF_TMP": s.tmp,
        "HOME": s.tmp,
        "AWS_CONFIG_FILE": os.path.join(s.tmp, "no-aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": os.path.join(s.tmp, "no-aws-credentials"),
        "AWS_EC2_METADATA_DISABLED": "true",
    })
    s.mark_log()
    try:
        p = subprocess.Popen([NODE, os.path.join(cl.HERE, "js", "test.mjs")], env=env,
                             cwd=os.path.join(cl.HERE, "js"), stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT)
    except OSError as e:
        s.report("node", False, "cannot run %s: %s" % (NODE, e))
        return
    reported = False
    for raw in p.stdout:
        line = raw.decode("utf-8", errors="replace").rstrip("\n")
        if line.startswith("PASS "):
            s.npass += 1
            reported = True
        elif line.startswith("FAIL "):
            s.nfail += 1
            reported = True
        elif not line.startswith("    ") and not line.startswith("#"):
            line = "# node: " + line  # stray output (a crash): not a test line
        print(line, flush=True)
    try:
        rc = p.wait(timeout=120)
    except subprocess.TimeoutExpired:
        p.kill()
        rc = p.wait()
    if rc != 0 and s.nfail == 0:
        s.report("node", False, "node exited with status %d without reporting a failure%s"
                 % (rc, "" if reported else " (and reported nothing)"), s._server_errors())


if __name__ == "__main__":
    cl.Suite("clients/js-sdk").main(main)
