"""Integration test harness: start a real holdfast server, talk to it with
real clients, report one PASS/FAIL line per test (counted by tests/run.sh).

Each test module defines unittest.TestCase classes and ends with
`hf.main(__file__)`. Servers listen on port 0 (the kernel picks free
ports) and the harness reads the ports back from the server's banner.
"""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback
import unittest
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.environ.get("HF_BIN", os.path.join(ROOT, "bin", "holdfast"))
ACCESS_KEY = "HFTESTROOTKEY0000001"
SECRET_KEY = "testsecret0000000000000000000000000000ab"
REGION = "us-east-1"


class Server:
    """A holdfast server process with its own data directory."""

    def __init__(self, data=None, env=None, args=(), keys=True):
        self.owns_data = data is None
        self.data = data or tempfile.mkdtemp(prefix="hf-integ-")
        self.env = dict(os.environ)
        if keys:
            self.env["HOLDFAST_ACCESS_KEY"] = ACCESS_KEY
            self.env["HOLDFAST_SECRET_KEY"] = SECRET_KEY
        self.env.update(env or {})
        self.args = list(args)
        self.proc = None
        self.port = None
        self.status_port = None
        self.log_path = os.path.join(tempfile.gettempdir(), "hf-integ-%d-%d.log" % (os.getpid(), id(self)))
        self.stdout_lines = []
        self.scheme = "http"

    @property
    def endpoint(self):
        return "%s://127.0.0.1:%d" % (self.scheme, self.port)

    @property
    def status(self):
        return "http://127.0.0.1:%d" % self.status_port

    def start(self, timeout=20):
        self.log = open(self.log_path, "wb")
        cmd = [BIN, "server", "--data", self.data, "--listen", "127.0.0.1:0",
               "--status-listen", "127.0.0.1:0"] + self.args
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=self.log, env=self.env)
        deadline = time.time() + timeout
        while time.time() < deadline:
            line = self.proc.stdout.readline().decode(errors="replace")
            if not line:
                if self.proc.poll() is not None:
                    raise RuntimeError("server exited with %s: %s" % (self.proc.returncode, self.read_log()))
                continue
            self.stdout_lines.append(line)
            m = re.search(r"serving S3 on (https?)://127\.0\.0\.1:(\d+)", line)
            if m:
                self.scheme, self.port = m.group(1), int(m.group(2))
            m = re.search(r"health and admin on http://127\.0\.0\.1:(\d+)", line)
            if m:
                self.status_port = int(m.group(1))
                break
        if not self.port or not self.status_port:
            raise RuntimeError("server did not report its ports: %s" % self.read_log())
        # Drain the rest of stdout in the background so the server never blocks on it.
        import threading
        threading.Thread(target=self._drain, daemon=True).start()
        wait_for(lambda: http_status(self.status + "/health/ready") == 200, timeout, "server ready")
        return self

    def _drain(self):
        for line in self.proc.stdout:
            self.stdout_lines.append(line.decode(errors="replace"))

    def read_log(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode(errors="replace")[-4000:]
        except OSError:
            return ""

    def stop(self, sig=signal.SIGTERM, timeout=30):
        """Stop the server; returns its exit status."""
        if not self.proc:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait()
        self.proc = None
        self.log.close()
        return rc

    def kill(self):
        return self.stop(signal.SIGKILL)

    def cleanup(self):
        self.stop()
        if self.owns_data:
            shutil.rmtree(self.data, ignore_errors=True)
        try:
            os.unlink(self.log_path)
        except OSError:
            pass


def admin(server, *args, timeout=120):
    """Run `holdfast admin ARGS` against server's status listener, signed
    with the test root key: (exit status, stdout, stderr)."""
    env = dict(os.environ, HOLDFAST_ACCESS_KEY=ACCESS_KEY, HOLDFAST_SECRET_KEY=SECRET_KEY)
    p = subprocess.run([BIN, "admin", "--admin", server.status] + list(args), env=env,
                       capture_output=True, text=True, timeout=timeout)
    return p.returncode, p.stdout, p.stderr


def http(url, method="GET", data=None, headers=None, follow=True, timeout=60):
    """(status, headers, body) of one plain HTTP request (no signing); an
    error status is returned, not raised; redirects are followed only when
    follow."""
    import urllib.error
    import urllib.request

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *a, **k):
            return None
    opener = urllib.request.build_opener(*([] if follow else [NoRedirect]))
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with opener.open(req, timeout=timeout) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def make_user(server, name):
    """Create user name on server: (boto3 client signed with its keys, its
    canonical id)."""
    rc, out, err = admin(server, "user", "create", name)
    if rc != 0:
        raise AssertionError("user create %s: %s" % (name, err))
    keys = dict(l.split(":", 1) for l in out.strip().splitlines() if ":" in l)
    c = boto3_client(server, access_key=keys["access key"].strip(), secret_key=keys["secret key"].strip())
    return c, c.list_buckets()["Owner"]["ID"]


