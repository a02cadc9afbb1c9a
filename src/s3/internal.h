/*
 * internal.h -- what the S3 handlers share: the per-request context, the
 * body reader, response helpers and the operation table. Not used outside
 * src/s3.
 *
 * Every handler sends exactly one response: either a success through the
 * hf_resp_* calls, or an error through s3_fail(), which writes the S3 error
 * document. Handlers return nothing; s3_fail's return value (always -1)
 * lets them write `return s3_fail(...)`-style early exits in helpers.
 */
#ifndef HF_S3_INTERNAL_H
#define HF_S3_INTERNAL_H

#include "auth/chunked.h"
#include "auth/sigv4.h"
#include "base/arena.h"
#include "base/buf.h"
#include "base/hash.h"
#include "meta/meta.h"
#include "net/server.h"
#include "s3/errors.h"
#include "s3/s3.h"
#include "s3/xml.h"

#include <stdbool.h>
#include <stdint.h>

/* Query parameters per request: S3 requests use at most a dozen; presigned
 * ones add seven. */
#define HF_QUERY_PARAMS_MAX 64

/* Response documents (listings of 1000 keys of 1024 bytes, url-encoded, plus
 * per-entry XML) stay under this. */
#define HF_RESP_XML_MAX (8 * 1024 * 1024)

typedef enum s3_level { LVL_SERVICE, LVL_BUCKET, LVL_OBJECT } s3_level_t;

typedef struct s3_param {
    const char *name;  /* decoded */
    const char *value; /* decoded ("" when the parameter had no '=') */
} s3_param_t;

/* Checksums S3 clients can send (x-amz-checksum-*). */
enum s3_cksum {
    CK_NONE = 0,
    CK_CRC32,
    CK_CRC32C,
    CK_CRC64NVME,
    CK_SHA1,
    CK_SHA256,
};

typedef struct s3_body {
    bool open;
    enum hf_payload_mode mode;
    bool aws_chunked;
    hf_awschunked_t ac;
    char *raw;              /* encoded input buffer (aws-chunked) */
    size_t rawpos, rawlen;
    uint64_t declared;      /* decoded length the client announced */
    uint64_t got;           /* decoded bytes delivered */
    bool verify_sha256;     /* x-amz-content-sha256 is a digest */
    hf_digest_t sha;
    bool done;
    /* Checksum the client asked us to verify: from a header (value known
     * up front) or a trailer (value known at the end). */
    enum s3_cksum ck;
    const char *ck_header;  /* "x-amz-checksum-crc32" ... */
    bool ck_in_trailer;
    const char *ck_value;   /* base64, from the header */
    hf_hashset_t hs;        /* MD5 + the checksum, in one pass */
    uint8_t md5_out[16];    /* MD5 of the body, once done */
    bool hs_open;
} s3_body_t;

typedef struct s3req {
    hf_s3_t *s3;
    hf_req_t *r;
    hf_arena_t *a;
    const struct s3_op *op;
    s3_level_t level;
    char *bucket;           /* decoded bucket name, NULL at service level */
    char *key;              /* decoded object key, NULL unless object level */
    size_t keylen;
    const char *resource;   /* "/bucket/key" for error documents */
    int nparams;
    s3_param_t params[HF_QUERY_PARAMS_MAX];
    hf_sigv4_t auth;
    hf_user_t user;         /* the authenticated caller */
    hf_bucket_t b;          /* the bucket, once loaded by s3_load_bucket */
    s3_body_t body;
    bool failed;
    /* For SignatureDoesNotMatch documents. */
    hf_sigv4_debug_t dbg;
    bool have_dbg;
} s3req_t;

typedef void (*s3_handler_fn)(s3req_t *q);

typedef struct s3_op {
    const char *name;       /* S3 operation name */
    const char *method;
    s3_level_t level;
    const char *sub;        /* subresource query parameter that selects it, or NULL */
    s3_handler_fn fn;
} s3_op_t;

/* ---- responses ---- */

/* Send the S3 error e with an optional message (NULL: the default one).
 * Returns -1. */
