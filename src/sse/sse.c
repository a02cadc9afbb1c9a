/*
 * sse.c -- object encryption descriptors and the keys derived from a data
 * key; see sse.h. Layout of the encoding: docs/internals/FORMAT-meta.md,
 * tag 0x81.
 *
 * Labels. Every derivation names its purpose in a label, so no two keys
 * derived for different uses can be equal even from the same input.
 */
#include "sse/sse.h"

#include "base/crypt.h"
#include "base/err.h"
#include "base/rand.h"
#include "base/str.h"

#include <string.h>

#define DESC_VERSION 1
#define DESC_S3_LEN (1 + 1 + 4 + 12 + 32 + 16)
#define DESC_C_LEN (DESC_S3_LEN + 16 + 32)

#define WRAP_AAD_LABEL "holdfast sse wrap v1"
#define C_KEK_LABEL "holdfast sse-c kek v1"
#define C_CHECK_LABEL "holdfast sse-c check v1"
#define INLINE_LABEL "holdfast sse inline key v1"
#define ETAG_LABEL "holdfast sse-c etag v1"

_Static_assert(DESC_C_LEN <= HF_SSE_DESC_MAX, "descriptor must fit");

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

void hf_sse_encode(const hf_sse_desc_t *d, uint8_t out[HF_SSE_DESC_MAX], size_t *len)
{
    out[0] = DESC_VERSION;
    out[1] = d->mode;
    put_be32(out + 2, d->key_id);
    memcpy(out + 6, d->nonce, 12);
    memcpy(out + 18, d->wrapped, 32);
    memcpy(out + 50, d->tag, 16);
    *len = DESC_S3_LEN;
    if (d->mode == HF_SSE_C) {
        memcpy(out + DESC_S3_LEN, d->salt, 16);
        memcpy(out + DESC_S3_LEN + 16, d->check, 32);
        *len = DESC_C_LEN;
    }
}

int hf_sse_decode(const uint8_t *p, size_t n, hf_sse_desc_t *d)
{
    memset(d, 0, sizeof *d);
    if (n < 2)
        return HF_E_CORRUPT;
    if (p[0] != DESC_VERSION || (p[1] != HF_SSE_S3 && p[1] != HF_SSE_C))
        return p[0] == 0 ? HF_E_CORRUPT : HF_E_VERSION;
    if (n != (p[1] == HF_SSE_C ? DESC_C_LEN : DESC_S3_LEN))
        return HF_E_CORRUPT;
    d->mode = p[1];
    d->key_id = (uint32_t)p[2] << 24 | (uint32_t)p[3] << 16 | (uint32_t)p[4] << 8 | p[5];
    memcpy(d->nonce, p + 6, 12);
    memcpy(d->wrapped, p + 18, 32);
    memcpy(d->tag, p + 50, 16);
    if (d->mode == HF_SSE_C) {
        memcpy(d->salt, p + DESC_S3_LEN, 16);
        memcpy(d->check, p + DESC_S3_LEN + 16, 32);
    }
    if ((d->mode == HF_SSE_S3) != (d->key_id != 0))
        return HF_E_CORRUPT;
    return HF_OK;
}

/* What a wrap authenticates besides the key: the label, the mode and the
 * master key id. */
static size_t wrap_aad(const hf_sse_desc_t *d, uint8_t aad[64])
{
    size_t l = strlen(WRAP_AAD_LABEL);
    memcpy(aad, WRAP_AAD_LABEL, l);
    aad[l] = d->mode;
    put_be32(aad + l + 1, d->key_id);
    return l + 5;
}

static int wrap(const uint8_t kek[32], hf_sse_desc_t *d, const uint8_t dk[HF_SSE_KEY_LEN])
{
    uint8_t aad[64];
    size_t al = wrap_aad(d, aad);
    int rc = hf_rand_bytes(d->nonce, sizeof d->nonce);
    if (rc)
        return rc;
    return hf_aead_seal1(kek, d->nonce, aad, al, dk, d->wrapped, HF_SSE_KEY_LEN, d->tag);
}

static int unwrap(const uint8_t kek[32], const hf_sse_desc_t *d, uint8_t dk[HF_SSE_KEY_LEN])
{
    uint8_t aad[64];
    size_t al = wrap_aad(d, aad);
    return hf_aead_open1(kek, d->nonce, aad, al, d->wrapped, dk, HF_SSE_KEY_LEN, d->tag);
}

int hf_sse_new_s3(const hf_keyring_t *k, hf_sse_desc_t *d, uint8_t dk[HF_SSE_KEY_LEN])
{
    memset(d, 0, sizeof *d);
    if (!k)
        return HF_E_NOKEY;
    uint8_t mk[HF_KEYRING_KEY_LEN];
    d->mode = HF_SSE_S3;
    d->key_id = hf_keyring_active(k);
    int rc = hf_keyring_get(k, d->key_id, mk);
    if (rc == HF_OK)
        rc = hf_rand_bytes(dk, HF_SSE_KEY_LEN);
    if (rc == HF_OK)
        rc = wrap(mk, d, dk);
    hf_wipe(mk, sizeof mk);
    if (rc)
        hf_wipe(dk, HF_SSE_KEY_LEN);
    return rc;
}

