/*
 * record.h -- the byte encodings of metadata records (values of the LMDB
 * tables). Layouts: docs/internals/FORMAT-meta.md.
 *
 * Every record is: a format version byte (HF_REC_VERSION), fixed fields
 * (big-endian), then tagged fields { u8 tag, u32 length, bytes } to the end
 * of the value. Decoders check every length against the value (damaged
 * bytes give HF_E_CORRUPT, never a read out of bounds), skip tags they do
 * not know below HF_REC_TAG_CRITICAL, and refuse unknown tags at or above
 * it (HF_E_VERSION) -- so a later build can add optional fields without a
 * format bump, and can still add a field older builds must not ignore.
 *
 * Internal to src/meta. Encoders append to a capped hf_buf_t; decoders copy
 * variable-length fields into an arena (or fill fixed-size structs).
 * Threads: pure functions.
 */
#ifndef HF_META_RECORD_H
#define HF_META_RECORD_H

#include "base/arena.h"
#include "base/buf.h"
#include "meta/meta.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HF_REC_VERSION 1

/* Tags. Values below HF_REC_TAG_CRITICAL may be skipped by a decoder that
 * does not know them; values at or above must be understood. */
enum {
    HF_REC_TAG_KEY = 0x01,                 /* full object key (long keys only) */
    HF_REC_TAG_CONTENT_TYPE = 0x02,
    HF_REC_TAG_CONTENT_ENCODING = 0x03,
    HF_REC_TAG_CONTENT_DISPOSITION = 0x04,
    HF_REC_TAG_CONTENT_LANGUAGE = 0x05,
    HF_REC_TAG_CACHE_CONTROL = 0x06,
    HF_REC_TAG_EXPIRES = 0x07,
    HF_REC_TAG_META = 0x08,                /* user metadata pairs */
    HF_REC_TAG_INLINE = 0x09,              /* u32 crc32c + inline bytes */
    HF_REC_TAG_PARTS = 0x0a,               /* blob list */
    HF_REC_TAG_CHECKSUM = 0x0b,            /* alg u8 | type u8 | value */
    HF_REC_TAG_PART_CHECKSUMS = 0x0c,      /* alg u8 | len u8 | one value per part */
    HF_REC_TAG_TAGS = 0x0d,                /* object tags, encoded as user metadata */
    HF_REC_TAG_ACL = 0x0e,                 /* the object's ACL, as the S3 layer encodes it */
    HF_REC_TAG_CRITICAL = 0x80,
    /* Object Lock: mode u8 | retain-until i64 | legal hold u8. Critical: a
     * build that cannot enforce a lock must not touch the record. */
    HF_REC_TAG_LOCK = 0x80,
    /* Server-side encryption: how the data is encrypted (the S3 layer's
     * encoding). Critical: a build that ignored it would serve ciphertext
     * as the object's bytes. */
    HF_REC_TAG_SSE = 0x81,
};

/* Tags of user records (their own namespace). Retiring keys and the
 * active key's creation time are optional: a build that skips them fails
 * closed (a retiring key does not verify against the active secret).
 * Restrictions are critical: a build that cannot enforce them must refuse
 * the user rather than let it in. */
enum {
    HF_REC_USER_TAG_RETIRING = 0x01,    /* count u8, then per key: created i64 | expires i64 |
                                           access key len u8 | key | secret len u8 | secret */
    HF_REC_USER_TAG_KEY_CREATED = 0x02, /* i64: when the active key became active */
    HF_REC_USER_TAG_RESTRICT = 0x80,    /* u32: bit 0 disabled, bit 1 no CreateBucket */
};

/* Object record flags as stored: the hf_obj_t flags in the low byte, and
 * the checksum algorithm and type (copies of the checksum tag) in the next
 * bits, so listings show them from the fixed part alone. */
#define HF_REC_FLAGS_OBJ 0xffu
#define HF_REC_FLAGS_CK_ALG(f) (((f) >> 8) & 0xfu)
#define HF_REC_FLAGS_CK_TYPE(f) (((f) >> 12) & 0x3u)

/* Offset of the version id in an object record (the writer patches it in
 * once the transaction has decided it). */
#define HF_REC_OBJ_VERSION_OFF 37
/* Offset of the clock value (hlc u64): re-stamped in the transaction when
 * a write drawn earlier would otherwise land below the version it
 * replaces. */
#define HF_REC_OBJ_HLC_OFF 21