def anonymous_client(server):
    """A boto3 client that sends unsigned requests."""
    from botocore import UNSIGNED
    return boto3_client(server, signature_version=UNSIGNED)


def wait_for(cond, timeout=10, what="condition"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            if cond():
                return
        except Exception:
            pass
        time.sleep(0.05)
    raise AssertionError("timed out waiting for %s" % what)


def http_status(url, method="GET", timeout=5):
    req = urllib.request.Request(url, method=method)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


def boto3_client(server, access_key=ACCESS_KEY, secret_key=SECRET_KEY, **cfg):
    import boto3
    from botocore.config import Config
    conf = dict(s3={"addressing_style": "path"}, retries={"max_attempts": 1},
                signature_version="s3v4")
    conf.update(cfg)
    return boto3.client("s3", endpoint_url=server.endpoint, aws_access_key_id=access_key,
                        aws_secret_access_key=secret_key, region_name=REGION,
                        config=Config(**conf))


# ---- virtual-hosted-style addressing ----

# The --domain of virtual-hosted tests: under .test, a name no real DNS
# answers (RFC 6761), so nothing leaves the machine.
TEST_DOMAIN = "s3.holdfast.test"
_real_getaddrinfo = None


def resolve_to_loopback(domain=TEST_DOMAIN):
    """From now on, in this process, domain and every name under it resolve
    to 127.0.0.1: what a hosts-file entry (or a wildcard DNS record) does for
    a real deployment, without touching system files. Clients still build,
    sign and send the Host header they would send to a real endpoint
    (BUCKET.domain:port); only where they connect is fixed. glibc on Debian
    12 does not resolve *.localhost, hence this. Idempotent."""
    import socket
    global _real_getaddrinfo
    if _real_getaddrinfo is None:
        _real_getaddrinfo = socket.getaddrinfo
    suffix = "." + domain.lower()

    def getaddrinfo(host, *a, **kw):
        h = host.decode() if isinstance(host, bytes) else host
        if isinstance(h, str) and (h.lower() == domain.lower() or h.lower().endswith(suffix)):
            host = "127.0.0.1"
        return _real_getaddrinfo(host, *a, **kw)
    socket.getaddrinfo = getaddrinfo


def vhost_endpoint(server, domain=TEST_DOMAIN):
    """The endpoint URL clients use for virtual-hosted style."""
    return "%s://%s:%d" % (server.scheme, domain, server.port)


def loopback_cmd(argv, domain=TEST_DOMAIN):
    """argv of a Python client program (e.g. /usr/bin/aws, /usr/bin/s3cmd)
    run by Debian's python3 with resolve_to_loopback(domain) in effect; the
    program itself runs unchanged."""
    return ["/usr/bin/python3", os.path.join(os.path.dirname(os.path.abspath(__file__)), "loopback_run.py"),
            domain] + list(argv)


def cli_env(server, access_key=ACCESS_KEY, secret_key=SECRET_KEY):
    """Environment for command-line clients (awscli reads these)."""
    env = dict(os.environ)
    home = tempfile.mkdtemp(prefix="hf-home-")
    env.update({
        "AWS_ACCESS_KEY_ID": access_key,
        "AWS_SECRET_ACCESS_KEY": secret_key,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_CONFIG_FILE": os.path.join(home, "config"),
        "AWS_SHARED_CREDENTIALS_FILE": os.path.join(home, "credentials"),
        "HOME": home,
        "AWS_PAGER": "",
    })
    return env


# ---- a server shared by one test module, and a base class for its tests ----

SHARED = None


def start_shared():
    """setUpModule for modules whose tests share one server."""
    global SHARED
    SHARED = Server().start()


def stop_shared():
    """tearDownModule: the server must exit cleanly on SIGTERM."""
    global SHARED
    if SHARED:
        rc = SHARED.stop()
        SHARED.cleanup()
        SHARED = None
        if rc != 0:
            raise AssertionError("server exited with status %r on SIGTERM" % rc)


class OwnServerCase(unittest.TestCase):
    """Tests of one class sharing a server of their own, started with the
    class's ARGS and ENV (self.srv); it must exit cleanly on SIGTERM."""
    ARGS = ()
    ENV = {}

    @classmethod
    def setUpClass(cls):
        cls.srv = Server(args=cls.ARGS, env=cls.ENV).start()

    @classmethod
    def tearDownClass(cls):
        rc = cls.srv.stop()
        cls.srv.cleanup()
        if rc != 0:
            raise AssertionError("server exited with status %r on SIGTERM" % rc)


class S3Case(unittest.TestCase):
    """Tests against the module's shared server: self.s3 is a boto3
    client; bucket() makes a bucket that is emptied (every version, every
    upload) and removed after the test."""
    counter = 0

    def setUp(self):
        self.s3 = boto3_client(SHARED)

    def bucket(self, versioning=None):
        S3Case.counter += 1
        name = "t-%s-%d-%d" % (type(self).__name__.lower()[:20], os.getpid() % 10000, S3Case.counter)
        self.s3.create_bucket(Bucket=name)
        if versioning:
            self.s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": versioning})
        self.addCleanup(self.purge, name)
        return name

    def purge(self, name):
        from botocore.exceptions import ClientError
        try:
            for page in self.s3.get_paginator("list_object_versions").paginate(Bucket=name):
                for v in page.get("Versions", []) + page.get("DeleteMarkers", []):
                    self.s3.delete_object(Bucket=name, Key=v["Key"], VersionId=v["VersionId"],
                                          BypassGovernanceRetention=True)
            for u in self.s3.list_multipart_uploads(Bucket=name).get("Uploads", []):
                self.s3.abort_multipart_upload(Bucket=name, Key=u["Key"], UploadId=u["UploadId"])
            self.s3.delete_bucket(Bucket=name)
        except ClientError:
            pass

    def assertError(self, code, status, fn, *a, **kw):
        """fn(*a, **kw) must fail with this S3 error code and HTTP status."""
        from botocore.exceptions import ClientError
        with self.assertRaises(ClientError) as cm:
            fn(*a, **kw)
        self.assertEqual(cm.exception.response["Error"]["Code"], code, cm.exception.response)
        self.assertEqual(cm.exception.response["ResponseMetadata"]["HTTPStatusCode"], status)
        return cm.exception

    def body(self, b, k, **kw):
        return self.s3.get_object(Bucket=b, Key=k, **kw)["Body"].read()


def add_headers(client, op, headers):
    """Send headers with every call of op on client (for headers this
    boto3 has no parameter for)."""
    def add(request, **kw):
        for k, v in headers.items():
            request.headers[k] = v
    client.meta.events.register("before-sign.s3.%s" % op, add)
    return client


def rewrite_body(client, op, fn):
    """Replace the body of every call of op on client by fn(body bytes),
    with Content-MD5 and Content-Length to match (for request elements
    this boto3 cannot express)."""
    import base64
    import hashlib

    def rewrite(request, **kw):
        body = request.body or b""
        data = fn(body if isinstance(body, bytes) else body.encode())
        request.data = data
        # botocore's headers append on assignment: replace, not add
        for h, v in (("Content-MD5", base64.b64encode(hashlib.md5(data).digest()).decode()),
                     ("Content-Length", str(len(data)))):
            del request.headers[h]
            request.headers[h] = v
    client.meta.events.register("before-sign.s3.%s" % op, rewrite)
    return client


def signed_request(server, method, path, query=(), headers=None, body=b"", timeout=30, conn=None):
    """One SigV4-signed request sent exactly as given, for what boto3 hides
    or refuses to send (the raw response XML, out-of-range parameters,
    bytes that are not UTF-8), or to send many requests cheaply. path is
    already URI-encoded; query is a sequence of (name, value) pairs -- str
    or bytes values, None for a bare name -- encoded here. conn: an
    http.client.HTTPConnection to the server to reuse (kept open);
    without, one is opened and closed. Returns (status, headers with
    lower-case names, body bytes)."""
    import http.client
    import urllib.parse
    from botocore.auth import S3SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials
    q = "&".join(urllib.parse.quote(k, safe="-_.~") +
                 ("" if v is None else "=" + urllib.parse.quote(v, safe="-_.~")) for k, v in query)
    target = path + ("?" + q if q else "")
    req = AWSRequest(method=method, url=server.endpoint + target, data=body, headers=dict(headers or {}))
    S3SigV4Auth(Credentials(ACCESS_KEY, SECRET_KEY), "s3", REGION).add_auth(req)
    c = conn or http.client.HTTPConnection("127.0.0.1", server.port, timeout=timeout)
    try:
        c.request(method, target, body=body, headers=dict(req.headers))
        r = c.getresponse()
        data = r.read()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, data
    finally:
        if conn is None:
            c.close()


def metric_in(text, name, labels=None):
    """The value of one sample in Prometheus text (labels: a dict to match),
    or None."""
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        m = re.match(r"^([a-zA-Z_:][\w:]*)(\{[^}]*\})? (\S+)$", line)
        if not m or m.group(1) != name:
            continue
        got = dict(re.findall(r'(\w+)="([^"]*)"', m.group(2) or ""))
        if labels and any(got.get(k) != v for k, v in labels.items()):
            continue
        return float(m.group(3))
    return None


def metric(server, name, labels=None):
    """One sample of the server's /metrics now."""
    with urllib.request.urlopen(server.status + "/metrics", timeout=10) as r:
        return metric_in(r.read().decode(), name, labels)


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def threads(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("Threads:"):
                return int(line.split()[1])
    return 0


class _Result(unittest.TestResult):
    def __init__(self, suite):
        super().__init__()
        self.suite = suite
        self.npass = 0
        self.nfail = 0

    def _name(self, test):
        # A failed setUpClass reports through an _ErrorHolder, which has no
        # test method: name it by its description.
        name = getattr(test, "_testMethodName", None)
        if name is None:
            return "%s/%s" % (self.suite, getattr(test, "description", str(test)))
        return "%s/%s.%s" % (self.suite, type(test).__name__, name)

    def addSuccess(self, test):
        self.npass += 1
        print("PASS %s" % self._name(test), flush=True)

    def _fail(self, test, err):
        self.nfail += 1
        msg = "".join(traceback.format_exception(*err)).strip().splitlines()
        print("FAIL %s: %s" % (self._name(test), msg[-1] if msg else "?"), flush=True)
        for line in msg[-25:]:
            print("    " + line, flush=True)

    def addFailure(self, test, err):
        self._fail(test, err)

    def addError(self, test, err):
        self._fail(test, err)

    def addSkip(self, test, reason):
        # A skipped test is not a pass: report it as a failure so nothing
        # silently stops being tested.
        self.nfail += 1
        print("FAIL %s: skipped: %s" % (self._name(test), reason), flush=True)


def main(path):
    suite_name = "integ/" + os.path.splitext(os.path.basename(path))[0]
    loader = unittest.TestLoader()
    mod = sys.modules["__main__"]
    tests = loader.loadTestsFromModule(mod)
    only = sys.argv[1:]
    if only:
        flat = []

        def walk(s):
            for t in s:
                if isinstance(t, unittest.TestSuite):
                    walk(t)
                elif any(o in t.id() for o in only):
                    flat.append(t)
        walk(tests)
        tests = unittest.TestSuite(flat)
    result = _Result(suite_name)
    tests.run(result)
    sys.exit(1 if result.nfail else 0)
