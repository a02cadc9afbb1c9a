/*
 * object.c -- object operations: PutObject, GetObject, HeadObject,
 * DeleteObject, DeleteObjects.
 *
 * A PUT stores the body first (inline in the record when small, else as a
 * durable blob), then commits the record in one metadata transaction: the
 * new version appears atomically, the old one's space is released only
 * after that commit is durable (meta.h invariant 1), and a failed commit
 * gives the new blob back. A GET reads inside a chunk read section
 * (chunk/store.h) so the blob it found cannot be unlinked under it, and
 * verifies each piece before any byte of it is sent.
 */
#include "s3/internal.h"

#include "base/crypt.h"
#include "base/err.h"
#include "base/log.h"
#include "base/mime.h"
#include "base/str.h"
#include "base/time.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- metadata from request headers --------------------------------------- */

static int cmp_kv(const void *a, const void *b)
{
    return strcmp(((const hf_kv_t *)a)->name, ((const hf_kv_t *)b)->name);
}

/* Content-Encoding without the aws-chunked token, which describes the
 * upload, not the object (S3's sigv4-streaming page: the object is stored
 * "without the aws-chunked value"; with nothing else left there is no
 * Content-Encoding). The other codings stay exactly as sent -- only the
 * aws-chunked element and its comma go -- and a value without aws-chunked
 * is kept byte for byte. NULL if nothing remains. */
static bool ows(char c)
{
    return c == ' ' || c == '\t';
}

static const char *strip_aws_chunked(s3req_t *q, const char *v)
{
    if (!v)
        return NULL;
    size_t n = strlen(v);
    char *out = hf_arena_alloc(q->a, n + 1);
    if (!out)
        return v;
    size_t len = 0;
    bool found = false;
    for (const char *p = v; p <= v + n;) {
        const char *e = memchr(p, ',', (size_t)(v + n - p));
        if (!e)
            e = v + n;
        const char *a = p, *z = e;
        while (a < z && ows(*a))
            a++;
        while (z > a && ows(z[-1]))
            z--;
        if (z - a == 11 && strncasecmp(a, "aws-chunked", 11) == 0) {
            found = true;
        } else {
            if (len)
                out[len++] = ',';
            memcpy(out + len, p, (size_t)(e - p));
            len += (size_t)(e - p);
        }
        p = e + 1;
    }
    if (!found)
        return v;
    out[len] = '\0';
    /* What followed a leading aws-chunked's comma, or preceded a trailing
     * one, is spacing of the separator, not of a coding. */
    char *a = out, *z = out + len;
    while (a < z && ows(*a))
        a++;
    while (z > a && ows(z[-1]))
        z--;
    *z = '\0';
    return a < z ? a : NULL;
}

int s3_collect_meta(s3req_t *q, hf_obj_t *o)
{
    const hf_http_req_t *h = &q->r->http;
    o->content_type = s3_header(q, "content-type");
    o->content_encoding = strip_aws_chunked(q, s3_header(q, "content-encoding"));
    o->content_disposition = s3_header(q, "content-disposition");
    o->content_language = s3_header(q, "content-language");
    o->cache_control = s3_header(q, "cache-control");
    o->expires = s3_header(q, "expires");
    int n = 0;
    for (int i = 0; i < h->nheaders; i++)
        if (h->headers[i].name.n > 11 && hf_strn_ieq(h->headers[i].name.p, 11, "x-amz-meta-"))
            n++;
    o->nmeta = 0;
    o->meta = NULL;
    if (n == 0)
        return 0;
    hf_kv_t *kv = hf_arena_calloc(q->a, sizeof *kv * (size_t)n);
    if (!kv)
        return s3_fail(q, S3E_InternalError, NULL);
    size_t total = 0;
    int m = 0;
    for (int i = 0; i < h->nheaders; i++) {
        hf_str_t nm = h->headers[i].name, v = h->headers[i].value;
        if (!(nm.n > 11 && hf_strn_ieq(nm.p, 11, "x-amz-meta-")))
            continue;
        char *name = hf_arena_strndup(q->a, nm.p + 11, nm.n - 11);
        if (!name)
            return s3_fail(q, S3E_InternalError, NULL);
        for (char *c = name; *c; c++)
            if (*c >= 'A' && *c <= 'Z')
                *c = (char)(*c + 32);
        /* S3 stores the text of an RFC 2047 encoded value (mime.h). */
        if (memchr(v.p, '\0', v.n)) { /* a POST form field can hold one */
            s3_err_elem(q, "ArgumentName", "%.*s", (int)nm.n, nm.p);
            return s3_fail(q, S3E_InvalidArgument, "User metadata cannot contain the NUL character.");
        }
        char *text = hf_arena_alloc(q->a, 2 * v.n + 1);
        long tn = text ? hf_mime_header_decode(v.p, v.n, text, 2 * v.n + 1) : -1;
        if (tn < 0)
            return s3_fail(q, S3E_InternalError, NULL);
        total += nm.n - 11 + (size_t)tn;
        /* Repeated names are joined with ',' as HTTP combines them. */
        int j;
        for (j = 0; j < m; j++)
            if (strcmp(kv[j].name, name) == 0)
                break;
        if (j < m) {
            kv[j].value = hf_arena_printf(q->a, "%s,%s", kv[j].value, text);
            total += 1;
        } else {
            kv[m].name = name;
            kv[m].value = text;
            m++;
        }
    }
    if (total > HF_USER_META_MAX) {
        s3_err_elem(q, "Size", "%zu", total);
        s3_err_elem(q, "MaxSizeAllowed", "%d", HF_USER_META_MAX);
        return s3_fail(q, S3E_MetadataTooLarge,
                       "Your metadata headers are %zu bytes; the limit is %d bytes.", total,
                       HF_USER_META_MAX);
    }
    qsort(kv, (size_t)m, sizeof *kv, cmp_kv);
    o->meta = kv;
    o->nmeta = (uint32_t)m;
    return 0;
}

