/*
 * acl.c -- access control lists, Object Ownership and Block Public Access:
 * the ACL model and its encoding in meta, canned ACLs and the x-amz-grant-*
 * headers, the AccessControlPolicy document, and the operations
 * Get/PutBucketAcl, Get/PutObjectAcl, Get/Put/DeleteBucketOwnershipControls
 * and Get/Put/DeletePublicAccessBlock.
 *
 * What S3 defines and we follow (AWS "Access control list (ACL) overview",
 * "Controlling ownership of objects and disabling ACLs", "Blocking public
 * access to your Amazon S3 storage"):
 *   - a grant gives one grantee one permission: READ, WRITE, READ_ACP,
 *     WRITE_ACP or FULL_CONTROL (all four). Grantees are canonical users
 *     and the groups AllUsers (anyone, signed or not), AuthenticatedUsers
 *     (any signed request) and LogDelivery; grants by e-mail address are
 *     not offered (S3 offers them only in a few old regions);
 *   - on a bucket READ lists the objects, WRITE creates, overwrites and
 *     deletes any object, READ_ACP/WRITE_ACP read/replace the bucket's ACL;
 *     on an object READ reads the data and metadata, READ_ACP/WRITE_ACP
 *     read/replace the object's ACL (WRITE means nothing on an object);
 *   - canned ACLs expand to grants relative to the resource's owner and,
 *     for objects, the bucket's owner;
 *   - with Object Ownership BucketOwnerEnforced (the default for new
 *     buckets) ACLs are disabled: the bucket owner owns every object, ACLs
 *     grant nothing beyond that, and a request that sets an ACL other than
 *     one giving the bucket owner full control (bucket-owner-full-control
 *     or private, which is the same there) fails with
 *     AccessControlListNotSupported. BucketOwnerPreferred makes the bucket
 *     owner the owner of objects written with bucket-owner-full-control;
 *     ObjectWriter leaves the writer the owner;
 *   - a grant to AllUsers or AuthenticatedUsers is public. With
 *     BlockPublicAcls a request that sets a public ACL is refused
 *     (AccessDenied); with IgnorePublicAcls public grants grant nothing.
 *     New buckets get all four Block Public Access settings on, as S3 does
 *     since April 2023.
 *
 * Encoding (FORMAT-meta.md, tag 0x0e and bucket setting 6): version u8 (1)
 * | count u8 | count x (grantee kind u8 | permission bits u8 | user id
 * u64). User ids, not canonical ids, so a grant survives nothing but its
 * user: a grant to a deleted user is shown with an empty ID and grants
 * nothing. "No ACL stored" means the owner's default (private).
 */
#include "s3/internal.h"

#include "base/err.h"
#include "base/str.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#define ACL_VERSION 1
#define ACL_GRANT_BYTES 10

#define URI_ALL_USERS "http://acs.amazonaws.com/groups/global/AllUsers"
#define URI_AUTH_USERS "http://acs.amazonaws.com/groups/global/AuthenticatedUsers"
#define URI_LOG_DELIVERY "http://acs.amazonaws.com/groups/s3/LogDelivery"

static const struct {
    const char *name;
    unsigned perm;
} perms[] = {
    {"FULL_CONTROL", S3_PERM_FULL}, {"READ", S3_PERM_READ},         {"WRITE", S3_PERM_WRITE},
    {"READ_ACP", S3_PERM_READ_ACP}, {"WRITE_ACP", S3_PERM_WRITE_ACP},
};

static const char *perm_name(unsigned p)
{
    for (size_t i = 0; i < sizeof perms / sizeof perms[0]; i++)
        if (perms[i].perm == p)
            return perms[i].name;
    return NULL;
}

static unsigned perm_by_name(const char *s)
{
    for (size_t i = 0; i < sizeof perms / sizeof perms[0]; i++)
        if (strcmp(perms[i].name, s) == 0)
            return perms[i].perm;
    return 0;
}

/* ---- the model -------------------------------------------------------------- */

static int add_grant(s3_acl_t *acl, uint8_t kind, unsigned perm, uint64_t uid)
{
    /* The same grantee and permission twice is one grant. */
    for (uint32_t i = 0; i < acl->n; i++)
        if (acl->g[i].kind == kind && acl->g[i].perm == perm && acl->g[i].uid == uid)
            return 0;
    if (acl->n == S3_ACL_GRANTS_MAX)
        return -1;
    acl->g[acl->n++] = (s3_grant_t){.kind = kind, .perm = (uint8_t)perm, .uid = uid};
    return 0;
}

