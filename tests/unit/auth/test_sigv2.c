/* Unit tests for src/auth/sigv2.c: the examples of AWS's S3 developer guide
 * ("Signing and authenticating REST requests", with the guide's original
 * bucket johnsmith, for which its signatures were computed), requests as
 * botocore and s3cmd sign them, and every failure status. */
#include "test.h"

#include "req.h"

#include "auth/sigv2.h"
#include "auth/sigv4.h"
#include "base/buf.h"
#include "base/err.h"
#include "base/hash.h"
#include "base/str.h"

#define AK "AKIAIOSFODNN7EXAMPLE"
#define SK "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
#define T_GET 1175024202    /* Tue, 27 Mar 2007 19:36:42 GMT */
#define T_PUT 1175030145    /* Tue, 27 Mar 2007 21:15:45 GMT */
#define T_LIST 1175024561   /* Tue, 27 Mar 2007 19:42:41 GMT */
#define T_ACL 1175024686    /* Tue, 27 Mar 2007 19:44:46 GMT */
#define T_DELETE 1175030426 /* Tue, 27 Mar 2007 21:20:26 GMT */
#define T_UPLOAD 1175029568 /* Tue, 27 Mar 2007 21:06:08 GMT */
#define T_SVC 1175045399    /* Wed, 28 Mar 2007 01:29:59 GMT */
#define T_UNI 1175046589    /* Wed, 28 Mar 2007 01:49:49 GMT */
#define T_2026 1796680000


/* parse + verify with the guide's secret; *sts gets the string to sign. */
static int check(const char *method, const char *path, const char *query, const kv_t *h,
                 const char *vbucket, int64_t now, char *sts, size_t stscap, char *msg,
                 size_t cap)
{
    hf_http_header_t arr[32];
    hf_sigv4_input_t in = mkreq(arr, method, path, query, h);
    hf_sigv2_t a;
    if (sts && stscap)
        sts[0] = '\0';
    int st = hf_sigv2_parse(&in, &a, msg, cap);
    if (st)
        return st;
    hf_buf_t b;
    hf_buf_init(&b, 65536);
    st = hf_sigv2_verify(&in, vbucket, &a, SK, now, &b, msg, cap);
    if (sts && stscap && b.data)
        snprintf(sts, stscap, "%.*s", (int)b.len, b.data);
    hf_buf_free(&b);
    return st;
}

static int status(const char *method, const char *path, const char *query, const kv_t *h,
                  int64_t now)
{
    char msg[256];
    return check(method, path, query, h, NULL, now, NULL, 0, msg, sizeof msg);
}

static bool contains(const char *hay, const char *needle)
{
    return strstr(hay, needle) != NULL;
}

/* ---- HMAC-SHA1 and the signature encoding ---------------------------------- */

TEST(hmac_sha1_rfc2202)
{
    unsigned char mac[HF_SHA1_LEN];
    char hex[41];
    const char *d = "what do ya want for nothing?";
    hf_hmac_sha1("Jefe", 4, d, strlen(d), mac);
    hf_hex_encode(hex, mac, sizeof mac);
    CHECK_EQ_STR(hex, "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79");
    /* RFC 2202 test case 1: key 0x0b x 20, "Hi There". */
    unsigned char key[20];
    memset(key, 0x0b, sizeof key);
    hf_hmac_sha1(key, sizeof key, "Hi There", 8, mac);
    hf_hex_encode(hex, mac, sizeof mac);
    CHECK_EQ_STR(hex, "b617318655057264e28bc0b6fb378c8ef146be00");
}

TEST(sign_is_base64_of_hmac_sha1)
{
    char sig[HF_SIGV2_SIG_LEN + 1];
    hf_sigv2_sign(SK, "GET\n\n\nTue, 27 Mar 2007 19:36:42 +0000\n/johnsmith/photos/puppy.jpg",
                  strlen("GET\n\n\nTue, 27 Mar 2007 19:36:42 +0000\n/johnsmith/photos/puppy.jpg"),
                  sig);
    CHECK_EQ_STR(sig, "bWq2s1WEIj+Ydj0vQ697zp+IXMU=");
    CHECK_EQ_INT(strlen(sig), HF_SIGV2_SIG_LEN);
}

/* ---- the guide's examples ---------------------------------------------------- */

TEST(aws_example_object_get_virtual_hosted)
{
    static const kv_t h[] = {{"Host", "johnsmith.s3.amazonaws.com"},
                             {"Date", "Tue, 27 Mar 2007 19:36:42 +0000"},
                             {"Authorization", "AWS " AK ":bWq2s1WEIj+Ydj0vQ697zp+IXMU="},
                             {NULL, NULL}};
    char sts[512], msg[256];
    CHECK_EQ_INT(check("GET", "/photos/puppy.jpg", "", h, "johnsmith", T_GET, sts, sizeof sts, msg,
                       sizeof msg),
                 HF_AUTH_OK);
    CHECK_EQ_STR(sts, "GET\n\n\nTue, 27 Mar 2007 19:36:42 +0000\n/johnsmith/photos/puppy.jpg");
    /* "Note that the CanonicalizedResource includes the bucket name, but the
     * HTTP Request-URI does not": without it, the signature cannot match. */
    CHECK_EQ_INT(check("GET", "/photos/puppy.jpg", "", h, NULL, T_GET, sts, sizeof sts, msg,
                       sizeof msg),
                 HF_AUTH_ERR_SIGNATURE);
    /* The same request path style: /johnsmith/photos/puppy.jpg. */
    CHECK_EQ_INT(check("GET", "/johnsmith/photos/puppy.jpg", "", h, NULL, T_GET, sts, sizeof sts,
                       msg, sizeof msg),
                 HF_AUTH_OK);
}

