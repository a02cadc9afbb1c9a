/*
 * fiber.h -- coroutines with small stacks on a fixed set of threads.
 *
 * Why. A request that waits -- for client bytes, a disk, a metadata commit,
 * later a peer -- must not hold a thread (docs/architecture.md, "Waiting
 * without a thread"). Request code stays straight sequential C (streaming a
 * body through chunk-signature checks, hashing and chunk files reads far
 * better that way than as callbacks); where it would block, its fiber parks
 * and the thread runs other fibers.
 *
 * The model:
 *   scheduler  one per thread that runs fibers (an event loop thread). It
 *              owns its fibers: a fiber runs only on its scheduler's thread,
 *              from spawn to exit, so thread-local state, errno and LMDB
 *              never see a fiber move between threads.
 *   fiber      a function running on its own stack (HF_FIBER_STACK bytes
 *              reserved, touched pages only are memory; a guard page below
 *              turns an overflow into a crash instead of corruption).
 *              Stacks are pooled per scheduler.
 *   park/wake  hf_fiber_park() switches back to the scheduler until someone
 *              calls hf_fiber_wake() -- from any thread. A wake that comes
 *              before the park is kept (one token), so no wake-up is lost.
 *              A parked fiber may also be woken spuriously: every waiter
 *              re-checks its condition in a loop.
 *   hf_done    a one-shot completion for handing work to another thread
 *              and waiting for it: a fiber parks on it, a plain thread
 *              sleeps on a futex, so the same storage code serves both.
 *
 * Cost (measured, docs/performance.md): a switch is a handful of register
 * moves on x86-64 (assembly below; other architectures fall back to
 * ucontext, which is correct but makes two system calls per switch).
 *
 * Threads: hf_sched_* on the scheduler's own thread only, except
 * hf_fiber_wake and hf_done_post, which any thread may call. Ownership: a
 * scheduler is created and destroyed by its thread's owner; fibers belong
 * to their scheduler and free themselves when their function returns.
 */
#ifndef HF_BASE_FIBER_H
#define HF_BASE_FIBER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct hf_fiber hf_fiber_t;
typedef struct hf_sched hf_sched_t;

/* notify(ctx) is called from another thread after it made one of the
 * scheduler's fibers ready, so a thread sleeping in epoll_wait can be
 * woken (an eventfd write). It is called at most once until the scheduler
 * next runs hf_sched_run. May be NULL for a scheduler that polls. *out is
 * owned by the caller. Errors: -ENOMEM. */
int hf_sched_create(void (*notify)(void *ctx), void *ctx, hf_sched_t **out);

/* Free the scheduler and its pooled stacks. No fiber may be alive. */
void hf_sched_destroy(hf_sched_t *s);

/* Make the calling thread the one that runs s (once, before spawn/run). */
void hf_sched_bind(hf_sched_t *s);

/* Start fn(arg) on a new fiber; it first runs at the next hf_sched_run.
 * Call on the scheduler's thread. Errors: -ENOMEM (no stack could be
 * mapped). */
int hf_sched_spawn(hf_sched_t *s, void (*fn)(void *arg), void *arg);

/* Run ready fibers (those spawned or woken) until none is ready. Call on
 * the scheduler's thread, outside any fiber. Returns how many fiber runs
 * it made. */
size_t hf_sched_run(hf_sched_t *s);

/* true if a fiber is ready to run (the loop should not sleep). */
bool hf_sched_has_ready(hf_sched_t *s);

/* Fibers alive (spawned, not yet returned). */
size_t hf_sched_live(const hf_sched_t *s);

/* The scheduler bound to the calling thread, or NULL. */
hf_sched_t *hf_sched_self(void);

/* The fiber running on the calling thread, or NULL outside fibers. */
hf_fiber_t *hf_fiber_self(void);

/* Switch to the scheduler until woken (see the model above). In a fiber
 * only. */
void hf_fiber_park(void);

/* Make f ready if parked, or leave it a token if not. Any thread. */
void hf_fiber_wake(hf_fiber_t *f);

/* Let other ready fibers run first (for long stretches of CPU work). */
void hf_fiber_yield(void);

/* Yield if the calling fiber has run for more than HF_FIBER_SLICE_US since
 * it was last switched in: called by code that may keep finding its I/O
 * ready (a fast client streaming a large body), so one request cannot hold
 * its loop. No-op outside fibers. */
void hf_fiber_maybe_yield(void);

/* Scheduling delay statistics of one scheduler: how long fibers waited
 * between being made ready and running, the signal of a CPU-bound loop.
 * *min_us is the smallest delay since the last call (INT64_MAX if no
 * fiber ran), *max_us the largest; both are reset. */
void hf_sched_take_delays(hf_sched_t *s, int64_t *min_us, int64_t *max_us);

/* ---- one-shot completion ------------------------------------------------ */

typedef struct hf_done {
    _Atomic int state;  /* see fiber.c */
    hf_fiber_t *waiter; /* the parked fiber, if any */
} hf_done_t;

void hf_done_init(hf_done_t *d);
/* Mark done and wake the waiter. Once per init; any thread. After it
 * returns, d may already be gone (the waiter returned). */
void hf_done_post(hf_done_t *d);
/* Wait until posted: a fiber parks, any other thread sleeps. */
void hf_done_wait(hf_done_t *d);
bool hf_done_posted(const hf_done_t *d);
/* For waits with a deadline (net/loop.h, hf_loop_done_wait): make the
 * calling fiber d's waiter without parking. false if d is posted already. */
bool hf_done_arm(hf_done_t *d);

#endif /* HF_BASE_FIBER_H */
