/* arena.c -- bump allocator in linked blocks; see arena.h. */
#include "base/arena.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BLOCK_DEFAULT (16 * 1024)

struct hf_arena_block {
    hf_arena_block_t *next;
    size_t size; /* usable bytes in mem[] */
    size_t off;  /* next free byte */
    _Alignas(16) unsigned char mem[];
};

void hf_arena_init(hf_arena_t *a, size_t max)
{
    a->head = NULL;
    a->full = NULL;
    a->used = 0;
    a->max = max;
}

static void free_list(hf_arena_block_t *b)
{
    while (b) {
        hf_arena_block_t *n = b->next;
        free(b);
        b = n;
    }
}

void hf_arena_free(hf_arena_t *a)
{
    free_list(a->head);
    free_list(a->full);
    a->head = NULL;
    a->full = NULL;
    a->used = 0;
}

void hf_arena_reset(hf_arena_t *a)
{
    free_list(a->full);
    a->full = NULL;
    if (a->head) {
        /* Keep one default-sized block; an oversized one goes back. */
        if (a->head->size > BLOCK_DEFAULT) {
            free(a->head);
            a->head = NULL;
            a->used = 0;
            return;
        }
        free_list(a->head->next);
        a->head->next = NULL;
        a->head->off = 0;
        a->used = a->head->size;
    } else {
        a->used = 0;
    }
}

void *hf_arena_alloc(hf_arena_t *a, size_t n)
{
    size_t need = (n + 15) & ~(size_t)15;
    if (need < n)
        return NULL;
    hf_arena_block_t *b = a->head;
    if (!b || b->size - b->off < need) {
        size_t size = need > BLOCK_DEFAULT ? need : BLOCK_DEFAULT;
        if (size > a->max || a->used > a->max - size)
            return NULL;
        hf_arena_block_t *nb = malloc(sizeof(*nb) + size);
        if (!nb)
            return NULL;
        nb->size = size;
        nb->off = 0;
        if (b) {
            /* Retire the current block to the full list. */
            b->next = a->full;
            a->full = b;
        }
        nb->next = NULL;
        a->head = nb;
        a->used += size;
        b = nb;
    }
    void *p = b->mem + b->off;
    b->off += need;
    return p;
}

void *hf_arena_calloc(hf_arena_t *a, size_t n)
{
    void *p = hf_arena_alloc(a, n);
    if (p)
        memset(p, 0, n);
    return p;
}

char *hf_arena_strndup(hf_arena_t *a, const char *s, size_t n)
{
    char *p = hf_arena_alloc(a, n + 1);
    if (!p)
        return NULL;
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *hf_arena_strdup(hf_arena_t *a, const char *s)
{
    return hf_arena_strndup(a, s, strlen(s));
}

char *hf_arena_printf(hf_arena_t *a, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return NULL;
    char *p = hf_arena_alloc(a, (size_t)n + 1);
    if (!p)
        return NULL;
    va_start(ap, fmt);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return p;
}
