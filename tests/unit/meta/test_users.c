/* Unit tests for users in src/meta: key rotation and grace periods,
 * retiring keys, restrictions (disabled, no CreateBucket), and data
 * directories written before any of that existed. */
#include "test.h"

#include "base/err.h"
#include "base/log.h"
#include "base/time.h"
#include "meta/meta.h"
#include "meta/record.h"

#include <lmdb.h>
#include <sys/stat.h>
#include <stdbool.h>
#include <time.h>

#define TEST_MAP (64ULL << 20)

__attribute__((constructor)) static void quiet(void)
{
    hf_log_set_level(HF_LOG_WARN);
}

static hf_meta_t *open_at(const char *dir)
{
    hf_meta_config_t cfg = {.map_size = TEST_MAP};
    hf_meta_t *m = NULL;
    int rc = hf_meta_open(dir, &cfg, &m);
    if (rc) {
        fprintf(stderr, "hf_meta_open: %s\n", hf_strerror(rc));
        return NULL;
    }
    return m;
}

static int mkuser(hf_meta_t *m, const char *name, const char *ak, uint32_t flags)
{
    hf_user_t u;
    memset(&u, 0, sizeof u);
    snprintf(u.name, sizeof u.name, "%s", name);
    snprintf(u.access_key, sizeof u.access_key, "%s", ak);
    snprintf(u.secret_key, sizeof u.secret_key, "secret-of-%s", ak);
    u.flags = flags;
    return hf_meta_user_create(m, &u);
}

/* The secret hf_meta_user_by_key hands out for ak, or "" if none. */
static const char *secret_for(hf_meta_t *m, const char *ak, hf_user_t *u)
{
    if (hf_meta_user_by_key(m, ak, u) != HF_OK)
        return "";
    return u->secret_key;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* ---- raw LMDB, as a build from before this format wrote it ------------------ */

typedef struct raw {
    MDB_env *env;
    MDB_txn *txn;
} raw_t;

static void raw_open(raw_t *r, const char *dir)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/meta", dir);
    CHECK_EQ_INT(mkdir(path, 0700), 0);
    CHECK_EQ_INT(mdb_env_create(&r->env), 0);
    mdb_env_set_maxdbs(r->env, 16);
    mdb_env_set_mapsize(r->env, TEST_MAP);
    CHECK_EQ_INT(mdb_env_open(r->env, path, MDB_NOTLS, 0600), 0);
    CHECK_EQ_INT(mdb_txn_begin(r->env, NULL, 0, &r->txn), 0);
}

static void raw_put(raw_t *r, const char *db, const void *k, size_t kn, const void *v, size_t vn)
{
    MDB_dbi dbi;
    CHECK_EQ_INT(mdb_dbi_open(r->txn, db, MDB_CREATE, &dbi), 0);
    MDB_val key = {kn, (void *)k}, val = {vn, (void *)v};
    CHECK_EQ_INT(mdb_put(r->txn, dbi, &key, &val, 0), 0);
}

static void raw_close(raw_t *r)
{
    CHECK_EQ_INT(mdb_txn_commit(r->txn), 0);
    mdb_env_close(r->env);
}

static size_t be(uint8_t *p, uint64_t v, int n)
{
    for (int i = n - 1; i >= 0; i--, v >>= 8)
        p[i] = (uint8_t)v;
    return (size_t)n;
}

/* A user record byte for byte as docs/internals/FORMAT-meta.md gave it
 * before rotation and restrictions: version 1, id, flags, created,
 * canonical id, access key, secret, no tags. */
static size_t v1_user(uint8_t *p, uint64_t id, uint32_t flags, int64_t created, uint8_t cid_byte,
                      const char *ak, const char *sk)
{
    size_t o = 0;
    p[o++] = 1;
    o += be(p + o, id, 8);
    o += be(p + o, flags, 4);
    o += be(p + o, (uint64_t)created, 8);
    memset(p + o, cid_byte, 32);
    o += 32;
    p[o++] = (uint8_t)strlen(ak);
    memcpy(p + o, ak, strlen(ak));
    o += strlen(ak);
    p[o++] = (uint8_t)strlen(sk);
    memcpy(p + o, sk, strlen(sk));
    o += strlen(sk);
    return o;
}

