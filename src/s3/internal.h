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
#include "access/policy.h"
#include "auth/sigv4.h"
#include "base/arena.h"
#include "base/buf.h"
#include "base/hash.h"
#include "guard/guard.h"
#include "meta/meta.h"
#include "net/server.h"
#include "s3/errors.h"
#include "s3/lifecycle.h"
#include "s3/s3.h"
#include "s3/xml.h"
#include "sse/sse.h"

#include <stdbool.h>
#include <stdint.h>

/* Query parameters per request: S3 requests use at most a dozen; presigned
 * ones add seven. */
#define HF_QUERY_PARAMS_MAX 64

/* Response documents (listings of 1000 keys of 1024 bytes, url-encoded, plus
 * per-entry XML) stay under this. */
#define HF_RESP_XML_MAX (8 * 1024 * 1024)

/* Elements one error document carries beyond Code and Message: AWS's
 * richest (EntityTooSmall) has four, SignatureDoesNotMatch five. */
#define S3_ERR_ELEMS 8
/* An element value is at most this long in an error document (a key is
 * 1024 bytes, a header value shown back is cut here). */
#define S3_ERR_ELEM_MAX 2048

typedef enum s3_level { LVL_SERVICE, LVL_BUCKET, LVL_OBJECT } s3_level_t;

typedef struct s3_param {
    const char *name;  /* decoded */
    const char *value; /* decoded ("" when the parameter had no '=') */
    size_t vlen;       /* bytes of value: it may hold a decoded 0x00 */
} s3_param_t;

/* One S3 checksum algorithm and its wire forms (checksum.c). */
typedef struct s3_ckinfo {
    uint8_t alg;          /* enum hf_ck_alg */
    const char *name;     /* "CRC32", as x-amz-checksum-algorithm spells it */
    const char *header;   /* "x-amz-checksum-crc32" */
    const char *xml;      /* "ChecksumCRC32" */
    unsigned hs;          /* HF_HS_* flag that computes it */
    uint8_t len;          /* bytes of the binary value */
    bool full_multipart;  /* a multipart upload may have a FULL_OBJECT one (CRCs) */
    bool composite;       /* a multipart upload may have a COMPOSITE one */
} s3_ckinfo_t;

/* Base64 of 32 bytes plus "-10000". */
#define S3_CK_TEXT_MAX 64

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
     * up front) or a trailer (value known at the end); or one the server
     * must compute (a part of an upload with an algorithm). */
    const s3_ckinfo_t *ck;  /* NULL: none */
    bool ck_declared;       /* the client declared a value (header or trailer) */
    bool ck_in_trailer;
    const char *ck_value;   /* base64, from the header or trailer */
    uint8_t ck_raw[HF_CK_MAX_LEN]; /* the computed value, once done */
    hf_hashset_t hs;        /* MD5 + the checksum, in one pass */
    uint8_t md5_out[16];    /* MD5 of the body, once done */
    bool hs_open;
} s3_body_t;

/* Server-side encryption state of one side of a request (s3/sse.c): the
 * data this request writes (wsse) or reads (rsse). Key bytes are wiped
 * when the request ends (s3_sse_wipe). */
