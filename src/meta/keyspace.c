/*
 * keyspace.c -- table keys for objects and uploads, and the ordered scan
 * that listings use; see keyspace.h for the layouts.
 *
 * Owns: the mapping between S3 object keys and LMDB keys, and the only
 * code that walks the objects and uploads tables in key order.
 *
 * Approach. Keys of up to 470 bytes (nearly all real keys) are stored
 * verbatim, so LMDB's own order is S3's order and a listing is a cursor
 * walk with seeks. Longer keys cannot fit LMDB's 511-byte key limit; they
 * keep their first 470 bytes in the table key (so they still sort in the
 * right place relative to every other key) and add a hash for uniqueness.
 * Only long keys sharing those 470 bytes lose their relative order; the
 * scan repairs it by loading such a group into memory and sorting it.
 *
 * Rejected: a custom LMDB comparator (it sees only table keys, so it cannot
 * order by bytes that are not in them); chaining long keys through extra
 * tables in 470-byte segments (exact, but every lookup and every listing
 * step becomes a multi-table walk for a case that is almost never used);
 * refusing keys over 470 bytes (S3 allows 1024, and clients test it).
 */
#include "meta/keyspace.h"

#include "base/err.h"
#include "base/hash.h"
#include "base/limits.h"
#include "base/log.h"
#include "meta/db.h"
#include "meta/record.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

bool hf_ks_key_valid(const char *key, size_t n)
{
    return n >= 1 && n <= HF_KEY_MAX && memchr(key, 0, n) == NULL;
}

/* bucket | key or its long form; returns the length (without upload id). */
static size_t key_body(uint8_t *out, uint64_t bucket, const char *key, size_t n)
{
    hf_db_be64_put(out, bucket);
    if (n <= HF_KS_SHORT_MAX) {
        memcpy(out + 8, key, n);
        out[8 + n] = 0x00;
        return 8 + n + 1;
    }
    unsigned char h[HF_SHA256_LEN];
    hf_sha256(key, n, h);
    memcpy(out + 8, key, HF_KS_SHORT_MAX);
    out[8 + HF_KS_SHORT_MAX] = 0x01;
    memcpy(out + HF_KS_GROUP_PREFIX, h, 16);
    return HF_KS_OBJ_KEY_MAX;
}

size_t hf_ks_obj_key(uint8_t out[HF_KS_OBJ_KEY_MAX], uint64_t bucket, const char *key, size_t n)
{
    return key_body(out, bucket, key, n);
}

size_t hf_ks_upload_key(uint8_t out[HF_KS_UPLOAD_KEY_MAX], uint64_t bucket, const char *key, size_t n,
                        const uint8_t id[16])
{
    size_t len = key_body(out, bucket, key, n);
    memcpy(out + len, id, 16);
    return len + 16;
}

void hf_ks_version_suffix(uint8_t out[16], uint64_t hlc, uint64_t origin)
{
    hf_db_be64_put(out, ~hlc);
    hf_db_be64_put(out + 8, ~origin);
}

size_t hf_ks_version_key(uint8_t out[HF_KS_UPLOAD_KEY_MAX], uint64_t bucket, const char *key,
                         size_t n, uint64_t hlc, uint64_t origin)
{
    size_t len = key_body(out, bucket, key, n);
    hf_ks_version_suffix(out + len, hlc, origin);
    return len + 16;
}

int hf_ks_group_count(MDB_txn *txn, MDB_dbi dbi, const uint8_t *tk, size_t max, size_t *count)
{
    MDB_cursor *c;
    int rc = mdb_cursor_open(txn, dbi, &c);
    if (rc)
        return hf_db_err(rc, "cursor_open");
    size_t cnt = 0;
    MDB_val k = {HF_KS_GROUP_PREFIX, (void *)tk}, v;
    rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
    while (rc == MDB_SUCCESS && cnt < max) {
        if (k.mv_size < HF_KS_GROUP_PREFIX || memcmp(k.mv_data, tk, HF_KS_GROUP_PREFIX) != 0)
            break;
        cnt++;
        rc = mdb_cursor_get(c, &k, &v, MDB_NEXT);
    }
    mdb_cursor_close(c);
    if (rc != MDB_SUCCESS && rc != MDB_NOTFOUND)
        return hf_db_err(rc, "cursor_get");
    *count = cnt;
    return HF_OK;
}

