/*
 * store.c -- blobs as checksummed chunk files; see store.h and
 * docs/internals/FORMAT-chunk.md for the byte layout.
 *
 * What this file owns: every chunk file under <dir>/chunks, the format of
 * those files, the set of blobs being written, the queue of released blobs
 * waiting for readers, and the epoch bookkeeping that decides when a queued
 * blob may be unlinked.
 *
 * Writing. A writer streams payload straight to the current chunk file at
 * 4096 + offset and keeps at most one HF_CHUNK_BLOCK of it in memory, so the
 * crc32c of each block is computed exactly once, while the bytes are still in
 * cache. Input that arrives block-aligned is written from the caller's memory
 * without a copy. The header and crc table are written last, when the chunk
 * is complete, then the file is fdatasync'd; a header that validates is
 * therefore proof that the whole chunk was written. Files are created lazily
 * at the first byte of a chunk, so an empty blob has no files and a blob of
 * exactly k * HF_CHUNK_SIZE bytes has k files.
 *
 * Directory durability. A chunk's directory entries are made durable by one
 * fsync of its leaf directory in hf_blob_writer_finish. The two directory
 * levels above must be durable too. mkdir's EEXIST does not prove that: the
 * creator may still be about to fsync the parent, or a previous process may
 * have crashed before doing so while the page cache kept the entry. So the
 * first time this process uses a directory it fsyncs the parent whether or
 * not it created it, and remembers that in a bitmap; later writers into the
 * same directory pay nothing.
 *
 * Reading. A reader caches the fd and verified header of the chunk it is in,
 * plus one verified block, so sequential reads of any size touch each block
 * once. Aligned runs of whole blocks are read straight into the caller's
 * buffer and verified there; on any failure the caller's buffer is zeroed
 * so a careless caller cannot send unverified bytes.
 *
 * Reclaiming. A global epoch counter; readers register the epoch they began
 * in (a sorted array of (epoch, count), so the oldest is at index 0);
 * hf_chunk_release appends (id, chunk count, epoch) to a FIFO and advances
 * the epoch, so the FIFO is sorted by epoch and the reclaimable entries are
 * always a prefix. Reclaim detaches that prefix under the lock and unlinks
 * outside it. The orphan sweep feeds the same queue instead of unlinking
 * directly: between a metadata delete and its hf_chunk_release call, is_live
 * already says "dead" while a reader that saw the old record may still want
 * the files; going through the queue makes the sweep wait for such readers
 * exactly as a release would.
 *
 * Orphan sweep. A blob is judged by the newest mtime among its chunk files,
 * not per file: a long upload's first chunk can be hours old at the moment
 * hf_blob_writer_finish returns and before the caller has committed the
 * metadata; its last chunk was written just now. The sweep also never
 * touches a blob that is being written or already queued. Listing uses
 * opendir/readdir/fstatat directly: hf_vfs has no directory-listing entries
 * and fault injection targets the data path; every unlink still goes
 * through hf_vfs.
 *
 * The failed state. A failed fdatasync or directory fsync, or a write error
 * whose effect is unknown, makes the store refuse new writers until
 * hf_chunk_store_recover has written, synced, read back and verified a
 * probe blob (store.h has the state table). The reason is that a failed
 * fsync is not retryable on Linux: the kernel may already have dropped the
 * dirty pages and marked them clean, so the next fsync reports success
 * over lost data (the PostgreSQL "fsyncgate" of 2018). ENOSPC and EDQUOT
 * are the exceptions: they say the write did not happen, and the reserve
 * check (below) is what keeps holdfast away from them in the first place.
 *
 * Space. The reserve is checked against statvfs (through hf_vfs, so tests
 * can fake a full disk) when each chunk file is opened and every
 * HF_CHUNK_SPACE_CHECK bytes after, so a writer stops within about a MiB
 * of the reserve: with W workers the reserve can shrink by at most W MiB
 * before every writer has noticed.
 *
 * Rejected alternatives:
 *   - One file per blob: a 5 GiB file cannot be verified in parts without a
 *     side table, and a damaged region would cost the whole object.
 *   - Trailer instead of header: readers would need the file size first,
 *     and the payload offset would depend on the payload length.
 *   - Checksums seeded with the block position (catching misdirected
 *     writes): the plain crc32c equals S3's CRC32C of the block, which lets
 *     a later version combine block crcs into an object checksum without
 *     re-reading data; the header's blob id and index already catch a
 *     chunk at the wrong path.
 *   - Reference counting readers per blob: needs a per-blob table touched by
 *     every GET; the epoch scheme touches one small array.
 *   - A hash set for the writers in flight: the sweep consults it only for
 *     real orphan candidates, so a list walk of a few hundred is cheaper to
 *     get right.
 */
#include "chunk/store.h"

#include "base/crypt.h"
#include "base/err.h"
#include "base/fiber.h"
#include "base/hash.h"
#include "base/iopool.h"
#include "base/limits.h"
#include "base/log.h"
#include "base/rand.h"
#include "base/str.h"
#include "base/time.h"
#include "base/vfs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

/* ---- formats v1 and v2 (docs/internals/FORMAT-chunk.md) ------------------ */

#define CK_MAGIC "HFCK"
#define CK_VERSION_PLAIN 1      /* payload as given */
#define CK_VERSION_SEALED 2     /* each block sealed with AES-256-GCM; table entries carry the tag */
#define CK_HDR_SIZE 48          /* fixed header, its crc is the last 4 bytes */
#define CK_PAYLOAD_OFF 4096     /* header + table fit; payload page aligned */
#define CK_BLOCKS_MAX (HF_CHUNK_SIZE / HF_CHUNK_BLOCK)
#define CK_ENTRY_PLAIN 4        /* crc32c */
#define CK_ENTRY_SEALED (4 + HF_AEAD_TAG_LEN) /* crc32c of the stored block, GCM tag */
#define CK_META_MAX (CK_HDR_SIZE + CK_ENTRY_SEALED * CK_BLOCKS_MAX)

_Static_assert(HF_CHUNK_SIZE % HF_CHUNK_BLOCK == 0, "chunk must be whole blocks");
_Static_assert(CK_META_MAX <= CK_PAYLOAD_OFF, "crc table must fit before the payload");

/* The label of a blob's own key, derived from the key the caller gives
 * and the blob id: every blob is sealed under a key no other blob uses, so
 * a nonce made of the block's position is used once per key. */
#define CK_BLOB_KEY_LABEL "holdfast chunk blob key v2"
/* Sealed writers encrypt this many blocks into their buffer per write. */
#define SEAL_BLOCKS 4

/* Most chunks a blob can have: the largest object bounds every blob. */
#define CK_CHUNKS_MAX ((uint32_t)((HF_OBJECT_MAX + HF_CHUNK_SIZE - 1) / HF_CHUNK_SIZE))

/* A leaf directory holds the chunks of 1/65536 of all blobs; more entries
 * than this means something other than holdfast is writing there, and the
 * sweep leaves that directory alone rather than hold an unbounded list. */
#define SWEEP_DIR_MAX (4u * 1024 * 1024)

/* Initial room for distinct reader epochs; grows on demand. */
#define ACTIVE_INIT 256

static void put16(unsigned char *p, uint16_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
}

