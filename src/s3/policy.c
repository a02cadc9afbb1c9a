/*
 * policy.c -- bucket policies: Put/Get/DeleteBucketPolicy and
 * GetBucketPolicyStatus. The policy language and its evaluation are the
 * access layer's (access/policy.h); authz.c applies a bucket's policy to
 * every request on it.
 *
 * As S3 does: a policy is at most 20 KiB of JSON, checked when it is put
 * (MalformedPolicy, with a message naming the statement and field); with
 * Block Public Access's BlockPublicPolicy a policy that grants public access
 * is refused (AccessDenied); the document is stored as sent and returned
 * byte for byte; IsPublic follows S3's definition of a public policy.
 */
#include "s3/internal.h"

#include "base/err.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

void op_put_bucket_policy(s3req_t *q)
{
    if (s3_load_bucket(q))
        return;
    if (!s3_body_length_known(q)) {
        s3_fail(q, S3E_MissingContentLength, NULL);
        return;
    }
    /* S3 answers an oversized policy as a malformed one. */
    int64_t cl = hf_req_content_length(q->r);
    if (cl > HF_POLICY_MAX) {
        s3_fail(q, S3E_MalformedPolicy, "Policy exceeds the maximum allowed document size (%d bytes).",
                HF_POLICY_MAX);
        return;
    }
    if (s3_body_open(q, false, HF_CK_NONE, HF_POLICY_MAX))
        return;
    hf_buf_t body;
    if (s3_body_read_all(q, &body, HF_POLICY_MAX)) {
        hf_buf_free(&body);
        return;
    }
    if (body.len == 0) {
        hf_buf_free(&body);
        s3_fail(q, S3E_MalformedPolicy, "Policies must be valid JSON and the first byte must be '{'");
        return;
    }
    char err[512] = "";
    hf_policy_t *p = NULL;
    int rc = hf_policy_parse(body.data, body.len, q->b.name, &p, err, sizeof err);
    if (rc) {
        hf_buf_free(&body);
        if (rc == -ENOMEM)
            s3_fail(q, S3E_InternalError, NULL);
        else
            s3_fail(q, S3E_MalformedPolicy, "%s", err[0] ? err : "The policy is not valid.");
        return;
    }
    bool pub = hf_policy_is_public(p);
    hf_policy_free(p);
    if (pub && (q->b.flags & HF_BUCKET_PAB_BLOCK_POLICY)) {
        hf_buf_free(&body);
        s3_fail(q, S3E_AccessDenied,
                "Access Denied because the bucket's Block Public Access setting BlockPublicPolicy "
                "refuses a policy that grants public access.");
        return;
    }
    rc = hf_meta_bucket_update(q->s3->meta, &q->b, 0, HF_BUCKET_HAS_POLICY, HF_BCFG_POLICY, body.data,
                               body.len);
    hf_buf_free(&body);
    if (rc) {
        s3_fail(q, rc == HF_E_NOTFOUND ? S3E_NoSuchBucket : hf_s3_err_from(rc), NULL);
        return;
    }
    s3_no_content(q);
}

void op_get_bucket_policy(s3req_t *q)
{
    if (s3_load_bucket(q))
        return;
    const uint8_t *d;
    size_t n;
    int rc = (q->b.flags & HF_BUCKET_HAS_POLICY)
                 ? hf_meta_bucket_cfg_get(q->s3->meta, q->b.id, HF_BCFG_POLICY, q->a, &d, &n)
                 : HF_E_NOTFOUND;
    if (rc == HF_E_NOTFOUND) {
        s3_fail(q, S3E_NoSuchBucketPolicy, NULL);
        return;
    }
    if (rc) {
        s3_fail(q, hf_s3_err_from(rc), NULL);
        return;
    }
    s3_common_headers(q);
    hf_resp_header(q->r, "Content-Type", "application/json");
    hf_resp_send(q->r, 200, (const char *)d, n);
}

void op_delete_bucket_policy(s3req_t *q)
{
    if (s3_load_bucket(q))
        return;
    int rc = hf_meta_bucket_update(q->s3->meta, &q->b, HF_BUCKET_HAS_POLICY, 0, HF_BCFG_POLICY, NULL, 0);
    if (rc) {
        s3_fail(q, rc == HF_E_NOTFOUND ? S3E_NoSuchBucket : hf_s3_err_from(rc), NULL);
        return;
    }
    s3_no_content(q);
}

void op_get_bucket_policy_status(s3req_t *q)
{
    if (s3_load_bucket(q))
        return;
    hf_policy_t *p;
    int rc = s3_bucket_policy(q, &q->b, &p, NULL);
    if (rc) {
        s3_fail(q, hf_s3_err_from(rc), NULL);
        return;
    }
    if (!p) {
        s3_fail(q, S3E_NoSuchBucketPolicy, NULL);
        return;
    }
    bool pub = hf_policy_is_public(p);
    hf_buf_t b;
    hf_buf_init(&b, 1024);
    hf_xml_decl(&b);
    hf_xml_open_ns(&b, "PolicyStatus");
    hf_xml_elem_bool(&b, "IsPublic", pub);
    hf_xml_close(&b, "PolicyStatus");
    s3_send_xml(q, &b);
}