void s3_acl_private(s3_acl_t *acl, uint64_t owner)
{
    acl->n = 0;
    add_grant(acl, S3_GRANTEE_USER, S3_PERM_FULL, owner);
}

int s3_acl_decode(const uint8_t *p, size_t n, uint64_t owner, s3_acl_t *acl)
{
    if (n == 0) {
        s3_acl_private(acl, owner);
        return HF_OK;
    }
    if (n < 2 || p[0] != ACL_VERSION || p[1] > S3_ACL_GRANTS_MAX ||
        n != 2 + (size_t)p[1] * ACL_GRANT_BYTES)
        return HF_E_CORRUPT;
    acl->n = p[1];
    for (uint32_t i = 0; i < acl->n; i++) {
        const uint8_t *g = p + 2 + (size_t)i * ACL_GRANT_BYTES;
        uint64_t uid = 0;
        for (int k = 0; k < 8; k++)
            uid = uid << 8 | g[2 + k];
        acl->g[i] = (s3_grant_t){.kind = g[0], .perm = g[1], .uid = uid};
    }
    return HF_OK;
}

bool s3_acl_owner_only(const s3_acl_t *acl, uint64_t owner)
{
    return acl->n == 1 && acl->g[0].kind == S3_GRANTEE_USER && acl->g[0].perm == S3_PERM_FULL &&
           acl->g[0].uid == owner;
}

int s3_acl_encode(s3req_t *q, const s3_acl_t *acl, uint64_t owner, const uint8_t **out, uint32_t *len)
{
    *out = NULL;
    *len = 0;
    if (s3_acl_owner_only(acl, owner))
        return 0;
    size_t n = 2 + (size_t)acl->n * ACL_GRANT_BYTES;
    uint8_t *p = hf_arena_alloc(q->a, n);
    if (!p)
        return s3_fail(q, S3E_InternalError, NULL);
    p[0] = ACL_VERSION;
    p[1] = (uint8_t)acl->n;
    for (uint32_t i = 0; i < acl->n; i++) {
        uint8_t *g = p + 2 + (size_t)i * ACL_GRANT_BYTES;
        g[0] = acl->g[i].kind;
        g[1] = acl->g[i].perm;
        for (int k = 0; k < 8; k++)
            g[2 + k] = (uint8_t)(acl->g[i].uid >> (56 - 8 * k));
    }
    *out = p;
    *len = (uint32_t)n;
    return 0;
}

bool s3_acl_public(const s3_acl_t *acl)
{
    for (uint32_t i = 0; i < acl->n; i++)
        if (acl->g[i].kind == S3_GRANTEE_ALL_USERS || acl->g[i].kind == S3_GRANTEE_AUTH_USERS)
            return true;
    return false;
}

unsigned s3_acl_perms(const s3_acl_t *acl, const s3req_t *q, bool ignore_public)
{
    unsigned have = 0;
    for (uint32_t i = 0; i < acl->n; i++) {
        const s3_grant_t *g = &acl->g[i];
        bool match = false;
        switch (g->kind) {
        case S3_GRANTEE_USER: match = !q->anonymous && g->uid == q->user.id; break;
        case S3_GRANTEE_ALL_USERS: match = !ignore_public; break;
        case S3_GRANTEE_AUTH_USERS: match = !ignore_public && !q->anonymous; break;
        default: break; /* LogDelivery: no such service here */
        }
        if (match)
            have |= g->perm;
    }
    return have;
}

/* ---- what a request asks for ---------------------------------------------------- */

/* A canned ACL for a resource owned by owner (bucket_owner: the bucket's,
 * for the two canned ACLs about it). 0, or -1 when name is not one. */
static int canned(const char *name, bool for_bucket, uint64_t owner, uint64_t bucket_owner,
                  s3_acl_t *acl)
{
    s3_acl_private(acl, owner);
    if (strcmp(name, "private") == 0)
        return 0;
    if (strcmp(name, "public-read") == 0)
        return add_grant(acl, S3_GRANTEE_ALL_USERS, S3_PERM_READ, 0);
    if (strcmp(name, "public-read-write") == 0) {
        add_grant(acl, S3_GRANTEE_ALL_USERS, S3_PERM_READ, 0);
        return add_grant(acl, S3_GRANTEE_ALL_USERS, S3_PERM_WRITE, 0);
    }
    if (strcmp(name, "authenticated-read") == 0)
        return add_grant(acl, S3_GRANTEE_AUTH_USERS, S3_PERM_READ, 0);
    if (!for_bucket && strcmp(name, "bucket-owner-read") == 0)
        return add_grant(acl, S3_GRANTEE_USER, S3_PERM_READ, bucket_owner);
    if (!for_bucket && strcmp(name, "bucket-owner-full-control") == 0)
        return add_grant(acl, S3_GRANTEE_USER, S3_PERM_FULL, bucket_owner);
    return -1;
}

