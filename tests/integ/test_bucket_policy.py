#!/usr/bin/python3
"""Bucket policies through boto3 against a real server: Put/Get/Delete
BucketPolicy and GetBucketPolicyStatus, MalformedPolicy messages, Block
Public Access on policies, and enforcement -- principals by canonical id,
account and ARN, actions and resources with wildcards, conditions
(s3:prefix, aws:SourceIp, aws:SecureTransport, s3:ExistingObjectTag),
explicit Deny over the owner and over ACLs, DeleteObjects decided key by
key. Every grant has a twin check that its neighbour is still refused."""
import json
import os
import re
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hf  # noqa: E402


def setUpModule():
    global ALICE, ALICE_ID, ALICE_ACCOUNT, ANON
    hf.start_shared()
    ALICE, ALICE_ID = hf.make_user(hf.SHARED, "alice")
    rc, out, err = hf.admin(hf.SHARED, "user", "show", "alice")
    assert rc == 0, err
    ALICE_ACCOUNT = re.search(r"^account:\s+(\d{12})$", out, re.M).group(1)
    ANON = hf.anonymous_client(hf.SHARED)


tearDownModule = hf.stop_shared


def doc(*statements):
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


class Base(hf.S3Case):
    def put(self, b, *statements):
        self.s3.put_bucket_policy(Bucket=b, Policy=doc(*statements))


class Settings(Base):
    def test_put_get_delete_and_status(self):
        b = self.bucket()
        self.assertError("NoSuchBucketPolicy", 404, self.s3.get_bucket_policy, Bucket=b)
        self.assertError("NoSuchBucketPolicy", 404, self.s3.get_bucket_policy_status, Bucket=b)
        text = doc({"Sid": "Alice", "Effect": "Allow", "Principal": {"CanonicalUser": ALICE_ID},
                    "Action": "s3:GetObject", "Resource": "arn:aws:s3:::%s/*" % b})
        self.s3.put_bucket_policy(Bucket=b, Policy=text)
        self.assertEqual(self.s3.get_bucket_policy(Bucket=b)["Policy"], text)
        self.assertEqual(self.s3.get_bucket_policy_status(Bucket=b)["PolicyStatus"], {"IsPublic": False})
        self.assertError("AccessDenied", 403, ALICE.get_bucket_policy, Bucket=b)
        self.s3.delete_bucket_policy(Bucket=b)
        self.assertError("NoSuchBucketPolicy", 404, self.s3.get_bucket_policy, Bucket=b)

    def test_malformed_policies_say_why(self):
        b = self.bucket()
        cases = [
            ("not json", "valid JSON"),
            (doc({"Effect": "Allow", "Principal": "*", "Action": "s3:GetObjekt",
                  "Resource": "arn:aws:s3:::%s/*" % b}), "GetObjekt"),
            (doc({"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
                  "Resource": "arn:aws:s3:::another-bucket/*"}), "resource"),
            (doc({"Effect": "Maybe", "Principal": "*", "Action": "s3:GetObject",
                  "Resource": "arn:aws:s3:::%s/*" % b}), "Effect"),
        ]
        for text, fragment in cases:
            e = self.assertError("MalformedPolicy", 400, self.s3.put_bucket_policy, Bucket=b, Policy=text)
            self.assertIn(fragment.lower(), e.response["Error"]["Message"].lower(), text)
        big = doc(*[{"Sid": "S%d" % i, "Effect": "Allow", "Principal": {"CanonicalUser": ALICE_ID},
                     "Action": "s3:GetObject", "Resource": "arn:aws:s3:::%s/k%d" % (b, i)} for i in range(200)])
        self.assertGreater(len(big), 20 * 1024)
        self.assertError("MalformedPolicy", 400, self.s3.put_bucket_policy, Bucket=b, Policy=big)
        self.assertError("NoSuchBucketPolicy", 404, self.s3.get_bucket_policy, Bucket=b)

    def test_public_policy_and_block_public_access(self):
        b = self.bucket()
        self.s3.put_object(Bucket=b, Key="pub/a", Body=b"public")
        self.s3.put_object(Bucket=b, Key="priv/a", Body=b"private")
        public = {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
                  "Resource": "arn:aws:s3:::%s/pub/*" % b}
        # BlockPublicPolicy (on for new buckets) refuses it
        self.assertError("AccessDenied", 403, self.put, b, public)
        self.s3.delete_public_access_block(Bucket=b)
        self.put(b, public)
        self.assertEqual(self.s3.get_bucket_policy_status(Bucket=b)["PolicyStatus"], {"IsPublic": True})
        self.assertEqual(ANON.get_object(Bucket=b, Key="pub/a")["Body"].read(), b"public")
        self.assertError("AccessDenied", 403, ANON.get_object, Bucket=b, Key="priv/a")
        self.assertError("AccessDenied", 403, ANON.put_object, Bucket=b, Key="pub/new", Body=b"x")
        self.assertError("AccessDenied", 403, ANON.list_objects_v2, Bucket=b)
        # RestrictPublicBuckets: the public policy now grants only the owner
        self.s3.put_public_access_block(Bucket=b, PublicAccessBlockConfiguration={"RestrictPublicBuckets": True})
        self.assertError("AccessDenied", 403, ANON.get_object, Bucket=b, Key="pub/a")
        self.s3.get_object(Bucket=b, Key="pub/a")


