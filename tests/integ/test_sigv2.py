#!/usr/bin/python3
"""AWS Signature Version 2 against a real server: the presigned URLs and
POST forms Debian's boto3 makes by default, boto3 clients signing with
signature_version='s3' (path style, and virtual-hosted style as boto3 uses
it against S3), requests signed here from AWS's definition (an independent
implementation of the string to sign), every refusal S3 gives, that policies
see a V2 caller as S3 does, and --sigv2 off."""
import base64
import datetime
import email.utils
import hashlib
import hmac
import html
import http.client
import os
import re
import sys
import time
import unittest
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hf  # noqa: E402
from test_post import post  # noqa: E402

REFUSED = b"The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256."


def setUpModule():
    hf.SHARED = hf.Server(args=["--domain", hf.TEST_DOMAIN]).start()
    hf.resolve_to_loopback()


tearDownModule = hf.stop_shared


def debian_default_client(server, endpoint=None, **cfg):
    """boto3 exactly as an application on Debian 12 makes it: no
    signature_version, no addressing style (an IP endpoint: path style)."""
    import boto3
    from botocore.config import Config
    return boto3.client("s3", endpoint_url=endpoint or server.endpoint, aws_access_key_id=hf.ACCESS_KEY,
                        aws_secret_access_key=hf.SECRET_KEY, region_name=hf.REGION,
                        config=Config(retries={"max_attempts": 1}, **cfg))


def v2_client(server, virtual=False, fixed=False, access_key=hf.ACCESS_KEY, secret_key=hf.SECRET_KEY):
    """A boto3 client signing every call with Signature Version 2.

    fixed: sign the canonical resource as botocore >= 1.31 does. Debian's
    botocore 1.29 keeps an operation's modelled sub-resource ("?tagging",
    "?uploads", "?list-type=2"...) in the path it signs and then appends the
    request's sub-resources again ("/b/k?tagging?tagging"): S3 refuses
    that (boto/botocore#2962, boto/boto3#4433; fixed by botocore PR #2971,
    which strips the query from the signed path). The fix is applied here
    the same way, so the calls reach what this server verifies."""
    import boto3
    from botocore.config import Config
    endpoint = hf.vhost_endpoint(server) if virtual else server.endpoint
    c = boto3.client("s3", endpoint_url=endpoint, aws_access_key_id=access_key,
                     aws_secret_access_key=secret_key, region_name=hf.REGION,
                     config=Config(signature_version="s3", retries={"max_attempts": 1},
                                   s3={"addressing_style": "virtual" if virtual else "path"}))
    if fixed:
        def strip_modelled_query(request, **kw):
            path = request.auth_path
            if path and "?" in path:
                path = path.split("?")[0]
                if path.count("/") == 1:
                    path += "/"
                request.auth_path = path
        c.meta.events.register("before-sign.s3", strip_modelled_query)
    return c


# ---- an independent Signature Version 2 signer, from AWS's definition ----

SUBRESOURCES = {"acl", "lifecycle", "location", "logging", "notification", "partNumber", "policy",
                "requestPayment", "torrent", "uploadId", "uploads", "versionId", "versioning",
                "versions", "website", "delete", "cors", "tagging", "restore",
                "response-content-type", "response-content-language", "response-expires",
                "response-cache-control", "response-content-disposition", "response-content-encoding"}


def string_to_sign(method, path, query, headers, expires=None, bucket=None):
    h = {k.lower(): v for k, v in headers.items()}
    date = expires if expires is not None else ("" if "x-amz-date" in h else h.get("date", ""))
    amz = sorted((k, v.strip()) for k, v in h.items() if k.startswith("x-amz-"))
    resource = ("/" + bucket if bucket else "") + path
    subs = []
    for part in query.split("&") if query else []:
        name, eq, value = part.partition("=")
        if urllib.parse.unquote(name) in SUBRESOURCES:
            subs.append(urllib.parse.unquote(name) + (eq + urllib.parse.unquote(value)))
    if subs:
        resource += "?" + "&".join(sorted(subs))
    return "\n".join([method, h.get("content-md5", ""), h.get("content-type", ""), date] +
                     ["%s:%s" % kv for kv in amz] + [resource])


