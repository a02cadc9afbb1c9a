/*
 * record.c -- encoding and decoding of metadata records; see record.h and
 * docs/internals/FORMAT-meta.md.
 *
 * Owns: the byte layout of every value in the metadata tables.
 *
 * Approach. Version byte, then fixed-width big-endian fields, then tagged
 * fields { u8 tag, u32 len, bytes }. Fixed fields are the ones every record
 * of the kind has and that hot paths read without parsing (a listing reads
 * an object's size, mtime and ETag at fixed offsets). Everything optional
 * or variable is a tag, absent when empty, so a new optional field is a new
 * tag and old records stay valid. All reads go through a bounded cursor
 * (rd_t) whose failure is sticky, so a damaged length can only ever turn
 * into HF_E_CORRUPT.
 *
 * Rejected: a self-describing encoding (CBOR, msgpack): a dependency and
 * per-field type bytes for records whose shape we control; and plain C
 * structs written raw: no versioning, padding and byte order baked into the
 * file, and no way to add a field.
 */
#include "meta/record.h"

#include "base/err.h"
#include "base/str.h"
#include "meta/db.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

/* ---- writing ------------------------------------------------------------- */

static int put_u8(hf_buf_t *b, uint8_t v)
{
    return hf_buf_append(b, &v, 1);
}

static int put_u16(hf_buf_t *b, uint16_t v)
{
    uint8_t x[2];
    hf_db_be16_put(x, v);
    return hf_buf_append(b, x, 2);
}

static int put_u32(hf_buf_t *b, uint32_t v)
{
    uint8_t x[4];
    hf_db_be32_put(x, v);
    return hf_buf_append(b, x, 4);
}

static int put_u64(hf_buf_t *b, uint64_t v)
{
    uint8_t x[8];
    hf_db_be64_put(x, v);
    return hf_buf_append(b, x, 8);
}

static int put_tag_head(hf_buf_t *b, uint8_t tag, size_t len)
{
    if (len > UINT32_MAX)
        return HF_E_TOOBIG;
    int rc = put_u8(b, tag);
    return rc ? rc : put_u32(b, (uint32_t)len);
}

static int put_tag(hf_buf_t *b, uint8_t tag, const void *p, size_t len)
{
    int rc = put_tag_head(b, tag, len);
    return rc ? rc : hf_buf_append(b, p, len);
}

/* A NULL header is absent; an empty one is present and empty. */
static int put_str_tag(hf_buf_t *b, uint8_t tag, const char *s)
{
    return s ? put_tag(b, tag, s, strlen(s)) : HF_OK;
}

/* count u16, then per pair: name length u16 | name | value length u16 |
 * value. Absent when n == 0. */
static int put_kv_tag(hf_buf_t *b, uint8_t tag, const hf_kv_t *kv, uint32_t n)
{
    if (n == 0)
        return HF_OK;
    if (n > UINT16_MAX)
        return HF_E_TOOBIG;
    size_t len = 2;
    for (uint32_t i = 0; i < n; i++) {
        size_t nl = strlen(kv[i].name), vl = strlen(kv[i].value);
        if (nl > UINT16_MAX || vl > UINT16_MAX)
            return HF_E_TOOBIG;
        len += 4 + nl + vl;
    }
    int rc;
    if ((rc = put_tag_head(b, tag, len)) || (rc = put_u16(b, (uint16_t)n)))
        return rc;
    for (uint32_t i = 0; i < n; i++) {
        size_t nl = strlen(kv[i].name), vl = strlen(kv[i].value);
        if ((rc = put_u16(b, (uint16_t)nl)) || (rc = hf_buf_append(b, kv[i].name, nl)) ||
            (rc = put_u16(b, (uint16_t)vl)) || (rc = hf_buf_append(b, kv[i].value, vl)))
            return rc;
    }
    return HF_OK;
}

/* The six standard headers and the user metadata of o: shared by object
 * records and upload records (whose template carries them). */
static int put_headers(hf_buf_t *b, const hf_obj_t *o)
{
    int rc;
    if ((rc = put_str_tag(b, HF_REC_TAG_CONTENT_TYPE, o->content_type)) ||
        (rc = put_str_tag(b, HF_REC_TAG_CONTENT_ENCODING, o->content_encoding)) ||
        (rc = put_str_tag(b, HF_REC_TAG_CONTENT_DISPOSITION, o->content_disposition)) ||
        (rc = put_str_tag(b, HF_REC_TAG_CONTENT_LANGUAGE, o->content_language)) ||
        (rc = put_str_tag(b, HF_REC_TAG_CACHE_CONTROL, o->cache_control)) ||
        (rc = put_str_tag(b, HF_REC_TAG_EXPIRES, o->expires)))
        return rc;
    return put_kv_tag(b, HF_REC_TAG_META, o->meta, o->nmeta);
}

/* The settings an upload passes to its object and an object keeps: tags,
 * Object Lock, and the checksum (for an upload, only its algorithm and
 * type). */
