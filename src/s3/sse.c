/*
 * sse.c -- server-side encryption in the S3 API: which headers each
 * operation takes and what each answers, the choice of encryption for new
 * data (request headers, then the bucket's default, then the server's),
 * checking SSE-C keys against the objects they must open, the response
 * headers, and PutBucketEncryption / GetBucketEncryption /
 * DeleteBucketEncryption. The keys themselves are src/sse's; the sealed
 * blobs src/chunk's.
 *
 * Codes and messages follow what S3 answers (captured answers where S3's
 * documentation is silent; docs/compatibility.md#server-side-encryption
 * lists them and the few that could not be verified):
 *
 *   x-amz-server-side-encryption with SSE-C headers   400 InvalidArgument "...incompatible..."
 *   x-amz-server-side-encryption: aws:kms[:dsse]      501 NotImplemented (SSE-KMS)
 *   x-amz-server-side-encryption: anything else       400 InvalidArgument "...not supported"
 *   SSE-C algorithm other than AES256                 400 InvalidEncryptionAlgorithmError
 *   SSE-C key or MD5 without the algorithm            400 InvalidArgument "...valid encryption algorithm."
 *   SSE-C algorithm without the key                   400 InvalidArgument "...appropriate secret key."
 *   SSE-C key without its MD5                         400 InvalidArgument "...client calculated MD5..."
 *   SSE-C MD5 that is not the key's (checked first)   400 InvalidArgument "...did not match..."
 *   SSE-C key that is not 256 bits                    400 InvalidArgument "The secret key was invalid..."
 *   SSE-C over plain HTTP from another machine        400 InvalidRequest "...secure connection."
 *   reading an SSE-C object without the key           400 InvalidRequest "The object was stored using..."
 *   reading it with another key                       403 AccessDenied "...correct secret key."
 *   SSE-C headers for an object that is not SSE-C     400 InvalidRequest "...not applicable..."
 *   UploadPart without the upload's SSE-C key         400 InvalidRequest "The multipart upload initiate..."
 *   UploadPart with another key                       400 InvalidRequest "...did not match..."
 *   SSE-C write into a bucket that blocks it          403 AccessDenied
 *   SSE headers on an operation that takes none       400 InvalidArgument "...not supported for this operation."
 *
 * The plain-HTTP rule: S3 refuses SSE-C over HTTP because the key would
 * cross the network in clear. From a loopback address it never leaves the
 * machine, so local tools and tests may use it without TLS.
 */
#include "s3/internal.h"

#include "base/crypt.h"
#include "base/err.h"
#include "base/hash.h"
#include "base/log.h"
#include "base/str.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#define H_SSE "x-amz-server-side-encryption"
#define H_KMS_KEY "x-amz-server-side-encryption-aws-kms-key-id"
#define H_KMS_CTX "x-amz-server-side-encryption-context"
#define H_BUCKET_KEY "x-amz-server-side-encryption-bucket-key-enabled"
#define C_PREFIX "x-amz-server-side-encryption-customer-"
#define CS_PREFIX "x-amz-copy-source-server-side-encryption-customer-"

#define MSG_NOT_APPLICABLE "The encryption parameters are not applicable to this object."
#define MSG_STORED_ENCRYPTED                                                                       \
    "The object was stored using a form of Server Side Encryption. The correct parameters must "   \
    "be provided to retrieve the object."
#define MSG_WRONG_KEY                                                                              \
    "Requests specifying Server Side Encryption with Customer provided keys must provide the "     \
    "correct secret key."
#define MSG_PART_NEEDS_KEY                                                                         \
    "The multipart upload initiate requested encryption. Subsequent part requests must include "   \
    "the appropriate encryption parameters."
#define MSG_PART_OTHER_KEY "The provided encryption parameters did not match the ones used originally."
#define MSG_KMS "Server-side encryption with AWS KMS keys (SSE-KMS, DSSE-KMS)"

