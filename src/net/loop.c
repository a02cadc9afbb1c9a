/*
 * loop.c -- event loop threads; see loop.h.
 *
 * Owns: per loop, the epoll set, the eventfd that other threads write to
 * wake it (remote fiber wakes, posted calls, stop), the timer heap, the
 * queue of posted calls and the fiber scheduler.
 *
 * Events carry a pointer to their hf_loop_fd_t. A registration removed
 * while a batch of events is being dispatched may still have an event later
 * in the same batch; removal clears w->loop, so that event is skipped. A
 * slot reused for a new descriptor in the same pass could receive the old
 * one's event: everything that waits on a descriptor retries its operation
 * after a wake-up, so a spurious event costs one EAGAIN.
 *
 * Timers live in a binary min-heap (1-based, each timer knows its index),
 * so arming and cancelling are O(log n): every fiber that waits on a
 * socket arms one.
 */
#include "net/loop.h"

#include "base/err.h"
#include "base/limits.h"
#include "base/load.h"
#include "base/log.h"
#include "base/time.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <unistd.h>

/* Events taken per epoll_wait. A pass handles everything that arrived
 * during the previous one unless more than this many connections became
 * ready at once. */
#define LOOP_EVENTS 1024
/* epoll_wait returning sooner than this did not sleep. */
#define NO_SLEEP_US 50

typedef struct post {
    void (*fn)(void *);
    void *arg;
    struct post *next;
} post_t;

/* Listening sockets a group can carry (the S3 listener, the peer
 * transport's). */
#define LISTENERS_MAX 4

typedef struct listener {
    int fd;                /* -1: free */
    void (*on_ready)(hf_loop_t *l, void *ctx);
    void *ctx;
} listener_t;

struct hf_loop {
    hf_loops_t *g;
    int index;
    pthread_t th;
    bool started;
    int epfd;
    hf_loop_fd_t wake_w;   /* the eventfd */
    hf_loop_fd_t listen_w[LISTENERS_MAX]; /* the group's listeners, on this loop */
    hf_sched_t *sched;
    hf_timer_t **heap;     /* heap[1..nheap] */
    size_t nheap, capheap;
    pthread_mutex_t post_mu;
    post_t *post_head, *post_tail;
    _Atomic int woken;     /* eventfd written since the loop last drained it */
};

struct hf_loops {
    hf_loops_config_t cfg;
    hf_loop_t *loops;
    int n;
    _Atomic int stop;
    listener_t listeners[LISTENERS_MAX];
};

static __thread hf_loop_t *tls_loop;

/* ---- waking a loop from another thread ---------------------------------------- */

static void loop_kick(hf_loop_t *l)
{
    if (atomic_exchange(&l->woken, 1))
        return;
    uint64_t one = 1;
    ssize_t k = write(l->wake_w.fd, &one, sizeof one);
    (void)k; /* the counter cannot overflow from single increments; EAGAIN means already readable */
}

static void sched_notify(void *ctx)
{
    loop_kick(ctx);
}

static void on_wake(hf_loop_fd_t *w, uint32_t ev)
{
    (void)ev;
    hf_loop_t *l = w->owner;
    atomic_store(&l->woken, 0);
    uint64_t v;
    while (read(w->fd, &v, sizeof v) > 0)
        ;
}

static void on_listen(hf_loop_fd_t *w, uint32_t ev)
{
    (void)ev;
    listener_t *ls = w->owner;
    hf_loop_t *l = hf_loop_self();
    if (ls->on_ready && !atomic_load(&l->g->stop))
        ls->on_ready(l, ls->ctx);
}

/* ---- timers ------------------------------------------------------------------- */

static void heap_swap(hf_loop_t *l, size_t a, size_t b)
{
    hf_timer_t *t = l->heap[a];
    l->heap[a] = l->heap[b];
    l->heap[b] = t;
    l->heap[a]->heap_i = a;
    l->heap[b]->heap_i = b;
}

static void heap_up(hf_loop_t *l, size_t i)
{
    while (i > 1 && l->heap[i / 2]->at_ms > l->heap[i]->at_ms) {
        heap_swap(l, i, i / 2);
        i /= 2;
    }
}

static void heap_down(hf_loop_t *l, size_t i)
{
    for (;;) {
        size_t m = i, a = 2 * i, b = 2 * i + 1;
        if (a <= l->nheap && l->heap[a]->at_ms < l->heap[m]->at_ms)
            m = a;
        if (b <= l->nheap && l->heap[b]->at_ms < l->heap[m]->at_ms)
            m = b;
        if (m == i)
            return;
        heap_swap(l, i, m);
        i = m;
    }
}

