/*
 * blob.c -- blob reference counts (the blobs table).
 *
 * Owns: the rows id -> { refs, size } and the rule that a row exists
 * exactly while some committed record references the blob.
 *
 * Approach. Every record that lists a blob (an object's part, an upload's
 * part record) holds one reference. Changes adjust counts inside the same
 * nested transaction that adds or removes the referencing record, so
 * counts and records can never disagree after a commit. A count reaching
 * zero deletes the row and notes the blob with the writer, which releases
 * it only after the commit is durable (and not at all if the same batch
 * referenced the blob again). The size kept in the row is what on_release
 * passes to the chunk store (it says how many chunk files to unlink).
 *
 * Rejected: garbage collection by scanning every record for live blob ids
 * (a full scan of all metadata per sweep, and a window in which a blob is
 * neither referenced nor yet deleted that the scan must reason about);
 * counting in memory and persisting periodically (a crash would lose
 * counts, and a wrong count deletes data).
 */
#include "meta/internal.h"

#include "base/err.h"
#include "base/log.h"
#include "meta/record.h"

#include <string.h>

static void log_blob(const char *msg, const hf_blob_id_t *id)
{
    char hex[33];
    hf_hex_encode(hex, id->b, 16);
    hf_log_error("msg=\"%s\" blob=%s", msg, hex);
}

int hf_meta_tx_blob_ref(hf_meta_t *m, MDB_txn *txn, const hf_blob_id_t *id, uint64_t size)
{
    MDB_val v;
    uint32_t refs = 0;
    uint64_t have = size;
    int rc = hf_db_get(txn, m->db.blobs, id->b, 16, &v);
    if (rc == HF_OK) {
        if ((rc = hf_rec_blob_decode(v.mv_data, v.mv_size, &refs, &have))) {
            log_blob("blob count record damaged", id);
            return rc;
        }
        if (have != size)
            log_blob("blob referenced with a different size; keeping the recorded one", id);
        if (refs == UINT32_MAX)
            return HF_E_TOOBIG;
    } else if (rc != HF_E_NOTFOUND) {
        return rc;
    }
    uint8_t rec[HF_REC_BLOB_LEN];
    hf_rec_blob_encode(rec, refs + 1, have);
    return hf_db_put(txn, m->db.blobs, id->b, 16, rec, sizeof rec);
}

int hf_meta_tx_blob_unref(hf_meta_t *m, MDB_txn *txn, const hf_blob_id_t *id)
{
    MDB_val v;
    int rc = hf_db_get(txn, m->db.blobs, id->b, 16, &v);
    if (rc == HF_E_NOTFOUND) {
        log_blob("blob count missing while dropping a reference; leaving the blob", id);
        return HF_OK;
    }
    if (rc)
        return rc;
    uint32_t refs;
    uint64_t size;
    if ((rc = hf_rec_blob_decode(v.mv_data, v.mv_size, &refs, &size))) {
        /* Unknown count: keep the row, so the blob is never released. */
        log_blob("blob count record damaged; leaving the blob", id);
        return rc == HF_E_VERSION ? rc : HF_OK;
    }
    if (refs > 1) {
        uint8_t rec[HF_REC_BLOB_LEN];
        hf_rec_blob_encode(rec, refs - 1, size);
        return hf_db_put(txn, m->db.blobs, id->b, 16, rec, sizeof rec);
    }
    if ((rc = hf_db_del(txn, m->db.blobs, id->b, 16)))
        return rc;
    return hf_writer_note_release(m->w, id, size);
}

bool hf_meta_blob_live(void *ctx, const hf_blob_id_t *id)
{
    hf_meta_t *m = ctx;
    MDB_txn *txn;
    /* On error say "live": the sweep must never delete a blob it is unsure of. */
    if (hf_db_rbegin(&m->db, &txn) != HF_OK)
        return true;
    MDB_val v;
    int rc = hf_db_get(txn, m->db.blobs, id->b, 16, &v);
    hf_db_rend(&m->db, txn);
    return rc != HF_E_NOTFOUND;
}

uint32_t hf_meta_blob_refs(hf_meta_t *m, const hf_blob_id_t *id)
{
    MDB_txn *txn;
    if (hf_db_rbegin(&m->db, &txn) != HF_OK)
        return 0;
    MDB_val v;
    uint32_t refs = 0;
    uint64_t size;
    if (hf_db_get(txn, m->db.blobs, id->b, 16, &v) == HF_OK &&
        hf_rec_blob_decode(v.mv_data, v.mv_size, &refs, &size) != HF_OK)
        refs = 0;
    hf_db_rend(&m->db, txn);
    return refs;
}
