/*
 * sigv4.c -- AWS Signature Version 4 for S3 (see sigv4.h): reading the auth
 * fields of a request, rebuilding its canonical request and string to sign,
 * and signing requests for holdfast's own clients.
 *
 * Approach: hf_sigv4_parse checks everything that needs no secret (syntax,
 * scope, dates, payload hash, which headers are signed) and copies what it
 * needs into hf_sigv4_t, so hf_sigv4_verify is clock checks, one
 * canonicalisation and one HMAC. The canonical request is built by one
 * function for both verifying and signing, so what we sign is byte for byte
 * what we verify. Every intermediate lives in a capped hf_buf_t or in a heap
 * block sized from the (already bounded) request, never in an unbounded one.
 *
 * Which headers must be signed (checked in parse, for header and query auth):
 *   - host, always (AWS requires it; without it a signature could be replayed
 *     against another endpoint);
 *   - every x-amz-* header present in the request, because those change what
 *     an operation does (x-amz-copy-source turns a PUT into a copy,
 *     x-amz-acl changes permissions), and S3 refuses them unsigned
 *     ("There were headers present in the request which were not signed");
 *   - except x-amz-date and x-amz-content-sha256: their values enter the
 *     signature anyway (the timestamp line of the string to sign, the payload
 *     line of the canonical request), and for a presigned request they are
 *     ignored unless signed, so leaving them unsigned lets nothing through.
 * Real clients sign every x-amz-* header they send: botocore signs all
 * headers but expect, user-agent and x-amzn-trace-id; the JS SDK v3 all but
 * a fixed list of hop-by-hop and browser headers (none x-amz-*) and, when
 * presigning, moves x-amz-* headers into the query or signs them; the Java v2
 * and Go v2 signers ignore only connection/user-agent/expect/trace ids.
 * Other headers (content-type, content-md5, ...) may be left unsigned: browser
 * uploads to presigned URLs send content-type unsigned, and S3 accepts that.
 *
 * SignedHeaders must be lower-case, sorted and without duplicates, as every
 * SDK sends it; anything else is refused as malformed rather than guessed at.
 */
#include "auth/sigv4.h"

#include "auth/common.h"
#include "auth/sigv2.h"
#include "base/err.h"
#include "base/time.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ALGORITHM "AWS4-HMAC-SHA256"
#define TERMINATOR "aws4_request"
#define EMPTY_SHA256_HEX "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

/* The canonical request re-encodes the path and the query (each at most
 * HF_HTTP_URL_MAX, growing at most 3x) and repeats signed header values
 * (all within the head); nothing legitimate comes near this cap. */
#define CANONICAL_MAX (2 * HF_HTTP_HEAD_MAX + 6 * HF_HTTP_URL_MAX)

/* Credential value: access key, date, region, service, terminator. */
#define CREDENTIAL_MAX (HF_ACCESS_KEY_MAX + 9 + HF_REGION_MAX + 1 + 32 + 13)

#define SERVICE_MAX ((int)sizeof(((hf_sigv4_t *)0)->service) - 1)

/* ---- small helpers -------------------------------------------------------- */

static bool is_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static bool all_hex(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!is_hex(s[i]))
            return false;
    return true;
}

