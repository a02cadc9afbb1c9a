/*
 * test_policy.c -- bucket policies: evaluation, validation and "public",
 * each as a table of cases.
 *
 * Policies are written with ' for " (and ` for a real ') so the tables
 * stay readable; every policy is for the bucket "photos". Requesters:
 * alice and bob are users of account 111122223333 (root is that account
 * itself), carol a user of 444455556666, anon has no credentials.
 */
#include "access/access.h"
#include "access/actions.h"
#include "access/policy.h"

#include "base/err.h"
#include "base/limits.h"
#include "base/time.h"

#include "test.h"

enum { ANON, ALICE, BOB, ROOT, CAROL };

#define ALICE_ID "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be"

static const hf_access_principal_t who[] = {
    [ANON] = {.anonymous = true},
    [ALICE] = {.account = "111122223333", .arn = "arn:aws:iam::111122223333:user/alice",
               .canonical_id = ALICE_ID, .userid = "AIDAALICE"},
    [BOB] = {.account = "111122223333", .arn = "arn:aws:iam::111122223333:user/team/bob",
             .canonical_id = "0000000000000000000000000000000000000000000000000000000000000b0b"},
    [ROOT] = {.account = "111122223333", .arn = "arn:aws:iam::111122223333:root"},
    [CAROL] = {.account = "444455556666", .arn = "arn:aws:iam::444455556666:user/carol"},
};

/* ' -> ", ` -> ' */
static char *unquote(const char *s)
{
    char *o = strdup(s);
    for (char *p = o; *p; p++)
        *p = *p == '\'' ? '"' : *p == '`' ? '\'' : *p;
    return o;
}

/* A statement list wrapped into a 2012-10-17 policy. */
#define P(stmts) "{'Version':'2012-10-17','Statement':" stmts "}"
#define ALLOW_GET(principal) "{'Effect':'Allow','Principal':" principal ",'Action':'s3:GetObject','Resource':'arn:aws:s3:::photos/*'}"
#define STMT(effect, action, resource, cond) \
    "{'Effect':'" effect "','Principal':'*','Action':" action ",'Resource':" resource cond "}"
#define OBJS "'arn:aws:s3:::photos/*'"
#define ALL "['arn:aws:s3:::photos','arn:aws:s3:::photos/*']"
#define ALLOW_IF(cond) P("[" STMT("Allow", "'s3:*'", ALL, ",'Condition':" cond) "]")
#define DENY_IF(cond) P("[" STMT("Allow", "'s3:*'", ALL, "") "," STMT("Deny", "'s3:*'", ALL, ",'Condition':" cond) "]")

typedef struct ecase {
    const char *name;
    const char *policy;
    int who;
    const char *action;
    const char *key;  /* object key; NULL: the bucket itself */
    const char *ip;   /* NULL: unknown */
    int tls;
    const char *time; /* ISO 8601, NULL: no time */
    const char *keys; /* "name=v1|v2;name2=v" ("name=" lists the key with no values) */
    hf_access_t want;
} ecase_t;

#define A HF_ACCESS_ALLOW
#define D HF_ACCESS_DENY
#define N HF_ACCESS_NONE

