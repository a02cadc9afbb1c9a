"""The cluster's control plane against a real 3-member etcd on loopback
(docs/cluster.md). Each test names the invariant of docs/cluster.md it
checks:

  2. (the transport's part of it) A node talks only to peers that prove
     the cluster secret, and a stopped peer costs only the calls to it.
  3. No node ever applies a layout older than the one it has, an empty
     one, or one that breaks a rule.
  5. With etcd down, data keeps being served; only changes wait.
  6. Per-node threads do not depend on the number of nodes, partitions or
     connections.
  7. The status listener answers within 100 ms whatever state storage,
     peers or etcd are in.

Six nodes in three zones share one etcd for the module; the tests that
stop etcd or start two dozen nodes run on their own."""
import concurrent.futures
import json
import os
import signal
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hf  # noqa: E402
from cluster import (SECRET, Etcd, Node, layout_cli, layout_json, start_nodes,  # noqa: E402
                     wait_served)

ETCD = None
NODES = []
SPECS = [("n1", "a"), ("n2", "a"), ("n3", "b"), ("n4", "b"), ("n5", "c"), ("n6", "c")]


def setUpModule():
    global ETCD, NODES
    ETCD = Etcd().start()
    NODES = start_nodes(ETCD, SPECS)
    rc, out, err = layout_cli(ETCD, "apply", "--generation", "0",
                              *sum((["--add", n] for n, _ in SPECS), []))
    if rc != 0:
        raise AssertionError("first layout: %s %s" % (out, err))
    wait_served(NODES, 1)


def tearDownModule():
    for n in NODES:
        n.cleanup()
    if ETCD:
        ETCD.cleanup()


def generation():
    return layout_json(ETCD)["generation"]


class Rules(unittest.TestCase):
    def test_the_typo_is_refused(self):
        """Invariant 3 (2017): removing 4 of 6 nodes across 3 zones is refused,
        with or without a wrong --force-removal, and nothing changes."""
        g = generation()
        args = ["--remove", "n1", "--remove", "n3", "--remove", "n5", "--remove", "n6"]
        rc, out, err = layout_cli(ETCD, "plan", *args)
        self.assertEqual(rc, 3, out + err)
        self.assertIn("removal-step", out)
        self.assertIn("removes 4 nodes", out)
        self.assertIn("zone-floor", out)
        rc, out, err = layout_cli(ETCD, "apply", "--generation", str(g), *args)
        self.assertEqual(rc, 3, out + err)
        rc, out, err = layout_cli(ETCD, "apply", "--generation", str(g), "--force-removal", "3",
                                  *args)
        self.assertEqual(rc, 3, out + err)
        self.assertIn("--force-removal 3 does not repeat the number of nodes this change removes (4)",
                      out)
        # JSON says the same, with the generation at the top.
        rc, out, err = layout_cli(ETCD, "plan", "--json", *args)
        self.assertEqual(rc, 3)
        j = json.loads(out)
        self.assertEqual(j["generation"], g)
        self.assertEqual(j["outcome"], "refused")
        self.assertEqual(sorted(r["rule"] for r in j["refused"]), ["removal-step", "zone-floor"])
        self.assertEqual(generation(), g)
        for n in NODES:
            self.assertEqual(n.served(), g)

    def test_racing_applies_one_wins(self):
        """Invariant 3 (2025): applies racing from the same generation: exactly
        one commits, the others exit 4 (the generation moved on)."""
        for rnd in range(3):
            g = generation()

            def apply(i):
                return layout_cli(ETCD, "apply", "--generation", str(g), "--capacity",
                                  "n%d=%dGiB" % (i + 1, 1024 + 16 * rnd + i))
            with concurrent.futures.ThreadPoolExecutor(3) as ex:
                res = list(ex.map(apply, range(3)))
            codes = sorted(r[0] for r in res)
            self.assertEqual(codes, [0, 4, 4], res)
            loser = next(r for r in res if r[0] == 4)
            self.assertIn("the generation moved on", loser[2])
            self.assertEqual(generation(), g + 1)
            wait_served(NODES, g + 1)

    def test_apply_needs_the_generation_and_registered_nodes(self):
        rc, out, err = layout_cli(ETCD, "apply", "--add", "n9")
        self.assertEqual(rc, 2, err)
        self.assertIn("--generation G is required", err)
        rc, out, err = layout_cli(ETCD, "plan", "--add", "n9")
        self.assertEqual(rc, 2, err)
        self.assertIn("node n9 has not registered", err)

    def test_history_records_every_generation(self):
        rc, out, err = layout_cli(ETCD, "history", "--json")
        self.assertEqual(rc, 0, err)
        h = json.loads(out)
        gens = [e["generation"] for e in h["history"]]
        self.assertEqual(gens, sorted(gens))
        self.assertEqual(gens[-1], h["generation"])
        self.assertEqual(h["history"][0]["generation"], 1)
        self.assertIn("add n1 (zone a", h["history"][0]["summary"])
        self.assertTrue(all(e["by"] for e in h["history"]))

    def test_every_node_audits_what_it_applied(self):
        for n in NODES[:2]:
            rc, out, err = hf.admin(n, "audit", "show", "--json")
            self.assertEqual(rc, 0, err)
            recs = [json.loads(l) for l in out.splitlines() if l.strip().startswith("{")]
            applied = [r for r in recs if r.get("action") == "layout.apply"]
            self.assertTrue(applied, out[-2000:])
            self.assertEqual(applied[0]["target"], "generation 1")
            self.assertEqual(applied[0]["actor"]["via"], "cluster")