static void put32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static uint16_t get16(const unsigned char *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t get32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* ---- the store ------------------------------------------------------------ */

struct active {
    uint64_t epoch;
    uint32_t count;
};

struct pending {
    struct pending *next;
    hf_blob_id_t id;
    uint32_t nchunks;
    uint64_t epoch;
};

struct hf_chunk_store {
    char *chunks; /* <dir>/chunks */

    pthread_mutex_t mu; /* guards everything down to the atomics */
    uint64_t epoch;
    struct active *active; /* sorted by epoch, no zero counts */
    size_t nactive, cap_active;
    struct pending *qhead, *qtail; /* sorted by epoch (FIFO) */
    hf_blob_writer_t *writers;     /* blobs being written */

    /* Directories this process has made durable (see the design comment). */
    _Atomic uint32_t top_ok[256 / 32];
    _Atomic uint32_t leaf_ok[65536 / 32];

    _Atomic uint64_t chunks_written, bytes_written, bytes_read, corrupt_reads;
    _Atomic uint64_t blobs_released, blobs_unlinked, pending_release;

    _Atomic int failed;  /* 0, or the error that made the store refuse writes */
    char fail_why[256];  /* under mu */
    uint64_t reserve;    /* bytes of free space writers must leave */
};

struct hf_blob_writer {
    hf_chunk_store_t *s;
    hf_blob_writer_t *prev, *next; /* s->writers */
    hf_blob_id_t id;
    char hex[33];
    int fd;             /* current chunk, -1 if none open */
    uint32_t idx;       /* index of the current chunk */
    uint32_t nfiles;    /* chunk files created, 0..nfiles-1 */
    uint32_t chunk_len; /* payload bytes of the current chunk on disk */
    uint32_t nblocks;   /* blocks of the current chunk on disk */
    uint64_t size;      /* bytes accepted */
    uint64_t unchecked; /* bytes written since the last space check */
    bool probe;         /* hf_chunk_store_recover's writer: ignores the failed state */
    bool sealed;        /* format v2: blocks sealed under aead */
    int err;            /* sticky: after an error only abort */
    size_t buf_len;
    hf_aead_t aead;     /* sealed: the blob's key */
    unsigned char *sealbuf; /* sealed: SEAL_BLOCKS blocks of ciphertext */
    uint32_t crcs[CK_BLOCKS_MAX];
    uint8_t tags[CK_BLOCKS_MAX][HF_AEAD_TAG_LEN];
    unsigned char buf[HF_CHUNK_BLOCK];
};

/* What a reader expects and returns. */
enum rmode {
    R_PLAIN,   /* v1 chunks; their payload */
    R_OPEN,    /* v2 chunks; blocks verified and decrypted with the key */
    R_STORED,  /* v2 chunks; the stored (sealed) bytes, verified by crc only */
};

struct hf_blob_reader {
    hf_chunk_store_t *s;
    hf_blob_id_t id;
    char hex[33];
    uint64_t size;
    enum rmode mode;
    hf_aead_t aead;       /* R_OPEN: the blob's key */
    int fd;               /* open chunk, -1 if none */
    uint32_t chunk;       /* index of the open chunk */
    uint32_t payload_len; /* of the open chunk */
    uint32_t crcs[CK_BLOCKS_MAX];
    uint8_t tags[CK_BLOCKS_MAX][HF_AEAD_TAG_LEN];
    uint32_t buf_chunk;   /* which verified block buf holds */
    uint32_t buf_block;
    bool buf_ok;
    unsigned char buf[HF_CHUNK_BLOCK];
};

static bool bit_get(_Atomic uint32_t *map, unsigned i)
{
    return atomic_load_explicit(&map[i / 32], memory_order_acquire) & (1u << (i % 32));
}

static void bit_set(_Atomic uint32_t *map, unsigned i)
{
    atomic_fetch_or_explicit(&map[i / 32], 1u << (i % 32), memory_order_release);
}

static void path_of(const hf_chunk_store_t *s, const char *hex, uint32_t idx, char *out)
{
    snprintf(out, HF_CHUNK_PATH_MAX, "%s/%.2s/%.2s/%s.%u", s->chunks, hex, hex + 2, hex, idx);
}

void hf_chunk_path(const hf_chunk_store_t *s, const hf_blob_id_t *id, uint32_t idx, char *out)
{
    char hex[33];
    hf_hex_encode(hex, id->b, sizeof id->b);
    path_of(s, hex, idx, out);
}

static uint32_t chunks_of(uint64_t size)
{
    return (uint32_t)((size + HF_CHUNK_SIZE - 1) / HF_CHUNK_SIZE);
}

static void reclaim(hf_chunk_store_t *s);

int hf_chunk_store_open(const char *dir, hf_chunk_store_t **out)
{
    *out = NULL;
    /* The longest path built later: chunks/xx/yy/<32 hex>.<10 digits>. */
    if (!dir || !*dir)
        return HF_E_INVAL;
    if (strlen(dir) + sizeof "/chunks/xx/yy/" + 32 + 1 + 10 >= HF_CHUNK_PATH_MAX)
        return -ENAMETOOLONG;
    hf_chunk_store_t *s = calloc(1, sizeof *s);
    if (!s)
        return -ENOMEM;
    int rc = -ENOMEM;
    size_t n = strlen(dir) + sizeof "/chunks";
    s->chunks = malloc(n);
    s->active = malloc(ACTIVE_INIT * sizeof *s->active);
    if (!s->chunks || !s->active)
        goto fail;
    snprintf(s->chunks, n, "%s/chunks", dir);
    s->cap_active = ACTIVE_INIT;
    s->epoch = 1;
    if (pthread_mutex_init(&s->mu, NULL) != 0)
        goto fail;

    if (hf_vfs.mkdir(s->chunks, 0700) != 0 && errno != EEXIST) {
        rc = -errno;
        hf_log_error("msg=\"cannot create chunk directory\" errno=%d", errno);
        goto fail_mu;
    }
    /* Fsync both the parent (for the chunks entry) and chunks itself (which
     * also proves it is a directory we can open). */
    if ((rc = hf_vfs_fsync_dir(dir)) != HF_OK || (rc = hf_vfs_fsync_dir(s->chunks)) != HF_OK) {
        hf_log_error("msg=\"cannot sync chunk directory\" err=%d", rc);
        goto fail_mu;
    }
    *out = s;
    return HF_OK;
fail_mu:
    pthread_mutex_destroy(&s->mu);
fail:
    free(s->chunks);
    free(s->active);
    free(s);
    return rc;
}

void hf_chunk_store_close(hf_chunk_store_t *s)
{
    if (!s)
        return;
    reclaim(s);
    size_t left = 0;
    for (struct pending *p = s->qhead, *nx; p; p = nx) {
        nx = p->next;
        free(p);
        left++;
    }
    if (left)
        hf_log_warn("msg=\"chunk store closed with readers active; blobs left for the orphan sweep\" "
                    "blobs=%zu",
                    left);
    if (s->writers)
        hf_log_error("msg=\"chunk store closed with writers open\"");
    pthread_mutex_destroy(&s->mu);
    free(s->active);
    free(s->chunks);
    free(s);
}

/* ---- the failed state and space ---------------------------------------------- */

/* Errors that say the write did not happen (so retrying later is sound). */
static bool effect_known(int rc)
{
    return rc == -ENOSPC || rc == -EDQUOT || rc == HF_E_NOSPACE || rc == HF_E_STATE;
}

/* OK -> FAILED (store.h); only the first failure is recorded and logged. */
static void enter_failed(hf_chunk_store_t *s, int err, const char *what, const char *hex,
                         uint32_t idx)
{
    int expect = 0;
    if (err == 0)
        err = -EIO;
    if (!atomic_compare_exchange_strong(&s->failed, &expect, err))
        return;
    pthread_mutex_lock(&s->mu);
    snprintf(s->fail_why, sizeof s->fail_why, "%s failed (%s) on blob %s chunk %u", what,
             hf_strerror(err), hex ? hex : "-", idx);
    pthread_mutex_unlock(&s->mu);
    hf_log_error("msg=\"chunk store refuses writes until a verified reopen\" what=\"%s\" "
                 "blob=%s chunk=%u err=\"%s\"",
                 what, hex ? hex : "-", idx, hf_strerror(err));
}

bool hf_chunk_failed(hf_chunk_store_t *s, int *err, char *why, size_t cap)
{
    int e = atomic_load(&s->failed);
    if (err)
        *err = e;
    if (why && cap) {
        why[0] = '\0';
        if (e) {
            pthread_mutex_lock(&s->mu);
            snprintf(why, cap, "%s", s->fail_why[0] ? s->fail_why : hf_strerror(e));
            pthread_mutex_unlock(&s->mu);
        }
    }
    return e != 0;
}

void hf_chunk_set_reserve(hf_chunk_store_t *s, uint64_t bytes)
{
    s->reserve = bytes;
}

uint64_t hf_chunk_reserve(const hf_chunk_store_t *s)
{
    return s->reserve;
}

static int space_check(hf_chunk_store_t *s, uint64_t need, uint64_t *avail)
{
    struct statvfs st;
    if (hf_vfs.statvfs(s->chunks, &st) != 0) {
        int rc = -errno;
        hf_log_warn("msg=\"cannot read free space of the chunk directory\" err=\"%s\"",
                    hf_strerror(rc));
        return rc;
    }
    uint64_t free_b = (uint64_t)st.f_bavail * (uint64_t)(st.f_frsize ? st.f_frsize : st.f_bsize);
    if (avail)
        *avail = free_b;
    if (free_b < s->reserve || free_b - s->reserve < need)
        return HF_E_NOSPACE;
    return HF_OK;
}

/* fsync a directory: a failure to open it is an ordinary error, a failed
 * fsync makes the store FAILED. */
static int sync_dir(hf_chunk_store_t *s, const char *path, const char *hex, uint32_t idx)
{
    int fd = hf_vfs_open(path, O_RDONLY | O_DIRECTORY, 0);
    if (fd < 0)
        return fd;
    int rc = hf_vfs.fsync(fd) ? -errno : HF_OK;
    hf_vfs.close(fd);
    if (rc)
        enter_failed(s, rc, "directory fsync", hex, idx);
    return rc;
}

/* ---- writing ---------------------------------------------------------------- */

/* Make chunks/xx and chunks/xx/yy exist and be durable. */
static int ensure_dirs(hf_chunk_store_t *s, const hf_blob_id_t *id, const char *hex)
{
    unsigned top = id->b[0], leaf = (unsigned)id->b[0] << 8 | id->b[1];
    if (bit_get(s->leaf_ok, leaf))
        return HF_OK;
    char path[HF_CHUNK_PATH_MAX];
    int rc;
    if (!bit_get(s->top_ok, top)) {
        snprintf(path, sizeof path, "%s/%.2s", s->chunks, hex);
        if (hf_vfs.mkdir(path, 0700) != 0 && errno != EEXIST)
            return -errno;
        if ((rc = sync_dir(s, s->chunks, hex, 0)) != HF_OK)
            return rc;
        bit_set(s->top_ok, top);
    }
    snprintf(path, sizeof path, "%s/%.2s/%.2s", s->chunks, hex, hex + 2);
    if (hf_vfs.mkdir(path, 0700) != 0 && errno != EEXIST)
        return -errno;
    path[strlen(s->chunks) + 3] = '\0'; /* the parent, chunks/xx */
    if ((rc = sync_dir(s, path, hex, 0)) != HF_OK)
        return rc;
    bit_set(s->leaf_ok, leaf);
    return HF_OK;
}

/* The nonce of block b of chunk idx: its position. Unique within a blob,
 * and every blob has its own key (blob_key). */
static void block_nonce(uint8_t nonce[HF_AEAD_NONCE_LEN], uint32_t idx, uint32_t b)
{
    memset(nonce, 0, HF_AEAD_NONCE_LEN);
    for (int i = 0; i < 4; i++) {
        nonce[i] = (uint8_t)(idx >> (24 - 8 * i));
        nonce[4 + i] = (uint8_t)(b >> (24 - 8 * i));
    }
}

/* The blob's own key, expanded into a. */
static int blob_key(hf_aead_t *a, const uint8_t key[HF_CHUNK_KEY_LEN], const hf_blob_id_t *id)
{
    uint8_t k[32];
    int rc = hf_kdf(key, HF_CHUNK_KEY_LEN, CK_BLOB_KEY_LABEL, id->b, sizeof id->b, k);
    if (rc == HF_OK)
        rc = hf_aead_init(a, k);
    hf_wipe(k, sizeof k);
    return rc;
}

static int writer_open(hf_chunk_store_t *s, bool probe, const uint8_t *key, hf_blob_writer_t **out)
{
    *out = NULL;
    if (!probe && atomic_load(&s->failed))
        return HF_E_STATE;
    hf_blob_writer_t *w = malloc(sizeof *w);
    if (!w)
        return -ENOMEM;
    memset(w, 0, offsetof(hf_blob_writer_t, crcs)); /* the tables and buf need no zeroing */
    int rc = hf_rand_bytes(w->id.b, sizeof w->id.b);
    if (rc == HF_OK && key) {
        w->sealed = true;
        w->sealbuf = malloc((size_t)SEAL_BLOCKS * HF_CHUNK_BLOCK);
        rc = w->sealbuf ? blob_key(&w->aead, key, &w->id) : -ENOMEM;
    }
    if (rc != HF_OK) {
        hf_aead_free(&w->aead);
        free(w->sealbuf);
        free(w);
        return rc;
    }
    hf_hex_encode(w->hex, w->id.b, sizeof w->id.b);
    w->s = s;
    w->fd = -1;
    w->probe = probe;
    pthread_mutex_lock(&s->mu);
    w->next = s->writers;
    if (s->writers)
        s->writers->prev = w;
    s->writers = w;
    pthread_mutex_unlock(&s->mu);
    *out = w;
    return HF_OK;
}

int hf_blob_writer_open(hf_chunk_store_t *s, hf_blob_writer_t **out)
{
    return writer_open(s, false, NULL, out);
}

int hf_blob_writer_open_sealed(hf_chunk_store_t *s, const uint8_t key[HF_CHUNK_KEY_LEN],
                               hf_blob_writer_t **out)
{
    if (!key) {
        *out = NULL;
        return HF_E_INVAL;
    }
    return writer_open(s, false, key, out);
}

const hf_blob_id_t *hf_blob_writer_id(const hf_blob_writer_t *w)
{
    return &w->id;
}

/* Write header and crc table, make the chunk durable, close it. */
static int seal_chunk(hf_blob_writer_t *w)
{
    unsigned char meta[CK_META_MAX];
    memset(meta, 0, sizeof meta);
    memcpy(meta, CK_MAGIC, 4);
    put16(meta + 4, w->sealed ? CK_VERSION_SEALED : CK_VERSION_PLAIN);
    put16(meta + 6, CK_HDR_SIZE);
    put32(meta + 8, HF_CHUNK_BLOCK);
    put32(meta + 12, w->chunk_len);
    memcpy(meta + 16, w->id.b, 16);
    put32(meta + 32, w->idx);
    put32(meta + 36, w->nblocks);
    size_t esz = w->sealed ? CK_ENTRY_SEALED : CK_ENTRY_PLAIN;
    for (uint32_t i = 0; i < w->nblocks; i++) {
        put32(meta + CK_HDR_SIZE + esz * i, w->crcs[i]);
        if (w->sealed)
            memcpy(meta + CK_HDR_SIZE + esz * i + 4, w->tags[i], HF_AEAD_TAG_LEN);
    }
    size_t tlen = esz * (size_t)w->nblocks;
    put32(meta + 40, hf_crc32c(0, meta + CK_HDR_SIZE, tlen));
    put32(meta + 44, hf_crc32c(0, meta, 44));

    int rc = hf_vfs_pwrite_all(w->fd, meta, CK_HDR_SIZE + tlen, 0);
    if (rc != HF_OK && !effect_known(rc))
        enter_failed(w->s, rc, "chunk header write", w->hex, w->idx);
    if (rc == HF_OK && hf_vfs.fdatasync(w->fd) != 0) {
        rc = -errno;
        enter_failed(w->s, rc, "chunk fdatasync", w->hex, w->idx);
    }
    /* A close error after a successful fdatasync loses nothing. */
    hf_vfs.close(w->fd);
    w->fd = -1;
    if (rc != HF_OK) {
        hf_log_error("msg=\"chunk write failed\" blob=%s chunk=%u err=%d", w->hex, w->idx, rc);
        return rc;
    }
    atomic_fetch_add(&w->s->chunks_written, 1);
    atomic_fetch_add(&w->s->bytes_written, w->chunk_len);
    w->idx++;
    w->chunk_len = 0;
    w->nblocks = 0;
    return HF_OK;
}

/* Write n bytes (whole blocks, or the blob's final partial block) whose
 * crcs are already in w->crcs, to the current chunk. */
static int put_blocks(hf_blob_writer_t *w, const void *p, size_t n, uint32_t nblocks)
{
    int rc;
    if (!w->probe && atomic_load(&w->s->failed)) {
        rc = HF_E_STATE;
        goto fail;
    }
    if (w->s->reserve && (w->fd < 0 || w->unchecked >= HF_CHUNK_SPACE_CHECK)) {
        w->unchecked = 0;
        if ((rc = space_check(w->s, 0, NULL)) != HF_OK)
            goto fail;
    }
    w->unchecked += n;
    if (w->fd < 0) {
        if ((rc = ensure_dirs(w->s, &w->id, w->hex)) != HF_OK)
            goto fail;
        char path[HF_CHUNK_PATH_MAX];
        path_of(w->s, w->hex, w->idx, path);
        rc = hf_vfs_open(path, O_CREAT | O_EXCL | O_WRONLY, 0600);
        if (rc < 0)
            goto fail;
        w->fd = rc;
        w->nfiles = w->idx + 1;
    }
    rc = hf_vfs_pwrite_all(w->fd, p, n, (off_t)CK_PAYLOAD_OFF + w->chunk_len);
    if (rc != HF_OK) {
        if (!effect_known(rc))
            enter_failed(w->s, rc, "chunk payload write", w->hex, w->idx);
        goto fail;
    }
    w->chunk_len += (uint32_t)n;
    w->nblocks += nblocks;
    if (w->chunk_len == HF_CHUNK_SIZE)
        return seal_chunk(w);
    return HF_OK;
fail:
    hf_log_error("msg=\"chunk write failed\" blob=%s chunk=%u err=%d", w->hex, w->idx, rc);
    return rc;
}

/* Write nb blocks (n bytes: whole blocks, or ending in the blob's final
 * partial block) that fit in the current chunk: compute each block's crc
 * (sealed: seal it first, into p itself when own, else into sealbuf
 * SEAL_BLOCKS at a time, and keep its tag), then put them. */
static int emit_blocks(hf_blob_writer_t *w, const unsigned char *p, size_t n, uint32_t nb, bool own)
{
    if (!w->sealed) {
        for (uint32_t i = 0; i < nb; i++) {
            size_t off = (size_t)i * HF_CHUNK_BLOCK, len = n - off < HF_CHUNK_BLOCK ? n - off : HF_CHUNK_BLOCK;
            w->crcs[w->nblocks + i] = hf_crc32c(0, p + off, len);
        }
        return put_blocks(w, p, n, nb);
    }
    while (nb) {
        uint32_t g = own || nb < SEAL_BLOCKS ? nb : SEAL_BLOCKS;
        size_t glen = (size_t)g * HF_CHUNK_BLOCK < n ? (size_t)g * HF_CHUNK_BLOCK : n;
        unsigned char *dst = own ? (unsigned char *)p : w->sealbuf;
        for (uint32_t i = 0; i < g; i++) {
            size_t off = (size_t)i * HF_CHUNK_BLOCK, len = glen - off < HF_CHUNK_BLOCK ? glen - off : HF_CHUNK_BLOCK;
            uint32_t b = w->nblocks + i;
            uint8_t nonce[HF_AEAD_NONCE_LEN];
            block_nonce(nonce, w->idx, b);
            int rc = hf_aead_seal(&w->aead, nonce, NULL, 0, p + off, dst + off, len, w->tags[b]);
            if (rc)
                return rc;
            w->crcs[b] = hf_crc32c(0, dst + off, len);
        }
        int rc = put_blocks(w, dst, glen, g);
        if (rc)
            return rc;
        p += glen;
        n -= glen;
        nb -= g;
    }
    return HF_OK;
}

static int blob_write(hf_blob_writer_t *w, const void *p, size_t n)
{
    if (w->err)
        return w->err;
    if (n > HF_OBJECT_MAX - w->size)
        return w->err = HF_E_TOOBIG;
    const unsigned char *in = p;
    int rc = HF_OK;
    while (n) {
        if (w->buf_len == 0 && n >= HF_CHUNK_BLOCK) {
            /* Whole blocks straight from the caller, up to the chunk end. */
            size_t room = HF_CHUNK_SIZE - w->chunk_len;
            size_t k = n - n % HF_CHUNK_BLOCK;
            if (k > room)
                k = room;
            if ((rc = emit_blocks(w, in, k, (uint32_t)(k / HF_CHUNK_BLOCK), false)) != HF_OK)
                break;
            in += k;
            n -= k;
            w->size += k;
            continue;
        }
        size_t k = HF_CHUNK_BLOCK - w->buf_len;
        if (k > n)
            k = n;
        memcpy(w->buf + w->buf_len, in, k);
        w->buf_len += k;
        in += k;
        n -= k;
        w->size += k;
        if (w->buf_len == HF_CHUNK_BLOCK) {
            if ((rc = emit_blocks(w, w->buf, HF_CHUNK_BLOCK, 1, true)) != HF_OK)
                break;
            w->buf_len = 0;
        }
    }
    if (rc != HF_OK)
        w->err = rc;
    return rc;
}

/* Unlink what w created, leave the being-written set, free. */
static void writer_discard(hf_blob_writer_t *w)
{
    hf_chunk_store_t *s = w->s;
    if (w->fd >= 0)
        hf_vfs.close(w->fd);
    char path[HF_CHUNK_PATH_MAX];
    for (uint32_t i = 0; i < w->nfiles; i++) {
        path_of(s, w->hex, i, path);
        if (hf_vfs.unlink(path) != 0 && errno != ENOENT)
            hf_log_error("msg=\"cannot unlink chunk of discarded blob\" blob=%s chunk=%u errno=%d",
                         w->hex, i, errno);
    }
    pthread_mutex_lock(&s->mu);
    if (w->prev)
        w->prev->next = w->next;
    else
        s->writers = w->next;
    if (w->next)
        w->next->prev = w->prev;
    pthread_mutex_unlock(&s->mu);
    hf_aead_free(&w->aead);
    free(w->sealbuf);
    if (w->sealed) /* a partial block of plaintext may still be there */
        hf_wipe(w->buf, sizeof w->buf);
    free(w);
}

static int writer_finish(hf_blob_writer_t *w, uint64_t *size)
{
    int rc = w->err;
    if (rc == HF_OK && !w->probe && atomic_load(&w->s->failed))
        rc = HF_E_STATE;
    if (rc != HF_OK)
        goto fail;
    if (w->buf_len) {
        if ((rc = emit_blocks(w, w->buf, w->buf_len, 1, true)) != HF_OK)
            goto fail;
        w->buf_len = 0;
    }
    if (w->fd >= 0 && (rc = seal_chunk(w)) != HF_OK)
        goto fail;
    if (w->nfiles) {
        char path[HF_CHUNK_PATH_MAX];
        snprintf(path, sizeof path, "%s/%.2s/%.2s", w->s->chunks, w->hex, w->hex + 2);
        if ((rc = sync_dir(w->s, path, w->hex, w->idx)) != HF_OK) {
            hf_log_error("msg=\"chunk directory sync failed\" blob=%s err=%d", w->hex, rc);
            goto fail;
        }
    }
    *size = w->size;
    w->nfiles = 0; /* keep them: they are the blob now */
    writer_discard(w);
    return HF_OK;
fail:
    writer_discard(w);
    return rc;
}

/* ---- reading ---------------------------------------------------------------- */

static int reader_open(hf_chunk_store_t *s, const hf_blob_id_t *id, uint64_t size, enum rmode mode,
                       const uint8_t *key, hf_blob_reader_t **out)
{
    *out = NULL;
    if (size > HF_OBJECT_MAX)
        return HF_E_INVAL;
    hf_blob_reader_t *r = malloc(sizeof *r);
    if (!r)
        return -ENOMEM;
    r->aead.ctx = NULL;
    if (mode == R_OPEN) {
        int rc = blob_key(&r->aead, key, id);
        if (rc) {
            free(r);
            return rc;
        }
    }
    r->s = s;
    r->id = *id;
    hf_hex_encode(r->hex, id->b, sizeof id->b);
    r->size = size;
    r->mode = mode;
    r->fd = -1;
    r->chunk = 0;
    r->payload_len = 0;
    r->buf_ok = false;
    *out = r;
    return HF_OK;
}

int hf_blob_reader_open(hf_chunk_store_t *s, const hf_blob_id_t *id, uint64_t size,
                        hf_blob_reader_t **out)
{
    return reader_open(s, id, size, R_PLAIN, NULL, out);
}

int hf_blob_reader_open_sealed(hf_chunk_store_t *s, const hf_blob_id_t *id, uint64_t size,
                               const uint8_t *key, hf_blob_reader_t **out)
{
    return reader_open(s, id, size, key ? R_OPEN : R_STORED, key, out);
}

void hf_blob_reader_close(hf_blob_reader_t *r)
{
    if (!r)
        return;
    if (r->fd >= 0)
        hf_vfs.close(r->fd);
    hf_aead_free(&r->aead);
    if (r->mode == R_OPEN && r->buf_ok)
        hf_wipe(r->buf, sizeof r->buf); /* a decrypted block */
    free(r);
}

static int corrupt(hf_blob_reader_t *r, uint32_t chunk, long block, const char *what)
{
    char blk[24];
    if (block < 0)
        snprintf(blk, sizeof blk, "header");
    else
        snprintf(blk, sizeof blk, "%ld", block);
    hf_log_error("msg=\"chunk verification failed\" blob=%s chunk=%u block=%s what=\"%s\"", r->hex,
                 chunk, blk, what);
    atomic_fetch_add(&r->s->corrupt_reads, 1);
    return HF_E_CORRUPT;
}

/* A header with a version we do not know: HF_E_VERSION only if it carries
 * a valid checksum under the rules every version keeps (header size at
 * offset 6, crc32c of the rest in its last 4 bytes); otherwise the version
 * field itself may be what is damaged. */
static int check_other_version(hf_blob_reader_t *r, uint32_t idx, const unsigned char *meta)
{
    unsigned hs = get16(meta + 6);
    if (hs < 12 || hs > CK_PAYLOAD_OFF)
        return corrupt(r, idx, -1, "bad version and header size");
    unsigned char big[CK_PAYLOAD_OFF];
    int rc = hf_vfs_pread_all(r->fd, big, hs, 0);
    if (rc == HF_E_CORRUPT)
        return corrupt(r, idx, -1, "file shorter than header");
    if (rc != HF_OK)
        return rc;
    if (hf_crc32c(0, big, hs - 4) != get32(big + hs - 4))
        return corrupt(r, idx, -1, "header checksum mismatch");
    hf_log_error("msg=\"unknown chunk format version\" blob=%s chunk=%u version=%u", r->hex, idx,
                 get16(meta + 4));
    return HF_E_VERSION;
}

/* Make chunk idx the open, header-verified chunk of r. */
static int load_chunk(hf_blob_reader_t *r, uint32_t idx)
{
    if (r->fd >= 0 && r->chunk == idx)
        return HF_OK;
    if (r->fd >= 0) {
        hf_vfs.close(r->fd);
        r->fd = -1;
    }
    char path[HF_CHUNK_PATH_MAX];
    path_of(r->s, r->hex, idx, path);
    int fd = hf_vfs_open(path, O_RDONLY, 0);
    if (fd == -ENOENT)
        return corrupt(r, idx, -1, "chunk file missing");
    if (fd < 0) {
        hf_log_error("msg=\"cannot open chunk\" blob=%s chunk=%u err=%d", r->hex, idx, fd);
        return fd;
    }
    r->fd = fd;

    uint64_t start = (uint64_t)idx * HF_CHUNK_SIZE;
    uint64_t left = r->size - start;
    uint32_t plen = left > HF_CHUNK_SIZE ? HF_CHUNK_SIZE : (uint32_t)left;
    uint32_t nblocks = (plen + HF_CHUNK_BLOCK - 1) / HF_CHUNK_BLOCK;
    unsigned char meta[CK_META_MAX];
    const char *what = NULL;
    /* Every valid chunk file is at least CK_PAYLOAD_OFF + 1 bytes, so the
     * largest header + table is always there to read in one call. */
    int rc = hf_vfs_pread_all(fd, meta, sizeof meta, 0);
    if (rc == HF_E_CORRUPT) {
        what = "file shorter than header";
        goto bad;
    }
    if (rc != HF_OK)
        goto fail;
    if (memcmp(meta, CK_MAGIC, 4) != 0) {
        what = "bad magic";
        goto bad;
    }
    unsigned version = get16(meta + 4);
    if (version != CK_VERSION_PLAIN && version != CK_VERSION_SEALED) {
        rc = check_other_version(r, idx, meta);
        goto fail;
    }
    /* The metadata says whether the blob is sealed; a chunk that says
     * otherwise was not written for it (or was swapped: a plain chunk in
     * place of a sealed one would otherwise be served as it is). */
    bool sealed = version == CK_VERSION_SEALED;
    size_t esz = sealed ? CK_ENTRY_SEALED : CK_ENTRY_PLAIN;
    if (sealed != (r->mode != R_PLAIN))
        what = sealed ? "sealed chunk where a plain one belongs" : "plain chunk where a sealed one belongs";
    else if (get16(meta + 6) != CK_HDR_SIZE)
        what = "bad header size";
    else if (hf_crc32c(0, meta, 44) != get32(meta + 44))
        what = "header checksum mismatch";
    else if (get32(meta + 8) != HF_CHUNK_BLOCK)
        what = "bad block size";
    else if (memcmp(meta + 16, r->id.b, 16) != 0)
        what = "chunk belongs to another blob";
    else if (get32(meta + 32) != idx)
        what = "chunk index mismatch";
    else if (get32(meta + 12) != plen)
        what = "payload length does not match blob size";
    else if (get32(meta + 36) != nblocks)
        what = "bad block count";
    else if (hf_crc32c(0, meta + CK_HDR_SIZE, esz * (size_t)nblocks) != get32(meta + 40))
        what = "crc table checksum mismatch";
    if (what)
        goto bad;

    struct stat st;
    if (hf_vfs.fstat(fd, &st) != 0) {
        rc = -errno;
        goto fail;
    }
    if ((uint64_t)st.st_size < (uint64_t)CK_PAYLOAD_OFF + plen) {
        what = "file truncated";
        goto bad;
    }
    for (uint32_t i = 0; i < nblocks; i++) {
        r->crcs[i] = get32(meta + CK_HDR_SIZE + esz * i);
        if (sealed)
            memcpy(r->tags[i], meta + CK_HDR_SIZE + esz * i + 4, HF_AEAD_TAG_LEN);
    }
    r->chunk = idx;
    r->payload_len = plen;
    return HF_OK;
bad:
    rc = corrupt(r, idx, -1, what);
fail:
    hf_vfs.close(fd);
    r->fd = -1;
    return rc;
}

/* A sealed block that failed its tag: do its stored bytes still match
 * their crc? Read again into buf (len bytes at payload offset off), since
 * the failed open wiped it. */
static bool stored_crc_ok(hf_blob_reader_t *r, uint32_t b, uint32_t off, size_t len, unsigned char *buf)
{
    return hf_vfs_pread_all(r->fd, buf, len, (off_t)CK_PAYLOAD_OFF + off) == HF_OK &&
           hf_crc32c(0, buf, len) == r->crcs[b];
}

/* Read [off, off + n) of the open chunk -- whole blocks starting at block
 * first -- into dst and verify each block: by its crc, or in a sealed
 * blob read with the key by its tag. */
static int read_blocks(hf_blob_reader_t *r, uint32_t first, uint32_t off, size_t n, unsigned char *dst)
{
    int rc = hf_vfs_pread_all(r->fd, dst, n, (off_t)CK_PAYLOAD_OFF + off);
    if (rc == HF_E_CORRUPT)
        return corrupt(r, r->chunk, first, "file truncated");
    if (rc != HF_OK) {
        hf_log_error("msg=\"chunk read failed\" blob=%s chunk=%u err=%d", r->hex, r->chunk, rc);
        return rc;
    }
    for (size_t done = 0, b = first; done < n; b++) {
        size_t len = n - done < HF_CHUNK_BLOCK ? n - done : HF_CHUNK_BLOCK;
        if (r->mode == R_OPEN) {
            /* The tag says the block is what was sealed for this blob, at
             * this place, under this key -- which the crc's promise (the
             * disk returned what was written) is part of, so the crc is
             * only computed to name a failure: damage on the disk, or bytes
             * that were never sealed here. */
            uint8_t nonce[HF_AEAD_NONCE_LEN];
            block_nonce(nonce, r->chunk, (uint32_t)b);
            if (hf_aead_open(&r->aead, nonce, NULL, 0, dst + done, dst + done, len, r->tags[b]) != HF_OK)
                return corrupt(r, r->chunk, (long)b, stored_crc_ok(r, (uint32_t)b, off + done, len, dst + done)
                                                         ? "block authentication failed"
                                                         : "block checksum mismatch");
        } else if (hf_crc32c(0, dst + done, len) != r->crcs[b]) {
            return corrupt(r, r->chunk, (long)b, "block checksum mismatch");
        }
        done += len;
    }
    return HF_OK;
}

static int blob_read(hf_blob_reader_t *r, uint64_t off, void *buf, size_t n)
{
    if (off > r->size || n > r->size - off)
        return HF_E_INVAL;
    unsigned char *out = buf;
    size_t todo = n;
    int rc = HF_OK;
    while (todo) {
        uint32_t ci = (uint32_t)(off / HF_CHUNK_SIZE);
        uint32_t coff = (uint32_t)(off % HF_CHUNK_SIZE);
        if ((rc = load_chunk(r, ci)) != HF_OK)
            goto fail;
        uint32_t bi = coff / HF_CHUNK_BLOCK, boff = coff % HF_CHUNK_BLOCK;
        uint32_t bstart = bi * HF_CHUNK_BLOCK;
        uint32_t blen = r->payload_len - bstart < HF_CHUNK_BLOCK ? r->payload_len - bstart
                                                                 : HF_CHUNK_BLOCK;
        size_t k;
        if (r->buf_ok && r->buf_chunk == ci && r->buf_block == bi) {
            k = blen - boff < todo ? blen - boff : todo;
            memcpy(out, r->buf + boff, k);
        } else if (boff == 0 && todo >= blen) {
            /* Whole blocks into the caller's buffer: no copy. Only the
             * payload's last block can be short, so either the run ends at
             * the end of the payload or it is cut to whole blocks. */
            size_t avail = r->payload_len - coff;
            k = todo < avail ? todo - todo % HF_CHUNK_BLOCK : avail;
            if ((rc = read_blocks(r, bi, coff, k, out)) != HF_OK)
                goto fail;
        } else {
            r->buf_ok = false;
            if ((rc = read_blocks(r, bi, bstart, blen, r->buf)) != HF_OK)
                goto fail;
            r->buf_ok = true;
            r->buf_chunk = ci;
            r->buf_block = bi;
            k = blen - boff < todo ? blen - boff : todo;
            memcpy(out, r->buf + boff, k);
        }
        out += k;
        off += k;
        todo -= k;
    }
    atomic_fetch_add(&r->s->bytes_read, n);
    return HF_OK;
fail:
    memset(buf, 0, n);
    return rc;
}

/* ---- reclaiming --------------------------------------------------------------- */

uint64_t hf_chunk_read_begin(hf_chunk_store_t *s)
{
    pthread_mutex_lock(&s->mu);
    uint64_t e = s->epoch;
    if (s->nactive && s->active[s->nactive - 1].epoch == e) {
        s->active[s->nactive - 1].count++;
    } else {
        if (s->nactive == s->cap_active) {
            struct active *a = realloc(s->active, 2 * s->cap_active * sizeof *a);
            if (a) {
                s->active = a;
                s->cap_active *= 2;
            }
        }
        if (s->nactive < s->cap_active) {
            s->active[s->nactive].epoch = e;
            s->active[s->nactive].count = 1;
            s->nactive++;
        } else {
            /* Out of memory: join the newest registered epoch instead. It
             * is older than ours, which only delays reclaiming. */
            e = s->active[s->nactive - 1].epoch;
            s->active[s->nactive - 1].count++;
        }
    }
    pthread_mutex_unlock(&s->mu);
    return e;
}

void hf_chunk_read_end(hf_chunk_store_t *s, uint64_t ticket)
{
    pthread_mutex_lock(&s->mu);
    size_t lo = 0, hi = s->nactive;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->active[mid].epoch < ticket)
            lo = mid + 1;
        else
            hi = mid;
    }
    bool found = lo < s->nactive && s->active[lo].epoch == ticket;
    if (found && --s->active[lo].count == 0) {
        memmove(&s->active[lo], &s->active[lo + 1], (s->nactive - lo - 1) * sizeof *s->active);
        s->nactive--;
    }
    pthread_mutex_unlock(&s->mu);
    if (!found)
        hf_log_error("msg=\"chunk read_end with unknown ticket\" ticket=%llu",
                     (unsigned long long)ticket);
    hf_chunk_reclaim(s);
}

