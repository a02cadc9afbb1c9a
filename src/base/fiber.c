/*
 * fiber.c -- coroutines: stacks, the context switch, the scheduler, park
 * and wake, and the one-shot completion; see fiber.h.
 *
 * Owns: every fiber's stack mapping (the fiber's own struct lives at the
 * top of it), each scheduler's ready queue, remote-wake stack and stack
 * pool.
 *
 * The switch. On x86-64 a switch pushes the six callee-saved registers and
 * the SSE/x87 control words on the running stack, stores the stack pointer,
 * loads the other one and pops the same set: the System V ABI says every
 * other register is dead across a call. A new fiber's stack is laid out as
 * if it had been switched away from just before a trampoline that calls
 * fiber_main. Elsewhere ucontext does the same job (correct, slower: glibc
 * saves and restores the signal mask with a system call on every switch).
 *
 * Wake states of a fiber (wstate), and who moves it:
 *   RUN    -> PARKED  hf_fiber_park, on the fiber's thread, then switch out
 *   PARKED -> RUN     hf_fiber_wake (one CAS winner), which queues it
 *   RUN    -> TOKEN   hf_fiber_wake on a fiber not parked: remembered
 *   TOKEN  -> RUN     hf_fiber_park consumes it and returns at once
 * A fiber is queued only by the waker that won PARKED -> RUN, so it is
 * never on a queue twice; it is resumed only by its own scheduler's thread,
 * which is the thread that parked it, so the switch-out has always finished
 * before the switch-in starts.
 *
 * Remote wakes push onto a lock-free stack (one CAS); the scheduler takes
 * the whole stack with one exchange, reverses it to keep wake order, and
 * appends it to its ready queue. The first remote wake after a run calls
 * notify, so the loop's thread leaves epoll_wait.
 *
 * Sanitizers. ASan must be told about every switch (it tracks the stack
 * in use); valgrind must be told where each stack is. Both are compiled in
 * only when the build uses them.
 *
 * Rejected: threads per request (the thing this replaces); stackless state
 * machines per request (every handler rewritten as callbacks); moving
 * fibers between threads for balance (glibc caches the address of errno
 * and the compiler may cache thread-local addresses across a call, so a
 * fiber that moved threads could read another thread's errno).
 */
#include "base/fiber.h"

#include "base/err.h"
#include "base/limits.h"

#include <errno.h>
#include <linux/futex.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#define HF_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HF_ASAN 1
#endif
#endif
#ifdef HF_ASAN
#include <sanitizer/common_interface_defs.h>
#endif

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define HF_VALGRIND 1
#endif
#endif

#if defined(__x86_64__) && !defined(HF_FIBER_UCONTEXT)
#define HF_FIBER_ASM 1
#else
#include <ucontext.h>
#endif

enum { W_RUN = 0, W_PARKED = 1, W_TOKEN = 2 };

struct hf_fiber {
#ifdef HF_FIBER_ASM
    void *sp; /* saved stack pointer while switched out */
#else
    ucontext_t uc;
#endif
    hf_sched_t *sched;
    void (*fn)(void *);
    void *arg;
    _Atomic int wstate;
    bool dead;
    hf_fiber_t *next;                /* ready queue or stack pool */
    hf_fiber_t *_Atomic rnext;       /* remote-wake stack */
    int64_t ready_ns;                /* when last made ready */
    char *map;                       /* the whole mapping, guard page first */
    size_t map_len;
    char *stack_lo, *stack_hi;       /* usable stack */
    void *asan_fake;
    unsigned vg_id;
};

struct hf_sched {
#ifdef HF_FIBER_ASM
    void *sp;
#else
    ucontext_t uc;
#endif
    hf_fiber_t *cur;
    hf_fiber_t *rq_head, *rq_tail;
    size_t rq_len;
    hf_fiber_t *_Atomic remote;
    _Atomic int notified;
    void (*notify)(void *);
    void *nctx;
    hf_fiber_t *pool;
    size_t npool;
    size_t live;
    int64_t dmin_us, dmax_us;
    int64_t slice_ns;        /* when the running fiber was switched in */
    const void *asan_bottom; /* the thread's own stack, learned at the first switch */
    size_t asan_size;
};

