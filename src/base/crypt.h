/*
 * crypt.h -- authenticated encryption (AES-256-GCM from OpenSSL 3) and the
 * small helpers that go with keys: wiping them and deriving one key from
 * another.
 *
 * One hf_aead_t holds one key, expanded once (the AES key schedule and the
 * GHASH table), so sealing many blocks under the same key costs one
 * initialisation, not one per block. Each call takes its own 12-byte nonce:
 * the caller guarantees that a (key, nonce) pair seals at most one
 * plaintext -- GCM loses both secrecy and integrity otherwise. holdfast
 * does that by giving every blob, inline object and wrapped key a key of
 * its own and deriving nonces from positions (chunk/store.c) or drawing
 * them at random for the few wraps made under a long-lived key.
 *
 * Ownership: hf_aead_t is embedded by the caller; hf_aead_init allocates
 * OpenSSL state that hf_aead_free releases (and wipes). Threads: one
 * hf_aead_t is used by one thread at a time; the one-shot functions are
 * thread-safe.
 */
#ifndef HF_BASE_CRYPT_H
#define HF_BASE_CRYPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HF_AEAD_KEY_LEN 32
#define HF_AEAD_NONCE_LEN 12
#define HF_AEAD_TAG_LEN 16

typedef struct hf_aead {
    void *ctx; /* EVP_CIPHER_CTX keyed with AES-256-GCM; NULL when not initialised */
} hf_aead_t;

/* Expand key (32 bytes) into a. HF_OK, -ENOMEM, or HF_E_INVAL if OpenSSL
 * refuses (no AES-256-GCM in the loaded providers). */
int hf_aead_init(hf_aead_t *a, const uint8_t key[HF_AEAD_KEY_LEN]);

/* Encrypt n bytes of in into out (out may equal in; n may be 0) under the
 * nonce, authenticating aad (alen bytes, may be 0) too; the 16-byte tag
 * goes to tag. HF_OK or HF_E_INVAL (an OpenSSL failure, logged). */
int hf_aead_seal(hf_aead_t *a, const uint8_t nonce[HF_AEAD_NONCE_LEN], const void *aad, size_t alen,
                 const void *in, void *out, size_t n, uint8_t tag[HF_AEAD_TAG_LEN]);

/* Decrypt and verify: HF_OK, or HF_E_CORRUPT when the tag does not match
 * (wrong key, wrong nonce or aad, or altered bytes) -- then out is zeroed,
 * so unverified plaintext never escapes. out may equal in. */
int hf_aead_open(hf_aead_t *a, const uint8_t nonce[HF_AEAD_NONCE_LEN], const void *aad, size_t alen,
                 const void *in, void *out, size_t n, const uint8_t tag[HF_AEAD_TAG_LEN]);

/* Release (safe on a zeroed or freed hf_aead_t). */
void hf_aead_free(hf_aead_t *a);

/* One-shot forms for a single seal/open under a key used once or rarely
 * (wrapping a data key). Same results as above, plus -ENOMEM. */
int hf_aead_seal1(const uint8_t key[HF_AEAD_KEY_LEN], const uint8_t nonce[HF_AEAD_NONCE_LEN],
                  const void *aad, size_t alen, const void *in, void *out, size_t n,
                  uint8_t tag[HF_AEAD_TAG_LEN]);
int hf_aead_open1(const uint8_t key[HF_AEAD_KEY_LEN], const uint8_t nonce[HF_AEAD_NONCE_LEN],
                  const void *aad, size_t alen, const void *in, void *out, size_t n,
                  const uint8_t tag[HF_AEAD_TAG_LEN]);

/* out = HMAC-SHA256(key, label || data): a 32-byte key or check value
 * derived for one purpose, named by label (a NUL-terminated constant), so
 * keys derived for different purposes never coincide. label and data
 * together are at most HF_KDF_INPUT_MAX bytes (HF_E_INVAL otherwise, with
 * out zeroed). */
#define HF_KDF_INPUT_MAX 128
int hf_kdf(const uint8_t *key, size_t klen, const char *label, const void *data, size_t dlen,
           uint8_t out[32]);

/* Overwrite n bytes at p with zeros in a way the compiler keeps. (Constant
 * time comparison is hf_ct_equal, base/str.h.) */
void hf_wipe(void *p, size_t n);

#endif /* HF_BASE_CRYPT_H */