static bool id_pending_locked(const hf_chunk_store_t *s, const hf_blob_id_t *id)
{
    for (const struct pending *p = s->qhead; p; p = p->next)
        if (memcmp(p->id.b, id->b, 16) == 0)
            return true;
    return false;
}

static bool id_writing_locked(const hf_chunk_store_t *s, const hf_blob_id_t *id)
{
    for (const hf_blob_writer_t *w = s->writers; w; w = w->next)
        if (memcmp(w->id.b, id->b, 16) == 0)
            return true;
    return false;
}

/* Append p to the queue with the current epoch and advance the epoch, so
 * readers that begin from now on do not hold p back. */
static void enqueue_locked(hf_chunk_store_t *s, struct pending *p)
{
    p->epoch = s->epoch++;
    p->next = NULL;
    if (s->qtail)
        s->qtail->next = p;
    else
        s->qhead = p;
    s->qtail = p;
    atomic_fetch_add(&s->blobs_released, 1);
    atomic_fetch_add(&s->pending_release, 1);
}

void hf_chunk_release(hf_chunk_store_t *s, const hf_blob_id_t *id, uint64_t size)
{
    char hex[33];
    hf_hex_encode(hex, id->b, sizeof id->b);
    if (size == 0)
        return; /* no files */
    if (size > HF_OBJECT_MAX) {
        hf_log_error("msg=\"release of blob with impossible size\" blob=%s size=%llu", hex,
                     (unsigned long long)size);
        size = HF_OBJECT_MAX;
    }
    struct pending *p = malloc(sizeof *p);
    if (!p) {
        hf_log_error("msg=\"out of memory releasing blob; left for the orphan sweep\" blob=%s", hex);
        return;
    }
    p->id = *id;
    p->nchunks = chunks_of(size);
    pthread_mutex_lock(&s->mu);
    enqueue_locked(s, p);
    pthread_mutex_unlock(&s->mu);
    hf_chunk_reclaim(s);
}

