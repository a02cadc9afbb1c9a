#!/usr/bin/python3
"""Error documents as AWS writes them: each code's extra elements
(BucketName, Key, UploadId, VersionId, ArgumentName/ArgumentValue,
ProposedSize/MaxSizeAllowed, Method/ResourceType, Condition,
RangeRequested/ActualObjectSize, Region...), HostId on every one, and
x-amz-bucket-region on HeadBucket and on wrong-region errors -- and the
clients that depend on them (botocore's region redirector, s3cmd's
bucket_location = US; the s3cmd suite runs the latter end to end).

The expected elements are those captured from AWS (docs/compatibility.md
#error-documents has the list and where each was measured).
"""
import base64
import hashlib
import os
import sys
import unittest
import urllib.parse
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hf  # noqa: E402


def setUpModule():
    hf.start_shared()


def tearDownModule():
    hf.stop_shared()


def doc(body):
    """(element names in order, {name: text}) of an error document."""
    root = ET.fromstring(body)
    assert root.tag == "Error", body
    names = [e.tag for e in root]
    return names, {e.tag: e.text or "" for e in root}


def signed_in(server, method, path, region, query=(), headers=None, body=b""):
    """A request signed for another region (hf.signed_request signs for the
    server's): (status, headers, body)."""
    import http.client
    from botocore.auth import S3SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials
    q = "&".join("%s=%s" % (urllib.parse.quote(k, safe="-_.~"), urllib.parse.quote(v, safe="-_.~"))
                 for k, v in query)
    target = path + ("?" + q if q else "")
    req = AWSRequest(method=method, url=server.endpoint + target, data=body, headers=dict(headers or {}))
    S3SigV4Auth(Credentials(hf.ACCESS_KEY, hf.SECRET_KEY), "s3", region).add_auth(req)
    c = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        c.request(method, target, body=body, headers=dict(req.headers))
        r = c.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        c.close()