static void v1_add_user(raw_t *r, uint64_t id, uint32_t flags, const char *name, const char *ak,
                        const char *sk, int64_t created)
{
    uint8_t rec[512], idk[8];
    size_t n = v1_user(rec, id, flags, created, (uint8_t)(0x10 + id), ak, sk);
    raw_put(r, "users", name, strlen(name), rec, n);
    raw_put(r, "keys", ak, strlen(ak), name, strlen(name));
    be(idk, id, 8);
    raw_put(r, "userids", idk, 8, name, strlen(name));
}

TEST(data_dir_of_the_first_format_opens_unchanged)
{
    char *dir = hf_test_tmpdir();
    const int64_t t0 = 1700000000123456789LL;
    raw_t r;
    raw_open(&r, dir);
    uint8_t b[8];
    raw_put(&r, "sys", "format", 6, "\x00\x00\x00\x01", 4);
    raw_put(&r, "sys", "node", 4, b, be(b, 0x1234567890abcdefULL, 8));
    raw_put(&r, "sys", "hlc", 3, b, be(b, 0, 8));
    raw_put(&r, "sys", "next_user_id", 12, b, be(b, 3, 8));
    v1_add_user(&r, 1, HF_USER_ROOT, "root", "AKROOTOLD", "root-secret-old", t0);
    v1_add_user(&r, 2, 0, "alice", "AKALICEOLD", "alice-secret-old", t0 + 5);
    raw_close(&r);

    hf_meta_t *m = open_at(dir);
    CHECK(m != NULL);
    hf_user_t u;
    CHECK_EQ_STR(secret_for(m, "AKALICEOLD", &u), "alice-secret-old");
    CHECK_EQ_STR(u.name, "alice");
    CHECK_EQ_INT(u.id, 2);
    CHECK_EQ_INT(u.flags, 0);             /* enabled, may create buckets */
    CHECK_EQ_INT(u.created, t0 + 5);
    CHECK_EQ_INT(u.key_created, t0 + 5); /* the key is as old as the user */
    CHECK_EQ_INT(u.nretiring, 0);
    CHECK_EQ_STR(u.canonical_id, "1212121212121212121212121212121212121212121212121212121212121212");
    CHECK_EQ_STR(secret_for(m, "AKROOTOLD", &u), "root-secret-old");
    CHECK_EQ_INT(u.flags, HF_USER_ROOT);
    hf_arena_t a;
    hf_arena_init(&a, 1 << 20);
    hf_user_t *list;
    size_t n;
    CHECK_EQ_INT(hf_meta_user_list(m, &a, &list, &n), HF_OK);
    CHECK_EQ_INT(n, 2);
    hf_arena_free(&a);
    /* New ids continue from the old counter. */
    CHECK_EQ_INT(mkuser(m, "bob", "AKBOB", 0), HF_OK);
    CHECK_EQ_INT(hf_meta_user_get(m, "bob", &u), HF_OK);
    CHECK_EQ_INT(u.id, 3);
    /* An old user can be rotated, restricted and deleted like a new one. */
    CHECK_EQ_INT(hf_meta_user_key_rotate(m, "alice", "AKALICENEW", "alice-secret-new",
                                         3600LL * 1000000000, &u), HF_OK);
    CHECK_EQ_INT(hf_meta_user_set_flags(m, "alice", HF_USER_NO_CREATE_BUCKET, 0, NULL), HF_OK);
    hf_meta_close(m);

    m = open_at(dir);
    CHECK(m != NULL);
    CHECK_EQ_STR(secret_for(m, "AKALICEOLD", &u), "alice-secret-old");
    CHECK_EQ_STR(secret_for(m, "AKALICENEW", &u), "alice-secret-new");
    CHECK_EQ_INT(u.flags, HF_USER_NO_CREATE_BUCKET);
    CHECK_EQ_INT(u.retiring[0].created, t0 + 5);
    CHECK_EQ_INT(hf_meta_user_delete(m, "alice"), HF_OK);
    CHECK_EQ_STR(secret_for(m, "AKALICEOLD", &u), "");
    CHECK_EQ_STR(secret_for(m, "AKALICENEW", &u), "");
    hf_meta_close(m);
    hf_test_rmtree(dir);
    free(dir);
}

