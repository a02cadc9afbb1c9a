#!/usr/bin/python3
"""Observability: /metrics in Prometheus text format, health, the status
page (also rendered by headless Chromium, with a screenshot), `holdfast
admin status`, the access log, and the whole-request deadline."""
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hf  # noqa: E402
from test_overload import metric  # noqa: E402

from botocore.exceptions import ClientError  # noqa: E402

ROOT = hf.ROOT
SHOT_DIR = os.path.join(ROOT, "build", "screenshots")


def get(url):
    with urllib.request.urlopen(url, timeout=10) as r:
        return r.status, dict(r.getheaders()), r.read().decode()



admin = hf.admin


class Observability(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="hf-obs-")
        cls.access_log = os.path.join(cls.tmp, "access.log")
        cls.server = hf.Server(args=["--access-log", cls.access_log]).start()
        s3 = hf.boto3_client(cls.server)
        s3.create_bucket(Bucket="obs")
        s3.put_object(Bucket="obs", Key="small", Body=b"hello")
        s3.put_object(Bucket="obs", Key="big", Body=b"b" * 100000)
        s3.get_object(Bucket="obs", Key="big")["Body"].read()
        try:
            s3.get_object(Bucket="obs", Key="missing")
        except ClientError:
            pass
        cls.s3 = s3

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def test_metrics_are_prometheus_text_with_the_counters(self):
        status, headers, text = get(self.server.status + "/metrics")
        self.assertEqual(status, 200)
        self.assertTrue(headers["Content-Type"].startswith("text/plain; version=0.0.4"))
        # Every sample line parses and every family has HELP and TYPE.
        families = set()
        for line in text.splitlines():
            if line.startswith("# TYPE "):
                _, _, name, typ = line.split(" ", 3)
                self.assertIn(typ, ("counter", "gauge", "histogram"))
                self.assertTrue(name.startswith("holdfast_"), name)
                if typ == "counter":
                    self.assertTrue(name.endswith("_total"), name)
                families.add(name)
            elif line and not line.startswith("#"):
                self.assertRegex(line, r'^holdfast_[a-z0-9_]+(\{([a-z_]+="[^"]*",?)*\})? -?[0-9.e+-]+$')
        for name in ("holdfast_s3_requests_total", "holdfast_s3_request_duration_seconds",
                     "holdfast_s3_received_bytes_total", "holdfast_s3_sent_bytes_total",
                     "holdfast_admission_in_flight", "holdfast_admission_queued",
                     "holdfast_admission_shed_total", "holdfast_admission_key_shed_total",
                     "holdfast_meta_commit_batch_size", "holdfast_meta_commit_duration_seconds",
                     "holdfast_fsync_duration_seconds", "holdfast_disk_free_bytes",
                     "holdfast_process_threads", "holdfast_process_open_fds",
                     "holdfast_process_resident_memory_bytes", "holdfast_connections",
                     "holdfast_background_units_total"):
            self.assertIn(name, families)
        self.assertGreaterEqual(metric(text, "holdfast_s3_requests_total",
                                       {"op": "PutObject", "code": "200"}), 2)
        self.assertGreaterEqual(metric(text, "holdfast_s3_requests_total",
                                       {"op": "GetObject", "code": "404"}), 1)
        self.assertGreaterEqual(metric(text, "holdfast_s3_sent_bytes_total", {"op": "GetObject"}), 100000)
        self.assertGreaterEqual(metric(text, "holdfast_s3_received_bytes_total", {"op": "PutObject"}), 100005)
        count = metric(text, "holdfast_s3_request_duration_seconds_count", {"op": "PutObject"})
        inf = metric(text, "holdfast_s3_request_duration_seconds_bucket", {"op": "PutObject", "le": "+Inf"})
        self.assertEqual(count, inf)
        # A chunk write was fsynced and a commit happened.
        self.assertGreater(metric(text, "holdfast_fsync_duration_seconds_count"), 0)
        self.assertGreater(metric(text, "holdfast_meta_commit_batch_size_count"), 0)
        self.assertEqual(metric(text, "holdfast_ready"), 1)
        self.assertGreater(metric(text, "holdfast_admission_key_admitted_total", {"key_id": hf.ACCESS_KEY}), 0)
        # Process numbers come from the sampler, once a second; its first
        # pass may run before the last background thread has started, so
        # wait for a sample that agrees with /proc (the count is fixed).
        hf.wait_for(lambda: metric(get(self.server.status + "/metrics")[2], "holdfast_process_threads")
                    == hf.threads(self.server.proc.pid), 5, "a sample of the thread count")
        text = get(self.server.status + "/metrics")[2]
        self.assertGreater(metric(text, "holdfast_disk_total_bytes"), 0)
        self.assertGreater(metric(text, "holdfast_process_resident_memory_bytes"), 1 << 20)

    def test_health(self):
        self.assertEqual(hf.http_status(self.server.status + "/health/live"), 200)
        self.assertEqual(hf.http_status(self.server.status + "/health/ready"), 200)
        self.assertEqual(hf.http_status(self.server.status + "/health/live", method="POST"), 405)
        self.assertEqual(hf.http_status(self.server.status + "/nope"), 404)

    def test_page_shows_state_and_traffic(self):
        status, headers, page = get(self.server.status + "/")
        self.assertEqual(status, 200)
        self.assertTrue(headers["Content-Type"].startswith("text/html"))
        self.assertIn('<meta http-equiv="refresh"', page)
        self.assertIn('name="viewport"', page)
        for section in ("requests", "shedding", "storage", "process", "operations", "keys",
                        "background", "errors"):
            self.assertIn('id="%s"' % section, page)
        self.assertIn("PutObject", page)
        self.assertIn("orphan_sweep", page)
        self.assertIn(hf.ACCESS_KEY, page)
        # Self-contained: nothing loaded from anywhere.
        self.assertNotRegex(page, r'(src|href)="(https?:)?//')
        self.assertNotIn("<script", page)

    def test_admin_status_prints_the_same(self):
        rc, out, err = admin(self.server, "status")
        self.assertEqual(rc, 0, err)
        self.assertRegex(out, r"^holdfast: (ok|degraded)")
        for word in ("requests", "shedding", "storage", "process", "PutObject", hf.ACCESS_KEY,
                     "orphan_sweep"):
            self.assertIn(word, out)
        rc, out, err = admin(self.server, "status", "--json")
        self.assertEqual(rc, 0, err)
        import json
        j = json.loads(out)
        self.assertIn(j["state"], ("ok", "degraded"))
        self.assertTrue(j["ready"])
        self.assertGreaterEqual(j["requests"]["total"], 4)
        rc, _, err = admin(self.server, "status", "extra", "words")
        self.assertEqual(rc, 2)

    def test_access_log_has_one_line_per_request_and_no_secrets(self):
        before = open(self.access_log).read().count("\n")
        self.s3.head_object(Bucket="obs", Key="small")
        hf.wait_for(lambda: open(self.access_log).read().count("\n") > before, 5, "the log line")
        lines = open(self.access_log).read().splitlines()
        last = lines[-1]
        for field in ("time=", "id=", "key_id=" + hf.ACCESS_KEY, "op=HeadObject", 'bucket="obs"',
                      'key="small"', "status=200", "in=", "out=", "ms="):
            self.assertIn(field, last)
        self.assertTrue(any("op=GetObject" in l and "status=404" in l and "error=NoSuchKey" in l
                            for l in lines))
        self.assertNotIn(hf.SECRET_KEY, open(self.access_log).read())
        # The event log (stderr) does not repeat successful requests.
        self.assertNotIn("op=HeadObject", self.server.read_log())


