/*
 * meta.c -- the metadata store's life cycle, clock, users and buckets; see
 * meta.h. Objects are in obj.c, uploads in upload.c, blob counts in blob.c.
 *
 * Owns: opening and closing the store, the sys table (format version, node
 * id, clock high-water mark, id counters), the hybrid logical clock, and
 * the users, keys, userids and buckets tables.
 *
 * Approach. Reads run on the calling thread in a short LMDB read
 * transaction. Every change is an operation handed to the writer thread
 * (writer.c), which applies it inside a nested transaction of its group
 * commit; the caller blocks until the commit. Work that needs no
 * transaction (validation, encoding, random ids) is done on the calling
 * thread first so the single writer does as little as possible.
 *
 * The clock. A value is (wall ms << 16) + counter, issued by a CAS loop
 * that always moves strictly upward. Each commit persists the greatest
 * value issued so far (sys "hlc"); since an operation obtains its clock
 * values before it is queued, every value stored in a committed record is
 * <= the persisted mark of that commit. At open the clock restarts at
 * max(mark + 1 s of clock, wall clock): above every stored value, and also
 * above values issued in the last second before a crash that no commit
 * recorded, even if the wall clock was stepped back across the restart by
 * up to that second. Values never stored anywhere are the only ones the
 * margin can fail to cover, and nothing compares against those.
 *
 * Rejected: persisting a lease ahead of the clock and blocking issuance
 * when it runs out (a clock read that can wait for an fsync); a separate
 * clock file (two fsyncs where one commit already carries the mark).
 */
#include "meta/internal.h"

#include "base/err.h"
#include "base/limits.h"
#include "base/log.h"
#include "base/rand.h"
#include "base/str.h"
#include "base/time.h"
#include "meta/keyspace.h"
#include "meta/record.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* 1: users, buckets, objects, uploads, blobs. 2: adds the versions and
 * bucketcfg tables and the record tags of versioning, checksums, tags,
 * Object Lock and ACLs. 3: adds the done table (completed uploads
 * remembered for retried completions). An older store is upgraded in
 * place on open (the new tables start empty, every older record reads
 * unchanged); a build refuses a store of a newer format than its own. */
#define FORMAT_VERSION 3
/* One second of clock: 1000 ms in the upper 48 bits. */
#define HLC_MARGIN ((uint64_t)1000 << 16)

/* ---- writer plumbing ------------------------------------------------------- */

int hf_meta_write(hf_meta_t *m, hf_wop_fn fn, void *arg)
{
    hf_wop_t op = {.fn = fn, .arg = arg};
    return hf_writer_submit(m->w, &op);
}

static int sys_get_u64(MDB_txn *txn, hf_meta_t *m, const char *name, uint64_t *out, bool *found)
{
    MDB_val v;
    int rc = hf_db_get(txn, m->db.sys, name, strlen(name), &v);
    *found = rc == HF_OK;
    if (rc == HF_E_NOTFOUND)
        return HF_OK;
    if (rc)
        return rc;
    if (v.mv_size != 8) {
        hf_log_error("msg=\"metadata sys value damaged\" key=%s len=%zu", name, v.mv_size);
        return HF_E_CORRUPT;
    }
    *out = hf_db_be64_get(v.mv_data);
    return HF_OK;
}

static int sys_put_u64(MDB_txn *txn, hf_meta_t *m, const char *name, uint64_t val)
{
    uint8_t b[8];
    hf_db_be64_put(b, val);
    return hf_db_put(txn, m->db.sys, name, strlen(name), b, 8);
}

int hf_meta_tx_counter(hf_meta_t *m, MDB_txn *txn, const char *name, uint64_t *out)
{
    uint64_t next = 1;
    bool found;
    int rc = sys_get_u64(txn, m, name, &next, &found);
    if (rc)
        return rc;
    if (!found)
        next = 1;
    if ((rc = sys_put_u64(txn, m, name, next + 1)))
        return rc;
    *out = next;
    return HF_OK;
}

/* Writer hook: persist the clock's high-water mark with the batch. */
static int pre_commit(void *ctx, MDB_txn *txn)
{
    hf_meta_t *m = ctx;
    uint64_t h = atomic_load(&m->hlc);
    if (h <= m->hlc_persisted)
        return HF_OK;
    int rc = sys_put_u64(txn, m, HF_SYS_HLC, h);
    if (rc == HF_OK)
        m->hlc_persisted = h;
    return rc;
}

/* Writer hook: a blob noted for release has a row again. */
static bool blob_referenced(void *ctx, MDB_txn *txn, const hf_blob_id_t *id)
{
    hf_meta_t *m = ctx;
    MDB_val v;
    return hf_db_get(txn, m->db.blobs, id->b, 16, &v) == HF_OK;
}

/* ---- open / close ----------------------------------------------------------- */