/* The user whose canonical id is id (64 hex digits), or 0. */
static uint64_t user_by_canonical(s3req_t *q, const char *id, size_t n)
{
    if (n != 64)
        return 0;
    if (!q->anonymous && strncasecmp(q->user.canonical_id, id, 64) == 0)
        return q->user.id;
    hf_user_t *users;
    size_t nu;
    if (hf_meta_user_list(q->s3->meta, q->a, &users, &nu) != HF_OK)
        return 0;
    for (size_t i = 0; i < nu; i++)
        if (strncasecmp(users[i].canonical_id, id, 64) == 0)
            return users[i].id;
    return 0;
}

/* One grantee of an x-amz-grant-* header value: id="...", uri="..." or
 * emailAddress="..." (quotes optional). */
static int grant_header_item(s3req_t *q, const char *s, size_t n, unsigned perm, s3_acl_t *acl)
{
    while (n && (*s == ' ' || *s == '\t'))
        s++, n--;
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    const char *eq = memchr(s, '=', n);
    if (!eq)
        return s3_fail(q, S3E_InvalidArgument, "A grantee in x-amz-grant-* is type=\"value\": %.*s",
                       (int)(n > 100 ? 100 : n), s);
    size_t tl = (size_t)(eq - s);
    const char *v = eq + 1;
    size_t vl = n - tl - 1;
    if (vl >= 2 && v[0] == '"' && v[vl - 1] == '"') {
        v++;
        vl -= 2;
    }
    if (tl == 2 && strncasecmp(s, "id", 2) == 0) {
        uint64_t uid = user_by_canonical(q, v, vl);
        if (!uid)
            return s3_fail(q, S3E_InvalidArgument, "Invalid id: no user has the canonical id %.*s",
                           (int)(vl > 100 ? 100 : vl), v);
        return add_grant(acl, S3_GRANTEE_USER, perm, uid) ? s3_fail(q, S3E_MalformedACLError, "Too many grants.")
                                                          : 0;
    }
    if (tl == 3 && strncasecmp(s, "uri", 3) == 0) {
        uint8_t kind = 0;
        if (vl == strlen(URI_ALL_USERS) && memcmp(v, URI_ALL_USERS, vl) == 0)
            kind = S3_GRANTEE_ALL_USERS;
        else if (vl == strlen(URI_AUTH_USERS) && memcmp(v, URI_AUTH_USERS, vl) == 0)
            kind = S3_GRANTEE_AUTH_USERS;
        else if (vl == strlen(URI_LOG_DELIVERY) && memcmp(v, URI_LOG_DELIVERY, vl) == 0)
            kind = S3_GRANTEE_LOG_DELIVERY;
        if (!kind)
            return s3_fail(q, S3E_InvalidArgument, "Invalid group uri: %.*s", (int)(vl > 100 ? 100 : vl), v);
        return add_grant(acl, kind, perm, 0) ? s3_fail(q, S3E_MalformedACLError, "Too many grants.") : 0;
    }
    if (tl == 12 && strncasecmp(s, "emailAddress", 12) == 0)
        return s3_fail(q, S3E_UnresolvableGrantByEmailAddress, NULL);
    return s3_fail(q, S3E_InvalidArgument, "Unknown grantee type %.*s in x-amz-grant-*", (int)(tl > 40 ? 40 : tl), s);
}

static const struct {
    const char *header;
    unsigned perm;
} grant_headers[] = {
    {"x-amz-grant-read", S3_PERM_READ},         {"x-amz-grant-write", S3_PERM_WRITE},
    {"x-amz-grant-read-acp", S3_PERM_READ_ACP}, {"x-amz-grant-write-acp", S3_PERM_WRITE_ACP},
    {"x-amz-grant-full-control", S3_PERM_FULL},
};

/* The bucket's Object Ownership (HF_BUCKET_OWNER_* or 0 for ObjectWriter). */
static uint32_t ownership(const hf_bucket_t *b)
{
    return b->flags & (HF_BUCKET_OWNER_PREFERRED | HF_BUCKET_OWNER_ENFORCED);
}

