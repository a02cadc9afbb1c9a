/*
 * attributes.c -- GetObjectAttributes: an object's ETag, checksum, parts,
 * storage class and size without its data (Amazon S3 API reference,
 * GetObjectAttributes).
 *
 * x-amz-object-attributes names what to return (comma-separated; at least
 * one, each one of ETag, Checksum, ObjectParts, StorageClass, ObjectSize);
 * ObjectParts pages with x-amz-max-parts and x-amz-part-number-marker and
 * is present only for multipart objects. The ETag is given without quotes,
 * as S3 does here. A composite checksum is the checksum of the parts'
 * checksums without the "-N" suffix the object headers carry; each part's
 * own checksum is listed under ObjectParts.
 */
#include "s3/internal.h"

#include "base/err.h"
#include "base/str.h"
#include "base/time.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

enum { A_ETAG = 1, A_CHECKSUM = 2, A_PARTS = 4, A_CLASS = 8, A_SIZE = 16 };

static int parse_attributes(s3req_t *q, unsigned *out)
{
    static const struct {
        const char *name;
        unsigned bit;
    } names[] = {{"ETag", A_ETAG}, {"Checksum", A_CHECKSUM}, {"ObjectParts", A_PARTS},
                 {"StorageClass", A_CLASS}, {"ObjectSize", A_SIZE}};
    *out = 0;
    const hf_http_req_t *h = &q->r->http;
    for (int i = 0; i < h->nheaders; i++) {
        if (!hf_strn_ieq(h->headers[i].name.p, h->headers[i].name.n, "x-amz-object-attributes"))
            continue;
        const char *p = h->headers[i].value.p, *end = p + h->headers[i].value.n;
        while (p < end) {
            while (p < end && (*p == ' ' || *p == ','))
                p++;
            const char *e = p;
            while (e < end && *e != ',')
                e++;
            const char *t = e;
            while (t > p && t[-1] == ' ')
                t--;
            if (t > p) {
                size_t k;
                for (k = 0; k < sizeof names / sizeof names[0]; k++)
                    if (hf_strn_ieq(p, (size_t)(t - p), names[k].name))
                        break;
                if (k == sizeof names / sizeof names[0]) {
                    s3_err_elem(q, "ArgumentName", "x-amz-object-attributes");
                    s3_err_elem(q, "ArgumentValue", "%.*s", (int)(t - p), p);
                    return s3_fail(q, S3E_InvalidArgument, "Invalid attribute name specified.");
                }
                *out |= names[k].bit;
            }
            p = e;
        }
    }
    if (!*out)
        return s3_fail(q, S3E_InvalidArgument,
                       "x-amz-object-attributes must name at least one of ETag, Checksum, "
                       "ObjectParts, StorageClass, ObjectSize.");
    return 0;
}

static int header_uint(s3req_t *q, const char *name, uint32_t def, uint32_t max, uint32_t *out)
{
    const char *v = s3_header(q, name);
    uint64_t x;
    *out = def;
    if (!v)
        return 0;
    if (hf_parse_u64(v, strlen(v), &x) != HF_OK)
        return s3_fail_arg(q, name, v, "%s must be an integer.", name);
    *out = x > max ? max : (uint32_t)x;
    return 0;
}

void op_get_object_attributes(s3req_t *q)
{
    if (s3_load_bucket(q))
        return;
    unsigned want;
    uint32_t max, marker;
    if (parse_attributes(q, &want) ||
        header_uint(q, "x-amz-max-parts", HF_LIST_PAGE_MAX, HF_LIST_PAGE_MAX, &max) ||
        header_uint(q, "x-amz-part-number-marker", 0, HF_PART_NUMBER_MAX, &marker))
        return;
    hf_obj_t o;
    /* An SSE-C object's attributes need its key, as its data does. */
    if (s3_load_version(q, &o) || s3_sse_open(q, &o, S3_SSE_READ, &q->rsse, false))
        return;
    char date[32];
    hf_time_http(date, o.mtime);
    s3_common_headers(q);
    hf_resp_header(q->r, "Last-Modified", date);
    s3_version_header(q, o.version);
    hf_buf_t b;
    hf_buf_init(&b, HF_RESP_XML_MAX);
    hf_xml_decl(&b);
    hf_xml_open_ns(&b, "GetObjectAttributesResponse");
    if (want & A_ETAG) {
        char etag[48];
        s3_etag(etag, o.etag, o.etag_parts);
        hf_xml_elem(&b, "ETag", etag + 1, strlen(etag) - 2);
    }
    const s3_ckinfo_t *c = s3_ck(o.ck_alg);
    if ((want & A_CHECKSUM) && c && o.ck_len) {
        char t[S3_CK_TEXT_MAX];
        hf_base64_encode(t, o.ck, o.ck_len);
        hf_xml_open(&b, "Checksum");
        hf_xml_elem_str(&b, c->xml, t);
        hf_xml_elem_str(&b, "ChecksumType", o.ck_type == HF_CK_COMPOSITE ? "COMPOSITE" : "FULL_OBJECT");
        hf_xml_close(&b, "Checksum");
    }
    if ((want & A_PARTS) && (o.flags & HF_OBJ_MULTIPART)) {
        hf_xml_open(&b, "ObjectParts");
        hf_xml_elem_u64(&b, "PartsCount", o.nparts);
        hf_xml_elem_u64(&b, "PartNumberMarker", marker);
        uint32_t shown = 0, last = 0;
        bool more = false;
        for (uint32_t i = 0; i < o.nparts; i++) {
            if (o.parts[i].number <= marker)
                continue;
            if (shown == max) {
                more = true;
                break;
            }
            shown++;
            last = o.parts[i].number;
        }
        if (more)
            hf_xml_elem_u64(&b, "NextPartNumberMarker", last);
        hf_xml_elem_u64(&b, "MaxParts", max);
        hf_xml_elem_bool(&b, "IsTruncated", more);
        shown = 0;
        for (uint32_t i = 0; i < o.nparts && shown < max; i++) {
            if (o.parts[i].number <= marker)
                continue;
            shown++;
            hf_xml_open(&b, "Part");
            hf_xml_elem_u64(&b, "PartNumber", o.parts[i].number);
            hf_xml_elem_u64(&b, "Size", o.parts[i].size);
            if (c && o.part_ck) {
                char t[S3_CK_TEXT_MAX];
                hf_base64_encode(t, o.part_ck + (size_t)i * o.ck_len, o.ck_len);
                hf_xml_elem_str(&b, c->xml, t);
            }
            hf_xml_close(&b, "Part");
        }
        hf_xml_close(&b, "ObjectParts");
    }
    if (want & A_CLASS)
        hf_xml_elem_str(&b, "StorageClass", "STANDARD");
    if (want & A_SIZE)
        hf_xml_elem_u64(&b, "ObjectSize", o.size);
    hf_xml_close(&b, "GetObjectAttributesResponse");
    s3_send_xml(q, &b);
}
