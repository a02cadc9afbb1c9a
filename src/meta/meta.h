/*
 * meta.h -- holdfast's metadata: users, buckets, objects, multipart uploads
 * and blob reference counts, in LMDB.
 *
 * Engine. One LMDB environment at <dir>/meta/ (file mode 0600: it holds
 * secrets). Readers use LMDB read transactions and never wait for the
 * writer. All changes go through ONE writer thread that group-commits: it
 * takes every queued operation (up to HF_META_BATCH_MAX), applies each in a
 * nested transaction (so one failing operation does not spoil the others),
 * commits once -- one fsync for the whole batch -- and only then wakes the
 * callers. A function below that changes metadata returns only after its
 * change is durable (or failed). The queue is bounded (HF_META_QUEUE_MAX):
 * callers beyond it wait.
 *
 * Tables (LMDB named databases); keys are big-endian so they sort right:
 *   sys      "format" -> u32 format version; "node" -> u64 node id;
 *            "hlc" -> u64 last hybrid logical clock issued; counters
 *   users    name -> user record
 *   keys     access key -> user name (each of a user's keys: active, retiring)
 *   userids  user id (u64) -> user name
 *   buckets  name -> bucket record
 *   objects  bucket id (u64) | key | 0x00 -> object record (current version)
 *   versions bucket id (u64) | key | 0x00 | ~hlc (u64) | ~origin (u64)
 *            -> object record (a noncurrent version; newest first)
 *   bucketcfg bucket id (u64) | kind (u8) -> a bucket setting (bytes)
 *   uploads  bucket id (u64) | key | 0x00 | upload id (16) -> upload record
 *   parts    upload id (16) | part number (u32) -> part record
 *   done     upload id (16) -> a completed upload's answer, for retries
 *   blobs    blob id (16) -> { refs u32, size u64 }
 * Every record starts with a format version byte; the byte layouts are in
 * docs/internals/FORMAT-meta.md. Keys cannot contain 0x00 (the S3 layer
 * refuses such keys; here they are HF_E_INVAL), so "key | 0x00" sorts
 * exactly as the key does and no key is a prefix-collision of another.
 * LMDB keys are at most 511 bytes: an object key longer than 470 bytes is
 * stored as its first 470 bytes, 0x01 and 16 bytes of its SHA-256, and its
 * record carries the full key. Listings still come out in exact key order
 * (keys sharing their first 470 bytes are sorted in memory); at most 1024
 * such keys (or uploads of them) may share those 470 bytes (HF_E_TOOBIG).
 *
 * Space. A blob (chunk/store.h) is referenced by the object versions and
 * upload parts that list it; the blobs table counts those references. When
 * a change drops a blob's count to zero, the row is deleted in the same
 * transaction and, after the commit is durable, the on_release callback is
 * called for it (from the writer thread). Invariant 1: on_release is never
 * called for a blob that any committed record references. A crash between
 * commit and unlink leaves an orphan chunk file that the chunk store's
 * orphan sweep removes (hf_meta_blob_live tells it what is live).
 * A change cannot tell a new blob from one whose last reference was just
 * dropped: a caller naming a blob it did not write itself (a server-side
 * copy) must make sure the source reference outlives the change.
 *
 * Versions. Every key has at most one current version (objects) and any
 * number of noncurrent ones (versions), all ordered by their hybrid logical
 * clock value: the current version is the newest. Invariant 2: a key has
 * noncurrent versions only while it has a current version (a delete marker
 * counts), so listings and the bucket-empty check need only the objects
 * table to find every key. How a write treats the version it replaces
 * depends on the bucket's versioning state, read inside the write
 * transaction (so a concurrent PutBucketVersioning cannot split a write):
 *   unversioned  the new version is "null" and replaces the current one;
 *   enabled      the new version gets an id (hlc, origin node) and the
 *                current one becomes noncurrent;
 *   suspended    the new version is "null": it replaces a null current
 *                version, or pushes a non-null current one down; any null
 *                noncurrent version is removed.
 * A version id is 16 bytes: hlc u64 | origin u64 (big-endian), so ids are
 * unique across nodes and sort by time; all zero is the null version.
 *
 * Errors: HF_OK; HF_E_NOTFOUND; HF_E_EXISTS; HF_E_CONFLICT (a condition
 * checked inside the write transaction did not hold); HF_E_PRECONDITION (a
 * caller's If-Match / If-None-Match did not hold); HF_E_LOCKED (Object Lock
 * retention or a legal hold forbids the change); HF_E_INVAL (bad
 * argument or record); HF_E_TOOBIG (a bound in limits.h); HF_E_CORRUPT (a
 * stored record failed verification, logged); HF_E_VERSION (a record from
 * a newer format); HF_E_META (LMDB failed, logged); HF_E_STATE (the store
 * refuses writes after a failed commit until reopened); HF_E_NOSPACE (map
 * or disk full); -ENOMEM; a negative errno LMDB passed up.
 *
 * Memory: functions that return records decode them into the caller's arena
 * (strings and arrays are copied out of LMDB), so results stay valid after
 * the read transaction ends, until the arena is reset. Plain structs
 * (hf_user_t, hf_bucket_t) are filled by value.
 *
 * Threads: every function is thread-safe. Functions that change metadata
 * block the calling thread until the group commit that carries the change.
 */
#ifndef HF_META_META_H
#define HF_META_META_H

#include "base/arena.h"
#include "base/hist.h"
#include "base/limits.h"
#include "base/str.h"
#include "chunk/store.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct hf_meta hf_meta_t;

typedef struct hf_meta_config {
    uint64_t map_size; /* 0: HF_META_MAP_SIZE_DEFAULT */
    /* Called from the writer thread after a commit that dropped the last
     * reference to a blob. May be NULL. Must not call back into hf_meta. */
    void (*on_release)(void *ctx, const hf_blob_id_t *id, uint64_t size);
    void *release_ctx;
} hf_meta_config_t;