static void reclaim(hf_chunk_store_t *s)
{
    if (atomic_load(&s->pending_release) == 0)
        return;
    pthread_mutex_lock(&s->mu);
    uint64_t oldest = s->nactive ? s->active[0].epoch : UINT64_MAX;
    struct pending *list = NULL, **tail = &list;
    while (s->qhead && s->qhead->epoch < oldest) {
        *tail = s->qhead;
        tail = &s->qhead->next;
        s->qhead = s->qhead->next;
    }
    *tail = NULL;
    if (!s->qhead)
        s->qtail = NULL;
    pthread_mutex_unlock(&s->mu);

    char hex[33], path[HF_CHUNK_PATH_MAX];
    for (struct pending *p = list, *nx; p; p = nx) {
        nx = p->next;
        hf_hex_encode(hex, p->id.b, sizeof p->id.b);
        for (uint32_t i = 0; i < p->nchunks; i++) {
            path_of(s, hex, i, path);
            if (hf_vfs.unlink(path) != 0 && errno != ENOENT)
                hf_log_error("msg=\"cannot unlink released chunk\" blob=%s chunk=%u errno=%d", hex,
                             i, errno);
        }
        atomic_fetch_add(&s->blobs_unlinked, 1);
        atomic_fetch_sub(&s->pending_release, 1);
        free(p);
    }
}

