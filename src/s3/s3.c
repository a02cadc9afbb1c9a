/*
 * s3.c -- the S3 request pipeline: parse the path and query, route to an
 * operation (ops.def), authenticate, refuse what is not implemented, call
 * the handler. Also the helpers every handler uses to answer.
 *
 * Order of checks, and why:
 *   1. the path and query are decoded (InvalidURI on bad escapes);
 *   2. the operation is routed, but a routing failure is not reported yet:
 *      S3 authenticates every request first, so a caller with bad
 *      credentials learns nothing about what the server supports;
 *   3. SigV4 is parsed and verified (the secret comes from meta);
 *   4. an unknown operation answers NotImplemented / MethodNotAllowed, and
 *      headers naming features we lack answer NotImplemented;
 *   5. the handler runs; it loads the bucket and checks ownership itself,
 *      because some operations (CreateBucket, ListBuckets) have none.
 */
#include "s3/internal.h"

#include "auth/sigv2.h"
#include "base/err.h"
#include "base/log.h"
#include "base/str.h"
#include "base/time.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const s3_op_t ops[] = {
#define S3_OP(name, method, level, sub, fn) {#name, method, level, sub, fn},
#include "s3/ops.def"
#undef S3_OP
};

/* Query parameters that select an S3 operation ("subresources"). Any of
 * these that no row of ops.def handles answers NotImplemented. */
static const char *const subresources[] = {
    "abac", "accelerate", "acl", "analytics", "attributes", "cors", "delete", "encryption",
    "intelligent-tiering", "inventory", "legal-hold", "lifecycle", "list-type", "location",
    "logging", "metadataConfiguration", "metadataInventoryTable", "metadataJournalTable",
    "metadataTable", "metrics", "notification",
    "object-lock", "ownershipControls", "policy", "policyStatus", "publicAccessBlock",
    "replication", "requestPayment", "restore", "retention", "select", "session", "tagging",
    "torrent", "uploadId", "uploads", "versioning", "versions", "website", "renameObject",
    NULL};

void hf_s3_init(hf_s3_t *s3, hf_meta_t *meta, hf_chunk_store_t *chunks, const char *region)
{
    memset(s3, 0, sizeof *s3);
    s3->meta = meta;
    s3->chunks = chunks;
    s3->sse_default = HF_SSE_S3; /* S3's default since 2023; --sse-default */
    snprintf(s3->region, sizeof s3->region, "%s", region && *region ? region : "us-east-1");
    s3->new_bucket_flags = HF_BUCKET_OWNER_ENFORCED | HF_BUCKET_PAB_ALL;
    s3->done_window_ns = (int64_t)HF_UPLOAD_DONE_WINDOW_S * 1000000000;
    s3_metrics_init(s3);
}

size_t s3_op_index(const s3req_t *q)
{
    return q->op ? (size_t)(q->op - ops) : HF_S3_NOPS;
}

/* ---- responses ------------------------------------------------------------ */

void s3_common_headers(s3req_t *q)
{
    hf_resp_header(q->r, "x-amz-request-id", q->r->id);
    hf_resp_header(q->r, "x-amz-id-2", q->r->id);
}

/* One element of an error document; a value XML 1.0 cannot carry as text
 * (not UTF-8, or control characters other than tab, LF and CR) goes
 * %-encoded. */
static void error_elem(hf_buf_t *b, const char *name, const char *v, size_t n)
{
    bool plain = hf_utf8_valid(v, n);
    for (size_t i = 0; plain && i < n; i++)
        if ((unsigned char)v[i] < 0x20 && v[i] != '\t' && v[i] != '\n' && v[i] != '\r')
            plain = false;
    if (plain) {
        hf_xml_elem(b, name, v, n);
        return;
    }
    size_t cap = 3 * n + 1;
    char *enc = malloc(cap);
    if (!enc)
        return;
    hf_uri_encode(enc, cap, v, n, true);
    hf_xml_elem_str(b, name, enc);
    free(enc);
}

static bool elem_given(const s3req_t *q, const char *name)
{
    for (int i = 0; i < q->nerr_elem; i++)
        if (strcmp(q->err_elem[i].name, name) == 0)
            return true;
    return false;
}

/* The context elements of ei for q (errors.h), then those s3_err_elem
 * gave. */
static void error_elems(hf_buf_t *b, const hf_s3_errinfo_t *ei, const s3req_t *q)
{
    const char *v;
    if ((ei->ctx & S3X_BUCKET) && q->bucket && !elem_given(q, "BucketName"))
        error_elem(b, "BucketName", q->bucket, strlen(q->bucket));
    if ((ei->ctx & S3X_KEY) && q->key && !elem_given(q, "Key"))
        error_elem(b, "Key", q->key, q->keylen);
    if ((ei->ctx & S3X_UPLOAD) && (v = s3_param(q, "uploadId")) && !elem_given(q, "UploadId"))
        error_elem(b, "UploadId", v, strnlen(v, S3_ERR_ELEM_MAX));
    if ((ei->ctx & S3X_VERSION) && (v = s3_param(q, "versionId")) && !elem_given(q, "VersionId"))
        error_elem(b, "VersionId", v, strnlen(v, S3_ERR_ELEM_MAX));
    for (int i = 0; i < q->nerr_elem; i++)
        error_elem(b, q->err_elem[i].name, q->err_elem[i].value, strlen(q->err_elem[i].value));
}