/* ---- which operations take which headers ------------------------------------ */

enum { T_SSE = 1, T_C = 2, T_CS = 4 };

static unsigned takes(const s3req_t *q)
{
    static const struct {
        const char *op;
        unsigned what;
    } table[] = {
        {"PutObject", T_SSE | T_C},
        {"CopyObject", T_SSE | T_C | T_CS},
        {"CreateMultipartUpload", T_SSE | T_C},
        {"PostObject", T_SSE | T_C}, /* as form fields; real headers too */
        {"UploadPart", T_C},
        {"UploadPartCopy", T_C | T_CS},
        {"CompleteMultipartUpload", T_C},
        {"ListParts", T_C},
        {"GetObject", T_C},
        {"HeadObject", T_C},
        {"GetObjectAttributes", T_C},
    };
    for (size_t i = 0; q->op && i < sizeof table / sizeof table[0]; i++)
        if (strcmp(q->op->name, table[i].op) == 0)
            return table[i].what;
    return 0;
}

static bool starts_ieq(hf_str_t name, const char *prefix)
{
    size_t n = strlen(prefix);
    return name.n >= n && hf_strn_ieq(name.p, n, prefix);
}

bool s3_peer_loopback(const s3req_t *q)
{
    hf_access_ip_t ip;
    if (s3_peer_ip(q, &ip) != HF_OK)
        return false;
    static const uint8_t v6_loopback[16] = {[15] = 1};
    return (ip.family == 4 && ip.addr[0] == 127) ||
           (ip.family == 6 && memcmp(ip.addr, v6_loopback, 16) == 0);
}

int s3_sse_check_request(s3req_t *q)
{
    const hf_http_req_t *h = &q->r->http;
    unsigned ok = takes(q);
    bool ssec = false;
    for (int i = 0; i < h->nheaders; i++) {
        hf_str_t n = h->headers[i].name;
        unsigned kind;
        if (starts_ieq(n, CS_PREFIX))
            kind = T_CS;
        else if (starts_ieq(n, C_PREFIX))
            kind = T_C;
        else if (starts_ieq(n, H_SSE))
            kind = T_SSE;
        else
            continue;
        if (!(ok & kind))
            return s3_fail(q, S3E_InvalidArgument, "%.*s header is not supported for this operation.",
                           (int)(n.n > 100 ? 100 : n.n), n.p);
        ssec |= kind != T_SSE;
    }
    if (ssec && !q->r->tls && !s3_peer_loopback(q))
        return s3_fail(q, S3E_InvalidRequest,
                       "Requests specifying Server Side Encryption with Customer provided keys must "
                       "be made over a secure connection.");
    return 0;
}

/* ---- SSE-C headers ------------------------------------------------------------ */

/* The SSE-C headers under prefix into s (have_ck, ck, ck_md5): 0 when
 * none is given, 1 for a valid key, -1 after s3_fail. */