TEST(aws_example_object_put)
{
    static const kv_t h[] = {{"Content-Type", "image/jpeg"},
                             {"Content-Length", "94328"},
                             {"Host", "johnsmith.s3.amazonaws.com"},
                             {"Date", "Tue, 27 Mar 2007 21:15:45 +0000"},
                             {"Authorization", "AWS " AK ":MyyxeRY7whkBe+bq8fHCL/2kKUg="},
                             {NULL, NULL}};
    char sts[512], msg[256];
    CHECK_EQ_INT(check("PUT", "/photos/puppy.jpg", "", h, "johnsmith", T_PUT, sts, sizeof sts, msg,
                       sizeof msg),
                 HF_AUTH_OK);
    CHECK_EQ_STR(sts, "PUT\n\nimage/jpeg\nTue, 27 Mar 2007 21:15:45 +0000\n/johnsmith/photos/puppy.jpg");
}

TEST(aws_example_list_and_acl)
{
    /* "Note the trailing slash on the CanonicalizedResource and the absence
     * of query string parameters." */
    static const kv_t list[] = {{"User-Agent", "Mozilla/5.0"},
                                {"Host", "johnsmith.s3.amazonaws.com"},
                                {"Date", "Tue, 27 Mar 2007 19:42:41 +0000"},
                                {"Authorization", "AWS " AK ":htDYFYduRNen8P9ZfE/s9SuKy0U="},
                                {NULL, NULL}};
    char sts[512], msg[256];
    CHECK_EQ_INT(check("GET", "/", "prefix=photos&max-keys=50&marker=puppy", list, "johnsmith",
                       T_LIST, sts, sizeof sts, msg, sizeof msg),
                 HF_AUTH_OK);
    CHECK_EQ_STR(sts, "GET\n\n\nTue, 27 Mar 2007 19:42:41 +0000\n/johnsmith/");
    /* Path style, as botocore signs "/johnsmith" (bucket only): "/johnsmith/". */
    CHECK_EQ_INT(check("GET", "/johnsmith", "prefix=photos&max-keys=50&marker=puppy", list, NULL,
                       T_LIST, sts, sizeof sts, msg, sizeof msg),
                 HF_AUTH_OK);

    /* "Notice how the subresource query string parameter is included." */
    static const kv_t acl[] = {{"Host", "johnsmith.s3.amazonaws.com"},
                               {"Date", "Tue, 27 Mar 2007 19:44:46 +0000"},
                               {"Authorization", "AWS " AK ":c2WLPFtWHVgbEmeEG93a4cG37dM="},
                               {NULL, NULL}};
    CHECK_EQ_INT(check("GET", "/", "acl", acl, "johnsmith", T_ACL, sts, sizeof sts, msg,
                       sizeof msg),
                 HF_AUTH_OK);
    CHECK_EQ_STR(sts, "GET\n\n\nTue, 27 Mar 2007 19:44:46 +0000\n/johnsmith/?acl");
}

TEST(aws_example_delete_with_x_amz_date)
{
    /* The guide prints the string to sign with the x-amz-date value in the
     * Date position and no x-amz-date line, and its signature is over that
     * string; the rule it states ("use the empty string for the Date",
     * x-amz-date among the x-amz-* headers) gives another string, which is
     * what clients sign and what we verify (see sigv2.c). */
    char sig[HF_SIGV2_SIG_LEN + 1];
    const char *printed = "DELETE\n\n\nTue, 27 Mar 2007 21:20:26 +0000\n/johnsmith/photos/puppy.jpg";
    hf_sigv2_sign(SK, printed, strlen(printed), sig);
    CHECK_EQ_STR(sig, "lx3byBScXR6KzyMaifNkardMwNk=");

    const char *rule =
        "DELETE\n\n\n\nx-amz-date:Tue, 27 Mar 2007 21:20:26 +0000\n/johnsmith/photos/puppy.jpg";
    char auth[64];
    hf_sigv2_sign(SK, rule, strlen(rule), sig);
    snprintf(auth, sizeof auth, "AWS " AK ":%s", sig);
    kv_t h[] = {{"User-Agent", "dotnet"},
                {"Host", "s3.amazonaws.com"},
                {"Date", "Tue, 27 Mar 2007 21:20:27 +0000"},
                {"x-amz-date", "Tue, 27 Mar 2007 21:20:26 +0000"},
                {"Authorization", auth},
                {NULL, NULL}};
    char sts[512], msg[256];
    CHECK_EQ_INT(check("DELETE", "/johnsmith/photos/puppy.jpg", "", h, NULL, T_DELETE, sts,
                       sizeof sts, msg, sizeof msg),
                 HF_AUTH_OK);
    CHECK_EQ_STR(sts, rule);
}

