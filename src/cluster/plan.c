/*
 * plan.c -- the planner and the impact of a change; see plan.h. The rules
 * are in rules.c.
 */
#include "cluster/plan.h"

#include "cluster/internal.h"

#include "base/err.h"
#include "base/str.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Append to a bounded summary ("; "-separated). */
static void note(char *s, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void note(char *s, size_t cap, const char *fmt, ...)
{
    size_t n = strlen(s);
    if (n + 8 >= cap)
        return;
    if (n)
        n += (size_t)snprintf(s + n, cap - n, "; ");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s + n, cap - n, fmt, ap);
    va_end(ap);
}

static int cmp_node(const void *a, const void *b)
{
    return strcmp(((const hf_layout_node_t *)a)->id, ((const hf_layout_node_t *)b)->id);
}

/* ---- targets ----------------------------------------------------------------- */

/* Split total into n integer shares in proportion to w[], none above
 * cap[] (total must not exceed their sum): shares of capped members are
 * fixed at their cap and the rest is shared again among the others;
 * rounding goes to the largest remainders, ties to the lower index. */
static void distribute(uint64_t total, const uint64_t *w, const uint32_t *cap, uint32_t n,
                       uint32_t *out)
{
    double *f = calloc(n, sizeof *f);
    bool *capped = calloc(n, sizeof *capped);
    if (!f || !capped) {
        /* Without memory, an even split within caps: still a valid input
         * for the placement, just less balanced. */
        for (uint32_t i = 0; i < n; i++)
            out[i] = (uint32_t)(total / n) < cap[i] ? (uint32_t)(total / n) : cap[i];
        free(f);
        free(capped);
        return;
    }
    double remaining = (double)total;
    for (;;) {
        double wsum = 0;
        for (uint32_t i = 0; i < n; i++)
            if (!capped[i])
                wsum += (double)w[i];
        if (wsum <= 0)
            break;
        bool any = false;
        for (uint32_t i = 0; i < n; i++)
            if (!capped[i] && remaining * (double)w[i] / wsum >= (double)cap[i]) {
                capped[i] = true;
                f[i] = cap[i];
                remaining -= cap[i];
                any = true;
            }
        if (!any) {
            for (uint32_t i = 0; i < n; i++)
                if (!capped[i])
                    f[i] = remaining * (double)w[i] / wsum;
            break;
        }
    }
    uint64_t sum = 0;
    for (uint32_t i = 0; i < n; i++) {
        out[i] = (uint32_t)f[i];
        if (out[i] > cap[i])
            out[i] = cap[i];
        sum += out[i];
    }
    while (sum < total) {
        int best = -1;
        double bestr = -1;
        for (uint32_t i = 0; i < n; i++) {
            double r = f[i] - out[i];
            if (out[i] < cap[i] && r > bestr + 1e-9) {
                best = (int)i;
                bestr = r;
            }
        }
        if (best < 0)
            break;
        out[best]++;
        f[best] = out[best]; /* one extra unit each, in remainder order */
        sum++;
    }
    free(f);
    free(capped);
}

/* The zone of each node as a small integer, and the zone count. */
static uint32_t zone_ids(const hf_layout_t *l, uint32_t *zid)
{
    uint32_t nz = 0;
    for (uint32_t i = 0; i < l->nnodes; i++) {
        zid[i] = UINT32_MAX;
        for (uint32_t k = 0; k < i; k++)
            if (strcmp(l->nodes[k].zone, l->nodes[i].zone) == 0) {
                zid[i] = zid[k];
                break;
            }
        if (zid[i] == UINT32_MAX)
            zid[i] = nz++;
    }
    return nz;
}

typedef struct placer {
    hf_layout_t *l;
    uint32_t R;         /* replicas each partition gets */
    uint32_t zneed;     /* distinct zones each partition must span */
    uint32_t nz;
    uint32_t *zid;      /* per node */
    uint32_t *target;   /* per node */
    uint32_t *count;    /* per node */
    uint32_t *ztarget;  /* per zone */
    uint32_t *zcount;   /* per zone */
} placer_t;

static bool in_part(const hf_layout_part_t *p, uint32_t node)
{
    for (uint32_t r = 0; r < p->nreplicas; r++)
        if (p->replica[r] == node)
            return true;
    return false;
}

