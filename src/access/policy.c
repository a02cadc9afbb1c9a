/*
 * policy.c -- bucket policies (policy.h): parse and validate with jansson,
 * evaluate over the request context of access.h.
 *
 * Design. Parsing does all the work that does not depend on the request:
 * every string is compiled into a pattern (internal.h), numbers, dates,
 * CIDR blocks and base64 values are decoded, condition operators are
 * resolved to one comparison plus three modifiers (negated, IfExists,
 * ForAnyValue/ForAllValues). Evaluation is then a walk over plain arrays
 * with no allocation: only policy variables are expanded per request, into
 * a bounded buffer on the stack. Everything a policy owns lives in one
 * arena, freed at once.
 *
 * The rules, and where they come from (AWS IAM User Guide unless noted):
 *  (1) Evaluation within one policy ("Policy evaluation logic"): an
 *      explicit Deny in any applying statement wins; otherwise an applying
 *      Allow allows; otherwise the policy is silent (implicit deny is the
 *      caller's default).
 *  (2) A statement applies when Principal (or NotPrincipal), Action (or
 *      NotAction), Resource (or NotResource) all match and every condition
 *      holds ("IAM JSON policy elements: Condition": operators are ANDed,
 *      keys within an operator are ANDed, values of one key are ORed).
 *  (3) Action names are case-insensitive, resource ARNs case-sensitive;
 *      '*' and '?' are wildcards in both ("Action", "Resource").
 *  (4) A condition on a key the request does not have is false, except
 *      that negated operators (StringNotEquals, NotIpAddress, ...) are then
 *      true ("Condition operators", the "Important" note); ...IfExists
 *      makes it true; Null tests presence itself.
 *  (5) ForAllValues: every value of the request's key must match one of
 *      the policy's values; true when the key is missing or empty.
 *      ForAnyValue: at least one must; false when missing ("Single-valued
 *      vs. multivalued context keys"). With a negated operator each request
 *      value must (ForAllValues) or may (ForAnyValue) match none of the
 *      policy's values. Without a qualifier a request key with several
 *      values behaves as ForAnyValue for positive operators and as "none
 *      may match" for negated ones.
 *  (6) Policy variables ("Variables and tags"): ${key} in Resource and in
 *      String and Arn condition values, Version 2012-10-17 only; ${*} ${?}
 *      ${$} are the literal characters; ${key, 'default'} supplies a value
 *      when the key is missing. A variable with no value (a missing or
 *      multivalued key, no default) makes that one value match nothing.
 *  (7) Context key names are case-insensitive ("Condition"); String
 *      operators compare values case-sensitively unless ...IgnoreCase.
 *  (8) NotPrincipal (the "NotPrincipal" page): only with Deny; a requester
 *      is excepted only if every identity it has is listed -- the user and
 *      its account ("you must also specify the account ARN"), or its
 *      canonical user id.
 *  (9) S3's own checks on PutBucketPolicy (S3 User Guide, bucket policy
 *      errors): Principal is required; every resource must be in the
 *      bucket ("Policy has invalid resource"); actions must exist ("Policy
 *      has invalid action"); each action must apply to some resource of
 *      its statement ("Action does not apply to any resource(s) in
 *      statement"); condition keys must be aws: keys or S3's own.
 */
#include "access/policy.h"

#include "access/actions.h"
#include "access/internal.h"

#include "base/arena.h"
#include "base/err.h"
#include "base/limits.h"
#include "base/str.h"

#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A parsed policy's arena: compiled patterns take two bytes per character
 * plus small fixed structs, so a 20 KiB document needs well under 256 KiB;
 * the cap is a backstop against a bug, not a budget. */
#define POLICY_ARENA_MAX (1024 * 1024)

/* Units a pattern may have after its policy variables are replaced; a
 * longer expansion matches nothing (no real ARN or condition value is that
 * long: object keys stop at 1024 bytes). */
#define EXPAND_MAX 4096

/* ---- the parsed form ---------------------------------------------------------- */

typedef struct pat {
    const uint16_t *u;
    size_t n;
    bool vars;  /* has HF_PAT_VAR units */
    bool wild;  /* has HF_PAT_STAR / HF_PAT_ONE units */
} pat_t;

typedef struct var {
    const char *key;
    size_t keylen;
    const char *def; /* NULL: no default */
    size_t deflen;
} var_t;

typedef enum { PR_ANY, PR_ACCOUNT, PR_ARN, PR_CANONICAL, PR_SERVICE, PR_FEDERATED } pr_kind_t;

typedef struct principal {
    pr_kind_t kind;
    const char *v;
} principal_t;

typedef enum {
    C_STR,    /* StringEquals */
    C_STR_IC, /* StringEqualsIgnoreCase */
    C_LIKE,   /* StringLike */
    C_NUM_EQ,
    C_NUM_LT,
    C_NUM_LE,
    C_NUM_GT,
    C_NUM_GE,
    C_DATE_EQ,
    C_DATE_LT,
    C_DATE_LE,
    C_DATE_GT,
    C_DATE_GE,
    C_BOOL,
    C_BIN,  /* BinaryEquals */
    C_IP,   /* IpAddress */
    C_ARN,  /* ArnEquals, ArnLike: the same comparison */
    C_NULL, /* Null */
} cmp_t;

enum { SET_NONE, SET_ANY, SET_ALL };

typedef struct cidr {
    int family;
    uint8_t addr[16];
    int prefix;
} cidr_t;

typedef struct value {
    pat_t pat;          /* String*, Arn* */
    double num;         /* Numeric* */
    int64_t ms;         /* Date*: ms since epoch */
    bool b;             /* Bool, Null */
    cidr_t cidr;        /* IpAddress */
    const uint8_t *bin; /* BinaryEquals */
    size_t binlen;
} value_t;

typedef struct cond {
    cmp_t cmp;
    bool negate;
    bool if_exists;
    int set;
    const char *key;
    size_t keylen;
    value_t *v;
    size_t nv;
} cond_t;

typedef struct stmt {
    bool deny;
    const char *sid;
    bool not_principal;
    principal_t *pr;
    size_t npr;
    bool not_action;
    pat_t *act;
    size_t nact;
    bool not_resource;
    pat_t *res;
    size_t nres;
    cond_t *cond;
    size_t ncond;
} stmt_t;

struct hf_policy {
    hf_arena_t arena;
    bool variables; /* Version 2012-10-17 */
    stmt_t *st;
    size_t nst;
    var_t *vars;
    size_t nvars, capvars;
};

/* ---- parse context and messages ------------------------------------------------- */

typedef struct pctx {
    hf_policy_t *p;
    const char *bucket;
    char *err;
    size_t errlen;
    size_t si;         /* statement number (1-based) while inside one, else 0 */
    const char *sid;   /* its Sid, if any */
    const char *field; /* the element being read */
} pctx_t;

static int fail(pctx_t *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Write the message, with where it is, and return HF_E_INVAL. */
static int fail(pctx_t *c, const char *fmt, ...)
{
    if (c->err && c->errlen) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(c->err, c->errlen, fmt, ap);
        va_end(ap);
        size_t used = n < 0 ? 0 : (size_t)n >= c->errlen ? c->errlen - 1 : (size_t)n;
        if (c->si) {
            if (c->sid)
                snprintf(c->err + used, c->errlen - used, " (statement %zu, Sid \"%.64s\"%s%s)",
                         c->si, c->sid, c->field ? ", " : "", c->field ? c->field : "");
            else
                snprintf(c->err + used, c->errlen - used, " (statement %zu%s%s)", c->si,
                         c->field ? ", " : "", c->field ? c->field : "");
        }
    }
    return HF_E_INVAL;
}

static int oom(pctx_t *c)
{
    if (c->err && c->errlen)
        snprintf(c->err, c->errlen, "out of memory");
    return -ENOMEM;
}