static int customer_key(s3req_t *q, const char *prefix, s3_sse_t *s)
{
    char name[96];
    snprintf(name, sizeof name, "%salgorithm", prefix);
    const char *alg = s3_header(q, name);
    snprintf(name, sizeof name, "%skey", prefix);
    const char *key = s3_header(q, name);
    snprintf(name, sizeof name, "%skey-md5", prefix);
    const char *md5 = s3_header(q, name);
    if (!alg && !key && !md5)
        return 0;
    if (!alg)
        return s3_fail(q, S3E_InvalidArgument,
                       "Requests specifying Server Side Encryption with Customer provided keys must "
                       "provide a valid encryption algorithm.");
    if (strcmp(alg, "AES256") != 0)
        return s3_fail(q, S3E_InvalidEncryptionAlgorithmError, NULL);
    if (!key)
        return s3_fail(q, S3E_InvalidArgument,
                       "Requests specifying Server Side Encryption with Customer provided keys must "
                       "provide an appropriate secret key.");
    if (!md5)
        return s3_fail(q, S3E_InvalidArgument,
                       "Requests specifying Server Side Encryption with Customer provided keys must "
                       "provide the client calculated MD5 of the secret key.");
    /* The MD5 is checked before the length, as S3 does: a key that was
     * mangled on its way is reported as such. */
    uint8_t raw[64], want[16], got[16];
    int klen = hf_base64_decode(raw, sizeof raw, key, strlen(key));
    int mlen = hf_base64_decode(want, sizeof want, md5, strlen(md5));
    if (klen >= 0)
        hf_md5(raw, (size_t)klen, got);
    int rc = 0;
    if (klen < 0 || mlen != 16 || !hf_ct_equal(got, want, 16))
        rc = s3_fail(q, S3E_InvalidArgument,
                     "The calculated MD5 hash of the key did not match the hash that was provided.");
    else if (klen != HF_SSE_KEY_LEN)
        rc = s3_fail(q, S3E_InvalidArgument, "The secret key was invalid for the specified algorithm.");
    if (rc == 0) {
        memcpy(s->ck, raw, HF_SSE_KEY_LEN);
        hf_base64_encode(s->ck_md5, want, 16);
        s->have_ck = true;
        rc = 1;
    }
    hf_wipe(raw, sizeof raw);
    return rc;
}

/* ---- choosing the encryption of new data ----------------------------------------- */

/* A bucket's stored configuration (HF_BCFG_ENCRYPTION): algorithm u8
 * (0: none given, 1: AES256), bucket key u8 (0, 1), blocked u8 (0: none
 * given, 1: NONE, 2: SSE-C). Exactly 3 bytes; FORMAT-meta.md. */
#define CFG_LEN 3
enum { CFG_ALG_NONE = 0, CFG_ALG_AES256 = 1 };
enum { CFG_BLOCK_UNSET = 0, CFG_BLOCK_NONE = 1, CFG_BLOCK_SSEC = 2 };

typedef struct enc_cfg {
    bool set;        /* the bucket has a configuration */
    uint8_t alg;     /* CFG_ALG_* */
    bool bucket_key; /* BucketKeyEnabled as given */
    uint8_t blocked; /* CFG_BLOCK_* */
} enc_cfg_t;

/* b's configuration. HF_OK (set false when there is none), or an error. */
static int load_cfg(s3req_t *q, const hf_bucket_t *b, enc_cfg_t *c)
{
    memset(c, 0, sizeof *c);
    if (!(b->flags & HF_BUCKET_HAS_ENCRYPTION))
        return HF_OK;
    const uint8_t *d;
    size_t n;
    int rc = hf_meta_bucket_cfg_get(q->s3->meta, b->id, HF_BCFG_ENCRYPTION, q->a, &d, &n);
    if (rc == HF_E_NOTFOUND)
        return HF_OK;
    if (rc)
        return rc;
    if (n != CFG_LEN || d[0] > CFG_ALG_AES256 || d[1] > 1 || d[2] > CFG_BLOCK_SSEC) {
        hf_log_error("msg=\"bucket encryption configuration damaged\" bucket=%s len=%zu", b->name, n);
        return HF_E_CORRUPT;
    }
    c->set = true;
    c->alg = d[0];
    c->bucket_key = d[1];
    c->blocked = d[2];
    return HF_OK;
}

