/*
 * rules.c -- the rules a layout change must keep; see plan.h and
 * docs/cluster.md ("Rules"). Each refusal names the rule and carries the
 * numbers an operator needs to decide what to do instead.
 */
#include "cluster/plan.h"

#include "base/err.h"
#include "base/str.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct out {
    hf_rule_violation_t *v;
    size_t cap, n;
} out_t;

static void add(out_t *o, const char *rule, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void add(out_t *o, const char *rule, const char *fmt, ...)
{
    if (o->n < o->cap) {
        hf_rule_violation_t *v = &o->v[o->n];
        v->rule = rule;
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(v->msg, sizeof v->msg, fmt, ap);
        va_end(ap);
    }
    o->n++;
}

int hf_rules_parse_step(const char *s, uint32_t *nodes, uint32_t *percent)
{
    *nodes = *percent = 0;
    char *end;
    unsigned long v = strtoul(s, &end, 10);
    if (end == s || *s == '-' || *s == '+')
        return HF_E_INVAL;
    if (strcmp(end, "%") == 0) {
        if (v < 1 || v > 100)
            return HF_E_INVAL;
        *percent = (uint32_t)v;
        return HF_OK;
    }
    if (*end || v < 1 || v > HF_CLUSTER_NODES_MAX)
        return HF_E_INVAL;
    *nodes = (uint32_t)v;
    return HF_OK;
}

static bool removed(const hf_layout_t *new, const char *id)
{
    return hf_layout_node_index(new, id) < 0;
}

size_t hf_rules_check(const hf_layout_t *old, const hf_layout_t *new, const hf_rule_facts_t *f,
                      hf_rule_violation_t *v, size_t cap)
{
    out_t o = {v, cap, 0};
    char a[32], b[32], c[32];
    if (f->pinned)
        add(&o, "pinned",
            "the layout is pinned at generation %" PRIu64 ": nodes ignore newer generations; run "
            "'holdfast admin layout unpin' first",
            f->pin_generation);
    if (new->nnodes == 0 || new->nparts == 0) {
        add(&o, "empty", "the change leaves %u nodes and %u partitions: a cluster never runs on an "
                         "empty layout",
            new->nnodes, new->nparts);
        return o.n;
    }
    /* Floors, counted over every partition. */
    uint32_t below_r = 0, below_z = 0, min_r = UINT32_MAX, min_z = UINT32_MAX;
    for (uint32_t i = 0; i < new->nparts; i++) {
        uint32_t r = new->parts[i].nreplicas, z = hf_layout_part_zones(new, &new->parts[i]);
        below_r += r < new->replica_floor;
        below_z += z < new->zone_floor;
        min_r = r < min_r ? r : min_r;
        min_z = z < min_z ? z : min_z;
    }
    if (below_r)
        add(&o, "replica-floor",
            "%u of %u partitions would have fewer than %u replicas (as few as %u): %u nodes would "
            "remain",
            below_r, new->nparts, new->replica_floor, min_r, new->nnodes);
    if (below_z)
        add(&o, "zone-floor",
            "%u of %u partitions would span fewer than %u zones (as few as %u): %u zones would "
            "remain",
            below_z, new->nparts, new->zone_floor, min_z, hf_layout_zones(new));
    /* Removals: how many and how much capacity. */
    uint32_t nrem = 0;
    uint64_t cap_old = 0, cap_rem = 0;
    for (uint32_t i = 0; i < old->nnodes; i++) {
        cap_old += old->nodes[i].capacity;
        if (removed(new, old->nodes[i].id)) {
            nrem++;
            cap_rem += old->nodes[i].capacity;
        }
    }
    if (f->force_removal && f->force_removal != nrem)
        add(&o, "force-removal",
            "--force-removal %u does not repeat the number of nodes this change removes (%u)",
            f->force_removal, nrem);
    if (nrem > 1) {
        uint32_t pct = f->max_step_percent ? f->max_step_percent : HF_RULE_REMOVAL_STEP_PERCENT;
        uint32_t lim_nodes = f->max_step_nodes ? f->max_step_nodes : 1;
        /* Within the step: at most lim_nodes nodes, or at most pct of
         * the capacity, whichever allows more. */
        bool by_nodes = nrem <= lim_nodes;
        bool by_cap = !f->max_step_nodes && cap_old &&
                      (double)cap_rem * 100.0 <= (double)cap_old * pct;
        if (!by_nodes && !by_cap && f->force_removal != nrem)
            add(&o, "removal-step",
                "the change removes %u nodes (%s of %s, %.0f%% of the capacity); one step removes "
                "at most %u node%s or %u%% of the capacity: remove fewer, or repeat the count with "
                "--force-removal %u",
                nrem, hf_str_bytes(a, sizeof a, (double)cap_rem),
                hf_str_bytes(b, sizeof b, (double)cap_old),
                cap_old ? (double)cap_rem * 100.0 / (double)cap_old : 0.0, lim_nodes,
                lim_nodes == 1 ? "" : "s", pct, nrem);
    }
    if (nrem) {
        char list[256] = "";
        uint32_t still = 0;
        for (uint32_t i = 0; i < f->nunconfirmed; i++) {
            if (!removed(new, f->unconfirmed[i]) &&
                hf_layout_node_index(old, f->unconfirmed[i]) >= 0) {
                still++;
                size_t l = strlen(list);
                if (l + 80 < sizeof list)
                    snprintf(list + l, sizeof list - l, "%s%s", l ? ", " : "", f->unconfirmed[i]);
            }
        }
        if (still)
            add(&o, "moving",
                "generation %" PRIu64 " is still moving data: %u node%s (%s) %s not confirmed it; "
                "no removal until every node has",
                old->generation, still, still == 1 ? "" : "s", list, still == 1 ? "has" : "have");
    }
    /* Space: each node's share, and the cluster without its largest zone
     * (or node, with one zone). */
    uint64_t old_replicas = 0;
    for (uint32_t i = 0; i < old->nparts; i++)
        old_replicas += old->parts[i].nreplicas;
    uint64_t per = old_replicas ? f->data_bytes / old_replicas : 0;
    uint32_t *load = calloc(new->nnodes, sizeof *load);
    if (load) {
        hf_layout_node_load(new, load);
        uint32_t over = 0;
        const char *worst = NULL;
        double worst_fill = 0;
        for (uint32_t i = 0; i < new->nnodes; i++) {
            double fill = (double)load[i] * (double)per / (double)new->nodes[i].capacity;
            if (fill > 1.0) {
                over++;
                if (fill > worst_fill) {
                    worst_fill = fill;
                    worst = new->nodes[i].id;
                }
            }
        }
        if (over)
            add(&o, "space", "%u node%s would hold more than its capacity (%s at %.0f%%)", over,
                over == 1 ? "" : "s", worst, worst_fill * 100.0);
        free(load);
    }
    uint64_t cap_new = 0, largest = 0;
    uint32_t zones = hf_layout_zones(new);
    for (uint32_t i = 0; i < new->nnodes; i++) {
        cap_new += new->nodes[i].capacity;
        uint64_t dom = new->nodes[i].capacity;
        if (zones > 1) {
            dom = 0;
            for (uint32_t k = 0; k < new->nnodes; k++)
                if (strcmp(new->nodes[k].zone, new->nodes[i].zone) == 0)
                    dom += new->nodes[k].capacity;
        }
        largest = dom > largest ? dom : largest;
    }
    if (f->data_bytes > cap_new - largest)
        add(&o, "space",
            "%s stored would not fit without the largest %s (%s): %s remain for it; repair needs "
            "that headroom",
            hf_str_bytes(a, sizeof a, (double)f->data_bytes), zones > 1 ? "zone" : "node",
            hf_str_bytes(b, sizeof b, (double)largest),
            hf_str_bytes(c, sizeof c, (double)(cap_new - largest)));
    return o.n;
}