/* Distinct zones of p, with member skip (UINT32_MAX: none) replaced by
 * node with (UINT32_MAX: dropped). */
static uint32_t zones_with(const placer_t *pl, const hf_layout_part_t *p, uint32_t skip,
                           uint32_t with)
{
    uint32_t zs[HF_LAYOUT_REPLICAS_MAX + 1], n = 0;
    for (uint32_t r = 0; r <= p->nreplicas; r++) {
        uint32_t node = r < p->nreplicas ? p->replica[r] : with;
        if (r < p->nreplicas && node == skip)
            continue;
        if (node == UINT32_MAX)
            continue;
        uint32_t z = pl->zid[node];
        bool seen = false;
        for (uint32_t k = 0; k < n && !seen; k++)
            seen = zs[k] == z;
        if (!seen)
            zs[n++] = z;
    }
    return n;
}

/* Is candidate c better than b (b may be UINT32_MAX: none yet)? Zone
 * furthest below its target first, then node furthest below its target,
 * then the emptiest for its capacity, then node order. */
static bool better(const placer_t *pl, uint32_t c, uint32_t b)
{
    if (b == UINT32_MAX)
        return true;
    int64_t zc = (int64_t)pl->ztarget[pl->zid[c]] - pl->zcount[pl->zid[c]];
    int64_t zb = (int64_t)pl->ztarget[pl->zid[b]] - pl->zcount[pl->zid[b]];
    if (zc != zb)
        return zc > zb;
    int64_t dc = (int64_t)pl->target[c] - pl->count[c], db = (int64_t)pl->target[b] - pl->count[b];
    if (dc != db)
        return dc > db;
    double fc = (double)pl->count[c] / (double)pl->l->nodes[c].capacity;
    double fb = (double)pl->count[b] / (double)pl->l->nodes[b].capacity;
    if (fc != fb)
        return fc < fb;
    return c < b;
}

static void add_replica(placer_t *pl, hf_layout_part_t *p, uint32_t node)
{
    p->replica[p->nreplicas++] = (uint16_t)node;
    pl->count[node]++;
    pl->zcount[pl->zid[node]]++;
}

/* Fill every partition up to R replicas. */
static void fill(placer_t *pl)
{
    hf_layout_t *l = pl->l;
    for (uint32_t i = 0; i < l->nparts; i++) {
        hf_layout_part_t *p = &l->parts[i];
        while (p->nreplicas < pl->R) {
            bool need_zone = zones_with(pl, p, UINT32_MAX, UINT32_MAX) < pl->zneed;
            uint32_t best = UINT32_MAX;
            for (uint32_t c = 0; c < l->nnodes; c++) {
                if (in_part(p, c))
                    continue;
                if (need_zone && zones_with(pl, p, UINT32_MAX, c) <= zones_with(pl, p, UINT32_MAX, UINT32_MAX))
                    continue;
                if (better(pl, c, best))
                    best = c;
            }
            if (best == UINT32_MAX)
                break; /* fewer nodes than replicas: the rules will say so */
            add_replica(pl, p, best);
        }
    }
}

/* Move replicas from nodes above their target to nodes below it, one at
 * a time, while the zone rule allows. */
static void rebalance(placer_t *pl)
{
    hf_layout_t *l = pl->l;
    bool *stuck = calloc(l->nnodes, sizeof *stuck);
    if (!stuck)
        return;
    for (;;) {
        uint32_t over = UINT32_MAX;
        for (uint32_t i = 0; i < l->nnodes; i++)
            if (!stuck[i] && pl->count[i] > pl->target[i] &&
                (over == UINT32_MAX ||
                 pl->count[i] - pl->target[i] > pl->count[over] - pl->target[over]))
                over = i;
        if (over == UINT32_MAX)
            break;
        bool moved = false;
        for (uint32_t i = 0; i < l->nparts && !moved; i++) {
            hf_layout_part_t *p = &l->parts[i];
            int at = -1;
            for (uint32_t r = 0; r < p->nreplicas; r++)
                if (p->replica[r] == over)
                    at = (int)r;
            if (at < 0)
                continue;
            uint32_t have = zones_with(pl, p, UINT32_MAX, UINT32_MAX);
            uint32_t keep = have < pl->zneed ? have : pl->zneed;
            uint32_t best = UINT32_MAX;
            for (uint32_t c = 0; c < l->nnodes; c++) {
                if (pl->count[c] >= pl->target[c] || in_part(p, c))
                    continue;
                if (zones_with(pl, p, over, c) < keep)
                    continue;
                if (better(pl, c, best))
                    best = c;
            }
            if (best == UINT32_MAX)
                continue;
            p->replica[at] = (uint16_t)best;
            pl->count[over]--;
            pl->zcount[pl->zid[over]]--;
            pl->count[best]++;
            pl->zcount[pl->zid[best]]++;
            moved = true;
        }
        if (!moved)
            stuck[over] = true;
    }
    free(stuck);
}

