#!/usr/bin/python3
"""Turn the raw results of scripts/bench.py into docs/benchmarks.md and two
charts drawn by gnuplot: docs/benchmarks.png (holdfast ÷ nginx) and
docs/overload.png (the overload curve).

usage: scripts/bench_report.py RESULTS.json OUTDIR
"""
import json
import os
import statistics
import subprocess
import sys


AGREE = 0.10  # two clients agree when their ratios are within 10% of each other


def median_of(runs, key):
    """The figure of several runs: their median, so that one run disturbed
    by the shared machine (nginx's durable-less PUT 1 MiB has spread from
    408 to 750 MB/s between two runs minutes apart) does not move it."""
    return statistics.median(r[key] for r in runs)


def verdict(ok, miss):
    return "met" if ok else "**missed** by %s" % miss


def pct(x):
    return "%.0f%%" % (100 * x)


def overload_section(w, ov, peak, top, keep, out):
    """The overload curve: a paragraph, the table, and docs/overload.png."""
    steps = ov["steps"]
    cap = ov["io_threads"]
    one = next((st for st in steps if st["connections"] == cap), steps[0])
    x16 = next((st for st in steps if st["connections"] == 16 * cap), top)
    errors = sum(st["errors"] for st in steps)
    threads = sorted({st["threads_max"] for st in steps} | {ov["threads_idle"]})
    w("## Overload curve")
    w("")
    w("Offered load rising far past what the server can serve, against what it delivers. One "
      "holdfast server ran with its default admission settings and `%s`; its capacity is set by "
      "its disk, not by the 2 CPUs it shares with the client: fault injection (`%s`) makes every "
      "read of a chunk file wait %d ms, as a slow disk would, and %d I/O threads make those "
      "reads, so %d requests in flight saturate it (1×). Shedding comes from the queue-delay "
      "detector (reads queue for the I/O threads longer than the target), not from a count. "
      "The client is `holdfast bench --op get --size %s --objects 100 --expect-slowdown` at %s "
      "connections, %d s each: every connection sends its next request the moment an answer "
      "arrives, 503 SlowDown or not — a retry storm with no backoff, far more than AWS SDKs "
      "send after `Retry-After`. *Attempted* is every request answered per second, *goodput* "
      "the successful ones (200 with the full body), *shed* the 503 SlowDown answers; p99 is "
      "of the successful requests." %
      (" ".join(ov["server_flags"]), ov["fault"], ov["delay_ms"], cap, cap, ov["size"],
       ", ".join(str(st["connections"]) for st in steps), ov["step_s"]))
    w("")
    w("Peak goodput was **%.0f req/s** (at %d connections). At %d connections (16× capacity) "
      "goodput was **%.0f req/s, %s of peak** (the bar is ≥ 80%%), with %.1f%% of attempts "
      "shed; at %d connections (%.0f×) it was %.0f req/s, %s of peak. p99 of successful requests "
      "was %.1f ms at %d connections (1×) and %.1f ms at %d; a shed request took %.2f ms at p99 "
      "there. Requests that failed other than by SlowDown: %d. The server counted %d requests "
      "shed, the client %d. Server threads: %s throughout." %
      (peak["goodput_per_s"], peak["connections"], x16["connections"], x16["goodput_per_s"],
       pct(x16["goodput_per_s"] / max(1e-9, peak["goodput_per_s"])),
       100 * x16["shed_per_s"] / max(1e-9, x16["attempted_per_s"]), top["connections"],
       top["x_capacity"], top["goodput_per_s"], pct(keep), one["p99_ms"], one["connections"],
       top["p99_ms"], top["connections"], top["shed_p99_ms"], errors, ov["server_shed"],
       ov["client_shed"], " / ".join(str(t) for t in threads)))
    w("")
    w("| connections | × capacity | attempted req/s | goodput req/s | shed req/s | errors | "
      "p50 ms | p99 ms | shed p99 ms |")
    w("|---|---|---|---|---|---|---|---|---|")
    for st in steps:
        w("| %d | %.2g | %.0f | %.0f | %.0f | %d | %.2f | %.2f | %.2f |" %
          (st["connections"], st["x_capacity"], st["attempted_per_s"], st["goodput_per_s"],
           st["shed_per_s"], st["errors"], st["p50_ms"], st["p99_ms"], st["shed_p99_ms"]))
    w("")
    w("![offered load against goodput, shed load and p99](overload.png)")
    w("")

    dat = os.path.join(out, ".overload.dat")
    with open(dat, "w") as f:
        for st in steps:
            f.write("%d %.3f %.3f %.3f %.3f\n" % (st["connections"], st["attempted_per_s"],
                                                  st["goodput_per_s"], st["shed_per_s"],
                                                  st["p99_ms"]))
    xt = ", ".join('"%d" %d' % (st["connections"], st["connections"]) for st in steps)
    plot = """set terminal pngcairo size 900,460 font "DejaVu Sans,10"
set output "%(png)s"
set title "Overload: a disk that serves %(n)d reads at once, closed-loop GETs without backoff"
set xlabel "offered load: connections (%(n)d saturate the disk)"
set logscale x 2
set xrange [0.8:%(xmax)f]
set xtics (%(xt)s)
set logscale y 10
set ylabel "requests per second (log scale)"
set y2label "p99 of successful requests, ms"
set y2range [0:*]
set y2tics
set ytics nomirror
set grid xtics ytics
set key top left
set arrow from %(n)d, graph 0 to %(n)d, graph 1 nohead dt 2 lc rgb "#888888"
plot "%(dat)s" using 1:($2 > 0 ? $2 : NaN) with linespoints pt 6 dt 3 lc rgb "#888888" title "attempted", \\
     "" using 1:($3 > 0 ? $3 : NaN) with linespoints pt 7 lw 2 lc rgb "#1f8f4e" title "goodput", \\
     "" using 1:($4 > 0 ? $4 : NaN) with linespoints pt 5 lc rgb "#e67e22" title "shed (503 SlowDown)", \\
     "" using 1:5 axes x1y2 with linespoints pt 9 lc rgb "#c0392b" title "p99 (right axis)"
""" % {"png": os.path.join(out, "overload.png"), "n": cap, "dat": dat, "xt": xt,
       "xmax": steps[-1]["connections"] * 1.25}
    subprocess.run(["gnuplot"], input=plot, text=True, check=True)
    os.unlink(dat)


