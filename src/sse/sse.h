/*
 * sse.h -- how one object is encrypted: its data key, how that key is
 * kept (wrapped under a master key, or under the customer's key), and the
 * object-level values derived from it.
 *
 * Key hierarchy:
 *
 *   SSE-S3   master key (keyring, by id) --wraps--> data key
 *   SSE-C    customer key (sent with each request, never stored)
 *              --derives--> key-encryption key --wraps--> data key
 *              --derives--> check value (salted; proves a later key is the same)
 *   both     data key --derives--> each blob's key (chunk/store.c), the
 *              inline data's key, the SSE-C ETag
 *
 * A data key is 32 random bytes, drawn for each object (and each multipart
 * upload, whose parts share it); it never leaves memory unwrapped. A
 * wrap is AES-256-GCM with a random nonce, authenticated together with
 * the mode and the master key id, so a wrapped key cannot be moved to
 * another mode or key id. The descriptor -- mode, master key id, the
 * wrapped key, and for SSE-C the salt and check value -- is what an
 * object record stores (meta tag 0x81; layout in FORMAT-meta.md).
 *
 * Why a data key per object even for SSE-C: the customer key then never
 * touches data directly, a part upload or copy needs only one unwrap, and
 * rotating master keys never touches data (only wrapped keys name them).
 *
 * Ownership: callers own every buffer; functions copy what they keep.
 * Threads: all functions are thread-safe (the keyring is).
 */
#ifndef HF_SSE_SSE_H
#define HF_SSE_SSE_H

#include "sse/keyring.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum hf_sse_mode { HF_SSE_NONE = 0, HF_SSE_S3 = 1, HF_SSE_C = 2 };

#define HF_SSE_KEY_LEN 32     /* data keys and customer keys: AES-256 */
#define HF_SSE_SEAL_EXTRA 16  /* bytes a sealed inline object adds (the GCM tag) */
#define HF_SSE_DESC_MAX 128   /* an encoded descriptor is at most this long */

typedef struct hf_sse_desc {
    uint8_t mode;          /* enum hf_sse_mode */
    uint32_t key_id;       /* SSE-S3: the master key that wraps the data key; SSE-C: 0 */
    uint8_t nonce[12];     /* of the wrap */
    uint8_t wrapped[32];   /* the data key, encrypted */
    uint8_t tag[16];       /* of the wrap */
    uint8_t salt[16];      /* SSE-C: random, per object */
    uint8_t check[32];     /* SSE-C: HMAC-SHA256(customer key, label || salt) */
} hf_sse_desc_t;

/* Encode d for a record: *len bytes of out (HF_SSE_DESC_MAX). */
void hf_sse_encode(const hf_sse_desc_t *d, uint8_t out[HF_SSE_DESC_MAX], size_t *len);
/* Decode a record's descriptor: HF_OK, HF_E_CORRUPT (wrong length for its
 * mode), HF_E_VERSION (a descriptor version or mode this build does not
 * know: never read such an object as something else). */
int hf_sse_decode(const uint8_t *p, size_t n, hf_sse_desc_t *d);

/* A new data key (into dk) for an SSE-S3 object, wrapped under the
 * keyring's active key into d. HF_OK, HF_E_NOKEY (no keyring), or an
 * OpenSSL/randomness failure. */
int hf_sse_new_s3(const hf_keyring_t *k, hf_sse_desc_t *d, uint8_t dk[HF_SSE_KEY_LEN]);
/* A new data key for an SSE-C object, wrapped under a key derived from
 * the customer key ck (with a fresh salt), and ck's check value. */
int hf_sse_new_c(const uint8_t ck[HF_SSE_KEY_LEN], hf_sse_desc_t *d, uint8_t dk[HF_SSE_KEY_LEN]);

/* The data key of an SSE-S3 object. HF_E_NOKEY (its master key is not in
 * the keyring), HF_E_CORRUPT (the wrap does not open: damage). */
int hf_sse_open_s3(const hf_keyring_t *k, const hf_sse_desc_t *d, uint8_t dk[HF_SSE_KEY_LEN]);
/* Is ck the customer key this SSE-C object was written with? (Constant
 * time; compares the salted check value, never a stored key.) */
bool hf_sse_c_matches(const hf_sse_desc_t *d, const uint8_t ck[HF_SSE_KEY_LEN]);
/* The data key of an SSE-C object. HF_E_DENIED (ck is not its key),
 * HF_E_CORRUPT (the check passed but the wrap does not open: damage). */
int hf_sse_open_c(const hf_sse_desc_t *d, const uint8_t ck[HF_SSE_KEY_LEN], uint8_t dk[HF_SSE_KEY_LEN]);

/* The ETag of an SSE-C object or part: S3 gives them an ETag that is not
 * the MD5 of the data (which would let anyone who may list the bucket test
 * guesses of the content). HMAC-SHA256(data key, label || md5), first 16
 * bytes: stable for the object, unrelated to its content for anyone
 * without the key. */
void hf_sse_etag(const uint8_t dk[HF_SSE_KEY_LEN], const uint8_t md5[16], uint8_t out[16]);

/* Inline objects (at most HF_INLINE_MAX bytes, kept in the metadata
 * record) are one GCM message under a key derived from the data key:
 * seal n bytes of in into out (n + HF_SSE_SEAL_EXTRA bytes); open stored
 * bytes (n >= HF_SSE_SEAL_EXTRA) into out (n - HF_SSE_SEAL_EXTRA bytes).
 * open: HF_E_CORRUPT when they do not authenticate (out zeroed). */
int hf_sse_seal_inline(const uint8_t dk[HF_SSE_KEY_LEN], const void *in, size_t n, uint8_t *out);
int hf_sse_open_inline(const uint8_t dk[HF_SSE_KEY_LEN], const uint8_t *in, size_t n, uint8_t *out);

/* The name S3 uses for the mode ("AES256" for both SSE-S3 and the SSE-C
 * algorithm; "" for none). */
const char *hf_sse_algorithm(uint8_t mode);

#endif /* HF_SSE_SSE_H */
