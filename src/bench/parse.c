/*
 * parse.c -- the load generator's small parsers: command-line values
 * (endpoint, sizes, durations, the mix), the configuration's checks, and
 * the pieces of an S3 response the client reads (head framing, the error
 * <Code>, <Key> counts). See bench.h.
 */
#include "bench/bench.h"

#include "base/err.h"
#include "base/str.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const op_names[] = {"put", "get", "head", "list", "delete", "mixed"};

const char *hf_bench_op_name(int op)
{
    if (op < 0 || op > HF_BENCH_MIXED)
        return NULL;
    return op_names[op];
}

int hf_bench_parse_op(const char *s)
{
    for (int i = 0; i <= HF_BENCH_MIXED; i++)
        if (s && strcmp(s, op_names[i]) == 0)
            return i;
    return -1;
}

int hf_bench_parse_endpoint(const char *url, hf_bench_endpoint_t *ep, const char **why)
{
    memset(ep, 0, sizeof *ep);
    *why = NULL;
    if (strncasecmp(url, "https://", 8) == 0) {
        *why = "https endpoints are not supported yet; use an http:// endpoint";
        return HF_E_INVAL;
    }
    if (strncasecmp(url, "http://", 7) != 0) {
        *why = "the endpoint must look like http://HOST[:PORT]";
        return HF_E_INVAL;
    }
    const char *p = url + 7, *end = p + strcspn(p, "/?#");
    if (*end && strcmp(end, "/") != 0) {
        *why = "the endpoint must not have a path: the bucket goes first in path-style URLs";
        return HF_E_INVAL;
    }
    size_t hp = (size_t)(end - p);
    if (hp == 0 || hp >= sizeof ep->hostport) {
        *why = "the endpoint has no host, or too long a one";
        return HF_E_INVAL;
    }
    memcpy(ep->hostport, p, hp);
    const char *host = p, *hend, *port = NULL;
    if (*p == '[') {
        const char *rb = memchr(p, ']', hp);
        if (!rb || rb == p + 1) {
            *why = "an IPv6 endpoint is written http://[ADDRESS]:PORT";
            return HF_E_INVAL;
        }
        host = p + 1;
        hend = rb;
        if (rb + 1 < end) {
            if (rb[1] != ':') {
                *why = "an IPv6 endpoint is written http://[ADDRESS]:PORT";
                return HF_E_INVAL;
            }
            port = rb + 2;
        }
    } else {
        const char *colon = memchr(p, ':', hp);
        hend = colon ? colon : end;
        if (colon)
            port = colon + 1;
    }
    size_t hn = (size_t)(hend - host);
    if (hn == 0 || hn >= sizeof ep->host) {
        *why = "the endpoint has no host";
        return HF_E_INVAL;
    }
    for (size_t i = 0; i < hn; i++) {
        unsigned char ch = (unsigned char)host[i];
        if (!isalnum(ch) && ch != '.' && ch != '-' && ch != ':' && ch != '_' && ch != '%') {
            *why = "the endpoint's host has a character that cannot be in a host name";
            return HF_E_INVAL;
        }
    }
    memcpy(ep->host, host, hn);
    if (port) {
        size_t pn = (size_t)(end - port);
        uint64_t v;
        if (pn == 0 || pn > 5 || hf_parse_u64(port, pn, &v) || v == 0 || v > 65535) {
            *why = "the endpoint's port must be a number from 1 to 65535";
            return HF_E_INVAL;
        }
        snprintf(ep->port, sizeof ep->port, "%u", (unsigned)v);
    } else {
        strcpy(ep->port, "80");
    }
    return HF_OK;
}

int hf_bench_parse_size(const char *s, uint64_t *out)
{
    static const struct {
        const char *unit;
        uint64_t mul;
    } units[] = {
        {"", 1},          {"b", 1},         {"kib", 1ULL << 10}, {"mib", 1ULL << 20},
        {"gib", 1ULL << 30}, {"kb", 1000},  {"mb", 1000000},     {"gb", 1000000000},
    };
    size_t digits = strspn(s, "0123456789");
    uint64_t v;
    if (digits == 0 || digits > 12 || hf_parse_u64(s, digits, &v))
        return HF_E_INVAL;
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (strcasecmp(s + digits, units[i].unit) != 0)
            continue;
        if (v > HF_PUT_MAX / units[i].mul)
            return HF_E_TOOBIG;
        *out = v * units[i].mul;
        return HF_OK;
    }
    return HF_E_INVAL;
}