class StaleAndBroken(unittest.TestCase):
    def test_stopped_node_comes_back_to_the_newest(self):
        """Invariant 3: a node stopped while two newer generations were applied
        comes back serving the newest, and never the older one."""
        victim = NODES[5]
        g = generation()
        victim.proc.send_signal(signal.SIGSTOP)
        try:
            for k in range(2):
                rc, out, err = layout_cli(ETCD, "apply", "--generation", str(g + k), "--capacity",
                                          "n2=%dGiB" % (2000 + k))
                self.assertEqual(rc, 0, out + err)
            wait_served(NODES[:5], g + 2)
        finally:
            victim.proc.send_signal(signal.SIGCONT)
        seen = set()
        deadline = time.time() + 20
        while time.time() < deadline:
            s = victim.served()
            seen.add(s)
            if s == g + 2:
                break
            time.sleep(0.05)
        self.assertEqual(victim.served(), g + 2)
        self.assertTrue(seen <= {g, g + 1, g + 2}, seen)
        # A delayed update now arriving -- an older generation written back
        # into etcd -- is refused by every node.
        old, _ = ETCD.get("/holdfast/history/%020d" % (g + 1))
        self.assertIsNotNone(old)
        before = [n.refused("stale") for n in NODES]
        ETCD.put("/holdfast/layout", old)
        for n, b in zip(NODES, before):
            hf.wait_for(lambda: n.refused("stale") > b, 15, "%s refuses the stale layout" % n.node_id)
            self.assertEqual(n.served(), g + 2)
        self.put_back(g + 2)

    def put_back(self, good):
        """Repair what a test wrote into etcd by hand: revert to good."""
        rc, out, err = layout_cli(ETCD, "revert", str(good))
        self.assertEqual(rc, 0, out + err)
        g = generation()
        self.assertGreater(g, good)
        wait_served(NODES, g)

    def test_empty_or_rule_breaking_layouts_are_refused(self):
        """Invariant 3: an empty layout, and one below the replica floor,
        written straight into etcd with a newer generation, are refused by
        every node, which keeps serving its last good one."""
        g = generation()
        raw, _ = ETCD.get("/holdfast/layout")
        good = json.loads(raw)
        empty = dict(good, generation=g + 1, prev_generation=g, nodes=[], partitions=[])
        thin = dict(good, generation=g + 1, prev_generation=g,
                    partitions=[dict(p, replicas=p["replicas"][:1]) for p in good["partitions"]])
        for bad in (empty, thin):
            before = [n.refused("invalid") for n in NODES]
            ETCD.put("/holdfast/layout", json.dumps(bad, separators=(",", ":")))
            for n, b in zip(NODES, before):
                hf.wait_for(lambda: n.refused("invalid") > b, 15,
                            "%s refuses the bad layout" % n.node_id)
                self.assertEqual(n.served(), g)
            # The status page says so, and the operator is told how to repair.
            st = json.loads(hf.admin(NODES[0], "status", "--json")[1])
            self.assertTrue(st["cluster"]["etcd_layout_refused"])
            rc, out, err = layout_cli(ETCD, "show")
            self.assertEqual(rc, 1)
            self.assertIn("REFUSED by every node", out)
            rc, out, err = layout_cli(ETCD, "apply", "--generation", str(g + 1), "--capacity",
                                      "n1=1TiB")
            self.assertEqual(rc, 2)
            self.assertIn("layout revert G", err)
        # Break glass: put generation g back; it comes as a newer generation.
        self.put_back(g)
        self.assertEqual(generation(), g + 2)

    def test_pin_holds_nodes_and_refuses_changes(self):
        """Invariant 3: pinned nodes ignore newer generations (written past the
        CLI, which refuses changes while pinned) until unpinned."""
        g = generation()
        rc, out, err = layout_cli(ETCD, "pin", str(g))
        self.assertEqual(rc, 0, err)
        try:
            rc, out, err = layout_cli(ETCD, "apply", "--generation", str(g), "--capacity",
                                      "n3=3TiB")
            self.assertEqual(rc, 3, out + err)
            self.assertIn("pinned", out)
            raw, _ = ETCD.get("/holdfast/layout")
            newer = dict(json.loads(raw), generation=g + 1, prev_generation=g)
            before = [int(n.metrics()['holdfast_layout_refused_total{reason="pinned"}']) for n in NODES]
            ETCD.put("/holdfast/layout", json.dumps(newer, separators=(",", ":")))
            for n, b in zip(NODES, before):
                hf.wait_for(lambda: n.metrics()['holdfast_layout_refused_total{reason="pinned"}'] > b,
                            15, "%s ignores it" % n.node_id)
                self.assertEqual(n.served(), g)
                self.assertEqual(n.metrics()["holdfast_layout_pinned_generation"], g)
        finally:
            rc, out, err = layout_cli(ETCD, "unpin")
            self.assertEqual(rc, 0, err)
        wait_served(NODES, g + 1)


