/*
 * stats.c -- latency histograms and error counts of the load generator.
 * See bench.h.
 *
 * The histogram is log-linear (HdrHistogram's idea, fixed precision): a
 * value v in microseconds goes to bucket 64*s + (v >> s), where s is how
 * far v's top bit is above bit 6. Below 128 us every microsecond has its
 * own bucket; above, each power of two is split into 64, so a reported
 * percentile is within 1/64 (1.6%) of the true sample. Adding a sample is
 * a count-leading-zeros and an increment, cheap enough for every request.
 */
#include "bench/bench.h"

#include <string.h>

static unsigned bucket_of(uint64_t us)
{
    unsigned shift = 0;
    if (us >= 2 * HF_BENCH_HIST_SUB) {
        unsigned msb = 63u - (unsigned)__builtin_clzll(us);
        shift = msb - 6;
    }
    uint64_t idx = (uint64_t)HF_BENCH_HIST_SUB * shift + (us >> shift);
    return idx < HF_BENCH_HIST_BUCKETS ? (unsigned)idx : HF_BENCH_HIST_BUCKETS - 1;
}

/* The largest value that falls in bucket idx. */
static uint64_t bucket_top(unsigned idx)
{
    if (idx < 2 * HF_BENCH_HIST_SUB)
        return idx;
    unsigned shift = idx / HF_BENCH_HIST_SUB - 1;
    uint64_t mant = idx - (uint64_t)HF_BENCH_HIST_SUB * shift;
    return ((mant + 1) << shift) - 1;
}

void hf_bench_hist_add(hf_bench_hist_t *h, uint64_t us)
{
    h->b[bucket_of(us)]++;
    h->count++;
    h->sum_us += us;
    if (us > h->max_us)
        h->max_us = us;
}

void hf_bench_hist_merge(hf_bench_hist_t *dst, const hf_bench_hist_t *src)
{
    if (!src->count)
        return;
    for (unsigned i = 0; i < HF_BENCH_HIST_BUCKETS; i++)
        dst->b[i] += src->b[i];
    dst->count += src->count;
    dst->sum_us += src->sum_us;
    if (src->max_us > dst->max_us)
        dst->max_us = src->max_us;
}

uint64_t hf_bench_hist_percentile(const hf_bench_hist_t *h, double p)
{
    if (!h->count)
        return 0;
    if (p > 100)
        p = 100;
    /* Nearest rank: the ceil(p/100 * count)-th smallest sample. */
    double exact = p / 100.0 * (double)h->count;
    uint64_t rank = (uint64_t)exact;
    if ((double)rank < exact)
        rank++;
    if (rank < 1)
        rank = 1;
    uint64_t seen = 0;
    for (unsigned i = 0; i < HF_BENCH_HIST_BUCKETS; i++) {
        seen += h->b[i];
        if (seen >= rank) {
            uint64_t top = bucket_top(i);
            return top < h->max_us ? top : h->max_us;
        }
    }
    return h->max_us;
}

void hf_bench_errs_add(hf_bench_errs_t *e, const char *code, uint64_t count)
{
    for (int i = 0; i < e->n; i++) {
        if (strcmp(e->e[i].code, code) == 0) {
            e->e[i].count += count;
            return;
        }
    }
    if (e->n == HF_BENCH_ERR_CODES_MAX) {
        e->other += count;
        return;
    }
    size_t n = strlen(code);
    if (n >= sizeof e->e[0].code)
        n = sizeof e->e[0].code - 1;
    memcpy(e->e[e->n].code, code, n);
    e->e[e->n].code[n] = '\0';
    e->e[e->n].count = count;
    e->n++;
}

void hf_bench_errs_merge(hf_bench_errs_t *dst, const hf_bench_errs_t *src)
{
    for (int i = 0; i < src->n; i++)
        hf_bench_errs_add(dst, src->e[i].code, src->e[i].count);
    dst->other += src->other;
}

uint64_t hf_bench_errs_total(const hf_bench_errs_t *e)
{
    uint64_t t = e->other;
    for (int i = 0; i < e->n; i++)
        t += e->e[i].count;
    return t;
}

void hf_bench_phase_total(const hf_bench_phase_t *p, hf_bench_opstats_t *out)
{
    memset(out, 0, sizeof *out);
    for (int i = 0; i < HF_BENCH_NOPS; i++) {
        out->ops += p->op[i].ops;
        out->errors += p->op[i].errors;
        out->bytes += p->op[i].bytes;
        hf_bench_hist_merge(&out->lat, &p->op[i].lat);
    }
}
