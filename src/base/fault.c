/*
 * fault.c -- fault injection over hf_vfs; see fault.h.
 *
 * The wrappers are installed into hf_vfs once, the first time a set is
 * installed, and never removed while the process runs: swapping the table
 * back would race with calls in flight (vfs.h allows swaps only while
 * quiesced, and a drill changes faults under load). With no rules the cost
 * of a wrapped call is one atomic load.
 *
 * The rule set is guarded by a read-write lock: callers match under the
 * read lock, hf_fault_set/clear replace the set under the write lock and
 * bump a generation. A call hanging on a rule waits without holding the
 * lock and proceeds once the generation changes.
 */
#include "base/fault.h"

#include "base/err.h"
#include "base/str.h"
#include "base/vfs.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum fop {
    F_OPEN, F_CLOSE, F_READ, F_WRITE, F_WRITEV, F_PREAD, F_PWRITE, F_FSYNC, F_FDATASYNC,
    F_FTRUNCATE, F_FSTAT, F_UNLINK, F_RENAME, F_MKDIR, F_STATVFS, F_NOPS,
    F_SYNC = F_NOPS, /* parse-only alias: fsync and fdatasync */
};

static const char *const op_names[] = {
    "open", "close", "read", "write", "writev", "pread", "pwrite", "fsync", "fdatasync",
    "ftruncate", "fstat", "unlink", "rename", "mkdir", "statvfs",
};

enum faction { A_ERROR, A_DELAY, A_HANG, A_SHORT };

/* Longest path= text; drills match on a directory name or a file suffix. */
#define PATH_MATCH_MAX 128

typedef struct rule {
    int op;                 /* enum fop, or F_SYNC */
    enum faction action;
    int err;                /* A_ERROR */
    int delay_ms;           /* A_DELAY */
    char path[PATH_MATCH_MAX + 1];
    uint64_t after;         /* pass the first `after` matching calls */
    uint64_t count;         /* fire at most count times; 0 = unlimited */
    _Atomic uint64_t seen;  /* matching calls so far */
    _Atomic uint64_t fired;
} rule_t;

static pthread_rwlock_t lock = PTHREAD_RWLOCK_INITIALIZER;
static rule_t rules[HF_FAULT_RULES_MAX];
static _Atomic int nrules;
static _Atomic uint64_t generation;
static _Atomic uint64_t fired_total;
static pthread_once_t install_once = PTHREAD_ONCE_INIT;

static const struct {
    const char *name;
    int value;
} errnos[] = {
    {"EIO", EIO},       {"ENOSPC", ENOSPC}, {"EDQUOT", EDQUOT}, {"EROFS", EROFS},
    {"EACCES", EACCES}, {"EMFILE", EMFILE}, {"ENOMEM", ENOMEM}, {"EAGAIN", EAGAIN},
    {"EINTR", EINTR},   {"EPERM", EPERM},   {"ENOENT", ENOENT}, {"EBADF", EBADF},
};

static const char *errno_name(int e)
{
    for (size_t i = 0; i < sizeof errnos / sizeof errnos[0]; i++)
        if (errnos[i].value == e)
            return errnos[i].name;
    return "?";
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* The path an fd refers to, for path= matching ("" if unknown). */
static void fd_path(int fd, char *out, size_t cap)
{
    char link[64];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, out, cap - 1);
    out[n > 0 ? (size_t)n : 0] = '\0';
}

typedef struct decision {
    bool fire;
    enum faction action;
    int err;
    int delay_ms;
} decision_t;

/* Match a call against the set; path may be NULL with fd >= 0 (resolved
 * lazily, only if a rule needs it). */
static decision_t decide(int op, const char *path, int fd)
{
    decision_t d = {0};
    if (atomic_load_explicit(&nrules, memory_order_acquire) == 0)
        return d;
    char fdbuf[512];
    bool have_fd_path = false;
    pthread_rwlock_rdlock(&lock);
    int n = atomic_load(&nrules);
    for (int i = 0; i < n && !d.fire; i++) {
        rule_t *r = &rules[i];
        if (r->op != op && !(r->op == F_SYNC && (op == F_FSYNC || op == F_FDATASYNC)))
            continue;
        if (r->path[0]) {
            const char *p = path;
            if (!p && fd >= 0) {
                if (!have_fd_path) {
                    fd_path(fd, fdbuf, sizeof fdbuf);
                    have_fd_path = true;
                }
                p = fdbuf;
            }
            if (!p || !strstr(p, r->path))
                continue;
        }
        uint64_t seen = atomic_fetch_add(&r->seen, 1);
        if (seen < r->after)
            continue;
        if (r->count) {
            uint64_t f = atomic_load(&r->fired);
            do {
                if (f >= r->count)
                    break;
            } while (!atomic_compare_exchange_weak(&r->fired, &f, f + 1));
            if (f >= r->count)
                continue;
        } else {
            atomic_fetch_add(&r->fired, 1);
        }
        atomic_fetch_add(&fired_total, 1);
        d.fire = true;
        d.action = r->action;
        d.err = r->err;
        d.delay_ms = r->delay_ms;
    }
    pthread_rwlock_unlock(&lock);
    return d;
}

