/*
 * obj.c -- objects: get, put, delete, and listing; see meta.h.
 *
 * Owns: the objects table -- the current version of every key -- and the
 * rules that tie an object record to its blob references.
 *
 * Approach. A put is encoded on the caller's thread (metadata sorted,
 * inline data checksummed) and handed to the writer as bytes; inside the
 * transaction it only checks the bucket, adds the new parts' references,
 * drops the old version's, and stores the bytes. References are added
 * before the old ones are dropped so that a blob shared by both versions
 * never touches zero.
 *
 * Listing walks the table in key order with one cursor in one read
 * transaction (keyspace.c hides the long-key layout). A common prefix is
 * emitted once and then skipped with a single seek past every key under it,
 * so a delimiter listing costs one seek per prefix, not one step per key;
 * entries are decoded from the record's fixed part only (no inline data,
 * no parts), so a page of 1000 costs 1000 small reads.
 *
 * Rejected: decoding the whole record for listings (inline data and part
 * lists would be copied only to be thrown away); a separate index table
 * of listing summaries (every put would write two rows, for a saving the
 * fixed-offset summary already gives).
 */
#include "meta/internal.h"

#include "base/err.h"
#include "base/hash.h"
#include "base/limits.h"
#include "base/log.h"
#include "meta/keyspace.h"
#include "meta/record.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* ---- validation and encoding ----------------------------------------------- */

int hf_meta_check_headers(const hf_obj_t *o)
{
    const char *h[] = {o->content_type, o->content_encoding, o->content_disposition,
                       o->content_language, o->cache_control, o->expires};
    for (size_t i = 0; i < sizeof h / sizeof h[0]; i++)
        if (h[i] && strnlen(h[i], HF_HTTP_HEAD_MAX + 1) > HF_HTTP_HEAD_MAX)
            return HF_E_TOOBIG;
    if (o->nmeta && !o->meta)
        return HF_E_INVAL;
    size_t total = 0;
    for (uint32_t i = 0; i < o->nmeta; i++) {
        if (!o->meta[i].name || !o->meta[i].value || !o->meta[i].name[0])
            return HF_E_INVAL;
        total += strnlen(o->meta[i].name, HF_USER_META_MAX + 1);
        total += strnlen(o->meta[i].value, HF_USER_META_MAX + 1);
        if (total > HF_USER_META_MAX)
            return HF_E_TOOBIG;
    }
    return HF_OK;
}

static int kv_cmp(const void *a, const void *b)
{
    return strcmp(((const hf_kv_t *)a)->name, ((const hf_kv_t *)b)->name);
}

/* A copy of o's metadata sorted by name (NULL when there is none). */
static int sorted_meta(const hf_obj_t *o, hf_kv_t **out)
{
    *out = NULL;
    if (!o->nmeta)
        return HF_OK;
    hf_kv_t *kv = malloc(o->nmeta * sizeof *kv);
    if (!kv)
        return -ENOMEM;
    memcpy(kv, o->meta, o->nmeta * sizeof *kv);
    qsort(kv, o->nmeta, sizeof *kv, kv_cmp);
    *out = kv;
    return HF_OK;
}

int hf_meta_encode_obj(hf_buf_t *b, const hf_obj_t *o, const char *key, size_t keylen)
{
    hf_obj_t tmp = *o;
    int rc = sorted_meta(o, &tmp.meta);
    if (rc)
        return rc;
    rc = hf_rec_obj_encode(b, &tmp, keylen > HF_KS_SHORT_MAX ? key : NULL, keylen);
    free(tmp.meta);
    return rc;
}

int hf_meta_encode_upload(hf_buf_t *b, const hf_upload_t *u, const char *key, size_t keylen)
{
    hf_upload_t tmp = *u;
    int rc = sorted_meta(&u->tmpl, &tmp.tmpl.meta);
    if (rc)
        return rc;
    rc = hf_rec_upload_encode(b, &tmp, keylen > HF_KS_SHORT_MAX ? key : NULL, keylen);
    free(tmp.tmpl.meta);
    return rc;
}

