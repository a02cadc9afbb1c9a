/*
 * bench.h -- an S3 load generator (`holdfast bench`), usable against any S3
 * endpoint that speaks SigV4 with path-style addressing: holdfast, AWS, or
 * another server. In the spirit of MinIO's warp.
 *
 * A run has three phases, each driven by the same engine:
 *   1. prepare: make sure the bucket exists (CreateBucket; "already owned
 *      by you" is fine) and, for operations that read or delete, upload the
 *      data set: --objects keys of --size bytes. Not measured.
 *   2. measure: --concurrency connections kept busy until --duration has
 *      passed (delete: or until every prepared object is deleted). Every
 *      response is checked: GET, HEAD and list need a 200 (and GET/HEAD the
 *      right length), PUT and DELETE any 2xx (S3 answers 200 and 204, a
 *      WebDAV server compared against 201). Latency is taken from the first
 *      byte sent to the last byte received. With expect_slowdown (an
 *      overload test), a 503 SlowDown answer in this phase is shed load:
 *      counted apart (hf_bench_phase_t.shed), neither an error nor part of
 *      the other requests' latency, not retried, and its connection kept
 *      when the server keeps it (the client models a retry storm: it sends
 *      the next request at once, ignoring Retry-After).
 *   3. cleanup: delete the keys the run wrote (unless told to keep them).
 *
 * Engine: a fixed number of threads (--threads, default the number of
 * CPUs, never more than the connections), each with its own epoll set and
 * its share of the connections, over non-blocking sockets registered once,
 * edge-triggered. No lock and no allocation on the request path: request
 * heads are built in per-connection buffers, PUT bodies are slices of one
 * read-only random buffer (object i starts at a different offset, so
 * objects differ), statistics are per thread and merged at the end.
 * Requests are signed with SigV4 (auth/sigv4.h) with an UNSIGNED-PAYLOAD
 * body hash, so the client never hashes bodies.
 *
 * Keys are <prefix><10-digit index>, fixed width so listing order is index
 * order: a ListObjectsV2 page starting after key i holds keys i+1...
 *
 * Ownership: configs and results are plain caller-owned structs; nothing
 * returned points into the engine. Threads: hf_bench_run starts and joins
 * its own threads; every other function is a pure function over
 * caller-owned memory.
 */
#ifndef HF_BENCH_BENCH_H
#define HF_BENCH_BENCH_H

#include "base/limits.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Request kinds. The order is the order of reports. */
enum hf_bench_op {
    HF_BENCH_PUT = 0,
    HF_BENCH_GET = 1,
    HF_BENCH_HEAD = 2,
    HF_BENCH_LIST = 3,
    HF_BENCH_DELETE = 4,
    HF_BENCH_NOPS = 5,
    /* Not a request kind: the --op that draws from --mix. */
    HF_BENCH_MIXED = 5,
};

/* "put" "get" "head" "list" "delete" "mixed"; NULL for a bad value. */
const char *hf_bench_op_name(int op);
/* The op named s (the names above), or -1. */
int hf_bench_parse_op(const char *s);

/* Where to send requests: parsed from "http://host[:port][/]". */
typedef struct hf_bench_endpoint {
    char host[256];     /* name or address, without brackets */
    char port[8];       /* decimal, "80" when absent */
    char hostport[272]; /* the Host header: as in the URL ("[::1]:9000") */
} hf_bench_endpoint_t;

/* Parse an endpoint URL. Only plain http:// is spoken (https answers
 * HF_E_INVAL with a message). A path other than "/" is refused (path-style
 * addressing puts the bucket first). why gets a static text on error. */
int hf_bench_parse_endpoint(const char *url, hf_bench_endpoint_t *ep, const char **why);

/* Sizes: a decimal number with an optional unit: B, KiB, MiB, GiB (powers
 * of 1024) or KB, MB, GB (powers of 1000), case-insensitive, no space
 * ("4KiB", "1MiB", "512"). At most HF_PUT_MAX (a single PUT). */
int hf_bench_parse_size(const char *s, uint64_t *out);

