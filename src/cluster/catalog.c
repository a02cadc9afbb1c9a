/*
 * catalog.c -- users, keys and buckets held in etcd and cached in the
 * node's metadata; see catalog.h.
 *
 * A user change runs meta's record edits (meta.h: rotation with a grace
 * period, dropping expired keys, ending a retiring key, restriction
 * flags) on the record read from etcd, writes the result back with a
 * compare-and-swap, then to the cache.
 */
#include "cluster/catalog.h"

#include "cluster/local.h"

#include "base/err.h"
#include "base/log.h"
#include "base/rand.h"
#include "base/str.h"
#include "base/time.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A user change or a bucket creation meets another writer's change to
 * the same record at most a few times in a row in any real use. */
#define CAS_ATTEMPTS 8

/* ---- records ---------------------------------------------------------------------- */

static json_t *sealed(const uint8_t *secret, size_t slen, const char *plain)
{
    char s[2048];
    return hf_cluster_seal(secret, slen, plain, s, sizeof s) == HF_OK ? json_string(s) : NULL;
}

static void hex64(char out[17], uint64_t v)
{
    snprintf(out, 17, "%016" PRIx64, v);
}

int hf_catalog_user_encode(const uint8_t *secret, size_t slen, const hf_user_t *u,
                           uint32_t nbuckets, hf_buf_t *out)
{
    json_t *ret = json_array();
    for (uint32_t i = 0; i < u->nretiring; i++)
        json_array_append_new(ret, json_pack("{s:s,s:o,s:I,s:I}", "access_key",
                                             u->retiring[i].access_key, "secret",
                                             sealed(secret, slen, u->retiring[i].secret_key),
                                             "created", (json_int_t)u->retiring[i].created,
                                             "expires", (json_int_t)u->retiring[i].expires));
    char id[17];
    hex64(id, u->id);
    json_t *j = json_pack("{s:i,s:s,s:s,s:s,s:I,s:i,s:s,s:o,s:I,s:o,s:i}", "format", 1, "id", id,
                          "name", u->name, "canonical_id", u->canonical_id, "created",
                          (json_int_t)u->created, "flags", (int)u->flags, "access_key",
                          u->access_key, "secret", sealed(secret, slen, u->secret_key),
                          "key_created", (json_int_t)u->key_created, "retiring", ret, "buckets",
                          (int)nbuckets);
    return hf_cluster_json_buf(j, out);
}

static int take_str(json_t *o, const char *k, char *out, size_t cap, size_t min)
{
    const char *s = json_string_value(json_object_get(o, k));
    if (!s || strlen(s) >= cap || strlen(s) < min)
        return -1;
    memcpy(out, s, strlen(s) + 1);
    return 0;
}

static int take_int(json_t *o, const char *k, int64_t *out)
{
    json_t *v = json_object_get(o, k);
    if (!json_is_integer(v))
        return -1;
    *out = json_integer_value(v);
    return 0;
}

static int take_id(json_t *o, const char *k, uint64_t *out)
{
    char s[17];
    if (take_str(o, k, s, sizeof s, 16))
        return -1;
    char *end;
    unsigned long long v = strtoull(s, &end, 16);
    if (*end || v == 0)
        return -1;
    *out = v;
    return 0;
}

static int unseal(const uint8_t *secret, size_t slen, json_t *o, char *out, size_t cap)
{
    const char *s = json_string_value(json_object_get(o, "secret"));
    if (!s)
        return HF_E_INVAL;
    return hf_cluster_unseal(secret, slen, s, out, cap);
}

