/*
 * writer.c -- the metadata writer thread: bounded queue, group commit,
 * blob releases after the commit; see writer.h.
 *
 * Owns: the queue of pending operations, the writer thread, the sticky
 * failed state, the commit counters, and the list of blobs to release.
 *
 * Approach. Callers link their (stack-allocated) operation onto a FIFO
 * under a mutex and wait on a per-operation completion (hf_done: a fiber
 * parks, a plain thread sleeps on a futex). The writer takes
 * everything queued, up to HF_META_BATCH_MAX, runs each operation in a
 * nested transaction of one write transaction, and commits once: one
 * fsync for the batch. While it commits, new operations pile up and form
 * the next batch, so batches grow exactly when the disk is the bottleneck
 * and a lone caller still pays only one commit. Only after the commit (and
 * after the waiters are woken) does the writer call on_release for the
 * blobs whose last reference went away in the batch -- never before the
 * change that dropped the reference is durable.
 *
 * A blob noted as released by one operation can be referenced again by a
 * later operation of the same batch (a row deleted and re-created); just
 * before the commit every noted blob is checked against the batch's own
 * transaction and dropped from the list if a row exists again. The list is
 * also de-duplicated, so on_release runs once per blob.
 *
 * If a nested commit fails the parent transaction may hold a half-merged
 * child, so the whole batch is aborted. If the final commit fails the
 * on-disk state is uncertain (a failed fsync can lose pages), so the writer
 * enters a sticky failed state: every later write returns HF_E_STATE until
 * the store is reopened and LMDB recovers from its last good meta page.
 *
 * When the queue is full, callers wait in a second FIFO, each on its own
 * completion, and the writer lets in as many as it took out; a condition
 * variable would block a fiber's whole loop thread.
 *
 * Queue delay is reported to the admission detector (base/load.h, source
 * "meta"): an operation that made the first batch to start after it was
 * queued waited for no queue, only for the commit in progress; one that
 * missed it waited behind a standing queue. Each batch reports the
 * shortest such wait among its operations.
 *
 * Rejected: a condition variable shared by all waiters (a broadcast per
 * commit wakes thousands of threads to find their operation not done);
 * a lock-free queue (the mutex is held for a few instructions per
 * operation, far below one fsync); running each operation in the caller's
 * thread with its own write transaction (LMDB serialises writers anyway,
 * and every caller would pay its own fsync).
 */
#include "meta/writer.h"

#include "base/err.h"
#include "base/hist.h"
#include "base/limits.h"
#include "base/load.h"
#include "base/log.h"
#include "base/time.h"
#include "meta/db.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct rel {
    hf_blob_id_t id;
    uint64_t size;
} rel_t;

struct hf_writer {
    hf_writer_cfg_t cfg;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t work;  /* queue became non-empty, or stop */
    hf_wop_t *head, *tail;
    hf_wop_t *sw_head, *sw_tail; /* callers waiting for room */
    int64_t prev_batch_us;       /* when the previous batch was taken */
    size_t depth;
    bool stop;
    atomic_int failed; /* 0, or the error of the commit that failed */
    /* Counters: atomics, so metrics read them without taking mu. */
    _Atomic uint64_t commits, ops, ops_failed, commit_ns, batch_max, depth_gauge;
    hf_hist_t batch_hist;  /* operations per batch */
    hf_hist_t commit_hist; /* mdb_txn_commit latency, microseconds */
    /* writer thread only */
    rel_t *rel;
    size_t nrel, caprel;
};

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int hf_writer_note_release(hf_writer_t *w, const hf_blob_id_t *id, uint64_t size)
{
    if (w->nrel == w->caprel) {
        size_t cap = w->caprel ? w->caprel * 2 : 64;
        rel_t *r = realloc(w->rel, cap * sizeof *r);
        if (!r)
            return -ENOMEM;
        w->rel = r;
        w->caprel = cap;
    }
    w->rel[w->nrel].id = *id;
    w->rel[w->nrel].size = size;
    w->nrel++;
    return HF_OK;
}

static int rel_cmp(const void *a, const void *b)
{
    return memcmp(((const rel_t *)a)->id.b, ((const rel_t *)b)->id.b, 16);
}

