/*
 * upload.c -- multipart uploads and their parts; see meta.h.
 *
 * Owns: the uploads and parts tables, and the hand-over of part
 * references to the object at completion.
 *
 * Approach. An upload row lives under its bucket and key (so uploads list
 * in key order, then by id, whose first 8 bytes are the initiation time);
 * its parts live under the upload id alone (part_list needs no key). Each
 * part record holds one reference on its blob. Completion checks, in the
 * writer's transaction, that every part the caller listed is still the
 * recorded part of its number with the same blob -- a part re-uploaded
 * after the caller read the list makes the completion fail instead of
 * assembling an object from a blob that is about to be released. The
 * listed parts' references then move to the object unchanged; unlisted
 * parts lose theirs.
 *
 * Rejected: keeping parts inside the upload record (every part upload would
 * rewrite a record of up to 10000 entries); counting part references on
 * the object only at completion (an upload in progress would hold blobs no
 * count protects from the orphan sweep).
 *
 * Completed uploads are remembered in the done table (upload id -> the
 * answer a retried completion gets) until their expiry, written in the
 * completing transaction so a retry can never see the upload gone without
 * the answer being there. Such rows hold no references and name their
 * bucket by id (never reused), so rows of a deleted bucket are inert; each
 * completion looks at the next HF_META_DONE_PRUNE rows, cycling through
 * the table, and deletes the expired ones: the table stays about as large
 * as the completions of one expiry window. Rejected: keeping the completed
 * upload in the uploads table (listings, lifecycle, bucket deletion and
 * part uploads would all have to skip it); an expiry-ordered index (a
 * second table and two writes per completion for what a cycling scan
 * does).
 */
#include "meta/internal.h"

#include "base/err.h"
#include "base/limits.h"
#include "base/log.h"
#include "base/rand.h"
#include "base/time.h"
#include "meta/keyspace.h"
#include "meta/record.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define PART_KEY_LEN 20 /* upload id 16 | part number u32 */

static void part_key(uint8_t out[PART_KEY_LEN], const uint8_t id[16], uint32_t number)
{
    memcpy(out, id, 16);
    hf_db_be32_put(out + 16, number);
}

typedef struct rec_part {
    uint32_t number;
    hf_blob_id_t blob;
} rec_part_t;

/* Every part record of upload id, in number order, into v. */
static int collect_parts(hf_meta_t *m, MDB_txn *txn, const uint8_t id[16], hf_meta_vec_t *v)
{
    MDB_cursor *c;
    int rc = mdb_cursor_open(txn, m->db.parts, &c);
    if (rc)
        return hf_db_err(rc, "cursor_open");
    MDB_val k = {16, (void *)id}, val;
    int mrc = mdb_cursor_get(c, &k, &val, MDB_SET_RANGE);
    rc = HF_OK;
    while (mrc == MDB_SUCCESS && k.mv_size == PART_KEY_LEN && memcmp(k.mv_data, id, 16) == 0) {
        hf_part_t p;
        if ((rc = hf_rec_part_decode(val.mv_data, val.mv_size, &p)))
            break;
        rec_part_t *rp = hf_meta_vec_push(v);
        if (!rp) {
            rc = -ENOMEM;
            break;
        }
        rp->number = hf_db_be32_get((const uint8_t *)k.mv_data + 16);
        rp->blob = p.blob;
        mrc = mdb_cursor_get(c, &k, &val, MDB_NEXT);
    }
    mdb_cursor_close(c);
    if (rc == HF_OK && mrc != MDB_SUCCESS && mrc != MDB_NOTFOUND)
        rc = hf_db_err(mrc, "cursor_get");
    return rc;
}

int hf_meta_tx_parts_drop(hf_meta_t *m, MDB_txn *txn, const uint8_t id[16])
{
    hf_meta_vec_t v = {.elem = sizeof(rec_part_t)};
    int rc = collect_parts(m, txn, id, &v);
    const rec_part_t *ps = v.p;
    for (size_t i = 0; rc == HF_OK && i < v.n; i++) {
        uint8_t pk[PART_KEY_LEN];
        part_key(pk, id, ps[i].number);
        if ((rc = hf_db_del(txn, m->db.parts, pk, sizeof pk)) == HF_OK)
            rc = hf_meta_tx_blob_unref(m, txn, &ps[i].blob);
    }
    free(v.p);
    return rc;
}

