#!/usr/bin/python3
"""`make bench`: holdfast next to nginx on this machine, driven by the same
client (`holdfast bench`) with the same settings, runs alternating; then the
figures only holdfast has (listing a bucket of 1,000,000 objects, cold start,
memory, threads) and the overload curve (offered load far past what admission
lets in, against goodput, shed load and p99). Writes docs/benchmarks.md,
docs/benchmarks.png and docs/overload.png (gnuplot) and docs/benchmarks.json
(every run's raw result).

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

# Admission for every other figure: the connections of the one key the
# client signs with are all admitted, so the figures measure throughput, not
# shedding. The defaults (16 workers, 12 in flight, 10 per key) would answer
# most of 32 connections with 503 SlowDown; that is what they are for, and
# the overload curve measures it.
LOAD_CONNS = 32  # the most connections any figure below uses
SERVER_FLAGS = ["--workers", str(LOAD_CONNS + 2), "--max-inflight", str(LOAD_CONNS),
                "--admit-queue", "1", "--max-inflight-per-key", str(LOAD_CONNS + 1)]

# The overload curve. Its server's capacity is set by admission control,
# not by the two CPUs it shares with the client: every GET of a 64 KiB
# object (a chunk file) waits CURVE_DELAY_MS per read in its worker, as on a
# slow disk, so CURVE_INFLIGHT requests in flight are the limit. The one key
# may take every slot and the queue (single-tenant). The client opens
# CURVE_CONNS connections in turn, from 1/4 to 16x the in-flight limit, and
# sends the next request as soon as an answer arrives, 503 or not (a retry
# storm without backoff).
CURVE_INFLIGHT = 4
CURVE_QUEUE = 2
CURVE_DELAY_MS = 2
CURVE_SIZE = "64KiB"
CURVE_CONNS = [1, 2, 4, 6, 8, 12, 16, 24, 32, 48, 64]
CURVE_STEP = int(os.environ.get("BENCH_CURVE_STEP", "5"))
CURVE_SERVER = ["--fault-injection", "--max-inflight", str(CURVE_INFLIGHT),
                "--admit-queue", str(CURVE_QUEUE),
                "--max-inflight-per-key", str(CURVE_INFLIGHT + CURVE_QUEUE)]

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
        for _ in range(10000):
            c = socket.create_connection(("127.0.0.1", hf.port))
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
           "fault": "pread:delay=%d/path=/chunks/" % CURVE_DELAY_MS, "max_inflight": CURVE_INFLIGHT,
           "queue": CURVE_QUEUE, "delay_ms": CURVE_DELAY_MS, "size": CURVE_SIZE,
           "step_s": CURVE_STEP, "steps": []}
    hf = Holdfast(os.path.join(tmp, "hf-curve"), args=CURVE_SERVER).start()
    try:
        common = ["--bucket", "curve", "--op", "get", "--size", CURVE_SIZE, "--objects", "100",
                  "--no-cleanup"]
        # The data set, uploaded below the limits (so nothing is shed), then
        # the slow reads.
        bench(hf.endpoint, *(common + ["--concurrency", str(CURVE_INFLIGHT), "--duration", "1s"]))
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
            step = {"connections": conns, "x_inflight": conns / CURVE_INFLIGHT, "seconds": secs,
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
        for name, flags in PAIRED:
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
                    r = bench(srv.endpoint, *(flags + ["--duration", "%ds" % DURATION]))
                    stop.set()
                    s = summary(r)
                    if samples:
                        s["threads_max"] = max(samples)
                    runs[side].append(s)
            res["runs"][name] = runs
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
