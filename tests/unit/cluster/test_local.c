/*
 * test_local.c -- cluster/local.c (the node's own copies, the secret, its
 * check and sealing), the catalog and member record encodings, and the
 * cluster URL.
 */
#include "test.h"

#include "base/buf.h"
#include "base/err.h"
#include "base/fault.h"
#include "cluster/catalog.h"
#include "cluster/local.h"
#include "cluster/ops.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[64];

static void fresh(void)
{
    snprintf(dir, sizeof dir, "/tmp/hf-unit-local-XXXXXX");
    if (!mkdtemp(dir))
        hf_test_fail(__FILE__, __LINE__, "mkdtemp");
}

static void done(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", dir);
}

TEST(local_file_round_trip_and_damage)
{
    fresh();
    hf_buf_t b;
    hf_buf_init(&b, HF_CLUSTER_FILE_MAX);
    CHECK_EQ_INT(hf_cluster_local_read(dir, "layout", &b), HF_E_NOTFOUND);
    const char *v = "{\"generation\":7}";
    CHECK_EQ_INT(hf_cluster_local_write(dir, "layout", v, strlen(v)), HF_OK);
    CHECK_EQ_INT(hf_cluster_local_read(dir, "layout", &b), HF_OK);
    CHECK_EQ_INT(b.len, strlen(v));
    CHECK_EQ_MEM(b.data, v, b.len);
    /* Replaced whole. */
    CHECK_EQ_INT(hf_cluster_local_write(dir, "layout", "x", 1), HF_OK);
    CHECK_EQ_INT(hf_cluster_local_read(dir, "layout", &b), HF_OK);
    CHECK_EQ_INT(b.len, 1);
    /* A flipped byte, a cut file, a bad header: damaged, never read as
     * something else. */
    char path[128];
    snprintf(path, sizeof path, "%s/cluster/layout", dir);
    CHECK_EQ_INT(hf_cluster_local_write(dir, "layout", v, strlen(v)), HF_OK);
    int fd = open(path, O_RDWR);
    struct stat st;
    fstat(fd, &st);
    char c;
    CHECK(pread(fd, &c, 1, st.st_size - 2) == 1);
    c ^= 1;
    CHECK(pwrite(fd, &c, 1, st.st_size - 2) == 1);
    CHECK_EQ_INT(hf_cluster_local_read(dir, "layout", &b), HF_E_CORRUPT);
    c ^= 1;
    CHECK(pwrite(fd, &c, 1, st.st_size - 2) == 1);
    CHECK_EQ_INT(hf_cluster_local_read(dir, "layout", &b), HF_OK);
    CHECK(ftruncate(fd, st.st_size - 1) == 0);
    CHECK_EQ_INT(hf_cluster_local_read(dir, "layout", &b), HF_E_CORRUPT);
    CHECK(pwrite(fd, "holdfast-cluster 2 ", 19, 0) == 19);
    CHECK_EQ_INT(hf_cluster_local_read(dir, "layout", &b), HF_E_CORRUPT);
    close(fd);
    /* A failing fsync leaves the old copy in place. */
    CHECK_EQ_INT(hf_cluster_local_write(dir, "state", "old", 3), HF_OK);
    char err[128];
    CHECK_EQ_INT(hf_fault_set("fsync:error=EIO/path=/cluster/", err, sizeof err), HF_OK);
    CHECK_EQ_INT(hf_cluster_local_write(dir, "state", "new", 3), -5);
    hf_fault_clear();
    CHECK_EQ_INT(hf_cluster_local_read(dir, "state", &b), HF_OK);
    CHECK_EQ_MEM(b.data, "old", 3);
    hf_buf_free(&b);
    done();
}

