/*
 * fuzz_chunked.c -- the Transfer-Encoding: chunked decoder (net/http.c).
 *
 * Properties: memory safety; split-invariance (the same input fed whole
 * into a large buffer, or in pieces whose sizes come from the input into
 * small buffers, gives the same bytes, the same end and the same error);
 * the decoder never produces more than it consumed and stops consuming at
 * the end of the body.
 */
#include "base/err.h"
#include "net/http.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static unsigned char out1[1 << 16], out2[1 << 16];

static int run(const char *in, size_t n, size_t piece, size_t outcap, unsigned char *out,
               size_t *outn, size_t *used, int *done)
{
    hf_http_chunked_t c;
    hf_http_chunked_init(&c);
    size_t pos = 0, o = 0;
    int rc = HF_OK;
    for (int guard = 0; guard < 1 << 20; guard++) {
        if (hf_http_chunked_done(&c))
            break;
        size_t avail = n - pos < piece ? n - pos : piece;
        size_t room = sizeof out1 - o < outcap ? sizeof out1 - o : outcap;
        if (avail == 0 || room == 0)
            break;
        size_t k = 0, m = 0;
        rc = hf_http_chunked_decode(&c, in + pos, avail, &k, (char *)out + o, room, &m);
        if (k > avail || m > room)
            abort();
        if (rc != HF_OK)
            break;
        if (k == 0 && m == 0 && !hf_http_chunked_done(&c))
            abort(); /* no progress although input and room were there */
        pos += k;
        o += m;
    }
    *outn = o;
    *used = pos;
    *done = hf_http_chunked_done(&c);
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    size_t piece = (size_t)data[0] % 13 + 1, outcap = (size_t)data[1] % 7 + 1;
    const char *in = (const char *)data + 2;
    size_t n = size - 2;
    size_t o1, o2, u1, u2;
    int d1, d2;
    int r1 = run(in, n, n ? n : 1, sizeof out1, out1, &o1, &u1, &d1);
    if (o1 == sizeof out1)
        return 0; /* more output than we compare: fine, not a finding */
    int r2 = run(in, n, piece, outcap, out2, &o2, &u2, &d2);
    if (r1 != r2 || d1 != d2)
        abort();
    if (r1 == HF_OK && (o1 != o2 || memcmp(out1, out2, o1) != 0 || u1 != u2))
        abort();
    if (o1 > u1)
        abort();
    return 0;
}