int hf_meta_check_obj(const hf_obj_t *o)
{
    if (o->size > HF_OBJECT_MAX || o->nparts > HF_PART_NUMBER_MAX || (o->nparts && !o->parts))
        return HF_E_INVAL;
    if (o->flags & HF_OBJ_INLINE) {
        if (o->inline_len > HF_INLINE_MAX || o->inline_len != o->size || o->nparts ||
            (o->inline_len && !o->inline_data))
            return HF_E_INVAL;
    } else {
        uint64_t sum = 0;
        for (uint32_t i = 0; i < o->nparts; i++) {
            if (o->parts[i].size > HF_OBJECT_MAX)
                return HF_E_INVAL;
            sum += o->parts[i].size;
        }
        if (sum != o->size)
            return HF_E_INVAL;
    }
    return hf_meta_check_headers(o);
}

int hf_meta_check_long_key(const void *rec, size_t n, size_t fixed, const char *key, size_t keylen)
{
    if (keylen <= HF_KS_SHORT_MAX)
        return HF_OK;
    const char *k;
    size_t kl;
    int rc = hf_rec_find_key(rec, n, fixed, &k, &kl);
    if (rc == HF_E_VERSION)
        return rc;
    if (rc || kl != keylen || memcmp(k, key, kl) != 0) {
        hf_log_error("msg=\"long-key record does not carry its key\" err=%d", rc);
        return HF_E_CORRUPT;
    }
    return HF_OK;
}

/* ---- changes (writer thread) ------------------------------------------------ */

/* Copy the record at tk into m->scratch: LMDB may move the page under a
 * pointer once the transaction writes. */
static int get_copy(hf_meta_t *m, MDB_txn *txn, MDB_dbi dbi, const uint8_t *tk, size_t tklen)
{
    MDB_val v;
    int rc = hf_db_get(txn, dbi, tk, tklen, &v);
    if (rc)
        return rc;
    hf_buf_reset(&m->scratch);
    return hf_buf_append(&m->scratch, v.mv_data, v.mv_size);
}

/* Drop the references of the object record in m->scratch. */
static int drop_scratch_refs(hf_meta_t *m, MDB_txn *txn)
{
    const uint8_t *raw;
    uint32_t np;
    int rc = hf_rec_obj_parts(m->scratch.data, m->scratch.len, &raw, &np);
    if (rc == HF_E_CORRUPT) {
        /* Its references are unknown: leak them (safe) rather than fail. */
        hf_log_error("msg=\"replaced object record damaged; its blobs stay referenced\"");
        return HF_OK;
    }
    if (rc)
        return rc;
    for (uint32_t i = 0; i < np; i++) {
        hf_obj_part_t p;
        hf_rec_obj_part_at(raw, i, &p);
        if ((rc = hf_meta_tx_blob_unref(m, txn, &p.blob)))
            return rc;
    }
    return HF_OK;
}

int hf_meta_tx_obj_replace(hf_meta_t *m, MDB_txn *txn, const uint8_t *tk, size_t tklen,
                           const char *key, size_t keylen, const void *rec, size_t reclen,
                           const hf_obj_part_t *parts, uint32_t nparts, bool add_refs)
{
    int rc;
    if (add_refs)
        for (uint32_t i = 0; i < nparts; i++)
            if ((rc = hf_meta_tx_blob_ref(m, txn, &parts[i].blob, parts[i].size)))
                return rc;
    rc = get_copy(m, txn, m->db.objects, tk, tklen);
    if (rc == HF_OK) {
        if ((rc = hf_meta_check_long_key(m->scratch.data, m->scratch.len, HF_REC_OBJ_FIXED, key, keylen)) ||
            (rc = drop_scratch_refs(m, txn)))
            return rc;
    } else if (rc == HF_E_NOTFOUND) {
        if (keylen > HF_KS_SHORT_MAX) {
            size_t cnt;
            if ((rc = hf_ks_group_count(txn, m->db.objects, tk, HF_KS_GROUP_MAX, &cnt)))
                return rc;
            if (cnt >= HF_KS_GROUP_MAX)
                return HF_E_TOOBIG;
        }
    } else {
        return rc;
    }
    return hf_db_put(txn, m->db.objects, tk, tklen, rec, reclen);
}

