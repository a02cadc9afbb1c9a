/*
 * chunked.c -- push decoder for aws-chunked request bodies (see chunked.h).
 *
 * Approach: a byte-driven state machine. Size lines and trailer lines are
 * collected in the fixed line[] buffer (so a line can never outgrow
 * HF_HTTP_CHUNK_LINE_MAX); chunk data is copied straight from input to output
 * in bulk and, in the signed modes, hashed on the way, so nothing is
 * buffered. A chunk's signature is checked the moment its last data byte has
 * been seen, before the next chunk's size line is even read. Errors are
 * sticky: the state becomes the (negative) error code.
 *
 * Wire forms, as the SDKs write them (surveyed from their sources):
 *   - botocore (unsigned trailer): "<hex>\r\n<data>\r\n" ... "0\r\n"
 *     "x-amz-checksum-<alg>:<b64>\r\n\r\n"; without a checksum "0\r\n\r\n".
 *   - JS SDK v3 (@smithy/util-stream): the same; with no checksum it ends
 *     right after "0\r\n" -- the case hf_awschunked_finish() exists for.
 *   - Go SDK v2: "0\r\n" + "name:value\r\n" per trailer + "\r\n".
 *   - Java SDK v2, Kotlin, Rust and .NET (signed): "0;chunk-signature=..\r\n"
 *     directly followed by the trailer lines, "x-amz-trailer-signature:..\r\n"
 *     and "\r\n"; the Rust SDK writes size lines in upper-case hex.
 * All of these decode here. Refused as garbage: bare LF or CR, folded or
 * nameless trailer lines, a trailer signature that is not last or appears in
 * an unsigned body, trailers in a body that declared none, duplicate
 * trailers. Bytes after the final CRLF are left unconsumed for the caller.
 *
 * The trailer signature covers the trailers other than itself, as each SDK
 * canonicalises them: sorted by name, "name:value\n" each (checked against
 * the example in AWS's trailing-header documentation).
 */
#include "auth/chunked.h"

#include "base/err.h"

#include <errno.h>
#include <string.h>

enum {
    ST_SIZE = 0, /* collecting a chunk-size line */
    ST_DATA,     /* copying chunk data */
    ST_DATA_CR,  /* the CR after chunk data */
    ST_DATA_LF,  /* the LF after chunk data */
    ST_TRAILER,  /* collecting trailer lines, after the final chunk */
    ST_DONE,
};

static int fail(hf_awschunked_t *d, int err, const char *why)
{
    d->state = err;
    d->why = why;
    return err;
}

static bool is_signed(const hf_awschunked_t *d)
{
    return d->mode == HF_PAYLOAD_STREAMING_SIGNED ||
           d->mode == HF_PAYLOAD_STREAMING_SIGNED_TRAILER;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static bool is_ws(char c)
{
    return c == ' ' || c == '\t';
}

static bool is_tchar(unsigned char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return true;
    return c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* Control bytes other than HTAB have no business in a line's text. */
static bool has_ctl(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c < 0x20 && c != '\t') || c == 0x7f)
            return true;
    }
    return false;
}

int hf_awschunked_init(hf_awschunked_t *d, enum hf_payload_mode mode, const hf_sigv4_t *auth)
{
    memset(d, 0, sizeof *d);
    d->state = ST_SIZE;
    switch (mode) {
    case HF_PAYLOAD_STREAMING_SIGNED:
    case HF_PAYLOAD_STREAMING_SIGNED_TRAILER:
        if (!auth)
            return fail(d, HF_E_INVAL, "signed aws-chunked body without a verified signature");
        memcpy(d->key, auth->signing_key, sizeof d->key);
        memcpy(d->amz_date, auth->amz_date, sizeof d->amz_date);
        d->amz_date[sizeof d->amz_date - 1] = '\0';
        memcpy(d->scope, auth->scope, sizeof d->scope);
        d->scope[sizeof d->scope - 1] = '\0';
        memcpy(d->prev_sig, auth->signature, sizeof d->prev_sig); /* the seed */
        break;
    case HF_PAYLOAD_STREAMING_UNSIGNED_TRAILER:
        break;
    default:
        return fail(d, HF_E_INVAL, "not an aws-chunked payload mode");
    }
    d->mode = mode;
    return HF_OK;
}

