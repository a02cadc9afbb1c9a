/* hash.c -- see hash.h. */
#include "base/hash.h"

#include "base/err.h"

#include <errno.h>
#include <isa-l/crc.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* OpenSSL 3 looks an algorithm up (under a lock) every time a call names
 * it through EVP_sha256() and friends, and HMAC() also allocates a context
 * per call: a 100-byte HMAC-SHA256 costs 1.6 us that way and 0.45 us with
 * the algorithm fetched once and the context reused. SigV4 does five HMACs
 * and two SHA-256s per request, on the server and in the load generator,
 * so algorithms are fetched once per process and the one-shot functions
 * keep a context per thread (freed when the thread exits). If a fetch
 * fails, the plain calls below are used instead. */
static EVP_MD *md_fetched[3];
static EVP_MAC *hmac_fetched;
static pthread_once_t fetch_once = PTHREAD_ONCE_INIT;
static pthread_key_t tls_key;
static int tls_ok;

typedef struct tls_ctx {
    EVP_MD_CTX *md;
    EVP_MAC_CTX *hmac;
} tls_ctx_t;

static void tls_free(void *p)
{
    tls_ctx_t *t = p;
    EVP_MD_CTX_free(t->md);
    EVP_MAC_CTX_free(t->hmac);
    free(t);
}

static void fetch_all(void)
{
    md_fetched[HF_DIGEST_MD5] = EVP_MD_fetch(NULL, "MD5", NULL);
    md_fetched[HF_DIGEST_SHA1] = EVP_MD_fetch(NULL, "SHA1", NULL);
    md_fetched[HF_DIGEST_SHA256] = EVP_MD_fetch(NULL, "SHA256", NULL);
    hmac_fetched = EVP_MAC_fetch(NULL, "HMAC", NULL);
    tls_ok = pthread_key_create(&tls_key, tls_free) == 0;
}

static const EVP_MD *md_of(enum hf_digest_alg alg)
{
    pthread_once(&fetch_once, fetch_all);
    if (md_fetched[alg])
        return md_fetched[alg];
    switch (alg) {
    case HF_DIGEST_MD5: return EVP_md5();
    case HF_DIGEST_SHA1: return EVP_sha1();
    default: return EVP_sha256();
    }
}

/* This thread's reusable contexts, or NULL (then callers use one-shots). */
static tls_ctx_t *tls_get(void)
{
    pthread_once(&fetch_once, fetch_all);
    if (!tls_ok)
        return NULL;
    tls_ctx_t *t = pthread_getspecific(tls_key);
    if (t)
        return t;
    t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->md = EVP_MD_CTX_new();
    if (hmac_fetched && md_fetched[HF_DIGEST_SHA256]) {
        t->hmac = EVP_MAC_CTX_new(hmac_fetched);
        OSSL_PARAM params[] = {
            OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0),
            OSSL_PARAM_construct_end(),
        };
        if (t->hmac && EVP_MAC_CTX_set_params(t->hmac, params) != 1) {
            EVP_MAC_CTX_free(t->hmac);
            t->hmac = NULL;
        }
    }
    if (pthread_setspecific(tls_key, t) != 0) {
        tls_free(t);
        return NULL;
    }
    return t;
}

int hf_digest_init(hf_digest_t *d, enum hf_digest_alg alg)
{
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    if (!c) {
        d->ctx = NULL;
        return -ENOMEM;
    }
    if (EVP_DigestInit_ex(c, md_of(alg), NULL) != 1) {
        EVP_MD_CTX_free(c);
        d->ctx = NULL;
        return -ENOMEM;
    }
    d->ctx = c;
    return HF_OK;
}

void hf_digest_update(hf_digest_t *d, const void *p, size_t n)
{
    if (d->ctx && n)
        EVP_DigestUpdate(d->ctx, p, n);
}

void hf_digest_final(hf_digest_t *d, unsigned char *out)
{
    if (!d->ctx)
        return;
    unsigned int len = 0;
    EVP_DigestFinal_ex(d->ctx, out, &len);
    EVP_MD_CTX_free(d->ctx);
    d->ctx = NULL;
}

void hf_digest_free(hf_digest_t *d)
{
    if (d->ctx)
        EVP_MD_CTX_free(d->ctx);
    d->ctx = NULL;
}

static void one_shot(enum hf_digest_alg alg, const void *p, size_t n, unsigned char *out)
{
    unsigned int len = 0;
    tls_ctx_t *t = tls_get();
    const EVP_MD *md = md_of(alg);
    if (t && t->md && EVP_DigestInit_ex(t->md, md, NULL) == 1 &&
        EVP_DigestUpdate(t->md, p, n) == 1 && EVP_DigestFinal_ex(t->md, out, &len) == 1)
        return;
    EVP_Digest(p, n, out, &len, md, NULL);
}