/* An ETag as clients send it (quotes optional, "-N" for multipart) into
 * md5 and parts. HF_E_INVAL if it is not one of ours. */
int s3_etag_parse(const char *s, uint8_t md5[16], uint32_t *parts)
{
    size_t n = strlen(s);
    while (n && (*s == ' ' || *s == '\t')) {
        s++;
        n--;
    }
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    if (n >= 2 && s[0] == '"' && s[n - 1] == '"') {
        s++;
        n -= 2;
    }
    *parts = 0;
    if (n > 33 && s[32] == '-') {
        uint64_t p;
        if (hf_parse_u64(s + 33, n - 33, &p) != HF_OK || p < 1 || p > HF_PART_NUMBER_MAX)
            return HF_E_INVAL;
        *parts = (uint32_t)p;
        n = 32;
    }
    if (n != 32)
        return HF_E_INVAL;
    return hf_hex_decode(md5, s, 16);
}

int s3_write_conditions(s3req_t *q, hf_obj_cond_t *c)
{
    memset(c, 0, sizeof *c);
    const char *inm = s3_header(q, "if-none-match");
    const char *im = s3_header(q, "if-match");
    if (inm) {
        /* S3 supports only the wildcard on writes. */
        if (strcmp(inm, "*") != 0)
            return s3_not_implemented(q, "If-None-Match with a value other than * on writes");
        c->if_none_match = true;
    }
    if (im)
        s3_if_match_cond(im, c);
    return 0;
}

void s3_if_match_cond(const char *v, hf_obj_cond_t *c)
{
    c->if_match = true;
    if (strcmp(v, "*") == 0)
        c->if_match_any = true;
    else if (s3_etag_parse(v, c->etag, &c->etag_parts) != HF_OK)
        c->etag_parts = UINT32_MAX; /* matches no stored ETag */
}

/* The outcome of a conditional write, as S3 reports it. */
int s3_fail_write(s3req_t *q, int rc)
{
    switch (rc) {
    case HF_E_PRECONDITION:
        s3_err_elem(q, "Condition", "%s",
                    hf_http_find(&q->r->http, "if-none-match") ? "If-None-Match" : "If-Match");
        return s3_fail(q, S3E_PreconditionFailed, NULL);
    case HF_E_NOTFOUND:
        /* If-Match against a missing key; the bucket check comes first in
         * the transaction, so a vanished bucket is caught by reloading. */
        if (hf_meta_bucket_get(q->s3->meta, q->bucket, &q->b) == HF_E_NOTFOUND)
            return s3_fail(q, S3E_NoSuchBucket, NULL);
        return s3_fail(q, S3E_NoSuchKey, NULL);
    default: return s3_fail_storage(q, rc);
    }
}

/* ---- PutObject ------------------------------------------------------------- */