TEST(aws_example_upload_cname_with_metadata)
{
    /* "Notice how the 'x-amz-' headers are sorted, trimmed of whitespace,
     * and converted to lowercase ... multiple headers with the same name
     * have been joined using commas"; "only the Content-Type and Content-MD5
     * HTTP entity headers appear in the StringToSign". */
    static const kv_t h[] = {{"User-Agent", "curl/7.15.5"},
                             {"Host", "static.johnsmith.net:8080"},
                             {"Date", "Tue, 27 Mar 2007 21:06:08 +0000"},
                             {"x-amz-acl", "public-read"},
                             {"content-type", "application/x-download"},
                             {"Content-MD5", "4gJE4saaMU4BqNR0kLY+lw=="},
                             {"X-Amz-Meta-ReviewedBy", "joe@johnsmith.net"},
                             {"X-Amz-Meta-ReviewedBy", "jane@johnsmith.net"},
                             {"X-Amz-Meta-FileChecksum", "0x02661779"},
                             {"X-Amz-Meta-ChecksumAlgorithm", "crc32"},
                             {"Content-Disposition", "attachment; filename=database.dat"},
                             {"Content-Encoding", "gzip"},
                             {"Content-Length", "5913339"},
                             {"Authorization", "AWS " AK ":ilyl83RwaSoYIEdixDQcA4OnAnc="},
                             {NULL, NULL}};
    char sts[1024], msg[256];
    CHECK_EQ_INT(check("PUT", "/db-backup.dat.gz", "", h, "static.johnsmith.net", T_UPLOAD, sts,
                       sizeof sts, msg, sizeof msg),
                 HF_AUTH_OK);
    CHECK_EQ_STR(sts, "PUT\n4gJE4saaMU4BqNR0kLY+lw==\napplication/x-download\n"
                      "Tue, 27 Mar 2007 21:06:08 +0000\nx-amz-acl:public-read\n"
                      "x-amz-meta-checksumalgorithm:crc32\nx-amz-meta-filechecksum:0x02661779\n"
                      "x-amz-meta-reviewedby:joe@johnsmith.net,jane@johnsmith.net\n"
                      "/static.johnsmith.net/db-backup.dat.gz");
}

TEST(aws_example_list_buckets_and_unicode_keys)
{
    static const kv_t svc[] = {{"Host", "s3.amazonaws.com"},
                               {"Date", "Wed, 28 Mar 2007 01:29:59 +0000"},
                               {"Authorization", "AWS " AK ":qGdzdERIC03wnaRNKh6OqZehG9s="},
                               {NULL, NULL}};
    char sts[512], msg[256];
    CHECK_EQ_INT(check("GET", "/", "", svc, NULL, T_SVC, sts, sizeof sts, msg, sizeof msg),
                 HF_AUTH_OK);
    CHECK_EQ_STR(sts, "GET\n\n\nWed, 28 Mar 2007 01:29:59 +0000\n/");
    /* "The elements in StringToSign that were derived from the Request-URI
     * are taken literally, including URL-Encoding and capitalization." */
    static const kv_t uni[] = {{"Host", "s3.amazonaws.com"},
                               {"Date", "Wed, 28 Mar 2007 01:49:49 +0000"},
                               {"Authorization", "AWS " AK ":DNEZGsoieTZ92F3bUfSPQcbGmlM="},
                               {NULL, NULL}};
    CHECK_EQ_INT(check("GET", "/dictionary/fran%C3%A7ais/pr%c3%a9f%c3%a8re", "", uni, NULL, T_UNI,
                       sts, sizeof sts, msg, sizeof msg),
                 HF_AUTH_OK);
    CHECK_EQ_STR(sts, "GET\n\n\nWed, 28 Mar 2007 01:49:49 +0000\n"
                      "/dictionary/fran%C3%A7ais/pr%c3%a9f%c3%a8re");
    /* The same key encoded otherwise is another string to sign. */
    CHECK_EQ_INT(check("GET", "/dictionary/fran%c3%a7ais/pr%c3%a9f%c3%a8re", "", uni, NULL, T_UNI,
                       sts, sizeof sts, msg, sizeof msg),
                 HF_AUTH_ERR_SIGNATURE);
}

TEST(aws_example_query_string_auth)
{
    static const kv_t h[] = {{"Host", "johnsmith.s3.amazonaws.com"}, {NULL, NULL}};
    const char *q = "AWSAccessKeyId=" AK "&Signature=NpgCjnDzrM%2BWFzoENXmpNDUsSn8%3D&"
                    "Expires=1175139620";
    char sts[512], msg[256];
    CHECK_EQ_INT(check("GET", "/photos/puppy.jpg", q, h, "johnsmith", 1175139620, sts, sizeof sts,
                       msg, sizeof msg),
                 HF_AUTH_OK);
    CHECK_EQ_STR(sts, "GET\n\n\n1175139620\n/johnsmith/photos/puppy.jpg");
    /* "A request received after this time (according to the server) will
     * be rejected": one second later, and years before still fine (the
     * skew rule does not apply to query authentication). */
    CHECK_EQ_INT(check("GET", "/photos/puppy.jpg", q, h, "johnsmith", 1175139621, sts, sizeof sts,
                       msg, sizeof msg),
                 HF_AUTH_ERR_EXPIRED);
    CHECK_EQ_STR(msg, "Request has expired");
    CHECK_EQ_INT(check("GET", "/photos/puppy.jpg", q, h, "johnsmith", 1000000000, sts, sizeof sts,
                       msg, sizeof msg),
                 HF_AUTH_OK);
}

/* ---- what clients send ---------------------------------------------------------- */

