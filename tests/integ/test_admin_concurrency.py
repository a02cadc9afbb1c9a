"""Admin calls never fail for being concurrent (docs/operations.md#admin-api):
reads never wait for changes, changes run side by side, and the admin CLI
retries the one answer a change can get for being one too many (503 Busy),
so scripts that run admin commands in parallel always get the real answer."""
import concurrent.futures
import os
import re
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hf  # noqa: E402

# HF_STATUS_ADMIN_WRITES_MAX (src/status/status.h): admin changes running at once.
SLOTS = 4

SERVER = None


def setUpModule():
    global SERVER
    SERVER = hf.Server(args=["--fault-injection"]).start()


def tearDownModule():
    global SERVER
    rc = SERVER.stop()
    SERVER.cleanup()
    SERVER = None
    if rc != 0:
        raise AssertionError("server exited with status %r on SIGTERM" % rc)


def metric(name):
    st, _, body = hf.http(SERVER.status + "/metrics")
    m = re.search(r"^%s (\S+)$" % re.escape(name), body.decode(), re.M)
    return float(m.group(1)) if m else None


class Concurrent(unittest.TestCase):
    def test_parallel_changes_and_reads_all_succeed(self):
        names = ["par-%d" % i for i in range(12)]
        with concurrent.futures.ThreadPoolExecutor(12) as ex:
            creates = [ex.submit(hf.admin, SERVER, "user", "create", n) for n in names]
            reads = [ex.submit(hf.admin, SERVER, "user", "list") for _ in range(12)]
            for f in creates + reads:
                rc, out, err = f.result()
                self.assertEqual(rc, 0, err)
                self.assertNotIn("Busy", err)
        rc, out, err = hf.admin(SERVER, "user", "list")
        for n in names:
            self.assertIn(n, out)

    def test_reads_answer_while_changes_hold_every_change_slot(self):
        # Each change's audit record waits 1 s for its fdatasync (one at a
        # time: the audit log is appended in order), holding one of the
        # SLOTS change slots that long after it has answered.
        rc, _, err = hf.admin(SERVER, "faults", "set", "fdatasync:delay=1000/path=audit.log")
        self.assertEqual(rc, 0, err)
        busy_before = metric("holdfast_admin_busy_total")
        try:
            with concurrent.futures.ThreadPoolExecutor(SLOTS + 2) as ex:
                changes = [ex.submit(hf.admin, SERVER, "user", "create", "slow-%d" % i)
                           for i in range(SLOTS + 1)]
                hf.wait_for(lambda: metric("holdfast_admin_changes_running") == SLOTS, 10,
                            "every change slot taken")
                t0 = time.monotonic()
                rc, out, err = hf.admin(SERVER, "user", "list")
                read_s = time.monotonic() - t0
                self.assertEqual(rc, 0, err)
                self.assertEqual(hf.http_status(SERVER.status + "/health/ready"), 200)
                # The last change found every slot taken: it was answered
                # Busy and the CLI sent it again until it got in.
                for f in changes:
                    rc, out, err = f.result()
                    self.assertEqual(rc, 0, err)
        finally:
            hf.wait_for(lambda: hf.admin(SERVER, "faults", "clear")[0] == 0, 30, "faults cleared")
        print("    a read took %.3f s while every change slot was held" % read_s, flush=True)
        self.assertLess(read_s, 1.0)
        self.assertGreater(metric("holdfast_admin_busy_total"), busy_before)
        rc, out, _ = hf.admin(SERVER, "user", "list")
        for i in range(SLOTS + 1):
            self.assertIn("slow-%d" % i, out)


if __name__ == "__main__":
    hf.main(__file__)
