/*
 * sigv2.c -- AWS Signature Version 2 for S3 (see sigv2.h): reading the
 * auth fields of a request, rebuilding its string to sign, and comparing
 * signatures.
 *
 * What AWS documents and what clients do, and where they part:
 *   - The sub-resources signed in the canonical resource. The developer
 *     guide lists acl, lifecycle, location, logging, notification,
 *     partNumber, policy, requestPayment, torrent, uploadId, uploads,
 *     versionId, versioning, versions and website, plus the response-*
 *     overrides of GET and delete. Clients that work against S3 sign more:
 *     the AWS SDK for Java v1 (RestUtils.SIGNED_PARAMETERS) adds tagging,
 *     cors, restore, replication, accelerate, inventory, analytics and
 *     metrics; botocore (HmacV1Auth.QSAOfInterest, Debian's 1.29) signs all
 *     of those and object-lock, select, select-type, and two names of
 *     Google's interoperable API (storageClass, defaultObjectAcl). S3 must
 *     accept what both sign, so the list below is botocore's. s3cmd 2.3's
 *     list is a subset (it lacks tagging: its V2 tagging calls fail against
 *     S3 too). Parameters not in the list (list-type, prefix, retention,
 *     attributes...) are not signed by any of them and not here.
 *   - The resource of a request for a bucket itself is "/bucket/" in
 *     both addressing styles (the guide's List example signs
 *     "/awsexamplebucket1/" for "GET /" on the bucket's host; botocore
 *     signs "/bucket/" for a path-style "PUT /bucket" "to generate a
 *     signature that the server will accept").
 *   - A sub-resource's value is signed decoded ("When signing, you do not
 *     encode these values"), as botocore and the Java SDK send it; the path
 *     is signed exactly as sent ("the un-decoded HTTP Request-URI").
 *   - x-amz-date: "When an x-amz-date header is present in a request, the
 *     system will ignore any Date header when computing the request
 *     signature. Therefore, if you include the x-amz-date header, use the
 *     empty string for the Date when constructing the StringToSign" -- and
 *     x-amz-date is then one of the signed x-amz-* headers (the SDK for
 *     Java and s3cmd sign it so). The guide's own DELETE example prints a
 *     string to sign with the x-amz-date value in the Date position and no
 *     x-amz-date line; its signature matches that string, contradicting the
 *     rule stated above it; we follow the rule, as clients do.
 *   - Dates: "one of the RFC 2616 formats" in theory; the guide's examples
 *     and s3cmd write "Tue, 27 Mar 2007 19:36:42 +0000" (a numeric zone),
 *     so a numeric zone and UT/UTC are accepted too. A date before 1970 is
 *     refused as invalid and a date far in the future is skewed, as S3
 *     answers the s3-tests cases for them (AccessDenied and
 *     RequestTimeTooSkewed).
 *   - A presigned request's Expires is checked against the clock only
 *     ("A request received after this time will be rejected"); S3 sets no
 *     upper bound for a V2 URL, the 15-minute skew does not apply to it.
 */
#include "auth/sigv2.h"

#include "auth/common.h"
#include "base/err.h"
#include "base/str.h"
#include "base/time.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* The string to sign repeats the method, two header values, the date, the
 * x-amz-* headers (all within the request head) and the path and query
 * (each within the URL), never growing them. */
#define STS_MAX (2 * HF_HTTP_HEAD_MAX + 2 * HF_HTTP_URL_MAX + 256)

static const char malformed[] =
    "AWS authorization header is invalid.  Expected AwsAccessKeyId:signature";
static const char query_needs[] =
    "Query-string authentication requires the Signature, Expires and AWSAccessKeyId parameters";
static const char no_date[] = "AWS authentication requires a valid Date or x-amz-date header";

/* The sub-resources signed in the canonical resource (see the top). */
static const char *const subresources[] = {
    "accelerate", "acl", "analytics", "cors", "defaultObjectAcl", "delete", "inventory",
    "lifecycle", "location", "logging", "metrics", "notification", "object-lock", "partNumber",
    "policy", "replication", "requestPayment", "response-cache-control",
    "response-content-disposition", "response-content-encoding", "response-content-language",
    "response-content-type", "response-expires", "restore", "select", "select-type",
    "storageClass", "tagging", "torrent", "uploadId", "uploads", "versionId", "versioning",
    "versions", "website", NULL};

