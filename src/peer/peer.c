/*
 * peer.c -- the node-to-node transport; see peer.h and
 * docs/internals/FORMAT-peer.md.
 *
 * Owns: the listener, the peer table (one entry per node ever called or
 * heard from, fixed size), every connection and its two fibers, the calls
 * waiting for answers.
 *
 * A connection (pconn_t) lives on the loop that dialled or accepted it.
 * Its reader fiber runs the handshake, then reads frames: answers go to
 * the call that waits for them, requests start a handler fiber. Its writer
 * fiber, started once the handshake is done, drains the send queue with
 * one writev per batch. Callers on any loop enqueue under the connection's
 * mutex and wake the writer (hf_fiber_wake works across threads); the
 * reader wakes callers through their hf_done, so a call never needs the
 * connection's loop to run anything of the caller's.
 *
 * Lifetime: a connection is reference-counted -- the reader, the writer,
 * the peer table entry while it points at it, each caller between finding
 * it and finishing its call, each running handler. The reader closes the
 * socket when the connection ends (it is the one that owns the loop side);
 * the last reference frees the memory.
 *
 * States of a connection, and who moves it:
 *   HANDSHAKE -> OPEN    both proofs checked          [reader: handshake]
 *   HANDSHAKE -> CLOSED  connect failed, bad proof, wrong node, timeout
 *   OPEN      -> CLOSED  end of stream, a read or write error, a bad
 *                        frame, stop                 [reader: conn_close]
 * Calls waiting on a closed connection end with its close_rc.
 */
#include "peer/peer.h"

#include "base/err.h"
#include "base/fiber.h"
#include "base/hash.h"
#include "base/log.h"
#include "base/rand.h"
#include "base/str.h"
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
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

enum { F_HELLO = 1, F_AUTH = 2, F_REQ = 3, F_RESP = 4, F_REFUSE = 5 };
enum { C_HANDSHAKE = 0, C_OPEN = 1, C_CLOSED = 2 };

#define HDR 20
#define NONCE 16
#define MAGIC "HFPEER1"  /* 7 bytes and the version byte */
#define VERSION 1
#define PROOF_LABEL "holdfast-peer-v1"
#define WRITEV_MAX 64

typedef struct frame {
    struct frame *next;
    size_t len;
    unsigned char data[]; /* header + payload */
} frame_t;

typedef struct call {
    struct call *next;
    uint64_t id;
    hf_buf_t *resp;
    int status; /* the handler's */
    int rc;     /* the transport's */
    hf_done_t done;
} call_t;

typedef struct opener {
    struct opener *next;
    hf_done_t done;
} opener_t;

typedef struct peer peer_t;
typedef struct pconn pconn_t;

struct pconn {
    hf_loop_fd_t w;
    hf_loop_t *loop;
    hf_peer_net_t *pn;
    peer_t *peer;                           /* once authenticated */
    char expect[HF_NODE_ID_MAX + 1];        /* dialler: the node meant */
    char remote[HF_NODE_ID_MAX + 1];        /* the node it proved to be */
    char addr[HF_ADDR_MAX + 1];
    bool dialler;
    _Atomic int refs;
    pthread_mutex_t mu;                     /* everything below */
    int state;
    int close_rc;
    frame_t *sq_head, *sq_tail;
    size_t sq_bytes;
    hf_fiber_t *writer;                     /* parked writer, if any */
    call_t *calls;
    uint64_t next_id;
    opener_t *openers;
    int handlers;                           /* loop thread only */
    pconn_t *next_all, *prev_all;           /* pn->conns, under pn->mu */
};

struct peer {
    char id[HF_NODE_ID_MAX + 1];
    char addr[HF_ADDR_MAX + 1];
    pconn_t *conn;                          /* the table's reference; under pn->mu */
    _Atomic int inflight;
    _Atomic uint64_t calls, ok, timeouts, busy, failed;
    _Atomic int64_t last_rtt_us, last_ok_ms, down_since_ms;
    int64_t retry_at_ms;                    /* under pn->mu */
    int backoff_ms;
};

struct hf_peer_net {
    hf_peer_config_t cfg;
    char id[HF_NODE_ID_MAX + 1];
    uint8_t *secret;
    int lfd, port;
    bool listening;
    pthread_mutex_t mu;                     /* peers, npeers, conns, retry state */
    peer_t *peers;
    int npeers;
    pconn_t *conns;
    _Atomic int nconns;     /* open (not yet closed) */
    _Atomic int live;       /* allocated (closed ones wait for their last reference) */
    _Atomic int stopping;
};

/* ---- small helpers ------------------------------------------------------- */

static void put16(unsigned char *p, uint16_t v)
{
    p[0] = (unsigned char)(v >> 8);
    p[1] = (unsigned char)v;
}

static void put32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (24 - 8 * i));
}

static void put64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (56 - 8 * i));
}

static uint32_t get32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t get64(const unsigned char *p)
{
    return (uint64_t)get32(p) << 32 | get32(p + 4);
}

static frame_t *frame_new(int type, uint16_t method, uint32_t word, uint64_t id, const void *p,
                          size_t n)
{
    frame_t *f = malloc(sizeof *f + HDR + n);
    if (!f)
        return NULL;
    f->next = NULL;
    f->len = HDR + n;
    put32(f->data, (uint32_t)n);
    f->data[4] = (unsigned char)type;
    f->data[5] = 0;
    put16(f->data + 6, method);
    put32(f->data + 8, word);
    put64(f->data + 12, id);
    if (n)
        memcpy(f->data + HDR, p, n);
    return f;
}

