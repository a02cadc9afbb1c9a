/*
 * server.c -- connections on event loops, requests on fibers, request
 * bodies and responses.
 *
 * See server.h for the model. The moving parts:
 *
 *   loops        a fixed group of event-loop threads (net/loop.h). The
 *                listening socket is on every loop; the loop that accepts a
 *                connection owns it for its whole life, so nothing about a
 *                connection is shared between threads.
 *   slot table   conn_t[max_conns], allocated once; a free list under a
 *                mutex hands slots to accepting loops. Each connection's
 *                socket is registered once, edge-triggered for reading and
 *                writing.
 *   connection   IDLE: no fiber, no buffer -- bytes of a partial head are
 *   states       kept in a malloc'd copy. When it becomes readable it goes
 *                ACTIVE and a fiber (base/fiber.h) serves it: reads the head
 *                without waiting (a partial head goes back to IDLE: a slow
 *                head costs a slot, never a fiber), then runs the handler,
 *                which reads the body and writes the response as plain
 *                sequential code. Where a read or write would block, the
 *                fiber parks on the socket (hf_loop_fd_wait) and the loop
 *                serves other connections; storage calls park the same way
 *                (meta/writer.c, base/iopool.h).
 *   task         the buffers a request needs (head and input buffer,
 *                arena, response head), taken from a per-loop pool when a
 *                fiber starts and returned when the connection goes idle.
 *   I/O budget   while a handler reads a body or writes a response, the
 *                time spent waiting for the client is drawn from a budget
 *                of one I/O timeout that every byte moved refills by
 *                1/min_rate s (a leaky bucket). A client that trickles a
 *                byte now and then runs it dry and is cut; a slow but real
 *                one never does, and time the server itself spends (disk,
 *                metadata) is not charged to the client.
 *   sweeper      once a second each loop closes its idle connections whose
 *                idle or head deadline passed.
 *   TLS          on an HTTPS listener (cfg.tls) a connection starts in
 *                phase NEW: the fiber reads one byte. A TLS handshake
 *                record starts the handshake (phase HANDSHAKE), advanced
 *                without blocking each time the socket is ready, until the
 *                head timeout counted from accept. Anything else is plain
 *                HTTP sent to the HTTPS port (phase PLAIN): its head is read
 *                as usual and answered 400 in clear text, like nginx. Once
 *                OPEN, every socket read and write goes through net/tls.h
 *                instead of hf_vfs directly (conn_read, conn_writev); both
 *                end at the same seam. OpenSSL may hold decrypted bytes the
 *                socket will never signal, so a TLS connection goes idle
 *                only after a read said EAGAIN or nothing is pending.
 *
 * Rejected: a thread per connection (the Kinesis 2020 failure); a shared
 * pool of worker threads running handlers to completion with blocking I/O
 * (what holdfast did before: a waiting request held a thread, so 40 slow
 * uploads stopped the node, and admission had to be sized by threads);
 * callback-driven handlers (streaming S3 bodies through SigV4 chunk
 * verification, hashing and chunk files is far clearer as sequential
 * code).
 */
#include "net/server.h"

#include "net/loop.h"
#include "net/tls.h"

#include "base/err.h"
#include "base/fiber.h"
#include "base/limits.h"
#include "base/log.h"
#include "base/rand.h"
#include "base/time.h"
#include "base/vfs.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

enum { CS_FREE = 0, CS_IDLE = 1, CS_ACTIVE = 2 };

/* Where a connection on an HTTPS listener is (see "TLS" above). Plain
 * listeners leave every connection in PH_OPEN. */
enum { PH_OPEN = 0, PH_NEW = 1, PH_HANDSHAKE = 2, PH_PLAIN = 3 };

#define RESP_HEADERS_MAX 64
/* Unread body bytes we are willing to read and discard to keep a
 * connection alive after a handler answered early. */
#define DRAIN_MAX (256 * 1024)
#define WBUF_SIZE (HF_HTTP_HEAD_MAX + HF_IO_BUF)

typedef struct conn {
    hf_loop_fd_t w;       /* the socket: w.fd */
    /* The owning loop, for the connection's whole life; NULL while free.
     * Atomic because every loop's sweeper looks at every slot to find its
     * own; everything else in the slot is touched by the owner only. */
    hf_loop_t *_Atomic loop;
    uint8_t state;        /* CS_* */
    uint8_t phase;        /* PH_*, for HTTPS listeners */
    int64_t last_ms;      /* last went idle */
    int64_t head_start_ms;/* first byte of a pending head (or accept, for a handshake); 0 if none */
    char *saved;          /* bytes of a partial head while idle */
    size_t nsaved;
    char peer[64];
    char addr[48];        /* peer without the port */
    uint32_t addr_slot;   /* per-address table entry */
    uint32_t next_free;
    short idle_want;      /* POLLIN, or POLLOUT for a handshake that must write */
    hf_tls_conn_t *tls;   /* NULL: plain text */
} conn_t;

typedef struct task task_t;

/* Per-request server state, one per task, reused. */
typedef struct reqstate {
    hf_server_t *srv;
    task_t *t;
    conn_t *c;
    size_t head_len;   /* bytes of buf used by the head */
    size_t pos, len;   /* unread input is buf[pos..len) */
    int64_t body_left; /* Content-Length bytes not yet read */
    bool chunked;
    hf_http_chunked_t ch;
    bool body_done;
    bool want_continue;
    bool broken;       /* socket error or bad framing: close after */
    bool close_after;
    int status;
    bool head_pending; /* head built, not yet written */
    bool head_sent;
    uint64_t resp_len;
    uint64_t resp_written;
    hf_buf_t head;
    int nhdrs;
    const char *hname[RESP_HEADERS_MAX];
    const char *hvalue[RESP_HEADERS_MAX];
    uint64_t bytes_in, bytes_out;
    int64_t deadline_ms; /* monotonic: the whole request must be done by then */
    int64_t io_budget_us; /* waiting time left (see "I/O budget" above) */
} reqstate_t;

struct task {
    char *buf;
    hf_req_t req;
    reqstate_t rs;
    task_t *next;
};

/* A loop's share of the server. */
typedef struct srvloop {
    task_t *pool;
    size_t npool;
} srvloop_t;

/* Open connections per client address (max_conns_per_addr). */
typedef struct addrent {
    char addr[48];
    uint32_t conns;
} addrent_t;

struct hf_server {
    hf_server_config_t cfg;
    int lfd;
    int port;
    hf_loops_t *loops;
    srvloop_t *sl;
    conn_t *slots;
    uint32_t nslots;
    pthread_mutex_t free_lock; /* free list, high water, address table */
    uint32_t free_head; /* UINT32_MAX when empty */
    uint32_t high_water;
    addrent_t *addrs;   /* open-addressed, naddrs entries */
    uint32_t naddrs;
    _Atomic int stopping;
    uint64_t id_prefix;
    _Atomic uint64_t id_counter;
    struct {
        _Atomic uint64_t conns_open, conns_total, conns_refused, conns_refused_addr, requests,
            inflight, bad_requests, timeouts, bytes_in, bytes_out, deadlines, tls_handshakes,
            tls_failures, tls_plain, fibers;
    } st;
};

/* ---- small helpers ------------------------------------------------------- */