/* Sign what this implementation canonicalises and put the signature in the
 * Authorization header: the round trip must verify. */
static int roundtrip(const char *method, const char *path, const char *query, kv_t *h, int nh,
                     const char *vbucket, int64_t now, char *sts, size_t stscap)
{
    hf_http_header_t arr[32];
    hf_sigv4_input_t in = mkreq(arr, method, path, query, h);
    hf_buf_t b;
    hf_buf_init(&b, 65536);
    if (hf_sigv2_string_to_sign(&in, vbucket, NULL, &b) != HF_OK)
        return -1;
    char sig[HF_SIGV2_SIG_LEN + 1];
    static char auth[64];
    hf_sigv2_sign(SK, b.data, b.len, sig);
    hf_buf_free(&b);
    snprintf(auth, sizeof auth, "AWS " AK ":%s", sig);
    h[nh] = (kv_t){"Authorization", auth};
    char msg[256];
    return check(method, path, query, h, vbucket, now, sts, stscap, msg, sizeof msg);
}

TEST(subresources_sorted_decoded_and_filtered)
{
    kv_t h[8] = {{"Host", "b.example"}, {"Date", "Mon, 07 Dec 2026 10:00:00 GMT"}};
    char sts[1024];
    /* botocore: values decoded, sorted by name, non-sub-resources dropped;
     * "?name" without '=' stays bare, "name=" keeps its '='. */
    CHECK_EQ_INT(roundtrip("GET", "/bucket/k%20ey",
                           "versionId=abc&response-content-type=text%2Fx%20y&prefix=p&"
                           "partNumber=2&uploads&list-type=2&tagging=",
                           h, 2, NULL, 1796637600, sts, sizeof sts),
                 HF_AUTH_OK);
    CHECK_EQ_STR(sts, "GET\n\n\nMon, 07 Dec 2026 10:00:00 GMT\n/bucket/k%20ey?partNumber=2&"
                      "response-content-type=text/x y&tagging=&uploads&versionId=abc");
    /* Every name in botocore's list is signed. */
    const char *names[] = {"accelerate", "acl", "analytics", "cors", "delete", "inventory",
                           "lifecycle", "location", "logging", "metrics", "notification",
                           "object-lock", "policy", "replication", "requestPayment", "restore",
                           "select", "select-type", "torrent", "uploadId", "versioning",
                           "versions", "website", "response-expires", "response-cache-control",
                           "response-content-disposition", "response-content-encoding",
                           "response-content-language", NULL};
    for (int i = 0; names[i]; i++) {
        char want[256];
        CHECK_EQ_INT(roundtrip("GET", "/bucket", names[i], h, 2, NULL, 1796637600, sts, sizeof sts),
                     HF_AUTH_OK);
        snprintf(want, sizeof want, "/bucket/?%s", names[i]);
        CHECK(contains(sts, want));
    }
    /* Not sub-resources: never in the string (nobody signs them). */
    const char *others[] = {"list-type=2", "retention", "legal-hold", "attributes",
                            "ownershipControls", "encryption", "prefix=a", NULL};
    for (int i = 0; others[i]; i++) {
        CHECK_EQ_INT(roundtrip("GET", "/bucket/key", others[i], h, 2, NULL, 1796637600, sts,
                               sizeof sts),
                     HF_AUTH_OK);
        CHECK(!contains(sts, "?"));
    }
}

TEST(virtual_hosted_resource_and_bucket_paths)
{
    kv_t h[8] = {{"Host", "photos.s3.example"}, {"Date", "Mon, 07 Dec 2026 10:00:00 GMT"}};
    char sts[512];
    CHECK_EQ_INT(roundtrip("PUT", "/", "", h, 2, "photos", 1796637600, sts, sizeof sts), HF_AUTH_OK);
    CHECK(contains(sts, "\n/photos/"));
    CHECK_EQ_INT(roundtrip("GET", "/a/b", "acl", h, 2, "my.dotted.bucket", 1796637600, sts,
                           sizeof sts),
                 HF_AUTH_OK);
    CHECK(contains(sts, "\n/my.dotted.bucket/a/b?acl"));
    /* Path style: "/bucket" and "/bucket/" sign alike, objects as sent. */
    CHECK_EQ_INT(roundtrip("PUT", "/photos", "", h, 2, NULL, 1796637600, sts, sizeof sts), HF_AUTH_OK);
    CHECK(contains(sts, "\n/photos/"));
    CHECK_EQ_INT(roundtrip("PUT", "/photos/", "", h, 2, NULL, 1796637600, sts, sizeof sts), HF_AUTH_OK);
    CHECK(contains(sts, "\n/photos/"));
    CHECK_EQ_INT(roundtrip("GET", "/", "", h, 2, NULL, 1796637600, sts, sizeof sts), HF_AUTH_OK);
    CHECK(contains(sts, "GMT\n/"));
}