static void *alloc(pctx_t *c, size_t n)
{
    return hf_arena_calloc(&c->p->arena, n ? n : 1);
}

/* ---- patterns ------------------------------------------------------------------- */

/* Read one policy variable, s[0..n) being the text between "${" and "}". */
static int read_var(pctx_t *c, const char *s, size_t n, uint16_t *unit)
{
    if (n == 1 && (s[0] == '*' || s[0] == '?' || s[0] == '$')) {
        *unit = (uint16_t)(unsigned char)s[0];
        return HF_OK;
    }
    size_t i = 0;
    while (i < n && s[i] == ' ')
        i++;
    size_t k0 = i;
    while (i < n && s[i] != ',' && s[i] != ' ')
        i++;
    size_t k1 = i;
    while (i < n && s[i] == ' ')
        i++;
    const char *def = NULL;
    size_t deflen = 0;
    if (i < n && s[i] == ',') {
        i++;
        while (i < n && s[i] == ' ')
            i++;
        if (i >= n || s[i] != '\'')
            return fail(c, "Invalid policy variable \"${%.*s}\": a default value is quoted with '", (int)n, s);
        i++;
        char *d = alloc(c, n);
        if (!d)
            return oom(c);
        bool closed = false;
        while (i < n) {
            if (s[i] == '\'') {
                if (i + 1 < n && s[i + 1] == '\'') { /* '' is a quote */
                    d[deflen++] = '\'';
                    i += 2;
                    continue;
                }
                closed = true;
                i++;
                break;
            }
            d[deflen++] = s[i++];
        }
        while (i < n && s[i] == ' ')
            i++;
        if (!closed || i != n)
            return fail(c, "Invalid policy variable \"${%.*s}\": text after the default value", (int)n, s);
        def = d;
    } else if (i != n) {
        return fail(c, "Invalid policy variable \"${%.*s}\"", (int)n, s);
    }
    if (k1 == k0 || !memchr(s + k0, ':', k1 - k0))
        return fail(c, "Invalid policy variable \"${%.*s}\": expected a condition key such as "
                       "${aws:username}", (int)n, s);
    hf_policy_t *p = c->p;
    if (p->nvars == p->capvars) {
        size_t cap = p->capvars ? 2 * p->capvars : 8;
        if (cap > 65535 - HF_PAT_VAR)
            return fail(c, "Too many policy variables");
        var_t *nv = alloc(c, cap * sizeof *nv);
        if (!nv)
            return oom(c);
        if (p->nvars)
            memcpy(nv, p->vars, p->nvars * sizeof *nv);
        p->vars = nv;
        p->capvars = cap;
    }
    var_t *v = &p->vars[p->nvars];
    v->key = hf_arena_strndup(&p->arena, s + k0, k1 - k0);
    if (!v->key)
        return oom(c);
    v->keylen = k1 - k0;
    v->def = def;
    v->deflen = deflen;
    *unit = (uint16_t)(HF_PAT_VAR + p->nvars++);
    return HF_OK;
}

enum { PAT_WILD = 1, PAT_VARS = 2 };

/* Compile s (n bytes) into *out. PAT_WILD: '*' and '?' are wildcards;
 * PAT_VARS: ${...} are policy variables (only with Version 2012-10-17). */
static int compile(pctx_t *c, const char *s, size_t n, int mode, pat_t *out)
{
    memset(out, 0, sizeof *out);
    if (n > HF_POLICY_STRING_MAX)
        return fail(c, "A string of %zu bytes is longer than the %d this server accepts", n,
                    HF_POLICY_STRING_MAX);
    uint16_t *u = alloc(c, (n ? n : 1) * sizeof *u);
    if (!u)
        return oom(c);
    bool vars = (mode & PAT_VARS) && c->p->variables;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (vars && ch == '$' && i + 1 < n && s[i + 1] == '{') {
            size_t j = i + 2;
            bool quoted = false;
            while (j < n && (quoted || s[j] != '}')) {
                if (s[j] == '\'')
                    quoted = !quoted;
                j++;
            }
            if (j >= n)
                return fail(c, "Invalid policy variable in \"%.*s\": \"${\" without \"}\"",
                            (int)(n > 200 ? 200 : n), s);
            int rc = read_var(c, s + i + 2, j - i - 2, &u[k]);
            if (rc)
                return rc;
            if (u[k] >= HF_PAT_VAR)
                out->vars = true;
            k++;
            i = j;
        } else if ((mode & PAT_WILD) && (ch == '*' || ch == '?')) {
            u[k++] = ch == '*' ? HF_PAT_STAR : HF_PAT_ONE;
            out->wild = true;
        } else {
            u[k++] = ch;
        }
    }
    out->u = u;
    out->n = k;
    return HF_OK;
}

/* The pattern with its variables replaced by r's values, into buf (cap
 * units). Returns the length, or -1 if a variable has no value or the
 * result does not fit: the pattern then matches nothing (rule 6). */
static long expand(const hf_policy_t *p, const pat_t *pat, const hf_access_req_t *r,
                   hf_access_scratch_t *sc, uint16_t *buf, size_t cap)
{
    size_t k = 0;
    for (size_t i = 0; i < pat->n; i++) {
        uint16_t u = pat->u[i];
        if (u < HF_PAT_VAR) {
            if (k == cap)
                return -1;
            buf[k++] = u;
            continue;
        }
        const var_t *v = &p->vars[u - HF_PAT_VAR];
        const char *const *vals;
        size_t nv = hf_access_lookup(r, v->key, v->keylen, sc, &vals);
        const char *s;
        size_t sn;
        if (nv == 1 && vals[0]) {
            s = vals[0];
            sn = strlen(s);
        } else if (v->def) {
            s = v->def;
            sn = v->deflen;
        } else {
            return -1;
        }
        if (sn > cap - k)
            return -1;
        for (size_t j = 0; j < sn; j++)
            buf[k++] = (unsigned char)s[j];
    }
    return (long)k;
}

/* Does subject s match pattern pat (variables expanded for r)? */
static bool pat_matches(const hf_policy_t *p, const pat_t *pat, const hf_access_req_t *r,
                        hf_access_scratch_t *sc, const char *s, size_t n, bool icase)
{
    if (!pat->vars)
        return hf_pat_match(pat->u, pat->n, s, n, icase);
    uint16_t buf[EXPAND_MAX];
    long k = expand(p, pat, r, sc, buf, EXPAND_MAX);
    return k >= 0 && hf_pat_match(buf, (size_t)k, s, n, icase);
}

/* ARN comparison (ArnEquals / ArnLike): the six colon-separated parts are
 * matched one by one, the last taking the rest of the string. A pattern
 * that is not an ARN is matched as a whole. */
static bool arn_matches(const uint16_t *u, size_t un, const char *s, size_t n)
{
    size_t pc[6], sc[6]; /* start of each part */
    size_t np = 1, ns = 1;
    pc[0] = sc[0] = 0;
    for (size_t i = 0; i < un && np < 6; i++)
        if (u[i] == ':')
            pc[np++] = i + 1;
    if (np < 6)
        return hf_pat_match(u, un, s, n, false);
    for (size_t i = 0; i < n && ns < 6; i++)
        if (s[i] == ':')
            sc[ns++] = i + 1;
    if (ns < 6)
        return false;
    for (int k = 0; k < 6; k++) {
        size_t pe = k < 5 ? pc[k + 1] - 1 : un, se = k < 5 ? sc[k + 1] - 1 : n;
        if (!hf_pat_match(u + pc[k], pe - pc[k], s + sc[k], se - sc[k], false))
            return false;
    }
    return true;
}

static bool arn_pat_matches(const hf_policy_t *p, const pat_t *pat, const hf_access_req_t *r,
                            hf_access_scratch_t *sc, const char *s, size_t n)
{
    if (!pat->vars)
        return arn_matches(pat->u, pat->n, s, n);
    uint16_t buf[EXPAND_MAX];
    long k = expand(p, pat, r, sc, buf, EXPAND_MAX);
    return k >= 0 && arn_matches(buf, (size_t)k, s, n);
}

