/* crypt.c -- see crypt.h.
 *
 * The cipher is fetched once per process (as hash.c does for digests: an
 * implicit fetch takes a lock on every call). A context is keyed once in
 * hf_aead_init; each seal or open then only sets the nonce
 * (EVP_CipherInit_ex with no cipher and no key keeps the expanded key),
 * so a 64 KiB block costs the cipher and one short re-initialisation.
 * The direction is chosen per call, so one context can both seal and open.
 */
#include "base/crypt.h"

#include "base/err.h"
#include "base/hash.h"
#include "base/log.h"

#include <errno.h>
#include <limits.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <string.h>

static EVP_CIPHER *gcm_fetched;
static pthread_once_t gcm_once = PTHREAD_ONCE_INIT;

static void fetch_gcm(void)
{
    gcm_fetched = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
}

static const EVP_CIPHER *gcm(void)
{
    pthread_once(&gcm_once, fetch_gcm);
    return gcm_fetched ? gcm_fetched : EVP_aes_256_gcm();
}

int hf_aead_init(hf_aead_t *a, const uint8_t key[HF_AEAD_KEY_LEN])
{
    a->ctx = NULL;
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    if (!c)
        return -ENOMEM;
    /* Key only; the nonce length is GCM's default of 12 bytes. */
    if (EVP_CipherInit_ex(c, gcm(), NULL, key, NULL, 1) != 1) {
        EVP_CIPHER_CTX_free(c);
        hf_log_error("msg=\"AES-256-GCM is not available from OpenSSL\"");
        return HF_E_INVAL;
    }
    a->ctx = c;
    return HF_OK;
}

void hf_aead_free(hf_aead_t *a)
{
    if (a && a->ctx) {
        /* EVP_CIPHER_CTX_free cleanses the key schedule. */
        EVP_CIPHER_CTX_free(a->ctx);
        a->ctx = NULL;
    }
}

/* One pass of GCM over [in, in + n) in chunks an int can count. */
static int update(EVP_CIPHER_CTX *c, const void *in, void *out, size_t n)
{
    const unsigned char *ip = in;
    unsigned char *op = out;
    while (n) {
        int k = n > INT_MAX / 2 ? INT_MAX / 2 : (int)n;
        int got = 0;
        if (EVP_CipherUpdate(c, op, &got, ip, k) != 1 || got != k)
            return -1;
        ip += k;
        op += k;
        n -= (size_t)k;
    }
    return 0;
}

static int aad_update(EVP_CIPHER_CTX *c, const void *aad, size_t alen)
{
    if (alen == 0)
        return 0;
    if (alen > INT_MAX)
        return -1;
    int got = 0;
    return EVP_CipherUpdate(c, NULL, &got, aad, (int)alen) == 1 ? 0 : -1;
}

int hf_aead_seal(hf_aead_t *a, const uint8_t nonce[HF_AEAD_NONCE_LEN], const void *aad, size_t alen,
                 const void *in, void *out, size_t n, uint8_t tag[HF_AEAD_TAG_LEN])
{
    EVP_CIPHER_CTX *c = a->ctx;
    int fin = 0;
    unsigned char dummy[16];
    if (!c || EVP_CipherInit_ex(c, NULL, NULL, NULL, nonce, 1) != 1 || aad_update(c, aad, alen) ||
        update(c, in, out, n) || EVP_CipherFinal_ex(c, dummy, &fin) != 1 ||
        EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, HF_AEAD_TAG_LEN, tag) != 1) {
        hf_log_error("msg=\"AES-256-GCM seal failed\"");
        return HF_E_INVAL;
    }
    return HF_OK;
}

int hf_aead_open(hf_aead_t *a, const uint8_t nonce[HF_AEAD_NONCE_LEN], const void *aad, size_t alen,
                 const void *in, void *out, size_t n, const uint8_t tag[HF_AEAD_TAG_LEN])
{
    EVP_CIPHER_CTX *c = a->ctx;
    int fin = 0;
    unsigned char dummy[16];
    uint8_t t[HF_AEAD_TAG_LEN];
    memcpy(t, tag, sizeof t); /* the ctrl takes a non-const pointer */
    if (!c || EVP_CipherInit_ex(c, NULL, NULL, NULL, nonce, 0) != 1 || aad_update(c, aad, alen) ||
        update(c, in, out, n) || EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, HF_AEAD_TAG_LEN, t) != 1 ||
        EVP_CipherFinal_ex(c, dummy, &fin) != 1) {
        /* The usual cause is a tag mismatch: the bytes are not what was
         * sealed under this key. Never hand them out. */
        if (n)
            OPENSSL_cleanse(out, n);
        return HF_E_CORRUPT;
    }
    return HF_OK;
}

int hf_aead_seal1(const uint8_t key[HF_AEAD_KEY_LEN], const uint8_t nonce[HF_AEAD_NONCE_LEN],
                  const void *aad, size_t alen, const void *in, void *out, size_t n,
                  uint8_t tag[HF_AEAD_TAG_LEN])
{
    hf_aead_t a;
    int rc = hf_aead_init(&a, key);
    if (rc)
        return rc;
    rc = hf_aead_seal(&a, nonce, aad, alen, in, out, n, tag);
    hf_aead_free(&a);
    return rc;
}

int hf_aead_open1(const uint8_t key[HF_AEAD_KEY_LEN], const uint8_t nonce[HF_AEAD_NONCE_LEN],
                  const void *aad, size_t alen, const void *in, void *out, size_t n,
                  const uint8_t tag[HF_AEAD_TAG_LEN])
{
    hf_aead_t a;
    int rc = hf_aead_init(&a, key);
    if (rc)
        return rc;
    rc = hf_aead_open(&a, nonce, aad, alen, in, out, n, tag);
    hf_aead_free(&a);
    return rc;
}

int hf_kdf(const uint8_t *key, size_t klen, const char *label, const void *data, size_t dlen,
           uint8_t out[32])
{
    /* label || data in one buffer: labels are short constants and data is
     * at most a blob id or a salt. */
    unsigned char msg[HF_KDF_INPUT_MAX];
    size_t ll = strlen(label);
    if (ll + dlen > sizeof msg) {
        /* Not reachable with the callers' sizes; refuse rather than derive
         * from a truncated input. */
        memset(out, 0, 32);
        return HF_E_INVAL;
    }
    memcpy(msg, label, ll);
    if (dlen)
        memcpy(msg + ll, data, dlen);
    hf_hmac_sha256(key, klen, msg, ll + dlen, out);
    OPENSSL_cleanse(msg, sizeof msg);
    return HF_OK;
}

void hf_wipe(void *p, size_t n)
{
    if (p && n)
        OPENSSL_cleanse(p, n);
}
