#!/usr/bin/python3
"""Defaults for new buckets, chosen by the operator:
--default-object-ownership BucketOwnerEnforced|BucketOwnerPreferred|ObjectWriter
(HOLDFAST_DEFAULT_OBJECT_OWNERSHIP) and --default-block-public-access on|off
(HOLDFAST_DEFAULT_BLOCK_PUBLIC_ACCESS). Without them a bucket is what S3
makes since April 2023: ACLs off, all of Block Public Access on. Each
setting is checked by what a bucket made under it does: ACLs accepted or
refused, public ACLs and policies allowed or blocked; an explicit
x-amz-object-ownership on CreateBucket wins over the default.
"""
import json
import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hf  # noqa: E402


def public_policy(bucket):
    return json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
        "Resource": "arn:aws:s3:::%s/*" % bucket}]})


class Defaults(hf.OwnServerCase):
    def setUp(self):
        self.s3 = hf.boto3_client(self.srv)
        self.other, self.other_id = hf.make_user(self.srv, "other-%s" % self.id().split(".")[-1][:20].lower()
                                                 .replace("_", "-"))

    def code(self, fn, **kw):
        from botocore.exceptions import ClientError
        try:
            fn(**kw)
        except ClientError as e:
            return e.response["Error"]["Code"]
        return "OK"

    def ownership(self, b):
        return self.s3.get_bucket_ownership_controls(Bucket=b)["OwnershipControls"]["Rules"][0]["ObjectOwnership"]

    def pab(self, b):
        r = self.code(self.s3.get_public_access_block, Bucket=b)
        if r != "OK":
            return r
        c = self.s3.get_public_access_block(Bucket=b)["PublicAccessBlockConfiguration"]
        return sorted(k for k, v in c.items() if v)

    def anonymous_get(self, b, k):
        st, _, body = hf.http("%s/%s/%s" % (self.srv.endpoint, b, k))
        return st, body


class EnforcedAndBlocked(Defaults):
    """No flags: S3's defaults."""

    def test_acls_off_public_blocked(self):
        self.s3.create_bucket(Bucket="plain")
        self.assertEqual(self.ownership("plain"), "BucketOwnerEnforced")
        self.assertEqual(self.pab("plain"), ["BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls",
                                             "RestrictPublicBuckets"])
        self.assertEqual(self.code(self.s3.put_bucket_acl, Bucket="plain", ACL="public-read"),
                         "AccessControlListNotSupported")
        self.assertEqual(self.code(self.s3.put_object, Bucket="plain", Key="k", Body=b"x",
                                   GrantRead="id=" + self.other_id), "AccessControlListNotSupported")
        self.assertEqual(self.code(self.s3.put_bucket_policy, Bucket="plain", Policy=public_policy("plain")),
                         "AccessDenied")
        self.assertEqual(self.code(self.s3.create_bucket, Bucket="plain-acl", ACL="public-read"),
                         "InvalidBucketAclWithObjectOwnership")

    def test_explicit_ownership_wins(self):
        self.s3.create_bucket(Bucket="writer", ObjectOwnership="ObjectWriter")
        self.assertEqual(self.ownership("writer"), "ObjectWriter")
        self.s3.put_bucket_acl(Bucket="writer", GrantRead="id=" + self.other_id)
        # Block Public Access still applies
        self.assertEqual(self.code(self.s3.put_bucket_acl, Bucket="writer", ACL="public-read"), "AccessDenied")


class ObjectWriterOpen(Defaults):
    """Both defaults changed on the command line: a bucket of the kind
    MinIO or Ceph users know, ACLs on, nothing blocked."""
    ARGS = ["--default-object-ownership", "ObjectWriter", "--default-block-public-access", "off"]

    def test_acls_on_public_allowed(self):
        self.s3.create_bucket(Bucket="open")
        self.assertEqual(self.ownership("open"), "ObjectWriter")
        self.assertEqual(self.pab("open"), "NoSuchPublicAccessBlockConfiguration")
        self.s3.put_object(Bucket="open", Key="k", Body=b"hello", ACL="public-read")
        self.assertEqual(self.anonymous_get("open", "k"), (200, b"hello"))
        self.s3.put_bucket_acl(Bucket="open", ACL="public-read")
        self.s3.put_bucket_policy(Bucket="open", Policy=public_policy("open"))
        self.assertTrue(self.s3.get_bucket_policy_status(Bucket="open")["PolicyStatus"]["IsPublic"])
        # the writer owns what it writes (ObjectWriter)
        self.s3.put_bucket_acl(Bucket="open", GrantWrite="id=" + self.other_id,
                               GrantFullControl="id=" + self.s3.list_buckets()["Owner"]["ID"])
        self.other.put_object(Bucket="open", Key="theirs", Body=b"x")
        self.assertEqual(self.other.get_object_acl(Bucket="open", Key="theirs")["Owner"]["ID"], self.other_id)
        # a public ACL on CreateBucket is allowed too
        self.s3.create_bucket(Bucket="open2", ACL="public-read")
        self.assertEqual(self.anonymous_get("open2", "")[0], 200)

    def test_explicit_ownership_wins(self):
        self.s3.create_bucket(Bucket="enforced", ObjectOwnership="BucketOwnerEnforced")
        self.assertEqual(self.ownership("enforced"), "BucketOwnerEnforced")
        self.assertEqual(self.code(self.s3.put_bucket_acl, Bucket="enforced", ACL="public-read"),
                         "AccessControlListNotSupported")
        # ...and the Block Public Access default still is off there
        self.s3.put_bucket_policy(Bucket="enforced", Policy=public_policy("enforced"))


