/* hist.c -- lock-free fixed-bucket histograms; see hist.h. */
#include "base/hist.h"

#include <string.h>

const uint64_t hf_hist_latency_us[18] = {
    100,    250,    500,     1000,    2500,    5000,    10000,    25000,    50000,
    100000, 250000, 500000,  1000000, 2500000, 5000000, 10000000, 30000000, 60000000,
};

const uint64_t hf_hist_pow2[9] = {1, 2, 4, 8, 16, 32, 64, 128, 256};

void hf_hist_init(hf_hist_t *h, const uint64_t *bounds, int n)
{
    memset(h, 0, sizeof *h);
    h->bounds = bounds;
    h->nbounds = n > HF_HIST_BOUNDS_MAX ? HF_HIST_BOUNDS_MAX : n;
}

void hf_hist_add(hf_hist_t *h, uint64_t v)
{
    /* Linear scan: at most 20 compares, cheaper than a branchy binary
     * search for the small values that dominate. */
    int i = 0;
    while (i < h->nbounds && v > h->bounds[i])
        i++;
    atomic_fetch_add_explicit(&h->counts[i], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&h->sum, v, memory_order_relaxed);
}

void hf_hist_read(const hf_hist_t *h, hf_hist_snap_t *out)
{
    hf_hist_t *m = (hf_hist_t *)h;
    memset(out, 0, sizeof *out);
    out->nbounds = h->nbounds;
    for (int i = 0; i < h->nbounds; i++)
        out->bounds[i] = h->bounds[i];
    for (int i = 0; i <= h->nbounds; i++) {
        out->counts[i] = atomic_load_explicit(&m->counts[i], memory_order_relaxed);
        out->count += out->counts[i];
    }
    out->sum = atomic_load_explicit(&m->sum, memory_order_relaxed);
}

void hf_hist_merge(hf_hist_snap_t *a, const hf_hist_snap_t *b)
{
    if (a->nbounds == 0 && a->count == 0) {
        a->nbounds = b->nbounds;
        memcpy(a->bounds, b->bounds, sizeof a->bounds);
    }
    for (int i = 0; i <= a->nbounds && i <= HF_HIST_BOUNDS_MAX; i++)
        a->counts[i] += b->counts[i];
    a->sum += b->sum;
    a->count += b->count;
}

double hf_hist_quantile(const hf_hist_snap_t *s, double q)
{
    if (s->count == 0 || s->nbounds == 0)
        return 0;
    double rank = q * (double)s->count;
    uint64_t below = 0;
    for (int i = 0; i <= s->nbounds; i++) {
        uint64_t c = s->counts[i];
        if ((double)(below + c) >= rank && c > 0) {
            if (i == s->nbounds)
                return (double)s->bounds[s->nbounds - 1];
            double lo = i == 0 ? 0 : (double)s->bounds[i - 1];
            double hi = (double)s->bounds[i];
            return lo + (hi - lo) * ((rank - (double)below) / (double)c);
        }
        below += c;
    }
    return (double)s->bounds[s->nbounds - 1];
}
