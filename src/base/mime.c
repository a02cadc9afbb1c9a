/* mime.c -- RFC 2047 encoded-words in header values; see mime.h.
 *
 * Decoding is all or nothing: the value must be a run of well-formed
 * encoded-words (with only spaces or tabs between them) in a charset we
 * know, and their text must be clean (no NUL; valid UTF-8), or the value
 * is taken literally. So a value that merely looks like "=?x?y?z?=" in
 * part is stored as sent, and nothing is ever half decoded. Bytes are
 * written through one small writer that converts ISO-8859-1 to UTF-8 and
 * enforces the caller's capacity. */
#include "base/mime.h"

#include "base/err.h"
#include "base/str.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

enum cs { CS_ASCII, CS_UTF8, CS_LATIN1 };

typedef struct out {
    char *p;
    size_t cap, len;
    bool full;
} out_t;

/* One byte of text in charset cs, as UTF-8. */
static void put(out_t *o, enum cs cs, unsigned char c)
{
    if (cs == CS_LATIN1 && c >= 0x80) {
        if (o->len + 2 >= o->cap) {
            o->full = true;
            return;
        }
        o->p[o->len++] = (char)(0xc0 | (c >> 6));
        o->p[o->len++] = (char)(0x80 | (c & 0x3f));
        return;
    }
    if (o->len + 1 >= o->cap) {
        o->full = true;
        return;
    }
    o->p[o->len++] = (char)c;
}

static bool charset(const char *s, size_t n, enum cs *cs)
{
    const char *star = memchr(s, '*', n); /* RFC 2231 language suffix */
    if (star)
        n = (size_t)(star - s);
    if (n == 5 && strncasecmp(s, "UTF-8", 5) == 0)
        *cs = CS_UTF8;
    else if (n == 10 && strncasecmp(s, "ISO-8859-1", 10) == 0)
        *cs = CS_LATIN1;
    else if (n == 8 && strncasecmp(s, "US-ASCII", 8) == 0)
        *cs = CS_ASCII;
    else
        return false;
    return true;
}

/* One encoded-word at s[0..n) (it must start there) into o; *used is its
 * length. false when it is not a well-formed word we can decode. */
static bool word(const char *s, size_t n, out_t *o, size_t *used)
{
    if (n < 2 || s[0] != '=' || s[1] != '?')
        return false;
    const char *end = s + n, *p = s + 2;
    const char *q1 = memchr(p, '?', (size_t)(end - p));
    enum cs cs;
    if (!q1 || q1 == p || !charset(p, (size_t)(q1 - p), &cs) || end - q1 < 4 || q1[2] != '?')
        return false;
    char enc = q1[1];
    const char *t = q1 + 3, *te = t;
    while (te < end && *te != '?' && *te != ' ' && *te != '\t')
        te++;
    if (end - te < 2 || te[0] != '?' || te[1] != '=')
        return false;
    *used = (size_t)(te + 2 - s);
    if (enc == 'B' || enc == 'b') {
        size_t tn = (size_t)(te - t);
        if (tn % 4)
            return false;
        for (size_t i = 0; i < tn; i += 4) {
            unsigned char b[3];
            int k = hf_base64_decode(b, sizeof b, t + i, 4);
            if (k < 0 || (k < 3 && i + 4 < tn)) /* padding only at the end */
                return false;
            for (int j = 0; j < k; j++) {
                if (b[j] == 0 || (cs == CS_ASCII && b[j] >= 0x80))
                    return false;
                put(o, cs, b[j]);
            }
        }
        return true;
    }
    if (enc != 'Q' && enc != 'q')
        return false;
    for (const char *c = t; c < te; c++) {
        unsigned char b = (unsigned char)*c;
        if (b == '_') {
            b = ' ';
        } else if (b == '=') {
            if (te - c < 3 || hf_hex_decode(&b, c + 1, 1) != HF_OK)
                return false;
            c += 2;
        } else if (b < 0x21 || b > 0x7e) {
            return false;
        }
        if (b == 0 || (cs == CS_ASCII && b >= 0x80))
            return false;
        put(o, cs, b);
    }
    return true;
}

/* v as a run of encoded-words into o: false if it is not one. */
static bool words(const char *v, size_t n, out_t *o)
{
    size_t i = 0;
    bool any = false;
    while (i < n) {
        if (any) {
            size_t ws = i;
            while (i < n && (v[i] == ' ' || v[i] == '\t'))
                i++;
            if (i == n)
                break; /* trailing spaces: not part of any word */
            if (i == ws)
                return false; /* words must be separated */
        }
        size_t used;
        if (!word(v + i, n - i, o, &used))
            return false;
        i += used;
        any = true;
    }
    return any && !o->full && hf_utf8_valid(o->p, o->len);
}

long hf_mime_header_decode(const char *v, size_t n, char *out, size_t cap)
{
    if (cap == 0 || memchr(v, '\0', n))
        return -1;
    out_t o = {out, cap, 0, false};
    if (n >= 2 && v[0] == '=' && v[1] == '?' && words(v, n, &o)) {
        out[o.len] = '\0';
        return (long)o.len;
    }
    o.len = 0;
    o.full = false;
    enum cs cs = hf_utf8_valid(v, n) ? CS_UTF8 : CS_LATIN1;
    for (size_t i = 0; i < n && !o.full; i++)
        put(&o, cs, (unsigned char)v[i]);
    if (o.full)
        return -1;
    out[o.len] = '\0';
    return (long)o.len;
}

size_t hf_mime_header_encode_len(size_t n)
{
    return 12 + hf_base64_len(n) + 1;
}

long hf_mime_header_encode(const char *s, size_t n, char *out, size_t cap)
{
    bool plain = true;
    for (size_t i = 0; i < n && plain; i++)
        plain = (s[i] >= 0x20 && s[i] <= 0x7e) || s[i] == '\t';
    if (plain) {
        if (n + 1 > cap)
            return -1;
        memcpy(out, s, n);
        out[n] = '\0';
        return (long)n;
    }
    size_t need = 12 + hf_base64_len(n);
    if (need + 1 > cap)
        return -1;
    memcpy(out, "=?UTF-8?B?", 10);
    size_t k = hf_base64_encode(out + 10, s, n);
    memcpy(out + 10 + k, "?=", 3);
    return (long)(10 + k + 2);
}