static void conn_unref(pconn_t *c)
{
    if (atomic_fetch_sub(&c->refs, 1) != 1)
        return;
    atomic_fetch_sub(&c->pn->live, 1);
    frame_t *f = c->sq_head;
    while (f) {
        frame_t *n = f->next;
        free(f);
        f = n;
    }
    pthread_mutex_destroy(&c->mu);
    free(c);
}

/* ---- the peer table -------------------------------------------------------- */

/* The entry for id (added if new; addr recorded when given). Under pn->mu.
 * NULL when the table is full. */
static peer_t *peer_find(hf_peer_net_t *pn, const char *id, const char *addr)
{
    for (int i = 0; i < pn->npeers; i++) {
        peer_t *p = &pn->peers[i];
        if (strcmp(p->id, id) == 0) {
            if (addr && *addr && strcmp(p->addr, addr) != 0)
                snprintf(p->addr, sizeof p->addr, "%s", addr);
            return p;
        }
    }
    if (pn->npeers == HF_PEERS_MAX)
        return NULL;
    peer_t *p = &pn->peers[pn->npeers];
    memset(p, 0, sizeof *p);
    snprintf(p->id, sizeof p->id, "%s", id);
    snprintf(p->addr, sizeof p->addr, "%s", addr ? addr : "");
    atomic_store(&p->last_rtt_us, -1);
    /* Publish the entry only once it is filled: stats readers take mu too,
     * but the count is what bounds their loop. */
    pn->npeers++;
    return p;
}

/* A dial to p failed or its connection broke: wait before the next one. */
static void peer_backoff(hf_peer_net_t *pn, peer_t *p)
{
    int64_t now = hf_mono_ms();
    p->backoff_ms = p->backoff_ms ? p->backoff_ms * 2 : HF_PEER_BACKOFF_MIN_MS;
    if (p->backoff_ms > HF_PEER_BACKOFF_MAX_MS)
        p->backoff_ms = HF_PEER_BACKOFF_MAX_MS;
    uint32_t r = 0;
    hf_rand_bytes(&r, sizeof r);
    /* Jitter: between half and all of the backoff, so nodes that lost the
     * same peer do not all dial it again at the same instant. */
    p->retry_at_ms = now + p->backoff_ms / 2 + (int64_t)(r % (uint32_t)(p->backoff_ms / 2 + 1));
    int64_t zero = 0;
    atomic_compare_exchange_strong(&p->down_since_ms, &zero, now);
    (void)pn;
}

/* ---- closing ---------------------------------------------------------------- */

/* End the connection (reader fiber, on its loop). */
static void conn_close(pconn_t *c, int rc, const char *why)
{
    hf_peer_net_t *pn = c->pn;
    pthread_mutex_lock(&c->mu);
    bool was_open = c->state == C_OPEN;
    c->state = C_CLOSED;
    c->close_rc = rc;
    call_t *calls = c->calls;
    c->calls = NULL;
    opener_t *op = c->openers;
    c->openers = NULL;
    hf_fiber_t *wr = c->writer;
    c->writer = NULL;
    pthread_mutex_unlock(&c->mu);
    while (calls) {
        call_t *n = calls->next;
        calls->rc = rc;
        hf_done_post(&calls->done);
        calls = n;
    }
    while (op) {
        opener_t *n = op->next;
        hf_done_post(&op->done);
        op = n;
    }
    if (wr)
        hf_fiber_wake(wr);
    if (was_open || why)
        hf_log_info("msg=\"peer connection closed\" peer=%s addr=%s why=\"%s\"",
                    c->remote[0] ? c->remote : c->expect, c->addr, why ? why : "closed");
    hf_loop_fd_del(&c->w);
    hf_vfs.close(c->w.fd);
    c->w.fd = -1;
    pthread_mutex_lock(&pn->mu);
    if (c->prev_all)
        c->prev_all->next_all = c->next_all;
    else
        pn->conns = c->next_all;
    if (c->next_all)
        c->next_all->prev_all = c->prev_all;
    bool table_ref = false;
    peer_t *p = c->peer;
    if (!p && c->dialler) {
        for (int i = 0; i < pn->npeers && !p; i++)
            if (pn->peers[i].conn == c)
                p = &pn->peers[i];
    }
    if (p && p->conn == c) {
        p->conn = NULL;
        table_ref = true;
        if (!atomic_load(&pn->stopping))
            peer_backoff(pn, p);
    }
    pthread_mutex_unlock(&pn->mu);
    atomic_fetch_sub(&pn->nconns, 1);
    if (table_ref)
        conn_unref(c);
}

/* ---- socket I/O in the connection's fibers -------------------------------------- */

/* Read exactly n bytes; HF_OK, HF_E_CLOSED, HF_E_TIMEOUT. */
static int read_full(pconn_t *c, void *buf, size_t n, int64_t deadline_ms)
{
    unsigned char *p = buf;
    while (n) {
        ssize_t k = hf_vfs.read(c->w.fd, p, n);
        if (k > 0) {
            p += k;
            n -= (size_t)k;
            continue;
        }
        if (k == 0)
            return HF_E_CLOSED;
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN)
            return HF_E_CLOSED;
        int rc = hf_loop_fd_wait(&c->w, EPOLLIN, deadline_ms);
        if (rc)
            return rc;
    }
    return HF_OK;
}

