#!/usr/bin/python3
"""Object versioning through boto3 against a real server: enabled and
suspended buckets, the null version, delete markers and restoring by
deleting them, reads and deletes by version id, ListObjectVersions with
every parameter and pagination across many versions of many keys."""
import os
import sys
import unittest
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hf  # noqa: E402

from botocore.exceptions import ClientError  # noqa: E402

setUpModule = hf.start_shared
tearDownModule = hf.stop_shared


def code(e):
    return e.response["Error"]["Code"]


class Base(hf.S3Case):
    def list_page(self, **kw):
        """One ListObjectVersions page as (key, version, latest, is_marker)
        in the server's order (boto3 splits versions and markers apart),
        and the parsed response."""
        raw = {}

        def keep(http_response, **_):
            raw["body"] = http_response.content
        self.s3.meta.events.register("after-call.s3.ListObjectVersions", keep)
        try:
            r = self.s3.list_object_versions(**kw)
        finally:
            self.s3.meta.events.unregister("after-call.s3.ListObjectVersions", keep)
        ns = "{http://s3.amazonaws.com/doc/2006-03-01/}"
        items = []
        for el in ET.fromstring(raw["body"]):
            if el.tag in (ns + "Version", ns + "DeleteMarker"):
                items.append((el.find(ns + "Key").text, el.find(ns + "VersionId").text,
                              el.find(ns + "IsLatest").text == "true", el.tag == ns + "DeleteMarker"))
        return items, r

    def versions(self, b, **kw):
        out, km, vm = [], None, None
        while True:
            args = dict(Bucket=b, **kw)
            if km is not None:
                args["KeyMarker"] = km
                if vm is not None:
                    args["VersionIdMarker"] = vm
            items, r = self.list_page(**args)
            out += items
            if not r["IsTruncated"]:
                return out
            km, vm = r["NextKeyMarker"], r.get("NextVersionIdMarker")


class State(Base):
    def test_get_put_versioning(self):
        b = self.bucket()
        self.assertNotIn("Status", self.s3.get_bucket_versioning(Bucket=b))
        self.s3.put_bucket_versioning(Bucket=b, VersioningConfiguration={"Status": "Enabled"})
        self.assertEqual(self.s3.get_bucket_versioning(Bucket=b)["Status"], "Enabled")
        self.s3.put_bucket_versioning(Bucket=b, VersioningConfiguration={"Status": "Suspended"})
        self.assertEqual(self.s3.get_bucket_versioning(Bucket=b)["Status"], "Suspended")

    def test_bad_configuration(self):
        b = self.bucket()
        self.assertError("MalformedXML", 400, self.s3.put_bucket_versioning, Bucket=b,
                         VersioningConfiguration={"Status": "Sometimes"})
        self.assertError("NotImplemented", 501, self.s3.put_bucket_versioning, Bucket=b,
                         VersioningConfiguration={"Status": "Enabled", "MFADelete": "Enabled"})
        self.assertNotIn("Status", self.s3.get_bucket_versioning(Bucket=b))

    def test_unversioned_bucket_has_no_version_ids(self):
        b = self.bucket()
        r = self.s3.put_object(Bucket=b, Key="k", Body=b"1")
        self.assertNotIn("VersionId", r)
        self.assertNotIn("VersionId", self.s3.head_object(Bucket=b, Key="k"))
        # The null version can still be named.
        self.assertEqual(self.body(b, "k", VersionId="null"), b"1")
        vs = self.versions(b)
        self.assertEqual(vs, [("k", "null", True, False)])