static int put_obj_settings(hf_buf_t *b, const hf_obj_t *o, bool with_value)
{
    int rc;
    if (o->ck_alg != HF_CK_NONE) {
        size_t vl = with_value ? o->ck_len : 0;
        if (vl > HF_CK_MAX_LEN)
            return HF_E_INVAL;
        if ((rc = put_tag_head(b, HF_REC_TAG_CHECKSUM, 2 + vl)) || (rc = put_u8(b, o->ck_alg)) ||
            (rc = put_u8(b, o->ck_type)) || (vl && (rc = hf_buf_append(b, o->ck, vl))))
            return rc;
    }
    if (with_value && o->part_ck && o->nparts && o->ck_len) {
        size_t len = 2 + (size_t)o->nparts * o->ck_len;
        if ((rc = put_tag_head(b, HF_REC_TAG_PART_CHECKSUMS, len)) || (rc = put_u8(b, o->ck_alg)) ||
            (rc = put_u8(b, o->ck_len)) ||
            (rc = hf_buf_append(b, o->part_ck, (size_t)o->nparts * o->ck_len)))
            return rc;
    }
    if ((rc = put_kv_tag(b, HF_REC_TAG_TAGS, o->tags, o->ntags)))
        return rc;
    if (o->acl_len) {
        if (o->acl_len > HF_OBJ_ACL_MAX || !o->acl)
            return HF_E_INVAL;
        if ((rc = put_tag_head(b, HF_REC_TAG_ACL, o->acl_len)) ||
            (rc = hf_buf_append(b, o->acl, o->acl_len)))
            return rc;
    }
    if (o->lock_mode != HF_LOCK_NONE || o->legal_hold) {
        if ((rc = put_tag_head(b, HF_REC_TAG_LOCK, 10)) || (rc = put_u8(b, o->lock_mode)) ||
            (rc = put_u64(b, (uint64_t)o->lock_until)) || (rc = put_u8(b, o->legal_hold ? 1 : 0)))
            return rc;
    }
    if (o->sse_len) {
        if (o->sse_len > HF_OBJ_SSE_MAX || !o->sse)
            return HF_E_INVAL;
        if ((rc = put_tag(b, HF_REC_TAG_SSE, o->sse, o->sse_len)))
            return rc;
    }
    return HF_OK;
}

/* ---- reading ------------------------------------------------------------- */

typedef struct rd {
    const uint8_t *p;
    size_t n, off;
    bool bad; /* sticky: once a read overran, every later read fails */
} rd_t;

static const uint8_t *take(rd_t *r, size_t k)
{
    if (r->bad || r->n - r->off < k) {
        r->bad = true;
        return NULL;
    }
    const uint8_t *q = r->p + r->off;
    r->off += k;
    return q;
}

static uint8_t get_u8(rd_t *r)
{
    const uint8_t *q = take(r, 1);
    return q ? q[0] : 0;
}

static uint16_t get_u16(rd_t *r)
{
    const uint8_t *q = take(r, 2);
    return q ? hf_db_be16_get(q) : 0;
}

static uint32_t get_u32(rd_t *r)
{
    const uint8_t *q = take(r, 4);
    return q ? hf_db_be32_get(q) : 0;
}

static uint64_t get_u64(rd_t *r)
{
    const uint8_t *q = take(r, 8);
    return q ? hf_db_be64_get(q) : 0;
}

static void get_bytes(rd_t *r, void *out, size_t k)
{
    const uint8_t *q = take(r, k);
    if (q)
        memcpy(out, q, k);
    else
        memset(out, 0, k);
}

/* Check the version byte and set up a cursor after it. */
static int start(rd_t *r, const void *p, size_t n)
{
    r->p = p;
    r->n = n;
    r->off = 0;
    r->bad = false;
    if (n < 1)
        return HF_E_CORRUPT;
    uint8_t v = get_u8(r);
    if (v == 0)
        return HF_E_CORRUPT;
    if (v > HF_REC_VERSION)
        return HF_E_VERSION;
    return HF_OK;
}

/* The next tagged field: 1 and its tag/bytes, 0 at the end, or an error. */
static int next_tag(rd_t *r, uint8_t *tag, const uint8_t **v, uint32_t *len)
{
    if (r->bad)
        return HF_E_CORRUPT;
    if (r->off == r->n)
        return 0;
    *tag = get_u8(r);
    *len = get_u32(r);
    *v = take(r, *len);
    return r->bad ? HF_E_CORRUPT : 1;
}

/* An unknown tag: skipped unless it is critical. */
static int unknown_tag(uint8_t tag)
{
    return tag >= HF_REC_TAG_CRITICAL ? HF_E_VERSION : HF_OK;
}

/* Each known tag (all are below 30, or one of the critical ones) at most
 * once: a repeat means damage, not a feature. */
static int seen_once(uint32_t *seen, uint8_t tag)
{
    if (tag >= 30 && tag != HF_REC_TAG_LOCK && tag != HF_REC_TAG_SSE)
        return HF_OK; /* not a tag this build knows */
    uint32_t bit = 1u << (tag == HF_REC_TAG_LOCK ? 31 : tag == HF_REC_TAG_SSE ? 30 : tag);
    if (*seen & bit)
        return HF_E_CORRUPT;
    *seen |= bit;
    return HF_OK;
}

static int dup_str(hf_arena_t *a, const uint8_t *v, uint32_t len, const char **out)
{
    char *s = hf_arena_strndup(a, (const char *)v, len);
    if (!s)
        return -ENOMEM;
    *out = s;
    return HF_OK;
}