/* Run the delaying part of a decision. Returns true if the call must fail
 * (errno set). */
static bool apply(const decision_t *d)
{
    if (!d->fire)
        return false;
    switch (d->action) {
    case A_ERROR:
        errno = d->err;
        return true;
    case A_DELAY:
        sleep_ms(d->delay_ms);
        return false;
    case A_HANG: {
        uint64_t g = atomic_load(&generation);
        while (atomic_load(&generation) == g)
            sleep_ms(10);
        return false;
    }
    case A_SHORT:
        return false;
    }
    return false;
}

static size_t shorten(const decision_t *d, size_t n)
{
    if (d->fire && d->action == A_SHORT && n > 1)
        return n / 2;
    return n;
}

/* ---- the wrappers ---------------------------------------------------------- */

#define PATH_CALL(op, path) \
    decision_t d = decide(op, path, -1); \
    if (apply(&d)) \
        return -1
#define FD_CALL(op, fd) \
    decision_t d = decide(op, NULL, fd); \
    if (apply(&d)) \
        return -1

static int w_open(const char *path, int flags, mode_t mode)
{
    PATH_CALL(F_OPEN, path);
    return hf_vfs_default.open(path, flags, mode);
}
static int w_close(int fd)
{
    FD_CALL(F_CLOSE, fd);
    return hf_vfs_default.close(fd);
}
static ssize_t w_read(int fd, void *buf, size_t n)
{
    FD_CALL(F_READ, fd);
    return hf_vfs_default.read(fd, buf, shorten(&d, n));
}
static ssize_t w_write(int fd, const void *buf, size_t n)
{
    FD_CALL(F_WRITE, fd);
    return hf_vfs_default.write(fd, buf, shorten(&d, n));
}
static ssize_t w_writev(int fd, const struct iovec *iov, int cnt)
{
    FD_CALL(F_WRITEV, fd);
    if (d.fire && d.action == A_SHORT && cnt > 0 && iov[0].iov_len > 1) {
        /* Half of the first buffer: the caller must handle the rest. */
        struct iovec one = {iov[0].iov_base, iov[0].iov_len / 2};
        return hf_vfs_default.writev(fd, &one, 1);
    }
    return hf_vfs_default.writev(fd, iov, cnt);
}
static ssize_t w_pread(int fd, void *buf, size_t n, off_t off)
{
    FD_CALL(F_PREAD, fd);
    return hf_vfs_default.pread(fd, buf, shorten(&d, n), off);
}
static ssize_t w_pwrite(int fd, const void *buf, size_t n, off_t off)
{
    FD_CALL(F_PWRITE, fd);
    return hf_vfs_default.pwrite(fd, buf, shorten(&d, n), off);
}
static int w_fsync(int fd)
{
    FD_CALL(F_FSYNC, fd);
    return hf_vfs_default.fsync(fd);
}
static int w_fdatasync(int fd)
{
    FD_CALL(F_FDATASYNC, fd);
    return hf_vfs_default.fdatasync(fd);
}
static int w_ftruncate(int fd, off_t len)
{
    FD_CALL(F_FTRUNCATE, fd);
    return hf_vfs_default.ftruncate(fd, len);
}
static int w_fstat(int fd, struct stat *st)
{
    FD_CALL(F_FSTAT, fd);
    return hf_vfs_default.fstat(fd, st);
}
static int w_unlink(const char *path)
{
    PATH_CALL(F_UNLINK, path);
    return hf_vfs_default.unlink(path);
}
static int w_rename(const char *from, const char *to)
{
    PATH_CALL(F_RENAME, from);
    return hf_vfs_default.rename(from, to);
}
static int w_mkdir(const char *path, mode_t mode)
{
    PATH_CALL(F_MKDIR, path);
    return hf_vfs_default.mkdir(path, mode);
}
static int w_statvfs(const char *path, struct statvfs *st)
{
    PATH_CALL(F_STATVFS, path);
    return hf_vfs_default.statvfs(path, st);
}

