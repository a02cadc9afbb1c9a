#!/usr/bin/python3
"""Object Lock through boto3 against a real server: lock-enabled buckets,
default retention, retention and legal hold per version, deletes and
overwrites of locked versions refused in governance and compliance mode,
the governance bypass (only for callers that hold
s3:BypassGovernanceRetention), and compliance retention that can never be
shortened."""
import base64
import datetime
import hashlib
import json
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hf  # noqa: E402

setUpModule = hf.start_shared
tearDownModule = hf.stop_shared


def md5(data):
    return base64.b64encode(hashlib.md5(data).digest()).decode()


def later(seconds):
    return datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=seconds)


class Lock(hf.S3Case):
    def lock_bucket(self):
        hf.S3Case.counter += 1
        name = "lock-%d-%d" % (os.getpid() % 10000, hf.S3Case.counter)
        self.s3.create_bucket(Bucket=name, ObjectLockEnabledForBucket=True)
        self.addCleanup(self.purge, name)
        return name

    def put_locked(self, b, key, data, mode, seconds, **kw):
        return self.s3.put_object(Bucket=b, Key=key, Body=data, ContentMD5=md5(data),
                                  ObjectLockMode=mode, ObjectLockRetainUntilDate=later(seconds), **kw)

    def test_bucket_configuration(self):
        b = self.lock_bucket()
        self.assertEqual(self.s3.get_bucket_versioning(Bucket=b)["Status"], "Enabled")
        self.assertError("InvalidBucketState", 409, self.s3.put_bucket_versioning, Bucket=b,
                         VersioningConfiguration={"Status": "Suspended"})
        c = self.s3.get_object_lock_configuration(Bucket=b)["ObjectLockConfiguration"]
        self.assertEqual(c, {"ObjectLockEnabled": "Enabled"})
        self.s3.put_object_lock_configuration(Bucket=b, ObjectLockConfiguration={
            "ObjectLockEnabled": "Enabled",
            "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 1}}})
        c = self.s3.get_object_lock_configuration(Bucket=b)["ObjectLockConfiguration"]
        self.assertEqual(c["Rule"]["DefaultRetention"], {"Mode": "GOVERNANCE", "Days": 1})
        for bad in ({"Mode": "GOVERNANCE", "Days": 1, "Years": 1}, {"Mode": "GOVERNANCE"},
                    {"Mode": "FOREVER", "Days": 1}):
            with self.assertRaises(Exception):
                self.s3.put_object_lock_configuration(Bucket=b, ObjectLockConfiguration={
                    "ObjectLockEnabled": "Enabled", "Rule": {"DefaultRetention": bad}})
        # the default applies to new versions written without settings
        self.s3.put_object(Bucket=b, Key="k", Body=b"x")
        h = self.s3.head_object(Bucket=b, Key="k")
        self.assertEqual(h["ObjectLockMode"], "GOVERNANCE")
        left = (h["ObjectLockRetainUntilDate"] - datetime.datetime.now(datetime.timezone.utc)).total_seconds()
        self.assertTrue(86000 < left <= 86400, left)
        self.assertEqual(h["ObjectLockLegalHoldStatus"], "OFF")

    def test_enabling_on_an_existing_bucket(self):
        b = self.bucket()
        self.assertError("ObjectLockConfigurationNotFoundError", 404, self.s3.get_object_lock_configuration, Bucket=b)
        cfg = {"ObjectLockEnabled": "Enabled"}
        self.assertError("InvalidBucketState", 409, self.s3.put_object_lock_configuration, Bucket=b,
                         ObjectLockConfiguration=cfg)
        self.assertError("InvalidRequest", 400, self.put_locked, b, "k", b"x", "GOVERNANCE", 60)
        self.s3.put_bucket_versioning(Bucket=b, VersioningConfiguration={"Status": "Enabled"})
        self.s3.put_object_lock_configuration(Bucket=b, ObjectLockConfiguration=cfg)
        self.put_locked(b, "k", b"x", "GOVERNANCE", 60)

    def test_governance(self):
        b = self.lock_bucket()
        v = self.put_locked(b, "g", b"data", "GOVERNANCE", 3600)["VersionId"]
        r = self.s3.get_object_retention(Bucket=b, Key="g")["Retention"]
        self.assertEqual(r["Mode"], "GOVERNANCE")
        self.assertError("AccessDenied", 403, self.s3.delete_object, Bucket=b, Key="g", VersionId=v)
        # shortening needs the bypass
        self.assertError("AccessDenied", 403, self.s3.put_object_retention, Bucket=b, Key="g",
                         Retention={"Mode": "GOVERNANCE", "RetainUntilDate": later(60)})
        self.s3.put_object_retention(Bucket=b, Key="g", Retention={"Mode": "GOVERNANCE", "RetainUntilDate": later(60)},
                                     BypassGovernanceRetention=True)
        # extending does not
        self.s3.put_object_retention(Bucket=b, Key="g", Retention={"Mode": "GOVERNANCE", "RetainUntilDate": later(7200)})
        # overwriting makes a new version; the locked one stays
        self.s3.put_object(Bucket=b, Key="g", Body=b"newer")
        self.assertEqual(self.body(b, "g", VersionId=v), b"data")
        # a delete without a version only adds a marker
        d = self.s3.delete_object(Bucket=b, Key="g")
        self.assertTrue(d["DeleteMarker"])
        self.assertEqual(self.body(b, "g", VersionId=v), b"data")
        r = self.s3.delete_objects(Bucket=b, Delete={"Objects": [{"Key": "g", "VersionId": v}]})
        self.assertEqual(r["Errors"][0]["Code"], "AccessDenied")
        self.s3.delete_object(Bucket=b, Key="g", VersionId=v, BypassGovernanceRetention=True)
        self.assertError("NoSuchVersion", 404, self.s3.get_object, Bucket=b, Key="g", VersionId=v)

    def test_compliance_is_never_shortened(self):
        b = self.lock_bucket()
        v = self.put_locked(b, "c", b"data", "COMPLIANCE", 3)["VersionId"]
        self.assertError("AccessDenied", 403, self.s3.delete_object, Bucket=b, Key="c", VersionId=v)
        self.assertError("AccessDenied", 403, self.s3.delete_object, Bucket=b, Key="c", VersionId=v,
                         BypassGovernanceRetention=True)
        for ret in ({"Mode": "COMPLIANCE", "RetainUntilDate": later(1)},
                    {"Mode": "GOVERNANCE", "RetainUntilDate": later(3600)}):
            self.assertError("AccessDenied", 403, self.s3.put_object_retention, Bucket=b, Key="c",
                             Retention=ret, BypassGovernanceRetention=True)
        # extending is allowed: then it is held for longer
        self.s3.put_object_retention(Bucket=b, Key="c", Retention={"Mode": "COMPLIANCE", "RetainUntilDate": later(5)})
        self.assertError("AccessDenied", 403, self.s3.delete_object, Bucket=b, Key="c", VersionId=v)
        # once the date has passed the version can go
        hf.wait_for(lambda: self.s3.delete_object(Bucket=b, Key="c", VersionId=v), timeout=15,
                    what="retention to expire")
        self.assertNotIn(v, [x["VersionId"] for x in self.s3.list_object_versions(Bucket=b).get("Versions", [])])

    def test_legal_hold(self):
        b = self.lock_bucket()
        v = self.s3.put_object(Bucket=b, Key="h", Body=b"x", ObjectLockLegalHoldStatus="ON",
                               ContentMD5=md5(b"x"))["VersionId"]
        self.assertEqual(self.s3.get_object_legal_hold(Bucket=b, Key="h")["LegalHold"]["Status"], "ON")
        self.assertError("AccessDenied", 403, self.s3.delete_object, Bucket=b, Key="h", VersionId=v,
                         BypassGovernanceRetention=True)
        self.s3.put_object_legal_hold(Bucket=b, Key="h", VersionId=v, LegalHold={"Status": "OFF"})
        self.s3.delete_object(Bucket=b, Key="h", VersionId=v)

    def test_bad_requests(self):
        b = self.lock_bucket()
        # a retention date needs an integrity check (this boto3 adds a
        # Content-MD5 by itself: take it away), a mode, and the future
        bare = hf.boto3_client(hf.SHARED)

        def no_md5(request, **_):
            if "Content-MD5" in request.headers:
                del request.headers["Content-MD5"]
        bare.meta.events.register("before-sign.s3.PutObject", no_md5)
        self.assertError("InvalidRequest", 400, bare.put_object, Bucket=b, Key="k", Body=b"x",
                         ObjectLockMode="GOVERNANCE", ObjectLockRetainUntilDate=later(60))
        self.assertError("InvalidArgument", 400, self.s3.put_object, Bucket=b, Key="k", Body=b"x",
                         ContentMD5=md5(b"x"), ObjectLockRetainUntilDate=later(60))
        self.assertError("InvalidArgument", 400, self.put_locked, b, "k", b"x", "GOVERNANCE", -60)
        self.s3.put_object(Bucket=b, Key="plain", Body=b"x")
        self.assertError("NoSuchObjectLockConfiguration", 404, self.s3.get_object_retention, Bucket=b, Key="plain")
        self.assertError("NoSuchKey", 404, self.s3.put_object_legal_hold, Bucket=b, Key="absent",
                         LegalHold={"Status": "ON"})
        plain = self.bucket()
        self.s3.put_object(Bucket=plain, Key="k", Body=b"x")
        self.assertError("InvalidRequest", 400, self.s3.put_object_legal_hold, Bucket=plain, Key="k",
                         LegalHold={"Status": "ON"})

    def test_multipart_and_copy_get_their_own_settings(self):
        b = self.lock_bucket()
        u = self.s3.create_multipart_upload(Bucket=b, Key="mp", ObjectLockMode="GOVERNANCE",
                                            ObjectLockRetainUntilDate=later(3600))
        e = self.s3.upload_part(Bucket=b, Key="mp", UploadId=u["UploadId"], PartNumber=1, Body=b"p")["ETag"]
        v = self.s3.complete_multipart_upload(Bucket=b, Key="mp", UploadId=u["UploadId"], MultipartUpload={
            "Parts": [{"PartNumber": 1, "ETag": e}]})["VersionId"]
        self.assertEqual(self.s3.head_object(Bucket=b, Key="mp")["ObjectLockMode"], "GOVERNANCE")
        self.assertError("AccessDenied", 403, self.s3.delete_object, Bucket=b, Key="mp", VersionId=v)
        # a copy does not inherit the source's lock
        c = self.s3.copy_object(Bucket=b, Key="copy", CopySource={"Bucket": b, "Key": "mp"})
        self.assertNotIn("ObjectLockMode", self.s3.head_object(Bucket=b, Key="copy"))
        self.s3.delete_object(Bucket=b, Key="copy", VersionId=c["VersionId"])

    def test_bypass_needs_the_permission(self):
        # Another account may delete versions by the bucket policy; the
        # bypass header counts only once the policy also allows
        # s3:BypassGovernanceRetention, and a Deny of it binds the owner.
        bob, bob_id = hf.make_user(hf.SHARED, "lock-bob-%d" % os.getpid())
        b = self.lock_bucket()
        v1 = self.put_locked(b, "g", b"one", "GOVERNANCE", 3600)["VersionId"]
        v2 = self.put_locked(b, "g", b"two", "GOVERNANCE", 3600)["VersionId"]
        v3 = self.put_locked(b, "g", b"three", "GOVERNANCE", 3600)["VersionId"]
        plain = self.s3.put_object(Bucket=b, Key="plain", Body=b"p")["VersionId"]
        self.s3.put_object_retention(Bucket=b, Key="plain", VersionId=plain,
                                     Retention={"Mode": "GOVERNANCE", "RetainUntilDate": later(1)})

        def policy(*extra):
            stmts = [{"Effect": "Allow", "Principal": {"CanonicalUser": bob_id},
                      "Action": ["s3:DeleteObject", "s3:DeleteObjectVersion", "s3:PutObjectRetention"],
                      "Resource": "arn:aws:s3:::%s/*" % b}] + list(extra)
            self.s3.put_bucket_policy(Bucket=b, Policy=json.dumps({"Version": "2012-10-17", "Statement": stmts}))
        policy()
        self.assertError("AccessDenied", 403, bob.delete_object, Bucket=b, Key="g", VersionId=v1,
                         BypassGovernanceRetention=True)
        r = bob.delete_objects(Bucket=b, BypassGovernanceRetention=True,
                               Delete={"Objects": [{"Key": "g", "VersionId": v1}]})
        self.assertEqual(r["Errors"][0]["Code"], "AccessDenied")
        self.assertError("AccessDenied", 403, bob.put_object_retention, Bucket=b, Key="g", VersionId=v1,
                         Retention={"Mode": "GOVERNANCE", "RetainUntilDate": later(60)},
                         BypassGovernanceRetention=True)
        self.assertEqual(self.body(b, "g", VersionId=v1), b"one")
        # what the policy gives without the bypass still works
        hf.wait_for(lambda: bob.delete_object(Bucket=b, Key="plain", VersionId=plain), timeout=15,
                    what="the short retention to pass")
        policy({"Effect": "Allow", "Principal": {"CanonicalUser": bob_id},
                "Action": "s3:BypassGovernanceRetention", "Resource": "arn:aws:s3:::%s/*" % b})
        bob.delete_object(Bucket=b, Key="g", VersionId=v1, BypassGovernanceRetention=True)
        r = bob.delete_objects(Bucket=b, BypassGovernanceRetention=True,
                               Delete={"Objects": [{"Key": "g", "VersionId": v2}]})
        self.assertEqual(r.get("Errors", []), [])
        left = [x["VersionId"] for x in self.s3.list_object_versions(Bucket=b, Prefix="g")["Versions"]]
        self.assertEqual(left, [v3])
        # an explicit Deny of the bypass holds the owner too
        policy({"Effect": "Deny", "Principal": "*", "Action": "s3:BypassGovernanceRetention",
                "Resource": "arn:aws:s3:::%s/*" % b})
        self.assertError("AccessDenied", 403, self.s3.delete_object, Bucket=b, Key="g", VersionId=v3,
                         BypassGovernanceRetention=True)
        self.assertEqual(self.body(b, "g", VersionId=v3), b"three")
        self.s3.delete_bucket_policy(Bucket=b)
        self.s3.delete_object(Bucket=b, Key="g", VersionId=v3, BypassGovernanceRetention=True)

        # An ACL grant of WRITE lets another account delete versions, never
        # bypass retention: no ACL grants s3:BypassGovernanceRetention.
        hf.S3Case.counter += 1
        a = "lock-acl-%d-%d" % (os.getpid() % 10000, hf.S3Case.counter)
        self.s3.create_bucket(Bucket=a, ObjectLockEnabledForBucket=True, ObjectOwnership="ObjectWriter")
        self.addCleanup(self.purge, a)
        self.s3.put_public_access_block(Bucket=a, PublicAccessBlockConfiguration={
            "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True})
        owner = self.s3.list_buckets()["Owner"]["ID"]
        self.s3.put_bucket_acl(Bucket=a, GrantFullControl='id="%s"' % owner, GrantWrite='id="%s"' % bob_id)
        locked = self.put_locked(a, "k", b"kept", "GOVERNANCE", 3600)["VersionId"]
        free = self.s3.put_object(Bucket=a, Key="free", Body=b"f")["VersionId"]
        self.assertError("AccessDenied", 403, bob.delete_object, Bucket=a, Key="k", VersionId=locked,
                         BypassGovernanceRetention=True)
        r = bob.delete_objects(Bucket=a, BypassGovernanceRetention=True,
                               Delete={"Objects": [{"Key": "k", "VersionId": locked}]})
        self.assertEqual(r["Errors"][0]["Code"], "AccessDenied")
        self.assertEqual(self.body(a, "k", VersionId=locked), b"kept")
        bob.delete_object(Bucket=a, Key="free", VersionId=free)
        self.assertError("NoSuchVersion", 404, self.s3.get_object, Bucket=a, Key="free", VersionId=free)


if __name__ == "__main__":
    hf.main(__file__)