/* Create or check the sys table: format version, node id, clock mark. */
static int init_sys(hf_meta_t *m, uint64_t *hlc_mark)
{
    MDB_txn *txn;
    int rc = mdb_txn_begin(m->db.env, NULL, 0, &txn);
    if (rc)
        return hf_db_err(rc, "txn_begin");
    MDB_val v;
    rc = hf_db_get(txn, m->db.sys, HF_SYS_FORMAT, strlen(HF_SYS_FORMAT), &v);
    if (rc == HF_E_NOTFOUND) {
        uint8_t b[4];
        hf_db_be32_put(b, FORMAT_VERSION);
        uint64_t node = 0;
        do { /* 0 reads as "no node": draw again */
            if ((rc = hf_rand_bytes(&node, sizeof node)))
                goto fail;
        } while (node == 0);
        if ((rc = hf_db_put(txn, m->db.sys, HF_SYS_FORMAT, strlen(HF_SYS_FORMAT), b, 4)) ||
            (rc = sys_put_u64(txn, m, HF_SYS_NODE, node)) || (rc = sys_put_u64(txn, m, HF_SYS_HLC, 0)))
            goto fail;
        hf_log_info("msg=\"metadata store created\" node=%016llx", (unsigned long long)node);
    } else if (rc) {
        goto fail;
    } else {
        if (v.mv_size != 4) {
            rc = HF_E_CORRUPT;
            goto fail;
        }
        uint32_t fmt = hf_db_be32_get(v.mv_data);
        if (fmt > FORMAT_VERSION) {
            hf_log_error("msg=\"metadata from a newer format\" format=%u known=%d", fmt, FORMAT_VERSION);
            rc = HF_E_VERSION;
            goto fail;
        }
        if (fmt == 0) {
            rc = HF_E_CORRUPT;
            goto fail;
        }
        if (fmt < FORMAT_VERSION) {
            uint8_t b[4];
            hf_db_be32_put(b, FORMAT_VERSION);
            if ((rc = hf_db_put(txn, m->db.sys, HF_SYS_FORMAT, strlen(HF_SYS_FORMAT), b, 4)))
                goto fail;
            hf_log_info("msg=\"metadata store upgraded\" from=%u to=%d", fmt, FORMAT_VERSION);
        }
    }
    bool found;
    if ((rc = sys_get_u64(txn, m, HF_SYS_NODE, &m->node_id, &found)))
        goto fail;
    if (!found) {
        rc = HF_E_CORRUPT;
        goto fail;
    }
    *hlc_mark = 0;
    if ((rc = sys_get_u64(txn, m, HF_SYS_HLC, hlc_mark, &found)))
        goto fail;
    rc = mdb_txn_commit(txn);
    return rc ? hf_db_err(rc, "txn_commit") : HF_OK;
fail:
    mdb_txn_abort(txn);
    return rc;
}

int hf_meta_open(const char *dir, const hf_meta_config_t *cfg, hf_meta_t **out)
{
    char path[PATH_MAX];
    int n = snprintf(path, sizeof path, "%s/meta", dir);
    if (n < 0 || (size_t)n >= sizeof path)
        return -ENAMETOOLONG;
    if (mkdir(path, 0700) != 0 && errno != EEXIST)
        return -errno;
    hf_meta_t *m = calloc(1, sizeof *m);
    if (!m)
        return -ENOMEM;
    if (cfg)
        m->cfg = *cfg;
    uint64_t map = m->cfg.map_size ? m->cfg.map_size : HF_META_MAP_SIZE_DEFAULT;
    hf_buf_init(&m->scratch, HF_META_SCRATCH_MAX);
    hf_arena_init(&m->warena, HF_META_SCRATCH_MAX);
    int rc = hf_db_open(&m->db, path, map);
    if (rc)
        goto fail_free;
    uint64_t mark = 0;
    if ((rc = init_sys(m, &mark)))
        goto fail_db;
    m->hlc_persisted = mark;
    uint64_t wall = (uint64_t)(hf_time_now() / 1000000) << 16;
    atomic_init(&m->hlc, mark + HLC_MARGIN > wall ? mark + HLC_MARGIN : wall);

    hf_writer_cfg_t wc = {
        .env = m->db.env,
        .ctx = m,
        .pre_commit = pre_commit,
        .referenced = blob_referenced,
        .on_release = m->cfg.on_release,
        .release_ctx = m->cfg.release_ctx,
    };
    if ((rc = hf_writer_start(&wc, &m->w)))
        goto fail_db;
    *out = m;
    return HF_OK;
fail_db:
    hf_db_close(&m->db);
fail_free:
    hf_buf_free(&m->scratch);
    hf_arena_free(&m->warena);
    free(m);
    return rc;
}

void hf_meta_close(hf_meta_t *m)
{
    if (!m)
        return;
    int failed = hf_writer_stop(m->w);
    /* Values issued since the last commit: record them too, so a clean
     * restart does not depend on the margin. Not after a failed commit:
     * the store must be reopened (and recovered by LMDB) first. */
    if (!failed) {
        uint64_t h = atomic_load(&m->hlc);
        MDB_txn *txn;
        if (h > m->hlc_persisted && mdb_txn_begin(m->db.env, NULL, 0, &txn) == MDB_SUCCESS) {
            int rc = sys_put_u64(txn, m, HF_SYS_HLC, h);
            if (rc == HF_OK)
                rc = hf_db_err(mdb_txn_commit(txn), "txn_commit");
            else
                mdb_txn_abort(txn);
            if (rc)
                hf_log_warn("msg=\"clock mark not saved at close; the restart margin covers it\" err=%d", rc);
        }
    }
    hf_db_close(&m->db);
    hf_buf_free(&m->scratch);
    hf_arena_free(&m->warena);
    free(m);
}