static const ecase_t eval_cases[] = {
    /* ---- Principal ---- */
    {"star principal allows anonymous", P("[" ALLOW_GET("'*'") "]"), ANON, "s3:GetObject", "a.jpg", NULL, 0, NULL, NULL, A},
    {"star principal, other action", P("[" ALLOW_GET("'*'") "]"), ANON, "s3:PutObject", "a.jpg", NULL, 0, NULL, NULL, N},
    {"AWS star allows anonymous", P("[" ALLOW_GET("{'AWS':'*'}") "]"), ANON, "s3:GetObject", "a.jpg", NULL, 0, NULL, NULL, A},
    {"AWS star allows users", P("[" ALLOW_GET("{'AWS':['*']}") "]"), CAROL, "s3:GetObject", "a.jpg", NULL, 0, NULL, NULL, A},
    {"user ARN: that user", P("[" ALLOW_GET("{'AWS':'arn:aws:iam::111122223333:user/alice'}") "]"), ALICE, "s3:GetObject", "a", NULL, 0, NULL, NULL, A},
    {"user ARN: other user", P("[" ALLOW_GET("{'AWS':'arn:aws:iam::111122223333:user/alice'}") "]"), BOB, "s3:GetObject", "a", NULL, 0, NULL, NULL, N},
    {"user ARN: not anonymous", P("[" ALLOW_GET("{'AWS':'arn:aws:iam::111122223333:user/alice'}") "]"), ANON, "s3:GetObject", "a", NULL, 0, NULL, NULL, N},
    {"user ARN with a path", P("[" ALLOW_GET("{'AWS':'arn:aws:iam::111122223333:user/team/bob'}") "]"), BOB, "s3:GetObject", "a", NULL, 0, NULL, NULL, A},
    {"account id: its users", P("[" ALLOW_GET("{'AWS':'111122223333'}") "]"), BOB, "s3:GetObject", "a", NULL, 0, NULL, NULL, A},
    {"account id: other account", P("[" ALLOW_GET("{'AWS':'111122223333'}") "]"), CAROL, "s3:GetObject", "a", NULL, 0, NULL, NULL, N},
    {"account id: not anonymous", P("[" ALLOW_GET("{'AWS':'111122223333'}") "]"), ANON, "s3:GetObject", "a", NULL, 0, NULL, NULL, N},
    {"account root ARN: root", P("[" ALLOW_GET("{'AWS':'arn:aws:iam::111122223333:root'}") "]"), ROOT, "s3:GetObject", "a", NULL, 0, NULL, NULL, A},
    {"account root ARN: its users", P("[" ALLOW_GET("{'AWS':'arn:aws:iam::111122223333:root'}") "]"), ALICE, "s3:GetObject", "a", NULL, 0, NULL, NULL, A},
    {"canonical user", P("[" ALLOW_GET("{'CanonicalUser':'" ALICE_ID "'}") "]"), ALICE, "s3:GetObject", "a", NULL, 0, NULL, NULL, A},
    {"canonical user, upper-case hex", P("[" ALLOW_GET("{'CanonicalUser':'79A59DF900B949E55D96A1E698FBACEDFD6E09D98EACF8F8D5218E7CD47EF2BE'}") "]"), ALICE, "s3:GetObject", "a", NULL, 0, NULL, NULL, A},
    {"canonical user: someone else", P("[" ALLOW_GET("{'CanonicalUser':'" ALICE_ID "'}") "]"), BOB, "s3:GetObject", "a", NULL, 0, NULL, NULL, N},
    {"principal list", P("[" ALLOW_GET("{'AWS':['arn:aws:iam::444455556666:user/carol','arn:aws:iam::111122223333:user/alice']}") "]"), ALICE, "s3:GetObject", "a", NULL, 0, NULL, NULL, A},
    {"service principal matches no user", P("[" ALLOW_GET("{'Service':'logging.s3.amazonaws.com'}") "]"), ALICE, "s3:GetObject", "a", NULL, 0, NULL, NULL, N},

    /* ---- NotPrincipal (Deny only; every identity must be listed) ---- */
#define NOTPR(list) P("[" STMT("Allow", "'s3:*'", ALL, "") ",{'Effect':'Deny','NotPrincipal':" list ",'Action':'s3:*','Resource':" ALL "}]")
    {"NotPrincipal: user and account listed", NOTPR("{'AWS':['arn:aws:iam::111122223333:user/alice','arn:aws:iam::111122223333:root']}"), ALICE, "s3:GetObject", "a", NULL, 0, NULL, NULL, A},
    {"NotPrincipal: other user of the account denied", NOTPR("{'AWS':['arn:aws:iam::111122223333:user/alice','arn:aws:iam::111122223333:root']}"), BOB, "s3:GetObject", "a", NULL, 0, NULL, NULL, D},
    {"NotPrincipal: account root excepted", NOTPR("{'AWS':['arn:aws:iam::111122223333:user/alice','111122223333']}"), ROOT, "s3:GetObject", "a", NULL, 0, NULL, NULL, A},
    {"NotPrincipal: anonymous denied", NOTPR("{'AWS':['arn:aws:iam::111122223333:user/alice','111122223333']}"), ANON, "s3:GetObject", "a", NULL, 0, NULL, NULL, D},
    {"NotPrincipal: user without its account denied", NOTPR("{'AWS':'arn:aws:iam::111122223333:user/alice'}"), ALICE, "s3:GetObject", "a", NULL, 0, NULL, NULL, D},
    {"NotPrincipal: account alone does not except its users", NOTPR("{'AWS':'111122223333'}"), BOB, "s3:GetObject", "a", NULL, 0, NULL, NULL, D},
    {"NotPrincipal: canonical id excepts", NOTPR("{'CanonicalUser':'" ALICE_ID "'}"), ALICE, "s3:GetObject", "a", NULL, 0, NULL, NULL, A},
    {"NotPrincipal: star excepts everyone", NOTPR("'*'"), ANON, "s3:GetObject", "a", NULL, 0, NULL, NULL, A},

    /* ---- Action ---- */
    {"action wildcard *", P("[" STMT("Allow", "'s3:Get*'", OBJS, "") "]"), ANON, "s3:GetObject", "a", NULL, 0, NULL, NULL, A},
    {"action wildcard * no match", P("[" STMT("Allow", "'s3:Get*'", OBJS, "") "]"), ANON, "s3:PutObject", "a", NULL, 0, NULL, NULL, N},
    {"action wildcard ?", P("[" STMT("Allow", "'s3:Get?bject'", OBJS, "") "]"), ANON, "s3:GetObject", "a", NULL, 0, NULL, NULL, A},
    {"action wildcard ? is one character", P("[" STMT("Allow", "'s3:GetObjec?'", OBJS, "") "]"), ANON, "s3:GetObjectAcl", "a", NULL, 0, NULL, NULL, N},
    {"action names ignore case", P("[" STMT("Allow", "'S3:GETOBJECT'", OBJS, "") "]"), ANON, "s3:GetObject", "a", NULL, 0, NULL, NULL, A},
    {"action * is every action", P("[" STMT("Allow", "'*'", ALL, "") "]"), ANON, "s3:DeleteBucket", NULL, NULL, 0, NULL, NULL, A},
    {"action list", P("[" STMT("Allow", "['s3:PutObject','s3:GetObject']", OBJS, "") "]"), ANON, "s3:GetObject", "a", NULL, 0, NULL, NULL, A},
    {"NotAction allows the rest", P("[" "{'Effect':'Allow','Principal':'*','NotAction':'s3:DeleteObject','Resource':" ALL "}" "]"), ANON, "s3:GetObject", "a", NULL, 0, NULL, NULL, A},
    {"NotAction excludes its own", P("[" "{'Effect':'Allow','Principal':'*','NotAction':'s3:DeleteObject','Resource':" ALL "}" "]"), ANON, "s3:DeleteObject", "a", NULL, 0, NULL, NULL, N},
    {"Deny NotAction", P("[" STMT("Allow", "'s3:*'", ALL, "") ",{'Effect':'Deny','Principal':'*','NotAction':['s3:Get*','s3:List*'],'Resource':" ALL "}]"), ALICE, "s3:PutObject", "a", NULL, 0, NULL, NULL, D},
    {"Deny NotAction lets the listed through", P("[" STMT("Allow", "'s3:*'", ALL, "") ",{'Effect':'Deny','Principal':'*','NotAction':['s3:Get*','s3:List*'],'Resource':" ALL "}]"), ALICE, "s3:ListBucket", NULL, NULL, 0, NULL, NULL, A},

    /* ---- Resource ---- */
    {"resource names are case-sensitive", P("[" STMT("Allow", "'s3:GetObject'", "'arn:aws:s3:::photos/Public/*'", "") "]"), ANON, "s3:GetObject", "public/a", NULL, 0, NULL, NULL, N},
    {"resource exact case", P("[" STMT("Allow", "'s3:GetObject'", "'arn:aws:s3:::photos/Public/*'", "") "]"), ANON, "s3:GetObject", "Public/a", NULL, 0, NULL, NULL, A},
    {"resource * crosses /", P("[" STMT("Allow", "'s3:GetObject'", "'arn:aws:s3:::photos/*.jpg'", "") "]"), ANON, "s3:GetObject", "a/b/c.jpg", NULL, 0, NULL, NULL, A},
    {"resource * suffix mismatch", P("[" STMT("Allow", "'s3:GetObject'", "'arn:aws:s3:::photos/*.jpg'", "") "]"), ANON, "s3:GetObject", "c.jpg.png", NULL, 0, NULL, NULL, N},
    {"resource ? one character", P("[" STMT("Allow", "'s3:GetObject'", "'arn:aws:s3:::photos/img?.png'", "") "]"), ANON, "s3:GetObject", "img7.png", NULL, 0, NULL, NULL, A},
    {"resource ? not two", P("[" STMT("Allow", "'s3:GetObject'", "'arn:aws:s3:::photos/img?.png'", "") "]"), ANON, "s3:GetObject", "img17.png", NULL, 0, NULL, NULL, N},
    {"resource ? not zero", P("[" STMT("Allow", "'s3:GetObject'", "'arn:aws:s3:::photos/img?.png'", "") "]"), ANON, "s3:GetObject", "img.png", NULL, 0, NULL, NULL, N},
    {"resource several stars", P("[" STMT("Allow", "'s3:GetObject'", "'arn:aws:s3:::photos/*/raw/*'", "") "]"), ANON, "s3:GetObject", "2024/05/raw/x.cr2", NULL, 0, NULL, NULL, A},
    {"bucket ARN for bucket actions", P("[" STMT("Allow", "'s3:ListBucket'", "'arn:aws:s3:::photos'", "") "]"), ANON, "s3:ListBucket", NULL, NULL, 0, NULL, NULL, A},
    {"objects ARN does not name the bucket", P("[" STMT("Allow", "'s3:*'", OBJS, "") "]"), ANON, "s3:ListBucket", NULL, NULL, 0, NULL, NULL, N},
    {"bucket ARN does not name objects", P("[" STMT("Allow", "'s3:*'", "'arn:aws:s3:::photos'", "") "]"), ANON, "s3:GetObject", "a", NULL, 0, NULL, NULL, N},
    {"NotResource allows the rest", P("[" "{'Effect':'Allow','Principal':'*','Action':'s3:GetObject','NotResource':'arn:aws:s3:::photos/private/*'}" "]"), ANON, "s3:GetObject", "public/a", NULL, 0, NULL, NULL, A},
    {"NotResource excludes its own", P("[" "{'Effect':'Allow','Principal':'*','Action':'s3:GetObject','NotResource':'arn:aws:s3:::photos/private/*'}" "]"), ANON, "s3:GetObject", "private/a", NULL, 0, NULL, NULL, N},
    {"Deny NotResource", P("[" STMT("Allow", "'s3:*'", ALL, "") ",{'Effect':'Deny','Principal':'*','Action':'s3:PutObject','NotResource':'arn:aws:s3:::photos/uploads/*'}]"), ALICE, "s3:PutObject", "elsewhere", NULL, 0, NULL, NULL, D},

    /* ---- Effect ---- */
    {"deny wins over allow", P("[" STMT("Allow", "'s3:*'", ALL, "") "," STMT("Deny", "'s3:DeleteObject'", OBJS, "") "]"), ALICE, "s3:DeleteObject", "a", NULL, 0, NULL, NULL, D},
    {"deny wins whatever the order", P("[" STMT("Deny", "'s3:DeleteObject'", OBJS, "") "," STMT("Allow", "'s3:*'", ALL, "") "]"), ALICE, "s3:DeleteObject", "a", NULL, 0, NULL, NULL, D},
    {"deny of another action leaves allow", P("[" STMT("Allow", "'s3:*'", ALL, "") "," STMT("Deny", "'s3:DeleteObject'", OBJS, "") "]"), ALICE, "s3:GetObject", "a", NULL, 0, NULL, NULL, A},
    {"deny alone is deny", P("[" STMT("Deny", "'s3:*'", ALL, "") "]"), ALICE, "s3:GetObject", "a", NULL, 0, NULL, NULL, D},
    {"single statement object", "{'Statement':{'Effect':'Allow','Principal':'*','Action':'s3:GetObject','Resource':'arn:aws:s3:::photos/*'}}", ANON, "s3:GetObject", "a", NULL, 0, NULL, NULL, A},

    /* ---- String operators ---- */
    {"StringEquals", ALLOW_IF("{'StringEquals':{'s3:prefix':'home/'}}"), ANON, "s3:ListBucket", NULL, NULL, 0, NULL, "s3:prefix=home/", A},
    {"StringEquals is case-sensitive", ALLOW_IF("{'StringEquals':{'s3:prefix':'home/'}}"), ANON, "s3:ListBucket", NULL, NULL, 0, NULL, "s3:prefix=Home/", N},
    {"StringEquals on a missing key", ALLOW_IF("{'StringEquals':{'s3:prefix':'home/'}}"), ANON, "s3:ListBucket", NULL, NULL, 0, NULL, NULL, N},
    {"StringEquals * is literal", ALLOW_IF("{'StringEquals':{'s3:prefix':'home/*'}}"), ANON, "s3:ListBucket", NULL, NULL, 0, NULL, "s3:prefix=home/x", N},
    {"StringNotEquals", ALLOW_IF("{'StringNotEquals':{'s3:prefix':'secret/'}}"), ANON, "s3:ListBucket", NULL, NULL, 0, NULL, "s3:prefix=public/", A},
    {"StringNotEquals equal", ALLOW_IF("{'StringNotEquals':{'s3:prefix':'secret/'}}"), ANON, "s3:ListBucket", NULL, NULL, 0, NULL, "s3:prefix=secret/", N},
    {"StringNotEquals on a missing key is true", ALLOW_IF("{'StringNotEquals':{'s3:prefix':'secret/'}}"), ANON, "s3:ListBucket", NULL, NULL, 0, NULL, NULL, A},
    {"StringNotEquals with several values is none of them", ALLOW_IF("{'StringNotEquals':{'s3:x-amz-acl':['public-read','public-read-write']}}"), ANON, "s3:PutObject", "a", NULL, 0, NULL, "s3:x-amz-acl=public-read-write", N},
    {"StringEqualsIgnoreCase", ALLOW_IF("{'StringEqualsIgnoreCase':{'s3:x-amz-acl':'PRIVATE'}}"), ANON, "s3:PutObject", "a", NULL, 0, NULL, "s3:x-amz-acl=private", A},
    {"StringEqualsIgnoreCase different", ALLOW_IF("{'StringEqualsIgnoreCase':{'s3:x-amz-acl':'PRIVATE'}}"), ANON, "s3:PutObject", "a", NULL, 0, NULL, "s3:x-amz-acl=public-read", N},
    {"StringNotEqualsIgnoreCase", ALLOW_IF("{'StringNotEqualsIgnoreCase':{'s3:x-amz-acl':'PUBLIC-READ'}}"), ANON, "s3:PutObject", "a", NULL, 0, NULL, "s3:x-amz-acl=public-read", N},
    {"StringLike *", ALLOW_IF("{'StringLike':{'s3:prefix':'home/*'}}"), ANON, "s3:ListBucket", NULL, NULL, 0, NULL, "s3:prefix=home/a/b", A},
    {"StringLike * needs the literal part", ALLOW_IF("{'StringLike':{'s3:prefix':'home/*'}}"), ANON, "s3:ListBucket", NULL, NULL, 0, NULL, "s3:prefix=homes", N},
    {"StringLike ?", ALLOW_IF("{'StringLike':{'s3:prefix':'v?/'}}"), ANON, "s3:ListBucket", NULL, NULL, 0, NULL, "s3:prefix=v2/", A},
    {"StringLike is case-sensitive", ALLOW_IF("{'StringLike':{'s3:prefix':'home/*'}}"), ANON, "s3:ListBucket", NULL, NULL, 0, NULL, "s3:prefix=HOME/a", N},
    {"StringNotLike", ALLOW_IF("{'StringNotLike':{'s3:prefix':'private/*'}}"), ANON, "s3:ListBucket", NULL, NULL, 0, NULL, "s3:prefix=private/x", N},
    {"StringNotLike on a missing key is true", ALLOW_IF("{'StringNotLike':{'s3:prefix':'private/*'}}"), ANON, "s3:ListBucket", NULL, NULL, 0, NULL, NULL, A},
    {"values of one key are ORed", ALLOW_IF("{'StringEquals':{'s3:x-amz-acl':['private','bucket-owner-full-control']}}"), ANON, "s3:PutObject", "a", NULL, 0, NULL, "s3:x-amz-acl=bucket-owner-full-control", A},
    {"keys of one operator are ANDed", ALLOW_IF("{'StringEquals':{'s3:prefix':'a/','s3:delimiter':'/'}}"), ANON, "s3:ListBucket", NULL, NULL, 0, NULL, "s3:prefix=a/", N},
    {"keys of one operator, both", ALLOW_IF("{'StringEquals':{'s3:prefix':'a/','s3:delimiter':'/'}}"), ANON, "s3:ListBucket", NULL, NULL, 0, NULL, "s3:prefix=a/;s3:delimiter=/", A},
    {"operators are ANDed", ALLOW_IF("{'StringEquals':{'s3:prefix':'a/'},'NumericLessThanEquals':{'s3:max-keys':'100'}}"), ANON, "s3:ListBucket", NULL, NULL, 0, NULL, "s3:prefix=a/;s3:max-keys=1000", N},
    {"operators are ANDed, both", ALLOW_IF("{'StringEquals':{'s3:prefix':'a/'},'NumericLessThanEquals':{'s3:max-keys':'100'}}"), ANON, "s3:ListBucket", NULL, NULL, 0, NULL, "s3:prefix=a/;s3:max-keys=100", A},
    {"condition key names ignore case", ALLOW_IF("{'StringEquals':{'S3:PREFIX':'a/'}}"), ANON, "s3:ListBucket", NULL, NULL, 0, NULL, "s3:prefix=a/", A},
    {"tag key after / is case-sensitive", ALLOW_IF("{'StringEquals':{'s3:existingobjecttag/Project':'x'}}"), ANON, "s3:GetObject", "a", NULL, 0, NULL, "s3:ExistingObjectTag/Project=x", A},
    {"tag key of another case is another tag", ALLOW_IF("{'StringEquals':{'s3:ExistingObjectTag/Project':'x'}}"), ANON, "s3:GetObject", "a", NULL, 0, NULL, "s3:ExistingObjectTag/project=x", N},
    {"numbers and booleans as string values", ALLOW_IF("{'StringEquals':{'s3:max-keys':10}}"), ANON, "s3:ListBucket", NULL, NULL, 0, NULL, "s3:max-keys=10", A},

    /* ---- Numeric ---- */
    {"NumericLessThan", ALLOW_IF("{'NumericLessThan':{'s3:max-keys':'10'}}"), ANON, "s3:ListBucket", NULL, NULL, 0, NULL, "s3:max-keys=9", A},
    {"NumericLessThan equal", ALLOW_IF("{'NumericLessThan':{'s3:max-keys':'10'}}"), ANON, "s3:ListBucket", NULL, NULL, 0, NULL, "s3:max-keys=10", N},
    {"NumericLessThanEquals", ALLOW_IF("{'NumericLessThanEquals':{'s3:max-keys':10}}"), ANON, "s3:ListBucket", NULL, NULL, 0, NULL, "s3:max-keys=10", A},
    {"NumericGreaterThan", ALLOW_IF("{'NumericGreaterThan':{'s3:max-keys':'10'}}"), ANON, "s3:ListBucket", NULL, NULL, 0, NULL, "s3:max-keys=10", N},
    {"NumericGreaterThanEquals", ALLOW_IF("{'NumericGreaterThanEquals':{'s3:max-keys':'10'}}"), ANON, "s3:ListBucket", NULL, NULL, 0, NULL, "s3:max-keys=10", A},
    {"NumericEquals decimal", ALLOW_IF("{'NumericEquals':{'s3:max-keys':'2.50'}}"), ANON, "s3:ListBucket", NULL, NULL, 0, NULL, "s3:max-keys=2.5", A},
    {"NumericNotEquals", ALLOW_IF("{'NumericNotEquals':{'s3:max-keys':'7'}}"), ANON, "s3:ListBucket", NULL, NULL, 0, NULL, "s3:max-keys=7", N},
    {"NumericNotEquals on a missing key is true", ALLOW_IF("{'NumericNotEquals':{'s3:max-keys':'7'}}"), ANON, "s3:ListBucket", NULL, NULL, 0, NULL, NULL, A},
    {"Numeric with a non-number in the request", ALLOW_IF("{'NumericLessThan':{'s3:max-keys':'10'}}"), ANON, "s3:ListBucket", NULL, NULL, 0, NULL, "s3:max-keys=five", N},
    {"negative numbers", ALLOW_IF("{'NumericLessThan':{'s3:object-lock-remaining-retention-days':'-1'}}"), ANON, "s3:PutObject", "a", NULL, 0, NULL, "s3:object-lock-remaining-retention-days=-3", A},

    /* ---- Date ---- */
    {"DateLessThan CurrentTime", ALLOW_IF("{'DateLessThan':{'aws:CurrentTime':'2030-01-01T00:00:00Z'}}"), ANON, "s3:GetObject", "a", NULL, 0, "2029-12-31T23:59:59Z", NULL, A},
    {"DateLessThan at the instant", ALLOW_IF("{'DateLessThan':{'aws:CurrentTime':'2030-01-01T00:00:00Z'}}"), ANON, "s3:GetObject", "a", NULL, 0, "2030-01-01T00:00:00Z", NULL, N},
    {"DateLessThanEquals at the instant", ALLOW_IF("{'DateLessThanEquals':{'aws:CurrentTime':'2030-01-01T00:00:00Z'}}"), ANON, "s3:GetObject", "a", NULL, 0, "2030-01-01T00:00:00Z", NULL, A},
    {"DateGreaterThan", ALLOW_IF("{'DateGreaterThan':{'aws:CurrentTime':'2030-01-01'}}"), ANON, "s3:GetObject", "a", NULL, 0, "2030-01-01T00:00:01Z", NULL, A},
    {"DateGreaterThanEquals date only", ALLOW_IF("{'DateGreaterThanEquals':{'aws:CurrentTime':'2030-01-02'}}"), ANON, "s3:GetObject", "a", NULL, 0, "2030-01-01T23:59:59Z", NULL, N},
    {"Date with a zone offset", ALLOW_IF("{'DateLessThan':{'aws:CurrentTime':'2030-01-01T02:00+02:00'}}"), ANON, "s3:GetObject", "a", NULL, 0, "2029-12-31T23:59:00Z", NULL, A},
    {"Date with a zone offset, after", ALLOW_IF("{'DateLessThan':{'aws:CurrentTime':'2030-01-01T02:00+02:00'}}"), ANON, "s3:GetObject", "a", NULL, 0, "2030-01-01T00:00:00Z", NULL, N},
    {"DateEquals epoch seconds", ALLOW_IF("{'DateEquals':{'aws:CurrentTime':'1893456000'}}"), ANON, "s3:GetObject", "a", NULL, 0, "2030-01-01T00:00:00Z", NULL, A},
    {"DateNotEquals", ALLOW_IF("{'DateNotEquals':{'aws:CurrentTime':1893456000}}"), ANON, "s3:GetObject", "a", NULL, 0, "2030-01-01T00:00:00Z", NULL, N},
    {"Date on a caller key", ALLOW_IF("{'DateLessThanEquals':{'s3:object-lock-retain-until-date':'2030-06-01T00:00:00.000Z'}}"), ANON, "s3:PutObject", "a", NULL, 0, NULL, "s3:object-lock-retain-until-date=2030-05-01T12:00:00Z", A},
    {"Date without a time in the request", ALLOW_IF("{'DateLessThan':{'aws:CurrentTime':'2030-01-01T00:00:00Z'}}"), ANON, "s3:GetObject", "a", NULL, 0, NULL, NULL, N},
    {"EpochTime is numeric", ALLOW_IF("{'NumericLessThan':{'aws:EpochTime':'1893456000'}}"), ANON, "s3:GetObject", "a", NULL, 0, "2029-12-31T23:59:59Z", NULL, A},

    /* ---- Bool ---- */
    {"Bool: deny plain HTTP", DENY_IF("{'Bool':{'aws:SecureTransport':'false'}}"), ALICE, "s3:GetObject", "a", NULL, 0, NULL, NULL, D},
    {"Bool: TLS passes", DENY_IF("{'Bool':{'aws:SecureTransport':'false'}}"), ALICE, "s3:GetObject", "a", NULL, 1, NULL, NULL, A},
    {"Bool JSON value, any case", ALLOW_IF("{'Bool':{'aws:SecureTransport':true}}"), ALICE, "s3:GetObject", "a", NULL, 1, NULL, NULL, A},
    {"Bool on a caller key", ALLOW_IF("{'Bool':{'aws:MultiFactorAuthPresent':'TRUE'}}"), ALICE, "s3:GetObject", "a", NULL, 0, NULL, "aws:MultiFactorAuthPresent=true", A},

    /* ---- IpAddress ---- */
#define IP_IF(cidr) ALLOW_IF("{'IpAddress':{'aws:SourceIp':" cidr "}}")
    {"CIDR: inside", IP_IF("'192.0.2.0/24'"), ANON, "s3:GetObject", "a", "192.0.2.77", 0, NULL, NULL, A},
    {"CIDR: last address", IP_IF("'192.0.2.0/24'"), ANON, "s3:GetObject", "a", "192.0.2.255", 0, NULL, NULL, A},
    {"CIDR: one above", IP_IF("'192.0.2.0/24'"), ANON, "s3:GetObject", "a", "192.0.3.0", 0, NULL, NULL, N},
    {"CIDR: one below", IP_IF("'192.0.2.0/24'"), ANON, "s3:GetObject", "a", "192.0.1.255", 0, NULL, NULL, N},
    {"CIDR /20: last inside", IP_IF("'10.0.0.0/20'"), ANON, "s3:GetObject", "a", "10.0.15.255", 0, NULL, NULL, A},
    {"CIDR /20: first outside", IP_IF("'10.0.0.0/20'"), ANON, "s3:GetObject", "a", "10.0.16.0", 0, NULL, NULL, N},
    {"CIDR /32", IP_IF("'203.0.113.9/32'"), ANON, "s3:GetObject", "a", "203.0.113.9", 0, NULL, NULL, A},
    {"CIDR /32 neighbour", IP_IF("'203.0.113.9/32'"), ANON, "s3:GetObject", "a", "203.0.113.8", 0, NULL, NULL, N},
    {"bare address", IP_IF("'203.0.113.9'"), ANON, "s3:GetObject", "a", "203.0.113.9", 0, NULL, NULL, A},
    {"CIDR /0 is every IPv4 address", IP_IF("'0.0.0.0/0'"), ANON, "s3:GetObject", "a", "255.255.255.255", 0, NULL, NULL, A},
    {"IPv4 block never matches IPv6", IP_IF("'0.0.0.0/0'"), ANON, "s3:GetObject", "a", "2001:db8::1", 0, NULL, NULL, N},
    {"IPv6 block", IP_IF("'2001:DB8:1234::/48'"), ANON, "s3:GetObject", "a", "2001:db8:1234:ffff::1", 0, NULL, NULL, A},
    {"IPv6 block outside", IP_IF("'2001:DB8:1234::/48'"), ANON, "s3:GetObject", "a", "2001:db8:1235::", 0, NULL, NULL, N},
    {"IPv6 /127 edge inside", IP_IF("'2001:db8::/127'"), ANON, "s3:GetObject", "a", "2001:db8::1", 0, NULL, NULL, A},
    {"IPv6 /127 edge outside", IP_IF("'2001:db8::/127'"), ANON, "s3:GetObject", "a", "2001:db8::2", 0, NULL, NULL, N},
    {"IPv4-mapped client address is IPv4", IP_IF("'192.0.2.0/24'"), ANON, "s3:GetObject", "a", "::ffff:192.0.2.1", 0, NULL, NULL, A},
    {"CIDR list ORed", IP_IF("['198.51.100.0/24','192.0.2.0/24']"), ANON, "s3:GetObject", "a", "192.0.2.1", 0, NULL, NULL, A},
    {"IpAddress without a client address", IP_IF("'0.0.0.0/0'"), ANON, "s3:GetObject", "a", NULL, 0, NULL, NULL, N},
    {"NotIpAddress denies outsiders", DENY_IF("{'NotIpAddress':{'aws:SourceIp':'192.0.2.0/24'}}"), ALICE, "s3:GetObject", "a", "198.51.100.1", 0, NULL, NULL, D},
    {"NotIpAddress lets insiders through", DENY_IF("{'NotIpAddress':{'aws:SourceIp':'192.0.2.0/24'}}"), ALICE, "s3:GetObject", "a", "192.0.2.1", 0, NULL, NULL, A},
    {"NotIpAddress on a missing address is true", DENY_IF("{'NotIpAddress':{'aws:SourceIp':'192.0.2.0/24'}}"), ALICE, "s3:GetObject", "a", NULL, 0, NULL, NULL, D},
    {"caller-supplied IP key", ALLOW_IF("{'IpAddress':{'aws:VpcSourceIp':'10.1.0.0/16'}}"), ANON, "s3:GetObject", "a", NULL, 0, NULL, "aws:VpcSourceIp=10.1.2.3", A},

    /* ---- IfExists ---- */
    {"IfExists on a missing key is true", ALLOW_IF("{'StringEqualsIfExists':{'s3:x-amz-acl':'private'}}"), ANON, "s3:PutObject", "a", NULL, 0, NULL, NULL, A},
    {"IfExists on a present key compares", ALLOW_IF("{'StringEqualsIfExists':{'s3:x-amz-acl':'private'}}"), ANON, "s3:PutObject", "a", NULL, 0, NULL, "s3:x-amz-acl=public-read", N},
    {"IfExists matching", ALLOW_IF("{'StringEqualsIfExists':{'s3:x-amz-acl':'private'}}"), ANON, "s3:PutObject", "a", NULL, 0, NULL, "s3:x-amz-acl=private", A},
    {"key listed with no values is missing", ALLOW_IF("{'StringEqualsIfExists':{'s3:x-amz-acl':'private'}}"), ANON, "s3:PutObject", "a", NULL, 0, NULL, "s3:x-amz-acl=", A},
    {"NumericLessThanIfExists missing", ALLOW_IF("{'NumericLessThanIfExists':{'s3:max-keys':'10'}}"), ANON, "s3:ListBucket", NULL, NULL, 0, NULL, NULL, A},
    {"IpAddressIfExists missing", ALLOW_IF("{'IpAddressIfExists':{'aws:SourceIp':'10.0.0.0/8'}}"), ANON, "s3:GetObject", "a", NULL, 0, NULL, NULL, A},
    {"NotIpAddressIfExists present", DENY_IF("{'NotIpAddressIfExists':{'aws:SourceIp':'10.0.0.0/8'}}"), ALICE, "s3:GetObject", "a", "11.0.0.1", 0, NULL, NULL, D},

    /* ---- Null ---- */
    {"Null true: key missing", DENY_IF("{'Null':{'s3:x-amz-server-side-encryption':'true'}}"), ALICE, "s3:PutObject", "a", NULL, 0, NULL, NULL, D},
    {"Null true: key present", DENY_IF("{'Null':{'s3:x-amz-server-side-encryption':'true'}}"), ALICE, "s3:PutObject", "a", NULL, 0, NULL, "s3:x-amz-server-side-encryption=AES256", A},
    {"Null false: key present", ALLOW_IF("{'Null':{'s3:x-amz-server-side-encryption':false}}"), ANON, "s3:PutObject", "a", NULL, 0, NULL, "s3:x-amz-server-side-encryption=AES256", A},
    {"Null false: key missing", ALLOW_IF("{'Null':{'s3:x-amz-server-side-encryption':false}}"), ANON, "s3:PutObject", "a", NULL, 0, NULL, NULL, N},

    /* ---- ForAllValues / ForAnyValue ---- */
#define TAGKEYS(op, vals) ALLOW_IF("{'" op "':{'s3:RequestObjectTagKeys':" vals "}}")
    {"ForAllValues: subset", TAGKEYS("ForAllValues:StringEquals", "['a','b']"), ANON, "s3:PutObject", "k", NULL, 0, NULL, "s3:RequestObjectTagKeys=a", A},
    {"ForAllValues: all of them", TAGKEYS("ForAllValues:StringEquals", "['a','b']"), ANON, "s3:PutObject", "k", NULL, 0, NULL, "s3:RequestObjectTagKeys=b|a", A},
    {"ForAllValues: one outside", TAGKEYS("ForAllValues:StringEquals", "['a','b']"), ANON, "s3:PutObject", "k", NULL, 0, NULL, "s3:RequestObjectTagKeys=a|c", N},
    {"ForAllValues on an empty set is true", TAGKEYS("ForAllValues:StringEquals", "['a','b']"), ANON, "s3:PutObject", "k", NULL, 0, NULL, "s3:RequestObjectTagKeys=", A},
    {"ForAllValues on a missing key is true", TAGKEYS("ForAllValues:StringEquals", "['a','b']"), ANON, "s3:PutObject", "k", NULL, 0, NULL, NULL, A},
    {"ForAllValues:StringLike", TAGKEYS("ForAllValues:StringLike", "'team-*'"), ANON, "s3:PutObject", "k", NULL, 0, NULL, "s3:RequestObjectTagKeys=team-a|team-b", A},
    {"ForAllValues:StringNotEquals: none listed", TAGKEYS("ForAllValues:StringNotEquals", "['secret']"), ANON, "s3:PutObject", "k", NULL, 0, NULL, "s3:RequestObjectTagKeys=a|b", A},
    {"ForAllValues:StringNotEquals: one listed", TAGKEYS("ForAllValues:StringNotEquals", "['secret']"), ANON, "s3:PutObject", "k", NULL, 0, NULL, "s3:RequestObjectTagKeys=a|secret", N},
    {"ForAnyValue: one inside", TAGKEYS("ForAnyValue:StringEquals", "['a','b']"), ANON, "s3:PutObject", "k", NULL, 0, NULL, "s3:RequestObjectTagKeys=c|a", A},
    {"ForAnyValue: none inside", TAGKEYS("ForAnyValue:StringEquals", "['a','b']"), ANON, "s3:PutObject", "k", NULL, 0, NULL, "s3:RequestObjectTagKeys=c|d", N},
    {"ForAnyValue on a missing key is false", TAGKEYS("ForAnyValue:StringEquals", "['a','b']"), ANON, "s3:PutObject", "k", NULL, 0, NULL, NULL, N},
    {"ForAnyValue on an empty set is false", TAGKEYS("ForAnyValue:StringEquals", "['a','b']"), ANON, "s3:PutObject", "k", NULL, 0, NULL, "s3:RequestObjectTagKeys=", N},
    {"ForAnyValue:StringNotLike", TAGKEYS("ForAnyValue:StringNotLike", "'team-*'"), ANON, "s3:PutObject", "k", NULL, 0, NULL, "s3:RequestObjectTagKeys=team-a|x", A},
    {"ForAnyValue IfExists missing", TAGKEYS("ForAnyValue:StringEqualsIfExists", "['a']"), ANON, "s3:PutObject", "k", NULL, 0, NULL, NULL, A},
    {"unqualified operator on several values: any", TAGKEYS("StringEquals", "'a'"), ANON, "s3:PutObject", "k", NULL, 0, NULL, "s3:RequestObjectTagKeys=x|a", A},
    {"unqualified negated operator on several values: none", TAGKEYS("StringNotEquals", "'a'"), ANON, "s3:PutObject", "k", NULL, 0, NULL, "s3:RequestObjectTagKeys=x|a", N},

    /* ---- Arn and Binary ---- */
    {"ArnLike parts", ALLOW_IF("{'ArnLike':{'aws:SourceArn':'arn:aws:sns:*:123456789012:topic-*'}}"), ANON, "s3:PutObject", "k", NULL, 0, NULL, "aws:SourceArn=arn:aws:sns:us-east-1:123456789012:topic-x", A},
    {"ArnLike: a * stays in its part", ALLOW_IF("{'ArnLike':{'aws:SourceArn':'arn:aws:sns:*:123456789012:topic'}}"), ANON, "s3:PutObject", "k", NULL, 0, NULL, "aws:SourceArn=arn:aws:sns:us-east-1:x:123456789012:topic", N},
    {"ArnEquals with wildcard", ALLOW_IF("{'ArnEquals':{'aws:SourceArn':'arn:aws:s3:::log-*'}}"), ANON, "s3:PutObject", "k", NULL, 0, NULL, "aws:SourceArn=arn:aws:s3:::log-bucket", A},
    {"ArnEquals resource part may hold colons", ALLOW_IF("{'ArnEquals':{'aws:SourceArn':'arn:aws:logs:us-east-1:123456789012:log-group:*'}}"), ANON, "s3:PutObject", "k", NULL, 0, NULL, "aws:SourceArn=arn:aws:logs:us-east-1:123456789012:log-group:x:y", A},
    {"ArnNotEquals", ALLOW_IF("{'ArnNotEquals':{'aws:SourceArn':'arn:aws:s3:::log-bucket'}}"), ANON, "s3:PutObject", "k", NULL, 0, NULL, "aws:SourceArn=arn:aws:s3:::log-bucket", N},
    {"Arn against a non-ARN value", ALLOW_IF("{'ArnLike':{'aws:SourceArn':'arn:aws:s3:::*'}}"), ANON, "s3:PutObject", "k", NULL, 0, NULL, "aws:SourceArn=not-an-arn", N},
    {"BinaryEquals", ALLOW_IF("{'BinaryEquals':{'aws:SourceVpce':'aGVsbG8='}}"), ANON, "s3:GetObject", "k", NULL, 0, NULL, "aws:SourceVpce=aGVsbG8=", A},
    {"BinaryEquals different", ALLOW_IF("{'BinaryEquals':{'aws:SourceVpce':'aGVsbG8='}}"), ANON, "s3:GetObject", "k", NULL, 0, NULL, "aws:SourceVpce=d29ybGQ=", N},

    /* ---- derived keys ---- */
    {"aws:PrincipalAccount", ALLOW_IF("{'StringEquals':{'aws:PrincipalAccount':'111122223333'}}"), BOB, "s3:GetObject", "k", NULL, 0, NULL, NULL, A},
    {"aws:PrincipalAccount other", ALLOW_IF("{'StringEquals':{'aws:PrincipalAccount':'111122223333'}}"), CAROL, "s3:GetObject", "k", NULL, 0, NULL, NULL, N},
    {"aws:PrincipalArn", ALLOW_IF("{'ArnLike':{'aws:PrincipalArn':'arn:aws:iam::111122223333:user/team/*'}}"), BOB, "s3:GetObject", "k", NULL, 0, NULL, NULL, A},
    {"aws:PrincipalType anonymous", ALLOW_IF("{'StringEquals':{'aws:PrincipalType':'Anonymous'}}"), ANON, "s3:GetObject", "k", NULL, 0, NULL, NULL, A},
    {"aws:PrincipalType account", ALLOW_IF("{'StringEquals':{'aws:PrincipalType':'Account'}}"), ROOT, "s3:GetObject", "k", NULL, 0, NULL, NULL, A},
    {"aws:userid anonymous", ALLOW_IF("{'StringEquals':{'aws:userid':'anonymous'}}"), ANON, "s3:GetObject", "k", NULL, 0, NULL, NULL, A},
    {"aws:userid of a user", ALLOW_IF("{'StringEquals':{'aws:userid':'AIDAALICE'}}"), ALICE, "s3:GetObject", "k", NULL, 0, NULL, NULL, A},
    {"aws:userid of the root is the account", ALLOW_IF("{'StringEquals':{'aws:userid':'111122223333'}}"), ROOT, "s3:GetObject", "k", NULL, 0, NULL, NULL, A},
    {"aws:username", ALLOW_IF("{'StringEquals':{'aws:username':'bob'}}"), BOB, "s3:GetObject", "k", NULL, 0, NULL, NULL, A},
    {"caller keys shadow derived ones", ALLOW_IF("{'StringEquals':{'aws:username':'bob'}}"), BOB, "s3:GetObject", "k", NULL, 0, NULL, "aws:username=", N},

    /* ---- policy variables ---- */
#define HOME P("[" STMT("Allow", "'s3:GetObject'", "'arn:aws:s3:::photos/home/${aws:username}/*'", "") "]")
    {"variable in Resource", HOME, ALICE, "s3:GetObject", "home/alice/x", NULL, 0, NULL, NULL, A},
    {"variable in Resource, other home", HOME, ALICE, "s3:GetObject", "home/bob/x", NULL, 0, NULL, NULL, N},
    {"variable without a value matches nothing", HOME, ANON, "s3:GetObject", "home//x", NULL, 0, NULL, NULL, N},
    {"variable value is literal, not a wildcard", HOME, ALICE, "s3:GetObject", "home/alice/x", NULL, 0, NULL, "aws:username=*", N},
    {"variable default", P("[" STMT("Allow", "'s3:GetObject'", "'arn:aws:s3:::photos/home/${aws:username, `guest`}/*'", "") "]"), ANON, "s3:GetObject", "home/guest/x", NULL, 0, NULL, NULL, A},
    {"variable default with a quote", P("[" STMT("Allow", "'s3:GetObject'", "'arn:aws:s3:::photos/${aws:username,`it``s`}'", "") "]"), ANON, "s3:GetObject", "it's", NULL, 0, NULL, NULL, A},
    {"${*} is a literal star", P("[" STMT("Allow", "'s3:GetObject'", "'arn:aws:s3:::photos/star${*}'", "") "]"), ANON, "s3:GetObject", "star*", NULL, 0, NULL, NULL, A},
    {"${*} is not a wildcard", P("[" STMT("Allow", "'s3:GetObject'", "'arn:aws:s3:::photos/star${*}'", "") "]"), ANON, "s3:GetObject", "starx", NULL, 0, NULL, NULL, N},
    {"${?} and ${$}", P("[" STMT("Allow", "'s3:GetObject'", "'arn:aws:s3:::photos/${$}${?}'", "") "]"), ANON, "s3:GetObject", "$?", NULL, 0, NULL, NULL, A},
    {"variable in a condition", ALLOW_IF("{'StringLike':{'s3:prefix':'home/${aws:username}/*'}}"), BOB, "s3:ListBucket", NULL, NULL, 0, NULL, "s3:prefix=home/bob/docs", A},
    {"variable in a condition, other user", ALLOW_IF("{'StringLike':{'s3:prefix':'home/${aws:username}/*'}}"), ALICE, "s3:ListBucket", NULL, NULL, 0, NULL, "s3:prefix=home/bob/docs", N},
    {"multivalued key is no variable", ALLOW_IF("{'StringEquals':{'s3:prefix':'${s3:RequestObjectTagKeys}'}}"), ANON, "s3:ListBucket", NULL, NULL, 0, NULL, "s3:prefix=a;s3:RequestObjectTagKeys=a|b", N},
    {"Version 2008-10-17 has no variables", "{'Version':'2008-10-17','Statement':[" STMT("Allow", "'s3:GetObject'", "'arn:aws:s3:::photos/home/${aws:username}/*'", "") "]}", ALICE, "s3:GetObject", "home/alice/x", NULL, 0, NULL, NULL, N},
    {"Version 2008-10-17 reads ${} literally", "{'Version':'2008-10-17','Statement':[" STMT("Allow", "'s3:GetObject'", "'arn:aws:s3:::photos/home/${aws:username}/*'", "") "]}", ALICE, "s3:GetObject", "home/${aws:username}/x", NULL, 0, NULL, NULL, A},
    {"no Version is 2008-10-17", "{'Statement':[" STMT("Allow", "'s3:GetObject'", "'arn:aws:s3:::photos/${aws:username}'", "") "]}", ALICE, "s3:GetObject", "${aws:username}", NULL, 0, NULL, NULL, A},
};

