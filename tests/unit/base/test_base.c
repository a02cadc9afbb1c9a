/* Unit tests for src/base: buf, arena, str, time, hash. */
#include "test.h"

#include <time.h>

#include "base/arena.h"
#include "base/buf.h"
#include "base/err.h"
#include "base/hash.h"
#include "base/mime.h"
#include "base/str.h"
#include "base/time.h"

TEST(buf_cap_is_hard)
{
    hf_buf_t b;
    hf_buf_init(&b, 8);
    CHECK_EQ_INT(hf_buf_puts(&b, "12345678"), HF_OK);
    CHECK_EQ_INT(hf_buf_putc(&b, 'x'), HF_E_TOOBIG);
    CHECK_EQ_INT(b.len, 8);
    CHECK_EQ_STR(b.data, "12345678");
    hf_buf_consume(&b, 3);
    CHECK_EQ_STR(b.data, "45678");
    CHECK_EQ_INT(hf_buf_printf(&b, "%d", 12), HF_OK);
    CHECK_EQ_STR(b.data, "4567812");
    CHECK_EQ_INT(hf_buf_printf(&b, "%d", 123), HF_E_TOOBIG);
    CHECK_EQ_STR(b.data, "4567812");
    hf_buf_free(&b);
}

TEST(arena_cap_and_reset)
{
    hf_arena_t a;
    hf_arena_init(&a, 64 * 1024);
    char *s = hf_arena_strdup(&a, "hello");
    CHECK_EQ_STR(s, "hello");
    CHECK(((uintptr_t)hf_arena_alloc(&a, 3) & 15) == 0);
    CHECK(hf_arena_alloc(&a, 40 * 1024) != NULL);
    CHECK(hf_arena_alloc(&a, 40 * 1024) == NULL); /* over the cap */
    hf_arena_reset(&a);
    CHECK(hf_arena_alloc(&a, 1000) != NULL);
    CHECK_EQ_STR(hf_arena_printf(&a, "%s-%d", "x", 7), "x-7");
    hf_arena_free(&a);
}

TEST(hex_and_base64)
{
    char out[64];
    unsigned char raw[8];
    hf_hex_encode(out, "\x01\xab\xff", 3);
    CHECK_EQ_STR(out, "01abff");
    CHECK_EQ_INT(hf_hex_decode(raw, "01ABff", 3), HF_OK);
    CHECK_EQ_MEM(raw, "\x01\xab\xff", 3);
    CHECK_EQ_INT(hf_hex_decode(raw, "0g", 1), HF_E_INVAL);
    hf_base64_encode(out, "any carnal pleas", 16);
    CHECK_EQ_STR(out, "YW55IGNhcm5hbCBwbGVhcw==");
    CHECK_EQ_INT(hf_base64_decode(raw, sizeof raw, "YW55", 4), 3);
    CHECK_EQ_MEM(raw, "any", 3);
    CHECK_EQ_INT(hf_base64_decode(raw, sizeof raw, "YW5=", 4), 2);
    CHECK_EQ_INT(hf_base64_decode(raw, sizeof raw, "YW=5", 4), HF_E_INVAL);
    CHECK_EQ_INT(hf_base64_decode(raw, sizeof raw, "YW5", 3), HF_E_INVAL);
    CHECK_EQ_INT(hf_base64_decode(raw, 2, "YW55", 4), HF_E_INVAL);
}

TEST(uri_encode_decode)
{
    char out[64];
    CHECK_EQ_INT(hf_uri_encode(out, sizeof out, "a b/c~d+é", 10, true), 18);
    CHECK_EQ_STR(out, "a%20b/c~d%2B%C3%A9");
    hf_uri_encode(out, sizeof out, "a/b", 3, false);
    CHECK_EQ_STR(out, "a%2Fb");
    CHECK_EQ_INT(hf_uri_encode(out, 4, "abcd", 4, false), -1);
    CHECK_EQ_INT(hf_uri_decode(out, "a%20b%2fc+", 10), 6);
    CHECK_EQ_STR(out, "a b/c+");
    CHECK_EQ_INT(hf_uri_decode(out, "a%2", 3), HF_E_INVAL);
    CHECK_EQ_INT(hf_uri_decode(out, "a%zz", 4), HF_E_INVAL);
}