void hf_awschunked_free(hf_awschunked_t *d)
{
    hf_digest_free(&d->chunk_sha);
    memset(d->key, 0, sizeof d->key);
}

bool hf_awschunked_done(const hf_awschunked_t *d)
{
    return d->done;
}

const hf_str_t *hf_awschunked_trailer(const hf_awschunked_t *d, const char *name)
{
    if (!d->done || !name)
        return NULL;
    size_t n = strlen(name);
    for (int i = 0; i < d->ntrailers; i++) {
        const hf_str_t *t = &d->trailers[i].name;
        if (t->n == n && hf_strn_ieq(t->p, t->n, name))
            return &d->trailers[i].value;
    }
    return NULL;
}

/* Check the announced signature of the chunk whose data hashes to h. */
static int check_chunk(hf_awschunked_t *d, const unsigned char h[HF_SHA256_LEN])
{
    unsigned char want[HF_SHA256_LEN];
    hf_sigv4_chunk_signature(d->key, d->amz_date, d->scope, d->prev_sig, h, want);
    if (!hf_ct_equal(want, d->chunk_sig, HF_SHA256_LEN))
        return fail(d, HF_E_AUTH, "aws-chunked chunk signature does not match");
    memcpy(d->prev_sig, d->chunk_sig, HF_SHA256_LEN);
    return HF_OK;
}

/* "<hex>[;chunk-signature=<64 hex>]" (signed) or "<hex>[;ext]" (unsigned). */
static int size_line(hf_awschunked_t *d)
{
    static const char ext[] = ";chunk-signature=";
    const size_t extlen = sizeof ext - 1;
    const char *s = d->line;
    size_t n = d->linelen, i = 0;
    uint64_t size = 0;
    for (; i < n && hexval(s[i]) >= 0; i++) {
        if (i == HF_HTTP_CHUNK_SIZE_DIGITS)
            return fail(d, HF_E_PROTO, "aws-chunked chunk size has too many digits");
        size = size << 4 | (uint64_t)hexval(s[i]);
    }
    if (i == 0)
        return fail(d, HF_E_PROTO, "aws-chunked chunk size is not a hex number");
    const char *rest = s + i;
    size_t rn = n - i;
    if (is_signed(d)) {
        if (rn != extlen + 2 * HF_SHA256_LEN || memcmp(rest, ext, extlen) != 0 ||
            hf_hex_decode(d->chunk_sig, rest + extlen, HF_SHA256_LEN) != HF_OK)
            return fail(d, HF_E_PROTO,
                        "aws-chunked size line must be <hex size>;chunk-signature=<64 hex>");
    } else {
        size_t j = 0;
        while (j < rn && is_ws(rest[j]))
            j++;
        if ((j < rn && rest[j] != ';') || (j == rn && j > 0) || has_ctl(rest, rn))
            return fail(d, HF_E_PROTO, "unexpected text after the aws-chunked chunk size");
    }

    if (size > 0) {
        d->remaining = size;
        if (is_signed(d) && hf_digest_init(&d->chunk_sha, HF_DIGEST_SHA256) != HF_OK)
            return fail(d, -ENOMEM, "out of memory");
        d->state = ST_DATA;
        return HF_OK;
    }
    /* The final chunk: signed too, over no data. */
    if (is_signed(d)) {
        unsigned char h[HF_SHA256_LEN];
        hf_sha256("", 0, h);
        int rc = check_chunk(d, h);
        if (rc)
            return rc;
    }
    d->state = ST_TRAILER;
    return HF_OK;
}

