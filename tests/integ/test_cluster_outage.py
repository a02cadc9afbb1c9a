"""A cluster's nodes without etcd, with a wrong secret, and at 3 and 24
nodes (docs/cluster.md). Each test names the invariant it checks:

  5. With etcd down, data keeps being served; only changes wait.
  6. Per-node threads do not depend on the number of nodes, partitions or
     connections.
  7. The status listener answers within 100 ms whatever state storage,
     peers or etcd are in.

Each test runs its own etcd (3 members on loopback) and nodes."""
import os
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hf  # noqa: E402
from cluster import SECRET, Etcd, Node, layout_cli, start_nodes, wait_served  # noqa: E402


def fds(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


class Outage(unittest.TestCase):
    def setUp(self):
        self.etcd = Etcd().start()
        self.nodes = start_nodes(self.etcd, [("a1", "a"), ("b1", "b"), ("c1", "c")])
        rc, out, err = layout_cli(self.etcd, "apply", "--generation", "0", "--add", "a1", "--add",
                                  "b1", "--add", "c1")
        self.assertEqual(rc, 0, out + err)
        wait_served(self.nodes, 1)

    def tearDown(self):
        for n in self.nodes:
            n.cleanup()
        self.etcd.cleanup()

    def test_nodes_serve_and_restart_without_etcd(self):
        """Invariants 5 and 7: every etcd member stopped: nodes go on serving
        S3 with their layout, restart after kill -9 without etcd and serve
        the same generation, the status listener answers at once and says
        etcd is unreachable; a layout change fails plainly; changes of users
        and buckets wait; all of it comes back with etcd."""
        s3 = hf.boto3_client(self.nodes[0])
        s3.create_bucket(Bucket="kept")
        s3.put_object(Bucket="kept", Key="before", Body=b"x" * 1000)
        self.etcd.stop()
        for n in self.nodes:
            hf.wait_for(lambda: n.metrics()["holdfast_etcd_reachable"] == 0, 15,
                        "%s sees etcd down" % n.node_id)
            self.assertEqual(n.served(), 1)
        # Data keeps being served: reads and writes of existing buckets.
        self.assertEqual(s3.get_object(Bucket="kept", Key="before")["Body"].read(), b"x" * 1000)
        s3.put_object(Bucket="kept", Key="during", Body=b"y")
        self.assertEqual(s3.get_object(Bucket="kept", Key="during")["Body"].read(), b"y")
        # The status listener answers at once (invariant 7).
        for path in ("/health/ready", "/metrics", "/"):
            t0 = time.monotonic()
            st, _, body = hf.http(self.nodes[1].status + path)
            took = time.monotonic() - t0
            self.assertEqual(st, 200, path)
            self.assertLess(took, 0.1, path)
        rc, out, err = hf.admin(self.nodes[1], "status")
        self.assertEqual(rc, 0, err)
        self.assertIn("etcd unreachable", out)
        self.assertIn("degraded", out)
        # kill -9 and start again, etcd still down: the local copy is served.
        victim = self.nodes[2]
        victim.kill()
        t0 = time.monotonic()
        victim.start()
        print("    a node restarted without etcd in %.2f s" % (time.monotonic() - t0), flush=True)
        self.assertEqual(victim.served(), 1)
        self.assertEqual(victim.metrics()["holdfast_etcd_reachable"], 0)
        # Changes wait, with a clear message.
        rc, out, err = layout_cli(self.etcd, "apply", "--generation", "1", "--capacity", "a1=2TiB")
        self.assertEqual(rc, 1, out + err)
        self.assertIn("no etcd member answered", err)
        self.assertIn("must be reachable", err)
        rc, out, err = hf.admin(self.nodes[0], "user", "create", "waits")
        self.assertEqual(rc, 1)
        self.assertIn("ClusterUnavailable", err)
        from botocore.exceptions import ClientError
        with self.assertRaises(ClientError) as cm:
            s3.create_bucket(Bucket="new-while-down")
        self.assertEqual(cm.exception.response["ResponseMetadata"]["HTTPStatusCode"], 503)
        # etcd back: nodes reconnect, register, and changes go through.
        self.etcd.start()
        for n in self.nodes:
            hf.wait_for(lambda: n.metrics()["holdfast_etcd_reachable"] == 1, 20,
                        "%s sees etcd again" % n.node_id)
        rc, out, err = layout_cli(self.etcd, "apply", "--generation", "1", "--capacity", "a1=2TiB")
        self.assertEqual(rc, 0, out + err)
        wait_served(self.nodes, 2)
        rc, out, err = hf.admin(self.nodes[0], "nodes", "--json")
        self.assertEqual(rc, 0, err)
        self.assertIn('"up"', out)

    def test_wrong_or_missing_secret_is_refused(self):
        """A node without the cluster's secret, or with a wrong one, is
        refused with a clear message -- joining, and restarting with etcd
        down."""
        n = Node(self.etcd, "d1", "a", secret="not-the-cluster-secret-at-all")
        try:
            with self.assertRaises(RuntimeError) as cm:
                n.start()
            self.assertIn("the cluster secret is wrong", str(cm.exception))
            self.assertEqual(n.proc.wait(5) if n.proc else 2, 2)
        finally:
            n.cleanup()
        n = Node(self.etcd, "d2", "a", secret=None)
        try:
            with self.assertRaises(RuntimeError) as cm:
                n.start()
            self.assertIn("HOLDFAST_CLUSTER_SECRET", str(cm.exception))
        finally:
            n.cleanup()
        # A member restarted with another secret while etcd is down: its own
        # record of the cluster refuses it.
        a1 = self.nodes[0]
        a1.stop()
        self.etcd.stop()
        a1.env["HOLDFAST_CLUSTER_SECRET"] = "another-secret-of-enough-length"
        with self.assertRaises(RuntimeError) as cm:
            a1.start()
        self.assertIn("the cluster secret is wrong", str(cm.exception))
        a1.env["HOLDFAST_CLUSTER_SECRET"] = SECRET
        a1.start()
        self.assertEqual(a1.served(), 1)


class Threads(unittest.TestCase):
    def test_thread_count_is_the_same_at_3_and_24_nodes(self):
        """Invariant 6 (Kinesis 2020): a node's threads and file descriptors do
        not grow with the cluster: the same count with 3 and 24 nodes
        registered, watched and in the layout."""
        etcd = Etcd().start()
        nodes = []
        try:
            zones = "abc"
            nodes = start_nodes(etcd, [("t%02d" % i, zones[i % 3]) for i in range(3)],
                                args=["--workers", "2"])
            rc, out, err = layout_cli(etcd, "apply", "--generation", "0",
                                      *sum((["--add", n.node_id] for n in nodes), []))
            self.assertEqual(rc, 0, out + err)
            wait_served(nodes, 1)
            time.sleep(1)
            pid = nodes[0].proc.pid
            t3, f3 = hf.threads(pid), fds(pid)
            nodes += start_nodes(etcd, [("t%02d" % i, zones[i % 3]) for i in range(3, 24)],
                                 args=["--workers", "2"])
            rc, out, err = layout_cli(etcd, "apply", "--generation", "1", "--max-removal-step", "1",
                                      *sum((["--add", n.node_id] for n in nodes[3:]), []))
            self.assertEqual(rc, 0, out + err)
            wait_served(nodes, 2, timeout=60)
            rc, out, err = hf.admin(nodes[0], "nodes", "--json")
            self.assertEqual(out.count('"state": "up"'), 24, out[-3000:])
            time.sleep(1)
            t24, f24 = hf.threads(pid), fds(pid)
            hf.wait_for(lambda: hf.metric(nodes[0], "holdfast_peer_connections") >= 23, 20,
                        "t00 linked to its 23 peers")
            t24, f24 = hf.threads(pid), fds(pid)
            print("    node t00: %d threads and %d fds with 3 nodes, %d and %d with 24 "
                  "(%d peer connections)"
                  % (t3, f3, t24, f24, hf.metric(nodes[0], "holdfast_peer_connections")),
                  flush=True)
            self.assertEqual(t24, t3)
            # 2 S3 + 2 status loops, 8 I/O threads, metadata writer,
            # housekeeping, sampler, the cluster's control thread, main.
            self.assertEqual(t3, 17)
            # Descriptors: a constant plus the peers this node talks to --
            # one connection per pair, two at most while both dial at once
            # (the transport pings every peer of the layout), and the odd
            # etcd connection.
            self.assertLessEqual(f24, f3 + 2 * 21 + 2)
            conns = hf.metric(nodes[0], "holdfast_peer_connections")
            self.assertGreaterEqual(conns, 23)
            self.assertLessEqual(conns, 2 * 23)
        finally:
            for n in nodes:
                n.cleanup()
            etcd.cleanup()


if __name__ == "__main__":
    hf.main(__file__)
