/*
 * checksum.c -- S3's additional checksums (x-amz-checksum-*): the table of
 * algorithms, their wire forms (header, XML element, base64 of the
 * big-endian value) and how an object's checksum is made, stored and
 * shown.
 *
 * What AWS documents ("Checking object integrity in Amazon S3"):
 *   - a PUT's checksum covers the whole body (FULL_OBJECT);
 *   - a multipart upload names its algorithm at creation; each part's
 *     checksum is verified on upload; at completion the object gets either
 *     a COMPOSITE checksum -- the algorithm over the concatenated binary
 *     part checksums, shown as "<base64>-<parts>" -- or, for the CRCs, a
 *     FULL_OBJECT checksum of the whole data, which we derive from the part
 *     CRCs without reading anything (base/hash.h combine). CRC64NVME is
 *     FULL_OBJECT only; SHA1 and SHA256 are COMPOSITE only; CRC32 and
 *     CRC32C default to COMPOSITE;
 *   - GET and HEAD return the checksum when asked with
 *     x-amz-checksum-mode: ENABLED, for the whole object (a range is not
 *     covered by it, so nothing is returned then), or the part's checksum
 *     when a part is read with partNumber.
 */
#include "s3/internal.h"

#include "base/err.h"
#include "base/str.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

static const s3_ckinfo_t table[] = {
    {HF_CK_CRC32, "CRC32", "x-amz-checksum-crc32", "ChecksumCRC32", HF_HS_CRC32, 4, true, true},
    {HF_CK_CRC32C, "CRC32C", "x-amz-checksum-crc32c", "ChecksumCRC32C", HF_HS_CRC32C, 4, true, true},
    {HF_CK_CRC64NVME, "CRC64NVME", "x-amz-checksum-crc64nvme", "ChecksumCRC64NVME", HF_HS_CRC64NVME,
     8, true, false},
    {HF_CK_SHA1, "SHA1", "x-amz-checksum-sha1", "ChecksumSHA1", HF_HS_SHA1, 20, false, true},
    {HF_CK_SHA256, "SHA256", "x-amz-checksum-sha256", "ChecksumSHA256", HF_HS_SHA256, 32, false, true},
};
#define NTABLE (sizeof table / sizeof table[0])

const s3_ckinfo_t *s3_ck(uint8_t alg)
{
    for (size_t i = 0; i < NTABLE; i++)
        if (table[i].alg == alg)
            return &table[i];
    return NULL;
}

const s3_ckinfo_t *s3_ck_by_name(const char *name)
{
    for (size_t i = 0; i < NTABLE; i++)
        if (strcasecmp(name, table[i].name) == 0)
            return &table[i];
    return NULL;
}

const s3_ckinfo_t *s3_ck_by_header(const char *h)
{
    for (size_t i = 0; i < NTABLE; i++)
        if (strcasecmp(h, table[i].header) == 0)
            return &table[i];
    return NULL;
}

const s3_ckinfo_t *s3_ck_at(size_t i)
{
    return i < NTABLE ? &table[i] : NULL;
}

bool s3_has_checksum_header(s3req_t *q)
{
    for (size_t i = 0; i < NTABLE; i++)
        if (hf_http_find(&q->r->http, table[i].header))
            return true;
    return hf_http_find(&q->r->http, "x-amz-trailer") != NULL;
}

const char *s3_ck_name(uint8_t alg)
{
    const s3_ckinfo_t *c = s3_ck(alg);
    return c ? c->name : "";
}

static void be32(uint8_t *o, uint32_t v)
{
    o[0] = (uint8_t)(v >> 24);
    o[1] = (uint8_t)(v >> 16);
    o[2] = (uint8_t)(v >> 8);
    o[3] = (uint8_t)v;
}

static void be64(uint8_t *o, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        o[i] = (uint8_t)(v >> (56 - 8 * i));
}

static uint64_t rd_be(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v = v << 8 | p[i];
    return v;
}

void s3_ck_value(uint8_t alg, const hf_hashset_t *hs, const uint8_t *sha256, const uint8_t *sha1,
                 uint8_t out[HF_CK_MAX_LEN])
{
    switch (alg) {
    case HF_CK_CRC32: be32(out, hs->crc32); break;
    case HF_CK_CRC32C: be32(out, hs->crc32c); break;
    case HF_CK_CRC64NVME: be64(out, hs->crc64nvme); break;
    case HF_CK_SHA1: memcpy(out, sha1, 20); break;
    case HF_CK_SHA256: memcpy(out, sha256, 32); break;
    default: break;
    }
}

