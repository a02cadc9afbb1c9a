#!/usr/bin/python3
"""Virtual-hosted-style addressing (--domain) against a real server: boto3,
awscli and s3cmd configured for virtual-hosted style, curl with --resolve,
both signature versions, the Host forms S3 accepts (a port, any case,
dotted bucket names, a trailing dot), the Host forms that stay path style,
and a Host naming no valid bucket. Clients connect to 127.0.0.1 through
hf.resolve_to_loopback (or curl --resolve) while they send and sign the
Host a real endpoint would get."""
import json
import os
import re
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hf  # noqa: E402
from test_post import post  # noqa: E402
from test_sigv2 import debian_default_client, error_code, raw, signed, v2_client  # noqa: E402

DOMAIN = hf.TEST_DOMAIN          # s3.holdfast.test
PARENT = "holdfast.test"         # also a domain: the longest match must win


def setUpModule():
    # Both domains, from the environment (comma-separated, spaces allowed).
    hf.SHARED = hf.Server(env={"HOLDFAST_DOMAIN": "%s, %s" % (PARENT, DOMAIN)}).start()
    hf.resolve_to_loopback(PARENT)


tearDownModule = hf.stop_shared


def vclient(signature_version="s3v4", endpoint=None):
    import boto3
    from botocore.config import Config
    return boto3.client("s3", endpoint_url=endpoint or hf.vhost_endpoint(hf.SHARED),
                        aws_access_key_id=hf.ACCESS_KEY, aws_secret_access_key=hf.SECRET_KEY,
                        region_name=hf.REGION,
                        config=Config(signature_version=signature_version, retries={"max_attempts": 1},
                                      s3={"addressing_style": "virtual"}))


def sent_hosts(client):
    """Record the URL of every request client sends."""
    urls = []
    client.meta.events.register("before-send.s3", lambda request, **kw: urls.append(request.url))
    return urls