/* Drop releases of blobs referenced again in txn, and duplicates. */
static void filter_releases(hf_writer_t *w, MDB_txn *txn)
{
    if (w->nrel > 1)
        qsort(w->rel, w->nrel, sizeof *w->rel, rel_cmp);
    size_t k = 0;
    for (size_t i = 0; i < w->nrel; i++) {
        if (k > 0 && memcmp(w->rel[k - 1].id.b, w->rel[i].id.b, 16) == 0)
            continue;
        if (w->cfg.referenced && w->cfg.referenced(w->cfg.ctx, txn, &w->rel[i].id))
            continue;
        w->rel[k++] = w->rel[i];
    }
    w->nrel = k;
}

/* Give every operation whose rc is still HF_OK the batch's error. */
static void fail_ok(hf_wop_t **ops, size_t n, int err)
{
    for (size_t i = 0; i < n; i++)
        if (ops[i]->rc == HF_OK)
            ops[i]->rc = err;
}

static void run_batch(hf_writer_t *w, hf_wop_t **ops, size_t n)
{
    w->nrel = 0;
    uint64_t commit_ns = 0;
    bool committed = false;
    MDB_txn *txn = NULL;
    int rc;
    for (size_t i = 0; i < n; i++)
        ops[i]->rc = HF_OK;

    if (atomic_load(&w->failed)) {
        fail_ok(ops, n, HF_E_STATE);
        goto finish;
    }
    rc = mdb_txn_begin(w->cfg.env, NULL, 0, &txn);
    if (rc) {
        fail_ok(ops, n, hf_db_err(rc, "txn_begin"));
        goto finish;
    }
    for (size_t i = 0; i < n; i++) {
        size_t mark = w->nrel;
        MDB_txn *child = NULL;
        rc = mdb_txn_begin(w->cfg.env, txn, 0, &child);
        if (rc) {
            ops[i]->rc = hf_db_err(rc, "txn_begin_nested");
            continue;
        }
        int orc = ops[i]->fn(w->cfg.ctx, child, ops[i]->arg);
        if (orc != HF_OK) {
            mdb_txn_abort(child);
            ops[i]->rc = orc;
            w->nrel = mark;
            continue;
        }
        rc = mdb_txn_commit(child);
        if (rc) {
            /* The parent may now hold part of the child: give up the batch. */
            int err = hf_db_err(rc, "txn_commit_nested");
            mdb_txn_abort(txn);
            fail_ok(ops, n, err);
            w->nrel = 0;
            goto finish;
        }
    }
    filter_releases(w, txn);
    if (w->cfg.pre_commit && (rc = w->cfg.pre_commit(w->cfg.ctx, txn)) != HF_OK) {
        mdb_txn_abort(txn);
        fail_ok(ops, n, rc);
        w->nrel = 0;
        goto finish;
    }
    uint64_t t0 = mono_ns();
    rc = mdb_txn_commit(txn);
    commit_ns = mono_ns() - t0;
    if (rc) {
        int err = hf_db_err(rc, "txn_commit");
        int expect = 0;
        atomic_compare_exchange_strong(&w->failed, &expect, err);
        hf_log_error("msg=\"metadata commit failed; refusing writes until reopened\" ops=%zu err=%d",
                     n, err);
        fail_ok(ops, n, err);
        w->nrel = 0;
        goto finish;
    }
    committed = true;

finish:
    if (committed) {
        atomic_fetch_add(&w->commits, 1);
        hf_hist_add(&w->commit_hist, commit_ns / 1000);
    }
    atomic_fetch_add(&w->commit_ns, commit_ns);
    if (n > atomic_load(&w->batch_max))
        atomic_store(&w->batch_max, n); /* only this thread writes it */
    hf_hist_add(&w->batch_hist, n);
    for (size_t i = 0; i < n; i++) {
        if (ops[i]->rc == HF_OK)
            atomic_fetch_add(&w->ops, 1);
        else
            atomic_fetch_add(&w->ops_failed, 1);
    }
    /* After the post an operation may be gone (its caller returned). */
    for (size_t i = 0; i < n; i++)
        hf_done_post(&ops[i]->done);
    if (committed && w->cfg.on_release)
        for (size_t i = 0; i < w->nrel; i++)
            w->cfg.on_release(w->cfg.release_ctx, &w->rel[i].id, w->rel[i].size);
    w->nrel = 0;
}

