/*
 * db.c -- the LMDB environment: open, read transactions, error mapping.
 *
 * Owns: the MDB_env, the handles of the named databases, and a small pool
 * of reset read transactions.
 *
 * Approach. The environment is opened with MDB_NOTLS so that a read
 * transaction belongs to the transaction object, not to a thread: an
 * event-driven worker may begin a read on one thread and end it on another,
 * and the pool below can hand a reset transaction to any thread. Default
 * sync semantics (fsync at every commit) -- durability is what the group
 * commit buys cheaply, so it is not traded away here.
 *
 * Read transactions are reused: hf_db_rend resets a transaction
 * (mdb_txn_reset keeps its reader slot and allocation) and parks it in a
 * mutex-protected pool of HF_DB_POOL; hf_db_rbegin renews one from there.
 * This saves the malloc and the reader-table search of mdb_txn_begin on
 * every metadata read.
 *
 * Rejected: thread-local cached read transactions (the usual LMDB idiom).
 * They would have to be aborted before mdb_env_close from every thread
 * that ever read, which a library cannot arrange, and several hf_meta
 * instances in one process (tests, tools) would need per-thread maps.
 * A pool owned by the environment has neither problem; its mutex is held
 * for a few instructions.
 */
#include "meta/db.h"

#include "base/err.h"
#include "base/log.h"

#include <errno.h>
#include <string.h>

int hf_db_err(int rc, const char *what)
{
    switch (rc) {
    case MDB_SUCCESS: return HF_OK;
    case MDB_NOTFOUND: return HF_E_NOTFOUND;
    case MDB_KEYEXIST: return HF_E_EXISTS;
    case ENOMEM: return -ENOMEM;
    default: break;
    }
    char q[128];
    hf_log_quote(q, sizeof q, mdb_strerror(rc));
    if (rc == MDB_MAP_FULL || rc == ENOSPC || rc == EDQUOT || rc == EFBIG) {
        hf_log_warn("msg=\"metadata store full\" op=%s err=%s", what, q);
        return HF_E_NOSPACE;
    }
    hf_log_error("msg=\"metadata engine error\" op=%s rc=%d err=%s", what, rc, q);
    if (rc == MDB_CORRUPTED || rc == MDB_PAGE_NOTFOUND)
        return HF_E_CORRUPT;
    if (rc == MDB_VERSION_MISMATCH)
        return HF_E_VERSION;
    if (rc > 0 && rc < 4096)
        return -rc; /* a system call failed inside LMDB: pass errno through */
    return HF_E_META;
}

static const struct {
    const char *name;
    size_t off;
} dbs[] = {
    {"sys", offsetof(hf_db_t, sys)},         {"users", offsetof(hf_db_t, users)},
    {"keys", offsetof(hf_db_t, keys)},       {"userids", offsetof(hf_db_t, userids)},
    {"buckets", offsetof(hf_db_t, buckets)}, {"objects", offsetof(hf_db_t, objects)},
    {"uploads", offsetof(hf_db_t, uploads)}, {"parts", offsetof(hf_db_t, parts)},
    {"blobs", offsetof(hf_db_t, blobs)},     {"versions", offsetof(hf_db_t, versions)},
    {"bucketcfg", offsetof(hf_db_t, bucketcfg)}, {"done", offsetof(hf_db_t, done)},
};

