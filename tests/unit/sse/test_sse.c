/* Unit tests for src/sse: the master key file (syntax, permissions,
 * creation, rotation, fingerprints) and object descriptors (wrapping for
 * SSE-S3 and SSE-C, the key check, inline sealing, ETags). */
#include "test.h"

#include "base/crypt.h"
#include "base/err.h"
#include "base/limits.h"
#include "base/str.h"
#include "sse/keyring.h"
#include "sse/sse.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#define K1 "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
#define K2 "60303AE22B998861BCE3B28F33EEC1BE758A213C86C93C076DBE9F558C71C752"

static int parse(const char *text, size_t *count, uint32_t *ids, uint8_t (*keys)[32], char *why)
{
    return hf_keyring_parse(text, strlen(text), ids, keys, 4, count, why, 200);
}

TEST(key_file_syntax)
{
    uint32_t ids[4];
    uint8_t keys[4][32];
    size_t n;
    char why[200];
    CHECK_EQ_INT(parse("# c\n\n1 " K1 "\r\n  7\t" K2 "  \n# end", &n, ids, keys, why), HF_OK);
    CHECK_EQ_INT(n, 2);
    CHECK_EQ_INT(ids[0], 1);
    CHECK_EQ_INT(ids[1], 7);
    uint8_t want[32];
    CHECK_EQ_INT(hf_hex_decode(want, K2, 32), HF_OK);
    CHECK_EQ_MEM(keys[1], want, 32);
    /* the last line needs no newline */
    CHECK_EQ_INT(parse("4294967295 " K1, &n, ids, keys, why), HF_OK);
    CHECK_EQ_INT(ids[0], 4294967295u);
    /* refused, each naming the line */
    CHECK_EQ_INT(parse("", &n, ids, keys, why), HF_E_INVAL);
    CHECK(strstr(why, "no keys"));
    CHECK_EQ_INT(parse("# only comments\n", &n, ids, keys, why), HF_E_INVAL);
    CHECK_EQ_INT(parse("1 " K1 "\n\n0 " K2 "\n", &n, ids, keys, why), HF_E_INVAL);
    CHECK(strstr(why, "line 3"));
    CHECK_EQ_INT(n, 0);
    CHECK_EQ_INT(parse("4294967296 " K1, &n, ids, keys, why), HF_E_INVAL);
    CHECK_EQ_INT(parse("x1 " K1, &n, ids, keys, why), HF_E_INVAL);
    CHECK_EQ_INT(parse("1" K1, &n, ids, keys, why), HF_E_INVAL);
    CHECK_EQ_INT(parse("1 " K1 "0", &n, ids, keys, why), HF_E_INVAL);
    CHECK(strstr(why, "64 hex digits"));
    CHECK_EQ_INT(parse("1 " K1 " 2", &n, ids, keys, why), HF_E_INVAL);
    CHECK_EQ_INT(parse("1 zz86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", &n, ids,
                       keys, why),
                 HF_E_INVAL);
    CHECK(strstr(why, "not hex"));
    CHECK_EQ_INT(parse("2 " K1 "\n1 " K2, &n, ids, keys, why), HF_E_INVAL);
    CHECK(strstr(why, "increase"));
    CHECK_EQ_INT(parse("2 " K1 "\n2 " K2, &n, ids, keys, why), HF_E_INVAL);
    /* no key material in the message */
    CHECK(strstr(why, "9f86") == NULL && strstr(why, "6030") == NULL);
    CHECK_EQ_INT(parse("1 " K1 "\n2 " K1 "\n3 " K1 "\n4 " K1 "\n5 " K1 "\n", &n, ids, keys, why),
                 HF_E_TOOBIG);
}

static char *key_path(const char *dir)
{
    char *p = malloc(strlen(dir) + 32);
    sprintf(p, "%s/%s", dir, HF_KEYRING_DEFAULT_FILE);
    return p;
}

static void write_text(const char *path, const char *text, mode_t mode)
{
    int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, mode);
    CHECK(fd >= 0);
    CHECK_EQ_INT(write(fd, text, strlen(text)), (long long)strlen(text));
    close(fd);
    chmod(path, mode);
}