/* ---- rotation ------------------------------------------------------------------ */

TEST(rotate_keeps_the_old_key_for_its_grace)
{
    char *dir = hf_test_tmpdir();
    hf_meta_t *m = open_at(dir);
    CHECK(m != NULL);
    CHECK_EQ_INT(mkuser(m, "alice", "AK1", 0), HF_OK);
    hf_user_t u, before;
    CHECK_EQ_INT(hf_meta_user_get(m, "alice", &before), HF_OK);
    int64_t t = hf_time_now();
    CHECK_EQ_INT(hf_meta_user_key_rotate(m, "alice", "AK2", "secret-of-AK2",
                                         3600LL * 1000000000, &u), HF_OK);
    CHECK_EQ_STR(u.access_key, "AK2");
    CHECK(u.key_created >= t);
    CHECK_EQ_INT(u.nretiring, 1);
    CHECK_EQ_STR(u.retiring[0].access_key, "AK1");
    CHECK_EQ_INT(u.retiring[0].created, before.key_created);
    CHECK(u.retiring[0].expires >= t + 3600LL * 1000000000);
    /* Both keys work, each with its own secret; the user is the same. */
    CHECK_EQ_STR(secret_for(m, "AK1", &u), "secret-of-AK1");
    CHECK_EQ_STR(u.access_key, "AK1");
    CHECK_EQ_STR(u.name, "alice");
    CHECK_EQ_STR(secret_for(m, "AK2", &u), "secret-of-AK2");
    /* get/list show the active key. */
    CHECK_EQ_INT(hf_meta_user_get(m, "alice", &u), HF_OK);
    CHECK_EQ_STR(u.access_key, "AK2");
    CHECK_EQ_STR(u.secret_key, "secret-of-AK2");

    /* A key already held by anyone cannot be the new one. */
    CHECK_EQ_INT(mkuser(m, "bob", "AKBOB", 0), HF_OK);
    CHECK_EQ_INT(hf_meta_user_key_rotate(m, "alice", "AKBOB", "secret-x1", 0, NULL), HF_E_EXISTS);
    CHECK_EQ_INT(hf_meta_user_key_rotate(m, "alice", "AK1", "secret-x1", 0, NULL), HF_E_EXISTS);
    CHECK_EQ_INT(mkuser(m, "carol", "AK1", 0), HF_E_EXISTS); /* a retiring key is held too */
    CHECK_EQ_INT(hf_meta_user_key_rotate(m, "nobody", "AK9", "secret-x1", 0, NULL), HF_E_NOTFOUND);
    /* Bounds. */
    CHECK_EQ_INT(hf_meta_user_key_rotate(m, "alice", "AK9", "secret-x1", -1, NULL), HF_E_INVAL);
    CHECK_EQ_INT(hf_meta_user_key_rotate(m, "alice", "AK9", "secret-x1",
                                         ((int64_t)HF_KEY_GRACE_MAX_S + 1) * 1000000000, NULL),
                 HF_E_INVAL);
    CHECK_EQ_INT(hf_meta_user_key_rotate(m, "alice", "AK9", "short", 0, NULL), HF_E_INVAL);

    /* Up to HF_USER_KEYS_MAX keys at once; then a rotation with grace is
     * refused (and changes nothing), one with --grace 0 is fine. */
    CHECK_EQ_INT(hf_meta_user_key_rotate(m, "alice", "AK3", "secret-of-AK3", 3600LL * 1000000000, NULL), HF_OK);
    CHECK_EQ_INT(hf_meta_user_key_rotate(m, "alice", "AK4", "secret-of-AK4", 3600LL * 1000000000, &u), HF_OK);
    CHECK_EQ_INT(u.nretiring, HF_USER_RETIRING_MAX);
    CHECK_EQ_INT(hf_meta_user_key_rotate(m, "alice", "AK5", "secret-of-AK5", 3600LL * 1000000000, NULL),
                 HF_E_TOOBIG);
    CHECK_EQ_STR(secret_for(m, "AK5", &u), "");
    CHECK_EQ_STR(secret_for(m, "AK4", &u), "secret-of-AK4");
    CHECK_EQ_INT(hf_meta_user_key_rotate(m, "alice", "AK5", "secret-of-AK5", 0, &u), HF_OK);
    CHECK_EQ_STR(secret_for(m, "AK4", &u), ""); /* revoked at once */
    CHECK_EQ_STR(secret_for(m, "AK5", &u), "secret-of-AK5");
    CHECK_EQ_STR(secret_for(m, "AK1", &u), "secret-of-AK1");
    CHECK_EQ_INT(u.nretiring, 3);

    /* Deleting: not the active key; a retiring key goes at once. */
    CHECK_EQ_INT(hf_meta_user_key_delete(m, "alice", "AK5"), HF_E_CONFLICT);
    CHECK_EQ_INT(hf_meta_user_key_delete(m, "alice", "AKBOB"), HF_E_NOTFOUND);
    CHECK_EQ_INT(hf_meta_user_key_delete(m, "nobody", "AK1"), HF_E_NOTFOUND);
    CHECK_EQ_INT(hf_meta_user_key_delete(m, "alice", "AK2"), HF_OK);
    CHECK_EQ_STR(secret_for(m, "AK2", &u), "");
    CHECK_EQ_STR(secret_for(m, "AK1", &u), "secret-of-AK1");
    CHECK_EQ_STR(secret_for(m, "AK3", &u), "secret-of-AK3");
    CHECK_EQ_INT(hf_meta_user_get(m, "alice", &u), HF_OK);
    CHECK_EQ_INT(u.nretiring, 2);
    CHECK_EQ_STR(u.retiring[0].access_key, "AK1"); /* oldest first */
    CHECK_EQ_STR(u.retiring[1].access_key, "AK3");
    /* A deleted key is free for anyone. */
    CHECK_EQ_INT(mkuser(m, "carol", "AK2", 0), HF_OK);

    /* Deleting the user deletes every key. */
    CHECK_EQ_INT(hf_meta_user_delete(m, "alice"), HF_OK);
    CHECK_EQ_STR(secret_for(m, "AK1", &u), "");
    CHECK_EQ_STR(secret_for(m, "AK3", &u), "");
    CHECK_EQ_STR(secret_for(m, "AK5", &u), "");
    CHECK_EQ_INT(mkuser(m, "dave", "AK1", 0), HF_OK);
    hf_meta_close(m);
    hf_test_rmtree(dir);
    free(dir);
}

