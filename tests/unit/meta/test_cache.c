/* Unit tests for src/meta/cache.c: users and buckets written exactly as
 * the cluster holds them (ids and keys included), rows made stale by a
 * write removed with it, and a re-created bucket name that would orphan
 * this node's objects refused. */
#include "test.h"

#include "base/err.h"
#include "base/log.h"
#include "meta/meta.h"

#include <stdlib.h>

#define TEST_MAP (64ULL << 20)

__attribute__((constructor)) static void quiet(void)
{
    hf_log_set_level(-1); /* the refusal below is logged at error level, on purpose */
}

static hf_meta_t *fresh(char *dir, size_t cap)
{
    snprintf(dir, cap, "/tmp/hf-unit-cache-XXXXXX");
    if (!mkdtemp(dir))
        return NULL;
    hf_meta_config_t cfg = {.map_size = TEST_MAP};
    hf_meta_t *m = NULL;
    return hf_meta_open(dir, &cfg, &m) == HF_OK ? m : NULL;
}

static void done(hf_meta_t *m, const char *dir)
{
    hf_meta_close(m);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", dir);
}

static hf_user_t user(const char *name, uint64_t id, const char *ak)
{
    hf_user_t u = {0};
    snprintf(u.name, sizeof u.name, "%s", name);
    snprintf(u.access_key, sizeof u.access_key, "%s", ak);
    snprintf(u.secret_key, sizeof u.secret_key, "secret-of-%s", ak);
    snprintf(u.canonical_id, sizeof u.canonical_id, "%064llx", (unsigned long long)id);
    u.id = id;
    u.created = u.key_created = 1700000000LL * 1000000000;
    return u;
}

TEST(user_put_is_exact_and_replaces_keys)
{
    char dir[64];
    hf_meta_t *m = fresh(dir, sizeof dir);
    CHECK(m);
    hf_user_t u = user("alice", 0x7a11ce0000000001ULL, "AKALICE1"), got;
    u.nretiring = 1;
    snprintf(u.retiring[0].access_key, sizeof u.retiring[0].access_key, "AKALICE0");
    snprintf(u.retiring[0].secret_key, sizeof u.retiring[0].secret_key, "old-secret");
    u.retiring[0].expires = (int64_t)4e18;
    CHECK_EQ_INT(hf_meta_user_put(m, &u), HF_OK);
    CHECK_EQ_INT(hf_meta_user_by_key(m, "AKALICE1", &got), HF_OK);
    CHECK_EQ_INT(got.id, 0x7a11ce0000000001ULL);
    CHECK_EQ_STR(got.canonical_id, u.canonical_id);
    CHECK_EQ_INT(hf_meta_user_by_key(m, "AKALICE0", &got), HF_OK);
    CHECK_EQ_STR(got.secret_key, "old-secret");
    CHECK_EQ_INT(hf_meta_user_by_id(m, u.id, &got), HF_OK);
    /* A rotation at the source: the old keys' rows go with the record. */
    hf_user_t v = user("alice", u.id, "AKALICE2");
    CHECK_EQ_INT(hf_meta_user_put(m, &v), HF_OK);
    CHECK_EQ_INT(hf_meta_user_by_key(m, "AKALICE1", &got), HF_E_NOTFOUND);
    CHECK_EQ_INT(hf_meta_user_by_key(m, "AKALICE0", &got), HF_E_NOTFOUND);
    CHECK_EQ_INT(hf_meta_user_by_key(m, "AKALICE2", &got), HF_OK);
    /* A key taken over by another user (deleted and re-issued at the
     * source, events applied in order): it names the new holder. */
    hf_user_t b = user("bob", 0xb0b, "AKALICE2");
    CHECK_EQ_INT(hf_meta_user_put(m, &b), HF_OK);
    CHECK_EQ_INT(hf_meta_user_by_key(m, "AKALICE2", &got), HF_OK);
    CHECK_EQ_STR(got.name, "bob");
    /* The same id under a new name: the old name goes. */
    hf_user_t c = user("carol", 0xb0b, "AKCAROL1");
    CHECK_EQ_INT(hf_meta_user_put(m, &c), HF_OK);
    CHECK_EQ_INT(hf_meta_user_get(m, "bob", &got), HF_E_NOTFOUND);
    CHECK_EQ_INT(hf_meta_user_by_id(m, 0xb0b, &got), HF_OK);
    CHECK_EQ_STR(got.name, "carol");
    /* Forget: the user, its keys and its id. */
    CHECK_EQ_INT(hf_meta_user_forget(m, "carol"), HF_OK);
    CHECK_EQ_INT(hf_meta_user_by_key(m, "AKCAROL1", &got), HF_E_NOTFOUND);
    CHECK_EQ_INT(hf_meta_user_by_id(m, 0xb0b, &got), HF_E_NOTFOUND);
    CHECK_EQ_INT(hf_meta_user_forget(m, "carol"), HF_E_NOTFOUND);
    hf_user_t bad = user("x", 0, "AKX1");
    CHECK_EQ_INT(hf_meta_user_put(m, &bad), HF_E_INVAL);
    done(m, dir);
}

TEST(bucket_put_keeps_ids_and_protects_objects)
{
    char dir[64];
    hf_meta_t *m = fresh(dir, sizeof dir);
    CHECK(m);
    hf_user_t u = user("owner", 0x42, "AKOWNER1");
    CHECK_EQ_INT(hf_meta_user_put(m, &u), HF_OK);
    hf_bucket_t b = {.id = 0x9e3779b97f4a7c15ULL, .owner = 0x42, .created = 1};
    snprintf(b.name, sizeof b.name, "photos");
    CHECK_EQ_INT(hf_meta_bucket_put(m, &b), HF_OK);
    hf_bucket_t got;
    CHECK_EQ_INT(hf_meta_bucket_get(m, "photos", &got), HF_OK);
    CHECK_EQ_INT(got.id, 0x9e3779b97f4a7c15ULL);
    /* Flags change in place. */
    b.flags = HF_BUCKET_VERSIONING;
    CHECK_EQ_INT(hf_meta_bucket_put(m, &b), HF_OK);
    CHECK_EQ_INT(hf_meta_bucket_get(m, "photos", &got), HF_OK);
    CHECK_EQ_INT(got.flags, HF_BUCKET_VERSIONING);
    /* An object here, then the name re-created with another id: refused,
     * the old bucket and its object stay. */
    hf_obj_t o = {.flags = HF_OBJ_INLINE, .size = 2, .inline_data = (const uint8_t *)"hi",
                  .inline_len = 2, .mtime = 1000, .owner = 0x42};
    o.hlc = hf_meta_hlc_next(m);
    o.origin = hf_meta_node_id(m);
    CHECK_EQ_INT(hf_meta_obj_put(m, &got, "k", 1, &o, NULL), HF_OK);
    hf_bucket_t other = b;
    other.id = 77;
    CHECK_EQ_INT(hf_meta_bucket_put(m, &other), HF_E_CONFLICT);
    CHECK_EQ_INT(hf_meta_bucket_get(m, "photos", &got), HF_OK);
    CHECK_EQ_INT(got.id, 0x9e3779b97f4a7c15ULL);
    hf_bucket_t bad = {.id = 0};
    snprintf(bad.name, sizeof bad.name, "zero");
    CHECK_EQ_INT(hf_meta_bucket_put(m, &bad), HF_E_INVAL);
    done(m, dir);
}

HF_TEST_MAIN("unit/meta/cache")
