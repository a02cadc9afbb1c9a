/*
 * common.c -- helpers the signature modules share (see common.h): reading
 * headers and query parameters of a request, and error messages that never
 * echo unbounded or unprintable client bytes.
 */
#include "auth/common.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int hf_auth_fail(char *msg, size_t cap, int st, const char *fmt, ...)
{
    if (msg && cap) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, cap, fmt, ap);
        va_end(ap);
    }
    return st;
}

const char *hf_auth_show(char *tmp, size_t cap, const char *s, size_t n)
{
    size_t o = 0;
    for (size_t i = 0; i < n && o + 4 < cap; i++) {
        unsigned char c = (unsigned char)s[i];
        tmp[o++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
    }
    if (o + 4 >= cap && n > o) {
        tmp[o++] = '.';
        tmp[o++] = '.';
        tmp[o++] = '.';
    }
    tmp[o] = '\0';
    return tmp;
}

bool hf_auth_is_ws(char c)
{
    return c == ' ' || c == '\t';
}

bool hf_auth_visible(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c <= 0x20 || c >= 0x7f)
            return false;
    }
    return true;
}

char hf_auth_lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
}

bool hf_auth_ieq(hf_str_t a, const char *b, size_t bn)
{
    if (a.n != bn)
        return false;
    for (size_t i = 0; i < bn; i++)
        if (hf_auth_lower(a.p[i]) != hf_auth_lower(b[i]))
            return false;
    return true;
}

bool hf_auth_iprefix(hf_str_t a, const char *pre)
{
    size_t n = strlen(pre);
    if (a.n < n)
        return false;
    for (size_t i = 0; i < n; i++)
        if (hf_auth_lower(a.p[i]) != pre[i])
            return false;
    return true;
}

int hf_auth_name_cmp(const char *a, size_t an, const char *b, size_t bn)
{
    int c = memcmp(a, b, an < bn ? an : bn);
    if (c)
        return c;
    return an < bn ? -1 : an > bn ? 1 : 0;
}

int hf_auth_find_header(const hf_sigv4_input_t *in, const char *name, hf_str_t *value)
{
    int count = 0;
    size_t n = strlen(name);
    for (int i = 0; i < in->nheaders; i++) {
        if (hf_auth_ieq(in->headers[i].name, name, n)) {
            if (count == 0 && value)
                *value = in->headers[i].value;
            count++;
        }
    }
    return count;
}

bool hf_auth_next_param(hf_str_t *rest, hf_str_t *name, hf_str_t *value, bool *has_eq)
{
    while (rest->n > 0) {
        const char *amp = memchr(rest->p, '&', rest->n);
        size_t seg = amp ? (size_t)(amp - rest->p) : rest->n;
        hf_str_t s = {rest->p, seg};
        rest->p += seg + (amp ? 1 : 0);
        rest->n -= seg + (amp ? 1 : 0);
        if (seg == 0)
            continue; /* "a=1&&b=2": an empty segment is no parameter */
        const char *eq = memchr(s.p, '=', s.n);
        if (eq) {
            *name = (hf_str_t){s.p, (size_t)(eq - s.p)};
            *value = (hf_str_t){eq + 1, s.n - (size_t)(eq - s.p) - 1};
        } else {
            *name = s;
            *value = (hf_str_t){s.p + s.n, 0};
        }
        *has_eq = eq != NULL;
        return true;
    }
    return false;
}

bool hf_auth_qname_is(hf_str_t raw, const char *want)
{
    char tmp[64];
    size_t wn = strlen(want);
    if (raw.n >= sizeof tmp)
        return false;
    long n = hf_uri_decode(tmp, raw.p, raw.n);
    return n == (long)wn && memcmp(tmp, want, wn) == 0;
}

int hf_auth_find_param(hf_str_t query, const char *name, hf_str_t *value)
{
    hf_str_t rest = query, n, v;
    bool eq;
    int count = 0;
    while (hf_auth_next_param(&rest, &n, &v, &eq)) {
        if (hf_auth_qname_is(n, name)) {
            if (count == 0 && value)
                *value = v;
            count++;
        }
    }
    return count;
}

long hf_auth_qdecode(hf_str_t raw, char *out, size_t cap)
{
    if (raw.n >= cap)
        return -2;
    long n = hf_uri_decode(out, raw.p, raw.n);
    if (n < 0 || memchr(out, '\0', (size_t)n))
        return -1;
    return n;
}
