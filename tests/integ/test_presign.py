#!/usr/bin/python3
"""Presigned URLs (SigV4 query authentication) for every kind of
operation -- object, bucket, multipart, tagging, deletes -- used with plain
HTTP as a browser or curl would, and their expiry and error semantics as S3
has them: expired, not yet valid, over a week, tampered, missing parts."""
import datetime
import os
import sys
import unittest
import urllib.error
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hf  # noqa: E402

setUpModule = hf.start_shared
tearDownModule = hf.stop_shared


def call(url, method="GET", data=None, headers=None):
    """(status, body) of a plain HTTP request to url."""
    st, _, body = hf.http(url, method, data, headers, timeout=30)
    return st, body


class Presigned(hf.S3Case):
    def url(self, op, expires=300, **params):
        return self.s3.generate_presigned_url(op, Params=params, ExpiresIn=expires)

    def test_object_operations(self):
        b = self.bucket()
        st, _ = call(self.url("put_object", Bucket=b, Key="k"), "PUT", b"presigned put")
        self.assertEqual(st, 200)
        st, body = call(self.url("get_object", Bucket=b, Key="k"))
        self.assertEqual((st, body), (200, b"presigned put"))
        st, _ = call(self.url("head_object", Bucket=b, Key="k"), "HEAD")
        self.assertEqual(st, 200)
        st, body = call(self.url("get_object", Bucket=b, Key="k", ResponseContentType="text/x-test"))
        self.assertEqual(st, 200)
        self.s3.put_object_tagging(Bucket=b, Key="k", Tagging={"TagSet": [{"Key": "a", "Value": "b"}]})
        st, body = call(self.url("get_object_tagging", Bucket=b, Key="k"))
        self.assertEqual(st, 200)
        self.assertIn(b"<Key>a</Key>", body)
        st, _ = call(self.url("delete_object_tagging", Bucket=b, Key="k"), "DELETE")
        self.assertEqual(st, 204)
        self.assertEqual(self.s3.get_object_tagging(Bucket=b, Key="k")["TagSet"], [])
        st, _ = call(self.url("delete_object", Bucket=b, Key="k"), "DELETE")
        self.assertEqual(st, 204)
        self.assertError("NoSuchKey", 404, self.s3.get_object, Bucket=b, Key="k")

    def test_bucket_operations(self):
        b = self.bucket()
        self.s3.put_object(Bucket=b, Key="x/1", Body=b"1")
        st, body = call(self.url("list_objects_v2", Bucket=b, Prefix="x/"))
        self.assertEqual(st, 200)
        self.assertIn(b"<Key>x/1</Key>", body)
        st, _ = call(self.url("head_bucket", Bucket=b), "HEAD")
        self.assertEqual(st, 200)
        st, body = call(self.url("get_bucket_versioning", Bucket=b))
        self.assertEqual(st, 200)
        st, body = call(self.url("list_buckets"))
        self.assertEqual(st, 200)
        self.assertIn(b.encode(), body)

    def test_multipart_by_presigned_urls(self):
        b = self.bucket()
        st, body = call(self.url("create_multipart_upload", Bucket=b, Key="mp"), "POST")
        self.assertEqual(st, 200)
        uid = body.split(b"<UploadId>")[1].split(b"</UploadId>")[0].decode()
        parts = []
        for n, data in ((1, os.urandom(5 * 1024 * 1024)), (2, b"tail")):
            req = urllib.request.Request(self.url("upload_part", Bucket=b, Key="mp", UploadId=uid, PartNumber=n),
                                         data=data, method="PUT")
            with urllib.request.urlopen(req, timeout=60) as r:
                parts.append((n, r.headers["ETag"], data))
        doc = "<CompleteMultipartUpload>%s</CompleteMultipartUpload>" % "".join(
            "<Part><PartNumber>%d</PartNumber><ETag>%s</ETag></Part>" % (n, e) for n, e, _ in parts)
        st, body = call(self.url("complete_multipart_upload", Bucket=b, Key="mp", UploadId=uid), "POST",
                        doc.encode())
        self.assertEqual(st, 200, body)
        self.assertEqual(self.body(b, "mp"), parts[0][2] + parts[1][2])
        # and an abort
        uid2 = self.s3.create_multipart_upload(Bucket=b, Key="gone")["UploadId"]
        st, _ = call(self.url("abort_multipart_upload", Bucket=b, Key="gone", UploadId=uid2), "DELETE")
        self.assertEqual(st, 204)
        self.assertEqual(self.s3.list_multipart_uploads(Bucket=b).get("Uploads", []), [])

    def test_signed_headers_must_match(self):
        b = self.bucket()
        url = self.url("put_object", Bucket=b, Key="typed", ContentType="text/plain")
        st, body = call(url, "PUT", b"x", {"Content-Type": "text/plain"})
        self.assertEqual(st, 200, body)
        st, body = call(url, "PUT", b"x", {"Content-Type": "application/evil"})
        self.assertEqual(st, 403)
        self.assertIn(b"SignatureDoesNotMatch", body)

    def test_expiry_and_errors(self):
        b = self.bucket()
        self.s3.put_object(Bucket=b, Key="k", Body=b"x")
        # expired
        old = hf.boto3_client(hf.SHARED)
        import botocore.auth
        orig = datetime.datetime

        class Shifted(orig):
            shift = datetime.timedelta(0)

            @classmethod
            def utcnow(cls):
                return orig.utcnow() + cls.shift
        botocore.auth.datetime.datetime = Shifted
        try:
            Shifted.shift = -datetime.timedelta(hours=2)
            expired = old.generate_presigned_url("get_object", Params={"Bucket": b, "Key": "k"}, ExpiresIn=3600)
            Shifted.shift = datetime.timedelta(hours=2)
            future = old.generate_presigned_url("get_object", Params={"Bucket": b, "Key": "k"}, ExpiresIn=3600)
            Shifted.shift = datetime.timedelta(minutes=5)  # within the allowed skew
            soon = old.generate_presigned_url("get_object", Params={"Bucket": b, "Key": "k"}, ExpiresIn=3600)
        finally:
            botocore.auth.datetime.datetime = orig
        st, body = call(expired)
        self.assertEqual(st, 403)
        self.assertIn(b"<Code>AccessDenied</Code>", body)
        self.assertIn(b"Request has expired", body)
        st, body = call(future)
        self.assertEqual(st, 403)
        self.assertIn(b"Request is not yet valid", body)
        self.assertEqual(call(soon)[0], 200)
        # longer than a week
        st, body = call(self.url("get_object", expires=604801, Bucket=b, Key="k"))
        self.assertEqual(st, 400)
        self.assertIn(b"AuthorizationQueryParametersError", body)
        self.assertEqual(call(self.url("get_object", expires=604800, Bucket=b, Key="k"))[0], 200)
        # tampered, missing signature, unknown key
        url = self.url("get_object", Bucket=b, Key="k")
        parts = urllib.parse.urlsplit(url)
        q = urllib.parse.parse_qs(parts.query)
        sig = q["X-Amz-Signature"][0]
        bad = url.replace(sig, ("0" if sig[0] != "0" else "1") + sig[1:])
        st, body = call(bad)
        self.assertEqual(st, 403)
        self.assertIn(b"SignatureDoesNotMatch", body)
        nosig = url.replace("&X-Amz-Signature=" + sig, "")
        st, body = call(nosig)
        self.assertEqual(st, 400)
        self.assertIn(b"AuthorizationQueryParametersError", body)
        other = url.replace(urllib.parse.quote(hf.ACCESS_KEY), "HFNOSUCHKEY000000001")
        st, body = call(other)
        self.assertEqual(st, 403)
        self.assertIn(b"InvalidAccessKeyId", body)
        # a URL for one key does not open another
        st, _ = call(url.replace("/k?", "/other?"))
        self.assertEqual(st, 403)


if __name__ == "__main__":
    hf.main(__file__)
