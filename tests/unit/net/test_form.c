/* multipart/form-data parser: fields and files in any split of the
 * stream, boundary look-alikes in the data, and every malformed shape. */
#include "test.h"

#include "base/err.h"
#include "net/form.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What the callbacks saw, as text: "[name|filename|type]data..." per part. */
typedef struct rec {
    char out[1 << 16];
    size_t n;
    size_t total; /* every byte the callbacks were given, kept or not */
    int fail_at_part; /* return an error from the part callback of this part (1-based) */
    int parts;
} rec_t;

static void put(rec_t *r, const char *p, size_t n)
{
    r->total += n;
    size_t room = sizeof r->out - 1 - r->n;
    if (n > room)
        n = room; /* keep the start */
    memcpy(r->out + r->n, p, n);
    r->n += n;
    r->out[r->n] = '\0';
}

static int on_part(void *ctx, const hf_form_part_t *p)
{
    rec_t *r = ctx;
    if (++r->parts == r->fail_at_part)
        return -42;
    char h[2400];
    snprintf(h, sizeof h, "[%s|%s|%s]", p->name, p->filename ? p->filename : "-",
             p->content_type ? p->content_type : "-");
    put(r, h, strlen(h));
    return 0;
}

static int on_data(void *ctx, const char *p, size_t n)
{
    put(ctx, p, n);
    return 0;
}

static int on_end(void *ctx)
{
    put(ctx, "$", 1);
    return 0;
}

/* Parse body fed in pieces of step bytes (0: all at once). */
static int parse(const char *boundary, const char *body, size_t n, size_t step, rec_t *r)
{
    memset(r, 0, sizeof *r);
    hf_form_cb_t cb = {on_part, on_data, on_end, r};
    hf_form_t *f = malloc(sizeof *f);
    hf_form_init(f, boundary, &cb);
    int rc = HF_OK;
    if (!step)
        step = n ? n : 1;
    for (size_t off = 0; off < n && rc == HF_OK; off += step)
        rc = hf_form_feed(f, body + off, n - off < step ? n - off : step);
    if (rc == HF_OK && !hf_form_done(f))
        rc = 1; /* ended early */
    free(f);
    return rc;
}

static const char FORM[] =
    "preamble to ignore\r\n"
    "--XyZ\r\n"
    "Content-Disposition: form-data; name=\"key\"\r\n"
    "\r\n"
    "uploads/${filename}\r\n"
    "--XyZ  \r\n"
    "content-disposition: form-data; name=policy\r\n"
    "\r\n"
    "eyJ9\r\n"
    "--XyZ\r\n"
    "Content-Disposition: form-data; name=\"file\"; filename=\"a b.txt\"\r\n"
    "Content-Type: text/plain\r\n"
    "\r\n"
    "line one\r\n--XyQnot-a-delimiter\r\n-XyZ\r\n--Xy\r\n\r\nx--XyZ\n"
    "\r\n"
    "--XyZ--\r\n"
    "epilogue to ignore";

static const char WANT[] =
    "[key|-|-]uploads/${filename}$"
    "[policy|-|-]eyJ9$"
    "[file|a b.txt|text/plain]line one\r\n--XyQnot-a-delimiter\r\n-XyZ\r\n--Xy\r\n\r\nx--XyZ\n$";

TEST(form_fields_and_file_in_every_split)
{
    rec_t *r = malloc(sizeof *r);
    size_t n = sizeof FORM - 1;
    for (size_t step = 0; step <= n; step = step < 16 ? step + 1 : step * 2) {
        CHECK_EQ_INT(parse("XyZ", FORM, n, step, r), HF_OK);
        CHECK_EQ_STR(r->out, WANT);
    }
    free(r);
}

TEST(form_large_file_streams)
{
    /* 1 MiB of data full of near-delimiters, fed in odd pieces. */
    size_t data_n = 1 << 20;
    char *body = malloc(data_n + 512);
    size_t n = (size_t)sprintf(body, "--b0undary\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\n");
    size_t data_at = n;
    for (size_t i = 0; i < data_n; i++)
        body[n++] = "\r\n--b0undar"[i % 11];
    n += (size_t)sprintf(body + n, "\r\n--b0undary--");
    rec_t *r = malloc(sizeof *r);
    size_t steps[] = {0, 1, 7, 4093, 65536};
    for (size_t k = 0; k < sizeof steps / sizeof steps[0]; k++) {
        CHECK_EQ_INT(parse("b0undary", body, n, steps[k], r), HF_OK);
        /* r->out keeps only the start: check it and the count of all bytes */
        size_t head = strlen("[file|-|-]");
        CHECK(r->total == head + data_n + 1);
        CHECK_EQ_MEM(r->out + head, body + data_at, 1000);
    }
    free(r);
    free(body);
}

