#!/usr/bin/python3
"""AWS's request semantics where they differ from the obvious, each with
its bad-input side (docs/compatibility.md says what was measured where):

- CreateBucket of a bucket you own: 200 in us-east-1 (the ACL reset to the
  request's), BucketAlreadyOwnedByYou in any other region;
- a repeated CompleteMultipartUpload gets the completion's answer again
  within the window (also after a restart; no second version), and
  NoSuchUpload after it or with another part list;
- ListBuckets pagination (max-buckets, continuation-token, prefix,
  bucket-region) and its bad values;
- a lifecycle rule without an ID gets one;
- non-ASCII user metadata is stored as text and returned RFC 2047-encoded;
- an empty delimiter is no delimiter, in every listing.
"""
import base64
import os
import re
import sys
import time
import unittest
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hf  # noqa: E402

NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"


def setUpModule():
    hf.start_shared()


def tearDownModule():
    hf.stop_shared()


def xml(body):
    return ET.fromstring(body)


def err(body):
    root = ET.fromstring(body)
    return {e.tag: e.text or "" for e in root}


class CreateBucketAgain(hf.S3Case):
    def test_us_east_1_answers_200_and_resets_the_acl(self):
        b = "again-%d" % os.getpid()
        self.s3.create_bucket(Bucket=b, ObjectOwnership="ObjectWriter")
        self.addCleanup(self.purge, b)
        self.s3.delete_public_access_block(Bucket=b)
        self.s3.put_bucket_acl(Bucket=b, ACL="public-read")
        grants = self.s3.get_bucket_acl(Bucket=b)["Grants"]
        self.assertTrue(any(g["Grantee"].get("URI", "").endswith("AllUsers") for g in grants))
        r = self.s3.create_bucket(Bucket=b)
        self.assertEqual(r["ResponseMetadata"]["HTTPStatusCode"], 200)
        self.assertEqual(r["Location"], "/" + b)
        grants = self.s3.get_bucket_acl(Bucket=b)["Grants"]
        self.assertEqual([g["Permission"] for g in grants], ["FULL_CONTROL"])
        # the request's ACL is the one set
        self.s3.create_bucket(Bucket=b, ACL="authenticated-read")
        grants = self.s3.get_bucket_acl(Bucket=b)["Grants"]
        self.assertTrue(any(g["Grantee"].get("URI", "").endswith("AuthenticatedUsers") for g in grants))
        # nothing else changed: the object, the ownership
        self.s3.put_object(Bucket=b, Key="k", Body=b"x")
        self.s3.create_bucket(Bucket=b)
        self.assertEqual(self.s3.get_object(Bucket=b, Key="k")["Body"].read(), b"x")
        self.assertEqual(self.s3.get_bucket_ownership_controls(Bucket=b)["OwnershipControls"]["Rules"][0]
                         ["ObjectOwnership"], "ObjectWriter")
        # someone else's bucket is still BucketAlreadyExists
        other, _ = hf.make_user(hf.SHARED, "again-other")
        from botocore.exceptions import ClientError
        with self.assertRaises(ClientError) as cm:
            other.create_bucket(Bucket=b)
        self.assertEqual(cm.exception.response["Error"]["Code"], "BucketAlreadyExists")

    def test_other_regions_answer_already_owned(self):
        srv = hf.Server(args=["--region", "eu-central-1"]).start()
        try:
            import boto3
            from botocore.config import Config
            c = boto3.client("s3", endpoint_url=srv.endpoint, aws_access_key_id=hf.ACCESS_KEY,
                             aws_secret_access_key=hf.SECRET_KEY, region_name="eu-central-1",
                             config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}))
            c.create_bucket(Bucket="mine", CreateBucketConfiguration={"LocationConstraint": "eu-central-1"})
            from botocore.exceptions import ClientError
            with self.assertRaises(ClientError) as cm:
                c.create_bucket(Bucket="mine", CreateBucketConfiguration={"LocationConstraint": "eu-central-1"})
            e = cm.exception.response
            self.assertEqual((e["Error"]["Code"], e["ResponseMetadata"]["HTTPStatusCode"]),
                             ("BucketAlreadyOwnedByYou", 409))
            self.assertEqual(e["Error"]["BucketName"], "mine")
            c.delete_bucket(Bucket="mine")
        finally:
            rc = srv.stop()
            srv.cleanup()
        self.assertEqual(rc, 0)