static int write_iov(pconn_t *c, struct iovec *iov, int cnt, int64_t deadline_ms)
{
    while (cnt > 0) {
        ssize_t k = hf_vfs.writev(c->w.fd, iov, cnt);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            if (errno != EAGAIN)
                return HF_E_CLOSED;
            int rc = hf_loop_fd_wait(&c->w, EPOLLOUT, deadline_ms);
            if (rc)
                return rc;
            continue;
        }
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
    return HF_OK;
}

/* Read one frame's header; the payload length is checked against max. */
static int read_header(pconn_t *c, unsigned char hdr[HDR], size_t max, int64_t deadline_ms)
{
    int rc = read_full(c, hdr, HDR, deadline_ms);
    if (rc)
        return rc;
    if (get32(hdr) > max)
        return HF_E_PROTO;
    return HF_OK;
}

static int write_frame(pconn_t *c, int type, const void *p, size_t n, int64_t deadline_ms)
{
    unsigned char hdr[HDR] = {0};
    put32(hdr, (uint32_t)n);
    hdr[4] = (unsigned char)type;
    struct iovec iov[2] = {{hdr, HDR}, {(void *)p, n}};
    return write_iov(c, iov, n ? 2 : 1, deadline_ms);
}

/* ---- the handshake ------------------------------------------------------------- */

/* HMAC-SHA256(secret, label | prover | 0 | verifier | 0 | verifier's nonce |
 * prover's nonce): binds the proof to both nodes and to the other side's
 * fresh nonce, so it cannot be replayed to another node or later. */
static void proof(const hf_peer_net_t *pn, const char *prover, const char *verifier,
                  const unsigned char vnonce[NONCE], const unsigned char pnonce[NONCE],
                  unsigned char out[HF_SHA256_LEN])
{
    unsigned char msg[sizeof PROOF_LABEL + 2 * (HF_NODE_ID_MAX + 1) + 2 * NONCE];
    size_t n = 0;
    memcpy(msg, PROOF_LABEL, sizeof PROOF_LABEL - 1);
    n += sizeof PROOF_LABEL - 1;
    size_t a = strlen(prover), b = strlen(verifier);
    memcpy(msg + n, prover, a + 1);
    n += a + 1;
    memcpy(msg + n, verifier, b + 1);
    n += b + 1;
    memcpy(msg + n, vnonce, NONCE);
    n += NONCE;
    memcpy(msg + n, pnonce, NONCE);
    n += NONCE;
    hf_hmac_sha256(pn->secret, pn->cfg.secret_len, msg, n, out);
}

static int handshake(pconn_t *c, const char **why)
{
    hf_peer_net_t *pn = c->pn;
    int64_t deadline = hf_mono_ms() + HF_PEER_HANDSHAKE_MS;
    *why = NULL;
    if (c->dialler) {
        /* The connect finishes when the socket becomes writable. The edge
         * may have come before this fiber ran: look first, then wait. */
        struct pollfd pf = {.fd = c->w.fd, .events = POLLOUT};
        int rc = poll(&pf, 1, 0) == 1 ? HF_OK : hf_loop_fd_wait(&c->w, EPOLLOUT, deadline);
        int err = 0;
        socklen_t el = sizeof err;
        if (rc == HF_OK && getsockopt(c->w.fd, SOL_SOCKET, SO_ERROR, &err, &el) == 0 && err == 0) {
            /* connected */
        } else {
            *why = rc == HF_E_TIMEOUT ? "connect timed out" : "cannot connect";
            return HF_E_CLOSED;
        }
    }
    unsigned char mine[NONCE], theirs[NONCE];
    hf_rand_bytes(mine, sizeof mine);
    unsigned char hello[8 + 1 + HF_NODE_ID_MAX + NONCE];
    size_t idl = strlen(pn->id);
    memcpy(hello, MAGIC, 7);
    hello[7] = VERSION;
    hello[8] = (unsigned char)idl;
    memcpy(hello + 9, pn->id, idl);
    memcpy(hello + 9 + idl, mine, NONCE);
    if (write_frame(c, F_HELLO, hello, 9 + idl + NONCE, deadline) != HF_OK) {
        *why = "handshake: write failed";
        return HF_E_CLOSED;
    }
    unsigned char hdr[HDR], in[sizeof hello];
    int rc = read_header(c, hdr, sizeof in, deadline);
    size_t n = rc == HF_OK ? get32(hdr) : 0;
    if (rc == HF_OK)
        rc = read_full(c, in, n, deadline);
    if (rc != HF_OK || hdr[4] != F_HELLO || n < 9 + NONCE || memcmp(in, MAGIC, 7) != 0 ||
        in[7] != VERSION || in[8] == 0 || in[8] > HF_NODE_ID_MAX || n != 9u + in[8] + NONCE) {
        *why = rc == HF_E_TIMEOUT ? "handshake timed out"
                                  : "handshake: not a holdfast peer, or another version";
        return HF_E_CLOSED;
    }
    memcpy(c->remote, in + 9, in[8]);
    c->remote[in[8]] = '\0';
    memcpy(theirs, in + 9 + in[8], NONCE);
    if (memchr(c->remote, '\0', in[8]) || strcmp(c->remote, pn->id) == 0) {
        *why = "handshake: a bad node id, or this node itself";
        return HF_E_AUTH;
    }
    if (c->dialler && strcmp(c->remote, c->expect) != 0) {
        *why = "reached another node than the one dialled";
        return HF_E_AUTH;
    }
    unsigned char p[HF_SHA256_LEN], want[HF_SHA256_LEN], got[HF_SHA256_LEN];
    proof(pn, pn->id, c->remote, theirs, mine, p);
    if (write_frame(c, F_AUTH, p, sizeof p, deadline) != HF_OK) {
        *why = "handshake: write failed";
        return HF_E_CLOSED;
    }
    rc = read_header(c, hdr, sizeof got, deadline);
    if (rc == HF_OK && hdr[4] == F_REFUSE) {
        *why = "the peer refused this node's proof: the cluster secrets differ";
        return HF_E_AUTH;
    }
    if (rc == HF_OK && (hdr[4] != F_AUTH || get32(hdr) != sizeof got))
        rc = HF_E_PROTO;
    if (rc == HF_OK)
        rc = read_full(c, got, sizeof got, deadline);
    if (rc != HF_OK) {
        *why = rc == HF_E_TIMEOUT ? "handshake timed out" : "handshake: no proof";
        return HF_E_CLOSED;
    }
    proof(pn, c->remote, pn->id, mine, theirs, want);
    if (!hf_ct_equal(got, want, sizeof want)) {
        write_frame(c, F_REFUSE, NULL, 0, deadline);
        *why = "the peer's proof is wrong: the cluster secrets differ";
        return HF_E_AUTH;
    }
    return HF_OK;
}

