/*
 * guard.c -- admission control and background budgets; see guard.h.
 *
 * Owns: the in-flight and queue counters, the access-key table, the
 * queue's mutex and condition variable, and the background jobs.
 *
 * Admission is three atomic steps. First the key's own count is raised; a
 * key over per_key_max is shed at once (it never waits: its own requests
 * are what it is waiting for). Then, if the standing-queue detector says
 * work is queueing, the key is shed unless it holds less than an equal
 * share of the requests in flight (in-flight / keys with something in
 * flight): the heaviest clients slow down first, a light one still gets
 * through. Then a slot is taken with a compare-and-swap loop on the
 * in-flight count, which never passes A. Only when no slot is free does a
 * request wait in the queue (at most Q waiters, at most queue_timeout_ms
 * each): a fiber sleeps on its loop's timer and re-checks, any other thread
 * waits on the condition variable. The common path is a few atomic
 * additions in, the same subtractions out.
 *
 * The key table is open-addressed with HF_GUARD_KEYS_MAX entries that are
 * claimed once and never reused: keys are only entered after
 * authentication (s3.c calls the guard with a verified key), so the table
 * holds real users' keys and cannot be filled by forged ones. Entries are
 * published with a release store of `used` after the key text is written,
 * so readers (metrics) never lock and never see a half-written key. If the
 * table ever fills, further keys share one "(other)" entry.
 *
 * Rejected: limits derived from the worker-thread count (what holdfast did
 * when a waiting request held a thread: one client with 32 connections
 * was mostly shed while the machine idled); a token bucket per key (a rate
 * says nothing about how long a request holds memory); shedding on latency
 * (slow clients make requests long without loading the machine).
 */
#include "guard/guard.h"

#include "base/err.h"
#include "base/fiber.h"
#include "base/load.h"
#include "base/time.h"
#include "net/loop.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* How often a queued request re-checks for a free slot and for its client
 * having gone, besides being woken by a leaving request. */
#define QUEUE_POLL_MS 5
/* Background work yields while anything was shed this recently. */
#define BG_SHED_QUIET_MS 1000
/* Background sleeps are cut into steps this long so a stop is seen soon. */
#define BG_STEP_MS 50

struct hf_guard_key {
    _Atomic int used;
    char key[HF_ACCESS_KEY_MAX + 1];
    _Atomic int64_t inflight;
    _Atomic uint64_t admitted, shed;
};

/* How long a job driven by hf_guard_bg_try waits when traffic is busy. */
#define BG_YIELD_TRY_MS 100

struct hf_guard_bg {
    hf_guard_t *g;
    char name[32];
    double rate, burst, tokens;
    int64_t last_ms;
    _Atomic int running, waiting;
    _Atomic uint64_t runs, units_total, units_run, units_planned, yields, yield_ms;
    _Atomic int64_t last_begin_ms, last_end_ms;
};

struct hf_guard {
    hf_guard_config_t cfg;
    _Atomic int64_t inflight, queued, active_keys;
    _Atomic uint64_t admitted, abandoned, queue_wait_ms;
    _Atomic uint64_t shed[HF_GUARD_SHED_REASONS];
    _Atomic int64_t last_shed_ms;
    pthread_mutex_t qmu;
    pthread_cond_t qcv;
    pthread_mutex_t keymu; /* claiming key entries only */
    hf_guard_key_t keys[HF_GUARD_KEYS_MAX];
    hf_guard_key_t other;
    pthread_mutex_t bgmu;  /* registering jobs only */
    _Atomic int nbg;
    hf_guard_bg_t bg[HF_GUARD_BG_MAX];
};

/* ---- configuration --------------------------------------------------------- */

void hf_guard_defaults(hf_guard_config_t *cfg)
{
    if (cfg->max_inflight <= 0)
        cfg->max_inflight = HF_ADMIT_INFLIGHT_DEFAULT;
    if (cfg->queue_max < 0)
        cfg->queue_max = cfg->max_inflight / 8;
    if (cfg->queue_timeout_ms <= 0)
        cfg->queue_timeout_ms = HF_ADMIT_QUEUE_TIMEOUT_MS;
    if (cfg->per_key_max <= 0) {
        /* Keep max(2, A/6) slots that only other keys can take. */
        int keep = cfg->max_inflight / 6 < 2 ? 2 : cfg->max_inflight / 6;
        int k = cfg->max_inflight - keep;
        cfg->per_key_max = k < 1 ? 1 : k;
    }
}

