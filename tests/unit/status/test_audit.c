/* Unit tests for src/status/audit.c: the append-only audit log -- what a
 * record holds, reading back by time and in pages, torn lines, failures
 * injected over the syscall seam. */
#include "test.h"

#include "base/err.h"
#include "base/fault.h"
#include "base/limits.h"
#include "base/time.h"
#include "base/vfs.h"
#include "status/audit.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

static char *read_file(const char *dir, size_t *n)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, HF_AUDIT_FILE);
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    static char buf[1 << 20];
    *n = fread(buf, 1, sizeof buf - 1, f);
    buf[*n] = '\0';
    fclose(f);
    return buf;
}

static hf_audit_rec_t rec(const char *action, const char *target, int64_t t)
{
    hf_audit_rec_t r = {
        .time_ns = t,
        .request_id = "0123456789ABCDEF",
        .actor = {.via = "admin-api", .user = "root", .key_id = "AKROOT", .peer = "127.0.0.1:1",
                  .local_user = "ops(1000)"},
        .action = action,
        .target = target,
        .status = 200,
    };
    return r;
}

TEST(records_hold_who_what_when_and_how_it_ended)
{
    char *dir = hf_test_tmpdir();
    json_t *recs;
    uint64_t next;
    bool more;
    /* No file yet: an empty log. */
    CHECK_EQ_INT(hf_audit_read(dir, 0, 0, &recs, &next, &more), HF_OK);
    CHECK_EQ_INT(json_array_size(recs), 0);
    CHECK(!more);
    json_decref(recs);

    hf_audit_rec_t a = rec("user.create", "alice", 1700000000000000000LL);
    a.status = 201;
    a.detail = json_pack("{s:s}", "access_key", "AKALICE");
    CHECK_EQ_INT(hf_audit_append(dir, &a), HF_OK);
    json_decref(a.detail);
    hf_audit_rec_t b = rec("user.delete", "bob", 1700000001000000000LL);
    b.status = 404;
    b.error = "NoSuchUser";
    CHECK_EQ_INT(hf_audit_append(dir, &b), HF_OK);

    size_t n;
    char *text = read_file(dir, &n);
    CHECK(text != NULL);
    CHECK_EQ_STR(text,
                 "{\"time\":\"2023-11-14T22:13:20.000Z\",\"request_id\":\"0123456789ABCDEF\","
                 "\"actor\":{\"via\":\"admin-api\",\"user\":\"root\",\"key_id\":\"AKROOT\","
                 "\"peer\":\"127.0.0.1:1\",\"local_user\":\"ops(1000)\"},\"action\":\"user.create\","
                 "\"target\":\"alice\",\"outcome\":\"ok\",\"status\":201,"
                 "\"detail\":{\"access_key\":\"AKALICE\"}}\n"
                 "{\"time\":\"2023-11-14T22:13:21.000Z\",\"request_id\":\"0123456789ABCDEF\","
                 "\"actor\":{\"via\":\"admin-api\",\"user\":\"root\",\"key_id\":\"AKROOT\","
                 "\"peer\":\"127.0.0.1:1\",\"local_user\":\"ops(1000)\"},\"action\":\"user.delete\","
                 "\"target\":\"bob\",\"outcome\":\"error\",\"status\":404,"
                 "\"error\":\"NoSuchUser\"}\n");
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, HF_AUDIT_FILE);
    struct stat sb;
    CHECK_EQ_INT(stat(path, &sb), 0);
    CHECK_EQ_INT(sb.st_mode & 0777, 0640);

    CHECK_EQ_INT(hf_audit_read(dir, 0, 0, &recs, &next, &more), HF_OK);
    CHECK_EQ_INT(json_array_size(recs), 2);
    CHECK_EQ_INT(next, n);
    CHECK(!more);
    CHECK_EQ_STR(json_string_value(json_object_get(json_array_get(recs, 1), "error")), "NoSuchUser");
    json_decref(recs);
    /* Since a time: records at or after it. */
    CHECK_EQ_INT(hf_audit_read(dir, 0, 1700000001000000000LL, &recs, &next, &more), HF_OK);
    CHECK_EQ_INT(json_array_size(recs), 1);
    CHECK_EQ_STR(json_string_value(json_object_get(json_array_get(recs, 0), "target")), "bob");
    json_decref(recs);
    CHECK_EQ_INT(hf_audit_read(dir, 0, 1700000002000000000LL, &recs, &next, &more), HF_OK);
    CHECK_EQ_INT(json_array_size(recs), 0);
    json_decref(recs);
    /* An absent field is left out, not written as null. */
    hf_audit_rec_t c = {.action = "store.reopen", .actor = {.via = "server"}};
    CHECK_EQ_INT(hf_audit_append(dir, &c), HF_OK);
    text = read_file(dir, &n);
    CHECK(strstr(text, "\"actor\":{\"via\":\"server\"},\"action\":\"store.reopen\",\"outcome\":\"ok\"}\n"));
    CHECK(!strstr(text, "null"));
    hf_test_rmtree(dir);
    free(dir);
}

