/* Unit tests for src/guard/guard.c (admission, per-key fairness, the
 * bounded queue, background budgets) and src/base/hist.c. */
#include "test.h"

#include "base/err.h"
#include "base/hist.h"
#include "base/limits.h"
#include "base/load.h"
#include "base/time.h"
#include "guard/guard.h"

#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

static hf_guard_t *make(int a, int q, int per_key, int qtimeout)
{
    hf_guard_config_t c = {.max_inflight = a, .queue_max = q, .per_key_max = per_key,
                           .queue_timeout_ms = qtimeout};
    hf_guard_t *g = NULL;
    CHECK_EQ_INT(hf_guard_create(&c, &g), HF_OK);
    return g;
}

TEST(defaults_are_a_memory_budget)
{
    hf_guard_config_t c = {.queue_max = -1};
    hf_guard_defaults(&c);
    CHECK_EQ_INT(c.max_inflight, HF_ADMIT_INFLIGHT_DEFAULT);
    CHECK_EQ_INT(c.queue_max, HF_ADMIT_INFLIGHT_DEFAULT / 8);
    CHECK_EQ_INT(c.per_key_max, HF_ADMIT_INFLIGHT_DEFAULT - HF_ADMIT_INFLIGHT_DEFAULT / 6);
    CHECK(hf_guard_check(&c) == NULL);
    /* Given values are kept; the per-key share leaves max(2, A/6) to others. */
    hf_guard_config_t d = {.max_inflight = 12, .queue_max = -1};
    hf_guard_defaults(&d);
    CHECK_EQ_INT(d.queue_max, 1);
    CHECK_EQ_INT(d.per_key_max, 10);
    hf_guard_config_t f = {.max_inflight = 4, .queue_max = 0, .per_key_max = 9,
                           .queue_timeout_ms = 100};
    CHECK(hf_guard_check(&f) != NULL); /* per-key above A + Q */
    hf_guard_config_t g = {.max_inflight = 0, .queue_max = 0, .per_key_max = 1,
                           .queue_timeout_ms = 100};
    CHECK(hf_guard_check(&g) != NULL);
}

/* Work queues (the detector says so): keys holding at least an equal share
 * of what is in flight are shed, a light key still gets in; when the
 * queue drains, everyone does again. */
TEST(overload_sheds_the_heaviest_keys_first)
{
    hf_load_reset();
    hf_load_configure(1000, 100 * 1000); /* 1 ms target, 100 ms interval */
    hf_guard_t *g = make(100, 0, 100, 10);
    hf_guard_ticket_t heavy[8], light, more;
    int why = -1;
    for (int i = 0; i < 8; i++)
        CHECK_EQ_INT(hf_guard_enter(g, "heavy", NULL, NULL, &heavy[i], &why), HF_OK);
    CHECK(!hf_load_overloaded());
    /* Five whole intervals, ending now, in which every wait was 5 ms
     * (replayed with explicit times: the machine's speed does not matter). */
    int64_t end = hf_mono_us();
    for (int64_t t = end - 500 * 1000; t <= end; t += 1000)
        hf_load_note_at(HF_LOAD_IO, 5000, t);
    CHECK(hf_load_overloaded());
    CHECK_EQ_INT(hf_guard_enter(g, "heavy", NULL, NULL, &more, &why), HF_E_BUSY);
    CHECK_EQ_INT(why, HF_GUARD_SHED_OVERLOAD);
    CHECK_EQ_INT(hf_guard_enter(g, "light", NULL, NULL, &light, &why), HF_OK);
    hf_guard_stats_t st;
    hf_guard_stats(g, &st);
    CHECK(st.overloaded);
    CHECK_EQ_INT(st.active_keys, 2);
    CHECK_EQ_INT(st.shed[HF_GUARD_SHED_OVERLOAD], 1);
    /* One wait under the target ends the overload at once (as CoDel). */
    hf_load_note(HF_LOAD_IO, 10);
    CHECK(!hf_load_overloaded());
    CHECK_EQ_INT(hf_guard_enter(g, "heavy", NULL, NULL, &more, &why), HF_OK);
    hf_guard_leave(g, &more);
    hf_guard_leave(g, &light);
    for (int i = 0; i < 8; i++)
        hf_guard_leave(g, &heavy[i]);
    hf_guard_stats(g, &st);
    CHECK_EQ_INT(st.inflight, 0);
    CHECK_EQ_INT(st.active_keys, 0);
    hf_guard_destroy(g);
    hf_load_reset();
    hf_load_configure(HF_LOAD_TARGET_US, HF_LOAD_INTERVAL_US);
}

