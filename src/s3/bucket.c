/*
 * bucket.c -- bucket operations: ListBuckets, CreateBucket, HeadBucket,
 * DeleteBucket, GetBucketLocation, and the read-only views of settings
 * holdfast does not let anyone change yet (versioning, ACL), which answer
 * with the state that is actually in force.
 */
#include "s3/internal.h"

#include "base/err.h"
#include "base/str.h"
#include "base/time.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

int hf_s3_bucket_name_valid(const char *name)
{
    size_t n = strlen(name);
    if (n < HF_BUCKET_NAME_MIN || n > HF_BUCKET_NAME_MAX)
        return 0;
    bool all_digits_dots = true;
    int dots = 0;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        bool lower = c >= 'a' && c <= 'z', digit = c >= '0' && c <= '9';
        if (!lower && !digit && c != '.' && c != '-')
            return 0;
        if (c == '.') {
            dots++;
            if (i > 0 && name[i - 1] == '.')
                return 0;
        }
        if (!digit && c != '.')
            all_digits_dots = false;
    }
    char first = name[0], last = name[n - 1];
    if (!((first >= 'a' && first <= 'z') || (first >= '0' && first <= '9')))
        return 0;
    if (!((last >= 'a' && last <= 'z') || (last >= '0' && last <= '9')))
        return 0;
    if (all_digits_dots && dots == 3)
        return 0; /* looks like an IPv4 address */
    static const char *const bad_prefix[] = {"xn--", "sthree-", "amzn-s3-demo-", NULL};
    static const char *const bad_suffix[] = {"-s3alias", "--ol-s3", ".mrap", "--x-s3",
                                             "--table-s3", NULL};
    for (int i = 0; bad_prefix[i]; i++)
        if (strncmp(name, bad_prefix[i], strlen(bad_prefix[i])) == 0)
            return 0;
    for (int i = 0; bad_suffix[i]; i++) {
        size_t l = strlen(bad_suffix[i]);
        if (n >= l && strcmp(name + n - l, bad_suffix[i]) == 0)
            return 0;
    }
    return 1;
}

/* ListBuckets pages: S3 allows max-buckets from 1 to 10000. */
#define LIST_BUCKETS_PAGE_MAX 10000

/* The continuation token of a ListBuckets page: opaque to clients (base64
 * of the last bucket name shown), so a token that does not decode to a
 * bucket name is refused as S3 refuses a token it did not issue. *after
 * NULL when the parameter is absent. 0 or -1 after s3_fail. */
static int bucket_token(s3req_t *q, const char **after)
{
    *after = NULL;
    const char *tok = s3_param(q, "continuation-token");
    if (!tok)
        return 0;
    size_t n = strlen(tok);
    char name[HF_BUCKET_NAME_MAX + 1];
    int k = n && n <= hf_base64_len(HF_BUCKET_NAME_MAX)
                ? hf_base64_decode(name, sizeof name - 1, tok, n)
                : -1;
    if (k > 0)
        name[k] = '\0';
    if (k <= 0 || !hf_s3_bucket_name_valid(name))
        return s3_fail_arg(q, "continuation-token", tok, "The continuation token provided is incorrect");
    *after = hf_arena_strdup(q->a, name);
    return *after ? 0 : s3_fail(q, S3E_InternalError, NULL);
}

