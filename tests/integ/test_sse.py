#!/usr/bin/python3
"""Server-side encryption against a real server, with boto3 as Debian
ships it: SSE-S3 (by default and by header), SSE-C on every operation that
takes it and every way to get it wrong (each answered with S3's code and
message), bucket default encryption, copies that change or keep the
encryption, multipart uploads, versions, scrub, master-key rotation and the
key file's safety rules, SSE-C over plain HTTP from another machine, and a
scan of every file under the data directory for the plaintext and keys of
encrypted objects."""
import base64
import hashlib
import os
import re
import socket
import stat
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hf  # noqa: E402

from botocore.exceptions import ClientError  # noqa: E402

setUpModule = hf.start_shared
tearDownModule = hf.stop_shared

MiB = 1024 * 1024
KEY_A = bytes(range(32))
KEY_B = bytes(range(1, 33))


def ssec(key, prefix=""):
    """boto3's SSE-C parameters for key (the MD5 computed by botocore)."""
    return {prefix + "SSECustomerAlgorithm": "AES256", prefix + "SSECustomerKey": key}


def ssec_headers(key, md5=None, prefix="x-amz-server-side-encryption-customer-"):
    return {prefix + "algorithm": "AES256",
            prefix + "key": base64.b64encode(key).decode(),
            prefix + "key-MD5": md5 if md5 is not None else base64.b64encode(hashlib.md5(key).digest()).decode()}


def files_under(d):
    out = []
    for root, _, files in os.walk(d):
        for f in files:
            out.append(os.path.join(root, f))
    return out


def chunk_files(data):
    return set(files_under(os.path.join(data, "chunks")))


def error_code(body):
    m = re.search(rb"<Code>([^<]*)</Code>", body)
    return m.group(1).decode() if m else None


def error_message(body):
    m = re.search(rb"<Message>([^<]*)</Message>", body)
    return m.group(1).decode() if m else None


class SSES3(hf.S3Case):
    def test_every_object_is_sse_s3_by_default(self):
        b = self.bucket()
        for key, body in (("small", b"tiny"), ("big", os.urandom(300 * 1024))):
            r = self.s3.put_object(Bucket=b, Key=key, Body=body)
            self.assertEqual(r["ServerSideEncryption"], "AES256")
            # SSE-S3 keeps the MD5 ETag (S3 documents it).
            self.assertEqual(r["ETag"], '"%s"' % hashlib.md5(body).hexdigest())
            g = self.s3.get_object(Bucket=b, Key=key)
            self.assertEqual(g["ServerSideEncryption"], "AES256")
            self.assertEqual(g["Body"].read(), body)
            self.assertEqual(self.s3.head_object(Bucket=b, Key=key)["ServerSideEncryption"], "AES256")
        cfg = self.s3.get_bucket_encryption(Bucket=b)["ServerSideEncryptionConfiguration"]
        self.assertEqual(cfg, {"Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"},
                                          "BucketKeyEnabled": False}]})

    def test_header_range_and_multipart(self):
        b = self.bucket()
        body = os.urandom(9 * MiB + 12345)
        r = self.s3.put_object(Bucket=b, Key="k", Body=body, ServerSideEncryption="AES256")
        self.assertEqual(r["ServerSideEncryption"], "AES256")
        for first, last in ((0, 0), (65535, 65536), (4 * MiB - 3, 4 * MiB + 70000), (len(body) - 10, len(body) - 1)):
            g = self.s3.get_object(Bucket=b, Key="k", Range="bytes=%d-%d" % (first, last))
            self.assertEqual(g["Body"].read(), body[first:last + 1])
        up = self.s3.create_multipart_upload(Bucket=b, Key="mp", ServerSideEncryption="AES256")
        self.assertEqual(up["ServerSideEncryption"], "AES256")
        parts, data = [], b""
        for n, size in ((1, 5 * MiB), (2, 5 * MiB + 7), (3, 1000)):
            chunk = os.urandom(size)
            data += chunk
            p = self.s3.upload_part(Bucket=b, Key="mp", UploadId=up["UploadId"], PartNumber=n, Body=chunk)
            self.assertEqual(p["ServerSideEncryption"], "AES256")
            parts.append({"PartNumber": n, "ETag": p["ETag"]})
        c = self.s3.complete_multipart_upload(Bucket=b, Key="mp", UploadId=up["UploadId"],
                                              MultipartUpload={"Parts": parts})
        self.assertEqual(c["ServerSideEncryption"], "AES256")
        self.assertTrue(c["ETag"].endswith('-3"'))
        self.assertEqual(self.body(b, "mp"), data)
        g = self.s3.get_object(Bucket=b, Key="mp", Range="bytes=%d-%d" % (5 * MiB - 5, 5 * MiB + 5))
        self.assertEqual(g["Body"].read(), data[5 * MiB - 5:5 * MiB + 6])
        self.assertEqual(self.s3.get_object(Bucket=b, Key="mp", PartNumber=2)["Body"].read(),
                         data[5 * MiB:10 * MiB + 7])

    def test_refused_values(self):
        b = self.bucket()
        self.assertError("InvalidArgument", 400, self.s3.put_object, Bucket=b, Key="k", Body=b"x",
                         ServerSideEncryption="AES512")
        e = self.assertError("NotImplemented", 501, self.s3.put_object, Bucket=b, Key="k", Body=b"x",
                             ServerSideEncryption="aws:kms")
        self.assertIn("SSE-KMS", e.response["Error"]["Message"])
        self.assertError("NotImplemented", 501, self.s3.put_object, Bucket=b, Key="k", Body=b"x",
                         ServerSideEncryption="aws:kms:dsse", SSEKMSKeyId="some-key")
        self.assertError("InvalidArgument", 400, self.s3.put_object, Bucket=b, Key="k", Body=b"x",
                         SSEKMSKeyId="some-key")
        self.assertError("NotImplemented", 501, self.s3.create_multipart_upload, Bucket=b, Key="k",
                         ServerSideEncryption="aws:kms")
        # Encryption headers on a read: S3 answers 400.
        self.s3.put_object(Bucket=b, Key="k", Body=b"x")
        st, _, body = hf.signed_request(hf.SHARED, "GET", "/%s/k" % b,
                                        headers={"x-amz-server-side-encryption": "AES256"})
        self.assertEqual((st, error_code(body)), (400, "InvalidArgument"), body)
        self.assertIn("not supported for this operation", error_message(body))
        # ... and on operations that take none.
        st, _, body = hf.signed_request(hf.SHARED, "DELETE", "/%s/k" % b, headers=ssec_headers(KEY_A))
        self.assertEqual((st, error_code(body)), (400, "InvalidArgument"), body)
        self.assertEqual(self.body(b, "k"), b"x")


