/*
 * hist.h -- fixed-bucket histograms that any thread can add to and any
 * other thread can read without a lock (metrics, the status page).
 *
 * A histogram has up to HF_HIST_BOUNDS_MAX ascending upper bounds in
 * whatever unit the caller records (microseconds, bytes, operations); a
 * value v lands in the first bucket whose bound is >= v, or in the
 * implicit +Inf bucket. Counters are relaxed atomics: a reader may see a
 * value counted in a bucket a moment before it shows in the sum, which is
 * what Prometheus scrapes tolerate anyway.
 *
 * Ownership: the bounds array is borrowed and must outlive the histogram
 * (use static const arrays, e.g. hf_hist_latency_us). Threads: hf_hist_add
 * and hf_hist_read from any thread, concurrently.
 */
#ifndef HF_BASE_HIST_H
#define HF_BASE_HIST_H

#include <stdatomic.h>
#include <stdint.h>

/* Buckets per histogram, +Inf excluded. Enough for a latency range of
 * 100 us to 60 s at 1-2.5-5 steps; bounds the size of every snapshot. */
#define HF_HIST_BOUNDS_MAX 20

typedef struct hf_hist {
    const uint64_t *bounds;
    int nbounds;
    _Atomic uint64_t counts[HF_HIST_BOUNDS_MAX + 1]; /* per bucket, not cumulative; last is +Inf */
    _Atomic uint64_t sum;
} hf_hist_t;

/* A copy of a histogram at one moment. */
typedef struct hf_hist_snap {
    int nbounds;
    uint64_t bounds[HF_HIST_BOUNDS_MAX];
    uint64_t counts[HF_HIST_BOUNDS_MAX + 1];
    uint64_t sum;
    uint64_t count;
} hf_hist_snap_t;

/* Static initialiser over a static const array of bounds. */
#define HF_HIST_INIT(b) {.bounds = (b), .nbounds = (int)(sizeof(b) / sizeof((b)[0]))}

/* Latency bounds in microseconds: 100 us .. 60 s. */
extern const uint64_t hf_hist_latency_us[18];
/* Counts (batch sizes): 1 .. 256 in powers of two (HF_META_BATCH_MAX). */
extern const uint64_t hf_hist_pow2[9];

/* Initialise h over bounds[0..n) (n <= HF_HIST_BOUNDS_MAX, ascending). */
void hf_hist_init(hf_hist_t *h, const uint64_t *bounds, int n);
void hf_hist_add(hf_hist_t *h, uint64_t v);
void hf_hist_read(const hf_hist_t *h, hf_hist_snap_t *out);
/* Add every count of b into a (same bounds). */
void hf_hist_merge(hf_hist_snap_t *a, const hf_hist_snap_t *b);
/* Estimate the q-quantile (0 < q <= 1) by linear interpolation inside the
 * bucket that holds it (as Prometheus' histogram_quantile does). Returns 0
 * for an empty histogram; values in the +Inf bucket report the last bound. */
double hf_hist_quantile(const hf_hist_snap_t *s, double q);

#endif /* HF_BASE_HIST_H */
