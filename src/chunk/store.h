/*
 * store.h -- object bytes on disk: blobs made of checksummed chunk files.
 *
 * A blob is the byte sequence of one PUT body or one multipart part. It is
 * named by a random 128-bit id (hf_blob_id_t) -- never by bucket or key, so
 * no object key ever becomes a file path -- and is stored as chunk files of
 * at most HF_CHUNK_SIZE bytes:
 *
 *   <dir>/chunks/<id hex 0-1>/<id hex 2-3>/<id hex>.<chunk index>
 *
 * Each chunk file starts with a versioned header and a table of crc32c
 * values, one per HF_CHUNK_BLOCK of payload; the payload follows at a fixed
 * offset. The byte layout is in docs/internals/FORMAT-chunk.md. Every read
 * verifies the crc32c of each block it touches; a mismatch is an error
 * (HF_E_CORRUPT), a log line naming the chunk, and a counter -- never wrong
 * bytes returned.
 *
 * Sealed blobs (format version 2): a blob written with a key has every
 * block encrypted and authenticated with AES-256-GCM under a key of its own
 * (derived from the caller's key and the blob id); the block's tag sits in
 * the chunk's table next to the crc32c of the stored (encrypted) bytes. A
 * reader with the key verifies the crc, then the tag, then decrypts only
 * the blocks it reads; a reader without it (the scrubber) can still verify
 * every crc. Whether a blob is sealed is the caller's knowledge (its
 * metadata): a plain reader refuses a sealed chunk and a sealed reader a
 * plain one, as damage.
 *
 * Durability: hf_blob_writer_finish() returns only when every chunk file and
 * the directory entries are on stable storage (fdatasync + directory fsync).
 * The caller then commits the metadata that references the blob; until
 * then the blob is unreferenced and, after a crash, an orphan (removed by the
 * orphan sweep, see hf_chunk_sweep_orphans).
 *
 * Reclaiming space safely (epoch-based): a reader (a GET that may have seen
 * a metadata record referencing a blob) brackets its reads with
 * hf_chunk_read_begin/end. hf_chunk_release() does not unlink at once: it
 * queues the blob with the current epoch, and the files are unlinked once
 * every reader that began at or before that epoch has ended. A reader that
 * began after the release cannot have seen the old record (the release is
 * called only after the metadata change is durable), so it never needs the
 * files. Invariant: a blob's files are unlinked only when no metadata record
 * references it and no reader that might hold such a record is active.
 *
 * Threads: all functions are thread-safe except that one writer or reader
 * handle is used by one thread at a time.
 */
#ifndef HF_CHUNK_STORE_H
#define HF_CHUNK_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct hf_blob_id {
    uint8_t b[16];
} hf_blob_id_t;

typedef struct hf_chunk_store hf_chunk_store_t;
typedef struct hf_blob_writer hf_blob_writer_t;
typedef struct hf_blob_reader hf_blob_reader_t;

/* Counters, for metrics and the status page. Monotonic. */
typedef struct hf_chunk_stats {
    uint64_t chunks_written;
    uint64_t bytes_written;
    uint64_t bytes_read;
    uint64_t corrupt_reads;   /* verification failures */
    uint64_t blobs_released;  /* queued for unlink */
    uint64_t blobs_unlinked;  /* files removed */
    uint64_t pending_release; /* queued, waiting for readers (gauge) */
} hf_chunk_stats_t;

/* Open (creating <dir>/chunks if needed) the store rooted at dir. On success
 * *out is owned by the caller; free with hf_chunk_store_close. Errors:
 * negative errno. */
int hf_chunk_store_open(const char *dir, hf_chunk_store_t **out);

/* Unlink everything still queued for release if no reader is active, and
 * free the store. Readers and writers must be finished. */
void hf_chunk_store_close(hf_chunk_store_t *s);

/* ---- writing ---- */

/* Start a new blob with a fresh random id. *out is owned by the caller until
 * hf_blob_writer_finish or hf_blob_writer_abort. Errors: HF_E_STATE (the
 * store is FAILED, see below), negative errno. */
int hf_blob_writer_open(hf_chunk_store_t *s, hf_blob_writer_t **out);