/* ---- scalar values ----------------------------------------------------------------- */

static bool all_digits(const char *s, size_t n)
{
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

/* A decimal number: [+-]digits[.digits] or [+-].digits. */
static bool parse_number(const char *s, size_t n, double *out)
{
    char buf[64];
    if (n == 0 || n >= sizeof buf)
        return false;
    size_t i = (s[0] == '-' || s[0] == '+') ? 1 : 0, digits = 0;
    while (i < n && s[i] >= '0' && s[i] <= '9')
        i++, digits++;
    if (i < n && s[i] == '.') {
        i++;
        while (i < n && s[i] >= '0' && s[i] <= '9')
            i++, digits++;
    }
    if (i != n || digits == 0)
        return false;
    memcpy(buf, s, n);
    buf[n] = '\0';
    *out = strtod(buf, NULL);
    return true;
}

static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static bool num2(const char *s, int *v)
{
    if (s[0] < '0' || s[0] > '9' || s[1] < '0' || s[1] > '9')
        return false;
    *v = (s[0] - '0') * 10 + (s[1] - '0');
    return true;
}

/* IAM's date values: the W3C profile of ISO 8601 (YYYY, YYYY-MM,
 * YYYY-MM-DD, YYYY-MM-DDThh:mmTZD, YYYY-MM-DDThh:mm:ssTZD,
 * YYYY-MM-DDThh:mm:ss.sTZD with TZD = Z or +hh:mm / -hh:mm) or epoch
 * seconds ("Condition operators", Date condition operators). */
static bool parse_date(const char *s, size_t n, int64_t *ms)
{
    if (all_digits(s, n) && n <= 12) { /* epoch seconds (a 4-digit value is a year, below) */
        if (n != 4) {
            *ms = strtoll(s, NULL, 10) * 1000;
            return true;
        }
    }
    int y, mo = 1, d = 1, h = 0, mi = 0, se = 0, frac_ms = 0, tz = 0;
    if (n < 4 || !all_digits(s, 4))
        return false;
    y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
    size_t i = 4;
    if (i < n) {
        if (n < 7 || s[4] != '-' || !num2(s + 5, &mo))
            return false;
        i = 7;
    }
    if (i < n) {
        if (n < 10 || s[7] != '-' || !num2(s + 8, &d))
            return false;
        i = 10;
    }
    if (i < n) {
        if (n < 16 || s[10] != 'T' || !num2(s + 11, &h) || s[13] != ':' || !num2(s + 14, &mi))
            return false;
        i = 16;
        if (i < n && s[i] == ':') {
            if (n < 19 || !num2(s + 17, &se))
                return false;
            i = 19;
            if (i < n && s[i] == '.') {
                size_t f = ++i, scale = 100;
                while (i < n && s[i] >= '0' && s[i] <= '9') {
                    frac_ms += (int)((size_t)(s[i] - '0') * scale);
                    scale /= 10;
                    i++;
                }
                if (i == f)
                    return false;
            }
        }
        if (i < n && s[i] == 'Z') {
            i++;
        } else if (i + 6 == n && (s[i] == '+' || s[i] == '-') && s[i + 3] == ':') {
            int th, tm;
            if (!num2(s + i + 1, &th) || !num2(s + i + 4, &tm) || th > 23 || tm > 59)
                return false;
            tz = (s[i] == '+' ? 1 : -1) * (th * 60 + tm);
            i = n;
        } else {
            return false;
        }
        if (i != n)
            return false;
    }
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || (mo == 2 && d == 29 && !leap) ||
        h > 23 || mi > 59 || se > 60)
        return false;
    int64_t secs = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se - (int64_t)tz * 60;
    *ms = secs * 1000 + frac_ms;
    return true;
}

static bool parse_bool(const char *s, size_t n, bool *out)
{
    if (hf_access_ieq(s, n, "true", 4))
        *out = true;
    else if (hf_access_ieq(s, n, "false", 5))
        *out = false;
    else
        return false;
    return true;
}

/* "192.0.2.0/24", "2001:db8::/32", or one address. */
static bool parse_cidr(const char *s, size_t n, cidr_t *out)
{
    char buf[64];
    memset(out, 0, sizeof *out);
    if (n == 0 || n >= sizeof buf)
        return false;
    memcpy(buf, s, n);
    buf[n] = '\0';
    char *slash = strchr(buf, '/');
    int prefix = -1;
    if (slash) {
        *slash = '\0';
        size_t pl = strlen(slash + 1);
        if (!all_digits(slash + 1, pl) || pl > 3)
            return false;
        prefix = atoi(slash + 1);
    }
    if (inet_pton(AF_INET, buf, out->addr) == 1) {
        out->family = 4;
        if (prefix > 32)
            return false;
        out->prefix = prefix < 0 ? 32 : prefix;
    } else if (inet_pton(AF_INET6, buf, out->addr) == 1) {
        out->family = 6;
        if (prefix > 128)
            return false;
        out->prefix = prefix < 0 ? 128 : prefix;
    } else {
        return false;
    }
    return true;
}

static bool cidr_contains(const cidr_t *c, const hf_access_ip_t *ip)
{
    if (c->family != ip->family)
        return false;
    int full = c->prefix / 8, rest = c->prefix % 8;
    if (memcmp(c->addr, ip->addr, (size_t)full) != 0)
        return false;
    if (rest == 0)
        return true;
    uint8_t mask = (uint8_t)(0xff << (8 - rest));
    return (c->addr[full] & mask) == (ip->addr[full] & mask);
}

/* Strict base64 (RFC 4648 with padding) into the arena or a buffer. */
static long b64_decode(uint8_t *out, size_t cap, const char *s, size_t n)
{
    int rc = hf_base64_decode(out, cap, s, n);
    return rc < 0 ? -1 : rc;
}

/* ---- reading JSON ------------------------------------------------------------------ */

/* Depth of nesting (rule: HF_POLICY_DEPTH_MAX); stops counting past it. */
static int depth_of(const json_t *j, int d)
{
    if (d > HF_POLICY_DEPTH_MAX)
        return d;
    int max = d;
    if (json_is_object(j)) {
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)j, k, v) {
            int x = depth_of(v, d + 1);
            if (x > max)
                max = x;
            if (max > HF_POLICY_DEPTH_MAX)
                break;
        }
    } else if (json_is_array(j)) {
        size_t i;
        json_t *v;
        json_array_foreach(j, i, v) {
            int x = depth_of(v, d + 1);
            if (x > max)
                max = x;
            if (max > HF_POLICY_DEPTH_MAX)
                break;
        }
    }
    return max;
}

/* A string, or an array of strings, as a list: *items points at the
 * string itself (n = 1) or at the array's elements. */
typedef struct strlist {
    json_t *one;
    json_t *arr;
    size_t n;
} strlist_t;

static int str_list(pctx_t *c, json_t *j, strlist_t *out, bool scalars)
{
    memset(out, 0, sizeof *out);
    if (json_is_string(j) || (scalars && (json_is_integer(j) || json_is_boolean(j) || json_is_real(j)))) {
        out->one = j;
        out->n = 1;
        return HF_OK;
    }
    if (!json_is_array(j))
        return fail(c, "%s must be a string or an array of strings", c->field);
    out->arr = j;
    out->n = json_array_size(j);
    if (out->n == 0)
        return fail(c, "%s must not be an empty array", c->field);
    if (out->n > HF_POLICY_VALUES_MAX)
        return fail(c, "%s has %zu values; at most %d are accepted", c->field, out->n,
                    HF_POLICY_VALUES_MAX);
    for (size_t i = 0; i < out->n; i++) {
        json_t *e = json_array_get(j, i);
        if (!(json_is_string(e) ||
              (scalars && (json_is_integer(e) || json_is_boolean(e) || json_is_real(e)))))
            return fail(c, "%s must be a string or an array of strings", c->field);
    }
    return HF_OK;
}

