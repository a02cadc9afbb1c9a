/*
 * copy.c -- server-side copies: CopyObject and UploadPartCopy.
 *
 * CopyObject copies no bytes when it need not: the new version's record
 * lists the source's blobs and takes its own references on them (blob
 * references are counted, meta.h), so a copy of a 5 GiB object is one
 * metadata commit. The commit checks that every shared blob still has a
 * reference row, so a source deleted between our read and the commit is
 * caught instead of leaving a record pointing at released data. Bytes are
 * read -- streamed and verified, never held whole -- only when the result
 * needs a digest the source does not have: a multipart source gets a plain
 * MD5 ETag, as AWS gives a CopyObject result, and a new checksum algorithm
 * needs its checksum computed.
 *
 * UploadPartCopy streams the source range (x-amz-copy-source-range) into a
 * new part blob: a part references exactly one blob, and a range rarely
 * matches a source blob's bounds.
 *
 * Rules follow the CopyObject and UploadPartCopy references of the Amazon
 * S3 API: x-amz-copy-source as "bucket/key[?versionId=v]" (URL-encoded,
 * an optional leading '/'), the four x-amz-copy-source-if-* conditions
 * (412 when they fail), x-amz-metadata-directive and
 * x-amz-tagging-directive COPY or REPLACE, a copy onto itself that changes
 * nothing is InvalidRequest, and sources above 5 GiB need UploadPartCopy.
 */
#include "s3/internal.h"

#include "base/crypt.h"
#include "base/err.h"
#include "base/log.h"
#include "base/str.h"
#include "base/time.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* The source of a copy, loaded and checked. */
typedef struct copy_src {
    hf_bucket_t b;
    const char *bucket;
    const char *key;
    size_t keylen;
    bool has_version;      /* ?versionId= was given */
    hf_obj_t o;
    char etag[48];
} copy_src_t;

/* Parse x-amz-copy-source into src (bucket, key, version). */
static int parse_source(s3req_t *q, copy_src_t *src, uint8_t vbuf[16], hf_version_sel_t *ver)
{
    *ver = NULL;
    const char *v = s3_header(q, "x-amz-copy-source");
    if (!v)
        return s3_fail_arg(q, "x-amz-copy-source", NULL, "x-amz-copy-source is missing.");
    size_t n = strlen(v);
    const char *qm = memchr(v, '?', n);
    size_t pl = qm ? (size_t)(qm - v) : n;
    char *path = hf_arena_alloc(q->a, pl + 1);
    long dl = path ? hf_uri_decode(path, v, pl) : -1;
    if (dl < 0 || memchr(path, '\0', (size_t)dl))
        return s3_fail_arg(q, "x-amz-copy-source", v, "Invalid copy source encoding.");
    path[dl] = '\0';
    char *p = path[0] == '/' ? path + 1 : path;
    char *slash = strchr(p, '/');
    if (!slash || slash == p || !slash[1])
        return s3_fail_arg(q, "x-amz-copy-source", v,
                           "Copy Source must mention the source bucket and key: sourcebucket/sourcekey.");
    *slash = '\0';
    src->bucket = p;
    src->key = slash + 1;
    src->keylen = strlen(src->key);
    if (src->keylen > HF_KEY_MAX) {
        s3_err_elem(q, "Size", "%zu", src->keylen);
        s3_err_elem(q, "MaxSizeAllowed", "%d", HF_KEY_MAX);
        return s3_fail(q, S3E_KeyTooLongError, NULL);
    }
    if (qm) {
        const char *qs = qm + 1;
        if (strncmp(qs, "versionId=", 10) != 0)
            return s3_fail_arg(q, "x-amz-copy-source", v, "The copy source may only name a versionId.");
        if (s3_version_parse(qs + 10, vbuf) != HF_OK)
            return s3_fail_arg(q, "x-amz-copy-source", v, "Invalid version id specified");
        *ver = vbuf;
        src->has_version = true;
    }
    return 0;
}

/* Load the source bucket and version, check access and the copy-source
 * conditions. 0 or -1 after s3_fail. */
