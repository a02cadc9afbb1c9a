#!/usr/bin/python3
"""Overload protection (src/guard): offered load far above capacity is shed
with 503 SlowDown + Retry-After, goodput stays near its peak, a second,
well-behaved key keeps being served, and nothing hangs past its deadline.
Then the data path is wedged (chunk fdatasync hangs) and the S3 listener
saturated, and the status listener must still answer quickly."""
import os
import re
import socket
import sys
import threading
import time
import unittest
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hf  # noqa: E402
import loadgen  # noqa: E402

from botocore.exceptions import ClientError  # noqa: E402

# Capacity is set by an injected read delay and a small in-flight limit, not
# by CPU, so it does not move with the load on a shared 2-core machine: every
# GET of a chunked object waits DELAY_MS for its read (on an I/O thread), and
# MAX_INFLIGHT requests are admitted at once.
DELAY_MS = 10
WORKERS = 8
MAX_INFLIGHT = 4
PER_KEY = 3
QUEUE = 2
OBJ = b"z" * (64 * 1024)  # > 16 KiB: stored in a chunk file, read with pread



admin = hf.admin


metric = hf.metric_in


def fetch(url, timeout=5):
    t0 = time.monotonic()
    with urllib.request.urlopen(url, timeout=timeout) as r:
        body = r.read()
        return r.status, body, time.monotonic() - t0


def probe(url):
    """Status and seconds for one GET, timed by curl in its own process: this
    test's own threads (the flood, the hung PUTs) share one interpreter
    lock, and must not count against the server's answer time."""
    import subprocess
    p = subprocess.run(["curl", "-s", "-o", "/dev/null", "-m", "5", "-w", "%{http_code} %{time_total}",
                        url], capture_output=True, text=True, timeout=10)
    code, secs = p.stdout.split()
    return int(code), float(secs)