TEST(key_file_create_rotate_reopen)
{
    char *dir = hf_test_tmpdir(), *path = key_path(dir), why[300];
    hf_keyring_t *k;
    bool created;
    /* missing and not to be created */
    CHECK_EQ_INT(hf_keyring_open(path, false, &k, &created, why, sizeof why), -ENOENT);
    CHECK(strstr(why, "does not exist"));
    /* created: one key, id 1, mode 0600 */
    CHECK_EQ_INT(hf_keyring_open(path, true, &k, &created, why, sizeof why), HF_OK);
    CHECK(created);
    CHECK_EQ_INT(hf_keyring_count(k), 1);
    CHECK_EQ_INT(hf_keyring_active(k), 1);
    struct stat st;
    CHECK_EQ_INT(stat(path, &st), 0);
    CHECK_EQ_INT(st.st_mode & 0777, 0600);
    uint8_t k1[32], again[32], fp[16];
    CHECK_EQ_INT(hf_keyring_get(k, 1, k1), HF_OK);
    CHECK_EQ_INT(hf_keyring_get(k, 2, again), HF_E_NOKEY);
    uint8_t fps[HF_KEYRING_FPS_LEN(4)];
    size_t fl;
    CHECK_EQ_INT(hf_keyring_fingerprints(k, fps, sizeof fps, &fl), HF_OK);
    CHECK_EQ_INT(fl, HF_KEYRING_FPS_LEN(1));
    /* rotate: key 2 is active, key 1 unchanged, the file holds both */
    uint32_t id = 0;
    CHECK_EQ_INT(hf_keyring_rotate(k, &id, why, sizeof why), HF_OK);
    CHECK_EQ_INT(id, 2);
    CHECK_EQ_INT(hf_keyring_active(k), 2);
    CHECK_EQ_INT(hf_keyring_get(k, 1, again), HF_OK);
    CHECK_EQ_MEM(again, k1, 32);
    uint8_t k2[32];
    CHECK_EQ_INT(hf_keyring_get(k, 2, k2), HF_OK);
    CHECK(memcmp(k1, k2, 32) != 0);
    /* the old list still checks (key 1 is there), and so does the new */
    CHECK_EQ_INT(hf_keyring_check(k, fps, fl, why, sizeof why), HF_OK);
    uint8_t fps2[HF_KEYRING_FPS_LEN(4)];
    size_t fl2;
    CHECK_EQ_INT(hf_keyring_fingerprints(k, fps2, sizeof fps2, &fl2), HF_OK);
    CHECK_EQ_INT(fl2, HF_KEYRING_FPS_LEN(2));
    CHECK_EQ_INT(hf_keyring_fingerprints(k, fps2, 10, &fl2), HF_E_TOOBIG);
    CHECK_EQ_INT(hf_keyring_fingerprints(k, fps2, sizeof fps2, &fl2), HF_OK);
    hf_keyring_close(k);
    /* reopened from the file: the same keys */
    CHECK_EQ_INT(hf_keyring_open(path, true, &k, &created, why, sizeof why), HF_OK);
    CHECK(!created);
    CHECK_EQ_INT(hf_keyring_active(k), 2);
    CHECK_EQ_INT(hf_keyring_get(k, 1, again), HF_OK);
    CHECK_EQ_MEM(again, k1, 32);
    CHECK_EQ_INT(hf_keyring_check(k, fps2, fl2, why, sizeof why), HF_OK);
    hf_keyring_fingerprint(k2, fp);
    uint32_t eid;
    uint8_t efp[16];
    hf_keyring_entry(k, 1, &eid, efp);
    CHECK_EQ_INT(eid, 2);
    CHECK_EQ_MEM(efp, fp, 16);
    hf_keyring_close(k);
    /* the file is readable by others: refused */
    chmod(path, 0640);
    CHECK_EQ_INT(hf_keyring_open(path, true, &k, &created, why, sizeof why), HF_E_INVAL);
    CHECK(strstr(why, "chmod 600"));
    chmod(path, 0600);
    /* another file: key 1 is a different key, key 2 missing */
    write_text(path, "1 " K1 "\n", 0600);
    CHECK_EQ_INT(hf_keyring_open(path, true, &k, &created, why, sizeof why), HF_OK);
    CHECK_EQ_INT(hf_keyring_check(k, fps2, fl2, why, sizeof why), HF_E_NOKEY);
    CHECK(strstr(why, "master key 1"));
    CHECK(strstr(why, "is not the key"));
    CHECK(strstr(why, K1) == NULL);
    hf_keyring_close(k);
    write_text(path, "# moved\n", 0600);
    CHECK_EQ_INT(hf_keyring_open(path, true, &k, &created, why, sizeof why), HF_E_INVAL);
    /* a damaged list */
    write_text(path, "1 " K1 "\n", 0600);
    CHECK_EQ_INT(hf_keyring_open(path, true, &k, &created, why, sizeof why), HF_OK);
    CHECK_EQ_INT(hf_keyring_check(k, fps2, fl2 - 1, why, sizeof why), HF_E_CORRUPT);
    /* missing: only key 1 */
    uint8_t only1[HF_KEYRING_FPS_LEN(1)];
    size_t l1;
    CHECK_EQ_INT(hf_keyring_fingerprints(k, only1, sizeof only1, &l1), HF_OK);
    fps2[3] = 1; /* count 1: only the first entry (key 1 of the old file) */
    CHECK_EQ_INT(hf_keyring_check(k, fps2, HF_KEYRING_FPS_LEN(1), why, sizeof why), HF_E_NOKEY);
    memcpy(fps2 + 4, "\0\0\0\2", 4); /* names key 2, which this file lacks */
    CHECK_EQ_INT(hf_keyring_check(k, fps2, HF_KEYRING_FPS_LEN(1), why, sizeof why), HF_E_NOKEY);
    CHECK(strstr(why, "does not hold it"));
    hf_keyring_close(k);
    /* not writable: rotation fails and changes nothing */
    write_text(path, "1 " K1 "\n", 0600);
    CHECK_EQ_INT(hf_keyring_open(path, true, &k, &created, why, sizeof why), HF_OK);
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    CHECK_EQ_INT(mkdir(tmp, 0700), 0); /* path.tmp cannot be opened as a file */
    CHECK(hf_keyring_rotate(k, &id, why, sizeof why) < 0);
    CHECK(strstr(why, "cannot write"));
    CHECK_EQ_INT(hf_keyring_count(k), 1);
    CHECK_EQ_INT(hf_keyring_active(k), 1);
    rmdir(tmp);
    hf_keyring_close(k);
    free(path);
    hf_test_rmtree(dir);
    free(dir);
}