/* Durations: one or more <number><unit> with units ms, s, m, h ("30s",
 * "1m30s", "500ms"); a bare number is seconds. 1 ms to HF_BENCH_DURATION_MAX_S. */
int hf_bench_parse_duration(const char *s, int64_t *ms);

/* --mix: "get=45,head=30,put=15,delete=10" (weights, not necessarily
 * summing to 100; list allowed too). Unnamed kinds get weight 0; the total
 * must be > 0. */
int hf_bench_parse_mix(const char *s, unsigned mix[HF_BENCH_NOPS]);

/* ---- configuration ----------------------------------------------------------- */

typedef struct hf_bench_config {
    hf_bench_endpoint_t endpoint;
    char access_key[HF_ACCESS_KEY_MAX + 1];
    char secret_key[HF_SECRET_KEY_MAX + 1];
    char region[HF_REGION_MAX + 1];
    char bucket[HF_BUCKET_NAME_MAX + 1];
    char prefix[HF_BENCH_PREFIX_MAX + 1];
    int op;               /* enum hf_bench_op, HF_BENCH_MIXED included */
    unsigned mix[HF_BENCH_NOPS];
    uint64_t size;        /* object size in bytes */
    uint64_t objects;     /* keys in the data set */
    int concurrency;      /* connections */
    int threads;          /* 0: min(CPUs, concurrency) */
    int64_t duration_ms;
    bool prepare;         /* upload the data set first (else: assume it exists) */
    bool cleanup;         /* delete the data set after the run */
    int timeout_ms;       /* no byte moved for this long: Timeout (0: HF_BENCH_REQUEST_TIMEOUT_MS) */
    bool expect_slowdown; /* measure: 503 SlowDown is shed load, not an error (see above) */
    bool progress;        /* draw a progress bar on progress_out */
    FILE *progress_out;
} hf_bench_config_t;

/* Defaults: endpoint http://127.0.0.1:9000, region us-east-1, bucket
 * "holdfast-bench", prefix "bench/", op get, size 4 KiB, 1000 objects,
 * 32 connections, 30 s, mix get=45,head=30,put=15,delete=10, prepare and
 * cleanup on, SlowDown an error. Keys are left empty. */
void hf_bench_config_default(hf_bench_config_t *c);

/* Check a filled config; NULL if usable, else a text saying what to fix. */
const char *hf_bench_config_check(const hf_bench_config_t *c);

/* The key of object i: prefix + 10 digits. out needs HF_BENCH_KEY_MAX. */
#define HF_BENCH_KEY_MAX (HF_BENCH_PREFIX_MAX + 11)
void hf_bench_key(const hf_bench_config_t *c, uint64_t i, char *out);

/* ---- statistics ---------------------------------------------------------------- */

/* Latency histogram in microseconds, log-linear: exact below 128 us, then
 * 64 buckets per power of two (relative error under 1/64). Max and sum are
 * exact. */
#define HF_BENCH_HIST_SUB 64
#define HF_BENCH_HIST_BUCKETS (HF_BENCH_HIST_SUB * 40)
typedef struct hf_bench_hist {
    uint64_t count, sum_us, max_us;
    uint64_t b[HF_BENCH_HIST_BUCKETS];
} hf_bench_hist_t;

void hf_bench_hist_add(hf_bench_hist_t *h, uint64_t us);
void hf_bench_hist_merge(hf_bench_hist_t *dst, const hf_bench_hist_t *src);
/* The p-th percentile (0 < p <= 100), nearest rank: the smallest recorded
 * value v (to the histogram's resolution, reported as the top of its
 * bucket, never above max) with at least p% of samples <= v. 0 if empty. */
uint64_t hf_bench_hist_percentile(const hf_bench_hist_t *h, double p);

/* Error counts by S3 error code ("NoSuchKey"), or by a name for what went
 * wrong when there is no code ("HTTP404" for a HEAD, "ConnectionError",
 * "Timeout", "BadLength"). Bounded: codes beyond HF_BENCH_ERR_CODES_MAX
 * count under "Other". */