/* ---- the writer --------------------------------------------------------------------- */

static void writer_main(void *arg)
{
    pconn_t *c = arg;
    for (;;) {
        pthread_mutex_lock(&c->mu);
        while (!c->sq_head && c->state == C_OPEN) {
            c->writer = hf_fiber_self();
            pthread_mutex_unlock(&c->mu);
            hf_fiber_park();
            pthread_mutex_lock(&c->mu);
        }
        c->writer = NULL;
        if (c->state != C_OPEN) {
            pthread_mutex_unlock(&c->mu);
            break;
        }
        frame_t *list = c->sq_head;
        c->sq_head = c->sq_tail = NULL;
        c->sq_bytes = 0;
        pthread_mutex_unlock(&c->mu);
        int rc = HF_OK;
        while (list && rc == HF_OK) {
            struct iovec iov[WRITEV_MAX];
            frame_t *batch[WRITEV_MAX];
            int cnt = 0;
            while (list && cnt < WRITEV_MAX) {
                batch[cnt] = list;
                iov[cnt].iov_base = list->data;
                iov[cnt].iov_len = list->len;
                cnt++;
                list = list->next;
            }
            /* A peer that takes no bytes for a whole handshake period is
             * treated as gone: its calls time out on their own deadlines
             * meanwhile. */
            rc = write_iov(c, iov, cnt, hf_mono_ms() + HF_PEER_HANDSHAKE_MS);
            for (int i = 0; i < cnt; i++)
                free(batch[i]);
        }
        while (list) {
            frame_t *n = list->next;
            free(list);
            list = n;
        }
        if (rc != HF_OK) {
            /* Make the reader see the end and close the connection. */
            shutdown(c->w.fd, SHUT_RDWR);
            break;
        }
    }
    conn_unref(c);
}

/* Queue a frame (any thread). false if the connection is not open. */
static bool enqueue(pconn_t *c, frame_t *f)
{
    pthread_mutex_lock(&c->mu);
    if (c->state != C_OPEN) {
        pthread_mutex_unlock(&c->mu);
        return false;
    }
    if (c->sq_tail)
        c->sq_tail->next = f;
    else
        c->sq_head = f;
    c->sq_tail = f;
    c->sq_bytes += f->len;
    hf_fiber_t *wr = c->writer;
    c->writer = NULL;
    pthread_mutex_unlock(&c->mu);
    if (wr)
        hf_fiber_wake(wr);
    return true;
}

/* ---- requests from peers --------------------------------------------------------- */

typedef struct hjob {
    pconn_t *c;
    uint16_t method;
    uint64_t id;
    int64_t deadline_ms;
    size_t n;
    unsigned char data[];
} hjob_t;

static void answer(pconn_t *c, uint64_t id, int status, const void *p, size_t n)
{
    frame_t *f = frame_new(F_RESP, 0, (uint32_t)status, id, p, n);
    if (f && !enqueue(c, f))
        free(f);
}

static void handler_main(void *arg)
{
    hjob_t *j = arg;
    pconn_t *c = j->c;
    hf_peer_net_t *pn = c->pn;
    hf_buf_t resp;
    hf_buf_init(&resp, HF_PEER_FRAME_MAX);
    int status = HF_E_STATE;
    if (pn->cfg.handler)
        status = pn->cfg.handler(pn->cfg.ctx, c->remote, j->method, j->data, j->n, j->deadline_ms,
                                 &resp);
    if (hf_mono_ms() < j->deadline_ms)
        answer(c, j->id, status, resp.data, resp.len);
    hf_buf_free(&resp);
    c->handlers--;
    free(j);
    conn_unref(c);
}

/* ---- the reader ------------------------------------------------------------------ */

static void deliver(pconn_t *c, uint64_t id, int status, const unsigned char *p, size_t n)
{
    pthread_mutex_lock(&c->mu);
    call_t **pp = &c->calls, *call = NULL;
    while (*pp && (*pp)->id != id)
        pp = &(*pp)->next;
    if (*pp) {
        call = *pp;
        *pp = call->next;
    }
    pthread_mutex_unlock(&c->mu);
    if (!call)
        return; /* the caller gave up (deadline): drop the late answer */
    call->status = status;
    call->rc = hf_buf_append(call->resp, p, n) == HF_OK ? HF_OK : HF_E_TOOBIG;
    hf_done_post(&call->done);
}