static int decode_kv(hf_arena_t *a, const uint8_t *v, uint32_t len, hf_kv_t **out, uint32_t *nout)
{
    rd_t r = {v, len, 0, false};
    uint16_t cnt = get_u16(&r);
    if (r.bad)
        return HF_E_CORRUPT;
    /* Each pair takes at least 4 bytes: bound the allocation by the bytes
     * actually present before trusting cnt. */
    if ((size_t)cnt * 4 > len - 2)
        return HF_E_CORRUPT;
    hf_kv_t *kv = cnt ? hf_arena_alloc(a, (size_t)cnt * sizeof *kv) : NULL;
    if (cnt && !kv)
        return -ENOMEM;
    for (uint16_t i = 0; i < cnt; i++) {
        uint16_t nl = get_u16(&r);
        const uint8_t *np = take(&r, nl);
        uint16_t vl = get_u16(&r);
        const uint8_t *vp = take(&r, vl);
        if (r.bad)
            return HF_E_CORRUPT;
        char *ns = hf_arena_strndup(a, (const char *)np, nl);
        char *vs = hf_arena_strndup(a, (const char *)vp, vl);
        if (!ns || !vs)
            return -ENOMEM;
        kv[i].name = ns;
        kv[i].value = vs;
    }
    if (r.off != r.n)
        return HF_E_CORRUPT;
    *nout = cnt;
    *out = kv;
    return HF_OK;
}

/* Checksum, part checksums, tags and lock tags into o: 1 if tag was one of
 * them, 0 if not, or an error. *pck_n and *pck_len get the count and size
 * of the part checksums, for the caller to check against the parts. */
static int decode_setting(hf_arena_t *a, uint8_t tag, const uint8_t *v, uint32_t len, hf_obj_t *o,
                          uint32_t *pck_n, uint8_t *pck_len)
{
    switch (tag) {
    case HF_REC_TAG_CHECKSUM:
        if (len < 2 || len - 2 > HF_CK_MAX_LEN)
            return HF_E_CORRUPT;
        o->ck_alg = v[0];
        o->ck_type = v[1];
        o->ck_len = (uint8_t)(len - 2);
        memcpy(o->ck, v + 2, len - 2);
        return 1;
    case HF_REC_TAG_PART_CHECKSUMS: {
        if (len < 2 || v[1] == 0 || v[1] > HF_CK_MAX_LEN || (len - 2) % v[1])
            return HF_E_CORRUPT;
        uint8_t *d = hf_arena_alloc(a, len - 2);
        if (!d)
            return -ENOMEM;
        memcpy(d, v + 2, len - 2);
        o->part_ck = d;
        *pck_len = v[1];
        *pck_n = (len - 2) / v[1];
        return 1;
    }
    case HF_REC_TAG_TAGS: {
        int rc = decode_kv(a, v, len, &o->tags, &o->ntags);
        return rc ? rc : 1;
    }
    case HF_REC_TAG_ACL: {
        if (len == 0 || len > HF_OBJ_ACL_MAX)
            return HF_E_CORRUPT;
        uint8_t *d = hf_arena_alloc(a, len);
        if (!d)
            return -ENOMEM;
        memcpy(d, v, len);
        o->acl = d;
        o->acl_len = len;
        return 1;
    }
    case HF_REC_TAG_LOCK:
        if (len != 10)
            return HF_E_CORRUPT;
        o->lock_mode = v[0];
        o->lock_until = (int64_t)hf_db_be64_get(v + 1);
        o->legal_hold = v[9] != 0;
        return 1;
    case HF_REC_TAG_SSE: {
        /* Its contents are the S3 layer's to check; here only its size. */
        if (len == 0 || len > HF_OBJ_SSE_MAX)
            return HF_E_CORRUPT;
        uint8_t *d = hf_arena_alloc(a, len);
        if (!d)
            return -ENOMEM;
        memcpy(d, v, len);
        o->sse = d;
        o->sse_len = len;
        return 1;
    }
    default: return 0;
    }
}

/* A header or metadata tag into o; 1 if tag was one of them, 0 if not. */
static int decode_header(hf_arena_t *a, uint8_t tag, const uint8_t *v, uint32_t len, hf_obj_t *o)
{
    const char **dst = NULL;
    switch (tag) {
    case HF_REC_TAG_CONTENT_TYPE: dst = &o->content_type; break;
    case HF_REC_TAG_CONTENT_ENCODING: dst = &o->content_encoding; break;
    case HF_REC_TAG_CONTENT_DISPOSITION: dst = &o->content_disposition; break;
    case HF_REC_TAG_CONTENT_LANGUAGE: dst = &o->content_language; break;
    case HF_REC_TAG_CACHE_CONTROL: dst = &o->cache_control; break;
    case HF_REC_TAG_EXPIRES: dst = &o->expires; break;
    case HF_REC_TAG_META: {
        int rc = decode_kv(a, v, len, &o->meta, &o->nmeta);
        return rc ? rc : 1;
    }
    default: return 0;
    }
    int rc = dup_str(a, v, len, dst);
    return rc ? rc : 1;
}

