#!/usr/bin/python3
"""S3 behaviour through boto3 (Debian python3-boto3) against a real server:
buckets, objects, listings, multipart, auth and the error codes of each."""
import hashlib
import io
import os
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hf  # noqa: E402

import botocore  # noqa: E402
from botocore.exceptions import ClientError  # noqa: E402

SERVER = None


def setUpModule():
    global SERVER
    SERVER = hf.Server().start()


def tearDownModule():
    if SERVER:
        rc = SERVER.stop()
        SERVER.cleanup()
        if rc != 0:
            raise AssertionError("server exited with status %r on SIGTERM" % rc)


def code(e):
    return e.response["Error"]["Code"]


def status(e):
    return e.response["ResponseMetadata"]["HTTPStatusCode"]


class Base(unittest.TestCase):
    counter = 0

    def setUp(self):
        self.s3 = hf.boto3_client(SERVER)

    def bucket(self):
        Base.counter += 1
        name = "b-%s-%d-%d" % (type(self).__name__.lower()[:20], os.getpid() % 10000, Base.counter)
        self.s3.create_bucket(Bucket=name)
        self.addCleanup(self.empty_and_delete, name)
        return name

    def empty_and_delete(self, name):
        try:
            for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=name):
                for o in page.get("Contents", []):
                    self.s3.delete_object(Bucket=name, Key=o["Key"])
            for u in self.s3.list_multipart_uploads(Bucket=name).get("Uploads", []):
                self.s3.abort_multipart_upload(Bucket=name, Key=u["Key"], UploadId=u["UploadId"])
            self.s3.delete_bucket(Bucket=name)
        except ClientError:
            pass

    def assertError(self, c, st, fn, *a, **kw):
        with self.assertRaises(ClientError) as cm:
            fn(*a, **kw)
        self.assertEqual(code(cm.exception), c, cm.exception.response)
        self.assertEqual(status(cm.exception), st)
        return cm.exception


class Buckets(Base):
    def test_create_head_list_delete(self):
        b = self.bucket()
        self.s3.head_bucket(Bucket=b)
        names = [x["Name"] for x in self.s3.list_buckets()["Buckets"]]
        self.assertIn(b, names)
        loc = self.s3.get_bucket_location(Bucket=b)
        self.assertIn(loc.get("LocationConstraint"), (None, ""))
        self.s3.delete_bucket(Bucket=b)
        self.assertError("404", 404, self.s3.head_bucket, Bucket=b)
        self.assertError("NoSuchBucket", 404, self.s3.delete_bucket, Bucket=b)

    def test_invalid_names(self):
        for bad in ["ab", "A" * 5, "a" * 64, "-abc", "abc-", "a..b", "192.168.1.1", "xn--abc",
                    "abc_def", "bucket-s3alias"]:
            self.assertError("InvalidBucketName", 400, self.s3.create_bucket, Bucket=bad)

    def test_already_owned_and_exists(self):
        # us-east-1 (this server's region) keeps S3's legacy answer to
        # re-creating your own bucket: 200 (other regions: see
        # test_aws_semantics.py).
        b = self.bucket()
        self.assertEqual(self.s3.create_bucket(Bucket=b)["ResponseMetadata"]["HTTPStatusCode"], 200)

    def test_location_constraint_body(self):
        name = "loc-%d" % os.getpid()
        self.s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": "us-east-1"})
        self.addCleanup(self.empty_and_delete, name)
        self.assertError("IllegalLocationConstraintException", 400, self.s3.create_bucket,
                         Bucket=name + "x", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})

    def test_not_empty(self):
        b = self.bucket()
        self.s3.put_object(Bucket=b, Key="k", Body=b"x")
        self.assertError("BucketNotEmpty", 409, self.s3.delete_bucket, Bucket=b)
        self.s3.delete_object(Bucket=b, Key="k")
        self.s3.delete_bucket(Bucket=b)

    def test_delete_bucket_aborts_uploads(self):
        name = "mpdel-%d" % os.getpid()
        self.s3.create_bucket(Bucket=name)
        self.s3.create_multipart_upload(Bucket=name, Key="k")
        self.s3.delete_bucket(Bucket=name)
        self.assertError("404", 404, self.s3.head_bucket, Bucket=name)

    def test_versioning_is_unset(self):
        b = self.bucket()
        v = self.s3.get_bucket_versioning(Bucket=b)
        self.assertNotIn("Status", v)

    def test_unimplemented_subresource_is_501(self):
        b = self.bucket()
        e = self.assertError("NotImplemented", 501, self.s3.get_bucket_website, Bucket=b)
        self.assertIn("website", e.response["Error"]["Message"])
        e = self.assertError("NotImplemented", 501, self.s3.get_bucket_replication, Bucket=b)
        self.assertIn("replication", e.response["Error"]["Message"])
        self.assertError("NotImplemented", 501, self.s3.put_bucket_website, Bucket=b,
                         WebsiteConfiguration={"IndexDocument": {"Suffix": "index.html"}})


