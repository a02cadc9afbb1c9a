/* Unit tests for src/chunk/store.c: round trips, the on-disk format,
 * corruption detection, fault injection through hf_vfs, epoch reclaim and
 * the orphan sweep. */
#include "test.h"

#include "base/crypt.h"
#include "base/err.h"
#include "base/hash.h"
#include "base/limits.h"
#include "base/vfs.h"
#include "chunk/store.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define CK_PAYLOAD_OFF 4096
#define CK_HDR_SIZE 48

/* ---- helpers ------------------------------------------------------------- */

static uint64_t rng_state;

static uint64_t rnd(void)
{
    /* xorshift64*: reproducible data and ranges from a fixed seed. */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545F4914F6CDD1DULL;
}

static unsigned char *rand_data(size_t n)
{
    unsigned char *p = malloc(n ? n : 1);
    if (!p)
        abort();
    for (size_t i = 0; i < n; i++)
        p[i] = (unsigned char)(rnd() >> 56);
    return p;
}

/* When set, blobs are written and read sealed under this key (format v2);
 * the round-trip and damage tests run both ways. */
static const uint8_t *test_key;
static const uint8_t key_a[HF_CHUNK_KEY_LEN] = "0123456789abcdef0123456789abcdef";
static const uint8_t key_b[HF_CHUNK_KEY_LEN] = "0123456789abcdef0123456789abcdeF";

static int open_writer(hf_chunk_store_t *s, hf_blob_writer_t **w)
{
    return test_key ? hf_blob_writer_open_sealed(s, test_key, w) : hf_blob_writer_open(s, w);
}

static int open_reader(hf_chunk_store_t *s, const hf_blob_id_t *id, uint64_t size,
                       hf_blob_reader_t **r)
{
    return test_key ? hf_blob_reader_open_sealed(s, id, size, test_key, r)
                    : hf_blob_reader_open(s, id, size, r);
}

/* Write data in odd-sized pieces; returns finish's result. */
static int write_blob(hf_chunk_store_t *s, const unsigned char *data, size_t n, hf_blob_id_t *id)
{
    static const size_t pieces[] = {1, 7, 4095, 65535, 65536, 65537, 100003, 262144, 300001, 3};
    hf_blob_writer_t *w;
    int rc = open_writer(s, &w);
    if (rc != HF_OK)
        return rc;
    *id = *hf_blob_writer_id(w);
    size_t off = 0;
    for (unsigned i = 0; off < n; i++) {
        size_t k = pieces[(i + (unsigned)n) % (sizeof pieces / sizeof pieces[0])];
        if (k > n - off)
            k = n - off;
        if ((rc = hf_blob_write(w, data + off, k)) != HF_OK) {
            hf_blob_writer_abort(w);
            return rc;
        }
        off += k;
    }
    uint64_t size = 0;
    rc = hf_blob_writer_finish(w, &size);
    if (rc == HF_OK && size != n)
        return -1;
    return rc;
}

static int read_range(hf_chunk_store_t *s, const hf_blob_id_t *id, uint64_t size, uint64_t off,
                      void *buf, size_t n)
{
    hf_blob_reader_t *r;
    int rc = open_reader(s, id, size, &r);
    if (rc != HF_OK)
        return rc;
    rc = hf_blob_read(r, off, buf, n);
    hf_blob_reader_close(r);
    return rc;
}

static long nfiles;
static int count_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)p;
    (void)st;
    (void)ftw;
    if (flag == FTW_F)
        nfiles++;
    return 0;
}

/* Regular files anywhere under dir. */
static long count_files(const char *dir)
{
    nfiles = 0;
    nftw(dir, count_one, 16, FTW_PHYS);
    return nfiles;
}

static bool exists(hf_chunk_store_t *s, const hf_blob_id_t *id, uint32_t idx)
{
    char p[HF_CHUNK_PATH_MAX];
    hf_chunk_path(s, id, idx, p);
    return access(p, F_OK) == 0;
}

static long long file_size(hf_chunk_store_t *s, const hf_blob_id_t *id, uint32_t idx)
{
    char p[HF_CHUNK_PATH_MAX];
    struct stat st;
    hf_chunk_path(s, id, idx, p);
    return stat(p, &st) == 0 ? (long long)st.st_size : -1;
}

static void patch(hf_chunk_store_t *s, const hf_blob_id_t *id, uint32_t idx, off_t off,
                  const void *p, size_t n)
{
    char path[HF_CHUNK_PATH_MAX];
    hf_chunk_path(s, id, idx, path);
    int fd = open(path, O_RDWR);
    CHECK(fd >= 0);
    CHECK_EQ_INT(pwrite(fd, p, n, off), (long long)n);
    close(fd);
}

static void flip(hf_chunk_store_t *s, const hf_blob_id_t *id, uint32_t idx, off_t off)
{
    char path[HF_CHUNK_PATH_MAX];
    hf_chunk_path(s, id, idx, path);
    int fd = open(path, O_RDWR);
    CHECK(fd >= 0);
    unsigned char c;
    CHECK_EQ_INT(pread(fd, &c, 1, off), 1);
    c ^= 0x40;
    CHECK_EQ_INT(pwrite(fd, &c, 1, off), 1);
    close(fd);
}

static uint32_t le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void age(hf_chunk_store_t *s, const hf_blob_id_t *id, uint32_t idx, time_t secs_ago)
{
    char path[HF_CHUNK_PATH_MAX];
    hf_chunk_path(s, id, idx, path);
    struct timespec ts[2];
    clock_gettime(CLOCK_REALTIME, &ts[0]);
    ts[0].tv_sec -= secs_ago;
    ts[1] = ts[0];
    CHECK_EQ_INT(utimensat(AT_FDCWD, path, ts, 0), 0);
}

static hf_chunk_store_t *open_store(const char *dir)
{
    hf_chunk_store_t *s = NULL;
    if (hf_chunk_store_open(dir, &s) != HF_OK || !s)
        hf_test_fail(__FILE__, __LINE__, "hf_chunk_store_open(%s) failed", dir);
    return s;
}

/* ---- round trips --------------------------------------------------------- */

static void roundtrip(size_t n, long expect_files)
{
    char *dir = hf_test_tmpdir();
    hf_chunk_store_t *s = open_store(dir);
    rng_state = 0x9e3779b97f4a7c15ULL ^ n;
    unsigned char *data = rand_data(n);
    unsigned char *back = malloc(n + 1);
    hf_blob_id_t id;
    CHECK_EQ_INT(write_blob(s, data, n, &id), HF_OK);
    CHECK_EQ_INT(count_files(dir), expect_files);
    for (long i = 0; i < expect_files; i++) {
        size_t plen = n - (size_t)i * HF_CHUNK_SIZE;
        if (plen > HF_CHUNK_SIZE)
            plen = HF_CHUNK_SIZE;
        CHECK_EQ_INT(file_size(s, &id, (uint32_t)i), CK_PAYLOAD_OFF + (long long)plen);
    }
    CHECK(!exists(s, &id, (uint32_t)expect_files));
    hf_chunk_stats_t st;
    hf_chunk_stats(s, &st);
    CHECK_EQ_INT(st.chunks_written, expect_files);
    CHECK_EQ_INT(st.bytes_written, n);

    /* whole */
    memset(back, 0xee, n + 1);
    CHECK_EQ_INT(read_range(s, &id, n, 0, back, n), HF_OK);
    CHECK_EQ_MEM(back, data, n);
    CHECK_EQ_INT(back[n], 0xee);
    /* past the end */
    CHECK_EQ_INT(read_range(s, &id, n, n, back, 1), HF_E_INVAL);
    CHECK_EQ_INT(read_range(s, &id, n, 0, back, n + 1), HF_E_INVAL);
    CHECK_EQ_INT(read_range(s, &id, n, n, back, 0), HF_OK);

    if (n) {
        /* random ranges through one reader (exercises the fd and block
         * caches), then sequential odd-sized reads */
        hf_blob_reader_t *r;
        CHECK_EQ_INT(open_reader(s, &id, n, &r), HF_OK);
        for (int i = 0; i < 200; i++) {
            uint64_t off = rnd() % n;
            size_t len = (size_t)(rnd() % (n - off)) + 1;
            if (len > 3 * HF_CHUNK_BLOCK && (i & 1))
                len = (size_t)(rnd() % (3 * HF_CHUNK_BLOCK)) + 1;
            memset(back, 0, len);
            CHECK_EQ_INT(hf_blob_read(r, off, back, len), HF_OK);
            CHECK_EQ_MEM(back, data + off, len);
        }
        for (uint64_t off = 0; off < n;) {
            size_t len = 70001;
            if (len > n - off)
                len = n - off;
            CHECK_EQ_INT(hf_blob_read(r, off, back, len), HF_OK);
            CHECK_EQ_MEM(back, data + off, len);
            off += len;
        }
        /* ranges across every chunk boundary */
        for (uint64_t b = HF_CHUNK_SIZE; b < n; b += HF_CHUNK_SIZE) {
            uint64_t off = b - 5;
            size_t len = n - off < 10 ? n - off : 10;
            CHECK_EQ_INT(hf_blob_read(r, off, back, len), HF_OK);
            CHECK_EQ_MEM(back, data + off, len);
            off = b - HF_CHUNK_BLOCK;
            len = n - off < 2 * HF_CHUNK_BLOCK ? n - off : 2 * HF_CHUNK_BLOCK;
            CHECK_EQ_INT(hf_blob_read(r, off, back, len), HF_OK);
            CHECK_EQ_MEM(back, data + off, len);
        }
        hf_blob_reader_close(r);
    }
    hf_chunk_stats(s, &st);
    CHECK_EQ_INT(st.corrupt_reads, 0);
    CHECK(st.bytes_read >= n);

    hf_chunk_store_close(s);
    free(data);
    free(back);
    hf_test_rmtree(dir);
    free(dir);
}

