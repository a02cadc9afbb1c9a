/*
 * server.h -- the HTTP/1.1 server: listening socket, connections, a fixed
 * pool of worker threads, request bodies and responses. Knows nothing of S3:
 * a handler function gets each request (h2o's on_req).
 *
 * Model (see docs/architecture.md, "Waiting without a thread"):
 *   - a fixed group of event-loop threads (net/loop.h), W set at start and
 *     never grown with load, connections or (later) peers;
 *   - a connection belongs to the loop that accepted it; an idle keep-alive
 *     connection costs a slot in a fixed table and no fiber, no buffer;
 *   - the head is read without blocking; a partial head is kept aside (a
 *     slow client costs a slot, never a thread or a fiber);
 *   - once a head is complete a fiber (base/fiber.h) runs the handler to
 *     the end. Request code is straight sequential C that streams bodies
 *     without callbacks; where it would wait -- for the client, a disk
 *     call, a metadata commit -- its fiber parks and the loop serves other
 *     connections. A waiting request costs its memory, never a thread.
 * How many requests run at once is decided above this layer (guard/), by
 * what the machine can do, not by the thread count.
 *
 * HTTPS (cfg.tls): the same model. The TLS handshake is one more
 * non-blocking step before the first head, resumed when the socket is
 * ready in the direction OpenSSL asks for and bounded by the head timeout;
 * after it, handlers read and write exactly as on a plain connection
 * (net/tls.h does the rest), and hf_req_t.tls tells them the request came
 * over TLS.
 *
 * Connection slots live in one array that is never freed while the server
 * runs; a slot is touched only by the loop that owns its connection.
 *
 * Ownership: hf_server_t is created and destroyed by its owner. A hf_req_t
 * is owned by the server and lent to the handler for the duration of one
 * call; everything in it (and its arena) is valid until the handler
 * returns. The handler runs on a fiber: it may park (through the calls
 * below, storage calls, base/iopool.h) but must not block its thread.
 */
#ifndef HF_NET_SERVER_H
#define HF_NET_SERVER_H

#include "base/arena.h"
#include "base/buf.h"
#include "net/http.h"
#include "net/loop.h"
#include "net/tls.h"

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct hf_server hf_server_t;
typedef struct hf_req hf_req_t;

typedef void (*hf_handler_fn)(void *ctx, hf_req_t *r);

typedef struct hf_server_config {
    const char *name;         /* for logs: "s3", "status" */
    const char *listen;       /* "HOST:PORT"; IPv6 as "[::1]:9000"; port 0 picks one */
    int workers;              /* event-loop threads (1..HF_WORKERS_MAX) */
    int max_conns;            /* open connections before refusing (HF_CONN_MAX_DEFAULT) */
    int max_conns_per_addr;   /* open connections from one client address; 0: no cap */
    int min_rate;             /* bytes/s a body or response must keep moving at, on
                               * average over io_timeout_ms (0: HF_IO_MIN_RATE) */
    bool report_load;         /* feed the loops' queue delay to base/load.h */
    int head_timeout_ms;      /* 0: HF_HEAD_TIMEOUT_MS */
    int idle_timeout_ms;      /* 0: HF_IDLE_TIMEOUT_MS */
    int io_timeout_ms;        /* 0: HF_IO_TIMEOUT_MS */
    int request_timeout_ms;   /* whole request, head to last byte; 0: HF_REQUEST_TIMEOUT_MS */
    int thread_nice;          /* nice value for the loops (0: inherit); negative needs
                               * CAP_SYS_NICE and is skipped without it */
    hf_handler_fn handler;
    void *ctx;
    /* Optional: fill the response sent when a head cannot be parsed or a
     * connection is refused (status 400/431/503...), e.g. an S3 error
     * document. Called on a loop thread; body is a capped buffer; set
     * *content_type. NULL: a plain-text body. */
    void (*error_body)(void *ctx, int status, const char *why, hf_buf_t *body,
                       const char **content_type);
    /* Optional: serve HTTPS with these settings (borrowed; must outlive the
     * server). NULL: plain HTTP. Handshakes run on the loops without
     * blocking and must finish within head_timeout_ms of accept; a plain
     * HTTP request is answered 400 in clear text and closed. Connections
     * over max_conns are closed without an answer. */
    hf_tls_t *tls;
} hf_server_config_t;

typedef struct hf_server_stats {
    uint64_t conns_open;      /* gauge */
    uint64_t conns_total;
    uint64_t conns_refused;   /* over max_conns or max_conns_per_addr */
    uint64_t conns_refused_addr; /* of those, over max_conns_per_addr */
    uint64_t fibers;          /* gauge: connections being served by a fiber */
    uint64_t requests;
    uint64_t requests_inflight; /* gauge */
    uint64_t bad_requests;    /* heads refused by the parser */
    uint64_t timeouts;        /* heads, idles and I/O that timed out */
    uint64_t bytes_in;
    uint64_t bytes_out;
    uint64_t deadlines;       /* requests cut off at request_timeout_ms */
    int workers, max_conns;   /* configuration, for the status page */
    bool tls;                 /* HTTPS listener: the fields below apply */
    uint64_t tls_handshakes;  /* completed */
    uint64_t tls_handshake_failures; /* refused or broken (timeouts count in timeouts) */
    uint64_t tls_plain_requests;     /* plain HTTP sent to the HTTPS port */
    hf_tls_info_t tls_info;   /* the certificate in use, reload counts */
} hf_server_stats_t;