static json_t *list_at(const strlist_t *l, size_t i)
{
    return l->one ? l->one : json_array_get(l->arr, i);
}

/* ---- principals ------------------------------------------------------------------- */

static bool account_id(const char *s, size_t n)
{
    return n == 12 && all_digits(s, 12);
}

static bool has_wildcard(const char *s)
{
    return strchr(s, '*') || strchr(s, '?');
}

/* One value of {"AWS": ...}. */
static int aws_principal(pctx_t *c, const char *s, principal_t *out)
{
    size_t n = strlen(s);
    if (strcmp(s, "*") == 0) {
        out->kind = PR_ANY;
        return HF_OK;
    }
    if (account_id(s, n)) {
        out->kind = PR_ACCOUNT;
        out->v = s;
        return HF_OK;
    }
    /* arn:aws:iam::<account>:root | :user/... | :role/... | :federated-user/...,
     * arn:aws:sts::<account>:assumed-role/... (IAM "Principal": AWS account
     * and IAM principals). Wildcards are not allowed in a principal. */
    const char *acct = NULL;
    if (strncmp(s, "arn:aws:iam::", 13) == 0)
        acct = s + 13;
    else if (strncmp(s, "arn:aws:sts::", 13) == 0)
        acct = s + 13;
    if (!acct || strlen(acct) < 14 || !account_id(acct, 12) || acct[12] != ':' || has_wildcard(s))
        return fail(c, "Invalid principal in policy: \"%.200s\"", s);
    const char *what = acct + 13;
    if (strcmp(what, "root") == 0 && s[8] == 'i') {
        out->kind = PR_ACCOUNT;
        out->v = hf_arena_strndup(&c->p->arena, acct, 12);
        return out->v ? HF_OK : oom(c);
    }
    static const char *const kinds_iam[] = {"user/", "role/", "federated-user/"};
    bool ok = false;
    if (s[8] == 'i') {
        for (size_t k = 0; k < sizeof kinds_iam / sizeof kinds_iam[0]; k++)
            if (strncmp(what, kinds_iam[k], strlen(kinds_iam[k])) == 0 && what[strlen(kinds_iam[k])])
                ok = true;
    } else {
        ok = strncmp(what, "assumed-role/", 13) == 0 && what[13];
    }
    if (!ok)
        return fail(c, "Invalid principal in policy: \"%.200s\"", s);
    out->kind = PR_ARN;
    out->v = s;
    return HF_OK;
}

static int parse_principal(pctx_t *c, json_t *j, stmt_t *st)
{
    if (json_is_string(j)) {
        if (strcmp(json_string_value(j), "*") != 0)
            return fail(c, "Invalid principal in policy: a string principal must be \"*\"");
        st->pr = alloc(c, sizeof *st->pr);
        if (!st->pr)
            return oom(c);
        st->pr[0].kind = PR_ANY;
        st->npr = 1;
        return HF_OK;
    }
    if (!json_is_object(j) || json_object_size(j) == 0)
        return fail(c, "Invalid principal in policy: expected \"*\" or an object such as "
                       "{\"AWS\": \"arn:aws:iam::123456789012:root\"}");
    size_t total = 0;
    const char *k;
    json_t *v;
    json_object_foreach(j, k, v) {
        if (json_is_string(v))
            total++;
        else if (json_is_array(v))
            total += json_array_size(v);
    }
    if (total > HF_POLICY_VALUES_MAX)
        return fail(c, "%s has %zu values; at most %d are accepted", c->field, total, HF_POLICY_VALUES_MAX);
    st->pr = alloc(c, (total ? total : 1) * sizeof *st->pr);
    if (!st->pr)
        return oom(c);
    json_object_foreach(j, k, v) {
        pr_kind_t kind;
        if (strcmp(k, "AWS") == 0)
            kind = PR_ARN; /* refined per value */
        else if (strcmp(k, "CanonicalUser") == 0)
            kind = PR_CANONICAL;
        else if (strcmp(k, "Service") == 0)
            kind = PR_SERVICE;
        else if (strcmp(k, "Federated") == 0)
            kind = PR_FEDERATED;
        else
            return fail(c, "Invalid principal in policy: unknown principal type \"%.64s\"", k);
        strlist_t l;
        int rc = str_list(c, v, &l, false);
        if (rc)
            return rc;
        for (size_t i = 0; i < l.n; i++) {
            const char *s = json_string_value(list_at(&l, i));
            principal_t *pr = &st->pr[st->npr];
            if (kind == PR_ARN) {
                rc = aws_principal(c, s, pr);
                if (rc)
                    return rc;
            } else if (kind == PR_CANONICAL) {
                if (strlen(s) != 64 || strspn(s, "0123456789abcdefABCDEF") != 64)
                    return fail(c, "Invalid principal in policy: a canonical user id is 64 hex "
                                   "digits, not \"%.100s\"", s);
                pr->kind = kind;
                pr->v = s;
            } else {
                if (!*s || has_wildcard(s))
                    return fail(c, "Invalid principal in policy: \"%.200s\"", s);
                pr->kind = kind;
                pr->v = s;
            }
            if (pr->v) {
                pr->v = hf_arena_strdup(&c->p->arena, pr->v);
                if (!pr->v)
                    return oom(c);
            }
            st->npr++;
        }
    }
    return HF_OK;
}

/* ---- actions and resources -------------------------------------------------------- */

enum { RES_BUCKET = 1, RES_OBJECT = 2 };

/* Which kinds of S3 resource the known actions matching pat are decided
 * for (RES_* bits); -1 if no S3 action matches. */
static int action_kinds(const pat_t *pat)
{
    int kinds = -1;
    for (size_t i = 0; i < hf_action_count(); i++) {
        hf_action_res_t res;
        const char *name = hf_action_at(i, &res);
        if (!hf_pat_match(pat->u, pat->n, name, strlen(name), true))
            continue;
        if (kinds < 0)
            kinds = 0;
        if (res == HF_ACTION_RES_BUCKET)
            kinds |= RES_BUCKET;
        else if (res == HF_ACTION_RES_OBJECT)
            kinds |= RES_OBJECT;
    }
    return kinds;
}

static int parse_actions(pctx_t *c, json_t *j, stmt_t *st, int *kinds_each)
{
    strlist_t l;
    int rc = str_list(c, j, &l, false);
    if (rc)
        return rc;
    st->act = alloc(c, l.n * sizeof *st->act);
    if (!st->act)
        return oom(c);
    for (size_t i = 0; i < l.n; i++) {
        const char *s = json_string_value(list_at(&l, i));
        size_t n = strlen(s);
        /* "*" alone is every action; anything else is service:action. */
        if (!(n == 1 && s[0] == '*') && !(n > 3 && hf_access_ieq(s, 3, "s3:", 3)))
            return fail(c, "Policy has invalid action \"%.200s\"", s);
        rc = compile(c, s, n, PAT_WILD, &st->act[i]);
        if (rc)
            return rc;
        int kinds = action_kinds(&st->act[i]);
        if (kinds < 0)
            return fail(c, "Policy has invalid action \"%.200s\"", s);
        kinds_each[i] = kinds;
        st->nact++;
    }
    return HF_OK;
}

#define S3_ARN "arn:aws:s3:::"

/* Resource patterns; every one must lie in the policy's bucket. *kinds
 * gets the RES_* bits of what they can name. */
