/*
 * cors.c -- cross-origin resource sharing: Put/Get/DeleteBucketCors, the
 * OPTIONS preflight, and the Access-Control-* headers on requests that
 * carry an Origin (so browsers can talk to a bucket directly).
 *
 * Rules are kept as the CORSConfiguration document GetBucketCors returns,
 * regenerated from what was parsed (so it is canonical and valid), and
 * parsed again when a request with an Origin arrives -- a few microseconds
 * for documents of at most 100 rules, paid only by cross-origin requests.
 *
 * Matching follows the S3 user guide ("How does Amazon S3 evaluate the CORS
 * configuration on a bucket?"): the first rule whose AllowedOrigin matches
 * the Origin, whose AllowedMethod includes the (requested) method and
 * whose AllowedHeader patterns cover every requested header wins. Origin
 * and header patterns may hold one '*' wildcard; headers compare without
 * case. A preflight that no rule allows is 403 AccessForbidden, as S3
 * answers; an actual request that no rule allows is served without CORS
 * headers (the browser then withholds the response from the page).
 */
#include "s3/internal.h"

#include "base/err.h"
#include "base/str.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define CORS_RULES_MAX 100
#define CORS_ITEMS_MAX 64 /* origins, methods, headers per rule */

typedef struct cors_rule {
    const char *id;
    const char *origins[CORS_ITEMS_MAX];
    int norigins;
    const char *methods[CORS_ITEMS_MAX];
    int nmethods;
    const char *headers[CORS_ITEMS_MAX];
    int nheaders;
    const char *expose[CORS_ITEMS_MAX];
    int nexpose;
    long max_age; /* -1: none */
} cors_rule_t;

typedef struct cors_cfg {
    cors_rule_t *rules;
    int n;
} cors_cfg_t;

/* Glob with '*' matching any run; case-insensitive when nocase. */
static bool glob(const char *pat, const char *s, size_t n, bool nocase)
{
    const char *star = NULL;
    size_t si = 0, mark = 0;
    const char *p = pat;
    while (si < n) {
        if (*p == '*') {
            star = p++;
            mark = si;
        } else if (*p && (nocase ? tolower((unsigned char)*p) == tolower((unsigned char)s[si])
                                  : *p == s[si])) {
            p++;
            si++;
        } else if (star) {
            p = star + 1;
            si = ++mark;
        } else {
            return false;
        }
    }
    while (*p == '*')
        p++;
    return *p == '\0';
}

/* An error of parse_cfg: reported to the client only when validating a
 * PutBucketCors body; a stored document is read back quietly. */
#define CFAIL(...) (validate ? s3_fail(q, __VA_ARGS__) : -1)

static int collect(s3req_t *q, bool validate, hf_xml_node_t *rule, const char *name,
                   const char **out, int *n)
{
    *n = 0;
    for (hf_xml_node_t *x = hf_xml_child(rule, name); x; x = hf_xml_next(x)) {
        if (*n == CORS_ITEMS_MAX)
            return CFAIL(S3E_MalformedXML, "A CORSRule lists at most %d %s elements.",
                         CORS_ITEMS_MAX, name);
        if (x->text && strlen(x->text) != x->textlen)
            return CFAIL(S3E_MalformedXML, "%s cannot contain the NUL character.", name);
        out[(*n)++] = x->text ? x->text : "";
    }
    return 0;
}

static int count_stars(const char *s)
{
    int k = 0;
    for (; *s; s++)
        k += *s == '*';
    return k;
}

/* Parse and check a CORSConfiguration tree. validate: the strict checks of
 * PutBucketCors (a stored document passed them already). */
