/*
 * req.h -- requests for the auth unit tests: header lists as name/value
 * pairs, made into the hf_sigv4_input_t both signature modules read.
 */
#ifndef HF_TEST_AUTH_REQ_H
#define HF_TEST_AUTH_REQ_H

#include "auth/sigv4.h"
#include "base/str.h"

#include <string.h>

typedef struct {
    const char *name, *value;
} kv_t;

static inline hf_str_t S(const char *s)
{
    return (hf_str_t){s, strlen(s)};
}

/* A request over caller storage arr (one slot per header of h, which ends
 * with {NULL, NULL}; h may be NULL). Everything borrows from the args. */
static inline hf_sigv4_input_t mkreq(hf_http_header_t *arr, const char *method, const char *path,
                                     const char *query, const kv_t *h)
{
    int n = 0;
    for (; h && h[n].name; n++)
        arr[n] = (hf_http_header_t){S(h[n].name), S(h[n].value)};
    return (hf_sigv4_input_t){S(method), S(path), S(query), arr, n};
}

#endif