/* The upload row at tk must exist (and carry key, for long keys). */
static int upload_exists(hf_meta_t *m, MDB_txn *txn, const uint8_t *tk, size_t tklen, const char *key,
                         size_t keylen)
{
    MDB_val v;
    int rc = hf_db_get(txn, m->db.uploads, tk, tklen, &v);
    if (rc)
        return rc;
    return hf_meta_check_long_key(v.mv_data, v.mv_size, HF_REC_UPLOAD_FIXED, key, keylen);
}

/* ---- create / get -------------------------------------------------------- */

typedef struct create_op {
    const hf_bucket_t *b;
    uint8_t tk[HF_KS_UPLOAD_KEY_MAX];
    size_t tklen, keylen;
    const hf_buf_t *rec;
} create_op_t;

static int create_tx(void *ctx, MDB_txn *txn, void *arg)
{
    hf_meta_t *m = ctx;
    create_op_t *op = arg;
    int rc = hf_meta_tx_bucket_check(m, txn, op->b);
    if (rc)
        return rc;
    if (op->keylen > HF_KS_SHORT_MAX) {
        size_t cnt;
        if ((rc = hf_ks_group_count(txn, m->db.uploads, op->tk, HF_KS_GROUP_MAX, &cnt)))
            return rc;
        if (cnt >= HF_KS_GROUP_MAX)
            return HF_E_TOOBIG;
    }
    MDB_val k = {op->tklen, op->tk}, v = {op->rec->len, op->rec->data};
    rc = mdb_put(txn, m->db.uploads, &k, &v, MDB_NOOVERWRITE);
    return rc ? hf_db_err(rc, "upload_put") : HF_OK;
}

int hf_meta_upload_create(hf_meta_t *m, const hf_bucket_t *b, const char *key, size_t keylen,
                          hf_upload_t *u)
{
    if (!hf_ks_key_valid(key, keylen))
        return HF_E_INVAL;
    int rc = hf_meta_check_headers(&u->tmpl);
    if (rc)
        return rc;
    int64_t now = hf_time_now();
    uint8_t id[16];
    hf_db_be64_put(id, (uint64_t)now);
    if ((rc = hf_rand_bytes(id + 8, 8)))
        return rc;
    hf_upload_t enc = *u;
    if (!enc.initiated)
        enc.initiated = now;
    hf_buf_t rec;
    hf_buf_init(&rec, HF_REC_MAX);
    create_op_t op = {.b = b, .keylen = keylen, .rec = &rec};
    op.tklen = hf_ks_upload_key(op.tk, b->id, key, keylen, id);
    if ((rc = hf_meta_encode_upload(&rec, &enc, key, keylen)) == HF_OK)
        rc = hf_meta_write(m, create_tx, &op);
    hf_buf_free(&rec);
    if (rc == HF_OK) {
        memcpy(u->id, id, 16);
        u->initiated = enc.initiated;
    }
    return rc;
}

int hf_meta_upload_get(hf_meta_t *m, uint64_t bucket_id, const char *key, size_t keylen,
                       const uint8_t id[16], hf_arena_t *a, hf_upload_t *out)
{
    if (!hf_ks_key_valid(key, keylen))
        return HF_E_NOTFOUND;
    uint8_t tk[HF_KS_UPLOAD_KEY_MAX];
    size_t tklen = hf_ks_upload_key(tk, bucket_id, key, keylen, id);
    MDB_txn *txn;
    int rc = hf_db_rbegin(&m->db, &txn);
    if (rc)
        return rc;
    MDB_val v;
    if ((rc = hf_db_get(txn, m->db.uploads, tk, tklen, &v)) ||
        (rc = hf_meta_check_long_key(v.mv_data, v.mv_size, HF_REC_UPLOAD_FIXED, key, keylen)))
        goto out;
    memset(out, 0, sizeof *out);
    if ((rc = hf_rec_upload_decode(v.mv_data, v.mv_size, a, out)))
        goto out;
    char *k = hf_arena_strndup(a, key, keylen);
    if (!k) {
        rc = -ENOMEM;
        goto out;
    }
    out->key = (hf_str_t){k, keylen};
    memcpy(out->id, id, 16);
out:
    hf_db_rend(&m->db, txn);
    return rc;
}

