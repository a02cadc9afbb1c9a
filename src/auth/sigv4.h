/*
 * sigv4.h -- AWS Signature Version 4 for S3: verifying requests signed in
 * the Authorization header or in a presigned query string, and signing
 * requests (for holdfast's own clients: the admin CLI, the load generator).
 *
 * Verification is two steps so the caller can look the secret up in between:
 *   hf_sigv4_parse()   reads the auth fields from the request (no secret);
 *   hf_sigv4_verify()  rebuilds the canonical request and string to sign,
 *                      derives the signing key from the secret, compares
 *                      signatures in constant time, and checks the clock.
 * After a successful verify, the signing key and the request's signature are
 * kept in hf_sigv4_t: aws-chunked bodies (chunked.h) chain from them.
 *
 * Canonical request (S3 flavour):
 *   - the canonical URI is the request path percent-decoded once, then
 *     encoded with hf_uri_encode(keep_slash=true); S3 does not normalise
 *     "." / ".." / "//" segments, and neither do we;
 *   - the canonical query is every parameter (minus X-Amz-Signature for a
 *     presigned request) decoded, re-encoded, and sorted by name then value;
 *     a parameter without '=' has an empty value;
 *   - canonical headers are the signed headers, lower-cased names, values
 *     trimmed with inner runs of spaces collapsed to one, several headers of
 *     the same name joined with ',';
 *   - the payload hash is x-amz-content-sha256 (header auth). Presigned:
 *     the X-Amz-Content-Sha256 query parameter if present (the JS SDK v3
 *     presigner puts it there), else the x-amz-content-sha256 header if it
 *     is a signed header (botocore signs it when set), else UNSIGNED-PAYLOAD.
 *
 * Headers that must be signed (else HF_AUTH_ERR_UNSIGNED_HEADER): host, and
 * every x-amz-* header in the request except x-amz-date and
 * x-amz-content-sha256, whose values the signature covers anyway. The
 * reasons and what real clients sign are in sigv4.c. SignedHeaders must be
 * lower-case, sorted and free of duplicates, as every SDK sends it.
 *
 * Ownership: nothing outlives a call (scratch memory for canonicalising is
 * freed before returning); hf_sigv4_t is caller-owned and holds copies of
 * what it needs (its hf_str_t fields borrow from the request).
 * Threads: pure functions over caller-owned state.
 */
#ifndef HF_AUTH_SIGV4_H
#define HF_AUTH_SIGV4_H

#include "base/buf.h"
#include "base/hash.h"
#include "base/limits.h"
#include "base/str.h"
#include "net/http.h"

#include <stdbool.h>
#include <stdint.h>

/* The parts of a request that SigV4 covers. All borrowed from the request. */
typedef struct hf_sigv4_input {
    hf_str_t method;
    hf_str_t path;  /* raw, still percent-encoded, as received */
    hf_str_t query; /* raw query string without '?', possibly empty */
    const hf_http_header_t *headers;
    int nheaders;
} hf_sigv4_input_t;

/* How the request authenticates. */
enum hf_auth_kind {
    HF_AUTH_ANONYMOUS = 0, /* no Authorization header, no X-Amz-Signature */
    HF_AUTH_HEADER = 1,    /* Authorization: AWS4-HMAC-SHA256 ... */
    HF_AUTH_QUERY = 2,     /* presigned URL: X-Amz-Algorithm=AWS4-HMAC-SHA256&... */
    /* Signature Version 2 (auth/sigv2.h): */
    HF_AUTH_V2_HEADER = 3, /* Authorization: AWS AKID:signature */
    HF_AUTH_V2_QUERY = 4,  /* presigned URL: AWSAccessKeyId=...&Expires=...&Signature=... */
    HF_AUTH_V2_POST = 5,   /* POST form: AWSAccessKeyId, policy, signature fields */
};

/* What x-amz-content-sha256 says about the body. */
enum hf_payload_mode {
    HF_PAYLOAD_UNSIGNED = 0,                /* UNSIGNED-PAYLOAD (or presigned without the header) */
    HF_PAYLOAD_SHA256 = 1,                  /* a hex SHA-256 of the body, checked by the caller */
    HF_PAYLOAD_STREAMING_SIGNED = 2,        /* STREAMING-AWS4-HMAC-SHA256-PAYLOAD */
    HF_PAYLOAD_STREAMING_SIGNED_TRAILER = 3,   /* STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER */
    HF_PAYLOAD_STREAMING_UNSIGNED_TRAILER = 4, /* STREAMING-UNSIGNED-PAYLOAD-TRAILER */
};

