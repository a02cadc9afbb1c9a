/*
 * multipart.c -- CreateMultipartUpload, UploadPart, CompleteMultipartUpload,
 * AbortMultipartUpload, ListParts, ListMultipartUploads.
 *
 * Each part is stored as its own durable blob when it is uploaded; Complete
 * copies no data: the object record lists the parts' blobs in order, and
 * their references move from the part records to the object in one
 * metadata transaction (meta.h). A part re-uploaded between the moment we
 * validate the client's list and the commit is caught there (InvalidPart),
 * so a completed object never mixes parts the client did not name.
 *
 * Upload ids are the 16-byte meta ids in lower-case hex.
 */
#include "s3/internal.h"

#include "base/err.h"
#include "base/str.h"
#include "base/time.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int parse_upload_id(s3req_t *q, uint8_t id[16])
{
    const char *v = s3_param(q, "uploadId");
    if (!v || strlen(v) != 32 || hf_hex_decode(id, v, 16) != HF_OK)
        return s3_fail(q, S3E_NoSuchUpload, NULL);
    return 0;
}

int s3_load_upload(s3req_t *q, uint8_t id[16], hf_upload_t *u)
{
    if (parse_upload_id(q, id))
        return -1;
    int rc = hf_meta_upload_get(q->s3->meta, q->b.id, q->key, q->keylen, id, q->a, u);
    if (rc == HF_E_NOTFOUND)
        return s3_fail(q, S3E_NoSuchUpload, NULL);
    if (rc)
        return s3_fail(q, hf_s3_err_from(rc), NULL);
    return 0;
}

void op_create_upload(s3req_t *q)
{
    if (s3_load_bucket(q))
        return;
    if (hf_http_find(&q->r->http, "if-match") || hf_http_find(&q->r->http, "if-none-match")) {
        /* S3 takes write conditions on CompleteMultipartUpload. */
        s3_not_implemented(q, "If-Match / If-None-Match on CreateMultipartUpload");
        return;
    }
    hf_upload_t u;
    memset(&u, 0, sizeof u);
    if (s3_collect_meta(q, &u.tmpl) || s3_tagging_header(q, &u.tmpl) ||
        s3_upload_checksum(q, &u.tmpl) || s3_lock_headers(q, &u.tmpl, false) ||
        s3_write_acl(q, &u.tmpl) || s3_sse_choose(q) || s3_sse_new_key(q))
        return;
    /* Every part is sealed under this upload's data key. */
    u.tmpl.sse = q->wsse.desc_len ? q->wsse.desc : NULL;
    u.tmpl.sse_len = q->wsse.desc_len;
    u.initiated = hf_time_now();
    /* The upload's owner is the object's owner-to-be (Object Ownership). */
    u.owner = u.tmpl.owner;
    if (s3_check_space(q, 0))
        return;
    int rc = hf_meta_upload_create(q->s3->meta, &q->b, q->key, q->keylen, &u);
    if (rc) {
        s3_fail(q, rc == HF_E_NOTFOUND ? S3E_NoSuchBucket : hf_s3_err_from(rc), NULL);
        return;
    }
    char id[33];
    hf_hex_encode(id, u.id, 16);
    s3_upload_checksum_headers(q, &u.tmpl);
    s3_sse_headers(q, &q->wsse);
    hf_buf_t b;
    hf_buf_init(&b, 16 * 1024);
    hf_xml_decl(&b);
    hf_xml_open_ns(&b, "InitiateMultipartUploadResult");
    hf_xml_elem_str(&b, "Bucket", q->bucket);
    hf_xml_elem(&b, "Key", q->key, q->keylen);
    hf_xml_elem_str(&b, "UploadId", id);
    hf_xml_close(&b, "InitiateMultipartUploadResult");
    s3_send_xml(q, &b);
}

