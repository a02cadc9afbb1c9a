/*
 * audit.h -- the audit log: one JSON object per line in <data
 * dir>/audit.log for every admin action (who, what, when, and how it
 * ended), appended and fsynced, never rewritten. The format is in
 * docs/internals/FORMAT-audit.md.
 *
 * What goes in: the admin API's state-changing calls (status.c records
 * every one, whatever its outcome) and what the server does on an
 * operator's behalf at start (creating the root user). Records never hold
 * a secret: callers pass access key ids, never secret keys.
 *
 * Durability: a record is appended with one write() and fdatasync()ed
 * before hf_audit_append returns; a new file's directory entry is fsynced
 * too. A write cut short (a crash, a full disk) leaves a partial last
 * line; the next append starts on a fresh line, and readers report the
 * partial one as damaged instead of failing.
 *
 * Failure policy: a record that cannot be written does not undo or block
 * the action (an operator must still be able to run `store reopen` on a
 * failing disk); the caller logs the record at error level instead.
 *
 * Every file operation goes through the hf_vfs seam (base/vfs.h), so
 * fault injection reaches it (`path=audit.log`).
 *
 * Ownership: callers own everything they pass; hf_audit_read returns a new
 * json_t array owned by the caller (json_decref).
 * Threads: thread-safe; appends and reads in one process are serialized.
 */
#ifndef HF_STATUS_AUDIT_H
#define HF_STATUS_AUDIT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#define HF_AUDIT_FILE "audit.log"

/* Who did it. Every field may be NULL (left out of the record). */
typedef struct hf_audit_actor {
    const char *via;        /* "admin-api" or "server" */
    const char *user;       /* the authenticated user (admin API: root) */
    const char *key_id;     /* the access key id that signed the call */
    const char *peer;       /* the caller's address, ip:port */
    const char *local_user; /* the caller's local account as its CLI reports
                               it (not authenticated; the key is) */
} hf_audit_actor_t;

typedef struct hf_audit_rec {
    int64_t time_ns;        /* 0: now */
    const char *request_id; /* the admin call's request id, or NULL */
    hf_audit_actor_t actor;
    const char *action;     /* e.g. "user.create" (FORMAT-audit.md lists them) */
    const char *target;     /* what it acted on, or NULL */
    int status;             /* HTTP status answered, 0 if none */
    const char *error;      /* the error code answered; NULL: outcome "ok" */
    json_t *detail;         /* borrowed, may be NULL; never a secret */
} hf_audit_rec_t;

/* Append rec to <data_dir>/audit.log (created mode 0640). A detail that
 * would make the line longer than HF_AUDIT_LINE_MAX is left out and the
 * record says so. Errors: negative errno from the file system (the record
 * is not in the log; the caller should log it). */
int hf_audit_append(const char *data_dir, const hf_audit_rec_t *rec);

/* rec as the one JSON line hf_audit_append writes (without the newline),
 * for logging a record that could not be appended. Caller frees (free). */
char *hf_audit_format(const hf_audit_rec_t *rec);

/* Read records from byte offset from on, keeping those whose time is at or
 * after since_ns (0: all): at most HF_AUDIT_PAGE_RECORDS records and about
 * HF_AUDIT_PAGE_BYTES of the file per call. *records gets a new array; a
 * line that is not a JSON object comes back as {"damaged": true,
 * "offset": N}. *next is where to continue; *more is true when the file
 * goes on past it. A missing file reads as empty. Errors: negative errno,
 * -ENOMEM. */
int hf_audit_read(const char *data_dir, uint64_t from, int64_t since_ns, json_t **records,
                  uint64_t *next, bool *more);

#endif
