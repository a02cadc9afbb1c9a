#!/usr/bin/python3
"""Browser uploads (POST Object with an HTML form) against a real server:
forms signed with boto3's generate_presigned_post and posted as a browser
does (multipart/form-data over plain HTTP), the policy's conditions and
expiry, the answers S3 gives (204 / 200 / 201 document / 303 redirect), the
form fields that become the object's headers, anonymous forms, and every
refusal: each allowed upload has a neighbour that is refused."""
import hashlib
import os
import sys
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hf  # noqa: E402

setUpModule = hf.start_shared
tearDownModule = hf.stop_shared


def multipart(fields, file_data, filename="photo.jpg", file_type=None, boundary="----holdfastFormBoundary7MA4"):
    """A multipart/form-data body: fields in order, then the file."""
    out = []
    for name, value in fields:
        out.append(b"--%s\r\nContent-Disposition: form-data; name=\"%s\"\r\n\r\n%s\r\n" % (
            boundary.encode(), name.encode(), value.encode() if isinstance(value, str) else value))
    if file_data is not None:
        head = b"--%s\r\nContent-Disposition: form-data; name=\"file\"; filename=\"%s\"\r\n" % (
            boundary.encode(), filename.encode())
        if file_type:
            head += b"Content-Type: %s\r\n" % file_type.encode()
        out.append(head + b"\r\n" + file_data + b"\r\n")
    out.append(b"--%s--\r\n" % boundary.encode())
    return b"".join(out), "multipart/form-data; boundary=" + boundary


def post(url, fields, data=b"hello form", **kw):
    """(status, headers, body) of posting the form."""
    body, ctype = multipart(list(fields.items()) if isinstance(fields, dict) else fields, data, **kw)
    return hf.http(url, "POST", body, {"Content-Type": ctype}, follow=False)


def raw_post(url, body, ctype):
    """(status, body) of posting body as it is."""
    st, _, out = hf.http(url, "POST", body, {"Content-Type": ctype})
    return st, out


