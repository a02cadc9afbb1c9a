/*
 * iopool.h -- a fixed pool of threads for calls that block.
 *
 * Why. A fiber (base/fiber.h) runs on an event loop thread shared with
 * thousands of connections; a disk call that takes 30 ms there (an
 * fdatasync, a read that misses the page cache, an unlink on a busy file
 * system) would stall every one of them. Such calls go through
 * hf_iopool_run: from a fiber, the call runs on one of the pool's threads
 * while the fiber parks; from any other thread, it simply runs in place.
 * The storage code is the same either way.
 *
 * The pool has a fixed number of threads, set at start; calls queue in
 * order (FIFO) when all are busy, and how long they queue feeds the
 * admission detector (base/load.h, source "io"). Non-blocking variants
 * (RWF_NOWAIT) would avoid the hand-off for cached reads, but are not
 * available on every kernel and file system holdfast runs on (refused with
 * EOPNOTSUPP where measured): a hand-off costs a few microseconds, a 64 KiB
 * read tens.
 *
 * Threads: start/stop from the owner (server start-up and shutdown); run
 * from anywhere. Without a started pool, run executes in place.
 */
#ifndef HF_BASE_IOPOOL_H
#define HF_BASE_IOPOOL_H

#include <stdint.h>

/* Start the pool with n threads (1..HF_IO_THREADS_MAX). Errors: HF_E_INVAL,
 * HF_E_STATE (already started), negative errno. */
int hf_iopool_start(int n);

/* Finish queued calls, join the threads. Later calls run in place. */
void hf_iopool_stop(void);

/* Run fn(arg) where blocking is harmless (see above); returns when done. */
void hf_iopool_run(void (*fn)(void *arg), void *arg);

typedef struct hf_iopool_stats {
    int threads;
    uint64_t calls;         /* run on the pool */
    uint64_t queued;        /* gauge: waiting for a thread */
    uint64_t busy;          /* gauge: running */
    uint64_t wait_us_total; /* time calls waited for a thread */
} hf_iopool_stats_t;

void hf_iopool_stats(hf_iopool_stats_t *out);

#endif /* HF_BASE_IOPOOL_H */
