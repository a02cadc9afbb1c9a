/*
 * control.c -- a node's control plane: the control thread, joining,
 * membership, following the layout, the local copy; see control.h. The
 * catalog (users, buckets) is catalog.c.
 *
 * The thread's loop, each turn:
 *   1. run the catalog writes queued by other threads;
 *   2. register (lease + records) if not registered, keep the lease alive
 *      and write the heartbeat when due;
 *   3. without a watch: read the whole state at one revision (sync) and
 *      open a watch on the prefix from the next revision;
 *   4. every HF_CLUSTER_PROBE_MS: read the layout key -- etcd's
 *      generation and reachability for the status page, and a check that
 *      the watch keeps up (its revision must have passed the store's
 *      revision seen one probe earlier; a member that stopped answering
 *      leaves the stream silent, and then the watch is opened afresh);
 *   5. wait on the watch (or, without one, on the job queue) until the
 *      next thing is due, delivering events as they come.
 * Every etcd call has a deadline of HF_CLUSTER_CALL_MS; failures are
 * retried on the next turn with a backoff, never in a tight loop.
 */
#include "cluster/control.h"

#include "cluster/catalog.h"
#include "cluster/internal.h"
#include "cluster/local.h"

#include "base/err.h"
#include "base/fiber.h"
#include "base/log.h"
#include "base/rand.h"
#include "base/str.h"
#include "base/time.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- local state -------------------------------------------------------------------- */

static int state_write(hf_cluster_t *c)
{
    json_t *j = json_pack("{s:i,s:s,s:s,s:s,s:s,s:I}", "format", 1, "cluster_id", c->cluster_id,
                          "secret_check", c->check, "node_id", c->node_id, "prefix", c->prefix,
                          "pin", (json_int_t)c->pin);
    char *s = j ? json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(j);
    if (!s)
        return -ENOMEM;
    int rc = hf_cluster_local_write(c->data_dir, "state", s, strlen(s));
    free(s);
    return rc;
}

/* Read <data>/cluster/state. HF_E_NOTFOUND on a first start. */
static int state_read(hf_cluster_t *c, char *node_id, size_t cap, char *check, size_t ccap)
{
    hf_buf_t b;
    hf_buf_init(&b, HF_CLUSTER_FILE_MAX);
    int rc = hf_cluster_local_read(c->data_dir, "state", &b);
    if (rc) {
        hf_buf_free(&b);
        return rc;
    }
    json_error_t je;
    json_t *j = json_loadb(b.data, b.len, 0, &je);
    hf_buf_free(&b);
    const char *id = NULL, *ck = NULL, *nid = NULL;
    json_int_t pin = 0;
    rc = HF_E_CORRUPT;
    if (j && !json_unpack(j, "{s:s,s:s,s:s,s?I}", "cluster_id", &id, "secret_check", &ck,
                          "node_id", &nid, "pin", &pin) &&
        strlen(id) < sizeof c->cluster_id && strlen(nid) < cap && strlen(ck) < ccap && pin >= 0) {
        snprintf(c->cluster_id, sizeof c->cluster_id, "%s", id);
        snprintf(node_id, cap, "%s", nid);
        snprintf(check, ccap, "%s", ck);
        c->pin = (uint64_t)pin;
        rc = HF_OK;
    }
    json_decref(j);
    return rc;
}

/* ---- publishing -------------------------------------------------------------------- */

static void set_error(hf_cluster_t *c, int rc, const char *what)
{
    pthread_mutex_lock(&c->mu);
    c->st.etcd_reachable = false;
    snprintf(c->st.etcd_error, sizeof c->st.etcd_error, "%s: %s (%s)", what,
             hf_cluster_etcd_err(rc), hf_etcd_last_error(c->e));
    pthread_mutex_unlock(&c->mu);
}

static void set_ok(hf_cluster_t *c)
{
    int64_t now = hf_mono_ms();
    pthread_mutex_lock(&c->mu);
    c->st.etcd_reachable = true;
    c->etcd_ok_ms = now;
    snprintf(c->st.etcd_endpoint, sizeof c->st.etcd_endpoint, "%s", hf_etcd_endpoint(c->e));
    pthread_mutex_unlock(&c->mu);
}