int s3_fail(s3req_t *q, hf_s3_err_t e, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* NotImplemented naming the feature. */
int s3_not_implemented(s3req_t *q, const char *feature);
/* Send an XML document with status 200, then free it. */
void s3_send_xml(s3req_t *q, hf_buf_t *xml);
/* Standard headers on every S3 response (request ids). */
void s3_common_headers(s3req_t *q);

/* ---- request parts ---- */

/* Query parameter value, or NULL if absent. */
const char *s3_param(const s3req_t *q, const char *name);
/* Header value as a NUL-terminated arena string, or NULL if absent. */
const char *s3_header(s3req_t *q, const char *name);
/* Parse max-keys-like integers: absent -> def; invalid -> s3_fail, return -1. */
int s3_param_uint(s3req_t *q, const char *name, uint32_t def, uint32_t max, uint32_t *out);
/* encoding-type: absent -> 0, "url" -> 1, else s3_fail and -1. */
int s3_encoding_type(s3req_t *q);

/* Load q->bucket into q->b and check the caller owns it (NoSuchBucket /
 * AccessDenied otherwise). Returns 0 or -1 after s3_fail. */
int s3_load_bucket(s3req_t *q);

/* Reject request headers for features holdfast does not implement (with
 * NotImplemented naming the header). Returns 0 or -1 after s3_fail. */
int s3_check_unsupported_headers(s3req_t *q);

/* ---- bodies ---- */

/* true if the body is aws-chunked (a STREAMING-* x-amz-content-sha256). */
bool s3_streaming(const s3req_t *q);
/* true if the body's length is known: Content-Length, or aws-chunked with
 * x-amz-decoded-content-length (inside Transfer-Encoding: chunked too). */
bool s3_body_length_known(s3req_t *q);

/* Prepare to read the request body: framing (Content-Length, aws-chunked),
 * payload verification, and the checksum to verify. want_md5 adds MD5 to
 * the one-pass hashes. Returns 0 or -1 after s3_fail. */
int s3_body_open(s3req_t *q, bool want_md5, uint64_t max_len);
/* Decoded body bytes; 0 at the end (after every verification passed);
 * -1 after s3_fail (framing, signatures, digests, timeouts). */
long s3_body_read(s3req_t *q, void *buf, size_t n);
/* Read the whole body (at most max bytes) into b. 0 or -1 after s3_fail. */
int s3_body_read_all(s3req_t *q, hf_buf_t *b, size_t max);
/* Read and parse an XML request body (at most HF_XML_BODY_MAX) whose root
 * element must be called root_name. An empty body gives *root = NULL when
 * allow_empty, MalformedXML otherwise. 0 or -1 after s3_fail. */
int s3_read_xml(s3req_t *q, const char *root_name, bool allow_empty, hf_xml_node_t **root);
/* 204 No Content with the standard headers. */
void s3_no_content(s3req_t *q);
/* After the body is done: MD5 of it (when opened with want_md5). */
void s3_body_md5(s3req_t *q, uint8_t md5[16]);
void s3_body_close(s3req_t *q);

/* Receive an object or part body into storage: inline (allowed and small
 * enough) or a durable blob. On success *obj has size, etag, inline data or
 * one part (blob) filled. On failure nothing is left behind and -1 is
 * returned after s3_fail. */
typedef struct s3_data {
    uint64_t size;
    uint8_t md5[16];
    bool is_inline;
    uint8_t *inline_data;
    uint32_t inline_len;
    bool have_blob;
    hf_blob_id_t blob;
} s3_data_t;
int s3_receive(s3req_t *q, bool allow_inline, uint64_t max_len, s3_data_t *out);
/* Give back a blob that will not be committed. */
void s3_data_discard(s3req_t *q, s3_data_t *d);

/* Refuse (507 InsufficientStorage, -1 after s3_fail) a request that would
 * store need more bytes when the data disk's free space is at or within
 * need of the reserve (chunk/store.h). 0 to go ahead. Deletes and aborts
 * never call this: they are what frees space. */
int s3_check_space(s3req_t *q, uint64_t need);
/* Room every such request needs on top of its data: one metadata commit
 * (the record, and the B-tree pages LMDB copies on the way to it). */
#define S3_META_ROOM (64 * 1024)
/* s3_fail for a storage error (hf_err from meta or chunk), with a message
 * that says what to do for the states an operator can act on (full disk,
 * a store refusing writes after an I/O error). Returns -1. */
int s3_fail_storage(s3req_t *q, int err);

/* ---- misc ---- */

/* ETag text with quotes: "\"<hex>\"" or "\"<hex>-N\"". out >= 48 bytes. */
void s3_etag(char *out, const uint8_t md5[16], uint32_t parts);
/* url-encode for encoding-type=url responses (arena). */
const char *s3_urlenc(s3req_t *q, const char *s, size_t n);
/* The user with id uid: the caller itself, or looked up into *scratch.
 * NULL if no such user exists (any more). */
const hf_user_t *s3_user(s3req_t *q, uint64_t uid, hf_user_t *scratch);
/* Write <elem><ID/><DisplayName/></elem> for user id uid. */
void s3_principal_xml(s3req_t *q, hf_buf_t *b, const char *elem, uint64_t uid);
/* <Owner>...</Owner> */
void s3_owner_xml(s3req_t *q, hf_buf_t *b, uint64_t uid);
/* Parse a key for storage rules (length, UTF-8, no NUL). 0 or -1 after s3_fail. */
int s3_check_key(s3req_t *q);

/* Standard headers and x-amz-meta-* of the request into o (strings in the
 * arena). MetadataTooLarge past HF_USER_META_MAX. 0 or -1 after s3_fail. */
int s3_collect_meta(s3req_t *q, hf_obj_t *o);
/* NotImplemented for If-Match / If-None-Match on writes (not built yet). */
int s3_refuse_conditional_write(s3req_t *q);

/* Handlers (ops.def). */
#define S3_OP(name, method, level, sub, fn) void fn(s3req_t *q);
#include "s3/ops.def"
#undef S3_OP

#endif