static int load_source(s3req_t *q, copy_src_t *src)
{
    memset(src, 0, sizeof *src);
    uint8_t vbuf[16];
    hf_version_sel_t ver;
    if (parse_source(q, src, vbuf, &ver))
        return -1;
    if (!hf_s3_bucket_name_valid(src->bucket))
        return s3_fail(q, S3E_NoSuchBucket, "The source bucket does not exist.");
    int rc = hf_meta_bucket_get(q->s3->meta, src->bucket, &src->b);
    if (rc == HF_E_NOTFOUND)
        return s3_fail(q, S3E_NoSuchBucket, "The source bucket does not exist.");
    if (rc)
        return s3_fail(q, hf_s3_err_from(rc), NULL);
    if (memchr(src->key, '\0', src->keylen) || !hf_utf8_valid(src->key, src->keylen))
        return s3_fail(q, S3E_NoSuchKey, NULL);
    rc = s3_access(q, &src->b, "GetObject", src->key, src->keylen, ver);
    if (rc == HF_E_DENIED)
        return s3_fail(q, S3E_AccessDenied, "You may not read the source object.");
    if (rc)
        return s3_fail(q, hf_s3_err_from(rc), NULL);
    if (s3_expect_owner(q, "x-amz-source-expected-bucket-owner", &src->b))
        return -1;
    rc = hf_meta_obj_get(q->s3->meta, src->b.id, src->key, src->keylen, ver, q->a, &src->o);
    if (rc == HF_E_NOTFOUND)
        return s3_fail(q, ver ? S3E_NoSuchVersion : S3E_NoSuchKey, NULL);
    if (rc)
        return s3_fail(q, hf_s3_err_from(rc), NULL);
    if (src->o.flags & HF_OBJ_DELETE_MARKER) {
        if (ver)
            return s3_fail(q, S3E_InvalidRequest,
                           "The source of a copy request may not specifically refer to a delete marker by version id.");
        return s3_fail(q, S3E_NoSuchKey, NULL);
    }
    s3_etag(src->etag, src->o.etag, src->o.etag_parts);
    if (s3_preconditions(q, "x-amz-copy-source-", src->etag, src->o.mtime / 1000000000))
        return s3_fail(q, S3E_PreconditionFailed, NULL);
    return 0;
}

/* COPY (0), REPLACE (1), or -1 after s3_fail. */
static int directive(s3req_t *q, const char *header)
{
    const char *v = s3_header(q, header);
    if (!v || strcmp(v, "COPY") == 0)
        return 0;
    if (strcmp(v, "REPLACE") == 0)
        return 1;
    return s3_fail_arg(q, header, v, "Unknown %s value: it must be COPY or REPLACE.", header);
}

static void copy_source_version_header(s3req_t *q, const copy_src_t *src)
{
    static const uint8_t zero[16];
    if ((src->b.flags & (HF_BUCKET_VERSIONING | HF_BUCKET_SUSPENDED)) ||
        memcmp(src->o.version, zero, 16) != 0) {
        char t[33];
        s3_version_text(src->o.version, t);
        hf_resp_header(q->r, "x-amz-copy-source-version-id", t);
    }
}

/* Stream [first, first+len) of the source through fn (hashing, writing).
 * Inside a chunk read section. HF_OK or an error (logged). */
static int stream_source(s3req_t *q, const copy_src_t *src, uint64_t first, uint64_t len,
                         int (*fn)(void *arg, const uint8_t *p, size_t n), void *arg)
{
    size_t bufsz = len < HF_IO_BUF ? (size_t)(len ? len : 1) : HF_IO_BUF;
    uint8_t *buf = hf_arena_alloc(q->a, bufsz);
    if (!buf)
        return -12; /* -ENOMEM */
    s3_objreader_t or = {.o = &src->o, .key = q->rsse.have_dk ? q->rsse.dk : NULL};
    int rc = HF_OK;
    for (uint64_t off = 0; off < len && rc == HF_OK;) {
        size_t k = len - off < bufsz ? (size_t)(len - off) : bufsz;
        rc = s3_obj_read(q, &or, first + off, buf, k);
        if (rc == HF_OK)
            rc = fn(arg, buf, k);
        off += k;
    }
    s3_obj_reader_close(&or);
    if (rc)
        hf_log_error("msg=\"copy source read failed\" request_id=%s bucket=%s err=\"%s\"", q->r->id,
                     src->bucket, hf_strerror(rc));
    return rc;
}