static int set_nonblock(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
        return -errno;
    return HF_OK;
}

static int parse_listen(const char *spec, char *host, size_t hcap, char *port, size_t pcap)
{
    const char *colon;
    if (spec[0] == '[') {
        const char *end = strchr(spec, ']');
        if (!end || end[1] != ':')
            return HF_E_INVAL;
        size_t n = (size_t)(end - spec - 1);
        if (n >= hcap)
            return HF_E_INVAL;
        memcpy(host, spec + 1, n);
        host[n] = '\0';
        colon = end + 1;
    } else {
        colon = strrchr(spec, ':');
        if (!colon)
            return HF_E_INVAL;
        size_t n = (size_t)(colon - spec);
        if (n >= hcap)
            return HF_E_INVAL;
        memcpy(host, spec, n);
        host[n] = '\0';
    }
    if (strlen(colon + 1) == 0 || strlen(colon + 1) >= pcap)
        return HF_E_INVAL;
    for (const char *p = colon + 1; *p; p++)
        if (*p < '0' || *p > '9')
            return HF_E_INVAL;
    snprintf(port, pcap, "%s", colon + 1);
    return HF_OK;
}

static void peer_text(const struct sockaddr_storage *sa, char *out, size_t n, char *addr,
                      size_t an)
{
    char ip[INET6_ADDRSTRLEN] = "?";
    int port = 0;
    if (sa->ss_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)sa;
        inet_ntop(AF_INET, &a->sin_addr, ip, sizeof ip);
        port = ntohs(a->sin_port);
        snprintf(out, n, "%s:%d", ip, port);
        snprintf(addr, an, "%s", ip);
    } else if (sa->ss_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)sa;
        inet_ntop(AF_INET6, &a->sin6_addr, ip, sizeof ip);
        port = ntohs(a->sin6_port);
        snprintf(out, n, "[%s]:%d", ip, port);
        snprintf(addr, an, "%s", ip);
    } else {
        snprintf(out, n, "unknown");
        snprintf(addr, an, "unknown");
    }
}

static const char *cached_date(void)
{
    static __thread char date[32];
    static __thread int64_t sec = -1;
    int64_t now = hf_time_now();
    if (now / 1000000000 != sec) {
        sec = now / 1000000000;
        hf_time_http(date, now);
    }
    return date;
}


/* ---- slots and per-address counts ---------------------------------------- */

static uint32_t addr_hash(const char *a)
{
    uint32_t h = 2166136261u;
    for (; *a; a++)
        h = (h ^ (uint8_t)*a) * 16777619u;
    return h;
}

/* Count one more connection from c->addr; false if the address is at its
 * cap (or the table is full). Under free_lock. */
static bool addr_take(hf_server_t *s, conn_t *c)
{
    if (!s->naddrs)
        return true;
    uint32_t i = addr_hash(c->addr) & (s->naddrs - 1), tomb = UINT32_MAX;
    for (uint32_t n = 0; n < s->naddrs; n++, i = (i + 1) & (s->naddrs - 1)) {
        addrent_t *e = &s->addrs[i];
        if (e->addr[0] == '\0') {
            if (tomb == UINT32_MAX)
                tomb = i;
            if (e->conns == 0)
                break; /* never used: the address is not further on */
            continue;
        }
        if (strcmp(e->addr, c->addr) == 0) {
            if (e->conns >= (uint32_t)s->cfg.max_conns_per_addr)
                return false;
            e->conns++;
            c->addr_slot = i;
            return true;
        }
    }
    if (tomb == UINT32_MAX)
        return false;
    addrent_t *e = &s->addrs[tomb];
    snprintf(e->addr, sizeof e->addr, "%s", c->addr);
    e->conns = 1;
    c->addr_slot = tomb;
    return true;
}

/* Under free_lock. An entry whose count drops to zero becomes a tombstone
 * (empty name, count 1) so that probes for other addresses go on past it. */
static void addr_put(hf_server_t *s, conn_t *c)
{
    if (!s->naddrs || c->addr_slot == UINT32_MAX)
        return;
    addrent_t *e = &s->addrs[c->addr_slot];
    if (--e->conns == 0) {
        e->addr[0] = '\0';
        e->conns = 1;
    }
    c->addr_slot = UINT32_MAX;
}

static conn_t *slot_alloc(hf_server_t *s, uint32_t *idx)
{
    pthread_mutex_lock(&s->free_lock);
    uint32_t i = s->free_head;
    if (i == UINT32_MAX) {
        if (s->high_water < s->nslots)
            i = s->high_water++;
    } else {
        s->free_head = s->slots[i].next_free;
    }
    pthread_mutex_unlock(&s->free_lock);
    if (i == UINT32_MAX)
        return NULL;
    *idx = i;
    return &s->slots[i];
}

static uint32_t high_water(hf_server_t *s)
{
    pthread_mutex_lock(&s->free_lock);
    uint32_t hw = s->high_water;
    pthread_mutex_unlock(&s->free_lock);
    return hw;
}

/* Close a connection (on its loop's thread). */
static void conn_close(hf_server_t *s, conn_t *c)
{
    hf_loop_fd_del(&c->w);
    hf_tls_conn_destroy(c->tls); /* close_notify first, while the fd is open */
    c->tls = NULL;
    c->phase = PH_OPEN;
    hf_vfs.close(c->w.fd);
    c->w.fd = -1;
    free(c->saved);
    c->saved = NULL;
    c->nsaved = 0;
    c->head_start_ms = 0;
    c->state = CS_FREE;
    atomic_store_explicit(&c->loop, NULL, memory_order_relaxed);
    uint32_t i = (uint32_t)(c - s->slots);
    pthread_mutex_lock(&s->free_lock);
    addr_put(s, c);
    c->next_free = s->free_head;
    s->free_head = i;
    pthread_mutex_unlock(&s->free_lock);
    atomic_fetch_sub(&s->st.conns_open, 1);
}

/* The connection waits for its next head (loop thread). */
static void conn_idle(conn_t *c)
{
    c->state = CS_IDLE;
    c->idle_want = POLLIN;
    c->last_ms = hf_mono_ms();
}

/* ---- socket I/O with deadlines -------------------------------------------- */

/* One read from the connection, plain or TLS: as read(2), and on EAGAIN
 * *want says what to wait for. */
static ssize_t conn_read(conn_t *c, void *buf, size_t n, short *want)
{
    if (c->tls)
        return hf_tls_read(c->tls, buf, n, want);
    *want = POLLIN;
    return hf_vfs.read(c->w.fd, buf, n);
}

static ssize_t conn_writev(conn_t *c, const struct iovec *iov, int cnt, short *want)
{
    if (c->tls)
        return hf_tls_writev(c->tls, iov, cnt, want);
    *want = POLLOUT;
    return hf_vfs.writev(c->w.fd, iov, cnt);
}

/* A fresh I/O budget: one timeout's worth of waiting. */
static void io_budget_reset(reqstate_t *rs)
{
    rs->io_budget_us = (int64_t)rs->srv->cfg.io_timeout_ms * 1000;
}

/* Wait for the client on behalf of a request: within its I/O budget
 * (refilled by every byte moved, see "I/O budget" above), never longer
 * than one I/O timeout at a time, and never past the request's total
 * deadline. The fiber parks; the loop goes on. */