class Objects(Base):
    def test_put_get_head_delete(self):
        b = self.bucket()
        body = os.urandom(1024)
        r = self.s3.put_object(Bucket=b, Key="dir/file.bin", Body=body, ContentType="application/x-test",
                               Metadata={"color": "blue", "Mixed-Case": "V"},
                               CacheControl="max-age=60", ContentDisposition="attachment",
                               ContentLanguage="en", ContentEncoding="identity")
        self.assertEqual(r["ETag"], '"%s"' % hashlib.md5(body).hexdigest())
        g = self.s3.get_object(Bucket=b, Key="dir/file.bin")
        self.assertEqual(g["Body"].read(), body)
        self.assertEqual(g["ContentType"], "application/x-test")
        self.assertEqual(g["Metadata"], {"color": "blue", "mixed-case": "V"})
        self.assertEqual(g["CacheControl"], "max-age=60")
        self.assertEqual(g["ContentDisposition"], "attachment")
        self.assertEqual(g["ContentLanguage"], "en")
        self.assertEqual(g["ContentLength"], 1024)
        h = self.s3.head_object(Bucket=b, Key="dir/file.bin")
        self.assertEqual(h["ContentLength"], 1024)
        self.assertEqual(h["ETag"], r["ETag"])
        self.assertIn("LastModified", h)
        self.s3.delete_object(Bucket=b, Key="dir/file.bin")
        self.assertError("NoSuchKey", 404, self.s3.get_object, Bucket=b, Key="dir/file.bin")
        self.assertError("404", 404, self.s3.head_object, Bucket=b, Key="dir/file.bin")
        # Deleting again is fine (idempotent, 204).
        r = self.s3.delete_object(Bucket=b, Key="dir/file.bin")
        self.assertEqual(r["ResponseMetadata"]["HTTPStatusCode"], 204)

    def test_sizes_inline_and_chunked(self):
        b = self.bucket()
        for size in [0, 1, 16 * 1024, 16 * 1024 + 1, 64 * 1024 + 7, 4 * 1024 * 1024 + 3, 9 * 1024 * 1024]:
            body = os.urandom(size)
            self.s3.put_object(Bucket=b, Key="s%d" % size, Body=body)
            got = self.s3.get_object(Bucket=b, Key="s%d" % size)["Body"].read()
            self.assertEqual(hashlib.sha256(got).hexdigest(), hashlib.sha256(body).hexdigest(), size)

    def test_overwrite_is_atomic_and_reclaims(self):
        b = self.bucket()
        self.s3.put_object(Bucket=b, Key="k", Body=b"a" * (5 * 1024 * 1024))
        self.s3.put_object(Bucket=b, Key="k", Body=b"b" * 100)
        self.assertEqual(self.s3.get_object(Bucket=b, Key="k")["Body"].read(), b"b" * 100)
        # The 5 MiB of the first version go away once nothing reads them.
        chunks = os.path.join(SERVER.data, "chunks")

        def chunk_bytes():
            total = 0
            for root, _, files in os.walk(chunks):
                for f in files:
                    total += os.path.getsize(os.path.join(root, f))
            return total
        big = self.bucket()
        before = chunk_bytes()
        self.s3.put_object(Bucket=big, Key="x", Body=b"c" * (3 * 1024 * 1024))
        self.assertGreater(chunk_bytes(), before)
        self.s3.put_object(Bucket=big, Key="x", Body=b"d" * 10)
        hf.wait_for(lambda: chunk_bytes() <= before, 10, "space of the replaced object reclaimed")
        self.s3.put_object(Bucket=big, Key="y", Body=b"e" * (3 * 1024 * 1024))
        self.s3.delete_object(Bucket=big, Key="y")
        hf.wait_for(lambda: chunk_bytes() <= before, 10, "space of the deleted object reclaimed")

    def test_ranges(self):
        b = self.bucket()
        body = bytes(range(256)) * 64  # 16 KiB
        self.s3.put_object(Bucket=b, Key="r", Body=body)
        big = os.urandom(5 * 1024 * 1024 + 100)
        self.s3.put_object(Bucket=b, Key="big", Body=big)
        for key, data in (("r", body), ("big", big)):
            n = len(data)
            for rng, want in [("bytes=0-9", data[0:10]), ("bytes=10-", data[10:]),
                              ("bytes=-5", data[-5:]), ("bytes=100-%d" % (n + 50), data[100:]),
                              ("bytes=%d-%d" % (n - 1, n - 1), data[-1:])]:
                g = self.s3.get_object(Bucket=b, Key=key, Range=rng)
                self.assertEqual(g["ResponseMetadata"]["HTTPStatusCode"], 206)
                self.assertEqual(g["Body"].read(), want, rng)
                self.assertTrue(g["ContentRange"].startswith("bytes "))
                self.assertTrue(g["ContentRange"].endswith("/%d" % n))
            self.assertError("InvalidRange", 416, self.s3.get_object, Bucket=b, Key=key,
                             Range="bytes=%d-" % n)
        # Spanning a chunk boundary (4 MiB) of the big object.
        g = self.s3.get_object(Bucket=b, Key="big", Range="bytes=4194300-4194310")
        self.assertEqual(g["Body"].read(), big[4194300:4194311])

    def test_content_md5(self):
        b = self.bucket()
        import base64
        good = base64.b64encode(hashlib.md5(b"hello").digest()).decode()
        self.s3.put_object(Bucket=b, Key="m", Body=b"hello", ContentMD5=good)
        bad = base64.b64encode(hashlib.md5(b"other").digest()).decode()
        self.assertError("BadDigest", 400, self.s3.put_object, Bucket=b, Key="m2", Body=b"hello",
                         ContentMD5=bad)
        self.assertError("InvalidDigest", 400, self.s3.put_object, Bucket=b, Key="m3", Body=b"hello",
                         ContentMD5="notbase64!")
        self.assertError("NoSuchKey", 404, self.s3.get_object, Bucket=b, Key="m2")

    def test_checksum_headers(self):
        b = self.bucket()
        import base64
        import zlib
        data = b"checksum me" * 100
        crc = base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()
        sha = base64.b64encode(hashlib.sha256(data).digest()).decode()
        self.s3.put_object(Bucket=b, Key="c1", Body=data, ChecksumCRC32=crc)
        self.s3.put_object(Bucket=b, Key="c2", Body=data, ChecksumSHA256=sha)
        bad = base64.b64encode((zlib.crc32(data) ^ 1).to_bytes(4, "big")).decode()
        self.assertError("BadDigest", 400, self.s3.put_object, Bucket=b, Key="c3", Body=data,
                         ChecksumCRC32=bad)
        self.assertError("NoSuchKey", 404, self.s3.head_object, Bucket=b, Key="c3") if False else None

    def test_keys_are_not_paths(self):
        b = self.bucket()
        keys = ["../../etc/passwd", "a/../b", "/leading", "a//b", "./x", "spaces and +plus",
                "ünïcödé/日本語", "%2F%41", "q?x=1&y=2", "tab\tnew\nline", "k" * 1024]
        for k in keys:
            self.s3.put_object(Bucket=b, Key=k, Body=k.encode())
        for k in keys:
            self.assertEqual(self.s3.get_object(Bucket=b, Key=k)["Body"].read(), k.encode(), k)
        listed = []
        for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=b):
            listed += [o["Key"] for o in page.get("Contents", [])]
        self.assertEqual(sorted(listed), sorted(keys))
        self.assertFalse(os.path.exists(os.path.join(SERVER.data, "etc")))
        self.assertError("KeyTooLongError", 400, self.s3.put_object, Bucket=b, Key="k" * 1025, Body=b"")

    def test_metadata_too_large(self):
        b = self.bucket()
        self.assertError("MetadataTooLarge", 400, self.s3.put_object, Bucket=b, Key="m", Body=b"",
                         Metadata={"big": "x" * 2100})

    def test_missing_objects_and_buckets(self):
        b = self.bucket()
        self.assertError("NoSuchKey", 404, self.s3.get_object, Bucket=b, Key="nope")
        self.assertError("NoSuchBucket", 404, self.s3.get_object, Bucket="no-such-bucket-x", Key="k")
        self.assertError("NoSuchBucket", 404, self.s3.put_object, Bucket="no-such-bucket-x", Key="k",
                         Body=b"x")
        self.assertError("NoSuchBucket", 404, self.s3.list_objects_v2, Bucket="no-such-bucket-x")

    def test_response_overrides(self):
        b = self.bucket()
        self.s3.put_object(Bucket=b, Key="o", Body=b"x", ContentType="text/plain")
        g = self.s3.get_object(Bucket=b, Key="o", ResponseContentType="image/png",
                               ResponseContentDisposition="inline", ResponseCacheControl="no-cache")
        self.assertEqual(g["ContentType"], "image/png")
        self.assertEqual(g["ContentDisposition"], "inline")
        self.assertEqual(g["CacheControl"], "no-cache")

    def test_conditional_get(self):
        b = self.bucket()
        etag = self.s3.put_object(Bucket=b, Key="c", Body=b"v1")["ETag"]
        self.assertEqual(self.s3.get_object(Bucket=b, Key="c", IfMatch=etag)["Body"].read(), b"v1")
        self.assertError("PreconditionFailed", 412, self.s3.get_object, Bucket=b, Key="c",
                         IfMatch='"0123"')
        e = self.assertError("304", 304, self.s3.head_object, Bucket=b, Key="c", IfNoneMatch=etag)
        self.assertIsNotNone(e)

    def test_conditional_put_is_honoured_not_ignored(self):
        b = self.bucket()
        self.s3.put_object(Bucket=b, Key="c", Body=b"v1")

        def add_header(request, **kw):
            request.headers["If-None-Match"] = "*"
        self.s3.meta.events.register("before-sign.s3.PutObject", add_header)
        try:
            self.assertError("PreconditionFailed", 412, self.s3.put_object, Bucket=b, Key="c", Body=b"v2")
        finally:
            self.s3.meta.events.unregister("before-sign.s3.PutObject", add_header)
        self.assertEqual(self.s3.get_object(Bucket=b, Key="c")["Body"].read(), b"v1")

    def test_unsupported_headers_are_501(self):
        b = self.bucket()
        # SSE-S3 and SSE-C are served (test_sse.py); SSE-KMS is not.
        self.assertError("NotImplemented", 501, self.s3.put_object, Bucket=b, Key="e", Body=b"x",
                         ServerSideEncryption="aws:kms")
        self.assertError("NotImplemented", 501, self.s3.put_object, Bucket=b, Key="e", Body=b"x",
                         WebsiteRedirectLocation="/elsewhere")
        # ACLs are off in a new bucket (BucketOwnerEnforced), as in S3
        self.assertError("AccessControlListNotSupported", 400, self.s3.put_object, Bucket=b, Key="e", Body=b"x",
                         ACL="public-read")
        self.assertError("NotImplemented", 501, self.s3.put_object, Bucket=b, Key="e", Body=b"x",
                         StorageClass="GLACIER")
        self.s3.put_object(Bucket=b, Key="e", Body=b"x", ACL="private", StorageClass="STANDARD")

    def test_delete_objects(self):
        b = self.bucket()
        for i in range(10):
            self.s3.put_object(Bucket=b, Key="d/%d" % i, Body=b"x")
        r = self.s3.delete_objects(Bucket=b, Delete={"Objects": [{"Key": "d/%d" % i} for i in range(5)] +
                                                     [{"Key": "absent"}]})
        self.assertEqual(sorted(d["Key"] for d in r["Deleted"]),
                         sorted(["d/%d" % i for i in range(5)] + ["absent"]))
        self.assertNotIn("Errors", r)
        r = self.s3.delete_objects(Bucket=b, Delete={"Objects": [{"Key": "d/%d" % i} for i in range(5, 10)],
                                                     "Quiet": True})
        self.assertNotIn("Deleted", r)
        self.assertEqual(self.s3.list_objects_v2(Bucket=b)["KeyCount"], 0)

    def test_delete_objects_limits(self):
        b = self.bucket()
        self.assertError("MalformedXML", 400, self.s3.delete_objects, Bucket=b,
                         Delete={"Objects": [{"Key": "k%d" % i} for i in range(1001)]})

    def test_xml_body_size_limit(self):
        """A request body of XML is read up to 1 MiB + 64 KiB (the server's
        limit, far above the largest DeleteObjects): exactly the limit is
        fine, one byte more is refused."""
        limit = 1024 * 1024 + 64 * 1024
        b = self.bucket()
        self.s3.put_object(Bucket=b, Key="k", Body=b"x")

        def padded(n):
            return hf.rewrite_body(hf.boto3_client(SERVER), "DeleteObjects",
                                   lambda body: body + b" " * (n - len(body)))
        r = padded(limit).delete_objects(Bucket=b, Delete={"Objects": [{"Key": "k"}]})
        self.assertEqual([d["Key"] for d in r["Deleted"]], ["k"])
        self.assertError("EntityTooLarge", 400, padded(limit + 1).delete_objects, Bucket=b,
                         Delete={"Objects": [{"Key": "k"}]})


