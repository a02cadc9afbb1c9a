/*
 * sigv2.h -- AWS Signature Version 2 for S3 ("Signing and authenticating
 * REST requests", S3 developer guide): verifying requests signed in the
 * Authorization header (`AWS AKID:signature`), presigned query strings
 * (AWSAccessKeyId, Expires, Signature), and POST form policies signed with
 * AWSAccessKeyId and signature fields.
 *
 * As with SigV4 (sigv4.h), verification is two steps so the caller can
 * look the secret up in between:
 *   hf_sigv2_parse()   reads the auth fields (no secret): syntax, the
 *                      request time, x-amz-content-sha256;
 *   hf_sigv2_verify()  checks the clock, rebuilds the string to sign,
 *                      computes HMAC-SHA1 with the secret and compares the
 *                      base64 signatures in constant time.
 *
 * The string to sign, as AWS defines it:
 *   HTTP-Verb "\n" Content-MD5 "\n" Content-Type "\n" Date "\n"
 *   CanonicalizedAmzHeaders CanonicalizedResource
 * where
 *   - Content-MD5 and Content-Type are the header values, or empty;
 *   - Date is the Date header, empty when an x-amz-date header is present
 *     (its value is then signed among the x-amz-* headers), and the Expires
 *     parameter for a presigned request;
 *   - CanonicalizedAmzHeaders is every x-amz-* header, names lower-cased,
 *     sorted, values trimmed, several headers of one name joined with ','
 *     in the order sent, each as "name:value\n". A presigned request adds
 *     its x-amz-* query parameters as headers (the AWS SDK for Java signs a
 *     presigned URL's x-amz-* parameters so, botocore moves x-amz-* headers
 *     into the query when presigning);
 *   - CanonicalizedResource is "/" BUCKET for a virtual-hosted request
 *     (vhost_bucket), then the path exactly as sent (not decoded; a
 *     path-style "/bucket" is signed as "/bucket/"), then the
 *     sub-resources of the query (sigv2.c lists them) sorted by name, as
 *     "?name" or "?name=value" joined with '&', values decoded.
 *
 * Statuses are those of sigv4.h (enum hf_auth_status); src/s3/errors.c maps
 * them to S3 errors. Ownership: nothing outlives a call; hf_sigv2_t is
 * caller-owned and holds copies. Threads: pure functions.
 */
#ifndef HF_AUTH_SIGV2_H
#define HF_AUTH_SIGV2_H

#include "auth/sigv4.h"
#include "base/buf.h"
#include "base/hash.h"
#include "base/limits.h"

#include <stdbool.h>
#include <stdint.h>

/* base64 of an HMAC-SHA1: 28 characters. */
#define HF_SIGV2_SIG_LEN 28

/* What S3 answers (InvalidRequest, 400) where Signature Version 2 is not
 * accepted, word for word (what AWS's V4-only regions answer). */
#define HF_SIGV2_REFUSED \
    "The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256."

typedef struct hf_sigv2 {
    enum hf_auth_kind kind;  /* HF_AUTH_V2_HEADER or HF_AUTH_V2_QUERY */
    char access_key[HF_ACCESS_KEY_MAX + 1];
    /* The signature as sent (a presigned one %-decoded), for comparing and
     * for SignatureDoesNotMatch documents; sig_len is its full length
     * (only what fits is kept: a longer one cannot match anyway). */
    char signature[64];
    size_t sig_len;
    int64_t request_time;    /* header auth: x-amz-date, else Date; seconds since epoch */
    int64_t expires;         /* query auth: Expires, seconds since epoch */
    enum hf_payload_mode payload_mode; /* from x-amz-content-sha256: UNSIGNED or SHA256 */
    unsigned char payload_sha256[HF_SHA256_LEN];
} hf_sigv2_t;

/* Does the request authenticate with Signature Version 2? True when the
 * (first) Authorization header's scheme is "AWS", or there is no
 * Authorization header and no X-Amz-Algorithm/-Credential/-Signature
 * parameter but an AWSAccessKeyId or Signature parameter. */
bool hf_sigv2_present(const hf_sigv4_input_t *in);

/* Read the V2 auth fields of a request hf_sigv2_present() accepted into a.
 * Returns HF_AUTH_OK or, with msg (NUL-terminated, truncated to msgcap)
 * saying what is wrong:
 *   HF_AUTH_ERR_BOTH              V2 and V4 (or header and query) at once;
 *   HF_AUTH_ERR_INVALID_ARGUMENT  the header is not "AWS AKID:signature";
 *   HF_AUTH_ERR_NO_DATE           header auth without a valid x-amz-date or
 *                                 Date (an x-amz-date present must be valid);
 *   HF_AUTH_ERR_DENIED            query auth without exactly one each of
 *                                 AWSAccessKeyId, Signature and Expires, or
 *                                 an Expires that is not seconds since epoch;
 *   HF_AUTH_ERR_UNSUPPORTED       x-amz-content-sha256 names aws-chunked
 *                                 (a Signature Version 4 encoding);
 *   HF_AUTH_ERR_CONTENT_SHA256    another bad x-amz-content-sha256.
 * a->access_key is set as soon as it is read (also on most failures). */
int hf_sigv2_parse(const hf_sigv4_input_t *in, hf_sigv2_t *a, char *msg, size_t msgcap);

/* The string to sign of in into out (appended; out's own cap applies).
 * vhost_bucket: the bucket the Host header named (virtual-hosted style), or
 * NULL. expires: the Expires text for a presigned request, NULL for header
 * auth. HF_OK, HF_E_TOOBIG, HF_E_INVAL (a malformed %-escape in the query)
 * or -ENOMEM. */
int hf_sigv2_string_to_sign(const hf_sigv4_input_t *in, const char *vhost_bucket,
                            const char *expires, hf_buf_t *out);

/* Verify a parsed request with the secret of a->access_key at now (seconds
 * since epoch). Header auth: |now - request_time| <= HF_CLOCK_SKEW_MAX_S,
 * else HF_AUTH_ERR_SKEWED. Query auth: now <= expires, else
 * HF_AUTH_ERR_EXPIRED ("Request has expired"); S3 sets no upper bound on a
 * V2 URL's lifetime and neither do we. Then the signature:
 * HF_AUTH_ERR_SIGNATURE if it differs (compared with hf_ct_equal). sts
 * (may be NULL; initialised by the caller, with its own cap) receives the
 * string to sign. HF_AUTH_ERR_INTERNAL when out of memory. */
int hf_sigv2_verify(const hf_sigv4_input_t *in, const char *vhost_bucket, const hf_sigv2_t *a,
                    const char *secret, int64_t now, hf_buf_t *sts, char *msg, size_t msgcap);

/* base64(HMAC-SHA1(secret, msg)) into out (NUL-terminated). */
void hf_sigv2_sign(const char *secret, const void *msg, size_t n, char out[HF_SIGV2_SIG_LEN + 1]);

/* A V2 POST form's signature: base64(HMAC-SHA1(secret, policy)) over the
 * policy field exactly as sent (its base64 text), compared in constant time
 * with sig. */
bool hf_sigv2_policy_ok(const char *secret, const char *policy, size_t policy_len,
                        const char *sig, size_t sig_len);

#endif /* HF_AUTH_SIGV2_H */
