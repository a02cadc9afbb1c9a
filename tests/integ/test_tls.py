#!/usr/bin/python3
"""HTTPS on the S3 listener: a CA, an intermediate and a server certificate
made with the openssl command in the test's directory; boto3, awscli and curl
doing real work over TLS and refusing a server their CA did not sign; TLS
versions and ALPN; plain HTTP sent to the HTTPS port and TLS sent to a plain
port; handshakes that stall or trickle are cut at the head timeout without
holding a worker; 200 connections at once on a fixed number of threads;
SIGHUP reloading the certificate under an open connection; socket faults
injected on TLS connections; and every bad flag or file refused at start
with a message naming it."""
import hashlib
import http.client
import io
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.request
import warnings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hf  # noqa: E402
from test_wire import EMPTY_SHA, sign  # noqa: E402  (an independent SigV4)

import boto3  # noqa: E402
from botocore.config import Config  # noqa: E402
from botocore.exceptions import SSLError  # noqa: E402

DIR = None
SERVER = None
HEAD_TIMEOUT_S = 2
BUCKET = "tls"


def openssl(*args, cwd=None):
    p = subprocess.run(["openssl"] + list(args), cwd=cwd or DIR, capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError("openssl %s: %s" % (" ".join(args), p.stderr))
    return p.stdout


def make_ca(name, cn, signer=None):
    """name.key, name.pem: a CA, self-signed or signed by signer."""
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", name + ".key", "-out", name + ".csr", "-subj", "/CN=" + cn)
    with open(os.path.join(DIR, name + ".ext"), "w") as f:
        f.write("basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n"
                "subjectKeyIdentifier=hash\n")
    sig = ["-signkey", name + ".key"] if not signer else ["-CA", signer + ".pem", "-CAkey",
                                                        signer + ".key", "-CAcreateserial"]
    openssl("x509", "-req", "-in", name + ".csr", "-out", name + ".pem", "-days", "30",
            "-extfile", name + ".ext", *sig)


def make_leaf(name, cn, signer, keytype=("ec", "ec_paramgen_curve:P-256")):
    """name.key, name.pem (the leaf alone): a server certificate for
    127.0.0.1 and localhost, signed by signer."""
    openssl("req", "-newkey", keytype[0], "-pkeyopt", keytype[1], "-nodes",
            "-keyout", name + ".key", "-out", name + ".csr", "-subj", "/CN=" + cn)
    with open(os.path.join(DIR, name + ".ext"), "w") as f:
        f.write("basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n"
                "extendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n")
    openssl("x509", "-req", "-in", name + ".csr", "-CA", signer + ".pem", "-CAkey",
            signer + ".key", "-CAcreateserial", "-out", name + ".pem", "-days", "10",
            "-extfile", name + ".ext")


def cat(out, *names):
    with open(os.path.join(DIR, out), "w") as f:
        for n in names:
            with open(os.path.join(DIR, n)) as g:
                f.write(g.read())


def p(name):
    return os.path.join(DIR, name)


def tls_args(cert="chain.pem", key="leaf.key"):
    return ["--tls-cert", p(cert), "--tls-key", p(key)]


def setUpModule():
    global DIR, SERVER
    DIR = tempfile.mkdtemp(prefix="hf-tls-")
    make_ca("root", "holdfast test root")
    make_ca("inter", "holdfast test intermediate", signer="root")
    make_leaf("leaf", "holdfast test server", "inter")
    cat("chain.pem", "leaf.pem", "inter.pem")     # what the server sends
    make_ca("wrong", "some other CA")               # a CA that signed nothing here
    SERVER = hf.Server(args=tls_args() + ["--head-timeout", "%ds" % HEAD_TIMEOUT_S]).start()
    client(SERVER).create_bucket(Bucket=BUCKET)


def tearDownModule():
    if SERVER:
        rc = SERVER.stop()
        SERVER.cleanup()
        if rc != 0:
            raise AssertionError("server exited with status %r on SIGTERM" % rc)
    if DIR:
        shutil.rmtree(DIR, ignore_errors=True)


def client(server, ca="root.pem", **cfg):
    conf = dict(s3={"addressing_style": "path"}, retries={"max_attempts": 1},
                signature_version="s3v4")
    conf.update(cfg)
    return boto3.client("s3", endpoint_url=server.endpoint, aws_access_key_id=hf.ACCESS_KEY,
                        aws_secret_access_key=hf.SECRET_KEY, region_name=hf.REGION,
                        verify=p(ca), config=Config(**conf))


def context(ca="root.pem"):
    ctx = ssl.create_default_context(cafile=p(ca))
    return ctx


def tls_connect(port=None, ctx=None, alpn=None):
    ctx = ctx or context()
    if alpn:
        ctx.set_alpn_protocols(alpn)
    raw = socket.create_connection(("127.0.0.1", port or SERVER.port), timeout=20)
    return ctx.wrap_socket(raw, server_hostname="127.0.0.1")


def read_all(s, limit=1 << 24):
    out = b""
    while len(out) < limit:
        try:
            d = s.recv(65536)
        except (ConnectionResetError, socket.timeout, ssl.SSLError):
            break
        if not d:
            break
        out += d
    return out


def read_responses(s, n, last_end):
    """Read until n 200 responses have come and the last ends with
    last_end (a read timeout fails the test: a response never came)."""
    s.settimeout(10)
    out = b""
    while out.count(b"HTTP/1.1 200 ") < n or not out.endswith(last_end):
        d = s.recv(65536)
        if not d:
            break
        out += d
    return out


def read_response(s):
    """One whole response (head and Content-Length body) from s."""
    s.settimeout(20)
    out = b""
    while b"\r\n\r\n" not in out:
        d = s.recv(65536)
        if not d:
            return out
        out += d
    head, _, body = out.partition(b"\r\n\r\n")
    m = re.search(rb"(?i)\r\ncontent-length: *(\d+)", head)
    need = int(m.group(1)) if m else 0
    while len(body) < need:
        d = s.recv(65536)
        if not d:
            break
        body += d
    return head + b"\r\n\r\n" + body


def signed_get(path, port=None, query=""):
    h = {"host": "127.0.0.1:%d" % (port or SERVER.port)}
    sign("GET", path, h, EMPTY_SHA, query=query)
    target = path + ("?" + query if query else "")
    return ("GET %s HTTP/1.1\r\n" % target + "".join("%s: %s\r\n" % kv for kv in h.items())
            + "\r\n").encode()


metric = hf.metric


def client_hello():
    """The bytes of a real TLS ClientHello, made with an in-memory client."""
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = context().wrap_bio(inc, out, server_hostname="127.0.0.1")
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return out.read()


def closed_within(s, seconds):
    """Seconds until the server closed s (it must send nothing), or None."""
    t0 = time.time()
    s.settimeout(seconds)
    try:
        d = s.recv(65536)
    except socket.timeout:
        return None
    except ConnectionResetError:
        d = b""
    if d:
        raise AssertionError("the server answered a stalled handshake: %r" % d[:40])
    return time.time() - t0


class Clients(unittest.TestCase):
    def test_boto3_put_get_list_multipart(self):
        s3 = client(SERVER)
        small, big = b"hello over tls", os.urandom(3 * 1024 * 1024 + 17)
        s3.put_object(Bucket=BUCKET, Key="small", Body=small)
        s3.put_object(Bucket=BUCKET, Key="big", Body=big)
        self.assertEqual(s3.get_object(Bucket=BUCKET, Key="small")["Body"].read(), small)
        got = s3.get_object(Bucket=BUCKET, Key="big")["Body"].read()
        self.assertEqual(hashlib.sha256(got).digest(), hashlib.sha256(big).digest())
        r = s3.get_object(Bucket=BUCKET, Key="big", Range="bytes=1000-1999")
        self.assertEqual(r["Body"].read(), big[1000:2000])
        keys = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix="")["Contents"]]
        self.assertIn("small", keys)
        self.assertIn("big", keys)

        parts = [os.urandom(5 * 1024 * 1024), os.urandom(1024 * 1024 + 3)]
        up = s3.create_multipart_upload(Bucket=BUCKET, Key="mp")
        etags = [s3.upload_part(Bucket=BUCKET, Key="mp", UploadId=up["UploadId"], PartNumber=i + 1,
                                Body=b)["ETag"] for i, b in enumerate(parts)]
        done = s3.complete_multipart_upload(
            Bucket=BUCKET, Key="mp", UploadId=up["UploadId"],
            MultipartUpload={"Parts": [{"ETag": e, "PartNumber": i + 1} for i, e in enumerate(etags)]})
        self.assertTrue(done["Location"].startswith("https://"), done["Location"])
        got = s3.get_object(Bucket=BUCKET, Key="mp")["Body"].read()
        self.assertEqual(got, parts[0] + parts[1])

        # The transfer manager: several parts on several connections at once.
        data = os.urandom(20 * 1024 * 1024)
        from boto3.s3.transfer import TransferConfig
        tc = TransferConfig(multipart_threshold=5 << 20, multipart_chunksize=5 << 20,
                            max_concurrency=4)
        s3.upload_fileobj(io.BytesIO(data), BUCKET, "managed", Config=tc)
        out = io.BytesIO()
        s3.download_fileobj(BUCKET, "managed", out, Config=tc)
        self.assertEqual(hashlib.sha256(out.getvalue()).digest(), hashlib.sha256(data).digest())

    def test_presigned_urls_over_https(self):
        s3 = client(SERVER)
        put = s3.generate_presigned_url("put_object", Params={"Bucket": BUCKET, "Key": "presigned"})
        self.assertTrue(put.startswith("https://"))
        req = urllib.request.Request(put, data=b"signed in the url", method="PUT")
        with urllib.request.urlopen(req, context=context(), timeout=10) as r:
            self.assertEqual(r.status, 200)
        get = s3.generate_presigned_url("get_object", Params={"Bucket": BUCKET, "Key": "presigned"})
        with urllib.request.urlopen(get, context=context(), timeout=10) as r:
            self.assertEqual(r.read(), b"signed in the url")

    def test_awscli_with_ca_bundle(self):
        env = hf.cli_env(SERVER)
        src = p("cli-upload")
        with open(src, "wb") as f:
            f.write(os.urandom(7 * 1024 * 1024))  # multipart in awscli's default config
        base = ["aws", "--endpoint-url", SERVER.endpoint, "--ca-bundle", p("root.pem")]
        r = subprocess.run(base + ["s3", "cp", src, "s3://%s/cli" % BUCKET], env=env,
                           capture_output=True, text=True, timeout=120)
        self.assertEqual(r.returncode, 0, r.stderr)
        r = subprocess.run(base + ["s3", "ls", "s3://%s/" % BUCKET], env=env, capture_output=True,
                           text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("cli", r.stdout)
        dst = p("cli-download")
        r = subprocess.run(base + ["s3", "cp", "s3://%s/cli" % BUCKET, dst], env=env,
                           capture_output=True, text=True, timeout=120)
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(src, "rb") as a, open(dst, "rb") as b:
            self.assertEqual(a.read(), b.read())
        # Without the bundle the system CAs do not know this server.
        r = subprocess.run(["aws", "--endpoint-url", SERVER.endpoint, "s3", "ls"], env=env,
                           capture_output=True, text=True, timeout=60)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("SSL", r.stderr)

    def test_curl_cacert(self):
        client(SERVER).put_object(Bucket=BUCKET, Key="curl", Body=b"fetched by curl")
        url = "%s/%s/curl" % (SERVER.endpoint, BUCKET)
        r = subprocess.run(["curl", "-sS", "-v", "--cacert", p("root.pem"),
                            "--aws-sigv4", "aws:amz:%s:s3" % hf.REGION, "-H",
                            "x-amz-content-sha256: " + EMPTY_SHA,
                            "--user", "%s:%s" % (hf.ACCESS_KEY, hf.SECRET_KEY), url],
                           capture_output=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, b"fetched by curl")
        self.assertIn(b"SSL connection using TLSv1.3", r.stderr)
        self.assertIn(b"ALPN: server accepted http/1.1", r.stderr)

    def test_wrong_ca_is_refused_and_the_server_goes_on(self):
        failures = metric(SERVER, "holdfast_tls_handshake_failures_total")
        with self.assertRaises(SSLError):
            client(SERVER, ca="wrong.pem").list_buckets()
        r = subprocess.run(["curl", "-sS", "--cacert", p("wrong.pem"), SERVER.endpoint + "/"],
                           capture_output=True, timeout=30)
        self.assertEqual(r.returncode, 60, r.stderr)  # "peer certificate cannot be authenticated"
        with self.assertRaises(ssl.SSLCertVerificationError):
            tls_connect(ctx=context("wrong.pem"))
        hf.wait_for(lambda: metric(SERVER, "holdfast_tls_handshake_failures_total") >= failures + 3,
                    5, "the refused handshakes counted")
        self.assertIn("unknown ca", SERVER.read_log())
        self.assertEqual(client(SERVER).list_buckets()["ResponseMetadata"]["HTTPStatusCode"], 200)


class Protocol(unittest.TestCase):
    def test_tls13_preferred_tls12_accepted(self):
        s = tls_connect()
        self.assertEqual(s.version(), "TLSv1.3")
        s.close()
        ctx = context()
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
        s = tls_connect(ctx=ctx)
        self.assertEqual(s.version(), "TLSv1.2")
        s.sendall(signed_get("/"))
        self.assertTrue(read_all(s).startswith(b"HTTP/1.1 200 "))
        s.close()

    def test_tls11_is_refused(self):
        ctx = context()
        # The client's own policy would stop it before the server could:
        # lower it, so what refuses is the server.
        ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            ctx.minimum_version = ssl.TLSVersion.TLSv1
            ctx.maximum_version = ssl.TLSVersion.TLSv1_1
        with self.assertRaises(ssl.SSLError) as cm:
            tls_connect(ctx=ctx)
        # An alert is what the server sent: it refused the version.
        self.assertIn("TLSV1_ALERT_PROTOCOL_VERSION", str(cm.exception))
        hf.wait_for(lambda: 'why="unsupported protocol"' in SERVER.read_log(), 5, "the log line")

    def test_alpn(self):
        s = tls_connect(alpn=["h2", "http/1.1"])
        self.assertEqual(s.selected_alpn_protocol(), "http/1.1")
        s.close()
        s = tls_connect()
        self.assertIsNone(s.selected_alpn_protocol())
        s.close()
        with self.assertRaises(ssl.SSLError) as cm:
            tls_connect(alpn=["h2"])
        self.assertIn("no application protocol", str(cm.exception))

    def test_keep_alive_and_pipelining_over_tls(self):
        s = tls_connect()
        try:
            # Two requests in one write: the second is decrypted together
            # with the first and must not wait for the socket to wake.
            s.sendall(signed_get("/") + signed_get("/" + BUCKET, query="list-type=2"))
            out = read_responses(s, 2, b"</ListBucketResult>")
            self.assertEqual(out.count(b"HTTP/1.1 200 "), 2, out[:300])
            s.sendall(signed_get("/"))
            self.assertTrue(s.recv(65536).startswith(b"HTTP/1.1 200 "))
        finally:
            s.close()

    def test_request_left_inside_openssl_is_served(self):
        """A body read takes only the bytes it needs from a record; when the
        next request is in the same record, it waits inside OpenSSL where
        epoll cannot see it, and must be served without the client sending
        anything more."""
        h = {"host": "127.0.0.1:%d" % SERVER.port, "content-length": "10"}
        sign("PUT", "/%s/pending" % BUCKET, h, "UNSIGNED-PAYLOAD")
        head = ("PUT /%s/pending HTTP/1.1\r\n" % BUCKET
                + "".join("%s: %s\r\n" % kv for kv in h.items()) + "\r\n").encode()
        s = tls_connect()
        try:
            # Two records: SSL_read returns one record at most, so the head
            # is read alone however the bytes arrive.
            s.sendall(head)
            s.sendall(b"0123456789" + signed_get("/"))
            out = read_responses(s, 2, b"</ListAllMyBucketsResult>")
        finally:
            s.close()
        self.assertEqual(out.count(b"HTTP/1.1 200 "), 2, out[:300])
        self.assertEqual(client(SERVER).get_object(Bucket=BUCKET, Key="pending")["Body"].read(),
                         b"0123456789")

    def test_plain_http_to_the_https_port_gets_400(self):
        before = metric(SERVER, "holdfast_tls_plain_http_requests_total")
        s = socket.create_connection(("127.0.0.1", SERVER.port), timeout=10)
        s.sendall(b"GET /tls HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        out = read_all(s)
        s.close()
        self.assertTrue(out.startswith(b"HTTP/1.1 400 "), out[:200])
        self.assertIn(b"Connection: close", out)
        self.assertIn(b"this port speaks HTTPS", out)
        self.assertEqual(metric(SERVER, "holdfast_tls_plain_http_requests_total"), before + 1)
        # urllib sees a clear HTTP error, not a hang or a reset.
        self.assertEqual(hf.http_status("http://127.0.0.1:%d/" % SERVER.port), 400)

    def test_tls_to_a_plain_port_is_closed(self):
        plain = hf.Server().start()
        try:
            s = socket.create_connection(("127.0.0.1", plain.port), timeout=10)
            s.sendall(client_hello())
            self.assertEqual(read_all(s), b"", "no HTTP text is written to a TLS client")
            s.close()
            with self.assertRaises((ssl.SSLError, ConnectionResetError, OSError)):
                tls_connect(port=plain.port)
            hf.wait_for(lambda: "TLS handshake on a plain HTTP listener" in plain.read_log(), 5,
                        "the log line")
            self.assertEqual(hf.boto3_client(plain).list_buckets()["ResponseMetadata"]
                             ["HTTPStatusCode"], 200)
        finally:
            plain.cleanup()


class Stalls(unittest.TestCase):
    def test_stalled_handshakes_are_cut_and_hold_no_worker(self):
        """40 clients stall in the handshake (more than the 16 workers): half
        stop inside their ClientHello, half after it (the server has
        answered and waits for their Finished). A real client is served
        meanwhile, and every stalled one is closed at the head timeout."""
        hello = client_hello()
        timeouts = metric(SERVER, "holdfast_http_timeouts_total")
        stalled = []
        try:
            for i in range(40):
                s = socket.create_connection(("127.0.0.1", SERVER.port), timeout=10)
                s.sendall(hello[:len(hello) // 2] if i % 2 == 0 else hello)
                stalled.append(s)
            t0 = time.time()
            self.assertEqual(client(SERVER).list_buckets()["ResponseMetadata"]["HTTPStatusCode"], 200)
            self.assertLess(time.time() - t0, HEAD_TIMEOUT_S, "served while they stall")
            for s in stalled:
                # Those that sent a whole ClientHello have the server's
                # reply to read first.
                s.settimeout(HEAD_TIMEOUT_S + 4)
                try:
                    while True:
                        d = s.recv(65536)
                        if not d:
                            break
                        self.assertEqual(d[0], 0x16, "TLS records only, never HTTP text")
                except ConnectionResetError:
                    pass
                except socket.timeout:
                    raise AssertionError("a stalled handshake was not closed")
            took = time.time() - t0
        finally:
            for s in stalled:
                s.close()
        self.assertGreater(took, HEAD_TIMEOUT_S - 0.5, "cut at the deadline, not before")
        self.assertLess(took, HEAD_TIMEOUT_S + 4)
        hf.wait_for(lambda: metric(SERVER, "holdfast_http_timeouts_total") >= timeouts + 40, 5,
                    "40 timeouts counted")

    def test_trickled_handshake_is_cut(self):
        """Each byte re-arms the slot, so only the worker's own check of the
        handshake clock can end it."""
        hello = client_hello()
        s = socket.create_connection(("127.0.0.1", SERVER.port), timeout=10)
        t0 = time.time()
        cut = False
        try:
            for b in hello:
                try:
                    s.sendall(bytes([b]))
                except (BrokenPipeError, ConnectionResetError):
                    cut = True
                    break
                time.sleep(0.05)
                if time.time() - t0 > HEAD_TIMEOUT_S + 4:
                    break
            if not cut:
                cut = closed_within(s, 1) is not None
        finally:
            s.close()
        self.assertTrue(cut, "a trickling handshake kept its connection")
        self.assertLess(time.time() - t0, HEAD_TIMEOUT_S + 4)
        self.assertGreater(len(hello), 40 * HEAD_TIMEOUT_S, "the hello outlasts the timeout")


class Scale(unittest.TestCase):
    def test_200_tls_connections_on_fixed_threads(self):
        pid = SERVER.proc.pid
        before = hf.threads(pid)
        rss0 = hf.rss_kib(pid)
        conns = []
        try:
            for _ in range(200):
                conns.append(tls_connect())
            # All at once: admission control may shed some (503 SlowDown,
            # the connection kept); those ask again, one at a time.
            for s in conns:
                s.sendall(signed_get("/"))
            shed = 0
            for s in conns:
                while True:
                    got = read_response(s)
                    if got.startswith(b"HTTP/1.1 200 "):
                        break
                    self.assertTrue(got.startswith(b"HTTP/1.1 503 ") and b"SlowDown" in got,
                                    got[:200])
                    shed += 1
                    s.sendall(signed_get("/"))
            during = hf.threads(pid)
            self.assertGreaterEqual(metric(SERVER, "holdfast_connections"), 200)
            rss1 = hf.rss_kib(pid)
        finally:
            for s in conns:
                s.close()
        print("    threads: %d before, %d with 200 TLS connections; RSS +%d KiB (%.1f KiB each); "
              "%d requests shed and repeated" % (before, during, rss1 - rss0, (rss1 - rss0) / 200.0,
                                                 shed), flush=True)
        self.assertEqual(during, before)
        # An idle TLS connection keeps its session state, not its buffers
        # (a sanitizer's own bookkeeping would swamp the measure).
        if "/san/" not in hf.BIN:
            self.assertLess((rss1 - rss0) / 200.0, 128)


    def test_over_the_cap_is_closed_without_an_answer(self):
        srv = hf.Server(args=tls_args() + ["--max-connections", "5"]).start()
        held = []
        try:
            for _ in range(5):
                held.append(tls_connect(port=srv.port))
            extra = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
            extra.sendall(client_hello())
            self.assertEqual(read_all(extra), b"", "no clear-text 503 to a TLS client")
            extra.close()
            self.assertEqual(metric(srv, "holdfast_connections_refused_total"), 1)
            held.pop().close()
            hf.wait_for(lambda: tls_connect(port=srv.port).close() is None, 10, "a free slot")
        finally:
            for s in held:
                s.close()
            srv.cleanup()


class Reload(unittest.TestCase):
    def test_sighup_reloads_under_an_open_connection(self):
        d = tempfile.mkdtemp(dir=DIR)
        shutil.copy(p("chain.pem"), os.path.join(d, "cert.pem"))
        shutil.copy(p("leaf.key"), os.path.join(d, "key.pem"))
        srv = hf.Server(args=["--tls-cert", os.path.join(d, "cert.pem"),
                              "--tls-key", os.path.join(d, "key.pem")]).start()
        try:
            old = http.client.HTTPSConnection("127.0.0.1", srv.port, context=context(), timeout=10)
            h = {"host": "127.0.0.1:%d" % srv.port}
            sign("GET", "/", h, EMPTY_SHA)
            old.request("GET", "/", headers=h)
            self.assertEqual(old.getresponse().read()[:5], b"<?xml")
            first = old.sock.getpeercert()["serialNumber"]

            make_leaf("leaf2", "holdfast test server two", "inter")
            cat("chain2.pem", "leaf2.pem", "inter.pem")
            shutil.copy(p("chain2.pem"), os.path.join(d, "cert.pem"))
            shutil.copy(p("leaf2.key"), os.path.join(d, "key.pem"))
            srv.proc.send_signal(signal.SIGHUP)
            hf.wait_for(lambda: "TLS certificate reloaded" in srv.read_log(), 5, "the reload")
            self.assertIn("holdfast test server two", srv.read_log())

            # The open connection goes on with the certificate it has.
            h = {"host": "127.0.0.1:%d" % srv.port}
            sign("GET", "/", h, EMPTY_SHA)
            old.request("GET", "/", headers=h)
            r = old.getresponse()
            self.assertEqual(r.status, 200)
            r.read()
            self.assertEqual(old.sock.getpeercert()["serialNumber"], first)
            old.close()
            # A new one gets the new certificate.
            s = tls_connect(port=srv.port)
            second = s.getpeercert()["serialNumber"]
            s.close()
            self.assertNotEqual(second, first)
            self.assertEqual(metric(srv, 'holdfast_tls_reloads_total', {'result': 'ok'}), 1)

            # A broken key: the reload fails, the server keeps the second pair.
            with open(os.path.join(d, "key.pem"), "w") as f:
                f.write("not a key\n")
            srv.proc.send_signal(signal.SIGHUP)
            hf.wait_for(lambda: "TLS reload failed" in srv.read_log(), 5, "the failed reload")
            self.assertIn("key.pem", srv.read_log().split("TLS reload failed")[1])
            s = tls_connect(port=srv.port)
            self.assertEqual(s.getpeercert()["serialNumber"], second)
            s.close()
            self.assertEqual(metric(srv, 'holdfast_tls_reloads_total', {'result': 'failed'}), 1)
            self.assertEqual(srv.stop(), 0)
        finally:
            srv.cleanup()

    def test_sighup_on_a_plain_server_is_harmless(self):
        srv = hf.Server().start()
        try:
            srv.proc.send_signal(signal.SIGHUP)
            hf.wait_for(lambda: "SIGHUP: nothing to reload" in srv.read_log(), 5, "the log line")
            self.assertEqual(hf.boto3_client(srv).list_buckets()["ResponseMetadata"]
                             ["HTTPStatusCode"], 200)
            self.assertEqual(srv.stop(), 0)
        finally:
            srv.cleanup()


class Observability(unittest.TestCase):
    def test_metrics_and_certificate_expiry(self):
        tls_connect().close()
        self.assertGreater(metric(SERVER, "holdfast_tls_handshakes_total"), 0)
        end = openssl("x509", "-in", p("leaf.pem"), "-noout", "-enddate").strip().split("=", 1)[1]
        want = time.mktime(time.strptime(end, "%b %d %H:%M:%S %Y GMT")) - time.timezone
        got = metric(SERVER, "holdfast_tls_certificate_not_after_timestamp_seconds")
        self.assertAlmostEqual(got, want, delta=2)
        with urllib.request.urlopen(SERVER.status + "/", timeout=5) as r:
            page = r.read().decode()
        self.assertRegex(page, r"TLS certificate</th><td>CN=holdfast test server, expires in "
                               r"(9|10) days")

    def test_status_listener_stays_plain_http(self):
        self.assertTrue(SERVER.status.startswith("http://"))
        self.assertEqual(hf.http_status(SERVER.status + "/health/ready"), 200)


class Faults(unittest.TestCase):
    def test_socket_faults_reach_tls_connections(self):
        srv = hf.Server(args=tls_args() + ["--fault-injection"]).start()
        try:
            s3 = client(srv)
            s3.create_bucket(Bucket="faults")
            s3.put_object(Bucket="faults", Key="k", Body=b"x" * 100000)
            # TLS connections write with write(2), one record per call; the
            # status listener (plain) uses writev, so this hits TLS only.
            # One whole exchange first, so the handshake's writes (session
            # tickets included) are done before the fault is set.
            s = tls_connect(port=srv.port)
            s.sendall(signed_get("/", port=srv.port))
            s.settimeout(10)
            self.assertTrue(s.recv(65536).startswith(b"HTTP/1.1 200 "))
            rc, out, err = hf.admin(srv, "faults", "set", "write:error=EIO/count=1/path=socket")
            self.assertEqual(rc, 0, err)
            s.sendall(signed_get("/faults/k", port=srv.port))
            got = read_all(s)
            s.close()
            self.assertEqual(got, b"", "the failed write ends the connection, nothing half-sent")
            hf.wait_for(lambda: "(fired 1)" in hf.admin(srv, "faults", "show")[1], 5, "the fault")
            self.assertEqual(s3.get_object(Bucket="faults", Key="k")["Body"].read(), b"x" * 100000)
        finally:
            srv.cleanup()


class Flags(unittest.TestCase):
    def refused(self, args, env=None, *needles):
        data = tempfile.mkdtemp(dir=DIR)
        os.rmdir(data)
        e = dict(os.environ, HOLDFAST_ACCESS_KEY=hf.ACCESS_KEY, HOLDFAST_SECRET_KEY=hf.SECRET_KEY)
        e.update(env or {})
        r = subprocess.run([hf.BIN, "server", "--data", data, "--listen", "127.0.0.1:0",
                            "--status-listen", "127.0.0.1:0"] + args, env=e, capture_output=True,
                           text=True, timeout=20)
        self.assertEqual(r.returncode, 2, r.stderr)
        for n in needles:
            self.assertIn(n, r.stderr)
        self.assertFalse(os.path.exists(data), "nothing is created before the checks pass")
        return r.stderr

    def test_both_or_neither(self):
        self.refused(["--tls-cert", p("chain.pem")], None, "--tls-key", "go together")
        self.refused(["--tls-key", p("leaf.key")], None, "--tls-cert", "go together")
        self.refused([], {"HOLDFAST_TLS_CERT": p("chain.pem")}, "--tls-key")

    def test_bad_files_are_named(self):
        self.refused(tls_args("missing.pem"), None, p("missing.pem"), "No such file")
        self.refused(tls_args(key="missing.key"), None, p("missing.key"), "No such file")
        with open(p("garbage.pem"), "w") as f:
            f.write("hello\n")
        self.refused(tls_args("garbage.pem"), None, p("garbage.pem"), "no PEM certificate")
        self.refused(tls_args(key="garbage.pem"), None, p("garbage.pem"), "no PEM private key")
        self.refused(tls_args(key="wrong.key"), None, p("wrong.key"), "does not match")
        openssl("pkey", "-in", "leaf.key", "-aes256", "-passout", "pass:secret", "-out", "enc.key")
        self.refused(tls_args(key="enc.key"), None, p("enc.key"), "encrypted")
        self.refused(tls_args(DIR), None, DIR, "certificate file")  # a directory

    def test_env_form_serves_https(self):
        srv = hf.Server(env={"HOLDFAST_TLS_CERT": p("chain.pem"), "HOLDFAST_TLS_KEY": p("leaf.key")})
        srv.start()
        try:
            self.assertEqual(srv.scheme, "https")
            self.assertEqual(client(srv).list_buckets()["ResponseMetadata"]["HTTPStatusCode"], 200)
        finally:
            srv.cleanup()


if __name__ == "__main__":
    hf.main(__file__)
