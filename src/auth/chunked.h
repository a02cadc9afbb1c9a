/*
 * chunked.h -- decoder for aws-chunked request bodies (Content-Encoding:
 * aws-chunked), in the three forms S3 clients send:
 *
 *   STREAMING-AWS4-HMAC-SHA256-PAYLOAD          (signed chunks)
 *       <hex-size>;chunk-signature=<64 hex>\r\n <data> \r\n ...
 *       0;chunk-signature=<64 hex>\r\n \r\n
 *   STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER  (signed chunks + signed trailer)
 *       ... 0;chunk-signature=<64 hex>\r\n
 *       x-amz-checksum-crc32:<base64>\r\n
 *       x-amz-trailer-signature:<64 hex>\r\n \r\n
 *   STREAMING-UNSIGNED-PAYLOAD-TRAILER           (unsigned chunks + trailer)
 *       <hex-size>\r\n <data> \r\n ... 0\r\n
 *       x-amz-checksum-crc32c:<base64>\r\n \r\n
 *
 * Every chunk signature is checked as its chunk ends, chained from the
 * request's seed signature (sigv4.h); a bad one stops decoding at once with
 * HF_E_AUTH, so no unauthenticated byte is passed on beyond the chunk being
 * checked. The decoder does not compute or compare checksums of the
 * payload: it hands the trailer values to the caller, who hashes the
 * decoded bytes anyway (one pass, base/hash.h).
 *
 * Framing accepted (what the AWS SDKs send; see chunked.c for the survey):
 * size lines in either hex case; in the unsigned mode a ";name=value"
 * extension is skipped; in the signed modes the extension must be exactly
 * ";chunk-signature=<64 hex>". Trailer names are lower-cased, values
 * trimmed; a trailer signature, when sent, must be the last trailer line.
 * The body ends with an empty line after the final chunk or the trailers.
 * A body that stops one step short of that (no final CRLF, or no CRLF after
 * the last trailer line) is complete only when the caller says the input
 * has ended, with hf_awschunked_finish().
 *
 * Limits: size lines and each trailer line HF_HTTP_CHUNK_LINE_MAX, the
 * trailer section HF_HTTP_TRAILER_MAX, at most HF_AWSCHUNKED_TRAILERS_MAX
 * trailers, chunk sizes at most HF_HTTP_CHUNK_SIZE_DIGITS hex digits.
 *
 * Ownership: the decoder is caller-owned (init/free); trailer strings point
 * into it and are valid until hf_awschunked_free.
 * Threads: single owner.
 */
#ifndef HF_AUTH_CHUNKED_H
#define HF_AUTH_CHUNKED_H

#include "auth/sigv4.h"
#include "base/hash.h"
#include "base/limits.h"
#include "base/str.h"

#include <stdbool.h>
#include <stdint.h>

#define HF_AWSCHUNKED_TRAILERS_MAX 8

typedef struct hf_awschunked {
    enum hf_payload_mode mode; /* one of the three STREAMING modes */
    int state;                 /* internal; < 0: failed with that error (sticky) */
    bool done;
    const char *why;           /* static text describing the last error */

    /* Signing chain (signed modes). */
    unsigned char key[HF_SHA256_LEN];
    char amz_date[17];
    char scope[sizeof(((hf_sigv4_t *)0)->scope)];
    unsigned char prev_sig[HF_SHA256_LEN];
    unsigned char chunk_sig[HF_SHA256_LEN]; /* signature announced for the current chunk */
    hf_digest_t chunk_sha;                  /* SHA-256 of the current chunk's data */

    uint64_t remaining; /* data bytes left in the current chunk */
    uint64_t decoded;   /* payload bytes produced so far */

    char line[HF_HTTP_CHUNK_LINE_MAX];
    size_t linelen;

    char trailer[HF_HTTP_TRAILER_MAX]; /* raw trailer section */
    size_t trailerlen;
    int ntrailers;
    bool have_trailer_sig;                    /* x-amz-trailer-signature seen */
    unsigned char trailer_sig[HF_SHA256_LEN]; /* its value, hex-decoded */
    struct {
        hf_str_t name;  /* lower-case, points into trailer[] */
        hf_str_t value; /* trimmed, points into trailer[] */
    } trailers[HF_AWSCHUNKED_TRAILERS_MAX];
} hf_awschunked_t;

/* Prepare to decode a body in mode (one of the STREAMING payload modes).
 * For the signed modes, auth must be a successfully verified hf_sigv4_t: its
 * signing key, amz_date, scope and signature (the seed) start the chain.
 * Returns HF_OK, HF_E_INVAL for a non-streaming mode, -ENOMEM. */
int hf_awschunked_init(hf_awschunked_t *d, enum hf_payload_mode mode, const hf_sigv4_t *auth);

/* Decode from in[0..inlen) into out[0..outcap); sets *consumed and *produced.
 * Returns:
 *   HF_OK         progress made (or the body is done: hf_awschunked_done());
 *                 bytes after the end of the body are not consumed
 *   HF_E_PROTO    malformed framing (d->why says how) -- S3 answers 400
 *   HF_E_AUTH     a chunk or trailer signature does not match -- 403
 *                 SignatureDoesNotMatch
 *   HF_E_TOOBIG   a line or the trailer section exceeds its limit -- 400
 * Makes progress whenever inlen > 0 and outcap > 0 and the body is not done. */
int hf_awschunked_decode(hf_awschunked_t *d, const char *in, size_t inlen, size_t *consumed,
                         char *out, size_t outcap, size_t *produced);

bool hf_awschunked_done(const hf_awschunked_t *d);

/* The input has ended (the transport delivered the whole encoded body).
 * Returns HF_OK if the body is complete -- already done, or missing only its
 * final CRLF -- and then hf_awschunked_done() is true; otherwise HF_E_PROTO
 * (truncated body), or HF_E_AUTH if the trailer signature checked here does
 * not match. Calling it on a finished body is harmless. */
int hf_awschunked_finish(hf_awschunked_t *d);

/* The value of trailer name (lower-case), or NULL if it was not sent. Valid
 * once the body is done. */
const hf_str_t *hf_awschunked_trailer(const hf_awschunked_t *d, const char *name);

void hf_awschunked_free(hf_awschunked_t *d);

#endif /* HF_AUTH_CHUNKED_H */