static __thread hf_sched_t *tls_sched;
static __thread hf_fiber_t *tls_fiber;

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ---- the switch ---------------------------------------------------------- */

#ifdef HF_FIBER_ASM
/* hf_ctx_swap(&save_sp, next_sp): save the callee-saved state on this
 * stack, store the stack pointer in *save_sp, continue on next_sp. */
void hf_ctx_swap(void **save_sp, void *next_sp);
/* First instructions of a new fiber: r12 holds the fiber, r13 the C entry. */
void hf_ctx_entry(void);
__asm__(".text\n"
        ".globl hf_ctx_swap\n"
        ".type hf_ctx_swap,@function\n"
        "hf_ctx_swap:\n"
        "    pushq %rbp\n"
        "    pushq %rbx\n"
        "    pushq %r12\n"
        "    pushq %r13\n"
        "    pushq %r14\n"
        "    pushq %r15\n"
        "    subq $8, %rsp\n"
        "    stmxcsr (%rsp)\n"
        "    fnstcw 4(%rsp)\n"
        "    movq %rsp, (%rdi)\n"
        "    movq %rsi, %rsp\n"
        "    ldmxcsr (%rsp)\n"
        "    fldcw 4(%rsp)\n"
        "    addq $8, %rsp\n"
        "    popq %r15\n"
        "    popq %r14\n"
        "    popq %r13\n"
        "    popq %r12\n"
        "    popq %rbx\n"
        "    popq %rbp\n"
        "    ret\n"
        ".size hf_ctx_swap,.-hf_ctx_swap\n"
        ".globl hf_ctx_entry\n"
        ".type hf_ctx_entry,@function\n"
        "hf_ctx_entry:\n"
        "    movq %r12, %rdi\n"
        "    callq *%r13\n"
        "    ud2\n"
        ".size hf_ctx_entry,.-hf_ctx_entry\n");
#endif

static void fiber_main(hf_fiber_t *f);

#ifndef HF_FIBER_ASM
static void uc_entry(unsigned hi, unsigned lo)
{
    fiber_main((hf_fiber_t *)(((uintptr_t)hi << 32) | (uintptr_t)lo));
}
#endif

/* Prepare f's stack so that the first switch to it enters fiber_main(f). */
static void ctx_init(hf_fiber_t *f)
{
#ifdef HF_FIBER_ASM
    uintptr_t top = (uintptr_t)f->stack_hi & ~(uintptr_t)15;
    /* Layout from the saved sp upward: control words, r15, r14, r13, r12,
     * rbx, rbp, return address. After the final ret the stack pointer is
     * top, 16-aligned, as the trampoline's call needs. */
    uint64_t *sp = (uint64_t *)top - 8;
    uint32_t cw[2] = {0x1F80, 0x037F}; /* MXCSR and x87 control word defaults */
    memcpy(&sp[0], cw, sizeof cw);
    sp[1] = 0;                        /* r15 */
    sp[2] = 0;                        /* r14 */
    sp[3] = (uint64_t)(uintptr_t)fiber_main; /* r13 */
    sp[4] = (uint64_t)(uintptr_t)f;   /* r12 */
    sp[5] = 0;                        /* rbx */
    sp[6] = 0;                        /* rbp */
    sp[7] = (uint64_t)(uintptr_t)hf_ctx_entry;
    f->sp = sp;
#else
    getcontext(&f->uc);
    f->uc.uc_stack.ss_sp = f->stack_lo;
    f->uc.uc_stack.ss_size = (size_t)(f->stack_hi - f->stack_lo);
    f->uc.uc_link = NULL;
    uintptr_t p = (uintptr_t)f;
    makecontext(&f->uc, (void (*)(void))uc_entry, 2, (unsigned)(p >> 32), (unsigned)p);
#endif
}

