/*
 * obj.c -- objects and their versions: get, put, delete, in-place
 * updates; see meta.h. Listings are in list.c.
 *
 * Owns: the objects table (the current version of every key), the
 * versions table (noncurrent versions), and the rules that tie an object
 * record to its blob references.
 *
 * Approach. A write is encoded on the caller's thread (metadata sorted,
 * inline data checksummed) and handed to the writer as bytes; inside the
 * transaction it checks the bucket (and reads its versioning state there,
 * so a concurrent PutBucketVersioning cannot split a write), checks the
 * caller's conditions against the current version, adds the new parts'
 * references, then either replaces the current version (dropping its
 * references) or pushes it down into the versions table, and stores the
 * bytes with the version id patched in. References are added before old
 * ones are dropped so that a blob shared by both versions never touches
 * zero.
 *
 * A key's noncurrent versions sit under its object table key plus a
 * 16-byte suffix (inverted clock value and origin, keyspace.h), newest
 * first, so "the newest noncurrent version" is one cursor seek and a
 * version id (which is that clock value and origin) finds its row
 * directly. The null version has no such id; it is found by walking the
 * key's versions, which only suspended buckets need.
 *
 * Rejected: one table holding every version with the current one found by
 * a seek (each GET and each listing step would pay a cursor walk, and
 * ListObjects would have to skip noncurrent versions key by key); a
 * pointer row per key naming its current version (two reads per GET).
 */
#include "meta/internal.h"

#include "base/err.h"
#include "base/hash.h"
#include "base/limits.h"
#include "base/log.h"
#include "base/time.h"
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
    return hf_meta_check_tags(o->tags, o->ntags);
}