static int parse_resources(pctx_t *c, json_t *j, stmt_t *st, int *kinds)
{
    strlist_t l;
    int rc = str_list(c, j, &l, false);
    if (rc)
        return rc;
    st->res = alloc(c, l.n * sizeof *st->res);
    if (!st->res)
        return oom(c);
    *kinds = 0;
    size_t pl = strlen(S3_ARN), bl = strlen(c->bucket);
    for (size_t i = 0; i < l.n; i++) {
        const char *s = json_string_value(list_at(&l, i));
        size_t n = strlen(s);
        if (n <= pl || strncmp(s, S3_ARN, pl) != 0)
            return fail(c, "Policy has invalid resource \"%.200s\": expected %s%s or %s%s/...", s,
                        S3_ARN, c->bucket, S3_ARN, c->bucket);
        /* The bucket part (up to the first '/') must name this bucket; a
         * wildcard there is fine as long as it matches it. */
        const char *rest = s + pl, *slash = strchr(rest, '/');
        size_t bn = slash ? (size_t)(slash - rest) : strlen(rest);
        pat_t bp;
        rc = compile(c, rest, bn, PAT_WILD, &bp);
        if (rc)
            return rc;
        if (memchr(rest, '$', bn) || !hf_pat_match(bp.u, bp.n, c->bucket, bl, false))
            return fail(c, "Policy has invalid resource \"%.200s\": a bucket policy may only name "
                           "%s%s and its objects", s, S3_ARN, c->bucket);
        rc = compile(c, s, n, PAT_WILD | PAT_VARS, &st->res[i]);
        if (rc)
            return rc;
        /* With no '/' it names the bucket (and, through a '*' in the bucket
         * part, possibly objects too); with one, only objects. */
        *kinds |= slash ? RES_OBJECT : RES_BUCKET | (bp.wild ? RES_OBJECT : 0);
        st->nres++;
    }
    return HF_OK;
}

/* ---- conditions -------------------------------------------------------------------- */

static const struct {
    const char *name;
    cmp_t cmp;
    bool negate;
} operators[] = {
    {"StringEquals", C_STR, false},
    {"StringNotEquals", C_STR, true},
    {"StringEqualsIgnoreCase", C_STR_IC, false},
    {"StringNotEqualsIgnoreCase", C_STR_IC, true},
    {"StringLike", C_LIKE, false},
    {"StringNotLike", C_LIKE, true},
    {"NumericEquals", C_NUM_EQ, false},
    {"NumericNotEquals", C_NUM_EQ, true},
    {"NumericLessThan", C_NUM_LT, false},
    {"NumericLessThanEquals", C_NUM_LE, false},
    {"NumericGreaterThan", C_NUM_GT, false},
    {"NumericGreaterThanEquals", C_NUM_GE, false},
    {"DateEquals", C_DATE_EQ, false},
    {"DateNotEquals", C_DATE_EQ, true},
    {"DateLessThan", C_DATE_LT, false},
    {"DateLessThanEquals", C_DATE_LE, false},
    {"DateGreaterThan", C_DATE_GT, false},
    {"DateGreaterThanEquals", C_DATE_GE, false},
    {"Bool", C_BOOL, false},
    {"BinaryEquals", C_BIN, false},
    {"IpAddress", C_IP, false},
    {"NotIpAddress", C_IP, true},
    {"ArnEquals", C_ARN, false},
    {"ArnLike", C_ARN, false},
    {"ArnNotEquals", C_ARN, true},
    {"ArnNotLike", C_ARN, true},
    {"Null", C_NULL, false},
};

/* S3's own condition keys (Service Authorization Reference, "Condition
 * keys for Amazon S3"); names ending in '/' take a tag key after them. */
static const char *const s3_keys[] = {
    "s3:AccessGrantsInstanceArn",
    "s3:AccessPointNetworkOrigin",
    "s3:authType",
    "s3:DataAccessPointAccount",
    "s3:DataAccessPointArn",
    "s3:delimiter",
    "s3:ExistingJobOperation",
    "s3:ExistingJobPriority",
    "s3:ExistingObjectTag/",
    "s3:if-match",
    "s3:if-none-match",
    "s3:InventoryAccessibleOptionalFields",
    "s3:JobSuspendedCause",
    "s3:LocationConstraint",
    "s3:max-keys",
    "s3:object-lock-legal-hold",
    "s3:object-lock-mode",
    "s3:object-lock-remaining-retention-days",
    "s3:object-lock-retain-until-date",
    "s3:ObjectCreationOperation",
    "s3:prefix",
    "s3:RequestJobOperation",
    "s3:RequestJobPriority",
    "s3:RequestObjectTag/",
    "s3:RequestObjectTagKeys",
    "s3:ResourceAccount",
    "s3:signatureAge",
    "s3:signatureversion",
    "s3:TlsVersion",
    "s3:versionid",
    "s3:x-amz-acl",
    "s3:x-amz-content-sha256",
    "s3:x-amz-copy-source",
    "s3:x-amz-grant-full-control",
    "s3:x-amz-grant-read",
    "s3:x-amz-grant-read-acp",
    "s3:x-amz-grant-write",
    "s3:x-amz-grant-write-acp",
    "s3:x-amz-metadata-directive",
    "s3:x-amz-object-ownership",
    "s3:x-amz-server-side-encryption",
    "s3:x-amz-server-side-encryption-aws-kms-key-id",
    "s3:x-amz-server-side-encryption-customer-algorithm",
    "s3:x-amz-storage-class",
    "s3:x-amz-website-redirect-location",
};

/* aws: keys are AWS's global condition keys, a list that keeps growing:
 * any aws:<name> is accepted (an unknown one is simply absent from every
 * request). s3: keys must be S3's. Anything else belongs to another
 * service and cannot appear in a bucket policy. */
static bool valid_key(const char *k, size_t n)
{
    if (n > 4 && hf_access_ieq(k, 4, "aws:", 4))
        return k[4] != '/';
    for (size_t i = 0; i < sizeof s3_keys / sizeof s3_keys[0]; i++) {
        size_t m = strlen(s3_keys[i]);
        if (s3_keys[i][m - 1] == '/') {
            if (n > m && hf_access_ieq(k, m, s3_keys[i], m))
                return true;
        } else if (hf_access_ieq(k, n, s3_keys[i], m)) {
            return true;
        }
    }
    return false;
}

/* "ForAnyValue:StringLikeIfExists" -> C_LIKE, SET_ANY, if_exists. */
static int parse_operator(pctx_t *c, const char *name, cond_t *out)
{
    const char *s = name;
    size_t n = strlen(s);
    out->set = SET_NONE;
    if (n > 12 && hf_access_ieq(s, 12, "ForAnyValue:", 12)) {
        out->set = SET_ANY;
        s += 12, n -= 12;
    } else if (n > 13 && hf_access_ieq(s, 13, "ForAllValues:", 13)) {
        out->set = SET_ALL;
        s += 13, n -= 13;
    }
    out->if_exists = false;
    if (n > 8 && hf_access_ieq(s + n - 8, 8, "IfExists", 8)) {
        out->if_exists = true;
        n -= 8;
    }
    for (size_t i = 0; i < sizeof operators / sizeof operators[0]; i++) {
        if (hf_access_ieq(s, n, operators[i].name, strlen(operators[i].name))) {
            out->cmp = operators[i].cmp;
            out->negate = operators[i].negate;
            if (out->cmp == C_NULL && (out->if_exists || out->set != SET_NONE))
                return fail(c, "Invalid condition operator \"%.100s\": Null takes no IfExists or "
                               "ForAnyValue/ForAllValues", name);
            return HF_OK;
        }
    }
    return fail(c, "Invalid condition operator \"%.100s\"", name);
}

/* The text of a scalar JSON value as IAM reads it: strings as they are,
 * numbers and booleans as they are written. buf holds converted ones. */
