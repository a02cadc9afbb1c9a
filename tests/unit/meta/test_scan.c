/* Unit tests for hf_meta_scan (src/meta/scan.c): every object version of
 * every bucket exactly once, in order, across pages of any size, with long
 * keys, across concurrent changes, and with damaged records reported as
 * items. */
#include "test.h"

#include "base/arena.h"
#include "base/err.h"
#include "base/log.h"
#include "meta/meta.h"

#include <lmdb.h>
#include <stdio.h>

#define TEST_MAP (256ULL << 20)

__attribute__((constructor)) static void quiet(void)
{
    hf_log_set_level(HF_LOG_WARN);
}

typedef struct fixture {
    char *dir;
    hf_meta_t *m;
    hf_user_t u;
} fixture_t;

static void setup(fixture_t *f)
{
    f->dir = hf_test_tmpdir();
    hf_meta_config_t cfg = {.map_size = TEST_MAP};
    CHECK_EQ_INT(hf_meta_open(f->dir, &cfg, &f->m), HF_OK);
    memset(&f->u, 0, sizeof f->u);
    snprintf(f->u.name, sizeof f->u.name, "alice");
    snprintf(f->u.access_key, sizeof f->u.access_key, "AKALICE");
    snprintf(f->u.secret_key, sizeof f->u.secret_key, "secretsecret");
    CHECK_EQ_INT(hf_meta_user_create(f->m, &f->u), HF_OK);
}

static void teardown(fixture_t *f)
{
    hf_meta_close(f->m);
    hf_test_rmtree(f->dir);
    free(f->dir);
}

static hf_bucket_t mkbucket(fixture_t *f, const char *name)
{
    hf_bucket_t b = {.owner = f->u.id};
    snprintf(b.name, sizeof b.name, "%s", name);
    CHECK_EQ_INT(hf_meta_bucket_create(f->m, &b), HF_OK);
    return b;
}

static void put_inline(fixture_t *f, const hf_bucket_t *b, const char *key, size_t keylen,
                       const char *data)
{
    hf_obj_t o = {0};
    o.flags = HF_OBJ_INLINE;
    o.size = strlen(data);
    o.inline_data = (const uint8_t *)data;
    o.inline_len = (uint32_t)o.size;
    o.owner = f->u.id;
    CHECK_EQ_INT(hf_meta_obj_put(f->m, b, key, keylen, &o, NULL), HF_OK);
}

static void put_blob(fixture_t *f, const hf_bucket_t *b, const char *key, uint8_t tag)
{
    hf_obj_part_t p = {.size = 1000};
    memset(p.blob.b, tag, 16);
    hf_obj_t o = {0};
    o.size = 1000;
    o.nparts = 1;
    o.parts = &p;
    o.owner = f->u.id;
    CHECK_EQ_INT(hf_meta_obj_put(f->m, b, key, strlen(key), &o, NULL), HF_OK);
}

/* Scan everything with pages of size page; "bucket/key" lines into out. */
static size_t scan_all(fixture_t *f, uint32_t page, char out[][1200], size_t cap, int *errs)
{
    hf_meta_scan_cursor_t cur = {0};
    hf_arena_t a;
    hf_arena_init(&a, 16 << 20);
    size_t n = 0;
    *errs = 0;
    for (int guard = 0; guard < 100000; guard++) {
        hf_meta_scan_item_t *it;
        uint32_t k;
        bool done;
        CHECK_EQ_INT(hf_meta_scan(f->m, &cur, page, &a, &it, &k, &done), HF_OK);
        CHECK(k <= page);
        for (uint32_t i = 0; i < k; i++) {
            if (it[i].err)
                (*errs)++;
            if (n < cap)
                snprintf(out[n], 1200, "%s/%.*s", it[i].bucket, (int)it[i].key.n, it[i].key.p);
            n++;
        }
        hf_arena_reset(&a);
        if (done)
            break;
    }
    hf_arena_free(&a);
    return n;
}

static char got[600][1200];

