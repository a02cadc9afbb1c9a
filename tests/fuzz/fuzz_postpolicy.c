/*
 * fuzz_postpolicy.c -- POST Object policies (access/postpolicy.c).
 *
 * The input is the policy as JSON (the harness base64-encodes it, so the
 * fuzzer works on the document rather than on base64), optionally followed
 * by a NUL byte, the file's size in decimal on the first line, and form
 * fields "name=value", one per line. Properties: memory safety; parse
 * answers HF_OK with a policy or HF_E_INVAL with an "Invalid Policy: "
 * message and none; the verdict is one of the codes, with a message when it
 * is a failure; the size bounds agree with the size check; checking the
 * fields without a size and then the size alone agrees with checking both
 * at once.
 */
#include "access/postpolicy.h"
#include "base/err.h"
#include "base/str.h"

#include "split.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MAXFIELDS 16

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char buf[4096];
    size_t plen;
    fuzz_split(data, size, &plen, buf, sizeof buf);
    if (plen > 16 * 1024)
        return 0;
    char *b64 = malloc(hf_base64_len(plen) + 1);
    if (!b64)
        return 0;
    size_t bn = hf_base64_encode(b64, data, plen);

    char msg[512];
    hf_postpolicy_t *p = (hf_postpolicy_t *)1;
    int rc = hf_postpolicy_parse(b64, bn, &p, msg, sizeof msg);
    free(b64);
    if (rc != HF_OK) {
        if (p || (rc != HF_E_INVAL && rc != -ENOMEM) || !memchr(msg, 0, sizeof msg))
            abort();
        if (rc == HF_E_INVAL && strncmp(msg, "Invalid Policy: ", 16) != 0)
            abort();
        return 0;
    }
    if (!p)
        abort();

    hf_postpolicy_field_t f[MAXFIELDS];
    size_t nf = 0;
    int64_t length = -1;
    char *s = buf;
    for (int i = 0; s && nf < MAXFIELDS; i++) {
        char *e = strchr(s, '\n');
        if (e)
            *e++ = '\0';
        if (i == 0) {
            uint64_t v;
            if (hf_parse_u64(s, strlen(s), &v) == HF_OK && v < (1ULL << 62))
                length = (int64_t)v;
        } else {
            char *eq = strchr(s, '=');
            if (eq) {
                *eq = '\0';
                f[nf++] = (hf_postpolicy_field_t){s, eq + 1, strlen(eq + 1)};
            }
        }
        s = e;
    }

    int64_t now = 1893456000LL * 1000000000;
    hf_postpolicy_code_t all = hf_postpolicy_check(p, "photos", f, nf, length, now, msg, sizeof msg);
    if (all != HF_POSTPOLICY_OK && (!memchr(msg, 0, sizeof msg) || !msg[0]))
        abort();
    if ((unsigned)all > HF_POSTPOLICY_TOO_SMALL)
        abort();

    uint64_t min, max;
    bool possible = hf_postpolicy_length_bounds(p, &min, &max);
    if (length >= 0) {
        hf_postpolicy_code_t len = hf_postpolicy_check_length(p, (uint64_t)length, msg, sizeof msg);
        bool inside = possible && (uint64_t)length >= min && (uint64_t)length <= max;
        if ((len == HF_POSTPOLICY_OK) != inside)
            abort();
        /* Fields first, size later: the same verdict when both pass. */
        hf_postpolicy_code_t fields = hf_postpolicy_check(p, "photos", f, nf, -1, now, msg, sizeof msg);
        if ((all == HF_POSTPOLICY_OK) != (fields == HF_POSTPOLICY_OK && len == HF_POSTPOLICY_OK))
            abort();
    }
    hf_postpolicy_free(p);
    return 0;
}