class Listing(Base):
    @classmethod
    def setUpClass(cls):
        s3 = hf.boto3_client(SERVER)
        cls.b = "list-%d" % os.getpid()
        s3.create_bucket(Bucket=cls.b)
        cls.keys = sorted(["a/1", "a/2", "a/b/3", "b/4", "c", "d/e/f/5", "z"] +
                          ["many/%04d" % i for i in range(1100)])
        for k in cls.keys:
            s3.put_object(Bucket=cls.b, Key=k, Body=k.encode())

    def test_v2_all_pages(self):
        got = []
        pages = 0
        for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.b, PaginationConfig={"PageSize": 333}):
            got += [o["Key"] for o in page.get("Contents", [])]
            pages += 1
        self.assertEqual(got, self.keys)
        self.assertEqual(pages, 4)

    def test_v2_delimiter(self):
        r = self.s3.list_objects_v2(Bucket=self.b, Delimiter="/")
        self.assertEqual([p["Prefix"] for p in r["CommonPrefixes"]], ["a/", "b/", "d/", "many/"])
        self.assertEqual([o["Key"] for o in r["Contents"]], ["c", "z"])
        self.assertEqual(r["KeyCount"], 6)
        r = self.s3.list_objects_v2(Bucket=self.b, Delimiter="/", Prefix="a/")
        self.assertEqual([p["Prefix"] for p in r["CommonPrefixes"]], ["a/b/"])
        self.assertEqual([o["Key"] for o in r["Contents"]], ["a/1", "a/2"])

    def test_v2_delimiter_paging_over_prefixes(self):
        seen = []
        token = None
        while True:
            kw = dict(Bucket=self.b, Delimiter="/", MaxKeys=2)
            if token:
                kw["ContinuationToken"] = token
            r = self.s3.list_objects_v2(**kw)
            seen += [p["Prefix"] for p in r.get("CommonPrefixes", [])]
            seen += [o["Key"] for o in r.get("Contents", [])]
            if not r["IsTruncated"]:
                break
            token = r["NextContinuationToken"]
        self.assertEqual(sorted(seen), ["a/", "b/", "c", "d/", "many/", "z"])
        self.assertEqual(len(seen), len(set(seen)))

    def test_v2_start_after_and_max_keys(self):
        r = self.s3.list_objects_v2(Bucket=self.b, StartAfter="many/1097")
        self.assertEqual([o["Key"] for o in r["Contents"]], ["many/1098", "many/1099", "z"])
        self.assertEqual(r["StartAfter"], "many/1097")
        r = self.s3.list_objects_v2(Bucket=self.b, MaxKeys=0)
        self.assertEqual(r["KeyCount"], 0)
        self.assertFalse(r["IsTruncated"])
        r = self.s3.list_objects_v2(Bucket=self.b, Prefix="nothing-here/")
        self.assertEqual(r["KeyCount"], 0)
        self.assertNotIn("Contents", r)
        r = self.s3.list_objects_v2(Bucket=self.b, MaxKeys=5000)
        self.assertEqual(r["MaxKeys"], 1000)
        self.assertEqual(len(r["Contents"]), 1000)
        self.assertTrue(r["IsTruncated"])

    def test_v2_fetch_owner_and_fields(self):
        r = self.s3.list_objects_v2(Bucket=self.b, Prefix="c", FetchOwner=True)
        o = r["Contents"][0]
        self.assertEqual(o["Key"], "c")
        self.assertEqual(o["Size"], 1)
        self.assertEqual(o["ETag"], '"%s"' % hashlib.md5(b"c").hexdigest())
        self.assertEqual(o["StorageClass"], "STANDARD")
        self.assertIn("ID", o["Owner"])
        r = self.s3.list_objects_v2(Bucket=self.b, Prefix="c")
        self.assertNotIn("Owner", r["Contents"][0])

    def test_v1_markers(self):
        got = []
        for page in self.s3.get_paginator("list_objects").paginate(Bucket=self.b, PaginationConfig={"PageSize": 400}):
            got += [o["Key"] for o in page.get("Contents", [])]
        self.assertEqual(got, self.keys)
        r = self.s3.list_objects(Bucket=self.b, Delimiter="/", MaxKeys=3)
        self.assertTrue(r["IsTruncated"])
        self.assertEqual(r["NextMarker"], "c")
        r2 = self.s3.list_objects(Bucket=self.b, Delimiter="/", Marker=r["NextMarker"])
        self.assertEqual([p["Prefix"] for p in r2.get("CommonPrefixes", [])], ["d/", "many/"])
        self.assertEqual([o["Key"] for o in r2["Contents"]], ["z"])

    def test_encoding_type_url(self):
        b = self.bucket()
        self.s3.put_object(Bucket=b, Key="sp ace/\u00fc+%\x01", Body=b"")
        # botocore asks for encoding-type=url on its own and decodes the answer.
        r = self.s3.list_objects_v2(Bucket=b)
        self.assertEqual(r["Contents"][0]["Key"], "sp ace/\u00fc+%\x01")
        # Asked explicitly, the raw encoded form comes back.
        r = self.s3.list_objects_v2(Bucket=b, EncodingType="url", Delimiter="+", Prefix="sp ace/")
        self.assertEqual(r["EncodingType"], "url")
        self.assertEqual(r["CommonPrefixes"][0]["Prefix"], "sp%20ace/%C3%BC%2B")
        self.assertEqual(r["Prefix"], "sp%20ace/")
        self.assertEqual(r["Delimiter"], "%2B")
        r = self.s3.list_objects(Bucket=b, EncodingType="url")
        self.assertEqual(r["Contents"][0]["Key"], "sp%20ace/%C3%BC%2B%25%01")
        r = self.s3.list_objects(Bucket=b, Delimiter="/")
        self.assertEqual(r["CommonPrefixes"][0]["Prefix"], "sp ace/")
        self.assertError("InvalidArgument", 400, self.s3.list_objects_v2, Bucket=b, EncodingType="gzip")

    def test_versions_of_unversioned_bucket(self):
        r = self.s3.list_object_versions(Bucket=self.b, Prefix="a/")
        vs = r["Versions"]
        self.assertEqual([v["Key"] for v in vs], ["a/1", "a/2", "a/b/3"])
        self.assertTrue(all(v["VersionId"] == "null" and v["IsLatest"] for v in vs))
        got = []
        for page in self.s3.get_paginator("list_object_versions").paginate(Bucket=self.b, PaginationConfig={"PageSize": 500}):
            got += [v["Key"] for v in page.get("Versions", [])]
        self.assertEqual(got, self.keys)