void s3_ck_text(const hf_obj_t *o, char out[S3_CK_TEXT_MAX])
{
    hf_base64_encode(out, o->ck, o->ck_len);
    if (o->ck_type == HF_CK_COMPOSITE && (o->flags & HF_OBJ_MULTIPART))
        snprintf(out + strlen(out), S3_CK_TEXT_MAX - strlen(out), "-%u", o->etag_parts);
}

static const char *type_name(const hf_obj_t *o)
{
    return o->ck_type == HF_CK_COMPOSITE ? "COMPOSITE" : "FULL_OBJECT";
}

void s3_checksum_headers(s3req_t *q, const hf_obj_t *o)
{
    const s3_ckinfo_t *c = s3_ck(o->ck_alg);
    if (!c || !o->ck_len)
        return;
    char t[S3_CK_TEXT_MAX];
    s3_ck_text(o, t);
    hf_resp_header(q->r, c->header, t);
    hf_resp_header(q->r, "x-amz-checksum-type", type_name(o));
}

void s3_checksum_xml(hf_buf_t *b, const hf_obj_t *o)
{
    const s3_ckinfo_t *c = s3_ck(o->ck_alg);
    if (!c || !o->ck_len)
        return;
    char t[S3_CK_TEXT_MAX];
    s3_ck_text(o, t);
    hf_xml_elem_str(b, c->xml, t);
    hf_xml_elem_str(b, "ChecksumType", type_name(o));
}

unsigned s3_checksum_hash_flags(const hf_obj_t *o)
{
    const s3_ckinfo_t *c = s3_ck(o->ck_alg);
    return c && !o->ck_len ? c->hs : 0;
}

void s3_checksum_from_hashset(hf_obj_t *o, const hf_hashset_t *hs, const uint8_t *sha256,
                              const uint8_t *sha1)
{
    const s3_ckinfo_t *c = s3_ck(o->ck_alg);
    if (!c || o->ck_len)
        return;
    s3_ck_value(o->ck_alg, hs, sha256, sha1, o->ck);
    o->ck_len = c->len;
    o->ck_type = HF_CK_FULL_OBJECT;
}

int s3_copy_checksum(s3req_t *q, const hf_obj_t *so, hf_obj_t *o)
{
    o->ck_alg = HF_CK_NONE;
    o->ck_len = 0;
    o->part_ck = NULL;
    const char *alg = s3_header(q, "x-amz-checksum-algorithm");
    if (alg) {
        const s3_ckinfo_t *c = s3_ck_by_name(alg);
        if (!c)
            return s3_fail(q, S3E_InvalidRequest, "Value for x-amz-checksum-algorithm header is invalid.");
        o->ck_alg = c->alg;
        o->ck_type = HF_CK_FULL_OBJECT;
        if (so->ck_alg == c->alg && so->ck_len && so->ck_type == HF_CK_FULL_OBJECT) {
            memcpy(o->ck, so->ck, so->ck_len);
            o->ck_len = so->ck_len;
        }
        return 0;
    }
    if (so->ck_alg == HF_CK_NONE || !so->ck_len)
        return 0;
    o->ck_alg = so->ck_alg;
    o->ck_type = HF_CK_FULL_OBJECT;
    if (so->ck_type == HF_CK_FULL_OBJECT) {
        memcpy(o->ck, so->ck, so->ck_len);
        o->ck_len = so->ck_len;
    }
    /* else: a composite checksum covers parts the copy no longer has; the
     * caller computes a full-object one (ck_len 0 asks for it). */
    return 0;
}

/* ---- multipart ------------------------------------------------------------------ */