static int io_wait(reqstate_t *rs, short events)
{
    hf_server_t *s = rs->srv;
    int64_t t = rs->io_budget_us / 1000;
    if (t > s->cfg.io_timeout_ms)
        t = s->cfg.io_timeout_ms;
    int64_t now = hf_mono_ms();
    int64_t left = rs->deadline_ms - now;
    bool total = left < t;
    if (total)
        t = left;
    int rc = HF_E_TIMEOUT;
    if (t > 0) {
        rc = hf_loop_fd_wait(&rs->c->w, events == POLLOUT ? EPOLLOUT : EPOLLIN, now + t);
        rs->io_budget_us -= (hf_mono_ms() - now) * 1000;
    }
    if (rc == HF_E_TIMEOUT)
        atomic_fetch_add(total ? &s->st.deadlines : &s->st.timeouts, 1);
    return rc;
}

/* k bytes moved: refill the budget, up to one timeout. */
static void io_credit(reqstate_t *rs, size_t k)
{
    int64_t cap = (int64_t)rs->srv->cfg.io_timeout_ms * 1000;
    int64_t add =
        (int64_t)(k > (size_t)INT32_MAX ? INT32_MAX : k) * 1000000 / rs->srv->cfg.min_rate;
    rs->io_budget_us = rs->io_budget_us + add > cap ? cap : rs->io_budget_us + add;
}

/* Read at least one byte (parking within the I/O budget). */
static ssize_t sock_read(reqstate_t *rs, void *buf, size_t n)
{
    hf_server_t *s = rs->srv;
    for (;;) {
        short want = POLLIN;
        ssize_t k = conn_read(rs->c, buf, n, &want);
        if (k > 0) {
            atomic_fetch_add(&s->st.bytes_in, (uint64_t)k);
            io_credit(rs, (size_t)k);
            hf_fiber_maybe_yield();
            return k;
        }
        if (k == 0)
            return HF_E_CLOSED;
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN)
            return -errno;
        int rc = io_wait(rs, want);
        if (rc)
            return rc;
    }
}

/* Write every byte of the iovecs (parking within the I/O budget). */
static int sock_writev(reqstate_t *rs, struct iovec *iov, int cnt)
{
    hf_server_t *s = rs->srv;
    while (cnt > 0) {
        short want = POLLOUT;
        ssize_t k = conn_writev(rs->c, iov, cnt, &want);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            if (errno != EAGAIN)
                return -errno;
            int rc = io_wait(rs, want);
            if (rc)
                return rc;
            continue;
        }
        io_credit(rs, (size_t)k);
        rs->bytes_out += (uint64_t)k;
        atomic_fetch_add(&s->st.bytes_out, (uint64_t)k);
        size_t left = (size_t)k;
        while (cnt > 0 && left >= iov->iov_len) {
            left -= iov->iov_len;
            iov++;
            cnt--;
        }
        if (cnt > 0) {
            iov->iov_base = (char *)iov->iov_base + left;
            iov->iov_len -= left;
        }
    }
    hf_fiber_maybe_yield();
    return HF_OK;
}

static int sock_write(reqstate_t *rs, const void *p, size_t n)
{
    struct iovec iov = {.iov_base = (void *)p, .iov_len = n};
    return sock_writev(rs, &iov, 1);
}

/* ---- request body ---------------------------------------------------------- */

static reqstate_t *RS(hf_req_t *r)
{
    return (reqstate_t *)r->server_private;
}

static const reqstate_t *RSC(const hf_req_t *r)
{
    return (const reqstate_t *)r->server_private;
}

static int send_continue(reqstate_t *rs)
{
    static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
    rs->want_continue = false;
    int rc = sock_write(rs, cont, sizeof cont - 1);
    if (rc)
        rs->broken = true;
    return rc;
}

/* Fill the raw input area after the head with at least one new byte. */
static int fill_raw(reqstate_t *rs)
{
    if (rs->pos == rs->len)
        rs->pos = rs->len = rs->head_len;
    if (rs->len == WBUF_SIZE) {
        /* Compact: move unread bytes down to just after the head. */
        memmove(rs->t->buf + rs->head_len, rs->t->buf + rs->pos, rs->len - rs->pos);
        rs->len -= rs->pos - rs->head_len;
        rs->pos = rs->head_len;
    }
    ssize_t k = sock_read(rs, rs->t->buf + rs->len, WBUF_SIZE - rs->len);
    if (k < 0)
        return (int)k;
    rs->len += (size_t)k;
    return HF_OK;
}

ssize_t hf_req_read(hf_req_t *r, void *buf, size_t n)
{
    reqstate_t *rs = RS(r);
    if (rs->body_done || n == 0)
        return 0;
    if (rs->broken)
        return HF_E_CLOSED;
    if (rs->want_continue) {
        int rc = send_continue(rs);
        if (rc)
            return rc;
    }
    if (!rs->chunked) {
        size_t want = (uint64_t)rs->body_left < n ? (size_t)rs->body_left : n;
        ssize_t k;
        if (rs->pos < rs->len) {
            k = (ssize_t)(rs->len - rs->pos < want ? rs->len - rs->pos : want);
            memcpy(buf, rs->t->buf + rs->pos, (size_t)k);
            rs->pos += (size_t)k;
        } else {
            /* Large reads go straight from the socket to the caller. */
            k = sock_read(rs, buf, want);
            if (k < 0) {
                rs->broken = true;
                return k;
            }
        }
        rs->body_left -= k;
        rs->bytes_in += (uint64_t)k;
        if (rs->body_left == 0)
            rs->body_done = true;
        return k;
    }
    for (;;) {
        if (rs->pos < rs->len) {
            size_t used = 0, made = 0;
            int rc = hf_http_chunked_decode(&rs->ch, rs->t->buf + rs->pos, rs->len - rs->pos, &used,
                                            buf, n, &made);
            if (rc) {
                rs->broken = true;
                return rc;
            }
            rs->pos += used;
            if (hf_http_chunked_done(&rs->ch))
                rs->body_done = true;
            rs->bytes_in += made;
            if (made > 0)
                return (ssize_t)made;
            if (rs->body_done)
                return 0;
        }
        int rc = fill_raw(rs);
        if (rc) {
            rs->broken = true;
            return rc;
        }
    }
}

int hf_req_read_all(hf_req_t *r, hf_buf_t *b)
{
    for (;;) {
        char *p = hf_buf_reserve(b, 4096);
        if (!p)
            return HF_E_TOOBIG;
        size_t room = b->max - b->len < 4096 ? b->max - b->len : 4096;
        if (room == 0) {
            /* At the cap: one more byte means too big. */
            char extra;
            ssize_t k = hf_req_read(r, &extra, 1);
            if (k < 0)
                return (int)k;
            return k == 0 ? HF_OK : HF_E_TOOBIG;
        }
        ssize_t k = hf_req_read(r, p, room);
        if (k < 0)
            return (int)k;
        if (k == 0)
            return HF_OK;
        hf_buf_commit(b, (size_t)k);
    }
}

int64_t hf_req_content_length(const hf_req_t *r)
{
    return r->http.chunked ? -1 : r->http.content_length;
}

