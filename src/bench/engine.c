/*
 * engine.c -- the load generator's engine: worker threads, each with an
 * epoll set and a share of the connections; a request/response state
 * machine per connection; the three phases of a run. See bench.h.
 *
 * Connection states:
 *   IDLE        no socket (before the first request, or after a close)
 *   CONNECTING  non-blocking connect in progress       -> SENDING  [on_connect]
 *   SENDING     request head and body going out         -> HEAD     [send_some]
 *   HEAD        reading the response head               -> BODY     [on_data]
 *   BODY        reading (and mostly discarding) the body -> next request [finish]
 *   DONE        the phase has no more work for it
 * Any error records the request as failed, closes the socket, and the next
 * request opens a new one.
 *
 * Sockets are registered once, edge-triggered for both directions, and
 * never modified: a worker writes a request as soon as it has built it and
 * waits for an edge only when the socket is full; it reads until EAGAIN
 * or until the response is complete (nothing is pipelined, so a response
 * that is complete leaves nothing unread). That is one writev and one or
 * two reads per small request, no epoll_ctl.
 *
 * Response bodies are read into one scratch buffer per worker and thrown
 * away, except the first HF_BENCH_ERR_BODY_MAX bytes of an error (to name
 * its code) and <Key> counts of listings. A head split over several reads
 * (rare) is gathered in a buffer allocated for that connection then.
 */
#include "bench/bench.h"

#include "auth/sigv4.h"
#include "base/err.h"
#include "base/rand.h"
#include "base/str.h"
#include "base/time.h"
#include "base/vfs.h"
#include "net/http.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* Request kinds beyond the measured ones: HeadBucket, then CreateBucket
 * if the bucket is not there. */
enum { REQ_BUCKET_HEAD = HF_BENCH_NOPS, REQ_BUCKET_CREATE };

enum { C_IDLE, C_CONNECTING, C_SENDING, C_HEAD, C_BODY, C_DONE };

enum phase_kind { PH_BUCKET, PH_PREPARE, PH_MEASURE, PH_CLEANUP };

#define SCRATCH (256 * 1024)  /* one read of a large body */
#define REQ_HEAD_MAX (HF_BENCH_KEY_MAX * 6 + 2048)
#define DATA_SPREAD 4096      /* object i's body starts i % this into the data */

typedef struct run run_t;
typedef struct worker worker_t;

typedef struct conn {
    worker_t *w;
    int fd;
    int state;
    uint32_t id; /* among all connections; owns keys id, id + C, ... (mixed) */
    uint64_t rng;
    /* request */
    int op;
    uint64_t obj;
    char head[REQ_HEAD_MAX];
    size_t head_len, head_off;
    const char *body;
    size_t body_len, body_off;
    int64_t t0_ns, deadline_ms;
    /* response */
    char *partial; /* head gathered across reads, HF_BENCH_RESP_HEAD_MAX */
    size_t partial_len;
    hf_bench_resp_t resp;
    bool no_body, until_close;
    uint64_t body_left, body_got;
    hf_http_chunked_t ch;
    char err[HF_BENCH_ERR_BODY_MAX];
    size_t errlen;
    unsigned keystate;
    bool deferred; /* failed: start its next request from the loop, not from the failure */
} conn_t;

struct worker {
    run_t *run;
    pthread_t tid;
    int ep;
    conn_t *conns;
    int nconns, active;
    conn_t **deferred; /* connections waiting to start their next request */
    int ndeferred;
    char *scratch, *dec;
    int64_t date_s;
    char amz_date[17];
    hf_bench_phase_t ph;
    int64_t last_ns;
    _Atomic uint64_t progress; /* requests completed, read by the progress bar */
    _Atomic bool done;
};

struct run {
    const hf_bench_config_t *c;
    struct sockaddr_storage addr;
    socklen_t addrlen;
    int family;
    enum phase_kind phase;
    int nconns;
    uint64_t lo, hi;          /* counted phases: objects [lo, hi) */
    _Atomic uint64_t next;    /* next object for counted phases and put */
    int64_t start_ns, deadline_ns;
    int timeout_ms;
    char *data;               /* size + DATA_SPREAD random bytes */
    uint8_t *exists;          /* mixed: does object i exist (owned by its connection) */
    unsigned mix_total;
    _Atomic bool abort;       /* stop issuing requests (a fatal error) */
    /* The bucket requests' outcome. */
    int bucket_step;
    int bucket_status;
    char bucket_code[48];
    char create_body[256];
    char first_error[160];    /* details of the first failure, for messages */
    pthread_mutex_t lock;     /* guards first_error only */
};

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static uint64_t rnd(conn_t *c)
{
    /* xorshift64*: statistically fine for choosing keys, and per connection. */
    c->rng ^= c->rng >> 12;
    c->rng ^= c->rng << 25;
    c->rng ^= c->rng >> 27;
    return c->rng * 2685821657736338717ULL;
}

