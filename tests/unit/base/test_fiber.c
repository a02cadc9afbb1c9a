/* Unit tests for src/base/fiber.c (switching, park/wake from the same and
 * other threads, completions), src/base/iopool.c and src/base/load.c.
 * CHECKs run outside fibers: a failed CHECK unwinds with longjmp, which
 * must not cross from a fiber's stack to the thread's. */
#include "test.h"

#include "base/err.h"
#include "base/fiber.h"
#include "base/iopool.h"
#include "base/limits.h"
#include "base/load.h"
#include "base/time.h"

#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

static char trace[64];
static size_t ntrace;

static void note(char c)
{
    if (ntrace + 1 < sizeof trace)
        trace[ntrace++] = c;
    trace[ntrace] = '\0';
}

static hf_fiber_t *parked[16];

static void fa(void *arg)
{
    (void)arg;
    note('a');
    parked[0] = hf_fiber_self();
    hf_fiber_park();
    note('A');
}

static void fb(void *arg)
{
    (void)arg;
    note('b');
    hf_fiber_yield();
    note('B');
}

TEST(spawn_park_wake_yield_in_order)
{
    hf_sched_t *s;
    CHECK_EQ_INT(hf_sched_create(NULL, NULL, &s), HF_OK);
    hf_sched_bind(s);
    ntrace = 0;
    CHECK(hf_fiber_self() == NULL);
    CHECK_EQ_INT(hf_sched_spawn(s, fa, NULL), HF_OK);
    CHECK_EQ_INT(hf_sched_spawn(s, fb, NULL), HF_OK);
    CHECK_EQ_INT(hf_sched_live(s), 2);
    hf_sched_run(s); /* a parks, b yields */
    CHECK_EQ_STR(trace, "ab");
    hf_sched_run(s); /* b finishes; a still parked */
    CHECK_EQ_STR(trace, "abB");
    CHECK_EQ_INT(hf_sched_live(s), 1);
    CHECK(!hf_sched_has_ready(s));
    hf_fiber_wake(parked[0]);
    CHECK(hf_sched_has_ready(s));
    hf_sched_run(s);
    CHECK_EQ_STR(trace, "abBA");
    CHECK_EQ_INT(hf_sched_live(s), 0);
    int64_t mn, mx;
    hf_sched_take_delays(s, &mn, &mx);
    CHECK(mn >= 0 && mx >= mn);
    hf_sched_destroy(s);
}

/* A wake that arrives before the park is not lost. */
static void early(void *arg)
{
    _Atomic int *step = arg;
    hf_fiber_wake(hf_fiber_self()); /* leaves a token */
    hf_fiber_park();                /* consumes it, returns at once */
    atomic_store(step, 1);
}

TEST(wake_before_park_is_kept)
{
    hf_sched_t *s;
    CHECK_EQ_INT(hf_sched_create(NULL, NULL, &s), HF_OK);
    hf_sched_bind(s);
    _Atomic int step = 0;
    CHECK_EQ_INT(hf_sched_spawn(s, early, &step), HF_OK);
    hf_sched_run(s);
    CHECK_EQ_INT(atomic_load(&step), 1);
    CHECK_EQ_INT(hf_sched_live(s), 0);
    hf_sched_destroy(s);
}

/* Stacks are deep enough for request code: 128 KiB of locals in nested
 * frames (the request path stays far below it). */
static int deep(int n)
{
    volatile char pad[4096];
    pad[0] = (char)n;
    pad[sizeof pad - 1] = (char)n;
    return n == 0 ? pad[0] : deep(n - 1) + pad[sizeof pad - 1] - n + 1;
}

static void deep_fiber(void *arg)
{
    *(int *)arg = deep(32);
}

TEST(stack_holds_deep_calls)
{
    hf_sched_t *s;
    CHECK_EQ_INT(hf_sched_create(NULL, NULL, &s), HF_OK);
    hf_sched_bind(s);
    int r = -1;
    CHECK_EQ_INT(hf_sched_spawn(s, deep_fiber, &r), HF_OK);
    hf_sched_run(s);
    CHECK_EQ_INT(r, 32);
    hf_sched_destroy(s);
}

/* ---- waking from other threads ------------------------------------------ */

typedef struct xwake {
    hf_done_t done;
    int result;
} xwake_t;

static void waiter(void *arg)
{
    xwake_t *x = arg;
    hf_done_wait(&x->done);
    x->result = 1;
}

static void *poster(void *arg)
{
    xwake_t *x = arg;
    for (int i = 0; i < 256; i++) {
        usleep((useconds_t)(i % 7));
        hf_done_post(&x[i].done);
    }
    return NULL;
}

static _Atomic int notifications;

static void count_notify(void *ctx)
{
    (void)ctx;
    atomic_fetch_add(&notifications, 1);
}

TEST(completions_posted_from_another_thread_wake_fibers)
{
    hf_sched_t *s;
    CHECK_EQ_INT(hf_sched_create(count_notify, NULL, &s), HF_OK);
    hf_sched_bind(s);
    static xwake_t x[256];
    for (int i = 0; i < 256; i++) {
        hf_done_init(&x[i].done);
        x[i].result = 0;
        CHECK_EQ_INT(hf_sched_spawn(s, waiter, &x[i]), HF_OK);
    }
    hf_sched_run(s); /* all park */
    CHECK_EQ_INT(hf_sched_live(s), 256);
    pthread_t th;
    atomic_store(&notifications, 0);
    CHECK_EQ_INT(pthread_create(&th, NULL, poster, x), 0);
    int64_t end = hf_mono_ms() + 10000;
    while (hf_sched_live(s) > 0 && hf_mono_ms() < end)
        if (!hf_sched_run(s))
            usleep(100);
    pthread_join(th, NULL);
    CHECK_EQ_INT(hf_sched_live(s), 0);
    for (int i = 0; i < 256; i++)
        CHECK_EQ_INT(x[i].result, 1);
    /* The loop was told, but not once per wake while it had not run yet. */
    CHECK(atomic_load(&notifications) >= 1);
    hf_sched_destroy(s);
}