typedef struct hf_meta_stats {
    uint64_t commits;        /* group commits */
    uint64_t ops;            /* operations committed */
    uint64_t ops_failed;     /* operations that failed inside a batch */
    uint64_t commit_ns_total;/* time spent in mdb_txn_commit */
    uint64_t batch_max;      /* largest batch so far */
    uint64_t queue_depth;    /* operations waiting now (gauge) */
    hf_hist_snap_t batch_sizes; /* operations per group commit */
    hf_hist_snap_t commit_us;   /* commit latency (microseconds) */
} hf_meta_stats_t;

/* Open or create the metadata at <dir>/meta. Starts the writer thread. On
 * first creation a random node id is generated. *out is owned by the
 * caller; close with hf_meta_close. Errors: HF_E_META, HF_E_VERSION,
 * negative errno. */
int hf_meta_open(const char *dir, const hf_meta_config_t *cfg, hf_meta_t **out);

/* Stop the writer (after finishing queued operations) and close LMDB. */
void hf_meta_close(hf_meta_t *m);

/* This node's id (random at creation, stable afterwards). */
uint64_t hf_meta_node_id(const hf_meta_t *m);

/* The next hybrid logical clock value: strictly greater than every value
 * this store issued before (also across restarts), and >= the wall clock in
 * the upper 48 bits (milliseconds), logical counter in the lower 16. */
uint64_t hf_meta_hlc_next(hf_meta_t *m);
/* A clock value above seen (and above every value drawn before). */
uint64_t hf_meta_hlc_after(hf_meta_t *m, uint64_t seen);

/* true if the store refuses writes (a commit failed); see err. */
bool hf_meta_failed(const hf_meta_t *m, int *err);

void hf_meta_stats(hf_meta_t *m, hf_meta_stats_t *out);

/* ---- server-side encryption keys ----------------------------------------- */

/* The SSE-S3 master keys live outside the metadata (a key file, ideally
 * on another disk), but what identifies them is kept here, next to the
 * records that name them, so a server started with the wrong key file
 * refuses to start rather than fail every read. meta stores the bytes the
 * keyring encodes (sse/keyring.h; FORMAT-meta.md, sys "sse_keys"), at most
 * HF_META_SSE_KEYS_MAX. get: HF_E_NOTFOUND when none was ever stored,
 * HF_E_TOOBIG when cap is short (*len says how much is needed); put
 * replaces them (HF_E_TOOBIG, HF_E_INVAL for an empty list). */
#define HF_META_SSE_KEYS_MAX (4 + 20 * 4096)
int hf_meta_sse_keys_get(hf_meta_t *m, uint8_t *out, size_t cap, size_t *len);
int hf_meta_sse_keys_put(hf_meta_t *m, const uint8_t *p, size_t len);

/* ---- users -------------------------------------------------------------- */

enum {
    HF_USER_ROOT = 1,                  /* the admin: signs admin API calls */
    HF_USER_DISABLED = 1 << 1,         /* every key refused (InvalidAccessKeyId) */
    HF_USER_NO_CREATE_BUCKET = 1 << 2, /* CreateBucket answers AccessDenied */
};
/* The flags that restrict a user; the root user never has any. */
#define HF_USER_RESTRICTIONS (HF_USER_DISABLED | HF_USER_NO_CREATE_BUCKET)

/* A key that was active before a rotation: it keeps working until expires,
 * then it is as if it never existed (dropped from the record at the user's
 * next change). */
typedef struct hf_user_key {
    char access_key[HF_ACCESS_KEY_MAX + 1];
    char secret_key[HF_SECRET_KEY_MAX + 1];
    int64_t created;                       /* ns since epoch: when it became active */
    int64_t expires;                       /* ns since epoch: when it stops working */
} hf_user_key_t;

#define HF_USER_RETIRING_MAX (HF_USER_KEYS_MAX - 1)

typedef struct hf_user {
    uint64_t id;                           /* assigned by create, never reused */
    char name[HF_USER_NAME_MAX + 1];
    /* The active key (hf_meta_user_by_key: the key it matched, see there). */
    char access_key[HF_ACCESS_KEY_MAX + 1];
    char secret_key[HF_SECRET_KEY_MAX + 1];
    char canonical_id[65];                 /* 64 hex chars (S3 canonical user id), assigned by create */
    int64_t created;                       /* ns since epoch, assigned by create */
    uint32_t flags;                        /* HF_USER_* */
    int64_t key_created;                   /* when the active key became active */
    uint32_t nretiring;                    /* keys in retiring[], oldest first */
    hf_user_key_t retiring[HF_USER_RETIRING_MAX];
} hf_user_t;

/* Create a user. name, access_key, secret_key and flags (HF_USER_ROOT, or
 * restrictions: not both) come from u; id, canonical_id, created and
 * key_created are assigned and written back into u; nretiring is 0.
 * HF_E_EXISTS if the name or the access key is taken; HF_E_INVAL for
 * unknown flags or a restricted root. */
int hf_meta_user_create(hf_meta_t *m, hf_user_t *u);
int hf_meta_user_get(hf_meta_t *m, const char *name, hf_user_t *out);
/* The user holding access_key: its active key, or a retiring key whose
 * grace period has not ended (then out->access_key and out->secret_key are
 * that key's, so a caller checks a signature against out->secret_key
 * either way). HF_E_NOTFOUND for an unknown or expired key. A disabled
 * user is returned (flags say so): refusing it is the caller's call. */
int hf_meta_user_by_key(hf_meta_t *m, const char *access_key, hf_user_t *out);
int hf_meta_user_by_id(hf_meta_t *m, uint64_t id, hf_user_t *out);
/* All users sorted by name, into the arena. */
int hf_meta_user_list(hf_meta_t *m, hf_arena_t *a, hf_user_t **out, size_t *n);
/* Delete a user and all its access keys. HF_E_NOTFOUND; HF_E_CONFLICT if
 * it is the root user or still owns buckets. */
int hf_meta_user_delete(hf_meta_t *m, const char *name);