class Post(hf.S3Case):
    def form(self, b, key="uploads/${filename}", conditions=None, fields=None, expires=300, client=None):
        c = client or self.s3
        return c.generate_presigned_post(b, key, Fields=fields, Conditions=conditions, ExpiresIn=expires)

    def test_signed_upload_and_default_answer(self):
        b = self.bucket()
        f = self.form(b, conditions=[["starts-with", "$key", "uploads/"], ["content-length-range", 1, 1 << 20],
                                     ["starts-with", "$Content-Type", "image/"]],
                      fields={"Content-Type": "image/jpeg"})
        st, h, body = post(f["url"], f["fields"], b"\xff\xd8jpeg bytes")
        self.assertEqual(st, 204, body)
        self.assertEqual(h.get("ETag"), '"%s"' % hashlib.md5(b"\xff\xd8jpeg bytes").hexdigest())
        o = self.s3.get_object(Bucket=b, Key="uploads/photo.jpg")
        self.assertEqual(o["Body"].read(), b"\xff\xd8jpeg bytes")
        self.assertEqual(o["ContentType"], "image/jpeg")
        # It has the default CRC64NVME, the same as a PUT of the bytes gets.
        h64 = "x-amz-checksum-crc64nvme"
        put = self.s3.put_object(Bucket=b, Key="same", Body=b"\xff\xd8jpeg bytes")
        got = self.s3.head_object(Bucket=b, Key="uploads/photo.jpg", ChecksumMode="ENABLED")
        self.assertEqual(got["ResponseMetadata"]["HTTPHeaders"][h64], put["ResponseMetadata"]["HTTPHeaders"][h64])
        # The same form with a type the policy does not allow is refused.
        fields = dict(f["fields"], **{"Content-Type": "text/html"})
        st, _, body = post(f["url"], fields)
        self.assertEqual(st, 403, body)
        self.assertIn(b"Invalid according to Policy", body)

    def test_answers(self):
        b = self.bucket()
        f = self.form(b, key="k1", fields={"success_action_status": "201"},
                      conditions=[{"success_action_status": "201"}])
        st, h, body = post(f["url"], f["fields"])
        self.assertEqual(st, 201, body)
        self.assertIn(b"<PostResponse>", body)
        self.assertIn(b"<Key>k1</Key>", body)
        self.assertIn(b"<Bucket>%s</Bucket>" % b.encode(), body)
        f = self.form(b, key="k2", fields={"success_action_status": "200"},
                      conditions=[{"success_action_status": "200"}])
        st, _, body = post(f["url"], f["fields"])
        self.assertEqual((st, body), (200, b""))
        f = self.form(b, key="k3", fields={"success_action_redirect": "https://app.example/done?x=1"},
                      conditions=[{"success_action_redirect": "https://app.example/done?x=1"}])
        st, h, _ = post(f["url"], f["fields"])
        self.assertEqual(st, 303)
        q = urllib.parse.parse_qs(urllib.parse.urlsplit(h["Location"]).query)
        self.assertEqual((q["x"], q["bucket"], q["key"]), (["1"], [b], ["k3"]))
        self.assertEqual(q["etag"], ['"%s"' % hashlib.md5(b"hello form").hexdigest()])

    def test_fields_become_the_objects_headers(self):
        b = self.bucket()
        f = self.form(b, key="meta", fields={"x-amz-meta-owner": "web", "Cache-Control": "max-age=60",
                                             "Content-Disposition": "inline", "tagging":
                                             "<Tagging><TagSet><Tag><Key>src</Key><Value>form</Value></Tag>"
                                             "</TagSet></Tagging>"},
                      conditions=[{"x-amz-meta-owner": "web"}, {"Cache-Control": "max-age=60"},
                                  {"Content-Disposition": "inline"}, ["starts-with", "$tagging", ""]])
        st, _, body = post(f["url"], f["fields"], file_type="text/plain")
        self.assertEqual(st, 204, body)
        h = self.s3.head_object(Bucket=b, Key="meta")
        self.assertEqual(h["Metadata"], {"owner": "web"})
        self.assertEqual((h["CacheControl"], h["ContentDisposition"], h["ContentType"]),
                         ("max-age=60", "inline", "text/plain"))
        self.assertEqual(self.s3.get_object_tagging(Bucket=b, Key="meta")["TagSet"], [{"Key": "src", "Value": "form"}])

    def test_policy_refusals(self):
        b = self.bucket()
        f = self.form(b, key="exact", conditions=[["content-length-range", 5, 10]])
        self.assertEqual(post(f["url"], f["fields"], b"12345")[0], 204)
        st, _, body = post(f["url"], f["fields"], b"123")
        self.assertEqual(st, 400)
        self.assertIn(b"EntityTooSmall", body)
        # the sizes, as S3 writes them
        self.assertIn(b"<ProposedSize>3</ProposedSize><MinSizeAllowed>5</MinSizeAllowed>", body)
        st, _, body = post(f["url"], f["fields"], b"x" * 11)
        self.assertEqual(st, 400)
        self.assertIn(b"EntityTooLarge", body)
        self.assertIn(b"<MaxSizeAllowed>10</MaxSizeAllowed>", body)
        # a field the policy does not name
        fields = dict(f["fields"], **{"x-amz-meta-extra": "1"})
        st, _, body = post(f["url"], fields, b"12345")
        self.assertEqual(st, 403)
        self.assertIn(b"Invalid according to Policy", body)
        # another key than the policy's
        fields = dict(f["fields"], key="other")
        st, _, body = post(f["url"], fields, b"12345")
        self.assertEqual(st, 403, body)
        self.assertError("NoSuchKey", 404, self.s3.get_object, Bucket=b, Key="other")
        # the form of one bucket posted to another
        other = self.bucket()
        st, _, body = post(f["url"].rstrip("/").rsplit("/", 1)[0] + "/" + other, f["fields"], b"12345")
        self.assertEqual(st, 403, body)
        # expired
        f = self.form(b, key="late", expires=1)
        time.sleep(2.1)
        st, _, body = post(f["url"], f["fields"])
        self.assertEqual(st, 403)
        self.assertIn(b"Policy expired", body)

    def test_signature_refusals(self):
        b = self.bucket()
        f = self.form(b, key="k")
        sig = f["fields"]["x-amz-signature"]
        bad = dict(f["fields"], **{"x-amz-signature": ("0" if sig[0] != "0" else "1") + sig[1:]})
        st, _, body = post(f["url"], bad)
        self.assertEqual(st, 403)
        self.assertIn(b"SignatureDoesNotMatch", body)
        cred = f["fields"]["x-amz-credential"]
        unknown = dict(f["fields"], **{"x-amz-credential": "HFNOSUCHKEY000000001/" + cred.split("/", 1)[1]})
        st, _, body = post(f["url"], unknown)
        self.assertEqual(st, 403)
        self.assertIn(b"InvalidAccessKeyId", body)
        # a policy changed after signing
        tampered = dict(f["fields"], policy=f["fields"]["policy"][:-4] + "AAAA")
        st, _, body = post(f["url"], tampered)
        self.assertIn(st, (400, 403))
        self.assertError("NoSuchKey", 404, self.s3.get_object, Bucket=b, Key="k")
        # a user who may not write the bucket signs a valid form
        other, _ = hf.make_user(hf.SHARED, "post-outsider-%d" % os.getpid())
        f = self.form(b, key="x", client=other)
        st, _, body = post(f["url"], f["fields"])
        self.assertEqual(st, 403)
        self.assertIn(b"AccessDenied", body)

    def test_anonymous_forms(self):
        b = self.bucket()
        url = "%s/%s" % (hf.SHARED.endpoint, b)
        st, _, body = post(url, {"key": "anon"})
        self.assertEqual(st, 403)
        self.assertIn(b"AccessDenied", body)
        # A bucket whose ACL lets everyone write takes unsigned forms.
        self.s3.put_bucket_ownership_controls(Bucket=b, OwnershipControls={"Rules": [{"ObjectOwnership": "ObjectWriter"}]})
        self.s3.delete_public_access_block(Bucket=b)
        self.s3.put_bucket_acl(Bucket=b, ACL="public-read-write")
        st, _, body = post(url, {"key": "anon", "acl": "public-read"})
        self.assertEqual(st, 204, body)
        self.assertEqual(hf.http_status("%s/%s/anon" % (hf.SHARED.endpoint, b)), 200)

    def test_malformed_forms(self):
        b = self.bucket()
        f = self.form(b, key="k")
        st, body = raw_post(f["url"], b"key=k", "application/x-www-form-urlencoded")
        self.assertEqual(st, 412)
        self.assertIn(b"multipart/form-data", body)
        st, body = raw_post(f["url"], *multipart(list(f["fields"].items()), None))
        self.assertEqual(st, 400)
        self.assertIn(b"exactly one file", body)
        fields = dict(f["fields"])
        del fields["key"]
        st, _, body = post(f["url"], fields)
        self.assertEqual(st, 400)
        self.assertIn(b"must contain a field named", body)
        st, _, body = post(f["url"], list(f["fields"].items()) + [("x-ignore-pad", "p" * 21000)])
        self.assertEqual(st, 400)
        self.assertIn(b"MaxPostPreDataLengthExceeded", body)
        # cut short
        body, ctype = multipart(list(f["fields"].items()), b"abc")
        self.assertEqual(raw_post(f["url"], body[:-20], ctype)[0], 400)

    def test_large_file_streams(self):
        b = self.bucket()
        data = os.urandom(24 * 1024 * 1024 + 7)
        f = self.form(b, key="big.bin", conditions=[["content-length-range", 0, 64 << 20]])
        st, h, body = post(f["url"], f["fields"], data)
        self.assertEqual(st, 204, body)
        self.assertEqual(h["ETag"], '"%s"' % hashlib.md5(data).hexdigest())
        got = self.s3.get_object(Bucket=b, Key="big.bin")["Body"].read()
        self.assertEqual(hashlib.sha256(got).hexdigest(), hashlib.sha256(data).hexdigest())


if __name__ == "__main__":
    hf.main(__file__)