/* The first replica is the preferred primary. A partition whose primary
 * survived the change keeps it (changing it costs a failover); the others
 * (all of them in a first layout) get, among their replicas, the node
 * that leads the fewest partitions so far, ties to node order. */
static void choose_primaries(hf_layout_t *l, const bool *keep)
{
    uint32_t *lead = calloc(l->nnodes, sizeof *lead);
    if (!lead)
        return;
    for (uint32_t i = 0; i < l->nparts; i++)
        if (keep && keep[i] && l->parts[i].nreplicas)
            lead[l->parts[i].replica[0]]++;
    for (uint32_t i = 0; i < l->nparts; i++) {
        hf_layout_part_t *p = &l->parts[i];
        if ((keep && keep[i]) || p->nreplicas == 0)
            continue;
        uint32_t best = 0;
        for (uint32_t r = 1; r < p->nreplicas; r++)
            if (lead[p->replica[r]] < lead[p->replica[best]] ||
                (lead[p->replica[r]] == lead[p->replica[best]] && p->replica[r] < p->replica[best]))
                best = r;
        uint16_t t = p->replica[0];
        p->replica[0] = p->replica[best];
        p->replica[best] = t;
        lead[p->replica[0]]++;
    }
    free(lead);
}

/* Place every partition of l (replicas already there are kept); keep[i]
 * (NULL: none) says partition i's primary survived the change. */
static int place(hf_layout_t *l, const bool *keep)
{
    uint32_t n = l->nnodes;
    placer_t pl = {.l = l};
    pl.zid = calloc(n, sizeof *pl.zid);
    pl.target = calloc(n, sizeof *pl.target);
    pl.count = calloc(n, sizeof *pl.count);
    uint64_t *w = calloc(n, sizeof *w);
    uint32_t *cap = calloc(n, sizeof *cap), *sub = calloc(n, sizeof *sub);
    uint32_t *idx = calloc(n, sizeof *idx);
    int rc = -ENOMEM;
    if (!pl.zid || !pl.target || !pl.count || !w || !cap || !sub || !idx)
        goto out;
    pl.nz = zone_ids(l, pl.zid);
    pl.ztarget = calloc(pl.nz, sizeof *pl.ztarget);
    pl.zcount = calloc(pl.nz, sizeof *pl.zcount);
    uint64_t *zw = calloc(pl.nz, sizeof *zw);
    uint32_t *zcap = calloc(pl.nz, sizeof *zcap);
    if (!pl.ztarget || !pl.zcount || !zw || !zcap) {
        free(zw);
        free(zcap);
        goto out;
    }
    pl.R = l->replicas < n ? l->replicas : n;
    pl.zneed = pl.R < pl.nz ? pl.R : pl.nz;
    uint64_t total = (uint64_t)l->nparts * pl.R;
    if (pl.nz >= pl.R) {
        /* Zones first (each holds at most one replica of a partition),
         * then the nodes of each zone. */
        for (uint32_t i = 0; i < n; i++)
            zw[pl.zid[i]] += l->nodes[i].capacity;
        for (uint32_t z = 0; z < pl.nz; z++)
            zcap[z] = l->nparts;
        distribute(total, zw, zcap, pl.nz, pl.ztarget);
        for (uint32_t z = 0; z < pl.nz; z++) {
            uint32_t k = 0;
            for (uint32_t i = 0; i < n; i++)
                if (pl.zid[i] == z) {
                    idx[k] = i;
                    w[k] = l->nodes[i].capacity;
                    cap[k] = l->nparts;
                    k++;
                }
            distribute(pl.ztarget[z], w, cap, k, sub);
            for (uint32_t m = 0; m < k; m++)
                pl.target[idx[m]] = sub[m];
        }
    } else {
        for (uint32_t i = 0; i < n; i++) {
            w[i] = l->nodes[i].capacity;
            cap[i] = l->nparts;
        }
        distribute(total, w, cap, n, pl.target);
        for (uint32_t i = 0; i < n; i++)
            pl.ztarget[pl.zid[i]] += pl.target[i];
    }
    free(zw);
    free(zcap);
    hf_layout_node_load(l, pl.count);
    for (uint32_t i = 0; i < n; i++)
        pl.zcount[pl.zid[i]] += pl.count[i];
    fill(&pl);
    rebalance(&pl);
    choose_primaries(l, keep);
    rc = HF_OK;
out:
    free(pl.zid);
    free(pl.target);
    free(pl.count);
    free(pl.ztarget);
    free(pl.zcount);
    free(w);
    free(cap);
    free(sub);
    free(idx);
    return rc;
}

