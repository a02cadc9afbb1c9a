/*
 * ops.c -- the cluster's control state in etcd and the operator's
 * operations on it; see ops.h.
 */
#include "cluster/ops.h"

#include "cluster/internal.h"

#include "base/err.h"
#include "base/rand.h"
#include "base/str.h"
#include "base/time.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int hf_cluster_parse_url(const char *url, char *endpoints, size_t epcap, char *prefix,
                         size_t pcap, char *why, size_t whycap)
{
    if (strncmp(url, "etcd://", 7) != 0)
        return hf_cluster_why(why, whycap, "expected etcd://HOST:PORT[,HOST:PORT...][/PREFIX], "
                                           "not '%.80s'",
                              url);
    const char *p = url + 7, *slash = strchr(p, '/');
    size_t n = slash ? (size_t)(slash - p) : strlen(p);
    if (n == 0 || n >= epcap)
        return hf_cluster_why(why, whycap, "no etcd endpoint in '%.80s'", url);
    memcpy(endpoints, p, n);
    endpoints[n] = '\0';
    const char *pre = slash ? slash : HF_CLUSTER_PREFIX_DEFAULT;
    size_t pl = strlen(pre);
    while (pl > 1 && pre[pl - 1] == '/')
        pl--;
    if (pl < 2 || pl > HF_CLUSTER_PREFIX_MAX || pl >= pcap)
        return hf_cluster_why(why, whycap, "the prefix must be /NAME, at most %d bytes",
                              HF_CLUSTER_PREFIX_MAX);
    for (size_t i = 1; i < pl; i++) {
        char c = pre[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.' || c == '/'))
            return hf_cluster_why(why, whycap, "the prefix may contain letters, digits and - _ . / "
                                               "only");
    }
    memcpy(prefix, pre, pl);
    prefix[pl] = '\0';
    return HF_OK;
}

int hf_cluster_key(char *out, size_t cap, const char *prefix, const char *fmt, ...)
{
    int n = snprintf(out, cap, "%s/", prefix);
    if (n < 0 || (size_t)n >= cap)
        return HF_E_TOOBIG;
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(out + n, cap - (size_t)n, fmt, ap);
    va_end(ap);
    return m < 0 || (size_t)(n + m) >= cap ? HF_E_TOOBIG : HF_OK;
}

const char *hf_cluster_etcd_err(int rc)
{
    if (rc == HF_E_CLOSED)
        return "no etcd member answered";
    if (rc == HF_E_TIMEOUT)
        return "etcd did not answer in time";
    return hf_strerror(rc);
}

void hf_cluster_by(char *out, size_t cap, const char *local_user)
{
    char host[256] = "";
    gethostname(host, sizeof host - 1);
    snprintf(out, cap, "%s@%s", local_user, host[0] ? host : "?");
}

/* ---- member records ---------------------------------------------------------------- */

int hf_cluster_json_buf(json_t *j, hf_buf_t *out)
{
    char *s = j ? json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(j);
    if (!s)
        return -ENOMEM;
    hf_buf_reset(out);
    int rc = hf_buf_puts(out, s);
    free(s);
    return rc;
}

int hf_cluster_member_encode(const hf_cluster_member_t *m, bool alive_record, hf_buf_t *out)
{
    char seen[32] = "", started[32] = "";
    json_t *j;
    if (alive_record) {
        if (m->seen_ns)
            hf_time_iso8601(seen, m->seen_ns);
        j = json_pack("{s:i,s:s,s:I}", "format", 1, "seen", seen, "used",
                      (json_int_t)m->used_bytes);
    } else {
        if (m->started_ns)
            hf_time_iso8601(started, m->started_ns);
        j = json_pack("{s:i,s:s,s:s,s:I,s:s,s:s,s:s,s:I,s:I,s:s}", "format", 1, "id", m->id, "zone",
                      m->zone, "capacity", (json_int_t)m->capacity, "rpc", m->rpc, "s3", m->s3,
                      "status", m->status, "applied", (json_int_t)m->applied, "confirmed",
                      (json_int_t)m->confirmed, "started", started);
    }
    return hf_cluster_json_buf(j, out);
}

static int copy_str(json_t *o, const char *k, char *out, size_t cap)
{
    const char *s = json_string_value(json_object_get(o, k));
    if (!s || strlen(s) >= cap)
        return -1;
    memcpy(out, s, strlen(s) + 1);
    return 0;
}

static int get_time(json_t *o, const char *k, int64_t *ns)
{
    const char *s = json_string_value(json_object_get(o, k));
    int64_t secs = 0;
    *ns = 0;
    if (!s)
        return -1;
    if (*s && hf_time_parse_iso8601(s, strlen(s), &secs) != HF_OK)
        return -1;
    *ns = secs * 1000000000;
    return 0;
}

static int get_u64(json_t *o, const char *k, uint64_t *out)
{
    json_t *v = json_object_get(o, k);
    if (!json_is_integer(v) || json_integer_value(v) < 0)
        return -1;
    *out = (uint64_t)json_integer_value(v);
    return 0;
}

int hf_cluster_member_decode(const void *data, size_t n, bool alive_record,
                             hf_cluster_member_t *m)
{
    json_error_t je;
    json_t *j = json_loadb(data, n, 0, &je);
    int rc = HF_E_INVAL;
    if (!json_is_object(j))
        goto out;
    if (alive_record) {
        if (get_time(j, "seen", &m->seen_ns) || get_u64(j, "used", &m->used_bytes))
            goto out;
    } else {
        if (copy_str(j, "id", m->id, sizeof m->id) || copy_str(j, "zone", m->zone, sizeof m->zone) ||
            get_u64(j, "capacity", &m->capacity) || copy_str(j, "rpc", m->rpc, sizeof m->rpc) ||
            copy_str(j, "s3", m->s3, sizeof m->s3) ||
            copy_str(j, "status", m->status, sizeof m->status) ||
            get_u64(j, "applied", &m->applied) || get_u64(j, "confirmed", &m->confirmed) ||
            get_time(j, "started", &m->started_ns))
            goto out;
    }
    rc = HF_OK;
out:
    json_decref(j);
    return rc;
}

/* ---- the view ------------------------------------------------------------------------ */

void hf_cluster_view_free(hf_cluster_view_t *v)
{
    hf_layout_free(&v->layout);
    free(v->members);
    memset(v, 0, sizeof *v);
    hf_layout_init(&v->layout);
}

hf_cluster_member_t *hf_cluster_view_member(hf_cluster_view_t *v, const char *id)
{
    for (uint32_t i = 0; i < v->nmembers; i++)
        if (strcmp(v->members[i].id, id) == 0)
            return &v->members[i];
    return NULL;
}

static int cmp_member(const void *a, const void *b)
{
    return strcmp(((const hf_cluster_member_t *)a)->id, ((const hf_cluster_member_t *)b)->id);
}

/* The member named by the last path element of key, added if new. */
static hf_cluster_member_t *member_for(hf_cluster_view_t *v, const char *key, uint32_t cap)
{
    const char *id = strrchr(key, '/');
    id = id ? id + 1 : key;
    hf_cluster_member_t *m = hf_cluster_view_member(v, id);
    if (m || v->nmembers >= cap || hf_layout_check_name(id, HF_NODE_ID_MAX))
        return m;
    m = &v->members[v->nmembers++];
    memset(m, 0, sizeof *m);
    snprintf(m->id, sizeof m->id, "%s", id);
    return m;
}

static int decode_pin(const hf_etcd_kv_t *kv, hf_cluster_view_t *v)
{
    json_error_t je;
    json_t *j = json_loadb((const char *)kv->value, kv->value_len, 0, &je);
    uint64_t g = 0;
    int rc = HF_E_INVAL;
    if (json_is_object(j) && !get_u64(j, "generation", &g) && g > 0 &&
        !copy_str(j, "by", v->pin_by, sizeof v->pin_by) && !get_time(j, "at", &v->pin_at_ns)) {
        v->pinned = true;
        v->pin_generation = g;
        v->pin_mod = kv->mod_revision;
        rc = HF_OK;
    }
    json_decref(j);
    return rc;
}

int hf_cluster_view_read(hf_etcd_t *e, const char *prefix, int64_t deadline_ms,
                         hf_cluster_view_t *v, char *why, size_t whycap)
{
    memset(v, 0, sizeof *v);
    hf_layout_init(&v->layout);
    char kl[HF_CLUSTER_PREFIX_MAX + 32], kp[sizeof kl], kn[sizeof kl], kne[sizeof kl],
        ka[sizeof kl], kae[sizeof kl];
    hf_cluster_key(kl, sizeof kl, prefix, "layout");
    hf_cluster_key(kp, sizeof kp, prefix, "pin");
    hf_cluster_key(kn, sizeof kn, prefix, "nodes/");
    hf_cluster_key(ka, sizeof ka, prefix, "alive/");
    hf_etcd_prefix_end(kn, kne, sizeof kne);
    hf_etcd_prefix_end(ka, kae, sizeof kae);
    hf_etcd_op_t gets[] = {
        {.kind = HF_ETCD_GET, .key = kl},
        {.kind = HF_ETCD_GET, .key = kp},
        {.kind = HF_ETCD_GET, .key = kn, .range_end = kne},
        {.kind = HF_ETCD_GET, .key = ka, .range_end = kae},
    };
    hf_etcd_txn_res_t r;
    /* A transaction with no compares and only reads: one revision for all
     * four, and safe to retry. */
    int rc = hf_etcd_txn(e, NULL, 0, gets, 4, NULL, 0, deadline_ms, &r);
    if (rc) {
        hf_cluster_why(why, whycap, "cannot read the cluster state from etcd: %s (%s)",
                       hf_cluster_etcd_err(rc), hf_etcd_last_error(e));
        return rc;
    }
    v->revision = r.revision;
    if (r.ngets != 4) {
        hf_etcd_txn_free(&r);
        return hf_cluster_why(why, whycap, "etcd answered %zu of 4 reads", r.ngets);
    }
    if (r.gets[0].n) {
        const hf_etcd_kv_t *kv = &r.gets[0].kv[0];
        v->layout_mod = kv->mod_revision;
        if (hf_layout_decode(kv->value, kv->value_len, &v->layout, v->refused_why,
                             sizeof v->refused_why) != HF_OK) {
            v->layout_refused = true;
            json_error_t je;
            json_t *j = json_loadb((const char *)kv->value, kv->value_len, 0, &je);
            json_int_t g = j ? json_integer_value(json_object_get(j, "generation")) : 0;
            json_decref(j);
            v->refused_generation = g > 0 ? (uint64_t)g : 0;
        }
    }
    if (r.gets[1].n && decode_pin(&r.gets[1].kv[0], v) != HF_OK) {
        rc = hf_cluster_why(why, whycap, "the pin in etcd (%s) is malformed", kp);
        goto out;
    }
    uint32_t cap = (uint32_t)(r.gets[2].n + r.gets[3].n);
    v->members = calloc(cap ? cap : 1, sizeof *v->members);
    if (!v->members) {
        rc = -ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < r.gets[2].n; i++) {
        const hf_etcd_kv_t *kv = &r.gets[2].kv[i];
        hf_cluster_member_t *m = member_for(v, kv->key, cap);
        char id[sizeof m->id];
        if (!m)
            continue;
        snprintf(id, sizeof id, "%s", m->id);
        if (hf_cluster_member_decode(kv->value, kv->value_len, false, m) != HF_OK ||
            strcmp(id, m->id) != 0) {
            snprintf(m->id, sizeof m->id, "%s", id); /* listed, but as unknown */
            continue;
        }
        m->registered = true;
        m->mod_revision = kv->mod_revision;
    }
    for (size_t i = 0; i < r.gets[3].n; i++) {
        const hf_etcd_kv_t *kv = &r.gets[3].kv[i];
        hf_cluster_member_t *m = member_for(v, kv->key, cap);
        if (m && hf_cluster_member_decode(kv->value, kv->value_len, true, m) == HF_OK)
            m->alive = true;
    }
    qsort(v->members, v->nmembers, sizeof *v->members, cmp_member);
    rc = HF_OK;
out:
    hf_etcd_txn_free(&r);
    if (rc)
        hf_cluster_view_free(v);
    return rc;
}

/* ---- history ------------------------------------------------------------------------- */

static void history_key(char *out, size_t cap, const char *prefix, uint64_t g)
{
    hf_cluster_key(out, cap, prefix, "history/%020" PRIu64, g);
}

int hf_cluster_history_get(hf_etcd_t *e, const char *prefix, uint64_t g, int64_t deadline_ms,
                           hf_layout_t *out, char *why, size_t whycap)
{
    hf_layout_init(out);
    char k[HF_CLUSTER_PREFIX_MAX + 40];
    history_key(k, sizeof k, prefix, g);
    hf_etcd_kvs_t r;
    int rc = hf_etcd_range(e, k, NULL, 0, 0, deadline_ms, &r);
    if (rc) {
        hf_cluster_why(why, whycap, "cannot read %s from etcd: %s (%s)", k,
                       hf_cluster_etcd_err(rc), hf_etcd_last_error(e));
        return rc;
    }
    if (r.n == 0) {
        hf_etcd_kvs_free(&r);
        hf_cluster_why(why, whycap, "generation %" PRIu64 " is not in the history (the newest %d "
                                    "are kept)",
                       g, HF_LAYOUT_HISTORY_KEEP);
        return HF_E_NOTFOUND;
    }
    char w[256];
    rc = hf_layout_decode(r.kv[0].value, r.kv[0].value_len, out, w, sizeof w);
    if (rc)
        hf_cluster_why(why, whycap, "generation %" PRIu64 " in the history is refused: %s", g, w);
    hf_etcd_kvs_free(&r);
    return rc;
}

int hf_cluster_history_list(hf_etcd_t *e, const char *prefix, int64_t deadline_ms,
                            hf_layout_t **out, uint32_t *n, uint32_t *damaged)
{
    *out = NULL;
    *n = *damaged = 0;
    char k[HF_CLUSTER_PREFIX_MAX + 40], end[sizeof k];
    hf_cluster_key(k, sizeof k, prefix, "history/");
    hf_etcd_prefix_end(k, end, sizeof end);
    hf_etcd_kvs_t r;
    int rc = hf_etcd_range(e, k, end, 0, 0, deadline_ms, &r);
    if (rc)
        return rc;
    hf_layout_t *ls = calloc(r.n ? r.n : 1, sizeof *ls);
    if (!ls) {
        hf_etcd_kvs_free(&r);
        return -ENOMEM;
    }
    for (size_t i = 0; i < r.n; i++) {
        char w[128];
        if (hf_layout_decode(r.kv[i].value, r.kv[i].value_len, &ls[*n], w, sizeof w) == HF_OK)
            (*n)++;
        else
            (*damaged)++;
    }
    hf_etcd_kvs_free(&r);
    *out = ls;
    return HF_OK;
}

int hf_cluster_unconfirmed(const hf_layout_t *l, const hf_layout_t *prev,
                           const hf_cluster_view_t *v, const char ***out, uint32_t *n)
{
    *out = NULL;
    *n = 0;
    const char **ids = calloc(l->nnodes ? l->nnodes : 1, sizeof *ids);
    if (!ids)
        return -ENOMEM;
    for (uint32_t i = 0; i < l->nnodes; i++) {
        const hf_layout_node_t *node = &l->nodes[i];
        bool gained = prev == NULL;
        int pi = prev ? hf_layout_node_index(prev, node->id) : -1;
        for (uint32_t p = 0; p < l->nparts && !gained; p++) {
            const hf_layout_part_t *part = &l->parts[p];
            bool here = false, before = false;
            for (uint32_t r = 0; r < part->nreplicas; r++)
                here |= part->replica[r] == i;
            if (!here)
                continue;
            const hf_layout_part_t *q =
                p < prev->nparts && strcmp(prev->parts[p].start, part->start) == 0 ? &prev->parts[p]
                                                                                   : NULL;
            for (uint32_t r = 0; q && pi >= 0 && r < q->nreplicas; r++)
                before |= q->replica[r] == (uint32_t)pi;
            gained = !before;
        }
        if (!gained)
            continue;
        const hf_cluster_member_t *m = NULL;
        for (uint32_t k = 0; k < v->nmembers && !m; k++)
            if (strcmp(v->members[k].id, node->id) == 0)
                m = &v->members[k];
        if (!m || !m->registered || m->confirmed < l->generation)
            ids[(*n)++] = node->id;
    }
    *out = ids;
    return HF_OK;
}

/* ---- apply ------------------------------------------------------------------------------ */

void hf_cluster_apply_free(hf_apply_res_t *res)
{
    hf_layout_free(&res->old);
    hf_layout_free(&res->new);
    hf_plan_impact_free(&res->impact);
    memset(res, 0, sizeof *res);
}

/* Plan the request against the view into res (old, new, impact,
 * violations). */
static int plan(hf_etcd_t *e, const char *prefix, const hf_apply_req_t *rq, hf_cluster_view_t *v,
                int64_t deadline_ms, hf_apply_res_t *res, char *why, size_t whycap)
{
    int rc = hf_layout_copy(&res->old, &v->layout);
    if (rc)
        return rc;
    if (rq->revert_to) {
        hf_layout_t target;
        rc = hf_cluster_history_get(e, prefix, rq->revert_to, deadline_ms, &target, why, whycap);
        if (rc)
            return rc == HF_E_NOTFOUND ? HF_E_INVAL : rc;
        hf_layout_t *ls;
        uint32_t n, damaged;
        uint64_t newest = 0;
        if (hf_cluster_history_list(e, prefix, deadline_ms, &ls, &n, &damaged) == HF_OK) {
            for (uint32_t i = 0; i < n; i++) {
                newest = ls[i].generation > newest ? ls[i].generation : newest;
                hf_layout_free(&ls[i]);
            }
            free(ls);
        }
        rc = hf_plan_revert(&v->layout, &target, newest, &res->new, why, whycap);
        hf_layout_free(&target);
        if (rc)
            return rc;
    } else {
        hf_layout_node_t *add = calloc(rq->nadd ? rq->nadd : 1, sizeof *add);
        const char **cid = calloc(rq->ncap ? rq->ncap : 1, sizeof *cid);
        uint64_t *cb = calloc(rq->ncap ? rq->ncap : 1, sizeof *cb);
        if (!add || !cid || !cb) {
            free(add);
            free(cid);
            free(cb);
            return -ENOMEM;
        }
        rc = HF_OK;
        for (uint32_t i = 0; i < rq->nadd && rc == HF_OK; i++) {
            const hf_cluster_member_t *m = hf_cluster_view_member(v, rq->add[i]);
            if (!m || !m->registered) {
                rc = hf_cluster_why(why, whycap, "node %.64s has not registered with the cluster: "
                                                 "start it with --cluster and --node-id %.64s first",
                                    rq->add[i], rq->add[i]);
                break;
            }
            snprintf(add[i].id, sizeof add[i].id, "%s", m->id);
            snprintf(add[i].zone, sizeof add[i].zone, "%s", m->zone);
            snprintf(add[i].rpc, sizeof add[i].rpc, "%s", m->rpc);
            add[i].capacity = m->capacity;
        }
        /* --capacity for a node being added sets its capacity in the
         * layout; for others it is a change of its own. */
        uint32_t nc = 0;
        for (uint32_t i = 0; i < rq->ncap && rc == HF_OK; i++) {
            bool adding = false;
            for (uint32_t k = 0; k < rq->nadd; k++)
                if (strcmp(add[k].id, rq->cap_id[i]) == 0) {
                    add[k].capacity = rq->cap_bytes[i];
                    adding = true;
                }
            if (!adding) {
                cid[nc] = rq->cap_id[i];
                cb[nc++] = rq->cap_bytes[i];
            }
        }
        hf_plan_change_t ch = {.add = add, .nadd = rq->nadd, .remove = rq->remove,
                               .nremove = rq->nremove, .cap_id = cid, .cap_bytes = cb, .ncap = nc};
        if (rc == HF_OK)
            rc = hf_plan_make(&v->layout, &ch, &res->new, why, whycap);
        free(add);
        free(cid);
        free(cb);
        if (rc)
            return rc;
    }
    /* The facts the rules need. */
    hf_rule_facts_t f = rq->facts;
    f.data_bytes = 0;
    for (uint32_t i = 0; i < v->nmembers; i++)
        if (v->members[i].alive)
            f.data_bytes += v->members[i].used_bytes;
    f.pinned = v->pinned;
    f.pin_generation = v->pin_generation;
    hf_layout_t prev;
    hf_layout_init(&prev);
    bool have_prev = false;
    if (v->layout.generation > 1) {
        char w[256];
        have_prev = hf_cluster_history_get(e, prefix, v->layout.generation - 1, deadline_ms, &prev,
                                           w, sizeof w) == HF_OK;
    }
    const char **unconf = NULL;
    if (v->layout.generation) {
        /* Without the generation before (collected), every node of the
         * current one counts as having gained: the safe side. */
        rc = hf_cluster_unconfirmed(&v->layout, have_prev ? &prev : NULL, v, &unconf,
                                    &f.nunconfirmed);
        if (rc) {
            hf_layout_free(&prev);
            return rc;
        }
        f.unconfirmed = unconf;
    }
    res->nv = hf_rules_check(&v->layout, &res->new, &f, res->v, sizeof res->v / sizeof res->v[0]);
    free(unconf);
    hf_layout_free(&prev);
    rc = hf_plan_impact(&v->layout, &res->new, f.data_bytes, &res->impact);
    if (rc)
        return rc;
    res->outcome = res->nv ? HF_APPLY_REFUSED : HF_APPLY_APPLIED;
    return HF_OK;
}

/* The compare-and-swap: the layout, the pin and every node record read
 * must be as read; then the layout, its history entry, and the history's
 * collection in one revision. *committed tells; *layout_moved when the
 * layout is not the one read any more. */
static int commit(hf_etcd_t *e, const char *prefix, const hf_cluster_view_t *v,
                  const hf_buf_t *value, uint64_t g, int64_t deadline_ms, bool *committed,
                  bool *layout_moved)
{
    *committed = *layout_moved = false;
    uint32_t ncmp = 2 + v->nmembers;
    hf_etcd_cmp_t *cmp = calloc(ncmp, sizeof *cmp);
    char (*keys)[HF_CLUSTER_PREFIX_MAX + HF_NODE_ID_MAX + 16] = calloc(v->nmembers ? v->nmembers : 1,
                                                                       sizeof *keys);
    if (!cmp || !keys) {
        free(cmp);
        free(keys);
        return -ENOMEM;
    }
    char kl[HF_CLUSTER_PREFIX_MAX + 32], kp[sizeof kl], kh[HF_CLUSTER_PREFIX_MAX + 40],
        kh0[sizeof kh], khk[sizeof kh];
    hf_cluster_key(kl, sizeof kl, prefix, "layout");
    hf_cluster_key(kp, sizeof kp, prefix, "pin");
    history_key(kh, sizeof kh, prefix, g);
    history_key(kh0, sizeof kh0, prefix, 0);
    history_key(khk, sizeof khk, prefix, g > HF_LAYOUT_HISTORY_KEEP ? g - HF_LAYOUT_HISTORY_KEEP + 1 : 0);
    cmp[0] = (hf_etcd_cmp_t){.key = kl, .target = HF_ETCD_MOD, .result = HF_ETCD_EQUAL,
                             .n = v->layout_mod};
    cmp[1] = (hf_etcd_cmp_t){.key = kp, .target = HF_ETCD_MOD, .result = HF_ETCD_EQUAL,
                             .n = v->pin_mod};
    uint32_t k = 2;
    for (uint32_t i = 0; i < v->nmembers; i++) {
        if (!v->members[i].registered)
            continue;
        hf_cluster_key(keys[i], sizeof keys[i], prefix, "nodes/%s", v->members[i].id);
        cmp[k++] = (hf_etcd_cmp_t){.key = keys[i], .target = HF_ETCD_MOD,
                                   .result = HF_ETCD_EQUAL, .n = v->members[i].mod_revision};
    }
    hf_etcd_op_t ops[3] = {
        {.kind = HF_ETCD_PUT, .key = kl, .value = value->data, .value_len = value->len},
        {.kind = HF_ETCD_PUT, .key = kh, .value = value->data, .value_len = value->len},
        /* Collection keeps the newest HF_LAYOUT_HISTORY_KEEP; the active
         * generation is the newest of them (R4.1). */
        {.kind = HF_ETCD_DELETE, .key = kh0, .range_end = khk},
    };
    hf_etcd_op_t get = {.kind = HF_ETCD_GET, .key = kl};
    hf_etcd_txn_res_t r;
    int rc = hf_etcd_txn(e, cmp, k, ops, g > HF_LAYOUT_HISTORY_KEEP ? 3 : 2, &get, 1, deadline_ms,
                         &r);
    free(cmp);
    free(keys);
    if (rc)
        return rc;
    *committed = r.succeeded;
    if (!r.succeeded) {
        int64_t mod = r.ngets && r.gets[0].n ? r.gets[0].kv[0].mod_revision : 0;
        *layout_moved = mod != v->layout_mod;
    }
    hf_etcd_txn_free(&r);
    return HF_OK;
}

/* After a commit whose answer was lost: is the layout in etcd ours? */
static int read_back(hf_etcd_t *e, const char *prefix, const char *change_id, int64_t deadline_ms,
                     bool *ours, uint64_t *current)
{
    char kl[HF_CLUSTER_PREFIX_MAX + 32];
    hf_cluster_key(kl, sizeof kl, prefix, "layout");
    hf_etcd_kvs_t r;
    int rc = hf_etcd_range(e, kl, NULL, 0, 0, deadline_ms, &r);
    if (rc)
        return rc;
    *ours = false;
    *current = 0;
    if (r.n) {
        hf_layout_t l;
        char w[128];
        if (hf_layout_decode(r.kv[0].value, r.kv[0].value_len, &l, w, sizeof w) == HF_OK) {
            *ours = strcmp(l.change.id, change_id) == 0;
            *current = l.generation;
            hf_layout_free(&l);
        }
    }
    hf_etcd_kvs_free(&r);
    return HF_OK;
}

/* A refused layout in etcd is replaced by a revert: plan against the
 * newest good generation in the history, numbered past everything etcd
 * has seen (the refused one included), so no node ever sees a
 * generation go back. */
static int stand_in(hf_etcd_t *e, const char *prefix, hf_cluster_view_t *v, int64_t deadline_ms,
                    char *why, size_t whycap)
{
    hf_layout_t *ls;
    uint32_t n, damaged;
    int rc = hf_cluster_history_list(e, prefix, deadline_ms, &ls, &n, &damaged);
    if (rc)
        return hf_cluster_why(why, whycap, "cannot read the history: %s", hf_cluster_etcd_err(rc)),
               rc;
    if (n == 0) {
        free(ls);
        return hf_cluster_why(why, whycap, "the history holds no good generation to put back");
    }
    uint64_t top = v->refused_generation > ls[n - 1].generation ? v->refused_generation
                                                                 : ls[n - 1].generation;
    hf_layout_free(&v->layout);
    v->layout = ls[n - 1];
    v->layout.generation = top;
    for (uint32_t i = 0; i + 1 < n; i++)
        hf_layout_free(&ls[i]);
    free(ls);
    return HF_OK;
}

/* Node records move under an apply only by heartbeats and applies, a few
 * per second at most: a handful of retries is plenty; more means
 * something churns and the operator should look. */
#define APPLY_ATTEMPTS 8

int hf_cluster_apply(hf_etcd_t *e, const char *prefix, const hf_apply_req_t *rq,
                     int64_t deadline_ms, hf_apply_res_t *res, char *why, size_t whycap)
{
    memset(res, 0, sizeof *res);
    hf_layout_init(&res->old);
    hf_layout_init(&res->new);
    unsigned char rnd[16];
    char change_id[33];
    int rc = hf_rand_bytes(rnd, sizeof rnd);
    if (rc)
        return rc;
    hf_hex_encode(change_id, rnd, sizeof rnd);
    hf_buf_t value;
    hf_buf_init(&value, HF_LAYOUT_MAX);
    for (;;) {
        hf_cluster_view_t v;
        rc = hf_cluster_view_read(e, prefix, deadline_ms, &v, why, whycap);
        if (rc)
            break;
        hf_cluster_apply_free(res);
        hf_layout_init(&res->old);
        hf_layout_init(&res->new);
        res->current = v.layout.generation;
        if (v.layout_refused && !rq->revert_to) {
            rc = hf_cluster_why(why, whycap, "the layout in etcd (generation %" PRIu64 ") breaks a "
                                             "check (%s): every node refuses it. Put a good one "
                                             "back with 'holdfast admin layout revert G' (G from "
                                             "'holdfast admin layout history')",
                                v.refused_generation, v.refused_why);
            hf_cluster_view_free(&v);
            break;
        }
        if (v.layout_refused && (rc = stand_in(e, prefix, &v, deadline_ms, why, whycap))) {
            hf_cluster_view_free(&v);
            break;
        }
        if (!rq->any_generation && v.layout.generation != rq->generation) {
            res->outcome = HF_APPLY_MOVED_ON;
            hf_cluster_view_free(&v);
            break;
        }
        rc = plan(e, prefix, rq, &v, deadline_ms, res, why, whycap);
        if (rc || res->outcome != HF_APPLY_APPLIED || rq->dry_run) {
            hf_cluster_view_free(&v);
            break;
        }
        hf_layout_change_t *c = &res->new.change;
        memcpy(c->id, change_id, sizeof c->id);
        snprintf(c->by, sizeof c->by, "%s", rq->by ? rq->by : "");
        c->at_ns = hf_time_now();
        c->force_removal = rq->facts.force_removal;
        rc = hf_layout_encode(&res->new, &value);
        if (rc) {
            hf_cluster_why(why, whycap, "the new layout does not fit in one etcd value (%s)",
                           hf_strerror(rc));
            hf_cluster_view_free(&v);
            break;
        }
        bool committed = false, moved = false;
        res->attempts++;
        rc = commit(e, prefix, &v, &value, res->new.generation, deadline_ms, &committed, &moved);
        hf_cluster_view_free(&v);
        if (rc == HF_E_TIMEOUT) {
            /* Sent, no answer: read back whether it is ours. */
            bool ours;
            uint64_t cur;
            int brc = read_back(e, prefix, change_id, deadline_ms + 5000, &ours, &cur);
            if (brc == HF_OK) {
                rc = HF_OK;
                res->current = cur;
                res->outcome = ours ? HF_APPLY_APPLIED : HF_APPLY_MOVED_ON;
                if (!ours && cur == res->old.generation) {
                    /* Not applied and nothing else was: say so plainly. */
                    rc = HF_E_TIMEOUT;
                    hf_cluster_why(why, whycap, "etcd did not answer the commit in time and it "
                                                "was not applied; run the command again");
                }
            } else {
                hf_cluster_why(why, whycap, "the commit was sent but etcd did not answer (%s): "
                                            "check 'holdfast admin layout show'",
                               hf_etcd_last_error(e));
            }
            break;
        }
        if (rc) {
            hf_cluster_why(why, whycap, "cannot commit the layout to etcd: %s (%s)",
                           hf_cluster_etcd_err(rc), hf_etcd_last_error(e));
            break;
        }
        if (committed) {
            res->outcome = HF_APPLY_APPLIED;
            res->current = res->new.generation;
            break;
        }
        if (moved && !rq->any_generation) {
            res->outcome = HF_APPLY_MOVED_ON;
            res->current = 0; /* unknown until read: the caller may show the layout */
            break;
        }
        if (res->attempts >= APPLY_ATTEMPTS) {
            rc = HF_E_CONFLICT;
            hf_cluster_why(why, whycap, "the cluster's state kept changing during %d attempts to "
                                        "commit; try again",
                           APPLY_ATTEMPTS);
            break;
        }
        /* A node record or the pin moved: read, plan and check again. */
    }
    hf_buf_free(&value);
    if (rc)
        hf_cluster_apply_free(res);
    return rc;
}

/* ---- pin ---------------------------------------------------------------------------------- */

int hf_cluster_pin(hf_etcd_t *e, const char *prefix, uint64_t g, const char *by,
                   int64_t deadline_ms, char *why, size_t whycap)
{
    hf_cluster_view_t v;
    int rc = hf_cluster_view_read(e, prefix, deadline_ms, &v, why, whycap);
    if (rc)
        return rc;
    char kl[HF_CLUSTER_PREFIX_MAX + 32], kp[sizeof kl];
    hf_cluster_key(kl, sizeof kl, prefix, "layout");
    hf_cluster_key(kp, sizeof kp, prefix, "pin");
    hf_buf_t b;
    hf_buf_init(&b, 4096);
    hf_etcd_op_t op = {.kind = HF_ETCD_DELETE, .key = kp};
    if (g) {
        if (v.layout.generation == 0 || g > v.layout.generation) {
            rc = hf_cluster_why(why, whycap, "generation %" PRIu64 " does not exist (the current one "
                                             "is %" PRIu64 ")",
                                g, v.layout.generation);
            goto out;
        }
        if (g < v.layout.generation) {
            hf_layout_t h;
            rc = hf_cluster_history_get(e, prefix, g, deadline_ms, &h, why, whycap);
            hf_layout_free(&h);
            if (rc)
                goto out;
        }
        char at[32];
        hf_time_iso8601(at, hf_time_now());
        rc = hf_cluster_json_buf(json_pack("{s:I,s:s,s:s}", "generation", (json_int_t)g, "by",
                                           by ? by : "", "at", at),
                                 &b);
        if (rc)
            goto out;
        op = (hf_etcd_op_t){.kind = HF_ETCD_PUT, .key = kp, .value = b.data, .value_len = b.len};
    }
    hf_etcd_cmp_t cmp = {.key = kl, .target = HF_ETCD_MOD, .result = HF_ETCD_EQUAL,
                         .n = v.layout_mod};
    hf_etcd_txn_res_t r;
    rc = hf_etcd_txn(e, &cmp, 1, &op, 1, NULL, 0, deadline_ms, &r);
    if (rc == HF_OK && !r.succeeded) {
        rc = HF_E_CONFLICT;
        hf_cluster_why(why, whycap, "the layout changed meanwhile; look at it and try again");
    } else if (rc) {
        hf_cluster_why(why, whycap, "cannot write the pin to etcd: %s (%s)",
                       hf_cluster_etcd_err(rc), hf_etcd_last_error(e));
    }
    hf_etcd_txn_free(&r);
out:
    hf_buf_free(&b);
    hf_cluster_view_free(&v);
    return rc;
}
