/*
 * lifecycle.h -- the bucket lifecycle worker: applies each bucket's
 * LifecycleConfiguration (expiration of current versions, of noncurrent
 * versions, of lone delete markers, and the abort of old multipart
 * uploads) in the background.
 *
 * The worker has no thread of its own: its owner calls hf_lifecycle_step
 * from a background thread (the server's housekeeping thread), and each
 * call does one bounded slice of work -- one listing page of one bucket --
 * and says how long to wait before the next, so the pace is set by a
 * rate and by foreground load (it yields while the guard says foreground
 * traffic is busy). Progress is saved per bucket after every page, so a
 * pass resumes where it stopped after a restart. What it did is counted
 * (hf_lifecycle_stats) and logged, one line per action.
 *
 * Ownership: borrows meta and the guard (may be NULL); both must outlive
 * it. Threads: hf_lifecycle_step from one thread at a time;
 * hf_lifecycle_stats from any thread (atomics).
 */
#ifndef HF_S3_LIFECYCLE_H
#define HF_S3_LIFECYCLE_H

#include "guard/guard.h"
#include "meta/meta.h"

#include <stdatomic.h>
#include <stdint.h>

typedef struct hf_lifecycle hf_lifecycle_t;

typedef struct hf_lifecycle_config {
    /* Seconds in one lifecycle "day" (rules count in days). 86400 in real
     * use; tests shrink it to run a day's expiry in a second. With real
     * days an expiry falls at the next midnight UTC, as S3 rounds it. */
    int64_t day_seconds;
    /* A new pass over every bucket starts this often (seconds). */
    int64_t interval_s;
    /* Versions and uploads examined per second, at most. */
    double rate;
} hf_lifecycle_config_t;

/* Defaults: a real day, a pass every hour, 1000 entries a second. */
#define HF_LIFECYCLE_DAY_DEFAULT_S 86400
#define HF_LIFECYCLE_RATE_DEFAULT 1000.0

typedef struct hf_lifecycle_stats {
    uint64_t passes;             /* passes finished */
    uint64_t examined;           /* versions and uploads looked at */
    uint64_t expired;            /* current versions expired (deleted or marked) */
    uint64_t noncurrent_expired; /* noncurrent versions removed */
    uint64_t markers_removed;    /* lone delete markers removed */
    uint64_t uploads_aborted;
    uint64_t held;               /* removals refused by Object Lock */
    uint64_t errors;             /* bad stored configurations, failed changes */
    int64_t last_pass_ns;        /* when the last pass finished (0: none yet) */
    int running;                 /* a pass is under way */
} hf_lifecycle_stats_t;

/* Create a worker over meta. guard may be NULL (no budget, no yielding).
 * Errors: -ENOMEM, HF_E_INVAL for a config out of range. */
int hf_lifecycle_create(hf_meta_t *meta, hf_guard_t *guard, const hf_lifecycle_config_t *cfg,
                        hf_lifecycle_t **out);
void hf_lifecycle_destroy(hf_lifecycle_t *lc);

/* One slice of work; returns the milliseconds to wait before the next
 * call (0: call again at once). */
int64_t hf_lifecycle_step(hf_lifecycle_t *lc);

void hf_lifecycle_stats(const hf_lifecycle_t *lc, hf_lifecycle_stats_t *out);

#endif