TEST(secret_load_check_and_seal)
{
    fresh();
    uint8_t s[HF_CLUSTER_SECRET_MAX];
    size_t n;
    char why[512];
    CHECK_EQ_INT(hf_cluster_secret_load(NULL, NULL, s, sizeof s, &n, why, sizeof why), HF_E_INVAL);
    CHECK(strstr(why, "HOLDFAST_CLUSTER_SECRET") != NULL);
    CHECK_EQ_INT(hf_cluster_secret_load(NULL, "short", s, sizeof s, &n, why, sizeof why), HF_E_INVAL);
    CHECK(strstr(why, "at least 16") != NULL);
    char path[128];
    snprintf(path, sizeof path, "%s/secret", dir);
    FILE *f = fopen(path, "w");
    fputs("0123456789abcdef0123\n", f);
    fclose(f);
    CHECK_EQ_INT(hf_cluster_secret_load(path, "ignored-when-a-file-is-given", s, sizeof s, &n, why,
                                        sizeof why),
                 HF_OK);
    CHECK_EQ_INT(n, 20); /* the newline is not part of it */
    char c1[65], c2[65], c3[65];
    hf_cluster_secret_check(s, n, "00112233445566778899aabbccddeeff", c1);
    hf_cluster_secret_check(s, n, "00112233445566778899aabbccddeeff", c2);
    hf_cluster_secret_check(s, n - 1, "00112233445566778899aabbccddeeff", c3);
    CHECK_EQ_STR(c1, c2);
    CHECK(strcmp(c1, c3) != 0);
    char sealed[512], again[512], plain[256];
    CHECK_EQ_INT(hf_cluster_seal(s, n, "the-secret-key", sealed, sizeof sealed), HF_OK);
    CHECK_EQ_INT(hf_cluster_seal(s, n, "the-secret-key", again, sizeof again), HF_OK);
    CHECK(strcmp(sealed, again) != 0); /* a fresh nonce each time */
    CHECK(strstr(sealed, "the-secret") == NULL);
    CHECK_EQ_INT(hf_cluster_unseal(s, n, sealed, plain, sizeof plain), HF_OK);
    CHECK_EQ_STR(plain, "the-secret-key");
    CHECK_EQ_INT(hf_cluster_unseal(s, n - 1, sealed, plain, sizeof plain), HF_E_AUTH);
    sealed[10] = sealed[10] == 'A' ? 'B' : 'A';
    CHECK_EQ_INT(hf_cluster_unseal(s, n, sealed, plain, sizeof plain), HF_E_AUTH);
    CHECK_EQ_INT(hf_cluster_unseal(s, n, "not base64!", plain, sizeof plain), HF_E_INVAL);
    done();
}