class PreferredBlockedByEnv(Defaults):
    """The environment variables, with ACLs on but public access blocked."""
    ENV = {"HOLDFAST_DEFAULT_OBJECT_OWNERSHIP": "BucketOwnerPreferred",
           "HOLDFAST_DEFAULT_BLOCK_PUBLIC_ACCESS": "on"}

    def test_acls_on_public_blocked(self):
        self.s3.create_bucket(Bucket="pref")
        self.assertEqual(self.ownership("pref"), "BucketOwnerPreferred")
        self.assertEqual(len(self.pab("pref")), 4)
        self.s3.put_bucket_acl(Bucket="pref", GrantWrite="id=" + self.other_id,
                               GrantFullControl="id=" + self.s3.list_buckets()["Owner"]["ID"])
        self.assertEqual(self.code(self.s3.put_bucket_acl, Bucket="pref", ACL="public-read"), "AccessDenied")
        self.assertEqual(self.code(self.s3.put_bucket_policy, Bucket="pref", Policy=public_policy("pref")),
                         "AccessDenied")
        # bucket-owner-full-control hands the object to the bucket owner
        self.other.put_object(Bucket="pref", Key="given", Body=b"x", ACL="bucket-owner-full-control")
        self.other.put_object(Bucket="pref", Key="kept", Body=b"x")
        owner_id = self.s3.list_buckets()["Owner"]["ID"]
        self.assertEqual(self.s3.get_object_acl(Bucket="pref", Key="given")["Owner"]["ID"], owner_id)
        self.assertEqual(self.other.get_object_acl(Bucket="pref", Key="kept")["Owner"]["ID"], self.other_id)
        self.assertEqual(self.code(self.s3.create_bucket, Bucket="pref2", ACL="public-read"),
                         "InvalidBucketAclWithBlockPublicAccessError")


class FlagBeatsEnv(Defaults):
    ARGS = ["--default-object-ownership", "BucketOwnerEnforced"]
    ENV = {"HOLDFAST_DEFAULT_OBJECT_OWNERSHIP": "ObjectWriter",
           "HOLDFAST_DEFAULT_BLOCK_PUBLIC_ACCESS": "off"}

    def test_flag_wins(self):
        self.s3.create_bucket(Bucket="mixed")
        self.assertEqual(self.ownership("mixed"), "BucketOwnerEnforced")
        self.assertEqual(self.pab("mixed"), "NoSuchPublicAccessBlockConfiguration")


class BadValues(unittest.TestCase):
    def run_server(self, args, env=None):
        e = dict(os.environ, **(env or {}))
        return subprocess.run([hf.BIN, "server"] + args, capture_output=True, text=True, timeout=30, env=e)

    def test_refused_with_what_to_do(self):
        for args, env, flag in (
                (["--default-object-ownership", "objectwriter"], None, "--default-object-ownership"),
                (["--default-object-ownership", ""], None, "--default-object-ownership"),
                ([], {"HOLDFAST_DEFAULT_OBJECT_OWNERSHIP": "Owner"}, "HOLDFAST_DEFAULT_OBJECT_OWNERSHIP"),
                (["--default-block-public-access", "yes"], None, "--default-block-public-access"),
                ([], {"HOLDFAST_DEFAULT_BLOCK_PUBLIC_ACCESS": "ON"}, "HOLDFAST_DEFAULT_BLOCK_PUBLIC_ACCESS")):
            p = self.run_server(args, env)
            self.assertEqual(p.returncode, 2, (args, env, p.stderr))
            self.assertIn(flag, p.stderr)
            if "ownership" in flag.lower():
                self.assertIn("use BucketOwnerEnforced", p.stderr)
                self.assertIn("BucketOwnerPreferred or ObjectWriter", p.stderr)
            else:
                self.assertIn("use on (the default) or off", p.stderr)

    def test_help_names_them(self):
        p = subprocess.run([hf.BIN, "server", "--help"], capture_output=True, text=True, timeout=30)
        self.assertIn("--default-object-ownership", p.stdout)
        self.assertIn("--default-block-public-access", p.stdout)


if __name__ == "__main__":
    hf.main(__file__)