/* ---- parts ---------------------------------------------------------------- */

typedef struct part_op {
    const char *key;
    size_t keylen;
    uint8_t tk[HF_KS_UPLOAD_KEY_MAX];
    size_t tklen;
    const uint8_t *upload_id;
    const hf_part_t *p;
    const hf_buf_t *rec;
} part_op_t;

static int part_put_tx(void *ctx, MDB_txn *txn, void *arg)
{
    hf_meta_t *m = ctx;
    part_op_t *op = arg;
    int rc = upload_exists(m, txn, op->tk, op->tklen, op->key, op->keylen);
    if (rc)
        return rc;
    if ((rc = hf_meta_tx_blob_ref(m, txn, &op->p->blob, op->p->size)))
        return rc;
    uint8_t pk[PART_KEY_LEN];
    part_key(pk, op->upload_id, op->p->number);
    MDB_val v;
    rc = hf_db_get(txn, m->db.parts, pk, sizeof pk, &v);
    if (rc == HF_OK) {
        hf_part_t old;
        if ((rc = hf_rec_part_decode(v.mv_data, v.mv_size, &old)) == HF_OK)
            rc = hf_meta_tx_blob_unref(m, txn, &old.blob);
        else if (rc == HF_E_CORRUPT) {
            hf_log_error("msg=\"replaced part record damaged; its blob stays referenced\"");
            rc = HF_OK;
        }
        if (rc)
            return rc;
    } else if (rc != HF_E_NOTFOUND) {
        return rc;
    }
    return hf_db_put(txn, m->db.parts, pk, sizeof pk, op->rec->data, op->rec->len);
}

int hf_meta_part_put(hf_meta_t *m, uint64_t bucket_id, const char *key, size_t keylen,
                     const uint8_t upload_id[16], const hf_part_t *p)
{
    if (!hf_ks_key_valid(key, keylen) || p->number < 1 || p->number > HF_PART_NUMBER_MAX ||
        p->size > HF_PART_MAX_SIZE)
        return HF_E_INVAL;
    hf_buf_t rec;
    hf_buf_init(&rec, 256);
    part_op_t op = {.key = key, .keylen = keylen, .upload_id = upload_id, .p = p, .rec = &rec};
    op.tklen = hf_ks_upload_key(op.tk, bucket_id, key, keylen, upload_id);
    int rc = hf_rec_part_encode(&rec, p);
    if (rc == HF_OK)
        rc = hf_meta_write(m, part_put_tx, &op);
    hf_buf_free(&rec);
    return rc;
}

int hf_meta_part_list(hf_meta_t *m, const uint8_t upload_id[16], uint32_t after, uint32_t max,
                      hf_arena_t *a, hf_part_t **out, uint32_t *n, bool *truncated)
{
    *out = NULL;
    *n = 0;
    *truncated = false;
    if (after >= HF_PART_NUMBER_MAX)
        return HF_OK;
    if (max > HF_PART_NUMBER_MAX)
        max = HF_PART_NUMBER_MAX;
    MDB_txn *txn;
    MDB_cursor *c = NULL;
    int rc = hf_db_rbegin(&m->db, &txn);
    if (rc)
        return rc;
    hf_part_t *arr = NULL;
    if (max && !(arr = hf_arena_alloc(a, (size_t)max * sizeof *arr))) {
        rc = -ENOMEM;
        goto out;
    }
    if ((rc = mdb_cursor_open(txn, m->db.parts, &c))) {
        rc = hf_db_err(rc, "cursor_open");
        goto out;
    }
    uint8_t pk[PART_KEY_LEN];
    part_key(pk, upload_id, after + 1);
    MDB_val k = {sizeof pk, pk}, v;
    int mrc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
    uint32_t i = 0;
    while (mrc == MDB_SUCCESS && k.mv_size == PART_KEY_LEN && memcmp(k.mv_data, upload_id, 16) == 0) {
        if (i == max) {
            *truncated = true;
            break;
        }
        if ((rc = hf_rec_part_decode(v.mv_data, v.mv_size, &arr[i])))
            goto out;
        arr[i].number = hf_db_be32_get((const uint8_t *)k.mv_data + 16);
        i++;
        mrc = mdb_cursor_get(c, &k, &v, MDB_NEXT);
    }
    if (mrc != MDB_SUCCESS && mrc != MDB_NOTFOUND) {
        rc = hf_db_err(mrc, "cursor_get");
        goto out;
    }
    *out = i ? arr : NULL;
    *n = i;
out:
    if (c)
        mdb_cursor_close(c);
    hf_db_rend(&m->db, txn);
    return rc;
}

