/*
 * list.c -- listings of objects and of their versions; see meta.h.
 *
 * Owns: S3's prefix / delimiter / marker semantics over the objects and
 * versions tables.
 *
 * Approach. Listing walks the objects table in key order with one cursor
 * in one read transaction (keyspace.c hides the long-key layout). A common
 * prefix is emitted once and then skipped with a single seek past every
 * key under it, so a delimiter listing costs one seek per prefix, not one
 * step per key; entries are decoded from the record's fixed part only (no
 * inline data, no parts), so a page of 1000 costs 1000 small reads.
 *
 * Keys whose current version is a delete marker are not objects: they are
 * stepped over, and a common prefix is emitted only once a live key under
 * it is found (a run of markers costs a step each, as it does in S3).
 *
 * Version listings walk the same objects table -- invariant 2 of meta.h
 * says every key with versions has a current one -- and for each key read
 * its noncurrent versions with a second cursor on the versions table,
 * where they sit newest first under the key's own table key.
 *
 * Rejected: decoding the whole record for listings (inline data and part
 * lists would be copied only to be thrown away); a separate index table
 * of listing summaries (every put would write two rows, for a saving the
 * fixed-offset summary already gives).
 */
#include "meta/internal.h"

#include "base/err.h"
#include "base/limits.h"
#include "base/log.h"
#include "meta/keyspace.h"
#include "meta/record.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int hf_meta_str_cmp(hf_str_t a, hf_str_t b)
{
    size_t n = a.n < b.n ? a.n : b.n;
    int c = n ? memcmp(a.p, b.p, n) : 0;
    if (c)
        return c;
    return a.n < b.n ? -1 : a.n > b.n;
}

bool hf_meta_str_prefix(hf_str_t s, hf_str_t prefix)
{
    return s.n >= prefix.n && (!prefix.n || memcmp(s.p, prefix.p, prefix.n) == 0);
}

void *hf_meta_vec_push(hf_meta_vec_t *v)
{
    if (v->n == v->cap) {
        size_t cap = v->cap ? v->cap * 2 : 32;
        void *q = realloc(v->p, cap * v->elem);
        if (!q)
            return NULL;
        v->p = q;
        v->cap = cap;
    }
    return (char *)v->p + v->elem * v->n++;
}

void *hf_meta_vec_to_arena(hf_meta_vec_t *v, hf_arena_t *a, int *rc)
{
    if (!v->n)
        return NULL;
    void *q = hf_arena_alloc(a, v->n * v->elem);
    if (!q) {
        *rc = -ENOMEM;
        return NULL;
    }
    memcpy(q, v->p, v->n * v->elem);
    return q;
}

int hf_meta_list_args(hf_str_t prefix, hf_str_t marker, hf_str_t delim)
{
    if ((prefix.n && !prefix.p) || (marker.n && !marker.p) || (delim.n && !delim.p))
        return HF_E_INVAL;
    /* Parameters are bounded by the request line, not by HF_KEY_MAX: S3
     * compares them with keys, so a prefix longer than any key can be, or
     * holding 0x00, simply matches nothing. A long marker or delimiter
     * needs nothing special (see hf_meta_list_start). */
    if (prefix.n > HF_KEY_MAX || (prefix.n && memchr(prefix.p, 0, prefix.n)))
        return 1;
    return HF_OK;
}

/* The least key greater than marker is marker (cut at a 0x00, which no
 * key holds) followed by 0x01. A marker longer than HF_KEY_MAX is cut
 * there too: a key of at most HF_KEY_MAX bytes is above the marker exactly
 * when it is above the marker's first HF_KEY_MAX bytes (it cannot extend
 * them), so the least key above both is the same. */
hf_str_t hf_meta_list_start(hf_str_t prefix, hf_str_t marker, char *buf)
{
    if (!marker.n)
        return prefix;
    const char *z = memchr(marker.p, 0, marker.n);
    size_t n = z ? (size_t)(z - marker.p) : marker.n;
    if (n > HF_KEY_MAX)
        n = HF_KEY_MAX;
    memcpy(buf, marker.p, n);
    buf[n] = 0x01;
    hf_str_t s = {buf, n + 1};
    return hf_meta_str_cmp(s, prefix) > 0 ? s : prefix;
}

/* ---- shared page state ---------------------------------------------------------- */

typedef struct page {
    hf_arena_t *a;
    hf_meta_vec_t ents, pfx;
    uint32_t count, max;
    bool truncated;
    hf_str_t last;
} page_t;

/* Room for one more entry or prefix: false (and truncated) when full. */
static bool page_room(page_t *pg)
{
    if (pg->count < pg->max)
        return true;
    pg->truncated = true;
    return false;
}