static void reader_main(void *arg)
{
    pconn_t *c = arg;
    hf_peer_net_t *pn = c->pn;
    const char *why = NULL;
    int rc = handshake(c, &why);
    if (rc != HF_OK) {
        if (rc == HF_E_AUTH)
            hf_log_warn("msg=\"peer refused\" peer=%s addr=%s why=\"%s\"",
                        c->remote[0] ? c->remote : c->expect, c->addr, why);
        conn_close(c, rc, why);
        conn_unref(c);
        return;
    }
    /* Open: attach to the table (an accepted connection becomes the way to
     * reach its node when there is none), start the writer. */
    pthread_mutex_lock(&pn->mu);
    peer_t *p = peer_find(pn, c->remote, c->dialler ? c->addr : NULL);
    bool take = false;
    if (p) {
        c->peer = p;
        if (!p->conn && !c->dialler) {
            p->conn = c;
            take = true;
        }
        p->backoff_ms = 0;
        p->retry_at_ms = 0;
        atomic_store(&p->down_since_ms, 0);
    }
    pthread_mutex_unlock(&pn->mu);
    if (take)
        atomic_fetch_add(&c->refs, 1);
    pthread_mutex_lock(&c->mu);
    c->state = C_OPEN;
    opener_t *op = c->openers;
    c->openers = NULL;
    pthread_mutex_unlock(&c->mu);
    while (op) {
        opener_t *n = op->next;
        hf_done_post(&op->done);
        op = n;
    }
    atomic_fetch_add(&c->refs, 1);
    if (hf_sched_spawn(hf_loop_sched(c->loop), writer_main, c) != HF_OK) {
        conn_unref(c);
        conn_close(c, HF_E_CLOSED, "out of memory");
        conn_unref(c);
        return;
    }
    hf_log_debug("msg=\"peer connection open\" peer=%s addr=%s dialled=%d", c->remote, c->addr,
                 c->dialler);
    unsigned char hdr[HDR];
    for (;;) {
        rc = read_header(c, hdr, HF_PEER_FRAME_MAX, INT64_MAX);
        if (rc != HF_OK) {
            why = rc == HF_E_PROTO ? "a frame above the size limit" : NULL;
            break;
        }
        size_t n = get32(hdr);
        int type = hdr[4];
        uint16_t method = (uint16_t)(hdr[6] << 8 | hdr[7]);
        uint32_t word = get32(hdr + 8);
        uint64_t id = get64(hdr + 12);
        if (type == F_REQ) {
            hjob_t *j = malloc(sizeof *j + n);
            if (!j) {
                why = "out of memory";
                break;
            }
            if ((rc = read_full(c, j->data, n, INT64_MAX)) != HF_OK) {
                free(j);
                break;
            }
            if (c->handlers >= HF_PEER_HANDLERS_MAX || atomic_load(&pn->stopping)) {
                answer(c, id, HF_E_BUSY, NULL, 0);
                free(j);
                continue;
            }
            j->c = c;
            j->method = method;
            j->id = id;
            j->n = n;
            /* The caller's remaining time, as it sent it. */
            j->deadline_ms = hf_mono_ms() + (int64_t)word;
            atomic_fetch_add(&c->refs, 1);
            c->handlers++;
            if (hf_sched_spawn(hf_loop_sched(c->loop), handler_main, j) != HF_OK) {
                c->handlers--;
                conn_unref(c);
                answer(c, id, HF_E_BUSY, NULL, 0);
                free(j);
            }
        } else if (type == F_RESP) {
            unsigned char *buf = n ? malloc(n) : NULL;
            if (n && !buf) {
                why = "out of memory";
                break;
            }
            if ((rc = read_full(c, buf, n, INT64_MAX)) != HF_OK) {
                free(buf);
                break;
            }
            deliver(c, id, (int32_t)word, buf, n);
            free(buf);
        } else {
            why = "an unknown frame type";
            break;
        }
    }
    conn_close(c, HF_E_CLOSED, why);
    conn_unref(c);
}

/* ---- connections ------------------------------------------------------------------- */

/* A new connection on loop l for socket fd, its reader fiber started.
 * pn_locked: the caller holds pn->mu (the dial path). NULL on failure (fd
 * is then the caller's to close). */
static pconn_t *conn_new(hf_peer_net_t *pn, hf_loop_t *l, int fd, bool dialler, const char *expect,
                         const char *addr, bool pn_locked)
{
    pconn_t *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->pn = pn;
    c->loop = l;
    c->dialler = dialler;
    snprintf(c->expect, sizeof c->expect, "%s", expect ? expect : "");
    snprintf(c->addr, sizeof c->addr, "%s", addr ? addr : "");
    c->w.fd = fd;
    c->w.owner = c;
    pthread_mutex_init(&c->mu, NULL);
    atomic_init(&c->refs, 1); /* the reader's */
    if (hf_loop_fd_add(l, &c->w) != HF_OK)
        goto fail;
    if (hf_sched_spawn(hf_loop_sched(l), reader_main, c) != HF_OK) {
        hf_loop_fd_del(&c->w);
        goto fail;
    }
    /* The reader runs at the loop's next pass, after this returns. */
    if (!pn_locked)
        pthread_mutex_lock(&pn->mu);
    c->next_all = pn->conns;
    if (pn->conns)
        pn->conns->prev_all = c;
    pn->conns = c;
    if (!pn_locked)
        pthread_mutex_unlock(&pn->mu);
    atomic_fetch_add(&pn->nconns, 1);
    atomic_fetch_add(&pn->live, 1);
    return c;
fail:
    pthread_mutex_destroy(&c->mu);
    free(c);
    return NULL;
}