class CompleteAgain(hf.OwnServerCase):
    """A retried CompleteMultipartUpload, on a server of its own whose
    window is short enough to see it end."""
    WINDOW = 4
    ARGS = ["--completed-upload-window", "%ds" % WINDOW]

    def setUp(self):
        self.s3 = hf.boto3_client(self.srv)

    def upload(self, bucket, key, algorithm=None):
        kw = {"ChecksumAlgorithm": algorithm} if algorithm else {}
        up = self.s3.create_multipart_upload(Bucket=bucket, Key=key, **kw)["UploadId"]
        parts = []
        for n, data in ((1, b"a" * (5 << 20)), (2, b"tail")):
            r = self.s3.upload_part(Bucket=bucket, Key=key, UploadId=up, PartNumber=n, Body=data, **kw)
            p = {"ETag": r["ETag"], "PartNumber": n}
            if algorithm:
                p["Checksum" + algorithm] = r["Checksum" + algorithm]
            parts.append(p)
        return up, {"Parts": parts}

    def complete(self, b, k, up, parts):
        return self.s3.complete_multipart_upload(Bucket=b, Key=k, UploadId=up, MultipartUpload=parts)

    def assertNoSuchUpload(self, fn, *a):
        from botocore.exceptions import ClientError
        with self.assertRaises(ClientError) as cm:
            fn(*a)
        self.assertEqual(cm.exception.response["Error"]["Code"], "NoSuchUpload")
        self.assertEqual(cm.exception.response["ResponseMetadata"]["HTTPStatusCode"], 404)

    def test_retry_gets_the_same_answer(self):
        b = "retry-plain"
        self.s3.create_bucket(Bucket=b)
        up, parts = self.upload(b, "k", "CRC32")
        first = self.complete(b, "k", up, parts)
        again = self.complete(b, "k", up, parts)
        for f in ("ETag", "Location", "Bucket", "Key", "ChecksumCRC32"):
            self.assertEqual(again[f], first[f], f)
        self.assertTrue(first["ChecksumCRC32"].endswith("-2"))
        # with If-None-Match: * (an SDK retry sends the same headers)
        hf.add_headers(self.s3, "CompleteMultipartUpload", {"If-None-Match": "*"})
        self.assertEqual(self.complete(b, "k", up, parts)["ETag"], first["ETag"])
        # another part list is not a retry of this completion
        self.s3 = hf.boto3_client(self.srv)
        self.assertNoSuchUpload(self.complete, b, "k", up, {"Parts": parts["Parts"][:1]})
        swapped = {"Parts": [dict(p) for p in parts["Parts"]]}
        swapped["Parts"][1]["ETag"] = '"%s"' % ("0" * 32)
        self.assertNoSuchUpload(self.complete, b, "k", up, swapped)
        # nor is the same list for another key, or an aborted upload
        self.assertNoSuchUpload(self.complete, b, "other", up, parts)
        up2, parts2 = self.upload(b, "k2")
        self.s3.abort_multipart_upload(Bucket=b, Key="k2", UploadId=up2)
        self.assertNoSuchUpload(self.complete, b, "k2", up2, parts2)
        # the upload itself stays gone
        self.assertNoSuchUpload(lambda: self.s3.list_parts(Bucket=b, Key="k", UploadId=up))
        self.assertEqual(self.s3.list_multipart_uploads(Bucket=b).get("Uploads", []), [])

    def test_no_second_version(self):
        b = "retry-versioned"
        self.s3.create_bucket(Bucket=b)
        self.s3.put_bucket_versioning(Bucket=b, VersioningConfiguration={"Status": "Enabled"})
        up, parts = self.upload(b, "k")
        first = self.complete(b, "k", up, parts)
        again = self.complete(b, "k", up, parts)
        self.assertEqual(again["VersionId"], first["VersionId"])
        versions = self.s3.list_object_versions(Bucket=b)["Versions"]
        self.assertEqual([v["VersionId"] for v in versions], [first["VersionId"]])
        # still the same answer once the key has moved on
        self.s3.put_object(Bucket=b, Key="k", Body=b"newer")
        self.assertEqual(self.complete(b, "k", up, parts)["VersionId"], first["VersionId"])
        self.assertEqual(len(self.s3.list_object_versions(Bucket=b)["Versions"]), 2)

    def test_survives_restart_then_expires(self):
        b = "retry-restart"
        self.s3.create_bucket(Bucket=b)
        up, parts = self.upload(b, "k")
        t0 = time.time()
        first = self.complete(b, "k", up, parts)
        self.assertEqual(self.srv.stop(), 0)
        self.srv.start()
        self.s3 = hf.boto3_client(self.srv)
        self.assertLess(time.time() - t0, self.WINDOW, "restart took longer than the window")
        self.assertEqual(self.complete(b, "k", up, parts)["ETag"], first["ETag"])
        time.sleep(max(0, t0 + self.WINDOW + 0.5 - time.time()))
        self.assertNoSuchUpload(self.complete, b, "k", up, parts)
        # the object itself is of course still there
        self.assertEqual(self.s3.head_object(Bucket=b, Key="k")["ETag"], first["ETag"])


