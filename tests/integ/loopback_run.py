#!/usr/bin/python3
"""Run a Python client program (awscli, s3cmd) with one DNS name and the
names under it resolving to 127.0.0.1 (hf.resolve_to_loopback), so the
client addresses buckets virtual-hosted style against a local server.

    loopback_run.py DOMAIN PROGRAM [ARGS...]

The program runs unchanged, as its own __main__, with sys.argv[0] set to
PROGRAM: only name resolution differs."""
import os
import runpy
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hf  # noqa: E402

if len(sys.argv) < 3:
    sys.exit("usage: loopback_run.py DOMAIN PROGRAM [ARGS...]")
hf.resolve_to_loopback(sys.argv[1])
program = sys.argv[2]
sys.argv = sys.argv[2:]
runpy.run_path(program, run_name="__main__")