/* Rotate name's key: access_key/secret_key (validated by the caller)
 * become the active key; the previous active key keeps working for
 * grace_ns (0: it is removed at once). Retiring keys whose grace has
 * ended are dropped. HF_E_NOTFOUND (no such user); HF_E_EXISTS (the new
 * access key is taken); HF_E_TOOBIG (the user would hold more than
 * HF_USER_KEYS_MAX keys: delete a retiring one first); HF_E_INVAL (grace
 * out of 0..HF_KEY_GRACE_MAX_S, bad key lengths). On success *out (may be
 * NULL) is the user as stored. */
int hf_meta_user_key_rotate(hf_meta_t *m, const char *name, const char *access_key,
                            const char *secret_key, int64_t grace_ns, hf_user_t *out);
/* End a retiring key's grace period now. HF_E_NOTFOUND (no such user, or
 * it holds no such retiring key); HF_E_CONFLICT (access_key is the active
 * key: rotate instead). */
int hf_meta_user_key_delete(hf_meta_t *m, const char *name, const char *access_key);
/* Set and clear restriction flags (HF_USER_RESTRICTIONS; others:
 * HF_E_INVAL). HF_E_NOTFOUND; HF_E_CONFLICT for the root user (it cannot
 * be disabled or restricted). Takes effect on the next lookup: requests
 * already authenticated finish. *out (may be NULL) is the user as stored. */
int hf_meta_user_set_flags(hf_meta_t *m, const char *name, uint32_t set, uint32_t clear,
                           hf_user_t *out);

/* Edits of a user record (userkey.c): the rules for a user's keys and
 * restrictions, applied to a decoded record -- by the functions above
 * inside their write transaction, and by a cluster's catalog to the
 * record it holds in etcd. Each leaves the caller to drop the index rows
 * of the access keys the record stops holding. now: ns since epoch.
 *
 * hf_meta_user_prune: drop retiring keys whose grace has ended at now;
 * their access keys into dropped[] (room for HF_USER_RETIRING_MAX), the
 * count returned.
 * hf_meta_user_rotate: access_key/secret_key become active; the active
 * key retires for grace_ns, or with grace 0 is dropped (into dropped,
 * else dropped is ""). HF_E_TOOBIG when HF_USER_RETIRING_MAX keys retire.
 * hf_meta_user_retire_now: end retiring key access_key's grace.
 * HF_E_CONFLICT for the active key, HF_E_NOTFOUND if not held.
 * hf_meta_user_restrict: set, then clear restriction flags; HF_E_INVAL
 * for other flags, HF_E_CONFLICT to restrict the root user. */
uint32_t hf_meta_user_prune(hf_user_t *u, int64_t now, char dropped[][HF_ACCESS_KEY_MAX + 1]);
int hf_meta_user_rotate(hf_user_t *u, const char *access_key, const char *secret_key,
                        int64_t grace_ns, int64_t now, char dropped[HF_ACCESS_KEY_MAX + 1]);
int hf_meta_user_retire_now(hf_user_t *u, const char *access_key);
int hf_meta_user_restrict(hf_user_t *u, uint32_t set, uint32_t clear);

/* ---- buckets ------------------------------------------------------------ */

typedef struct hf_bucket {
    uint64_t id;                    /* assigned by create, never reused */
    char name[HF_BUCKET_NAME_MAX + 1];
    uint64_t owner;                 /* user id */
    int64_t created;                /* ns since epoch */
    char region[HF_REGION_MAX + 1]; /* LocationConstraint given at create ("" if none) */
    uint32_t flags;                 /* HF_BUCKET_* */
} hf_bucket_t;

enum {
    HF_BUCKET_VERSIONING = 1 << 0, /* versioning Enabled */
    HF_BUCKET_SUSPENDED = 1 << 1,  /* versioning Suspended */
    HF_BUCKET_OBJECT_LOCK = 1 << 2,/* created with Object Lock (always Enabled) */
    /* Block Public Access: set (a configuration exists) and its four
     * settings. */
    HF_BUCKET_PAB = 1 << 3,
    HF_BUCKET_PAB_BLOCK_ACLS = 1 << 4,
    HF_BUCKET_PAB_IGNORE_ACLS = 1 << 5,
    HF_BUCKET_PAB_BLOCK_POLICY = 1 << 6,
    HF_BUCKET_PAB_RESTRICT = 1 << 7,
    /* Object Ownership: set, and which (the two bits below; neither:
     * ObjectWriter). */
    HF_BUCKET_OWNERSHIP = 1 << 8,
    HF_BUCKET_OWNER_PREFERRED = 1 << 9,
    HF_BUCKET_OWNER_ENFORCED = 1 << 10,
    /* A bucket policy (HF_BCFG_POLICY) / an ACL other than the owner's
     * default (HF_BCFG_ACL) is stored: requests need to read it. */
    HF_BUCKET_HAS_POLICY = 1 << 11,
    HF_BUCKET_HAS_ACL = 1 << 12,
    /* A default encryption configuration (HF_BCFG_ENCRYPTION) is stored:
     * writes without encryption headers read it. */
    HF_BUCKET_HAS_ENCRYPTION = 1 << 13,
};
#define HF_BUCKET_PAB_ALL                                                                          \
    (HF_BUCKET_PAB | HF_BUCKET_PAB_BLOCK_ACLS | HF_BUCKET_PAB_IGNORE_ACLS |                        \
     HF_BUCKET_PAB_BLOCK_POLICY | HF_BUCKET_PAB_RESTRICT)
#define HF_BUCKET_OWNERSHIP_ALL                                                                    \
    (HF_BUCKET_OWNERSHIP | HF_BUCKET_OWNER_PREFERRED | HF_BUCKET_OWNER_ENFORCED)

/* Bucket settings kept beside the bucket record, one blob of bytes each
 * (validated and encoded by the S3 layer). */
