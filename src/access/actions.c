/*
 * actions.c -- the action tables of actions.def behind actions.h.
 *
 * Both tables are small (under 200 rows) and read by linear scan: a policy
 * is validated once when it is stored, and an operation is looked up once
 * per request, which costs less than the request's own header parsing.
 */
#include "access/actions.h"
#include "access/internal.h"

#include "base/err.h"

#include <string.h>

/* ---- IAM actions ------------------------------------------------------------ */

static const struct {
    const char *name;
    hf_action_res_t res;
} actions[] = {
#define HF_ACTION(name, res) {name, HF_ACTION_RES_##res},
#include "access/actions.def"
#undef HF_ACTION
};

#define NACTIONS (sizeof actions / sizeof actions[0])

const char *hf_action_lookup(const char *name, size_t n, hf_action_res_t *res)
{
    for (size_t i = 0; i < NACTIONS; i++) {
        if (hf_access_ieq(actions[i].name, strlen(actions[i].name), name, n)) {
            if (res)
                *res = actions[i].res;
            return actions[i].name;
        }
    }
    return NULL;
}

size_t hf_action_count(void)
{
    return NACTIONS;
}

const char *hf_action_at(size_t i, hf_action_res_t *res)
{
    if (i >= NACTIONS)
        return NULL;
    if (res)
        *res = actions[i].res;
    return actions[i].name;
}

/* ---- operations ------------------------------------------------------------- */

/* What a request adds to an operation's own action. */
enum {
    /* Writes an object: its ACL, tag and Object Lock headers need the
     * matching Put* actions ("To successfully change the objects ACL of
     * your PutObject request, you must have the s3:PutObjectAcl", and
     * likewise s3:PutObjectTagging, s3:PutObjectRetention,
     * s3:PutObjectLegalHold: the reference lists all four for PutObject,
     * CopyObject and CreateMultipartUpload). */
    OPX_WRITE = 1,
    /* Reads the copy source: s3:GetObject on it (s3:GetObjectVersion for a
     * versionId), as the reference lists for CopyObject and UploadPartCopy. */
    OPX_SOURCE = 2,
    /* Governance retention may be bypassed: s3:BypassGovernanceRetention. */
    OPX_BYPASS = 4,
    /* GetObjectAttributes also needs read access to the object itself. */
    OPX_READ = 8,
    /* CreateBucket with Object Lock also puts the lock configuration and
     * turns on versioning; with x-amz-object-ownership it puts ownership
     * controls; with an ACL header it puts the bucket ACL. */
    OPX_CREATE_BUCKET = 16,
};

static const struct {
    const char *op;
    const char *action;
    const char *version_action;
    unsigned extras;
} ops[] = {
#define HF_OP(op, action, version_action, extras) {#op, action, version_action, extras},
#include "access/actions.def"
#undef HF_OP
};

static hf_action_on_t on_of(const char *action)
{
    hf_action_res_t res = HF_ACTION_RES_OTHER;
    hf_action_lookup(action, strlen(action), &res);
    switch (res) {
    case HF_ACTION_RES_BUCKET:
        return HF_ACTION_ON_BUCKET;
    case HF_ACTION_RES_OBJECT:
        return HF_ACTION_ON_OBJECT;
    default:
        return HF_ACTION_ON_ACCOUNT;
    }
}

static void need(hf_action_need_t *out, int *n, const char *action, hf_action_on_t on)
{
    out[*n].action = action;
    out[*n].on = on;
    (*n)++;
}

int hf_action_for_op(const char *op, unsigned flags, hf_action_need_t out[HF_ACTION_NEEDS_MAX])
{
    size_t i = 0;
    while (i < sizeof ops / sizeof ops[0] && strcmp(ops[i].op, op) != 0)
        i++;
    if (i == sizeof ops / sizeof ops[0])
        return HF_E_NOTFOUND;
    unsigned x = ops[i].extras;
    bool version = flags & HF_ACTION_F_VERSION;
    const char *own = version && ops[i].version_action ? ops[i].version_action : ops[i].action;
    int n = 0;
    need(out, &n, own, on_of(own));
    if (x & OPX_READ)
        need(out, &n, version ? "s3:GetObjectVersion" : "s3:GetObject", HF_ACTION_ON_OBJECT);
    if (x & OPX_SOURCE)
        need(out, &n, flags & HF_ACTION_F_SOURCE_VERSION ? "s3:GetObjectVersion" : "s3:GetObject",
             HF_ACTION_ON_SOURCE);
    if (x & OPX_WRITE) {
        if (flags & HF_ACTION_F_ACL)
            need(out, &n, "s3:PutObjectAcl", HF_ACTION_ON_OBJECT);
        if (flags & HF_ACTION_F_TAGGING)
            need(out, &n, "s3:PutObjectTagging", HF_ACTION_ON_OBJECT);
        if (flags & HF_ACTION_F_RETENTION)
            need(out, &n, "s3:PutObjectRetention", HF_ACTION_ON_OBJECT);
        if (flags & HF_ACTION_F_LEGAL_HOLD)
            need(out, &n, "s3:PutObjectLegalHold", HF_ACTION_ON_OBJECT);
    }
    if ((x & OPX_BYPASS) && (flags & HF_ACTION_F_BYPASS_GOVERNANCE))
        need(out, &n, "s3:BypassGovernanceRetention", HF_ACTION_ON_OBJECT);
    if (x & OPX_CREATE_BUCKET) {
        if (flags & HF_ACTION_F_OBJECT_LOCK) {
            need(out, &n, "s3:PutBucketObjectLockConfiguration", HF_ACTION_ON_BUCKET);
            need(out, &n, "s3:PutBucketVersioning", HF_ACTION_ON_BUCKET);
        }
        if (flags & HF_ACTION_F_OWNERSHIP)
            need(out, &n, "s3:PutBucketOwnershipControls", HF_ACTION_ON_BUCKET);
        if (flags & HF_ACTION_F_ACL)
            need(out, &n, "s3:PutBucketAcl", HF_ACTION_ON_BUCKET);
    }
    return n;
}