static bool is_subresource(const char *s, size_t n)
{
    for (int i = 0; subresources[i]; i++)
        if (strlen(subresources[i]) == n && memcmp(subresources[i], s, n) == 0)
            return true;
    return false;
}

/* ---- detection and parsing --------------------------------------------------- */

static bool v4_query(const hf_sigv4_input_t *in)
{
    return hf_auth_find_param(in->query, "X-Amz-Algorithm", NULL) ||
           hf_auth_find_param(in->query, "X-Amz-Credential", NULL) ||
           hf_auth_find_param(in->query, "X-Amz-Signature", NULL);
}

static bool v2_query(const hf_sigv4_input_t *in)
{
    return hf_auth_find_param(in->query, "AWSAccessKeyId", NULL) ||
           hf_auth_find_param(in->query, "Signature", NULL);
}

/* The scheme token of an Authorization value. */
static hf_str_t scheme_of(hf_str_t auth)
{
    size_t i = 0;
    while (i < auth.n && !hf_auth_is_ws(auth.p[i]))
        i++;
    return (hf_str_t){auth.p, i};
}

bool hf_sigv2_present(const hf_sigv4_input_t *in)
{
    if (!in)
        return false;
    hf_str_t auth;
    if (hf_auth_find_header(in, "authorization", &auth))
        return hf_str_eq(scheme_of(auth), "AWS");
    return !v4_query(in) && v2_query(in);
}

/* An HTTP date, or the RFC 2822 forms V2 clients send: a numeric zone
 * ("+0000", "-0130") or UT/UTC in place of GMT. Seconds since epoch, not
 * before 1970. */
static int parse_date(hf_str_t v, int64_t *secs)
{
    char buf[40];
    int64_t t;
    int off = 0;
    if (hf_time_parse_http(v.p, v.n, &t) != HF_OK) {
        /* "Tue, 27 Mar 2007 19:36:42 +0000": 25 characters, a space, a zone. */
        if (v.n < 28 || v.n > 31 || v.p[25] != ' ')
            return HF_E_INVAL;
        hf_str_t zone = {v.p + 26, v.n - 26};
        if (zone.n == 5 && (zone.p[0] == '+' || zone.p[0] == '-')) {
            for (int i = 1; i < 5; i++)
                if (zone.p[i] < '0' || zone.p[i] > '9')
                    return HF_E_INVAL;
            int hh = (zone.p[1] - '0') * 10 + (zone.p[2] - '0');
            int mm = (zone.p[3] - '0') * 10 + (zone.p[4] - '0');
            if (hh > 23 || mm > 59)
                return HF_E_INVAL;
            off = (hh * 60 + mm) * 60 * (zone.p[0] == '-' ? -1 : 1);
        } else if (!hf_str_eq(zone, "UT") && !hf_str_eq(zone, "UTC")) {
            return HF_E_INVAL;
        }
        memcpy(buf, v.p, 25);
        memcpy(buf + 25, " GMT", 4);
        if (hf_time_parse_http(buf, 29, &t) != HF_OK)
            return HF_E_INVAL;
        t -= off;
    }
    if (t < 0)
        return HF_E_INVAL;
    *secs = t;
    return HF_OK;
}

/* x-amz-content-sha256 of a V2 request: its value is signed among the
 * x-amz-* headers, so a digest can be verified; aws-chunked needs a V4 seed
 * signature. */
static int payload(const hf_sigv4_input_t *in, hf_sigv2_t *a, char *msg, size_t cap)
{
    hf_str_t v;
    int n = hf_auth_find_header(in, "x-amz-content-sha256", &v);
    a->payload_mode = HF_PAYLOAD_UNSIGNED;
    if (n == 0)
        return HF_AUTH_OK;
    if (n > 1)
        return hf_auth_fail(msg, cap, HF_AUTH_ERR_CONTENT_SHA256,
                            "the request has more than one x-amz-content-sha256");
    int st = hf_sigv4_payload(v, &a->payload_mode, a->payload_sha256, msg, cap);
    if (st)
        return st;
    if (a->payload_mode != HF_PAYLOAD_UNSIGNED && a->payload_mode != HF_PAYLOAD_SHA256)
        return hf_auth_fail(msg, cap, HF_AUTH_ERR_UNSUPPORTED,
                            "aws-chunked uploads (x-amz-content-sha256: STREAMING-...) need "
                            "Signature Version 4 (AWS4-HMAC-SHA256)");
    return HF_AUTH_OK;
}