static int trailer_line(hf_awschunked_t *d)
{
    char *s = d->line;
    size_t n = d->linelen;
    if (d->mode == HF_PAYLOAD_STREAMING_SIGNED)
        return fail(d, HF_E_PROTO, "trailer in an aws-chunked body that declares no trailer");
    if (d->have_trailer_sig)
        return fail(d, HF_E_PROTO, "trailer line after x-amz-trailer-signature");
    size_t c = 0;
    while (c < n && is_tchar((unsigned char)s[c]))
        c++;
    if (c == 0 || c == n || s[c] != ':')
        return fail(d, HF_E_PROTO, "trailer line is not name:value");
    size_t v = c + 1, e = n;
    while (v < e && is_ws(s[v]))
        v++;
    while (e > v && is_ws(s[e - 1]))
        e--;
    if (has_ctl(s + v, e - v))
        return fail(d, HF_E_PROTO, "control character in a trailer value");
    for (size_t k = 0; k < c; k++)
        if (s[k] >= 'A' && s[k] <= 'Z')
            s[k] = (char)(s[k] + 32);

    hf_str_t name = {s, c};
    if (hf_str_eq(name, "x-amz-trailer-signature")) {
        if (d->mode != HF_PAYLOAD_STREAMING_SIGNED_TRAILER)
            return fail(d, HF_E_PROTO, "x-amz-trailer-signature in an unsigned aws-chunked body");
        if (e - v != 2 * HF_SHA256_LEN ||
            hf_hex_decode(d->trailer_sig, s + v, HF_SHA256_LEN) != HF_OK)
            return fail(d, HF_E_PROTO, "x-amz-trailer-signature must be 64 hex digits");
        d->have_trailer_sig = true;
        return HF_OK;
    }
    for (int i = 0; i < d->ntrailers; i++)
        if (d->trailers[i].name.n == c && memcmp(d->trailers[i].name.p, s, c) == 0)
            return fail(d, HF_E_PROTO, "trailer sent twice");
    if (d->ntrailers == HF_AWSCHUNKED_TRAILERS_MAX)
        return fail(d, HF_E_TOOBIG, "too many trailers in the aws-chunked body");
    if (n > sizeof d->trailer - d->trailerlen)
        return fail(d, HF_E_TOOBIG, "aws-chunked trailer section too long");

    char *t = d->trailer + d->trailerlen;
    memcpy(t, s, n);
    d->trailers[d->ntrailers].name = (hf_str_t){t, c};
    d->trailers[d->ntrailers].value = (hf_str_t){t + v, e - v};
    d->ntrailers++;
    d->trailerlen += n;
    return HF_OK;
}

/* End of the trailer section: check the trailer signature, finish. */
static int end_trailers(hf_awschunked_t *d)
{
    if (d->mode == HF_PAYLOAD_STREAMING_SIGNED_TRAILER && (d->ntrailers || d->have_trailer_sig)) {
        if (!d->have_trailer_sig)
            return fail(d, HF_E_AUTH, "aws-chunked trailer is not signed");
        /* Canonical trailers: sorted by name, "name:value\n" each. */
        int idx[HF_AWSCHUNKED_TRAILERS_MAX];
        for (int i = 0; i < d->ntrailers; i++) {
            int k = i;
            while (k > 0) {
                const hf_str_t *a = &d->trailers[idx[k - 1]].name, *b = &d->trailers[i].name;
                int cmp = memcmp(a->p, b->p, a->n < b->n ? a->n : b->n);
                if (cmp < 0 || (cmp == 0 && a->n <= b->n))
                    break;
                idx[k] = idx[k - 1];
                k--;
            }
            idx[k] = i;
        }
        char canon[HF_HTTP_TRAILER_MAX + 2 * HF_AWSCHUNKED_TRAILERS_MAX];
        size_t len = 0;
        for (int i = 0; i < d->ntrailers; i++) {
            const hf_str_t *nm = &d->trailers[idx[i]].name, *val = &d->trailers[idx[i]].value;
            memcpy(canon + len, nm->p, nm->n);
            len += nm->n;
            canon[len++] = ':';
            memcpy(canon + len, val->p, val->n);
            len += val->n;
            canon[len++] = '\n';
        }
        unsigned char h[HF_SHA256_LEN], want[HF_SHA256_LEN];
        hf_sha256(canon, len, h);
        hf_sigv4_trailer_signature(d->key, d->amz_date, d->scope, d->prev_sig, h, want);
        if (!hf_ct_equal(want, d->trailer_sig, HF_SHA256_LEN))
            return fail(d, HF_E_AUTH, "aws-chunked trailer signature does not match");
        memcpy(d->prev_sig, d->trailer_sig, HF_SHA256_LEN);
    }
    d->state = ST_DONE;
    d->done = true;
    return HF_OK;
}