TEST(roundtrip_empty) { roundtrip(0, 0); }
TEST(roundtrip_one_byte) { roundtrip(1, 1); }
TEST(roundtrip_block_minus_one) { roundtrip(HF_CHUNK_BLOCK - 1, 1); }
TEST(roundtrip_block_plus_one) { roundtrip(HF_CHUNK_BLOCK + 1, 1); }
TEST(roundtrip_chunk_exact) { roundtrip(HF_CHUNK_SIZE, 1); }
TEST(roundtrip_chunk_plus_one) { roundtrip(HF_CHUNK_SIZE + 1, 2); }
TEST(roundtrip_three_chunks) { roundtrip(3 * HF_CHUNK_SIZE - 12345, 3); }
TEST(roundtrip_three_chunks_and_a_bit) { roundtrip(3 * HF_CHUNK_SIZE + 77777, 4); }

/* The same round trips through sealed blobs. */
static void sealed_roundtrip(size_t n, long expect_files)
{
    test_key = key_a;
    roundtrip(n, expect_files);
    test_key = NULL;
}
TEST(sealed_roundtrip_empty) { sealed_roundtrip(0, 0); }
TEST(sealed_roundtrip_one_byte) { sealed_roundtrip(1, 1); }
TEST(sealed_roundtrip_block_minus_one) { sealed_roundtrip(HF_CHUNK_BLOCK - 1, 1); }
TEST(sealed_roundtrip_block_plus_one) { sealed_roundtrip(HF_CHUNK_BLOCK + 1, 1); }
TEST(sealed_roundtrip_chunk_exact) { sealed_roundtrip(HF_CHUNK_SIZE, 1); }
TEST(sealed_roundtrip_chunk_plus_one) { sealed_roundtrip(HF_CHUNK_SIZE + 1, 2); }
TEST(sealed_roundtrip_three_chunks_and_a_bit) { sealed_roundtrip(3 * HF_CHUNK_SIZE + 77777, 4); }

TEST(many_blobs_distinct_ids)
{
    char *dir = hf_test_tmpdir();
    hf_chunk_store_t *s = open_store(dir);
    rng_state = 42;
    hf_blob_id_t ids[20];
    unsigned char *data[20];
    for (int i = 0; i < 20; i++) {
        data[i] = rand_data(1000 + (size_t)i);
        CHECK_EQ_INT(write_blob(s, data[i], 1000 + (size_t)i, &ids[i]), HF_OK);
        for (int j = 0; j < i; j++)
            CHECK(memcmp(ids[i].b, ids[j].b, 16) != 0);
    }
    CHECK_EQ_INT(count_files(dir), 20);
    unsigned char back[1100];
    for (int i = 0; i < 20; i++) {
        CHECK_EQ_INT(read_range(s, &ids[i], 1000 + (uint64_t)i, 0, back, 1000 + (size_t)i), HF_OK);
        CHECK_EQ_MEM(back, data[i], 1000 + (size_t)i);
        free(data[i]);
    }
    hf_chunk_store_close(s);
    hf_test_rmtree(dir);
    free(dir);
}

/* ---- format ---------------------------------------------------------------- */

TEST(format_v1_layout)
{
    char *dir = hf_test_tmpdir();
    hf_chunk_store_t *s = open_store(dir);
    rng_state = 7;
    size_t n = HF_CHUNK_SIZE + 3 * HF_CHUNK_BLOCK + 10; /* chunk 1: 4 blocks, last short */
    unsigned char *data = rand_data(n);
    hf_blob_id_t id;
    CHECK_EQ_INT(write_blob(s, data, n, &id), HF_OK);

    char path[HF_CHUNK_PATH_MAX], want[HF_CHUNK_PATH_MAX], hex[33];
    hf_chunk_path(s, &id, 1, path);
    for (int i = 0; i < 16; i++)
        snprintf(hex + 2 * i, 3, "%02x", id.b[i]);
    snprintf(want, sizeof want, "%s/chunks/%.2s/%.2s/%s.1", dir, hex, hex + 2, hex);
    CHECK_EQ_STR(path, want);

    struct stat st;
    CHECK_EQ_INT(stat(path, &st), 0);
    CHECK_EQ_INT(st.st_mode & 0777, 0600);
    size_t plen = 3 * HF_CHUNK_BLOCK + 10;
    CHECK_EQ_INT(st.st_size, CK_PAYLOAD_OFF + (long long)plen);
    unsigned char *f = malloc((size_t)st.st_size);
    int fd = open(path, O_RDONLY);
    CHECK(fd >= 0);
    CHECK_EQ_INT(pread(fd, f, (size_t)st.st_size, 0), st.st_size);
    close(fd);

    CHECK_EQ_MEM(f, "HFCK", 4);
    CHECK_EQ_INT(f[4] | f[5] << 8, 1);            /* version */
    CHECK_EQ_INT(f[6] | f[7] << 8, CK_HDR_SIZE);  /* header size */
    CHECK_EQ_INT(le32(f + 8), HF_CHUNK_BLOCK);
    CHECK_EQ_INT(le32(f + 12), plen);
    CHECK_EQ_MEM(f + 16, id.b, 16);
    CHECK_EQ_INT(le32(f + 32), 1);                /* chunk index */
    CHECK_EQ_INT(le32(f + 36), 4);                /* block count */
    CHECK_EQ_INT(le32(f + 40), hf_crc32c(0, f + CK_HDR_SIZE, 16));
    CHECK_EQ_INT(le32(f + 44), hf_crc32c(0, f, 44));
    for (int b = 0; b < 4; b++) {
        size_t len = b < 3 ? HF_CHUNK_BLOCK : 10;
        CHECK_EQ_INT(le32(f + CK_HDR_SIZE + 4 * b),
                     hf_crc32c(0, f + CK_PAYLOAD_OFF + (size_t)b * HF_CHUNK_BLOCK, len));
    }
    for (size_t i = CK_HDR_SIZE + 16; i < CK_PAYLOAD_OFF; i++)
        CHECK_EQ_INT(f[i], 0);                    /* reserved */
    CHECK_EQ_MEM(f + CK_PAYLOAD_OFF, data + HF_CHUNK_SIZE, plen);

    free(f);
    free(data);
    hf_chunk_store_close(s);
    hf_test_rmtree(dir);
    free(dir);
}

/* ---- corruption ---------------------------------------------------------------- */

struct damaged {
    char *dir;
    hf_chunk_store_t *s;
    unsigned char *data;
    size_t n;
    hf_blob_id_t id;
    unsigned char *buf;
};

