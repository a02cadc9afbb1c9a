/*
 * vfs.h -- the syscall seam (SQLite's aSyscall table).
 *
 * Every system call that touches disk or a client socket goes through the
 * function pointers in hf_vfs, never straight to libc, so tests and drills
 * can swap in versions that fail (EIO, ENOSPC, failing fsync), write short,
 * or add delay, and check that holdfast degrades as documented.
 *
 * The pointers have the libc signatures and conventions: they return -1 and
 * set errno. The hf_vfs_*_all helpers retry EINTR and short transfers and
 * return HF_OK or a negative errno.
 *
 * Threads: the table is read concurrently by every thread without locking;
 * tests swap entries only while no I/O is running (before the server starts
 * or from a quiesced state), or use entries that are themselves thread-safe.
 */
#ifndef HF_BASE_VFS_H
#define HF_BASE_VFS_H

#include <stddef.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/types.h>
#include <sys/uio.h>

typedef struct hf_vfs {
    int (*open)(const char *path, int flags, mode_t mode);
    int (*close)(int fd);
    ssize_t (*read)(int fd, void *buf, size_t n);
    ssize_t (*write)(int fd, const void *buf, size_t n);
    ssize_t (*writev)(int fd, const struct iovec *iov, int cnt);
    ssize_t (*pread)(int fd, void *buf, size_t n, off_t off);
    ssize_t (*pwrite)(int fd, const void *buf, size_t n, off_t off);
    int (*fsync)(int fd);
    int (*fdatasync)(int fd);
    int (*ftruncate)(int fd, off_t len);
    int (*fstat)(int fd, struct stat *st);
    int (*unlink)(const char *path);
    int (*rename)(const char *from, const char *to);
    int (*mkdir)(const char *path, mode_t mode);
    int (*statvfs)(const char *path, struct statvfs *st);
} hf_vfs_t;

/* The table in use. Starts as the libc defaults. */
extern hf_vfs_t hf_vfs;
/* The libc defaults, for tests that wrap them. */
extern const hf_vfs_t hf_vfs_default;
/* Latency in microseconds of every fsync and fdatasync made through the
 * defaults (metrics: holdfast_fsync_seconds). */
extern struct hf_hist hf_vfs_sync_hist;

/* Restore every entry to its default. */
void hf_vfs_reset(void);

/* Write all n bytes at off, retrying short writes and EINTR. */
int hf_vfs_pwrite_all(int fd, const void *p, size_t n, off_t off);
/* Write all n bytes at the file position (for an O_APPEND file: at its
 * end), retrying short writes and EINTR. */
int hf_vfs_write_all(int fd, const void *p, size_t n);
/* Read exactly n bytes at off; HF_E_CORRUPT if the file ends first. */
int hf_vfs_pread_all(int fd, void *p, size_t n, off_t off);
/* Open, retrying EINTR. Returns fd >= 0 or a negative errno. */
int hf_vfs_open(const char *path, int flags, mode_t mode);
/* fsync the directory at path (makes a create/rename/unlink in it durable). */
int hf_vfs_fsync_dir(const char *path);
/* Replace the file at path with the cnt pieces of iov, atomically and
 * durably: written to path.tmp (mode), fsynced, renamed over path, and
 * the directory fsynced; a crash leaves the old file or the new one. On
 * failure path.tmp is removed. HF_OK or a negative errno. */
int hf_vfs_replace(const char *path, const struct iovec *iov, int cnt, mode_t mode);

/* 1 if every page of [off, off + len) of fd is in the page cache, so a
 * read of it costs a copy and no wait; 0 if not, or while a fault set
 * replaces the defaults (the faults decide what the disk does then); a
 * negative errno if the kernel cannot tell (cachestat(2), Linux 6.5, is
 * missing: -ENOSYS, and the call is not tried again). */
int hf_vfs_cached(int fd, off_t off, size_t len);

/* Replace the file at path with n bytes of p, atomically and durably: write
 * path.tmp (mode), fsync it, rename it over path, fsync the directory. A
 * crash leaves either the old file or the new one (and maybe path.tmp,
 * which the next call replaces). HF_OK or a negative errno (-ENAMETOOLONG
 * for a path past PATH_MAX). */
int hf_vfs_write_file(const char *path, const void *p, size_t n, mode_t mode);

#endif /* HF_BASE_VFS_H */
