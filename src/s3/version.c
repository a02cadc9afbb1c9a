/*
 * version.c -- object versions as S3 shows them: version ids in requests
 * and responses, Put/GetBucketVersioning, ListObjectVersions.
 *
 * A version id on the wire is 32 lower-case hex digits of the 16-byte
 * meta id (hlc | origin node, meta.h), or "null". Ids therefore sort by
 * the time they were written; clients treat them as opaque. Anything else
 * a client sends as a version id is InvalidArgument, as S3 answers for a
 * malformed one.
 */
#include "s3/internal.h"

#include "base/err.h"
#include "base/str.h"
#include "base/time.h"

#include <string.h>

int s3_version_parse(const char *s, uint8_t out[16])
{
    if (strcmp(s, "null") == 0) {
        memset(out, 0, 16);
        return HF_OK;
    }
    static const uint8_t zero[16];
    if (strlen(s) != 32 || hf_hex_decode(out, s, 16) != HF_OK || memcmp(out, zero, 16) == 0)
        return HF_E_INVAL;
    return HF_OK;
}

void s3_version_text(const uint8_t v[16], char out[33])
{
    static const uint8_t zero[16];
    if (memcmp(v, zero, 16) == 0)
        memcpy(out, "null", 5);
    else
        hf_hex_encode(out, v, 16);
}

int s3_version_param(s3req_t *q, uint8_t out[16], hf_version_sel_t *sel)
{
    *sel = NULL;
    const char *v = s3_param(q, "versionId");
    if (!v)
        return 0;
    if (!*v)
        return s3_fail_arg(q, "versionId", v, "Version id cannot be the empty string");
    if (s3_version_parse(v, out) != HF_OK)
        return s3_fail_arg(q, "versionId", v, "Invalid version id specified");
    *sel = out;
    return 0;
}

bool s3_bucket_versioned(const s3req_t *q)
{
    return (q->b.flags & (HF_BUCKET_VERSIONING | HF_BUCKET_SUSPENDED)) != 0;
}

void s3_version_header(s3req_t *q, const uint8_t v[16])
{
    static const uint8_t zero[16];
    if (!s3_bucket_versioned(q) && memcmp(v, zero, 16) == 0)
        return;
    char t[33];
    s3_version_text(v, t);
    hf_resp_header(q->r, "x-amz-version-id", t);
}

/* ---- PutBucketVersioning / GetBucketVersioning ----------------------------------- */

void op_put_bucket_versioning(s3req_t *q)
{
    if (s3_load_bucket(q))
        return;
    hf_xml_node_t *root;
    if (s3_read_xml(q, "VersioningConfiguration", false, &root))
        return;
    const char *status = hf_xml_child_text(root, "Status");
    const char *mfa = hf_xml_child_text(root, "MfaDelete");
    if (mfa && strcmp(mfa, "Enabled") == 0) {
        s3_not_implemented(q, "MFA Delete");
        return;
    }
    if (mfa && strcmp(mfa, "Disabled") != 0) {
        s3_fail(q, S3E_MalformedXML, "MfaDelete must be Enabled or Disabled.");
        return;
    }
    if (!status) {
        /* No Status: nothing changes (S3 accepts the empty document). */
        s3_common_headers(q);
        hf_resp_send(q->r, 200, NULL, 0);
        return;
    }
    bool enable;
    if (strcmp(status, "Enabled") == 0)
        enable = true;
    else if (strcmp(status, "Suspended") == 0)
        enable = false;
    else {
        s3_fail(q, S3E_MalformedXML, "Status must be Enabled or Suspended.");
        return;
    }
    int rc = hf_meta_bucket_versioning(q->s3->meta, &q->b, enable);
    if (rc == HF_E_CONFLICT) {
        s3_fail(q, S3E_InvalidBucketState,
                "An Object Lock configuration is present on this bucket, so the versioning state "
                "cannot be changed.");
        return;
    }
    if (rc) {
        s3_fail(q, rc == HF_E_NOTFOUND ? S3E_NoSuchBucket : hf_s3_err_from(rc), NULL);
        return;
    }
    s3_common_headers(q);
    hf_resp_send(q->r, 200, NULL, 0);
}