static void install(void)
{
    hf_vfs.open = w_open;
    hf_vfs.close = w_close;
    hf_vfs.read = w_read;
    hf_vfs.write = w_write;
    hf_vfs.writev = w_writev;
    hf_vfs.pread = w_pread;
    hf_vfs.pwrite = w_pwrite;
    hf_vfs.fsync = w_fsync;
    hf_vfs.fdatasync = w_fdatasync;
    hf_vfs.ftruncate = w_ftruncate;
    hf_vfs.fstat = w_fstat;
    hf_vfs.unlink = w_unlink;
    hf_vfs.rename = w_rename;
    hf_vfs.mkdir = w_mkdir;
    hf_vfs.statvfs = w_statvfs;
}

/* ---- parsing ----------------------------------------------------------------- */

static int perr(char *err, size_t cap, const char *fmt, const char *what, size_t n)
{
    if (err && cap)
        snprintf(err, cap, fmt, (int)(n > 60 ? 60 : n), what);
    return HF_E_INVAL;
}

static bool parse_num(const char *p, size_t n, uint64_t max, uint64_t *out)
{
    uint64_t v;
    if (hf_parse_u64(p, n, &v) != HF_OK || v > max)
        return false;
    *out = v;
    return true;
}

static bool starts(const char *p, size_t n, const char *lit)
{
    size_t l = strlen(lit);
    return n >= l && memcmp(p, lit, l) == 0;
}

/* One rule: p[0..n). */
static int parse_rule(const char *p, size_t n, rule_t *r, char *err, size_t cap)
{
    memset(r, 0, sizeof *r);
    const char *colon = memchr(p, ':', n);
    if (!colon)
        return perr(err, cap, "fault rule '%.*s' has no ':' (expected op:action)", p, n);
    size_t ol = (size_t)(colon - p);
    r->op = -1;
    if (ol == 4 && memcmp(p, "sync", 4) == 0)
        r->op = F_SYNC;
    for (int i = 0; i < F_NOPS && r->op < 0; i++)
        if (strlen(op_names[i]) == ol && memcmp(p, op_names[i], ol) == 0)
            r->op = i;
    if (r->op < 0)
        return perr(err, cap, "unknown operation '%.*s' in a fault rule", p, ol);
    const char *a = colon + 1, *end = p + n;
    const char *slash = memchr(a, '/', (size_t)(end - a));
    const char *aend = slash ? slash : end;
    size_t al = (size_t)(aend - a);
    uint64_t v;
    if (starts(a, al, "error=")) {
        r->action = A_ERROR;
        r->err = 0;
        for (size_t i = 0; i < sizeof errnos / sizeof errnos[0]; i++)
            if (strlen(errnos[i].name) == al - 6 && memcmp(a + 6, errnos[i].name, al - 6) == 0)
                r->err = errnos[i].value;
        if (!r->err)
            return perr(err, cap, "unknown errno '%.*s' (use EIO, ENOSPC, EDQUOT, EROFS, ...)",
                        a + 6, al - 6);
    } else if (starts(a, al, "delay=")) {
        r->action = A_DELAY;
        if (!parse_num(a + 6, al - 6, 600000, &v))
            return perr(err, cap, "delay must be 0 to 600000 ms, not '%.*s'", a + 6, al - 6);
        r->delay_ms = (int)v;
    } else if (al == 4 && memcmp(a, "hang", 4) == 0) {
        r->action = A_HANG;
    } else if (al == 5 && memcmp(a, "short", 5) == 0) {
        if (r->op != F_READ && r->op != F_WRITE && r->op != F_WRITEV && r->op != F_PREAD &&
            r->op != F_PWRITE)
            return perr(err, cap, "'short' applies to read, write, writev, pread and pwrite, not '%.*s'",
                        p, ol);
        r->action = A_SHORT;
    } else {
        return perr(err, cap, "unknown fault action '%.*s' (error=E, delay=MS, hang, short)", a,
                    al);
    }
    while (slash) {
        const char *o = slash + 1;
        slash = memchr(o, '/', (size_t)(end - o));
        /* path= may itself contain '/': it takes the rest of the rule. */
        if (starts(o, (size_t)(end - o), "path=")) {
            size_t pl = (size_t)(end - o) - 5;
            if (pl == 0 || pl > PATH_MATCH_MAX)
                return perr(err, cap, "path= needs 1 to 128 characters ('%.*s')", o, (size_t)(end - o));
            memcpy(r->path, o + 5, pl);
            r->path[pl] = '\0';
            break;
        }
        const char *oend = slash ? slash : end;
        size_t len = (size_t)(oend - o);
        if (starts(o, len, "after=") && parse_num(o + 6, len - 6, UINT64_MAX / 2, &v))
            r->after = v;
        else if (starts(o, len, "count=") && parse_num(o + 6, len - 6, UINT64_MAX / 2, &v) && v > 0)
            r->count = v;
        else
            return perr(err, cap, "unknown fault option '%.*s' (path=TEXT, after=N, count=N)", o,
                        len);
    }
    return HF_OK;
}