static void damaged_setup(struct damaged *d)
{
    d->dir = hf_test_tmpdir();
    d->s = open_store(d->dir);
    rng_state = 99;
    d->n = 2 * HF_CHUNK_SIZE + 5 * HF_CHUNK_BLOCK; /* chunks 0, 1 full; chunk 2 has 5 blocks */
    d->data = rand_data(d->n);
    d->buf = malloc(d->n);
    CHECK_EQ_INT(write_blob(d->s, d->data, d->n, &d->id), HF_OK);
}

static void damaged_teardown(struct damaged *d)
{
    hf_chunk_store_close(d->s);
    free(d->data);
    free(d->buf);
    hf_test_rmtree(d->dir);
    free(d->dir);
}

static int rd(struct damaged *d, uint64_t off, size_t n)
{
    memset(d->buf, 0x5a, n);
    int rc = read_range(d->s, &d->id, d->n, off, d->buf, n);
    if (rc == HF_OK && memcmp(d->buf, d->data + off, n) != 0)
        hf_test_fail(__FILE__, __LINE__, "read at %llu+%zu returned wrong bytes",
                     (unsigned long long)off, n);
    if (rc != HF_OK)
        for (size_t i = 0; i < n; i++)
            if (d->buf[i] != 0)
                hf_test_fail(__FILE__, __LINE__, "failed read left bytes in the buffer");
    return rc;
}

static uint64_t corrupt_count(hf_chunk_store_t *s)
{
    hf_chunk_stats_t st;
    hf_chunk_stats(s, &st);
    return st.corrupt_reads;
}

TEST(corrupt_payload_block)
{
    struct damaged d;
    damaged_setup(&d);
    /* chunk 1, block 3, a byte in the middle */
    flip(d.s, &d.id, 1, CK_PAYLOAD_OFF + 3 * HF_CHUNK_BLOCK + 1234);
    uint64_t b3 = HF_CHUNK_SIZE + 3 * HF_CHUNK_BLOCK;
    CHECK_EQ_INT(rd(&d, b3 + 1234, 1), HF_E_CORRUPT);
    CHECK_EQ_INT(corrupt_count(d.s), 1);
    CHECK_EQ_INT(rd(&d, b3 - 10, 20), HF_E_CORRUPT); /* straddles into it */
    CHECK_EQ_INT(rd(&d, 0, d.n), HF_E_CORRUPT);     /* whole blob */
    CHECK_EQ_INT(corrupt_count(d.s), 3);
    /* everything not touching block 3 of chunk 1 still reads */
    CHECK_EQ_INT(rd(&d, b3 - 100, 100), HF_OK);
    CHECK_EQ_INT(rd(&d, b3 + HF_CHUNK_BLOCK, 100), HF_OK);
    CHECK_EQ_INT(rd(&d, 0, (size_t)b3), HF_OK);
    CHECK_EQ_INT(rd(&d, b3 + HF_CHUNK_BLOCK, (size_t)(d.n - b3 - HF_CHUNK_BLOCK)), HF_OK);
    CHECK_EQ_INT(corrupt_count(d.s), 3);

    /* one reader: the damaged block does not poison later good reads */
    hf_blob_reader_t *r;
    CHECK_EQ_INT(hf_blob_reader_open(d.s, &d.id, d.n, &r), HF_OK);
    CHECK_EQ_INT(hf_blob_read(r, b3 + 5, d.buf, 10), HF_E_CORRUPT);
    CHECK_EQ_INT(hf_blob_read(r, b3 - 5, d.buf, 5), HF_OK);
    CHECK_EQ_MEM(d.buf, d.data + b3 - 5, 5);
    CHECK_EQ_INT(hf_blob_read(r, b3 + 5, d.buf, 10), HF_E_CORRUPT);
    hf_blob_reader_close(r);
    CHECK_EQ_INT(corrupt_count(d.s), 5);
    damaged_teardown(&d);
}

TEST(corrupt_last_short_block)
{
    char *dir = hf_test_tmpdir();
    hf_chunk_store_t *s = open_store(dir);
    rng_state = 5;
    size_t n = HF_CHUNK_BLOCK + 100;
    unsigned char *data = rand_data(n), back[200];
    hf_blob_id_t id;
    CHECK_EQ_INT(write_blob(s, data, n, &id), HF_OK);
    flip(s, &id, 0, CK_PAYLOAD_OFF + HF_CHUNK_BLOCK + 99);
    CHECK_EQ_INT(read_range(s, &id, n, HF_CHUNK_BLOCK, back, 1), HF_E_CORRUPT);
    CHECK_EQ_INT(read_range(s, &id, n, HF_CHUNK_BLOCK - 100, back, 100), HF_OK);
    CHECK_EQ_MEM(back, data + HF_CHUNK_BLOCK - 100, 100);
    free(data);
    hf_chunk_store_close(s);
    hf_test_rmtree(dir);
    free(dir);
}

TEST(corrupt_crc_table)
{
    struct damaged d;
    damaged_setup(&d);
    flip(d.s, &d.id, 1, CK_HDR_SIZE + 4 * 7 + 2); /* crc of chunk 1 block 7 */
    uint64_t c1 = HF_CHUNK_SIZE;
    CHECK_EQ_INT(rd(&d, c1 + 7 * HF_CHUNK_BLOCK + 10, 10), HF_E_CORRUPT);
    CHECK_EQ_INT(corrupt_count(d.s), 1);
    /* other chunks are unaffected */
    CHECK_EQ_INT(rd(&d, 0, HF_CHUNK_SIZE), HF_OK);
    CHECK_EQ_INT(rd(&d, 2 * c1, (size_t)(d.n - 2 * c1)), HF_OK);
    CHECK_EQ_INT(rd(&d, c1 - 3, 6), HF_E_CORRUPT);
    CHECK_EQ_INT(corrupt_count(d.s), 2);

    /* Damage a table entry and fix the table checksum, as a writer bug
     * could: the block check itself catches it. */
    damaged_teardown(&d);
    damaged_setup(&d);
    char path[HF_CHUNK_PATH_MAX];
    hf_chunk_path(d.s, &d.id, 2, path);
    unsigned char h[CK_HDR_SIZE + 4 * 5];
    int fd = open(path, O_RDWR);
    CHECK(fd >= 0);
    CHECK_EQ_INT(pread(fd, h, sizeof h, 0), (long)sizeof h);
    h[CK_HDR_SIZE + 4 * 2] ^= 1;
    uint32_t tc = hf_crc32c(0, h + CK_HDR_SIZE, 20);
    for (int i = 0; i < 4; i++)
        h[40 + i] = (unsigned char)(tc >> (8 * i));
    uint32_t hc = hf_crc32c(0, h, 44);
    for (int i = 0; i < 4; i++)
        h[44 + i] = (unsigned char)(hc >> (8 * i));
    CHECK_EQ_INT(pwrite(fd, h, sizeof h, 0), (long)sizeof h);
    close(fd);
    uint64_t c2 = 2 * HF_CHUNK_SIZE;
    CHECK_EQ_INT(rd(&d, c2 + 2 * HF_CHUNK_BLOCK, HF_CHUNK_BLOCK), HF_E_CORRUPT);
    CHECK_EQ_INT(rd(&d, c2, 2 * HF_CHUNK_BLOCK), HF_OK);
    CHECK_EQ_INT(rd(&d, c2 + 3 * HF_CHUNK_BLOCK, 2 * HF_CHUNK_BLOCK), HF_OK);
    damaged_teardown(&d);
}

