/*
 * authz.c -- who may do what: the decision for one request on one bucket
 * (and key), from the bucket's owner, Object Ownership, Block Public
 * Access, the bucket ACL and the object ACL.
 *
 * Model. Every holdfast user is its own S3 account: it owns the buckets it
 * creates, and nothing of anyone else's is open to it unless a grant says
 * so. The order (AWS "How Amazon S3 authorizes a request"):
 *   1. the bucket owner may do everything to the bucket and to the
 *      objects it owns; objects another account owns (ObjectWriter /
 *      BucketOwnerPreferred buckets) it may delete and overwrite, but read
 *      their data and ACL only if their ACL grants it, as in S3;
 *   2. anyone else, signed or anonymous, needs a grant: with ACLs
 *      disabled (BucketOwnerEnforced) there is none to have; otherwise the
 *      bucket ACL (listing, writing objects, the bucket ACL itself) or the
 *      object ACL (reading an object and its ACL), where IgnorePublicAcls
 *      makes AllUsers and AuthenticatedUsers grants count for nothing;
 *   3. everything else is AccessDenied -- also for an object that does not
 *      exist, unless the caller may list the bucket (S3 answers NoSuchKey
 *      only to callers allowed to learn that).
 * Operations that configure a bucket (versioning, CORS, lifecycle, tags,
 * Object Lock, ownership, public access block, deletion) are the owner's.
 *
 * Which ACL permission an operation needs is the table below, from AWS's
 * "Mapping of ACL permissions and access policy permissions".
 */
#include "s3/internal.h"

#include "base/err.h"

#include <errno.h>
#include <string.h>

typedef enum { ON_NONE, ON_BUCKET, ON_OBJECT } target_t;

typedef struct rule {
    const char *op;   /* ops.def name */
    target_t on;      /* which ACL can grant it */
    unsigned perm;    /* S3_PERM_* needed */
} rule_t;

static const rule_t rules[] = {
    {"HeadBucket", ON_BUCKET, S3_PERM_READ},
    {"ListObjects", ON_BUCKET, S3_PERM_READ},
    {"ListObjectsV2", ON_BUCKET, S3_PERM_READ},
    {"ListObjectVersions", ON_BUCKET, S3_PERM_READ},
    {"ListMultipartUploads", ON_BUCKET, S3_PERM_READ},
    {"GetBucketAcl", ON_BUCKET, S3_PERM_READ_ACP},
    {"PutBucketAcl", ON_BUCKET, S3_PERM_WRITE_ACP},
    {"PutObject", ON_BUCKET, S3_PERM_WRITE},
    {"CopyObject", ON_BUCKET, S3_PERM_WRITE},
    {"DeleteObject", ON_BUCKET, S3_PERM_WRITE},
    {"DeleteObjects", ON_BUCKET, S3_PERM_WRITE},
    {"CreateMultipartUpload", ON_BUCKET, S3_PERM_WRITE},
    {"UploadPart", ON_BUCKET, S3_PERM_WRITE},
    {"UploadPartCopy", ON_BUCKET, S3_PERM_WRITE},
    {"CompleteMultipartUpload", ON_BUCKET, S3_PERM_WRITE},
    {"AbortMultipartUpload", ON_BUCKET, S3_PERM_WRITE},
    {"ListParts", ON_BUCKET, S3_PERM_READ},
    {"GetObject", ON_OBJECT, S3_PERM_READ},
    {"HeadObject", ON_OBJECT, S3_PERM_READ},
    {"GetObjectAcl", ON_OBJECT, S3_PERM_READ_ACP},
    {"PutObjectAcl", ON_OBJECT, S3_PERM_WRITE_ACP},
};

static const rule_t *rule_for(const char *op)
{
    for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++)
        if (strcmp(rules[i].op, op) == 0)
            return &rules[i];
    return NULL;
}

/* Object ACL decisions read the version the request names. */
static int load_target(s3req_t *q, const hf_bucket_t *b, const char *key, size_t keylen,
                       hf_version_sel_t ver, hf_obj_t *o)
{
    int rc = hf_meta_obj_get(q->s3->meta, b->id, key, keylen, ver, q->a, o);
    if (rc == HF_OK && (o->flags & HF_OBJ_DELETE_MARKER))
        return HF_E_NOTFOUND;
    return rc;
}

int s3_access(s3req_t *q, const hf_bucket_t *b, const char *op, const char *key, size_t keylen,
              hf_version_sel_t ver)
{
    const rule_t *r = rule_for(op);
    bool enforced = (b->flags & HF_BUCKET_OWNER_ENFORCED) != 0;
    bool ignore_public = (b->flags & HF_BUCKET_PAB_IGNORE_ACLS) != 0;
    bool is_owner = !q->anonymous && q->user.id == b->owner;
    bool object_read = r && r->on == ON_OBJECT;

    if (is_owner && (!object_read || enforced))
        return HF_OK;
    if (!r || (enforced && !is_owner))
        return HF_E_DENIED;

    /* The bucket ACL, for bucket grants and for "may learn what exists". */
    s3_acl_t *acl = hf_arena_alloc(q->a, sizeof *acl);
    if (!acl)
        return -ENOMEM;
    unsigned bucket_perms = 0;
    int rc;
    if (!is_owner) {
        if ((rc = s3_bucket_acl_get(q, b, acl)))
            return rc;
        bucket_perms = s3_acl_perms(acl, q, ignore_public);
    }
    if (r->on == ON_BUCKET)
        return (bucket_perms & r->perm) == r->perm ? HF_OK : HF_E_DENIED;
    /* An object grant: its owner has full control, others what its ACL says. */
    hf_obj_t o;
    int grc = load_target(q, b, key, keylen, ver, &o);
    if (grc == HF_E_NOTFOUND) {
        /* The handler answers NoSuchKey / NoSuchVersion to those who may
         * list the bucket; to others it is AccessDenied. */
        return is_owner || (bucket_perms & S3_PERM_READ) ? HF_OK : HF_E_DENIED;
    }
    if (grc)
        return grc;
    if (!q->anonymous && o.owner == q->user.id)
        return HF_OK;
    if ((rc = s3_acl_decode(o.acl, o.acl_len, o.owner, acl)))
        return rc;
    return (s3_acl_perms(acl, q, ignore_public) & r->perm) == r->perm ? HF_OK : HF_E_DENIED;
}

int s3_authorize(s3req_t *q)
{
    hf_version_sel_t ver = NULL;
    uint8_t vbuf[16];
    if (q->key && s3_param(q, "versionId") && s3_version_parse(s3_param(q, "versionId"), vbuf) == HF_OK)
        ver = vbuf;
    int rc = s3_access(q, &q->b, q->op ? q->op->name : "", q->key, q->keylen, ver);
    if (rc == HF_OK)
        return 0;
    if (rc == HF_E_DENIED)
        return s3_fail(q, S3E_AccessDenied, NULL);
    return s3_fail(q, hf_s3_err_from(rc), NULL);
}
