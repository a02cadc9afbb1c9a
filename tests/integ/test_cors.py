#!/usr/bin/python3
"""CORS through boto3 and plain HTTP against a real server: bucket CORS
rules set, read and removed; OPTIONS preflights answered from the rules
(wildcards, methods, requested headers, the first matching rule); and the
Access-Control-* headers on actual requests that carry an Origin."""
import http.client
import os
import sys
import unittest
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hf  # noqa: E402

setUpModule = hf.start_shared
tearDownModule = hf.stop_shared

RULES = {"CORSRules": [
    {"ID": "uploads", "AllowedOrigins": ["https://app.example.com"], "AllowedMethods": ["PUT", "POST"],
     "AllowedHeaders": ["content-type", "x-amz-*"], "ExposeHeaders": ["ETag", "x-amz-version-id"],
     "MaxAgeSeconds": 600},
    {"AllowedOrigins": ["https://*.example.org"], "AllowedMethods": ["GET", "HEAD"]},
    {"AllowedOrigins": ["*"], "AllowedMethods": ["GET"]},
]}


def raw(method, path, headers=None, body=None):
    u = urllib.parse.urlparse(hf.SHARED.endpoint)
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
    c.request(method, path, body=body, headers=headers or {})
    r = c.getresponse()
    data = r.read()
    hdrs = {k.lower(): v for k, v in r.getheaders()}
    c.close()
    return r.status, hdrs, data