static void keep_signature(hf_sigv2_t *a, const char *s, size_t n)
{
    size_t k = n < sizeof a->signature - 1 ? n : sizeof a->signature - 1;
    memcpy(a->signature, s, k);
    a->signature[k] = '\0';
    a->sig_len = n;
}

static int parse_header(const hf_sigv4_input_t *in, hf_sigv2_t *a, char *msg, size_t cap)
{
    hf_str_t auth, v;
    if (hf_auth_find_header(in, "authorization", &auth) > 1)
        return hf_auth_fail(msg, cap, HF_AUTH_ERR_INVALID_ARGUMENT,
                            "the request has more than one Authorization header");
    if (v4_query(in) || v2_query(in))
        return hf_auth_fail(msg, cap, HF_AUTH_ERR_BOTH,
                            "Only one auth mechanism allowed; only the AWSAccessKeyId query "
                            "parameter or the Authorization header should be specified");
    /* "AWS" SP AKID ":" signature; neither part empty nor holding spaces. */
    size_t i = 3;
    while (i < auth.n && hf_auth_is_ws(auth.p[i]))
        i++;
    const char *cred = auth.p + i, *end = auth.p + auth.n;
    const char *colon = memchr(cred, ':', (size_t)(end - cred));
    if (i == 3 || !colon || colon == cred || colon + 1 == end ||
        !hf_auth_visible(cred, (size_t)(end - cred)))
        return hf_auth_fail(msg, cap, HF_AUTH_ERR_INVALID_ARGUMENT, "%s", malformed);
    size_t akn = (size_t)(colon - cred);
    if (akn < HF_ACCESS_KEY_MIN || akn > HF_ACCESS_KEY_MAX)
        return hf_auth_fail(msg, cap, HF_AUTH_ERR_INVALID_ARGUMENT,
                            "%s (the access key id is %zu characters long)", malformed, akn);
    memcpy(a->access_key, cred, akn);
    a->access_key[akn] = '\0';
    keep_signature(a, colon + 1, (size_t)(end - colon - 1));

    /* The time: x-amz-date when present (then it must be valid: S3 does not
     * fall back to Date), else Date. */
    int nd = hf_auth_find_header(in, "x-amz-date", &v);
    if (nd == 0)
        nd = hf_auth_find_header(in, "date", &v);
    if (nd != 1 || parse_date(v, &a->request_time) != HF_OK)
        return hf_auth_fail(msg, cap, HF_AUTH_ERR_NO_DATE, "%s", no_date);
    return payload(in, a, msg, cap);
}

static int parse_query(const hf_sigv4_input_t *in, hf_sigv2_t *a, char *msg, size_t cap)
{
    hf_str_t ak, sig, exp;
    if (hf_auth_find_param(in->query, "AWSAccessKeyId", &ak) != 1 ||
        hf_auth_find_param(in->query, "Signature", &sig) != 1 ||
        hf_auth_find_param(in->query, "Expires", &exp) != 1)
        return hf_auth_fail(msg, cap, HF_AUTH_ERR_DENIED, "%s", query_needs);
    char buf[HF_ACCESS_KEY_MAX + 1], tmp[80];
    long n = hf_auth_qdecode(ak, buf, sizeof buf);
    if (n < HF_ACCESS_KEY_MIN || !hf_auth_visible(buf, (size_t)n))
        return hf_auth_fail(msg, cap, HF_AUTH_ERR_DENIED, "%s (AWSAccessKeyId is malformed)",
                            query_needs);
    memcpy(a->access_key, buf, (size_t)n);
    a->access_key[n] = '\0';

    char sbuf[sizeof a->signature];
    n = hf_auth_qdecode(sig, sbuf, sizeof sbuf);
    if (n == -2) /* longer than any signature: keep its length for the mismatch */
        keep_signature(a, sig.p, sig.n);
    else if (n >= 0)
        keep_signature(a, sbuf, (size_t)n);
    if (n == -1 || n == 0)
        return hf_auth_fail(msg, cap, HF_AUTH_ERR_DENIED, "%s (Signature is malformed)",
                            query_needs);

    char ebuf[24];
    uint64_t e;
    n = hf_auth_qdecode(exp, ebuf, sizeof ebuf);
    if (n <= 0 || hf_parse_u64(ebuf, (size_t)n, &e) != HF_OK || e > INT64_MAX)
        return hf_auth_fail(msg, cap, HF_AUTH_ERR_DENIED,
                            "Invalid date (should be seconds since epoch): %s",
                            hf_auth_show(tmp, sizeof tmp, exp.p, exp.n));
    a->expires = (int64_t)e;
    return payload(in, a, msg, cap);
}

