/*
 * etcd.h -- a client of etcd's v3 API through its JSON gateway (the
 * grpc-gateway every etcd 3.4 member serves at /v3/ on its client port):
 * ranges, transactions (compare-and-swap on mod_revision, version,
 * create_revision or value), leases, and watches. It knows nothing of
 * holdfast's data: keys and values are bytes.
 *
 * Endpoints. A client holds several endpoints ("HOST:PORT" of each member)
 * and talks to one at a time. A call that cannot reach the current one
 * (refused, reset, timed out, or a gateway answer saying the member is
 * unavailable or has no leader) moves to the next and tries again, while
 * the call's deadline lasts. Every call takes a deadline (monotonic ms,
 * base/time.h); no call waits past it.
 *
 * Retries and ambiguity. Reads and lease calls are retried on the next
 * endpoint whatever went wrong. A transaction is retried only when it
 * certainly did not reach a member (the connection was refused or never
 * made); if it was sent and no answer came, HF_E_TIMEOUT says its outcome
 * is unknown, and the caller reads back what it wrote to find out (a
 * compare-and-swap that carries a unique value can always tell).
 *
 * Wire format (what the gateway takes and gives): JSON objects whose
 * keys and values are base64 and whose 64-bit numbers are decimal
 * strings. Responses are parsed with jansson and bounded by
 * HF_ETCD_RESPONSE_MAX; a watch's messages are newline-separated JSON
 * objects, each bounded by the same limit.
 *
 * Ownership: hf_etcd_t is created and destroyed by its owner; results
 * (hf_etcd_kvs_t) are owned by the caller and freed with
 * hf_etcd_kvs_free. A watch is owned by its creator.
 * Threads: an hf_etcd_t and its watches are used by one thread at a time
 * (holdfast runs all of a node's etcd traffic on one control-plane
 * thread); libcurl is the only code that touches the sockets. No call
 * starts a thread.
 *
 * Errors: HF_OK; HF_E_INVAL (bad argument or endpoint list);
 * HF_E_TIMEOUT (the deadline passed; for a transaction: outcome unknown);
 * HF_E_CLOSED (no endpoint could be reached); HF_E_PROTO (an answer that
 * is not what the gateway sends); HF_E_TOOBIG (an answer over
 * HF_ETCD_RESPONSE_MAX); HF_E_NOTFOUND (a lease that expired, a key that
 * is absent where one was required); HF_E_VERSION (a watch from a revision
 * etcd has compacted away: read the current state, then watch on);
 * HF_E_STATE (etcd refused the request, e.g. too large; the message is
 * logged); -ENOMEM.
 */
#ifndef HF_ETCD_ETCD_H
#define HF_ETCD_ETCD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Endpoints in one client: a cluster has 3 or 5 members; a few spares
 * (members being replaced) fit. */
#define HF_ETCD_ENDPOINTS_MAX 16
/* "host:port": a DNS name of up to 253 bytes and a port. */
#define HF_ETCD_ENDPOINT_MAX 261
/* The largest answer or watch message read: etcd's own request limit is
 * 1.5 MiB by default, a range holds at most a page of keys (callers pass
 * a limit), and a watch message carries the events of one revision
 * range; 16 MiB is far above any of them for holdfast's small keys and
 * far below memory trouble. A watch message over it ends the watch
 * (HF_E_TOOBIG): the caller reads the state afresh. */
#define HF_ETCD_RESPONSE_MAX (16 * 1024 * 1024)
/* A single connection attempt to one member: loopback and LAN members
 * answer in well under a millisecond; a member that does not answer in
 * this long is skipped for the next. */
#define HF_ETCD_CONNECT_TIMEOUT_MS 1000

typedef struct hf_etcd hf_etcd_t;

/* Parse "host:port[,host:port...]" (at most HF_ETCD_ENDPOINTS_MAX) and set
 * up a client. No connection is made here. HF_E_INVAL with why filled
 * (why may be NULL). */
int hf_etcd_create(const char *endpoints, hf_etcd_t **out, char *why, size_t whycap);
void hf_etcd_destroy(hf_etcd_t *e);

