/*
 * keyspace.h -- table keys of the objects and uploads tables, and an
 * ordered scan over them.
 *
 * LMDB keys are at most 511 bytes (mdb_env_get_maxkeysize in Debian's
 * build), S3 keys up to 1024. An object key of at most HF_KS_SHORT_MAX
 * bytes is stored verbatim:
 *
 *   objects  bucket id u64 | key | 0x00
 *   versions bucket id u64 | key | 0x00 | ~hlc u64 | ~origin u64
 *   uploads  bucket id u64 | key | 0x00 | upload id 16
 *
 * A longer ("long") key is stored as its first HF_KS_SHORT_MAX bytes, a
 * 0x01 marker and 16 bytes of SHA-256 of the whole key; the record carries
 * the full key (HF_REC_TAG_KEY):
 *
 *   objects  bucket id u64 | key[0..470) | 0x01 | sha256(key)[0..16)
 *   versions bucket id u64 | key[0..470) | 0x01 | sha256(key)[0..16) | ~hlc | ~origin
 *   uploads  bucket id u64 | key[0..470) | 0x01 | sha256(key)[0..16) | upload id 16
 *
 * The versions and uploads tables share one shape: an object table key
 * followed by a 16-byte suffix (the "id" below). A version's suffix is its
 * clock value and origin inverted, so a key's versions sort newest first.
 *
 * Byte 478 tells the forms apart: a short key has ended by then (0x00
 * terminator or earlier), a long key has 0x01 there. Both forms keep every
 * key in its true sorted position relative to every other key EXCEPT among
 * long keys that share their first 470 bytes (a "group"): those sit
 * together, ordered by hash. The scan below reads such a group whole and
 * sorts it by the full key, so callers always see exact key order. Groups
 * are capped (HF_KS_GROUP_MAX) so that reading one stays cheap.
 *
 * Internal to src/meta. Items returned by the scan point into LMDB memory:
 * valid until the read transaction ends. Threads: one scan per thread.
 */
#ifndef HF_META_KEYSPACE_H
#define HF_META_KEYSPACE_H

#include <lmdb.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* 470 = 511 - 8 (bucket) - 1 (marker) - 16 (hash) - 16 (upload id). */
#define HF_KS_SHORT_MAX 470
#define HF_KS_OBJ_KEY_MAX (8 + HF_KS_SHORT_MAX + 1 + 16)
#define HF_KS_UPLOAD_KEY_MAX (HF_KS_OBJ_KEY_MAX + 16)
/* Table-key bytes shared by a group: bucket, 470 key bytes, marker. */
#define HF_KS_GROUP_PREFIX (8 + HF_KS_SHORT_MAX + 1)
/* Entries (long keys, or uploads of long keys) per group. Reaching it takes
 * a thousand keys of more than 470 bytes with identical first 470 bytes;
 * the bound keeps the cost of a listing that meets a group (read and sort
 * it whole) below a millisecond. */
#define HF_KS_GROUP_MAX 1024

/* A valid object key: 1..HF_KEY_MAX bytes, no 0x00. */
bool hf_ks_key_valid(const char *key, size_t n);

/* The table key of key in bucket; returns its length. key must be valid. */
size_t hf_ks_obj_key(uint8_t out[HF_KS_OBJ_KEY_MAX], uint64_t bucket, const char *key, size_t n);
size_t hf_ks_upload_key(uint8_t out[HF_KS_UPLOAD_KEY_MAX], uint64_t bucket, const char *key, size_t n,
                        const uint8_t id[16]);
/* The versions-table key of a version written at (hlc, origin). */
size_t hf_ks_version_key(uint8_t out[HF_KS_UPLOAD_KEY_MAX], uint64_t bucket, const char *key,
                         size_t n, uint64_t hlc, uint64_t origin);
/* The 16-byte versions-table suffix of (hlc, origin). */
void hf_ks_version_suffix(uint8_t out[16], uint64_t hlc, uint64_t origin);

/* Entries in table dbi sharing the group of long table key tk, counting
 * at most max. */
int hf_ks_group_count(MDB_txn *txn, MDB_dbi dbi, const uint8_t *tk, size_t max, size_t *count);

/* One entry in key order. */
typedef struct hf_ks_item {
    const char *key;  /* the full object key (not NUL-terminated) */
    size_t keylen;
    const uint8_t *id; /* uploads and versions: the 16-byte suffix; objects: NULL */
    MDB_val val;      /* the record */
} hf_ks_item_t;

typedef struct hf_ks_scan {
    MDB_cursor *cur;
    uint8_t bucket[8];
    bool uploads;      /* keys carry a 16-byte suffix (uploads, versions) */
    size_t fixed;      /* record fixed-part size, to find HF_REC_TAG_KEY */
    MDB_val k, v;      /* the cursor's entry, not yet returned */
    bool have;         /* k/v valid (and in the bucket) */
    hf_ks_item_t *grp; /* a long-key group, sorted */
    size_t gn, gi, gcap;
    bool in_grp;
} hf_ks_scan_t;

/* Which table a scan walks. */
enum hf_ks_table { HF_KS_OBJECTS, HF_KS_VERSIONS, HF_KS_UPLOADS };

/* A scan over bucket's entries in dbi (a table of that kind), positioned
 * at the start. */
int hf_ks_scan_open(hf_ks_scan_t *s, MDB_txn *txn, MDB_dbi dbi, uint64_t bucket,
                    enum hf_ks_table table);
void hf_ks_scan_close(hf_ks_scan_t *s);
/* Position at the first item >= (key, id) (id NULL: the first item whose
 * key is >= key). key must not contain 0x00. */
int hf_ks_scan_seek(hf_ks_scan_t *s, const char *key, size_t n, const uint8_t *id);
/* Skip every item whose key starts with p (the scan is at or inside that
 * range). Seeks: never visits the skipped entries (except in a group). */
int hf_ks_scan_skip_prefix(hf_ks_scan_t *s, const char *p, size_t n);
/* 1 and the next item, 0 at the end of the bucket, or an error. */
int hf_ks_scan_next(hf_ks_scan_t *s, hf_ks_item_t *out);

#endif /* HF_META_KEYSPACE_H */
