/*
 * post.c -- POST Object: browser uploads with an HTML form
 * (multipart/form-data), signed by a POST policy (AWS "Browser-based
 * uploads using POST", "Creating a POST policy", "POST Object").
 *
 * The form's fields stand for the headers of a PutObject ("Parameters that
 * are passed to PUT via HTTP Headers are instead passed as form fields"),
 * so once the fields before the file are in, they are presented to the
 * ordinary header readers (metadata, ACL, tags, Object Lock, unsupported
 * features) as if they were the request's headers. Then the file part
 * streams into storage: the form never has to fit in memory.
 *
 * Order, as S3 checks it:
 *   1. the bucket must exist (NoSuchBucket);
 *   2. the body must be multipart/form-data (412 PreconditionFailed,
 *      "Bucket POST must be of the enclosure-type multipart/form-data");
 *   3. the fields before the file are at most 20 KiB
 *      (MaxPostPreDataLengthExceeded);
 *   4. when the file part begins: a key field (InvalidArgument); with a
 *      policy field, a signature over it: SigV4 (x-amz-algorithm,
 *      x-amz-credential, x-amz-date, x-amz-signature) or Signature Version
 *      2 (AWSAccessKeyId, signature; SignatureDoesNotMatch,
 *      InvalidAccessKeyId), without one the request is anonymous; the
 *      signer needs s3:PutObject on the bucket (ACLs, AccessDenied); the
 *      policy's conditions and expiration (AccessDenied "Invalid according
 *      to Policy: ...");
 *   5. the file's size against the policy's content-length-range
 *      (EntityTooLarge / EntityTooSmall) and the object size limit;
 *   6. exactly one file (InvalidArgument "POST requires exactly one file
 *      upload per request."). Fields after the file are ignored, as S3
 *      ignores them.
 * The answer: success_action_redirect (303 to it with bucket, key and etag
 * in the query), else success_action_status 200, 201 (a PostResponse
 * document) or 204 (the default).
 */
#include "s3/internal.h"

#include "access/postpolicy.h"
#include "auth/sigv2.h"
#include "base/err.h"
#include "base/hash.h"
#include "base/log.h"
#include "base/str.h"
#include "base/time.h"
#include "net/form.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* S3: "the POST request fields preceding the upload file" may total 20 KiB. */
#define POST_PREDATA_MAX 20480

typedef struct post {
    s3req_t *q;
    /* The fields before the file, in order. */
    hf_postpolicy_field_t fields[HF_FORM_PARTS_MAX];
    size_t nfields;
    size_t predata;
    char *cur;            /* the field being read */
    size_t cur_len;
    const char *cur_name;
    bool in_file;         /* reading the file part */
    bool file_done;
    bool after_file;      /* parts after the file: ignored */
    const char *filename;
    const char *file_type;
    hf_postpolicy_t *policy;
    uint64_t min_len, max_len;
    /* The file's bytes. */
    hf_hashset_t md5;
    bool md5_open;
    hf_blob_writer_t *w;
    uint8_t *inline_buf;  /* a small form is kept in memory */
    uint64_t inline_cap;
    uint64_t size;
    hf_obj_t o;
    int answered;         /* an error was sent (the parser is told to stop) */
} post_t;

#define POST_STOP (-7001) /* a callback answered; the parser stops */

static const char *field(const post_t *p, const char *name)
{
    for (size_t i = 0; i < p->nfields; i++)
        if (strcasecmp(p->fields[i].name, name) == 0)
            return p->fields[i].value;
    return NULL;
}

static int stop(post_t *p)
{
    p->answered = 1;
    return POST_STOP;
}

/* ---- signature ---------------------------------------------------------------- */