const char *hf_guard_check(const hf_guard_config_t *cfg)
{
    if (cfg->max_inflight < 1 || cfg->max_inflight > HF_ADMIT_INFLIGHT_MAX)
        return "--max-inflight must be 1 to 1048576";
    if (cfg->queue_max < 0 || cfg->queue_max > HF_ADMIT_INFLIGHT_MAX)
        return "--admit-queue must be 0 to 1048576";
    if (cfg->per_key_max < 1 || cfg->per_key_max > cfg->max_inflight + cfg->queue_max)
        return "--max-inflight-per-key must be 1 to --max-inflight plus --admit-queue";
    if (cfg->queue_timeout_ms < 1 || cfg->queue_timeout_ms > HF_ADMIT_QUEUE_TIMEOUT_MAX_MS)
        return "--admit-queue-timeout must be 1 to 60000 ms";
    return NULL;
}

int hf_guard_create(const hf_guard_config_t *cfg, hf_guard_t **out)
{
    *out = NULL;
    if (cfg->max_inflight < 1 || cfg->queue_max < 0 || cfg->per_key_max < 1)
        return HF_E_INVAL;
    hf_guard_t *g = calloc(1, sizeof *g);
    if (!g)
        return -ENOMEM;
    g->cfg = *cfg;
    if (g->cfg.queue_timeout_ms <= 0)
        g->cfg.queue_timeout_ms = HF_ADMIT_QUEUE_TIMEOUT_MS;
    pthread_mutex_init(&g->qmu, NULL);
    pthread_mutex_init(&g->keymu, NULL);
    pthread_mutex_init(&g->bgmu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&g->qcv, &ca);
    pthread_condattr_destroy(&ca);
    snprintf(g->other.key, sizeof g->other.key, "(other)");
    *out = g;
    return HF_OK;
}

void hf_guard_destroy(hf_guard_t *g)
{
    if (!g)
        return;
    pthread_cond_destroy(&g->qcv);
    pthread_mutex_destroy(&g->qmu);
    pthread_mutex_destroy(&g->keymu);
    pthread_mutex_destroy(&g->bgmu);
    free(g);
}

const hf_guard_config_t *hf_guard_config(const hf_guard_t *g)
{
    return &g->cfg;
}

/* ---- the key table ------------------------------------------------------------ */

static uint32_t key_hash(const char *k)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (; *k; k++) {
        h ^= (unsigned char)*k;
        h *= 16777619u;
    }
    return h;
}

static hf_guard_key_t *probe(hf_guard_t *g, const char *key, uint32_t h, bool *free_seen,
                             uint32_t *free_at)
{
    *free_seen = false;
    for (uint32_t i = 0; i < HF_GUARD_KEYS_MAX; i++) {
        uint32_t at = (h + i) % HF_GUARD_KEYS_MAX;
        hf_guard_key_t *e = &g->keys[at];
        if (!atomic_load_explicit(&e->used, memory_order_acquire)) {
            /* Entries are never freed, so the first empty one ends the chain. */
            *free_seen = true;
            *free_at = at;
            return NULL;
        }
        if (strcmp(e->key, key) == 0)
            return e;
    }
    return NULL;
}

static hf_guard_key_t *key_entry(hf_guard_t *g, const char *key)
{
    if (strlen(key) > HF_ACCESS_KEY_MAX)
        return &g->other;
    uint32_t h = key_hash(key), at = 0;
    bool free_seen;
    hf_guard_key_t *e = probe(g, key, h, &free_seen, &at);
    if (e)
        return e;
    pthread_mutex_lock(&g->keymu);
    e = probe(g, key, h, &free_seen, &at); /* someone may have claimed it meanwhile */
    if (!e && free_seen) {
        e = &g->keys[at];
        snprintf(e->key, sizeof e->key, "%s", key);
        atomic_store_explicit(&e->used, 1, memory_order_release);
    }
    pthread_mutex_unlock(&g->keymu);
    return e ? e : &g->other;
}

/* ---- admission ----------------------------------------------------------------- */

