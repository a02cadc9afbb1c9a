#!/usr/bin/python3
"""Fault injection on a running server (base/fault.h): the admin API and
CLI install and clear fault sets, the data path feels them, and a server
started without --fault-injection refuses them."""
import os
import subprocess
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hf  # noqa: E402

from botocore.exceptions import ClientError  # noqa: E402


class Faults(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = hf.Server(args=["--fault-injection"]).start()
        cls.s3 = hf.boto3_client(cls.server)
        cls.s3.create_bucket(Bucket="faults")

    @classmethod
    def tearDownClass(cls):
        hf.admin(cls.server, "faults", "clear")
        cls.server.cleanup()

    def tearDown(self):
        hf.admin(self.server, "faults", "clear")

    def test_enospc_on_chunk_writes_then_recovery(self):
        rc, out, err = hf.admin(self.server, "faults", "set", "pwrite:error=ENOSPC/path=/chunks/")
        self.assertEqual(rc, 0, err)
        self.assertIn("pwrite:error=ENOSPC/path=/chunks/", out)
        with self.assertRaises(ClientError) as cm:
            self.s3.put_object(Bucket="faults", Key="big", Body=b"x" * (1 << 20))
        self.assertEqual(cm.exception.response["Error"]["Code"], "InsufficientStorage")
        self.assertEqual(cm.exception.response["ResponseMetadata"]["HTTPStatusCode"], 507)
        rc, out, _ = hf.admin(self.server, "faults", "show")
        self.assertEqual(rc, 0)
        self.assertRegex(out, r"fired \d+")
        self.assertNotIn("(fired 0)", out)
        # Small objects live in metadata and never touch a chunk file.
        self.s3.put_object(Bucket="faults", Key="small", Body=b"tiny")
        rc, out, _ = hf.admin(self.server, "faults", "clear")
        self.assertEqual(rc, 0)
        self.assertIn("faults: (none)", out)
        self.s3.put_object(Bucket="faults", Key="big", Body=b"x" * (1 << 20))
        self.assertEqual(self.s3.get_object(Bucket="faults", Key="big")["Body"].read(), b"x" * (1 << 20))

    def test_hang_blocks_only_the_data_path(self):
        rc, _, err = hf.admin(self.server, "faults", "set", "fdatasync:hang/path=/chunks/")
        self.assertEqual(rc, 0, err)
        done = {}

        def put():
            try:
                hf.boto3_client(self.server).put_object(Bucket="faults", Key="hung", Body=b"y" * 100000)
                done["ok"] = True
            except Exception as e:  # noqa: BLE001
                done["err"] = e
        t = threading.Thread(target=put)
        t.start()
        time.sleep(0.5)
        self.assertTrue(t.is_alive(), "the PUT should wait on the hung fdatasync")
        self.assertEqual(hf.http_status(self.server.status + "/health/live"), 200)
        rc, _, _ = hf.admin(self.server, "faults", "clear")
        self.assertEqual(rc, 0)
        t.join(30)
        self.assertFalse(t.is_alive())
        self.assertTrue(done.get("ok"), done)

    def test_bad_spec_is_refused_with_a_message(self):
        rc, _, err = hf.admin(self.server, "faults", "set", "fsync:explode")
        self.assertEqual(rc, 2)
        self.assertIn("unknown fault action", err)
        # The API checks too (a client other than the CLI).
        import urllib.request
        req = urllib.request.Request(self.server.status + "/admin/v1/faults", data=b"x:y", method="PUT")
        try:
            urllib.request.urlopen(req, timeout=5)
            self.fail("unsigned admin call accepted")
        except urllib.error.HTTPError as e:
            self.assertEqual(e.code, 403)


class Disabled(unittest.TestCase):
    def test_refused_without_the_flag(self):
        server = hf.Server().start()
        try:
            rc, _, err = hf.admin(server, "faults", "set", "fsync:hang")
            self.assertEqual(rc, 1)
            self.assertIn("--fault-injection", err)
        finally:
            server.cleanup()

    def test_env_faults_need_the_flag(self):
        env = dict(os.environ, HOLDFAST_FAULTS="fsync:hang")
        p = subprocess.run([hf.BIN, "server", "--data", "/nonexistent/never-created",
                            "--listen", "127.0.0.1:0", "--status-listen", "127.0.0.1:0"],
                           env=env, capture_output=True, text=True, timeout=30)
        self.assertEqual(p.returncode, 2)
        self.assertIn("--fault-injection", p.stderr)


if __name__ == "__main__":
    hf.main(__file__)