class Deadline(unittest.TestCase):
    def test_trickling_body_is_cut_off_at_the_request_deadline(self):
        server = hf.Server(args=["--request-timeout", "2"]).start()
        try:
            hf.boto3_client(server).create_bucket(Bucket="slow")
            from test_wire import sign
            s = socket.create_connection(("127.0.0.1", server.port))
            body_len = 100
            headers = {"host": "127.0.0.1:%d" % server.port, "content-length": str(body_len)}
            sign("PUT", "/slow/trickle", headers, "UNSIGNED-PAYLOAD")
            head = "PUT /slow/trickle HTTP/1.1\r\n" + "".join(
                "%s: %s\r\n" % (k, v) for k, v in headers.items()) + "\r\n"
            s.sendall(head.encode())
            t0 = time.monotonic()
            s.settimeout(0.4)
            got = b""
            # One byte every 0.4 s keeps the 30 s I/O timeout happy forever;
            # only the 2 s total deadline can stop it.
            for _ in range(body_len):
                try:
                    s.sendall(b"x")
                except OSError:
                    break
                try:
                    chunk = s.recv(4096)
                    if not chunk:
                        break
                    got += chunk
                except socket.timeout:
                    pass
                except OSError:
                    break  # reset: the server closed with our body unread
                if time.monotonic() - t0 > 8:
                    break
            took = time.monotonic() - t0
            s.close()
            self.assertLess(took, 5, "the request ran past its deadline")
            self.assertGreater(took, 1.5)
            if got:
                self.assertIn(b"RequestTimeout", got)
            text = get(server.status + "/metrics")[2]
            self.assertGreaterEqual(metric(text, "holdfast_http_deadline_exceeded_total"), 1)
            with self.assertRaises(ClientError):
                hf.boto3_client(server).head_object(Bucket="slow", Key="trickle")
        finally:
            server.cleanup()