static const char *scalar_text(json_t *v, char *buf, size_t cap)
{
    if (json_is_string(v))
        return json_string_value(v);
    if (json_is_integer(v))
        snprintf(buf, cap, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    else if (json_is_real(v))
        snprintf(buf, cap, "%.17g", json_real_value(v));
    else if (json_is_true(v))
        snprintf(buf, cap, "true");
    else
        snprintf(buf, cap, "false");
    return buf;
}

static int parse_value(pctx_t *c, const cond_t *cd, const char *opname, json_t *j, value_t *v)
{
    char buf[64];
    const char *s = scalar_text(j, buf, sizeof buf);
    size_t n = strlen(s);
    switch (cd->cmp) {
    case C_STR:
    case C_STR_IC:
        return compile(c, s, n, PAT_VARS, &v->pat);
    case C_LIKE:
    case C_ARN:
        return compile(c, s, n, PAT_WILD | PAT_VARS, &v->pat);
    case C_NUM_EQ:
    case C_NUM_LT:
    case C_NUM_LE:
    case C_NUM_GT:
    case C_NUM_GE:
        if (json_is_boolean(j) || !parse_number(s, n, &v->num))
            return fail(c, "Invalid value \"%.100s\" for %s: expected a number", s, opname);
        return HF_OK;
    case C_DATE_EQ:
    case C_DATE_LT:
    case C_DATE_LE:
    case C_DATE_GT:
    case C_DATE_GE:
        if (json_is_boolean(j) || json_is_real(j) || !parse_date(s, n, &v->ms))
            return fail(c, "Invalid value \"%.100s\" for %s: expected an ISO 8601 date such as "
                           "2030-01-01T00:00:00Z, or epoch seconds", s, opname);
        return HF_OK;
    case C_BOOL:
    case C_NULL:
        if (!parse_bool(s, n, &v->b))
            return fail(c, "Invalid value \"%.100s\" for %s: expected true or false", s, opname);
        return HF_OK;
    case C_IP:
        if (!json_is_string(j) || !parse_cidr(s, n, &v->cidr))
            return fail(c, "Invalid value \"%.100s\" for %s: expected an IP address or CIDR "
                           "block such as 192.0.2.0/24", s, opname);
        return HF_OK;
    case C_BIN: {
        uint8_t *b = alloc(c, n);
        long bn = b ? b64_decode(b, n, s, n) : -2;
        if (bn == -2)
            return oom(c);
        if (!json_is_string(j) || bn < 0)
            return fail(c, "Invalid value \"%.100s\" for %s: expected base64", s, opname);
        v->bin = b;
        v->binlen = (size_t)bn;
        return HF_OK;
    }
    }
    return fail(c, "Invalid condition");
}

static int parse_conditions(pctx_t *c, json_t *j, stmt_t *st)
{
    if (!json_is_object(j))
        return fail(c, "Condition must be an object of condition operators");
    size_t total = 0;
    const char *op;
    json_t *keys;
    json_object_foreach(j, op, keys) {
        if (!json_is_object(keys) || json_object_size(keys) == 0)
            return fail(c, "Condition operator \"%.100s\" must map condition keys to values", op);
        total += json_object_size(keys);
    }
    st->cond = alloc(c, (total ? total : 1) * sizeof *st->cond);
    if (!st->cond)
        return oom(c);
    json_object_foreach(j, op, keys) {
        cond_t proto;
        memset(&proto, 0, sizeof proto);
        int rc = parse_operator(c, op, &proto);
        if (rc)
            return rc;
        const char *key;
        json_t *vals;
        json_object_foreach(keys, key, vals) {
            size_t kn = strlen(key);
            if (!valid_key(key, kn))
                return fail(c, "Policy has an invalid condition key \"%.100s\"", key);
            cond_t *cd = &st->cond[st->ncond];
            *cd = proto;
            cd->key = hf_arena_strndup(&c->p->arena, key, kn);
            if (!cd->key)
                return oom(c);
            cd->keylen = kn;
            strlist_t l;
            const char *saved = c->field;
            c->field = "Condition";
            rc = str_list(c, vals, &l, true);
            c->field = saved;
            if (rc)
                return rc;
            cd->v = alloc(c, l.n * sizeof *cd->v);
            if (!cd->v)
                return oom(c);
            for (size_t i = 0; i < l.n; i++) {
                rc = parse_value(c, cd, op, list_at(&l, i), &cd->v[i]);
                if (rc)
                    return rc;
                cd->nv++;
            }
            st->ncond++;
        }
    }
    return HF_OK;
}

/* ---- statements and the document ---------------------------------------------------- */

static int parse_statement(pctx_t *c, json_t *j, stmt_t *st)
{
    if (!json_is_object(j))
        return fail(c, "Each statement must be an object");
    json_t *sid = json_object_get(j, "Sid");
    if (sid) {
        c->field = "Sid";
        if (!json_is_string(sid))
            return fail(c, "Sid must be a string");
        if (strlen(json_string_value(sid)) > HF_POLICY_STRING_MAX)
            return fail(c, "Sid is too long");
        st->sid = hf_arena_strdup(&c->p->arena, json_string_value(sid));
        if (!st->sid)
            return oom(c);
        c->sid = st->sid;
    }
    const char *k;
    json_t *v;
    json_object_foreach(j, k, v) {
        static const char *const known[] = {"Sid", "Effect", "Principal", "NotPrincipal",
                                            "Action", "NotAction", "Resource", "NotResource",
                                            "Condition"};
        bool ok = false;
        for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
            ok = ok || strcmp(k, known[i]) == 0;
        c->field = NULL;
        if (!ok)
            return fail(c, "Unknown field \"%.64s\" in statement", k);
    }

    c->field = "Effect";
    json_t *effect = json_object_get(j, "Effect");
    if (!effect)
        return fail(c, "Missing required field Effect");
    const char *e = json_is_string(effect) ? json_string_value(effect) : "";
    if (strcmp(e, "Allow") == 0)
        st->deny = false;
    else if (strcmp(e, "Deny") == 0)
        st->deny = true;
    else
        return fail(c, "Invalid effect: \"%.32s\" (Effect is Allow or Deny)", e);

    json_t *pr = json_object_get(j, "Principal"), *npr = json_object_get(j, "NotPrincipal");
    c->field = npr ? "NotPrincipal" : "Principal";
    if (pr && npr)
        return fail(c, "A statement has Principal or NotPrincipal, not both");
    if (!pr && !npr)
        return fail(c, "Missing required field Principal");
    /* "NotPrincipal must be used with Effect: Deny" (rule 8). */
    if (npr && !st->deny)
        return fail(c, "NotPrincipal is supported only with \"Effect\": \"Deny\"");
    st->not_principal = npr != NULL;
    int rc = parse_principal(c, pr ? pr : npr, st);
    if (rc)
        return rc;

    json_t *act = json_object_get(j, "Action"), *nact = json_object_get(j, "NotAction");
    c->field = nact ? "NotAction" : "Action";
    if (act && nact)
        return fail(c, "A statement has Action or NotAction, not both");
    if (!act && !nact)
        return fail(c, "Missing required field Action");
    st->not_action = nact != NULL;
    size_t nacts = json_is_array(act ? act : nact) ? json_array_size(act ? act : nact) : 1;
    int *kinds_each = calloc(nacts ? nacts : 1, sizeof *kinds_each);
    if (!kinds_each)
        return oom(c);
    rc = parse_actions(c, act ? act : nact, st, kinds_each);
    if (rc)
        goto out_free_kinds;

    json_t *res = json_object_get(j, "Resource"), *nres = json_object_get(j, "NotResource");
    c->field = nres ? "NotResource" : "Resource";
    rc = HF_E_INVAL;
    if (res && nres) {
        fail(c, "A statement has Resource or NotResource, not both");
        goto out_free_kinds;
    }
    if (!res && !nres) {
        fail(c, "Missing required field Resource");
        goto out_free_kinds;
    }
    st->not_resource = nres != NULL;
    int kinds = 0;
    rc = parse_resources(c, res ? res : nres, st, &kinds);
    if (rc)
        goto out_free_kinds;
    /* Rule 9: with a plain Action list and Resource list, S3 refuses an
     * action that can apply to none of the statement's resources
     * (s3:ListBucket with only objects as resources). */
    if (!st->not_action && !st->not_resource) {
        for (size_t i = 0; i < st->nact; i++) {
            if (!(kinds_each[i] & kinds)) {
                c->field = "Action";
                char shown[128];
                const char *a = json_string_value(json_is_array(act) ? json_array_get(act, i) : act);
                snprintf(shown, sizeof shown, "%s", a ? a : "");
                rc = fail(c, "Action does not apply to any resource(s) in statement: \"%s\"", shown);
                goto out_free_kinds;
            }
        }
    }

    json_t *cond = json_object_get(j, "Condition");
    if (cond) {
        c->field = "Condition";
        rc = parse_conditions(c, cond, st);
        if (rc)
            goto out_free_kinds;
    }
    rc = HF_OK;
out_free_kinds:
    free(kinds_each);
    return rc;
}

static int parse_document(pctx_t *c, json_t *root)
{
    hf_policy_t *p = c->p;
    const char *k;
    json_t *v;
    json_object_foreach(root, k, v) {
        if (strcmp(k, "Version") && strcmp(k, "Id") && strcmp(k, "Statement"))
            return fail(c, "Unknown field \"%.64s\" in policy", k);
    }
    json_t *ver = json_object_get(root, "Version");
    if (ver) {
        const char *s = json_is_string(ver) ? json_string_value(ver) : "";
        if (strcmp(s, "2012-10-17") == 0)
            p->variables = true;
        else if (strcmp(s, "2008-10-17") != 0)
            return fail(c, "Invalid policy version \"%.32s\": Version is 2012-10-17 or 2008-10-17", s);
    }
    json_t *id = json_object_get(root, "Id");
    if (id && (!json_is_string(id) || strlen(json_string_value(id)) > HF_POLICY_STRING_MAX))
        return fail(c, "Id must be a string");
    json_t *sts = json_object_get(root, "Statement");
    if (!sts)
        return fail(c, "Missing required field Statement");
    size_t n = json_is_array(sts) ? json_array_size(sts) : 1;
    if (!json_is_array(sts) && !json_is_object(sts))
        return fail(c, "Statement must be an object or an array of objects");
    if (n == 0)
        return fail(c, "Statement must not be empty");
    if (n > HF_POLICY_STATEMENTS_MAX)
        return fail(c, "Policy has %zu statements; at most %d are accepted", n,
                    HF_POLICY_STATEMENTS_MAX);
    p->st = alloc(c, n * sizeof *p->st);
    if (!p->st)
        return oom(c);
    for (size_t i = 0; i < n; i++) {
        c->si = i + 1;
        c->sid = NULL;
        c->field = NULL;
        int rc = parse_statement(c, json_is_array(sts) ? json_array_get(sts, i) : sts, &p->st[i]);
        if (rc)
            return rc;
        p->nst++;
    }
    c->si = 0;
    return HF_OK;
}

int hf_policy_parse(const char *json, size_t len, const char *bucket, hf_policy_t **out, char *err,
                    size_t errlen)
{
    *out = NULL;
    pctx_t c = {.bucket = bucket, .err = err, .errlen = errlen};
    if (err && errlen)
        err[0] = '\0';
    if (len > HF_POLICY_MAX) {
        if (err && errlen)
            snprintf(err, errlen, "Policy exceeds the maximum allowed document size (%d bytes)",
                     HF_POLICY_MAX);
        return HF_E_TOOBIG;
    }
    size_t i = 0;
    while (i < len && (json[i] == ' ' || json[i] == '\t' || json[i] == '\r' || json[i] == '\n'))
        i++;
    if (i == len || json[i] != '{') {
        fail(&c, "Policies must be valid JSON and the first byte must be '{'");
        return HF_E_INVAL;
    }
    json_error_t jerr;
    json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        fail(&c, "Policies must be valid JSON: %s (line %d, column %d)", jerr.text, jerr.line,
             jerr.column);
        return HF_E_INVAL;
    }
    int rc;
    if (depth_of(root, 1) > HF_POLICY_DEPTH_MAX) {
        rc = fail(&c, "Policy is nested deeper than a policy can be");
        goto out_root;
    }
    hf_policy_t *p = calloc(1, sizeof *p);
    if (!p) {
        rc = oom(&c);
        goto out_root;
    }
    hf_arena_init(&p->arena, POLICY_ARENA_MAX);
    c.p = p;
    rc = parse_document(&c, root);
    if (rc) {
        hf_policy_free(p);
        goto out_root;
    }
    *out = p;
out_root:
    json_decref(root);
    return rc;
}