def sign(sts, secret=hf.SECRET_KEY):
    return base64.b64encode(hmac.new(secret.encode(), sts.encode(), hashlib.sha1).digest()).decode()


def now_http(delta=0):
    return email.utils.formatdate(time.time() + delta, usegmt=True)


def raw(server, method, target, headers, body=b"", host=None):
    """(status, headers, body) of one request sent exactly as given."""
    c = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        c.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
        c.putheader("Host", host or "127.0.0.1:%d" % server.port)
        for k, v in headers.items():
            c.putheader(k, v)
        if body or method in ("PUT", "POST"):
            c.putheader("Content-Length", str(len(body)))
        c.endheaders(body)
        r = c.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        c.close()


def signed(server, method, path, query="", headers=None, body=b"", secret=hf.SECRET_KEY,
           access_key=hf.ACCESS_KEY, bucket=None, host=None):
    """A V2 header-signed request (bucket: virtual-hosted, named by host)."""
    headers = dict(headers or {})
    if "Date" not in headers and "x-amz-date" not in headers:
        headers["Date"] = now_http()
    sts = string_to_sign(method, path, query, headers, bucket=bucket)
    headers["Authorization"] = "AWS %s:%s" % (access_key, sign(sts, secret))
    return raw(server, method, path + ("?" + query if query else ""), headers, body, host=host)


def presigned_target(method, path, expires, query="", secret=hf.SECRET_KEY, access_key=hf.ACCESS_KEY):
    sts = string_to_sign(method, path, query, {}, expires=str(expires))
    q = (query + "&" if query else "") + urllib.parse.urlencode(
        {"AWSAccessKeyId": access_key, "Expires": str(expires), "Signature": sign(sts, secret)})
    return path + "?" + q


def error_code(body):
    m = re.search(rb"<Code>([^<]*)</Code>", body)
    return m.group(1).decode() if m else None


def element(body, name):
    m = re.search(rb"<%s>([^<]*)</%s>" % (name.encode(), name.encode()), body)
    return html.unescape(m.group(1).decode()) if m else None


# ---- Debian's boto3 defaults: presigned URLs and POST forms are V2 ----