int s3_store_object(s3req_t *q, hf_obj_t *o, s3_data_t *d, const hf_obj_cond_t *cond)
{
    hf_obj_part_t *part = hf_arena_calloc(q->a, sizeof *part);
    if (!part) {
        s3_data_discard(q, d);
        return s3_fail(q, S3E_InternalError, NULL);
    }
    o->size = d->size;
    o->mtime = hf_time_now();
    o->hlc = hf_meta_hlc_next(q->s3->meta);
    o->origin = hf_meta_node_id(q->s3->meta);
    s3_sse_etag(&q->wsse, d->md5, o->etag);
    o->sse = q->wsse.desc_len ? q->wsse.desc : NULL;
    o->sse_len = q->wsse.desc_len;
    if (d->ck_alg != HF_CK_NONE) {
        o->ck_alg = d->ck_alg;
        o->ck_type = HF_CK_FULL_OBJECT;
        o->ck_len = d->ck_len;
        memcpy(o->ck, d->ck, d->ck_len);
    }
    if (d->is_inline) {
        o->flags = HF_OBJ_INLINE;
        o->inline_data = d->inline_data;
        o->inline_len = d->inline_len;
        o->inline_crc32c = hf_crc32c(0, d->inline_data, d->inline_len);
    } else {
        part->blob = d->blob;
        part->size = d->size;
        o->parts = part;
        o->nparts = 1;
    }
    int rc = hf_meta_obj_put(q->s3->meta, &q->b, q->key, q->keylen, o, cond);
    if (rc) {
        s3_data_discard(q, d);
        return s3_fail_write(q, rc);
    }
    return 0;
}

void op_put_object(s3req_t *q)
{
    hf_obj_cond_t cond;
    if (s3_load_bucket(q) || s3_write_conditions(q, &cond))
        return;
    hf_obj_t o;
    memset(&o, 0, sizeof o);
    if (s3_collect_meta(q, &o) || s3_tagging_header(q, &o) || s3_lock_headers(q, &o, true) ||
        s3_lock_apply_default(q, &o) || s3_write_acl(q, &o) || s3_sse_choose(q) ||
        s3_sse_new_key(q))
        return;
    s3_data_t d;
    if (s3_receive(q, true, HF_PUT_MAX, S3_CK_DEFAULT, &d) || s3_store_object(q, &o, &d, &cond))
        return;
    char etag[48];
    s3_etag(etag, o.etag, 0);
    s3_common_headers(q);
    hf_resp_header(q->r, "ETag", etag);
    s3_version_header(q, o.version);
    s3_checksum_headers(q, &o);
    s3_sse_headers(q, &q->wsse);
    hf_resp_send(q->r, 200, NULL, 0);
}

/* ---- GetObject / HeadObject ------------------------------------------------- */

/* Does the If-Match / If-None-Match list v name etag (quoted "<hex>")? */
static bool etag_listed(const char *v, const char *etag)
{
    const char *bare = etag + 1;
    size_t blen = strlen(etag) - 2;
    const char *p = v;
    while (*p) {
        while (*p == ' ' || *p == ',')
            p++;
        if (!*p)
            break;
        const char *e = p;
        while (*e && *e != ',')
            e++;
        const char *t = e;
        while (t > p && t[-1] == ' ')
            t--;
        const char *s = p;
        if (t - s >= 2 && s[0] == 'W' && s[1] == '/')
            s += 2;
        size_t n = (size_t)(t - s);
        if (n == 1 && *s == '*')
            return true;
        if (n >= 2 && s[0] == '"' && s[n - 1] == '"') {
            s++;
            n -= 2;
        }
        if (n == blen && memcmp(s, bare, n) == 0)
            return true;
        p = e;
    }
    return false;
}

int s3_preconditions(s3req_t *q, const char *prefix, const char *etag, int64_t mtime_s)
{
    char n_im[64], n_ius[64], n_inm[64], n_ims[64];
    snprintf(n_im, sizeof n_im, "%sif-match", prefix);
    snprintf(n_ius, sizeof n_ius, "%sif-unmodified-since", prefix);
    snprintf(n_inm, sizeof n_inm, "%sif-none-match", prefix);
    snprintf(n_ims, sizeof n_ims, "%sif-modified-since", prefix);
    const char *im = s3_header(q, n_im);
    const char *ius = s3_header(q, n_ius);
    const char *inm = s3_header(q, n_inm);
    const char *ims = s3_header(q, n_ims);
    int64_t t;
    /* The header that failed is the document's <Condition>, spelled as
     * S3 spells it. */
    if (im) {
        if (!etag_listed(im, etag)) {
            s3_err_elem(q, "Condition", "%sIf-Match", prefix);
            return 412;
        }
    } else if (ius && hf_time_parse_http(ius, strlen(ius), &t) == HF_OK && mtime_s > t) {
        s3_err_elem(q, "Condition", "%sIf-Unmodified-Since", prefix);
        return 412;
    }
    if (inm) {
        if (etag_listed(inm, etag))
            return 304;
    } else if (ims && hf_time_parse_http(ims, strlen(ims), &t) == HF_OK && mtime_s <= t) {
        return 304;
    }
    return 0;
}

/* Range header: 0 = serve everything, 1 = [*first, *last], -1 = not
 * satisfiable. Forms S3 honours: bytes=a-b, bytes=a-, bytes=-n. Anything
 * else (several ranges, other units, garbage) is ignored as RFC 9110
 * allows, and the whole object is served. */