/* ---- scan ------------------------------------------------------------------ */

static void settle(hf_ks_scan_t *s, int rc)
{
    s->have = rc == MDB_SUCCESS && s->k.mv_size >= 8 && memcmp(s->k.mv_data, s->bucket, 8) == 0;
}

static int raw_seek(hf_ks_scan_t *s, const uint8_t *tk, size_t n)
{
    s->k.mv_data = (void *)tk;
    s->k.mv_size = n;
    int rc = mdb_cursor_get(s->cur, &s->k, &s->v, MDB_SET_RANGE);
    if (rc != MDB_SUCCESS && rc != MDB_NOTFOUND)
        return hf_db_err(rc, "cursor_seek");
    settle(s, rc);
    return HF_OK;
}

static int advance(hf_ks_scan_t *s)
{
    int rc = mdb_cursor_get(s->cur, &s->k, &s->v, MDB_NEXT);
    if (rc != MDB_SUCCESS && rc != MDB_NOTFOUND)
        return hf_db_err(rc, "cursor_next");
    settle(s, rc);
    return HF_OK;
}

static bool is_long(const hf_ks_scan_t *s, const MDB_val *k)
{
    size_t want = s->uploads ? HF_KS_UPLOAD_KEY_MAX : HF_KS_OBJ_KEY_MAX;
    return k->mv_size == want && ((const uint8_t *)k->mv_data)[8 + HF_KS_SHORT_MAX] == 0x01;
}

static int damaged(const MDB_val *k)
{
    hf_log_error("msg=\"metadata table key damaged\" len=%zu", k->mv_size);
    return HF_E_CORRUPT;
}

/* The item of the cursor's entry k/v. */
static int decode(const hf_ks_scan_t *s, const MDB_val *k, const MDB_val *v, hf_ks_item_t *it)
{
    const uint8_t *tk = k->mv_data;
    size_t n = k->mv_size, suffix = s->uploads ? 16 : 0;
    it->val = *v;
    it->id = s->uploads && n >= 16 ? tk + n - 16 : NULL;
    if (is_long(s, k)) {
        int rc = hf_rec_find_key(v->mv_data, v->mv_size, s->fixed, &it->key, &it->keylen);
        if (rc == HF_E_NOTFOUND)
            return damaged(k);
        if (rc)
            return rc;
        if (it->keylen <= HF_KS_SHORT_MAX || it->keylen > HF_KEY_MAX ||
            memcmp(it->key, tk + 8, HF_KS_SHORT_MAX) != 0)
            return damaged(k);
        return HF_OK;
    }
    if (n < 8 + 2 + suffix || tk[n - 1 - suffix] != 0x00)
        return damaged(k);
    it->key = (const char *)tk + 8;
    it->keylen = n - 9 - suffix;
    return HF_OK;
}

static int item_cmp_key(const hf_ks_item_t *a, const char *key, size_t n, const uint8_t *id)
{
    size_t m = a->keylen < n ? a->keylen : n;
    int c = memcmp(a->key, key, m);
    if (c)
        return c;
    if (a->keylen != n)
        return a->keylen < n ? -1 : 1;
    if (!a->id || !id)
        return a->id ? (id ? 0 : 1) : 0;
    return memcmp(a->id, id, 16);
}

static int item_cmp(const void *pa, const void *pb)
{
    const hf_ks_item_t *b = pb;
    return item_cmp_key(pa, b->key, b->keylen, b->id);
}

/* Read the group starting at the cursor's entry into s->grp, sorted; the
 * cursor ends up after the group. */
static int load_group(hf_ks_scan_t *s)
{
    uint8_t prefix[HF_KS_GROUP_PREFIX];
    memcpy(prefix, s->k.mv_data, HF_KS_GROUP_PREFIX);
    s->gn = s->gi = 0;
    s->in_grp = true;
    while (s->have && is_long(s, &s->k) && memcmp(s->k.mv_data, prefix, HF_KS_GROUP_PREFIX) == 0) {
        if (s->gn == s->gcap) {
            size_t cap = s->gcap ? s->gcap * 2 : 64;
            hf_ks_item_t *g = realloc(s->grp, cap * sizeof *g);
            if (!g)
                return -ENOMEM;
            s->grp = g;
            s->gcap = cap;
        }
        int rc = decode(s, &s->k, &s->v, &s->grp[s->gn]);
        if (rc)
            return rc;
        s->gn++;
        if ((rc = advance(s)))
            return rc;
    }
    qsort(s->grp, s->gn, sizeof *s->grp, item_cmp);
    return HF_OK;
}