int s3_acl_request(s3req_t *q, const hf_bucket_t *b, bool for_bucket, uint64_t owner, s3_acl_t *acl,
                   bool *given, bool *bucket_owner_full)
{
    *given = false;
    if (bucket_owner_full)
        *bucket_owner_full = false;
    const char *cn = s3_header(q, "x-amz-acl");
    bool any_grant = false;
    for (size_t i = 0; i < sizeof grant_headers / sizeof grant_headers[0]; i++)
        if (hf_http_find(&q->r->http, grant_headers[i].header))
            any_grant = true;
    if (!cn && !any_grant) {
        s3_acl_private(acl, owner);
        return 0;
    }
    if (cn && any_grant)
        return s3_fail(q, S3E_InvalidRequest, "Specifying both Canned ACLs and Header Grants is not allowed");
    *given = true;
    if (cn) {
        if (strcmp(cn, "aws-exec-read") == 0 || strcmp(cn, "log-delivery-write") == 0)
            return s3_not_implemented(q, "The canned ACLs aws-exec-read and log-delivery-write");
        if (canned(cn, for_bucket, owner, b ? b->owner : owner, acl))
            return s3_fail_arg(q, "x-amz-acl", cn, "Invalid canned ACL %.60s", cn);
        if (bucket_owner_full)
            *bucket_owner_full = strcmp(cn, "bucket-owner-full-control") == 0;
    } else {
        acl->n = 0;
        /* Header grants replace the ACL: the owner keeps full control only
         * if a header says so, as in S3. */
        const hf_http_req_t *h = &q->r->http;
        for (size_t k = 0; k < sizeof grant_headers / sizeof grant_headers[0]; k++)
            for (int i = 0; i < h->nheaders; i++) {
                hf_str_t nm = h->headers[i].name;
                if (!hf_strn_ieq(nm.p, nm.n, grant_headers[k].header))
                    continue;
                hf_str_t v = h->headers[i].value;
                size_t off = 0;
                while (off <= v.n) {
                    const char *c = memchr(v.p + off, ',', v.n - off);
                    size_t end = c ? (size_t)(c - v.p) : v.n;
                    if (end > off && grant_header_item(q, v.p + off, end - off, grant_headers[k].perm, acl))
                        return -1;
                    off = end + 1;
                }
            }
    }
    return s3_acl_admissible(q, b, acl, owner);
}

int s3_acl_admissible(s3req_t *q, const hf_bucket_t *b, const s3_acl_t *acl, uint64_t owner)
{
    if (!b)
        return 0;
    if (ownership(b) == HF_BUCKET_OWNER_ENFORCED) {
        /* Only "the bucket owner has full control" may be said. */
        bool ok = true;
        for (uint32_t i = 0; i < acl->n; i++)
            if (!(acl->g[i].kind == S3_GRANTEE_USER && acl->g[i].uid == b->owner &&
                  acl->g[i].perm == S3_PERM_FULL) &&
                !(acl->g[i].kind == S3_GRANTEE_USER && acl->g[i].uid == owner && owner == b->owner))
                ok = false;
        if (!ok)
            return s3_fail(q, S3E_AccessControlListNotSupported, NULL);
    }
    if ((b->flags & HF_BUCKET_PAB_BLOCK_ACLS) && s3_acl_public(acl))
        return s3_fail(q, S3E_AccessDenied,
                       "Access Denied because the bucket's Block Public Access setting BlockPublicAcls "
                       "refuses public ACLs.");
    return 0;
}

uint64_t s3_object_owner(s3req_t *q, bool bucket_owner_full)
{
    uint32_t o = ownership(&q->b);
    if (o == HF_BUCKET_OWNER_ENFORCED || (o == HF_BUCKET_OWNER_PREFERRED && bucket_owner_full))
        return q->b.owner;
    return q->user.id;
}

int s3_write_acl(s3req_t *q, hf_obj_t *o)
{
    const char *cn = s3_header(q, "x-amz-acl");
    uint64_t owner = s3_object_owner(q, cn && strcmp(cn, "bucket-owner-full-control") == 0);
    s3_acl_t *acl = hf_arena_alloc(q->a, sizeof *acl);
    bool given;
    if (!acl)
        return s3_fail(q, S3E_InternalError, NULL);
    if (s3_acl_request(q, &q->b, false, owner, acl, &given, NULL))
        return -1;
    o->owner = owner;
    o->acl = NULL;
    o->acl_len = 0;
    if (ownership(&q->b) == HF_BUCKET_OWNER_ENFORCED)
        return 0; /* ACLs are off: nothing to keep */
    return s3_acl_encode(q, acl, owner, &o->acl, &o->acl_len);
}

