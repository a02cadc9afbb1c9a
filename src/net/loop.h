/*
 * loop.h -- event loops: a fixed group of threads, each with its own epoll
 * set, timers and fiber scheduler (base/fiber.h).
 *
 * Why. Waiting must cost no thread (docs/architecture.md). Every socket a
 * loop watches is registered once, edge-triggered for reading and writing;
 * a fiber that would block on it parks in hf_loop_fd_wait and the loop runs
 * other fibers until the socket is ready or the deadline passes. Work
 * handed to other threads (the metadata writer, the blocking-I/O pool)
 * wakes its fiber through the scheduler, which wakes the loop through an
 * eventfd. The number of threads is fixed when the group starts, whatever
 * the number of connections, requests or peers (the Kinesis 2020 lesson).
 *
 * A listening socket is added to every loop of the group with
 * EPOLLEXCLUSIVE: the kernel wakes one loop that is waiting, so an idle
 * loop takes new connections and a busy one is left alone. A connection
 * stays on the loop that accepted it for its whole life.
 *
 * Each pass of a loop: epoll_wait (not sleeping if fibers are ready),
 * dispatch events, run due timers, run ready fibers, and once a second the
 * group's tick callback. How long ready work waited for the loop is fed to
 * the admission detector (base/load.h, source "loop"): a pass that began
 * without sleeping counts the time since the previous pass began, the
 * longest an event that arrived meanwhile could have waited.
 *
 * Threads: hf_loops_create/start/stop/destroy from the owner;
 * hf_loop_post from any thread; everything else on the loop's own thread.
 */
#ifndef HF_NET_LOOP_H
#define HF_NET_LOOP_H

#include "base/fiber.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct hf_loop hf_loop_t;
typedef struct hf_loops hf_loops_t;
typedef struct hf_loop_fd hf_loop_fd_t;
typedef struct hf_timer hf_timer_t;

/* A file descriptor registered with a loop. Embedded in its owner's struct;
 * the owner keeps it alive until hf_loop_fd_del. */
struct hf_loop_fd {
    int fd;
    /* Called on the loop thread, outside fibers, for events no parked fiber
     * is waiting for (EPOLLIN/OUT/RDHUP/HUP/ERR bits). May be NULL. */
    void (*on_event)(hf_loop_fd_t *w, uint32_t events);
    void *owner;
    /* loop's own: a fiber parked for each direction (a reader and a writer
     * may wait on one socket at once), and what woke it */
    hf_loop_t *loop;
    hf_fiber_t *waiter[2];
    uint32_t got[2];
};

struct hf_timer {
    int64_t at_ms;                    /* monotonic */
    void (*fn)(hf_timer_t *t);        /* loop thread, outside fibers */
    void *owner;
    size_t heap_i;                    /* loop's own; 0: not armed */
};

typedef struct hf_loops_config {
    const char *name;   /* thread names: NAME-lN */
    int loops;          /* 1..HF_WORKERS_MAX */
    int nice;           /* thread priority (0: inherit); see net/server.h */
    /* Once a second on every loop, on its thread (sweeping idle
     * connections). May be NULL. */
    void (*tick)(hf_loop_t *l, void *ctx);
    void *ctx;
    bool report_load;   /* feed the admission detector */
} hf_loops_config_t;

/* Create the loops (epoll sets, eventfds, schedulers); no thread yet. *out
 * is owned by the caller. Errors: HF_E_INVAL, negative errno. */
int hf_loops_create(const hf_loops_config_t *cfg, hf_loops_t **out);
/* Start one thread per loop. Errors: negative errno. */
int hf_loops_start(hf_loops_t *g);
/* Ask every loop to finish its current pass and exit; join the threads.
 * Fibers still parked are abandoned (the caller has ended its requests
 * first). */
void hf_loops_stop(hf_loops_t *g);
void hf_loops_destroy(hf_loops_t *g);

int hf_loops_count(const hf_loops_t *g);
hf_loop_t *hf_loops_get(hf_loops_t *g, int i);

/* The loop whose thread is calling, or NULL. */
hf_loop_t *hf_loop_self(void);
int hf_loop_index(const hf_loop_t *l);
hf_sched_t *hf_loop_sched(hf_loop_t *l);

/* Listening socket fd (non-blocking) on every loop; on_ready(loop, ctx) on
 * the woken loop's thread when connections wait to be accepted. A group
 * carries up to four listeners. Errors: HF_E_BUSY (four already), negative
 * errno. */
int hf_loops_listen(hf_loops_t *g, int fd, void (*on_ready)(hf_loop_t *l, void *ctx), void *ctx);
/* Remove listening socket fd from every loop (any thread; the caller
 * closes it afterwards). */
void hf_loops_unlisten(hf_loops_t *g, int fd);

/* Register w->fd (already non-blocking) with loop l, edge-triggered for
 * in, out and hang-ups. On l's thread. Errors: negative errno. */
int hf_loop_fd_add(hf_loop_t *l, hf_loop_fd_t *w);
/* Unregister (before closing the fd). A fiber parked on w is woken with
 * HF_E_CLOSED. */
void hf_loop_fd_del(hf_loop_fd_t *w);

/* In a fiber on w's loop: wait until w is ready for `events` (EPOLLIN or
 * EPOLLOUT; hang-ups and errors always count) or until deadline_ms
 * (monotonic). One fiber at a time per direction. Edge-triggered: call only
 * after the operation failed with EAGAIN. Returns HF_OK, HF_E_TIMEOUT or
 * HF_E_CLOSED. */
int hf_loop_fd_wait(hf_loop_fd_t *w, uint32_t events, int64_t deadline_ms);

/* Timers (loop thread). t->fn and t->at_ms set by the caller. */
void hf_timer_arm(hf_loop_t *l, hf_timer_t *t);
void hf_timer_cancel(hf_loop_t *l, hf_timer_t *t);

/* In a fiber: park until deadline_ms. */
void hf_loop_sleep_until(int64_t deadline_ms);

/* In a fiber on a loop: wait until d is posted (HF_OK) or deadline_ms
 * passes (HF_E_TIMEOUT). After a timeout d may still be posted: its memory
 * must stay valid until then, or the caller must first make sure nobody
 * will post it. */
int hf_loop_done_wait(hf_done_t *d, int64_t deadline_ms);

/* Run fn(arg) on l's thread, outside fibers, at its next pass. Any thread.
 * Errors: -ENOMEM. */
int hf_loop_post(hf_loop_t *l, void (*fn)(void *arg), void *arg);

#endif /* HF_NET_LOOP_H */