static void refuse(hf_cluster_t *c, uint64_t *counter, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void refuse(hf_cluster_t *c, uint64_t *counter, const char *fmt, ...)
{
    char msg[320];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    pthread_mutex_lock(&c->mu);
    (*counter)++;
    snprintf(c->st.last_refusal, sizeof c->st.last_refusal, "%s", msg);
    pthread_mutex_unlock(&c->mu);
    hf_log_error("msg=\"layout refused\" reason=\"%s\"", msg);
}

/* ---- members ------------------------------------------------------------------------ */

static hf_cluster_member_t *member(hf_cluster_t *c, const char *id, bool create)
{
    for (uint32_t i = 0; i < c->nmembers; i++)
        if (strcmp(c->members[i].id, id) == 0)
            return &c->members[i];
    if (!create || hf_layout_check_name(id, HF_NODE_ID_MAX) || c->nmembers >= HF_CLUSTER_NODES_MAX)
        return NULL;
    if (c->nmembers == c->capm) {
        uint32_t cap = c->capm ? c->capm * 2 : 16;
        hf_cluster_member_t *m = realloc(c->members, cap * sizeof *m);
        if (!m)
            return NULL;
        c->members = m;
        c->capm = cap;
    }
    /* Kept sorted by id. */
    uint32_t at = 0;
    while (at < c->nmembers && strcmp(c->members[at].id, id) < 0)
        at++;
    memmove(&c->members[at + 1], &c->members[at], (c->nmembers - at) * sizeof *c->members);
    c->nmembers++;
    hf_cluster_member_t *m = &c->members[at];
    memset(m, 0, sizeof *m);
    snprintf(m->id, sizeof m->id, "%s", id);
    return m;
}

/* A nodes/ or alive/ record (value NULL: deleted). Called with mu held. */
static void member_event(hf_cluster_t *c, const char *id, bool alive_record, const void *value,
                         size_t n, int64_t mod)
{
    hf_cluster_member_t *m = member(c, id, value != NULL);
    if (!m)
        return;
    if (!value) {
        if (alive_record)
            m->alive = false;
        else
            m->registered = false;
        return;
    }
    hf_cluster_member_t t = *m;
    if (hf_cluster_member_decode(value, n, alive_record, &t) != HF_OK) {
        hf_log_warn("msg=\"malformed node record in etcd\" node=%s", id);
        return;
    }
    if (!alive_record && strcmp(t.id, id) != 0)
        return;
    *m = t;
    if (alive_record) {
        m->alive = true;
    } else {
        m->registered = true;
        m->mod_revision = mod;
    }
}

static void count_nodes(hf_cluster_t *c)
{
    uint32_t up = 0, down = 0;
    for (uint32_t i = 0; i < c->nmembers; i++) {
        if (hf_layout_node_index(&c->served, c->members[i].id) < 0)
            continue;
        if (c->members[i].alive)
            up++;
        else
            down++;
    }
    c->st.nodes = c->nmembers;
    c->st.nodes_up = up;
    c->st.nodes_down = down;
}

/* ---- the node's records -------------------------------------------------------------- */

static void self_record(hf_cluster_t *c, hf_cluster_member_t *m)
{
    memset(m, 0, sizeof *m);
    snprintf(m->id, sizeof m->id, "%s", c->node_id);
    snprintf(m->zone, sizeof m->zone, "%s", c->zone);
    m->capacity = c->capacity;
    snprintf(m->rpc, sizeof m->rpc, "%s", c->rpc);
    snprintf(m->s3, sizeof m->s3, "%s", c->s3);
    snprintf(m->status, sizeof m->status, "%s", c->status);
    m->applied = m->confirmed = atomic_load(&c->served_gen);
    m->started_ns = c->started_ns;
    m->seen_ns = hf_time_now();
    m->used_bytes = c->used_bytes ? c->used_bytes(c->cb_ctx) : 0;
}

/* Put nodes/<id> (and, with lease, alive/<id>). */
static int write_records(hf_cluster_t *c, bool node, bool alive)
{
    hf_cluster_member_t me;
    self_record(c, &me);
    char kn[HF_CLUSTER_PREFIX_MAX + HF_NODE_ID_MAX + 16], ka[sizeof kn];
    hf_cluster_key(kn, sizeof kn, c->prefix, "nodes/%s", c->node_id);
    hf_cluster_key(ka, sizeof ka, c->prefix, "alive/%s", c->node_id);
    hf_buf_t bn, ba;
    hf_buf_init(&bn, 4096);
    hf_buf_init(&ba, 4096);
    hf_etcd_op_t ops[2];
    size_t nops = 0;
    int rc = HF_OK;
    if (node && !(rc = hf_cluster_member_encode(&me, false, &bn)))
        ops[nops++] = (hf_etcd_op_t){.kind = HF_ETCD_PUT, .key = kn, .value = bn.data,
                                     .value_len = bn.len};
    if (rc == HF_OK && alive && !(rc = hf_cluster_member_encode(&me, true, &ba)))
        ops[nops++] = (hf_etcd_op_t){.kind = HF_ETCD_PUT, .key = ka, .value = ba.data,
                                     .value_len = ba.len, .lease = c->lease};
    hf_etcd_txn_res_t r;
    if (rc == HF_OK && nops) {
        rc = hf_etcd_txn(c->e, NULL, 0, ops, nops, NULL, 0, hf_mono_ms() + HF_CLUSTER_CALL_MS, &r);
        hf_etcd_txn_free(&r);
    }
    hf_buf_free(&bn);
    hf_buf_free(&ba);
    return rc;
}

static void do_register(hf_cluster_t *c, int64_t now)
{
    int64_t lease, ttl;
    int rc = hf_etcd_lease_grant(c->e, HF_CLUSTER_LEASE_TTL_S, now + HF_CLUSTER_CALL_MS, &lease,
                                 &ttl);
    if (rc == HF_OK) {
        c->lease = lease;
        rc = write_records(c, true, true);
    }
    if (rc) {
        set_error(c, rc, "registering with etcd");
        c->next_register = now + 1000;
        return;
    }
    set_ok(c);
    c->registered = true;
    c->next_keepalive = now + HF_CLUSTER_KEEPALIVE_MS;
    pthread_mutex_lock(&c->mu);
    c->st.registered = true;
    pthread_mutex_unlock(&c->mu);
    hf_log_info("msg=\"registered with the cluster\" node=%s zone=%s lease=%" PRIx64
                " etcd=%s serving_generation=%" PRIu64,
                c->node_id, c->zone, (uint64_t)lease, hf_etcd_endpoint(c->e),
                atomic_load(&c->served_gen));
}

static void do_keepalive(hf_cluster_t *c, int64_t now)
{
    c->next_keepalive = now + HF_CLUSTER_KEEPALIVE_MS;
    int rc = hf_etcd_lease_keepalive(c->e, c->lease, now + HF_CLUSTER_CALL_MS, NULL);
    if (rc == HF_E_NOTFOUND) {
        /* Expired while the node could not reach etcd (or was stopped):
         * peers saw it down; it registers again at once. */
        hf_log_warn("msg=\"cluster lease expired; registering again\" node=%s", c->node_id);
        c->registered = false;
        c->next_register = now;
        pthread_mutex_lock(&c->mu);
        c->st.registered = false;
        pthread_mutex_unlock(&c->mu);
        return;
    }
    if (rc == HF_OK)
        rc = write_records(c, c->records_dirty, true);
    if (rc == HF_OK)
        c->records_dirty = false;
    if (rc) {
        set_error(c, rc, "keeping the lease alive");
        c->next_keepalive = now + 1000;
        return;
    }
    set_ok(c);
}

/* ---- following the layout ---------------------------------------------------------- */

/* The generation a value claims, read leniently (for the status page, even
 * when the value is refused). */
static uint64_t peek_generation(const void *v, size_t n)
{
    json_error_t je;
    json_t *j = json_loadb(v, n, 0, &je);
    json_int_t g = j ? json_integer_value(json_object_get(j, "generation")) : 0;
    json_decref(j);
    return g > 0 ? (uint64_t)g : 0;
}

/* Serve l (taken over) as raw bytes v: the local copy first, then memory. */
static int serve(hf_cluster_t *c, hf_layout_t *l, const void *v, size_t n)
{
    int rc = hf_cluster_local_write(c->data_dir, "layout", v, n);
    if (rc) {
        hf_log_error("msg=\"cannot write the local copy of the layout; not applied\" generation=%" PRIu64
                     " err=\"%s\"",
                     l->generation, hf_strerror(rc));
        hf_layout_free(l);
        return rc;
    }
    uint64_t from = atomic_load(&c->served_gen);
    hf_layout_t old;
    pthread_mutex_lock(&c->mu);
    old = c->prev;
    c->prev = c->served;
    c->served = *l;
    c->st.served = l->generation;
    c->st.applied_total++;
    count_nodes(c);
    pthread_mutex_unlock(&c->mu);
    atomic_store(&c->served_gen, l->generation);
    hf_layout_free(&old);
    hf_layout_init(l);
    hf_log_info("msg=\"layout applied\" generation=%" PRIu64 " from=%" PRIu64 " nodes=%u "
                "partitions=%u change=\"%s\"",
                c->served.generation, from, c->served.nnodes, c->served.nparts,
                c->served.change.summary);
    if (c->on_applied)
        c->on_applied(c->cb_ctx, &c->served, from);
    /* Tell the cluster (the records change rarely: only here). */
    if (c->registered && write_records(c, true, false) != HF_OK)
        c->records_dirty = true;
    return HF_OK;
}

static int fetch_history(hf_cluster_t *c, uint64_t g, hf_buf_t *out)
{
    char k[HF_CLUSTER_PREFIX_MAX + 40];
    hf_cluster_key(k, sizeof k, c->prefix, "history/%020" PRIu64, g);
    hf_etcd_kvs_t r;
    int rc = hf_etcd_range(c->e, k, NULL, 0, 0, hf_mono_ms() + HF_CLUSTER_CALL_MS, &r);
    if (rc == HF_OK && r.n == 0)
        rc = HF_E_NOTFOUND;
    if (rc == HF_OK) {
        hf_buf_reset(out);
        rc = hf_buf_append(out, r.kv[0].value, r.kv[0].value_len);
    }
    hf_etcd_kvs_free(&r);
    return rc;
}

static void consider(hf_cluster_t *c, const void *v, size_t n, bool from_history);

/* A node behind the pin moves up to the pinned generation. */
static void catch_up_to_pin(hf_cluster_t *c)
{
    if (!c->pin || atomic_load(&c->served_gen) >= c->pin)
        return;
    hf_buf_t b;
    hf_buf_init(&b, HF_LAYOUT_MAX);
    if (fetch_history(c, c->pin, &b) == HF_OK)
        consider(c, b.data, b.len, true);
    else
        hf_log_warn("msg=\"cannot read the pinned generation from the history\" generation=%" PRIu64,
                    c->pin);
    hf_buf_free(&b);
}

/* A layout value seen in etcd (P/layout), or the pinned one from the
 * history: apply it or refuse it (control.h). */
static void consider(hf_cluster_t *c, const void *v, size_t n, bool from_history)
{
    uint64_t served = atomic_load(&c->served_gen);
    uint64_t claimed = peek_generation(v, n);
    if (!from_history) {
        pthread_mutex_lock(&c->mu);
        c->st.etcd_generation = claimed;
        c->st.etcd_layout_refused = false;
        pthread_mutex_unlock(&c->mu);
    }
    hf_layout_t l;
    char why[256];
    int rc = hf_layout_decode(v, n, &l, why, sizeof why);
    if (rc) {
        refuse(c, &c->st.refused_invalid, "generation %" PRIu64 " in etcd breaks a check (%s); "
                                          "serving generation %" PRIu64,
               claimed, why, served);
        goto refused;
    }
    if (l.generation < served) {
        refuse(c, &c->st.refused_stale, "generation %" PRIu64 " is older than the one served "
                                        "(%" PRIu64 ")",
               l.generation, served);
        hf_layout_free(&l);
        goto refused;
    }
    if (l.generation == served) {
        if (strcmp(l.change.id, c->served.change.id) != 0)
            refuse(c, &c->st.refused_stale, "generation %" PRIu64 " was reused with other content "
                                            "(change %s, served %s)",
                   l.generation, l.change.id, c->served.change.id);
        hf_layout_free(&l);
        return;
    }
    if (c->pin && l.generation > c->pin) {
        pthread_mutex_lock(&c->mu);
        c->st.ignored_pinned++;
        pthread_mutex_unlock(&c->mu);
        hf_log_warn("msg=\"layout ignored: the cluster is pinned\" generation=%" PRIu64
                    " pinned=%" PRIu64,
                    l.generation, c->pin);
        hf_layout_free(&l);
        catch_up_to_pin(c);
        return;
    }
    if (l.prev_generation == served && served) {
        /* The step from what is served: the rules that need only the two
         * layouts (the writer checked the rest at its swap). */
        hf_rule_facts_t f = {.force_removal = l.change.force_removal};
        hf_rule_violation_t viol[4];
        size_t nv = hf_rules_check(&c->served, &l, &f, viol, 4);
        if (nv) {
            refuse(c, &c->st.refused_invalid, "generation %" PRIu64 " breaks rule %s: %s", l.generation,
                   viol[0].rule, viol[0].msg);
            hf_layout_free(&l);
            goto refused;
        }
    }
    serve(c, &l, v, n);
    return;
refused:
    if (!from_history) {
        pthread_mutex_lock(&c->mu);
        c->st.etcd_layout_refused = true;
        pthread_mutex_unlock(&c->mu);
    }
}

static void pin_event(hf_cluster_t *c, const void *v, size_t n)
{
    uint64_t g = 0;
    if (v) {
        json_error_t je;
        json_t *j = json_loadb(v, n, 0, &je);
        json_int_t x = j ? json_integer_value(json_object_get(j, "generation")) : 0;
        json_decref(j);
        if (x <= 0) {
            hf_log_warn("msg=\"malformed pin in etcd; keeping the previous one\"");
            return;
        }
        g = (uint64_t)x;
    }
    if (g == c->pin)
        return;
    uint64_t before = c->pin;
    c->pin = g;
    pthread_mutex_lock(&c->mu);
    c->st.pinned = g;
    pthread_mutex_unlock(&c->mu);
    int rc = state_write(c);
    if (rc)
        hf_log_error("msg=\"cannot write the pin to the local state\" err=\"%s\"", hf_strerror(rc));
    hf_log_warn("msg=\"%s\" generation=%" PRIu64 " was=%" PRIu64, g ? "layout pinned" : "layout unpinned",
                g, before);
    if (g)
        catch_up_to_pin(c);
    else
        c->reread_layout = true; /* a newer one may have been ignored meanwhile */
}

/* ---- sync and watch ------------------------------------------------------------------- */

static void check_identity(hf_cluster_t *c, const hf_etcd_kv_t *kv)
{
    json_error_t je;
    json_t *j = kv ? json_loadb((const char *)kv->value, kv->value_len, 0, &je) : NULL;
    const char *id = j ? json_string_value(json_object_get(j, "id")) : NULL;
    bool same = id && strcmp(id, c->cluster_id) == 0;
    json_decref(j);
    if (!same && !c->wrong_cluster) {
        c->wrong_cluster = true;
        hf_log_error("msg=\"etcd holds another cluster (or none) under this prefix; this node "
                     "(cluster %s) stops following it\" prefix=%s",
                     c->cluster_id, c->prefix);
        pthread_mutex_lock(&c->mu);
        snprintf(c->st.etcd_error, sizeof c->st.etcd_error,
                 "etcd's %s/cluster is not this node's cluster (%s)", c->prefix, c->cluster_id);
        pthread_mutex_unlock(&c->mu);
    }
}

static const char *suffix(hf_cluster_t *c, const char *key)
{
    size_t pl = strlen(c->prefix);
    if (strncmp(key, c->prefix, pl) != 0 || key[pl] != '/')
        return NULL;
    return key + pl + 1;
}

static int on_event(void *ctx, hf_etcd_event_kind_t kind, const hf_etcd_kv_t *kv)
{
    hf_cluster_t *c = ctx;
    const char *s = suffix(c, kv->key);
    bool put = kind == HF_ETCD_EV_PUT;
    if (!s)
        return 0;
    if (strcmp(s, "layout") == 0) {
        c->layout_seen_mod = kv->mod_revision;
        if (put)
            consider(c, kv->value, kv->value_len, false);
        else
            refuse(c, &c->st.refused_invalid, "the layout was deleted from etcd; serving "
                                              "generation %" PRIu64,
                   atomic_load(&c->served_gen));
    } else if (strcmp(s, "pin") == 0) {
        pin_event(c, put ? kv->value : NULL, kv->value_len);
    } else if (strcmp(s, "cluster") == 0) {
        check_identity(c, put ? kv : NULL);
    } else if (strncmp(s, "nodes/", 6) == 0 || strncmp(s, "alive/", 6) == 0) {
        pthread_mutex_lock(&c->mu);
        member_event(c, s + 6, s[0] == 'a', put ? kv->value : NULL, kv->value_len,
                     kv->mod_revision);
        count_nodes(c);
        pthread_mutex_unlock(&c->mu);
    } else {
        hf_catalog_event(c, s, put, kv);
    }
    return 0;
}

/* Read everything at one revision, apply it, and watch from there. */
static void do_sync(hf_cluster_t *c, int64_t now)
{
    char k[7][HF_CLUSTER_PREFIX_MAX + 16], e[4][HF_CLUSTER_PREFIX_MAX + 16];
    hf_cluster_key(k[0], sizeof k[0], c->prefix, "layout");
    hf_cluster_key(k[1], sizeof k[1], c->prefix, "pin");
    hf_cluster_key(k[2], sizeof k[2], c->prefix, "cluster");
    hf_cluster_key(k[3], sizeof k[3], c->prefix, "nodes/");
    hf_cluster_key(k[4], sizeof k[4], c->prefix, "alive/");
    hf_cluster_key(k[5], sizeof k[5], c->prefix, "users/");
    hf_cluster_key(k[6], sizeof k[6], c->prefix, "buckets/");
    for (int i = 0; i < 4; i++)
        hf_etcd_prefix_end(k[3 + i], e[i], sizeof e[i]);
    hf_etcd_op_t gets[7];
    for (int i = 0; i < 7; i++)
        gets[i] = (hf_etcd_op_t){.kind = HF_ETCD_GET, .key = k[i], .range_end = i >= 3 ? e[i - 3] : NULL};
    hf_etcd_txn_res_t r;
    int rc = hf_etcd_txn(c->e, NULL, 0, gets, 7, NULL, 0, now + HF_CLUSTER_CALL_MS, &r);
    if (rc == HF_OK && r.ngets != 7) {
        hf_etcd_txn_free(&r);
        rc = HF_E_PROTO;
    }
    if (rc) {
        set_error(c, rc, "reading the cluster state");
        c->next_sync = now + 1000;
        return;
    }
    set_ok(c);
    check_identity(c, r.gets[2].n ? &r.gets[2].kv[0] : NULL);
    if (c->wrong_cluster) {
        hf_etcd_txn_free(&r);
        c->next_sync = now + 5000;
        return;
    }
    pthread_mutex_lock(&c->mu);
    for (uint32_t i = 0; i < c->nmembers; i++)
        c->members[i].registered = c->members[i].alive = false;
    for (size_t i = 0; i < r.gets[3].n; i++)
        member_event(c, r.gets[3].kv[i].key + strlen(k[3]), false, r.gets[3].kv[i].value,
                     r.gets[3].kv[i].value_len, r.gets[3].kv[i].mod_revision);
    for (size_t i = 0; i < r.gets[4].n; i++)
        member_event(c, r.gets[4].kv[i].key + strlen(k[4]), true, r.gets[4].kv[i].value,
                     r.gets[4].kv[i].value_len, r.gets[4].kv[i].mod_revision);
    count_nodes(c);
    pthread_mutex_unlock(&c->mu);
    pin_event(c, r.gets[1].n ? r.gets[1].kv[0].value : NULL, r.gets[1].n ? r.gets[1].kv[0].value_len : 0);
    if (r.gets[0].n) {
        c->layout_seen_mod = r.gets[0].kv[0].mod_revision;
        consider(c, r.gets[0].kv[0].value, r.gets[0].kv[0].value_len, false);
    } else if (atomic_load(&c->served_gen)) {
        refuse(c, &c->st.refused_invalid, "etcd holds no layout; serving generation %" PRIu64,
               atomic_load(&c->served_gen));
    }
    hf_catalog_sync(c, &r.gets[5], &r.gets[6]);
    int64_t rev = r.revision;
    hf_etcd_txn_free(&r);
    char end[HF_CLUSTER_PREFIX_MAX + 4], pre[HF_CLUSTER_PREFIX_MAX + 4];
    snprintf(pre, sizeof pre, "%s/", c->prefix);
    hf_etcd_prefix_end(pre, end, sizeof end);
    rc = hf_etcd_watch_open(c->e, pre, end, rev + 1, &c->w);
    if (rc) {
        c->next_sync = now + 1000;
        return;
    }
    c->probe_rev = rev;
    c->next_probe = now + HF_CLUSTER_PROBE_MS;
    c->reread_layout = false;
    if (c->records_dirty && c->registered && write_records(c, true, false) == HF_OK)
        c->records_dirty = false;
}

static void close_watch(hf_cluster_t *c, int64_t now, const char *why)
{
    if (!c->w)
        return;
    hf_log_info("msg=\"etcd watch ended; reading the state again\" why=\"%s\"", why);
    hf_etcd_watch_close(c->w);
    c->w = NULL;
    c->next_sync = now + 200;
}

static void do_probe(hf_cluster_t *c, int64_t now)
{
    c->next_probe = now + HF_CLUSTER_PROBE_MS;
    char k[HF_CLUSTER_PREFIX_MAX + 16];
    hf_cluster_key(k, sizeof k, c->prefix, "layout");
    hf_etcd_kvs_t r;
    int rc = hf_etcd_range(c->e, k, NULL, 0, 0, now + HF_CLUSTER_CALL_MS, &r);
    if (rc) {
        set_error(c, rc, "reading the layout");
        return;
    }
    set_ok(c);
    if (r.n) {
        uint64_t g = peek_generation(r.kv[0].value, r.kv[0].value_len);
        pthread_mutex_lock(&c->mu);
        c->st.etcd_generation = g;
        pthread_mutex_unlock(&c->mu);
    }
    /* The watch must have passed what the store held one probe ago. */
    if (c->w && hf_etcd_watch_revision(c->w) < c->probe_rev)
        close_watch(c, now, "the watch fell behind the store");
    else if (c->reread_layout && r.n)
        consider(c, r.kv[0].value, r.kv[0].value_len, false);
    c->reread_layout = false;
    c->probe_rev = r.revision;
    hf_etcd_kvs_free(&r);
}

/* ---- jobs ---------------------------------------------------------------------------- */

int hf_cluster_call(hf_cluster_t *c, int (*fn)(hf_cluster_t *c, void *arg), void *arg)
{
    struct hf_cluster_job j = {.fn = fn, .arg = arg};
    hf_done_init(&j.done);
    pthread_mutex_lock(&c->jmu);
    if (c->jstop) {
        pthread_mutex_unlock(&c->jmu);
        return HF_E_SHUTDOWN;
    }
    /* A full queue refuses rather than waits: a caller is a request's
     * fiber, and catalog writes are few (admin calls, CreateBucket), so
     * this many waiting means the control thread is stuck on etcd. */
    if (c->njobs >= HF_CLUSTER_JOBS_MAX) {
        pthread_mutex_unlock(&c->jmu);
        return HF_E_BUSY;
    }
    if (c->jtail)
        c->jtail->next = &j;
    else
        c->jhead = &j;
    c->jtail = &j;
    c->njobs++;
    pthread_cond_signal(&c->jcv);
    pthread_mutex_unlock(&c->jmu);
    hf_etcd_watch_t *w = atomic_load(&c->wake);
    if (w)
        hf_etcd_watch_wakeup(w);
    /* A fiber parks, a plain thread sleeps (base/fiber.h). */
    hf_done_wait(&j.done);
    return j.rc;
}

static void run_jobs(hf_cluster_t *c)
{
    for (;;) {
        pthread_mutex_lock(&c->jmu);
        struct hf_cluster_job *j = c->jhead;
        if (j) {
            c->jhead = j->next;
            if (!c->jhead)
                c->jtail = NULL;
            c->njobs--;
        }
        pthread_mutex_unlock(&c->jmu);
        if (!j)
            return;
        j->rc = j->fn(c, j->arg);
        hf_done_post(&j->done);
    }
}

/* Wait up to ms for a job (no watch to wait on). */
static void idle(hf_cluster_t *c, int64_t ms)
{
    pthread_mutex_lock(&c->jmu);
    if (!c->jhead && !atomic_load(&c->stop)) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += (long)(ms % 1000) * 1000000L;
        ts.tv_sec += ms / 1000 + ts.tv_nsec / 1000000000L;
        ts.tv_nsec %= 1000000000L;
        pthread_cond_timedwait(&c->jcv, &c->jmu, &ts);
    }
    pthread_mutex_unlock(&c->jmu);
}

