/*
 * http.c -- HTTP/1.1 request framing: the strict request-head parser, the
 * Transfer-Encoding: chunked decoder and the reason-phrase table.
 *
 * The head parser is one forward pass over the caller's buffer, driven by a
 * 256-entry character-class table, with no allocation and no state kept
 * between calls: an incremental caller simply calls again with more bytes.
 * Each line is checked as far as it has arrived, so garbage is refused on
 * the first byte that proves it cannot become a valid head instead of being
 * buffered up to the head limit. Headers that decide framing (Content-Length,
 * Transfer-Encoding, Host, Connection, Expect) are interpreted the moment
 * their line is complete, for the same reason. docs/internals/HTTP.md gives
 * the reason for each strictness rule.
 *
 * The chunked decoder is a byte-level state machine for the framing with a
 * memcpy fast path for chunk data; it keeps only counters, so splitting the
 * input anywhere gives the same output.
 */
#include "net/http.h"

#include "base/err.h"

#include <string.h>

/* ---- character classes ----------------------------------------------------- */

enum {
    C_TOKEN = 1,  /* RFC 9110 tchar */
    C_TARGET = 2, /* allowed in a request-target: VCHAR except '#' */
    C_FIELD = 4,  /* allowed in a field value: SP, HTAB, VCHAR, obs-text */
    C_HOST = 8,   /* allowed in a Host value: reg-name, IP-literal and port chars */
    C_HEX = 16,   /* hex digit */
};

static const unsigned char ctab[256] = {
    0,  0,  0,  0,  0,  0,  0,  0,  0,  4,  0,  0,  0,  0,  0,  0,  /* 00 */
    0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  /* 10 */
    4,  15, 6,  5,  15, 15, 15, 15, 14, 14, 15, 15, 14, 15, 15, 6,  /* 20 */
    31, 31, 31, 31, 31, 31, 31, 31, 31, 31, 14, 14, 6,  14, 6,  6,  /* 30 */
    6,  31, 31, 31, 31, 31, 31, 15, 15, 15, 15, 15, 15, 15, 15, 15, /* 40 */
    15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 14, 6,  14, 7,  15, /* 50 */
    7,  31, 31, 31, 31, 31, 31, 15, 15, 15, 15, 15, 15, 15, 15, 15, /* 60 */
    15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 6,  7,  6,  15, 0,  /* 70 */
    4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  /* 80 */
    4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  /* 90 */
    4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  /* a0 */
    4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  /* b0 */
    4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  /* c0 */
    4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  /* d0 */
    4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  /* e0 */
    4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  /* f0 */
};

static inline unsigned char lower(unsigned char c)
{
    return (unsigned char)(c + (((unsigned)(c - 'A') < 26u) << 5));
}

/* Case-insensitive equality of p[0..n) with a lower-case literal. */
static bool ieq(const unsigned char *p, size_t n, const char *lit, size_t litn)
{
    if (n != litn)
        return false;
    for (size_t i = 0; i < n; i++)
        if (lower(p[i]) != (unsigned char)lit[i])
            return false;
    return true;
}

#define IEQ(p, n, lit) ieq((p), (n), lit, sizeof(lit) - 1)

static inline bool is_ows(unsigned char c)
{
    return c == ' ' || c == '\t';
}

/* Values and targets are most of a head's bytes, so they are scanned eight
 * bytes at a time: a word with no byte that could end or spoil the run is
 * skipped whole, and only a word that has one is looked at byte by byte.
 * The tests below report whether such a byte exists, never where. */
#define ONES 0x0101010101010101ULL
#define HIGHS 0x8080808080808080ULL

static inline uint64_t load8(const unsigned char *p)
{
    uint64_t x;
    memcpy(&x, p, sizeof x);
    return x;
}

/* Nonzero if some byte of x is below n (n <= 128). */
static inline uint64_t has_below(uint64_t x, unsigned n)
{
    return (x - ONES * n) & ~x & HIGHS;
}