int s3_part_number(s3req_t *q, uint32_t *num)
{
    const char *pn = s3_param(q, "partNumber");
    uint64_t v = 0;
    if (!pn || hf_parse_u64(pn, strlen(pn), &v) != HF_OK || v < 1 || v > HF_PART_NUMBER_MAX)
        return s3_fail_arg(q, "partNumber", pn,
                           "Part number must be an integer between 1 and %d, inclusive", HF_PART_NUMBER_MAX);
    *num = (uint32_t)v;
    return 0;
}

int s3_part_request(s3req_t *q, uint32_t *num, uint8_t id[16], hf_upload_t *u)
{
    if (s3_load_bucket(q) || s3_part_number(q, num) || s3_load_upload(q, id, u))
        return -1;
    return 0;
}

void op_upload_part(s3req_t *q)
{
    uint32_t num;
    uint8_t id[16];
    hf_upload_t u;
    if (s3_part_request(q, &num, id, &u) || s3_sse_open(q, &u.tmpl, S3_SSE_PART, &q->wsse, true))
        return;
    /* A part of an upload with an algorithm gets that checksum, verified
     * if the client sent one, computed if not. A part of an upload without
     * one keeps a CRC64NVME, for the object's default checksum
     * (complete_checksum); it is not shown, as the upload has no
     * algorithm a client could name in its Complete request. */
    bool plain = u.tmpl.ck_alg == HF_CK_NONE;
    s3_data_t d;
    if (s3_receive(q, false, HF_PART_MAX_SIZE, plain ? S3_CK_DEFAULT : u.tmpl.ck_alg, &d))
        return;
    bool declared = q->body.ck_declared;
    hf_part_t p = {0};
    p.number = num;
    if (d.ck_alg != HF_CK_NONE && d.ck_alg == (plain ? HF_CK_CRC64NVME : u.tmpl.ck_alg)) {
        p.ck_len = d.ck_len;
        memcpy(p.ck, d.ck, d.ck_len);
    }
    p.blob = d.blob;
    p.size = d.size;
    s3_sse_etag(&q->wsse, d.md5, p.etag);
    p.mtime = hf_time_now();
    int rc = hf_meta_part_put(q->s3->meta, q->b.id, q->key, q->keylen, id, &p);
    if (rc) {
        s3_data_discard(q, &d);
        s3_fail(q, rc == HF_E_NOTFOUND ? S3E_NoSuchUpload : hf_s3_err_from(rc), NULL);
        return;
    }
    char etag[48];
    s3_etag(etag, p.etag, 0);
    s3_common_headers(q);
    hf_resp_header(q->r, "ETag", etag);
    s3_sse_headers(q, &q->wsse);
    if (d.ck_alg != HF_CK_NONE && (!plain || declared)) {
        char t[S3_CK_TEXT_MAX];
        hf_base64_encode(t, d.ck, d.ck_len);
        hf_resp_header(q->r, s3_ck(d.ck_alg)->header, t);
    }
    hf_resp_send(q->r, 200, NULL, 0);
}

/* Every recorded part of upload id, in order (at most HF_PART_NUMBER_MAX). */
static int all_parts(s3req_t *q, const uint8_t id[16], hf_part_t **out, uint32_t *n)
{
    hf_part_t *all = hf_arena_alloc(q->a, sizeof *all * HF_PART_NUMBER_MAX);
    if (!all)
        return -ENOMEM;
    uint32_t total = 0, after = 0;
    for (;;) {
        hf_part_t *page;
        uint32_t k;
        bool more;
        int rc = hf_meta_part_list(q->s3->meta, id, after, HF_LIST_PAGE_MAX, q->a, &page, &k, &more);
        if (rc)
            return rc;
        for (uint32_t i = 0; i < k && total < HF_PART_NUMBER_MAX; i++)
            all[total++] = page[i];
        if (!more || k == 0)
            break;
        after = page[k - 1].number;
    }
    *out = all;
    *n = total;
    return HF_OK;
}

/* The checksum a Complete request lists for one part, checked against
 * the part's: 0, or -1 after s3_fail. */