enum hf_bucket_cfg {
    HF_BCFG_CORS = 1,
    HF_BCFG_LIFECYCLE = 2,
    HF_BCFG_TAGGING = 3,
    HF_BCFG_OBJECT_LOCK = 4, /* default retention */
    HF_BCFG_POLICY = 5,
    HF_BCFG_ACL = 6,
    HF_BCFG_PUBLIC_ACCESS_BLOCK = 7,
    HF_BCFG_OWNERSHIP = 8,
    HF_BCFG_LIFECYCLE_STATE = 9, /* the lifecycle worker's progress */
    HF_BCFG_ENCRYPTION = 10,     /* default encryption (PutBucketEncryption) */
};
/* Largest setting (a CORS or lifecycle document: S3 allows 1000 rules). */
#define HF_BUCKET_CFG_MAX HF_XML_BODY_MAX

/* Create a bucket from b (name, owner, region, flags); id and created are
 * assigned and written back. HF_E_EXISTS if the name is taken: then
 * b->owner is overwritten with the existing bucket's owner so the caller
 * can tell BucketAlreadyOwnedByYou from BucketAlreadyExists.
 * HF_E_NOTFOUND if owner is not a user; HF_E_TOOBIG if the owner already
 * has HF_BUCKETS_PER_USER_MAX buckets; HF_E_INVAL for a name shorter than
 * HF_BUCKET_NAME_MIN (the S3 layer checks the naming rules). */
int hf_meta_bucket_create(hf_meta_t *m, hf_bucket_t *b);
int hf_meta_bucket_get(hf_meta_t *m, const char *name, hf_bucket_t *out);
/* Delete bucket b (name and id must both match: HF_E_NOTFOUND otherwise).
 * HF_E_CONFLICT if it holds any object. Multipart uploads still in progress
 * are aborted in the same transaction and their blobs released. */
int hf_meta_bucket_delete(hf_meta_t *m, const hf_bucket_t *b);
/* Buckets owned by owner (every bucket if owner == 0), sorted by name. */
int hf_meta_bucket_list(hf_meta_t *m, uint64_t owner, hf_arena_t *a, hf_bucket_t **out,
                        size_t *n);

/* Set the versioning state: enable true -> Enabled, false -> Suspended.
 * HF_E_NOTFOUND if b is gone; HF_E_CONFLICT when suspending an Object Lock
 * bucket. b->flags is updated. */
int hf_meta_bucket_versioning(hf_meta_t *m, hf_bucket_t *b, bool enable);

/* Turn Object Lock on (for good) for a bucket whose versioning is Enabled:
 * HF_E_CONFLICT otherwise. b->flags is updated. */
int hf_meta_bucket_object_lock(hf_meta_t *m, hf_bucket_t *b);

/* Change b's flags: clear, then set, in one transaction with a setting
 * (kind 0: none; len 0 removes it) -- so a flag that says a setting
 * exists never disagrees with it. HF_E_NOTFOUND if b is gone. b->flags is
 * updated. */
int hf_meta_bucket_update(hf_meta_t *m, hf_bucket_t *b, uint32_t clear, uint32_t set,
                          enum hf_bucket_cfg kind, const void *data, size_t len);

/* A bucket setting, copied into a. HF_E_NOTFOUND if none is set. */
int hf_meta_bucket_cfg_get(hf_meta_t *m, uint64_t bucket_id, enum hf_bucket_cfg kind,
                           hf_arena_t *a, const uint8_t **data, size_t *len);
/* Set (len > 0) or remove (len == 0; HF_OK even if none was set) a
 * setting. HF_E_NOTFOUND if b is gone; HF_E_TOOBIG past HF_BUCKET_CFG_MAX. */
int hf_meta_bucket_cfg_put(hf_meta_t *m, const hf_bucket_t *b, enum hf_bucket_cfg kind,
                           const void *data, size_t len);

/* ---- the cluster's cache (cache.c) -------------------------------------- */

/* In a cluster, users, their keys and buckets live in etcd
 * (cluster/catalog.h) and a node's metadata is their cache: these write a
 * record exactly as the cluster holds it (ids, keys, times, flags
 * included) instead of assigning anything. They do not refuse for what
 * the cluster already decided (a user who owns buckets may be forgotten;
 * a key another cached user lists is taken over): rows the write makes
 * stale go in the same transaction.
 *
 * hf_meta_user_put: create or replace the user named u->name. HF_E_INVAL
 * for a record that could not be stored (no id, bad lengths).
 * hf_meta_user_forget: remove a user and its keys. HF_E_NOTFOUND.
 * hf_meta_bucket_put: create or replace bucket b->name with b's id;
 * HF_E_CONFLICT (logged) if a bucket of that name with another id still
 * holds objects on this node. */
int hf_meta_user_put(hf_meta_t *m, const hf_user_t *u);
int hf_meta_user_forget(hf_meta_t *m, const char *name);
int hf_meta_bucket_put(hf_meta_t *m, const hf_bucket_t *b);

/* ---- objects ------------------------------------------------------------ */

enum {
    HF_OBJ_INLINE = 1 << 0,        /* data is in the record (inline_*) */
    HF_OBJ_DELETE_MARKER = 1 << 1, /* a delete marker: no data, no headers */
    HF_OBJ_MULTIPART = 1 << 2,     /* assembled by CompleteMultipartUpload */
};

/* S3 checksum algorithms (x-amz-checksum-*), as stored. */
enum hf_ck_alg {
    HF_CK_NONE = 0,
    HF_CK_CRC32 = 1,
    HF_CK_CRC32C = 2,
    HF_CK_CRC64NVME = 3,
    HF_CK_SHA1 = 4,
    HF_CK_SHA256 = 5,
};
/* How an object's checksum covers it: the whole body, or (multipart) a
 * checksum of the parts' checksums. */
enum hf_ck_type { HF_CK_FULL_OBJECT = 1, HF_CK_COMPOSITE = 2 };
#define HF_CK_MAX_LEN 32

/* Object Lock retention modes. */
enum hf_lock_mode { HF_LOCK_NONE = 0, HF_LOCK_GOVERNANCE = 1, HF_LOCK_COMPLIANCE = 2 };

/* One blob of an object's data, in order. A simple PUT has one part (or
 * none when the object is inline or empty); a multipart object has one per
 * uploaded part. */
typedef struct hf_obj_part {
    hf_blob_id_t blob;
    uint64_t size;
    uint32_t number;    /* multipart part number; 0 for a simple PUT */
    uint8_t etag[16];   /* MD5 of the part (multipart); zero otherwise */
} hf_obj_part_t;

