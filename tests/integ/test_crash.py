#!/usr/bin/python3
"""Crash safety: a PUT / overwrite / DELETE / multipart load runs against a
real server that is killed with SIGKILL at random moments, again and again
(HF_CRASH_CYCLES, 30 by default; `make crash` runs many more). A ledger
records every acknowledged operation (key, sha256); after each restart:

  - every acknowledged write reads back with exactly its bytes;
  - every acknowledged delete stays deleted;
  - an operation cut by the crash left either the old state or the new
    one, whole (never a prefix, never a mix);
  - the listing agrees with the reads (nothing partially visible);
  - a multipart upload is either completed (object new, upload gone) or
    not (object old, upload still listed): never half;
  - the server answers its first GET within a bound that does not grow
    with the number of objects (measured at two object counts, with the
    work done at start-up counted by page faults and by chunk-file opens
    through the fault-injection seam).
"""
import hashlib
import os
import random
import re
import shutil
import signal
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hf  # noqa: E402

from botocore.exceptions import ClientError  # noqa: E402

MiB = 1024 * 1024
CYCLES = int(os.environ.get("HF_CRASH_CYCLES", "30"))
WORKERS = 4
KEYS_PER_WORKER = 12
BUCKET = "crash"
ABSENT = None


def sha(b):
    return hashlib.sha256(b).hexdigest()


admin = hf.admin


class Ledger:
    """Per key: the acknowledged state, and the state an operation cut by
    the crash may have left (each key has one writer, so at most one)."""

    def __init__(self):
        self.acked = {}        # key -> sha or ABSENT
        self.maybe = {}        # key -> sha or ABSENT, from an unacknowledged op
        self.uploads = {}      # upload id -> (key, sha of the completed object, state)
        self.creating = set()  # keys whose CreateMultipartUpload was sent, not answered
        self.ops = 0
        self.lock = threading.Lock()

    def begin(self, key, new):
        with self.lock:
            self.maybe[key] = new

    def ack(self, key, new):
        with self.lock:
            self.acked[key] = new
            self.maybe.pop(key, None)
            self.ops += 1


def body_for(rng):
    r = rng.random()
    if r < 0.45:
        n = rng.randrange(0, 16 * 1024 + 1)          # inline in the record
    elif r < 0.9:
        n = rng.randrange(16 * 1024 + 1, 400 * 1024)  # one chunk file
    else:
        n = rng.randrange(4 * MiB - 1000, 9 * MiB)    # several chunk files
    return rng.randbytes(n)


def worker(server, ledger, wid, stop, rng):
    s3 = hf.boto3_client(server)
    keys = ["w%d/key-%02d" % (wid, i) for i in range(KEYS_PER_WORKER)]
    while not stop.is_set():
        key = rng.choice(keys)
        r = rng.random()
        try:
            if r < 0.7:
                body = body_for(rng)
                ledger.begin(key, sha(body))
                s3.put_object(Bucket=BUCKET, Key=key, Body=body)
                ledger.ack(key, sha(body))
            elif r < 0.9:
                ledger.begin(key, ABSENT)
                s3.delete_object(Bucket=BUCKET, Key=key)
                ledger.ack(key, ABSENT)
            else:
                # A create cut by the crash may have made an upload the
                # client never learnt the id of.
                with ledger.lock:
                    ledger.creating.add(key)
                up = s3.create_multipart_upload(Bucket=BUCKET, Key=key)["UploadId"]
                p1, p2 = rng.randbytes(5 * MiB), rng.randbytes(rng.randrange(1, 300000))
                with ledger.lock:
                    ledger.creating.discard(key)
                    ledger.uploads[up] = (key, sha(p1 + p2), "open")
                e1 = s3.upload_part(Bucket=BUCKET, Key=key, UploadId=up, PartNumber=1, Body=p1)["ETag"]
                e2 = s3.upload_part(Bucket=BUCKET, Key=key, UploadId=up, PartNumber=2, Body=p2)["ETag"]
                if rng.random() < 0.2:
                    with ledger.lock:
                        ledger.uploads[up] = (key, sha(p1 + p2), "aborting")
                    s3.abort_multipart_upload(Bucket=BUCKET, Key=key, UploadId=up)
                    with ledger.lock:
                        ledger.uploads[up] = (key, sha(p1 + p2), "aborted")
                    continue
                ledger.begin(key, sha(p1 + p2))
                with ledger.lock:
                    ledger.uploads[up] = (key, sha(p1 + p2), "completing")
                s3.complete_multipart_upload(Bucket=BUCKET, Key=key, UploadId=up, MultipartUpload={
                    "Parts": [{"PartNumber": 1, "ETag": e1}, {"PartNumber": 2, "ETag": e2}]})
                with ledger.lock:
                    ledger.uploads[up] = (key, sha(p1 + p2), "completed")
                ledger.ack(key, sha(p1 + p2))
        except Exception:  # noqa: BLE001 -- the server died under us: outcome unknown
            if stop.is_set():
                return
            time.sleep(0.01)