/* An S3 error document: Code, Message, the elements of this error (q may
 * be NULL: none), Resource, RequestId and HostId (S3's x-amz-id-2, which
 * is the request id here). */
/* <name>47 45 54 0a ...</name>: bytes as S3 shows them in a
 * SignatureDoesNotMatch document, left out when they would not fit in the
 * document (no real client's string to sign comes near). */
static void xml_bytes(hf_buf_t *b, const char *name, const char *p, size_t n)
{
    if (n == 0 || b->len + 3 * n + 2 * strlen(name) + 64 > b->max)
        return;
    hf_xml_open(b, name);
    char *o = hf_buf_reserve(b, 3 * n);
    if (!o) {
        hf_xml_close(b, name);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        static const char hex[] = "0123456789abcdef";
        unsigned char c = (unsigned char)p[i];
        *o++ = hex[c >> 4];
        *o++ = hex[c & 15];
        *o++ = ' ';
    }
    hf_buf_commit(b, 3 * n - 1);
    hf_xml_close(b, name);
}

static void error_doc(hf_buf_t *b, const hf_s3_errinfo_t *ei, const char *msg, const s3req_t *q)
{
    hf_xml_decl(b);
    hf_xml_open(b, "Error");
    hf_xml_elem_str(b, "Code", ei->code);
    hf_xml_elem_str(b, "Message", msg && *msg ? msg : ei->message);
    if (q) {
        error_elems(b, ei, q);
        if (strcmp(ei->code, "SignatureDoesNotMatch") == 0 && q->have_dbg) {
            /* S3 returns what it signed, so clients can find the
             * difference (whole: a canonical request is often longer than
             * S3_ERR_ELEM_MAX): AWSAccessKeyId, StringToSign,
             * SignatureProvided, StringToSignBytes and, for SigV4,
             * CanonicalRequest and CanonicalRequestBytes. */
            const hf_buf_t *sts = &q->dbg.string_to_sign, *cr = &q->dbg.canonical_request;
            hf_xml_elem_str(b, "AWSAccessKeyId", q->auth.access_key);
            if (sts->data)
                error_elem(b, "StringToSign", sts->data, sts->len);
            if (q->sig_provided)
                hf_xml_elem_str(b, "SignatureProvided", q->sig_provided);
            if (sts->data)
                xml_bytes(b, "StringToSignBytes", sts->data, sts->len);
            if (cr->data) {
                error_elem(b, "CanonicalRequest", cr->data, cr->len);
                xml_bytes(b, "CanonicalRequestBytes", cr->data, cr->len);
            }
        }
        if (q->resource)
            hf_xml_elem_str(b, "Resource", q->resource);
        hf_xml_elem_str(b, "RequestId", q->r->id);
        hf_xml_elem_str(b, "HostId", q->r->id);
    }
    hf_xml_close(b, "Error");
}

void s3_err_elem(s3req_t *q, const char *name, const char *fmt, ...)
{
    if (q->nerr_elem == S3_ERR_ELEMS)
        return;
    char *v = hf_arena_alloc(q->a, S3_ERR_ELEM_MAX + 1);
    if (!v)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(v, S3_ERR_ELEM_MAX + 1, fmt, ap);
    va_end(ap);
    q->err_elem[q->nerr_elem].name = name;
    q->err_elem[q->nerr_elem].value = v;
    q->nerr_elem++;
}

int s3_fail_arg(s3req_t *q, const char *name, const char *value, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    s3_err_elem(q, "ArgumentName", "%s", name);
    s3_err_elem(q, "ArgumentValue", "%s", value ? value : "");
    return s3_fail(q, S3E_InvalidArgument, "%s", msg);
}

int s3_fail_method(s3req_t *q, const char *resource_type, const char *allow)
{
    static const char *const level_names[] = {"SERVICE", "BUCKET", "OBJECT"};
    char methods[64] = "";
    if (!allow) {
        /* Each method some row of ops.def serves at this level, once. */
        for (size_t k = 0; k < sizeof ops / sizeof ops[0]; k++) {
            const char *m = ops[k].method;
            if (ops[k].level != q->level || strstr(methods, m))
                continue;
            size_t used = strlen(methods);
            snprintf(methods + used, sizeof methods - used, "%s%s", used ? ", " : "", m);
        }
        allow = methods;
    }
    if (*allow)
        hf_resp_header(q->r, "Allow", allow);
    s3_err_elem(q, "Method", "%.*s", (int)q->r->http.method.n, q->r->http.method.p);
    s3_err_elem(q, "ResourceType", "%s", resource_type ? resource_type : level_names[q->level]);
    return s3_fail(q, S3E_MethodNotAllowed, NULL);
}