typedef struct s3_sse {
    uint8_t mode;                  /* enum hf_sse_mode */
    bool have_dk;                  /* dk holds the object's (or upload's) data key */
    uint8_t dk[HF_SSE_KEY_LEN];
    uint8_t desc[HF_SSE_DESC_MAX]; /* the descriptor a record stores (desc_len 0: none) */
    uint32_t desc_len;
    bool have_ck;                  /* the request gave an SSE-C key (checked) */
    uint8_t ck[HF_SSE_KEY_LEN];
    char ck_md5[25];               /* base64 MD5 of ck, echoed in responses */
} s3_sse_t;

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
    /* The bucket the Host header names (virtual-hosted style, --domain),
     * lower case; NULL for a path-style request. */
    char *vbucket;
    int nparams;
    s3_param_t params[HF_QUERY_PARAMS_MAX];
    hf_sigv4_t auth;
    hf_user_t user;         /* the authenticated caller (zeroed when anonymous) */
    bool anonymous;         /* an unsigned request: only public grants apply */
    /* The last bucket policy read for this request (authz.c), kept so a
     * DeleteObjects of 1000 keys parses it once; freed with the request. */
    hf_policy_t *pol;
    const char *pol_text;
    uint64_t pol_bucket;    /* its bucket's id; 0: none cached */
    /* s3_access found the caller may not bypass governance retention on
     * this request's bucket: x-amz-bypass-governance-retention counts for
     * nothing. */
    bool no_bypass;
    hf_bucket_t b;          /* the bucket, once loaded by s3_load_bucket */
    s3_body_t body;
    s3_sse_t wsse;          /* encryption of the data this request stores */
    s3_sse_t rsse;          /* encryption of the object (or copy source) it reads */
    bool failed;
    /* Elements the next error document carries (s3_err_elem). */
    struct { const char *name, *value; } err_elem[S3_ERR_ELEMS];
    int nerr_elem;
    /* Answer x-amz-bucket-region, the server's region: HeadBucket once the
     * bucket was found (also when access is then denied), and errors that
     * say the request named the wrong region. */
    bool region_header;
    /* For SignatureDoesNotMatch documents (V2 fills only string_to_sign). */
    hf_sigv4_debug_t dbg;
    bool have_dbg;
    const char *sig_provided; /* the signature as sent, printable */
    /* Admission (s3/admit.c) and what the access log and metrics report. */
    hf_guard_ticket_t ticket;
    bool shed;              /* answered SlowDown by admission control */
    const char *err_code;   /* S3 error code sent, NULL on success */
    int64_t t0_us;          /* monotonic, when the handler started */
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
 * The document carries the context elements of e's table row (errors.h)
 * and the elements given with s3_err_elem since the request began.
 * Returns -1. */