/* ---- complete / abort ------------------------------------------------------ */

typedef struct finish_op {
    const hf_bucket_t *b;
    const char *key;
    size_t keylen;
    const uint8_t *upload_id;
    const hf_obj_t *o;     /* complete; NULL for abort */
    hf_meta_wput_t w;      /* complete: the object's write */
    hf_upload_done_t *done; /* complete: remember it (NULL: don't) */
} finish_op_t;

/* Forget up to HF_META_DONE_PRUNE expired completions, going on from
 * where the last call stopped (writer thread). A damaged row is dropped
 * too: it holds no reference and could only ever answer NoSuchUpload. */
static int prune_done(hf_meta_t *m, MDB_txn *txn, int64_t now)
{
    MDB_cursor *c;
    int rc = mdb_cursor_open(txn, m->db.done, &c);
    if (rc)
        return hf_db_err(rc, "cursor_open");
    MDB_val k = {sizeof m->done_next, m->done_next}, v;
    int mrc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
    if (mrc == MDB_NOTFOUND)
        mrc = mdb_cursor_get(c, &k, &v, MDB_FIRST);
    rc = HF_OK;
    for (int i = 0; i < HF_META_DONE_PRUNE && mrc == MDB_SUCCESS; i++) {
        uint64_t bid;
        const char *key;
        size_t kl;
        hf_upload_done_t d;
        int drc = hf_rec_done_decode(v.mv_data, v.mv_size, &bid, &key, &kl, &d);
        if (drc == HF_E_CORRUPT || (drc == HF_OK && d.expires <= now)) {
            if (drc == HF_E_CORRUPT)
                hf_log_error("msg=\"completed-upload record damaged; dropped\"");
            if ((mrc = mdb_cursor_del(c, 0)) != MDB_SUCCESS)
                break;
            /* The cursor now sits on the next row; NEXT returns it. */
        }
        mrc = mdb_cursor_get(c, &k, &v, MDB_NEXT);
    }
    if (mrc == MDB_SUCCESS && k.mv_size == sizeof m->done_next)
        memcpy(m->done_next, k.mv_data, sizeof m->done_next);
    else if (mrc == MDB_NOTFOUND)
        memset(m->done_next, 0, sizeof m->done_next); /* start over */
    else
        rc = hf_db_err(mrc, "done_prune");
    mdb_cursor_close(c);
    return rc;
}

/* Remember the completion op just wrote (its version id is known now). */
static int remember_done(hf_meta_t *m, MDB_txn *txn, finish_op_t *op)
{
    hf_upload_done_t *d = op->done;
    memcpy(d->version, op->w.version, 16);
    hf_buf_t rec;
    hf_buf_init(&rec, HF_REC_DONE_FIXED + 16 + HF_KEY_MAX + 16 + HF_CK_MAX_LEN);
    int rc = hf_rec_done_encode(&rec, op->b->id, op->key, op->keylen, d);
    if (rc == HF_OK)
        rc = hf_db_put(txn, m->db.done, op->upload_id, 16, rec.data, rec.len);
    hf_buf_free(&rec);
    return rc ? rc : prune_done(m, txn, d->completed);
}