static int parse_range(const char *v, uint64_t size, uint64_t *first, uint64_t *last)
{
    if (!v || strncmp(v, "bytes=", 6) != 0)
        return 0;
    const char *p = v + 6;
    if (strchr(p, ','))
        return 0;
    const char *dash = strchr(p, '-');
    if (!dash)
        return 0;
    uint64_t a = 0, b = 0;
    bool has_a = dash > p, has_b = dash[1] != '\0';
    if (has_a && hf_parse_u64(p, (size_t)(dash - p), &a) != HF_OK)
        return 0;
    if (has_b && hf_parse_u64(dash + 1, strlen(dash + 1), &b) != HF_OK)
        return 0;
    if (!has_a && !has_b)
        return 0;
    if (!has_a) { /* suffix: the last b bytes */
        if (b == 0 || size == 0)
            return -1;
        *first = b >= size ? 0 : size - b;
        *last = size - 1;
        return 1;
    }
    if (has_b && b < a)
        return 0; /* invalid: ignored */
    if (a >= size)
        return -1;
    *first = a;
    *last = has_b && b < size ? b : size - 1;
    return 1;
}

static void object_headers(s3req_t *q, const hf_obj_t *o, const char *etag)
{
    char date[32];
    hf_time_http(date, o->mtime);
    s3_common_headers(q);
    hf_resp_header(q->r, "ETag", etag);
    hf_resp_header(q->r, "Last-Modified", date);
    hf_resp_header(q->r, "Accept-Ranges", "bytes");
    s3_version_header(q, o->version);
    struct {
        const char *param, *header, *stored;
    } std[] = {
        {"response-content-type", "Content-Type", o->content_type ? o->content_type : "binary/octet-stream"},
        {"response-content-encoding", "Content-Encoding", o->content_encoding},
        {"response-content-disposition", "Content-Disposition", o->content_disposition},
        {"response-content-language", "Content-Language", o->content_language},
        {"response-cache-control", "Cache-Control", o->cache_control},
        {"response-expires", "Expires", o->expires},
    };
    for (size_t i = 0; i < sizeof std / sizeof std[0]; i++) {
        const char *v = s3_param(q, std[i].param);
        if (!v)
            v = std[i].stored;
        if (v)
            hf_resp_header(q->r, std[i].header, v);
    }
    for (uint32_t i = 0; i < o->nmeta; i++) {
        char name[HF_USER_META_MAX + 16];
        snprintf(name, sizeof name, "x-amz-meta-%s", o->meta[i].name);
        /* Not US-ASCII: an RFC 2047 encoded-word, as S3 returns it. */
        size_t vn = strlen(o->meta[i].value), cap = hf_mime_header_encode_len(vn);
        char *v = hf_arena_alloc(q->a, cap);
        if (v && hf_mime_header_encode(o->meta[i].value, vn, v, cap) >= 0)
            hf_resp_header(q->r, name, v);
    }
    if (o->ntags)
        hf_resp_headerf(q->r, "x-amz-tagging-count", "%u", o->ntags);
    s3_lock_response_headers(q, o);
}

int s3_obj_read(s3req_t *q, s3_objreader_t *or, uint64_t off, uint8_t *buf, size_t n)
{
    const hf_obj_t *o = or->o;
    if (o->sse_len && !or->key)
        return HF_E_NOKEY; /* a caller bug: an encrypted object read without opening it */
    if ((o->flags & HF_OBJ_INLINE) && o->sse_len) {
        /* One message: opened whole, once per reader. */
        if (!or->plain) {
            or->plain = hf_arena_alloc(q->a, o->size ? o->size : 1);
            if (!or->plain)
                return -ENOMEM;
            int rc = hf_sse_open_inline(or->key, o->inline_data, o->inline_len, or->plain);
            if (rc) {
                hf_log_error("msg=\"sealed inline object failed authentication\" request_id=%s",
                             q->r->id);
                or->plain = NULL;
                return rc;
            }
        }
        memcpy(buf, or->plain + off, n);
        return HF_OK;
    }
    if (o->flags & HF_OBJ_INLINE) {
        memcpy(buf, o->inline_data + off, n);
        return HF_OK;
    }
    uint64_t base = 0;
    uint32_t i = 0;
    while (n > 0) {
        while (i < o->nparts && off >= base + o->parts[i].size) {
            base += o->parts[i].size;
            i++;
        }
        if (i == o->nparts)
            return HF_E_CORRUPT; /* sizes in the record do not add up */
        if (!or->rd || or->part != i) {
            if (or->rd)
                hf_blob_reader_close(or->rd);
            or->rd = NULL;
            int rc = o->sse_len ? hf_blob_reader_open_sealed(q->s3->chunks, &o->parts[i].blob,
                                                             o->parts[i].size, or->key, &or->rd)
                                : hf_blob_reader_open(q->s3->chunks, &o->parts[i].blob,
                                                      o->parts[i].size, &or->rd);
            if (rc)
                return rc;
            or->part = i;
        }
        uint64_t in_part = off - base;
        size_t k = (size_t)(o->parts[i].size - in_part < n ? o->parts[i].size - in_part : n);
        int rc = hf_blob_read(or->rd, in_part, buf, k);
        if (rc)
            return rc;
        buf += k;
        off += k;
        n -= k;
    }
    return HF_OK;
}