int hf_catalog_user_decode(const uint8_t *secret, size_t slen, const void *data, size_t n,
                           hf_user_t *u, uint32_t *nbuckets)
{
    memset(u, 0, sizeof *u);
    json_error_t je;
    json_t *j = json_loadb(data, n, 0, &je), *ret = j ? json_object_get(j, "retiring") : NULL;
    int64_t created, kc, flags, nb;
    int rc = HF_E_INVAL;
    if (!json_is_object(j) || take_id(j, "id", &u->id) ||
        take_str(j, "name", u->name, sizeof u->name, 1) ||
        take_str(j, "canonical_id", u->canonical_id, sizeof u->canonical_id, 1) ||
        take_int(j, "created", &created) || take_int(j, "flags", &flags) ||
        take_str(j, "access_key", u->access_key, sizeof u->access_key, HF_ACCESS_KEY_MIN) ||
        take_int(j, "key_created", &kc) || take_int(j, "buckets", &nb) || nb < 0 ||
        !json_is_array(ret) || json_array_size(ret) > HF_USER_RETIRING_MAX || flags < 0 ||
        (flags & ~(int64_t)(HF_USER_ROOT | HF_USER_RESTRICTIONS)))
        goto out;
    u->created = created;
    u->key_created = kc;
    u->flags = (uint32_t)flags;
    *nbuckets = (uint32_t)nb;
    if ((rc = unseal(secret, slen, j, u->secret_key, sizeof u->secret_key)))
        goto out;
    rc = HF_E_INVAL;
    for (size_t i = 0; i < json_array_size(ret); i++) {
        json_t *o = json_array_get(ret, i);
        hf_user_key_t *k = &u->retiring[i];
        if (take_str(o, "access_key", k->access_key, sizeof k->access_key, HF_ACCESS_KEY_MIN) ||
            take_int(o, "created", &k->created) || take_int(o, "expires", &k->expires))
            goto out;
        int urc = unseal(secret, slen, o, k->secret_key, sizeof k->secret_key);
        if (urc) {
            rc = urc;
            goto out;
        }
        u->nretiring = (uint32_t)(i + 1);
    }
    rc = HF_OK;
out:
    json_decref(j);
    if (rc)
        memset(u, 0, sizeof *u);
    return rc;
}

int hf_catalog_bucket_encode(const hf_bucket_t *b, hf_buf_t *out)
{
    char id[17], owner[17];
    hex64(id, b->id);
    hex64(owner, b->owner);
    json_t *j = json_pack("{s:i,s:s,s:s,s:s,s:I,s:s,s:i}", "format", 1, "id", id, "name", b->name,
                          "owner", owner, "created", (json_int_t)b->created, "region", b->region,
                          "flags", (int)b->flags);
    return hf_cluster_json_buf(j, out);
}

int hf_catalog_bucket_decode(const void *data, size_t n, hf_bucket_t *b)
{
    memset(b, 0, sizeof *b);
    json_error_t je;
    json_t *j = json_loadb(data, n, 0, &je);
    int64_t created, flags;
    int rc = HF_E_INVAL;
    if (json_is_object(j) && !take_id(j, "id", &b->id) &&
        !take_str(j, "name", b->name, sizeof b->name, HF_BUCKET_NAME_MIN) &&
        !take_id(j, "owner", &b->owner) && !take_int(j, "created", &created) &&
        !take_str(j, "region", b->region, sizeof b->region, 0) && !take_int(j, "flags", &flags) &&
        flags >= 0 && flags <= UINT32_MAX) {
        b->created = created;
        b->flags = (uint32_t)flags;
        rc = HF_OK;
    }
    json_decref(j);
    return rc;
}

/* ---- applying to the cache ----------------------------------------------------------- */

static bool same_user(const hf_user_t *a, const hf_user_t *b)
{
    if (a->id != b->id || a->flags != b->flags || a->created != b->created ||
        a->key_created != b->key_created || a->nretiring != b->nretiring ||
        strcmp(a->name, b->name) || strcmp(a->access_key, b->access_key) ||
        strcmp(a->secret_key, b->secret_key) || strcmp(a->canonical_id, b->canonical_id))
        return false;
    for (uint32_t i = 0; i < a->nretiring; i++)
        if (strcmp(a->retiring[i].access_key, b->retiring[i].access_key) ||
            strcmp(a->retiring[i].secret_key, b->retiring[i].secret_key) ||
            a->retiring[i].expires != b->retiring[i].expires)
            return false;
    return true;
}

