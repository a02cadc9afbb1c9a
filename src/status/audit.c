/*
 * audit.c -- the append-only audit log; see audit.h and
 * docs/internals/FORMAT-audit.md.
 *
 * Owns: <data dir>/audit.log, its line format and the rules for reading
 * it back.
 *
 * Approach. Admin actions are rare (a handful a day), so each append opens
 * the file with O_APPEND, writes the whole line with one write(), calls
 * fdatasync and closes: no descriptor is held, nothing is buffered, and a
 * record is durable when the call returns. O_APPEND puts every line at the
 * current end even if something else appends too. Before writing, the
 * last byte is checked: if an earlier write was cut short, the new line
 * starts with a newline so the damage stays confined to the torn line.
 *
 * Reading filters by time on the text: times are written in one fixed
 * UTC format ("2006-01-02T15:04:05.000Z"), whose text order is time order.
 *
 * Rejected: keeping the file open (a descriptor for a file written a few
 * times a day, and one more thing to reopen after an I/O error); writing
 * records into LMDB (the log must survive and be readable when the
 * metadata store is what failed, and must be readable with `grep`).
 */
#include "status/audit.h"

#include "base/err.h"
#include "base/iopool.h"
#include "base/limits.h"
#include "base/time.h"
#include "base/vfs.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Appends and reads of this process, one at a time: a reader never sees
 * the half of a line this process is writing. */
static pthread_mutex_t audit_mu = PTHREAD_MUTEX_INITIALIZER;

static int audit_path(char *out, size_t cap, const char *data_dir)
{
    int n = snprintf(out, cap, "%s/%s", data_dir, HF_AUDIT_FILE);
    return n < 0 || (size_t)n >= cap ? -ENAMETOOLONG : HF_OK;
}

static void set_str(json_t *o, const char *k, const char *v)
{
    if (v)
        json_object_set_new(o, k, json_string(v));
}

static json_t *build(const hf_audit_rec_t *rec, bool with_detail)
{
    char t[32];
    hf_time_iso8601(t, rec->time_ns ? rec->time_ns : hf_time_now());
    json_t *o = json_object();
    json_t *actor = json_object();
    if (!o || !actor) {
        json_decref(o);
        json_decref(actor);
        return NULL;
    }
    /* Insertion order is the order on disk: time first, so the file reads
     * (and sorts, and greps) by time. */
    json_object_set_new(o, "time", json_string(t));
    set_str(o, "request_id", rec->request_id);
    set_str(actor, "via", rec->actor.via);
    set_str(actor, "user", rec->actor.user);
    set_str(actor, "key_id", rec->actor.key_id);
    set_str(actor, "peer", rec->actor.peer);
    set_str(actor, "local_user", rec->actor.local_user);
    json_object_set_new(o, "actor", actor);
    json_object_set_new(o, "action", json_string(rec->action ? rec->action : "unknown"));
    set_str(o, "target", rec->target);
    json_object_set_new(o, "outcome", json_string(rec->error ? "error" : "ok"));
    if (rec->status)
        json_object_set_new(o, "status", json_integer(rec->status));
    set_str(o, "error", rec->error);
    if (rec->detail && with_detail)
        json_object_set(o, "detail", rec->detail);
    else if (rec->detail)
        json_object_set_new(o, "detail_dropped", json_true());
    return o;
}

char *hf_audit_format(const hf_audit_rec_t *rec)
{
    for (int pass = 0; pass < 2; pass++) {
        json_t *o = build(rec, pass == 0);
        if (!o)
            return NULL;
        /* Compact, one line: jansson escapes control characters, so no
         * value can break a line. */
        char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
        json_decref(o);
        if (!s)
            return NULL;
        if (strlen(s) < HF_AUDIT_LINE_MAX)
            return s;
        free(s);
    }
    return NULL;
}