static int check_part_checksum(s3req_t *q, const hf_upload_t *u, hf_xml_node_t *xp, const hf_part_t *rec)
{
    const s3_ckinfo_t *want = s3_ck(u->tmpl.ck_alg);
    const s3_ckinfo_t *given = NULL;
    const char *text = NULL;
    for (size_t i = 0; s3_ck_at(i); i++) {
        const char *t = hf_xml_child_text(xp, s3_ck_at(i)->xml);
        if (t) {
            given = s3_ck_at(i);
            text = t;
        }
    }
    if (!given) {
        if (want && u->tmpl.ck_type == HF_CK_COMPOSITE)
            return s3_fail(q, S3E_InvalidRequest,
                           "The upload was created using a %s checksum. The complete request must "
                           "include the checksum for each part. It was missing for part %u in the request.",
                           want->name, rec->number);
        return 0;
    }
    if (!want || given != want)
        return s3_fail(q, S3E_InvalidPart, "Part %u: the upload does not use the %s checksum.",
                       rec->number, given->name);
    uint8_t raw[HF_CK_MAX_LEN];
    if (s3_parse_ck_text(given, text, raw) != HF_OK || rec->ck_len != given->len ||
        memcmp(raw, rec->ck, given->len) != 0)
        return s3_fail(q, S3E_InvalidPart, "Part %u: the %s checksum does not match the part's.",
                       rec->number, given->name);
    return 0;
}

/* The completed object's checksum (upload with an algorithm). A checksum
 * header on the request must equal it (BadDigest). An upload without an
 * algorithm gets S3's default, a full-object CRC64NVME combined from its
 * parts', when every part has one (parts stored by an older version may
 * not: then the object has no checksum). 0 or -1 after s3_fail. */
static int complete_checksum(s3req_t *q, hf_obj_t *o, const hf_part_t *const *used, uint32_t n)
{
    if (o->ck_alg == HF_CK_NONE) {
        if (n == 0)
            return 0;
        for (uint32_t i = 0; i < n; i++)
            if (used[i]->ck_len != s3_ck(HF_CK_CRC64NVME)->len)
                return 0;
        o->ck_alg = HF_CK_CRC64NVME;
        o->ck_type = HF_CK_FULL_OBJECT;
    }
    const s3_ckinfo_t *c = s3_ck(o->ck_alg);
    if (!c)
        return 0;
    uint8_t *pck = hf_arena_alloc(q->a, (size_t)n * c->len);
    uint64_t *sizes = hf_arena_alloc(q->a, sizeof *sizes * n);
    if (!pck || !sizes)
        return s3_fail(q, S3E_InternalError, NULL);
    for (uint32_t i = 0; i < n; i++) {
        if (used[i]->ck_len != c->len)
            return s3_fail(q, S3E_InvalidPart, "Part %u has no %s checksum.", used[i]->number, c->name);
        memcpy(pck + (size_t)i * c->len, used[i]->ck, c->len);
        sizes[i] = used[i]->size;
    }
    if (s3_multipart_checksum(o, pck, sizes, n) != HF_OK)
        return s3_fail(q, S3E_InternalError, NULL);
    o->part_ck = pck;
    const char *hdr = s3_header(q, c->header);
    if (hdr) {
        char mine[S3_CK_TEXT_MAX], bare[S3_CK_TEXT_MAX];
        s3_ck_text(o, mine);
        hf_base64_encode(bare, o->ck, o->ck_len);
        if (strcmp(hdr, mine) != 0 && strcmp(hdr, bare) != 0)
            return s3_fail(q, S3E_BadDigest, "The %s you specified did not match the calculated checksum.",
                           c->name);
    }
    return 0;
}

/* What identifies a Complete request's part list, for telling a retry
 * of a completion from another completion of the same upload: each Part's
 * number, its ETag (quotes dropped) and any checksum it lists, as sent. */