/* The user of the form's access key into q->user. 0 or answered. */
static int form_user(s3req_t *q, const char *ak)
{
    int rc = hf_meta_user_by_key(q->s3->meta, ak, &q->user);
    if (rc == HF_E_NOTFOUND || (rc == HF_OK && (q->user.flags & HF_USER_DISABLED)))
        return s3_fail(q, S3E_InvalidAccessKeyId, NULL);
    if (rc)
        return s3_fail(q, hf_s3_err_from(rc), NULL);
    snprintf(q->auth.access_key, sizeof q->auth.access_key, "%s", ak);
    return 0;
}

/* A Signature Version 2 form ("Browser-based uploads using POST (AWS
 * signature version 2)"): AWSAccessKeyId, and signature =
 * base64(HMAC-SHA1(secret, policy)) over the policy field as sent. "This
 * field is required if the request includes a policy document" for both;
 * the messages for a missing one follow S3's for a missing key field. With
 * --sigv2 off the form answers what a V2 request does there. */
static int authenticate_form_v2(post_t *p, const char *policy)
{
    s3req_t *q = p->q;
    const char *ak = field(p, "AWSAccessKeyId"), *sig = field(p, "signature");
    if (q->s3->sigv2_off)
        return s3_fail(q, S3E_InvalidRequest, "%s", HF_SIGV2_REFUSED);
    if (!policy)
        return s3_fail(q, S3E_InvalidArgument, "Bucket POST must contain a field named 'policy' "
                                               "when it is signed.");
    if (!ak || !sig)
        return s3_fail(q, S3E_InvalidArgument,
                       "Bucket POST must contain a field named '%s'.  If it is specified, please "
                       "check the order of the fields.",
                       !ak ? "AWSAccessKeyId" : "signature");
    if (strlen(ak) < HF_ACCESS_KEY_MIN || strlen(ak) > HF_ACCESS_KEY_MAX)
        return s3_fail(q, S3E_InvalidAccessKeyId, NULL);
    if (form_user(q, ak))
        return -1;
    if (!hf_sigv2_policy_ok(q->user.secret_key, policy, strlen(policy), sig, strlen(sig))) {
        memset(&q->user, 0, sizeof q->user);
        return s3_fail(q, S3E_SignatureDoesNotMatch, NULL);
    }
    q->auth.kind = HF_AUTH_V2_POST;
    q->anonymous = false;
    return 0;
}