/* Put u into the cache unless it is there already. */
static void cache_user(hf_cluster_t *c, const hf_user_t *u)
{
    hf_user_t cur;
    bool had = hf_meta_user_get(c->meta, u->name, &cur) == HF_OK;
    if (had && same_user(&cur, u))
        return;
    int rc = hf_meta_user_put(c->meta, u);
    if (rc) {
        hf_log_error("msg=\"cannot cache a user from the cluster\" user=%s err=\"%s\"", u->name,
                     hf_strerror(rc));
        return;
    }
    /* The admin CLI on this node signs with root-credentials: keep it the
     * root's active key. */
    if ((u->flags & HF_USER_ROOT) && c->on_root_key &&
        (!had || strcmp(cur.access_key, u->access_key) != 0))
        c->on_root_key(c->cb_ctx, u->access_key, u->secret_key);
}

static void cache_bucket(hf_cluster_t *c, const hf_bucket_t *b)
{
    hf_bucket_t cur;
    if (hf_meta_bucket_get(c->meta, b->name, &cur) == HF_OK && cur.id == b->id &&
        cur.owner == b->owner && cur.flags == b->flags && cur.created == b->created &&
        strcmp(cur.region, b->region) == 0)
        return;
    int rc = hf_meta_bucket_put(c->meta, b);
    if (rc && rc != HF_E_CONFLICT)
        hf_log_error("msg=\"cannot cache a bucket from the cluster\" bucket=%s err=\"%s\"", b->name,
                     hf_strerror(rc));
}

void hf_catalog_event(hf_cluster_t *c, const char *s, bool put, const hf_etcd_kv_t *kv)
{
    if (strncmp(s, "users/", 6) == 0) {
        if (!put) {
            int rc = hf_meta_user_forget(c->meta, s + 6);
            if (rc && rc != HF_E_NOTFOUND)
                hf_log_error("msg=\"cannot drop a user from the cache\" user=%s err=\"%s\"", s + 6,
                             hf_strerror(rc));
            return;
        }
        hf_user_t u;
        uint32_t nb;
        int rc = hf_catalog_user_decode(c->secret, c->secret_len, kv->value, kv->value_len, &u, &nb);
        if (rc == HF_OK && strcmp(u.name, s + 6) == 0)
            cache_user(c, &u);
        else
            hf_log_error("msg=\"user record in etcd refused\" key=%s err=\"%s\"", kv->key,
                         rc == HF_E_AUTH ? "sealed with another cluster secret" : "malformed");
        memset(&u, 0, sizeof u);
    } else if (strncmp(s, "buckets/", 8) == 0) {
        if (!put) {
            hf_log_warn("msg=\"a bucket was removed from etcd; this node keeps its cached record "
                        "(deleting buckets in a cluster needs the data plane)\" bucket=%s",
                        s + 8);
            return;
        }
        hf_bucket_t b;
        if (hf_catalog_bucket_decode(kv->value, kv->value_len, &b) == HF_OK &&
            strcmp(b.name, s + 8) == 0)
            cache_bucket(c, &b);
        else
            hf_log_error("msg=\"bucket record in etcd refused\" key=%s", kv->key);
    }
}

void hf_catalog_sync(hf_cluster_t *c, const hf_etcd_kvs_t *users, const hf_etcd_kvs_t *buckets)
{
    size_t pl = strlen(c->prefix) + strlen("/users/");
    for (size_t i = 0; i < users->n; i++)
        if (strlen(users->kv[i].key) > pl)
            hf_catalog_event(c, users->kv[i].key + strlen(c->prefix) + 1, true, &users->kv[i]);
    /* Users the cache has and etcd does not were deleted meanwhile. */
    hf_arena_t a;
    hf_arena_init(&a, 64 << 20);
    hf_user_t *us;
    size_t nu;
    if (hf_meta_user_list(c->meta, &a, &us, &nu) == HF_OK) {
        for (size_t i = 0; i < nu; i++) {
            bool there = false;
            for (size_t k = 0; k < users->n && !there; k++)
                there = strcmp(users->kv[k].key + pl, us[i].name) == 0;
            if (!there) {
                hf_log_info("msg=\"user no longer in the cluster; dropped from the cache\" user=%s",
                            us[i].name);
                hf_meta_user_forget(c->meta, us[i].name);
            }
            memset(us[i].secret_key, 0, sizeof us[i].secret_key);
        }
    }
    hf_arena_free(&a);
    for (size_t i = 0; i < buckets->n; i++)
        hf_catalog_event(c, buckets->kv[i].key + strlen(c->prefix) + 1, true, &buckets->kv[i]);
}

