/*
 * hash.h -- the digests holdfast computes: MD5 (ETag, Content-MD5),
 * SHA-256 (SigV4 payloads), SHA-1, and the CRCs S3 checksums use
 * (CRC32, CRC32C, CRC64/NVME). MD5/SHA come from OpenSSL 3, CRC32 and
 * CRC32C from ISA-L; CRC64/NVME is not in Debian's ISA-L and is computed
 * here with a sliced table.
 *
 * hf_hashset_t feeds one buffer to every digest a request needs while the
 * buffer is hot in cache (one pass over the body, not one per digest).
 *
 * Ownership: contexts are embedded by the caller; *_init allocates OpenSSL
 * state that *_free (or *_final) releases. Threads: contexts are
 * single-owner; the one-shot functions are thread-safe.
 */
#ifndef HF_BASE_HASH_H
#define HF_BASE_HASH_H

#include <stddef.h>
#include <stdint.h>

#define HF_MD5_LEN 16
#define HF_SHA1_LEN 20
#define HF_SHA256_LEN 32

typedef struct hf_digest {
    void *ctx; /* EVP_MD_CTX */
} hf_digest_t;

enum hf_digest_alg { HF_DIGEST_MD5, HF_DIGEST_SHA1, HF_DIGEST_SHA256 };

int hf_digest_init(hf_digest_t *d, enum hf_digest_alg alg); /* HF_OK or -ENOMEM */
void hf_digest_update(hf_digest_t *d, const void *p, size_t n);
/* Write the digest to out (16/20/32 bytes) and free the context. */
void hf_digest_final(hf_digest_t *d, unsigned char *out);
/* Free without finishing (safe on a zeroed or finished context). */
void hf_digest_free(hf_digest_t *d);

void hf_md5(const void *p, size_t n, unsigned char out[HF_MD5_LEN]);
void hf_sha256(const void *p, size_t n, unsigned char out[HF_SHA256_LEN]);
void hf_hmac_sha256(const void *key, size_t klen, const void *msg, size_t mlen,
                    unsigned char out[HF_SHA256_LEN]);
/* HMAC-SHA1, for Signature Version 2 only (auth/sigv2.h). */
void hf_hmac_sha1(const void *key, size_t klen, const void *msg, size_t mlen,
                  unsigned char out[HF_SHA1_LEN]);

/* CRCs as S3 defines them: start from 0, pass the previous value to
 * continue. Output is the plain CRC value (big-endian bytes when base64'd
 * into an x-amz-checksum-* header). */
uint32_t hf_crc32(uint32_t crc, const void *p, size_t n);   /* IEEE, reflected (zlib) */
uint32_t hf_crc32c(uint32_t crc, const void *p, size_t n);  /* Castagnoli (iSCSI) */
uint64_t hf_crc64nvme(uint64_t crc, const void *p, size_t n);
/* The same by slicing tables only, whatever the CPU offers (tests compare
 * the carry-less multiplication path against it). */
uint64_t hf_crc64nvme_portable(uint64_t crc, const void *p, size_t n);

/* The CRC of A||B from crc(A), crc(B) and the length of B, without the
 * data (zlib's crc32_combine method, for any of the three): how a
 * multipart upload's full-object checksum is built from its parts'. */
uint32_t hf_crc32_combine(uint32_t crc_a, uint32_t crc_b, uint64_t len_b);
uint32_t hf_crc32c_combine(uint32_t crc_a, uint32_t crc_b, uint64_t len_b);
uint64_t hf_crc64nvme_combine(uint64_t crc_a, uint64_t crc_b, uint64_t len_b);

/* Which digests a hashset computes. */
enum {
    HF_HS_MD5 = 1 << 0,
    HF_HS_SHA256 = 1 << 1,
    HF_HS_SHA1 = 1 << 2,
    HF_HS_CRC32 = 1 << 3,
    HF_HS_CRC32C = 1 << 4,
    HF_HS_CRC64NVME = 1 << 5,
};

typedef struct hf_hashset {
    unsigned which;
    hf_digest_t md5, sha256, sha1;
    uint32_t crc32, crc32c;
    uint64_t crc64nvme;
    uint64_t bytes;
} hf_hashset_t;

/* Start the digests named in which. HF_OK or -ENOMEM. */
int hf_hashset_init(hf_hashset_t *h, unsigned which);
void hf_hashset_update(hf_hashset_t *h, const void *p, size_t n);
/* Finish the OpenSSL digests into the given outputs (any may be NULL for a
 * digest not requested) and free the contexts. CRCs stay readable in h. */
void hf_hashset_final(hf_hashset_t *h, unsigned char md5[HF_MD5_LEN],
                      unsigned char sha256[HF_SHA256_LEN], unsigned char sha1[HF_SHA1_LEN]);
void hf_hashset_free(hf_hashset_t *h);

#endif /* HF_BASE_HASH_H */