class SSEC(hf.S3Case):
    def test_put_get_head_range_list(self):
        b = self.bucket()
        for key, body in (("small", b"customer secret"), ("big", os.urandom(6 * MiB + 3))):
            r = self.s3.put_object(Bucket=b, Key=key, Body=body, **ssec(KEY_A))
            self.assertEqual(r["SSECustomerAlgorithm"], "AES256")
            self.assertEqual(r["SSECustomerKeyMD5"], base64.b64encode(hashlib.md5(KEY_A).digest()).decode())
            self.assertNotIn("ServerSideEncryption", r)
            # Not the MD5 of the data (S3: "The ETag ... is not the MD5 of the object").
            self.assertNotEqual(r["ETag"], '"%s"' % hashlib.md5(body).hexdigest())
            self.assertRegex(r["ETag"], r'^"[0-9a-f]{32}"$')
            g = self.s3.get_object(Bucket=b, Key=key, **ssec(KEY_A))
            self.assertEqual(g["Body"].read(), body)
            self.assertEqual(g["ETag"], r["ETag"])
            self.assertEqual(g["SSECustomerAlgorithm"], "AES256")
            h = self.s3.head_object(Bucket=b, Key=key, **ssec(KEY_A))
            self.assertEqual((h["ETag"], h["ContentLength"]), (r["ETag"], len(body)))
            g = self.s3.get_object(Bucket=b, Key=key, Range="bytes=3-%d" % (len(body) - 2), **ssec(KEY_A))
            self.assertEqual(g["Body"].read(), body[3:-1])
            listed = {o["Key"]: o for o in self.s3.list_objects_v2(Bucket=b)["Contents"]}
            self.assertEqual((listed[key]["ETag"], listed[key]["Size"]), (r["ETag"], len(body)))
        # The same bytes under the same key get another ETag: it says
        # nothing about the content.
        r2 = self.s3.put_object(Bucket=b, Key="again", Body=b"customer secret", **ssec(KEY_A))
        self.assertNotEqual(r2["ETag"], self.s3.head_object(Bucket=b, Key="small", **ssec(KEY_A))["ETag"])
        # Tagging needs no key and keeps the object readable.
        self.s3.put_object_tagging(Bucket=b, Key="small", Tagging={"TagSet": [{"Key": "k", "Value": "v"}]})
        self.assertEqual(self.s3.get_object(Bucket=b, Key="small", **ssec(KEY_A))["Body"].read(),
                         b"customer secret")
        # Deleting needs no key.
        self.s3.delete_object(Bucket=b, Key="small")
        self.assertError("NoSuchKey", 404, self.s3.get_object, Bucket=b, Key="small", **ssec(KEY_A))

    def test_reads_without_or_with_another_key(self):
        b = self.bucket()
        self.s3.put_object(Bucket=b, Key="c", Body=b"data", **ssec(KEY_A))
        e = self.assertError("InvalidRequest", 400, self.s3.get_object, Bucket=b, Key="c")
        self.assertEqual(e.response["Error"]["Message"],
                         "The object was stored using a form of Server Side Encryption. The correct "
                         "parameters must be provided to retrieve the object.")
        e = self.assertError("AccessDenied", 403, self.s3.get_object, Bucket=b, Key="c", **ssec(KEY_B))
        self.assertEqual(e.response["Error"]["Message"],
                         "Requests specifying Server Side Encryption with Customer provided keys must "
                         "provide the correct secret key.")
        self.assertError("400", 400, self.s3.head_object, Bucket=b, Key="c")
        self.assertError("403", 403, self.s3.head_object, Bucket=b, Key="c", **ssec(KEY_B))
        # The key check comes before preconditions: no ETag comparison without the key.
        self.assertError("403", 403, self.s3.head_object, Bucket=b, Key="c", IfMatch='"nomatch"', **ssec(KEY_B))
        # GetObjectAttributes needs the key too (sent as headers: this
        # boto3 does not encode binary keys for that call).
        attrs = {"x-amz-object-attributes": "ObjectSize"}
        st, _, body = hf.signed_request(hf.SHARED, "GET", "/%s/c" % b, query=[("attributes", None)], headers=attrs)
        self.assertEqual((st, error_code(body)), (400, "InvalidRequest"), body)
        st, _, body = hf.signed_request(hf.SHARED, "GET", "/%s/c" % b, query=[("attributes", None)],
                                        headers=dict(attrs, **ssec_headers(KEY_B)))
        self.assertEqual((st, error_code(body)), (403, "AccessDenied"), body)
        st, _, body = hf.signed_request(hf.SHARED, "GET", "/%s/c" % b, query=[("attributes", None)],
                                        headers=dict(attrs, **ssec_headers(KEY_A)))
        self.assertEqual(st, 200, body)
        self.assertIn(b"<ObjectSize>4</ObjectSize>", body)
        # SSE-C parameters for an object that is not SSE-C.
        self.s3.put_object(Bucket=b, Key="s3", Body=b"data")
        e = self.assertError("InvalidRequest", 400, self.s3.get_object, Bucket=b, Key="s3", **ssec(KEY_A))
        self.assertEqual(e.response["Error"]["Message"], "The encryption parameters are not applicable to this object.")

    def test_bad_parameters(self):
        b = self.bucket()
        md5_a = base64.b64encode(hashlib.md5(KEY_A).digest()).decode()
        cases = [
            # (headers, code, message)
            (dict(ssec_headers(KEY_A), **{"x-amz-server-side-encryption": "AES256"}), "InvalidArgument",
             "Server Side Encryption with Customer provided key is incompatible with the encryption method specified"),
            (dict(ssec_headers(KEY_A), **{"x-amz-server-side-encryption-customer-algorithm": "AES128"}),
             "InvalidEncryptionAlgorithmError", "The Encryption request you specified is not valid. Supported value: AES256."),
            ({"x-amz-server-side-encryption-customer-key": base64.b64encode(KEY_A).decode(),
              "x-amz-server-side-encryption-customer-key-MD5": md5_a}, "InvalidArgument",
             "Requests specifying Server Side Encryption with Customer provided keys must provide a valid encryption algorithm."),
            ({"x-amz-server-side-encryption-customer-algorithm": "AES256"}, "InvalidArgument",
             "Requests specifying Server Side Encryption with Customer provided keys must provide an appropriate secret key."),
            ({"x-amz-server-side-encryption-customer-algorithm": "AES256",
              "x-amz-server-side-encryption-customer-key": base64.b64encode(KEY_A).decode()}, "InvalidArgument",
             "Requests specifying Server Side Encryption with Customer provided keys must provide the client calculated MD5 of the secret key."),
            (ssec_headers(KEY_A, md5=base64.b64encode(hashlib.md5(KEY_B).digest()).decode()), "InvalidArgument",
             "The calculated MD5 hash of the key did not match the hash that was provided."),
            (ssec_headers(KEY_A[:16]), "InvalidArgument", "The secret key was invalid for the specified algorithm."),
        ]
        for headers, code, msg in cases:
            st, _, body = hf.signed_request(hf.SHARED, "PUT", "/%s/k" % b, headers=headers, body=b"data")
            self.assertEqual((st, error_code(body), error_message(body)), (400, code, msg), headers)
        self.assertError("NoSuchKey", 404, self.s3.get_object, Bucket=b, Key="k")
        # boto3's own parameters reach the same answers.
        # (with the MD5 given, botocore sends the key as it is: base64 text)
        e = self.assertError("InvalidArgument", 400, self.s3.put_object, Bucket=b, Key="k", Body=b"x",
                             SSECustomerAlgorithm="AES256", SSECustomerKey=base64.b64encode(KEY_A).decode(),
                             SSECustomerKeyMD5=base64.b64encode(b"\0" * 16).decode())
        self.assertIn("MD5", e.response["Error"]["Message"])
        self.assertError("InvalidArgument", 400, self.s3.put_object, Bucket=b, Key="k", Body=b"x",
                         SSECustomerAlgorithm="AES256", SSECustomerKey=b"short")

    def test_versions_each_with_its_key(self):
        b = self.bucket(versioning="Enabled")
        v1 = self.s3.put_object(Bucket=b, Key="k", Body=b"one", **ssec(KEY_A))["VersionId"]
        v2 = self.s3.put_object(Bucket=b, Key="k", Body=b"two", **ssec(KEY_B))["VersionId"]
        v3 = self.s3.put_object(Bucket=b, Key="k", Body=b"three")["VersionId"]
        self.assertEqual(self.body(b, "k", VersionId=v1, **ssec(KEY_A)), b"one")
        self.assertEqual(self.body(b, "k", VersionId=v2, **ssec(KEY_B)), b"two")
        self.assertEqual(self.body(b, "k", VersionId=v3), b"three")
        self.assertError("AccessDenied", 403, self.s3.get_object, Bucket=b, Key="k", VersionId=v1, **ssec(KEY_B))
        self.s3.delete_object(Bucket=b, Key="k", VersionId=v3)
        self.assertEqual(self.body(b, "k", **ssec(KEY_B)), b"two")

    def test_multipart_needs_the_key_on_every_part(self):
        b = self.bucket()
        up = self.s3.create_multipart_upload(Bucket=b, Key="mp", **ssec(KEY_A))
        self.assertEqual(up["SSECustomerAlgorithm"], "AES256")
        uid = up["UploadId"]
        p1 = os.urandom(5 * MiB)
        e = self.assertError("InvalidRequest", 400, self.s3.upload_part, Bucket=b, Key="mp", UploadId=uid,
                             PartNumber=1, Body=p1)
        self.assertEqual(e.response["Error"]["Message"],
                         "The multipart upload initiate requested encryption. Subsequent part requests "
                         "must include the appropriate encryption parameters.")
        e = self.assertError("InvalidRequest", 400, self.s3.upload_part, Bucket=b, Key="mp", UploadId=uid,
                             PartNumber=1, Body=p1, **ssec(KEY_B))
        self.assertEqual(e.response["Error"]["Message"],
                         "The provided encryption parameters did not match the ones used originally.")
        r1 = self.s3.upload_part(Bucket=b, Key="mp", UploadId=uid, PartNumber=1, Body=p1, **ssec(KEY_A))
        self.assertEqual(r1["SSECustomerKeyMD5"], base64.b64encode(hashlib.md5(KEY_A).digest()).decode())
        self.assertNotEqual(r1["ETag"], '"%s"' % hashlib.md5(p1).hexdigest())
        p2 = b"tail of the object"
        r2 = self.s3.upload_part(Bucket=b, Key="mp", UploadId=uid, PartNumber=2, Body=p2, **ssec(KEY_A))
        parts = [{"PartNumber": 1, "ETag": r1["ETag"]}, {"PartNumber": 2, "ETag": r2["ETag"]}]
        listed = self.s3.list_parts(Bucket=b, Key="mp", UploadId=uid)["Parts"]
        self.assertEqual([p["ETag"] for p in listed], [r1["ETag"], r2["ETag"]])
        c = self.s3.complete_multipart_upload(Bucket=b, Key="mp", UploadId=uid, MultipartUpload={"Parts": parts})
        # S3's ETag rule for multipart, over the (opaque) part ETags.
        want = hashlib.md5(bytes.fromhex(r1["ETag"][1:-1]) + bytes.fromhex(r2["ETag"][1:-1])).hexdigest()
        self.assertEqual(c["ETag"], '"%s-2"' % want)
        self.assertEqual(self.body(b, "mp", **ssec(KEY_A)), p1 + p2)
        self.assertError("InvalidRequest", 400, self.s3.get_object, Bucket=b, Key="mp")
        self.assertEqual(self.body(b, "mp", PartNumber=2, **ssec(KEY_A)), p2)
        # SSE-C parts into an SSE-S3 upload are refused.
        up = self.s3.create_multipart_upload(Bucket=b, Key="s3mp")
        self.assertError("InvalidRequest", 400, self.s3.upload_part, Bucket=b, Key="s3mp",
                         UploadId=up["UploadId"], PartNumber=1, Body=b"x", **ssec(KEY_A))


