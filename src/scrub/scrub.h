/*
 * scrub.h -- the scrubber: reads every stored object back, at a gentle
 * rate, and reports each one whose bytes no longer verify.
 *
 * Every GET already verifies what it reads (chunk/store.h), but data that
 * nobody reads can rot unnoticed until the day it is needed -- and by then
 * the other copies (later: replicas) may have rotted too. A scrub pass
 * walks every object version (hf_meta_scan), reads every byte of its
 * chunk files through the verifying reader (or checks the inline data's
 * crc32c), and records each damaged object by bucket, key and version
 * with the reason. Damage is logged (error level), counted, and kept in
 * the report the admin API serves.
 *
 * Pacing: reads are spread so that the pass averages at most `rate` bytes
 * per second, in slices of at most a quarter second's worth, so the data
 * path keeps the disk. A pass starts every `interval_s` seconds (counted
 * from the previous start) or when asked (hf_scrub_start).
 *
 * Reclaim safety: an object's blobs are read inside a chunk read section
 * (hf_chunk_read_begin) taken before its metadata is read again, so a
 * concurrent overwrite or delete cannot unlink the files mid-read; an
 * object that changed since the page was scanned is skipped (its new
 * version is new data, written through the verified path).
 *
 * Ownership: hf_scrub_t borrows the meta and chunk stores (they must
 * outlive it). Threads: hf_scrub_step from one thread at a time (the
 * server's housekeeping thread); hf_scrub_start and hf_scrub_report from
 * any thread.
 */
#ifndef HF_SCRUB_SCRUB_H
#define HF_SCRUB_SCRUB_H

#include "base/limits.h"
#include "chunk/store.h"
#include "meta/meta.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct hf_scrub hf_scrub_t;

typedef struct hf_scrub_config {
    uint64_t rate;      /* bytes/s of verification reads; 0: HF_SCRUB_RATE_DEFAULT */
    int64_t interval_s; /* seconds between pass starts; 0: passes only on request */
} hf_scrub_config_t;

/* One damaged object. */
typedef struct hf_scrub_damage {
    char bucket[HF_BUCKET_NAME_MAX + 1];
    char key[HF_KEY_MAX + 1];
    char version[33];   /* "null", or the version id in hex */
    char reason[128];
    int64_t found_ns;   /* wall clock */
} hf_scrub_damage_t;

typedef struct hf_scrub_stats {
    bool running;
    uint64_t passes;        /* passes completed since start */
    uint64_t rate;          /* bytes/s of the current (or next) pass */
    int64_t interval_s;
    int64_t pass_started_ns;  /* current pass, or the last one (0: none yet) */
    int64_t pass_finished_ns; /* last completed pass (0: none yet) */
    /* The current pass (while running) or the last completed one. */
    uint64_t objects, bytes, damaged, skipped;
    /* Since the process started (for metrics): monotonic. */
    uint64_t objects_total, bytes_total, damaged_total;
} hf_scrub_stats_t;

/* Create a scrubber (no thread: the owner calls hf_scrub_step). *out is
 * owned by the caller; free with hf_scrub_destroy. Errors: -ENOMEM. */
int hf_scrub_create(hf_meta_t *m, hf_chunk_store_t *chunks, const hf_scrub_config_t *cfg,
                    hf_scrub_t **out);
/* Stop (a pass in progress is abandoned) and free. */
void hf_scrub_destroy(hf_scrub_t *sc);

/* Do one slice of work. Returns the milliseconds after which it wants to
 * be called again (long when idle; the caller may call earlier). */
int64_t hf_scrub_step(hf_scrub_t *sc);

/* Start a pass now, at rate bytes/s (0: the configured rate). HF_OK, or
 * HF_E_BUSY if a pass is already running (it goes on unchanged). */
int hf_scrub_start(hf_scrub_t *sc, uint64_t rate);

/* Counters, and up to cap damaged objects of the current pass (while one
 * runs) or of the last completed one into out[]; *n is how many were
 * copied, *more is true if the pass found more than were copied or kept
 * (a pass keeps at most HF_SCRUB_DAMAGE_MAX). */
void hf_scrub_report(hf_scrub_t *sc, hf_scrub_stats_t *st, hf_scrub_damage_t *out, size_t cap,
                     size_t *n, bool *more);

/* Damaged objects one pass keeps for the report; more are still logged
 * and counted. Bounds the report's memory at about 1.2 MiB. */
#define HF_SCRUB_DAMAGE_MAX 1000

/* 8 MiB/s: a 1 TB disk in about a day and a half, a small fraction of a
 * disk's sequential bandwidth. */
#define HF_SCRUB_RATE_DEFAULT (8ULL * 1024 * 1024)

#endif /* HF_SCRUB_SCRUB_H */
