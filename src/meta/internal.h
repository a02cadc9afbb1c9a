/*
 * internal.h -- what the files of src/meta share: the hf_meta struct and
 * the helpers that run inside the writer's transaction (hf_meta_tx_*).
 *
 * Not for use outside src/meta. Functions named hf_meta_tx_* run only in
 * the writer thread, inside an operation's nested write transaction.
 */
#ifndef HF_META_INTERNAL_H
#define HF_META_INTERNAL_H

#include "base/buf.h"
#include "meta/db.h"
#include "meta/meta.h"
#include "meta/writer.h"

#include <stdatomic.h>

struct hf_meta {
    hf_db_t db;
    hf_writer_t *w;
    hf_meta_config_t cfg;
    uint64_t node_id;
    _Atomic uint64_t hlc;   /* greatest value issued */
    uint64_t hlc_persisted; /* writer thread: greatest value in sys "hlc" */
    hf_buf_t scratch;       /* writer thread: copies of records being replaced */
    hf_arena_t warena;      /* writer thread: records decoded for in-place updates */
    uint8_t done_next[16];  /* writer thread: where the next prune of done starts */
};

/* Scratch holds one old record at a time; records are < HF_REC_MAX, the
 * extra room is for records written by a later build with more fields. */
#define HF_META_SCRATCH_MAX (16u * 1024 * 1024)

/* Run fn(m, txn, arg) in the writer; returns its result once durable. */
int hf_meta_write(hf_meta_t *m, hf_wop_fn fn, void *arg);

/* sys table keys (ASCII, no terminator). */
#define HF_SYS_FORMAT "format"
#define HF_SYS_NODE "node"
#define HF_SYS_HLC "hlc"
#define HF_SYS_NEXT_USER "next_user_id"
#define HF_SYS_NEXT_BUCKET "next_bucket_id"
#define HF_SYS_SSE_KEYS "sse_keys"

/* Take the next value of the u64 counter at sys key name (starting at 1). */
int hf_meta_tx_counter(hf_meta_t *m, MDB_txn *txn, const char *name, uint64_t *out);

/* ---- users (meta.c, userkey.c) ---- */

/* users[name] decoded into out, in any transaction (read or write).
 * HF_E_NOTFOUND; HF_E_CORRUPT / HF_E_VERSION (logged). */
int hf_meta_tx_user_read(hf_meta_t *m, MDB_txn *txn, const char *name, size_t nl, hf_user_t *out);
/* Encode u and store it under its name (the users row only). */
int hf_meta_tx_user_write(hf_meta_t *m, MDB_txn *txn, const hf_user_t *u);
/* HF_OK if access_key may be given to a key (no user lists it), else
 * HF_E_EXISTS. */
int hf_meta_tx_key_free(hf_meta_t *m, MDB_txn *txn, const char *access_key);
/* Delete the keys row of access_key; a missing row is fine (nothing to
 * drop). */
int hf_meta_tx_key_drop(hf_meta_t *m, MDB_txn *txn, const char *access_key);
/* Where u holds access_key: 0 the active key, i + 1 retiring[i], -1 not. */
int hf_meta_user_key_index(const hf_user_t *u, const char *access_key);

/* One more reference to blob id (creating its row with size). */
int hf_meta_tx_blob_ref(hf_meta_t *m, MDB_txn *txn, const hf_blob_id_t *id, uint64_t size);
/* One reference less; at zero the row goes and the blob is noted for
 * release after the commit. A missing row is logged and ignored (nothing
 * to release: leaking is safe, releasing a live blob is not). */
int hf_meta_tx_blob_unref(hf_meta_t *m, MDB_txn *txn, const hf_blob_id_t *id);

/* HF_OK if bucket b (name and id) exists in txn, else HF_E_NOTFOUND. */
int hf_meta_tx_bucket_check(hf_meta_t *m, MDB_txn *txn, const hf_bucket_t *b);
/* As hf_meta_tx_bucket_check, and the bucket's flags as of txn. */
int hf_meta_tx_bucket_flags(hf_meta_t *m, MDB_txn *txn, const hf_bucket_t *b, uint32_t *flags);