uint64_t hf_meta_node_id(const hf_meta_t *m)
{
    return m->node_id;
}

/* ---- server-side encryption key fingerprints ------------------------------ */

int hf_meta_sse_keys_get(hf_meta_t *m, uint8_t *out, size_t cap, size_t *len)
{
    *len = 0;
    MDB_txn *txn;
    int rc = hf_db_rbegin(&m->db, &txn);
    if (rc)
        return rc;
    MDB_val v;
    rc = hf_db_get(txn, m->db.sys, HF_SYS_SSE_KEYS, strlen(HF_SYS_SSE_KEYS), &v);
    if (rc == HF_OK) {
        *len = v.mv_size;
        if (v.mv_size > cap)
            rc = HF_E_TOOBIG;
        else
            memcpy(out, v.mv_data, v.mv_size);
    }
    hf_db_rend(&m->db, txn);
    return rc;
}

typedef struct sse_keys_op {
    const uint8_t *p;
    size_t len;
} sse_keys_op_t;

static int sse_keys_tx(void *ctx, MDB_txn *txn, void *arg)
{
    hf_meta_t *m = ctx;
    sse_keys_op_t *op = arg;
    return hf_db_put(txn, m->db.sys, HF_SYS_SSE_KEYS, strlen(HF_SYS_SSE_KEYS), op->p, op->len);
}

int hf_meta_sse_keys_put(hf_meta_t *m, const uint8_t *p, size_t len)
{
    if (len == 0 || !p)
        return HF_E_INVAL;
    if (len > HF_META_SSE_KEYS_MAX)
        return HF_E_TOOBIG;
    sse_keys_op_t op = {p, len};
    return hf_meta_write(m, sse_keys_tx, &op);
}

/* Hybrid logical clock: wall-clock milliseconds << 16 plus a counter, never
 * below a value already drawn or seen. */
uint64_t hf_meta_hlc_after(hf_meta_t *m, uint64_t seen)
{
    uint64_t wall = (uint64_t)(hf_time_now() / 1000000) << 16;
    uint64_t cur = atomic_load(&m->hlc);
    for (;;) {
        uint64_t next = cur + 1 > wall ? cur + 1 : wall;
        if (next <= seen)
            next = seen + 1;
        if (atomic_compare_exchange_weak(&m->hlc, &cur, next))
            return next;
    }
}

uint64_t hf_meta_hlc_next(hf_meta_t *m)
{
    return hf_meta_hlc_after(m, 0);
}

bool hf_meta_failed(const hf_meta_t *m, int *err)
{
    return hf_writer_failed(m->w, err);
}

void hf_meta_stats(hf_meta_t *m, hf_meta_stats_t *out)
{
    memset(out, 0, sizeof *out);
    hf_writer_stats(m->w, out);
}

/* ---- users ------------------------------------------------------------------- */

/* strlen bounded by the field size: -1 if s is not terminated within it. */
static long field_len(const char *s, size_t size)
{
    size_t n = strnlen(s, size);
    return n == size ? -1 : (long)n;
}

typedef struct user_op {
    hf_meta_t *m;
    hf_user_t u; /* in: name, keys, flags, canonical id, created; out: id */
} user_op_t;

static int user_create_tx(void *ctx, MDB_txn *txn, void *arg)
{
    hf_meta_t *m = ctx;
    user_op_t *op = arg;
    hf_user_t *u = &op->u;
    size_t nl = strlen(u->name), kl = strlen(u->access_key);
    MDB_val v;
    int rc = hf_db_get(txn, m->db.users, u->name, nl, &v);
    if (rc != HF_E_NOTFOUND)
        return rc ? rc : HF_E_EXISTS;
    if ((rc = hf_meta_tx_key_free(m, txn, u->access_key)))
        return rc;
    if ((rc = hf_meta_tx_counter(m, txn, HF_SYS_NEXT_USER, &u->id)))
        return rc;
    uint8_t idk[8];
    hf_db_be64_put(idk, u->id);
    if ((rc = hf_meta_tx_user_write(m, txn, u)) ||
        (rc = hf_db_put(txn, m->db.keys, u->access_key, kl, u->name, nl)) ||
        (rc = hf_db_put(txn, m->db.userids, idk, 8, u->name, nl)))
        return rc;
    return HF_OK;
}

int hf_meta_tx_user_write(hf_meta_t *m, MDB_txn *txn, const hf_user_t *u)
{
    hf_buf_t b;
    hf_buf_init(&b, 2048);
    int rc = hf_rec_user_encode(&b, u);
    if (rc == HF_OK)
        rc = hf_db_put(txn, m->db.users, u->name, strlen(u->name), b.data, b.len);
    hf_buf_free(&b);
    return rc;
}