class Overload(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = hf.Server(args=[
            "--fault-injection", "--workers", str(WORKERS), "--max-inflight", str(MAX_INFLIGHT),
            "--max-inflight-per-key", str(PER_KEY), "--admit-queue", str(QUEUE),
            "--admit-queue-timeout", "100", "--access-log", "off"]).start()
        s3 = hf.boto3_client(cls.server)
        s3.create_bucket(Bucket="load")
        for i in range(4):
            s3.put_object(Bucket="load", Key="obj%d" % i, Body=OBJ)
        rc, out, err = admin(cls.server, "user", "create", "light")
        assert rc == 0, err
        keys = dict(re.findall(r"^(access key|secret key):\s+(\S+)$", out, re.M))
        cls.light = hf.boto3_client(cls.server, keys["access key"], keys["secret key"])
        cls.light.create_bucket(Bucket="light")
        cls.light.put_object(Bucket="light", Key="obj", Body=OBJ)
        cls.noisy_targets = loadgen.presigned_gets(s3, "load", ["obj%d" % i for i in range(4)])
        cls.light_targets = loadgen.presigned_gets(cls.light, "light", ["obj"])
        rc, _, err = admin(cls.server, "faults", "set", "pread:delay=%d/path=/chunks/" % DELAY_MS)
        assert rc == 0, err

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()

    def test_goodput_holds_and_the_light_key_is_served(self):
        # Peak: as many connections as one key may have in flight.
        peak = loadgen.run(self.server.endpoint, self.noisy_targets, PER_KEY, 3.0)
        self.assertEqual(peak.errors, [])
        self.assertGreater(peak.goodput(), 0)
        # Overload: 8x the connections the key may use, no backoff, while a
        # second key sends one request at a time.
        light = {}

        def light_main():
            light["res"] = loadgen.run(self.server.endpoint, self.light_targets, 1, 4.0)
        lt = threading.Thread(target=light_main)
        lt.start()
        over = loadgen.run(self.server.endpoint, self.noisy_targets, 8 * PER_KEY, 4.0)
        lt.join(30)
        lres = light["res"]
        report = ("peak %.0f/s, overload offered %.0f/s goodput %.0f/s (%.0f%%), shed %d, "
                  "max latency %.2fs; light key %d/%d ok, p99 %.3fs"
                  % (peak.goodput(), over.offered(), over.goodput(),
                     100 * over.goodput() / peak.goodput(), over.count(503), over.max_latency(),
                     lres.count(200), lres.count(), lres.latency_quantile(0.99)))
        print("    " + report, flush=True)
        # Some requests were shed, all of those with Retry-After, and none
        # failed any other way.
        self.assertGreater(over.count(503), over.count(200) // 4, report)
        self.assertEqual(over.shed_without_retry_after(), 0)
        self.assertEqual(over.count(), over.count(200) + over.count(503), report)
        self.assertGreater(over.offered(), 2 * peak.goodput(), "the load was not overload: " + report)
        # Nothing hung: every answer came well inside the client's timeout.
        self.assertEqual(over.errors, [], report)
        self.assertLess(over.max_latency(), 2.0, report)
        # Goodput kept at >= 80% of the peak.
        self.assertGreaterEqual(over.goodput(), 0.8 * peak.goodput(), report)
        # The well-behaved key kept being served.
        self.assertEqual(lres.errors, [])
        self.assertGreater(lres.count(), 20, report)
        self.assertGreaterEqual(lres.count(200), 0.95 * lres.count(), report)
        self.assertLess(lres.latency_quantile(0.99), 1.0, report)
        # The server is alive and says what it did.
        _, body, _ = fetch(self.server.status + "/metrics")
        text = body.decode()
        self.assertGreater(metric(text, "holdfast_admission_shed_total", {"reason": "per_key"}), 0)
        self.assertEqual(metric(text, "holdfast_admission_key_shed_total",
                                {"key_id": hf.ACCESS_KEY}) > 0, True)
        self.assertGreater(metric(text, "holdfast_s3_requests_total",
                                  {"op": "GetObject", "code": "503"}), 0)

    def test_shed_answer_is_s3_slowdown(self):
        # Fill the noisy key's slots with slow requests, then one more must
        # be a SlowDown document with Retry-After, decided before the body.
        res = {}

        def hold():
            res["r"] = loadgen.run(self.server.endpoint, self.noisy_targets, PER_KEY, 3.0)
        t = threading.Thread(target=hold)
        t.start()
        s3 = hf.boto3_client(self.server)
        seen = None
        # Try for as long as the load holds the slots (on a busy machine the
        # load generator may need a while to fill them).
        while seen is None and t.is_alive():
            try:
                s3.put_object(Bucket="load", Key="extra", Body=b"x" * 200000)
            except ClientError as e:
                seen = e.response
        t.join(10)
        self.assertIsNotNone(seen, "no request was shed")
        self.assertEqual(seen["Error"]["Code"], "SlowDown")
        self.assertEqual(seen["ResponseMetadata"]["HTTPStatusCode"], 503)
        self.assertIn("retry-after", {k.lower() for k in seen["ResponseMetadata"]["HTTPHeaders"]})


class SharedFate(unittest.TestCase):
    """The status listener never shares fate with the data path."""

    def test_status_answers_while_storage_is_wedged_and_s3_saturated(self):
        server = hf.Server(args=["--fault-injection", "--workers", "8", "--max-inflight", "6",
                                 "--max-inflight-per-key", "6", "--admit-queue", "1"]).start()
        hung = []
        socks = []
        try:
            s3 = hf.boto3_client(server)
            s3.create_bucket(Bucket="wedge")
            rc, _, err = admin(server, "faults", "set", "fdatasync:hang/path=/chunks/")
            self.assertEqual(rc, 0, err)
            results = []

            def put(i):
                try:
                    hf.boto3_client(server, connect_timeout=5, read_timeout=60).put_object(
                        Bucket="wedge", Key="k%d" % i, Body=b"w" * 100000)
                    results.append(200)
                except ClientError as e:
                    results.append(e.response["ResponseMetadata"]["HTTPStatusCode"])
                except Exception as e:  # noqa: BLE001
                    results.append(repr(e))
            for i in range(12):
                t = threading.Thread(target=put, args=(i,), daemon=True)
                t.start()
                hung.append(t)
            # Saturate the S3 listener too: many connections, and a flood of
            # requests on some of them.
            for _ in range(200):
                socks.append(socket.create_connection(("127.0.0.1", server.port)))
            targets = loadgen.presigned_gets(s3, "wedge", ["k0"])
            flood = {}
            ft = threading.Thread(target=lambda: flood.setdefault(
                "r", loadgen.run(server.endpoint, targets, 16, 6.0)), daemon=True)
            ft.start()
            hf.wait_for(lambda: metric(fetch(server.status + "/metrics")[1].decode(),
                                       "holdfast_admission_in_flight") >= 6, 15,
                        "PUTs hung in fdatasync")
            worst = {}
            for path in ("/health/live", "/metrics", "/"):
                lat = []
                for _ in range(5):
                    status, dt = probe(server.status + path)
                    self.assertEqual(status, 200, path)
                    lat.append(dt)
                worst[path] = max(lat)
            print("    worst status-listener latency under the wedge: " +
                  ", ".join("%s %.1f ms" % (p, 1000 * v) for p, v in worst.items()), flush=True)
            for path, v in worst.items():
                self.assertLess(v, 0.100, "%s took %.0f ms" % (path, 1000 * v))
            # The page says what is going on: the stall shows once no
            # admitted request has finished for a few seconds.
            hf.wait_for(lambda: b"stalled" in fetch(server.status + "/")[1], 20,
                        "the page reporting the stall")
            _, page, _ = fetch(server.status + "/")
            self.assertIn(b"degraded", page)
            # Readiness is not failed by overload (a load balancer would
            # only move the storm elsewhere): it stays 200.
            self.assertEqual(hf.http_status(server.status + "/health/ready"), 200)
            ft.join(30)
            fl = flood["r"]
            self.assertGreater(fl.count(503), 0)
            self.assertEqual(fl.errors, [], "S3 requests must be answered, not left hanging")
            rc, _, _ = admin(server, "faults", "clear")
            self.assertEqual(rc, 0)
            for t in hung:
                t.join(60)
            # Every PUT got an answer: admitted ones succeed once the disk is
            # back, the others were shed with 503.
            self.assertEqual(len(results), 12, results)
            self.assertTrue(all(r in (200, 503) for r in results), results)
            self.assertEqual(results.count(200), 6, results)
            ok = [k["Key"] for k in s3.list_objects_v2(Bucket="wedge").get("Contents", [])]
            self.assertEqual(len(ok), results.count(200))
        finally:
            for s in socks:
                s.close()
            admin(server, "faults", "clear")
            server.cleanup()


if __name__ == "__main__":
    hf.main(__file__)