TEST(sheds_beyond_max_inflight_without_queue)
{
    hf_guard_t *g = make(2, 0, 2, 10);
    hf_guard_ticket_t t[3];
    int why = -1;
    CHECK_EQ_INT(hf_guard_enter(g, "a", NULL, NULL, &t[0], &why), HF_OK);
    CHECK_EQ_INT(hf_guard_enter(g, "b", NULL, NULL, &t[1], &why), HF_OK);
    CHECK_EQ_INT(hf_guard_enter(g, "c", NULL, NULL, &t[2], &why), HF_E_BUSY);
    CHECK_EQ_INT(why, HF_GUARD_SHED_FULL);
    hf_guard_stats_t st;
    hf_guard_stats(g, &st);
    CHECK_EQ_INT(st.inflight, 2);
    CHECK_EQ_INT(st.admitted, 2);
    CHECK_EQ_INT(st.shed[HF_GUARD_SHED_FULL], 1);
    CHECK(st.last_shed_ms > 0);
    hf_guard_leave(g, &t[0]);
    hf_guard_leave(g, &t[0]); /* twice is harmless */
    CHECK_EQ_INT(hf_guard_enter(g, "c", NULL, NULL, &t[2], NULL), HF_OK);
    hf_guard_leave(g, &t[1]);
    hf_guard_leave(g, &t[2]);
    hf_guard_stats(g, &st);
    CHECK_EQ_INT(st.inflight, 0);
    hf_guard_destroy(g);
}

TEST(one_key_cannot_take_every_slot)
{
    hf_guard_t *g = make(4, 0, 3, 10);
    hf_guard_ticket_t n[4], l;
    for (int i = 0; i < 3; i++)
        CHECK_EQ_INT(hf_guard_enter(g, "NOISY", NULL, NULL, &n[i], NULL), HF_OK);
    int why = -1;
    CHECK_EQ_INT(hf_guard_enter(g, "NOISY", NULL, NULL, &n[3], &why), HF_E_BUSY);
    CHECK_EQ_INT(why, HF_GUARD_SHED_KEY);
    /* The other key still gets in. */
    CHECK_EQ_INT(hf_guard_enter(g, "LIGHT", NULL, NULL, &l, NULL), HF_OK);
    hf_guard_key_stat_t ks[8];
    size_t k = hf_guard_key_stats(g, ks, 8);
    CHECK_EQ_INT(k, 2);
    bool seen_noisy = false;
    for (size_t i = 0; i < k; i++) {
        if (strcmp(ks[i].key, "NOISY") == 0) {
            seen_noisy = true;
            CHECK_EQ_INT(ks[i].inflight, 3);
            CHECK_EQ_INT(ks[i].shed, 1);
            CHECK_EQ_INT(ks[i].admitted, 3);
        } else {
            CHECK_EQ_STR(ks[i].key, "LIGHT");
            CHECK_EQ_INT(ks[i].shed, 0);
        }
    }
    CHECK(seen_noisy);
    for (int i = 0; i < 3; i++)
        hf_guard_leave(g, &n[i]);
    hf_guard_leave(g, &l);
    hf_guard_destroy(g);
}

struct waiter {
    hf_guard_t *g;
    int rc;
    int64_t waited;
    hf_guard_ticket_t t;
    _Atomic int gone;
};

static bool gone_fn(void *ctx)
{
    return atomic_load(&((struct waiter *)ctx)->gone) != 0;
}

static void *wait_main(void *arg)
{
    struct waiter *w = arg;
    int64_t t0 = hf_mono_ms();
    w->rc = hf_guard_enter(w->g, "q", gone_fn, w, &w->t, NULL);
    w->waited = hf_mono_ms() - t0;
    return NULL;
}

