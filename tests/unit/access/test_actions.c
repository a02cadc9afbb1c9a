/*
 * test_actions.c -- the IAM actions each S3 operation needs (actions.h).
 *
 * Every operation the server routes (src/s3/ops.def, included here) must
 * have a row, so an operation added there without one fails this test.
 */
#include "access/actions.h"

#include "base/err.h"

#include "test.h"

static const char *const served_ops[] = {
#define S3_OP(name, method, level, sub, handler) #name,
#include "s3/ops.def"
#undef S3_OP
};

TEST(every_served_operation_has_actions)
{
    int bad = 0;
    for (size_t i = 0; i < sizeof served_ops / sizeof served_ops[0]; i++) {
        hf_action_need_t need[HF_ACTION_NEEDS_MAX];
        int n = hf_action_for_op(served_ops[i], 0, need);
        if (n < 1) {
            printf("    operation %s has no actions\n", served_ops[i]);
            bad++;
        }
    }
    CHECK_EQ_INT(bad, 0);
}

/* Every action any operation can need, with any flags, is a known S3
 * action, and is decided for a resource of its own type. */
TEST(needs_are_known_actions)
{
    static const char *const more[] = {"PostObject", "PutBucketPolicy", "DeleteBucketPolicy",
                                       "GetBucketPolicyStatus", "PutBucketAcl", "PutObjectAcl",
                                       "PutPublicAccessBlock", "RestoreObject"};
    int bad = 0;
    for (size_t i = 0; i < sizeof served_ops / sizeof served_ops[0] + sizeof more / sizeof more[0]; i++) {
        const char *op = i < sizeof served_ops / sizeof served_ops[0]
                             ? served_ops[i]
                             : more[i - sizeof served_ops / sizeof served_ops[0]];
        for (unsigned flags = 0; flags < 512; flags++) {
            hf_action_need_t need[HF_ACTION_NEEDS_MAX];
            int n = hf_action_for_op(op, flags, need);
            CHECK(n >= 1 && n <= HF_ACTION_NEEDS_MAX);
            for (int k = 0; k < n; k++) {
                hf_action_res_t res;
                const char *canon = hf_action_lookup(need[k].action, strlen(need[k].action), &res);
                bool fits = canon && strcmp(canon, need[k].action) == 0 &&
                            ((res == HF_ACTION_RES_BUCKET && need[k].on == HF_ACTION_ON_BUCKET) ||
                             (res == HF_ACTION_RES_OBJECT &&
                              (need[k].on == HF_ACTION_ON_OBJECT || need[k].on == HF_ACTION_ON_SOURCE)) ||
                             (res == HF_ACTION_RES_ACCOUNT && need[k].on == HF_ACTION_ON_ACCOUNT));
                if (!fits) {
                    printf("    %s flags %#x: %s on %d\n", op, flags, need[k].action, need[k].on);
                    bad++;
                }
            }
        }
    }
    CHECK_EQ_INT(bad, 0);
}

typedef struct acase {
    const char *op;
    unsigned flags;
    const char *want; /* "action@on action@on", on: a(ccount) b(ucket) o(bject) s(ource) */
} acase_t;