TEST(an_expired_key_stops_at_once_and_is_dropped_at_the_next_change)
{
    char *dir = hf_test_tmpdir();
    hf_meta_t *m = open_at(dir);
    CHECK(m != NULL);
    CHECK_EQ_INT(mkuser(m, "alice", "AK1", 0), HF_OK);
    hf_user_t u;
    CHECK_EQ_INT(hf_meta_user_key_rotate(m, "alice", "AK2", "secret-of-AK2", 300LL * 1000000, &u),
                 HF_OK);
    int64_t expires = u.retiring[0].expires;
    /* Poll: the key works until its expiry and not a moment after. */
    int64_t deadline = hf_time_now() + 10LL * 1000000000;
    bool worked_before = false;
    for (;;) {
        int64_t t0 = hf_time_now();
        bool ok = secret_for(m, "AK1", &u)[0] != '\0';
        int64_t t1 = hf_time_now();
        if (ok) {
            CHECK(t0 < expires);
            worked_before = true;
        } else {
            CHECK(t1 >= expires);
            break;
        }
        CHECK(t1 < deadline);
        sleep_ms(20);
    }
    CHECK(worked_before);
    /* Still listed (as expired) until the user changes... */
    CHECK_EQ_INT(hf_meta_user_get(m, "alice", &u), HF_OK);
    CHECK_EQ_INT(u.nretiring, 1);
    CHECK_EQ_INT(mkuser(m, "bob", "AK1", 0), HF_E_EXISTS);
    CHECK_EQ_INT(hf_meta_user_key_delete(m, "alice", "AK2"), HF_E_CONFLICT);
    /* ...then gone, key row and all. */
    CHECK_EQ_INT(hf_meta_user_set_flags(m, "alice", 0, 0, &u), HF_OK);
    CHECK_EQ_INT(u.nretiring, 0);
    CHECK_EQ_INT(hf_meta_user_key_delete(m, "alice", "AK1"), HF_E_NOTFOUND);
    CHECK_EQ_INT(mkuser(m, "bob", "AK1", 0), HF_OK);
    CHECK_EQ_STR(secret_for(m, "AK1", &u), "secret-of-AK1");
    CHECK_EQ_STR(u.name, "bob");
    hf_meta_close(m);
    hf_test_rmtree(dir);
    free(dir);
}