static int complete_tx(void *ctx, MDB_txn *txn, void *arg)
{
    hf_meta_t *m = ctx;
    finish_op_t *op = arg;
    uint8_t tk[HF_KS_UPLOAD_KEY_MAX];
    size_t tklen = hf_ks_upload_key(tk, op->b->id, op->key, op->keylen, op->upload_id);
    int rc;
    if ((rc = hf_meta_tx_bucket_check(m, txn, op->b)) ||
        (rc = upload_exists(m, txn, tk, tklen, op->key, op->keylen)))
        return rc;
    hf_meta_vec_t v = {.elem = sizeof(rec_part_t)};
    if ((rc = collect_parts(m, txn, op->upload_id, &v)))
        goto out;
    /* Both lists are in ascending part number: walk them together. Every
     * listed part must be recorded with the same blob; recorded parts not
     * listed lose their reference. */
    const rec_part_t *rp = v.p;
    const hf_obj_t *o = op->o;
    size_t j = 0;
    for (uint32_t i = 0; i < o->nparts; i++) {
        while (j < v.n && rp[j].number < o->parts[i].number) {
            if ((rc = hf_meta_tx_blob_unref(m, txn, &rp[j].blob)))
                goto out;
            j++;
        }
        if (j == v.n || rp[j].number != o->parts[i].number ||
            memcmp(rp[j].blob.b, o->parts[i].blob.b, 16) != 0) {
            rc = HF_E_CONFLICT;
            goto out;
        }
        j++; /* its reference moves to the object */
    }
    for (; j < v.n; j++)
        if ((rc = hf_meta_tx_blob_unref(m, txn, &rp[j].blob)))
            goto out;
    for (size_t i = 0; i < v.n; i++) {
        uint8_t pk[PART_KEY_LEN];
        part_key(pk, op->upload_id, rp[i].number);
        if ((rc = hf_db_del(txn, m->db.parts, pk, sizeof pk)))
            goto out;
    }
    if ((rc = hf_db_del(txn, m->db.uploads, tk, tklen)))
        goto out;
    if ((rc = hf_meta_tx_put_version(m, txn, &op->w)) == HF_OK && op->done)
        rc = remember_done(m, txn, op);
out:
    free(v.p);
    return rc;
}

int hf_meta_upload_complete(hf_meta_t *m, const hf_bucket_t *b, const char *key, size_t keylen,
                            const uint8_t upload_id[16], hf_obj_t *o, const hf_obj_cond_t *cond)
{
    return hf_meta_upload_complete_done(m, b, key, keylen, upload_id, o, cond, NULL);
}

int hf_meta_upload_complete_done(hf_meta_t *m, const hf_bucket_t *b, const char *key, size_t keylen,
                                 const uint8_t upload_id[16], hf_obj_t *o, const hf_obj_cond_t *cond,
                                 hf_upload_done_t *done)
{
    if (!hf_ks_key_valid(key, keylen))
        return HF_E_INVAL;
    int rc = hf_meta_check_obj(o);
    if (rc)
        return rc;
    if (o->flags & HF_OBJ_INLINE)
        return HF_E_INVAL; /* the data is in the parts */
    /* Part numbers strictly ascending: each recorded part's one reference
     * can back exactly one entry of the object. */
    for (uint32_t i = 0; i < o->nparts; i++)
        if (o->parts[i].number < 1 || o->parts[i].number > HF_PART_NUMBER_MAX ||
            (i && o->parts[i].number <= o->parts[i - 1].number))
            return HF_E_INVAL;
    hf_buf_t rec;
    hf_buf_init(&rec, HF_REC_MAX);
    finish_op_t op = {.b = b, .key = key, .keylen = keylen, .upload_id = upload_id, .o = o,
                      .done = done};
    if (done) {
        done->completed = hf_time_now();
        memcpy(done->etag, o->etag, 16);
        done->etag_parts = o->etag_parts;
        done->ck_alg = o->ck_alg;
        done->ck_type = o->ck_type;
        done->ck_len = o->ck_len <= HF_CK_MAX_LEN ? o->ck_len : 0;
        memcpy(done->ck, o->ck, done->ck_len);
    }
    op.w = (hf_meta_wput_t){.b = b, .key = key, .keylen = keylen, .rec = &rec, .parts = o->parts,
                            .nparts = o->nparts, .add_refs = false, .cond = cond, .hlc = o->hlc,
                            .origin = o->origin};
    if ((rc = hf_meta_encode_obj(&rec, o, key, keylen)) == HF_OK)
        rc = hf_meta_write(m, complete_tx, &op);
    if (rc == HF_OK)
        memcpy(o->version, op.w.version, 16);
    hf_buf_free(&rec);
    return rc;
}

