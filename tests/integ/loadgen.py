"""A small closed-loop S3 load generator for the overload tests
(test_overload.py). The overload curve of `make bench` uses `holdfast bench
--expect-slowdown` instead (scripts/bench.py).

Each connection is one thread with a persistent HTTP/1.1 socket sending
presigned requests (signed once, reused until they expire), so the client
spends its CPU on sending, not on signing, and can offer several times what
a small server admits. A connection does not back off after a 503: it
models the retry storm the server must survive.

Any S3 load generator that reports per-request status and latency can stand
in for this one: `run` returns a Result, and the tests only read Result.
"""
import http.client
import threading
import time
import urllib.parse


class Result:
    def __init__(self):
        self.lock = threading.Lock()
        self.samples = []         # (start_offset_s, latency_s, status, has_retry_after)
        self.errors = []          # exceptions (timeouts, resets)
        self.duration = 0.0

    def add(self, t, lat, status, retry_after):
        with self.lock:
            self.samples.append((t, lat, status, retry_after))

    def count(self, status=None):
        return sum(1 for s in self.samples if status is None or s[2] == status)

    def goodput(self):
        """Successful (2xx) requests per second."""
        ok = sum(1 for s in self.samples if 200 <= s[2] < 300)
        return ok / self.duration if self.duration else 0.0

    def offered(self):
        return len(self.samples) / self.duration if self.duration else 0.0

    def latency_quantile(self, q, status_ok=True):
        lats = sorted(s[1] for s in self.samples if not status_ok or 200 <= s[2] < 300)
        if not lats:
            return 0.0
        return lats[min(len(lats) - 1, int(q * len(lats)))]

    def max_latency(self):
        return max((s[1] for s in self.samples), default=0.0)

    def shed_without_retry_after(self):
        return sum(1 for s in self.samples if s[2] == 503 and not s[3])


def _worker(host, port, targets, stop_at, t0, res, timeout):
    conn = None
    i = 0
    while time.monotonic() < stop_at:
        target = targets[i % len(targets)]
        i += 1
        start = time.monotonic()
        try:
            if conn is None:
                conn = http.client.HTTPConnection(host, port, timeout=timeout)
            conn.request("GET", target)
            r = conn.getresponse()
            r.read()
            lat = time.monotonic() - start
            res.add(start - t0, lat, r.status, r.getheader("Retry-After") is not None)
            if r.getheader("Connection", "").lower() == "close":
                conn.close()
                conn = None
        except Exception as e:  # noqa: BLE001 -- every failure is a data point
            with res.lock:
                res.errors.append("%s after %.2fs" % (type(e).__name__, time.monotonic() - start))
            if conn is not None:
                conn.close()
            conn = None
    if conn is not None:
        conn.close()


def presigned_gets(s3, bucket, keys, expires=3600):
    """Path-and-query targets for presigned GETs of keys (boto3 client s3)."""
    out = []
    for k in keys:
        url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": k},
                                        ExpiresIn=expires)
        u = urllib.parse.urlsplit(url)
        out.append(u.path + "?" + u.query)
    return out


def run(endpoint, targets, connections, seconds, timeout=10.0):
    """Offer load with `connections` closed-loop connections for `seconds`;
    returns a Result."""
    u = urllib.parse.urlsplit(endpoint)
    res = Result()
    t0 = time.monotonic()
    stop_at = t0 + seconds
    threads = [threading.Thread(target=_worker, args=(u.hostname, u.port, targets, stop_at, t0, res,
                                                      timeout), daemon=True)
               for _ in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(seconds + timeout + 5)
    res.duration = time.monotonic() - t0
    return res
