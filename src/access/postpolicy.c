/*
 * postpolicy.c -- POST Object policy documents (postpolicy.h).
 *
 * The grammar and the checks follow the S3 API Reference, "Creating a POST
 * policy" (Signature Version 4): a JSON object with "expiration" (ISO 8601,
 * UTC) and "conditions"; each condition is an exact match written as
 * {"field": "value"} or ["eq", "$field", "value"], a prefix match
 * ["starts-with", "$field", "prefix"] ("" matches anything), or a size
 * range ["content-length-range", min, max]. The messages are the ones S3
 * answers with ("Invalid according to Policy: ...").
 *
 * Not supported: the non-JSON escapes the S3 page lists for policy strings
 * (\$, \v, \xhh); such a policy is refused as invalid JSON rather than
 * read differently from AWS.
 */
#include "access/postpolicy.h"

#include "access/internal.h"

#include "base/arena.h"
#include "base/err.h"
#include "base/limits.h"
#include "base/str.h"
#include "base/time.h"

#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Backstop for one parsed policy: the decoded document is at most 15 KiB. */
#define POSTPOLICY_ARENA_MAX (256 * 1024)

typedef enum { PC_EQ, PC_PREFIX, PC_RANGE } pc_kind_t;

typedef struct pcond {
    pc_kind_t kind;
    const char *field; /* without the '$' */
    size_t fieldlen;
    const char *value;
    size_t valuelen;
    uint64_t min, max;
} pcond_t;

struct hf_postpolicy {
    hf_arena_t arena;
    int64_t expiration; /* ns since epoch */
    pcond_t *c;
    size_t n;
};

static int invalid(char *msg, size_t msglen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int invalid(char *msg, size_t msglen, const char *fmt, ...)
{
    if (msg && msglen) {
        int n = snprintf(msg, msglen, "Invalid Policy: ");
        va_list ap;
        va_start(ap, fmt);
        if (n > 0 && (size_t)n < msglen)
            vsnprintf(msg + n, msglen - (size_t)n, fmt, ap);
        va_end(ap);
    }
    return HF_E_INVAL;
}

static int say(char *msg, size_t msglen, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int say(char *msg, size_t msglen, int code, const char *fmt, ...)
{
    if (msg && msglen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, msglen, fmt, ap);
        va_end(ap);
    }
    return code;
}

/* A size bound: a JSON integer >= 0, or a string of digits. */
static bool size_value(json_t *v, uint64_t *out)
{
    if (json_is_integer(v)) {
        if (json_integer_value(v) < 0)
            return false;
        *out = (uint64_t)json_integer_value(v);
        return true;
    }
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        return hf_parse_u64(s, strlen(s), out) == HF_OK;
    }
    return false;
}

static int add_match(hf_postpolicy_t *p, pc_kind_t kind, const char *field, const char *value,
                     char *msg, size_t msglen)
{
    pcond_t *c = &p->c[p->n];
    c->kind = kind;
    c->fieldlen = strlen(field);
    c->valuelen = strlen(value);
    if (c->fieldlen == 0)
        return invalid(msg, msglen, "Invalid Condition: a condition names an empty field");
    c->field = hf_arena_strndup(&p->arena, field, c->fieldlen);
    c->value = hf_arena_strndup(&p->arena, value, c->valuelen);
    if (!c->field || !c->value)
        return -ENOMEM;
    p->n++;
    return HF_OK;
}