/* Results of parse and verify (0 = success). src/s3/errors.c maps them to
 * S3 error codes; the comment gives that mapping. */
enum hf_auth_status {
    HF_AUTH_OK = 0,
    HF_AUTH_ERR_HEADER_MALFORMED = 1,  /* AuthorizationHeaderMalformed, 400 */
    HF_AUTH_ERR_QUERY_MALFORMED = 2,   /* AuthorizationQueryParametersError, 400 */
    HF_AUTH_ERR_UNSUPPORTED = 3,       /* InvalidRequest 400: not AWS4-HMAC-SHA256 (e.g. SigV2) */
    HF_AUTH_ERR_SIGNATURE = 4,         /* SignatureDoesNotMatch, 403 */
    HF_AUTH_ERR_SKEWED = 5,            /* RequestTimeTooSkewed, 403 */
    HF_AUTH_ERR_EXPIRED = 6,           /* AccessDenied "Request has expired" / "... not yet valid", 403 */
    HF_AUTH_ERR_NO_DATE = 7,           /* AccessDenied: no valid x-amz-date/Date, 403 */
    HF_AUTH_ERR_CONTENT_SHA256 = 8,    /* InvalidArgument: bad x-amz-content-sha256 value, 400 */
    HF_AUTH_ERR_NO_CONTENT_SHA256 = 9, /* InvalidRequest: header auth without x-amz-content-sha256, 400 */
    HF_AUTH_ERR_REGION = 10,           /* AuthorizationHeaderMalformed / ...QueryParametersError: wrong region, 400 */
    HF_AUTH_ERR_UNSIGNED_HEADER = 11,  /* AccessDenied: host or an x-amz-* header is present but not signed, 403 */
    HF_AUTH_ERR_BOTH = 12,             /* InvalidArgument: header and query auth in one request, 400 */
    HF_AUTH_ERR_INTERNAL = 13,         /* InternalError (out of memory while canonicalising), 500 */
    HF_AUTH_ERR_INVALID_ARGUMENT = 14, /* InvalidArgument: a malformed V2 Authorization header, 400 */
    HF_AUTH_ERR_DENIED = 15,           /* AccessDenied: V2 query parameters missing or malformed, 403 */
};

/* Optional debugging output of verify: the canonical request and string to
 * sign holdfast computed (S3 returns them in SignatureDoesNotMatch errors). */
typedef struct hf_sigv4_debug {
    hf_buf_t canonical_request;
    hf_buf_t string_to_sign;
} hf_sigv4_debug_t;

typedef struct hf_sigv4 {
    enum hf_auth_kind kind;
    char access_key[HF_ACCESS_KEY_MAX + 1];
    char date[9];       /* YYYYMMDD of the credential scope */
    char amz_date[17];  /* YYYYMMDDTHHMMSSZ: x-amz-date, Date (converted), or X-Amz-Date */
    char region[HF_REGION_MAX + 1];
    char service[32];
    char scope[9 + HF_REGION_MAX + 1 + 32 + 14]; /* date/region/service/aws4_request */
    hf_str_t signed_headers;           /* "host;x-amz-date" as sent (presigned: still
                                          %-encoded as in the URL); borrowed */
    unsigned char signature[HF_SHA256_LEN]; /* as sent, hex-decoded */
    int64_t request_time;              /* seconds since epoch, from amz_date */
    int64_t expires;                   /* presigned: X-Amz-Expires, seconds; else 0 */
    enum hf_payload_mode payload_mode;
    unsigned char payload_sha256[HF_SHA256_LEN]; /* when payload_mode == HF_PAYLOAD_SHA256 */
    /* Set by a successful hf_sigv4_verify: */
    unsigned char signing_key[HF_SHA256_LEN];
} hf_sigv4_t;

/* Read the authentication fields of a request into a (no secret needed),
 * checking everything that needs no secret: syntax, scope, request date,
 * x-amz-content-sha256, the signed-header rule above.
 * Returns HF_AUTH_OK (a->kind says which kind; for HF_AUTH_ANONYMOUS nothing
 * else is set except payload_mode, from x-amz-content-sha256 if present) or
 * an hf_auth_status with msg (NUL-terminated, truncated to msgcap) saying
 * what is wrong, in words a user can act on. */
