#!/usr/bin/python3
"""The wire, byte by byte: aws-chunked bodies in every form (signed chunks,
signed and unsigned trailers, inside Transfer-Encoding: chunked), malformed
HTTP, keep-alive and pipelining, 100-continue, error documents, and a clean
shutdown with uploads in flight.

SigV4 is computed here by an independent implementation (hmac/hashlib, from
the AWS documentation), so these tests also cross-check the server's."""
import base64
import hashlib
import hmac
import os
import re
import socket
import sys
import time
import unittest
import urllib.parse
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hf  # noqa: E402

SERVER = None
BUCKET = "wire"
EMPTY_SHA = hashlib.sha256(b"").hexdigest()


def setUpModule():
    global SERVER
    SERVER = hf.Server().start()
    hf.boto3_client(SERVER).create_bucket(Bucket=BUCKET)


def tearDownModule():
    if SERVER:
        rc = SERVER.stop()
        SERVER.cleanup()
        if rc != 0:
            raise AssertionError("server exited with status %r on SIGTERM" % rc)


# ---- an independent SigV4 ------------------------------------------------

def _hmac(key, msg):
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


def signing_key(secret, date, region="us-east-1"):
    k = _hmac(("AWS4" + secret).encode(), date)
    k = _hmac(k, region)
    k = _hmac(k, "s3")
    return _hmac(k, "aws4_request")


def sign(method, path, headers, payload_hash, query="", ak=hf.ACCESS_KEY, sk=hf.SECRET_KEY,
         amz_date=None):
    """Adds x-amz-date, x-amz-content-sha256 and Authorization to headers (a
    dict with lower-case names). Returns (signature hex, key, scope, amz_date)."""
    amz_date = amz_date or time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    date = amz_date[:8]
    headers["x-amz-date"] = amz_date
    headers["x-amz-content-sha256"] = payload_hash
    signed = sorted(headers)
    canon_headers = "".join("%s:%s\n" % (h, " ".join(str(headers[h]).split())) for h in signed)
    pairs = sorted(urllib.parse.parse_qsl(query, keep_blank_values=True))
    canon_query = "&".join("%s=%s" % (urllib.parse.quote(k, safe="-_.~"), urllib.parse.quote(v, safe="-_.~"))
                           for k, v in pairs)
    # The canonical URI is the path decoded once and re-encoded (S3 rules).
    uri = urllib.parse.quote(urllib.parse.unquote(path), safe="/-_.~")
    creq = "\n".join([method, uri, canon_query, canon_headers,
                      ";".join(signed), payload_hash])
    scope = "%s/us-east-1/s3/aws4_request" % date
    sts = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(creq.encode()).hexdigest()])
    key = signing_key(sk, date)
    sig = hmac.new(key, sts.encode(), hashlib.sha256).hexdigest()
    headers["authorization"] = "AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, Signature=%s" % (
        ak, scope, ";".join(signed), sig)
    return sig, key, scope, amz_date


def chunk_sig(key, amz_date, scope, prev, data):
    sts = "\n".join(["AWS4-HMAC-SHA256-PAYLOAD", amz_date, scope, prev, EMPTY_SHA,
                     hashlib.sha256(data).hexdigest()])
    return hmac.new(key, sts.encode(), hashlib.sha256).hexdigest()


def trailer_sig(key, amz_date, scope, prev, trailer_text):
    sts = "\n".join(["AWS4-HMAC-SHA256-TRAILER", amz_date, scope, prev,
                     hashlib.sha256(trailer_text.encode()).hexdigest()])
    return hmac.new(key, sts.encode(), hashlib.sha256).hexdigest()


def _crc32c_table():
    t = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        t.append(c)
    return t


CRC32C = _crc32c_table()


