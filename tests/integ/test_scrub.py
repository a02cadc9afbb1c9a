#!/usr/bin/python3
"""Bit rot: bytes flipped in stored chunk files are never served, and a
scrub pass (asked for with 'holdfast admin scrub run', or the background
scrubber) names exactly the damaged objects by bucket, key and version."""
import http.client
import os
import re
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hf  # noqa: E402

from botocore.exceptions import ClientError  # noqa: E402

MiB = 1024 * 1024
PAYLOAD = 4096  # chunk files: 4 KiB header, then payload (FORMAT-chunk.md)


admin = hf.admin


def chunk_files(data):
    out = set()
    for root, _, files in os.walk(os.path.join(data, "chunks")):
        for f in files:
            out.add(os.path.join(root, f))
    return out


def flip(path, offset):
    with open(path, "r+b") as f:
        f.seek(offset)
        b = f.read(1)
        f.seek(offset)
        f.write(bytes([b[0] ^ 0x5A]))


def damaged_listed(out):
    """{(bucket/key, version)} from 'scrub run/status' output."""
    return {(m.group(1), m.group(2)) for m in re.finditer(r"^  (\S.*) version=(\S+): ", out, re.M)}


class BitRot(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = hf.Server(args=["--scrub-interval", "0", "--scrub-rate", "512MiB"]).start()
        cls.s3 = hf.boto3_client(cls.server)
        cls.s3.create_bucket(Bucket="rot")
        cls.s3.create_bucket(Bucket="fine")
        cls.files = {}
        cls.bodies = {}

        def put(bucket, key, body):
            before = chunk_files(cls.server.data)
            cls.s3.put_object(Bucket=bucket, Key=key, Body=body)
            cls.files[(bucket, key)] = sorted(chunk_files(cls.server.data) - before)
            cls.bodies[(bucket, key)] = body

        put("fine", "small", b"s" * 1000)  # inline, in the metadata record
        put("fine", "medium", os.urandom(300 * 1024))
        put("rot", "clean", os.urandom(200 * 1024))
        put("rot", "first-block", os.urandom(300 * 1024))
        put("rot", "late-block", os.urandom(6 * MiB))
        put("rot", "header", os.urandom(100 * 1024))
        put("rot", "dir/with space ü", os.urandom(70 * 1024))
        # A multipart object whose second part rots.
        up = cls.s3.create_multipart_upload(Bucket="rot", Key="multi")
        before = chunk_files(cls.server.data)
        p1 = os.urandom(5 * MiB)
        e1 = cls.s3.upload_part(Bucket="rot", Key="multi", UploadId=up["UploadId"], PartNumber=1, Body=p1)["ETag"]
        mid = chunk_files(cls.server.data)
        p2 = os.urandom(MiB)
        e2 = cls.s3.upload_part(Bucket="rot", Key="multi", UploadId=up["UploadId"], PartNumber=2, Body=p2)["ETag"]
        part2 = sorted(chunk_files(cls.server.data) - mid)
        cls.s3.complete_multipart_upload(Bucket="rot", Key="multi", UploadId=up["UploadId"], MultipartUpload={
            "Parts": [{"PartNumber": 1, "ETag": e1}, {"PartNumber": 2, "ETag": e2}]})
        assert before  # the earlier objects made chunk files
        cls.bodies[("rot", "multi")] = p1 + p2

        for k in [("fine", "medium"), ("rot", "clean"), ("rot", "first-block"), ("rot", "header"),
                  ("rot", "dir/with space ü")]:
            assert len(cls.files[k]) == 1, (k, cls.files[k])
        assert len(cls.files[("rot", "late-block")]) == 2
        flip(cls.files[("rot", "first-block")][0], PAYLOAD + 1000)
        late = [f for f in cls.files[("rot", "late-block")] if f.endswith(".1")][0]
        flip(late, PAYLOAD + 1234)
        flip(cls.files[("rot", "header")][0], 20)
        flip(cls.files[("rot", "dir/with space ü")][0], PAYLOAD + 70 * 1024 - 1)
        flip(part2[0], PAYLOAD + 512 * 1024)
        cls.damaged = {("rot/first-block", "null"), ("rot/late-block", "null"), ("rot/header", "null"),
                       ("rot/dir/with space ü", "null"), ("rot/multi", "null")}

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()

    def get_all(self, bucket, key):
        """Whatever bytes a GET delivers (status, bytes), without trusting
        Content-Length: a cut connection shows up as a short body."""
        url = hf.boto3_client(self.server).generate_presigned_url(
            "get_object", Params={"Bucket": bucket, "Key": key})
        path = url.split(str(self.server.port), 1)[1]
        c = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=30)
        try:
            c.request("GET", path)
            r = c.getresponse()
            data = b""
            try:
                while True:
                    piece = r.read(65536)
                    if not piece:
                        break
                    data += piece
            except http.client.IncompleteRead as e:
                data += e.partial
            return r.status, int(r.getheader("content-length", "0")), data
        finally:
            c.close()

    def test_get_never_serves_damaged_bytes(self):
        for (bucket, key), body in self.bodies.items():
            status, clen, data = self.get_all(bucket, key)
            if ("%s/%s" % (bucket, key), "null") in self.damaged:
                if status == 200:
                    # Damage past the first piece: the head went out, then the
                    # connection was cut. What arrived is a correct prefix.
                    self.assertLess(len(data), clen, key)
                    self.assertEqual(data, body[:len(data)], key)
                    self.assertGreater(len(data), 0)
                else:
                    self.assertEqual(status, 500, key)
                    self.assertIn(b"<Code>InternalError</Code>", data)
                    self.assertNotIn(body[:64], data)
            else:
                self.assertEqual((status, data), (200, body), key)
        # The boto3 view of the first-block case: a clean error, no bytes.
        with self.assertRaises(ClientError) as cm:
            self.s3.get_object(Bucket="rot", Key="first-block")
        self.assertEqual(cm.exception.response["Error"]["Code"], "InternalError")

    def test_scrub_run_names_exactly_the_damaged_objects(self):
        rc, out, err = admin(self.server, "scrub", "run")
        self.assertEqual(rc, 1, out + err)  # damage found
        self.assertEqual(damaged_listed(out), self.damaged, out)
        self.assertIn("damaged:  5", out)
        self.assertRegex(out, r"checked:  8 objects")
        # Same answer from status, and each one logged with its name.
        rc, out2, _ = admin(self.server, "scrub", "status")
        self.assertEqual(rc, 0)
        self.assertEqual(damaged_listed(out2), self.damaged)
        log = open(self.server.log_path, encoding="utf-8", errors="replace").read()
        for name, _ in self.damaged:
            bucket, key = name.split("/", 1)
            self.assertIn('scrub found a damaged object" bucket=%s key="%s" version=null' % (bucket, key), log)
        # Reasons say where.
        self.assertRegex(out, r"rot/multi version=null: chunk data failed verification \(part 2")
        # A second run finds the same, not more (the counts are per pass).
        rc, out3, _ = admin(self.server, "scrub", "run", "--rate", "1GiB")
        self.assertEqual(rc, 1)
        self.assertEqual(damaged_listed(out3), self.damaged)
        # And in the metrics: this pass's damage, the passes, the totals.
        conn = http.client.HTTPConnection("127.0.0.1", self.server.status_port, timeout=10)
        conn.request("GET", "/metrics")
        metrics = conn.getresponse().read().decode()
        conn.close()

        def metric(name):
            m = re.search(r"^%s (\S+)$" % name, metrics, re.M)
            self.assertIsNotNone(m, name)
            return float(m.group(1))
        self.assertEqual(metric("holdfast_scrub_last_pass_damaged"), 5)
        self.assertGreaterEqual(metric("holdfast_scrub_damaged_total"), 10)
        self.assertGreaterEqual(metric("holdfast_scrub_passes_total"), 2)
        self.assertGreater(metric("holdfast_scrub_objects_total"), 0)

    def test_scrub_refuses_bad_rate_and_concurrent_start(self):
        rc, _, err = admin(self.server, "scrub", "start", "--rate", "fast")
        self.assertEqual(rc, 2)
        self.assertIn("--rate", err)
        # A slow pass, then a second start is refused with a clear message.
        rc, _, err = admin(self.server, "scrub", "start", "--rate", "64K")
        self.assertEqual(rc, 0, err)
        rc, _, err = admin(self.server, "scrub", "start")
        self.assertEqual(rc, 1)
        self.assertIn("ScrubRunning", err)
        # About 13 MiB at 64 KiB/s would take minutes: a restart abandons
        # the pass (nothing of a pass is persistent).
        self.server.stop()
        self.server.start()


class Background(unittest.TestCase):
    def test_background_pass_reports_damage(self):
        srv = hf.Server(args=["--scrub-interval", "1s", "--scrub-rate", "256MiB"]).start()
        try:
            s3 = hf.boto3_client(srv)
            s3.create_bucket(Bucket="bgscrub")
            before = chunk_files(srv.data)
            s3.put_object(Bucket="bgscrub", Key="victim", Body=os.urandom(200 * 1024))
            files = sorted(chunk_files(srv.data) - before)
            s3.put_object(Bucket="bgscrub", Key="bystander", Body=os.urandom(200 * 1024))
            flip(files[0], PAYLOAD + 5)

            def found():
                rc, out, _ = admin(srv, "scrub", "status")
                return rc == 0 and damaged_listed(out) == {("bgscrub/victim", "null")} and "idle" in out
            hf.wait_for(found, 30, "the background scrubber to report bgscrub/victim")
        finally:
            srv.cleanup()


if __name__ == "__main__":
    hf.main(__file__)