int hf_ks_scan_open(hf_ks_scan_t *s, MDB_txn *txn, MDB_dbi dbi, uint64_t bucket,
                    enum hf_ks_table table)
{
    memset(s, 0, sizeof *s);
    hf_db_be64_put(s->bucket, bucket);
    s->uploads = table != HF_KS_OBJECTS;
    s->fixed = table == HF_KS_UPLOADS ? HF_REC_UPLOAD_FIXED : HF_REC_OBJ_FIXED;
    int rc = mdb_cursor_open(txn, dbi, &s->cur);
    if (rc)
        return hf_db_err(rc, "cursor_open");
    return raw_seek(s, s->bucket, 8);
}

void hf_ks_scan_close(hf_ks_scan_t *s)
{
    if (s->cur)
        mdb_cursor_close(s->cur);
    free(s->grp);
    memset(s, 0, sizeof *s);
}

int hf_ks_scan_seek(hf_ks_scan_t *s, const char *key, size_t n, const uint8_t *id)
{
    uint8_t tk[HF_KS_UPLOAD_KEY_MAX];
    s->in_grp = false;
    memcpy(tk, s->bucket, 8);
    if (n <= HF_KS_SHORT_MAX) {
        /* bucket | key sorts just before bucket | key | 0x00 ..., and after
         * every entry of a smaller key. */
        if (n)
            memcpy(tk + 8, key, n);
        size_t len = 8 + n;
        if (id && s->uploads) {
            tk[len++] = 0x00;
            memcpy(tk + len, id, 16);
            len += 16;
        }
        return raw_seek(s, tk, len);
    }
    memcpy(tk + 8, key, HF_KS_SHORT_MAX);
    tk[8 + HF_KS_SHORT_MAX] = 0x01;
    int rc = raw_seek(s, tk, HF_KS_GROUP_PREFIX);
    if (rc || !s->have || !is_long(s, &s->k) || memcmp(s->k.mv_data, tk, HF_KS_GROUP_PREFIX) != 0)
        return rc; /* no group for these 470 bytes: what follows is greater */
    if ((rc = load_group(s)))
        return rc;
    /* lower bound of (key, id) in the sorted group */
    size_t lo = 0, hi = s->gn;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (item_cmp_key(&s->grp[mid], key, n, id) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    s->gi = lo;
    return HF_OK;
}

int hf_ks_scan_skip_prefix(hf_ks_scan_t *s, const char *p, size_t n)
{
    if (s->in_grp && n > HF_KS_SHORT_MAX) {
        while (s->gi < s->gn && s->grp[s->gi].keylen >= n && memcmp(s->grp[s->gi].key, p, n) == 0)
            s->gi++;
        return HF_OK;
    }
    /* The least string greater than every string starting with p: drop
     * trailing 0xFF bytes and increment the last one. */
    char succ[HF_KEY_MAX];
    if (n > sizeof succ)
        return HF_E_INVAL;
    memcpy(succ, p, n);
    while (n > 0 && (uint8_t)succ[n - 1] == 0xFF)
        n--;
    if (n == 0) {
        s->in_grp = false;
        s->have = false;
        return HF_OK;
    }
    succ[n - 1] = (char)((uint8_t)succ[n - 1] + 1);
    return hf_ks_scan_seek(s, succ, n, NULL);
}

int hf_ks_scan_next(hf_ks_scan_t *s, hf_ks_item_t *out)
{
    if (s->in_grp) {
        if (s->gi < s->gn) {
            *out = s->grp[s->gi++];
            return 1;
        }
        s->in_grp = false;
    }
    if (!s->have)
        return 0;
    if (is_long(s, &s->k)) {
        int rc = load_group(s);
        if (rc)
            return rc;
        if (s->gn == 0)
            return HF_E_CORRUPT; /* unreachable: the entry itself is in it */
        *out = s->grp[s->gi++];
        return 1;
    }
    int rc = decode(s, &s->k, &s->v, out);
    if (rc)
        return rc;
    rc = advance(s);
    return rc ? rc : 1;
}