/* Scheduler -> fiber. Returns when f parks, yields or ends. */
static void switch_in(hf_sched_t *s, hf_fiber_t *f)
{
    s->cur = f;
    s->slice_ns = now_ns();
    tls_fiber = f;
#ifdef HF_ASAN
    void *fake = NULL;
    __sanitizer_start_switch_fiber(&fake, f->stack_lo, (size_t)(f->stack_hi - f->stack_lo));
#endif
#ifdef HF_FIBER_ASM
    hf_ctx_swap(&s->sp, f->sp);
#else
    swapcontext(&s->uc, &f->uc);
#endif
#ifdef HF_ASAN
    __sanitizer_finish_switch_fiber(fake, NULL, NULL);
#endif
    tls_fiber = NULL;
    s->cur = NULL;
}

/* Fiber -> its scheduler. For a dead fiber this never returns. */
static void switch_out(hf_fiber_t *f)
{
    hf_sched_t *s = f->sched;
#ifdef HF_ASAN
    /* NULL for a fiber that ends: ASan frees its fake stack. */
    __sanitizer_start_switch_fiber(f->dead ? NULL : &f->asan_fake, s->asan_bottom, s->asan_size);
#endif
#ifdef HF_FIBER_ASM
    hf_ctx_swap(&f->sp, s->sp);
#else
    swapcontext(&f->uc, &s->uc);
#endif
#ifdef HF_ASAN
    __sanitizer_finish_switch_fiber(f->asan_fake, NULL, NULL);
#endif
}

static void fiber_main(hf_fiber_t *f)
{
#ifdef HF_ASAN
    __sanitizer_finish_switch_fiber(NULL, &f->sched->asan_bottom, &f->sched->asan_size);
#endif
    f->fn(f->arg);
    f->dead = true;
    switch_out(f);
    abort(); /* a dead fiber is never resumed */
}

/* ---- stacks -------------------------------------------------------------- */

static size_t stack_size(void)
{
#ifdef HF_ASAN
    return HF_FIBER_STACK * 4; /* redzones make frames several times larger */
#else
    return HF_FIBER_STACK;
#endif
}

static hf_fiber_t *fiber_map(hf_sched_t *s)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t len = stack_size() + page;
    char *m = mmap(NULL, len, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
    if (m == MAP_FAILED)
        return NULL;
    if (mprotect(m, page, PROT_NONE) != 0) {
        munmap(m, len);
        return NULL;
    }
    /* The fiber's own struct sits at the top of its mapping. */
    uintptr_t at = ((uintptr_t)(m + len) - sizeof(hf_fiber_t)) & ~(uintptr_t)63;
    hf_fiber_t *f = (hf_fiber_t *)at;
    memset(f, 0, sizeof *f);
    f->sched = s;
    f->map = m;
    f->map_len = len;
    f->stack_lo = m + page;
    f->stack_hi = (char *)at;
#ifdef HF_VALGRIND
    f->vg_id = VALGRIND_STACK_REGISTER(f->stack_lo, f->stack_hi);
#endif
    return f;
}

static void fiber_unmap(hf_fiber_t *f)
{
#ifdef HF_VALGRIND
    VALGRIND_STACK_DEREGISTER(f->vg_id);
#endif
    munmap(f->map, f->map_len);
}

/* ---- the scheduler ------------------------------------------------------- */

int hf_sched_create(void (*notify)(void *ctx), void *ctx, hf_sched_t **out)
{
    hf_sched_t *s = calloc(1, sizeof *s);
    *out = NULL;
    if (!s)
        return -ENOMEM;
    s->notify = notify;
    s->nctx = ctx;
    s->dmin_us = INT64_MAX;
    atomic_init(&s->remote, NULL);
    atomic_init(&s->notified, 0);
    *out = s;
    return HF_OK;
}

void hf_sched_destroy(hf_sched_t *s)
{
    if (!s)
        return;
    while (s->pool) {
        hf_fiber_t *f = s->pool;
        s->pool = f->next;
        fiber_unmap(f);
    }
    if (tls_sched == s)
        tls_sched = NULL;
    free(s);
}

