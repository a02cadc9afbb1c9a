/* Unit tests for src/base/crypt.c: AES-256-GCM against a published test
 * vector, tamper detection, in-place use and key derivation. */
#include "test.h"

#include "base/crypt.h"
#include "base/err.h"
#include "base/hash.h"
#include "base/str.h"

static void unhex(uint8_t *out, const char *hex)
{
    size_t n = strlen(hex) / 2;
    if (hf_hex_decode(out, hex, n) != HF_OK)
        hf_test_fail(__FILE__, __LINE__, "bad hex in test");
}

/* Test case 16 of "The Galois/Counter Mode of Operation (GCM)" (McGrew and
 * Viega): AES-256, 96-bit IV, 60 bytes of plaintext, 20 bytes of AAD. */
#define TC16_K "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308"
#define TC16_P "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95" \
               "956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39"
#define TC16_A "feedfacedeadbeeffeedfacedeadbeefabaddad2"
#define TC16_IV "cafebabefacedbaddecaf888"
#define TC16_C "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48" \
               "590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662"
#define TC16_T "76fc6ece0f4e1768cddf8853bb2d551b"

struct tc {
    uint8_t k[32], p[60], a[20], iv[12], c[60], t[16];
};

static void tc16(struct tc *v)
{
    unhex(v->k, TC16_K);
    unhex(v->p, TC16_P);
    unhex(v->a, TC16_A);
    unhex(v->iv, TC16_IV);
    unhex(v->c, TC16_C);
    unhex(v->t, TC16_T);
}

TEST(gcm_known_answer)
{
    struct tc v;
    tc16(&v);
    uint8_t *k = v.k, *p = v.p, *a = v.a, *iv = v.iv, *c = v.c, *t = v.t, out[60], tag[16];
    hf_aead_t g;
    CHECK_EQ_INT(hf_aead_init(&g, k), HF_OK);
    CHECK_EQ_INT(hf_aead_seal(&g, iv, a, 20, p, out, 60, tag), HF_OK);
    CHECK_EQ_MEM(out, c, 60);
    CHECK_EQ_MEM(tag, t, 16);
    /* the same context opens, in place */
    CHECK_EQ_INT(hf_aead_open(&g, iv, a, 20, out, out, 60, tag), HF_OK);
    CHECK_EQ_MEM(out, p, 60);
    /* and seals again with the same result (no state carried over) */
    CHECK_EQ_INT(hf_aead_seal(&g, iv, a, 20, p, out, 60, tag), HF_OK);
    CHECK_EQ_MEM(out, c, 60);
    hf_aead_free(&g);
    hf_aead_free(&g); /* twice is harmless */
    /* one-shot forms */
    CHECK_EQ_INT(hf_aead_seal1(k, iv, a, 20, p, out, 60, tag), HF_OK);
    CHECK_EQ_MEM(out, c, 60);
    CHECK_EQ_INT(hf_aead_open1(k, iv, a, 20, c, out, 60, t), HF_OK);
    CHECK_EQ_MEM(out, p, 60);
}