void hf_md5(const void *p, size_t n, unsigned char out[HF_MD5_LEN])
{
    one_shot(HF_DIGEST_MD5, p, n, out);
}

void hf_sha256(const void *p, size_t n, unsigned char out[HF_SHA256_LEN])
{
    one_shot(HF_DIGEST_SHA256, p, n, out);
}

void hf_hmac_sha256(const void *key, size_t klen, const void *msg, size_t mlen,
                    unsigned char out[HF_SHA256_LEN])
{
    tls_ctx_t *t = tls_get();
    size_t len = 0;
    /* EVP_MAC_init with no key would reuse the previous key: empty keys
     * take the plain path. */
    if (t && t->hmac && klen > 0 && EVP_MAC_init(t->hmac, key, klen, NULL) == 1 &&
        EVP_MAC_update(t->hmac, msg, mlen) == 1 &&
        EVP_MAC_final(t->hmac, out, &len, HF_SHA256_LEN) == 1)
        return;
    unsigned int ulen = 0;
    HMAC(EVP_sha256(), key, (int)klen, msg, mlen, out, &ulen);
}

void hf_hmac_sha1(const void *key, size_t klen, const void *msg, size_t mlen,
                  unsigned char out[HF_SHA1_LEN])
{
    /* One HMAC per Signature Version 2 request: the one-shot call is
     * enough, no per-thread context. */
    unsigned int ulen = 0;
    HMAC(EVP_sha1(), key, (int)klen, msg, mlen, out, &ulen);
}

uint32_t hf_crc32(uint32_t crc, const void *p, size_t n)
{
    /* ISA-L's gzip CRC takes and returns the finalised value, like zlib. */
    return crc32_gzip_refl(crc, p, (uint64_t)n);
}

uint32_t hf_crc32c(uint32_t crc, const void *p, size_t n)
{
    /* crc32_iscsi works on the raw register (no pre/post inversion). */
    return ~crc32_iscsi((unsigned char *)p, (int)n, ~crc);
}

/* CRC-64/NVME: poly 0xad93d23594c93659 (reflected 0x9a6c9329ac4bc9b5),
 * init and xorout all ones, reflected in and out. Slicing-by-8 tables,
 * built once. */
static uint64_t crc64_tab[8][256];
static pthread_once_t crc64_once = PTHREAD_ONCE_INIT;

static void crc64_build(void)
{
    const uint64_t poly = 0x9a6c9329ac4bc9b5ULL;
    for (int i = 0; i < 256; i++) {
        uint64_t c = (uint64_t)i;
        for (int k = 0; k < 8; k++)
            c = c & 1 ? (c >> 1) ^ poly : c >> 1;
        crc64_tab[0][i] = c;
    }
    for (int i = 0; i < 256; i++)
        for (int t = 1; t < 8; t++)
            crc64_tab[t][i] = (crc64_tab[t - 1][i] >> 8) ^ crc64_tab[0][crc64_tab[t - 1][i] & 0xff];
}

static uint64_t crc64_table(uint64_t crc, const void *p, size_t n)
{
    const unsigned char *b = p;
    uint64_t c = ~crc;
    while (n >= 8) {
        uint64_t v;
        memcpy(&v, b, 8); /* little-endian host assumed (x86_64, aarch64) */
        c ^= v;
        c = crc64_tab[7][c & 0xff] ^ crc64_tab[6][(c >> 8) & 0xff] ^
            crc64_tab[5][(c >> 16) & 0xff] ^ crc64_tab[4][(c >> 24) & 0xff] ^
            crc64_tab[3][(c >> 32) & 0xff] ^ crc64_tab[2][(c >> 40) & 0xff] ^
            crc64_tab[1][(c >> 48) & 0xff] ^ crc64_tab[0][c >> 56];
        b += 8;
        n -= 8;
    }
    while (n--)
        c = crc64_tab[0][(c ^ *b++) & 0xff] ^ (c >> 8);
    return ~c;
}

#if defined(__x86_64__)
#include <immintrin.h>

/* Folding with carry-less multiplication (PCLMULQDQ), as in Intel's "Fast
 * CRC Computation for Generic Polynomials Using PCLMULQDQ": ~5x the
 * slicing tables, which matters because every upload without a checksum
 * gets a CRC64NVME (S3's default) on top of its MD5. ISA-L has CRC64 for
 * other polynomials only (ECMA, ISO, Jones), not NVMe's.
 *
 * Why it works. A 16-byte block, loaded little-endian as words lo, hi, is
 * the reflected polynomial S = LO*x^64 + HI (byte 0 bit 0 the highest
 * power). Followed by D more bits, it contributes S*x^D = LO*x^(D+64) +
 * HI*x^D, congruent mod P to LO*(x^(D+64) mod P) + HI*(x^D mod P), a
 * polynomial of degree < 128 that takes the place of the block D bits
 * later. A carry-less product of two reflected 64-bit values comes out one
 * bit short of the 128-bit reflected form, so the constants are taken one
 * power lower: x^(D+63) and x^(D-1) mod P. The CRC's initial register is
 * XORed into the first 8 bytes (what the table loop's first step does).
 * What remains, one 16-byte value and a tail under 16 bytes, is a message
 * congruent to the original, finished by the tables from a zero register. */