static int parse_cfg(s3req_t *q, hf_xml_node_t *root, bool validate, cors_cfg_t *cfg)
{
    cfg->n = 0;
    for (hf_xml_node_t *r = hf_xml_child(root, "CORSRule"); r; r = hf_xml_next(r))
        cfg->n++;
    if (validate && (cfg->n == 0 || cfg->n > CORS_RULES_MAX))
        return s3_fail(q, S3E_MalformedXML, "A CORS configuration has 1 to %d CORSRule elements.",
                       CORS_RULES_MAX);
    cfg->rules = hf_arena_calloc(q->a, sizeof *cfg->rules * (size_t)(cfg->n ? cfg->n : 1));
    if (!cfg->rules)
        return CFAIL(S3E_InternalError, NULL);
    int i = 0;
    for (hf_xml_node_t *r = hf_xml_child(root, "CORSRule"); r; r = hf_xml_next(r), i++) {
        cors_rule_t *cr = &cfg->rules[i];
        cr->id = hf_xml_child_text(r, "ID");
        if (collect(q, validate, r, "AllowedOrigin", cr->origins, &cr->norigins) ||
            collect(q, validate, r, "AllowedMethod", cr->methods, &cr->nmethods) ||
            collect(q, validate, r, "AllowedHeader", cr->headers, &cr->nheaders) ||
            collect(q, validate, r, "ExposeHeader", cr->expose, &cr->nexpose))
            return -1;
        const char *ma = hf_xml_child_text(r, "MaxAgeSeconds");
        cr->max_age = -1;
        if (ma) {
            uint64_t v;
            if (hf_parse_u64(ma, strlen(ma), &v) != HF_OK || v > INT32_MAX)
                return CFAIL(S3E_MalformedXML, "MaxAgeSeconds must be a non-negative integer.");
            cr->max_age = (long)v;
        }
        if (!validate)
            continue;
        if (cr->id && strlen(cr->id) > 255)
            return s3_fail(q, S3E_InvalidArgument, "A CORSRule ID is at most 255 characters.");
        if (cr->norigins == 0 || cr->nmethods == 0)
            return s3_fail(q, S3E_MalformedXML,
                           "Every CORSRule needs at least one AllowedOrigin and one AllowedMethod.");
        for (int k = 0; k < cr->nmethods; k++) {
            static const char *const ok[] = {"GET", "PUT", "HEAD", "POST", "DELETE"};
            bool known = false;
            for (size_t m = 0; m < 5; m++)
                known = known || strcmp(cr->methods[k], ok[m]) == 0;
            if (!known)
                return s3_fail(q, S3E_InvalidRequest,
                               "Found unsupported HTTP method in CORS config. Unsupported method is %s",
                               cr->methods[k]);
        }
        for (int k = 0; k < cr->norigins; k++)
            if (count_stars(cr->origins[k]) > 1)
                return s3_fail(q, S3E_InvalidRequest,
                               "AllowedOrigin \"%s\" can not have more than one wildcard.", cr->origins[k]);
        for (int k = 0; k < cr->nheaders; k++)
            if (count_stars(cr->headers[k]) > 1)
                return s3_fail(q, S3E_InvalidRequest,
                               "AllowedHeader \"%s\" can not have more than one wildcard.", cr->headers[k]);
    }
    return 0;
}

static void cfg_xml(hf_buf_t *b, const cors_cfg_t *cfg)
{
    hf_xml_decl(b);
    hf_xml_open_ns(b, "CORSConfiguration");
    for (int i = 0; i < cfg->n; i++) {
        const cors_rule_t *r = &cfg->rules[i];
        hf_xml_open(b, "CORSRule");
        if (r->id)
            hf_xml_elem_str(b, "ID", r->id);
        for (int k = 0; k < r->nheaders; k++)
            hf_xml_elem_str(b, "AllowedHeader", r->headers[k]);
        for (int k = 0; k < r->nmethods; k++)
            hf_xml_elem_str(b, "AllowedMethod", r->methods[k]);
        for (int k = 0; k < r->norigins; k++)
            hf_xml_elem_str(b, "AllowedOrigin", r->origins[k]);
        for (int k = 0; k < r->nexpose; k++)
            hf_xml_elem_str(b, "ExposeHeader", r->expose[k]);
        if (r->max_age >= 0)
            hf_xml_elem_u64(b, "MaxAgeSeconds", (uint64_t)r->max_age);
        hf_xml_close(b, "CORSRule");
    }
    hf_xml_close(b, "CORSConfiguration");
}