/* ---- the change ---------------------------------------------------------------- */

static bool listed(const char *const *ids, uint32_t n, const char *id, uint32_t before)
{
    for (uint32_t i = 0; i < n && i < before; i++)
        if (strcmp(ids[i], id) == 0)
            return true;
    return false;
}

int hf_plan_make(const hf_layout_t *cur, const hf_plan_change_t *ch, hf_layout_t *out, char *why,
                 size_t whycap)
{
    hf_layout_init(out);
    if (ch->nadd == 0 && ch->nremove == 0 && ch->ncap == 0)
        return hf_cluster_why(why, whycap, "nothing to change: give --add, --remove or --capacity");
    /* Check the request against cur. */
    for (uint32_t i = 0; i < ch->nadd; i++) {
        const hf_layout_node_t *a = &ch->add[i];
        const char *e = hf_layout_check_name(a->id, HF_NODE_ID_MAX);
        if (e)
            return hf_cluster_why(why, whycap, "node id '%.64s' %s", a->id, e);
        if ((e = hf_layout_check_name(a->zone, HF_ZONE_MAX)))
            return hf_cluster_why(why, whycap, "zone '%.64s' of node %s %s", a->zone, a->id, e);
        if (a->capacity == 0)
            return hf_cluster_why(why, whycap, "node %s has no capacity", a->id);
        if (hf_layout_node_index(cur, a->id) >= 0)
            return hf_cluster_why(why, whycap, "node %s is already in the layout", a->id);
        for (uint32_t k = 0; k < i; k++)
            if (strcmp(ch->add[k].id, a->id) == 0)
                return hf_cluster_why(why, whycap, "node %s is added twice", a->id);
    }
    for (uint32_t i = 0; i < ch->nremove; i++) {
        if (hf_layout_node_index(cur, ch->remove[i]) < 0)
            return hf_cluster_why(why, whycap, "node %.64s is not in the layout (generation %" PRIu64 ")",
                        ch->remove[i], cur->generation);
        if (listed(ch->remove, ch->nremove, ch->remove[i], i))
            return hf_cluster_why(why, whycap, "node %s is removed twice", ch->remove[i]);
    }
    for (uint32_t i = 0; i < ch->ncap; i++) {
        if (hf_layout_node_index(cur, ch->cap_id[i]) < 0)
            return hf_cluster_why(why, whycap, "node %.64s is not in the layout; give its capacity when "
                                     "adding it",
                        ch->cap_id[i]);
        if (listed(ch->remove, ch->nremove, ch->cap_id[i], UINT32_MAX))
            return hf_cluster_why(why, whycap, "node %s is both removed and resized", ch->cap_id[i]);
        if (listed(ch->cap_id, ch->ncap, ch->cap_id[i], i))
            return hf_cluster_why(why, whycap, "node %s is resized twice", ch->cap_id[i]);
        if (ch->cap_bytes[i] == 0)
            return hf_cluster_why(why, whycap, "node %s: a capacity above 0 (remove the node instead)",
                        ch->cap_id[i]);
    }
    uint32_t nn = cur->nnodes - ch->nremove + ch->nadd;
    if (nn > HF_CLUSTER_NODES_MAX)
        return hf_cluster_why(why, whycap, "%u nodes: at most %d", nn, HF_CLUSTER_NODES_MAX);
    out->generation = cur->generation + 1;
    out->prev_generation = cur->generation;
    if (cur->generation == 0) {
        out->replicas = ch->replicas ? ch->replicas : HF_LAYOUT_REPLICAS_DEFAULT;
        if (out->replicas > HF_LAYOUT_REPLICAS_MAX)
            return hf_cluster_why(why, whycap, "at most %d replicas", HF_LAYOUT_REPLICAS_MAX);
    } else {
        out->replicas = cur->replicas;
        out->replica_floor = cur->replica_floor;
        out->zone_floor = cur->zone_floor;
    }
    int rc = -ENOMEM;
    /* The new node list, sorted, and where each old node went. */
    out->nodes = calloc(nn ? nn : 1, sizeof *out->nodes);
    int32_t *map = calloc(cur->nnodes ? cur->nnodes : 1, sizeof *map);
    bool *keep = calloc(cur->nparts ? cur->nparts : 1, sizeof *keep);
    if (!out->nodes || !map || !keep)
        goto fail_mem;
    uint32_t k = 0;
    for (uint32_t i = 0; i < cur->nnodes; i++)
        if (!listed(ch->remove, ch->nremove, cur->nodes[i].id, UINT32_MAX))
            out->nodes[k++] = cur->nodes[i];
    for (uint32_t i = 0; i < ch->nadd; i++)
        out->nodes[k++] = ch->add[i];
    out->nnodes = k;
    qsort(out->nodes, out->nnodes, sizeof *out->nodes, cmp_node);
    char a[32], b[32];
    for (uint32_t i = 0; i < ch->nadd; i++)
        note(out->change.summary, sizeof out->change.summary, "add %s (zone %s, %s)",
             ch->add[i].id, ch->add[i].zone, hf_str_bytes(a, sizeof a, (double)ch->add[i].capacity));
    for (uint32_t i = 0; i < ch->nremove; i++)
        note(out->change.summary, sizeof out->change.summary, "remove %s", ch->remove[i]);
    for (uint32_t i = 0; i < ch->ncap; i++) {
        int at = hf_layout_node_index(out, ch->cap_id[i]);
        note(out->change.summary, sizeof out->change.summary, "capacity %s %s -> %s",
             ch->cap_id[i], hf_str_bytes(a, sizeof a, (double)out->nodes[at].capacity),
             hf_str_bytes(b, sizeof b, (double)ch->cap_bytes[i]));
        out->nodes[at].capacity = ch->cap_bytes[i];
    }
    for (uint32_t i = 0; i < cur->nnodes; i++)
        map[i] = hf_layout_node_index(out, cur->nodes[i].id);
    if (cur->generation == 0) {
        uint32_t zones = hf_layout_zones(out);
        out->replica_floor = out->replicas / 2 + 1;
        out->zone_floor = out->replicas < zones ? out->replicas : zones;
        if (out->zone_floor < 1)
            out->zone_floor = 1;
        uint32_t np = ch->partitions ? ch->partitions : HF_LAYOUT_PARTITIONS_DEFAULT;
        if (np > HF_LAYOUT_PARTITIONS_MAX) {
            free(map);
            free(keep);
            hf_layout_free(out);
            return hf_cluster_why(why, whycap, "at most %d partitions", HF_LAYOUT_PARTITIONS_MAX);
        }
        if ((rc = hf_layout_cut(out, np)))
            goto fail_mem;
    } else {
        out->parts = calloc(cur->nparts, sizeof *out->parts);
        if (!out->parts)
            goto fail_mem;
        for (uint32_t i = 0; i < cur->nparts; i++) {
            hf_layout_part_t *p = &out->parts[i];
            const hf_layout_part_t *q = &cur->parts[i];
            p->start = strdup(q->start);
            out->nparts = i + 1;
            if (!p->start)
                goto fail_mem;
            for (uint32_t r = 0; r < q->nreplicas; r++)
                if (map[q->replica[r]] >= 0)
                    p->replica[p->nreplicas++] = (uint16_t)map[q->replica[r]];
            keep[i] = q->nreplicas && map[q->replica[0]] >= 0;
        }
    }
    free(map);
    map = NULL;
    if (out->nnodes && (rc = place(out, cur->generation ? keep : NULL)))
        goto fail_mem;
    free(keep);
    return HF_OK;
fail_mem:
    free(map);
    free(keep);
    hf_layout_free(out);
    return rc ? rc : -ENOMEM;
}