/* Fixed-part sizes (version byte included). */
#define HF_REC_OBJ_FIXED 81
#define HF_REC_UPLOAD_FIXED 17
#define HF_REC_PART_FIXED 49
#define HF_REC_BLOB_LEN 13
/* Bytes of one entry in an object's parts tag. */
#define HF_REC_OBJ_PART_LEN 44

/* Largest encoded record: 10000 parts of 44 bytes, inline data, the six
 * headers and metadata, with room to spare. */
#define HF_REC_MAX (1024 * 1024)

/* ---- users, buckets (name is the table key, not in the record) ---- */
int hf_rec_user_encode(hf_buf_t *b, const hf_user_t *u);
int hf_rec_user_decode(const void *p, size_t n, hf_user_t *u);
int hf_rec_bucket_encode(hf_buf_t *b, const hf_bucket_t *bk);
int hf_rec_bucket_decode(const void *p, size_t n, hf_bucket_t *bk);

/* ---- objects ---- */
/* key/keylen: written as HF_REC_TAG_KEY when key is non-NULL (long keys).
 * The inline crc32c is taken from o->inline_crc32c as given. */
int hf_rec_obj_encode(hf_buf_t *b, const hf_obj_t *o, const char *key, size_t keylen);
/* Everything, copied into a. Inline data is NOT verified here. */
int hf_rec_obj_decode(const void *p, size_t n, hf_arena_t *a, hf_obj_t *o);
/* As hf_rec_obj_decode; *unknown is set when the record holds optional
 * tags this build skipped (re-encoding it would lose them). */
int hf_rec_obj_decode_ex(const void *p, size_t n, hf_arena_t *a, hf_obj_t *o, bool *unknown);
/* The Object Lock fields of an object record, without copying (HF_LOCK_NONE,
 * 0, false when it has none). */
int hf_rec_obj_lock(const void *p, size_t n, uint8_t *mode, int64_t *until, bool *hold);

/* The fields a listing shows; decoding them reads only the fixed part. */
typedef struct hf_rec_summary {
    uint32_t flags;        /* hf_obj_t flags */
    uint64_t size;
    int64_t mtime;
    uint64_t hlc;
    uint64_t origin;
    uint8_t version[16];
    uint8_t etag[16];
    uint32_t etag_parts;
    uint64_t owner;
    uint8_t ck_alg, ck_type;
} hf_rec_summary_t;
int hf_rec_obj_summary(const void *p, size_t n, hf_rec_summary_t *s);

/* The raw parts tag of an object record, without copying: *raw points at
 * *nparts entries of HF_REC_OBJ_PART_LEN bytes (NULL, 0 if none). Validates
 * the whole record's framing. */
int hf_rec_obj_parts(const void *p, size_t n, const uint8_t **raw, uint32_t *nparts);
/* Decode entry i of a raw parts array. */
void hf_rec_obj_part_at(const uint8_t *raw, uint32_t i, hf_obj_part_t *out);

/* The HF_REC_TAG_KEY of an object (fixed = HF_REC_OBJ_FIXED) or upload
 * (HF_REC_UPLOAD_FIXED) record, pointing into p. HF_E_NOTFOUND if absent. */
int hf_rec_find_key(const void *p, size_t n, size_t fixed, const char **key, size_t *len);

/* ---- uploads (key and id come from the table key) ---- */
int hf_rec_upload_encode(hf_buf_t *b, const hf_upload_t *u, const char *key, size_t keylen);
/* a == NULL: only the fixed fields (initiated, owner); u->tmpl zeroed. */
int hf_rec_upload_decode(const void *p, size_t n, hf_arena_t *a, hf_upload_t *u);

/* ---- parts (number comes from the table key) ---- */
int hf_rec_part_encode(hf_buf_t *b, const hf_part_t *p);
int hf_rec_part_decode(const void *p, size_t n, hf_part_t *out);

/* ---- remembered completions (the upload id is the table key) ---- */
#define HF_REC_DONE_FIXED 93
int hf_rec_done_encode(hf_buf_t *b, uint64_t bucket_id, const char *key, size_t keylen,
                       const hf_upload_done_t *d);
/* *key points into p. */
int hf_rec_done_decode(const void *p, size_t n, uint64_t *bucket_id, const char **key,
                       size_t *keylen, hf_upload_done_t *d);

/* ---- blob reference counts ---- */
void hf_rec_blob_encode(uint8_t out[HF_REC_BLOB_LEN], uint32_t refs, uint64_t size);
int hf_rec_blob_decode(const void *p, size_t n, uint32_t *refs, uint64_t *size);

#endif /* HF_META_RECORD_H */