/* Add one byte to the current line. 1: the line (without CRLF) is complete
 * in line[0..linelen); 0: more to come; < 0: error. */
static int line_byte(hf_awschunked_t *d, char c)
{
    if (c == '\n') {
        if (d->linelen == 0 || d->line[d->linelen - 1] != '\r')
            return fail(d, HF_E_PROTO, "aws-chunked line ends in a bare LF");
        d->linelen--;
        return 1;
    }
    if (d->linelen > 0 && d->line[d->linelen - 1] == '\r')
        return fail(d, HF_E_PROTO, "aws-chunked line has a CR not followed by LF");
    if (d->linelen == sizeof d->line)
        return fail(d, HF_E_TOOBIG, d->state == ST_SIZE ? "aws-chunked size line too long"
                                                        : "aws-chunked trailer line too long");
    d->line[d->linelen++] = c;
    return 0;
}

int hf_awschunked_decode(hf_awschunked_t *d, const char *in, size_t inlen, size_t *consumed,
                         char *out, size_t outcap, size_t *produced)
{
    size_t i = 0, o = 0;
    int rc = HF_OK;
    if (d->state < 0) {
        rc = d->state;
        goto out;
    }
    while (i < inlen && d->state != ST_DONE) {
        switch (d->state) {
        case ST_SIZE:
        case ST_TRAILER: {
            int r = line_byte(d, in[i++]);
            if (r < 0) {
                rc = r;
                goto out;
            }
            if (r == 0)
                break;
            if (d->state == ST_SIZE)
                rc = size_line(d);
            else
                rc = d->linelen ? trailer_line(d) : end_trailers(d);
            d->linelen = 0;
            if (rc)
                goto out;
            break;
        }
        case ST_DATA: {
            if (o == outcap)
                goto out;
            size_t n = inlen - i;
            if (n > outcap - o)
                n = outcap - o;
            if (n > d->remaining)
                n = (size_t)d->remaining;
            memcpy(out + o, in + i, n);
            if (is_signed(d))
                hf_digest_update(&d->chunk_sha, in + i, n);
            i += n;
            o += n;
            d->remaining -= n;
            d->decoded += n;
            if (d->remaining == 0) {
                if (is_signed(d)) {
                    unsigned char h[HF_SHA256_LEN];
                    hf_digest_final(&d->chunk_sha, h);
                    rc = check_chunk(d, h);
                    if (rc)
                        goto out;
                }
                d->state = ST_DATA_CR;
            }
            break;
        }
        case ST_DATA_CR:
            if (in[i++] != '\r') {
                rc = fail(d, HF_E_PROTO, "aws-chunked chunk data is not followed by CRLF");
                goto out;
            }
            d->state = ST_DATA_LF;
            break;
        case ST_DATA_LF:
            if (in[i++] != '\n') {
                rc = fail(d, HF_E_PROTO, "aws-chunked chunk data is not followed by CRLF");
                goto out;
            }
            d->state = ST_SIZE;
            break;
        default:
            rc = fail(d, HF_E_STATE, "aws-chunked decoder in an unknown state");
            goto out;
        }
    }
out:
    *consumed = i;
    *produced = o;
    return rc;
}

int hf_awschunked_finish(hf_awschunked_t *d)
{
    if (d->state < 0)
        return d->state;
    if (d->done)
        return HF_OK;
    if (d->state != ST_TRAILER)
        return fail(d, HF_E_PROTO, d->state == ST_SIZE && d->linelen == 0
                                       ? "aws-chunked body ends before its final chunk"
                                       : "aws-chunked body ends inside a chunk");
    /* Only the final CRLF may be missing: a last trailer line without its
     * CRLF (or with a lone CR) still counts. */
    if (d->linelen > 0 && d->line[d->linelen - 1] == '\r')
        d->linelen--;
    if (d->linelen > 0) {
        int rc = trailer_line(d);
        d->linelen = 0;
        if (rc)
            return rc;
    }
    return end_trailers(d);
}