bool hf_req_body_done(const hf_req_t *r)
{
    return RSC(r)->body_done;
}

uint64_t hf_req_bytes(const hf_req_t *r)
{
    return RSC(r)->bytes_in;
}

int64_t hf_req_deadline_ms(const hf_req_t *r)
{
    return RSC(r)->deadline_ms;
}

bool hf_req_client_gone(hf_req_t *r)
{
    reqstate_t *rs = RS(r);
    if (rs->broken)
        return true;
    if (hf_mono_ms() >= rs->deadline_ms)
        return true;
    /* POLLRDHUP: the peer shut its side down (or reset); a client that only
     * half-closed after sending its request would look the same, but HTTP
     * clients do not do that while they wait for an answer. */
    struct pollfd p = {.fd = rs->c->w.fd, .events = POLLRDHUP};
    int n = poll(&p, 1, 0);
    return n > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR));
}

/* ---- responses -------------------------------------------------------------- */

void hf_resp_header(hf_req_t *r, const char *name, const char *value)
{
    reqstate_t *rs = RS(r);
    if (rs->nhdrs == RESP_HEADERS_MAX || rs->head_pending || rs->head_sent)
        return;
    const char *n = hf_arena_strdup(&r->arena, name);
    const char *v = hf_arena_strdup(&r->arena, value);
    if (!n || !v)
        return;
    rs->hname[rs->nhdrs] = n;
    rs->hvalue[rs->nhdrs] = v;
    rs->nhdrs++;
}