static int hash_cb(void *arg, const uint8_t *p, size_t n)
{
    hf_hashset_update(arg, p, n);
    return HF_OK;
}

/* Where a rewritten copy's bytes go while they are hashed: an arena
 * buffer (inline) or a blob. */
typedef struct copy_sink {
    hf_hashset_t *hs;
    uint8_t *mem;           /* inline: size bytes */
    size_t len;
    hf_blob_writer_t *w;    /* or a blob */
} copy_sink_t;

static int sink_cb(void *arg, const uint8_t *p, size_t n)
{
    copy_sink_t *s = arg;
    hf_hashset_update(s->hs, p, n);
    if (s->w)
        return hf_blob_write(s->w, p, n);
    memcpy(s->mem + s->len, p, n);
    s->len += n;
    return HF_OK;
}

/* Write the source's bytes again, sealed under q->wsse (a copy that
 * changes encryption cannot share blobs: they are sealed under the
 * source's key, or not at all). o gets the data, ETag and checksum. 0 or
 * -1 after s3_fail; on success *d owns what was written. */
static int rewrite(s3req_t *q, const copy_src_t *src, hf_obj_t *o, s3_data_t *d)
{
    const hf_obj_t *so = &src->o;
    memset(d, 0, sizeof *d);
    hf_hashset_t hs;
    if (hf_hashset_init(&hs, HF_HS_MD5 | s3_checksum_hash_flags(o)))
        return s3_fail(q, S3E_InternalError, NULL);
    copy_sink_t sink = {.hs = &hs};
    int rc = HF_OK;
    if (so->size <= HF_INLINE_MAX) {
        sink.mem = hf_arena_alloc(q->a, so->size ? so->size : 1);
        if (!sink.mem)
            rc = -12; /* -ENOMEM */
    } else {
        rc = s3_sse_blob_writer(q, &q->wsse, &sink.w);
        if (rc == HF_OK)
            d->blob = *hf_blob_writer_id(sink.w);
    }
    if (rc == HF_OK)
        rc = stream_source(q, src, 0, so->size, sink_cb, &sink);
    uint8_t md5[16], sha256[32], sha1[20];
    hf_hashset_final(&hs, md5, sha256, sha1);
    if (rc == HF_OK && sink.w) {
        uint64_t got = 0;
        rc = hf_blob_writer_finish(sink.w, &got);
        sink.w = NULL;
        d->have_blob = rc == HF_OK;
    }
    if (sink.w)
        hf_blob_writer_abort(sink.w);
    if (rc) {
        if (sink.mem)
            hf_wipe(sink.mem, so->size);
        return s3_fail(q, rc == HF_E_CORRUPT ? S3E_InternalError : hf_s3_err_from(rc),
                       "The copy source could not be read intact, or the copy could not be stored.");
    }
    d->size = so->size;
    memcpy(d->md5, md5, 16);
    s3_checksum_from_hashset(o, &hs, sha256, sha1);
    if (sink.mem) {
        d->is_inline = true;
        d->inline_data = sink.mem;
        d->inline_len = (uint32_t)so->size;
    }
    return s3_sse_seal_data(q, d);
}

/* The copy stays in the source's encryption: the same mode, and for SSE-C
 * the same customer key. Then it may share the source's sealed bytes. */
static bool same_encryption(const s3req_t *q)
{
    if (q->wsse.mode != q->rsse.mode)
        return false;
    return q->wsse.mode != HF_SSE_C || hf_ct_equal(q->wsse.ck, q->rsse.ck, HF_SSE_KEY_LEN);
}

/* ---- CopyObject ------------------------------------------------------------------- */