class Boto3(hf.S3Case):
    def test_start_names_each_domain(self):
        # What an operator reads at start: which host names serve buckets.
        for d in (PARENT, DOMAIN):
            self.assertIn("holdfast: virtual-hosted buckets at BUCKET.%s\n" % d,
                          hf.SHARED.stdout_lines)

    def test_everyday_calls_sigv4(self):
        c = vclient()
        urls = sent_hosts(c)
        b = "vh-v4-%d" % (os.getpid() % 10000)
        c.create_bucket(Bucket=b)
        self.addCleanup(self.purge, b)
        c.put_object(Bucket=b, Key="a/b c+d.txt", Body=b"virtual", Metadata={"m": "1"})
        self.assertEqual(c.get_object(Bucket=b, Key="a/b c+d.txt")["Body"].read(), b"virtual")
        self.assertEqual(c.head_object(Bucket=b, Key="a/b c+d.txt")["Metadata"], {"m": "1"})
        c.put_object_tagging(Bucket=b, Key="a/b c+d.txt", Tagging={"TagSet": [{"Key": "t", "Value": "v"}]})
        self.assertEqual(c.get_object_tagging(Bucket=b, Key="a/b c+d.txt")["TagSet"], [{"Key": "t", "Value": "v"}])
        page = c.list_objects_v2(Bucket=b, Prefix="a/", Delimiter="/")
        self.assertEqual([o["Key"] for o in page["Contents"]], ["a/b c+d.txt"])
        part = os.urandom(5 * 1024 * 1024)
        m = c.create_multipart_upload(Bucket=b, Key="big")
        p1 = c.upload_part(Bucket=b, Key="big", UploadId=m["UploadId"], PartNumber=1, Body=part)
        p2 = c.upload_part(Bucket=b, Key="big", UploadId=m["UploadId"], PartNumber=2, Body=b"tail")
        c.complete_multipart_upload(Bucket=b, Key="big", UploadId=m["UploadId"], MultipartUpload={
            "Parts": [{"ETag": p1["ETag"], "PartNumber": 1}, {"ETag": p2["ETag"], "PartNumber": 2}]})
        c.copy_object(Bucket=b, Key="copy", CopySource={"Bucket": b, "Key": "big"})
        self.assertEqual(c.head_object(Bucket=b, Key="copy")["ContentLength"], len(part) + 4)
        c.delete_objects(Bucket=b, Delete={"Objects": [{"Key": "copy"}, {"Key": "big"}]})
        self.assertEqual(self.s3.list_objects_v2(Bucket=b)["KeyCount"], 1)
        # Every request went to BUCKET.s3.holdfast.test, the bucket nowhere in the path.
        for u in urls:
            self.assertTrue(u.startswith("http://%s.%s:%d/" % (b, DOMAIN, hf.SHARED.port)), u)
            self.assertFalse(u.split(str(hf.SHARED.port), 1)[1].startswith("/" + b), u)
        # The presigned URL (V4) is virtual-hosted too.
        url = c.generate_presigned_url("get_object", Params={"Bucket": b, "Key": "a/b c+d.txt"})
        self.assertTrue(url.startswith("http://%s.%s:" % (b, DOMAIN)), url)
        self.assertEqual(hf.http(url)[2], b"virtual")

    def test_signature_v2_and_debian_default_presign(self):
        b = self.bucket()
        self.s3.put_object(Bucket=b, Key="k", Body=b"v2 virtual")
        # V2 header auth: the canonical resource is /BUCKET/KEY.
        c = v2_client(hf.SHARED, virtual=True)
        urls = sent_hosts(c)
        self.assertEqual(c.get_object(Bucket=b, Key="k")["Body"].read(), b"v2 virtual")
        c.put_object(Bucket=b, Key="v2", Body=b"x")
        self.assertTrue(all(u.startswith("http://%s.%s:" % (b, DOMAIN)) for u in urls), urls)
        # Debian's boto3 default presign against a virtual-hosted endpoint.
        d = debian_default_client(hf.SHARED, hf.vhost_endpoint(hf.SHARED), s3={"addressing_style": "virtual"})
        url = d.generate_presigned_url("get_object", Params={"Bucket": b, "Key": "k"})
        self.assertIn("AWSAccessKeyId=", url)
        self.assertTrue(url.startswith("http://%s.%s:" % (b, DOMAIN)), url)
        self.assertEqual(hf.http(url)[2], b"v2 virtual")
        # The bucket a V2 signature covers is the Host's: the same signature
        # sent for another bucket's host does not match.
        other = self.bucket()
        self.s3.put_object(Bucket=other, Key="k", Body=b"other")
        st, _, body = hf.http(url.replace("http://%s." % b, "http://%s." % other))
        self.assertEqual((st, error_code(body)), (403, "SignatureDoesNotMatch"))

    def test_post_form_to_the_bucket_host(self):
        b = self.bucket()
        for version in ("s3v4", "s3"):
            f = vclient(version).generate_presigned_post(b, "form-%s/${filename}" % version)
            self.assertTrue(f["url"].startswith("http://%s.%s:" % (b, DOMAIN)), f["url"])
            st, _, body = post(f["url"], f["fields"], b"posted")
            self.assertEqual(st, 204, body)
            self.assertEqual(self.body(b, "form-%s/photo.jpg" % version), b"posted")

    def test_dotted_bucket_names(self):
        # botocore addresses a dotted bucket path style even when told to
        # use virtual hosts (a TLS wildcard certificate cannot cover it);
        # curl and hand-signed requests address it by its host.
        b = "vh.dotted.%d.example" % (os.getpid() % 10000)
        c = vclient()
        urls = sent_hosts(c)
        c.create_bucket(Bucket=b)
        self.addCleanup(self.purge, b)
        self.assertTrue(urls[0].startswith("http://%s:%d/%s" % (DOMAIN, hf.SHARED.port, b)), urls)
        c.put_object(Bucket=b, Key="k", Body=b"dots")
        host = "%s.%s" % (b, DOMAIN)
        p = subprocess.run(curl_base(host) + ["http://%s:%d/k" % (host, hf.SHARED.port)],
                           capture_output=True, timeout=60)
        self.assertEqual(p.stdout, b"dots", p.stderr)
        st, _, body = signed(hf.SHARED, "GET", "/k", bucket=b, host=host)
        self.assertEqual((st, body), (200, b"dots"))


def curl_base(host):
    """curl signing SigV4 for host, which resolves to the server. curl
    7.88 sends no x-amz-content-sha256 by itself; S3 requires it with
    header authentication, as curl's documentation for S3 says."""
    return ["curl", "-sS", "--resolve", "%s:%d:127.0.0.1" % (host, hf.SHARED.port),
            "-H", "x-amz-content-sha256: UNSIGNED-PAYLOAD",
            "--aws-sigv4", "aws:amz:%s:s3" % hf.REGION, "--user", "%s:%s" % (hf.ACCESS_KEY, hf.SECRET_KEY)]