int hf_sse_open_s3(const hf_keyring_t *k, const hf_sse_desc_t *d, uint8_t dk[HF_SSE_KEY_LEN])
{
    if (!k)
        return HF_E_NOKEY;
    uint8_t mk[HF_KEYRING_KEY_LEN];
    int rc = hf_keyring_get(k, d->key_id, mk);
    if (rc == HF_OK)
        rc = unwrap(mk, d, dk);
    hf_wipe(mk, sizeof mk);
    return rc;
}

/* The SSE-C key-encryption key and check value of ck under d's salt. */
static int c_derive(const hf_sse_desc_t *d, const uint8_t ck[HF_SSE_KEY_LEN], uint8_t kek[32],
                    uint8_t check[32])
{
    int rc = hf_kdf(ck, HF_SSE_KEY_LEN, C_CHECK_LABEL, d->salt, sizeof d->salt, check);
    if (rc == HF_OK && kek)
        rc = hf_kdf(ck, HF_SSE_KEY_LEN, C_KEK_LABEL, d->salt, sizeof d->salt, kek);
    return rc;
}

int hf_sse_new_c(const uint8_t ck[HF_SSE_KEY_LEN], hf_sse_desc_t *d, uint8_t dk[HF_SSE_KEY_LEN])
{
    memset(d, 0, sizeof *d);
    d->mode = HF_SSE_C;
    uint8_t kek[32];
    int rc = hf_rand_bytes(d->salt, sizeof d->salt);
    if (rc == HF_OK)
        rc = c_derive(d, ck, kek, d->check);
    if (rc == HF_OK)
        rc = hf_rand_bytes(dk, HF_SSE_KEY_LEN);
    if (rc == HF_OK)
        rc = wrap(kek, d, dk);
    hf_wipe(kek, sizeof kek);
    if (rc)
        hf_wipe(dk, HF_SSE_KEY_LEN);
    return rc;
}

bool hf_sse_c_matches(const hf_sse_desc_t *d, const uint8_t ck[HF_SSE_KEY_LEN])
{
    uint8_t check[32];
    bool ok = d->mode == HF_SSE_C && c_derive(d, ck, NULL, check) == HF_OK &&
              hf_ct_equal(check, d->check, sizeof check);
    hf_wipe(check, sizeof check);
    return ok;
}

int hf_sse_open_c(const hf_sse_desc_t *d, const uint8_t ck[HF_SSE_KEY_LEN], uint8_t dk[HF_SSE_KEY_LEN])
{
    uint8_t kek[32], check[32];
    int rc = c_derive(d, ck, kek, check);
    if (rc == HF_OK && (d->mode != HF_SSE_C || !hf_ct_equal(check, d->check, sizeof check)))
        rc = HF_E_DENIED;
    if (rc == HF_OK)
        rc = unwrap(kek, d, dk);
    hf_wipe(kek, sizeof kek);
    hf_wipe(check, sizeof check);
    return rc;
}

void hf_sse_etag(const uint8_t dk[HF_SSE_KEY_LEN], const uint8_t md5[16], uint8_t out[16])
{
    uint8_t full[32];
    if (hf_kdf(dk, HF_SSE_KEY_LEN, ETAG_LABEL, md5, 16, full) != HF_OK)
        memset(full, 0, sizeof full); /* not reachable: the input is 38 bytes */
    memcpy(out, full, 16);
}

/* The inline data's key; its one message uses the all-zero nonce (a data
 * key seals at most one inline object: every object has its own). */
static int inline_key(const uint8_t dk[HF_SSE_KEY_LEN], uint8_t k[32])
{
    return hf_kdf(dk, HF_SSE_KEY_LEN, INLINE_LABEL, NULL, 0, k);
}

int hf_sse_seal_inline(const uint8_t dk[HF_SSE_KEY_LEN], const void *in, size_t n, uint8_t *out)
{
    static const uint8_t nonce[12];
    uint8_t k[32];
    int rc = inline_key(dk, k);
    if (rc == HF_OK)
        rc = hf_aead_seal1(k, nonce, NULL, 0, in, out, n, out + n);
    hf_wipe(k, sizeof k);
    return rc;
}

int hf_sse_open_inline(const uint8_t dk[HF_SSE_KEY_LEN], const uint8_t *in, size_t n, uint8_t *out)
{
    static const uint8_t nonce[12];
    if (n < HF_SSE_SEAL_EXTRA)
        return HF_E_CORRUPT;
    uint8_t k[32];
    size_t m = n - HF_SSE_SEAL_EXTRA;
    int rc = inline_key(dk, k);
    if (rc == HF_OK)
        rc = hf_aead_open1(k, nonce, NULL, 0, in, out, m, in + m);
    hf_wipe(k, sizeof k);
    return rc;
}

const char *hf_sse_algorithm(uint8_t mode)
{
    return mode == HF_SSE_S3 || mode == HF_SSE_C ? "AES256" : "";
}
