/* Unit tests for src/net/http.c: the request-head parser, the chunked
 * decoder and the reason phrases. */
#include "test.h"

#include "base/err.h"
#include "base/limits.h"
#include "net/http.h"

/* ---- helpers ------------------------------------------------------------------ */

static hf_http_req_t req; /* large: keep it off the stack */

static int parse_n(const char *s, size_t n, int *status)
{
    const char *why = NULL;
    int st = 0;
    int rc = hf_http_parse_head(s, n, &req, &st, &why);
    if (rc < 0 && (why == NULL || st == 0))
        hf_test_fail(__FILE__, __LINE__, "error %d without status or reason", rc);
    if (status)
        *status = st;
    return rc;
}

static int parse(const char *s, int *status)
{
    return parse_n(s, strlen(s), status);
}

static bool str_is(hf_str_t s, const char *lit)
{
    return hf_str_eq(s, lit);
}

/* Every proper prefix must be "incomplete", the whole must give its length. */
static void check_incremental(const char *s, size_t n)
{
    for (size_t k = 0; k < n; k++) {
        int st = 0;
        int rc = parse_n(s, k, &st);
        if (rc != 0)
            hf_test_fail(__FILE__, __LINE__, "prefix %zu of %zu gave %d (status %d)", k, n,
                         rc, st);
    }
    CHECK_EQ_INT(parse_n(s, n, NULL), (long long)n);
}

/* The whole head is refused with status; no prefix is refused differently. */
static void check_reject_n(const char *s, size_t n, int status, int line)
{
    int st = 0;
    int rc = parse_n(s, n, &st);
    int want_rc = (status == 414 || status == 431) ? HF_E_TOOBIG : HF_E_PROTO;
    if (rc != want_rc || st != status)
        hf_test_fail(__FILE__, line, "got rc %d status %d, expected rc %d status %d", rc, st,
                     want_rc, status);
    for (size_t k = 0; k < n; k++) {
        rc = parse_n(s, k, &st);
        if (rc != 0 && (rc != want_rc || st != status))
            hf_test_fail(__FILE__, line, "prefix %zu gave rc %d status %d", k, rc, st);
    }
}

#define REJECT(s, status) check_reject_n((s), strlen(s), (status), __LINE__)
#define REJECT_N(s, status) check_reject_n((s), sizeof(s) - 1, (status), __LINE__)

#define H11 "GET / HTTP/1.1\r\nHost: a\r\n"

/* ---- valid heads ------------------------------------------------------------------ */

TEST(get_with_query)
{
    const char *h = "GET /bucket/some%20key?versionId=3&acl HTTP/1.1\r\n"
                    "Host: s3.example.com:9000\r\n"
                    "User-Agent: aws-sdk\r\n"
                    "\r\n";
    int st = -1;
    CHECK_EQ_INT(parse(h, &st), strlen(h));
    CHECK_EQ_INT(st, 0);
    CHECK(str_is(req.method, "GET"));
    CHECK(str_is(req.target, "/bucket/some%20key?versionId=3&acl"));
    CHECK(str_is(req.path, "/bucket/some%20key"));
    CHECK(str_is(req.query, "versionId=3&acl"));
    CHECK_EQ_INT(req.minor, 1);
    CHECK_EQ_INT(req.nheaders, 2);
    CHECK(str_is(req.headers[1].name, "User-Agent"));
    CHECK(str_is(req.headers[1].value, "aws-sdk"));
    CHECK(str_is(req.host, "s3.example.com:9000"));
    CHECK_EQ_INT(req.content_length, -1);
    CHECK(!req.chunked);
    CHECK(req.keep_alive);
    CHECK(!req.expect_continue);
    CHECK_EQ_INT(req.head_len, strlen(h));
}

TEST(path_without_query_and_empty_query)
{
    CHECK_EQ_INT(parse("GET /b/k HTTP/1.1\r\nHost: a\r\n\r\n", NULL), 30);
    CHECK(str_is(req.path, "/b/k"));
    CHECK(str_is(req.query, ""));
    CHECK_EQ_INT(parse("GET /b/k? HTTP/1.1\r\nHost: a\r\n\r\n", NULL), 31);
    CHECK(str_is(req.path, "/b/k"));
    CHECK(str_is(req.query, ""));
    CHECK(str_is(req.target, "/b/k?"));
    /* Visible ASCII other than '#' is kept as sent, for SigV4 to see. */
    CHECK(parse("GET /a:b@c!$&'()*+,;=[]{}|^`\"<>\\~ HTTP/1.1\r\nHost: a\r\n\r\n", NULL) > 0);
    CHECK(str_is(req.path, "/a:b@c!$&'()*+,;=[]{}|^`\"<>\\~"));
}

TEST(put_many_headers_trimmed)
{
    const char *h = "PUT /b/k?partNumber=2&uploadId=abc HTTP/1.1\r\n"
                    "host: b.s3.local\r\n"
                    "Content-Length: 000123\r\n"
                    "x-amz-meta-a:\t  spaced  value \t\r\n"
                    "x-amz-meta-empty:\r\n"
                    "x-amz-meta-ws:   \t \r\n"
                    "X-Amz-Content-Sha256: UNSIGNED-PAYLOAD\r\n"
                    "x-amz-meta-a: second\r\n"
                    "\r\n";
    CHECK_EQ_INT(parse(h, NULL), strlen(h));
    CHECK(str_is(req.method, "PUT"));
    CHECK(str_is(req.query, "partNumber=2&uploadId=abc"));
    CHECK_EQ_INT(req.nheaders, 7);
    CHECK_EQ_INT(req.content_length, 123);
    CHECK(str_is(req.host, "b.s3.local"));
    CHECK(str_is(req.headers[2].value, "spaced  value"));
    CHECK(str_is(req.headers[3].value, ""));
    CHECK(str_is(req.headers[4].value, ""));
    const hf_http_header_t *x = hf_http_find(&req, "X-AMZ-META-A");
    CHECK(x != NULL);
    CHECK(x == &req.headers[2]);
    CHECK(hf_http_find(&req, "x-amz-content-sha256") == &req.headers[5]);
    CHECK(hf_http_find(&req, "x-amz-meta") == NULL);
    CHECK(hf_http_find(&req, "x-amz-meta-a-") == NULL);
    CHECK_EQ_INT(hf_http_count(&req, "x-amz-meta-a"), 2);
    CHECK_EQ_INT(hf_http_count(&req, "HOST"), 1);
    CHECK_EQ_INT(hf_http_count(&req, "range"), 0);
}

