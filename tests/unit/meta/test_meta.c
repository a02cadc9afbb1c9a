/* Unit tests for src/meta: users, buckets, objects, listings, uploads,
 * blob reference counts and releases, group commit, reopen, damaged and
 * future records, failure states. */
#include "test.h"

#include "base/arena.h"
#include "base/buf.h"
#include "base/err.h"
#include "base/hash.h"
#include "base/limits.h"
#include "base/log.h"
#include "base/time.h"
#include "meta/meta.h"

#include <errno.h>
#include <lmdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define TEST_MAP (256ULL << 20)

/* ---- fixtures --------------------------------------------------------------- */

typedef struct rel_log {
    pthread_mutex_t mu;
    hf_meta_t *m;
    hf_blob_id_t ids[8192];
    uint64_t sizes[8192];
    size_t n;
    int still_referenced; /* on_release saw a row for the blob: called before the commit */
} rel_log_t;

static rel_log_t rl = {.mu = PTHREAD_MUTEX_INITIALIZER};

/* Quiet: "store created" lines for every test are noise. */
__attribute__((constructor)) static void quiet(void)
{
    hf_log_set_level(HF_LOG_WARN);
}

static void on_release(void *ctx, const hf_blob_id_t *id, uint64_t size)
{
    rel_log_t *r = ctx;
    pthread_mutex_lock(&r->mu);
    /* A read from the callback (a fresh snapshot) must no longer see the
     * row: the change that dropped it is committed. */
    if (r->m && hf_meta_blob_refs(r->m, id) != 0)
        r->still_referenced++;
    if (r->n < 8192) {
        r->ids[r->n] = *id;
        r->sizes[r->n] = size;
    }
    r->n++;
    pthread_mutex_unlock(&r->mu);
}

static void rel_sync(void);

static void rel_reset(void)
{
    rel_sync();
    pthread_mutex_lock(&rl.mu);
    rl.n = 0;
    rl.still_referenced = 0;
    pthread_mutex_unlock(&rl.mu);
}

/* on_release runs after the waiters of its batch are woken, before the
 * writer takes the next batch: once another write has returned, every
 * release of earlier batches has been delivered. */
static void rel_sync(void)
{
    static const hf_bucket_t none = {.id = UINT64_MAX, .name = "none"};
    if (rl.m)
        hf_meta_obj_delete(rl.m, &none, "sync", 4, NULL, 0, 1, NULL);
}

static size_t rel_n(void)
{
    rel_sync();
    pthread_mutex_lock(&rl.mu);
    size_t n = rl.n;
    pthread_mutex_unlock(&rl.mu);
    return n;
}

static bool released(const hf_blob_id_t *id)
{
    rel_sync();
    bool found = false;
    pthread_mutex_lock(&rl.mu);
    for (size_t i = 0; i < rl.n && i < 8192; i++)
        if (memcmp(rl.ids[i].b, id->b, 16) == 0)
            found = true;
    pthread_mutex_unlock(&rl.mu);
    return found;
}

static hf_meta_t *open_at(const char *dir, uint64_t map)
{
    hf_meta_config_t cfg = {.map_size = map, .on_release = on_release, .release_ctx = &rl};
    hf_meta_t *m = NULL;
    int rc = hf_meta_open(dir, &cfg, &m);
    if (rc) {
        fprintf(stderr, "hf_meta_open: %s\n", hf_strerror(rc));
        return NULL;
    }
    rl.m = m;
    rel_reset();
    return m;
}

static void close_store(hf_meta_t *m)
{
    rl.m = NULL;
    hf_meta_close(m);
}

static hf_blob_id_t blob(unsigned n)
{
    hf_blob_id_t id;
    memset(id.b, 0xb0, 16);
    id.b[12] = (uint8_t)(n >> 24);
    id.b[13] = (uint8_t)(n >> 16);
    id.b[14] = (uint8_t)(n >> 8);
    id.b[15] = (uint8_t)n;
    return id;
}

static uint64_t mkuser(hf_meta_t *m, const char *name, const char *ak)
{
    hf_user_t u;
    memset(&u, 0, sizeof u);
    snprintf(u.name, sizeof u.name, "%s", name);
    snprintf(u.access_key, sizeof u.access_key, "%s", ak);
    snprintf(u.secret_key, sizeof u.secret_key, "secret-of-%s", name);
    if (hf_meta_user_create(m, &u) != HF_OK)
        return 0;
    return u.id;
}

static int mkbucket(hf_meta_t *m, const char *name, uint64_t owner, hf_bucket_t *b)
{
    memset(b, 0, sizeof *b);
    snprintf(b->name, sizeof b->name, "%s", name);
    b->owner = owner;
    return hf_meta_bucket_create(m, b);
}

/* A store with one user and one bucket. */
typedef struct fx {
    char *dir;
    hf_meta_t *m;
    uint64_t uid;
    hf_bucket_t b;
    hf_arena_t a;
} fx_t;

static void fx_open(fx_t *f)
{
    f->dir = hf_test_tmpdir();
    f->m = open_at(f->dir, TEST_MAP);
    CHECK(f->m != NULL);
    f->uid = mkuser(f->m, "owner", "AKOWNER");
    CHECK(f->uid != 0);
    CHECK_EQ_INT(mkbucket(f->m, "bucket", f->uid, &f->b), HF_OK);
    hf_arena_init(&f->a, 64 << 20);
}

static void fx_close(fx_t *f)
{
    if (f->m)
        close_store(f->m);
    hf_arena_free(&f->a);
    hf_test_rmtree(f->dir);
    free(f->dir);
}

/* o: a small object with data inline, owned by owner. */
static void inline_obj(hf_obj_t *o, const char *data, uint64_t owner)
{
    memset(o, 0, sizeof *o);
    o->flags = HF_OBJ_INLINE;
    o->size = strlen(data);
    o->inline_data = (const uint8_t *)data;
    o->inline_len = (uint32_t)o->size;
    o->mtime = 1000;
    o->owner = owner;
    hf_md5(data, o->size, o->etag);
}

static int put_inline(hf_meta_t *m, const hf_bucket_t *b, const char *key, const char *data)
{
    hf_obj_t o;
    inline_obj(&o, data, b->owner);
    return hf_meta_obj_put(m, b, key, strlen(key), &o, NULL);
}

static int put_inline_cond(hf_meta_t *m, const hf_bucket_t *b, const char *key, const char *data,
                           const hf_obj_cond_t *c)
{
    hf_obj_t o;
    memset(&o, 0, sizeof o);
    o.flags = HF_OBJ_INLINE;
    o.size = strlen(data);
    o.inline_data = (const uint8_t *)data;
    o.inline_len = (uint32_t)o.size;
    o.hlc = hf_meta_hlc_next(m);
    o.origin = hf_meta_node_id(m);
    o.owner = b->owner;
    hf_md5(data, o.size, o.etag);
    return hf_meta_obj_put(m, b, key, strlen(key), &o, c);
}

static int put_blobs(hf_meta_t *m, const hf_bucket_t *b, const char *key, const unsigned *ids, int n)
{
    hf_obj_part_t parts[16];
    hf_obj_t o;
    memset(&o, 0, sizeof o);
    memset(parts, 0, sizeof parts);
    for (int i = 0; i < n; i++) {
        parts[i].blob = blob(ids[i]);
        parts[i].size = 1000 + ids[i];
        o.size += parts[i].size;
    }
    o.parts = parts;
    o.nparts = (uint32_t)n;
    o.owner = b->owner;
    o.hlc = hf_meta_hlc_next(m);
    o.origin = hf_meta_node_id(m);
    return hf_meta_obj_put(m, b, key, strlen(key), &o, NULL);
}

/* ---- users ------------------------------------------------------------------ */

TEST(users)
{
    char *dir = hf_test_tmpdir();
    hf_meta_t *m = open_at(dir, TEST_MAP);
    CHECK(m != NULL);
    hf_user_t u;
    memset(&u, 0, sizeof u);
    strcpy(u.name, "root");
    strcpy(u.access_key, "AKROOT");
    strcpy(u.secret_key, "rootsecret123");
    u.flags = HF_USER_ROOT;
    int64_t before = hf_time_now();
    CHECK_EQ_INT(hf_meta_user_create(m, &u), HF_OK);
    CHECK_EQ_INT(u.id, 1);
    CHECK_EQ_INT(strlen(u.canonical_id), 64);
    CHECK(strspn(u.canonical_id, "0123456789abcdef") == 64);
    CHECK(u.created >= before && u.created <= hf_time_now());

    uint64_t alice = mkuser(m, "alice", "AKALICE");
    CHECK_EQ_INT(alice, 2);
    CHECK_EQ_INT(mkuser(m, "bob", "AKBOB"), 3);

    /* duplicates: name, then access key */
    hf_user_t d;
    memset(&d, 0, sizeof d);
    strcpy(d.name, "alice");
    strcpy(d.access_key, "AKNEW");
    strcpy(d.secret_key, "whatever12");
    CHECK_EQ_INT(hf_meta_user_create(m, &d), HF_E_EXISTS);
    strcpy(d.name, "carol");
    strcpy(d.access_key, "AKBOB");
    CHECK_EQ_INT(hf_meta_user_create(m, &d), HF_E_EXISTS);
    strcpy(d.access_key, "AK");
    CHECK_EQ_INT(hf_meta_user_create(m, &d), HF_E_INVAL); /* key too short */
    strcpy(d.access_key, "AKCAROL");
    strcpy(d.secret_key, "short");
    CHECK_EQ_INT(hf_meta_user_create(m, &d), HF_E_INVAL);

    hf_user_t g;
    CHECK_EQ_INT(hf_meta_user_get(m, "alice", &g), HF_OK);
    CHECK_EQ_STR(g.name, "alice");
    CHECK_EQ_INT(g.id, 2);
    CHECK_EQ_STR(g.access_key, "AKALICE");
    CHECK_EQ_STR(g.secret_key, "secret-of-alice");
    CHECK_EQ_INT(g.flags, 0);
    CHECK_EQ_INT(hf_meta_user_by_key(m, "AKROOT", &g), HF_OK);
    CHECK_EQ_STR(g.name, "root");
    CHECK_EQ_INT(g.flags, HF_USER_ROOT);
    CHECK_EQ_STR(g.canonical_id, u.canonical_id);
    CHECK_EQ_INT(g.created, u.created);
    CHECK_EQ_INT(hf_meta_user_by_id(m, 3, &g), HF_OK);
    CHECK_EQ_STR(g.name, "bob");
    CHECK_EQ_INT(hf_meta_user_get(m, "nobody", &g), HF_E_NOTFOUND);
    CHECK_EQ_INT(hf_meta_user_by_key(m, "AKNOBODY", &g), HF_E_NOTFOUND);
    CHECK_EQ_INT(hf_meta_user_by_id(m, 99, &g), HF_E_NOTFOUND);

    hf_arena_t a;
    hf_arena_init(&a, 1 << 20);
    hf_user_t *list;
    size_t n;
    CHECK_EQ_INT(hf_meta_user_list(m, &a, &list, &n), HF_OK);
    CHECK_EQ_INT(n, 3);
    CHECK_EQ_STR(list[0].name, "alice");
    CHECK_EQ_STR(list[1].name, "bob");
    CHECK_EQ_STR(list[2].name, "root");
    CHECK_EQ_INT(list[2].flags, HF_USER_ROOT);

    /* refusals: root; an owner of buckets */
    CHECK_EQ_INT(hf_meta_user_delete(m, "root"), HF_E_CONFLICT);
    hf_bucket_t b;
    CHECK_EQ_INT(mkbucket(m, "alices", alice, &b), HF_OK);
    CHECK_EQ_INT(hf_meta_user_delete(m, "alice"), HF_E_CONFLICT);
    CHECK_EQ_INT(hf_meta_bucket_delete(m, &b), HF_OK);
    CHECK_EQ_INT(hf_meta_user_delete(m, "alice"), HF_OK);
    CHECK_EQ_INT(hf_meta_user_delete(m, "alice"), HF_E_NOTFOUND);
    CHECK_EQ_INT(hf_meta_user_get(m, "alice", &g), HF_E_NOTFOUND);
    CHECK_EQ_INT(hf_meta_user_by_key(m, "AKALICE", &g), HF_E_NOTFOUND);
    CHECK_EQ_INT(hf_meta_user_by_id(m, 2, &g), HF_E_NOTFOUND);
    /* the name and key are free again; the id is not reused */
    CHECK_EQ_INT(mkuser(m, "alice", "AKALICE"), 4);
    hf_arena_reset(&a);
    CHECK_EQ_INT(hf_meta_user_list(m, &a, &list, &n), HF_OK);
    CHECK_EQ_INT(n, 3);
    hf_arena_free(&a);
    close_store(m);
    hf_test_rmtree(dir);
    free(dir);
}

/* ---- buckets ---------------------------------------------------------------- */

TEST(buckets)
{
    char *dir = hf_test_tmpdir();
    hf_meta_t *m = open_at(dir, TEST_MAP);
    CHECK(m != NULL);
    uint64_t u1 = mkuser(m, "u1", "AKU1"), u2 = mkuser(m, "u2", "AKU2");
    hf_bucket_t b1, b2, b3, x;
    CHECK_EQ_INT(mkbucket(m, "zeta", u1, &b1), HF_OK);
    CHECK_EQ_INT(b1.id, 1);
    CHECK(b1.created > 0);
    memset(&b2, 0, sizeof b2);
    strcpy(b2.name, "alpha");
    strcpy(b2.region, "eu-central-1");
    b2.owner = u1;
    b2.flags = 5;
    CHECK_EQ_INT(hf_meta_bucket_create(m, &b2), HF_OK);
    CHECK_EQ_INT(b2.id, 2);
    CHECK_EQ_INT(mkbucket(m, "mid", u2, &b3), HF_OK);
    CHECK_EQ_INT(b3.id, 3);

    /* taken: the existing owner comes back */
    CHECK_EQ_INT(mkbucket(m, "alpha", u2, &x), HF_E_EXISTS);
    CHECK_EQ_INT(x.owner, u1);
    /* an unknown owner, a bad name */
    CHECK_EQ_INT(mkbucket(m, "orphan", 999, &x), HF_E_NOTFOUND);
    CHECK_EQ_INT(mkbucket(m, "ab", u1, &x), HF_E_INVAL);

    hf_bucket_t g;
    CHECK_EQ_INT(hf_meta_bucket_get(m, "alpha", &g), HF_OK);
    CHECK_EQ_STR(g.name, "alpha");
    CHECK_EQ_INT(g.id, 2);
    CHECK_EQ_INT(g.owner, u1);
    CHECK_EQ_STR(g.region, "eu-central-1");
    CHECK_EQ_INT(g.flags, 5);
    CHECK_EQ_INT(g.created, b2.created);
    CHECK_EQ_INT(hf_meta_bucket_get(m, "nope", &g), HF_E_NOTFOUND);

    hf_arena_t a;
    hf_arena_init(&a, 1 << 20);
    hf_bucket_t *list;
    size_t n;
    CHECK_EQ_INT(hf_meta_bucket_list(m, u1, &a, &list, &n), HF_OK);
    CHECK_EQ_INT(n, 2);
    CHECK_EQ_STR(list[0].name, "alpha");
    CHECK_EQ_STR(list[1].name, "zeta");
    CHECK_EQ_INT(hf_meta_bucket_list(m, 0, &a, &list, &n), HF_OK);
    CHECK_EQ_INT(n, 3);
    CHECK_EQ_STR(list[0].name, "alpha");
    CHECK_EQ_STR(list[1].name, "mid");
    CHECK_EQ_STR(list[2].name, "zeta");
    CHECK_EQ_INT(list[1].owner, u2);
    CHECK_EQ_INT(hf_meta_bucket_list(m, 777, &a, &list, &n), HF_OK);
    CHECK_EQ_INT(n, 0);

    /* delete: id must match; not while it holds an object */
    hf_bucket_t wrong = b1;
    wrong.id = 2;
    CHECK_EQ_INT(hf_meta_bucket_delete(m, &wrong), HF_E_NOTFOUND);
    CHECK_EQ_INT(put_inline(m, &b1, "k", "v"), HF_OK);
    CHECK_EQ_INT(hf_meta_bucket_delete(m, &b1), HF_E_CONFLICT);
    /* an object in a neighbouring bucket id does not count */
    CHECK_EQ_INT(put_inline(m, &b3, "k", "v"), HF_OK);
    CHECK_EQ_INT(hf_meta_bucket_delete(m, &b2), HF_OK);
    CHECK_EQ_INT(hf_meta_obj_delete(m, &b1, "k", 1, NULL, 0, 1, NULL), HF_OK);
    CHECK_EQ_INT(hf_meta_bucket_delete(m, &b1), HF_OK);
    CHECK_EQ_INT(hf_meta_bucket_delete(m, &b1), HF_E_NOTFOUND);
    CHECK_EQ_INT(hf_meta_bucket_get(m, "zeta", &g), HF_E_NOTFOUND);
    /* put into a deleted bucket */
    CHECK_EQ_INT(put_inline(m, &b1, "k", "v"), HF_E_NOTFOUND);
    /* a re-created name gets a new id; the old handle stays dead */
    CHECK_EQ_INT(mkbucket(m, "zeta", u1, &x), HF_OK);
    CHECK_EQ_INT(x.id, 4);
    CHECK_EQ_INT(put_inline(m, &b1, "k", "v"), HF_E_NOTFOUND);
    CHECK_EQ_INT(hf_meta_bucket_delete(m, &b1), HF_E_NOTFOUND);
    hf_arena_free(&a);
    close_store(m);
    hf_test_rmtree(dir);
    free(dir);
}