/* The endpoint in use ("host:port"), for messages. Borrowed. */
const char *hf_etcd_endpoint(const hf_etcd_t *e);

/* What the last failed call saw, for messages (borrowed, valid until the
 * next call): e.g. "127.0.0.1:2379: Connection refused". */
const char *hf_etcd_last_error(const hf_etcd_t *e);

/* ---- keys and values ------------------------------------------------------ */

typedef struct hf_etcd_kv {
    char *key;               /* NUL-terminated copy (etcd keys here are text) */
    size_t key_len;
    uint8_t *value;          /* NUL-terminated copy (value_len bytes before the NUL) */
    size_t value_len;
    int64_t create_revision;
    int64_t mod_revision;
    int64_t version;         /* 0 for a deleted key in a watch event */
    int64_t lease;
} hf_etcd_kv_t;

typedef struct hf_etcd_kvs {
    hf_etcd_kv_t *kv;
    size_t n;
    bool more;               /* a range stopped at its limit */
    int64_t revision;        /* the store's revision when the range was read */
} hf_etcd_kvs_t;

void hf_etcd_kvs_free(hf_etcd_kvs_t *r);

/* The end of the range of every key starting with prefix (etcd's
 * "prefix + 1" convention), into out (cap >= strlen(prefix) + 1). */
void hf_etcd_prefix_end(const char *prefix, char *out, size_t cap);

/* Keys in [key, range_end) (range_end NULL: key alone), at revision rev
 * (0: the newest), at most limit of them (0: no limit), in key order.
 * out is filled (and owned by the caller) on HF_OK. */
int hf_etcd_range(hf_etcd_t *e, const char *key, const char *range_end, int64_t rev,
                  int64_t limit, int64_t deadline_ms, hf_etcd_kvs_t *out);

/* ---- transactions -------------------------------------------------------- */

typedef enum hf_etcd_target {
    HF_ETCD_VERSION,         /* the key's version (0: absent) */
    HF_ETCD_CREATE,          /* create_revision (0: absent) */
    HF_ETCD_MOD,             /* mod_revision (0: absent) */
    HF_ETCD_VALUE,           /* the value's bytes */
} hf_etcd_target_t;

typedef enum hf_etcd_result {
    HF_ETCD_EQUAL,
    HF_ETCD_NOT_EQUAL,
    HF_ETCD_LESS,
    HF_ETCD_GREATER,
} hf_etcd_result_t;

typedef struct hf_etcd_cmp {
    const char *key;
    hf_etcd_target_t target;
    hf_etcd_result_t result;
    int64_t n;               /* for VERSION, CREATE, MOD */
    const void *value;       /* for VALUE */
    size_t value_len;
} hf_etcd_cmp_t;

typedef enum hf_etcd_op_kind {
    HF_ETCD_PUT,
    HF_ETCD_DELETE,          /* key, or [key, range_end) */
    HF_ETCD_GET,             /* key, or [key, range_end); results in the txn answer */
} hf_etcd_op_kind_t;

typedef struct hf_etcd_op {
    hf_etcd_op_kind_t kind;
    const char *key;
    const char *range_end;   /* DELETE / GET: NULL for key alone */
    const void *value;       /* PUT */
    size_t value_len;
    int64_t lease;           /* PUT: attach to this lease (0: none) */
} hf_etcd_op_t;

typedef struct hf_etcd_txn_res {
    bool succeeded;          /* every compare held: the success ops ran */
    int64_t revision;        /* the store's revision after the transaction */
    /* The GET ops' results of the branch that ran, in op order (one entry
     * per GET; other ops have none). Owned; freed by hf_etcd_txn_free. */
    hf_etcd_kvs_t *gets;
    size_t ngets;
} hf_etcd_txn_res_t;

void hf_etcd_txn_free(hf_etcd_txn_res_t *r);

/* If every cmp holds, run success ops, else failure ops, atomically (one
 * etcd revision). On HF_OK res says which ran; res is owned by the
 * caller. HF_E_TIMEOUT: the transaction may or may not have been applied
 * (see above). */