static int parse_condition(hf_postpolicy_t *p, json_t *j, char *msg, size_t msglen)
{
    if (json_is_object(j)) {
        if (json_object_size(j) != 1)
            return invalid(msg, msglen, "Invalid Condition: an exact-match object has one field");
        const char *k;
        json_t *v;
        json_object_foreach(j, k, v) {
            if (!json_is_string(v))
                return invalid(msg, msglen, "Invalid Condition: the value of \"%.64s\" must be a string", k);
            return add_match(p, PC_EQ, k, json_string_value(v), msg, msglen);
        }
    }
    if (!json_is_array(j) || json_array_size(j) != 3 || !json_is_string(json_array_get(j, 0)))
        return invalid(msg, msglen, "Invalid Condition: expected {\"field\": \"value\"} or an "
                                    "array of three elements");
    const char *op = json_string_value(json_array_get(j, 0));
    json_t *a = json_array_get(j, 1), *b = json_array_get(j, 2);
    if (hf_access_ieq(op, strlen(op), "content-length-range", 20)) {
        pcond_t *c = &p->c[p->n];
        if (!size_value(a, &c->min) || !size_value(b, &c->max))
            return invalid(msg, msglen, "Invalid Condition: content-length-range takes two "
                                        "non-negative integers");
        if (c->min > c->max)
            return invalid(msg, msglen, "Invalid Condition: content-length-range minimum %llu is "
                                        "above its maximum %llu",
                           (unsigned long long)c->min, (unsigned long long)c->max);
        c->kind = PC_RANGE;
        p->n++;
        return HF_OK;
    }
    pc_kind_t kind;
    if (hf_access_ieq(op, strlen(op), "eq", 2))
        kind = PC_EQ;
    else if (hf_access_ieq(op, strlen(op), "starts-with", 11))
        kind = PC_PREFIX;
    else
        return invalid(msg, msglen, "Invalid Condition: unknown operation \"%.32s\"", op);
    if (!json_is_string(a) || !json_is_string(b) || json_string_value(a)[0] != '$')
        return invalid(msg, msglen, "Invalid Condition: [\"%s\", \"$field\", \"value\"] names a "
                                    "form field with '$' and compares it with a string", op);
    return add_match(p, kind, json_string_value(a) + 1, json_string_value(b), msg, msglen);
}

int hf_postpolicy_parse(const char *b64, size_t len, hf_postpolicy_t **out, char *msg, size_t msglen)
{
    *out = NULL;
    if (msg && msglen)
        msg[0] = '\0';
    if (len > HF_POSTPOLICY_MAX)
        return invalid(msg, msglen, "the policy is larger than %d bytes", HF_POSTPOLICY_MAX);
    int rc;
    char *text = malloc(len + 1), *doc = malloc(len + 1);
    if (!text || !doc) {
        rc = -ENOMEM;
        goto out_free;
    }
    /* Some encoders break base64 into lines (MIME style): skip whitespace. */
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        if (b64[i] != '\r' && b64[i] != '\n' && b64[i] != ' ' && b64[i] != '\t')
            text[n++] = b64[i];
    int dn = hf_base64_decode(doc, len, text, n);
    if (dn < 0) {
        rc = invalid(msg, msglen, "the policy is not valid base64");
        goto out_free;
    }
    json_error_t jerr;
    json_t *root = json_loadb(doc, (size_t)dn, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        rc = invalid(msg, msglen, "Invalid JSON: %s", jerr.text);
        goto out_free;
    }
    hf_postpolicy_t *p = NULL;
    rc = HF_E_INVAL;
    if (!json_is_object(root)) {
        invalid(msg, msglen, "the policy must be a JSON object");
        goto out_root;
    }
    const char *k;
    json_t *v;
    json_object_foreach(root, k, v) {
        if (strcmp(k, "expiration") && strcmp(k, "conditions")) {
            invalid(msg, msglen, "Unexpected field \"%.64s\"", k);
            goto out_root;
        }
    }
    json_t *exp = json_object_get(root, "expiration"), *conds = json_object_get(root, "conditions");
    int64_t secs;
    if (!exp) {
        invalid(msg, msglen, "Policy missing expiration.");
        goto out_root;
    }
    if (!json_is_string(exp) ||
        hf_time_parse_iso8601(json_string_value(exp), strlen(json_string_value(exp)), &secs)) {
        invalid(msg, msglen, "Invalid 'expiration' value: expected ISO 8601 UTC such as "
                             "2030-01-01T12:00:00.000Z");
        goto out_root;
    }
    if (!conds) {
        invalid(msg, msglen, "Policy missing conditions.");
        goto out_root;
    }
    if (!json_is_array(conds)) {
        invalid(msg, msglen, "'conditions' must be an array");
        goto out_root;
    }
    size_t nc = json_array_size(conds);
    if (nc > HF_POSTPOLICY_CONDITIONS_MAX) {
        invalid(msg, msglen, "%zu conditions; at most %d are accepted", nc,
                HF_POSTPOLICY_CONDITIONS_MAX);
        goto out_root;
    }
    p = calloc(1, sizeof *p);
    if (!p) {
        rc = -ENOMEM;
        goto out_root;
    }
    hf_arena_init(&p->arena, POSTPOLICY_ARENA_MAX);
    /* Nanoseconds reach only to 2262: a later expiration is "never". */
    if (secs > INT64_MAX / 1000000000)
        p->expiration = INT64_MAX;
    else if (secs < INT64_MIN / 1000000000)
        p->expiration = INT64_MIN;
    else
        p->expiration = secs * 1000000000;
    p->c = hf_arena_calloc(&p->arena, (nc ? nc : 1) * sizeof *p->c);
    if (!p->c) {
        rc = -ENOMEM;
        goto out_policy;
    }
    for (size_t i = 0; i < nc; i++) {
        rc = parse_condition(p, json_array_get(conds, i), msg, msglen);
        if (rc)
            goto out_policy;
    }
    *out = p;
    p = NULL;
    rc = HF_OK;
out_policy:
    hf_postpolicy_free(p);
out_root:
    json_decref(root);
out_free:
    free(text);
    free(doc);
    if (rc == -ENOMEM && msg && msglen)
        snprintf(msg, msglen, "out of memory");
    return rc;
}