/* ---- users ----------------------------------------------------------------
 * ver u8 | id u64 | flags u32 | created i64 | canonical id 32 raw bytes |
 * access key len u8 | access key | secret len u8 | secret | tags
 * The fixed flags carry HF_USER_ROOT (and any bit a later build puts
 * there); restrictions go to a critical tag, written only when set, so a
 * user without any is byte for byte what the first format wrote. */

/* Restriction flags <-> the bits of HF_REC_USER_TAG_RESTRICT. */
#define REC_RESTRICT_DISABLED 1u
#define REC_RESTRICT_NO_CREATE_BUCKET 2u

static int put_key_pair(hf_buf_t *b, const char *ak, const char *sk)
{
    size_t al = strlen(ak), sl = strlen(sk);
    if (al > HF_ACCESS_KEY_MAX || sl > HF_SECRET_KEY_MAX)
        return HF_E_INVAL;
    int rc;
    if ((rc = put_u8(b, (uint8_t)al)) || (rc = hf_buf_append(b, ak, al)) ||
        (rc = put_u8(b, (uint8_t)sl)) || (rc = hf_buf_append(b, sk, sl)))
        return rc;
    return HF_OK;
}

/* A length-prefixed key or secret into dst (cap max + 1); false on damage. */
static bool get_key_str(rd_t *r, char *dst, size_t max)
{
    uint8_t l = get_u8(r);
    if (l > max) {
        r->bad = true;
        return false;
    }
    get_bytes(r, dst, l);
    dst[l] = '\0';
    return !r->bad;
}

int hf_rec_user_encode(hf_buf_t *b, const hf_user_t *u)
{
    uint8_t cid[32];
    if (strlen(u->canonical_id) != 64 || hf_hex_decode(cid, u->canonical_id, 32) != HF_OK)
        return HF_E_INVAL;
    if (u->nretiring > HF_USER_RETIRING_MAX)
        return HF_E_INVAL;
    int rc;
    if ((rc = put_u8(b, HF_REC_VERSION)) || (rc = put_u64(b, u->id)) ||
        (rc = put_u32(b, u->flags & ~(uint32_t)HF_USER_RESTRICTIONS)) ||
        (rc = put_u64(b, (uint64_t)u->created)) || (rc = hf_buf_append(b, cid, 32)) ||
        (rc = put_key_pair(b, u->access_key, u->secret_key)))
        return rc;
    if (u->nretiring) {
        size_t len = 1;
        for (uint32_t i = 0; i < u->nretiring; i++)
            len += 16 + 2 + strlen(u->retiring[i].access_key) + strlen(u->retiring[i].secret_key);
        if ((rc = put_tag_head(b, HF_REC_USER_TAG_RETIRING, len)) ||
            (rc = put_u8(b, (uint8_t)u->nretiring)))
            return rc;
        for (uint32_t i = 0; i < u->nretiring; i++) {
            const hf_user_key_t *k = &u->retiring[i];
            if ((rc = put_u64(b, (uint64_t)k->created)) || (rc = put_u64(b, (uint64_t)k->expires)) ||
                (rc = put_key_pair(b, k->access_key, k->secret_key)))
                return rc;
        }
    }
    /* No tag (users from before rotation, and 0: not set): the key is as
     * old as the user. */
    if (u->key_created != 0 && u->key_created != u->created) {
        if ((rc = put_tag_head(b, HF_REC_USER_TAG_KEY_CREATED, 8)) ||
            (rc = put_u64(b, (uint64_t)u->key_created)))
            return rc;
    }
    uint32_t bits = (u->flags & HF_USER_DISABLED ? REC_RESTRICT_DISABLED : 0) |
                    (u->flags & HF_USER_NO_CREATE_BUCKET ? REC_RESTRICT_NO_CREATE_BUCKET : 0);
    if (bits && ((rc = put_tag_head(b, HF_REC_USER_TAG_RESTRICT, 4)) || (rc = put_u32(b, bits))))
        return rc;
    return HF_OK;
}

static int decode_retiring(const uint8_t *v, uint32_t len, hf_user_t *u)
{
    rd_t r = {v, len, 0, false};
    uint8_t cnt = get_u8(&r);
    if (r.bad || cnt == 0)
        return HF_E_CORRUPT;
    /* More than this build can hold: written by a later build with a
     * higher bound; leave the record alone rather than lose keys. */
    if (cnt > HF_USER_RETIRING_MAX)
        return HF_E_VERSION;
    for (uint8_t i = 0; i < cnt; i++) {
        hf_user_key_t *k = &u->retiring[i];
        k->created = (int64_t)get_u64(&r);
        k->expires = (int64_t)get_u64(&r);
        if (!get_key_str(&r, k->access_key, HF_ACCESS_KEY_MAX) ||
            !get_key_str(&r, k->secret_key, HF_SECRET_KEY_MAX))
            return HF_E_CORRUPT;
    }
    if (r.off != r.n)
        return HF_E_CORRUPT;
    u->nretiring = cnt;
    return HF_OK;
}