void hf_sched_bind(hf_sched_t *s)
{
    tls_sched = s;
}

hf_sched_t *hf_sched_self(void)
{
    return tls_sched;
}

hf_fiber_t *hf_fiber_self(void)
{
    return tls_fiber;
}

size_t hf_sched_live(const hf_sched_t *s)
{
    return s->live;
}

static void enqueue_local(hf_sched_t *s, hf_fiber_t *f)
{
    f->next = NULL;
    if (s->rq_tail)
        s->rq_tail->next = f;
    else
        s->rq_head = f;
    s->rq_tail = f;
    s->rq_len++;
}

int hf_sched_spawn(hf_sched_t *s, void (*fn)(void *arg), void *arg)
{
    hf_fiber_t *f = s->pool;
    if (f) {
        s->pool = f->next;
        s->npool--;
    } else {
        f = fiber_map(s);
        if (!f)
            return -ENOMEM;
    }
    f->fn = fn;
    f->arg = arg;
    f->dead = false;
    f->asan_fake = NULL;
    atomic_store(&f->wstate, W_RUN);
    atomic_store(&f->rnext, NULL);
    ctx_init(f);
    f->ready_ns = now_ns();
    s->live++;
    enqueue_local(s, f);
    return HF_OK;
}

static void recycle(hf_sched_t *s, hf_fiber_t *f)
{
    s->live--;
    if (s->npool < HF_FIBER_POOL_KEEP) {
        f->next = s->pool;
        s->pool = f;
        s->npool++;
    } else {
        fiber_unmap(f);
    }
}

/* Move every remotely woken fiber to the ready queue, oldest wake first. */
static void take_remote(hf_sched_t *s)
{
    atomic_store(&s->notified, 0);
    hf_fiber_t *list = atomic_exchange(&s->remote, NULL);
    hf_fiber_t *rev = NULL;
    while (list) {
        hf_fiber_t *n = atomic_load_explicit(&list->rnext, memory_order_relaxed);
        atomic_store_explicit(&list->rnext, rev, memory_order_relaxed);
        rev = list;
        list = n;
    }
    while (rev) {
        hf_fiber_t *n = atomic_load_explicit(&rev->rnext, memory_order_relaxed);
        enqueue_local(s, rev);
        rev = n;
    }
}

size_t hf_sched_run(hf_sched_t *s)
{
    take_remote(s);
    /* Only the fibers ready now: one that yields, or is woken while this
     * pass runs, waits for the next pass, so the loop polls for I/O in
     * between and a busy fiber cannot starve the sockets. */
    size_t n = s->rq_len, ran = 0;
    while (n-- > 0 && s->rq_head) {
        hf_fiber_t *f = s->rq_head;
        s->rq_head = f->next;
        if (!s->rq_head)
            s->rq_tail = NULL;
        s->rq_len--;
        int64_t d = (now_ns() - f->ready_ns) / 1000;
        if (d < s->dmin_us)
            s->dmin_us = d;
        if (d > s->dmax_us)
            s->dmax_us = d;
        switch_in(s, f);
        ran++;
        if (f->dead)
            recycle(s, f);
    }
    return ran;
}

bool hf_sched_has_ready(hf_sched_t *s)
{
    return s->rq_head != NULL || atomic_load_explicit(&s->remote, memory_order_relaxed) != NULL;
}

void hf_sched_take_delays(hf_sched_t *s, int64_t *min_us, int64_t *max_us)
{
    *min_us = s->dmin_us;
    *max_us = s->dmax_us;
    s->dmin_us = INT64_MAX;
    s->dmax_us = 0;
}

/* ---- park and wake ------------------------------------------------------- */