void op_list_buckets(s3req_t *q)
{
    const char *prefix, *region = s3_param(q, "bucket-region"), *after;
    if (s3_param_text(q, "prefix", &prefix) || bucket_token(q, &after))
        return;
    uint32_t max = LIST_BUCKETS_PAGE_MAX;
    const char *mb = s3_param(q, "max-buckets");
    if (mb) {
        uint64_t v;
        if (hf_parse_u64(mb, strlen(mb), &v) != HF_OK || v < 1 || v > LIST_BUCKETS_PAGE_MAX) {
            s3_fail_arg(q, "max-buckets", mb, "Argument max-buckets must be an integer between 1 and %d.",
                        LIST_BUCKETS_PAGE_MAX);
            return;
        }
        max = (uint32_t)v;
    }
    hf_bucket_t *bs = NULL;
    size_t n = 0;
    int rc = hf_meta_bucket_list(q->s3->meta, q->user.id, q->a, &bs, &n);
    if (rc) {
        s3_fail(q, hf_s3_err_from(rc), NULL);
        return;
    }
    hf_buf_t b;
    hf_buf_init(&b, HF_RESP_XML_MAX);
    hf_xml_decl(&b);
    hf_xml_open_ns(&b, "ListAllMyBucketsResult");
    s3_owner_xml(q, &b, q->user.id);
    hf_xml_open(&b, "Buckets");
    uint32_t shown = 0;
    const char *last = NULL;
    bool more = false;
    const char *my_region = q->s3->region;
    for (size_t i = 0; i < n; i++) {
        const hf_bucket_t *bk = &bs[i];
        if (prefix && strncmp(bk->name, prefix, strlen(prefix)) != 0)
            continue;
        if (after && strcmp(bk->name, after) <= 0)
            continue;
        if (region && strcmp(region, my_region) != 0)
            continue;
        if (shown == max) {
            more = true;
            break;
        }
        char date[32];
        hf_time_iso8601(date, bk->created);
        hf_xml_open(&b, "Bucket");
        hf_xml_elem_str(&b, "Name", bk->name);
        hf_xml_elem_str(&b, "CreationDate", date);
        hf_xml_elem_str(&b, "BucketRegion", my_region);
        hf_xml_close(&b, "Bucket");
        last = bk->name;
        shown++;
    }
    hf_xml_close(&b, "Buckets");
    if (more && last) {
        char tok[4 * ((HF_BUCKET_NAME_MAX + 2) / 3) + 1];
        hf_base64_encode(tok, last, strlen(last));
        hf_xml_elem_str(&b, "ContinuationToken", tok);
    }
    if (prefix)
        hf_xml_elem_str(&b, "Prefix", prefix);
    hf_xml_close(&b, "ListAllMyBucketsResult");
    s3_send_xml(q, &b);
}

/* CreateBucketConfiguration: only LocationConstraint means anything here. */
static int read_create_config(s3req_t *q, char *region, size_t cap)
{
    region[0] = '\0';
    if (hf_req_content_length(q->r) <= 0 && !s3_streaming(q))
        return 0;
    hf_xml_node_t *root;
    if (s3_read_xml(q, "CreateBucketConfiguration", true, &root))
        return -1;
    if (!root)
        return 0;
    for (hf_xml_node_t *c = root->child; c; c = c->next) {
        if (strcmp(c->name, "LocationConstraint") == 0) {
            snprintf(region, cap, "%s", c->text ? c->text : "");
        } else {
            char what[96];
            snprintf(what, sizeof what, "CreateBucketConfiguration/%.60s", c->name);
            return s3_not_implemented(q, what);
        }
    }
    return 0;
}

/* CreateBucket of a bucket the caller already owns. In us-east-1 S3 keeps
 * a legacy promise: 200, and the bucket's ACL is reset to what the request
 * asks (private when it asks nothing); every other region answers
 * BucketAlreadyOwnedByYou. The region is the server's (--region). */
static void create_again(s3req_t *q, const s3_acl_t *acl)
{
    if (strcmp(q->s3->region, "us-east-1") != 0) {
        s3_fail(q, S3E_BucketAlreadyOwnedByYou, NULL);
        return;
    }
    int rc = hf_meta_bucket_get(q->s3->meta, q->bucket, &q->b);
    if (rc) {
        s3_fail(q, rc == HF_E_NOTFOUND ? S3E_NoSuchBucket : hf_s3_err_from(rc), NULL);
        return;
    }
    if (q->b.owner != q->user.id) { /* deleted and taken by someone else meanwhile */
        s3_fail(q, S3E_BucketAlreadyExists, NULL);
        return;
    }
    if (s3_acl_admissible(q, &q->b, acl, q->user.id) || s3_store_bucket_acl(q, acl))
        return;
    s3_common_headers(q);
    hf_resp_headerf(q->r, "Location", "/%s", q->bucket);
    hf_resp_send(q->r, 200, NULL, 0);
}