/* ---- writes ------------------------------------------------------------------------------ */

static int64_t deadline(void)
{
    return hf_mono_ms() + HF_CLUSTER_CALL_MS;
}

/* users/<name> from etcd: decoded into *u, its mod_revision and bucket
 * count. HF_E_NOTFOUND. */
static int read_user(hf_cluster_t *c, const char *name, hf_user_t *u, int64_t *mod, uint32_t *nb)
{
    char k[HF_CLUSTER_PREFIX_MAX + HF_USER_NAME_MAX + 16];
    hf_cluster_key(k, sizeof k, c->prefix, "users/%s", name);
    hf_etcd_kvs_t r;
    int rc = hf_etcd_range(c->e, k, NULL, 0, 0, deadline(), &r);
    if (rc)
        return rc;
    if (r.n == 0)
        rc = HF_E_NOTFOUND;
    else
        rc = hf_catalog_user_decode(c->secret, c->secret_len, r.kv[0].value, r.kv[0].value_len,
                                    u, nb);
    *mod = r.n ? r.kv[0].mod_revision : 0;
    hf_etcd_kvs_free(&r);
    return rc;
}

/* Up to 1 + HF_USER_KEYS_MAX key index keys a write adds or drops. */
typedef struct keyset {
    char k[HF_USER_KEYS_MAX + 2][HF_CLUSTER_PREFIX_MAX + HF_ACCESS_KEY_MAX + 16];
    uint32_t n;
} keyset_t;

static void keyset_add(hf_cluster_t *c, keyset_t *s, const char *ak)
{
    if (s->n < sizeof s->k / sizeof s->k[0])
        hf_cluster_key(s->k[s->n++], sizeof s->k[0], c->prefix, "keys/%s", ak);
}

/* Write u (read at mod; 0: create) with its bucket count, adding index
 * keys `add` (which must be absent) and dropping `drop`. *lost: the CAS
 * failed (someone else wrote first, or an added key is taken). */
static int write_user(hf_cluster_t *c, const hf_user_t *u, uint32_t nb, int64_t mod,
                      const keyset_t *add, const keyset_t *drop, bool with_id, bool *lost,
                      bool *key_taken)
{
    *lost = *key_taken = false;
    char ku[HF_CLUSTER_PREFIX_MAX + HF_USER_NAME_MAX + 16], ki[HF_CLUSTER_PREFIX_MAX + 32], idh[17];
    hf_cluster_key(ku, sizeof ku, c->prefix, "users/%s", u->name);
    hex64(idh, u->id);
    hf_cluster_key(ki, sizeof ki, c->prefix, "userids/%s", idh);
    hf_buf_t rec;
    hf_buf_init(&rec, 16384);
    int rc = hf_catalog_user_encode(c->secret, c->secret_len, u, nb, &rec);
    if (rc) {
        hf_buf_free(&rec);
        return rc;
    }
    hf_etcd_cmp_t cmp[2 + HF_USER_KEYS_MAX + 2];
    hf_etcd_op_t ops[2 + 2 * (HF_USER_KEYS_MAX + 2)], gets[HF_USER_KEYS_MAX + 2];
    size_t nc = 0, no = 0, ng = 0;
    cmp[nc++] = (hf_etcd_cmp_t){.key = ku, .target = HF_ETCD_MOD, .result = HF_ETCD_EQUAL, .n = mod};
    if (with_id)
        cmp[nc++] = (hf_etcd_cmp_t){.key = ki, .target = HF_ETCD_VERSION, .result = HF_ETCD_EQUAL};
    ops[no++] = (hf_etcd_op_t){.kind = HF_ETCD_PUT, .key = ku, .value = rec.data, .value_len = rec.len};
    if (with_id)
        ops[no++] = (hf_etcd_op_t){.kind = HF_ETCD_PUT, .key = ki, .value = u->name,
                                   .value_len = strlen(u->name)};
    for (uint32_t i = 0; add && i < add->n; i++) {
        cmp[nc++] = (hf_etcd_cmp_t){.key = add->k[i], .target = HF_ETCD_VERSION,
                                    .result = HF_ETCD_EQUAL};
        ops[no++] = (hf_etcd_op_t){.kind = HF_ETCD_PUT, .key = add->k[i], .value = u->name,
                                   .value_len = strlen(u->name)};
        gets[ng++] = (hf_etcd_op_t){.kind = HF_ETCD_GET, .key = add->k[i]};
    }
    for (uint32_t i = 0; drop && i < drop->n; i++)
        ops[no++] = (hf_etcd_op_t){.kind = HF_ETCD_DELETE, .key = drop->k[i]};
    hf_etcd_txn_res_t r;
    rc = hf_etcd_txn(c->e, cmp, nc, ops, no, gets, ng, deadline(), &r);
    hf_buf_free(&rec);
    if (rc)
        return rc;
    if (!r.succeeded) {
        *lost = true;
        for (size_t i = 0; i < r.ngets; i++)
            *key_taken |= r.gets[i].n > 0;
    }
    hf_etcd_txn_free(&r);
    return HF_OK;
}

