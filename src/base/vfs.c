/* vfs.c -- libc defaults for the syscall seam; see vfs.h. */
#include "base/vfs.h"

#include "base/err.h"
#include "base/hist.h"
#include "base/time.h"

#include <errno.h>
#include <sys/syscall.h>
#include <stdint.h>
#include <stdatomic.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

hf_hist_t hf_vfs_sync_hist = HF_HIST_INIT(hf_hist_latency_us);

static int sys_open(const char *path, int flags, mode_t mode)
{
    return open(path, flags, mode);
}

/* The defaults time every flush to disk: fsync latency is the first
 * thing to look at when writes slow down, and the seam is the one place
 * every flush passes. Injected delays (fault.h) happen before the default
 * is called, so this measures the device, not the drill. */
static int sys_fsync(int fd)
{
    int64_t t0 = hf_mono_us();
    int rc = fsync(fd);
    hf_hist_add(&hf_vfs_sync_hist, (uint64_t)(hf_mono_us() - t0));
    return rc;
}

static int sys_fdatasync(int fd)
{
    int64_t t0 = hf_mono_us();
    int rc = fdatasync(fd);
    hf_hist_add(&hf_vfs_sync_hist, (uint64_t)(hf_mono_us() - t0));
    return rc;
}

const hf_vfs_t hf_vfs_default = {
    .open = sys_open,
    .close = close,
    .read = read,
    .write = write,
    .writev = writev,
    .pread = pread,
    .pwrite = pwrite,
    .fsync = sys_fsync,
    .fdatasync = sys_fdatasync,
    .ftruncate = ftruncate,
    .fstat = fstat,
    .unlink = unlink,
    .rename = rename,
    .mkdir = mkdir,
    .statvfs = statvfs,
};

hf_vfs_t hf_vfs = {
    .open = sys_open,
    .close = close,
    .read = read,
    .write = write,
    .writev = writev,
    .pread = pread,
    .pwrite = pwrite,
    .fsync = sys_fsync,
    .fdatasync = sys_fdatasync,
    .ftruncate = ftruncate,
    .fstat = fstat,
    .unlink = unlink,
    .rename = rename,
    .mkdir = mkdir,
    .statvfs = statvfs,
};

void hf_vfs_reset(void)
{
    hf_vfs = hf_vfs_default;
}

/* pwrite (off >= 0) or write (off < 0: the file position, or the end of
 * an O_APPEND file) until all n bytes are written. */
static int write_all_at(int fd, const void *p, size_t n, off_t off)
{
    const char *b = p;
    while (n) {
        ssize_t k = off >= 0 ? hf_vfs.pwrite(fd, b, n, off) : hf_vfs.write(fd, b, n);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (k == 0)
            return -EIO;
        b += k;
        n -= (size_t)k;
        if (off >= 0)
            off += k;
    }
    return HF_OK;
}

int hf_vfs_pwrite_all(int fd, const void *p, size_t n, off_t off)
{
    return off < 0 ? -EINVAL : write_all_at(fd, p, n, off);
}

int hf_vfs_write_all(int fd, const void *p, size_t n)
{
    return write_all_at(fd, p, n, -1);
}

int hf_vfs_pread_all(int fd, void *p, size_t n, off_t off)
{
    char *b = p;
    while (n) {
        ssize_t k = hf_vfs.pread(fd, b, n, off);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (k == 0)
            return HF_E_CORRUPT; /* file shorter than its header says */
        b += k;
        n -= (size_t)k;
        off += k;
    }
    return HF_OK;
}

int hf_vfs_open(const char *path, int flags, mode_t mode)
{
    for (;;) {
        int fd = hf_vfs.open(path, flags | O_CLOEXEC, mode);
        if (fd >= 0)
            return fd;
        if (errno != EINTR)
            return -errno;
    }
}

int hf_vfs_fsync_dir(const char *path)
{
    int fd = hf_vfs_open(path, O_RDONLY | O_DIRECTORY, 0);
    if (fd < 0)
        return fd;
    int rc = hf_vfs.fsync(fd) ? -errno : HF_OK;
    hf_vfs.close(fd);
    return rc;
}

/* cachestat(2) has the same number on every architecture (the unified
 * syscall table, from 424 on); Debian 12's headers predate it. */
#ifndef __NR_cachestat
#define __NR_cachestat 451
#endif

struct hf_cachestat_range {
    uint64_t off, len;
};

struct hf_cachestat {
    uint64_t nr_cache, nr_dirty, nr_writeback, nr_evicted, nr_recently_evicted;
};

static _Atomic int cachestat_missing;

int hf_vfs_cached(int fd, off_t off, size_t len)
{
    if (len == 0)
        return 1;
    if (hf_vfs.pread != hf_vfs_default.pread)
        return 0;
    if (atomic_load_explicit(&cachestat_missing, memory_order_relaxed))
        return -ENOSYS;
    struct hf_cachestat_range r = {.off = (uint64_t)off, .len = len};
    struct hf_cachestat c;
    if (syscall(__NR_cachestat, fd, &r, &c, 0) != 0) {
        int e = errno;
        if (e == ENOSYS)
            atomic_store(&cachestat_missing, 1);
        return -e;
    }
    long page = sysconf(_SC_PAGESIZE);
    uint64_t first = (uint64_t)off / (uint64_t)page;
    uint64_t last = ((uint64_t)off + len - 1) / (uint64_t)page;
    return c.nr_cache >= last - first + 1 ? 1 : 0;
}

int hf_vfs_replace(const char *path, const struct iovec *iov, int cnt, mode_t mode)
{
    char tmp[PATH_MAX], dir[PATH_MAX];
    int len = snprintf(tmp, sizeof tmp, "%s.tmp", path);
    if (len < 0 || (size_t)len >= sizeof tmp)
        return -ENAMETOOLONG;
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (!slash)
        snprintf(dir, sizeof dir, ".");
    else if (slash == dir)
        dir[1] = '\0';
    else
        *slash = '\0';
    int fd = hf_vfs_open(tmp, O_WRONLY | O_CREAT | O_TRUNC, mode);
    if (fd < 0)
        return fd;
    int rc = HF_OK;
    off_t off = 0;
    for (int i = 0; i < cnt && rc == HF_OK; i++) {
        rc = hf_vfs_pwrite_all(fd, iov[i].iov_base, iov[i].iov_len, off);
        off += (off_t)iov[i].iov_len;
    }
    if (rc == HF_OK && hf_vfs.fsync(fd) != 0)
        rc = -errno;
    hf_vfs.close(fd);
    if (rc == HF_OK && hf_vfs.rename(tmp, path) != 0)
        rc = -errno;
    if (rc != HF_OK)
        hf_vfs.unlink(tmp);
    else
        rc = hf_vfs_fsync_dir(dir);
    return rc;
}

int hf_vfs_write_file(const char *path, const void *p, size_t n, mode_t mode)
{
    struct iovec iov = {.iov_base = (void *)p, .iov_len = n};
    return hf_vfs_replace(path, &iov, 1, mode);
}