TEST(corrupt_header_fields)
{
    struct damaged d;
    damaged_setup(&d);
    unsigned char orig[CK_PAYLOAD_OFF];
    char path[HF_CHUNK_PATH_MAX];
    hf_chunk_path(d.s, &d.id, 1, path);
    int fd = open(path, O_RDONLY);
    CHECK(fd >= 0);
    CHECK_EQ_INT(pread(fd, orig, sizeof orig, 0), (long)sizeof orig);
    close(fd);
    /* magic, version (both bytes), header size, block size, payload length,
     * blob id, index, block count, table crc, header crc */
    static const int offs[] = {0, 3, 4, 5, 6, 9, 13, 14, 16, 31, 32, 35, 36, 40, 44, 47};
    uint64_t expect = 0;
    for (size_t i = 0; i < sizeof offs / sizeof offs[0]; i++) {
        patch(d.s, &d.id, 1, 0, orig, sizeof orig);
        flip(d.s, &d.id, 1, offs[i]);
        if (rd(&d, HF_CHUNK_SIZE + 100, 1) != HF_E_CORRUPT)
            hf_test_fail(__FILE__, __LINE__, "flip at header offset %d not detected", offs[i]);
        CHECK_EQ_INT(corrupt_count(d.s), ++expect);
        CHECK_EQ_INT(rd(&d, 100, HF_CHUNK_SIZE - 100), HF_OK);
        CHECK_EQ_INT(rd(&d, 2 * HF_CHUNK_SIZE, 1000), HF_OK);
    }
    patch(d.s, &d.id, 1, 0, orig, sizeof orig);
    CHECK_EQ_INT(rd(&d, 0, d.n), HF_OK);
    damaged_teardown(&d);
}

TEST(unknown_version_is_version_error)
{
    struct damaged d;
    damaged_setup(&d);
    char path[HF_CHUNK_PATH_MAX];
    hf_chunk_path(d.s, &d.id, 0, path);
    unsigned char h[CK_HDR_SIZE];
    int fd = open(path, O_RDWR);
    CHECK(fd >= 0);
    CHECK_EQ_INT(pread(fd, h, sizeof h, 0), CK_HDR_SIZE);
    h[4] = 3; /* version 3 with a header checksum that matches */
    uint32_t hc = hf_crc32c(0, h, 44);
    for (int i = 0; i < 4; i++)
        h[44 + i] = (unsigned char)(hc >> (8 * i));
    CHECK_EQ_INT(pwrite(fd, h, sizeof h, 0), CK_HDR_SIZE);
    close(fd);
    CHECK_EQ_INT(rd(&d, 10, 10), HF_E_VERSION);
    CHECK_EQ_INT(corrupt_count(d.s), 0);
    CHECK_EQ_INT(rd(&d, HF_CHUNK_SIZE, 10), HF_OK);
    damaged_teardown(&d);
}

TEST(truncated_missing_and_misplaced_chunks)
{
    struct damaged d;
    damaged_setup(&d);
    char p0[HF_CHUNK_PATH_MAX], p1[HF_CHUNK_PATH_MAX], p2[HF_CHUNK_PATH_MAX];
    hf_chunk_path(d.s, &d.id, 0, p0);
    hf_chunk_path(d.s, &d.id, 1, p1);
    hf_chunk_path(d.s, &d.id, 2, p2);

    /* chunk 2 loses its last byte */
    CHECK_EQ_INT(truncate(p2, CK_PAYLOAD_OFF + 5 * HF_CHUNK_BLOCK - 1), 0);
    CHECK_EQ_INT(rd(&d, 2 * HF_CHUNK_SIZE + 5 * HF_CHUNK_BLOCK - 1, 1), HF_E_CORRUPT);
    CHECK_EQ_INT(rd(&d, 2 * HF_CHUNK_SIZE, 10), HF_E_CORRUPT);
    CHECK_EQ_INT(rd(&d, 0, 2 * HF_CHUNK_SIZE), HF_OK);
    /* cut inside the header */
    CHECK_EQ_INT(truncate(p2, 20), 0);
    CHECK_EQ_INT(rd(&d, 2 * HF_CHUNK_SIZE, 10), HF_E_CORRUPT);
    /* gone */
    CHECK_EQ_INT(unlink(p2), 0);
    CHECK_EQ_INT(rd(&d, 2 * HF_CHUNK_SIZE, 10), HF_E_CORRUPT);
    CHECK_EQ_INT(rd(&d, HF_CHUNK_SIZE - 5, 10), HF_OK); /* chunks 0 and 1 are intact */
    CHECK_EQ_INT(corrupt_count(d.s), 4);
    /* chunks 0 and 1 swapped: each header names the other index */
    CHECK_EQ_INT(rename(p0, p2), 0);
    CHECK_EQ_INT(rename(p1, p0), 0);
    CHECK_EQ_INT(rename(p2, p1), 0);
    CHECK_EQ_INT(rd(&d, 0, 1), HF_E_CORRUPT);
    CHECK_EQ_INT(rd(&d, HF_CHUNK_SIZE, 1), HF_E_CORRUPT);
    CHECK_EQ_INT(corrupt_count(d.s), 6);
    damaged_teardown(&d);
}

TEST(chunk_of_another_blob_is_corrupt)
{
    char *dir = hf_test_tmpdir();
    hf_chunk_store_t *s = open_store(dir);
    rng_state = 11;
    unsigned char *a = rand_data(5000), *b = rand_data(5000), back[5000];
    hf_blob_id_t ia, ib;
    CHECK_EQ_INT(write_blob(s, a, 5000, &ia), HF_OK);
    CHECK_EQ_INT(write_blob(s, b, 5000, &ib), HF_OK);
    char pa[HF_CHUNK_PATH_MAX], pb[HF_CHUNK_PATH_MAX];
    hf_chunk_path(s, &ia, 0, pa);
    hf_chunk_path(s, &ib, 0, pb);
    CHECK_EQ_INT(unlink(pb), 0);
    CHECK_EQ_INT(link(pa, pb), 0);
    CHECK_EQ_INT(read_range(s, &ib, 5000, 0, back, 5000), HF_E_CORRUPT);
    CHECK_EQ_INT(read_range(s, &ia, 5000, 0, back, 5000), HF_OK);
    CHECK_EQ_MEM(back, a, 5000);
    /* a wrong size in the metadata is caught by the payload length */
    CHECK_EQ_INT(read_range(s, &ia, 4999, 0, back, 10), HF_E_CORRUPT);
    free(a);
    free(b);
    hf_chunk_store_close(s);
    hf_test_rmtree(dir);
    free(dir);
}

/* ---- sealed blobs (format v2) ------------------------------------------------------ */

/* The whole of chunk idx of id, read raw; *len gets its size. */
static unsigned char *slurp(hf_chunk_store_t *s, const hf_blob_id_t *id, uint32_t idx, size_t *len)
{
    char path[HF_CHUNK_PATH_MAX];
    hf_chunk_path(s, id, idx, path);
    struct stat st;
    CHECK_EQ_INT(stat(path, &st), 0);
    unsigned char *f = malloc((size_t)st.st_size);
    int fd = open(path, O_RDONLY);
    CHECK(fd >= 0);
    CHECK_EQ_INT(pread(fd, f, (size_t)st.st_size, 0), st.st_size);
    close(fd);
    *len = (size_t)st.st_size;
    return f;
}

static void put_le32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

/* Recompute the table crc and header crc of a v2 chunk image of nb blocks. */
static void reseal_header(unsigned char *f, uint32_t nb)
{
    put_le32(f + 40, hf_crc32c(0, f + CK_HDR_SIZE, 20 * (size_t)nb));
    put_le32(f + 44, hf_crc32c(0, f, 44));
}