def slow_clients_section(w, t):
    a, l = t["alone"], t["loaded"]
    w("## Slow clients")
    w("")
    w("%d connections from %s each sent the head of a PUT with `Content-Length: 1000000`, then "
      "100 bytes, then 32 bytes a second — slow uploads on a bad network, or one holder of a "
      "presigned PUT URL trickling on purpose. Meanwhile both clients measured GET 4 KiB from "
      "127.0.0.1 at 32 connections, as they did alone before the trickle began. Each trickling "
      "upload is a request waiting for its client: it holds its fiber and buffers, never a "
      "thread (%d threads during the trickle; %.0f requests waiting or running), and it counts "
      "against the per-address connection cap, not against what other clients need." %
      (t["connections"], t["source"], t["threads"], t["waiting"]))
    w("")
    w("| GET 4 KiB, 32 connections | holdfast bench req/s | p99 ms | shed | wrk req/s | wrk p99 ms | errors |")
    w("|---|---|---|---|---|---|---|")
    for name, r in (("alone", a), ("next to %d trickling uploads" % t["connections"], l)):
        w("| %s | %.0f | %.2f | %d | %.0f | %.2f | %d |" %
          (name, r["bench_ops_per_s"], r["bench_p99_ms"], r["bench_shed"], r["wrk_ops_per_s"],
           r["wrk_p99_ms"], r["bench_errors"] + r["wrk_errors"]))
    w("")
    w("Memory while they trickled: %.0f MB of anonymous RSS (%.0f KiB per waiting upload, "
      "buffers and touched fiber stack)." %
      (t["rss_anon_kib"] / 1024, t["rss_anon_kib"] / max(1, t["connections"])))
    w("")


def onekey_section(w, steps):
    best = max(st["ok_per_s"] for st in steps)
    w("## One key, many connections")
    w("")
    w("PUT 4 KiB (durable) from one access key, default settings, `holdfast bench "
      "--expect-slowdown` at growing concurrency; the best goodput of any step was %.0f PUT/s." %
      best)
    w("")
    w("| connections | PUT/s | % of best | shed (503) | shed % | errors | p99 ms |")
    w("|---|---|---|---|---|---|---|")
    for st in steps:
        tot = st["ok"] + st["shed"]
        w("| %d | %.0f | %s | %d | %.2f%% | %d | %.1f |" %
          (st["connections"], st["ok_per_s"], pct(st["ok_per_s"] / best), st["shed"],
           100 * st["shed"] / max(1, tot), st["errors"], st["p99_ms"]))
    w("")