typedef struct hf_kv {
    const char *name;   /* x-amz-meta-* name without the prefix, lower-case; or a tag key */
    const char *value;
} hf_kv_t;

/* Server-side encryption: the S3 layer encodes how an object's data is
 * encrypted (mode, wrapped data key, key check; s3/sse.c) and meta stores
 * the bytes, at most this many. An encrypted object's inline data is
 * sealed: its size plus HF_OBJ_SEALED_EXTRA bytes (the GCM tag). */
#define HF_OBJ_SSE_MAX 256
#define HF_OBJ_SEALED_EXTRA 16

/* Object tags: at most this many per object (S3: 10). S3 bounds keys and
 * values to 128 and 256 characters, which the S3 layer checks; stored
 * bytes are bounded by the longest UTF-8 those can take. */
#define HF_OBJ_TAGS_MAX 10
/* An encoded access control list: S3 allows 100 grants; each takes at
 * most 2 + 1 + 64 bytes in the S3 layer's encoding. */
#define HF_OBJ_ACL_MAX (8 + 100 * 67)
#define HF_TAG_KEY_MAX (128 * 4)
#define HF_TAG_VALUE_MAX (256 * 4)

typedef struct hf_obj {
    uint32_t flags;
    uint64_t size;
    int64_t mtime;             /* Last-Modified, ns since epoch */
    uint64_t hlc;              /* hf_meta_hlc_next() at write */
    uint64_t origin;           /* node id that wrote it */
    uint8_t version[16];       /* version id; all zero is the "null" version */
    uint8_t etag[16];          /* MD5 of the body, or of the part MD5s (multipart) */
    uint32_t etag_parts;       /* 0 for a simple PUT; N gives the "-N" suffix */
    uint64_t owner;            /* user id of the writer */
    /* Standard headers as given at write; NULL when absent. */
    const char *content_type;
    const char *content_encoding;
    const char *content_disposition;
    const char *content_language;
    const char *cache_control;
    const char *expires;
    uint32_t nmeta;
    hf_kv_t *meta;             /* user metadata, sorted by name */
    /* Inline data (HF_OBJ_INLINE): verified by crc32c on every read. When
     * sse_len is not 0 it is sealed (size + HF_OBJ_SEALED_EXTRA bytes) and
     * the crc32c covers it as stored. */
    const uint8_t *inline_data;
    uint32_t inline_len;
    uint32_t inline_crc32c;
    uint32_t nparts;
    hf_obj_part_t *parts;
    /* The checksum the client gave (or the one derived from its parts):
     * ck_alg HF_CK_NONE when there is none. */
    uint8_t ck_alg;            /* enum hf_ck_alg */
    uint8_t ck_type;           /* enum hf_ck_type */
    uint8_t ck_len;            /* bytes of ck (4, 8, 20 or 32) */
    uint8_t ck[HF_CK_MAX_LEN];
    /* Multipart: each part's checksum (nparts entries of ck_len bytes, in
     * part order), NULL when the parts carried none. */
    const uint8_t *part_ck;
    /* Tags (x-amz-tagging), in the order given; at most HF_OBJ_TAGS_MAX. */
    uint32_t ntags;
    hf_kv_t *tags;
    /* Object Lock: retention (mode, until in ns) and the legal hold. */
    uint8_t lock_mode;         /* enum hf_lock_mode */
    int64_t lock_until;
    bool legal_hold;
    /* The object's access control list, encoded by the S3 layer (meta
     * stores the bytes); acl_len 0: none stored (the owner's default). At
     * most HF_OBJ_ACL_MAX bytes. */
    const uint8_t *acl;
    uint32_t acl_len;
    /* Server-side encryption of the data (sse_len 0: stored as given);
     * opaque to meta, at most HF_OBJ_SSE_MAX bytes. In an upload's
     * template: what every part is encrypted with. */
    const uint8_t *sse;
    uint32_t sse_len;
    /* Filled by reads, not stored: this is the key's current version. */
    bool latest;
} hf_obj_t;

/* A version selector: NULL means the current version; otherwise the 16
 * bytes of a version id (all zero: the null version). */
typedef const uint8_t *hf_version_sel_t;

/* A version of key in bucket_id, decoded into a: the current one (ver
 * NULL) or the one named. The current version may be a delete marker
 * (flags & HF_OBJ_DELETE_MARKER): callers decide what that means.
 * HF_E_NOTFOUND. Inline data is verified (HF_E_CORRUPT on mismatch,
 * logged); a damaged record is HF_E_CORRUPT, one from a newer format
 * HF_E_VERSION. */
int hf_meta_obj_get(hf_meta_t *m, uint64_t bucket_id, const char *key, size_t keylen,
                    hf_version_sel_t ver, hf_arena_t *a, hf_obj_t *out);

/* Conditions a write checks against the key's current version inside its
 * transaction (S3 conditional writes). A delete marker counts as absent. */
typedef struct hf_obj_cond {
    bool if_none_match;    /* If-None-Match: * -- there must be no current object
                              (else HF_E_PRECONDITION) */
    bool if_match;         /* If-Match: the current object's ETag must be
                              etag/etag_parts (HF_E_PRECONDITION), and it must
                              exist (HF_E_NOTFOUND) */
    bool if_match_any;     /* with if_match: any ETag will do (If-Match: *) */
    uint8_t etag[16];
    uint32_t etag_parts;
    /* The object's blobs belong to another version (a server-side copy):
     * every blob must still have a reference row when the change commits,
     * else HF_E_CONFLICT (the source was deleted meanwhile). */
    bool shared_blobs;
} hf_obj_cond_t;

