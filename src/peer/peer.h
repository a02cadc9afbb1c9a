/*
 * peer.h -- the node-to-node transport: authenticated, multiplexed calls
 * between cluster nodes, on the server's own event loops.
 *
 * Why this shape (docs/cluster.md, "Transport"; the Kinesis 2020 and EBS
 * 2011 lessons):
 *   - no thread per peer, per connection or per call: a connection belongs
 *     to one event loop (net/loop.h) and is served by two fibers (a reader
 *     and a writer); a call is a parked fiber. A node's thread count does
 *     not depend on how many peers it has;
 *   - one connection per peer pair in the usual case (a node dials a peer
 *     it has no connection to; either side may then call over it; two
 *     nodes dialling each other at once briefly have two), so descriptors
 *     are a constant plus the peers a node talks to;
 *   - every call has a deadline, carried to the callee, and a slow or
 *     stopped peer costs only the calls that need it: a per-peer cap on
 *     calls waiting for it (HF_E_BUSY past it, at once) and on bytes queued
 *     to it, and a dial that fails backs off (capped, jittered) while calls
 *     to that peer fail fast;
 *   - both sides prove they hold the cluster secret before anything else
 *     is read (HMAC-SHA256 over both nodes' ids and fresh nonces), and the
 *     dialler checks that it reached the node it meant. A node with a wrong
 *     secret is refused, and the log says so.
 *
 * Wire format (docs/internals/FORMAT-peer.md): frames of a 20-byte header
 * -- payload length (u32), type (u8), flags (u8), method (u16), status or
 * deadline (u32), call id (u64), all big-endian -- then the payload, at most
 * HF_PEER_FRAME_MAX bytes.
 *
 * Threads: create/start/stop/destroy from the owner; hf_peer_call from a
 * fiber on any loop of the group; hf_peer_stats from any thread (it never
 * waits for a peer). The handler runs on a fiber of the loop that owns the
 * connection the request came on, and may park.
 */
#ifndef HF_PEER_PEER_H
#define HF_PEER_PEER_H

#include "base/buf.h"
#include "base/limits.h"
#include "net/loop.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct hf_peer_net hf_peer_net_t;

/* Answers a peer's request: fill resp (capped at HF_PEER_FRAME_MAX) and
 * return a status sent back to the caller (HF_OK or a negative hf_err). */
typedef int (*hf_peer_handler_fn)(void *ctx, const char *from_node, uint16_t method,
                                  const void *req, size_t n, int64_t deadline_ms, hf_buf_t *resp);

typedef struct hf_peer_config {
    hf_loops_t *loops;          /* connections live on these (borrowed) */
    const char *listen;         /* "HOST:PORT" for peers to dial; NULL: dial only */
    const char *node_id;        /* this node (copied; at most HF_NODE_ID_MAX bytes) */
    const uint8_t *secret;      /* the cluster secret (copied) */
    size_t secret_len;
    int max_calls_per_peer;     /* calls waiting for one peer; 0: HF_PEER_CALLS_DEFAULT */
    hf_peer_handler_fn handler; /* NULL: every request is answered HF_E_STATE */
    void *ctx;
} hf_peer_config_t;

/* Bind the listener (if any). *out is owned by the caller. Errors: HF_E_INVAL
 * (bad address, id or secret), negative errno. */
int hf_peer_net_create(const hf_peer_config_t *cfg, hf_peer_net_t **out);

/* The port the listener bound (useful with port 0), or 0. */
int hf_peer_port(const hf_peer_net_t *pn);

/* Start accepting on the loops (after hf_loops_start). */
int hf_peer_net_start(hf_peer_net_t *pn);

/* Stop accepting and close every connection; calls in flight end with
 * HF_E_CLOSED. From the owner's thread, while the loops still run. */
void hf_peer_net_stop(hf_peer_net_t *pn);

/* Free (after stop and after the loops stopped). */
void hf_peer_net_destroy(hf_peer_net_t *pn);

/* From a fiber on one of the loops: send request `method` with req[0..n)
 * to node peer_id at addr ("HOST:PORT") and wait for its answer until
 * deadline_ms (monotonic). On HF_OK, resp holds the answer and *status the
 * handler's status. Errors: HF_E_TIMEOUT (the deadline passed; the request
 * may or may not have run), HF_E_BUSY (too many calls already wait for that
 * peer, or too many bytes are queued to it: backpressure, nothing sent),
 * HF_E_CLOSED (no connection: the peer is unreachable or backing off, or
 * the connection broke; the request may or may not have run), HF_E_AUTH
 * (the peer is not peer_id, or its secret differs), HF_E_TOOBIG (n above
 * HF_PEER_FRAME_MAX), HF_E_INVAL. */
int hf_peer_call(hf_peer_net_t *pn, const char *peer_id, const char *addr, uint16_t method,
                 const void *req, size_t n, int64_t deadline_ms, hf_buf_t *resp, int *status);

typedef struct hf_peer_stat {
    char id[HF_NODE_ID_MAX + 1];
    char addr[HF_ADDR_MAX + 1];
    bool connected;
    int inflight;           /* calls waiting for it now */
    uint64_t calls, ok, timeouts, busy, failed;
    int64_t last_rtt_us;    /* of the last answered call; -1 if none */
    int64_t last_ok_ms;     /* monotonic; 0 if never */
    int64_t down_since_ms;  /* monotonic; 0 while up or never tried */
} hf_peer_stat_t;

/* Copy up to cap peers' counters; returns how many. Never waits. */
size_t hf_peer_stats(hf_peer_net_t *pn, hf_peer_stat_t *out, size_t cap);

/* Open peer connections now (a gauge, for the fd accounting). */
int hf_peer_connections(hf_peer_net_t *pn);

#endif /* HF_PEER_PEER_H */
