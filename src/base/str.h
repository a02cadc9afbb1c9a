/*
 * str.h -- byte-string helpers used across layers: hex, base64, the URI
 * encoding rules of SigV4, percent-decoding, constant-time comparison.
 *
 * All functions write into caller-provided memory and never allocate.
 * Threads: all are pure functions.
 */
#ifndef HF_BASE_STR_H
#define HF_BASE_STR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A byte string that is not NUL-terminated; borrowed from whoever owns p. */
typedef struct hf_str {
    const char *p;
    size_t n;
} hf_str_t;

#define HF_STR(lit) ((hf_str_t){(lit), sizeof(lit) - 1})

/* true if s equals the C string lit exactly. */
bool hf_str_eq(hf_str_t s, const char *lit);

/* Lower-case hex of n bytes into out (2n+1 bytes, NUL-terminated). */
void hf_hex_encode(char *out, const void *p, size_t n);
/* Decode 2n hex digits (either case) into n bytes; HF_E_INVAL on a bad digit. */
int hf_hex_decode(void *out, const char *hex, size_t n);

/* Standard base64 with padding. out needs hf_base64_len(n)+1 bytes;
 * returns the length written (NUL-terminated). */
size_t hf_base64_len(size_t n);
size_t hf_base64_encode(char *out, const void *p, size_t n);
/* Strict decode: padding required, no whitespace. Writes at most cap bytes;
 * returns the decoded length or HF_E_INVAL (bad input or too long). */
int hf_base64_decode(void *out, size_t cap, const char *s, size_t n);

/* SigV4 URI encoding: every byte except A-Z a-z 0-9 - _ . ~ becomes %XX
 * (upper-case hex); '/' is kept when keep_slash. Writes at most cap bytes
 * (including NUL); returns the length, or -1 if it does not fit. Output is
 * at most 3n bytes. */
long hf_uri_encode(char *out, size_t cap, const char *s, size_t n, bool keep_slash);

/* Percent-decode n bytes of s into out (at most n+1 bytes needed). '+' is
 * left as is (S3 paths and SigV4 query values use %20 for space; '+' in a
 * query value is a literal plus under SigV4's rules). Returns the decoded
 * length or HF_E_INVAL on a malformed %-sequence. The result may contain
 * any byte, including NUL: callers that need text must check. */
long hf_uri_decode(char *out, const char *s, size_t n);

/* true if the n bytes at s are well-formed UTF-8 (no overlongs, no
 * surrogates, nothing above U+10FFFF). */
bool hf_utf8_valid(const char *s, size_t n);

/* Compare n bytes in time independent of their contents: true if equal. */
bool hf_ct_equal(const void *a, const void *b, size_t n);

/* ASCII case-insensitive equality of a (length n) with the C string b. */
bool hf_strn_ieq(const char *a, size_t n, const char *b);

/* Parse an unsigned decimal of at most 19 digits, with nothing else in the
 * n bytes. HF_E_INVAL on anything else. */
int hf_parse_u64(const char *s, size_t n, uint64_t *out);

/* "12.3 GiB": v bytes in binary units for people (status page, CLI).
 * Returns out. */
const char *hf_str_bytes(char *out, size_t n, double v);

#endif /* HF_BASE_STR_H */