int hf_bench_parse_duration(const char *s, int64_t *ms)
{
    const int64_t max = (int64_t)HF_BENCH_DURATION_MAX_S * 1000;
    int64_t total = 0;
    const char *p = s;
    if (!*p)
        return HF_E_INVAL;
    while (*p) {
        size_t digits = strspn(p, "0123456789");
        uint64_t v;
        if (digits == 0 || digits > 9 || hf_parse_u64(p, digits, &v))
            return HF_E_INVAL;
        p += digits;
        int64_t mul;
        if (strncmp(p, "ms", 2) == 0) {
            mul = 1;
            p += 2;
        } else if (*p == 's') {
            mul = 1000;
            p++;
        } else if (*p == 'm') {
            mul = 60 * 1000;
            p++;
        } else if (*p == 'h') {
            mul = 3600 * 1000;
            p++;
        } else if (*p == '\0' && p - digits == s) {
            mul = 1000; /* a bare number is seconds */
        } else {
            return HF_E_INVAL;
        }
        if ((int64_t)v > max / mul)
            return HF_E_TOOBIG;
        total += (int64_t)v * mul;
        if (total > max)
            return HF_E_TOOBIG;
    }
    if (total < 1)
        return HF_E_INVAL;
    *ms = total;
    return HF_OK;
}

int hf_bench_parse_mix(const char *s, unsigned mix[HF_BENCH_NOPS])
{
    unsigned m[HF_BENCH_NOPS] = {0};
    uint64_t total = 0;
    const char *p = s;
    while (*p) {
        const char *eq = strchr(p, '=');
        if (!eq)
            return HF_E_INVAL;
        char name[16];
        size_t nn = (size_t)(eq - p);
        if (nn == 0 || nn >= sizeof name)
            return HF_E_INVAL;
        memcpy(name, p, nn);
        name[nn] = '\0';
        int op = hf_bench_parse_op(name);
        if (op < 0 || op >= HF_BENCH_NOPS)
            return HF_E_INVAL;
        const char *v = eq + 1;
        size_t digits = strspn(v, "0123456789");
        uint64_t w;
        if (digits == 0 || digits > 6 || hf_parse_u64(v, digits, &w))
            return HF_E_INVAL;
        m[op] = (unsigned)w;
        total += w;
        p = v + digits;
        if (*p == ',')
            p++;
        else if (*p)
            return HF_E_INVAL;
    }
    if (total == 0)
        return HF_E_INVAL;
    memcpy(mix, m, sizeof m);
    return HF_OK;
}

void hf_bench_config_default(hf_bench_config_t *c)
{
    const char *why;
    memset(c, 0, sizeof *c);
    hf_bench_parse_endpoint("http://127.0.0.1:9000", &c->endpoint, &why);
    strcpy(c->region, "us-east-1");
    strcpy(c->bucket, "holdfast-bench");
    strcpy(c->prefix, "bench/");
    c->op = HF_BENCH_GET;
    hf_bench_parse_mix("get=45,head=30,put=15,delete=10", c->mix);
    c->size = 4096;
    c->objects = 1000;
    c->concurrency = 32;
    c->duration_ms = 30000;
    c->prepare = true;
    c->cleanup = true;
}

/* S3's bucket naming rules (the ones a path-style URL depends on). */
static bool bucket_name_ok(const char *b)
{
    size_t n = strlen(b);
    if (n < HF_BUCKET_NAME_MIN || n > HF_BUCKET_NAME_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!islower((unsigned char)b[i]) && !isdigit((unsigned char)b[i]) && b[i] != '-' &&
            b[i] != '.')
            return false;
    return isalnum((unsigned char)b[0]) && isalnum((unsigned char)b[n - 1]);
}