TEST(scan_visits_every_object_once_in_order_for_every_page_size)
{
    fixture_t f;
    setup(&f);
    hf_bucket_t b1 = mkbucket(&f, "bravo"), b2 = mkbucket(&f, "alpha");
    mkbucket(&f, "charlie-empty");
    hf_bucket_t b4 = mkbucket(&f, "delta");
    char key[1100];
    for (int i = 0; i < 30; i++) {
        snprintf(key, sizeof key, "k%03d", i);
        put_inline(&f, &b1, key, strlen(key), "one");
        if (i % 3 == 0)
            put_blob(&f, &b2, key, (uint8_t)i);
    }
    /* long keys sharing their first 470 bytes sort by full key */
    for (int i = 0; i < 5; i++) {
        memset(key, 'z', 600);
        snprintf(key + 600, sizeof key - 600, "%d", 4 - i);
        put_inline(&f, &b4, key, strlen(key), "long");
    }
    const size_t total = 30 + 10 + 5;
    uint32_t pages[] = {1, 2, 7, 10, 44, 45, 46, 1000};
    for (size_t p = 0; p < sizeof pages / sizeof pages[0]; p++) {
        int errs;
        size_t n = scan_all(&f, pages[p], got, 600, &errs);
        CHECK_EQ_INT(n, total);
        CHECK_EQ_INT(errs, 0);
        CHECK_EQ_STR(got[0], "alpha/k000");
        CHECK_EQ_STR(got[9], "alpha/k027");
        CHECK_EQ_STR(got[10], "bravo/k000");
        CHECK_EQ_STR(got[39], "bravo/k029");
        for (size_t i = 1; i < n; i++)
            CHECK(strcmp(got[i - 1], got[i]) < 0);
        CHECK(strncmp(got[40], "delta/zzz", 9) == 0);
        CHECK(got[40][6 + 600] == '0' && got[44][6 + 600] == '4');
    }
    teardown(&f);
}

TEST(scan_items_carry_the_object)
{
    fixture_t f;
    setup(&f);
    hf_bucket_t b = mkbucket(&f, "things");
    put_inline(&f, &b, "small", 5, "hello");
    put_blob(&f, &b, "big", 7);
    hf_meta_scan_cursor_t cur = {0};
    hf_arena_t a;
    hf_arena_init(&a, 1 << 20);
    hf_meta_scan_item_t *it;
    uint32_t n;
    bool done;
    CHECK_EQ_INT(hf_meta_scan(f.m, &cur, 10, &a, &it, &n, &done), HF_OK);
    CHECK(done);
    CHECK_EQ_INT(n, 2);
    CHECK_EQ_STR(it[0].bucket, "things");
    CHECK_EQ_INT(it[0].bucket_id, b.id);
    CHECK(it[0].key.n == 3 && memcmp(it[0].key.p, "big", 3) == 0);
    CHECK_EQ_INT(it[0].obj.nparts, 1);
    CHECK_EQ_INT(it[0].obj.parts[0].size, 1000);
    CHECK_EQ_INT(it[0].obj.parts[0].blob.b[0], 7);
    static const uint8_t zero[16];
    CHECK_EQ_MEM(it[0].version, zero, 16);
    CHECK(it[1].obj.flags & HF_OBJ_INLINE);
    CHECK(it[1].obj.inline_len == 5 && memcmp(it[1].obj.inline_data, "hello", 5) == 0);
    /* an exhausted cursor stays exhausted */
    CHECK_EQ_INT(hf_meta_scan(f.m, &cur, 10, &a, &it, &n, &done), HF_OK);
    CHECK(done);
    CHECK_EQ_INT(n, 0);
    CHECK(it == NULL);
    hf_arena_free(&a);
    teardown(&f);
}

