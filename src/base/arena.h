/*
 * arena.h -- per-request bump allocator (h2o's req->pool).
 *
 * A request's parsed headers, decoded key, canonical request and response
 * scratch come from one arena and are released together when the request
 * ends, so request handling has no per-object free() paths to get wrong.
 * Blocks are kept across hf_arena_reset() so a keep-alive connection's next
 * request allocates nothing in the common case.
 *
 * An arena has a hard cap (max bytes in all blocks); past it allocation
 * returns NULL, which callers report as -ENOMEM / HF_E_TOOBIG.
 *
 * Ownership: memory returned is owned by the arena, valid until the next
 * hf_arena_reset() or hf_arena_free(). Threads: one owner at a time.
 */
#ifndef HF_BASE_ARENA_H
#define HF_BASE_ARENA_H

#include <stddef.h>

typedef struct hf_arena_block hf_arena_block_t;

typedef struct hf_arena {
    hf_arena_block_t *head; /* block being filled */
    hf_arena_block_t *full; /* blocks already filled */
    size_t used;            /* bytes in all blocks */
    size_t max;             /* cap on used */
} hf_arena_t;

void hf_arena_init(hf_arena_t *a, size_t max);
/* Free everything, including the cached block. */
void hf_arena_free(hf_arena_t *a);
/* Forget all allocations, keeping one block for reuse. */
void hf_arena_reset(hf_arena_t *a);

/* n bytes aligned to 16, or NULL if the cap or memory is exhausted. */
void *hf_arena_alloc(hf_arena_t *a, size_t n);
/* As hf_arena_alloc, zero-filled. */
void *hf_arena_calloc(hf_arena_t *a, size_t n);
/* A NUL-terminated copy of the n bytes at s (NULL on exhaustion). */
char *hf_arena_strndup(hf_arena_t *a, const char *s, size_t n);
char *hf_arena_strdup(hf_arena_t *a, const char *s);
/* printf into the arena. */
char *hf_arena_printf(hf_arena_t *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif /* HF_BASE_ARENA_H */