TEST(bucket_delete_aborts_uploads)
{
    fx_t f;
    fx_open(&f);
    hf_upload_t u;
    memset(&u, 0, sizeof u);
    u.owner = f.uid;
    CHECK_EQ_INT(hf_meta_upload_create(f.m, &f.b, "big", 3, &u), HF_OK);
    hf_upload_t u2;
    memset(&u2, 0, sizeof u2);
    CHECK_EQ_INT(hf_meta_upload_create(f.m, &f.b, "other", 5, &u2), HF_OK);
    hf_part_t p;
    memset(&p, 0, sizeof p);
    for (unsigned i = 1; i <= 3; i++) {
        p.number = i;
        p.blob = blob(100 + i);
        p.size = 10;
        CHECK_EQ_INT(hf_meta_part_put(f.m, f.b.id, "big", 3, u.id, &p), HF_OK);
    }
    p.number = 1;
    p.blob = blob(200);
    CHECK_EQ_INT(hf_meta_part_put(f.m, f.b.id, "other", 5, u2.id, &p), HF_OK);
    hf_blob_id_t b101 = blob(101), b200 = blob(200);
    CHECK_EQ_INT(hf_meta_blob_refs(f.m, &b101), 1);
    rel_reset();
    CHECK_EQ_INT(hf_meta_bucket_delete(f.m, &f.b), HF_OK);
    for (unsigned i = 1; i <= 3; i++) {
        hf_blob_id_t id = blob(100 + i);
        CHECK_EQ_INT(hf_meta_blob_refs(f.m, &id), 0);
        CHECK(released(&id));
    }
    CHECK_EQ_INT(hf_meta_blob_refs(f.m, &b200), 0);
    CHECK(released(&b200));
    CHECK_EQ_INT(rel_n(), 4);
    CHECK_EQ_INT(rl.still_referenced, 0);
    hf_part_t *parts;
    uint32_t n;
    bool trunc;
    CHECK_EQ_INT(hf_meta_part_list(f.m, u.id, 0, 100, &f.a, &parts, &n, &trunc), HF_OK);
    CHECK_EQ_INT(n, 0);
    hf_upload_t g;
    CHECK_EQ_INT(hf_meta_upload_get(f.m, f.b.id, "big", 3, u.id, &f.a, &g), HF_E_NOTFOUND);
    fx_close(&f);
}

/* ---- objects -------------------------------------------------------------------- */

TEST(object_inline_put_get_overwrite_delete)
{
    fx_t f;
    fx_open(&f);
    hf_obj_t o;
    memset(&o, 0, sizeof o);
    o.flags = HF_OBJ_INLINE;
    o.size = 11;
    o.inline_data = (const uint8_t *)"hello world";
    o.inline_len = 11;
    o.mtime = 1700000000000000000LL;
    o.hlc = hf_meta_hlc_next(f.m);
    o.origin = hf_meta_node_id(f.m);
    memset(o.version, 0, 16);
    hf_md5("hello world", 11, o.etag);
    o.owner = f.uid;
    o.content_type = "text/plain";
    o.content_encoding = "identity";
    o.content_disposition = "attachment";
    o.content_language = "en";
    o.cache_control = "no-cache";
    o.expires = "Wed, 21 Oct 2015 07:28:00 GMT";
    hf_kv_t meta[3] = {{"zz", "last"}, {"aa", "first"}, {"mm", ""}};
    o.meta = meta;
    o.nmeta = 3;
    CHECK_EQ_INT(hf_meta_obj_put(f.m, &f.b, "dir/hello.txt", 13, &o, NULL), HF_OK);

    hf_obj_t g;
    CHECK_EQ_INT(hf_meta_obj_get(f.m, f.b.id, "dir/hello.txt", 13, NULL, &f.a, &g), HF_OK);
    CHECK_EQ_INT(g.flags, HF_OBJ_INLINE);
    CHECK_EQ_INT(g.size, 11);
    CHECK_EQ_INT(g.inline_len, 11);
    CHECK(memcmp(g.inline_data, "hello world", 11) == 0);
    CHECK(g.inline_crc32c == hf_crc32c(0, "hello world", 11));
    CHECK_EQ_INT(g.mtime, 1700000000000000000LL);
    CHECK(g.hlc == o.hlc);
    CHECK(g.origin == hf_meta_node_id(f.m));
    CHECK_EQ_MEM(g.etag, o.etag, 16);
    CHECK_EQ_INT(g.owner, f.uid);
    CHECK_EQ_STR(g.content_type, "text/plain");
    CHECK_EQ_STR(g.content_encoding, "identity");
    CHECK_EQ_STR(g.content_disposition, "attachment");
    CHECK_EQ_STR(g.content_language, "en");
    CHECK_EQ_STR(g.cache_control, "no-cache");
    CHECK_EQ_STR(g.expires, "Wed, 21 Oct 2015 07:28:00 GMT");
    CHECK_EQ_INT(g.nmeta, 3);
    CHECK_EQ_STR(g.meta[0].name, "aa"); /* sorted by name */
    CHECK_EQ_STR(g.meta[0].value, "first");
    CHECK_EQ_STR(g.meta[1].name, "mm");
    CHECK_EQ_STR(g.meta[1].value, "");
    CHECK_EQ_STR(g.meta[2].name, "zz");
    CHECK_EQ_INT(g.nparts, 0);

    /* overwrite: the new version is current, absent headers are NULL */
    CHECK_EQ_INT(put_inline(f.m, &f.b, "dir/hello.txt", "bye"), HF_OK);
    CHECK_EQ_INT(hf_meta_obj_get(f.m, f.b.id, "dir/hello.txt", 13, NULL, &f.a, &g), HF_OK);
    CHECK_EQ_INT(g.size, 3);
    CHECK(memcmp(g.inline_data, "bye", 3) == 0);
    CHECK(g.content_type == NULL);
    CHECK_EQ_INT(g.nmeta, 0);

    /* empty object: neither inline nor parts */
    hf_obj_t e;
    memset(&e, 0, sizeof e);
    CHECK_EQ_INT(hf_meta_obj_put(f.m, &f.b, "empty", 5, &e, NULL), HF_OK);
    CHECK_EQ_INT(hf_meta_obj_get(f.m, f.b.id, "empty", 5, NULL, &f.a, &g), HF_OK);
    CHECK_EQ_INT(g.size, 0);
    CHECK_EQ_INT(g.nparts, 0);

    CHECK_EQ_INT(hf_meta_obj_delete(f.m, &f.b, "dir/hello.txt", 13, NULL, 0, 1, NULL), HF_OK);
    CHECK_EQ_INT(hf_meta_obj_get(f.m, f.b.id, "dir/hello.txt", 13, NULL, &f.a, &g), HF_E_NOTFOUND);
    CHECK_EQ_INT(hf_meta_obj_delete(f.m, &f.b, "dir/hello.txt", 13, NULL, 0, 1, NULL), HF_E_NOTFOUND);
    CHECK_EQ_INT(hf_meta_obj_get(f.m, f.b.id + 1, "empty", 5, NULL, &f.a, &g), HF_E_NOTFOUND);

    /* refused input */
    CHECK_EQ_INT(hf_meta_obj_put(f.m, &f.b, "a\0b", 3, &e, NULL), HF_E_INVAL);
    CHECK_EQ_INT(hf_meta_obj_put(f.m, &f.b, "", 0, &e, NULL), HF_E_INVAL);
    e.size = 5; /* size without data */
    CHECK_EQ_INT(hf_meta_obj_put(f.m, &f.b, "x", 1, &e, NULL), HF_E_INVAL);
    hf_obj_t big = o;
    big.meta = NULL;
    big.nmeta = 0;
    static uint8_t huge[HF_INLINE_MAX + 1];
    big.inline_data = huge;
    big.inline_len = big.size = sizeof huge;
    CHECK_EQ_INT(hf_meta_obj_put(f.m, &f.b, "x", 1, &big, NULL), HF_E_INVAL);
    char longval[HF_USER_META_MAX + 1];
    memset(longval, 'v', sizeof longval - 1);
    longval[sizeof longval - 1] = 0;
    hf_kv_t bigmeta = {"n", longval};
    big = o;
    big.meta = &bigmeta;
    big.nmeta = 1;
    CHECK_EQ_INT(hf_meta_obj_put(f.m, &f.b, "x", 1, &big, NULL), HF_E_TOOBIG);
    fx_close(&f);
}

/* An encrypted object: its descriptor is kept; its inline data is the
 * sealed form (size + 16 bytes), and the crc covers what is stored. */
TEST(object_sealed_inline_and_sse_keys)
{
    fx_t f;
    fx_open(&f);
    static const uint8_t desc[] = "descriptor bytes";
    uint8_t sealed[11 + HF_OBJ_SEALED_EXTRA];
    memset(sealed, 0x3c, sizeof sealed);
    hf_obj_t o;
    inline_obj(&o, "hello world", f.uid);
    o.sse = desc;
    o.sse_len = sizeof desc;
    /* the plaintext length is not the stored length of a sealed object */
    CHECK_EQ_INT(hf_meta_obj_put(f.m, &f.b, "k", 1, &o, NULL), HF_E_INVAL);
    o.inline_data = sealed;
    o.inline_len = sizeof sealed;
    CHECK_EQ_INT(hf_meta_obj_put(f.m, &f.b, "k", 1, &o, NULL), HF_OK);
    hf_obj_t g;
    CHECK_EQ_INT(hf_meta_obj_get(f.m, f.b.id, "k", 1, NULL, &f.a, &g), HF_OK);
    CHECK_EQ_INT(g.size, 11);
    CHECK_EQ_INT(g.inline_len, sizeof sealed);
    CHECK_EQ_MEM(g.inline_data, sealed, sizeof sealed);
    CHECK(g.inline_crc32c == hf_crc32c(0, sealed, sizeof sealed));
    CHECK_EQ_INT(g.sse_len, sizeof desc);
    CHECK_EQ_MEM(g.sse, desc, sizeof desc);
    /* a plain object cannot carry the sealed length */
    o.sse = NULL;
    o.sse_len = 0;
    CHECK_EQ_INT(hf_meta_obj_put(f.m, &f.b, "k", 1, &o, NULL), HF_E_INVAL);
    /* nor a descriptor past the bound */
    static uint8_t big[HF_OBJ_SSE_MAX + 1];
    o.sse = big;
    o.sse_len = sizeof big;
    CHECK_EQ_INT(hf_meta_obj_put(f.m, &f.b, "k", 1, &o, NULL), HF_E_INVAL);

    /* the key fingerprints in sys: absent, stored, replaced, reopened */
    uint8_t buf[64];
    size_t len = 1;
    CHECK_EQ_INT(hf_meta_sse_keys_get(f.m, buf, sizeof buf, &len), HF_E_NOTFOUND);
    CHECK_EQ_INT(len, 0);
    CHECK_EQ_INT(hf_meta_sse_keys_put(f.m, (const uint8_t *)"abc", 3), HF_OK);
    CHECK_EQ_INT(hf_meta_sse_keys_put(f.m, (const uint8_t *)"0123456789", 10), HF_OK);
    CHECK_EQ_INT(hf_meta_sse_keys_get(f.m, buf, 5, &len), HF_E_TOOBIG);
    CHECK_EQ_INT(len, 10);
    CHECK_EQ_INT(hf_meta_sse_keys_put(f.m, buf, 0), HF_E_INVAL);
    close_store(f.m);
    f.m = open_at(f.dir, TEST_MAP);
    CHECK(f.m != NULL);
    CHECK_EQ_INT(hf_meta_sse_keys_get(f.m, buf, sizeof buf, &len), HF_OK);
    CHECK_EQ_INT(len, 10);
    CHECK_EQ_MEM(buf, "0123456789", 10);
    fx_close(&f);
}

TEST(object_blob_refs_and_releases)
{
    fx_t f;
    fx_open(&f);
    hf_blob_id_t b1 = blob(1), b2 = blob(2), b3 = blob(3);
    unsigned ab[] = {1, 2};
    CHECK_EQ_INT(put_blobs(f.m, &f.b, "obj", ab, 2), HF_OK);
    CHECK_EQ_INT(hf_meta_blob_refs(f.m, &b1), 1);
    CHECK_EQ_INT(hf_meta_blob_refs(f.m, &b2), 1);
    CHECK(hf_meta_blob_live(f.m, &b1));
    CHECK(!hf_meta_blob_live(f.m, &b3));
    hf_obj_t g;
    CHECK_EQ_INT(hf_meta_obj_get(f.m, f.b.id, "obj", 3, NULL, &f.a, &g), HF_OK);
    CHECK_EQ_INT(g.nparts, 2);
    CHECK_EQ_MEM(g.parts[0].blob.b, b1.b, 16);
    CHECK_EQ_MEM(g.parts[1].blob.b, b2.b, 16);
    CHECK_EQ_INT(g.parts[1].size, 1002);
    CHECK_EQ_INT(g.size, 2003);
    CHECK_EQ_INT(rel_n(), 0);

    /* overwrite [1,2] with [2,3]: exactly blob 1 goes */
    unsigned bc[] = {2, 3};
    CHECK_EQ_INT(put_blobs(f.m, &f.b, "obj", bc, 2), HF_OK);
    CHECK_EQ_INT(rel_n(), 1);
    CHECK_EQ_MEM(rl.ids[0].b, b1.b, 16);
    CHECK_EQ_INT(rl.sizes[0], 1001);
    CHECK_EQ_INT(hf_meta_blob_refs(f.m, &b1), 0);
    CHECK_EQ_INT(hf_meta_blob_refs(f.m, &b2), 1);
    CHECK_EQ_INT(hf_meta_blob_refs(f.m, &b3), 1);

    /* the same blob list again: nothing released */
    CHECK_EQ_INT(put_blobs(f.m, &f.b, "obj", bc, 2), HF_OK);
    CHECK_EQ_INT(rel_n(), 1);
    CHECK_EQ_INT(hf_meta_blob_refs(f.m, &b2), 1);

    /* a second object sharing blob 3 (a copy): two references */
    unsigned c[] = {3};
    CHECK_EQ_INT(put_blobs(f.m, &f.b, "copy", c, 1), HF_OK);
    CHECK_EQ_INT(hf_meta_blob_refs(f.m, &b3), 2);
    CHECK_EQ_INT(hf_meta_obj_delete(f.m, &f.b, "obj", 3, NULL, 0, 1, NULL), HF_OK);
    CHECK_EQ_INT(rel_n(), 2);
    CHECK_EQ_MEM(rl.ids[1].b, b2.b, 16);
    CHECK_EQ_INT(hf_meta_blob_refs(f.m, &b3), 1);
    CHECK(!released(&b3));
    /* overwrite with inline data: the last reference goes */
    CHECK_EQ_INT(put_inline(f.m, &f.b, "copy", "small"), HF_OK);
    CHECK_EQ_INT(rel_n(), 3);
    CHECK_EQ_MEM(rl.ids[2].b, b3.b, 16);
    CHECK_EQ_INT(rl.sizes[2], 1003);
    CHECK(!hf_meta_blob_live(f.m, &b3));
    CHECK_EQ_INT(rl.still_referenced, 0);

    /* a failed put takes no reference */
    hf_bucket_t gone = f.b;
    gone.id = 12345;
    unsigned d[] = {4};
    hf_blob_id_t b4 = blob(4);
    CHECK_EQ_INT(put_blobs(f.m, &gone, "x", d, 1), HF_E_NOTFOUND);
    CHECK_EQ_INT(hf_meta_blob_refs(f.m, &b4), 0);
    fx_close(&f);
}

TEST(delete_many)
{
    fx_t f;
    fx_open(&f);
    unsigned b[] = {7};
    CHECK_EQ_INT(put_inline(f.m, &f.b, "a", "1"), HF_OK);
    CHECK_EQ_INT(put_blobs(f.m, &f.b, "b", b, 1), HF_OK);
    hf_del_item_t items[4] = {{.key = HF_STR("a")}, {.key = HF_STR("missing")}, {.key = HF_STR("b")},
                              {.key = {"x\0y", 3}}};
    for (int i = 0; i < 4; i++)
        items[i].rc = 99;
    CHECK_EQ_INT(hf_meta_obj_delete_many(f.m, &f.b, items, 4, 0, 1), HF_OK);
    CHECK_EQ_INT(items[0].rc, HF_OK);
    CHECK_EQ_INT(items[1].rc, HF_E_NOTFOUND);
    CHECK_EQ_INT(items[2].rc, HF_OK);
    CHECK_EQ_INT(items[3].rc, HF_E_INVAL);
    hf_obj_t g;
    CHECK_EQ_INT(hf_meta_obj_get(f.m, f.b.id, "a", 1, NULL, &f.a, &g), HF_E_NOTFOUND);
    CHECK_EQ_INT(hf_meta_obj_get(f.m, f.b.id, "b", 1, NULL, &f.a, &g), HF_E_NOTFOUND);
    hf_blob_id_t b7 = blob(7);
    CHECK(released(&b7));
    CHECK_EQ_INT(hf_meta_obj_delete_many(f.m, &f.b, items, HF_DELETE_OBJECTS_MAX + 1, 0, 1), HF_E_TOOBIG);
    fx_close(&f);
}