/* ---- orphan sweep ----------------------------------------------------------------- */

struct found {
    hf_blob_id_t id;
    uint32_t idx;
    int64_t mtime_ns;
};

static int found_cmp(const void *a, const void *b)
{
    const struct found *x = a, *y = b;
    int c = memcmp(x->id.b, y->id.b, 16);
    if (c)
        return c;
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static bool is_lower_hex(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'f')))
            return false;
    return true;
}

/* "<32 lower hex>.<index>" whose id starts with the directory's bytes; the
 * index in canonical decimal (no leading zeros) below CK_CHUNKS_MAX. */
static bool parse_name(const char *name, const char *top, const char *leaf, struct found *f)
{
    size_t len = strlen(name);
    if (len < 34 || len > 33 + 10 || name[32] != '.' || !is_lower_hex(name, 32))
        return false;
    if (memcmp(name, top, 2) != 0 || memcmp(name + 2, leaf, 2) != 0)
        return false;
    const char *d = name + 33;
    size_t nd = len - 33;
    if (nd > 1 && d[0] == '0')
        return false;
    uint64_t v;
    if (hf_parse_u64(d, nd, &v) != HF_OK || v >= CK_CHUNKS_MAX)
        return false;
    f->idx = (uint32_t)v;
    return hf_hex_decode(f->id.b, name, 16) == HF_OK;
}