class Moving(unittest.TestCase):
    def test_no_removal_while_a_node_has_not_confirmed(self):
        """Invariant 4 (deletion follows acknowledgement): while a node that
        gained partitions has not confirmed the generation, removals wait --
        except the removal of that very node."""
        victim = NODES[2]  # n3, zone b
        g = generation()
        victim.proc.send_signal(signal.SIGSTOP)
        try:
            rc, out, err = layout_cli(ETCD, "apply", "--generation", str(g), "--capacity",
                                      "n3=3TiB")
            self.assertEqual(rc, 0, out + err)
            wait_served([n for n in NODES if n is not victim], g + 1)
            rc, out, err = layout_cli(ETCD, "plan", "--remove", "n1")
            self.assertEqual(rc, 3, out + err)
            self.assertIn("generation %d is still moving data: 1 node (n3) has not confirmed it"
                          % (g + 1), out)
            rc, out, err = layout_cli(ETCD, "plan", "--remove", "n3")
            self.assertEqual(rc, 0, out + err)
        finally:
            victim.proc.send_signal(signal.SIGCONT)
        wait_served(NODES, g + 1)
        hf.wait_for(lambda: layout_cli(ETCD, "plan", "--remove", "n1")[0] == 0, 15,
                    "removal allowed once n3 confirmed")