TEST(amz_headers_and_dates_as_clients_send_them)
{
    /* s3cmd: x-amz-date with a numeric zone and no Date; the date line is
     * empty and x-amz-date is signed among the x-amz-* headers. */
    kv_t h[8] = {{"x-amz-date", "Mon, 07 Dec 2026 10:00:00 +0000"},
                 {"X-Amz-Meta-A", "  two  spaces  "},
                 {"x-amz-meta-a", "second"},
                 {"content-md5", " 1B2M2Y8AsgTpgAmY7PhCfg== "}};
    char sts[512];
    CHECK_EQ_INT(roundtrip("PUT", "/b/k", "", h, 4, NULL, 1796637600, sts, sizeof sts), HF_AUTH_OK);
    CHECK_EQ_STR(sts, "PUT\n1B2M2Y8AsgTpgAmY7PhCfg==\n\n\nx-amz-date:Mon, 07 Dec 2026 10:00:00 "
                      "+0000\nx-amz-meta-a:two  spaces,second\n/b/k");
    /* Numeric zones and UT/UTC name the same instant. */
    const char *same[] = {"Mon, 07 Dec 2026 11:30:00 +0130", "Mon, 07 Dec 2026 08:00:00 -0200",
                          "Mon, 07 Dec 2026 10:00:00 UTC", "Mon, 07 Dec 2026 10:00:00 UT",
                          "Monday, 07-Dec-26 10:00:00 GMT", "Mon Dec  7 10:00:00 2026", NULL};
    for (int i = 0; same[i]; i++) {
        kv_t d[4] = {{"Date", same[i]}};
        CHECK_EQ_INT(roundtrip("GET", "/b/k", "", d, 1, NULL, 1796637600 + 15 * 60, sts, sizeof sts),
                     HF_AUTH_OK);
        CHECK_EQ_INT(roundtrip("GET", "/b/k", "", d, 1, NULL, 1796637600 + 15 * 60 + 1, sts,
                               sizeof sts),
                     HF_AUTH_ERR_SKEWED);
    }
}

TEST(presigned_x_amz_parameters_are_signed_as_headers)
{
    /* botocore's presigned PUT with metadata: x-amz-meta-* moves into the
     * query after signing it as a header (the AWS SDK for Java signs a
     * presigned URL's x-amz-* parameters the same way). */
    hf_http_header_t arr[4];
    const char *sts_want = "PUT\n\ntext/plain\n1796682300\nx-amz-meta-a:b c\n/bucket/k";
    char sig[HF_SIGV2_SIG_LEN + 1], enc[64], q[256];
    hf_sigv2_sign(SK, sts_want, strlen(sts_want), sig);
    hf_uri_encode(enc, sizeof enc, sig, strlen(sig), false);
    snprintf(q, sizeof q, "AWSAccessKeyId=" AK "&Signature=%s&content-type=text%%2Fplain&"
                          "x-amz-meta-a=b%%20c&Expires=1796682300", enc);
    static const kv_t h[] = {{"Content-Type", "text/plain"}, {NULL, NULL}};
    char sts[512], msg[256];
    CHECK_EQ_INT(check("PUT", "/bucket/k", q, h, NULL, 1796680000, sts, sizeof sts, msg, sizeof msg),
                 HF_AUTH_OK);
    CHECK_EQ_STR(sts, sts_want);
    /* The uploader leaves out the Content-Type it promised: no match. */
    CHECK_EQ_INT(check("PUT", "/bucket/k", q, NULL, NULL, 1796680000, sts, sizeof sts, msg,
                       sizeof msg),
                 HF_AUTH_ERR_SIGNATURE);
    (void)arr;
}

TEST(payload_hash_header)
{
    kv_t h[8] = {{"Date", "Mon, 07 Dec 2026 10:00:00 GMT"},
                 {"x-amz-content-sha256",
                  "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"}};
    hf_http_header_t arr[8];
    char msg[256];
    hf_sigv2_t a;
    h[2] = (kv_t){"Authorization", "AWS " AK ":x"};
    hf_sigv4_input_t in = mkreq(arr, "PUT", "/b/k", "", h);
    CHECK_EQ_INT(hf_sigv2_parse(&in, &a, msg, sizeof msg), HF_AUTH_OK);
    CHECK_EQ_INT(a.payload_mode, HF_PAYLOAD_SHA256);
    CHECK(a.payload_sha256[0] == 0xe3 && a.payload_sha256[31] == 0x55);
    h[1].value = "UNSIGNED-PAYLOAD";
    in = mkreq(arr, "PUT", "/b/k", "", h);
    CHECK_EQ_INT(hf_sigv2_parse(&in, &a, msg, sizeof msg), HF_AUTH_OK);
    CHECK_EQ_INT(a.payload_mode, HF_PAYLOAD_UNSIGNED);
    /* aws-chunked needs a SigV4 seed signature. */
    const char *streaming[] = {"STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
                               "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER",
                               "STREAMING-UNSIGNED-PAYLOAD-TRAILER", NULL};
    for (int i = 0; streaming[i]; i++) {
        h[1].value = streaming[i];
        in = mkreq(arr, "PUT", "/b/k", "", h);
        CHECK_EQ_INT(hf_sigv2_parse(&in, &a, msg, sizeof msg), HF_AUTH_ERR_UNSUPPORTED);
        CHECK(contains(msg, "Signature Version 4"));
    }
    h[1].value = "nonsense";
    in = mkreq(arr, "PUT", "/b/k", "", h);
    CHECK_EQ_INT(hf_sigv2_parse(&in, &a, msg, sizeof msg), HF_AUTH_ERR_CONTENT_SHA256);
}

/* ---- failures ------------------------------------------------------------------- */