/* Split "k=v1|v2;k2=v" into kvs (static storage per call). */
static size_t build_keys(const char *spec, hf_access_kv_t *kvs, const char **vals, char *buf, size_t cap)
{
    if (!spec)
        return 0;
    snprintf(buf, cap, "%s", spec);
    size_t nk = 0, nv = 0;
    for (char *save = NULL, *item = strtok_r(buf, ";", &save); item; item = strtok_r(NULL, ";", &save)) {
        char *eq = strchr(item, '=');
        *eq = '\0';
        kvs[nk].key = item;
        kvs[nk].values = &vals[nv];
        kvs[nk].nvalues = 0;
        for (char *s2 = NULL, *v = strtok_r(eq + 1, "|", &s2); v; v = strtok_r(NULL, "|", &s2)) {
            vals[nv++] = v;
            kvs[nk].nvalues++;
        }
        nk++;
    }
    return nk;
}

static const char *name_of(hf_access_t a)
{
    return a == HF_ACCESS_ALLOW ? "ALLOW" : a == HF_ACCESS_DENY ? "DENY" : "NONE";
}

static hf_access_t decide(const ecase_t *c, char *err, size_t errlen)
{
    char *json = unquote(c->policy);
    hf_policy_t *p = NULL;
    int rc = hf_policy_parse(json, strlen(json), "photos", &p, err, errlen);
    free(json);
    if (rc != HF_OK)
        return (hf_access_t)-1;
    char arn[2048], kbuf[1024];
    hf_access_kv_t kvs[8];
    const char *vals[16];
    hf_access_req_t r = {.principal = who[c->who], .action = c->action, .secure_transport = c->tls};
    hf_access_resource_arn(arn, sizeof arn, "photos", c->key);
    r.resource = arn;
    if (c->ip && hf_access_ip_parse(c->ip, strlen(c->ip), &r.source_ip) != HF_OK)
        snprintf(err, errlen, "bad test address %s", c->ip);
    if (c->time) {
        int64_t secs = 0;
        hf_time_parse_iso8601(c->time, strlen(c->time), &secs);
        r.now = secs * 1000000000;
    }
    r.nkeys = build_keys(c->keys, kvs, vals, kbuf, sizeof kbuf);
    r.keys = kvs;
    hf_access_t got = hf_policy_eval(p, &r);
    hf_policy_free(p);
    return got;
}

