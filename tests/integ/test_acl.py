#!/usr/bin/python3
"""ACLs, Object Ownership, Block Public Access and anonymous requests
through boto3 against a real server. Every test that grants something has
a twin check that the neighbouring request is still refused."""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hf  # noqa: E402

ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers"
AUTH_USERS = "http://acs.amazonaws.com/groups/global/AuthenticatedUsers"


def setUpModule():
    global ALICE, ALICE_ID, BOB, BOB_ID, ANON
    hf.start_shared()
    ALICE, ALICE_ID = hf.make_user(hf.SHARED, "alice")
    BOB, BOB_ID = hf.make_user(hf.SHARED, "bob")
    ANON = hf.anonymous_client(hf.SHARED)


tearDownModule = hf.stop_shared


def grants(acl):
    out = set()
    for g in acl["Grants"]:
        who = g["Grantee"].get("ID") or g["Grantee"].get("URI")
        out.add((who, g["Permission"]))
    return out


class Base(hf.S3Case):
    def open_bucket(self, ownership="ObjectWriter", pab=False, **create):
        """A bucket with ACLs enabled (and Block Public Access off unless pab)."""
        b = self.bucket()
        self.s3.put_bucket_ownership_controls(Bucket=b, OwnershipControls={
            "Rules": [{"ObjectOwnership": ownership}]})
        if not pab:
            self.s3.delete_public_access_block(Bucket=b)
        return b

    def owner_id(self):
        return self.s3.list_buckets()["Owner"]["ID"]


