/*
 * fuzz_layout.c -- the layout decoder (cluster/layout.c): what every node
 * runs on a value read from etcd or from its own disk.
 *
 * Properties: memory safety; a layout that decodes passes hf_layout_check
 * (no node serves one that breaks a rule: invariant 3), re-encodes, and
 * the re-encoding decodes to the same bytes again.
 */
#include "base/buf.h"
#include "base/err.h"
#include "cluster/layout.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    hf_layout_t l, m;
    char why[256];
    if (hf_layout_decode(data, size, &l, why, sizeof why) != HF_OK) {
        if (l.nnodes || l.nparts || !why[0])
            abort();
        return 0;
    }
    if (hf_layout_check(&l, why, sizeof why) != HF_OK)
        abort();
    hf_buf_t a, b;
    hf_buf_init(&a, HF_LAYOUT_MAX);
    hf_buf_init(&b, HF_LAYOUT_MAX);
    if (hf_layout_encode(&l, &a) != HF_OK ||
        hf_layout_decode(a.data, a.len, &m, why, sizeof why) != HF_OK ||
        hf_layout_encode(&m, &b) != HF_OK || a.len != b.len || memcmp(a.data, b.data, a.len))
        abort();
    hf_layout_free(&m);
    hf_layout_free(&l);
    hf_buf_free(&a);
    hf_buf_free(&b);
    return 0;
}
