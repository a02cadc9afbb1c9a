/* Unit tests for src/meta/record.c: round trips, damaged and future
 * records. Every truncation and many byte flips of valid records must
 * decode to an error or a value -- never read out of bounds (run under
 * ASan/valgrind). */
#include "test.h"

#include <errno.h>

#include "base/arena.h"
#include "base/buf.h"
#include "base/err.h"
#include "meta/record.h"

static hf_obj_t sample_obj(hf_obj_part_t *parts, hf_kv_t *meta)
{
    hf_obj_t o;
    memset(&o, 0, sizeof o);
    o.flags = HF_OBJ_MULTIPART;
    o.size = 300;
    o.mtime = 1700000000123456789LL;
    o.hlc = 0x0123456789abcdefULL;
    o.origin = 42;
    memset(o.version, 0x11, 16);
    memset(o.etag, 0xee, 16);
    o.etag_parts = 2;
    o.owner = 7;
    o.content_type = "text/plain";
    o.cache_control = "";
    o.expires = "Thu, 01 Dec 1994 16:00:00 GMT";
    meta[0] = (hf_kv_t){"alpha", "1"};
    meta[1] = (hf_kv_t){"beta", ""};
    o.meta = meta;
    o.nmeta = 2;
    for (int i = 0; i < 2; i++) {
        memset(&parts[i], 0, sizeof parts[i]);
        memset(parts[i].blob.b, 0xa0 + i, 16);
        parts[i].size = 100 + 100 * (uint64_t)i;
        parts[i].number = (uint32_t)i + 1;
        memset(parts[i].etag, 0x50 + i, 16);
    }
    o.parts = parts;
    o.nparts = 2;
    return o;
}

TEST(obj_round_trip)
{
    hf_obj_part_t parts[2];
    hf_kv_t meta[2];
    hf_obj_t o = sample_obj(parts, meta);
    hf_buf_t b;
    hf_buf_init(&b, HF_REC_MAX);
    CHECK_EQ_INT(hf_rec_obj_encode(&b, &o, "the-long-key", 12), HF_OK);
    CHECK_EQ_INT((unsigned char)b.data[0], HF_REC_VERSION);

    hf_arena_t a;
    hf_arena_init(&a, 1 << 20);
    hf_obj_t d;
    CHECK_EQ_INT(hf_rec_obj_decode(b.data, b.len, &a, &d), HF_OK);
    CHECK_EQ_INT(d.flags, HF_OBJ_MULTIPART);
    CHECK_EQ_INT(d.size, 300);
    CHECK_EQ_INT(d.mtime, 1700000000123456789LL);
    CHECK(d.hlc == 0x0123456789abcdefULL);
    CHECK_EQ_INT(d.origin, 42);
    CHECK_EQ_MEM(d.version, o.version, 16);
    CHECK_EQ_MEM(d.etag, o.etag, 16);
    CHECK_EQ_INT(d.etag_parts, 2);
    CHECK_EQ_INT(d.owner, 7);
    CHECK_EQ_STR(d.content_type, "text/plain");
    CHECK(d.content_encoding == NULL);
    CHECK(d.content_disposition == NULL);
    CHECK(d.content_language == NULL);
    CHECK_EQ_STR(d.cache_control, "");
    CHECK_EQ_STR(d.expires, "Thu, 01 Dec 1994 16:00:00 GMT");
    CHECK_EQ_INT(d.nmeta, 2);
    CHECK_EQ_STR(d.meta[0].name, "alpha");
    CHECK_EQ_STR(d.meta[0].value, "1");
    CHECK_EQ_STR(d.meta[1].name, "beta");
    CHECK_EQ_STR(d.meta[1].value, "");
    CHECK_EQ_INT(d.nparts, 2);
    CHECK_EQ_MEM(d.parts[1].blob.b, parts[1].blob.b, 16);
    CHECK_EQ_INT(d.parts[1].size, 200);
    CHECK_EQ_INT(d.parts[1].number, 2);
    CHECK_EQ_MEM(d.parts[1].etag, parts[1].etag, 16);
    CHECK(d.inline_data == NULL);

    hf_rec_summary_t s;
    CHECK_EQ_INT(hf_rec_obj_summary(b.data, b.len, &s), HF_OK);
    CHECK_EQ_INT(s.size, 300);
    CHECK_EQ_INT(s.owner, 7);
    CHECK_EQ_INT(s.etag_parts, 2);
    CHECK_EQ_INT(s.flags, HF_OBJ_MULTIPART);
    CHECK_EQ_MEM(s.etag, o.etag, 16);

    const char *k;
    size_t kl;
    CHECK_EQ_INT(hf_rec_find_key(b.data, b.len, HF_REC_OBJ_FIXED, &k, &kl), HF_OK);
    CHECK_EQ_INT(kl, 12);
    CHECK(memcmp(k, "the-long-key", 12) == 0);

    const uint8_t *raw;
    uint32_t np;
    CHECK_EQ_INT(hf_rec_obj_parts(b.data, b.len, &raw, &np), HF_OK);
    CHECK_EQ_INT(np, 2);
    hf_obj_part_t p0;
    hf_rec_obj_part_at(raw, 0, &p0);
    CHECK_EQ_MEM(p0.blob.b, parts[0].blob.b, 16);
    CHECK_EQ_INT(p0.size, 100);

    hf_arena_free(&a);
    hf_buf_free(&b);
}