int hf_rec_user_decode(const void *p, size_t n, hf_user_t *u)
{
    rd_t r;
    int rc = start(&r, p, n);
    if (rc)
        return rc;
    uint8_t cid[32];
    u->id = get_u64(&r);
    u->flags = get_u32(&r) & ~(uint32_t)HF_USER_RESTRICTIONS;
    u->created = (int64_t)get_u64(&r);
    get_bytes(&r, cid, 32);
    if (!get_key_str(&r, u->access_key, HF_ACCESS_KEY_MAX) ||
        !get_key_str(&r, u->secret_key, HF_SECRET_KEY_MAX))
        return HF_E_CORRUPT;
    hf_hex_encode(u->canonical_id, cid, 32);
    u->key_created = u->created;
    u->nretiring = 0;
    uint8_t tag;
    const uint8_t *v;
    uint32_t len, seen = 0;
    while ((rc = next_tag(&r, &tag, &v, &len)) == 1) {
        switch (tag) {
        case HF_REC_USER_TAG_RETIRING:
            if (seen & 1)
                return HF_E_CORRUPT;
            if ((rc = decode_retiring(v, len, u)))
                return rc;
            seen |= 1;
            break;
        case HF_REC_USER_TAG_KEY_CREATED:
            if ((seen & 2) || len != 8)
                return HF_E_CORRUPT;
            seen |= 2;
            u->key_created = (int64_t)hf_db_be64_get(v);
            if (u->key_created == 0) /* never written so; read as absent */
                u->key_created = u->created;
            break;
        case HF_REC_USER_TAG_RESTRICT: {
            if ((seen & 4) || len != 4)
                return HF_E_CORRUPT;
            seen |= 4;
            uint32_t bits = hf_db_be32_get(v);
            /* A restriction this build does not know cannot be enforced. */
            if (bits & ~(REC_RESTRICT_DISABLED | REC_RESTRICT_NO_CREATE_BUCKET))
                return HF_E_VERSION;
            if (bits & REC_RESTRICT_DISABLED)
                u->flags |= HF_USER_DISABLED;
            if (bits & REC_RESTRICT_NO_CREATE_BUCKET)
                u->flags |= HF_USER_NO_CREATE_BUCKET;
            break;
        }
        default:
            if ((rc = unknown_tag(tag)))
                return rc;
        }
    }
    return rc;
}

/* ---- buckets --------------------------------------------------------------
 * ver u8 | id u64 | owner u64 | created i64 | flags u32 | region len u8 |
 * region | tags */

int hf_rec_bucket_encode(hf_buf_t *b, const hf_bucket_t *bk)
{
    size_t rl = strlen(bk->region);
    if (rl > HF_REGION_MAX)
        return HF_E_INVAL;
    int rc;
    if ((rc = put_u8(b, HF_REC_VERSION)) || (rc = put_u64(b, bk->id)) || (rc = put_u64(b, bk->owner)) ||
        (rc = put_u64(b, (uint64_t)bk->created)) || (rc = put_u32(b, bk->flags)) ||
        (rc = put_u8(b, (uint8_t)rl)) || (rc = hf_buf_append(b, bk->region, rl)))
        return rc;
    return HF_OK;
}

int hf_rec_bucket_decode(const void *p, size_t n, hf_bucket_t *bk)
{
    rd_t r;
    int rc = start(&r, p, n);
    if (rc)
        return rc;
    bk->id = get_u64(&r);
    bk->owner = get_u64(&r);
    bk->created = (int64_t)get_u64(&r);
    bk->flags = get_u32(&r);
    uint8_t rl = get_u8(&r);
    if (rl > HF_REGION_MAX)
        return HF_E_CORRUPT;
    get_bytes(&r, bk->region, rl);
    bk->region[rl] = '\0';
    if (r.bad)
        return HF_E_CORRUPT;
    uint8_t tag;
    const uint8_t *v;
    uint32_t len;
    while ((rc = next_tag(&r, &tag, &v, &len)) == 1)
        if ((rc = unknown_tag(tag)))
            return rc;
    return rc;
}

/* ---- objects --------------------------------------------------------------
 * ver u8 | flags u32 | size u64 | mtime i64 | hlc u64 | origin u64 |
 * version id 16 | etag 16 | etag parts u32 | owner u64 | tags */

int hf_rec_obj_encode(hf_buf_t *b, const hf_obj_t *o, const char *key, size_t keylen)
{
    int rc;
    uint32_t flags = (o->flags & HF_REC_FLAGS_OBJ) | (uint32_t)(o->ck_alg & 0xf) << 8 |
                     (uint32_t)(o->ck_type & 0x3) << 12;
    if ((rc = put_u8(b, HF_REC_VERSION)) || (rc = put_u32(b, flags)) || (rc = put_u64(b, o->size)) ||
        (rc = put_u64(b, (uint64_t)o->mtime)) || (rc = put_u64(b, o->hlc)) ||
        (rc = put_u64(b, o->origin)) || (rc = hf_buf_append(b, o->version, 16)) ||
        (rc = hf_buf_append(b, o->etag, 16)) || (rc = put_u32(b, o->etag_parts)) ||
        (rc = put_u64(b, o->owner)))
        return rc;
    /* The key first: listings of long keys look for it, and stop early. */
    if (key && (rc = put_tag(b, HF_REC_TAG_KEY, key, keylen)))
        return rc;
    if ((rc = put_headers(b, o)))
        return rc;
    if (o->flags & HF_OBJ_INLINE) {
        if ((rc = put_tag_head(b, HF_REC_TAG_INLINE, 4 + (size_t)o->inline_len)) ||
            (rc = put_u32(b, o->inline_crc32c)) ||
            (o->inline_len && (rc = hf_buf_append(b, o->inline_data, o->inline_len))))
            return rc;
    }
    if (o->nparts) {
        if ((rc = put_tag_head(b, HF_REC_TAG_PARTS, (size_t)o->nparts * HF_REC_OBJ_PART_LEN)))
            return rc;
        for (uint32_t i = 0; i < o->nparts; i++) {
            const hf_obj_part_t *pt = &o->parts[i];
            if ((rc = hf_buf_append(b, pt->blob.b, 16)) || (rc = put_u64(b, pt->size)) ||
                (rc = put_u32(b, pt->number)) || (rc = hf_buf_append(b, pt->etag, 16)))
                return rc;
        }
    }
    return put_obj_settings(b, o, true);
}

