/*
 * guard.h -- admission control: how many requests may run at once, per
 * server and per access key, a small bounded queue for bursts, early
 * rejection (the caller answers 503 SlowDown with Retry-After), and a
 * budget for background work that yields to foreground traffic.
 *
 * Why. Every outage in the project's founding story got worse because
 * clients retried against a server that accepted more work than it could
 * finish: queues grew, latency passed the clients' timeouts, and the
 * server spent its capacity on answers nobody was waiting for. The guard
 * turns excess work into fast, cheap 503s that tell well-behaved clients
 * to back off, and keeps one client from taking what others need.
 *
 * What decides is what the machine can do, not a count of threads: a
 * request that waits for its client, a disk or a commit holds no thread
 * (net/server.h), so thousands may be in flight. A request is shed when
 *
 *   overload       work queues for the machine: the standing-queue
 *                  detector (base/load.h, CoDel-style) reports that admitted
 *                  work waited longer than its target for a loop's CPU, an
 *                  I/O thread or the metadata writer over a whole interval.
 *                  Then only keys holding less than an equal share of what
 *                  is in flight get in (per-key fairness), so the client
 *                  causing the queue is the one that is slowed down;
 *   max_inflight   the memory budget is spent: each admitted request may
 *     (A)          hold up to HF_REQ_MEM_MAX bytes (its buffers), so A
 *                  bounds the memory requests hold, whatever they wait for;
 *   per_key_max    one access key has this many requests admitted or
 *                  queued. Below A, so one client (or one leaked presigned
 *                  URL) never holds every slot.
 *   queue_max (Q)  requests that may wait up to queue_timeout_ms for a slot
 *                  once all A are taken (a parked fiber each: a short burst
 *                  is absorbed instead of refused).
 * Per client address, the server caps connections (net/server.h), and so
 * requests: one connection carries one request at a time.
 *
 * Decisions are taken with atomics on the request path (no lock unless
 * a request must wait in the queue) before any body byte is read.
 *
 * Background work (orphan sweep, scrub, lifecycle, later repair) takes
 * units of work from a per-job token bucket (hf_guard_bg_take), which
 * also waits while foreground traffic is busy: overloaded, anything queued,
 * anything shed in the last second, or half the slots in use.
 *
 * Ownership: hf_guard_t is created and destroyed by its owner; tickets live
 * in the caller. Background jobs belong to the guard. Threads: enter,
 * leave and the stats functions from any thread; each background job is
 * driven by one thread at a time.
 */
#ifndef HF_GUARD_GUARD_H
#define HF_GUARD_GUARD_H

#include "base/limits.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct hf_guard hf_guard_t;
typedef struct hf_guard_key hf_guard_key_t;
typedef struct hf_guard_bg hf_guard_bg_t;

typedef struct hf_guard_config {
    int max_inflight;     /* A, >= 1 */
    int queue_max;        /* Q, >= 0; -1: the default */
    int queue_timeout_ms; /* longest wait in the queue; 0: HF_ADMIT_QUEUE_TIMEOUT_MS */
    int per_key_max;      /* 1..A + Q */
    bool no_overload;     /* ignore the standing-queue detector (tests of the caps) */
} hf_guard_config_t;

/* Defaults: A = HF_ADMIT_INFLIGHT_DEFAULT, Q = A/8, per_key_max =
 * A - max(2, A/6) (the rest is for other keys). Fields already set in *cfg
 * (> 0, or >= 0 for queue_max) are kept. */
void hf_guard_defaults(hf_guard_config_t *cfg);

/* NULL if cfg is usable, else a message saying what to change (for the
 * command line). */
const char *hf_guard_check(const hf_guard_config_t *cfg);

/* *out is owned by the caller (hf_guard_destroy). Errors: HF_E_INVAL (cfg
 * out of range), -ENOMEM. */
int hf_guard_create(const hf_guard_config_t *cfg, hf_guard_t **out);
void hf_guard_destroy(hf_guard_t *g);
const hf_guard_config_t *hf_guard_config(const hf_guard_t *g);

/* ---- foreground admission ---------------------------------------------- */

typedef struct hf_guard_ticket {
    hf_guard_key_t *key;
    bool admitted;
    int64_t queued_ms;    /* time spent waiting in the queue */
} hf_guard_ticket_t;

/* Why a request was not admitted. */
enum {
    HF_GUARD_SHED_FULL = 0,     /* every slot taken and the queue full */
    HF_GUARD_SHED_TIMEOUT = 1,  /* waited queue_timeout_ms in the queue */
    HF_GUARD_SHED_KEY = 2,      /* the key is at per_key_max */
    HF_GUARD_SHED_OVERLOAD = 3, /* work is queueing and the key holds its share */
    HF_GUARD_SHED_REASONS = 4,
};