int s3_fail(s3req_t *q, hf_s3_err_t e, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Add <name>value</name> to the error document the request's next s3_fail
 * sends, after <Message>, in call order (ArgumentName, ProposedSize,
 * Condition...: what the code raising the error knows). The value is
 * copied into the request arena and cut at S3_ERR_ELEM_MAX bytes; one that
 * is not UTF-8 or holds control characters (but tab, LF, CR) is sent
 * %-encoded, so the document always parses. Beyond S3_ERR_ELEMS elements the rest are
 * dropped. name must be a string literal (it is not copied). */
void s3_err_elem(s3req_t *q, const char *name, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* InvalidArgument naming the argument (a header or query parameter) and
 * the value sent (NULL: none), as S3 writes <ArgumentName> and
 * <ArgumentValue>. Returns -1. */
int s3_fail_arg(s3req_t *q, const char *name, const char *value, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* MethodNotAllowed with <Method> and <ResourceType> (resource_type NULL:
 * SERVICE, BUCKET or OBJECT from the request's level) and the Allow
 * header naming allow (NULL: the methods ops.def serves at the level).
 * Returns -1. */
int s3_fail_method(s3req_t *q, const char *resource_type, const char *allow);
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
/* Parse max-keys-like integers: absent -> def; above max -> max; not a
 * decimal integer in 0..2^31-1 (S3's integer range) -> InvalidArgument,
 * s3_fail, return -1. */
int s3_param_uint(s3req_t *q, const char *name, uint32_t def, uint32_t max, uint32_t *out);
/* A listing parameter that is compared with keys (prefix, delimiter,
 * markers): *out is its value, or NULL if absent. A value that is not
 * UTF-8, or holds 0x00, can match no key and could not be echoed in the
 * XML: InvalidArgument, s3_fail, return -1. */
int s3_param_text(s3req_t *q, const char *name, const char **out);
/* The delimiter of a listing, as s3_param_text; an empty one is NULL, as
 * if absent: S3 then rolls nothing up and writes no Delimiter element. */
int s3_param_delimiter(s3req_t *q, const char **out);
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
 * the one-pass hashes; want_ck (an hf_ck_alg, or HF_CK_NONE) is a
 * checksum to compute even when the client declares none (a declared one
 * of another algorithm is InvalidRequest), or S3_CK_DEFAULT. Returns 0 or -1 after s3_fail. */
int s3_body_open(s3req_t *q, bool want_md5, uint8_t want_ck, uint64_t max_len);
/* want_ck for a new object's data: the client's checksum if it declares
 * one, else CRC64NVME, which S3 stores for every object uploaded without a
 * checksum (its default since December 2024). */
#define S3_CK_DEFAULT 0xff
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
 * enough) or a durable blob, sealed under q->wsse's data key when it has
 * one (inline data then holds size + HF_SSE_SEAL_EXTRA bytes). On success
 * *obj has size, MD5, inline data or one part (blob) filled. On failure
 * nothing is left behind and -1 is returned after s3_fail. */
typedef struct s3_data {
    uint64_t size;
    uint8_t md5[16];
    uint8_t ck_alg;         /* the checksum verified or computed, HF_CK_NONE if none */
    uint8_t ck_len;
    uint8_t ck[HF_CK_MAX_LEN];
    bool is_inline;
    uint8_t *inline_data;
    uint32_t inline_len;
    bool have_blob;
    hf_blob_id_t blob;
} s3_data_t;
int s3_receive(s3req_t *q, bool allow_inline, uint64_t max_len, uint8_t want_ck, s3_data_t *out);
/* Commit d as object o (headers, tags, ACL already in o) at q->key in
 * q->b under cond (may be NULL): o gets its size, times, ETag, checksum and
 * data. 0, or -1 after answering (the data is given back). */
int s3_store_object(s3req_t *q, hf_obj_t *o, s3_data_t *d, const hf_obj_cond_t *cond);
/* Give back a blob that will not be committed. */
void s3_data_discard(s3req_t *q, s3_data_t *d);

/* ---- versions (version.c) ---- */

/* A version id as text ("null" or 32 hex digits) into 16 bytes (zero for
 * null). HF_E_INVAL for anything else. */
int s3_version_parse(const char *s, uint8_t out[16]);
/* The text form of a version id. out >= 33 bytes. */
void s3_version_text(const uint8_t v[16], char out[33]);
/* The versionId query parameter: *sel NULL when absent, else out. -1
 * after s3_fail (InvalidArgument) for a malformed one. */
int s3_version_param(s3req_t *q, uint8_t out[16], hf_version_sel_t *sel);
/* The bucket (q->b) has versioning Enabled or Suspended. */
bool s3_bucket_versioned(const s3req_t *q);
/* x-amz-version-id: v, when the bucket is versioned or v is not null. */
void s3_version_header(s3req_t *q, const uint8_t v[16]);

/* ---- listings (list.c) ---- */

/* <name>s</name>, url-encoded when url. */
void s3_xml_enc(s3req_t *q, hf_buf_t *b, const char *name, const char *s, size_t n, int url);
/* <ChecksumAlgorithm>/<ChecksumType> of a listing entry, if it has one. */
void s3_checksum_list_xml(hf_buf_t *b, const hf_list_entry_t *e);

/* ---- checksums (checksum.c) ---- */

const s3_ckinfo_t *s3_ck(uint8_t alg); /* NULL for HF_CK_NONE */
const s3_ckinfo_t *s3_ck_by_name(const char *name);
const s3_ckinfo_t *s3_ck_by_header(const char *header);
const s3_ckinfo_t *s3_ck_at(size_t i); /* the table, for iteration; NULL past the end */
/* S3's name of a checksum algorithm ("CRC32"...; "" for none). */
const char *s3_ck_name(uint8_t alg);
/* The binary value of alg from a finished hashset. */
void s3_ck_value(uint8_t alg, const hf_hashset_t *hs, const uint8_t *sha256, const uint8_t *sha1,
                 uint8_t out[HF_CK_MAX_LEN]);
/* A base64 checksum text of this algorithm into out: HF_E_INVAL if it is
 * not one. */
int s3_parse_ck_text(const s3_ckinfo_t *c, const char *text, uint8_t out[HF_CK_MAX_LEN]);
/* o's checksum as S3 writes it ("-N" on composite ones). */
void s3_ck_text(const hf_obj_t *o, char out[S3_CK_TEXT_MAX]);
/* x-amz-checksum-<alg> and x-amz-checksum-type of o (if it has one). */
void s3_checksum_headers(s3req_t *q, const hf_obj_t *o);
/* <ChecksumXXX> and <ChecksumType> of o (if it has one). */
void s3_checksum_xml(hf_buf_t *b, const hf_obj_t *o);
/* HF_HS_* needed to compute o's checksum (ck_alg set, ck_len 0), or 0. */
unsigned s3_checksum_hash_flags(const hf_obj_t *o);
/* Fill o's checksum (when it is to be computed) from a finished hashset. */
void s3_checksum_from_hashset(hf_obj_t *o, const hf_hashset_t *hs, const uint8_t *sha256,
                              const uint8_t *sha1);
/* The checksum of a copy of so (x-amz-checksum-algorithm, or the
 * source's). 0 or -1 after s3_fail. */
int s3_copy_checksum(s3req_t *q, const hf_obj_t *so, hf_obj_t *o);
/* x-amz-checksum-algorithm / -type of CreateMultipartUpload into tmpl.
 * 0 or -1 after s3_fail. */
int s3_upload_checksum(s3req_t *q, hf_obj_t *tmpl);
void s3_upload_checksum_headers(s3req_t *q, const hf_obj_t *tmpl);
void s3_part_checksum_from_hashset(const hf_obj_t *tmpl, hf_part_t *p, const hf_hashset_t *hs,
                                   const uint8_t *sha256, const uint8_t *sha1);
void s3_part_checksum_xml(hf_buf_t *b, const hf_obj_t *tmpl, const hf_part_t *p);
/* o's checksum (ck_alg, ck_type set) from its n parts' checksums and
 * sizes. HF_OK, HF_E_INVAL, -ENOMEM. */
int s3_multipart_checksum(hf_obj_t *o, const uint8_t *part_ck, const uint64_t *sizes, uint32_t n);

/* ---- bucket settings (bucket.c) ---- */

/* Answer a GET of a bucket setting stored as its XML document; none when
 * there is none (NoSuchCORSConfiguration...). */
void s3_send_bucket_cfg(s3req_t *q, enum hf_bucket_cfg kind, hf_s3_err_t none);
/* Store a bucket setting (len 0: remove it) and answer status with no
 * body, or the error. */
void s3_put_bucket_cfg(s3req_t *q, enum hf_bucket_cfg kind, const void *data, size_t len,
                       int status);
/* Remove a bucket setting and answer 204. */
void s3_delete_bucket_cfg(s3req_t *q, enum hf_bucket_cfg kind);

/* ---- tags (tagging.c) ---- */

/* x-amz-tagging of the request into o->tags (checked: InvalidTag...).
 * 0 or -1 after s3_fail. */
int s3_tagging_header(s3req_t *q, hf_obj_t *o);
/* A <Tagging> document (POST Object's tagging field) into o->tags. 0 or
 * -1 after s3_fail. */
int s3_tagging_document(s3req_t *q, const char *xml, size_t n, hf_obj_t *o);

/* Conditions on a read (RFC 9110 13.2.2 order) against etag (quoted) and
 * mtime, from the headers <prefix>if-match ... ("" or
 * "x-amz-copy-source-"). 0 to proceed, 304 or 412. */
int s3_preconditions(s3req_t *q, const char *prefix, const char *etag, int64_t mtime_s);

/* ---- reading object data (object.c) ---- */

/* Reads an object's data (inline or blobs); caches the reader of the part
 * last used. Use inside a chunk read section (hf_chunk_read_begin). */
typedef struct s3_objreader {
    const hf_obj_t *o;
    const uint8_t *key;    /* the object's data key when it is encrypted (s3_sse_open) */
    hf_blob_reader_t *rd;
    uint32_t part;         /* index of the part rd reads */
    uint8_t *plain;        /* a sealed inline object, opened (in the arena) */
} s3_objreader_t;
/* [off, off+n) of the object into buf, verified. HF_OK or an error. */
int s3_obj_read(s3req_t *q, s3_objreader_t *or, uint64_t off, uint8_t *buf, size_t n);
void s3_obj_reader_close(s3_objreader_t *or);

/* ---- server-side encryption (sse.c) ---- */

/* Which SSE headers an operation takes, and that SSE-C keys come over
 * TLS or from this machine: run before every handler. 0 or -1 after
 * s3_fail. */
int s3_sse_check_request(s3req_t *q);
/* The encryption of the data a PutObject, CopyObject (destination),
 * CreateMultipartUpload or POST Object writes into q->b: the request's
 * headers, else the bucket's default configuration, else the server's
 * default; into q->wsse (mode, and the SSE-C key). No key is made yet.
 * 0 or -1 after s3_fail. */
int s3_sse_choose(s3req_t *q);
/* Draw q->wsse's data key and descriptor for its mode (nothing for
 * none). 0 or -1 after s3_fail. */
int s3_sse_new_key(s3req_t *q);
/* How s3_sse_open treats the request's SSE-C headers. */
enum s3_sse_use {
    S3_SSE_READ,        /* GetObject, HeadObject, GetObjectAttributes: the object's key */
    S3_SSE_COPY_SOURCE, /* the x-amz-copy-source-server-side-encryption-customer-* headers */
    S3_SSE_PART,        /* UploadPart, UploadPartCopy: the upload's key, required for SSE-C */
    S3_SSE_UPLOAD,      /* CompleteMultipartUpload, ListParts: checked when given */
};
/* Check the request's SSE-C headers against o's encryption (an object, or
 * an upload's template) and, when need_key, unwrap its data key, into *s
 * (q->rsse or q->wsse). 0 or -1 after s3_fail. */
int s3_sse_open(s3req_t *q, const hf_obj_t *o, enum s3_sse_use use, s3_sse_t *s, bool need_key);
/* The x-amz-server-side-encryption* response headers for s. */
void s3_sse_headers(s3req_t *q, const s3_sse_t *s);
/* The ETag of data with this MD5 stored under s: the MD5 itself, or for
 * SSE-C one derived from the data key (S3: not the MD5). */
void s3_sse_etag(const s3_sse_t *s, const uint8_t md5[16], uint8_t out[16]);
/* Inline data d received in the clear (inline_data, inline_len bytes)
 * stored sealed under q->wsse's data key when it has one: a new arena
 * buffer of inline_len + HF_SSE_SEAL_EXTRA bytes, the clear copy wiped. 0
 * or -1 after s3_fail. */
int s3_sse_seal_data(s3req_t *q, s3_data_t *d);
/* Open a blob writer for data sealed under s (plain when s has no key).
 * HF_OK or the store's error. */
int s3_sse_blob_writer(s3req_t *q, const s3_sse_t *s, hf_blob_writer_t **w);
/* Wipe the request's keys (at the end of every request). */
void s3_sse_wipe(s3req_t *q);
/* The client's address is on this machine (SSE-C over plain HTTP). */
bool s3_peer_loopback(const s3req_t *q);

/* ---- multipart (multipart.c) ---- */

/* partNumber (1..10000). 0 or -1 after s3_fail. */
int s3_part_number(s3req_t *q, uint32_t *num);
/* The upload named by uploadId for q->key. 0 or -1 after s3_fail. */
int s3_load_upload(s3req_t *q, uint8_t id[16], hf_upload_t *u);
/* A part upload's target: the bucket (loaded and checked), partNumber and
 * the upload. 0 or -1 after s3_fail. */
int s3_part_request(s3req_t *q, uint32_t *num, uint8_t id[16], hf_upload_t *u);

/* ---- Object Lock (lock.c) ---- */

/* x-amz-object-lock-* of a write into o (checked; InvalidRequest on a
 * bucket without Object Lock). with_body: the request uploads the data
 * (PutObject), which S3 then wants integrity-checked. 0 or -1 after
 * s3_fail. */
int s3_lock_headers(s3req_t *q, hf_obj_t *o, bool with_body);
/* The bucket's default retention for a version created without explicit
 * retention. 0 or -1 after s3_fail. */
int s3_lock_apply_default(s3req_t *q, hf_obj_t *o);
/* x-amz-object-lock-* response headers of o. */
void s3_lock_response_headers(s3req_t *q, const hf_obj_t *o);
/* The request carries an x-amz-checksum-* header (or trailer). */
bool s3_has_checksum_header(s3req_t *q);

/* ---- CORS (cors.c) ---- */

/* Access-Control-* headers for a request with an Origin, when a rule of
 * its bucket allows it (before the handler runs, so errors carry them). */
void s3_cors_request(s3req_t *q);
/* Answer an OPTIONS preflight (no authentication, as browsers send it). */
void s3_cors_preflight(s3req_t *q);

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
/* If-None-Match / If-Match of a write into c. 0 or -1 after s3_fail
 * (NotImplemented for If-None-Match values other than *). */
int s3_write_conditions(s3req_t *q, hf_obj_cond_t *c);
/* Answer a failed conditional write (412, 404, ...). Returns -1. */
int s3_fail_write(s3req_t *q, int rc);
/* c becomes an If-Match condition on the ETag text v ("*" for any; an
 * ETag that cannot be parsed matches nothing). */
void s3_if_match_cond(const char *v, hf_obj_cond_t *c);
/* Parse an ETag text ("<hex>" or "<hex>-N", quotes optional). */
int s3_etag_parse(const char *s, uint8_t md5[16], uint32_t *parts);
/* Load the version a read names (versionId or current) into o; delete
 * markers answer 404/405 with x-amz-delete-marker. 0 or -1 after s3_fail. */
int s3_load_version(s3req_t *q, hf_obj_t *o);
/* The request sends x-amz-bypass-governance-retention: true. */
bool s3_bypass_asked(s3req_t *q);
/* HF_DEL_* flags of a delete request: the governance bypass when asked
 * for and the caller holds s3:BypassGovernanceRetention (s3_access). */
unsigned s3_delete_flags(s3req_t *q);

/* ---- admission and metrics (s3/admit.c, s3/metrics.c) ---- */

/* Ask the guard to admit the authenticated request before its body is
 * read: 0 to go on; -1 when it was answered SlowDown (503, Retry-After) or
 * dropped because the client left while queued. */
int s3_admit(s3req_t *q);
/* Give back the admission slot (no-op if none was taken). */
void s3_admit_leave(s3req_t *q);
/* Index of the request's operation in ops.def, HF_S3_NOPS if none (s3.c). */
size_t s3_op_index(const s3req_t *q);
void s3_metrics_init(hf_s3_t *s3);
/* Count the finished request under its operation and status. */
void s3_metrics_record(s3req_t *q);

/* Handlers (ops.def). */
#define S3_OP(name, method, level, sub, fn) void fn(s3req_t *q);
#include "s3/ops.def"
#undef S3_OP

/* ---- authorization (authz.c) ---- */

/* May q's requester do op (an ops.def name) on bucket b and, for object
 * operations, key (version ver, NULL: the current one)? HF_OK, HF_E_DENIED,
 * or an error reading what decides it. Never answers. */
int s3_access(s3req_t *q, const hf_bucket_t *b, const char *op, const char *key, size_t keylen,
              hf_version_sel_t ver);
/* s3_access for q's own operation on q->b: 0, or -1 after answering
 * (AccessDenied). Called by s3_load_bucket. */
int s3_authorize(s3req_t *q);
/* b's bucket policy, parsed (*out NULL when it has none; it belongs to q,
 * freed when the request ends); *text (may be NULL) the stored document in
 * q's arena. HF_OK, or an error (a stored policy that does not parse is
 * HF_E_CORRUPT). */
int s3_bucket_policy(s3req_t *q, const hf_bucket_t *b, hf_policy_t **out, const char **text);
/* q's requester as policies see it. */
void s3_access_principal(s3req_t *q, hf_access_principal_t *p);
/* The client's address (from the connection). HF_OK or HF_E_INVAL (then
 * family 0). */
int s3_peer_ip(const s3req_t *q, hf_access_ip_t *out);
/* The header (x-amz-expected-bucket-owner and its source- form), when
 * sent, must be b's owner's canonical id: 0, or -1 after AccessDenied. */
int s3_expect_owner(s3req_t *q, const char *header, const hf_bucket_t *b);

/* ---- access control lists, Object Ownership, Block Public Access (acl.c) ---- */

enum { S3_PERM_READ = 1, S3_PERM_WRITE = 2, S3_PERM_READ_ACP = 4, S3_PERM_WRITE_ACP = 8,
       S3_PERM_FULL = 15 };
enum { S3_GRANTEE_USER = 1, S3_GRANTEE_ALL_USERS = 2, S3_GRANTEE_AUTH_USERS = 3,
       S3_GRANTEE_LOG_DELIVERY = 4 };
/* S3 allows 100 grants per ACL. */
#define S3_ACL_GRANTS_MAX 100

typedef struct s3_grant {
    uint8_t kind;  /* S3_GRANTEE_* */
    uint8_t perm;  /* S3_PERM_* bits */
    uint64_t uid;  /* S3_GRANTEE_USER: the user */
} s3_grant_t;

typedef struct s3_acl {
    uint32_t n;
    s3_grant_t g[S3_ACL_GRANTS_MAX];
} s3_acl_t;

/* The owner's default: owner has FULL_CONTROL, nobody else anything. */
void s3_acl_private(s3_acl_t *acl, uint64_t owner);
/* Stored bytes (len 0: the default) into acl. HF_E_CORRUPT. */
int s3_acl_decode(const uint8_t *p, size_t n, uint64_t owner, s3_acl_t *acl);
/* acl as stored bytes in q's arena (the default: *len 0). 0 or -1. */
int s3_acl_encode(s3req_t *q, const s3_acl_t *acl, uint64_t owner, const uint8_t **out, uint32_t *len);
/* Is acl exactly the owner's default (stored as nothing)? */
bool s3_acl_owner_only(const s3_acl_t *acl, uint64_t owner);
/* Does acl grant anything to AllUsers or AuthenticatedUsers? */
bool s3_acl_public(const s3_acl_t *acl);
/* The S3_PERM_* bits acl grants q's requester (public grants skipped when
 * ignore_public). */
unsigned s3_acl_perms(const s3_acl_t *acl, const s3req_t *q, bool ignore_public);
/* The ACL a write asks for with x-amz-acl or x-amz-grant-* for a resource
 * owned by owner, in bucket b (NULL: the bucket itself is being created);
 * *given false when neither header is sent (acl: the default). Checks the
 * bucket's Object Ownership and BlockPublicAcls. *bucket_owner_full (may be
 * NULL): x-amz-acl was bucket-owner-full-control. 0 or -1 (answered). */
int s3_acl_request(s3req_t *q, const hf_bucket_t *b, bool for_bucket, uint64_t owner, s3_acl_t *acl,
                   bool *given, bool *bucket_owner_full);
/* May acl be set on a resource owned by owner in bucket b (Object
 * Ownership, BlockPublicAcls)? 0 or -1 (answered). */
int s3_acl_admissible(s3req_t *q, const hf_bucket_t *b, const s3_acl_t *acl, uint64_t owner);
/* The owner and ACL of an object q's requester writes into q->b
 * (PutObject, CopyObject, CreateMultipartUpload): o->owner, o->acl. 0 or
 * -1 (answered). */
int s3_write_acl(s3req_t *q, hf_obj_t *o);
/* Who owns an object q's requester writes into q->b (Object Ownership). */
uint64_t s3_object_owner(s3req_t *q, bool bucket_owner_full);
/* An object's owner as S3 reports it (the bucket owner under
 * BucketOwnerEnforced). */
uint64_t s3_effective_owner(const s3req_t *q, const hf_obj_t *o);
/* q->b's ACL / o's ACL (the default when none is stored, or when ACLs are
 * disabled by BucketOwnerEnforced). 0 or -1 (answered). */
int s3_bucket_acl(s3req_t *q, s3_acl_t *acl);
/* b's ACL as s3_bucket_acl, without answering: HF_OK or an error. */
int s3_bucket_acl_get(s3req_t *q, const hf_bucket_t *b, s3_acl_t *acl);
int s3_object_acl(s3req_t *q, const hf_obj_t *o, s3_acl_t *acl);
/* Store acl as q->b's ACL. 0 or -1 (answered). */
int s3_store_bucket_acl(s3req_t *q, const s3_acl_t *acl);
/* x-amz-object-ownership / ObjectOwnership value into HF_BUCKET_OWNER_*
 * bits. 0 or -1 (answered). */
int s3_ownership_parse(s3req_t *q, const char *v, uint32_t *bits);

#endif
