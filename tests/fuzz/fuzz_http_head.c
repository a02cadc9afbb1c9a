/*
 * fuzz_http_head.c -- the request head parser (net/http.c), checked
 * against Debian's llhttp (package node-llhttp, built from its installed
 * sources) as a differential oracle.
 *
 * Properties:
 *   1. Memory safety, and the parser never reports more than it was given
 *      (head_len <= len, every string inside the buffer).
 *   2. Split-invariance: "incomplete" on a prefix of a head that parses
 *      means the prefix could still begin a valid head (the parser is
 *      called again with more bytes and must then agree with itself).
 *   3. Differential: a head holdfast ACCEPTS must be accepted by llhttp
 *      too, with the same method, target, version, headers, Content-Length
 *      and chunked framing. holdfast may refuse what llhttp accepts
 *      (stricter is safe: the connection just closes); the reverse would be
 *      a place where a proxy built on llhttp and holdfast disagree about
 *      the framing -- request smuggling. Where the two specs differ on
 *      purpose the oracle is not consulted (see skip_oracle()).
 */
#include "net/http.h"

#include <llhttp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MAXH HF_HTTP_HEADERS_MAX

struct seen {
    const char *url;
    size_t url_n;
    int nfield, nvalue;
    struct {
        const char *p;
        size_t n;
    } field[MAXH + 8], value[MAXH + 8];
    int complete;
};

/* llhttp may deliver a span in pieces; the head is one buffer, so pieces
 * are adjacent and are joined by extending the length. */
static int on_url(llhttp_t *p, const char *at, size_t n)
{
    struct seen *s = p->data;
    if (!s->url)
        s->url = at;
    s->url_n = (size_t)(at + n - s->url);
    return 0;
}

static int on_field(llhttp_t *p, const char *at, size_t n)
{
    struct seen *s = p->data;
    if (s->nfield == s->nvalue) {
        if (s->nfield == MAXH + 8)
            return -1;
        s->field[s->nfield].p = at;
        s->field[s->nfield].n = 0;
        s->nfield++;
    }
    s->field[s->nfield - 1].n = (size_t)(at + n - s->field[s->nfield - 1].p);
    return 0;
}

static int on_value(llhttp_t *p, const char *at, size_t n)
{
    struct seen *s = p->data;
    if (s->nvalue < s->nfield) {
        s->value[s->nvalue].p = at;
        s->value[s->nvalue].n = 0;
        s->nvalue++;
    }
    s->value[s->nvalue - 1].n = (size_t)(at + n - s->value[s->nvalue - 1].p);
    return 0;
}

static int on_headers_complete(llhttp_t *p)
{
    ((struct seen *)p->data)->complete = 1;
    return HPE_PAUSED; /* stop at the end of the head */
}

static void trim(const char **p, size_t *n)
{
    while (*n && ((*p)[0] == ' ' || (*p)[0] == '\t')) {
        (*p)++;
        (*n)--;
    }
    while (*n && ((*p)[*n - 1] == ' ' || (*p)[*n - 1] == '\t'))
        (*n)--;
}

/* Known, deliberate differences: llhttp knows a fixed list of methods
 * (holdfast accepts any token and answers 501 later); llhttp's URL
 * alphabet is narrower than RFC 3986's visible ASCII that holdfast keeps
 * byte for byte (SigV4 signs the path as sent); llhttp refuses header
 * values with bytes >= 0x80 in strict mode, which real S3 clients send in
 * user metadata; llhttp refuses optional whitespace after a Content-Length
 * value ("5\t"), which RFC 9110 5.5 says to strip (holdfast does). None of
 * these changes the framing, and in each llhttp is the one refusing, which
 * a proxy would do before anything reached holdfast. */
