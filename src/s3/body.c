/*
 * body.c -- reading S3 request bodies: framing, verification, storage.
 *
 * One pass over each body buffer does everything while the bytes are hot:
 * aws-chunked decoding with chunk-signature checks (auth/chunked.c), the
 * x-amz-content-sha256 digest, Content-MD5 / the ETag MD5, and the
 * x-amz-checksum-* the client asked for (header or trailer). Nothing is
 * acknowledged or committed until every one of those has been verified at
 * the end of the body: a body that fails any check leaves no object and no
 * blob behind.
 *
 * Body bytes go straight from the socket into storage in HF_IO_BUF pieces,
 * so memory per upload is bounded whatever the object size.
 */
#include "s3/internal.h"

#include "base/err.h"
#include "base/log.h"
#include "base/str.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* Validate a base64 checksum value's shape for algorithm c. */
static bool ck_value_ok(const s3_ckinfo_t *c, const char *v)
{
    uint8_t raw[HF_CK_MAX_LEN];
    return s3_parse_ck_text(c, v, raw) == HF_OK;
}

static int pick_checksum(s3req_t *q, uint8_t want_ck)
{
    s3_body_t *b = &q->body;
    const s3_ckinfo_t *found = NULL;
    for (size_t i = 0; s3_ck_at(i); i++) {
        const s3_ckinfo_t *c = s3_ck_at(i);
        const char *v = s3_header(q, c->header);
        if (!v)
            continue;
        if (found)
            return s3_fail(q, S3E_InvalidRequest, "Expecting a single x-amz-checksum- header. "
                                                  "Multiple checksum types are not allowed.");
        if (!ck_value_ok(c, v))
            return s3_fail(q, S3E_InvalidRequest, "Value for %s header is invalid.", c->header);
        found = c;
        b->ck_value = v;
    }
    const char *trailer = s3_header(q, "x-amz-trailer");
    if (trailer) {
        bool trailer_mode = b->mode == HF_PAYLOAD_STREAMING_SIGNED_TRAILER ||
                            b->mode == HF_PAYLOAD_STREAMING_UNSIGNED_TRAILER;
        if (!trailer_mode)
            return s3_fail(q, S3E_InvalidRequest,
                           "x-amz-trailer needs a STREAMING-*-TRAILER x-amz-content-sha256.");
        const s3_ckinfo_t *t = s3_ck_by_header(trailer);
        if (!t)
            return s3_fail(q, S3E_InvalidRequest, "The trailer %s is not supported.", trailer);
        if (found)
            return s3_fail(q, S3E_InvalidRequest, "Expecting a single x-amz-checksum- header. "
                                                  "Multiple checksum types are not allowed.");
        found = t;
        b->ck_in_trailer = true;
    }
    const char *sdk = s3_header(q, "x-amz-sdk-checksum-algorithm");
    if (sdk) {
        const s3_ckinfo_t *si = s3_ck_by_name(sdk);
        if (!si)
            return s3_fail(q, S3E_InvalidRequest,
                           "Value for x-amz-sdk-checksum-algorithm header is invalid.");
        if (!found)
            return s3_fail(q, S3E_InvalidRequest,
                           "x-amz-sdk-checksum-algorithm specified, but no corresponding "
                           "x-amz-checksum-* or x-amz-trailer headers were found.");
        if (si != found)
            return s3_fail(q, S3E_InvalidRequest,
                           "Value for x-amz-sdk-checksum-algorithm header is invalid.");
    }
    if (found) {
        if (want_ck != HF_CK_NONE && want_ck != S3_CK_DEFAULT && found->alg != want_ck)
            return s3_fail(q, S3E_InvalidRequest,
                           "Checksum Type mismatch occurred, expected checksum Type: %s, actual "
                           "checksum Type: %s", s3_ck_name(want_ck), found->name);
        b->ck = found;
        b->ck_declared = true;
    } else if (want_ck == S3_CK_DEFAULT) {
        b->ck = s3_ck(HF_CK_CRC64NVME);
    } else if (want_ck != HF_CK_NONE) {
        b->ck = s3_ck(want_ck);
    }
    return 0;
}