int s3_fail(s3req_t *q, hf_s3_err_t e, const char *fmt, ...)
{
    if (q->failed || hf_resp_started(q->r)) {
        /* A response is already on its way: the client must see the
         * connection end rather than a second document. */
        hf_resp_abort(q->r);
        q->failed = true;
        return -1;
    }
    q->failed = true;
    const hf_s3_errinfo_t *ei = hf_s3_errinfo(e);
    q->err_code = ei->code;
    char msg[1024] = "";
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
    }
    hf_buf_t b;
    hf_buf_init(&b, 64 * 1024);
    error_doc(&b, ei, msg, q);
    s3_common_headers(q);
    if (!q->r->is_head)
        hf_resp_header(q->r, "Content-Type", "application/xml");
    if (q->region_header)
        hf_resp_header(q->r, "x-amz-bucket-region", q->s3->region);
    if (e == S3E_SlowDown || e == S3E_ServiceUnavailable)
        hf_resp_header(q->r, "Retry-After", "1");
    if (ei->status >= 500)
        atomic_fetch_add(&q->s3->errors_5xx, 1);
    else
        atomic_fetch_add(&q->s3->errors_4xx, 1);
    hf_resp_send(q->r, ei->status, b.data, b.len);
    hf_buf_free(&b);
    return -1;
}

int s3_not_implemented(s3req_t *q, const char *feature)
{
    return s3_fail(q, S3E_NotImplemented, "%s is not implemented by this server.", feature);
}

void s3_no_content(s3req_t *q)
{
    s3_common_headers(q);
    hf_resp_send(q->r, 204, NULL, 0);
}

void s3_send_xml(s3req_t *q, hf_buf_t *xml)
{
    s3_common_headers(q);
    hf_resp_header(q->r, "Content-Type", "application/xml");
    hf_resp_send(q->r, 200, xml->data, xml->len);
    hf_buf_free(xml);
}

void hf_s3_error_body(void *ctx, int status, const char *why, hf_buf_t *body,
                      const char **content_type)
{
    (void)ctx;
    hf_s3_err_t e;
    switch (status) {
    case 431: e = S3E_RequestHeaderSectionTooLarge; break;
    case 501: e = S3E_NotImplemented; break;
    case 503: e = S3E_SlowDown; break;
    case 408: e = S3E_RequestTimeout; break;
    case 414: e = S3E_InvalidURI; break;
    default: e = S3E_BadRequest; break;
    }
    error_doc(body, hf_s3_errinfo(e), why, NULL);
    *content_type = "application/xml";
}

/* ---- request parts ---------------------------------------------------------- */

const char *s3_param(const s3req_t *q, const char *name)
{
    for (int i = 0; i < q->nparams; i++)
        if (strcmp(q->params[i].name, name) == 0)
            return q->params[i].value;
    return NULL;
}

const char *s3_header(s3req_t *q, const char *name)
{
    const hf_http_header_t *h = hf_http_find(&q->r->http, name);
    if (!h)
        return NULL;
    return hf_arena_strndup(q->a, h->value.p, h->value.n);
}

int s3_param_uint(s3req_t *q, const char *name, uint32_t def, uint32_t max, uint32_t *out)
{
    const char *v = s3_param(q, name);
    if (!v) {
        *out = def;
        return 0;
    }
    uint64_t x;
    /* S3's integers are 32-bit signed: a larger value is refused, not
     * clamped, with the message S3 gives for max-keys=abc; a negative one
     * gets the message S3 gives for max-keys=-1. */
    if (v[0] == '-' && hf_parse_u64(v + 1, strlen(v + 1), &x) == HF_OK && x <= (uint64_t)INT32_MAX + 1)
        return s3_fail_arg(q, name, v, "Argument %s must be an integer between 0 and %d", name,
                           INT32_MAX);
    if (hf_parse_u64(v, strlen(v), &x) != HF_OK || x > INT32_MAX)
        return s3_fail_arg(q, name, v, "Provided %s not an integer or within integer range", name);
    *out = x > max ? max : (uint32_t)x;
    return 0;
}

int s3_param_text(s3req_t *q, const char *name, const char **out)
{
    *out = NULL;
    for (int i = 0; i < q->nparams; i++) {
        const s3_param_t *p = &q->params[i];
        if (strcmp(p->name, name) != 0)
            continue;
        if (memchr(p->value, '\0', p->vlen) || !hf_utf8_valid(p->value, p->vlen))
            return s3_fail_arg(q, name, p->value, "The %s parameter must be UTF-8 text without NUL.",
                               name);
        *out = p->value;
        return 0;
    }
    return 0;
}

int s3_param_delimiter(s3req_t *q, const char **out)
{
    if (s3_param_text(q, "delimiter", out))
        return -1;
    if (*out && !**out)
        *out = NULL;
    return 0;
}

int s3_encoding_type(s3req_t *q)
{
    const char *v = s3_param(q, "encoding-type");
    if (!v)
        return 0;
    if (strcmp(v, "url") == 0)
        return 1;
    s3_err_elem(q, "ArgumentName", "encoding-type");
    s3_err_elem(q, "ArgumentValue", "%s", v);
    return s3_fail(q, S3E_InvalidEncodingType, NULL);
}