int hf_meta_upload_done_get(hf_meta_t *m, uint64_t bucket_id, const char *key, size_t keylen,
                            const uint8_t id[16], int64_t now, hf_upload_done_t *out)
{
    MDB_txn *txn;
    int rc = hf_db_rbegin(&m->db, &txn);
    if (rc)
        return rc;
    MDB_val v;
    uint64_t bid;
    const char *k;
    size_t kl;
    if ((rc = hf_db_get(txn, m->db.done, id, 16, &v)) == HF_OK &&
        (rc = hf_rec_done_decode(v.mv_data, v.mv_size, &bid, &k, &kl, out)) == HF_OK &&
        (bid != bucket_id || kl != keylen || memcmp(k, key, keylen) != 0 || out->expires <= now))
        rc = HF_E_NOTFOUND;
    if (rc == HF_E_CORRUPT || rc == HF_E_VERSION)
        hf_log_error("msg=\"completed-upload record unreadable\" err=%d", rc);
    hf_db_rend(&m->db, txn);
    return rc;
}

static int abort_tx(void *ctx, MDB_txn *txn, void *arg)
{
    hf_meta_t *m = ctx;
    finish_op_t *op = arg;
    uint8_t tk[HF_KS_UPLOAD_KEY_MAX];
    size_t tklen = hf_ks_upload_key(tk, op->b->id, op->key, op->keylen, op->upload_id);
    int rc;
    if ((rc = upload_exists(m, txn, tk, tklen, op->key, op->keylen)) ||
        (rc = hf_meta_tx_parts_drop(m, txn, op->upload_id)))
        return rc;
    return hf_db_del(txn, m->db.uploads, tk, tklen);
}

int hf_meta_upload_abort(hf_meta_t *m, const hf_bucket_t *b, const char *key, size_t keylen,
                         const uint8_t upload_id[16])
{
    if (!hf_ks_key_valid(key, keylen))
        return HF_E_NOTFOUND;
    finish_op_t op = {.b = b, .key = key, .keylen = keylen, .upload_id = upload_id};
    return hf_meta_write(m, abort_tx, &op);
}

/* ---- listing ------------------------------------------------------------------ */

/* (key, id) > (mkey, mid) in the listing order. */
static bool after_marker(hf_str_t key, const uint8_t *id, hf_str_t mkey, const uint8_t *mid)
{
    int c = hf_meta_str_cmp(key, mkey);
    if (c)
        return c > 0;
    return mid ? memcmp(id, mid, 16) > 0 : false;
}