TEST(format_v2_layout)
{
    char *dir = hf_test_tmpdir();
    hf_chunk_store_t *s = open_store(dir);
    rng_state = 8;
    size_t n = HF_CHUNK_SIZE + 3 * HF_CHUNK_BLOCK + 10; /* chunk 1: 4 blocks, last short */
    unsigned char *data = rand_data(n);
    hf_blob_id_t id;
    test_key = key_a;
    CHECK_EQ_INT(write_blob(s, data, n, &id), HF_OK);
    test_key = NULL;
    size_t flen;
    unsigned char *f = slurp(s, &id, 1, &flen);
    size_t plen = 3 * HF_CHUNK_BLOCK + 10;
    CHECK_EQ_INT(flen, CK_PAYLOAD_OFF + plen); /* GCM adds no bytes to the payload */
    CHECK_EQ_MEM(f, "HFCK", 4);
    CHECK_EQ_INT(f[4] | f[5] << 8, 2);            /* version: sealed */
    CHECK_EQ_INT(f[6] | f[7] << 8, CK_HDR_SIZE);
    CHECK_EQ_INT(le32(f + 8), HF_CHUNK_BLOCK);
    CHECK_EQ_INT(le32(f + 12), plen);
    CHECK_EQ_MEM(f + 16, id.b, 16);
    CHECK_EQ_INT(le32(f + 32), 1);
    CHECK_EQ_INT(le32(f + 36), 4);
    CHECK_EQ_INT(le32(f + 40), hf_crc32c(0, f + CK_HDR_SIZE, 4 * 20));
    CHECK_EQ_INT(le32(f + 44), hf_crc32c(0, f, 44));
    for (size_t i = CK_HDR_SIZE + 4 * 20; i < CK_PAYLOAD_OFF; i++)
        CHECK_EQ_INT(f[i], 0);                    /* reserved */
    /* Each entry: crc32c of the stored block, then its GCM tag. Decrypt
     * each block independently with the documented key and nonce. */
    uint8_t bk[32];
    CHECK_EQ_INT(hf_kdf(key_a, 32, "holdfast chunk blob key v2", id.b, 16, bk), HF_OK);
    for (uint32_t b = 0; b < 4; b++) {
        size_t len = b < 3 ? HF_CHUNK_BLOCK : 10;
        const unsigned char *stored = f + CK_PAYLOAD_OFF + (size_t)b * HF_CHUNK_BLOCK;
        const unsigned char *ent = f + CK_HDR_SIZE + 20 * b;
        CHECK_EQ_INT(le32(ent), hf_crc32c(0, stored, len));
        CHECK(memcmp(stored, data + HF_CHUNK_SIZE + (size_t)b * HF_CHUNK_BLOCK, len) != 0);
        uint8_t nonce[12] = {0, 0, 0, 1, 0, 0, 0, (uint8_t)b, 0, 0, 0, 0};
        unsigned char *plain = malloc(len);
        CHECK_EQ_INT(hf_aead_open1(bk, nonce, NULL, 0, stored, plain, len, ent + 4), HF_OK);
        CHECK_EQ_MEM(plain, data + HF_CHUNK_SIZE + (size_t)b * HF_CHUNK_BLOCK, len);
        free(plain);
    }
    free(f);
    free(data);
    hf_chunk_store_close(s);
    hf_test_rmtree(dir);
    free(dir);
}

TEST(sealed_reader_modes)
{
    char *dir = hf_test_tmpdir();
    hf_chunk_store_t *s = open_store(dir);
    rng_state = 12;
    size_t n = 2 * HF_CHUNK_BLOCK + 333;
    unsigned char *data = rand_data(n), *back = malloc(n);
    hf_blob_id_t sid, pid;
    test_key = key_a;
    CHECK_EQ_INT(write_blob(s, data, n, &sid), HF_OK);
    test_key = NULL;
    CHECK_EQ_INT(write_blob(s, data, n, &pid), HF_OK);
    hf_blob_reader_t *r;
    /* the wrong key: every block fails its tag */
    CHECK_EQ_INT(hf_blob_reader_open_sealed(s, &sid, n, key_b, &r), HF_OK);
    CHECK_EQ_INT(hf_blob_read(r, 100, back, 10), HF_E_CORRUPT);
    hf_blob_reader_close(r);
    /* a plain reader on a sealed blob, a sealed reader on a plain one */
    CHECK_EQ_INT(read_range(s, &sid, n, 0, back, 10), HF_E_CORRUPT);
    CHECK_EQ_INT(hf_blob_reader_open_sealed(s, &pid, n, key_a, &r), HF_OK);
    CHECK_EQ_INT(hf_blob_read(r, 0, back, 10), HF_E_CORRUPT);
    hf_blob_reader_close(r);
    CHECK_EQ_INT(hf_blob_reader_open_sealed(s, &pid, n, NULL, &r), HF_OK);
    CHECK_EQ_INT(hf_blob_read(r, 0, back, 10), HF_E_CORRUPT);
    hf_blob_reader_close(r);
    /* without a key: the stored bytes, verified by crc (what scrub reads) */
    size_t flen;
    unsigned char *f = slurp(s, &sid, 0, &flen);
    CHECK_EQ_INT(hf_blob_reader_open_sealed(s, &sid, n, NULL, &r), HF_OK);
    CHECK_EQ_INT(hf_blob_read(r, 0, back, n), HF_OK);
    CHECK_EQ_MEM(back, f + CK_PAYLOAD_OFF, n);
    CHECK(memcmp(back, data, n) != 0);
    hf_blob_reader_close(r);
    /* the right key, a range inside one block and one across blocks */
    CHECK_EQ_INT(hf_blob_reader_open_sealed(s, &sid, n, key_a, &r), HF_OK);
    CHECK_EQ_INT(hf_blob_read(r, HF_CHUNK_BLOCK + 7, back, 100), HF_OK);
    CHECK_EQ_MEM(back, data + HF_CHUNK_BLOCK + 7, 100);
    CHECK_EQ_INT(hf_blob_read(r, HF_CHUNK_BLOCK - 50, back, 100), HF_OK);
    CHECK_EQ_MEM(back, data + HF_CHUNK_BLOCK - 50, 100);
    hf_blob_reader_close(r);
    /* two blobs of the same bytes under the same key differ on disk (each
     * blob has its own key) */
    hf_blob_id_t sid2;
    test_key = key_a;
    CHECK_EQ_INT(write_blob(s, data, n, &sid2), HF_OK);
    test_key = NULL;
    size_t flen2;
    unsigned char *f2 = slurp(s, &sid2, 0, &flen2);
    CHECK_EQ_INT(flen2, flen);
    CHECK(memcmp(f + CK_PAYLOAD_OFF, f2 + CK_PAYLOAD_OFF, n) != 0);
    free(f2);
    free(f);
    free(data);
    free(back);
    hf_chunk_store_close(s);
    hf_test_rmtree(dir);
    free(dir);
}

TEST(sealed_tampering_fails_authentication)
{
    struct damaged d;
    test_key = key_a;
    damaged_setup(&d);
    uint64_t before = corrupt_count(d.s);
    /* A payload byte changed and every crc on the way fixed up: the crcs
     * pass, the tag does not. */
    size_t flen;
    unsigned char *f = slurp(d.s, &d.id, 0, &flen);
    f[CK_PAYLOAD_OFF + 2 * HF_CHUNK_BLOCK + 5] ^= 1;
    put_le32(f + CK_HDR_SIZE + 20 * 2, hf_crc32c(0, f + CK_PAYLOAD_OFF + 2 * HF_CHUNK_BLOCK, HF_CHUNK_BLOCK));
    reseal_header(f, 64);
    patch(d.s, &d.id, 0, 0, f, flen);
    CHECK_EQ_INT(rd(&d, 2 * HF_CHUNK_BLOCK, 10), HF_E_CORRUPT);
    CHECK_EQ_INT(rd(&d, HF_CHUNK_BLOCK, 10), HF_OK); /* the block before is fine */
    CHECK_EQ_INT(corrupt_count(d.s), before + 1);
    /* Blocks 3 and 4 swapped with their whole table entries: each one is
     * intact, but sealed for the other's place. */
    f[CK_PAYLOAD_OFF + 2 * HF_CHUNK_BLOCK + 5] ^= 1;
    unsigned char tmp[20], *blk = malloc(HF_CHUNK_BLOCK);
    memcpy(blk, f + CK_PAYLOAD_OFF + 3 * HF_CHUNK_BLOCK, HF_CHUNK_BLOCK);
    memcpy(f + CK_PAYLOAD_OFF + 3 * HF_CHUNK_BLOCK, f + CK_PAYLOAD_OFF + 4 * HF_CHUNK_BLOCK, HF_CHUNK_BLOCK);
    memcpy(f + CK_PAYLOAD_OFF + 4 * HF_CHUNK_BLOCK, blk, HF_CHUNK_BLOCK);
    put_le32(f + CK_HDR_SIZE + 20 * 2, hf_crc32c(0, f + CK_PAYLOAD_OFF + 2 * HF_CHUNK_BLOCK, HF_CHUNK_BLOCK));
    memcpy(tmp, f + CK_HDR_SIZE + 20 * 3, 20);
    memcpy(f + CK_HDR_SIZE + 20 * 3, f + CK_HDR_SIZE + 20 * 4, 20);
    memcpy(f + CK_HDR_SIZE + 20 * 4, tmp, 20);
    reseal_header(f, 64);
    patch(d.s, &d.id, 0, 0, f, flen);
    CHECK_EQ_INT(rd(&d, 2 * HF_CHUNK_BLOCK, 10), HF_OK); /* restored */
    CHECK_EQ_INT(rd(&d, 3 * HF_CHUNK_BLOCK, 10), HF_E_CORRUPT);
    CHECK_EQ_INT(rd(&d, 4 * HF_CHUNK_BLOCK, 10), HF_E_CORRUPT);
    /* plain damage is still a crc failure */
    flip(d.s, &d.id, 1, CK_PAYLOAD_OFF + 7);
    CHECK_EQ_INT(rd(&d, HF_CHUNK_SIZE, 10), HF_E_CORRUPT);
    CHECK_EQ_INT(rd(&d, 2 * HF_CHUNK_SIZE, 5 * HF_CHUNK_BLOCK), HF_OK);
    free(blk);
    free(f);
    damaged_teardown(&d);
    test_key = NULL;
}