class Catalog(unittest.TestCase):
    def test_users_and_buckets_are_cluster_wide(self):
        rc, out, err = hf.admin(NODES[0], "user", "create", "carol")
        self.assertEqual(rc, 0, err)
        keys = dict(l.split(":", 1) for l in out.strip().splitlines() if ":" in l)
        ak, sk = keys["access key"].strip(), keys["secret key"].strip()
        for n in NODES:
            hf.wait_for(lambda: "carol" in hf.admin(n, "user", "list")[1], 10,
                        "carol on %s" % n.node_id)
        # Her bucket, created through one node, is hers on every node.
        c0 = hf.boto3_client(NODES[0], access_key=ak, secret_key=sk)
        c0.create_bucket(Bucket="carols-bucket")
        c3 = hf.boto3_client(NODES[3], access_key=ak, secret_key=sk)
        hf.wait_for(lambda: c3.head_bucket(Bucket="carols-bucket"), 10, "bucket on n4")
        from botocore.exceptions import ClientError
        root3 = hf.boto3_client(NODES[3])
        with self.assertRaises(ClientError) as cm:
            root3.create_bucket(Bucket="carols-bucket")
        self.assertEqual(cm.exception.response["Error"]["Code"], "BucketAlreadyExists")
        with self.assertRaises(ClientError) as cm:
            c3.delete_bucket(Bucket="carols-bucket")
        self.assertEqual(cm.exception.response["ResponseMetadata"]["HTTPStatusCode"], 501)
        # She owns a bucket: she cannot be deleted; disabling reaches every node.
        rc, out, err = hf.admin(NODES[2], "user", "delete", "carol")
        self.assertEqual(rc, 1)
        self.assertIn("UserInUse", err)
        rc, out, err = hf.admin(NODES[2], "user", "disable", "carol")
        self.assertEqual(rc, 0, err)

        def refused():
            try:
                c0.list_buckets()
                return False
            except ClientError as e:
                return e.response["Error"]["Code"] == "InvalidAccessKeyId"
        hf.wait_for(refused, 10, "carol disabled on n1")

    def test_key_rotation_reaches_every_node(self):
        rc, out, err = hf.admin(NODES[0], "user", "create", "erin")
        self.assertEqual(rc, 0, err)
        old = dict(l.split(":", 1) for l in out.strip().splitlines() if ":" in l)
        rc, out, err = hf.admin(NODES[1], "user", "key", "rotate", "erin", "--grace", "1h")
        self.assertEqual(rc, 0, err)
        new = dict(l.split(":", 1) for l in out.strip().splitlines() if ":" in l)
        from botocore.exceptions import ClientError

        def works(node, keys):
            try:
                hf.boto3_client(node, access_key=keys["access key"].strip(),
                                secret_key=keys["secret key"].strip()).list_buckets()
                return True
            except ClientError:
                return False
        # On a third node: the new key works, the old one through its grace.
        hf.wait_for(lambda: works(NODES[4], new), 10, "the new key on n5")
        self.assertTrue(works(NODES[4], old))
        rc, out, err = hf.admin(NODES[2], "user", "key", "delete", "erin",
                                old["access key"].strip())
        self.assertEqual(rc, 0, err)
        hf.wait_for(lambda: not works(NODES[4], old), 10, "the old key refused on n5")
        self.assertTrue(works(NODES[4], new))
        # The root key rotated on one node lands in every node's root-credentials.
        rc, out, err = hf.admin(NODES[0], "user", "key", "rotate", "root", "--grace", "1h")
        self.assertEqual(rc, 0, err)
        ak = dict(l.split(":", 1) for l in out.strip().splitlines() if ":" in l)["access key"].strip()

        def has_key(n):
            with open(os.path.join(n.data, "root-credentials")) as f:
                return ("access_key=%s\n" % ak) in f.read()
        for n in NODES:
            hf.wait_for(lambda: has_key(n), 10, "the new root key on %s" % n.node_id)

    def test_the_same_user_created_twice_at_once(self):
        with concurrent.futures.ThreadPoolExecutor(3) as ex:
            res = list(ex.map(lambda n: hf.admin(n, "user", "create", "dave"), NODES[:3]))
        self.assertEqual(sorted(r[0] for r in res), [0, 1, 1], res)
        self.assertTrue(all("UserAlreadyExists" in r[2] for r in res if r[0]))


class Nodes(unittest.TestCase):
    def test_admin_nodes(self):
        rc, out, err = hf.admin(NODES[1], "nodes", "--json")
        self.assertEqual(rc, 0, err)
        j = json.loads(out)
        self.assertEqual(j["generation"], generation())
        by = {n["id"]: n for n in j["nodes"]}
        self.assertEqual(sorted(by), [n for n, _ in SPECS])
        for node_id, zone in SPECS:
            self.assertEqual(by[node_id]["zone"], zone)
            self.assertEqual(by[node_id]["state"], "up")
            self.assertTrue(by[node_id]["last_seen"])
            self.assertEqual(by[node_id]["generation"], generation())
        rc, out, err = hf.admin(NODES[1], "nodes")
        self.assertEqual(rc, 0, err)
        self.assertIn("n6", out)
        self.assertIn("STATE", out)