TEST(scan_resumes_across_changes)
{
    fixture_t f;
    setup(&f);
    hf_bucket_t b = mkbucket(&f, "moving");
    hf_bucket_t gone = mkbucket(&f, "nextone");
    for (int i = 0; i < 10; i++) {
        char key[16];
        snprintf(key, sizeof key, "k%d", i);
        put_inline(&f, &b, key, strlen(key), "x");
    }
    put_inline(&f, &gone, "a", 1, "x");
    hf_meta_scan_cursor_t cur = {0};
    hf_arena_t a;
    hf_arena_init(&a, 1 << 20);
    hf_meta_scan_item_t *it;
    uint32_t n;
    bool done;
    CHECK_EQ_INT(hf_meta_scan(f.m, &cur, 4, &a, &it, &n, &done), HF_OK);
    CHECK_EQ_INT(n, 4); /* k0..k3 */
    CHECK(!done);
    /* the key the cursor stands on disappears; one behind it is added;
     * the next bucket is deleted */
    CHECK_EQ_INT(hf_meta_obj_delete(f.m, &b, "k3", 2, NULL, 0, 1, NULL), HF_OK);
    put_inline(&f, &b, "k00", 3, "x");
    CHECK_EQ_INT(hf_meta_obj_delete(f.m, &gone, "a", 1, NULL, 0, 1, NULL), HF_OK);
    CHECK_EQ_INT(hf_meta_bucket_delete(f.m, &gone), HF_OK);
    CHECK_EQ_INT(hf_meta_scan(f.m, &cur, 100, &a, &it, &n, &done), HF_OK);
    CHECK(done);
    CHECK_EQ_INT(n, 6); /* k4..k9 */
    CHECK(it[0].key.n == 2 && memcmp(it[0].key.p, "k4", 2) == 0);
    hf_arena_free(&a);
    teardown(&f);
}

