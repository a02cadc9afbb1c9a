/*
 * test.h -- the unit test harness: TEST(name) { ... } with CHECK macros.
 *
 * Each test binary prints one line per test, "PASS <suite>/<name>" or
 * "FAIL <suite>/<name>: file:line: what", which tests/run.sh counts. A
 * failed CHECK ends the test (the rest of that test is skipped); other
 * tests still run. The binary exits non-zero if any test failed.
 */
#ifndef HF_TEST_H
#define HF_TEST_H

#include <inttypes.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef void (*hf_test_fn)(void);
void hf_test_register(const char *name, hf_test_fn fn);
void hf_test_fail(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4), noreturn));
int hf_test_main(const char *suite, int argc, char **argv);

#define TEST(name)                                                                   \
    static void test_##name(void);                                                   \
    __attribute__((constructor)) static void reg_##name(void)                        \
    {                                                                                \
        hf_test_register(#name, test_##name);                                        \
    }                                                                                \
    static void test_##name(void)

#define CHECK(cond)                                                                  \
    do {                                                                             \
        if (!(cond))                                                                 \
            hf_test_fail(__FILE__, __LINE__, "CHECK(%s)", #cond);                    \
    } while (0)

#define CHECK_EQ_INT(a, b)                                                           \
    do {                                                                             \
        long long va_ = (long long)(a), vb_ = (long long)(b);                        \
        if (va_ != vb_)                                                              \
            hf_test_fail(__FILE__, __LINE__, "%s == %lld, expected %s == %lld", #a,  \
                         va_, #b, vb_);                                              \
    } while (0)

#define CHECK_EQ_STR(a, b)                                                           \
    do {                                                                             \
        const char *sa_ = (a), *sb_ = (b);                                           \
        if (!sa_ || !sb_ || strcmp(sa_, sb_) != 0)                                   \
            hf_test_fail(__FILE__, __LINE__, "%s == \"%s\", expected \"%s\"", #a,    \
                         sa_ ? sa_ : "(null)", sb_ ? sb_ : "(null)");                \
    } while (0)

#define CHECK_EQ_MEM(a, b, n)                                                        \
    do {                                                                             \
        if (memcmp((a), (b), (n)) != 0)                                              \
            hf_test_fail(__FILE__, __LINE__, "memory of %s differs from %s", #a, #b);\
    } while (0)

/* Each test binary's main: HF_TEST_MAIN("unit/base") */
#define HF_TEST_MAIN(suite)                                                          \
    int main(int argc, char **argv) { return hf_test_main(suite, argc, argv); }

/* A fresh empty directory under $TMPDIR (or /tmp) for this test; removed
 * with everything in it by hf_test_rmtree. Caller frees the string. */
char *hf_test_tmpdir(void);
void hf_test_rmtree(const char *path);

#endif