class Defaults(Base):
    def test_new_bucket_is_owner_enforced_and_blocks_public_access(self):
        b = self.bucket()
        r = self.s3.get_bucket_ownership_controls(Bucket=b)
        self.assertEqual(r["OwnershipControls"]["Rules"], [{"ObjectOwnership": "BucketOwnerEnforced"}])
        pab = self.s3.get_public_access_block(Bucket=b)["PublicAccessBlockConfiguration"]
        self.assertEqual(pab, {"BlockPublicAcls": True, "IgnorePublicAcls": True,
                               "BlockPublicPolicy": True, "RestrictPublicBuckets": True})
        self.assertEqual(grants(self.s3.get_bucket_acl(Bucket=b)), {(self.owner_id(), "FULL_CONTROL")})

    def test_acls_are_refused_while_enforced(self):
        b = self.bucket()
        self.assertError("AccessControlListNotSupported", 400, self.s3.put_object, Bucket=b, Key="k",
                         Body=b"x", ACL="public-read")
        self.assertError("AccessControlListNotSupported", 400, self.s3.put_object, Bucket=b, Key="k",
                         Body=b"x", GrantRead="id=" + ALICE_ID)
        self.assertError("AccessControlListNotSupported", 400, self.s3.put_bucket_acl, Bucket=b,
                         GrantRead="id=" + ALICE_ID)
        # the ACLs that only say what enforcement means are taken
        self.s3.put_object(Bucket=b, Key="k", Body=b"x", ACL="bucket-owner-full-control")
        self.s3.put_object(Bucket=b, Key="k", Body=b"x", ACL="private")
        self.s3.put_bucket_acl(Bucket=b, ACL="private")
        self.assertEqual(grants(self.s3.get_object_acl(Bucket=b, Key="k")), {(self.owner_id(), "FULL_CONTROL")})
        self.assertError("AccessDenied", 403, ALICE.get_object, Bucket=b, Key="k")

    def test_create_bucket_with_acls(self):
        name = "acl-create-%d" % os.getpid()
        self.assertError("InvalidBucketAclWithObjectOwnership", 400, self.s3.create_bucket, Bucket=name,
                         GrantRead="id=" + ALICE_ID)
        self.assertError("InvalidBucketAclWithBlockPublicAccessError", 400, self.s3.create_bucket, Bucket=name,
                         ACL="public-read", ObjectOwnership="ObjectWriter")
        self.assertError("InvalidArgument", 400, self.s3.create_bucket, Bucket=name, ObjectOwnership="Nobody")
        self.s3.create_bucket(Bucket=name, ObjectOwnership="ObjectWriter", GrantRead="id=" + ALICE_ID)
        self.addCleanup(self.purge, name)
        self.assertEqual(grants(self.s3.get_bucket_acl(Bucket=name)), {(ALICE_ID, "READ")})
        ALICE.list_objects_v2(Bucket=name)
        self.assertError("AccessDenied", 403, BOB.list_objects_v2, Bucket=name)

    def test_ownership_controls_and_public_access_block_settings(self):
        b = self.bucket()
        self.s3.delete_bucket_ownership_controls(Bucket=b)
        self.assertError("OwnershipControlsNotFoundError", 404, self.s3.get_bucket_ownership_controls, Bucket=b)
        self.s3.put_bucket_ownership_controls(Bucket=b, OwnershipControls={
            "Rules": [{"ObjectOwnership": "BucketOwnerPreferred"}]})
        self.assertEqual(self.s3.get_bucket_ownership_controls(Bucket=b)["OwnershipControls"]["Rules"],
                         [{"ObjectOwnership": "BucketOwnerPreferred"}])
        self.s3.put_public_access_block(Bucket=b, PublicAccessBlockConfiguration={"BlockPublicAcls": True})
        self.assertEqual(self.s3.get_public_access_block(Bucket=b)["PublicAccessBlockConfiguration"],
                         {"BlockPublicAcls": True, "IgnorePublicAcls": False, "BlockPublicPolicy": False,
                          "RestrictPublicBuckets": False})
        self.s3.delete_public_access_block(Bucket=b)
        self.assertError("NoSuchPublicAccessBlockConfiguration", 404, self.s3.get_public_access_block, Bucket=b)
        # enforcing again while the bucket ACL grants someone else is refused
        self.s3.put_bucket_acl(Bucket=b, GrantRead="id=" + ALICE_ID)
        self.assertError("InvalidBucketAclWithObjectOwnership", 400, self.s3.put_bucket_ownership_controls,
                         Bucket=b, OwnershipControls={"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]})
        # only the owner configures the bucket
        self.assertError("AccessDenied", 403, ALICE.get_bucket_ownership_controls, Bucket=b)
        self.assertError("AccessDenied", 403, ALICE.delete_public_access_block, Bucket=b)


class BucketGrants(Base):
    def test_read_lets_list_and_nothing_else(self):
        b = self.open_bucket()
        self.s3.put_object(Bucket=b, Key="k", Body=b"x")
        self.s3.put_bucket_acl(Bucket=b, GrantRead="id=" + ALICE_ID)
        self.assertEqual([o["Key"] for o in ALICE.list_objects_v2(Bucket=b)["Contents"]], ["k"])
        ALICE.head_bucket(Bucket=b)
        self.assertError("AccessDenied", 403, ALICE.get_object, Bucket=b, Key="k")
        self.assertError("AccessDenied", 403, ALICE.put_object, Bucket=b, Key="new", Body=b"x")
        self.assertError("AccessDenied", 403, ALICE.get_bucket_acl, Bucket=b)
        self.assertError("AccessDenied", 403, BOB.list_objects_v2, Bucket=b)
        # may list, so a missing key is NoSuchKey; for bob it stays AccessDenied
        self.assertError("NoSuchKey", 404, ALICE.get_object, Bucket=b, Key="absent")
        self.assertError("AccessDenied", 403, BOB.get_object, Bucket=b, Key="absent")

    def test_write_lets_create_and_delete_objects(self):
        b = self.open_bucket()
        self.s3.put_object(Bucket=b, Key="owners", Body=b"x")
        self.s3.put_bucket_acl(Bucket=b, GrantWrite="id=" + ALICE_ID)
        ALICE.put_object(Bucket=b, Key="alices", Body=b"from alice")
        ALICE.delete_object(Bucket=b, Key="owners")
        self.assertError("NoSuchKey", 404, self.s3.get_object, Bucket=b, Key="owners")
        self.assertError("AccessDenied", 403, ALICE.list_objects_v2, Bucket=b)
        self.assertError("AccessDenied", 403, BOB.put_object, Bucket=b, Key="bobs", Body=b"x")
        # ObjectWriter: alice owns what she wrote; the bucket owner may
        # delete it but not read it, as in S3
        self.assertEqual(ALICE.get_object_acl(Bucket=b, Key="alices")["Owner"]["ID"], ALICE_ID)
        self.assertEqual(ALICE.get_object(Bucket=b, Key="alices")["Body"].read(), b"from alice")
        self.assertError("AccessDenied", 403, self.s3.get_object, Bucket=b, Key="alices")
        self.s3.delete_object(Bucket=b, Key="alices")

    def test_bucket_owner_preferred(self):
        b = self.open_bucket("BucketOwnerPreferred")
        self.s3.put_bucket_acl(Bucket=b, GrantWrite="id=" + ALICE_ID)
        ALICE.put_object(Bucket=b, Key="given", Body=b"x", ACL="bucket-owner-full-control")
        ALICE.put_object(Bucket=b, Key="kept", Body=b"x")
        self.assertEqual(self.s3.get_object_acl(Bucket=b, Key="given")["Owner"]["ID"], self.owner_id())
        self.s3.get_object(Bucket=b, Key="given")
        self.assertError("AccessDenied", 403, self.s3.get_object, Bucket=b, Key="kept")

    def test_acp_grants(self):
        b = self.open_bucket()
        self.s3.put_bucket_acl(Bucket=b, GrantReadACP="id=" + ALICE_ID, GrantWriteACP="id=" + BOB_ID)
        self.assertEqual(grants(ALICE.get_bucket_acl(Bucket=b)), {(ALICE_ID, "READ_ACP"), (BOB_ID, "WRITE_ACP")})
        self.assertError("AccessDenied", 403, BOB.get_bucket_acl, Bucket=b)
        self.assertError("AccessDenied", 403, ALICE.put_bucket_acl, Bucket=b, ACL="private")
        BOB.put_bucket_acl(Bucket=b, ACL="private")
        self.assertError("AccessDenied", 403, ALICE.get_bucket_acl, Bucket=b)

    def test_acl_document(self):
        b = self.open_bucket()
        owner = self.owner_id()
        self.s3.put_bucket_acl(Bucket=b, AccessControlPolicy={
            "Owner": {"ID": owner},
            "Grants": [{"Grantee": {"Type": "CanonicalUser", "ID": owner}, "Permission": "FULL_CONTROL"},
                       {"Grantee": {"Type": "CanonicalUser", "ID": ALICE_ID}, "Permission": "READ"}]})
        self.assertEqual(grants(self.s3.get_bucket_acl(Bucket=b)), {(owner, "FULL_CONTROL"), (ALICE_ID, "READ")})
        ALICE.list_objects_v2(Bucket=b)
        self.assertError("AccessDenied", 403, self.s3.put_bucket_acl, Bucket=b, AccessControlPolicy={
            "Owner": {"ID": ALICE_ID}, "Grants": []})
        self.assertError("MalformedACLError", 400, self.s3.put_bucket_acl, Bucket=b, AccessControlPolicy={
            "Owner": {"ID": owner},
            "Grants": [{"Grantee": {"Type": "CanonicalUser", "ID": owner}, "Permission": "EVERYTHING"}]})

    def test_bad_grants(self):
        b = self.open_bucket()
        self.assertError("InvalidArgument", 400, self.s3.put_bucket_acl, Bucket=b, GrantRead='id="' + "0" * 64 + '"')
        self.assertError("UnresolvableGrantByEmailAddress", 400, self.s3.put_bucket_acl, Bucket=b,
                         GrantRead='emailAddress="someone@example.com"')
        self.assertError("InvalidArgument", 400, self.s3.put_bucket_acl, Bucket=b,
                         GrantRead='uri="http://example.com/group"')
        self.assertError("InvalidArgument", 400, self.s3.put_object, Bucket=b, Key="k", Body=b"x", ACL="everyone")
        c = hf.add_headers(hf.boto3_client(hf.SHARED), "PutObject", {"x-amz-grant-read": "id=" + ALICE_ID})
        self.assertError("InvalidRequest", 400, c.put_object, Bucket=b, Key="k", Body=b"x", ACL="private")


class ObjectGrants(Base):
    def test_object_read_grant(self):
        b = self.open_bucket()
        self.s3.put_object(Bucket=b, Key="shared", Body=b"for alice", GrantRead="id=" + ALICE_ID)
        self.s3.put_object(Bucket=b, Key="private", Body=b"not for alice")
        self.assertEqual(ALICE.get_object(Bucket=b, Key="shared")["Body"].read(), b"for alice")
        ALICE.head_object(Bucket=b, Key="shared")
        self.assertError("AccessDenied", 403, ALICE.get_object, Bucket=b, Key="private")
        self.assertError("AccessDenied", 403, ALICE.get_object_acl, Bucket=b, Key="shared")
        self.assertError("AccessDenied", 403, BOB.get_object, Bucket=b, Key="shared")
        self.assertError("AccessDenied", 403, ALICE.delete_object, Bucket=b, Key="shared")
        self.assertError("AccessDenied", 403, ALICE.put_object_tagging, Bucket=b, Key="shared",
                         Tagging={"TagSet": []})

    def test_object_acp_grants_and_put_object_acl(self):
        b = self.open_bucket()
        self.s3.put_object(Bucket=b, Key="k", Body=b"x")
        self.s3.put_object_acl(Bucket=b, Key="k", GrantReadACP="id=" + ALICE_ID, GrantWriteACP="id=" + BOB_ID)
        self.assertEqual(grants(ALICE.get_object_acl(Bucket=b, Key="k")), {(ALICE_ID, "READ_ACP"), (BOB_ID, "WRITE_ACP")})
        self.assertError("AccessDenied", 403, ALICE.get_object, Bucket=b, Key="k")
        BOB.put_object_acl(Bucket=b, Key="k", GrantRead="id=" + BOB_ID)
        self.assertEqual(BOB.get_object(Bucket=b, Key="k")["Body"].read(), b"x")
        self.assertError("AccessDenied", 403, ALICE.get_object_acl, Bucket=b, Key="k")

    def test_object_acl_follows_its_version(self):
        b = self.open_bucket()
        self.s3.put_bucket_versioning(Bucket=b, VersioningConfiguration={"Status": "Enabled"})
        v1 = self.s3.put_object(Bucket=b, Key="k", Body=b"one", GrantRead="id=" + ALICE_ID)["VersionId"]
        self.s3.put_object(Bucket=b, Key="k", Body=b"two")
        self.assertEqual(ALICE.get_object(Bucket=b, Key="k", VersionId=v1)["Body"].read(), b"one")
        self.assertError("AccessDenied", 403, ALICE.get_object, Bucket=b, Key="k")

    def test_copy_needs_read_on_the_source(self):
        src = self.open_bucket()
        self.s3.put_object(Bucket=src, Key="shared", Body=b"copy me", GrantRead="id=" + ALICE_ID)
        self.s3.put_object(Bucket=src, Key="private", Body=b"no")
        dest = "alice-dest-%d" % os.getpid()
        ALICE.create_bucket(Bucket=dest)
        self.addCleanup(lambda: (ALICE.delete_object(Bucket=dest, Key="c"), ALICE.delete_bucket(Bucket=dest)))
        ALICE.copy_object(Bucket=dest, Key="c", CopySource={"Bucket": src, "Key": "shared"})
        self.assertEqual(ALICE.get_object(Bucket=dest, Key="c")["Body"].read(), b"copy me")
        self.assertError("AccessDenied", 403, ALICE.copy_object, Bucket=dest, Key="d",
                         CopySource={"Bucket": src, "Key": "private"})
        self.assertError("AccessDenied", 403, BOB.copy_object, Bucket=src, Key="x",
                         CopySource={"Bucket": src, "Key": "shared"})

    def test_multipart_upload_gets_its_acl(self):
        b = self.open_bucket()
        up = self.s3.create_multipart_upload(Bucket=b, Key="mp", GrantRead="id=" + ALICE_ID)
        e = self.s3.upload_part(Bucket=b, Key="mp", UploadId=up["UploadId"], PartNumber=1, Body=b"parts")["ETag"]
        self.s3.complete_multipart_upload(Bucket=b, Key="mp", UploadId=up["UploadId"],
                                          MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": e}]})
        self.assertEqual(ALICE.get_object(Bucket=b, Key="mp")["Body"].read(), b"parts")
        self.assertError("AccessDenied", 403, BOB.get_object, Bucket=b, Key="mp")


class Public(Base):
    def test_public_read_object(self):
        b = self.open_bucket()
        self.s3.put_object(Bucket=b, Key="open", Body=b"public", ACL="public-read")
        self.s3.put_object(Bucket=b, Key="closed", Body=b"private")
        self.assertEqual(ANON.get_object(Bucket=b, Key="open")["Body"].read(), b"public")
        self.assertEqual(BOB.get_object(Bucket=b, Key="open")["Body"].read(), b"public")
        self.assertEqual(hf.http_status("%s/%s/open" % (hf.SHARED.endpoint, b)), 200)
        self.assertEqual(hf.http_status("%s/%s/closed" % (hf.SHARED.endpoint, b)), 403)
        self.assertError("AccessDenied", 403, ANON.get_object, Bucket=b, Key="closed")
        self.assertError("AccessDenied", 403, ANON.list_objects_v2, Bucket=b)
        self.assertError("AccessDenied", 403, ANON.put_object, Bucket=b, Key="new", Body=b"x")
        self.assertError("AccessDenied", 403, ANON.get_object, Bucket=b, Key="absent")
        self.assertEqual(grants(self.s3.get_object_acl(Bucket=b, Key="open")),
                         {(self.owner_id(), "FULL_CONTROL"), (ALL_USERS, "READ")})
        # IgnorePublicAcls makes the grant count for nothing
        self.s3.put_public_access_block(Bucket=b, PublicAccessBlockConfiguration={"IgnorePublicAcls": True})
        self.assertError("AccessDenied", 403, ANON.get_object, Bucket=b, Key="open")
        self.s3.delete_public_access_block(Bucket=b)
        ANON.get_object(Bucket=b, Key="open")

    def test_block_public_acls(self):
        b = self.open_bucket()
        self.s3.put_public_access_block(Bucket=b, PublicAccessBlockConfiguration={"BlockPublicAcls": True})
        self.assertError("AccessDenied", 403, self.s3.put_object, Bucket=b, Key="k", Body=b"x", ACL="public-read")
        self.assertError("AccessDenied", 403, self.s3.put_bucket_acl, Bucket=b, ACL="public-read")
        self.assertError("AccessDenied", 403, self.s3.put_object, Bucket=b, Key="k", Body=b"x", GrantRead='uri="%s"' % AUTH_USERS)
        self.s3.put_object(Bucket=b, Key="k", Body=b"x", GrantRead="id=" + ALICE_ID)

    def test_public_read_write_bucket(self):
        b = self.open_bucket()
        self.s3.put_bucket_acl(Bucket=b, ACL="public-read-write")
        ANON.put_object(Bucket=b, Key="dropped", Body=b"anonymous")
        self.assertEqual([o["Key"] for o in ANON.list_objects_v2(Bucket=b)["Contents"]], ["dropped"])
        ANON.delete_object(Bucket=b, Key="dropped")
        self.assertError("AccessDenied", 403, ANON.get_bucket_acl, Bucket=b)
        self.assertError("AccessDenied", 403, ANON.put_bucket_versioning, Bucket=b,
                         VersioningConfiguration={"Status": "Enabled"})

    def test_authenticated_read(self):
        b = self.open_bucket()
        self.s3.put_object(Bucket=b, Key="k", Body=b"signed only", ACL="authenticated-read")
        self.assertEqual(BOB.get_object(Bucket=b, Key="k")["Body"].read(), b"signed only")
        self.assertError("AccessDenied", 403, ANON.get_object, Bucket=b, Key="k")

    def test_anonymous_service_level(self):
        self.assertError("AccessDenied", 403, ANON.list_buckets)
        self.assertError("AccessDenied", 403, ANON.create_bucket, Bucket="anon-bucket-%d" % os.getpid())
        self.assertError("NoSuchBucket", 404, ANON.get_object, Bucket="no-such-bucket-anon", Key="k")


if __name__ == "__main__":
    hf.main(__file__)