def links(node):
    """{peer id: its link} as node's admin API reports them."""
    rc, out, err = hf.admin(node, "nodes", "--json")
    if rc != 0:
        raise AssertionError(err)
    return {n["id"]: n.get("link") for n in json.loads(out)["nodes"]}


class Transport(unittest.TestCase):
    def test_every_node_links_to_every_peer_and_sees_a_stopped_one(self):
        """Invariants 2 and 7: each node keeps an authenticated link to every
        peer of its layout (one connection per pair, two at most while both
        dial at once); a SIGSTOPped peer shows down on the others, whose own
        links and status stay answering, and comes back up after SIGCONT."""
        others = [n.node_id for n in NODES]

        def all_up(node):
            ls = links(node)
            return all(ls.get(i) and ls[i]["connected"] and ls[i]["ok"] > 0
                       for i in others if i != node.node_id)
        for n in NODES:
            hf.wait_for(lambda n=n: all_up(n), 20, "%s linked to every peer" % n.node_id)
        conns = hf.metric(NODES[0], "holdfast_peer_connections")
        self.assertGreaterEqual(conns, len(NODES) - 1)
        self.assertLessEqual(conns, 2 * (len(NODES) - 1))
        self.assertEqual(hf.metric(NODES[0], "holdfast_peer_up", {"peer": "n6"}), 1)
        victim = NODES[5]
        victim.proc.send_signal(signal.SIGSTOP)
        try:
            def sees_down():
                lk = links(NODES[0])["n6"]
                return lk["timeouts"] + lk["failed"] > 0
            t0 = time.monotonic()
            hf.wait_for(sees_down, 15, "n1 to see n6 stop answering")
            # The rest of the cluster is unaffected: n1 still reaches n2..n5,
            # and its status answers at once.
            ls = links(NODES[0])
            for i in ("n2", "n3", "n4", "n5"):
                self.assertTrue(ls[i]["connected"], ls[i])
            t = time.monotonic()
            self.assertEqual(hf.http_status(NODES[0].status + "/health/live"), 200)
            self.assertLess(time.monotonic() - t, 1.0)
            print("    n1 saw the stopped n6 time out after %.1f s" % (time.monotonic() - t0),
                  flush=True)
        finally:
            victim.proc.send_signal(signal.SIGCONT)
        before = links(NODES[0])["n6"]["ok"]
        hf.wait_for(lambda: links(NODES[0])["n6"]["ok"] > before, 15, "n6 answering again")

    def test_a_wrong_secret_is_refused_by_the_peers(self):
        """Invariant 2 (the transport's part): a process that dials a node's
        RPC port without the cluster secret is refused in the handshake,
        and the node says so in its log; nothing it sends is served."""
        import socket
        node = NODES[2]
        host, port = node.rpc.rsplit(":", 1)
        s = socket.create_connection((host, int(port)), timeout=5)
        # A HELLO from "intruder" with a nonce, then a proof made with
        # another secret (docs/internals/FORMAT-peer.md).
        ident = b"intruder"
        hello = b"HFPEER1" + bytes([1, len(ident)]) + ident + os.urandom(16)
        s.sendall(len(hello).to_bytes(4, "big") + bytes([1, 0, 0, 0]) + bytes(12) + hello)
        got = b""
        while len(got) < 20:
            got += s.recv(4096)
        self.assertEqual(got[4], 1)  # its HELLO
        proof = os.urandom(32)
        s.sendall((32).to_bytes(4, "big") + bytes([2, 0, 0, 0]) + bytes(12) + proof)
        s.settimeout(5)
        rest = b""
        try:
            while True:
                k = s.recv(4096)
                if not k:
                    break
                rest += k
        except OSError:
            pass
        s.close()
        frames = []
        buf = got + rest
        while len(buf) >= 20:
            n = int.from_bytes(buf[:4], "big")
            frames.append(buf[4])
            buf = buf[20 + n:]
        self.assertIn(5, frames, "no REFUSE frame: %r" % frames)  # REFUSE, then closed
        hf.wait_for(lambda: "cluster secrets differ" in node.read_log(), 5, "the refusal logged")


if __name__ == "__main__":
    hf.main(__file__)