TEST(utf8_validation)
{
    CHECK(hf_utf8_valid("plain", 5));
    CHECK(hf_utf8_valid("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 9));
    CHECK(!hf_utf8_valid("\xc0\xaf", 2));         /* overlong '/' */
    CHECK(!hf_utf8_valid("\xed\xa0\x80", 3));     /* surrogate */
    CHECK(!hf_utf8_valid("\xf4\x90\x80\x80", 4)); /* > U+10FFFF */
    CHECK(!hf_utf8_valid("\xe2\x82", 2));         /* truncated */
    CHECK(!hf_utf8_valid("\xff", 1));
}

/* Dates are computed without gmtime_r: compare with it over leap years,
 * century rules (1900, 2100, 2200 are not leap years), negative times and
 * a spread of instants. */
TEST(time_matches_gmtime)
{
    int64_t fixed[] = {0, -1, 951782400 /* 2000-02-29 */, 4107542400 /* 2100-03-01 */,
                       -2208988800LL /* 1900-01-01 */, 9214646399LL /* 2261-12-31 */,
                       1709164800 /* 2024-02-29 */, 68169600 /* 1972-02-29 */};
    uint64_t x = 88172645463325252ULL;
    for (int i = 0; i < 20000; i++) {
        int64_t secs;
        if (i < (int)(sizeof fixed / sizeof fixed[0])) {
            secs = fixed[i];
        } else {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            /* 1900 to 2262: the span of int64 nanoseconds */
            secs = (int64_t)(x % 11423635200ULL) - 2208988800LL;
        }
        time_t t = (time_t)secs;
        struct tm tm;
        gmtime_r(&t, &tm);
        char want[40], got[40];
        strftime(want, sizeof want, "%a, %d %b %Y %H:%M:%S GMT", &tm);
        hf_time_http(got, secs * 1000000000LL);
        CHECK_EQ_STR(got, want);
        strftime(want, sizeof want, "%Y-%m-%dT%H:%M:%S.999Z", &tm);
        hf_time_iso8601(got, secs * 1000000000LL + 999999999);
        CHECK_EQ_STR(got, want);
    }
    char out[32];
    hf_time_iso8601(out, -1); /* one nanosecond before the epoch */
    CHECK_EQ_STR(out, "1969-12-31T23:59:59.999Z");
}

TEST(time_formats)
{
    char out[32];
    int64_t ns = 1369353600LL * 1000000000; /* 2013-05-24T00:00:00Z */
    hf_time_http(out, ns);
    CHECK_EQ_STR(out, "Fri, 24 May 2013 00:00:00 GMT");
    hf_time_iso8601(out, ns + 123000000);
    CHECK_EQ_STR(out, "2013-05-24T00:00:00.123Z");
    hf_time_amz(out, ns);
    CHECK_EQ_STR(out, "20130524T000000Z");
    int64_t s;
    CHECK_EQ_INT(hf_time_parse_amz("20130524T000000Z", 16, &s), HF_OK);
    CHECK_EQ_INT(s, 1369353600);
    CHECK_EQ_INT(hf_time_parse_amz("20130532T000000Z", 16, &s), HF_E_INVAL);
    CHECK_EQ_INT(hf_time_parse_http("Fri, 24 May 2013 00:00:00 GMT", 29, &s), HF_OK);
    CHECK_EQ_INT(s, 1369353600);
    CHECK_EQ_INT(hf_time_parse_http("Friday, 24-May-13 00:00:00 GMT", 30, &s), HF_OK);
    CHECK_EQ_INT(s, 1369353600);
    CHECK_EQ_INT(hf_time_parse_http("Fri May 24 00:00:00 2013", 24, &s), HF_OK);
    CHECK_EQ_INT(s, 1369353600);
    CHECK_EQ_INT(hf_time_parse_http("yesterday", 9, &s), HF_E_INVAL);
    CHECK_EQ_INT(hf_time_parse_iso8601("2013-05-24T00:00:00.000Z", 24, &s), HF_OK);
    CHECK_EQ_INT(s, 1369353600);
    CHECK_EQ_INT(hf_time_parse_http("Thu, 29 Feb 2024 12:00:00 GMT", 29, &s), HF_OK);
    CHECK_EQ_INT(hf_time_parse_http("Thu, 29 Feb 2023 12:00:00 GMT", 29, &s), HF_E_INVAL);
}

TEST(digests_known_answers)
{
    unsigned char d[32];
    char hex[65];
    hf_md5("", 0, d);
    hf_hex_encode(hex, d, 16);
    CHECK_EQ_STR(hex, "d41d8cd98f00b204e9800998ecf8427e");
    hf_sha256("abc", 3, d);
    hf_hex_encode(hex, d, 32);
    CHECK_EQ_STR(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    /* RFC 4231 test case 2 */
    hf_hmac_sha256("Jefe", 4, "what do ya want for nothing?", 28, d);
    hf_hex_encode(hex, d, 32);
    CHECK_EQ_STR(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    /* CRC catalogue check values for "123456789" */
    CHECK_EQ_INT(hf_crc32(0, "123456789", 9), 0xcbf43926);
    CHECK_EQ_INT(hf_crc32c(0, "123456789", 9), 0xe3069283);
    CHECK(hf_crc64nvme(0, "123456789", 9) == 0xae8b14860a799888ULL);
    /* incremental equals one-shot */
    CHECK_EQ_INT(hf_crc32c(hf_crc32c(0, "1234", 4), "56789", 5), 0xe3069283);
    CHECK(hf_crc64nvme(hf_crc64nvme(0, "12345678", 8), "9", 1) == 0xae8b14860a799888ULL);
    CHECK_EQ_INT(hf_crc32(hf_crc32(0, "12", 2), "3456789", 7), 0xcbf43926);
}

TEST(crc64nvme_fast_path_equals_tables)
{
    /* The carry-less multiplication path (long inputs on x86_64) against
     * the slicing tables: every length around its 16- and 64-byte steps,
     * every alignment, chained calls and a non-zero starting value. */
    static uint8_t buf[4096 + 128]; /* room for the 100-byte head below */
    uint32_t x = 99;
    for (size_t i = 0; i < sizeof buf; i++) {
        x = x * 1103515245u + 12345u;
        buf[i] = (uint8_t)(x >> 16);
    }
    for (size_t off = 0; off < 16; off++)
        for (size_t n = 0; n <= 300; n++)
            CHECK(hf_crc64nvme(0, buf + off, n) == hf_crc64nvme_portable(0, buf + off, n));
    size_t lens[] = {511, 512, 513, 1000, 4095, 4096};
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        uint64_t seed = hf_crc64nvme_portable(0, "seed", 4);
        CHECK(hf_crc64nvme(seed, buf + 3, lens[i]) == hf_crc64nvme_portable(seed, buf + 3, lens[i]));
        CHECK(hf_crc64nvme(hf_crc64nvme(0, buf, 100), buf + 100, lens[i]) ==
              hf_crc64nvme_portable(0, buf, 100 + lens[i]));
    }
    /* all ones and all zeros, where a wrong constant shows at once */
    static uint8_t ones[1024], zeros[1024];
    memset(ones, 0xff, sizeof ones);
    CHECK(hf_crc64nvme(0, ones, sizeof ones) == hf_crc64nvme_portable(0, ones, sizeof ones));
    CHECK(hf_crc64nvme(0, zeros, sizeof zeros) == hf_crc64nvme_portable(0, zeros, sizeof zeros));
}

TEST(hashset_one_pass)
{
    hf_hashset_t h;
    unsigned char md5[16], sha[32];
    char hex[65];
    CHECK_EQ_INT(hf_hashset_init(&h, HF_HS_MD5 | HF_HS_SHA256 | HF_HS_CRC32C), HF_OK);
    hf_hashset_update(&h, "ab", 2);
    hf_hashset_update(&h, "c", 1);
    hf_hashset_final(&h, md5, sha, NULL);
    hf_hex_encode(hex, md5, 16);
    CHECK_EQ_STR(hex, "900150983cd24fb0d6963f7d28e17f72");
    hf_hex_encode(hex, sha, 32);
    CHECK_EQ_STR(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    CHECK_EQ_INT(h.crc32c, hf_crc32c(0, "abc", 3));
    CHECK_EQ_INT(h.bytes, 3);
}

TEST(parse_u64_strict)
{
    uint64_t v;
    CHECK_EQ_INT(hf_parse_u64("12345", 5, &v), HF_OK);
    CHECK(v == 12345);
    CHECK_EQ_INT(hf_parse_u64("", 0, &v), HF_E_INVAL);
    CHECK_EQ_INT(hf_parse_u64("+1", 2, &v), HF_E_INVAL);
    CHECK_EQ_INT(hf_parse_u64("1 ", 2, &v), HF_E_INVAL);
    CHECK_EQ_INT(hf_parse_u64("12345678901234567890", 20, &v), HF_E_INVAL);
}

TEST(crc_combine_equals_crc_of_concatenation)
{
    static uint8_t buf[300000];
    uint32_t x = 7;
    for (size_t i = 0; i < sizeof buf; i++) {
        x = x * 1103515245u + 12345u;
        buf[i] = (uint8_t)(x >> 16);
    }
    size_t cuts[] = {0, 1, 7, 4096, 65537, 150000, sizeof buf - 1, sizeof buf};
    for (size_t c = 0; c < sizeof cuts / sizeof cuts[0]; c++) {
        size_t a = cuts[c], b = sizeof buf - a;
        CHECK_EQ_INT(hf_crc32_combine(hf_crc32(0, buf, a), hf_crc32(0, buf + a, b), b),
                     hf_crc32(0, buf, sizeof buf));
        CHECK_EQ_INT(hf_crc32c_combine(hf_crc32c(0, buf, a), hf_crc32c(0, buf + a, b), b),
                     hf_crc32c(0, buf, sizeof buf));
        CHECK(hf_crc64nvme_combine(hf_crc64nvme(0, buf, a), hf_crc64nvme(0, buf + a, b), b) ==
              hf_crc64nvme(0, buf, sizeof buf));
    }
    /* three pieces, combined left to right */
    uint32_t c = hf_crc32c(0, buf, 100);
    c = hf_crc32c_combine(c, hf_crc32c(0, buf + 100, 1000), 1000);
    c = hf_crc32c_combine(c, hf_crc32c(0, buf + 1100, 5000), 5000);
    CHECK_EQ_INT(c, hf_crc32c(0, buf, 6100));
}

/* decode(v) as a C string, "(fail)" when it fails */
static const char *mdec(const char *v, char *out, size_t cap)
{
    return hf_mime_header_decode(v, strlen(v), out, cap) < 0 ? "(fail)" : out;
}

TEST(mime_header_decode)
{
    char o[256];
    /* plain ASCII is kept as is, also when it merely looks encoded */
    CHECK_EQ_STR(mdec("hello world", o, sizeof o), "hello world");
    CHECK_EQ_STR(mdec("=?UTF-8?X?abc?=", o, sizeof o), "=?UTF-8?X?abc?=");
    CHECK_EQ_STR(mdec("=?KOI8-R?B?w6k=?=", o, sizeof o), "=?KOI8-R?B?w6k=?=");
    CHECK_EQ_STR(mdec("x =?UTF-8?B?w6k=?=", o, sizeof o), "x =?UTF-8?B?w6k=?=");
    CHECK_EQ_STR(mdec("=?UTF-8?B?w6k=?= x", o, sizeof o), "=?UTF-8?B?w6k=?= x");
    CHECK_EQ_STR(mdec("=?UTF-8?B?w6k?=", o, sizeof o), "=?UTF-8?B?w6k?=");       /* no padding */
    CHECK_EQ_STR(mdec("=?UTF-8?B?w6k==w6k=?=", o, sizeof o), "=?UTF-8?B?w6k==w6k=?=");
    CHECK_EQ_STR(mdec("=?UTF-8?B?AA==?=", o, sizeof o), "=?UTF-8?B?AA==?=");     /* NUL */
    CHECK_EQ_STR(mdec("=?UTF-8?B?/w==?=", o, sizeof o), "=?UTF-8?B?/w==?=");     /* not UTF-8 */
    CHECK_EQ_STR(mdec("=?UTF-8?Q?a=4?=", o, sizeof o), "=?UTF-8?Q?a=4?=");
    CHECK_EQ_STR(mdec("=?UTF-8?B?w6k=?==?UTF-8?B?w6k=?=", o, sizeof o),
                 "=?UTF-8?B?w6k=?==?UTF-8?B?w6k=?=");                       /* unseparated */
    /* encoded-words, B and Q, any case, spaces between words dropped */
    CHECK_EQ_STR(mdec("=?UTF-8?B?w6k=?=", o, sizeof o), "\xc3\xa9");
    CHECK_EQ_STR(mdec("=?utf-8?b?Y2Fmw6k=?=", o, sizeof o), "caf\xc3\xa9");
    CHECK_EQ_STR(mdec("=?UTF-8?Q?caf=C3=A9_au_lait?=", o, sizeof o), "caf\xc3\xa9 au lait");
    CHECK_EQ_STR(mdec("=?UTF-8?B?5Lit?= =?UTF-8?Q?=E6=96=87?=", o, sizeof o), "\xe4\xb8\xad\xe6\x96\x87");
    CHECK_EQ_STR(mdec("=?UTF-8?B?5L?= =?UTF-8?B?rQ==?=", o, sizeof o), "=?UTF-8?B?5L?= =?UTF-8?B?rQ==?=");
    CHECK_EQ_STR(mdec("=?UTF-8?B?5A==?= =?UTF-8?B?uK0=?=", o, sizeof o), "\xe4\xb8\xad"); /* split char */
    CHECK_EQ_STR(mdec("=?ISO-8859-1?Q?=E9t=E9?=", o, sizeof o), "\xc3\xa9t\xc3\xa9");
    CHECK_EQ_STR(mdec("=?UTF-8*en?Q?hi?=", o, sizeof o), "hi");
    CHECK_EQ_STR(mdec("=?US-ASCII?Q?=E9?=", o, sizeof o), "=?US-ASCII?Q?=E9?=");
    /* raw bytes: UTF-8 kept, anything else read as ISO-8859-1 */
    CHECK_EQ_STR(mdec("\xc3\xa9t\xc3\xa9", o, sizeof o), "\xc3\xa9t\xc3\xa9");
    CHECK_EQ_STR(mdec("\xe9t\xe9", o, sizeof o), "\xc3\xa9t\xc3\xa9");
    /* out of room, NUL */
    CHECK_EQ_INT(hf_mime_header_decode("\xe9\xe9", 2, o, 4), -1);
    CHECK_EQ_INT(hf_mime_header_decode("\xe9\xe9", 2, o, 5), 4);
    CHECK_EQ_INT(hf_mime_header_decode("a\0b", 3, o, sizeof o), -1);
}

TEST(mime_header_encode)
{
    char o[64];
    CHECK_EQ_INT(hf_mime_header_encode("plain\tvalue ~", 13, o, sizeof o), 13);
    CHECK_EQ_STR(o, "plain\tvalue ~");
    CHECK_EQ_INT(hf_mime_header_encode("\xc3\xa9", 2, o, sizeof o), 16);
    CHECK_EQ_STR(o, "=?UTF-8?B?w6k=?=");
    CHECK_EQ_INT(hf_mime_header_encode("a\x7f", 2, o, sizeof o), 16);
    CHECK_EQ_STR(o, "=?UTF-8?B?YX8=?=");
    CHECK_EQ_INT(hf_mime_header_encode("\xc3\xa9", 2, o, 16), -1);
    CHECK((size_t)hf_mime_header_encode("\xc3\xa9", 2, o, hf_mime_header_encode_len(2)) ==
          strlen(o));
    /* encode then decode gives the text back */
    char d[64];
    const char *text = "\xe6\x9d\xb1\xe4\xba\xac caf\xc3\xa9";
    CHECK(hf_mime_header_encode(text, strlen(text), o, sizeof o) > 0);
    CHECK_EQ_STR(mdec(o, d, sizeof d), text);
}

HF_TEST_MAIN("unit/base")