class Multipart(Base):
    def test_expected_object_size(self):
        """x-amz-mp-object-size on Complete must be the parts' total."""
        b = self.bucket()
        uid = self.s3.create_multipart_upload(Bucket=b, Key="mp")["UploadId"]
        e = self.s3.upload_part(Bucket=b, Key="mp", UploadId=uid, PartNumber=1, Body=b"12345")["ETag"]
        parts = {"Parts": [{"PartNumber": 1, "ETag": e}]}
        for bad in ("6", "-1", "five"):
            c = hf.add_headers(hf.boto3_client(SERVER), "CompleteMultipartUpload", {"x-amz-mp-object-size": bad})
            self.assertError("InvalidRequest", 400, c.complete_multipart_upload, Bucket=b, Key="mp",
                             UploadId=uid, MultipartUpload=parts)
        c = hf.add_headers(hf.boto3_client(SERVER), "CompleteMultipartUpload", {"x-amz-mp-object-size": "5"})
        c.complete_multipart_upload(Bucket=b, Key="mp", UploadId=uid, MultipartUpload=parts)
        self.assertEqual(self.s3.get_object(Bucket=b, Key="mp")["Body"].read(), b"12345")

    def test_complete_flow(self):
        b = self.bucket()
        up = self.s3.create_multipart_upload(Bucket=b, Key="mp", ContentType="video/x-test",
                                             Metadata={"k": "v"})
        uid = up["UploadId"]
        p1 = os.urandom(5 * 1024 * 1024)
        p2 = os.urandom(5 * 1024 * 1024 + 17)
        p3 = os.urandom(1000)
        etags = []
        for i, p in enumerate([p1, p2, p3], 1):
            r = self.s3.upload_part(Bucket=b, Key="mp", UploadId=uid, PartNumber=i, Body=p)
            self.assertEqual(r["ETag"], '"%s"' % hashlib.md5(p).hexdigest())
            etags.append(r["ETag"])
        parts = self.s3.list_parts(Bucket=b, Key="mp", UploadId=uid)
        self.assertEqual([p["PartNumber"] for p in parts["Parts"]], [1, 2, 3])
        self.assertEqual([p["Size"] for p in parts["Parts"]], [len(p1), len(p2), len(p3)])
        ups = self.s3.list_multipart_uploads(Bucket=b)["Uploads"]
        self.assertEqual([(u["Key"], u["UploadId"]) for u in ups], [("mp", uid)])
        r = self.s3.complete_multipart_upload(Bucket=b, Key="mp", UploadId=uid, MultipartUpload={
            "Parts": [{"PartNumber": i, "ETag": e} for i, e in enumerate(etags, 1)]})
        want = hashlib.md5(b"".join(bytes.fromhex(e.strip('"')) for e in etags)).hexdigest() + "-3"
        self.assertEqual(r["ETag"], '"%s"' % want)
        g = self.s3.get_object(Bucket=b, Key="mp")
        data = g["Body"].read()
        self.assertEqual(hashlib.sha256(data).digest(), hashlib.sha256(p1 + p2 + p3).digest())
        self.assertEqual(g["ContentType"], "video/x-test")
        self.assertEqual(g["Metadata"], {"k": "v"})
        self.assertEqual(g["ETag"], '"%s"' % want)
        # Range across the part 1 / part 2 boundary.
        off = len(p1) - 10
        g = self.s3.get_object(Bucket=b, Key="mp", Range="bytes=%d-%d" % (off, off + 19))
        self.assertEqual(g["Body"].read(), (p1 + p2)[off:off + 20])
        self.assertEqual(self.s3.list_multipart_uploads(Bucket=b).get("Uploads", []), [])
        self.assertError("NoSuchUpload", 404, self.s3.list_parts, Bucket=b, Key="mp", UploadId=uid)

    def test_errors(self):
        b = self.bucket()
        uid = self.s3.create_multipart_upload(Bucket=b, Key="mp")["UploadId"]
        small = self.s3.upload_part(Bucket=b, Key="mp", UploadId=uid, PartNumber=1, Body=b"a" * 100)
        last = self.s3.upload_part(Bucket=b, Key="mp", UploadId=uid, PartNumber=2, Body=b"b" * 100)
        self.assertError("EntityTooSmall", 400, self.s3.complete_multipart_upload, Bucket=b, Key="mp",
                         UploadId=uid, MultipartUpload={"Parts": [
                             {"PartNumber": 1, "ETag": small["ETag"]}, {"PartNumber": 2, "ETag": last["ETag"]}]})
        self.assertError("InvalidPartOrder", 400, self.s3.complete_multipart_upload, Bucket=b, Key="mp",
                         UploadId=uid, MultipartUpload={"Parts": [
                             {"PartNumber": 2, "ETag": last["ETag"]}, {"PartNumber": 1, "ETag": small["ETag"]}]})
        self.assertError("InvalidPart", 400, self.s3.complete_multipart_upload, Bucket=b, Key="mp",
                         UploadId=uid, MultipartUpload={"Parts": [
                             {"PartNumber": 1, "ETag": '"00000000000000000000000000000000"'}]})
        self.assertError("InvalidPart", 400, self.s3.complete_multipart_upload, Bucket=b, Key="mp",
                         UploadId=uid, MultipartUpload={"Parts": [{"PartNumber": 7, "ETag": last["ETag"]}]})
        self.assertError("InvalidArgument", 400, self.s3.upload_part, Bucket=b, Key="mp", UploadId=uid,
                         PartNumber=10001, Body=b"x")
        self.assertError("NoSuchUpload", 404, self.s3.upload_part, Bucket=b, Key="mp",
                         UploadId="0" * 32, PartNumber=1, Body=b"x")
        self.assertError("NoSuchUpload", 404, self.s3.upload_part, Bucket=b, Key="other",
                         UploadId=uid, PartNumber=1, Body=b"x")
        # A single small part is fine: it is the last part.
        r = self.s3.complete_multipart_upload(Bucket=b, Key="mp", UploadId=uid, MultipartUpload={
            "Parts": [{"PartNumber": 2, "ETag": last["ETag"]}]})
        self.assertTrue(r["ETag"].endswith('-1"'))
        self.assertEqual(self.s3.get_object(Bucket=b, Key="mp")["Body"].read(), b"b" * 100)

    def test_abort_and_replace_part(self):
        b = self.bucket()
        uid = self.s3.create_multipart_upload(Bucket=b, Key="mp")["UploadId"]
        self.s3.upload_part(Bucket=b, Key="mp", UploadId=uid, PartNumber=1, Body=b"first")
        r = self.s3.upload_part(Bucket=b, Key="mp", UploadId=uid, PartNumber=1, Body=b"second")
        parts = self.s3.list_parts(Bucket=b, Key="mp", UploadId=uid)["Parts"]
        self.assertEqual(len(parts), 1)
        self.assertEqual(parts[0]["ETag"], r["ETag"])
        self.s3.abort_multipart_upload(Bucket=b, Key="mp", UploadId=uid)
        self.assertError("NoSuchUpload", 404, self.s3.abort_multipart_upload, Bucket=b, Key="mp", UploadId=uid)
        self.assertError("NoSuchKey", 404, self.s3.head_object, Bucket=b, Key="mp") if False else None

    def test_list_parts_paging(self):
        b = self.bucket()
        uid = self.s3.create_multipart_upload(Bucket=b, Key="mp")["UploadId"]
        for i in range(1, 8):
            self.s3.upload_part(Bucket=b, Key="mp", UploadId=uid, PartNumber=i, Body=b"p%d" % i)
        got = []
        marker = 0
        while True:
            r = self.s3.list_parts(Bucket=b, Key="mp", UploadId=uid, MaxParts=3, PartNumberMarker=marker)
            got += [p["PartNumber"] for p in r["Parts"]]
            if not r["IsTruncated"]:
                break
            marker = r["NextPartNumberMarker"]
        self.assertEqual(got, list(range(1, 8)))

    def test_list_uploads_markers(self):
        b = self.bucket()
        ids = {}
        for k in ["a/1", "a/2", "b", "c/d"]:
            ids[k] = self.s3.create_multipart_upload(Bucket=b, Key=k)["UploadId"]
        ids["b2"] = self.s3.create_multipart_upload(Bucket=b, Key="b")["UploadId"]
        r = self.s3.list_multipart_uploads(Bucket=b, Delimiter="/")
        self.assertEqual([p["Prefix"] for p in r["CommonPrefixes"]], ["a/", "c/"])
        self.assertEqual([u["UploadId"] for u in r["Uploads"]], [ids["b"], ids["b2"]])
        r = self.s3.list_multipart_uploads(Bucket=b, MaxUploads=2)
        self.assertTrue(r["IsTruncated"])
        r2 = self.s3.list_multipart_uploads(Bucket=b, KeyMarker=r["NextKeyMarker"],
                                            UploadIdMarker=r["NextUploadIdMarker"])
        self.assertEqual([u["Key"] for u in r2["Uploads"]], ["b", "b", "c/d"])


