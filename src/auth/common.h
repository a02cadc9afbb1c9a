/*
 * common.h -- what the signature modules of src/auth share: reading headers
 * and query parameters out of a request (hf_sigv4_input_t, the request parts
 * both signature versions cover), bounded error messages, and the small
 * character tests their parsers need. Internal to src/auth.
 *
 * Ownership: nothing allocates; hf_str_t results borrow from the request.
 * Threads: pure functions.
 */
#ifndef HF_AUTH_COMMON_H
#define HF_AUTH_COMMON_H

#include "auth/sigv4.h"
#include "base/str.h"

#include <stdbool.h>
#include <stddef.h>

/* Write a printf message to msg (NUL-terminated, truncated to cap; msg may
 * be NULL) and return st: `return hf_auth_fail(msg, cap, STATUS, ...)`. */
int hf_auth_fail(char *msg, size_t cap, int st, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* A printable copy of n untrusted bytes for an error message: at most cap-1
 * characters, others as '?', "..." when cut. Returns tmp. */
const char *hf_auth_show(char *tmp, size_t cap, const char *s, size_t n);

/* SP or HTAB. */
bool hf_auth_is_ws(char c);
/* No byte is a control, a space, DEL or above 0x7e. */
bool hf_auth_visible(const char *s, size_t n);
/* ASCII lower case of c. */
char hf_auth_lower(char c);
/* a equals b (bn bytes), ASCII case-insensitively. */
bool hf_auth_ieq(hf_str_t a, const char *b, size_t bn);
/* a starts with pre, which is lower case; a's case is ignored. */
bool hf_auth_iprefix(hf_str_t a, const char *pre);
/* Bytewise order of two byte strings (strcmp's order). */
int hf_auth_name_cmp(const char *a, size_t an, const char *b, size_t bn);

/* How many headers are called name (case-insensitive); *value (may be
 * NULL) gets the first one's value. */
int hf_auth_find_header(const hf_sigv4_input_t *in, const char *name, hf_str_t *value);

/* Iterate over the '&'-separated parameters of a raw query: false at the
 * end. Empty segments ("a=1&&b=2") are skipped; a parameter without '='
 * has an empty value and *has_eq false. name and value stay %-encoded. */
bool hf_auth_next_param(hf_str_t *rest, hf_str_t *name, hf_str_t *value, bool *has_eq);
/* The raw (%-encoded) parameter name decodes to want exactly. */
bool hf_auth_qname_is(hf_str_t raw, const char *want);
/* How many parameters of the raw query are called name (after decoding);
 * *value gets the first one's raw value. */
int hf_auth_find_param(hf_str_t query, const char *name, hf_str_t *value);
/* Percent-decode a raw query value into out (cap bytes). The length; -1 on
 * a malformed escape or a decoded NUL; -2 if it does not fit. */
long hf_auth_qdecode(hf_str_t raw, char *out, size_t cap);

#endif /* HF_AUTH_COMMON_H */
