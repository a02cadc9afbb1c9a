/* test.c -- runner for test.h. */
#include "test.h"


#include <ftw.h>
#include <stdarg.h>
#include <unistd.h>

#define MAX_TESTS 512

static struct {
    const char *name;
    hf_test_fn fn;
} tests[MAX_TESTS];
static int ntests;
static jmp_buf on_fail;
static char fail_msg[1024];

void hf_test_register(const char *name, hf_test_fn fn)
{
    if (ntests == MAX_TESTS) {
        fprintf(stderr, "too many tests\n");
        exit(2);
    }
    tests[ntests].name = name;
    tests[ntests].fn = fn;
    ntests++;
}

void hf_test_fail(const char *file, int line, const char *fmt, ...)
{
    int n = snprintf(fail_msg, sizeof fail_msg, "%s:%d: ", file, line);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(fail_msg + n, sizeof fail_msg - (size_t)n, fmt, ap);
    va_end(ap);
    longjmp(on_fail, 1);
}

int hf_test_main(const char *suite, int argc, char **argv)
{
    volatile int failed = 0; /* survive longjmp from a failed CHECK */
    const char *only = argc > 1 ? argv[1] : NULL;
    for (volatile int i = 0; i < ntests; i++) {
        if (only && strcmp(only, tests[i].name) != 0)
            continue;
        if (setjmp(on_fail) == 0) {
            tests[i].fn();
            printf("PASS %s/%s\n", suite, tests[i].name);
        } else {
            printf("FAIL %s/%s: %s\n", suite, tests[i].name, fail_msg);
            failed++;
        }
        fflush(stdout);
    }
    return failed ? 1 : 0;
}

char *hf_test_tmpdir(void)
{
    const char *base = getenv("TMPDIR");
    char tmpl[4096];
    snprintf(tmpl, sizeof tmpl, "%s/hf-unit-XXXXXX", base && *base ? base : "/tmp");
    char *d = mkdtemp(tmpl);
    if (!d) {
        perror("mkdtemp");
        exit(2);
    }
    return strdup(d);
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(p);
}

void hf_test_rmtree(const char *path)
{
    nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}