/* ---- fault injection ------------------------------------------------------------ */

static int fault_calls;
static int fail_fdatasync(int fd)
{
    (void)fd;
    fault_calls++;
    errno = EIO;
    return -1;
}

static int fail_fsync(int fd)
{
    (void)fd;
    fault_calls++;
    errno = EIO;
    return -1;
}

static long pwrite_budget; /* bytes pwrite accepts before ENOSPC */
static ssize_t enospc_pwrite(int fd, const void *p, size_t n, off_t off)
{
    fault_calls++;
    if (pwrite_budget <= 0) {
        errno = ENOSPC;
        return -1;
    }
    if ((long)n > pwrite_budget)
        n = (size_t)pwrite_budget;
    pwrite_budget -= (long)n;
    return hf_vfs_default.pwrite(fd, p, n, off);
}

static ssize_t short_pwrite(int fd, const void *p, size_t n, off_t off)
{
    fault_calls++;
    if (fault_calls % 3 == 0) {
        errno = EINTR;
        return -1;
    }
    return hf_vfs_default.pwrite(fd, p, n > 1000 ? 1000 : n, off);
}

TEST(fault_fdatasync_eio_on_finish)
{
    char *dir = hf_test_tmpdir();
    hf_chunk_store_t *s = open_store(dir);
    rng_state = 1;
    unsigned char *data = rand_data(300000);
    hf_blob_writer_t *w;
    CHECK_EQ_INT(hf_blob_writer_open(s, &w), HF_OK);
    hf_blob_id_t id = *hf_blob_writer_id(w);
    CHECK_EQ_INT(hf_blob_write(w, data, 300000), HF_OK);
    CHECK_EQ_INT(count_files(dir), 1);
    fault_calls = 0;
    hf_vfs.fdatasync = fail_fdatasync;
    uint64_t size = 12345;
    int rc = hf_blob_writer_finish(w, &size);
    hf_vfs_reset();
    CHECK_EQ_INT(rc, -EIO);
    CHECK_EQ_INT(fault_calls, 1);
    CHECK_EQ_INT(size, 12345);
    CHECK_EQ_INT(count_files(dir), 0);
    CHECK(!exists(s, &id, 0));
    hf_chunk_stats_t st;
    hf_chunk_stats(s, &st);
    CHECK_EQ_INT(st.chunks_written, 0);
    free(data);
    hf_chunk_store_close(s);
    hf_test_rmtree(dir);
    free(dir);
}

TEST(fault_fdatasync_eio_mid_blob)
{
    char *dir = hf_test_tmpdir();
    hf_chunk_store_t *s = open_store(dir);
    rng_state = 2;
    size_t n = 2 * HF_CHUNK_SIZE + 5;
    unsigned char *data = rand_data(n);
    hf_blob_writer_t *w;
    CHECK_EQ_INT(hf_blob_writer_open(s, &w), HF_OK);
    CHECK_EQ_INT(hf_blob_write(w, data, HF_CHUNK_SIZE), HF_OK); /* chunk 0 sealed */
    hf_vfs.fdatasync = fail_fdatasync;
    int rc = hf_blob_write(w, data + HF_CHUNK_SIZE, n - HF_CHUNK_SIZE);
    hf_vfs_reset();
    CHECK_EQ_INT(rc, -EIO);
    CHECK_EQ_INT(hf_blob_write(w, data, 10), -EIO); /* sticky */
    CHECK_EQ_INT(count_files(dir), 2);
    uint64_t size;
    CHECK_EQ_INT(hf_blob_writer_finish(w, &size), -EIO);
    CHECK_EQ_INT(count_files(dir), 0);
    free(data);
    hf_chunk_store_close(s);
    hf_test_rmtree(dir);
    free(dir);
}

TEST(fault_dir_fsync)
{
    char *dir = hf_test_tmpdir();
    hf_chunk_store_t *s = open_store(dir);
    static unsigned char data[HF_CHUNK_BLOCK + 100];
    data[0] = 1;
    /* the leaf directory sync when the first chunk is created */
    hf_blob_writer_t *w;
    CHECK_EQ_INT(hf_blob_writer_open(s, &w), HF_OK);
    fault_calls = 0;
    hf_vfs.fsync = fail_fsync;
    int rc = hf_blob_write(w, data, sizeof data);
    hf_vfs_reset();
    CHECK_EQ_INT(rc, -EIO);
    CHECK_EQ_INT(fault_calls, 1);
    hf_blob_writer_abort(w);
    CHECK_EQ_INT(count_files(dir), 0);
    CHECK_EQ_INT(hf_chunk_store_recover(s, NULL, 0), HF_OK);

    /* the chunk directory sync in finish */
    CHECK_EQ_INT(hf_blob_writer_open(s, &w), HF_OK);
    CHECK_EQ_INT(hf_blob_write(w, data, sizeof data), HF_OK);
    CHECK_EQ_INT(count_files(dir), 1);
    fault_calls = 0;
    hf_vfs.fsync = fail_fsync;
    uint64_t size;
    rc = hf_blob_writer_finish(w, &size);
    hf_vfs_reset();
    CHECK_EQ_INT(rc, -EIO);
    CHECK_EQ_INT(fault_calls, 1);
    CHECK_EQ_INT(count_files(dir), 0);

    /* a failed fsync makes the store refuse writers until a verified
     * reopen (store.h); afterwards it works */
    CHECK(hf_chunk_failed(s, NULL, NULL, 0));
    CHECK_EQ_INT(hf_blob_writer_open(s, &w), HF_E_STATE);
    CHECK_EQ_INT(hf_chunk_store_recover(s, NULL, 0), HF_OK);
    hf_blob_id_t id;
    CHECK_EQ_INT(write_blob(s, data, sizeof data, &id), HF_OK);
    CHECK_EQ_INT(count_files(dir), 1);
    hf_chunk_store_close(s);
    hf_test_rmtree(dir);
    free(dir);
}