int hf_plan_revert(const hf_layout_t *cur, const hf_layout_t *target, uint64_t newest,
                   hf_layout_t *out, char *why, size_t whycap)
{
    hf_layout_init(out);
    if (target->generation == cur->generation)
        return hf_cluster_why(why, whycap, "generation %" PRIu64 " is the current one already",
                              target->generation);
    int rc = hf_layout_copy(out, target);
    if (rc)
        return rc;
    out->generation = (cur->generation > newest ? cur->generation : newest) + 1;
    out->prev_generation = cur->generation;
    memset(&out->change, 0, sizeof out->change);
    out->change.revert_of = target->generation;
    snprintf(out->change.summary, sizeof out->change.summary, "revert to generation %" PRIu64,
             target->generation);
    return HF_OK;
}

/* ---- impact ---------------------------------------------------------------------- */

static hf_plan_node_impact_t *node_row(hf_plan_impact_t *im, const hf_layout_node_t *n)
{
    for (uint32_t i = 0; i < im->nnodes; i++)
        if (strcmp(im->nodes[i].id, n->id) == 0)
            return &im->nodes[i];
    hf_plan_node_impact_t *r = &im->nodes[im->nnodes++];
    memset(r, 0, sizeof *r);
    snprintf(r->id, sizeof r->id, "%s", n->id);
    snprintf(r->zone, sizeof r->zone, "%s", n->zone);
    r->change = "";
    return r;
}