int hf_meta_check_tags(const hf_kv_t *tags, uint32_t n)
{
    if (n > HF_OBJ_TAGS_MAX || (n && !tags))
        return HF_E_TOOBIG;
    for (uint32_t i = 0; i < n; i++) {
        if (!tags[i].name || !tags[i].value)
            return HF_E_INVAL;
        if (strnlen(tags[i].name, HF_TAG_KEY_MAX + 1) > HF_TAG_KEY_MAX ||
            strnlen(tags[i].value, HF_TAG_VALUE_MAX + 1) > HF_TAG_VALUE_MAX)
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
    if (o->sse_len > HF_OBJ_SSE_MAX || (o->sse_len && !o->sse))
        return HF_E_INVAL;
    if (o->ck_len > HF_CK_MAX_LEN || (o->part_ck && !o->ck_len))
        return HF_E_INVAL;
    if (o->flags & HF_OBJ_DELETE_MARKER) {
        if (o->size || o->nparts || (o->flags & HF_OBJ_INLINE))
            return HF_E_INVAL;
    } else if (o->flags & HF_OBJ_INLINE) {
        uint64_t stored = o->size + (o->sse_len ? HF_OBJ_SEALED_EXTRA : 0);
        if (o->size > HF_INLINE_MAX || o->inline_len != stored || o->nparts ||
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

void hf_meta_version_id(uint8_t out[16], uint64_t hlc, uint64_t origin)
{
    hf_db_be64_put(out, hlc);
    hf_db_be64_put(out + 8, origin);
}

static bool is_null(const uint8_t v[16])
{
    static const uint8_t zero[16];
    return memcmp(v, zero, 16) == 0;
}

/* ---- the writer's view of one key --------------------------------------------- */

/* A key's current version as a write sees it. */
typedef struct cur {
    hf_rec_summary_t s;
    bool damaged;   /* the record failed to decode: only replacing it is possible */
} cur_t;

/* Where a key's rows are: its object table key, and the prefix that every
 * one of its versions-table keys starts with (the same bytes). */
typedef struct keyloc {
    uint64_t bucket;
    const char *key;
    size_t keylen;
    uint8_t tk[HF_KS_OBJ_KEY_MAX];
    size_t tklen;
} keyloc_t;

static void keyloc_init(keyloc_t *l, uint64_t bucket, const char *key, size_t keylen)
{
    l->bucket = bucket;
    l->key = key;
    l->keylen = keylen;
    l->tklen = hf_ks_obj_key(l->tk, bucket, key, keylen);
}

/* Copy the record at (dbi, tk) into m->scratch: LMDB may move the page
 * under a pointer once the transaction writes. */
static int get_copy(hf_meta_t *m, MDB_txn *txn, MDB_dbi dbi, const uint8_t *tk, size_t tklen)
{
    MDB_val v;
    int rc = hf_db_get(txn, dbi, tk, tklen, &v);
    if (rc)
        return rc;
    hf_buf_reset(&m->scratch);
    return hf_buf_append(&m->scratch, v.mv_data, v.mv_size);
}

/* The current version of l into m->scratch and *sum: HF_OK, HF_E_NOTFOUND.
 * A damaged record is HF_OK with sum->damaged set (it can still be
 * replaced where nothing about it needs to be known); one from a newer
 * format is HF_E_VERSION and is never touched. */
static int load_current(hf_meta_t *m, MDB_txn *txn, const keyloc_t *l, cur_t *cur)
{
    memset(cur, 0, sizeof *cur);
    int rc = get_copy(m, txn, m->db.objects, l->tk, l->tklen);
    if (rc)
        return rc;
    if ((rc = hf_meta_check_long_key(m->scratch.data, m->scratch.len, HF_REC_OBJ_FIXED, l->key,
                                     l->keylen)) == HF_OK)
        rc = hf_rec_obj_summary(m->scratch.data, m->scratch.len, &cur->s);
    if (rc == HF_E_CORRUPT) {
        cur->damaged = true;
        return HF_OK;
    }
    return rc;
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

/* Object Lock of the record in m->scratch: HF_E_LOCKED if it may not be
 * removed now. */
static int check_removable(hf_meta_t *m, unsigned flags)
{
    uint8_t mode;
    int64_t until;
    bool hold;
    int rc = hf_rec_obj_lock(m->scratch.data, m->scratch.len, &mode, &until, &hold);
    if (rc)
        return rc;
    if (hold)
        return HF_E_LOCKED;
    if (mode == HF_LOCK_NONE || until <= hf_time_now())
        return HF_OK;
    if (mode == HF_LOCK_GOVERNANCE && (flags & HF_DEL_BYPASS_GOVERNANCE))
        return HF_OK;
    return HF_E_LOCKED;
}

/* Entries sharing the long-key group of table key tk in dbi: one more must
 * fit under HF_KS_GROUP_MAX. */
static int group_room(MDB_txn *txn, MDB_dbi dbi, const uint8_t *tk, size_t keylen)
{
    if (keylen <= HF_KS_SHORT_MAX)
        return HF_OK;
    size_t cnt;
    int rc = hf_ks_group_count(txn, dbi, tk, HF_KS_GROUP_MAX, &cnt);
    if (rc)
        return rc;
    return cnt >= HF_KS_GROUP_MAX ? HF_E_TOOBIG : HF_OK;
}

/* Move the record in m->scratch (the current version of l) into the
 * versions table; the caller then overwrites or deletes the current row. */
static int push_down(hf_meta_t *m, MDB_txn *txn, const keyloc_t *l, const cur_t *cur)
{
    if (cur->damaged) {
        /* Its place among the versions is unknown: keep it where it is. */
        hf_log_error("msg=\"current version damaged; it cannot become noncurrent\" bucket=%llu",
                     (unsigned long long)l->bucket);
        return HF_E_CORRUPT;
    }
    uint8_t vk[HF_KS_UPLOAD_KEY_MAX];
    size_t vklen = hf_ks_version_key(vk, l->bucket, l->key, l->keylen, cur->s.hlc, cur->s.origin);
    int rc = group_room(txn, m->db.versions, vk, l->keylen);
    if (rc)
        return rc;
    MDB_val k = {vklen, vk}, v = {m->scratch.len, m->scratch.data};
    rc = mdb_put(txn, m->db.versions, &k, &v, MDB_NOOVERWRITE);
    if (rc == MDB_KEYEXIST) {
        /* Two versions with one (clock, origin): the clock guarantees this
         * cannot happen, so the table is damaged. */
        hf_log_error("msg=\"version already present\" bucket=%llu", (unsigned long long)l->bucket);
        return HF_E_CORRUPT;
    }
    return rc ? hf_db_err(rc, "version_put") : HF_OK;
}

/* Walk l's noncurrent versions (newest first). fn gets each one's table
 * key and record; it returns 0 to go on, 1 to stop, or an error. */
typedef int (*version_fn)(void *arg, const MDB_val *k, const MDB_val *v);

static int each_version(hf_meta_t *m, MDB_txn *txn, const keyloc_t *l, version_fn fn, void *arg)
{
    MDB_cursor *c;
    int rc = mdb_cursor_open(txn, m->db.versions, &c);
    if (rc)
        return hf_db_err(rc, "cursor_open");
    MDB_val k = {l->tklen, (void *)l->tk}, v;
    int mrc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
    rc = HF_OK;
    while (mrc == MDB_SUCCESS && k.mv_size == l->tklen + 16 &&
           memcmp(k.mv_data, l->tk, l->tklen) == 0) {
        int r = fn(arg, &k, &v);
        if (r) {
            rc = r > 0 ? HF_OK : r;
            break;
        }
        mrc = mdb_cursor_get(c, &k, &v, MDB_NEXT);
    }
    if (rc == HF_OK && mrc != MDB_SUCCESS && mrc != MDB_NOTFOUND)
        rc = hf_db_err(mrc, "cursor_next");
    mdb_cursor_close(c);
    return rc;
}

typedef struct find_ctx {
    const uint8_t *version;  /* wanted id, or NULL: the first (newest) */
    uint8_t vk[HF_KS_UPLOAD_KEY_MAX];
    size_t vklen;
    bool found;
} find_ctx_t;

static int find_cb(void *arg, const MDB_val *k, const MDB_val *v)
{
    find_ctx_t *f = arg;
    if (f->version) {
        if (v->mv_size < HF_REC_OBJ_FIXED ||
            memcmp((const uint8_t *)v->mv_data + HF_REC_OBJ_VERSION_OFF, f->version, 16) != 0)
            return 0;
    }
    memcpy(f->vk, k->mv_data, k->mv_size);
    f->vklen = k->mv_size;
    f->found = true;
    return 1;
}

/* The versions-table key of l's noncurrent version ver (NULL: the newest
 * one) into f, and its record into m->scratch. HF_E_NOTFOUND. */
static int find_noncurrent(hf_meta_t *m, MDB_txn *txn, const keyloc_t *l, const uint8_t *ver,
                           find_ctx_t *f)
{
    memset(f, 0, sizeof *f);
    f->version = ver;
    int rc;
    if (ver && !is_null(ver)) {
        /* A version id is the clock value and origin: its row is known. */
        f->vklen = hf_ks_version_key(f->vk, l->bucket, l->key, l->keylen, hf_db_be64_get(ver),
                                     hf_db_be64_get(ver + 8));
    } else {
        if ((rc = each_version(m, txn, l, find_cb, f)))
            return rc;
        if (!f->found)
            return HF_E_NOTFOUND;
    }
    if ((rc = get_copy(m, txn, m->db.versions, f->vk, f->vklen)))
        return rc;
    if ((rc = hf_meta_check_long_key(m->scratch.data, m->scratch.len, HF_REC_OBJ_FIXED, l->key,
                                     l->keylen)))
        return rc;
    if (ver && (m->scratch.len < HF_REC_OBJ_FIXED ||
                memcmp(m->scratch.data + HF_REC_OBJ_VERSION_OFF, ver, 16) != 0))
        return HF_E_NOTFOUND;
    return HF_OK;
}

/* Remove l's null noncurrent version, if there is one (suspended
 * buckets: a new null version replaces it). */
static int drop_null_noncurrent(hf_meta_t *m, MDB_txn *txn, const keyloc_t *l)
{
    static const uint8_t null_id[16];
    find_ctx_t f;
    int rc = find_noncurrent(m, txn, l, null_id, &f);
    if (rc == HF_E_NOTFOUND)
        return HF_OK;
    if (rc || (rc = hf_db_del(txn, m->db.versions, f.vk, f.vklen)))
        return rc;
    return drop_scratch_refs(m, txn);
}

/* The newest noncurrent version of l becomes current (its current version
 * has just been removed). */
static int promote_newest(hf_meta_t *m, MDB_txn *txn, const keyloc_t *l)
{
    find_ctx_t f;
    int rc = find_noncurrent(m, txn, l, NULL, &f);
    if (rc == HF_E_NOTFOUND)
        return HF_OK;
    if (rc || (rc = hf_db_del(txn, m->db.versions, f.vk, f.vklen)))
        return rc;
    return hf_db_put(txn, m->db.objects, l->tk, l->tklen, m->scratch.data, m->scratch.len);
}

/* The caller's conditions against the current version (cur, or none). */
static int check_cond(hf_meta_t *m, MDB_txn *txn, const hf_obj_cond_t *c, bool have,
                      const cur_t *cur, const hf_obj_part_t *parts, uint32_t nparts)
{
    if (!c)
        return HF_OK;
    bool exists = have && (cur->damaged || !(cur->s.flags & HF_OBJ_DELETE_MARKER));
    if (c->if_none_match && exists)
        return HF_E_PRECONDITION;
    if (c->if_match) {
        if (!exists)
            return HF_E_NOTFOUND;
        if (!c->if_match_any && (cur->damaged || memcmp(cur->s.etag, c->etag, 16) != 0 ||
                                 cur->s.etag_parts != c->etag_parts))
            return HF_E_PRECONDITION;
    }
    if (c->shared_blobs)
        for (uint32_t i = 0; i < nparts; i++) {
            MDB_val v;
            int rc = hf_db_get(txn, m->db.blobs, parts[i].blob.b, 16, &v);
            if (rc == HF_E_NOTFOUND)
                return HF_E_CONFLICT;
            if (rc)
                return rc;
        }
    return HF_OK;
}

int hf_meta_tx_put_version(hf_meta_t *m, MDB_txn *txn, hf_meta_wput_t *w)
{
    uint32_t bflags;
    int rc = hf_meta_tx_bucket_flags(m, txn, w->b, &bflags);
    if (rc)
        return rc;
    keyloc_t l;
    keyloc_init(&l, w->b->id, w->key, w->keylen);
    cur_t cur;
    rc = load_current(m, txn, &l, &cur);
    bool have = rc == HF_OK;
    if (rc && rc != HF_E_NOTFOUND)
        return rc;
    if ((rc = check_cond(m, txn, w->cond, have, &cur, w->parts, w->nparts)))
        return rc;
    if (w->add_refs)
        for (uint32_t i = 0; i < w->nparts; i++)
            if ((rc = hf_meta_tx_blob_ref(m, txn, &w->parts[i].blob, w->parts[i].size)))
                return rc;
    memset(w->version, 0, 16);
    /* Clock values are drawn before the write is queued, so two racing
     * writes can commit in the other order: the one committing last must
     * still be the newest, or the version order (newest first) would
     * disagree with what is current. */
    if (have && !cur.damaged && w->hlc && w->hlc <= cur.s.hlc) {
        w->hlc = hf_meta_hlc_after(m, cur.s.hlc);
        if (w->rec->len >= HF_REC_OBJ_FIXED)
            hf_db_be64_put((uint8_t *)w->rec->data + HF_REC_OBJ_HLC_OFF, w->hlc);
    }
    if (bflags & HF_BUCKET_VERSIONING) {
        if (w->hlc == 0 && w->origin == 0)
            return HF_E_INVAL; /* that id would read as the null version */
        hf_meta_version_id(w->version, w->hlc, w->origin);
        if (have && (rc = push_down(m, txn, &l, &cur)))
            return rc;
    } else if (bflags & HF_BUCKET_SUSPENDED) {
        if (have) {
            rc = !cur.damaged && is_null(cur.s.version) ? drop_scratch_refs(m, txn)
                                                        : push_down(m, txn, &l, &cur);
            if (rc)
                return rc;
        }
        if ((rc = drop_null_noncurrent(m, txn, &l)))
            return rc;
    } else if (have && (rc = drop_scratch_refs(m, txn))) {
        return rc;
    }
    if (!have && (rc = group_room(txn, m->db.objects, l.tk, l.keylen)))
        return rc;
    if (w->rec->len < HF_REC_OBJ_FIXED)
        return HF_E_INVAL;
    memcpy(w->rec->data + HF_REC_OBJ_VERSION_OFF, w->version, 16);
    return hf_db_put(txn, m->db.objects, l.tk, l.tklen, w->rec->data, w->rec->len);
}

/* ---- put ------------------------------------------------------------------------ */

static int put_tx(void *ctx, MDB_txn *txn, void *arg)
{
    return hf_meta_tx_put_version(ctx, txn, arg);
}

int hf_meta_obj_put(hf_meta_t *m, const hf_bucket_t *b, const char *key, size_t keylen,
                    hf_obj_t *o, const hf_obj_cond_t *cond)
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
    hf_meta_wput_t w = {.b = b, .key = key, .keylen = keylen, .rec = &rec, .parts = o->parts,
                        .nparts = o->nparts, .add_refs = true, .cond = cond, .hlc = o->hlc,
                        .origin = o->origin};
    if ((rc = hf_meta_encode_obj(&rec, &enc, key, keylen)) == HF_OK)
        rc = hf_meta_write(m, put_tx, &w);
    if (rc == HF_OK)
        memcpy(o->version, w.version, 16);
    hf_buf_free(&rec);
    return rc;
}

/* ---- delete ---------------------------------------------------------------------- */

typedef struct del_op {
    const hf_bucket_t *b;
    hf_del_item_t *items;
    size_t n;
    bool single;           /* hf_meta_obj_delete: the key's outcome is the call's */
    unsigned flags;
    const uint8_t *marker; /* an encoded delete marker (version id patched in) */
    size_t marker_len;
    uint64_t hlc, origin;  /* the marker's */
} del_op_t;

/* Delete one item in txn (sets it->rc for "normal" outcomes and returns
 * HF_OK; returns an error only when the engine failed). */
static int delete_one(hf_meta_t *m, MDB_txn *txn, del_op_t *op, hf_del_item_t *it, uint32_t bflags)
{
    memset(&it->res, 0, sizeof it->res);
    keyloc_t l;
    keyloc_init(&l, op->b->id, it->key.p, it->key.n);
    cur_t cur;
    int rc = load_current(m, txn, &l, &cur);
    bool have = rc == HF_OK;
    if (rc && rc != HF_E_NOTFOUND)
        goto outcome;
    bool versioning = bflags & (HF_BUCKET_VERSIONING | HF_BUCKET_SUSPENDED);
    if (it->cond && it->cond->if_match) {
        hf_obj_cond_t c = {.if_match = true, .if_match_any = it->cond->if_match_any,
                           .etag_parts = it->cond->etag_parts};
        memcpy(c.etag, it->cond->etag, 16);
        if ((rc = check_cond(m, txn, &c, have, &cur, NULL, 0))) {
            it->res.no_current = rc == HF_E_NOTFOUND;
            goto outcome;
        }
    }
    if (!it->has_version && it->if_hlc && (!have || cur.damaged || cur.s.hlc != it->if_hlc)) {
        rc = HF_E_PRECONDITION;
        goto outcome;
    }
    if (it->has_version) {
        it->res.versioned = true;
        memcpy(it->res.version, it->version, 16);
        if (have && cur.damaged) {
            rc = HF_E_CORRUPT; /* which version it is cannot be told */
            goto outcome;
        }
        if (have && memcmp(cur.s.version, it->version, 16) == 0) {
            it->res.marker = (cur.s.flags & HF_OBJ_DELETE_MARKER) != 0;
            if (it->if_hlc && cur.s.hlc != it->if_hlc) {
                rc = HF_E_PRECONDITION;
                goto outcome;
            }
            if ((rc = check_removable(m, op->flags)) ||
                (rc = hf_db_del(txn, m->db.objects, l.tk, l.tklen)) ||
                (rc = drop_scratch_refs(m, txn)))
                goto outcome;
            rc = promote_newest(m, txn, &l);
            goto outcome;
        }
        find_ctx_t f;
        if (!have) {
            rc = HF_E_NOTFOUND; /* invariant 2: no current, no versions */
            goto outcome;
        }
        if ((rc = find_noncurrent(m, txn, &l, it->version, &f)))
            goto outcome;
        hf_rec_summary_t s;
        if ((rc = hf_rec_obj_summary(m->scratch.data, m->scratch.len, &s)))
            goto outcome;
        it->res.marker = (s.flags & HF_OBJ_DELETE_MARKER) != 0;
        if (it->if_hlc && s.hlc != it->if_hlc) {
            rc = HF_E_PRECONDITION;
            goto outcome;
        }
        if ((rc = check_removable(m, op->flags)) ||
            (rc = hf_db_del(txn, m->db.versions, f.vk, f.vklen)))
            goto outcome;
        rc = drop_scratch_refs(m, txn);
        goto outcome;
    }
    if (!versioning) {
        if (!have)
            goto outcome; /* HF_E_NOTFOUND */
        if ((rc = hf_db_del(txn, m->db.objects, l.tk, l.tklen)) == HF_OK)
            rc = drop_scratch_refs(m, txn);
        goto outcome;
    }
    /* Versioned: a delete marker becomes the current version, newer than
     * the one it covers (see hf_meta_tx_put_version). */
    uint8_t vid[16] = {0};
    uint64_t hlc = op->hlc;
    if (have && !cur.damaged && hlc <= cur.s.hlc)
        hlc = hf_meta_hlc_after(m, cur.s.hlc);
    if (bflags & HF_BUCKET_VERSIONING) {
        hf_meta_version_id(vid, hlc, op->origin);
        if (have && (rc = push_down(m, txn, &l, &cur)))
            goto outcome;
    } else {
        if (have) {
            rc = !cur.damaged && is_null(cur.s.version) ? drop_scratch_refs(m, txn)
                                                        : push_down(m, txn, &l, &cur);
            if (rc)
                goto outcome;
        }
        if ((rc = drop_null_noncurrent(m, txn, &l)))
            goto outcome;
    }
    if (!have && (rc = group_room(txn, m->db.objects, l.tk, l.keylen)))
        goto outcome;
    uint8_t rec[HF_REC_OBJ_FIXED + 5 + HF_KEY_MAX];
    memcpy(rec, op->marker, op->marker_len);
    size_t reclen = op->marker_len;
    if (l.keylen > HF_KS_SHORT_MAX) {
        /* Long keys carry the key in their record (tag, length, bytes). */
        rec[reclen] = HF_REC_TAG_KEY;
        hf_db_be32_put(rec + reclen + 1, (uint32_t)l.keylen);
        memcpy(rec + reclen + 5, l.key, l.keylen);
        reclen += 5 + l.keylen;
    }
    memcpy(rec + HF_REC_OBJ_VERSION_OFF, vid, 16);
    hf_db_be64_put(rec + HF_REC_OBJ_HLC_OFF, hlc);
    if ((rc = hf_db_put(txn, m->db.objects, l.tk, l.tklen, rec, reclen)))
        goto outcome;
    it->res.marker = true;
    it->res.versioned = true;
    memcpy(it->res.version, vid, 16);
outcome:
    it->rc = rc;
    /* Outcomes that concern only this key; anything else is the engine's. */
    if (rc == HF_OK || rc == HF_E_NOTFOUND || rc == HF_E_LOCKED || rc == HF_E_CORRUPT ||
        rc == HF_E_VERSION || rc == HF_E_TOOBIG || rc == HF_E_PRECONDITION)
        return HF_OK;
    return rc;
}

static int delete_tx(void *ctx, MDB_txn *txn, void *arg)
{
    hf_meta_t *m = ctx;
    del_op_t *op = arg;
    uint32_t bflags;
    int rc = hf_meta_tx_bucket_flags(m, txn, op->b, &bflags);
    if (rc)
        return rc;
    if (op->single) {
        /* A single delete's outcome is the operation's: a failed one is
         * rolled back with the operation's own transaction. (A
         * multi-object delete of one key is not single: its key's outcome
         * is reported per key, like any other.) */
        hf_del_item_t *it = &op->items[0];
        if (!hf_ks_key_valid(it->key.p, it->key.n))
            return HF_E_INVAL;
        if ((rc = delete_one(m, txn, op, it, bflags)))
            return rc;
        return it->rc;
    }
    for (size_t i = 0; i < op->n; i++) {
        hf_del_item_t *it = &op->items[i];
        if (!hf_ks_key_valid(it->key.p, it->key.n)) {
            it->rc = HF_E_INVAL;
            continue;
        }
        /* Each key in a child transaction, so one that fails halfway (a
         * damaged record met after a first change) leaves no trace. Blob
         * releases it noted are dropped before the commit because their
         * rows exist again (writer.c). */
        MDB_txn *child;
        if ((rc = mdb_txn_begin(m->db.env, txn, 0, &child)))
            return hf_db_err(rc, "txn_begin");
        rc = delete_one(m, child, op, it, bflags);
        if (rc) {
            mdb_txn_abort(child);
            return rc; /* the engine failed: the whole batch of keys fails */
        }
        if (it->rc != HF_OK) {
            mdb_txn_abort(child);
        } else if ((rc = mdb_txn_commit(child))) {
            return hf_db_err(rc, "txn_commit");
        }
    }
    return HF_OK;
}

/* Encode the delete marker every delete of this call may write: no data,
 * no headers, owned by the requester; version id and (for long keys) the
 * key are added in the transaction. */
static int encode_marker(hf_meta_t *m, uint64_t owner, del_op_t *op, hf_buf_t *rec)
{
    hf_obj_t o;
    memset(&o, 0, sizeof o);
    o.flags = HF_OBJ_DELETE_MARKER;
    o.mtime = hf_time_now();
    o.hlc = hf_meta_hlc_next(m);
    o.origin = hf_meta_node_id(m);
    o.owner = owner;
    op->hlc = o.hlc;
    op->origin = o.origin;
    int rc = hf_rec_obj_encode(rec, &o, NULL, 0);
    op->marker = (const uint8_t *)rec->data;
    op->marker_len = rec->len;
    return rc;
}

int hf_meta_obj_delete_many(hf_meta_t *m, const hf_bucket_t *b, hf_del_item_t *items, size_t n,
                            unsigned flags, uint64_t requester)
{
    if (n > HF_DELETE_OBJECTS_MAX)
        return HF_E_TOOBIG;
    if (n == 0)
        return HF_OK;
    hf_buf_t rec;
    hf_buf_init(&rec, 256);
    del_op_t op = {.b = b, .items = items, .n = n, .flags = flags};
    int rc = encode_marker(m, requester, &op, &rec);
    if (rc == HF_OK)
        rc = hf_meta_write(m, delete_tx, &op);
    hf_buf_free(&rec);
    /* One item: its outcome is in items[0].rc (the transaction returns it);
     * several: a failure of the call itself is every item's. */
    if (rc)
        for (size_t i = 0; i < n; i++)
            items[i].rc = rc;
    return n > 1 ? rc : HF_OK;
}

int hf_meta_obj_delete(hf_meta_t *m, const hf_bucket_t *b, const char *key, size_t keylen,
                       hf_version_sel_t ver, unsigned flags, uint64_t requester, hf_del_res_t *res)
{
    if (!hf_ks_key_valid(key, keylen))
        return HF_E_INVAL;
    hf_del_item_t it = {.key = {key, keylen}, .has_version = ver != NULL};
    if (ver)
        memcpy(it.version, ver, 16);
    hf_buf_t rec;
    hf_buf_init(&rec, 256);
    del_op_t op = {.b = b, .items = &it, .n = 1, .single = true, .flags = flags};
    int rc = encode_marker(m, requester, &op, &rec);
    if (rc == HF_OK)
        rc = hf_meta_write(m, delete_tx, &op);
    hf_buf_free(&rec);
    if (res)
        *res = it.res;
    return rc;
}

/* ---- in-place updates ---------------------------------------------------------- */

typedef struct update_op {
    const hf_bucket_t *b;
    const char *key;
    size_t keylen;
    hf_version_sel_t ver;
    const hf_obj_update_t *u;
    uint8_t version[16];
} update_op_t;

/* The new retention against the old one: compliance can only be
 * extended; governance too, unless the caller may bypass it. */
static int retention_allowed(const hf_obj_t *o, const hf_obj_update_t *u)
{
    if (o->lock_mode == HF_LOCK_NONE || o->lock_until <= hf_time_now())
        return HF_OK;
    bool weaker = u->lock_until < o->lock_until || u->lock_mode == HF_LOCK_NONE ||
                  (o->lock_mode == HF_LOCK_COMPLIANCE && u->lock_mode != HF_LOCK_COMPLIANCE);
    if (!weaker)
        return HF_OK;
    if (o->lock_mode == HF_LOCK_GOVERNANCE && u->bypass_governance)
        return HF_OK;
    return HF_E_LOCKED;
}

static int update_tx(void *ctx, MDB_txn *txn, void *arg)
{
    hf_meta_t *m = ctx;
    update_op_t *op = arg;
    int rc = hf_meta_tx_bucket_check(m, txn, op->b);
    if (rc)
        return rc;
    keyloc_t l;
    keyloc_init(&l, op->b->id, op->key, op->keylen);
    cur_t cur;
    MDB_dbi dbi = m->db.objects;
    const uint8_t *tk = l.tk;
    size_t tklen = l.tklen;
    find_ctx_t f;
    if ((rc = load_current(m, txn, &l, &cur)))
        return rc;
    if (cur.damaged)
        return HF_E_CORRUPT;
    if (op->ver && memcmp(cur.s.version, op->ver, 16) != 0) {
        if ((rc = find_noncurrent(m, txn, &l, op->ver, &f)))
            return rc;
        dbi = m->db.versions;
        tk = f.vk;
        tklen = f.vklen;
    }
    hf_arena_reset(&m->warena);
    hf_obj_t o;
    bool unknown = false;
    if ((rc = hf_rec_obj_decode_ex(m->scratch.data, m->scratch.len, &m->warena, &o, &unknown)))
        return rc;
    if (unknown)
        return HF_E_VERSION; /* re-encoding would drop fields a newer build wrote */
    if (o.flags & HF_OBJ_DELETE_MARKER)
        return HF_E_INVAL;
    const hf_obj_update_t *u = op->u;
    if (u->set_tags) {
        if ((rc = hf_meta_check_tags(u->tags, u->ntags)))
            return rc;
        o.tags = (hf_kv_t *)u->tags;
        o.ntags = u->ntags;
    }
    if (u->set_retention) {
        if ((rc = retention_allowed(&o, u)))
            return rc;
        o.lock_mode = u->lock_mode;
        o.lock_until = u->lock_until;
    }
    if (u->set_legal_hold)
        o.legal_hold = u->legal_hold;
    if (u->set_acl) {
        if (u->acl_len > HF_OBJ_ACL_MAX)
            return HF_E_TOOBIG;
        o.acl = u->acl;
        o.acl_len = u->acl_len;
    }
    hf_buf_t rec;
    hf_buf_init(&rec, HF_REC_MAX);
    rc = hf_rec_obj_encode(&rec, &o, l.keylen > HF_KS_SHORT_MAX ? l.key : NULL, l.keylen);
    if (rc == HF_OK)
        rc = hf_db_put(txn, dbi, tk, tklen, rec.data, rec.len);
    hf_buf_free(&rec);
    memcpy(op->version, o.version, 16);
    return rc;
}

int hf_meta_obj_update(hf_meta_t *m, const hf_bucket_t *b, const char *key, size_t keylen,
                       hf_version_sel_t ver, const hf_obj_update_t *u, uint8_t version[16])
{
    if (!hf_ks_key_valid(key, keylen))
        return HF_E_NOTFOUND;
    update_op_t op = {.b = b, .key = key, .keylen = keylen, .ver = ver, .u = u};
    int rc = hf_meta_write(m, update_tx, &op);
    if (rc == HF_OK && version)
        memcpy(version, op.version, 16);
    return rc;
}

/* ---- reads ------------------------------------------------------------------ */

/* Decode the record v (a version of key) into out and verify inline data. */
static int decode_version(uint64_t bucket_id, const MDB_val *v, const char *key, size_t keylen,
                          hf_arena_t *a, hf_obj_t *out)
{
    int rc = hf_meta_check_long_key(v->mv_data, v->mv_size, HF_REC_OBJ_FIXED, key, keylen);
    if (rc)
        return rc;
    if ((rc = hf_rec_obj_decode(v->mv_data, v->mv_size, a, out))) {
        if (rc != -ENOMEM)
            hf_log_error("msg=\"object record unreadable\" bucket=%llu err=%d",
                         (unsigned long long)bucket_id, rc);
        return rc;
    }
    if ((out->flags & HF_OBJ_INLINE) &&
        hf_crc32c(0, out->inline_data, out->inline_len) != out->inline_crc32c) {
        hf_log_error("msg=\"inline object data failed its crc32c\" bucket=%llu len=%u",
                     (unsigned long long)bucket_id, out->inline_len);
        return HF_E_CORRUPT;
    }
    return HF_OK;
}

typedef struct read_find {
    const uint8_t *version;
    MDB_val v;
    bool found;
} read_find_t;

static int read_find_cb(void *arg, const MDB_val *k, const MDB_val *v)
{
    (void)k;
    read_find_t *f = arg;
    if (v->mv_size >= HF_REC_OBJ_FIXED &&
        memcmp((const uint8_t *)v->mv_data + HF_REC_OBJ_VERSION_OFF, f->version, 16) == 0) {
        f->v = *v;
        f->found = true;
        return 1;
    }
    return 0;
}

int hf_meta_obj_get(hf_meta_t *m, uint64_t bucket_id, const char *key, size_t keylen,
                    hf_version_sel_t ver, hf_arena_t *a, hf_obj_t *out)
{
    if (!hf_ks_key_valid(key, keylen))
        return HF_E_NOTFOUND;
    keyloc_t l;
    keyloc_init(&l, bucket_id, key, keylen);
    MDB_txn *txn;
    int rc = hf_db_rbegin(&m->db, &txn);
    if (rc)
        return rc;
    MDB_val v;
    if ((rc = hf_db_get(txn, m->db.objects, l.tk, l.tklen, &v)))
        goto out;
    bool latest = !ver || (v.mv_size >= HF_REC_OBJ_FIXED &&
                           memcmp((const uint8_t *)v.mv_data + HF_REC_OBJ_VERSION_OFF, ver, 16) == 0);
    if (!latest) {
        if (!is_null(ver)) {
            uint8_t vk[HF_KS_UPLOAD_KEY_MAX];
            size_t vklen = hf_ks_version_key(vk, bucket_id, key, keylen, hf_db_be64_get(ver),
                                             hf_db_be64_get(ver + 8));
            if ((rc = hf_db_get(txn, m->db.versions, vk, vklen, &v)))
                goto out;
            if (v.mv_size < HF_REC_OBJ_FIXED ||
                memcmp((const uint8_t *)v.mv_data + HF_REC_OBJ_VERSION_OFF, ver, 16) != 0) {
                rc = HF_E_NOTFOUND;
                goto out;
            }
        } else {
            read_find_t f = {.version = ver};
            if ((rc = each_version(m, txn, &l, read_find_cb, &f)))
                goto out;
            if (!f.found) {
                rc = HF_E_NOTFOUND;
                goto out;
            }
            v = f.v;
        }
    }
    rc = decode_version(bucket_id, &v, key, keylen, a, out);
    if (rc == HF_OK)
        out->latest = latest;
out:
    hf_db_rend(&m->db, txn);
    return rc;
}