TEST(form_boundary_from_content_type)
{
    char b[HF_FORM_BOUNDARY_MAX + 1];
    const char *ct = "multipart/form-data; boundary=----WebKitFormBoundary7MA4YWxk";
    CHECK_EQ_INT(hf_form_boundary(ct, strlen(ct), b), HF_OK);
    CHECK_EQ_STR(b, "----WebKitFormBoundary7MA4YWxk");
    ct = "Multipart/Form-Data;charset=utf-8; Boundary=\"a b'c\"";
    CHECK_EQ_INT(hf_form_boundary(ct, strlen(ct), b), HF_OK);
    CHECK_EQ_STR(b, "a b'c");
    const char *bad[] = {"multipart/mixed; boundary=x", "multipart/form-data", "multipart/form-data; boundary=",
                         "multipart/form-data; boundary=\"unterminated", "multipart/form-data; boundary=a\x01",
                         "multipart/form-data; boundary=\"ends in space \"",
                         "multipart/form-data; boundary="
                         "12345678901234567890123456789012345678901234567890123456789012345678901"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK_EQ_INT(hf_form_boundary(bad[i], strlen(bad[i]), b), HF_E_INVAL);
}

TEST(form_malformed_is_refused)
{
    rec_t *r = malloc(sizeof *r);
    const char *bad[] = {
        /* no name */
        "--b\r\nContent-Disposition: form-data\r\n\r\nx\r\n--b--",
        /* not form-data */
        "--b\r\nContent-Disposition: attachment; name=\"a\"\r\n\r\nx\r\n--b--",
        /* no Content-Disposition at all */
        "--b\r\nContent-Type: text/plain\r\n\r\nx\r\n--b--",
        /* a head line without a colon */
        "--b\r\nContent-Disposition: form-data; name=a\r\nbroken\r\n\r\nx\r\n--b--",
        /* garbage after a delimiter */
        "--b\r\nContent-Disposition: form-data; name=a\r\n\r\nx\r\n--bQ",
        /* an unterminated quoted name */
        "--b\r\nContent-Disposition: form-data; name=\"a\r\n\r\nx\r\n--b--",
        /* a bare LF after the delimiter */
        "--b\nContent-Disposition: form-data; name=a\r\n\r\nx\r\n--b--",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK_EQ_INT(parse("b", bad[i], strlen(bad[i]), 0, r), HF_E_INVAL);
    /* cut short: no closing delimiter */
    const char *cut = "--b\r\nContent-Disposition: form-data; name=a\r\n\r\nxyz";
    CHECK_EQ_INT(parse("b", cut, strlen(cut), 0, r), 1);
    /* a callback's error stops the parser and is returned, and stays */
    memset(r, 0, sizeof *r);
    r->fail_at_part = 2;
    hf_form_cb_t cb = {on_part, on_data, on_end, r};
    hf_form_t *f = malloc(sizeof *f);
    hf_form_init(f, "XyZ", &cb);
    CHECK_EQ_INT(hf_form_feed(f, FORM, sizeof FORM - 1), -42);
    CHECK_EQ_INT(hf_form_feed(f, "more", 4), -42);
    free(f);
    free(r);
}

TEST(form_limits)
{
    rec_t *r = malloc(sizeof *r);
    /* a head past HF_FORM_HEAD_MAX */
    size_t cap = HF_FORM_HEAD_MAX + 200;
    char *big = malloc(cap);
    size_t n = (size_t)sprintf(big, "--b\r\nContent-Disposition: form-data; name=a\r\nX-Pad: ");
    while (n < HF_FORM_HEAD_MAX + 10)
        big[n++] = 'p';
    n += (size_t)sprintf(big + n, "\r\n\r\nx\r\n--b--");
    CHECK_EQ_INT(parse("b", big, n, 0, r), HF_E_TOOBIG);
    free(big);
    /* more than HF_FORM_PARTS_MAX parts */
    size_t pc = (HF_FORM_PARTS_MAX + 2) * 64;
    char *many = malloc(pc);
    n = 0;
    for (int i = 0; i < HF_FORM_PARTS_MAX + 1; i++)
        n += (size_t)sprintf(many + n, "--b\r\nContent-Disposition: form-data; name=f%d\r\n\r\nv\r\n", i);
    n += (size_t)sprintf(many + n, "--b--");
    CHECK_EQ_INT(parse("b", many, n, 0, r), HF_E_TOOBIG);
    free(many);
    free(r);
}

HF_TEST_MAIN("unit/net/form")
