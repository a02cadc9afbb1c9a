/* Unit tests for the chunk store's sticky failed state, its verified
 * reopen (hf_chunk_store_recover) and the free-space reserve, all driven
 * through the hf_vfs seam. */
#include "test.h"

#include "base/err.h"
#include "base/limits.h"
#include "base/vfs.h"
#include "chunk/store.h"

#include <errno.h>
#include <stdbool.h>
#include <sys/statvfs.h>

static int calls;

static int eio_sync(int fd)
{
    (void)fd;
    calls++;
    errno = EIO;
    return -1;
}

static ssize_t eio_pwrite(int fd, const void *p, size_t n, off_t off)
{
    (void)fd, (void)p, (void)n, (void)off;
    calls++;
    errno = EIO;
    return -1;
}

static ssize_t enospc_pwrite(int fd, const void *p, size_t n, off_t off)
{
    (void)fd, (void)p, (void)n, (void)off;
    calls++;
    errno = ENOSPC;
    return -1;
}

/* A file system whose free space the test sets. */
static uint64_t fake_free;
static int fake_statvfs(const char *path, struct statvfs *st)
{
    int rc = hf_vfs_default.statvfs(path, st);
    if (rc == 0) {
        st->f_frsize = 4096;
        st->f_bavail = fake_free / 4096;
    }
    calls++;
    return rc;
}

static hf_chunk_store_t *open_store(const char *dir)
{
    hf_chunk_store_t *s = NULL;
    int rc = hf_chunk_store_open(dir, &s);
    if (rc != HF_OK)
        hf_test_fail(__FILE__, __LINE__, "open: %d", rc);
    return s;
}

static unsigned char data[HF_CHUNK_BLOCK * 3];

/* Write n bytes of data (repeated) as one blob; finish's result. */
static int put(hf_chunk_store_t *s, size_t n, hf_blob_id_t *id)
{
    hf_blob_writer_t *w;
    int rc = hf_blob_writer_open(s, &w);
    if (rc)
        return rc;
    if (id)
        *id = *hf_blob_writer_id(w);
    for (size_t off = 0; off < n; off += sizeof data) {
        size_t k = n - off < sizeof data ? n - off : sizeof data;
        if ((rc = hf_blob_write(w, data, k)) != HF_OK) {
            hf_blob_writer_abort(w);
            return rc;
        }
    }
    uint64_t size;
    return hf_blob_writer_finish(w, &size);
}

static int get(hf_chunk_store_t *s, const hf_blob_id_t *id, size_t n)
{
    hf_blob_reader_t *r;
    static unsigned char back[sizeof data];
    int rc = hf_blob_reader_open(s, id, n, &r);
    if (rc)
        return rc;
    size_t k = n < sizeof back ? n : sizeof back;
    rc = hf_blob_read(r, 0, back, k);
    hf_blob_reader_close(r);
    if (rc == HF_OK && memcmp(back, data, k) != 0)
        rc = HF_E_CORRUPT;
    return rc;
}

static void fill_data(void)
{
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (unsigned char)(i * 131 + 7);
}

TEST(failed_fdatasync_is_sticky_until_verified_reopen)
{
    fill_data();
    char *dir = hf_test_tmpdir();
    hf_chunk_store_t *s = open_store(dir);
    hf_blob_id_t old;
    CHECK_EQ_INT(put(s, 100000, &old), HF_OK);
    CHECK(!hf_chunk_failed(s, NULL, NULL, 0));

    hf_vfs.fdatasync = eio_sync;
    CHECK_EQ_INT(put(s, 100000, NULL), -EIO);
    hf_vfs_reset();
    int err = 0;
    char why[256];
    CHECK(hf_chunk_failed(s, &err, why, sizeof why));
    CHECK_EQ_INT(err, -EIO);
    CHECK(strstr(why, "fdatasync") != NULL);

    /* Writes are refused although the disk "works" again; reads go on. */
    hf_blob_writer_t *w;
    CHECK_EQ_INT(hf_blob_writer_open(s, &w), HF_E_STATE);
    CHECK_EQ_INT(put(s, 10, NULL), HF_E_STATE);
    CHECK_EQ_INT(get(s, &old, 100000), HF_OK);

    /* A reopen whose probe cannot sync leaves the store failed. */
    calls = 0;
    hf_vfs.fdatasync = eio_sync;
    CHECK(hf_chunk_store_recover(s, why, sizeof why) != HF_OK);
    hf_vfs_reset();
    CHECK(calls > 0);
    CHECK(strstr(why, "recovery probe") != NULL);
    CHECK(hf_chunk_failed(s, NULL, NULL, 0));

    /* A probe that goes through clears it, and leaves no file behind. */
    CHECK_EQ_INT(hf_chunk_store_recover(s, why, sizeof why), HF_OK);
    CHECK(!hf_chunk_failed(s, &err, NULL, 0));
    CHECK_EQ_INT(err, 0);
    hf_blob_id_t id;
    CHECK_EQ_INT(put(s, 70000, &id), HF_OK);
    CHECK_EQ_INT(get(s, &id, 70000), HF_OK);
    hf_chunk_store_close(s);
    hf_test_rmtree(dir);
    free(dir);
}