int hf_sigv2_parse(const hf_sigv4_input_t *in, hf_sigv2_t *a, char *msg, size_t msgcap)
{
    memset(a, 0, sizeof *a);
    if (msg && msgcap)
        msg[0] = '\0';
    if (!in || !hf_sigv2_present(in))
        return hf_auth_fail(msg, msgcap, HF_AUTH_ERR_INTERNAL, "not a Signature Version 2 request");
    if (hf_auth_find_header(in, "authorization", NULL)) {
        a->kind = HF_AUTH_V2_HEADER;
        return parse_header(in, a, msg, msgcap);
    }
    a->kind = HF_AUTH_V2_QUERY;
    return parse_query(in, a, msg, msgcap);
}

/* ---- the string to sign ------------------------------------------------------- */

/* One x-amz-* header or sub-resource: name lower-cased (headers) or
 * decoded (sub-resources), value as it enters the string. */
typedef struct ent {
    const char *name, *value;
    size_t nn, vn;
    size_t order; /* position in the request: equal names keep it */
    bool has_value;
} ent_t;

static int ent_cmp(const void *x, const void *y)
{
    const ent_t *a = x, *b = y;
    int c = hf_auth_name_cmp(a->name, a->nn, b->name, b->nn);
    if (c)
        return c;
    return a->order < b->order ? -1 : a->order > b->order;
}

static hf_str_t trim(const char *p, size_t n)
{
    while (n && hf_auth_is_ws(*p)) {
        p++;
        n--;
    }
    while (n && hf_auth_is_ws(p[n - 1]))
        n--;
    return (hf_str_t){p, n};
}

/* The first header called name, trimmed, or empty. */
static hf_str_t header_or_empty(const hf_sigv4_input_t *in, const char *name)
{
    hf_str_t v;
    if (!hf_auth_find_header(in, name, &v))
        return (hf_str_t){"", 0};
    return trim(v.p, v.n);
}

/* Scratch for one string to sign: entries and the decoded bytes they
 * point at, both sized from the (bounded) request. */
typedef struct scratch {
    ent_t *ent;
    size_t n, cap;
    char *bytes;
    size_t used, bcap;
} scratch_t;

static char *copy_in(scratch_t *s, const char *p, size_t n)
{
    char *o = s->bytes + s->used;
    memcpy(o, p, n);
    s->used += n;
    return o;
}

/* Percent-decode raw into the scratch bytes: its length, or -1. */
static long decode_in(scratch_t *s, hf_str_t raw, char **out)
{
    char *o = s->bytes + s->used;
    long n = hf_uri_decode(o, raw.p, raw.n);
    if (n < 0)
        return -1;
    s->used += (size_t)n;
    *out = o;
    return n;
}

static int put_list(hf_buf_t *b, ent_t *e, size_t n, bool amz)
{
    int rc = HF_OK;
    qsort(e, n, sizeof *e, ent_cmp);
    for (size_t i = 0; i < n && rc == HF_OK; i++) {
        bool same = i > 0 && hf_auth_name_cmp(e[i].name, e[i].nn, e[i - 1].name, e[i - 1].nn) == 0;
        if (amz) {
            /* "name:v1,v2\n": equal names join their values in order. */
            if (same) {
                rc = hf_buf_putc(b, ',');
            } else {
                if (i)
                    rc = hf_buf_putc(b, '\n');
                if (!rc)
                    rc = hf_buf_append(b, e[i].name, e[i].nn);
                if (!rc)
                    rc = hf_buf_putc(b, ':');
            }
            if (!rc)
                rc = hf_buf_append(b, e[i].value, e[i].vn);
            if (!rc && i + 1 == n)
                rc = hf_buf_putc(b, '\n');
        } else {
            rc = hf_buf_putc(b, i ? '&' : '?');
            if (!rc)
                rc = hf_buf_append(b, e[i].name, e[i].nn);
            if (!rc && e[i].has_value)
                rc = hf_buf_putc(b, '=');
            if (!rc && e[i].has_value)
                rc = hf_buf_append(b, e[i].value, e[i].vn);
        }
    }
    return rc;
}