int hf_meta_upload_list(hf_meta_t *m, const hf_upload_list_req_t *rq, hf_arena_t *a,
                        hf_upload_list_res_t *out)
{
    /* The id marker is often the previous page's out->next_upload_id:
     * copy it before out is cleared. */
    uint8_t idm[16];
    if (rq->upload_id_marker)
        memcpy(idm, rq->upload_id_marker, 16);
    memset(out, 0, sizeof *out);
    int rc = hf_meta_list_args(rq->prefix, rq->key_marker, rq->delimiter);
    if (rc || rq->max_uploads == 0)
        return rc < 0 ? rc : HF_OK;
    uint32_t max = rq->max_uploads < HF_LIST_PAGE_MAX ? rq->max_uploads : HF_LIST_PAGE_MAX;
    hf_str_t mkey = rq->key_marker;
    /* An id marker only means something together with a key marker. */
    const uint8_t *mid = mkey.n && rq->upload_id_marker ? idm : NULL;
    hf_meta_vec_t ups = {.elem = sizeof(hf_upload_t)}, pfx = {.elem = sizeof(hf_str_t)};
    MDB_txn *txn;
    if ((rc = hf_db_rbegin(&m->db, &txn)))
        return rc;
    hf_ks_scan_t s;
    if ((rc = hf_ks_scan_open(&s, txn, m->db.uploads, rq->bucket_id, HF_KS_UPLOADS)))
        goto out;
    if (mid && hf_ks_key_valid(mkey.p, mkey.n) && hf_meta_str_cmp(mkey, rq->prefix) >= 0) {
        rc = hf_ks_scan_seek(&s, mkey.p, mkey.n, mid); /* uploads of mkey after mid, then more */
    } else {
        char buf[HF_KEY_MAX + 1];
        hf_str_t start = hf_meta_list_start(rq->prefix, mkey, buf);
        mid = NULL;
        rc = hf_ks_scan_seek(&s, start.p, start.n, NULL);
    }
    if (rc)
        goto out;
    uint32_t count = 0;
    bool last_is_prefix = false;
    const uint8_t *last_id = NULL;
    hf_str_t last = {NULL, 0};
    for (;;) {
        hf_ks_item_t it;
        rc = hf_ks_scan_next(&s, &it);
        if (rc <= 0)
            break;
        rc = HF_OK;
        hf_str_t key = {it.key, it.keylen};
        if (!hf_meta_str_prefix(key, rq->prefix))
            break;
        if (mkey.n && !after_marker(key, it.id, mkey, mid))
            continue;
        if (rq->delimiter.n) {
            const char *d = memmem(key.p + rq->prefix.n, key.n - rq->prefix.n, rq->delimiter.p,
                                   rq->delimiter.n);
            if (d) {
                hf_str_t cp = {key.p, (size_t)(d - key.p) + rq->delimiter.n};
                if (!(mkey.n && hf_meta_str_cmp(cp, mkey) <= 0)) {
                    if (count == max) {
                        out->truncated = true;
                        break;
                    }
                    hf_str_t *slot = hf_meta_vec_push(&pfx);
                    char *copy = hf_arena_strndup(a, cp.p, cp.n);
                    if (!slot || !copy) {
                        rc = -ENOMEM;
                        break;
                    }
                    *slot = (hf_str_t){copy, cp.n};
                    last = *slot;
                    last_is_prefix = true;
                    count++;
                }
                if ((rc = hf_ks_scan_skip_prefix(&s, cp.p, cp.n)))
                    break;
                continue;
            }
        }
        if (count == max) {
            out->truncated = true;
            break;
        }
        hf_upload_t *u = hf_meta_vec_push(&ups);
        char *copy = hf_arena_strndup(a, key.p, key.n);
        if (!u || !copy) {
            rc = -ENOMEM;
            break;
        }
        memset(u, 0, sizeof *u);
        if ((rc = hf_rec_upload_decode(it.val.mv_data, it.val.mv_size, NULL, u))) {
            hf_log_error("msg=\"upload record unreadable in listing\" err=%d", rc);
            break;
        }
        memcpy(u->id, it.id, 16);
        u->key = (hf_str_t){copy, key.n};
        last = u->key;
        last_is_prefix = false;
        last_id = it.id;
        count++;
    }
    if (rc == HF_OK) {
        out->uploads = hf_meta_vec_to_arena(&ups, a, &rc);
        out->nuploads = (uint32_t)ups.n;
        out->prefixes = hf_meta_vec_to_arena(&pfx, a, &rc);
        out->nprefixes = (uint32_t)pfx.n;
        out->next_key = last;
        if (last.n && !last_is_prefix && last_id) {
            memcpy(out->next_upload_id, last_id, 16);
            out->has_next_upload_id = true;
        }
    }
out:
    hf_ks_scan_close(&s);
    hf_db_rend(&m->db, txn);
    free(ups.p);
    free(pfx.p);
    if (rc)
        memset(out, 0, sizeof *out);
    return rc;
}