int s3_sse_choose(s3req_t *q)
{
    s3_sse_t *s = &q->wsse;
    const char *sse = s3_header(q, H_SSE);
    const char *kms_key = s3_header(q, H_KMS_KEY);
    const char *kms_ctx = s3_header(q, H_KMS_CTX);
    const char *bkey = s3_header(q, H_BUCKET_KEY);
    bool c_given = false;
    const hf_http_req_t *h = &q->r->http;
    for (int i = 0; i < h->nheaders; i++)
        if (starts_ieq(h->headers[i].name, C_PREFIX))
            c_given = true;
    if (sse && c_given)
        return s3_fail(q, S3E_InvalidArgument,
                       "Server Side Encryption with Customer provided key is incompatible with the "
                       "encryption method specified");
    if (sse && (strcmp(sse, "aws:kms") == 0 || strcmp(sse, "aws:kms:dsse") == 0))
        return s3_not_implemented(q, MSG_KMS);
    if (sse && strcmp(sse, "AES256") != 0)
        return s3_fail(q, S3E_InvalidArgument, "The encryption method specified is not supported");
    if (kms_key || kms_ctx)
        return s3_fail(q, S3E_InvalidArgument,
                       "Server Side Encryption with AWS KMS managed key requires HTTP header "
                       "x-amz-server-side-encryption : aws:kms");
    if (bkey && strcasecmp(bkey, "false") != 0) {
        if (strcasecmp(bkey, "true") == 0)
            return s3_not_implemented(q, "S3 Bucket Keys (an SSE-KMS feature)");
        return s3_fail(q, S3E_InvalidArgument, "%s must be true or false.", H_BUCKET_KEY);
    }
    int c = customer_key(q, C_PREFIX, s);
    if (c < 0)
        return -1;
    enc_cfg_t cfg;
    int rc = load_cfg(q, &q->b, &cfg);
    if (rc)
        return s3_fail(q, hf_s3_err_from(rc), NULL);
    if (c) {
        if (cfg.blocked == CFG_BLOCK_SSEC)
            return s3_fail(q, S3E_AccessDenied,
                           "This bucket has blocked upload requests that specify Server Side "
                           "Encryption with Customer provided keys (SSE-C). Please specify a "
                           "different server-side encryption type");
        s->mode = HF_SSE_C;
    } else if (sse) {
        s->mode = HF_SSE_S3;
    } else if (cfg.set && cfg.alg == CFG_ALG_AES256) {
        s->mode = HF_SSE_S3;
    } else {
        s->mode = q->s3->sse_default;
    }
    return 0;
}

int s3_sse_new_key(s3req_t *q)
{
    s3_sse_t *s = &q->wsse;
    hf_sse_desc_t d;
    int rc;
    switch (s->mode) {
    case HF_SSE_S3: rc = hf_sse_new_s3(q->s3->keys, &d, s->dk); break;
    case HF_SSE_C: rc = hf_sse_new_c(s->ck, &d, s->dk); break;
    default: s->have_dk = false; s->desc_len = 0; return 0;
    }
    if (rc) {
        hf_log_error("msg=\"cannot make a data key\" request_id=%s err=\"%s\"", q->r->id,
                     hf_strerror(rc));
        return s3_fail(q, S3E_InternalError, "The object's encryption key could not be made.");
    }
    size_t len;
    hf_sse_encode(&d, s->desc, &len);
    s->desc_len = (uint32_t)len;
    s->have_dk = true;
    return 0;
}

/* ---- opening what is stored ---------------------------------------------------------- */