static int page_prefix(page_t *pg, hf_str_t cp)
{
    hf_str_t *slot = hf_meta_vec_push(&pg->pfx);
    char *copy = hf_arena_strndup(pg->a, cp.p, cp.n);
    if (!slot || !copy)
        return -ENOMEM;
    *slot = (hf_str_t){copy, cp.n};
    pg->last = *slot;
    pg->count++;
    return HF_OK;
}

/* An entry for key from a record's summary; *out points at it. */
static int page_entry(page_t *pg, hf_str_t key, const hf_rec_summary_t *sum, bool latest,
                      hf_list_entry_t **out)
{
    hf_list_entry_t *e = hf_meta_vec_push(&pg->ents);
    char *copy = hf_arena_strndup(pg->a, key.p, key.n);
    if (!e || !copy)
        return -ENOMEM;
    memset(e, 0, sizeof *e);
    e->key = (hf_str_t){copy, key.n};
    e->size = sum->size;
    e->mtime = sum->mtime;
    memcpy(e->etag, sum->etag, 16);
    e->etag_parts = sum->etag_parts;
    e->owner = sum->owner;
    e->flags = sum->flags;
    memcpy(e->version, sum->version, 16);
    e->latest = latest;
    e->hlc = sum->hlc;
    e->ck_alg = sum->ck_alg;
    e->ck_type = sum->ck_type;
    pg->last = e->key;
    pg->count++;
    if (out)
        *out = e;
    return HF_OK;
}

static void page_free(page_t *pg)
{
    free(pg->ents.p);
    free(pg->pfx.p);
}

static int summary(uint64_t bucket, const MDB_val *v, hf_rec_summary_t *s)
{
    int rc = hf_rec_obj_summary(v->mv_data, v->mv_size, s);
    if (rc)
        hf_log_error("msg=\"object record unreadable in listing\" bucket=%llu err=%d",
                     (unsigned long long)bucket, rc);
    return rc;
}

/* The common prefix of key under prefix up to the delimiter, if any. */
static bool common_prefix(hf_str_t key, hf_str_t prefix, hf_str_t delim, hf_str_t *cp)
{
    if (!delim.n)
        return false;
    const char *d = memmem(key.p + prefix.n, key.n - prefix.n, delim.p, delim.n);
    if (!d)
        return false;
    *cp = (hf_str_t){key.p, (size_t)(d - key.p) + delim.n};
    return true;
}

/* ---- ListObjects ------------------------------------------------------------------- */

int hf_meta_obj_list(hf_meta_t *m, const hf_list_req_t *rq, hf_arena_t *a, hf_list_res_t *out)
{
    memset(out, 0, sizeof *out);
    int rc = hf_meta_list_args(rq->prefix, rq->start_after, rq->delimiter);
    if (rc || rq->max_keys == 0)
        return rc < 0 ? rc : HF_OK;
    page_t pg = {.a = a, .ents = {.elem = sizeof(hf_list_entry_t)}, .pfx = {.elem = sizeof(hf_str_t)},
                 .max = rq->max_keys < HF_LIST_PAGE_MAX ? rq->max_keys : HF_LIST_PAGE_MAX};
    char startbuf[HF_KEY_MAX + 1];
    hf_str_t start = hf_meta_list_start(rq->prefix, rq->start_after, startbuf);
    MDB_txn *txn;
    if ((rc = hf_db_rbegin(&m->db, &txn)))
        return rc;
    hf_ks_scan_t s;
    if ((rc = hf_ks_scan_open(&s, txn, m->db.objects, rq->bucket_id, HF_KS_OBJECTS)) ||
        (rc = hf_ks_scan_seek(&s, start.p, start.n, NULL)))
        goto out;
    for (;;) {
        hf_ks_item_t it;
        rc = hf_ks_scan_next(&s, &it);
        if (rc <= 0)
            break;
        rc = HF_OK;
        hf_str_t key = {it.key, it.keylen}, cp;
        if (!hf_meta_str_prefix(key, rq->prefix))
            break; /* past every key with the prefix */
        if (rq->start_after.n && hf_meta_str_cmp(key, rq->start_after) <= 0)
            continue;
        hf_rec_summary_t sum;
        if ((rc = summary(rq->bucket_id, &it.val, &sum)))
            break;
        bool marker = (sum.flags & HF_OBJ_DELETE_MARKER) != 0;
        if (common_prefix(key, rq->prefix, rq->delimiter, &cp)) {
            bool passed = rq->start_after.n && hf_meta_str_cmp(cp, rq->start_after) <= 0;
            if (marker && !passed)
                continue; /* the prefix shows only once a live key is under it */
            if (!passed) {
                if (!page_room(&pg))
                    break;
                if ((rc = page_prefix(&pg, cp)))
                    break;
            }
            if ((rc = hf_ks_scan_skip_prefix(&s, cp.p, cp.n)))
                break;
            continue;
        }
        if (marker)
            continue;
        if (!page_room(&pg))
            break;
        if ((rc = page_entry(&pg, key, &sum, true, NULL)))
            break;
    }
    if (rc == HF_OK) {
        out->entries = hf_meta_vec_to_arena(&pg.ents, a, &rc);
        out->nentries = (uint32_t)pg.ents.n;
        out->prefixes = hf_meta_vec_to_arena(&pg.pfx, a, &rc);
        out->nprefixes = (uint32_t)pg.pfx.n;
        out->truncated = pg.truncated;
        out->last = pg.last;
    }
out:
    hf_ks_scan_close(&s);
    hf_db_rend(&m->db, txn);
    page_free(&pg);
    if (rc)
        memset(out, 0, sizeof *out);
    return rc;
}