const char *hf_bench_config_check(const hf_bench_config_t *c)
{
    if (!c->access_key[0] || !c->secret_key[0])
        return "give --access-key and --secret-key (or set AWS_ACCESS_KEY_ID and "
               "AWS_SECRET_ACCESS_KEY)";
    if (strlen(c->access_key) < HF_ACCESS_KEY_MIN)
        return "the access key is too short";
    if (!bucket_name_ok(c->bucket))
        return "--bucket must be a valid S3 bucket name (3-63 of a-z 0-9 . -)";
    if (!hf_utf8_valid(c->prefix, strlen(c->prefix)))
        return "--prefix must be UTF-8";
    for (const char *p = c->prefix; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            return "--prefix must not contain control characters";
    if (c->op < 0 || c->op > HF_BENCH_MIXED)
        return "--op must be put, get, head, list, delete or mixed";
    if (c->objects < 1 || c->objects > HF_BENCH_OBJECTS_MAX)
        return "--objects must be from 1 to 100000000";
    if (c->concurrency < 1 || c->concurrency > HF_BENCH_CONCURRENCY_MAX)
        return "--concurrency must be from 1 to 16384";
    if (c->threads < 0 || c->threads > HF_BENCH_THREADS_MAX)
        return "--threads must be from 1 to 256";
    if (c->duration_ms < 1)
        return "--duration must be positive";
    if (c->size > HF_PUT_MAX)
        return "--size must be at most 5GiB (a single PUT)";
    if (c->op == HF_BENCH_MIXED && (uint64_t)c->concurrency > c->objects)
        return "--op mixed needs at least as many --objects as --concurrency (each connection "
               "works on keys of its own)";
    return NULL;
}

void hf_bench_key(const hf_bench_config_t *c, uint64_t i, char *out)
{
    snprintf(out, HF_BENCH_KEY_MAX, "%s%010llu", c->prefix, (unsigned long long)i);
}

/* ---- responses ------------------------------------------------------------------- */

/* The value of a header line "name: value" if its name is `name`. */
static bool header_is(const char *line, size_t n, const char *name, const char **v, size_t *vn)
{
    size_t k = strlen(name);
    if (n <= k || line[k] != ':' || strncasecmp(line, name, k) != 0)
        return false;
    const char *p = line + k + 1, *e = line + n;
    while (p < e && (*p == ' ' || *p == '\t'))
        p++;
    while (e > p && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
        e--;
    *v = p;
    *vn = (size_t)(e - p);
    return true;
}

static bool list_has(const char *v, size_t n, const char *token)
{
    size_t k = strlen(token);
    for (size_t i = 0; i + k <= n; i++)
        if (strncasecmp(v + i, token, k) == 0 && (i == 0 || v[i - 1] == ' ' || v[i - 1] == ',') &&
            (i + k == n || v[i + k] == ' ' || v[i + k] == ','))
            return true;
    return false;
}

int hf_bench_parse_resp(const char *buf, size_t len, hf_bench_resp_t *r)
{
    size_t lim = len < HF_BENCH_RESP_HEAD_MAX ? len : HF_BENCH_RESP_HEAD_MAX;
    const char *end = NULL;
    size_t headlen = 0;
    for (size_t i = 0; i < lim; i++) {
        if (buf[i] != '\n')
            continue;
        if (i >= 1 && buf[i - 1] == '\n') {
            headlen = i + 1;
            break;
        }
        if (i >= 2 && buf[i - 1] == '\r' && buf[i - 2] == '\n') {
            headlen = i + 1;
            break;
        }
    }
    if (!headlen)
        return len >= HF_BENCH_RESP_HEAD_MAX ? HF_E_TOOBIG : 0;
    end = buf + headlen;
    memset(r, 0, sizeof *r);
    r->content_length = -1;
    /* Status line: HTTP/1.x SP 3DIGIT ... */
    if (headlen < 13 || memcmp(buf, "HTTP/1.", 7) != 0 || (buf[7] != '0' && buf[7] != '1') ||
        buf[8] != ' ' || !isdigit((unsigned char)buf[9]) || !isdigit((unsigned char)buf[10]) ||
        !isdigit((unsigned char)buf[11]))
        return HF_E_PROTO;
    bool http10 = buf[7] == '0', keep_alive = false;
    r->status = (buf[9] - '0') * 100 + (buf[10] - '0') * 10 + (buf[11] - '0');
    const char *line = memchr(buf, '\n', headlen) + 1;
    while (line < end) {
        const char *nl = memchr(line, '\n', (size_t)(end - line));
        size_t n = (size_t)(nl - line);
        const char *v;
        size_t vn;
        if (header_is(line, n, "content-length", &v, &vn)) {
            uint64_t cl;
            if (hf_parse_u64(v, vn, &cl) || cl > (uint64_t)INT64_MAX ||
                (r->content_length >= 0 && (uint64_t)r->content_length != cl))
                return HF_E_PROTO;
            r->content_length = (int64_t)cl;
        } else if (header_is(line, n, "transfer-encoding", &v, &vn)) {
            if (!list_has(v, vn, "chunked"))
                return HF_E_PROTO; /* a coding we cannot undo */
            r->chunked = true;
        } else if (header_is(line, n, "connection", &v, &vn)) {
            if (list_has(v, vn, "close"))
                r->close = true;
            if (list_has(v, vn, "keep-alive"))
                keep_alive = true;
        }
        line = nl + 1;
    }
    if (http10 && !keep_alive)
        r->close = true;
    if (r->chunked)
        r->content_length = -1;
    return (int)headlen;
}

bool hf_bench_s3_code(const char *body, size_t n, char *out, size_t cap)
{
    const char *p = memmem(body, n, "<Code>", 6);
    if (!p || cap == 0)
        return false;
    p += 6;
    const char *e = body + n;
    size_t k = 0;
    while (p < e && *p != '<' && k + 1 < cap) {
        unsigned char ch = (unsigned char)*p++;
        if (!isalnum(ch) && ch != '.')
            return false;
        out[k++] = (char)ch;
    }
    if (p >= e || *p != '<' || k == 0)
        return false;
    out[k] = '\0';
    return true;
}

uint64_t hf_bench_count_keys(unsigned *state, const char *p, size_t n)
{
    /* A listing page is ~200 KB: jump from '<' to '<' with memchr rather
     * than look at every byte (the byte loop cost the client ~190 us per
     * page, as much CPU as a tenth of the server's). */
    static const char pat[] = "<Key>";
    unsigned s = *state;
    uint64_t count = 0;
    const char *e = p + n;
    while (p < e) {
        if (s == 0) {
            const char *lt = memchr(p, '<', (size_t)(e - p));
            if (!lt)
                break;
            p = lt + 1;
            s = 1;
            continue;
        }
        /* No proper prefix of "<Key>" is also a suffix of it, so on a
         * mismatch the byte is looked at again from the start (it may be
         * the '<' of the next tag). */
        if (*p == pat[s]) {
            p++;
            if (++s == sizeof pat - 1) {
                count++;
                s = 0;
            }
        } else {
            s = 0;
        }
    }
    *state = s;
    return count;
}