class Docs(hf.S3Case):
    def req(self, method, path, query=(), headers=None, body=b""):
        return hf.signed_request(hf.SHARED, method, path, query=query, headers=headers, body=body)

    def err(self, want_status, want_code, method, path, query=(), headers=None, body=b""):
        st, h, b = self.req(method, path, query, headers, body)
        self.assertEqual(st, want_status, b)
        names, e = doc(b)
        self.assertEqual(e["Code"], want_code, b)
        # RequestId and HostId close every document, as S3's do; HostId
        # is x-amz-id-2
        self.assertEqual(names[-2:], ["RequestId", "HostId"], b)
        self.assertEqual(e["RequestId"], h["x-amz-request-id"])
        self.assertEqual(e["HostId"], h["x-amz-id-2"])
        self.assertEqual(names[:2], ["Code", "Message"], b)
        return names, e, h

    def test_bucket_errors_name_the_bucket(self):
        b = self.bucket()
        names, e, h = self.err(404, "NoSuchBucket", "GET", "/no-such-bucket-here/k")
        self.assertEqual(e["BucketName"], "no-such-bucket-here")
        self.assertEqual(names[2], "BucketName")
        self.s3.put_object(Bucket=b, Key="k", Body=b"x")
        _, e, _ = self.err(409, "BucketNotEmpty", "DELETE", "/" + b)
        self.assertEqual(e["BucketName"], b)
        for sub, code in (("policy", "NoSuchBucketPolicy"), ("cors", "NoSuchCORSConfiguration"),
                          ("tagging", "NoSuchTagSet"), ("lifecycle", "NoSuchLifecycleConfiguration"),
                          ("object-lock", "ObjectLockConfigurationNotFoundError")):
            _, e, _ = self.err(404, code, "GET", "/" + b, query=[(sub, "")])
            self.assertEqual(e["BucketName"], b, code)
        # another user's bucket by that name
        other, _ = hf.make_user(hf.SHARED, "docs-other")
        from botocore.exceptions import ClientError
        with self.assertRaises(ClientError) as cm:
            other.create_bucket(Bucket=b)
        self.assertEqual(cm.exception.response["Error"]["Code"], "BucketAlreadyExists")
        self.assertEqual(cm.exception.response["Error"]["BucketName"], b)
        _, e, _ = self.err(400, "InvalidBucketName", "PUT", "/Bad_Bucket")
        self.assertEqual(e["BucketName"], "Bad_Bucket")

    def test_key_version_upload_errors(self):
        b = self.bucket(versioning="Enabled")
        _, e, _ = self.err(404, "NoSuchKey", "GET", "/%s/no%%20such" % b)
        self.assertEqual(e["Key"], "no such")
        v = "0" * 31 + "1"
        names, e, _ = self.err(404, "NoSuchVersion", "GET", "/%s/k" % b, query=[("versionId", v)])
        self.assertEqual((e["Key"], e["VersionId"]), ("k", v))
        self.assertLess(names.index("Key"), names.index("VersionId"))
        up = "f" * 32
        _, e, _ = self.err(404, "NoSuchUpload", "PUT", "/%s/k" % b,
                           query=[("partNumber", "1"), ("uploadId", up)], body=b"x")
        self.assertEqual(e["UploadId"], up)
        # malformed arguments name the argument and echo its value
        _, e, _ = self.err(400, "InvalidArgument", "GET", "/%s/k" % b, query=[("versionId", "nope")])
        self.assertEqual((e["ArgumentName"], e["ArgumentValue"], e["Message"]),
                         ("versionId", "nope", "Invalid version id specified"))
        _, e, _ = self.err(400, "InvalidArgument", "GET", "/%s/k" % b, query=[("versionId", "")])
        self.assertEqual((e["ArgumentName"], e["ArgumentValue"], e["Message"]),
                         ("versionId", "", "Version id cannot be the empty string"))
        _, e, _ = self.err(400, "InvalidArgument", "GET", "/" + b, query=[("max-keys", "abc")])
        self.assertEqual((e["ArgumentName"], e["ArgumentValue"]), ("max-keys", "abc"))
        _, e, _ = self.err(400, "InvalidArgument", "GET", "/" + b, query=[("encoding-type", "zip")])
        self.assertEqual((e["ArgumentName"], e["ArgumentValue"]), ("encoding-type", "zip"))
        _, e, _ = self.err(400, "InvalidArgument", "PUT", "/%s/k" % b, headers={"x-amz-acl": "wide-open"},
                           body=b"x")
        self.assertEqual((e["ArgumentName"], e["ArgumentValue"]), ("x-amz-acl", "wide-open"))
        # a value that is not UTF-8 is echoed %-encoded: the document parses
        _, e, _ = self.err(400, "InvalidArgument", "GET", "/" + b, query=[("max-keys", b"\xff1")])
        self.assertEqual(e["ArgumentValue"], "%FF1")

    def test_multipart_errors(self):
        b = self.bucket()
        up = self.s3.create_multipart_upload(Bucket=b, Key="m")["UploadId"]
        e1 = self.s3.upload_part(Bucket=b, Key="m", UploadId=up, PartNumber=1, Body=b"a" * 100)["ETag"]
        e2 = self.s3.upload_part(Bucket=b, Key="m", UploadId=up, PartNumber=2, Body=b"b" * 100)["ETag"]

        def check(parts, code):
            st, _, body = self.req("POST", "/%s/m" % b, query=[("uploadId", up)], body=(
                "<CompleteMultipartUpload>%s</CompleteMultipartUpload>" % "".join(
                    "<Part><PartNumber>%d</PartNumber><ETag>%s</ETag></Part>" % p for p in parts)).encode())
            self.assertEqual(st, 400, body)
            names, e = doc(body)
            self.assertEqual(e["Code"], code, body)
            return names, e
        names, e = check([(1, e1), (2, e2)], "EntityTooSmall")
        self.assertEqual([n for n in names if n in ("ProposedSize", "MinSizeAllowed", "PartNumber", "ETag")],
                         ["ProposedSize", "MinSizeAllowed", "PartNumber", "ETag"])
        self.assertEqual((e["ProposedSize"], e["MinSizeAllowed"], e["PartNumber"], e["ETag"]),
                         ("100", str(5 << 20), "1", e1.strip('"')))
        names, e = check([(1, e1), (3, e2)], "InvalidPart")
        self.assertEqual((e["UploadId"], e["PartNumber"], e["ETag"]), (up, "3", e2))
        names, e = check([(2, e2), (1, e1)], "InvalidPartOrder")
        self.assertEqual((e["UploadId"], e["PartNumber"]), (up, "1"))

    def test_size_errors(self):
        b = self.bucket()
        # declared, refused before a byte of the body is read
        st, _, body = self.req("PUT", "/%s/huge" % b, headers={"Content-Length": str((5 << 30) + 1)})
        names, e = doc(body)
        self.assertEqual((st, e["Code"]), (400, "EntityTooLarge"), body)
        self.assertEqual((e["ProposedSize"], e["MaxSizeAllowed"]), (str((5 << 30) + 1), str(5 << 30)))
        _, e, _ = self.err(400, "KeyTooLongError", "PUT", "/%s/%s" % (b, "k" * 1025), body=b"x")
        self.assertEqual((e["Size"], e["MaxSizeAllowed"]), ("1025", "1024"))
        _, e, _ = self.err(400, "MetadataTooLarge", "PUT", "/%s/meta" % b,
                           headers={"x-amz-meta-big": "v" * 2100}, body=b"x")
        self.assertEqual((e["Size"], e["MaxSizeAllowed"]), (str(3 + 2100), "2048"))

    def test_range_and_conditions(self):
        b = self.bucket()
        etag = self.s3.put_object(Bucket=b, Key="r", Body=b"0123456789")["ETag"]
        st, h, body = self.req("GET", "/%s/r" % b, headers={"Range": "bytes=20-30"})
        names, e = doc(body)
        self.assertEqual((st, e["Code"]), (416, "InvalidRange"))
        self.assertEqual((e["RangeRequested"], e["ActualObjectSize"]), ("bytes=20-30", "10"))
        _, e, _ = self.err(412, "PreconditionFailed", "GET", "/%s/r" % b, headers={"If-Match": '"0000"'})
        self.assertEqual(e["Condition"], "If-Match")
        _, e, _ = self.err(412, "PreconditionFailed", "GET", "/%s/r" % b,
                           headers={"If-Unmodified-Since": "Mon, 01 Jan 2001 00:00:00 GMT"})
        self.assertEqual(e["Condition"], "If-Unmodified-Since")
        _, e, _ = self.err(412, "PreconditionFailed", "PUT", "/%s/r" % b, headers={"If-None-Match": "*"},
                           body=b"x")
        self.assertEqual(e["Condition"], "If-None-Match")
        _, e, _ = self.err(412, "PreconditionFailed", "PUT", "/%s/copy" % b,
                           headers={"x-amz-copy-source": "/%s/r" % b,
                                    "x-amz-copy-source-if-match": '"1111"'})
        self.assertEqual(e["Condition"], "x-amz-copy-source-If-Match")
        self.assertNotEqual(etag, '"1111"')

    def test_method_not_allowed(self):
        _, e, h = self.err(405, "MethodNotAllowed", "POST", "/")
        self.assertEqual((e["Method"], e["ResourceType"], h.get("allow")), ("POST", "SERVICE", "GET"))
        b = self.bucket(versioning="Enabled")
        self.s3.put_object(Bucket=b, Key="d", Body=b"x")
        marker = self.s3.delete_object(Bucket=b, Key="d")["VersionId"]
        _, e, h = self.err(405, "MethodNotAllowed", "GET", "/%s/d" % b, query=[("versionId", marker)])
        self.assertEqual((e["Method"], e["ResourceType"], h.get("allow")), ("GET", "DeleteMarker", "DELETE"))
        _, e, _ = self.err(405, "MethodNotAllowed", "GET", "/%s/d" % b,
                           query=[("tagging", ""), ("versionId", marker)])
        self.assertEqual(e["ResourceType"], "DeleteMarker")

    def test_tags_and_storage_class(self):
        b = self.bucket()
        self.s3.put_object(Bucket=b, Key="t", Body=b"x")
        body = ("<Tagging><TagSet><Tag><Key>good</Key><Value>ok</Value></Tag>"
                "<Tag><Key>k</Key><Value>bad&amp;value</Value></Tag></TagSet></Tagging>").encode()
        md5 = base64.b64encode(hashlib.md5(body).digest()).decode()
        _, e, _ = self.err(400, "InvalidTag", "PUT", "/%s/t" % b, query=[("tagging", "")],
                           headers={"Content-MD5": md5}, body=body)
        self.assertEqual((e["TagKey"], e["TagValue"]), ("k", "bad&value"))
        _, e, _ = self.err(400, "InvalidStorageClass", "PUT", "/%s/sc" % b,
                           headers={"x-amz-storage-class": "PLATINUM"}, body=b"x")
        self.assertEqual(e["StorageClassRequested"], "PLATINUM")
        _, e, _ = self.err(501, "NotImplemented", "PUT", "/%s/sse" % b,
                           headers={"x-amz-website-redirect-location": "/x"}, body=b"x")
        self.assertEqual(e["Header"], "x-amz-website-redirect-location")

    def test_auth_errors(self):
        c = hf.boto3_client(hf.SHARED, access_key="AKNOSUCHKEY000000000")
        from botocore.exceptions import ClientError
        with self.assertRaises(ClientError) as cm:
            c.list_buckets()
        self.assertEqual(cm.exception.response["Error"]["AWSAccessKeyId"], "AKNOSUCHKEY000000000")
        c = hf.boto3_client(hf.SHARED, secret_key="wrongsecret000000000000000000000000000ab")
        with self.assertRaises(ClientError) as cm:
            c.list_buckets()
        err = cm.exception.response["Error"]
        self.assertEqual(err["Code"], "SignatureDoesNotMatch")
        self.assertEqual(len(err["SignatureProvided"]), 64)
        self.assertIn("AWS4-HMAC-SHA256", err["StringToSign"])
        self.assertEqual(err["CanonicalRequest"].split("\n")[:2], ["GET", "/"], err)