class Cors(hf.S3Case):
    def test_configuration_roundtrip_and_validation(self):
        b = self.bucket()
        self.assertError("NoSuchCORSConfiguration", 404, self.s3.get_bucket_cors, Bucket=b)
        self.s3.put_bucket_cors(Bucket=b, CORSConfiguration=RULES)
        got = self.s3.get_bucket_cors(Bucket=b)["CORSRules"]
        self.assertEqual(len(got), 3)
        self.assertEqual(got[0]["ID"], "uploads")
        self.assertEqual(got[0]["AllowedHeaders"], ["content-type", "x-amz-*"])
        self.assertEqual(got[0]["MaxAgeSeconds"], 600)
        self.assertEqual(got[2]["AllowedOrigins"], ["*"])
        for bad in ({"CORSRules": [{"AllowedOrigins": ["*"], "AllowedMethods": ["PATCH"]}]},
                    {"CORSRules": [{"AllowedOrigins": ["https://*.*.x"], "AllowedMethods": ["GET"]}]},
                    {"CORSRules": [{"AllowedOrigins": ["*"], "AllowedMethods": ["GET"]}] * 101}):
            with self.assertRaises(Exception):
                self.s3.put_bucket_cors(Bucket=b, CORSConfiguration=bad)
        self.assertEqual(len(self.s3.get_bucket_cors(Bucket=b)["CORSRules"]), 3)  # unchanged
        self.s3.delete_bucket_cors(Bucket=b)
        self.assertError("NoSuchCORSConfiguration", 404, self.s3.get_bucket_cors, Bucket=b)

    def test_preflight(self):
        b = self.bucket()
        path = "/%s/photo.jpg" % b
        st, h, body = raw("OPTIONS", path, {"Origin": "https://app.example.com",
                                            "Access-Control-Request-Method": "PUT"})
        self.assertEqual(st, 403)
        self.assertIn(b"CORS is not enabled", body)
        self.s3.put_bucket_cors(Bucket=b, CORSConfiguration=RULES)
        st, h, _ = raw("OPTIONS", path, {"Origin": "https://app.example.com",
                                         "Access-Control-Request-Method": "PUT",
                                         "Access-Control-Request-Headers": "Content-Type, X-Amz-Date"})
        self.assertEqual(st, 200)
        self.assertEqual(h["access-control-allow-origin"], "https://app.example.com")
        self.assertEqual(h["access-control-allow-methods"], "PUT, POST")
        self.assertEqual(h["access-control-allow-headers"], "Content-Type, X-Amz-Date")
        self.assertEqual(h["access-control-expose-headers"], "ETag, x-amz-version-id")
        self.assertEqual(h["access-control-max-age"], "600")
        self.assertEqual(h["access-control-allow-credentials"], "true")
        # a header no rule allows
        st, _, _ = raw("OPTIONS", path, {"Origin": "https://app.example.com",
                                         "Access-Control-Request-Method": "PUT",
                                         "Access-Control-Request-Headers": "x-secret"})
        self.assertEqual(st, 403)
        # a method the origin may not use, and an origin no rule names
        st, _, _ = raw("OPTIONS", path, {"Origin": "https://app.example.com",
                                         "Access-Control-Request-Method": "DELETE"})
        self.assertEqual(st, 403)
        st, h, _ = raw("OPTIONS", path, {"Origin": "https://cdn.example.org",
                                         "Access-Control-Request-Method": "HEAD"})
        self.assertEqual((st, h["access-control-allow-origin"]), (200, "https://cdn.example.org"))
        st, h, _ = raw("OPTIONS", path, {"Origin": "https://evil.test", "Access-Control-Request-Method": "GET"})
        self.assertEqual((st, h["access-control-allow-origin"]), (200, "*"))
        self.assertNotIn("access-control-allow-credentials", h)
        st, _, _ = raw("OPTIONS", path, {"Origin": "https://evil.test", "Access-Control-Request-Method": "PUT"})
        self.assertEqual(st, 403)
        # malformed preflights
        st, _, body = raw("OPTIONS", path, {"Access-Control-Request-Method": "GET"})
        self.assertEqual(st, 400)
        st, _, _ = raw("OPTIONS", path, {"Origin": "https://evil.test"})
        self.assertEqual(st, 400)
        st, _, _ = raw("OPTIONS", "/no-such-bucket-x/k", {"Origin": "https://a", "Access-Control-Request-Method": "GET"})
        self.assertEqual(st, 403)

    def test_actual_requests_carry_the_headers(self):
        b = self.bucket()
        self.s3.put_bucket_cors(Bucket=b, CORSConfiguration=RULES)
        self.s3.put_object(Bucket=b, Key="k", Body=b"hello")
        url = self.s3.generate_presigned_url("get_object", Params={"Bucket": b, "Key": "k"})
        path = url[len(hf.SHARED.endpoint):]
        st, h, body = raw("GET", path, {"Origin": "https://www.example.org"})
        self.assertEqual((st, body), (200, b"hello"))
        self.assertEqual(h["access-control-allow-origin"], "https://www.example.org")
        self.assertIn("origin", h["vary"].lower())
        # a PUT from the upload origin, signed in the browser's place
        put_url = self.s3.generate_presigned_url("put_object", Params={"Bucket": b, "Key": "up"})
        st, h, _ = raw("PUT", put_url[len(hf.SHARED.endpoint):], {"Origin": "https://app.example.com"},
                       body=b"from a browser")
        self.assertEqual(st, 200)
        self.assertEqual(h["access-control-allow-origin"], "https://app.example.com")
        self.assertEqual(h["access-control-expose-headers"], "ETag, x-amz-version-id")
        # an origin no rule allows for this method: served, but without CORS headers
        st, h, _ = raw("PUT", self.s3.generate_presigned_url("put_object", Params={"Bucket": b, "Key": "x"})
                       [len(hf.SHARED.endpoint):], {"Origin": "https://evil.test"}, body=b"x")
        self.assertEqual(st, 200)
        self.assertNotIn("access-control-allow-origin", h)
        # errors carry them too, so a page can read why
        st, h, _ = raw("GET", "/%s/absent" % b, {"Origin": "https://www.example.org"})
        self.assertEqual(st, 403)  # unsigned
        self.assertEqual(h["access-control-allow-origin"], "https://www.example.org")


if __name__ == "__main__":
    hf.main(__file__)