static void note_error(run_t *r, const char *fmt, const char *detail)
{
    pthread_mutex_lock(&r->lock);
    if (!r->first_error[0])
        snprintf(r->first_error, sizeof r->first_error, fmt, detail);
    pthread_mutex_unlock(&r->lock);
}

/* ---- choosing the next request --------------------------------------------------- */

/* Objects connection id owns among n when there are nc connections. */
static uint64_t owned(uint64_t n, uint32_t id, int nc)
{
    return id < n ? (n - id + (uint64_t)nc - 1) / (uint64_t)nc : 0;
}

/* Pick the next request for c: sets c->op and c->obj. false when the
 * phase has no more work for this connection. */
static bool choose(conn_t *c)
{
    run_t *r = c->w->run;
    const hf_bench_config_t *cfg = r->c;
    if (atomic_load_explicit(&r->abort, memory_order_relaxed))
        return false;
    switch (r->phase) {
    case PH_BUCKET:
        /* HeadBucket; CreateBucket only if that said 404, so a bucket that
         * exists needs no create permission. */
        if (r->bucket_step == 0) {
            c->op = REQ_BUCKET_HEAD;
        } else if (r->bucket_step == 1 && r->bucket_status == 404) {
            c->op = REQ_BUCKET_CREATE;
        } else {
            return false;
        }
        r->bucket_step++;
        return true;
    case PH_PREPARE:
    case PH_CLEANUP: {
        uint64_t i = r->lo + atomic_fetch_add(&r->next, 1);
        if (i >= r->hi)
            return false;
        c->op = r->phase == PH_PREPARE ? HF_BENCH_PUT : HF_BENCH_DELETE;
        c->obj = i;
        return true;
    }
    case PH_MEASURE:
        break;
    }
    if (now_ns() >= r->deadline_ns)
        return false;
    uint64_t n = cfg->objects;
    switch (cfg->op) {
    case HF_BENCH_PUT:
        c->op = HF_BENCH_PUT;
        c->obj = atomic_fetch_add(&r->next, 1) % n;
        return true;
    case HF_BENCH_DELETE: {
        uint64_t i = atomic_fetch_add(&r->next, 1);
        if (i >= n) {
            c->w->ph.exhausted = true;
            return false;
        }
        c->op = HF_BENCH_DELETE;
        c->obj = i;
        return true;
    }
    case HF_BENCH_GET:
    case HF_BENCH_HEAD:
    case HF_BENCH_LIST:
        c->op = cfg->op;
        c->obj = rnd(c) % n;
        return true;
    default:
        break;
    }
    /* mixed */
    unsigned pick = (unsigned)(rnd(c) % r->mix_total), op = 0;
    while (pick >= cfg->mix[op]) {
        pick -= cfg->mix[op];
        op++;
    }
    c->op = (int)op;
    if (op == HF_BENCH_LIST) {
        c->obj = rnd(c) % n;
        return true;
    }
    uint64_t mine = owned(n, c->id, r->nconns);
    c->obj = c->id + (rnd(c) % mine) * (uint64_t)r->nconns;
    if (op != HF_BENCH_PUT && !r->exists[c->obj])
        c->op = HF_BENCH_PUT; /* nothing there to read or delete: write it */
    return true;
}

/* ---- building a request ----------------------------------------------------------- */

