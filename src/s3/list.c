/*
 * list.c -- ListObjects (v1) and ListObjectsV2, and the XML pieces every
 * listing shares.
 *
 * Both are one hf_meta_obj_list() page rendered two ways. The
 * prefix / delimiter / marker semantics live in meta (it owns the cursor);
 * here we only translate parameters and write XML.
 *
 * ListObjectsV2 continuation tokens are opaque to clients: base64 of the
 * last key or common prefix returned, so a token resumes exactly after it
 * (a common prefix is skipped whole, see meta.h).
 *
 * ListObjectVersions is in version.c.
 */
#include "s3/internal.h"

#include "base/err.h"
#include "base/str.h"
#include "base/time.h"

#include <string.h>

typedef struct listing {
    const char *prefix, *delimiter, *start_after;
    uint32_t max;
    int url;
    hf_list_res_t res;
} listing_t;

static int run_list(s3req_t *q, listing_t *l)
{
    hf_list_req_t rq = {0};
    rq.bucket_id = q->b.id;
    rq.prefix = (hf_str_t){l->prefix ? l->prefix : "", l->prefix ? strlen(l->prefix) : 0};
    rq.delimiter = (hf_str_t){l->delimiter ? l->delimiter : "",
                              l->delimiter ? strlen(l->delimiter) : 0};
    rq.start_after = (hf_str_t){l->start_after ? l->start_after : "",
                                l->start_after ? strlen(l->start_after) : 0};
    rq.max_keys = l->max;
    int rc = hf_meta_obj_list(q->s3->meta, &rq, q->a, &l->res);
    if (rc)
        return s3_fail(q, hf_s3_err_from(rc), NULL);
    return 0;
}

void s3_xml_enc(s3req_t *q, hf_buf_t *b, const char *name, const char *s, size_t n, int url)
{
    if (url) {
        const char *e = s3_urlenc(q, s, n);
        hf_xml_elem_str(b, name, e);
    } else {
        hf_xml_elem(b, name, s, n);
    }
}

void s3_checksum_list_xml(hf_buf_t *b, const hf_list_entry_t *e)
{
    if (e->ck_alg == HF_CK_NONE || !*s3_ck_name(e->ck_alg))
        return;
    hf_xml_elem_str(b, "ChecksumAlgorithm", s3_ck_name(e->ck_alg));
    hf_xml_elem_str(b, "ChecksumType", e->ck_type == HF_CK_COMPOSITE ? "COMPOSITE" : "FULL_OBJECT");
}

static void contents(s3req_t *q, hf_buf_t *b, const hf_list_entry_t *e, int url, bool owner)
{
    char date[32], etag[48];
    hf_time_iso8601(date, e->mtime);
    s3_etag(etag, e->etag, e->etag_parts);
    hf_xml_open(b, "Contents");
    s3_xml_enc(q, b, "Key", e->key.p, e->key.n, url);
    hf_xml_elem_str(b, "LastModified", date);
    hf_xml_elem_str(b, "ETag", etag);
    s3_checksum_list_xml(b, e);
    hf_xml_elem_u64(b, "Size", e->size);
    if (owner)
        s3_owner_xml(q, b, e->owner);
    hf_xml_elem_str(b, "StorageClass", "STANDARD");
    hf_xml_close(b, "Contents");
}

static void common_prefixes(s3req_t *q, hf_buf_t *b, const hf_list_res_t *r, int url)
{
    for (uint32_t i = 0; i < r->nprefixes; i++) {
        hf_xml_open(b, "CommonPrefixes");
        s3_xml_enc(q, b, "Prefix", r->prefixes[i].p, r->prefixes[i].n, url);
        hf_xml_close(b, "CommonPrefixes");
    }
}

static void opt_elem(s3req_t *q, hf_buf_t *b, const char *name, const char *v, int url)
{
    if (v)
        s3_xml_enc(q, b, name, v, strlen(v), url);
}

