#!/usr/bin/python3
"""Waiting costs no thread (net/loop.h, base/fiber.h, guard/guard.h).

A request waiting for its client, a disk or a commit holds memory, never a
thread or an admission slot that others need:
- 200 connections trickling large uploads from one address: other clients'
  GETs are all served (none shed), and the thread count does not move;
- a body that moves slower than --min-transfer-rate is answered 400
  RequestTimeout, as S3 does;
- one address may hold --max-conns-per-address connections; others are
  not affected;
- one access key with 256 connections of small PUTs is served, not shed,
  with the default settings;
- when work really queues (a disk that takes its time behind one I/O
  thread), new requests of the key causing the queue are shed with
  SlowDown while a light key still gets in.
"""
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
import unittest
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hf  # noqa: E402
import loadgen  # noqa: E402

from botocore.exceptions import ClientError  # noqa: E402

TRICKLERS = 200


metric = hf.metric


def presigned_put(s3, bucket, key):
    url = s3.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": key},
                                    ExpiresIn=3600)
    u = urllib.parse.urlsplit(url)
    return u.path + "?" + u.query


def open_upload(server, target, length, source="127.0.0.1", first=b""):
    """A connection from `source` that has sent the head of a PUT of `length`
    bytes and `first` body bytes."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind((source, 0))
    s.connect(("127.0.0.1", server.port))
    s.sendall(("PUT %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nContent-Length: %d\r\n\r\n"
               % (target, server.port, length)).encode() + first)
    return s


def read_response(s, timeout):
    """Status and body of one response on s (Content-Length framed)."""
    s.settimeout(timeout)
    data = b""
    while b"\r\n\r\n" not in data:
        k = s.recv(65536)
        if not k:
            raise AssertionError("connection closed without a response")
        data += k
    head, body = data.split(b"\r\n\r\n", 1)
    status = int(head.split()[1])
    m = re.search(rb"(?i)content-length:\s*(\d+)", head)
    n = int(m.group(1)) if m else 0
    while len(body) < n:
        k = s.recv(65536)
        if not k:
            break
        body += k
    return status, head.decode(errors="replace"), body


def error_code(body):
    m = re.search(rb"<Code>([^<]+)</Code>", body)
    return m.group(1).decode() if m else None


class SlowClients(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = hf.Server(args=["--access-log", "off"]).start()
        cls.s3 = hf.boto3_client(cls.server)
        cls.s3.create_bucket(Bucket="waiting")
        keys = ["small%d" % i for i in range(4)]
        for k in keys:
            cls.s3.put_object(Bucket="waiting", Key=k, Body=os.urandom(4096))
        cls.gets = loadgen.presigned_gets(cls.s3, "waiting", keys)

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()

    def test_trickling_uploads_cost_no_thread_and_shed_nobody(self):
        base = loadgen.run(self.server.endpoint, self.gets, 4, 2.0)
        self.assertEqual(base.errors, [])
        threads_before = hf.threads(self.server.proc.pid)
        target = presigned_put(self.s3, "waiting", "trickled")
        socks = [open_upload(self.server, target, 1000000, "127.0.0.2", b"t" * 100)
                 for _ in range(TRICKLERS)]
        stop = threading.Event()

        def feed():
            # Each upload keeps moving, slowly: 64 bytes every half second.
            while not stop.wait(0.5):
                for s in socks:
                    try:
                        s.send(b"t" * 64)
                    except OSError:
                        pass
        feeder = threading.Thread(target=feed)
        feeder.start()
        try:
            hf.wait_for(lambda: (metric(self.server, "holdfast_admission_in_flight") or 0)
                        >= TRICKLERS, timeout=30, what="every trickling upload admitted")
            loaded = loadgen.run(self.server.endpoint, self.gets, 4, 3.0)
            threads_during = hf.threads(self.server.proc.pid)
            waiting = metric(self.server, "holdfast_http_requests_waiting_or_running")
        finally:
            stop.set()
            feeder.join()
            for s in socks:
                s.close()
        report = ("GET 4 KiB: unloaded %d ok, p99 %.1f ms; with %d trickling uploads %d ok of %d, "
                  "p99 %.1f ms, shed %d; threads %d -> %d; fibers %d"
                  % (base.count(200), 1000 * base.latency_quantile(0.99), TRICKLERS,
                     loaded.count(200), loaded.count(), 1000 * loaded.latency_quantile(0.99),
                     loaded.count(503), threads_before, threads_during, waiting))
        print("    " + report, flush=True)
        self.assertEqual(loaded.errors, [], report)
        self.assertGreater(loaded.count(), 50, report)
        self.assertEqual(loaded.count(503), 0, report)
        self.assertEqual(loaded.count(200), loaded.count(), report)
        self.assertEqual(threads_during, threads_before, report)
        self.assertGreaterEqual(waiting, TRICKLERS, report)
        # The abandoned uploads end (the server reads the hang-ups) and
        # leave nothing behind.
        hf.wait_for(lambda: metric(self.server, "holdfast_admission_in_flight") == 0, timeout=30,
                    what="abandoned uploads to end")
        with self.assertRaises(ClientError):
            self.s3.head_object(Bucket="waiting", Key="trickled")

    def test_per_address_connection_cap(self):
        srv = hf.Server(args=["--access-log", "off", "--max-conns-per-address", "8"]).start()
        held = []
        try:
            for _ in range(8):
                s = socket.create_connection(("127.0.0.1", srv.port), source_address=("127.0.0.3", 0))
                held.append(s)
            extra = socket.create_connection(("127.0.0.1", srv.port), source_address=("127.0.0.3", 0))
            status, head, body = read_response(extra, 10)
            extra.close()
            self.assertEqual(status, 503)
            self.assertEqual(error_code(body), "SlowDown")
            self.assertIn("this address", body.decode())
            self.assertIn("Retry-After", head)
            # Another address is not affected.
            c = hf.boto3_client(srv)
            c.create_bucket(Bucket="capped")
            # A freed connection makes room again.
            held.pop().close()
            time.sleep(0.3)
            again = socket.create_connection(("127.0.0.1", srv.port), source_address=("127.0.0.3", 0))
            held.append(again)
            again.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
            status, _, _ = read_response(again, 10)
            self.assertNotEqual(status, 503)
            self.assertEqual(metric(srv, "holdfast_admission_shed_total", {"reason": "per_address"}), 1)
        finally:
            for s in held:
                s.close()
            srv.cleanup()

    def test_slow_body_gets_request_timeout(self):
        srv = hf.Server(args=["--access-log", "off", "--io-timeout", "2s",
                              "--min-transfer-rate", "64KiB"]).start()
        try:
            s3 = hf.boto3_client(srv)
            s3.create_bucket(Bucket="slow")
            # A client at full speed is unaffected.
            s3.put_object(Bucket="slow", Key="fast", Body=os.urandom(1 << 20))
            s = open_upload(srv, presigned_put(s3, "slow", "slow"), 1 << 20, first=b"s" * 1024)
            t0 = time.monotonic()
            stop = threading.Event()

            def dribble():
                # 1 KiB every 0.3 s: about 3 KiB/s, far below 64 KiB/s.
                while not stop.wait(0.3):
                    try:
                        s.send(b"s" * 1024)
                    except OSError:
                        return
            t = threading.Thread(target=dribble)
            t.start()
            try:
                status, _, body = read_response(s, 30)
            finally:
                stop.set()
                t.join()
                s.close()
            took = time.monotonic() - t0
            print("    slow body answered %d %s after %.1f s" % (status, error_code(body), took),
                  flush=True)
            self.assertEqual(status, 400)
            self.assertEqual(error_code(body), "RequestTimeout")
            self.assertIn(b"not read from or written to within the timeout period", body)
            with self.assertRaises(ClientError):
                s3.head_object(Bucket="slow", Key="slow")
            self.assertEqual(len(s3.get_object(Bucket="slow", Key="fast")["Body"].read()), 1 << 20)
        finally:
            srv.cleanup()


class OneKey(unittest.TestCase):
    def test_256_connections_of_one_key_are_served_not_shed(self):
        """Default settings: a client that opens 256 connections (as backup
        tools with raised concurrency do) is not mistaken for overload."""
        srv = hf.Server(args=["--access-log", "off"]).start()
        try:
            env = dict(os.environ, AWS_ACCESS_KEY_ID=hf.ACCESS_KEY,
                       AWS_SECRET_ACCESS_KEY=hf.SECRET_KEY)
            out = subprocess.run([hf.BIN, "bench", "--endpoint", srv.endpoint, "--op", "put",
                                  "--size", "4KiB", "--objects", "512", "--concurrency", "256",
                                  "--duration", "4s", "--expect-slowdown", "--json",
                                  "--no-progress"],
                                 env=env, capture_output=True, timeout=300)
            self.assertEqual(out.returncode, 0, out.stderr.decode())
            r = json.loads(out.stdout)
            m = r["measure"]
            ok, shed = m["requests"] - m["errors"], m["shed"]["requests"]
            print("    256 connections, one key, PUT 4 KiB: %d ok (%.0f/s), %d shed, %d errors"
                  % (ok, m["ops_per_s"], shed, m["errors"]), flush=True)
            self.assertEqual(m["errors"], 0, m.get("errors_by_code"))
            self.assertGreater(ok, 256)
            self.assertLess(shed, 0.01 * (ok + shed))
        finally:
            srv.cleanup()


class Overload(unittest.TestCase):
    def test_standing_disk_queue_sheds_the_heaviest_key(self):
        """Every chunk fdatasync takes 40 ms and there is one I/O thread:
        with 24 uploads at once from one key, work waits far longer than the
        20 ms target. That key's new requests are shed with SlowDown; a
        second key, sending one request at a time, still gets in."""
        srv = hf.Server(args=["--access-log", "off", "--fault-injection", "--io-threads", "1",
                              "--queue-delay-target", "20ms"]).start()
        try:
            rc, out, err = hf.admin(srv, "user", "create", "light")
            self.assertEqual(rc, 0, err)
            keys = dict(re.findall(r"^(access key|secret key):\s+(\S+)$", out, re.M))
            # One attempt each (hf.boto3_client): a shed request is seen, not retried.
            heavy = hf.boto3_client(srv, max_pool_connections=32)
            light = hf.boto3_client(srv, keys["access key"], keys["secret key"])
            heavy.create_bucket(Bucket="heavy")
            light.create_bucket(Bucket="light")
            rc, _, err = hf.admin(srv, "faults", "set", "fdatasync:delay=40/path=/chunks/")
            self.assertEqual(rc, 0, err)
            body = os.urandom(40 * 1024)  # above the inline limit: a chunk file each
            stop = time.monotonic() + 5
            counts = {"ok": 0, "shed": 0, "other": []}
            lock = threading.Lock()

            def pound(i):
                n = 0
                while time.monotonic() < stop:
                    n += 1
                    try:
                        heavy.put_object(Bucket="heavy", Key="k%d-%d" % (i, n % 4), Body=body)
                        what = "ok"
                    except ClientError as e:
                        what = "shed" if e.response["Error"]["Code"] == "SlowDown" else "other"
                        if what == "other":
                            with lock:
                                counts["other"].append(e.response["Error"]["Code"])
                    if what != "other":
                        with lock:
                            counts[what] += 1
            threads = [threading.Thread(target=pound, args=(i,)) for i in range(24)]
            for t in threads:
                t.start()
            time.sleep(1.5)  # let the queue stand
            light_ok, light_shed = 0, 0
            while time.monotonic() < stop - 0.5:
                try:
                    light.put_object(Bucket="light", Key="l", Body=body)
                    light_ok += 1
                except ClientError as e:
                    self.assertEqual(e.response["Error"]["Code"], "SlowDown")
                    light_shed += 1
            for t in threads:
                t.join()
            overload = metric(srv, "holdfast_admission_shed_total", {"reason": "overload"})
            episodes = metric(srv, "holdfast_queue_overload_episodes_total", {"resource": "io"})
            report = ("heavy key: %d ok, %d shed; light key: %d ok, %d shed; shed for overload %d, "
                      "io overload episodes %d" % (counts["ok"], counts["shed"], light_ok,
                                                   light_shed, overload, episodes))
            print("    " + report, flush=True)
            self.assertEqual(counts["other"], [], report)
            self.assertGreater(counts["ok"], 0, report)
            self.assertGreater(counts["shed"], 0, report)
            self.assertGreater(overload, 0, report)
            self.assertGreaterEqual(episodes, 1, report)
            self.assertGreater(light_ok, 0, report)
            self.assertEqual(light_shed, 0, report)
        finally:
            hf.admin(srv, "faults", "clear")
            srv.cleanup()


if __name__ == "__main__":
    hf.main(__file__)