/* Bytes of the key a sealed blob is written and read with. */
#define HF_CHUNK_KEY_LEN 32

/* As hf_blob_writer_open, but every block is sealed under a key derived
 * from key (HF_CHUNK_KEY_LEN bytes, copied: the caller may wipe it at once)
 * and the new blob's id. The caller must never write two blobs under one
 * key with the same id -- ids are random 128-bit values, so it does not.
 * Errors as hf_blob_writer_open, and HF_E_INVAL (key NULL, or OpenSSL
 * refused the cipher). */
int hf_blob_writer_open_sealed(hf_chunk_store_t *s, const uint8_t key[HF_CHUNK_KEY_LEN],
                               hf_blob_writer_t **out);

/* The new blob's id (valid from open). */
const hf_blob_id_t *hf_blob_writer_id(const hf_blob_writer_t *w);

/* Append n bytes. Data is written through to the chunk file (no more than
 * one HF_CHUNK_BLOCK is buffered); a chunk file is completed (header,
 * crc table, fdatasync) whenever it reaches HF_CHUNK_SIZE. Errors: negative
 * errno (-ENOSPC, -EIO, ...), HF_E_NOSPACE (free space reached the
 * reserve), HF_E_TOOBIG past HF_OBJECT_MAX bytes; after
 * an error only abort is allowed (finish returns the same error). */
int hf_blob_write(hf_blob_writer_t *w, const void *p, size_t n);

/* Complete the last chunk and make every chunk durable. On success the
 * writer is freed and *size is the blob's length; on failure the written
 * chunks are unlinked and the writer is freed. A zero-length blob has no
 * chunk files at all. */
int hf_blob_writer_finish(hf_blob_writer_t *w, uint64_t *size);

/* Give up: unlink written chunks, free the writer. Safe after errors. */
void hf_blob_writer_abort(hf_blob_writer_t *w);

/* ---- reading ---- */

/* Open a blob of the given size (from its metadata record) for reading.
 * No file is opened yet. *out is caller-owned; close with
 * hf_blob_reader_close. Errors: -ENOMEM, HF_E_INVAL if size exceeds
 * HF_OBJECT_MAX. */
int hf_blob_reader_open(hf_chunk_store_t *s, const hf_blob_id_t *id, uint64_t size,
                        hf_blob_reader_t **out);

/* Open a sealed blob. With key (the one it was written with): reads
 * return the plaintext, each block checked by crc and by its GCM tag. With
 * key NULL: reads return the stored ciphertext, checked by crc only (what
 * the scrubber does, holding no keys). Errors as hf_blob_reader_open. */
int hf_blob_reader_open_sealed(hf_chunk_store_t *s, const hf_blob_id_t *id, uint64_t size,
                               const uint8_t *key, hf_blob_reader_t **out);

/* Read n bytes at off (off + n <= size) into buf, verifying every block
 * touched. Returns HF_OK, HF_E_CORRUPT (checksum or header mismatch, a
 * block failing its authentication tag, a sealed chunk met by a plain
 * reader or the reverse, or a missing/short chunk file: logged and
 * counted), HF_E_VERSION (a chunk in
 * a format version this build cannot read), HF_E_INVAL (range past the
 * end), or a negative errno. On any error buf is zeroed. */
int hf_blob_read(hf_blob_reader_t *r, uint64_t off, void *buf, size_t n);

void hf_blob_reader_close(hf_blob_reader_t *r);

/* ---- reclaiming ---- */

/* Enter a read section; returns a ticket for hf_chunk_read_end. Call before
 * reading the metadata that leads to a blob. Never fails. */
uint64_t hf_chunk_read_begin(hf_chunk_store_t *s);
void hf_chunk_read_end(hf_chunk_store_t *s, uint64_t ticket);

/* Queue a blob (no longer referenced by durable metadata) for unlinking once
 * no earlier reader is active. size is the blob's length (it says how many
 * chunk files exist; 0 means none, and nothing is queued). Never fails;
 * unlink errors are logged, and a blob that cannot be queued (out of
 * memory) is left for the orphan sweep. */
void hf_chunk_release(hf_chunk_store_t *s, const hf_blob_id_t *id, uint64_t size);

/* Unlink queued blobs whose readers are gone. Called by read_end and
 * release; exposed for tests. */