TEST(eval_table)
{
    int bad = 0;
    for (size_t i = 0; i < sizeof eval_cases / sizeof eval_cases[0]; i++) {
        const ecase_t *c = &eval_cases[i];
        char err[512] = "";
        hf_access_t got = decide(c, err, sizeof err);
        if (got == (hf_access_t)-1) {
            printf("    case \"%s\": policy refused: %s\n", c->name, err);
            bad++;
        } else if (got != c->want) {
            printf("    case \"%s\": %s, expected %s\n", c->name, name_of(got), name_of(c->want));
            bad++;
        }
    }
    CHECK_EQ_INT(bad, 0);
}

TEST(null_policy_is_silent)
{
    hf_access_req_t r = {.principal = who[ALICE], .action = "s3:GetObject", .resource = "arn:aws:s3:::photos/a"};
    CHECK_EQ_INT(hf_policy_eval(NULL, &r), HF_ACCESS_NONE);
    CHECK(!hf_policy_is_public(NULL));
    hf_policy_free(NULL);
}

/* ---- malformed policies ---------------------------------------------------------- */

typedef struct mcase {
    const char *policy;
    const char *fragment; /* expected in the message */
} mcase_t;

#define S(x) P("[" x "]")
static const mcase_t malformed[] = {
    {"", "first byte must be '{'"},
    {"   ", "first byte must be '{'"},
    {"['a']", "first byte must be '{'"},
    {"{'Statement':", "valid JSON"},
    {"{'Statement':[],'Statement':[]}", "valid JSON"},
    {"{'Version':'2012-10-17'}", "Missing required field Statement"},
    {P("[]"), "Statement must not be empty"},
    {P("'x'"), "Statement must be an object"},
    {"{'Statement':[" ALLOW_GET("'*'") "],'Extra':1}", "Unknown field \"Extra\""},
    {"{'Version':'2020-01-01','Statement':[" ALLOW_GET("'*'") "]}", "Invalid policy version"},
    {"{'Id':5,'Statement':[" ALLOW_GET("'*'") "]}", "Id must be a string"},
    {S("'x'"), "Each statement must be an object"},
    {S("{'Principal':'*','Action':'s3:GetObject','Resource':" OBJS "}"), "Missing required field Effect"},
    {S("{'Effect':'allow','Principal':'*','Action':'s3:GetObject','Resource':" OBJS "}"), "Invalid effect"},
    {S("{'Effect':'Allow','Principal':'*','Action':'s3:GetObject','Resource':" OBJS ",'Colour':'red'}"), "Unknown field \"Colour\""},
    {S("{'Sid':1,'Effect':'Allow','Principal':'*','Action':'s3:GetObject','Resource':" OBJS "}"), "Sid must be a string"},
    {S("{'Effect':'Allow','Action':'s3:GetObject','Resource':" OBJS "}"), "Missing required field Principal"},
    {S("{'Effect':'Allow','Principal':'alice','Action':'s3:GetObject','Resource':" OBJS "}"), "Invalid principal in policy"},
    {S("{'Effect':'Allow','Principal':{},'Action':'s3:GetObject','Resource':" OBJS "}"), "Invalid principal in policy"},
    {S("{'Effect':'Allow','Principal':{'AWS':'arn:aws:iam::*:root'},'Action':'s3:GetObject','Resource':" OBJS "}"), "Invalid principal in policy"},
    {S("{'Effect':'Allow','Principal':{'AWS':'arn:aws:iam::111122223333:user/a*'},'Action':'s3:GetObject','Resource':" OBJS "}"), "Invalid principal in policy"},
    {S("{'Effect':'Allow','Principal':{'AWS':'12345'},'Action':'s3:GetObject','Resource':" OBJS "}"), "Invalid principal in policy"},
    {S("{'Effect':'Allow','Principal':{'AWS':'arn:aws:iam::111122223333:group/admins'},'Action':'s3:GetObject','Resource':" OBJS "}"), "Invalid principal in policy"},
    {S("{'Effect':'Allow','Principal':{'Group':'x'},'Action':'s3:GetObject','Resource':" OBJS "}"), "unknown principal type"},
    {S("{'Effect':'Allow','Principal':{'CanonicalUser':'abc'},'Action':'s3:GetObject','Resource':" OBJS "}"), "canonical user id is 64 hex digits"},
    {S("{'Effect':'Allow','Principal':{'AWS':[]},'Action':'s3:GetObject','Resource':" OBJS "}"), "must not be an empty array"},
    {S("{'Effect':'Allow','NotPrincipal':{'AWS':'111122223333'},'Action':'s3:GetObject','Resource':" OBJS "}"), "NotPrincipal is supported only"},
    {S("{'Effect':'Deny','Principal':'*','NotPrincipal':{'AWS':'111122223333'},'Action':'s3:GetObject','Resource':" OBJS "}"), "Principal or NotPrincipal, not both"},
    {S("{'Effect':'Allow','Principal':'*','Resource':" OBJS "}"), "Missing required field Action"},
    {S("{'Effect':'Allow','Principal':'*','Action':'s3:GetObject','NotAction':'s3:PutObject','Resource':" OBJS "}"), "Action or NotAction, not both"},
    {S("{'Effect':'Allow','Principal':'*','Action':'iam:GetUser','Resource':" OBJS "}"), "Policy has invalid action \"iam:GetUser\""},
    {S("{'Effect':'Allow','Principal':'*','Action':'s3:GetObjekt','Resource':" OBJS "}"), "Policy has invalid action \"s3:GetObjekt\""},
    {S("{'Effect':'Allow','Principal':'*','Action':'s3:Frobnicate*','Resource':" OBJS "}"), "Policy has invalid action"},
    {S("{'Effect':'Allow','Principal':'*','Action':'GetObject','Resource':" OBJS "}"), "Policy has invalid action"},
    {S("{'Effect':'Allow','Principal':'*','Action':7,'Resource':" OBJS "}"), "Action must be a string or an array of strings"},
    {S("{'Effect':'Allow','Principal':'*','Action':[],'Resource':" OBJS "}"), "Action must not be an empty array"},
    {S("{'Effect':'Allow','Principal':'*','Action':['s3:GetObject',['s3:PutObject']],'Resource':" OBJS "}"), "Action must be a string or an array of strings"},
    {S("{'Effect':'Allow','Principal':'*','Action':'s3:GetObject'}"), "Missing required field Resource"},
    {S("{'Effect':'Allow','Principal':'*','Action':'s3:GetObject','Resource':'arn:aws:s3:::other/*'}"), "Policy has invalid resource"},
    {S("{'Effect':'Allow','Principal':'*','Action':'s3:GetObject','Resource':'arn:aws:s3:::photosx/*'}"), "Policy has invalid resource"},
    {S("{'Effect':'Allow','Principal':'*','Action':'s3:GetObject','Resource':'*'}"), "Policy has invalid resource"},
    {S("{'Effect':'Allow','Principal':'*','Action':'s3:GetObject','Resource':'arn:aws:s3:::'}"), "Policy has invalid resource"},
    {S("{'Effect':'Allow','Principal':'*','Action':'s3:GetObject','Resource':'arn:aws:s3:::${aws:username}/*'}"), "Policy has invalid resource"},
    {S("{'Effect':'Allow','Principal':'*','Action':'s3:GetObject','Resource':'arn:aws:s3:::other*/*'}"), "Policy has invalid resource"},
    {S("{'Effect':'Allow','Principal':'*','Action':'s3:GetObject','Resource':" OBJS ",'NotResource':" OBJS "}"), "Resource or NotResource, not both"},
    {S("{'Effect':'Allow','Principal':'*','Action':'s3:ListBucket','Resource':" OBJS "}"), "Action does not apply to any resource(s) in statement: \"s3:ListBucket\""},
    {S("{'Effect':'Allow','Principal':'*','Action':['s3:GetObject','s3:ListBucket'],'Resource':" OBJS "}"), "Action does not apply to any resource(s) in statement: \"s3:ListBucket\""},
    {S("{'Effect':'Allow','Principal':'*','Action':'s3:GetObject','Resource':'arn:aws:s3:::photos'}"), "Action does not apply to any resource(s) in statement"},
    {S("{'Effect':'Allow','Principal':'*','Action':'s3:ListAllMyBuckets','Resource':" ALL "}"), "Action does not apply to any resource(s) in statement"},
    {S("{'Effect':'Allow','Principal':'*','Action':'s3:CreateJob','Resource':" ALL "}"), "Action does not apply to any resource(s) in statement"},
    {S(STMT("Allow", "'s3:*'", ALL, ",'Condition':'x'")), "Condition must be an object"},
    {S(STMT("Allow", "'s3:*'", ALL, ",'Condition':{'StringEquals':{}}")), "must map condition keys to values"},
    {S(STMT("Allow", "'s3:*'", ALL, ",'Condition':{'StringEqual':{'s3:prefix':'a'}}")), "Invalid condition operator \"StringEqual\""},
    {S(STMT("Allow", "'s3:*'", ALL, ",'Condition':{'ForSomeValues:StringEquals':{'s3:prefix':'a'}}")), "Invalid condition operator"},
    {S(STMT("Allow", "'s3:*'", ALL, ",'Condition':{'NullIfExists':{'s3:prefix':'true'}}")), "Null takes no IfExists"},
    {S(STMT("Allow", "'s3:*'", ALL, ",'Condition':{'ForAllValues:Null':{'s3:prefix':'true'}}")), "Null takes no IfExists"},
    {S(STMT("Allow", "'s3:*'", ALL, ",'Condition':{'StringEquals':{'ec2:Vpc':'a'}}")), "Policy has an invalid condition key \"ec2:Vpc\""},
    {S(STMT("Allow", "'s3:*'", ALL, ",'Condition':{'StringEquals':{'s3:nosuchkey':'a'}}")), "Policy has an invalid condition key"},
    {S(STMT("Allow", "'s3:*'", ALL, ",'Condition':{'StringEquals':{'s3:ExistingObjectTag/':'a'}}")), "Policy has an invalid condition key"},
    {S(STMT("Allow", "'s3:*'", ALL, ",'Condition':{'StringEquals':{'prefix':'a'}}")), "Policy has an invalid condition key"},
    {S(STMT("Allow", "'s3:*'", ALL, ",'Condition':{'StringEquals':{'s3:prefix':[]}}")), "Condition must not be an empty array"},
    {S(STMT("Allow", "'s3:*'", ALL, ",'Condition':{'StringEquals':{'s3:prefix':{'a':1}}}")), "Condition must be a string or an array of strings"},
    {S(STMT("Allow", "'s3:*'", ALL, ",'Condition':{'NumericLessThan':{'s3:max-keys':'ten'}}")), "expected a number"},
    {S(STMT("Allow", "'s3:*'", ALL, ",'Condition':{'NumericLessThan':{'s3:max-keys':'1e3'}}")), "expected a number"},
    {S(STMT("Allow", "'s3:*'", ALL, ",'Condition':{'DateLessThan':{'aws:CurrentTime':'yesterday'}}")), "expected an ISO 8601 date"},
    {S(STMT("Allow", "'s3:*'", ALL, ",'Condition':{'DateLessThan':{'aws:CurrentTime':'2030-02-30'}}")), "expected an ISO 8601 date"},
    {S(STMT("Allow", "'s3:*'", ALL, ",'Condition':{'DateLessThan':{'aws:CurrentTime':'2030-01-01T25:00:00Z'}}")), "expected an ISO 8601 date"},
    {S(STMT("Allow", "'s3:*'", ALL, ",'Condition':{'DateLessThan':{'aws:CurrentTime':'2030-01-01T10:00:00'}}")), "expected an ISO 8601 date"},
    {S(STMT("Allow", "'s3:*'", ALL, ",'Condition':{'Bool':{'aws:SecureTransport':'yes'}}")), "expected true or false"},
    {S(STMT("Allow", "'s3:*'", ALL, ",'Condition':{'Null':{'s3:prefix':'maybe'}}")), "expected true or false"},
    {S(STMT("Allow", "'s3:*'", ALL, ",'Condition':{'IpAddress':{'aws:SourceIp':'300.1.1.1/8'}}")), "expected an IP address or CIDR"},
    {S(STMT("Allow", "'s3:*'", ALL, ",'Condition':{'IpAddress':{'aws:SourceIp':'10.0.0.0/33'}}")), "expected an IP address or CIDR"},
    {S(STMT("Allow", "'s3:*'", ALL, ",'Condition':{'IpAddress':{'aws:SourceIp':'2001:db8::/129'}}")), "expected an IP address or CIDR"},
    {S(STMT("Allow", "'s3:*'", ALL, ",'Condition':{'IpAddress':{'aws:SourceIp':'10.0.0.0/'}}")), "expected an IP address or CIDR"},
    {S(STMT("Allow", "'s3:*'", ALL, ",'Condition':{'BinaryEquals':{'aws:SourceVpce':'not base64!'}}")), "expected base64"},
    {S(STMT("Allow", "'s3:GetObject'", "'arn:aws:s3:::photos/${aws:username'", "")), "\"${\" without \"}\""},
    {S(STMT("Allow", "'s3:GetObject'", "'arn:aws:s3:::photos/${username}'", "")), "Invalid policy variable"},
    {S(STMT("Allow", "'s3:GetObject'", "'arn:aws:s3:::photos/${aws:username, guest}'", "")), "quoted with '"},
    {S(STMT("Allow", "'s3:GetObject'", "'arn:aws:s3:::photos/${aws:username, `guest` x}'", "")), "text after the default value"},
    {S(STMT("Allow", "'s3:GetObject'", "'arn:aws:s3:::photos/${aws:username, `guest}'", "")), "\"${\" without \"}\""},
    {S(STMT("Allow", "'s3:*'", ALL, ",'Condition':{'StringEquals':{'s3:prefix':[[[['a']]]]}}")), "nested deeper"},
    /* The location is named: statement number and Sid. */
    {P("[" ALLOW_GET("'*'") ",{'Sid':'Writers','Effect':'Allow','Principal':'*','Action':'s3:PutObjekt','Resource':" OBJS "}]"), "(statement 2, Sid \"Writers\", Action)"},
    {P("[" ALLOW_GET("'*'") "," ALLOW_GET("'*'") "," STMT("Allow", "'s3:*'", ALL, ",'Condition':{'Foo':{'s3:prefix':'a'}}") "]"), "(statement 3, Condition)"},
};