/* ---- the AccessControlPolicy document ---------------------------------------------- */

static void acl_xml(s3req_t *q, hf_buf_t *b, uint64_t owner, const s3_acl_t *acl)
{
    hf_xml_decl(b);
    hf_xml_open_ns(b, "AccessControlPolicy");
    s3_owner_xml(q, b, owner);
    hf_xml_open(b, "AccessControlList");
    for (uint32_t i = 0; i < acl->n; i++) {
        const s3_grant_t *g = &acl->g[i];
        const char *pn = perm_name(g->perm);
        if (!pn)
            continue;
        hf_xml_open(b, "Grant");
        if (g->kind == S3_GRANTEE_USER) {
            hf_buf_puts(b, "<Grantee xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" "
                           "xsi:type=\"CanonicalUser\">");
            hf_user_t scratch;
            const hf_user_t *u = s3_user(q, g->uid, &scratch);
            hf_xml_elem_str(b, "ID", u ? u->canonical_id : "");
            if (u)
                hf_xml_elem_str(b, "DisplayName", u->name);
        } else {
            hf_buf_puts(b, "<Grantee xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" "
                           "xsi:type=\"Group\">");
            hf_xml_elem_str(b, "URI", g->kind == S3_GRANTEE_ALL_USERS    ? URI_ALL_USERS
                                      : g->kind == S3_GRANTEE_AUTH_USERS ? URI_AUTH_USERS
                                                                         : URI_LOG_DELIVERY);
        }
        hf_xml_close(b, "Grantee");
        hf_xml_elem_str(b, "Permission", pn);
        hf_xml_close(b, "Grant");
    }
    hf_xml_close(b, "AccessControlList");
    hf_xml_close(b, "AccessControlPolicy");
}

static void send_acl(s3req_t *q, uint64_t owner, const s3_acl_t *acl)
{
    hf_buf_t b;
    hf_buf_init(&b, 64 * 1024);
    acl_xml(q, &b, owner, acl);
    s3_send_xml(q, &b);
}

/* The ACL a PutBucketAcl / PutObjectAcl asks for: the headers, or the
 * AccessControlPolicy body. The Owner in a body must be the resource's
 * owner (an ACL cannot hand a resource to someone else). */
static int acl_from_put(s3req_t *q, bool for_bucket, uint64_t owner, s3_acl_t *acl)
{
    bool given;
    if (s3_acl_request(q, &q->b, for_bucket, owner, acl, &given, NULL))
        return -1;
    if (!s3_body_length_known(q))
        return s3_fail(q, S3E_MissingContentLength, NULL);
    const char *dl = s3_header(q, "x-amz-decoded-content-length");
    bool has_body = s3_streaming(q) ? dl && strcmp(dl, "0") != 0 : hf_req_content_length(q->r) > 0;
    if (given && has_body)
        return s3_fail(q, S3E_UnexpectedContent, "This request does not support content alongside ACL headers");
    if (given)
        return 0;
    if (!has_body)
        return s3_fail(q, S3E_MissingSecurityHeader, "Your request was missing a required header: x-amz-acl");
    hf_xml_node_t *root;
    if (s3_read_xml(q, "AccessControlPolicy", false, &root))
        return -1;
    const hf_xml_node_t *own = hf_xml_child(root, "Owner");
    const char *oid = own ? hf_xml_child_text(own, "ID") : NULL;
    if (oid) {
        hf_user_t scratch;
        const hf_user_t *u = s3_user(q, owner, &scratch);
        if (!u || strcasecmp(u->canonical_id, oid) != 0)
            return s3_fail(q, S3E_AccessDenied, "The Owner in the ACL is not the owner of the resource.");
    }
    const hf_xml_node_t *list = hf_xml_child(root, "AccessControlList");
    acl->n = 0;
    if (!list)
        return s3_fail(q, S3E_MalformedACLError, "The AccessControlPolicy has no AccessControlList.");
    for (const hf_xml_node_t *g = hf_xml_child(list, "Grant"); g; g = hf_xml_next(g)) {
        const hf_xml_node_t *ge = hf_xml_child(g, "Grantee");
        const char *pn = hf_xml_child_text(g, "Permission");
        unsigned perm = pn ? perm_by_name(pn) : 0;
        if (!ge || !perm)
            return s3_fail(q, S3E_MalformedACLError, "Every Grant needs a Grantee and a Permission "
                                                     "(FULL_CONTROL, READ, WRITE, READ_ACP or WRITE_ACP).");
        const char *id = hf_xml_child_text(ge, "ID");
        const char *uri = hf_xml_child_text(ge, "URI");
        const char *mail = hf_xml_child_text(ge, "EmailAddress");
        char item[256];
        if (id)
            snprintf(item, sizeof item, "id=%.200s", id);
        else if (uri)
            snprintf(item, sizeof item, "uri=%.200s", uri);
        else if (mail)
            snprintf(item, sizeof item, "emailAddress=%.200s", mail);
        else
            return s3_fail(q, S3E_MalformedACLError, "A Grantee names an ID, a URI or an EmailAddress.");
        if (grant_header_item(q, item, strlen(item), perm, acl))
            return -1;
    }
    return s3_acl_admissible(q, &q->b, acl, owner);
}

