/*
 * rand.h -- cryptographically strong random bytes from the kernel.
 * Used for ids (chunk data ids, upload ids, request ids) and generated keys.
 * Threads: thread-safe.
 */
#ifndef HF_BASE_RAND_H
#define HF_BASE_RAND_H

#include <stddef.h>

/* Fill p with n random bytes. Returns HF_OK or a negative errno. */
int hf_rand_bytes(void *p, size_t n);

#endif
