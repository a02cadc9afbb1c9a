#!/usr/bin/python3
"""The sticky failed state: after a failed fsync or a write error of
unknown effect on the chunk store, writes answer 503 with a clear message
(even once the disk works again), reads keep working, /health/ready says
why, and only a verified reopen ('holdfast admin store reopen') ends it."""
import os
import sys
import unittest
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hf  # noqa: E402

from botocore.exceptions import ClientError  # noqa: E402


admin = hf.admin


def ready(server):
    try:
        with urllib.request.urlopen(server.status + "/health/ready", timeout=5) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


class FailState(unittest.TestCase):
    def setUp(self):
        self.server = hf.Server(args=["--fault-injection"]).start()
        self.s3 = hf.boto3_client(self.server)
        self.s3.create_bucket(Bucket="sticky")
        self.old = os.urandom(300000)
        self.s3.put_object(Bucket="sticky", Key="old", Body=self.old)

    def tearDown(self):
        admin(self.server, "faults", "clear")
        self.server.cleanup()

    def refused_put(self, key, size):
        with self.assertRaises(ClientError) as cm:
            self.s3.put_object(Bucket="sticky", Key=key, Body=b"n" * size)
        return cm.exception.response

    def check_failed_then_reopen(self, fault, what):
        rc, _, err = admin(self.server, "faults", "set", fault)
        self.assertEqual(rc, 0, err)
        r = self.refused_put("victim", 200000)
        self.assertIn(r["ResponseMetadata"]["HTTPStatusCode"], (500, 503))
        rc, _, _ = admin(self.server, "faults", "clear")
        self.assertEqual(rc, 0)

        # The disk works again, but the store does not believe it.
        r = self.refused_put("later", 200000)
        self.assertEqual(r["ResponseMetadata"]["HTTPStatusCode"], 503)
        self.assertEqual(r["Error"]["Code"], "ServiceUnavailable")
        self.assertIn("refuses writes after an I/O error", r["Error"]["Message"])
        self.assertIn(what, r["Error"]["Message"])
        st, body = ready(self.server)
        self.assertEqual(st, 503)
        self.assertIn("chunk store refuses writes", body)
        self.assertIn("holdfast admin store reopen", body)
        rc, out, _ = admin(self.server, "store", "status")
        self.assertEqual(rc, 0)
        self.assertIn("chunks:   failed", out)
        self.assertIn("metadata: ok", out)
        self.assertIn("refuses writes until a verified reopen", self.server.read_log())

        # Reads, small (inline) writes and deletes go on: they do not touch
        # a chunk file's fsync.
        self.assertEqual(self.s3.get_object(Bucket="sticky", Key="old")["Body"].read(), self.old)
        self.s3.put_object(Bucket="sticky", Key="tiny", Body=b"t")
        self.s3.delete_object(Bucket="sticky", Key="tiny")
        with self.assertRaises(ClientError):
            self.s3.get_object(Bucket="sticky", Key="victim")

        # A reopen whose probe cannot sync fails and changes nothing.
        admin(self.server, "faults", "set", "fdatasync:error=EIO/path=/chunks/")
        rc, _, err = admin(self.server, "store", "reopen")
        self.assertEqual(rc, 1)
        self.assertIn("ReopenFailed", err)
        self.assertIn("recovery probe", err)
        admin(self.server, "faults", "clear")
        self.assertEqual(self.refused_put("later", 200000)["ResponseMetadata"]["HTTPStatusCode"], 503)

        # A verified reopen ends it.
        rc, out, err = admin(self.server, "store", "reopen")
        self.assertEqual(rc, 0, err)
        self.assertIn("chunks:   ok", out)
        self.assertEqual(ready(self.server)[0], 200)
        body = os.urandom(200000)
        self.s3.put_object(Bucket="sticky", Key="later", Body=body)
        self.assertEqual(self.s3.get_object(Bucket="sticky", Key="later")["Body"].read(), body)

    def test_failed_fdatasync(self):
        self.check_failed_then_reopen("fdatasync:error=EIO/path=/chunks/", "chunk fdatasync")

    def test_eio_on_payload_write(self):
        self.check_failed_then_reopen("pwrite:error=EIO/path=/chunks/", "chunk payload write")

    def test_failed_directory_fsync(self):
        # fsync (not fdatasync) is only used on directories under chunks/.
        self.check_failed_then_reopen("fsync:error=EIO/path=/chunks", "directory fsync")

    def test_enospc_is_not_sticky(self):
        admin(self.server, "faults", "set", "pwrite:error=ENOSPC/path=/chunks/")
        r = self.refused_put("full", 200000)
        self.assertEqual(r["ResponseMetadata"]["HTTPStatusCode"], 507)
        admin(self.server, "faults", "clear")
        self.assertEqual(ready(self.server)[0], 200)
        self.s3.put_object(Bucket="sticky", Key="full", Body=b"f" * 200000)


if __name__ == "__main__":
    hf.main(__file__)