/* Write o as the new current version of key in bucket b, following the
 * bucket's versioning state (above). Atomically:
 *   - bucket b (name and id) must still exist, else HF_E_NOTFOUND;
 *   - cond (may be NULL) must hold;
 *   - each of o's parts gets a blob reference (a new blob row, refs = 1,
 *     or refs + 1 if the row exists);
 *   - a version the write replaces has its blob references dropped (blobs
 *     reaching zero are released after the commit).
 * The version id is assigned inside the transaction and written to
 * o->version. Blob ids in o must be finished, durable blobs
 * (hf_blob_writer_finish), or blobs of another version with
 * cond->shared_blobs. o is checked: HF_OBJ_INLINE needs inline_len == size
 * <= HF_INLINE_MAX and no parts, otherwise the parts' sizes must add up to
 * size (HF_E_INVAL); headers, metadata and tags within limits.h
 * (HF_E_TOOBIG). The stored inline_crc32c is computed here, and the
 * metadata is stored sorted by name. */
int hf_meta_obj_put(hf_meta_t *m, const hf_bucket_t *b, const char *key, size_t keylen,
                    hf_obj_t *o, const hf_obj_cond_t *cond);

/* What a delete did. */
typedef struct hf_del_res {
    bool marker;           /* the version created or removed is a delete marker */
    uint8_t version[16];   /* that version's id */
    bool versioned;        /* a version id applies (x-amz-version-id is sent) */
    bool no_current;       /* a condition was given and the key has no current
                              object (rc HF_E_NOTFOUND) */
} hf_del_res_t;

/* Delete flags. */
enum { HF_DEL_BYPASS_GOVERNANCE = 1 << 0 };

/* Delete in bucket b. With ver NULL, as the bucket's versioning state
 * says: unversioned, the current version is removed (HF_E_NOTFOUND if
 * there is none); enabled or suspended, a delete marker becomes the
 * current version (a null one when suspended, replacing a null version).
 * With ver, exactly that version is removed for good (HF_E_NOTFOUND if
 * there is no such version); when it was the current one, the newest
 * noncurrent version becomes current. A version under Object Lock
 * retention (governance without HF_DEL_BYPASS_GOVERNANCE, or compliance)
 * or legal hold is not removed: HF_E_LOCKED. A delete marker is owned by
 * requester (a user id). res may be NULL. */
int hf_meta_obj_delete(hf_meta_t *m, const hf_bucket_t *b, const char *key, size_t keylen,
                       hf_version_sel_t ver, unsigned flags, uint64_t requester, hf_del_res_t *res);

/* One key (and optional version) of a multi-object delete. */
typedef struct hf_del_item {
    hf_str_t key;
    bool has_version;
    uint8_t version[16];
    /* Not 0: remove only if the version to be removed (the current one
     * when has_version is false) was written at this clock value, else
     * HF_E_PRECONDITION -- for decisions made on a listing (lifecycle),
     * so a version written meanwhile is never the one removed. */
    uint64_t if_hlc;
    /* May be NULL. S3 conditional deletes: if_match (with if_match_any or
     * etag/etag_parts) is checked against the key's current version, also
     * when a version is named -- HF_E_PRECONDITION when the ETag differs,
     * HF_E_NOTFOUND with res.no_current when there is no current object
     * (none, or a delete marker). Other fields are ignored. */
    const hf_obj_cond_t *cond;
    int rc;                /* out: as hf_meta_obj_delete */
    hf_del_res_t res;      /* out */
} hf_del_item_t;

/* Delete up to HF_DELETE_OBJECTS_MAX items in one commit (more:
 * HF_E_TOOBIG). Each item's outcome is its rc; the return value is HF_OK
 * for a single item, or for several the failure of the call itself (then
 * also every item's rc). */
int hf_meta_obj_delete_many(hf_meta_t *m, const hf_bucket_t *b, hf_del_item_t *items, size_t n,
                            unsigned flags, uint64_t requester);

/* Changes to one version's settings, applied in place (no new version). */
typedef struct hf_obj_update {
    bool set_tags;         /* replace the tags with tags[0..ntags) (0: remove them) */
    const hf_kv_t *tags;
    uint32_t ntags;
    bool set_retention;    /* Object Lock retention: mode and until */
    uint8_t lock_mode;
    int64_t lock_until;
    bool bypass_governance;/* allow shortening/removing governance retention */
    bool set_legal_hold;
    bool legal_hold;
    bool set_acl;          /* replace the ACL with acl[0..acl_len) (0: the default) */
    const uint8_t *acl;
    uint32_t acl_len;
} hf_obj_update_t;

/* Apply u to a version of key (ver as in hf_meta_obj_get). A delete
 * marker takes no tags or lock settings: HF_E_INVAL. Retention in
 * compliance mode can only be extended, in governance mode only extended
 * unless bypass_governance: HF_E_LOCKED otherwise. HF_E_NOTFOUND. On
 * success *version (may be NULL) is the version changed. */
int hf_meta_obj_update(hf_meta_t *m, const hf_bucket_t *b, const char *key, size_t keylen,
                       hf_version_sel_t ver, const hf_obj_update_t *u, uint8_t version[16]);

/* Listing, with S3's prefix / delimiter / marker semantics. */
typedef struct hf_list_req {
    uint64_t bucket_id;
    hf_str_t prefix;      /* only keys starting with it */
    hf_str_t start_after; /* only keys > it (marker, start-after, continuation) */
    hf_str_t delimiter;   /* roll keys up into common prefixes; empty = none */
    uint32_t max_keys;    /* entries + prefixes returned <= max_keys (<= HF_LIST_PAGE_MAX) */
} hf_list_req_t;

typedef struct hf_list_entry {
    hf_str_t key;         /* in the arena */
    uint64_t size;
    int64_t mtime;
    uint8_t etag[16];
    uint32_t etag_parts;
    uint64_t owner;
    uint32_t flags;
    uint8_t version[16];  /* version listings */
    bool latest;          /* version listings: the key's current version */
    uint64_t hlc;         /* the version's clock value (hf_del_item_t.if_hlc) */
    uint8_t ck_alg;       /* enum hf_ck_alg */
    uint8_t ck_type;
} hf_list_entry_t;

typedef struct hf_list_res {
    hf_list_entry_t *entries; /* in key order */
    uint32_t nentries;
    hf_str_t *prefixes;       /* common prefixes, in order */
    uint32_t nprefixes;
    bool truncated;           /* more keys or prefixes follow */
    hf_str_t last;            /* the greatest key or prefix returned (for markers) */
} hf_list_res_t;