typedef struct put_op {
    const hf_bucket_t *b;
    const char *key;
    size_t keylen;
    uint8_t tk[HF_KS_OBJ_KEY_MAX];
    size_t tklen;
    const hf_buf_t *rec;
    const hf_obj_t *o;
} put_op_t;

static int put_tx(void *ctx, MDB_txn *txn, void *arg)
{
    hf_meta_t *m = ctx;
    put_op_t *op = arg;
    int rc = hf_meta_tx_bucket_check(m, txn, op->b);
    if (rc)
        return rc;
    return hf_meta_tx_obj_replace(m, txn, op->tk, op->tklen, op->key, op->keylen, op->rec->data,
                                  op->rec->len, op->o->parts, op->o->nparts, true);
}

int hf_meta_obj_put(hf_meta_t *m, const hf_bucket_t *b, const char *key, size_t keylen,
                    const hf_obj_t *o)
{
    if (!hf_ks_key_valid(key, keylen))
        return HF_E_INVAL;
    int rc = hf_meta_check_obj(o);
    if (rc)
        return rc;
    hf_obj_t enc = *o;
    if (o->flags & HF_OBJ_INLINE)
        enc.inline_crc32c = hf_crc32c(0, o->inline_data, o->inline_len);
    hf_buf_t rec;
    hf_buf_init(&rec, HF_REC_MAX);
    put_op_t op = {.b = b, .key = key, .keylen = keylen, .rec = &rec, .o = o};
    op.tklen = hf_ks_obj_key(op.tk, b->id, key, keylen);
    if ((rc = hf_meta_encode_obj(&rec, &enc, key, keylen)) == HF_OK)
        rc = hf_meta_write(m, put_tx, &op);
    hf_buf_free(&rec);
    return rc;
}

/* Delete one key in txn: HF_OK, HF_E_NOTFOUND, or an error. */
static int delete_one(hf_meta_t *m, MDB_txn *txn, uint64_t bucket, const char *key, size_t keylen)
{
    uint8_t tk[HF_KS_OBJ_KEY_MAX];
    size_t tklen = hf_ks_obj_key(tk, bucket, key, keylen);
    int rc = get_copy(m, txn, m->db.objects, tk, tklen);
    if (rc)
        return rc;
    if ((rc = hf_meta_check_long_key(m->scratch.data, m->scratch.len, HF_REC_OBJ_FIXED, key, keylen)) ||
        (rc = hf_db_del(txn, m->db.objects, tk, tklen)))
        return rc;
    return drop_scratch_refs(m, txn);
}

typedef struct del_op {
    uint64_t bucket;
    const char *key;
    size_t keylen;
    const hf_str_t *keys; /* delete_many */
    size_t n;
    int *results;
} del_op_t;

static int delete_tx(void *ctx, MDB_txn *txn, void *arg)
{
    del_op_t *op = arg;
    return delete_one(ctx, txn, op->bucket, op->key, op->keylen);
}

int hf_meta_obj_delete(hf_meta_t *m, const hf_bucket_t *b, const char *key, size_t keylen)
{
    if (!hf_ks_key_valid(key, keylen))
        return HF_E_INVAL;
    del_op_t op = {.bucket = b->id, .key = key, .keylen = keylen};
    return hf_meta_write(m, delete_tx, &op);
}

