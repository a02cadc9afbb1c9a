/* Unit tests for src/s3/xml.c (request-body reader and response writer)
 * and the bucket naming rules in src/s3/bucket.c. */
#include "test.h"

#include "base/arena.h"
#include "base/buf.h"
#include "base/err.h"
#include "s3/s3.h"
#include "s3/xml.h"

static hf_arena_t A;

static int parse(const char *s, hf_xml_node_t **root)
{
    hf_arena_reset(&A);
    return hf_xml_parse(s, strlen(s), &A, root);
}

TEST(parse_complete_multipart)
{
    hf_arena_free(&A);
    hf_arena_init(&A, 1 << 24);
    hf_xml_node_t *r;
    CHECK_EQ_INT(parse("<?xml version=\"1.0\"?>"
                       "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
                       "<Part><PartNumber>1</PartNumber><ETag>\"a&amp;b\"</ETag></Part>"
                       "<Part><PartNumber>2</PartNumber><ETag>x</ETag></Part>"
                       "</CompleteMultipartUpload>",
                       &r),
                 HF_OK);
    CHECK_EQ_STR(r->name, "CompleteMultipartUpload");
    hf_xml_node_t *p = hf_xml_child(r, "Part");
    CHECK(p != NULL);
    CHECK_EQ_STR(hf_xml_child_text(p, "PartNumber"), "1");
    CHECK_EQ_STR(hf_xml_child_text(p, "ETag"), "\"a&b\"");
    p = hf_xml_next(p);
    CHECK(p != NULL);
    CHECK_EQ_STR(hf_xml_child_text(p, "PartNumber"), "2");
    CHECK(hf_xml_next(p) == NULL);
    CHECK(hf_xml_child_text(r, "Missing") == NULL);
}

TEST(prefixed_namespace_is_stripped)
{
    hf_arena_free(&A);
    hf_arena_init(&A, 1 << 24);
    hf_xml_node_t *r;
    CHECK_EQ_INT(parse("<s3:Delete xmlns:s3=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
                       "<s3:Object><s3:Key>k</s3:Key></s3:Object></s3:Delete>",
                       &r),
                 HF_OK);
    CHECK_EQ_STR(r->name, "Delete");
    CHECK_EQ_STR(hf_xml_child_text(hf_xml_child(r, "Object"), "Key"), "k");
}

TEST(text_split_across_entities_and_cdata)
{
    hf_arena_free(&A);
    hf_arena_init(&A, 1 << 24);
    hf_xml_node_t *r;
    CHECK_EQ_INT(parse("<a>x&lt;y<![CDATA[<z>]]>&#x41;</a>", &r), HF_OK);
    CHECK_EQ_STR(r->text, "x<y<z>A");
    CHECK_EQ_INT(r->textlen, 7);
}

TEST(refuses_doctype_and_entities)
{
    hf_arena_free(&A);
    hf_arena_init(&A, 1 << 24);
    hf_xml_node_t *r;
    CHECK_EQ_INT(parse("<!DOCTYPE a [<!ENTITY x \"yyyy\">]><a>&x;</a>", &r), HF_E_INVAL);
    CHECK_EQ_INT(parse("<!DOCTYPE a SYSTEM \"file:///etc/passwd\"><a/>", &r), HF_E_INVAL);
    CHECK_EQ_INT(parse("<a>&undefined;</a>", &r), HF_E_INVAL);
}