typedef struct fold_k {
    uint64_t k[2][2]; /* [0]: fold by 512 bits; [1]: by 128 */
} fold_k_t;
static fold_k_t crc64_fold;
static bool crc64_clmul;

/* x^e mod P, reflected into 64 bits (bit i = coefficient of x^(63-i)). */
static uint64_t xpow_mod(unsigned e)
{
    const uint64_t poly = 0xad93d23594c93659ULL; /* P without its x^64 term */
    uint64_t r = 1; /* x^0 */
    for (unsigned i = 0; i < e; i++)
        r = (r & (1ULL << 63)) ? (r << 1) ^ poly : r << 1;
    uint64_t rev = 0;
    for (int i = 0; i < 64; i++)
        if (r & (1ULL << i))
            rev |= 1ULL << (63 - i);
    return rev;
}

static void crc64_fold_build(void)
{
    __builtin_cpu_init();
    crc64_clmul = __builtin_cpu_supports("pclmul") && __builtin_cpu_supports("sse4.1");
    crc64_fold.k[0][0] = xpow_mod(512 + 63);
    crc64_fold.k[0][1] = xpow_mod(512 - 1);
    crc64_fold.k[1][0] = xpow_mod(128 + 63);
    crc64_fold.k[1][1] = xpow_mod(128 - 1);
}

__attribute__((target("pclmul,sse4.1"))) static inline __m128i fold(__m128i x, __m128i k)
{
    return _mm_xor_si128(_mm_clmulepi64_si128(x, k, 0x00), _mm_clmulepi64_si128(x, k, 0x11));
}

/* n >= 64. */
__attribute__((target("pclmul,sse4.1"))) static uint64_t crc64_clmul_run(uint64_t crc, const unsigned char *b,
                                                                         size_t n)
{
    const __m128i k512 = _mm_loadu_si128((const __m128i *)crc64_fold.k[0]);
    const __m128i k128 = _mm_loadu_si128((const __m128i *)crc64_fold.k[1]);
    __m128i x0 = _mm_loadu_si128((const __m128i *)b);
    __m128i x1 = _mm_loadu_si128((const __m128i *)(b + 16));
    __m128i x2 = _mm_loadu_si128((const __m128i *)(b + 32));
    __m128i x3 = _mm_loadu_si128((const __m128i *)(b + 48));
    x0 = _mm_xor_si128(x0, _mm_cvtsi64_si128((long long)~crc));
    b += 64;
    n -= 64;
    while (n >= 64) {
        x0 = _mm_xor_si128(fold(x0, k512), _mm_loadu_si128((const __m128i *)b));
        x1 = _mm_xor_si128(fold(x1, k512), _mm_loadu_si128((const __m128i *)(b + 16)));
        x2 = _mm_xor_si128(fold(x2, k512), _mm_loadu_si128((const __m128i *)(b + 32)));
        x3 = _mm_xor_si128(fold(x3, k512), _mm_loadu_si128((const __m128i *)(b + 48)));
        b += 64;
        n -= 64;
    }
    __m128i x = _mm_xor_si128(fold(x0, k128), x1);
    x = _mm_xor_si128(fold(x, k128), x2);
    x = _mm_xor_si128(fold(x, k128), x3);
    while (n >= 16) {
        x = _mm_xor_si128(fold(x, k128), _mm_loadu_si128((const __m128i *)b));
        b += 16;
        n -= 16;
    }
    unsigned char last[16];
    _mm_storeu_si128((__m128i *)last, x);
    return crc64_table(crc64_table(~0ULL, last, sizeof last), b, n);
}
#endif

static void crc64_init(void)
{
    crc64_build();
#if defined(__x86_64__)
    crc64_fold_build();
#endif
}

uint64_t hf_crc64nvme(uint64_t crc, const void *p, size_t n)
{
    pthread_once(&crc64_once, crc64_init);
#if defined(__x86_64__)
    if (crc64_clmul && n >= 64)
        return crc64_clmul_run(crc, p, n);
#endif
    return crc64_table(crc, p, n);
}

/* For tests: the portable path whatever the CPU. */
uint64_t hf_crc64nvme_portable(uint64_t crc, const void *p, size_t n)
{
    pthread_once(&crc64_once, crc64_init);
    return crc64_table(crc, p, n);
}