static int build(conn_t *c)
{
    worker_t *w = c->w;
    run_t *r = w->run;
    const hf_bench_config_t *cfg = r->c;
    char key[HF_BENCH_KEY_MAX], path[3 * HF_BENCH_KEY_MAX + HF_BUCKET_NAME_MAX + 8];
    char query[3 * 2 * HF_BENCH_KEY_MAX + 64];
    const char *method;
    size_t pn = (size_t)snprintf(path, sizeof path, "/%s", cfg->bucket);
    query[0] = '\0';
    c->body = NULL;
    c->body_len = 0;
    if (c->op == REQ_BUCKET_HEAD) {
        method = "HEAD";
    } else if (c->op == REQ_BUCKET_CREATE) {
        method = "PUT";
        /* Outside us-east-1, S3 wants the region in the body. */
        if (strcmp(cfg->region, "us-east-1") != 0) {
            int bn = snprintf(r->create_body, sizeof r->create_body,
                              "<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/"
                              "2006-03-01/\"><LocationConstraint>%s</LocationConstraint>"
                              "</CreateBucketConfiguration>",
                              cfg->region);
            c->body = r->create_body;
            c->body_len = (size_t)bn;
        }
    } else if (c->op == HF_BENCH_LIST) {
        method = "GET";
        char pe[3 * HF_BENCH_PREFIX_MAX + 1], ke[3 * HF_BENCH_KEY_MAX + 1];
        hf_uri_encode(pe, sizeof pe, cfg->prefix, strlen(cfg->prefix), false);
        /* Start far enough from the end that a data set of more than a
         * page gives full pages. */
        uint64_t start = cfg->objects > HF_LIST_PAGE_MAX ? c->obj % (cfg->objects - HF_LIST_PAGE_MAX)
                                                         : 0;
        int qn;
        if (start > 0) {
            hf_bench_key(cfg, start - 1, key);
            hf_uri_encode(ke, sizeof ke, key, strlen(key), false);
            qn = snprintf(query, sizeof query, "list-type=2&max-keys=%d&prefix=%s&start-after=%s",
                          HF_LIST_PAGE_MAX, pe, ke);
        } else {
            qn = snprintf(query, sizeof query, "list-type=2&max-keys=%d&prefix=%s",
                          HF_LIST_PAGE_MAX, pe);
        }
        if (qn < 0 || (size_t)qn >= sizeof query)
            return HF_E_TOOBIG;
    } else {
        static const char *const methods[] = {"PUT", "GET", "HEAD", "GET", "DELETE"};
        method = methods[c->op];
        hf_bench_key(cfg, c->obj, key);
        path[pn++] = '/';
        long e = hf_uri_encode(path + pn, sizeof path - pn, key, strlen(key), true);
        if (e < 0)
            return HF_E_TOOBIG;
        if (c->op == HF_BENCH_PUT) {
            c->body = r->data + (c->obj % DATA_SPREAD);
            c->body_len = cfg->size;
        }
    }
    int64_t secs = time(NULL);
    if (secs != w->date_s) {
        w->date_s = secs;
        hf_time_amz(w->amz_date, secs * 1000000000LL);
    }
    const char *hp = cfg->endpoint.hostport;
    hf_http_header_t hs[3] = {
        {HF_STR("host"), {hp, strlen(hp)}},
        {HF_STR("x-amz-content-sha256"), HF_STR("UNSIGNED-PAYLOAD")},
        {HF_STR("x-amz-date"), {w->amz_date, 16}},
    };
    hf_sigv4_input_t in = {{method, strlen(method)}, {path, strlen(path)}, {query, strlen(query)},
                           hs, 3};
    char auth[512];
    int rc = hf_sigv4_sign_header(&in, cfg->access_key, cfg->secret_key, cfg->region, "s3",
                                  w->amz_date, "host;x-amz-content-sha256;x-amz-date",
                                  "UNSIGNED-PAYLOAD", auth, sizeof auth);
    if (rc)
        return rc;
    char cl[48] = "";
    if (!strcmp(method, "PUT"))
        snprintf(cl, sizeof cl, "Content-Length: %zu\r\n", c->body_len);
    int n = snprintf(c->head, sizeof c->head,
                     "%s %s%s%s HTTP/1.1\r\nHost: %s\r\nx-amz-content-sha256: UNSIGNED-PAYLOAD\r\n"
                     "x-amz-date: %s\r\nAuthorization: %s\r\n%s\r\n",
                     method, path, query[0] ? "?" : "", query, hp, w->amz_date, auth, cl);
    if (n < 0 || (size_t)n >= sizeof c->head)
        return HF_E_TOOBIG;
    c->head_len = (size_t)n;
    c->head_off = 0;
    c->body_off = 0;
    return HF_OK;
}

/* ---- connections -------------------------------------------------------------------- */

static void conn_close(conn_t *c)
{
    if (c->fd >= 0) {
        hf_vfs.close(c->fd); /* also leaves the epoll set */
        c->fd = -1;
    }
    free(c->partial);
    c->partial = NULL;
    c->partial_len = 0;
    c->state = C_IDLE;
}

static void next_request(conn_t *c);

static bool is_bucket_op(int op)
{
    return op == REQ_BUCKET_HEAD || op == REQ_BUCKET_CREATE;
}

static void defer(conn_t *c)
{
    if (!c->deferred) {
        c->deferred = true;
        c->w->deferred[c->w->ndeferred++] = c;
    }
}

/* One more request completed, for the progress bar (only this thread writes it). */
static void count_progress(worker_t *w)
{
    atomic_store_explicit(&w->progress,
                          atomic_load_explicit(&w->progress, memory_order_relaxed) + 1,
                          memory_order_relaxed);
}

/* Record the request as done (code NULL: it succeeded) and go on. */
static void finish(conn_t *c, const char *code, bool close_conn)
{
    worker_t *w = c->w;
    run_t *r = w->run;
    int64_t t = now_ns();
    w->last_ns = t;
    uint64_t us = (uint64_t)(t - c->t0_ns) / 1000;
    if (is_bucket_op(c->op)) {
        r->bucket_status = c->resp.status;
        snprintf(r->bucket_code, sizeof r->bucket_code, "%s", code ? code : "");
    } else if (code && r->phase == PH_MEASURE && r->c->expect_slowdown &&
               c->resp.status == 503 && strcmp(code, "SlowDown") == 0) {
        /* Shed load in an overload test. The answer was complete, so it
         * ends like a success: the connection stays unless the server
         * closes it, and the next request goes out at once. */
        w->ph.shed.ops++;
        hf_bench_hist_add(&w->ph.shed.lat, us);
        code = NULL;
        count_progress(w);
    } else {
        hf_bench_opstats_t *st = &w->ph.op[c->op];
        st->ops++;
        hf_bench_hist_add(&st->lat, us);
        if (code) {
            st->errors++;
            hf_bench_errs_add(&w->ph.errs, code, 1);
            char what[96];
            snprintf(what, sizeof what, "%s %s", hf_bench_op_name(c->op), code);
            note_error(r, "%s", what);
        } else {
            st->bytes += c->op == HF_BENCH_PUT ? c->body_len : c->body_got;
            if (r->exists && (c->op == HF_BENCH_PUT || c->op == HF_BENCH_DELETE))
                r->exists[c->obj] = c->op == HF_BENCH_PUT;
        }
        count_progress(w);
    }
    if (close_conn || code || c->resp.close)
        conn_close(c);
    /* After a failure the next request starts from the worker loop: a
     * refused connect fails at once, and starting over from here would
     * recurse without bound. */
    if (code)
        defer(c);
    else
        next_request(c);
}