void hf_resp_headerf(hf_req_t *r, const char *name, const char *fmt, ...)
{
    char v[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(v, sizeof v, fmt, ap);
    va_end(ap);
    hf_resp_header(r, name, v);
}

void hf_resp_close_after(hf_req_t *r)
{
    RS(r)->close_after = true;
}

bool hf_resp_started(const hf_req_t *r)
{
    const reqstate_t *rs = RSC(r);
    return rs->head_pending || rs->head_sent;
}

int hf_resp_status(const hf_req_t *r)
{
    return RSC(r)->status;
}

uint64_t hf_resp_bytes(const hf_req_t *r)
{
    return RSC(r)->resp_written;
}

/* Decide now whether the connection survives this response: the client must
 * not be left with an unread body we cannot skip. */
static bool will_keep_alive(reqstate_t *rs, hf_req_t *r)
{
    if (rs->close_after || rs->broken || !r->http.keep_alive ||
        atomic_load(&rs->srv->stopping))
        return false;
    if (!rs->body_done) {
        /* The client is waiting for 100-continue and will (or will not)
         * send the body: we cannot tell, so the connection must close. */
        if (rs->want_continue)
            return false;
        if (rs->chunked || rs->body_left > DRAIN_MAX)
            return false;
    }
    return true;
}

static int build_head(reqstate_t *rs, hf_req_t *r, int status, uint64_t len)
{
    hf_buf_t *h = &rs->head;
    hf_buf_reset(h);
    rs->status = status;
    rs->resp_len = len;
    bool keep = will_keep_alive(rs, r);
    if (!keep)
        rs->close_after = true;
    int rc = hf_buf_printf(h, "HTTP/1.1 %d %s\r\nDate: %s\r\nServer: holdfast\r\n", status,
                           hf_http_reason(status), cached_date());
    for (int i = 0; rc == HF_OK && i < rs->nhdrs; i++)
        rc = hf_buf_printf(h, "%s: %s\r\n", rs->hname[i], rs->hvalue[i]);
    if (rc == HF_OK && status != 204 && !(status >= 100 && status < 200))
        rc = hf_buf_printf(h, "Content-Length: %llu\r\n", (unsigned long long)len);
    if (rc == HF_OK) {
        if (!keep)
            rc = hf_buf_puts(h, "Connection: close\r\n");
        else if (r->http.minor == 0)
            rc = hf_buf_puts(h, "Connection: keep-alive\r\n");
    }
    if (rc == HF_OK)
        rc = hf_buf_puts(h, "\r\n");
    if (rc)
        return rc;
    rs->head_pending = true;
    return HF_OK;
}

static int flush_head(reqstate_t *rs, const void *body, size_t n)
{
    static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
    struct iovec iov[3];
    int cnt = 0;
    if (rs->want_continue && rs->body_done) {
        /* No body was ever coming; the interim response still is. */
        iov[cnt].iov_base = (void *)cont;
        iov[cnt].iov_len = sizeof cont - 1;
        cnt++;
        rs->want_continue = false;
    }
    iov[cnt].iov_base = rs->head.data;
    iov[cnt].iov_len = rs->head.len;
    cnt++;
    if (n) {
        iov[cnt].iov_base = (void *)body;
        iov[cnt].iov_len = n;
        cnt++;
    }
    rs->head_pending = false;
    rs->head_sent = true;
    int rc = sock_writev(rs, iov, cnt);
    if (rc)
        rs->broken = true;
    return rc;
}

int hf_resp_send(hf_req_t *r, int status, const void *body, size_t len)
{
    reqstate_t *rs = RS(r);
    if (rs->head_pending || rs->head_sent)
        return HF_E_STATE;
    int rc = build_head(rs, r, status, len);
    if (rc)
        return rc;
    if (r->is_head || status == 204 || status == 304)
        len = 0;
    rs->resp_written = len;
    return flush_head(rs, body, len);
}

int hf_resp_begin(hf_req_t *r, int status, uint64_t content_length)
{
    reqstate_t *rs = RS(r);
    if (rs->head_pending || rs->head_sent)
        return HF_E_STATE;
    rs->resp_written = 0;
    return build_head(rs, r, status, content_length);
}

int hf_resp_write(hf_req_t *r, const void *p, size_t n)
{
    reqstate_t *rs = RS(r);
    if (!rs->head_pending && !rs->head_sent)
        return HF_E_STATE;
    if (rs->broken)
        return HF_E_CLOSED;
    if (rs->resp_written + n > rs->resp_len)
        return HF_E_INVAL; /* more than announced: a bug in the handler */
    rs->resp_written += n;
    if (r->is_head) {
        if (rs->head_pending)
            return flush_head(rs, NULL, 0);
        return HF_OK;
    }
    if (rs->head_pending)
        return flush_head(rs, p, n);
    int rc = sock_write(rs, p, n);
    if (rc)
        rs->broken = true;
    return rc;
}

int hf_resp_end(hf_req_t *r)
{
    reqstate_t *rs = RS(r);
    if (rs->head_pending)
        return flush_head(rs, NULL, 0);
    if (!r->is_head && rs->resp_written != rs->resp_len) {
        rs->broken = true; /* short body: the client must see the connection end */
        return HF_E_STATE;
    }
    return HF_OK;
}

void hf_resp_abort(hf_req_t *r)
{
    reqstate_t *rs = RS(r);
    rs->broken = true;
    rs->close_after = true;
}

/* ---- error responses the server itself produces ------------------------- */

static void send_error(hf_server_t *s, reqstate_t *rs, int status, const char *why)
{
    hf_buf_t body;
    hf_buf_init(&body, 4096);
    const char *ctype = "text/plain";
    if (s->cfg.error_body)
        s->cfg.error_body(s->cfg.ctx, status, why, &body, &ctype);
    else
        hf_buf_printf(&body, "%d %s: %s\n", status, hf_http_reason(status), why);
    char head[512];
    int n = snprintf(head, sizeof head,
                     "HTTP/1.1 %d %s\r\nDate: %s\r\nServer: holdfast\r\nContent-Type: %s\r\n"
                     "Content-Length: %zu\r\nConnection: close\r\n\r\n",
                     status, hf_http_reason(status), cached_date(), ctype, body.len);
    struct iovec iov[2] = {{head, (size_t)n}, {body.data, body.len}};
    sock_writev(rs, iov, body.len ? 2 : 1);
    hf_buf_free(&body);
}


/* ---- serving one connection ------------------------------------------------ */

static void new_request_id(hf_server_t *s, char out[17])
{
    uint64_t v = s->id_prefix ^ atomic_fetch_add(&s->id_counter, 1);
    static const char hex[] = "0123456789ABCDEF";
    for (int i = 15; i >= 0; i--) {
        out[i] = hex[v & 15];
        v >>= 4;
    }
    out[16] = '\0';
}

/* Point the task's request state at connection c, outside any request
 * (for answers the server gives itself). */
static void rs_attach(hf_server_t *s, task_t *t, conn_t *c)
{
    reqstate_t *rs = &t->rs;
    rs->srv = s;
    rs->t = t;
    rs->c = c;
    rs->broken = false;
    io_budget_reset(rs);
    rs->deadline_ms = hf_mono_ms() + s->cfg.io_timeout_ms;
}

/* Run the handler for the complete head at buf[0..head_len). Returns true if
 * the connection may serve another request. */
static bool run_request(hf_server_t *s, task_t *t, conn_t *c, size_t head_len, size_t len)
{
    hf_req_t *r = &t->req;
    reqstate_t *rs = &t->rs;
    hf_buf_t head = rs->head; /* keep the response-head allocation */
    memset(rs, 0, sizeof *rs);
    rs->head = head;
    hf_buf_reset(&rs->head);
    rs->srv = s;
    rs->t = t;
    rs->c = c;
    io_budget_reset(rs);
    rs->head_len = head_len;
    rs->pos = head_len;
    rs->len = len;
    rs->chunked = r->http.chunked;
    rs->body_left = r->http.chunked ? 0 : (r->http.content_length > 0 ? r->http.content_length : 0);
    rs->body_done = !r->http.chunked && rs->body_left == 0;
    /* Asked for, 100 Continue is always sent: before the first body read,
     * or (no body at all) just ahead of the final response. Some clients
     * (botocore) misread the connection when an expected 100 never comes. */
    rs->want_continue = r->http.expect_continue;
    if (rs->chunked)
        hf_http_chunked_init(&rs->ch);
    r->server_private = rs;
    r->is_head = hf_str_eq(r->http.method, "HEAD");
    r->tls = c->tls != NULL;
    r->start_ms = hf_mono_ms();
    rs->deadline_ms = r->start_ms + s->cfg.request_timeout_ms;
    snprintf(r->peer, sizeof r->peer, "%s", c->peer);
    snprintf(r->addr, sizeof r->addr, "%s", c->addr);
    new_request_id(s, r->id);
    atomic_fetch_add(&s->st.requests, 1);
    atomic_fetch_add(&s->st.inflight, 1);

    s->cfg.handler(s->cfg.ctx, r);

    if (!rs->head_pending && !rs->head_sent) {
        /* A handler that aborted (hf_resp_abort: the client is gone)
         * closes without an answer; anything else is a bug. */
        if (!rs->broken) {
            hf_log_error("msg=\"handler sent no response\" request_id=%s", r->id);
            hf_resp_send(r, 500, NULL, 0);
        }
    } else if (rs->head_pending) {
        hf_resp_end(r);
    } else if (!r->is_head && rs->resp_written != rs->resp_len) {
        rs->broken = true;
    }
    bool keep = !rs->close_after && !rs->broken;
    if (keep && !rs->body_done) {
        /* Skip the unread body (bounded by DRAIN_MAX, see will_keep_alive). */
        char sink[4096];
        for (;;) {
            ssize_t k = hf_req_read(r, sink, sizeof sink);
            if (k <= 0) {
                keep = k == 0;
                break;
            }
        }
    }
    atomic_fetch_sub(&s->st.inflight, 1);
    hf_arena_reset(&r->arena);
    return keep;
}

/* Answer a head the server refuses itself. */
static void refuse_head(hf_server_t *s, task_t *t, conn_t *c, int status, const char *why)
{
    rs_attach(s, t, c);
    send_error(s, &t->rs, status, why);
}

/* A connection on an HTTPS listener before its handshake is done (phase
 * NEW or HANDSHAKE). Returns true when the caller should go on reading a
 * head: the handshake completed, or the client speaks plain HTTP and its
 * first byte is now buf[0] (*len = 1). Returns false when the connection
 * went idle (waiting for more) or was closed. */
static bool tls_step(hf_server_t *s, task_t *t, conn_t *c, size_t *len)
{
    short want = POLLIN;
    if (c->phase == PH_NEW) {
        unsigned char b;
        ssize_t k;
        do
            k = hf_vfs.read(c->w.fd, &b, 1);
        while (k < 0 && errno == EINTR);
        if (k < 0 && errno == EAGAIN && !atomic_load(&s->stopping)) {
            conn_idle(c);
            return false;
        }
        if (k <= 0) {
            conn_close(s, c);
            return false;
        }
        if (b != HF_TLS_RECORD_HANDSHAKE) {
            atomic_fetch_add(&s->st.bytes_in, 1);
            c->phase = PH_PLAIN;
            t->buf[0] = (char)b;
            *len = 1;
            return true;
        }
        if (hf_tls_conn_create(s->cfg.tls, c->w.fd, b, &c->tls) != HF_OK) {
            hf_log_warn("msg=\"cannot start TLS: out of memory\" server=%s peer=%s", s->cfg.name,
                        c->peer);
            conn_close(s, c);
            return false;
        }
        c->phase = PH_HANDSHAKE;
    }
    /* A client that trickles its handshake makes progress with every
     * piece, so the sweeper alone would never cut it. */
    if (c->head_start_ms && hf_mono_ms() - c->head_start_ms >= s->cfg.head_timeout_ms) {
        atomic_fetch_add(&s->st.timeouts, 1);
        hf_log_info("msg=\"TLS handshake timed out\" server=%s peer=%s", s->cfg.name, c->peer);
        conn_close(s, c);
        return false;
    }
    if (hf_tls_handshake(c->tls, &want) == 0) {
        c->phase = PH_OPEN;
        atomic_fetch_add(&s->st.tls_handshakes, 1);
        /* From here the connection is idle until its first head byte. */
        c->head_start_ms = 0;
        hf_log_debug("msg=\"TLS handshake\" server=%s peer=%s version=%s cipher=%s", s->cfg.name,
                     c->peer, hf_tls_conn_version(c->tls), hf_tls_conn_cipher(c->tls));
        return true;
    }
    if (errno == EAGAIN && !atomic_load(&s->stopping)) {
        conn_idle(c);
        c->idle_want = want;
        return false;
    }
    atomic_fetch_add(&s->st.tls_failures, 1);
    hf_log_info("msg=\"TLS handshake failed\" server=%s peer=%s why=\"%s\"", s->cfg.name, c->peer,
                errno == EPROTO ? hf_tls_conn_why(c->tls) : strerror(errno));
    conn_close(s, c);
    return false;
}

static void serve_conn(hf_server_t *s, task_t *t, conn_t *c)
{
    reqstate_t *rs = &t->rs;
    size_t len = 0;
    if (c->phase == PH_NEW || c->phase == PH_HANDSHAKE) {
        if (!tls_step(s, t, c, &len))
            return;
    }
    if (c->saved) {
        memcpy(t->buf, c->saved, c->nsaved);
        len = c->nsaved;
        free(c->saved);
        c->saved = NULL;
        c->nsaved = 0;
    }
    for (;;) {
        int status = 0;
        const char *why = NULL;
        int rc = len ? hf_http_parse_head(t->buf, len, &t->req.http, &status, &why) : 0;
        if (rc == 0) {
            if (len == WBUF_SIZE) { /* cannot happen: the parser reports TOOBIG first */
                conn_close(s, c);
                return;
            }
            short want = POLLIN;
            ssize_t k = conn_read(c, t->buf + len, WBUF_SIZE - len, &want);
            if (k > 0) {
                atomic_fetch_add(&s->st.bytes_in, (uint64_t)k);
                int64_t now = hf_mono_ms();
                if (len == 0)
                    c->head_start_ms = now;
                len += (size_t)k;
                if (c->head_start_ms && now - c->head_start_ms >= s->cfg.head_timeout_ms &&
                    hf_http_parse_head(t->buf, len, &t->req.http, &status, &why) == 0) {
                    /* Still no complete head: a trickling client. */
                    atomic_fetch_add(&s->st.timeouts, 1);
                    refuse_head(s, t, c, 408, "the request head took too long");
                    hf_log_info("msg=\"request head timed out\" peer=%s bytes=%zu", c->peer, len);
                    conn_close(s, c);
                    return;
                }
                continue;
            }
            if (k < 0 && errno == EINTR)
                continue;
            if (k < 0 && errno == EAGAIN && !atomic_load(&s->stopping)) {
                if (len) {
                    c->saved = malloc(len);
                    if (!c->saved) {
                        conn_close(s, c);
                        return;
                    }
                    memcpy(c->saved, t->buf, len);
                    c->nsaved = len;
                }
                conn_idle(c);
                return;
            }
            conn_close(s, c); /* peer closed, error, or stopping */
            return;
        }
        if (c->phase == PH_PLAIN) {
            /* Whole head read (or refused): tell the client, in its own
             * protocol, that this port wants TLS. Nothing is served. */
            atomic_fetch_add(&s->st.tls_plain, 1);
            atomic_fetch_add(&s->st.bad_requests, 1);
            refuse_head(s, t, c, 400, "this port speaks HTTPS; the request was sent as plain HTTP");
            hf_log_info("msg=\"plain HTTP request on the HTTPS port\" server=%s peer=%s",
                        s->cfg.name, c->peer);
            conn_close(s, c);
            return;
        }
        if (rc < 0) {
            atomic_fetch_add(&s->st.bad_requests, 1);
            if (!s->cfg.tls && (unsigned char)t->buf[0] == HF_TLS_RECORD_HANDSHAKE) {
                /* A TLS client on a plain port cannot read an HTTP answer:
                 * close, and say in the log what happened. */
                hf_log_info("msg=\"TLS handshake on a plain HTTP listener\" server=%s peer=%s",
                            s->cfg.name, c->peer);
                conn_close(s, c);
                return;
            }
            refuse_head(s, t, c, status ? status : 400, why ? why : "bad request");
            hf_log_info("msg=\"refused request head\" peer=%s status=%d why=\"%s\"", c->peer,
                        status, why ? why : "");
            conn_close(s, c);
            return;
        }
        c->head_start_ms = 0;
        bool keep = run_request(s, t, c, (size_t)rc, len);
        if (!keep) {
            conn_close(s, c);
            return;
        }
        /* Move pipelined bytes to the front for the next head. */
        size_t left = rs->len - rs->pos;
        if (left)
            memmove(t->buf, t->buf + rs->pos, left);
        len = left;
        if (len == 0 && atomic_load(&s->stopping)) {
            conn_close(s, c);
            return;
        }
        /* With len == 0 the loop above reads once more: the socket is
         * edge-triggered, so the next request must be read until EAGAIN
         * before the connection may go idle. */
        if (len)
            c->head_start_ms = hf_mono_ms();
    }
}

/* ---- tasks: the buffers of a running request ------------------------------ */

static task_t *task_get(hf_server_t *s, srvloop_t *sl)
{
    task_t *t = sl->pool;
    if (t) {
        sl->pool = t->next;
        sl->npool--;
        return t;
    }
    t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->buf = malloc(WBUF_SIZE);
    if (!t->buf) {
        free(t);
        return NULL;
    }
    hf_arena_init(&t->req.arena, 64 * 1024 * 1024);
    hf_buf_init(&t->rs.head, HF_HTTP_HEAD_MAX);
    (void)s;
    return t;
}

static void task_free(task_t *t)
{
    free(t->buf);
    hf_arena_free(&t->req.arena);
    hf_buf_free(&t->rs.head);
    free(t);
}

static void task_put(srvloop_t *sl, task_t *t)
{
    if (sl->npool < HF_FIBER_POOL_KEEP) {
        t->next = sl->pool;
        sl->pool = t;
        sl->npool++;
    } else {
        task_free(t);
    }
}

static void serve_fiber(void *arg)
{
    conn_t *c = arg;
    hf_server_t *s = c->w.owner;
    srvloop_t *sl = &s->sl[hf_loop_index(hf_loop_self())];
    task_t *t = task_get(s, sl);
    if (!t) {
        hf_log_warn("msg=\"cannot serve a connection: out of memory\" server=%s peer=%s",
                    s->cfg.name, c->peer);
        conn_close(s, c);
    } else {
        serve_conn(s, t, c);
        task_put(sl, t);
    }
    atomic_fetch_sub(&s->st.fibers, 1);
}

/* Events for a connection that no parked fiber waits for (loop thread). */
static void on_conn_event(hf_loop_fd_t *w, uint32_t ev)
{
    conn_t *c = (conn_t *)((char *)w - offsetof(conn_t, w));
    hf_server_t *s = w->owner;
    if (c->state != CS_IDLE)
        return; /* a running fiber reads until EAGAIN before it lets go */
    /* Every event reports both directions; an idle connection wakes for
     * input (or a hang-up), and for output only when a handshake waits to
     * write. */
    uint32_t wake = EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR;
    if (c->idle_want == POLLOUT)
        wake |= EPOLLOUT;
    if (!(ev & wake))
        return;
    c->state = CS_ACTIVE;
    if (hf_sched_spawn(hf_loop_sched(w->loop), serve_fiber, c) != HF_OK) {
        hf_log_warn("msg=\"cannot start a fiber: out of memory\" server=%s peer=%s", s->cfg.name,
                    c->peer);
        conn_close(s, c);
        return;
    }
    atomic_fetch_add(&s->st.fibers, 1);
}

/* ---- accepting ------------------------------------------------------------------ */

static void refuse(hf_server_t *s, int fd, const char *why)
{
    atomic_fetch_add(&s->st.conns_refused, 1);
    if (s->cfg.tls) {
        /* A TLS client cannot read a clear-text answer, and a handshake
         * would need the slot there is none of: just close. */
        close(fd);
        return;
    }
    /* Best effort, non-blocking: tell the client why, then close. */
    hf_buf_t body;
    hf_buf_init(&body, 4096);
    const char *ctype = "text/plain";
    if (s->cfg.error_body)
        s->cfg.error_body(s->cfg.ctx, 503, why, &body, &ctype);
    else
        hf_buf_printf(&body, "503 Service Unavailable: %s\n", why);
    char head[512];
    int n = snprintf(head, sizeof head,
                     "HTTP/1.1 503 Service Unavailable\r\nDate: %s\r\nServer: holdfast\r\n"
                     "Retry-After: 1\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                     "Connection: close\r\n\r\n",
                     cached_date(), ctype, body.len);
    struct iovec iov[2] = {{head, (size_t)n}, {body.data, body.len}};
    ssize_t k = writev(fd, iov, body.len ? 2 : 1);
    (void)k;
    hf_buf_free(&body);
    close(fd);
}

static void on_listen_ready(hf_loop_t *l, void *ctx)
{
    hf_server_t *s = ctx;
    for (int n = 0; n < 64 && !atomic_load(&s->stopping); n++) {
        struct sockaddr_storage sa;
        socklen_t sl = sizeof sa;
        int fd = accept4(s->lfd, (struct sockaddr *)&sa, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno != EAGAIN)
                hf_log_warn("msg=\"accept failed\" server=%s err=\"%s\"", s->cfg.name,
                            strerror(errno));
            break;
        }
        uint32_t idx;
        conn_t *c = slot_alloc(s, &idx);
        if (!c) {
            refuse(s, fd, "too many connections");
            continue;
        }
        peer_text(&sa, c->peer, sizeof c->peer, c->addr, sizeof c->addr);
        c->addr_slot = UINT32_MAX;
        pthread_mutex_lock(&s->free_lock);
        bool ok = addr_take(s, c);
        if (!ok) {
            c->next_free = s->free_head;
            s->free_head = idx;
        }
        pthread_mutex_unlock(&s->free_lock);
        if (!ok) {
            atomic_fetch_add(&s->st.conns_refused_addr, 1);
            refuse(s, fd, "too many connections from this address");
            continue;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        c->w.fd = fd;
        c->w.on_event = on_conn_event;
        c->w.owner = s;
        atomic_store_explicit(&c->loop, l, memory_order_relaxed);
        c->saved = NULL;
        c->nsaved = 0;
        c->tls = NULL;
        c->idle_want = POLLIN;
        /* On an HTTPS listener the handshake runs on the head clock, from
         * now; a plain connection is idle until its first byte. */
        c->phase = s->cfg.tls ? PH_NEW : PH_OPEN;
        c->head_start_ms = s->cfg.tls ? hf_mono_ms() : 0;
        conn_idle(c);
        atomic_fetch_add(&s->st.conns_open, 1);
        atomic_fetch_add(&s->st.conns_total, 1);
        /* Edge-triggered: bytes already waiting are reported at once. */
        if (hf_loop_fd_add(l, &c->w) != HF_OK)
            conn_close(s, c);
    }
}

/* ---- sweeping idle and slow connections ---------------------------------------- */

/* Close this loop's idle connections whose deadline passed (all of them
 * when `all`). */
static void sweep_loop(hf_server_t *s, hf_loop_t *l, bool all)
{
    int64_t now = hf_mono_ms();
    uint32_t hw = high_water(s);
    for (uint32_t i = 0; i < hw; i++) {
        conn_t *c = &s->slots[i];
        if (atomic_load_explicit(&c->loop, memory_order_relaxed) != l || c->state != CS_IDLE)
            continue;
        bool expired = c->head_start_ms ? now - c->head_start_ms >= s->cfg.head_timeout_ms
                                        : now - c->last_ms >= s->cfg.idle_timeout_ms;
        if (!expired && !all)
            continue;
        if (expired && !all)
            atomic_fetch_add(&s->st.timeouts, 1);
        conn_close(s, c);
    }
}

static void on_tick(hf_loop_t *l, void *ctx)
{
    sweep_loop(ctx, l, false);
}

/* ---- stopping: calls posted to each loop ----------------------------------------------- */

typedef struct stopcall {
    hf_server_t *s;
    hf_loop_t *l;
    bool abort_active;
    hf_done_t done;
} stopcall_t;

static void stop_on_loop(void *arg)
{
    stopcall_t *sc = arg;
    hf_server_t *s = sc->s;
    sweep_loop(s, sc->l, true);
    if (sc->abort_active) {
        /* Shut the sockets of running requests down: their reads and
         * writes fail (the hang-up wakes a parked fiber) and they unwind. */
        uint32_t hw = high_water(s);
        for (uint32_t i = 0; i < hw; i++) {
            conn_t *c = &s->slots[i];
            if (atomic_load_explicit(&c->loop, memory_order_relaxed) == sc->l &&
                c->state == CS_ACTIVE && c->w.fd >= 0)
                shutdown(c->w.fd, SHUT_RDWR);
        }
    }
    hf_done_post(&sc->done);
}

/* Run stop_on_loop on every loop and wait for all of them. */
static void each_loop(hf_server_t *s, bool abort_active)
{
    int n = hf_loops_count(s->loops);
    for (int i = 0; i < n; i++) {
        stopcall_t sc = {.s = s, .l = hf_loops_get(s->loops, i), .abort_active = abort_active};
        hf_done_init(&sc.done);
        if (hf_loop_post(sc.l, stop_on_loop, &sc) == HF_OK)
            hf_done_wait(&sc.done);
    }
}

/* ---- lifecycle ------------------------------------------------------------------------- */

int hf_server_create(const hf_server_config_t *cfg, hf_server_t **out)
{
    *out = NULL;
    char host[256], port[16];
    int rc = parse_listen(cfg->listen, host, sizeof host, port, sizeof port);
    if (rc)
        return rc;
    hf_server_t *s = calloc(1, sizeof *s);
    if (!s)
        return -ENOMEM;
    s->cfg = *cfg;
    if (s->cfg.workers < 1)
        s->cfg.workers = 1;
    if (s->cfg.workers > HF_WORKERS_MAX)
        s->cfg.workers = HF_WORKERS_MAX;
    if (s->cfg.max_conns < 1)
        s->cfg.max_conns = HF_CONN_MAX_DEFAULT;
    if (!s->cfg.head_timeout_ms)
        s->cfg.head_timeout_ms = HF_HEAD_TIMEOUT_MS;
    if (!s->cfg.idle_timeout_ms)
        s->cfg.idle_timeout_ms = HF_IDLE_TIMEOUT_MS;
    if (!s->cfg.io_timeout_ms)
        s->cfg.io_timeout_ms = HF_IO_TIMEOUT_MS;
    if (!s->cfg.request_timeout_ms)
        s->cfg.request_timeout_ms = HF_REQUEST_TIMEOUT_MS;
    if (s->cfg.min_rate < 1)
        s->cfg.min_rate = HF_IO_MIN_RATE;
    s->lfd = -1;
    pthread_mutex_init(&s->free_lock, NULL);
    s->free_head = UINT32_MAX;
    hf_rand_bytes(&s->id_prefix, sizeof s->id_prefix);

    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *ai = NULL;
    int g = getaddrinfo(host[0] ? host : NULL, port, &hints, &ai);
    if (g != 0) {
        hf_log_error("msg=\"cannot resolve listen address\" listen=%s err=\"%s\"", cfg->listen,
                     gai_strerror(g));
        rc = HF_E_INVAL;
        goto fail;
    }
    rc = -EADDRNOTAVAIL;
    for (struct addrinfo *a = ai; a; a = a->ai_next) {
        int fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, a->ai_protocol);
        if (fd < 0) {
            rc = -errno;
            continue;
        }
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (bind(fd, a->ai_addr, a->ai_addrlen) != 0 || listen(fd, 4096) != 0) {
            rc = -errno;
            close(fd);
            continue;
        }
        s->lfd = fd;
        rc = HF_OK;
        break;
    }
    freeaddrinfo(ai);
    if (rc)
        goto fail;
    struct sockaddr_storage sa;
    socklen_t sl = sizeof sa;
    getsockname(s->lfd, (struct sockaddr *)&sa, &sl);
    s->port = sa.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&sa)->sin6_port)
                                       : ntohs(((struct sockaddr_in *)&sa)->sin_port);
    s->nslots = (uint32_t)s->cfg.max_conns;
    /* calloc'd pages are only touched as slots are used. */
    s->slots = calloc(s->nslots, sizeof *s->slots);
    s->sl = calloc((size_t)s->cfg.workers, sizeof *s->sl);
    if (!s->slots || !s->sl) {
        rc = -ENOMEM;
        goto fail;
    }
    for (uint32_t i = 0; i < s->nslots; i++) {
        s->slots[i].w.fd = -1;
        s->slots[i].addr_slot = UINT32_MAX;
    }
    if (s->cfg.max_conns_per_addr > 0) {
        /* A power of two at least twice the connection cap: every open
         * connection's address fits with the table at most half full. */
        uint32_t n = 64;
        while (n < 2 * s->nslots)
            n *= 2;
        s->naddrs = n;
        s->addrs = calloc(n, sizeof *s->addrs);
        if (!s->addrs) {
            rc = -ENOMEM;
            goto fail;
        }
    }
    hf_loops_config_t lc = {.name = s->cfg.name, .loops = s->cfg.workers,
                            .nice = s->cfg.thread_nice, .tick = on_tick, .ctx = s,
                            .report_load = s->cfg.report_load};
    if ((rc = hf_loops_create(&lc, &s->loops)) != HF_OK)
        goto fail;
    *out = s;
    return HF_OK;
