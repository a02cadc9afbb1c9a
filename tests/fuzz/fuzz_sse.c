/*
 * fuzz_sse.c -- the server-side encryption parsers (src/sse): the master
 * key file (hf_keyring_parse) and the encryption descriptor an object
 * record carries (hf_sse_decode).
 *
 * Input: the bytes, read both ways.
 *
 * Properties: memory safety; a key file that parses has 1..cap keys with
 * increasing ids, and one that does not leaves no keys and no key bytes
 * behind; a descriptor that decodes encodes back to exactly its input.
 */
#include "base/err.h"
#include "sse/keyring.h"
#include "sse/sse.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define CAP 8

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint32_t ids[CAP];
    uint8_t keys[CAP][HF_KEYRING_KEY_LEN];
    size_t n = 99;
    char why[200];
    memset(keys, 0x5a, sizeof keys);
    int rc = hf_keyring_parse((const char *)data, size, ids, keys, CAP, &n, why, sizeof why);
    if (rc == HF_OK) {
        if (n < 1 || n > CAP)
            abort();
        for (size_t i = 1; i < n; i++)
            if (ids[i] <= ids[i - 1] || ids[i - 1] == 0)
                abort();
    } else {
        if (n != 0 || (rc != HF_E_INVAL && rc != HF_E_TOOBIG) || !why[0])
            abort();
    }

    hf_sse_desc_t d;
    if (hf_sse_decode(data, size, &d) == HF_OK) {
        uint8_t out[HF_SSE_DESC_MAX];
        size_t len;
        hf_sse_encode(&d, out, &len);
        if (len != size || memcmp(out, data, size) != 0)
            abort();
    }
    return 0;
}
