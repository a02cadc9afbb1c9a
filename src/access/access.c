/*
 * access.c -- the request context (access.h) and the matching primitives
 * the layer's policies share (internal.h).
 *
 * Condition keys are looked up by name on every evaluation: requests carry
 * a handful of keys and policies a handful of conditions, so a linear scan
 * beats building an index per request.
 */
#include "access/access.h"
#include "access/internal.h"

#include "base/err.h"
#include "base/time.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static int lower(int c)
{
    return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

bool hf_access_ieq(const char *a, size_t n, const char *b, size_t m)
{
    if (n != m)
        return false;
    for (size_t i = 0; i < n; i++)
        if (lower((unsigned char)a[i]) != lower((unsigned char)b[i]))
            return false;
    return true;
}

bool hf_access_key_eq(const char *a, size_t n, const char *b, size_t m)
{
    const char *sa = memchr(a, '/', n), *sb = memchr(b, '/', m);
    size_t pa = sa ? (size_t)(sa - a) : n, pb = sb ? (size_t)(sb - b) : m;
    if (!hf_access_ieq(a, pa, b, pb) || (sa == NULL) != (sb == NULL))
        return false;
    return n - pa == m - pb && memcmp(a + pa, b + pb, n - pa) == 0;
}

/* The classic greedy wildcard match: on a mismatch, go back to the last
 * star and let it swallow one more byte. Only the last star matters
 * because an earlier one can never need to take back what a later one
 * could take instead. */
bool hf_pat_match(const uint16_t *pat, size_t pn, const char *s, size_t n, bool icase)
{
    size_t p = 0, i = 0, star = SIZE_MAX, mark = 0;
    while (i < n) {
        if (p < pn && pat[p] == HF_PAT_STAR) {
            star = p++;
            mark = i;
            continue;
        }
        if (p < pn && pat[p] != HF_PAT_STAR) {
            unsigned c = (unsigned char)s[i];
            bool ok = pat[p] == HF_PAT_ONE ||
                      (pat[p] < 256 && (icase ? lower((int)pat[p]) == lower((int)c) : pat[p] == c));
            if (ok) {
                p++;
                i++;
                continue;
            }
        }
        if (star == SIZE_MAX)
            return false;
        p = star + 1;
        i = ++mark;
    }
    while (p < pn && pat[p] == HF_PAT_STAR)
        p++;
    return p == pn;
}

int hf_access_ip_parse(const char *s, size_t n, hf_access_ip_t *out)
{
    char buf[64];
    memset(out, 0, sizeof *out);
    if (n == 0 || n >= sizeof buf || memchr(s, '\0', n))
        return HF_E_INVAL;
    memcpy(buf, s, n);
    buf[n] = '\0';
    if (inet_pton(AF_INET, buf, out->addr) == 1) {
        out->family = 4;
        return HF_OK;
    }
    if (inet_pton(AF_INET6, buf, out->addr) != 1) {
        memset(out, 0, sizeof *out);
        return HF_E_INVAL;
    }
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (memcmp(out->addr, mapped, sizeof mapped) == 0) {
        memmove(out->addr, out->addr + 12, 4);
        memset(out->addr + 4, 0, 12);
        out->family = 4;
    } else {
        out->family = 6;
    }
    return HF_OK;
}

int hf_access_resource_arn(char *out, size_t cap, const char *bucket, const char *key)
{
    int n = key ? snprintf(out, cap, "arn:aws:s3:::%s/%s", bucket, key)
                : snprintf(out, cap, "arn:aws:s3:::%s", bucket);
    if (n < 0 || (size_t)n >= cap)
        return HF_E_TOOBIG;
    return n;
}

/* ---- condition keys --------------------------------------------------------- */

enum {
    D_SOURCE_IP,
    D_SECURE,
    D_CURRENT_TIME,
    D_EPOCH_TIME,
    D_PRINCIPAL_TYPE,
    D_PRINCIPAL_ARN,
    D_PRINCIPAL_ACCOUNT,
    D_USERNAME,
    D_USERID,
};

static const char *const derived_names[HF_ACCESS_DERIVED_KEYS] = {
    [D_SOURCE_IP] = "aws:SourceIp",
    [D_SECURE] = "aws:SecureTransport",
    [D_CURRENT_TIME] = "aws:CurrentTime",
    [D_EPOCH_TIME] = "aws:EpochTime",
    [D_PRINCIPAL_TYPE] = "aws:PrincipalType",
    [D_PRINCIPAL_ARN] = "aws:PrincipalArn",
    [D_PRINCIPAL_ACCOUNT] = "aws:PrincipalAccount",
    [D_USERNAME] = "aws:username",
    [D_USERID] = "aws:userid",
};

static bool is_root_arn(const char *arn)
{
    size_t n = strlen(arn);
    return n > 5 && strcmp(arn + n - 5, ":root") == 0;
}

/* The user name of "arn:aws:iam::<account>:user/[path/]name", or NULL. */
static const char *user_name(const char *arn)
{
    const char *u = strstr(arn, ":user/");
    if (!u)
        return NULL;
    const char *name = strrchr(u, '/') + 1;
    return *name ? name : NULL;
}

/* The value of derived key k, or NULL if the request does not have it. */
static const char *derived(const hf_access_req_t *r, int k, hf_access_scratch_t *sc)
{
    const hf_access_principal_t *p = &r->principal;
    switch (k) {
    case D_SOURCE_IP:
        if (r->source_ip.family == 4)
            return inet_ntop(AF_INET, r->source_ip.addr, sc->ip, sizeof sc->ip);
        if (r->source_ip.family == 6)
            return inet_ntop(AF_INET6, r->source_ip.addr, sc->ip, sizeof sc->ip);
        return NULL;
    case D_SECURE:
        return r->secure_transport ? "true" : "false";
    case D_CURRENT_TIME:
        if (!r->now)
            return NULL;
        hf_time_iso8601(sc->iso, r->now);
        return sc->iso;
    case D_EPOCH_TIME:
        if (!r->now)
            return NULL;
        snprintf(sc->epoch, sizeof sc->epoch, "%" PRId64, r->now / 1000000000);
        return sc->epoch;
    case D_PRINCIPAL_TYPE:
        if (p->anonymous)
            return "Anonymous";
        if ((p->arn && is_root_arn(p->arn)) || (!p->arn && p->account))
            return "Account";
        return p->arn ? "User" : NULL;
    case D_PRINCIPAL_ARN:
        return p->anonymous ? NULL : p->arn;
    case D_PRINCIPAL_ACCOUNT:
        return p->anonymous ? NULL : p->account;
    case D_USERNAME:
        return p->anonymous || !p->arn ? NULL : user_name(p->arn);
    case D_USERID:
        if (p->anonymous)
            return "anonymous";
        if (p->userid)
            return p->userid;
        if (p->account && (!p->arn || is_root_arn(p->arn)))
            return p->account;
        return NULL;
    }
    return NULL;
}

size_t hf_access_lookup(const hf_access_req_t *r, const char *name, size_t namelen,
                        hf_access_scratch_t *scratch, const char *const **values)
{
    *values = NULL;
    for (size_t i = 0; i < r->nkeys; i++) {
        const hf_access_kv_t *kv = &r->keys[i];
        if (kv->key && hf_access_key_eq(kv->key, strlen(kv->key), name, namelen)) {
            *values = kv->values;
            return kv->values ? kv->nvalues : 0;
        }
    }
    for (int k = 0; k < HF_ACCESS_DERIVED_KEYS; k++) {
        if (!hf_access_ieq(derived_names[k], strlen(derived_names[k]), name, namelen))
            continue;
        const char *v = derived(r, k, scratch);
        if (!v)
            return 0;
        scratch->slot[k] = v;
        *values = &scratch->slot[k];
        return 1;
    }
    return 0;
}