TEST(malformed_table)
{
    int bad = 0;
    for (size_t i = 0; i < sizeof malformed / sizeof malformed[0]; i++) {
        char *json = unquote(malformed[i].policy);
        char err[512] = "";
        hf_policy_t *p = NULL;
        int rc = hf_policy_parse(json, strlen(json), "photos", &p, err, sizeof err);
        if (rc != HF_E_INVAL || p != NULL || !strstr(err, malformed[i].fragment)) {
            printf("    malformed #%zu %s: rc %d, message \"%s\", expected \"%s\"\n", i, json, rc,
                   err, malformed[i].fragment);
            bad++;
        }
        hf_policy_free(p);
        free(json);
    }
    CHECK_EQ_INT(bad, 0);
}

TEST(size_limit)
{
    /* A valid policy padded with spaces to just over the limit, and to exactly the limit. */
    char *json = unquote(P("[" ALLOW_GET("'*'") "]"));
    size_t n = strlen(json);
    char *big = malloc(HF_POLICY_MAX + 2);
    memcpy(big, json, n - 1);
    memset(big + n - 1, ' ', HF_POLICY_MAX + 1 - n);
    big[HF_POLICY_MAX] = '}';
    char err[256];
    hf_policy_t *p = NULL;
    CHECK_EQ_INT(hf_policy_parse(big, HF_POLICY_MAX + 1, "photos", &p, err, sizeof err), HF_E_TOOBIG);
    CHECK(p == NULL);
    CHECK(strstr(err, "maximum allowed document size") != NULL);
    big[HF_POLICY_MAX - 1] = '}';
    CHECK_EQ_INT(hf_policy_parse(big, HF_POLICY_MAX, "photos", &p, err, sizeof err), HF_OK);
    hf_policy_free(p);
    free(big);
    free(json);
}