/* ---- the thread ------------------------------------------------------------------------- */

static int64_t min64(int64_t a, int64_t b)
{
    return a < b ? a : b;
}

static void *control_main(void *arg)
{
    hf_cluster_t *c = arg;
    while (!atomic_load(&c->stop)) {
        int64_t now = hf_mono_ms();
        run_jobs(c);
        if (!c->wrong_cluster) {
            if (!c->registered && now >= c->next_register)
                do_register(c, now);
            else if (c->registered && now >= c->next_keepalive)
                do_keepalive(c, now);
        }
        if (!c->w && now >= c->next_sync)
            do_sync(c, now);
        atomic_store(&c->wake, c->w);
        if (c->w && now >= c->next_probe)
            do_probe(c, now);
        now = hf_mono_ms();
        int64_t due = c->w ? c->next_probe : c->next_sync;
        due = min64(due, c->registered ? c->next_keepalive : c->next_register);
        int64_t wait = due - now;
        wait = wait < 0 ? 0 : wait > 500 ? 500 : wait;
        if (c->w) {
            int rc = hf_etcd_watch_poll(c->w, (int)wait, on_event, c);
            if (rc) {
                set_error(c, rc, "watching etcd");
                atomic_store(&c->wake, NULL);
                close_watch(c, hf_mono_ms(), hf_etcd_watch_error(c->w) ? hf_etcd_watch_error(c->w) : "");
            }
        } else {
            idle(c, wait ? wait : 1);
        }
    }
    atomic_store(&c->wake, NULL);
    if (c->w) {
        hf_etcd_watch_close(c->w);
        c->w = NULL;
    }
    /* Leave at once rather than when the lease runs out. */
    if (c->registered)
        hf_etcd_lease_revoke(c->e, c->lease, hf_mono_ms() + 1000);
    pthread_mutex_lock(&c->jmu);
    c->jstop = true;
    pthread_mutex_unlock(&c->jmu);
    /* Whatever was queued meanwhile fails plainly. */
    for (;;) {
        pthread_mutex_lock(&c->jmu);
        struct hf_cluster_job *j = c->jhead;
        if (j) {
            c->jhead = j->next;
            c->njobs--;
        }
        pthread_mutex_unlock(&c->jmu);
        if (!j)
            break;
        j->rc = HF_E_SHUTDOWN;
        hf_done_post(&j->done);
    }
    return NULL;
}