struct sweep {
    hf_chunk_store_t *s;
    bool (*is_live)(void *ctx, const hf_blob_id_t *id);
    void *ctx;
    int64_t cutoff_ns;
    long queued;
    unsigned long strangers;
    char first_stranger[300];
    struct found *v;
    size_t cap;
};

static void note_stranger(struct sweep *sw, const char *top, const char *leaf, const char *name)
{
    if (sw->strangers++ == 0)
        snprintf(sw->first_stranger, sizeof sw->first_stranger, "%s%s%s%s%s", top,
                 leaf ? "/" : "", leaf ? leaf : "", name ? "/" : "", name ? name : "");
}

/* Decide on one blob's files: v[0..n), sorted by index. */
static void sweep_blob(struct sweep *sw, const struct found *v, size_t n)
{
    int64_t newest = v[0].mtime_ns;
    for (size_t i = 1; i < n; i++)
        if (v[i].mtime_ns > newest)
            newest = v[i].mtime_ns;
    if (newest > sw->cutoff_ns)
        return; /* young: maybe finished and about to be committed */
    if (sw->is_live(sw->ctx, &v[0].id))
        return;
    struct pending *p = malloc(sizeof *p);
    if (!p)
        return; /* next sweep */
    p->id = v[0].id;
    p->nchunks = v[n - 1].idx + 1;
    hf_chunk_store_t *s = sw->s;
    pthread_mutex_lock(&s->mu);
    bool skip = id_writing_locked(s, &p->id) || id_pending_locked(s, &p->id);
    if (!skip)
        enqueue_locked(s, p);
    pthread_mutex_unlock(&s->mu);
    if (skip) {
        free(p);
        return;
    }
    char hex[33];
    hf_hex_encode(hex, p->id.b, 16);
    hf_log_info("msg=\"removing orphan blob\" blob=%s files=%zu", hex, n);
    sw->queued += (long)n;
}

