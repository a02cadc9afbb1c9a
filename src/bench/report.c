/*
 * report.c -- a run's result for people (a table) and for machines (one
 * JSON object, via jansson). See bench.h.
 *
 * Rates are over the measured phase's elapsed time (first request sent to
 * last response read). MB/s is 10^6 bytes per second of object bodies.
 * Latencies are in milliseconds. Shed requests (expect_slowdown) are a
 * row and an object of their own, outside every total.
 */
#include "bench/bench.h"

#include <jansson.h>
#include <string.h>

static double secs(const hf_bench_phase_t *p)
{
    return p->elapsed_ns > 0 ? (double)p->elapsed_ns / 1e9 : 0;
}

static double per_s(uint64_t v, const hf_bench_phase_t *p)
{
    double s = secs(p);
    return s > 0 ? (double)v / s : 0;
}

static double ms(uint64_t us)
{
    return (double)us / 1000.0;
}

static const double pcts[] = {50, 90, 99, 99.9};
static const char *const pct_names[] = {"p50", "p90", "p99", "p99.9"};

static void text_row(FILE *f, const char *name, const hf_bench_opstats_t *o,
                     const hf_bench_phase_t *p)
{
    const hf_bench_hist_t *h = &o->lat;
    fprintf(f, "%-7s %9llu %10.1f %9.2f %8.3f %8.3f %8.3f %8.3f %8.3f %8.3f %7llu\n", name,
            (unsigned long long)o->ops, per_s(o->ops, p), per_s(o->bytes, p) / 1e6,
            h->count ? ms(h->sum_us) / (double)h->count : 0, ms(hf_bench_hist_percentile(h, 50)),
            ms(hf_bench_hist_percentile(h, 90)), ms(hf_bench_hist_percentile(h, 99)),
            ms(hf_bench_hist_percentile(h, 99.9)), ms(h->max_us),
            (unsigned long long)o->errors);
}

void hf_bench_report_text(FILE *f, const hf_bench_config_t *c, const hf_bench_result_t *r)
{
    const hf_bench_phase_t *m = &r->measure;
    fprintf(f, "endpoint http://%s  bucket %s  op %s  size %llu B  objects %llu\n",
            c->endpoint.hostport, c->bucket, hf_bench_op_name(c->op),
            (unsigned long long)c->size, (unsigned long long)c->objects);
    fprintf(f, "concurrency %d  threads %d  duration %.1f s  connections opened %llu  "
               "client CPU %.2f s (%.0f%% of one core)\n",
            c->concurrency, r->threads, secs(m), (unsigned long long)m->connects, m->cpu_s,
            secs(m) > 0 ? 100 * m->cpu_s / secs(m) : 0);
    if (r->prepared)
        fprintf(f, "prepared %llu objects in %.1f s (%.0f objects/s)\n",
                (unsigned long long)r->prepare.op[HF_BENCH_PUT].ops, secs(&r->prepare),
                per_s(r->prepare.op[HF_BENCH_PUT].ops, &r->prepare));
    fprintf(f, "\n%-7s %9s %10s %9s %8s %8s %8s %8s %8s %8s %7s\n", "op", "requests", "ops/s",
            "MB/s", "mean ms", "p50", "p90", "p99", "p99.9", "max", "errors");
    int kinds = 0;
    for (int i = 0; i < HF_BENCH_NOPS; i++) {
        if (!m->op[i].ops)
            continue;
        kinds++;
        text_row(f, hf_bench_op_name(i), &m->op[i], m);
    }
    if (kinds != 1) {
        hf_bench_opstats_t t;
        hf_bench_phase_total(m, &t);
        text_row(f, "total", &t, m);
    }
    if (c->expect_slowdown)
        text_row(f, "shed", &m->shed, m);
    if (m->op[HF_BENCH_LIST].ops)
        fprintf(f, "\nlist: %.1f keys per page\n",
                (double)m->list_keys / (double)m->op[HF_BENCH_LIST].ops);
    if (m->exhausted)
        fprintf(f, "\ndelete: every object was deleted before the duration ended\n");
    uint64_t bad = hf_bench_errs_total(&m->errs);
    if (bad) {
        fprintf(f, "\nerrors by code:\n");
        for (int i = 0; i < m->errs.n; i++)
            fprintf(f, "  %-28s %llu\n", m->errs.e[i].code,
                    (unsigned long long)m->errs.e[i].count);
        if (m->errs.other)
            fprintf(f, "  %-28s %llu\n", "Other", (unsigned long long)m->errs.other);
    }
    if (r->cleaned && hf_bench_errs_total(&r->cleanup.errs))
        fprintf(f, "\ncleanup: %llu deletes failed\n",
                (unsigned long long)hf_bench_errs_total(&r->cleanup.errs));
}