static int delete_many_tx(void *ctx, MDB_txn *txn, void *arg)
{
    del_op_t *op = arg;
    for (size_t i = 0; i < op->n; i++) {
        const hf_str_t *k = &op->keys[i];
        if (!hf_ks_key_valid(k->p, k->n)) {
            op->results[i] = HF_E_INVAL;
            continue;
        }
        int rc = delete_one(ctx, txn, op->bucket, k->p, k->n);
        if (rc && rc != HF_E_NOTFOUND && rc != HF_E_CORRUPT)
            return rc; /* the engine failed: the whole batch of keys fails */
        op->results[i] = rc;
    }
    return HF_OK;
}

int hf_meta_obj_delete_many(hf_meta_t *m, const hf_bucket_t *b, const hf_str_t *keys, size_t n,
                            int *results)
{
    if (n > HF_DELETE_OBJECTS_MAX)
        return HF_E_TOOBIG;
    if (n == 0)
        return HF_OK;
    del_op_t op = {.bucket = b->id, .keys = keys, .n = n, .results = results};
    int rc = hf_meta_write(m, delete_many_tx, &op);
    if (rc)
        for (size_t i = 0; i < n; i++)
            results[i] = rc;
    return rc;
}

/* ---- reads ------------------------------------------------------------------ */

int hf_meta_obj_get(hf_meta_t *m, uint64_t bucket_id, const char *key, size_t keylen,
                    hf_arena_t *a, hf_obj_t *out)
{
    if (!hf_ks_key_valid(key, keylen))
        return HF_E_NOTFOUND;
    uint8_t tk[HF_KS_OBJ_KEY_MAX];
    size_t tklen = hf_ks_obj_key(tk, bucket_id, key, keylen);
    MDB_txn *txn;
    int rc = hf_db_rbegin(&m->db, &txn);
    if (rc)
        return rc;
    MDB_val v;
    if ((rc = hf_db_get(txn, m->db.objects, tk, tklen, &v)))
        goto out;
    if ((rc = hf_meta_check_long_key(v.mv_data, v.mv_size, HF_REC_OBJ_FIXED, key, keylen)))
        goto out;
    if ((rc = hf_rec_obj_decode(v.mv_data, v.mv_size, a, out))) {
        if (rc != -ENOMEM)
            hf_log_error("msg=\"object record unreadable\" bucket=%llu err=%d",
                         (unsigned long long)bucket_id, rc);
        goto out;
    }
    if ((out->flags & HF_OBJ_INLINE) &&
        hf_crc32c(0, out->inline_data, out->inline_len) != out->inline_crc32c) {
        hf_log_error("msg=\"inline object data failed its crc32c\" bucket=%llu len=%u",
                     (unsigned long long)bucket_id, out->inline_len);
        rc = HF_E_CORRUPT;
    }
out:
    hf_db_rend(&m->db, txn);
    return rc;
}

/* ---- listing ----------------------------------------------------------------- */

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
    if (prefix.n > HF_KEY_MAX || marker.n > HF_KEY_MAX || delim.n > HF_KEY_MAX)
        return HF_E_INVAL;
    if ((prefix.n && !prefix.p) || (marker.n && !marker.p) || (delim.n && !delim.p))
        return HF_E_INVAL;
    return HF_OK;
}

/* The least key greater than marker is marker (cut at a 0x00, which no
 * key holds) followed by 0x01. */
hf_str_t hf_meta_list_start(hf_str_t prefix, hf_str_t marker, char *buf)
{
    if (!marker.n)
        return prefix;
    const char *z = memchr(marker.p, 0, marker.n);
    size_t n = z ? (size_t)(z - marker.p) : marker.n;
    memcpy(buf, marker.p, n);
    buf[n] = 0x01;
    hf_str_t s = {buf, n + 1};
    return hf_meta_str_cmp(s, prefix) > 0 ? s : prefix;
}