class DebianDefaults(hf.S3Case):
    def test_default_presigned_urls_are_v2_and_work(self):
        b = self.bucket(versioning="Enabled")
        v1 = self.s3.put_object(Bucket=b, Key="report 1+1.txt", Body=b"first")["VersionId"]
        self.s3.put_object(Bucket=b, Key="report 1+1.txt", Body=b"second")
        c = debian_default_client(hf.SHARED)
        url = c.generate_presigned_url("get_object", Params={"Bucket": b, "Key": "report 1+1.txt"})
        q = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)
        self.assertEqual(sorted(q), ["AWSAccessKeyId", "Expires", "Signature"], url)
        self.assertEqual(hf.http(url)[2], b"second")
        # Sub-resources and response overrides are signed, decoded.
        url = c.generate_presigned_url("get_object", Params={
            "Bucket": b, "Key": "report 1+1.txt", "VersionId": v1,
            "ResponseContentType": "text/plain; charset=utf-8",
            "ResponseContentDisposition": 'attachment; filename="r.txt"'})
        st, h, body = hf.http(url)
        self.assertEqual((st, body), (200, b"first"))
        self.assertEqual(h["Content-Type"], "text/plain; charset=utf-8")
        self.assertEqual(h["Content-Disposition"], 'attachment; filename="r.txt"')
        # Changing a signed sub-resource breaks the signature.
        st, _, body = hf.http(url.replace("versionId=", "versionId=0"))
        self.assertEqual((st, error_code(body)), (403, "SignatureDoesNotMatch"))
        # HEAD and DELETE by presigned URL.
        url = c.generate_presigned_url("head_object", Params={"Bucket": b, "Key": "report 1+1.txt"})
        self.assertEqual(hf.http(url, "HEAD")[0], 200)
        url = c.generate_presigned_url("delete_object", Params={"Bucket": b, "Key": "report 1+1.txt",
                                                                 "VersionId": v1})
        self.assertEqual(hf.http(url, "DELETE")[0], 204)
        self.assertError("NoSuchVersion", 404, self.s3.get_object, Bucket=b, Key="report 1+1.txt", VersionId=v1)

    def test_default_presigned_put(self):
        b = self.bucket()
        c = debian_default_client(hf.SHARED)
        url = c.generate_presigned_url("put_object", Params={"Bucket": b, "Key": "up.txt",
                                                             "ContentType": "text/plain",
                                                             "Metadata": {"origin": "browser"}})
        # botocore signed Content-Type (and moved it and x-amz-meta-origin
        # into the query): the uploader sends the Content-Type it promised.
        st, _, body = hf.http(url, "PUT", b"uploaded", {"Content-Type": "text/plain"})
        self.assertEqual(st, 200, body)
        o = self.s3.get_object(Bucket=b, Key="up.txt")
        self.assertEqual((o["Body"].read(), o["ContentType"]), (b"uploaded", "text/plain"))
        st, _, body = hf.http(url, "PUT", b"other", {"Content-Type": "text/html"})
        self.assertEqual((st, error_code(body)), (403, "SignatureDoesNotMatch"))
        # The x-amz-meta-* parameter is signed as a header: changing it fails.
        st, _, body = hf.http(url.replace("x-amz-meta-origin=browser", "x-amz-meta-origin=evil"), "PUT",
                              b"x", {"Content-Type": "text/plain"})
        self.assertEqual((st, error_code(body)), (403, "SignatureDoesNotMatch"))

    def test_presigned_expiry_and_refusals(self):
        b = self.bucket()
        self.s3.put_object(Bucket=b, Key="k", Body=b"x")
        path = "/%s/k" % b
        # Expired: AccessDenied "Request has expired" (not skew-limited: an
        # URL valid for a year works).
        st, _, body = raw(hf.SHARED, "GET", presigned_target("GET", path, int(time.time()) - 1), {})
        self.assertEqual((st, error_code(body), element(body, "Message")), (403, "AccessDenied", "Request has expired"))
        st, _, body = raw(hf.SHARED, "GET", presigned_target("GET", path, int(time.time()) + 365 * 86400), {})
        self.assertEqual((st, body), (200, b"x"))
        # Missing or malformed parameters: S3's messages.
        good = presigned_target("GET", path, int(time.time()) + 60)
        for drop in ("Expires", "Signature", "AWSAccessKeyId"):
            target = re.sub(r"&?%s=[^&]*" % drop, "", good)
            st, _, body = raw(hf.SHARED, "GET", target, {})
            self.assertEqual((st, error_code(body)), (403, "AccessDenied"), drop)
            self.assertEqual(element(body, "Message"), "Query-string authentication requires the Signature, "
                                                       "Expires and AWSAccessKeyId parameters")
        st, _, body = raw(hf.SHARED, "GET", re.sub(r"Expires=\d+", "Expires=tomorrow", good), {})
        self.assertEqual((st, error_code(body)), (403, "AccessDenied"))
        self.assertIn("Invalid date (should be seconds since epoch): tomorrow", element(body, "Message"))
        # Unknown key, wrong secret, tampered path.
        st, _, body = raw(hf.SHARED, "GET", presigned_target("GET", path, int(time.time()) + 60,
                                                             access_key="AKIANOSUCHKEY0000000"), {})
        self.assertEqual((st, error_code(body)), (403, "InvalidAccessKeyId"))
        st, _, body = raw(hf.SHARED, "GET", presigned_target("GET", path, int(time.time()) + 60,
                                                             secret="wrong" * 8), {})
        self.assertEqual((st, error_code(body)), (403, "SignatureDoesNotMatch"))
        st, _, body = raw(hf.SHARED, "GET", good.replace("/k?", "/j?"), {})
        self.assertEqual((st, error_code(body)), (403, "SignatureDoesNotMatch"))
        # A V4 parameter makes it a (malformed) V4 request.
        st, _, body = raw(hf.SHARED, "GET", good + "&X-Amz-Signature=00", {})
        self.assertEqual((st, error_code(body)), (400, "AuthorizationQueryParametersError"))

    def test_default_presigned_post_form_is_v2(self):
        b = self.bucket()
        c = debian_default_client(hf.SHARED)
        f = c.generate_presigned_post(b, "forms/${filename}",
                                      Conditions=[["content-length-range", 1, 1000]])
        self.assertEqual(sorted(f["fields"]), ["AWSAccessKeyId", "key", "policy", "signature"])
        st, _, body = post(f["url"], f["fields"], b"form bytes", filename="note.txt")
        self.assertEqual(st, 204, body)
        self.assertEqual(self.body(b, "forms/note.txt"), b"form bytes")
        # The policy still rules: too large.
        st, _, body = post(f["url"], f["fields"], b"x" * 1001)
        self.assertEqual((st, error_code(body)), (400, "EntityTooLarge"))
        # A signature over another policy, an unknown key, a missing field.
        other = c.generate_presigned_post(b, "elsewhere/${filename}")
        fields = dict(f["fields"], signature=other["fields"]["signature"])
        st, _, body = post(f["url"], fields)
        self.assertEqual((st, error_code(body)), (403, "SignatureDoesNotMatch"))
        fields = dict(f["fields"], AWSAccessKeyId="AKIANOSUCHKEY0000000")
        st, _, body = post(f["url"], fields)
        self.assertEqual((st, error_code(body)), (403, "InvalidAccessKeyId"))
        fields = {k: v for k, v in f["fields"].items() if k != "signature"}
        st, _, body = post(f["url"], fields)
        self.assertEqual((st, error_code(body)), (400, "InvalidArgument"))
        self.assertIn("'signature'", element(body, "Message"))
        # An expired V2 policy.
        old = c.generate_presigned_post(b, "late/${filename}", ExpiresIn=-10)
        st, _, body = post(old["url"], old["fields"])
        self.assertEqual((st, error_code(body)), (403, "AccessDenied"))
        self.assertError("NoSuchKey", 404, self.s3.get_object, Bucket=b, Key="late/photo.jpg")