/* The form's signature over the policy: sets q->user. 0 or answered. */
static int authenticate_form(post_t *p)
{
    s3req_t *q = p->q;
    const char *alg = field(p, "x-amz-algorithm");
    const char *cred = field(p, "x-amz-credential");
    const char *date = field(p, "x-amz-date");
    const char *sig = field(p, "x-amz-signature");
    const char *b64 = field(p, "policy");
    bool v2 = field(p, "AWSAccessKeyId") || field(p, "signature");
    if (v2 && (alg || cred || sig))
        return s3_fail(q, S3E_InvalidArgument,
                       "A POST form is signed either with x-amz-algorithm, x-amz-credential, "
                       "x-amz-date and x-amz-signature (Signature Version 4) or with "
                       "AWSAccessKeyId and signature (Signature Version 2), not both.");
    if (v2)
        return authenticate_form_v2(p, b64);
    if (!b64) {
        if (alg || cred || sig)
            return s3_fail(q, S3E_InvalidArgument, "Bucket POST must contain a field named 'policy' "
                                                   "when it is signed.");
        return 0; /* anonymous */
    }
    if (!alg || !cred || !date || !sig)
        return s3_fail(q, S3E_InvalidArgument,
                       "A signed POST needs the fields x-amz-algorithm, x-amz-credential, x-amz-date "
                       "and x-amz-signature.");
    if (strcmp(alg, "AWS4-HMAC-SHA256") != 0)
        return s3_fail(q, S3E_InvalidArgument, "Only AWS4-HMAC-SHA256 is supported for x-amz-algorithm.");
    /* AKID/yyyymmdd/region/s3/aws4_request */
    char ak[HF_ACCESS_KEY_MAX + 1], day[9], region[HF_REGION_MAX + 1], svc[8], term[16];
    const char *parts[5];
    size_t lens[5];
    size_t np = 0;
    const char *s = cred;
    while (np < 5) {
        const char *slash = strchr(s, '/');
        parts[np] = s;
        lens[np] = slash ? (size_t)(slash - s) : strlen(s);
        np++;
        if (!slash)
            break;
        s = slash + 1;
    }
    if (np != 5 || lens[0] == 0 || lens[0] > HF_ACCESS_KEY_MAX || lens[1] != 8 || lens[2] > HF_REGION_MAX ||
        lens[3] >= sizeof svc || lens[4] >= sizeof term)
        return s3_fail(q, S3E_AuthorizationQueryParametersError, "Invalid x-amz-credential: %.200s", cred);
    memcpy(ak, parts[0], lens[0]);
    ak[lens[0]] = '\0';
    memcpy(day, parts[1], 8);
    day[8] = '\0';
    memcpy(region, parts[2], lens[2]);
    region[lens[2]] = '\0';
    memcpy(svc, parts[3], lens[3]);
    svc[lens[3]] = '\0';
    memcpy(term, parts[4], lens[4]);
    term[lens[4]] = '\0';
    if (strcmp(svc, "s3") != 0 || strcmp(term, "aws4_request") != 0)
        return s3_fail(q, S3E_AuthorizationQueryParametersError, "Invalid x-amz-credential: %.200s", cred);
    if (strcmp(region, q->s3->region) != 0)
        return s3_fail(q, S3E_AuthorizationQueryParametersError,
                       "The region in x-amz-credential (%s) is wrong; expecting '%s'", region, q->s3->region);
    if (strlen(date) != 16 || strncmp(date, day, 8) != 0)
        return s3_fail(q, S3E_AuthorizationQueryParametersError,
                       "x-amz-date must be yyyymmddThhmmssZ on the day of x-amz-credential.");
    if (form_user(q, ak))
        return -1;
    unsigned char key[HF_SHA256_LEN], mac[HF_SHA256_LEN];
    hf_sigv4_signing_key(q->user.secret_key, day, region, "s3", key);
    hf_hmac_sha256(key, sizeof key, b64, strlen(b64), mac);
    char hex[2 * HF_SHA256_LEN + 1];
    hf_hex_encode(hex, mac, sizeof mac);
    if (strlen(sig) != sizeof hex - 1 || !hf_ct_equal(hex, sig, sizeof hex - 1)) {
        memset(&q->user, 0, sizeof q->user);
        return s3_fail(q, S3E_SignatureDoesNotMatch, NULL);
    }
    q->anonymous = false;
    return 0;
}

/* ---- the fields, as headers ------------------------------------------------------ */

/* Form fields that are not headers of the object. */
static bool control_field(const char *name)
{
    static const char *const names[] = {"key", "policy", "x-amz-signature", "x-amz-algorithm",
                                        "x-amz-credential", "x-amz-date", "success_action_redirect",
                                        "success_action_status", "redirect", "tagging", "file",
                                        "AWSAccessKeyId", "signature", "x-amz-security-token", NULL};
    for (int i = 0; names[i]; i++)
        if (strcasecmp(names[i], name) == 0)
            return true;
    return strncasecmp(name, "x-ignore-", 9) == 0;
}

/* Present the fields to the header readers: the request's headers are
 * replaced by them (acl becomes x-amz-acl) while o is filled in. */
