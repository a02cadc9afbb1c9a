/*
 * request.h -- for harnesses whose input is a request in lines (fuzz_sigv4,
 * fuzz_sigv2): nparts fixed lines (method, path, query, ...), then header
 * lines "name:value" (lines without ':' are skipped).
 */
#ifndef HF_FUZZ_REQUEST_H
#define HF_FUZZ_REQUEST_H

#include "base/str.h"
#include "net/http.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Split data into part[0..nparts) (missing ones stay as the caller set
 * them) and at most maxh headers into h; returns the header count. All
 * borrow from data. */
static inline int fuzz_request(const uint8_t *data, size_t size, hf_str_t *part, int nparts,
                               hf_http_header_t *h, int maxh)
{
    const char *p = (const char *)data, *end = p + size;
    int nh = 0;
    for (int i = 0; p <= end; i++) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *e = nl ? nl : end;
        if (i < nparts) {
            part[i] = (hf_str_t){p, (size_t)(e - p)};
        } else if (nh < maxh) {
            const char *c = memchr(p, ':', (size_t)(e - p));
            if (c) {
                h[nh].name = (hf_str_t){p, (size_t)(c - p)};
                h[nh].value = (hf_str_t){c + 1, (size_t)(e - c - 1)};
                nh++;
            }
        }
        if (!nl)
            break;
        p = nl + 1;
    }
    return nh;
}

#endif
