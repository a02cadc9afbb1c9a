/*
 * fuzz_awschunked.c -- the aws-chunked decoder (auth/chunked.c) in all
 * three STREAMING modes, with a fixed signing chain.
 *
 * Properties: memory safety; split-invariance (whole input vs. pieces of
 * sizes taken from the input, into small output buffers: same bytes, same
 * outcome); no output beyond the input consumed; trailers only when done.
 */
#include "auth/chunked.h"
#include "base/err.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static unsigned char out1[1 << 16], out2[1 << 16];

static void auth_for(hf_sigv4_t *a)
{
    memset(a, 0, sizeof *a);
    a->kind = HF_AUTH_HEADER;
    memcpy(a->amz_date, "20130524T000000Z", 17);
    strcpy(a->scope, "20130524/us-east-1/s3/aws4_request");
    hf_sigv4_signing_key("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "20130524", "us-east-1", "s3",
                         a->signing_key);
    for (int i = 0; i < HF_SHA256_LEN; i++)
        a->signature[i] = (unsigned char)(i * 7);
}

static int run(enum hf_payload_mode mode, const char *in, size_t n, size_t piece, size_t outcap,
               unsigned char *out, size_t *outn, int *done)
{
    hf_sigv4_t a;
    auth_for(&a);
    hf_awschunked_t *d = malloc(sizeof *d);
    if (!d || hf_awschunked_init(d, mode, &a) != HF_OK)
        abort();
    size_t pos = 0, o = 0;
    int rc = HF_OK;
    for (int guard = 0; guard < 1 << 20 && !hf_awschunked_done(d); guard++) {
        size_t avail = n - pos < piece ? n - pos : piece;
        size_t room = sizeof out1 - o < outcap ? sizeof out1 - o : outcap;
        if (avail == 0 || room == 0)
            break;
        size_t k = 0, m = 0;
        rc = hf_awschunked_decode(d, in + pos, avail, &k, (char *)out + o, room, &m);
        if (k > avail || m > room)
            abort();
        if (rc != HF_OK)
            break;
        if (k == 0 && m == 0 && !hf_awschunked_done(d))
            abort();
        pos += k;
        o += m;
    }
    if (rc == HF_OK && pos == n)
        rc = hf_awschunked_finish(d);
    if (rc == HF_OK && hf_awschunked_done(d))
        (void)hf_awschunked_trailer(d, "x-amz-checksum-crc32");
    *outn = o;
    *done = hf_awschunked_done(d);
    hf_awschunked_free(d);
    free(d);
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 3)
        return 0;
    static const enum hf_payload_mode modes[] = {HF_PAYLOAD_STREAMING_SIGNED,
                                                 HF_PAYLOAD_STREAMING_SIGNED_TRAILER,
                                                 HF_PAYLOAD_STREAMING_UNSIGNED_TRAILER};
    enum hf_payload_mode mode = modes[data[0] % 3];
    size_t piece = (size_t)data[1] % 17 + 1, outcap = (size_t)data[2] % 9 + 1;
    const char *in = (const char *)data + 3;
    size_t n = size - 3, o1, o2;
    int d1, d2;
    int r1 = run(mode, in, n, n ? n : 1, sizeof out1, out1, &o1, &d1);
    if (o1 == sizeof out1)
        return 0;
    int r2 = run(mode, in, n, piece, outcap, out2, &o2, &d2);
    if (r1 != r2 || d1 != d2 || (r1 == HF_OK && (o1 != o2 || memcmp(out1, out2, o1) != 0)))
        abort();
    return 0;
}
