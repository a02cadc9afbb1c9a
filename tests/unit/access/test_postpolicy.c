/*
 * test_postpolicy.c -- POST Object policies (postpolicy.h): a table of
 * forms checked against policies, and a table of malformed policies.
 *
 * Policies are written with ' for "; the test base64-encodes them as a
 * browser form would carry them. "Now" is 2030-01-01T00:00:00Z unless a
 * case says otherwise.
 */
#include "access/postpolicy.h"

#include "base/err.h"
#include "base/limits.h"
#include "base/str.h"

#include "test.h"

#define NOW (1893456000LL * 1000000000)

static char *encode(const char *policy)
{
    char *json = strdup(policy);
    for (char *p = json; *p; p++)
        if (*p == '\'')
            *p = '"';
    char *b64 = malloc(hf_base64_len(strlen(json)) + 1);
    hf_base64_encode(b64, json, strlen(json));
    free(json);
    return b64;
}

#define EXP "'expiration':'2030-01-01T12:00:00.000Z'"
#define SIGV4 "['eq','$x-amz-algorithm','AWS4-HMAC-SHA256'],['starts-with','$x-amz-credential',''],['starts-with','$x-amz-date','']"
#define POL(conds) "{" EXP ",'conditions':[" conds "]}"

typedef struct fcase {
    const char *name;
    const char *policy;
    const char *form; /* "name=value;name=value" */
    int64_t length;   /* -1: not known */
    int64_t now;      /* 0: NOW */
    hf_postpolicy_code_t want;
    const char *msg;  /* fragment of the message, or NULL */
} fcase_t;

#define OK HF_POSTPOLICY_OK
#define DENIED HF_POSTPOLICY_DENIED
#define FORM_SIGV4 "x-amz-algorithm=AWS4-HMAC-SHA256;x-amz-credential=AKID/20300101/us-east-1/s3/aws4_request;x-amz-date=20300101T000000Z;x-amz-signature=abc;policy=xyz"

