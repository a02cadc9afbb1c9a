#!/usr/bin/python3
"""Conditional requests through boto3 against a real server: If-None-Match
and If-Match on PutObject and CompleteMultipartUpload (they hold under
concurrency: of 20 racing If-None-Match: * writers exactly one wins), and
the RFC 9110 / S3 precedence of conditions on GET and HEAD."""
import datetime
import os
import sys
import threading
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hf  # noqa: E402

from botocore.exceptions import ClientError  # noqa: E402

setUpModule = hf.start_shared
tearDownModule = hf.stop_shared


def client_with(headers, op):
    """A client that adds headers to every call of op (this boto3 predates
    the IfNoneMatch/IfMatch parameters of PutObject)."""
    return hf.add_headers(hf.boto3_client(hf.SHARED), op, headers)


class Base(hf.S3Case):
    pass


class ConditionalPut(Base):
    def test_if_none_match_star(self):
        b = self.bucket()
        c = client_with({"If-None-Match": "*"}, "PutObject")
        c.put_object(Bucket=b, Key="k", Body=b"first")
        self.assertError("PreconditionFailed", 412, c.put_object, Bucket=b, Key="k", Body=b"second")
        self.assertEqual(self.s3.get_object(Bucket=b, Key="k")["Body"].read(), b"first")
        # After a delete the key is free again.
        self.s3.delete_object(Bucket=b, Key="k")
        c.put_object(Bucket=b, Key="k", Body=b"third")

    def test_if_none_match_other_values_are_501(self):
        b = self.bucket()
        c = client_with({"If-None-Match": '"abc"'}, "PutObject")
        e = self.assertError("NotImplemented", 501, c.put_object, Bucket=b, Key="k", Body=b"x")
        self.assertIn("If-None-Match", e.response["Error"]["Message"])

    def test_if_match(self):
        b = self.bucket()
        etag = self.s3.put_object(Bucket=b, Key="k", Body=b"v1")["ETag"]
        client_with({"If-Match": etag}, "PutObject").put_object(Bucket=b, Key="k", Body=b"v2")
        # The ETag is v2's now: the old one no longer matches.
        self.assertError("PreconditionFailed", 412, client_with({"If-Match": etag}, "PutObject").put_object,
                         Bucket=b, Key="k", Body=b"v3")
        self.assertEqual(self.s3.get_object(Bucket=b, Key="k")["Body"].read(), b"v2")
        # If-Match on a key that does not exist: 404, as S3 answers.
        self.assertError("NoSuchKey", 404, client_with({"If-Match": etag}, "PutObject").put_object,
                         Bucket=b, Key="absent", Body=b"x")
        # Garbage never matches.
        self.assertError("PreconditionFailed", 412,
                         client_with({"If-Match": "not-an-etag"}, "PutObject").put_object,
                         Bucket=b, Key="k", Body=b"x")

    def test_versioned_bucket_delete_marker_counts_as_absent(self):
        b = self.bucket()
        self.s3.put_bucket_versioning(Bucket=b, VersioningConfiguration={"Status": "Enabled"})
        self.s3.put_object(Bucket=b, Key="k", Body=b"v1")
        self.s3.delete_object(Bucket=b, Key="k")
        client_with({"If-None-Match": "*"}, "PutObject").put_object(Bucket=b, Key="k", Body=b"v2")

    def test_race_of_20_writers_has_one_winner(self):
        b = self.bucket()
        n = 20
        barrier = threading.Barrier(n)
        results = [None] * n
        clients = [client_with({"If-None-Match": "*"}, "PutObject") for _ in range(n)]

        def writer(i):
            barrier.wait()
            try:
                clients[i].put_object(Bucket=b, Key="contended", Body=b"writer-%d" % i)
                results[i] = 200
            except ClientError as e:
                results[i] = e.response["ResponseMetadata"]["HTTPStatusCode"]
        threads = [threading.Thread(target=writer, args=(i,)) for i in range(n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(results.count(200), 1, results)
        self.assertEqual(results.count(412), n - 1, results)
        winner = results.index(200)
        self.assertEqual(self.s3.get_object(Bucket=b, Key="contended")["Body"].read(), b"writer-%d" % winner)

    def test_race_of_if_match_writers_has_one_winner(self):
        b = self.bucket()
        etag = self.s3.put_object(Bucket=b, Key="counter", Body=b"0")["ETag"]
        n = 10
        barrier = threading.Barrier(n)
        results = [None] * n
        clients = [client_with({"If-Match": etag}, "PutObject") for _ in range(n)]

        def writer(i):
            barrier.wait()
            try:
                clients[i].put_object(Bucket=b, Key="counter", Body=b"%d" % (i + 1))
                results[i] = 200
            except ClientError as e:
                results[i] = e.response["ResponseMetadata"]["HTTPStatusCode"]
        threads = [threading.Thread(target=writer, args=(i,)) for i in range(n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(results.count(200), 1, results)
        self.assertEqual(results.count(412), n - 1, results)


class ConditionalComplete(Base):
    def upload(self, b, key, body=b"part"):
        u = self.s3.create_multipart_upload(Bucket=b, Key=key)["UploadId"]
        e = self.s3.upload_part(Bucket=b, Key=key, UploadId=u, PartNumber=1, Body=body)["ETag"]
        return u, {"Parts": [{"PartNumber": 1, "ETag": e}]}

    def test_if_none_match_on_complete(self):
        b = self.bucket()
        c = client_with({"If-None-Match": "*"}, "CompleteMultipartUpload")
        u, parts = self.upload(b, "mp")
        c.complete_multipart_upload(Bucket=b, Key="mp", UploadId=u, MultipartUpload=parts)
        u2, parts2 = self.upload(b, "mp", b"other")
        self.assertError("PreconditionFailed", 412, c.complete_multipart_upload, Bucket=b, Key="mp",
                         UploadId=u2, MultipartUpload=parts2)
        # The failed completion leaves the upload in place, to retry or abort.
        ups = self.s3.list_multipart_uploads(Bucket=b).get("Uploads", [])
        self.assertEqual([x["UploadId"] for x in ups], [u2])
        self.assertEqual(self.s3.get_object(Bucket=b, Key="mp")["Body"].read(), b"part")

    def test_if_match_on_complete(self):
        b = self.bucket()
        etag = self.s3.put_object(Bucket=b, Key="mp", Body=b"old")["ETag"]
        u, parts = self.upload(b, "mp")
        self.assertError("PreconditionFailed", 412,
                         client_with({"If-Match": '"%s"' % ("0" * 32)}, "CompleteMultipartUpload")
                         .complete_multipart_upload, Bucket=b, Key="mp", UploadId=u, MultipartUpload=parts)
        client_with({"If-Match": etag}, "CompleteMultipartUpload").complete_multipart_upload(
            Bucket=b, Key="mp", UploadId=u, MultipartUpload=parts)
        self.assertEqual(self.s3.get_object(Bucket=b, Key="mp")["Body"].read(), b"part")
        u, parts = self.upload(b, "never-there")
        self.assertError("NoSuchKey", 404, client_with({"If-Match": etag}, "CompleteMultipartUpload")
                         .complete_multipart_upload, Bucket=b, Key="never-there", UploadId=u,
                         MultipartUpload=parts)
        self.assertError("NoSuchUpload", 404, client_with({"If-Match": etag}, "CompleteMultipartUpload")
                         .complete_multipart_upload, Bucket=b, Key="never-there", UploadId="0" * 32,
                         MultipartUpload=parts)


class ConditionalRead(Base):
    def test_precedence(self):
        b = self.bucket()
        etag = self.s3.put_object(Bucket=b, Key="k", Body=b"data")["ETag"]
        lm = self.s3.head_object(Bucket=b, Key="k")["LastModified"]
        past = lm - datetime.timedelta(days=1)
        future = lm + datetime.timedelta(days=1)
        # If-Match true wins over If-Unmodified-Since false (RFC 9110 13.2.2)
        r = self.s3.get_object(Bucket=b, Key="k", IfMatch=etag, IfUnmodifiedSince=past)
        self.assertEqual(r["Body"].read(), b"data")
        self.assertError("PreconditionFailed", 412, self.s3.get_object, Bucket=b, Key="k",
                         IfMatch='"%s"' % ("1" * 32))
        self.assertError("PreconditionFailed", 412, self.s3.get_object, Bucket=b, Key="k",
                         IfUnmodifiedSince=past)
        # If-None-Match false wins over If-Modified-Since true: 304
        with self.assertRaises(ClientError) as cm:
            self.s3.get_object(Bucket=b, Key="k", IfNoneMatch=etag, IfModifiedSince=past)
        self.assertEqual(cm.exception.response["ResponseMetadata"]["HTTPStatusCode"], 304)
        with self.assertRaises(ClientError) as cm:
            self.s3.head_object(Bucket=b, Key="k", IfModifiedSince=future)
        self.assertEqual(cm.exception.response["ResponseMetadata"]["HTTPStatusCode"], 304)
        r = self.s3.get_object(Bucket=b, Key="k", IfNoneMatch='"%s"' % ("2" * 32), IfModifiedSince=future)
        self.assertEqual(r["Body"].read(), b"data")
        # If-Match and If-None-Match both: 412 beats 304
        self.assertError("PreconditionFailed", 412, self.s3.get_object, Bucket=b, Key="k",
                         IfMatch='"%s"' % ("3" * 32), IfNoneMatch=etag)
        # wildcards
        self.s3.get_object(Bucket=b, Key="k", IfMatch="*")
        with self.assertRaises(ClientError) as cm:
            self.s3.head_object(Bucket=b, Key="k", IfNoneMatch="*")
        self.assertEqual(cm.exception.response["ResponseMetadata"]["HTTPStatusCode"], 304)


if __name__ == "__main__":
    hf.main(__file__)