typedef struct hf_bench_errs {
    int n;
    struct {
        char code[48];
        uint64_t count;
    } e[HF_BENCH_ERR_CODES_MAX];
    uint64_t other;
} hf_bench_errs_t;

void hf_bench_errs_add(hf_bench_errs_t *e, const char *code, uint64_t count);
void hf_bench_errs_merge(hf_bench_errs_t *dst, const hf_bench_errs_t *src);
uint64_t hf_bench_errs_total(const hf_bench_errs_t *e);

typedef struct hf_bench_opstats {
    uint64_t ops;    /* requests completed, successful or not */
    uint64_t errors; /* of which failed */
    uint64_t bytes;  /* body bytes sent (PUT) or received (GET, LIST) */
    hf_bench_hist_t lat; /* latency of every completed request */
} hf_bench_opstats_t;

typedef struct hf_bench_phase {
    int64_t elapsed_ns;  /* first request sent to last response read */
    hf_bench_opstats_t op[HF_BENCH_NOPS];
    /* expect_slowdown: requests of any kind answered 503 SlowDown, with
     * their latency; not counted in op[] (errors stays 0). */
    hf_bench_opstats_t shed;
    hf_bench_errs_t errs;
    uint64_t connects;    /* TCP connections opened */
    uint64_t list_keys;   /* <Key> elements in ListObjectsV2 pages */
    double cpu_s;         /* this process's user+system CPU during the phase */
    bool exhausted;       /* delete: ran out of objects before the duration */
} hf_bench_phase_t;

typedef struct hf_bench_result {
    int threads;
    hf_bench_phase_t prepare; /* CreateBucket and the uploads */
    hf_bench_phase_t measure;
    hf_bench_phase_t cleanup;
    bool prepared, cleaned;
} hf_bench_result_t;

/* Totals over every op of a phase. */
void hf_bench_phase_total(const hf_bench_phase_t *p, hf_bench_opstats_t *out);

/* ---- pieces of the client, exposed for tests ------------------------------------ */

typedef struct hf_bench_resp {
    int status;
    int64_t content_length; /* -1 when absent */
    bool chunked;           /* Transfer-Encoding: chunked */
    bool close;             /* Connection: close, or HTTP/1.0 without keep-alive */
} hf_bench_resp_t;

/* Parse a response head in buf[0..len). Returns the head's length (> 0),
 * 0 if incomplete (and len < HF_BENCH_RESP_HEAD_MAX), or HF_E_PROTO /
 * HF_E_TOOBIG. Accepts what servers send (LF-only lines too); the client
 * needs framing, not strictness. */
int hf_bench_parse_resp(const char *buf, size_t len, hf_bench_resp_t *r);

/* The text of the first <Code>...</Code> in an S3 error body, copied to out
 * (NUL-terminated, at most cap-1 bytes, only [A-Za-z0-9.]); false if none. */
bool hf_bench_s3_code(const char *body, size_t n, char *out, size_t cap);

/* Count "<Key>" in a stream fed in pieces; *state carries a match across
 * calls (start at 0). */
uint64_t hf_bench_count_keys(unsigned *state, const char *p, size_t n);

/* ---- running -------------------------------------------------------------------- */

/* Run the three phases. Sets SIGPIPE to ignored for the process (a server
 * that closes while we write must give EPIPE, not end the run). Returns
 * HF_OK when the run completed (the result
 * may still count failed requests), or an error: the endpoint cannot be
 * resolved or reached, the bucket cannot be created (msg says why), the
 * data set could not be uploaded, or memory/threads could not be had. msg
 * (NUL-terminated) says what happened in words a user can act on. */
int hf_bench_run(const hf_bench_config_t *c, hf_bench_result_t *res, char *msg, size_t msgcap);

/* Print a result for people (one table) or as one JSON object. */
void hf_bench_report_text(FILE *f, const hf_bench_config_t *c, const hf_bench_result_t *r);
int hf_bench_report_json(FILE *f, const hf_bench_config_t *c, const hf_bench_result_t *r);

#endif /* HF_BENCH_BENCH_H */