bool s3_streaming(const s3req_t *q)
{
    enum hf_payload_mode m = q->auth.payload_mode;
    return m == HF_PAYLOAD_STREAMING_SIGNED || m == HF_PAYLOAD_STREAMING_SIGNED_TRAILER ||
           m == HF_PAYLOAD_STREAMING_UNSIGNED_TRAILER;
}

bool s3_body_length_known(s3req_t *q)
{
    if (s3_streaming(q))
        return s3_header(q, "x-amz-decoded-content-length") != NULL;
    return hf_req_content_length(q->r) >= 0;
}

int s3_body_open(s3req_t *q, bool want_md5, uint8_t want_ck, uint64_t max_len)
{
    s3_body_t *b = &q->body;
    memset(b, 0, sizeof *b);
    b->open = true;
    b->mode = q->auth.payload_mode;
    int64_t cl = hf_req_content_length(q->r);
    if (s3_streaming(q)) {
        const char *dl = s3_header(q, "x-amz-decoded-content-length");
        uint64_t v;
        if (!dl)
            return s3_fail(q, S3E_MissingContentLength,
                           "aws-chunked uploads need the x-amz-decoded-content-length header.");
        if (hf_parse_u64(dl, strlen(dl), &v) != HF_OK)
            return s3_fail_arg(q, "x-amz-decoded-content-length", dl,
                               "x-amz-decoded-content-length is not a valid length.");
        /* The encoded length may be unknown (Transfer-Encoding: chunked
         * around aws-chunked, as the JS SDK streams); the decoded length
         * is what we check against. */
        b->declared = v;
        b->aws_chunked = true;
        int rc = hf_awschunked_init(&b->ac, b->mode, &q->auth);
        if (rc)
            return s3_fail(q, hf_s3_err_from(rc), NULL);
        b->raw = hf_arena_alloc(q->a, HF_IO_BUF);
        if (!b->raw)
            return s3_fail(q, S3E_InternalError, NULL);
    } else {
        b->declared = cl < 0 ? 0 : (uint64_t)cl;
    }
    if (b->declared > max_len) {
        s3_err_elem(q, "ProposedSize", "%llu", (unsigned long long)b->declared);
        s3_err_elem(q, "MaxSizeAllowed", "%llu", (unsigned long long)max_len);
        return s3_fail(q, S3E_EntityTooLarge,
                       "Your proposed upload of %llu bytes exceeds the maximum allowed size of %llu bytes.",
                       (unsigned long long)b->declared, (unsigned long long)max_len);
    }
    b->verify_sha256 = b->mode == HF_PAYLOAD_SHA256;
    if (pick_checksum(q, want_ck))
        return -1;
    const char *md5 = s3_header(q, "content-md5");
    if (md5) {
        unsigned char raw[16];
        if (hf_base64_decode(raw, sizeof raw, md5, strlen(md5)) != 16) {
            s3_err_elem(q, "Content-MD5", "%s", md5);
            return s3_fail(q, S3E_InvalidDigest, NULL);
        }
        want_md5 = true;
    }
    unsigned which = want_md5 ? HF_HS_MD5 : 0;
    if (b->verify_sha256)
        which |= HF_HS_SHA256;
    if (b->ck)
        which |= b->ck->hs;
    int rc = hf_hashset_init(&b->hs, which);
    if (rc)
        return s3_fail(q, S3E_InternalError, NULL);
    b->hs_open = true;
    return 0;
}

