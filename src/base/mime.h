/*
 * mime.h -- header values that are not US-ASCII: RFC 2047 "encoded-words"
 * (=?charset?B?base64?= and =?charset?Q?quoted?=) and the charset of raw
 * header bytes.
 *
 * S3 carries user metadata (x-amz-meta-*) that is not US-ASCII this way:
 * "Values of such headers are character decoded as per RFC 2047 before
 * storing and encoded as per RFC 2047 to make them mail-safe before
 * returning. If the string contains only US-ASCII characters, it is
 * presented as is" (Amazon S3 user guide, "Working with object metadata").
 * The s3 layer stores the decoded UTF-8 text and encodes it on the way
 * out.
 *
 * Both functions write into caller memory and never allocate; they are
 * pure (any thread).
 */
#ifndef HF_BASE_MIME_H
#define HF_BASE_MIME_H

#include <stddef.h>

/* The text of a header value v[0..n) as UTF-8 into out (at most cap
 * bytes, NUL-terminated; a result never needs more than 2n+1 bytes):
 *   - one or more encoded-words separated only by spaces or tabs (which
 *     RFC 2047 drops between adjacent words), each in charset UTF-8 or
 *     ISO-8859-1 (any case, with an optional *language), B or Q encoding,
 *     decoding to text without NUL (UTF-8 words: valid UTF-8), become
 *     their decoded text;
 *   - anything else is taken as raw bytes: kept when it is UTF-8, else
 *     read as ISO-8859-1, HTTP's historical charset for header bytes
 *     (RFC 9110 obs-text), and converted to UTF-8.
 * A value that is not exactly a run of well-formed encoded-words is never
 * partly decoded. Returns the length written, or -1 when out is too small
 * or v holds NUL. */
long hf_mime_header_decode(const char *v, size_t n, char *out, size_t cap);

/* UTF-8 text s[0..n) as a header value into out (at most cap bytes,
 * NUL-terminated; hf_mime_header_encode_len(n) always suffices): s itself
 * when every byte is printable US-ASCII (0x20-0x7e) or tab, otherwise one
 * encoded-word "=?UTF-8?B?<base64 of s>?=". Returns the length written, or
 * -1 when out is too small. */
long hf_mime_header_encode(const char *s, size_t n, char *out, size_t cap);
size_t hf_mime_header_encode_len(size_t n);

#endif /* HF_BASE_MIME_H */