TEST(detection)
{
    hf_http_header_t arr[8];
    static const kv_t v2h[] = {{"Authorization", "AWS a:b"}, {NULL, NULL}};
    static const kv_t v4h[] = {{"Authorization", "AWS4-HMAC-SHA256 Credential=x"}, {NULL, NULL}};
    hf_sigv4_input_t in = mkreq(arr, "GET", "/", "", v2h);
    CHECK(hf_sigv2_present(&in));
    in = mkreq(arr, "GET", "/", "", v4h);
    CHECK(!hf_sigv2_present(&in));
    in = mkreq(arr, "GET", "/", "AWSAccessKeyId=a&Signature=b&Expires=1", NULL);
    CHECK(hf_sigv2_present(&in));
    in = mkreq(arr, "GET", "/", "Signature=b", NULL);
    CHECK(hf_sigv2_present(&in));
    in = mkreq(arr, "GET", "/", "AWSAccessKeyId=a&X-Amz-Signature=b", NULL);
    CHECK(!hf_sigv2_present(&in));
    in = mkreq(arr, "GET", "/", "Expires=1&prefix=x", NULL);
    CHECK(!hf_sigv2_present(&in));
    in = mkreq(arr, "GET", "/", "", NULL);
    CHECK(!hf_sigv2_present(&in));
    CHECK(!hf_sigv2_present(NULL));
}

TEST(sigv4_refuses_v2_with_the_aws_message)
{
    hf_http_header_t arr[8];
    static const kv_t v2h[] = {{"Authorization", "AWS " AK ":frJIUN8DYpKDtOLCwo//yllqDzg="},
                               {NULL, NULL}};
    hf_sigv4_t a;
    char msg[256];
    hf_sigv4_input_t in = mkreq(arr, "GET", "/", "", v2h);
    CHECK_EQ_INT(hf_sigv4_parse(&in, &a, msg, sizeof msg), HF_AUTH_ERR_UNSUPPORTED);
    CHECK_EQ_STR(msg, HF_SIGV2_REFUSED);
    in = mkreq(arr, "GET", "/", "AWSAccessKeyId=a&Signature=b&Expires=1", NULL);
    CHECK_EQ_INT(hf_sigv4_parse(&in, &a, msg, sizeof msg), HF_AUTH_ERR_UNSUPPORTED);
    CHECK_EQ_STR(msg, HF_SIGV2_REFUSED);
}

TEST(status_malformed_header)
{
    /* s3-tests (written against S3): "AWS HAHAHA" is 400 InvalidArgument. */
    const char *bad[] = {"AWS HAHAHA", "AWS", "AWS ", "AWS :sig", "AWS " AK ":",
                         "AWS " AK " :sig", "AWS a:sig", NULL};
    for (int i = 0; bad[i]; i++) {
        kv_t h[] = {{"Date", "Mon, 07 Dec 2026 10:00:00 GMT"}, {"Authorization", bad[i]},
                    {NULL, NULL}};
        CHECK_EQ_INT(status("GET", "/b/k", "", h, 1796637600), HF_AUTH_ERR_INVALID_ARGUMENT);
    }
    kv_t two[] = {{"Date", "Mon, 07 Dec 2026 10:00:00 GMT"},
                  {"Authorization", "AWS " AK ":x"},
                  {"Authorization", "AWS " AK ":y"},
                  {NULL, NULL}};
    CHECK_EQ_INT(status("GET", "/b/k", "", two, 1796637600), HF_AUTH_ERR_INVALID_ARGUMENT);
    kv_t both[] = {{"Date", "Mon, 07 Dec 2026 10:00:00 GMT"},
                   {"Authorization", "AWS " AK ":x"},
                   {NULL, NULL}};
    CHECK_EQ_INT(status("GET", "/b/k", "X-Amz-Signature=abc", both, 1796637600), HF_AUTH_ERR_BOTH);
    CHECK_EQ_INT(status("GET", "/b/k", "Signature=abc", both, 1796637600), HF_AUTH_ERR_BOTH);
}

TEST(status_dates)
{
    /* As S3 answers the s3-tests cases: no date, an invalid or empty
     * x-amz-date (even next to a valid Date), a date before 1970:
     * AccessDenied; a date too far either way: RequestTimeTooSkewed. */
    const char *date = "Mon, 07 Dec 2026 10:00:00 GMT";
    kv_t none[] = {{"Authorization", "AWS " AK ":x"}, {NULL, NULL}};
    CHECK_EQ_INT(status("GET", "/b/k", "", none, 1796637600), HF_AUTH_ERR_NO_DATE);
    const char *invalid[] = {"Bad Date", "", "Tue, 07 Jul 1950 21:53:04 GMT",
                             "Mon, 07 Dec 2026 10:00:00 +9900", "Mon, 07 Dec 2026 10:00:00 CET",
                             "20261207T100000Z", NULL};
    for (int i = 0; invalid[i]; i++) {
        kv_t h[] = {{"Date", date}, {"x-amz-date", invalid[i]}, {"Authorization", "AWS " AK ":x"},
                    {NULL, NULL}};
        CHECK_EQ_INT(status("GET", "/b/k", "", h, 1796637600), HF_AUTH_ERR_NO_DATE);
        kv_t d[] = {{"Date", invalid[i]}, {"Authorization", "AWS " AK ":x"}, {NULL, NULL}};
        CHECK_EQ_INT(status("GET", "/b/k", "", d, 1796637600), HF_AUTH_ERR_NO_DATE);
    }
    const char *skewed[] = {"Tue, 07 Jul 2010 21:53:04 GMT", "Tue, 07 Jul 9999 21:53:04 GMT",
                            "Mon, 07 Dec 2026 10:15:01 GMT", "Mon, 07 Dec 2026 09:44:59 GMT",
                            NULL};
    for (int i = 0; skewed[i]; i++) {
        kv_t h[] = {{"x-amz-date", skewed[i]}, {"Authorization", "AWS " AK ":x"}, {NULL, NULL}};
        CHECK_EQ_INT(status("GET", "/b/k", "", h, 1796637600), HF_AUTH_ERR_SKEWED);
    }
    kv_t two[] = {{"Date", date}, {"Date", date}, {"Authorization", "AWS " AK ":x"}, {NULL, NULL}};
    CHECK_EQ_INT(status("GET", "/b/k", "", two, 1796637600), HF_AUTH_ERR_NO_DATE);
}