static void obj_fixed(rd_t *r, hf_obj_t *o)
{
    o->flags = get_u32(r) & HF_REC_FLAGS_OBJ;
    o->size = get_u64(r);
    o->mtime = (int64_t)get_u64(r);
    o->hlc = get_u64(r);
    o->origin = get_u64(r);
    get_bytes(r, o->version, 16);
    get_bytes(r, o->etag, 16);
    o->etag_parts = get_u32(r);
    o->owner = get_u64(r);
}

void hf_rec_obj_part_at(const uint8_t *raw, uint32_t i, hf_obj_part_t *out)
{
    const uint8_t *q = raw + (size_t)i * HF_REC_OBJ_PART_LEN;
    memcpy(out->blob.b, q, 16);
    out->size = hf_db_be64_get(q + 16);
    out->number = hf_db_be32_get(q + 24);
    memcpy(out->etag, q + 28, 16);
}

int hf_rec_obj_decode(const void *p, size_t n, hf_arena_t *a, hf_obj_t *o)
{
    bool unknown;
    return hf_rec_obj_decode_ex(p, n, a, o, &unknown);
}

int hf_rec_obj_lock(const void *p, size_t n, uint8_t *mode, int64_t *until, bool *hold)
{
    *mode = HF_LOCK_NONE;
    *until = 0;
    *hold = false;
    rd_t r;
    int rc = start(&r, p, n);
    if (rc)
        return rc;
    if (!take(&r, HF_REC_OBJ_FIXED - 1))
        return HF_E_CORRUPT;
    uint8_t tag;
    const uint8_t *v;
    uint32_t len;
    while ((rc = next_tag(&r, &tag, &v, &len)) == 1) {
        if (tag != HF_REC_TAG_LOCK)
            continue;
        if (len != 10)
            return HF_E_CORRUPT;
        *mode = v[0];
        *until = (int64_t)hf_db_be64_get(v + 1);
        *hold = v[9] != 0;
    }
    return rc;
}

int hf_rec_obj_decode_ex(const void *p, size_t n, hf_arena_t *a, hf_obj_t *o, bool *unknown)
{
    memset(o, 0, sizeof *o);
    *unknown = false;
    rd_t r;
    int rc = start(&r, p, n);
    if (rc)
        return rc;
    obj_fixed(&r, o);
    if (r.bad)
        return HF_E_CORRUPT;
    uint32_t seen = 0, pck_n = 0;
    uint8_t pck_len = 0;
    uint8_t tag;
    const uint8_t *v;
    uint32_t len;
    while ((rc = next_tag(&r, &tag, &v, &len)) == 1) {
        if ((rc = seen_once(&seen, tag)))
            return rc;
        if (tag == HF_REC_TAG_KEY)
            continue; /* the caller knows the key */
        rc = decode_header(a, tag, v, len, o);
        if (rc == 0)
            rc = decode_setting(a, tag, v, len, o, &pck_n, &pck_len);
        if (rc < 0)
            return rc;
        if (rc == 1)
            continue;
        if (tag == HF_REC_TAG_INLINE) {
            if (len < 4)
                return HF_E_CORRUPT;
            o->inline_crc32c = hf_db_be32_get(v);
            o->inline_len = len - 4;
            uint8_t *d = hf_arena_alloc(a, o->inline_len ? o->inline_len : 1);
            if (!d)
                return -ENOMEM;
            memcpy(d, v + 4, o->inline_len);
            o->inline_data = d;
        } else if (tag == HF_REC_TAG_PARTS) {
            if (len % HF_REC_OBJ_PART_LEN)
                return HF_E_CORRUPT;
            o->nparts = len / HF_REC_OBJ_PART_LEN;
            o->parts = hf_arena_alloc(a, (size_t)o->nparts * sizeof *o->parts);
            if (!o->parts)
                return -ENOMEM;
            for (uint32_t i = 0; i < o->nparts; i++)
                hf_rec_obj_part_at(v, i, &o->parts[i]);
        } else if ((rc = unknown_tag(tag))) {
            return rc;
        } else {
            *unknown = true;
        }
    }
    /* Part checksums are the object's algorithm's, one per part. */
    if (rc == 0 && o->part_ck && (pck_n != o->nparts || pck_len != o->ck_len))
        return HF_E_CORRUPT;
    return rc;
}