static void parts_digest(hf_xml_node_t *root, uint8_t out[32])
{
    hf_hashset_t hs;
    if (hf_hashset_init(&hs, HF_HS_SHA256) != HF_OK) {
        memset(out, 0, 32);
        return;
    }
    for (hf_xml_node_t *p = hf_xml_child(root, "Part"); p; p = hf_xml_next(p)) {
        const char *ns = hf_xml_child_text(p, "PartNumber"), *es = hf_xml_child_text(p, "ETag");
        uint8_t md5[16];
        uint32_t eparts;
        char etag[33];
        if (es && s3_etag_parse(es, md5, &eparts) == HF_OK && eparts == 0)
            hf_hex_encode(etag, md5, 16);
        else
            snprintf(etag, sizeof etag, "%.32s", es ? es : "");
        char line[160];
        int k = snprintf(line, sizeof line, "%.20s/%s", ns ? ns : "", etag);
        hf_hashset_update(&hs, line, (size_t)k + 1);
        for (size_t i = 0; s3_ck_at(i); i++) {
            const char *t = hf_xml_child_text(p, s3_ck_at(i)->xml);
            if (t) {
                k = snprintf(line, sizeof line, "%s=%.64s", s3_ck_at(i)->xml, t);
                hf_hashset_update(&hs, line, (size_t)k + 1);
            }
        }
    }
    hf_hashset_final(&hs, NULL, out, NULL);
}

/* The CompleteMultipartUploadResult of the object o (its key q->key). */
static void complete_result(s3req_t *q, const hf_obj_t *o)
{
    s3_version_header(q, o->version);
    char etag[48];
    s3_etag(etag, o->etag, o->etag_parts);
    const hf_http_header_t *host = hf_http_find(&q->r->http, "host");
    hf_buf_t b;
    hf_buf_init(&b, 16 * 1024);
    hf_xml_decl(&b);
    hf_xml_open_ns(&b, "CompleteMultipartUploadResult");
    hf_xml_open(&b, "Location");
    hf_buf_puts(&b, q->r->tls ? "https://" : "http://");
    if (host)
        hf_xml_text(&b, host->value.p, host->value.n);
    hf_xml_text(&b, q->resource, strlen(q->resource));
    hf_xml_close(&b, "Location");
    hf_xml_elem_str(&b, "Bucket", q->bucket);
    hf_xml_elem(&b, "Key", q->key, q->keylen);
    hf_xml_elem_str(&b, "ETag", etag);
    s3_checksum_xml(&b, o);
    hf_xml_close(&b, "CompleteMultipartUploadResult");
    s3_send_xml(q, &b);
}

/* A Complete request for upload id, which is gone: if it completed within
 * the window (hf_s3_t.done_window_ns) with the same part list, this is a
 * retry of that completion -- a client that lost the answer -- and gets
 * the same answer, writing nothing (so a versioned bucket gets no second
 * version). Any other list, or a later retry, is NoSuchUpload. root is
 * the request's part list, or NULL if not read yet. */
static void complete_again(s3req_t *q, const uint8_t id[16], hf_xml_node_t *root)
{
    if (!root && s3_read_xml(q, "CompleteMultipartUpload", false, &root))
        return;
    hf_upload_done_t d;
    uint8_t digest[32];
    parts_digest(root, digest);
    int rc = hf_meta_upload_done_get(q->s3->meta, q->b.id, q->key, q->keylen, id, hf_time_now(), &d);
    if (rc == HF_E_NOTFOUND || (rc == HF_OK && memcmp(digest, d.parts_digest, 32) != 0)) {
        s3_fail(q, S3E_NoSuchUpload, NULL);
        return;
    }
    if (rc) {
        s3_fail(q, hf_s3_err_from(rc), NULL);
        return;
    }
    hf_obj_t o = {.flags = HF_OBJ_MULTIPART, .etag_parts = d.etag_parts, .ck_alg = d.ck_alg,
                  .ck_type = d.ck_type, .ck_len = d.ck_len};
    memcpy(o.etag, d.etag, 16);
    memcpy(o.ck, d.ck, d.ck_len);
    memcpy(o.version, d.version, 16);
    complete_result(q, &o);
}