TEST(content_length_values)
{
    CHECK(parse(H11 "Content-Length: 0\r\n\r\n", NULL) > 0);
    CHECK_EQ_INT(req.content_length, 0);
    CHECK(parse(H11 "Content-Length: 0000000000000000007\r\n\r\n", NULL) > 0);
    CHECK_EQ_INT(req.content_length, 7);
    CHECK(parse(H11 "Content-Length: 9223372036854775807\r\n\r\n", NULL) > 0);
    CHECK_EQ_INT(req.content_length, INT64_MAX);
    CHECK(parse(H11 "Content-Length:  42 \t\r\n\r\n", NULL) > 0);
    CHECK_EQ_INT(req.content_length, 42);
}

TEST(chunked_accepted)
{
    CHECK(parse(H11 "Transfer-Encoding: chunked\r\n\r\n", NULL) > 0);
    CHECK(req.chunked);
    CHECK_EQ_INT(req.content_length, -1);
    CHECK(parse(H11 "transfer-encoding:  ChUnKeD \t\r\n\r\n", NULL) > 0);
    CHECK(req.chunked);
}

TEST(http10_keep_alive)
{
    CHECK(parse("GET /x HTTP/1.0\r\n\r\n", NULL) > 0);
    CHECK_EQ_INT(req.minor, 0);
    CHECK(!req.keep_alive);
    CHECK(str_is(req.host, ""));
    CHECK(parse("GET /x HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", NULL) > 0);
    CHECK(req.keep_alive);
    CHECK(parse("GET /x HTTP/1.0\r\nHost: h\r\nConnection: keep-alive, close\r\n\r\n", NULL) > 0);
    CHECK(!req.keep_alive);
    CHECK(str_is(req.host, "h"));
    CHECK(parse("HEAD /x HTTP/1.0\r\nContent-Length: 3\r\n\r\n", NULL) > 0);
    CHECK_EQ_INT(req.content_length, 3);
}

TEST(http11_connection_tokens)
{
    CHECK(parse(H11 "\r\n", NULL) > 0);
    CHECK(req.keep_alive);
    CHECK(parse(H11 "Connection: close\r\n\r\n", NULL) > 0);
    CHECK(!req.keep_alive);
    CHECK(parse(H11 "Connection: CLOSE\r\n\r\n", NULL) > 0);
    CHECK(!req.keep_alive);
    CHECK(parse(H11 "Connection: keep-alive , Close\r\n\r\n", NULL) > 0);
    CHECK(!req.keep_alive);
    CHECK(parse(H11 "Connection: Upgrade\r\nconnection: te,,close\r\n\r\n", NULL) > 0);
    CHECK(!req.keep_alive);
    CHECK(parse(H11 "Connection: Upgrade, closed\r\n\r\n", NULL) > 0);
    CHECK(req.keep_alive);
}

TEST(leading_empty_lines)
{
    const char *h = "\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n";
    CHECK_EQ_INT(parse(h, NULL), strlen(h));
    CHECK(str_is(req.method, "GET"));
    CHECK_EQ_INT(req.head_len, strlen(h));
    CHECK_EQ_INT(parse("\r\n\r\n\r\n", NULL), 0);
    REJECT("\r\rGET / HTTP/1.1\r\nHost: a\r\n\r\n", 400);
    REJECT("\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", 400);
}

TEST(expect_continue)
{
    CHECK(parse("PUT /b/k HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n"
                "Content-Length: 5\r\n\r\n", NULL) > 0);
    CHECK(req.expect_continue);
    CHECK(parse(H11 "Expect:  100-Continue \r\n\r\n", NULL) > 0);
    CHECK(req.expect_continue);
    CHECK(parse("PUT /b/k HTTP/1.0\r\nExpect: 100-continue\r\n\r\n", NULL) > 0);
    CHECK(!req.expect_continue);
    REJECT(H11 "Expect: 200-ok\r\n\r\n", 417);
    REJECT(H11 "Expect: 100-continue, foo\r\n\r\n", 417);
    REJECT(H11 "Expect:\r\n\r\n", 417);
}

TEST(obs_text_in_values)
{
    const char h[] = H11 "X-Amz-Meta-Name: caf\xc3\xa9 \x80\xff\r\n\r\n";
    CHECK_EQ_INT(parse_n(h, sizeof h - 1, NULL), sizeof h - 1);
    CHECK(str_is(req.headers[1].value, "caf\xc3\xa9 \x80\xff"));
}

TEST(method_length_boundary)
{
    CHECK(parse("ABCDEFGHIJKLMNOP / HTTP/1.1\r\nHost: a\r\n\r\n", NULL) > 0);
    CHECK_EQ_INT(req.method.n, HF_HTTP_METHOD_MAX);
    REJECT("ABCDEFGHIJKLMNOPQ / HTTP/1.1\r\nHost: a\r\n\r\n", 501);
    /* Refused before the line is complete. */
    int st = 0;
    CHECK_EQ_INT(parse("ABCDEFGHIJKLMNOPQ", &st), HF_E_PROTO);
    CHECK_EQ_INT(st, 501);
    CHECK_EQ_INT(parse("ABCDEFGHIJKLMNOP", &st), 0);
}