/* An object's ACL bytes are stored, read back, replaced in place and
 * removed; a bucket's flags change together with a setting. */
TEST(acl_and_bucket_update)
{
    fx_t f;
    fx_open(&f);
    hf_obj_t o;
    inline_obj(&o, "x", f.uid);
    o.acl = (const uint8_t *)"\x01\x02" "acl";
    o.acl_len = 5;
    CHECK_EQ_INT(hf_meta_obj_put(f.m, &f.b, "k", 1, &o, NULL), HF_OK);
    hf_obj_t g;
    CHECK_EQ_INT(hf_meta_obj_get(f.m, f.b.id, "k", 1, NULL, &f.a, &g), HF_OK);
    CHECK(g.acl_len == 5 && memcmp(g.acl, "\x01\x02" "acl", 5) == 0);
    hf_obj_update_t u = {.set_acl = true, .acl = (const uint8_t *)"new", .acl_len = 3};
    CHECK_EQ_INT(hf_meta_obj_update(f.m, &f.b, "k", 1, NULL, &u, NULL), HF_OK);
    CHECK_EQ_INT(hf_meta_obj_get(f.m, f.b.id, "k", 1, NULL, &f.a, &g), HF_OK);
    CHECK(g.acl_len == 3 && memcmp(g.acl, "new", 3) == 0);
    u.acl_len = HF_OBJ_ACL_MAX + 1;
    CHECK_EQ_INT(hf_meta_obj_update(f.m, &f.b, "k", 1, NULL, &u, NULL), HF_E_TOOBIG);
    u.acl_len = 0;
    CHECK_EQ_INT(hf_meta_obj_update(f.m, &f.b, "k", 1, NULL, &u, NULL), HF_OK);
    CHECK_EQ_INT(hf_meta_obj_get(f.m, f.b.id, "k", 1, NULL, &f.a, &g), HF_OK);
    CHECK(g.acl_len == 0 && g.acl == NULL);

    CHECK_EQ_INT(hf_meta_bucket_update(f.m, &f.b, 0, HF_BUCKET_HAS_POLICY, HF_BCFG_POLICY, "{}", 2), HF_OK);
    CHECK(f.b.flags & HF_BUCKET_HAS_POLICY);
    hf_bucket_t rb;
    CHECK_EQ_INT(hf_meta_bucket_get(f.m, "bucket", &rb), HF_OK);
    CHECK(rb.flags & HF_BUCKET_HAS_POLICY);
    const uint8_t *d;
    size_t n;
    CHECK_EQ_INT(hf_meta_bucket_cfg_get(f.m, f.b.id, HF_BCFG_POLICY, &f.a, &d, &n), HF_OK);
    CHECK(n == 2 && memcmp(d, "{}", 2) == 0);
    CHECK_EQ_INT(hf_meta_bucket_update(f.m, &f.b, HF_BUCKET_HAS_POLICY, 0, HF_BCFG_POLICY, NULL, 0), HF_OK);
    CHECK(!(f.b.flags & HF_BUCKET_HAS_POLICY));
    CHECK_EQ_INT(hf_meta_bucket_cfg_get(f.m, f.b.id, HF_BCFG_POLICY, &f.a, &d, &n), HF_E_NOTFOUND);
    /* flags alone */
    CHECK_EQ_INT(hf_meta_bucket_update(f.m, &f.b, 0, HF_BUCKET_PAB_ALL, 0, NULL, 0), HF_OK);
    CHECK_EQ_INT(hf_meta_bucket_get(f.m, "bucket", &rb), HF_OK);
    CHECK((rb.flags & HF_BUCKET_PAB_ALL) == HF_BUCKET_PAB_ALL);
    hf_bucket_t gone = f.b;
    gone.id = 999999;
    CHECK_EQ_INT(hf_meta_bucket_update(f.m, &gone, 0, HF_BUCKET_PAB, 0, NULL, 0), HF_E_NOTFOUND);
    fx_close(&f);
}

/* Two writes whose clock values were drawn in one order and committed in
 * the other: the one committed last is current and newer than the one it
 * replaced (its clock value is re-stamped). */
TEST(late_commit_stays_newest)
{
    fx_t f;
    fx_open(&f);
    CHECK_EQ_INT(hf_meta_bucket_versioning(f.m, &f.b, true), HF_OK);
    uint64_t early = hf_meta_hlc_next(f.m), late = hf_meta_hlc_next(f.m);
    CHECK(early < late);
    const char *data[2] = {"late", "early"};
    uint64_t hlcs[2] = {late, early};
    uint8_t ids[2][16];
    for (int i = 0; i < 2; i++) {
        hf_obj_t o;
        inline_obj(&o, data[i], f.uid);
        o.hlc = hlcs[i];
        o.origin = hf_meta_node_id(f.m);
        CHECK_EQ_INT(hf_meta_obj_put(f.m, &f.b, "k", 1, &o, NULL), HF_OK);
        memcpy(ids[i], o.version, 16);
    }
    hf_obj_t g;
    CHECK_EQ_INT(hf_meta_obj_get(f.m, f.b.id, "k", 1, NULL, &f.a, &g), HF_OK);
    CHECK(memcmp(g.version, ids[1], 16) == 0);
    CHECK(g.hlc > late);
    CHECK(memcmp(ids[1], ids[0], 16) > 0); /* version ids sort as the commits did */
    /* The delete marker that follows is newer still. */
    hf_del_res_t res;
    CHECK_EQ_INT(hf_meta_obj_delete(f.m, &f.b, "k", 1, NULL, 0, f.uid, &res), HF_OK);
    CHECK(res.marker);
    CHECK(memcmp(res.version, ids[1], 16) > 0);
    fx_close(&f);
}

/* Conditional deletes: the ETag of the current version must match; a key
 * without a current object is HF_E_NOTFOUND with no_current set. */
TEST(delete_if_match)
{
    fx_t f;
    fx_open(&f);
    CHECK_EQ_INT(put_inline(f.m, &f.b, "a", "1"), HF_OK);
    CHECK_EQ_INT(put_inline(f.m, &f.b, "b", "2"), HF_OK);
    hf_obj_t g;
    CHECK_EQ_INT(hf_meta_obj_get(f.m, f.b.id, "a", 1, NULL, &f.a, &g), HF_OK);
    hf_obj_cond_t right = {.if_match = true, .etag_parts = g.etag_parts};
    memcpy(right.etag, g.etag, 16);
    hf_obj_cond_t wrong = right;
    wrong.etag[0] ^= 1;
    hf_obj_cond_t any = {.if_match = true, .if_match_any = true};
    hf_del_item_t items[4] = {{.key = HF_STR("a"), .cond = &wrong}, {.key = HF_STR("b"), .cond = &right},
                              {.key = HF_STR("missing"), .cond = &any}, {.key = HF_STR("missing")}};
    CHECK_EQ_INT(hf_meta_obj_delete_many(f.m, &f.b, items, 4, 0, 1), HF_OK);
    CHECK_EQ_INT(items[0].rc, HF_E_PRECONDITION);
    CHECK_EQ_INT(items[1].rc, HF_E_PRECONDITION); /* b's ETag is not a's */
    CHECK_EQ_INT(items[2].rc, HF_E_NOTFOUND);
    CHECK(items[2].res.no_current);
    CHECK_EQ_INT(items[3].rc, HF_E_NOTFOUND);
    CHECK(!items[3].res.no_current);
    CHECK_EQ_INT(hf_meta_obj_get(f.m, f.b.id, "a", 1, NULL, &f.a, &g), HF_OK);
    CHECK_EQ_INT(hf_meta_obj_get(f.m, f.b.id, "b", 1, NULL, &f.a, &g), HF_OK);
    hf_del_item_t ok[2] = {{.key = HF_STR("a"), .cond = &right}, {.key = HF_STR("b"), .cond = &any}};
    CHECK_EQ_INT(hf_meta_obj_delete_many(f.m, &f.b, ok, 2, 0, 1), HF_OK);
    CHECK_EQ_INT(ok[0].rc, HF_OK);
    CHECK_EQ_INT(ok[1].rc, HF_OK);
    CHECK_EQ_INT(hf_meta_obj_get(f.m, f.b.id, "a", 1, NULL, &f.a, &g), HF_E_NOTFOUND);
    CHECK_EQ_INT(hf_meta_obj_get(f.m, f.b.id, "b", 1, NULL, &f.a, &g), HF_E_NOTFOUND);
    fx_close(&f);
}

/* ---- listing -------------------------------------------------------------------- */

/* The specification of a listing, written the slow obvious way. */
typedef struct model_res {
    const char *ents[4096];
    size_t nents;
    char pfx[4096][1100];
    size_t npfx;
    bool truncated;
} model_res_t;

static int str_cmp(const char *a, size_t an, const char *b, size_t bn)
{
    size_t n = an < bn ? an : bn;
    int c = memcmp(a, b, n);
    if (c)
        return c;
    return an < bn ? -1 : an > bn;
}

static void model_list(const char **keys, size_t nkeys, const char *prefix, const char *sa,
                       const char *delim, uint32_t max, model_res_t *r)
{
    r->nents = r->npfx = 0;
    r->truncated = false;
    if (max == 0)
        return;
    size_t pl = strlen(prefix), sl = strlen(sa), dl = strlen(delim);
    uint32_t count = 0;
    for (size_t i = 0; i < nkeys; i++) {
        const char *k = keys[i];
        size_t kl = strlen(k);
        if (kl < pl || memcmp(k, prefix, pl) != 0)
            continue;
        if (sl && str_cmp(k, kl, sa, sl) <= 0)
            continue;
        if (dl) {
            const char *d = memmem(k + pl, kl - pl, delim, dl);
            if (d) {
                size_t cl = (size_t)(d - k) + dl;
                if (sl && str_cmp(k, cl, sa, sl) <= 0)
                    continue;
                if (r->npfx && strlen(r->pfx[r->npfx - 1]) == cl &&
                    memcmp(r->pfx[r->npfx - 1], k, cl) == 0)
                    continue;
                if (count == max) {
                    r->truncated = true;
                    return;
                }
                memcpy(r->pfx[r->npfx], k, cl);
                r->pfx[r->npfx][cl] = 0;
                r->npfx++;
                count++;
                continue;
            }
        }
        if (count == max) {
            r->truncated = true;
            return;
        }
        r->ents[r->nents++] = k;
        count++;
    }
}

static int cmp_cstr(const void *a, const void *b)
{
    const char *x = *(const char *const *)a, *y = *(const char *const *)b;
    return str_cmp(x, strlen(x), y, strlen(y));
}

/* Put keys from several threads so the test is not one fsync per key. */
typedef struct put_job {
    hf_meta_t *m;
    const hf_bucket_t *b;
    const char **keys;
    size_t from, to;
    int rc;
} put_job_t;

static void *put_worker(void *arg)
{
    put_job_t *j = arg;
    for (size_t i = j->from; i < j->to && j->rc == HF_OK; i++)
        j->rc = put_inline(j->m, j->b, j->keys[i], j->keys[i]);
    return NULL;
}

static int put_keys(hf_meta_t *m, const hf_bucket_t *b, const char **keys, size_t n)
{
    enum { T = 8 };
    pthread_t th[T];
    put_job_t jobs[T];
    for (int t = 0; t < T; t++) {
        jobs[t] = (put_job_t){m, b, keys, n * (size_t)t / T, n * (size_t)(t + 1) / T, HF_OK};
        pthread_create(&th[t], NULL, put_worker, &jobs[t]);
    }
    int rc = HF_OK;
    for (int t = 0; t < T; t++) {
        pthread_join(th[t], NULL);
        if (jobs[t].rc)
            rc = jobs[t].rc;
    }
    return rc;
}

static char *repeat(char c, size_t n, const char *tail)
{
    size_t tl = strlen(tail);
    char *s = malloc(n + tl + 1);
    memset(s, c, n);
    memcpy(s + n, tail, tl + 1);
    return s;
}

static model_res_t mr;

static void check_list(fx_t *f, const char **keys, size_t n, const char *prefix, const char *sa,
                       const char *delim, uint32_t max)
{
    hf_list_req_t rq = {.bucket_id = f->b.id,
                        .prefix = {prefix, strlen(prefix)},
                        .start_after = {sa, strlen(sa)},
                        .delimiter = {delim, strlen(delim)},
                        .max_keys = max};
    hf_list_res_t res;
    hf_arena_reset(&f->a);
    int rc = hf_meta_obj_list(f->m, &rq, &f->a, &res);
    if (rc != HF_OK)
        hf_test_fail(__FILE__, __LINE__, "list(%.20s, %.20s, %s, %u): %d", prefix, sa, delim, max, rc);
    model_list(keys, n, prefix, sa, delim, max, &mr);
    bool same = res.nentries == mr.nents && res.nprefixes == mr.npfx && res.truncated == mr.truncated;
    for (size_t i = 0; same && i < mr.nents; i++)
        same = res.entries[i].key.n == strlen(mr.ents[i]) &&
               memcmp(res.entries[i].key.p, mr.ents[i], res.entries[i].key.n) == 0;
    for (size_t i = 0; same && i < mr.npfx; i++)
        same = res.prefixes[i].n == strlen(mr.pfx[i]) &&
               memcmp(res.prefixes[i].p, mr.pfx[i], res.prefixes[i].n) == 0;
    if (!same)
        hf_test_fail(__FILE__, __LINE__,
                     "list(prefix=%.30s sa=%.30s delim=%s max=%u): got %u+%u trunc %d, want %zu+%zu trunc %d",
                     prefix, sa, delim, max, res.nentries, res.nprefixes, res.truncated, mr.nents,
                     mr.npfx, mr.truncated);
    /* last is the greatest item returned */
    if (res.nentries + res.nprefixes) {
        hf_str_t le = res.nentries ? res.entries[res.nentries - 1].key : (hf_str_t){"", 0};
        hf_str_t lp = res.nprefixes ? res.prefixes[res.nprefixes - 1] : (hf_str_t){"", 0};
        hf_str_t want = str_cmp(le.p, le.n, lp.p, lp.n) > 0 ? le : lp;
        CHECK(res.last.n == want.n && memcmp(res.last.p, want.p, want.n) == 0);
    }
}

/* Page through with start_after = last; the concatenation must be the
 * unpaged listing, with no duplicate and no gap. */
static void check_paging(fx_t *f, const char **keys, size_t n, const char *prefix, const char *delim,
                         uint32_t page)
{
    static model_res_t all;
    model_list(keys, n, prefix, "", delim, 100000, &all);
    size_t ei = 0, pi = 0;
    char sa[1100] = "";
    size_t sal = 0;
    for (int guard = 0; guard < 100000; guard++) {
        hf_list_req_t rq = {.bucket_id = f->b.id,
                            .prefix = {prefix, strlen(prefix)},
                            .start_after = {sa, sal},
                            .delimiter = {delim, strlen(delim)},
                            .max_keys = page};
        hf_list_res_t res;
        hf_arena_reset(&f->a);
        CHECK_EQ_INT(hf_meta_obj_list(f->m, &rq, &f->a, &res), HF_OK);
        CHECK(res.nentries + res.nprefixes <= page);
        for (uint32_t i = 0; i < res.nentries; i++, ei++) {
            CHECK(ei < all.nents);
            CHECK(res.entries[i].key.n == strlen(all.ents[ei]) &&
                  memcmp(res.entries[i].key.p, all.ents[ei], res.entries[i].key.n) == 0);
        }
        for (uint32_t i = 0; i < res.nprefixes; i++, pi++) {
            CHECK(pi < all.npfx);
            CHECK(res.prefixes[i].n == strlen(all.pfx[pi]) &&
                  memcmp(res.prefixes[i].p, all.pfx[pi], res.prefixes[i].n) == 0);
        }
        if (!res.truncated)
            break;
        CHECK(res.last.n > 0 && res.last.n < sizeof sa);
        memcpy(sa, res.last.p, res.last.n);
        sal = res.last.n;
    }
    CHECK_EQ_INT(ei, all.nents);
    CHECK_EQ_INT(pi, all.npfx);
}