void op_complete_upload(s3req_t *q)
{
    hf_obj_cond_t cond;
    if (s3_load_bucket(q) || s3_write_conditions(q, &cond))
        return;
    uint8_t id[16];
    hf_upload_t u;
    if (parse_upload_id(q, id))
        return;
    int rc = hf_meta_upload_get(q->s3->meta, q->b.id, q->key, q->keylen, id, q->a, &u);
    if (rc == HF_E_NOTFOUND) {
        complete_again(q, id, NULL);
        return;
    }
    if (rc) {
        s3_fail(q, hf_s3_err_from(rc), NULL);
        return;
    }
    if (s3_sse_open(q, &u.tmpl, S3_SSE_UPLOAD, &q->wsse, false))
        return;
    hf_xml_node_t *root;
    if (s3_read_xml(q, "CompleteMultipartUpload", false, &root))
        return;
    uint32_t n = 0;
    for (hf_xml_node_t *p = hf_xml_child(root, "Part"); p; p = hf_xml_next(p))
        n++;
    if (n == 0) {
        s3_fail(q, S3E_MalformedXML, "You must specify at least one part");
        return;
    }
    if (n > HF_PART_NUMBER_MAX) {
        s3_fail(q, S3E_MalformedXML, "At most %d parts may be listed.", HF_PART_NUMBER_MAX);
        return;
    }
    hf_part_t *recorded;
    uint32_t nrec;
    rc = all_parts(q, id, &recorded, &nrec);
    if (rc) {
        s3_fail(q, hf_s3_err_from(rc), NULL);
        return;
    }
    hf_obj_part_t *parts = hf_arena_calloc(q->a, sizeof *parts * n);
    uint8_t *md5s = hf_arena_alloc(q->a, 16 * (size_t)n);
    const hf_part_t **used = hf_arena_alloc(q->a, sizeof *used * n);
    if (!parts || !md5s || !used) {
        s3_fail(q, S3E_InternalError, NULL);
        return;
    }
    uint32_t i = 0, prev = 0, r = 0;
    uint64_t total = 0;
    for (hf_xml_node_t *p = hf_xml_child(root, "Part"); p; p = hf_xml_next(p), i++) {
        const char *ns = hf_xml_child_text(p, "PartNumber");
        const char *es = hf_xml_child_text(p, "ETag");
        uint64_t num;
        uint8_t md5[16];
        uint32_t eparts;
        if (!ns || !es || hf_parse_u64(ns, strlen(ns), &num) != HF_OK || num < 1 ||
            num > HF_PART_NUMBER_MAX) {
            s3_fail(q, S3E_MalformedXML, "Every Part needs a PartNumber (1-%d) and an ETag.",
                    HF_PART_NUMBER_MAX);
            return;
        }
        if (num <= prev) {
            s3_err_elem(q, "PartNumber", "%" PRIu64, num);
            s3_err_elem(q, "ETag", "%s", es);
            s3_fail(q, S3E_InvalidPartOrder, NULL);
            return;
        }
        prev = (uint32_t)num;
        while (r < nrec && recorded[r].number < num)
            r++;
        if (r == nrec || recorded[r].number != num || s3_etag_parse(es, md5, &eparts) != HF_OK ||
            eparts != 0 || memcmp(md5, recorded[r].etag, 16) != 0) {
            s3_err_elem(q, "PartNumber", "%" PRIu64, num);
            s3_err_elem(q, "ETag", "%s", es);
            s3_fail(q, S3E_InvalidPart, "Part %" PRIu64 " was not uploaded, or its ETag does not match.",
                    num);
            return;
        }
        if (check_part_checksum(q, &u, p, &recorded[r]))
            return;
        used[i] = &recorded[r];
        parts[i].blob = recorded[r].blob;
        parts[i].size = recorded[r].size;
        parts[i].number = (uint32_t)num;
        memcpy(parts[i].etag, recorded[r].etag, 16);
        memcpy(md5s + 16 * (size_t)i, recorded[r].etag, 16);
        total += recorded[r].size;
    }
    for (i = 0; i + 1 < n; i++)
        if (parts[i].size < HF_PART_MIN_SIZE) {
            char etag[48];
            s3_etag(etag, parts[i].etag, 0);
            s3_err_elem(q, "ProposedSize", "%" PRIu64, parts[i].size);
            s3_err_elem(q, "MinSizeAllowed", "%llu", (unsigned long long)HF_PART_MIN_SIZE);
            s3_err_elem(q, "PartNumber", "%" PRIu32, parts[i].number);
            s3_err_elem(q, "ETag", "%.32s", etag + 1);
            s3_fail(q, S3E_EntityTooSmall,
                    "Part %" PRIu32 " is %" PRIu64 " bytes; every part but the last must be at least %llu bytes.",
                    parts[i].number, parts[i].size, (unsigned long long)HF_PART_MIN_SIZE);
            return;
        }
    if (total > HF_OBJECT_MAX) {
        s3_err_elem(q, "ProposedSize", "%" PRIu64, total);
        s3_err_elem(q, "MaxSizeAllowed", "%llu", (unsigned long long)HF_OBJECT_MAX);
        s3_fail(q, S3E_EntityTooLarge, NULL);
        return;
    }
    /* The size the client expects (S3: a mismatch is 400 InvalidRequest). */
    const char *want = s3_header(q, "x-amz-mp-object-size");
    if (want) {
        uint64_t w;
        if (hf_parse_u64(want, strlen(want), &w) != HF_OK || w != total) {
            s3_fail(q, S3E_InvalidRequest,
                    "The object size in x-amz-mp-object-size (%.40s) does not match the size of the "
                    "parts (%" PRIu64 ").", want, total);
            return;
        }
    }
    hf_obj_t o = u.tmpl;
    o.flags = HF_OBJ_MULTIPART;
    o.size = total;
    o.mtime = hf_time_now();
    o.hlc = hf_meta_hlc_next(q->s3->meta);
    o.origin = hf_meta_node_id(q->s3->meta);
    hf_md5(md5s, 16 * (size_t)n, o.etag);
    o.etag_parts = n;
    o.owner = u.owner;
    o.inline_data = NULL;
    o.inline_len = 0;
    o.parts = parts;
    o.nparts = n;
    memset(o.version, 0, sizeof o.version);
    o.ck_len = 0;
    o.part_ck = NULL;
    if (complete_checksum(q, &o, used, n) || s3_lock_apply_default(q, &o))
        return;
    hf_upload_done_t done = {.expires = hf_time_now() + q->s3->done_window_ns};
    parts_digest(root, done.parts_digest);
    rc = hf_meta_upload_complete_done(q->s3->meta, &q->b, q->key, q->keylen, id, &o, &cond,
                                      q->s3->done_window_ns > 0 ? &done : NULL);
    if (rc == HF_E_CONFLICT) {
        s3_fail(q, S3E_InvalidPart, "A part was uploaded again while the upload was completing.");
        return;
    }
    if (rc == HF_E_NOTFOUND && !cond.if_match) {
        /* Completed (or aborted) meanwhile: perhaps by this request's
         * first attempt. */
        complete_again(q, id, root);
        return;
    }
    if (rc == HF_E_NOTFOUND) {
        /* The upload, or (If-Match) the key: tell them apart. */
        hf_upload_t again;
        if (hf_meta_upload_get(q->s3->meta, q->b.id, q->key, q->keylen, id, q->a, &again) ==
            HF_E_NOTFOUND) {
            complete_again(q, id, root);
            return;
        }
    }
    if (rc) {
        s3_fail_write(q, rc);
        return;
    }
    if (q->wsse.mode == HF_SSE_S3) /* S3 echoes no SSE-C headers here */
        s3_sse_headers(q, &q->wsse);
    complete_result(q, &o);
}