/* Parse spec into out[]; *nout rules. */
static int parse_set(const char *spec, rule_t *parsed, int *nout, char *err, size_t errcap)
{
    int n = 0;
    const char *p = spec ? spec : "";
    size_t len = strlen(p);
    size_t i = 0;
    while (i < len) {
        size_t j = i;
        while (j < len && p[j] != ',')
            j++;
        /* Trim spaces so "a, b" works when typed by hand. */
        size_t s = i, e = j;
        while (s < e && (p[s] == ' ' || p[s] == '\n' || p[s] == '\t'))
            s++;
        while (e > s && (p[e - 1] == ' ' || p[e - 1] == '\n' || p[e - 1] == '\t'))
            e--;
        if (e > s) {
            if (n == HF_FAULT_RULES_MAX) {
                if (err && errcap)
                    snprintf(err, errcap, "at most %d fault rules", HF_FAULT_RULES_MAX);
                return HF_E_INVAL;
            }
            int rc = parse_rule(p + s, e - s, &parsed[n], err, errcap);
            if (rc)
                return rc;
            n++;
        }
        i = j + 1;
    }
    *nout = n;
    return HF_OK;
}

int hf_fault_check(const char *spec, char *err, size_t errcap)
{
    rule_t parsed[HF_FAULT_RULES_MAX];
    int n;
    return parse_set(spec, parsed, &n, err, errcap);
}

int hf_fault_set(const char *spec, char *err, size_t errcap)
{
    rule_t parsed[HF_FAULT_RULES_MAX];
    int n;
    int rc = parse_set(spec, parsed, &n, err, errcap);
    if (rc)
        return rc;
    if (n > 0)
        pthread_once(&install_once, install);
    pthread_rwlock_wrlock(&lock);
    for (int k = 0; k < n; k++) {
        rules[k] = parsed[k];
        atomic_store(&rules[k].seen, 0);
        atomic_store(&rules[k].fired, 0);
    }
    atomic_store_explicit(&nrules, n, memory_order_release);
    atomic_fetch_add(&generation, 1);
    pthread_rwlock_unlock(&lock);
    return HF_OK;
}

void hf_fault_clear(void)
{
    hf_fault_set("", NULL, 0);
}

size_t hf_fault_describe(char *out, size_t cap)
{
    size_t used = 0;
    char tmp[512];
    if (cap)
        out[0] = '\0';
    pthread_rwlock_rdlock(&lock);
    int n = atomic_load(&nrules);
    for (int i = 0; i < n; i++) {
        const rule_t *r = &rules[i];
        const char *op = r->op == F_SYNC ? "sync" : op_names[r->op];
        int k;
        switch (r->action) {
        case A_ERROR: k = snprintf(tmp, sizeof tmp, "%s:error=%s", op, errno_name(r->err)); break;
        case A_DELAY: k = snprintf(tmp, sizeof tmp, "%s:delay=%d", op, r->delay_ms); break;
        case A_HANG: k = snprintf(tmp, sizeof tmp, "%s:hang", op); break;
        default: k = snprintf(tmp, sizeof tmp, "%s:short", op); break;
        }
        if (r->after)
            k += snprintf(tmp + k, sizeof tmp - (size_t)k, "/after=%" PRIu64, r->after);
        if (r->count)
            k += snprintf(tmp + k, sizeof tmp - (size_t)k, "/count=%" PRIu64, r->count);
        if (r->path[0])
            k += snprintf(tmp + k, sizeof tmp - (size_t)k, "/path=%s", r->path);
        snprintf(tmp + k, sizeof tmp - (size_t)k, " (fired %" PRIu64 ")", atomic_load(&r->fired));
        int w = snprintf(used < cap ? out + used : NULL, used < cap ? cap - used : 0, "%s%s",
                         i ? "," : "", tmp);
        used += (size_t)w;
    }
    pthread_rwlock_unlock(&lock);
    return used;
}

uint64_t hf_fault_fired(void)
{
    return atomic_load(&fired_total);
}