static bool take_slot(hf_guard_t *g)
{
    int64_t cur = atomic_load(&g->inflight);
    while (cur < g->cfg.max_inflight)
        if (atomic_compare_exchange_weak(&g->inflight, &cur, cur + 1))
            return true;
    return false;
}

/* The key's count goes down by one (a request left, or was not admitted). */
static void key_dec(hf_guard_t *g, hf_guard_key_t *e)
{
    if (atomic_fetch_sub(&e->inflight, 1) == 1)
        atomic_fetch_sub(&g->active_keys, 1);
}

static int shed(hf_guard_t *g, hf_guard_key_t *e, int why, int *reason)
{
    key_dec(g, e);
    atomic_fetch_add(&e->shed, 1);
    atomic_fetch_add(&g->shed[why], 1);
    atomic_store(&g->last_shed_ms, hf_mono_ms());
    if (reason)
        *reason = why;
    return HF_E_BUSY;
}

static void abs_deadline(struct timespec *ts, int ms)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

/* Wait a little for a slot: a fiber sleeps on its loop's clock (its thread
 * serves others meanwhile); another thread waits to be signalled. */
static bool wait_slot(hf_guard_t *g)
{
    if (hf_fiber_self() && hf_loop_self()) {
        hf_loop_sleep_until(hf_mono_ms() + QUEUE_POLL_MS);
        return take_slot(g);
    }
    pthread_mutex_lock(&g->qmu);
    bool got = take_slot(g);
    if (!got) {
        struct timespec ts;
        abs_deadline(&ts, QUEUE_POLL_MS);
        pthread_cond_timedwait(&g->qcv, &g->qmu, &ts);
        got = take_slot(g);
    }
    pthread_mutex_unlock(&g->qmu);
    return got;
}

/* Under overload, a key may go on only while it holds less than an equal
 * share of what is in flight. */
static bool over_share(hf_guard_t *g, int64_t key_before)
{
    int64_t keys = atomic_load(&g->active_keys);
    int64_t all = atomic_load(&g->inflight) + atomic_load(&g->queued);
    int64_t share = keys > 0 ? all / keys : all;
    return key_before >= (share < 1 ? 1 : share);
}

int hf_guard_enter(hf_guard_t *g, const char *key, bool (*gone)(void *gctx), void *gctx,
                   hf_guard_ticket_t *t, int *reason)
{
    hf_guard_key_t *e = key_entry(g, key ? key : "");
    t->key = e;
    t->admitted = false;
    t->queued_ms = 0;
    int64_t before = atomic_fetch_add(&e->inflight, 1);
    if (before == 0)
        atomic_fetch_add(&g->active_keys, 1);
    if (before + 1 > g->cfg.per_key_max)
        return shed(g, e, HF_GUARD_SHED_KEY, reason);
    if (!g->cfg.no_overload && hf_load_overloaded() && over_share(g, before))
        return shed(g, e, HF_GUARD_SHED_OVERLOAD, reason);
    if (!take_slot(g)) {
        if (atomic_fetch_add(&g->queued, 1) + 1 > g->cfg.queue_max) {
            atomic_fetch_sub(&g->queued, 1);
            return shed(g, e, HF_GUARD_SHED_FULL, reason);
        }
        int64_t t0 = hf_mono_ms(), end = t0 + g->cfg.queue_timeout_ms;
        for (;;) {
            if (wait_slot(g))
                break;
            if (gone && gone(gctx)) {
                atomic_fetch_sub(&g->queued, 1);
                key_dec(g, e);
                atomic_fetch_add(&g->abandoned, 1);
                return HF_E_CLOSED;
            }
            if (hf_mono_ms() >= end) {
                atomic_fetch_sub(&g->queued, 1);
                return shed(g, e, HF_GUARD_SHED_TIMEOUT, reason);
            }
        }
        atomic_fetch_sub(&g->queued, 1);
        t->queued_ms = hf_mono_ms() - t0;
        atomic_fetch_add(&g->queue_wait_ms, (uint64_t)t->queued_ms);
    }
    atomic_fetch_add(&g->admitted, 1);
    atomic_fetch_add(&e->admitted, 1);
    t->admitted = true;
    return HF_OK;
}