/* ---- joining ------------------------------------------------------------------------- */

/* The cluster's identity from etcd, created if this is the first node.
 * Retried until the deadline: nodes and etcd often start together. */
static int join(hf_cluster_t *c, char *why, size_t whycap)
{
    char k[HF_CLUSTER_PREFIX_MAX + 16];
    hf_cluster_key(k, sizeof k, c->prefix, "cluster");
    int64_t deadline = hf_mono_ms() + HF_CLUSTER_JOIN_MS;
    int rc;
    for (;;) {
        hf_etcd_kvs_t r;
        rc = hf_etcd_range(c->e, k, NULL, 0, 0, min64(deadline, hf_mono_ms() + HF_CLUSTER_CALL_MS), &r);
        if (rc == HF_OK && r.n) {
            json_error_t je;
            json_t *j = json_loadb((const char *)r.kv[0].value, r.kv[0].value_len, 0, &je);
            const char *id = NULL, *ck = NULL;
            rc = HF_E_CORRUPT;
            if (j && !json_unpack(j, "{s:s,s:s}", "id", &id, "secret_check", &ck) &&
                strlen(id) == 32) {
                snprintf(c->cluster_id, sizeof c->cluster_id, "%s", id);
                hf_cluster_secret_check(c->secret, c->secret_len, id, c->check);
                rc = strcmp(ck, c->check) == 0 ? HF_OK : HF_E_AUTH;
            }
            json_decref(j);
            hf_etcd_kvs_free(&r);
            if (rc == HF_E_AUTH)
                return hf_cluster_why(why, whycap, "the cluster secret is wrong: it does not match "
                                                   "cluster %s in etcd (%s); give every node the "
                                                   "same HOLDFAST_CLUSTER_SECRET or "
                                                   "--cluster-secret-file",
                                      c->cluster_id, k),
                       HF_E_AUTH;
            if (rc)
                return hf_cluster_why(why, whycap, "etcd's %s is malformed", k), HF_E_CORRUPT;
            return HF_OK;
        }
        if (rc == HF_OK) {
            /* No cluster yet: this node founds it. */
            hf_etcd_kvs_free(&r);
            unsigned char rnd[16];
            char id[33], ck[65], at[32];
            if ((rc = hf_rand_bytes(rnd, sizeof rnd)))
                return rc;
            hf_hex_encode(id, rnd, sizeof rnd);
            hf_cluster_secret_check(c->secret, c->secret_len, id, ck);
            hf_time_iso8601(at, hf_time_now());
            json_t *j = json_pack("{s:i,s:s,s:s,s:s,s:s}", "format", 1, "id", id, "created", at,
                                  "founder", c->node_id, "secret_check", ck);
            char *s = j ? json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
            json_decref(j);
            if (!s)
                return -ENOMEM;
            hf_etcd_cmp_t cmp = {.key = k, .target = HF_ETCD_VERSION, .result = HF_ETCD_EQUAL};
            hf_etcd_op_t put = {.kind = HF_ETCD_PUT, .key = k, .value = s, .value_len = strlen(s)};
            hf_etcd_txn_res_t tr;
            rc = hf_etcd_txn(c->e, &cmp, 1, &put, 1, NULL, 0, min64(deadline, hf_mono_ms() + HF_CLUSTER_CALL_MS), &tr);
            free(s);
            if (rc == HF_OK) {
                bool won = tr.succeeded;
                hf_etcd_txn_free(&tr);
                if (won)
                    hf_log_info("msg=\"founded a new cluster\" cluster=%s prefix=%s", id, c->prefix);
                continue; /* read it back either way (another node may have won) */
            }
        }
        if (hf_mono_ms() + 300 >= deadline)
            break;
        struct timespec ts = {0, 300 * 1000000L};
        nanosleep(&ts, NULL);
    }
    return hf_cluster_why(why, whycap, "cannot reach etcd to join the cluster: %s (%s); a node's "
                                       "first start needs etcd (later starts do not)",
                          hf_cluster_etcd_err(rc), hf_etcd_last_error(c->e)),
           rc == HF_E_INVAL ? HF_E_CLOSED : rc;
}