# ---- everyday calls signed with signature_version='s3' ----


class HeaderSigned(hf.S3Case):
    def test_path_style_object_calls(self):
        c = v2_client(hf.SHARED)
        b = "v2-path-%d" % (os.getpid() % 10000)
        c.create_bucket(Bucket=b)
        self.addCleanup(self.purge, b)
        c.put_object(Bucket=b, Key="dir/a b+c.txt", Body=b"payload", ContentType="text/plain",
                     Metadata={"who": "v2"}, ACL="private")
        h = c.head_object(Bucket=b, Key="dir/a b+c.txt")
        self.assertEqual((h["ContentLength"], h["Metadata"]), (7, {"who": "v2"}))
        self.assertEqual(c.get_object(Bucket=b, Key="dir/a b+c.txt", Range="bytes=1-3")["Body"].read(), b"ayl")
        c.copy_object(Bucket=b, Key="copy", CopySource={"Bucket": b, "Key": "dir/a b+c.txt"},
                      MetadataDirective="REPLACE", Metadata={"who": "copy"})
        self.assertEqual(self.s3.head_object(Bucket=b, Key="copy")["Metadata"], {"who": "copy"})
        self.assertEqual(sorted(o["Key"] for o in c.list_objects(Bucket=b)["Contents"]), ["copy", "dir/a b+c.txt"])
        self.assertIn(b, [x["Name"] for x in c.list_buckets()["Buckets"]])
        # Content-MD5 is signed and checked.
        body = b"checked"
        md5 = base64.b64encode(hashlib.md5(body).digest()).decode()
        c.put_object(Bucket=b, Key="md5", Body=body, ContentMD5=md5)
        st, _, out = signed(hf.SHARED, "PUT", "/%s/md5" % b, headers={"Content-MD5": md5}, body=b"tampered")
        self.assertEqual((st, error_code(out)), (400, "BadDigest"))
        c.delete_object(Bucket=b, Key="copy")
        self.assertError("NoSuchKey", 404, self.s3.get_object, Bucket=b, Key="copy")

    def test_debian_botocore_sub_resource_paths_are_refused_as_s3_refuses_them(self):
        # What a user of Debian's botocore 1.29 hits with signature_version
        # 's3' and a sub-resource in the operation's URI, against S3 as
        # here: the doubled sub-resource does not match.
        b = self.bucket()
        self.s3.put_object(Bucket=b, Key="k", Body=b"x")
        c = v2_client(hf.SHARED)
        e = self.assertError("SignatureDoesNotMatch", 403, c.put_object_tagging, Bucket=b, Key="k",
                             Tagging={"TagSet": [{"Key": "a", "Value": "b"}]})
        self.assertTrue(e.response["Error"]["StringToSign"].endswith("/%s/k?tagging" % b))
        # With the upstream fix the same call goes through.
        v2_client(hf.SHARED, fixed=True).put_object_tagging(
            Bucket=b, Key="k", Tagging={"TagSet": [{"Key": "a", "Value": "b"}]})
        self.assertEqual(self.s3.get_object_tagging(Bucket=b, Key="k")["TagSet"], [{"Key": "a", "Value": "b"}])

    def test_virtual_hosted_sub_resources(self):
        for fixed_client in (v2_client(hf.SHARED, virtual=True, fixed=True),
                             v2_client(hf.SHARED, fixed=True)):
            c = fixed_client
            b = "v2-sub-%d-%d" % (os.getpid() % 10000, int(time.time() * 1000) % 100000)
            c.create_bucket(Bucket=b)
            self.addCleanup(self.purge, b)
            c.put_bucket_versioning(Bucket=b, VersioningConfiguration={"Status": "Enabled"})
            self.assertEqual(c.get_bucket_versioning(Bucket=b)["Status"], "Enabled")
            v = c.put_object(Bucket=b, Key="t/k", Body=b"one")["VersionId"]
            c.put_object(Bucket=b, Key="t/k", Body=b"two")
            self.assertEqual(c.get_object(Bucket=b, Key="t/k", VersionId=v)["Body"].read(), b"one")
            c.put_object_tagging(Bucket=b, Key="t/k", Tagging={"TagSet": [{"Key": "a", "Value": "b"}]})
            self.assertEqual(c.get_object_tagging(Bucket=b, Key="t/k")["TagSet"], [{"Key": "a", "Value": "b"}])
            c.delete_object_tagging(Bucket=b, Key="t/k")
            self.assertEqual(c.get_bucket_acl(Bucket=b)["Owner"]["DisplayName"], "root")
            self.assertEqual(c.get_object_acl(Bucket=b, Key="t/k", VersionId=v)["Owner"]["DisplayName"], "root")
            self.assertEqual(c.list_objects_v2(Bucket=b, Prefix="t/")["KeyCount"], 1)
            self.assertEqual(len(c.list_object_versions(Bucket=b)["Versions"]), 2)
            # Multipart: ?uploads, ?partNumber&uploadId, ?uploadId.
            part = os.urandom(5 * 1024 * 1024)
            m = c.create_multipart_upload(Bucket=b, Key="mp")
            p1 = c.upload_part(Bucket=b, Key="mp", UploadId=m["UploadId"], PartNumber=1, Body=part)
            p2 = c.upload_part_copy(Bucket=b, Key="mp", UploadId=m["UploadId"], PartNumber=2,
                                    CopySource={"Bucket": b, "Key": "t/k", "VersionId": v})
            self.assertEqual(len(c.list_parts(Bucket=b, Key="mp", UploadId=m["UploadId"])["Parts"]), 2)
            self.assertEqual(len(c.list_multipart_uploads(Bucket=b)["Uploads"]), 1)
            c.complete_multipart_upload(Bucket=b, Key="mp", UploadId=m["UploadId"], MultipartUpload={"Parts": [
                {"ETag": p1["ETag"], "PartNumber": 1}, {"ETag": p2["CopyPartResult"]["ETag"], "PartNumber": 2}]})
            self.assertEqual(c.get_object(Bucket=b, Key="mp")["Body"].read(), part + b"one")
            m = c.create_multipart_upload(Bucket=b, Key="gone")
            c.abort_multipart_upload(Bucket=b, Key="gone", UploadId=m["UploadId"])
            # ?delete
            r = c.delete_objects(Bucket=b, Delete={"Objects": [{"Key": "mp"}, {"Key": "t/k", "VersionId": v}]})
            self.assertEqual(len(r["Deleted"]), 2)
            # ?policy, ?cors, ?lifecycle, ?location.
            c.put_bucket_cors(Bucket=b, CORSConfiguration={"CORSRules": [{"AllowedMethods": ["GET"],
                                                                            "AllowedOrigins": ["*"]}]})
            self.assertEqual(len(c.get_bucket_cors(Bucket=b)["CORSRules"]), 1)
            self.assertIn("LocationConstraint", c.get_bucket_location(Bucket=b))