class Copies(hf.S3Case):
    def new_files(self, fn):
        before = chunk_files(hf.SHARED.data)
        r = fn()
        return r, chunk_files(hf.SHARED.data) - before

    def test_changing_encryption_rewrites_keeping_it_shares(self):
        b = self.bucket()
        body = os.urandom(700 * 1024)
        self.s3.put_object(Bucket=b, Key="s3", Body=body)
        # SSE-S3 to SSE-S3: the same sealed blobs, no new file.
        r, new = self.new_files(lambda: self.s3.copy_object(Bucket=b, Key="s3copy", CopySource={"Bucket": b, "Key": "s3"}))
        self.assertEqual(new, set())
        self.assertEqual(r["ServerSideEncryption"], "AES256")
        self.assertEqual(r["CopyObjectResult"]["ETag"], '"%s"' % hashlib.md5(body).hexdigest())
        # SSE-S3 to SSE-C: written again under a new key.
        r, new = self.new_files(lambda: self.s3.copy_object(Bucket=b, Key="c", CopySource={"Bucket": b, "Key": "s3"},
                                                            **ssec(KEY_A)))
        self.assertTrue(new)
        self.assertEqual(r["SSECustomerAlgorithm"], "AES256")
        self.assertEqual(self.body(b, "c", **ssec(KEY_A)), body)
        # SSE-C to SSE-C with the same key: shared; with a new key: rewritten.
        src = dict(CopySource={"Bucket": b, "Key": "c"}, **ssec(KEY_A, "CopySource"))
        _, new = self.new_files(lambda: self.s3.copy_object(Bucket=b, Key="c-same", **src, **ssec(KEY_A)))
        self.assertEqual(new, set())
        self.assertEqual(self.body(b, "c-same", **ssec(KEY_A)), body)
        _, new = self.new_files(lambda: self.s3.copy_object(Bucket=b, Key="c-new", **src, **ssec(KEY_B)))
        self.assertTrue(new)
        self.assertEqual(self.body(b, "c-new", **ssec(KEY_B)), body)
        self.assertError("AccessDenied", 403, self.s3.get_object, Bucket=b, Key="c-new", **ssec(KEY_A))
        # SSE-C to no header: the bucket's default, SSE-S3 (as S3 does), MD5 ETag.
        r = self.s3.copy_object(Bucket=b, Key="back", **src)
        self.assertEqual(r["ServerSideEncryption"], "AES256")
        self.assertEqual(r["CopyObjectResult"]["ETag"], '"%s"' % hashlib.md5(body).hexdigest())
        self.assertEqual(self.body(b, "back"), body)
        # An SSE-C source without its key, or with another.
        self.assertError("InvalidRequest", 400, self.s3.copy_object, Bucket=b, Key="x", CopySource={"Bucket": b, "Key": "c"})
        self.assertError("AccessDenied", 403, self.s3.copy_object, Bucket=b, Key="x",
                         CopySource={"Bucket": b, "Key": "c"}, **ssec(KEY_B, "CopySource"))
        # Copy-source SSE-C parameters for a source that is not SSE-C.
        self.assertError("InvalidRequest", 400, self.s3.copy_object, Bucket=b, Key="x",
                         CopySource={"Bucket": b, "Key": "s3"}, **ssec(KEY_A, "CopySource"))

    def test_copy_onto_itself_to_change_encryption(self):
        b = self.bucket()
        self.s3.put_object(Bucket=b, Key="k", Body=b"small object")
        self.assertError("InvalidRequest", 400, self.s3.copy_object, Bucket=b, Key="k", CopySource={"Bucket": b, "Key": "k"})
        r = self.s3.copy_object(Bucket=b, Key="k", CopySource={"Bucket": b, "Key": "k"}, **ssec(KEY_A))
        self.assertEqual(r["SSECustomerAlgorithm"], "AES256")
        self.assertEqual(self.body(b, "k", **ssec(KEY_A)), b"small object")
        self.assertError("InvalidRequest", 400, self.s3.get_object, Bucket=b, Key="k")

    def test_upload_part_copy(self):
        b = self.bucket()
        body = os.urandom(6 * MiB)
        self.s3.put_object(Bucket=b, Key="src", Body=body, **ssec(KEY_A))
        for dst_sse in ({}, ssec(KEY_B)):
            up = self.s3.create_multipart_upload(Bucket=b, Key="dst", **dst_sse)
            uid = up["UploadId"]
            self.assertError("InvalidRequest", 400, self.s3.upload_part_copy, Bucket=b, Key="dst", UploadId=uid,
                             PartNumber=1, CopySource={"Bucket": b, "Key": "src"}, **dst_sse)
            p1 = self.s3.upload_part_copy(Bucket=b, Key="dst", UploadId=uid, PartNumber=1,
                                          CopySource={"Bucket": b, "Key": "src"}, CopySourceRange="bytes=0-%d" % (5 * MiB - 1),
                                          **ssec(KEY_A, "CopySource"), **dst_sse)
            p2 = self.s3.upload_part_copy(Bucket=b, Key="dst", UploadId=uid, PartNumber=2,
                                          CopySource={"Bucket": b, "Key": "src"}, CopySourceRange="bytes=%d-%d" % (5 * MiB, len(body) - 1),
                                          **ssec(KEY_A, "CopySource"), **dst_sse)
            self.s3.complete_multipart_upload(Bucket=b, Key="dst", UploadId=uid, MultipartUpload={"Parts": [
                {"PartNumber": 1, "ETag": p1["CopyPartResult"]["ETag"]},
                {"PartNumber": 2, "ETag": p2["CopyPartResult"]["ETag"]}]})
            self.assertEqual(self.body(b, "dst", **dst_sse), body)


