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

#define hf_log_error(...) hf_log(HF_LOG_ERROR, __VA_ARGS__)
#define hf_log_warn(...) hf_log(HF_LOG_WARN, __VA_ARGS__)
#define hf_log_info(...) hf_log(HF_LOG_INFO, __VA_ARGS__)
#define hf_log_debug(...) do { if (hf_log_enabled(HF_LOG_DEBUG)) hf_log(HF_LOG_DEBUG, __VA_ARGS__); } while (0)

#endif /* HF_BASE_LOG_H */
