/*
 * cache.c -- writing users and buckets exactly as another store holds
 * them (ids, keys, times included): in a cluster, etcd holds users, keys
 * and buckets (cluster/catalog.h) and a node's metadata is their cache.
 * See meta.h, "the cluster's cache".
 *
 * A cache write never refuses for a reason the source of truth already
 * decided (a user who owns buckets being deleted, a key another cached
 * user still lists): the source ordered those changes, and the cache
 * follows the order it is given. Rows the write makes stale (the keys of
 * a user's previous record, a user that held the id before) are removed
 * in the same transaction, so lookups never find a key that the source
 * no longer has.
 */
#include "meta/internal.h"
#include "meta/record.h"

#include "base/err.h"
#include "base/log.h"

#include <string.h>

/* Drop every keys row of u and its userids row. */
static int drop_user_rows(hf_meta_t *m, MDB_txn *txn, const hf_user_t *u)
{
    int rc = hf_meta_tx_key_drop(m, txn, u->access_key);
    for (uint32_t i = 0; rc == HF_OK && i < u->nretiring; i++)
        rc = hf_meta_tx_key_drop(m, txn, u->retiring[i].access_key);
    if (rc)
        return rc;
    uint8_t idk[8];
    hf_db_be64_put(idk, u->id);
    rc = hf_db_del(txn, m->db.userids, idk, 8);
    return rc == HF_E_NOTFOUND ? HF_OK : rc;
}

static int user_put_tx(void *ctx, MDB_txn *txn, void *arg)
{
    hf_meta_t *m = ctx;
    const hf_user_t *u = arg;
    size_t nl = strlen(u->name);
    hf_user_t old;
    int rc = hf_meta_tx_user_read(m, txn, u->name, nl, &old);
    if (rc == HF_OK)
        rc = drop_user_rows(m, txn, &old);
    else if (rc == HF_E_NOTFOUND)
        rc = HF_OK;
    if (rc)
        return rc;
    /* A user cached under another name with this id was renamed or
     * replaced at the source: it goes. */
    uint8_t idk[8];
    hf_db_be64_put(idk, u->id);
    MDB_val v;
    rc = hf_db_get(txn, m->db.userids, idk, 8, &v);
    if (rc == HF_OK && (v.mv_size != nl || memcmp(v.mv_data, u->name, nl) != 0)) {
        hf_user_t other;
        if (hf_meta_tx_user_read(m, txn, v.mv_data, v.mv_size, &other) == HF_OK) {
            if ((rc = drop_user_rows(m, txn, &other)) ||
                (rc = hf_db_del(txn, m->db.users, other.name, strlen(other.name))))
                return rc;
        }
    } else if (rc != HF_OK && rc != HF_E_NOTFOUND) {
        return rc;
    }
    if ((rc = hf_meta_tx_user_write(m, txn, u)) ||
        (rc = hf_db_put(txn, m->db.userids, idk, 8, u->name, nl)) ||
        (rc = hf_db_put(txn, m->db.keys, u->access_key, strlen(u->access_key), u->name, nl)))
        return rc;
    for (uint32_t i = 0; i < u->nretiring; i++)
        if ((rc = hf_db_put(txn, m->db.keys, u->retiring[i].access_key,
                            strlen(u->retiring[i].access_key), u->name, nl)))
            return rc;
    return HF_OK;
}

int hf_meta_user_put(hf_meta_t *m, const hf_user_t *u)
{
    size_t nl = strnlen(u->name, sizeof u->name);
    size_t kl = strnlen(u->access_key, sizeof u->access_key);
    if (nl < 1 || nl > HF_USER_NAME_MAX || kl < HF_ACCESS_KEY_MIN || kl > HF_ACCESS_KEY_MAX ||
        u->id == 0 || u->nretiring > HF_USER_RETIRING_MAX ||
        (u->flags & ~(uint32_t)(HF_USER_ROOT | HF_USER_RESTRICTIONS)))
        return HF_E_INVAL;
    return hf_meta_write(m, user_put_tx, (void *)u);
}

typedef struct forget_op {
    const char *name;
    size_t len;
} forget_op_t;

static int user_forget_tx(void *ctx, MDB_txn *txn, void *arg)
{
    hf_meta_t *m = ctx;
    forget_op_t *op = arg;
    hf_user_t u;
    int rc = hf_meta_tx_user_read(m, txn, op->name, op->len, &u);
    if (rc)
        return rc;
    if ((rc = drop_user_rows(m, txn, &u)))
        return rc;
    return hf_db_del(txn, m->db.users, op->name, op->len);
}

int hf_meta_user_forget(hf_meta_t *m, const char *name)
{
    forget_op_t op = {name, strnlen(name, HF_USER_NAME_MAX + 1)};
    if (op.len < 1 || op.len > HF_USER_NAME_MAX)
        return HF_E_NOTFOUND;
    return hf_meta_write(m, user_forget_tx, &op);
}

static int bucket_put_tx(void *ctx, MDB_txn *txn, void *arg)
{
    hf_meta_t *m = ctx;
    const hf_bucket_t *b = arg;
    size_t nl = strlen(b->name);
    MDB_val v;
    int rc = hf_db_get(txn, m->db.buckets, b->name, nl, &v);
    if (rc == HF_OK) {
        hf_bucket_t cur;
        if ((rc = hf_rec_bucket_decode(v.mv_data, v.mv_size, &cur)))
            return rc;
        /* Another bucket of the same name, with objects of its own here:
         * the source deleted and re-created the name while this node
         * holds data of the old one. Keep it and say so. */
        if (cur.id != b->id) {
            uint8_t pfx[8];
            hf_db_be64_put(pfx, cur.id);
            MDB_cursor *c;
            if ((rc = mdb_cursor_open(txn, m->db.objects, &c)))
                return hf_db_err(rc, "cursor_open");
            MDB_val k = {8, pfx};
            int grc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
            bool nonempty = grc == MDB_SUCCESS && k.mv_size >= 8 && memcmp(k.mv_data, pfx, 8) == 0;
            mdb_cursor_close(c);
            if (nonempty)
                return HF_E_CONFLICT;
        }
    } else if (rc != HF_E_NOTFOUND) {
        return rc;
    }
    hf_buf_t rec;
    hf_buf_init(&rec, 256);
    if (!(rc = hf_rec_bucket_encode(&rec, b)))
        rc = hf_db_put(txn, m->db.buckets, b->name, nl, rec.data, rec.len);
    hf_buf_free(&rec);
    return rc;
}

int hf_meta_bucket_put(hf_meta_t *m, const hf_bucket_t *b)
{
    size_t nl = strnlen(b->name, sizeof b->name);
    if (nl < HF_BUCKET_NAME_MIN || nl > HF_BUCKET_NAME_MAX || b->id == 0 ||
        strnlen(b->region, sizeof b->region) == sizeof b->region)
        return HF_E_INVAL;
    int rc = hf_meta_write(m, bucket_put_tx, (void *)b);
    if (rc == HF_E_CONFLICT)
        hf_log_error("msg=\"bucket re-created in the cluster while this node holds objects of the "
                     "old one; the old one is kept here\" bucket=%s",
                     b->name);
    return rc;
}