void s3_etag(char *out, const uint8_t md5[16], uint32_t parts)
{
    char hex[33];
    hf_hex_encode(hex, md5, 16);
    if (parts)
        snprintf(out, 48, "\"%s-%" PRIu32 "\"", hex, parts);
    else
        snprintf(out, 48, "\"%s\"", hex);
}

const char *s3_urlenc(s3req_t *q, const char *s, size_t n)
{
    size_t cap = 3 * n + 1;
    char *o = hf_arena_alloc(q->a, cap);
    if (!o)
        return "";
    hf_uri_encode(o, cap, s, n, true);
    return o;
}

const hf_user_t *s3_user(s3req_t *q, uint64_t uid, hf_user_t *scratch)
{
    if (uid == q->user.id)
        return &q->user;
    return hf_meta_user_by_id(q->s3->meta, uid, scratch) == HF_OK ? scratch : NULL;
}

void s3_principal_xml(s3req_t *q, hf_buf_t *b, const char *elem, uint64_t uid)
{
    hf_user_t scratch;
    const hf_user_t *p = s3_user(q, uid, &scratch);
    hf_xml_open(b, elem);
    hf_xml_elem_str(b, "ID", p ? p->canonical_id : "");
    if (p)
        hf_xml_elem_str(b, "DisplayName", p->name);
    hf_xml_close(b, elem);
}

void s3_owner_xml(s3req_t *q, hf_buf_t *b, uint64_t uid)
{
    s3_principal_xml(q, b, "Owner", uid);
}

int s3_check_key(s3req_t *q)
{
    if (q->keylen > HF_KEY_MAX) {
        s3_err_elem(q, "Size", "%zu", q->keylen);
        s3_err_elem(q, "MaxSizeAllowed", "%d", HF_KEY_MAX);
        return s3_fail(q, S3E_KeyTooLongError, "Your key is too long (%zu bytes; the limit is %d).",
                       q->keylen, HF_KEY_MAX);
    }
    if (memchr(q->key, '\0', q->keylen))
        return s3_fail(q, S3E_InvalidArgument, "Object keys cannot contain the NUL character.");
    if (!hf_utf8_valid(q->key, q->keylen))
        return s3_fail(q, S3E_InvalidArgument, "Object keys must be valid UTF-8.");
    return 0;
}

int s3_load_bucket(s3req_t *q)
{
    if (!hf_s3_bucket_name_valid(q->bucket)) {
        /* No bucket by an invalid name can exist. */
        return s3_fail(q, S3E_NoSuchBucket, NULL);
    }
    int rc = hf_meta_bucket_get(q->s3->meta, q->bucket, &q->b);
    if (rc == HF_E_NOTFOUND)
        return s3_fail(q, S3E_NoSuchBucket, NULL);
    if (rc)
        return s3_fail(q, hf_s3_err_from(rc), NULL);
    /* HeadBucket tells the bucket's region to whoever learns it exists --
     * also when access is denied next -- as S3 does, for clients that
     * find a bucket's region that way. */
    if (q->op && q->op->fn == op_head_bucket)
        q->region_header = true;
    if (s3_authorize(q))
        return -1;
    return s3_expect_owner(q, "x-amz-expected-bucket-owner", &q->b);
}

int s3_expect_owner(s3req_t *q, const char *header, const hf_bucket_t *b)
{
    const char *exp = s3_header(q, header);
    if (!exp)
        return 0;
    hf_user_t scratch;
    const hf_user_t *u = s3_user(q, b->owner, &scratch);
    if (!u || strcmp(exp, u->canonical_id) != 0)
        return s3_fail(q, S3E_AccessDenied, "The bucket is not owned by the expected owner.");
    return 0;
}

/* ---- not-implemented headers ---------------------------------------------- */

/* Headers that ask for a feature holdfast does not have. Each answers
 * NotImplemented instead of being ignored. Prefix entries end in '*'. */
static const char *const unsupported_headers[] = {
    "x-amz-website-redirect-location",
    "x-amz-mfa",
    "x-amz-security-token",
    "x-amz-write-offset-bytes",
    "x-amz-bucket-object-lock-token",
    "x-amz-restore-request-days",
    NULL};

static bool prefix_ieq(hf_str_t name, const char *pat, size_t pl)
{
    if (name.n < pl)
        return false;
    for (size_t i = 0; i < pl; i++) {
        unsigned char a = (unsigned char)name.p[i], b = (unsigned char)pat[i];
        if (a >= 'A' && a <= 'Z')
            a = (unsigned char)(a + 32);
        if (a != b)
            return false;
    }
    return true;
}

