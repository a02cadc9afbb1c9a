/*
 * log.h -- one line per event, logfmt, to stderr.
 *
 *   time=2026-11-22T10:00:00.123Z level=warn msg="chunk checksum mismatch" chunk=... 
 *
 * Each line is written with a single write(2), so lines from different
 * threads never interleave. Secrets are never passed to the logger.
 * Threads: all functions are thread-safe.
 */
#ifndef HF_BASE_LOG_H
#define HF_BASE_LOG_H

#include <stddef.h>
#include <stdint.h>

enum { HF_LOG_ERROR = 0, HF_LOG_WARN = 1, HF_LOG_INFO = 2, HF_LOG_DEBUG = 3 };

/* Set the most verbose level written (default HF_LOG_INFO). */
void hf_log_set_level(int level);
/* Parse "error|warn|info|debug"; returns the level or -1. */
int hf_log_parse_level(const char *s);
int hf_log_enabled(int level);

/* Write one line. fmt is the rest of the line after time and level, in
 * logfmt ("msg=\"...\" key=value ..."); use hf_log_quote for values that
 * may contain spaces or quotes. */
void hf_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Quote s for a logfmt value into out (size n): always quoted, with \" \\
 * and control bytes escaped; truncated with "..." to fit. Returns out. */
char *hf_log_quote(char *out, unsigned n, const char *s);

/* ---- the access log ------------------------------------------------------
 * One line per request (written by the S3 layer), in the same logfmt with
 * the same time= and level= prefix, to stderr with the other lines
 * (default), to a file, or nowhere. */

/* dest: NULL, "" or "-": stderr; "off": no access log; otherwise a file
 * path, opened for appending (created 0640). Call before serving. Returns
 * HF_OK or a negative errno (the previous destination stays). */
int hf_log_access_open(const char *dest);
/* Close an access-log file (back to stderr). */
void hf_log_access_close(void);
/* Whether an access line at this level would be written anywhere. */
int hf_log_access_enabled(int level);
/* Write one access-log line. A line at warn or error also goes to stderr
 * when the access log is a file, and into the recent-errors ring. */
void hf_log_access(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- recent errors --------------------------------------------------------
 * The last HF_LOG_RECENT lines logged at warn or error, kept in memory for
 * the status page. Written and read without a lock (a sequence number per
 * entry), so a reader never waits for a writer. */
#define HF_LOG_RECENT 32
#define HF_LOG_RECENT_LINE 400

typedef struct hf_log_recent {
    int64_t time_ns; /* wall clock */
    int level;
    char line[HF_LOG_RECENT_LINE]; /* the line after time= and level= */
} hf_log_recent_t;

/* Copy up to cap recent entries, newest first. Returns how many. */
size_t hf_log_recent(hf_log_recent_t *out, size_t cap);
/* Warn and error lines logged since start. */
uint64_t hf_log_errors_total(void);

#define hf_log_error(...) hf_log(HF_LOG_ERROR, __VA_ARGS__)
#define hf_log_warn(...) hf_log(HF_LOG_WARN, __VA_ARGS__)
#define hf_log_info(...) hf_log(HF_LOG_INFO, __VA_ARGS__)
#define hf_log_debug(...) do { if (hf_log_enabled(HF_LOG_DEBUG)) hf_log(HF_LOG_DEBUG, __VA_ARGS__); } while (0)

#endif /* HF_BASE_LOG_H */