/* Bind and listen (so address errors surface before anything starts).
 * *out is owned by the caller. Errors: HF_E_INVAL (bad address), negative
 * errno (EADDRINUSE, EACCES...). */
int hf_server_create(const hf_server_config_t *cfg, hf_server_t **out);

/* The server's event loops (for other users of the same threads, such as
 * the peer transport). Valid until destroy. */
hf_loops_t *hf_server_loops(hf_server_t *s);

/* The port actually bound (useful with port 0). */
int hf_server_port(const hf_server_t *s);

/* Start the loop threads. Errors: negative errno. */
int hf_server_start(hf_server_t *s);

/* Stop: close the listener, let in-flight requests finish for up to
 * grace_ms, then abort the rest (their sockets are shut down, so the
 * handlers' reads and writes fail and they unwind), close every connection
 * and join the workers. Safe to call once after start. */
void hf_server_stop(hf_server_t *s, int grace_ms);

/* Free everything (after stop, or if never started). */
void hf_server_destroy(hf_server_t *s);

void hf_server_stats(const hf_server_t *s, hf_server_stats_t *out);

/* ---- the request, as a handler sees it ---------------------------------- */

struct hf_req {
    hf_http_req_t http;   /* parsed head; strings point into the server's buffer */
    hf_arena_t arena;     /* request-lifetime memory, reset after the response */
    char id[17];          /* request id: 16 upper-case hex digits */
    char peer[64];        /* client address "ip:port" */
    char addr[48];        /* client address without the port */
    int64_t start_ms;     /* monotonic, when the head was complete */
    bool is_head;         /* method is HEAD: response bodies are not sent */
    bool tls;             /* the connection is HTTPS (aws:SecureTransport) */
    void *server_private; /* the server's per-request state */
};

/* Read up to n bytes of the request body (Content-Length or chunked framing
 * removed). Sends "100 Continue" first if the client asked for it. Returns
 * the byte count, 0 at the end of the body, or an error: HF_E_TIMEOUT (no
 * progress within the I/O timeout), HF_E_CLOSED (peer closed early),
 * HF_E_PROTO (bad chunked framing), negative errno. After an error the
 * connection will be closed after the response. */
ssize_t hf_req_read(hf_req_t *r, void *buf, size_t n);

/* Read the whole body into b (capped by b->max: HF_E_TOOBIG beyond it). */
int hf_req_read_all(hf_req_t *r, hf_buf_t *b);

/* Body length declared by Content-Length, or -1 (none, or chunked). */
int64_t hf_req_content_length(const hf_req_t *r);

/* true once the whole body has been read. */
bool hf_req_body_done(const hf_req_t *r);

/* Add a response header (copied into the arena). Must precede the head
 * being sent. Content-Length, Date, Server and Connection are added by the
 * server. */
void hf_resp_header(hf_req_t *r, const char *name, const char *value);
void hf_resp_headerf(hf_req_t *r, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Send a complete response with a body held in memory (len may be 0). */
int hf_resp_send(hf_req_t *r, int status, const void *body, size_t len);

/* Start a streamed response of exactly content_length bytes; the head is
 * sent together with the first body bytes. Then hf_resp_write the body and
 * hf_resp_end. For HEAD requests the writes are counted but not sent. */
int hf_resp_begin(hf_req_t *r, int status, uint64_t content_length);
int hf_resp_write(hf_req_t *r, const void *p, size_t n);
int hf_resp_end(hf_req_t *r);

/* Abort a response that cannot be completed (e.g. storage failed after
 * the head was sent): the connection is closed so the client sees a short
 * body instead of wrong bytes. */
void hf_resp_abort(hf_req_t *r);

/* true if a response head has been sent (or queued) for this request. */
bool hf_resp_started(const hf_req_t *r);

/* Close the connection after this response even if keep-alive was asked. */
void hf_resp_close_after(hf_req_t *r);

/* Monotonic ms by which the request must be finished; socket I/O past it
 * fails with HF_E_TIMEOUT (the connection is then closed). */
int64_t hf_req_deadline_ms(const hf_req_t *r);

/* true if there is no point in doing more work for this request: the
 * client hung up, the connection broke, or the deadline passed. Cheap (one
 * poll with no wait); for work that waits before it starts (admission
 * queues), so that requests nobody waits for are dropped, not served. */
bool hf_req_client_gone(hf_req_t *r);

/* Status of the response sent (0 if none yet) and body bytes sent. */
int hf_resp_status(const hf_req_t *r);
uint64_t hf_resp_bytes(const hf_req_t *r);
uint64_t hf_req_bytes(const hf_req_t *r);

#endif /* HF_NET_SERVER_H */