TEST(status_query)
{
    char msg[256];
    const char *missing[] = {"AWSAccessKeyId=" AK "&Signature=x",
                             "AWSAccessKeyId=" AK "&Expires=1796682300",
                             "Signature=x&Expires=1796682300",
                             "AWSAccessKeyId=" AK "&AWSAccessKeyId=" AK "&Signature=x&Expires=1",
                             "AWSAccessKeyId=&Signature=x&Expires=1796682300",
                             "AWSAccessKeyId=" AK "&Signature=&Expires=1796682300", NULL};
    for (int i = 0; missing[i]; i++) {
        CHECK_EQ_INT(check("GET", "/b/k", missing[i], NULL, NULL, 1796680000, NULL, 0, msg,
                           sizeof msg),
                     HF_AUTH_ERR_DENIED);
        CHECK(contains(msg, "Query-string authentication requires the Signature, Expires and "
                            "AWSAccessKeyId parameters"));
    }
    const char *bad_expires[] = {"abc", "-1", "+5", "1.5", "", "99999999999999999999", NULL};
    for (int i = 0; bad_expires[i]; i++) {
        char q[128];
        snprintf(q, sizeof q, "AWSAccessKeyId=" AK "&Signature=x&Expires=%s", bad_expires[i]);
        CHECK_EQ_INT(check("GET", "/b/k", q, NULL, NULL, 1796680000, NULL, 0, msg, sizeof msg),
                     HF_AUTH_ERR_DENIED);
        CHECK(contains(msg, "Invalid date (should be seconds since epoch)"));
    }
    CHECK_EQ_INT(status("GET", "/b/k", "AWSAccessKeyId=" AK "&Signature=x&Expires=1796679999",
                        NULL, 1796680000),
                 HF_AUTH_ERR_EXPIRED);
    CHECK_EQ_INT(status("GET", "/b/k", "AWSAccessKeyId=" AK "&Signature=x&Expires=1796680000",
                        NULL, 1796680000),
                 HF_AUTH_ERR_SIGNATURE);
}

TEST(status_signature)
{
    /* Another secret, a tampered request, a signature of another length,
     * and one the same length but not base64 of the right HMAC. */
    char sts[512], msg[256];
    static const kv_t ok[] = {{"Date", "Tue, 27 Mar 2007 19:36:42 +0000"},
                              {"Authorization", "AWS " AK ":bWq2s1WEIj+Ydj0vQ697zp+IXMU="},
                              {NULL, NULL}};
    CHECK_EQ_INT(check("GET", "/johnsmith/photos/puppy.jpg", "", ok, NULL, T_GET, sts, sizeof sts,
                       msg, sizeof msg),
                 HF_AUTH_OK);
    CHECK_EQ_INT(check("GET", "/johnsmith/photos/puppy.jpgx", "", ok, NULL, T_GET, sts, sizeof sts,
                       msg, sizeof msg),
                 HF_AUTH_ERR_SIGNATURE);
    CHECK(contains(msg, "does not match"));
    CHECK_EQ_STR(sts, "GET\n\n\nTue, 27 Mar 2007 19:36:42 +0000\n/johnsmith/photos/puppy.jpgx");
    CHECK_EQ_INT(check("HEAD", "/johnsmith/photos/puppy.jpg", "", ok, NULL, T_GET, sts, sizeof sts,
                       msg, sizeof msg),
                 HF_AUTH_ERR_SIGNATURE);
    const char *sigs[] = {"AWS " AK ":bWq2s1WEIj+Ydj0vQ697zp+IXMU", "AWS " AK ":bWq2s1WEIj+Ydj0vQ697zp+IXMU==",
                          "AWS " AK ":cWq2s1WEIj+Ydj0vQ697zp+IXMU=", NULL};
    for (int i = 0; sigs[i]; i++) {
        kv_t h[] = {{"Date", "Tue, 27 Mar 2007 19:36:42 +0000"}, {"Authorization", sigs[i]},
                    {NULL, NULL}};
        CHECK_EQ_INT(status("GET", "/johnsmith/photos/puppy.jpg", "", h, T_GET),
                     HF_AUTH_ERR_SIGNATURE);
    }
    hf_http_header_t arr[4];
    hf_sigv4_input_t in = mkreq(arr, "GET", "/johnsmith/photos/puppy.jpg", "", ok);
    hf_sigv2_t a;
    CHECK_EQ_INT(hf_sigv2_parse(&in, &a, msg, sizeof msg), HF_AUTH_OK);
    CHECK_EQ_STR(a.access_key, AK);
    CHECK_EQ_STR(a.signature, "bWq2s1WEIj+Ydj0vQ697zp+IXMU=");
    CHECK_EQ_INT(hf_sigv2_verify(&in, NULL, &a, "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEz", T_GET,
                                 NULL, msg, sizeof msg),
                 HF_AUTH_ERR_SIGNATURE);
    /* A malformed %-escape in the query cannot have been signed. */
    kv_t q[] = {{"Date", "Tue, 27 Mar 2007 19:36:42 +0000"},
                {"Authorization", "AWS " AK ":bWq2s1WEIj+Ydj0vQ697zp+IXMU="},
                {NULL, NULL}};
    CHECK_EQ_INT(status("GET", "/johnsmith/photos/puppy.jpg", "acl=%zz", q, T_GET),
                 HF_AUTH_ERR_SIGNATURE);
}