int hf_rec_obj_summary(const void *p, size_t n, hf_rec_summary_t *s)
{
    rd_t r;
    int rc = start(&r, p, n);
    if (rc)
        return rc;
    if (n < HF_REC_OBJ_FIXED)
        return HF_E_CORRUPT;
    uint32_t f = get_u32(&r);
    s->flags = f & HF_REC_FLAGS_OBJ;
    s->ck_alg = (uint8_t)HF_REC_FLAGS_CK_ALG(f);
    s->ck_type = (uint8_t)HF_REC_FLAGS_CK_TYPE(f);
    s->size = get_u64(&r);
    s->mtime = (int64_t)get_u64(&r);
    s->hlc = get_u64(&r);
    s->origin = get_u64(&r);
    get_bytes(&r, s->version, 16);
    get_bytes(&r, s->etag, 16);
    s->etag_parts = get_u32(&r);
    s->owner = get_u64(&r);
    return r.bad ? HF_E_CORRUPT : HF_OK;
}

int hf_rec_obj_parts(const void *p, size_t n, const uint8_t **raw, uint32_t *nparts)
{
    *raw = NULL;
    *nparts = 0;
    rd_t r;
    int rc = start(&r, p, n);
    if (rc)
        return rc;
    if (!take(&r, HF_REC_OBJ_FIXED - 1))
        return HF_E_CORRUPT;
    uint8_t tag;
    const uint8_t *v;
    uint32_t len;
    while ((rc = next_tag(&r, &tag, &v, &len)) == 1) {
        if (tag == HF_REC_TAG_PARTS) {
            if (len % HF_REC_OBJ_PART_LEN || *raw)
                return HF_E_CORRUPT;
            *raw = v;
            *nparts = len / HF_REC_OBJ_PART_LEN;
        } else if (tag >= HF_REC_TAG_CRITICAL && tag != HF_REC_TAG_LOCK && tag != HF_REC_TAG_SSE) {
            /* A field this build does not know might hold references. */
            return HF_E_VERSION;
        }
    }
    return rc;
}

int hf_rec_find_key(const void *p, size_t n, size_t fixed, const char **key, size_t *len)
{
    rd_t r;
    int rc = start(&r, p, n);
    if (rc)
        return rc;
    if (!take(&r, fixed - 1))
        return HF_E_CORRUPT;
    uint8_t tag;
    const uint8_t *v;
    uint32_t l;
    while ((rc = next_tag(&r, &tag, &v, &l)) == 1) {
        if (tag == HF_REC_TAG_KEY) {
            *key = (const char *)v;
            *len = l;
            return HF_OK;
        }
    }
    return rc ? rc : HF_E_NOTFOUND;
}

/* ---- uploads --------------------------------------------------------------
 * ver u8 | initiated i64 | owner u64 | tags (key, headers, metadata) */

int hf_rec_upload_encode(hf_buf_t *b, const hf_upload_t *u, const char *key, size_t keylen)
{
    int rc;
    if ((rc = put_u8(b, HF_REC_VERSION)) || (rc = put_u64(b, (uint64_t)u->initiated)) ||
        (rc = put_u64(b, u->owner)))
        return rc;
    if (key && (rc = put_tag(b, HF_REC_TAG_KEY, key, keylen)))
        return rc;
    if ((rc = put_headers(b, &u->tmpl)))
        return rc;
    return put_obj_settings(b, &u->tmpl, false);
}

int hf_rec_upload_decode(const void *p, size_t n, hf_arena_t *a, hf_upload_t *u)
{
    memset(&u->tmpl, 0, sizeof u->tmpl);
    rd_t r;
    int rc = start(&r, p, n);
    if (rc)
        return rc;
    u->initiated = (int64_t)get_u64(&r);
    u->owner = get_u64(&r);
    if (r.bad)
        return HF_E_CORRUPT;
    if (!a)
        return HF_OK;
    uint32_t seen = 0, pck_n = 0;
    uint8_t pck_len = 0;
    uint8_t tag;
    const uint8_t *v;
    uint32_t len;
    while ((rc = next_tag(&r, &tag, &v, &len)) == 1) {
        if ((rc = seen_once(&seen, tag)))
            return rc;
        if (tag == HF_REC_TAG_KEY)
            continue;
        rc = decode_header(a, tag, v, len, &u->tmpl);
        if (rc == 0)
            rc = decode_setting(a, tag, v, len, &u->tmpl, &pck_n, &pck_len);
        if (rc < 0)
            return rc;
        if (rc == 0 && (rc = unknown_tag(tag)))
            return rc;
    }
    return rc;
}

/* ---- parts ----------------------------------------------------------------
 * ver u8 | blob id 16 | size u64 | etag 16 | mtime i64 | tags */

int hf_rec_part_encode(hf_buf_t *b, const hf_part_t *p)
{
    int rc;
    if ((rc = put_u8(b, HF_REC_VERSION)) || (rc = hf_buf_append(b, p->blob.b, 16)) ||
        (rc = put_u64(b, p->size)) || (rc = hf_buf_append(b, p->etag, 16)) ||
        (rc = put_u64(b, (uint64_t)p->mtime)))
        return rc;
    if (p->ck_len) {
        if (p->ck_len > HF_CK_MAX_LEN)
            return HF_E_INVAL;
        if ((rc = put_tag(b, HF_REC_TAG_CHECKSUM, p->ck, p->ck_len)))
            return rc;
    }
    return HF_OK;
}