int hf_meta_user_key_index(const hf_user_t *u, const char *access_key)
{
    if (strcmp(u->access_key, access_key) == 0)
        return 0;
    for (uint32_t i = 0; i < u->nretiring; i++)
        if (strcmp(u->retiring[i].access_key, access_key) == 0)
            return (int)i + 1;
    return -1;
}

/* A keys row whose user is gone, or does not list the key, was left by a
 * build that deleted a user without knowing its retiring keys: it names
 * nothing and may be reused. */
int hf_meta_tx_key_free(hf_meta_t *m, MDB_txn *txn, const char *access_key)
{
    MDB_val v;
    int rc = hf_db_get(txn, m->db.keys, access_key, strlen(access_key), &v);
    if (rc == HF_E_NOTFOUND)
        return HF_OK;
    if (rc)
        return rc;
    hf_user_t holder;
    rc = hf_meta_tx_user_read(m, txn, v.mv_data, v.mv_size, &holder);
    if (rc == HF_E_NOTFOUND)
        return HF_OK;
    if (rc)
        return rc;
    return hf_meta_user_key_index(&holder, access_key) < 0 ? HF_OK : HF_E_EXISTS;
}

int hf_meta_user_create(hf_meta_t *m, hf_user_t *u)
{
    long nl = field_len(u->name, sizeof u->name);
    long kl = field_len(u->access_key, sizeof u->access_key);
    long sl = field_len(u->secret_key, sizeof u->secret_key);
    if (nl < 1 || kl < HF_ACCESS_KEY_MIN || sl < HF_SECRET_KEY_MIN)
        return HF_E_INVAL;
    if ((u->flags & ~(uint32_t)(HF_USER_ROOT | HF_USER_RESTRICTIONS)) ||
        ((u->flags & HF_USER_ROOT) && (u->flags & HF_USER_RESTRICTIONS)))
        return HF_E_INVAL;
    user_op_t op = {.m = m, .u = *u};
    op.u.nretiring = 0;
    uint8_t cid[32];
    int rc = hf_rand_bytes(cid, sizeof cid);
    if (rc)
        return rc;
    hf_hex_encode(op.u.canonical_id, cid, sizeof cid);
    op.u.created = hf_time_now();
    op.u.key_created = op.u.created;
    rc = hf_meta_write(m, user_create_tx, &op);
    if (rc == HF_OK) {
        u->id = op.u.id;
        u->created = op.u.created;
        u->key_created = op.u.key_created;
        u->nretiring = 0;
        memcpy(u->canonical_id, op.u.canonical_id, sizeof u->canonical_id);
    }
    return rc;
}

int hf_meta_tx_user_read(hf_meta_t *m, MDB_txn *txn, const char *name, size_t nl, hf_user_t *out)
{
    if (nl < 1 || nl > HF_USER_NAME_MAX)
        return HF_E_NOTFOUND;
    MDB_val v;
    int rc = hf_db_get(txn, m->db.users, name, nl, &v);
    if (rc)
        return rc;
    memset(out, 0, sizeof *out);
    if ((rc = hf_rec_user_decode(v.mv_data, v.mv_size, out))) {
        hf_log_error("msg=\"%s\" user=%.*s err=%d",
                     rc == HF_E_VERSION ? "user record from a newer format" : "user record damaged",
                     (int)nl, name, rc);
        return rc;
    }
    memcpy(out->name, name, nl);
    out->name[nl] = '\0';
    return HF_OK;
}

int hf_meta_user_get(hf_meta_t *m, const char *name, hf_user_t *out)
{
    size_t nl = strnlen(name, HF_USER_NAME_MAX + 1);
    MDB_txn *txn;
    int rc = hf_db_rbegin(&m->db, &txn);
    if (rc)
        return rc;
    rc = hf_meta_tx_user_read(m, txn, name, nl, out);
    hf_db_rend(&m->db, txn);
    return rc;
}

int hf_meta_user_by_key(hf_meta_t *m, const char *access_key, hf_user_t *out)
{
    size_t kl = strnlen(access_key, HF_ACCESS_KEY_MAX + 1);
    if (kl < 1 || kl > HF_ACCESS_KEY_MAX)
        return HF_E_NOTFOUND;
    MDB_txn *txn;
    int rc = hf_db_rbegin(&m->db, &txn);
    if (rc)
        return rc;
    MDB_val v;
    rc = hf_db_get(txn, m->db.keys, access_key, kl, &v);
    if (rc == HF_OK)
        rc = hf_meta_tx_user_read(m, txn, v.mv_data, v.mv_size, out);
    hf_db_rend(&m->db, txn);
    if (rc)
        return rc;
    int i = hf_meta_user_key_index(out, access_key);
    if (i == 0)
        return HF_OK;
    /* A retiring key works until its grace period ends; a row the user
     * does not list (left by an older build) names nothing. */
    if (i < 0 || out->retiring[i - 1].expires <= hf_time_now())
        return HF_E_NOTFOUND;
    memcpy(out->access_key, out->retiring[i - 1].access_key, sizeof out->access_key);
    memcpy(out->secret_key, out->retiring[i - 1].secret_key, sizeof out->secret_key);
    return HF_OK;
}