void op_create_bucket(s3req_t *q)
{
    if (q->user.flags & HF_USER_NO_CREATE_BUCKET) {
        s3_fail(q, S3E_AccessDenied, "This user may not create buckets.");
        return;
    }
    if (!hf_s3_bucket_name_valid(q->bucket)) {
        s3_fail(q, S3E_InvalidBucketName, "The specified bucket is not valid: bucket names are 3 to "
                                          "63 lower-case letters, digits, dots and hyphens.");
        return;
    }
    const char *lock = s3_header(q, "x-amz-bucket-object-lock-enabled");
    if (lock && strcasecmp(lock, "true") != 0 && strcasecmp(lock, "false") != 0) {
        s3_fail_arg(q, "x-amz-bucket-object-lock-enabled", lock,
                    "x-amz-bucket-object-lock-enabled must be true or false.");
        return;
    }
    /* New buckets get the operator's defaults (hf_s3_t.new_bucket_flags:
     * BucketOwnerEnforced with every Block Public Access setting on unless
     * told otherwise, as S3 creates them since April 2023); an
     * x-amz-object-ownership header wins over the default ownership. */
    uint32_t defaults = q->s3->new_bucket_flags;
    uint32_t own_bits = defaults & (HF_BUCKET_OWNER_ENFORCED | HF_BUCKET_OWNER_PREFERRED);
    const char *own = s3_header(q, "x-amz-object-ownership");
    if (own && s3_ownership_parse(q, own, &own_bits))
        return;
    s3_acl_t *acl = hf_arena_alloc(q->a, sizeof *acl);
    bool acl_given;
    if (!acl) {
        s3_fail(q, S3E_InternalError, NULL);
        return;
    }
    if (s3_acl_request(q, NULL, true, q->user.id, acl, &acl_given, NULL))
        return;
    char region[HF_REGION_MAX + 1];
    if (read_create_config(q, region, sizeof region))
        return;
    if (region[0] && strcmp(region, q->s3->region) != 0) {
        s3_fail(q, S3E_IllegalLocationConstraintException,
                "The %s location constraint is incompatible with the region this server serves "
                "(%s).", region, q->s3->region);
        return;
    }
    /* A bucket that exists is judged as it is, not as a new one would be. */
    hf_bucket_t cur;
    int rc = hf_meta_bucket_get(q->s3->meta, q->bucket, &cur);
    if (rc == HF_OK) {
        if (cur.owner == q->user.id)
            create_again(q, acl);
        else
            s3_fail(q, S3E_BucketAlreadyExists, NULL);
        return;
    }
    if (acl_given && !s3_acl_owner_only(acl, q->user.id) && own_bits == HF_BUCKET_OWNER_ENFORCED) {
        s3_fail(q, S3E_InvalidBucketAclWithObjectOwnership, NULL);
        return;
    }
    if ((defaults & HF_BUCKET_PAB_BLOCK_ACLS) && s3_acl_public(acl)) {
        s3_fail(q, S3E_InvalidBucketAclWithBlockPublicAccessError, NULL);
        return;
    }
    hf_bucket_t *mine = NULL;
    size_t n = 0;
    if (hf_meta_bucket_list(q->s3->meta, q->user.id, q->a, &mine, &n) == HF_OK &&
        n >= HF_BUCKETS_PER_USER_MAX) {
        s3_fail(q, S3E_TooManyBuckets, "You have attempted to create more buckets than allowed (%d).",
                HF_BUCKETS_PER_USER_MAX);
        return;
    }
    hf_bucket_t b = {0};
    snprintf(b.name, sizeof b.name, "%s", q->bucket);
    snprintf(b.region, sizeof b.region, "%s", region);
    b.owner = q->user.id;
    b.flags = (defaults & HF_BUCKET_PAB_ALL) | HF_BUCKET_OWNERSHIP | own_bits;
    /* Object Lock needs versioning, which it keeps on for good. */
    if (lock && strcasecmp(lock, "true") == 0)
        b.flags |= HF_BUCKET_OBJECT_LOCK | HF_BUCKET_VERSIONING;
    if (s3_check_space(q, 0))
        return;
    rc = q->s3->catalog_bucket_create ? q->s3->catalog_bucket_create(q->s3->catalog, &b)
                                      : hf_meta_bucket_create(q->s3->meta, &b);
    if (q->s3->catalog_bucket_create && (rc == HF_E_CLOSED || rc == HF_E_TIMEOUT)) {
        s3_fail(q, S3E_ServiceUnavailable,
                "The cluster's control plane (etcd) cannot be reached: creating a bucket waits "
                "for it. Reads and writes of existing buckets go on.");
        return;
    }
    if (rc == HF_E_EXISTS && b.owner == q->user.id) {
        create_again(q, acl);
        return;
    }
    if (rc == HF_E_EXISTS) {
        s3_fail(q, S3E_BucketAlreadyExists, NULL);
        return;
    }
    if (rc) {
        s3_fail(q, hf_s3_err_from(rc), NULL);
        return;
    }
    /* The ACL after the bucket: a crash in between leaves the default
     * (private), never more access than asked for. */
    q->b = b;
    if (acl_given && s3_store_bucket_acl(q, acl))
        return;
    s3_common_headers(q);
    hf_resp_headerf(q->r, "Location", "/%s", q->bucket);
    hf_resp_send(q->r, 200, NULL, 0);
}