static const fcase_t cases[] = {
    {"all conditions hold", POL("{'bucket':'photos'},['starts-with','$key','uploads/']," SIGV4),
     "key=uploads/cat.jpg;" FORM_SIGV4, 10, 0, OK, NULL},
    {"exact match object form", POL("{'bucket':'photos'},{'acl':'public-read'},['eq','$key','a']," SIGV4),
     "key=a;acl=public-read;" FORM_SIGV4, -1, 0, OK, NULL},
    {"exact match fails", POL("{'bucket':'photos'},{'acl':'public-read'},['eq','$key','a']," SIGV4),
     "key=a;acl=private;" FORM_SIGV4, -1, 0, DENIED,
     "Invalid according to Policy: Policy Condition failed: [\"eq\", \"$acl\", \"public-read\"]"},
    {"eq array form fails", POL("['eq','$key','a']," SIGV4), "key=b;" FORM_SIGV4, -1, 0, DENIED,
     "Policy Condition failed: [\"eq\", \"$key\", \"a\"]"},
    {"bucket condition is the URL's bucket", POL("{'bucket':'other'},['eq','$key','a']," SIGV4),
     "key=a;" FORM_SIGV4, -1, 0, DENIED, "[\"eq\", \"$bucket\", \"other\"]"},
    {"starts-with fails", POL("['starts-with','$key','uploads/']," SIGV4), "key=private/x;" FORM_SIGV4, -1, 0,
     DENIED, "[\"starts-with\", \"$key\", \"uploads/\"]"},
    {"starts-with the whole value", POL("['starts-with','$key','uploads/']," SIGV4), "key=uploads/;" FORM_SIGV4, -1, 0, OK, NULL},
    {"starts-with empty matches anything", POL("['starts-with','$key','']," SIGV4), "key=whatever;" FORM_SIGV4, -1, 0, OK, NULL},
    {"starts-with empty holds without the field", POL("['starts-with','$key','a'],['starts-with','$success_action_redirect','']," SIGV4),
     "key=ab;" FORM_SIGV4, -1, 0, OK, NULL},
    {"values compare exactly", POL("['eq','$key','A']," SIGV4), "key=a;" FORM_SIGV4, -1, 0, DENIED, NULL},
    {"field names compare ignoring case", POL("['eq','$Content-Type','image/png'],['eq','$key','a']," SIGV4),
     "KEY=a;content-type=image/png;" FORM_SIGV4, -1, 0, OK, NULL},
    {"a field no condition names is extra", POL("['eq','$key','a']," SIGV4), "key=a;x-amz-meta-tag=1;" FORM_SIGV4, -1, 0,
     DENIED, "Invalid according to Policy: Extra input fields: x-amz-meta-tag"},
    {"every extra field is named", POL("['eq','$key','a']," SIGV4), "key=a;acl=private;Content-Type=x;" FORM_SIGV4, -1, 0,
     DENIED, "Extra input fields: acl, Content-Type"},
    {"a bucket form field needs a condition too", POL("['eq','$key','a']," SIGV4), "key=a;bucket=photos;" FORM_SIGV4, -1, 0,
     DENIED, "Extra input fields: bucket"},
    {"exempt fields", POL("['eq','$key','a']," SIGV4), "key=a;file=;Policy=p;X-Amz-Signature=s;x-ignore-flash=1;" FORM_SIGV4, -1, 0, OK, NULL},
    {"signature fields must be covered", POL("['eq','$key','a']"), "key=a;" FORM_SIGV4, -1, 0, DENIED,
     "Extra input fields: x-amz-algorithm, x-amz-credential, x-amz-date"},
    {"content-length-range inside", POL("['content-length-range',1,1024],['eq','$key','a']"), "key=a", 1024, 0, OK, NULL},
    {"content-length-range lower edge", POL("['content-length-range',1,1024],['eq','$key','a']"), "key=a", 1, 0, OK, NULL},
    {"content-length-range too large", POL("['content-length-range',1,1024],['eq','$key','a']"), "key=a", 1025, 0,
     HF_POSTPOLICY_TOO_LARGE, "exceeds the maximum allowed size"},
    {"content-length-range too small", POL("['content-length-range',1,1024],['eq','$key','a']"), "key=a", 0, 0,
     HF_POSTPOLICY_TOO_SMALL, "smaller than the minimum allowed size"},
    {"content-length-range as strings", POL("['content-length-range','10','20'],['eq','$key','a']"), "key=a", 21, 0,
     HF_POSTPOLICY_TOO_LARGE, NULL},
    {"length not known yet", POL("['content-length-range',1,1024],['eq','$key','a']"), "key=a", -1, 0, OK, NULL},
    {"expired", POL("['eq','$key','a']"), "key=a", -1, NOW + 13LL * 3600 * 1000000000, HF_POSTPOLICY_EXPIRED,
     "Invalid according to Policy: Policy expired."},
    {"expired at the instant", POL("['eq','$key','a']"), "key=a", -1, NOW + 12LL * 3600 * 1000000000, HF_POSTPOLICY_EXPIRED, NULL},
    {"not yet expired", POL("['eq','$key','a']"), "key=a", -1, NOW + 12LL * 3600 * 1000000000 - 1, OK, NULL},
    {"expiry is checked first", POL("['eq','$key','a']"), "key=b;extra=1", -1, NOW + 13LL * 3600 * 1000000000, HF_POSTPOLICY_EXPIRED, NULL},
    {"meta fields", POL("['starts-with','$x-amz-meta-owner','team-'],['eq','$key','a']"), "key=a;x-amz-meta-owner=team-red", -1, 0, OK, NULL},
    {"operation names ignore case", POL("['EQ','$key','a'],['Starts-With','$acl','pub']"), "key=a;acl=public-read", -1, 0, OK, NULL},
    {"quotes in the message are escaped", POL("['eq','$key','say \\'hi\\'']"), "key=a", -1, 0, DENIED, "[\"eq\", \"$key\", \"say \\\"hi\\\"\"]"},
    {"expiration past the range of ns", "{'expiration':'9999-12-31T23:59:59.000Z','conditions':[]}", "", -1, 0, OK, NULL},
    {"expiration long past", "{'expiration':'1999-12-31T23:59:59Z','conditions':[]}", "", -1, 0, HF_POSTPOLICY_EXPIRED, NULL},
    {"no conditions, no fields", "{" EXP ",'conditions':[]}", "", -1, 0, OK, NULL},
};

static size_t build_form(const char *spec, hf_postpolicy_field_t *f, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s", spec);
    size_t n = 0;
    for (char *save = NULL, *item = strtok_r(buf, ";", &save); item; item = strtok_r(NULL, ";", &save)) {
        char *eq = strchr(item, '=');
        *eq = '\0';
        f[n].name = item;
        f[n].value = eq + 1;
        f[n].value_len = strlen(eq + 1);
        n++;
    }
    return n;
}