void hf_policy_free(hf_policy_t *p)
{
    if (!p)
        return;
    hf_arena_free(&p->arena);
    free(p);
}

/* ---- evaluation ------------------------------------------------------------------- */

static bool is_root(const char *arn)
{
    size_t n = strlen(arn);
    return n > 5 && strcmp(arn + n - 5, ":root") == 0;
}

static bool principal_listed(const principal_t *pr, const hf_access_principal_t *who)
{
    switch (pr->kind) {
    case PR_ANY:
        return true;
    case PR_ACCOUNT:
        return !who->anonymous && who->account && strcmp(pr->v, who->account) == 0;
    case PR_ARN:
        return !who->anonymous && who->arn && strcmp(pr->v, who->arn) == 0;
    case PR_CANONICAL:
        return !who->anonymous && who->canonical_id &&
               hf_access_ieq(pr->v, strlen(pr->v), who->canonical_id, strlen(who->canonical_id));
    case PR_SERVICE:
    case PR_FEDERATED:
        return false; /* holdfast has no service or federated callers */
    }
    return false;
}

/* Principal: some entry names the requester (an account entry names every
 * user of the account, which the account delegates to). NotPrincipal
 * (rule 8): the requester is excepted only if all of its identities are
 * listed: its account, and its user unless it is the account's root. */
static bool principal_matches(const stmt_t *st, const hf_access_principal_t *who)
{
    if (!st->not_principal) {
        for (size_t i = 0; i < st->npr; i++)
            if (principal_listed(&st->pr[i], who))
                return true;
        return false;
    }
    bool acct = false, user = false, canonical = false;
    for (size_t i = 0; i < st->npr; i++) {
        const principal_t *pr = &st->pr[i];
        if (pr->kind == PR_ANY)
            return false;
        if (pr->kind == PR_ACCOUNT && principal_listed(pr, who))
            acct = true;
        else if (pr->kind == PR_ARN && principal_listed(pr, who))
            user = true;
        else if (pr->kind == PR_CANONICAL && principal_listed(pr, who))
            canonical = true;
    }
    if (who->anonymous)
        return true;
    if (canonical)
        return false;
    bool has_acct = who->account != NULL, has_user = who->arn && !is_root(who->arn);
    if (!has_acct && !has_user)
        return true;
    bool excepted = (!has_acct || acct) && (!has_user || user);
    return !excepted;
}

static bool action_matches(const stmt_t *st, const char *action)
{
    bool m = false;
    size_t n = action ? strlen(action) : 0;
    for (size_t i = 0; i < st->nact && !m && action; i++)
        m = hf_pat_match(st->act[i].u, st->act[i].n, action, n, true);
    return st->not_action ? !m : m;
}

static bool resource_matches(const hf_policy_t *p, const stmt_t *st, const hf_access_req_t *r,
                             hf_access_scratch_t *sc)
{
    bool m = false;
    size_t n = r->resource ? strlen(r->resource) : 0;
    for (size_t i = 0; i < st->nres && !m && r->resource; i++)
        m = pat_matches(p, &st->res[i], r, sc, r->resource, n, false);
    return st->not_resource ? !m : m;
}

/* One request value against all of a condition's policy values: true if
 * any of them matches (the positive comparison; negation is applied by
 * the caller). */