/* ---- bucket ACL ----------------------------------------------------------------- */

int s3_bucket_acl_get(s3req_t *q, const hf_bucket_t *b, s3_acl_t *acl)
{
    if (!(b->flags & HF_BUCKET_HAS_ACL) || ownership(b) == HF_BUCKET_OWNER_ENFORCED) {
        s3_acl_private(acl, b->owner);
        return HF_OK;
    }
    const uint8_t *d;
    size_t n;
    int rc = hf_meta_bucket_cfg_get(q->s3->meta, b->id, HF_BCFG_ACL, q->a, &d, &n);
    if (rc == HF_E_NOTFOUND) {
        s3_acl_private(acl, b->owner);
        return HF_OK;
    }
    return rc ? rc : s3_acl_decode(d, n, b->owner, acl);
}

int s3_bucket_acl(s3req_t *q, s3_acl_t *acl)
{
    int rc = s3_bucket_acl_get(q, &q->b, acl);
    return rc ? s3_fail(q, hf_s3_err_from(rc), NULL) : 0;
}

int s3_store_bucket_acl(s3req_t *q, const s3_acl_t *acl)
{
    const uint8_t *enc;
    uint32_t len;
    if (s3_acl_encode(q, acl, q->b.owner, &enc, &len))
        return -1;
    int rc = hf_meta_bucket_update(q->s3->meta, &q->b, HF_BUCKET_HAS_ACL, len ? HF_BUCKET_HAS_ACL : 0,
                                   HF_BCFG_ACL, enc, len);
    if (rc)
        return s3_fail(q, rc == HF_E_NOTFOUND ? S3E_NoSuchBucket : hf_s3_err_from(rc), NULL);
    return 0;
}

void op_get_bucket_acl(s3req_t *q)
{
    s3_acl_t *acl = hf_arena_alloc(q->a, sizeof *acl);
    if (!acl) {
        s3_fail(q, S3E_InternalError, NULL);
        return;
    }
    if (s3_load_bucket(q) || s3_bucket_acl(q, acl))
        return;
    send_acl(q, q->b.owner, acl);
}

void op_put_bucket_acl(s3req_t *q)
{
    s3_acl_t *acl = hf_arena_alloc(q->a, sizeof *acl);
    if (!acl) {
        s3_fail(q, S3E_InternalError, NULL);
        return;
    }
    if (s3_load_bucket(q))
        return;
    if (ownership(&q->b) == HF_BUCKET_OWNER_ENFORCED) {
        /* S3 still takes the one ACL that says what enforcement means. */
        if (acl_from_put(q, true, q->b.owner, acl))
            return;
        s3_common_headers(q);
        hf_resp_send(q->r, 200, NULL, 0);
        return;
    }
    if (acl_from_put(q, true, q->b.owner, acl) || s3_store_bucket_acl(q, acl))
        return;
    s3_common_headers(q);
    hf_resp_send(q->r, 200, NULL, 0);
}

/* ---- object ACL ------------------------------------------------------------------- */

int s3_object_acl(s3req_t *q, const hf_obj_t *o, s3_acl_t *acl)
{
    if (ownership(&q->b) == HF_BUCKET_OWNER_ENFORCED) {
        s3_acl_private(acl, q->b.owner);
        return 0;
    }
    int rc = s3_acl_decode(o->acl, o->acl_len, o->owner, acl);
    if (rc)
        return s3_fail(q, hf_s3_err_from(rc), NULL);
    return 0;
}

uint64_t s3_effective_owner(const s3req_t *q, const hf_obj_t *o)
{
    return ownership(&q->b) == HF_BUCKET_OWNER_ENFORCED ? q->b.owner : o->owner;
}