TEST(obj_inline_round_trip)
{
    hf_obj_t o;
    memset(&o, 0, sizeof o);
    o.flags = HF_OBJ_INLINE;
    o.size = 5;
    o.inline_data = (const uint8_t *)"hello";
    o.inline_len = 5;
    o.inline_crc32c = 0xdeadbeef;
    hf_buf_t b;
    hf_buf_init(&b, HF_REC_MAX);
    CHECK_EQ_INT(hf_rec_obj_encode(&b, &o, NULL, 0), HF_OK);
    CHECK_EQ_INT(b.len, HF_REC_OBJ_FIXED + 5 + 4 + 5);
    hf_arena_t a;
    hf_arena_init(&a, 1 << 20);
    hf_obj_t d;
    CHECK_EQ_INT(hf_rec_obj_decode(b.data, b.len, &a, &d), HF_OK);
    CHECK_EQ_INT(d.inline_len, 5);
    CHECK(memcmp(d.inline_data, "hello", 5) == 0);
    CHECK(d.inline_crc32c == 0xdeadbeef);
    const char *k;
    size_t kl;
    CHECK_EQ_INT(hf_rec_find_key(b.data, b.len, HF_REC_OBJ_FIXED, &k, &kl), HF_E_NOTFOUND);
    hf_arena_free(&a);
    hf_buf_free(&b);
}

/* The encryption tag (0x81): kept byte for byte in object and upload
 * records, critical, at most once, and no obstacle to reading the parts
 * (it holds no blob references). */