def page_faults(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[7]) + int(fields[9])  # minflt + majflt


def first_get(server, key):
    """Start the server; seconds until its first GET was answered."""
    t0 = time.time()
    server.start()
    s3 = hf.boto3_client(server)
    while True:
        try:
            s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()
            return time.time() - t0
        except ClientError as e:
            if e.response["Error"]["Code"] == "NoSuchKey":
                return time.time() - t0  # an answer all the same
            raise
        except Exception:  # noqa: BLE001 -- not listening yet
            time.sleep(0.005)


class Crash(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.data = tempfile.mkdtemp(prefix="hf-crash-")
        cls.server = hf.Server(data=cls.data)
        cls.server.start()
        hf.boto3_client(cls.server).create_bucket(Bucket=BUCKET)

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()
        shutil.rmtree(cls.data, ignore_errors=True)

    def verify(self, ledger):
        s3 = hf.boto3_client(self.server)
        present = {}
        for key in sorted(set(ledger.acked) | set(ledger.maybe)):
            try:
                got = sha(s3.get_object(Bucket=BUCKET, Key=key)["Body"].read())
            except ClientError as e:
                self.assertEqual(e.response["Error"]["Code"], "NoSuchKey", key)
                got = ABSENT
            allowed = {ledger.acked.get(key, ABSENT)}
            if key in ledger.maybe:
                allowed.add(ledger.maybe[key])
            self.assertIn(got, allowed, "%s: read %s, ledger allows %s" % (key, got, allowed))
            ledger.acked[key] = got
            if got is not ABSENT:
                present[key] = got
        ledger.maybe.clear()
        listed = {}
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET):
            for o in page.get("Contents", []):
                listed[o["Key"]] = o["Size"]
        self.assertEqual(set(listed), set(present), "the listing shows exactly the readable objects")
        # Uploads: completed and aborted ones are gone; one cut while
        # completing is gone exactly when its object is there.
        open_ids = set()
        for page in s3.get_paginator("list_multipart_uploads").paginate(Bucket=BUCKET):
            open_ids |= {u["UploadId"] for u in page.get("Uploads", [])}
        for up, (key, full, state) in list(ledger.uploads.items()):
            if state in ("completed", "aborted"):
                self.assertNotIn(up, open_ids, "%s %s is still listed" % (state, up))
            elif state == "completing":
                done = ledger.acked.get(key) == full
                self.assertEqual(up not in open_ids, done,
                                 "upload %s of %s: completed=%s but listed=%s" % (up, key, done, up in open_ids))
            if up in open_ids:
                s3.abort_multipart_upload(Bucket=BUCKET, Key=key, UploadId=up)
            del ledger.uploads[up]
        # Any other upload listed was made by a create the crash cut short.
        for page in s3.get_paginator("list_multipart_uploads").paginate(Bucket=BUCKET):
            for u in page.get("Uploads", []):
                self.assertIn(u["Key"], ledger.creating,
                              "upload %s of %s is listed but no create was in flight" % (u["UploadId"], u["Key"]))
                s3.abort_multipart_upload(Bucket=BUCKET, Key=u["Key"], UploadId=u["UploadId"])
        ledger.creating.clear()
        self.assertEqual(len([u for p in s3.get_paginator("list_multipart_uploads").paginate(Bucket=BUCKET)
                              for u in p.get("Uploads", [])]), 0)

    def test_kill_9_cycles(self):
        ledger = Ledger()
        rng = random.Random(int(os.environ.get("HF_CRASH_SEED", "20261201")))
        restarts = []
        for cycle in range(CYCLES):
            stop = threading.Event()
            ts = [threading.Thread(target=worker, args=(self.server, ledger, w, stop,
                                                        random.Random(rng.random())))
                  for w in range(WORKERS)]
            for t in ts:
                t.start()
            time.sleep(rng.uniform(0.2, 1.2))
            self.server.proc.send_signal(signal.SIGKILL)
            stop.set()
            self.server.stop()  # reaps it
            for t in ts:
                t.join(60)
                self.assertFalse(t.is_alive())
            restarts.append(first_get(self.server, "w0/key-00"))
            log = self.server.read_log()
            self.assertNotIn("verification failed", log)
            self.verify(ledger)
        print("    %d kill -9 cycles, %d acknowledged operations, restart to first GET: "
              "median %.0f ms, max %.0f ms" % (CYCLES, ledger.ops, 1000 * sorted(restarts)[len(restarts) // 2],
                                               1000 * max(restarts)), flush=True)
        self.assertGreater(ledger.ops, CYCLES * 5, "the load made progress")
        # Whatever the crashes left on disk, what is referenced verifies.
        rc, out, err = admin(self.server, "scrub", "run", "--rate", "1GiB")
        self.assertEqual(rc, 0, out + err)
        self.assertIn("damaged:  0", out)


class RestartBound(unittest.TestCase):
    """Start-up does no work proportional to the number of objects."""

    def measure(self, srv):
        srv.env["HOLDFAST_FAULTS"] = "open:delay=0/path=/chunks/,pread:delay=0/path=/chunks/"
        times, faults = [], []
        for _ in range(3):
            srv.proc.send_signal(signal.SIGKILL)
            srv.stop()
            t0 = time.time()
            srv.start()
            faults.append(page_faults(srv.proc.pid))
            rc, out, _ = admin(srv, "faults", "show")
            self.assertEqual(rc, 0)
            fired = [int(n) for n in re.findall(r"fired (\d+)\)", out)]
            self.assertEqual(fired, [0, 0], "start-up opened or read chunk files: " + out)
            s3 = hf.boto3_client(srv)
            s3.get_object(Bucket="bound", Key="probe")["Body"].read()
            times.append(time.time() - t0)
        return sorted(times)[1], sorted(faults)[1]

    def test_restart_does_not_grow_with_object_count(self):
        srv = hf.Server(args=["--fault-injection"]).start()
        try:
            s3 = hf.boto3_client(srv)
            s3.create_bucket(Bucket="bound")
            s3.put_object(Bucket="bound", Key="probe", Body=b"p" * 100000)
            for i in range(50):
                s3.put_object(Bucket="bound", Key="small-%d" % i, Body=b"s" * 2000)
            t1, f1 = self.measure(srv)
            db = os.path.join(srv.data, "meta", "data.mdb")
            size1 = os.path.getsize(db)

            def fill(w):
                c = hf.boto3_client(srv)
                for i in range(w, 12000, 8):
                    c.put_object(Bucket="bound", Key="many/%05d" % i, Body=b"m" * 2000)
                    if i % 97 == 0:
                        c.put_object(Bucket="bound", Key="blob/%05d" % i, Body=b"b" * 40000)
            ts = [threading.Thread(target=fill, args=(w,)) for w in range(8)]
            for t in ts:
                t.start()
            for t in ts:
                t.join()
            t2, f2 = self.measure(srv)
            size2 = os.path.getsize(db)
            pages = (size2 - size1) // 4096
            print("    restart to first GET: %.0f ms with 51 objects, %.0f ms with 12175 "
                  "(metadata %d -> %d KiB); page faults at ready %d -> %d" %
                  (1000 * t1, 1000 * t2, size1 // 1024, size2 // 1024, f1, f2), flush=True)
            self.assertGreater(pages, 4000, "the store really grew")
            # Reading the metadata at start would fault in its pages.
            self.assertLess(f2 - f1, max(300, pages // 10))
            self.assertLess(t2, 3 * t1 + 0.5)
        finally:
            srv.cleanup()


if __name__ == "__main__":
    hf.main(__file__)