static int skip_oracle(const hf_http_req_t *r, int lerr)
{
    static const char *const methods[] = {"GET", "HEAD", "PUT", "POST", "DELETE", "OPTIONS",
                                          "PATCH", NULL};
    int known = 0;
    for (int i = 0; methods[i]; i++)
        if (r->method.n == strlen(methods[i]) && memcmp(r->method.p, methods[i], r->method.n) == 0)
            known = 1;
    if (!known)
        return 1;
    if (lerr == HPE_INVALID_URL)
        return 1;
    if (lerr == HPE_INVALID_CONTENT_LENGTH) {
        const hf_http_header_t *cl = hf_http_find(r, "content-length");
        if (cl) {
            char after = cl->value.p[cl->value.n];
            if (after == ' ' || after == '\t')
                return 1;
        }
    }
    if (lerr == HPE_INVALID_HEADER_TOKEN) {
        for (int i = 0; i < r->nheaders; i++)
            for (size_t k = 0; k < r->headers[i].value.n; k++)
                if ((unsigned char)r->headers[i].value.p[k] >= 0x80)
                    return 1;
    }
    return 0;
}

static void check_oracle(const char *buf, const hf_http_req_t *r)
{
    struct seen s;
    memset(&s, 0, sizeof s);
    llhttp_settings_t set;
    llhttp_settings_init(&set);
    set.on_url = on_url;
    set.on_header_field = on_field;
    set.on_header_value = on_value;
    set.on_headers_complete = on_headers_complete;
    llhttp_t p;
    llhttp_init(&p, HTTP_REQUEST, &set);
    p.data = &s;
    int e = llhttp_execute(&p, buf, r->head_len);
    if (!(e == HPE_PAUSED && s.complete)) {
        if (skip_oracle(r, e))
            return;
        abort(); /* holdfast accepted a head llhttp refuses */
    }
    if (skip_oracle(r, 0))
        return;
    if (s.url_n != r->target.n || memcmp(s.url, r->target.p, s.url_n) != 0)
        abort();
    if (p.http_major != 1 || p.http_minor != r->minor)
        abort();
    if (s.nfield != r->nheaders || s.nvalue != r->nheaders)
        abort();
    for (int i = 0; i < r->nheaders; i++) {
        const char *v = s.value[i].p;
        size_t vn = s.value[i].n;
        trim(&v, &vn);
        if (s.field[i].n != r->headers[i].name.n ||
            memcmp(s.field[i].p, r->headers[i].name.p, s.field[i].n) != 0 ||
            vn != r->headers[i].value.n || memcmp(v, r->headers[i].value.p, vn) != 0)
            abort();
    }
    int cl = (p.flags & F_CONTENT_LENGTH) != 0;
    if (cl != (r->content_length >= 0))
        abort();
    if (cl && p.content_length != (uint64_t)r->content_length)
        abort();
    if (((p.flags & F_CHUNKED) != 0) != r->chunked)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static hf_http_req_t req, req2;
    const char *buf = (const char *)data;
    int status = 0;
    const char *why = NULL;
    int rc = hf_http_parse_head(buf, size, &req, &status, &why);
    if (rc < 0) {
        if (!why || status < 400 || status > 599)
            abort();
        return 0;
    }
    if (rc == 0)
        return 0;
    size_t hl = (size_t)rc;
    if (hl > size || hl != req.head_len || req.nheaders > HF_HTTP_HEADERS_MAX)
        abort();
    for (int i = 0; i < req.nheaders; i++) {
        const char *a = req.headers[i].name.p, *b = req.headers[i].value.p;
        if (a < buf || a + req.headers[i].name.n > buf + hl)
            abort();
        if (req.headers[i].value.n && (b < buf || b + req.headers[i].value.n > buf + hl))
            abort();
    }
    /* Every proper prefix is "incomplete", never an error. */
    for (size_t cut = hl > 64 ? hl - 64 : 0; cut < hl; cut++) {
        int rc2 = hf_http_parse_head(buf, cut, &req2, &status, &why);
        if (rc2 != 0)
            abort();
    }
    check_oracle(buf, &req);
    return 0;
}
