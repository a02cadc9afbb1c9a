/*
 * fuzz_form.c -- the multipart/form-data parser (net/form.c).
 *
 * Input: the first byte picks a boundary length, the next bytes are the
 * boundary (mapped into valid boundary characters), the rest is the body.
 * Properties: memory safety; split-invariance (the body fed whole, and in
 * pieces whose sizes come from the input, gives the same parts, the same
 * bytes and the same outcome); the bytes delivered never exceed the bytes
 * fed.
 */
#include "base/err.h"
#include "net/form.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct seen {
    uint64_t hash;  /* of every callback and its bytes, in order */
    size_t bytes;
} seen_t;

static void mix(seen_t *s, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        s->hash = (s->hash ^ b[i]) * 1099511628211ull;
}

static int on_part(void *ctx, const hf_form_part_t *p)
{
    seen_t *s = ctx;
    mix(s, "P", 1);
    mix(s, p->name, strlen(p->name) + 1);
    if (p->filename)
        mix(s, p->filename, strlen(p->filename) + 1);
    if (p->content_type)
        mix(s, p->content_type, strlen(p->content_type) + 1);
    return 0;
}

static int on_data(void *ctx, const char *p, size_t n)
{
    seen_t *s = ctx;
    mix(s, p, n);
    s->bytes += n;
    return 0;
}

static int on_end(void *ctx)
{
    mix(ctx, "E", 1);
    return 0;
}

static int run(const char *boundary, const char *in, size_t n, const uint8_t *sizes, size_t nsizes,
               seen_t *s, bool *done)
{
    memset(s, 0, sizeof *s);
    hf_form_t *f = malloc(sizeof *f);
    if (!f)
        abort();
    hf_form_cb_t cb = {on_part, on_data, on_end, s};
    hf_form_init(f, boundary, &cb);
    int rc = HF_OK;
    size_t pos = 0, k = 0;
    while (pos < n && rc == HF_OK) {
        size_t piece = nsizes ? (size_t)sizes[k++ % nsizes] + 1 : n;
        if (piece > n - pos)
            piece = n - pos;
        rc = hf_form_feed(f, in + pos, piece);
        pos += piece;
    }
    *done = hf_form_done(f);
    free(f);
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char bchars[] = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ'()+_,-./:=?";
    if (size < 2)
        return 0;
    size_t bl = (size_t)(data[0] % HF_FORM_BOUNDARY_MAX) + 1;
    if (size < 1 + bl)
        return 0;
    char boundary[HF_FORM_BOUNDARY_MAX + 1];
    for (size_t i = 0; i < bl; i++)
        boundary[i] = bchars[data[1 + i] % (sizeof bchars - 1)];
    boundary[bl] = '\0';
    const char *body = (const char *)data + 1 + bl;
    size_t n = size - 1 - bl;
    seen_t a, b;
    bool da, db;
    int ra = run(boundary, body, n, NULL, 0, &a, &da);
    /* piece sizes from the body's own bytes */
    int rb = run(boundary, body, n, (const uint8_t *)body, n < 64 ? n : 64, &b, &db);
    if (a.bytes > n || b.bytes > n)
        abort();
    if (ra != rb || da != db)
        abort();
    if (ra == HF_OK && (a.hash != b.hash || a.bytes != b.bytes))
        abort();
    return 0;
}