int hf_meta_user_by_id(hf_meta_t *m, uint64_t id, hf_user_t *out)
{
    MDB_txn *txn;
    int rc = hf_db_rbegin(&m->db, &txn);
    if (rc)
        return rc;
    uint8_t k[8];
    hf_db_be64_put(k, id);
    MDB_val v;
    rc = hf_db_get(txn, m->db.userids, k, 8, &v);
    if (rc == HF_OK)
        rc = hf_meta_tx_user_read(m, txn, v.mv_data, v.mv_size, out);
    hf_db_rend(&m->db, txn);
    return rc;
}

int hf_meta_user_list(hf_meta_t *m, hf_arena_t *a, hf_user_t **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    MDB_txn *txn;
    MDB_cursor *c = NULL;
    int rc = hf_db_rbegin(&m->db, &txn);
    if (rc)
        return rc;
    MDB_stat st;
    if ((rc = mdb_stat(txn, m->db.users, &st)) || (rc = mdb_cursor_open(txn, m->db.users, &c))) {
        rc = hf_db_err(rc, "user_list");
        goto out;
    }
    hf_user_t *arr = st.ms_entries ? hf_arena_alloc(a, st.ms_entries * sizeof *arr) : NULL;
    if (st.ms_entries && !arr) {
        rc = -ENOMEM;
        goto out;
    }
    size_t i = 0;
    MDB_val k, v;
    int mrc = mdb_cursor_get(c, &k, &v, MDB_FIRST);
    while (mrc == MDB_SUCCESS && i < st.ms_entries) {
        if ((rc = hf_meta_tx_user_read(m, txn, k.mv_data, k.mv_size, &arr[i])))
            goto out;
        i++;
        mrc = mdb_cursor_get(c, &k, &v, MDB_NEXT);
    }
    if (mrc != MDB_SUCCESS && mrc != MDB_NOTFOUND) {
        rc = hf_db_err(mrc, "user_list");
        goto out;
    }
    *out = arr;
    *n = i;
    rc = HF_OK;
out:
    if (c)
        mdb_cursor_close(c);
    hf_db_rend(&m->db, txn);
    return rc;
}

/* Does any bucket belong to owner? Buckets are few (bounded per user). */
static int owns_buckets(hf_meta_t *m, MDB_txn *txn, uint64_t owner, size_t *count, size_t stop_at)
{
    MDB_cursor *c;
    int rc = mdb_cursor_open(txn, m->db.buckets, &c);
    if (rc)
        return hf_db_err(rc, "cursor_open");
    size_t cnt = 0;
    MDB_val k, v;
    rc = mdb_cursor_get(c, &k, &v, MDB_FIRST);
    while (rc == MDB_SUCCESS && cnt < stop_at) {
        hf_bucket_t b;
        int drc = hf_rec_bucket_decode(v.mv_data, v.mv_size, &b);
        if (drc) {
            mdb_cursor_close(c);
            return drc;
        }
        if (b.owner == owner)
            cnt++;
        rc = mdb_cursor_get(c, &k, &v, MDB_NEXT);
    }
    mdb_cursor_close(c);
    if (rc != MDB_SUCCESS && rc != MDB_NOTFOUND)
        return hf_db_err(rc, "cursor_get");
    *count = cnt;
    return HF_OK;
}

typedef struct name_op {
    const char *name;
    size_t len;
} name_op_t;

static int user_delete_tx(void *ctx, MDB_txn *txn, void *arg)
{
    hf_meta_t *m = ctx;
    name_op_t *op = arg;
    hf_user_t u;
    int rc = hf_meta_tx_user_read(m, txn, op->name, op->len, &u);
    if (rc)
        return rc;
    if (u.flags & HF_USER_ROOT)
        return HF_E_CONFLICT;
    size_t nb = 0;
    if ((rc = owns_buckets(m, txn, u.id, &nb, 1)))
        return rc;
    if (nb)
        return HF_E_CONFLICT;
    uint8_t idk[8];
    hf_db_be64_put(idk, u.id);
    if ((rc = hf_db_del(txn, m->db.users, op->name, op->len)) ||
        (rc = hf_db_del(txn, m->db.keys, u.access_key, strlen(u.access_key))) ||
        (rc = hf_db_del(txn, m->db.userids, idk, 8)))
        return rc == HF_E_NOTFOUND ? HF_E_CORRUPT : rc;
    for (uint32_t i = 0; i < u.nretiring; i++)
        if ((rc = hf_meta_tx_key_drop(m, txn, u.retiring[i].access_key)))
            return rc;
    return HF_OK;
}

int hf_meta_user_delete(hf_meta_t *m, const char *name)
{
    name_op_t op = {name, strnlen(name, HF_USER_NAME_MAX + 1)};
    if (op.len < 1 || op.len > HF_USER_NAME_MAX)
        return HF_E_NOTFOUND;
    return hf_meta_write(m, user_delete_tx, &op);
}

/* ---- buckets ----------------------------------------------------------------- */

int hf_meta_tx_bucket_check(hf_meta_t *m, MDB_txn *txn, const hf_bucket_t *b)
{
    uint32_t flags;
    return hf_meta_tx_bucket_flags(m, txn, b, &flags);
}