static void sweep_leaf(struct sweep *sw, const char *path, const char *top, const char *leaf)
{
    DIR *d = opendir(path);
    if (!d) {
        if (errno != ENOENT)
            hf_log_error("msg=\"orphan sweep cannot list directory\" dir=%s/%s errno=%d", top, leaf,
                         errno);
        return;
    }
    size_t n = 0;
    bool overflow = false;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        struct found f;
        if (!parse_name(e->d_name, top, leaf, &f)) {
            note_stranger(sw, top, leaf, e->d_name);
            continue;
        }
        struct stat st;
        if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0)
            continue; /* vanished (reclaimed meanwhile) */
        if (!S_ISREG(st.st_mode)) {
            note_stranger(sw, top, leaf, e->d_name);
            continue;
        }
        f.mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
        if (n == sw->cap) {
            if (sw->cap >= SWEEP_DIR_MAX) {
                overflow = true;
                break;
            }
            size_t nc = sw->cap ? 2 * sw->cap : 1024;
            struct found *nv = realloc(sw->v, nc * sizeof *nv);
            if (!nv) {
                overflow = true;
                break;
            }
            sw->v = nv;
            sw->cap = nc;
        }
        sw->v[n++] = f;
    }
    closedir(d);
    if (overflow) {
        /* Deciding on part of a directory could split a blob and judge it
         * by its older chunks only; leave the whole directory alone. */
        hf_log_error("msg=\"orphan sweep skipped oversized directory\" dir=%s/%s", top, leaf);
        return;
    }
    if (n == 0)
        return;
    qsort(sw->v, n, sizeof *sw->v, found_cmp);
    for (size_t i = 0; i < n;) {
        size_t j = i + 1;
        while (j < n && memcmp(sw->v[j].id.b, sw->v[i].id.b, 16) == 0)
            j++;
        sweep_blob(sw, sw->v + i, j - i);
        i = j;
    }
}

static bool is_hex_dir(const struct dirent *e)
{
    return strlen(e->d_name) == 2 && is_lower_hex(e->d_name, 2);
}

long hf_chunk_sweep_orphans(hf_chunk_store_t *s, bool (*is_live)(void *ctx, const hf_blob_id_t *id),
                            void *ctx, int64_t min_age_s)
{
    if (!is_live || min_age_s < 0 || min_age_s > INT64_MAX / 1000000000 - 1)
        return HF_E_INVAL;
    struct sweep sw = {
        .s = s, .is_live = is_live, .ctx = ctx,
        .cutoff_ns = hf_time_now() - min_age_s * 1000000000,
    };
    DIR *top = opendir(s->chunks);
    if (!top) {
        int rc = -errno;
        hf_log_error("msg=\"orphan sweep cannot list chunk directory\" errno=%d", errno);
        return rc;
    }
    char path[HF_CHUNK_PATH_MAX];
    struct dirent *te;
    while ((te = readdir(top)) != NULL) {
        if (strcmp(te->d_name, ".") == 0 || strcmp(te->d_name, "..") == 0)
            continue;
        if (!is_hex_dir(te)) {
            note_stranger(&sw, te->d_name, NULL, NULL);
            continue;
        }
        char tname[3];
        memcpy(tname, te->d_name, 3);
        snprintf(path, sizeof path, "%s/%s", s->chunks, tname);
        DIR *mid = opendir(path);
        if (!mid) {
            if (errno != ENOTDIR)
                hf_log_error("msg=\"orphan sweep cannot list directory\" dir=%s errno=%d", tname,
                             errno);
            else
                note_stranger(&sw, tname, NULL, NULL);
            continue;
        }
        struct dirent *me;
        while ((me = readdir(mid)) != NULL) {
            if (strcmp(me->d_name, ".") == 0 || strcmp(me->d_name, "..") == 0)
                continue;
            if (!is_hex_dir(me)) {
                note_stranger(&sw, tname, me->d_name, NULL);
                continue;
            }
            char lname[3];
            memcpy(lname, me->d_name, 3);
            snprintf(path, sizeof path, "%s/%s/%s", s->chunks, tname, lname);
            sweep_leaf(&sw, path, tname, lname);
        }
        closedir(mid);
        /* Unlink as we go rather than holding every orphan until the end. */
        reclaim(s);
    }
    closedir(top);
    free(sw.v);
    if (sw.strangers) {
        char q[320];
        hf_log_warn("msg=\"orphan sweep ignored entries not named like chunks\" count=%lu first=%s",
                    sw.strangers, hf_log_quote(q, sizeof q, sw.first_stranger));
    }
    reclaim(s);
    return sw.queued;
}

void hf_chunk_stats(hf_chunk_store_t *s, hf_chunk_stats_t *out)
{
    out->chunks_written = atomic_load(&s->chunks_written);
    out->bytes_written = atomic_load(&s->bytes_written);
    out->bytes_read = atomic_load(&s->bytes_read);
    out->corrupt_reads = atomic_load(&s->corrupt_reads);
    out->blobs_released = atomic_load(&s->blobs_released);
    out->blobs_unlinked = atomic_load(&s->blobs_unlinked);
    out->pending_release = atomic_load(&s->pending_release);
}

/* ---- verified reopen ------------------------------------------------------------ */

/* The probe spans two chunks (a sealed full one and a short last one), so
 * every step of the write path runs: payload and header writes, two
 * fdatasyncs, directory creation and fsync. */
#define PROBE_SIZE ((uint64_t)HF_CHUNK_SIZE + 3 * HF_CHUNK_BLOCK + 17)

static void probe_fill(unsigned char *p, size_t n, uint64_t off, uint64_t seed)
{
    for (size_t i = 0; i < n; i++) {
        uint64_t x = (off + i) * 0x9E3779B97F4A7C15ULL ^ seed;
        p[i] = (unsigned char)(x >> 56);
    }
}