void op_copy_object(s3req_t *q)
{
    hf_obj_cond_t cond;
    if (s3_load_bucket(q) || s3_write_conditions(q, &cond))
        return;
    int meta_replace = directive(q, "x-amz-metadata-directive");
    int tag_replace = meta_replace < 0 ? -1 : directive(q, "x-amz-tagging-directive");
    if (tag_replace < 0)
        return;
    uint64_t ticket = hf_chunk_read_begin(q->s3->chunks);
    copy_src_t src;
    if (load_source(q, &src) || s3_sse_open(q, &src.o, S3_SSE_COPY_SOURCE, &q->rsse, true) ||
        s3_sse_choose(q))
        goto out;
    const hf_obj_t *so = &src.o;
    if (so->size > HF_PUT_MAX) {
        s3_fail(q, S3E_InvalidRequest,
                "The specified copy source is larger than the maximum allowable size for a copy "
                "source: %llu; use UploadPartCopy.", (unsigned long long)HF_PUT_MAX);
        goto out;
    }
    bool same_key = src.b.id == q->b.id && src.keylen == q->keylen &&
                    memcmp(src.key, q->key, q->keylen) == 0 && so->latest;
    /* Asking for an encryption counts as a change, as on S3 (that is how
     * an object is encrypted in place). */
    bool asks_sse = hf_http_find(&q->r->http, "x-amz-server-side-encryption") || q->wsse.have_ck;
    if (same_key && !meta_replace && !asks_sse) {
        s3_fail(q, S3E_InvalidRequest,
                "This copy request is illegal because it is trying to copy an object to itself "
                "without changing the object's metadata, storage class, website redirect location "
                "or encryption attributes.");
        goto out;
    }
    hf_obj_t o;
    memset(&o, 0, sizeof o);
    if (meta_replace) {
        if (s3_collect_meta(q, &o))
            goto out;
    } else {
        o.content_type = so->content_type;
        o.content_encoding = so->content_encoding;
        o.content_disposition = so->content_disposition;
        o.content_language = so->content_language;
        o.cache_control = so->cache_control;
        o.expires = so->expires;
        o.nmeta = so->nmeta;
        o.meta = so->meta;
    }
    if (tag_replace) {
        if (s3_tagging_header(q, &o))
            goto out;
    } else {
        o.tags = so->tags;
        o.ntags = so->ntags;
    }
    /* Object Lock settings are the request's (or the destination's
     * default), never the source's. */
    /* Nor the ACL: a copy gets the one its request asks for (S3). */
    if (s3_lock_headers(q, &o, false) || s3_lock_apply_default(q, &o) || s3_write_acl(q, &o) ||
        s3_copy_checksum(q, so, &o))
        goto out;
    int rc;
    if (!same_encryption(q)) {
        /* The checksum was computed on the way (s3_store_object keeps it:
         * d carries none of its own). */
        s3_data_t d;
        if (s3_sse_new_key(q) || rewrite(q, &src, &o, &d) || s3_store_object(q, &o, &d, &cond))
            goto out;
    } else {
        /* The copy shares the source's bytes, so it keeps the source's data
         * key and descriptor. */
        q->wsse = q->rsse;
        o.sse = so->sse;
        o.sse_len = so->sse_len;
        o.size = so->size;
        o.mtime = hf_time_now();
        o.hlc = hf_meta_hlc_next(q->s3->meta);
        o.origin = hf_meta_node_id(q->s3->meta);
        memcpy(o.etag, so->etag, 16);
        if (so->flags & HF_OBJ_INLINE) {
            o.flags = HF_OBJ_INLINE;
            o.inline_data = so->inline_data;
            o.inline_len = so->inline_len;
        } else if (so->nparts) {
            /* The blobs are shared; as a single-part object their part numbers
             * and part ETags no longer apply. */
            o.parts = hf_arena_alloc(q->a, sizeof *o.parts * so->nparts);
            if (!o.parts) {
                s3_fail(q, S3E_InternalError, NULL);
                goto out;
            }
            for (uint32_t i = 0; i < so->nparts; i++) {
                o.parts[i] = so->parts[i];
                o.parts[i].number = 0;
                memset(o.parts[i].etag, 0, 16);
            }
            o.nparts = so->nparts;
            cond.shared_blobs = true;
        }
        bool need_md5 = so->etag_parts != 0;
        unsigned which = (need_md5 ? HF_HS_MD5 : 0) | s3_checksum_hash_flags(&o);
        if (which) {
            hf_hashset_t hs;
            if (hf_hashset_init(&hs, which)) {
                s3_fail(q, S3E_InternalError, NULL);
                goto out;
            }
            rc = stream_source(q, &src, 0, so->size, hash_cb, &hs);
            uint8_t md5[16], sha256[32], sha1[20];
            hf_hashset_final(&hs, md5, sha256, sha1);
            if (rc) {
                s3_fail(q, rc == HF_E_CORRUPT ? S3E_InternalError : hf_s3_err_from(rc),
                        "The copy source could not be read intact.");
                goto out;
            }
            if (need_md5)
                s3_sse_etag(&q->wsse, md5, o.etag);
            s3_checksum_from_hashset(&o, &hs, sha256, sha1);
        }
        rc = hf_meta_obj_put(q->s3->meta, &q->b, q->key, q->keylen, &o, &cond);
        if (rc == HF_E_CONFLICT) {
            s3_fail(q, S3E_NoSuchKey, "The source object was deleted while it was being copied.");
            goto out;
        }
        if (rc) {
            s3_fail_write(q, rc);
            goto out;
        }
    }
    char etag[48], date[32];
    s3_etag(etag, o.etag, 0);
    hf_time_iso8601(date, o.mtime);
    s3_common_headers(q);
    s3_version_header(q, o.version);
    copy_source_version_header(q, &src);
    s3_sse_headers(q, &q->wsse);
    hf_buf_t b;
    hf_buf_init(&b, 4096);
    hf_xml_decl(&b);
    hf_xml_open_ns(&b, "CopyObjectResult");
    hf_xml_elem_str(&b, "LastModified", date);
    hf_xml_elem_str(&b, "ETag", etag);
    s3_checksum_xml(&b, &o);
    hf_xml_close(&b, "CopyObjectResult");
    s3_send_xml(q, &b);
out:
    hf_chunk_read_end(q->s3->chunks, ticket);
}