int hf_cluster_open(const hf_cluster_config_t *cfg, hf_cluster_t **out, bool *root_created,
                    char *why, size_t whycap)
{
    *out = NULL;
    *root_created = false;
    hf_cluster_t *c = calloc(1, sizeof *c);
    if (!c)
        return -ENOMEM;
    pthread_mutex_init(&c->mu, NULL);
    pthread_mutex_init(&c->jmu, NULL);
    pthread_cond_init(&c->jcv, NULL);
    hf_layout_init(&c->served);
    hf_layout_init(&c->prev);
    int rc = HF_E_INVAL;
    if (hf_cluster_parse_url(cfg->url, c->endpoints, sizeof c->endpoints, c->prefix,
                             sizeof c->prefix, why, whycap))
        goto fail;
    char ewhy[256];
    if ((rc = hf_etcd_create(c->endpoints, &c->e, ewhy, sizeof ewhy))) {
        hf_cluster_why(why, whycap, "--cluster: %s", ewhy);
        goto fail;
    }
    snprintf(c->node_id, sizeof c->node_id, "%s", cfg->node_id);
    snprintf(c->zone, sizeof c->zone, "%s", cfg->zone);
    snprintf(c->rpc, sizeof c->rpc, "%s", cfg->rpc ? cfg->rpc : "");
    snprintf(c->s3, sizeof c->s3, "%s", cfg->s3_addr ? cfg->s3_addr : "");
    snprintf(c->status, sizeof c->status, "%s", cfg->status_addr ? cfg->status_addr : "");
    snprintf(c->data_dir, sizeof c->data_dir, "%s", cfg->data_dir);
    snprintf(c->region, sizeof c->region, "%s", cfg->region ? cfg->region : "");
    c->capacity = cfg->capacity;
    memcpy(c->secret, cfg->secret, cfg->secret_len);
    c->secret_len = cfg->secret_len;
    c->meta = cfg->meta;
    c->on_applied = cfg->on_applied;
    c->on_root_key = cfg->on_root_key;
    c->used_bytes = cfg->used_bytes;
    c->cb_ctx = cfg->ctx;
    c->started_ns = hf_time_now();
    snprintf(c->st.node_id, sizeof c->st.node_id, "%s", c->node_id);
    snprintf(c->st.zone, sizeof c->st.zone, "%s", c->zone);
    snprintf(c->st.prefix, sizeof c->st.prefix, "%s", c->prefix);
    c->etcd_ok_ms = -1;

    char node_id[HF_NODE_ID_MAX + 1], check[65];
    rc = state_read(c, node_id, sizeof node_id, check, sizeof check);
    if (rc == HF_OK) {
        if (strcmp(node_id, c->node_id) != 0) {
            rc = HF_E_STATE;
            hf_cluster_why(why, whycap, "this data directory belongs to node %s, not %s: give "
                                        "--node-id %s, or an empty --data for a new node",
                           node_id, c->node_id, node_id);
            goto fail;
        }
        hf_cluster_secret_check(c->secret, c->secret_len, c->cluster_id, c->check);
        if (strcmp(check, c->check) != 0) {
            rc = HF_E_AUTH;
            hf_cluster_why(why, whycap, "the cluster secret is wrong: it does not match the one "
                                        "this node joined cluster %s with; give every node the "
                                        "same HOLDFAST_CLUSTER_SECRET or --cluster-secret-file",
                           c->cluster_id);
            goto fail;
        }
        c->st.pinned = c->pin;
        /* Serve the local copy at once: no waiting for etcd. */
        hf_buf_t b;
        hf_buf_init(&b, HF_CLUSTER_FILE_MAX);
        int lrc = hf_cluster_local_read(c->data_dir, "layout", &b);
        if (lrc == HF_OK) {
            char w[256];
            if (hf_layout_decode(b.data, b.len, &c->served, w, sizeof w) == HF_OK) {
                atomic_store(&c->served_gen, c->served.generation);
                c->st.served = c->served.generation;
            } else {
                hf_log_error("msg=\"the local copy of the layout is refused; serving none until "
                             "etcd gives one\" why=\"%s\"",
                             w);
            }
        } else if (lrc != HF_E_NOTFOUND) {
            hf_log_error("msg=\"the local copy of the layout cannot be read; serving none until "
                         "etcd gives one\" err=\"%s\"",
                         hf_strerror(lrc));
        }
        hf_buf_free(&b);
    } else if (rc == HF_E_NOTFOUND) {
        /* A first start. The data directory must not hold a single node's
         * users or buckets: joining in place is not supported. */
        hf_arena_t a;
        hf_arena_init(&a, 1 << 20);
        hf_user_t *us;
        hf_bucket_t *bs;
        size_t nu = 0, nb = 0;
        if (hf_meta_user_list(c->meta, &a, &us, &nu) == HF_OK && nu == 0)
            hf_meta_bucket_list(c->meta, 0, &a, &bs, &nb);
        hf_arena_free(&a);
        if (nu || nb) {
            rc = HF_E_STATE;
            hf_cluster_why(why, whycap, "this data directory holds a single node's users or "
                                        "buckets; a node joins a cluster with an empty --data "
                                        "(moving a single node into a cluster is not supported "
                                        "yet)");
            goto fail;
        }
        if ((rc = join(c, why, whycap)))
            goto fail;
        if ((rc = hf_catalog_join(c, root_created, cfg->root_access_key, cfg->root_secret_key, why,
                                   whycap)))
            goto fail;
        if ((rc = state_write(c))) {
            hf_cluster_why(why, whycap, "cannot write %s/cluster/state: %s", c->data_dir,
                           hf_strerror(rc));
            goto fail;
        }
    } else {
        hf_cluster_why(why, whycap, "%s/cluster/state cannot be read: %s", c->data_dir,
                       hf_strerror(rc));
        goto fail;
    }
    snprintf(c->st.cluster_id, sizeof c->st.cluster_id, "%s", c->cluster_id);
    *out = c;
    return HF_OK;
fail:
    hf_cluster_close(c);
    return rc;
}

