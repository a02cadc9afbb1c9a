/*
 * actions.h -- S3's IAM action names, and the actions each S3 operation needs.
 *
 * A policy speaks of actions ("s3:GetObject"), the server of operations
 * (GetObject, HeadObject, ListObjectsV2: the names of src/s3/ops.def).
 * hf_action_for_op() translates one into the other: the permissions one
 * request needs, each with the resource it is decided for. The table
 * (actions.def) follows AWS's Service Authorization Reference for S3 and the
 * "Permissions" section of each operation's API page; where the request
 * decides (a versionId, an ACL or tagging header, a copy's source), the
 * caller says so in flags.
 *
 * Threads: pure functions over static tables. Ownership: every string
 * returned is static.
 */
#ifndef HF_ACCESS_ACTIONS_H
#define HF_ACCESS_ACTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What an IAM action is decided for. */
typedef enum hf_action_res {
    HF_ACTION_RES_OTHER = 0, /* S3 resources holdfast does not have (access points, jobs, ...) */
    HF_ACTION_RES_ACCOUNT,   /* the account itself (s3:ListAllMyBuckets): no bucket policy applies */
    HF_ACTION_RES_BUCKET,    /* arn:aws:s3:::bucket */
    HF_ACTION_RES_OBJECT,    /* arn:aws:s3:::bucket/key */
} hf_action_res_t;

/* The canonical spelling of S3 action name (n bytes, compared
 * case-insensitively as IAM does: "S3:getobject" is s3:GetObject), with its
 * resource type in *res (may be NULL); NULL if S3 has no such action. */
const char *hf_action_lookup(const char *name, size_t n, hf_action_res_t *res);

/* The known actions, for callers that match wildcards against them:
 * i from 0 to hf_action_count() - 1. */
size_t hf_action_count(void);
const char *hf_action_at(size_t i, hf_action_res_t *res);

/* Facts about a request that change which actions it needs. */
#define HF_ACTION_F_VERSION           (1u << 0) /* names a versionId (query, or a DeleteObjects key) */
#define HF_ACTION_F_SOURCE_VERSION    (1u << 1) /* x-amz-copy-source names a versionId */
#define HF_ACTION_F_ACL               (1u << 2) /* x-amz-acl or x-amz-grant-* (form field acl for POST) */
#define HF_ACTION_F_TAGGING           (1u << 3) /* x-amz-tagging (form field tagging for POST; a copy
                                                 * with x-amz-tagging-directive REPLACE) */
#define HF_ACTION_F_RETENTION         (1u << 4) /* x-amz-object-lock-mode / -retain-until-date */
#define HF_ACTION_F_LEGAL_HOLD        (1u << 5) /* x-amz-object-lock-legal-hold */
#define HF_ACTION_F_BYPASS_GOVERNANCE (1u << 6) /* x-amz-bypass-governance-retention: true */
#define HF_ACTION_F_OBJECT_LOCK       (1u << 7) /* CreateBucket with x-amz-bucket-object-lock-enabled */
#define HF_ACTION_F_OWNERSHIP         (1u << 8) /* CreateBucket with x-amz-object-ownership */

/* Which resource one needed action is decided for. */
typedef enum hf_action_on {
    HF_ACTION_ON_ACCOUNT = 0, /* no bucket: bucket policies do not apply */
    HF_ACTION_ON_BUCKET,      /* arn:aws:s3:::bucket */
    HF_ACTION_ON_OBJECT,      /* arn:aws:s3:::bucket/key of the request */
    HF_ACTION_ON_SOURCE,      /* the object x-amz-copy-source names (its own bucket's policy) */
} hf_action_on_t;

typedef struct hf_action_need {
    const char *action;  /* "s3:GetObject" (static) */
    hf_action_on_t on;
} hf_action_need_t;

/* At most this many actions for one request (CopyObject with every header). */
#define HF_ACTION_NEEDS_MAX 6

/* The actions operation op (an S3 API name, "GetObject") needs given flags
 * (HF_ACTION_F_*), written to out: the operation's own action first, then
 * the ones flags add. Every one of them must be allowed. Returns their
 * number (1..HF_ACTION_NEEDS_MAX), or HF_E_NOTFOUND for an unknown
 * operation. DeleteObjects is decided per key: call it once per key, with
 * HF_ACTION_F_VERSION if that key names a version. */
int hf_action_for_op(const char *op, unsigned flags, hf_action_need_t out[HF_ACTION_NEEDS_MAX]);

#endif /* HF_ACCESS_ACTIONS_H */