/* ---- UploadPartCopy ------------------------------------------------------------------ */

/* x-amz-copy-source-range: bytes=first-last within size. 0 (with *has
 * false when absent) or -1 after s3_fail. */
static int copy_range(s3req_t *q, uint64_t size, uint64_t *first, uint64_t *len)
{
    const char *v = s3_header(q, "x-amz-copy-source-range");
    *first = 0;
    *len = size;
    if (!v)
        return 0;
    uint64_t a, b;
    const char *dash = strncmp(v, "bytes=", 6) == 0 ? strchr(v + 6, '-') : NULL;
    if (!dash || hf_parse_u64(v + 6, (size_t)(dash - v - 6), &a) != HF_OK ||
        hf_parse_u64(dash + 1, strlen(dash + 1), &b) != HF_OK || b < a)
        return s3_fail_arg(q, "x-amz-copy-source-range", v,
                           "The x-amz-copy-source-range value must be of the form bytes=first-last "
                           "where first and last are the zero-based offsets of the first and last bytes to copy");
    if (b >= size) {
        s3_err_elem(q, "RangeRequested", "%s", v);
        s3_err_elem(q, "ActualObjectSize", "%" PRIu64, size);
        return s3_fail(q, S3E_InvalidRange,
                       "The requested range is not satisfiable: the source object is %" PRIu64 " bytes.",
                       size);
    }
    *first = a;
    *len = b - a + 1;
    return 0;
}

typedef struct part_sink {
    hf_blob_writer_t *w;
    hf_hashset_t *hs;
} part_sink_t;

static int part_cb(void *arg, const uint8_t *p, size_t n)
{
    part_sink_t *s = arg;
    hf_hashset_update(s->hs, p, n);
    return hf_blob_write(s->w, p, n);
}

