"""holdfast bench against real servers: its counts (requests by operation,
errors by code, bytes) must match the server's own records, the access log
(one line per request with op= and status=) and its /metrics counters."""
import collections
import json
import os
import re
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hf  # noqa: E402

# The S3 operation the server logs for each kind of request the tool sends.
OP_NAMES = {"put": "PutObject", "get": "GetObject", "head": "HeadObject",
            "list": "ListObjectsV2", "delete": "DeleteObject"}
LINE = re.compile(r"msg=request .*? op=(\S+) .*? status=(\d+)")


def access_log(server):
    """(op, status) of every request line the server has logged so far."""
    with open(server.log_path, "rb") as f:
        text = f.read().decode(errors="replace")
    return [(m.group(1), int(m.group(2))) for m in LINE.finditer(text)]


def bench(server, *args, keys=(hf.ACCESS_KEY, hf.SECRET_KEY), check=True, timeout=120):
    cmd = [hf.BIN, "bench", "--endpoint", server.endpoint if server else "http://127.0.0.1:1",
           "--access-key", keys[0], "--secret-key", keys[1], "--json"] + list(args)
    p = subprocess.run(cmd, capture_output=True, timeout=timeout)
    if check and p.returncode != 0:
        raise AssertionError("bench failed (%d): %s" % (p.returncode, p.stderr.decode()))
    return p


METRIC = re.compile(r'^(holdfast_s3_requests_total|holdfast_s3_sent_bytes_total)\{op="([^"]+)"[^}]*\} (\d+)$', re.M)


def metrics_by_op(server):
    """{op: requests}, {op: body bytes sent} from the server's /metrics."""
    st, _, body = hf.http(server.status + "/metrics")
    assert st == 200, st
    reqs, sent = collections.Counter(), collections.Counter()
    for name, op, v in METRIC.findall(body.decode()):
        (reqs if name == "holdfast_s3_requests_total" else sent)[op] += int(v)
    return reqs, sent


def requests_by_op(phase):
    return {op: v["requests"] for op, v in phase["by_op"].items()}