static int probe_fail(hf_chunk_store_t *s, int rc, const char *step, char *why, size_t cap)
{
    if (why && cap)
        snprintf(why, cap, "recovery probe: %s failed (%s)", step, hf_strerror(rc));
    hf_log_error("msg=\"chunk store recovery probe failed; still refusing writes\" step=\"%s\" "
                 "err=\"%s\"",
                 step, hf_strerror(rc));
    enter_failed(s, rc, "recovery probe", NULL, 0);
    return rc;
}

static int store_recover(hf_chunk_store_t *s, char *why, size_t cap)
{
    if (why && cap)
        why[0] = '\0';
    unsigned char *buf = malloc(HF_CHUNK_BLOCK * 2);
    if (!buf)
        return -ENOMEM;
    unsigned char *cmp = buf + HF_CHUNK_BLOCK;
    uint64_t seed = 0;
    hf_rand_bytes(&seed, sizeof seed);
    hf_blob_writer_t *w = NULL;
    hf_blob_reader_t *r = NULL;
    int rc = writer_open(s, true, NULL, &w);
    if (rc) {
        rc = probe_fail(s, rc, "open", why, cap);
        goto out;
    }
    hf_blob_id_t id = w->id;
    for (uint64_t off = 0; off < PROBE_SIZE; off += HF_CHUNK_BLOCK) {
        size_t k = PROBE_SIZE - off < HF_CHUNK_BLOCK ? (size_t)(PROBE_SIZE - off) : HF_CHUNK_BLOCK;
        probe_fill(buf, k, off, seed);
        if ((rc = blob_write(w, buf, k)) != HF_OK) {
            hf_blob_writer_abort(w);
            rc = probe_fail(s, rc, "write", why, cap);
            goto out;
        }
    }
    uint64_t size = 0;
    rc = writer_finish(w, &size);
    if (rc) {
        rc = probe_fail(s, rc, "sync", why, cap);
        goto out;
    }
    if ((rc = hf_blob_reader_open(s, &id, size, &r)) != HF_OK) {
        rc = probe_fail(s, rc, "read", why, cap);
        goto out_unlink;
    }
    for (uint64_t off = 0; off < PROBE_SIZE; off += HF_CHUNK_BLOCK) {
        size_t k = PROBE_SIZE - off < HF_CHUNK_BLOCK ? (size_t)(PROBE_SIZE - off) : HF_CHUNK_BLOCK;
        probe_fill(cmp, k, off, seed);
        if ((rc = blob_read(r, off, buf, k)) != HF_OK || memcmp(buf, cmp, k) != 0) {
            rc = probe_fail(s, rc ? rc : HF_E_CORRUPT, "read back", why, cap);
            goto out_unlink;
        }
    }
out_unlink:
    hf_blob_reader_close(r);
    {
        char path[HF_CHUNK_PATH_MAX], hex[33];
        hf_hex_encode(hex, id.b, sizeof id.b);
        int urc = HF_OK;
        for (uint32_t i = 0; i < chunks_of(PROBE_SIZE); i++) {
            path_of(s, hex, i, path);
            if (hf_vfs.unlink(path) != 0 && errno != ENOENT)
                urc = -errno;
        }
        snprintf(path, sizeof path, "%s/%.2s/%.2s", s->chunks, hex, hex + 2);
        if (urc == HF_OK)
            urc = sync_dir(s, path, hex, 0);
        if (rc == HF_OK && urc != HF_OK)
            rc = probe_fail(s, urc, "remove", why, cap);
    }
    if (rc == HF_OK) {
        int was = atomic_exchange(&s->failed, 0);
        if (was)
            hf_log_warn("msg=\"chunk store verified; accepting writes again\" was=\"%s\"",
                        hf_strerror(was));
        else
            hf_log_info("msg=\"chunk store verified\"");
    }
out:
    free(buf);
    return rc;
}

/* ---- calls that may block, run on the blocking-I/O pool ---------------------------- */

/* From a fiber, every call below that may touch the disk runs on the
 * blocking-I/O pool (base/iopool.h) while the fiber parks; elsewhere it
 * runs in place. One hand-off per call, not per system call: a 256 KiB
 * write is one hand-off for its four block writes. */

typedef struct call {
    int rc;
    hf_chunk_store_t *s;
    hf_blob_writer_t *w;
    hf_blob_reader_t *r;
    const void *in;
    void *out;
    size_t n;
    uint64_t off, need;
    uint64_t *size, *avail;
    char *why;
} call_t;

static void j_space(void *a)
{
    call_t *c = a;
    c->rc = space_check(c->s, c->need, c->avail);
}

int hf_chunk_space_check(hf_chunk_store_t *s, uint64_t need, uint64_t *avail)
{
    call_t c = {.s = s, .need = need, .avail = avail};
    hf_iopool_run(j_space, &c);
    return c.rc;
}

static void j_write(void *a)
{
    call_t *c = a;
    c->rc = blob_write(c->w, c->in, c->n);
}

int hf_blob_write(hf_blob_writer_t *w, const void *p, size_t n)
{
    call_t c = {.w = w, .in = p, .n = n};
    /* Bytes that only fill the open chunk's block buffer touch no disk. */
    if (w->err || (w->fd >= 0 && w->buf_len + n < HF_CHUNK_BLOCK))
        j_write(&c);
    else
        hf_iopool_run(j_write, &c);
    return c.rc;
}

static void j_finish(void *a)
{
    call_t *c = a;
    c->rc = writer_finish(c->w, c->size);
}

int hf_blob_writer_finish(hf_blob_writer_t *w, uint64_t *size)
{
    call_t c = {.w = w, .size = size};
    hf_iopool_run(j_finish, &c);
    return c.rc;
}

static void j_discard(void *a)
{
    writer_discard(((call_t *)a)->w);
}

void hf_blob_writer_abort(hf_blob_writer_t *w)
{
    if (!w)
        return;
    call_t c = {.w = w};
    hf_iopool_run(j_discard, &c);
}

static void j_read(void *a)
{
    call_t *c = a;
    c->rc = blob_read(c->r, c->off, c->out, c->n);
}

/* A read that stays in the reader's open chunk and whose blocks are all in
 * the page cache costs a copy and a crc, no wait: it runs in place, and
 * only the first read of a chunk (open, header) or a read that would go to
 * the disk leaves the loop. A GET of a cached 1 MiB object is then one
 * hand-off instead of four. */
static bool read_is_cached(const hf_blob_reader_t *r, uint64_t off, size_t n)
{
    if (n == 0)
        return true;
    if (r->fd < 0 || off / HF_CHUNK_SIZE != r->chunk || (off + n - 1) / HF_CHUNK_SIZE != r->chunk)
        return false;
    uint32_t coff = (uint32_t)(off % HF_CHUNK_SIZE);
    uint32_t first = coff - coff % HF_CHUNK_BLOCK; /* whole blocks are read and verified */
    uint64_t end = (uint64_t)coff + n;
    end = (end + HF_CHUNK_BLOCK - 1) / HF_CHUNK_BLOCK * HF_CHUNK_BLOCK;
    if (end > r->payload_len)
        end = r->payload_len;
    return hf_vfs_cached(r->fd, (off_t)CK_PAYLOAD_OFF + first, (size_t)(end - first)) == 1;
}

int hf_blob_read(hf_blob_reader_t *r, uint64_t off, void *buf, size_t n)
{
    call_t c = {.r = r, .off = off, .out = buf, .n = n};
    if (hf_fiber_self() && read_is_cached(r, off, n))
        j_read(&c);
    else
        hf_iopool_run(j_read, &c);
    return c.rc;
}

static void j_reclaim(void *a)
{
    reclaim(((call_t *)a)->s);
}

void hf_chunk_reclaim(hf_chunk_store_t *s)
{
    if (atomic_load(&s->pending_release) == 0)
        return;
    call_t c = {.s = s};
    hf_iopool_run(j_reclaim, &c);
}

static void j_recover(void *a)
{
    call_t *c = a;
    c->rc = store_recover(c->s, c->why, c->n);
}

int hf_chunk_store_recover(hf_chunk_store_t *s, char *why, size_t cap)
{
    call_t c = {.s = s, .why = why, .n = cap};
    hf_iopool_run(j_recover, &c);
    return c.rc;
}