TEST(refuses_malformed)
{
    hf_arena_free(&A);
    hf_arena_init(&A, 1 << 24);
    hf_xml_node_t *r;
    const char *bad[] = {"", "<a>", "<a></b>", "<a/><b/>", "text", "<a><b></a></b>", "<a x='1' x='2'/>",
                         "\xff\xfe<a/>", "<a>\x01</a>"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK_EQ_INT(parse(bad[i], &r), HF_E_INVAL);
}

TEST(depth_limit)
{
    hf_arena_free(&A);
    hf_arena_init(&A, 1 << 24);
    hf_buf_t b;
    hf_buf_init(&b, 1 << 16);
    for (int i = 0; i < HF_XML_DEPTH_MAX; i++)
        hf_buf_puts(&b, "<a>");
    for (int i = 0; i < HF_XML_DEPTH_MAX; i++)
        hf_buf_puts(&b, "</a>");
    hf_xml_node_t *r;
    CHECK_EQ_INT(parse(b.data, &r), HF_OK);
    hf_buf_reset(&b);
    for (int i = 0; i < HF_XML_DEPTH_MAX + 1; i++)
        hf_buf_puts(&b, "<a>");
    for (int i = 0; i < HF_XML_DEPTH_MAX + 1; i++)
        hf_buf_puts(&b, "</a>");
    CHECK_EQ_INT(parse(b.data, &r), HF_E_INVAL);
    hf_buf_free(&b);
}

TEST(node_limit)
{
    hf_arena_free(&A);
    hf_arena_init(&A, 1 << 26);
    hf_buf_t b;
    hf_buf_init(&b, 1 << 22);
    hf_buf_puts(&b, "<r>");
    for (int i = 0; i < HF_XML_NODES_MAX; i++)
        hf_buf_puts(&b, "<p/>");
    hf_buf_puts(&b, "</r>");
    hf_xml_node_t *r;
    CHECK_EQ_INT(parse(b.data, &r), HF_E_INVAL); /* root + HF_XML_NODES_MAX children */
    hf_buf_free(&b);
}

TEST(writer_escapes)
{
    hf_buf_t b;
    hf_buf_init(&b, 4096);
    hf_xml_elem_str(&b, "Key", "a&b<c>\"d'e\x01");
    CHECK_EQ_STR(b.data, "<Key>a&amp;b&lt;c&gt;&quot;d&apos;e&#x1;</Key>");
    hf_buf_reset(&b);
    hf_xml_elem_u64(&b, "Size", 18446744073709551615ULL);
    CHECK_EQ_STR(b.data, "<Size>18446744073709551615</Size>");
    hf_buf_reset(&b);
    hf_xml_elem(&b, "K", "ab\0cd", 5); /* explicit length, embedded NUL escaped */
    CHECK_EQ_STR(b.data, "<K>ab&#x0;cd</K>");
    hf_buf_free(&b);
}

TEST(writer_plain_text_and_caps)
{
    hf_buf_t b;
    hf_buf_init(&b, 4096);
    hf_xml_open_ns(&b, "ListBucketResult");
    hf_xml_elem_str(&b, "Key", "photos/\xc3\xa9t\xc3\xa9 2026.jpg"); /* UTF-8 passes as is */
    hf_xml_elem_u64(&b, "Size", 0);
    hf_xml_elem_bool(&b, "IsTruncated", 1);
    hf_xml_elem_str(&b, "Empty", "");
    hf_xml_elem_str(&b, "Del", "a\x7f");
    hf_xml_close(&b, "ListBucketResult");
    CHECK_EQ_STR(b.data, "<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
                         "<Key>photos/\xc3\xa9t\xc3\xa9 2026.jpg</Key><Size>0</Size>"
                         "<IsTruncated>true</IsTruncated><Empty></Empty><Del>a&#x7F;</Del>"
                         "</ListBucketResult>");
    /* An element that does not fit leaves the buffer as it was. */
    hf_buf_t small;
    hf_buf_init(&small, 12);
    hf_xml_elem_str(&small, "Key", "abc");
    CHECK_EQ_INT(small.len, 0); /* 14 bytes do not fit in 12 */
    hf_xml_open(&small, "Key");
    CHECK_EQ_STR(small.data, "<Key>");
    hf_buf_free(&small);
    hf_buf_free(&b);
}

TEST(bucket_names)
{
    const char *good[] = {"abc", "my-bucket", "my.bucket.1", "a1b", "123", "a-b.c-d",
                          "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"};
    const char *bad[] = {"ab", "ABC", "a_b", "-ab", "ab-", ".ab", "ab.", "a..b", "192.168.1.1",
                         "xn--abc", "sthree-x", "amzn-s3-demo-x", "abc-s3alias", "abc--ol-s3",
                         "abc.mrap", "abc--x-s3", "abc--table-s3", "a b", "ab/c",
                         "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        CHECK(hf_s3_bucket_name_valid(good[i]));
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (hf_s3_bucket_name_valid(bad[i]))
            hf_test_fail(__FILE__, __LINE__, "accepted bad bucket name %s", bad[i]);
}

HF_TEST_MAIN("unit/s3")