class Enabled(Base):
    def test_overwrite_keeps_every_version(self):
        b = self.bucket("Enabled")
        ids = [self.s3.put_object(Bucket=b, Key="doc", Body=b"v%d" % i)["VersionId"] for i in range(3)]
        self.assertEqual(len(set(ids)), 3)
        self.assertEqual(ids, sorted(ids), "version ids sort by time")
        self.assertEqual(self.body(b, "doc"), b"v2")
        for i, vid in enumerate(ids):
            r = self.s3.get_object(Bucket=b, Key="doc", VersionId=vid)
            self.assertEqual(r["Body"].read(), b"v%d" % i)
            self.assertEqual(r["VersionId"], vid)
        h = self.s3.head_object(Bucket=b, Key="doc")
        self.assertEqual(h["VersionId"], ids[2])
        vs = self.versions(b)
        self.assertEqual(vs, [("doc", ids[2], True, False), ("doc", ids[1], False, False),
                              ("doc", ids[0], False, False)])

    def test_delete_marker_and_restore(self):
        b = self.bucket("Enabled")
        v1 = self.s3.put_object(Bucket=b, Key="k", Body=b"one")["VersionId"]
        d = self.s3.delete_object(Bucket=b, Key="k")
        self.assertTrue(d["DeleteMarker"])
        marker = d["VersionId"]
        self.assertNotEqual(marker, v1)
        e = self.assertError("NoSuchKey", 404, self.s3.get_object, Bucket=b, Key="k")
        hdrs = e.response["ResponseMetadata"]["HTTPHeaders"]
        self.assertEqual(hdrs.get("x-amz-delete-marker"), "true")
        self.assertEqual(hdrs.get("x-amz-version-id"), marker)
        # A marker named by version: 405, as S3 answers.
        e = self.assertError("MethodNotAllowed", 405, self.s3.get_object, Bucket=b, Key="k", VersionId=marker)
        self.assertEqual(e.response["ResponseMetadata"]["HTTPHeaders"].get("x-amz-delete-marker"), "true")
        self.assertEqual(self.body(b, "k", VersionId=v1), b"one")
        self.assertEqual(self.s3.list_objects_v2(Bucket=b).get("KeyCount"), 0)
        self.assertEqual(self.versions(b), [("k", marker, True, True), ("k", v1, False, False)])
        # Deleting the marker restores the object.
        d = self.s3.delete_object(Bucket=b, Key="k", VersionId=marker)
        self.assertTrue(d["DeleteMarker"])
        self.assertEqual(d["VersionId"], marker)
        self.assertEqual(self.body(b, "k"), b"one")
        self.assertEqual(self.versions(b), [("k", v1, True, False)])

    def test_delete_version_for_good(self):
        b = self.bucket("Enabled")
        v1 = self.s3.put_object(Bucket=b, Key="k", Body=b"one")["VersionId"]
        v2 = self.s3.put_object(Bucket=b, Key="k", Body=b"two")["VersionId"]
        d = self.s3.delete_object(Bucket=b, Key="k", VersionId=v1)
        self.assertEqual(d["VersionId"], v1)
        self.assertNotIn("DeleteMarker", d)
        self.assertError("NoSuchVersion", 404, self.s3.get_object, Bucket=b, Key="k", VersionId=v1)
        # Deleting the current version makes the next newest current.
        v3 = self.s3.put_object(Bucket=b, Key="k", Body=b"three")["VersionId"]
        self.s3.delete_object(Bucket=b, Key="k", VersionId=v3)
        self.assertEqual(self.body(b, "k"), b"two")
        self.assertEqual(self.versions(b), [("k", v2, True, False)])
        # The last version gone: the key is gone.
        self.s3.delete_object(Bucket=b, Key="k", VersionId=v2)
        self.assertEqual(self.versions(b), [])
        self.assertError("NoSuchKey", 404, self.s3.get_object, Bucket=b, Key="k")

    def test_deleting_what_does_not_exist(self):
        b = self.bucket("Enabled")
        v = self.s3.put_object(Bucket=b, Key="k", Body=b"x")["VersionId"]
        missing = "%032x" % (int(v, 16) + 12345)
        d = self.s3.delete_object(Bucket=b, Key="k", VersionId=missing)
        self.assertEqual(d["VersionId"], missing)
        self.assertEqual(d["ResponseMetadata"]["HTTPStatusCode"], 204)
        self.assertEqual(self.body(b, "k"), b"x")
        # A delete of a key that never existed still leaves a marker.
        d = self.s3.delete_object(Bucket=b, Key="never")
        self.assertTrue(d["DeleteMarker"])
        self.assertIn(("never", d["VersionId"], True, True), self.versions(b))

    def test_bad_version_ids(self):
        b = self.bucket("Enabled")
        self.s3.put_object(Bucket=b, Key="k", Body=b"x")
        for bad in ("abc", "Z" * 32, "0" * 32):
            self.assertError("InvalidArgument", 400, self.s3.get_object, Bucket=b, Key="k", VersionId=bad)
            self.assertError("InvalidArgument", 400, self.s3.delete_object, Bucket=b, Key="k", VersionId=bad)
        self.assertError("NoSuchVersion", 404, self.s3.get_object, Bucket=b, Key="k", VersionId="f" * 32)
        self.assertError("NoSuchVersion", 404, self.s3.get_object, Bucket=b, Key="k", VersionId="null")

    def test_head_versions(self):
        b = self.bucket("Enabled")
        v1 = self.s3.put_object(Bucket=b, Key="k", Body=b"12345")["VersionId"]
        self.s3.put_object(Bucket=b, Key="k", Body=b"1")
        h = self.s3.head_object(Bucket=b, Key="k", VersionId=v1)
        self.assertEqual(h["ContentLength"], 5)
        self.assertEqual(h["VersionId"], v1)
        m = self.s3.delete_object(Bucket=b, Key="k")["VersionId"]
        with self.assertRaises(ClientError) as cm:
            self.s3.head_object(Bucket=b, Key="k", VersionId=m)
        self.assertEqual(cm.exception.response["ResponseMetadata"]["HTTPStatusCode"], 405)

    def test_delete_objects_with_versions(self):
        b = self.bucket("Enabled")
        a1 = self.s3.put_object(Bucket=b, Key="a", Body=b"1")["VersionId"]
        a2 = self.s3.put_object(Bucket=b, Key="a", Body=b"2")["VersionId"]
        self.s3.put_object(Bucket=b, Key="b", Body=b"1")
        r = self.s3.delete_objects(Bucket=b, Delete={"Objects": [
            {"Key": "a", "VersionId": a1}, {"Key": "b"}, {"Key": "c", "VersionId": "bogus"}]})
        deleted = {d["Key"]: d for d in r["Deleted"]}
        self.assertEqual(deleted["a"]["VersionId"], a1)
        self.assertTrue(deleted["b"]["DeleteMarker"])
        self.assertIn("DeleteMarkerVersionId", deleted["b"])
        self.assertEqual([e["Key"] for e in r["Errors"]], ["c"])
        self.assertEqual(r["Errors"][0]["Code"], "NoSuchVersion")
        keys = self.versions(b)
        self.assertIn(("a", a2, True, False), keys)
        self.assertNotIn(a1, [k[1] for k in keys])
        self.assertEqual([k for k in keys if k[0] == "b"][0][3], True)

    def test_multipart_gets_a_version(self):
        b = self.bucket("Enabled")
        v1 = self.s3.put_object(Bucket=b, Key="mp", Body=b"small")["VersionId"]
        u = self.s3.create_multipart_upload(Bucket=b, Key="mp")["UploadId"]
        e = self.s3.upload_part(Bucket=b, Key="mp", UploadId=u, PartNumber=1, Body=b"p" * 100)["ETag"]
        r = self.s3.complete_multipart_upload(Bucket=b, Key="mp", UploadId=u,
                                              MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": e}]})
        self.assertIn("VersionId", r)
        self.assertNotEqual(r["VersionId"], v1)
        self.assertEqual(self.body(b, "mp", VersionId=v1), b"small")
        self.assertEqual(self.body(b, "mp"), b"p" * 100)

    def test_listing_hides_deleted_keys_and_prefixes(self):
        b = self.bucket("Enabled")
        for k in ("live/1", "dead/1", "dead/2", "x"):
            self.s3.put_object(Bucket=b, Key=k, Body=b"z")
        for k in ("dead/1", "dead/2", "x"):
            self.s3.delete_object(Bucket=b, Key=k)
        r = self.s3.list_objects_v2(Bucket=b, Delimiter="/")
        self.assertEqual([p["Prefix"] for p in r.get("CommonPrefixes", [])], ["live/"])
        self.assertEqual(r.get("Contents", []), [])
        r = self.s3.list_objects(Bucket=b)
        self.assertEqual([c["Key"] for c in r["Contents"]], ["live/1"])
        # max-keys counts only what is listed
        r = self.s3.list_objects_v2(Bucket=b, MaxKeys=1)
        self.assertEqual([c["Key"] for c in r["Contents"]], ["live/1"])
        self.assertFalse(r["IsTruncated"])

    def test_bucket_with_versions_is_not_empty(self):
        b = self.bucket("Enabled")
        self.s3.put_object(Bucket=b, Key="k", Body=b"z")
        self.s3.delete_object(Bucket=b, Key="k")
        self.assertError("BucketNotEmpty", 409, self.s3.delete_bucket, Bucket=b)


class Suspended(Base):
    def test_null_version_semantics(self):
        b = self.bucket("Enabled")
        v1 = self.s3.put_object(Bucket=b, Key="k", Body=b"v1")["VersionId"]
        self.s3.put_bucket_versioning(Bucket=b, VersioningConfiguration={"Status": "Suspended"})
        r = self.s3.put_object(Bucket=b, Key="k", Body=b"n1")
        self.assertEqual(r.get("VersionId"), "null")
        self.s3.put_object(Bucket=b, Key="k", Body=b"n2")  # replaces the null version
        self.assertEqual(self.versions(b), [("k", "null", True, False), ("k", v1, False, False)])
        self.assertEqual(self.body(b, "k", VersionId="null"), b"n2")
        self.assertEqual(self.body(b, "k", VersionId=v1), b"v1")
        # Re-enable, add a version: the null version stays, noncurrent.
        self.s3.put_bucket_versioning(Bucket=b, VersioningConfiguration={"Status": "Enabled"})
        v3 = self.s3.put_object(Bucket=b, Key="k", Body=b"v3")["VersionId"]
        self.assertEqual(self.versions(b), [("k", v3, True, False), ("k", "null", False, False),
                                            ("k", v1, False, False)])
        # Suspended again: a new null version replaces the noncurrent null one.
        self.s3.put_bucket_versioning(Bucket=b, VersioningConfiguration={"Status": "Suspended"})
        self.s3.put_object(Bucket=b, Key="k", Body=b"n3")
        self.assertEqual(self.versions(b), [("k", "null", True, False), ("k", v3, False, False),
                                            ("k", v1, False, False)])
        self.assertEqual(self.body(b, "k"), b"n3")

    def test_delete_in_suspended_bucket(self):
        b = self.bucket("Enabled")
        v1 = self.s3.put_object(Bucket=b, Key="k", Body=b"v1")["VersionId"]
        self.s3.put_bucket_versioning(Bucket=b, VersioningConfiguration={"Status": "Suspended"})
        self.s3.put_object(Bucket=b, Key="k", Body=b"n")
        d = self.s3.delete_object(Bucket=b, Key="k")
        self.assertTrue(d["DeleteMarker"])
        self.assertEqual(d["VersionId"], "null")
        # The null object was replaced by a null marker; v1 stays.
        self.assertEqual(self.versions(b), [("k", "null", True, True), ("k", v1, False, False)])
        self.s3.delete_object(Bucket=b, Key="k", VersionId="null")
        self.assertEqual(self.body(b, "k"), b"v1")


class Listing(Base):
    def test_pagination_across_many_versions_of_many_keys(self):
        b = self.bucket("Enabled")
        expect = []
        for i in range(23):
            key = "k/%02d" % i
            vids = []
            for j in range(i % 4 + 1):
                vids.append(self.s3.put_object(Bucket=b, Key=key, Body=b"%d-%d" % (i, j))["VersionId"])
            if i % 5 == 0:
                vids.append(self.s3.delete_object(Bucket=b, Key=key)["VersionId"])
                marker = True
            else:
                marker = False
            for n, vid in enumerate(reversed(vids)):
                expect.append((key, vid, n == 0, marker and n == 0))
        self.assertEqual(self.versions(b), expect)
        for page_size in (1, 2, 3, 7, 1000):
            got = []
            km = vm = None
            while True:
                kw = {"Bucket": b, "MaxKeys": page_size}
                if km is not None:
                    kw["KeyMarker"] = km
                    if vm is not None:
                        kw["VersionIdMarker"] = vm
                items, r = self.list_page(**kw)
                self.assertLessEqual(len(items), page_size)
                got += items
                if not r["IsTruncated"]:
                    break
                km, vm = r["NextKeyMarker"], r.get("NextVersionIdMarker")
            self.assertEqual(got, expect, "page size %d" % page_size)

    def test_prefix_delimiter_and_encoding(self):
        b = self.bucket("Enabled")
        for k in ("a/1", "a/2", "b", "c d+é"):
            self.s3.put_object(Bucket=b, Key=k, Body=b"1")
            self.s3.put_object(Bucket=b, Key=k, Body=b"2")
        r = self.s3.list_object_versions(Bucket=b, Delimiter="/")
        self.assertEqual([p["Prefix"] for p in r["CommonPrefixes"]], ["a/"])
        self.assertEqual(sorted({v["Key"] for v in r["Versions"]}), ["b", "c d+é"])
        r = self.s3.list_object_versions(Bucket=b, Prefix="a/")
        self.assertEqual(len(r["Versions"]), 4)
        r = self.s3.list_object_versions(Bucket=b, Prefix="zzz")
        self.assertNotIn("Versions", r)
        r = self.s3.list_object_versions(Bucket=b, EncodingType="url", Prefix="c")
        # asked for explicitly, boto3 leaves the keys encoded
        self.assertEqual({v["Key"] for v in r["Versions"]}, {"c%20d%2B%C3%A9"})
        r = self.s3.list_object_versions(Bucket=b, MaxKeys=0)
        self.assertFalse(r["IsTruncated"])
        self.assertNotIn("Versions", r)
        self.assertError("InvalidArgument", 400, self.s3.list_object_versions, Bucket=b,
                         VersionIdMarker="null")
        self.assertError("InvalidArgument", 400, self.s3.list_object_versions, Bucket=b,
                         KeyMarker="a/1", VersionIdMarker="nonsense")

    def test_key_marker_alone_skips_the_key(self):
        b = self.bucket("Enabled")
        for k in ("a", "b", "c"):
            self.s3.put_object(Bucket=b, Key=k, Body=b"1")
            self.s3.put_object(Bucket=b, Key=k, Body=b"2")
        r = self.s3.list_object_versions(Bucket=b, KeyMarker="b")
        self.assertEqual([v["Key"] for v in r["Versions"]], ["c", "c"])


if __name__ == "__main__":
    hf.main(__file__)