# ---- requests signed here: every refusal as S3 gives it ----


class Refusals(hf.S3Case):
    def test_signature_does_not_match_document(self):
        b = self.bucket()
        self.s3.put_object(Bucket=b, Key="k", Body=b"x")
        headers = {"Date": now_http(), "x-amz-meta-z": " spaced ", "Content-Type": "text/plain"}
        sts = string_to_sign("GET", "/%s/k" % b, "acl", headers)
        st, _, body = signed(hf.SHARED, "GET", "/%s/k" % b, "acl", headers)
        self.assertEqual(st, 200, body)
        headers["Authorization"] = "AWS %s:%s" % (hf.ACCESS_KEY, sign(sts + "x"))
        st, _, body = raw(hf.SHARED, "GET", "/%s/k?acl" % b, headers)
        self.assertEqual((st, error_code(body)), (403, "SignatureDoesNotMatch"))
        # What S3 puts in the document for V2.
        self.assertEqual(element(body, "AWSAccessKeyId"), hf.ACCESS_KEY)
        self.assertEqual(element(body, "StringToSign"), sts)
        self.assertEqual(element(body, "SignatureProvided"), sign(sts + "x"))
        self.assertEqual(element(body, "StringToSignBytes"), " ".join("%02x" % c for c in sts.encode()))
        self.assertIsNone(element(body, "CanonicalRequest"))

    def test_bad_requests(self):
        b = self.bucket()
        path = "/%s/k" % b
        self.s3.put_object(Bucket=b, Key="k", Body=b"x")
        self.assertEqual(signed(hf.SHARED, "GET", path)[0], 200)
        cases = [
            # (what, headers to send as they are, status, code)
            ("malformed", {"Date": now_http(), "Authorization": "AWS HAHAHA"}, 400, "InvalidArgument"),
            ("empty signature", {"Date": now_http(), "Authorization": "AWS %s:" % hf.ACCESS_KEY}, 400, "InvalidArgument"),
            ("no date", {"Authorization": "AWS %s:%s" % (hf.ACCESS_KEY, sign("x"))}, 403, "AccessDenied"),
        ]
        for what, headers, status, code in cases:
            st, _, body = raw(hf.SHARED, "GET", path, headers)
            self.assertEqual((st, error_code(body)), (status, code), what)
        st, _, body = raw(hf.SHARED, "GET", path, {"Date": now_http(), "Authorization": "AWS HAHAHA"})
        self.assertEqual(element(body, "Message"),
                         "AWS authorization header is invalid.  Expected AwsAccessKeyId:signature")
        st, _, body = raw(hf.SHARED, "GET", path, {"Authorization": "AWS %s:%s" % (hf.ACCESS_KEY, sign("x"))})
        self.assertEqual(element(body, "Message"), "AWS authentication requires a valid Date or x-amz-date header")
        # Signed correctly, but: skewed dates, a bad x-amz-date next to a
        # good Date, a date before 1970, an unknown key, another secret.
        for what, headers, status, code in [
                ("skewed", {"Date": now_http(-16 * 60)}, 403, "RequestTimeTooSkewed"),
                ("future", {"Date": now_http(16 * 60)}, 403, "RequestTimeTooSkewed"),
                ("x-amz-date skewed", {"Date": now_http(), "x-amz-date": now_http(3600)}, 403, "RequestTimeTooSkewed"),
                ("bad x-amz-date", {"Date": now_http(), "x-amz-date": "Bad Date"}, 403, "AccessDenied"),
                ("1950", {"x-amz-date": "Tue, 07 Jul 1950 21:53:04 GMT"}, 403, "AccessDenied")]:
            st, _, body = signed(hf.SHARED, "GET", path, headers=headers)
            self.assertEqual((st, error_code(body)), (status, code), what)
        st, _, body = signed(hf.SHARED, "GET", path, access_key="AKIANOSUCHKEY0000000")
        self.assertEqual((st, error_code(body)), (403, "InvalidAccessKeyId"))
        st, _, body = signed(hf.SHARED, "GET", path, secret="another secret entirely 000000000")
        self.assertEqual((st, error_code(body)), (403, "SignatureDoesNotMatch"))
        # s3cmd's date form (numeric zone, x-amz-date only) is fine.
        st, _, body = signed(hf.SHARED, "GET", path, headers={
            "x-amz-date": time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime())})
        self.assertEqual((st, body), (200, b"x"))

    def test_aws_chunked_needs_v4(self):
        b = self.bucket()
        st, _, body = signed(hf.SHARED, "PUT", "/%s/k" % b, headers={
            "x-amz-content-sha256": "STREAMING-UNSIGNED-PAYLOAD-TRAILER", "Content-Encoding": "aws-chunked",
            "x-amz-decoded-content-length": "1"}, body=b"1\r\nx\r\n0\r\n\r\n")
        self.assertEqual((st, error_code(body)), (400, "InvalidRequest"), body)
        # A digest is verified, as with V4.
        st, _, body = signed(hf.SHARED, "PUT", "/%s/k" % b, headers={
            "x-amz-content-sha256": hashlib.sha256(b"other").hexdigest()}, body=b"body")
        self.assertEqual((st, error_code(body)), (400, "XAmzContentSHA256Mismatch"), body)
        st, _, body = signed(hf.SHARED, "PUT", "/%s/k" % b, headers={
            "x-amz-content-sha256": hashlib.sha256(b"body").hexdigest()}, body=b"body")
        self.assertEqual(st, 200, body)