TEST(writer_open_before_the_failure_fails_too)
{
    fill_data();
    char *dir = hf_test_tmpdir();
    hf_chunk_store_t *s = open_store(dir);
    hf_blob_writer_t *early;
    CHECK_EQ_INT(hf_blob_writer_open(s, &early), HF_OK);
    CHECK_EQ_INT(hf_blob_write(early, data, 100), HF_OK);
    hf_vfs.fdatasync = eio_sync;
    CHECK_EQ_INT(put(s, 5000, NULL), -EIO);
    hf_vfs_reset();
    /* The early writer's bytes went to a disk whose fsync failed since:
     * it must not be able to finish as if nothing happened. */
    CHECK_EQ_INT(hf_blob_write(early, data, sizeof data), HF_E_STATE);
    uint64_t size;
    CHECK_EQ_INT(hf_blob_writer_finish(early, &size), HF_E_STATE);
    hf_chunk_store_close(s);
    hf_test_rmtree(dir);
    free(dir);
}

TEST(write_eio_is_sticky_enospc_is_not)
{
    fill_data();
    char *dir = hf_test_tmpdir();
    hf_chunk_store_t *s = open_store(dir);
    hf_vfs.pwrite = enospc_pwrite;
    CHECK_EQ_INT(put(s, 200000, NULL), -ENOSPC);
    hf_vfs_reset();
    CHECK(!hf_chunk_failed(s, NULL, NULL, 0));
    CHECK_EQ_INT(put(s, 200000, NULL), HF_OK);

    hf_vfs.pwrite = eio_pwrite;
    CHECK_EQ_INT(put(s, 200000, NULL), -EIO);
    hf_vfs_reset();
    char why[256];
    CHECK(hf_chunk_failed(s, NULL, why, sizeof why));
    CHECK(strstr(why, "write") != NULL);
    CHECK_EQ_INT(put(s, 10, NULL), HF_E_STATE);
    CHECK_EQ_INT(hf_chunk_store_recover(s, NULL, 0), HF_OK);
    CHECK_EQ_INT(put(s, 10, NULL), HF_OK);
    hf_chunk_store_close(s);
    hf_test_rmtree(dir);
    free(dir);
}

TEST(directory_fsync_failure_is_sticky)
{
    fill_data();
    char *dir = hf_test_tmpdir();
    hf_chunk_store_t *s = open_store(dir);
    hf_blob_writer_t *w;
    CHECK_EQ_INT(hf_blob_writer_open(s, &w), HF_OK);
    CHECK_EQ_INT(hf_blob_write(w, data, 1000), HF_OK);
    hf_vfs.fsync = eio_sync;
    uint64_t size;
    CHECK_EQ_INT(hf_blob_writer_finish(w, &size), -EIO);
    hf_vfs_reset();
    char why[256];
    CHECK(hf_chunk_failed(s, NULL, why, sizeof why));
    CHECK(strstr(why, "directory fsync") != NULL);
    hf_chunk_store_close(s);
    hf_test_rmtree(dir);
    free(dir);
}

TEST(reserve_refuses_before_the_disk_is_full)
{
    fill_data();
    char *dir = hf_test_tmpdir();
    hf_chunk_store_t *s = open_store(dir);
    hf_chunk_set_reserve(s, 64 << 20);
    CHECK_EQ_INT(hf_chunk_reserve(s), 64 << 20);
    hf_vfs.statvfs = fake_statvfs;

    fake_free = 100 << 20;
    uint64_t avail = 0;
    CHECK_EQ_INT(hf_chunk_space_check(s, 0, &avail), HF_OK);
    CHECK_EQ_INT(avail, 100 << 20);
    CHECK_EQ_INT(hf_chunk_space_check(s, 36 << 20, NULL), HF_OK);
    CHECK_EQ_INT(hf_chunk_space_check(s, (36 << 20) + 1, NULL), HF_E_NOSPACE);
    hf_blob_id_t id;
    CHECK_EQ_INT(put(s, 200000, &id), HF_OK);

    /* Below the reserve: a new blob is refused at its first chunk file. */
    fake_free = (64 << 20) - 1;
    CHECK_EQ_INT(hf_chunk_space_check(s, 0, NULL), HF_E_NOSPACE);
    CHECK_EQ_INT(put(s, 1000, NULL), HF_E_NOSPACE);

    /* A writer that crosses the reserve mid-blob stops within
     * HF_CHUNK_SPACE_CHECK bytes; nothing of it stays on disk. */
    fake_free = 100 << 20;
    hf_blob_writer_t *w;
    CHECK_EQ_INT(hf_blob_writer_open(s, &w), HF_OK);
    CHECK_EQ_INT(hf_blob_write(w, data, sizeof data), HF_OK);
    fake_free = 1 << 20;
    int rc = HF_OK;
    size_t written = sizeof data;
    while (rc == HF_OK && written < 8u * HF_CHUNK_SPACE_CHECK) {
        rc = hf_blob_write(w, data, sizeof data);
        written += sizeof data;
    }
    CHECK_EQ_INT(rc, HF_E_NOSPACE);
    CHECK(written <= HF_CHUNK_SPACE_CHECK + 2 * sizeof data);
    hf_blob_writer_abort(w);

    /* Not a failure of the disk: space coming back is enough. */
    CHECK(!hf_chunk_failed(s, NULL, NULL, 0));
    fake_free = 100 << 20;
    CHECK_EQ_INT(put(s, 1000, NULL), HF_OK);
    CHECK_EQ_INT(get(s, &id, 200000), HF_OK);
    hf_vfs_reset();

    /* Reserve 0 never consults statvfs. */
    hf_chunk_set_reserve(s, 0);
    calls = 0;
    hf_vfs.statvfs = fake_statvfs;
    fake_free = 0;
    CHECK_EQ_INT(put(s, 1000, NULL), HF_OK);
    hf_vfs_reset();
    CHECK_EQ_INT(calls, 0);
    hf_chunk_store_close(s);
    hf_test_rmtree(dir);
    free(dir);
}

HF_TEST_MAIN("unit/chunk-failstate")
