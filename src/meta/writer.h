/*
 * writer.h -- the one metadata writer thread and its group commit.
 *
 * Callers describe a change as an operation (a function to run inside a
 * write transaction, and its argument), submit it, and wait until the
 * commit that carries it is durable -- a fiber parks (base/fiber.h), any
 * other thread sleeps; neither holds anything else while it waits. The writer runs every queued
 * operation of a batch in its own nested transaction inside one write
 * transaction and commits once.
 *
 * Internal to src/meta. Ownership: operations live on the submitting
 * thread's stack; the writer touches them only between submit and the
 * wake-up. Threads: hf_writer_submit/failed/stats from any thread;
 * hf_writer_note_release only from inside an operation (writer thread).
 */
#ifndef HF_META_WRITER_H
#define HF_META_WRITER_H

#include "base/fiber.h"
#include "chunk/store.h"
#include "meta/meta.h"

#include <lmdb.h>
#include <stdbool.h>

typedef struct hf_writer hf_writer_t;

/* Runs in the writer thread inside a nested write transaction. Returning
 * non-zero aborts the nested transaction: the operation leaves no trace
 * (its noted releases are forgotten too). */
typedef int (*hf_wop_fn)(void *ctx, MDB_txn *txn, void *arg);

typedef struct hf_wop {
    hf_wop_fn fn;
    void *arg;
    /* writer-owned from here */
    int rc;
    struct hf_wop *next;
    int64_t submit_us;      /* when it was queued (the admission detector) */
    hf_done_t done;         /* its batch committed or failed */
    hf_done_t space;        /* the queue had room again (while waiting for it) */
    struct hf_wop *snext;   /* in the queue of callers waiting for room */
} hf_wop_t;

typedef struct hf_writer_cfg {
    MDB_env *env;
    void *ctx; /* passed to every fn and hook */
    /* Called in the batch's transaction after the operations and before
     * the commit (persists the clock's high-water mark). A failure fails
     * the whole batch. */
    int (*pre_commit)(void *ctx, MDB_txn *txn);
    /* Called in the batch's transaction before the commit for each blob
     * noted as released: true if the blob is referenced again (a later
     * operation of the same batch took a new reference), so it must not be
     * released. */
    bool (*referenced)(void *ctx, MDB_txn *txn, const hf_blob_id_t *id);
    void (*on_release)(void *rctx, const hf_blob_id_t *id, uint64_t size);
    void *release_ctx;
} hf_writer_cfg_t;

/* Start the writer thread. Errors: negative errno. */
int hf_writer_start(const hf_writer_cfg_t *cfg, hf_writer_t **out);
/* Finish every queued operation, stop the thread, free the writer.
 * Returns the sticky failure (0 if the writer never failed). */
int hf_writer_stop(hf_writer_t *w);

/* Queue op (fn and arg set by the caller), wait until its batch committed
 * or failed, and return its result. Waits (in FIFO order) while the queue
 * is full.
 * HF_E_STATE at once if the writer has failed. */
int hf_writer_submit(hf_writer_t *w, hf_wop_t *op);

/* From inside an operation: blob id's count reached zero in this
 * operation; release it after the commit (unless the operation fails or a
 * later operation of the batch references it again). -ENOMEM. */
int hf_writer_note_release(hf_writer_t *w, const hf_blob_id_t *id, uint64_t size);

bool hf_writer_failed(const hf_writer_t *w, int *err);
/* Fills the writer's counters in out (the other fields are untouched). */
void hf_writer_stats(hf_writer_t *w, hf_meta_stats_t *out);

#endif /* HF_META_WRITER_H */