class Auth(Base):
    def test_bad_secret(self):
        bad = hf.boto3_client(SERVER, secret_key="wrong" * 8)
        e = self.assertError("SignatureDoesNotMatch", 403, bad.list_buckets)
        self.assertIn("CanonicalRequest", str(e.response["Error"]) + str(e.response))

    def test_unknown_key(self):
        bad = hf.boto3_client(SERVER, access_key="NOSUCHKEY00000000000")
        self.assertError("InvalidAccessKeyId", 403, bad.list_buckets)

    def test_anonymous(self):
        from botocore import UNSIGNED
        anon = hf.boto3_client(SERVER, signature_version=UNSIGNED)
        self.assertError("AccessDenied", 403, anon.list_buckets)

    def test_presigned(self):
        b = self.bucket()
        self.s3.put_object(Bucket=b, Key="p", Body=b"presigned body")
        import urllib.request
        url = self.s3.generate_presigned_url("get_object", Params={"Bucket": b, "Key": "p"}, ExpiresIn=60)
        with urllib.request.urlopen(url) as r:
            self.assertEqual(r.read(), b"presigned body")
        put = self.s3.generate_presigned_url("put_object", Params={"Bucket": b, "Key": "q"}, ExpiresIn=60)
        req = urllib.request.Request(put, data=b"uploaded", method="PUT")
        with urllib.request.urlopen(req) as r:
            self.assertEqual(r.status, 200)
        self.assertEqual(self.s3.get_object(Bucket=b, Key="q")["Body"].read(), b"uploaded")
        expired = self.s3.generate_presigned_url("get_object", Params={"Bucket": b, "Key": "p"}, ExpiresIn=1)
        time.sleep(2.1)
        try:
            urllib.request.urlopen(expired)
            self.fail("expired presigned URL was accepted")
        except urllib.error.HTTPError as e:
            self.assertEqual(e.code, 403)
            self.assertIn(b"AccessDenied", e.read())
        tampered = url.replace("Key=p", "Key=q") if "Key=p" in url else url.replace("/p?", "/q?")
        try:
            urllib.request.urlopen(tampered)
            self.fail("tampered presigned URL was accepted")
        except urllib.error.HTTPError as e:
            self.assertEqual(e.code, 403)

    def test_clock_skew(self):
        import datetime
        import botocore.auth

        class Skewed(botocore.auth.S3SigV4Auth):
            def _modify_request_before_signing(self, request):
                super()._modify_request_before_signing(request)

        orig = datetime.datetime

        class Past(orig):
            @classmethod
            def utcnow(cls):
                return orig.utcnow() - datetime.timedelta(minutes=20)
        botocore.auth.datetime.datetime = Past
        try:
            self.assertError("RequestTimeTooSkewed", 403, self.s3.list_buckets)
        finally:
            botocore.auth.datetime.datetime = orig

    def test_payload_hash_verified(self):
        b = self.bucket()

        def corrupt(request, **kw):
            # After signing: same length, other bytes than the signed digest covers.
            request.body = b"BODY"
        c = hf.boto3_client(SERVER)
        c.meta.events.register("before-send.s3.PutObject", corrupt)
        self.assertError("XAmzContentSHA256Mismatch", 400, c.put_object, Bucket=b, Key="h", Body=b"body")
        self.assertError("NoSuchKey", 404, self.s3.get_object, Bucket=b, Key="h")