TEST(scan_reports_damaged_records_as_items)
{
    fixture_t f;
    setup(&f);
    hf_bucket_t b = mkbucket(&f, "rotten");
    put_inline(&f, &b, "a", 1, "fine");
    put_inline(&f, &b, "b", 1, "will rot");
    put_inline(&f, &b, "c", 1, "fine too");
    char path[4096];
    char *dir = strdup(f.dir);
    hf_meta_close(f.m);
    /* Flip a byte of the inline data of "b" straight in LMDB. */
    snprintf(path, sizeof path, "%s/meta", dir);
    MDB_env *env;
    CHECK_EQ_INT(mdb_env_create(&env), 0);
    mdb_env_set_maxdbs(env, 32);
    mdb_env_set_mapsize(env, TEST_MAP);
    CHECK_EQ_INT(mdb_env_open(env, path, 0, 0600), 0);
    MDB_txn *txn;
    MDB_dbi dbi;
    CHECK_EQ_INT(mdb_txn_begin(env, NULL, 0, &txn), 0);
    CHECK_EQ_INT(mdb_dbi_open(txn, "objects", 0, &dbi), 0);
    uint8_t tk[10];
    for (int i = 0; i < 8; i++)
        tk[i] = (uint8_t)(b.id >> (56 - 8 * i));
    tk[8] = 'b';
    tk[9] = 0;
    MDB_val k = {10, tk}, v;
    CHECK_EQ_INT(mdb_get(txn, dbi, &k, &v), 0);
    uint8_t *copy = malloc(v.mv_size);
    memcpy(copy, v.mv_data, v.mv_size);
    copy[v.mv_size - 1] ^= 0x40; /* last byte: inline data */
    MDB_val nv = {v.mv_size, copy};
    CHECK_EQ_INT(mdb_put(txn, dbi, &k, &nv, 0), 0);
    CHECK_EQ_INT(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
    free(copy);
    hf_meta_config_t cfg = {.map_size = TEST_MAP};
    CHECK_EQ_INT(hf_meta_open(dir, &cfg, &f.m), HF_OK);
    free(dir);

    hf_meta_scan_cursor_t cur = {0};
    hf_arena_t a;
    hf_arena_init(&a, 1 << 20);
    hf_meta_scan_item_t *it;
    uint32_t n;
    bool done;
    CHECK_EQ_INT(hf_meta_scan(f.m, &cur, 10, &a, &it, &n, &done), HF_OK);
    CHECK_EQ_INT(n, 3);
    CHECK_EQ_INT(it[0].err, HF_OK);
    CHECK_EQ_INT(it[1].err, HF_E_CORRUPT);
    CHECK(it[1].key.n == 1 && it[1].key.p[0] == 'b');
    CHECK_EQ_INT(it[1].obj.inline_len, 0);
    CHECK_EQ_INT(it[2].err, HF_OK);
    hf_arena_free(&a);
    teardown(&f);
}

TEST(scan_refuses_bad_arguments)
{
    fixture_t f;
    setup(&f);
    hf_arena_t a;
    hf_arena_init(&a, 1 << 20);
    hf_meta_scan_item_t *it;
    uint32_t n;
    bool done;
    hf_meta_scan_cursor_t cur = {0};
    CHECK_EQ_INT(hf_meta_scan(f.m, &cur, 0, &a, &it, &n, &done), HF_E_INVAL);
    cur.n = 5;
    cur.b[0] = 200; /* name longer than the cursor */
    CHECK_EQ_INT(hf_meta_scan(f.m, &cur, 5, &a, &it, &n, &done), HF_E_INVAL);
    hf_arena_free(&a);
    teardown(&f);
}

/* Every version: a key's current one, then its noncurrent ones newest
 * first, across pages of every size (the cursor stops inside a key's
 * versions), long keys included. */
TEST(scan_visits_every_version)
{
    fixture_t f;
    setup(&f);
    hf_bucket_t b = mkbucket(&f, "versioned");
    CHECK_EQ_INT(hf_meta_bucket_versioning(f.m, &b, true), HF_OK);
    char longkey[700];
    memset(longkey, 'L', 699);
    longkey[699] = '\0';
    const char *keys[] = {"a", longkey, "b", "c"};
    int nver[] = {3, 4, 1, 2};
    char expect[32][1200];
    size_t ne = 0;
    for (size_t k = 0; k < 4; k++) {
        uint8_t ids[8][16];
        for (int v = 0; v < nver[k]; v++) {
            hf_obj_t o = {0};
            o.flags = HF_OBJ_INLINE;
            o.size = 1;
            o.inline_data = (const uint8_t *)"x";
            o.inline_len = 1;
            o.owner = f.u.id;
            o.hlc = hf_meta_hlc_next(f.m);
            o.origin = hf_meta_node_id(f.m);
            CHECK_EQ_INT(hf_meta_obj_put(f.m, &b, keys[k], strlen(keys[k]), &o, NULL), HF_OK);
            memcpy(ids[v], o.version, 16);
        }
        (void)ids;
    }
    /* expected order: keys sorted ("a" < "b" < "c" < "LLL..." is false: 'L' < 'a') */
    const char *order[] = {longkey, "a", "b", "c"};
    int order_n[] = {4, 3, 1, 2};
    for (size_t k = 0; k < 4; k++)
        for (int v = 0; v < order_n[k]; v++)
            snprintf(expect[ne++], 1200, "versioned/%s", order[k]);
    for (uint32_t page = 1; page <= 11; page++) {
        int errs;
        size_t n = scan_all(&f, page, got, 600, &errs);
        CHECK_EQ_INT(errs, 0);
        CHECK_EQ_INT(n, ne);
        for (size_t i = 0; i < ne; i++)
            CHECK_EQ_STR(got[i], expect[i]);
    }
    /* versions newest first within a key, current first */
    hf_meta_scan_cursor_t cur = {0};
    hf_arena_t a;
    hf_arena_init(&a, 16 << 20);
    hf_meta_scan_item_t *it;
    uint32_t k;
    bool done;
    CHECK_EQ_INT(hf_meta_scan(f.m, &cur, 100, &a, &it, &k, &done), HF_OK);
    CHECK_EQ_INT(k, ne);
    for (uint32_t i = 1; i < k; i++)
        if (it[i].key.n == it[i - 1].key.n && memcmp(it[i].key.p, it[i - 1].key.p, it[i].key.n) == 0)
            CHECK(memcmp(it[i].version, it[i - 1].version, 16) < 0);
    hf_arena_free(&a);
    teardown(&f);
}

HF_TEST_MAIN("unit/meta-scan")