# ---- after authentication a V2 caller is who it says, as with V4 ----


class SameAccessRules(hf.S3Case):
    def test_acls_and_policies_see_the_v2_caller(self):
        b = self.bucket()
        self.s3.put_object(Bucket=b, Key="k", Body=b"secret")
        rc, out, err = hf.admin(hf.SHARED, "user", "create", "v2reader-%d" % os.getpid())
        self.assertEqual(rc, 0, err)
        keys = dict(l.split(":", 1) for l in out.strip().splitlines() if ":" in l)
        ak, sk = keys["access key"].strip(), keys["secret key"].strip()
        other = v2_client(hf.SHARED, access_key=ak, secret_key=sk)
        self.assertError("AccessDenied", 403, other.get_object, Bucket=b, Key="k")
        self.assertError("AccessDenied", 403, other.put_object, Bucket=b, Key="x", Body=b"x")
        rc, out, _ = hf.admin(hf.SHARED, "user", "show", "v2reader-%d" % os.getpid())
        arn = re.search(r"arn:aws:iam::\d+:user/\S+", out).group(0)
        import json
        policy = {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": arn}, "Action": "s3:GetObject",
             "Resource": "arn:aws:s3:::%s/*" % b}]}
        self.s3.put_bucket_policy(Bucket=b, Policy=json.dumps(policy))
        self.assertEqual(other.get_object(Bucket=b, Key="k")["Body"].read(), b"secret")
        # s3:signatureversion is "AWS" for V2: a policy can refuse it.
        policy["Statement"].append({"Effect": "Deny", "Principal": "*", "Action": "s3:*",
                                    "Resource": ["arn:aws:s3:::%s" % b, "arn:aws:s3:::%s/*" % b],
                                    "Condition": {"StringEquals": {"s3:signatureversion": "AWS"}}})
        self.s3.put_bucket_policy(Bucket=b, Policy=json.dumps(policy))
        self.assertError("AccessDenied", 403, other.get_object, Bucket=b, Key="k")
        self.assertError("AccessDenied", 403, v2_client(hf.SHARED).get_object, Bucket=b, Key="k")
        v4 = hf.boto3_client(hf.SHARED, access_key=ak, secret_key=sk)
        self.assertEqual(v4.get_object(Bucket=b, Key="k")["Body"].read(), b"secret")
        # ... and s3:authType REST-QUERY-STRING for a presigned V2 URL.
        policy["Statement"][1]["Condition"] = {"StringEquals": {"s3:authType": "REST-QUERY-STRING"}}
        self.s3.put_bucket_policy(Bucket=b, Policy=json.dumps(policy))
        url = debian_default_client(hf.SHARED).generate_presigned_url("get_object", Params={"Bucket": b, "Key": "k"})
        st, _, body = hf.http(url)
        self.assertEqual((st, error_code(body)), (403, "AccessDenied"))
        self.assertEqual(v2_client(hf.SHARED).get_object(Bucket=b, Key="k")["Body"].read(), b"secret")