class CompleteAgainOff(unittest.TestCase):
    def test_window_zero_remembers_nothing(self):
        srv = hf.Server(args=["--completed-upload-window", "0"]).start()
        try:
            s3 = hf.boto3_client(srv)
            s3.create_bucket(Bucket="off")
            up = s3.create_multipart_upload(Bucket="off", Key="k")["UploadId"]
            e = s3.upload_part(Bucket="off", Key="k", UploadId=up, PartNumber=1, Body=b"x")["ETag"]
            parts = {"Parts": [{"ETag": e, "PartNumber": 1}]}
            s3.complete_multipart_upload(Bucket="off", Key="k", UploadId=up, MultipartUpload=parts)
            from botocore.exceptions import ClientError
            with self.assertRaises(ClientError) as cm:
                s3.complete_multipart_upload(Bucket="off", Key="k", UploadId=up, MultipartUpload=parts)
            self.assertEqual(cm.exception.response["Error"]["Code"], "NoSuchUpload")
        finally:
            rc = srv.stop()
            srv.cleanup()
        self.assertEqual(rc, 0)

    def test_bad_window_is_refused(self):
        import subprocess
        for bad in ("8d", "soon", "-1s"):
            p = subprocess.run([hf.BIN, "server", "--completed-upload-window", bad], capture_output=True,
                               text=True, timeout=30)
            self.assertEqual(p.returncode, 2, bad)
            self.assertIn("--completed-upload-window", p.stderr)
            self.assertIn("up to 7d", p.stderr)