int s3_check_unsupported_headers(s3req_t *q)
{
    const hf_http_req_t *h = &q->r->http;
    for (int i = 0; i < h->nheaders; i++) {
        hf_str_t n = h->headers[i].name;
        if (!prefix_ieq(n, "x-amz-", 6) && !prefix_ieq(n, "if-", 3))
            continue;
        for (int k = 0; unsupported_headers[k]; k++) {
            const char *pat = unsupported_headers[k];
            size_t pl = strlen(pat);
            bool hit = pat[pl - 1] == '*' ? prefix_ieq(n, pat, pl - 1) : hf_strn_ieq(n.p, n.n, pat);
            if (hit) {
                char name[128];
                snprintf(name, sizeof name, "The header %.*s", (int)(n.n > 100 ? 100 : n.n), n.p);
                s3_err_elem(q, "Header", "%.*s", (int)n.n, n.p);
                return s3_not_implemented(q, name);
            }
        }
    }
    /* Values that we support only partly. */
    const char *sc = s3_header(q, "x-amz-storage-class");
    if (sc && strcmp(sc, "STANDARD") != 0) {
        static const char *const known[] = {"REDUCED_REDUNDANCY", "STANDARD_IA", "ONEZONE_IA",
                                            "INTELLIGENT_TIERING", "GLACIER", "DEEP_ARCHIVE",
                                            "OUTPOSTS", "GLACIER_IR", "SNOW", "EXPRESS_ONEZONE",
                                            NULL};
        for (int k = 0; known[k]; k++)
            if (strcmp(sc, known[k]) == 0)
                return s3_not_implemented(q, "Storage classes other than STANDARD");
        s3_err_elem(q, "StorageClassRequested", "%s", sc);
        return s3_fail(q, S3E_InvalidStorageClass, NULL);
    }
    return 0;
}

/* ---- parsing the target ------------------------------------------------------ */

static int parse_query(s3req_t *q)
{
    hf_str_t qs = q->r->http.query;
    size_t i = 0;
    while (i < qs.n) {
        size_t j = i;
        while (j < qs.n && qs.p[j] != '&')
            j++;
        if (j > i) {
            if (q->nparams == HF_QUERY_PARAMS_MAX)
                return s3_fail(q, S3E_InvalidArgument, "Too many query parameters.");
            const char *eq = memchr(qs.p + i, '=', j - i);
            size_t nlen = eq ? (size_t)(eq - (qs.p + i)) : j - i;
            const char *vp = eq ? eq + 1 : qs.p + j;
            size_t vlen = eq ? (size_t)(qs.p + j - vp) : 0;
            char *name = hf_arena_alloc(q->a, nlen + 1);
            char *val = hf_arena_alloc(q->a, vlen + 1);
            if (!name || !val)
                return s3_fail(q, S3E_InternalError, NULL);
            long nl = hf_uri_decode(name, qs.p + i, nlen);
            long dl = nl < 0 ? nl : hf_uri_decode(val, vp, vlen);
            if (nl < 0 || dl < 0)
                return s3_fail(q, S3E_InvalidURI, "The query string has a malformed %%-escape.");
            q->params[q->nparams].name = name;
            q->params[q->nparams].value = val;
            q->params[q->nparams].vlen = (size_t)dl;
            q->nparams++;
        }
        i = j + 1;
    }
    return 0;
}

/* ---- virtual-hosted-style addressing ------------------------------------------ */

const char *hf_s3_domain_check(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > HF_DOMAIN_NAME_MAX)
        return "a domain is 1 to 253 characters";
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '-' || c == '.';
        if (!ok)
            return "a domain is a DNS name: letters, digits, hyphens and dots, without a "
                   "scheme, port or path (e.g. s3.example.com)";
        if (c == '.' && (i == 0 || i + 1 == n || name[i - 1] == '.'))
            return "a domain cannot start or end with a dot or hold two dots in a row";
    }
    return NULL;
}

const char *hf_s3_add_domain(hf_s3_t *s3, const char *name)
{
    const char *why = hf_s3_domain_check(name);
    if (why)
        return why;
    size_t n = strlen(name);
    if (s3->ndomains == HF_DOMAINS_MAX)
        return "too many domains (at most 16)";
    char *d = s3->domains[s3->ndomains];
    for (size_t i = 0; i <= n; i++)
        d[i] = (name[i] >= 'A' && name[i] <= 'Z') ? (char)(name[i] + 32) : name[i];
    s3->ndomains++;
    return NULL;
}

/* Does the Host header name a bucket? AWS ("Virtual hosting of buckets"):
 * when Host ends in ".s3.amazonaws.com", "the bucket name is the leading
 * component of the Host header's value up to" that suffix, and the key is
 * the whole Request-URI; a Host equal to the endpoint's name is path
 * style. Here the endpoint names are the --domain values: the longest one
 * that Host (without its port, and without a trailing dot, in any case)
 * ends in, after a dot, gives the bucket. A Host that matches no domain
 * (an IP address, another name) is path style; AWS would take it as a
 * CNAME bucket name, which we do not serve. A Host that is BUCKET.DOMAIN
 * with BUCKET no valid bucket name answers InvalidBucketName (400), as S3
 * answers a request naming an invalid bucket -- before authentication, as
 * the bucket a V2 signature covers is not known without it. */