TEST(fault_pwrite_enospc)
{
    char *dir = hf_test_tmpdir();
    hf_chunk_store_t *s = open_store(dir);
    rng_state = 3;
    unsigned char *data = rand_data(HF_CHUNK_SIZE + 1000);
    /* fails at once */
    hf_blob_writer_t *w;
    CHECK_EQ_INT(hf_blob_writer_open(s, &w), HF_OK);
    pwrite_budget = 0;
    hf_vfs.pwrite = enospc_pwrite;
    CHECK_EQ_INT(hf_blob_write(w, data, 100), HF_OK); /* buffered, nothing written yet */
    int rc = hf_blob_write(w, data + 100, HF_CHUNK_BLOCK);
    hf_vfs_reset();
    CHECK_EQ_INT(rc, -ENOSPC);
    CHECK_EQ_INT(hf_blob_write(w, data, 1), -ENOSPC);
    hf_blob_writer_abort(w);
    CHECK_EQ_INT(count_files(dir), 0);

    /* fails part way through a write, after a whole chunk */
    CHECK_EQ_INT(hf_blob_writer_open(s, &w), HF_OK);
    /* chunk 0's payload and header+table, then 200 of chunk 1's 1000 bytes */
    pwrite_budget = HF_CHUNK_SIZE + CK_HDR_SIZE + 4 * (HF_CHUNK_SIZE / HF_CHUNK_BLOCK) + 200;
    hf_vfs.pwrite = enospc_pwrite;
    rc = hf_blob_write(w, data, HF_CHUNK_SIZE + 1000);
    uint64_t size;
    int rc2 = rc == HF_OK ? hf_blob_writer_finish(w, &size) : (hf_blob_writer_abort(w), rc);
    hf_vfs_reset();
    CHECK_EQ_INT(rc2, -ENOSPC);
    CHECK_EQ_INT(count_files(dir), 0);

    /* a failing finish (its final partial block) cleans up too */
    CHECK_EQ_INT(hf_blob_writer_open(s, &w), HF_OK);
    CHECK_EQ_INT(hf_blob_write(w, data, HF_CHUNK_BLOCK + 10), HF_OK);
    CHECK_EQ_INT(count_files(dir), 1);
    pwrite_budget = 0;
    hf_vfs.pwrite = enospc_pwrite;
    rc = hf_blob_writer_finish(w, &size);
    hf_vfs_reset();
    CHECK_EQ_INT(rc, -ENOSPC);
    CHECK_EQ_INT(count_files(dir), 0);
    free(data);
    hf_chunk_store_close(s);
    hf_test_rmtree(dir);
    free(dir);
}

TEST(fault_short_pwrite_retried)
{
    char *dir = hf_test_tmpdir();
    hf_chunk_store_t *s = open_store(dir);
    rng_state = 4;
    size_t n = HF_CHUNK_SIZE + 3 * HF_CHUNK_BLOCK + 17;
    unsigned char *data = rand_data(n), *back = malloc(n);
    fault_calls = 0;
    hf_vfs.pwrite = short_pwrite;
    hf_blob_id_t id;
    int rc = write_blob(s, data, n, &id);
    hf_vfs_reset();
    CHECK_EQ_INT(rc, HF_OK);
    CHECK(fault_calls > (int)(n / 1000)); /* really went through the short path */
    CHECK_EQ_INT(read_range(s, &id, n, 0, back, n), HF_OK);
    CHECK_EQ_MEM(back, data, n);
    free(data);
    free(back);
    hf_chunk_store_close(s);
    hf_test_rmtree(dir);
    free(dir);
}

/* ---- epoch reclaim ---------------------------------------------------------------- */

TEST(release_without_readers_unlinks_at_once)
{
    char *dir = hf_test_tmpdir();
    hf_chunk_store_t *s = open_store(dir);
    rng_state = 5;
    size_t n = 2 * HF_CHUNK_SIZE + 1;
    unsigned char *data = rand_data(n);
    hf_blob_id_t id;
    CHECK_EQ_INT(write_blob(s, data, n, &id), HF_OK);
    CHECK_EQ_INT(count_files(dir), 3);
    hf_chunk_release(s, &id, n);
    CHECK_EQ_INT(count_files(dir), 0);
    hf_chunk_stats_t st;
    hf_chunk_stats(s, &st);
    CHECK_EQ_INT(st.blobs_released, 1);
    CHECK_EQ_INT(st.blobs_unlinked, 1);
    CHECK_EQ_INT(st.pending_release, 0);
    /* a reader that begins and ends afterwards changes nothing */
    hf_chunk_read_end(s, hf_chunk_read_begin(s));
    free(data);
    hf_chunk_store_close(s);
    hf_test_rmtree(dir);
    free(dir);
}

TEST(reader_before_release_keeps_files)
{
    char *dir = hf_test_tmpdir();
    hf_chunk_store_t *s = open_store(dir);
    rng_state = 6;
    size_t n = HF_CHUNK_SIZE + 500;
    unsigned char *data = rand_data(n), *back = malloc(n);
    hf_blob_id_t a, b;
    CHECK_EQ_INT(write_blob(s, data, n, &a), HF_OK);
    CHECK_EQ_INT(write_blob(s, data, n, &b), HF_OK);
    CHECK_EQ_INT(count_files(dir), 4);

    uint64_t t_old = hf_chunk_read_begin(s);
    uint64_t t_old2 = hf_chunk_read_begin(s); /* same epoch, counted twice */
    hf_chunk_release(s, &a, n);
    uint64_t t_new = hf_chunk_read_begin(s);
    CHECK(t_new > t_old);
    CHECK_EQ_INT(count_files(dir), 4);
    hf_chunk_stats_t st;
    hf_chunk_stats(s, &st);
    CHECK_EQ_INT(st.pending_release, 1);
    /* the old reader can still read it all */
    CHECK_EQ_INT(read_range(s, &a, n, 0, back, n), HF_OK);
    CHECK_EQ_MEM(back, data, n);
    hf_chunk_reclaim(s);
    CHECK_EQ_INT(count_files(dir), 4);

    hf_chunk_read_end(s, t_old);
    CHECK(exists(s, &a, 0) && exists(s, &a, 1));
    hf_chunk_read_end(s, t_old2);
    /* t_new began after the release: it does not hold a back */
    CHECK(!exists(s, &a, 0) && !exists(s, &a, 1));
    CHECK_EQ_INT(count_files(dir), 2);

    /* but it does hold back a blob released while it is active */
    hf_chunk_release(s, &b, n);
    CHECK_EQ_INT(count_files(dir), 2);
    hf_chunk_stats(s, &st);
    CHECK_EQ_INT(st.pending_release, 1);
    hf_chunk_read_end(s, t_new);
    CHECK_EQ_INT(count_files(dir), 0);
    hf_chunk_stats(s, &st);
    CHECK_EQ_INT(st.blobs_released, 2);
    CHECK_EQ_INT(st.blobs_unlinked, 2);
    CHECK_EQ_INT(st.pending_release, 0);
    free(data);
    free(back);
    hf_chunk_store_close(s);
    hf_test_rmtree(dir);
    free(dir);
}

TEST(many_readers_out_of_order)
{
    char *dir = hf_test_tmpdir();
    hf_chunk_store_t *s = open_store(dir);
    enum { N = 300 }; /* more distinct reader epochs than the initial array */
    static uint64_t t[N];
    hf_blob_id_t ids[N];
    unsigned char one = 1;
    for (int i = 0; i < N; i++) {
        t[i] = hf_chunk_read_begin(s);
        CHECK_EQ_INT(write_blob(s, &one, 1, &ids[i]), HF_OK);
        hf_chunk_release(s, &ids[i], 1); /* held by readers 0..i */
    }
    CHECK_EQ_INT(count_files(dir), N);
    /* end every reader but the first, newest first: nothing may go */
    for (int i = N - 1; i >= 1; i--)
        hf_chunk_read_end(s, t[i]);
    CHECK_EQ_INT(count_files(dir), N);
    hf_chunk_read_end(s, t[0]);
    CHECK_EQ_INT(count_files(dir), 0);

    /* oldest first: each end frees exactly the blob released after it began */
    for (int i = 0; i < 10; i++) {
        t[i] = hf_chunk_read_begin(s);
        CHECK_EQ_INT(write_blob(s, &one, 1, &ids[i]), HF_OK);
        hf_chunk_release(s, &ids[i], 1);
    }
    for (int i = 0; i < 10; i++) {
        hf_chunk_read_end(s, t[i]);
        CHECK(!exists(s, &ids[i], 0));
        if (i + 1 < 10)
            CHECK(exists(s, &ids[i + 1], 0));
    }
    hf_chunk_store_close(s);
    hf_test_rmtree(dir);
    free(dir);
}

/* ---- orphan sweep ---------------------------------------------------------------- */

struct live_set {
    hf_blob_id_t ids[8];
    int n;
    int calls;
};

static bool is_live(void *ctx, const hf_blob_id_t *id)
{
    struct live_set *ls = ctx;
    ls->calls++;
    for (int i = 0; i < ls->n; i++)
        if (memcmp(ls->ids[i].b, id->b, 16) == 0)
            return true;
    return false;
}