static const acase_t cases[] = {
    {"ListObjectsV2", 0, "s3:ListBucket@b"},
    {"ListObjects", 0, "s3:ListBucket@b"},
    {"HeadBucket", 0, "s3:ListBucket@b"},
    {"ListBuckets", 0, "s3:ListAllMyBuckets@a"},
    {"GetObject", 0, "s3:GetObject@o"},
    {"HeadObject", 0, "s3:GetObject@o"},
    {"GetObject", HF_ACTION_F_VERSION, "s3:GetObjectVersion@o"},
    {"HeadObject", HF_ACTION_F_VERSION, "s3:GetObjectVersion@o"},
    {"GetObjectAttributes", 0, "s3:GetObjectAttributes@o s3:GetObject@o"},
    {"GetObjectAttributes", HF_ACTION_F_VERSION, "s3:GetObjectVersionAttributes@o s3:GetObjectVersion@o"},
    {"PutObject", 0, "s3:PutObject@o"},
    {"PutObject", HF_ACTION_F_ACL | HF_ACTION_F_TAGGING, "s3:PutObject@o s3:PutObjectAcl@o s3:PutObjectTagging@o"},
    {"PutObject", HF_ACTION_F_RETENTION | HF_ACTION_F_LEGAL_HOLD, "s3:PutObject@o s3:PutObjectRetention@o s3:PutObjectLegalHold@o"},
    {"PutObject", HF_ACTION_F_VERSION, "s3:PutObject@o"},
    {"PostObject", HF_ACTION_F_ACL, "s3:PutObject@o s3:PutObjectAcl@o"},
    {"CopyObject", 0, "s3:PutObject@o s3:GetObject@s"},
    {"CopyObject", HF_ACTION_F_SOURCE_VERSION | HF_ACTION_F_TAGGING, "s3:PutObject@o s3:GetObjectVersion@s s3:PutObjectTagging@o"},
    {"CopyObject", 0x3f, "s3:PutObject@o s3:GetObjectVersion@s s3:PutObjectAcl@o s3:PutObjectTagging@o s3:PutObjectRetention@o s3:PutObjectLegalHold@o"},
    {"UploadPartCopy", HF_ACTION_F_SOURCE_VERSION | HF_ACTION_F_ACL, "s3:PutObject@o s3:GetObjectVersion@s"},
    {"CreateMultipartUpload", HF_ACTION_F_TAGGING, "s3:PutObject@o s3:PutObjectTagging@o"},
    {"UploadPart", 0, "s3:PutObject@o"},
    {"CompleteMultipartUpload", 0, "s3:PutObject@o"},
    {"AbortMultipartUpload", 0, "s3:AbortMultipartUpload@o"},
    {"ListParts", 0, "s3:ListMultipartUploadParts@o"},
    {"ListMultipartUploads", 0, "s3:ListBucketMultipartUploads@b"},
    {"ListObjectVersions", 0, "s3:ListBucketVersions@b"},
    {"DeleteObject", 0, "s3:DeleteObject@o"},
    {"DeleteObject", HF_ACTION_F_VERSION | HF_ACTION_F_BYPASS_GOVERNANCE, "s3:DeleteObjectVersion@o s3:BypassGovernanceRetention@o"},
    {"DeleteObjects", 0, "s3:DeleteObject@o"},
    {"DeleteObjects", HF_ACTION_F_VERSION, "s3:DeleteObjectVersion@o"},
    {"PutObjectAcl", 0, "s3:PutObjectAcl@o"},
    {"PutObjectAcl", HF_ACTION_F_VERSION, "s3:PutObjectVersionAcl@o"},
    {"GetObjectAcl", HF_ACTION_F_VERSION, "s3:GetObjectVersionAcl@o"},
    {"GetObjectTagging", HF_ACTION_F_VERSION, "s3:GetObjectVersionTagging@o"},
    {"PutObjectTagging", 0, "s3:PutObjectTagging@o"},
    {"DeleteObjectTagging", HF_ACTION_F_VERSION, "s3:DeleteObjectVersionTagging@o"},
    {"PutObjectRetention", HF_ACTION_F_BYPASS_GOVERNANCE, "s3:PutObjectRetention@o s3:BypassGovernanceRetention@o"},
    {"GetObjectRetention", 0, "s3:GetObjectRetention@o"},
    {"PutObjectLegalHold", 0, "s3:PutObjectLegalHold@o"},
    {"GetObjectLockConfiguration", 0, "s3:GetBucketObjectLockConfiguration@b"},
    {"PutObjectLockConfiguration", 0, "s3:PutBucketObjectLockConfiguration@b"},
    {"CreateBucket", 0, "s3:CreateBucket@b"},
    {"CreateBucket", HF_ACTION_F_OBJECT_LOCK | HF_ACTION_F_OWNERSHIP | HF_ACTION_F_ACL,
     "s3:CreateBucket@b s3:PutBucketObjectLockConfiguration@b s3:PutBucketVersioning@b s3:PutBucketOwnershipControls@b s3:PutBucketAcl@b"},
    {"DeleteBucket", 0, "s3:DeleteBucket@b"},
    {"GetBucketLocation", 0, "s3:GetBucketLocation@b"},
    {"GetBucketCors", 0, "s3:GetBucketCORS@b"},
    {"DeleteBucketCors", 0, "s3:PutBucketCORS@b"},
    {"GetBucketLifecycleConfiguration", 0, "s3:GetLifecycleConfiguration@b"},
    {"DeleteBucketLifecycle", 0, "s3:PutLifecycleConfiguration@b"},
    {"DeleteBucketTagging", 0, "s3:PutBucketTagging@b"},
    {"GetBucketPolicy", 0, "s3:GetBucketPolicy@b"},
    {"DeleteBucketPolicy", 0, "s3:DeleteBucketPolicy@b"},
    {"GetBucketPolicyStatus", 0, "s3:GetBucketPolicyStatus@b"},
    {"DeletePublicAccessBlock", 0, "s3:PutBucketPublicAccessBlock@b"},
    {"GetBucketVersioning", 0, "s3:GetBucketVersioning@b"},
};