/* Everything has been read: check every digest the request declared. */
static int finish(s3req_t *q)
{
    s3_body_t *b = &q->body;
    uint8_t md5[16] = {0}, sha256[32] = {0}, sha1[20] = {0};
    unsigned which = b->hs.which;
    hf_hashset_final(&b->hs, (which & HF_HS_MD5) ? md5 : NULL,
                     (which & HF_HS_SHA256) ? sha256 : NULL, (which & HF_HS_SHA1) ? sha1 : NULL);
    b->hs_open = false;
    b->done = true;
    if (b->got != b->declared)
        return s3_fail(q, S3E_IncompleteBody, "The body had %llu bytes where %llu were declared.",
                       (unsigned long long)b->got, (unsigned long long)b->declared);
    if (b->verify_sha256 && !hf_ct_equal(sha256, q->auth.payload_sha256, 32)) {
        char hex[65];
        hf_hex_encode(hex, q->auth.payload_sha256, 32);
        s3_err_elem(q, "ClientComputedContentSHA256", "%s", hex);
        hf_hex_encode(hex, sha256, 32);
        s3_err_elem(q, "S3ComputedContentSHA256", "%s", hex);
        return s3_fail(q, S3E_XAmzContentSHA256Mismatch, NULL);
    }
    const char *md5h = s3_header(q, "content-md5");
    if (md5h) {
        unsigned char want[16];
        hf_base64_decode(want, sizeof want, md5h, strlen(md5h));
        if (memcmp(want, md5, 16) != 0) {
            /* As S3 writes them: what it computed in base64, what the
             * client sent in hex. */
            char got[25], hex[33];
            hf_base64_encode(got, md5, 16);
            hf_hex_encode(hex, want, 16);
            s3_err_elem(q, "CalculatedDigest", "%s", got);
            s3_err_elem(q, "ExpectedDigest", "%s", hex);
            return s3_fail(q, S3E_BadDigest, "The Content-MD5 you specified did not match what we received.");
        }
    }
    if (b->ck) {
        s3_ck_value(b->ck->alg, &b->hs, sha256, sha1, b->ck_raw);
        if (b->ck_in_trailer) {
            const hf_str_t *t = hf_awschunked_trailer(&b->ac, b->ck->header);
            if (!t) /* what S3 answers a missing or renamed trailer */
                return s3_fail(q, S3E_MalformedTrailerError,
                               "The trailer %s was declared in x-amz-trailer but not sent.",
                               b->ck->header);
            b->ck_value = hf_arena_strndup(q->a, t->p, t->n);
            if (!b->ck_value || !ck_value_ok(b->ck, b->ck_value))
                return s3_fail(q, S3E_InvalidRequest, "Value for %s trailing header is invalid.",
                               b->ck->header);
        }
        uint8_t want[HF_CK_MAX_LEN];
        if (b->ck_declared && (s3_parse_ck_text(b->ck, b->ck_value, want) != HF_OK ||
                               memcmp(want, b->ck_raw, b->ck->len) != 0))
            return s3_fail(q, S3E_BadDigest, "The %s you specified did not match the calculated checksum.",
                           b->ck->name);
    }
    /* Keep the MD5 for the caller (ETag). */
    memcpy(q->body.md5_out, md5, 16);
    return 0;
}

static int read_error(s3req_t *q, long rc)
{
    switch (rc) {
    case HF_E_TIMEOUT: return s3_fail(q, S3E_RequestTimeout, NULL);
    case HF_E_AUTH:
        return s3_fail(q, S3E_SignatureDoesNotMatch,
                       "A chunk signature of the aws-chunked body does not match.");
    case HF_E_TOOBIG:
    case HF_E_PROTO:
        if (q->body.aws_chunked)
            return s3_fail(q, S3E_InvalidRequest, "The aws-chunked body is malformed: %s.",
                           q->body.ac.why ? q->body.ac.why : "bad framing");
        return s3_fail(q, S3E_IncompleteBody, NULL);
    default: return s3_fail(q, S3E_IncompleteBody, NULL);
    }
}

