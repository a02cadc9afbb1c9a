/*
 * time.h -- clocks and the date formats S3 speaks.
 *
 * Wall-clock time is int64 nanoseconds since the Unix epoch (hf_time_now).
 * Deadlines use the monotonic clock in milliseconds (hf_mono_ms), which
 * never jumps when the wall clock is adjusted.
 * Threads: all functions are thread-safe and allocate nothing.
 */
#ifndef HF_BASE_TIME_H
#define HF_BASE_TIME_H

#include <stddef.h>
#include <stdint.h>

int64_t hf_time_now(void);  /* ns since epoch, CLOCK_REALTIME */
int64_t hf_mono_ms(void);   /* ms, CLOCK_MONOTONIC */
int64_t hf_mono_us(void);   /* us, CLOCK_MONOTONIC (latency measurements) */

/* "Tue, 15 Nov 1994 08:12:31 GMT" (IMF-fixdate, RFC 9110). out >= 30 bytes. */
void hf_time_http(char *out, int64_t ns);
/* "2006-01-02T15:04:05.000Z" (S3 listings). out >= 25 bytes. */
void hf_time_iso8601(char *out, int64_t ns);
/* "20130524T000000Z" (SigV4 x-amz-date). out >= 17 bytes. */
void hf_time_amz(char *out, int64_t ns);

/* Parse x-amz-date's basic form "YYYYMMDDTHHMMSSZ" into seconds since the
 * epoch. HF_E_INVAL on anything else (including impossible dates). */
int hf_time_parse_amz(const char *s, size_t n, int64_t *secs);

/* Parse an HTTP date: IMF-fixdate, and the obsolete RFC 850 and asctime
 * forms recipients must accept (RFC 9110 5.6.7). Seconds since epoch. */
int hf_time_parse_http(const char *s, size_t n, int64_t *secs);

/* Parse ISO 8601 "YYYY-MM-DDTHH:MM:SS[.fff]Z" into seconds. */
int hf_time_parse_iso8601(const char *s, size_t n, int64_t *secs);

#endif /* HF_BASE_TIME_H */
