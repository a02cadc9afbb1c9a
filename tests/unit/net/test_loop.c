/* Unit tests for src/net/loop.c: fibers waiting on sockets and timers on
 * loop threads, calls posted from other threads, a fixed thread count.
 * Results are recorded by the fibers and checked on the test's thread. */
#include "test.h"

#include "base/err.h"
#include "base/fiber.h"
#include "base/time.h"
#include "net/loop.h"

#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

static hf_loops_t *start(int n)
{
    hf_loops_config_t c = {.name = "t", .loops = n};
    hf_loops_t *g = NULL;
    CHECK_EQ_INT(hf_loops_create(&c, &g), HF_OK);
    CHECK_EQ_INT(hf_loops_start(g), HF_OK);
    return g;
}

typedef struct call {
    hf_loop_t *l;
    void (*fn)(void *);
    void *arg;
    hf_done_t done;
} call_t;

static void spawn_on_loop(void *arg)
{
    call_t *c = arg;
    hf_sched_spawn(hf_loop_sched(c->l), c->fn, c->arg);
    hf_done_post(&c->done);
}

/* Start fn(arg) as a fiber on loop l, from the test's thread. */
static void run_fiber(hf_loop_t *l, void (*fn)(void *), void *arg)
{
    call_t c = {.l = l, .fn = fn, .arg = arg};
    hf_done_init(&c.done);
    CHECK_EQ_INT(hf_loop_post(l, spawn_on_loop, &c), HF_OK);
    hf_done_wait(&c.done);
}

/* ---- waiting on a socket --------------------------------------------------- */

typedef struct sockwait {
    int fd;
    hf_loop_fd_t w;
    int rc_first, rc_second;
    char got;
    _Atomic int registered, finished;
    int64_t waited_ms;
} sockwait_t;

static void reader_fiber(void *arg)
{
    sockwait_t *sw = arg;
    sw->w.fd = sw->fd;
    if (hf_loop_fd_add(hf_loop_self(), &sw->w) != HF_OK) {
        atomic_store(&sw->finished, 1);
        return;
    }
    atomic_store(&sw->registered, 1);
    /* Nothing to read yet: a short wait times out. */
    int64_t t0 = hf_mono_ms();
    sw->rc_first = hf_loop_fd_wait(&sw->w, EPOLLIN, t0 + 50);
    sw->waited_ms = hf_mono_ms() - t0;
    /* Then wait for the byte the test writes. */
    for (;;) {
        ssize_t k = read(sw->fd, &sw->got, 1);
        if (k == 1) {
            sw->rc_second = HF_OK;
            break;
        }
        sw->rc_second = hf_loop_fd_wait(&sw->w, EPOLLIN, hf_mono_ms() + 5000);
        if (sw->rc_second != HF_OK)
            break;
    }
    hf_loop_fd_del(&sw->w);
    atomic_store(&sw->finished, 1);
}

static void wait_flag(_Atomic int *f)
{
    int64_t end = hf_mono_ms() + 10000;
    while (!atomic_load(f) && hf_mono_ms() < end)
        usleep(1000);
    CHECK(atomic_load(f));
}

TEST(fiber_waits_for_a_socket_without_holding_the_loop)
{
    hf_loops_t *g = start(1);
    int sv[2];
    CHECK_EQ_INT(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
    static sockwait_t sw;
    memset(&sw, 0, sizeof sw);
    sw.fd = sv[0];
    run_fiber(hf_loops_get(g, 0), reader_fiber, &sw);
    wait_flag(&sw.registered);
    usleep(100 * 1000); /* the timeout has passed; the fiber waits again */
    /* The loop is free meanwhile: a posted call runs at once. */
    static sockwait_t other;
    memset(&other, 0, sizeof other);
    int sv2[2];
    CHECK_EQ_INT(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv2), 0);
    other.fd = sv2[0];
    run_fiber(hf_loops_get(g, 0), reader_fiber, &other);
    wait_flag(&other.registered);
    CHECK_EQ_INT(write(sv[1], "x", 1), 1);
    wait_flag(&sw.finished);
    CHECK_EQ_INT(sw.rc_first, HF_E_TIMEOUT);
    CHECK(sw.waited_ms >= 45);
    CHECK_EQ_INT(sw.rc_second, HF_OK);
    CHECK_EQ_INT(sw.got, 'x');
    /* The peer hangs up: the waiter wakes and finds the end. */
    close(sv2[1]);
    wait_flag(&other.finished);
    hf_loops_stop(g);
    hf_loops_destroy(g);
    close(sv[0]);
    close(sv[1]);
    close(sv2[0]);
}

/* ---- timers, many fibers, threads ----------------------------------------- */

static _Atomic int slept;

static void sleeper(void *arg)
{
    int64_t ms = (int64_t)(intptr_t)arg;
    hf_loop_sleep_until(hf_mono_ms() + ms);
    atomic_fetch_add(&slept, 1);
}

static int count_threads(void)
{
    DIR *d = opendir("/proc/self/task");
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)))
        if (e->d_name[0] != '.')
            n++;
    if (d)
        closedir(d);
    return n;
}

TEST(thousands_of_sleeping_fibers_on_two_threads)
{
    int before = count_threads();
    hf_loops_t *g = start(2);
    CHECK_EQ_INT(count_threads(), before + 2);
    atomic_store(&slept, 0);
    for (int i = 0; i < 2000; i++)
        run_fiber(hf_loops_get(g, i % 2), sleeper, (void *)(intptr_t)(10 + i % 50));
    CHECK_EQ_INT(count_threads(), before + 2);
    int64_t end = hf_mono_ms() + 10000;
    while (atomic_load(&slept) < 2000 && hf_mono_ms() < end)
        usleep(2000);
    CHECK_EQ_INT(atomic_load(&slept), 2000);
    hf_loops_stop(g);
    hf_loops_destroy(g);
    CHECK_EQ_INT(count_threads(), before);
}

HF_TEST_MAIN("unit/loop")