def chromium():
    for name in ("chromium", "chromium-browser"):
        p = shutil.which(name)
        if p:
            return p
    return None


class StatusPageInChromium(unittest.TestCase):
    """A real browser renders the page; the screenshots are kept under
    build/screenshots for a person to look at."""

    def run_chromium(self, url, profile, *args):
        return subprocess.run([chromium(), "--headless", "--no-sandbox", "--disable-gpu",
                               "--disable-quic", "--no-first-run", "--disable-background-networking",
                               "--disable-component-update", "--disable-sync",
                               "--user-data-dir=" + profile] + list(args) + [url],
                              capture_output=True, timeout=120)

    def test_page_renders_in_headless_chromium(self):
        self.assertIsNotNone(chromium(), "Debian's chromium is not installed (scripts/install-deps.sh)")
        server = hf.Server().start()
        profile = tempfile.mkdtemp(prefix="hf-chromium-")
        try:
            s3 = hf.boto3_client(server)
            s3.create_bucket(Bucket="shown")
            for i in range(5):
                s3.put_object(Bucket="shown", Key="o%d" % i, Body=b"p" * (1000 * (i + 1)))
            p = self.run_chromium(server.status + "/", profile, "--dump-dom")
            dom = p.stdout.decode(errors="replace")
            self.assertIn('id="state"', dom, p.stderr.decode(errors="replace")[-2000:])
            self.assertRegex(dom, r'class="badge (ok|degraded)"')
            self.assertIn("PutObject", dom)
            self.assertIn("Load shedding", dom)
            os.makedirs(SHOT_DIR, exist_ok=True)
            for name, size in (("status-page.png", "1200,1400"), ("status-page-phone.png", "390,1600")):
                path = os.path.join(SHOT_DIR, name)
                if os.path.exists(path):
                    os.unlink(path)
                p = self.run_chromium(server.status + "/", profile, "--window-size=" + size,
                                      "--hide-scrollbars", "--screenshot=" + path)
                self.assertTrue(os.path.exists(path), p.stderr.decode(errors="replace")[-2000:])
                with open(path, "rb") as f:
                    data = f.read()
                self.assertEqual(data[:8], b"\x89PNG\r\n\x1a\n")
                self.assertGreater(len(data), 20000)  # a rendered page, not a blank image
                w = int.from_bytes(data[16:20], "big")
                self.assertEqual(w, int(size.split(",")[0]))
        finally:
            shutil.rmtree(profile, ignore_errors=True)
            server.cleanup()


if __name__ == "__main__":
    hf.main(__file__)