static char on_letter(hf_action_on_t on)
{
    return on == HF_ACTION_ON_BUCKET ? 'b' : on == HF_ACTION_ON_OBJECT ? 'o' : on == HF_ACTION_ON_SOURCE ? 's' : 'a';
}

TEST(operation_table)
{
    int bad = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        hf_action_need_t need[HF_ACTION_NEEDS_MAX];
        int n = hf_action_for_op(cases[i].op, cases[i].flags, need);
        char got[512] = "";
        size_t o = 0;
        for (int k = 0; k < n; k++)
            o += (size_t)snprintf(got + o, sizeof got - o, "%s%s@%c", k ? " " : "", need[k].action,
                                  on_letter(need[k].on));
        if (strcmp(got, cases[i].want) != 0) {
            printf("    %s flags %#x: \"%s\", expected \"%s\"\n", cases[i].op, cases[i].flags, got, cases[i].want);
            bad++;
        }
    }
    CHECK_EQ_INT(bad, 0);
}

TEST(unknown_operation)
{
    hf_action_need_t need[HF_ACTION_NEEDS_MAX];
    CHECK_EQ_INT(hf_action_for_op("FrobnicateBucket", 0, need), HF_E_NOTFOUND);
    CHECK_EQ_INT(hf_action_for_op("getobject", 0, need), HF_E_NOTFOUND); /* operation names are exact */
}

TEST(action_lookup)
{
    hf_action_res_t res;
    CHECK_EQ_STR(hf_action_lookup("S3:GETOBJECT", 12, &res), "s3:GetObject");
    CHECK_EQ_INT(res, HF_ACTION_RES_OBJECT);
    CHECK_EQ_STR(hf_action_lookup("s3:listbucket", 13, &res), "s3:ListBucket");
    CHECK_EQ_INT(res, HF_ACTION_RES_BUCKET);
    CHECK_EQ_STR(hf_action_lookup("s3:ListAllMyBuckets", 19, &res), "s3:ListAllMyBuckets");
    CHECK_EQ_INT(res, HF_ACTION_RES_ACCOUNT);
    CHECK(hf_action_lookup("s3:GetObjec", 11, &res) == NULL);
    CHECK(hf_action_lookup("iam:GetUser", 11, NULL) == NULL);
    /* The table is free of duplicates (a lookup finds each name at its own index). */
    for (size_t i = 0; i < hf_action_count(); i++) {
        const char *name = hf_action_at(i, NULL);
        CHECK(hf_action_lookup(name, strlen(name), NULL) == name);
    }
    CHECK(hf_action_at(hf_action_count(), NULL) == NULL);
}

HF_TEST_MAIN("unit/access/actions")