TEST(sse_tag)
{
    hf_obj_part_t parts[2];
    hf_kv_t meta[2];
    hf_obj_t o = sample_obj(parts, meta);
    static const uint8_t desc[] = "\x01 an opaque encryption descriptor";
    o.sse = desc;
    o.sse_len = sizeof desc;
    hf_buf_t b;
    hf_buf_init(&b, HF_REC_MAX);
    CHECK_EQ_INT(hf_rec_obj_encode(&b, &o, NULL, 0), HF_OK);
    hf_arena_t a;
    hf_arena_init(&a, 1 << 20);
    hf_obj_t d;
    CHECK_EQ_INT(hf_rec_obj_decode(b.data, b.len, &a, &d), HF_OK);
    CHECK_EQ_INT(d.sse_len, sizeof desc);
    CHECK_EQ_MEM(d.sse, desc, sizeof desc);
    CHECK_EQ_INT(d.nparts, 2);
    /* the tag is 0x81, right after the settings */
    const uint8_t *t = (const uint8_t *)b.data + b.len - sizeof desc - 5;
    CHECK_EQ_INT(t[0], 0x81);
    const uint8_t *raw;
    uint32_t np;
    CHECK_EQ_INT(hf_rec_obj_parts(b.data, b.len, &raw, &np), HF_OK);
    CHECK_EQ_INT(np, 2);
    /* twice is damage; empty or oversized is damage */
    size_t len = b.len;
    CHECK_EQ_INT(hf_buf_append(&b, t, sizeof desc + 5), HF_OK);
    CHECK_EQ_INT(hf_rec_obj_decode(b.data, b.len, &a, &d), HF_E_CORRUPT);
    b.len = len;
    CHECK_EQ_INT(hf_buf_append(&b, "\x81\x00\x00\x00\x00", 5), HF_OK);
    hf_buf_t c;
    hf_buf_init(&c, HF_REC_MAX);
    o.sse = NULL;
    o.sse_len = 0;
    CHECK_EQ_INT(hf_rec_obj_encode(&c, &o, NULL, 0), HF_OK);
    CHECK_EQ_INT(hf_buf_append(&c, "\x81\x00\x00\x00\x00", 5), HF_OK);
    CHECK_EQ_INT(hf_rec_obj_decode(c.data, c.len, &a, &d), HF_E_CORRUPT);
    /* a record without it has none */
    c.len -= 5;
    CHECK_EQ_INT(hf_rec_obj_decode(c.data, c.len, &a, &d), HF_OK);
    CHECK_EQ_INT(d.sse_len, 0);
    CHECK(d.sse == NULL);
    /* the encoder refuses more than HF_OBJ_SSE_MAX */
    static uint8_t big[HF_OBJ_SSE_MAX + 1];
    o.sse = big;
    o.sse_len = sizeof big;
    hf_buf_reset(&c);
    CHECK_EQ_INT(hf_rec_obj_encode(&c, &o, NULL, 0), HF_E_INVAL);
    /* an upload's template keeps it too */
    hf_upload_t u, du;
    memset(&u, 0, sizeof u);
    u.initiated = 5;
    u.owner = 6;
    u.tmpl.sse = desc;
    u.tmpl.sse_len = sizeof desc;
    hf_buf_reset(&c);
    CHECK_EQ_INT(hf_rec_upload_encode(&c, &u, NULL, 0), HF_OK);
    CHECK_EQ_INT(hf_rec_upload_decode(c.data, c.len, &a, &du), HF_OK);
    CHECK_EQ_INT(du.tmpl.sse_len, sizeof desc);
    CHECK_EQ_MEM(du.tmpl.sse, desc, sizeof desc);
    hf_buf_free(&c);
    hf_arena_free(&a);
    hf_buf_free(&b);
}

/* Every prefix of a valid record is refused cleanly (or, at a tag
 * boundary, decodes as a record without the later fields). */
TEST(obj_truncations_never_overrun)
{
    hf_obj_part_t parts[2];
    hf_kv_t meta[2];
    hf_obj_t o = sample_obj(parts, meta);
    hf_buf_t b;
    hf_buf_init(&b, HF_REC_MAX);
    CHECK_EQ_INT(hf_rec_obj_encode(&b, &o, "k", 1), HF_OK);
    hf_arena_t a;
    hf_arena_init(&a, 1 << 20);
    int ok = 0, corrupt = 0;
    for (size_t n = 0; n < b.len; n++) {
        /* a fresh heap copy of exactly n bytes, so ASan sees any overrun */
        unsigned char *p = malloc(n ? n : 1);
        memcpy(p, b.data, n);
        hf_obj_t d;
        int rc = hf_rec_obj_decode(p, n, &a, &d);
        hf_rec_summary_t s;
        int rs = hf_rec_obj_summary(p, n, &s);
        const uint8_t *raw;
        uint32_t np;
        int rp = hf_rec_obj_parts(p, n, &raw, &np);
        free(p);
        hf_arena_reset(&a);
        CHECK(rc == HF_OK || rc == HF_E_CORRUPT);
        CHECK(rp == HF_OK || rp == HF_E_CORRUPT);
        if (n < HF_REC_OBJ_FIXED)
            CHECK_EQ_INT(rs, HF_E_CORRUPT);
        if (n < HF_REC_OBJ_FIXED)
            CHECK_EQ_INT(rc, HF_E_CORRUPT);
        ok += rc == HF_OK;
        corrupt += rc == HF_E_CORRUPT;
    }
    CHECK(corrupt > (int)b.len / 2);
    CHECK(ok >= 1); /* the fixed part alone, at least */
    hf_arena_free(&a);
    hf_buf_free(&b);
}