TEST(a_value_cannot_break_a_line)
{
    char *dir = hf_test_tmpdir();
    hf_audit_rec_t a = rec("faults.set", "x\ny\r\"z", 0);
    a.detail = json_pack("{s:s}", "faults", "a\nb");
    CHECK_EQ_INT(hf_audit_append(dir, &a), HF_OK);
    json_decref(a.detail);
    size_t n;
    char *text = read_file(dir, &n);
    CHECK_EQ_INT(memchr(text, '\n', n) == text + n - 1, 1);
    json_t *recs;
    uint64_t next;
    bool more;
    CHECK_EQ_INT(hf_audit_read(dir, 0, 0, &recs, &next, &more), HF_OK);
    CHECK_EQ_STR(json_string_value(json_object_get(json_array_get(recs, 0), "target")), "x\ny\r\"z");
    json_decref(recs);
    /* A detail too long for one line is dropped, the record kept. */
    char *big = malloc(HF_AUDIT_LINE_MAX + 1);
    memset(big, 'x', HF_AUDIT_LINE_MAX);
    big[HF_AUDIT_LINE_MAX] = '\0';
    a.detail = json_pack("{s:s}", "faults", big);
    free(big);
    CHECK_EQ_INT(hf_audit_append(dir, &a), HF_OK);
    json_decref(a.detail);
    CHECK_EQ_INT(hf_audit_read(dir, 0, 0, &recs, &next, &more), HF_OK);
    CHECK_EQ_INT(json_array_size(recs), 2);
    json_t *r1 = json_array_get(recs, 1);
    CHECK(json_is_true(json_object_get(r1, "detail_dropped")));
    CHECK(json_object_get(r1, "detail") == NULL);
    json_decref(recs);
    hf_test_rmtree(dir);
    free(dir);
}

static int nosync(int fd)
{
    (void)fd;
    return 0;
}

TEST(pages)
{
    char *dir = hf_test_tmpdir();
    /* Thousands of appends: skip the disk flush, not the code around it. */
    hf_vfs.fdatasync = nosync;
    int total = HF_AUDIT_PAGE_RECORDS * 2 + 7;
    for (int i = 0; i < total; i++) {
        char t[16];
        snprintf(t, sizeof t, "u%d", i);
        hf_audit_rec_t a = rec("user.create", t, 1700000000000000000LL + i * 1000000LL);
        CHECK_EQ_INT(hf_audit_append(dir, &a), HF_OK);
    }
    hf_vfs_reset();
    uint64_t from = 0, next;
    bool more = true;
    int seen = 0, pages = 0;
    while (more) {
        json_t *recs;
        CHECK_EQ_INT(hf_audit_read(dir, from, 0, &recs, &next, &more), HF_OK);
        CHECK(json_array_size(recs) <= HF_AUDIT_PAGE_RECORDS);
        for (size_t i = 0; i < json_array_size(recs); i++) {
            char t[16];
            snprintf(t, sizeof t, "u%d", seen++);
            CHECK_EQ_STR(json_string_value(json_object_get(json_array_get(recs, i), "target")), t);
        }
        json_decref(recs);
        CHECK(next > from || !more);
        from = next;
        pages++;
    }
    CHECK_EQ_INT(seen, total);
    CHECK_EQ_INT(pages, 3);
    hf_test_rmtree(dir);
    free(dir);
}