int s3_upload_checksum(s3req_t *q, hf_obj_t *tmpl)
{
    tmpl->ck_alg = HF_CK_NONE;
    const char *alg = s3_header(q, "x-amz-checksum-algorithm");
    const char *type = s3_header(q, "x-amz-checksum-type");
    if (!alg) {
        if (type)
            return s3_fail(q, S3E_InvalidRequest,
                           "The x-amz-checksum-type header can only be used with the x-amz-checksum-algorithm header.");
        return 0;
    }
    const s3_ckinfo_t *c = s3_ck_by_name(alg);
    if (!c)
        return s3_fail(q, S3E_InvalidRequest, "Value for x-amz-checksum-algorithm header is invalid.");
    uint8_t t;
    if (!type)
        t = c->composite ? HF_CK_COMPOSITE : HF_CK_FULL_OBJECT;
    else if (strcasecmp(type, "COMPOSITE") == 0)
        t = HF_CK_COMPOSITE;
    else if (strcasecmp(type, "FULL_OBJECT") == 0)
        t = HF_CK_FULL_OBJECT;
    else
        return s3_fail(q, S3E_InvalidRequest, "Value for x-amz-checksum-type header is invalid.");
    if ((t == HF_CK_COMPOSITE && !c->composite) || (t == HF_CK_FULL_OBJECT && !c->full_multipart))
        return s3_fail(q, S3E_InvalidRequest, "The %s checksum type cannot be used with the %s checksum algorithm.",
                       t == HF_CK_COMPOSITE ? "COMPOSITE" : "FULL_OBJECT", c->name);
    tmpl->ck_alg = c->alg;
    tmpl->ck_type = t;
    return 0;
}

void s3_upload_checksum_headers(s3req_t *q, const hf_obj_t *tmpl)
{
    const s3_ckinfo_t *c = s3_ck(tmpl->ck_alg);
    if (!c)
        return;
    hf_resp_header(q->r, "x-amz-checksum-algorithm", c->name);
    hf_resp_header(q->r, "x-amz-checksum-type", tmpl->ck_type == HF_CK_COMPOSITE ? "COMPOSITE" : "FULL_OBJECT");
}

void s3_part_checksum_from_hashset(const hf_obj_t *tmpl, hf_part_t *p, const hf_hashset_t *hs,
                                   const uint8_t *sha256, const uint8_t *sha1)
{
    const s3_ckinfo_t *c = s3_ck(tmpl->ck_alg);
    p->ck_len = 0;
    if (!c)
        return;
    s3_ck_value(c->alg, hs, sha256, sha1, p->ck);
    p->ck_len = c->len;
}

void s3_part_checksum_xml(hf_buf_t *b, const hf_obj_t *tmpl, const hf_part_t *p)
{
    const s3_ckinfo_t *c = s3_ck(tmpl->ck_alg);
    if (!c || p->ck_len != c->len)
        return;
    char t[S3_CK_TEXT_MAX];
    hf_base64_encode(t, p->ck, p->ck_len);
    hf_xml_elem_str(b, c->xml, t);
}

int s3_parse_ck_text(const s3_ckinfo_t *c, const char *text, uint8_t out[HF_CK_MAX_LEN])
{
    unsigned char raw[64];
    int n = hf_base64_decode(raw, sizeof raw, text, strlen(text));
    if (n != c->len)
        return HF_E_INVAL;
    memcpy(out, raw, (size_t)n);
    return HF_OK;
}

int s3_multipart_checksum(hf_obj_t *o, const uint8_t *part_ck, const uint64_t *sizes, uint32_t n)
{
    const s3_ckinfo_t *c = s3_ck(o->ck_alg);
    if (!c)
        return HF_E_INVAL;
    o->ck_len = c->len;
    if (o->ck_type == HF_CK_FULL_OBJECT) {
        /* The CRC of the whole object, from the parts' CRCs and sizes. */
        uint64_t acc = 0;
        for (uint32_t i = 0; i < n; i++) {
            uint64_t v = rd_be(part_ck + (size_t)i * c->len, c->len);
            if (i == 0)
                acc = v;
            else if (c->alg == HF_CK_CRC32)
                acc = hf_crc32_combine((uint32_t)acc, (uint32_t)v, sizes[i]);
            else if (c->alg == HF_CK_CRC32C)
                acc = hf_crc32c_combine((uint32_t)acc, (uint32_t)v, sizes[i]);
            else if (c->alg == HF_CK_CRC64NVME)
                acc = hf_crc64nvme_combine(acc, v, sizes[i]);
            else
                return HF_E_INVAL;
        }
        if (c->len == 4)
            be32(o->ck, (uint32_t)acc);
        else
            be64(o->ck, acc);
        return HF_OK;
    }
    /* COMPOSITE: the algorithm over the concatenated part checksums. */
    hf_hashset_t hs;
    if (hf_hashset_init(&hs, c->hs))
        return -12; /* -ENOMEM */
    hf_hashset_update(&hs, part_ck, (size_t)n * c->len);
    uint8_t sha256[32], sha1[20];
    hf_hashset_final(&hs, NULL, sha256, sha1);
    s3_ck_value(c->alg, &hs, sha256, sha1, o->ck);
    return HF_OK;
}