/* ---- restrictions ----------------------------------------------------------------- */

TEST(restrictions)
{
    char *dir = hf_test_tmpdir();
    hf_meta_t *m = open_at(dir);
    CHECK(m != NULL);
    CHECK_EQ_INT(mkuser(m, "root", "AKROOT", HF_USER_ROOT), HF_OK);
    CHECK_EQ_INT(mkuser(m, "alice", "AKALICE", 0), HF_OK);
    CHECK_EQ_INT(mkuser(m, "bob", "AKBOB", HF_USER_NO_CREATE_BUCKET), HF_OK);
    CHECK_EQ_INT(mkuser(m, "x", "AKX", HF_USER_ROOT | HF_USER_DISABLED), HF_E_INVAL);
    CHECK_EQ_INT(mkuser(m, "y", "AKY", 1u << 20), HF_E_INVAL);
    hf_user_t u;
    CHECK_EQ_INT(hf_meta_user_get(m, "bob", &u), HF_OK);
    CHECK_EQ_INT(u.flags, HF_USER_NO_CREATE_BUCKET);

    CHECK_EQ_INT(hf_meta_user_set_flags(m, "alice", HF_USER_DISABLED, 0, &u), HF_OK);
    CHECK_EQ_INT(u.flags, HF_USER_DISABLED);
    /* The lookup still finds a disabled user: refusing is the caller's
     * (the S3 layer's) call, and it can tell why. */
    CHECK_EQ_STR(secret_for(m, "AKALICE", &u), "secret-of-AKALICE");
    CHECK_EQ_INT(u.flags, HF_USER_DISABLED);
    CHECK_EQ_INT(hf_meta_user_set_flags(m, "alice", HF_USER_NO_CREATE_BUCKET, HF_USER_DISABLED, &u),
                 HF_OK);
    CHECK_EQ_INT(u.flags, HF_USER_NO_CREATE_BUCKET);
    CHECK_EQ_INT(hf_meta_user_set_flags(m, "alice", 0, HF_USER_NO_CREATE_BUCKET, &u), HF_OK);
    CHECK_EQ_INT(u.flags, 0);

    /* The root user stays unrestricted; clearing is harmless. */
    CHECK_EQ_INT(hf_meta_user_set_flags(m, "root", HF_USER_DISABLED, 0, NULL), HF_E_CONFLICT);
    CHECK_EQ_INT(hf_meta_user_set_flags(m, "root", HF_USER_NO_CREATE_BUCKET, 0, NULL), HF_E_CONFLICT);
    CHECK_EQ_INT(hf_meta_user_set_flags(m, "root", 0, HF_USER_DISABLED, &u), HF_OK);
    CHECK_EQ_INT(u.flags, HF_USER_ROOT);
    /* Only restrictions can be set. */
    CHECK_EQ_INT(hf_meta_user_set_flags(m, "alice", HF_USER_ROOT, 0, NULL), HF_E_INVAL);
    CHECK_EQ_INT(hf_meta_user_set_flags(m, "alice", 0, HF_USER_ROOT, NULL), HF_E_INVAL);
    CHECK_EQ_INT(hf_meta_user_set_flags(m, "nobody", HF_USER_DISABLED, 0, NULL), HF_E_NOTFOUND);

    /* Restrictions survive a reopen; so does every key. */
    CHECK_EQ_INT(hf_meta_user_set_flags(m, "alice", HF_USER_DISABLED, 0, NULL), HF_OK);
    CHECK_EQ_INT(hf_meta_user_key_rotate(m, "alice", "AKALICE2", "secret-of-AKALICE2",
                                         3600LL * 1000000000, NULL), HF_OK);
    hf_meta_close(m);
    m = open_at(dir);
    CHECK(m != NULL);
    CHECK_EQ_STR(secret_for(m, "AKALICE", &u), "secret-of-AKALICE");
    CHECK_EQ_INT(u.flags, HF_USER_DISABLED);
    CHECK_EQ_STR(secret_for(m, "AKALICE2", &u), "secret-of-AKALICE2");
    CHECK_EQ_INT(hf_meta_user_get(m, "bob", &u), HF_OK);
    CHECK_EQ_INT(u.flags, HF_USER_NO_CREATE_BUCKET);
    hf_meta_close(m);
    hf_test_rmtree(dir);
    free(dir);
}

