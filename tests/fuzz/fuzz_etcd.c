/*
 * fuzz_etcd.c -- the etcd gateway answer parsers (etcd/etcd.c): a range
 * answer and a watch message, from any bytes.
 *
 * Properties: memory safety; a range that parses holds n keys, each a
 * NUL-terminated string of key_len bytes without a NUL inside, and each
 * value NUL-terminated after value_len bytes; a watch message that parses
 * gives well-formed events the same way.
 */
#include "base/err.h"
#include "etcd/etcd.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void check_kv(const hf_etcd_kv_t *kv)
{
    if (!kv->key || strlen(kv->key) != kv->key_len || !kv->value || kv->value[kv->value_len] != 0)
        abort();
}

static int on_event(void *ctx, hf_etcd_event_kind_t kind, const hf_etcd_kv_t *kv)
{
    (void)ctx;
    if (kind != HF_ETCD_EV_PUT && kind != HF_ETCD_EV_DELETE)
        abort();
    check_kv(kv);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    hf_etcd_kvs_t r;
    if (hf_etcd_parse_range((const char *)data, size, &r) == HF_OK) {
        for (size_t i = 0; i < r.n; i++)
            check_kv(&r.kv[i]);
        hf_etcd_kvs_free(&r);
    }
    int64_t rev, comp;
    bool canc;
    hf_etcd_parse_watch((const char *)data, size, on_event, NULL, &rev, &comp, &canc);
    return 0;
}