# ---- --sigv2 off ----


class SigV2Off(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = hf.Server(env={"HOLDFAST_SIGV2": "off"}).start()

    @classmethod
    def tearDownClass(cls):
        rc = cls.server.stop()
        cls.server.cleanup()
        assert rc == 0, rc

    def test_v2_refused_as_s3_refuses_it_where_v4_only(self):
        s = self.server
        self.assertIn("holdfast: Signature Version 2 is refused (--sigv2 off)\n", s.stdout_lines)
        v4 = hf.boto3_client(s)
        v4.create_bucket(Bucket="off")
        v4.put_object(Bucket="off", Key="k", Body=b"x")
        st, _, body = signed(s, "GET", "/off/k")
        self.assertEqual((st, error_code(body), element(body, "Message").encode()), (400, "InvalidRequest", REFUSED))
        url = debian_default_client(s).generate_presigned_url("get_object", Params={"Bucket": "off", "Key": "k"})
        st, _, body = hf.http(url)
        self.assertEqual((st, error_code(body), element(body, "Message").encode()), (400, "InvalidRequest", REFUSED))
        f = debian_default_client(s).generate_presigned_post("off", "form")
        st, _, body = post(f["url"], f["fields"])
        self.assertEqual((st, error_code(body), element(body, "Message").encode()), (400, "InvalidRequest", REFUSED))
        from botocore.exceptions import ClientError
        with self.assertRaises(ClientError) as cm:
            v2_client(s).get_object(Bucket="off", Key="k")
        self.assertEqual(cm.exception.response["Error"]["Code"], "InvalidRequest")
        # SigV4, its presigned URLs and forms are unaffected.
        self.assertEqual(v4.get_object(Bucket="off", Key="k")["Body"].read(), b"x")
        self.assertEqual(hf.http(v4.generate_presigned_url("get_object", Params={"Bucket": "off", "Key": "k"}))[2], b"x")

    def test_flag_values(self):
        p = __import__("subprocess").run([hf.BIN, "server", "--sigv2", "maybe"], capture_output=True, text=True)
        self.assertEqual(p.returncode, 2)
        self.assertIn("--sigv2 must be on or off", p.stderr)


if __name__ == "__main__":
    hf.main(__file__)