TEST(key_file_reload)
{
    char *dir = hf_test_tmpdir(), *path = key_path(dir), why[300];
    write_text(path, "1 " K1 "\n", 0600);
    hf_keyring_t *k;
    bool created;
    CHECK_EQ_INT(hf_keyring_open(path, false, &k, &created, why, sizeof why), HF_OK);
    size_t added = 9;
    /* nothing new */
    CHECK_EQ_INT(hf_keyring_reload(k, &added, why, sizeof why), HF_OK);
    CHECK_EQ_INT(added, 0);
    /* a key added at the end becomes active */
    write_text(path, "1 " K1 "\n5 " K2 "\n", 0600);
    CHECK_EQ_INT(hf_keyring_reload(k, &added, why, sizeof why), HF_OK);
    CHECK_EQ_INT(added, 1);
    CHECK_EQ_INT(hf_keyring_active(k), 5);
    /* a loaded key changed or gone: refused, nothing changes */
    write_text(path, "1 " K2 "\n5 " K2 "\n6 " K1 "\n", 0600);
    CHECK_EQ_INT(hf_keyring_reload(k, &added, why, sizeof why), HF_E_CONFLICT);
    CHECK(strstr(why, "master key 1"));
    write_text(path, "5 " K2 "\n6 " K1 "\n", 0600);
    CHECK_EQ_INT(hf_keyring_reload(k, &added, why, sizeof why), HF_E_CONFLICT);
    CHECK_EQ_INT(hf_keyring_count(k), 2);
    CHECK_EQ_INT(hf_keyring_active(k), 5);
    /* unreadable: refused the same way */
    write_text(path, "garbage\n", 0600);
    CHECK_EQ_INT(hf_keyring_reload(k, &added, why, sizeof why), HF_E_INVAL);
    unlink(path);
    CHECK_EQ_INT(hf_keyring_reload(k, &added, why, sizeof why), -ENOENT);
    CHECK_EQ_INT(hf_keyring_active(k), 5);
    hf_keyring_close(k);
    free(path);
    hf_test_rmtree(dir);
    free(dir);
}