/* List one page of keys whose current version is not a delete marker.
 * A common prefix is prefix + (bytes up to and including the first
 * delimiter after prefix); every key under it counts once, as that prefix
 * (a prefix all of whose keys are delete markers is not listed). A common prefix that sorts <= start_after is skipped entirely
 * (so a marker that is a common prefix resumes after it). max_keys == 0
 * returns nothing and truncated = false; above HF_LIST_PAGE_MAX it is
 * clamped. prefix, start_after and delimiter may be of any length (the
 * request line bounds them): a prefix no key can have (longer than
 * HF_KEY_MAX, or holding 0x00) lists nothing. Reads one consistent
 * snapshot; a damaged record met on the way fails the page (HF_E_CORRUPT /
 * HF_E_VERSION, logged). */
int hf_meta_obj_list(hf_meta_t *m, const hf_list_req_t *rq, hf_arena_t *a, hf_list_res_t *out);

/* List versions (ListObjectVersions): keys in order, each key's versions
 * newest first (the current one, latest = true, then the noncurrent ones),
 * delete markers included. Common prefixes as in hf_meta_obj_list. Resume
 * after (key_marker, version_marker): with no version marker, after every
 * version of key_marker; with one, after that version of that key
 * (version_marker_null: the null version). Every version and every prefix
 * counts against max_keys. */
typedef struct hf_vlist_req {
    uint64_t bucket_id;
    hf_str_t prefix;
    hf_str_t delimiter;
    hf_str_t key_marker;
    const uint8_t *version_marker; /* 16 bytes (zero: null version) or NULL */
    uint32_t max_keys;
} hf_vlist_req_t;

typedef struct hf_vlist_res {
    hf_list_entry_t *entries; /* version and latest set */
    uint32_t nentries;
    hf_str_t *prefixes;
    uint32_t nprefixes;
    bool truncated;
    hf_str_t next_key;        /* NextKeyMarker (when truncated) */
    uint8_t next_version[16]; /* NextVersionIdMarker, when has_next_version */
    bool has_next_version;    /* false when the page ended on a common prefix */
} hf_vlist_res_t;

int hf_meta_obj_list_versions(hf_meta_t *m, const hf_vlist_req_t *rq, hf_arena_t *a,
                              hf_vlist_res_t *out);

/* ---- multipart uploads -------------------------------------------------- */

typedef struct hf_upload {
    uint8_t id[16];      /* assigned by create: 8 bytes big-endian ns time + 8 random,
                            so ids sort by initiation time */
    hf_str_t key;        /* in the arena (on get/list) */
    int64_t initiated;   /* ns since epoch */
    uint64_t owner;      /* user id of the initiator */
    hf_obj_t tmpl;       /* what the object will get: headers, user metadata,
                            tags, Object Lock settings, and the checksum
                            algorithm and type the parts use (ck_alg,
                            ck_type; ck unused); data fields unused */
} hf_upload_t;

typedef struct hf_part {
    uint32_t number;     /* 1..HF_PART_NUMBER_MAX */
    hf_blob_id_t blob;
    uint64_t size;
    uint8_t etag[16];    /* MD5 of the part */
    int64_t mtime;       /* ns since epoch */
    uint8_t ck_len;      /* the part's checksum (upload's algorithm), 0 if none */
    uint8_t ck[HF_CK_MAX_LEN];
} hf_part_t;

/* Create an upload for key in bucket b from u (initiated, owner, tmpl);
 * u->id is assigned and written back. HF_E_NOTFOUND if b is gone. */
int hf_meta_upload_create(hf_meta_t *m, const hf_bucket_t *b, const char *key, size_t keylen,
                          hf_upload_t *u);

/* The upload with this id for key in bucket_id. HF_E_NOTFOUND. */
int hf_meta_upload_get(hf_meta_t *m, uint64_t bucket_id, const char *key, size_t keylen,
                       const uint8_t id[16], hf_arena_t *a, hf_upload_t *out);

/* Record part p of the upload (replacing a previous part with the same
 * number, whose blob reference is dropped). HF_E_NOTFOUND if the upload no
 * longer exists (completed or aborted meanwhile): the caller then still
 * owns p->blob and must release it. */
int hf_meta_part_put(hf_meta_t *m, uint64_t bucket_id, const char *key, size_t keylen,
                     const uint8_t upload_id[16], const hf_part_t *p);

/* Parts of an upload with number > after, in order, at most max
 * (clamped to HF_PART_NUMBER_MAX); *truncated if more follow. */
int hf_meta_part_list(hf_meta_t *m, const uint8_t upload_id[16], uint32_t after, uint32_t max,
                      hf_arena_t *a, hf_part_t **out, uint32_t *n, bool *truncated);

/* Complete an upload: o (built by the caller from the parts it validated,
 * part numbers strictly ascending, not inline: else HF_E_INVAL) becomes
 * the current version of key, atomically with:
 *   - the upload must still exist, else HF_E_NOTFOUND;
 *   - every part listed in o must still be the recorded part of that number
 *     with the same blob id, else HF_E_CONFLICT (a part was re-uploaded);
 *   - the parts' blob references move to the object; recorded parts not
 *     listed in o are dropped; the upload and its part records are deleted;
 *   - cond (may be NULL) must hold, as in hf_meta_obj_put;
 *   - the new version is written as hf_meta_obj_put writes one (its id
 *     into o->version). */
int hf_meta_upload_complete(hf_meta_t *m, const hf_bucket_t *b, const char *key, size_t keylen,
                            const uint8_t upload_id[16], hf_obj_t *o, const hf_obj_cond_t *cond);

/* A completed upload, remembered for a while so that a repeated
 * CompleteMultipartUpload -- a client retrying after the answer was lost --
 * gets the same answer instead of NoSuchUpload (S3 answers such retries
 * 200). It holds no blob references. */