TEST(a_torn_line_stays_confined)
{
    char *dir = hf_test_tmpdir();
    hf_audit_rec_t a = rec("user.create", "alice", 0);
    CHECK_EQ_INT(hf_audit_append(dir, &a), HF_OK);
    size_t n0;
    char *text = read_file(dir, &n0);
    char before[4096];
    memcpy(before, text, n0);
    /* A crash in the middle of the next append. */
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, HF_AUDIT_FILE);
    int fd = open(path, O_WRONLY | O_APPEND);
    CHECK(fd >= 0);
    CHECK_EQ_INT(write(fd, "{\"time\":\"20", 11), 11);
    close(fd);
    json_t *recs;
    uint64_t next;
    bool more;
    CHECK_EQ_INT(hf_audit_read(dir, 0, 0, &recs, &next, &more), HF_OK);
    CHECK_EQ_INT(json_array_size(recs), 2);
    CHECK(json_is_true(json_object_get(json_array_get(recs, 1), "damaged")));
    CHECK_EQ_INT(json_integer_value(json_object_get(json_array_get(recs, 1), "offset")), n0);
    json_decref(recs);
    /* The next record starts on a line of its own; nothing before it changed. */
    hf_audit_rec_t b = rec("user.delete", "alice", 0);
    CHECK_EQ_INT(hf_audit_append(dir, &b), HF_OK);
    size_t n1;
    text = read_file(dir, &n1);
    CHECK_EQ_MEM(text, before, n0);
    CHECK_EQ_INT(hf_audit_read(dir, 0, 0, &recs, &next, &more), HF_OK);
    CHECK_EQ_INT(json_array_size(recs), 3);
    CHECK(json_is_true(json_object_get(json_array_get(recs, 1), "damaged")));
    CHECK_EQ_STR(json_string_value(json_object_get(json_array_get(recs, 2), "action")), "user.delete");
    json_decref(recs);
    hf_test_rmtree(dir);
    free(dir);
}

TEST(failures_over_the_seam_are_reported)
{
    char *dir = hf_test_tmpdir();
    hf_audit_rec_t a = rec("user.create", "alice", 0);
    CHECK_EQ_INT(hf_audit_append(dir, &a), HF_OK);
    static const struct {
        const char *spec;
        int err;
    } cases[] = {
        {"open:error=EACCES/path=audit.log", -EACCES},
        {"write:error=ENOSPC/path=audit.log", -ENOSPC},
        {"fdatasync:error=EIO/path=audit.log", -EIO},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char err[128];
        CHECK_EQ_INT(hf_fault_set(cases[i].spec, err, sizeof err), HF_OK);
        CHECK_EQ_INT(hf_audit_append(dir, &a), cases[i].err);
        hf_fault_clear();
    }
    /* A short write leaves a torn line; the next append starts afresh. */
    char err[128];
    CHECK_EQ_INT(hf_fault_set("write:short/count=1/path=audit.log", err, sizeof err), HF_OK);
    CHECK_EQ_INT(hf_audit_append(dir, &a), HF_OK); /* the rest of the line follows */
    hf_fault_clear();
    json_t *recs;
    uint64_t next;
    bool more;
    CHECK_EQ_INT(hf_audit_read(dir, 0, 0, &recs, &next, &more), HF_OK);
    /* The first record; none from the refused open and the failed write;
     * one from the failed fdatasync (written, not known durable: the
     * caller logs it as well); one from the short write, completed. */
    CHECK_EQ_INT(json_array_size(recs), 3);
    for (size_t i = 0; i < json_array_size(recs); i++)
        CHECK_EQ_STR(json_string_value(json_object_get(json_array_get(recs, i), "action")),
                     "user.create");
    json_decref(recs);
    /* Reads fail cleanly too. */
    CHECK_EQ_INT(hf_fault_set("pread:error=EIO/path=audit.log", err, sizeof err), HF_OK);
    CHECK_EQ_INT(hf_audit_read(dir, 0, 0, &recs, &next, &more), -EIO);
    CHECK(recs == NULL);
    hf_fault_clear();
    hf_test_rmtree(dir);
    free(dir);
}

HF_TEST_MAIN("unit/status-audit")