int hf_meta_tx_bucket_flags(hf_meta_t *m, MDB_txn *txn, const hf_bucket_t *b, uint32_t *flags)
{
    size_t nl = strnlen(b->name, sizeof b->name);
    if (nl < HF_BUCKET_NAME_MIN || nl > HF_BUCKET_NAME_MAX)
        return HF_E_NOTFOUND;
    MDB_val v;
    int rc = hf_db_get(txn, m->db.buckets, b->name, nl, &v);
    if (rc)
        return rc;
    hf_bucket_t cur;
    if ((rc = hf_rec_bucket_decode(v.mv_data, v.mv_size, &cur)))
        return rc;
    *flags = cur.flags;
    return cur.id == b->id ? HF_OK : HF_E_NOTFOUND;
}

typedef struct bucket_op {
    hf_bucket_t b; /* in: name, owner, region, flags, created; out: id, or owner on EXISTS */
} bucket_op_t;

static int bucket_create_tx(void *ctx, MDB_txn *txn, void *arg)
{
    hf_meta_t *m = ctx;
    bucket_op_t *op = arg;
    size_t nl = strlen(op->b.name);
    MDB_val v;
    int rc = hf_db_get(txn, m->db.buckets, op->b.name, nl, &v);
    if (rc == HF_OK) {
        hf_bucket_t cur;
        if ((rc = hf_rec_bucket_decode(v.mv_data, v.mv_size, &cur)))
            return rc;
        op->b.owner = cur.owner;
        return HF_E_EXISTS;
    }
    if (rc != HF_E_NOTFOUND)
        return rc;
    /* The owner must exist, so user_delete's "owns no bucket" check can
     * be trusted; both run in the writer, so no bucket slips in between. */
    uint8_t idk[8];
    hf_db_be64_put(idk, op->b.owner);
    if ((rc = hf_db_get(txn, m->db.userids, idk, 8, &v)))
        return rc;
    size_t cnt = 0;
    if ((rc = owns_buckets(m, txn, op->b.owner, &cnt, HF_BUCKETS_PER_USER_MAX)))
        return rc;
    if (cnt >= HF_BUCKETS_PER_USER_MAX)
        return HF_E_TOOBIG;
    if ((rc = hf_meta_tx_counter(m, txn, HF_SYS_NEXT_BUCKET, &op->b.id)))
        return rc;
    hf_buf_t b;
    hf_buf_init(&b, 256);
    if (!(rc = hf_rec_bucket_encode(&b, &op->b)))
        rc = hf_db_put(txn, m->db.buckets, op->b.name, nl, b.data, b.len);
    hf_buf_free(&b);
    return rc;
}

int hf_meta_bucket_create(hf_meta_t *m, hf_bucket_t *b)
{
    long nl = field_len(b->name, sizeof b->name);
    long rl = field_len(b->region, sizeof b->region);
    if (nl < HF_BUCKET_NAME_MIN || rl < 0)
        return HF_E_INVAL;
    bucket_op_t op = {.b = *b};
    op.b.created = hf_time_now();
    int rc = hf_meta_write(m, bucket_create_tx, &op);
    if (rc == HF_OK) {
        b->id = op.b.id;
        b->created = op.b.created;
    } else if (rc == HF_E_EXISTS) {
        b->owner = op.b.owner;
    }
    return rc;
}

int hf_meta_bucket_get(hf_meta_t *m, const char *name, hf_bucket_t *out)
{
    size_t nl = strnlen(name, HF_BUCKET_NAME_MAX + 1);
    if (nl < HF_BUCKET_NAME_MIN || nl > HF_BUCKET_NAME_MAX)
        return HF_E_NOTFOUND;
    MDB_txn *txn;
    int rc = hf_db_rbegin(&m->db, &txn);
    if (rc)
        return rc;
    MDB_val v;
    rc = hf_db_get(txn, m->db.buckets, name, nl, &v);
    if (rc == HF_OK) {
        memset(out, 0, sizeof *out);
        rc = hf_rec_bucket_decode(v.mv_data, v.mv_size, out);
        memcpy(out->name, name, nl);
        out->name[nl] = '\0';
    }
    hf_db_rend(&m->db, txn);
    return rc;
}

static void cfg_key(uint8_t out[9], uint64_t bucket, int kind)
{
    hf_db_be64_put(out, bucket);
    out[8] = (uint8_t)kind;
}