int hf_sigv2_string_to_sign(const hf_sigv4_input_t *in, const char *vhost_bucket,
                            const char *expires, hf_buf_t *out)
{
    scratch_t s = {0};
    size_t params = 1;
    for (size_t i = 0; i < in->query.n; i++)
        params += in->query.p[i] == '&';
    s.cap = (size_t)in->nheaders + params;
    s.ent = malloc(s.cap * sizeof *s.ent);
    /* Lower-cased header names and decoded parameters: no larger than the
     * head and the query they come from. */
    size_t hbytes = 0;
    for (int i = 0; i < in->nheaders; i++)
        hbytes += in->headers[i].name.n;
    s.bcap = hbytes + in->query.n + 1;
    s.bytes = malloc(s.bcap);
    if (!s.ent || !s.bytes) {
        free(s.ent);
        free(s.bytes);
        return -ENOMEM;
    }

    hf_str_t md5 = header_or_empty(in, "content-md5"), type = header_or_empty(in, "content-type");
    hf_str_t date = {"", 0};
    if (expires)
        date = (hf_str_t){expires, strlen(expires)};
    else if (!hf_auth_find_header(in, "x-amz-date", NULL))
        date = header_or_empty(in, "date");
    int rc = hf_buf_append(out, in->method.p, in->method.n);
    const hf_str_t lines[3] = {md5, type, date};
    for (int i = 0; i < 3 && rc == HF_OK; i++) {
        rc = hf_buf_putc(out, '\n');
        if (!rc)
            rc = hf_buf_append(out, lines[i].p, lines[i].n);
    }
    if (!rc)
        rc = hf_buf_putc(out, '\n');
    if (rc)
        goto out;

    /* x-amz-* headers, then (presigned) x-amz-* query parameters. */
    for (int i = 0; i < in->nheaders; i++) {
        hf_str_t nm = in->headers[i].name;
        if (!hf_auth_iprefix(nm, "x-amz-"))
            continue;
        ent_t *e = &s.ent[s.n];
        char *lname = copy_in(&s, nm.p, nm.n);
        for (size_t k = 0; k < nm.n; k++)
            lname[k] = hf_auth_lower(lname[k]);
        hf_str_t v = trim(in->headers[i].value.p, in->headers[i].value.n);
        *e = (ent_t){lname, v.p, nm.n, v.n, s.n, true};
        s.n++;
    }
    hf_str_t rest = in->query, name, value;
    bool has_eq;
    while (expires && hf_auth_next_param(&rest, &name, &value, &has_eq)) {
        char *dn, *dv;
        long nn = decode_in(&s, name, &dn);
        if (nn < 0) {
            rc = HF_E_INVAL;
            goto out;
        }
        if (!hf_auth_iprefix((hf_str_t){dn, (size_t)nn}, "x-amz-")) {
            s.used -= (size_t)nn;
            continue;
        }
        for (long k = 0; k < nn; k++)
            dn[k] = hf_auth_lower(dn[k]);
        long vn = decode_in(&s, value, &dv);
        if (vn < 0) {
            rc = HF_E_INVAL;
            goto out;
        }
        hf_str_t v = trim(dv, (size_t)vn);
        s.ent[s.n] = (ent_t){dn, v.p, (size_t)nn, v.n, s.n, true};
        s.n++;
    }
    if (s.n)
        rc = put_list(out, s.ent, s.n, true);
    if (rc)
        goto out;

    /* The canonical resource. */
    if (vhost_bucket) {
        rc = hf_buf_putc(out, '/');
        if (!rc)
            rc = hf_buf_append(out, vhost_bucket, strlen(vhost_bucket));
    }
    if (!rc)
        rc = hf_buf_append(out, in->path.p, in->path.n);
    /* A path-style request for the bucket itself ("/bucket") signs
     * "/bucket/", as a virtual-hosted one does: botocore signs it so
     * "to generate a signature that the server will accept". */
    if (!rc && !vhost_bucket && in->path.n > 1 && !memchr(in->path.p + 1, '/', in->path.n - 1))
        rc = hf_buf_putc(out, '/');
    if (rc)
        goto out;
    s.n = 0;
    s.used = 0;
    rest = in->query;
    while (hf_auth_next_param(&rest, &name, &value, &has_eq)) {
        char *dn, *dv = NULL;
        long nn = decode_in(&s, name, &dn), vn = 0;
        if (nn < 0) {
            rc = HF_E_INVAL;
            goto out;
        }
        if (!is_subresource(dn, (size_t)nn)) {
            s.used -= (size_t)nn;
            continue;
        }
        vn = decode_in(&s, value, &dv);
        if (vn < 0) {
            rc = HF_E_INVAL;
            goto out;
        }
        s.ent[s.n] = (ent_t){dn, dv, (size_t)nn, (size_t)vn, s.n, has_eq};
        s.n++;
    }
    if (s.n)
        rc = put_list(out, s.ent, s.n, false);
out:
    free(s.ent);
    free(s.bytes);
    return rc;
}