void op_abort_upload(s3req_t *q)
{
    if (s3_load_bucket(q))
        return;
    uint8_t id[16];
    if (parse_upload_id(q, id))
        return;
    int rc = hf_meta_upload_abort(q->s3->meta, &q->b, q->key, q->keylen, id);
    if (rc == HF_E_NOTFOUND) {
        s3_fail(q, S3E_NoSuchUpload, NULL);
        return;
    }
    if (rc) {
        s3_fail(q, hf_s3_err_from(rc), NULL);
        return;
    }
    s3_no_content(q);
}

/* The same user initiated and owns an upload. */
static void initiator_owner(s3req_t *q, hf_buf_t *b, uint64_t uid)
{
    s3_principal_xml(q, b, "Initiator", uid);
    s3_owner_xml(q, b, uid);
}

void op_list_parts(s3req_t *q)
{
    if (s3_load_bucket(q))
        return;
    uint8_t id[16];
    hf_upload_t u;
    if (s3_load_upload(q, id, &u) || s3_sse_open(q, &u.tmpl, S3_SSE_UPLOAD, &q->rsse, false))
        return;
    uint32_t max, marker;
    if (s3_param_uint(q, "max-parts", HF_LIST_PAGE_MAX, HF_LIST_PAGE_MAX, &max) ||
        s3_param_uint(q, "part-number-marker", 0, HF_PART_NUMBER_MAX, &marker))
        return;
    hf_part_t *parts = NULL;
    uint32_t n = 0;
    bool more = false;
    if (max > 0) {
        int rc = hf_meta_part_list(q->s3->meta, id, marker, max, q->a, &parts, &n, &more);
        if (rc) {
            s3_fail(q, hf_s3_err_from(rc), NULL);
            return;
        }
    }
    char idhex[33];
    hf_hex_encode(idhex, id, 16);
    hf_buf_t b;
    hf_buf_init(&b, HF_RESP_XML_MAX);
    hf_xml_decl(&b);
    hf_xml_open_ns(&b, "ListPartsResult");
    hf_xml_elem_str(&b, "Bucket", q->bucket);
    hf_xml_elem(&b, "Key", q->key, q->keylen);
    hf_xml_elem_str(&b, "UploadId", idhex);
    initiator_owner(q, &b, u.owner);
    hf_xml_elem_str(&b, "StorageClass", "STANDARD");
    if (u.tmpl.ck_alg != HF_CK_NONE) {
        hf_xml_elem_str(&b, "ChecksumAlgorithm", s3_ck_name(u.tmpl.ck_alg));
        hf_xml_elem_str(&b, "ChecksumType", u.tmpl.ck_type == HF_CK_COMPOSITE ? "COMPOSITE" : "FULL_OBJECT");
    }
    hf_xml_elem_u64(&b, "PartNumberMarker", marker);
    if (n)
        hf_xml_elem_u64(&b, "NextPartNumberMarker", parts[n - 1].number);
    hf_xml_elem_u64(&b, "MaxParts", max);
    hf_xml_elem_bool(&b, "IsTruncated", more);
    for (uint32_t i = 0; i < n; i++) {
        char date[32], etag[48];
        hf_time_iso8601(date, parts[i].mtime);
        s3_etag(etag, parts[i].etag, 0);
        hf_xml_open(&b, "Part");
        hf_xml_elem_u64(&b, "PartNumber", parts[i].number);
        hf_xml_elem_str(&b, "LastModified", date);
        hf_xml_elem_str(&b, "ETag", etag);
        hf_xml_elem_u64(&b, "Size", parts[i].size);
        s3_part_checksum_xml(&b, &u.tmpl, &parts[i]);
        hf_xml_close(&b, "Part");
    }
    hf_xml_close(&b, "ListPartsResult");
    s3_send_xml(q, &b);
}