static int bucket_delete_tx(void *ctx, MDB_txn *txn, void *arg)
{
    hf_meta_t *m = ctx;
    const hf_bucket_t *b = arg;
    int rc = hf_meta_tx_bucket_check(m, txn, b);
    if (rc)
        return rc;
    uint8_t pfx[8];
    hf_db_be64_put(pfx, b->id);
    MDB_cursor *c;
    if ((rc = mdb_cursor_open(txn, m->db.objects, &c)))
        return hf_db_err(rc, "cursor_open");
    MDB_val k = {8, pfx}, v;
    rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
    bool nonempty = rc == MDB_SUCCESS && k.mv_size >= 8 && memcmp(k.mv_data, pfx, 8) == 0;
    mdb_cursor_close(c);
    if (rc != MDB_SUCCESS && rc != MDB_NOTFOUND)
        return hf_db_err(rc, "cursor_get");
    if (nonempty)
        return HF_E_CONFLICT;
    /* Abort the uploads in progress: drop their parts, then the upload.
     * Seek afresh each time: the deletes invalidate what a cursor saw. */
    if ((rc = mdb_cursor_open(txn, m->db.uploads, &c)))
        return hf_db_err(rc, "cursor_open");
    for (;;) {
        k.mv_data = pfx;
        k.mv_size = 8;
        rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
        if (rc == MDB_NOTFOUND || (rc == MDB_SUCCESS && (k.mv_size < 8 + 16 || memcmp(k.mv_data, pfx, 8) != 0))) {
            rc = HF_OK;
            break;
        }
        if (rc) {
            rc = hf_db_err(rc, "cursor_get");
            break;
        }
        uint8_t tk[HF_KS_UPLOAD_KEY_MAX];
        size_t tn = k.mv_size < sizeof tk ? k.mv_size : sizeof tk;
        memcpy(tk, k.mv_data, tn);
        if ((rc = hf_meta_tx_parts_drop(m, txn, tk + tn - 16)) || (rc = hf_db_del(txn, m->db.uploads, tk, tn)))
            break;
    }
    mdb_cursor_close(c);
    if (rc)
        return rc;
    /* Its settings go with it (a new bucket of the same name gets a new id
     * anyway, so nothing could read them again). */
    if ((rc = mdb_cursor_open(txn, m->db.bucketcfg, &c)))
        return hf_db_err(rc, "cursor_open");
    for (;;) {
        k.mv_data = pfx;
        k.mv_size = 8;
        rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
        if (rc == MDB_NOTFOUND || (rc == MDB_SUCCESS && (k.mv_size != 9 || memcmp(k.mv_data, pfx, 8) != 0))) {
            rc = HF_OK;
            break;
        }
        if (rc || (rc = mdb_cursor_del(c, 0))) {
            rc = hf_db_err(rc, "bucketcfg_del");
            break;
        }
    }
    mdb_cursor_close(c);
    if (rc)
        return rc;
    return hf_db_del(txn, m->db.buckets, b->name, strlen(b->name));
}

int hf_meta_bucket_delete(hf_meta_t *m, const hf_bucket_t *b)
{
    long nl = field_len(b->name, sizeof b->name);
    if (nl < HF_BUCKET_NAME_MIN || nl > HF_BUCKET_NAME_MAX)
        return HF_E_NOTFOUND;
    hf_bucket_t copy = *b;
    return hf_meta_write(m, bucket_delete_tx, &copy);
}

int hf_meta_bucket_list(hf_meta_t *m, uint64_t owner, hf_arena_t *a, hf_bucket_t **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    MDB_txn *txn;
    MDB_cursor *c = NULL;
    int rc = hf_db_rbegin(&m->db, &txn);
    if (rc)
        return rc;
    MDB_stat st;
    if ((rc = mdb_stat(txn, m->db.buckets, &st)) || (rc = mdb_cursor_open(txn, m->db.buckets, &c))) {
        rc = hf_db_err(rc, "bucket_list");
        goto out;
    }
    /* Sized for every bucket; an owner's subset fits. */
    hf_bucket_t *arr = st.ms_entries ? hf_arena_alloc(a, st.ms_entries * sizeof *arr) : NULL;
    if (st.ms_entries && !arr) {
        rc = -ENOMEM;
        goto out;
    }
    size_t i = 0;
    MDB_val k, v;
    int mrc = mdb_cursor_get(c, &k, &v, MDB_FIRST);
    while (mrc == MDB_SUCCESS && i < st.ms_entries) {
        hf_bucket_t *b = &arr[i];
        memset(b, 0, sizeof *b);
        if (k.mv_size > HF_BUCKET_NAME_MAX) {
            rc = HF_E_CORRUPT;
            goto out;
        }
        if ((rc = hf_rec_bucket_decode(v.mv_data, v.mv_size, b)))
            goto out;
        memcpy(b->name, k.mv_data, k.mv_size);
        b->name[k.mv_size] = '\0';
        if (owner == 0 || b->owner == owner)
            i++;
        mrc = mdb_cursor_get(c, &k, &v, MDB_NEXT);
    }
    if (mrc != MDB_SUCCESS && mrc != MDB_NOTFOUND) {
        rc = hf_db_err(mrc, "bucket_list");
        goto out;
    }
    *out = arr;
    *n = i;
    rc = HF_OK;
out:
    if (c)
        mdb_cursor_close(c);
    hf_db_rend(&m->db, txn);
    return rc;
}

/* ---- bucket settings ----------------------------------------------------------- */

/* Change a bucket's flags: set/clear, refused (HF_E_CONFLICT) when any of
 * forbid is set or any of need is missing. */
typedef struct flags_op {
    hf_bucket_t *b;
    uint32_t set, clear, forbid, need;
    int kind;          /* not 0: also set (len > 0) or remove this setting */
    const void *data;
    size_t len;
} flags_op_t;

static int cfg_write(hf_meta_t *m, MDB_txn *txn, uint64_t bucket_id, int kind, const void *data,
                     size_t len);