static bool value_matches(const hf_policy_t *p, const cond_t *cd, const hf_access_req_t *r,
                          hf_access_scratch_t *sc, const char *s)
{
    size_t n = strlen(s);
    double num = 0;
    int64_t ms = 0;
    bool b = false;
    hf_access_ip_t ip;
    uint8_t bin[HF_POLICY_STRING_MAX];
    long binlen = -1;
    switch (cd->cmp) { /* decode the request's value once */
    case C_NUM_EQ:
    case C_NUM_LT:
    case C_NUM_LE:
    case C_NUM_GT:
    case C_NUM_GE:
        if (!parse_number(s, n, &num))
            return false;
        break;
    case C_DATE_EQ:
    case C_DATE_LT:
    case C_DATE_LE:
    case C_DATE_GT:
    case C_DATE_GE:
        if (!parse_date(s, n, &ms))
            return false;
        break;
    case C_BOOL:
        if (!parse_bool(s, n, &b))
            return false;
        break;
    case C_IP:
        if (hf_access_ip_parse(s, n, &ip) != HF_OK)
            return false;
        break;
    case C_BIN:
        binlen = b64_decode(bin, sizeof bin, s, n);
        if (binlen < 0)
            return false;
        break;
    default:
        break;
    }
    for (size_t i = 0; i < cd->nv; i++) {
        const value_t *v = &cd->v[i];
        bool m = false;
        switch (cd->cmp) {
        case C_STR:
        case C_LIKE:
            m = pat_matches(p, &v->pat, r, sc, s, n, false);
            break;
        case C_STR_IC:
            m = pat_matches(p, &v->pat, r, sc, s, n, true);
            break;
        case C_ARN:
            m = arn_pat_matches(p, &v->pat, r, sc, s, n);
            break;
        case C_NUM_EQ:
            m = num == v->num;
            break;
        case C_NUM_LT:
            m = num < v->num;
            break;
        case C_NUM_LE:
            m = num <= v->num;
            break;
        case C_NUM_GT:
            m = num > v->num;
            break;
        case C_NUM_GE:
            m = num >= v->num;
            break;
        case C_DATE_EQ:
            m = ms == v->ms;
            break;
        case C_DATE_LT:
            m = ms < v->ms;
            break;
        case C_DATE_LE:
            m = ms <= v->ms;
            break;
        case C_DATE_GT:
            m = ms > v->ms;
            break;
        case C_DATE_GE:
            m = ms >= v->ms;
            break;
        case C_BOOL:
            m = b == v->b;
            break;
        case C_IP:
            m = cidr_contains(&v->cidr, &ip);
            break;
        case C_BIN:
            m = (size_t)binlen == v->binlen && memcmp(bin, v->bin, v->binlen) == 0;
            break;
        case C_NULL:
            break;
        }
        if (m)
            return true;
    }
    return false;
}

/* Rules 4 and 5. */
static bool cond_holds(const hf_policy_t *p, const cond_t *cd, const hf_access_req_t *r,
                       hf_access_scratch_t *sc)
{
    const char *const *vals;
    size_t n = hf_access_lookup(r, cd->key, cd->keylen, sc, &vals);
    if (cd->cmp == C_NULL) {
        /* "true": the key must be absent; "false": present. Values ORed. */
        for (size_t i = 0; i < cd->nv; i++)
            if (cd->v[i].b == (n == 0))
                return true;
        return false;
    }
    if (n == 0) {
        if (cd->if_exists || cd->set == SET_ALL)
            return true;
        if (cd->set == SET_ANY)
            return false;
        return cd->negate;
    }
    bool any = false, all = true;
    for (size_t i = 0; i < n; i++) {
        bool m = vals[i] && value_matches(p, cd, r, sc, vals[i]);
        bool ok = cd->negate ? !m : m;
        any = any || ok;
        all = all && ok;
    }
    if (cd->set == SET_ALL)
        return all;
    if (cd->set == SET_ANY)
        return any;
    return cd->negate ? all : any;
}

static bool stmt_applies(const hf_policy_t *p, const stmt_t *st, const hf_access_req_t *r,
                         hf_access_scratch_t *sc)
{
    if (!principal_matches(st, &r->principal) || !action_matches(st, r->action) ||
        !resource_matches(p, st, r, sc))
        return false;
    for (size_t i = 0; i < st->ncond; i++)
        if (!cond_holds(p, &st->cond[i], r, sc))
            return false;
    return true;
}

hf_access_t hf_policy_eval(const hf_policy_t *p, const hf_access_req_t *r)
{
    if (!p)
        return HF_ACCESS_NONE;
    hf_access_scratch_t sc;
    bool allow = false;
    for (size_t i = 0; i < p->nst; i++) {
        const stmt_t *st = &p->st[i];
        if (st->deny == false && allow)
            continue; /* already allowed: only a Deny can change the answer */
        if (!stmt_applies(p, st, r, &sc))
            continue;
        if (st->deny)
            return HF_ACCESS_DENY;
        allow = true;
    }
    return allow ? HF_ACCESS_ALLOW : HF_ACCESS_NONE;
}

/* ---- public or not ----------------------------------------------------------------- */

/* Keys whose fixed values make an Allow for "*" non-public (S3 User Guide,
 * "The meaning of public"; aws:PrincipalOrgID/Account/Arn pin the caller
 * as a fixed principal does). */
static const char *const fixed_keys[] = {
    "aws:SourceIp",       "aws:SourceArn",        "aws:SourceVpc",      "aws:SourceVpce",
    "aws:SourceOwner",    "aws:SourceAccount",    "aws:userid",         "aws:PrincipalOrgID",
    "aws:PrincipalAccount", "aws:PrincipalArn",   "s3:DataAccessPointArn",
    "s3:DataAccessPointAccount",
};

static bool restricts(const cond_t *cd)
{
    bool known = false;
    for (size_t i = 0; i < sizeof fixed_keys / sizeof fixed_keys[0]; i++)
        known = known || hf_access_ieq(cd->key, cd->keylen, fixed_keys[i], strlen(fixed_keys[i]));
    /* Only a positive match without IfExists pins the key; ForAllValues
     * holds for a missing key. */
    if (!known || cd->negate || cd->if_exists || cd->set == SET_ALL)
        return false;
    if (cd->cmp != C_STR && cd->cmp != C_STR_IC && cd->cmp != C_LIKE && cd->cmp != C_ARN &&
        cd->cmp != C_IP)
        return false;
    for (size_t i = 0; i < cd->nv; i++) {
        const value_t *v = &cd->v[i];
        if (cd->cmp == C_IP) {
            /* "values broader than /8 for IPv4 and /32 for IPv6" are public */
            if ((v->cidr.family == 4 && v->cidr.prefix < 8) ||
                (v->cidr.family == 6 && v->cidr.prefix < 32))
                return false;
        } else if (v->pat.vars || v->pat.wild) {
            return false;
        } else {
            /* A literal '*' or '?' (StringEquals "vpc-*") counts as a
             * wildcard too: what the author meant is unknowable, and the
             * answer "public" is the safe one. */
            for (size_t k = 0; k < v->pat.n; k++)
                if (v->pat.u[k] == '*' || v->pat.u[k] == '?')
                    return false;
        }
    }
    return true;
}

bool hf_policy_is_public(const hf_policy_t *p)
{
    if (!p)
        return false;
    for (size_t i = 0; i < p->nst; i++) {
        const stmt_t *st = &p->st[i];
        if (st->deny)
            continue;
        bool everyone = false;
        for (size_t k = 0; k < st->npr; k++)
            everyone = everyone || st->pr[k].kind == PR_ANY;
        if (!everyone)
            continue;
        bool pinned = false;
        for (size_t k = 0; k < st->ncond && !pinned; k++)
            pinned = restricts(&st->cond[k]);
        if (!pinned)
            return true;
    }
    return false;
}