static void *thread_waiter(void *arg)
{
    hf_done_wait(arg);
    return NULL;
}

TEST(completion_works_for_plain_threads)
{
    hf_done_t d;
    hf_done_init(&d);
    pthread_t th;
    CHECK_EQ_INT(pthread_create(&th, NULL, thread_waiter, &d), 0);
    usleep(2000);
    CHECK(!hf_done_posted(&d));
    hf_done_post(&d);
    pthread_join(th, NULL);
    CHECK(hf_done_posted(&d));
    hf_done_post(&d); /* a second post is harmless */
    /* Posted before the wait: returns at once. */
    hf_done_t e;
    hf_done_init(&e);
    hf_done_post(&e);
    hf_done_wait(&e);
}

/* ---- the I/O pool ---------------------------------------------------------- */

typedef struct job {
    pthread_t ran_on;
    int value;
} job_t;

static void job_fn(void *arg)
{
    job_t *j = arg;
    j->ran_on = pthread_self();
    usleep(1000);
    j->value++;
}

static void pool_fiber(void *arg)
{
    hf_iopool_run(job_fn, arg);
}

TEST(iopool_runs_fiber_calls_on_its_threads_and_others_in_place)
{
    /* No pool: in place. */
    job_t j0 = {0};
    hf_iopool_run(job_fn, &j0);
    CHECK(pthread_equal(j0.ran_on, pthread_self()));
    CHECK_EQ_INT(hf_iopool_start(2), HF_OK);
    CHECK_EQ_INT(hf_iopool_start(2), HF_E_STATE);
    /* A plain thread still runs in place. */
    job_t j1 = {0};
    hf_iopool_run(job_fn, &j1);
    CHECK(pthread_equal(j1.ran_on, pthread_self()));
    /* Fibers: on the pool, while the scheduler runs other fibers. */
    hf_sched_t *s;
    CHECK_EQ_INT(hf_sched_create(NULL, NULL, &s), HF_OK);
    hf_sched_bind(s);
    static job_t jobs[16];
    for (int i = 0; i < 16; i++) {
        jobs[i].value = 0;
        CHECK_EQ_INT(hf_sched_spawn(s, pool_fiber, &jobs[i]), HF_OK);
    }
    int64_t end = hf_mono_ms() + 10000;
    while (hf_sched_live(s) > 0 && hf_mono_ms() < end)
        if (!hf_sched_run(s))
            usleep(200);
    CHECK_EQ_INT(hf_sched_live(s), 0);
    for (int i = 0; i < 16; i++) {
        CHECK_EQ_INT(jobs[i].value, 1);
        CHECK(!pthread_equal(jobs[i].ran_on, pthread_self()));
    }
    hf_iopool_stats_t st;
    hf_iopool_stats(&st);
    CHECK_EQ_INT(st.threads, 2);
    CHECK_EQ_INT(st.calls, 16);
    CHECK_EQ_INT(st.queued, 0);
    hf_sched_destroy(s);
    hf_iopool_stop();
}

/* ---- the standing-queue detector ----------------------------------------- */

/* A schedule of waits replayed with explicit times, ending now: the
 * verdicts do not depend on how fast this machine runs the test. */
static void replay(int source, int64_t span_ms, int every_nth_short, int64_t wait_us)
{
    int64_t end = hf_mono_us();
    for (int64_t t = end - span_ms * 1000, i = 0; t <= end; t += 500, i++)
        hf_load_note_at(source, every_nth_short && i % every_nth_short == 0 ? 100 : wait_us, t);
}

TEST(load_detector_needs_a_whole_interval_of_waiting)
{
    hf_load_reset();
    hf_load_configure(1000, 100 * 1000); /* 1 ms target, 100 ms interval */
    /* A burst: long waits, but a short one in every interval. */
    replay(HF_LOAD_LOOP, 500, 10, 9000);
    CHECK(!hf_load_overloaded());
    /* A standing queue: every wait long for several intervals. */
    replay(HF_LOAD_META, 500, 0, 9000);
    CHECK(hf_load_overloaded());
    hf_load_stats_t st;
    hf_load_stats(&st);
    CHECK(st.overloaded[HF_LOAD_META]);
    CHECK(!st.overloaded[HF_LOAD_LOOP]);
    CHECK(st.last_min_us[HF_LOAD_META] >= 9000);
    CHECK_EQ_INT(st.episodes[HF_LOAD_META], 1);
    /* One wait under the target ends it at once. */
    hf_load_note(HF_LOAD_META, 10);
    CHECK(!hf_load_overloaded());
    /* Overloaded again (a fresh detector: replayed times must not go back
     * past its open window), then nothing waits any more (no notes): the
     * verdict lapses after two intervals by itself. */
    hf_load_reset();
    replay(HF_LOAD_META, 500, 0, 9000);
    CHECK(hf_load_overloaded());
    usleep(250 * 1000);
    CHECK(!hf_load_overloaded());
    hf_load_reset();
    hf_load_configure(HF_LOAD_TARGET_US, HF_LOAD_INTERVAL_US);
}

HF_TEST_MAIN("unit/fiber")
