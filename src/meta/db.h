/*
 * db.h -- the LMDB environment behind hf_meta: opening it with its named
 * databases, read transactions, and the mapping of LMDB's return codes to
 * holdfast's errors.
 *
 * Internal to src/meta. LMDB return codes become hf_err values here
 * (hf_db_err): callers use the LMDB API directly for cursors, but never
 * return an MDB_* code or log one themselves.
 *
 * Ownership: hf_db_t is embedded in hf_meta; open/close pair. Read
 * transactions from hf_db_rbegin are owned by the caller until hf_db_rend.
 * Threads: hf_db_rbegin/rend and the helpers are thread-safe (the
 * environment is opened with MDB_NOTLS, so a read transaction is not tied
 * to the thread that began it).
 */
#ifndef HF_META_DB_H
#define HF_META_DB_H

#include <lmdb.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

/* Read transactions kept reset for reuse. Each holds an LMDB reader slot,
 * so this stays well below HF_DB_READERS. */
#define HF_DB_POOL 64
/* LMDB reader slots: workers (HF_WORKERS_MAX) plus background readers plus
 * the pool, with room to spare; a slot costs 64 bytes of lock file. */
#define HF_DB_READERS 1024

typedef struct hf_db {
    MDB_env *env;
    MDB_dbi sys, users, keys, userids, buckets, objects, uploads, parts, blobs, versions, bucketcfg,
        done;
    pthread_mutex_t pool_mu;
    MDB_txn *pool[HF_DB_POOL];
    int npool;
} hf_db_t;

/* Open (creating if needed) the environment in directory path (which must
 * exist) with map_size bytes of address space, and every named database.
 * Errors: HF_E_META, HF_E_VERSION, HF_E_NOSPACE, negative errno. */
int hf_db_open(hf_db_t *kv, const char *path, uint64_t map_size);
/* Abort pooled read transactions and close the environment. */
void hf_db_close(hf_db_t *kv);

/* Map an LMDB return code to an hf_err value, logging failures that are
 * not ordinary outcomes (MDB_NOTFOUND -> HF_E_NOTFOUND is silent). what
 * names the operation for the log line. */
int hf_db_err(int rc, const char *what);

/* A read-only snapshot. HF_OK or a mapped error. */
int hf_db_rbegin(hf_db_t *kv, MDB_txn **out);
void hf_db_rend(hf_db_t *kv, MDB_txn *txn);

/* mdb_get / mdb_put / mdb_del with mapped errors. hf_db_get returns
 * HF_E_NOTFOUND silently. v->mv_data points into the map: valid until the
 * transaction ends or (in a write transaction) until the next change. */
int hf_db_get(MDB_txn *txn, MDB_dbi dbi, const void *k, size_t kn, MDB_val *v);
int hf_db_put(MDB_txn *txn, MDB_dbi dbi, const void *k, size_t kn, const void *v, size_t vn);
int hf_db_del(MDB_txn *txn, MDB_dbi dbi, const void *k, size_t kn);

/* Big-endian integers: keys sort by them, and one byte order for records
 * keeps the format document short. */
static inline void hf_db_be64_put(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        p[i] = (uint8_t)v;
        v >>= 8;
    }
}
static inline uint64_t hf_db_be64_get(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}
static inline void hf_db_be32_put(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}
static inline uint32_t hf_db_be32_get(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static inline void hf_db_be16_put(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}
static inline uint16_t hf_db_be16_get(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

#endif /* HF_META_DB_H */