/* A new current version being written (put, copy, multipart complete). */
typedef struct hf_meta_wput {
    const hf_bucket_t *b;
    const char *key;
    size_t keylen;
    hf_buf_t *rec;              /* the encoded record; its version id is patched in */
    const hf_obj_part_t *parts; /* the record's parts */
    uint32_t nparts;
    bool add_refs;              /* take a reference per part (else the caller moved them) */
    const hf_obj_cond_t *cond;  /* may be NULL */
    uint64_t hlc, origin;       /* the record's: they make its version id */
    uint8_t version[16];        /* out: the version id given */
} hf_meta_wput_t;

/* Write w's record as the current version of its key, following the
 * bucket's versioning state (meta.h). */
int hf_meta_tx_put_version(hf_meta_t *m, MDB_txn *txn, hf_meta_wput_t *w);

/* A version id from its clock value and origin. */
void hf_meta_version_id(uint8_t out[16], uint64_t hlc, uint64_t origin);


/* Delete every part record of upload id, dropping their references. */
int hf_meta_tx_parts_drop(hf_meta_t *m, MDB_txn *txn, const uint8_t id[16]);

/* A long table key's record must carry the key it was looked up by; a
 * mismatch (damage) is HF_E_CORRUPT. HF_OK for short keys. */
int hf_meta_check_long_key(const void *rec, size_t n, size_t fixed, const char *key, size_t keylen);

/* Validate an object from a caller: data fields consistent with size
 * (inline or parts), headers and metadata within bounds. */
int hf_meta_check_obj(const hf_obj_t *o);
/* Validate the caller-supplied headers, user metadata and tags of o. */
int hf_meta_check_headers(const hf_obj_t *o);
/* Tags within HF_OBJ_TAGS_MAX / HF_TAG_KEY_MAX / HF_TAG_VALUE_MAX. */
int hf_meta_check_tags(const hf_kv_t *tags, uint32_t n);

/* Encode o (or an upload template) with its metadata sorted by name. */
int hf_meta_encode_obj(hf_buf_t *b, const hf_obj_t *o, const char *key, size_t keylen);
int hf_meta_encode_upload(hf_buf_t *b, const hf_upload_t *u, const char *key, size_t keylen);

/* ---- listing helpers (obj.c), shared with the upload listing ---- */

/* memcmp order, a proper prefix first. */
int hf_meta_str_cmp(hf_str_t a, hf_str_t b);
/* true if s starts with prefix. */
bool hf_meta_str_prefix(hf_str_t s, hf_str_t prefix);
/* Check a listing's prefix / marker / delimiter: HF_E_INVAL for a length
 * without bytes; 1 when no key can start with prefix (longer than
 * HF_KEY_MAX, or holding 0x00): the listing is empty; else HF_OK. */
int hf_meta_list_args(hf_str_t prefix, hf_str_t marker, hf_str_t delim);
/* Where "keys > marker, starting with prefix" begins (marker may be
 * empty, or of any length): the greater of prefix and the least key above
 * marker, which is built in buf (HF_KEY_MAX + 1 bytes). */
hf_str_t hf_meta_list_start(hf_str_t prefix, hf_str_t marker, char *buf);

/* A heap array grown by doubling, copied into the caller's arena at the
 * end so the arena holds exactly the result. */
typedef struct hf_meta_vec {
    void *p;
    size_t n, cap, elem;
} hf_meta_vec_t;
void *hf_meta_vec_push(hf_meta_vec_t *v);
/* NULL for an empty vector; -ENOMEM into *rc when the arena is full. */
void *hf_meta_vec_to_arena(hf_meta_vec_t *v, hf_arena_t *a, int *rc);

#endif /* HF_META_INTERNAL_H */