/* ---- ListObjectVersions -------------------------------------------------------------- */

/* (hlc, origin) of a version, as the versions table orders them. */
typedef struct vpos {
    uint64_t hlc, origin;
} vpos_t;

/* a is older than b (comes after it in a key's newest-first order). */
static bool older(vpos_t a, vpos_t b)
{
    return a.hlc < b.hlc || (a.hlc == b.hlc && a.origin < b.origin);
}

typedef struct vwalk {
    MDB_cursor *vc;       /* on the versions table */
    page_t *pg;
    uint64_t bucket;
    bool has_next_version;
    uint8_t next_version[16];
} vwalk_t;

/* Emit key's versions: the current one (record cur) and its noncurrent
 * ones, only those older than *after when after is not NULL. Returns 1 when
 * the page filled up. */
static int emit_versions(vwalk_t *w, hf_str_t key, uint64_t bucket, const MDB_val *cur,
                         const vpos_t *after)
{
    hf_rec_summary_t sum;
    int rc = summary(bucket, cur, &sum);
    if (rc)
        return rc;
    hf_list_entry_t *e;
    if (!after || older((vpos_t){sum.hlc, sum.origin}, *after)) {
        if (!page_room(w->pg))
            return 1;
        if ((rc = page_entry(w->pg, key, &sum, true, &e)))
            return rc;
        memcpy(w->next_version, e->version, 16);
        w->has_next_version = true;
    }
    uint8_t tk[HF_KS_OBJ_KEY_MAX];
    size_t tklen = hf_ks_obj_key(tk, bucket, key.p, key.n);
    uint8_t seek[HF_KS_UPLOAD_KEY_MAX];
    memcpy(seek, tk, tklen);
    size_t seeklen = tklen;
    if (after) {
        /* Just past the marker: suffixes sort newest first. */
        hf_ks_version_suffix(seek + tklen, after->hlc, after->origin);
        seeklen += 16;
    }
    MDB_val k = {seeklen, seek}, v;
    int mrc = mdb_cursor_get(w->vc, &k, &v, MDB_SET_RANGE);
    while (mrc == MDB_SUCCESS && k.mv_size == tklen + 16 && memcmp(k.mv_data, tk, tklen) == 0) {
        if ((rc = hf_meta_check_long_key(v.mv_data, v.mv_size, HF_REC_OBJ_FIXED, key.p, key.n)) ||
            (rc = summary(bucket, &v, &sum)))
            return rc;
        if (!after || older((vpos_t){sum.hlc, sum.origin}, *after)) {
            if (!page_room(w->pg))
                return 1;
            if ((rc = page_entry(w->pg, key, &sum, false, &e)))
                return rc;
            memcpy(w->next_version, e->version, 16);
            w->has_next_version = true;
        }
        mrc = mdb_cursor_get(w->vc, &k, &v, MDB_NEXT);
    }
    if (mrc != MDB_SUCCESS && mrc != MDB_NOTFOUND)
        return hf_db_err(mrc, "cursor_next");
    return HF_OK;
}

/* Where the version marker of key sits: its (hlc, origin). A non-null id
 * is its own position; the null version must be looked up. false if key
 * has no such version. */
static int marker_position(hf_meta_t *m, uint64_t bucket, hf_str_t key, const uint8_t ver[16],
                           vpos_t *pos, bool *found)
{
    static const uint8_t zero[16];
    *found = false;
    if (memcmp(ver, zero, 16) != 0) {
        pos->hlc = hf_db_be64_get(ver);
        pos->origin = hf_db_be64_get(ver + 8);
        *found = true;
        return HF_OK;
    }
    hf_obj_t o;
    hf_arena_t tmp;
    hf_arena_init(&tmp, HF_REC_MAX + 64 * 1024);
    int rc = hf_meta_obj_get(m, bucket, key.p, key.n, zero, &tmp, &o);
    if (rc == HF_OK) {
        pos->hlc = o.hlc;
        pos->origin = o.origin;
        *found = true;
    }
    hf_arena_free(&tmp);
    return rc == HF_E_NOTFOUND ? HF_OK : rc;
}