def waiting_section(w, wc):
    a, u = wc.get("asm"), wc.get("ucontext")
    w("## What waiting costs")
    w("")
    w("`tests/perf/perf_fiber.c`, the median of three runs: one fiber parked and woken on its "
      "own thread (two context switches, what a request pays each time it waits for its "
      "socket); one call on the blocking-I/O pool from a fiber on an event loop and back (what "
      "a disk call or a metadata commit pays to leave the loop); for comparison, a hand-off "
      "between two threads and back by futex.")
    w("")
    w("| switch | park + wake ns | I/O pool call µs | thread hand-off µs |")
    w("|---|---|---|---|")
    for name, r in (("x86-64 assembly (used)", a), ("ucontext", u)):
        if r:
            w("| %s | %.0f | %.1f | %.1f |" % (name, r["switch_ns"], r["iopool_ns"] / 1000,
                                               r["thread_ns"] / 1000))
    w("")


SSE_LABELS = {"get1m": ("GET 1 MiB, 16 connections", "mb_per_s", "MB/s"),
              "put1m": ("PUT 1 MiB, 16 connections", "mb_per_s", "MB/s"),
              "get4k": ("GET 4 KiB, 32 connections", "ops_per_s", "req/s"),
              "put4k": ("PUT 4 KiB, 32 connections", "ops_per_s", "req/s")}


def sse_section(w, sse):
    """Server-side encryption's cost: SSE-S3 against no encryption."""
    w("## Server-side encryption")
    w("")
    again = (" Measured on its own on %s (`scripts/bench.py --only sse`)." % sse["date"]
             if sse.get("separate") else "")
    w("What encrypting every object costs: holdfast as it runs by default (every object SSE-S3: "
      "a data key per object, each 64 KiB block AES-256-GCM, the inline data of small objects "
      "sealed) against the same server with `--sse-default none`, same flags, client and "
      "figures, %d runs of %d s per side, alternating; medians. Load average %.1f before, %.1f "
      "after.%s" % (sse["rounds"], sse["duration_s"], sse["load_before"][0],
                    sse.get("load_after", [0])[0], again))
    w("")
    w("| figure | SSE-S3 | unencrypted | SSE-S3 ÷ unencrypted | target | result |")
    w("|---|---|---|---|---|---|")
    for name in sse["figures"]:
        label, key, unit = SSE_LABELS[name]
        runs = sse["runs"][name]
        e, p = median_of(runs["sse"], key), median_of(runs["plain"], key)
        ratio = e / p if p else 0
        t = sse["targets"].get(name)
        tgt = "≥ %.1f × unencrypted" % t if t else "–"
        res = verdict(ratio >= t, pct(1 - ratio / t)) if t else "–"
        w("| %s | %.0f %s | %.0f %s | %.2f | %s | %s |" % (label, e, unit, p, unit, ratio, tgt, res))
    w("")
    w("Each run:")
    w("")
    w("| figure | server | req/s | MB/s | p50 ms | p99 ms | errors |")
    w("|---|---|---|---|---|---|---|")
    for name in sse["figures"]:
        for side, what in (("sse", "SSE-S3"), ("plain", "unencrypted")):
            for x in sse["runs"][name][side]:
                w("| %s | %s | %.0f | %.1f | %.3f | %.3f | %d |" %
                  (name, what, x["ops_per_s"], x["mb_per_s"], x["p50_ms"], x["p99_ms"], x["errors"]))
    w("")