static int flags_tx(void *ctx, MDB_txn *txn, void *arg)
{
    hf_meta_t *m = ctx;
    flags_op_t *op = arg;
    size_t nl = strnlen(op->b->name, sizeof op->b->name);
    MDB_val v;
    int rc = hf_db_get(txn, m->db.buckets, op->b->name, nl, &v);
    if (rc)
        return rc;
    hf_bucket_t cur;
    if ((rc = hf_rec_bucket_decode(v.mv_data, v.mv_size, &cur)))
        return rc;
    if (cur.id != op->b->id)
        return HF_E_NOTFOUND;
    if ((cur.flags & op->forbid) || (cur.flags & op->need) != op->need)
        return HF_E_CONFLICT;
    cur.flags = (cur.flags & ~op->clear) | op->set;
    hf_buf_t b;
    hf_buf_init(&b, 256);
    if (!(rc = hf_rec_bucket_encode(&b, &cur)))
        rc = hf_db_put(txn, m->db.buckets, op->b->name, nl, b.data, b.len);
    hf_buf_free(&b);
    if (rc == HF_OK && op->kind)
        rc = cfg_write(m, txn, cur.id, op->kind, op->data, op->len);
    if (rc == HF_OK)
        op->b->flags = cur.flags;
    return rc;
}

int hf_meta_bucket_update(hf_meta_t *m, hf_bucket_t *b, uint32_t clear, uint32_t set,
                          enum hf_bucket_cfg kind, const void *data, size_t len)
{
    if (len > HF_BUCKET_CFG_MAX)
        return HF_E_TOOBIG;
    if ((int)kind < 0 || (int)kind > 255 || (len && !data))
        return HF_E_INVAL;
    flags_op_t op = {.b = b, .set = set, .clear = clear, .kind = (int)kind, .data = data, .len = len};
    return hf_meta_write(m, flags_tx, &op);
}

int hf_meta_bucket_versioning(hf_meta_t *m, hf_bucket_t *b, bool enable)
{
    flags_op_t op = {.b = b, .clear = HF_BUCKET_VERSIONING | HF_BUCKET_SUSPENDED,
                     .set = enable ? HF_BUCKET_VERSIONING : HF_BUCKET_SUSPENDED,
                     .forbid = enable ? 0 : HF_BUCKET_OBJECT_LOCK};
    return hf_meta_write(m, flags_tx, &op);
}

int hf_meta_bucket_object_lock(hf_meta_t *m, hf_bucket_t *b)
{
    flags_op_t op = {.b = b, .set = HF_BUCKET_OBJECT_LOCK, .need = HF_BUCKET_VERSIONING};
    return hf_meta_write(m, flags_tx, &op);
}

int hf_meta_bucket_cfg_get(hf_meta_t *m, uint64_t bucket_id, enum hf_bucket_cfg kind,
                           hf_arena_t *a, const uint8_t **data, size_t *len)
{
    *data = NULL;
    *len = 0;
    uint8_t k[9];
    cfg_key(k, bucket_id, kind);
    MDB_txn *txn;
    int rc = hf_db_rbegin(&m->db, &txn);
    if (rc)
        return rc;
    MDB_val v;
    if ((rc = hf_db_get(txn, m->db.bucketcfg, k, sizeof k, &v)) == HF_OK) {
        uint8_t *copy = hf_arena_alloc(a, v.mv_size ? v.mv_size : 1);
        if (!copy) {
            rc = -ENOMEM;
        } else {
            memcpy(copy, v.mv_data, v.mv_size);
            *data = copy;
            *len = v.mv_size;
        }
    }
    hf_db_rend(&m->db, txn);
    return rc;
}

typedef struct cfg_op {
    const hf_bucket_t *b;
    int kind;
    const void *data;
    size_t len;
} cfg_op_t;

static int cfg_put_tx(void *ctx, MDB_txn *txn, void *arg)
{
    hf_meta_t *m = ctx;
    cfg_op_t *op = arg;
    int rc = hf_meta_tx_bucket_check(m, txn, op->b);
    if (rc)
        return rc;
    return cfg_write(m, txn, op->b->id, op->kind, op->data, op->len);
}

static int cfg_write(hf_meta_t *m, MDB_txn *txn, uint64_t bucket_id, int kind, const void *data,
                     size_t len)
{
    uint8_t k[9];
    cfg_key(k, bucket_id, kind);
    if (len == 0) {
        int rc = hf_db_del(txn, m->db.bucketcfg, k, sizeof k);
        return rc == HF_E_NOTFOUND ? HF_OK : rc;
    }
    return hf_db_put(txn, m->db.bucketcfg, k, sizeof k, data, len);
}

int hf_meta_bucket_cfg_put(hf_meta_t *m, const hf_bucket_t *b, enum hf_bucket_cfg kind,
                           const void *data, size_t len)
{
    if (len > HF_BUCKET_CFG_MAX)
        return HF_E_TOOBIG;
    if ((int)kind < 1 || (int)kind > 255 || (len && !data))
        return HF_E_INVAL;
    cfg_op_t op = {b, (int)kind, data, len};
    return hf_meta_write(m, cfg_put_tx, &op);
}