class ListBucketsPages(hf.OwnServerCase):
    """Debian's botocore (1.29) predates ListBuckets pagination: raw
    requests."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        s3 = hf.boto3_client(cls.srv)
        cls.names = sorted(["lb-a1", "lb-a2", "lb-a3", "lb-b1", "lb-b2", "other"])
        for n in cls.names:
            s3.create_bucket(Bucket=n)

    def page(self, **q):
        st, _, body = hf.signed_request(self.srv, "GET", "/", query=[(k.replace("_", "-"), v)
                                                                      for k, v in q.items()])
        self.assertEqual(st, 200, body)
        root = xml(body)
        names = [b.find(NS + "Name").text for b in root.iter(NS + "Bucket")]
        regions = {b.find(NS + "BucketRegion").text for b in root.iter(NS + "Bucket")}
        tok = root.find(NS + "ContinuationToken")
        pfx = root.find(NS + "Prefix")
        return names, tok.text if tok is not None else None, pfx, regions

    def walk(self, size, **q):
        got, tok, pages = [], None, 0
        while True:
            args = dict(q, max_buckets=str(size))
            if tok:
                args["continuation_token"] = tok
            names, tok, _, _ = self.page(**args)
            got += names
            pages += 1
            self.assertLessEqual(len(names), size)
            if not tok:
                return got, pages

    def test_pages(self):
        names, tok, pfx, regions = self.page()
        self.assertEqual((names, tok, pfx, regions), (self.names, None, None, {hf.REGION}))
        for size in (1, 2, 5, 6, 10000):
            got, pages = self.walk(size)
            self.assertEqual(got, self.names, size)
            self.assertEqual(pages, max(1, -(-len(self.names) // size)), size)
        # the token is opaque and only says where to go on
        names, tok, _, _ = self.page(max_buckets="2")
        self.assertEqual(names, self.names[:2])
        self.assertNotIn(self.names[1], tok)

    def test_prefix_and_region(self):
        names, tok, pfx, _ = self.page(prefix="lb-a")
        self.assertEqual(names, ["lb-a1", "lb-a2", "lb-a3"])
        self.assertEqual(pfx.text, "lb-a")
        got, pages = self.walk(2, prefix="lb-")
        self.assertEqual((got, pages), (self.names[:5], 3))
        self.assertEqual(self.page(prefix="zz")[0], [])
        self.assertEqual(self.page(bucket_region=hf.REGION)[0], self.names)
        self.assertEqual(self.page(bucket_region="eu-west-1")[0], [])

    def test_bad_values(self):
        for bad in ("0", "10001", "-1", "abc", "1.5", ""):
            st, _, body = hf.signed_request(self.srv, "GET", "/", query=[("max-buckets", bad)])
            e = err(body)
            self.assertEqual((st, e["Code"]), (400, "InvalidArgument"), bad)
            self.assertEqual((e["ArgumentName"], e["ArgumentValue"]), ("max-buckets", bad))
            self.assertIn("between 1 and 10000", e["Message"])
        for bad in ("not a token", base64.b64encode(b"UPPER").decode(), "", "%%%"):
            st, _, body = hf.signed_request(self.srv, "GET", "/", query=[("continuation-token", bad)])
            e = err(body)
            self.assertEqual((st, e["Code"], e["ArgumentName"]), (400, "InvalidArgument", "continuation-token"),
                             bad)


class LifecycleIds(hf.S3Case):
    def test_rule_without_id_gets_one(self):
        b = self.bucket()
        rules = [{"Status": "Enabled", "Filter": {"Prefix": "a/"}, "Expiration": {"Days": 1}},
                 {"ID": "mine", "Status": "Enabled", "Filter": {"Prefix": "b/"}, "Expiration": {"Days": 2}},
                 {"ID": "", "Status": "Disabled", "Filter": {}, "Expiration": {"Days": 3}}]
        self.s3.put_bucket_lifecycle_configuration(Bucket=b, LifecycleConfiguration={"Rules": rules})
        got = self.s3.get_bucket_lifecycle_configuration(Bucket=b)["Rules"]
        ids = [r["ID"] for r in got]
        self.assertEqual(ids[1], "mine")
        for i in (0, 2):
            self.assertEqual(len(ids[i]), 48, ids)
            self.assertRegex(base64.b64decode(ids[i]).decode(),
                             r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
        self.assertNotEqual(ids[0], ids[2])
        # stored: the same IDs on every read
        self.assertEqual([r["ID"] for r in self.s3.get_bucket_lifecycle_configuration(Bucket=b)["Rules"]], ids)
        # a duplicate given ID is still refused
        self.assertError("InvalidArgument", 400, self.s3.put_bucket_lifecycle_configuration, Bucket=b,
                         LifecycleConfiguration={"Rules": [rules[1], rules[1]]})


def put_raw(server, path, headers, body=b"x"):
    """A PUT signed by hand over header values that may be raw bytes
    (botocore signs only text): (status, body)."""
    import hashlib
    import hmac
    import http.client
    now = time.gmtime()
    amz_date, day = time.strftime("%Y%m%dT%H%M%SZ", now), time.strftime("%Y%m%d", now)
    h = {"host": ("127.0.0.1:%d" % server.port).encode(), "x-amz-date": amz_date.encode(),
         "x-amz-content-sha256": hashlib.sha256(body).hexdigest().encode()}
    for k, v in headers.items():
        h[k.lower()] = v if isinstance(v, bytes) else v.encode()
    names = sorted(h)
    creq = b"\n".join([b"PUT", path.encode(), b"", b"".join(b"%s:%s\n" % (n.encode(), h[n].strip())
                                                              for n in names),
                        ";".join(names).encode(), h["x-amz-content-sha256"]])
    scope = "%s/%s/s3/aws4_request" % (day, hf.REGION)
    sts = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(creq).hexdigest()])
    k = ("AWS4" + hf.SECRET_KEY).encode()
    for part in (day, hf.REGION, "s3", "aws4_request"):
        k = hmac.new(k, part.encode(), hashlib.sha256).digest()
    sig = hmac.new(k, sts.encode(), hashlib.sha256).hexdigest()
    h["authorization"] = ("AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, Signature=%s" % (
        hf.ACCESS_KEY, scope, ";".join(names), sig)).encode()
    c = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        c.putrequest("PUT", path, skip_host=True, skip_accept_encoding=True)
        for n in names + ["authorization"]:
            c.putheader(n, h[n])
        c.putheader("content-length", str(len(body)))
        c.endheaders(body)
        r = c.getresponse()
        return r.status, r.read()
    finally:
        c.close()


class Metadata(hf.S3Case):
    """S3 stores the text of user metadata and returns anything not
    US-ASCII as an RFC 2047 encoded-word (=?UTF-8?B?...?=). Debian's
    botocore refuses non-ASCII metadata values itself and shows encoded
    values as they come: raw requests say what is on the wire."""

    def put(self, b, key, value):
        """PUT with x-amz-meta-v: value (str, or bytes sent as they are),
        then the x-amz-meta-v HEAD answers."""
        st, body = put_raw(hf.SHARED, "/%s/%s" % (b, key), {"x-amz-meta-v": value})
        self.assertEqual(st, 200, body)
        st, h, _ = hf.signed_request(hf.SHARED, "HEAD", "/%s/%s" % (b, key))
        return h["x-amz-meta-v"]

    def test_round_trip(self):
        b = self.bucket()
        cafe = base64.b64encode("café".encode()).decode()
        self.assertEqual(self.put(b, "ascii", "plain text"), "plain text")
        self.assertEqual(self.put(b, "b", "=?UTF-8?B?%s?=" % cafe), "=?UTF-8?B?%s?=" % cafe)
        self.assertEqual(self.put(b, "q", "=?utf-8?q?caf=C3=A9?="), "=?UTF-8?B?%s?=" % cafe)
        self.assertEqual(self.put(b, "l1", "=?ISO-8859-1?Q?caf=E9?="), "=?UTF-8?B?%s?=" % cafe)
        # raw bytes: UTF-8 (what botocore sends) or ISO-8859-1 (node)
        self.assertEqual(self.put(b, "raw8", "café".encode()), "=?UTF-8?B?%s?=" % cafe)
        self.assertEqual(self.put(b, "raw1", "café".encode("latin-1")), "=?UTF-8?B?%s?=" % cafe)
        # something that only looks encoded is kept as sent
        self.assertEqual(self.put(b, "fake", "=?UTF-8?B?not base64?="), "=?UTF-8?B?not base64?=")
        # boto3 shows the encoded form; decoding it gives the text
        import email.header
        m = self.s3.head_object(Bucket=b, Key="q")["Metadata"]["v"]
        text, cs = email.header.decode_header(m)[0]
        self.assertEqual(text.decode(cs), "café")
        # a copy keeps the text; REPLACE stores the new text
        self.s3.copy_object(Bucket=b, Key="copy", CopySource={"Bucket": b, "Key": "q"})
        self.assertEqual(self.s3.head_object(Bucket=b, Key="copy")["Metadata"]["v"], "=?UTF-8?B?%s?=" % cafe)

    def test_size_counts_the_text(self):
        b = self.bucket()
        # 1000 "é" are 2000 bytes of text: within 2 KiB as text, over it as
        # base64 in the header
        enc = "=?UTF-8?B?%s?=" % base64.b64encode(("é" * 1000).encode()).decode()
        st, _, body = hf.signed_request(hf.SHARED, "PUT", "/%s/big" % b, headers={"x-amz-meta-v": enc},
                                        body=b"x")
        self.assertEqual(st, 200, body)
        enc = "=?UTF-8?B?%s?=" % base64.b64encode(("é" * 1030).encode()).decode()
        st, _, body = hf.signed_request(hf.SHARED, "PUT", "/%s/big2" % b, headers={"x-amz-meta-v": enc},
                                        body=b"x")
        self.assertEqual((st, err(body)["Code"]), (400, "MetadataTooLarge"))


class EmptyDelimiter(hf.S3Case):
    """delimiter= is no delimiter (Ceph's s3-tests against AWS: no
    Delimiter element, nothing rolled up)."""

    def test_every_listing(self):
        b = self.bucket()
        keys = ["a/1", "a/2", "b/1", "c"]
        for k in keys:
            self.s3.put_object(Bucket=b, Key=k, Body=b"x")
            self.s3.create_multipart_upload(Bucket=b, Key=k)
        for query, tag in ((("list-type", "2"),), "Key"), ((), "Key"), ((("versions", ""),), "Key"), \
                ((("uploads", ""),), "Key"):
            st, _, body = hf.signed_request(hf.SHARED, "GET", "/" + b,
                                            query=list(query) + [("delimiter", ""), ("max-keys", "3"),
                                                                 ("max-uploads", "3")])
            self.assertEqual(st, 200, body)
            root = xml(body)
            self.assertIsNone(root.find(NS + "Delimiter"), query)
            self.assertEqual(root.findall(NS + "CommonPrefixes"), [], query)
            self.assertEqual([k.text for k in root.iter(NS + tag)][:3], keys[:3], query)
            # v1 gives NextMarker only with a delimiter
            self.assertIsNone(root.find(NS + "NextMarker"), query)
        # boto3 sends Delimiter="" as given
        r = self.s3.list_objects_v2(Bucket=b, Delimiter="")
        self.assertEqual(([o["Key"] for o in r["Contents"]], r.get("Delimiter"), r.get("CommonPrefixes")),
                         (keys, None, None))
        r = self.s3.list_objects_v2(Bucket=b, Delimiter="/")
        self.assertEqual((r["Delimiter"], len(r["CommonPrefixes"])), ("/", 2))


if __name__ == "__main__":
    hf.main(__file__)