TEST(bytes_after_head_not_counted)
{
    const char *h = "PUT /b/k HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\n\r\n";
    char buf[256];
    snprintf(buf, sizeof buf, "%sBODYGET / HTTP/1.1\r\n", h);
    CHECK_EQ_INT(parse(buf, NULL), strlen(h));
    CHECK_EQ_INT(req.head_len, strlen(h));
    CHECK_EQ_INT(req.content_length, 4);
}

/* ---- incremental ------------------------------------------------------------------ */

TEST(incremental_every_prefix)
{
    static const char *heads[] = {
        "GET / HTTP/1.1\r\nHost: a\r\n\r\n",
        "\r\n\r\nPUT /b/k?x=y HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n"
        "Expect: 100-continue\r\nX-E:\r\nX-W:  v  \r\n\r\n",
        "POST /b?delete HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n",
        "GET /x HTTP/1.0\r\n\r\n",
    };
    for (size_t i = 0; i < sizeof heads / sizeof heads[0]; i++)
        check_incremental(heads[i], strlen(heads[i]));
}

TEST(early_rejection_of_garbage)
{
    int st = 0;
    /* A TLS ClientHello on the plain port: refused on the first byte. */
    CHECK_EQ_INT(parse_n("\x16\x03\x01\x02\x00", 1, &st), HF_E_PROTO);
    CHECK_EQ_INT(st, 400);
    CHECK_EQ_INT(parse("G(T", &st), HF_E_PROTO);
    CHECK_EQ_INT(st, 400);
    CHECK_EQ_INT(parse("GET x", &st), HF_E_PROTO);
    CHECK_EQ_INT(st, 400);
    CHECK_EQ_INT(parse("GET / HTTX", &st), HF_E_PROTO);
    CHECK_EQ_INT(st, 400);
    CHECK_EQ_INT(parse("GET / HTTP/2.0", &st), HF_E_PROTO);
    CHECK_EQ_INT(st, 505);
    CHECK_EQ_INT(parse(H11 "X-Bad\x01", &st), HF_E_PROTO);
    CHECK_EQ_INT(st, 400);
    CHECK_EQ_INT(parse(H11 "X-Bad: a\x01", &st), HF_E_PROTO);
    CHECK_EQ_INT(st, 400);
    CHECK_EQ_INT(parse(H11 "Content-Length: 1\r\nContent-Length: 1\r\n", &st), HF_E_PROTO);
    CHECK_EQ_INT(st, 400);
    /* Still possibly valid: wait. */
    CHECK_EQ_INT(parse(H11 "X-Ok: a\r", &st), 0);
    CHECK_EQ_INT(parse("GET / HTTP/1.1\r\n", &st), 0);
}

/* ---- rejections ----------------------------------------------------------------- */

TEST(reject_line_endings)
{
    REJECT("GET / HTTP/1.1\nHost: a\r\n\r\n", 400);
    REJECT("GET / HTTP/1.1\r\nHost: a\n\r\n", 400);
    REJECT("GET / HTTP/1.1\r\nHost: a\r\n\n", 400);
    REJECT("GET / HTTP/1.1\r\nHost: a\r\n\r\r\n", 400);
    REJECT("GET / HTTP/1.1\rHost: a\r\n\r\n", 400);
    REJECT("GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n", 400);   /* CR alone in a value */
    REJECT("GET / HTTP/1.1\r\nHost: a\r\r\n\r\n", 400);
    REJECT("GET / HTTP/1.1\r\nX: a\nContent-Length: 5\r\nHost: a\r\n\r\n", 400);
}