TEST(a_key_row_left_by_an_older_build_names_nobody)
{
    /* An older build deleting a user with retiring keys knows only the
     * active key's row; the others stay behind, pointing at a name that is
     * gone or that a new user took. Neither may let the key in, and the
     * key must be reusable. */
    char *dir = hf_test_tmpdir();
    hf_meta_t *m = open_at(dir);
    CHECK(m != NULL);
    CHECK_EQ_INT(mkuser(m, "alice", "AKNEW", 0), HF_OK);
    hf_meta_close(m);
    char path[4200];
    snprintf(path, sizeof path, "%s/meta", dir);
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi keys;
    CHECK_EQ_INT(mdb_env_create(&env), 0);
    mdb_env_set_maxdbs(env, 16);
    mdb_env_set_mapsize(env, TEST_MAP);
    CHECK_EQ_INT(mdb_env_open(env, path, MDB_NOTLS, 0600), 0);
    CHECK_EQ_INT(mdb_txn_begin(env, NULL, 0, &txn), 0);
    CHECK_EQ_INT(mdb_dbi_open(txn, "keys", 0, &keys), 0);
    MDB_val k = {5, "AKOLD"}, v = {5, "alice"};
    CHECK_EQ_INT(mdb_put(txn, keys, &k, &v, 0), 0);
    MDB_val k2 = {6, "AKGONE"}, v2 = {6, "nobody"};
    CHECK_EQ_INT(mdb_put(txn, keys, &k2, &v2, 0), 0);
    CHECK_EQ_INT(mdb_txn_commit(txn), 0);
    mdb_env_close(env);

    m = open_at(dir);
    CHECK(m != NULL);
    hf_user_t u;
    CHECK_EQ_INT(hf_meta_user_by_key(m, "AKOLD", &u), HF_E_NOTFOUND);
    CHECK_EQ_INT(hf_meta_user_by_key(m, "AKGONE", &u), HF_E_NOTFOUND);
    CHECK_EQ_INT(mkuser(m, "bob", "AKOLD", 0), HF_OK);
    CHECK_EQ_STR(secret_for(m, "AKOLD", &u), "secret-of-AKOLD");
    CHECK_EQ_STR(u.name, "bob");
    CHECK_EQ_INT(hf_meta_user_key_rotate(m, "alice", "AKGONE", "secret-of-AKGONE", 0, NULL), HF_OK);
    CHECK_EQ_STR(secret_for(m, "AKGONE", &u), "secret-of-AKGONE");
    CHECK_EQ_STR(u.name, "alice");
    hf_meta_close(m);
    hf_test_rmtree(dir);
    free(dir);
}

/* ---- the record ---------------------------------------------------------------- */