static inline uint64_t has_byte(uint64_t x, unsigned char b)
{
    return has_below(x ^ (ONES * b), 1);
}

/* Index of the first byte at or after i that is not field-value text. HTAB
 * sends its word down the byte path, which accepts it. */
static size_t scan_field(const unsigned char *s, size_t i, size_t lim)
{
    for (;;) {
        while (lim - i >= 8) {
            uint64_t x = load8(s + i);
            if (has_below(x, 0x20) | has_byte(x, 0x7f))
                break;
            i += 8;
        }
        size_t stop = lim - i >= 8 ? i + 8 : lim;
        while (i < stop && (ctab[s[i]] & C_FIELD))
            i++;
        if (i < stop || stop == lim)
            return i;
    }
}

/* Index of the first byte at or after i (and before lim) that is not
 * request-target text. */
static size_t scan_target(const unsigned char *s, size_t i, size_t lim)
{
    for (;;) {
        while (lim - i >= 8) {
            uint64_t x = load8(s + i);
            if (has_below(x, 0x21) | (x & HIGHS) | has_byte(x, 0x7f) | has_byte(x, '#'))
                break;
            i += 8;
        }
        size_t stop = lim - i >= 8 ? i + 8 : lim;
        while (i < stop && (ctab[s[i]] & C_TARGET))
            i++;
        if (i < stop || stop == lim)
            return i;
    }
}

/* ---- request head ------------------------------------------------------------ */

/* Framing facts gathered while the header lines go by. */
typedef struct scan {
    int ncl, nte, nhost;
    bool conn_close, conn_keep_alive;
} scan_t;

typedef struct fail {
    int status;
    const char *why;
} fail_t;

/* Walk a comma-separated list, calling back with each trimmed element.
 * Empty elements are passed on too; the callers decide what they mean. */
typedef void (*elem_fn)(const unsigned char *p, size_t n, void *arg);

static void each_elem(const unsigned char *p, size_t n, elem_fn fn, void *arg)
{
    size_t a = 0;
    for (;;) {
        size_t b = a;
        while (b < n && p[b] != ',')
            b++;
        size_t x = a, y = b;
        while (x < y && is_ows(p[x]))
            x++;
        while (y > x && is_ows(p[y - 1]))
            y--;
        fn(p + x, y - x, arg);
        if (b == n)
            return;
        a = b + 1;
    }
}

typedef struct te_list {
    int nchunked;
    bool last_chunked, empty;
} te_list_t;

static void te_elem(const unsigned char *p, size_t n, void *arg)
{
    te_list_t *t = arg;
    bool ch = IEQ(p, n, "chunked");
    t->nchunked += ch;
    t->last_chunked = ch;
    t->empty |= n == 0;
}

static void conn_elem(const unsigned char *p, size_t n, void *arg)
{
    scan_t *s = arg;
    if (IEQ(p, n, "close"))
        s->conn_close = true;
    else if (IEQ(p, n, "keep-alive"))
        s->conn_keep_alive = true;
}

/* Limits exceeded are HF_E_TOOBIG, everything else is a protocol error. */
static int fail_rc(int status)
{
    return status == 431 || status == 414 ? HF_E_TOOBIG : HF_E_PROTO;
}

#define REFUSE(st, text)                                                                 \
    do {                                                                                 \
        f->status = (st);                                                                \
        f->why = (text);                                                                 \
        return fail_rc(st);                                                              \
    } while (0)