static int object_from_fields(post_t *p)
{
    s3req_t *q = p->q;
    hf_http_req_t *h = &q->r->http;
    hf_http_req_t *saved = hf_arena_alloc(q->a, sizeof *saved);
    if (!saved)
        return s3_fail(q, S3E_InternalError, NULL);
    *saved = *h;
    int n = 0;
    for (size_t i = 0; i <= p->nfields; i++) {
        const char *nm, *v;
        size_t vl;
        if (i < p->nfields) {
            nm = p->fields[i].name;
            v = p->fields[i].value;
            vl = p->fields[i].value_len;
            if (control_field(nm))
                continue;
            if (strcasecmp(nm, "acl") == 0)
                nm = "x-amz-acl";
        } else if (!field(p, "Content-Type") && p->file_type) {
            /* The file part's own type stands in (S3 takes the field first). */
            nm = "Content-Type";
            v = p->file_type;
            vl = strlen(v);
        } else {
            break;
        }
        if (n == HF_HTTP_HEADERS_MAX) {
            *h = *saved;
            return s3_fail(q, S3E_InvalidArgument, "Too many form fields.");
        }
        h->headers[n].name = (hf_str_t){nm, strlen(nm)};
        h->headers[n].value = (hf_str_t){v, vl};
        n++;
    }
    h->nheaders = n;
    memset(&p->o, 0, sizeof p->o);
    /* The encryption fields are checked as headers would be, SSE-C's
     * transport rule included (the key is in the body). */
    int rc = s3_check_unsupported_headers(q) || s3_sse_check_request(q) ||
             s3_collect_meta(q, &p->o) || s3_lock_headers(q, &p->o, false) ||
             s3_lock_apply_default(q, &p->o) || s3_write_acl(q, &p->o) || s3_sse_choose(q);
    *h = *saved;
    if (rc)
        return -1;
    const char *tagging = field(p, "tagging");
    if (tagging && s3_tagging_document(q, tagging, strlen(tagging), &p->o))
        return -1;
    return 0;
}

/* ${filename} in the key becomes the file's name, as S3 does. */
static int expand_key(post_t *p)
{
    s3req_t *q = p->q;
    const char *k = field(p, "key");
    if (!k)
        return s3_fail(q, S3E_InvalidArgument,
                       "Bucket POST must contain a field named 'key'.  If it is specified, please check "
                       "the order of the fields.");
    const char *var = strstr(k, "${filename}");
    const char *fn = p->filename ? p->filename : "";
    /* Browsers may send a path; S3 uses the last component. */
    const char *slash = strrchr(fn, '/'), *bslash = strrchr(fn, '\\');
    if (slash || bslash)
        fn = (slash > bslash ? slash : bslash) + 1;
    char *key = var ? hf_arena_printf(q->a, "%.*s%s%s", (int)(var - k), k, fn, var + 11)
                    : hf_arena_strndup(q->a, k, strlen(k));
    if (!key)
        return s3_fail(q, S3E_InternalError, NULL);
    q->key = key;
    q->keylen = strlen(key);
    if (q->keylen == 0)
        return s3_fail(q, S3E_InvalidArgument, "User key must have a length greater than 0.");
    /* The policy sees the expanded key. */
    for (size_t i = 0; i < p->nfields; i++)
        if (strcasecmp(p->fields[i].name, "key") == 0) {
            p->fields[i].value = key;
            p->fields[i].value_len = q->keylen;
        }
    q->resource = hf_arena_printf(q->a, "/%s/%s", q->bucket, key);
    return s3_check_key(q);
}