static void wait_queued(hf_guard_t *g, int64_t n)
{
    hf_guard_stats_t st;
    for (int i = 0; i < 2000; i++) {
        hf_guard_stats(g, &st);
        if (st.queued == n)
            return;
        usleep(1000);
    }
    CHECK_EQ_INT(st.queued, n);
}

TEST(queue_admits_when_a_slot_frees)
{
    hf_guard_t *g = make(1, 1, 2, 5000);
    hf_guard_ticket_t a;
    CHECK_EQ_INT(hf_guard_enter(g, "x", NULL, NULL, &a, NULL), HF_OK);
    struct waiter w = {.g = g};
    pthread_t th;
    pthread_create(&th, NULL, wait_main, &w);
    wait_queued(g, 1);
    /* The queue holds one: the next request is shed at once. */
    hf_guard_ticket_t b;
    int why = -1;
    CHECK_EQ_INT(hf_guard_enter(g, "y", NULL, NULL, &b, &why), HF_E_BUSY);
    CHECK_EQ_INT(why, HF_GUARD_SHED_FULL);
    hf_guard_leave(g, &a);
    pthread_join(th, NULL);
    CHECK_EQ_INT(w.rc, HF_OK);
    CHECK(w.waited < 4000);
    hf_guard_stats_t st;
    hf_guard_stats(g, &st);
    CHECK_EQ_INT(st.queued, 0);
    CHECK_EQ_INT(st.inflight, 1);
    hf_guard_leave(g, &w.t);
    hf_guard_destroy(g);
}

TEST(queue_times_out_and_drops_gone_clients)
{
    hf_guard_t *g = make(1, 2, 3, 60);
    hf_guard_ticket_t a;
    CHECK_EQ_INT(hf_guard_enter(g, "x", NULL, NULL, &a, NULL), HF_OK);
    struct waiter w = {.g = g};
    pthread_t th;
    pthread_create(&th, NULL, wait_main, &w);
    pthread_join(th, NULL);
    CHECK_EQ_INT(w.rc, HF_E_BUSY);
    CHECK(w.waited >= 55);
    hf_guard_stats_t st;
    hf_guard_stats(g, &st);
    CHECK_EQ_INT(st.shed[HF_GUARD_SHED_TIMEOUT], 1);
    CHECK_EQ_INT(st.queued, 0);
    hf_guard_destroy(g);

    /* A client that hangs up while queued is dropped, not served. */
    g = make(1, 2, 3, 10000);
    CHECK_EQ_INT(hf_guard_enter(g, "x", NULL, NULL, &a, NULL), HF_OK);
    struct waiter v = {.g = g};
    pthread_create(&th, NULL, wait_main, &v);
    wait_queued(g, 1);
    atomic_store(&v.gone, 1);
    pthread_join(th, NULL);
    CHECK_EQ_INT(v.rc, HF_E_CLOSED);
    CHECK(v.waited < 5000);
    hf_guard_stats(g, &st);
    CHECK_EQ_INT(st.abandoned, 1);
    CHECK_EQ_INT(st.inflight, 1);
    hf_guard_key_stat_t ks[4];
    size_t k = hf_guard_key_stats(g, ks, 4);
    for (size_t i = 0; i < k; i++)
        if (strcmp(ks[i].key, "q") == 0)
            CHECK_EQ_INT(ks[i].inflight, 0);
    hf_guard_leave(g, &a);
    hf_guard_destroy(g);
}

struct hammer {
    hf_guard_t *g;
    const char *key;
    _Atomic int *running, *peak;
    int admitted;
};

static void *hammer_main(void *arg)
{
    struct hammer *h = arg;
    for (int i = 0; i < 2000; i++) {
        hf_guard_ticket_t t;
        if (hf_guard_enter(h->g, h->key, NULL, NULL, &t, NULL) != HF_OK)
            continue;
        int now = atomic_fetch_add(h->running, 1) + 1;
        int p = atomic_load(h->peak);
        while (now > p && !atomic_compare_exchange_weak(h->peak, &p, now))
            ;
        h->admitted++;
        atomic_fetch_sub(h->running, 1);
        hf_guard_leave(h->g, &t);
    }
    return NULL;
}