void hf_guard_leave(hf_guard_t *g, hf_guard_ticket_t *t)
{
    if (!t->admitted)
        return;
    t->admitted = false;
    key_dec(g, t->key);
    atomic_fetch_sub(&g->inflight, 1);
    if (atomic_load(&g->queued) > 0) {
        pthread_mutex_lock(&g->qmu);
        pthread_cond_signal(&g->qcv);
        pthread_mutex_unlock(&g->qmu);
    }
}

void hf_guard_stats(const hf_guard_t *cg, hf_guard_stats_t *out)
{
    hf_guard_t *g = (hf_guard_t *)cg;
    memset(out, 0, sizeof *out);
    out->max_inflight = g->cfg.max_inflight;
    out->queue_max = g->cfg.queue_max;
    out->per_key_max = g->cfg.per_key_max;
    out->inflight = atomic_load(&g->inflight);
    out->active_keys = atomic_load(&g->active_keys);
    out->overloaded = !g->cfg.no_overload && hf_load_overloaded();
    out->queued = atomic_load(&g->queued);
    out->admitted = atomic_load(&g->admitted);
    for (int i = 0; i < HF_GUARD_SHED_REASONS; i++)
        out->shed[i] = atomic_load(&g->shed[i]);
    out->abandoned = atomic_load(&g->abandoned);
    out->queue_wait_ms = atomic_load(&g->queue_wait_ms);
    out->last_shed_ms = atomic_load(&g->last_shed_ms);
}

static void key_stat(hf_guard_key_t *e, hf_guard_key_stat_t *o)
{
    snprintf(o->key, sizeof o->key, "%s", e->key);
    o->inflight = atomic_load(&e->inflight);
    o->admitted = atomic_load(&e->admitted);
    o->shed = atomic_load(&e->shed);
}

size_t hf_guard_key_stats(const hf_guard_t *cg, hf_guard_key_stat_t *out, size_t cap)
{
    hf_guard_t *g = (hf_guard_t *)cg;
    size_t n = 0;
    for (size_t i = 0; i < HF_GUARD_KEYS_MAX && n < cap; i++)
        if (atomic_load_explicit(&g->keys[i].used, memory_order_acquire))
            key_stat(&g->keys[i], &out[n++]);
    if (n < cap && (atomic_load(&g->other.admitted) || atomic_load(&g->other.shed)))
        key_stat(&g->other, &out[n++]);
    return n;
}

bool hf_guard_busy(const hf_guard_t *cg)
{
    hf_guard_t *g = (hf_guard_t *)cg;
    int half = g->cfg.max_inflight / 2 < 1 ? 1 : g->cfg.max_inflight / 2;
    if (atomic_load(&g->inflight) >= half || atomic_load(&g->queued) > 0)
        return true;
    if (!g->cfg.no_overload && hf_load_overloaded())
        return true;
    int64_t last = atomic_load(&g->last_shed_ms);
    return last && hf_mono_ms() - last < BG_SHED_QUIET_MS;
}

/* ---- background budgets ---------------------------------------------------------- */

hf_guard_bg_t *hf_guard_bg_register(hf_guard_t *g, const char *name, double rate_per_s,
                                    double burst)
{
    pthread_mutex_lock(&g->bgmu);
    int n = atomic_load(&g->nbg);
    hf_guard_bg_t *b = NULL;
    if (n < HF_GUARD_BG_MAX) {
        b = &g->bg[n];
        b->g = g;
        snprintf(b->name, sizeof b->name, "%s", name);
        b->rate = rate_per_s > 0 ? rate_per_s : 1;
        b->burst = burst >= 1 ? burst : 1;
        b->tokens = b->burst;
        b->last_ms = hf_mono_ms();
        atomic_store_explicit(&g->nbg, n + 1, memory_order_release);
    }
    pthread_mutex_unlock(&g->bgmu);
    return b;
}

void hf_guard_bg_run_begin(hf_guard_bg_t *b, uint64_t units_planned)
{
    atomic_store(&b->units_run, 0);
    atomic_store(&b->units_planned, units_planned);
    atomic_store(&b->last_begin_ms, hf_mono_ms());
    atomic_store(&b->running, 1);
}