static int resolve_vhost(s3req_t *q)
{
    hf_str_t h = q->r->http.host;
    if (q->s3->ndomains == 0 || h.n == 0 || h.p[0] == '[')
        return 0; /* no domains, no Host, or an IPv6 literal */
    const char *colon = memchr(h.p, ':', h.n);
    if (colon)
        h.n = (size_t)(colon - h.p);
    if (h.n && h.p[h.n - 1] == '.')
        h.n--;
    for (int i = 0; i < q->s3->ndomains; i++)
        if (hf_strn_ieq(h.p, h.n, q->s3->domains[i]))
            return 0; /* the endpoint's own name: path style */
    size_t label = 0;
    bool found = false;
    for (int i = 0; i < q->s3->ndomains; i++) {
        const char *d = q->s3->domains[i];
        size_t dn = strlen(d);
        if (h.n <= dn || h.p[h.n - dn - 1] != '.' || !hf_strn_ieq(h.p + h.n - dn, dn, d))
            continue;
        if (!found || h.n - dn - 1 < label) /* the longest domain leaves the shortest label */
            label = h.n - dn - 1;
        found = true;
    }
    if (!found)
        return 0;
    char *b = hf_arena_alloc(q->a, label + 1);
    if (!b)
        return s3_fail(q, S3E_InternalError, NULL);
    for (size_t i = 0; i < label; i++)
        b[i] = (h.p[i] >= 'A' && h.p[i] <= 'Z') ? (char)(h.p[i] + 32) : h.p[i];
    b[label] = '\0';
    if (label == 0 || memchr(b, '\0', label) || !hf_s3_bucket_name_valid(b))
        return s3_fail(q, S3E_InvalidBucketName, NULL);
    q->vbucket = b;
    return 0;
}

/* The object key from its raw (still %-encoded) form. */
static int set_key(s3req_t *q, const char *raw, size_t n)
{
    char *key = hf_arena_alloc(q->a, n + 1);
    if (!key)
        return s3_fail(q, S3E_InternalError, NULL);
    long kl = hf_uri_decode(key, raw, n);
    if (kl < 0)
        return s3_fail(q, S3E_InvalidURI, "The object key has a malformed %%-escape.");
    q->key = key;
    q->keylen = (size_t)kl;
    q->level = LVL_OBJECT;
    return 0;
}

static int parse_path(s3req_t *q)
{
    hf_str_t p = q->r->http.path;
    if (p.n == 0 || p.p[0] != '/')
        return s3_fail(q, S3E_InvalidURI, NULL);
    if (q->vbucket) {
        /* Virtual-hosted: the bucket is in Host, the whole path is the key. */
        q->bucket = q->vbucket;
        q->level = LVL_BUCKET;
        q->resource = hf_arena_printf(q->a, "/%s%.*s", q->vbucket, (int)p.n, p.p);
        if (!q->resource)
            return s3_fail(q, S3E_InternalError, NULL);
        return p.n > 1 ? set_key(q, p.p + 1, p.n - 1) : 0;
    }
    const char *s = p.p + 1;
    size_t n = p.n - 1;
    const char *slash = memchr(s, '/', n);
    size_t blen = slash ? (size_t)(slash - s) : n;
    if (blen == 0) {
        q->level = LVL_SERVICE;
        q->resource = "/";
        return 0;
    }
    char *bucket = hf_arena_alloc(q->a, blen + 1);
    if (!bucket)
        return s3_fail(q, S3E_InternalError, NULL);
    long bl = hf_uri_decode(bucket, s, blen);
    if (bl < 0 || memchr(bucket, '\0', (size_t)bl) || memchr(bucket, '/', (size_t)bl))
        return s3_fail(q, S3E_InvalidURI, NULL);
    q->bucket = bucket;
    q->level = LVL_BUCKET;
    q->resource = hf_arena_strndup(q->a, p.p, p.n);
    if (slash && (size_t)(slash - s) + 1 < n)
        return set_key(q, slash + 1, n - blen - 1);
    return 0;
}

static bool is_subresource(const char *name)
{
    for (int i = 0; subresources[i]; i++)
        if (strcmp(subresources[i], name) == 0)
            return true;
    return false;
}

/* The row whose handler is fn. */
static const s3_op_t *op_by_fn(s3_handler_fn fn)
{
    for (size_t k = 0; k < sizeof ops / sizeof ops[0]; k++)
        if (ops[k].fn == fn)
            return &ops[k];
    return NULL;
}

static const s3_op_t *route(s3req_t *q, const char **unhandled)
{
    *unhandled = NULL;
    bool any_sub = false;
    for (int i = 0; i < q->nparams; i++)
        if (is_subresource(q->params[i].name)) {
            any_sub = true;
            break;
        }
    for (size_t k = 0; k < sizeof ops / sizeof ops[0]; k++) {
        const s3_op_t *op = &ops[k];
        if (op->level != q->level || !hf_str_eq(q->r->http.method, op->method))
            continue;
        if (!(op->sub ? s3_param(q, op->sub) != NULL : !any_sub))
            continue;
        /* A PUT naming a copy source is a copy (S3 tells them apart by
         * the header alone). */
        if (hf_http_find(&q->r->http, "x-amz-copy-source")) {
            if (op->fn == op_put_object)
                return op_by_fn(op_copy_object);
            if (op->fn == op_upload_part)
                return op_by_fn(op_upload_part_copy);
        }
        return op;
    }
    for (int i = 0; i < q->nparams; i++)
        if (is_subresource(q->params[i].name)) {
            *unhandled = q->params[i].name;
            break;
        }
    return NULL;
}

