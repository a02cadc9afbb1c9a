/*
 * buf.h -- a growable byte buffer with a hard cap (curl's dynbuf "toobig").
 *
 * Every buffer filled from outside is created with the largest size it may
 * reach; appends beyond it fail with HF_E_TOOBIG and leave the buffer as it
 * was. The data is always NUL-terminated (the NUL is not counted in len and
 * not counted against max), so text can be used as a C string.
 *
 * Ownership: the hf_buf_t is embedded by its owner (init/free pair); the
 * memory behind data belongs to the buffer until hf_buf_free().
 * Threads: no internal locking; one owner at a time.
 */
#ifndef HF_BASE_BUF_H
#define HF_BASE_BUF_H

#include <stdarg.h>
#include <stddef.h>

typedef struct hf_buf {
    char *data;   /* NULL until the first append; NUL-terminated after */
    size_t len;   /* bytes used, excluding the terminating NUL */
    size_t cap;   /* bytes allocated, including room for the NUL */
    size_t max;   /* hard cap on len */
} hf_buf_t;

/* Initialise an empty buffer that may grow to max bytes. Cannot fail. */
void hf_buf_init(hf_buf_t *b, size_t max);

/* Release the memory; the buffer is empty and may be reused (same max). */
void hf_buf_free(hf_buf_t *b);

/* Forget the contents but keep the allocation. */
void hf_buf_reset(hf_buf_t *b);

/* Append n bytes. HF_E_TOOBIG past max, -ENOMEM on allocation failure;
 * on failure the buffer is unchanged. */
int hf_buf_append(hf_buf_t *b, const void *p, size_t n);
int hf_buf_puts(hf_buf_t *b, const char *s);
int hf_buf_putc(hf_buf_t *b, char c);
int hf_buf_printf(hf_buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int hf_buf_vprintf(hf_buf_t *b, const char *fmt, va_list ap);

/* Make room for at least n more bytes without changing len. Returns a pointer
 * to the free space (valid until the next append) or NULL (limit/memory). */
char *hf_buf_reserve(hf_buf_t *b, size_t n);
/* After writing k bytes into the space from hf_buf_reserve, count them. */
void hf_buf_commit(hf_buf_t *b, size_t k);

/* Remove the first n bytes (n <= len), moving the rest to the front. */
void hf_buf_consume(hf_buf_t *b, size_t n);

/* Take the data out of the buffer: caller owns it (free with free()); the
 * buffer is left empty. Returns NULL if the buffer was never written. */
char *hf_buf_steal(hf_buf_t *b);

#endif /* HF_BASE_BUF_H */