typedef struct create_job {
    hf_user_t *u;
} create_job_t;

static int create_user(hf_cluster_t *c, hf_user_t *u)
{
    uint8_t cid[32];
    int rc = hf_rand_bytes(cid, sizeof cid);
    if (rc)
        return rc;
    hf_hex_encode(u->canonical_id, cid, sizeof cid);
    u->created = u->key_created = hf_time_now();
    u->nretiring = 0;
    keyset_t add = {0};
    keyset_add(c, &add, u->access_key);
    for (int attempt = 0; attempt < CAS_ATTEMPTS; attempt++) {
        /* Ids are random, so nodes never hand out the same one; the
         * userids key catches the 2^-63 chance anyway. */
        if ((rc = hf_rand_bytes(&u->id, sizeof u->id)))
            return rc;
        u->id &= INT64_MAX;
        if (!u->id)
            continue;
        bool lost, taken;
        rc = write_user(c, u, 0, 0, &add, NULL, true, &lost, &taken);
        if (rc)
            return rc;
        if (!lost) {
            cache_user(c, u);
            return HF_OK;
        }
        hf_user_t other;
        int64_t mod;
        uint32_t nb;
        int rrc = read_user(c, u->name, &other, &mod, &nb);
        memset(&other, 0, sizeof other);
        if (rrc == HF_OK || taken)
            return HF_E_EXISTS;
    }
    return HF_E_CONFLICT;
}

static int job_user_create(hf_cluster_t *c, void *arg)
{
    return create_user(c, arg);
}

int hf_cluster_user_create(hf_cluster_t *c, hf_user_t *u)
{
    if (u->flags & HF_USER_ROOT)
        return HF_E_INVAL;
    return hf_cluster_call(c, job_user_create, u);
}

/* A change to an existing user: read, edit, compare-and-swap, cache. */
typedef struct user_edit {
    const char *name;
    int (*edit)(struct user_edit *e, hf_cluster_t *c, hf_user_t *u, keyset_t *add, keyset_t *drop);
    uint32_t set, clear;
    const char *ak, *sk, *drop_key;
    int64_t grace_ns, now;
    hf_user_t *out;
    bool delete_user;
} user_edit_t;

/* Drop retiring keys past their expiry, and their index keys. */
static void prune(hf_cluster_t *c, hf_user_t *u, int64_t now, keyset_t *drop)
{
    char dropped[HF_USER_RETIRING_MAX][HF_ACCESS_KEY_MAX + 1];
    uint32_t n = hf_meta_user_prune(u, now, dropped);
    for (uint32_t i = 0; i < n; i++)
        keyset_add(c, drop, dropped[i]);
}

static int edit_flags(user_edit_t *e, hf_cluster_t *c, hf_user_t *u, keyset_t *add, keyset_t *drop)
{
    return hf_meta_user_restrict(u, e->set, e->clear);
}

