#!/usr/bin/python3
"""Conditional requests through boto3 against a real server: If-None-Match
and If-Match on PutObject and CompleteMultipartUpload (they hold under
concurrency: of 20 racing If-None-Match: * writers exactly one wins),
conditional deletes (If-Match on DeleteObject, ETag in DeleteObjects), and
the RFC 9110 / S3 precedence of conditions on GET and HEAD."""
import datetime
import os
import re
import sys
import threading
import time
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


def race(n, headers, op, call):
    """n clients, each adding headers to op, run call(client, i) at once
    (released together by a barrier); returns each one's HTTP status."""
    barrier = threading.Barrier(n)
    results = [None] * n
    clients = [client_with(headers, op) for _ in range(n)]

    def run(i):
        barrier.wait()
        # A request shed by admission control (503 SlowDown) is retried, as
        # every SDK does: the race is decided among the writes admitted.
        for attempt in range(50):
            try:
                r = call(clients[i], i)
                results[i] = r["ResponseMetadata"]["HTTPStatusCode"]
            except ClientError as e:
                results[i] = e.response["ResponseMetadata"]["HTTPStatusCode"]
            if results[i] != 503:
                break
            time.sleep(0.05 * (attempt + 1))
    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


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
        results = race(n, {"If-None-Match": "*"}, "PutObject",
                       lambda c, i: c.put_object(Bucket=b, Key="contended", Body=b"writer-%d" % i))
        self.assertEqual(results.count(200), 1, results)
        self.assertEqual(results.count(412), n - 1, results)
        winner = results.index(200)
        self.assertEqual(self.s3.get_object(Bucket=b, Key="contended")["Body"].read(), b"writer-%d" % winner)

    def test_race_of_if_match_writers_has_one_winner(self):
        b = self.bucket()
        etag = self.s3.put_object(Bucket=b, Key="counter", Body=b"0")["ETag"]
        n = 10
        results = race(n, {"If-Match": etag}, "PutObject",
                       lambda c, i: c.put_object(Bucket=b, Key="counter", Body=b"%d" % (i + 1)))
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


