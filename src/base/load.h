/*
 * load.h -- is work queueing? A CoDel-style detector of standing queues.
 *
 * Why. Admission must follow what the machine can do, not a count of
 * threads (docs/operations.md, "Admission control"). What tells that the
 * machine is past its capacity is not how many requests are in flight --
 * thousands of them may be waiting for slow clients at no cost -- but
 * whether admitted work waits in a queue for a resource: the CPU of an
 * event loop, a thread of the blocking-I/O pool, the metadata writer.
 *
 * Each such queue reports, for the work it serves, how long that work
 * waited (hf_load_note). As in CoDel (Nichols and Jacobson, 2012), a queue
 * is judged by the *smallest* wait seen over an interval: a burst that
 * drains within the interval leaves some item that barely waited, while a
 * standing queue makes every item wait. A source is overloaded once a
 * whole interval passed with every wait above the target, and stops being
 * overloaded as soon as one wait is back under it (or nothing waited at
 * all for two intervals).
 *
 * Threads: every function is thread-safe and lock-free; hf_load_note is a
 * few atomic operations and is called on hot paths.
 */
#ifndef HF_BASE_LOAD_H
#define HF_BASE_LOAD_H

#include <stdbool.h>
#include <stdint.h>

enum {
    HF_LOAD_LOOP = 0, /* an event loop's CPU: how long ready work waited for it */
    HF_LOAD_IO = 1,   /* the blocking-I/O pool: how long a disk call waited for a thread */
    HF_LOAD_META = 2, /* the metadata writer: waits beyond the next group commit */
    HF_LOAD_SOURCES = 3,
};

/* Target wait and interval, in microseconds (defaults: HF_LOAD_TARGET_US,
 * HF_LOAD_INTERVAL_US). Call before the server starts. */
void hf_load_configure(int64_t target_us, int64_t interval_us);

/* Work from source waited wait_us before being served. */
void hf_load_note(int source, int64_t wait_us);
/* The same, as if noted at monotonic time now_us (tests replay a schedule
 * of waits without depending on how fast the machine runs them). */
void hf_load_note_at(int source, int64_t wait_us, int64_t now_us);

/* true while any source is overloaded. */
bool hf_load_overloaded(void);

typedef struct hf_load_stats {
    int64_t target_us, interval_us;
    bool overloaded[HF_LOAD_SOURCES];
    int64_t last_min_us[HF_LOAD_SOURCES]; /* smallest wait of the last full interval; -1: none */
    uint64_t episodes[HF_LOAD_SOURCES];   /* times the source became overloaded */
} hf_load_stats_t;

void hf_load_stats(hf_load_stats_t *out);

/* Names for metrics and logs: "loop", "io", "meta". */
const char *hf_load_source_name(int source);

/* Forget all state (tests). */
void hf_load_reset(void);

#endif /* HF_BASE_LOAD_H */
