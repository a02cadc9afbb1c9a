/* buf.c -- capped growable buffer; see buf.h. */
#include "base/buf.h"

#include "base/err.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void hf_buf_init(hf_buf_t *b, size_t max)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->max = max;
}

void hf_buf_free(hf_buf_t *b)
{
    free(b->data);
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}

void hf_buf_reset(hf_buf_t *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}

/* Ensure room for n more bytes plus the NUL. */
static int grow(hf_buf_t *b, size_t n)
{
    if (n > b->max || b->len > b->max - n)
        return HF_E_TOOBIG;
    size_t need = b->len + n + 1;
    if (need <= b->cap)
        return HF_OK;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap *= 2;
    if (cap > b->max + 1)
        cap = b->max + 1;
    char *p = realloc(b->data, cap);
    if (!p)
        return -ENOMEM;
    b->data = p;
    b->cap = cap;
    return HF_OK;
}

int hf_buf_append(hf_buf_t *b, const void *p, size_t n)
{
    int rc = grow(b, n);
    if (rc)
        return rc;
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return HF_OK;
}

int hf_buf_puts(hf_buf_t *b, const char *s)
{
    return hf_buf_append(b, s, strlen(s));
}

int hf_buf_putc(hf_buf_t *b, char c)
{
    return hf_buf_append(b, &c, 1);
}

int hf_buf_vprintf(hf_buf_t *b, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0)
        return HF_E_INVAL;
    int rc = grow(b, (size_t)n);
    if (rc)
        return rc;
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
    return HF_OK;
}

int hf_buf_printf(hf_buf_t *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = hf_buf_vprintf(b, fmt, ap);
    va_end(ap);
    return rc;
}

char *hf_buf_reserve(hf_buf_t *b, size_t n)
{
    if (grow(b, n))
        return NULL;
    return b->data + b->len;
}

void hf_buf_commit(hf_buf_t *b, size_t k)
{
    b->len += k;
    b->data[b->len] = '\0';
}

void hf_buf_consume(hf_buf_t *b, size_t n)
{
    if (n >= b->len) {
        hf_buf_reset(b);
        return;
    }
    memmove(b->data, b->data + n, b->len - n);
    b->len -= n;
    b->data[b->len] = '\0';
}

char *hf_buf_steal(hf_buf_t *b)
{
    char *p = b->data;
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    return p;
}
