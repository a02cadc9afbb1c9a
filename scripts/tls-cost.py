#!/usr/bin/python3
"""What TLS costs the server: CPU per full handshake (ECDSA P-256 and RSA-2048
certificates), and a large GET and PUT over HTTPS against the same over plain
HTTP (wall time with curl as the client, and the server's own CPU time).

Starts its own servers (bin/holdfast, or HF_BIN) on port 0 with certificates
made by the openssl command in a temporary directory, and prints one table.
Server CPU comes from /proc/PID/stat, so client work does not count; on a
shared machine wall times are noisy, so each figure is the median of REPS runs.
Usage: scripts/tls-cost.py [--size MiB] [--reps N] [--handshakes N]
"""
import argparse
import os
import shutil
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "integ"))
import hf  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")


def cpu_s(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime + stime


def openssl(d, *args):
    subprocess.run(["openssl"] + list(args), cwd=d, check=True, capture_output=True)


def make_certs(d):
    """ca.pem, and a leaf for 127.0.0.1 under each key type."""
    openssl(d, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=cost CA")
    with open(os.path.join(d, "ext"), "w") as f:
        f.write("basicConstraints=CA:FALSE\nsubjectAltName=IP:127.0.0.1\n")
    for name, kt in (("ec", ["ec", "-pkeyopt", "ec_paramgen_curve:P-256"]),
                     ("rsa", ["rsa", "-pkeyopt", "rsa_keygen_bits:2048"])):
        openssl(d, "req", "-newkey", *kt, "-nodes", "-keyout", name + ".key", "-out",
                name + ".csr", "-subj", "/CN=127.0.0.1")
        openssl(d, "x509", "-req", "-in", name + ".csr", "-CA", "ca.pem", "-CAkey", "ca.key",
                "-CAcreateserial", "-out", name + ".pem", "-days", "1", "-extfile", "ext")


def handshake_cost(srv, ca, n):
    ctx = ssl.create_default_context(cafile=ca)
    pid = srv.proc.pid
    c0, t0 = cpu_s(pid), time.time()
    for _ in range(n):
        s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", srv.port)),
                            server_hostname="127.0.0.1")
        s.close()
    took = time.time() - t0
    return (cpu_s(pid) - c0) / n * 1e6, n / took


def curl(args):
    t0 = time.time()
    subprocess.run(["curl", "-sS", "-o", "/dev/null", "-f"] + args, check=True)
    return time.time() - t0


def transfer_cost(srv, ca, path, size, reps):
    s3 = hf.boto3_client(srv) if srv.scheme == "http" else None
    if s3 is None:
        import boto3
        from botocore.config import Config
        s3 = boto3.client("s3", endpoint_url=srv.endpoint, aws_access_key_id=hf.ACCESS_KEY,
                          aws_secret_access_key=hf.SECRET_KEY, region_name=hf.REGION, verify=ca,
                          config=Config(s3={"addressing_style": "path"}, signature_version="s3v4"))
    s3.create_bucket(Bucket="cost")
    tls = ["--cacert", ca] if srv.scheme == "https" else []
    pid = srv.proc.pid
    put_t, put_c, get_t, get_c = [], [], [], []
    for i in range(reps):
        url = s3.generate_presigned_url("put_object", Params={"Bucket": "cost", "Key": "k"})
        c0 = cpu_s(pid)
        put_t.append(curl(tls + ["-T", path, url]))
        put_c.append(cpu_s(pid) - c0)
        url = s3.generate_presigned_url("get_object", Params={"Bucket": "cost", "Key": "k"})
        c0 = cpu_s(pid)
        get_t.append(curl(tls + [url]))
        get_c.append(cpu_s(pid) - c0)
    med = statistics.median
    return size / med(put_t), med(put_c), size / med(get_t), med(get_c)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=100, help="object size in MiB")
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--handshakes", type=int, default=300)
    a = ap.parse_args()
    d = tempfile.mkdtemp(prefix="hf-tls-cost-")
    servers = []
    try:
        make_certs(d)
        ca = os.path.join(d, "ca.pem")
        body = os.path.join(d, "body")
        with open(body, "wb") as f:
            f.write(os.urandom(a.size << 20))
        print("%-34s %s" % ("full TLS 1.3 handshake", "server CPU per handshake, handshakes/s "
                            "(one Python client)"))
        for kt in ("ec", "rsa"):
            srv = hf.Server(args=["--tls-cert", os.path.join(d, kt + ".pem"), "--tls-key",
                                  os.path.join(d, kt + ".key")]).start()
            servers.append(srv)
            us, rate = handshake_cost(srv, ca, a.handshakes)
            print("  %-32s %6.0f us   %6.0f/s" % ({"ec": "ECDSA P-256", "rsa": "RSA 2048"}[kt], us,
                                                  rate))
        print("%d MiB object, curl, median of %d: MiB/s and server CPU seconds" % (a.size, a.reps))
        plain = hf.Server().start()
        servers.append(plain)
        for name, srv in (("plain HTTP", plain), ("HTTPS (ECDSA)", servers[0])):
            pr, pc, gr, gc = transfer_cost(srv, ca, body, a.size, a.reps)
            print("  %-14s PUT %7.1f MiB/s  cpu %5.2f s    GET %7.1f MiB/s  cpu %5.2f s"
                  % (name, pr, pc, gr, gc))
    finally:
        for s in servers:
            s.cleanup()
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    main()