int hf_cluster_start(hf_cluster_t *c)
{
    int rc = pthread_create(&c->th, NULL, control_main, c);
    if (rc)
        return -rc;
    pthread_setname_np(c->th, "cluster");
    c->started = true;
    return HF_OK;
}

void hf_cluster_stop(hf_cluster_t *c)
{
    if (!c || !c->started)
        return;
    atomic_store(&c->stop, 1);
    pthread_mutex_lock(&c->jmu);
    pthread_cond_broadcast(&c->jcv);
    pthread_mutex_unlock(&c->jmu);
    hf_etcd_watch_t *w = atomic_load(&c->wake);
    if (w)
        hf_etcd_watch_wakeup(w);
    pthread_join(c->th, NULL);
    c->started = false;
}

void hf_cluster_close(hf_cluster_t *c)
{
    if (!c)
        return;
    hf_cluster_stop(c);
    hf_etcd_destroy(c->e);
    hf_layout_free(&c->served);
    hf_layout_free(&c->prev);
    free(c->members);
    memset(c->secret, 0, sizeof c->secret);
    pthread_mutex_destroy(&c->mu);
    pthread_mutex_destroy(&c->jmu);
    pthread_cond_destroy(&c->jcv);
    free(c);
}

/* ---- readers ---------------------------------------------------------------------------- */

