/*
 * load.c -- the standing-queue detector; see load.h.
 *
 * Owns: one window per source (start, smallest wait so far), the state
 * decided at the end of the last window, and counters. All atomics.
 *
 * A window closes when a note arrives after interval has passed since it
 * opened; whoever wins the compare-and-swap on the start time judges the
 * closed window and opens the next one with its own sample. A note under
 * the target clears the overloaded state at once (CoDel leaves its
 * dropping state on the first good sample); a window with no note at all
 * is not judged, and a source whose last window is more than two
 * intervals old reads as not overloaded -- no work, no queue.
 */
#include "base/load.h"

#include "base/limits.h"
#include "base/time.h"

#include <stdatomic.h>

typedef struct src {
    _Atomic int64_t start_us; /* window opened; 0: never */
    _Atomic int64_t min_us;   /* smallest wait in the open window */
    _Atomic int64_t last_min_us;
    _Atomic int over;
    _Atomic uint64_t episodes;
} src_t;

#define SRC_INIT {.min_us = INT64_MAX, .last_min_us = -1}
static src_t srcs[HF_LOAD_SOURCES] = {SRC_INIT, SRC_INIT, SRC_INIT};
static _Atomic int64_t target_us = HF_LOAD_TARGET_US, interval_us = HF_LOAD_INTERVAL_US;

void hf_load_configure(int64_t t, int64_t i)
{
    if (t > 0)
        atomic_store(&target_us, t);
    if (i > 0)
        atomic_store(&interval_us, i);
}

void hf_load_reset(void)
{
    for (int s = 0; s < HF_LOAD_SOURCES; s++) {
        atomic_store(&srcs[s].start_us, 0);
        atomic_store(&srcs[s].min_us, INT64_MAX);
        atomic_store(&srcs[s].last_min_us, -1);
        atomic_store(&srcs[s].over, 0);
        atomic_store(&srcs[s].episodes, 0);
    }
}

void hf_load_note(int source, int64_t wait_us)
{
    hf_load_note_at(source, wait_us, hf_mono_us());
}

void hf_load_note_at(int source, int64_t wait_us, int64_t now)
{
    if (source < 0 || source >= HF_LOAD_SOURCES)
        return;
    src_t *s = &srcs[source];
    int64_t target = atomic_load(&target_us);
    if (wait_us <= target && atomic_load_explicit(&s->over, memory_order_relaxed))
        atomic_store(&s->over, 0);
    int64_t start = atomic_load(&s->start_us);
    if (start == 0 || now - start >= atomic_load(&interval_us)) {
        if (atomic_compare_exchange_strong(&s->start_us, &start, now)) {
            int64_t closed = atomic_exchange(&s->min_us, wait_us);
            if (start != 0 && closed != INT64_MAX) {
                atomic_store(&s->last_min_us, closed);
                /* Judge only a window that followed its predecessor: after
                 * a quiet gap the closed window is stale. */
                bool fresh = now - start < 2 * atomic_load(&interval_us);
                if (fresh && closed > target && wait_us > target) {
                    if (atomic_exchange(&s->over, 1) == 0)
                        atomic_fetch_add(&s->episodes, 1);
                }
            }
            return;
        }
    }
    int64_t cur = atomic_load_explicit(&s->min_us, memory_order_relaxed);
    while (wait_us < cur &&
           !atomic_compare_exchange_weak_explicit(&s->min_us, &cur, wait_us, memory_order_relaxed,
                                                  memory_order_relaxed))
        ;
}

static bool src_over(src_t *s, int64_t now)
{
    if (!atomic_load_explicit(&s->over, memory_order_relaxed))
        return false;
    return now - atomic_load(&s->start_us) < 2 * atomic_load(&interval_us);
}

bool hf_load_overloaded(void)
{
    int64_t now = hf_mono_us();
    for (int s = 0; s < HF_LOAD_SOURCES; s++)
        if (src_over(&srcs[s], now))
            return true;
    return false;
}

void hf_load_stats(hf_load_stats_t *out)
{
    int64_t now = hf_mono_us();
    out->target_us = atomic_load(&target_us);
    out->interval_us = atomic_load(&interval_us);
    for (int s = 0; s < HF_LOAD_SOURCES; s++) {
        out->overloaded[s] = src_over(&srcs[s], now);
        int64_t start = atomic_load(&srcs[s].start_us);
        out->last_min_us[s] = start && now - start < 2 * out->interval_us
                                  ? atomic_load(&srcs[s].last_min_us)
                                  : -1;
        out->episodes[s] = atomic_load(&srcs[s].episodes);
    }
}

const char *hf_load_source_name(int source)
{
    static const char *const names[HF_LOAD_SOURCES] = {"loop", "io", "meta"};
    return source >= 0 && source < HF_LOAD_SOURCES ? names[source] : "?";
}