long s3_body_read(s3req_t *q, void *buf, size_t n)
{
    s3_body_t *b = &q->body;
    if (!b->open || b->done)
        return 0;
    for (;;) {
        size_t made = 0;
        if (b->aws_chunked) {
            if (b->rawpos < b->rawlen) {
                size_t used = 0;
                int rc = hf_awschunked_decode(&b->ac, b->raw + b->rawpos, b->rawlen - b->rawpos,
                                              &used, buf, n, &made);
                if (rc)
                    return read_error(q, rc);
                b->rawpos += used;
            }
            if (made == 0 && hf_awschunked_done(&b->ac)) {
                if (b->rawpos < b->rawlen || !hf_req_body_done(q->r)) {
                    /* Bytes after the final chunk inside Content-Length. */
                    char extra;
                    if (b->rawpos < b->rawlen || hf_req_read(q->r, &extra, 1) != 0)
                        return s3_fail(q, S3E_InvalidRequest,
                                       "Unexpected data after the end of the aws-chunked body.");
                }
                return finish(q) ? -1 : 0;
            }
            if (made == 0) {
                ssize_t k = hf_req_read(q->r, b->raw, HF_IO_BUF);
                if (k < 0)
                    return read_error(q, k);
                if (k == 0) {
                    /* Input ended: some SDKs end right after the final
                     * "0\r\n"; the decoder decides whether that is a
                     * complete body. */
                    int rc = hf_awschunked_finish(&b->ac);
                    if (rc)
                        return rc == HF_E_PROTO
                                   ? s3_fail(q, S3E_IncompleteBody,
                                             "The aws-chunked body ended before its final chunk.")
                                   : read_error(q, rc);
                    continue;
                }
                b->rawpos = 0;
                b->rawlen = (size_t)k;
                continue;
            }
        } else {
            ssize_t k = hf_req_read(q->r, buf, n);
            if (k < 0)
                return read_error(q, k);
            if (k == 0)
                return finish(q) ? -1 : 0;
            made = (size_t)k;
        }
        b->got += made;
        if (b->got > b->declared)
            return s3_fail(q, S3E_InvalidRequest,
                           "The body is longer than x-amz-decoded-content-length.");
        hf_hashset_update(&b->hs, buf, made);
        return (long)made;
    }
}

int s3_body_read_all(s3req_t *q, hf_buf_t *out, size_t max)
{
    hf_buf_init(out, max);
    if (q->body.declared > max)
        return s3_fail(q, S3E_MalformedXML, "The request body is larger than %zu bytes.", max);
    for (;;) {
        size_t room = max - out->len;
        if (room == 0) {
            /* Exactly max bytes so far: the body fits only if it ends here. */
            char probe;
            long k = s3_body_read(q, &probe, 1);
            if (k < 0)
                return -1;
            if (k == 0)
                return 0;
            return s3_fail(q, S3E_MalformedXML, "The request body is larger than %zu bytes.", max);
        }
        size_t want = room < 16 * 1024 ? room : 16 * 1024;
        char *p = hf_buf_reserve(out, want);
        if (!p)
            return s3_fail(q, S3E_InternalError, NULL);
        long k = s3_body_read(q, p, want);
        if (k < 0)
            return -1;
        if (k == 0)
            return 0;
        hf_buf_commit(out, (size_t)k);
    }
}

int s3_read_xml(s3req_t *q, const char *root_name, bool allow_empty, hf_xml_node_t **root)
{
    *root = NULL;
    if (s3_body_open(q, false, HF_CK_NONE, HF_XML_BODY_MAX))
        return -1;
    hf_buf_t body;
    if (s3_body_read_all(q, &body, HF_XML_BODY_MAX)) {
        hf_buf_free(&body);
        return -1;
    }
    if (body.len == 0 && allow_empty) {
        hf_buf_free(&body);
        return 0;
    }
    int rc = hf_xml_parse(body.data ? body.data : "", body.len, q->a, root);
    hf_buf_free(&body);
    if (rc || strcmp((*root)->name, root_name) != 0) {
        *root = NULL;
        return s3_fail(q, S3E_MalformedXML, NULL);
    }
    return 0;
}

void s3_body_md5(s3req_t *q, uint8_t md5[16])
{
    memcpy(md5, q->body.md5_out, 16);
}

void s3_body_close(s3req_t *q)
{
    s3_body_t *b = &q->body;
    if (!b->open)
        return;
    if (b->hs_open)
        hf_hashset_free(&b->hs);
    if (b->aws_chunked)
        hf_awschunked_free(&b->ac);
    b->open = false;
    b->hs_open = false;
}

/* ---- receiving into storage ---- */

/* The checksum of the body just read, into d. */
static void data_checksum(s3req_t *q, s3_data_t *d)
{
    const s3_ckinfo_t *c = q->body.ck;
    if (!c)
        return;
    d->ck_alg = c->alg;
    d->ck_len = c->len;
    memcpy(d->ck, q->body.ck_raw, c->len);
}