class Regions(hf.S3Case):
    """The region to sign for, where S3 puts it."""

    def test_wrong_region_names_the_right_one(self):
        b = self.bucket()
        for region in ("US", "eu-west-1"):
            st, h, body = signed_in(hf.SHARED, "GET", "/" + b, region)
            names, e = doc(body)
            self.assertEqual((st, e["Code"]), (400, "AuthorizationHeaderMalformed"), body)
            self.assertEqual(e["Region"], hf.REGION)
            self.assertEqual(names[2], "Region")
            self.assertIn("the region '%s' is wrong; expecting '%s'" % (region, hf.REGION), e["Message"])
            self.assertEqual(h.get("x-amz-bucket-region"), hf.REGION)
        # HEAD has no body: the header is what says where to go
        st, h, _ = signed_in(hf.SHARED, "HEAD", "/" + b, "eu-west-1")
        self.assertEqual((st, h.get("x-amz-bucket-region")), (400, hf.REGION))
        # a presigned URL for the wrong region
        import boto3
        from botocore.config import Config
        w = boto3.client("s3", endpoint_url=hf.SHARED.endpoint, aws_access_key_id=hf.ACCESS_KEY,
                         aws_secret_access_key=hf.SECRET_KEY, region_name="eu-west-1",
                         config=Config(s3={"addressing_style": "path"}, signature_version="s3v4"))
        url = w.generate_presigned_url("get_object", Params={"Bucket": b, "Key": "k"}, ExpiresIn=60)
        st, h, body = hf.http(url)
        names, e = doc(body)
        self.assertEqual((st, e["Code"], e["Region"]), (400, "AuthorizationQueryParametersError", hf.REGION))

    def test_botocore_follows_the_region(self):
        """A boto3 client set up for another region works: botocore's
        redirector reads <Region> (or x-amz-bucket-region on HEAD) and
        retries there, as it does against AWS."""
        import boto3
        from botocore.config import Config
        b = self.bucket()
        w = boto3.client("s3", endpoint_url=hf.SHARED.endpoint, aws_access_key_id=hf.ACCESS_KEY,
                         aws_secret_access_key=hf.SECRET_KEY, region_name="eu-west-1",
                         config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}))
        w.put_object(Bucket=b, Key="k", Body=b"hello")
        self.assertEqual(w.get_object(Bucket=b, Key="k")["Body"].read(), b"hello")
        w2 = boto3.client("s3", endpoint_url=hf.SHARED.endpoint, aws_access_key_id=hf.ACCESS_KEY,
                          aws_secret_access_key=hf.SECRET_KEY, region_name="ap-south-1",
                          config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}))
        h = w2.head_bucket(Bucket=b)
        self.assertEqual(h["ResponseMetadata"]["HTTPHeaders"]["x-amz-bucket-region"], hf.REGION)

    def test_head_bucket_region(self):
        b = self.bucket()
        st, h, _ = self.req_head("/" + b)
        self.assertEqual((st, h.get("x-amz-bucket-region")), (200, hf.REGION))
        # an existing bucket the caller may not see: 403, region told
        other, _ = hf.make_user(hf.SHARED, "regions-other")
        from botocore.exceptions import ClientError
        with self.assertRaises(ClientError) as cm:
            other.head_bucket(Bucket=b)
        r = cm.exception.response["ResponseMetadata"]
        self.assertEqual((r["HTTPStatusCode"], r["HTTPHeaders"].get("x-amz-bucket-region")), (403, hf.REGION))
        st, h, _ = hf.http(hf.SHARED.endpoint + "/" + b, method="HEAD")
        self.assertEqual((st, h.get("x-amz-bucket-region")), (403, hf.REGION))
        # no such bucket: no region to tell
        st, h, _ = self.req_head("/no-such-bucket-here")
        self.assertEqual(st, 404)
        self.assertNotIn("x-amz-bucket-region", h)
        # other operations do not carry it
        st, h, _ = hf.signed_request(hf.SHARED, "GET", "/" + b)
        self.assertEqual(st, 200)
        self.assertNotIn("x-amz-bucket-region", h)

    def req_head(self, path):
        return hf.signed_request(hf.SHARED, "HEAD", path)


if __name__ == "__main__":
    hf.main(__file__)
