#!/usr/bin/python3
"""Hostile HTTP: every limit answers its status and S3 error, smuggling
shapes are refused with 400 and leave no second request behind, slow heads,
slow bodies, slow readers and idle keep-alives are cut on time, and a
connection over the cap gets a clear 503 -- while the server keeps serving
everyone else."""
import hashlib
import os
import re
import socket
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hf  # noqa: E402
from test_wire import EMPTY_SHA, sign  # noqa: E402  (an independent SigV4)

from botocore.exceptions import ClientError  # noqa: E402

SERVER = None
BUCKET = "hostile"
TIMEOUTS = ["--head-timeout", "1s", "--io-timeout", "1s", "--idle-timeout", "2s"]


def setUpModule():
    global SERVER
    SERVER = hf.Server(args=TIMEOUTS).start()
    hf.boto3_client(SERVER).create_bucket(Bucket=BUCKET)


def tearDownModule():
    if SERVER:
        SERVER.cleanup()


def connect(port=None):
    s = socket.create_connection(("127.0.0.1", port or SERVER.port), timeout=20)
    return s


def read_all(s, limit=1 << 26):
    """Everything until the server closes (or limit bytes)."""
    out = b""
    while len(out) < limit:
        try:
            d = s.recv(65536)
        except (ConnectionResetError, socket.timeout):
            break
        if not d:
            break
        out += d
    return out


def responses(data):
    return re.findall(rb"HTTP/1\.1 (\d{3}) ", data)


def code(data):
    m = re.search(rb"<Code>([^<]*)</Code>", data)
    return m.group(1).decode() if m else None


def signed_head(method, path, extra=None, payload=EMPTY_SHA, port=None):
    h = {"host": "127.0.0.1:%d" % (port or SERVER.port)}
    h.update(extra or {})
    sign(method, path, h, payload)
    return ("%s %s HTTP/1.1\r\n" % (method, path) + "".join("%s: %s\r\n" % kv for kv in h.items())
            + "\r\n").encode()


def server_alive():
    st = hf.boto3_client(SERVER).list_buckets()["ResponseMetadata"]["HTTPStatusCode"]
    return st == 200


class Limits(unittest.TestCase):
    def raw(self, data):
        s = connect()
        try:
            s.sendall(data)
            return read_all(s)
        finally:
            s.close()

    def test_head_and_header_count_and_url(self):
        big = b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * (17 * 1024) + b"\r\n\r\n"
        out = self.raw(big)
        self.assertEqual(responses(out), [b"431"])
        self.assertEqual(code(out), "RequestHeaderSectionTooLarge")
        many = b"GET / HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-H%d: v\r\n" % i for i in range(101)) + b"\r\n"
        out = self.raw(many)
        self.assertEqual(responses(out), [b"431"])
        long_url = b"GET /" + b"a" * (8 * 1024 + 10) + b" HTTP/1.1\r\nHost: x\r\n\r\n"
        out = self.raw(long_url)
        self.assertEqual(responses(out), [b"414"])
        self.assertTrue(server_alive())

    def test_key_metadata_and_xml_limits(self):
        s3 = hf.boto3_client(SERVER)
        with self.assertRaises(ClientError) as cm:
            s3.put_object(Bucket=BUCKET, Key="k" * 1025, Body=b"x")
        self.assertEqual(cm.exception.response["Error"]["Code"], "KeyTooLongError")
        s3.put_object(Bucket=BUCKET, Key="k" * 1024, Body=b"x")  # the limit itself is fine
        with self.assertRaises(ClientError) as cm:
            s3.put_object(Bucket=BUCKET, Key="m", Body=b"x", Metadata={"a": "v" * 2100})
        self.assertEqual(cm.exception.response["Error"]["Code"], "MetadataTooLarge")
        # An XML body over the bound is refused before it is parsed.
        body = (b"<Delete>" + b"<Object><Key>" + b"k" * 1000 + b"</Key></Object>" * 1) * 1300 + b"</Delete>"
        path = "/%s?delete=" % BUCKET
        h = {"host": "127.0.0.1:%d" % SERVER.port, "content-length": str(len(body)),
             "content-md5": __import__("base64").b64encode(hashlib.md5(body).digest()).decode()}
        sign("POST", "/" + BUCKET, h, hashlib.sha256(body).hexdigest(), query="delete=")
        s = connect()
        try:
            s.sendall(("POST %s HTTP/1.1\r\n" % path).encode() +
                      "".join("%s: %s\r\n" % kv for kv in h.items()).encode() + b"\r\n")
            try:
                s.sendall(body)
            except (BrokenPipeError, ConnectionResetError):
                pass
            out = read_all(s)
        finally:
            s.close()
        self.assertEqual(responses(out)[:1], [b"400"], out[:300])
        self.assertIn(code(out), ("MalformedXML", "EntityTooLarge"))
        self.assertTrue(server_alive())


