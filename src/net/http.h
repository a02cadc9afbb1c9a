/*
 * http.h -- HTTP/1.1 request framing: a strict head parser and a streaming
 * decoder for Transfer-Encoding: chunked. Knows nothing of S3.
 *
 * Strictness is a security property here (request smuggling lives in the
 * gaps between lenient parsers), so the parser refuses rather than guesses:
 *   1. Lines end in CRLF. A bare LF or a CR not followed by LF is a 400.
 *   2. Request line is METHOD SP request-target SP HTTP/1.x, single spaces.
 *      Versions other than HTTP/1.0 and HTTP/1.1 answer 505. A method longer
 *      than HF_HTTP_METHOD_MAX answers 501. The target must be origin-form
 *      ('/' then visible ASCII other than '#'); absolute-form and "*" are a
 *      400.
 *   3. A header name is an RFC 9110 token, followed directly by ':'. Any
 *      whitespace before the colon, an empty name, or obs-fold (a line
 *      starting with SP/HTAB) is a 400.
 *   4. Header values: leading and trailing SP/HTAB trimmed; control bytes
 *      other than HTAB (including CR and NUL) are a 400. Bytes >= 0x80 are
 *      allowed (obs-text).
 *   5. Content-Length: 1*DIGIT (at most 19 digits, at most INT64_MAX),
 *      given at most once.
 *      Two Content-Length headers, or Content-Length with Transfer-Encoding,
 *      is a 400.
 *   6. Transfer-Encoding must be exactly "chunked" (case-insensitive), in
 *      one header line. A list ending in a single "chunked" ("gzip, chunked")
 *      answers 501; any other value ("identity", "chunked, chunked",
 *      "chunked, gzip"), a second Transfer-Encoding line, or any
 *      Transfer-Encoding on HTTP/1.0 is a 400 (RFC 9112 6.1, 6.3).
 *   7. HTTP/1.1 needs exactly one Host header (400 otherwise); more than one
 *      is a 400 on HTTP/1.0 too, and so is a Host value with characters
 *      outside reg-name / IP-literal / port.
 *   8. The head is at most HF_HTTP_HEAD_MAX bytes and HF_HTTP_HEADERS_MAX
 *      header lines (431 otherwise); the target at most HF_HTTP_URL_MAX (414).
 *   9. Expect: 100-continue sets expect_continue (left false on HTTP/1.0,
 *      whose clients cannot wait for a 100); any other expectation answers
 *      417.
 *
 * Ownership: every hf_str_t in a parsed request points into the caller's
 * buffer and is valid as long as that buffer is unchanged.
 * Threads: pure functions over caller-owned state.
 */
#ifndef HF_NET_HTTP_H
#define HF_NET_HTTP_H

#include "base/limits.h"
#include "base/str.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct hf_http_header {
    hf_str_t name;  /* as sent (case preserved); compare case-insensitively */
    hf_str_t value; /* trimmed */
} hf_http_header_t;

typedef struct hf_http_req {
    hf_str_t method;  /* e.g. "GET" */
    hf_str_t target;  /* request-target as sent: "/bucket/key?x=y" */
    hf_str_t path;    /* target up to '?', still percent-encoded */
    hf_str_t query;   /* after '?' (without it); empty if none */
    int minor;        /* 0 for HTTP/1.0, 1 for HTTP/1.1 */
    int nheaders;
    hf_http_header_t headers[HF_HTTP_HEADERS_MAX];

    /* Derived while parsing: */
    int64_t content_length; /* -1 when absent */
    bool chunked;           /* Transfer-Encoding: chunked */
    bool keep_alive;        /* per version and Connection header */
    bool expect_continue;   /* Expect: 100-continue */
    hf_str_t host;          /* value of Host (empty on HTTP/1.0 without it) */
    size_t head_len;        /* bytes of the head, including the final CRLF */
} hf_http_req_t;

/* Parse a request head from buf[0..len).
 *
 * Returns:
 *   > 0   the head is complete; the value is head_len (bytes consumed).
 *   0     the head is incomplete and may still be valid: read more bytes.
 *         (If len already reached HF_HTTP_HEAD_MAX, the result is not 0 but
 *         HF_E_TOOBIG.)
 *   < 0   the head is invalid: HF_E_PROTO or HF_E_TOOBIG. *status is set to
 *         the HTTP status to answer (400, 414, 417, 431, 501, 505) and *why
 *         to a static text saying what was wrong.
 * req is meaningful only on success (the parser uses it as scratch space
 * otherwise). Leading empty lines (CRLF) before the
 * request line are skipped, as RFC 9112 2.2 allows, and counted in head_len. */
int hf_http_parse_head(const char *buf, size_t len, hf_http_req_t *req, int *status,
                       const char **why);

/* The first header called name (case-insensitive), or NULL. */
const hf_http_header_t *hf_http_find(const hf_http_req_t *req, const char *name);
/* How many headers are called name. */
int hf_http_count(const hf_http_req_t *req, const char *name);

/* Streaming decoder for Transfer-Encoding: chunked (RFC 9112 7.1).
 * Chunk extensions are skipped (bounded by HF_HTTP_CHUNK_LINE_MAX); a
 * trailer section is read and discarded (bounded by HF_HTTP_TRAILER_MAX). */
typedef struct hf_http_chunked {
    int state;
    uint64_t remaining; /* data bytes left in the current chunk */
    size_t line;        /* bytes of the current size/extension/trailer line */
    size_t trailer;     /* bytes of trailer section so far */
    int digits;
    bool done;
} hf_http_chunked_t;

void hf_http_chunked_init(hf_http_chunked_t *c);

/* Decode from in[0..inlen) into out[0..outcap). Sets *consumed (bytes of in
 * used) and *produced (bytes written to out). Returns HF_OK (check
 * hf_http_chunked_done() for the end of the body; bytes after the end are
 * not consumed) or HF_E_PROTO on malformed framing. Makes progress whenever
 * inlen > 0 and outcap > 0 and the body is not done. */
int hf_http_chunked_decode(hf_http_chunked_t *c, const char *in, size_t inlen, size_t *consumed,
                           char *out, size_t outcap, size_t *produced);
bool hf_http_chunked_done(const hf_http_chunked_t *c);

/* The reason phrase for a status code ("OK", "Not Found"...). */
const char *hf_http_reason(int status);

#endif /* HF_NET_HTTP_H */
