#!/usr/bin/python3
"""`make bench`: holdfast next to nginx on this machine, driven by two
independent clients -- `holdfast bench` and wrk (Debian's package, firing
presigned URLs at holdfast and plain paths at nginx) -- with the same
settings, runs alternating; a ratio counts only where the two clients agree
within 10%. Then the figures only holdfast has (listing a bucket of 1,000,000
objects, cold start, memory, threads, slow clients, one key with many
connections, what waiting costs) and the overload curve (offered load far
past what the machine serves, against goodput, shed load and p99). Writes
docs/benchmarks.md, docs/benchmarks.png and docs/overload.png (gnuplot) and
docs/benchmarks.json (every run's raw result).

usage: scripts/bench.py [--only overload|sse]
  --only overload  run only the overload curve (about 1 minute) and merge it
                   into the existing benchmarks.json, then rewrite the report
  --only sse       run only the cost of server-side encryption (SSE-S3
                   against no encryption, about 4 minutes) and merge it the same
                   way

The comparison with nginx is of unencrypted objects (holdfast with
--sse-default none: nginx encrypts nothing); what encryption costs is its
own figure, holdfast's default (every object SSE-S3) against the same
server without it.

nginx (Debian's package) serves static files for GET and WebDAV
`dav_methods PUT DELETE` for PUT, from a config generated in a temporary
directory. Every process this script starts is stopped by its PID.

Environment (all optional):
  BENCH_DURATION   measured seconds per run (default 10)
  BENCH_ROUNDS     runs per side and figure, alternating (default 3)
  BENCH_BIG        objects in the listing/cold-start bucket (default 1000000)
  BENCH_PROFILE    0 to skip the perf profiles of holdfast (default 1)
  BENCH_OUT        directory for the report (default docs)
  BENCH_CURVE_STEP measured seconds per step of the overload curve (default 5)
  BENCH_ONLY       same as --only
"""
import datetime
import json
import os
import platform
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "bin", "holdfast")
AK = "BENCHROOTKEY00000001"
SK = "benchrootsecret0000000000000000000000000"
DURATION = int(os.environ.get("BENCH_DURATION", "10"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
BIG = int(os.environ.get("BENCH_BIG", "1000000"))
SMALL = 10000
PROFILE = os.environ.get("BENCH_PROFILE", "1") != "0" and shutil.which("perf")
OUT = os.path.join(ROOT, os.environ.get("BENCH_OUT", "docs"))

# The figures measured on both servers: (name, bench flags, what is compared).
PAIRED = [
    ("get4k", ["--op", "get", "--size", "4KiB", "--objects", "1000", "--concurrency", "32"]),
    ("get1m", ["--op", "get", "--size", "1MiB", "--objects", "64", "--concurrency", "16"]),
    ("put4k", ["--op", "put", "--size", "4KiB", "--objects", "10000", "--concurrency", "32"]),
    ("put1m", ["--op", "put", "--size", "1MiB", "--objects", "64", "--concurrency", "16"]),
]

# Server-side encryption's cost: these figures of PAIRED, holdfast's default
# (SSE-S3 on every object) against --sse-default none, alternating; the
# target is for the 1 MiB figures (AES-GCM runs at several GB/s a core, MD5
# at 0.7 GB/s is the per-core bound of a PUT), the 4 KiB ones show the fixed
# cost per object (a data key drawn or unwrapped, the inline data sealed).
SSE_FIGURES = ["get1m", "put1m", "get4k", "put4k"]
SSE_TARGET = {"get1m": 0.9, "put1m": 0.9}

# holdfast runs with its defaults: admission is decided by what the machine
# can do (queue delay), so one client's 32 connections are served, not shed.
LOAD_CONNS = 32  # the most connections any paired figure uses
SERVER_FLAGS = []

# wrk: the independent client. Two threads (one per CPU); requests are
# formatted once at start (wrk.format in init), so its per-request cost is a
# table lookup; a figure's wrk run uses the same connections as holdfast
# bench's. Against holdfast it fires presigned URLs (SigV4 in the query,
# verified on every request); against nginx the same paths unsigned.
WRK_THREADS = 2
WRK_TARGETS = {"get4k": 1000, "get1m": 64, "put4k": 1000, "put1m": 16}
AGREE = 0.10  # clients agree when their holdfast/nginx ratios are within 10%

# The overload curve. The server's capacity is set by its disk, not by the
# two CPUs it shares with the client: fault injection makes every read of a
# chunk file wait CURVE_DELAY_MS, and CURVE_IO_THREADS I/O threads make those
# reads, so CURVE_IO_THREADS requests in flight saturate it (1x). The client
# opens CURVE_CONNS connections in turn, from 1/4 to 64x that, and sends the
# next request as soon as an answer arrives, 503 or not (a retry storm
# without backoff). Admission is the defaults: shedding comes from the
# queue-delay detector, not from a count.
CURVE_IO_THREADS = 4
CURVE_DELAY_MS = 2
CURVE_SIZE = "64KiB"
CURVE_CONNS = [1, 2, 4, 6, 8, 16, 32, 64, 128, 256]
CURVE_STEP = int(os.environ.get("BENCH_CURVE_STEP", "5"))
CURVE_SERVER = ["--fault-injection", "--io-threads", str(CURVE_IO_THREADS)]

# Slow clients: TRICKLE connections from another loopback address each send
# a PUT head with Content-Length 1000000 and then a few bytes a second,
# while holdfast bench (and wrk) measure GET 4 KiB from 127.0.0.1.
TRICKLE = 1000
TRICKLE_SRC = "127.0.0.2"

# One key, many connections: PUT 4 KiB at each of these concurrencies with
# the default settings; the figure is 256's goodput and shed share against
# the best of them.
ONEKEY_CONNS = [32, 64, 128, 256, 512]

procs = []  # everything started here, stopped by PID at the end


def log(msg):
    print("bench: " + msg, file=sys.stderr, flush=True)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def status_field(pid, name):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(name + ":"):
                return int(line.split()[1])
    return 0


class Holdfast:
    def __init__(self, data, port=0, status_port=0, args=None):
        self.data, self.port, self.status_port = data, port, status_port
        self.args = list(SERVER_FLAGS if args is None else args)
        self.proc = None

    def start(self, wait=True):
        env = dict(os.environ, HOLDFAST_ACCESS_KEY=AK, HOLDFAST_SECRET_KEY=SK)
        cmd = [BIN, "server", "--data", self.data, "--listen", "127.0.0.1:%d" % self.port,
               "--status-listen", "127.0.0.1:%d" % self.status_port,
               "--log-level", "warn"] + self.args
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)
        procs.append(self.proc)
        if not wait:
            return self
        for line in self.proc.stdout:
            line = line.decode(errors="replace")
            m = re.search(r"serving S3 on http://127\.0\.0\.1:(\d+)", line)
            if m:
                self.port = int(m.group(1))
            m = re.search(r"health and admin on http://127\.0\.0\.1:(\d+)", line)
            if m:
                self.status_port = int(m.group(1))
                break
        threading.Thread(target=self.proc.stdout.read, daemon=True).start()
        return self

    @property
    def endpoint(self):
        return "http://127.0.0.1:%d" % self.port

    def admin(self, *args):
        env = dict(os.environ, HOLDFAST_ACCESS_KEY=AK, HOLDFAST_SECRET_KEY=SK)
        p = subprocess.run([BIN, "admin", "--admin", "http://127.0.0.1:%d" % self.status_port]
                           + list(args), capture_output=True, text=True, env=env, timeout=60)
        if p.returncode != 0:
            raise RuntimeError("holdfast admin %s failed: %s" % (" ".join(args), p.stderr.strip()))
        return p.stdout

    def metric_sum(self, name):
        """The sum of every sample of one metric on the status listener."""
        import urllib.request
        url = "http://127.0.0.1:%d/metrics" % self.status_port
        with urllib.request.urlopen(url, timeout=10) as r:
            text = r.read().decode()
        return sum(float(line.split()[-1]) for line in text.splitlines()
                   if re.match(re.escape(name) + r"(\{| )", line))

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(60)
        self.proc = None


class Nginx:
    def __init__(self, base):
        self.base = base
        self.port = free_port()
        self.proc = None

    def start(self):
        b = self.base
        os.makedirs(b, mode=0o755, exist_ok=True)
        for d in ("root/holdfast-bench", "body", "proxy", "fastcgi", "uwsgi", "scgi"):
            os.makedirs(os.path.join(b, d), exist_ok=True)
            os.chmod(os.path.join(b, d), 0o777)  # the workers run as nobody
        os.chmod(os.path.join(b, "root"), 0o777)
        conf = os.path.join(b, "nginx.conf")
        with open(conf, "w") as f:
            f.write("""daemon off;
worker_processes auto;
pid %(b)s/nginx.pid;
error_log %(b)s/error.log warn;
events { worker_connections 16384; }
http {
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 10000000;
    keepalive_timeout 60s;
    client_max_body_size 0;
    client_body_buffer_size 1m;
    client_body_temp_path %(b)s/body;
    proxy_temp_path %(b)s/proxy;
    fastcgi_temp_path %(b)s/fastcgi;
    uwsgi_temp_path %(b)s/uwsgi;
    scgi_temp_path %(b)s/scgi;
    default_type application/octet-stream;
    server {
        listen 127.0.0.1:%(port)d;
        root %(b)s/root;
        # The load generator checks its bucket with HeadBucket first.
        location = /holdfast-bench { return 200; }
        location / {
            dav_methods PUT DELETE;
            create_full_put_path on;
            dav_access user:rw group:rw all:r;
        }
    }
}
""" % {"b": b, "port": self.port})
        self.proc = subprocess.Popen(["nginx", "-c", conf, "-p", b], stderr=subprocess.DEVNULL)
        procs.append(self.proc)
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.2).close()
                return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("nginx did not start; see %s/error.log" % b)

    @property
    def endpoint(self):
        return "http://127.0.0.1:%d" % self.port

    def workers(self):
        out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(self.proc.pid)],
                             capture_output=True, text=True).stdout.split()
        return [int(p) for p in out]

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGQUIT)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def bench(endpoint, *args, timeout=None):
    cmd = [BIN, "bench", "--endpoint", endpoint, "--access-key", AK, "--secret-key", SK,
           "--json", "--no-progress"] + list(args)
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if p.returncode != 0:
        raise RuntimeError("holdfast bench %s failed: %s" % (" ".join(args), p.stderr.strip()))
    return json.loads(p.stdout)