void hf_postpolicy_free(hf_postpolicy_t *p)
{
    if (!p)
        return;
    hf_arena_free(&p->arena);
    free(p);
}

int64_t hf_postpolicy_expiration(const hf_postpolicy_t *p)
{
    return p->expiration;
}

/* ---- checking a form ------------------------------------------------------------ */

/* Exempt from "every field must be covered": S3's lists -- for SigV4 forms
 * x-amz-signature, file, policy and x-ignore-*; for Signature Version 2
 * forms "AWSAccessKeyId, signature, file, policy, and field names that
 * have an x-ignore- prefix". */
static bool exempt(const char *name)
{
    size_t n = strlen(name);
    return hf_access_ieq(name, n, "x-amz-signature", 15) || hf_access_ieq(name, n, "file", 4) ||
           hf_access_ieq(name, n, "policy", 6) || hf_access_ieq(name, n, "AWSAccessKeyId", 14) ||
           hf_access_ieq(name, n, "signature", 9) ||
           (n >= 9 && hf_access_ieq(name, 9, "x-ignore-", 9));
}

/* s as a JSON string body (quotes and backslashes escaped, control bytes
 * dropped) into out. */
static void quote(char *out, size_t cap, const char *s, size_t n)
{
    size_t o = 0;
    for (size_t i = 0; i < n && o + 2 < cap; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch < 0x20)
            continue;
        if (ch == '"' || ch == '\\')
            out[o++] = '\\';
        out[o++] = (char)ch;
    }
    out[o] = '\0';
}

static hf_postpolicy_code_t condition_failed(const pcond_t *c, char *msg, size_t msglen)
{
    char v[512];
    quote(v, sizeof v, c->value, c->valuelen);
    return say(msg, msglen, HF_POSTPOLICY_DENIED,
               "Invalid according to Policy: Policy Condition failed: [\"%s\", \"$%.*s\", \"%s\"]",
               c->kind == PC_EQ ? "eq" : "starts-with", (int)c->fieldlen, c->field, v);
}