fail:
    hf_server_destroy(s);
    return rc;
}

hf_loops_t *hf_server_loops(hf_server_t *s)
{
    return s->loops;
}

int hf_server_port(const hf_server_t *s)
{
    return s->port;
}

int hf_server_start(hf_server_t *s)
{
    int rc = set_nonblock(s->lfd);
    if (rc)
        return rc;
    if ((rc = hf_loops_listen(s->loops, s->lfd, on_listen_ready, s)) != HF_OK)
        return rc;
    return hf_loops_start(s->loops);
}

void hf_server_stop(hf_server_t *s, int grace_ms)
{
    if (atomic_exchange(&s->stopping, 1))
        return;
    if (s->lfd >= 0) {
        hf_loops_unlisten(s->loops, s->lfd);
        close(s->lfd);
        s->lfd = -1;
    }
    each_loop(s, false); /* idle connections go now */
    int64_t deadline = hf_mono_ms() + grace_ms;
    while (atomic_load(&s->st.inflight) > 0 && hf_mono_ms() < deadline) {
        usleep(10 * 1000);
        each_loop(s, false);
    }
    if (atomic_load(&s->st.inflight) > 0) {
        hf_log_warn("msg=\"aborting in-flight requests\" server=%s count=%llu", s->cfg.name,
                    (unsigned long long)atomic_load(&s->st.inflight));
        each_loop(s, true);
        deadline = hf_mono_ms() + 5000;
        while (atomic_load(&s->st.fibers) > 0 && hf_mono_ms() < deadline) {
            usleep(10 * 1000);
            each_loop(s, false);
        }
    }
    /* Fibers that were between requests when the listener closed finish
     * their read, find the server stopping and close. */
    deadline = hf_mono_ms() + 1000;
    while (atomic_load(&s->st.fibers) > 0 && hf_mono_ms() < deadline)
        usleep(5 * 1000);
    each_loop(s, false);
    hf_loops_stop(s->loops);
}