void hf_guard_bg_run_end(hf_guard_bg_t *b)
{
    atomic_store(&b->running, 0);
    atomic_store(&b->last_end_ms, hf_mono_ms());
    atomic_fetch_add(&b->runs, 1);
}

static bool stopped(const _Atomic int *stop)
{
    return stop && atomic_load(stop);
}

static void sleep_ms(int64_t ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* Refill b's token bucket and take units: 0, or the milliseconds until
 * they will be there (nothing taken). A take larger than the burst
 * proceeds once the bucket is full. */
static int64_t bucket_take(hf_guard_bg_t *b, double units)
{
    int64_t now = hf_mono_ms();
    b->tokens += (double)(now - b->last_ms) * b->rate / 1000.0;
    if (b->tokens > b->burst)
        b->tokens = b->burst;
    b->last_ms = now;
    double need = units > b->burst ? b->burst : units;
    if (b->tokens >= need) {
        b->tokens -= units;
        return 0;
    }
    return (int64_t)((need - b->tokens) * 1000.0 / b->rate) + 1;
}

int hf_guard_bg_take(hf_guard_bg_t *b, double units, const _Atomic int *stop)
{
    atomic_store(&b->waiting, 1);
    /* Yield to foreground traffic, but not forever. */
    int64_t t0 = hf_mono_ms();
    bool yielded = false;
    while (hf_guard_busy(b->g) && hf_mono_ms() - t0 < HF_GUARD_BG_DEFER_MAX_MS) {
        if (stopped(stop))
            goto shutdown;
        yielded = true;
        sleep_ms(BG_STEP_MS);
    }
    if (yielded) {
        atomic_fetch_add(&b->yields, 1);
        atomic_fetch_add(&b->yield_ms, (uint64_t)(hf_mono_ms() - t0));
    }
    /* Then the token bucket. */
    for (;;) {
        if (stopped(stop))
            goto shutdown;
        int64_t wait = bucket_take(b, units);
        if (wait == 0)
            break;
        sleep_ms(wait < BG_STEP_MS ? wait : BG_STEP_MS);
    }
    atomic_fetch_add(&b->units_total, (uint64_t)units);
    atomic_fetch_add(&b->units_run, (uint64_t)units);
    atomic_store(&b->waiting, 0);
    return HF_OK;
shutdown:
    atomic_store(&b->waiting, 0);
    return HF_E_SHUTDOWN;
}

int64_t hf_guard_bg_try(hf_guard_bg_t *b, double units)
{
    if (hf_guard_busy(b->g)) {
        atomic_store(&b->waiting, 1);
        atomic_fetch_add(&b->yields, 1);
        atomic_fetch_add(&b->yield_ms, (uint64_t)BG_YIELD_TRY_MS);
        return BG_YIELD_TRY_MS;
    }
    int64_t wait = bucket_take(b, units);
    if (wait) {
        atomic_store(&b->waiting, 1);
        return wait;
    }
    atomic_fetch_add(&b->units_total, (uint64_t)units);
    atomic_fetch_add(&b->units_run, (uint64_t)units);
    atomic_store(&b->waiting, 0);
    return 0;
}

size_t hf_guard_bg_stats(const hf_guard_t *cg, hf_guard_bg_stat_t *out, size_t cap)
{
    hf_guard_t *g = (hf_guard_t *)cg;
    int n = atomic_load_explicit(&g->nbg, memory_order_acquire);
    size_t k = 0;
    for (int i = 0; i < n && k < cap; i++, k++) {
        hf_guard_bg_t *b = &g->bg[i];
        hf_guard_bg_stat_t *o = &out[k];
        memset(o, 0, sizeof *o);
        snprintf(o->name, sizeof o->name, "%s", b->name);
        o->running = atomic_load(&b->running);
        o->waiting = atomic_load(&b->waiting);
        o->rate_per_s = b->rate;
        o->runs = atomic_load(&b->runs);
        o->units_total = atomic_load(&b->units_total);
        o->units_run = atomic_load(&b->units_run);
        o->units_planned = atomic_load(&b->units_planned);
        o->yields = atomic_load(&b->yields);
        o->yield_ms = atomic_load(&b->yield_ms);
        o->last_begin_ms = atomic_load(&b->last_begin_ms);
        o->last_end_ms = atomic_load(&b->last_end_ms);
    }
    return k;
}