TEST(reject_request_line)
{
    REJECT("GET  / HTTP/1.1\r\nHost: a\r\n\r\n", 400);
    REJECT("GET /  HTTP/1.1\r\nHost: a\r\n\r\n", 400);
    REJECT("GET / HTTP/1.1 \r\nHost: a\r\n\r\n", 400);
    REJECT(" GET / HTTP/1.1\r\nHost: a\r\n\r\n", 400);
    REJECT("GET\t/ HTTP/1.1\r\nHost: a\r\n\r\n", 400);
    REJECT("GET /\r\n\r\n", 400);
    REJECT("GET / http/1.1\r\nHost: a\r\n\r\n", 400);
    REJECT("GET / HTTP/1.10\r\nHost: a\r\n\r\n", 400);
    REJECT("GET / HTTP/11.1\r\nHost: a\r\n\r\n", 400);
    REJECT("GET / HTTP/1\r\nHost: a\r\n\r\n", 400);
    REJECT("G(T / HTTP/1.1\r\nHost: a\r\n\r\n", 400);
    REJECT("GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505);
    REJECT("GET / HTTP/1.2\r\nHost: a\r\n\r\n", 505);
    REJECT("GET / HTTP/0.9\r\nHost: a\r\n\r\n", 505);
    REJECT_N("\0GET / HTTP/1.1\r\nHost: a\r\n\r\n", 400);
}

TEST(reject_targets)
{
    REJECT("GET http://a/b HTTP/1.1\r\nHost: a\r\n\r\n", 400);
    REJECT("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n", 400);
    REJECT("CONNECT a:443 HTTP/1.1\r\nHost: a\r\n\r\n", 400);
    REJECT("GET b/k HTTP/1.1\r\nHost: a\r\n\r\n", 400);
    REJECT("GET /a#frag HTTP/1.1\r\nHost: a\r\n\r\n", 400);
    REJECT("GET /a\x7f HTTP/1.1\r\nHost: a\r\n\r\n", 400);
    REJECT("GET /caf\xc3\xa9 HTTP/1.1\r\nHost: a\r\n\r\n", 400);
    REJECT("GET /a\tb HTTP/1.1\r\nHost: a\r\n\r\n", 400);
}

TEST(reject_header_names)
{
    REJECT("GET / HTTP/1.1\r\n Host: a\r\n\r\n", 400);
    REJECT(H11 "X: b\r\n c\r\n\r\n", 400);               /* obs-fold */
    REJECT(H11 "X: b\r\n\tc\r\n\r\n", 400);
    REJECT(H11 "Transfer-Encoding : chunked\r\n\r\n", 400);
    REJECT("GET / HTTP/1.1\r\nHost\t: a\r\n\r\n", 400);
    REJECT(H11 ": x\r\n\r\n", 400);
    REJECT(H11 "X(Y: x\r\n\r\n", 400);
    REJECT(H11 "X/Y: x\r\n\r\n", 400);
    REJECT(H11 "NoColon\r\n\r\n", 400);
    REJECT(H11 "Caf\xc3\xa9: x\r\n\r\n", 400);
}

TEST(reject_header_values)
{
    REJECT_N(H11 "X-A: a\0b\r\n\r\n", 400);
    REJECT(H11 "X-A: a\x01" "b\r\n\r\n", 400);
    REJECT(H11 "X-A: a\x7f" "b\r\n\r\n", 400);
    REJECT(H11 "X-A: a\x1b[0m\r\n\r\n", 400);
    REJECT(H11 "X-A: \x0b\r\n\r\n", 400);
}

/* Every byte value at every position of a long value and a long target:
 * accepted exactly when its class allows it, wherever it falls. */
TEST(every_byte_everywhere)
{
    char h[128];
    for (int b = 0; b < 256; b++) {
        bool field_ok = b == '\t' || (b >= 0x20 && b != 0x7f);
        bool target_ok = b > 0x20 && b < 0x7f && b != '#';
        for (size_t pos = 0; pos < 24; pos++) {
            int st = 0;
            size_t n = (size_t)sprintf(h, H11 "X-V: ");
            size_t v0 = n;
            memset(h + n, 'a', 24);
            h[n + pos] = (char)b;
            n += 24;
            memcpy(h + n, "\r\n\r\n", 4);
            n += 4;
            int rc = parse_n(h, n, &st);
            if (field_ok ? rc != (int)n : (rc != HF_E_PROTO || st != 400))
                hf_test_fail(__FILE__, __LINE__, "value byte 0x%02x at %zu: rc %d", b, pos, rc);
            if (field_ok && b != ' ' && b != '\t')
                CHECK(req.headers[1].value.p == h + v0 && req.headers[1].value.n == 24);

            n = (size_t)sprintf(h, "GET /");
            memset(h + n, 'a', 24);
            h[n + pos] = (char)b;
            n += 24;
            n += (size_t)sprintf(h + n, " HTTP/1.1\r\nHost: a\r\n\r\n");
            rc = parse_n(h, n, &st);
            if (target_ok ? rc != (int)n : (rc != HF_E_PROTO || st != 400))
                hf_test_fail(__FILE__, __LINE__, "target byte 0x%02x at %zu: rc %d", b, pos, rc);
            if (target_ok)
                CHECK_EQ_INT(req.target.n, 25);
        }
    }
}

TEST(reject_host)
{
    REJECT("GET / HTTP/1.1\r\n\r\n", 400);
    REJECT("GET / HTTP/1.1\r\nX-Host: a\r\n\r\n", 400);
    REJECT("GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n", 400);
    REJECT("GET / HTTP/1.0\r\nHost: a\r\nhost: b\r\n\r\n", 400);
    REJECT("GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 400);
    REJECT("GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", 400);
    REJECT("GET / HTTP/1.1\r\nHost: u@a\r\n\r\n", 400);
    CHECK(parse("GET / HTTP/1.1\r\nHost: [::1]:9000\r\n\r\n", NULL) > 0);
    CHECK(str_is(req.host, "[::1]:9000"));
}

TEST(reject_content_length)
{
    REJECT(H11 "Content-Length: 1, 1\r\n\r\n", 400);
    REJECT(H11 "Content-Length: 5\r\nContent-Length: 5\r\n\r\n", 400);
    REJECT(H11 "Content-Length: 5\r\ncontent-length: 6\r\n\r\n", 400);
    REJECT(H11 "Content-Length: +5\r\n\r\n", 400);
    REJECT(H11 "Content-Length: -1\r\n\r\n", 400);
    REJECT(H11 "Content-Length: 1 2\r\n\r\n", 400);
    REJECT(H11 "Content-Length: 0x10\r\n\r\n", 400);
    REJECT(H11 "Content-Length:\r\n\r\n", 400);
    REJECT(H11 "Content-Length: 00000000000000000001\r\n\r\n", 400);  /* 20 digits */
    REJECT(H11 "Content-Length: 9223372036854775808\r\n\r\n", 400);
    REJECT(H11 "Content-Length: 9999999999999999999\r\n\r\n", 400);
}

TEST(reject_transfer_encoding)
{
    REJECT(H11 "Transfer-Encoding: gzip, chunked\r\n\r\n", 501);
    REJECT(H11 "Transfer-Encoding: x-custom ,chunked\r\n\r\n", 501);
    REJECT(H11 "Transfer-Encoding: identity\r\n\r\n", 400);
    REJECT(H11 "Transfer-Encoding: gzip\r\n\r\n", 400);
    REJECT(H11 "Transfer-Encoding: chunked, chunked\r\n\r\n", 400);
    REJECT(H11 "Transfer-Encoding: chunked, gzip\r\n\r\n", 400);
    REJECT(H11 "Transfer-Encoding: chunked;x=y\r\n\r\n", 400);
    REJECT(H11 "Transfer-Encoding: , chunked\r\n\r\n", 400);
    REJECT(H11 "Transfer-Encoding: chunked,\r\n\r\n", 400);
    REJECT(H11 "Transfer-Encoding: chunkedx\r\n\r\n", 400);
    REJECT(H11 "Transfer-Encoding:\r\n\r\n", 400);
    REJECT(H11 "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", 400);
    REJECT(H11 "Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n", 400);
    REJECT("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400);
}

TEST(reject_smuggling_shapes)
{
    REJECT(H11 "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", 400);
    REJECT(H11 "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n", 400);
    REJECT(H11 "Transfer-Encoding: chunked\r\nContent-Length: 0\r\n\r\n", 400);
    REJECT(H11 "Content-Length: 5\r\nContent-Length: 5\r\n\r\n", 400);
    REJECT(H11 "Transfer-Encoding : chunked\r\n\r\n", 400);
    REJECT(H11 "Transfer-Encoding\t: chunked\r\n\r\n", 400);
    REJECT(H11 "Transfer-Encoding: chunked\rX: y\r\n\r\n", 400);
    REJECT(H11 "Transfer-Encoding: chunked\nContent-Length: 3\r\n\r\n", 400);
    REJECT(H11 "X: y\r\n Transfer-Encoding: chunked\r\n\r\n", 400);
    REJECT(H11 "Content-Length: 1, 1\r\n\r\n", 400);
    REJECT("GET / HTTP/1.1\nHost: a\nContent-Length: 5\n\n", 400);
}

/* ---- limits -------------------------------------------------------------------------- */

TEST(target_length_boundary)
{
    static char h[HF_HTTP_URL_MAX + 64];
    size_t n = 0;
    memcpy(h, "GET /", 5);
    n = 5;
    memset(h + n, 'a', HF_HTTP_URL_MAX - 1);
    n += HF_HTTP_URL_MAX - 1;
    const char *tail = " HTTP/1.1\r\nHost: a\r\n\r\n";
    memcpy(h + n, tail, strlen(tail));
    CHECK_EQ_INT(parse_n(h, n + strlen(tail), NULL), n + strlen(tail));
    CHECK_EQ_INT(req.target.n, HF_HTTP_URL_MAX);

    /* One more byte of target: 414, even before the line is complete. */
    h[n] = 'a';
    memcpy(h + n + 1, tail, strlen(tail));
    int st = 0;
    CHECK_EQ_INT(parse_n(h, n + 1 + strlen(tail), &st), HF_E_TOOBIG);
    CHECK_EQ_INT(st, 414);
    CHECK_EQ_INT(parse_n(h, n + 1, &st), HF_E_TOOBIG);
    CHECK_EQ_INT(st, 414);
    CHECK_EQ_INT(parse_n(h, n, &st), 0);
}

static size_t build_headers(char *h, int count)
{
    size_t n = (size_t)sprintf(h, "GET / HTTP/1.1\r\nHost: a\r\n");
    for (int i = 1; i < count; i++)
        n += (size_t)sprintf(h + n, "X-H%d: v\r\n", i);
    n += (size_t)sprintf(h + n, "\r\n");
    return n;
}

TEST(header_count_boundary)
{
    static char h[8192];
    size_t n = build_headers(h, HF_HTTP_HEADERS_MAX);
    CHECK_EQ_INT(parse_n(h, n, NULL), n);
    CHECK_EQ_INT(req.nheaders, HF_HTTP_HEADERS_MAX);
    CHECK(str_is(req.headers[HF_HTTP_HEADERS_MAX - 1].name, "X-H99"));

    n = build_headers(h, HF_HTTP_HEADERS_MAX + 1);
    check_reject_n(h, n, 431, __LINE__);
}

/* A head of exactly total bytes, padded with one long header value. */
static size_t build_sized(char *h, size_t total)
{
    const char *pre = "GET / HTTP/1.1\r\nHost: a\r\nX-Pad: ";
    size_t n = strlen(pre);
    memcpy(h, pre, n);
    size_t pad = total - n - 4;
    memset(h + n, 'p', pad);
    n += pad;
    memcpy(h + n, "\r\n\r\n", 4);
    return n + 4;
}

TEST(head_size_boundary)
{
    static char h[HF_HTTP_HEAD_MAX + 64];
    size_t n = build_sized(h, HF_HTTP_HEAD_MAX);
    CHECK_EQ_INT(n, HF_HTTP_HEAD_MAX);
    CHECK_EQ_INT(parse_n(h, n, NULL), HF_HTTP_HEAD_MAX);
    /* Body bytes beyond the limit do not matter. */
    memcpy(h + n, "BODY", 4);
    CHECK_EQ_INT(parse_n(h, n + 4, NULL), HF_HTTP_HEAD_MAX);
    /* Every prefix short of the limit is still incomplete. */
    CHECK_EQ_INT(parse_n(h, n - 1, NULL), 0);

    n = build_sized(h, HF_HTTP_HEAD_MAX + 1);
    int st = 0;
    CHECK_EQ_INT(parse_n(h, n, &st), HF_E_TOOBIG);
    CHECK_EQ_INT(st, 431);
    /* Incomplete at the limit: no byte to come can help. */
    CHECK_EQ_INT(parse_n(h, HF_HTTP_HEAD_MAX, &st), HF_E_TOOBIG);
    CHECK_EQ_INT(st, 431);
    CHECK_EQ_INT(parse_n(h, HF_HTTP_HEAD_MAX - 1, &st), 0);

    /* Endless empty lines are bounded too. */
    for (size_t i = 0; i < HF_HTTP_HEAD_MAX; i += 2)
        memcpy(h + i, "\r\n", 2);
    CHECK_EQ_INT(parse_n(h, HF_HTTP_HEAD_MAX - 2, &st), 0);
    CHECK_EQ_INT(parse_n(h, HF_HTTP_HEAD_MAX, &st), HF_E_TOOBIG);
    CHECK_EQ_INT(st, 431);
}

/* ---- chunked decoder ------------------------------------------------------------------ */

/* Feed in[0..n) in pieces of at most step bytes into an output of at most
 * ostep bytes per call. Returns the last return code; *outn gets the bytes
 * produced and *used the bytes consumed. */
static int feed(const char *in, size_t n, size_t step, size_t ostep, char *out, size_t outcap,
                size_t *outn, size_t *used, bool *done)
{
    hf_http_chunked_t c;
    hf_http_chunked_init(&c);
    size_t i = 0, o = 0;
    int rc = HF_OK;
    while (i < n && !hf_http_chunked_done(&c)) {
        size_t len = n - i < step ? n - i : step;
        size_t cap = outcap - o < ostep ? outcap - o : ostep;
        size_t con = 0, pro = 0;
        rc = hf_http_chunked_decode(&c, in + i, len, &con, out + o, cap, &pro);
        i += con;
        o += pro;
        if (rc != HF_OK)
            break;
        if (con == 0 && pro == 0)
            hf_test_fail(__FILE__, __LINE__, "no progress at input %zu", i);
    }
    *outn = o;
    *used = i;
    *done = hf_http_chunked_done(&c);
    return rc;
}

static int decode(const char *in, size_t n, char *out, size_t outcap, size_t *outn, bool *done)
{
    size_t used;
    return feed(in, n, n ? n : 1, outcap, out, outcap, outn, &used, done);
}

#define BODY_OK(in, want)                                                                  \
    do {                                                                                   \
        char out_[512];                                                                    \
        size_t on_ = 0, used_ = 0;                                                         \
        bool done_ = false;                                                                \
        CHECK_EQ_INT(feed((in), strlen(in), strlen(in), sizeof out_, out_, sizeof out_,    \
                          &on_, &used_, &done_),                                           \
                     HF_OK);                                                               \
        CHECK(done_);                                                                      \
        CHECK_EQ_INT(used_, strlen(in));                                                   \
        CHECK_EQ_INT(on_, strlen(want));                                                   \
        CHECK_EQ_MEM(out_, (want), on_);                                                   \
    } while (0)

#define BODY_BAD(in)                                                                       \
    do {                                                                                   \
        char out_[512];                                                                    \
        size_t on_ = 0;                                                                    \
        bool done_ = false;                                                                \
        CHECK_EQ_INT(decode((in), strlen(in), out_, sizeof out_, &on_, &done_),            \
                     HF_E_PROTO);                                                          \
        CHECK(!done_);                                                                     \
    } while (0)

TEST(chunked_normal)
{
    BODY_OK("5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", "hello world");
    BODY_OK("0\r\n\r\n", "");
    BODY_OK("a\r\n0123456789\r\nA\r\nabcdefghij\r\n0\r\n\r\n", "0123456789abcdefghij");
    BODY_OK("00000000000001\r\nx\r\n000\r\n\r\n", "x");
    BODY_OK("000000000000001\r\nx\r\n0\r\n\r\n", "x"); /* 15 digits */
}

TEST(chunked_stops_at_end)
{
    const char *in = "3\r\nabc\r\n0\r\n\r\nGET / HTTP/1.1\r\n";
    char out[64];
    size_t on = 0, used = 0;
    bool done = false;
    CHECK_EQ_INT(feed(in, strlen(in), strlen(in), sizeof out, out, sizeof out, &on, &used, &done),
                 HF_OK);
    CHECK(done);
    CHECK_EQ_INT(used, 13);
    CHECK_EQ_INT(on, 3);

    /* Once done, nothing more is consumed. */
    hf_http_chunked_t c;
    hf_http_chunked_init(&c);
    size_t con = 0, pro = 0;
    CHECK_EQ_INT(hf_http_chunked_decode(&c, in, strlen(in), &con, out, sizeof out, &pro), HF_OK);
    CHECK_EQ_INT(con, 13);
    CHECK(hf_http_chunked_done(&c));
    CHECK_EQ_INT(hf_http_chunked_decode(&c, in + con, 5, &con, out, sizeof out, &pro), HF_OK);
    CHECK_EQ_INT(con, 0);
    CHECK_EQ_INT(pro, 0);
}

TEST(chunked_extensions)
{
    BODY_OK("5;name=value\r\nhello\r\n0;last\r\n\r\n", "hello");
    BODY_OK("5;a=\"quoted ; text\";b\r\nhello\r\n0\r\n\r\n", "hello");
    BODY_OK("5 ;a=b\r\nhello\r\n0\t;x\r\n\r\n", "hello");
    BODY_OK("5;chunk-signature=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
            "\r\nhello\r\n0;chunk-signature=0123456789abcdef0123456789abcdef0123456789abcdef"
            "0123456789abcdef\r\n\r\n",
            "hello");
}

TEST(chunked_trailers)
{
    BODY_OK("5\r\nhello\r\n0\r\nx-amz-checksum-crc32: sOO8/Q==\r\nX-T:v\r\n\r\n", "hello");
    BODY_OK("0\r\nX-Empty:\r\n\r\n", "");
    BODY_BAD("0\r\n bad: fold\r\n\r\n");
    BODY_BAD("0\r\nNoColon\r\n\r\n");
    BODY_BAD("0\r\nX : v\r\n\r\n");
    BODY_BAD("0\r\nX: v\n\r\n");
    BODY_BAD("0\r\nX: a\rb\r\n\r\n");
    BODY_BAD("0\r\nX: a\x01\r\n\r\n");
    BODY_BAD("0\r\n\n");
    BODY_BAD("0\r\n\r\r");
}

TEST(chunked_malformed_sizes)
{
    BODY_BAD("\r\nhello\r\n0\r\n\r\n");
    BODY_BAD("g\r\n");
    BODY_BAD("-5\r\nhello\r\n0\r\n\r\n");
    BODY_BAD("+5\r\nhello\r\n0\r\n\r\n");
    BODY_BAD("0x5\r\nhello\r\n0\r\n\r\n");
    BODY_BAD("5x\r\nhello\r\n0\r\n\r\n");
    BODY_BAD(" 5\r\nhello\r\n0\r\n\r\n");
    BODY_BAD("5 \r\nhello\r\n0\r\n\r\n");
    BODY_BAD("5 x\r\nhello\r\n0\r\n\r\n");
    BODY_BAD(";x\r\nhello\r\n0\r\n\r\n");
    BODY_BAD("0000000000000005\r\nhello\r\n0\r\n\r\n"); /* 16 digits */
    BODY_BAD("10000000000000000\r\n");
    BODY_BAD("5\nhello\r\n0\r\n\r\n");
    BODY_BAD("5\rhello\r\n0\r\n\r\n");
    BODY_BAD("5;a\nb\r\nhello\r\n0\r\n\r\n");
    BODY_BAD("5;a\x01\r\nhello\r\n0\r\n\r\n");
    BODY_BAD("5;a\rb\r\nhello\r\n0\r\n\r\n");
}

TEST(chunked_missing_crlf_after_data)
{
    BODY_BAD("5\r\nhelloX\r\n0\r\n\r\n");
    BODY_BAD("5\r\nhello\n0\r\n\r\n");
    BODY_BAD("5\r\nhello\r0\r\n\r\n");
    BODY_BAD("5\r\nhello0\r\n\r\n");
    BODY_BAD("5\r\nhello world\r\n0\r\n\r\n");
    BODY_BAD("3\r\nabc\r\n\r\n0\r\n\r\n");
}

TEST(chunked_error_is_sticky)
{
    hf_http_chunked_t c;
    hf_http_chunked_init(&c);
    char out[16];
    size_t con = 0, pro = 0;
    CHECK_EQ_INT(hf_http_chunked_decode(&c, "z", 1, &con, out, sizeof out, &pro), HF_E_PROTO);
    CHECK_EQ_INT(con, 0);
    CHECK_EQ_INT(hf_http_chunked_decode(&c, "0\r\n\r\n", 5, &con, out, sizeof out, &pro),
                 HF_E_PROTO);
    CHECK(!hf_http_chunked_done(&c));
}

TEST(chunked_line_limits)
{
    static char in[HF_HTTP_TRAILER_MAX * 2];
    char out[16];
    size_t on = 0;
    bool done = false;

    /* Size line (digits and extensions, before CRLF) of exactly the limit. */
    size_t n = (size_t)sprintf(in, "1;");
    memset(in + n, 'e', HF_HTTP_CHUNK_LINE_MAX - 2);
    n += HF_HTTP_CHUNK_LINE_MAX - 2;
    n += (size_t)sprintf(in + n, "\r\nx\r\n0\r\n\r\n");
    CHECK_EQ_INT(decode(in, n, out, sizeof out, &on, &done), HF_OK);
    CHECK(done);
    CHECK_EQ_INT(on, 1);
    /* One byte longer. */
    n = (size_t)sprintf(in, "1;");
    memset(in + n, 'e', HF_HTTP_CHUNK_LINE_MAX - 1);
    n += HF_HTTP_CHUNK_LINE_MAX - 1;
    n += (size_t)sprintf(in + n, "\r\nx\r\n0\r\n\r\n");
    CHECK_EQ_INT(decode(in, n, out, sizeof out, &on, &done), HF_E_PROTO);

    /* Trailer line of exactly the limit, and one longer. */
    n = (size_t)sprintf(in, "0\r\nX:");
    memset(in + n, 'v', HF_HTTP_CHUNK_LINE_MAX - 2);
    n += HF_HTTP_CHUNK_LINE_MAX - 2;
    n += (size_t)sprintf(in + n, "\r\n\r\n");
    CHECK_EQ_INT(decode(in, n, out, sizeof out, &on, &done), HF_OK);
    CHECK(done);
    n = (size_t)sprintf(in, "0\r\nX:");
    memset(in + n, 'v', HF_HTTP_CHUNK_LINE_MAX - 1);
    n += HF_HTTP_CHUNK_LINE_MAX - 1;
    n += (size_t)sprintf(in + n, "\r\n\r\n");
    CHECK_EQ_INT(decode(in, n, out, sizeof out, &on, &done), HF_E_PROTO);

    /* Trailer section: lines of 100 bytes plus CRLF, then the final CRLF,
     * filled to exactly HF_HTTP_TRAILER_MAX and then one byte over. */
    for (int over = 0; over <= 1; over++) {
        n = (size_t)sprintf(in, "0\r\n");
        size_t sec = 0, want = HF_HTTP_TRAILER_MAX + (size_t)over - 2; /* minus final CRLF */
        while (sec < want) {
            size_t line = want - sec >= 102 + 3 ? 100 : want - sec - 2;
            in[n++] = 'T';
            in[n++] = ':';
            memset(in + n, 'v', line - 2);
            n += line - 2;
            in[n++] = '\r';
            in[n++] = '\n';
            sec += line + 2;
        }
        CHECK_EQ_INT(sec, want);
        in[n++] = '\r';
        in[n++] = '\n';
        CHECK_EQ_INT(decode(in, n, out, sizeof out, &on, &done), over ? HF_E_PROTO : HF_OK);
        CHECK_EQ_INT(done, !over);
    }
}

TEST(chunked_large_size)
{
    hf_http_chunked_t c;
    hf_http_chunked_init(&c);
    char out[8];
    size_t con = 0, pro = 0;
    CHECK_EQ_INT(hf_http_chunked_decode(&c, "FFFFFFFFFFFFFFF\r\nabcdefghij", 27, &con, out,
                                        sizeof out, &pro),
                 HF_OK);
    CHECK_EQ_INT(con, 25);
    CHECK_EQ_INT(pro, 8);
    CHECK_EQ_INT(c.remaining, 0xFFFFFFFFFFFFFFFULL - 8);
    CHECK_EQ_MEM(out, "abcdefgh", 8);
    /* A full output makes no progress inside data, and that is not an error. */
    CHECK_EQ_INT(hf_http_chunked_decode(&c, "ij", 2, &con, out, 0, &pro), HF_OK);
    CHECK_EQ_INT(con, 0);
    CHECK_EQ_INT(pro, 0);
    CHECK(!hf_http_chunked_done(&c));
}

TEST(chunked_split_everywhere)
{
    const char *in = "1a;ext=\"v\"\r\nabcdefghijklmnopqrstuvwxyz\r\n"
                     "3 ;x\r\n\r\n\r\r\n"
                     "1\r\n0\r\n"
                     "0;end\r\nx-amz-checksum-crc32c: AAAAAA==\r\nX: y\r\n\r\n";
    const char want[] = "abcdefghijklmnopqrstuvwxyz\r\n\r0";
    size_t n = strlen(in);
    char out[128];
    size_t on = 0, used = 0;
    bool done = false;

    /* Every single split point. */
    for (size_t k = 0; k <= n; k++) {
        hf_http_chunked_t c;
        hf_http_chunked_init(&c);
        size_t con1 = 0, pro1 = 0, con2 = 0, pro2 = 0;
        CHECK_EQ_INT(hf_http_chunked_decode(&c, in, k, &con1, out, sizeof out, &pro1), HF_OK);
        CHECK_EQ_INT(con1, k);
        CHECK_EQ_INT(hf_http_chunked_decode(&c, in + k, n - k, &con2, out + pro1,
                                            sizeof out - pro1, &pro2),
                     HF_OK);
        CHECK_EQ_INT(con1 + con2, n);
        CHECK_EQ_INT(pro1 + pro2, sizeof want - 1);
        CHECK_EQ_MEM(out, want, sizeof want - 1);
        CHECK(hf_http_chunked_done(&c));
    }
    /* Every pair of split points. */
    for (size_t a = 0; a <= n; a++) {
        for (size_t b = a; b <= n; b++) {
            hf_http_chunked_t c;
            hf_http_chunked_init(&c);
            size_t cuts[4] = {0, a, b, n}, o = 0;
            for (int p = 0; p < 3; p++) {
                size_t con = 0, pro = 0;
                CHECK_EQ_INT(hf_http_chunked_decode(&c, in + cuts[p], cuts[p + 1] - cuts[p], &con,
                                                    out + o, sizeof out - o, &pro),
                             HF_OK);
                CHECK_EQ_INT(con, cuts[p + 1] - cuts[p]);
                o += pro;
            }
            CHECK_EQ_INT(o, sizeof want - 1);
            CHECK_EQ_MEM(out, want, o);
            CHECK(hf_http_chunked_done(&c));
        }
    }
    /* One byte in and one byte out at a time. */
    CHECK_EQ_INT(feed(in, n, 1, 1, out, sizeof out, &on, &used, &done), HF_OK);
    CHECK(done);
    CHECK_EQ_INT(used, n);
    CHECK_EQ_INT(on, sizeof want - 1);
    CHECK_EQ_MEM(out, want, on);
    /* Larger input steps against a small output. */
    for (size_t step = 2; step <= n; step++) {
        CHECK_EQ_INT(feed(in, n, step, 3, out, sizeof out, &on, &used, &done), HF_OK);
        CHECK(done);
        CHECK_EQ_INT(on, sizeof want - 1);
        CHECK_EQ_MEM(out, want, on);
    }
}

TEST(chunked_malformed_split_everywhere)
{
    /* A framing error is found wherever the input is cut. */
    const char *in = "5\r\nhello\r\n3\r\nabcX\r\n0\r\n\r\n";
    size_t n = strlen(in);
    for (size_t k = 0; k <= n; k++) {
        hf_http_chunked_t c;
        hf_http_chunked_init(&c);
        char out[32];
        size_t con1 = 0, pro1 = 0, con2 = 0, pro2 = 0;
        int rc1 = hf_http_chunked_decode(&c, in, k, &con1, out, sizeof out, &pro1);
        int rc2 = rc1 == HF_OK ? hf_http_chunked_decode(&c, in + con1, n - con1, &con2,
                                                          out + pro1, sizeof out - pro1, &pro2)
                               : rc1;
        CHECK_EQ_INT(rc2, HF_E_PROTO);
        CHECK_EQ_INT(pro1 + pro2, 8);
        CHECK_EQ_INT(con1 + con2, 16); /* stopped on the 'X' */
        CHECK(!hf_http_chunked_done(&c));
    }
}

/* ---- reason phrases ----------------------------------------------------------------------- */

TEST(reason_phrases)
{
    CHECK_EQ_STR(hf_http_reason(100), "Continue");
    CHECK_EQ_STR(hf_http_reason(200), "OK");
    CHECK_EQ_STR(hf_http_reason(204), "No Content");
    CHECK_EQ_STR(hf_http_reason(206), "Partial Content");
    CHECK_EQ_STR(hf_http_reason(304), "Not Modified");
    CHECK_EQ_STR(hf_http_reason(400), "Bad Request");
    CHECK_EQ_STR(hf_http_reason(403), "Forbidden");
    CHECK_EQ_STR(hf_http_reason(404), "Not Found");
    CHECK_EQ_STR(hf_http_reason(405), "Method Not Allowed");
    CHECK_EQ_STR(hf_http_reason(408), "Request Timeout");
    CHECK_EQ_STR(hf_http_reason(409), "Conflict");
    CHECK_EQ_STR(hf_http_reason(411), "Length Required");
    CHECK_EQ_STR(hf_http_reason(412), "Precondition Failed");
    CHECK_EQ_STR(hf_http_reason(413), "Content Too Large");
    CHECK_EQ_STR(hf_http_reason(414), "URI Too Long");
    CHECK_EQ_STR(hf_http_reason(416), "Range Not Satisfiable");
    CHECK_EQ_STR(hf_http_reason(417), "Expectation Failed");
    CHECK_EQ_STR(hf_http_reason(431), "Request Header Fields Too Large");
    CHECK_EQ_STR(hf_http_reason(500), "Internal Server Error");
    CHECK_EQ_STR(hf_http_reason(501), "Not Implemented");
    CHECK_EQ_STR(hf_http_reason(503), "Service Unavailable");
    CHECK_EQ_STR(hf_http_reason(505), "HTTP Version Not Supported");
    CHECK_EQ_STR(hf_http_reason(507), "Insufficient Storage");
    CHECK_EQ_STR(hf_http_reason(499), "Client Error");
    CHECK_EQ_STR(hf_http_reason(599), "Server Error");
    CHECK_EQ_STR(hf_http_reason(0), "Server Error");
}

HF_TEST_MAIN("unit/net")
