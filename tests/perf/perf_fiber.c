/*
 * perf_fiber.c -- what waiting costs, for `make bench` (docs/performance.md,
 * "Waiting without a thread"). Prints one JSON object:
 *
 *   switch_ns     one park + wake + resume of a fiber on its own thread
 *                 (two context switches), the cost a request pays each time
 *                 it waits for a socket;
 *   iopool_ns     one call run on the blocking-I/O pool from a fiber on an
 *                 event loop and back: the pool thread is woken, the fiber
 *                 is woken through the loop's eventfd (what a disk call, or
 *                 a metadata commit, pays to leave the loop);
 *   thread_ns     one hand-off to another thread and back by futex (what a
 *                 design that passes each request between threads pays).
 *
 * Built twice: with the assembly switch and with ucontext (-DHF_FIBER_UCONTEXT),
 * so the choice in base/fiber.c is measured, not assumed. Not a test: the
 * numbers depend on the machine.
 */
#include "base/err.h"
#include "base/fiber.h"
#include "base/iopool.h"
#include "base/time.h"
#include "net/loop.h"

#include <linux/futex.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#define N 200000

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ---- park/wake on one thread ---- */

static hf_fiber_t *pinger;
static long rounds;

static void ping(void *arg)
{
    (void)arg;
    pinger = hf_fiber_self();
    for (long i = 0; i < N; i++) {
        hf_fiber_park();
        rounds++;
    }
}

static double local_switch(void)
{
    hf_sched_t *s;
    if (hf_sched_create(NULL, NULL, &s))
        exit(1);
    hf_sched_bind(s);
    hf_sched_spawn(s, ping, NULL);
    hf_sched_run(s);
    int64_t t0 = now_ns();
    while (hf_sched_live(s)) {
        hf_fiber_wake(pinger);
        hf_sched_run(s);
    }
    double ns = (double)(now_ns() - t0) / N;
    hf_sched_destroy(s);
    return ns;
}

/* ---- the I/O pool, from a fiber on a real event loop ---- */

static void nothing(void *arg)
{
    (void)arg;
}

static _Atomic int calls_done;

static void calls(void *arg)
{
    (void)arg;
    for (long i = 0; i < N / 10; i++)
        hf_iopool_run(nothing, NULL);
    atomic_store(&calls_done, 1);
}

static void spawn_calls(void *arg)
{
    hf_sched_spawn(hf_loop_sched(arg), calls, NULL);
}

static double iopool_call(void)
{
    hf_loops_config_t c = {.name = "perf", .loops = 1};
    hf_loops_t *g;
    if (hf_loops_create(&c, &g) || hf_loops_start(g) || hf_iopool_start(1))
        exit(1);
    atomic_store(&calls_done, 0);
    int64_t t0 = now_ns();
    hf_loop_post(hf_loops_get(g, 0), spawn_calls, hf_loops_get(g, 0));
    while (!atomic_load(&calls_done))
        usleep(1000);
    double ns = (double)(now_ns() - t0) / (N / 10);
    hf_iopool_stop();
    hf_loops_stop(g);
    hf_loops_destroy(g);
    return ns;
}

/* ---- a thread hand-off and back ---- */

static _Atomic int turn;

static void fwait(int want)
{
    int v;
    while ((v = atomic_load(&turn)) != want)
        syscall(SYS_futex, (int *)&turn, FUTEX_WAIT_PRIVATE, v, NULL, NULL, 0);
}

static void fset(int v)
{
    atomic_store(&turn, v);
    syscall(SYS_futex, (int *)&turn, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

static void *other(void *arg)
{
    (void)arg;
    for (long i = 0; i < N / 10; i++) {
        fwait(1);
        fset(0);
    }
    return NULL;
}

static double thread_handoff(void)
{
    pthread_t th;
    atomic_store(&turn, 0);
    pthread_create(&th, NULL, other, NULL);
    int64_t t0 = now_ns();
    for (long i = 0; i < N / 10; i++) {
        fset(1);
        fwait(0);
    }
    double ns = (double)(now_ns() - t0) / (N / 10);
    pthread_join(th, NULL);
    return ns;
}

int main(void)
{
#ifdef HF_FIBER_UCONTEXT
    const char *impl = "ucontext";
#else
    const char *impl = "asm";
#endif
    double a = local_switch(), c = iopool_call(), d = thread_handoff();
    printf("{\"switch\": \"%s\", \"switch_ns\": %.1f, \"iopool_ns\": %.1f, \"thread_ns\": %.1f}\n",
           impl, a, c, d);
    return 0;
}