void op_get_object_acl(s3req_t *q)
{
    s3_acl_t *acl = hf_arena_alloc(q->a, sizeof *acl);
    if (!acl) {
        s3_fail(q, S3E_InternalError, NULL);
        return;
    }
    if (s3_load_bucket(q))
        return;
    hf_obj_t o;
    if (s3_load_version(q, &o) || s3_object_acl(q, &o, acl))
        return;
    s3_version_header(q, o.version);
    send_acl(q, s3_effective_owner(q, &o), acl);
}

void op_put_object_acl(s3req_t *q)
{
    s3_acl_t *acl = hf_arena_alloc(q->a, sizeof *acl);
    if (!acl) {
        s3_fail(q, S3E_InternalError, NULL);
        return;
    }
    if (s3_load_bucket(q))
        return;
    hf_obj_t o;
    if (s3_load_version(q, &o))
        return;
    uint64_t owner = s3_effective_owner(q, &o);
    if (acl_from_put(q, false, owner, acl))
        return;
    if (ownership(&q->b) == HF_BUCKET_OWNER_ENFORCED) {
        s3_version_header(q, o.version);
        s3_common_headers(q);
        hf_resp_send(q->r, 200, NULL, 0);
        return;
    }
    hf_obj_update_t u = {.set_acl = true};
    if (s3_acl_encode(q, acl, o.owner, &u.acl, &u.acl_len))
        return;
    uint8_t ver[16];
    int rc = hf_meta_obj_update(q->s3->meta, &q->b, q->key, q->keylen, o.version, &u, ver);
    if (rc == HF_E_INVAL) {
        s3_fail_method(q, "DeleteMarker", "DELETE"); /* a delete marker */
        return;
    }
    if (rc) {
        s3_fail(q, rc == HF_E_NOTFOUND ? S3E_NoSuchKey : hf_s3_err_from(rc), NULL);
        return;
    }
    s3_version_header(q, ver);
    s3_common_headers(q);
    hf_resp_send(q->r, 200, NULL, 0);
}

/* Change q->b's flags and answer status (200 or 204). */
static void set_flags(s3req_t *q, uint32_t clear, uint32_t set, int status)
{
    int rc = hf_meta_bucket_update(q->s3->meta, &q->b, clear, set, 0, NULL, 0);
    if (rc) {
        s3_fail(q, rc == HF_E_NOTFOUND ? S3E_NoSuchBucket : hf_s3_err_from(rc), NULL);
        return;
    }
    s3_common_headers(q);
    hf_resp_send(q->r, status, NULL, 0);
}

/* ---- Object Ownership ---------------------------------------------------------------- */

static const struct {
    const char *name;
    uint32_t bits;
} owner_modes[] = {
    {"BucketOwnerEnforced", HF_BUCKET_OWNER_ENFORCED},
    {"BucketOwnerPreferred", HF_BUCKET_OWNER_PREFERRED},
    {"ObjectWriter", 0},
};

int hf_s3_ownership_bits(const char *name, uint32_t *bits)
{
    for (size_t i = 0; i < sizeof owner_modes / sizeof owner_modes[0]; i++)
        if (strcmp(owner_modes[i].name, name) == 0) {
            *bits = owner_modes[i].bits;
            return HF_OK;
        }
    return HF_E_INVAL;
}

int s3_ownership_parse(s3req_t *q, const char *v, uint32_t *bits)
{
    if (hf_s3_ownership_bits(v, bits) == HF_OK)
        return 0;
    return s3_fail_arg(q, "x-amz-object-ownership", v,
                       "Invalid x-amz-object-ownership / ObjectOwnership: %.40s (BucketOwnerEnforced, "
                       "BucketOwnerPreferred or ObjectWriter)", v);
}

void op_get_bucket_ownership(s3req_t *q)
{
    if (s3_load_bucket(q))
        return;
    if (!(q->b.flags & HF_BUCKET_OWNERSHIP)) {
        s3_fail(q, S3E_OwnershipControlsNotFoundError, NULL);
        return;
    }
    const char *name = "ObjectWriter";
    for (size_t i = 0; i < sizeof owner_modes / sizeof owner_modes[0]; i++)
        if (owner_modes[i].bits == ownership(&q->b))
            name = owner_modes[i].name;
    hf_buf_t b;
    hf_buf_init(&b, 1024);
    hf_xml_decl(&b);
    hf_xml_open_ns(&b, "OwnershipControls");
    hf_xml_open(&b, "Rule");
    hf_xml_elem_str(&b, "ObjectOwnership", name);
    hf_xml_close(&b, "Rule");
    hf_xml_close(&b, "OwnershipControls");
    s3_send_xml(q, &b);
}