static json_t *lat_json(const hf_bench_hist_t *h)
{
    json_t *j = json_object();
    json_object_set_new(j, "mean", json_real(h->count ? ms(h->sum_us) / (double)h->count : 0));
    for (size_t i = 0; i < sizeof pcts / sizeof pcts[0]; i++)
        json_object_set_new(j, pct_names[i], json_real(ms(hf_bench_hist_percentile(h, pcts[i]))));
    json_object_set_new(j, "max", json_real(ms(h->max_us)));
    return j;
}

static json_t *ops_json(const hf_bench_opstats_t *o, const hf_bench_phase_t *p)
{
    json_t *j = json_object();
    json_object_set_new(j, "requests", json_integer((json_int_t)o->ops));
    json_object_set_new(j, "errors", json_integer((json_int_t)o->errors));
    json_object_set_new(j, "bytes", json_integer((json_int_t)o->bytes));
    json_object_set_new(j, "ops_per_s", json_real(per_s(o->ops, p)));
    json_object_set_new(j, "mb_per_s", json_real(per_s(o->bytes, p) / 1e6));
    json_object_set_new(j, "latency_ms", lat_json(&o->lat));
    return j;
}

static json_t *phase_json(const hf_bench_phase_t *p)
{
    hf_bench_opstats_t t;
    hf_bench_phase_total(p, &t);
    json_t *j = ops_json(&t, p);
    json_object_set_new(j, "seconds", json_real(secs(p)));
    json_object_set_new(j, "client_cpu_s", json_real(p->cpu_s));
    json_object_set_new(j, "connections_opened", json_integer((json_int_t)p->connects));
    json_t *by = json_object();
    for (int i = 0; i < HF_BENCH_NOPS; i++)
        if (p->op[i].ops)
            json_object_set_new(by, hf_bench_op_name(i), ops_json(&p->op[i], p));
    json_object_set_new(j, "by_op", by);
    json_t *codes = json_object();
    for (int i = 0; i < p->errs.n; i++)
        json_object_set_new(codes, p->errs.e[i].code, json_integer((json_int_t)p->errs.e[i].count));
    if (p->errs.other)
        json_object_set_new(codes, "Other", json_integer((json_int_t)p->errs.other));
    json_object_set_new(j, "errors_by_code", codes);
    if (p->op[HF_BENCH_LIST].ops)
        json_object_set_new(j, "list_keys", json_integer((json_int_t)p->list_keys));
    return j;
}

int hf_bench_report_json(FILE *f, const hf_bench_config_t *c, const hf_bench_result_t *r)
{
    json_t *j = json_object();
    json_object_set_new(j, "endpoint", json_sprintf("http://%s", c->endpoint.hostport));
    json_object_set_new(j, "bucket", json_string(c->bucket));
    json_object_set_new(j, "op", json_string(hf_bench_op_name(c->op)));
    json_object_set_new(j, "size", json_integer((json_int_t)c->size));
    json_object_set_new(j, "objects", json_integer((json_int_t)c->objects));
    json_object_set_new(j, "concurrency", json_integer(c->concurrency));
    json_object_set_new(j, "threads", json_integer(r->threads));
    json_object_set_new(j, "duration_s", json_real((double)c->duration_ms / 1000));
    json_object_set_new(j, "expect_slowdown", json_boolean(c->expect_slowdown));
    if (r->prepared)
        json_object_set_new(j, "prepare", phase_json(&r->prepare));
    json_t *m = phase_json(&r->measure);
    json_object_set_new(m, "exhausted", json_boolean(r->measure.exhausted));
    if (c->expect_slowdown)
        json_object_set_new(m, "shed", ops_json(&r->measure.shed, &r->measure));
    json_object_set_new(j, "measure", m);
    if (r->cleaned)
        json_object_set_new(j, "cleanup", phase_json(&r->cleanup));
    int rc = json_dumpf(j, f, JSON_INDENT(2) | JSON_REAL_PRECISION(6));
    fputc('\n', f);
    json_decref(j);
    return rc == 0 ? 0 : -1;
}