static int parse_addr(const char *spec, char *host, size_t hcap, char *port, size_t pcap)
{
    const char *colon;
    if (spec[0] == '[') {
        const char *end = strchr(spec, ']');
        if (!end || end[1] != ':' || (size_t)(end - spec - 1) >= hcap)
            return HF_E_INVAL;
        memcpy(host, spec + 1, (size_t)(end - spec - 1));
        host[end - spec - 1] = '\0';
        colon = end + 1;
    } else {
        colon = strrchr(spec, ':');
        if (!colon || (size_t)(colon - spec) >= hcap)
            return HF_E_INVAL;
        memcpy(host, spec, (size_t)(colon - spec));
        host[colon - spec] = '\0';
    }
    if (!colon[1] || strlen(colon + 1) >= pcap || strspn(colon + 1, "0123456789") != strlen(colon + 1))
        return HF_E_INVAL;
    snprintf(port, pcap, "%s", colon + 1);
    return HF_OK;
}

/* Start a non-blocking connect to addr on loop l. Numeric addresses only on
 * this path: a name lookup would block the loop (resolve names before
 * handing addresses to the transport). */
static int dial(hf_peer_net_t *pn, hf_loop_t *l, const char *peer_id, const char *addr,
                pconn_t **out)
{
    char host[HF_ADDR_MAX + 1], port[8];
    if (parse_addr(addr, host, sizeof host, port, sizeof port) != HF_OK)
        return HF_E_INVAL;
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV};
    struct addrinfo *ai = NULL;
    if (getaddrinfo(host, port, &hints, &ai) != 0 || !ai)
        return HF_E_INVAL;
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        freeaddrinfo(ai);
        return -errno;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    int r = connect(fd, ai->ai_addr, ai->ai_addrlen);
    freeaddrinfo(ai);
    if (r != 0 && errno != EINPROGRESS) {
        int e = -errno;
        close(fd);
        return e;
    }
    pconn_t *c = conn_new(pn, l, fd, true, peer_id, addr, true);
    if (!c) {
        close(fd);
        return -ENOMEM;
    }
    *out = c;
    return HF_OK;
}

/* The open connection to p, with a reference for the caller; dials if
 * there is none. HF_E_CLOSED while p is backing off or when the connection
 * failed, HF_E_AUTH, HF_E_TIMEOUT. */
static int conn_get(hf_peer_net_t *pn, peer_t *p, const char *addr, int64_t deadline_ms,
                    pconn_t **out)
{
    *out = NULL;
    pthread_mutex_lock(&pn->mu);
    pconn_t *c = p->conn;
    if (!c) {
        if (hf_mono_ms() < p->retry_at_ms || atomic_load(&pn->stopping)) {
            pthread_mutex_unlock(&pn->mu);
            return HF_E_CLOSED;
        }
        int rc = dial(pn, hf_loop_self(), p->id, addr, &c);
        if (rc != HF_OK) {
            peer_backoff(pn, p);
            pthread_mutex_unlock(&pn->mu);
            return rc == HF_E_INVAL ? HF_E_INVAL : HF_E_CLOSED;
        }
        p->conn = c;
        atomic_fetch_add(&c->refs, 1); /* the table's */
    }
    atomic_fetch_add(&c->refs, 1); /* the caller's */
    pthread_mutex_unlock(&pn->mu);
    opener_t op = {0};
    hf_done_init(&op.done);
    pthread_mutex_lock(&c->mu);
    bool wait = c->state == C_HANDSHAKE;
    if (wait) {
        op.next = c->openers;
        c->openers = &op;
    }
    pthread_mutex_unlock(&c->mu);
    if (wait && hf_loop_done_wait(&op.done, deadline_ms) != HF_OK) {
        pthread_mutex_lock(&c->mu);
        opener_t **pp = &c->openers;
        while (*pp && *pp != &op)
            pp = &(*pp)->next;
        bool mine = *pp != NULL;
        if (mine)
            *pp = op.next;
        pthread_mutex_unlock(&c->mu);
        if (!mine)
            hf_done_wait(&op.done); /* being posted right now */
    }
    pthread_mutex_lock(&c->mu);
    int state = c->state, rc = c->close_rc;
    pthread_mutex_unlock(&c->mu);
    if (state == C_OPEN) {
        *out = c;
        return HF_OK;
    }
    conn_unref(c);
    return state == C_HANDSHAKE ? HF_E_TIMEOUT : rc ? rc : HF_E_CLOSED;
}

/* ---- calls ------------------------------------------------------------------------ */

