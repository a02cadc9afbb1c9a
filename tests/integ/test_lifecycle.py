#!/usr/bin/python3
"""Bucket lifecycle through boto3 against a real server whose lifecycle
"day" is one second: configurations checked and stored; current versions
expired (deleted, or replaced by a delete marker in a versioned bucket)
by prefix, tag and size; noncurrent versions expired keeping the newest
ones; lone delete markers removed; old multipart uploads aborted; Object
Lock respected; the space of what expired returned to the disk; a pass
resumed after a kill -9."""
import datetime
import json
import os
import re
import sys
import time
import urllib.request
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hf  # noqa: E402

from botocore.exceptions import ClientError  # noqa: E402

DAY = ["--lifecycle-day-seconds", "1", "--lifecycle-interval", "1s"]


def setUpModule():
    hf.SHARED = hf.Server(args=DAY).start()


tearDownModule = hf.stop_shared

BIG = 40000  # above the inline size: stored in chunk files


def rule(id, days=None, prefix=None, **extra):
    r = {"ID": id, "Status": "Enabled", "Filter": {"Prefix": prefix or ""}}
    if days:
        r["Expiration"] = {"Days": days}
    r.update(extra)
    return r


def chunk_bytes(server):
    total = 0
    for root, _, files in os.walk(os.path.join(server.data, "chunks")):
        for f in files:
            try:
                total += os.path.getsize(os.path.join(root, f))
            except OSError:
                pass
    return total


def lc_status(server):
    rc, out, err = hf.admin(server, "lifecycle", "status")
    assert rc == 0, err
    return out