class BucketEncryption(hf.S3Case):
    def put(self, b, xml):
        return hf.signed_request(hf.SHARED, "PUT", "/" + b, query=[("encryption", "")], body=xml.encode())

    def test_put_get_delete(self):
        b = self.bucket()
        cfg = {"Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}, "BucketKeyEnabled": True}]}
        self.s3.put_bucket_encryption(Bucket=b, ServerSideEncryptionConfiguration=cfg)
        self.assertEqual(self.s3.get_bucket_encryption(Bucket=b)["ServerSideEncryptionConfiguration"], cfg)
        self.assertEqual(self.s3.put_object(Bucket=b, Key="k", Body=b"x")["ServerSideEncryption"], "AES256")
        r = self.s3.delete_bucket_encryption(Bucket=b)
        self.assertEqual(r["ResponseMetadata"]["HTTPStatusCode"], 204)
        self.assertEqual(self.s3.get_bucket_encryption(Bucket=b)["ServerSideEncryptionConfiguration"]["Rules"][0]
                         ["BucketKeyEnabled"], False)
        self.assertEqual(self.s3.delete_bucket_encryption(Bucket=b)["ResponseMetadata"]["HTTPStatusCode"], 204)
        self.assertError("NoSuchBucket", 404, self.s3.get_bucket_encryption, Bucket="no-such-bucket-here")

    def test_blocking_sse_c(self):
        b = self.bucket()
        self.s3.put_object(Bucket=b, Key="old", Body=b"before", **ssec(KEY_A))
        st, _, body = self.put(b, "<ServerSideEncryptionConfiguration><Rule><ApplyServerSideEncryptionByDefault>"
                                  "<SSEAlgorithm>AES256</SSEAlgorithm></ApplyServerSideEncryptionByDefault>"
                                  "<BlockedEncryptionTypes><EncryptionType>SSE-C</EncryptionType></BlockedEncryptionTypes>"
                                  "</Rule></ServerSideEncryptionConfiguration>")
        self.assertEqual(st, 200, body)
        st, _, body = hf.signed_request(hf.SHARED, "GET", "/" + b, query=[("encryption", "")])
        self.assertIn(b"<BlockedEncryptionTypes><EncryptionType>SSE-C</EncryptionType></BlockedEncryptionTypes>", body)
        e = self.assertError("AccessDenied", 403, self.s3.put_object, Bucket=b, Key="new", Body=b"x", **ssec(KEY_A))
        self.assertIn("blocked", e.response["Error"]["Message"])
        self.assertError("AccessDenied", 403, self.s3.create_multipart_upload, Bucket=b, Key="new", **ssec(KEY_A))
        # Existing SSE-C objects still read; other writes go on.
        self.assertEqual(self.body(b, "old", **ssec(KEY_A)), b"before")
        self.s3.put_object(Bucket=b, Key="plain-headers", Body=b"x")
        # Unblocked again.
        st, _, body = self.put(b, "<ServerSideEncryptionConfiguration><Rule><BlockedEncryptionTypes>"
                                  "<EncryptionType>NONE</EncryptionType></BlockedEncryptionTypes></Rule>"
                                  "</ServerSideEncryptionConfiguration>")
        self.assertEqual(st, 200, body)
        self.s3.put_object(Bucket=b, Key="new", Body=b"x", **ssec(KEY_A))

    def test_malformed_configurations(self):
        b = self.bucket()
        wrap = "<ServerSideEncryptionConfiguration>%s</ServerSideEncryptionConfiguration>"
        rule = "<Rule><ApplyServerSideEncryptionByDefault><SSEAlgorithm>%s</SSEAlgorithm></ApplyServerSideEncryptionByDefault></Rule>"
        cases = [
            (wrap % "", 400, "MalformedXML"),
            (wrap % (rule % "AES256" + rule % "AES256"), 400, "MalformedXML"),
            (wrap % (rule % "AES512"), 400, "MalformedXML"),
            (wrap % "<Rule><ApplyServerSideEncryptionByDefault/></Rule>", 400, "MalformedXML"),
            (wrap % "<Rule><ApplyServerSideEncryptionByDefault><SSEAlgorithm>AES256</SSEAlgorithm>"
                    "<KMSMasterKeyID>k</KMSMasterKeyID></ApplyServerSideEncryptionByDefault></Rule>", 400, "InvalidArgument"),
            (wrap % (rule % "aws:kms"), 501, "NotImplemented"),
            (wrap % (rule % "aws:kms:dsse"), 501, "NotImplemented"),
            (wrap % "<Rule><BucketKeyEnabled>maybe</BucketKeyEnabled></Rule>", 400, "MalformedXML"),
            (wrap % "<Rule><Unknown>1</Unknown></Rule>", 400, "MalformedXML"),
            (wrap % "<Rule><BlockedEncryptionTypes><EncryptionType>SSE-KMS</EncryptionType></BlockedEncryptionTypes></Rule>",
             400, "MalformedXML"),
            (wrap % "<Rule></Rule>", 400, "MalformedXML"),
            ("<NotTheRoot/>", 400, "MalformedXML"),
            ("<ServerSideEncryptionConfiguration>", 400, "MalformedXML"),
        ]
        for xml, status, code in cases:
            st, _, body = self.put(b, xml)
            self.assertEqual((st, error_code(body)), (status, code), xml)
        st, _, body = self.put(b, wrap % "<Rule><ApplyServerSideEncryptionByDefault><SSEAlgorithm>AES256</SSEAlgorithm>"
                                         "<KMSMasterKeyID>k</KMSMasterKeyID></ApplyServerSideEncryptionByDefault></Rule>")
        self.assertEqual(error_message(body), "a KMSMasterKeyID is not applicable if the default sse algorithm is "
                                              "not aws:kms or aws:kms:dsse")
        # Nothing was stored by any of them.
        self.assertNotIn("BlockedEncryptionTypes",
                         self.s3.get_bucket_encryption(Bucket=b)["ServerSideEncryptionConfiguration"]["Rules"][0])


class PostForm(hf.S3Case):
    def test_form_fields_choose_encryption(self):
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        from test_post import post
        b = self.bucket()
        f = self.s3.generate_presigned_post(b, "sse-c", Fields=ssec_headers(KEY_A),
                                            Conditions=[{k: v} for k, v in ssec_headers(KEY_A).items()])
        st, h, body = post(f["url"], f["fields"], b"posted secret")
        self.assertEqual(st, 204, body)
        self.assertEqual(h.get("x-amz-server-side-encryption-customer-algorithm"), "AES256")
        self.assertEqual(self.body(b, "sse-c", **ssec(KEY_A)), b"posted secret")
        self.assertError("InvalidRequest", 400, self.s3.get_object, Bucket=b, Key="sse-c")
        f = self.s3.generate_presigned_post(b, "s3", Fields={"x-amz-server-side-encryption": "AES256"},
                                            Conditions=[{"x-amz-server-side-encryption": "AES256"}])
        st, h, body = post(f["url"], f["fields"], os.urandom(100 * 1024))
        self.assertEqual(st, 204, body)
        self.assertEqual(h.get("x-amz-server-side-encryption"), "AES256")


def local_address():
    """A non-loopback address of this machine that reaches itself, or None."""
    candidates = []
    try:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.connect(("192.0.2.1", 9))  # no packet is sent; only routing picks the source
        candidates.append(s.getsockname()[0])
        s.close()
    except OSError:
        pass
    try:
        out = subprocess.run(["ip", "-4", "-o", "addr"], capture_output=True, text=True).stdout
        candidates += re.findall(r"inet (\d+\.\d+\.\d+\.\d+)/", out)
    except OSError:
        pass
    for ip in candidates:
        if not ip.startswith("127."):
            return ip
    return None


def client_at(url, verify=None):
    """A boto3 client for the test root key at url (path style, SigV4)."""
    import boto3
    from botocore.config import Config
    return boto3.client("s3", endpoint_url=url, verify=verify, aws_access_key_id=hf.ACCESS_KEY,
                        aws_secret_access_key=hf.SECRET_KEY, region_name=hf.REGION,
                        config=Config(s3={"addressing_style": "path"}, signature_version="s3v4",
                                      retries={"max_attempts": 1}))


class PlainHTTPFromAnotherMachine(unittest.TestCase):
    """S3 refuses SSE-C over plain HTTP; holdfast does too, except from a
    loopback address. The server listens on every address and the client
    comes from this machine's non-loopback address, so the server sees a
    peer that is not loopback."""

    @classmethod
    def setUpClass(cls):
        cls.ip = local_address()
        if not cls.ip:
            raise AssertionError("this machine has no non-loopback IPv4 address to test from")
        cls.server = hf.Server(args=["--listen", "0.0.0.0:0"]).start()
        cls.s3 = hf.boto3_client(cls.server)
        cls.s3.create_bucket(Bucket="remote")
        cls.remote = client_at("http://%s:%d" % (cls.ip, cls.server.port))

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()

    def test_sse_c_refused_from_a_remote_address(self):
        with self.assertRaises(ClientError) as cm:
            self.remote.put_object(Bucket="remote", Key="k", Body=b"x", **ssec(KEY_A))
        err = cm.exception.response["Error"]
        self.assertEqual((err["Code"], err["Message"]),
                         ("InvalidRequest", "Requests specifying Server Side Encryption with Customer "
                                            "provided keys must be made over a secure connection."))
        self.s3.put_object(Bucket="remote", Key="k", Body=b"x", **ssec(KEY_A))  # loopback: accepted
        with self.assertRaises(ClientError) as cm:
            self.remote.get_object(Bucket="remote", Key="k", **ssec(KEY_A))
        self.assertEqual(cm.exception.response["Error"]["Code"], "InvalidRequest")
        with self.assertRaises(ClientError) as cm:
            self.remote.copy_object(Bucket="remote", Key="k2", CopySource={"Bucket": "remote", "Key": "k"},
                                    **ssec(KEY_A, "CopySource"))
        self.assertEqual(cm.exception.response["Error"]["Code"], "InvalidRequest")
        # SSE-S3 needs no key on the wire and is fine from anywhere.
        r = self.remote.put_object(Bucket="remote", Key="s3", Body=b"y", ServerSideEncryption="AES256")
        self.assertEqual(r["ServerSideEncryption"], "AES256")

    def test_sse_c_over_https_from_a_remote_address(self):
        d = tempfile.mkdtemp(prefix="hf-sse-tls-")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                        "-nodes", "-days", "2", "-subj", "/CN=holdfast test", "-addext",
                        "subjectAltName=IP:%s,IP:127.0.0.1" % self.ip, "-keyout", d + "/key.pem",
                        "-out", d + "/cert.pem"], check=True, capture_output=True)
        srv = hf.Server(args=["--listen", "0.0.0.0:0", "--tls-cert", d + "/cert.pem",
                              "--tls-key", d + "/key.pem"]).start()
        try:
            remote = client_at("https://%s:%d" % (self.ip, srv.port), verify=d + "/cert.pem")
            remote.create_bucket(Bucket="tls")
            remote.put_object(Bucket="tls", Key="k", Body=b"over tls", **ssec(KEY_A))
            self.assertEqual(remote.get_object(Bucket="tls", Key="k", **ssec(KEY_A))["Body"].read(), b"over tls")
        finally:
            srv.cleanup()