int hf_peer_call(hf_peer_net_t *pn, const char *peer_id, const char *addr, uint16_t method,
                 const void *req, size_t n, int64_t deadline_ms, hf_buf_t *resp, int *status)
{
    *status = HF_E_STATE;
    if (!hf_fiber_self() || !hf_loop_self() || !peer_id || !*peer_id ||
        strlen(peer_id) > HF_NODE_ID_MAX || !addr || strlen(addr) > HF_ADDR_MAX)
        return HF_E_INVAL;
    if (n > HF_PEER_FRAME_MAX)
        return HF_E_TOOBIG;
    int64_t t0 = hf_mono_us();
    if (deadline_ms <= hf_mono_ms())
        return HF_E_TIMEOUT;
    pthread_mutex_lock(&pn->mu);
    peer_t *p = peer_find(pn, peer_id, addr);
    pthread_mutex_unlock(&pn->mu);
    if (!p)
        return HF_E_BUSY;
    atomic_fetch_add(&p->calls, 1);
    if (atomic_fetch_add(&p->inflight, 1) >= pn->cfg.max_calls_per_peer) {
        atomic_fetch_sub(&p->inflight, 1);
        atomic_fetch_add(&p->busy, 1);
        return HF_E_BUSY;
    }
    pconn_t *c = NULL;
    int rc = conn_get(pn, p, addr, deadline_ms, &c);
    if (rc != HF_OK)
        goto out;
    int64_t left = deadline_ms - hf_mono_ms();
    frame_t *f = frame_new(F_REQ, method, (uint32_t)(left > 0 ? left : 0), 0, req, n);
    call_t call = {.resp = resp, .rc = HF_E_CLOSED};
    hf_done_init(&call.done);
    if (!f) {
        rc = -ENOMEM;
        goto out_unref;
    }
    pthread_mutex_lock(&c->mu);
    if (c->state != C_OPEN) {
        rc = c->close_rc ? c->close_rc : HF_E_CLOSED;
    } else if (c->sq_bytes + f->len > HF_PEER_QUEUE_BYTES_MAX) {
        rc = HF_E_BUSY;
        atomic_fetch_add(&p->busy, 1);
    } else {
        call.id = ++c->next_id;
        put64(f->data + 12, call.id);
        call.next = c->calls;
        c->calls = &call;
        if (c->sq_tail)
            c->sq_tail->next = f;
        else
            c->sq_head = f;
        c->sq_tail = f;
        c->sq_bytes += f->len;
        f = NULL;
        rc = HF_OK;
    }
    hf_fiber_t *wr = rc == HF_OK ? c->writer : NULL;
    if (wr)
        c->writer = NULL;
    pthread_mutex_unlock(&c->mu);
    free(f);
    if (wr)
        hf_fiber_wake(wr);
    if (rc != HF_OK)
        goto out_unref;
    if (hf_loop_done_wait(&call.done, deadline_ms) != HF_OK) {
        /* Deadline: take the call back unless its answer is being delivered. */
        pthread_mutex_lock(&c->mu);
        call_t **pp = &c->calls;
        while (*pp && *pp != &call)
            pp = &(*pp)->next;
        bool mine = *pp != NULL;
        if (mine)
            *pp = call.next;
        pthread_mutex_unlock(&c->mu);
        if (mine)
            call.rc = HF_E_TIMEOUT;
        else
            hf_done_wait(&call.done);
    }
    rc = call.rc;
    if (rc == HF_OK) {
        *status = call.status;
        atomic_store(&p->last_rtt_us, hf_mono_us() - t0);
        atomic_store(&p->last_ok_ms, hf_mono_ms());
    }
out_unref:
    conn_unref(c);
out:
    if (rc == HF_OK)
        atomic_fetch_add(&p->ok, 1);
    else if (rc == HF_E_TIMEOUT)
        atomic_fetch_add(&p->timeouts, 1);
    else if (rc != HF_E_BUSY)
        atomic_fetch_add(&p->failed, 1);
    atomic_fetch_sub(&p->inflight, 1);
    return rc;
}

/* ---- accepting --------------------------------------------------------------------- */

static void on_listen_ready(hf_loop_t *l, void *ctx)
{
    hf_peer_net_t *pn = ctx;
    for (int i = 0; i < 64 && !atomic_load(&pn->stopping); i++) {
        struct sockaddr_storage sa;
        socklen_t sl = sizeof sa;
        int fd = accept4(pn->lfd, (struct sockaddr *)&sa, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            break;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        char ip[INET6_ADDRSTRLEN] = "?", addr[HF_ADDR_MAX + 1];
        int port = 0;
        if (sa.ss_family == AF_INET) {
            inet_ntop(AF_INET, &((struct sockaddr_in *)&sa)->sin_addr, ip, sizeof ip);
            port = ntohs(((struct sockaddr_in *)&sa)->sin_port);
        } else if (sa.ss_family == AF_INET6) {
            inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&sa)->sin6_addr, ip, sizeof ip);
            port = ntohs(((struct sockaddr_in6 *)&sa)->sin6_port);
        }
        snprintf(addr, sizeof addr, sa.ss_family == AF_INET6 ? "[%s]:%d" : "%s:%d", ip, port);
        if (!conn_new(pn, l, fd, false, NULL, addr, false))
            close(fd);
    }
}

/* ---- lifecycle ------------------------------------------------------------------------ */

