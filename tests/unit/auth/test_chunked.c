/* Unit tests for src/auth/chunked.c: AWS's chunked-upload examples (signed,
 * and signed with a trailer) verified end to end, framing written by
 * botocore, tampering, truncation, limits and malformed framing. */
#include "test.h"

#include "req.h"

#include "auth/chunked.h"
#include "auth/sigv4.h"
#include "base/err.h"
#include "base/hash.h"
#include "base/str.h"

#define SK "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
#define T_2013 1369353600
#define T_2024 1709294400


static int verify_request(const char *method, const char *path, const kv_t *h, int64_t now,
                          hf_sigv4_t *a)
{
    hf_http_header_t arr[32];
    hf_sigv4_input_t in = mkreq(arr, method, path, "", h);
    char msg[256];
    int st = hf_sigv4_parse(&in, a, msg, sizeof msg);
    if (st == HF_AUTH_OK)
        st = hf_sigv4_verify(&in, a, SK, "us-east-1", now, NULL, msg, sizeof msg);
    if (st)
        fprintf(stderr, "auth: %d %s\n", st, msg);
    return st;
}

/* ---- feeding ------------------------------------------------------------------ */

static uint64_t rnd_state = 42;
static uint32_t rnd(void)
{
    rnd_state = rnd_state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (uint32_t)(rnd_state >> 33);
}

enum { ALL_AT_ONCE, BYTEWISE, RANDOM };

typedef struct {
    int rc;          /* first non-OK result, or HF_OK */
    size_t in, out;  /* bytes consumed, produced */
    bool done;
} fed_t;

/* Feed body in pieces (how) with an output buffer of outcap per call,
 * collecting output into dst. Stops at the first error or at the end. */
static fed_t feed(hf_awschunked_t *d, const char *body, size_t len, int how, size_t outcap,
                  char *dst, size_t dstcap)
{
    fed_t f = {HF_OK, 0, 0, false};
    char out[70000];
    if (outcap > sizeof out)
        outcap = sizeof out;
    while (f.in < len && !hf_awschunked_done(d)) {
        size_t piece = how == ALL_AT_ONCE ? len - f.in
                       : how == BYTEWISE  ? 1
                                          : 1 + rnd() % 9000;
        if (piece > len - f.in)
            piece = len - f.in;
        size_t oc = how == RANDOM ? 1 + rnd() % outcap : outcap;
        while (piece > 0 && !hf_awschunked_done(d)) {
            size_t c = 0, p = 0;
            int rc = hf_awschunked_decode(d, body + f.in, piece, &c, out, oc, &p);
            if (p > oc || c > piece) {
                f.rc = -9999;
                return f;
            }
            if (f.out + p <= dstcap)
                memcpy(dst + f.out, out, p);
            f.out += p;
            f.in += c;
            piece -= c;
            if (rc) {
                f.rc = rc;
                return f;
            }
            if (c == 0 && p == 0)
                break; /* done, or stuck (a bug the caller will see) */
        }
        if (hf_awschunked_done(d))
            break;
        if (piece > 0) {
            f.rc = -9998; /* no progress with input and output room */
            return f;
        }
    }
    f.done = hf_awschunked_done(d);
    return f;
}

/* ---- the AWS examples ---------------------------------------------------------- */

static char body[70000];
static char dst[70000];

/* 64 KiB of 'a', then 1 KiB, then the final chunk, with the given chunk
 * signatures; tail follows the final chunk line. */
static size_t aws_body(const char *s1, const char *s2, const char *s3, const char *tail)
{
    size_t n = 0;
    n += (size_t)sprintf(body + n, "10000;chunk-signature=%s\r\n", s1);
    memset(body + n, 'a', 65536);
    n += 65536;
    n += (size_t)sprintf(body + n, "\r\n400;chunk-signature=%s\r\n", s2);
    memset(body + n, 'a', 1024);
    n += 1024;
    n += (size_t)sprintf(body + n, "\r\n0;chunk-signature=%s\r\n%s", s3, tail);
    return n;
}

#define C1 "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648"
#define C2 "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497"
#define C3 "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9"
#define TC1 "b474d8862b1487a5145d686f57f013e54db672cee1c953b3010fb58501ef5aa2"
#define TC2 "1c1344b170168f8e65b41376b44b20fe354e373826ccbbe2c1d40a8cae51e5c7"
#define TC3 "2ca2aba2005185cf7159c6277faf83795951dd77a3a99e6e65d5c9f85863f992"
#define TSIG "d81f82fc3505edab99d459891051a732e8730629a2e4a59689829ca17fe2e435"