class Users(Base):
    def test_users_own_their_buckets(self):
        import subprocess
        env = dict(os.environ, HOLDFAST_ACCESS_KEY=hf.ACCESS_KEY, HOLDFAST_SECRET_KEY=hf.SECRET_KEY)
        out = subprocess.run([hf.BIN, "admin", "--admin", SERVER.status, "user", "create", "alice"],
                             env=env, capture_output=True, text=True)
        self.assertEqual(out.returncode, 0, out.stderr)
        keys = dict(l.split(":", 1) for l in out.stdout.strip().splitlines())
        ak, sk = keys["access key"].strip(), keys["secret key"].strip()
        alice = hf.boto3_client(SERVER, access_key=ak, secret_key=sk)
        mine = self.bucket()
        alice.create_bucket(Bucket="alice-bucket-%d" % os.getpid())
        self.assertEqual([x["Name"] for x in alice.list_buckets()["Buckets"]], ["alice-bucket-%d" % os.getpid()])
        self.assertNotIn("alice-bucket-%d" % os.getpid(), [x["Name"] for x in self.s3.list_buckets()["Buckets"]])
        self.assertError("AccessDenied", 403, alice.list_objects_v2, Bucket=mine)
        self.assertError("AccessDenied", 403, alice.put_object, Bucket=mine, Key="x", Body=b"x")
        self.assertError("AccessDenied", 403, alice.get_object, Bucket=mine, Key="x")
        self.assertError("AccessDenied", 403, alice.delete_bucket, Bucket=mine)
        self.assertError("BucketAlreadyExists", 409, alice.create_bucket, Bucket=mine)
        # A user who owns buckets cannot be deleted; after emptying, it can.
        out = subprocess.run([hf.BIN, "admin", "--admin", SERVER.status, "user", "delete", "alice"],
                             env=env, capture_output=True, text=True)
        self.assertNotEqual(out.returncode, 0)
        alice.delete_bucket(Bucket="alice-bucket-%d" % os.getpid())
        out = subprocess.run([hf.BIN, "admin", "--admin", SERVER.status, "user", "list"],
                             env=env, capture_output=True, text=True)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn("alice", out.stdout)
        self.assertNotIn(sk, out.stdout)
        out = subprocess.run([hf.BIN, "admin", "--admin", SERVER.status, "user", "delete", "alice"],
                             env=env, capture_output=True, text=True)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertError("InvalidAccessKeyId", 403, alice.list_buckets)