/* The request failed before a response was complete. */
static void fail_io(conn_t *c, const char *code)
{
    c->resp.status = 0;
    finish(c, code, true);
}

static void send_some(conn_t *c)
{
    while (c->head_off < c->head_len || c->body_off < c->body_len) {
        struct iovec iov[2];
        int cnt = 0;
        if (c->head_off < c->head_len)
            iov[cnt++] = (struct iovec){c->head + c->head_off, c->head_len - c->head_off};
        if (c->body_off < c->body_len)
            iov[cnt++] = (struct iovec){(char *)c->body + c->body_off, c->body_len - c->body_off};
        ssize_t n = hf_vfs.writev(c->fd, iov, cnt);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN)
                return; /* the edge of EPOLLOUT brings us back */
            fail_io(c, "ConnectionError");
            return;
        }
        c->deadline_ms = now_ns() / 1000000 + c->w->run->timeout_ms; /* progress */
        size_t k = (size_t)n, h = c->head_len - c->head_off;
        if (k <= h) {
            c->head_off += k;
        } else {
            c->head_off = c->head_len;
            c->body_off += k - h;
        }
    }
    c->state = C_HEAD;
}

static void open_conn(conn_t *c)
{
    run_t *r = c->w->run;
    int fd = socket(r->family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        note_error(r, "cannot open a socket: %s", strerror(errno));
        fail_io(c, "ConnectionError");
        return;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    c->w->ph.connects++;
    c->fd = fd;
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, .data.ptr = c};
    if (epoll_ctl(c->w->ep, EPOLL_CTL_ADD, fd, &ev) != 0) {
        note_error(r, "epoll: %s", strerror(errno));
        fail_io(c, "ConnectionError");
        return;
    }
    if (connect(fd, (struct sockaddr *)&r->addr, r->addrlen) == 0) {
        c->state = C_SENDING;
        send_some(c);
    } else if (errno == EINPROGRESS) {
        c->state = C_CONNECTING;
    } else {
        note_error(r, "cannot connect to the endpoint: %s", strerror(errno));
        fail_io(c, "ConnectionError");
    }
}

static void on_connect(conn_t *c)
{
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
        err = errno;
    if (err) {
        note_error(c->w->run, "cannot connect to the endpoint: %s", strerror(err));
        fail_io(c, "ConnectionError");
        return;
    }
    c->state = C_SENDING;
    send_some(c);
}

static void next_request(conn_t *c)
{
    for (;;) {
        if (!choose(c)) {
            conn_close(c);
            c->state = C_DONE;
            c->w->active--;
            return;
        }
        if (build(c) != HF_OK) {
            note_error(c->w->run, "%s", "a request did not fit its buffer (is --prefix too long?)");
            atomic_store(&c->w->run->abort, true);
            continue; /* choose() now says no */
        }
        break;
    }
    c->resp = (hf_bench_resp_t){0};
    c->no_body = c->until_close = false;
    c->body_left = c->body_got = 0;
    c->errlen = 0;
    c->keystate = 0;
    c->t0_ns = now_ns();
    c->deadline_ms = c->t0_ns / 1000000 + c->w->run->timeout_ms;
    if (c->fd < 0) {
        open_conn(c);
        return;
    }
    c->state = C_SENDING;
    send_some(c);
}

/* ---- responses ---------------------------------------------------------------------- */

/* Check a complete response against what the request expects. NULL if it
 * is a success, else the error code to count. */
