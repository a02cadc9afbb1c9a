#!/usr/bin/python3
"""The overload curve: offered load against goodput and p99, for `make bench`.

Starts a holdfast server (bin/holdfast, or HF_BIN) whose capacity is set by
an injected chunk read delay, offers closed-loop load at growing connection
counts with tests/integ/loadgen.py, and writes:
  OUT.csv   connections, offered req/s, goodput req/s, shed req/s, p99 s
  OUT.svg   goodput and offered load against connections, p99 on a second axis
Usage: scripts/overload-curve.py [OUT] [--seconds S] [--conns 1,2,4,...]
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "integ"))
import hf  # noqa: E402
import loadgen  # noqa: E402


def svg(rows, path):
    w, h, pad = 720, 420, 60
    xs = list(range(len(rows)))
    ymax = max(max(r[1] for r in rows), 1.0)
    pmax = max(max(r[4] for r in rows), 0.001)

    def px(i):
        return pad + i * (w - 2 * pad) / max(1, len(rows) - 1)

    def py(v, top):
        return h - pad - v * (h - 2 * pad) / top

    def line(vals, top, colour):
        pts = " ".join("%.1f,%.1f" % (px(i), py(v, top)) for i, v in zip(xs, vals))
        return '<polyline fill="none" stroke="%s" stroke-width="2" points="%s"/>' % (colour, pts)
    out = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" '
           'font-size="12">' % (w, h), '<rect width="100%" height="100%" fill="white"/>',
           '<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="black"/>' % (pad, h - pad, w - pad, h - pad),
           '<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="black"/>' % (pad, pad, pad, h - pad),
           line([r[1] for r in rows], ymax, "#999"), line([r[2] for r in rows], ymax, "#1f8f4e"),
           line([r[4] for r in rows], pmax, "#c0392b"),
           '<text x="%d" y="20">offered (grey) and goodput (green) req/s, max %.0f; p99 (red), '
           'max %.3f s</text>' % (pad, ymax, pmax)]
    for i, r in zip(xs, rows):
        out.append('<text x="%.1f" y="%d" text-anchor="middle">%d</text>' % (px(i), h - pad + 16, r[0]))
    out.append('<text x="%d" y="%d" text-anchor="middle">connections</text>' % (w // 2, h - 15))
    out.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(out))


def main():
    args = sys.argv[1:]
    out = "overload"
    seconds = 3.0
    conns = [1, 2, 3, 4, 6, 8, 16, 32, 64]
    while args:
        a = args.pop(0)
        if a == "--seconds":
            seconds = float(args.pop(0))
        elif a == "--conns":
            conns = [int(x) for x in args.pop(0).split(",")]
        else:
            out = a
    server = hf.Server(args=["--fault-injection", "--workers", "8", "--max-inflight", "4",
                             "--max-inflight-per-key", "4", "--admit-queue", "2",
                             "--access-log", "off"]).start()
    try:
        s3 = hf.boto3_client(server)
        s3.create_bucket(Bucket="curve")
        for i in range(4):
            s3.put_object(Bucket="curve", Key="o%d" % i, Body=b"c" * 65536)
        targets = loadgen.presigned_gets(s3, "curve", ["o%d" % i for i in range(4)])
        import subprocess
        subprocess.run([hf.BIN, "admin", "--admin", server.status, "faults", "set",
                        "pread:delay=10/path=/chunks/"], check=True, capture_output=True,
                       env=dict(os.environ, HOLDFAST_ACCESS_KEY=hf.ACCESS_KEY,
                                HOLDFAST_SECRET_KEY=hf.SECRET_KEY))
        rows = []
        for c in conns:
            r = loadgen.run(server.endpoint, targets, c, seconds)
            rows.append((c, r.offered(), r.goodput(), r.count(503) / r.duration,
                         r.latency_quantile(0.99)))
            print("%4d conns: offered %7.0f/s goodput %6.0f/s shed %7.0f/s p99 %.3fs" % rows[-1],
                  flush=True)
    finally:
        server.cleanup()
    with open(out + ".csv", "w") as f:
        f.write("connections,offered_per_s,goodput_per_s,shed_per_s,p99_s\n")
        for r in rows:
            f.write("%d,%.1f,%.1f,%.1f,%.4f\n" % r)
    svg(rows, out + ".svg")
    print("wrote %s.csv and %s.svg" % (out, out))


if __name__ == "__main__":
    main()