int hf_db_open(hf_db_t *kv, const char *path, uint64_t map_size)
{
    memset(kv, 0, sizeof *kv);
    int rc = mdb_env_create(&kv->env);
    if (rc)
        return hf_db_err(rc, "env_create");
    MDB_txn *txn = NULL;
    if ((rc = mdb_env_set_maxdbs(kv->env, 16)) || (rc = mdb_env_set_maxreaders(kv->env, HF_DB_READERS)) ||
        (rc = mdb_env_set_mapsize(kv->env, (size_t)map_size))) {
        rc = hf_db_err(rc, "env_set");
        goto fail;
    }
    /* 0600: the users table holds secret keys. */
    rc = mdb_env_open(kv->env, path, MDB_NOTLS, 0600);
    if (rc) {
        rc = hf_db_err(rc, "env_open");
        goto fail;
    }
    /* Readers of a crashed process would otherwise pin old pages forever. */
    int dead = 0;
    mdb_reader_check(kv->env, &dead);
    if (dead)
        hf_log_info("msg=\"cleared stale metadata readers\" count=%d", dead);

    rc = mdb_txn_begin(kv->env, NULL, 0, &txn);
    if (rc) {
        rc = hf_db_err(rc, "txn_begin");
        goto fail;
    }
    for (size_t i = 0; i < sizeof dbs / sizeof dbs[0]; i++) {
        MDB_dbi *d = (MDB_dbi *)((char *)kv + dbs[i].off);
        rc = mdb_dbi_open(txn, dbs[i].name, MDB_CREATE, d);
        if (rc) {
            rc = hf_db_err(rc, "dbi_open");
            goto fail;
        }
    }
    rc = mdb_txn_commit(txn);
    txn = NULL;
    if (rc) {
        rc = hf_db_err(rc, "txn_commit");
        goto fail;
    }
    pthread_mutex_init(&kv->pool_mu, NULL);
    return HF_OK;
fail:
    if (txn)
        mdb_txn_abort(txn);
    mdb_env_close(kv->env);
    kv->env = NULL;
    return rc;
}

void hf_db_close(hf_db_t *kv)
{
    if (!kv->env)
        return;
    for (int i = 0; i < kv->npool; i++)
        mdb_txn_abort(kv->pool[i]);
    kv->npool = 0;
    pthread_mutex_destroy(&kv->pool_mu);
    mdb_env_close(kv->env);
    kv->env = NULL;
}

int hf_db_rbegin(hf_db_t *kv, MDB_txn **out)
{
    MDB_txn *t = NULL;
    pthread_mutex_lock(&kv->pool_mu);
    if (kv->npool > 0)
        t = kv->pool[--kv->npool];
    pthread_mutex_unlock(&kv->pool_mu);
    int rc;
    if (t) {
        rc = mdb_txn_renew(t);
        if (rc == MDB_SUCCESS) {
            *out = t;
            return HF_OK;
        }
        mdb_txn_abort(t);
    }
    rc = mdb_txn_begin(kv->env, NULL, MDB_RDONLY, &t);
    if (rc)
        return hf_db_err(rc, "txn_begin_ro");
    *out = t;
    return HF_OK;
}

void hf_db_rend(hf_db_t *kv, MDB_txn *txn)
{
    if (!txn)
        return;
    mdb_txn_reset(txn);
    pthread_mutex_lock(&kv->pool_mu);
    if (kv->npool < HF_DB_POOL) {
        kv->pool[kv->npool++] = txn;
        txn = NULL;
    }
    pthread_mutex_unlock(&kv->pool_mu);
    if (txn)
        mdb_txn_abort(txn);
}

int hf_db_get(MDB_txn *txn, MDB_dbi dbi, const void *k, size_t kn, MDB_val *v)
{
    MDB_val key = {kn, (void *)k};
    int rc = mdb_get(txn, dbi, &key, v);
    return rc == MDB_SUCCESS ? HF_OK : hf_db_err(rc, "get");
}

int hf_db_put(MDB_txn *txn, MDB_dbi dbi, const void *k, size_t kn, const void *v, size_t vn)
{
    MDB_val key = {kn, (void *)k}, val = {vn, (void *)v};
    int rc = mdb_put(txn, dbi, &key, &val, 0);
    return rc == MDB_SUCCESS ? HF_OK : hf_db_err(rc, "put");
}

int hf_db_del(MDB_txn *txn, MDB_dbi dbi, const void *k, size_t kn)
{
    MDB_val key = {kn, (void *)k};
    int rc = mdb_del(txn, dbi, &key, NULL);
    return rc == MDB_SUCCESS ? HF_OK : hf_db_err(rc, "del");
}