TEST(gcm_refuses_anything_altered)
{
    struct tc v;
    tc16(&v);
    uint8_t *k = v.k, *p = v.p, *a = v.a, *iv = v.iv, *c = v.c, *t = v.t, out[60];
    hf_aead_t g;
    CHECK_EQ_INT(hf_aead_init(&g, k), HF_OK);
    uint8_t x[60];
    memcpy(x, c, sizeof x);
    x[17] ^= 0x01; /* ciphertext */
    memset(out, 0x5a, sizeof out);
    CHECK_EQ_INT(hf_aead_open(&g, iv, a, 20, x, out, 60, t), HF_E_CORRUPT);
    for (size_t i = 0; i < sizeof out; i++)
        CHECK_EQ_INT(out[i], 0); /* nothing unverified is left behind */
    uint8_t t2[16];
    memcpy(t2, t, 16);
    t2[15] ^= 0x80; /* tag */
    CHECK_EQ_INT(hf_aead_open(&g, iv, a, 20, c, out, 60, t2), HF_E_CORRUPT);
    uint8_t iv2[12];
    memcpy(iv2, iv, 12);
    iv2[0] ^= 1; /* nonce */
    CHECK_EQ_INT(hf_aead_open(&g, iv2, a, 20, c, out, 60, t), HF_E_CORRUPT);
    CHECK_EQ_INT(hf_aead_open(&g, iv, a, 19, c, out, 60, t), HF_E_CORRUPT); /* aad */
    CHECK_EQ_INT(hf_aead_open(&g, iv, a, 20, c, out, 59, t), HF_E_CORRUPT); /* length */
    hf_aead_free(&g);
    k[31] ^= 1; /* key */
    CHECK_EQ_INT(hf_aead_open1(k, iv, a, 20, c, out, 60, t), HF_E_CORRUPT);
    /* and the good one still opens */
    k[31] ^= 1;
    CHECK_EQ_INT(hf_aead_open1(k, iv, a, 20, c, out, 60, t), HF_OK);
    CHECK_EQ_MEM(out, p, 60);
}

TEST(gcm_empty_and_large)
{
    uint8_t k[32] = {1}, iv[12] = {2}, tag[16];
    /* an empty message still has a tag that authenticates the aad */
    CHECK_EQ_INT(hf_aead_seal1(k, iv, "aad", 3, NULL, NULL, 0, tag), HF_OK);
    CHECK_EQ_INT(hf_aead_open1(k, iv, "aad", 3, NULL, NULL, 0, tag), HF_OK);
    CHECK_EQ_INT(hf_aead_open1(k, iv, "aaD", 3, NULL, NULL, 0, tag), HF_E_CORRUPT);
    size_t n = 3 * 1024 * 1024 + 17;
    uint8_t *buf = malloc(n), *copy = malloc(n);
    for (size_t i = 0; i < n; i++)
        buf[i] = (uint8_t)(i * 131);
    memcpy(copy, buf, n);
    CHECK_EQ_INT(hf_aead_seal1(k, iv, NULL, 0, buf, buf, n, tag), HF_OK);
    CHECK(memcmp(buf, copy, n) != 0);
    CHECK_EQ_INT(hf_aead_open1(k, iv, NULL, 0, buf, buf, n, tag), HF_OK);
    CHECK_EQ_MEM(buf, copy, n);
    free(buf);
    free(copy);
}

TEST(kdf_is_hmac_of_label_and_data)
{
    uint8_t key[32], out[32], want[32];
    for (int i = 0; i < 32; i++)
        key[i] = (uint8_t)i;
    CHECK_EQ_INT(hf_kdf(key, 32, "label", "data", 4, out), HF_OK);
    hf_hmac_sha256(key, 32, "labeldata", 9, want);
    CHECK_EQ_MEM(out, want, 32);
    /* another label, another key */
    CHECK_EQ_INT(hf_kdf(key, 32, "labek", "data", 4, out), HF_OK);
    CHECK(memcmp(out, want, 32) != 0);
    /* input past the bound is refused, not truncated */
    char big[HF_KDF_INPUT_MAX];
    memset(big, 'x', sizeof big);
    CHECK_EQ_INT(hf_kdf(key, 32, "l", big, sizeof big, out), HF_E_INVAL);
    for (int i = 0; i < 32; i++)
        CHECK_EQ_INT(out[i], 0);
}

TEST(wipe)
{
    uint8_t b[40];
    memset(b, 0xff, sizeof b);
    hf_wipe(b + 4, 32);
    CHECK_EQ_INT(b[3], 0xff);
    for (int i = 4; i < 36; i++)
        CHECK_EQ_INT(b[i], 0);
    CHECK_EQ_INT(b[36], 0xff);
    hf_wipe(NULL, 5);
}

HF_TEST_MAIN("unit/base/crypt")
