#!/usr/bin/python3
"""A full data disk: on a small tmpfs the test mounts (and always removes),
PUTs beyond the reserve answer 507 InsufficientStorage while DELETE,
DeleteObjects, multipart abort and complete still work, nothing is
corrupted, and the server takes PUTs again by itself once space returns."""
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hf  # noqa: E402

from botocore.exceptions import ClientError  # noqa: E402

MiB = 1024 * 1024
FS_SIZE = 48 * MiB
RESERVE = 12 * MiB


def free_bytes(path):
    st = os.statvfs(path)
    return st.f_bavail * st.f_frsize


class FullDisk(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.mnt = tempfile.mkdtemp(prefix="hf-fulldisk-")
        p = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%d,mode=0700" % FS_SIZE, "tmpfs", cls.mnt],
                           capture_output=True, text=True)
        if p.returncode != 0:
            os.rmdir(cls.mnt)
            raise RuntimeError("cannot mount a tmpfs (the test needs root): " + p.stderr)
        cls.data = os.path.join(cls.mnt, "data")
        try:
            cls.server = hf.Server(data=cls.data, args=["--reserve", "%d" % RESERVE, "--workers", "4"]).start()
        except Exception:
            cls.unmount()
            raise
        cls.s3 = hf.boto3_client(cls.server)

    @classmethod
    def unmount(cls):
        subprocess.run(["umount", cls.mnt], capture_output=True)
        shutil.rmtree(cls.mnt, ignore_errors=True)

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()
        shutil.rmtree(cls.data, ignore_errors=True)
        cls.unmount()

    def code(self, fn):
        try:
            fn()
            return 200, None
        except ClientError as e:
            return e.response["ResponseMetadata"]["HTTPStatusCode"], e.response["Error"]

    def test_full_disk(self):
        s3 = self.s3
        s3.create_bucket(Bucket="full")
        # Uploads started while there is room, to finish or abort when full.
        ab = s3.create_multipart_upload(Bucket="full", Key="to-abort")["UploadId"]
        s3.upload_part(Bucket="full", Key="to-abort", UploadId=ab, PartNumber=1, Body=b"a" * MiB)
        co = s3.create_multipart_upload(Bucket="full", Key="to-complete")["UploadId"]
        etag = s3.upload_part(Bucket="full", Key="to-complete", UploadId=co, PartNumber=1,
                              Body=b"c" * MiB)["ETag"]

        bodies = {}
        refused = None
        for i in range(200):
            key = "fill-%03d" % i
            body = os.urandom(MiB)
            st, err = self.code(lambda: s3.put_object(Bucket="full", Key=key, Body=body))
            if st != 200:
                refused = (st, err)
                break
            bodies[key] = body
        self.assertIsNotNone(refused, "the disk never filled")
        self.assertEqual(refused[0], 507, refused)
        self.assertEqual(refused[1]["Code"], "InsufficientStorage")
        self.assertIn("reserve", refused[1]["Message"])
        self.assertGreater(len(bodies), 10)
        # The reserve held: at most about a MiB per writer went into it.
        self.assertGreaterEqual(free_bytes(self.mnt), RESERVE - 2 * MiB)
        self.assertEqual(hf.http_status(self.server.status + "/health/ready"), 200)

        # Down to the last bit above the reserve: empty objects need only
        # the room of one metadata commit, like every other request that
        # adds metadata.
        for i in range(20000):
            st, err = self.code(lambda: s3.put_object(Bucket="full", Key="empty-%05d" % i, Body=b""))
            if st != 200:
                break
            bodies["empty-%05d" % i] = b""
        self.assertEqual((st, err["Code"]), (507, "InsufficientStorage"))

        # Everything that adds data is refused cleanly...
        st, err = self.code(lambda: s3.put_object(Bucket="full", Key="tiny", Body=b"x"))
        self.assertEqual((st, err["Code"]), (507, "InsufficientStorage"))
        st, err = self.code(lambda: s3.create_bucket(Bucket="another"))
        self.assertEqual((st, err["Code"]), (507, "InsufficientStorage"))
        st, err = self.code(lambda: s3.create_multipart_upload(Bucket="full", Key="new"))
        self.assertEqual(st, 507)
        st, err = self.code(lambda: s3.upload_part(Bucket="full", Key="to-abort", UploadId=ab,
                                                   PartNumber=2, Body=b"p" * MiB))
        self.assertEqual(st, 507)

        # ...while what frees space or only updates metadata works.
        s3.complete_multipart_upload(Bucket="full", Key="to-complete", UploadId=co, MultipartUpload={
            "Parts": [{"PartNumber": 1, "ETag": etag}]})
        s3.abort_multipart_upload(Bucket="full", Key="to-abort", UploadId=ab)
        self.assertEqual(s3.list_multipart_uploads(Bucket="full").get("Uploads", []), [])
        doomed = sorted(k for k in bodies if k.startswith("fill-"))[:8]
        s3.delete_object(Bucket="full", Key=doomed[0])
        r = s3.delete_objects(Bucket="full", Delete={"Objects": [{"Key": k} for k in doomed[1:]]})
        self.assertEqual(len(r.get("Deleted", [])), len(doomed) - 1, r)
        for k in doomed:
            del bodies[k]

        # Space came back: PUTs work again without a restart.
        hf.wait_for(lambda: free_bytes(self.mnt) > RESERVE + 2 * MiB, 10, "space to be reclaimed")
        body = os.urandom(MiB)
        s3.put_object(Bucket="full", Key="after", Body=body)
        bodies["after"] = body
        self.assertEqual(s3.get_object(Bucket="full", Key="to-complete")["Body"].read(), b"c" * MiB)
        # Nothing was corrupted on the way.
        for k, b in bodies.items():
            self.assertEqual(s3.get_object(Bucket="full", Key=k)["Body"].read(), b, k)
        listed = {o["Key"] for p in s3.get_paginator("list_objects_v2").paginate(Bucket="full")
                  for o in p.get("Contents", [])}
        self.assertEqual(listed, set(bodies) | {"to-complete"})
        rc = subprocess.run([hf.BIN, "admin", "--admin", self.server.status, "store", "status"],
                            env=dict(os.environ, HOLDFAST_ACCESS_KEY=hf.ACCESS_KEY,
                                     HOLDFAST_SECRET_KEY=hf.SECRET_KEY),
                            capture_output=True, text=True, timeout=30)
        self.assertEqual(rc.returncode, 0, rc.stderr)
        self.assertIn("reserve %d bytes" % RESERVE, rc.stdout)


if __name__ == "__main__":
    hf.main(__file__)