static int edit_rotate(user_edit_t *e, hf_cluster_t *c, hf_user_t *u, keyset_t *add, keyset_t *drop)
{
    if (e->grace_ns < 0 || e->grace_ns > (int64_t)HF_KEY_GRACE_MAX_S * 1000000000)
        return HF_E_INVAL;
    char dropped[HF_ACCESS_KEY_MAX + 1];
    int rc = hf_meta_user_rotate(u, e->ak, e->sk, e->grace_ns, e->now, dropped);
    if (rc)
        return rc;
    if (dropped[0])
        keyset_add(c, drop, dropped);
    keyset_add(c, add, e->ak);
    return HF_OK;
}

static int edit_key_delete(user_edit_t *e, hf_cluster_t *c, hf_user_t *u, keyset_t *add,
                           keyset_t *drop)
{
    int rc = hf_meta_user_retire_now(u, e->drop_key);
    if (rc == HF_OK)
        keyset_add(c, drop, e->drop_key);
    return rc;
}

static int delete_user(hf_cluster_t *c, const hf_user_t *u, uint32_t nb, int64_t mod, bool *lost)
{
    if (u->flags & HF_USER_ROOT || nb)
        return HF_E_CONFLICT;
    char ku[HF_CLUSTER_PREFIX_MAX + HF_USER_NAME_MAX + 16], ki[HF_CLUSTER_PREFIX_MAX + 32], idh[17];
    hf_cluster_key(ku, sizeof ku, c->prefix, "users/%s", u->name);
    hex64(idh, u->id);
    hf_cluster_key(ki, sizeof ki, c->prefix, "userids/%s", idh);
    keyset_t keys = {0};
    keyset_add(c, &keys, u->access_key);
    for (uint32_t i = 0; i < u->nretiring; i++)
        keyset_add(c, &keys, u->retiring[i].access_key);
    hf_etcd_cmp_t cmp = {.key = ku, .target = HF_ETCD_MOD, .result = HF_ETCD_EQUAL, .n = mod};
    hf_etcd_op_t ops[2 + HF_USER_KEYS_MAX + 2];
    size_t no = 0;
    ops[no++] = (hf_etcd_op_t){.kind = HF_ETCD_DELETE, .key = ku};
    ops[no++] = (hf_etcd_op_t){.kind = HF_ETCD_DELETE, .key = ki};
    for (uint32_t i = 0; i < keys.n; i++)
        ops[no++] = (hf_etcd_op_t){.kind = HF_ETCD_DELETE, .key = keys.k[i]};
    hf_etcd_txn_res_t r;
    int rc = hf_etcd_txn(c->e, &cmp, 1, ops, no, NULL, 0, deadline(), &r);
    if (rc)
        return rc;
    *lost = !r.succeeded;
    hf_etcd_txn_free(&r);
    return HF_OK;
}

static int job_user_edit(hf_cluster_t *c, void *arg)
{
    user_edit_t *e = arg;
    for (int attempt = 0; attempt < CAS_ATTEMPTS; attempt++) {
        hf_user_t u;
        int64_t mod;
        uint32_t nb;
        int rc = read_user(c, e->name, &u, &mod, &nb);
        if (rc)
            return rc;
        bool lost = false, taken = false;
        if (e->delete_user) {
            rc = delete_user(c, &u, nb, mod, &lost);
            if (rc == HF_OK && !lost) {
                hf_meta_user_forget(c->meta, e->name);
                return HF_OK;
            }
        } else {
            keyset_t add = {0}, drop = {0};
            e->now = hf_time_now();
            prune(c, &u, e->now, &drop);
            rc = e->edit(e, c, &u, &add, &drop);
            if (rc == HF_OK)
                rc = write_user(c, &u, nb, mod, &add, &drop, false, &lost, &taken);
            if (rc == HF_OK && !lost) {
                cache_user(c, &u);
                if (e->out)
                    *e->out = u;
                memset(&u, 0, sizeof u);
                return HF_OK;
            }
            if (rc == HF_OK && taken)
                return HF_E_EXISTS;
        }
        memset(&u, 0, sizeof u);
        if (rc)
            return rc;
    }
    return HF_E_CONFLICT;
}