/* The file part begins: everything but its bytes is decided here. */
static int begin_file(post_t *p)
{
    s3req_t *q = p->q;
    if (expand_key(p) || authenticate_form(p))
        return stop(p);
    int rc = s3_access(q, &q->b, "PutObject", q->key, q->keylen, NULL);
    if (rc == HF_E_DENIED)
        return s3_fail(q, S3E_AccessDenied, NULL), stop(p);
    if (rc)
        return s3_fail(q, hf_s3_err_from(rc), NULL), stop(p);
    const char *b64 = field(p, "policy");
    if (b64) {
        char msg[512];
        rc = hf_postpolicy_parse(b64, strlen(b64), &p->policy, msg, sizeof msg);
        if (rc == -ENOMEM)
            return s3_fail(q, S3E_InternalError, NULL), stop(p);
        if (rc)
            return s3_fail(q, S3E_InvalidPolicyDocument, "Invalid Policy: %s", msg), stop(p);
        hf_postpolicy_code_t c = hf_postpolicy_check(p->policy, q->bucket, p->fields, p->nfields, -1,
                                                     hf_time_now(), msg, sizeof msg);
        if (c != HF_POSTPOLICY_OK)
            return s3_fail(q, S3E_AccessDenied, "%s", msg), stop(p);
        if (!hf_postpolicy_length_bounds(p->policy, &p->min_len, &p->max_len))
            return s3_fail(q, S3E_EntityTooLarge, "The policy allows no file size."), stop(p);
    } else {
        p->min_len = 0;
        p->max_len = UINT64_MAX;
    }
    if (p->max_len > HF_PUT_MAX)
        p->max_len = HF_PUT_MAX;
    if (object_from_fields(p) || s3_sse_new_key(q))
        return stop(p);
    if (s3_check_space(q, 0))
        return stop(p);
    /* The ETag's MD5, and the CRC64NVME S3 stores by default. */
    if (hf_hashset_init(&p->md5, HF_HS_MD5 | HF_HS_CRC64NVME))
        return s3_fail(q, S3E_InternalError, NULL), stop(p);
    p->md5_open = true;
    /* A form no larger than an inline object keeps its file in memory. */
    uint64_t body = q->body.declared;
    if (body <= HF_INLINE_MAX) {
        p->inline_cap = body;
        p->inline_buf = hf_arena_alloc(q->a, body ? body : 1);
        if (!p->inline_buf)
            return s3_fail(q, S3E_InternalError, NULL), stop(p);
    } else if ((rc = s3_sse_blob_writer(q, &q->wsse, &p->w))) {
        return s3_fail_storage(q, rc), stop(p);
    }
    p->in_file = true;
    return 0;
}

/* ---- parser callbacks ------------------------------------------------------------- */

static int on_part(void *ctx, const hf_form_part_t *part)
{
    post_t *p = ctx;
    s3req_t *q = p->q;
    if (p->file_done) {
        p->after_file = true; /* S3 ignores fields after the file */
        return 0;
    }
    if (strcasecmp(part->name, "file") == 0) {
        p->filename = part->filename ? hf_arena_strndup(q->a, part->filename, strlen(part->filename)) : NULL;
        p->file_type = part->content_type ? hf_arena_strndup(q->a, part->content_type,
                                                              strlen(part->content_type))
                                          : NULL;
        return begin_file(p);
    }
    if (p->nfields == HF_FORM_PARTS_MAX)
        return s3_fail(q, S3E_InvalidArgument, "Too many form fields."), stop(p);
    p->cur_name = hf_arena_strndup(q->a, part->name, strlen(part->name));
    p->predata += strlen(part->name);
    p->cur = NULL;
    p->cur_len = 0;
    return p->cur_name ? 0 : (s3_fail(q, S3E_InternalError, NULL), stop(p));
}

static int on_data(void *ctx, const char *d, size_t n)
{
    post_t *p = ctx;
    s3req_t *q = p->q;
    if (p->after_file)
        return 0;
    if (!p->in_file) {
        p->predata += n;
        if (p->predata > POST_PREDATA_MAX)
            return s3_fail(q, S3E_MaxPostPreDataLengthExceeded, NULL), stop(p);
        char *nb = hf_arena_alloc(q->a, p->cur_len + n + 1);
        if (!nb)
            return s3_fail(q, S3E_InternalError, NULL), stop(p);
        if (p->cur_len)
            memcpy(nb, p->cur, p->cur_len);
        memcpy(nb + p->cur_len, d, n);
        nb[p->cur_len + n] = '\0';
        p->cur = nb;
        p->cur_len += n;
        return 0;
    }
    if (p->size + n > p->max_len) {
        /* The file's whole size is not known yet: S3's ProposedSize is
         * left out rather than guessed. */
        s3_err_elem(q, "MaxSizeAllowed", "%" PRIu64, p->max_len);
        if (p->size + n > HF_PUT_MAX)
            return s3_fail(q, S3E_EntityTooLarge, NULL), stop(p);
        return s3_fail(q, S3E_EntityTooLarge, "Your proposed upload exceeds the maximum allowed size"),
               stop(p);
    }
    hf_hashset_update(&p->md5, d, n);
    if (p->inline_buf) {
        memcpy(p->inline_buf + p->size, d, n); /* the body bounds the file */
    } else {
        int rc = hf_blob_write(p->w, d, n);
        if (rc)
            return s3_fail_storage(q, rc), stop(p);
    }
    p->size += n;
    return 0;
}

