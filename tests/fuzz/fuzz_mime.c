/*
 * fuzz_mime.c -- RFC 2047 header values (base/mime.c), as user metadata
 * arrives in x-amz-meta-* headers.
 *
 * Properties: memory safety; the decoded text fits the documented bound
 * (2n+1), is UTF-8 without NUL and is never longer than the bound allows;
 * too small a buffer fails cleanly instead of overflowing; encoding the
 * text and decoding that again gives the text back -- except for text that
 * is itself US-ASCII in the encoded form, which S3's rule sends as is.
 */
#include "base/mime.h"
#include "base/str.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096)
        return 0;
    const char *v = (const char *)data;
    size_t cap = 2 * size + 1;
    char *out = malloc(cap), *enc = malloc(hf_mime_header_encode_len(cap)), *back = malloc(2 * cap + 1);
    if (!out || !enc || !back)
        abort();
    long n = hf_mime_header_decode(v, size, out, cap);
    if (n < 0) {
        if (!memchr(v, '\0', size))
            abort(); /* 2n+1 always fits: only a NUL may fail */
        goto done;
    }
    if ((size_t)n >= cap || out[n] != '\0' || memchr(out, '\0', (size_t)n) ||
        !hf_utf8_valid(out, (size_t)n))
        abort();
    /* a buffer one byte short of the result fails, it does not overflow */
    if (n > 0 && hf_mime_header_decode(v, size, back, (size_t)n) != -1)
        abort();
    if (n >= 2 && out[0] == '=' && out[1] == '?')
        goto done;
    long e = hf_mime_header_encode(out, (size_t)n, enc, hf_mime_header_encode_len((size_t)n));
    if (e < 0)
        abort();
    long b = hf_mime_header_decode(enc, (size_t)e, back, 2 * cap + 1);
    if (b != n || memcmp(back, out, (size_t)n) != 0)
        abort();
done:
    free(out);
    free(enc);
    free(back);
    return 0;
}
