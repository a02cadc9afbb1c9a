#!/usr/bin/python3
"""S3 API breadth through boto3 against a real server: CopyObject and
UploadPartCopy, object and bucket tagging, additional checksums (every
algorithm, as headers; multipart composite and full-object checksums),
GetObjectAttributes and GET/HEAD with partNumber."""
import base64
import datetime
import hashlib
import os
import sys
import unittest
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hf  # noqa: E402

from botocore.exceptions import ClientError  # noqa: E402

MiB = 1024 * 1024
setUpModule = hf.start_shared
tearDownModule = hf.stop_shared


def _crc_table(poly, width):
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ poly if c & 1 else c >> 1
        table.append(c)
    return table


_T32C = _crc_table(0x82F63B78, 32)
_T64 = _crc_table(0x9A6C9329AC4BC9B5, 64)


def crc32c(data):
    c = 0xFFFFFFFF
    for b in data:
        c = _T32C[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


def crc64nvme(data):
    c = 0xFFFFFFFFFFFFFFFF
    for b in data:
        c = _T64[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFFFFFFFFFF


def ck(alg, data):
    """The base64 x-amz-checksum-* value of data."""
    if alg == "CRC32":
        raw = (zlib.crc32(data) & 0xFFFFFFFF).to_bytes(4, "big")
    elif alg == "CRC32C":
        raw = crc32c(data).to_bytes(4, "big")
    elif alg == "CRC64NVME":
        raw = crc64nvme(data).to_bytes(8, "big")
    elif alg == "SHA1":
        raw = hashlib.sha1(data).digest()
    else:
        raw = hashlib.sha256(data).digest()
    return base64.b64encode(raw).decode()


class Base(hf.S3Case):

    def multipart(self, b, key, parts, **create):
        u = self.s3.create_multipart_upload(Bucket=b, Key=key, **create)["UploadId"]
        done = []
        for i, data in enumerate(parts, 1):
            r = self.s3.upload_part(Bucket=b, Key=key, UploadId=u, PartNumber=i, Body=data)
            done.append({"PartNumber": i, "ETag": r["ETag"]})
        return self.s3.complete_multipart_upload(Bucket=b, Key=key, UploadId=u,
                                                 MultipartUpload={"Parts": done})


class Copy(Base):
    def test_same_and_cross_bucket_keep_metadata(self):
        a, b = self.bucket(), self.bucket()
        data = os.urandom(100000)
        src = self.s3.put_object(Bucket=a, Key="src", Body=data, ContentType="text/x-src",
                                 Metadata={"color": "red"}, CacheControl="max-age=5")
        r = self.s3.copy_object(Bucket=a, Key="dst", CopySource={"Bucket": a, "Key": "src"})
        self.assertEqual(r["CopyObjectResult"]["ETag"], src["ETag"])
        r = self.s3.copy_object(Bucket=b, Key="dst", CopySource="%s/src" % a)
        for bucket in (a, b):
            g = self.s3.get_object(Bucket=bucket, Key="dst")
            self.assertEqual(g["Body"].read(), data)
            self.assertEqual(g["ContentType"], "text/x-src")
            self.assertEqual(g["Metadata"], {"color": "red"})
            self.assertEqual(g["CacheControl"], "max-age=5")
        # the copy is independent of its source
        self.s3.delete_object(Bucket=a, Key="src")
        self.assertEqual(self.body(b, "dst"), data)

    def test_replace_metadata_and_copy_onto_itself(self):
        b = self.bucket()
        self.s3.put_object(Bucket=b, Key="k", Body=b"x", Metadata={"v": "1"}, ContentType="a/b")
        e = self.assertError("InvalidRequest", 400, self.s3.copy_object, Bucket=b, Key="k",
                             CopySource={"Bucket": b, "Key": "k"})
        self.assertIn("copy an object to itself", e.response["Error"]["Message"])
        self.s3.copy_object(Bucket=b, Key="k", CopySource={"Bucket": b, "Key": "k"},
                            MetadataDirective="REPLACE", Metadata={"v": "2"}, ContentType="c/d")
        h = self.s3.head_object(Bucket=b, Key="k")
        self.assertEqual(h["Metadata"], {"v": "2"})
        self.assertEqual(h["ContentType"], "c/d")
        self.assertEqual(self.body(b, "k"), b"x")
        # a bad directive is an error, not ignored
        hf.add_headers(self.s3, "CopyObject", {"x-amz-metadata-directive": "MERGE"})
        self.assertError("InvalidArgument", 400, self.s3.copy_object, Bucket=b, Key="k2",
                         CopySource={"Bucket": b, "Key": "k"})

    def test_copy_source_conditions(self):
        b = self.bucket()
        etag = self.s3.put_object(Bucket=b, Key="s", Body=b"data")["ETag"]
        lm = self.s3.head_object(Bucket=b, Key="s")["LastModified"]
        past, future = lm - datetime.timedelta(days=1), lm + datetime.timedelta(days=1)
        src = {"Bucket": b, "Key": "s"}
        self.s3.copy_object(Bucket=b, Key="d", CopySource=src, CopySourceIfMatch=etag)
        self.s3.copy_object(Bucket=b, Key="d", CopySource=src, CopySourceIfNoneMatch='"%s"' % ("0" * 32))
        self.s3.copy_object(Bucket=b, Key="d", CopySource=src, CopySourceIfModifiedSince=past)
        self.s3.copy_object(Bucket=b, Key="d", CopySource=src, CopySourceIfUnmodifiedSince=future)
        for kw in ({"CopySourceIfMatch": '"%s"' % ("0" * 32)}, {"CopySourceIfNoneMatch": etag},
                   {"CopySourceIfModifiedSince": future}, {"CopySourceIfUnmodifiedSince": past}):
            self.assertError("PreconditionFailed", 412, self.s3.copy_object, Bucket=b, Key="d2",
                             CopySource=src, **kw)
        # S3's precedence: if-match true beats if-unmodified-since false
        self.s3.copy_object(Bucket=b, Key="d3", CopySource=src, CopySourceIfMatch=etag,
                            CopySourceIfUnmodifiedSince=past)
        self.assertNotIn("d2", [o["Key"] for o in self.s3.list_objects_v2(Bucket=b)["Contents"]])

    def test_encoded_source_keys(self):
        b = self.bucket()
        for key in ("a b+c?d=e&f", "ü/ñ/日本", "%41 literal percent", "trailing/"):
            self.s3.put_object(Bucket=b, Key=key, Body=key.encode())
            self.s3.copy_object(Bucket=b, Key="copy-" + key, CopySource={"Bucket": b, "Key": key})
            self.assertEqual(self.body(b, "copy-" + key), key.encode())

    def test_copy_versions_and_errors(self):
        b = self.bucket(versioning="Enabled")
        v1 = self.s3.put_object(Bucket=b, Key="k", Body=b"one")["VersionId"]
        self.s3.put_object(Bucket=b, Key="k", Body=b"two")
        r = self.s3.copy_object(Bucket=b, Key="k", CopySource={"Bucket": b, "Key": "k", "VersionId": v1})
        self.assertEqual(r["CopySourceVersionId"], v1)
        self.assertIn("VersionId", r)
        self.assertEqual(self.body(b, "k"), b"one")  # restored by copying the old version
        self.assertError("NoSuchKey", 404, self.s3.copy_object, Bucket=b, Key="x",
                         CopySource={"Bucket": b, "Key": "absent"})
        self.assertError("NoSuchBucket", 404, self.s3.copy_object, Bucket=b, Key="x",
                         CopySource={"Bucket": "no-such-bucket-here", "Key": "k"})
        self.assertError("NoSuchVersion", 404, self.s3.copy_object, Bucket=b, Key="x",
                         CopySource={"Bucket": b, "Key": "k", "VersionId": "f" * 32})
        m = self.s3.delete_object(Bucket=b, Key="k")["VersionId"]
        self.assertError("NoSuchKey", 404, self.s3.copy_object, Bucket=b, Key="x",
                         CopySource={"Bucket": b, "Key": "k"})
        self.assertError("InvalidRequest", 400, self.s3.copy_object, Bucket=b, Key="x",
                         CopySource={"Bucket": b, "Key": "k", "VersionId": m})

    def test_copy_of_multipart_source_gets_plain_md5(self):
        b = self.bucket()
        parts = [os.urandom(5 * MiB), os.urandom(3 * MiB)]
        r = self.multipart(b, "mp", parts)
        self.assertTrue(r["ETag"].endswith('-2"'))
        c = self.s3.copy_object(Bucket=b, Key="flat", CopySource={"Bucket": b, "Key": "mp"})
        whole = b"".join(parts)
        self.assertEqual(c["CopyObjectResult"]["ETag"], '"%s"' % hashlib.md5(whole).hexdigest())
        self.assertEqual(self.body(b, "flat"), whole)
        # the copied object is not multipart any more
        self.assertError("InvalidPartNumber", 416, self.s3.get_object, Bucket=b, Key="flat", PartNumber=2)

    def test_tagging_directive(self):
        b = self.bucket()
        self.s3.put_object(Bucket=b, Key="s", Body=b"x", Tagging="a=1&b=2")
        self.s3.copy_object(Bucket=b, Key="c1", CopySource={"Bucket": b, "Key": "s"})
        self.assertEqual(self.tags(b, "c1"), {"a": "1", "b": "2"})
        self.s3.copy_object(Bucket=b, Key="c2", CopySource={"Bucket": b, "Key": "s"},
                            TaggingDirective="REPLACE", Tagging="z=9")
        self.assertEqual(self.tags(b, "c2"), {"z": "9"})

    def tags(self, b, k):
        return {t["Key"]: t["Value"] for t in self.s3.get_object_tagging(Bucket=b, Key=k)["TagSet"]}

    def test_upload_part_copy_with_ranges(self):
        b = self.bucket()
        src = os.urandom(12 * MiB)
        self.s3.put_object(Bucket=b, Key="src", Body=src)
        u = self.s3.create_multipart_upload(Bucket=b, Key="assembled")["UploadId"]
        ranges = [(0, 5 * MiB - 1), (7 * MiB, 12 * MiB - 1), (100, 199)]
        parts = []
        for i, (a, z) in enumerate(ranges, 1):
            r = self.s3.upload_part_copy(Bucket=b, Key="assembled", UploadId=u, PartNumber=i,
                                         CopySource={"Bucket": b, "Key": "src"},
                                         CopySourceRange="bytes=%d-%d" % (a, z))
            self.assertEqual(r["CopyPartResult"]["ETag"], '"%s"' % hashlib.md5(src[a:z + 1]).hexdigest())
            parts.append({"PartNumber": i, "ETag": r["CopyPartResult"]["ETag"]})
        self.s3.complete_multipart_upload(Bucket=b, Key="assembled", UploadId=u,
                                          MultipartUpload={"Parts": parts})
        self.assertEqual(self.body(b, "assembled"), b"".join(src[a:z + 1] for a, z in ranges))
        u = self.s3.create_multipart_upload(Bucket=b, Key="bad")["UploadId"]
        self.assertError("InvalidRange", 416, self.s3.upload_part_copy, Bucket=b, Key="bad", UploadId=u,
                         PartNumber=1, CopySource={"Bucket": b, "Key": "src"},
                         CopySourceRange="bytes=0-%d" % len(src))
        self.assertError("InvalidArgument", 400, self.s3.upload_part_copy, Bucket=b, Key="bad", UploadId=u,
                         PartNumber=1, CopySource={"Bucket": b, "Key": "src"}, CopySourceRange="bytes=9-1")
        # without a range the whole source is the part
        r = self.s3.upload_part_copy(Bucket=b, Key="bad", UploadId=u, PartNumber=1,
                                     CopySource={"Bucket": b, "Key": "src"})
        self.assertEqual(r["CopyPartResult"]["ETag"], '"%s"' % hashlib.md5(src).hexdigest())


class Tagging(Base):
    def test_object_tagging_lifecycle(self):
        b = self.bucket()
        self.s3.put_object(Bucket=b, Key="k", Body=b"x", Tagging="project=alpha&team=core%20infra")
        h = self.s3.head_object(Bucket=b, Key="k")
        self.assertEqual(h["ResponseMetadata"]["HTTPHeaders"]["x-amz-tagging-count"], "2")
        t = self.s3.get_object_tagging(Bucket=b, Key="k")["TagSet"]
        self.assertEqual({x["Key"]: x["Value"] for x in t}, {"project": "alpha", "team": "core infra"})
        self.s3.put_object_tagging(Bucket=b, Key="k", Tagging={"TagSet": [{"Key": "n", "Value": ""}]})
        self.assertEqual(self.s3.get_object_tagging(Bucket=b, Key="k")["TagSet"], [{"Key": "n", "Value": ""}])
        self.s3.delete_object_tagging(Bucket=b, Key="k")
        self.assertEqual(self.s3.get_object_tagging(Bucket=b, Key="k")["TagSet"], [])
        self.assertNotIn("x-amz-tagging-count", self.s3.head_object(Bucket=b, Key="k")["ResponseMetadata"]["HTTPHeaders"])
        self.assertError("NoSuchKey", 404, self.s3.get_object_tagging, Bucket=b, Key="absent")
        self.assertError("NoSuchKey", 404, self.s3.put_object_tagging, Bucket=b, Key="absent",
                         Tagging={"TagSet": []})

    def test_limits(self):
        b = self.bucket()
        self.s3.put_object(Bucket=b, Key="k", Body=b"x")

        def put(tags):
            return self.s3.put_object_tagging(Bucket=b, Key="k", Tagging={"TagSet": tags})
        put([{"Key": "k%d" % i, "Value": "v"} for i in range(10)])
        put([{"Key": "é" * 128, "Value": "ü" * 256}])  # characters, not bytes
        bad = [
            [{"Key": "k%d" % i, "Value": "v"} for i in range(11)],
            [{"Key": "x" * 129, "Value": "v"}],
            [{"Key": "k", "Value": "v" * 257}],
            [{"Key": "k", "Value": "1"}, {"Key": "k", "Value": "2"}],
            [{"Key": "aws:reserved", "Value": "v"}],
            [{"Key": "bad*char", "Value": "v"}],
        ]
        for tags in bad:
            self.assertError("InvalidTag", 400, put, tags)
        self.assertError("InvalidTag", 400, self.s3.put_object, Bucket=b, Key="k2", Body=b"x",
                         Tagging="&".join("k%d=v" % i for i in range(11)))
        self.assertError("InvalidTag", 400, self.s3.put_object, Bucket=b, Key="k2", Body=b"x",
                         Tagging="a=1&a=2")
        self.assertNotIn("Contents", self.s3.list_objects_v2(Bucket=b, Prefix="k2"))

    def test_multipart_and_versions(self):
        b = self.bucket(versioning="Enabled")
        self.multipart(b, "mp", [b"part"], Tagging="via=multipart")
        self.assertEqual(self.s3.get_object_tagging(Bucket=b, Key="mp")["TagSet"],
                         [{"Key": "via", "Value": "multipart"}])
        v1 = self.s3.put_object(Bucket=b, Key="v", Body=b"1", Tagging="gen=1")["VersionId"]
        self.s3.put_object(Bucket=b, Key="v", Body=b"2", Tagging="gen=2")
        r = self.s3.put_object_tagging(Bucket=b, Key="v", VersionId=v1,
                                       Tagging={"TagSet": [{"Key": "gen", "Value": "one"}]})
        self.assertEqual(r["VersionId"], v1)
        self.assertEqual(self.s3.get_object_tagging(Bucket=b, Key="v", VersionId=v1)["TagSet"],
                         [{"Key": "gen", "Value": "one"}])
        self.assertEqual(self.s3.get_object_tagging(Bucket=b, Key="v")["TagSet"], [{"Key": "gen", "Value": "2"}])

    def test_bucket_tagging(self):
        b = self.bucket()
        self.assertError("NoSuchTagSet", 404, self.s3.get_bucket_tagging, Bucket=b)
        tags = [{"Key": "k%d" % i, "Value": "v%d" % i} for i in range(50)]
        self.s3.put_bucket_tagging(Bucket=b, Tagging={"TagSet": tags})
        self.assertEqual(self.s3.get_bucket_tagging(Bucket=b)["TagSet"], tags)
        self.assertError("InvalidTag", 400, self.s3.put_bucket_tagging, Bucket=b,
                         Tagging={"TagSet": tags + [{"Key": "one-too-many", "Value": "x"}]})
        self.s3.delete_bucket_tagging(Bucket=b)
        self.assertError("NoSuchTagSet", 404, self.s3.get_bucket_tagging, Bucket=b)


class Checksums(Base):
    def test_every_algorithm_on_put_and_get(self):
        b = self.bucket()
        data = os.urandom(50000)
        for alg in ("CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256"):
            header = "x-amz-checksum-" + alg.lower()
            c = hf.boto3_client(hf.SHARED)
            hf.add_headers(c, "PutObject", {header: ck(alg, data)})
            r = c.put_object(Bucket=b, Key=alg, Body=data)
            self.assertEqual(r["ResponseMetadata"]["HTTPHeaders"][header], ck(alg, data))
            for fn in (self.s3.get_object, self.s3.head_object):
                g = fn(Bucket=b, Key=alg, ChecksumMode="ENABLED")
                hdrs = g["ResponseMetadata"]["HTTPHeaders"]
                self.assertEqual(hdrs[header], ck(alg, data), alg)
                self.assertEqual(hdrs["x-amz-checksum-type"], "FULL_OBJECT")
            # not asked for: not sent
            self.assertNotIn(header, self.s3.head_object(Bucket=b, Key=alg)["ResponseMetadata"]["HTTPHeaders"])
            # a range is not covered by the object's checksum
            g = self.s3.get_object(Bucket=b, Key=alg, ChecksumMode="ENABLED", Range="bytes=0-9")
            self.assertNotIn(header, g["ResponseMetadata"]["HTTPHeaders"])
            # a wrong value is refused and nothing is stored
            c2 = hf.boto3_client(hf.SHARED)
            hf.add_headers(c2, "PutObject", {header: ck(alg, b"other")})
            self.assertError("BadDigest", 400, c2.put_object, Bucket=b, Key=alg + "-bad", Body=data)
        self.assertNotIn("Contents", self.s3.list_objects_v2(Bucket=b, Prefix="CRC32-bad"))
        r = self.s3.list_objects_v2(Bucket=b, Prefix="SHA1")
        self.assertEqual(r["Contents"][0]["ChecksumAlgorithm"], ["SHA1"])

    def test_default_crc64nvme(self):
        # S3 stores a full-object CRC64NVME for every object uploaded without
        # a checksum (single PUT, multipart, part copies), and answers it
        # only when asked (this botocore predates CRC64NVME: raw headers).
        b = self.bucket()
        h64 = "x-amz-checksum-crc64nvme"
        data = os.urandom(70000)
        small = b"tiny, stored inline"
        for key, body in (("big", data), ("small", small)):
            r = self.s3.put_object(Bucket=b, Key=key, Body=body)
            self.assertEqual(r["ResponseMetadata"]["HTTPHeaders"][h64], ck("CRC64NVME", body))
            h = self.s3.head_object(Bucket=b, Key=key, ChecksumMode="ENABLED")["ResponseMetadata"]["HTTPHeaders"]
            self.assertEqual((h[h64], h["x-amz-checksum-type"]), (ck("CRC64NVME", body), "FULL_OBJECT"))
            self.assertNotIn(h64, self.s3.head_object(Bucket=b, Key=key)["ResponseMetadata"]["HTTPHeaders"])
        # a checksum the client names is the one kept, not the default
        self.s3.put_object(Bucket=b, Key="sha", Body=small, ChecksumAlgorithm="SHA256")
        h = self.s3.head_object(Bucket=b, Key="sha", ChecksumMode="ENABLED")["ResponseMetadata"]["HTTPHeaders"]
        self.assertNotIn(h64, h)
        self.assertEqual(h["x-amz-checksum-sha256"], ck("SHA256", small))
        # listings and attributes name it
        r = self.s3.list_objects_v2(Bucket=b, Prefix="big")
        self.assertEqual(r["Contents"][0]["ChecksumAlgorithm"], ["CRC64NVME"])
        st, _, xml = hf.signed_request(hf.SHARED, "GET", "/%s/big" % b, [("attributes", None)],
                                       {"x-amz-object-attributes": "Checksum"})
        self.assertEqual(st, 200, xml)
        self.assertIn(("<ChecksumCRC64NVME>%s</ChecksumCRC64NVME>" % ck("CRC64NVME", data)).encode(), xml)
        # a copy keeps it
        self.s3.copy_object(Bucket=b, Key="copy", CopySource={"Bucket": b, "Key": "big"})
        h = self.s3.head_object(Bucket=b, Key="copy", ChecksumMode="ENABLED")["ResponseMetadata"]["HTTPHeaders"]
        self.assertEqual(h[h64], ck("CRC64NVME", data))
        # multipart without an algorithm: parts answer no checksum, the
        # object gets the CRC64NVME of all its bytes, part copies included
        first = os.urandom(5 * MiB)
        u = self.s3.create_multipart_upload(Bucket=b, Key="mp")["UploadId"]
        r = self.s3.upload_part(Bucket=b, Key="mp", UploadId=u, PartNumber=1, Body=first)
        self.assertNotIn(h64, r["ResponseMetadata"]["HTTPHeaders"])
        done = [{"PartNumber": 1, "ETag": r["ETag"]}]
        r = self.s3.upload_part_copy(Bucket=b, Key="mp", UploadId=u, PartNumber=2,
                                     CopySource={"Bucket": b, "Key": "big"}, CopySourceRange="bytes=100-59999")
        done.append({"PartNumber": 2, "ETag": r["CopyPartResult"]["ETag"]})
        self.assertNotIn("ChecksumAlgorithm", self.s3.list_parts(Bucket=b, Key="mp", UploadId=u))
        self.s3.complete_multipart_upload(Bucket=b, Key="mp", UploadId=u, MultipartUpload={"Parts": done})
        whole = first + data[100:60000]
        g = self.s3.get_object(Bucket=b, Key="mp", ChecksumMode="ENABLED")
        self.assertEqual(g["Body"].read(), whole)
        h = g["ResponseMetadata"]["HTTPHeaders"]
        self.assertEqual((h[h64], h["x-amz-checksum-type"]), (ck("CRC64NVME", whole), "FULL_OBJECT"))

    def test_boto3_flexible_checksums(self):
        b = self.bucket()
        data = os.urandom(300000)
        for alg in ("CRC32", "SHA1", "SHA256"):
            self.s3.put_object(Bucket=b, Key="f-" + alg, Body=data, ChecksumAlgorithm=alg)
            g = self.s3.get_object(Bucket=b, Key="f-" + alg, ChecksumMode="ENABLED")
            self.assertEqual(g["Body"].read(), data)  # botocore validates the checksum it gets
            self.assertEqual(g["Checksum" + alg], ck(alg, data))

    def test_multipart_composite(self):
        b = self.bucket()
        parts = [os.urandom(5 * MiB), os.urandom(MiB)]
        u = self.s3.create_multipart_upload(Bucket=b, Key="mp", ChecksumAlgorithm="SHA256")
        self.assertEqual(u["ChecksumAlgorithm"], "SHA256")
        uid = u["UploadId"]
        done = []
        for i, p in enumerate(parts, 1):
            r = self.s3.upload_part(Bucket=b, Key="mp", UploadId=uid, PartNumber=i, Body=p,
                                    ChecksumAlgorithm="SHA256")
            self.assertEqual(r["ChecksumSHA256"], ck("SHA256", p))
            done.append({"PartNumber": i, "ETag": r["ETag"], "ChecksumSHA256": r["ChecksumSHA256"]})
        lp = self.s3.list_parts(Bucket=b, Key="mp", UploadId=uid)
        self.assertEqual([p["ChecksumSHA256"] for p in lp["Parts"]], [ck("SHA256", p) for p in parts])
        # a part checksum that does not match is refused
        wrong = [dict(done[0], ChecksumSHA256=ck("SHA256", b"x")), done[1]]
        self.assertError("InvalidPart", 400, self.s3.complete_multipart_upload, Bucket=b, Key="mp",
                         UploadId=uid, MultipartUpload={"Parts": wrong})
        # composite uploads must list every part's checksum
        bare = [{"PartNumber": d["PartNumber"], "ETag": d["ETag"]} for d in done]
        self.assertError("InvalidRequest", 400, self.s3.complete_multipart_upload, Bucket=b, Key="mp",
                         UploadId=uid, MultipartUpload={"Parts": bare})
        r = self.s3.complete_multipart_upload(Bucket=b, Key="mp", UploadId=uid, MultipartUpload={"Parts": done})
        composite = base64.b64encode(hashlib.sha256(
            b"".join(hashlib.sha256(p).digest() for p in parts)).digest()).decode()
        self.assertEqual(r["ChecksumSHA256"], composite + "-2")
        h = self.s3.head_object(Bucket=b, Key="mp", ChecksumMode="ENABLED")
        self.assertEqual(h["ChecksumSHA256"], composite + "-2")
        self.assertEqual(h["ResponseMetadata"]["HTTPHeaders"]["x-amz-checksum-type"], "COMPOSITE")
        # each part by number, with its own checksum
        for i, p in enumerate(parts, 1):
            g = self.s3.get_object(Bucket=b, Key="mp", PartNumber=i, ChecksumMode="ENABLED")
            self.assertEqual(g["Body"].read(), p)
            self.assertEqual(g["PartsCount"], 2)
            self.assertEqual(g["ResponseMetadata"]["HTTPStatusCode"], 206)
            self.assertEqual(g["ResponseMetadata"]["HTTPHeaders"]["x-amz-checksum-sha256"], ck("SHA256", p))
        a = self.s3.get_object_attributes(Bucket=b, Key="mp", ObjectAttributes=[
            "ETag", "Checksum", "ObjectParts", "StorageClass", "ObjectSize"])
        self.assertEqual(a["ObjectSize"], sum(map(len, parts)))
        self.assertEqual(a["StorageClass"], "STANDARD")
        self.assertTrue(a["ETag"].endswith("-2") and '"' not in a["ETag"])
        self.assertEqual(a["Checksum"]["ChecksumSHA256"], composite)
        self.assertEqual(a["ObjectParts"]["TotalPartsCount"], 2)
        self.assertEqual([(p["PartNumber"], p["Size"], p["ChecksumSHA256"]) for p in a["ObjectParts"]["Parts"]],
                         [(i, len(p), ck("SHA256", p)) for i, p in enumerate(parts, 1)])
        a = self.s3.get_object_attributes(Bucket=b, Key="mp", ObjectAttributes=["ObjectParts"], MaxParts=1)
        self.assertTrue(a["ObjectParts"]["IsTruncated"])
        self.assertEqual([p["PartNumber"] for p in a["ObjectParts"]["Parts"]], [1])
        a = self.s3.get_object_attributes(Bucket=b, Key="mp", ObjectAttributes=["ObjectParts"],
                                          PartNumberMarker=1)
        self.assertEqual([p["PartNumber"] for p in a["ObjectParts"]["Parts"]], [2])

    def test_multipart_full_object_crc(self):
        b = self.bucket()
        parts = [os.urandom(5 * MiB), os.urandom(777)]
        whole = b"".join(parts)
        c = hf.boto3_client(hf.SHARED)
        hf.add_headers(c, "CreateMultipartUpload", {"x-amz-checksum-type": "FULL_OBJECT"})
        u = c.create_multipart_upload(Bucket=b, Key="full", ChecksumAlgorithm="CRC32")
        self.assertEqual(u["ResponseMetadata"]["HTTPHeaders"]["x-amz-checksum-type"], "FULL_OBJECT")
        uid = u["UploadId"]
        done = []
        for i, p in enumerate(parts, 1):
            # parts sent without a checksum get one computed
            r = self.s3.upload_part(Bucket=b, Key="full", UploadId=uid, PartNumber=i, Body=p)
            done.append({"PartNumber": i, "ETag": r["ETag"]})
        c2 = hf.boto3_client(hf.SHARED)
        hf.add_headers(c2, "CompleteMultipartUpload", {"x-amz-checksum-crc32": ck("CRC32", b"wrong")})
        self.assertError("BadDigest", 400, c2.complete_multipart_upload, Bucket=b, Key="full",
                         UploadId=uid, MultipartUpload={"Parts": done})
        r = self.s3.complete_multipart_upload(Bucket=b, Key="full", UploadId=uid, MultipartUpload={"Parts": done})
        self.assertEqual(r["ChecksumCRC32"], ck("CRC32", whole))
        g = self.s3.get_object(Bucket=b, Key="full", ChecksumMode="ENABLED")
        self.assertEqual(g["Body"].read(), whole)
        self.assertEqual(g["ChecksumCRC32"], ck("CRC32", whole))
        self.assertEqual(g["ResponseMetadata"]["HTTPHeaders"]["x-amz-checksum-type"], "FULL_OBJECT")

    def test_bad_checksum_requests(self):
        b = self.bucket()
        c = hf.boto3_client(hf.SHARED)
        hf.add_headers(c, "CreateMultipartUpload", {"x-amz-checksum-type": "FULL_OBJECT"})
        self.assertError("InvalidRequest", 400, c.create_multipart_upload, Bucket=b, Key="x",
                         ChecksumAlgorithm="SHA256")
        c = hf.boto3_client(hf.SHARED)
        hf.add_headers(c, "PutObject", {"x-amz-checksum-crc32": "not base64!"})
        self.assertError("InvalidRequest", 400, c.put_object, Bucket=b, Key="x", Body=b"1")
        c = hf.boto3_client(hf.SHARED)
        hf.add_headers(c, "PutObject", {"x-amz-checksum-crc32": ck("CRC32", b"1"),
                                      "x-amz-checksum-sha1": ck("SHA1", b"1")})
        self.assertError("InvalidRequest", 400, c.put_object, Bucket=b, Key="x", Body=b"1")
        u = self.s3.create_multipart_upload(Bucket=b, Key="m", ChecksumAlgorithm="CRC32")["UploadId"]
        self.assertError("InvalidRequest", 400, self.s3.upload_part, Bucket=b, Key="m", UploadId=u,
                         PartNumber=1, Body=b"x", ChecksumAlgorithm="SHA1")

    def test_copy_keeps_or_computes_checksums(self):
        b = self.bucket()
        data = os.urandom(70000)
        c = hf.boto3_client(hf.SHARED)
        hf.add_headers(c, "PutObject", {"x-amz-checksum-crc32c": ck("CRC32C", data)})
        c.put_object(Bucket=b, Key="s", Body=data)
        r = self.s3.copy_object(Bucket=b, Key="d", CopySource={"Bucket": b, "Key": "s"})
        self.assertEqual(r["CopyObjectResult"]["ChecksumCRC32C"], ck("CRC32C", data))
        r = self.s3.copy_object(Bucket=b, Key="d2", CopySource={"Bucket": b, "Key": "s"},
                                ChecksumAlgorithm="SHA256")
        self.assertEqual(r["CopyObjectResult"]["ChecksumSHA256"], ck("SHA256", data))
        g = self.s3.head_object(Bucket=b, Key="d2", ChecksumMode="ENABLED")
        self.assertEqual(g["ChecksumSHA256"], ck("SHA256", data))


class PartNumber(Base):
    def test_part_number_reads(self):
        b = self.bucket()
        self.s3.put_object(Bucket=b, Key="single", Body=b"0123456789")
        g = self.s3.get_object(Bucket=b, Key="single", PartNumber=1)
        self.assertEqual(g["Body"].read(), b"0123456789")
        self.assertError("InvalidPartNumber", 416, self.s3.get_object, Bucket=b, Key="single", PartNumber=2)
        parts = [b"a" * (5 * MiB), b"b" * 10]
        self.multipart(b, "mp", parts)
        h = self.s3.head_object(Bucket=b, Key="mp", PartNumber=2)
        self.assertEqual(h["ContentLength"], 10)
        self.assertEqual(h["PartsCount"], 2)
        self.assertEqual(h["ResponseMetadata"]["HTTPHeaders"]["content-range"],
                         "bytes %d-%d/%d" % (5 * MiB, 5 * MiB + 9, 5 * MiB + 10))
        self.assertError("InvalidPartNumber", 416, self.s3.get_object, Bucket=b, Key="mp", PartNumber=3)
        self.assertError("InvalidArgument", 400, self.s3.get_object, Bucket=b, Key="mp", PartNumber=0)
        self.assertError("InvalidRequest", 400, self.s3.get_object, Bucket=b, Key="mp", PartNumber=1,
                         Range="bytes=0-1")


if __name__ == "__main__":
    hf.main(__file__)