/* ---- verify ---------------------------------------------------------------------- */

void hf_sigv2_sign(const char *secret, const void *msg, size_t n, char out[HF_SIGV2_SIG_LEN + 1])
{
    unsigned char mac[HF_SHA1_LEN];
    hf_hmac_sha1(secret, strlen(secret), msg, n, mac);
    hf_base64_encode(out, mac, sizeof mac);
    memset(mac, 0, sizeof mac);
}

static bool sig_equal(const char *want, const char *got, size_t got_len)
{
    /* The length of a signature tells nothing about the secret. */
    return got_len == HF_SIGV2_SIG_LEN && hf_ct_equal(want, got, HF_SIGV2_SIG_LEN);
}

bool hf_sigv2_policy_ok(const char *secret, const char *policy, size_t policy_len,
                        const char *sig, size_t sig_len)
{
    char want[HF_SIGV2_SIG_LEN + 1];
    hf_sigv2_sign(secret, policy, policy_len, want);
    return sig_equal(want, sig, sig_len);
}

int hf_sigv2_verify(const hf_sigv4_input_t *in, const char *vhost_bucket, const hf_sigv2_t *a,
                    const char *secret, int64_t now, hf_buf_t *sts, char *msg, size_t msgcap)
{
    if (msg && msgcap)
        msg[0] = '\0';
    if (!in || !a || !secret || (a->kind != HF_AUTH_V2_HEADER && a->kind != HF_AUTH_V2_QUERY))
        return hf_auth_fail(msg, msgcap, HF_AUTH_ERR_INTERNAL, "nothing to verify");

    /* Clock first: a stale request is refused even with a valid signature. */
    char exp[24] = "";
    if (a->kind == HF_AUTH_V2_QUERY) {
        if (now > a->expires)
            return hf_auth_fail(msg, msgcap, HF_AUTH_ERR_EXPIRED, "Request has expired");
        /* The Expires text exactly as sent is what was signed. */
        hf_str_t raw;
        hf_auth_find_param(in->query, "Expires", &raw);
        if (hf_auth_qdecode(raw, exp, sizeof exp) < 0)
            return hf_auth_fail(msg, msgcap, HF_AUTH_ERR_DENIED, "%s", query_needs);
    } else if (a->request_time - now > HF_CLOCK_SKEW_MAX_S ||
               now - a->request_time > HF_CLOCK_SKEW_MAX_S) {
        return hf_auth_fail(msg, msgcap, HF_AUTH_ERR_SKEWED,
                            "The difference between the request time and the current time is "
                            "too large.");
    }

    hf_buf_t b;
    hf_buf_init(&b, STS_MAX);
    int st = HF_AUTH_OK;
    int rc = hf_sigv2_string_to_sign(in, vhost_bucket, a->kind == HF_AUTH_V2_QUERY ? exp : NULL,
                                     &b);
    if (rc == -ENOMEM) {
        st = hf_auth_fail(msg, msgcap, HF_AUTH_ERR_INTERNAL, "out of memory");
        goto out;
    }
    if (rc) {
        /* A request we cannot canonicalise was not signed by a client that
         * could. */
        st = hf_auth_fail(msg, msgcap, HF_AUTH_ERR_SIGNATURE,
                          "The request signature we calculated does not match the signature "
                          "you provided: %s",
                          rc == HF_E_INVAL ? "the query string has a malformed %-escape"
                                           : "the request is too large to canonicalise");
        goto out;
    }
    if (sts) {
        hf_buf_reset(sts);
        hf_buf_append(sts, b.data ? b.data : "", b.len);
    }
    char want[HF_SIGV2_SIG_LEN + 1];
    hf_sigv2_sign(secret, b.data ? b.data : "", b.len, want);
    if (!sig_equal(want, a->signature, a->sig_len))
        st = hf_auth_fail(msg, msgcap, HF_AUTH_ERR_SIGNATURE,
                          "The request signature we calculated does not match the signature "
                          "you provided. Check your key and signing method.");
    memset(want, 0, sizeof want);
out:
    hf_buf_free(&b);
    return st;
}