static hf_keyring_t *ring_of(const char *dir, const char *text)
{
    char *path = key_path(dir), why[200];
    write_text(path, text, 0600);
    hf_keyring_t *k = NULL;
    bool created;
    if (hf_keyring_open(path, false, &k, &created, why, sizeof why) != HF_OK)
        hf_test_fail(__FILE__, __LINE__, "keyring: %s", why);
    free(path);
    return k;
}

TEST(sse_s3_wrap)
{
    char *dir = hf_test_tmpdir();
    hf_keyring_t *k = ring_of(dir, "1 " K1 "\n3 " K2 "\n");
    hf_sse_desc_t d, e;
    uint8_t dk[32], back[32], enc[HF_SSE_DESC_MAX];
    size_t len;
    CHECK_EQ_INT(hf_sse_new_s3(k, &d, dk), HF_OK);
    CHECK_EQ_INT(d.mode, HF_SSE_S3);
    CHECK_EQ_INT(d.key_id, 3); /* the active (highest) key */
    hf_sse_encode(&d, enc, &len);
    CHECK_EQ_INT(len, 66);
    CHECK_EQ_INT(enc[0], 1);
    CHECK_EQ_INT(enc[1], HF_SSE_S3);
    CHECK_EQ_INT(hf_sse_decode(enc, len, &e), HF_OK);
    CHECK_EQ_INT(hf_sse_open_s3(k, &e, back), HF_OK);
    CHECK_EQ_MEM(back, dk, 32);
    /* the wrapped key is not the key */
    CHECK(memcmp(e.wrapped, dk, 32) != 0);
    /* two objects, two keys */
    hf_sse_desc_t d2;
    uint8_t dk2[32];
    CHECK_EQ_INT(hf_sse_new_s3(k, &d2, dk2), HF_OK);
    CHECK(memcmp(dk, dk2, 32) != 0);
    /* another master key id (present, or not) */
    e.key_id = 1;
    CHECK_EQ_INT(hf_sse_open_s3(k, &e, back), HF_E_CORRUPT);
    e.key_id = 2;
    CHECK_EQ_INT(hf_sse_open_s3(k, &e, back), HF_E_NOKEY);
    e.key_id = 3;
    e.wrapped[0] ^= 1;
    CHECK_EQ_INT(hf_sse_open_s3(k, &e, back), HF_E_CORRUPT);
    CHECK_EQ_INT(hf_sse_open_s3(NULL, &d, back), HF_E_NOKEY);
    CHECK_EQ_INT(hf_sse_new_s3(NULL, &d2, dk2), HF_E_NOKEY);
    /* decoding: lengths, versions, modes */
    CHECK_EQ_INT(hf_sse_decode(enc, len - 1, &e), HF_E_CORRUPT);
    CHECK_EQ_INT(hf_sse_decode(enc, 1, &e), HF_E_CORRUPT);
    enc[0] = 2;
    CHECK_EQ_INT(hf_sse_decode(enc, len, &e), HF_E_VERSION);
    enc[0] = 1;
    enc[1] = 7;
    CHECK_EQ_INT(hf_sse_decode(enc, len, &e), HF_E_VERSION);
    enc[1] = HF_SSE_C; /* an SSE-C descriptor is longer */
    CHECK_EQ_INT(hf_sse_decode(enc, len, &e), HF_E_CORRUPT);
    enc[1] = HF_SSE_S3;
    memset(enc + 2, 0, 4); /* SSE-S3 without a key id */
    CHECK_EQ_INT(hf_sse_decode(enc, len, &e), HF_E_CORRUPT);
    hf_keyring_close(k);
    hf_test_rmtree(dir);
    free(dir);
}