void op_get_bucket_versioning(s3req_t *q)
{
    if (s3_load_bucket(q))
        return;
    hf_buf_t b;
    hf_buf_init(&b, 4096);
    hf_xml_decl(&b);
    if (!s3_bucket_versioned(q)) {
        /* Never enabled: S3 answers with an empty configuration. */
        hf_buf_puts(&b, "<VersioningConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"/>");
    } else {
        hf_xml_open_ns(&b, "VersioningConfiguration");
        hf_xml_elem_str(&b, "Status", (q->b.flags & HF_BUCKET_VERSIONING) ? "Enabled" : "Suspended");
        hf_xml_close(&b, "VersioningConfiguration");
    }
    s3_send_xml(q, &b);
}

/* ---- ListObjectVersions ------------------------------------------------------------- */

void op_list_versions(s3req_t *q)
{
    if (s3_load_bucket(q))
        return;
    const char *prefix, *delim, *key_marker;
    if (s3_param_text(q, "prefix", &prefix) || s3_param_delimiter(q, &delim) ||
        s3_param_text(q, "key-marker", &key_marker))
        return;
    const char *vid_marker = s3_param(q, "version-id-marker");
    int url = s3_encoding_type(q);
    if (url < 0)
        return;
    uint32_t max;
    if (s3_param_uint(q, "max-keys", HF_LIST_PAGE_MAX, HF_LIST_PAGE_MAX, &max))
        return;
    if (vid_marker && *vid_marker && !(key_marker && *key_marker)) {
        s3_fail_arg(q, "version-id-marker", vid_marker,
                    "A version-id marker cannot be specified without a key marker.");
        return;
    }
    uint8_t vm[16];
    hf_vlist_req_t rq = {0};
    if (vid_marker && *vid_marker) {
        if (s3_version_parse(vid_marker, vm) != HF_OK) {
            s3_fail_arg(q, "version-id-marker", vid_marker, "Invalid version id specified");
            return;
        }
        rq.version_marker = vm;
    }
    rq.bucket_id = q->b.id;
    rq.prefix = (hf_str_t){prefix ? prefix : "", prefix ? strlen(prefix) : 0};
    rq.delimiter = (hf_str_t){delim ? delim : "", delim ? strlen(delim) : 0};
    rq.key_marker = (hf_str_t){key_marker ? key_marker : "", key_marker ? strlen(key_marker) : 0};
    rq.max_keys = max;
    hf_vlist_res_t res;
    int rc = hf_meta_obj_list_versions(q->s3->meta, &rq, q->a, &res);
    if (rc) {
        s3_fail(q, hf_s3_err_from(rc), NULL);
        return;
    }
    hf_buf_t b;
    hf_buf_init(&b, HF_RESP_XML_MAX);
    hf_xml_decl(&b);
    hf_xml_open_ns(&b, "ListVersionsResult");
    hf_xml_elem_str(&b, "Name", q->bucket);
    s3_xml_enc(q, &b, "Prefix", prefix ? prefix : "", prefix ? strlen(prefix) : 0, url);
    s3_xml_enc(q, &b, "KeyMarker", key_marker ? key_marker : "", key_marker ? strlen(key_marker) : 0,
               url);
    hf_xml_elem_str(&b, "VersionIdMarker", vid_marker ? vid_marker : "");
    if (res.truncated) {
        s3_xml_enc(q, &b, "NextKeyMarker", res.next_key.p, res.next_key.n, url);
        if (res.has_next_version) {
            char t[33];
            s3_version_text(res.next_version, t);
            hf_xml_elem_str(&b, "NextVersionIdMarker", t);
        }
    }
    hf_xml_elem_u64(&b, "MaxKeys", max);
    if (delim)
        s3_xml_enc(q, &b, "Delimiter", delim, strlen(delim), url);
    if (url)
        hf_xml_elem_str(&b, "EncodingType", "url");
    hf_xml_elem_bool(&b, "IsTruncated", res.truncated);
    for (uint32_t i = 0; i < res.nentries; i++) {
        const hf_list_entry_t *e = &res.entries[i];
        bool marker = (e->flags & HF_OBJ_DELETE_MARKER) != 0;
        char date[32], etag[48], vt[33];
        hf_time_iso8601(date, e->mtime);
        s3_version_text(e->version, vt);
        hf_xml_open(&b, marker ? "DeleteMarker" : "Version");
        s3_xml_enc(q, &b, "Key", e->key.p, e->key.n, url);
        hf_xml_elem_str(&b, "VersionId", vt);
        hf_xml_elem_bool(&b, "IsLatest", e->latest);
        hf_xml_elem_str(&b, "LastModified", date);
        if (!marker) {
            s3_etag(etag, e->etag, e->etag_parts);
            hf_xml_elem_str(&b, "ETag", etag);
            hf_xml_elem_u64(&b, "Size", e->size);
            s3_checksum_list_xml(&b, e);
        }
        s3_owner_xml(q, &b, e->owner);
        if (!marker)
            hf_xml_elem_str(&b, "StorageClass", "STANDARD");
        hf_xml_close(&b, marker ? "DeleteMarker" : "Version");
    }
    for (uint32_t i = 0; i < res.nprefixes; i++) {
        hf_xml_open(&b, "CommonPrefixes");
        s3_xml_enc(q, &b, "Prefix", res.prefixes[i].p, res.prefixes[i].n, url);
        hf_xml_close(&b, "CommonPrefixes");
    }
    hf_xml_close(&b, "ListVersionsResult");
    s3_send_xml(q, &b);
}
