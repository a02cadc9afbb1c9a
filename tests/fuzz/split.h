/*
 * split.h -- for harnesses whose input is a document, a NUL byte, then
 * text lines about what to do with it (fuzz_policy, fuzz_postpolicy).
 */
#ifndef HF_FUZZ_SPLIT_H
#define HF_FUZZ_SPLIT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* The bytes after the first NUL of data[0..size), as a NUL-terminated
 * string in buf (cap bytes, cut short if longer); *doclen is the length
 * of the part before the NUL (all of it if there is none). */
static inline char *fuzz_split(const uint8_t *data, size_t size, size_t *doclen, char *buf, size_t cap)
{
    const uint8_t *nul = memchr(data, 0, size);
    *doclen = nul ? (size_t)(nul - data) : size;
    size_t rn = nul ? size - *doclen - 1 : 0;
    if (rn >= cap)
        rn = cap - 1;
    if (rn)
        memcpy(buf, nul + 1, rn);
    buf[rn] = '\0';
    return buf;
}

#endif