int s3_sse_open(s3req_t *q, const hf_obj_t *o, enum s3_sse_use use, s3_sse_t *s, bool need_key)
{
    const char *prefix = use == S3_SSE_COPY_SOURCE ? CS_PREFIX : C_PREFIX;
    bool part = use == S3_SSE_PART || use == S3_SSE_UPLOAD;
    int c = customer_key(q, prefix, s);
    if (c < 0)
        return -1;
    hf_sse_desc_t d;
    memset(&d, 0, sizeof d);
    if (o->sse_len) {
        int rc = hf_sse_decode(o->sse, o->sse_len, &d);
        if (rc) {
            hf_log_error("msg=\"object encryption descriptor unreadable\" request_id=%s err=\"%s\"",
                         q->r->id, hf_strerror(rc));
            return s3_fail(q, S3E_InternalError, "The object's encryption record is damaged.");
        }
    }
    s->mode = d.mode;
    s->desc_len = o->sse_len;
    if (o->sse_len)
        memcpy(s->desc, o->sse, o->sse_len);
    if (d.mode != HF_SSE_C) {
        if (c)
            return s3_fail(q, S3E_InvalidRequest, part ? MSG_PART_NEEDS_KEY : MSG_NOT_APPLICABLE);
        if (d.mode == HF_SSE_NONE || !need_key)
            return 0;
        int rc = hf_sse_open_s3(q->s3->keys, &d, s->dk);
        if (rc) {
            /* The start-up check makes a missing master key rare: a key
             * file changed under a running server. */
            hf_log_error("msg=\"cannot unwrap an object's data key\" request_id=%s master_key=%u "
                         "err=\"%s\"",
                         q->r->id, d.key_id, hf_strerror(rc));
            return s3_fail(q, S3E_InternalError, rc == HF_E_NOKEY
                                                     ? "The master key that encrypted this object is not loaded."
                                                     : "The object's encryption record is damaged.");
        }
        s->have_dk = true;
        return 0;
    }
    if (!c) {
        if (use == S3_SSE_UPLOAD)
            return 0; /* optional there; nothing of the data is read */
        return s3_fail(q, S3E_InvalidRequest, part ? MSG_PART_NEEDS_KEY : MSG_STORED_ENCRYPTED);
    }
    if (!need_key) {
        if (!hf_sse_c_matches(&d, s->ck))
            return part ? s3_fail(q, S3E_InvalidRequest, MSG_PART_OTHER_KEY)
                        : s3_fail(q, S3E_AccessDenied, MSG_WRONG_KEY);
        return 0;
    }
    int rc = hf_sse_open_c(&d, s->ck, s->dk);
    if (rc == HF_E_DENIED)
        return part ? s3_fail(q, S3E_InvalidRequest, MSG_PART_OTHER_KEY)
                    : s3_fail(q, S3E_AccessDenied, MSG_WRONG_KEY);
    if (rc) {
        hf_log_error("msg=\"cannot unwrap an SSE-C data key\" request_id=%s err=\"%s\"", q->r->id,
                     hf_strerror(rc));
        return s3_fail(q, S3E_InternalError, "The object's encryption record is damaged.");
    }
    s->have_dk = true;
    return 0;
}

/* ---- what goes out ---------------------------------------------------------------------- */

void s3_sse_headers(s3req_t *q, const s3_sse_t *s)
{
    if (s->mode == HF_SSE_S3) {
        hf_resp_header(q->r, H_SSE, "AES256");
    } else if (s->mode == HF_SSE_C) {
        hf_resp_header(q->r, C_PREFIX "algorithm", "AES256");
        if (s->have_ck)
            hf_resp_header(q->r, C_PREFIX "key-MD5", s->ck_md5);
    }
}

void s3_sse_etag(const s3_sse_t *s, const uint8_t md5[16], uint8_t out[16])
{
    if (s->mode == HF_SSE_C && s->have_dk)
        hf_sse_etag(s->dk, md5, out);
    else
        memcpy(out, md5, 16);
}

int s3_sse_seal_data(s3req_t *q, s3_data_t *d)
{
    if (!q->wsse.have_dk || !d->is_inline)
        return 0;
    size_t n = d->inline_len;
    uint8_t *out = hf_arena_alloc(q->a, n + HF_SSE_SEAL_EXTRA);
    int rc = out ? hf_sse_seal_inline(q->wsse.dk, d->inline_data, n, out) : -12; /* -ENOMEM */
    hf_wipe(d->inline_data, n);
    if (rc)
        return s3_fail(q, S3E_InternalError, NULL);
    d->inline_data = out;
    d->inline_len = (uint32_t)(n + HF_SSE_SEAL_EXTRA);
    return 0;
}