void hf_timer_arm(hf_loop_t *l, hf_timer_t *t)
{
    if (t->heap_i)
        hf_timer_cancel(l, t);
    if (l->nheap + 1 >= l->capheap) {
        size_t cap = l->capheap ? l->capheap * 2 : 256;
        hf_timer_t **h = realloc(l->heap, cap * sizeof *h);
        if (!h) {
            /* Cannot track it: fire at once rather than never. The
             * callbacks re-check their condition, so early is safe. */
            t->fn(t);
            return;
        }
        l->heap = h;
        l->capheap = cap;
    }
    l->heap[++l->nheap] = t;
    t->heap_i = l->nheap;
    heap_up(l, l->nheap);
}

void hf_timer_cancel(hf_loop_t *l, hf_timer_t *t)
{
    size_t i = t->heap_i;
    if (!i)
        return;
    t->heap_i = 0;
    if (i != l->nheap) {
        l->heap[i] = l->heap[l->nheap];
        l->heap[i]->heap_i = i;
        l->nheap--;
        heap_up(l, i);
        heap_down(l, i);
    } else {
        l->nheap--;
    }
}

static void run_timers(hf_loop_t *l, int64_t now)
{
    while (l->nheap && l->heap[1]->at_ms <= now) {
        hf_timer_t *t = l->heap[1];
        hf_timer_cancel(l, t);
        t->fn(t);
    }
}

/* ---- waiting in a fiber ----------------------------------------------------------- */

typedef struct waitst {
    hf_fiber_t *f;
    bool fired;
} waitst_t;

static void wake_timer(hf_timer_t *t)
{
    waitst_t *w = t->owner;
    w->fired = true;
    hf_fiber_wake(w->f);
}

int hf_loop_fd_wait(hf_loop_fd_t *w, uint32_t events, int64_t deadline_ms)
{
    hf_loop_t *l = w->loop;
    if (!l || w->fd < 0)
        return HF_E_CLOSED;
    if (deadline_ms <= hf_mono_ms())
        return HF_E_TIMEOUT;
    int d = events & EPOLLOUT ? 1 : 0;
    waitst_t st = {.f = hf_fiber_self()};
    hf_timer_t t = {.at_ms = deadline_ms, .fn = wake_timer, .owner = &st};
    w->waiter[d] = st.f;
    w->got[d] = 0;
    hf_timer_arm(l, &t);
    while (!w->got[d] && !st.fired && w->loop)
        hf_fiber_park();
    hf_timer_cancel(l, &t);
    w->waiter[d] = NULL;
    if (w->got[d])
        return HF_OK;
    return w->loop ? HF_E_TIMEOUT : HF_E_CLOSED;
}

void hf_loop_sleep_until(int64_t deadline_ms)
{
    hf_loop_t *l = tls_loop;
    waitst_t st = {.f = hf_fiber_self()};
    if (!l || !st.f)
        return;
    hf_timer_t t = {.at_ms = deadline_ms, .fn = wake_timer, .owner = &st};
    hf_timer_arm(l, &t);
    while (!st.fired)
        hf_fiber_park();
    hf_timer_cancel(l, &t);
}

int hf_loop_done_wait(hf_done_t *d, int64_t deadline_ms)
{
    hf_loop_t *l = tls_loop;
    waitst_t st = {.f = hf_fiber_self()};
    if (!l || !st.f || !hf_done_arm(d))
        return hf_done_posted(d) ? HF_OK : HF_E_INVAL;
    hf_timer_t t = {.at_ms = deadline_ms, .fn = wake_timer, .owner = &st};
    hf_timer_arm(l, &t);
    while (!hf_done_posted(d) && !st.fired)
        hf_fiber_park();
    hf_timer_cancel(l, &t);
    return hf_done_posted(d) ? HF_OK : HF_E_TIMEOUT;
}

/* ---- registrations ------------------------------------------------------------------- */

static int ep_add(hf_loop_t *l, hf_loop_fd_t *w, uint32_t events)
{
    w->loop = l;
    w->waiter[0] = w->waiter[1] = NULL;
    w->got[0] = w->got[1] = 0;
    struct epoll_event ev = {.events = events, .data.ptr = w};
    if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, w->fd, &ev) != 0) {
        w->loop = NULL;
        return -errno;
    }
    return HF_OK;
}

int hf_loop_fd_add(hf_loop_t *l, hf_loop_fd_t *w)
{
    return ep_add(l, w, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET);
}

void hf_loop_fd_del(hf_loop_fd_t *w)
{
    hf_loop_t *l = w->loop;
    if (!l)
        return;
    epoll_ctl(l->epfd, EPOLL_CTL_DEL, w->fd, NULL);
    w->loop = NULL;
    for (int d = 0; d < 2; d++)
        if (w->waiter[d])
            hf_fiber_wake(w->waiter[d]);
}