/* ---- Put/Get/DeleteBucketCors ------------------------------------------------------ */

void op_put_bucket_cors(s3req_t *q)
{
    if (s3_load_bucket(q))
        return;
    hf_xml_node_t *root;
    if (s3_read_xml(q, "CORSConfiguration", false, &root))
        return;
    cors_cfg_t cfg;
    if (parse_cfg(q, root, true, &cfg))
        return;
    hf_buf_t b;
    hf_buf_init(&b, HF_BUCKET_CFG_MAX);
    cfg_xml(&b, &cfg);
    s3_put_bucket_cfg(q, HF_BCFG_CORS, b.data, b.len, 200);
    hf_buf_free(&b);
}

void op_get_bucket_cors(s3req_t *q)
{
    if (s3_load_bucket(q) == 0)
        s3_send_bucket_cfg(q, HF_BCFG_CORS, S3E_NoSuchCORSConfiguration);
}

void op_delete_bucket_cors(s3req_t *q)
{
    if (s3_load_bucket(q) == 0)
        s3_delete_bucket_cfg(q, HF_BCFG_CORS);
}

/* ---- matching ------------------------------------------------------------------------ */

/* The bucket's rules (HF_E_NOTFOUND when it has none). */
static int load_cfg(s3req_t *q, uint64_t bucket_id, cors_cfg_t *cfg)
{
    const uint8_t *data;
    size_t len;
    int rc = hf_meta_bucket_cfg_get(q->s3->meta, bucket_id, HF_BCFG_CORS, q->a, &data, &len);
    if (rc)
        return rc;
    hf_xml_node_t *root;
    if (hf_xml_parse((const char *)data, len, q->a, &root) != HF_OK)
        return HF_E_CORRUPT;
    return parse_cfg(q, root, false, cfg) ? HF_E_CORRUPT : HF_OK;
}

static bool rule_has_method(const cors_rule_t *r, const char *m, size_t mn)
{
    for (int k = 0; k < r->nmethods; k++)
        if (strlen(r->methods[k]) == mn && memcmp(r->methods[k], m, mn) == 0)
            return true;
    return false;
}

static const char *rule_origin(const cors_rule_t *r, const char *origin)
{
    for (int k = 0; k < r->norigins; k++)
        if (glob(r->origins[k], origin, strlen(origin), false))
            return r->origins[k];
    return NULL;
}

/* Every header named in the comma-separated list is allowed by r. */
static bool rule_has_headers(const cors_rule_t *r, const char *list)
{
    const char *p = list;
    while (p && *p) {
        while (*p == ' ' || *p == ',')
            p++;
        const char *e = p;
        while (*e && *e != ',')
            e++;
        const char *t = e;
        while (t > p && t[-1] == ' ')
            t--;
        if (t > p) {
            bool ok = false;
            for (int k = 0; k < r->nheaders && !ok; k++)
                ok = glob(r->headers[k], p, (size_t)(t - p), true);
            if (!ok)
                return false;
        }
        p = e;
    }
    return true;
}

static void join(hf_buf_t *b, const char *const *items, int n)
{
    for (int k = 0; k < n; k++) {
        if (k)
            hf_buf_puts(b, ", ");
        hf_buf_puts(b, items[k]);
    }
}