TEST(listing_matches_model)
{
    fx_t f;
    fx_open(&f);
    char *l470 = repeat('x', 470, ""), *l469 = repeat('x', 469, "/z");
    char *la = repeat('x', 470, "/a"), *lb = repeat('x', 470, "/b/c"), *lc = repeat('x', 470, "/b/d");
    char *ld = repeat('x', 470, "a"), *le = repeat('x', 1024, ""), *lf = repeat('x', 600, "/q");
    char *lg = repeat('x', 471, ""), *lh = repeat('y', 500, "/1"), *li = repeat('x', 470, "/b");
    const char *keys[] = {
        "a", "a/b", "a/b/c", "a/b/d", "a/c", "a-b", "a0", "b/", "b//c", "b//d", "bb",
        "photos/2024/jan/1.jpg", "photos/2024/jan/2.jpg", "photos/2024/feb/1.jpg", "photos/2023/x",
        "photos/readme", "with space", "plus+sign", "percent%20", "\x01" "ctl", "tab\there",
        "caf\xc3\xa9/menu", "\xe6\x97\xa5\xe6\x9c\xac/\xe8\xaa\x9e", "\xf0\x9f\x98\x80/a",
        "\xf0\x9f\x98\x80/b", "\x7f", "z/z/z/z", "~tilde",
        l470, l469, la, lb, lc, ld, le, lf, lg, lh, li,
    };
    size_t n = sizeof keys / sizeof keys[0];
    CHECK_EQ_INT(put_keys(f.m, &f.b, keys, n), HF_OK);
    /* a neighbouring bucket must never show up */
    hf_bucket_t other;
    CHECK_EQ_INT(mkbucket(f.m, "other", f.uid, &other), HF_OK);
    CHECK_EQ_INT(put_inline(f.m, &other, "a/zzz", "x"), HF_OK);
    CHECK_EQ_INT(put_inline(f.m, &other, "0", "x"), HF_OK);
    qsort(keys, n, sizeof keys[0], cmp_cstr);

    /* every long key reads back */
    hf_obj_t g;
    CHECK_EQ_INT(hf_meta_obj_get(f.m, f.b.id, le, 1024, NULL, &f.a, &g), HF_OK);
    CHECK_EQ_INT(g.size, 1024);
    CHECK(memcmp(g.inline_data, le, 1024) == 0);
    CHECK_EQ_INT(hf_meta_obj_get(f.m, f.b.id, lb, strlen(lb), NULL, &f.a, &g), HF_OK);
    CHECK(memcmp(g.inline_data, lb, strlen(lb)) == 0);
    char *nokey = repeat('x', 470, "/nope");
    CHECK_EQ_INT(hf_meta_obj_get(f.m, f.b.id, nokey, strlen(nokey), NULL, &f.a, &g), HF_E_NOTFOUND);

    char *pl = repeat('x', 470, ""), *pl2 = repeat('x', 470, "/"), *pl3 = repeat('x', 470, "/b");
    /* Parameters longer than any key: a prefix that matches nothing, a
     * marker just above the 1024-byte key le, a delimiter in no key. */
    char *plong = repeat('x', 1100, ""), *salong = repeat('x', 1024, "y"), *sawide = repeat('w', 1500, "");
    char *dlong = repeat('/', 1100, "");
    const char *prefixes[] = {"", "a", "a/", "a/b", "b", "b/", "photos/", "photos/2024/",
                              "\xf0\x9f\x98\x80", "xxxx", pl, pl2, pl3, "zzz", "\x01", plong};
    const char *delims[] = {"", "/", "b", "//", "xx", "/b/", "\xf0\x9f\x98\x80", dlong};
    const char *sas[] = {"", "a", "a/", "a/b", "a/b/c", "a/b/zzz", "a0", "b/", "photos/2024/",
                         "photos/2024/jan/1.jpg", "0", "zzzz", la, pl, pl2, ld, "\xff", salong, sawide};
    const uint32_t maxes[] = {0, 1, 2, 3, 5, 1000, 5000};
    for (size_t pi = 0; pi < sizeof prefixes / sizeof *prefixes; pi++)
        for (size_t di = 0; di < sizeof delims / sizeof *delims; di++)
            for (size_t si = 0; si < sizeof sas / sizeof *sas; si++)
                for (size_t mi = 0; mi < sizeof maxes / sizeof *maxes; mi++)
                    check_list(&f, keys, n, prefixes[pi], sas[si], delims[di], maxes[mi]);
    for (size_t pi = 0; pi < sizeof prefixes / sizeof *prefixes; pi++)
        for (size_t di = 0; di < sizeof delims / sizeof *delims; di++)
            for (uint32_t page = 1; page <= 4; page++)
                check_paging(&f, keys, n, prefixes[pi], delims[di], page);

    /* spot checks, so a shared mistake of model and code still shows */
    hf_list_req_t rq = {.bucket_id = f.b.id, .prefix = HF_STR("photos/"), .delimiter = HF_STR("/"),
                        .max_keys = 1000};
    hf_list_res_t res;
    CHECK_EQ_INT(hf_meta_obj_list(f.m, &rq, &f.a, &res), HF_OK);
    CHECK_EQ_INT(res.nentries, 1);
    CHECK(hf_str_eq(res.entries[0].key, "photos/readme"));
    CHECK_EQ_INT(res.entries[0].size, 13);
    CHECK_EQ_INT(res.entries[0].owner, f.uid);
    CHECK_EQ_INT(res.entries[0].flags, HF_OBJ_INLINE);
    CHECK_EQ_INT(res.nprefixes, 2);
    CHECK(hf_str_eq(res.prefixes[0], "photos/2023/"));
    CHECK(hf_str_eq(res.prefixes[1], "photos/2024/"));
    CHECK(!res.truncated);
    /* start_after equal to a common prefix resumes after it */
    rq.start_after = HF_STR("photos/2023/");
    CHECK_EQ_INT(hf_meta_obj_list(f.m, &rq, &f.a, &res), HF_OK);
    CHECK_EQ_INT(res.nprefixes, 1);
    CHECK(hf_str_eq(res.prefixes[0], "photos/2024/"));
    /* ...and inside one skips the rest of it */
    rq.start_after = HF_STR("photos/2024/feb/1.jpg");
    CHECK_EQ_INT(hf_meta_obj_list(f.m, &rq, &f.a, &res), HF_OK);
    CHECK_EQ_INT(res.nprefixes, 0);
    CHECK_EQ_INT(res.nentries, 1);
    /* two levels */
    rq.prefix = HF_STR("photos/2024/");
    rq.start_after = (hf_str_t){NULL, 0};
    CHECK_EQ_INT(hf_meta_obj_list(f.m, &rq, &f.a, &res), HF_OK);
    CHECK_EQ_INT(res.nprefixes, 2);
    CHECK(hf_str_eq(res.prefixes[0], "photos/2024/feb/"));
    CHECK(hf_str_eq(res.prefixes[1], "photos/2024/jan/"));
    /* truncation at exactly max */
    rq.max_keys = 2;
    CHECK_EQ_INT(hf_meta_obj_list(f.m, &rq, &f.a, &res), HF_OK);
    CHECK(!res.truncated);
    rq.max_keys = 1;
    CHECK_EQ_INT(hf_meta_obj_list(f.m, &rq, &f.a, &res), HF_OK);
    CHECK(res.truncated);
    CHECK(hf_str_eq(res.last, "photos/2024/feb/"));
    rq.max_keys = 0;
    CHECK_EQ_INT(hf_meta_obj_list(f.m, &rq, &f.a, &res), HF_OK);
    CHECK_EQ_INT(res.nentries + res.nprefixes, 0);
    CHECK(!res.truncated);

    free(l470), free(l469), free(la), free(lb), free(lc), free(ld), free(le), free(lf), free(lg);
    free(lh), free(li), free(nokey), free(pl), free(pl2), free(pl3);
    free(plong), free(salong), free(sawide), free(dlong);
    fx_close(&f);
}

TEST(listing_pages_2500_keys)
{
    fx_t f;
    fx_open(&f);
    enum { N = 2500 };
    static char buf[N][16];
    static const char *keys[N];
    for (int i = 0; i < N; i++) {
        snprintf(buf[i], sizeof buf[i], "k/%05d", (i * 7919) % N); /* put out of order */
        keys[i] = buf[i];
    }
    CHECK_EQ_INT(put_keys(f.m, &f.b, keys, N), HF_OK);
    hf_list_req_t rq = {.bucket_id = f.b.id, .max_keys = 1000};
    char sa[16] = "";
    int next = 0, pages = 0;
    for (;;) {
        rq.start_after = (hf_str_t){sa, strlen(sa)};
        hf_list_res_t res;
        hf_arena_reset(&f.a);
        CHECK_EQ_INT(hf_meta_obj_list(f.m, &rq, &f.a, &res), HF_OK);
        pages++;
        for (uint32_t i = 0; i < res.nentries; i++) {
            char want[16];
            snprintf(want, sizeof want, "k/%05d", next++);
            CHECK(hf_str_eq(res.entries[i].key, want));
            CHECK_EQ_INT(res.entries[i].size, 7);
        }
        if (!res.truncated)
            break;
        CHECK_EQ_INT(res.nentries, 1000);
        memcpy(sa, res.last.p, res.last.n);
        sa[res.last.n] = 0;
    }
    CHECK_EQ_INT(next, N);
    CHECK_EQ_INT(pages, 3);
    /* max_keys above the page limit is clamped */
    rq.start_after = (hf_str_t){NULL, 0};
    rq.max_keys = 100000;
    hf_list_res_t res;
    CHECK_EQ_INT(hf_meta_obj_list(f.m, &rq, &f.a, &res), HF_OK);
    CHECK_EQ_INT(res.nentries, HF_LIST_PAGE_MAX);
    CHECK(res.truncated);
    /* the delimiter rolls all 2500 into one prefix */
    rq.delimiter = HF_STR("/");
    CHECK_EQ_INT(hf_meta_obj_list(f.m, &rq, &f.a, &res), HF_OK);
    CHECK_EQ_INT(res.nentries, 0);
    CHECK_EQ_INT(res.nprefixes, 1);
    CHECK(hf_str_eq(res.prefixes[0], "k/"));
    CHECK(!res.truncated);
    fx_close(&f);
}

/* ---- uploads ---------------------------------------------------------------------- */

static hf_part_t mkpart(uint32_t number, unsigned blobn, uint64_t size)
{
    hf_part_t p;
    memset(&p, 0, sizeof p);
    p.number = number;
    p.blob = blob(blobn);
    p.size = size;
    memset(p.etag, (int)number, 16);
    p.mtime = 5000 + number;
    return p;
}

TEST(multipart_lifecycle)
{
    fx_t f;
    fx_open(&f);
    hf_upload_t u;
    memset(&u, 0, sizeof u);
    u.owner = f.uid;
    u.initiated = 777;
    u.tmpl.content_type = "video/mp4";
    hf_kv_t meta[2] = {{"b", "2"}, {"a", "1"}};
    u.tmpl.meta = meta;
    u.tmpl.nmeta = 2;
    int64_t before = hf_time_now();
    CHECK_EQ_INT(hf_meta_upload_create(f.m, &f.b, "movie", 5, &u), HF_OK);
    uint64_t idtime = 0;
    for (int i = 0; i < 8; i++)
        idtime = idtime << 8 | u.id[i];
    CHECK((int64_t)idtime >= before && (int64_t)idtime <= hf_time_now());

    hf_upload_t g;
    CHECK_EQ_INT(hf_meta_upload_get(f.m, f.b.id, "movie", 5, u.id, &f.a, &g), HF_OK);
    CHECK(hf_str_eq(g.key, "movie"));
    CHECK_EQ_MEM(g.id, u.id, 16);
    CHECK_EQ_INT(g.initiated, 777);
    CHECK_EQ_INT(g.owner, f.uid);
    CHECK_EQ_STR(g.tmpl.content_type, "video/mp4");
    CHECK_EQ_INT(g.tmpl.nmeta, 2);
    CHECK_EQ_STR(g.tmpl.meta[0].name, "a");
    CHECK_EQ_INT(hf_meta_upload_get(f.m, f.b.id, "movi", 4, u.id, &f.a, &g), HF_E_NOTFOUND);
    uint8_t bad[16];
    memcpy(bad, u.id, 16);
    bad[15] ^= 1;
    CHECK_EQ_INT(hf_meta_upload_get(f.m, f.b.id, "movie", 5, bad, &f.a, &g), HF_E_NOTFOUND);

    /* parts 1..5; part 3 uploaded twice: its first blob goes */
    for (uint32_t i = 1; i <= 5; i++) {
        hf_part_t p = mkpart(i, 10 + i, 100 * i);
        CHECK_EQ_INT(hf_meta_part_put(f.m, f.b.id, "movie", 5, u.id, &p), HF_OK);
    }
    hf_blob_id_t b13 = blob(13), b33 = blob(33);
    CHECK_EQ_INT(hf_meta_blob_refs(f.m, &b13), 1);
    hf_part_t p3 = mkpart(3, 33, 333);
    CHECK_EQ_INT(hf_meta_part_put(f.m, f.b.id, "movie", 5, u.id, &p3), HF_OK);
    CHECK_EQ_INT(hf_meta_blob_refs(f.m, &b13), 0);
    CHECK_EQ_INT(hf_meta_blob_refs(f.m, &b33), 1);
    CHECK_EQ_INT(rel_n(), 1);
    CHECK_EQ_MEM(rl.ids[0].b, b13.b, 16);
    CHECK_EQ_INT(rl.sizes[0], 300);
    /* bad part numbers, unknown upload */
    hf_part_t p0 = mkpart(0, 99, 1);
    CHECK_EQ_INT(hf_meta_part_put(f.m, f.b.id, "movie", 5, u.id, &p0), HF_E_INVAL);
    p0.number = HF_PART_NUMBER_MAX + 1;
    CHECK_EQ_INT(hf_meta_part_put(f.m, f.b.id, "movie", 5, u.id, &p0), HF_E_INVAL);
    p0.number = 1;
    CHECK_EQ_INT(hf_meta_part_put(f.m, f.b.id, "movie", 5, bad, &p0), HF_E_NOTFOUND);
    hf_blob_id_t b99 = blob(99);
    CHECK_EQ_INT(hf_meta_blob_refs(f.m, &b99), 0);

    /* part list paging */
    hf_part_t *parts;
    uint32_t n;
    bool trunc;
    CHECK_EQ_INT(hf_meta_part_list(f.m, u.id, 0, 2, &f.a, &parts, &n, &trunc), HF_OK);
    CHECK_EQ_INT(n, 2);
    CHECK(trunc);
    CHECK_EQ_INT(parts[0].number, 1);
    CHECK_EQ_INT(parts[1].number, 2);
    CHECK_EQ_INT(parts[1].size, 200);
    CHECK_EQ_INT(parts[1].mtime, 5002);
    CHECK_EQ_MEM(parts[1].blob.b, blob(12).b, 16);
    CHECK_EQ_INT(hf_meta_part_list(f.m, u.id, 2, 2, &f.a, &parts, &n, &trunc), HF_OK);
    CHECK_EQ_INT(n, 2);
    CHECK(trunc);
    CHECK_EQ_INT(parts[0].number, 3);
    CHECK_EQ_INT(parts[0].size, 333);
    CHECK_EQ_INT(hf_meta_part_list(f.m, u.id, 4, 2, &f.a, &parts, &n, &trunc), HF_OK);
    CHECK_EQ_INT(n, 1);
    CHECK(!trunc);
    CHECK_EQ_INT(parts[0].number, 5);
    CHECK_EQ_INT(hf_meta_part_list(f.m, u.id, 5, 2, &f.a, &parts, &n, &trunc), HF_OK);
    CHECK_EQ_INT(n, 0);
    CHECK(!trunc);
    CHECK_EQ_INT(hf_meta_part_list(f.m, u.id, 0, 5, &f.a, &parts, &n, &trunc), HF_OK);
    CHECK_EQ_INT(n, 5);
    CHECK(!trunc);

    /* complete with parts 1, 3 (the caller read it before a re-upload), 4 */
    hf_obj_part_t op[3];
    memset(op, 0, sizeof op);
    uint32_t use[3] = {1, 3, 4};
    hf_obj_t o;
    memset(&o, 0, sizeof o);
    for (int i = 0; i < 3; i++) {
        op[i].number = use[i];
        op[i].blob = blob(10 + use[i]);
        op[i].size = 100 * use[i];
        o.size += op[i].size;
    }
    op[1].blob = blob(13); /* stale: part 3 is blob 33 now */
    o.flags = HF_OBJ_MULTIPART;
    o.etag_parts = 3;
    o.parts = op;
    o.nparts = 3;
    o.owner = f.uid;
    o.content_type = "video/mp4";
    CHECK_EQ_INT(hf_meta_upload_complete(f.m, &f.b, "movie", 5, u.id, &o, NULL), HF_E_CONFLICT);
    /* nothing changed */
    CHECK_EQ_INT(hf_meta_upload_get(f.m, f.b.id, "movie", 5, u.id, &f.a, &g), HF_OK);
    CHECK_EQ_INT(hf_meta_blob_refs(f.m, &b33), 1);
    /* a part that was never uploaded */
    op[1].blob = blob(33);
    op[1].size = 333;
    o.size = 100 + 333 + 400;
    op[2].number = 6;
    CHECK_EQ_INT(hf_meta_upload_complete(f.m, &f.b, "movie", 5, u.id, &o, NULL), HF_E_CONFLICT);
    op[2].number = 4;
    /* out of order */
    hf_obj_part_t sw = op[0];
    op[0] = op[1];
    op[1] = sw;
    CHECK_EQ_INT(hf_meta_upload_complete(f.m, &f.b, "movie", 5, u.id, &o, NULL), HF_E_INVAL);
    op[1] = op[0];
    op[0] = sw;

    /* an older object at the key: its blob is released by the completion */
    unsigned oldb[] = {50};
    CHECK_EQ_INT(put_blobs(f.m, &f.b, "movie", oldb, 1), HF_OK);
    rel_reset();
    CHECK_EQ_INT(hf_meta_upload_complete(f.m, &f.b, "movie", 5, u.id, &o, NULL), HF_OK);
    /* listed parts keep their single reference (now the object's) */
    hf_blob_id_t b11 = blob(11), b12 = blob(12), b14 = blob(14), b15 = blob(15), b50 = blob(50);
    CHECK_EQ_INT(hf_meta_blob_refs(f.m, &b11), 1);
    CHECK_EQ_INT(hf_meta_blob_refs(f.m, &b33), 1);
    CHECK_EQ_INT(hf_meta_blob_refs(f.m, &b14), 1);
    /* unlisted parts 2 and 5 and the old object's blob are released */
    CHECK_EQ_INT(hf_meta_blob_refs(f.m, &b12), 0);
    CHECK_EQ_INT(hf_meta_blob_refs(f.m, &b15), 0);
    CHECK_EQ_INT(rel_n(), 3);
    CHECK(released(&b12) && released(&b15) && released(&b50));
    CHECK(!released(&b11) && !released(&b33) && !released(&b14));
    CHECK_EQ_INT(rl.still_referenced, 0);
    hf_obj_t got;
    CHECK_EQ_INT(hf_meta_obj_get(f.m, f.b.id, "movie", 5, NULL, &f.a, &got), HF_OK);
    CHECK_EQ_INT(got.flags, HF_OBJ_MULTIPART);
    CHECK_EQ_INT(got.nparts, 3);
    CHECK_EQ_INT(got.size, 833);
    CHECK_EQ_MEM(got.parts[1].blob.b, b33.b, 16);
    CHECK_EQ_INT(got.parts[2].number, 4);
    CHECK_EQ_STR(got.content_type, "video/mp4");
    /* the upload and its parts are gone */
    CHECK_EQ_INT(hf_meta_upload_get(f.m, f.b.id, "movie", 5, u.id, &f.a, &g), HF_E_NOTFOUND);
    CHECK_EQ_INT(hf_meta_part_list(f.m, u.id, 0, 100, &f.a, &parts, &n, &trunc), HF_OK);
    CHECK_EQ_INT(n, 0);
    CHECK_EQ_INT(hf_meta_upload_complete(f.m, &f.b, "movie", 5, u.id, &o, NULL), HF_E_NOTFOUND);
    hf_part_t late = mkpart(7, 77, 1);
    CHECK_EQ_INT(hf_meta_part_put(f.m, f.b.id, "movie", 5, u.id, &late), HF_E_NOTFOUND);
    hf_blob_id_t b77 = blob(77);
    CHECK_EQ_INT(hf_meta_blob_refs(f.m, &b77), 0);

    /* deleting the object releases the moved references */
    rel_reset();
    CHECK_EQ_INT(hf_meta_obj_delete(f.m, &f.b, "movie", 5, NULL, 0, 1, NULL), HF_OK);
    CHECK_EQ_INT(rel_n(), 3);
    CHECK(released(&b11) && released(&b33) && released(&b14));
    fx_close(&f);
}