TEST(valid_policies_from_the_s3_guide)
{
    /* Shapes of the S3 User Guide's "Bucket policy examples", with names changed. */
    static const char *const ok[] = {
        "{'Version':'2012-10-17','Statement':[{'Sid':'PublicRead','Effect':'Allow','Principal':'*','Action':['s3:GetObject','s3:GetObjectVersion'],'Resource':['arn:aws:s3:::photos/*']}]}",
        "{'Version':'2012-10-17','Id':'S3PolicyId1','Statement':[{'Sid':'IPAllow','Effect':'Deny','Principal':'*','Action':'s3:*','Resource':['arn:aws:s3:::photos','arn:aws:s3:::photos/*'],'Condition':{'NotIpAddress':{'aws:SourceIp':'192.0.2.0/24'}}}]}",
        "{'Version':'2012-10-17','Statement':[{'Sid':'AllowSSLRequestsOnly','Action':'s3:*','Effect':'Deny','Resource':['arn:aws:s3:::photos','arn:aws:s3:::photos/*'],'Condition':{'Bool':{'aws:SecureTransport':'false'}},'Principal':'*'}]}",
        "{'Version':'2012-10-17','Statement':[{'Effect':'Allow','Principal':{'AWS':['arn:aws:iam::111122223333:root']},'Action':['s3:PutObject','s3:PutObjectAcl'],'Resource':'arn:aws:s3:::photos/*','Condition':{'StringEquals':{'s3:x-amz-acl':['public-read']}}}]}",
        "{'Version':'2012-10-17','Statement':[{'Sid':'DenyObjectsThatAreNotSSEKMS','Principal':'*','Effect':'Deny','Action':'s3:PutObject','Resource':'arn:aws:s3:::photos/*','Condition':{'Null':{'s3:x-amz-server-side-encryption-aws-kms-key-id':'true'}}}]}",
        "{'Version':'2012-10-17','Statement':[{'Effect':'Allow','Principal':{'AWS':'arn:aws:iam::111122223333:user/Dave'},'Action':'s3:ListBucket','Resource':'arn:aws:s3:::photos','Condition':{'StringLike':{'s3:prefix':['home/${aws:username}/*','home/${aws:username}']}}},{'Effect':'Allow','Principal':{'AWS':'arn:aws:iam::111122223333:user/Dave'},'Action':'s3:*','Resource':'arn:aws:s3:::photos/home/${aws:username}/*'}]}",
        "{'Version':'2012-10-17','Statement':[{'Effect':'Allow','Principal':{'Service':'logging.s3.amazonaws.com'},'Action':['s3:PutObject'],'Resource':'arn:aws:s3:::photos/logs/*','Condition':{'ArnLike':{'aws:SourceArn':'arn:aws:s3:::photos'},'StringEquals':{'aws:SourceAccount':'111122223333'}}}]}",
        "{'Version':'2012-10-17','Statement':[{'Effect':'Deny','Principal':'*','Action':'s3:PutObject','Resource':'arn:aws:s3:::photos/*','Condition':{'ForAnyValue:StringNotEquals':{'s3:RequestObjectTagKeys':['Owner','CreationDate']}}}]}",
        "{'Version':'2012-10-17','Statement':[{'Effect':'Allow','Principal':'*','Action':'s3:Get*','Resource':'arn:aws:s3:::photos'}]}",
        "{'Version':'2012-10-17','Statement':[{'Effect':'Allow','Principal':'*','Action':'s3:*','Resource':'arn:aws:s3:::photo*'}]}",
        "{'Version':'2012-10-17','Statement':[{'Effect':'Allow','Principal':'*','Action':'s3:*','Resource':'arn:aws:s3:::*'}]}",
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        char *json = unquote(ok[i]);
        char err[512] = "";
        hf_policy_t *p = NULL;
        int rc = hf_policy_parse(json, strlen(json), "photos", &p, err, sizeof err);
        if (rc != HF_OK)
            printf("    valid #%zu refused: %s\n", i, err);
        CHECK_EQ_INT(rc, HF_OK);
        hf_policy_free(p);
        free(json);
    }
}

