/*
 * tagging.c -- object and bucket tags: the x-amz-tagging header,
 * Put/Get/DeleteObjectTagging and Put/Get/DeleteBucketTagging.
 *
 * S3's rules (AWS "Categorizing your storage using tags"): at most 10 tags
 * per object and 50 per bucket; keys of 1 to 128 characters, values of 0
 * to 256, counted in Unicode characters; keys unique; keys starting with
 * "aws:" are reserved. Characters are letters and digits in any script,
 * spaces, and + - = . _ : / @. Anything else is InvalidTag with a message
 * saying what is wrong, never silently altered.
 *
 * Object tags live in the object's version record (meta), so they follow
 * the version: a tagging call names a version with versionId like a GET.
 * Bucket tags are one bucket setting, kept as the TagSet document that
 * GetBucketTagging returns (regenerated from the parsed tags, so it is
 * always well-formed and canonical).
 */
#include "s3/internal.h"

#include "base/err.h"
#include "base/str.h"

#include <stdio.h>
#include <string.h>

#define BUCKET_TAGS_MAX 50
#define TAG_KEY_CHARS 128
#define TAG_VALUE_CHARS 256

/* Characters (not bytes) in valid UTF-8. */
static size_t utf8_chars(const char *s, size_t n)
{
    size_t c = 0;
    for (size_t i = 0; i < n; i++)
        if (((unsigned char)s[i] & 0xc0) != 0x80)
            c++;
    return c;
}

static bool tag_chars_ok(const char *s, size_t n)
{
    if (!hf_utf8_valid(s, n))
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x80)
            continue; /* letters and digits of other scripts */
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
            continue;
        if (!strchr(" +-=._:/@", c) || c == 0)
            return false;
    }
    return true;
}

/* Check tags[0..n) against S3's rules; max is 10 (objects) or 50
 * (buckets). 0 or -1 after s3_fail (InvalidTag). */
static int check_tags(s3req_t *q, const hf_kv_t *tags, uint32_t n, uint32_t max)
{
    if (n > max)
        return s3_fail(q, S3E_InvalidTag, "Object tags cannot be greater than %u", max);
    for (uint32_t i = 0; i < n; i++) {
        size_t kl = strlen(tags[i].name), vl = strlen(tags[i].value);
        /* S3 names the offending tag: its key, and its value when that is
         * what is wrong. */
        int mark = q->nerr_elem;
        s3_err_elem(q, "TagKey", "%s", tags[i].name);
        if (kl == 0)
            return s3_fail(q, S3E_InvalidTag, "The TagKey you have provided is invalid");
        if (!tag_chars_ok(tags[i].name, kl) || utf8_chars(tags[i].name, kl) > TAG_KEY_CHARS)
            return s3_fail(q, S3E_InvalidTag, "The TagKey you have provided is invalid");
        if (!tag_chars_ok(tags[i].value, vl) || utf8_chars(tags[i].value, vl) > TAG_VALUE_CHARS) {
            s3_err_elem(q, "TagValue", "%s", tags[i].value);
            return s3_fail(q, S3E_InvalidTag, "The TagValue you have provided is invalid");
        }
        if (kl >= 4 && strncmp(tags[i].name, "aws:", 4) == 0)
            return s3_fail(q, S3E_InvalidTag, "Your TagKey cannot be prefixed with aws:");
        for (uint32_t j = 0; j < i; j++)
            if (strcmp(tags[j].name, tags[i].name) == 0)
                return s3_fail(q, S3E_InvalidTag, "Cannot provide multiple Tags with the same key");
        q->nerr_elem = mark; /* this tag is fine: forget its key */
    }
    return 0;
}

/* Form-decode n bytes of s ('+' is a space, %XX a byte). NULL after
 * s3_fail. */