void s3_obj_reader_close(s3_objreader_t *or)
{
    if (or->rd)
        hf_blob_reader_close(or->rd);
    or->rd = NULL;
    if (or->plain)
        hf_wipe(or->plain, or->o->size);
    or->plain = NULL;
}

/* Load the version of q->key a read names (versionId, or the current
 * one) into o, answering for delete markers as S3 does: the current
 * version being a marker is 404 NoSuchKey, a marker named by versionId is
 * 405 MethodNotAllowed; both carry x-amz-delete-marker. 0 or -1 after
 * s3_fail. */
int s3_load_version(s3req_t *q, hf_obj_t *o)
{
    uint8_t vbuf[16];
    hf_version_sel_t ver;
    if (s3_version_param(q, vbuf, &ver))
        return -1;
    int rc = hf_meta_obj_get(q->s3->meta, q->b.id, q->key, q->keylen, ver, q->a, o);
    if (rc == HF_E_NOTFOUND)
        return s3_fail(q, ver ? S3E_NoSuchVersion : S3E_NoSuchKey, NULL);
    if (rc)
        return s3_fail(q, hf_s3_err_from(rc), NULL);
    if (o->flags & HF_OBJ_DELETE_MARKER) {
        hf_resp_header(q->r, "x-amz-delete-marker", "true");
        s3_version_header(q, o->version);
        if (!ver)
            return s3_fail(q, S3E_NoSuchKey, NULL);
        char date[32];
        hf_time_http(date, o->mtime);
        hf_resp_header(q->r, "Last-Modified", date);
        return s3_fail_method(q, "DeleteMarker", "DELETE");
    }
    return 0;
}