int s3_receive(s3req_t *q, bool allow_inline, uint64_t max_len, uint8_t want_ck, s3_data_t *out)
{
    memset(out, 0, sizeof *out);
    if (!s3_body_length_known(q))
        return s3_fail(q, S3E_MissingContentLength, NULL);
    if (s3_body_open(q, true, want_ck, max_len))
        return -1;
    uint64_t len = q->body.declared;
    if (s3_check_space(q, len))
        return -1;
    if (allow_inline && len <= HF_INLINE_MAX) {
        uint8_t *data = hf_arena_alloc(q->a, len ? len : 1);
        if (!data)
            return s3_fail(q, S3E_InternalError, NULL);
        uint64_t got = 0;
        for (;;) {
            long k = s3_body_read(q, data + got, len - got);
            if (k < 0)
                return -1;
            if (k == 0)
                break;
            got += (uint64_t)k;
        }
        out->is_inline = true;
        out->inline_data = data;
        out->inline_len = (uint32_t)got;
        out->size = got;
        s3_body_md5(q, out->md5);
        data_checksum(q, out);
        return s3_sse_seal_data(q, out);
    }
    hf_blob_writer_t *w = NULL;
    int rc = s3_sse_blob_writer(q, &q->wsse, &w);
    if (rc)
        return s3_fail_storage(q, rc);
    char *buf = hf_arena_alloc(q->a, HF_IO_BUF);
    if (!buf) {
        hf_blob_writer_abort(w);
        return s3_fail(q, S3E_InternalError, NULL);
    }
    out->blob = *hf_blob_writer_id(w);
    for (;;) {
        long k = s3_body_read(q, buf, HF_IO_BUF);
        if (k < 0) {
            hf_blob_writer_abort(w);
            return -1;
        }
        if (k == 0)
            break;
        rc = hf_blob_write(w, buf, (size_t)k);
        if (rc) {
            hf_blob_writer_abort(w);
            hf_log_error("msg=\"blob write failed\" request_id=%s err=\"%s\"", q->r->id,
                         hf_strerror(rc));
            return s3_fail_storage(q, rc);
        }
    }
    uint64_t size = 0;
    rc = hf_blob_writer_finish(w, &size);
    if (rc) {
        hf_log_error("msg=\"blob finish failed\" request_id=%s err=\"%s\"", q->r->id,
                     hf_strerror(rc));
        return s3_fail_storage(q, rc);
    }
    out->have_blob = true;
    out->size = size;
    s3_body_md5(q, out->md5);
    data_checksum(q, out);
    return 0;
}

int s3_check_space(s3req_t *q, uint64_t need)
{
    uint64_t avail = 0;
    int rc = hf_chunk_space_check(q->s3->chunks, need + S3_META_ROOM, &avail);
    if (rc == HF_E_NOSPACE)
        return s3_fail(q, S3E_InsufficientStorage,
                       "The data disk has %llu bytes free and keeps %llu in reserve for deletes; "
                       "delete objects or add space, then retry.",
                       (unsigned long long)avail, (unsigned long long)hf_chunk_reserve(q->s3->chunks));
    /* statvfs failing is logged by the store; the writes themselves will
     * report a real shortage. */
    return 0;
}

int s3_fail_storage(s3req_t *q, int err)
{
    char why[200];
    switch (err) {
    case HF_E_NOSPACE:
        return s3_check_space(q, 0) ? -1
                                    : s3_fail(q, S3E_InsufficientStorage,
                                              "The data disk reached its free-space reserve.");
    case -ENOSPC:
    case -EDQUOT:
        return s3_fail(q, S3E_InsufficientStorage, "The data disk is full.");
    case HF_E_STATE:
        if (hf_chunk_failed(q->s3->chunks, NULL, why, sizeof why))
            return s3_fail(q, S3E_ServiceUnavailable,
                           "The object store refuses writes after an I/O error (%s) until an "
                           "operator reopens it; reads still work.",
                           why);
        return s3_fail(q, S3E_ServiceUnavailable,
                       "The metadata store refuses writes after a failed commit until the server "
                       "is restarted; reads still work.");
    default:
        return s3_fail(q, hf_s3_err_from(err), NULL);
    }
}

void s3_data_discard(s3req_t *q, s3_data_t *d)
{
    if (d->have_blob) {
        hf_chunk_release(q->s3->chunks, &d->blob, d->size);
        d->have_blob = false;
    }
}