void op_list_uploads(s3req_t *q)
{
    if (s3_load_bucket(q))
        return;
    const char *prefix, *delim, *key_marker;
    if (s3_param_text(q, "prefix", &prefix) || s3_param_delimiter(q, &delim) ||
        s3_param_text(q, "key-marker", &key_marker))
        return;
    const char *id_marker = s3_param(q, "upload-id-marker");
    int url = s3_encoding_type(q);
    if (url < 0)
        return;
    uint32_t max;
    if (s3_param_uint(q, "max-uploads", HF_LIST_PAGE_MAX, HF_LIST_PAGE_MAX, &max))
        return;
    uint8_t idm[16];
    hf_upload_list_req_t rq = {0};
    rq.bucket_id = q->b.id;
    rq.prefix = (hf_str_t){prefix ? prefix : "", prefix ? strlen(prefix) : 0};
    rq.delimiter = (hf_str_t){delim ? delim : "", delim ? strlen(delim) : 0};
    rq.key_marker = (hf_str_t){key_marker ? key_marker : "", key_marker ? strlen(key_marker) : 0};
    if (id_marker && *id_marker && key_marker) {
        /* S3 ignores upload-id-marker without key-marker. */
        if (strlen(id_marker) != 32 || hf_hex_decode(idm, id_marker, 16) != HF_OK) {
            s3_fail_arg(q, "upload-id-marker", id_marker, "Invalid uploadId marker");
            return;
        }
        rq.upload_id_marker = idm;
    }
    rq.max_uploads = max;
    hf_upload_list_res_t res;
    int rc = hf_meta_upload_list(q->s3->meta, &rq, q->a, &res);
    if (rc) {
        s3_fail(q, hf_s3_err_from(rc), NULL);
        return;
    }
    hf_buf_t b;
    hf_buf_init(&b, HF_RESP_XML_MAX);
    hf_xml_decl(&b);
    hf_xml_open_ns(&b, "ListMultipartUploadsResult");
    hf_xml_elem_str(&b, "Bucket", q->bucket);
#define ENC(name, s, n)                                                                      \
    do {                                                                                     \
        if (url)                                                                             \
            hf_xml_elem_str(&b, name, s3_urlenc(q, (s), (n)));                               \
        else                                                                                 \
            hf_xml_elem(&b, name, (s), (n));                                                 \
    } while (0)
    ENC("KeyMarker", key_marker ? key_marker : "", key_marker ? strlen(key_marker) : 0);
    hf_xml_elem_str(&b, "UploadIdMarker", rq.upload_id_marker ? id_marker : "");
    if (res.truncated) {
        ENC("NextKeyMarker", res.next_key.p, res.next_key.n);
        char nid[33] = "";
        if (res.has_next_upload_id)
            hf_hex_encode(nid, res.next_upload_id, 16);
        hf_xml_elem_str(&b, "NextUploadIdMarker", nid);
    }
    if (prefix)
        ENC("Prefix", prefix, strlen(prefix));
    if (delim)
        ENC("Delimiter", delim, strlen(delim));
    hf_xml_elem_u64(&b, "MaxUploads", max);
    if (url)
        hf_xml_elem_str(&b, "EncodingType", "url");
    hf_xml_elem_bool(&b, "IsTruncated", res.truncated);
    for (uint32_t i = 0; i < res.nuploads; i++) {
        const hf_upload_t *up = &res.uploads[i];
        char id[33], date[32];
        hf_hex_encode(id, up->id, 16);
        hf_time_iso8601(date, up->initiated);
        hf_xml_open(&b, "Upload");
        ENC("Key", up->key.p, up->key.n);
        hf_xml_elem_str(&b, "UploadId", id);
        initiator_owner(q, &b, up->owner);
        hf_xml_elem_str(&b, "StorageClass", "STANDARD");
        hf_xml_elem_str(&b, "Initiated", date);
        hf_xml_close(&b, "Upload");
    }
    for (uint32_t i = 0; i < res.nprefixes; i++) {
        hf_xml_open(&b, "CommonPrefixes");
        ENC("Prefix", res.prefixes[i].p, res.prefixes[i].n);
        hf_xml_close(&b, "CommonPrefixes");
    }
#undef ENC
    hf_xml_close(&b, "ListMultipartUploadsResult");
    s3_send_xml(q, &b);
}