TEST(multipart_abort)
{
    fx_t f;
    fx_open(&f);
    hf_upload_t u;
    memset(&u, 0, sizeof u);
    CHECK_EQ_INT(hf_meta_upload_create(f.m, &f.b, "k", 1, &u), HF_OK);
    hf_part_t p1 = mkpart(1, 1, 10), p2 = mkpart(2, 2, 20);
    CHECK_EQ_INT(hf_meta_part_put(f.m, f.b.id, "k", 1, u.id, &p1), HF_OK);
    CHECK_EQ_INT(hf_meta_part_put(f.m, f.b.id, "k", 1, u.id, &p2), HF_OK);
    CHECK_EQ_INT(hf_meta_upload_abort(f.m, &f.b, "j", 1, u.id), HF_E_NOTFOUND);
    CHECK_EQ_INT(rel_n(), 0);
    CHECK_EQ_INT(hf_meta_upload_abort(f.m, &f.b, "k", 1, u.id), HF_OK);
    CHECK_EQ_INT(rel_n(), 2);
    hf_blob_id_t b1 = blob(1), b2 = blob(2);
    CHECK(released(&b1) && released(&b2));
    CHECK_EQ_INT(hf_meta_blob_refs(f.m, &b1), 0);
    CHECK_EQ_INT(hf_meta_upload_abort(f.m, &f.b, "k", 1, u.id), HF_E_NOTFOUND);
    hf_obj_t o;
    memset(&o, 0, sizeof o);
    CHECK_EQ_INT(hf_meta_upload_complete(f.m, &f.b, "k", 1, u.id, &o, NULL), HF_E_NOTFOUND);
    hf_upload_t g;
    CHECK_EQ_INT(hf_meta_upload_get(f.m, f.b.id, "k", 1, u.id, &f.a, &g), HF_E_NOTFOUND);
    fx_close(&f);
}

/* One part, completed with the done record: d gets the answer. */
static int complete_one(fx_t *f, const char *key, unsigned blobn, int64_t expires,
                        hf_upload_done_t *d, uint8_t id[16])
{
    hf_upload_t u;
    memset(&u, 0, sizeof u);
    int rc = hf_meta_upload_create(f->m, &f->b, key, strlen(key), &u);
    hf_part_t p = mkpart(1, blobn, 10);
    if (rc || (rc = hf_meta_part_put(f->m, f->b.id, key, strlen(key), u.id, &p)))
        return rc;
    hf_obj_part_t op = {.blob = blob(blobn), .size = 10, .number = 1};
    hf_obj_t o;
    memset(&o, 0, sizeof o);
    o.flags = HF_OBJ_MULTIPART;
    o.size = 10;
    o.etag_parts = 1;
    memset(o.etag, 0xe7, 16);
    o.ck_alg = HF_CK_CRC64NVME;
    o.ck_type = HF_CK_FULL_OBJECT;
    o.ck_len = 8;
    memset(o.ck, 0xcc, 8);
    o.parts = &op;
    o.nparts = 1;
    o.owner = f->uid;
    memset(d, 0, sizeof *d);
    memset(d->parts_digest, 0xd1, 32);
    d->expires = expires;
    memcpy(id, u.id, 16);
    return hf_meta_upload_complete_done(f->m, &f->b, key, strlen(key), u.id, &o, NULL, d);
}

TEST(multipart_done_remembered)
{
    fx_t f;
    fx_open(&f);
    int64_t now = hf_time_now(), hour = 3600LL * 1000000000;
    hf_upload_done_t d, g;
    uint8_t id[16];
    CHECK_EQ_INT(complete_one(&f, "movie", 1, now + hour, &d, id), HF_OK);
    /* the upload is gone, its answer is remembered */
    hf_upload_t u;
    CHECK_EQ_INT(hf_meta_upload_get(f.m, f.b.id, "movie", 5, id, &f.a, &u), HF_E_NOTFOUND);
    CHECK_EQ_INT(hf_meta_upload_done_get(f.m, f.b.id, "movie", 5, id, now, &g), HF_OK);
    hf_obj_t cur;
    CHECK_EQ_INT(hf_meta_obj_get(f.m, f.b.id, "movie", 5, NULL, &f.a, &cur), HF_OK);
    CHECK_EQ_MEM(g.version, cur.version, 16);
    CHECK_EQ_MEM(g.etag, cur.etag, 16);
    CHECK_EQ_INT(g.etag_parts, 1);
    CHECK_EQ_MEM(g.parts_digest, d.parts_digest, 32);
    CHECK_EQ_INT(g.ck_alg, HF_CK_CRC64NVME);
    CHECK_EQ_INT(g.ck_type, HF_CK_FULL_OBJECT);
    CHECK_EQ_INT(g.ck_len, 8);
    CHECK_EQ_MEM(g.ck, cur.ck, 8);
    CHECK_EQ_INT(g.expires, now + hour);
    CHECK(g.completed >= now);
    /* only for its own bucket and key, and only until it expires */
    CHECK_EQ_INT(hf_meta_upload_done_get(f.m, f.b.id, "movies", 6, id, now, &g), HF_E_NOTFOUND);
    CHECK_EQ_INT(hf_meta_upload_done_get(f.m, f.b.id, "movi", 4, id, now, &g), HF_E_NOTFOUND);
    CHECK_EQ_INT(hf_meta_upload_done_get(f.m, f.b.id + 1, "movie", 5, id, now, &g), HF_E_NOTFOUND);
    CHECK_EQ_INT(hf_meta_upload_done_get(f.m, f.b.id, "movie", 5, id, now + hour, &g), HF_E_NOTFOUND);
    uint8_t other[16];
    memset(other, 0x42, 16);
    CHECK_EQ_INT(hf_meta_upload_done_get(f.m, f.b.id, "movie", 5, other, now, &g), HF_E_NOTFOUND);
    /* it holds no reference: deleting the object releases its blob */
    rel_reset();
    CHECK_EQ_INT(hf_meta_obj_delete(f.m, &f.b, "movie", 5, NULL, 0, 1, NULL), HF_OK);
    CHECK_EQ_INT(rel_n(), 1);
    /* and survives a restart */
    close_store(f.m);
    f.m = open_at(f.dir, TEST_MAP);
    CHECK(f.m != NULL);
    CHECK_EQ_INT(hf_meta_upload_done_get(f.m, f.b.id, "movie", 5, id, now, &g), HF_OK);
    fx_close(&f);
}

TEST(upload_listing)
{
    fx_t f;
    fx_open(&f);
    char *lk = repeat('l', 600, "/tail"); /* sorts after "d" */
    const char *keys[] = {"a/1", "a/2", "b", "b", "b", "c/x/y", lk, lk, "d"};
    enum { N = sizeof keys / sizeof keys[0] };
    hf_upload_t ups[N];
    for (int i = 0; i < N; i++) {
        memset(&ups[i], 0, sizeof ups[i]);
        ups[i].owner = f.uid;
        ups[i].initiated = 100 + i;
        CHECK_EQ_INT(hf_meta_upload_create(f.m, &f.b, keys[i], strlen(keys[i]), &ups[i]), HF_OK);
    }
    /* ids sort by creation time: the three uploads of "b" in order */
    CHECK(memcmp(ups[2].id, ups[3].id, 16) < 0 && memcmp(ups[3].id, ups[4].id, 16) < 0);
    CHECK(memcmp(ups[6].id, ups[7].id, 16) < 0);

    hf_upload_list_req_t rq = {.bucket_id = f.b.id, .max_uploads = 1000};
    hf_upload_list_res_t res;
    CHECK_EQ_INT(hf_meta_upload_list(f.m, &rq, &f.a, &res), HF_OK);
    CHECK_EQ_INT(res.nuploads, N);
    CHECK(!res.truncated);
    /* key order then id: a/1 a/2 b b b c/x/y d lll lll */
    const int order[] = {0, 1, 2, 3, 4, 5, 8, 6, 7};
    for (int i = 0; i < N; i++) {
        CHECK(res.uploads[i].key.n == strlen(keys[order[i]]) &&
              memcmp(res.uploads[i].key.p, keys[order[i]], res.uploads[i].key.n) == 0);
        CHECK_EQ_MEM(res.uploads[i].id, ups[order[i]].id, 16);
        CHECK_EQ_INT(res.uploads[i].initiated, 100 + order[i]);
        CHECK_EQ_INT(res.uploads[i].owner, f.uid);
    }
    CHECK(res.has_next_upload_id);
    CHECK_EQ_MEM(res.next_upload_id, ups[7].id, 16);

    /* paging one at a time with key + upload id markers */
    rq.max_uploads = 1;
    int seen = 0;
    for (;;) {
        CHECK_EQ_INT(hf_meta_upload_list(f.m, &rq, &f.a, &res), HF_OK);
        CHECK_EQ_INT(res.nuploads, seen < N ? 1 : 0);
        if (res.nuploads) {
            CHECK_EQ_MEM(res.uploads[0].id, ups[order[seen]].id, 16);
            seen++;
        }
        if (!res.truncated)
            break;
        CHECK(res.has_next_upload_id);
        rq.key_marker = res.next_key;
        rq.upload_id_marker = res.next_upload_id;
    }
    CHECK_EQ_INT(seen, N);

    /* key marker alone: uploads of keys after it */
    rq.max_uploads = 1000;
    rq.key_marker = HF_STR("b");
    rq.upload_id_marker = NULL;
    CHECK_EQ_INT(hf_meta_upload_list(f.m, &rq, &f.a, &res), HF_OK);
    CHECK_EQ_INT(res.nuploads, 4);
    CHECK(hf_str_eq(res.uploads[0].key, "c/x/y"));
    /* key marker + id marker: the rest of "b", then later keys */
    rq.upload_id_marker = ups[2].id;
    CHECK_EQ_INT(hf_meta_upload_list(f.m, &rq, &f.a, &res), HF_OK);
    CHECK_EQ_INT(res.nuploads, 6);
    CHECK_EQ_MEM(res.uploads[0].id, ups[3].id, 16);
    CHECK_EQ_MEM(res.uploads[1].id, ups[4].id, 16);
    /* inside a long-key group */
    rq.key_marker = (hf_str_t){lk, strlen(lk)};
    rq.upload_id_marker = ups[6].id;
    CHECK_EQ_INT(hf_meta_upload_list(f.m, &rq, &f.a, &res), HF_OK);
    CHECK_EQ_INT(res.nuploads, 1);
    CHECK_EQ_MEM(res.uploads[0].id, ups[7].id, 16);

    /* delimiter and prefix */
    rq.key_marker = (hf_str_t){NULL, 0};
    rq.upload_id_marker = NULL;
    rq.delimiter = HF_STR("/");
    CHECK_EQ_INT(hf_meta_upload_list(f.m, &rq, &f.a, &res), HF_OK);
    CHECK_EQ_INT(res.nprefixes, 3);
    CHECK(hf_str_eq(res.prefixes[0], "a/"));
    CHECK(hf_str_eq(res.prefixes[1], "c/"));
    CHECK_EQ_INT(res.prefixes[2].n, 601);
    CHECK_EQ_INT(res.nuploads, 4); /* b b b d */
    CHECK(hf_str_eq(res.uploads[3].key, "d"));
    rq.max_uploads = 1;
    CHECK_EQ_INT(hf_meta_upload_list(f.m, &rq, &f.a, &res), HF_OK);
    CHECK(res.truncated);
    CHECK(hf_str_eq(res.next_key, "a/"));
    CHECK(!res.has_next_upload_id);
    rq.key_marker = res.next_key;
    rq.max_uploads = 1000;
    CHECK_EQ_INT(hf_meta_upload_list(f.m, &rq, &f.a, &res), HF_OK);
    CHECK_EQ_INT(res.nprefixes, 2);
    CHECK(hf_str_eq(res.prefixes[0], "c/"));
    rq.key_marker = (hf_str_t){NULL, 0};
    rq.prefix = HF_STR("c/");
    CHECK_EQ_INT(hf_meta_upload_list(f.m, &rq, &f.a, &res), HF_OK);
    CHECK_EQ_INT(res.nprefixes, 1);
    CHECK(hf_str_eq(res.prefixes[0], "c/x/"));
    CHECK_EQ_INT(res.nuploads, 0);
    rq.max_uploads = 0;
    CHECK_EQ_INT(hf_meta_upload_list(f.m, &rq, &f.a, &res), HF_OK);
    CHECK_EQ_INT(res.nuploads + res.nprefixes, 0);
    CHECK(!res.truncated);
    /* Longer than any key: a prefix lists nothing; a key marker, with or
     * without an id marker, resumes after it ("c" * 1500 sorts after
     * "c/x/y", before "d" and the long key). */
    char *huge = repeat('c', 1500, "");
    rq = (hf_upload_list_req_t){.bucket_id = f.b.id, .max_uploads = 1000, .prefix = {huge, 1500}};
    CHECK_EQ_INT(hf_meta_upload_list(f.m, &rq, &f.a, &res), HF_OK);
    CHECK_EQ_INT(res.nuploads + res.nprefixes, 0);
    rq.prefix = (hf_str_t){NULL, 0};
    rq.key_marker = (hf_str_t){huge, 1500};
    for (int withid = 0; withid < 2; withid++) {
        rq.upload_id_marker = withid ? ups[5].id : NULL;
        CHECK_EQ_INT(hf_meta_upload_list(f.m, &rq, &f.a, &res), HF_OK);
        CHECK_EQ_INT(res.nuploads, 3);
        CHECK(hf_str_eq(res.uploads[0].key, "d"));
    }
    free(huge);
    free(lk);
    fx_close(&f);
}

/* ---- group commit ---------------------------------------------------------------- */

typedef struct conc_job {
    hf_meta_t *m;
    const hf_bucket_t *b;
    int t, n, rc;
    uint64_t hlc_prev;
    int hlc_bad;
} conc_job_t;

static void *conc_worker(void *arg)
{
    conc_job_t *j = arg;
    for (int i = 0; i < j->n && j->rc == HF_OK; i++) {
        char key[64], val[64];
        snprintf(key, sizeof key, "t%02d/%04d", j->t, i);
        snprintf(val, sizeof val, "value %d %d", j->t, i);
        uint64_t h = hf_meta_hlc_next(j->m);
        if (h <= j->hlc_prev)
            j->hlc_bad++;
        j->hlc_prev = h;
        unsigned ids[1] = {(unsigned)(j->t * 100000 + i)};
        if (i % 2)
            j->rc = put_inline(j->m, j->b, key, val);
        else
            j->rc = put_blobs(j->m, j->b, key, ids, 1);
    }
    return NULL;
}