/* Interpret a complete header line whose name decides framing or routing. */
static int on_header(hf_http_req_t *req, scan_t *s, const unsigned char *name, size_t nn,
                     const unsigned char *v, size_t vn, fail_t *f)
{
    switch (nn) {
    case 4:
        if (!IEQ(name, nn, "host"))
            return 0;
        if (++s->nhost > 1)
            REFUSE(400, "more than one Host header");
        for (size_t i = 0; i < vn; i++)
            if (!(ctab[v[i]] & C_HOST))
                REFUSE(400, "invalid character in Host");
        req->host = (hf_str_t){(const char *)v, vn};
        return 0;
    case 6:
        if (!IEQ(name, nn, "expect"))
            return 0;
        if (!IEQ(v, vn, "100-continue"))
            REFUSE(417, "unsupported expectation");
        /* RFC 9110 10.1.1: an HTTP/1.0 client cannot wait for a 100. */
        req->expect_continue = req->minor == 1;
        return 0;
    case 10:
        if (IEQ(name, nn, "connection"))
            each_elem(v, vn, conn_elem, s);
        return 0;
    case 14: {
        if (!IEQ(name, nn, "content-length"))
            return 0;
        if (++s->ncl > 1)
            REFUSE(400, "more than one Content-Length header");
        if (s->nte)
            REFUSE(400, "both Content-Length and Transfer-Encoding");
        uint64_t x;
        if (hf_parse_u64((const char *)v, vn, &x) != HF_OK)
            REFUSE(400, "Content-Length is not 1 to 19 decimal digits");
        if (x > (uint64_t)INT64_MAX)
            REFUSE(400, "Content-Length out of range");
        req->content_length = (int64_t)x;
        return 0;
    }
    case 17: {
        if (!IEQ(name, nn, "transfer-encoding"))
            return 0;
        if (req->minor == 0)
            REFUSE(400, "Transfer-Encoding in an HTTP/1.0 request");
        if (++s->nte > 1)
            REFUSE(400, "more than one Transfer-Encoding header");
        if (s->ncl)
            REFUSE(400, "both Content-Length and Transfer-Encoding");
        if (IEQ(v, vn, "chunked")) {
            req->chunked = true;
            return 0;
        }
        te_list_t t = {0};
        each_elem(v, vn, te_elem, &t);
        /* RFC 9112 6.3: unless chunked is the final coding, the body length
         * is unknowable (400). With chunked last and once, the framing is
         * sound and only the other coding is missing here (501). */
        if (!t.empty && t.nchunked == 1 && t.last_chunked)
            REFUSE(501, "unsupported transfer coding");
        REFUSE(400, "Transfer-Encoding does not end in a single chunked");
    }
    default:
        return 0;
    }
}