void op_head_bucket(s3req_t *q)
{
    if (s3_load_bucket(q))
        return;
    s3_common_headers(q);
    hf_resp_header(q->r, "x-amz-bucket-region", q->s3->region);
    hf_resp_send(q->r, 200, NULL, 0);
}

void op_delete_bucket(s3req_t *q)
{
    if (s3_load_bucket(q))
        return;
    if (q->s3->catalog) {
        /* Its objects may be on other nodes; nothing here can tell yet. */
        s3_fail(q, S3E_NotImplemented,
                "Deleting a bucket is not supported in a cluster yet: until the data plane, "
                "other nodes may hold objects of it.");
        return;
    }
    int rc = hf_meta_bucket_delete(q->s3->meta, &q->b);
    if (rc == HF_E_CONFLICT) {
        s3_fail(q, S3E_BucketNotEmpty, NULL);
        return;
    }
    if (rc == HF_E_NOTFOUND) {
        s3_fail(q, S3E_NoSuchBucket, NULL);
        return;
    }
    if (rc) {
        s3_fail(q, hf_s3_err_from(rc), NULL);
        return;
    }
    s3_no_content(q);
}

void op_get_bucket_location(s3req_t *q)
{
    if (s3_load_bucket(q))
        return;
    hf_buf_t b;
    hf_buf_init(&b, 4096);
    hf_xml_decl(&b);
    /* S3 reports us-east-1 as an empty constraint. */
    const char *r = q->s3->region;
    hf_buf_puts(&b, "<LocationConstraint xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">");
    if (strcmp(r, "us-east-1") != 0)
        hf_xml_text(&b, r, strlen(r));
    hf_xml_close(&b, "LocationConstraint");
    s3_send_xml(q, &b);
}

void s3_send_bucket_cfg(s3req_t *q, enum hf_bucket_cfg kind, hf_s3_err_t none)
{
    const uint8_t *data;
    size_t len;
    int rc = hf_meta_bucket_cfg_get(q->s3->meta, q->b.id, kind, q->a, &data, &len);
    if (rc == HF_E_NOTFOUND) {
        s3_fail(q, none, NULL);
        return;
    }
    if (rc) {
        s3_fail(q, hf_s3_err_from(rc), NULL);
        return;
    }
    s3_common_headers(q);
    hf_resp_header(q->r, "Content-Type", "application/xml");
    hf_resp_send(q->r, 200, data, len);
}

void s3_put_bucket_cfg(s3req_t *q, enum hf_bucket_cfg kind, const void *data, size_t len,
                       int status)
{
    int rc = hf_meta_bucket_cfg_put(q->s3->meta, &q->b, kind, data, len);
    if (rc) {
        s3_fail(q, rc == HF_E_NOTFOUND ? S3E_NoSuchBucket : hf_s3_err_from(rc), NULL);
        return;
    }
    s3_common_headers(q);
    hf_resp_send(q->r, status, NULL, 0);
}

void s3_delete_bucket_cfg(s3req_t *q, enum hf_bucket_cfg kind)
{
    s3_put_bucket_cfg(q, kind, NULL, 0, 204);
}