TEST(orphan_sweep)
{
    char *dir = hf_test_tmpdir();
    hf_chunk_store_t *s = open_store(dir);
    rng_state = 8;
    size_t n = HF_CHUNK_SIZE + 10, nw = HF_CHUNK_SIZE + HF_CHUNK_BLOCK + 10;
    unsigned char *data = rand_data(nw);
    hf_blob_id_t orphan, live, young, fresh_tail;
    CHECK_EQ_INT(write_blob(s, data, n, &orphan), HF_OK);
    CHECK_EQ_INT(write_blob(s, data, n, &live), HF_OK);
    CHECK_EQ_INT(write_blob(s, data, n, &young), HF_OK);
    CHECK_EQ_INT(write_blob(s, data, n, &fresh_tail), HF_OK);
    /* a blob still being written, with an old chunk 0 */
    hf_blob_writer_t *w;
    CHECK_EQ_INT(hf_blob_writer_open(s, &w), HF_OK);
    hf_blob_id_t writing = *hf_blob_writer_id(w);
    CHECK_EQ_INT(hf_blob_write(w, data, nw), HF_OK); /* chunk 1 file exists, 10 bytes buffered */
    CHECK_EQ_INT(count_files(dir), 10);
    for (uint32_t i = 0; i < 2; i++) {
        age(s, &orphan, i, 7200);
        age(s, &live, i, 7200);
        age(s, &writing, i, 7200);
    }
    age(s, &fresh_tail, 0, 7200); /* only its first chunk is old */

    /* a stranger in a leaf directory, and one at the top */
    char path[HF_CHUNK_PATH_MAX], stranger[HF_CHUNK_PATH_MAX + 16], top[HF_CHUNK_PATH_MAX];
    hf_chunk_path(s, &orphan, 0, path);
    snprintf(stranger, sizeof stranger, "%s.tmp", path);
    FILE *f = fopen(stranger, "w");
    CHECK(f != NULL);
    fclose(f);
    snprintf(top, sizeof top, "%s/chunks/README", dir);
    f = fopen(top, "w");
    CHECK(f != NULL);
    fclose(f);

    struct live_set ls = {.n = 1};
    ls.ids[0] = live;
    long removed = hf_chunk_sweep_orphans(s, is_live, &ls, 3600);
    CHECK_EQ_INT(removed, 2);
    CHECK(!exists(s, &orphan, 0) && !exists(s, &orphan, 1));
    CHECK(exists(s, &live, 0) && exists(s, &live, 1));
    CHECK(exists(s, &young, 0) && exists(s, &young, 1));
    CHECK(exists(s, &fresh_tail, 0) && exists(s, &fresh_tail, 1));
    CHECK(exists(s, &writing, 0) && exists(s, &writing, 1));
    CHECK_EQ_INT(access(stranger, F_OK), 0);
    CHECK_EQ_INT(access(top, F_OK), 0);
    CHECK_EQ_INT(count_files(dir), 8 + 2);

    /* the writer finishes normally afterwards */
    uint64_t size;
    CHECK_EQ_INT(hf_blob_writer_finish(w, &size), HF_OK);
    CHECK_EQ_INT(size, nw);
    unsigned char back[100];
    CHECK_EQ_INT(read_range(s, &writing, nw, nw - 100, back, 100), HF_OK);
    CHECK_EQ_MEM(back, data + nw - 100, 100);

    /* with min age 0, the young ones go too; the live one stays */
    ls.ids[ls.n++] = writing;
    removed = hf_chunk_sweep_orphans(s, is_live, &ls, 0);
    CHECK_EQ_INT(removed, 4);
    CHECK_EQ_INT(count_files(dir), 4 + 2);
    CHECK(exists(s, &live, 1) && exists(s, &writing, 1));
    CHECK_EQ_INT(hf_chunk_sweep_orphans(s, is_live, &ls, 0), 0);
    CHECK_EQ_INT(hf_chunk_sweep_orphans(s, is_live, &ls, -1), HF_E_INVAL);
    free(data);
    hf_chunk_store_close(s);
    hf_test_rmtree(dir);
    free(dir);
}

TEST(orphan_sweep_waits_for_earlier_readers)
{
    char *dir = hf_test_tmpdir();
    hf_chunk_store_t *s = open_store(dir);
    unsigned char data[3000] = {9};
    hf_blob_id_t id;
    CHECK_EQ_INT(write_blob(s, data, sizeof data, &id), HF_OK);
    age(s, &id, 0, 7200);
    /* A reader that may hold a record of the blob from before the metadata
     * delete: the sweep must not pull the files from under it. */
    uint64_t t = hf_chunk_read_begin(s);
    struct live_set ls = {.n = 0};
    CHECK_EQ_INT(hf_chunk_sweep_orphans(s, is_live, &ls, 3600), 1);
    CHECK_EQ_INT(ls.calls, 1);
    CHECK(exists(s, &id, 0));
    /* queued once, not twice */
    CHECK_EQ_INT(hf_chunk_sweep_orphans(s, is_live, &ls, 3600), 0);
    hf_chunk_stats_t st;
    hf_chunk_stats(s, &st);
    CHECK_EQ_INT(st.pending_release, 1);
    hf_chunk_read_end(s, t);
    CHECK(!exists(s, &id, 0));
    CHECK_EQ_INT(count_files(dir), 0);
    hf_chunk_store_close(s);
    hf_test_rmtree(dir);
    free(dir);
}

/* ---- concurrency smoke -------------------------------------------------------------- */

struct worker {
    hf_chunk_store_t *s;
    uint64_t seed;
    int failures;
};

static void *worker_main(void *arg)
{
    struct worker *wk = arg;
    uint64_t x = wk->seed;
    unsigned char *data = malloc(3 * HF_CHUNK_BLOCK), *back = malloc(3 * HF_CHUNK_BLOCK);
    for (int round = 0; round < 30; round++) {
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        size_t n = (size_t)(x >> 33) % (3 * HF_CHUNK_BLOCK) + 1;
        for (size_t i = 0; i < n; i++)
            data[i] = (unsigned char)(x >> (i % 56));
        hf_blob_writer_t *w;
        uint64_t size;
        if (hf_blob_writer_open(wk->s, &w) != HF_OK) {
            wk->failures++;
            continue;
        }
        hf_blob_id_t id = *hf_blob_writer_id(w);
        if (hf_blob_write(w, data, n) != HF_OK || hf_blob_writer_finish(w, &size) != HF_OK) {
            wk->failures++;
            continue;
        }
        uint64_t t = hf_chunk_read_begin(wk->s);
        hf_blob_reader_t *r;
        if (hf_blob_reader_open(wk->s, &id, n, &r) != HF_OK || hf_blob_read(r, 0, back, n) != HF_OK ||
            memcmp(back, data, n) != 0)
            wk->failures++;
        hf_blob_reader_close(r);
        hf_chunk_release(wk->s, &id, n);
        hf_chunk_read_end(wk->s, t);
    }
    free(data);
    free(back);
    return NULL;
}

TEST(concurrent_writers_readers_releases)
{
    char *dir = hf_test_tmpdir();
    hf_chunk_store_t *s = open_store(dir);
    enum { T = 6 };
    pthread_t th[T];
    struct worker wk[T];
    for (int i = 0; i < T; i++) {
        wk[i] = (struct worker){.s = s, .seed = (uint64_t)i * 1000 + 1};
        CHECK_EQ_INT(pthread_create(&th[i], NULL, worker_main, &wk[i]), 0);
    }
    for (int i = 0; i < T; i++)
        pthread_join(th[i], NULL);
    for (int i = 0; i < T; i++)
        CHECK_EQ_INT(wk[i].failures, 0);
    CHECK_EQ_INT(count_files(dir), 0);
    hf_chunk_stats_t st;
    hf_chunk_stats(s, &st);
    CHECK_EQ_INT(st.blobs_released, T * 30);
    CHECK_EQ_INT(st.blobs_unlinked, T * 30);
    CHECK_EQ_INT(st.pending_release, 0);
    CHECK_EQ_INT(st.corrupt_reads, 0);
    hf_chunk_store_close(s);
    hf_test_rmtree(dir);
    free(dir);
}

HF_TEST_MAIN("unit/chunk")