/* Admit one request of access key `key` ("" for anonymous). May wait in the
 * queue (a fiber parks, any other thread sleeps); while it waits,
 * gone(gctx) is called every few milliseconds and a true answer (the
 * client hung up) ends the wait. Returns:
 *   HF_OK         admitted: run the request, then hf_guard_leave(t);
 *   HF_E_BUSY     shed (reason in *reason if not NULL): answer 503 SlowDown
 *                 with Retry-After, do not read the body;
 *   HF_E_CLOSED   the client left while queued: drop the request.
 * gone may be NULL. */
int hf_guard_enter(hf_guard_t *g, const char *key, bool (*gone)(void *gctx), void *gctx,
                   hf_guard_ticket_t *t, int *reason);

/* The request admitted by t has finished (or been aborted). No-op if t was
 * not admitted. */
void hf_guard_leave(hf_guard_t *g, hf_guard_ticket_t *t);

typedef struct hf_guard_stats {
    int max_inflight, queue_max, per_key_max;
    int64_t inflight;          /* gauge: admitted and running */
    int64_t active_keys;       /* gauge: keys with a request in flight */
    bool overloaded;           /* the standing-queue detector's verdict now */
    int64_t queued;            /* gauge: waiting in the queue */
    uint64_t admitted;         /* total */
    uint64_t shed[HF_GUARD_SHED_REASONS];
    uint64_t abandoned;        /* clients that left while queued */
    uint64_t queue_wait_ms;    /* total time admitted requests spent queued */
    int64_t last_shed_ms;      /* monotonic ms of the last shed, 0 if never */
} hf_guard_stats_t;

void hf_guard_stats(const hf_guard_t *g, hf_guard_stats_t *out);

/* One access key's counters. */
typedef struct hf_guard_key_stat {
    char key[HF_ACCESS_KEY_MAX + 1]; /* "(other)" for keys beyond HF_GUARD_KEYS_MAX */
    int64_t inflight;
    uint64_t admitted, shed;
} hf_guard_key_stat_t;

/* Copy up to cap keys' counters (the keys seen so far, in table order).
 * Returns how many were written. Never blocks. */
size_t hf_guard_key_stats(const hf_guard_t *g, hf_guard_key_stat_t *out, size_t cap);

/* true if foreground traffic is busy (the condition background work
 * yields to). */
bool hf_guard_busy(const hf_guard_t *g);

/* ---- background work ----------------------------------------------------- */

/* Register a background job with a budget of rate_per_s units per second
 * (bursts up to burst units). Units are the job's own (files examined,
 * bytes scrubbed). NULL when HF_GUARD_BG_MAX jobs exist. The job lives as
 * long as the guard. name is copied (up to 31 bytes). */
hf_guard_bg_t *hf_guard_bg_register(hf_guard_t *g, const char *name, double rate_per_s,
                                    double burst);

/* Mark the start and end of one pass of the job (progress on the status
 * page and in metrics). units_planned may be 0 when unknown. */
void hf_guard_bg_run_begin(hf_guard_bg_t *b, uint64_t units_planned);
void hf_guard_bg_run_end(hf_guard_bg_t *b);

/* Take `units` of budget before doing that much work: waits while
 * foreground traffic is busy (at most HF_GUARD_BG_DEFER_MAX_MS per call, so
 * background work slows to a trickle under sustained load but never stops)
 * and then until the token bucket has the units. Returns HF_OK, or
 * HF_E_SHUTDOWN as soon as *stop becomes non-zero (stop may be NULL). */
int hf_guard_bg_take(hf_guard_bg_t *b, double units, const _Atomic int *stop);
/* The same budget for a job that must not block (one step of a thread
 * that does other work too): takes `units` and returns 0, or takes nothing
 * and returns the milliseconds to wait before trying again -- while
 * foreground traffic is busy (counted as a yield) or until the bucket
 * holds the units. */
int64_t hf_guard_bg_try(hf_guard_bg_t *b, double units);

typedef struct hf_guard_bg_stat {
    char name[32];
    bool running;              /* inside run_begin .. run_end */
    bool waiting;              /* inside take, yielding or out of budget */
    double rate_per_s;
    uint64_t runs;             /* passes finished */
    uint64_t units_total;      /* units taken, all passes */
    uint64_t units_run;        /* units taken in the current/last pass */
    uint64_t units_planned;    /* of the current/last pass, 0 if unknown */
    uint64_t yields;           /* times it waited for foreground traffic */
    uint64_t yield_ms;         /* time spent waiting for foreground traffic */
    int64_t last_begin_ms, last_end_ms; /* monotonic; 0 if never */
} hf_guard_bg_stat_t;

size_t hf_guard_bg_stats(const hf_guard_t *g, hf_guard_bg_stat_t *out, size_t cap);

#endif /* HF_GUARD_GUARD_H */