int hf_http_parse_head(const char *buf, size_t len, hf_http_req_t *req, int *status,
                       const char **why)
{
    const unsigned char *s = (const unsigned char *)buf;
    /* Bytes past the limit can never be part of an acceptable head, so the
     * scan never looks at them. */
    const size_t lim = len < HF_HTTP_HEAD_MAX ? len : HF_HTTP_HEAD_MAX;
    fail_t fl = {0, NULL};
    scan_t sc = {0, 0, 0, false, false};
    size_t i = 0;
    int rc = 0;

    req->nheaders = 0;
    req->content_length = -1;
    req->chunked = false;
    req->keep_alive = false;
    req->expect_continue = false;
    req->host = (hf_str_t){buf, 0};
    req->minor = 0;

#define FAIL(st, text)                                                                   \
    do {                                                                                 \
        fl.status = (st);                                                                \
        fl.why = (text);                                                                 \
        rc = fail_rc(st);                                                                \
        goto done;                                                                       \
    } while (0)

    /* Empty lines before the request line (RFC 9112 2.2). */
    while (i < lim && s[i] == '\r') {
        if (i + 1 >= lim)
            goto more;
        if (s[i + 1] != '\n')
            FAIL(400, "CR not followed by LF");
        i += 2;
    }

    /* Method. */
    size_t m0 = i;
    size_t mend = lim - m0 > HF_HTTP_METHOD_MAX ? m0 + HF_HTTP_METHOD_MAX + 1 : lim;
    while (i < mend && (ctab[s[i]] & C_TOKEN))
        i++;
    if (i - m0 > HF_HTTP_METHOD_MAX)
        FAIL(501, "method too long");
    if (i >= lim)
        goto more;
    if (s[i] != ' ')
        FAIL(400, i == m0 ? "request line does not start with a method"
                          : "invalid character in method");
    if (i == m0)
        FAIL(400, "empty method");
    req->method = (hf_str_t){buf + m0, i - m0};
    i++;

    /* Request target: origin-form only (see HTTP.md). */
    size_t t0 = i;
    size_t tend = lim - t0 > HF_HTTP_URL_MAX ? t0 + HF_HTTP_URL_MAX + 1 : lim;
    i = scan_target(s, i, tend);
    if (i > t0 && s[t0] != '/')
        FAIL(400, "request target is not origin-form");
    if (i - t0 > HF_HTTP_URL_MAX)
        FAIL(414, "request target too long");
    if (i >= lim)
        goto more;
    if (s[i] != ' ')
        FAIL(400, "invalid character in request target");
    if (i == t0)
        FAIL(400, "empty request target");
    req->target = (hf_str_t){buf + t0, i - t0};
    {
        const char *q = memchr(buf + t0, '?', i - t0);
        if (q) {
            req->path = (hf_str_t){buf + t0, (size_t)(q - (buf + t0))};
            req->query = (hf_str_t){q + 1, (size_t)(buf + i - (q + 1))};
        } else {
            req->path = req->target;
            req->query = (hf_str_t){buf + i, 0};
        }
    }
    i++;

    /* HTTP-version, then CRLF. Checked byte by byte so that a wrong prefix
     * fails before the line is complete. */
    {
        static const char pat[] = "HTTP/D.D\r\n";
        int major = 0, minor = 0;
        for (size_t k = 0; k < sizeof pat - 1; k++, i++) {
            if (i >= lim)
                goto more;
            unsigned char c = s[i];
            if (pat[k] == 'D') {
                if (c < '0' || c > '9')
                    FAIL(400, "malformed HTTP version");
                if (k == 5)
                    major = c - '0';
                else
                    minor = c - '0';
            } else if (c != (unsigned char)pat[k]) {
                FAIL(400, k < 8 ? "malformed HTTP version" : "request line not ended by CRLF");
            }
            if (k == 7 && (major != 1 || minor > 1))
                FAIL(505, "HTTP version not supported");
        }
        req->minor = minor;
    }

    /* Header lines up to the empty line. */
    for (;;) {
        if (i >= lim)
            goto more;
        if (s[i] == '\r') {
            if (i + 1 >= lim)
                goto more;
            if (s[i + 1] != '\n')
                FAIL(400, "CR not followed by LF");
            i += 2;
            break;
        }
        if (req->nheaders == HF_HTTP_HEADERS_MAX)
            FAIL(431, "too many header lines");

        size_t n0 = i;
        while (i < lim && (ctab[s[i]] & C_TOKEN))
            i++;
        if (i >= lim)
            goto more;
        if (s[i] != ':') {
            if (i == n0 && is_ows(s[i]))
                FAIL(400, "header line starts with whitespace (obs-fold)");
            if (is_ows(s[i]))
                FAIL(400, "whitespace between header name and colon");
            if (s[i] == '\n')
                FAIL(400, "bare LF");
            FAIL(400, "invalid character in header name");
        }
        if (i == n0)
            FAIL(400, "empty header name");
        size_t n1 = i++;

        while (i < lim && is_ows(s[i]))
            i++;
        size_t v0 = i;
        i = scan_field(s, i, lim);
        if (i >= lim)
            goto more;
        if (s[i] != '\r')
            FAIL(400, s[i] == '\n' ? "bare LF" : "control character in header value");
        if (i + 1 >= lim)
            goto more;
        if (s[i + 1] != '\n')
            FAIL(400, "CR not followed by LF");
        size_t v1 = i;
        while (v1 > v0 && is_ows(s[v1 - 1]))
            v1--;
        i += 2;

        hf_http_header_t *h = &req->headers[req->nheaders++];
        h->name = (hf_str_t){buf + n0, n1 - n0};
        h->value = (hf_str_t){buf + v0, v1 - v0};
        rc = on_header(req, &sc, s + n0, n1 - n0, s + v0, v1 - v0, &fl);
        if (rc < 0)
            goto done;
    }

    if (req->minor == 1 && sc.nhost != 1)
        FAIL(400, "HTTP/1.1 request without a Host header");
    req->keep_alive = !sc.conn_close && (req->minor == 1 || sc.conn_keep_alive);
    req->head_len = i;
    rc = (int)i;
    goto done;

more:
    /* Whatever follows could still make a valid head, unless the limit
     * leaves no room for it. */
    if (len >= HF_HTTP_HEAD_MAX)
        FAIL(431, "request head too large");
    rc = 0;

done:
    if (status)
        *status = fl.status;
    if (why)
        *why = fl.why;
    return rc;
#undef FAIL
}