class Streaming(Base):
    def test_large_object_memory_bounded(self):
        """A 1 GiB PUT and GET stream: the server's RSS stays far below the body size."""
        b = self.bucket()
        size = 1024 * 1024 * 1024
        rss_before = hf.rss_kib(SERVER.proc.pid)
        peak = [rss_before]
        stop = threading.Event()

        def sample():
            while not stop.is_set():
                peak[0] = max(peak[0], hf.rss_kib(SERVER.proc.pid))
                time.sleep(0.05)
        t = threading.Thread(target=sample)
        t.start()
        try:
            class Gen(io.RawIOBase):
                """size bytes of a repeating pattern, seekable so botocore can hash it first."""
                pattern = b"0123456789abcdef" * 65536

                def __init__(self):
                    self.pos = 0

                def readable(self):
                    return True

                def seekable(self):
                    return True

                def tell(self):
                    return self.pos

                def seek(self, off, whence=0):
                    self.pos = off if whence == 0 else (self.pos + off if whence == 1 else size + off)
                    return self.pos

                def readinto(self, buf):
                    n = min(len(buf), size - self.pos, len(self.pattern) - 16)
                    start = self.pos % 16
                    buf[:n] = self.pattern[start:start + n]
                    self.pos += n
                    return n

            want = hashlib.md5()
            chunk = Gen.pattern
            left = size
            while left:
                k = min(left, len(chunk))
                want.update(chunk[:k])
                left -= k
            g = Gen()
            c = hf.boto3_client(SERVER, s3={"addressing_style": "path", "payload_signing_enabled": False})
            r = c.put_object(Bucket=b, Key="big", Body=g, ContentLength=size)
            self.assertEqual(r["ETag"], '"%s"' % want.hexdigest())
            body = self.s3.get_object(Bucket=b, Key="big")["Body"]
            h = hashlib.md5()
            n = 0
            while True:
                chunk = body.read(1 << 20)
                if not chunk:
                    break
                h.update(chunk)
                n += len(chunk)
            self.assertEqual(n, size)
            self.assertEqual(h.hexdigest(), want.hexdigest())
        finally:
            stop.set()
            t.join()
        grown_mib = (peak[0] - rss_before) / 1024
        print("    rss before %d KiB, peak %d KiB (+%.1f MiB) for a 1 GiB PUT+GET" %
              (rss_before, peak[0], grown_mib), flush=True)
        self.assertLess(grown_mib, 64, "server memory grew with the body size")


