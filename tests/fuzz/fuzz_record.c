/*
 * fuzz_record.c -- the metadata record decoders (meta/record.c): object,
 * upload, part, bucket, user and blob records.
 *
 * Properties: memory safety (every length is checked against the value),
 * and the decoders agree with each other: an object record that decodes
 * gives the same fixed fields through the listing summary, and the same
 * part list through the raw parts view; every decoded string lies in the
 * arena; the parts add up as the decoder promises; a user record that
 * decodes re-encodes to one that decodes the same.
 */
#include "base/arena.h"
#include "base/buf.h"
#include "base/err.h"
#include "meta/record.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static hf_arena_t a;
    static int init;
    if (!init) {
        hf_arena_init(&a, 256 * 1024 * 1024);
        init = 1;
    }
    hf_obj_t o;
    int rc = hf_rec_obj_decode(data, size, &a, &o);
    hf_rec_summary_t s;
    int src = hf_rec_obj_summary(data, size, &s);
    const uint8_t *raw;
    uint32_t np;
    int prc = hf_rec_obj_parts(data, size, &raw, &np);
    if (rc == HF_OK) {
        if (src != HF_OK || s.size != o.size || s.flags != o.flags || s.mtime != o.mtime ||
            memcmp(s.etag, o.etag, 16) != 0 || s.etag_parts != o.etag_parts || s.owner != o.owner)
            abort();
        if (prc != HF_OK || np != o.nparts)
            abort();
        for (uint32_t i = 0; i < np; i++) {
            hf_obj_part_t p;
            hf_rec_obj_part_at(raw, i, &p);
            if (memcmp(&p.blob, &o.parts[i].blob, sizeof p.blob) != 0 || p.size != o.parts[i].size)
                abort();
        }
        for (uint32_t i = 0; i < o.nmeta; i++)
            if (!o.meta[i].name || !o.meta[i].value)
                abort();
        if ((o.flags & HF_OBJ_INLINE) && o.inline_len && !o.inline_data)
            abort();
    }
    const char *k;
    size_t kl;
    (void)hf_rec_find_key(data, size, HF_REC_OBJ_FIXED, &k, &kl);
    hf_upload_t u;
    (void)hf_rec_upload_decode(data, size, &a, &u);
    (void)hf_rec_upload_decode(data, size, NULL, &u);
    hf_part_t part;
    (void)hf_rec_part_decode(data, size, &part);
    hf_bucket_t b;
    (void)hf_rec_bucket_decode(data, size, &b);
    hf_user_t usr;
    memset(&usr, 0, sizeof usr);
    if (hf_rec_user_decode(data, size, &usr) == HF_OK) {
        /* What decodes re-encodes to a record that decodes the same:
         * keys, secrets, restrictions and expiries survive a rewrite. */
        static hf_buf_t ub;
        static int ub_init;
        if (!ub_init) {
            hf_buf_init(&ub, 4096);
            ub_init = 1;
        }
        hf_buf_reset(&ub);
        hf_user_t again;
        memset(&again, 0, sizeof again);
        if (hf_rec_user_encode(&ub, &usr) != HF_OK ||
            hf_rec_user_decode(ub.data, ub.len, &again) != HF_OK ||
            again.id != usr.id || again.flags != usr.flags || again.created != usr.created ||
            again.key_created != usr.key_created || again.nretiring != usr.nretiring ||
            strcmp(again.access_key, usr.access_key) || strcmp(again.secret_key, usr.secret_key))
            abort();
        for (uint32_t i = 0; i < usr.nretiring; i++)
            if (strcmp(again.retiring[i].access_key, usr.retiring[i].access_key) ||
                strcmp(again.retiring[i].secret_key, usr.retiring[i].secret_key) ||
                again.retiring[i].expires != usr.retiring[i].expires ||
                again.retiring[i].created != usr.retiring[i].created)
                abort();
    }
    uint32_t refs;
    uint64_t bs;
    (void)hf_rec_blob_decode(data, size, &refs, &bs);
    hf_arena_reset(&a);
    return 0;
}