static void dispatch(hf_loop_t *l, struct epoll_event *ev)
{
    hf_loop_fd_t *w = ev->data.ptr;
    if (w->loop != l)
        return; /* removed earlier in this batch */
    uint32_t e = ev->events, rest = e;
    /* Readers wake for input and hang-ups (a read then returns 0 or the
     * error), writers for room and errors. */
    if (w->waiter[0] && (e & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))) {
        w->got[0] |= e;
        hf_fiber_wake(w->waiter[0]);
        rest &= ~(uint32_t)(EPOLLIN | EPOLLRDHUP);
    }
    if (w->waiter[1] && (e & (EPOLLOUT | EPOLLHUP | EPOLLERR))) {
        w->got[1] |= e;
        hf_fiber_wake(w->waiter[1]);
        rest &= ~(uint32_t)EPOLLOUT;
    }
    if (rest != e && !(rest & (EPOLLIN | EPOLLOUT | EPOLLRDHUP)))
        return; /* everything reported went to parked fibers */
    if (w->on_event)
        w->on_event(w, rest);
}

/* ---- posted calls ----------------------------------------------------------------------- */

int hf_loop_post(hf_loop_t *l, void (*fn)(void *arg), void *arg)
{
    post_t *p = malloc(sizeof *p);
    if (!p)
        return -ENOMEM;
    p->fn = fn;
    p->arg = arg;
    p->next = NULL;
    pthread_mutex_lock(&l->post_mu);
    if (l->post_tail)
        l->post_tail->next = p;
    else
        l->post_head = p;
    l->post_tail = p;
    pthread_mutex_unlock(&l->post_mu);
    loop_kick(l);
    return HF_OK;
}

static void run_posts(hf_loop_t *l)
{
    pthread_mutex_lock(&l->post_mu);
    post_t *p = l->post_head;
    l->post_head = l->post_tail = NULL;
    pthread_mutex_unlock(&l->post_mu);
    while (p) {
        post_t *n = p->next;
        p->fn(p->arg);
        free(p);
        p = n;
    }
}

/* ---- the loop ------------------------------------------------------------------------------ */

static void *loop_main(void *arg)
{
    hf_loop_t *l = arg;
    hf_loops_t *g = l->g;
    tls_loop = l;
    hf_sched_bind(l->sched);
    if (g->cfg.nice && setpriority(PRIO_PROCESS, (id_t)gettid(), g->cfg.nice) != 0)
        hf_log_debug("msg=\"cannot change thread priority\" loop=%s nice=%d err=\"%s\"",
                     g->cfg.name, g->cfg.nice, strerror(errno));
    struct epoll_event *evs = malloc(LOOP_EVENTS * sizeof *evs);
    if (!evs) {
        hf_log_error("msg=\"event loop cannot start: out of memory\" loop=%s", g->cfg.name);
        return NULL;
    }
    int64_t next_tick = hf_mono_ms() + 1000, prev_pass_us = hf_mono_us();
    while (!atomic_load(&g->stop)) {
        int64_t now = hf_mono_ms();
        int timeout = (int)(next_tick - now);
        if (l->nheap && l->heap[1]->at_ms - now < timeout)
            timeout = (int)(l->heap[1]->at_ms - now);
        if (timeout < 0 || hf_sched_has_ready(l->sched))
            timeout = 0;
        int64_t t0 = hf_mono_us();
        int n = epoll_wait(l->epfd, evs, LOOP_EVENTS, timeout);
        int64_t t1 = hf_mono_us();
        if (g->cfg.report_load) {
            bool slept = t1 - t0 >= NO_SLEEP_US;
            hf_load_note(HF_LOAD_LOOP, slept ? 0 : t1 - prev_pass_us);
        }
        prev_pass_us = t1;
        for (int i = 0; i < n; i++)
            dispatch(l, &evs[i]);
        now = hf_mono_ms();
        run_timers(l, now);
        run_posts(l);
        hf_sched_run(l->sched);
        if (now >= next_tick) {
            next_tick = now + 1000;
            if (g->cfg.tick)
                g->cfg.tick(l, g->cfg.ctx);
        }
    }
    run_posts(l);
    free(evs);
    return NULL;
}

/* ---- the group --------------------------------------------------------------------------- */

