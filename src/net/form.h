/*
 * form.h -- a streaming multipart/form-data parser (RFC 7578 over RFC 2046),
 * for HTML form uploads (S3's POST Object). Knows nothing of S3.
 *
 * Bytes are pushed in pieces of any size; the parser calls back with each
 * part's head (name, filename, content type) and its body in pieces, never
 * holding more than the delimiter's length of body back, so a multi-GiB file
 * part streams through in constant memory.
 *
 * Strictness: the boundary is 1-70 characters of RFC 2046's bchars; each
 * part's head lines end in CRLF and take at most HF_FORM_HEAD_MAX bytes; a
 * part needs Content-Disposition: form-data with a name; at most
 * HF_FORM_PARTS_MAX parts. Anything else is HF_E_INVAL (the caller answers
 * 400), never a guess. The preamble and epilogue are ignored, as RFC 2046
 * says.
 *
 * Ownership: strings passed to callbacks live until the callback returns.
 * Threads: pure over caller-owned state.
 */
#ifndef HF_NET_FORM_H
#define HF_NET_FORM_H

#include <stdbool.h>
#include <stddef.h>

/* A part's head (the header lines) is small in every browser. */
#define HF_FORM_HEAD_MAX 8192
/* Form fields in one upload (S3's POST form has about 20 fields). */
#define HF_FORM_PARTS_MAX 128
/* RFC 2046: a boundary is at most 70 characters. */
#define HF_FORM_BOUNDARY_MAX 70

typedef struct hf_form_part {
    const char *name;         /* the form field's name */
    const char *filename;     /* NULL unless the part carries filename= */
    const char *content_type; /* NULL unless the part has Content-Type */
} hf_form_part_t;

typedef struct hf_form_cb {
    /* Each returns 0 to go on, or a (negative) error that the parser stops
     * with and hf_form_feed returns. */
    int (*part)(void *ctx, const hf_form_part_t *p);
    int (*data)(void *ctx, const char *p, size_t n);
    int (*end)(void *ctx);
    void *ctx;
} hf_form_cb_t;

typedef struct hf_form {
    hf_form_cb_t cb;
    int state;
    char delim[HF_FORM_BOUNDARY_MAX + 4]; /* "\r\n--" boundary */
    size_t dlen;
    char hold[2 * (HF_FORM_BOUNDARY_MAX + 4)];
    size_t hold_len;
    char head[HF_FORM_HEAD_MAX + 1];
    size_t head_len;
    unsigned parts;
    bool in_part;  /* a part was announced and not yet ended */
    int err;       /* sticky */
} hf_form_t;

/* The boundary parameter of a Content-Type value ("multipart/form-data;
 * boundary=..." with or without quotes) into out (NUL-terminated). HF_OK,
 * or HF_E_INVAL when the type is not multipart/form-data or the boundary is
 * missing or not valid. */
int hf_form_boundary(const char *content_type, size_t n, char out[HF_FORM_BOUNDARY_MAX + 1]);

/* Start a parser for boundary (as hf_form_boundary gave it). */
void hf_form_init(hf_form_t *f, const char *boundary, const hf_form_cb_t *cb);

/* Push p[0..n). HF_OK, HF_E_INVAL (malformed), HF_E_TOOBIG (a limit), or a
 * callback's error; errors are sticky. */
int hf_form_feed(hf_form_t *f, const char *p, size_t n);

/* True once the closing delimiter was seen (anything after it is ignored). */
bool hf_form_done(const hf_form_t *f);

#endif