TEST(byte_flips_never_overrun)
{
    hf_obj_part_t parts[2];
    hf_kv_t meta[2];
    hf_obj_t o = sample_obj(parts, meta);
    hf_buf_t b;
    hf_buf_init(&b, HF_REC_MAX);
    CHECK_EQ_INT(hf_rec_obj_encode(&b, &o, "k", 1), HF_OK);
    hf_arena_t a;
    hf_arena_init(&a, 1 << 20);
    unsigned char *p = malloc(b.len);
    for (size_t i = 0; i < b.len; i++) {
        static const unsigned char vals[] = {0x00, 0x01, 0x7f, 0x80, 0xff};
        for (size_t j = 0; j < sizeof vals; j++) {
            memcpy(p, b.data, b.len);
            p[i] = vals[j];
            hf_obj_t d;
            int rc = hf_rec_obj_decode(p, b.len, &a, &d);
            CHECK(rc == HF_OK || rc == HF_E_CORRUPT || rc == HF_E_VERSION || rc == -ENOMEM);
            const uint8_t *raw;
            uint32_t np;
            rc = hf_rec_obj_parts(p, b.len, &raw, &np);
            CHECK(rc == HF_OK || rc == HF_E_CORRUPT || rc == HF_E_VERSION);
            if (rc == HF_OK && np)
                CHECK((size_t)(raw - p) + (size_t)np * HF_REC_OBJ_PART_LEN <= b.len);
            hf_arena_reset(&a);
        }
    }
    free(p);
    hf_arena_free(&a);
    hf_buf_free(&b);
}