class Hosts(hf.S3Case):
    def test_host_forms(self):
        b = self.bucket()
        self.s3.put_object(Bucket=b, Key="k", Body=b"hosted")
        port = hf.SHARED.port
        for host in ("%s.%s:%d" % (b, DOMAIN, port),           # with the port
                     "%s.%s" % (b, DOMAIN),                    # without
                     "%s.%s:%d" % (b.upper(), DOMAIN.upper(), port),  # any case
                     "%s.%s.:%d" % (b, DOMAIN, port)):         # a fully qualified name
            st, _, body = signed(hf.SHARED, "GET", "/k", bucket=b, host=host)
            self.assertEqual((st, body), (200, b"hosted"), host)
        # The domain itself, and a host matching no domain: path style.
        for host in ("%s:%d" % (DOMAIN, port), "127.0.0.1:%d" % port, "example.com"):
            st, _, body = signed(hf.SHARED, "GET", "/%s/k" % b, host=host)
            self.assertEqual((st, body), (200, b"hosted"), host)
        # The longest domain wins: under holdfast.test the bucket would be
        # "BUCKET.s3", which does not exist.
        st, _, body = signed(hf.SHARED, "GET", "/k", bucket=b, host="%s.%s" % (b, DOMAIN))
        self.assertEqual(st, 200)
        st, _, body = signed(hf.SHARED, "GET", "/k", bucket="%s.x" % b, host="%s.x.%s" % (b, PARENT))
        self.assertEqual((st, error_code(body)), (404, "NoSuchBucket"))
        # The error document names /BUCKET/KEY.
        st, _, body = signed(hf.SHARED, "GET", "/nope", bucket=b, host="%s.%s" % (b, DOMAIN))
        self.assertEqual((st, error_code(body)), (404, "NoSuchKey"))
        self.assertIn(b"<Resource>/%s/nope</Resource>" % b.encode(), body)

    def test_host_naming_no_valid_bucket(self):
        # S3 answers a request naming an invalid bucket InvalidBucketName
        # (400); here before authentication, signed or not.
        for label in ("ab", "Bad_Name", "xn--punycode", "a" * 64, "dots..twice", "-dash", "1.2.3.4"):
            st, _, body = raw(hf.SHARED, "GET", "/k", {}, host="%s.%s" % (label, DOMAIN))
            self.assertEqual((st, error_code(body)), (400, "InvalidBucketName"), label)
        st, _, body = signed(hf.SHARED, "PUT", "/", bucket="bad_name", host="bad_name.%s" % DOMAIN)
        self.assertEqual((st, error_code(body)), (400, "InvalidBucketName"))

    def test_curl_resolve(self):
        b = self.bucket()
        self.s3.put_object(Bucket=b, Key="dir/curl me.txt", Body=b"via curl")
        host = "%s.%s" % (b, DOMAIN)
        base = curl_base(host)
        url = "http://%s:%d/dir/curl%%20me.txt" % (host, hf.SHARED.port)
        p = subprocess.run(base + ["-w", "\n%{http_code}", url], capture_output=True, timeout=60)
        self.assertEqual(p.stdout, b"via curl\n200", p.stderr)
        with tempfile.NamedTemporaryFile() as f:
            f.write(b"uploaded by curl")
            f.flush()
            p = subprocess.run(base + ["-o", "/dev/null", "-w", "%{http_code}", "-T", f.name,
                                       "http://%s:%d/up.txt" % (host, hf.SHARED.port)],
                               capture_output=True, timeout=60)
        self.assertEqual(p.stdout, b"200", p.stderr)
        self.assertEqual(self.body(b, "up.txt"), b"uploaded by curl")
        # ListObjects at the bucket's root.
        p = subprocess.run(base + ["http://%s:%d/?list-type=2" % (host, hf.SHARED.port)],
                           capture_output=True, timeout=60)
        self.assertIn(b"<Key>dir/curl me.txt</Key>", p.stdout)