int hf_etcd_txn(hf_etcd_t *e, const hf_etcd_cmp_t *cmp, size_t ncmp, const hf_etcd_op_t *success,
                size_t nsuccess, const hf_etcd_op_t *failure, size_t nfailure, int64_t deadline_ms,
                hf_etcd_txn_res_t *res);

/* ---- leases -------------------------------------------------------------- */

/* A lease of ttl_s seconds: *id, and the TTL etcd granted (*granted_s,
 * may be NULL). */
int hf_etcd_lease_grant(hf_etcd_t *e, int64_t ttl_s, int64_t deadline_ms, int64_t *id,
                        int64_t *granted_s);
/* Renew lease id: *ttl_s (may be NULL) the seconds it now has.
 * HF_E_NOTFOUND if it expired (keys attached to it are gone). */
int hf_etcd_lease_keepalive(hf_etcd_t *e, int64_t id, int64_t deadline_ms, int64_t *ttl_s);
/* End lease id now (its keys are deleted). HF_OK also if it had expired. */
int hf_etcd_lease_revoke(hf_etcd_t *e, int64_t id, int64_t deadline_ms);

/* ---- watches ------------------------------------------------------------- */

typedef struct hf_etcd_watch hf_etcd_watch_t;

typedef enum hf_etcd_event_kind { HF_ETCD_EV_PUT, HF_ETCD_EV_DELETE } hf_etcd_event_kind_t;

/* Called for each event in revision order; kv is borrowed for the call.
 * Returning non-zero stops the poll and is returned by it. */
typedef int (*hf_etcd_event_fn)(void *ctx, hf_etcd_event_kind_t kind, const hf_etcd_kv_t *kv);

/* Watch [key, range_end) from revision start_rev (0: from now). The
 * stream is opened on the client's current endpoint; nothing blocks here
 * beyond setting it up. The watch keeps a reference to e (which must
 * outlive it). */
int hf_etcd_watch_open(hf_etcd_t *e, const char *key, const char *range_end, int64_t start_rev,
                       hf_etcd_watch_t **out);
void hf_etcd_watch_close(hf_etcd_watch_t *w);

/* Wait up to timeout_ms for the watch's stream (or a hf_etcd_watch_wakeup
 * from another thread), deliver every complete event to fn, and return.
 * HF_OK: still watching (events delivered or not). Errors end the watch
 * (close it and open another from hf_etcd_watch_revision() + 1 after
 * reading the state): HF_E_CLOSED (the stream ended or broke, e.g. the
 * member stopped), HF_E_VERSION (start_rev was compacted), HF_E_TOOBIG,
 * HF_E_PROTO, or what fn returned. */
int hf_etcd_watch_poll(hf_etcd_watch_t *w, int timeout_ms, hf_etcd_event_fn fn, void *ctx);

/* Why the watch ended, for messages (borrowed; "" while it runs). */
const char *hf_etcd_watch_error(const hf_etcd_watch_t *w);

/* The newest revision the watch has seen complete (events delivered up
 * to and including it); start_rev - 1 until the first message. */
int64_t hf_etcd_watch_revision(const hf_etcd_watch_t *w);

/* Make a hf_etcd_watch_poll waiting now (or the next one) return at once.
 * The one call that is safe from any thread. */
void hf_etcd_watch_wakeup(hf_etcd_watch_t *w);

/* ---- the wire format, for tests and the fuzz harness --------------------- */

/* Parse one range answer (the gateway's JSON) into out. */
int hf_etcd_parse_range(const char *json, size_t n, hf_etcd_kvs_t *out);
/* Parse one watch message; fn gets its events. *rev the message's header
 * revision, *compacted the compact revision if the watch was cancelled
 * for it (else 0), *canceled if the server ended the watch. */
int hf_etcd_parse_watch(const char *json, size_t n, hf_etcd_event_fn fn, void *ctx, int64_t *rev,
                        int64_t *compacted, bool *canceled);

#endif
