/*
 * fuzz_policy.c -- bucket policies (access/policy.c): parse, evaluate,
 * decide "public".
 *
 * The input is a policy document, optionally followed by a NUL byte and a
 * request in lines: action, object key (empty: the bucket), client
 * address, then condition keys "name=v1|v2". Properties: memory safety and
 * bounded work (sanitizers, -timeout); parse answers HF_OK with a policy or
 * an error code with a message and no policy; evaluation is one of the
 * three answers and the same twice; a policy without an Allow statement
 * never allows and is never public, one without a Deny never denies.
 */
#include "access/policy.h"
#include "base/err.h"

#include "split.h"

#include <errno.h>
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MAXKEYS 8
#define MAXVALS 32

/* Which effects the document's statements have (it parsed, so it is a
 * valid policy: Statement is an object or an array of objects). */
static void effects(const uint8_t *data, size_t n, bool *allow, bool *deny)
{
    *allow = *deny = false;
    json_t *root = json_loadb((const char *)data, n, 0, NULL);
    if (!root)
        abort();
    json_t *st = json_object_get(root, "Statement");
    size_t count = json_is_array(st) ? json_array_size(st) : 1;
    for (size_t i = 0; i < count; i++) {
        json_t *s = json_is_array(st) ? json_array_get(st, i) : st;
        const char *e = json_string_value(json_object_get(s, "Effect"));
        if (!e)
            abort();
        *allow = *allow || strcmp(e, "Allow") == 0;
        *deny = *deny || strcmp(e, "Deny") == 0;
    }
    json_decref(root);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char buf[4096];
    size_t plen;
    fuzz_split(data, size, &plen, buf, sizeof buf);

    char err[512];
    hf_policy_t *p = (hf_policy_t *)1;
    int rc = hf_policy_parse((const char *)data, plen, "photos", &p, err, sizeof err);
    if (rc != HF_OK) {
        if (p || (rc != HF_E_INVAL && rc != HF_E_TOOBIG && rc != -ENOMEM) || !memchr(err, 0, sizeof err) ||
            !err[0])
            abort();
        return 0;
    }
    if (!p)
        abort();
    bool has_allow, has_deny;
    effects(data, plen, &has_allow, &has_deny);
    if (hf_policy_is_public(p) && !has_allow)
        abort();

    /* The request, from the rest of the input (in buf). */
    char *line[3 + MAXKEYS] = {0};
    size_t nl = 0;
    for (char *s = buf; s && nl < 3 + MAXKEYS; nl++) {
        line[nl] = s;
        s = strchr(s, '\n');
        if (s)
            *s++ = '\0';
    }
    hf_access_kv_t kv[MAXKEYS];
    const char *vals[MAXVALS];
    size_t nk = 0, nv = 0;
    for (size_t i = 3; i < nl; i++) {
        char *eq = strchr(line[i], '=');
        if (!eq)
            continue;
        *eq = '\0';
        kv[nk] = (hf_access_kv_t){.key = line[i], .values = &vals[nv], .nvalues = 0};
        for (char *v = eq + 1; v && nv < MAXVALS; kv[nk].nvalues++) {
            vals[nv++] = v;
            v = strchr(v, '|');
            if (v)
                *v++ = '\0';
        }
        nk++;
    }
    char arn[2048];
    const char *key = nl > 1 && line[1][0] ? line[1] : NULL;
    if (hf_access_resource_arn(arn, sizeof arn, "photos", key) < 0)
        hf_access_resource_arn(arn, sizeof arn, "photos", NULL);

    static const hf_access_principal_t who[] = {
        {.anonymous = true},
        {.account = "111122223333", .arn = "arn:aws:iam::111122223333:user/alice",
         .canonical_id = "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be"},
        {.account = "111122223333", .arn = "arn:aws:iam::111122223333:root"},
    };
    for (size_t w = 0; w < sizeof who / sizeof who[0]; w++) {
        hf_access_req_t r = {
            .principal = who[w],
            .action = nl > 0 && line[0][0] ? line[0] : "s3:GetObject",
            .resource = arn,
            .secure_transport = w == 1,
            .now = 1893456000LL * 1000000000,
            .keys = kv,
            .nkeys = nk,
        };
        if (nl > 2)
            (void)hf_access_ip_parse(line[2], strlen(line[2]), &r.source_ip);
        hf_access_t a = hf_policy_eval(p, &r);
        if (a != HF_ACCESS_ALLOW && a != HF_ACCESS_DENY && a != HF_ACCESS_NONE)
            abort();
        if (hf_policy_eval(p, &r) != a)
            abort();
        if ((a == HF_ACCESS_ALLOW && !has_allow) || (a == HF_ACCESS_DENY && !has_deny))
            abort();
    }
    hf_policy_free(p);
    return 0;
}
