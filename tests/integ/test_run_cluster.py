"""`make run-cluster` / `make stop-cluster` (scripts/run-cluster.sh): a
3-member etcd and 6 nodes in 3 zones come up with a first layout and the
root key printed; stop-cluster stops exactly those processes. Run here in
a temporary directory on a free block of ports."""
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hf  # noqa: E402

SCRIPT = os.path.join(hf.ROOT, "scripts", "run-cluster.sh")


def free_block():
    """A base port whose +0..35 are all free now."""
    for _ in range(200):
        base = random.randrange(20000, 60000, 100)
        socks = []
        try:
            for off in range(36):
                s = socket.socket()
                s.bind(("127.0.0.1", base + off))
                socks.append(s)
            return base
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise RuntimeError("no free block of 36 ports")


class RunCluster(unittest.TestCase):
    def test_up_and_down(self):
        d = tempfile.mkdtemp(prefix="hf-run-cluster-")
        env = dict(os.environ, HOLDFAST_CLUSTER_DIR=d, HOLDFAST_CLUSTER_PORT_BASE=str(free_block()),
                   HF_BIN=hf.BIN)
        for k in ("HOLDFAST_ACCESS_KEY", "HOLDFAST_SECRET_KEY", "HOLDFAST_CLUSTER_SECRET"):
            env.pop(k, None)
        pids = []
        try:
            p = subprocess.run([SCRIPT], env=env, capture_output=True, text=True, timeout=120)
            self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
            self.assertIn("generation 1", p.stdout)
            self.assertEqual(len(re.findall(r"^n\d +[abc] .* up +1$", p.stdout, re.M)), 6, p.stdout)
            ak = re.search(r"access key (\S+)", p.stdout).group(1)
            sk = re.search(r"secret key (\S+)", p.stdout).group(1)
            s3 = re.search(r"S3: +(http://\S+)", p.stdout).group(1)
            import boto3
            from botocore.config import Config
            c = boto3.client("s3", endpoint_url=s3, aws_access_key_id=ak, aws_secret_access_key=sk,
                             region_name="us-east-1", config=Config(s3={"addressing_style": "path"}))
            c.create_bucket(Bucket="photos")
            self.assertIn("photos", [b["Name"] for b in c.list_buckets()["Buckets"]])
            with open(os.path.join(d, "pids")) as f:
                pids = [int(l.split()[1]) for l in f]
            self.assertEqual(len(pids), 9)
            # Started twice: refused while running.
            p2 = subprocess.run([SCRIPT], env=env, capture_output=True, text=True, timeout=60)
            self.assertEqual(p2.returncode, 1)
            self.assertIn("make stop-cluster", p2.stderr)
        finally:
            s = subprocess.run([SCRIPT, "stop"], env=env, capture_output=True, text=True, timeout=60)
        self.assertEqual(s.returncode, 0, s.stdout + s.stderr)
        self.assertEqual(s.stdout.count("stopped "), 9, s.stdout)
        for pid in pids:
            self.assertFalse(os.path.exists("/proc/%d" % pid) and
                             open("/proc/%d/stat" % pid).read().split()[2] != "Z",
                             "pid %d still running" % pid)
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    hf.main(__file__)