/* ---- public or not ------------------------------------------------------------- */

typedef struct pcase {
    const char *policy;
    bool public_;
} pcase_t;

#define PUB_IF(cond) P("[" STMT("Allow", "'s3:GetObject'", OBJS, ",'Condition':" cond) "]")
static const pcase_t public_cases[] = {
    {P("[" ALLOW_GET("'*'") "]"), true},
    {P("[" ALLOW_GET("{'AWS':'*'}") "]"), true},
    {P("[" ALLOW_GET("{'AWS':['arn:aws:iam::111122223333:root','*']}") "]"), true},
    {P("[" ALLOW_GET("{'AWS':'arn:aws:iam::111122223333:root'}") "]"), false},
    {P("[" ALLOW_GET("{'CanonicalUser':'" ALICE_ID "'}") "]"), false},
    {P("[" STMT("Deny", "'s3:*'", ALL, "") "]"), false},
    {P("[" ALLOW_GET("{'AWS':'111122223333'}") "," ALLOW_GET("'*'") "]"), true},
    {PUB_IF("{'IpAddress':{'aws:SourceIp':'192.0.2.0/24'}}"), false},
    {PUB_IF("{'IpAddress':{'aws:SourceIp':['192.0.2.0/24','10.0.0.0/8']}}"), false},
    {PUB_IF("{'IpAddress':{'aws:SourceIp':'0.0.0.0/1'}}"), true},
    {PUB_IF("{'IpAddress':{'aws:SourceIp':'10.0.0.0/7'}}"), true},
    {PUB_IF("{'IpAddress':{'aws:SourceIp':['192.0.2.0/24','0.0.0.0/0']}}"), true},
    {PUB_IF("{'IpAddress':{'aws:SourceIp':'2001:db8::/32'}}"), false},
    {PUB_IF("{'IpAddress':{'aws:SourceIp':'2001::/16'}}"), true},
    {PUB_IF("{'NotIpAddress':{'aws:SourceIp':'192.0.2.0/24'}}"), true},
    {PUB_IF("{'IpAddressIfExists':{'aws:SourceIp':'192.0.2.0/24'}}"), true},
    {PUB_IF("{'StringEquals':{'aws:SourceVpc':'vpc-91237329'}}"), false},
    {PUB_IF("{'StringEqualsIgnoreCase':{'aws:sourcevpce':'vpce-1a2b3c4d'}}"), false},
    {PUB_IF("{'StringLike':{'aws:SourceVpc':'vpc-*'}}"), true},
    {PUB_IF("{'StringLike':{'aws:SourceVpc':'vpc-91237329'}}"), false},
    {PUB_IF("{'StringEquals':{'aws:SourceVpc':'vpc-*'}}"), true},
    {PUB_IF("{'StringEquals':{'aws:SourceVpc':'${aws:username}'}}"), true},
    {PUB_IF("{'StringNotEquals':{'aws:SourceVpc':'vpc-91237329'}}"), true},
    {PUB_IF("{'ForAllValues:StringEquals':{'aws:SourceVpc':'vpc-91237329'}}"), true},
    {PUB_IF("{'ForAnyValue:StringEquals':{'aws:SourceVpc':'vpc-91237329'}}"), false},
    {PUB_IF("{'StringEqualsIfExists':{'aws:SourceVpc':'vpc-91237329'}}"), true},
    {PUB_IF("{'StringEquals':{'s3:prefix':'public/'}}"), true},
    {PUB_IF("{'StringEquals':{'aws:PrincipalAccount':'111122223333'}}"), false},
    {PUB_IF("{'StringEquals':{'aws:PrincipalOrgID':'o-abc123'}}"), false},
    {PUB_IF("{'StringEquals':{'aws:SourceAccount':'111122223333'}}"), false},
    {PUB_IF("{'StringEquals':{'aws:SourceOwner':'111122223333'}}"), false},
    {PUB_IF("{'StringEquals':{'aws:userid':'AIDAEXAMPLE'}}"), false},
    {PUB_IF("{'StringLike':{'aws:userid':'AROLEID:*'}}"), true},
    {PUB_IF("{'ArnEquals':{'aws:SourceArn':'arn:aws:s3:::logs'}}"), false},
    {PUB_IF("{'ArnLike':{'aws:SourceArn':'arn:aws:s3:::*'}}"), true},
    {PUB_IF("{'ArnEquals':{'aws:PrincipalArn':'arn:aws:iam::111122223333:user/alice'}}"), false},
    {PUB_IF("{'StringEquals':{'s3:DataAccessPointAccount':'111122223333'}}"), false},
    {PUB_IF("{'Bool':{'aws:SecureTransport':'true'}}"), true},
    {PUB_IF("{'Bool':{'aws:SecureTransport':'true'},'StringEquals':{'aws:SourceVpce':'vpce-1'}}"), false},
    {PUB_IF("{'Null':{'aws:SourceVpc':'false'}}"), true},
};