int hf_hashset_init(hf_hashset_t *h, unsigned which)
{
    memset(h, 0, sizeof *h);
    h->which = which;
    int rc = HF_OK;
    if ((which & HF_HS_MD5) && (rc = hf_digest_init(&h->md5, HF_DIGEST_MD5)))
        goto fail;
    if ((which & HF_HS_SHA256) && (rc = hf_digest_init(&h->sha256, HF_DIGEST_SHA256)))
        goto fail;
    if ((which & HF_HS_SHA1) && (rc = hf_digest_init(&h->sha1, HF_DIGEST_SHA1)))
        goto fail;
    return HF_OK;
fail:
    hf_hashset_free(h);
    return rc;
}

void hf_hashset_update(hf_hashset_t *h, const void *p, size_t n)
{
    unsigned w = h->which;
    if (w & HF_HS_MD5)
        hf_digest_update(&h->md5, p, n);
    if (w & HF_HS_SHA256)
        hf_digest_update(&h->sha256, p, n);
    if (w & HF_HS_SHA1)
        hf_digest_update(&h->sha1, p, n);
    if (w & HF_HS_CRC32)
        h->crc32 = hf_crc32(h->crc32, p, n);
    if (w & HF_HS_CRC32C)
        h->crc32c = hf_crc32c(h->crc32c, p, n);
    if (w & HF_HS_CRC64NVME)
        h->crc64nvme = hf_crc64nvme(h->crc64nvme, p, n);
    h->bytes += n;
}

void hf_hashset_final(hf_hashset_t *h, unsigned char md5[HF_MD5_LEN],
                      unsigned char sha256[HF_SHA256_LEN], unsigned char sha1[HF_SHA1_LEN])
{
    if (md5)
        hf_digest_final(&h->md5, md5);
    if (sha256)
        hf_digest_final(&h->sha256, sha256);
    if (sha1)
        hf_digest_final(&h->sha1, sha1);
    hf_hashset_free(h);
}

void hf_hashset_free(hf_hashset_t *h)
{
    hf_digest_free(&h->md5);
    hf_digest_free(&h->sha256);
    hf_digest_free(&h->sha1);
}

/* ---- combining CRCs ----------------------------------------------------------
 * Appending n zero bytes to a message is a linear map on the CRC register;
 * it is built by repeated squaring of the one-zero-bit operator (a 64x64
 * matrix over GF(2), one u64 per column), so combining costs O(log n)
 * matrix products whatever the lengths. Valid for reflected CRCs whose
 * initial value and final xor are equal (all three here use all ones). */

static uint64_t gf2_times(const uint64_t *mat, uint64_t vec)
{
    uint64_t sum = 0;
    for (int i = 0; vec; i++, vec >>= 1)
        if (vec & 1)
            sum ^= mat[i];
    return sum;
}

static void gf2_square(uint64_t *sq, const uint64_t *mat, int width)
{
    for (int n = 0; n < width; n++)
        sq[n] = gf2_times(mat, mat[n]);
}

static uint64_t crc_combine(uint64_t crc_a, uint64_t crc_b, uint64_t len_b, uint64_t poly, int width)
{
    if (len_b == 0)
        return crc_a;
    uint64_t even[64], odd[64];
    odd[0] = poly; /* the operator for one zero bit */
    uint64_t row = 1;
    for (int n = 1; n < width; n++) {
        odd[n] = row;
        row <<= 1;
    }
    gf2_square(even, odd, width); /* two zero bits */
    gf2_square(odd, even, width); /* four */
    /* apply len_b zero bytes: the first square below gives one byte */
    do {
        gf2_square(even, odd, width);
        if (len_b & 1)
            crc_a = gf2_times(even, crc_a);
        len_b >>= 1;
        if (!len_b)
            break;
        gf2_square(odd, even, width);
        if (len_b & 1)
            crc_a = gf2_times(odd, crc_a);
        len_b >>= 1;
    } while (len_b);
    return crc_a ^ crc_b;
}

uint32_t hf_crc32_combine(uint32_t crc_a, uint32_t crc_b, uint64_t len_b)
{
    return (uint32_t)crc_combine(crc_a, crc_b, len_b, 0xedb88320u, 32);
}

uint32_t hf_crc32c_combine(uint32_t crc_a, uint32_t crc_b, uint64_t len_b)
{
    return (uint32_t)crc_combine(crc_a, crc_b, len_b, 0x82f63b78u, 32);
}

uint64_t hf_crc64nvme_combine(uint64_t crc_a, uint64_t crc_b, uint64_t len_b)
{
    return crc_combine(crc_a, crc_b, len_b, 0x9a6c9329ac4bc9b5ULL, 64);
}