int hf_meta_obj_list(hf_meta_t *m, const hf_list_req_t *rq, hf_arena_t *a, hf_list_res_t *out)
{
    memset(out, 0, sizeof *out);
    int rc = hf_meta_list_args(rq->prefix, rq->start_after, rq->delimiter);
    if (rc || rq->max_keys == 0)
        return rc;
    if (rq->prefix.n && memchr(rq->prefix.p, 0, rq->prefix.n))
        return HF_OK; /* no key holds 0x00 */
    uint32_t max = rq->max_keys < HF_LIST_PAGE_MAX ? rq->max_keys : HF_LIST_PAGE_MAX;
    hf_meta_vec_t ents = {.elem = sizeof(hf_list_entry_t)}, pfx = {.elem = sizeof(hf_str_t)};
    char startbuf[HF_KEY_MAX + 1];
    hf_str_t start = hf_meta_list_start(rq->prefix, rq->start_after, startbuf);
    hf_str_t last = {NULL, 0};
    uint32_t count = 0;
    MDB_txn *txn;
    if ((rc = hf_db_rbegin(&m->db, &txn)))
        return rc;
    hf_ks_scan_t s;
    if ((rc = hf_ks_scan_open(&s, txn, m->db.objects, rq->bucket_id, false)) ||
        (rc = hf_ks_scan_seek(&s, start.p, start.n, NULL)))
        goto out;
    for (;;) {
        hf_ks_item_t it;
        rc = hf_ks_scan_next(&s, &it);
        if (rc <= 0)
            break;
        rc = HF_OK;
        hf_str_t key = {it.key, it.keylen};
        if (!hf_meta_str_prefix(key, rq->prefix))
            break; /* past every key with the prefix */
        if (rq->start_after.n && hf_meta_str_cmp(key, rq->start_after) <= 0)
            continue;
        if (rq->delimiter.n) {
            const char *d = memmem(key.p + rq->prefix.n, key.n - rq->prefix.n, rq->delimiter.p,
                                   rq->delimiter.n);
            if (d) {
                hf_str_t cp = {key.p, (size_t)(d - key.p) + rq->delimiter.n};
                if (!(rq->start_after.n && hf_meta_str_cmp(cp, rq->start_after) <= 0)) {
                    if (count == max) {
                        out->truncated = true;
                        break;
                    }
                    hf_str_t *slot = hf_meta_vec_push(&pfx);
                    char *copy = hf_arena_strndup(a, cp.p, cp.n);
                    if (!slot || !copy) {
                        rc = -ENOMEM;
                        break;
                    }
                    *slot = (hf_str_t){copy, cp.n};
                    last = *slot;
                    count++;
                }
                if ((rc = hf_ks_scan_skip_prefix(&s, cp.p, cp.n)))
                    break;
                continue;
            }
        }
        if (count == max) {
            out->truncated = true;
            break;
        }
        hf_rec_summary_t sum;
        if ((rc = hf_rec_obj_summary(it.val.mv_data, it.val.mv_size, &sum))) {
            hf_log_error("msg=\"object record unreadable in listing\" bucket=%llu err=%d",
                         (unsigned long long)rq->bucket_id, rc);
            break;
        }
        hf_list_entry_t *e = hf_meta_vec_push(&ents);
        char *copy = hf_arena_strndup(a, key.p, key.n);
        if (!e || !copy) {
            rc = -ENOMEM;
            break;
        }
        e->key = (hf_str_t){copy, key.n};
        e->size = sum.size;
        e->mtime = sum.mtime;
        memcpy(e->etag, sum.etag, 16);
        e->etag_parts = sum.etag_parts;
        e->owner = sum.owner;
        e->flags = sum.flags;
        last = e->key;
        count++;
    }
    if (rc == HF_OK) {
        out->entries = hf_meta_vec_to_arena(&ents, a, &rc);
        out->nentries = (uint32_t)ents.n;
        out->prefixes = hf_meta_vec_to_arena(&pfx, a, &rc);
        out->nprefixes = (uint32_t)pfx.n;
        out->last = last;
    }
out:
    hf_ks_scan_close(&s);
    hf_db_rend(&m->db, txn);
    free(ents.p);
    free(pfx.p);
    if (rc)
        memset(out, 0, sizeof *out);
    return rc;
}