class Clients(hf.S3Case):
    def test_awscli_virtual(self):
        env = hf.cli_env(hf.SHARED)
        with open(env["AWS_CONFIG_FILE"], "w") as f:
            f.write("[default]\nregion = us-east-1\ns3 =\n    addressing_style = virtual\n")
        b = "vh-cli-%d" % (os.getpid() % 10000)
        self.addCleanup(self.purge, b)
        data = os.path.join(env["HOME"], "data.bin")
        with open(data, "wb") as f:
            f.write(os.urandom(9 * 1024 * 1024))  # above awscli's 8 MiB multipart threshold

        def aws(*args, debug=False):
            argv = ["/usr/bin/aws", "--endpoint-url", hf.vhost_endpoint(hf.SHARED)] + \
                   (["--debug"] if debug else []) + list(args)
            p = subprocess.run(hf.loopback_cmd(argv, PARENT), env=env, capture_output=True, text=True,
                               timeout=180)
            self.assertEqual(p.returncode, 0, p.stderr[-2000:])
            return p
        p = aws("s3", "mb", "s3://" + b, debug=True)
        self.assertIn("http://%s.%s:%d/" % (b, DOMAIN, hf.SHARED.port), p.stderr)
        aws("s3", "cp", data, "s3://%s/dir/data.bin" % b)
        self.assertIn("dir/data.bin", aws("s3", "ls", "--recursive", "s3://" + b).stdout)
        aws("s3api", "put-object-tagging", "--bucket", b, "--key", "dir/data.bin",
            "--tagging", "TagSet=[{Key=k,Value=v}]")
        tags = json.loads(aws("s3api", "get-object-tagging", "--bucket", b, "--key", "dir/data.bin").stdout)
        self.assertEqual(tags["TagSet"], [{"Key": "k", "Value": "v"}])
        back = data + ".back"
        aws("s3", "cp", "s3://%s/dir/data.bin" % b, back)
        with open(data, "rb") as x, open(back, "rb") as y:
            self.assertEqual(x.read(), y.read())
        aws("s3", "rm", "--recursive", "s3://" + b)
        aws("s3", "rb", "s3://" + b)
        self.assertNotIn(b, [x["Name"] for x in self.s3.list_buckets()["Buckets"]])

    def test_s3cmd_virtual_both_signatures(self):
        for v2 in (False, True):
            b = "vh-s3cmd-%s-%d" % ("v2" if v2 else "v4", os.getpid() % 10000)
            self.addCleanup(self.purge, b)
            home = tempfile.mkdtemp(prefix="hf-s3cmd-")
            cfg = os.path.join(home, "s3cfg")
            with open(cfg, "w") as f:
                f.write("[default]\naccess_key = %s\nsecret_key = %s\nhost_base = %s:%d\n"
                        "host_bucket = %%(bucket)s.%s:%d\nuse_https = False\nsignature_v2 = %s\n"
                        "bucket_location = us-east-1\nprogress_meter = False\n"
                        % (hf.ACCESS_KEY, hf.SECRET_KEY, DOMAIN, hf.SHARED.port, DOMAIN, hf.SHARED.port, v2))
            src = os.path.join(home, "f.txt")
            with open(src, "wb") as f:
                f.write(b"s3cmd virtual")
            env = dict(os.environ, HOME=home, LC_ALL="C.UTF-8")

            def s3cmd(*args):
                p = subprocess.run(hf.loopback_cmd(["/usr/bin/s3cmd", "-c", cfg] + list(args), PARENT),
                                   env=env, capture_output=True, text=True, timeout=120)
                self.assertEqual(p.returncode, 0, "s3cmd %s: %s" % (" ".join(args), p.stderr[-2000:]))
                return p
            p = s3cmd("--debug", "mb", "s3://" + b)
            self.assertIn("%s.%s" % (b, DOMAIN), p.stderr)
            if v2:
                self.assertIn("Authorization': 'AWS %s:" % hf.ACCESS_KEY, p.stderr)
            s3cmd("put", src, "s3://%s/a dir/f.txt" % b)
            self.assertIn("s3://%s/a dir/f.txt" % b, s3cmd("ls", "--recursive", "s3://" + b).stdout)
            s3cmd("setacl", "--acl-private", "s3://%s/a dir/f.txt" % b)
            out = os.path.join(home, "back.txt")
            s3cmd("get", "s3://%s/a dir/f.txt" % b, out)
            with open(out, "rb") as f:
                self.assertEqual(f.read(), b"s3cmd virtual")
            s3cmd("del", "s3://%s/a dir/f.txt" % b)
            s3cmd("rb", "s3://" + b)


class NoDomain(unittest.TestCase):
    def test_without_domain_every_host_is_path_style(self):
        s = hf.Server().start()
        try:
            c = hf.boto3_client(s)
            c.create_bucket(Bucket="plain")
            # GET / is ListBuckets whatever the Host says.
            st, _, body = signed(s, "GET", "/", host="plain.%s:%d" % (DOMAIN, s.port))
            self.assertEqual(st, 200)
            self.assertIn(b"<Name>plain</Name>", body)
        finally:
            self.assertEqual(s.stop(), 0)
            s.cleanup()

    def test_bad_domain_values(self):
        for value in ("http://s3.example", "s3.example:9000", "s3..example", ".example", "a/b", "x" * 254):
            p = subprocess.run([hf.BIN, "server", "--domain", value], capture_output=True, text=True)
            self.assertEqual(p.returncode, 2, value)
            self.assertIn("--domain", p.stderr)
        p = subprocess.run([hf.BIN, "server"] + ["--domain=d%d.example" % i for i in range(17)],
                           capture_output=True, text=True)
        self.assertEqual(p.returncode, 2)
        self.assertIn("at most 16", p.stderr)


if __name__ == "__main__":
    hf.main(__file__)
