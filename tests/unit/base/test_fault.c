/* Unit tests for src/base/fault.c: parsing fault sets and the wrapped
 * calls they change. */
#include "test.h"

#include "base/err.h"
#include "base/fault.h"
#include "base/vfs.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/socket.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

static char dir[64];

static void remove_dir(void)
{
    rmdir(dir);
}

/* A file in a scratch directory; the name is unlinked at once (the fd
 * keeps it, and /proc still shows its path for path= matching) and the
 * directory is removed at exit. */
static int open_tmp(const char *name)
{
    if (!dir[0]) {
        snprintf(dir, sizeof dir, "/tmp/hf-fault-XXXXXX");
        CHECK(mkdtemp(dir) != NULL);
        atexit(remove_dir);
    }
    char p[128];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    int fd = hf_vfs_open(p, O_RDWR | O_CREAT | O_TRUNC, 0600);
    unlink(p);
    return fd;
}

TEST(parse_errors_say_what_is_wrong)
{
    char err[256];
    CHECK_EQ_INT(hf_fault_check("fsync", err, sizeof err), HF_E_INVAL);
    CHECK(strstr(err, "no ':'") != NULL);
    CHECK_EQ_INT(hf_fault_check("frobnicate:hang", err, sizeof err), HF_E_INVAL);
    CHECK(strstr(err, "unknown operation 'frobnicate'") != NULL);
    CHECK_EQ_INT(hf_fault_check("pwrite:error=EWHAT", err, sizeof err), HF_E_INVAL);
    CHECK(strstr(err, "EWHAT") != NULL);
    CHECK_EQ_INT(hf_fault_check("fsync:delay=x", err, sizeof err), HF_E_INVAL);
    CHECK_EQ_INT(hf_fault_check("fsync:short", err, sizeof err), HF_E_INVAL);
    CHECK_EQ_INT(hf_fault_check("fsync:hang/bogus=1", err, sizeof err), HF_E_INVAL);
    CHECK_EQ_INT(hf_fault_check("fsync:hang/count=0", err, sizeof err), HF_E_INVAL);
    CHECK_EQ_INT(hf_fault_check("fsync:hang/path=", err, sizeof err), HF_E_INVAL);
    CHECK_EQ_INT(hf_fault_check("", err, sizeof err), HF_OK);
    CHECK_EQ_INT(hf_fault_check(" fsync:hang , pwrite:error=ENOSPC/after=2/count=1/path=/x/ ",
                                err, sizeof err),
                 HF_OK);
    /* A failed set changes nothing. */
    CHECK_EQ_INT(hf_fault_set("fsync:error=EIO", err, sizeof err), HF_OK);
    CHECK_EQ_INT(hf_fault_set("fsync:nope", err, sizeof err), HF_E_INVAL);
    char d[256];
    hf_fault_describe(d, sizeof d);
    CHECK_EQ_STR(d, "fsync:error=EIO (fired 0)");
    hf_fault_clear();
    hf_fault_describe(d, sizeof d);
    CHECK_EQ_STR(d, "");
}

TEST(error_after_and_count)
{
    int fd = open_tmp("a");
    CHECK(fd >= 0);
    CHECK_EQ_INT(hf_fault_set("pwrite:error=ENOSPC/after=2/count=1", NULL, 0), HF_OK);
    CHECK_EQ_INT(hf_vfs.pwrite(fd, "x", 1, 0), 1);
    CHECK_EQ_INT(hf_vfs.pwrite(fd, "x", 1, 1), 1);
    errno = 0;
    CHECK_EQ_INT(hf_vfs.pwrite(fd, "x", 1, 2), -1);
    CHECK_EQ_INT(errno, ENOSPC);
    CHECK_EQ_INT(hf_vfs.pwrite(fd, "x", 1, 3), 1); /* count=1: spent */
    char d[256];
    hf_fault_describe(d, sizeof d);
    CHECK_EQ_STR(d, "pwrite:error=ENOSPC/after=2/count=1 (fired 1)");
    hf_fault_clear();
    hf_vfs.close(fd);
}

TEST(path_selects_files_not_sockets)
{
    int fd = open_tmp("chunkfile");
    int sv[2];
    CHECK(fd >= 0);
    CHECK_EQ_INT(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    CHECK_EQ_INT(hf_fault_set("write:error=EIO/path=/", NULL, 0), HF_OK);
    CHECK_EQ_INT(hf_vfs.write(sv[0], "ab", 2), 2);
    CHECK_EQ_INT(hf_vfs.write(fd, "ab", 2), -1);
    CHECK_EQ_INT(hf_fault_set("write:error=EIO/path=chunkf", NULL, 0), HF_OK);
    int other = open_tmp("other");
    CHECK_EQ_INT(hf_vfs.write(other, "ab", 2), 2);
    CHECK_EQ_INT(hf_vfs.write(fd, "ab", 2), -1);
    hf_fault_clear();
    CHECK_EQ_INT(hf_vfs.write(fd, "ab", 2), 2);
    close(sv[0]);
    close(sv[1]);
    hf_vfs.close(fd);
    hf_vfs.close(other);
}

TEST(short_writes_are_retried_by_the_all_helpers)
{
    int fd = open_tmp("short");
    CHECK(fd >= 0);
    CHECK_EQ_INT(hf_fault_set("pwrite:short", NULL, 0), HF_OK);
    CHECK_EQ_INT(hf_vfs.pwrite(fd, "abcdefgh", 8, 0), 4);
    CHECK_EQ_INT(hf_vfs_pwrite_all(fd, "abcdefgh", 8, 0), HF_OK);
    hf_fault_clear();
    char b[9] = "";
    CHECK_EQ_INT(hf_vfs_pread_all(fd, b, 8, 0), HF_OK);
    CHECK_EQ_STR(b, "abcdefgh");
    hf_vfs.close(fd);
}

static _Atomic int hang_done;
static int hang_fd;

static void *hang_thread(void *arg)
{
    (void)arg;
    hf_vfs.fsync(hang_fd);
    atomic_store(&hang_done, 1);
    return NULL;
}

TEST(hang_waits_until_cleared)
{
    hang_fd = open_tmp("hang");
    CHECK(hang_fd >= 0);
    CHECK_EQ_INT(hf_fault_set("sync:hang", NULL, 0), HF_OK);
    pthread_t th;
    CHECK_EQ_INT(pthread_create(&th, NULL, hang_thread, NULL), 0);
    usleep(100 * 1000);
    CHECK_EQ_INT(atomic_load(&hang_done), 0);
    uint64_t fired = hf_fault_fired();
    CHECK(fired >= 1);
    hf_fault_clear();
    pthread_join(th, NULL);
    CHECK_EQ_INT(atomic_load(&hang_done), 1);
    hf_vfs.close(hang_fd);
}

HF_TEST_MAIN("unit/base/fault")