/* Case-insensitive equality of two n-byte strings, both of any case. */
static bool ieq_any(const char *a, const char *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (lower((unsigned char)a[i]) != lower((unsigned char)b[i]))
            return false;
    return true;
}

const hf_http_header_t *hf_http_find(const hf_http_req_t *req, const char *name)
{
    size_t n = strlen(name);
    for (int i = 0; i < req->nheaders; i++) {
        const hf_http_header_t *h = &req->headers[i];
        if (h->name.n == n && ieq_any(h->name.p, name, n))
            return h;
    }
    return NULL;
}

int hf_http_count(const hf_http_req_t *req, const char *name)
{
    size_t n = strlen(name);
    int c = 0;
    for (int i = 0; i < req->nheaders; i++) {
        const hf_http_header_t *h = &req->headers[i];
        if (h->name.n == n && ieq_any(h->name.p, name, n))
            c++;
    }
    return c;
}

/* ---- Transfer-Encoding: chunked ------------------------------------------------ */

enum {
    CK_SIZE,     /* hex digits of a chunk size */
    CK_BWS,      /* whitespace after the size, before ';' */
    CK_EXT,      /* chunk extensions, skipped */
    CK_SIZE_LF,  /* LF ending the size line */
    CK_DATA,     /* chunk data */
    CK_DATA_CR,  /* CR after chunk data */
    CK_DATA_LF,  /* LF after chunk data */
    CK_TR_START, /* start of a trailer line, or the final CRLF */
    CK_TR_NAME,  /* trailer field name */
    CK_TR_VALUE, /* trailer field value */
    CK_TR_LF,    /* LF ending a trailer line */
    CK_END_LF,   /* LF ending the body */
    CK_DONE,
    CK_ERROR,
};

void hf_http_chunked_init(hf_http_chunked_t *c)
{
    memset(c, 0, sizeof *c);
    c->state = CK_SIZE;
}

bool hf_http_chunked_done(const hf_http_chunked_t *c)
{
    return c->done;
}

static inline unsigned hexval(unsigned char c)
{
    return c <= '9' ? (unsigned)(c - '0') : (unsigned)(lower(c) - 'a' + 10);
}