class BenchAgainstHoldfast(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = hf.Server().start()

    @classmethod
    def tearDownClass(cls):
        cls.srv.cleanup()

    def test_mixed_counts_match_access_log_and_metrics(self):
        before = len(access_log(self.srv))
        reqs0, sent0 = metrics_by_op(self.srv)
        p = bench(self.srv, "--bucket", "mixed-counts", "--op", "mixed", "--objects", "60",
                  "--concurrency", "6", "--duration", "1500ms", "--size", "20KiB")
        r = json.loads(p.stdout)
        self.assertEqual(r["op"], "mixed")
        m = r["measure"]
        self.assertEqual(m["errors"], 0, m["errors_by_code"])
        self.assertGreater(m["requests"], 100)
        for op in ("get", "head", "put", "delete"):
            self.assertGreater(m["by_op"].get(op, {}).get("requests", 0), 0, op)
        self.assertEqual(r["prepare"]["by_op"]["put"]["requests"], 60)

        want = collections.Counter({"HeadBucket": 1, "CreateBucket": 1})
        for phase in ("prepare", "measure", "cleanup"):
            for op, n in requests_by_op(r[phase]).items():
                want[OP_NAMES[op]] += n
        hf.wait_for(lambda: len(access_log(self.srv)) - before >= sum(want.values()), 5,
                    "access log lines")
        lines = access_log(self.srv)[before:]
        got = collections.Counter(op for op, _ in lines)
        self.assertEqual(got, want)
        # No errors in the report, none in the log (404 on the HeadBucket
        # before the bucket was created is the one expected).
        bad = [(op, st) for op, st in lines if st >= 300 and op != "HeadBucket"]
        self.assertEqual(bad, [])
        # Bytes: every 20 KiB GET the tool counted was sent by the server.
        g = m["by_op"]["get"]
        self.assertEqual(g["bytes"], g["requests"] * 20 * 1024)
        # The server's metrics count the same requests and GET bytes (they
        # are sampled, so wait for the next sample).
        def counted():
            reqs, sent = metrics_by_op(self.srv)
            return reqs - reqs0, sent - sent0
        hf.wait_for(lambda: counted()[0] == want, 5, "metrics to count the run")
        reqs, sent = counted()
        self.assertEqual(reqs, want)
        self.assertEqual(sent["GetObject"], g["bytes"])

    def test_get_errors_by_code_match_server(self):
        # The data set is said to be there but is not: every GET is a NoSuchKey.
        before = len(access_log(self.srv))
        p = bench(self.srv, "--bucket", "missing-keys", "--op", "get", "--no-prepare",
                  "--objects", "50", "--concurrency", "4", "--duration", "700ms")
        m = json.loads(p.stdout)["measure"]
        n = m["by_op"]["get"]["requests"]
        self.assertGreater(n, 10)
        self.assertEqual(m["errors"], n)
        self.assertEqual(m["errors_by_code"], {"NoSuchKey": n})
        hf.wait_for(lambda: len([1 for op, _ in access_log(self.srv)[before:] if op == "GetObject"]) >= n,
                    5, "GET lines")
        gets = [st for op, st in access_log(self.srv)[before:] if op == "GetObject"]
        self.assertEqual(collections.Counter(gets), {404: n})

    def test_list_pages_are_full(self):
        p = bench(self.srv, "--bucket", "list-pages", "--op", "list", "--objects", "2500",
                  "--concurrency", "4", "--duration", "1s", "--size", "1KiB")
        r = json.loads(p.stdout)
        m = r["measure"]
        self.assertEqual(m["errors"], 0)
        self.assertGreater(m["requests"], 0)
        self.assertEqual(m["list_keys"], 1000 * m["requests"])
        self.assertEqual(r["prepare"]["requests"], 2500)
        self.assertEqual(r["cleanup"]["by_op"]["delete"]["requests"], 2500)

    def test_delete_runs_out_and_cleanup_is_exact(self):
        p = bench(self.srv, "--bucket", "delete-all", "--op", "delete", "--objects", "300",
                  "--concurrency", "8", "--duration", "30s")
        r = json.loads(p.stdout)
        self.assertTrue(r["measure"]["exhausted"])
        self.assertEqual(r["measure"]["by_op"]["delete"]["requests"], 300)
        self.assertEqual(r["cleanup"]["requests"], 0)
        s3 = hf.boto3_client(self.srv)
        self.assertEqual(s3.list_objects_v2(Bucket="delete-all").get("KeyCount"), 0)

    def test_keep_and_reuse_data_set(self):
        bench(self.srv, "--bucket", "reuse", "--op", "head", "--objects", "40",
              "--concurrency", "4", "--duration", "300ms", "--no-cleanup", "--size", "3000")
        s3 = hf.boto3_client(self.srv)
        keys = [o["Key"] for o in s3.list_objects_v2(Bucket="reuse", Prefix="bench/")["Contents"]]
        self.assertEqual(keys, ["bench/%010d" % i for i in range(40)])
        self.assertEqual(s3.head_object(Bucket="reuse", Key="bench/0000000007")["ContentLength"], 3000)
        p = bench(self.srv, "--bucket", "reuse", "--op", "get", "--objects", "40", "--size", "3000",
                  "--concurrency", "4", "--duration", "300ms", "--no-prepare")
        r = json.loads(p.stdout)
        self.assertEqual(r["measure"]["errors"], 0)
        self.assertNotIn("prepare", r)
        # A --no-prepare run leaves a data set it did not write alone.
        self.assertEqual(s3.list_objects_v2(Bucket="reuse")["KeyCount"], 40)
        # A wrong --size is caught as BadLength, not counted as success.
        p = bench(self.srv, "--bucket", "reuse", "--op", "get", "--objects", "40", "--size", "4KiB",
                  "--concurrency", "2", "--duration", "300ms", "--no-prepare")
        m = json.loads(p.stdout)["measure"]
        self.assertEqual(m["errors_by_code"], {"BadLength": m["requests"]})

    def test_text_report_and_thread_count(self):
        cmd = [hf.BIN, "bench", "--endpoint", self.srv.endpoint, "--access-key", hf.ACCESS_KEY,
               "--secret-key", hf.SECRET_KEY, "--bucket", "text-report", "--op", "put",
               "--objects", "10", "--concurrency", "5", "--threads", "3", "--duration", "300ms"]
        p = subprocess.run(cmd, capture_output=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        out = p.stdout.decode()
        for word in ("ops/s", "MB/s", "p50", "p90", "p99", "p99.9", "max", "errors", "threads 3"):
            self.assertIn(word, out)
        self.assertRegex(out, r"\nput +\d+ ")

    def test_wrong_secret_is_reported(self):
        p = bench(self.srv, "--bucket", "wrong-secret", keys=(hf.ACCESS_KEY, "x" * 40), check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("access denied", p.stderr.decode())


class BenchAgainstOverloadedHoldfast(unittest.TestCase):
    """A server that admits one request at a time, each slow (an injected
    chunk read delay): --expect-slowdown counts its 503 SlowDown answers as
    shed, apart from errors, exactly as the server logged them."""

    @classmethod
    def setUpClass(cls):
        cls.srv = hf.Server(args=["--fault-injection", "--workers", "4", "--max-inflight", "1",
                                  "--max-inflight-per-key", "1", "--admit-queue", "0"]).start()
        bench(cls.srv, "--bucket", "shed", "--op", "get", "--size", "64KiB", "--objects", "4",
              "--concurrency", "1", "--duration", "100ms", "--no-cleanup")
        rc, _, err = hf.admin(cls.srv, "faults", "set", "pread:delay=20/path=/chunks/")
        assert rc == 0, err

    @classmethod
    def tearDownClass(cls):
        cls.srv.cleanup()

    def gets_logged(self, before, n):
        hf.wait_for(lambda: sum(1 for op, _ in access_log(self.srv)[before:]
                                if op == "GetObject") >= n, 5, "GET lines")
        return collections.Counter(st for op, st in access_log(self.srv)[before:]
                                   if op == "GetObject")

    def test_shed_counted_apart_from_errors(self):
        before = len(access_log(self.srv))
        p = bench(self.srv, "--bucket", "shed", "--op", "get", "--size", "64KiB", "--objects", "4",
                  "--concurrency", "6", "--duration", "1s", "--no-prepare", "--no-cleanup",
                  "--expect-slowdown")
        r = json.loads(p.stdout)
        self.assertTrue(r["expect_slowdown"])
        m = r["measure"]
        ok, shed = m["by_op"]["get"]["requests"], m["shed"]["requests"]
        self.assertEqual(m["errors"], 0, m["errors_by_code"])
        self.assertGreater(ok, 0)
        self.assertGreater(shed, ok)
        self.assertEqual(m["requests"], ok)
        # Shed answers are quick; the admitted GETs each wait on the slow read.
        self.assertLess(m["shed"]["latency_ms"]["p50"], m["latency_ms"]["p50"])
        # The server keeps a connection after shedding a GET, and so does the client.
        self.assertEqual(m["connections_opened"], 6)
        self.assertEqual(self.gets_logged(before, ok + shed), {200: ok, 503: shed})

    def test_slowdown_is_an_error_without_the_flag(self):
        before = len(access_log(self.srv))
        p = bench(self.srv, "--bucket", "shed", "--op", "get", "--size", "64KiB", "--objects", "4",
                  "--concurrency", "6", "--duration", "700ms", "--no-prepare", "--no-cleanup")
        r = json.loads(p.stdout)
        self.assertFalse(r["expect_slowdown"])
        m = r["measure"]
        self.assertNotIn("shed", m)
        self.assertGreater(m["errors"], 0)
        self.assertEqual(m["errors_by_code"], {"SlowDown": m["errors"]})
        n = m["requests"]
        self.assertEqual(self.gets_logged(before, n), {200: n - m["errors"], 503: m["errors"]})


class BenchAgainstSecondServer(unittest.TestCase):
    """Another S3 server: a second holdfast in another region, used with a
    non-root user's keys, beside the first one."""

    def test_second_server_counts(self):
        a = hf.Server().start()
        b = hf.Server(args=["--region", "eu-west-1"]).start()
        try:
            out = subprocess.run([hf.BIN, "admin", "--admin", b.status, "--data", b.data,
                                  "--region", "eu-west-1", "user",
                                  "create", "benchuser", "--access-key", "BENCHUSERKEY00000001",
                                  "--secret-key", "benchusersecret000000000000000000000000"],
                                 capture_output=True, timeout=30)
            self.assertEqual(out.returncode, 0, out.stderr)
            keys = ("BENCHUSERKEY00000001", "benchusersecret000000000000000000000000")
            before_a = len(access_log(a))
            p = bench(b, "--region", "eu-west-1", "--bucket", "second", "--op", "get",
                      "--objects", "30", "--concurrency", "3", "--duration", "800ms", keys=keys)
            r = json.loads(p.stdout)
            self.assertEqual(r["measure"]["errors"], 0)
            n = r["measure"]["by_op"]["get"]["requests"]
            hf.wait_for(lambda: sum(1 for op, _ in access_log(b) if op == "GetObject") >= n, 5,
                        "GET lines")
            got = collections.Counter(op for op, st in access_log(b) if st < 300)
            self.assertEqual(got["GetObject"], n)
            self.assertEqual(got["PutObject"], 30)
            self.assertEqual(got["DeleteObject"], 30)
            self.assertEqual(got["CreateBucket"], 1)
            # The bucket was created (with a LocationConstraint) in the
            # server's region, and belongs to the user.
            import boto3
            from botocore.config import Config
            s3 = boto3.client("s3", endpoint_url=b.endpoint, aws_access_key_id=keys[0],
                              aws_secret_access_key=keys[1], region_name="eu-west-1",
                              config=Config(s3={"addressing_style": "path"}))
            self.assertEqual(s3.get_bucket_location(Bucket="second")["LocationConstraint"],
                             "eu-west-1")
            # Nothing reached the first server.
            self.assertEqual(len(access_log(a)), before_a)
        finally:
            a.cleanup()
            b.cleanup()


class BenchUsage(unittest.TestCase):
    def run_bench(self, *args):
        return subprocess.run([hf.BIN, "bench"] + list(args), capture_output=True, timeout=30,
                              env=dict(os.environ, AWS_ACCESS_KEY_ID="", AWS_SECRET_ACCESS_KEY=""))

    def test_help_names_every_flag(self):
        p = self.run_bench("--help")
        self.assertEqual(p.returncode, 0)
        text = p.stdout.decode()
        for flag in ("--endpoint", "--access-key", "--secret-key", "--bucket", "--op", "--size",
                     "--objects", "--concurrency", "--duration", "--json", "--expect-slowdown",
                     "put | get | head | "
                     "list | delete | mixed"):
            self.assertIn(flag, text)

    def test_bad_values_say_what_to_do(self):
        cases = [
            (["--op", "stat"], "--op must be"),
            (["--size", "4 KiB"], "--size must be"),
            (["--size", "6GiB"], "at most 5GiB"),
            (["--duration", "forever"], "--duration must be"),
            (["--concurrency", "0"], "--concurrency must be"),
            (["--objects", "1e6"], "--objects must be"),
            (["--endpoint", "https://s3.amazonaws.com"], "https"),
            (["--endpoint", "http://h:9000/bucket"], "path"),
            (["--mix", "get=a"], "--mix must be"),
            ([], "--access-key"),
        ]
        for args, want in cases:
            p = self.run_bench(*(args + (["--access-key", "AKEXAMPLE", "--secret-key", "s" * 20]
                                        if args else [])))
            self.assertEqual(p.returncode, 2, (args, p.stderr))
            self.assertIn(want, p.stderr.decode(), args)

    def test_unreachable_endpoint(self):
        p = bench(None, "--duration", "1s", check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("cannot connect", p.stderr.decode())
        self.assertEqual(p.stdout, b"")


if __name__ == "__main__":
    hf.main(__file__)