void op_upload_part_copy(s3req_t *q)
{
    uint32_t num;
    uint8_t id[16];
    hf_upload_t u;
    if (s3_part_request(q, &num, id, &u) || s3_sse_open(q, &u.tmpl, S3_SSE_PART, &q->wsse, true))
        return;
    uint64_t ticket = hf_chunk_read_begin(q->s3->chunks);
    hf_blob_writer_t *w = NULL;
    hf_hashset_t hs;
    bool hs_open = false;
    copy_src_t src;
    if (load_source(q, &src) || s3_sse_open(q, &src.o, S3_SSE_COPY_SOURCE, &q->rsse, true))
        goto out;
    uint64_t first, len;
    if (copy_range(q, src.o.size, &first, &len))
        goto out;
    if (len > HF_PART_MAX_SIZE) {
        s3_fail(q, S3E_InvalidRequest, "A part copy may be at most %llu bytes.",
                (unsigned long long)HF_PART_MAX_SIZE);
        goto out;
    }
    int rc = s3_sse_blob_writer(q, &q->wsse, &w);
    if (rc) {
        s3_fail(q, hf_s3_err_from(rc), NULL);
        goto out;
    }
    /* An upload without an algorithm: the part keeps a CRC64NVME for the
     * object's default checksum, as UploadPart does. */
    bool plain = u.tmpl.ck_alg == HF_CK_NONE;
    if (hf_hashset_init(&hs, HF_HS_MD5 | (plain ? HF_HS_CRC64NVME : s3_checksum_hash_flags(&u.tmpl)))) {
        s3_fail(q, S3E_InternalError, NULL);
        goto out;
    }
    hs_open = true;
    part_sink_t sink = {w, &hs};
    rc = stream_source(q, &src, first, len, part_cb, &sink);
    uint8_t md5[16], sha256[32], sha1[20];
    hf_hashset_final(&hs, md5, sha256, sha1);
    hs_open = false;
    if (rc) {
        s3_fail(q, rc == HF_E_CORRUPT ? S3E_InternalError : hf_s3_err_from(rc),
                "The copy source could not be read intact, or the part could not be stored.");
        goto out;
    }
    hf_part_t p = {0};
    p.number = num;
    p.blob = *hf_blob_writer_id(w);
    rc = hf_blob_writer_finish(w, &p.size);
    w = NULL;
    if (rc) {
        s3_fail(q, hf_s3_err_from(rc), NULL);
        goto out;
    }
    s3_sse_etag(&q->wsse, md5, p.etag);
    p.mtime = hf_time_now();
    if (plain) {
        s3_ck_value(HF_CK_CRC64NVME, &hs, sha256, sha1, p.ck);
        p.ck_len = s3_ck(HF_CK_CRC64NVME)->len;
    } else {
        s3_part_checksum_from_hashset(&u.tmpl, &p, &hs, sha256, sha1);
    }
    rc = hf_meta_part_put(q->s3->meta, q->b.id, q->key, q->keylen, id, &p);
    if (rc) {
        hf_chunk_release(q->s3->chunks, &p.blob, p.size);
        s3_fail(q, rc == HF_E_NOTFOUND ? S3E_NoSuchUpload : hf_s3_err_from(rc), NULL);
        goto out;
    }
    char etag[48], date[32];
    s3_etag(etag, p.etag, 0);
    hf_time_iso8601(date, p.mtime);
    s3_common_headers(q);
    copy_source_version_header(q, &src);
    s3_sse_headers(q, &q->wsse);
    hf_buf_t b;
    hf_buf_init(&b, 4096);
    hf_xml_decl(&b);
    hf_xml_open_ns(&b, "CopyPartResult");
    hf_xml_elem_str(&b, "LastModified", date);
    hf_xml_elem_str(&b, "ETag", etag);
    s3_part_checksum_xml(&b, &u.tmpl, &p);
    hf_xml_close(&b, "CopyPartResult");
    s3_send_xml(q, &b);
out:
    if (hs_open)
        hf_hashset_free(&hs);
    if (w)
        hf_blob_writer_abort(w);
    hf_chunk_read_end(q->s3->chunks, ticket);
}
