"""Cluster test harness: a real etcd cluster (Debian's etcd-server) on
free loopback ports with its own data directories, holdfast nodes joined
to it, and the admin CLI against both. Every process is stopped by its
PID. Used by tests/integ/test_cluster*.py."""
import base64
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request

import hf

ETCD = "/usr/bin/etcd"
SECRET = "integration-test-cluster-secret-0123456789"


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Etcd:
    """A 3-member etcd cluster on loopback. stop()/start() a member by
    index; all members share one temporary directory."""

    def __init__(self, members=3):
        if not os.access(ETCD, os.X_OK):
            raise RuntimeError("%s missing: install etcd-server (scripts/install-deps.sh)" % ETCD)
        self.dir = tempfile.mkdtemp(prefix="hf-etcd-")
        self.n = members
        self.client = [free_port() for _ in range(members)]
        self.peer = [free_port() for _ in range(members)]
        self.procs = [None] * members
        self.initial = ",".join("m%d=http://127.0.0.1:%d" % (i, self.peer[i]) for i in range(members))
        self.state = "new"

    @property
    def endpoints(self):
        return ",".join("127.0.0.1:%d" % p for p in self.client)

    def url(self, prefix="/holdfast"):
        return "etcd://%s%s" % (self.endpoints, prefix)

    def start_member(self, i):
        curl = "http://127.0.0.1:%d" % self.client[i]
        purl = "http://127.0.0.1:%d" % self.peer[i]
        log = open(os.path.join(self.dir, "m%d.log" % i), "ab")
        self.procs[i] = subprocess.Popen(
            [ETCD, "--name", "m%d" % i, "--data-dir", os.path.join(self.dir, "m%d" % i),
             "--listen-client-urls", curl, "--advertise-client-urls", curl,
             "--listen-peer-urls", purl, "--initial-advertise-peer-urls", purl,
             "--initial-cluster", self.initial, "--initial-cluster-state", self.state,
             "--heartbeat-interval", "50", "--election-timeout", "500"],
            stdout=log, stderr=log)
        log.close()

    def start(self):
        for i in range(self.n):
            if self.procs[i] is None:
                self.start_member(i)
        self.state = "existing"
        hf.wait_for(lambda: self.put("/hf-test/ready", "1") is not None, 30, "etcd ready")
        return self

    def stop(self, i=None, sig=signal.SIGTERM):
        for k in ([i] if i is not None else range(self.n)):
            p = self.procs[k]
            if p is None:
                continue
            p.send_signal(sig)
            try:
                p.wait(15)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
            self.procs[k] = None

    def cleanup(self):
        self.stop(sig=signal.SIGKILL)
        shutil.rmtree(self.dir, ignore_errors=True)

    # ---- the v3 JSON gateway, for what the tests read and write directly
    def call(self, path, body):
        for p in self.client:
            req = urllib.request.Request("http://127.0.0.1:%d/v3/%s" % (p, path),
                                         data=json.dumps(body).encode(), method="POST")
            try:
                with urllib.request.urlopen(req, timeout=3) as r:
                    return json.loads(r.read())
            except Exception:
                continue
        return None

    def get(self, key):
        """(value bytes, mod_revision) or (None, 0)."""
        r = self.call("kv/range", {"key": b64(key)})
        if not r or not r.get("kvs"):
            return None, 0
        kv = r["kvs"][0]
        return base64.b64decode(kv.get("value", "")), int(kv["mod_revision"])

    def put(self, key, value):
        if isinstance(value, str):
            value = value.encode()
        return self.call("kv/put", {"key": b64(key), "value": base64.b64encode(value).decode()})


def b64(s):
    return base64.b64encode(s.encode()).decode()


class Node(hf.Server):
    """A holdfast server joined to a cluster."""

    def __init__(self, etcd, node_id, zone, capacity="1TiB", secret=SECRET, data=None, args=(),
                 env=None, prefix="/holdfast"):
        self.node_id = node_id
        self.rpc = "127.0.0.1:%d" % free_port()
        e = {"HOLDFAST_CLUSTER_SECRET": secret} if secret is not None else {}
        e.update(env or {})
        a = ["--cluster", etcd.url(prefix), "--node-id", node_id, "--zone", zone,
             "--capacity", capacity, "--rpc-listen", self.rpc] + list(args)
        super().__init__(data=data, env=e, args=a)
        if secret is None:
            self.env.pop("HOLDFAST_CLUSTER_SECRET", None)

    def metrics(self):
        st, _, body = hf.http(self.status + "/metrics", timeout=5)
        out = {}
        for line in body.decode().splitlines():
            if line and not line.startswith("#"):
                k, v = line.rsplit(" ", 1)
                out[k] = float(v)
        return out

    def served(self):
        return int(self.metrics().get("holdfast_layout_generation", -1))

    def refused(self, reason):
        return int(self.metrics().get('holdfast_layout_refused_total{reason="%s"}' % reason, 0))


def layout_cli(etcd, *args, prefix="/holdfast", timeout=60):
    """`holdfast admin --cluster URL layout ARGS`: (rc, stdout, stderr)."""
    env = dict(os.environ)
    for k in ("HOLDFAST_ACCESS_KEY", "HOLDFAST_SECRET_KEY", "HOLDFAST_CLUSTER"):
        env.pop(k, None)
    p = subprocess.run([hf.BIN, "admin", "--cluster", etcd.url(prefix), "layout"] + list(args),
                       env=env, capture_output=True, text=True, timeout=timeout)
    return p.returncode, p.stdout, p.stderr


def layout_json(etcd, prefix="/holdfast"):
    rc, out, err = layout_cli(etcd, "show", "--json", prefix=prefix)
    if rc != 0:
        raise AssertionError("layout show: %s" % err)
    return json.loads(out)


def start_nodes(etcd, specs, **kw):
    """Start nodes [(id, zone)...] one after the other (each must be
    ready before the next: a first join writes the cluster's identity)."""
    nodes = []
    try:
        for node_id, zone in specs:
            n = Node(etcd, node_id, zone, **kw).start()
            nodes.append(n)
            hf.wait_for(lambda: n.metrics().get("holdfast_cluster_registered") == 1, 15,
                        "%s registered" % node_id)
    except Exception:
        for n in nodes:
            n.cleanup()
        raise
    return nodes


def wait_served(nodes, g, timeout=20):
    for n in nodes:
        hf.wait_for(lambda: n.served() == g, timeout, "%s serves generation %d" % (n.node_id, g))
