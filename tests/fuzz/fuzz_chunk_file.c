/*
 * fuzz_chunk_file.c -- the on-disk chunk decoder (chunk/store.c): the
 * input becomes chunk file 0 of a blob, then the blob is read back through
 * the verifying reader at offsets taken from the input.
 *
 * Input: size u32 (little-endian; the blob size the "metadata" claims,
 * reduced below one chunk), offset u32, length u16, then the file bytes.
 *
 * Properties: memory safety, and the verification contract: a read that
 * succeeds returns exactly the file's payload bytes at that place (the
 * bytes the checksums cover), and a read that fails leaves the caller's
 * buffer all zero -- never unverified bytes.
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
static char path[HF_CHUNK_PATH_MAX];
static const hf_blob_id_t id = {{0x42, 0x17, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}};
static unsigned char buf[MAX_BLOB];

static void setup(void)
{
    char dir[] = "/tmp/hf-fuzz-chunk-XXXXXX";
    if (!mkdtemp(dir))
        abort();
    hf_log_set_level(-1);
    if (hf_chunk_store_open(dir, &store) != HF_OK)
        abort();
    hf_chunk_path(store, &id, 0, path);
    char d[HF_CHUNK_PATH_MAX];
    snprintf(d, sizeof d, "%s/chunks/42", dir);
    mkdir(d, 0700);
    snprintf(d, sizeof d, "%s/chunks/42/17", dir);
    mkdir(d, 0700);
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
    int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0600);
    if (fd < 0 || write(fd, file, flen) != (ssize_t)flen)
        abort();
    close(fd);
    hf_blob_reader_t *r;
    if (hf_blob_reader_open(store, &id, bsize, &r) != HF_OK)
        abort();
    memset(buf, 0xAA, n);
    int rc = hf_blob_read(r, off, buf, n);
    if (rc == HF_OK) {
        if (n && (PAYLOAD_OFF + off + n > flen || memcmp(buf, file + PAYLOAD_OFF + off, n) != 0))
            abort();
        /* A second read of another place of the same chunk (cached header). */
        if (bsize > 1) {
            uint64_t o2 = (off + n / 2 + 1) % bsize;
            size_t n2 = bsize - o2 < 100 ? (size_t)(bsize - o2) : 100;
            if (hf_blob_read(r, o2, buf, n2) == HF_OK &&
                memcmp(buf, file + PAYLOAD_OFF + o2, n2) != 0)
                abort();
        }
    } else {
        for (size_t i = 0; i < n; i++)
            if (buf[i] != 0)
                abort();
        if (rc != HF_E_CORRUPT && rc != HF_E_VERSION && rc != HF_E_INVAL)
            abort();
    }
    hf_blob_reader_close(r);
    return 0;
}