TEST(form_table)
{
    int bad = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const fcase_t *c = &cases[i];
        char *b64 = encode(c->policy);
        hf_postpolicy_t *p = NULL;
        char msg[512] = "";
        int rc = hf_postpolicy_parse(b64, strlen(b64), &p, msg, sizeof msg);
        if (rc != HF_OK) {
            printf("    case \"%s\": policy refused: %s\n", c->name, msg);
            bad++;
            free(b64);
            continue;
        }
        hf_postpolicy_field_t f[16];
        char buf[1024];
        size_t nf = build_form(c->form, f, buf, sizeof buf);
        hf_postpolicy_code_t got = hf_postpolicy_check(p, "photos", f, nf, c->length, c->now ? c->now : NOW,
                                                       msg, sizeof msg);
        if (got != c->want || (c->msg && !strstr(msg, c->msg))) {
            printf("    case \"%s\": code %d \"%s\", expected %d \"%s\"\n", c->name, got, msg, c->want,
                   c->msg ? c->msg : "");
            bad++;
        }
        hf_postpolicy_free(p);
        free(b64);
    }
    CHECK_EQ_INT(bad, 0);
}

TEST(length_bounds_and_late_check)
{
    char *b64 = encode(POL("['content-length-range',10,1000],['content-length-range',100,5000]"));
    hf_postpolicy_t *p = NULL;
    CHECK_EQ_INT(hf_postpolicy_parse(b64, strlen(b64), &p, NULL, 0), HF_OK);
    uint64_t min, max;
    CHECK(hf_postpolicy_length_bounds(p, &min, &max));
    CHECK_EQ_INT(min, 100);
    CHECK_EQ_INT(max, 1000);
    char msg[128];
    CHECK_EQ_INT(hf_postpolicy_check_length(p, 50, msg, sizeof msg), HF_POSTPOLICY_TOO_SMALL);
    CHECK_EQ_INT(hf_postpolicy_check_length(p, 1001, msg, sizeof msg), HF_POSTPOLICY_TOO_LARGE);
    CHECK_EQ_INT(hf_postpolicy_check_length(p, 500, msg, sizeof msg), HF_POSTPOLICY_OK);
    CHECK_EQ_INT(hf_postpolicy_expiration(p), (1893456000LL + 12 * 3600) * 1000000000);
    hf_postpolicy_free(p);
    free(b64);

    b64 = encode(POL("['content-length-range',10,20],['content-length-range',30,40]"));
    CHECK_EQ_INT(hf_postpolicy_parse(b64, strlen(b64), &p, NULL, 0), HF_OK);
    CHECK(!hf_postpolicy_length_bounds(p, &min, &max));
    hf_postpolicy_free(p);
    free(b64);

    b64 = encode(POL("['eq','$key','a']"));
    CHECK_EQ_INT(hf_postpolicy_parse(b64, strlen(b64), &p, NULL, 0), HF_OK);
    CHECK(hf_postpolicy_length_bounds(p, &min, &max));
    CHECK_EQ_INT(min, 0);
    CHECK(max == UINT64_MAX);
    hf_postpolicy_free(p);
    free(b64);
}

TEST(base64_with_line_breaks)
{
    /* Some encoders (Ruby's Base64.encode64) wrap at 60 characters. */
    char *b64 = encode(POL("['starts-with','$key','uploads/'],['content-length-range',0,1048576]"));
    size_t n = strlen(b64);
    char *wrapped = malloc(n + n / 60 + 2);
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        wrapped[o++] = b64[i];
        if (i % 60 == 59)
            wrapped[o++] = '\n';
    }
    wrapped[o] = '\0';
    hf_postpolicy_t *p = NULL;
    CHECK_EQ_INT(hf_postpolicy_parse(wrapped, o, &p, NULL, 0), HF_OK);
    hf_postpolicy_free(p);
    free(wrapped);
    free(b64);
}

typedef struct mcase {
    const char *policy; /* JSON (encoded by the test) or, with raw, the field as sent */
    bool raw;
    const char *fragment;
} mcase_t;