class Smuggling(unittest.TestCase):
    # Each is followed by a second, valid-looking request: if the server read
    # the first differently from a proxy, the second would be answered too.
    SHAPES = [
        ("two Content-Lengths", b"POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello"),
        ("Content-Length list", b"POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 5\r\n\r\nhello"),
        ("CL and TE", b"POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
        ("TE and CL", b"POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n"),
        ("CR in a value", b"GET / HTTP/1.1\r\nHost: a\r\nX-A: b\rTransfer-Encoding: chunked\r\n\r\n"),
        ("space before colon", b"POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\n"),
        ("tab before colon", b"POST /x HTTP/1.1\r\nHost: a\r\nContent-Length\t: 5\r\n\r\nhello"),
        ("obs-fold", b"GET / HTTP/1.1\r\nHost: a\r\nX-A: b\r\n Transfer-Encoding: chunked\r\n\r\n"),
        ("bare LF", b"GET / HTTP/1.1\nHost: a\n\n"),
        ("NUL in a value", b"GET / HTTP/1.1\r\nHost: a\r\nX-A: b\x00c\r\n\r\n"),
        ("TE chunked twice", b"POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n"),
        ("two TE lines", b"POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
        ("TE identity", b"POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: identity\r\n\r\n"),
        ("TE on HTTP/1.0", b"POST /x HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
        ("signed Content-Length", b"POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: +5\r\n\r\nhello"),
        ("two Hosts", b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"),
        ("absolute-form", b"GET http://a/ HTTP/1.1\r\nHost: a\r\n\r\n"),
    ]

    def test_shapes_are_400_and_nothing_follows(self):
        tail = b"GET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n"
        for name, data in self.SHAPES:
            s = connect()
            try:
                s.sendall(data + tail)
                out = read_all(s)
            finally:
                s.close()
            self.assertEqual(responses(out), [b"400"], "%s: %r" % (name, out[:200]))
            self.assertIn(b"Connection: close", out, name)
            self.assertIn(b"<Error><Code>", out, name)
        self.assertTrue(server_alive())


class Timeouts(unittest.TestCase):
    def test_trickled_head_gets_408(self):
        s = connect()
        try:
            t0 = time.time()
            head = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"z" * 100
            closed = False
            for b in head:
                try:
                    s.sendall(bytes([b]))
                except (BrokenPipeError, ConnectionResetError):
                    closed = True
                    break
                time.sleep(0.05)
                if time.time() - t0 > 4:
                    break
            out = read_all(s)
            took = time.time() - t0
        finally:
            s.close()
        self.assertTrue(closed or out, "the connection stayed open")
        self.assertEqual(responses(out), [b"408"], out[:200])
        self.assertEqual(code(out), "RequestTimeout")
        self.assertLess(took, 4.0)

    def test_silent_partial_head_is_closed(self):
        s = connect()
        try:
            s.sendall(b"GET / HTTP/1.1\r\nHost: a\r\n")
            t0 = time.time()
            out = read_all(s)
            took = time.time() - t0
        finally:
            s.close()
        self.assertEqual(out, b"")
        self.assertLess(took, 6.0)  # head timeout 1 s, swept within about 2 s more

    def test_trickled_body_gets_request_timeout(self):
        path = "/%s/slowbody" % BUCKET
        s = connect()
        try:
            s.sendall(signed_head("PUT", path, {"content-length": "100000"}, "UNSIGNED-PAYLOAD"))
            s.sendall(b"a" * 1000)
            t0 = time.time()
            s.settimeout(0.3)
            out = b""
            while time.time() - t0 < 8 and not out:
                try:
                    s.sendall(b"b")
                except (BrokenPipeError, ConnectionResetError):
                    break
                try:
                    out = s.recv(65536)
                except socket.timeout:
                    pass
            s.settimeout(5)
            out += read_all(s)
            took = time.time() - t0
        finally:
            s.close()
        self.assertEqual(responses(out), [b"400"], out[:300])
        self.assertEqual(code(out), "RequestTimeout")
        self.assertLess(took, 6.0)
        with self.assertRaises(ClientError):
            hf.boto3_client(SERVER).head_object(Bucket=BUCKET, Key="slowbody")

    def test_slow_reader_is_cut(self):
        size = 48 * 1024 * 1024
        hf.boto3_client(SERVER).put_object(Bucket=BUCKET, Key="big", Body=b"r" * size)
        s = connect()
        try:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
            s.sendall(signed_head("GET", "/%s/big" % BUCKET))
            time.sleep(4)  # read nothing: the server's budget runs dry
            got = len(read_all(s, limit=size + 10000))
        finally:
            s.close()
        self.assertLess(got, size, "a reader that stalls is cut off, not waited for")
        self.assertTrue(server_alive())

    def test_idle_keepalive_is_closed(self):
        s = connect()
        try:
            s.sendall(signed_head("GET", "/"))
            s.settimeout(5)
            first = s.recv(65536)
            self.assertEqual(responses(first)[:1], [b"200"])
            while b"</ListAllMyBucketsResult>" not in first:
                first += s.recv(65536)
            t0 = time.time()
            s.settimeout(10)
            rest = s.recv(65536)
            took = time.time() - t0
        finally:
            s.close()
        self.assertEqual(rest, b"")
        self.assertGreater(took, 1.5)
        self.assertLess(took, 7.0)

    def test_a_fast_client_is_unaffected(self):
        """The budget refills with every byte: a big upload well over the
        I/O timeout in length passes untouched."""
        body = os.urandom(24 * 1024 * 1024)
        path = "/%s/fast" % BUCKET
        s = connect()
        try:
            s.sendall(signed_head("PUT", path, {"content-length": str(len(body))}, "UNSIGNED-PAYLOAD"))
            for i in range(0, len(body), 1 << 20):
                s.sendall(body[i:i + (1 << 20)])
                time.sleep(0.05)  # 1.2 s in all: longer than the 1 s timeout
            s.settimeout(20)
            out = s.recv(65536)
        finally:
            s.close()
        self.assertEqual(responses(out)[:1], [b"200"], out[:300])
        got = hf.boto3_client(SERVER).get_object(Bucket=BUCKET, Key="fast")["Body"].read()
        self.assertEqual(hashlib.sha256(got).digest(), hashlib.sha256(body).digest())


class ConnectionCap(unittest.TestCase):
    def test_over_the_cap_gets_503_then_recovers(self):
        srv = hf.Server(args=["--max-connections", "20"]).start()
        held = []
        try:
            for _ in range(20):
                held.append(connect(srv.port))
            time.sleep(0.3)  # the server accepts them all
            extra = connect(srv.port)
            out = read_all(extra)
            extra.close()
            self.assertEqual(responses(out), [b"503"], out[:200])
            self.assertEqual(code(out), "SlowDown")
            self.assertIn(b"too many connections", out)
            self.assertIn(b"Retry-After: 1", out)
            self.assertEqual(hf.http_status(srv.status + "/health/live"), 200)
            for s in held[:5]:
                s.close()
            del held[:5]

            def served():
                s = connect(srv.port)
                try:
                    s.sendall(signed_head("GET", "/", port=srv.port))
                    return responses(s.recv(65536))[:1] == [b"200"]
                finally:
                    s.close()
            hf.wait_for(served, 10, "a free slot")
        finally:
            for s in held:
                s.close()
            srv.cleanup()


if __name__ == "__main__":
    hf.main(__file__)