static int on_end(void *ctx)
{
    post_t *p = ctx;
    if (p->after_file)
        return 0;
    if (p->in_file) {
        p->in_file = false;
        p->file_done = true;
        return 0;
    }
    if (!p->cur) {
        p->cur = "";
        p->cur_len = 0;
    }
    p->fields[p->nfields++] = (hf_postpolicy_field_t){p->cur_name, p->cur, p->cur_len};
    return 0;
}

/* ---- the operation ------------------------------------------------------------------ */

static void release(post_t *p)
{
    if (p->w)
        hf_blob_writer_abort(p->w);
    p->w = NULL;
    if (p->md5_open)
        hf_hashset_free(&p->md5);
    p->md5_open = false;
    hf_postpolicy_free(p->policy);
    p->policy = NULL;
}

static void answer(post_t *p, const char *etag)
{
    s3req_t *q = p->q;
    s3_common_headers(q);
    hf_resp_header(q->r, "ETag", etag);
    s3_version_header(q, p->o.version);
    s3_sse_headers(q, &q->wsse);
    char *loc = hf_arena_printf(q->a, "/%s/%s", q->bucket, s3_urlenc(q, q->key, q->keylen));
    const char *redirect = field(p, "success_action_redirect");
    if (!redirect)
        redirect = field(p, "redirect");
    if (redirect && *redirect) {
        const char *qm = strchr(redirect, '?');
        char *to = hf_arena_printf(q->a, "%s%sbucket=%s&key=%s&etag=%s", redirect, qm ? "&" : "?",
                                   s3_urlenc(q, q->bucket, strlen(q->bucket)), s3_urlenc(q, q->key, q->keylen),
                                   s3_urlenc(q, etag, strlen(etag)));
        hf_resp_header(q->r, "Location", to ? to : redirect);
        hf_resp_send(q->r, 303, NULL, 0);
        return;
    }
    if (loc)
        hf_resp_header(q->r, "Location", loc);
    const char *st = field(p, "success_action_status");
    if (st && strcmp(st, "201") == 0) {
        hf_buf_t b;
        hf_buf_init(&b, 8192);
        hf_xml_decl(&b);
        hf_xml_open(&b, "PostResponse");
        hf_xml_elem_str(&b, "Location", loc ? loc : "");
        hf_xml_elem_str(&b, "Bucket", q->bucket);
        hf_xml_elem(&b, "Key", q->key, q->keylen);
        hf_xml_elem_str(&b, "ETag", etag);
        hf_xml_close(&b, "PostResponse");
        hf_resp_header(q->r, "Content-Type", "application/xml");
        hf_resp_send(q->r, 201, b.data, b.len);
        hf_buf_free(&b);
        return;
    }
    /* 200 when asked; 204 otherwise (also for values S3 does not know). */
    hf_resp_send(q->r, st && strcmp(st, "200") == 0 ? 200 : 204, NULL, 0);
}