/* RFC 9110 token characters, lower-case letters only (SignedHeaders). */
static bool is_lower_tchar(unsigned char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
        return true;
    return c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* ---- pieces of the auth fields --------------------------------------------- */

/* "AKID/YYYYMMDD/region/service/aws4_request". Split from the right so the
 * access key is whatever precedes the four scope parts. */
static int parse_credential(const char *s, size_t n, hf_sigv4_t *a, int bad, char *msg,
                            size_t cap)
{
    static const char expect[] =
        "expecting \"<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request\"";
    char tmp[80];
    const char *cut[4];
    size_t end = n;
    for (int k = 3; k >= 0; k--) {
        const char *sl = NULL;
        for (size_t i = end; i > 0; i--) {
            if (s[i - 1] == '/') {
                sl = s + i - 1;
                break;
            }
        }
        if (!sl)
            return hf_auth_fail(msg, cap, bad, "the Credential '%s' is malformed; %s",
                                hf_auth_show(tmp, sizeof tmp, s, n), expect);
        cut[k] = sl;
        end = (size_t)(sl - s);
    }
    size_t aklen = (size_t)(cut[0] - s);
    const char *date = cut[0] + 1, *region = cut[1] + 1, *service = cut[2] + 1;
    const char *term = cut[3] + 1;
    size_t datelen = (size_t)(cut[1] - date), reglen = (size_t)(cut[2] - region);
    size_t svclen = (size_t)(cut[3] - service), termlen = (size_t)(s + n - term);

    if (termlen != strlen(TERMINATOR) || memcmp(term, TERMINATOR, termlen) != 0)
        return hf_auth_fail(msg, cap, bad,
                            "the credential scope must end in aws4_request, not '%s'; %s",
                            hf_auth_show(tmp, sizeof tmp, term, termlen), expect);
    if (aklen < HF_ACCESS_KEY_MIN || aklen > HF_ACCESS_KEY_MAX || !hf_auth_visible(s, aklen))
        return hf_auth_fail(msg, cap, bad, "the access key id in the Credential is malformed; %s",
                            expect);
    char probe[17];
    int64_t secs;
    if (datelen != 8)
        return hf_auth_fail(msg, cap, bad, "the date '%s' in the Credential is not YYYYMMDD; %s",
                            hf_auth_show(tmp, sizeof tmp, date, datelen), expect);
    memcpy(probe, date, 8);
    memcpy(probe + 8, "T000000Z", 8);
    if (hf_time_parse_amz(probe, 16, &secs) != HF_OK)
        return hf_auth_fail(msg, cap, bad, "the date '%s' in the Credential is not YYYYMMDD; %s",
                            hf_auth_show(tmp, sizeof tmp, date, datelen), expect);
    if (reglen == 0 || reglen > HF_REGION_MAX || !hf_auth_visible(region, reglen))
        return hf_auth_fail(msg, cap, bad, "the region in the Credential is malformed; %s", expect);
    if (svclen == 0 || svclen > (size_t)SERVICE_MAX || !hf_auth_visible(service, svclen))
        return hf_auth_fail(msg, cap, bad, "the service in the Credential is malformed; %s", expect);

    memcpy(a->access_key, s, aklen);
    a->access_key[aklen] = '\0';
    memcpy(a->date, date, 8);
    a->date[8] = '\0';
    memcpy(a->region, region, reglen);
    a->region[reglen] = '\0';
    memcpy(a->service, service, svclen);
    a->service[svclen] = '\0';
    snprintf(a->scope, sizeof a->scope, "%s/%s/%s/%s", a->date, a->region, a->service,
             TERMINATOR);
    return HF_AUTH_OK;
}

/* Check a decoded SignedHeaders list: lower-case tokens, sorted, no
 * duplicates, at most HF_SIGNED_HEADERS_MAX. Returns 0 or a message. */
static const char *check_signed_headers(const char *s, size_t n)
{
    if (n == 0)
        return "SignedHeaders is empty";
    int count = 0;
    const char *prev = NULL;
    size_t prevlen = 0;
    size_t i = 0;
    while (i <= n) {
        size_t j = i;
        while (j < n && s[j] != ';')
            j++;
        if (j == i)
            return "SignedHeaders has an empty header name";
        for (size_t k = i; k < j; k++) {
            unsigned char c = (unsigned char)s[k];
            if (c >= 'A' && c <= 'Z')
                return "SignedHeaders must name headers in lower case";
            if (!is_lower_tchar(c))
                return "SignedHeaders contains a character not allowed in a header name";
        }
        if (++count > HF_SIGNED_HEADERS_MAX)
            return "SignedHeaders names too many headers";
        if (prev) {
            int c = hf_auth_name_cmp(prev, prevlen, s + i, j - i);
            if (c == 0)
                return "SignedHeaders names a header twice";
            if (c > 0)
                return "SignedHeaders must be sorted";
        }
        prev = s + i;
        prevlen = j - i;
        i = j + 1;
    }
    return NULL;
}

static bool list_has(const char *s, size_t n, const char *name, size_t nn)
{
    size_t i = 0;
    while (i <= n) {
        size_t j = i;
        while (j < n && s[j] != ';')
            j++;
        if (j - i == nn) {
            size_t k = 0;
            while (k < nn && s[i + k] == hf_auth_lower(name[k]))
                k++;
            if (k == nn)
                return true;
        }
        i = j + 1;
    }
    return false;
}

/* The host and x-amz-* rule described at the top of this file. */
static int check_unsigned(const hf_sigv4_input_t *in, const char *sh, size_t shn, char *msg,
                          size_t cap)
{
    char tmp[80];
    if (!list_has(sh, shn, "host", 4))
        return hf_auth_fail(msg, cap, HF_AUTH_ERR_UNSIGNED_HEADER,
                            "the host header must be signed (add it to SignedHeaders)");
    for (int i = 0; i < in->nheaders; i++) {
        hf_str_t name = in->headers[i].name;
        if (!hf_auth_iprefix(name, "x-amz-") || hf_auth_ieq(name, "x-amz-date", 10) ||
            hf_auth_ieq(name, "x-amz-content-sha256", 20))
            continue;
        if (!list_has(sh, shn, name.p, name.n))
            return hf_auth_fail(msg, cap, HF_AUTH_ERR_UNSIGNED_HEADER,
                                "There were headers present in the request which were not signed: %s",
                                hf_auth_show(tmp, sizeof tmp, name.p, name.n));
    }
    return HF_AUTH_OK;
}

int hf_sigv4_payload(hf_str_t v, enum hf_payload_mode *mode, unsigned char sha256[HF_SHA256_LEN],
                     char *msg, size_t cap)
{
    static const struct {
        const char *s;
        enum hf_payload_mode m;
    } lits[] = {
        {"UNSIGNED-PAYLOAD", HF_PAYLOAD_UNSIGNED},
        {"STREAMING-AWS4-HMAC-SHA256-PAYLOAD", HF_PAYLOAD_STREAMING_SIGNED},
        {"STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER", HF_PAYLOAD_STREAMING_SIGNED_TRAILER},
        {"STREAMING-UNSIGNED-PAYLOAD-TRAILER", HF_PAYLOAD_STREAMING_UNSIGNED_TRAILER},
    };
    for (size_t i = 0; i < sizeof lits / sizeof lits[0]; i++) {
        if (hf_str_eq(v, lits[i].s)) {
            *mode = lits[i].m;
            return HF_AUTH_OK;
        }
    }
    if (v.n == 2 * HF_SHA256_LEN && hf_hex_decode(sha256, v.p, HF_SHA256_LEN) == HF_OK) {
        *mode = HF_PAYLOAD_SHA256;
        return HF_AUTH_OK;
    }
    return hf_auth_fail(msg, cap, HF_AUTH_ERR_CONTENT_SHA256,
                        "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, "
                        "STREAMING-AWS4-HMAC-SHA256-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER, "
                        "STREAMING-UNSIGNED-PAYLOAD-TRAILER or a SHA-256 in hex");
}

static int set_amz_date(hf_sigv4_t *a, const char *s, size_t n)
{
    int64_t secs;
    if (hf_time_parse_amz(s, n, &secs) != HF_OK)
        return HF_E_INVAL;
    memcpy(a->amz_date, s, 16);
    a->amz_date[16] = '\0';
    a->request_time = secs;
    return HF_OK;
}

static int check_scope_date(const hf_sigv4_t *a, int bad, char *msg, size_t cap)
{
    if (memcmp(a->date, a->amz_date, 8) != 0)
        return hf_auth_fail(msg, cap, bad,
                            "Invalid credential date \"%s\": it is not the same as the request date "
                            "\"%.8s\"",
                            a->date, a->amz_date);
    return HF_AUTH_OK;
}

/* ---- parse: Authorization header ------------------------------------------- */

static int parse_header_auth(const hf_sigv4_input_t *in, hf_str_t auth, hf_sigv4_t *a,
                             char *msg, size_t cap)
{
    const int bad = HF_AUTH_ERR_HEADER_MALFORMED;
    char tmp[80];
    const char *p = auth.p, *end = auth.p + auth.n;

    /* The scheme is the first token. */
    const char *sp = p;
    while (sp < end && !hf_auth_is_ws(*sp))
        sp++;
    hf_str_t scheme = {p, (size_t)(sp - p)};
    if (hf_str_eq(scheme, "AWS"))
        return hf_auth_fail(msg, cap, HF_AUTH_ERR_UNSUPPORTED, "%s", HF_SIGV2_REFUSED);
    if (!hf_str_eq(scheme, ALGORITHM))
        return hf_auth_fail(msg, cap, HF_AUTH_ERR_UNSUPPORTED,
                            "Unsupported Authorization type '%s'; sign requests with AWS4-HMAC-SHA256",
                            hf_auth_show(tmp, sizeof tmp, scheme.p, scheme.n));

    /* Components: Credential=..., SignedHeaders=..., Signature=... in any
     * order, separated by ',' with optional whitespace around it. */
    hf_str_t cred = {0}, sh = {0}, sig = {0};
    bool have_cred = false, have_sh = false, have_sig = false;
    p = sp;
    while (p < end) {
        while (p < end && hf_auth_is_ws(*p))
            p++;
        if (p == end)
            break;
        const char *c = p;
        while (c < end && *c != ',')
            c++;
        const char *vend = c;
        while (vend > p && hf_auth_is_ws(vend[-1]))
            vend--;
        const char *eq = memchr(p, '=', (size_t)(vend - p));
        if (!eq)
            return hf_auth_fail(msg, cap, bad,
                                "the Authorization header is malformed near '%s'; expected "
                                "Credential=..., SignedHeaders=..., Signature=...",
                                hf_auth_show(tmp, sizeof tmp, p, (size_t)(vend - p)));
        hf_str_t key = {p, (size_t)(eq - p)};
        hf_str_t val = {eq + 1, (size_t)(vend - eq - 1)};
        hf_str_t *slot;
        bool *seen;
        if (hf_str_eq(key, "Credential")) {
            slot = &cred;
            seen = &have_cred;
        } else if (hf_str_eq(key, "SignedHeaders")) {
            slot = &sh;
            seen = &have_sh;
        } else if (hf_str_eq(key, "Signature")) {
            slot = &sig;
            seen = &have_sig;
        } else {
            return hf_auth_fail(msg, cap, bad, "the Authorization header has an unknown part '%s'",
                                hf_auth_show(tmp, sizeof tmp, key.p, key.n));
        }
        if (*seen)
            return hf_auth_fail(msg, cap, bad, "the Authorization header gives %s twice",
                                hf_auth_show(tmp, sizeof tmp, key.p, key.n));
        *seen = true;
        *slot = val;
        p = c < end ? c + 1 : c;
        if (c < end) { /* a trailing comma with nothing after it is malformed */
            const char *q = p;
            while (q < end && hf_auth_is_ws(*q))
                q++;
            if (q == end)
                return hf_auth_fail(msg, cap, bad, "the Authorization header ends in a comma");
        }
    }
    if (!have_cred || !have_sh || !have_sig)
        return hf_auth_fail(msg, cap, bad, "the Authorization header is missing %s",
                            !have_cred ? "Credential" : !have_sh ? "SignedHeaders" : "Signature");

    if (cred.n > CREDENTIAL_MAX)
        return hf_auth_fail(msg, cap, bad, "the Credential is too long");
    int st = parse_credential(cred.p, cred.n, a, bad, msg, cap);
    if (st)
        return st;

    const char *why = check_signed_headers(sh.p, sh.n);
    if (why)
        return hf_auth_fail(msg, cap, bad, "%s", why);
    a->signed_headers = sh;

    if (sig.n != 2 * HF_SHA256_LEN || !all_hex(sig.p, sig.n) ||
        hf_hex_decode(a->signature, sig.p, HF_SHA256_LEN) != HF_OK)
        return hf_auth_fail(msg, cap, bad, "the Signature must be 64 hexadecimal digits");

    /* Request time: x-amz-date, else Date. */
    hf_str_t v;
    int nd = hf_auth_find_header(in, "x-amz-date", &v);
    if (nd > 1)
        return hf_auth_fail(msg, cap, HF_AUTH_ERR_NO_DATE, "the request has more than one x-amz-date");
    if (nd == 1) {
        if (set_amz_date(a, v.p, v.n) != HF_OK)
            return hf_auth_fail(msg, cap, HF_AUTH_ERR_NO_DATE,
                                "x-amz-date '%s' is not a date in the form YYYYMMDD'T'HHMMSS'Z'",
                                hf_auth_show(tmp, sizeof tmp, v.p, v.n));
    } else {
        int nh = hf_auth_find_header(in, "date", &v);
        int64_t secs;
        if (nh == 0)
            return hf_auth_fail(msg, cap, HF_AUTH_ERR_NO_DATE,
                                "AWS authentication requires a valid Date or x-amz-date header");
        /* The bound keeps the conversion to nanoseconds below from
         * overflowing (HTTP dates go up to year 9999). */
        if (nh > 1 || hf_time_parse_http(v.p, v.n, &secs) != HF_OK ||
            secs > INT64_MAX / 1000000000)
            return hf_auth_fail(msg, cap, HF_AUTH_ERR_NO_DATE,
                                "AWS authentication requires a valid Date or x-amz-date header");
        hf_time_amz(a->amz_date, secs * 1000000000);
        a->request_time = secs;
    }
    st = check_scope_date(a, bad, msg, cap);
    if (st)
        return st;

    /* S3 requires the payload hash header with header auth. */
    int ns = hf_auth_find_header(in, "x-amz-content-sha256", &v);
    if (ns == 0)
        return hf_auth_fail(msg, cap, HF_AUTH_ERR_NO_CONTENT_SHA256,
                            "Missing required header for this request: x-amz-content-sha256");
    if (ns > 1)
        return hf_auth_fail(msg, cap, HF_AUTH_ERR_CONTENT_SHA256,
                            "the request has more than one x-amz-content-sha256");
    st = hf_sigv4_payload(v, &a->payload_mode, a->payload_sha256, msg, cap);
    if (st)
        return st;

    return check_unsigned(in, sh.p, sh.n, msg, cap);
}

/* ---- parse: presigned query ------------------------------------------------- */

static int parse_query_auth(const hf_sigv4_input_t *in, hf_sigv4_t *a, char *msg, size_t cap)
{
    const int bad = HF_AUTH_ERR_QUERY_MALFORMED;
    static const char need[] =
        "Query-string authentication version 4 requires the X-Amz-Algorithm, "
        "X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and "
        "X-Amz-Expires parameters.";
    static const char *const names[] = {"X-Amz-Algorithm", "X-Amz-Credential",
                                        "X-Amz-Date",      "X-Amz-Expires",
                                        "X-Amz-SignedHeaders", "X-Amz-Signature"};
    hf_str_t raw[6];
    char tmp[80];
    for (int i = 0; i < 6; i++) {
        int c = hf_auth_find_param(in->query, names[i], &raw[i]);
        if (c == 0)
            return hf_auth_fail(msg, cap, bad, "%s", need);
        if (c > 1)
            return hf_auth_fail(msg, cap, bad, "%s is given more than once", names[i]);
    }

    /* Scratch for decoded values; the query is bounded by the URL limit. */
    char *buf = malloc(HF_HTTP_URL_MAX + 1);
    if (!buf)
        return hf_auth_fail(msg, cap, HF_AUTH_ERR_INTERNAL, "out of memory");
    int st = HF_AUTH_OK;
    long n;

    n = hf_auth_qdecode(raw[0], buf, HF_HTTP_URL_MAX + 1);
    if (n < 0 || (size_t)n != strlen(ALGORITHM) || memcmp(buf, ALGORITHM, (size_t)n) != 0) {
        st = hf_auth_fail(msg, cap, n < 0 ? bad : HF_AUTH_ERR_UNSUPPORTED,
                          "X-Amz-Algorithm only supports \"AWS4-HMAC-SHA256\", not '%s'",
                          n < 0 ? "(malformed)" : hf_auth_show(tmp, sizeof tmp, buf, (size_t)n));
        goto out;
    }

    n = hf_auth_qdecode(raw[1], buf, HF_HTTP_URL_MAX + 1);
    if (n < 0 || n > CREDENTIAL_MAX) {
        st = hf_auth_fail(msg, cap, bad, "X-Amz-Credential is malformed");
        goto out;
    }
    st = parse_credential(buf, (size_t)n, a, bad, msg, cap);
    if (st)
        goto out;

    n = hf_auth_qdecode(raw[2], buf, HF_HTTP_URL_MAX + 1);
    if (n < 0 || set_amz_date(a, buf, (size_t)n) != HF_OK) {
        st = hf_auth_fail(msg, cap, bad,
                          "X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"");
        goto out;
    }
    st = check_scope_date(a, bad, msg, cap);
    if (st)
        goto out;

    uint64_t exp;
    n = hf_auth_qdecode(raw[3], buf, HF_HTTP_URL_MAX + 1);
    if (n < 0 || hf_parse_u64(buf, (size_t)n, &exp) != HF_OK) {
        st = hf_auth_fail(msg, cap, bad, "X-Amz-Expires should be a number of seconds");
        goto out;
    }
    if (exp < 1 || exp > HF_PRESIGN_EXPIRES_MAX_S) {
        st = hf_auth_fail(msg, cap, bad,
                          "X-Amz-Expires must be between 1 and %d seconds (one week)",
                          HF_PRESIGN_EXPIRES_MAX_S);
        goto out;
    }
    a->expires = (int64_t)exp;

    n = hf_auth_qdecode(raw[4], buf, HF_HTTP_URL_MAX + 1);
    const char *why = n < 0 ? "X-Amz-SignedHeaders is malformed"
                            : check_signed_headers(buf, (size_t)n);
    if (why) {
        st = hf_auth_fail(msg, cap, bad, "%s", why);
        goto out;
    }
    a->signed_headers = raw[4];
    /* Checked on the decoded copy while we have it. */
    st = check_unsigned(in, buf, (size_t)n, msg, cap);
    if (st)
        goto out;
    bool sha_signed = list_has(buf, (size_t)n, "x-amz-content-sha256", 20);

    n = hf_auth_qdecode(raw[5], buf, HF_HTTP_URL_MAX + 1);
    if (n != 2 * HF_SHA256_LEN || !all_hex(buf, (size_t)n) ||
        hf_hex_decode(a->signature, buf, HF_SHA256_LEN) != HF_OK) {
        st = hf_auth_fail(msg, cap, bad, "X-Amz-Signature must be 64 hexadecimal digits");
        goto out;
    }

    /* Payload hash: the JS SDK v3 (and Go v1) presigners move
     * X-Amz-Content-Sha256 into the query; botocore signs the header when
     * it is set; otherwise it is UNSIGNED-PAYLOAD. */
    hf_str_t v;
    int c = hf_auth_find_param(in->query, "X-Amz-Content-Sha256", &v);
    if (c > 1) {
        st = hf_auth_fail(msg, cap, HF_AUTH_ERR_CONTENT_SHA256, "X-Amz-Content-Sha256 is given twice");
        goto out;
    }
    if (c == 1) {
        n = hf_auth_qdecode(v, buf, HF_HTTP_URL_MAX + 1);
        if (n < 0) {
            st = hf_auth_fail(msg, cap, HF_AUTH_ERR_CONTENT_SHA256, "X-Amz-Content-Sha256 is malformed");
            goto out;
        }
        st = hf_sigv4_payload((hf_str_t){buf, (size_t)n}, &a->payload_mode, a->payload_sha256, msg, cap);
    } else if (sha_signed) {
        c = hf_auth_find_header(in, "x-amz-content-sha256", &v);
        if (c != 1) {
            st = hf_auth_fail(msg, cap, HF_AUTH_ERR_CONTENT_SHA256,
                              "x-amz-content-sha256 is signed but %s", c ? "given twice" : "missing");
            goto out;
        }
        st = hf_sigv4_payload(v, &a->payload_mode, a->payload_sha256, msg, cap);
    } else {
        a->payload_mode = HF_PAYLOAD_UNSIGNED;
    }

out:
    free(buf);
    return st;
}

int hf_sigv4_parse(const hf_sigv4_input_t *in, hf_sigv4_t *a, char *msg, size_t msgcap)
{
    memset(a, 0, sizeof *a);
    if (msg && msgcap)
        msg[0] = '\0';
    if (!in)
        return hf_auth_fail(msg, msgcap, HF_AUTH_ERR_INTERNAL, "no request");

    hf_str_t auth, v;
    int nauth = hf_auth_find_header(in, "authorization", &auth);
    bool query = hf_auth_find_param(in->query, "X-Amz-Algorithm", &v) ||
                 hf_auth_find_param(in->query, "X-Amz-Credential", &v) ||
                 hf_auth_find_param(in->query, "X-Amz-Signature", &v);

    if (nauth && query)
        return hf_auth_fail(msg, msgcap, HF_AUTH_ERR_BOTH,
                            "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter "
                            "or the Authorization header should be specified");
    if (nauth > 1)
        return hf_auth_fail(msg, msgcap, HF_AUTH_ERR_HEADER_MALFORMED,
                            "the request has more than one Authorization header");
    if (nauth) {
        a->kind = HF_AUTH_HEADER;
        return parse_header_auth(in, auth, a, msg, msgcap);
    }
    if (query) {
        a->kind = HF_AUTH_QUERY;
        return parse_query_auth(in, a, msg, msgcap);
    }

    /* A Signature Version 2 presigned URL (accepted only where the caller
     * takes V2 first, auth/sigv2.h) would otherwise pass as anonymous and
     * fail later with a misleading AccessDenied. */
    if (hf_sigv2_present(in))
        return hf_auth_fail(msg, msgcap, HF_AUTH_ERR_UNSUPPORTED, "%s", HF_SIGV2_REFUSED);

    a->kind = HF_AUTH_ANONYMOUS;
    int ns = hf_auth_find_header(in, "x-amz-content-sha256", &v);
    if (ns > 1)
        return hf_auth_fail(msg, msgcap, HF_AUTH_ERR_CONTENT_SHA256,
                            "the request has more than one x-amz-content-sha256");
    if (ns == 1)
        return hf_sigv4_payload(v, &a->payload_mode, a->payload_sha256, msg, msgcap);
    return HF_AUTH_OK;
}

/* ---- canonical request ------------------------------------------------------- */

typedef struct qent {
    const char *name, *value;
    size_t nn, vn;
} qent_t;

static int qent_cmp(const void *x, const void *y)
{
    const qent_t *a = x, *b = y;
    int c = hf_auth_name_cmp(a->name, a->nn, b->name, b->nn);
    return c ? c : hf_auth_name_cmp(a->value, a->vn, b->value, b->vn);
}

/* Append hf_uri_encode(decode(raw)) to dst (which has room for 3*raw.n+1). */
static long reencode(char *dst, char *tmp, hf_str_t raw)
{
    long dn = hf_uri_decode(tmp, raw.p, raw.n);
    if (dn < 0)
        return -1;
    return hf_uri_encode(dst, 3 * raw.n + 1, tmp, (size_t)dn, false);
}

static int canonical_query(hf_buf_t *b, hf_str_t query, bool presigned, char *msg, size_t cap)
{
    size_t max = 1;
    for (size_t i = 0; i < query.n; i++)
        max += query.p[i] == '&';
    qent_t *ent = malloc(max * sizeof *ent);
    char *store = malloc(3 * query.n + 2 * max + 1);
    char *tmp = malloc(query.n + 1);
    int rc = HF_OK;
    size_t count = 0, used = 0;
    if (!ent || !store || !tmp) {
        rc = -ENOMEM;
        goto out;
    }
    hf_str_t rest = query, name, value;
    bool eq;
    while (hf_auth_next_param(&rest, &name, &value, &eq)) {
        if (presigned && hf_auth_qname_is(name, "X-Amz-Signature"))
            continue;
        long nn = reencode(store + used, tmp, name);
        if (nn < 0)
            goto bad;
        ent[count].name = store + used;
        ent[count].nn = (size_t)nn;
        used += (size_t)nn + 1;
        long vn = reencode(store + used, tmp, value);
        if (vn < 0)
            goto bad;
        ent[count].value = store + used;
        ent[count].vn = (size_t)vn;
        used += (size_t)vn + 1;
        count++;
    }
    qsort(ent, count, sizeof *ent, qent_cmp);
    for (size_t i = 0; i < count && rc == HF_OK; i++) {
        if (i)
            rc = hf_buf_putc(b, '&');
        if (!rc)
            rc = hf_buf_append(b, ent[i].name, ent[i].nn);
        if (!rc)
            rc = hf_buf_putc(b, '=');
        if (!rc)
            rc = hf_buf_append(b, ent[i].value, ent[i].vn);
    }
    goto out;
bad:
    rc = hf_auth_fail(msg, cap, HF_E_INVAL, "the query string has a malformed %%-escape");
out:
    free(ent);
    free(store);
    free(tmp);
    return rc;
}

/* Header value as SigV4 wants it: trimmed, runs of blanks collapsed to one
 * space (the SDKs collapse any whitespace; only SP and HTAB can occur). */
static int put_value(hf_buf_t *b, hf_str_t v)
{
    size_t i = 0, n = v.n;
    while (i < n && hf_auth_is_ws(v.p[i]))
        i++;
    while (n > i && hf_auth_is_ws(v.p[n - 1]))
        n--;
    char *o = hf_buf_reserve(b, n - i);
    if (!o)
        return b->len + (n - i) > b->max ? HF_E_TOOBIG : -ENOMEM;
    size_t k = 0;
    for (; i < n; i++) {
        if (hf_auth_is_ws(v.p[i])) {
            if (k > 0 && o[k - 1] == ' ')
                continue;
            o[k++] = ' ';
        } else {
            o[k++] = v.p[i];
        }
    }
    hf_buf_commit(b, k);
    return HF_OK;
}

/* The canonical request of in into b. sh/shn: the decoded SignedHeaders.
 * Returns HF_OK, HF_E_INVAL (bad %-escape), HF_E_NOTFOUND (a signed header
 * is absent; msg says which), HF_E_TOOBIG or -ENOMEM. */
static int canonical_request(hf_buf_t *b, const hf_sigv4_input_t *in, const char *sh,
                             size_t shn, const char *payload, size_t payloadlen,
                             bool presigned, char *msg, size_t cap)
{
    int rc = hf_buf_append(b, in->method.p, in->method.n);
    if (!rc)
        rc = hf_buf_putc(b, '\n');
    if (rc)
        return rc;

    /* S3 canonical URI: decode once, encode once, no normalisation. */
    if (in->path.n == 0) {
        rc = hf_buf_putc(b, '/');
    } else {
        char *tmp = malloc(in->path.n + 1);
        if (!tmp)
            return -ENOMEM;
        long dn = hf_uri_decode(tmp, in->path.p, in->path.n);
        if (dn < 0) {
            free(tmp);
            return hf_auth_fail(msg, cap, HF_E_INVAL, "the path has a malformed %%-escape");
        }
        char *o = hf_buf_reserve(b, 3 * (size_t)dn);
        if (!o) {
            free(tmp);
            return b->len + 3 * (size_t)dn > b->max ? HF_E_TOOBIG : -ENOMEM;
        }
        long en = hf_uri_encode(o, 3 * (size_t)dn + 1, tmp, (size_t)dn, true);
        free(tmp);
        hf_buf_commit(b, (size_t)en);
    }
    if (!rc)
        rc = hf_buf_putc(b, '\n');
    if (!rc)
        rc = canonical_query(b, in->query, presigned, msg, cap);
    if (!rc)
        rc = hf_buf_putc(b, '\n');
    if (rc)
        return rc;

    /* Canonical headers, in SignedHeaders order (which is sorted). */
    size_t i = 0;
    while (i <= shn && rc == HF_OK) {
        size_t j = i;
        while (j < shn && sh[j] != ';')
            j++;
        rc = hf_buf_append(b, sh + i, j - i);
        if (!rc)
            rc = hf_buf_putc(b, ':');
        int found = 0;
        for (int h = 0; h < in->nheaders && rc == HF_OK; h++) {
            if (!hf_auth_ieq(in->headers[h].name, sh + i, j - i))
                continue;
            if (found++)
                rc = hf_buf_putc(b, ',');
            if (!rc)
                rc = put_value(b, in->headers[h].value);
        }
        if (!rc && !found) {
            char tmp[80];
            return hf_auth_fail(msg, cap, HF_E_NOTFOUND,
                                "the signed header '%s' is not in the request",
                                hf_auth_show(tmp, sizeof tmp, sh + i, j - i));
        }
        if (!rc)
            rc = hf_buf_putc(b, '\n');
        i = j + 1;
    }
    if (!rc)
        rc = hf_buf_putc(b, '\n');
    if (!rc)
        rc = hf_buf_append(b, sh, shn);
    if (!rc)
        rc = hf_buf_putc(b, '\n');
    if (!rc)
        rc = hf_buf_append(b, payload, payloadlen);
    return rc;
}

/* "AWS4-HMAC-SHA256\n" amz_date "\n" scope "\n" hex(sha256(cr)) */
static int string_to_sign(hf_buf_t *sts, const char *amz_date, const char *scope,
                          const hf_buf_t *cr)
{
    unsigned char h[HF_SHA256_LEN];
    char hex[2 * HF_SHA256_LEN + 1];
    hf_sha256(cr->data ? cr->data : "", cr->len, h);
    hf_hex_encode(hex, h, sizeof h);
    return hf_buf_printf(sts, ALGORITHM "\n%s\n%s\n%s", amz_date, scope, hex);
}

/* ---- verify ------------------------------------------------------------------ */

/* The signing key changes once a day per key and region, and deriving it
 * is four of the five HMACs of a request, so each thread keeps the last
 * one it derived (a client, or a server whose requests mostly come from
 * one key, hits it almost always). The inputs are compared exactly; the
 * cache holds no more than the secret it was derived from. */
static _Thread_local struct {
    char in[HF_SECRET_KEY_MAX + 1 + 9 + HF_REGION_MAX + 1 + SERVICE_MAX + 2];
    size_t len;
    unsigned char key[HF_SHA256_LEN];
} key_cache;

/* "secret\0date\0region\0service" into out; its length, or 0 if too long. */
static size_t key_inputs(char *out, size_t cap, const char *secret, const char *date,
                         const char *region, const char *service)
{
    const char *parts[4] = {secret, date, region, service};
    size_t len = 0;
    for (int i = 0; i < 4; i++) {
        size_t n = strlen(parts[i]) + 1;
        if (len + n > cap)
            return 0;
        memcpy(out + len, parts[i], n);
        len += n;
    }
    return len;
}

void hf_sigv4_signing_key(const char *secret, const char *date, const char *region,
                          const char *service, unsigned char out[HF_SHA256_LEN])
{
    char k[4 + HF_SECRET_KEY_MAX + 1];
    size_t n = strlen(secret);
    if (n > HF_SECRET_KEY_MAX) {
        /* Cannot be a holdfast secret; a key nobody can sign with. */
        memset(out, 0, HF_SHA256_LEN);
        return;
    }
    char in[sizeof key_cache.in];
    size_t inlen = key_inputs(in, sizeof in, secret, date, region, service);
    if (inlen && inlen == key_cache.len && memcmp(in, key_cache.in, inlen) == 0) {
        memcpy(out, key_cache.key, HF_SHA256_LEN);
        memset(in, 0, sizeof in);
        return;
    }
    memcpy(k, "AWS4", 4);
    memcpy(k + 4, secret, n);
    unsigned char a[HF_SHA256_LEN], b[HF_SHA256_LEN];
    hf_hmac_sha256(k, 4 + n, date, strlen(date), a);
    hf_hmac_sha256(a, sizeof a, region, strlen(region), b);
    hf_hmac_sha256(b, sizeof b, service, strlen(service), a);
    hf_hmac_sha256(a, sizeof a, TERMINATOR, strlen(TERMINATOR), out);
    if (inlen) {
        memcpy(key_cache.in, in, inlen);
        key_cache.len = inlen;
        memcpy(key_cache.key, out, HF_SHA256_LEN);
    }
    memset(in, 0, sizeof in);
    memset(k, 0, sizeof k);
    memset(a, 0, sizeof a);
    memset(b, 0, sizeof b);
}

int hf_sigv4_verify(const hf_sigv4_input_t *in, hf_sigv4_t *a, const char *secret,
                    const char *region, int64_t now, hf_sigv4_debug_t *dbg, char *msg,
                    size_t msgcap)
{
    bool presigned = a->kind == HF_AUTH_QUERY;
    const int bad = presigned ? HF_AUTH_ERR_QUERY_MALFORMED : HF_AUTH_ERR_HEADER_MALFORMED;
    char tmp[80];
    if (msg && msgcap)
        msg[0] = '\0';
    memset(a->signing_key, 0, sizeof a->signing_key);
    if (!in || (a->kind != HF_AUTH_HEADER && a->kind != HF_AUTH_QUERY))
        return hf_auth_fail(msg, msgcap, HF_AUTH_ERR_INTERNAL, "nothing to verify: no signature");
    if (!secret || strlen(secret) > HF_SECRET_KEY_MAX || !region)
        return hf_auth_fail(msg, msgcap, HF_AUTH_ERR_INTERNAL, "no usable secret or region");

    if (strcmp(a->service, "s3") != 0)
        return hf_auth_fail(msg, msgcap, bad, "the service '%s' in the credential scope is wrong; "
                            "expecting 's3'", hf_auth_show(tmp, sizeof tmp, a->service, strlen(a->service)));
    if (strcmp(a->region, region) != 0)
        return hf_auth_fail(msg, msgcap, HF_AUTH_ERR_REGION, "the region '%s' is wrong; expecting '%s'",
                            hf_auth_show(tmp, sizeof tmp, a->region, strlen(a->region)), region);

    /* Clock first: cheap, and a stale request is refused even when replayed
     * with a valid signature. */
    if (presigned) {
        /* S3 answers a presigned URL dated in the future AccessDenied
         * "Request is not yet valid" (beyond the usual clock skew). */
        if (a->request_time - now > HF_CLOCK_SKEW_MAX_S)
            return hf_auth_fail(msg, msgcap, HF_AUTH_ERR_EXPIRED, "Request is not yet valid");
        if (now > a->request_time + a->expires)
            return hf_auth_fail(msg, msgcap, HF_AUTH_ERR_EXPIRED, "Request has expired");
    } else if (a->request_time - now > HF_CLOCK_SKEW_MAX_S ||
               now - a->request_time > HF_CLOCK_SKEW_MAX_S) {
        return hf_auth_fail(msg, msgcap, HF_AUTH_ERR_SKEWED,
                            "The difference between the request time and the server's time is too "
                            "large.");
    }

    int st = HF_AUTH_OK, rc;
    hf_buf_t cr, sts;
    hf_buf_init(&cr, CANONICAL_MAX);
    hf_buf_init(&sts, 1024);
    char *sh = NULL;
    size_t shn = a->signed_headers.n;

    /* The presigned SignedHeaders is still %-encoded in the URL. */
    sh = malloc(a->signed_headers.n + 1);
    if (!sh) {
        st = hf_auth_fail(msg, msgcap, HF_AUTH_ERR_INTERNAL, "out of memory");
        goto out;
    }
    if (presigned) {
        long n = hf_auth_qdecode(a->signed_headers, sh, a->signed_headers.n + 1);
        if (n < 0 || check_signed_headers(sh, (size_t)n)) {
            st = hf_auth_fail(msg, msgcap, bad, "X-Amz-SignedHeaders is malformed");
            goto out;
        }
        shn = (size_t)n;
    } else if (shn) {
        memcpy(sh, a->signed_headers.p, shn);
    }

    /* The payload line, as the client wrote it (the same sources, in the
     * same order, as parse used). */
    char pbuf[128];
    hf_str_t payload = HF_STR("UNSIGNED-PAYLOAD"), v;
    if (presigned && hf_auth_find_param(in->query, "X-Amz-Content-Sha256", &v) == 1) {
        long n = hf_auth_qdecode(v, pbuf, sizeof pbuf);
        if (n < 0) {
            st = hf_auth_fail(msg, msgcap, HF_AUTH_ERR_CONTENT_SHA256,
                              "X-Amz-Content-Sha256 is malformed");
            goto out;
        }
        payload = (hf_str_t){pbuf, (size_t)n};
    } else if ((!presigned || list_has(sh, shn, "x-amz-content-sha256", 20)) &&
               hf_auth_find_header(in, "x-amz-content-sha256", &v) == 1) {
        payload = v;
    }

    char cmsg[128] = "";
    rc = canonical_request(&cr, in, sh, shn, payload.p, payload.n, presigned, cmsg, sizeof cmsg);
    if (rc == -ENOMEM) {
        st = hf_auth_fail(msg, msgcap, HF_AUTH_ERR_INTERNAL, "out of memory");
        goto out;
    }
    if (rc) {
        /* A request we cannot canonicalise was not signed by a client that
         * could: report it as a mismatch, saying why. */
        st = hf_auth_fail(msg, msgcap, HF_AUTH_ERR_SIGNATURE,
                          "The request signature we calculated does not match the signature you "
                          "provided: %s", cmsg[0] ? cmsg : "the request is too large to canonicalise");
        goto out;
    }
    rc = string_to_sign(&sts, a->amz_date, a->scope, &cr);
    if (rc) {
        st = hf_auth_fail(msg, msgcap, HF_AUTH_ERR_INTERNAL, "out of memory");
        goto out;
    }
    if (dbg) {
        hf_buf_reset(&dbg->canonical_request);
        hf_buf_append(&dbg->canonical_request, cr.data, cr.len);
        hf_buf_reset(&dbg->string_to_sign);
        hf_buf_append(&dbg->string_to_sign, sts.data, sts.len);
    }

    unsigned char key[HF_SHA256_LEN], sig[HF_SHA256_LEN];
    hf_sigv4_signing_key(secret, a->date, a->region, a->service, key);
    hf_hmac_sha256(key, sizeof key, sts.data, sts.len, sig);
    if (!hf_ct_equal(sig, a->signature, HF_SHA256_LEN)) {
        st = hf_auth_fail(msg, msgcap, HF_AUTH_ERR_SIGNATURE,
                          "The request signature we calculated does not match the signature you "
                          "provided. Check your key and signing method.");
    } else {
        memcpy(a->signing_key, key, sizeof key);
    }
    memset(key, 0, sizeof key);

out:
    free(sh);
    hf_buf_free(&cr);
    hf_buf_free(&sts);
    return st;
}

/* ---- chunk and trailer signatures ---------------------------------------------- */

static void chain_signature(const char *what, const unsigned char key[HF_SHA256_LEN],
                            const char *amz_date, const char *scope,
                            const unsigned char prev[HF_SHA256_LEN], const char *extra,
                            const unsigned char hash[HF_SHA256_LEN],
                            unsigned char out[HF_SHA256_LEN])
{
    char prevhex[2 * HF_SHA256_LEN + 1], hashhex[2 * HF_SHA256_LEN + 1];
    char sts[64 + 17 + sizeof(((hf_sigv4_t *)0)->scope) + 3 * (2 * HF_SHA256_LEN + 1) + 8];
    hf_hex_encode(prevhex, prev, HF_SHA256_LEN);
    hf_hex_encode(hashhex, hash, HF_SHA256_LEN);
    int n = snprintf(sts, sizeof sts, "%s\n%.16s\n%.*s\n%s\n%s%s", what, amz_date,
                     (int)sizeof(((hf_sigv4_t *)0)->scope) - 1, scope, prevhex, extra, hashhex);
    if (n < 0)
        n = 0;
    if ((size_t)n >= sizeof sts)
        n = (int)sizeof sts - 1;
    hf_hmac_sha256(key, HF_SHA256_LEN, sts, (size_t)n, out);
}

void hf_sigv4_chunk_signature(const unsigned char key[HF_SHA256_LEN], const char *amz_date,
                              const char *scope, const unsigned char prev[HF_SHA256_LEN],
                              const unsigned char chunk_sha256[HF_SHA256_LEN],
                              unsigned char out[HF_SHA256_LEN])
{
    chain_signature("AWS4-HMAC-SHA256-PAYLOAD", key, amz_date, scope, prev,
                    EMPTY_SHA256_HEX "\n", chunk_sha256, out);
}

void hf_sigv4_trailer_signature(const unsigned char key[HF_SHA256_LEN], const char *amz_date,
                                const char *scope, const unsigned char prev[HF_SHA256_LEN],
                                const unsigned char trailer_sha256[HF_SHA256_LEN],
                                unsigned char out[HF_SHA256_LEN])
{
    chain_signature("AWS4-HMAC-SHA256-TRAILER", key, amz_date, scope, prev, "", trailer_sha256,
                    out);
}

/* ---- client side --------------------------------------------------------------- */

int hf_sigv4_sign_header(const hf_sigv4_input_t *in, const char *access_key, const char *secret,
                         const char *region, const char *service, const char *amz_date,
                         const char *signed_headers, const char *payload_hash, char *out,
                         size_t cap)
{
    if (!in || !access_key || !secret || !region || !service || !amz_date || !signed_headers ||
        !payload_hash || !out)
        return HF_E_INVAL;
    size_t akn = strlen(access_key), rn = strlen(region), sn = strlen(service);
    size_t shn = strlen(signed_headers), pn = strlen(payload_hash);
    int64_t secs;
    if (akn < HF_ACCESS_KEY_MIN || akn > HF_ACCESS_KEY_MAX || !hf_auth_visible(access_key, akn) ||
        strchr(access_key, ',') || strlen(secret) > HF_SECRET_KEY_MAX || rn == 0 ||
        rn > HF_REGION_MAX || !hf_auth_visible(region, rn) || strchr(region, '/') || sn == 0 ||
        sn > (size_t)SERVICE_MAX || !hf_auth_visible(service, sn) || strchr(service, '/') ||
        hf_time_parse_amz(amz_date, strlen(amz_date), &secs) != HF_OK ||
        check_signed_headers(signed_headers, shn) || pn == 0 || !hf_auth_visible(payload_hash, pn))
        return HF_E_INVAL;

    char scope[sizeof(((hf_sigv4_t *)0)->scope)];
    snprintf(scope, sizeof scope, "%.8s/%s/%s/%s", amz_date, region, service, TERMINATOR);

    hf_buf_t cr, sts;
    hf_buf_init(&cr, CANONICAL_MAX);
    hf_buf_init(&sts, 1024);
    int rc = canonical_request(&cr, in, signed_headers, shn, payload_hash, pn, false, NULL, 0);
    if (rc == HF_E_NOTFOUND)
        rc = HF_E_INVAL;
    if (!rc)
        rc = string_to_sign(&sts, amz_date, scope, &cr);
    if (!rc) {
        unsigned char key[HF_SHA256_LEN], sig[HF_SHA256_LEN];
        char hex[2 * HF_SHA256_LEN + 1];
        char date[9];
        memcpy(date, amz_date, 8);
        date[8] = '\0';
        hf_sigv4_signing_key(secret, date, region, service, key);
        hf_hmac_sha256(key, sizeof key, sts.data, sts.len, sig);
        memset(key, 0, sizeof key);
        hf_hex_encode(hex, sig, sizeof sig);
        int n = snprintf(out, cap, ALGORITHM " Credential=%s/%s, SignedHeaders=%s, Signature=%s",
                         access_key, scope, signed_headers, hex);
        if (n < 0 || (size_t)n >= cap) {
            if (cap)
                out[0] = '\0';
            rc = HF_E_TOOBIG;
        }
    }
    hf_buf_free(&cr);
    hf_buf_free(&sts);
    return rc;
}