def crc32c(data):
    c = 0xFFFFFFFF
    for b in data:
        c = CRC32C[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


def b64crc(v):
    return base64.b64encode(v.to_bytes(4, "big")).decode()


# ---- raw HTTP --------------------------------------------------------------

class Conn:
    """One client connection that reads responses off a byte buffer, so
    pipelined responses that arrive together are split correctly."""

    def __init__(self, port=None):
        self.s = socket.create_connection(("127.0.0.1", port or SERVER.port), timeout=30)
        self.buf = b""

    def sendall(self, data):
        self.s.sendall(data)

    def send_head(self, method, target, headers):
        self.s.sendall(("%s %s HTTP/1.1\r\n" % (method, target) +
                        "".join("%s: %s\r\n" % kv for kv in headers.items()) + "\r\n").encode())

    def _fill(self):
        d = self.s.recv(65536)
        if not d:
            raise ConnectionError("connection closed; had %r" % self.buf[:200])
        self.buf += d

    def closed_by_peer(self):
        if self.buf:
            return False
        return self.s.recv(1) == b""

    def read_response(self, head_only=False):
        """(status, headers dict, body) of the next response."""
        while b"\r\n\r\n" not in self.buf:
            self._fill()
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = {}
        for line in lines[1:]:
            k, v = line.split(":", 1)
            headers[k.strip().lower()] = v.strip()
        n = int(headers.get("content-length", "0"))
        if head_only or status in (100, 204, 304):
            n = 0
        while len(self.buf) < n:
            self._fill()
        body, self.buf = self.buf[:n], self.buf[n:]
        return status, headers, body

    def close(self):
        self.s.close()


def request(method, path, headers, body=b"", query=""):
    c = Conn()
    try:
        c.send_head(method, path + ("?" + query if query else ""), headers)
        c.sendall(body)
        return c.read_response(head_only=(method == "HEAD"))
    finally:
        c.close()


def signed(method, path, body=b"", extra=None, query=""):
    h = {"host": "127.0.0.1:%d" % SERVER.port}
    if body or method in ("PUT", "POST"):
        h["content-length"] = str(len(body))
    h.update(extra or {})
    sign(method, path, h, hashlib.sha256(body).hexdigest(), query=query)
    return request(method, path, h, body, query)


def get_object(key):
    return signed("GET", "/%s/%s" % (BUCKET, key))


def error_code(body):
    m = re.search(rb"<Code>([^<]*)</Code>", body)
    return m.group(1).decode() if m else None


# ---- aws-chunked bodies ---------------------------------------------------

def signed_chunked_body(key, amz_date, scope, seed, chunks, trailers=None):
    out = b""
    prev = seed
    for c in chunks + [b""]:
        sig = chunk_sig(key, amz_date, scope, prev, c)
        out += b"%x;chunk-signature=%s\r\n" % (len(c), sig.encode())
        if c or trailers is None:
            out += c + b"\r\n"
        prev = sig
    if trailers is not None:
        text = "".join("%s:%s\n" % (k, v) for k, v in trailers)
        out += "".join("%s:%s\r\n" % (k, v) for k, v in trailers).encode()
        out += b"x-amz-trailer-signature:%s\r\n\r\n" % trailer_sig(key, amz_date, scope, prev, text).encode()
    return out


def unsigned_trailer_body(chunks, trailers):
    out = b""
    for c in chunks:
        out += b"%x\r\n" % len(c) + c + b"\r\n"
    out += b"0\r\n" + "".join("%s:%s\r\n" % (k, v) for k, v in trailers).encode() + b"\r\n"
    return out


def streaming_put(key, mode, chunks, trailers=None, tamper=None, te_chunked=False,
                  decoded_len=None, trailer_name=None):
    path = "/%s/%s" % (BUCKET, key)
    data = b"".join(chunks)
    h = {"host": "127.0.0.1:%d" % SERVER.port, "content-encoding": "aws-chunked",
         "x-amz-decoded-content-length": str(len(data) if decoded_len is None else decoded_len)}
    if trailer_name:
        h["x-amz-trailer"] = trailer_name
    # The encoded length depends only on sizes, so build once with a dummy
    # seed to learn it, then sign for real.
    amz_date = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    if mode == "STREAMING-UNSIGNED-PAYLOAD-TRAILER":
        body = unsigned_trailer_body(chunks, trailers or [])
    else:
        body = signed_chunked_body(b"k" * 32, amz_date, "s", "0" * 64, chunks, trailers)
    if not te_chunked:
        h["content-length"] = str(len(body))
    seed, key_, scope, _ = sign("PUT", path, h, mode, amz_date=amz_date)
    if mode != "STREAMING-UNSIGNED-PAYLOAD-TRAILER":
        body = signed_chunked_body(key_, amz_date, scope, seed, chunks, trailers)
    if tamper:
        body = tamper(body)
    if te_chunked:
        h["transfer-encoding"] = "chunked"
        wire = b""
        for i in range(0, len(body), 1000):
            piece = body[i:i + 1000]
            wire += b"%x\r\n" % len(piece) + piece + b"\r\n"
        body = wire + b"0\r\n\r\n"
    return request("PUT", path, h, body)


class AwsChunked(unittest.TestCase):
    CHUNKS = [os.urandom(65536), os.urandom(65536), os.urandom(1000)]

    def check_stored(self, key, data):
        st, h, body = get_object(key)
        self.assertEqual(st, 200)
        self.assertEqual(hashlib.sha256(body).hexdigest(), hashlib.sha256(data).hexdigest())
        self.assertEqual(h["etag"], '"%s"' % hashlib.md5(data).hexdigest())

    def check_absent(self, key):
        st, _, body = get_object(key)
        self.assertEqual(st, 404, body)

    def test_signed_chunks(self):
        st, h, body = streaming_put("sc", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD", self.CHUNKS)
        self.assertEqual(st, 200, body)
        self.check_stored("sc", b"".join(self.CHUNKS))

    def test_signed_chunk_tampered_is_refused(self):
        def flip(b):
            i = b.index(b"\r\n") + 2 + 70000 % 65536  # a byte inside the first chunk's data
            return b[:i] + bytes([b[i] ^ 1]) + b[i + 1:]
        st, _, body = streaming_put("sct", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD", self.CHUNKS, tamper=flip)
        self.assertEqual(st, 403)
        self.assertEqual(error_code(body), "SignatureDoesNotMatch")
        self.check_absent("sct")

    def test_signed_chunk_truncated_is_refused(self):
        st, _, body = streaming_put("sctr", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD", self.CHUNKS,
                                    decoded_len=sum(map(len, self.CHUNKS)) + 10)
        self.assertEqual(st, 400)
        self.assertEqual(error_code(body), "IncompleteBody")
        self.check_absent("sctr")

    def test_signed_trailer(self):
        data = b"".join(self.CHUNKS)
        tr = [("x-amz-checksum-crc32c", b64crc(crc32c(data)))]
        st, _, body = streaming_put("st", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER", self.CHUNKS,
                                    trailers=tr, trailer_name="x-amz-checksum-crc32c")
        self.assertEqual(st, 200, body)
        self.check_stored("st", data)

    def test_signed_trailer_bad_signature(self):
        data = b"".join(self.CHUNKS)
        tr = [("x-amz-checksum-crc32c", b64crc(crc32c(data)))]

        def bad_sig(b):
            i = b.rindex(b"x-amz-trailer-signature:") + len(b"x-amz-trailer-signature:")
            return b[:i] + (b"0" if b[i:i + 1] != b"0" else b"1") + b[i + 1:]
        st, _, body = streaming_put("stb", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER", self.CHUNKS,
                                    trailers=tr, trailer_name="x-amz-checksum-crc32c", tamper=bad_sig)
        self.assertEqual(st, 403)
        self.assertEqual(error_code(body), "SignatureDoesNotMatch")
        self.check_absent("stb")

    def test_unsigned_trailers_every_algorithm(self):
        data = b"".join(self.CHUNKS)
        for name, value in [("x-amz-checksum-crc32", b64crc(zlib.crc32(data))),
                            ("x-amz-checksum-crc32c", b64crc(crc32c(data))),
                            ("x-amz-checksum-sha256", base64.b64encode(hashlib.sha256(data).digest()).decode()),
                            ("x-amz-checksum-sha1", base64.b64encode(hashlib.sha1(data).digest()).decode())]:
            key = "ut-" + name
            st, _, body = streaming_put(key, "STREAMING-UNSIGNED-PAYLOAD-TRAILER", self.CHUNKS,
                                        trailers=[(name, value)], trailer_name=name)
            self.assertEqual(st, 200, (name, body))
            self.check_stored(key, data)
            wrong = base64.b64encode(bytes(len(base64.b64decode(value)))).decode()
            st, _, body = streaming_put(key + "-bad", "STREAMING-UNSIGNED-PAYLOAD-TRAILER", self.CHUNKS,
                                        trailers=[(name, wrong)], trailer_name=name)
            self.assertEqual(st, 400, name)
            self.assertEqual(error_code(body), "BadDigest")
            self.check_absent(key + "-bad")

    def test_trailer_declared_but_missing(self):
        st, _, body = streaming_put("utm", "STREAMING-UNSIGNED-PAYLOAD-TRAILER", self.CHUNKS,
                                    trailers=[], trailer_name="x-amz-checksum-crc32")
        self.assertEqual(st, 400)
        self.check_absent("utm")

    def test_inside_transfer_encoding_chunked(self):
        """The JS SDK streams aws-chunked inside Transfer-Encoding: chunked."""
        data = b"".join(self.CHUNKS)
        st, _, body = streaming_put("te", "STREAMING-UNSIGNED-PAYLOAD-TRAILER", self.CHUNKS,
                                    trailers=[("x-amz-checksum-crc32", b64crc(zlib.crc32(data)))],
                                    trailer_name="x-amz-checksum-crc32", te_chunked=True)
        self.assertEqual(st, 200, body)
        self.check_stored("te", data)

    def test_plain_transfer_encoding_chunked_is_501(self):
        path = "/%s/plain-te" % BUCKET
        h = {"host": "127.0.0.1:%d" % SERVER.port, "transfer-encoding": "chunked"}
        sign("PUT", path, h, "UNSIGNED-PAYLOAD")
        st, _, body = request("PUT", path, h, b"5\r\nhello\r\n0\r\n\r\n")
        self.assertEqual(st, 501)
        self.assertEqual(error_code(body), "NotImplemented")


class Http(unittest.TestCase):
    def raw(self, data):
        c = Conn()
        try:
            c.sendall(data)
            return c.read_response()
        finally:
            c.close()

    def test_bad_heads_get_s3_errors(self):
        cases = [
            (b"GARBAGE\r\n\r\n", 400),
            (b"GET / HTTP/1.1\r\nHost: x\r\nBad Header: y\r\n\r\n", 400),
            (b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx", 400),
            (b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", 400),
            (b"GET / HTTP/1.1\r\nHost: x\r\nX: a\rb\r\n\r\n", 400),
            (b"GET / HTTP/1.1\nHost: x\n\n", 400),
            (b"GET / HTTP/1.1\r\n\r\n", 400),
            (b"GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505),
            (b"GET / HTTP/1.1\r\nHost: x\r\nX: " + b"a" * 20000 + b"\r\n\r\n", 431),
        ]
        for data, want in cases:
            st, h, body = self.raw(data)
            self.assertEqual(st, want, data[:60])
            self.assertEqual(h.get("connection"), "close")
            self.assertIn(b"<Error><Code>", body)

    def test_keep_alive_and_pipelining(self):
        c = Conn()
        try:
            reqs = b""
            for _ in range(3):
                h = {"host": "127.0.0.1:%d" % SERVER.port}
                sign("GET", "/", h, EMPTY_SHA)
                reqs += b"GET / HTTP/1.1\r\n" + "".join("%s: %s\r\n" % kv for kv in h.items()).encode() + b"\r\n"
            c.sendall(reqs)
            got = [c.read_response() for _ in range(3)]
            self.assertEqual([g[0] for g in got], [200, 200, 200])
            self.assertEqual(len(set(g[1]["x-amz-request-id"] for g in got)), 3, "each request has its own id")
            self.assertTrue(all(b"<ListAllMyBucketsResult" in g[2] for g in got))
            # The connection is still usable afterwards.
            h = {"host": "127.0.0.1:%d" % SERVER.port}
            sign("GET", "/", h, EMPTY_SHA)
            c.send_head("GET", "/", h)
            self.assertEqual(c.read_response()[0], 200)
        finally:
            c.close()

    def test_expect_continue(self):
        path = "/%s/cont" % BUCKET
        body = b"x" * 5000
        h = {"host": "127.0.0.1:%d" % SERVER.port, "content-length": str(len(body)), "expect": "100-continue"}
        sign("PUT", path, h, hashlib.sha256(body).hexdigest())
        c = Conn()
        try:
            c.send_head("PUT", path, h)
            self.assertEqual(c.read_response()[0], 100)
            c.sendall(body)
            self.assertEqual(c.read_response()[0], 200)
            # An empty body still gets its 100 Continue (botocore relies on it).
            h = {"host": "127.0.0.1:%d" % SERVER.port, "content-length": "0", "expect": "100-continue"}
            sign("PUT", path + "0", h, EMPTY_SHA)
            c.send_head("PUT", path + "0", h)
            self.assertEqual(c.read_response()[0], 100)
            self.assertEqual(c.read_response()[0], 200)
        finally:
            c.close()

    def test_expect_continue_refused_early(self):
        """A request refused before its body: no 100, the error, then the connection closes."""
        path = "/no-such-bucket-wire/k"
        h = {"host": "127.0.0.1:%d" % SERVER.port, "content-length": "100000", "expect": "100-continue"}
        sign("PUT", path, h, "UNSIGNED-PAYLOAD")
        c = Conn()
        try:
            c.send_head("PUT", path, h)
            st, hd, body = c.read_response()
            self.assertEqual(st, 404)
            self.assertEqual(error_code(body), "NoSuchBucket")
            self.assertEqual(hd.get("connection"), "close")
            self.assertTrue(c.closed_by_peer())
        finally:
            c.close()

    def test_error_document_fields(self):
        st, h, body = signed("GET", "/%s/missing/key" % BUCKET)
        self.assertEqual(st, 404)
        self.assertEqual(h["content-type"], "application/xml")
        rid = h["x-amz-request-id"]
        self.assertRegex(rid, r"^[0-9A-F]{16}$")
        for field in (b"<Code>NoSuchKey</Code>", b"<Message>", b"<Resource>/wire/missing/key</Resource>",
                      ("<RequestId>%s</RequestId>" % rid).encode()):
            self.assertIn(field, body)

    def test_head_error_has_no_body(self):
        st, h, body = signed("HEAD", "/%s/missing" % BUCKET)
        self.assertEqual(st, 404)
        self.assertEqual(body, b"")
        self.assertIn("x-amz-request-id", h)

    def test_query_string_and_path_escapes(self):
        key = "a b/c%2Bd+e"
        st, _, _ = signed("PUT", "/%s/%s" % (BUCKET, urllib.parse.quote(key, safe="/")), b"esc")
        self.assertEqual(st, 200)
        c = hf.boto3_client(SERVER)
        self.assertEqual(c.get_object(Bucket=BUCKET, Key=key)["Body"].read(), b"esc")
        st, _, body = request("GET", "/%s/bad%%zz" % BUCKET, {"host": "x"})
        self.assertEqual(st, 400)
        self.assertEqual(error_code(body), "InvalidURI")


class Threads(unittest.TestCase):
    def test_fixed_thread_count_whatever_the_connections(self):
        before = hf.threads(SERVER.proc.pid)
        conns = []
        try:
            for _ in range(300):
                c = Conn()
                h = {"host": "127.0.0.1:%d" % SERVER.port}
                sign("GET", "/", h, EMPTY_SHA)
                c.send_head("GET", "/", h)
                conns.append(c)
            for c in conns:
                self.assertEqual(c.read_response()[0], 200)
            during = hf.threads(SERVER.proc.pid)
        finally:
            for c in conns:
                c.close()
        print("    threads: %d before, %d with 300 open connections" % (before, during), flush=True)
        self.assertEqual(during, before)
        # 16 S3 workers + 4 status workers + metadata writer + housekeeping + the
        # status sampler + main.
        self.assertEqual(before, 24)


class Shutdown(unittest.TestCase):
    def test_sigterm_finishes_inflight_and_aborts_stalled(self):
        srv = hf.Server().start()
        try:
            hf.boto3_client(srv).create_bucket(Bucket="bkt")
            size = 3 * 1024 * 1024

            def start_put(key):
                path = "/bkt/%s" % key
                h = {"host": "127.0.0.1:%d" % srv.port, "content-length": str(size)}
                sign("PUT", path, h, "UNSIGNED-PAYLOAD")
                c = Conn(srv.port)
                c.send_head("PUT", path, h)
                c.sendall(b"a" * (size // 2))
                return c
            finishing = start_put("finishing")
            stalled = start_put("stalled")
            time.sleep(0.3)
            srv.proc.send_signal(15)
            time.sleep(0.5)
            finishing.sendall(b"a" * (size - size // 2))
            st, _, _ = finishing.read_response()
            self.assertEqual(st, 200, "an in-flight upload finishes after SIGTERM")
            self.assertEqual(srv.stop(timeout=40), 0)
            finishing.close()
            stalled.close()
            srv.start()
            c = hf.boto3_client(srv)
            self.assertEqual(len(c.get_object(Bucket="bkt", Key="finishing")["Body"].read()), size)
            keys = [o["Key"] for o in c.list_objects_v2(Bucket="bkt").get("Contents", [])]
            self.assertEqual(keys, ["finishing"], "the aborted upload left nothing behind")
        finally:
            srv.cleanup()


if __name__ == "__main__":
    hf.main(__file__)