TEST(versions_and_tags)
{
    hf_obj_t o;
    memset(&o, 0, sizeof o);
    o.size = 1;
    hf_buf_t b;
    hf_buf_init(&b, HF_REC_MAX);
    CHECK_EQ_INT(hf_rec_obj_encode(&b, &o, NULL, 0), HF_OK);
    hf_arena_t a;
    hf_arena_init(&a, 1 << 20);
    hf_obj_t d;
    /* unknown optional tag: skipped */
    CHECK_EQ_INT(hf_buf_append(&b, "\x40\x00\x00\x00\x03xyz", 8), HF_OK);
    CHECK_EQ_INT(hf_rec_obj_decode(b.data, b.len, &a, &d), HF_OK);
    CHECK_EQ_INT(d.size, 1);
    /* unknown critical tag: refused as a newer format */
    CHECK_EQ_INT(hf_buf_append(&b, "\x90\x00\x00\x00\x00", 5), HF_OK);
    CHECK_EQ_INT(hf_rec_obj_decode(b.data, b.len, &a, &d), HF_E_VERSION);
    const uint8_t *raw;
    uint32_t np;
    CHECK_EQ_INT(hf_rec_obj_parts(b.data, b.len, &raw, &np), HF_E_VERSION);
    /* a known tag twice: damage */
    hf_buf_reset(&b);
    CHECK_EQ_INT(hf_rec_obj_encode(&b, &o, NULL, 0), HF_OK);
    CHECK_EQ_INT(hf_buf_append(&b, "\x02\x00\x00\x00\x01x\x02\x00\x00\x00\x01y", 12), HF_OK);
    CHECK_EQ_INT(hf_rec_obj_decode(b.data, b.len, &a, &d), HF_E_CORRUPT);
    /* a tag length past the end */
    hf_buf_reset(&b);
    CHECK_EQ_INT(hf_rec_obj_encode(&b, &o, NULL, 0), HF_OK);
    CHECK_EQ_INT(hf_buf_append(&b, "\x02\xff\xff\xff\xf0x", 6), HF_OK);
    CHECK_EQ_INT(hf_rec_obj_decode(b.data, b.len, &a, &d), HF_E_CORRUPT);
    /* version byte from the future, and version 0 */
    hf_buf_reset(&b);
    CHECK_EQ_INT(hf_rec_obj_encode(&b, &o, NULL, 0), HF_OK);
    b.data[0] = HF_REC_VERSION + 1;
    CHECK_EQ_INT(hf_rec_obj_decode(b.data, b.len, &a, &d), HF_E_VERSION);
    hf_rec_summary_t s;
    CHECK_EQ_INT(hf_rec_obj_summary(b.data, b.len, &s), HF_E_VERSION);
    b.data[0] = 0;
    CHECK_EQ_INT(hf_rec_obj_decode(b.data, b.len, &a, &d), HF_E_CORRUPT);
    CHECK_EQ_INT(hf_rec_obj_decode(b.data, 0, &a, &d), HF_E_CORRUPT);
    /* metadata count larger than the bytes can hold */
    hf_buf_reset(&b);
    CHECK_EQ_INT(hf_rec_obj_encode(&b, &o, NULL, 0), HF_OK);
    CHECK_EQ_INT(hf_buf_append(&b, "\x08\x00\x00\x00\x02\xff\xff", 7), HF_OK);
    CHECK_EQ_INT(hf_rec_obj_decode(b.data, b.len, &a, &d), HF_E_CORRUPT);
    /* parts tag not a multiple of the entry size */
    hf_buf_reset(&b);
    CHECK_EQ_INT(hf_rec_obj_encode(&b, &o, NULL, 0), HF_OK);
    CHECK_EQ_INT(hf_buf_append(&b, "\x0a\x00\x00\x00\x01z", 6), HF_OK);
    CHECK_EQ_INT(hf_rec_obj_decode(b.data, b.len, &a, &d), HF_E_CORRUPT);
    CHECK_EQ_INT(hf_rec_obj_parts(b.data, b.len, &raw, &np), HF_E_CORRUPT);
    hf_arena_free(&a);
    hf_buf_free(&b);
}