static hf_user_t sample_user(void)
{
    hf_user_t u;
    memset(&u, 0, sizeof u);
    u.id = 7;
    u.created = 1000;
    u.key_created = 5000;
    strcpy(u.access_key, "AKACTIVE");
    strcpy(u.secret_key, "secret-active");
    memset(u.canonical_id, 'b', 64);
    u.flags = HF_USER_DISABLED | HF_USER_NO_CREATE_BUCKET;
    u.nretiring = 2;
    strcpy(u.retiring[0].access_key, "AKOLD1");
    strcpy(u.retiring[0].secret_key, "secret-old-1");
    u.retiring[0].created = 1000;
    u.retiring[0].expires = 9000;
    strcpy(u.retiring[1].access_key, "AKOLD2");
    strcpy(u.retiring[1].secret_key, "secret-old-2");
    u.retiring[1].created = 3000;
    u.retiring[1].expires = 9500;
    return u;
}

/* Offset of the first tag of an encoded user record. */
static size_t user_fixed_len(const hf_user_t *u)
{
    return 1 + 8 + 4 + 8 + 32 + 1 + strlen(u->access_key) + 1 + strlen(u->secret_key);
}

TEST(record_round_trip_and_damage)
{
    hf_user_t u = sample_user(), d;
    hf_buf_t b;
    hf_buf_init(&b, 4096);
    CHECK_EQ_INT(hf_rec_user_encode(&b, &u), HF_OK);
    memset(&d, 0, sizeof d);
    CHECK_EQ_INT(hf_rec_user_decode(b.data, b.len, &d), HF_OK);
    CHECK_EQ_INT(d.flags, HF_USER_DISABLED | HF_USER_NO_CREATE_BUCKET);
    CHECK_EQ_INT(d.key_created, 5000);
    CHECK_EQ_INT(d.nretiring, 2);
    CHECK_EQ_STR(d.retiring[1].access_key, "AKOLD2");
    CHECK_EQ_STR(d.retiring[1].secret_key, "secret-old-2");
    CHECK_EQ_INT(d.retiring[1].created, 3000);
    CHECK_EQ_INT(d.retiring[1].expires, 9500);
    CHECK_EQ_STR(d.retiring[0].secret_key, "secret-old-1");
    /* The restrictions are not in the fixed flags (an older build reads
     * only those): they are in the critical tag. */
    CHECK_EQ_INT((unsigned char)b.data[12], 0);
    /* Every cut inside a tag is damage, never a read past the end. A cut
     * exactly between tags is a valid shorter record. */
    size_t fixed = user_fixed_len(&u);
    for (size_t n = 0; n < b.len; n++) {
        int rc = hf_rec_user_decode(b.data, n, &d);
        if (n < fixed)
            CHECK_EQ_INT(rc, HF_E_CORRUPT);
        else
            CHECK(rc == HF_E_CORRUPT || rc == HF_OK);
    }
    /* A byte flipped anywhere decodes to an error or a value. */
    for (size_t i = 0; i < b.len; i++) {
        for (int bit = 0; bit < 8; bit++) {
            b.data[i] ^= (char)(1 << bit);
            (void)hf_rec_user_decode(b.data, b.len, &d);
            b.data[i] ^= (char)(1 << bit);
        }
    }
    hf_buf_free(&b);
}

TEST(record_unrestricted_user_is_the_first_format)
{
    /* A user with no restrictions, no retiring keys and its first key
     * encodes exactly as the first format did, so older builds read it. */
    hf_user_t u = sample_user();
    u.flags = HF_USER_ROOT;
    u.nretiring = 0;
    u.key_created = u.created;
    hf_buf_t b;
    hf_buf_init(&b, 4096);
    CHECK_EQ_INT(hf_rec_user_encode(&b, &u), HF_OK);
    uint8_t want[512];
    size_t n = v1_user(want, 7, HF_USER_ROOT, 1000, 0xbb, "AKACTIVE", "secret-active");
    CHECK_EQ_INT(b.len, n);
    CHECK_EQ_MEM(b.data, want, n);
    hf_buf_free(&b);
}