int hf_rec_part_decode(const void *p, size_t n, hf_part_t *out)
{
    rd_t r;
    int rc = start(&r, p, n);
    if (rc)
        return rc;
    get_bytes(&r, out->blob.b, 16);
    out->size = get_u64(&r);
    get_bytes(&r, out->etag, 16);
    out->mtime = (int64_t)get_u64(&r);
    out->ck_len = 0;
    if (r.bad)
        return HF_E_CORRUPT;
    uint8_t tag;
    const uint8_t *v;
    uint32_t len;
    while ((rc = next_tag(&r, &tag, &v, &len)) == 1) {
        if (tag == HF_REC_TAG_CHECKSUM) {
            if (len == 0 || len > HF_CK_MAX_LEN || out->ck_len)
                return HF_E_CORRUPT;
            out->ck_len = (uint8_t)len;
            memcpy(out->ck, v, len);
        } else if ((rc = unknown_tag(tag))) {
            return rc;
        }
    }
    return rc;
}

/* ---- remembered completions ------------------------------------------------
 * ver u8 | bucket id u64 | completed i64 | expires i64 | version id (16) |
 * etag (16) | etag parts u32 | parts digest (32) | tags: 0x01 key (always),
 * 0x0b checksum (alg u8 | type u8 | value) when the object has one */

int hf_rec_done_encode(hf_buf_t *b, uint64_t bucket_id, const char *key, size_t keylen,
                       const hf_upload_done_t *d)
{
    int rc;
    if ((rc = put_u8(b, HF_REC_VERSION)) || (rc = put_u64(b, bucket_id)) ||
        (rc = put_u64(b, (uint64_t)d->completed)) || (rc = put_u64(b, (uint64_t)d->expires)) ||
        (rc = hf_buf_append(b, d->version, 16)) || (rc = hf_buf_append(b, d->etag, 16)) ||
        (rc = put_u32(b, d->etag_parts)) || (rc = hf_buf_append(b, d->parts_digest, 32)) ||
        (rc = put_tag(b, HF_REC_TAG_KEY, key, keylen)))
        return rc;
    if (d->ck_alg) {
        uint8_t v[2 + HF_CK_MAX_LEN] = {d->ck_alg, d->ck_type};
        if (d->ck_len > HF_CK_MAX_LEN)
            return HF_E_INVAL;
        memcpy(v + 2, d->ck, d->ck_len);
        if ((rc = put_tag(b, HF_REC_TAG_CHECKSUM, v, 2u + d->ck_len)))
            return rc;
    }
    return HF_OK;
}

int hf_rec_done_decode(const void *p, size_t n, uint64_t *bucket_id, const char **key,
                       size_t *keylen, hf_upload_done_t *d)
{
    rd_t r;
    int rc = start(&r, p, n);
    if (rc)
        return rc;
    memset(d, 0, sizeof *d);
    *bucket_id = get_u64(&r);
    d->completed = (int64_t)get_u64(&r);
    d->expires = (int64_t)get_u64(&r);
    get_bytes(&r, d->version, 16);
    get_bytes(&r, d->etag, 16);
    d->etag_parts = get_u32(&r);
    get_bytes(&r, d->parts_digest, 32);
    if (r.bad)
        return HF_E_CORRUPT;
    *key = NULL;
    *keylen = 0;
    uint32_t seen = 0;
    uint8_t tag;
    const uint8_t *v;
    uint32_t len;
    while ((rc = next_tag(&r, &tag, &v, &len)) == 1) {
        if ((rc = seen_once(&seen, tag)))
            return rc;
        if (tag == HF_REC_TAG_KEY) {
            if (len == 0 || len > HF_KEY_MAX)
                return HF_E_CORRUPT;
            *key = (const char *)v;
            *keylen = len;
        } else if (tag == HF_REC_TAG_CHECKSUM) {
            if (len < 3 || len > 2 + HF_CK_MAX_LEN || v[0] == 0)
                return HF_E_CORRUPT;
            d->ck_alg = v[0];
            d->ck_type = v[1];
            d->ck_len = (uint8_t)(len - 2);
            memcpy(d->ck, v + 2, len - 2);
        } else if ((rc = unknown_tag(tag))) {
            return rc;
        }
    }
    if (rc == HF_OK && !*key)
        return HF_E_CORRUPT;
    return rc;
}

/* ---- blobs ----------------------------------------------------------------
 * ver u8 | refs u32 | size u64 (exactly 13 bytes in version 1) */

void hf_rec_blob_encode(uint8_t out[HF_REC_BLOB_LEN], uint32_t refs, uint64_t size)
{
    out[0] = HF_REC_VERSION;
    hf_db_be32_put(out + 1, refs);
    hf_db_be64_put(out + 5, size);
}

int hf_rec_blob_decode(const void *p, size_t n, uint32_t *refs, uint64_t *size)
{
    rd_t r;
    int rc = start(&r, p, n);
    if (rc)
        return rc;
    *refs = get_u32(&r);
    *size = get_u64(&r);
    if (r.bad)
        return HF_E_CORRUPT;
    uint8_t tag;
    const uint8_t *v;
    uint32_t len;
    while ((rc = next_tag(&r, &tag, &v, &len)) == 1)
        if ((rc = unknown_tag(tag)))
            return rc;
    return rc;
}