TEST(user_bucket_part_blob_upload)
{
    hf_buf_t b;
    hf_buf_init(&b, 4096);
    hf_user_t u, du;
    memset(&u, 0, sizeof u);
    u.id = 9;
    u.flags = HF_USER_ROOT;
    u.created = 123;
    strcpy(u.access_key, "AKIAEXAMPLE");
    strcpy(u.secret_key, "secret-secret");
    memset(u.canonical_id, 'a', 64);
    CHECK_EQ_INT(hf_rec_user_encode(&b, &u), HF_OK);
    memset(&du, 0, sizeof du);
    CHECK_EQ_INT(hf_rec_user_decode(b.data, b.len, &du), HF_OK);
    CHECK_EQ_INT(du.id, 9);
    CHECK_EQ_INT(du.flags, HF_USER_ROOT);
    CHECK_EQ_INT(du.created, 123);
    CHECK_EQ_STR(du.access_key, "AKIAEXAMPLE");
    CHECK_EQ_STR(du.secret_key, "secret-secret");
    CHECK_EQ_STR(du.canonical_id, u.canonical_id);
    for (size_t n = 0; n < b.len; n++)
        CHECK_EQ_INT(hf_rec_user_decode(b.data, n, &du), HF_E_CORRUPT);
    strcpy(u.canonical_id, "not hex");
    CHECK_EQ_INT(hf_rec_user_encode(&b, &u), HF_E_INVAL);

    hf_buf_reset(&b);
    hf_bucket_t bk, dbk;
    memset(&bk, 0, sizeof bk);
    bk.id = 3;
    bk.owner = 9;
    bk.created = -5;
    bk.flags = 1;
    strcpy(bk.region, "eu-west-1");
    CHECK_EQ_INT(hf_rec_bucket_encode(&b, &bk), HF_OK);
    CHECK_EQ_INT(hf_rec_bucket_decode(b.data, b.len, &dbk), HF_OK);
    CHECK_EQ_INT(dbk.id, 3);
    CHECK_EQ_INT(dbk.owner, 9);
    CHECK_EQ_INT(dbk.created, -5);
    CHECK_EQ_INT(dbk.flags, 1);
    CHECK_EQ_STR(dbk.region, "eu-west-1");
    for (size_t n = 0; n < b.len; n++)
        CHECK_EQ_INT(hf_rec_bucket_decode(b.data, n, &dbk), HF_E_CORRUPT);

    hf_buf_reset(&b);
    hf_part_t p, dp;
    memset(&p, 0, sizeof p);
    memset(p.blob.b, 3, 16);
    p.size = 5 << 20;
    memset(p.etag, 4, 16);
    p.mtime = 77;
    CHECK_EQ_INT(hf_rec_part_encode(&b, &p), HF_OK);
    CHECK_EQ_INT(b.len, HF_REC_PART_FIXED);
    CHECK_EQ_INT(hf_rec_part_decode(b.data, b.len, &dp), HF_OK);
    CHECK_EQ_MEM(dp.blob.b, p.blob.b, 16);
    CHECK_EQ_INT(dp.size, 5 << 20);
    CHECK_EQ_MEM(dp.etag, p.etag, 16);
    CHECK_EQ_INT(dp.mtime, 77);

    uint8_t br[HF_REC_BLOB_LEN];
    uint32_t refs;
    uint64_t size;
    hf_rec_blob_encode(br, 3, 1234567890123ULL);
    CHECK_EQ_INT(hf_rec_blob_decode(br, sizeof br, &refs, &size), HF_OK);
    CHECK_EQ_INT(refs, 3);
    CHECK(size == 1234567890123ULL);
    CHECK_EQ_INT(hf_rec_blob_decode(br, 12, &refs, &size), HF_E_CORRUPT);

    hf_buf_reset(&b);
    hf_upload_t up, dup;
    memset(&up, 0, sizeof up);
    up.initiated = 1000;
    up.owner = 9;
    up.tmpl.content_type = "image/png";
    hf_kv_t m1 = {"k", "v"};
    up.tmpl.meta = &m1;
    up.tmpl.nmeta = 1;
    CHECK_EQ_INT(hf_rec_upload_encode(&b, &up, NULL, 0), HF_OK);
    hf_arena_t a;
    hf_arena_init(&a, 1 << 20);
    memset(&dup, 0, sizeof dup);
    CHECK_EQ_INT(hf_rec_upload_decode(b.data, b.len, &a, &dup), HF_OK);
    CHECK_EQ_INT(dup.initiated, 1000);
    CHECK_EQ_INT(dup.owner, 9);
    CHECK_EQ_STR(dup.tmpl.content_type, "image/png");
    CHECK_EQ_INT(dup.tmpl.nmeta, 1);
    CHECK_EQ_STR(dup.tmpl.meta[0].value, "v");
    CHECK_EQ_INT(hf_rec_upload_decode(b.data, b.len, NULL, &dup), HF_OK);
    CHECK(dup.tmpl.content_type == NULL);
    hf_arena_free(&a);
    hf_buf_free(&b);
}

HF_TEST_MAIN("unit/meta")