static void get_or_head(s3req_t *q)
{
    if (s3_load_bucket(q))
        return;
    uint32_t partno = 0;
    if (s3_param(q, "partNumber")) {
        if (s3_part_number(q, &partno))
            return;
        if (hf_http_find(&q->r->http, "range")) {
            s3_fail(q, S3E_InvalidRequest, "Cannot specify both Range header and partNumber query parameter.");
            return;
        }
    }
    const char *ckm = s3_header(q, "x-amz-checksum-mode");
    if (ckm && strcasecmp(ckm, "ENABLED") != 0) {
        s3_fail_arg(q, "x-amz-checksum-mode", ckm, "x-amz-checksum-mode must be ENABLED.");
        return;
    }
    for (int i = 0; i < q->nparams; i++)
        if (strncmp(q->params[i].name, "response-", 9) == 0 &&
            q->auth.kind == HF_AUTH_ANONYMOUS) {
            s3_fail(q, S3E_InvalidRequest,
                    "Request specific response headers cannot be used for anonymous GET requests.");
            return;
        }
    uint64_t ticket = hf_chunk_read_begin(q->s3->chunks);
    hf_obj_t o;
    s3_objreader_t or = {.o = &o};
    int rc;
    /* The key is checked before any precondition: without it, not even
     * whether the ETag matches is answered. A HEAD needs no data key. */
    if (s3_load_version(q, &o) || s3_sse_open(q, &o, S3_SSE_READ, &q->rsse, !q->r->is_head))
        goto out;
    or.key = q->rsse.have_dk ? q->rsse.dk : NULL;
    char etag[48];
    s3_etag(etag, o.etag, o.etag_parts);
    int pc = s3_preconditions(q, "", etag, o.mtime / 1000000000);
    if (pc == 412) {
        s3_fail(q, S3E_PreconditionFailed, NULL);
        goto out;
    }
    if (pc == 304) {
        char date[32];
        hf_time_http(date, o.mtime);
        s3_common_headers(q);
        hf_resp_header(q->r, "ETag", etag);
        hf_resp_header(q->r, "Last-Modified", date);
        s3_version_header(q, o.version);
        hf_resp_send(q->r, 304, NULL, 0);
        goto out;
    }
    uint64_t first = 0, last = o.size ? o.size - 1 : 0;
    int rr;
    int part_index = -1;
    if (partno) {
        /* A part of a multipart object (by number); anything else has one
         * part, the whole object. */
        rr = 1;
        if (o.flags & HF_OBJ_MULTIPART) {
            uint64_t off = 0;
            for (uint32_t i = 0; i < o.nparts; i++) {
                if (o.parts[i].number == partno) {
                    part_index = (int)i;
                    first = off;
                    last = off + o.parts[i].size - 1;
                    break;
                }
                off += o.parts[i].size;
            }
            if (part_index < 0) {
                s3_fail(q, S3E_InvalidPartNumber, NULL);
                goto out;
            }
        } else if (partno != 1) {
            s3_fail(q, S3E_InvalidPartNumber, NULL);
            goto out;
        }
        if (o.size == 0)
            rr = 0;
    } else {
        rr = parse_range(s3_header(q, "range"), o.size, &first, &last);
    }
    if (rr < 0) {
        hf_resp_headerf(q->r, "Content-Range", "bytes */%" PRIu64, o.size);
        s3_err_elem(q, "RangeRequested", "%s", s3_header(q, "range"));
        s3_err_elem(q, "ActualObjectSize", "%" PRIu64, o.size);
        s3_fail(q, S3E_InvalidRange, NULL);
        goto out;
    }
    uint64_t len = rr ? last - first + 1 : o.size;
    if (!rr)
        first = 0;
    object_headers(q, &o, etag);
    s3_sse_headers(q, &q->rsse);
    if (rr)
        hf_resp_headerf(q->r, "Content-Range", "bytes %" PRIu64 "-%" PRIu64 "/%" PRIu64, first,
                        last, o.size);
    if (partno && (o.flags & HF_OBJ_MULTIPART))
        hf_resp_headerf(q->r, "x-amz-mp-parts-count", "%u", o.nparts);
    if (ckm) {
        /* The stored checksum covers the whole object, or one part. */
        if (!rr && !partno)
            s3_checksum_headers(q, &o);
        else if (part_index >= 0 && o.part_ck) {
            char t[S3_CK_TEXT_MAX];
            hf_base64_encode(t, o.part_ck + (size_t)part_index * o.ck_len, o.ck_len);
            hf_resp_header(q->r, s3_ck(o.ck_alg)->header, t);
        } else if (partno && !(o.flags & HF_OBJ_MULTIPART))
            s3_checksum_headers(q, &o);
    }
    int status = rr ? 206 : 200;
    if (q->r->is_head || len == 0) {
        hf_resp_begin(q->r, status, len);
        hf_resp_end(q->r);
        goto out;
    }
    size_t bufsz = len < HF_IO_BUF ? (size_t)len : HF_IO_BUF;
    uint8_t *buf = hf_arena_alloc(q->a, bufsz);
    if (!buf) {
        s3_fail(q, S3E_InternalError, NULL);
        goto out;
    }
    /* Read and verify the first piece before the head goes out, so a
     * damaged object answers with an error instead of a truncated body. */
    uint64_t off = first, left = len;
    size_t k = left < bufsz ? (size_t)left : bufsz;
    rc = s3_obj_read(q, &or, off, buf, k);
    if (rc) {
        hf_log_error("msg=\"object read failed\" request_id=%s bucket=%s err=\"%s\"", q->r->id,
                     q->bucket, hf_strerror(rc));
        s3_fail(q, S3E_InternalError, "The object could not be read intact; it is being reported.");
        goto out;
    }
    if (hf_resp_begin(q->r, status, len))
        goto out;
    for (;;) {
        if (hf_resp_write(q->r, buf, k))
            goto out; /* client went away */
        off += k;
        left -= k;
        if (left == 0)
            break;
        k = left < bufsz ? (size_t)left : bufsz;
        rc = s3_obj_read(q, &or, off, buf, k);
        if (rc) {
            hf_log_error("msg=\"object read failed mid-body\" request_id=%s bucket=%s err=\"%s\"",
                         q->r->id, q->bucket, hf_strerror(rc));
            hf_resp_abort(q->r);
            goto out;
        }
    }
    hf_resp_end(q->r);
out:
    s3_obj_reader_close(&or);
    hf_chunk_read_end(q->s3->chunks, ticket);
}

void op_get_object(s3req_t *q)
{
    get_or_head(q);
}

void op_head_object(s3req_t *q)
{
    get_or_head(q);
}

/* ---- DeleteObject / DeleteObjects -------------------------------------------- */

bool s3_bypass_asked(s3req_t *q)
{
    const char *v = s3_header(q, "x-amz-bypass-governance-retention");
    return v && strcasecmp(v, "true") == 0;
}

unsigned s3_delete_flags(s3req_t *q)
{
    return s3_bypass_asked(q) && !q->no_bypass ? HF_DEL_BYPASS_GOVERNANCE : 0;
}

