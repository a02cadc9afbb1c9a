/* log.c -- logfmt lines to stderr, the access log, and the ring of recent
 * errors; see log.h. */
#include "base/log.h"

#include "base/err.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

static atomic_int g_level = HF_LOG_INFO;
static const char *const names[] = {"error", "warn", "info", "debug"};

/* Access log: -1 = no access log, STDERR_FILENO = with the event log,
 * anything else = a file of its own. */
static atomic_int g_access_fd = STDERR_FILENO;

typedef struct ring_ent {
    _Atomic uint64_t seq; /* odd while being written */
    atomic_flag busy;     /* two writers landing on one entry take turns */
    int64_t time_ns;
    int level;
    char line[HF_LOG_RECENT_LINE];
} ring_ent_t;

static ring_ent_t g_ring[HF_LOG_RECENT];
static _Atomic uint64_t g_ring_next;

void hf_log_set_level(int level)
{
    atomic_store(&g_level, level);
}

int hf_log_parse_level(const char *s)
{
    for (int i = 0; i < 4; i++)
        if (strcasecmp(s, names[i]) == 0)
            return i;
    return -1;
}

int hf_log_enabled(int level)
{
    return level <= atomic_load(&g_level);
}

static void remember(int level, int64_t ns, const char *text, size_t n)
{
    uint64_t k = atomic_fetch_add(&g_ring_next, 1);
    ring_ent_t *e = &g_ring[k % HF_LOG_RECENT];
    while (atomic_flag_test_and_set_explicit(&e->busy, memory_order_acquire))
        ;
    atomic_fetch_add_explicit(&e->seq, 1, memory_order_acq_rel); /* odd: writing */
    e->time_ns = ns;
    e->level = level;
    if (n >= sizeof e->line)
        n = sizeof e->line - 1;
    memcpy(e->line, text, n);
    e->line[n] = '\0';
    atomic_fetch_add_explicit(&e->seq, 1, memory_order_release); /* even: done */
    atomic_flag_clear_explicit(&e->busy, memory_order_release);
}

/* Format one line into line[cap] and return its length (with '\n'); *body
 * gets the offset of the text after the prefix. */
static size_t format(char *line, size_t cap, int level, int64_t *ns, size_t *body,
                     const char *fmt, va_list ap)
{
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    *ns = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
    gmtime_r(&ts.tv_sec, &tm);
    int n = snprintf(line, cap, "time=%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ level=%s ",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                     tm.tm_sec, ts.tv_nsec / 1000000, names[level < 0 ? 0 : level > 3 ? 3 : level]);
    *body = (size_t)n;
    int m = vsnprintf(line + n, cap - (size_t)n - 1, fmt, ap);
    size_t len = (size_t)n + (m < 0 ? 0 : (size_t)m);
    if (len > cap - 2)
        len = cap - 2;
    line[len++] = '\n';
    return len;
}

static void out(int fd, const char *line, size_t len)
{
    ssize_t w = write(fd, line, len);
    (void)w; /* nowhere to report a failed log write */
}

/* Write one line to fd (if >= 0), and to stderr as well when it is a warn
 * or error line and fd is elsewhere; keep warn and error lines in the ring. */
static void emit(int fd, int level, const char *fmt, va_list ap)
{
    char line[2048];
    int64_t ns;
    size_t body;
    size_t len = format(line, sizeof line, level, &ns, &body, fmt, ap);
    if (fd >= 0 && hf_log_enabled(level))
        out(fd, line, len);
    if (level <= HF_LOG_WARN) {
        if (fd != STDERR_FILENO && hf_log_enabled(level))
            out(STDERR_FILENO, line, len);
        remember(level, ns, line + body, len - body - 1);
    }
}

void hf_log(int level, const char *fmt, ...)
{
    if (!hf_log_enabled(level))
        return;
    va_list ap;
    va_start(ap, fmt);
    emit(STDERR_FILENO, level, fmt, ap);
    va_end(ap);
}

int hf_log_access_open(const char *dest)
{
    int fd;
    if (!dest || !*dest || strcmp(dest, "-") == 0)
        fd = STDERR_FILENO;
    else if (strcmp(dest, "off") == 0)
        fd = -1;
    else {
        /* A log file, not data: it is not fsynced and not part of the
         * syscall seam's disk faults (a drill must not lose the log). */
        fd = open(dest, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
        if (fd < 0)
            return -errno;
    }
    int old = atomic_exchange(&g_access_fd, fd);
    if (old > STDERR_FILENO)
        close(old);
    return HF_OK;
}

void hf_log_access_close(void)
{
    int old = atomic_exchange(&g_access_fd, STDERR_FILENO);
    if (old > STDERR_FILENO)
        close(old);
}

int hf_log_access_enabled(int level)
{
    if (level <= HF_LOG_WARN)
        return 1; /* always kept in the ring, and on stderr when enabled */
    return atomic_load(&g_access_fd) >= 0 && hf_log_enabled(level);
}

void hf_log_access(int level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    emit(atomic_load(&g_access_fd), level, fmt, ap);
    va_end(ap);
}

size_t hf_log_recent(hf_log_recent_t *outv, size_t cap)
{
    uint64_t next = atomic_load(&g_ring_next);
    size_t n = 0;
    for (uint64_t i = 0; i < HF_LOG_RECENT && i < next && n < cap; i++) {
        ring_ent_t *e = &g_ring[(next - 1 - i) % HF_LOG_RECENT];
        uint64_t s1 = atomic_load_explicit(&e->seq, memory_order_acquire);
        if (s1 & 1)
            continue; /* being rewritten right now: skip it */
        hf_log_recent_t *o = &outv[n];
        o->time_ns = e->time_ns;
        o->level = e->level;
        memcpy(o->line, e->line, sizeof o->line);
        o->line[sizeof o->line - 1] = '\0';
        atomic_thread_fence(memory_order_acquire);
        if (atomic_load_explicit(&e->seq, memory_order_relaxed) != s1 || s1 == 0)
            continue;
        n++;
    }
    return n;
}

uint64_t hf_log_errors_total(void)
{
    return atomic_load(&g_ring_next);
}

char *hf_log_quote(char *outp, unsigned n, const char *s)
{
    unsigned o = 0;
    if (n < 6) {
        if (n)
            outp[0] = '\0';
        return outp;
    }
    outp[o++] = '"';
    for (; s && *s; s++) {
        unsigned char c = (unsigned char)*s;
        char esc[5];
        unsigned k;
        if (c == '"' || c == '\\') {
            esc[0] = '\\';
            esc[1] = (char)c;
            k = 2;
        } else if (c < 0x20 || c == 0x7f) {
            snprintf(esc, sizeof esc, "\\x%02x", c);
            k = 4;
        } else {
            esc[0] = (char)c;
            k = 1;
        }
        if (o + k + 5 > n) { /* room for ...", NUL */
            memcpy(outp + o, "...", 3);
            o += 3;
            break;
        }
        memcpy(outp + o, esc, k);
        o += k;
    }
    outp[o++] = '"';
    outp[o] = '\0';
    return outp;
}