/* Access-Control-* headers for a request from origin that rule r allows. */
static void allow_headers(s3req_t *q, const cors_rule_t *r, const char *matched, const char *origin,
                          const char *req_headers, bool preflight)
{
    bool any = strcmp(matched, "*") == 0;
    hf_resp_header(q->r, "Access-Control-Allow-Origin", any ? "*" : origin);
    if (!any)
        hf_resp_header(q->r, "Access-Control-Allow-Credentials", "true");
    hf_buf_t b;
    hf_buf_init(&b, 8192);
    join(&b, r->methods, r->nmethods);
    if (b.len)
        hf_resp_header(q->r, "Access-Control-Allow-Methods", b.data);
    if (preflight && req_headers && *req_headers)
        hf_resp_header(q->r, "Access-Control-Allow-Headers", req_headers);
    hf_buf_reset(&b);
    join(&b, r->expose, r->nexpose);
    if (b.len)
        hf_resp_header(q->r, "Access-Control-Expose-Headers", b.data);
    hf_buf_free(&b);
    if (r->max_age >= 0)
        hf_resp_headerf(q->r, "Access-Control-Max-Age", "%ld", r->max_age);
    hf_resp_header(q->r, "Vary", "Origin, Access-Control-Request-Headers, Access-Control-Request-Method");
}

void s3_cors_request(s3req_t *q)
{
    const char *origin = s3_header(q, "origin");
    if (!origin || !q->bucket || !hf_s3_bucket_name_valid(q->bucket))
        return;
    hf_bucket_t b;
    if (hf_meta_bucket_get(q->s3->meta, q->bucket, &b) != HF_OK)
        return;
    cors_cfg_t cfg;
    if (load_cfg(q, b.id, &cfg) != HF_OK)
        return;
    hf_str_t m = q->r->http.method;
    for (int i = 0; i < cfg.n; i++) {
        const char *matched = rule_origin(&cfg.rules[i], origin);
        if (matched && rule_has_method(&cfg.rules[i], m.p, m.n)) {
            allow_headers(q, &cfg.rules[i], matched, origin, NULL, false);
            return;
        }
    }
}

void s3_cors_preflight(s3req_t *q)
{
    const char *origin = s3_header(q, "origin");
    const char *method = s3_header(q, "access-control-request-method");
    const char *req_headers = s3_header(q, "access-control-request-headers");
    if (!origin) {
        s3_fail(q, S3E_BadRequest, "Insufficient information. Origin request header needed.");
        return;
    }
    if (!method) {
        s3_fail(q, S3E_BadRequest,
                "Invalid Access-Control-Request-Method: the preflight request needs it.");
        return;
    }
    if (!q->bucket) {
        s3_fail(q, S3E_AccessForbidden, "CORSResponse: Bucket not found");
        return;
    }
    hf_bucket_t b;
    if (!hf_s3_bucket_name_valid(q->bucket) || hf_meta_bucket_get(q->s3->meta, q->bucket, &b) != HF_OK) {
        s3_fail(q, S3E_AccessForbidden, "CORSResponse: Bucket not found");
        return;
    }
    cors_cfg_t cfg;
    int rc = load_cfg(q, b.id, &cfg);
    if (rc == HF_E_NOTFOUND) {
        s3_fail(q, S3E_AccessForbidden, "CORSResponse: CORS is not enabled for this bucket.");
        return;
    }
    if (rc) {
        s3_fail(q, hf_s3_err_from(rc), NULL);
        return;
    }
    for (int i = 0; i < cfg.n; i++) {
        const cors_rule_t *r = &cfg.rules[i];
        const char *matched = rule_origin(r, origin);
        if (matched && rule_has_method(r, method, strlen(method)) && rule_has_headers(r, req_headers)) {
            allow_headers(q, r, matched, origin, req_headers, true);
            s3_common_headers(q);
            hf_resp_send(q->r, 200, NULL, 0);
            return;
        }
    }
    s3_fail(q, S3E_AccessForbidden,
            "CORSResponse: This CORS request is not allowed. This is usually because the evalution "
            "of Origin, request method / Access-Control-Request-Method or "
            "Access-Control-Request-Headers are not whitelisted by the resource's CORS spec.");
}