void op_delete_object(s3req_t *q)
{
    if (s3_load_bucket(q))
        return;
    /* S3 conditional deletes take If-Match only; the size and time
     * conditions are S3 Express (directory bucket) features. */
    if (hf_http_find(&q->r->http, "if-none-match")) {
        s3_not_implemented(q, "If-None-Match on DeleteObject");
        return;
    }
    if (hf_http_find(&q->r->http, "x-amz-if-match-size") ||
        hf_http_find(&q->r->http, "x-amz-if-match-last-modified-time")) {
        s3_not_implemented(q, "x-amz-if-match-size / x-amz-if-match-last-modified-time on DeleteObject");
        return;
    }
    hf_obj_cond_t cond;
    if (s3_write_conditions(q, &cond))
        return;
    uint8_t vbuf[16];
    hf_version_sel_t ver;
    if (s3_version_param(q, vbuf, &ver))
        return;
    hf_del_res_t res;
    int rc;
    if (cond.if_match) {
        /* A single conditional item; the condition is checked in the
         * delete's own transaction, so a concurrent write cannot slip in
         * between the check and the delete. */
        hf_del_item_t it = {.key = {q->key, q->keylen}, .has_version = ver != NULL, .cond = &cond};
        if (ver)
            memcpy(it.version, ver, 16);
        hf_meta_obj_delete_many(q->s3->meta, &q->b, &it, 1, s3_delete_flags(q), q->user.id);
        rc = it.rc;
        res = it.res;
        /* Measured on S3: a key without a current object answers 404
         * NoSuchKey to a conditional delete (also If-Match: *), not 204. */
        if (rc == HF_E_PRECONDITION || (rc == HF_E_NOTFOUND && res.no_current)) {
            s3_fail_write(q, rc);
            return;
        }
    } else {
        rc = hf_meta_obj_delete(q->s3->meta, &q->b, q->key, q->keylen, ver, s3_delete_flags(q),
                                q->user.id, &res);
    }
    if (rc == HF_E_LOCKED) {
        s3_fail(q, S3E_AccessDenied, "The object version is protected by Object Lock retention or a legal hold.");
        return;
    }
    if (rc && rc != HF_E_NOTFOUND) {
        s3_fail(q, hf_s3_err_from(rc), NULL);
        return;
    }
    /* Deleting what does not exist succeeds (S3 is idempotent here), and
     * echoes a version id that was asked for. */
    if (rc == HF_E_NOTFOUND && ver) {
        res.versioned = true;
        memcpy(res.version, ver, 16);
    }
    if (rc == HF_OK && res.marker)
        hf_resp_header(q->r, "x-amz-delete-marker", "true");
    if (res.versioned) {
        char t[33];
        s3_version_text(res.version, t);
        hf_resp_header(q->r, "x-amz-version-id", t);
    }
    s3_no_content(q);
}