def summary(r):
    m = r["measure"]
    lat = m["latency_ms"]
    return {"ops_per_s": m["ops_per_s"], "mb_per_s": m["mb_per_s"], "p50_ms": lat["p50"],
            "p99_ms": lat["p99"], "p999_ms": lat["p99.9"], "errors": m["errors"],
            "requests": m["requests"], "client_cpu_us": 1e6 * m["client_cpu_s"] / max(1, m["requests"])}


def sample_threads(pid, stop, out):
    while not stop.is_set():
        try:
            out.append(status_field(pid, "Threads"))
        except OSError:
            return
        time.sleep(0.5)


def profile(hf, flags, name, tmp):
    """perf profile of the server during one extra (unreported) run."""
    data = os.path.join(tmp, name + ".perf")
    rec = subprocess.Popen(["perf", "record", "-F", "499", "-g", "-p", str(hf.proc.pid), "-o", data,
                            "--", "sleep", str(max(3, DURATION // 2))],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    procs.append(rec)
    bench(hf.endpoint, *(flags + ["--duration", "%ds" % (max(3, DURATION // 2) + 1)]))
    rec.wait(60)
    rep = subprocess.run(["perf", "report", "-i", data, "--no-children", "--sort", "dso,sym",
                          "--stdio", "--percent-limit", "1.5"], capture_output=True, text=True)
    rows = []
    for line in rep.stdout.splitlines():
        m = re.match(r"\s+([\d.]+)%\s+(\S+)\s+\[[.k]\]\s+(.+)$", line)
        if m:
            rows.append((float(m.group(1)), m.group(2), m.group(3).strip()))
    dsos = {}
    rep = subprocess.run(["perf", "report", "-i", data, "--no-children", "--sort", "dso", "--stdio"],
                         capture_output=True, text=True)
    for line in rep.stdout.splitlines():
        m = re.match(r"\s+([\d.]+)%\s+(\S+)", line)
        if m:
            dsos[m.group(2)] = float(m.group(1))
    return {"top": rows[:14], "dso": dsos}


def presigned_get(endpoint, bucket, key):
    import boto3
    from botocore.config import Config
    s3 = boto3.client("s3", endpoint_url=endpoint, aws_access_key_id=AK, aws_secret_access_key=SK,
                      region_name="us-east-1", config=Config(s3={"addressing_style": "path"},
                                                             signature_version="s3v4"))
    url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": key},
                                    ExpiresIn=3600)
    return url[len(endpoint):]


def start_to_first_get(data, bucket, key):
    """ms from starting the server to its first successful GET (presigned)."""
    port, sport = free_port(), free_port()
    target = presigned_get("http://127.0.0.1:%d" % port, bucket, key)
    req = ("GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nConnection: close\r\n\r\n" %
           (target, port)).encode()
    hf = Holdfast(data, port, sport)
    t0 = time.monotonic()
    hf.start(wait=False)
    ok = False
    while time.monotonic() - t0 < 30:
        try:
            s = socket.create_connection(("127.0.0.1", port), 1)
        except OSError:
            time.sleep(0.0002)
            continue
        try:
            s.sendall(req)
            resp = b""
            while b"\r\n" not in resp:
                chunk = s.recv(4096)
                if not chunk:
                    break
                resp += chunk
            if resp.startswith(b"HTTP/1.1 200"):
                ok = True
                break
        except OSError:
            pass
        finally:
            s.close()
    t1 = time.monotonic()
    threading.Thread(target=hf.proc.stdout.read, daemon=True).start()
    hf.stop()
    if not ok:
        raise RuntimeError("no successful GET within 30 s of starting the server")
    return (t1 - t0) * 1000


def cold_starts(sets, runs=31):
    """Cold start of each (name, data, bucket, key), alternating between the
    data sets so that the machine's drift falls on both; the median of runs."""
    times = {name: [] for name, _, _, _ in sets}
    for _ in range(runs):
        for name, data, bucket, key in sets:
            times[name].append(start_to_first_get(data, bucket, key))
    return {name: (statistics.median(v), v) for name, v in times.items()}


def idle_memory(data, bucket, key):
    """Anonymous RSS idle after a GET, then with 10,000 idle keep-alive
    connections; threads in both states."""
    hf = Holdfast(data).start()
    try:
        target = presigned_get(hf.endpoint, bucket, key)
        s = socket.create_connection(("127.0.0.1", hf.port))
        s.sendall(("GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nConnection: close\r\n\r\n" %
                   (target, hf.port)).encode())
        while s.recv(65536):
            pass
        s.close()
        time.sleep(1)
        pid = hf.proc.pid
        idle = {"rss_anon_kib": status_field(pid, "RssAnon"), "threads": status_field(pid, "Threads")}
        conns = []
        req = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"  # unsigned: 403, connection kept
        for i in range(10000):
            # 1,000 from each of ten loopback addresses: one address may
            # hold at most --max-conns-per-address (1024) connections.
            c = socket.create_connection(("127.0.0.1", hf.port),
                                         source_address=("127.0.1.%d" % (1 + i // 1000), 0))
            c.sendall(req)
            conns.append(c)
        for c in conns:
            got = b""
            while b"</Error>" not in got:
                chunk = c.recv(65536)
                if not chunk:
                    raise RuntimeError("the server closed an idle keep-alive connection")
                got += chunk
        time.sleep(1)
        with_conns = {"rss_anon_kib": status_field(pid, "RssAnon"),
                      "threads": status_field(pid, "Threads"), "connections": len(conns)}
        for c in conns:
            c.close()
        return idle, with_conns
    finally:
        hf.stop()


def limits(base):
    """The machine's own limits, on the filesystem the servers used:
    fdatasync'd writes per second (4 KiB, 1 and 16 writers), durable 1 MiB
    writes (16 writers), MD5 on one core (OpenSSL through hashlib) and
    memory copy bandwidth."""
    import hashlib
    d = os.path.join(base, "limits")
    os.makedirs(d, exist_ok=True)
    buf = os.urandom(1 << 20)

    def writes(nthreads, size, secs=3):
        stop = time.monotonic() + secs
        counts = [0] * nthreads

        def w(i):
            n = 0
            while time.monotonic() < stop:
                fd = os.open(os.path.join(d, "f%d-%d" % (i, n % 64)),
                             os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
                os.write(fd, buf[:size])
                os.fdatasync(fd)
                os.close(fd)
                n += 1
            counts[i] = n
        ts = [threading.Thread(target=w, args=(i,)) for i in range(nthreads)]
        t0 = time.monotonic()
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        return sum(counts) / (time.monotonic() - t0)

    out = {"fsync_1": writes(1, 4096), "fsync_16": writes(16, 4096)}
    out["durable_1m_mb_s"] = writes(16, 1 << 20) * (1 << 20) / 1e6
    t0, n = time.monotonic(), 0
    while time.monotonic() - t0 < 2:
        hashlib.md5(buf).digest()
        n += 1
    out["md5_mb_s"] = n * (1 << 20) / 1e6 / (time.monotonic() - t0)
    big, dst = bytearray(64 << 20), bytearray(64 << 20)
    view = memoryview(dst)
    view[:] = big  # touch every page first
    t0, n = time.monotonic(), 0
    while time.monotonic() - t0 < 2:
        view[:] = big
        n += 1
    out["memcpy_gb_s"] = n * (64 << 20) / 1e9 / (time.monotonic() - t0)
    shutil.rmtree(d, ignore_errors=True)
    return out


def overload_curve(tmp):
    """Goodput, shed load and p99 at each step of CURVE_CONNS (see above)."""
    out = {"date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
           "load_before": os.getloadavg(), "server_flags": CURVE_SERVER,
           "fault": "pread:delay=%d/path=/chunks/" % CURVE_DELAY_MS,
           "io_threads": CURVE_IO_THREADS, "delay_ms": CURVE_DELAY_MS, "size": CURVE_SIZE,
           "step_s": CURVE_STEP, "steps": []}
    hf = Holdfast(os.path.join(tmp, "hf-curve"), args=CURVE_SERVER).start()
    try:
        common = ["--bucket", "curve", "--op", "get", "--size", CURVE_SIZE, "--objects", "100",
                  "--no-cleanup"]
        # The data set, uploaded below the limits (so nothing is shed), then
        # the slow reads.
        bench(hf.endpoint, *(common + ["--concurrency", str(CURVE_IO_THREADS), "--duration", "1s"]))
        hf.admin("faults", "set", out["fault"])
        out["threads_idle"] = status_field(hf.proc.pid, "Threads")
        shed0 = hf.metric_sum("holdfast_admission_shed_total")
        client_shed = 0
        for conns in CURVE_CONNS:
            samples, stop = [], threading.Event()
            t = threading.Thread(target=sample_threads, args=(hf.proc.pid, stop, samples))
            t.start()
            r = bench(hf.endpoint, *(common + ["--no-prepare", "--expect-slowdown",
                                               "--concurrency", str(conns),
                                               "--duration", "%ds" % CURVE_STEP]))
            stop.set()
            t.join()
            m, shed = r["measure"], r["measure"]["shed"]
            secs = m["seconds"]
            step = {"connections": conns, "x_capacity": conns / CURVE_IO_THREADS, "seconds": secs,
                    "attempted_per_s": (m["requests"] + shed["requests"]) / secs,
                    "goodput_per_s": (m["requests"] - m["errors"]) / secs,
                    "shed_per_s": shed["requests"] / secs, "errors": m["errors"],
                    "errors_by_code": m["errors_by_code"], "ok": m["requests"] - m["errors"],
                    "shed": shed["requests"], "p50_ms": m["latency_ms"]["p50"],
                    "p99_ms": m["latency_ms"]["p99"], "p999_ms": m["latency_ms"]["p99.9"],
                    "shed_p99_ms": shed["latency_ms"]["p99"],
                    "client_cpu_s": m["client_cpu_s"], "threads_max": max(samples, default=0)}
            client_shed += shed["requests"]
            out["steps"].append(step)
            log("overload curve: %3d connections: %6.0f req/s attempted, %5.0f ok/s, %6.0f shed/s, "
                "p99 %.1f ms, %d errors" % (conns, step["attempted_per_s"], step["goodput_per_s"],
                                            step["shed_per_s"], step["p99_ms"], step["errors"]))
        out["client_shed"] = client_shed
        out["server_shed"] = int(hf.metric_sum("holdfast_admission_shed_total") - shed0)
    finally:
        hf.stop()
    out["load_after"] = os.getloadavg()
    return out


# ---- wrk, the independent client ------------------------------------------------

def lua_str(t):
    return '"' + t.replace("\\", "\\\\").replace('"', '\\"') + '"'


def presigned(endpoint, method, keys, bucket="holdfast-bench"):
    """Request targets (path?query) for keys: SigV4 presigned URLs, a week."""
    import boto3
    from botocore.config import Config
    s3 = boto3.client("s3", endpoint_url=endpoint, aws_access_key_id=AK, aws_secret_access_key=SK,
                      region_name="us-east-1", config=Config(s3={"addressing_style": "path"},
                                                             signature_version="s3v4"))
    op = "put_object" if method == "PUT" else "get_object"
    return [s3.generate_presigned_url(op, Params={"Bucket": bucket, "Key": k},
                                      ExpiresIn=7 * 24 * 3600)[len(endpoint):] for k in keys]


def wrk_script(tmp, name, method, targets, size):
    """A wrk script sending method to each target in turn, every request
    formatted once in init (so the client costs the same on either side)."""
    path = os.path.join(tmp, "%s.lua" % name)
    with open(path, "w") as f:
        f.write("local targets = {\n%s\n}\n" % ",\n".join(lua_str(t) for t in targets))
        f.write("local reqs, i = {}, 0\n")
        if method == "PUT":
            f.write('local body = string.rep("x", %d)\n' % size)
        f.write("init = function(args)\n  for _, t in ipairs(targets) do\n")
        if method == "PUT":
            f.write('    reqs[#reqs + 1] = wrk.format("PUT", t, nil, body)\n')
        else:
            f.write('    reqs[#reqs + 1] = wrk.format("GET", t)\n')
        f.write("  end\nend\n")
        f.write("request = function()\n  i = i + 1\n  return reqs[i % #reqs + 1]\nend\n")
    return path


def wrk_time_ms(v):
    m = re.match(r"([\d.]+)(us|ms|s|m)$", v)
    if not m:
        return float("nan")
    return float(m.group(1)) * {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 6e4}[m.group(2)]


def wrk(endpoint, script, conns, secs, size):
    """One wrk run: req/s, MB/s of bodies, p50/p99, errors (socket errors and
    non-2xx answers)."""
    cmd = ["wrk", "-t%d" % min(WRK_THREADS, conns), "-c%d" % conns, "-d%ds" % secs, "--latency",
           "--timeout", "10s", "-s", script, endpoint]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=secs + 120)
    out = p.stdout
    if p.returncode != 0 or "Requests/sec" not in out:
        raise RuntimeError("wrk failed: %s %s" % (out[-500:], p.stderr[-500:]))
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    lat = dict(re.findall(r"^\s+(50|90|99)%\s+(\S+)$", out, re.M))
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    errors = (int(non2xx.group(1)) if non2xx else 0) + (sum(map(int, sock.groups())) if sock else 0)
    return {"ops_per_s": rps, "mb_per_s": rps * size / 1e6, "p50_ms": wrk_time_ms(lat.get("50", "")),
            "p99_ms": wrk_time_ms(lat.get("99", "")), "errors": errors,
            "requests": int(re.search(r"(\d+) requests in", out).group(1))}


FLAG_SIZES = {"4KiB": 4096, "1MiB": 1 << 20, "64KiB": 65536}


def flag(flags, name):
    return flags[flags.index(name) + 1]


def wrk_figure(tmp, name, flags, hf, ng):
    """The wrk scripts of one paired figure against each server."""
    method = "PUT" if flag(flags, "--op") == "put" else "GET"
    size = FLAG_SIZES[flag(flags, "--size")]
    n = WRK_TARGETS[name]
    keys = ["bench/%010d" % i for i in range(n)]
    return {"holdfast": wrk_script(tmp, name + "-hf", method, presigned(hf.endpoint, method, keys),
                                   size),
            "nginx": wrk_script(tmp, name + "-ng", method,
                                ["/holdfast-bench/" + k for k in keys], size),
            "size": size, "conns": int(flag(flags, "--concurrency"))}


# ---- figures only holdfast has ---------------------------------------------------

def trickle_figure(tmp):
    """GET 4 KiB, measured by both clients, alone and next to TRICKLE
    connections from another address that each trickle a 1 MB PUT body."""
    hf = Holdfast(os.path.join(tmp, "hf-trickle")).start()
    out = {"connections": TRICKLE, "source": TRICKLE_SRC}
    socks, stop = [], threading.Event()
    try:
        get = ["--op", "get", "--size", "4KiB", "--objects", "1000", "--concurrency", "32"]
        bench(hf.endpoint, *(get + ["--duration", "1s", "--no-cleanup"]))
        keys = ["bench/%010d" % i for i in range(1000)]
        script = wrk_script(tmp, "trickle-get", "GET", presigned(hf.endpoint, "GET", keys), 4096)
        put = presigned(hf.endpoint, "PUT", ["trickled"])[0]

        def measure():
            b = bench(hf.endpoint, *(get + ["--duration", "%ds" % DURATION, "--no-prepare",
                                            "--no-cleanup", "--expect-slowdown"]))
            w = wrk(hf.endpoint, script, 32, DURATION, 4096)
            m = b["measure"]
            return {"bench_ops_per_s": m["ops_per_s"], "bench_p99_ms": m["latency_ms"]["p99"],
                    "bench_shed": m["shed"]["requests"], "bench_errors": m["errors"],
                    "wrk_ops_per_s": w["ops_per_s"], "wrk_p99_ms": w["p99_ms"],
                    "wrk_errors": w["errors"]}
        out["alone"] = measure()
        head = ("PUT %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nContent-Length: 1000000\r\n\r\n"
                % (put, hf.port)).encode()
        for _ in range(TRICKLE):
            c = socket.socket()
            c.bind((TRICKLE_SRC, 0))
            c.connect(("127.0.0.1", hf.port))
            c.sendall(head + b"t" * 100)
            socks.append(c)

        def feed():
            while not stop.wait(1.0):
                for c in socks:
                    try:
                        c.send(b"t" * 32)
                    except OSError:
                        pass
        feeder = threading.Thread(target=feed, daemon=True)
        feeder.start()
        time.sleep(2)
        out["threads"] = status_field(hf.proc.pid, "Threads")
        out["rss_anon_kib"] = status_field(hf.proc.pid, "RssAnon")
        out["waiting"] = hf.metric_sum("holdfast_http_requests_waiting_or_running")
        out["loaded"] = measure()
        out["rss_anon_kib_after"] = status_field(hf.proc.pid, "RssAnon")
        stop.set()
        feeder.join()
    finally:
        for c in socks:
            c.close()
        hf.stop()
    return out


def onekey_figure(tmp):
    """PUT 4 KiB from one key at growing concurrency, default settings."""
    hf = Holdfast(os.path.join(tmp, "hf-onekey")).start()
    steps = []
    try:
        for conns in ONEKEY_CONNS:
            r = bench(hf.endpoint, "--op", "put", "--size", "4KiB", "--objects", "10000",
                      "--concurrency", str(conns), "--duration", "%ds" % DURATION,
                      "--expect-slowdown", "--no-cleanup")
            m = r["measure"]
            ok = m["requests"] - m["errors"]
            steps.append({"connections": conns, "ok_per_s": ok / m["seconds"],
                          "shed": m["shed"]["requests"], "ok": ok, "errors": m["errors"],
                          "p99_ms": m["latency_ms"]["p99"]})
            log("one key: %d connections: %.0f PUT/s, %d shed" % (conns, steps[-1]["ok_per_s"],
                                                                  steps[-1]["shed"]))
    finally:
        hf.stop()
    return steps


def waiting_costs():
    """The micro-measurements of tests/perf/perf_fiber.c, three runs each."""
    out = {}
    for name in ("perf_fiber", "perf_fiber_ucontext"):
        exe = os.path.join(ROOT, "build", "rel", "tests", "perf", name)
        runs = [json.loads(subprocess.run([exe], capture_output=True, text=True, timeout=300).stdout)
                for _ in range(3)]
        out[runs[0]["switch"]] = {k: statistics.median(r[k] for r in runs)
                                  for k in ("switch_ns", "iopool_ns", "thread_ns")}
    return out


def sse_cost(tmp):
    """Each SSE_FIGURES figure against holdfast's default (SSE-S3) and the
    same flags with --sse-default none, ROUNDS runs each, alternating."""
    out = {"date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
           "load_before": os.getloadavg(), "figures": SSE_FIGURES, "targets": SSE_TARGET,
           "rounds": ROUNDS, "duration_s": DURATION, "runs": {}}
    plain = Holdfast(os.path.join(tmp, "hf-plain"), args=SERVER_FLAGS + ["--sse-default", "none"]).start()
    enc = Holdfast(os.path.join(tmp, "hf-sse")).start()
    flags = dict(PAIRED)
    try:
        for name in SSE_FIGURES:
            runs = {"sse": [], "plain": []}
            for rnd in range(ROUNDS):
                order = [("sse", enc), ("plain", plain)]
                if rnd % 2:
                    order.reverse()
                for side, srv in order:
                    log("sse cost: %s round %d: %s" % (name, rnd + 1, side))
                    r = bench(srv.endpoint, *(flags[name] + ["--duration", "%ds" % DURATION]))
                    runs[side].append(summary(r))
            out["runs"][name] = runs
    finally:
        plain.stop()
        enc.stop()
    out["load_after"] = os.getloadavg()
    return out


def machine():
    info = {"date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "kernel": platform.release(), "cpus": os.cpu_count()}
    try:
        with open("/proc/cpuinfo") as f:
            info["cpu"] = next(l.split(":", 1)[1].strip() for l in f if l.startswith("model name"))
    except (OSError, StopIteration):
        info["cpu"] = "?"
    info["load_before"] = os.getloadavg()
    info["nginx"] = subprocess.run(["nginx", "-v"], capture_output=True, text=True).stderr.strip()
    info["mem_gib"] = round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
    return info


def stop_all():
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                p.kill()


def write_report(res):
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, "benchmarks.json"), "w") as f:
        json.dump(res, f, indent=1)
    subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "bench_report.py"),
                    os.path.join(OUT, "benchmarks.json"), OUT], check=True)
    log("wrote %s/benchmarks.md" % os.path.relpath(OUT, ROOT))


def only_part(part, run):
    """One part alone (run(tmp) gives its results), merged into the results
    of the last full run under the key part, then the report rewritten."""
    src = os.path.join(OUT, "benchmarks.json")
    try:
        with open(src) as f:
            res = json.load(f)
    except (OSError, ValueError) as e:
        sys.exit("bench: --only %s needs the results of a full run in %s (%s); "
                 "run `make bench` once first" % (part, os.path.relpath(src, ROOT), e))
    tmp = tempfile.mkdtemp(prefix="hf-bench-")
    try:
        res[part] = run(tmp)
        res[part]["separate"] = True  # not from the run of the other figures
    finally:
        stop_all()
        shutil.rmtree(tmp, ignore_errors=True)
    write_report(res)


def main():
    args = sys.argv[1:]
    only = os.environ.get("BENCH_ONLY", "")
    if args[:1] == ["--only"] and len(args) == 2:
        only = args[1]
    elif args:
        sys.exit("usage: scripts/bench.py [--only overload|sse]")
    if only == "overload":
        only_part("overload", overload_curve)
        return
    if only == "sse":
        only_part("sse", sse_cost)
        return
    if only:
        sys.exit("bench: --only knows two parts: overload, sse (not %r)" % only)
    # 10,000 idle connections need more descriptors than the usual soft
    # limit, in this process and in the server it starts.
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    tmp = tempfile.mkdtemp(prefix="hf-bench-")
    os.chmod(tmp, 0o755)  # nginx's workers (user nobody) must reach their root
    res = {"machine": machine(), "duration_s": DURATION, "rounds": ROUNDS, "big": BIG,
           "runs": {}, "settings": {n: f for n, f in PAIRED},
           "server_flags": SERVER_FLAGS + ["--sse-default", "none"]}
    try:
        hf = Holdfast(os.path.join(tmp, "hf-a"), args=SERVER_FLAGS + ["--sse-default", "none"]).start()
        ng = Nginx(os.path.join(tmp, "nginx")).start()
        res["threads_idle"] = status_field(hf.proc.pid, "Threads")
        res["wrk"] = {}
        for name, flags in PAIRED:
            # The data set once per server, kept for both clients' runs.
            for srv in (hf, ng):
                bench(srv.endpoint, *(flags + ["--duration", "1s", "--no-cleanup"]))
            runs = {"holdfast": [], "nginx": []}
            for rnd in range(ROUNDS):
                order = [("holdfast", hf), ("nginx", ng)]
                if rnd % 2:
                    order.reverse()
                for side, srv in order:
                    log("%s round %d: %s" % (name, rnd + 1, side))
                    samples, stop = [], threading.Event()
                    if side == "holdfast":
                        t = threading.Thread(target=sample_threads,
                                             args=(hf.proc.pid, stop, samples))
                        t.start()
                    r = bench(srv.endpoint, *(flags + ["--duration", "%ds" % DURATION,
                                                       "--no-prepare", "--no-cleanup"]))
                    stop.set()
                    s = summary(r)
                    if samples:
                        s["threads_max"] = max(samples)
                    runs[side].append(s)
            res["runs"][name] = runs
            wf = wrk_figure(tmp, name, flags, hf, ng)
            wruns = {"holdfast": [], "nginx": []}
            for rnd in range(ROUNDS):
                order = [("holdfast", hf), ("nginx", ng)]
                if rnd % 2:
                    order.reverse()
                for side, srv in order:
                    log("%s round %d: %s (wrk)" % (name, rnd + 1, side))
                    wruns[side].append(wrk(srv.endpoint, wf[side], wf["conns"], DURATION,
                                           wf["size"]))
            res["wrk"][name] = wruns
        res["nginx_workers"] = len(ng.workers())
        if PROFILE:
            res["profiles"] = {}
            for name, flags in PAIRED:
                log("profile of holdfast: %s" % name)
                res["profiles"][name] = profile(hf, flags, name, tmp)
        # The small data set for the cold start's 10,000-object reference.
        log("cold start data set: %d objects" % SMALL)
        bench(hf.endpoint, "--bucket", "cold-small", "--op", "head", "--size", "1KiB", "--objects",
              str(SMALL), "--concurrency", str(LOAD_CONNS), "--duration", "1s", "--no-cleanup")
        hf.stop()
        ng.stop()

        log("overload curve")
        res["overload"] = overload_curve(tmp)
        log("slow clients: %d trickling uploads" % TRICKLE)
        res["trickle"] = trickle_figure(tmp)
        log("one key, many connections")
        res["onekey"] = onekey_figure(tmp)
        log("what waiting costs")
        res["waiting"] = waiting_costs()

        log("the cost of server-side encryption")
        res["sse"] = sse_cost(tmp)

        # The big bucket: preload through S3, then list it.
        big = Holdfast(os.path.join(tmp, "hf-b")).start()
        log("preloading %d objects through S3 (%d connections)" % (BIG, LOAD_CONNS))
        pre = bench(big.endpoint, "--bucket", "big", "--op", "list", "--size", "1KiB", "--objects",
                    str(BIG), "--concurrency", str(LOAD_CONNS), "--duration", "1s", "--no-cleanup")
        res["preload"] = {"objects": BIG, "connections": LOAD_CONNS,
                          "seconds": pre["prepare"]["seconds"],
                          "objects_per_s": pre["prepare"]["ops_per_s"],
                          "errors": pre["prepare"]["errors"]}
        log("listing")
        lst = []
        for rnd in range(ROUNDS):
            r = bench(big.endpoint, "--bucket", "big", "--op", "list", "--objects", str(BIG),
                      "--concurrency", "8", "--duration", "%ds" % DURATION, "--no-prepare",
                      "--no-cleanup")
            s = summary(r)
            s["keys_per_page"] = r["measure"]["list_keys"] / max(1, r["measure"]["requests"])
            lst.append(s)
        res["list"] = lst
        big.stop()

        log("cold start")
        cold = cold_starts([("big", os.path.join(tmp, "hf-b"), "big", "bench/%010d" % (BIG // 2)),
                            ("small", os.path.join(tmp, "hf-a"), "cold-small",
                             "bench/%010d" % (SMALL // 2))])
        res["cold_big"], res["cold_small"] = cold["big"], cold["small"]
        log("memory")
        res["mem_idle"], res["mem_conns"] = idle_memory(os.path.join(tmp, "hf-b"), "big",
                                                        "bench/0000000001")
        log("the machine's limits")
        res["limits"] = limits(tmp)
        res["machine"]["load_after"] = os.getloadavg()
    finally:
        stop_all()
        shutil.rmtree(tmp, ignore_errors=True)
    write_report(res)


if __name__ == "__main__":
    main()
