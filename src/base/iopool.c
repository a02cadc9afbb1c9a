/*
 * iopool.c -- the blocking-call pool; see iopool.h.
 *
 * Owns: the pool threads, the FIFO of pending calls (each lives on its
 * caller's fiber stack until done), counters.
 *
 * One mutex and condition variable guard the FIFO: a call is two short
 * critical sections, far below the cost of the disk calls it carries. The
 * caller waits on an hf_done, so the pool never needs to know fibers.
 */
#include "base/iopool.h"

#include "base/err.h"
#include "base/fiber.h"
#include "base/limits.h"
#include "base/load.h"
#include "base/time.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

typedef struct job {
    void (*fn)(void *);
    void *arg;
    int64_t queued_us;
    hf_done_t done;
    struct job *next;
} job_t;

static struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    job_t *head, *tail;
    bool stop;
    int n;
    pthread_t th[HF_IO_THREADS_MAX];
    _Atomic int running; /* accepting calls */
    _Atomic uint64_t calls, queued, busy, wait_us;
} P = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};

static void *pool_main(void *arg)
{
    (void)arg;
    for (;;) {
        pthread_mutex_lock(&P.mu);
        while (!P.head && !P.stop)
            pthread_cond_wait(&P.cv, &P.mu);
        job_t *j = P.head;
        if (!j) {
            pthread_mutex_unlock(&P.mu);
            return NULL;
        }
        P.head = j->next;
        if (!P.head)
            P.tail = NULL;
        pthread_mutex_unlock(&P.mu);
        int64_t waited = hf_mono_us() - j->queued_us;
        atomic_fetch_sub(&P.queued, 1);
        atomic_fetch_add(&P.busy, 1);
        atomic_fetch_add(&P.wait_us, (uint64_t)waited);
        hf_load_note(HF_LOAD_IO, waited);
        j->fn(j->arg);
        atomic_fetch_sub(&P.busy, 1);
        hf_done_post(&j->done); /* j may be gone after this */
    }
}

int hf_iopool_start(int n)
{
    if (n < 1 || n > HF_IO_THREADS_MAX)
        return HF_E_INVAL;
    if (atomic_load(&P.running) || P.n)
        return HF_E_STATE;
    P.stop = false;
    for (int i = 0; i < n; i++) {
        int e = pthread_create(&P.th[i], NULL, pool_main, NULL);
        if (e) {
            hf_iopool_stop();
            return -e;
        }
        P.n = i + 1;
        char name[16];
        snprintf(name, sizeof name, "io-%d", i);
        pthread_setname_np(P.th[i], name);
    }
    atomic_store(&P.running, 1);
    return HF_OK;
}

void hf_iopool_stop(void)
{
    atomic_store(&P.running, 0);
    pthread_mutex_lock(&P.mu);
    P.stop = true;
    pthread_cond_broadcast(&P.cv);
    pthread_mutex_unlock(&P.mu);
    for (int i = 0; i < P.n; i++)
        pthread_join(P.th[i], NULL);
    P.n = 0;
}

void hf_iopool_run(void (*fn)(void *arg), void *arg)
{
    if (!hf_fiber_self() || !atomic_load(&P.running)) {
        fn(arg);
        return;
    }
    job_t j = {.fn = fn, .arg = arg, .queued_us = hf_mono_us()};
    hf_done_init(&j.done);
    atomic_fetch_add(&P.calls, 1);
    atomic_fetch_add(&P.queued, 1);
    pthread_mutex_lock(&P.mu);
    if (P.stop) {
        pthread_mutex_unlock(&P.mu);
        atomic_fetch_sub(&P.queued, 1);
        fn(arg);
        return;
    }
    if (P.tail)
        P.tail->next = &j;
    else
        P.head = &j;
    P.tail = &j;
    pthread_cond_signal(&P.cv);
    pthread_mutex_unlock(&P.mu);
    hf_done_wait(&j.done);
}

void hf_iopool_stats(hf_iopool_stats_t *out)
{
    out->threads = P.n;
    out->calls = atomic_load(&P.calls);
    out->queued = atomic_load(&P.queued);
    out->busy = atomic_load(&P.busy);
    out->wait_us_total = atomic_load(&P.wait_us);
}
