/*
 * fuzz_sigv2.c -- Signature Version 2 parsing and canonicalisation
 * (auth/sigv2.c): the Authorization header, presigned queries, the string
 * to sign, and POST policy signatures.
 *
 * The input is a request in lines: method, path, query, the virtual-hosted
 * bucket (empty for path style), then header lines "name:value". Detect
 * and parse it; when it parses, verify it with a fixed secret at the
 * request's own time (so the string to sign and the HMAC are computed),
 * then check the property that matters: the signature this implementation
 * computes over the request's own string to sign verifies, and any other
 * one does not.
 */
#include "auth/sigv2.h"
#include "base/buf.h"
#include "base/err.h"

#include "request.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MAXH 40

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    hf_str_t part[4] = {{"", 0}, {"", 0}, {"", 0}, {"", 0}};
    hf_http_header_t h[MAXH + 1];
    int nh = fuzz_request(data, size, part, 4, h, MAXH);
    hf_sigv4_input_t in = {part[0], part[1], part[2], h, nh};
    char bucket[64] = "";
    const char *vb = NULL;
    if (part[3].n && part[3].n < sizeof bucket && !memchr(part[3].p, '\0', part[3].n)) {
        memcpy(bucket, part[3].p, part[3].n);
        vb = bucket;
    }
    static const char secret[] = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

    /* A POST policy signature over the whole input. */
    char sig[HF_SIGV2_SIG_LEN + 1];
    hf_sigv2_sign(secret, data, size, sig);
    if (!hf_sigv2_policy_ok(secret, (const char *)data, size, sig, strlen(sig)))
        abort();

    if (!hf_sigv2_present(&in))
        return 0;
    hf_sigv2_t a;
    char msg[512];
    int st = hf_sigv2_parse(&in, &a, msg, sizeof msg);
    if (!memchr(msg, 0, sizeof msg))
        abort();
    if (st != HF_AUTH_OK)
        return 0;
    if (a.kind != HF_AUTH_V2_HEADER && a.kind != HF_AUTH_V2_QUERY)
        abort();
    int64_t now = a.kind == HF_AUTH_V2_HEADER ? a.request_time : a.expires;
    hf_buf_t sts;
    hf_buf_init(&sts, 1 << 20);
    st = hf_sigv2_verify(&in, vb, &a, secret, now, &sts, msg, sizeof msg);
    if (st == HF_AUTH_OK || st == HF_AUTH_ERR_SIGNATURE) {
        /* Sign what was canonicalised: that must verify, and flipping one
         * character of it must not. */
        if (st == HF_AUTH_ERR_SIGNATURE && sts.len == 0)
            goto out; /* could not canonicalise (malformed %-escape) */
        hf_sigv2_sign(secret, sts.data ? sts.data : "", sts.len, sig);
        memcpy(a.signature, sig, sizeof sig);
        a.sig_len = HF_SIGV2_SIG_LEN;
        if (hf_sigv2_verify(&in, vb, &a, secret, now, NULL, msg, sizeof msg) != HF_AUTH_OK)
            abort();
        a.signature[0] = a.signature[0] == 'A' ? 'B' : 'A';
        if (hf_sigv2_verify(&in, vb, &a, secret, now, NULL, msg, sizeof msg) != HF_AUTH_ERR_SIGNATURE)
            abort();
    }
out:
    hf_buf_free(&sts);
    return 0;
}