TEST(catalog_records_round_trip)
{
    const uint8_t secret[] = "a-cluster-secret-for-the-test";
    hf_user_t u = {.id = 0x1f0c77a91d2e4b60ULL, .flags = HF_USER_NO_CREATE_BUCKET,
                   .created = 1767225600000000000LL, .key_created = 1767225700000000000LL,
                   .nretiring = 1};
    snprintf(u.name, sizeof u.name, "alice");
    snprintf(u.canonical_id, sizeof u.canonical_id, "%064d", 7);
    snprintf(u.access_key, sizeof u.access_key, "HFALICE2");
    snprintf(u.secret_key, sizeof u.secret_key, "secret-two");
    snprintf(u.retiring[0].access_key, sizeof u.retiring[0].access_key, "HFALICE1");
    snprintf(u.retiring[0].secret_key, sizeof u.retiring[0].secret_key, "secret-one");
    u.retiring[0].expires = 1767312000000000000LL;
    hf_buf_t b;
    hf_buf_init(&b, 1 << 16);
    CHECK_EQ_INT(hf_catalog_user_encode(secret, sizeof secret - 1, &u, 3, &b), HF_OK);
    CHECK(memmem(b.data, b.len, "secret-two", 10) == NULL); /* sealed, never plain */
    hf_user_t d;
    uint32_t nb;
    CHECK_EQ_INT(hf_catalog_user_decode(secret, sizeof secret - 1, b.data, b.len, &d, &nb), HF_OK);
    CHECK_EQ_INT(nb, 3);
    CHECK_EQ_INT(d.id, u.id);
    CHECK_EQ_STR(d.secret_key, "secret-two");
    CHECK_EQ_STR(d.retiring[0].secret_key, "secret-one");
    CHECK_EQ_INT(d.retiring[0].expires, u.retiring[0].expires);
    CHECK_EQ_INT(d.flags, HF_USER_NO_CREATE_BUCKET);
    CHECK_EQ_INT(hf_catalog_user_decode(secret, sizeof secret - 2, b.data, b.len, &d, &nb),
                 HF_E_AUTH);
    CHECK_EQ_INT(hf_catalog_user_decode(secret, sizeof secret - 1, "{\"id\":\"00\"}", 11, &d, &nb),
                 HF_E_INVAL);
    hf_bucket_t bk = {.id = 0x6c1d0e5a9b3f2c71ULL, .owner = u.id, .created = 5, .flags = 1017}, bd;
    snprintf(bk.name, sizeof bk.name, "photos");
    CHECK_EQ_INT(hf_catalog_bucket_encode(&bk, &b), HF_OK);
    CHECK_EQ_INT(hf_catalog_bucket_decode(b.data, b.len, &bd), HF_OK);
    CHECK_EQ_INT(bd.id, bk.id);
    CHECK_EQ_INT(bd.owner, bk.owner);
    CHECK_EQ_INT(bd.flags, 1017);
    CHECK_EQ_STR(bd.name, "photos");
    CHECK_EQ_INT(hf_catalog_bucket_decode("{\"name\":\"ab\"}", 13, &bd), HF_E_INVAL);
    hf_buf_free(&b);
}

TEST(cluster_urls)
{
    static const struct {
        const char *url;
        int rc;
        const char *ep, *prefix;
    } rows[] = {
        {"etcd://127.0.0.1:2379", HF_OK, "127.0.0.1:2379", "/holdfast"},
        {"etcd://a:1,b:2/prod", HF_OK, "a:1,b:2", "/prod"},
        {"etcd://a:1/prod/eu/", HF_OK, "a:1", "/prod/eu"},
        {"http://a:1", HF_E_INVAL, NULL, NULL},
        {"etcd:///holdfast", HF_E_INVAL, NULL, NULL},
        {"etcd://a:1/", HF_E_INVAL, NULL, NULL},
        {"etcd://a:1/bad prefix", HF_E_INVAL, NULL, NULL},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        char ep[256], pre[HF_CLUSTER_PREFIX_MAX + 1], why[256];
        int rc = hf_cluster_parse_url(rows[i].url, ep, sizeof ep, pre, sizeof pre, why, sizeof why);
        if (rc != rows[i].rc)
            hf_test_fail(__FILE__, __LINE__, "'%s': %d (%s)", rows[i].url, rc, why);
        if (rc == HF_OK) {
            CHECK_EQ_STR(ep, rows[i].ep);
            CHECK_EQ_STR(pre, rows[i].prefix);
        }
    }
    hf_cluster_member_t m = {.capacity = 9, .applied = 4, .confirmed = 3}, d = {0};
    snprintf(m.id, sizeof m.id, "n1");
    snprintf(m.zone, sizeof m.zone, "a");
    hf_buf_t b;
    hf_buf_init(&b, 4096);
    CHECK_EQ_INT(hf_cluster_member_encode(&m, false, &b), HF_OK);
    CHECK_EQ_INT(hf_cluster_member_decode(b.data, b.len, false, &d), HF_OK);
    CHECK_EQ_STR(d.id, "n1");
    CHECK_EQ_INT(d.applied, 4);
    CHECK_EQ_INT(d.confirmed, 3);
    CHECK_EQ_INT(hf_cluster_member_decode("[]", 2, false, &d), HF_E_INVAL);
    hf_buf_free(&b);
}

HF_TEST_MAIN("unit/cluster/local")