TEST(group_commit_under_concurrency)
{
    fx_t f;
    fx_open(&f);
    enum { T = 16, M = 60 };
    hf_meta_stats_t s0, s1;
    hf_meta_stats(f.m, &s0);
    pthread_t th[T];
    conc_job_t jobs[T];
    for (int t = 0; t < T; t++) {
        jobs[t] = (conc_job_t){f.m, &f.b, t, M, HF_OK, 0, 0};
        pthread_create(&th[t], NULL, conc_worker, &jobs[t]);
    }
    for (int t = 0; t < T; t++) {
        pthread_join(th[t], NULL);
        CHECK_EQ_INT(jobs[t].rc, HF_OK);
        CHECK_EQ_INT(jobs[t].hlc_bad, 0);
    }
    hf_meta_stats(f.m, &s1);
    uint64_t ops = s1.ops - s0.ops, commits = s1.commits - s0.commits;
    CHECK_EQ_INT(ops, T * M);
    CHECK_EQ_INT(s1.ops_failed, s0.ops_failed);
    CHECK(commits >= 1);
    CHECK(commits < (uint64_t)T * M / 2); /* batching really happened */
    CHECK(s1.batch_max >= 2);
    CHECK(s1.batch_max <= HF_META_BATCH_MAX);
    CHECK(s1.commit_ns_total > s0.commit_ns_total);
    CHECK_EQ_INT(s1.queue_depth, 0);
    fprintf(stderr, "group commit: %d ops in %llu commits (max batch %llu)\n", T * M,
            (unsigned long long)commits, (unsigned long long)s1.batch_max);
    /* every put is readable, with its own data */
    for (int t = 0; t < T; t++)
        for (int i = 0; i < M; i++) {
            char key[64], val[64];
            snprintf(key, sizeof key, "t%02d/%04d", t, i);
            snprintf(val, sizeof val, "value %d %d", t, i);
            hf_obj_t g;
            hf_arena_reset(&f.a);
            CHECK_EQ_INT(hf_meta_obj_get(f.m, f.b.id, key, strlen(key), NULL, &f.a, &g), HF_OK);
            if (i % 2) {
                CHECK_EQ_INT(g.size, strlen(val));
                CHECK(memcmp(g.inline_data, val, g.size) == 0);
            } else {
                hf_blob_id_t id = blob((unsigned)(t * 100000 + i));
                CHECK_EQ_INT(g.nparts, 1);
                CHECK_EQ_MEM(g.parts[0].blob.b, id.b, 16);
                CHECK_EQ_INT(hf_meta_blob_refs(f.m, &id), 1);
            }
        }
    /* and durable: still there after a reopen */
    close_store(f.m);
    f.m = open_at(f.dir, TEST_MAP);
    CHECK(f.m != NULL);
    hf_list_req_t rq = {.bucket_id = f.b.id, .max_keys = 1000};
    hf_list_res_t res;
    CHECK_EQ_INT(hf_meta_obj_list(f.m, &rq, &f.a, &res), HF_OK);
    CHECK_EQ_INT(res.nentries, T * M < 1000 ? T * M : 1000);
    fx_close(&f);
}

/* Releases interleaved with new references across concurrent batches:
 * whatever the batching, a released blob is never referenced afterwards
 * and every unreferenced blob was released exactly once. */
typedef struct churn_job {
    hf_meta_t *m;
    const hf_bucket_t *b;
    int t, rc;
} churn_job_t;

static void *churn_worker(void *arg)
{
    churn_job_t *j = arg;
    char key[32];
    snprintf(key, sizeof key, "churn%d", j->t % 4); /* threads share keys */
    for (int i = 0; i < 40 && j->rc == HF_OK; i++) {
        /* blobs 1..6 shared between threads, so counts go up and down */
        unsigned ids[2] = {1 + (unsigned)((j->t + i) % 6), 1 + (unsigned)((j->t * 3 + i) % 6)};
        if (ids[0] == ids[1])
            ids[1] = 100 + (unsigned)(j->t * 1000 + i); /* a unique one */
        j->rc = put_blobs(j->m, j->b, key, ids, 2);
        if (j->rc == HF_OK && i % 5 == 4) {
            j->rc = hf_meta_obj_delete(j->m, j->b, key, strlen(key), NULL, 0, 1, NULL);
            if (j->rc == HF_E_NOTFOUND)
                j->rc = HF_OK;
        }
    }
    return NULL;
}

TEST(release_invariant_under_churn)
{
    fx_t f;
    fx_open(&f);
    enum { T = 12 };
    pthread_t th[T];
    churn_job_t jobs[T];
    for (int t = 0; t < T; t++) {
        jobs[t] = (churn_job_t){f.m, &f.b, t, HF_OK};
        pthread_create(&th[t], NULL, churn_worker, &jobs[t]);
    }
    for (int t = 0; t < T; t++) {
        pthread_join(th[t], NULL);
        CHECK_EQ_INT(jobs[t].rc, HF_OK);
    }
    CHECK_EQ_INT(rl.still_referenced, 0);
    /* the blobs the four objects reference now: counted exactly */
    uint32_t want[8] = {0};
    for (int k = 0; k < 4; k++) {
        char key[32];
        snprintf(key, sizeof key, "churn%d", k);
        hf_obj_t g;
        int rc = hf_meta_obj_get(f.m, f.b.id, key, strlen(key), NULL, &f.a, &g);
        CHECK(rc == HF_OK || rc == HF_E_NOTFOUND);
        for (uint32_t i = 0; rc == HF_OK && i < g.nparts; i++) {
            uint32_t n = (uint32_t)g.parts[i].blob.b[14] << 8 | g.parts[i].blob.b[15];
            if (n >= 1 && n <= 6)
                want[n]++;
            else
                CHECK_EQ_INT(hf_meta_blob_refs(f.m, &g.parts[i].blob), 1);
        }
    }
    for (unsigned n = 1; n <= 6; n++) {
        hf_blob_id_t id = blob(n);
        CHECK_EQ_INT(hf_meta_blob_refs(f.m, &id), want[n]);
    }
    fx_close(&f);
}

/* ---- reopen, clock, node id ---------------------------------------------------------- */

TEST(reopen_keeps_everything)
{
    char *dir = hf_test_tmpdir();
    hf_meta_t *m = open_at(dir, TEST_MAP);
    CHECK(m != NULL);
    uint64_t node = hf_meta_node_id(m);
    CHECK(node != 0);
    uint64_t uid = mkuser(m, "keeper", "AKKEEP");
    hf_bucket_t b;
    CHECK_EQ_INT(mkbucket(m, "kept", uid, &b), HF_OK);
    CHECK_EQ_INT(put_inline(m, &b, "file", "contents"), HF_OK);
    hf_upload_t u;
    memset(&u, 0, sizeof u);
    CHECK_EQ_INT(hf_meta_upload_create(m, &b, "up", 2, &u), HF_OK);
    hf_part_t p = mkpart(1, 5, 50);
    CHECK_EQ_INT(hf_meta_part_put(m, b.id, "up", 2, u.id, &p), HF_OK);
    uint64_t h = 0;
    for (int i = 0; i < 100000; i++) /* run the logical counter far ahead of the wall clock */
        h = hf_meta_hlc_next(m);
    CHECK(h >> 16 <= (uint64_t)(hf_time_now() / 1000000) + 10000);
    close_store(m);

    m = open_at(dir, TEST_MAP);
    CHECK(m != NULL);
    CHECK(hf_meta_node_id(m) == node);
    CHECK(hf_meta_hlc_next(m) > h);
    hf_user_t gu;
    CHECK_EQ_INT(hf_meta_user_by_key(m, "AKKEEP", &gu), HF_OK);
    CHECK_EQ_INT(gu.id, uid);
    hf_bucket_t gb;
    CHECK_EQ_INT(hf_meta_bucket_get(m, "kept", &gb), HF_OK);
    CHECK_EQ_INT(gb.id, b.id);
    hf_arena_t a;
    hf_arena_init(&a, 1 << 20);
    hf_obj_t o;
    CHECK_EQ_INT(hf_meta_obj_get(m, b.id, "file", 4, NULL, &a, &o), HF_OK);
    CHECK(memcmp(o.inline_data, "contents", 8) == 0);
    hf_upload_t gu2;
    CHECK_EQ_INT(hf_meta_upload_get(m, b.id, "up", 2, u.id, &a, &gu2), HF_OK);
    hf_blob_id_t b5 = blob(5);
    CHECK_EQ_INT(hf_meta_blob_refs(m, &b5), 1);
    /* counters continue: no id is handed out twice */
    CHECK_EQ_INT(mkuser(m, "second", "AKSECOND"), uid + 1);
    hf_bucket_t b2;
    CHECK_EQ_INT(mkbucket(m, "kept2", uid, &b2), HF_OK);
    CHECK_EQ_INT(b2.id, b.id + 1);
    /* the files are private */
    char path[4200];
    struct stat st;
    snprintf(path, sizeof path, "%s/meta", dir);
    CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0700);
    snprintf(path, sizeof path, "%s/meta/data.mdb", dir);
    CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);
    hf_arena_free(&a);
    close_store(m);
    hf_test_rmtree(dir);
    free(dir);
}

/* The clock survives a crash (no clean close). In a child process: issue
 * clock values far ahead of the wall clock, commit, issue more without a
 * commit, and die. The parent reopens: the clock must restart above every
 * value the child issued -- the committed ones by the persisted mark, the
 * uncommitted ones by the restart margin. */
