/*
 * fuzz_chunk_file.c -- the on-disk chunk decoder (chunk/store.c): the
 * input becomes chunk file 0 of a blob, then the blob is read back through
 * the verifying readers at offsets taken from the input: as a plain blob
 * (format v1), as a sealed blob without the key (v2, what the scrubber
 * does) and as a sealed blob with a fixed key (v2, decrypting).
 *
 * Input: size u32 (little-endian; the blob size the "metadata" claims,
 * reduced below one chunk), offset u32, length u16, then the file bytes.
 * The blob id is the one in the file's header (bytes 16..31) when the file
 * is that long, so valid sealed chunks in the corpus (written under KEY by
 * the store itself) keep their blob-bound keys; otherwise a fixed id.
 *
 * Properties: memory safety, and the verification contract: a plain or
 * keyless read that succeeds returns exactly the file's payload bytes at
 * that place (the bytes the checksums cover); a keyed read succeeds only
 * where the keyless one does (the crcs come first); and a read that fails
 * leaves the caller's buffer all zero -- never unverified bytes.
 */
#include "base/err.h"
#include "base/limits.h"
#include "base/log.h"
#include "chunk/store.h"

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PAYLOAD_OFF 4096
#define MAX_BLOB (512 * 1024)

static hf_chunk_store_t *store;
static char dir[] = "/tmp/hf-fuzz-chunk-XXXXXX";
static const hf_blob_id_t fixed_id = {{0x42, 0x17, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}};
static const uint8_t KEY[HF_CHUNK_KEY_LEN] = "holdfast fuzz key for chunk v2!!";
static unsigned char buf[MAX_BLOB], raw[MAX_BLOB];

static void setup(void)
{
    if (!mkdtemp(dir))
        abort();
    hf_log_set_level(-1);
    if (hf_chunk_store_open(dir, &store) != HF_OK)
        abort();
}

/* Make the chunk directories of id exist; the path of its chunk 0. */
static void place(const hf_blob_id_t *id, char *path)
{
    char d[HF_CHUNK_PATH_MAX];
    snprintf(d, sizeof d, "%s/chunks/%02x", dir, id->b[0]);
    mkdir(d, 0700);
    snprintf(d, sizeof d, "%s/chunks/%02x/%02x", dir, id->b[0], id->b[1]);
    mkdir(d, 0700);
    hf_chunk_path(store, id, 0, path);
}

/* Read [off, off + n) through r into out; check the zeroing contract. */
static int read_one(hf_blob_reader_t *r, uint64_t off, unsigned char *out, size_t n)
{
    memset(out, 0xAA, n);
    int rc = hf_blob_read(r, off, out, n);
    if (rc != HF_OK) {
        for (size_t i = 0; i < n; i++)
            if (out[i] != 0)
                abort();
        if (rc != HF_E_CORRUPT && rc != HF_E_VERSION && rc != HF_E_INVAL)
            abort();
    }
    return rc;
}

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!store)
        setup();
    if (size < 10)
        return 0;
    uint64_t bsize = le32(data) % MAX_BLOB;
    uint64_t off = bsize ? le32(data + 4) % bsize : 0;
    size_t n = (size_t)(data[8] | data[9] << 8);
    if (off + n > bsize)
        n = (size_t)(bsize - off);
    const uint8_t *file = data + 10;
    size_t flen = size - 10;
    hf_blob_id_t id = fixed_id;
    if (flen >= 32)
        memcpy(id.b, file + 16, 16);
    char path[HF_CHUNK_PATH_MAX];
    place(&id, path);
    int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0600);
    if (fd < 0 || write(fd, file, flen) != (ssize_t)flen)
        abort();
    close(fd);
    for (int mode = 0; mode < 2; mode++) {
        /* mode 0: plain; mode 1: sealed, read without the key */
        hf_blob_reader_t *r;
        int orc = mode ? hf_blob_reader_open_sealed(store, &id, bsize, NULL, &r)
                       : hf_blob_reader_open(store, &id, bsize, &r);
        if (orc != HF_OK)
            abort();
        int rc = read_one(r, off, buf, n);
        if (rc == HF_OK) {
            if (n && (PAYLOAD_OFF + off + n > flen || memcmp(buf, file + PAYLOAD_OFF + off, n) != 0))
                abort();
            /* A second read of another place of the same chunk (cached header). */
            if (bsize > 1) {
                uint64_t o2 = (off + n / 2 + 1) % bsize;
                size_t n2 = bsize - o2 < 100 ? (size_t)(bsize - o2) : 100;
                if (read_one(r, o2, buf, n2) == HF_OK && memcmp(buf, file + PAYLOAD_OFF + o2, n2) != 0)
                    abort();
            }
        }
        hf_blob_reader_close(r);
    }
    /* With the key: succeeds only where the keyless read does. */
    hf_blob_reader_t *r, *k;
    if (hf_blob_reader_open_sealed(store, &id, bsize, KEY, &k) != HF_OK ||
        hf_blob_reader_open_sealed(store, &id, bsize, NULL, &r) != HF_OK)
        abort();
    if (read_one(k, off, buf, n) == HF_OK && read_one(r, off, raw, n) != HF_OK)
        abort();
    hf_blob_reader_close(k);
    hf_blob_reader_close(r);
    unlink(path);
    return 0;
}