void op_delete_objects(s3req_t *q)
{
    if (s3_load_bucket(q))
        return;
    if (!hf_http_find(&q->r->http, "content-md5")) {
        bool has_ck = false;
        static const char *const cks[] = {"x-amz-checksum-crc32", "x-amz-checksum-crc32c",
                                          "x-amz-checksum-crc64nvme", "x-amz-checksum-sha1",
                                          "x-amz-checksum-sha256", "x-amz-sdk-checksum-algorithm",
                                          NULL};
        for (int i = 0; cks[i]; i++)
            if (hf_http_find(&q->r->http, cks[i]))
                has_ck = true;
        if (!has_ck) {
            s3_fail(q, S3E_InvalidRequest,
                    "Missing required header for this request: Content-MD5 (or an x-amz-checksum-* header).");
            return;
        }
    }
    if (!s3_body_length_known(q)) {
        s3_fail(q, S3E_MissingContentLength, NULL);
        return;
    }
    hf_xml_node_t *root;
    if (s3_read_xml(q, "Delete", false, &root))
        return;
    int rc;
    const char *quiet_s = hf_xml_child_text(root, "Quiet");
    bool quiet = quiet_s && strcasecmp(quiet_s, "true") == 0;
    size_t n = 0;
    for (hf_xml_node_t *o = hf_xml_child(root, "Object"); o; o = hf_xml_next(o))
        n++;
    if (n == 0 || n > HF_DELETE_OBJECTS_MAX) {
        s3_fail(q, S3E_MalformedXML, "A Delete request lists 1 to %d objects.",
                HF_DELETE_OBJECTS_MAX);
        return;
    }
    hf_del_item_t *items = hf_arena_calloc(q->a, sizeof *items * n);
    const char **errs = hf_arena_calloc(q->a, sizeof *errs * n);
    const char **vtext = hf_arena_calloc(q->a, sizeof *vtext * n);
    hf_del_item_t *valid = hf_arena_calloc(q->a, sizeof *valid * n);
    size_t *vidx = hf_arena_calloc(q->a, sizeof *vidx * n);
    if (!items || !errs || !vtext || !valid || !vidx) {
        s3_fail(q, S3E_InternalError, NULL);
        return;
    }
    size_t i = 0, nv = 0;
    for (hf_xml_node_t *o = hf_xml_child(root, "Object"); o; o = hf_xml_next(o), i++) {
        hf_xml_node_t *k = hf_xml_child(o, "Key");
        const char *ver = hf_xml_child_text(o, "VersionId");
        const char *etag = hf_xml_child_text(o, "ETag");
        if (!k) {
            s3_fail(q, S3E_MalformedXML, "Every Object in a Delete request needs a Key.");
            return;
        }
        items[i].key.p = k->text ? k->text : "";
        items[i].key.n = k->textlen;
        vtext[i] = ver;
        if (items[i].key.n == 0 || items[i].key.n > HF_KEY_MAX ||
            memchr(items[i].key.p, '\0', items[i].key.n)) {
            errs[i] = items[i].key.n > HF_KEY_MAX ? "KeyTooLongError" : "InvalidArgument";
            continue;
        }
        if (ver) {
            if (s3_version_parse(ver, items[i].version) != HF_OK) {
                errs[i] = "NoSuchVersion";
                continue;
            }
            items[i].has_version = true;
        }
        if (q->b.flags & HF_BUCKET_HAS_POLICY) {
            /* A bucket policy decides key by key (the bucket-level check
             * cannot see the keys). */
            int arc = s3_access(q, &q->b, "DeleteObjects", items[i].key.p, items[i].key.n,
                                items[i].has_version ? items[i].version : NULL);
            if (arc) {
                errs[i] = arc == HF_E_DENIED ? "AccessDenied" : "InternalError";
                continue;
            }
        }
        if (etag) {
            /* A conditional delete of this key (If-Match as an element). */
            hf_obj_cond_t *c = hf_arena_calloc(q->a, sizeof *c);
            if (!c) {
                s3_fail(q, S3E_InternalError, NULL);
                return;
            }
            s3_if_match_cond(etag, c);
            items[i].cond = c;
        }
        valid[nv] = items[i];
        vidx[nv] = i;
        nv++;
    }
    if (nv) {
        rc = hf_meta_obj_delete_many(q->s3->meta, &q->b, valid, nv, s3_delete_flags(q), q->user.id);
        if (rc) {
            s3_fail(q, hf_s3_err_from(rc), NULL);
            return;
        }
        for (size_t v = 0; v < nv; v++) {
            items[vidx[v]].rc = valid[v].rc;
            items[vidx[v]].res = valid[v].res;
        }
    }
    hf_buf_t b;
    hf_buf_init(&b, HF_RESP_XML_MAX);
    hf_xml_decl(&b);
    hf_xml_open_ns(&b, "DeleteResult");
    for (i = 0; i < n; i++) {
        const hf_del_item_t *it = &items[i];
        const char *msg = "The object could not be deleted.";
        if (errs[i] && strcmp(errs[i], "AccessDenied") == 0) {
            msg = "Access Denied";
        } else if (!errs[i] && it->rc == HF_E_LOCKED) {
            errs[i] = "AccessDenied";
            msg = "The object version is protected by Object Lock retention or a legal hold.";
        } else if (!errs[i] && it->rc == HF_E_PRECONDITION) {
            errs[i] = "PreconditionFailed";
            msg = "At least one of the pre-conditions you specified did not hold";
        } else if (!errs[i] && it->rc == HF_E_NOTFOUND && it->res.no_current) {
            errs[i] = "NoSuchKey";
            msg = "The specified key does not exist.";
        } else if (!errs[i] && it->rc != HF_OK && it->rc != HF_E_NOTFOUND) {
            errs[i] = "InternalError";
        } else if (errs[i] && strcmp(errs[i], "NoSuchVersion") == 0) {
            msg = "The specified version does not exist.";
        }
        if (errs[i]) {
            hf_xml_open(&b, "Error");
            hf_xml_elem(&b, "Key", it->key.p, it->key.n);
            if (vtext[i])
                hf_xml_elem_str(&b, "VersionId", vtext[i]);
            hf_xml_elem_str(&b, "Code", errs[i]);
            hf_xml_elem_str(&b, "Message", msg);
            hf_xml_close(&b, "Error");
        } else if (!quiet) {
            hf_xml_open(&b, "Deleted");
            hf_xml_elem(&b, "Key", it->key.p, it->key.n);
            if (vtext[i])
                hf_xml_elem_str(&b, "VersionId", vtext[i]);
            if (it->rc == HF_OK && it->res.marker) {
                hf_xml_elem_str(&b, "DeleteMarker", "true");
                char t[33];
                s3_version_text(it->res.version, t);
                hf_xml_elem_str(&b, "DeleteMarkerVersionId", t);
            }
            hf_xml_close(&b, "Deleted");
        }
    }
    hf_xml_close(&b, "DeleteResult");
    s3_send_xml(q, &b);
}