void hf_chunk_reclaim(hf_chunk_store_t *s);

/* Remove chunk files whose blob id is_live() says is unknown, judging each
 * blob as a whole: it is left alone while being written (hf_blob_writer_open
 * until finish/abort), while already queued for release, or while its
 * newest chunk file's mtime is within min_age_s of now -- the newest, since
 * a slow upload's first chunk may be old when finish returns and before the
 * caller commits the metadata; min_age_s must cover that gap. Orphans go
 * through the release queue, so a reader that began before the sweep (and
 * may hold a record deleted just before) keeps them until it ends. Walks
 * every chunk directory: run it in the background. Returns the number of
 * files removed (or, behind such a reader, queued for removal), or a
 * negative errno (HF_E_INVAL for a negative min_age_s). */
long hf_chunk_sweep_orphans(hf_chunk_store_t *s, bool (*is_live)(void *ctx, const hf_blob_id_t *id),
                            void *ctx, int64_t min_age_s);

void hf_chunk_stats(hf_chunk_store_t *s, hf_chunk_stats_t *out);

/* ---- the failed state (sticky) ---- */

/* States and the function behind each edge:
 *
 *   OK     -> FAILED   a chunk fdatasync or directory fsync fails, or a
 *                      payload/header write fails with an error of unknown
 *                      effect (anything but ENOSPC / EDQUOT, which say the
 *                      write did not happen)       [hf_blob_write, _finish]
 *   FAILED -> OK       hf_chunk_store_recover: a probe blob written,
 *                      made durable, read back and verified, and removed
 *   OK     -> OK       hf_chunk_store_recover (the probe runs anyway)
 *
 * While FAILED, hf_blob_writer_open returns HF_E_STATE (writers already
 * open fail at their next write or at finish), so no blob is acknowledged
 * on a disk whose last fsync result is unknown (after a failed fsync the
 * kernel may have dropped the dirty pages and marked them clean, so a
 * retried fsync would "succeed" over lost data). Reads go on: every byte
 * returned is verified anyway. The transition is logged once at error
 * level. */

/* true if the store refuses writes; *err gets the error that caused it and
 * why (may be NULL, cap bytes) a one-line reason naming the operation and
 * the blob. Thread-safe, lock-free for the common "not failed" case. */
bool hf_chunk_failed(hf_chunk_store_t *s, int *err, char *why, size_t cap);

/* Verified reopen: write a probe blob of two chunks through the normal
 * write path (bypassing the failed state), fdatasync it, fsync its
 * directory, read it back verifying every block, unlink it and fsync the
 * directory again. Only if every step succeeds is the failed state
 * cleared. Returns HF_OK, or the error of the step that failed (the state
 * stays FAILED, or becomes FAILED if it was OK) with why filled. */
int hf_chunk_store_recover(hf_chunk_store_t *s, char *why, size_t cap);

/* ---- space ---- */

/* Bytes of free space (as statvfs f_bavail, i.e. available to this user)
 * that writers must leave on the chunk directory's file system. Set once
 * at start, before any writer; 0 disables the check. */
void hf_chunk_set_reserve(hf_chunk_store_t *s, uint64_t bytes);
uint64_t hf_chunk_reserve(const hf_chunk_store_t *s);

/* HF_OK if at least reserve + need bytes are free; HF_E_NOSPACE if not;
 * a negative errno if statvfs fails. *avail (may be NULL) gets the free
 * bytes. Blob writers also check (reserve only) when they open each chunk
 * file and every HF_CHUNK_SPACE_CHECK bytes, so one large upload cannot
 * eat the reserve: it fails with HF_E_NOSPACE instead. */
int hf_chunk_space_check(hf_chunk_store_t *s, uint64_t need, uint64_t *avail);
#define HF_CHUNK_SPACE_CHECK (1024 * 1024)

/* Path of chunk idx of blob id under the store (for tests and tools).
 * out must hold at least HF_CHUNK_PATH_MAX bytes. */
#define HF_CHUNK_PATH_MAX 4096
void hf_chunk_path(const hf_chunk_store_t *s, const hf_blob_id_t *id, uint32_t idx, char *out);

#endif /* HF_CHUNK_STORE_H */