def main():
    src, out = sys.argv[1], sys.argv[2]
    with open(src) as f:
        r = json.load(f)
    runs = r["runs"]
    wruns = r.get("wrk", {})
    rows = []  # figure, holdfast, nginx, ratio, target, verdict
    chart = []  # label, ratio, target (ratios where higher is better)
    both = []   # figure, bench ratio, wrk ratio, agreement (paired figures)

    def paired(name, key, label, unit, target, higher=True, fmt="%.0f"):
        h, n = median_of(runs[name]["holdfast"], key), median_of(runs[name]["nginx"], key)
        ratio = h / n if n else 0
        wr = None
        if name in wruns:
            wh, wn = median_of(wruns[name]["holdfast"], key), median_of(wruns[name]["nginx"], key)
            wr = wh / wn if wn else 0
        if higher:
            meets = lambda x: x >= target
            miss = lambda x: pct(1 - x / target)
            tgt = "≥ %.1f × nginx" % target
        else:
            meets = lambda x: x <= target
            miss = lambda x: pct(x / target - 1)
            tgt = "≤ %.0f × nginx" % target
        agree = wr is not None and abs(ratio - wr) <= AGREE * max(ratio, wr)
        if wr is None:
            result = verdict(meets(ratio), miss(ratio))
        elif not agree:
            result = "**clients disagree** (%.2f vs %.2f)" % (ratio, wr)
        else:
            worst = min(ratio, wr) if higher else max(ratio, wr)
            result = verdict(meets(ratio) and meets(wr), miss(worst))
        ratios = "%.2f" % ratio if wr is None else "%.2f / %.2f" % (ratio, wr)
        rows.append((label, (fmt % h) + " " + unit, (fmt % n) + " " + unit, ratios, tgt, result))
        if wr is not None:
            both.append((label, ratio, wr, agree, fmt % wh, fmt % wn, unit))
        return ratio if wr is None else min(ratio, wr) if higher else max(ratio, wr)

    chart.append(("GET 4 KiB req/s", paired("get4k", "ops_per_s", "GET 4 KiB, 32 connections",
                                            "req/s", 1.0), 1.0))
    p99 = paired("get4k", "p99_ms", "GET 4 KiB p99 latency", "ms", 2, higher=False, fmt="%.2f")
    chart.append(("GET 1 MiB MB/s", paired("get1m", "mb_per_s", "GET 1 MiB, 16 connections",
                                           "MB/s", 0.8), 0.8))
    chart.append(("PUT 4 KiB req/s", paired("put4k", "ops_per_s",
                                            "PUT 4 KiB, 32 connections (holdfast durable; nginx no fsync)",
                                            "req/s", 1.0), 1.0))
    chart.append(("PUT 1 MiB MB/s", paired("put1m", "mb_per_s",
                                           "PUT 1 MiB, 16 connections (holdfast durable)", "MB/s",
                                           0.8), 0.8))

    lst = median_of(r["list"], "ops_per_s")
    rows.append(("ListObjectsV2, 1000-key pages, %s objects" % format(r["big"], ","),
                 "%.0f pages/s" % lst, "–", "–", "≥ 1,000 pages/s",
                 verdict(lst >= 1000, pct(1 - lst / 1000))))
    cb, cs = r["cold_big"][0], r["cold_small"][0]
    rows.append(("cold start: exec → first GET, %s objects" % format(r["big"], ","), "%.1f ms" % cb,
                 "–", "–", "≤ 100 ms", verdict(cb <= 100, pct(cb / 100 - 1))))
    rows.append(("cold start at %s vs 10,000 objects" % format(r["big"], ","),
                 "%.1f ms vs %.1f ms" % (cb, cs), "–", "%.2f" % (cb / cs), "within 20%",
                 verdict(cb <= cs * 1.2, pct(cb / (cs * 1.2) - 1))))
    idle = r["mem_idle"]["rss_anon_kib"] / 1024
    plus = (r["mem_conns"]["rss_anon_kib"] - r["mem_idle"]["rss_anon_kib"]) / 1024
    rows.append(("anonymous RSS, idle, %s objects" % format(r["big"], ","), "%.1f MB" % idle, "–",
                 "–", "≤ 64 MB", verdict(idle <= 64, pct(idle / 64 - 1))))
    rows.append(("anonymous RSS, + 10,000 idle keep-alive connections", "+%.1f MB" % plus, "–", "–",
                 "≤ +64 MB", verdict(plus <= 64, pct(plus / 64 - 1))))
    tmax = max(s.get("threads_max", 0) for n in runs for s in runs[n]["holdfast"])
    tset = {r["threads_idle"], tmax, r["mem_idle"]["threads"], r["mem_conns"]["threads"]}
    rows.append(("threads: idle / under load / idle with 10,000 connections",
                 "%d / %d / %d" % (r["threads_idle"], tmax, r["mem_conns"]["threads"]),
                 "%d worker processes" % r.get("nginx_workers", 0), "–", "a fixed count",
                 verdict(len(tset) == 1, "%d distinct counts" % len(tset))))

    ov = r.get("overload")
    if ov:
        peak = max(ov["steps"], key=lambda st: st["goodput_per_s"])
        top = ov["steps"][-1]
        x16 = next((st for st in ov["steps"] if st["connections"] == 16 * ov["io_threads"]), top)
        keep = top["goodput_per_s"] / peak["goodput_per_s"] if peak["goodput_per_s"] else 0
        keep16 = x16["goodput_per_s"] / peak["goodput_per_s"] if peak["goodput_per_s"] else 0
        rows.append(("overload: goodput at %d connections, 16× capacity, no backoff" %
                     x16["connections"],
                     "%.0f req/s, %s of peak" % (x16["goodput_per_s"], pct(keep16)), "–", "–",
                     "≥ 80% of peak", verdict(keep16 >= 0.8, pct(1 - keep16 / 0.8))))
    t = r.get("trickle")
    if t:
        a, l = t["alone"], t["loaded"]
        shed = l["bench_shed"]
        worst = max(l["bench_p99_ms"] / max(1e-9, a["bench_p99_ms"]),
                    l["wrk_p99_ms"] / max(1e-9, a["wrk_p99_ms"]))
        rows.append(("GET 4 KiB p99 next to %d trickling uploads, vs alone (both clients)" %
                     t["connections"], "%.2f / %.2f ms, %d shed" % (l["bench_p99_ms"],
                                                                     l["wrk_p99_ms"], shed),
                     "–", "%.2f×" % worst, "≤ 2×, none shed",
                     verdict(worst <= 2 and shed == 0 and l["bench_errors"] + l["wrk_errors"] == 0,
                             "%.2f× / %d shed" % (worst, shed))))
    ok1 = r.get("onekey")
    if ok1:
        best = max(st["ok_per_s"] for st in ok1)
        st256 = next((st for st in ok1 if st["connections"] == 256), ok1[-1])
        tot = st256["ok"] + st256["shed"]
        shed_share = st256["shed"] / max(1, tot)
        share = st256["ok_per_s"] / best
        rows.append(("one key, 256 connections, PUT 4 KiB, defaults",
                     "%.0f PUT/s (%s of best), %.2f%% shed" % (st256["ok_per_s"], pct(share),
                                                               100 * shed_share),
                     "–", "–", "< 1% shed, ≥ 90% of best",
                     verdict(shed_share < 0.01 and share >= 0.9,
                             "%.2f%% shed, %s of best" % (100 * shed_share, pct(share)))))

    if r.get("server_flags"):
        flags = "holdfast ran with `%s`" % " ".join(r["server_flags"])
    else:
        flags = ("holdfast ran with its defaults (one event loop per CPU, admission by queue "
                 "delay: every connection of the one key the clients sign with is served)")
    m = r["machine"]
    lines = []
    w = lines.append
    w("# Benchmarks")
    w("")
    again = ""
    if ov and ov.get("separate"):
        again = (" The overload curve was measured again on %s (`scripts/bench.py --only "
                 "overload`)." % ov["date"])
    w("Generated by `make bench` (scripts/bench.py, scripts/bench_report.py) on %s; every number "
      "below is from that one run.%s Do not edit by hand: run `make bench` again." %
      (m["date"], again))
    w("")
    w("holdfast and nginx (%s) ran side by side on loopback, driven by two independent clients "
      "with the same settings: `holdfast bench` (SigV4 in headers) and wrk (Debian's package; "
      "presigned SigV4 URLs against holdfast, the same paths unsigned against nginx, every "
      "request formatted once at start), %d runs of %d s per side, client and figure, "
      "alternating (holdfast first in odd rounds, nginx first in even ones); the table gives the "
      "median of the runs, holdfast bench's numbers, and both clients' ratios (holdfast bench / "
      "wrk). A ratio counts only where the two clients agree within 10%%; wrk's own numbers are "
      "under [Both clients](#both-clients). nginx serves static files for GET and WebDAV `dav_methods PUT` for PUT; it does not "
      "fsync, while holdfast acknowledges a PUT only once it is durable. Both servers had access "
      "logs off (holdfast `--log-level warn`). %s; nginx with `worker_processes auto`." %
      (m["nginx"].replace("nginx version: ", ""), r["rounds"], r["duration_s"], flags))
    w("")
    if "--sse-default" in r.get("server_flags", []):
        w("holdfast stored these objects unencrypted (`--sse-default none`), as nginx does; by "
          "default it encrypts every object, and what that costs is [its own "
          "figure](#server-side-encryption).")
        w("")
    w("**Machine:** %s, %d CPUs, %.0f GiB, Linux %s. Shared with other engineers' builds and tests "
      "while it ran (load average %.1f before, %.1f after), so absolute numbers are noisy; the "
      "ratios, measured minutes apart on the same machine, are what count." %
      (m["cpu"], m["cpus"], m["mem_gib"], m["kernel"], m["load_before"][0],
       m.get("load_after", [0])[0]))
    w("")
    w("| figure | holdfast | nginx | holdfast ÷ nginx | target | result |")
    w("|---|---|---|---|---|---|")
    for row in rows:
        w("| " + " | ".join(row) + " |")
    w("")
    w("![holdfast ÷ nginx per figure, with the targets](benchmarks.png)")
    w("")
    lim = r.get("limits")
    if lim:
        w("The machine's own limits, measured in the same run on the filesystem both servers used: "
          "%.0f fdatasync'd 4 KiB writes/s from one writer, %.0f/s from 16; %.0f MB/s of durable "
          "1 MiB writes from 16 writers (write + fdatasync, nothing else); MD5 %.0f MB/s on one "
          "core; memory copy %.1f GB/s. holdfast's durable PUT 4 KiB ran at %.1f× the 16-writer "
          "fsync rate, because one metadata commit carries many PUTs; its durable PUT 1 MiB at "
          "%.0f%% of the durable 1 MiB write rate, while also computing each body's MD5." %
          (lim["fsync_1"], lim["fsync_16"], lim["durable_1m_mb_s"], lim["md5_mb_s"],
           lim["memcpy_gb_s"], median_of(runs["put4k"]["holdfast"], "ops_per_s") / lim["fsync_16"],
           100 * median_of(runs["put1m"]["holdfast"], "mb_per_s") / lim["durable_1m_mb_s"]))
        w("")
    if both:
        w("## Both clients")
        w("")
        w("| figure | holdfast bench: holdfast ÷ nginx | wrk: holdfast | wrk: nginx | wrk: holdfast ÷ nginx | agree within 10% |")
        w("|---|---|---|---|---|---|")
        for label, br, wr, agree, wh, wn, unit in both:
            w("| %s | %.2f | %s %s | %s %s | %.2f | %s |" % (label, br, wh, unit, wn, unit, wr,
                                                          "yes" if agree else "**no**"))
        w("")
    if r.get("sse"):
        sse_section(w, r["sse"])
    if ov:
        overload_section(w, ov, peak, top, keep, out)
    if t:
        slow_clients_section(w, t)
    if ok1:
        onekey_section(w, ok1)
    if r.get("waiting"):
        waiting_section(w, r["waiting"])
    w("## Each run")
    w("")
    w("| figure | server | req/s | MB/s | p50 ms | p99 ms | p99.9 ms | errors | client CPU µs/req |")
    w("|---|---|---|---|---|---|---|---|---|")
    for name in runs:
        for side in ("holdfast", "nginx"):
            for s in runs[name][side]:
                w("| %s | %s | %.0f | %.1f | %.3f | %.3f | %.3f | %d | %.1f |" %
                  (name, side, s["ops_per_s"], s["mb_per_s"], s["p50_ms"], s["p99_ms"],
                   s["p999_ms"], s["errors"], s["client_cpu_us"]))
    for name in wruns:
        for side in ("holdfast", "nginx"):
            for s in wruns[name][side]:
                w("| %s (wrk) | %s | %.0f | %.1f | %.3f | %.3f | – | %d | – |" %
                  (name, side, s["ops_per_s"], s["mb_per_s"], s["p50_ms"], s["p99_ms"],
                   s["errors"]))
    for s in r["list"]:
        w("| list (%s objects) | holdfast | %.0f | %.1f | %.3f | %.3f | %.3f | %d | %.1f |" %
          (format(r["big"], ","), s["ops_per_s"], s["mb_per_s"], s["p50_ms"], s["p99_ms"],
           s["p999_ms"], s["errors"], s["client_cpu_us"]))
    w("")
    w("Settings (`holdfast bench` flags, plus `--duration %ds`):" % r["duration_s"])
    w("")
    for name, flags in r["settings"].items():
        w("- %s: `%s`" % (name, " ".join(flags)))
    w("- list: `--op list --objects %d --concurrency 8 --no-prepare` on the preloaded bucket, "
      "%.1f keys per page" % (r["big"], r["list"][0]["keys_per_page"]))
    w("")
    cost = []
    for name in runs:
        h, n = median_of(runs[name]["holdfast"], "client_cpu_us"), median_of(runs[name]["nginx"], "client_cpu_us")
        cost.append("%s %.1f µs against holdfast, %.1f µs against nginx" % (name, h, n))
    w("The client's own cost is the last column: CPU time of `holdfast bench` per request (%s). "
      "Both servers shared the 2 CPUs with it. The client spends more per request against the "
      "slower server of a pair, where fewer responses arrive per wake-up of its threads; that CPU "
      "was not available to the server, so it works against the slower side, never for it." %
      "; ".join(cost))
    w("")
    w("## Data set, cold start, memory")
    w("")
    p = r["preload"]
    w("- Preloading %s objects of 1 KiB through S3 (`holdfast bench --op list --objects %d "
      "--concurrency %d --no-cleanup`, every PUT durable) took %.0f s (%.0f objects/s), %d errors." %
      (format(p["objects"], ","), p["objects"], p.get("connections", 64), p["seconds"],
       p["objects_per_s"], p["errors"]))
    w("- Cold start is the time from starting `holdfast server` to the first successful GET of an "
      "object (a presigned URL polled on the S3 port every 0.2 ms), the median of %d starts, "
      "alternating between the two data sets: %s ms with %s objects, %s ms with 10,000. The OS "
      "page cache was warm (the machine is shared, so caches were not dropped): it measures "
      "holdfast's own start-up, not the disk." %
      (len(r["cold_big"][1]), " / ".join("%.1f" % t for t in r["cold_big"][1]),
       format(r["big"], ","), " / ".join("%.1f" % t for t in r["cold_small"][1])))
    w("- Memory is `RssAnon` from /proc (anonymous resident memory: heap, stacks, not the "
      "file-backed LMDB map), after a restart and one GET with %s objects: %.1f MB; then with "
      "%d idle keep-alive connections (each had one request answered): %.1f MB." %
      (format(r["big"], ","), idle, r["mem_conns"]["connections"],
       r["mem_conns"]["rss_anon_kib"] / 1024))
    w("- Threads were sampled every 0.5 s during every holdfast run: %s." %
      ("the count never changed" if len(tset) == 1 else "counts seen: %s" % sorted(tset)))
    if r.get("profiles"):
        w("")
        w("## Where holdfast's time goes")
        w("")
        w("`perf record -g` of the server during one more run of each figure (not one of the "
          "measured runs). Share of the server's samples by binary, then the hottest symbols:")
        w("")
        for name, prof in r["profiles"].items():
            d = prof["dso"]
            top = sorted(d.items(), key=lambda kv: -kv[1])[:5]
            w("- **%s**: %s" % (name, ", ".join("%s %.0f%%" % (k, v) for k, v in top)))
            w("")
            w("  | % | binary | symbol |")
            w("  |---|---|---|")
            for pc, dso, sym in prof["top"][:10]:
                w("  | %.1f | %s | `%s` |" % (pc, dso, sym.replace("|", "\\|")))
            w("")
    w("")
    w("What bounds each missed target, and the optimisations behind these numbers, are in "
      "[performance.md](performance.md).")
    with open(os.path.join(out, "benchmarks.md"), "w") as f:
        f.write("\n".join(lines).rstrip("\n") + "\n")

    dat = os.path.join(out, ".benchmarks.dat")
    with open(dat, "w") as f:
        for i, (label, ratio, target) in enumerate(chart):
            f.write('%d "%s" %.4f %.2f\n' % (i, label, ratio, target))
    f.close()
    plot = """set terminal pngcairo size 900,420 font "DejaVu Sans,10"
set output "%s"
set title "holdfast ÷ nginx, same client and settings (higher is better)"
set style fill solid 0.8 border -1
set boxwidth 0.5
set yrange [0:*]
set grid ytics
set key top right
set ylabel "ratio"
plot "%s" using 1:3:xtic(2) with boxes lc rgb "#2f6db5" title "holdfast ÷ nginx", \\
     "" using 1:4 with points pt 9 ps 2.5 lc rgb "#c0392b" title "target", \\
     "" using 1:3:(sprintf("%%.2f", $3)) with labels offset 0,1 notitle
""" % (os.path.join(out, "benchmarks.png"), dat)
    subprocess.run(["gnuplot"], input=plot, text=True, check=True)
    os.unlink(dat)


if __name__ == "__main__":
    main()