static int audit_append(const char *data_dir, const hf_audit_rec_t *rec)
{
    char path[PATH_MAX];
    int rc = audit_path(path, sizeof path, data_dir);
    if (rc)
        return rc;
    char *line = hf_audit_format(rec);
    if (!line)
        return -ENOMEM;
    size_t n = strlen(line);
    /* Room for a leading newline (after a torn line) and the trailing one. */
    char *buf = malloc(n + 2);
    if (!buf) {
        free(line);
        return -ENOMEM;
    }
    pthread_mutex_lock(&audit_mu);
    bool created = false;
    int fd = hf_vfs_open(path, O_WRONLY | O_APPEND | O_CLOEXEC, 0);
    if (fd == -ENOENT) {
        fd = hf_vfs_open(path, O_WRONLY | O_APPEND | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
        created = fd >= 0;
        if (fd == -EEXIST) /* another process created it meanwhile */
            fd = hf_vfs_open(path, O_WRONLY | O_APPEND | O_CLOEXEC, 0);
    }
    if (fd < 0) {
        rc = fd;
        goto out;
    }
    size_t off = 0;
    struct stat sb;
    if (hf_vfs.fstat(fd, &sb) != 0) {
        rc = -errno;
        goto out_close;
    }
    if (sb.st_size > 0) {
        /* The descriptor is write-only: look at the last byte through a
         * second, read-only one. */
        char last = '\n';
        int rfd = hf_vfs_open(path, O_RDONLY | O_CLOEXEC, 0);
        if (rfd >= 0) {
            if (hf_vfs.pread(rfd, &last, 1, sb.st_size - 1) != 1)
                last = '\n';
            hf_vfs.close(rfd);
        }
        if (last != '\n')
            buf[off++] = '\n';
    }
    memcpy(buf + off, line, n);
    off += n;
    buf[off++] = '\n';
    if ((rc = hf_vfs_write_all(fd, buf, off)))
        goto out_close;
    if (hf_vfs.fdatasync(fd) != 0) {
        rc = -errno;
        goto out_close;
    }
out_close:
    hf_vfs.close(fd);
    if (rc == HF_OK && created)
        rc = hf_vfs_fsync_dir(data_dir);
out:
    pthread_mutex_unlock(&audit_mu);
    free(buf);
    free(line);
    return rc;
}

/* One line of the file (without its newline) into arr. */
static int add_line(json_t *arr, const char *p, size_t n, uint64_t offset, const char *since)
{
    json_error_t je;
    json_t *o = json_loadb(p, n, 0, &je);
    if (!json_is_object(o)) {
        json_decref(o);
        o = json_pack("{s:b,s:I}", "damaged", 1, "offset", (json_int_t)offset);
        if (!o)
            return -ENOMEM;
        return json_array_append_new(arr, o) ? -ENOMEM : HF_OK;
    }
    const char *t = json_string_value(json_object_get(o, "time"));
    if (since[0] && (!t || strcmp(t, since) < 0)) {
        json_decref(o);
        return HF_OK;
    }
    return json_array_append_new(arr, o) ? -ENOMEM : HF_OK;
}

static int audit_read(const char *data_dir, uint64_t from, int64_t since_ns, json_t **records,
                      uint64_t *next, bool *more)
{
    *records = NULL;
    *next = from;
    *more = false;
    char path[PATH_MAX], since[32] = "";
    int rc = audit_path(path, sizeof path, data_dir);
    if (rc)
        return rc;
    if (since_ns > 0)
        hf_time_iso8601(since, since_ns);
    json_t *arr = json_array();
    /* A page's bytes plus one longest line, so the page's last line is
     * whole whenever it fits. */
    size_t cap = HF_AUDIT_PAGE_BYTES + HF_AUDIT_LINE_MAX;
    char *buf = malloc(cap);
    if (!arr || !buf) {
        json_decref(arr);
        free(buf);
        return -ENOMEM;
    }
    pthread_mutex_lock(&audit_mu);
    int fd = hf_vfs_open(path, O_RDONLY | O_CLOEXEC, 0);
    if (fd == -ENOENT) {
        rc = HF_OK;
        goto out;
    }
    if (fd < 0) {
        rc = fd;
        goto out;
    }
    struct stat sb;
    if (hf_vfs.fstat(fd, &sb) != 0) {
        rc = -errno;
        goto out_close;
    }
    uint64_t size = (uint64_t)sb.st_size;
    if (from >= size)
        goto out_close;
    size_t want = size - from < cap ? (size_t)(size - from) : cap;
    size_t got = 0;
    while (got < want) {
        ssize_t r = hf_vfs.pread(fd, buf + got, want - got, (off_t)(from + got));
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            rc = -errno;
            goto out_close;
        }
        if (r == 0)
            break;
        got += (size_t)r;
    }
    size_t pos = 0, nrec = 0;
    while (pos < got && nrec < HF_AUDIT_PAGE_RECORDS && pos < HF_AUDIT_PAGE_BYTES) {
        char *nl = memchr(buf + pos, '\n', got - pos);
        size_t end;
        if (nl) {
            end = (size_t)(nl - buf);
        } else if (from + got < size && got - pos < HF_AUDIT_LINE_MAX) {
            break; /* the line goes on past what was read: next page */
        } else {
            /* Unterminated at the end of the file (a torn write), or longer
             * than any line this build writes: report it and move on. */
            end = got - pos > HF_AUDIT_LINE_MAX ? pos + HF_AUDIT_LINE_MAX : got;
        }
        if (end > pos) {
            if ((rc = add_line(arr, buf + pos, end - pos, from + pos, since)))
                goto out_close;
            nrec++;
        }
        pos = nl ? end + 1 : end;
    }
    *next = from + pos;
    *more = *next < size;
out_close:
    hf_vfs.close(fd);
out:
    pthread_mutex_unlock(&audit_mu);
    free(buf);
    if (rc) {
        json_decref(arr);
        return rc;
    }
    *records = arr;
    return HF_OK;
}

/* ---- on the blocking-I/O pool ------------------------------------------------- */

/* The admin API runs on the status listener's fibers: the file calls
 * (fdatasync above all) run on the blocking-I/O pool, so a slow disk never
 * holds a status loop (base/iopool.h). */
typedef struct call {
    int rc;
    const char *dir;
    const hf_audit_rec_t *rec;
    uint64_t from;
    int64_t since_ns;
    json_t **records;
    uint64_t *next;
    bool *more;
} call_t;

static void j_append(void *a)
{
    call_t *c = a;
    c->rc = audit_append(c->dir, c->rec);
}

int hf_audit_append(const char *data_dir, const hf_audit_rec_t *rec)
{
    call_t c = {.dir = data_dir, .rec = rec};
    hf_iopool_run(j_append, &c);
    return c.rc;
}

static void j_read(void *a)
{
    call_t *c = a;
    c->rc = audit_read(c->dir, c->from, c->since_ns, c->records, c->next, c->more);
}

int hf_audit_read(const char *data_dir, uint64_t from, int64_t since_ns, json_t **records,
                  uint64_t *next, bool *more)
{
    call_t c = {.dir = data_dir, .from = from, .since_ns = since_ns, .records = records,
                .next = next, .more = more};
    hf_iopool_run(j_read, &c);
    return c.rc;
}