TEST(never_admits_more_than_max_under_contention)
{
    hf_guard_t *g = make(3, 2, 5, 20);
    _Atomic int running = 0, peak = 0;
    struct hammer h[8];
    pthread_t th[8];
    static const char *keys[] = {"k0", "k1", "k2", "k3"};
    for (int i = 0; i < 8; i++) {
        h[i] = (struct hammer){g, keys[i % 4], &running, &peak, 0};
        pthread_create(&th[i], NULL, hammer_main, &h[i]);
    }
    int total = 0;
    for (int i = 0; i < 8; i++) {
        pthread_join(th[i], NULL);
        total += h[i].admitted;
    }
    CHECK(atomic_load(&peak) <= 3);
    CHECK(total > 0);
    hf_guard_stats_t st;
    hf_guard_stats(g, &st);
    CHECK_EQ_INT(st.inflight, 0);
    CHECK_EQ_INT(st.queued, 0);
    CHECK_EQ_INT(st.admitted, (uint64_t)total);
    hf_guard_destroy(g);
}

TEST(background_budget_and_yield)
{
    hf_guard_t *g = make(2, 0, 2, 10);
    hf_guard_bg_t *b = hf_guard_bg_register(g, "sweep", 200, 10);
    CHECK(b != NULL);
    hf_guard_bg_run_begin(b, 30);
    int64_t t0 = hf_mono_ms();
    /* 30 units at 200/s with a burst of 10: at least ~100 ms. */
    for (int i = 0; i < 30; i++)
        CHECK_EQ_INT(hf_guard_bg_take(b, 1, NULL), HF_OK);
    int64_t took = hf_mono_ms() - t0;
    CHECK(took >= 80);
    hf_guard_bg_run_end(b);
    hf_guard_bg_stat_t bs[2];
    CHECK_EQ_INT(hf_guard_bg_stats(g, bs, 2), 1);
    CHECK_EQ_STR(bs[0].name, "sweep");
    CHECK_EQ_INT(bs[0].units_total, 30);
    CHECK_EQ_INT(bs[0].units_run, 30);
    CHECK_EQ_INT(bs[0].runs, 1);
    CHECK(!bs[0].running);
    CHECK_EQ_INT(bs[0].yields, 0);

    /* Busy foreground (a slot of two taken = half): the job waits. */
    hf_guard_ticket_t t;
    CHECK_EQ_INT(hf_guard_enter(g, "fg", NULL, NULL, &t, NULL), HF_OK);
    CHECK(hf_guard_busy(g));
    _Atomic int stop = 1;
    CHECK_EQ_INT(hf_guard_bg_take(b, 1, &stop), HF_E_SHUTDOWN);
    hf_guard_leave(g, &t);
    CHECK(!hf_guard_busy(g));
    hf_guard_destroy(g);
}

TEST(histogram_buckets_and_quantiles)
{
    static const uint64_t bounds[] = {10, 100, 1000};
    hf_hist_t h;
    hf_hist_init(&h, bounds, 3);
    for (int i = 0; i < 90; i++)
        hf_hist_add(&h, 5);
    for (int i = 0; i < 9; i++)
        hf_hist_add(&h, 50);
    hf_hist_add(&h, 5000);
    hf_hist_snap_t s;
    hf_hist_read(&h, &s);
    CHECK_EQ_INT(s.count, 100);
    CHECK_EQ_INT(s.counts[0], 90);
    CHECK_EQ_INT(s.counts[1], 9);
    CHECK_EQ_INT(s.counts[2], 0);
    CHECK_EQ_INT(s.counts[3], 1);
    CHECK_EQ_INT(s.sum, 90 * 5 + 9 * 50 + 5000);
    double p50 = hf_hist_quantile(&s, 0.5);
    CHECK(p50 > 0 && p50 <= 10);
    double p99 = hf_hist_quantile(&s, 0.99);
    CHECK(p99 > 10 && p99 <= 100);
    CHECK(hf_hist_quantile(&s, 1.0) == 1000);
    hf_hist_snap_t m = {0};
    hf_hist_merge(&m, &s);
    hf_hist_merge(&m, &s);
    CHECK_EQ_INT(m.count, 200);
    CHECK_EQ_INT(m.counts[3], 2);
    hf_hist_snap_t empty = {0};
    CHECK(hf_hist_quantile(&empty, 0.99) == 0);
}

HF_TEST_MAIN("unit/guard")