static const char *judge(conn_t *c, char *code, size_t cap)
{
    const hf_bench_config_t *cfg = c->w->run->c;
    int st = c->resp.status;
    if (c->op == REQ_BUCKET_HEAD) {
        if (st == 200 || st == 404)
            return NULL; /* 404: create it next */
        snprintf(code, cap, "HTTP%d", st);
        return code;
    }
    if (c->op == REQ_BUCKET_CREATE) {
        if (st == 200)
            return NULL;
        if (hf_bench_s3_code(c->err, c->errlen, code, cap))
            return strcmp(code, "BucketAlreadyOwnedByYou") == 0 ? NULL : code;
        snprintf(code, cap, "HTTP%d", st);
        return code;
    }
    /* S3 answers 200 (204 for DELETE); a WebDAV server compared against
     * answers a PUT with 201 or 204. Reads must be a plain 200. */
    bool ok;
    switch (c->op) {
    case HF_BENCH_PUT:
    case HF_BENCH_DELETE: ok = st >= 200 && st < 300; break;
    default: ok = st == 200; break;
    }
    if (!ok) {
        if (!hf_bench_s3_code(c->err, c->errlen, code, cap))
            snprintf(code, cap, "HTTP%d", st);
        return code;
    }
    if (c->op == HF_BENCH_GET && c->body_got != cfg->size)
        return "BadLength";
    if (c->op == HF_BENCH_HEAD && (uint64_t)c->resp.content_length != cfg->size)
        return "BadLength";
    return NULL;
}

static void complete(conn_t *c, bool extra_bytes)
{
    char code[48];
    const char *e = judge(c, code, sizeof code);
    finish(c, e, extra_bytes);
}

/* Body bytes after framing is removed. */
static void body_bytes(conn_t *c, const char *p, size_t n)
{
    c->body_got += n;
    if (c->resp.status >= 300) {
        size_t k = sizeof c->err - c->errlen;
        if (k > n)
            k = n;
        memcpy(c->err + c->errlen, p, k);
        c->errlen += k;
    } else if (c->op == HF_BENCH_LIST) {
        c->w->ph.list_keys += hf_bench_count_keys(&c->keystate, p, n);
    }
}

/* Feed n bytes of the body as received. Returns true when the response
 * is complete (and has been finished), false if more is needed (or the
 * request failed and was finished). */
static bool on_body(conn_t *c, const char *p, size_t n)
{
    if (c->resp.chunked) {
        while (n > 0) {
            size_t used = 0, made = 0;
            if (hf_http_chunked_decode(&c->ch, p, n, &used, c->w->dec, SCRATCH, &made) != HF_OK) {
                fail_io(c, "BadResponse");
                return false;
            }
            body_bytes(c, c->w->dec, made);
            p += used;
            n -= used;
            if (hf_http_chunked_done(&c->ch)) {
                complete(c, n > 0);
                return true;
            }
        }
        return false;
    }
    if (c->until_close) {
        body_bytes(c, p, n);
        return false;
    }
    size_t k = n < c->body_left ? n : (size_t)c->body_left;
    body_bytes(c, p, k);
    c->body_left -= k;
    if (c->body_left == 0) {
        complete(c, n > k);
        return true;
    }
    return false;
}

/* Bytes that arrived for c. */
static bool on_data(conn_t *c, const char *p, size_t n)
{
    if (c->state == C_BODY)
        return on_body(c, p, n);
    const char *h = p;
    size_t hn = n, before = c->partial_len; /* head bytes from earlier reads */
    if (c->partial) {
        size_t k = HF_BENCH_RESP_HEAD_MAX - c->partial_len;
        if (k > n)
            k = n;
        memcpy(c->partial + c->partial_len, p, k);
        c->partial_len += k;
        h = c->partial;
        hn = c->partial_len;
    }
    int hl = hf_bench_parse_resp(h, hn, &c->resp);
    if (hl == 0) {
        if (!c->partial) {
            c->partial = malloc(HF_BENCH_RESP_HEAD_MAX);
            if (!c->partial) {
                fail_io(c, "OutOfMemory");
                return false;
            }
            memcpy(c->partial, p, n);
            c->partial_len = n;
        }
        return false;
    }
    if (hl < 0) {
        fail_io(c, "BadResponse");
        return false;
    }
    /* Body bytes that came with the head: in p, after the head's end. */
    size_t rest_off = (size_t)hl - before;
    const char *rest = p + rest_off;
    size_t rest_n = n - rest_off;
    free(c->partial);
    c->partial = NULL;
    c->partial_len = 0;
    int st = c->resp.status;
    if (st >= 100 && st < 200) {
        /* An interim response (we send no Expect, but a server may). */
        c->resp = (hf_bench_resp_t){0};
        return rest_n ? on_data(c, rest, rest_n) : false;
    }
    c->state = C_BODY;
    if (c->op == HF_BENCH_HEAD || c->op == REQ_BUCKET_HEAD || st == 204 || st == 304) {
        complete(c, rest_n > 0);
        return true;
    }
    if (c->resp.chunked) {
        hf_http_chunked_init(&c->ch);
    } else if (c->resp.content_length >= 0) {
        c->body_left = (uint64_t)c->resp.content_length;
        if (c->body_left == 0) {
            complete(c, rest_n > 0);
            return true;
        }
    } else {
        c->until_close = true;
        c->resp.close = true;
    }
    return rest_n ? on_body(c, rest, rest_n) : false;
}