void hf_fiber_park(void)
{
    hf_fiber_t *f = tls_fiber;
    if (!f)
        abort(); /* a caller bug: only fibers park */
    int st = W_TOKEN;
    if (atomic_compare_exchange_strong(&f->wstate, &st, W_RUN))
        return; /* a wake came first */
    st = W_RUN;
    if (!atomic_compare_exchange_strong(&f->wstate, &st, W_PARKED)) {
        atomic_store(&f->wstate, W_RUN); /* became TOKEN meanwhile: consume it */
        return;
    }
    switch_out(f);
}

void hf_fiber_wake(hf_fiber_t *f)
{
    for (;;) {
        int st = atomic_load(&f->wstate);
        if (st == W_TOKEN)
            return;
        if (st == W_RUN) {
            if (atomic_compare_exchange_weak(&f->wstate, &st, W_TOKEN))
                return;
            continue;
        }
        if (atomic_compare_exchange_weak(&f->wstate, &st, W_RUN))
            break;
    }
    hf_sched_t *s = f->sched;
    f->ready_ns = now_ns();
    if (tls_sched == s) {
        enqueue_local(s, f);
        return;
    }
    hf_fiber_t *head = atomic_load(&s->remote);
    do
        atomic_store_explicit(&f->rnext, head, memory_order_relaxed);
    while (!atomic_compare_exchange_weak(&s->remote, &head, f));
    if (atomic_exchange(&s->notified, 1) == 0 && s->notify)
        s->notify(s->nctx);
}

void hf_fiber_yield(void)
{
    hf_fiber_t *f = tls_fiber;
    if (!f)
        return;
    f->ready_ns = now_ns();
    enqueue_local(f->sched, f);
    switch_out(f);
}

void hf_fiber_maybe_yield(void)
{
    hf_fiber_t *f = tls_fiber;
    if (f && now_ns() - f->sched->slice_ns > (int64_t)HF_FIBER_SLICE_US * 1000)
        hf_fiber_yield();
}

/* ---- one-shot completion ------------------------------------------------- */

enum { D_EMPTY = 0, D_FIBER = 1, D_THREAD = 2, D_POSTED = 3 };

static void futex_wait(_Atomic int *addr, int val)
{
    syscall(SYS_futex, (int *)addr, FUTEX_WAIT_PRIVATE, val, NULL, NULL, 0);
}

static void futex_wake(_Atomic int *addr)
{
    syscall(SYS_futex, (int *)addr, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

void hf_done_init(hf_done_t *d)
{
    atomic_init(&d->state, D_EMPTY);
    d->waiter = NULL;
}

bool hf_done_posted(const hf_done_t *d)
{
    return atomic_load(&((hf_done_t *)d)->state) == D_POSTED;
}

void hf_done_post(hf_done_t *d)
{
    for (;;) {
        int st = atomic_load(&d->state);
        if (st == D_POSTED)
            return;
        /* Read the waiter before publishing POSTED: once POSTED is visible
         * the waiter may return and d may be gone. */
        hf_fiber_t *f = st == D_FIBER ? d->waiter : NULL;
        if (!atomic_compare_exchange_weak(&d->state, &st, D_POSTED))
            continue;
        if (st == D_FIBER)
            hf_fiber_wake(f);
        else if (st == D_THREAD)
            futex_wake(&d->state); /* d may be gone: a futex wake on a stale address is harmless */
        return;
    }
}

bool hf_done_arm(hf_done_t *d)
{
    d->waiter = tls_fiber;
    int st = D_EMPTY;
    if (atomic_compare_exchange_strong(&d->state, &st, D_FIBER))
        return true;
    return st != D_POSTED && st == D_FIBER; /* armed before by this fiber */
}

void hf_done_wait(hf_done_t *d)
{
    hf_fiber_t *f = tls_fiber;
    int want = f ? D_FIBER : D_THREAD;
    d->waiter = f;
    int st = D_EMPTY;
    if (!atomic_compare_exchange_strong(&d->state, &st, want))
        return; /* posted already */
    while (atomic_load(&d->state) != D_POSTED) {
        if (f)
            hf_fiber_park();
        else
            futex_wait(&d->state, D_THREAD);
    }
}