/* The record of sample_user with one more tag appended. */
static void with_tag(hf_buf_t *b, uint8_t tag, const void *v, uint32_t len)
{
    hf_user_t u = sample_user();
    hf_buf_reset(b);
    CHECK_EQ_INT(hf_rec_user_encode(b, &u), HF_OK);
    uint8_t h[5] = {tag, (uint8_t)(len >> 24), (uint8_t)(len >> 16), (uint8_t)(len >> 8),
                    (uint8_t)len};
    CHECK_EQ_INT(hf_buf_append(b, h, 5), HF_OK);
    CHECK_EQ_INT(hf_buf_append(b, v, len), HF_OK);
}

TEST(record_tags_from_later_builds)
{
    hf_buf_t b;
    hf_buf_init(&b, 4096);
    hf_user_t d;
    /* An optional tag this build does not know is skipped. */
    with_tag(&b, 0x33, "xyz", 3);
    CHECK_EQ_INT(hf_rec_user_decode(b.data, b.len, &d), HF_OK);
    CHECK_EQ_INT(d.nretiring, 2);
    /* A critical one is refused. */
    with_tag(&b, 0x81, "xyz", 3);
    CHECK_EQ_INT(hf_rec_user_decode(b.data, b.len, &d), HF_E_VERSION);
    /* A known tag twice is damage. */
    with_tag(&b, 0x02, "\0\0\0\0\0\0\0\1", 8);
    CHECK_EQ_INT(hf_rec_user_decode(b.data, b.len, &d), HF_E_CORRUPT);

    /* A restriction this build cannot enforce: the user is refused. */
    hf_user_t u = sample_user();
    u.flags = 0;
    hf_buf_reset(&b);
    CHECK_EQ_INT(hf_rec_user_encode(&b, &u), HF_OK);
    CHECK_EQ_INT(hf_buf_append(&b, "\x80\0\0\0\4\0\0\0\4", 9), HF_OK);
    CHECK_EQ_INT(hf_rec_user_decode(b.data, b.len, &d), HF_E_VERSION);
    hf_buf_reset(&b);
    CHECK_EQ_INT(hf_rec_user_encode(&b, &u), HF_OK);
    CHECK_EQ_INT(hf_buf_append(&b, "\x80\0\0\0\4\0\0\0\1", 9), HF_OK);
    CHECK_EQ_INT(hf_rec_user_decode(b.data, b.len, &d), HF_OK);
    CHECK_EQ_INT(d.flags, HF_USER_DISABLED);
    hf_buf_reset(&b);
    CHECK_EQ_INT(hf_rec_user_encode(&b, &u), HF_OK);
    CHECK_EQ_INT(hf_buf_append(&b, "\x80\0\0\0\3\0\0\1", 8), HF_OK); /* wrong length */
    CHECK_EQ_INT(hf_rec_user_decode(b.data, b.len, &d), HF_E_CORRUPT);

    /* More retiring keys than this build holds: a later build's bound. */
    u.nretiring = 0;
    u.key_created = u.created;
    hf_buf_reset(&b);
    CHECK_EQ_INT(hf_rec_user_encode(&b, &u), HF_OK);
    uint8_t keys[1 + 8 * 30];
    size_t o = 0;
    keys[o++] = HF_USER_RETIRING_MAX + 1;
    for (int i = 0; i < HF_USER_RETIRING_MAX + 1; i++) {
        memset(keys + o, 0, 16);
        o += 16;
        memcpy(keys + o, "\3AKx\x08secret-x", 13);
        keys[o + 3] = (uint8_t)('0' + i);
        o += 13;
    }
    uint8_t h[5] = {0x01, 0, 0, 0, (uint8_t)o};
    CHECK_EQ_INT(hf_buf_append(&b, h, 5), HF_OK);
    CHECK_EQ_INT(hf_buf_append(&b, keys, o), HF_OK);
    CHECK_EQ_INT(hf_rec_user_decode(b.data, b.len, &d), HF_E_VERSION);
    /* An empty list, or bytes left over, is damage. */
    with_tag(&b, 0x01, "\0", 1);
    CHECK_EQ_INT(hf_rec_user_decode(b.data, b.len, &d), HF_E_CORRUPT);
    hf_buf_free(&b);
}

HF_TEST_MAIN("unit/meta-users")