int hf_loops_create(const hf_loops_config_t *cfg, hf_loops_t **out)
{
    *out = NULL;
    if (cfg->loops < 1 || cfg->loops > HF_WORKERS_MAX)
        return HF_E_INVAL;
    hf_loops_t *g = calloc(1, sizeof *g);
    if (!g)
        return -ENOMEM;
    g->cfg = *cfg;
    for (int k = 0; k < LISTENERS_MAX; k++)
        g->listeners[k].fd = -1;
    g->loops = calloc((size_t)cfg->loops, sizeof *g->loops);
    if (!g->loops) {
        free(g);
        return -ENOMEM;
    }
    int rc = HF_OK;
    for (int i = 0; i < cfg->loops; i++) {
        hf_loop_t *l = &g->loops[i];
        l->g = g;
        l->index = i;
        l->epfd = -1;
        l->wake_w.fd = -1;
        pthread_mutex_init(&l->post_mu, NULL);
        g->n = i + 1;
        l->epfd = epoll_create1(EPOLL_CLOEXEC);
        if (l->epfd < 0) {
            rc = -errno;
            break;
        }
        l->wake_w.fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        if (l->wake_w.fd < 0) {
            rc = -errno;
            break;
        }
        l->wake_w.on_event = on_wake;
        l->wake_w.owner = l;
        if ((rc = ep_add(l, &l->wake_w, EPOLLIN)) != HF_OK)
            break;
        if ((rc = hf_sched_create(sched_notify, l, &l->sched)) != HF_OK)
            break;
    }
    if (rc) {
        hf_loops_destroy(g);
        return rc;
    }
    *out = g;
    return HF_OK;
}

int hf_loops_listen(hf_loops_t *g, int fd, void (*on_ready)(hf_loop_t *l, void *ctx), void *ctx)
{
    int k = 0;
    while (k < LISTENERS_MAX && g->listeners[k].fd >= 0)
        k++;
    if (k == LISTENERS_MAX)
        return HF_E_BUSY;
    listener_t *ls = &g->listeners[k];
    ls->fd = fd;
    ls->on_ready = on_ready;
    ls->ctx = ctx;
    for (int i = 0; i < g->n; i++) {
        hf_loop_fd_t *w = &g->loops[i].listen_w[k];
        w->fd = fd;
        w->on_event = on_listen;
        w->owner = ls;
        int rc = ep_add(&g->loops[i], w, EPOLLIN | EPOLLEXCLUSIVE);
        if (rc) {
            hf_loops_unlisten(g, fd);
            return rc;
        }
    }
    return HF_OK;
}

void hf_loops_unlisten(hf_loops_t *g, int fd)
{
    for (int k = 0; k < LISTENERS_MAX; k++) {
        if (g->listeners[k].fd != fd)
            continue;
        for (int i = 0; i < g->n; i++) {
            hf_loop_fd_t *w = &g->loops[i].listen_w[k];
            if (w->loop) {
                epoll_ctl(w->loop->epfd, EPOLL_CTL_DEL, fd, NULL);
                w->loop = NULL;
            }
        }
        g->listeners[k].fd = -1;
    }
}

int hf_loops_start(hf_loops_t *g)
{
    for (int i = 0; i < g->n; i++) {
        hf_loop_t *l = &g->loops[i];
        int e = pthread_create(&l->th, NULL, loop_main, l);
        if (e)
            return -e;
        l->started = true;
        char tn[32];
        snprintf(tn, sizeof tn, "%.8s-l%d", g->cfg.name ? g->cfg.name : "hf", i);
        tn[15] = '\0'; /* the kernel's limit for thread names */
        pthread_setname_np(l->th, tn);
    }
    return HF_OK;
}

void hf_loops_stop(hf_loops_t *g)
{
    atomic_store(&g->stop, 1);
    for (int i = 0; i < g->n; i++) {
        hf_loop_t *l = &g->loops[i];
        if (!l->started)
            continue;
        atomic_store(&l->woken, 0);
        loop_kick(l);
        pthread_join(l->th, NULL);
        l->started = false;
    }
}

void hf_loops_destroy(hf_loops_t *g)
{
    if (!g)
        return;
    for (int i = 0; i < g->n; i++) {
        hf_loop_t *l = &g->loops[i];
        /* Fibers still alive were abandoned by stop: their stacks stay
         * mapped until the process exits rather than be freed under them. */
        if (l->sched && hf_sched_live(l->sched) == 0)
            hf_sched_destroy(l->sched);
        if (l->epfd >= 0)
            close(l->epfd);
        if (l->wake_w.fd >= 0)
            close(l->wake_w.fd);
        pthread_mutex_destroy(&l->post_mu);
        post_t *p = l->post_head;
        while (p) {
            post_t *n = p->next;
            free(p);
            p = n;
        }
        free(l->heap);
    }
    free(g->loops);
    free(g);
}

int hf_loops_count(const hf_loops_t *g)
{
    return g->n;
}

hf_loop_t *hf_loops_get(hf_loops_t *g, int i)
{
    return i >= 0 && i < g->n ? &g->loops[i] : NULL;
}

hf_loop_t *hf_loop_self(void)
{
    return tls_loop;
}

int hf_loop_index(const hf_loop_t *l)
{
    return l->index;
}

hf_sched_t *hf_loop_sched(hf_loop_t *l)
{
    return l->sched;
}