int hf_http_chunked_decode(hf_http_chunked_t *c, const char *in, size_t inlen, size_t *consumed,
                           char *out, size_t outcap, size_t *produced)
{
    const unsigned char *s = (const unsigned char *)in;
    size_t i = 0, o = 0;
    int rc = HF_OK;

    while (i < inlen && c->state != CK_DONE) {
        if (c->state == CK_DATA) {
            size_t n = inlen - i;
            if (n > outcap - o)
                n = outcap - o;
            if (n > c->remaining)
                n = (size_t)c->remaining;
            if (n == 0)
                break; /* out is full */
            memcpy(out + o, in + i, n);
            i += n;
            o += n;
            c->remaining -= n;
            if (c->remaining == 0)
                c->state = CK_DATA_CR;
            continue;
        }

        unsigned char ch = s[i];
        switch (c->state) {
        case CK_SIZE:
            if (ctab[ch] & C_HEX) {
                if (c->digits == HF_HTTP_CHUNK_SIZE_DIGITS)
                    goto bad;
                c->remaining = (c->remaining << 4) | hexval(ch);
                c->digits++;
                c->line++;
                break;
            }
            if (c->digits == 0)
                goto bad;
            if (ch == '\r')
                c->state = CK_SIZE_LF;
            else if (ch == ';')
                c->state = CK_EXT;
            else if (is_ows(ch))
                c->state = CK_BWS;
            else
                goto bad;
            if (ch != '\r')
                c->line++;
            break;
        case CK_BWS:
            if (ch == ';')
                c->state = CK_EXT;
            else if (!is_ows(ch))
                goto bad;
            if (++c->line > HF_HTTP_CHUNK_LINE_MAX)
                goto bad;
            break;
        case CK_EXT:
            if (ch == '\r') {
                c->state = CK_SIZE_LF;
                break;
            }
            if (!(ctab[ch] & C_FIELD) || ++c->line > HF_HTTP_CHUNK_LINE_MAX)
                goto bad;
            break;
        case CK_SIZE_LF:
            if (ch != '\n')
                goto bad;
            c->line = 0;
            c->digits = 0;
            c->state = c->remaining ? CK_DATA : CK_TR_START;
            break;
        case CK_DATA_CR:
            if (ch != '\r')
                goto bad;
            c->state = CK_DATA_LF;
            break;
        case CK_DATA_LF:
            if (ch != '\n')
                goto bad;
            c->state = CK_SIZE;
            break;
        case CK_TR_START:
        case CK_TR_NAME:
        case CK_TR_VALUE:
        case CK_TR_LF:
        case CK_END_LF:
            if (++c->trailer > HF_HTTP_TRAILER_MAX)
                goto bad;
            switch (c->state) {
            case CK_TR_START:
                if (ch == '\r') {
                    c->state = CK_END_LF;
                    break;
                }
                if (!(ctab[ch] & C_TOKEN))
                    goto bad;
                c->line = 1;
                c->state = CK_TR_NAME;
                break;
            case CK_TR_NAME:
                if (ch == ':')
                    c->state = CK_TR_VALUE;
                else if (!(ctab[ch] & C_TOKEN))
                    goto bad;
                if (++c->line > HF_HTTP_CHUNK_LINE_MAX)
                    goto bad;
                break;
            case CK_TR_VALUE:
                if (ch == '\r') {
                    c->state = CK_TR_LF;
                    break;
                }
                if (!(ctab[ch] & C_FIELD) || ++c->line > HF_HTTP_CHUNK_LINE_MAX)
                    goto bad;
                break;
            case CK_TR_LF:
                if (ch != '\n')
                    goto bad;
                c->line = 0;
                c->state = CK_TR_START;
                break;
            default: /* CK_END_LF */
                if (ch != '\n')
                    goto bad;
                c->state = CK_DONE;
                c->done = true;
                break;
            }
            break;
        default: /* CK_ERROR: the stream cannot be resynchronised */
            goto bad;
        }
        i++;
    }
    goto out;

bad:
    c->state = CK_ERROR;
    rc = HF_E_PROTO;
out:
    *consumed = i;
    *produced = o;
    return rc;
}

/* ---- reason phrases ------------------------------------------------------------- */

const char *hf_http_reason(int status)
{
    switch (status) {
    case 100: return "Continue";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 206: return "Partial Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 304: return "Not Modified";
    case 307: return "Temporary Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 411: return "Length Required";
    case 412: return "Precondition Failed";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 416: return "Range Not Satisfiable";
    case 417: return "Expectation Failed";
    case 422: return "Unprocessable Content";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 505: return "HTTP Version Not Supported";
    case 507: return "Insufficient Storage";
    default: break;
    }
    /* A phrase by class keeps the status line well-formed for any code. */
    if (status >= 100 && status < 200) return "Informational";
    if (status >= 200 && status < 300) return "Success";
    if (status >= 300 && status < 400) return "Redirection";
    if (status >= 400 && status < 500) return "Client Error";
    return "Server Error";
}