static char *form_decode(s3req_t *q, const char *s, size_t n)
{
    char *tmp = hf_arena_alloc(q->a, n + 1);
    if (!tmp) {
        s3_fail(q, S3E_InternalError, NULL);
        return NULL;
    }
    for (size_t i = 0; i < n; i++)
        tmp[i] = s[i] == '+' ? ' ' : s[i];
    char *out = hf_arena_alloc(q->a, n + 1);
    long k = out ? hf_uri_decode(out, tmp, n) : -1;
    if (k < 0 || memchr(out, '\0', (size_t)k)) {
        s3_fail_arg(q, "x-amz-tagging", s3_header(q, "x-amz-tagging"),
                    "The header 'x-amz-tagging' shall be encoded as UTF-8 then URLEncoded URL query "
                    "parameters without tag name duplicates.");
        return NULL;
    }
    out[k] = '\0';
    return out;
}

int s3_tagging_header(s3req_t *q, hf_obj_t *o)
{
    o->tags = NULL;
    o->ntags = 0;
    const char *v = s3_header(q, "x-amz-tagging");
    if (!v || !*v)
        return 0;
    uint32_t n = 1;
    for (const char *p = v; *p; p++)
        n += *p == '&';
    if (n > HF_OBJ_TAGS_MAX)
        return s3_fail(q, S3E_InvalidTag, "Object tags cannot be greater than %d", HF_OBJ_TAGS_MAX);
    hf_kv_t *tags = hf_arena_calloc(q->a, sizeof *tags * n);
    if (!tags)
        return s3_fail(q, S3E_InternalError, NULL);
    uint32_t k = 0;
    const char *p = v;
    for (;;) {
        const char *amp = strchr(p, '&');
        size_t len = amp ? (size_t)(amp - p) : strlen(p);
        if (len) {
            const char *eq = memchr(p, '=', len);
            size_t kl = eq ? (size_t)(eq - p) : len;
            tags[k].name = form_decode(q, p, kl);
            tags[k].value = eq ? form_decode(q, eq + 1, len - kl - 1) : "";
            if (!tags[k].name || !tags[k].value)
                return -1;
            k++;
        }
        if (!amp)
            break;
        p = amp + 1;
    }
    if (check_tags(q, tags, k, HF_OBJ_TAGS_MAX))
        return -1;
    o->tags = tags;
    o->ntags = k;
    return 0;
}

/* <Tagging><TagSet><Tag><Key/><Value/></Tag>...</TagSet></Tagging> into
 * tags. 0 or -1 after s3_fail. */
static int tags_from_doc(s3req_t *q, const hf_xml_node_t *root, uint32_t max, hf_kv_t **out,
                         uint32_t *nout)
{
    hf_xml_node_t *set = hf_xml_child(root, "TagSet");
    if (!set)
        return s3_fail(q, S3E_MalformedXML, "A Tagging document needs a TagSet.");
    uint32_t n = 0;
    for (hf_xml_node_t *t = hf_xml_child(set, "Tag"); t; t = hf_xml_next(t))
        n++;
    if (n > max)
        return s3_fail(q, S3E_InvalidTag, "Object tags cannot be greater than %u", max);
    hf_kv_t *tags = n ? hf_arena_calloc(q->a, sizeof *tags * n) : NULL;
    if (n && !tags)
        return s3_fail(q, S3E_InternalError, NULL);
    uint32_t i = 0;
    for (hf_xml_node_t *t = hf_xml_child(set, "Tag"); t; t = hf_xml_next(t), i++) {
        hf_xml_node_t *k = hf_xml_child(t, "Key"), *v = hf_xml_child(t, "Value");
        if (!k || !v)
            return s3_fail(q, S3E_MalformedXML, "Every Tag needs a Key and a Value.");
        if ((k->text && strlen(k->text) != k->textlen) || (v->text && strlen(v->text) != v->textlen))
            return s3_fail(q, S3E_InvalidTag, "Tags cannot contain the NUL character.");
        tags[i].name = k->text ? k->text : "";
        tags[i].value = v->text ? v->text : "";
    }
    if (check_tags(q, tags, n, max))
        return -1;
    *out = tags;
    *nout = n;
    return 0;
}

static int read_tagging(s3req_t *q, uint32_t max, hf_kv_t **out, uint32_t *nout)
{
    hf_xml_node_t *root;
    if (s3_read_xml(q, "Tagging", false, &root))
        return -1;
    return tags_from_doc(q, root, max, out, nout);
}