/* ---- authentication -------------------------------------------------------- */

/* The caller named by q->auth.access_key into q->user. A disabled user's
 * keys answer as S3 answers an inactive key: as if they did not exist,
 * before the signature is looked at, so the answer tells a caller nothing a
 * wrong key id would not. 0 or -1 after s3_fail. */
static int lookup_user(s3req_t *q)
{
    int rc = hf_meta_user_by_key(q->s3->meta, q->auth.access_key, &q->user);
    /* A disabled user's keys answer as S3 answers an inactive key: as if
     * they did not exist, before the signature is looked at, so the answer
     * tells a caller nothing a wrong key id would not. */
    if (rc == HF_E_NOTFOUND || (rc == HF_OK && (q->user.flags & HF_USER_DISABLED))) {
        s3_err_elem(q, "AWSAccessKeyId", "%s", q->auth.access_key);
        return s3_fail(q, S3E_InvalidAccessKeyId, NULL);
    }
    if (rc)
        return s3_fail(q, hf_s3_err_from(rc), NULL);
    return 0;
}

/* Signature Version 2 (auth/sigv2.h). What it proves is what SigV4 proves:
 * q->user and q->auth (kind, access key, payload mode) are all the later
 * steps (admission, policies, ACLs, the body reader) look at. */
static int authenticate_v2(s3req_t *q, const hf_sigv4_input_t *in)
{
    hf_sigv2_t v2;
    char msg[512] = "";
    int st = hf_sigv2_parse(in, &v2, msg, sizeof msg);
    q->auth.kind = v2.kind;
    snprintf(q->auth.access_key, sizeof q->auth.access_key, "%s", v2.access_key);
    if (st != HF_AUTH_OK)
        return s3_fail(q, hf_s3_err_from_auth(st, v2.kind == HF_AUTH_V2_QUERY), "%s", msg);
    q->auth.payload_mode = v2.payload_mode;
    memcpy(q->auth.payload_sha256, v2.payload_sha256, sizeof v2.payload_sha256);
    if (lookup_user(q))
        return -1;
    hf_buf_init(&q->dbg.string_to_sign, 64 * 1024);
    q->have_dbg = true;
    char shown[sizeof v2.signature];
    for (size_t i = 0; v2.signature[i]; i++) /* as sent, printable */
        shown[i] = v2.signature[i] >= 0x20 && v2.signature[i] < 0x7f ? v2.signature[i] : '?';
    shown[strlen(v2.signature)] = '\0';
    q->sig_provided = hf_arena_strndup(q->a, shown, strlen(shown));
    st = hf_sigv2_verify(in, q->vbucket, &v2, q->user.secret_key, hf_time_now() / 1000000000,
                         &q->dbg.string_to_sign, msg, sizeof msg);
    if (st != HF_AUTH_OK)
        return s3_fail(q, hf_s3_err_from_auth(st, v2.kind == HF_AUTH_V2_QUERY), "%s", msg);
    return 0;
}

static int authenticate(s3req_t *q)
{
    hf_http_req_t *h = &q->r->http;
    hf_sigv4_input_t in = {h->method, h->path, h->query, h->headers, h->nheaders};
    /* With --sigv2 off a V2 request goes on to SigV4, which refuses it as
     * S3's V4-only regions do (InvalidRequest, HF_SIGV2_REFUSED). */
    if (!q->s3->sigv2_off && hf_sigv2_present(&in))
        return authenticate_v2(q, &in);
    char msg[512] = "";
    int st = hf_sigv4_parse(&in, &q->auth, msg, sizeof msg);
    if (st != HF_AUTH_OK)
        return s3_fail(q, hf_s3_err_from_auth(st, q->auth.kind == HF_AUTH_QUERY), "%s", msg);
    if (q->auth.kind == HF_AUTH_ANONYMOUS) {
        /* Unsigned: only what ACLs (and policies) grant everyone. */
        q->anonymous = true;
        return 0;
    }
    if (lookup_user(q))
        return -1;
    hf_buf_init(&q->dbg.canonical_request, 64 * 1024);
    hf_buf_init(&q->dbg.string_to_sign, 4096);
    q->have_dbg = true;
    char hex[2 * HF_SHA256_LEN + 1];
    hf_hex_encode(hex, q->auth.signature, sizeof q->auth.signature);
    q->sig_provided = hf_arena_strndup(q->a, hex, strlen(hex));
    int64_t now = hf_time_now();
    st = hf_sigv4_verify(&in, &q->auth, q->user.secret_key, q->s3->region, now / 1000000000,
                         &q->dbg, msg, sizeof msg);
    char when[32];
    if (st == HF_AUTH_ERR_SKEWED) {
        hf_time_iso8601(when, now);
        s3_err_elem(q, "RequestTime", "%s", q->auth.amz_date);
        s3_err_elem(q, "ServerTime", "%s", when);
        s3_err_elem(q, "MaxAllowedSkewMilliseconds", "%d", HF_CLOCK_SKEW_MAX_S * 1000);
    } else if (st == HF_AUTH_ERR_EXPIRED && q->auth.kind == HF_AUTH_QUERY &&
               now / 1000000000 > q->auth.request_time + q->auth.expires) {
        s3_err_elem(q, "X-Amz-Expires", "%lld", (long long)q->auth.expires);
        hf_time_iso8601(when, (q->auth.request_time + q->auth.expires) * 1000000000);
        s3_err_elem(q, "Expires", "%s", when);
        hf_time_iso8601(when, now);
        s3_err_elem(q, "ServerTime", "%s", when);
    }
    if (st == HF_AUTH_ERR_REGION) {
        /* The region to sign for, where S3 puts it: clients (botocore's
         * redirector, s3cmd with bucket_location US) retry there. */
        s3_err_elem(q, "Region", "%s", q->s3->region);
        q->region_header = true;
    }
    if (st != HF_AUTH_OK)
        return s3_fail(q, hf_s3_err_from_auth(st, q->auth.kind == HF_AUTH_QUERY), "%s", msg);
    return 0;
}