TEST(post_policy_signature)
{
    /* The guide's V2 POST example policy, signed here; its printed signature
     * ("for example") was made with another key. */
    const char *policy =
        "eyAiZXhwaXJhdGlvbiI6ICIyMDA3LTEyLTAxVDEyOjAwOjAwLjAwMFoiLAogICJjb25kaXRpb25zIjogWwogICAg"
        "eyJidWNrZXQiOiAiam9obnNtaXRoIn0sCiAgICBbInN0YXJ0cy13aXRoIiwgIiRrZXkiLCAidXNlci9lcmljLyJd"
        "LAogICAgeyJhY2wiOiAicHVibGljLXJlYWQifSwKICAgIHsic3VjY2Vzc19hY3Rpb25fcmVkaXJlY3QiOiAiaHR0"
        "cDovL2pvaG5zbWl0aC5zMy5hbWF6b25hd3MuY29tL3N1Y2Nlc3NmdWxfdXBsb2FkLmh0bWwifSwKICAgIFsic3Rh"
        "cnRzLXdpdGgiLCAiJENvbnRlbnQtVHlwZSIsICJpbWFnZS8iXSwKICAgIHsieC1hbXotbWV0YS11dWlkIjogIjE0"
        "MzY1MTIzNjUxMjc0In0sCiAgICBbInN0YXJ0cy13aXRoIiwgIiR4LWFtei1tZXRhLXRhZyIsICIiXQogIF0KfQo=";
    char sig[HF_SIGV2_SIG_LEN + 1];
    unsigned char mac[HF_SHA1_LEN];
    char b64[HF_SIGV2_SIG_LEN + 1];
    hf_hmac_sha1(SK, strlen(SK), policy, strlen(policy), mac);
    hf_base64_encode(b64, mac, sizeof mac);
    hf_sigv2_sign(SK, policy, strlen(policy), sig);
    CHECK_EQ_STR(sig, b64);
    CHECK(hf_sigv2_policy_ok(SK, policy, strlen(policy), sig, strlen(sig)));
    CHECK(!hf_sigv2_policy_ok(SK, policy, strlen(policy) - 1, sig, strlen(sig)));
    CHECK(!hf_sigv2_policy_ok(SK, policy, strlen(policy), "0RavWzkygo6QX9caELEqKi9kDbU=", 28));
    CHECK(!hf_sigv2_policy_ok(SK, policy, strlen(policy), sig, strlen(sig) - 1));
    CHECK(!hf_sigv2_policy_ok(SK, policy, strlen(policy), "", 0));
}

TEST(mutated_requests_never_crash_or_pass)
{
    /* Every single-byte change of a signed request either fails or leaves
     * the string to sign as it was (bytes outside what V2 covers). */
    static const kv_t base[] = {{"Host", "johnsmith.s3.amazonaws.com"},
                                {"Date", "Tue, 27 Mar 2007 21:06:08 +0000"},
                                {"x-amz-acl", "public-read"},
                                {"Content-Type", "application/x-download"},
                                {"Authorization", "AWS " AK ":placeholder"},
                                {NULL, NULL}};
    char auth[64], sig[HF_SIGV2_SIG_LEN + 1];
    const char *sts0 = "PUT\n\napplication/x-download\nTue, 27 Mar 2007 21:06:08 +0000\n"
                       "x-amz-acl:public-read\n/johnsmith/k?acl";
    hf_sigv2_sign(SK, sts0, strlen(sts0), sig);
    snprintf(auth, sizeof auth, "AWS " AK ":%s", sig);
    kv_t h[6];
    memcpy(h, base, sizeof base);
    h[4].value = auth;
    char msg[256], sts[512];
    CHECK_EQ_INT(check("PUT", "/johnsmith/k", "acl", h, NULL, T_UPLOAD, sts, sizeof sts, msg,
                       sizeof msg),
                 HF_AUTH_OK);
    char vals[4][64];
    for (int f = 1; f < 4; f++) {
        for (size_t i = 0; i < strlen(base[f].value); i++) {
            snprintf(vals[f], sizeof vals[f], "%s", base[f].value);
            vals[f][i] ^= 0x01;
            kv_t m[6];
            memcpy(m, h, sizeof m);
            m[f].value = vals[f];
            int st = check("PUT", "/johnsmith/k", "acl", m, NULL, T_UPLOAD, sts, sizeof sts, msg,
                           sizeof msg);
            CHECK(st != HF_AUTH_OK);
        }
    }
}

HF_TEST_MAIN("unit/auth/sigv2")