typedef struct hf_upload_done {
    int64_t completed;          /* ns since epoch */
    int64_t expires;            /* ns since epoch: forgotten from then on */
    uint8_t parts_digest[32];   /* the S3 layer's digest of the Complete request's part list */
    uint8_t version[16];        /* the version the upload became */
    uint8_t etag[16];
    uint32_t etag_parts;
    uint8_t ck_alg, ck_type, ck_len; /* the object's checksum (ck_alg 0: none) */
    uint8_t ck[HF_CK_MAX_LEN];
} hf_upload_done_t;

/* As hf_meta_upload_complete, and in the same transaction remember the
 * completion (done: parts_digest and expires from the caller; completed,
 * version, etag and checksum filled from o and written back) until
 * done->expires, keyed by the upload id. The same commit forgets up to
 * HF_META_DONE_PRUNE remembered completions whose time has passed. */
int hf_meta_upload_complete_done(hf_meta_t *m, const hf_bucket_t *b, const char *key, size_t keylen,
                                 const uint8_t upload_id[16], hf_obj_t *o, const hf_obj_cond_t *cond,
                                 hf_upload_done_t *done);
/* Remembered completions a commit looks at (and forgets, when their time
 * has passed) per completion: enough to keep up with any completion rate,
 * little enough to cost nothing next to the commit. */
#define HF_META_DONE_PRUNE 16

/* The remembered completion of upload id for key in bucket_id, if it has
 * not expired by now (ns since epoch). HF_E_NOTFOUND when there is none,
 * it expired, or it was for another bucket or key; HF_E_CORRUPT /
 * HF_E_VERSION for a damaged or newer record. */
int hf_meta_upload_done_get(hf_meta_t *m, uint64_t bucket_id, const char *key, size_t keylen,
                            const uint8_t id[16], int64_t now, hf_upload_done_t *out);

/* Abort: delete the upload and its parts, dropping their blob references.
 * HF_E_NOTFOUND if it does not exist. */
int hf_meta_upload_abort(hf_meta_t *m, const hf_bucket_t *b, const char *key, size_t keylen,
                         const uint8_t upload_id[16]);

/* List uploads in a bucket, ordered by key then initiation time.
 * S3's ListMultipartUploads semantics: prefix, delimiter (common prefixes
 * of keys), key_marker / upload_id_marker (resume after that key, or after
 * that upload of that key when upload_id_marker is given). The uploads
 * returned carry id, key, initiated and owner; tmpl is left zeroed (use
 * hf_meta_upload_get). The marker may point into the previous page's
 * result. */
typedef struct hf_upload_list_req {
    uint64_t bucket_id;
    hf_str_t prefix;
    hf_str_t delimiter;
    hf_str_t key_marker;
    const uint8_t *upload_id_marker; /* 16 bytes or NULL */
    uint32_t max_uploads;
} hf_upload_list_req_t;

typedef struct hf_upload_list_res {
    hf_upload_t *uploads;
    uint32_t nuploads;
    hf_str_t *prefixes;
    uint32_t nprefixes;
    bool truncated;
    hf_str_t next_key;        /* key (or prefix) of the last item returned */
    uint8_t next_upload_id[16];
    bool has_next_upload_id;  /* false when the last item was a prefix */
} hf_upload_list_res_t;

int hf_meta_upload_list(hf_meta_t *m, const hf_upload_list_req_t *rq, hf_arena_t *a,
                        hf_upload_list_res_t *out);

/* ---- scanning every stored object version ------------------------------ */

/* Where a scan stands: opaque bytes (bucket name and the last key
 * returned). All zero (= {0}) starts at the beginning. The caller owns it
 * and may keep it across calls, restarts of the scan and changes to the
 * store: a scan resumes after the position it reached by name, so objects
 * written behind the cursor meanwhile are not visited in this pass and a
 * deleted bucket is skipped. */
#define HF_META_SCAN_CURSOR_MAX (1 + HF_BUCKET_NAME_MAX + HF_KEY_MAX)
typedef struct hf_meta_scan_cursor {
    uint8_t b[HF_META_SCAN_CURSOR_MAX];
    uint16_t n;
} hf_meta_scan_cursor_t;

/* One stored object version. */
typedef struct hf_meta_scan_item {
    const char *bucket;  /* name, in the arena */
    uint64_t bucket_id;
    hf_str_t key;        /* in the arena; empty when err concerns the bucket record */
    uint8_t version[16]; /* version id; all zero is the "null" version */
    /* HF_OK: obj is decoded (into the arena, inline data verified).
     * HF_E_CORRUPT / HF_E_VERSION: the record could not be read (damage,
     * logged, or a newer format); obj is zeroed, key and version are what
     * could be recovered. */
    int err;
    hf_obj_t obj;
} hf_meta_scan_item_t;

/* The next page of at most max (1..HF_LIST_PAGE_MAX) object versions of
 * every bucket, in bucket-name then key order, after *cur; *cur is
 * advanced past them. *done is true when nothing follows (*n may still be
 * > 0). Each call reads one short read transaction, so a slow consumer
 * (a gentle scrubber) never holds LMDB pages for long. Items and strings
 * live in the arena (*items is NULL when *n == 0). Errors: HF_E_INVAL
 * (max 0, or a cursor not made by this function), -ENOMEM (the arena is
 * full: nothing is returned and *cur is unchanged), HF_E_META. A damaged
 * record is returned as an item with err set, not as an error. */
int hf_meta_scan(hf_meta_t *m, hf_meta_scan_cursor_t *cur, uint32_t max, hf_arena_t *a,
                 hf_meta_scan_item_t **items, uint32_t *n, bool *done);

/* ---- blobs -------------------------------------------------------------- */

/* true if a blob row exists for id (the orphan sweep's is_live callback;
 * ctx is the hf_meta_t). Also true if the lookup fails: the sweep must
 * never remove a blob it is unsure of. */
bool hf_meta_blob_live(void *m, const hf_blob_id_t *id);

/* The reference count of id (0 if none): for tests and tools. */
uint32_t hf_meta_blob_refs(hf_meta_t *m, const hf_blob_id_t *id);

#endif /* HF_META_META_H */