int hf_sigv4_parse(const hf_sigv4_input_t *in, hf_sigv4_t *a, char *msg, size_t msgcap);

/* The value of x-amz-content-sha256 (or the X-Amz-Content-Sha256 query
 * parameter) as a payload mode: one of the four literals, or 64 hex digits
 * (then sha256 gets them decoded). HF_AUTH_OK or HF_AUTH_ERR_CONTENT_SHA256
 * with msg saying what is allowed. */
int hf_sigv4_payload(hf_str_t v, enum hf_payload_mode *mode, unsigned char sha256[HF_SHA256_LEN],
                     char *msg, size_t cap);

/* Verify a parsed signature with the secret of a->access_key.
 *   region  the region this server serves; the scope must name it.
 *   now     seconds since epoch.
 * Header auth: |now - request_time| <= HF_CLOCK_SKEW_MAX_S, else
 * HF_AUTH_ERR_SKEWED. Query auth: 1 <= X-Amz-Expires <= 7 days (checked in
 * parse) and now <= request_time + expires, else HF_AUTH_ERR_EXPIRED; a
 * presigned request dated more than HF_CLOCK_SKEW_MAX_S in the future is
 * HF_AUTH_ERR_EXPIRED too ("Request is not yet valid", as S3 says). The scope's region must equal region exactly
 * (HF_AUTH_ERR_REGION; a caller that serves any region passes a->region);
 * its service must be "s3" (..._MALFORMED otherwise). A signed header absent
 * from the request, or a malformed %-escape in the path or query, is
 * HF_AUTH_ERR_SIGNATURE with msg saying so. Signatures are compared with
 * hf_ct_equal. dbg may be NULL; its buffers (initialised by the caller, with
 * their own caps) receive the canonical request and string to sign. On
 * HF_AUTH_OK, a->signing_key is set; otherwise it is zeroed. */
int hf_sigv4_verify(const hf_sigv4_input_t *in, hf_sigv4_t *a, const char *secret,
                    const char *region, int64_t now, hf_sigv4_debug_t *dbg, char *msg,
                    size_t msgcap);

/* kDate -> kRegion -> kService -> kSigning, as AWS defines it. */
void hf_sigv4_signing_key(const char *secret, const char *date, const char *region,
                          const char *service, unsigned char out[HF_SHA256_LEN]);

/* Signature of one aws-chunked chunk:
 *   HMAC(key, "AWS4-HMAC-SHA256-PAYLOAD\n" amz_date "\n" scope "\n"
 *             hex(prev) "\n" hex(sha256("")) "\n" hex(chunk_sha256)) */
void hf_sigv4_chunk_signature(const unsigned char key[HF_SHA256_LEN], const char *amz_date,
                              const char *scope, const unsigned char prev[HF_SHA256_LEN],
                              const unsigned char chunk_sha256[HF_SHA256_LEN],
                              unsigned char out[HF_SHA256_LEN]);

/* Signature of the trailer of a signed-trailer body:
 *   HMAC(key, "AWS4-HMAC-SHA256-TRAILER\n" amz_date "\n" scope "\n"
 *             hex(prev) "\n" hex(sha256(trailer_lines))) */
void hf_sigv4_trailer_signature(const unsigned char key[HF_SHA256_LEN], const char *amz_date,
                                const char *scope, const unsigned char prev[HF_SHA256_LEN],
                                const unsigned char trailer_sha256[HF_SHA256_LEN],
                                unsigned char out[HF_SHA256_LEN]);

/* Client side: compute "AWS4-HMAC-SHA256 Credential=..., SignedHeaders=...,
 * Signature=..." for a request. in->headers must contain every header
 * named in signed_headers (lower-case, ';'-separated, sorted), normally
 * host;x-amz-content-sha256;x-amz-date. payload_hash is the value of
 * x-amz-content-sha256. Writes a NUL-terminated value to out; returns
 * HF_OK, HF_E_TOOBIG if cap is too small, HF_E_INVAL on bad input. */
int hf_sigv4_sign_header(const hf_sigv4_input_t *in, const char *access_key, const char *secret,
                         const char *region, const char *service, const char *amz_date,
                         const char *signed_headers, const char *payload_hash, char *out,
                         size_t cap);

#endif /* HF_AUTH_SIGV4_H */