void hf_server_destroy(hf_server_t *s)
{
    if (!s)
        return;
    bool fibers_left = atomic_load(&s->st.fibers) > 0;
    if (s->loops)
        hf_loops_destroy(s->loops);
    if (s->sl) {
        for (int i = 0; i < s->cfg.workers; i++) {
            while (s->sl[i].pool) {
                task_t *t = s->sl[i].pool;
                s->sl[i].pool = t->next;
                task_free(t);
            }
        }
    }
    if (s->slots && !fibers_left) {
        for (uint32_t i = 0; i < s->nslots; i++) {
            hf_tls_conn_destroy(s->slots[i].tls);
            if (s->slots[i].w.fd >= 0)
                close(s->slots[i].w.fd);
            free(s->slots[i].saved);
        }
    }
    if (s->lfd >= 0)
        close(s->lfd);
    pthread_mutex_destroy(&s->free_lock);
    /* A fiber abandoned at stop still points into the slots: leave them. */
    if (!fibers_left)
        free(s->slots);
    free(s->sl);
    free(s->addrs);
    free(s);
}

void hf_server_stats(const hf_server_t *s, hf_server_stats_t *out)
{
    hf_server_t *m = (hf_server_t *)s;
    out->conns_open = atomic_load(&m->st.conns_open);
    out->conns_total = atomic_load(&m->st.conns_total);
    out->conns_refused = atomic_load(&m->st.conns_refused);
    out->conns_refused_addr = atomic_load(&m->st.conns_refused_addr);
    out->requests = atomic_load(&m->st.requests);
    out->requests_inflight = atomic_load(&m->st.inflight);
    out->bad_requests = atomic_load(&m->st.bad_requests);
    out->timeouts = atomic_load(&m->st.timeouts);
    out->bytes_in = atomic_load(&m->st.bytes_in);
    out->bytes_out = atomic_load(&m->st.bytes_out);
    out->deadlines = atomic_load(&m->st.deadlines);
    out->fibers = atomic_load(&m->st.fibers);
    out->workers = m->cfg.workers;
    out->max_conns = m->cfg.max_conns;
    out->tls = m->cfg.tls != NULL;
    out->tls_handshakes = atomic_load(&m->st.tls_handshakes);
    out->tls_handshake_failures = atomic_load(&m->st.tls_failures);
    out->tls_plain_requests = atomic_load(&m->st.tls_plain);
    if (m->cfg.tls)
        hf_tls_get_info(m->cfg.tls, &out->tls_info);
    else
        memset(&out->tls_info, 0, sizeof out->tls_info);
}
