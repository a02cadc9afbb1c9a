/*
 * scan.c -- a paged, resumable scan over every stored object version, for
 * the scrubber and tools; see hf_meta_scan in meta.h.
 *
 * Owns nothing: it reads the buckets table (in name order) and, for each
 * bucket, that bucket's range of the objects table through keyspace.c, so
 * long keys come out in exact key order like everywhere else.
 *
 * Approach. One read transaction per page, never one for the whole pass:
 * a pass over a large store at a gentle rate takes hours, and a read
 * transaction held that long pins every page the writer frees meanwhile
 * (LMDB cannot reuse them), so the file would grow for the whole pass.
 * The cursor therefore names a position, not an LMDB cursor: (bucket name,
 * last key, and the last noncurrent version of it, if any). Each key's
 * current version comes first, then its noncurrent versions from the
 * versions table, newest first. Resuming seeks to the bucket by name, to
 * the key, and past the version: after "key" alone the key's current
 * version has been returned and its noncurrent ones are next; after "key
 * 0x00 suffix" the versions after that suffix are. A key deleted
 * meanwhile is simply not found, and the scan goes on with the next.
 *
 * Cursor bytes: name length u8 (1..63) | name | last key (0..1024 bytes;
 * empty = the bucket's first key) [| 0x00 | versions-table suffix (16)];
 * a key of the single byte 0x00 means "past this bucket". All zero length
 * = the very start.
 */
#include "meta/internal.h"

#include "base/err.h"
#include "base/hash.h"
#include "base/log.h"
#include "meta/keyspace.h"
#include "meta/record.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static int cursor_split(const hf_meta_scan_cursor_t *c, hf_str_t *bucket, hf_str_t *key,
                        const uint8_t **suffix)
{
    *bucket = (hf_str_t){NULL, 0};
    *key = (hf_str_t){NULL, 0};
    *suffix = NULL;
    if (c->n == 0)
        return HF_OK;
    size_t bl = c->b[0];
    if (bl < 1 || bl > HF_BUCKET_NAME_MAX || c->n < 1 + bl || c->n > HF_META_SCAN_CURSOR_MAX)
        return HF_E_INVAL;
    *bucket = (hf_str_t){(const char *)c->b + 1, bl};
    *key = (hf_str_t){(const char *)c->b + 1 + bl, c->n - 1 - bl};
    const char *z = key->n > 1 ? memchr(key->p, 0, key->n) : NULL;
    if (z) {
        size_t kl = (size_t)(z - key->p);
        if (kl == 0 || key->n - kl != 17)
            return HF_E_INVAL;
        *suffix = (const uint8_t *)z + 1;
        key->n = kl;
    }
    if (key->n > HF_KEY_MAX)
        return HF_E_INVAL;
    return HF_OK;
}

/* suffix: NULL, or the 16-byte versions-table suffix of the last
 * noncurrent version returned. */
static void cursor_set(hf_meta_scan_cursor_t *c, hf_str_t bucket, hf_str_t key, const uint8_t *suffix)
{
    c->b[0] = (uint8_t)bucket.n;
    memcpy(c->b + 1, bucket.p, bucket.n);
    if (key.n)
        memcpy(c->b + 1 + bucket.n, key.p, key.n);
    c->n = (uint16_t)(1 + bucket.n + key.n);
    if (suffix) {
        c->b[c->n] = 0;
        memcpy(c->b + c->n + 1, suffix, 16);
        c->n = (uint16_t)(c->n + 17);
    }
}