TEST(public_table)
{
    int bad = 0;
    for (size_t i = 0; i < sizeof public_cases / sizeof public_cases[0]; i++) {
        char *json = unquote(public_cases[i].policy);
        char err[512] = "";
        hf_policy_t *p = NULL;
        if (hf_policy_parse(json, strlen(json), "photos", &p, err, sizeof err) != HF_OK) {
            printf("    public #%zu refused: %s\n", i, err);
            bad++;
        } else if (hf_policy_is_public(p) != public_cases[i].public_) {
            printf("    public #%zu %s: is_public %d, expected %d\n", i, json, !public_cases[i].public_,
                   public_cases[i].public_);
            bad++;
        }
        hf_policy_free(p);
        free(json);
    }
    CHECK_EQ_INT(bad, 0);
}

/* ---- the request context ------------------------------------------------------- */

TEST(ip_parse)
{
    hf_access_ip_t ip;
    CHECK_EQ_INT(hf_access_ip_parse("192.0.2.1", 9, &ip), HF_OK);
    CHECK_EQ_INT(ip.family, 4);
    CHECK_EQ_INT(ip.addr[3], 1);
    CHECK_EQ_INT(hf_access_ip_parse("::ffff:10.1.2.3", 15, &ip), HF_OK);
    CHECK_EQ_INT(ip.family, 4);
    CHECK_EQ_INT(ip.addr[0], 10);
    CHECK_EQ_INT(hf_access_ip_parse("2001:db8::1", 11, &ip), HF_OK);
    CHECK_EQ_INT(ip.family, 6);
    CHECK_EQ_INT(hf_access_ip_parse("2001:db8::1%eth0", 16, &ip), HF_E_INVAL);
    CHECK_EQ_INT(ip.family, 0);
    CHECK_EQ_INT(hf_access_ip_parse("192.0.2", 7, &ip), HF_E_INVAL);
    CHECK_EQ_INT(hf_access_ip_parse("", 0, &ip), HF_E_INVAL);
    CHECK_EQ_INT(hf_access_ip_parse("1.2.3.4\0junk", 12, &ip), HF_E_INVAL);
}

TEST(resource_arn)
{
    char buf[32];
    CHECK_EQ_INT(hf_access_resource_arn(buf, sizeof buf, "photos", NULL), 19);
    CHECK_EQ_STR(buf, "arn:aws:s3:::photos");
    CHECK_EQ_INT(hf_access_resource_arn(buf, sizeof buf, "photos", "a/b"), 23);
    CHECK_EQ_STR(buf, "arn:aws:s3:::photos/a/b");
    CHECK_EQ_INT(hf_access_resource_arn(buf, sizeof buf, "photos", "a-key-that-is-too-long"), HF_E_TOOBIG);
}

TEST(derived_keys)
{
    hf_access_req_t r = {.principal = who[BOB], .secure_transport = true, .now = 1893456000LL * 1000000000};
    hf_access_ip_parse("2001:db8::7", 11, &r.source_ip);
    hf_access_scratch_t sc;
    const char *const *v;
    CHECK_EQ_INT(hf_access_lookup(&r, "aws:sourceip", 12, &sc, &v), 1);
    CHECK_EQ_STR(v[0], "2001:db8::7");
    const char *const *user;
    CHECK_EQ_INT(hf_access_lookup(&r, "aws:username", 12, &sc, &user), 1);
    CHECK_EQ_INT(hf_access_lookup(&r, "AWS:EpochTime", 13, &sc, &v), 1);
    CHECK_EQ_STR(v[0], "1893456000");
    CHECK_EQ_STR(user[0], "bob"); /* still valid after another lookup */
    CHECK_EQ_INT(hf_access_lookup(&r, "aws:CurrentTime", 15, &sc, &v), 1);
    CHECK_EQ_STR(v[0], "2030-01-01T00:00:00.000Z");
    CHECK_EQ_INT(hf_access_lookup(&r, "aws:SecureTransport", 19, &sc, &v), 1);
    CHECK_EQ_STR(v[0], "true");
    CHECK_EQ_INT(hf_access_lookup(&r, "aws:PrincipalType", 17, &sc, &v), 1);
    CHECK_EQ_STR(v[0], "User");
    CHECK_EQ_INT(hf_access_lookup(&r, "aws:userid", 10, &sc, &v), 0); /* bob has no unique id */
    CHECK_EQ_INT(hf_access_lookup(&r, "s3:prefix", 9, &sc, &v), 0);
    r.principal = who[ANON];
    CHECK_EQ_INT(hf_access_lookup(&r, "aws:PrincipalArn", 16, &sc, &v), 0);
    CHECK_EQ_INT(hf_access_lookup(&r, "aws:username", 12, &sc, &v), 0);
}

HF_TEST_MAIN("unit/access/policy")
