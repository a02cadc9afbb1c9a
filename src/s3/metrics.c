/*
 * metrics.c -- per-operation request counters for /metrics and the status
 * page: requests by operation and status, bytes in and out, latency.
 *
 * One slot per row of ops.def (plus one for requests that never reached an
 * operation), updated with relaxed atomics once per request after the
 * response; readers on the status listener copy them without a lock. The
 * cost per request is a handful of uncontended atomic additions.
 */
#include "s3/internal.h"

#include "base/time.h"

#include <string.h>

const int hf_s3_status_codes[HF_S3_NSTATUS] = {
    200, 204, 206, 304, 400, 403, 404, 405, 409, 411, 412, 416, 431, 500, 501, 503, 507, 0,
};

static const char *const op_names[HF_S3_NOPS + 1] = {
#define S3_OP(name, method, level, sub, fn) #name,
#include "s3/ops.def"
#undef S3_OP
    "Unknown",
};

const char *hf_s3_op_name(size_t i)
{
    return i <= HF_S3_NOPS ? op_names[i] : "Unknown";
}

void s3_metrics_init(hf_s3_t *s3)
{
    for (size_t i = 0; i <= HF_S3_NOPS; i++)
        hf_hist_init(&s3->ops[i].latency_us, hf_hist_latency_us, 18);
}

static int status_slot(int status)
{
    for (int i = 0; i < HF_S3_NSTATUS - 1; i++)
        if (hf_s3_status_codes[i] == status)
            return i;
    return HF_S3_NSTATUS - 1;
}

void s3_metrics_record(s3req_t *q)
{
    hf_s3_op_metrics_t *m = &q->s3->ops[s3_op_index(q)];
    int status = hf_resp_status(q->r);
    atomic_fetch_add_explicit(&m->by_status[status_slot(status)], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&m->bytes_in, hf_req_bytes(q->r), memory_order_relaxed);
    atomic_fetch_add_explicit(&m->bytes_out, hf_resp_bytes(q->r), memory_order_relaxed);
    int64_t us = hf_mono_us() - q->t0_us;
    hf_hist_add(&m->latency_us, us < 0 ? 0 : (uint64_t)us);
}

void hf_s3_op_stats(const hf_s3_t *s3, size_t i, hf_s3_op_stat_t *out)
{
    memset(out, 0, sizeof *out);
    if (i > HF_S3_NOPS)
        return;
    hf_s3_op_metrics_t *m = (hf_s3_op_metrics_t *)&s3->ops[i];
    out->name = op_names[i];
    for (int k = 0; k < HF_S3_NSTATUS; k++) {
        out->by_status[k] = atomic_load_explicit(&m->by_status[k], memory_order_relaxed);
        out->requests += out->by_status[k];
    }
    out->bytes_in = atomic_load_explicit(&m->bytes_in, memory_order_relaxed);
    out->bytes_out = atomic_load_explicit(&m->bytes_out, memory_order_relaxed);
    hf_hist_read(&m->latency_us, &out->latency_us);
}