void op_list_objects_v2(s3req_t *q)
{
    if (s3_load_bucket(q))
        return;
    const char *lt = s3_param(q, "list-type");
    if (strcmp(lt, "2") != 0) {
        s3_fail_arg(q, "list-type", lt, "Invalid list-type: only 2 is defined.");
        return;
    }
    listing_t l = {0};
    const char *start_after;
    if (s3_param_text(q, "prefix", &l.prefix) || s3_param_delimiter(q, &l.delimiter) ||
        s3_param_text(q, "start-after", &start_after))
        return;
    if ((l.url = s3_encoding_type(q)) < 0)
        return;
    if (s3_param_uint(q, "max-keys", HF_LIST_PAGE_MAX, HF_LIST_PAGE_MAX, &l.max))
        return;
    const char *token = s3_param(q, "continuation-token");
    const char *fo = s3_param(q, "fetch-owner");
    bool fetch_owner = fo && strcmp(fo, "true") == 0;
    if (token) {
        size_t tn = strlen(token);
        char *dec = hf_arena_alloc(q->a, tn + 1);
        int k = dec ? hf_base64_decode(dec, tn, token, tn) : -1;
        if (k < 0 || tn == 0) {
            s3_fail_arg(q, "continuation-token", token, "The continuation token provided is incorrect");
            return;
        }
        dec[k] = '\0';
        l.start_after = dec;
    } else {
        l.start_after = start_after;
    }
    if (start_after && l.start_after != start_after && strcmp(start_after, l.start_after) > 0)
        l.start_after = start_after;
    if (run_list(q, &l))
        return;
    hf_buf_t b;
    hf_buf_init(&b, HF_RESP_XML_MAX);
    hf_xml_decl(&b);
    hf_xml_open_ns(&b, "ListBucketResult");
    hf_xml_elem_str(&b, "Name", q->bucket);
    s3_xml_enc(q, &b, "Prefix", l.prefix ? l.prefix : "", l.prefix ? strlen(l.prefix) : 0, l.url);
    if (token)
        hf_xml_elem_str(&b, "ContinuationToken", token);
    opt_elem(q, &b, "StartAfter", start_after, l.url);
    hf_xml_elem_u64(&b, "KeyCount", l.res.nentries + l.res.nprefixes);
    hf_xml_elem_u64(&b, "MaxKeys", l.max);
    opt_elem(q, &b, "Delimiter", l.delimiter, l.url);
    if (l.url)
        hf_xml_elem_str(&b, "EncodingType", "url");
    hf_xml_elem_bool(&b, "IsTruncated", l.res.truncated);
    if (l.res.truncated && l.res.last.n) {
        char *tok = hf_arena_alloc(q->a, hf_base64_len(l.res.last.n) + 1);
        if (tok) {
            hf_base64_encode(tok, l.res.last.p, l.res.last.n);
            hf_xml_elem_str(&b, "NextContinuationToken", tok);
        }
    }
    for (uint32_t i = 0; i < l.res.nentries; i++)
        contents(q, &b, &l.res.entries[i], l.url, fetch_owner);
    common_prefixes(q, &b, &l.res, l.url);
    hf_xml_close(&b, "ListBucketResult");
    s3_send_xml(q, &b);
}

void op_list_objects(s3req_t *q)
{
    if (s3_load_bucket(q))
        return;
    listing_t l = {0};
    if (s3_param_text(q, "prefix", &l.prefix) || s3_param_delimiter(q, &l.delimiter) ||
        s3_param_text(q, "marker", &l.start_after))
        return;
    if ((l.url = s3_encoding_type(q)) < 0)
        return;
    if (s3_param_uint(q, "max-keys", HF_LIST_PAGE_MAX, HF_LIST_PAGE_MAX, &l.max))
        return;
    if (run_list(q, &l))
        return;
    hf_buf_t b;
    hf_buf_init(&b, HF_RESP_XML_MAX);
    hf_xml_decl(&b);
    hf_xml_open_ns(&b, "ListBucketResult");
    hf_xml_elem_str(&b, "Name", q->bucket);
    s3_xml_enc(q, &b, "Prefix", l.prefix ? l.prefix : "", l.prefix ? strlen(l.prefix) : 0, l.url);
    s3_xml_enc(q, &b, "Marker", l.start_after ? l.start_after : "",
             l.start_after ? strlen(l.start_after) : 0, l.url);
    /* S3 gives NextMarker only with a delimiter; without one, clients
     * continue from the last key. */
    if (l.res.truncated && l.delimiter && l.res.last.n)
        s3_xml_enc(q, &b, "NextMarker", l.res.last.p, l.res.last.n, l.url);
    hf_xml_elem_u64(&b, "MaxKeys", l.max);
    opt_elem(q, &b, "Delimiter", l.delimiter, l.url);
    if (l.url)
        hf_xml_elem_str(&b, "EncodingType", "url");
    hf_xml_elem_bool(&b, "IsTruncated", l.res.truncated);
    for (uint32_t i = 0; i < l.res.nentries; i++)
        contents(q, &b, &l.res.entries[i], l.url, true);
    common_prefixes(q, &b, &l.res, l.url);
    hf_xml_close(&b, "ListBucketResult");
    s3_send_xml(q, &b);
}