int hf_cluster_user_delete(hf_cluster_t *c, const char *name)
{
    user_edit_t e = {.name = name, .delete_user = true};
    return hf_cluster_call(c, job_user_edit, &e);
}

int hf_cluster_user_set_flags(hf_cluster_t *c, const char *name, uint32_t set, uint32_t clear,
                              hf_user_t *out)
{
    user_edit_t e = {.name = name, .edit = edit_flags, .set = set, .clear = clear, .out = out};
    return hf_cluster_call(c, job_user_edit, &e);
}

int hf_cluster_user_key_rotate(hf_cluster_t *c, const char *name, const char *access_key,
                               const char *secret_key, int64_t grace_ns, hf_user_t *out)
{
    user_edit_t e = {.name = name, .edit = edit_rotate, .ak = access_key, .sk = secret_key,
                     .grace_ns = grace_ns, .out = out};
    return hf_cluster_call(c, job_user_edit, &e);
}

int hf_cluster_user_key_delete(hf_cluster_t *c, const char *name, const char *access_key)
{
    user_edit_t e = {.name = name, .edit = edit_key_delete, .drop_key = access_key};
    return hf_cluster_call(c, job_user_edit, &e);
}

/* ---- buckets -------------------------------------------------------------------------- */

static int job_bucket_create(hf_cluster_t *c, void *arg)
{
    hf_bucket_t *b = arg;
    hf_user_t owner;
    int rc = hf_meta_user_by_id(c->meta, b->owner, &owner);
    if (rc)
        return rc;
    char name[sizeof owner.name];
    snprintf(name, sizeof name, "%s", owner.name);
    char kb[HF_CLUSTER_PREFIX_MAX + HF_BUCKET_NAME_MAX + 16], ki[HF_CLUSTER_PREFIX_MAX + 32],
        ku[HF_CLUSTER_PREFIX_MAX + HF_USER_NAME_MAX + 16], idh[17];
    hf_cluster_key(kb, sizeof kb, c->prefix, "buckets/%s", b->name);
    hf_cluster_key(ku, sizeof ku, c->prefix, "users/%s", name);
    b->created = hf_time_now();
    for (int attempt = 0; attempt < CAS_ATTEMPTS; attempt++) {
        int64_t mod;
        uint32_t nb;
        rc = read_user(c, name, &owner, &mod, &nb);
        if (rc)
            break;
        if (owner.id != b->owner) {
            rc = HF_E_NOTFOUND;
            break;
        }
        if (nb >= HF_BUCKETS_PER_USER_MAX) {
            rc = HF_E_TOOBIG;
            break;
        }
        /* A random id: buckets spread over the partitions (cluster.md). */
        if ((rc = hf_rand_bytes(&b->id, sizeof b->id)))
            break;
        b->id &= INT64_MAX;
        if (!b->id)
            continue;
        hex64(idh, b->id);
        hf_cluster_key(ki, sizeof ki, c->prefix, "bucketids/%s", idh);
        hf_buf_t rb, ru;
        hf_buf_init(&rb, 4096);
        hf_buf_init(&ru, 16384);
        rc = hf_catalog_bucket_encode(b, &rb);
        if (rc == HF_OK)
            rc = hf_catalog_user_encode(c->secret, c->secret_len, &owner, nb + 1, &ru);
        hf_etcd_cmp_t cmp[3] = {
            {.key = kb, .target = HF_ETCD_VERSION, .result = HF_ETCD_EQUAL},
            {.key = ki, .target = HF_ETCD_VERSION, .result = HF_ETCD_EQUAL},
            {.key = ku, .target = HF_ETCD_MOD, .result = HF_ETCD_EQUAL, .n = mod},
        };
        hf_etcd_op_t ops[3] = {
            {.kind = HF_ETCD_PUT, .key = kb, .value = rb.data, .value_len = rb.len},
            {.kind = HF_ETCD_PUT, .key = ki, .value = b->name, .value_len = strlen(b->name)},
            {.kind = HF_ETCD_PUT, .key = ku, .value = ru.data, .value_len = ru.len},
        };
        hf_etcd_op_t get = {.kind = HF_ETCD_GET, .key = kb};
        hf_etcd_txn_res_t r;
        if (rc == HF_OK)
            rc = hf_etcd_txn(c->e, cmp, 3, ops, 3, &get, 1, deadline(), &r);
        hf_buf_free(&rb);
        hf_buf_free(&ru);
        memset(&owner, 0, sizeof owner);
        if (rc)
            break;
        bool ok = r.succeeded;
        hf_bucket_t other;
        bool exists = !ok && r.ngets && r.gets[0].n &&
                      hf_catalog_bucket_decode(r.gets[0].kv[0].value, r.gets[0].kv[0].value_len,
                                               &other) == HF_OK;
        hf_etcd_txn_free(&r);
        if (ok) {
            rc = hf_meta_bucket_put(c->meta, b);
            break;
        }
        if (exists) {
            b->owner = other.owner;
            rc = HF_E_EXISTS;
            break;
        }
        rc = HF_E_CONFLICT; /* the owner's record moved: read it again */
    }
    return rc;
}