int s3_sse_blob_writer(s3req_t *q, const s3_sse_t *s, hf_blob_writer_t **w)
{
    if (s->have_dk)
        return hf_blob_writer_open_sealed(q->s3->chunks, s->dk, w);
    return hf_blob_writer_open(q->s3->chunks, w);
}

void s3_sse_wipe(s3req_t *q)
{
    hf_wipe(&q->wsse, sizeof q->wsse);
    hf_wipe(&q->rsse, sizeof q->rsse);
}

/* ---- bucket default encryption ------------------------------------------------------------ */

static void cfg_xml(hf_buf_t *b, const enc_cfg_t *c, uint8_t server_default)
{
    hf_xml_decl(b);
    hf_xml_open_ns(b, "ServerSideEncryptionConfiguration");
    hf_xml_open(b, "Rule");
    /* A bucket without a configuration shows the server's default, as S3
     * shows SSE-S3 for every bucket since 2023. */
    if (c->set ? c->alg == CFG_ALG_AES256 : server_default == HF_SSE_S3) {
        hf_xml_open(b, "ApplyServerSideEncryptionByDefault");
        hf_xml_elem_str(b, "SSEAlgorithm", "AES256");
        hf_xml_close(b, "ApplyServerSideEncryptionByDefault");
    }
    hf_xml_elem_bool(b, "BucketKeyEnabled", c->bucket_key);
    if (c->blocked != CFG_BLOCK_UNSET) {
        hf_xml_open(b, "BlockedEncryptionTypes");
        hf_xml_elem_str(b, "EncryptionType", c->blocked == CFG_BLOCK_SSEC ? "SSE-C" : "NONE");
        hf_xml_close(b, "BlockedEncryptionTypes");
    }
    hf_xml_close(b, "Rule");
    hf_xml_close(b, "ServerSideEncryptionConfiguration");
}

void op_get_bucket_encryption(s3req_t *q)
{
    if (s3_load_bucket(q))
        return;
    enc_cfg_t c;
    int rc = load_cfg(q, &q->b, &c);
    if (rc) {
        s3_fail(q, hf_s3_err_from(rc), NULL);
        return;
    }
    if (!c.set && q->s3->sse_default == HF_SSE_NONE) {
        s3_fail(q, S3E_ServerSideEncryptionConfigurationNotFoundError, NULL);
        return;
    }
    hf_buf_t b;
    hf_buf_init(&b, 4096);
    cfg_xml(&b, &c, q->s3->sse_default);
    s3_send_xml(q, &b);
}

static int malformed(s3req_t *q, const char *why)
{
    return s3_fail(q, S3E_MalformedXML, "%s", why);
}

/* Only the named children, each at most once: S3 refuses what its schema
 * does not have. */
static int only_children(s3req_t *q, hf_xml_node_t *n, const char *const *names)
{
    for (hf_xml_node_t *c = n->child; c; c = c->next) {
        int k = 0;
        while (names[k] && strcmp(names[k], c->name) != 0)
            k++;
        if (!names[k])
            return malformed(q, "The XML you provided was not well-formed or did not validate "
                                "against our published schema");
        for (hf_xml_node_t *d = c->next; d; d = d->next)
            if (strcmp(d->name, c->name) == 0 && strcmp(c->name, "EncryptionType") != 0 &&
                strcmp(c->name, "Rule") != 0)
                return malformed(q, "The XML you provided was not well-formed or did not validate "
                                    "against our published schema");
    }
    return 0;
}