static hf_plan_zone_impact_t *zone_row(hf_plan_impact_t *im, const char *zone)
{
    for (uint32_t i = 0; i < im->nzones; i++)
        if (strcmp(im->zones[i].zone, zone) == 0)
            return &im->zones[i];
    hf_plan_zone_impact_t *r = &im->zones[im->nzones++];
    memset(r, 0, sizeof *r);
    snprintf(r->zone, sizeof r->zone, "%s", zone);
    return r;
}

static int cmp_nrow(const void *a, const void *b)
{
    return strcmp(((const hf_plan_node_impact_t *)a)->id, ((const hf_plan_node_impact_t *)b)->id);
}

static int cmp_zrow(const void *a, const void *b)
{
    return strcmp(((const hf_plan_zone_impact_t *)a)->zone, ((const hf_plan_zone_impact_t *)b)->zone);
}

int hf_plan_impact(const hf_layout_t *old, const hf_layout_t *new, uint64_t data_bytes,
                   hf_plan_impact_t *im)
{
    memset(im, 0, sizeof *im);
    uint32_t cap = old->nnodes + new->nnodes;
    im->nodes = calloc(cap ? cap : 1, sizeof *im->nodes);
    im->zones = calloc(cap ? cap : 1, sizeof *im->zones);
    uint32_t *lo = calloc(old->nnodes ? old->nnodes : 1, sizeof *lo);
    uint32_t *ln = calloc(new->nnodes ? new->nnodes : 1, sizeof *ln);
    if (!im->nodes || !im->zones || !lo || !ln) {
        free(lo);
        free(ln);
        hf_plan_impact_free(im);
        return -ENOMEM;
    }
    uint64_t old_replicas = 0;
    for (uint32_t i = 0; i < old->nparts; i++)
        old_replicas += old->parts[i].nreplicas;
    im->bytes_per_replica = old_replicas ? data_bytes / old_replicas : 0;
    hf_layout_node_load(old, lo);
    hf_layout_node_load(new, ln);
    for (uint32_t i = 0; i < old->nnodes; i++) {
        hf_plan_node_impact_t *r = node_row(im, &old->nodes[i]);
        r->capacity_before = old->nodes[i].capacity;
        r->parts_before = lo[i];
        im->capacity_before += old->nodes[i].capacity;
        if (hf_layout_node_index(new, old->nodes[i].id) < 0) {
            r->change = "removed";
            im->removed++;
            im->capacity_removed += old->nodes[i].capacity;
        }
    }
    for (uint32_t i = 0; i < new->nnodes; i++) {
        hf_plan_node_impact_t *r = node_row(im, &new->nodes[i]);
        r->capacity_after = new->nodes[i].capacity;
        r->parts_after = ln[i];
        int o = hf_layout_node_index(old, new->nodes[i].id);
        if (o < 0) {
            r->change = "added";
            im->added++;
        } else if (old->nodes[o].capacity != new->nodes[i].capacity) {
            r->change = "capacity";
        }
    }
    /* Moves: partitions are matched by start (the planner keeps the cut;
     * a revert may bring another one: then every replica counts as new). */
    for (uint32_t i = 0; i < new->nparts; i++) {
        const hf_layout_part_t *p = &new->parts[i];
        const hf_layout_part_t *q = NULL;
        if (i < old->nparts && strcmp(old->parts[i].start, p->start) == 0)
            q = &old->parts[i];
        for (uint32_t r = 0; r < p->nreplicas; r++) {
            const char *id = new->nodes[p->replica[r]].id;
            bool had = false;
            for (uint32_t k = 0; q && k < q->nreplicas && !had; k++)
                had = strcmp(old->nodes[q->replica[k]].id, id) == 0;
            if (!had) {
                hf_plan_node_impact_t *row = node_row(im, &new->nodes[p->replica[r]]);
                row->gained++;
                row->bytes_in += im->bytes_per_replica;
                im->moved++;
                im->bytes_moved += im->bytes_per_replica;
            }
        }
        for (uint32_t k = 0; q && k < q->nreplicas; k++) {
            const char *id = old->nodes[q->replica[k]].id;
            bool kept = false;
            for (uint32_t r = 0; r < p->nreplicas && !kept; r++)
                kept = strcmp(new->nodes[p->replica[r]].id, id) == 0;
            if (!kept) {
                hf_plan_node_impact_t *row = node_row(im, &old->nodes[q->replica[k]]);
                row->lost++;
                row->bytes_out += im->bytes_per_replica;
            }
        }
        uint32_t z = hf_layout_part_zones(new, p);
        im->by_replicas[p->nreplicas]++;
        im->by_zones[z <= HF_LAYOUT_REPLICAS_MAX ? z : HF_LAYOUT_REPLICAS_MAX]++;
    }
    for (uint32_t i = 0; i < old->nparts && new->nparts == 0; i++)
        for (uint32_t k = 0; k < old->parts[i].nreplicas; k++) {
            hf_plan_node_impact_t *row = node_row(im, &old->nodes[old->parts[i].replica[k]]);
            row->lost++;
            row->bytes_out += im->bytes_per_replica;
        }
    for (uint32_t i = 0; i < im->nnodes; i++) {
        hf_plan_node_impact_t *r = &im->nodes[i];
        if (r->capacity_after)
            r->fill_after = (double)r->parts_after * (double)im->bytes_per_replica /
                            (double)r->capacity_after;
        hf_plan_zone_impact_t *z = zone_row(im, r->zone);
        z->nodes_before += r->capacity_before != 0;
        z->nodes_after += r->capacity_after != 0;
        z->capacity_after += r->capacity_after;
        z->parts_before += r->parts_before;
        z->parts_after += r->parts_after;
        z->gained += r->gained;
        z->lost += r->lost;
        z->bytes_in += r->bytes_in;
        z->bytes_out += r->bytes_out;
    }
    for (uint32_t i = 0; i < im->nzones; i++) {
        hf_plan_zone_impact_t *z = &im->zones[i];
        if (z->capacity_after)
            z->fill_after = (double)z->parts_after * (double)im->bytes_per_replica /
                            (double)z->capacity_after;
    }
    qsort(im->nodes, im->nnodes, sizeof *im->nodes, cmp_nrow);
    qsort(im->zones, im->nzones, sizeof *im->zones, cmp_zrow);
    free(lo);
    free(ln);
    return HF_OK;
}

void hf_plan_impact_free(hf_plan_impact_t *im)
{
    free(im->nodes);
    free(im->zones);
    memset(im, 0, sizeof *im);
}