TEST(sse_c_wrap_and_check)
{
    uint8_t ck[32], other[32], dk[32], back[32], enc[HF_SSE_DESC_MAX];
    memset(ck, 0x11, 32);
    memset(other, 0x11, 32);
    other[31] = 0x12;
    hf_sse_desc_t d, e;
    CHECK_EQ_INT(hf_sse_new_c(ck, &d, dk), HF_OK);
    CHECK_EQ_INT(d.mode, HF_SSE_C);
    CHECK_EQ_INT(d.key_id, 0);
    size_t len;
    hf_sse_encode(&d, enc, &len);
    CHECK_EQ_INT(len, 114);
    /* neither the customer key nor the data key is in the descriptor */
    for (size_t i = 0; i + 32 <= len; i++) {
        CHECK(memcmp(enc + i, ck, 32) != 0);
        CHECK(memcmp(enc + i, dk, 32) != 0);
    }
    CHECK_EQ_INT(hf_sse_decode(enc, len, &e), HF_OK);
    CHECK(hf_sse_c_matches(&e, ck));
    CHECK(!hf_sse_c_matches(&e, other));
    CHECK_EQ_INT(hf_sse_open_c(&e, ck, back), HF_OK);
    CHECK_EQ_MEM(back, dk, 32);
    CHECK_EQ_INT(hf_sse_open_c(&e, other, back), HF_E_DENIED);
    /* the check is salted: the same key on another object checks differently */
    hf_sse_desc_t d2;
    uint8_t dk2[32];
    CHECK_EQ_INT(hf_sse_new_c(ck, &d2, dk2), HF_OK);
    CHECK(memcmp(d2.check, d.check, 32) != 0);
    CHECK(memcmp(dk2, dk, 32) != 0);
    /* damage behind a good check is damage, not a wrong key */
    e.tag[0] ^= 1;
    CHECK_EQ_INT(hf_sse_open_c(&e, ck, back), HF_E_CORRUPT);
    /* an SSE-S3 descriptor is never an SSE-C one */
    e.mode = HF_SSE_S3;
    CHECK(!hf_sse_c_matches(&e, ck));
    CHECK_EQ_STR(hf_sse_algorithm(HF_SSE_C), "AES256");
    CHECK_EQ_STR(hf_sse_algorithm(HF_SSE_S3), "AES256");
    CHECK_EQ_STR(hf_sse_algorithm(HF_SSE_NONE), "");
}

TEST(inline_seal_and_etag)
{
    uint8_t dk[32], dk2[32];
    memset(dk, 7, 32);
    memset(dk2, 8, 32);
    const char *msg = "recognisable plaintext";
    size_t n = strlen(msg);
    uint8_t sealed[64], back[64];
    CHECK_EQ_INT(hf_sse_seal_inline(dk, msg, n, sealed), HF_OK);
    CHECK(memcmp(sealed, msg, n) != 0);
    CHECK_EQ_INT(hf_sse_open_inline(dk, sealed, n + HF_SSE_SEAL_EXTRA, back), HF_OK);
    CHECK_EQ_MEM(back, msg, n);
    CHECK_EQ_INT(hf_sse_open_inline(dk2, sealed, n + HF_SSE_SEAL_EXTRA, back), HF_E_CORRUPT);
    sealed[3] ^= 1;
    CHECK_EQ_INT(hf_sse_open_inline(dk, sealed, n + HF_SSE_SEAL_EXTRA, back), HF_E_CORRUPT);
    CHECK_EQ_INT(hf_sse_open_inline(dk, sealed, 15, back), HF_E_CORRUPT);
    /* empty objects seal to just a tag */
    CHECK_EQ_INT(hf_sse_seal_inline(dk, "", 0, sealed), HF_OK);
    CHECK_EQ_INT(hf_sse_open_inline(dk, sealed, HF_SSE_SEAL_EXTRA, back), HF_OK);
    /* ETags: stable per key and content, not the MD5, different per key */
    uint8_t md5[16], e1[16], e2[16], e3[16];
    memset(md5, 0xab, 16);
    hf_sse_etag(dk, md5, e1);
    hf_sse_etag(dk, md5, e2);
    CHECK_EQ_MEM(e1, e2, 16);
    CHECK(memcmp(e1, md5, 16) != 0);
    hf_sse_etag(dk2, md5, e3);
    CHECK(memcmp(e1, e3, 16) != 0);
}

HF_TEST_MAIN("unit/sse")