class Configuration(hf.S3Case):
    def test_roundtrip_and_validation(self):
        b = self.bucket()
        self.assertError("NoSuchLifecycleConfiguration", 404, self.s3.get_bucket_lifecycle_configuration, Bucket=b)
        cfg = {"Rules": [
            rule("logs", days=30, prefix="logs/"),
            {"ID": "tagged", "Status": "Disabled",
             "Filter": {"And": {"Prefix": "x/", "Tags": [{"Key": "k", "Value": "v"}],
                                "ObjectSizeGreaterThan": 10}},
             "NoncurrentVersionExpiration": {"NoncurrentDays": 7, "NewerNoncurrentVersions": 2}},
            {"ID": "uploads", "Status": "Enabled", "Filter": {},
             "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 3}},
            {"ID": "markers", "Status": "Enabled", "Filter": {"Prefix": ""},
             "Expiration": {"ExpiredObjectDeleteMarker": True}},
        ]}
        self.s3.put_bucket_lifecycle_configuration(Bucket=b, LifecycleConfiguration=cfg)
        got = self.s3.get_bucket_lifecycle_configuration(Bucket=b)["Rules"]
        self.assertEqual([r["ID"] for r in got], ["logs", "tagged", "uploads", "markers"])
        self.assertEqual(got[0]["Expiration"], {"Days": 30})
        self.assertEqual(got[1]["Filter"]["And"]["Tags"], [{"Key": "k", "Value": "v"}])
        self.assertEqual(got[1]["NoncurrentVersionExpiration"], {"NoncurrentDays": 7, "NewerNoncurrentVersions": 2})
        self.assertEqual(got[3]["Expiration"], {"ExpiredObjectDeleteMarker": True})
        bad = [
            ({"ID": "a", "Status": "Enabled", "Filter": {}}, "InvalidArgument"),  # no action
            (rule("a", days=1) and {**rule("a"), "Expiration": {"Days": 0}}, "InvalidArgument"),
            ({**rule("a"), "Expiration": {"Date": datetime.datetime(2030, 1, 1, 12, 0)}}, "InvalidArgument"),
            ({"ID": "a", "Status": "Enabled", "Filter": {"Tag": {"Key": "k", "Value": "v"}},
              "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1}}, "InvalidArgument"),
            ({"ID": "a", "Status": "Enabled", "Filter": {"Tag": {"Key": "k", "Value": "v"}},
              "Expiration": {"ExpiredObjectDeleteMarker": True}}, "InvalidArgument"),
            ({**rule("a", days=1), "Transitions": [{"Days": 1, "StorageClass": "GLACIER"}]}, "NotImplemented"),
            ({"ID": "a", "Status": "Sometimes", "Filter": {}, "Expiration": {"Days": 1}}, "MalformedXML"),
        ]
        for r, code in bad:
            with self.assertRaises(ClientError) as cm:
                self.s3.put_bucket_lifecycle_configuration(Bucket=b, LifecycleConfiguration={"Rules": [r]})
            self.assertEqual(cm.exception.response["Error"]["Code"], code, r)
        with self.assertRaises(ClientError) as cm:
            self.s3.put_bucket_lifecycle_configuration(Bucket=b, LifecycleConfiguration={
                "Rules": [rule("same", days=1), rule("same", days=2)]})
        self.assertEqual(cm.exception.response["Error"]["Code"], "InvalidArgument")
        self.assertEqual(len(self.s3.get_bucket_lifecycle_configuration(Bucket=b)["Rules"]), 4)
        self.s3.delete_bucket_lifecycle(Bucket=b)
        self.assertError("NoSuchLifecycleConfiguration", 404, self.s3.get_bucket_lifecycle_configuration, Bucket=b)


class Expiry(hf.S3Case):
    def keys(self, b):
        return sorted(o["Key"] for o in self.s3.list_objects_v2(Bucket=b).get("Contents", []))

    def test_current_versions_by_prefix_tag_and_size(self):
        b = self.bucket()
        for k in ("tmp/a", "tmp/b", "keep/a"):
            self.s3.put_object(Bucket=b, Key=k, Body=b"x")
        self.s3.put_object(Bucket=b, Key="tagged/yes", Body=b"x", Tagging="expire=yes")
        self.s3.put_object(Bucket=b, Key="tagged/no", Body=b"x", Tagging="expire=no")
        self.s3.put_object(Bucket=b, Key="size/big", Body=b"x" * 2000)
        self.s3.put_object(Bucket=b, Key="size/small", Body=b"x" * 10)
        self.s3.put_bucket_lifecycle_configuration(Bucket=b, LifecycleConfiguration={"Rules": [
            rule("tmp", days=2, prefix="tmp/"),
            {"ID": "tag", "Status": "Enabled", "Filter": {"Tag": {"Key": "expire", "Value": "yes"}},
             "Expiration": {"Days": 2}},
            {"ID": "size", "Status": "Enabled",
             "Filter": {"And": {"Prefix": "size/", "ObjectSizeGreaterThan": 1000}}, "Expiration": {"Days": 2}},
            {**rule("off", days=1, prefix="keep/"), "Status": "Disabled"},
        ]})
        hf.wait_for(lambda: self.keys(b) == ["keep/a", "size/small", "tagged/no"], 30, "expiry")
        time.sleep(2.5)  # later passes leave the rest alone
        self.assertEqual(self.keys(b), ["keep/a", "size/small", "tagged/no"])
        self.assertIn("expired", lc_status(hf.SHARED))
        # The worker spends the guard's background budget, visibly.
        m = re.search(r'^holdfast_background_units_total\{job="lifecycle"\} (\d+)',
                      urllib.request.urlopen(hf.SHARED.status + "/metrics", timeout=10).read().decode(), re.M)
        self.assertTrue(m and int(m.group(1)) > 0, m)

    def test_versioned_noncurrent_and_markers(self):
        b = self.bucket("Enabled")
        vids = [self.s3.put_object(Bucket=b, Key="doc", Body=b"v%d" % i)["VersionId"] for i in range(4)]
        self.s3.put_object(Bucket=b, Key="gone", Body=b"x")
        self.s3.delete_object(Bucket=b, Key="gone")
        lone = self.s3.delete_object(Bucket=b, Key="never-was")["VersionId"]
        self.s3.put_bucket_lifecycle_configuration(Bucket=b, LifecycleConfiguration={"Rules": [
            {"ID": "nc-doc", "Status": "Enabled", "Filter": {"Prefix": "doc"},
             "NoncurrentVersionExpiration": {"NoncurrentDays": 1, "NewerNoncurrentVersions": 1}},
            {"ID": "nc-gone", "Status": "Enabled", "Filter": {"Prefix": "gone"},
             "NoncurrentVersionExpiration": {"NoncurrentDays": 1}},
            {"ID": "markers", "Status": "Enabled", "Filter": {}, "Expiration": {"ExpiredObjectDeleteMarker": True}},
        ]})

        def versions():
            r = self.s3.list_object_versions(Bucket=b)
            return (sorted((v["Key"], v["VersionId"]) for v in r.get("Versions", [])),
                    sorted((m["Key"], m["VersionId"]) for m in r.get("DeleteMarkers", [])))
        # doc keeps its current version and the newest noncurrent one; gone's
        # object version expires, then its marker is alone and goes too; the
        # marker of a key that never existed goes at once.
        hf.wait_for(lambda: versions() == (sorted([("doc", vids[3]), ("doc", vids[2])]), []), 40,
                    "noncurrent expiry and marker removal")
        self.assertEqual(self.body(b, "doc"), b"v3")
        self.assertEqual(self.body(b, "doc", VersionId=vids[2]), b"v2")
        self.assertNotIn(lone, str(versions()))

    def test_expiry_in_a_versioned_bucket_leaves_a_marker(self):
        b = self.bucket("Enabled")
        v = self.s3.put_object(Bucket=b, Key="k", Body=b"x")["VersionId"]
        self.s3.put_bucket_lifecycle_configuration(Bucket=b, LifecycleConfiguration={"Rules": [rule("e", days=1)]})
        hf.wait_for(lambda: self.s3.list_object_versions(Bucket=b).get("DeleteMarkers"), 30, "a marker")
        self.assertEqual(self.body(b, "k", VersionId=v), b"x")  # the data is still there
        self.assertError("NoSuchKey", 404, self.s3.get_object, Bucket=b, Key="k")

    def test_abort_incomplete_uploads(self):
        b = self.bucket()
        u = self.s3.create_multipart_upload(Bucket=b, Key="stale/x")["UploadId"]
        self.s3.upload_part(Bucket=b, Key="stale/x", UploadId=u, PartNumber=1, Body=b"p" * BIG)
        other = self.s3.create_multipart_upload(Bucket=b, Key="fresh/x")["UploadId"]
        self.s3.put_bucket_lifecycle_configuration(Bucket=b, LifecycleConfiguration={"Rules": [
            {"ID": "a", "Status": "Enabled", "Filter": {"Prefix": "stale/"},
             "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1}}]})

        def ids():
            return [x["UploadId"] for x in self.s3.list_multipart_uploads(Bucket=b).get("Uploads", [])]
        hf.wait_for(lambda: ids() == [other], 30, "the stale upload aborted")
        self.assertError("NoSuchUpload", 404, self.s3.list_parts, Bucket=b, Key="stale/x", UploadId=u)

    def test_object_lock_is_respected(self):
        hf.S3Case.counter += 1
        b = "lc-lock-%d-%d" % (os.getpid() % 10000, hf.S3Case.counter)
        self.s3.create_bucket(Bucket=b, ObjectLockEnabledForBucket=True)
        self.addCleanup(self.purge, b)
        until = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=120)
        v1 = self.s3.put_object(Bucket=b, Key="k", Body=b"old", ObjectLockMode="GOVERNANCE",
                                ObjectLockRetainUntilDate=until)["VersionId"]
        self.s3.put_object(Bucket=b, Key="k", Body=b"new")
        self.s3.put_bucket_lifecycle_configuration(Bucket=b, LifecycleConfiguration={"Rules": [
            {"ID": "nc", "Status": "Enabled", "Filter": {}, "NoncurrentVersionExpiration": {"NoncurrentDays": 1}}]})
        hf.wait_for(lambda: "held" in lc_status(hf.SHARED) and
                    int(lc_status(hf.SHARED).split("held")[1].split()[0]) > 0, 30, "a held removal")
        self.assertEqual(self.body(b, "k", VersionId=v1), b"old")


class Space(unittest.TestCase):
    def test_bytes_return_to_baseline_and_live_versions_read(self):
        server = hf.Server(args=DAY).start()
        try:
            s3 = hf.boto3_client(server)
            s3.create_bucket(Bucket="space")
            s3.put_bucket_versioning(Bucket="space", VersioningConfiguration={"Status": "Enabled"})
            s3.put_object(Bucket="space", Key="keep", Body=os.urandom(BIG))
            base = chunk_bytes(server)
            vids = []
            for i in range(5):
                vids.append(s3.put_object(Bucket="space", Key="churn", Body=os.urandom(BIG))["VersionId"])
            u = s3.create_multipart_upload(Bucket="space", Key="abandoned")["UploadId"]
            s3.upload_part(Bucket="space", Key="abandoned", UploadId=u, PartNumber=1, Body=os.urandom(BIG))
            self.assertGreater(chunk_bytes(server), base + 5 * BIG)
            s3.put_bucket_lifecycle_configuration(Bucket="space", LifecycleConfiguration={"Rules": [
                {"ID": "all", "Status": "Enabled", "Filter": {"Prefix": "churn"}, "Expiration": {"Days": 1},
                 "NoncurrentVersionExpiration": {"NoncurrentDays": 1}},
                {"ID": "markers", "Status": "Enabled", "Filter": {}, "Expiration": {"ExpiredObjectDeleteMarker": True}},
                {"ID": "mpu", "Status": "Enabled", "Filter": {}, "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1}},
            ]})
            hf.wait_for(lambda: chunk_bytes(server) == base, 60, "space to return to its baseline")
            r = s3.list_object_versions(Bucket="space")
            self.assertEqual([v["Key"] for v in r.get("Versions", [])], ["keep"])
            self.assertEqual(len(s3.get_object(Bucket="space", Key="keep")["Body"].read()), BIG)
        finally:
            server.cleanup()


class Resume(unittest.TestCase):
    def test_a_pass_resumes_after_kill(self):
        server = hf.Server(args=["--lifecycle-day-seconds", "1", "--lifecycle-interval", "1s",
                                 "--lifecycle-rate", "40"]).start()
        try:
            s3 = hf.boto3_client(server)
            s3.create_bucket(Bucket="resume")
            n = 300
            for i in range(n):
                s3.put_object(Bucket="resume", Key="k%04d" % i, Body=b"x")
            time.sleep(1.1)
            s3.put_bucket_lifecycle_configuration(Bucket="resume", LifecycleConfiguration={
                "Rules": [rule("all", days=1)]})

            def examined():
                rc, out, _ = hf.admin(server, "lifecycle", "status")
                return int(out.split("examined")[1].split()[0]) if rc == 0 else 0
            hf.wait_for(lambda: examined() >= 100, 30, "the pass to be under way")
            server.kill()
            server.start()
            s3 = hf.boto3_client(server)
            hf.wait_for(lambda: "Contents" not in s3.list_objects_v2(Bucket="resume"), 60, "the pass to finish")
            # resumed from the saved position, not from the start
            self.assertLess(examined(), n)
        finally:
            server.cleanup()


if __name__ == "__main__":
    hf.main(__file__)