hf_postpolicy_code_t hf_postpolicy_check_length(const hf_postpolicy_t *p, uint64_t length,
                                                char *msg, size_t msglen)
{
    for (size_t i = 0; i < p->n; i++) {
        const pcond_t *c = &p->c[i];
        if (c->kind != PC_RANGE)
            continue;
        if (length < c->min)
            return say(msg, msglen, HF_POSTPOLICY_TOO_SMALL,
                       "Your proposed upload is smaller than the minimum allowed size");
        if (length > c->max)
            return say(msg, msglen, HF_POSTPOLICY_TOO_LARGE,
                       "Your proposed upload exceeds the maximum allowed size");
    }
    return HF_POSTPOLICY_OK;
}

bool hf_postpolicy_length_bounds(const hf_postpolicy_t *p, uint64_t *min, uint64_t *max)
{
    *min = 0;
    *max = UINT64_MAX;
    for (size_t i = 0; i < p->n; i++) {
        if (p->c[i].kind != PC_RANGE)
            continue;
        if (p->c[i].min > *min)
            *min = p->c[i].min;
        if (p->c[i].max < *max)
            *max = p->c[i].max;
    }
    return *min <= *max;
}

hf_postpolicy_code_t hf_postpolicy_check(const hf_postpolicy_t *p, const char *bucket,
                                         const hf_postpolicy_field_t *fields, size_t nfields,
                                         int64_t content_length, int64_t now, char *msg,
                                         size_t msglen)
{
    if (msg && msglen)
        msg[0] = '\0';
    if (now >= p->expiration)
        return say(msg, msglen, HF_POSTPOLICY_EXPIRED, "Invalid according to Policy: Policy expired.");
    for (size_t i = 0; i < p->n; i++) {
        const pcond_t *c = &p->c[i];
        if (c->kind == PC_RANGE) {
            if (content_length >= 0) {
                hf_postpolicy_code_t rc = hf_postpolicy_check_length(p, (uint64_t)content_length, msg, msglen);
                if (rc != HF_POSTPOLICY_OK)
                    return rc;
            }
            continue;
        }
        const char *v = "";
        size_t vn = 0;
        if (hf_access_ieq(c->field, c->fieldlen, "bucket", 6)) {
            v = bucket;
            vn = strlen(bucket);
        } else {
            for (size_t f = 0; f < nfields; f++) {
                if (hf_access_ieq(fields[f].name, strlen(fields[f].name), c->field, c->fieldlen)) {
                    v = fields[f].value;
                    vn = fields[f].value_len;
                    break;
                }
            }
        }
        bool ok = c->kind == PC_EQ ? vn == c->valuelen && memcmp(v, c->value, vn) == 0
                                   : vn >= c->valuelen && memcmp(v, c->value, c->valuelen) == 0;
        if (!ok)
            return condition_failed(c, msg, msglen);
    }
    /* Every field must be named by a condition (S3: "Each form field that
     * you specify in a form (except x-amz-signature, file, policy, and field
     * names that have an x-ignore- prefix) must appear in the list of
     * conditions"). */
    size_t o = 0;
    for (size_t f = 0; f < nfields; f++) {
        const char *name = fields[f].name;
        if (exempt(name))
            continue;
        bool covered = false;
        for (size_t i = 0; i < p->n && !covered; i++)
            covered = p->c[i].kind != PC_RANGE &&
                      hf_access_ieq(p->c[i].field, p->c[i].fieldlen, name, strlen(name));
        if (covered)
            continue;
        if (msg && msglen) {
            if (o == 0) {
                int n = snprintf(msg, msglen, "Invalid according to Policy: Extra input fields: %s", name);
                o = n < 0 ? 0 : (size_t)n;
            } else if (o < msglen) {
                int n = snprintf(msg + o, msglen - o, ", %s", name);
                o += n < 0 ? 0 : (size_t)n;
            }
        } else {
            o = 1;
        }
    }
    if (o)
        return HF_POSTPOLICY_DENIED;
    return HF_POSTPOLICY_OK;
}