class Lifecycle(unittest.TestCase):
    def test_restart_keeps_data_and_sigterm_exits_zero(self):
        srv = hf.Server().start()
        try:
            s3 = hf.boto3_client(srv)
            s3.create_bucket(Bucket="persist")
            s3.put_object(Bucket="persist", Key="k", Body=b"durable")
            s3.put_object(Bucket="persist", Key="big", Body=b"z" * (6 * 1024 * 1024))
            self.assertEqual(srv.stop(), 0)
            srv.start()
            s3 = hf.boto3_client(srv)
            self.assertEqual(s3.get_object(Bucket="persist", Key="k")["Body"].read(), b"durable")
            self.assertEqual(len(s3.get_object(Bucket="persist", Key="big")["Body"].read()), 6 * 1024 * 1024)
            # After kill -9 too: every acknowledged write is there.
            s3.put_object(Bucket="persist", Key="k2", Body=b"acked")
            srv.kill()
            srv.start()
            s3 = hf.boto3_client(srv)
            self.assertEqual(s3.get_object(Bucket="persist", Key="k2")["Body"].read(), b"acked")
        finally:
            srv.cleanup()

    def test_generated_root_key(self):
        srv = hf.Server(keys=False, env={"HOLDFAST_ACCESS_KEY": "", "HOLDFAST_SECRET_KEY": ""})
        srv.env.pop("HOLDFAST_ACCESS_KEY", None)
        srv.env.pop("HOLDFAST_SECRET_KEY", None)
        srv.start()
        try:
            out = "".join(srv.stdout_lines)
            self.assertIn("access key:", out)
            path = os.path.join(srv.data, "root-credentials")
            self.assertEqual(os.stat(path).st_mode & 0o777, 0o600)
            creds = dict(l.split("=", 1) for l in open(path).read().splitlines() if "=" in l)
            self.assertIn(creds["secret_key"], out)
            s3 = hf.boto3_client(srv, access_key=creds["access_key"], secret_key=creds["secret_key"])
            s3.list_buckets()
            # Printed once: a restart does not print the secret again.
            srv.stop()
            srv.stdout_lines = []
            srv.start()
            time.sleep(0.2)
            self.assertNotIn(creds["secret_key"], "".join(srv.stdout_lines))
        finally:
            srv.cleanup()


if __name__ == "__main__":
    hf.main(__file__)