/* The document into c. 0 or -1 after s3_fail. */
static int parse_cfg(s3req_t *q, hf_xml_node_t *root, enc_cfg_t *c)
{
    static const char *const top[] = {"Rule", NULL};
    static const char *const rule[] = {"ApplyServerSideEncryptionByDefault", "BucketKeyEnabled",
                                       "BlockedEncryptionTypes", NULL};
    static const char *const dflt[] = {"SSEAlgorithm", "KMSMasterKeyID", NULL};
    static const char *const blocked[] = {"EncryptionType", NULL};
    const char *schema = "The XML you provided was not well-formed or did not validate against our "
                         "published schema";
    memset(c, 0, sizeof *c);
    c->set = true;
    if (only_children(q, root, top))
        return -1;
    hf_xml_node_t *r = hf_xml_child(root, "Rule");
    if (!r || hf_xml_next(r))
        return malformed(q, schema); /* exactly one rule, as S3 takes */
    if (only_children(q, r, rule))
        return -1;
    hf_xml_node_t *d = hf_xml_child(r, "ApplyServerSideEncryptionByDefault");
    if (d) {
        if (only_children(q, d, dflt))
            return -1;
        const char *alg = hf_xml_child_text(d, "SSEAlgorithm");
        if (!alg)
            return malformed(q, schema);
        if (strcmp(alg, "aws:kms") == 0 || strcmp(alg, "aws:kms:dsse") == 0)
            return s3_not_implemented(q, MSG_KMS);
        if (strcmp(alg, "AES256") != 0)
            return malformed(q, schema);
        if (hf_xml_child(d, "KMSMasterKeyID"))
            return s3_fail(q, S3E_InvalidArgument,
                           "a KMSMasterKeyID is not applicable if the default sse algorithm is not "
                           "aws:kms or aws:kms:dsse");
        c->alg = CFG_ALG_AES256;
    }
    const char *bk = hf_xml_child_text(r, "BucketKeyEnabled");
    if (bk) {
        if (strcmp(bk, "true") != 0 && strcmp(bk, "false") != 0)
            return malformed(q, schema);
        c->bucket_key = strcmp(bk, "true") == 0;
    }
    hf_xml_node_t *bl = hf_xml_child(r, "BlockedEncryptionTypes");
    if (bl) {
        if (only_children(q, bl, blocked))
            return -1;
        c->blocked = CFG_BLOCK_NONE;
        for (hf_xml_node_t *e = hf_xml_child(bl, "EncryptionType"); e; e = hf_xml_next(e)) {
            const char *t = e->text ? e->text : "";
            if (strcmp(t, "SSE-C") == 0)
                c->blocked = CFG_BLOCK_SSEC;
            else if (strcmp(t, "NONE") != 0)
                return malformed(q, schema);
        }
    }
    if (!d && !bl && !bk)
        return malformed(q, schema); /* an empty rule says nothing */
    return 0;
}

void op_put_bucket_encryption(s3req_t *q)
{
    if (s3_load_bucket(q))
        return;
    hf_xml_node_t *root;
    if (s3_read_xml(q, "ServerSideEncryptionConfiguration", false, &root))
        return;
    enc_cfg_t c;
    if (parse_cfg(q, root, &c))
        return;
    uint8_t v[CFG_LEN] = {c.alg, c.bucket_key ? 1 : 0, c.blocked};
    int rc = hf_meta_bucket_update(q->s3->meta, &q->b, 0, HF_BUCKET_HAS_ENCRYPTION,
                                   HF_BCFG_ENCRYPTION, v, sizeof v);
    if (rc) {
        s3_fail(q, rc == HF_E_NOTFOUND ? S3E_NoSuchBucket : hf_s3_err_from(rc), NULL);
        return;
    }
    s3_common_headers(q);
    hf_resp_send(q->r, 200, NULL, 0);
}

void op_delete_bucket_encryption(s3req_t *q)
{
    if (s3_load_bucket(q))
        return;
    /* Back to the default, as S3 resets a bucket to SSE-S3. */
    int rc = hf_meta_bucket_update(q->s3->meta, &q->b, HF_BUCKET_HAS_ENCRYPTION, 0,
                                   HF_BCFG_ENCRYPTION, NULL, 0);
    if (rc) {
        s3_fail(q, rc == HF_E_NOTFOUND ? S3E_NoSuchBucket : hf_s3_err_from(rc), NULL);
        return;
    }
    s3_no_content(q);
}