int hf_peer_net_create(const hf_peer_config_t *cfg, hf_peer_net_t **out)
{
    *out = NULL;
    if (!cfg->loops || !cfg->node_id || !*cfg->node_id || strlen(cfg->node_id) > HF_NODE_ID_MAX ||
        !cfg->secret || cfg->secret_len == 0)
        return HF_E_INVAL;
    hf_peer_net_t *pn = calloc(1, sizeof *pn);
    if (!pn)
        return -ENOMEM;
    pn->cfg = *cfg;
    if (pn->cfg.max_calls_per_peer <= 0)
        pn->cfg.max_calls_per_peer = HF_PEER_CALLS_DEFAULT;
    snprintf(pn->id, sizeof pn->id, "%s", cfg->node_id);
    pn->cfg.node_id = pn->id;
    pn->lfd = -1;
    pthread_mutex_init(&pn->mu, NULL);
    pn->secret = malloc(cfg->secret_len);
    pn->peers = calloc(HF_PEERS_MAX, sizeof *pn->peers);
    int rc = -ENOMEM;
    if (!pn->secret || !pn->peers)
        goto fail;
    memcpy(pn->secret, cfg->secret, cfg->secret_len);
    pn->cfg.secret = pn->secret;
    if (cfg->listen) {
        char host[HF_ADDR_MAX + 1], port[8];
        rc = parse_addr(cfg->listen, host, sizeof host, port, sizeof port);
        if (rc)
            goto fail;
        struct addrinfo hints = {.ai_socktype = SOCK_STREAM,
                                 .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
        struct addrinfo *ai = NULL;
        if (getaddrinfo(host[0] ? host : NULL, port, &hints, &ai) != 0 || !ai) {
            rc = HF_E_INVAL;
            goto fail;
        }
        rc = -EADDRNOTAVAIL;
        for (struct addrinfo *a = ai; a; a = a->ai_next) {
            int fd = socket(a->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
            if (fd < 0)
                continue;
            int one = 1;
            setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
            if (bind(fd, a->ai_addr, a->ai_addrlen) != 0 || listen(fd, 1024) != 0) {
                rc = -errno;
                close(fd);
                continue;
            }
            pn->lfd = fd;
            rc = HF_OK;
            break;
        }
        freeaddrinfo(ai);
        if (rc)
            goto fail;
        struct sockaddr_storage sa;
        socklen_t sl = sizeof sa;
        getsockname(pn->lfd, (struct sockaddr *)&sa, &sl);
        pn->port = sa.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&sa)->sin6_port)
                                            : ntohs(((struct sockaddr_in *)&sa)->sin_port);
    }
    *out = pn;
    return HF_OK;
fail:
    hf_peer_net_destroy(pn);
    return rc;
}

int hf_peer_port(const hf_peer_net_t *pn)
{
    return pn->port;
}

int hf_peer_net_start(hf_peer_net_t *pn)
{
    if (pn->lfd < 0)
        return HF_OK;
    int rc = hf_loops_listen(pn->cfg.loops, pn->lfd, on_listen_ready, pn);
    if (rc == HF_OK)
        pn->listening = true;
    return rc;
}

static void shut_conns_on(void *arg)
{
    hf_peer_net_t *pn = arg;
    hf_loop_t *l = hf_loop_self();
    pthread_mutex_lock(&pn->mu);
    for (pconn_t *c = pn->conns; c; c = c->next_all)
        if (c->loop == l && c->w.fd >= 0)
            shutdown(c->w.fd, SHUT_RDWR);
    pthread_mutex_unlock(&pn->mu);
}

void hf_peer_net_stop(hf_peer_net_t *pn)
{
    if (atomic_exchange(&pn->stopping, 1))
        return;
    if (pn->listening) {
        hf_loops_unlisten(pn->cfg.loops, pn->lfd);
        pn->listening = false;
    }
    /* Until every connection is closed and its fibers (writer, handlers)
     * have let go of it, which needs the loops still running. */
    int64_t deadline = hf_mono_ms() + 5000;
    while (atomic_load(&pn->live) > 0 && hf_mono_ms() < deadline) {
        if (atomic_load(&pn->nconns) > 0)
            for (int i = 0; i < hf_loops_count(pn->cfg.loops); i++)
                hf_loop_post(hf_loops_get(pn->cfg.loops, i), shut_conns_on, pn);
        usleep(20 * 1000);
    }
}

void hf_peer_net_destroy(hf_peer_net_t *pn)
{
    if (!pn)
        return;
    if (pn->lfd >= 0)
        close(pn->lfd);
    if (pn->secret) {
        memset(pn->secret, 0, pn->cfg.secret_len);
        free(pn->secret);
    }
    free(pn->peers);
    pthread_mutex_destroy(&pn->mu);
    free(pn);
}

/* ---- statistics ------------------------------------------------------------------- */

size_t hf_peer_stats(hf_peer_net_t *pn, hf_peer_stat_t *out, size_t cap)
{
    pthread_mutex_lock(&pn->mu);
    size_t n = 0;
    for (int i = 0; i < pn->npeers && n < cap; i++, n++) {
        peer_t *p = &pn->peers[i];
        hf_peer_stat_t *o = &out[n];
        snprintf(o->id, sizeof o->id, "%s", p->id);
        snprintf(o->addr, sizeof o->addr, "%s", p->addr);
        o->connected = p->conn != NULL && p->conn->state == C_OPEN;
        o->inflight = atomic_load(&p->inflight);
        o->calls = atomic_load(&p->calls);
        o->ok = atomic_load(&p->ok);
        o->timeouts = atomic_load(&p->timeouts);
        o->busy = atomic_load(&p->busy);
        o->failed = atomic_load(&p->failed);
        o->last_rtt_us = atomic_load(&p->last_rtt_us);
        o->last_ok_ms = atomic_load(&p->last_ok_ms);
        o->down_since_ms = atomic_load(&p->down_since_ms);
    }
    pthread_mutex_unlock(&pn->mu);
    return n;
}

int hf_peer_connections(hf_peer_net_t *pn)
{
    return atomic_load(&pn->nconns);
}