static void *writer_main(void *arg)
{
    hf_writer_t *w = arg;
    hf_wop_t *batch[HF_META_BATCH_MAX];
    for (;;) {
        pthread_mutex_lock(&w->mu);
        while (!w->head && !w->stop)
            pthread_cond_wait(&w->work, &w->mu);
        if (!w->head) {
            pthread_mutex_unlock(&w->mu);
            break;
        }
        size_t n = 0;
        while (w->head && n < HF_META_BATCH_MAX) {
            batch[n++] = w->head;
            w->head = w->head->next;
        }
        if (!w->head)
            w->tail = NULL;
        w->depth -= n;
        atomic_store(&w->depth_gauge, w->depth);
        /* Let in as many waiting callers as there is room now. */
        for (size_t room = n; room > 0 && w->sw_head; room--) {
            hf_wop_t *op = w->sw_head;
            w->sw_head = op->snext;
            if (!w->sw_head)
                w->sw_tail = NULL;
            hf_done_post(&op->space);
        }
        pthread_mutex_unlock(&w->mu);
        int64_t now = hf_mono_us();
        hf_wop_t *newest = batch[n - 1];
        hf_load_note(HF_LOAD_META,
                     newest->submit_us >= w->prev_batch_us ? 0 : now - newest->submit_us);
        w->prev_batch_us = now;
        run_batch(w, batch, n);
    }
    return NULL;
}

int hf_writer_start(const hf_writer_cfg_t *cfg, hf_writer_t **out)
{
    hf_writer_t *w = calloc(1, sizeof *w);
    if (!w)
        return -ENOMEM;
    w->cfg = *cfg;
    atomic_init(&w->failed, 0);
    hf_hist_init(&w->batch_hist, hf_hist_pow2, 9);
    hf_hist_init(&w->commit_hist, hf_hist_latency_us, 18);
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->work, NULL);
    int rc = pthread_create(&w->thread, NULL, writer_main, w);
    if (rc) {
        pthread_cond_destroy(&w->work);
        pthread_mutex_destroy(&w->mu);
        free(w);
        return -rc;
    }
    *out = w;
    return HF_OK;
}

int hf_writer_stop(hf_writer_t *w)
{
    if (!w)
        return 0;
    pthread_mutex_lock(&w->mu);
    w->stop = true;
    pthread_cond_signal(&w->work);
    while (w->sw_head) { /* callers waiting for room: they see stop */
        hf_wop_t *op = w->sw_head;
        w->sw_head = op->snext;
        hf_done_post(&op->space);
    }
    w->sw_tail = NULL;
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->thread, NULL);
    pthread_cond_destroy(&w->work);
    pthread_mutex_destroy(&w->mu);
    int failed = atomic_load(&w->failed);
    free(w->rel);
    free(w);
    return failed;
}

int hf_writer_submit(hf_writer_t *w, hf_wop_t *op)
{
    if (atomic_load(&w->failed))
        return HF_E_STATE;
    hf_done_init(&op->done);
    op->rc = HF_OK;
    op->next = NULL;
    pthread_mutex_lock(&w->mu);
    while (w->depth >= HF_META_QUEUE_MAX && !w->stop) {
        hf_done_init(&op->space);
        op->snext = NULL;
        if (w->sw_tail)
            w->sw_tail->snext = op;
        else
            w->sw_head = op;
        w->sw_tail = op;
        pthread_mutex_unlock(&w->mu);
        hf_done_wait(&op->space);
        pthread_mutex_lock(&w->mu);
    }
    if (w->stop) {
        pthread_mutex_unlock(&w->mu);
        return HF_E_SHUTDOWN;
    }
    op->submit_us = hf_mono_us();
    if (w->tail)
        w->tail->next = op;
    else
        w->head = op;
    w->tail = op;
    w->depth++;
    atomic_store(&w->depth_gauge, w->depth);
    pthread_cond_signal(&w->work);
    pthread_mutex_unlock(&w->mu);
    hf_done_wait(&op->done);
    return op->rc;
}

bool hf_writer_failed(const hf_writer_t *w, int *err)
{
    int e = atomic_load(&((hf_writer_t *)w)->failed);
    if (err)
        *err = e;
    return e != 0;
}

void hf_writer_stats(hf_writer_t *w, hf_meta_stats_t *out)
{
    /* No lock: the status listener calls this and must not wait for a
     * thread that holds mu. */
    out->commits = atomic_load(&w->commits);
    out->ops = atomic_load(&w->ops);
    out->ops_failed = atomic_load(&w->ops_failed);
    out->commit_ns_total = atomic_load(&w->commit_ns);
    out->batch_max = atomic_load(&w->batch_max);
    out->queue_depth = atomic_load(&w->depth_gauge);
    hf_hist_read(&w->batch_hist, &out->batch_sizes);
    hf_hist_read(&w->commit_hist, &out->commit_us);
}