class AtRest(unittest.TestCase):
    """What an attacker with the data directory finds: neither the
    plaintext of an encrypted object (blobs, inline records, multipart
    parts, copies, form uploads) nor an SSE-C key, in any file -- the LMDB
    environment included; while the same plaintext written unencrypted is
    found (the scan can see it)."""

    def test_no_plaintext_or_key_under_the_data_directory(self):
        srv = hf.Server(args=["--sse-default", "none"]).start()
        try:
            s3 = hf.boto3_client(srv)
            s3.create_bucket(Bucket="rest")
            marker = b"RECOGNISABLE-PLAINTEXT-7f3a9c-"
            control = b"UNENCRYPTED-CONTROL-5e21d0-"
            small = marker * 10
            big = marker * (300 * 1024 // len(marker))
            s3.put_object(Bucket="rest", Key="control", Body=control * 10)  # unencrypted
            s3.put_object(Bucket="rest", Key="s3-small", Body=small, ServerSideEncryption="AES256")
            s3.put_object(Bucket="rest", Key="s3-big", Body=big, ServerSideEncryption="AES256")
            s3.put_object(Bucket="rest", Key="c-small", Body=small, **ssec(KEY_A))
            s3.put_object(Bucket="rest", Key="c-big", Body=big, **ssec(KEY_A))
            s3.copy_object(Bucket="rest", Key="copy-c", CopySource={"Bucket": "rest", "Key": "s3-big"}, **ssec(KEY_B))
            s3.copy_object(Bucket="rest", Key="copy-s3", CopySource={"Bucket": "rest", "Key": "c-small"},
                           ServerSideEncryption="AES256", **ssec(KEY_A, "CopySource"))
            up = s3.create_multipart_upload(Bucket="rest", Key="mp", **ssec(KEY_B))
            p1 = s3.upload_part(Bucket="rest", Key="mp", UploadId=up["UploadId"], PartNumber=1,
                                Body=marker * (5 * MiB // len(marker) + 1), **ssec(KEY_B))
            p2 = s3.upload_part(Bucket="rest", Key="mp", UploadId=up["UploadId"], PartNumber=2, Body=small, **ssec(KEY_B))
            s3.complete_multipart_upload(Bucket="rest", Key="mp", UploadId=up["UploadId"], MultipartUpload={
                "Parts": [{"PartNumber": 1, "ETag": p1["ETag"]}, {"PartNumber": 2, "ETag": p2["ETag"]}]})
            for k, kw in (("s3-small", {}), ("c-big", ssec(KEY_A)), ("copy-c", ssec(KEY_B)), ("copy-s3", {}),
                          ("mp", ssec(KEY_B))):
                self.assertTrue(s3.get_object(Bucket="rest", Key=k, **kw)["Body"].read().startswith(marker))
            rc = srv.stop()
            self.assertEqual(rc, 0)
            needles = [marker, KEY_A, KEY_B, base64.b64encode(KEY_A), base64.b64encode(KEY_B)]
            found_control = False
            for path in files_under(srv.data):
                with open(path, "rb") as f:
                    data = f.read()
                found_control |= control in data
                for n in needles:
                    self.assertNotIn(n, data, "%r found in %s" % (n[:16], path))
            self.assertTrue(found_control, "the scan does not see plaintext written unencrypted")
            # Nor did the server log an SSE-C key.
            log = open(srv.log_path, "rb").read()
            self.assertNotIn(base64.b64encode(KEY_A), log)
            self.assertNotIn(base64.b64encode(KEY_B), log)
        finally:
            srv.cleanup()


class Scrub(unittest.TestCase):
    def test_scrub_verifies_ciphertext_without_keys(self):
        srv = hf.Server(args=["--scrub-interval", "0", "--scrub-rate", "512MiB"]).start()
        try:
            s3 = hf.boto3_client(srv)
            s3.create_bucket(Bucket="scrub")
            before = chunk_files(srv.data)
            s3.put_object(Bucket="scrub", Key="s3", Body=os.urandom(300 * 1024))
            files = sorted(chunk_files(srv.data) - before)
            s3.put_object(Bucket="scrub", Key="c", Body=os.urandom(200 * 1024), **ssec(KEY_A))
            s3.put_object(Bucket="scrub", Key="inline", Body=b"tiny", **ssec(KEY_A))
            rc, out, err = hf.admin(srv, "scrub", "run")
            self.assertEqual(rc, 0, out + err)
            self.assertIn("3 objects", out)
            with open(files[0], "r+b") as f:  # a byte of the stored ciphertext
                f.seek(4096 + 70000)
                b = f.read(1)
                f.seek(4096 + 70000)
                f.write(bytes([b[0] ^ 0x20]))
            rc, out, err = hf.admin(srv, "scrub", "run")
            self.assertEqual(rc, 1, out + err)
            self.assertIn("scrub/s3", out)
            self.assertNotIn("scrub/c ", out)
            with self.assertRaises(ClientError) as cm:
                s3.get_object(Bucket="scrub", Key="s3")
            self.assertEqual(cm.exception.response["Error"]["Code"], "InternalError")
            self.assertEqual(s3.get_object(Bucket="scrub", Key="s3", Range="bytes=0-1000")["ContentLength"], 1001)
        finally:
            srv.cleanup()


class MasterKeys(unittest.TestCase):
    def test_rotation_keeps_every_object_readable(self):
        srv = hf.Server().start()
        try:
            key_file = os.path.join(srv.data, "sse-master.key")
            self.assertEqual(stat.S_IMODE(os.stat(key_file).st_mode), 0o600)
            self.assertTrue(any("Generated the SSE-S3 master key" in l for l in srv.stdout_lines))
            s3 = hf.boto3_client(srv)
            s3.create_bucket(Bucket="rot")
            s3.put_object(Bucket="rot", Key="before", Body=b"one" * 1000)
            s3.put_object(Bucket="rot", Key="before-big", Body=b"big" * 100000)
            up = s3.create_multipart_upload(Bucket="rot", Key="spans")  # wrapped under key 1
            rc, out, err = hf.admin(srv, "sse", "rotate")
            self.assertEqual(rc, 0, err)
            self.assertIn("active:   key 2", out)
            lines = [l for l in open(key_file).read().splitlines() if l and not l.startswith("#")]
            self.assertEqual([l.split()[0] for l in lines], ["1", "2"])
            s3.put_object(Bucket="rot", Key="after", Body=b"two" * 1000)
            p = s3.upload_part(Bucket="rot", Key="spans", UploadId=up["UploadId"], PartNumber=1, Body=b"part")
            s3.complete_multipart_upload(Bucket="rot", Key="spans", UploadId=up["UploadId"],
                                         MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": p["ETag"]}]})
            rc, out, err = hf.admin(srv, "sse", "status")
            self.assertEqual(rc, 0, err)
            self.assertRegex(out, r"key 1 +fingerprint [0-9a-f]{32}\n")
            self.assertRegex(out, r"key 2 +fingerprint [0-9a-f]{32}  \(active\)")
            self.assertNotIn(lines[0].split()[1], out)  # never the key itself
            self.assertEqual(srv.stop(), 0)
            srv.start()
            s3 = hf.boto3_client(srv)
            self.assertEqual(s3.get_object(Bucket="rot", Key="before")["Body"].read(), b"one" * 1000)
            self.assertEqual(s3.get_object(Bucket="rot", Key="before-big")["Body"].read(), b"big" * 100000)
            self.assertEqual(s3.get_object(Bucket="rot", Key="after")["Body"].read(), b"two" * 1000)
            self.assertEqual(s3.get_object(Bucket="rot", Key="spans")["Body"].read(), b"part")
            # Rotation is in the audit log.
            rc, out, err = hf.admin(srv, "audit", "show")
            self.assertIn("sse.rotate", out)
        finally:
            srv.cleanup()

    def test_key_file_elsewhere_and_the_rules_that_keep_data_readable(self):
        keydir = tempfile.mkdtemp(prefix="hf-keys-")
        key_file = os.path.join(keydir, "master.key")
        data = tempfile.mkdtemp(prefix="hf-integ-")
        srv = hf.Server(data=data, env={"HOLDFAST_SSE_MASTER_KEY_FILE": key_file}).start()
        try:
            self.assertTrue(os.path.exists(key_file))
            self.assertFalse(os.path.exists(os.path.join(data, "sse-master.key")))
            s3 = hf.boto3_client(srv)
            s3.create_bucket(Bucket="keys")
            s3.put_object(Bucket="keys", Key="k", Body=b"needs key 1")
            self.assertEqual(srv.stop(), 0)

            def refused(args=(), env=None):
                p = subprocess.run([hf.BIN, "server", "--data", data, "--listen", "127.0.0.1:0",
                                    "--status-listen", "127.0.0.1:0"] + list(args),
                                   env=dict(os.environ, **(env or {})), capture_output=True, text=True, timeout=30)
                self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
                return p.stderr
            # Restarted without the flag: no new key is made, the start is refused.
            err = refused()
            self.assertIn("does not exist", err)
            self.assertIn("--sse-master-key-file", err)
            self.assertFalse(os.path.exists(os.path.join(data, "sse-master.key")))
            # Another key file (another key 1): refused, naming the key.
            other = os.path.join(keydir, "other.key")
            with open(other, "w") as f:
                f.write("1 %s\n" % os.urandom(32).hex())
            os.chmod(other, 0o600)
            err = refused(["--sse-master-key-file", other])
            self.assertIn("master key 1 in %s is not the key" % other, err)
            # The right file, readable by others: refused until chmod 600.
            os.chmod(key_file, 0o644)
            err = refused(["--sse-master-key-file", key_file])
            self.assertIn("chmod 600", err)
            os.chmod(key_file, 0o600)
            # A key added by hand (a read-only secrets mount), then SIGHUP.
            srv = hf.Server(data=data, args=["--sse-master-key-file", key_file]).start()
            s3 = hf.boto3_client(srv)
            self.assertEqual(s3.get_object(Bucket="keys", Key="k")["Body"].read(), b"needs key 1")
            with open(key_file, "a") as f:
                f.write("7 %s\n" % os.urandom(32).hex())
            srv.proc.send_signal(1)  # SIGHUP
            hf.wait_for(lambda: "active:   key 7" in hf.admin(srv, "sse", "status")[1], 10, "key 7 active")
            s3.put_object(Bucket="keys", Key="k7", Body=b"needs key 7")
            self.assertEqual(srv.stop(), 0)
            # Both keys are now recorded: a file without key 7 is refused.
            with open(other, "w") as f:
                f.write(open(key_file).read().split("\n7 ")[0] + "\n")
            err = refused(["--sse-master-key-file", other])
            self.assertIn("master key 7", err)
            srv = hf.Server(data=data, args=["--sse-master-key-file", key_file]).start()
            s3 = hf.boto3_client(srv)
            self.assertEqual(s3.get_object(Bucket="keys", Key="k7")["Body"].read(), b"needs key 7")
        finally:
            srv.cleanup()
            import shutil
            shutil.rmtree(data, ignore_errors=True)
            shutil.rmtree(keydir, ignore_errors=True)


class DefaultNone(unittest.TestCase):
    def test_sse_default_none_and_old_data(self):
        """--sse-default none stores objects as they come (the format every
        object had before encryption existed); the same data directory
        served with encryption on reads them unchanged next to new
        encrypted ones."""
        data = tempfile.mkdtemp(prefix="hf-integ-")
        srv = hf.Server(data=data, args=["--sse-default", "none"]).start()
        try:
            s3 = hf.boto3_client(srv)
            s3.create_bucket(Bucket="old")
            with self.assertRaises(ClientError) as cm:
                s3.get_bucket_encryption(Bucket="old")
            self.assertEqual(cm.exception.response["Error"]["Code"], "ServerSideEncryptionConfigurationNotFoundError")
            self.assertEqual(cm.exception.response["ResponseMetadata"]["HTTPStatusCode"], 404)
            marker = b"OLD-PLAIN-DATA-" * 20000
            before = chunk_files(data)
            r = s3.put_object(Bucket="old", Key="plain", Body=marker)
            self.assertNotIn("ServerSideEncryption", r)
            s3.put_object(Bucket="old", Key="plain-small", Body=b"small plain")
            plain_files = chunk_files(data) - before
            self.assertTrue(any(marker[:1000] in open(f, "rb").read() for f in plain_files))
            # A bucket default still applies there.
            s3.create_bucket(Bucket="enc")
            s3.put_bucket_encryption(Bucket="enc", ServerSideEncryptionConfiguration={
                "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]})
            self.assertEqual(s3.put_object(Bucket="enc", Key="k", Body=b"x")["ServerSideEncryption"], "AES256")
            self.assertEqual(srv.stop(), 0)
            srv = hf.Server(data=data).start()
            s3 = hf.boto3_client(srv)
            g = s3.get_object(Bucket="old", Key="plain")
            self.assertNotIn("ServerSideEncryption", g)
            self.assertEqual(g["Body"].read(), marker)
            self.assertEqual(s3.get_object(Bucket="old", Key="plain-small")["Body"].read(), b"small plain")
            self.assertEqual(s3.put_object(Bucket="old", Key="new", Body=b"y")["ServerSideEncryption"], "AES256")
            # Copying an old plain object into an encrypted one.
            r = s3.copy_object(Bucket="old", Key="plain-now-encrypted", CopySource={"Bucket": "old", "Key": "plain"})
            self.assertEqual(r["ServerSideEncryption"], "AES256")
            self.assertEqual(s3.get_object(Bucket="old", Key="plain-now-encrypted")["Body"].read(), marker)
        finally:
            srv.cleanup()
            import shutil
            shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    hf.main(__file__)