static const mcase_t malformed[] = {
    {"not base64!", true, "not valid base64"},
    {"eyJleHBpcmF0aW9u", true, "Invalid JSON"},
    {"{'expiration':", false, "Invalid JSON"},
    {"['a']", false, "must be a JSON object"},
    {"{'conditions':[]}", false, "Policy missing expiration."},
    {"{" EXP "}", false, "Policy missing conditions."},
    {"{'expiration':'tomorrow','conditions':[]}", false, "Invalid 'expiration' value"},
    {"{'expiration':'2030-01-01T12:00:00','conditions':[]}", false, "Invalid 'expiration' value"},
    {"{'expiration':1893456000,'conditions':[]}", false, "Invalid 'expiration' value"},
    {"{" EXP ",'conditions':{}}", false, "'conditions' must be an array"},
    {"{" EXP ",'conditions':[],'extra':1}", false, "Unexpected field \"extra\""},
    {"{" EXP ",'conditions':[],'conditions':[]}", false, "Invalid JSON"},
    {POL("'key'"), false, "Invalid Condition"},
    {POL("{}"), false, "an exact-match object has one field"},
    {POL("{'acl':'a','key':'b'}"), false, "an exact-match object has one field"},
    {POL("{'acl':5}"), false, "must be a string"},
    {POL("{'':'x'}"), false, "empty field"},
    {POL("['eq','$key']"), false, "array of three elements"},
    {POL("['eq','$key','a','b']"), false, "array of three elements"},
    {POL("['matches','$key','a']"), false, "unknown operation \"matches\""},
    {POL("['eq','key','a']"), false, "names a form field with '$'"},
    {POL("['eq','$key',5]"), false, "names a form field with '$'"},
    {POL("['eq','$','a']"), false, "empty field"},
    {POL("['content-length-range',-1,10]"), false, "two non-negative integers"},
    {POL("['content-length-range','ten',10]"), false, "two non-negative integers"},
    {POL("['content-length-range',1.5,10]"), false, "two non-negative integers"},
    {POL("['content-length-range',20,10]"), false, "minimum 20 is above its maximum 10"},
};

TEST(malformed_table)
{
    int bad = 0;
    for (size_t i = 0; i < sizeof malformed / sizeof malformed[0]; i++) {
        char *b64 = malformed[i].raw ? strdup(malformed[i].policy) : encode(malformed[i].policy);
        hf_postpolicy_t *p = NULL;
        char msg[512] = "";
        int rc = hf_postpolicy_parse(b64, strlen(b64), &p, msg, sizeof msg);
        if (rc != HF_E_INVAL || p || !strstr(msg, malformed[i].fragment) ||
            strncmp(msg, "Invalid Policy: ", 16) != 0) {
            printf("    malformed #%zu %s: rc %d \"%s\", expected \"%s\"\n", i, malformed[i].policy, rc, msg,
                   malformed[i].fragment);
            bad++;
        }
        hf_postpolicy_free(p);
        free(b64);
    }
    CHECK_EQ_INT(bad, 0);
}

TEST(limits)
{
    /* Just over the size limit. */
    char *big = malloc(HF_POSTPOLICY_MAX + 2);
    memset(big, 'A', HF_POSTPOLICY_MAX + 1);
    big[HF_POSTPOLICY_MAX + 1] = '\0';
    hf_postpolicy_t *p = NULL;
    char msg[256];
    CHECK_EQ_INT(hf_postpolicy_parse(big, HF_POSTPOLICY_MAX + 1, &p, msg, sizeof msg), HF_E_INVAL);
    CHECK(strstr(msg, "larger than") != NULL);
    free(big);

    /* One condition more than allowed. */
    size_t cap = 64 + (HF_POSTPOLICY_CONDITIONS_MAX + 1) * 20;
    char *json = malloc(cap);
    size_t o = (size_t)snprintf(json, cap, "{" EXP ",'conditions':[");
    for (int i = 0; i <= HF_POSTPOLICY_CONDITIONS_MAX; i++)
        o += (size_t)snprintf(json + o, cap - o, "%s{'f%d':'v'}", i ? "," : "", i);
    snprintf(json + o, cap - o, "]}");
    char *b64 = encode(json);
    CHECK_EQ_INT(hf_postpolicy_parse(b64, strlen(b64), &p, msg, sizeof msg), HF_E_INVAL);
    CHECK(strstr(msg, "conditions; at most") != NULL);
    free(b64);
    free(json);
}

HF_TEST_MAIN("unit/access/postpolicy")