/* ---- the handler --------------------------------------------------------------- */

/* One line per request (docs/operations.md#logs). A 5xx other than a
 * SlowDown is logged at warn: it is a server-side failure an operator
 * should see among the recent errors; a shed request is the guard doing
 * its job. */
static void access_log(s3req_t *q)
{
    int status = hf_resp_status(q->r);
    int level = status >= 500 && !q->shed ? HF_LOG_WARN : HF_LOG_INFO;
    if (!hf_log_access_enabled(level))
        return;
    char key[200], bucket[80];
    hf_log_quote(key, sizeof key, q->key ? q->key : "");
    hf_log_quote(bucket, sizeof bucket, q->bucket ? q->bucket : "");
    int64_t us = hf_mono_us() - q->t0_us;
    hf_log_access(level,
                  "msg=request id=%s peer=%s key_id=%s op=%s bucket=%s key=%s status=%d "
                  "error=%s in=%" PRIu64 " out=%" PRIu64 " ms=%" PRId64 ".%03d method=%.*s%s",
                  q->r->id, q->r->peer, q->auth.access_key[0] ? q->auth.access_key : "-",
                  q->op ? q->op->name : "-", bucket, key, status,
                  q->err_code ? q->err_code : "-", hf_req_bytes(q->r), hf_resp_bytes(q->r),
                  us / 1000, (int)(us % 1000), (int)q->r->http.method.n, q->r->http.method.p,
                  q->shed ? " shed=1" : "");
}

void hf_s3_handle(void *ctx, hf_req_t *r)
{
    hf_s3_t *s3 = ctx;
    s3req_t *q = hf_arena_calloc(&r->arena, sizeof *q);
    if (!q) {
        hf_resp_send(r, 500, NULL, 0);
        return;
    }
    q->s3 = s3;
    q->r = r;
    q->a = &r->arena;
    q->resource = "/";
    q->t0_us = hf_mono_us();
    atomic_fetch_add(&s3->requests, 1);

    if (resolve_vhost(q) || parse_path(q) || parse_query(q))
        goto out;
    if (hf_str_eq(q->r->http.method, "OPTIONS")) {
        /* CORS preflights are unsigned by design. */
        s3_cors_preflight(q);
        goto out;
    }
    if (hf_http_find(&q->r->http, "origin"))
        s3_cors_request(q);
    const char *unhandled;
    q->op = route(q, &unhandled);
    if (authenticate(q))
        goto out;
    if (q->anonymous && q->op && (q->level == LVL_SERVICE || q->op->fn == op_create_bucket)) {
        /* Listing buckets and creating one need an account. */
        s3_fail(q, S3E_AccessDenied, "Anonymous users cannot %s.",
                q->level == LVL_SERVICE ? "list buckets" : "create buckets");
        goto out;
    }
    if (!q->op) {
        if (unhandled) {
            char what[128];
            snprintf(what, sizeof what, "The %.40s operation on %.*s", unhandled,
                     (int)q->r->http.method.n, q->r->http.method.p);
            s3_not_implemented(q, what);
        } else {
            s3_fail_method(q, NULL, NULL);
        }
        goto out;
    }
    if (s3_admit(q))
        goto out;
    if (q->r->http.chunked && !s3_streaming(q)) {
        /* S3 takes Transfer-Encoding: chunked only around an aws-chunked
         * body (whose decoded length is declared); plain chunked uploads
         * answer NotImplemented there too. */
        s3_not_implemented(q, "Transfer-Encoding: chunked without aws-chunked");
        goto out;
    }
    if (s3_check_unsupported_headers(q) || s3_sse_check_request(q))
        goto out;
    if (q->key && s3_check_key(q))
        goto out;
    q->op->fn(q);
out:
    s3_sse_wipe(q);
    hf_policy_free(q->pol);
    q->pol = NULL;
    s3_body_close(q);
    if (q->have_dbg) {
        hf_buf_free(&q->dbg.canonical_request);
        hf_buf_free(&q->dbg.string_to_sign);
    }
    s3_admit_leave(q);
    access_log(q);
    s3_metrics_record(q);
}