static void on_readable(conn_t *c)
{
    worker_t *w = c->w;
    for (;;) {
        ssize_t n = hf_vfs.read(c->fd, w->scratch, SCRATCH);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno != EAGAIN)
                fail_io(c, "ConnectionError");
            return;
        }
        if (n == 0) {
            if (c->state == C_BODY && c->until_close)
                complete(c, false);
            else
                fail_io(c, "ConnectionClosed");
            return;
        }
        c->deadline_ms = now_ns() / 1000000 + c->w->run->timeout_ms; /* progress */
        int fd = c->fd;
        if (on_data(c, w->scratch, (size_t)n))
            return; /* complete: the next request is on its way */
        if (c->fd != fd || (c->state != C_HEAD && c->state != C_BODY))
            return; /* failed and moved on */
    }
}

static void on_event(conn_t *c, uint32_t ev)
{
    if (c->state == C_CONNECTING) {
        if (!(ev & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
            return;
        on_connect(c);
        return;
    }
    if (c->state == C_SENDING) {
        if (ev & (EPOLLERR | EPOLLHUP)) {
            fail_io(c, "ConnectionError");
            return;
        }
        if (ev & EPOLLOUT)
            send_some(c);
        if (c->state != C_HEAD)
            return;
    }
    if ((c->state == C_HEAD || c->state == C_BODY) &&
        (ev & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)))
        on_readable(c);
}

static void check_timeouts(worker_t *w)
{
    int64_t now = now_ns() / 1000000;
    for (int i = 0; i < w->nconns; i++) {
        conn_t *c = &w->conns[i];
        if (c->state != C_DONE && c->state != C_IDLE && now > c->deadline_ms)
            fail_io(c, "Timeout");
    }
}

static void *worker_main(void *arg)
{
    worker_t *w = arg;
    w->active = w->nconns;
    for (int i = 0; i < w->nconns; i++)
        next_request(&w->conns[i]);
    struct epoll_event evs[256];
    int64_t last_check = now_ns();
    while (w->active > 0) {
        int n = epoll_wait(w->ep, evs, 256, w->ndeferred ? 0 : 100);
        for (int i = 0; i < n; i++)
            on_event(evs[i].data.ptr, evs[i].events);
        /* Start the deferred ones; one that fails again while starting is
         * appended behind them (the list has room for each twice) and
         * waits for the next round. */
        int nd = w->ndeferred;
        for (int i = 0; i < nd; i++) {
            conn_t *c = w->deferred[i];
            c->deferred = false;
            next_request(c);
        }
        memmove(w->deferred, w->deferred + nd, (size_t)(w->ndeferred - nd) * sizeof *w->deferred);
        w->ndeferred -= nd;
        int64_t t = now_ns();
        if (t - last_check > 100000000) {
            last_check = t;
            check_timeouts(w);
        }
    }
    atomic_store(&w->done, true);
    return NULL;
}

/* ---- phases --------------------------------------------------------------------------- */

static double cpu_seconds(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec / 1e6;
}

static const char *phase_label(enum phase_kind k)
{
    switch (k) {
    case PH_BUCKET: return "bucket";
    case PH_PREPARE: return "prepare";
    case PH_MEASURE: return "measure";
    default: return "cleanup";
    }
}

static void draw_progress(run_t *r, uint64_t done, bool final)
{
    const hf_bench_config_t *c = r->c;
    FILE *f = c->progress_out;
    double frac, el = (double)(now_ns() - r->start_ns) / 1e9;
    char right[96];
    if (r->phase == PH_MEASURE && c->op != HF_BENCH_DELETE) {
        frac = el * 1000 / (double)c->duration_ms;
        snprintf(right, sizeof right, "%5.1fs/%llds %8.0f ops/s", el,
                 (long long)(c->duration_ms / 1000), el > 0 ? (double)done / el : 0.0);
    } else {
        uint64_t total = r->phase == PH_MEASURE ? c->objects : r->hi - r->lo;
        frac = total ? (double)done / (double)total : 1;
        snprintf(right, sizeof right, "%llu/%llu %8.0f ops/s", (unsigned long long)done,
                 (unsigned long long)total, el > 0 ? (double)done / el : 0.0);
    }
    if (final || frac > 1)
        frac = 1;
    char bar[31];
    int fill = (int)(frac * 30);
    for (int i = 0; i < 30; i++)
        bar[i] = i < fill ? '#' : '.';
    bar[30] = '\0';
    fprintf(f, "\r%-8s [%s] %s ", phase_label(r->phase), bar, right);
    if (final)
        fputc('\n', f);
    fflush(f);
}

/* Run one phase with nconns connections over nthreads workers; the result
 * goes to out. */
static int run_phase(run_t *r, enum phase_kind kind, int nconns, int nthreads,
                     hf_bench_phase_t *out, char *msg, size_t msgcap)
{
    r->phase = kind;
    r->nconns = nconns;
    atomic_store(&r->next, 0);
    if (nthreads > nconns)
        nthreads = nconns;
    worker_t *ws = calloc((size_t)nthreads, sizeof *ws);
    conn_t *conns = calloc((size_t)nconns, sizeof *conns);
    int rc = HF_OK, started = 0;
    if (!ws || !conns) {
        snprintf(msg, msgcap, "out of memory for %d connections", nconns);
        rc = -ENOMEM;
        goto out;
    }
    uint64_t seed;
    if (hf_rand_bytes(&seed, sizeof seed) != HF_OK)
        seed = (uint64_t)now_ns();
    for (int t = 0; t < nthreads; t++) {
        worker_t *w = &ws[t];
        w->run = r;
        w->ep = -1;
        w->date_s = -1;
        w->conns = conns + (size_t)nconns * t / nthreads;
        w->nconns = (int)((size_t)nconns * (t + 1) / nthreads - (size_t)nconns * t / nthreads);
        w->scratch = malloc(SCRATCH);
        w->dec = malloc(SCRATCH);
        w->deferred = calloc(2 * (size_t)w->nconns, sizeof *w->deferred);
        w->ep = epoll_create1(EPOLL_CLOEXEC);
        if (!w->scratch || !w->dec || !w->deferred || w->ep < 0) {
            snprintf(msg, msgcap, "cannot set up a client thread: %s", strerror(errno));
            rc = -ENOMEM;
            goto out;
        }
        for (int i = 0; i < w->nconns; i++) {
            conn_t *c = &w->conns[i];
            c->w = w;
            c->fd = -1;
            c->id = (uint32_t)(c - conns);
            c->rng = (seed ^ (0x9E3779B97F4A7C15ULL * (c->id + 1))) | 1;
        }
    }
    double cpu0 = cpu_seconds();
    r->start_ns = now_ns();
    r->deadline_ns = r->start_ns + r->c->duration_ms * 1000000;
    for (; started < nthreads; started++) {
        int e = pthread_create(&ws[started].tid, NULL, worker_main, &ws[started]);
        if (e) {
            snprintf(msg, msgcap, "cannot start a client thread: %s", strerror(e));
            atomic_store(&r->abort, true);
            rc = -e;
            break;
        }
    }
    bool bar = r->c->progress && r->c->progress_out && kind != PH_BUCKET;
    for (;;) {
        bool all = true;
        uint64_t done = 0;
        for (int t = 0; t < started; t++) {
            all = all && atomic_load(&ws[t].done);
            done += atomic_load_explicit(&ws[t].progress, memory_order_relaxed);
        }
        if (all) {
            if (bar)
                draw_progress(r, done, true);
            break;
        }
        if (bar)
            draw_progress(r, done, false);
        poll(NULL, 0, bar ? 200 : 20);
    }
    for (int t = 0; t < started; t++)
        pthread_join(ws[t].tid, NULL);
    memset(out, 0, sizeof *out);
    out->cpu_s = cpu_seconds() - cpu0;
    int64_t last = r->start_ns;
    for (int t = 0; t < started; t++) {
        worker_t *w = &ws[t];
        for (int i = 0; i < HF_BENCH_NOPS; i++) {
            out->op[i].ops += w->ph.op[i].ops;
            out->op[i].errors += w->ph.op[i].errors;
            out->op[i].bytes += w->ph.op[i].bytes;
            hf_bench_hist_merge(&out->op[i].lat, &w->ph.op[i].lat);
        }
        out->shed.ops += w->ph.shed.ops;
        hf_bench_hist_merge(&out->shed.lat, &w->ph.shed.lat);
        hf_bench_errs_merge(&out->errs, &w->ph.errs);
        out->connects += w->ph.connects;
        out->list_keys += w->ph.list_keys;
        out->exhausted = out->exhausted || w->ph.exhausted;
        if (w->last_ns > last)
            last = w->last_ns;
    }
    out->elapsed_ns = last - r->start_ns;
out:
    if (ws) {
        for (int t = 0; t < nthreads; t++) {
            free(ws[t].scratch);
            free(ws[t].dec);
            free(ws[t].deferred);
            if (ws[t].ep >= 0)
                close(ws[t].ep);
        }
    }
    if (conns)
        for (int i = 0; i < nconns; i++)
            free(conns[i].partial);
    free(ws);
    free(conns);
    return rc;
}

static int resolve(run_t *r, char *msg, size_t msgcap)
{
    const hf_bench_endpoint_t *ep = &r->c->endpoint;
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai = NULL;
    int e = getaddrinfo(ep->host, ep->port, &hints, &ai);
    if (e != 0 || !ai) {
        snprintf(msg, msgcap, "cannot resolve %s: %s", ep->host, gai_strerror(e));
        return HF_E_INVAL;
    }
    memcpy(&r->addr, ai->ai_addr, ai->ai_addrlen);
    r->addrlen = ai->ai_addrlen;
    r->family = ai->ai_family;
    freeaddrinfo(ai);
    return HF_OK;
}

/* The keys this run created and that may still be there, for cleanup:
 * the data set if the run uploaded it (less what a delete run deleted),
 * and the keys a put run wrote. A data set that was there before the run
 * (--no-prepare) is left alone. */
static void written_range(const run_t *r, bool prepared, uint64_t *lo, uint64_t *hi)
{
    const hf_bench_config_t *c = r->c;
    uint64_t n = c->objects, next = atomic_load(&r->next);
    *lo = *hi = 0;
    if (c->op == HF_BENCH_PUT) {
        *hi = next < n ? next : n;
    } else if (prepared) {
        *hi = n;
        if (c->op == HF_BENCH_DELETE)
            *lo = next < n ? next : n;
    }
}

int hf_bench_run(const hf_bench_config_t *c, hf_bench_result_t *res, char *msg, size_t msgcap)
{
    memset(res, 0, sizeof *res);
    msg[0] = '\0';
    const char *why = hf_bench_config_check(c);
    if (why) {
        snprintf(msg, msgcap, "%s", why);
        return HF_E_INVAL;
    }
    /* A server that closes while we write must give EPIPE, not kill us. */
    signal(SIGPIPE, SIG_IGN);
    run_t *r = calloc(1, sizeof *r);
    if (!r) {
        snprintf(msg, msgcap, "out of memory");
        return -ENOMEM;
    }
    r->c = c;
    r->timeout_ms = c->timeout_ms > 0 ? c->timeout_ms : HF_BENCH_REQUEST_TIMEOUT_MS;
    pthread_mutex_init(&r->lock, NULL);
    int rc = resolve(r, msg, msgcap);
    if (rc)
        goto out;
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    int threads = c->threads > 0 ? c->threads : (int)(ncpu > 0 ? ncpu : 1);
    if (threads > c->concurrency)
        threads = c->concurrency;
    res->threads = threads;
    r->data = malloc(c->size + DATA_SPREAD);
    if (!r->data) {
        snprintf(msg, msgcap, "out of memory for a %llu-byte object",
                 (unsigned long long)c->size);
        rc = -ENOMEM;
        goto out;
    }
    rc = hf_rand_bytes(r->data, c->size + DATA_SPREAD);
    if (rc) {
        snprintf(msg, msgcap, "cannot read random bytes: %s", hf_strerror(rc));
        goto out;
    }
    if (c->op == HF_BENCH_MIXED) {
        for (int i = 0; i < HF_BENCH_NOPS; i++)
            r->mix_total += c->mix[i];
        r->exists = calloc(c->objects, 1);
        if (!r->exists) {
            snprintf(msg, msgcap, "out of memory for %llu objects",
                     (unsigned long long)c->objects);
            rc = -ENOMEM;
            goto out;
        }
    }

    /* 1. prepare */
    hf_bench_phase_t bucket;
    rc = run_phase(r, PH_BUCKET, 1, 1, &bucket, msg, msgcap);
    if (rc)
        goto out;
    if (r->bucket_code[0]) {
        if (r->bucket_status <= 0)
            snprintf(msg, msgcap, "%s (%s)",
                     r->first_error[0] ? r->first_error : "cannot reach the endpoint",
                     r->bucket_code);
        else if (r->bucket_status == 403)
            snprintf(msg, msgcap, "bucket %s: access denied (%s); check the keys, the region "
                     "and that the bucket is yours", c->bucket, r->bucket_code);
        else
            snprintf(msg, msgcap, "cannot use bucket %s: the server answered %d %s", c->bucket,
                     r->bucket_status, r->bucket_code);
        rc = HF_E_STATE;
        goto out;
    }
    bool reads = c->op != HF_BENCH_PUT;
    if (c->prepare && reads) {
        r->lo = 0;
        r->hi = c->objects;
        int nc = c->concurrency;
        if ((uint64_t)nc > c->objects)
            nc = (int)c->objects;
        rc = run_phase(r, PH_PREPARE, nc, threads, &res->prepare, msg, msgcap);
        if (rc)
            goto out;
        res->prepared = true;
        uint64_t bad = hf_bench_errs_total(&res->prepare.errs);
        if (bad) {
            snprintf(msg, msgcap, "%llu of %llu uploads of the data set failed (first: %s)",
                     (unsigned long long)bad, (unsigned long long)c->objects, r->first_error);
            rc = HF_E_STATE;
            goto out;
        }
    }
    if (r->exists)
        memset(r->exists, 1, c->objects); /* prepared, or said to be there */
    r->first_error[0] = '\0';

    /* 2. measure */
    rc = run_phase(r, PH_MEASURE, c->concurrency, threads, &res->measure, msg, msgcap);
    if (rc)
        goto out;

    /* 3. cleanup */
    if (c->cleanup) {
        written_range(r, res->prepared, &r->lo, &r->hi);
        if (r->hi > r->lo) {
            int nc = c->concurrency;
            if ((uint64_t)nc > r->hi - r->lo)
                nc = (int)(r->hi - r->lo);
            r->first_error[0] = '\0';
            rc = run_phase(r, PH_CLEANUP, nc, threads, &res->cleanup, msg, msgcap);
            if (rc)
                goto out;
        }
        res->cleaned = true;
    }
out:
    pthread_mutex_destroy(&r->lock);
    free(r->exists);
    free(r->data);
    free(r);
    return rc;
}