void hf_cluster_stats(hf_cluster_t *c, hf_cluster_stats_t *out)
{
    int64_t now = hf_mono_ms();
    pthread_mutex_lock(&c->mu);
    *out = c->st;
    out->etcd_ok_age_ms = c->etcd_ok_ms < 0 ? -1 : now - c->etcd_ok_ms;
    pthread_mutex_unlock(&c->mu);
}

static const char *state_of(const hf_cluster_t *c, const hf_cluster_member_t *m, bool *in)
{
    *in = hf_layout_node_index(&c->served, m->id) >= 0;
    if (*in)
        return m->alive ? "up" : "down";
    if (!m->alive)
        return "down";
    /* Alive, not in the layout: leaving (in the one before, with data
     * still to move off it), or new (never in, or gone for good). */
    if (hf_layout_node_index(&c->prev, m->id) >= 0) {
        for (uint32_t i = 0; i < c->nmembers; i++) {
            const hf_cluster_member_t *o = &c->members[i];
            if (hf_layout_node_index(&c->served, o->id) >= 0 && o->confirmed < c->served.generation)
                return "draining";
        }
    }
    return "new";
}

int hf_cluster_nodes(hf_cluster_t *c, hf_cluster_node_t **out, uint32_t *n)
{
    pthread_mutex_lock(&c->mu);
    uint32_t k = c->nmembers;
    /* Nodes of the layout etcd has never told this node about (etcd down
     * since start) are listed too, as down with no record. */
    for (uint32_t i = 0; i < c->served.nnodes; i++) {
        bool known = false;
        for (uint32_t m = 0; m < c->nmembers && !known; m++)
            known = strcmp(c->members[m].id, c->served.nodes[i].id) == 0;
        k += !known;
    }
    hf_cluster_node_t *v = calloc(k ? k : 1, sizeof *v);
    if (!v) {
        pthread_mutex_unlock(&c->mu);
        return -ENOMEM;
    }
    uint32_t j = 0;
    for (uint32_t i = 0; i < c->nmembers; i++) {
        v[j].m = c->members[i];
        v[j].state = state_of(c, &c->members[i], &v[j].in_layout);
        j++;
    }
    for (uint32_t i = 0; i < c->served.nnodes; i++) {
        bool known = false;
        for (uint32_t m = 0; m < c->nmembers && !known; m++)
            known = strcmp(c->members[m].id, c->served.nodes[i].id) == 0;
        if (known)
            continue;
        const hf_layout_node_t *ln = &c->served.nodes[i];
        snprintf(v[j].m.id, sizeof v[j].m.id, "%s", ln->id);
        snprintf(v[j].m.zone, sizeof v[j].m.zone, "%s", ln->zone);
        snprintf(v[j].m.rpc, sizeof v[j].m.rpc, "%s", ln->rpc);
        v[j].m.capacity = ln->capacity;
        v[j].state = "down";
        v[j].in_layout = true;
        j++;
    }
    pthread_mutex_unlock(&c->mu);
    *out = v;
    *n = j;
    return HF_OK;
}

int hf_cluster_layout(hf_cluster_t *c, hf_layout_t *out)
{
    pthread_mutex_lock(&c->mu);
    int rc = hf_layout_copy(out, &c->served);
    pthread_mutex_unlock(&c->mu);
    return rc;
}