static const kv_t chunked_req[] = {
    {"Host", "s3.amazonaws.com"},
    {"x-amz-date", "20130524T000000Z"},
    {"x-amz-storage-class", "REDUCED_REDUNDANCY"},
    {"Authorization",
     "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"
     "SignedHeaders=content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;"
     "x-amz-decoded-content-length;x-amz-storage-class,"
     "Signature=4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9"},
    {"x-amz-content-sha256", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"},
    {"Content-Encoding", "aws-chunked"},
    {"x-amz-decoded-content-length", "66560"},
    {"Content-Length", "66824"},
    {NULL, NULL},
};

static const kv_t trailer_req[] = {
    {"Host", "s3.amazonaws.com"},
    {"x-amz-date", "20130524T000000Z"},
    {"x-amz-storage-class", "REDUCED_REDUNDANCY"},
    {"Authorization",
     "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"
     "SignedHeaders=content-encoding;host;x-amz-content-sha256;x-amz-date;"
     "x-amz-decoded-content-length;x-amz-storage-class;x-amz-trailer,"
     "Signature=106e2a8a18243abcf37539882f36619c00e2dfc72633413f02d3b74544bfeb8e"},
    {"x-amz-content-sha256", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"},
    {"Content-Encoding", "aws-chunked"},
    {"x-amz-decoded-content-length", "66560"},
    {"x-amz-trailer", "x-amz-checksum-crc32c"},
    {NULL, NULL},
};

static bool all_a(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != 'a')
            return false;
    return true;
}

TEST(aws_example_signed_chunks)
{
    hf_sigv4_t a;
    CHECK_EQ_INT(verify_request("PUT", "/examplebucket/chunkObject.txt", chunked_req, T_2013, &a),
                 HF_AUTH_OK);
    CHECK_EQ_INT(a.payload_mode, HF_PAYLOAD_STREAMING_SIGNED);
    size_t len = aws_body(C1, C2, C3, "\r\n");
    CHECK_EQ_INT(len, 66824); /* the example's Content-Length */

    const int hows[] = {ALL_AT_ONCE, BYTEWISE, RANDOM, RANDOM, RANDOM};
    const size_t caps[] = {sizeof dst, 1, 4096, 65536, 7};
    for (int k = 0; k < 5; k++) {
        hf_awschunked_t d;
        CHECK_EQ_INT(hf_awschunked_init(&d, a.payload_mode, &a), HF_OK);
        fed_t f = feed(&d, body, len, hows[k], caps[k], dst, sizeof dst);
        CHECK_EQ_INT(f.rc, HF_OK);
        CHECK(f.done);
        CHECK_EQ_INT(f.in, len);
        CHECK_EQ_INT(f.out, 66560);
        CHECK_EQ_INT(d.decoded, 66560);
        CHECK(all_a(dst, 66560));
        CHECK(hf_awschunked_trailer(&d, "x-amz-checksum-crc32c") == NULL);
        CHECK_EQ_INT(hf_awschunked_finish(&d), HF_OK);
        hf_awschunked_free(&d);
    }
}

TEST(aws_example_signed_chunks_with_trailer)
{
    hf_sigv4_t a;
    CHECK_EQ_INT(verify_request("PUT", "/examplebucket/chunkObject.txt", trailer_req, T_2013, &a),
                 HF_AUTH_OK);
    CHECK_EQ_INT(a.payload_mode, HF_PAYLOAD_STREAMING_SIGNED_TRAILER);
    size_t len = aws_body(TC1, TC2, TC3,
                          "x-amz-checksum-crc32c:sOO8/Q==\r\nx-amz-trailer-signature:" TSIG "\r\n\r\n");
    for (int how = ALL_AT_ONCE; how <= RANDOM; how++) {
        hf_awschunked_t d;
        CHECK_EQ_INT(hf_awschunked_init(&d, a.payload_mode, &a), HF_OK);
        fed_t f = feed(&d, body, len, how, how == BYTEWISE ? 3 : sizeof dst, dst, sizeof dst);
        CHECK_EQ_INT(f.rc, HF_OK);
        CHECK(f.done);
        CHECK_EQ_INT(f.in, len);
        CHECK_EQ_INT(f.out, 66560);
        CHECK(all_a(dst, 66560));
        const hf_str_t *v = hf_awschunked_trailer(&d, "x-amz-checksum-crc32c");
        CHECK(v && hf_str_eq(*v, "sOO8/Q=="));
        CHECK(hf_awschunked_trailer(&d, "X-Amz-Checksum-CRC32C") == v);
        CHECK(hf_awschunked_trailer(&d, "x-amz-trailer-signature") == NULL);
        hf_awschunked_free(&d);
    }
    /* The trailer really is the CRC32C of the payload. */
    uint32_t crc = hf_crc32c(0, dst, 66560);
    unsigned char be[4] = {(unsigned char)(crc >> 24), (unsigned char)(crc >> 16),
                           (unsigned char)(crc >> 8), (unsigned char)crc};
    char b64[16];
    hf_base64_encode(b64, be, 4);
    CHECK_EQ_STR(b64, "sOO8/Q==");

    /* Body ending without the final CRLF (as the AWS page prints it): done
     * only when the caller says the input has ended. */
    len = aws_body(TC1, TC2, TC3,
                   "x-amz-checksum-crc32c:sOO8/Q==\r\nx-amz-trailer-signature:" TSIG);
    hf_awschunked_t d;
    CHECK_EQ_INT(hf_awschunked_init(&d, a.payload_mode, &a), HF_OK);
    fed_t f = feed(&d, body, len, RANDOM, 5000, dst, sizeof dst);
    CHECK_EQ_INT(f.rc, HF_OK);
    CHECK(!f.done);
    CHECK_EQ_INT(f.in, len);
    CHECK_EQ_INT(hf_awschunked_finish(&d), HF_OK);
    CHECK(hf_awschunked_done(&d));
    const hf_str_t *v = hf_awschunked_trailer(&d, "x-amz-checksum-crc32c");
    CHECK(v && hf_str_eq(*v, "sOO8/Q=="));
    hf_awschunked_free(&d);
}

/* ---- tampering: fail at the chunk, before the next one is returned ------------- */

static fed_t run(const hf_sigv4_t *a, size_t len, int how, size_t outcap)
{
    hf_awschunked_t d;
    if (hf_awschunked_init(&d, a->payload_mode, a) != HF_OK)
        return (fed_t){-9997, 0, 0, false};
    fed_t f = feed(&d, body, len, how, outcap, dst, sizeof dst);
    if (f.rc == HF_OK && !f.done)
        f.rc = hf_awschunked_finish(&d);
    if (f.rc != HF_OK && !(d.why && d.why[0]))
        f.rc = -9996; /* every error must say why */
    hf_awschunked_free(&d);
    return f;
}

TEST(tampered_chunk_data_fails_before_next_chunk)
{
    hf_sigv4_t a;
    CHECK_EQ_INT(verify_request("PUT", "/examplebucket/chunkObject.txt", chunked_req, T_2013, &a),
                 HF_AUTH_OK);
    for (int how = ALL_AT_ONCE; how <= RANDOM; how++) {
        /* The first size line is 88 bytes, the second 86. */
        size_t len = aws_body(C1, C2, C3, "\r\n");
        body[88 + 1000] = 'b'; /* inside chunk 1 */
        fed_t f = run(&a, len, how, how == BYTEWISE ? 1 : sizeof dst);
        CHECK_EQ_INT(f.rc, HF_E_AUTH);
        CHECK(f.out <= 65536); /* nothing of chunk 2 */
        CHECK(f.in <= 88 + 65536);

        len = aws_body(C1, C2, C3, "\r\n");
        body[88 + 65536 + 2 + 86 + 70] = 'b'; /* inside chunk 2 data */
        f = run(&a, len, how, how == BYTEWISE ? 7 : sizeof dst);
        CHECK_EQ_INT(f.rc, HF_E_AUTH);
        CHECK(f.out <= 66560);
        CHECK(f.out >= 65536);
    }
}

TEST(tampered_signatures)
{
    hf_sigv4_t a;
    CHECK_EQ_INT(verify_request("PUT", "/examplebucket/chunkObject.txt", chunked_req, T_2013, &a),
                 HF_AUTH_OK);
    /* chunk 2's signature, the final chunk's, a swap of 1 and 2 */
    size_t len = aws_body(C1, "1055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497",
                          C3, "\r\n");
    fed_t f = run(&a, len, RANDOM, 3000);
    CHECK_EQ_INT(f.rc, HF_E_AUTH);
    CHECK(f.out <= 66560);
    len = aws_body(C1, C2, "c6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9",
                   "\r\n");
    CHECK_EQ_INT(run(&a, len, ALL_AT_ONCE, sizeof dst).rc, HF_E_AUTH);
    len = aws_body(C2, C1, C3, "\r\n");
    f = run(&a, len, ALL_AT_ONCE, sizeof dst);
    CHECK_EQ_INT(f.rc, HF_E_AUTH);
    CHECK(f.out <= 65536);
    /* upper-case hex in the signature is the same signature */
    char up[65];
    for (int i = 0; i < 64; i++)
        up[i] = C2[i] >= 'a' ? (char)(C2[i] - 32) : C2[i];
    up[64] = '\0';
    len = aws_body(C1, up, C3, "\r\n");
    CHECK_EQ_INT(run(&a, len, ALL_AT_ONCE, sizeof dst).rc, HF_OK);
    /* a different seed (the request signature) breaks the first chunk */
    hf_sigv4_t b = a;
    b.signature[0] ^= 1;
    len = aws_body(C1, C2, C3, "\r\n");
    f = run(&b, len, ALL_AT_ONCE, sizeof dst);
    CHECK_EQ_INT(f.rc, HF_E_AUTH);
    CHECK(f.out <= 65536);
}

TEST(tampered_trailers)
{
    hf_sigv4_t a;
    CHECK_EQ_INT(verify_request("PUT", "/examplebucket/chunkObject.txt", trailer_req, T_2013, &a),
                 HF_AUTH_OK);
    size_t len;
    /* altered value, altered signature, missing signature */
    len = aws_body(TC1, TC2, TC3,
                   "x-amz-checksum-crc32c:sOO8/R==\r\nx-amz-trailer-signature:" TSIG "\r\n\r\n");
    CHECK_EQ_INT(run(&a, len, RANDOM, 999).rc, HF_E_AUTH);
    len = aws_body(TC1, TC2, TC3,
                   "x-amz-checksum-crc32c:sOO8/Q==\r\nx-amz-trailer-signature:"
                   "d81f82fc3505edab99d459891051a732e8730629a2e4a59689829ca17fe2e436\r\n\r\n");
    CHECK_EQ_INT(run(&a, len, ALL_AT_ONCE, sizeof dst).rc, HF_E_AUTH);
    len = aws_body(TC1, TC2, TC3, "x-amz-checksum-crc32c:sOO8/Q==\r\n\r\n");
    CHECK_EQ_INT(run(&a, len, ALL_AT_ONCE, sizeof dst).rc, HF_E_AUTH);
    /* an added (unsigned) trailer */
    len = aws_body(TC1, TC2, TC3,
                   "x-amz-checksum-crc32c:sOO8/Q==\r\nx-amz-meta-evil:1\r\n"
                   "x-amz-trailer-signature:" TSIG "\r\n\r\n");
    CHECK_EQ_INT(run(&a, len, ALL_AT_ONCE, sizeof dst).rc, HF_E_AUTH);
    /* a trailer after the signature */
    len = aws_body(TC1, TC2, TC3,
                   "x-amz-checksum-crc32c:sOO8/Q==\r\nx-amz-trailer-signature:" TSIG
                   "\r\nx-amz-meta-evil:1\r\n\r\n");
    CHECK_EQ_INT(run(&a, len, ALL_AT_ONCE, sizeof dst).rc, HF_E_PROTO);
    /* a malformed signature value */
    len = aws_body(TC1, TC2, TC3,
                   "x-amz-checksum-crc32c:sOO8/Q==\r\nx-amz-trailer-signature:d81f\r\n\r\n");
    CHECK_EQ_INT(run(&a, len, ALL_AT_ONCE, sizeof dst).rc, HF_E_PROTO);
    /* name case and blanks around the value do not matter */
    len = aws_body(TC1, TC2, TC3,
                   "X-Amz-Checksum-CRC32C:  sOO8/Q==\t\r\nX-Amz-Trailer-Signature: " TSIG
                   "\r\n\r\n");
    CHECK_EQ_INT(run(&a, len, ALL_AT_ONCE, sizeof dst).rc, HF_OK);
}

/* A signed-trailer upload whose seed botocore's canonicaliser signed; the
 * chunk and trailer signatures come from an independent implementation. */
TEST(botocore_seeded_signed_trailer)
{
    const kv_t h[] = {
        {"Host", "127.0.0.1:9000"},
        {"Content-Encoding", "aws-chunked"},
        {"x-amz-decoded-content-length", "4500"},
        {"x-amz-trailer", "x-amz-checksum-sha256"},
        {"X-Amz-Date", "20240301T120000Z"},
        {"X-Amz-Content-SHA256", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"},
        {"Authorization",
         "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20240301/us-east-1/s3/aws4_request, "
         "SignedHeaders=content-encoding;host;x-amz-content-sha256;x-amz-date;"
         "x-amz-decoded-content-length;x-amz-trailer, "
         "Signature=2c0e8dc7097d8c1757ceb9b51918b3cbe14c9110f54236c2b5e91f1279873e7c"},
        {NULL, NULL},
    };
    hf_sigv4_t a;
    CHECK_EQ_INT(verify_request("PUT", "/my-bucket/fox.txt", h, T_2024, &a), HF_AUTH_OK);
    char data[4500];
    for (int i = 0; i < 100; i++)
        memcpy(data + 45 * i, "The quick brown fox jumps over the lazy dog. ", 45);
    size_t n = 0;
    n += (size_t)sprintf(body + n, "1000;chunk-signature=%s\r\n",
                         "dfa48bd7283bc33edafaa048da6e3508d7b23eadeed0c1a49d7ed9cf0525ec18");
    memcpy(body + n, data, 4096);
    n += 4096;
    n += (size_t)sprintf(body + n, "\r\n194;chunk-signature=%s\r\n",
                         "2e0bb9a537c5a4847159e3392ea5f686517216ef7af510ac1919bbabdbaefbc6");
    memcpy(body + n, data + 4096, 404);
    n += 404;
    n += (size_t)sprintf(
        body + n,
        "\r\n0;chunk-signature=e22b64c6373c579907af64ffefd97dafd486b6e5d43b5abdf447432c91a22db5\r\n"
        "x-amz-checksum-sha256:O53BjGqNdlVpls0YKfYaOPt7Ij8CfQMmu585xsokWdA=\r\n"
        "x-amz-trailer-signature:0103cb6d39cd2b004adfc89aabbde624df0ea6c7e32bebb1652c006f184c65e2\r\n"
        "\r\n");
    fed_t f = run(&a, n, RANDOM, 100);
    CHECK_EQ_INT(f.rc, HF_OK);
    CHECK_EQ_INT(f.out, 4500);
    CHECK_EQ_MEM(dst, data, 4500);
    unsigned char sha[32];
    char b64[64];
    hf_sha256(data, sizeof data, sha);
    hf_base64_encode(b64, sha, 32);
    CHECK_EQ_STR(b64, "O53BjGqNdlVpls0YKfYaOPt7Ij8CfQMmu585xsokWdA=");
}

/* Several trailers, sent unsorted: the signature covers them sorted. */
TEST(own_signer_multiple_trailers)
{
    hf_sigv4_t a;
    memset(&a, 0, sizeof a);
    a.payload_mode = HF_PAYLOAD_STREAMING_SIGNED_TRAILER;
    strcpy(a.amz_date, "20240301T120000Z");
    strcpy(a.scope, "20240301/us-east-1/s3/aws4_request");
    hf_sigv4_signing_key(SK, "20240301", "us-east-1", "s3", a.signing_key);
    memset(a.signature, 0x5a, 32);

    unsigned char prev[32], h[32], sig[32];
    char hex[65];
    memcpy(prev, a.signature, 32);
    size_t n = 0;
    hf_sha256("hello", 5, h);
    hf_sigv4_chunk_signature(a.signing_key, a.amz_date, a.scope, prev, h, sig);
    hf_hex_encode(hex, sig, 32);
    memcpy(prev, sig, 32);
    n += (size_t)sprintf(body + n, "5;chunk-signature=%s\r\nhello\r\n", hex);
    hf_sha256("", 0, h);
    hf_sigv4_chunk_signature(a.signing_key, a.amz_date, a.scope, prev, h, sig);
    hf_hex_encode(hex, sig, 32);
    memcpy(prev, sig, 32);
    n += (size_t)sprintf(body + n, "0;chunk-signature=%s\r\n", hex);
    const char *canon = "x-amz-checksum-crc32:NhCmhg==\nx-amz-checksum-crc32c:mnG7TA==\n";
    hf_sha256(canon, strlen(canon), h);
    hf_sigv4_trailer_signature(a.signing_key, a.amz_date, a.scope, prev, h, sig);
    hf_hex_encode(hex, sig, 32);
    n += (size_t)sprintf(body + n,
                         "x-amz-checksum-crc32c:mnG7TA==\r\nx-amz-checksum-crc32:NhCmhg==\r\n"
                         "x-amz-trailer-signature:%s\r\n\r\n",
                         hex);
    fed_t f = run(&a, n, BYTEWISE, 2);
    CHECK_EQ_INT(f.rc, HF_OK);
    CHECK_EQ_INT(f.out, 5);
    CHECK_EQ_MEM(dst, "hello", 5);
}

/* ---- unsigned trailer bodies ------------------------------------------------------ */

static fed_t unsigned_run(const char *text, size_t len, int how, hf_awschunked_t *d)
{
    memcpy(body, text, len);
    hf_awschunked_init(d, HF_PAYLOAD_STREAMING_UNSIGNED_TRAILER, NULL);
    return feed(d, body, len, how, how == BYTEWISE ? 1 : 64, dst, sizeof dst);
}

TEST(unsigned_trailers_as_botocore_writes_them)
{
    static const struct {
        const char *wire, *name, *value;
    } cases[] = {
        /* botocore 1.29 AwsChunkedWrapper, chunk size 4 */
        {"4\r\nhell\r\n4\r\no wo\r\n3\r\nrld\r\n0\r\nx-amz-checksum-crc32:DUoRhQ==\r\n\r\n",
         "x-amz-checksum-crc32", "DUoRhQ=="},
        {"4\r\nhell\r\n4\r\no wo\r\n3\r\nrld\r\n0\r\n"
         "x-amz-checksum-sha256:uU0nuZNNPgilLlLX2n2r+sSE7+N6U4DukIj3rOLvzek=\r\n\r\n",
         "x-amz-checksum-sha256", "uU0nuZNNPgilLlLX2n2r+sSE7+N6U4DukIj3rOLvzek="},
        {"b\r\nhello world\r\n0\r\nx-amz-checksum-crc32c:yZRlqg==\r\n\r\n",
         "x-amz-checksum-crc32c", "yZRlqg=="},
        /* no checksum */
        {"4\r\nhell\r\n4\r\no wo\r\n3\r\nrld\r\n0\r\n\r\n", NULL, NULL},
        /* the Rust SDK writes upper-case hex; a chunk extension is skipped */
        {"B\r\nhello world\r\n0\r\nx-amz-checksum-crc32:DUoRhQ==\r\n\r\n",
         "x-amz-checksum-crc32", "DUoRhQ=="},
        {"b;foo=bar\r\nhello world\r\n0 ;x=y\r\nx-amz-checksum-crc32:DUoRhQ==\r\n\r\n",
         "x-amz-checksum-crc32", "DUoRhQ=="},
        {"00b\r\nhello world\r\n000\r\nx-amz-checksum-crc32: DUoRhQ== \r\n\r\n",
         "x-amz-checksum-crc32", "DUoRhQ=="},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        for (int how = ALL_AT_ONCE; how <= RANDOM; how++) {
            hf_awschunked_t d;
            size_t len = strlen(cases[i].wire);
            fed_t f = unsigned_run(cases[i].wire, len, how, &d);
            CHECK_EQ_INT(f.rc, HF_OK);
            CHECK(f.done);
            CHECK_EQ_INT(f.in, len);
            CHECK_EQ_INT(f.out, 11);
            CHECK_EQ_MEM(dst, "hello world", 11);
            const hf_str_t *v = hf_awschunked_trailer(&d, cases[i].name ? cases[i].name : "x");
            if (cases[i].name)
                CHECK(v && hf_str_eq(*v, cases[i].value));
            else
                CHECK(v == NULL);
            CHECK_EQ_INT(d.ntrailers, cases[i].name ? 1 : 0);
            hf_awschunked_free(&d);
        }
    }
    /* The values are the checksums of the payload. */
    char b64[64];
    uint32_t c = hf_crc32(0, "hello world", 11);
    unsigned char be[4] = {(unsigned char)(c >> 24), (unsigned char)(c >> 16),
                           (unsigned char)(c >> 8), (unsigned char)c};
    hf_base64_encode(b64, be, 4);
    CHECK_EQ_STR(b64, "DUoRhQ==");
    c = hf_crc32c(0, "hello world", 11);
    unsigned char be2[4] = {(unsigned char)(c >> 24), (unsigned char)(c >> 16),
                            (unsigned char)(c >> 8), (unsigned char)c};
    hf_base64_encode(b64, be2, 4);
    CHECK_EQ_STR(b64, "yZRlqg==");
}

TEST(unsigned_endings_and_leftover_bytes)
{
    hf_awschunked_t d;
    /* JS SDK v3 without a checksum stops after "0\r\n": done at finish. */
    const char *js = "5\r\nhello\r\n0\r\n";
    fed_t f = unsigned_run(js, strlen(js), RANDOM, &d);
    CHECK_EQ_INT(f.rc, HF_OK);
    CHECK(!f.done);
    CHECK_EQ_INT(hf_awschunked_finish(&d), HF_OK);
    CHECK(hf_awschunked_done(&d));
    CHECK_EQ_INT(hf_awschunked_finish(&d), HF_OK);
    hf_awschunked_free(&d);
    /* Trailer without the final empty line, with and without its CRLF. */
    const char *t1 = "5\r\nhello\r\n0\r\nx-amz-checksum-crc32:NhCmhg==\r\n";
    f = unsigned_run(t1, strlen(t1), BYTEWISE, &d);
    CHECK_EQ_INT(f.rc, HF_OK);
    CHECK_EQ_INT(hf_awschunked_finish(&d), HF_OK);
    CHECK(hf_awschunked_trailer(&d, "x-amz-checksum-crc32") != NULL);
    hf_awschunked_free(&d);
    const char *t2 = "5\r\nhello\r\n0\r\nx-amz-checksum-crc32:NhCmhg==";
    f = unsigned_run(t2, strlen(t2), BYTEWISE, &d);
    CHECK_EQ_INT(f.rc, HF_OK);
    CHECK_EQ_INT(hf_awschunked_finish(&d), HF_OK);
    const hf_str_t *v = hf_awschunked_trailer(&d, "x-amz-checksum-crc32");
    CHECK(v && hf_str_eq(*v, "NhCmhg=="));
    hf_awschunked_free(&d);
    /* Bytes after the end are not consumed. */
    const char *next = "5\r\nhello\r\n0\r\n\r\nGET / HTTP/1.1\r\n";
    f = unsigned_run(next, strlen(next), ALL_AT_ONCE, &d);
    CHECK_EQ_INT(f.rc, HF_OK);
    CHECK(f.done);
    CHECK_EQ_INT(f.in, strlen("5\r\nhello\r\n0\r\n\r\n"));
    size_t c = 99, p = 99;
    char out[8];
    CHECK_EQ_INT(hf_awschunked_decode(&d, "GET", 3, &c, out, sizeof out, &p), HF_OK);
    CHECK_EQ_INT(c, 0);
    CHECK_EQ_INT(p, 0);
    hf_awschunked_free(&d);
}

TEST(truncated_bodies)
{
    const char *full = "5\r\nhello\r\n0\r\nx-amz-checksum-crc32:NhCmhg==\r\n\r\n";
    /* cut inside the size line, the data, the data's CRLF, the final line */
    const size_t cuts[] = {0, 1, 2, 4, 8, 9, 10, 11};
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        hf_awschunked_t d;
        fed_t f = unsigned_run(full, cuts[i], RANDOM, &d);
        CHECK_EQ_INT(f.rc, HF_OK);
        CHECK(!f.done);
        CHECK_EQ_INT(hf_awschunked_finish(&d), HF_E_PROTO);
        CHECK(d.why != NULL);
        /* sticky */
        size_t c, p;
        char out[8];
        CHECK_EQ_INT(hf_awschunked_decode(&d, "\r\n", 2, &c, out, sizeof out, &p), HF_E_PROTO);
        CHECK_EQ_INT(c, 0);
        hf_awschunked_free(&d);
    }
    /* signed: cut after chunk 1's data */
    hf_sigv4_t a;
    CHECK_EQ_INT(verify_request("PUT", "/examplebucket/chunkObject.txt", chunked_req, T_2013, &a),
                 HF_AUTH_OK);
    size_t len = aws_body(C1, C2, C3, "\r\n");
    CHECK_EQ_INT(run(&a, 88 + 65536, RANDOM, 5000).rc, HF_E_PROTO);
    CHECK_EQ_INT(run(&a, 88 + 100, RANDOM, 5000).rc, HF_E_PROTO);
    CHECK_EQ_INT(run(&a, len - 2, RANDOM, 5000).rc, HF_OK); /* only the final CRLF missing */
    CHECK_EQ_INT(run(&a, len - 3, RANDOM, 5000).rc, HF_E_PROTO);
}

/* ---- malformed framing and limits ------------------------------------------------- */

static int unsigned_rc(const char *text)
{
    hf_awschunked_t d;
    fed_t f = unsigned_run(text, strlen(text), ALL_AT_ONCE, &d);
    int rc = f.rc;
    if (rc == HF_OK && !f.done)
        rc = hf_awschunked_finish(&d);
    if (rc != HF_OK && !d.why)
        rc = -9996;
    hf_awschunked_free(&d);
    return rc;
}

TEST(bad_framing)
{
    CHECK_EQ_INT(unsigned_rc("zz\r\nhello\r\n0\r\n\r\n"), HF_E_PROTO);
    CHECK_EQ_INT(unsigned_rc("5g\r\nhello\r\n0\r\n\r\n"), HF_E_PROTO);
    CHECK_EQ_INT(unsigned_rc(";x\r\nhello\r\n0\r\n\r\n"), HF_E_PROTO);
    CHECK_EQ_INT(unsigned_rc("-5\r\nhello\r\n0\r\n\r\n"), HF_E_PROTO);
    CHECK_EQ_INT(unsigned_rc("5 \r\nhello\r\n0\r\n\r\n"), HF_E_PROTO);
    CHECK_EQ_INT(unsigned_rc("0x5\r\nhello\r\n0\r\n\r\n"), HF_E_PROTO);
    /* 15 hex digits are allowed, 16 are not */
    CHECK_EQ_INT(unsigned_rc("000000000000005\r\nhello\r\n0\r\n\r\n"), HF_OK);
    CHECK_EQ_INT(unsigned_rc("0000000000000005\r\nhello\r\n0\r\n\r\n"), HF_E_PROTO);
    /* bare LF, CR without LF, data not followed by CRLF */
    CHECK_EQ_INT(unsigned_rc("5\nhello\r\n0\r\n\r\n"), HF_E_PROTO);
    CHECK_EQ_INT(unsigned_rc("5\r\rhello\r\n0\r\n\r\n"), HF_E_PROTO);
    CHECK_EQ_INT(unsigned_rc("5\r\nhelloX\r\n0\r\n\r\n"), HF_E_PROTO);
    CHECK_EQ_INT(unsigned_rc("5\r\nhello\n0\r\n\r\n"), HF_E_PROTO);
    CHECK_EQ_INT(unsigned_rc("5\r\nhello\r\n0\r\n\n"), HF_E_PROTO);
    /* trailer lines: no colon, empty name, folded, bad name, control char */
    CHECK_EQ_INT(unsigned_rc("0\r\nx-amz-checksum-crc32\r\n\r\n"), HF_E_PROTO);
    CHECK_EQ_INT(unsigned_rc("0\r\n:abc\r\n\r\n"), HF_E_PROTO);
    CHECK_EQ_INT(unsigned_rc("0\r\n a:b\r\n\r\n"), HF_E_PROTO);
    CHECK_EQ_INT(unsigned_rc("0\r\nx y:b\r\n\r\n"), HF_E_PROTO);
    CHECK_EQ_INT(unsigned_rc("0\r\nx-amz-checksum-crc32 :b\r\n\r\n"), HF_E_PROTO);
    CHECK_EQ_INT(unsigned_rc("0\r\na:b\x01\r\n\r\n"), HF_E_PROTO);
    /* duplicate trailer; a trailer signature in an unsigned body */
    CHECK_EQ_INT(unsigned_rc("0\r\na:1\r\nA:2\r\n\r\n"), HF_E_PROTO);
    CHECK_EQ_INT(unsigned_rc("0\r\nx-amz-trailer-signature:"
                             "d81f82fc3505edab99d459891051a732e8730629a2e4a59689829ca17fe2e435\r\n\r\n"),
                 HF_E_PROTO);
    /* an empty trailer value is a value */
    CHECK_EQ_INT(unsigned_rc("0\r\nx-amz-meta-a:\r\n\r\n"), HF_OK);

    /* signed modes: the extension must be exactly chunk-signature=<64 hex> */
    hf_sigv4_t a;
    CHECK_EQ_INT(verify_request("PUT", "/examplebucket/chunkObject.txt", chunked_req, T_2013, &a),
                 HF_AUTH_OK);
    const char *bad[] = {
        "10000\r\n",
        "10000;chunk-signature=ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a28864\r\n",
        "10000;chunk-signature=ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a28864x\r\n",
        "10000;chunk-signature=" C1 ";x=y\r\n",
        "10000;chunk-signatur=" C1 "\r\n",
        "10000 ;chunk-signature=" C1 "\r\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        strcpy(body, bad[i]);
        CHECK_EQ_INT(run(&a, strlen(bad[i]), ALL_AT_ONCE, sizeof dst).rc, HF_E_PROTO);
    }
    /* a trailer in a signed body without trailers */
    size_t len = aws_body(C1, C2, C3, "x-amz-meta-a:1\r\n\r\n");
    CHECK_EQ_INT(run(&a, len, ALL_AT_ONCE, sizeof dst).rc, HF_E_PROTO);
}

TEST(limits)
{
    char text[2048];
    /* a size line longer than HF_HTTP_CHUNK_LINE_MAX */
    memset(text, 0, sizeof text);
    strcpy(text, "5;");
    memset(text + 2, 'x', HF_HTTP_CHUNK_LINE_MAX);
    strcat(text, "\r\nhello\r\n0\r\n\r\n");
    CHECK_EQ_INT(unsigned_rc(text), HF_E_TOOBIG);
    /* just inside the limit */
    memset(text, 0, sizeof text);
    strcpy(text, "5;");
    memset(text + 2, 'x', HF_HTTP_CHUNK_LINE_MAX - 3);
    strcat(text, "\r\nhello\r\n0\r\n\r\n");
    CHECK_EQ_INT(unsigned_rc(text), HF_OK);
    /* a trailer line longer than the limit */
    memset(text, 0, sizeof text);
    strcpy(text, "0\r\nx-amz-meta-a:");
    memset(text + strlen(text), 'v', HF_HTTP_CHUNK_LINE_MAX);
    strcat(text, "\r\n\r\n");
    CHECK_EQ_INT(unsigned_rc(text), HF_E_TOOBIG);
    /* HF_AWSCHUNKED_TRAILERS_MAX trailers, and one more */
    strcpy(text, "0\r\n");
    for (int i = 0; i < HF_AWSCHUNKED_TRAILERS_MAX; i++)
        sprintf(text + strlen(text), "x-amz-meta-%d:%d\r\n", i, i);
    strcat(text, "\r\n");
    CHECK_EQ_INT(unsigned_rc(text), HF_OK);
    strcpy(text, "0\r\n");
    for (int i = 0; i <= HF_AWSCHUNKED_TRAILERS_MAX; i++)
        sprintf(text + strlen(text), "x-amz-meta-%d:%d\r\n", i, i);
    strcat(text, "\r\n");
    CHECK_EQ_INT(unsigned_rc(text), HF_E_TOOBIG);
}

TEST(init_and_output_room)
{
    hf_awschunked_t d;
    CHECK_EQ_INT(hf_awschunked_init(&d, HF_PAYLOAD_SHA256, NULL), HF_E_INVAL);
    hf_awschunked_free(&d);
    CHECK_EQ_INT(hf_awschunked_init(&d, HF_PAYLOAD_UNSIGNED, NULL), HF_E_INVAL);
    hf_awschunked_free(&d);
    CHECK_EQ_INT(hf_awschunked_init(&d, HF_PAYLOAD_STREAMING_SIGNED, NULL), HF_E_INVAL);
    hf_awschunked_free(&d);
    /* No output room: the size line is consumed, the data waits. */
    CHECK_EQ_INT(hf_awschunked_init(&d, HF_PAYLOAD_STREAMING_UNSIGNED_TRAILER, NULL), HF_OK);
    size_t c, p;
    char out[4];
    CHECK_EQ_INT(hf_awschunked_decode(&d, "5\r\nhello", 8, &c, out, 0, &p), HF_OK);
    CHECK_EQ_INT(c, 3);
    CHECK_EQ_INT(p, 0);
    CHECK_EQ_INT(hf_awschunked_decode(&d, "hello", 5, &c, out, sizeof out, &p), HF_OK);
    CHECK_EQ_INT(c, 4);
    CHECK_EQ_INT(p, 4);
    CHECK_EQ_MEM(out, "hell", 4);
    CHECK(hf_awschunked_trailer(&d, "x") == NULL); /* not done */
    hf_awschunked_free(&d);
}

/* Random garbage and random cuts of valid bodies never crash. */
TEST(garbage_never_crashes)
{
    static const char alphabet[] = "0123456789abcdefABXZ;=:\r\n -chunk-signature=x-amz-trailer";
    hf_sigv4_t a;
    CHECK_EQ_INT(verify_request("PUT", "/examplebucket/chunkObject.txt", trailer_req, T_2013, &a),
                 HF_AUTH_OK);
    const enum hf_payload_mode modes[] = {HF_PAYLOAD_STREAMING_SIGNED,
                                          HF_PAYLOAD_STREAMING_SIGNED_TRAILER,
                                          HF_PAYLOAD_STREAMING_UNSIGNED_TRAILER};
    for (int iter = 0; iter < 3000; iter++) {
        size_t n = 1 + rnd() % 400;
        for (size_t i = 0; i < n; i++)
            body[i] = rnd() % 8 ? alphabet[rnd() % (sizeof alphabet - 1)] : (char)rnd();
        hf_awschunked_t d;
        CHECK_EQ_INT(hf_awschunked_init(&d, modes[iter % 3], &a), HF_OK);
        fed_t f = feed(&d, body, n, RANDOM, 1 + rnd() % 64, dst, sizeof dst);
        CHECK(f.rc == HF_OK || f.rc == HF_E_PROTO || f.rc == HF_E_AUTH || f.rc == HF_E_TOOBIG);
        CHECK(f.in <= n);
        int rc = hf_awschunked_finish(&d);
        CHECK(rc == HF_OK || rc == HF_E_PROTO || rc == HF_E_AUTH || rc == HF_E_TOOBIG);
        if (rc != HF_OK)
            CHECK(d.why != NULL);
        hf_awschunked_free(&d);
    }
}

HF_TEST_MAIN("unit/auth")
