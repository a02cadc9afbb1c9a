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

#include "access/actions.h"
#include "access/policy.h"
#include "base/err.h"
#include "base/log.h"
#include "base/str.h"
#include "base/time.h"

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
    {"PostObject", ON_BUCKET, S3_PERM_WRITE},
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

/* Owner, ownership and ACLs alone (no policy). */
static int base_access(s3req_t *q, const hf_bucket_t *b, const char *op, const char *key, size_t keylen,
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

/* ---- bucket policies ---------------------------------------------------------- */

/* A request's condition keys (access.h): the x-amz-* headers as s3:<header>,
 * the listing parameters, the version, the Object Lock headers under their
 * own names, tags when the policy asks about them. */
typedef struct keys {
    hf_access_kv_t kv[HF_HTTP_HEADERS_MAX + 24];
    size_t n;
} keys_t;

static void add_key(s3req_t *q, keys_t *k, const char *name, const char *value)
{
    if (!value || k->n == sizeof k->kv / sizeof k->kv[0])
        return;
    const char **vals = hf_arena_alloc(q->a, sizeof *vals);
    if (!vals)
        return;
    vals[0] = value;
    k->kv[k->n++] = (hf_access_kv_t){name, vals, 1};
}

static void add_tags(s3req_t *q, keys_t *k, const char *prefix, const hf_kv_t *tags, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        add_key(q, k, hf_arena_printf(q->a, "%s/%s", prefix, tags[i].name), tags[i].value);
}

static void request_keys(s3req_t *q, const hf_bucket_t *b, const char *key, size_t keylen,
                         hf_version_sel_t ver, const char *policy_text, keys_t *k)
{
    const hf_http_req_t *h = &q->r->http;
    for (int i = 0; i < h->nheaders; i++) {
        hf_str_t nm = h->headers[i].name;
        if (nm.n < 7 || !hf_strn_ieq(nm.p, 6, "x-amz-"))
            continue;
        char *name = hf_arena_printf(q->a, "s3:%.*s", (int)nm.n, nm.p);
        if (!name)
            continue;
        for (char *c = name; *c; c++)
            if (*c >= 'A' && *c <= 'Z')
                *c = (char)(*c + 32);
        add_key(q, k, name, hf_arena_strndup(q->a, h->headers[i].value.p, h->headers[i].value.n));
    }
    static const char *const lock[][2] = {{"x-amz-object-lock-mode", "s3:object-lock-mode"},
                                          {"x-amz-object-lock-retain-until-date", "s3:object-lock-retain-until-date"},
                                          {"x-amz-object-lock-legal-hold", "s3:object-lock-legal-hold"}};
    for (size_t i = 0; i < sizeof lock / sizeof lock[0]; i++)
        add_key(q, k, lock[i][1], s3_header(q, lock[i][0]));
    add_key(q, k, "s3:prefix", s3_param(q, "prefix"));
    add_key(q, k, "s3:delimiter", s3_param(q, "delimiter"));
    add_key(q, k, "s3:max-keys", s3_param(q, "max-keys"));
    if (ver) {
        char *t = hf_arena_alloc(q->a, 33);
        if (t) {
            s3_version_text(ver, t);
            add_key(q, k, "s3:VersionId", t);
        }
    }
    /* S3's values: "AWS" for Signature Version 2, "AWS4-HMAC-SHA256" for
     * V4; authType REST-HEADER, REST-QUERY-STRING or POST. */
    enum hf_auth_kind ak = q->auth.kind;
    bool v2 = ak == HF_AUTH_V2_HEADER || ak == HF_AUTH_V2_QUERY || ak == HF_AUTH_V2_POST;
    add_key(q, k, "s3:signatureversion", q->anonymous ? NULL : v2 ? "AWS" : "AWS4-HMAC-SHA256");
    add_key(q, k, "s3:authType", q->anonymous                                   ? NULL
                                 : ak == HF_AUTH_QUERY || ak == HF_AUTH_V2_QUERY ? "REST-QUERY-STRING"
                                 : ak == HF_AUTH_V2_POST                         ? "POST"
                                                                                 : "REST-HEADER");
    add_key(q, k, "aws:Referer", s3_header(q, "referer"));
    add_key(q, k, "aws:UserAgent", s3_header(q, "user-agent"));
    /* Tags cost a read: only when the policy speaks of them. */
    if (key && strstr(policy_text, "ExistingObjectTag")) {
        hf_obj_t o;
        if (load_target(q, b, key, keylen, ver, &o) == HF_OK)
            add_tags(q, k, "s3:ExistingObjectTag", o.tags, o.ntags);
    }
    const char *tagging = s3_header(q, "x-amz-tagging");
    if (tagging && strstr(policy_text, "RequestObjectTag")) {
        /* x-amz-tagging is form-encoded: k1=v1&k2=v2. Malformed tags are the
         * handler's to refuse; here they simply match nothing. */
        const char **names = hf_arena_alloc(q->a, sizeof *names * HF_OBJ_TAGS_MAX);
        size_t nn = 0;
        for (const char *p = tagging; names && *p && nn < HF_OBJ_TAGS_MAX;) {
            const char *amp = strchr(p, '&');
            size_t len = amp ? (size_t)(amp - p) : strlen(p);
            const char *eq = memchr(p, '=', len);
            size_t kl = eq ? (size_t)(eq - p) : len;
            char *kn = hf_arena_alloc(q->a, kl + 1), *vv = hf_arena_alloc(q->a, len - kl + 1);
            if (kn && vv && hf_uri_decode(kn, p, kl) >= 0 &&
                hf_uri_decode(vv, eq ? eq + 1 : "", eq ? len - kl - 1 : 0) >= 0) {
                names[nn++] = kn;
                add_key(q, k, hf_arena_printf(q->a, "s3:RequestObjectTag/%s", kn), vv);
            }
            if (!amp)
                break;
            p = amp + 1;
        }
        if (names && k->n < sizeof k->kv / sizeof k->kv[0])
            k->kv[k->n++] = (hf_access_kv_t){"s3:RequestObjectTagKeys", names, nn};
    }
}

/* The facts about q that change which actions it needs (actions.h). */
static unsigned action_flags(s3req_t *q, hf_version_sel_t ver)
{
    unsigned f = ver ? HF_ACTION_F_VERSION : 0;
    const char *src = s3_header(q, "x-amz-copy-source");
    if (src && strstr(src, "versionId="))
        f |= HF_ACTION_F_SOURCE_VERSION;
    if (s3_header(q, "x-amz-acl") || hf_http_find(&q->r->http, "x-amz-grant-read") ||
        hf_http_find(&q->r->http, "x-amz-grant-write") || hf_http_find(&q->r->http, "x-amz-grant-read-acp") ||
        hf_http_find(&q->r->http, "x-amz-grant-write-acp") || hf_http_find(&q->r->http, "x-amz-grant-full-control"))
        f |= HF_ACTION_F_ACL;
    const char *td = s3_header(q, "x-amz-tagging-directive");
    if (s3_header(q, "x-amz-tagging") || (td && strcmp(td, "REPLACE") == 0))
        f |= HF_ACTION_F_TAGGING;
    if (s3_header(q, "x-amz-object-lock-mode") || s3_header(q, "x-amz-object-lock-retain-until-date"))
        f |= HF_ACTION_F_RETENTION;
    if (s3_header(q, "x-amz-object-lock-legal-hold"))
        f |= HF_ACTION_F_LEGAL_HOLD;
    if (s3_bypass_asked(q))
        f |= HF_ACTION_F_BYPASS_GOVERNANCE;
    return f;
}

int s3_bucket_policy(s3req_t *q, const hf_bucket_t *b, hf_policy_t **out, const char **text)
{
    *out = NULL;
    if (text)
        *text = NULL;
    if (!(b->flags & HF_BUCKET_HAS_POLICY))
        return HF_OK;
    if (q->pol_bucket == b->id && q->pol) {
        *out = q->pol;
        if (text)
            *text = q->pol_text;
        return HF_OK;
    }
    const uint8_t *d;
    size_t n;
    int rc = hf_meta_bucket_cfg_get(q->s3->meta, b->id, HF_BCFG_POLICY, q->a, &d, &n);
    if (rc == HF_E_NOTFOUND)
        return HF_OK;
    if (rc)
        return rc;
    char *t = hf_arena_strndup(q->a, (const char *)d, n);
    if (!t)
        return -ENOMEM;
    char err[256];
    rc = hf_policy_parse(t, n, b->name, out, err, sizeof err);
    if (rc) {
        /* It was valid when stored: a policy that no longer parses is
         * damage, and nothing it might have allowed is allowed. */
        hf_log_error("msg=\"stored bucket policy unreadable\" bucket=%s err=\"%s\"", b->name, err);
        return HF_E_CORRUPT;
    }
    hf_policy_free(q->pol);
    q->pol = *out;
    q->pol_text = t;
    q->pol_bucket = b->id;
    if (text)
        *text = t;
    return HF_OK;
}

void s3_access_principal(s3req_t *q, hf_access_principal_t *p)
{
    memset(p, 0, sizeof *p);
    if (q->anonymous) {
        p->anonymous = true;
        return;
    }
    /* Every user is its own account (docs/security.md): its account id is
     * its user id in twelve digits. */
    char *acct = hf_arena_printf(q->a, "%012llu", (unsigned long long)(q->user.id % 1000000000000ull));
    p->account = acct;
    p->arn = hf_arena_printf(q->a, "arn:aws:iam::%s:user/%s", acct ? acct : "", q->user.name);
    p->canonical_id = q->user.canonical_id;
    p->userid = q->user.name;
}

/* The decision for op on b (and key); *may_bypass says whether the
 * caller holds s3:BypassGovernanceRetention there: the bucket owner does
 * (as an account's root user on S3) unless the policy denies it, which
 * denies the whole request; anyone else only where the policy allows it --
 * no ACL grants it. */
static int decide(s3req_t *q, const hf_bucket_t *b, const char *op, const char *key, size_t keylen,
                  hf_version_sel_t ver, bool *may_bypass)
{
    *may_bypass = !q->anonymous && q->user.id == b->owner;
    int base = base_access(q, b, op, key, keylen, ver);
    if (base != HF_OK && base != HF_E_DENIED)
        return base;
    if (!(b->flags & HF_BUCKET_HAS_POLICY))
        return base;
    /* DeleteObjects with a policy is decided key by key (object.c), the
     * bypass too. */
    if (!key && strcmp(op, "DeleteObjects") == 0) {
        *may_bypass = true;
        return HF_OK;
    }
    hf_policy_t *pol;
    const char *text;
    int rc = s3_bucket_policy(q, b, &pol, &text);
    if (rc)
        return rc;
    if (!pol)
        return base;
    bool is_owner = !q->anonymous && q->user.id == b->owner;
    /* The bucket owner can always read, replace and delete the policy, so a
     * policy can never lock the owner out of its own bucket (S3 does the
     * same for the account's root user). */
    if (is_owner && (strcmp(op, "GetBucketPolicy") == 0 || strcmp(op, "PutBucketPolicy") == 0 ||
                     strcmp(op, "DeleteBucketPolicy") == 0))
        return HF_OK;
    /* RestrictPublicBuckets: a public policy grants only the owner. */
    bool restrict_public = (b->flags & HF_BUCKET_PAB_RESTRICT) && hf_policy_is_public(pol) && !is_owner;
    keys_t *k = hf_arena_calloc(q->a, sizeof *k);
    hf_action_need_t needs[HF_ACTION_NEEDS_MAX];
    int nn = hf_action_for_op(op, action_flags(q, ver), needs);
    if (!k || nn < 0)
        return !k ? -ENOMEM : base;
    request_keys(q, b, key, keylen, ver, text, k);
    hf_access_req_t r;
    memset(&r, 0, sizeof r);
    s3_access_principal(q, &r.principal);
    r.secure_transport = q->r->tls;
    r.now = hf_time_now();
    r.keys = k->kv;
    r.nkeys = k->n;
    s3_peer_ip(q, &r.source_ip);
    char barn[HF_BUCKET_NAME_MAX + 16];
    hf_access_resource_arn(barn, sizeof barn, b->name, NULL);
    char *oarn = NULL;
    if (key) {
        size_t cap = strlen(b->name) + keylen + 16;
        oarn = hf_arena_alloc(q->a, cap);
        if (oarn)
            hf_access_resource_arn(oarn, cap, b->name, key);
    }
    bool all_allowed = true;
    int out = base;
    for (int i = 0; i < nn; i++) {
        if (needs[i].on == HF_ACTION_ON_ACCOUNT || needs[i].on == HF_ACTION_ON_SOURCE)
            continue; /* no bucket policy / the source's own bucket decides */
        r.action = needs[i].action;
        r.resource = needs[i].on == HF_ACTION_ON_OBJECT ? oarn : barn;
        if (!r.resource) {
            all_allowed = false;
            continue;
        }
        hf_access_t d = hf_policy_eval(pol, &r);
        if (d == HF_ACCESS_DENY) {
            out = HF_E_DENIED;
            goto done;
        }
        if (d != HF_ACCESS_ALLOW || restrict_public)
            all_allowed = false;
        else if (strcmp(r.action, "s3:BypassGovernanceRetention") == 0)
            *may_bypass = true;
    }
    if (all_allowed)
        out = HF_OK;
done:
    return out;
}

int s3_access(s3req_t *q, const hf_bucket_t *b, const char *op, const char *key, size_t keylen,
              hf_version_sel_t ver)
{
    bool may_bypass;
    int rc = decide(q, b, op, key, keylen, ver, &may_bypass);
    /* Sticky for the request: a DeleteObjects with one key the caller may
     * not bypass on bypasses on none (the delete is one commit). Without
     * the permission the header counts for nothing, so locked versions
     * stay locked (AccessDenied). */
    if (b == &q->b && !may_bypass)
        q->no_bypass = true;
    return rc;
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

int s3_peer_ip(const s3req_t *q, hf_access_ip_t *out)
{
    /* The server writes "a.b.c.d:port" or "[v6]:port". */
    const char *colon = strrchr(q->r->peer, ':');
    const char *ip = q->r->peer;
    size_t iplen = colon ? (size_t)(colon - ip) : strlen(ip);
    if (iplen >= 2 && ip[0] == '[') {
        ip++;
        iplen -= 2;
    }
    memset(out, 0, sizeof *out);
    return hf_access_ip_parse(ip, iplen, out);
}
