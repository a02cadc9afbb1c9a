/*
 * fault.h -- fault injection over the syscall seam (vfs.h), for tests and
 * outage drills against a running server.
 *
 * A fault set is a list of rules, written as text so a test can send it to
 * a running process (the status listener's /admin/v1/faults, or the
 * HOLDFAST_FAULTS environment variable at start):
 *
 *   rules  = rule { "," rule }
 *   rule   = op ":" action { "/" option }
 *   op     = open | read | write | writev | pread | pwrite | fsync |
 *            fdatasync | sync (fsync and fdatasync) | ftruncate | fstat |
 *            unlink | rename | mkdir | statvfs
 *   action = "error=" ERRNO      fail with that errno (EIO, ENOSPC, EDQUOT,
 *                                EROFS, EACCES, EMFILE, ENOMEM, EAGAIN, EINTR)
 *          | "delay=" MS         wait MS milliseconds, then do the call
 *          | "hang"              wait until the rule is cleared, then do it
 *          | "short"             read/write/pread/pwrite/writev move at most
 *                                half the bytes asked (at least one)
 *   option = "path=" TEXT        only calls whose path (for fd calls: the
 *                                file the fd refers to) contains TEXT; a
 *                                socket's "path" is "socket:[inode]", so
 *                                "path=/" selects files only. TEXT may hold
 *                                '/', so path= is the rule's last option
 *          | "after=" N          let the first N matching calls through
 *          | "count=" N          fire at most N times, then pass
 *
 * Example: "fsync:hang/path=/chunks/,pwrite:error=ENOSPC/after=3/count=1/path=/".
 *
 * Installing a set wraps every hf_vfs entry (once) with a function that
 * consults the current set; a rule that matches runs its action, otherwise
 * the call goes to the libc default. Clearing restores pass-through; calls
 * hanging on a cleared rule proceed.
 *
 * This is a test facility: the server accepts fault sets only when started
 * with --fault-injection, and logs every change at warn level.
 *
 * Threads: every function is thread-safe; wrapped calls from any thread
 * see a set either wholly or not at all.
 */
#ifndef HF_BASE_FAULT_H
#define HF_BASE_FAULT_H

#include <stddef.h>
#include <stdint.h>

/* Rules in one set. Drills need a handful; the bound keeps parsing and
 * matching trivially cheap. */
#define HF_FAULT_RULES_MAX 16

/* Replace the current fault set with the one spec describes (an empty spec
 * clears it). On a parse error nothing changes, HF_E_INVAL is returned and
 * err says what is wrong (err may be NULL). */
int hf_fault_set(const char *spec, char *err, size_t errcap);

/* Parse spec without installing it (for clients that check before
 * sending). HF_OK or HF_E_INVAL with err filled. */
int hf_fault_check(const char *spec, char *err, size_t errcap);

/* Remove every rule (calls pass through again). */
void hf_fault_clear(void);

/* The current set as text in the grammar above, with each rule's fire
 * count appended as " (fired N)"; "" when empty. Returns the length that
 * was needed (as snprintf). */
size_t hf_fault_describe(char *out, size_t cap);

/* Total number of times any rule fired since start. */
uint64_t hf_fault_fired(void);

#endif /* HF_BASE_FAULT_H */
