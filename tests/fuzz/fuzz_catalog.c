/*
 * fuzz_catalog.c -- the decoders of what a node reads from etcd besides
 * the layout (cluster/catalog.c, cluster/ops.c): user records (with
 * sealed secrets), bucket records, node records and heartbeats.
 *
 * Properties: memory safety; a user record that decodes has a name, an
 * id, strings that end within their fields and at most
 * HF_USER_RETIRING_MAX retiring keys, and re-encodes to a record that
 * decodes to the same user; a bucket record likewise.
 */
#include "base/buf.h"
#include "base/err.h"
#include "cluster/catalog.h"
#include "cluster/ops.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const uint8_t secret[] = "fuzzing-cluster-secret-0123456789";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    hf_user_t u, v;
    uint32_t nb, nb2;
    hf_buf_t b;
    hf_buf_init(&b, 1 << 20);
    if (hf_catalog_user_decode(secret, sizeof secret - 1, data, size, &u, &nb) == HF_OK) {
        if (!u.id || !u.name[0] || u.nretiring > HF_USER_RETIRING_MAX ||
            strnlen(u.secret_key, sizeof u.secret_key) == sizeof u.secret_key)
            abort();
        if (hf_catalog_user_encode(secret, sizeof secret - 1, &u, nb, &b) != HF_OK ||
            hf_catalog_user_decode(secret, sizeof secret - 1, b.data, b.len, &v, &nb2) != HF_OK ||
            nb != nb2 || u.id != v.id || strcmp(u.name, v.name) || strcmp(u.secret_key, v.secret_key) ||
            u.nretiring != v.nretiring)
            abort();
    }
    hf_bucket_t k, k2;
    if (hf_catalog_bucket_decode(data, size, &k) == HF_OK) {
        if (!k.id || strlen(k.name) < HF_BUCKET_NAME_MIN)
            abort();
        if (hf_catalog_bucket_encode(&k, &b) != HF_OK ||
            hf_catalog_bucket_decode(b.data, b.len, &k2) != HF_OK || k.id != k2.id ||
            k.owner != k2.owner || strcmp(k.name, k2.name))
            abort();
    }
    hf_cluster_member_t m = {0};
    hf_cluster_member_decode(data, size, false, &m);
    hf_cluster_member_decode(data, size, true, &m);
    hf_buf_free(&b);
    return 0;
}