int hf_cluster_bucket_create(hf_cluster_t *c, hf_bucket_t *b)
{
    return hf_cluster_call(c, job_bucket_create, b);
}

/* ---- joining ---------------------------------------------------------------------------- */

int hf_catalog_join(hf_cluster_t *c, bool *root_created, const char *root_ak, const char *root_sk,
                    char *why, size_t whycap)
{
    *root_created = false;
    hf_user_t u;
    int64_t mod;
    uint32_t nb;
    int rc = read_user(c, "root", &u, &mod, &nb);
    memset(&u, 0, sizeof u);
    if (rc == HF_E_AUTH)
        return hf_cluster_why(why, whycap, "the cluster's root user is sealed with another "
                                           "secret"),
               HF_E_AUTH;
    if (rc == HF_E_NOTFOUND) {
        if (!root_ak || !root_sk)
            return hf_cluster_why(why, whycap, "the cluster has no root user and none was given");
        snprintf(u.name, sizeof u.name, "root");
        snprintf(u.access_key, sizeof u.access_key, "%s", root_ak);
        snprintf(u.secret_key, sizeof u.secret_key, "%s", root_sk);
        u.flags = HF_USER_ROOT;
        rc = create_user(c, &u);
        memset(&u, 0, sizeof u);
        if (rc == HF_OK)
            *root_created = true;
        else if (rc != HF_E_EXISTS) /* another node made it first: fine */
            return hf_cluster_why(why, whycap, "cannot create the cluster's root user in etcd: %s",
                                  hf_strerror(rc)),
                   rc;
    } else if (rc) {
        return hf_cluster_why(why, whycap, "cannot read the cluster's users from etcd: %s (%s)",
                              hf_cluster_etcd_err(rc), hf_etcd_last_error(c->e)),
               rc;
    }
    /* Fill the cache now, so the node starts with its users. */
    char ku[HF_CLUSTER_PREFIX_MAX + 16], kb[sizeof ku], eu[sizeof ku], eb[sizeof ku];
    hf_cluster_key(ku, sizeof ku, c->prefix, "users/");
    hf_cluster_key(kb, sizeof kb, c->prefix, "buckets/");
    hf_etcd_prefix_end(ku, eu, sizeof eu);
    hf_etcd_prefix_end(kb, eb, sizeof eb);
    hf_etcd_op_t gets[2] = {{.kind = HF_ETCD_GET, .key = ku, .range_end = eu},
                            {.kind = HF_ETCD_GET, .key = kb, .range_end = eb}};
    hf_etcd_txn_res_t r;
    rc = hf_etcd_txn(c->e, NULL, 0, gets, 2, NULL, 0, deadline(), &r);
    if (rc)
        return hf_cluster_why(why, whycap, "cannot read the cluster's users from etcd: %s (%s)",
                              hf_cluster_etcd_err(rc), hf_etcd_last_error(c->e)),
               rc;
    if (r.ngets == 2)
        hf_catalog_sync(c, &r.gets[0], &r.gets[1]);
    hf_etcd_txn_free(&r);
    return HF_OK;
}