/* Decode one object record into the item (errors stay in it->err). */
static void fill_item(hf_meta_scan_item_t *it, const hf_ks_item_t *ki, hf_arena_t *a, int *rc)
{
    const uint8_t *p = ki->val.mv_data;
    size_t n = ki->val.mv_size;
    /* The version id sits in the fixed part (FORMAT-meta.md): recover it
     * even when the rest of the record is damaged. */
    if (n >= HF_REC_OBJ_FIXED)
        memcpy(it->version, p + 37, 16);
    int e = hf_rec_obj_decode(p, n, a, &it->obj);
    if (e == -ENOMEM) {
        *rc = e;
        return;
    }
    if (e == HF_OK && (it->obj.flags & HF_OBJ_INLINE) &&
        hf_crc32c(0, it->obj.inline_data, it->obj.inline_len) != it->obj.inline_crc32c)
        e = HF_E_CORRUPT;
    if (e != HF_OK) {
        if (e != HF_E_VERSION)
            e = HF_E_CORRUPT;
        memset(&it->obj, 0, sizeof it->obj);
        hf_log_error("msg=\"object record damaged\" bucket=%s key_len=%zu err=\"%s\"", it->bucket,
                     it->key.n, hf_strerror(e));
    }
    it->err = e;
}

int hf_meta_scan(hf_meta_t *m, hf_meta_scan_cursor_t *cur, uint32_t max, hf_arena_t *a,
                 hf_meta_scan_item_t **items, uint32_t *n, bool *done)
{
    *items = NULL;
    *n = 0;
    *done = false;
    if (max == 0)
        return HF_E_INVAL;
    if (max > HF_LIST_PAGE_MAX)
        max = HF_LIST_PAGE_MAX;
    hf_str_t cb, ck;
    const uint8_t *csuffix;
    int rc = cursor_split(cur, &cb, &ck, &csuffix);
    if (rc)
        return rc;
    hf_meta_scan_item_t *out = hf_arena_calloc(a, sizeof *out * max);
    if (!out)
        return -ENOMEM;
    hf_meta_scan_cursor_t next = *cur;
    uint32_t count = 0;
    MDB_txn *txn;
    if ((rc = hf_db_rbegin(&m->db, &txn)))
        return rc;
    MDB_cursor *bc = NULL, *vc = NULL;
    if ((rc = hf_db_err(mdb_cursor_open(txn, m->db.buckets, &bc), "cursor_open")) ||
        (rc = hf_db_err(mdb_cursor_open(txn, m->db.versions, &vc), "cursor_open")))
        goto out;
    MDB_val k = {cb.n, (void *)cb.p}, v;
    int mrc = cb.n ? mdb_cursor_get(bc, &k, &v, MDB_SET_RANGE) : mdb_cursor_get(bc, &k, &v, MDB_FIRST);
    bool exact = mrc == MDB_SUCCESS && cb.n && k.mv_size == cb.n && memcmp(k.mv_data, cb.p, cb.n) == 0;
    if (exact && ck.n == 1 && ck.p[0] == 0) {
        /* "past this bucket" */
        exact = false;
        mrc = mdb_cursor_get(bc, &k, &v, MDB_NEXT);
    }
    bool resume_key = exact && ck.n;
    for (; mrc == MDB_SUCCESS && count < max; mrc = mdb_cursor_get(bc, &k, &v, MDB_NEXT), resume_key = false) {
        if (k.mv_size < 1 || k.mv_size > HF_BUCKET_NAME_MAX)
            continue; /* not a bucket name: nothing of ours */
        hf_str_t bname = {k.mv_data, k.mv_size};
        char *name = hf_arena_strndup(a, bname.p, bname.n);
        if (!name) {
            rc = -ENOMEM;
            goto out;
        }
        hf_bucket_t bk;
        if (hf_rec_bucket_decode(v.mv_data, v.mv_size, &bk) != HF_OK) {
            hf_log_error("msg=\"bucket record damaged; its objects cannot be scanned\" bucket=%s", name);
            out[count] = (hf_meta_scan_item_t){.bucket = name, .err = HF_E_CORRUPT};
            count++;
            cursor_set(&next, bname, (hf_str_t){"\0", 1}, NULL);
            continue;
        }
        hf_ks_scan_t s;
        if ((rc = hf_ks_scan_open(&s, txn, m->db.objects, bk.id, HF_KS_OBJECTS)))
            goto out;
        /* Resume at the cursor's key itself: its noncurrent versions may
         * still be due. */
        hf_str_t start = resume_key ? ck : (hf_str_t){NULL, 0};
        rc = hf_ks_scan_seek(&s, start.p, start.n, NULL);
        bool bucket_done = false;
        while (rc == HF_OK && count < max) {
            hf_ks_item_t ki;
            int r = hf_ks_scan_next(&s, &ki);
            if (r < 0) {
                rc = r;
                break;
            }
            if (r == 0) {
                bucket_done = true;
                break;
            }
            hf_str_t kk = {ki.key, ki.keylen};
            bool again = resume_key && hf_meta_str_cmp(kk, ck) == 0;
            const uint8_t *after = again ? csuffix : NULL;
            resume_key = false;
            char *key = hf_arena_strndup(a, ki.key, ki.keylen);
            if (!key) {
                rc = -ENOMEM;
                break;
            }
            hf_str_t akey = {key, ki.keylen};
            if (!again) {
                hf_meta_scan_item_t *it = &out[count];
                memset(it, 0, sizeof *it);
                it->bucket = name;
                it->bucket_id = bk.id;
                it->key = akey;
                fill_item(it, &ki, a, &rc);
                if (rc)
                    break;
                count++;
                cursor_set(&next, bname, akey, NULL);
            }
            /* The key's noncurrent versions, newest first. */
            uint8_t tk[HF_KS_UPLOAD_KEY_MAX];
            size_t tklen = hf_ks_obj_key(tk, bk.id, akey.p, akey.n);
            if (after)
                memcpy(tk + tklen, after, 16);
            MDB_val vk = {after ? tklen + 16 : tklen, tk}, vv;
            int vrc = mdb_cursor_get(vc, &vk, &vv, MDB_SET_RANGE);
            if (vrc == MDB_SUCCESS && after && vk.mv_size == tklen + 16 &&
                memcmp(vk.mv_data, tk, tklen + 16) == 0)
                vrc = mdb_cursor_get(vc, &vk, &vv, MDB_NEXT); /* returned already */
            while (vrc == MDB_SUCCESS && vk.mv_size == tklen + 16 && memcmp(vk.mv_data, tk, tklen) == 0) {
                if (count == max)
                    break;
                hf_meta_scan_item_t *it = &out[count];
                memset(it, 0, sizeof *it);
                it->bucket = name;
                it->bucket_id = bk.id;
                it->key = akey;
                hf_ks_item_t vi = {.key = key, .keylen = akey.n, .val = vv};
                fill_item(it, &vi, a, &rc);
                if (rc)
                    break;
                count++;
                cursor_set(&next, bname, akey, (const uint8_t *)vk.mv_data + tklen);
                vrc = mdb_cursor_get(vc, &vk, &vv, MDB_NEXT);
            }
            if (rc)
                break;
            if (vrc != MDB_SUCCESS && vrc != MDB_NOTFOUND) {
                rc = hf_db_err(vrc, "cursor_next");
                break;
            }
        }
        hf_ks_scan_close(&s);
        if (rc == HF_E_CORRUPT) {
            /* The table itself is inconsistent here (keyspace.c says so
             * only for a broken long-key group): report the bucket and
             * skip the rest of it -- or, on a full page, stop before it so
             * the next page starts with the report. */
            rc = HF_OK;
            if (count == max)
                break;
            out[count++] = (hf_meta_scan_item_t){.bucket = name, .bucket_id = bk.id,
                                                 .err = HF_E_CORRUPT};
            bucket_done = true;
        }
        if (rc)
            goto out;
        if (!bucket_done)
            break; /* page full inside this bucket */
        /* Past this bucket: resume at the next name (the name with a 0x00
         * appended sorts right after it, and no name holds 0x00). */
        cursor_set(&next, bname, (hf_str_t){"\0", 1}, NULL);
    }
    if (mrc != MDB_SUCCESS && mrc != MDB_NOTFOUND) {
        rc = hf_db_err(mrc, "cursor_get");
        goto out;
    }
    *done = mrc == MDB_NOTFOUND;
out:
    if (bc)
        mdb_cursor_close(bc);
    if (vc)
        mdb_cursor_close(vc);
    hf_db_rend(&m->db, txn);
    if (rc) {
        *done = false;
        return rc;
    }
    *cur = next;
    *items = count ? out : NULL;
    *n = count;
    return HF_OK;
}