void op_post_object(s3req_t *q)
{
    if (!hf_s3_bucket_name_valid(q->bucket)) {
        s3_fail(q, S3E_NoSuchBucket, NULL);
        return;
    }
    int rc = hf_meta_bucket_get(q->s3->meta, q->bucket, &q->b);
    if (rc) {
        s3_fail(q, rc == HF_E_NOTFOUND ? S3E_NoSuchBucket : hf_s3_err_from(rc), NULL);
        return;
    }
    const char *ct = s3_header(q, "content-type");
    char boundary[HF_FORM_BOUNDARY_MAX + 1];
    if (!ct || hf_form_boundary(ct, strlen(ct), boundary) != HF_OK) {
        s3_fail(q, S3E_PreconditionFailed, "Bucket POST must be of the enclosure-type multipart/form-data");
        return;
    }
    if (!s3_body_length_known(q)) {
        s3_fail(q, S3E_MissingContentLength, NULL);
        return;
    }
    if (s3_body_open(q, false, HF_CK_NONE, HF_PUT_MAX + 1024 * 1024))
        return;
    post_t *p = hf_arena_calloc(q->a, sizeof *p);
    char *buf = hf_arena_alloc(q->a, HF_IO_BUF);
    if (!p || !buf) {
        s3_fail(q, S3E_InternalError, NULL);
        return;
    }
    p->q = q;
    hf_form_cb_t cb = {on_part, on_data, on_end, p};
    hf_form_t *f = hf_arena_alloc(q->a, sizeof *f);
    if (!f) {
        s3_fail(q, S3E_InternalError, NULL);
        return;
    }
    hf_form_init(f, boundary, &cb);
    for (;;) {
        long k = s3_body_read(q, buf, HF_IO_BUF);
        if (k < 0)
            goto fail; /* answered */
        if (k == 0)
            break;
        rc = hf_form_feed(f, buf, (size_t)k);
        if (rc == POST_STOP)
            goto fail;
        if (rc) {
            s3_fail(q, rc == HF_E_TOOBIG ? S3E_MaxPostPreDataLengthExceeded : S3E_MalformedPOSTRequest, NULL);
            goto fail;
        }
    }
    if (!hf_form_done(f)) {
        s3_fail(q, S3E_MalformedPOSTRequest, NULL);
        goto fail;
    }
    if (!p->file_done) {
        s3_fail(q, S3E_InvalidArgument, "POST requires exactly one file upload per request.");
        goto fail;
    }
    char msg[256];
    if (p->policy && hf_postpolicy_check_length(p->policy, p->size, msg, sizeof msg) != HF_POSTPOLICY_OK) {
        bool small = p->size < p->min_len;
        s3_err_elem(q, "ProposedSize", "%" PRIu64, p->size);
        s3_err_elem(q, small ? "MinSizeAllowed" : "MaxSizeAllowed", "%" PRIu64, small ? p->min_len : p->max_len);
        s3_fail(q, small ? S3E_EntityTooSmall : S3E_EntityTooLarge, "%s", msg);
        goto fail;
    }
    s3_data_t d;
    memset(&d, 0, sizeof d);
    hf_hashset_final(&p->md5, d.md5, NULL, NULL);
    p->md5_open = false;
    d.ck_alg = HF_CK_CRC64NVME;
    d.ck_len = s3_ck(HF_CK_CRC64NVME)->len;
    s3_ck_value(HF_CK_CRC64NVME, &p->md5, NULL, NULL, d.ck);
    d.size = p->size;
    if (p->inline_buf) {
        d.is_inline = true;
        d.inline_data = p->inline_buf;
        d.inline_len = (uint32_t)p->size;
        if (s3_sse_seal_data(q, &d))
            goto fail;
    } else {
        uint64_t got = 0;
        d.blob = *hf_blob_writer_id(p->w);
        rc = hf_blob_writer_finish(p->w, &got);
        p->w = NULL;
        if (rc) {
            s3_fail_storage(q, rc);
            goto fail;
        }
        d.have_blob = true;
    }
    if (s3_store_object(q, &p->o, &d, NULL))
        goto fail;
    char etag[48];
    s3_etag(etag, p->o.etag, 0);
    release(p);
    answer(p, etag);
    return;
fail:
    release(p);
}