class Enforcement(Base):
    def test_principals_by_canonical_id_account_and_arn(self):
        for principal in ({"CanonicalUser": ALICE_ID}, {"AWS": ALICE_ACCOUNT},
                          {"AWS": "arn:aws:iam::%s:root" % ALICE_ACCOUNT},
                          {"AWS": "arn:aws:iam::%s:user/alice" % ALICE_ACCOUNT}):
            b = self.bucket()
            self.s3.put_object(Bucket=b, Key="k", Body=b"for alice")
            self.put(b, {"Effect": "Allow", "Principal": principal, "Action": ["s3:GetObject"],
                         "Resource": "arn:aws:s3:::%s/*" % b})
            self.assertEqual(ALICE.get_object(Bucket=b, Key="k")["Body"].read(), b"for alice", principal)
            self.assertError("AccessDenied", 403, ALICE.put_object, Bucket=b, Key="k2", Body=b"x")
            self.assertError("AccessDenied", 403, ALICE.delete_object, Bucket=b, Key="k")
            self.assertError("AccessDenied", 403, ANON.get_object, Bucket=b, Key="k")

    def test_prefix_condition_on_listing(self):
        b = self.bucket()
        for k in ("home/alice/1", "home/bob/1"):
            self.s3.put_object(Bucket=b, Key=k, Body=b"x")
        self.put(b, {"Effect": "Allow", "Principal": {"CanonicalUser": ALICE_ID}, "Action": "s3:ListBucket",
                     "Resource": "arn:aws:s3:::%s" % b,
                     "Condition": {"StringLike": {"s3:prefix": "home/alice/*"}}},
                 {"Effect": "Allow", "Principal": {"CanonicalUser": ALICE_ID}, "Action": "s3:*Object",
                  "Resource": "arn:aws:s3:::%s/home/alice/*" % b})
        r = ALICE.list_objects_v2(Bucket=b, Prefix="home/alice/")
        self.assertEqual([o["Key"] for o in r["Contents"]], ["home/alice/1"])
        self.assertError("AccessDenied", 403, ALICE.list_objects_v2, Bucket=b, Prefix="home/bob/")
        self.assertError("AccessDenied", 403, ALICE.list_objects_v2, Bucket=b)
        ALICE.put_object(Bucket=b, Key="home/alice/2", Body=b"mine")
        self.assertError("AccessDenied", 403, ALICE.put_object, Bucket=b, Key="home/bob/2", Body=b"x")
        self.assertError("AccessDenied", 403, ALICE.get_object, Bucket=b, Key="home/bob/1")

    def test_source_ip(self):
        b = self.bucket()
        self.s3.put_object(Bucket=b, Key="k", Body=b"x")

        def allow(cidr):
            self.put(b, {"Effect": "Allow", "Principal": {"CanonicalUser": ALICE_ID}, "Action": "s3:GetObject",
                         "Resource": "arn:aws:s3:::%s/*" % b, "Condition": {"IpAddress": {"aws:SourceIp": cidr}}})
        allow("10.0.0.0/8")
        self.assertError("AccessDenied", 403, ALICE.get_object, Bucket=b, Key="k")
        allow("127.0.0.0/8")
        ALICE.get_object(Bucket=b, Key="k")

    def test_explicit_deny_beats_the_owner_and_acls_but_not_policy_recovery(self):
        b = self.bucket()
        self.s3.put_object(Bucket=b, Key="protected/a", Body=b"keep")
        self.s3.put_object(Bucket=b, Key="scratch/a", Body=b"go")
        self.put(b, {"Effect": "Deny", "Principal": "*", "Action": ["s3:DeleteObject", "s3:PutObject"],
                     "Resource": "arn:aws:s3:::%s/protected/*" % b})
        self.assertError("AccessDenied", 403, self.s3.delete_object, Bucket=b, Key="protected/a")
        self.assertError("AccessDenied", 403, self.s3.put_object, Bucket=b, Key="protected/a", Body=b"over")
        self.s3.delete_object(Bucket=b, Key="scratch/a")
        self.s3.get_object(Bucket=b, Key="protected/a")
        # DeleteObjects: decided per key
        self.s3.put_object(Bucket=b, Key="scratch/b", Body=b"go")
        r = self.s3.delete_objects(Bucket=b, Delete={"Objects": [{"Key": "protected/a"}, {"Key": "scratch/b"}]})
        self.assertEqual([d["Key"] for d in r.get("Deleted", [])], ["scratch/b"])
        self.assertEqual([(e["Key"], e["Code"]) for e in r.get("Errors", [])], [("protected/a", "AccessDenied")])
        # a Deny of everything still leaves the owner the policy itself
        self.put(b, {"Effect": "Deny", "Principal": "*", "Action": "s3:*",
                     "Resource": ["arn:aws:s3:::%s" % b, "arn:aws:s3:::%s/*" % b]})
        self.assertError("AccessDenied", 403, self.s3.list_objects_v2, Bucket=b)
        self.s3.get_bucket_policy(Bucket=b)
        self.s3.delete_bucket_policy(Bucket=b)
        self.s3.list_objects_v2(Bucket=b)

    def test_secure_transport(self):
        b = self.bucket()
        self.s3.put_object(Bucket=b, Key="k", Body=b"x")
        self.put(b, {"Effect": "Deny", "Principal": "*", "Action": "s3:*",
                     "Resource": ["arn:aws:s3:::%s" % b, "arn:aws:s3:::%s/*" % b],
                     "Condition": {"Bool": {"aws:SecureTransport": "false"}}})
        # this test server speaks plain HTTP: every request is refused
        self.assertError("AccessDenied", 403, self.s3.get_object, Bucket=b, Key="k")
        self.s3.delete_bucket_policy(Bucket=b)

    def test_existing_object_tag(self):
        b = self.bucket()
        self.s3.put_object(Bucket=b, Key="open", Body=b"x", Tagging="share=yes")
        self.s3.put_object(Bucket=b, Key="closed", Body=b"x", Tagging="share=no")
        self.put(b, {"Effect": "Allow", "Principal": {"CanonicalUser": ALICE_ID}, "Action": "s3:GetObject",
                     "Resource": "arn:aws:s3:::%s/*" % b,
                     "Condition": {"StringEquals": {"s3:ExistingObjectTag/share": "yes"}}})
        ALICE.get_object(Bucket=b, Key="open")
        self.assertError("AccessDenied", 403, ALICE.get_object, Bucket=b, Key="closed")

    def test_policy_grants_bucket_settings_to_another(self):
        b = self.bucket()
        self.put(b, {"Effect": "Allow", "Principal": {"CanonicalUser": ALICE_ID},
                     "Action": ["s3:GetBucketVersioning", "s3:PutBucketVersioning"],
                     "Resource": "arn:aws:s3:::%s" % b})
        ALICE.put_bucket_versioning(Bucket=b, VersioningConfiguration={"Status": "Enabled"})
        self.assertEqual(ALICE.get_bucket_versioning(Bucket=b)["Status"], "Enabled")
        self.assertError("AccessDenied", 403, ALICE.get_bucket_tagging, Bucket=b)
        self.assertError("AccessDenied", 403, ALICE.delete_bucket, Bucket=b)


if __name__ == "__main__":
    hf.main(__file__)