int s3_tagging_document(s3req_t *q, const char *xml, size_t n, hf_obj_t *o)
{
    hf_xml_node_t *root;
    if (hf_xml_parse(xml, n, q->a, &root) != HF_OK || strcmp(root->name, "Tagging") != 0)
        return s3_fail(q, S3E_MalformedXML, "The tagging field is not a Tagging document.");
    return tags_from_doc(q, root, HF_OBJ_TAGS_MAX, &o->tags, &o->ntags);
}

static void tagging_xml(hf_buf_t *b, const hf_kv_t *tags, uint32_t n)
{
    hf_xml_decl(b);
    hf_xml_open_ns(b, "Tagging");
    hf_xml_open(b, "TagSet");
    for (uint32_t i = 0; i < n; i++) {
        hf_xml_open(b, "Tag");
        hf_xml_elem_str(b, "Key", tags[i].name);
        hf_xml_elem_str(b, "Value", tags[i].value);
        hf_xml_close(b, "Tag");
    }
    hf_xml_close(b, "TagSet");
    hf_xml_close(b, "Tagging");
}

/* ---- object tagging ---------------------------------------------------------- */

/* Apply tags to the version the request names; answer with its id. */
static void set_object_tags(s3req_t *q, const hf_kv_t *tags, uint32_t n, int ok_status)
{
    uint8_t vbuf[16], changed[16];
    hf_version_sel_t ver;
    if (s3_version_param(q, vbuf, &ver))
        return;
    hf_obj_update_t u = {.set_tags = true, .tags = tags, .ntags = n};
    int rc = hf_meta_obj_update(q->s3->meta, &q->b, q->key, q->keylen, ver, &u, changed);
    if (rc == HF_E_NOTFOUND) {
        s3_fail(q, ver ? S3E_NoSuchVersion : S3E_NoSuchKey, NULL);
        return;
    }
    if (rc == HF_E_INVAL) {
        /* a delete marker */
        hf_resp_header(q->r, "x-amz-delete-marker", "true");
        if (ver)
            s3_fail_method(q, "DeleteMarker", "DELETE");
        else
            s3_fail(q, S3E_NoSuchKey, NULL);
        return;
    }
    if (rc) {
        s3_fail(q, hf_s3_err_from(rc), NULL);
        return;
    }
    s3_common_headers(q);
    s3_version_header(q, changed);
    hf_resp_send(q->r, ok_status, NULL, 0);
}

void op_put_object_tagging(s3req_t *q)
{
    if (s3_load_bucket(q))
        return;
    hf_kv_t *tags = NULL;
    uint32_t n = 0;
    if (read_tagging(q, HF_OBJ_TAGS_MAX, &tags, &n))
        return;
    set_object_tags(q, tags, n, 200);
}

void op_delete_object_tagging(s3req_t *q)
{
    if (s3_load_bucket(q))
        return;
    set_object_tags(q, NULL, 0, 204);
}

void op_get_object_tagging(s3req_t *q)
{
    if (s3_load_bucket(q))
        return;
    hf_obj_t o;
    if (s3_load_version(q, &o))
        return;
    hf_buf_t b;
    hf_buf_init(&b, 64 * 1024);
    tagging_xml(&b, o.tags, o.ntags);
    s3_version_header(q, o.version);
    s3_send_xml(q, &b);
}

/* ---- bucket tagging ------------------------------------------------------------ */

void op_put_bucket_tagging(s3req_t *q)
{
    if (s3_load_bucket(q))
        return;
    hf_kv_t *tags = NULL;
    uint32_t n = 0;
    if (read_tagging(q, BUCKET_TAGS_MAX, &tags, &n))
        return;
    hf_buf_t b;
    hf_buf_init(&b, 64 * 1024);
    tagging_xml(&b, tags, n);
    s3_put_bucket_cfg(q, HF_BCFG_TAGGING, b.data, b.len, 204);
    hf_buf_free(&b);
}

void op_get_bucket_tagging(s3req_t *q)
{
    if (s3_load_bucket(q))
        return;
    s3_send_bucket_cfg(q, HF_BCFG_TAGGING, S3E_NoSuchTagSet);
}

void op_delete_bucket_tagging(s3req_t *q)
{
    if (s3_load_bucket(q))
        return;
    s3_delete_bucket_cfg(q, HF_BCFG_TAGGING);
}