void op_put_bucket_ownership(s3req_t *q)
{
    if (s3_load_bucket(q))
        return;
    hf_xml_node_t *root;
    if (s3_read_xml(q, "OwnershipControls", false, &root))
        return;
    const hf_xml_node_t *rule = hf_xml_child(root, "Rule");
    const char *v = rule ? hf_xml_child_text(rule, "ObjectOwnership") : NULL;
    if (!rule || !v || hf_xml_next(rule)) {
        s3_fail(q, S3E_MalformedXML, "OwnershipControls holds exactly one Rule with an ObjectOwnership.");
        return;
    }
    uint32_t bits;
    if (s3_ownership_parse(q, v, &bits))
        return;
    /* S3: enforcing ownership is refused while the bucket ACL grants
     * anyone but the owner anything (it would silently stop working). */
    if (bits == HF_BUCKET_OWNER_ENFORCED && ownership(&q->b) != HF_BUCKET_OWNER_ENFORCED) {
        s3_acl_t *acl = hf_arena_alloc(q->a, sizeof *acl);
        if (!acl) {
            s3_fail(q, S3E_InternalError, NULL);
            return;
        }
        if (s3_bucket_acl(q, acl))
            return;
        for (uint32_t i = 0; i < acl->n; i++)
            if (!(acl->g[i].kind == S3_GRANTEE_USER && acl->g[i].uid == q->b.owner)) {
                s3_fail(q, S3E_InvalidBucketAclWithObjectOwnership, NULL);
                return;
            }
    }
    set_flags(q, HF_BUCKET_OWNERSHIP_ALL, HF_BUCKET_OWNERSHIP | bits, 200);
}

void op_delete_bucket_ownership(s3req_t *q)
{
    if (s3_load_bucket(q))
        return;
    /* Without ownership controls a bucket is ObjectWriter (as S3's buckets
     * from before 2023 are). */
    set_flags(q, HF_BUCKET_OWNERSHIP_ALL, 0, 204);
}

/* ---- Block Public Access ------------------------------------------------------------- */

static const struct {
    const char *name;
    uint32_t bit;
} pab_fields[] = {
    {"BlockPublicAcls", HF_BUCKET_PAB_BLOCK_ACLS},
    {"IgnorePublicAcls", HF_BUCKET_PAB_IGNORE_ACLS},
    {"BlockPublicPolicy", HF_BUCKET_PAB_BLOCK_POLICY},
    {"RestrictPublicBuckets", HF_BUCKET_PAB_RESTRICT},
};

void op_get_public_access_block(s3req_t *q)
{
    if (s3_load_bucket(q))
        return;
    if (!(q->b.flags & HF_BUCKET_PAB)) {
        s3_fail(q, S3E_NoSuchPublicAccessBlockConfiguration, NULL);
        return;
    }
    hf_buf_t b;
    hf_buf_init(&b, 1024);
    hf_xml_decl(&b);
    hf_xml_open_ns(&b, "PublicAccessBlockConfiguration");
    for (size_t i = 0; i < sizeof pab_fields / sizeof pab_fields[0]; i++)
        hf_xml_elem_bool(&b, pab_fields[i].name, (q->b.flags & pab_fields[i].bit) != 0);
    hf_xml_close(&b, "PublicAccessBlockConfiguration");
    s3_send_xml(q, &b);
}

void op_put_public_access_block(s3req_t *q)
{
    if (s3_load_bucket(q))
        return;
    hf_xml_node_t *root;
    if (s3_read_xml(q, "PublicAccessBlockConfiguration", false, &root))
        return;
    uint32_t set = HF_BUCKET_PAB;
    for (size_t i = 0; i < sizeof pab_fields / sizeof pab_fields[0]; i++) {
        const char *v = hf_xml_child_text(root, pab_fields[i].name);
        if (!v)
            continue; /* absent: false, as in S3 */
        if (strcmp(v, "true") == 0)
            set |= pab_fields[i].bit;
        else if (strcmp(v, "false") != 0) {
            s3_fail(q, S3E_MalformedXML, "%s must be true or false.", pab_fields[i].name);
            return;
        }
    }
    set_flags(q, HF_BUCKET_PAB_ALL, set, 200);
}

void op_delete_public_access_block(s3req_t *q)
{
    if (s3_load_bucket(q))
        return;
    set_flags(q, HF_BUCKET_PAB_ALL, 0, 204);
}