class ConditionalDelete(Base):
    """If-Match on DeleteObject. What S3 answers (measured against AWS by
    others and in its guide "How to perform conditional deletes"): a
    mismatch is 412; a key without a current object -- never written, or a
    delete marker on top -- is 404 NoSuchKey, also for If-Match: *."""

    def delete(self, b, key, if_match, **kw):
        return client_with({"If-Match": if_match}, "DeleteObject").delete_object(Bucket=b, Key=key, **kw)

    def test_etag_must_match(self):
        b = self.bucket()
        etag = self.s3.put_object(Bucket=b, Key="k", Body=b"v1")["ETag"]
        self.assertError("PreconditionFailed", 412, self.delete, b, "k", '"%s"' % ("0" * 32))
        self.assertError("PreconditionFailed", 412, self.delete, b, "k", "not-an-etag")
        self.assertEqual(self.body(b, "k"), b"v1")
        r = self.delete(b, "k", etag)
        self.assertEqual(r["ResponseMetadata"]["HTTPStatusCode"], 204)
        self.assertError("NoSuchKey", 404, self.s3.get_object, Bucket=b, Key="k")
        # unquoted works too
        etag = self.s3.put_object(Bucket=b, Key="k", Body=b"v2")["ETag"]
        self.delete(b, "k", etag.strip('"'))
        self.assertError("NoSuchKey", 404, self.s3.get_object, Bucket=b, Key="k")

    def test_star_needs_an_object(self):
        b = self.bucket()
        self.assertError("NoSuchKey", 404, self.delete, b, "absent", "*")
        self.assertError("NoSuchKey", 404, self.delete, b, "absent", '"%s"' % ("0" * 32))
        self.s3.put_object(Bucket=b, Key="k", Body=b"x")
        self.delete(b, "k", "*")
        self.assertError("NoSuchKey", 404, self.s3.get_object, Bucket=b, Key="k")
        # Without a condition deleting what is not there stays a 204.
        self.assertEqual(self.s3.delete_object(Bucket=b, Key="k")["ResponseMetadata"]["HTTPStatusCode"], 204)
        self.assertError("NoSuchBucket", 404, self.delete, "no-such-bucket-cond", "k", "*")

    def test_versioned_bucket(self):
        b = self.bucket(versioning="Enabled")
        etag = self.s3.put_object(Bucket=b, Key="k", Body=b"v1")["ETag"]
        r = self.delete(b, "k", etag)
        self.assertTrue(r.get("DeleteMarker"))
        # A delete marker on top: no current object, whatever the ETag.
        self.assertError("NoSuchKey", 404, self.delete, b, "k", etag)
        self.assertError("NoSuchKey", 404, self.delete, b, "k", "*")
        vs = self.s3.list_object_versions(Bucket=b)
        self.assertEqual(len(vs.get("Versions", [])), 1)
        self.assertEqual(len(vs.get("DeleteMarkers", [])), 1)
        # The condition is about the current version, also with a versionId.
        v2 = self.s3.put_object(Bucket=b, Key="k", Body=b"v2")
        v1 = vs["Versions"][0]["VersionId"]
        self.assertError("PreconditionFailed", 412, self.delete, b, "k", etag, VersionId=v1)
        self.delete(b, "k", v2["ETag"], VersionId=v1)
        self.assertError("NoSuchVersion", 404, self.s3.get_object, Bucket=b, Key="k", VersionId=v1)
        self.assertEqual(self.body(b, "k"), b"v2")

    def test_other_conditions_are_501(self):
        b = self.bucket()
        self.s3.put_object(Bucket=b, Key="k", Body=b"x")
        for h in ({"If-None-Match": "*"}, {"x-amz-if-match-size": "1"},
                  {"x-amz-if-match-last-modified-time": "Wed, 01 Jan 2031 00:00:00 GMT"}):
            c = client_with(h, "DeleteObject")
            self.assertError("NotImplemented", 501, c.delete_object, Bucket=b, Key="k")
        self.assertEqual(self.body(b, "k"), b"x")

    def test_race_of_conditional_deleters_has_one_winner(self):
        for versioning in (None, "Enabled"):
            b = self.bucket(versioning=versioning)
            etag = self.s3.put_object(Bucket=b, Key="k", Body=b"x")["ETag"]
            n = 10
            results = race(n, {"If-Match": etag}, "DeleteObject", lambda c, i: c.delete_object(Bucket=b, Key="k"))
            self.assertEqual(results.count(204), 1, (versioning, results))
            self.assertEqual(results.count(404), n - 1, (versioning, results))
            if versioning:
                self.assertEqual(len(self.s3.list_object_versions(Bucket=b).get("DeleteMarkers", [])), 1)

    def test_delete_objects_etag_element(self):
        """DeleteObjects carries the condition as an ETag element per object
        (this boto3 has no such parameter: a hook writes it into the body
        and recomputes Content-MD5)."""
        b = self.bucket()
        ea = self.s3.put_object(Bucket=b, Key="a", Body=b"a")["ETag"]
        self.s3.put_object(Bucket=b, Key="b", Body=b"b")
        self.s3.put_object(Bucket=b, Key="c", Body=b"c")
        etags = {"a": ea, "b": '"%s"' % ("0" * 32), "absent": "*", "c": "*"}
        c = hf.rewrite_body(hf.boto3_client(hf.SHARED), "DeleteObjects", lambda body: re.sub(
            rb"<Key>([^<]*)</Key>",
            lambda m: b"<Key>%s</Key><ETag>%s</ETag>" % (m.group(1), etags[m.group(1).decode()].encode())
            if m.group(1).decode() in etags else m.group(0), body))
        r = c.delete_objects(Bucket=b, Delete={"Objects": [{"Key": k} for k in ("a", "b", "absent", "c", "d")]})
        self.assertEqual(sorted(d["Key"] for d in r.get("Deleted", [])), ["a", "c", "d"])
        errs = {e["Key"]: e["Code"] for e in r.get("Errors", [])}
        self.assertEqual(errs, {"b": "PreconditionFailed", "absent": "NoSuchKey"})
        self.assertEqual(self.body(b, "b"), b"b")
        self.assertError("NoSuchKey", 404, self.s3.get_object, Bucket=b, Key="a")


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