static uint64_t crash_child(const char *dir, bool commit_last)
{
    int fd[2];
    if (pipe(fd) != 0)
        return 0;
    pid_t pid = fork();
    if (pid == 0) {
        hf_meta_config_t cfg = {.map_size = TEST_MAP};
        hf_meta_t *m;
        if (hf_meta_open(dir, &cfg, &m) != HF_OK)
            _exit(1);
        hf_bucket_t b;
        if (hf_meta_bucket_get(m, "clock", &b) != HF_OK)
            _exit(2);
        /* 3M values run ~45 ms ahead of the wall clock (natively): more
         * than a reopen takes, so only the mark or the margin covers them */
        uint64_t h = 0;
        if (commit_last)
            for (int i = 0; i < 3000000; i++)
                h = hf_meta_hlc_next(m);
        if (put_inline(m, &b, "k", "v") != HF_OK) /* commits the mark */
            _exit(3);
        if (!commit_last)
            for (int i = 0; i < 3000000; i++)
                h = hf_meta_hlc_next(m);
        if (write(fd[1], &h, sizeof h) != sizeof h)
            _exit(4);
        kill(getpid(), SIGKILL); /* no hf_meta_close, no exit handlers: a crash */
        _exit(5);
    }
    close(fd[1]);
    uint64_t h = 0;
    if (read(fd[0], &h, sizeof h) != sizeof h)
        h = 0;
    close(fd[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL ? h : 0;
}

TEST(hlc_survives_a_crash)
{
    char *dir = hf_test_tmpdir();
    hf_meta_t *m = open_at(dir, TEST_MAP);
    CHECK(m != NULL);
    uint64_t uid = mkuser(m, "c", "AKCLOCK");
    hf_bucket_t b;
    CHECK_EQ_INT(mkbucket(m, "clock", uid, &b), HF_OK);
    close_store(m);
    for (int r = 0; r < 2; r++) {
        uint64_t h = crash_child(dir, r == 0);
        CHECK(h != 0);
        m = open_at(dir, TEST_MAP);
        CHECK(m != NULL);
        CHECK(hf_meta_hlc_next(m) > h);
        close_store(m);
    }
    hf_test_rmtree(dir);
    free(dir);
}

/* ---- damaged and future records -------------------------------------------------------- */

/* Overwrite the value of objects[bucket|key|0x00] with raw bytes. */
/* Open the store under dir straight with LMDB and begin a transaction on
 * table db (flags: 0 or MDB_RDONLY). */
static MDB_env *raw_begin(const char *dir, unsigned flags, const char *db, MDB_txn **txn, MDB_dbi *dbi)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/meta", dir);
    MDB_env *env;
    CHECK_EQ_INT(mdb_env_create(&env), 0);
    mdb_env_set_maxdbs(env, 16);
    mdb_env_set_mapsize(env, TEST_MAP);
    CHECK_EQ_INT(mdb_env_open(env, path, flags, 0600), 0);
    CHECK_EQ_INT(mdb_txn_begin(env, NULL, flags, txn), 0);
    CHECK_EQ_INT(mdb_dbi_open(*txn, db, 0, dbi), 0);
    return env;
}

static void raw_put(const char *dir, const char *db, const void *k, size_t kn, const void *v, size_t vn)
{
    MDB_txn *txn;
    MDB_dbi dbi;
    MDB_env *env = raw_begin(dir, 0, db, &txn, &dbi);
    MDB_val key = {kn, (void *)k}, val = {vn, (void *)v};
    CHECK_EQ_INT(mdb_put(txn, dbi, &key, &val, 0), 0);
    CHECK_EQ_INT(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
}

/* The value of k in table db (copied into out, at most max bytes): its size. */
static size_t raw_get(const char *dir, const char *db, const void *k, size_t kn, void *out, size_t max)
{
    MDB_txn *txn;
    MDB_dbi dbi;
    MDB_env *env = raw_begin(dir, MDB_RDONLY, db, &txn, &dbi);
    MDB_val key = {kn, (void *)k}, val;
    CHECK_EQ_INT(mdb_get(txn, dbi, &key, &val), 0);
    size_t n = val.mv_size < max ? val.mv_size : max;
    memcpy(out, val.mv_data, n);
    mdb_txn_abort(txn);
    mdb_env_close(env);
    return val.mv_size;
}

/* Whether table db of the closed store at dir has key k. */
static bool raw_has(const char *dir, const char *db, const void *k, size_t kn)
{
    MDB_txn *txn;
    MDB_dbi dbi;
    MDB_env *env = raw_begin(dir, MDB_RDONLY, db, &txn, &dbi);
    MDB_val key = {kn, (void *)k}, val;
    bool found = mdb_get(txn, dbi, &key, &val) == 0;
    mdb_txn_abort(txn);
    mdb_env_close(env);
    return found;
}

TEST(multipart_done_pruned)
{
    fx_t f;
    fx_open(&f);
    /* Expired answers go, a few per completion, cycling through the table;
     * live ones stay. */
    enum { OLD = 3 * HF_META_DONE_PRUNE };
    uint8_t ids[OLD][16], id[16];
    hf_upload_done_t d;
    char key[32];
    int64_t now = hf_time_now();
    for (int i = 0; i < OLD; i++) {
        snprintf(key, sizeof key, "old-%d", i);
        CHECK_EQ_INT(complete_one(&f, key, 100 + (unsigned)i, now + 1, &d, ids[i]), HF_OK);
    }
    /* let them expire, then complete more: each completion prunes */
    while (hf_time_now() <= now + 1)
        ;
    for (int i = 0; i < 4; i++) {
        snprintf(key, sizeof key, "new-%d", i);
        CHECK_EQ_INT(complete_one(&f, key, 200 + (unsigned)i, now + 3600LL * 1000000000, &d, id),
                     HF_OK);
    }
    close_store(f.m);
    f.m = NULL;
    int left = 0;
    for (int i = 0; i < OLD; i++)
        left += raw_has(f.dir, "done", ids[i], 16);
    CHECK_EQ_INT(left, 0);
    CHECK(raw_has(f.dir, "done", id, 16));
    fx_close(&f);
}

static size_t obj_tk(uint8_t *out, uint64_t bucket, const char *key)
{
    for (int i = 7; i >= 0; i--, bucket >>= 8)
        out[i] = (uint8_t)bucket;
    size_t n = strlen(key);
    memcpy(out + 8, key, n);
    out[8 + n] = 0;
    return 9 + n;
}

TEST(damaged_records)
{
    fx_t f;
    fx_open(&f);
    CHECK_EQ_INT(put_inline(f.m, &f.b, "good", "fine"), HF_OK);
    CHECK_EQ_INT(put_inline(f.m, &f.b, "flip", "data that will rot"), HF_OK);
    uint64_t bid = f.b.id;
    close_store(f.m);
    f.m = NULL;

    uint8_t tk[64];
    size_t tn;
    /* garbage */
    tn = obj_tk(tk, bid, "garbage");
    raw_put(f.dir, "objects", tk, tn, "\x01\x02\x03", 3);
    /* a valid fixed part followed by a tag whose length runs past the end */
    uint8_t rec[128];
    memset(rec, 0, sizeof rec);
    rec[0] = 1;
    rec[81] = 0x02;
    rec[82] = 0x7f;
    tn = obj_tk(tk, bid, "badtag");
    raw_put(f.dir, "objects", tk, tn, rec, 90);
    /* a record from a future format */
    memset(rec, 0, sizeof rec);
    rec[0] = 2;
    tn = obj_tk(tk, bid, "future");
    raw_put(f.dir, "objects", tk, tn, rec, 81);
    /* empty value */
    tn = obj_tk(tk, bid, "empty");
    raw_put(f.dir, "objects", tk, tn, "", 0);

    f.m = open_at(f.dir, TEST_MAP);
    CHECK(f.m != NULL);
    /* flip one byte of the inline data behind the store's back: find the
     * record, change it, write it back */
    {
        hf_obj_t g;
        CHECK_EQ_INT(hf_meta_obj_get(f.m, bid, "flip", 4, NULL, &f.a, &g), HF_OK);
        close_store(f.m);
        hf_buf_t b;
        hf_buf_init(&b, 4096);
        /* rebuild the same record with a damaged byte: the crc stays the old one */
        char path[4200];
        snprintf(path, sizeof path, "%s/meta", f.dir);
        MDB_env *env;
        MDB_txn *txn;
        MDB_dbi dbi;
        CHECK_EQ_INT(mdb_env_create(&env), 0);
        mdb_env_set_maxdbs(env, 16);
        mdb_env_set_mapsize(env, TEST_MAP);
        CHECK_EQ_INT(mdb_env_open(env, path, 0, 0600), 0);
        CHECK_EQ_INT(mdb_txn_begin(env, NULL, 0, &txn), 0);
        CHECK_EQ_INT(mdb_dbi_open(txn, "objects", 0, &dbi), 0);
        tn = obj_tk(tk, bid, "flip");
        MDB_val key = {tn, tk}, val;
        CHECK_EQ_INT(mdb_get(txn, dbi, &key, &val), 0);
        CHECK_EQ_INT(hf_buf_append(&b, val.mv_data, val.mv_size), HF_OK);
        b.data[b.len - 1] ^= 0x20; /* last byte of the inline data */
        val.mv_data = b.data;
        val.mv_size = b.len;
        CHECK_EQ_INT(mdb_put(txn, dbi, &key, &val, 0), 0);
        CHECK_EQ_INT(mdb_txn_commit(txn), 0);
        mdb_env_close(env);
        hf_buf_free(&b);
        f.m = open_at(f.dir, TEST_MAP);
        CHECK(f.m != NULL);
    }
    hf_log_set_level(-1); /* the errors below are expected */
    hf_obj_t g;
    CHECK_EQ_INT(hf_meta_obj_get(f.m, bid, "garbage", 7, NULL, &f.a, &g), HF_E_CORRUPT);
    CHECK_EQ_INT(hf_meta_obj_get(f.m, bid, "badtag", 6, NULL, &f.a, &g), HF_E_CORRUPT);
    CHECK_EQ_INT(hf_meta_obj_get(f.m, bid, "future", 6, NULL, &f.a, &g), HF_E_VERSION);
    CHECK_EQ_INT(hf_meta_obj_get(f.m, bid, "empty", 5, NULL, &f.a, &g), HF_E_CORRUPT);
    CHECK_EQ_INT(hf_meta_obj_get(f.m, bid, "flip", 4, NULL, &f.a, &g), HF_E_CORRUPT);
    CHECK_EQ_INT(hf_meta_obj_get(f.m, bid, "good", 4, NULL, &f.a, &g), HF_OK);
    /* a listing that meets a damaged record reports it */
    hf_list_req_t rq = {.bucket_id = bid, .max_keys = 1000};
    hf_list_res_t res;
    CHECK_EQ_INT(hf_meta_obj_list(f.m, &rq, &f.a, &res), HF_E_CORRUPT);
    rq.prefix = HF_STR("go");
    CHECK_EQ_INT(hf_meta_obj_list(f.m, &rq, &f.a, &res), HF_OK);
    CHECK_EQ_INT(res.nentries, 1);
    rq.prefix = HF_STR("fu");
    CHECK_EQ_INT(hf_meta_obj_list(f.m, &rq, &f.a, &res), HF_E_VERSION);
    /* a damaged record can be overwritten and deleted (its references,
     * unknown, are left alone); a future one is not touched */
    CHECK_EQ_INT(put_inline(f.m, &f.b, "garbage", "new"), HF_OK);
    CHECK_EQ_INT(hf_meta_obj_get(f.m, bid, "garbage", 7, NULL, &f.a, &g), HF_OK);
    CHECK_EQ_INT(hf_meta_obj_delete(f.m, &f.b, "badtag", 6, NULL, 0, 1, NULL), HF_OK);
    CHECK_EQ_INT(hf_meta_obj_delete(f.m, &f.b, "future", 6, NULL, 0, 1, NULL), HF_E_VERSION);
    CHECK_EQ_INT(hf_meta_obj_get(f.m, bid, "future", 6, NULL, &f.a, &g), HF_E_VERSION);
    CHECK(!hf_meta_failed(f.m, NULL));
    hf_log_set_level(HF_LOG_WARN);
    fx_close(&f);
}

TEST(newer_format_refused)
{
    char *dir = hf_test_tmpdir();
    hf_meta_t *m = open_at(dir, TEST_MAP);
    CHECK(m != NULL);
    close_store(m);
    raw_put(dir, "sys", "format", 6, "\x00\x00\x00\x04", 4);
    hf_log_set_level(-1);
    hf_meta_config_t cfg = {.map_size = TEST_MAP};
    CHECK_EQ_INT(hf_meta_open(dir, &cfg, &m), HF_E_VERSION);
    /* formats 1 (before versions) and 2 (before the done table) open and
     * are upgraded to 3 */
    uint8_t fmt[8];
    for (char old = 1; old <= 2; old++) {
        char v[4] = {0, 0, 0, old};
        raw_put(dir, "sys", "format", 6, v, 4);
        CHECK_EQ_INT(hf_meta_open(dir, &cfg, &m), HF_OK);
        hf_meta_close(m);
        CHECK_EQ_INT((int)raw_get(dir, "sys", "format", 6, fmt, sizeof fmt), 4);
        CHECK(memcmp(fmt, "\x00\x00\x00\x03", 4) == 0);
    }
    hf_log_set_level(HF_LOG_WARN);
    hf_test_rmtree(dir);
    free(dir);
}

/* ---- failures ------------------------------------------------------------------------------ */

TEST(map_full_is_nospace_not_fatal)
{
    char *dir = hf_test_tmpdir();
    hf_meta_t *m = open_at(dir, 1 << 20); /* 1 MiB */
    CHECK(m != NULL);
    uint64_t uid = mkuser(m, "u", "AKFULL");
    hf_bucket_t b;
    CHECK_EQ_INT(mkbucket(m, "full", uid, &b), HF_OK);
    static char data[HF_INLINE_MAX + 1];
    memset(data, 'd', HF_INLINE_MAX);
    hf_log_set_level(-1);
    int rc = HF_OK, i;
    for (i = 0; i < 200 && rc == HF_OK; i++) {
        char key[32];
        snprintf(key, sizeof key, "k%03d", i);
        rc = put_inline(m, &b, key, data);
    }
    hf_log_set_level(HF_LOG_WARN);
    CHECK_EQ_INT(rc, HF_E_NOSPACE);
    CHECK(i > 5);
    CHECK(!hf_meta_failed(m, NULL));
    /* space comes back by deleting */
    CHECK_EQ_INT(hf_meta_obj_delete(m, &b, "k000", 4, NULL, 0, 1, NULL), HF_OK);
    CHECK_EQ_INT(hf_meta_obj_delete(m, &b, "k001", 4, NULL, 0, 1, NULL), HF_OK);
    CHECK_EQ_INT(put_inline(m, &b, "small", "x"), HF_OK);
    close_store(m);
    hf_test_rmtree(dir);
    free(dir);
}

/* A commit that fails (the file cannot grow: RLIMIT_FSIZE) puts the store
 * in the sticky failed state; a reopen recovers the last good commit. */
TEST(failed_commit_is_sticky)
{
    char *dir = hf_test_tmpdir();
    hf_meta_t *m = open_at(dir, TEST_MAP);
    CHECK(m != NULL);
    uint64_t uid = mkuser(m, "u", "AKFAIL");
    hf_bucket_t b;
    CHECK_EQ_INT(mkbucket(m, "fail", uid, &b), HF_OK);
    CHECK_EQ_INT(put_inline(m, &b, "before", "ok"), HF_OK);
    char path[4200];
    snprintf(path, sizeof path, "%s/meta/data.mdb", dir);
    struct stat st;
    CHECK(stat(path, &st) == 0);

    signal(SIGXFSZ, SIG_IGN);
    struct rlimit old, lim;
    getrlimit(RLIMIT_FSIZE, &old);
    lim = old;
    lim.rlim_cur = (rlim_t)st.st_size;
    CHECK(setrlimit(RLIMIT_FSIZE, &lim) == 0);
    /* a large record (220 KB: 55 contiguous pages, more than any free
     * run a fresh file has) needs new pages at the end of the file */
    static hf_obj_part_t parts[5000];
    memset(parts, 0, sizeof parts);
    hf_obj_t o;
    memset(&o, 0, sizeof o);
    for (int i = 0; i < 5000; i++) {
        parts[i].blob = blob(5000 + (unsigned)i);
        parts[i].size = 1;
    }
    o.parts = parts;
    o.nparts = 5000;
    o.size = 5000;
    hf_log_set_level(-1);
    int rc = hf_meta_obj_put(m, &b, "big", 3, &o, NULL);
    setrlimit(RLIMIT_FSIZE, &old);
    hf_log_set_level(HF_LOG_WARN);
    CHECK(rc != HF_OK);
    int err = 0;
    CHECK(hf_meta_failed(m, &err));
    CHECK(err != 0);
    CHECK_EQ_INT(put_inline(m, &b, "after", "no"), HF_E_STATE);
    CHECK_EQ_INT(hf_meta_obj_delete(m, &b, "before", 6, NULL, 0, 1, NULL), HF_E_STATE);
    hf_arena_t a;
    hf_arena_init(&a, 1 << 20);
    hf_obj_t g;
    CHECK_EQ_INT(hf_meta_obj_get(m, b.id, "before", 6, NULL, &a, &g), HF_OK); /* reads still work */
    close_store(m);

    m = open_at(dir, TEST_MAP);
    CHECK(m != NULL);
    CHECK(!hf_meta_failed(m, NULL));
    CHECK_EQ_INT(hf_meta_obj_get(m, b.id, "before", 6, NULL, &a, &g), HF_OK);
    CHECK_EQ_INT(hf_meta_obj_get(m, b.id, "big", 3, NULL, &a, &g), HF_E_NOTFOUND);
    hf_blob_id_t b5000 = blob(5000);
    CHECK_EQ_INT(hf_meta_blob_refs(m, &b5000), 0);
    CHECK_EQ_INT(put_inline(m, &b, "after", "yes"), HF_OK);
    hf_arena_free(&a);
    close_store(m);
    hf_test_rmtree(dir);
    free(dir);
}

/* Several failing operations in one batch leave no trace; the others in
 * the batch commit. */
typedef struct mix_job {
    hf_meta_t *m;
    const hf_bucket_t *good, *bad;
    int t, ok, notfound;
} mix_job_t;

static void *mix_worker(void *arg)
{
    mix_job_t *j = arg;
    for (int i = 0; i < 30; i++) {
        char key[32];
        snprintf(key, sizeof key, "m%d-%d", j->t, i);
        unsigned ids[1] = {(unsigned)(900000 + j->t * 100 + i)};
        int rc = put_blobs(j->m, (i % 3) ? j->good : j->bad, key, ids, 1);
        if (rc == HF_OK)
            j->ok++;
        else if (rc == HF_E_NOTFOUND)
            j->notfound++;
    }
    return NULL;
}

TEST(failing_ops_in_a_batch_leave_no_trace)
{
    fx_t f;
    fx_open(&f);
    hf_bucket_t bad = f.b;
    bad.id = 999;
    enum { T = 8 };
    pthread_t th[T];
    mix_job_t jobs[T];
    hf_meta_stats_t s0, s1;
    hf_meta_stats(f.m, &s0);
    for (int t = 0; t < T; t++) {
        jobs[t] = (mix_job_t){f.m, &f.b, &bad, t, 0, 0};
        pthread_create(&th[t], NULL, mix_worker, &jobs[t]);
    }
    for (int t = 0; t < T; t++)
        pthread_join(th[t], NULL);
    hf_meta_stats(f.m, &s1);
    for (int t = 0; t < T; t++) {
        CHECK_EQ_INT(jobs[t].ok, 20);
        CHECK_EQ_INT(jobs[t].notfound, 10);
        for (int i = 0; i < 30; i++) {
            hf_blob_id_t id = blob((unsigned)(900000 + t * 100 + i));
            CHECK_EQ_INT(hf_meta_blob_refs(f.m, &id), (i % 3) ? 1 : 0);
        }
    }
    CHECK_EQ_INT(s1.ops_failed - s0.ops_failed, T * 10);
    CHECK_EQ_INT(s1.ops - s0.ops, T * 20);
    fx_close(&f);
}

/* ---- long keys ----------------------------------------------------------------------------- */

TEST(long_keys_in_one_group)
{
    fx_t f;
    fx_open(&f);
    /* keys that differ only after byte 470 */
    enum { N = 50 };
    static char buf[N][1100];
    static const char *keys[N];
    for (int i = 0; i < N; i++) {
        memset(buf[i], 'p', 480);
        snprintf(buf[i] + 480, 600, "-%04d-%s", (i * 37) % N, i % 2 ? "odd" : "even");
        keys[i] = buf[i];
    }
    CHECK_EQ_INT(put_keys(f.m, &f.b, keys, N), HF_OK);
    for (int i = 0; i < N; i++) {
        hf_obj_t g;
        hf_arena_reset(&f.a);
        CHECK_EQ_INT(hf_meta_obj_get(f.m, f.b.id, keys[i], strlen(keys[i]), NULL, &f.a, &g), HF_OK);
        CHECK(g.size == strlen(keys[i]) && memcmp(g.inline_data, keys[i], g.size) == 0);
    }
    qsort(keys, N, sizeof keys[0], cmp_cstr);
    check_paging(&f, keys, N, "", "", 7);
    check_paging(&f, keys, N, keys[0], "", 1);
    check_list(&f, keys, N, "", keys[10], "", 5);
    check_list(&f, keys, N, "", keys[10], "-", 5);
    char mid[1100];
    memcpy(mid, keys[20], 486);
    mid[486] = 0;
    check_list(&f, keys, N, mid, "", "-", 1000);
    /* delete one in the middle of the group; its neighbours stay */
    CHECK_EQ_INT(hf_meta_obj_delete(f.m, &f.b, keys[25], strlen(keys[25]), NULL, 0, 1, NULL), HF_OK);
    hf_obj_t g;
    CHECK_EQ_INT(hf_meta_obj_get(f.m, f.b.id, keys[25], strlen(keys[25]), NULL, &f.a, &g), HF_E_NOTFOUND);
    CHECK_EQ_INT(hf_meta_obj_get(f.m, f.b.id, keys[24], strlen(keys[24]), NULL, &f.a, &g), HF_OK);
    fx_close(&f);
}

TEST(long_key_group_bound)
{
    fx_t f;
    fx_open(&f);
    enum { N = 1024 };
    static char buf[N + 1][520];
    static const char *keys[N];
    for (int i = 0; i <= N; i++) {
        memset(buf[i], 'g', 500);
        snprintf(buf[i] + 500, 20, "%05d", i);
        if (i < N)
            keys[i] = buf[i];
    }
    CHECK_EQ_INT(put_keys(f.m, &f.b, keys, N), HF_OK);
    hf_log_set_level(-1);
    CHECK_EQ_INT(put_inline(f.m, &f.b, buf[N], "x"), HF_E_TOOBIG);
    hf_log_set_level(HF_LOG_WARN);
    CHECK_EQ_INT(put_inline(f.m, &f.b, buf[7], "replaced"), HF_OK); /* replacing is fine */
    /* a key differing before byte 470 is in another group */
    buf[N][5] = 'h';
    CHECK_EQ_INT(put_inline(f.m, &f.b, buf[N], "x"), HF_OK);
    hf_list_req_t rq = {.bucket_id = f.b.id, .max_keys = 1000};
    hf_list_res_t res;
    CHECK_EQ_INT(hf_meta_obj_list(f.m, &rq, &f.a, &res), HF_OK);
    CHECK_EQ_INT(res.nentries, 1000);
    CHECK(res.truncated);
    CHECK(res.entries[999].key.n == 505 && memcmp(res.entries[999].key.p, buf[999], 505) == 0);
    rq.start_after = res.last;
    hf_arena_t a2;
    hf_arena_init(&a2, 8 << 20);
    CHECK_EQ_INT(hf_meta_obj_list(f.m, &rq, &a2, &res), HF_OK);
    CHECK_EQ_INT(res.nentries, 25);
    CHECK(!res.truncated);
    CHECK(res.entries[24].key.n == 505 && memcmp(res.entries[24].key.p, buf[N], 505) == 0);
    hf_arena_free(&a2);
    fx_close(&f);
}

/* ---- the clock ------------------------------------------------------------------------------- */

static void *hlc_worker(void *arg)
{
    hf_meta_t *m = ((void **)arg)[0];
    uint64_t *out = ((void **)arg)[1];
    for (int i = 0; i < 20000; i++)
        out[i] = hf_meta_hlc_next(m);
    return NULL;
}

static int u64_cmp(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

TEST(hlc_unique_and_increasing)
{
    char *dir = hf_test_tmpdir();
    hf_meta_t *m = open_at(dir, TEST_MAP);
    CHECK(m != NULL);
    enum { T = 4, N = 20000 };
    uint64_t *vals = malloc(sizeof(uint64_t) * T * N);
    pthread_t th[T];
    void *args[T][2];
    int64_t wall0 = hf_time_now() / 1000000;
    for (int t = 0; t < T; t++) {
        args[t][0] = m;
        args[t][1] = vals + (size_t)t * N;
        pthread_create(&th[t], NULL, hlc_worker, args[t]);
    }
    for (int t = 0; t < T; t++)
        pthread_join(th[t], NULL);
    for (int t = 0; t < T; t++)
        for (int i = 1; i < N; i++)
            CHECK(vals[(size_t)t * N + i] > vals[(size_t)t * N + i - 1]);
    qsort(vals, (size_t)T * N, sizeof *vals, u64_cmp);
    for (size_t i = 1; i < (size_t)T * N; i++)
        CHECK(vals[i] != vals[i - 1]);
    /* the upper 48 bits follow the wall clock (the first open adds its
     * one-second margin at most) */
    CHECK((int64_t)(vals[0] >> 16) >= wall0);
    CHECK((int64_t)(vals[0] >> 16) <= hf_time_now() / 1000000 + 1000 + 10);
    free(vals);
    close_store(m);
    hf_test_rmtree(dir);
    free(dir);
}

/* ---- versions ------------------------------------------------------------------- */

/* A model of one key's versions, newest first, as meta.h specifies them. */
#define VM_KEYS 6
#define VM_VERS 64
typedef struct vm_ver {
    uint8_t id[16];
    bool marker;
    int tag; /* the inline data is "<tag>" */
} vm_ver_t;
typedef struct vm_key {
    char name[1100];
    vm_ver_t v[VM_VERS];
    int n;
} vm_key_t;

static bool vm_null(const uint8_t *id)
{
    static const uint8_t z[16];
    return memcmp(id, z, 16) == 0;
}

static void vm_remove(vm_key_t *k, int i)
{
    memmove(&k->v[i], &k->v[i + 1], sizeof k->v[0] * (size_t)(k->n - i - 1));
    k->n--;
}

static void vm_drop_nulls(vm_key_t *k)
{
    for (int i = 0; i < k->n;)
        if (vm_null(k->v[i].id))
            vm_remove(k, i);
        else
            i++;
}

static void vm_push(vm_key_t *k, const uint8_t id[16], bool marker, int tag)
{
    memmove(&k->v[1], &k->v[0], sizeof k->v[0] * (size_t)k->n);
    memcpy(k->v[0].id, id, 16);
    k->v[0].marker = marker;
    k->v[0].tag = tag;
    k->n++;
}

/* Apply a new version the way the bucket's state says. */
static void vm_write(vm_key_t *k, uint32_t flags, const uint8_t id[16], bool marker, int tag)
{
    if (flags & HF_BUCKET_VERSIONING) {
        vm_push(k, id, marker, tag);
    } else if (flags & HF_BUCKET_SUSPENDED) {
        vm_drop_nulls(k);
        vm_push(k, id, marker, tag);
    } else if (marker) {
        k->n = 0;
    } else {
        k->n = 0;
        vm_push(k, id, false, tag);
    }
}

static int vm_put(fx_t *f, vm_key_t *k, int tag, uint8_t id[16])
{
    char data[16];
    snprintf(data, sizeof data, "%d", tag);
    hf_obj_t o;
    memset(&o, 0, sizeof o);
    o.flags = HF_OBJ_INLINE;
    o.size = strlen(data);
    o.inline_data = (const uint8_t *)data;
    o.inline_len = (uint32_t)o.size;
    o.mtime = hf_time_now();
    o.hlc = hf_meta_hlc_next(f->m);
    o.origin = hf_meta_node_id(f->m);
    o.owner = f->uid;
    int rc = hf_meta_obj_put(f->m, &f->b, k->name, strlen(k->name), &o, NULL);
    memcpy(id, o.version, 16);
    return rc;
}

static void vm_check(fx_t *f, vm_key_t *keys, int nkeys, uint32_t page)
{
    /* expected listing: keys in order (the model array is sorted by name) */
    size_t total = 0;
    for (int i = 0; i < nkeys; i++)
        total += (size_t)keys[i].n;
    hf_str_t km = {NULL, 0};
    uint8_t vm[16];
    bool have_vm = false;
    size_t seen = 0;
    int ki = 0, vi = 0;
    char kmbuf[1100];
    for (int rounds = 0; rounds < 10000; rounds++) {
        hf_vlist_req_t rq = {.bucket_id = f->b.id, .key_marker = km, .max_keys = page};
        rq.version_marker = have_vm ? vm : NULL;
        hf_vlist_res_t res;
        hf_arena_reset(&f->a);
        CHECK_EQ_INT(hf_meta_obj_list_versions(f->m, &rq, &f->a, &res), HF_OK);
        CHECK(res.nentries <= page);
        for (uint32_t e = 0; e < res.nentries; e++) {
            while (ki < nkeys && vi >= keys[ki].n) {
                ki++;
                vi = 0;
            }
            CHECK(ki < nkeys);
            const hf_list_entry_t *le = &res.entries[e];
            CHECK_EQ_INT(le->key.n, strlen(keys[ki].name));
            CHECK_EQ_MEM(le->key.p, keys[ki].name, le->key.n);
            CHECK_EQ_MEM(le->version, keys[ki].v[vi].id, 16);
            CHECK_EQ_INT(le->latest, vi == 0);
            CHECK_EQ_INT((le->flags & HF_OBJ_DELETE_MARKER) != 0, keys[ki].v[vi].marker);
            vi++;
            seen++;
        }
        if (!res.truncated)
            break;
        CHECK(res.has_next_version);
        memcpy(kmbuf, res.next_key.p, res.next_key.n);
        km = (hf_str_t){kmbuf, res.next_key.n};
        memcpy(vm, res.next_version, 16);
        have_vm = true;
    }
    CHECK_EQ_INT(seen, total);
    /* every version reads back by id; current ones without */
    for (int i = 0; i < nkeys; i++) {
        for (int j = 0; j < keys[i].n; j++) {
            hf_obj_t g;
            hf_arena_reset(&f->a);
            CHECK_EQ_INT(hf_meta_obj_get(f->m, f->b.id, keys[i].name, strlen(keys[i].name),
                                         keys[i].v[j].id, &f->a, &g), HF_OK);
            CHECK_EQ_INT(g.latest, j == 0);
            CHECK_EQ_INT((g.flags & HF_OBJ_DELETE_MARKER) != 0, keys[i].v[j].marker);
            if (!keys[i].v[j].marker) {
                char data[16];
                snprintf(data, sizeof data, "%d", keys[i].v[j].tag);
                CHECK_EQ_INT(g.inline_len, strlen(data));
                CHECK_EQ_MEM(g.inline_data, data, g.inline_len);
            }
        }
        hf_obj_t g;
        int rc = hf_meta_obj_get(f->m, f->b.id, keys[i].name, strlen(keys[i].name), NULL, &f->a, &g);
        CHECK_EQ_INT(rc, keys[i].n ? HF_OK : HF_E_NOTFOUND);
    }
    /* ListObjects shows the keys whose current version is not a marker */
    hf_list_req_t lr = {.bucket_id = f->b.id, .max_keys = 1000};
    hf_list_res_t lres;
    hf_arena_reset(&f->a);
    CHECK_EQ_INT(hf_meta_obj_list(f->m, &lr, &f->a, &lres), HF_OK);
    uint32_t live = 0;
    for (int i = 0; i < nkeys; i++)
        if (keys[i].n && !keys[i].v[0].marker) {
            CHECK(live < lres.nentries);
            CHECK_EQ_INT(lres.entries[live].key.n, strlen(keys[i].name));
            live++;
        }
    CHECK_EQ_INT(lres.nentries, live);
}

static int vm_name_cmp(const void *a, const void *b)
{
    return strcmp(((const vm_key_t *)a)->name, ((const vm_key_t *)b)->name);
}

TEST(versions_match_model)
{
    fx_t f;
    fx_open(&f);
    static vm_key_t keys[VM_KEYS];
    memset(keys, 0, sizeof keys);
    /* short keys, and long keys sharing their first 470 bytes (one group) */
    snprintf(keys[0].name, sizeof keys[0].name, "a");
    snprintf(keys[1].name, sizeof keys[1].name, "a/b");
    snprintf(keys[2].name, sizeof keys[2].name, "b");
    char *l1 = repeat('L', 600, "x"), *l2 = repeat('L', 600, "y"), *l3 = repeat('L', 900, "");
    snprintf(keys[3].name, sizeof keys[3].name, "%s", l1);
    snprintf(keys[4].name, sizeof keys[4].name, "%s", l2);
    snprintf(keys[5].name, sizeof keys[5].name, "%s", l3);
    free(l1);
    free(l2);
    free(l3);
    qsort(keys, VM_KEYS, sizeof keys[0], vm_name_cmp);
    uint32_t seed = 12345;
    int tag = 0;
    for (int step = 0; step < 600; step++) {
        seed = seed * 1103515245u + 12345u;
        uint32_t r = seed >> 8;
        vm_key_t *k = &keys[r % VM_KEYS];
        int op = (int)((r >> 4) % 10);
        if (step == 40 || step == 300) {
            CHECK_EQ_INT(hf_meta_bucket_versioning(f.m, &f.b, true), HF_OK);
        } else if (step == 200 || step == 450) {
            CHECK_EQ_INT(hf_meta_bucket_versioning(f.m, &f.b, false), HF_OK);
        } else if (op < 5 && k->n < VM_VERS - 2) {
            uint8_t id[16];
            CHECK_EQ_INT(vm_put(&f, k, ++tag, id), HF_OK);
            vm_write(k, f.b.flags, id, false, tag);
        } else if (op < 7 && k->n < VM_VERS - 2) {
            hf_del_res_t res;
            int rc = hf_meta_obj_delete(f.m, &f.b, k->name, strlen(k->name), NULL, 0, f.uid, &res);
            if (!(f.b.flags & (HF_BUCKET_VERSIONING | HF_BUCKET_SUSPENDED))) {
                CHECK_EQ_INT(rc, k->n ? HF_OK : HF_E_NOTFOUND);
                k->n = 0;
            } else {
                CHECK_EQ_INT(rc, HF_OK);
                CHECK(res.marker);
                vm_write(k, f.b.flags, res.version, true, 0);
            }
        } else if (k->n) {
            int i = (int)((r >> 8) % (uint32_t)k->n);
            uint8_t id[16];
            memcpy(id, k->v[i].id, 16);
            CHECK_EQ_INT(hf_meta_obj_delete(f.m, &f.b, k->name, strlen(k->name), id, 0, f.uid, NULL),
                         HF_OK);
            vm_remove(k, i);
            /* a version that no longer exists */
            CHECK_EQ_INT(hf_meta_obj_delete(f.m, &f.b, k->name, strlen(k->name), id, 0, f.uid, NULL),
                         HF_E_NOTFOUND);
        }
        if (step % 50 == 49) {
            vm_check(&f, keys, VM_KEYS, 1);
            vm_check(&f, keys, VM_KEYS, 3);
            vm_check(&f, keys, VM_KEYS, 1000);
        }
    }
    /* A key marker longer than any key resumes after it, with or without a
     * version marker (no key has that name to resume inside). */
    char *kl = repeat('L', 1500, "");
    uint8_t anyv[16] = {1};
    size_t want = 0;
    for (int i = 0; i < VM_KEYS; i++)
        if (strcmp(keys[i].name, kl) > 0)
            want += (size_t)keys[i].n;
    for (int withv = 0; withv < 2; withv++) {
        hf_vlist_req_t rq = {.bucket_id = f.b.id, .key_marker = {kl, 1500}, .max_keys = 1000,
                             .version_marker = withv ? anyv : NULL};
        hf_vlist_res_t res;
        hf_arena_reset(&f.a);
        CHECK_EQ_INT(hf_meta_obj_list_versions(f.m, &rq, &f.a, &res), HF_OK);
        CHECK_EQ_INT(res.nentries, want);
        rq.prefix = (hf_str_t){kl, 1500};
        CHECK_EQ_INT(hf_meta_obj_list_versions(f.m, &rq, &f.a, &res), HF_OK);
        CHECK_EQ_INT(res.nentries + res.nprefixes, 0);
    }
    free(kl);
    /* everything deleted for good: no blob stays referenced, the bucket is empty */
    for (int i = 0; i < VM_KEYS; i++)
        while (keys[i].n) {
            CHECK_EQ_INT(hf_meta_obj_delete(f.m, &f.b, keys[i].name, strlen(keys[i].name),
                                            keys[i].v[0].id, 0, f.uid, NULL), HF_OK);
            vm_remove(&keys[i], 0);
        }
    vm_check(&f, keys, VM_KEYS, 2);
    CHECK_EQ_INT(hf_meta_bucket_delete(f.m, &f.b), HF_OK);
    fx_close(&f);
}

TEST(versions_keep_blobs_and_obey_locks)
{
    fx_t f;
    fx_open(&f);
    CHECK_EQ_INT(hf_meta_bucket_versioning(f.m, &f.b, true), HF_OK);
    unsigned b1[] = {101}, b2[] = {102};
    CHECK_EQ_INT(put_blobs(f.m, &f.b, "k", b1, 1), HF_OK);
    hf_obj_t g;
    CHECK_EQ_INT(hf_meta_obj_get(f.m, f.b.id, "k", 1, NULL, &f.a, &g), HF_OK);
    uint8_t v1[16];
    memcpy(v1, g.version, 16);
    hf_obj_part_t part = {.blob = blob(102), .size = 1102};
    hf_obj_t o;
    memset(&o, 0, sizeof o);
    o.parts = &part;
    o.nparts = 1;
    o.size = part.size;
    o.hlc = hf_meta_hlc_next(f.m);
    o.origin = hf_meta_node_id(f.m);
    o.lock_mode = HF_LOCK_GOVERNANCE;
    o.lock_until = hf_time_now() + 3600LL * 1000000000;
    CHECK_EQ_INT(hf_meta_obj_put(f.m, &f.b, "k", 1, &o, NULL), HF_OK);
    (void)b2;
    hf_blob_id_t id1 = blob(101), id2 = blob(102);
    CHECK_EQ_INT(hf_meta_blob_refs(f.m, &id1), 1); /* the noncurrent version keeps its blob */
    CHECK_EQ_INT(hf_meta_blob_refs(f.m, &id2), 1);
    /* the locked version cannot go, unless governance is bypassed */
    CHECK_EQ_INT(hf_meta_obj_delete(f.m, &f.b, "k", 1, o.version, 0, f.uid, NULL), HF_E_LOCKED);
    hf_obj_update_t u = {.set_retention = true, .lock_mode = HF_LOCK_GOVERNANCE,
                         .lock_until = hf_time_now()};
    CHECK_EQ_INT(hf_meta_obj_update(f.m, &f.b, "k", 1, o.version, &u, NULL), HF_E_LOCKED);
    u.bypass_governance = true;
    hf_obj_update_t hold = {.set_legal_hold = true, .legal_hold = true};
    CHECK_EQ_INT(hf_meta_obj_update(f.m, &f.b, "k", 1, o.version, &hold, NULL), HF_OK);
    CHECK_EQ_INT(hf_meta_obj_delete(f.m, &f.b, "k", 1, o.version, HF_DEL_BYPASS_GOVERNANCE, f.uid,
                                    NULL), HF_E_LOCKED); /* the legal hold is not bypassed */
    hold.legal_hold = false;
    CHECK_EQ_INT(hf_meta_obj_update(f.m, &f.b, "k", 1, o.version, &hold, NULL), HF_OK);
    CHECK_EQ_INT(hf_meta_obj_delete(f.m, &f.b, "k", 1, o.version, HF_DEL_BYPASS_GOVERNANCE, f.uid,
                                    NULL), HF_OK);
    rel_sync();
    CHECK(released(&id2));
    CHECK(!released(&id1));
    /* compliance: never shortened, never deleted early */
    memset(&o, 0, sizeof o);
    o.parts = &part;
    part.blob = blob(103);
    part.size = 5;
    o.nparts = 1;
    o.size = 5;
    o.hlc = hf_meta_hlc_next(f.m);
    o.origin = hf_meta_node_id(f.m);
    o.lock_mode = HF_LOCK_COMPLIANCE;
    o.lock_until = hf_time_now() + 3600LL * 1000000000;
    CHECK_EQ_INT(hf_meta_obj_put(f.m, &f.b, "k", 1, &o, NULL), HF_OK);
    u.lock_mode = HF_LOCK_COMPLIANCE;
    u.lock_until = o.lock_until - 1;
    CHECK_EQ_INT(hf_meta_obj_update(f.m, &f.b, "k", 1, o.version, &u, NULL), HF_E_LOCKED);
    u.lock_until = o.lock_until + 1;
    CHECK_EQ_INT(hf_meta_obj_update(f.m, &f.b, "k", 1, o.version, &u, NULL), HF_OK);
    CHECK_EQ_INT(hf_meta_obj_delete(f.m, &f.b, "k", 1, o.version, HF_DEL_BYPASS_GOVERNANCE, f.uid,
                                    NULL), HF_E_LOCKED);
    /* a delete without a version only adds a marker: allowed */
    hf_del_res_t dr;
    CHECK_EQ_INT(hf_meta_obj_delete(f.m, &f.b, "k", 1, NULL, 0, f.uid, &dr), HF_OK);
    CHECK(dr.marker);
    /* conditional writes see the marker as "no object" */
    hf_obj_cond_t c = {.if_none_match = true};
    CHECK_EQ_INT(put_inline_cond(f.m, &f.b, "k", "x", &c), HF_OK);
    CHECK_EQ_INT(put_inline_cond(f.m, &f.b, "k", "y", &c), HF_E_PRECONDITION);
    hf_obj_cond_t im = {.if_match = true};
    hf_md5("x", 1, im.etag);
    CHECK_EQ_INT(put_inline_cond(f.m, &f.b, "k", "z", &im), HF_OK);
    CHECK_EQ_INT(put_inline_cond(f.m, &f.b, "k", "w", &im), HF_E_PRECONDITION); /* etag is z's now */
    CHECK_EQ_INT(put_inline_cond(f.m, &f.b, "nothing", "w", &im), HF_E_NOTFOUND);
    fx_close(&f);
}

HF_TEST_MAIN("unit/meta")