int hf_meta_obj_list_versions(hf_meta_t *m, const hf_vlist_req_t *rq, hf_arena_t *a,
                              hf_vlist_res_t *out)
{
    memset(out, 0, sizeof *out);
    int rc = hf_meta_list_args(rq->prefix, rq->key_marker, rq->delimiter);
    if (rc || rq->max_keys == 0)
        return rc < 0 ? rc : HF_OK;
    page_t pg = {.a = a, .ents = {.elem = sizeof(hf_list_entry_t)}, .pfx = {.elem = sizeof(hf_str_t)},
                 .max = rq->max_keys < HF_LIST_PAGE_MAX ? rq->max_keys : HF_LIST_PAGE_MAX};
    vwalk_t w = {.pg = &pg, .bucket = rq->bucket_id};
    /* With a version marker the marker's key is resumed inside; without,
     * listing starts after it. */
    vpos_t mpos = {0, 0};
    bool inside = false;
    hf_str_t marker = rq->key_marker;
    MDB_txn *txn;
    if ((rc = hf_db_rbegin(&m->db, &txn)))
        return rc;
    /* A marker that cannot be a key (too long) has no versions to resume
     * inside: listing goes on after it. */
    if (rq->version_marker && hf_ks_key_valid(marker.p, marker.n)) {
        if ((rc = marker_position(m, rq->bucket_id, marker, rq->version_marker, &mpos, &inside)))
            goto out_txn;
    }
    char startbuf[HF_KEY_MAX + 1];
    hf_str_t start = inside ? (hf_meta_str_cmp(marker, rq->prefix) > 0 ? marker : rq->prefix)
                            : hf_meta_list_start(rq->prefix, marker, startbuf);
    hf_ks_scan_t s;
    memset(&s, 0, sizeof s);
    if ((rc = mdb_cursor_open(txn, m->db.versions, &w.vc))) {
        rc = hf_db_err(rc, "cursor_open");
        w.vc = NULL;
        goto out;
    }
    if ((rc = hf_ks_scan_open(&s, txn, m->db.objects, rq->bucket_id, HF_KS_OBJECTS)) ||
        (rc = hf_ks_scan_seek(&s, start.p, start.n, NULL)))
        goto out;
    hf_str_t next_key = {NULL, 0};
    for (;;) {
        hf_ks_item_t it;
        rc = hf_ks_scan_next(&s, &it);
        if (rc <= 0)
            break;
        rc = HF_OK;
        hf_str_t key = {it.key, it.keylen}, cp;
        if (!hf_meta_str_prefix(key, rq->prefix))
            break;
        int c = marker.n ? hf_meta_str_cmp(key, marker) : 1;
        if (c < 0 || (c == 0 && !inside))
            continue;
        if (common_prefix(key, rq->prefix, rq->delimiter, &cp)) {
            if (!(marker.n && hf_meta_str_cmp(cp, marker) <= 0)) {
                if (!page_room(&pg))
                    break;
                if ((rc = page_prefix(&pg, cp)))
                    break;
                w.has_next_version = false;
                next_key = pg.last;
            }
            if ((rc = hf_ks_scan_skip_prefix(&s, cp.p, cp.n)))
                break;
            continue;
        }
        uint32_t before = pg.count;
        rc = emit_versions(&w, key, rq->bucket_id, &it.val, c == 0 ? &mpos : NULL);
        if (pg.count > before)
            next_key = pg.last;
        if (rc)
            break;
    }
    if (rc == 1)
        rc = HF_OK; /* the page filled up */
    if (rc == HF_OK) {
        out->entries = hf_meta_vec_to_arena(&pg.ents, a, &rc);
        out->nentries = (uint32_t)pg.ents.n;
        out->prefixes = hf_meta_vec_to_arena(&pg.pfx, a, &rc);
        out->nprefixes = (uint32_t)pg.pfx.n;
        out->truncated = pg.truncated;
        if (pg.truncated) {
            out->next_key = next_key;
            out->has_next_version = w.has_next_version;
            memcpy(out->next_version, w.next_version, 16);
        }
    }
out:
    hf_ks_scan_close(&s);
    if (w.vc)
        mdb_cursor_close(w.vc);
out_txn:
    hf_db_rend(&m->db, txn);
    page_free(&pg);
    if (rc)
        memset(out, 0, sizeof *out);
    return rc;
}
