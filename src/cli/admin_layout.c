/*
 * admin_layout.c -- `holdfast admin layout ...`: the cluster layout, read
 * and changed in etcd directly (cluster/ops.h), not through a node.
 *
 *   layout show [--json]
 *   layout plan [--add ID]... [--remove ID]... [--capacity ID=SIZE]...
 *               [--max-removal-step N|P%] [--force-removal N] [--json]
 *   layout apply --generation G [the same change flags] [--json]
 *   layout history [--json]
 *   layout pin G | unpin
 *   layout revert G [--force-removal N] [--max-removal-step N|P%] [--json]
 *
 * Why etcd and not a node's admin API: the compare-and-swap has to happen
 * where the state is, atomically with the rules' inputs; a change must
 * work while nodes are wedged (the brake, `pin`, most of all) and must
 * fail plainly while etcd is down (a node could only relay the failure,
 * and would hold a status worker while it waits). Reads and changes need
 * only the etcd endpoints: --cluster etcd://H:P[,H:P...][/PREFIX] or
 * HOLDFAST_CLUSTER, as the nodes are given.
 *
 * Exit status: 0 applied (plan: would be applied); 3 refused by a rule;
 * 4 the generation moved on (plan again); 1 etcd unreachable or another
 * failure at run time; 2 bad usage.
 */
#include "cli/admin.h"

#include "cli/cli.h"

#include "base/err.h"
#include "base/str.h"
#include "base/time.h"
#include "cluster/ops.h"
#include "etcd/etcd.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The whole command, including reading back after an ambiguous commit,
 * within this (etcd answers in milliseconds; an election takes about a
 * second). */
#define LAYOUT_DEADLINE_MS 15000

enum { EXIT_REFUSED = 3, EXIT_MOVED_ON = 4 };

typedef struct layout_cli {
    hf_etcd_t *e;
    char prefix[HF_CLUSTER_PREFIX_MAX + 1];
    char endpoints[1024];
    int64_t deadline;
} layout_cli_t;

static int open_etcd(admin_ctx_t *c, layout_cli_t *l)
{
    memset(l, 0, sizeof *l);
    if (!c->cluster[0]) {
        fprintf(stderr, "holdfast admin layout: give the cluster's etcd: --cluster "
                        "etcd://HOST:PORT[,HOST:PORT...][/PREFIX] or HOLDFAST_CLUSTER\n");
        return 2;
    }
    char why[512];
    if (hf_cluster_parse_url(c->cluster, l->endpoints, sizeof l->endpoints, l->prefix,
                             sizeof l->prefix, why, sizeof why) ||
        hf_etcd_create(l->endpoints, &l->e, why, sizeof why)) {
        fprintf(stderr, "holdfast admin layout: --cluster: %s\n", why);
        return 2;
    }
    l->deadline = hf_mono_ms() + LAYOUT_DEADLINE_MS;
    return 0;
}

static int etcd_failed(layout_cli_t *l, const char *what, const char *why)
{
    fprintf(stderr,
            "holdfast admin layout: %s: %s\n"
            "  etcd (%s) must be reachable to read or change the layout; the nodes keep serving "
            "the layout they have meanwhile\n",
            what, why, l->endpoints);
    return 1;
}

static void print_json(json_t *j)
{
    char *s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    if (s)
        printf("%s\n", s);
    free(s);
}

/* A layout as JSON: its own encoding (generation first) and extras. */
static json_t *layout_json(const hf_layout_t *l)
{
    hf_buf_t b;
    hf_buf_init(&b, HF_LAYOUT_MAX);
    json_t *j = NULL;
    if (l->generation == 0) {
        j = json_pack("{s:i,s:[],s:[]}", "generation", 0, "nodes", "partitions");
    } else if (hf_layout_encode(l, &b) == HF_OK) {
        json_error_t je;
        j = json_loadb(b.data, b.len, JSON_DECODE_ANY, &je);
        json_t *g = json_object_get(j, "generation");
        /* Keep "generation" the first key for people reading it. */
        if (g) {
            json_incref(g);
            json_t *o = json_object();
            json_object_set_new(o, "generation", g);
            json_object_update(o, j);
            json_decref(j);
            j = o;
        }
    }
    hf_buf_free(&b);
    return j ? j : json_object();
}

static const char *bytes(char *out, size_t n, uint64_t v)
{
    return hf_str_bytes(out, n, (double)v);
}

/* ---- show -------------------------------------------------------------------------- */

static const char *member_state(const hf_cluster_view_t *v, const hf_cluster_member_t *m)
{
    bool in = hf_layout_node_index(&v->layout, m->id) >= 0;
    if (!m->alive)
        return "down";
    return in ? "up" : "new";
}

static int layout_show(admin_ctx_t *c, int argc, char **argv)
{
    bool js = argc == 2 && strcmp(argv[1], "--json") == 0;
    if (argc > 2 || (argc == 2 && !js)) {
        fprintf(stderr, "usage: holdfast admin layout show [--json]\n");
        return 2;
    }
    layout_cli_t l;
    int rc = open_etcd(c, &l);
    if (rc)
        return rc;
    hf_cluster_view_t v;
    char why[512];
    if (hf_cluster_view_read(l.e, l.prefix, l.deadline, &v, why, sizeof why)) {
        hf_etcd_destroy(l.e);
        return etcd_failed(&l, "cannot read the layout", why);
    }
    const hf_layout_t *lay = &v.layout;
    if (v.layout_refused) {
        if (js) {
            json_t *j = json_pack("{s:I,s:b,s:s}", "generation", (json_int_t)v.refused_generation,
                                  "refused", 1, "why", v.refused_why);
            print_json(j);
            json_decref(j);
        } else {
            printf("the layout in etcd (generation %" PRIu64 ") is REFUSED by every node: %s\n"
                   "the nodes serve their last good generation; put one back with\n"
                   "  holdfast admin layout revert G   (G from 'holdfast admin layout history')\n",
                   v.refused_generation, v.refused_why);
        }
        hf_cluster_view_free(&v);
        hf_etcd_destroy(l.e);
        return 1;
    }
    uint32_t *load = calloc(lay->nnodes ? lay->nnodes : 1, sizeof *load);
    hf_layout_node_load(lay, load);
    char a[32], at[32] = "";
    if (js) {
        json_t *j = layout_json(lay);
        json_t *nodes = json_object_get(j, "nodes");
        size_t i;
        json_t *o;
        json_array_foreach(nodes, i, o)
            json_object_set_new(o, "partitions", json_integer(load[i]));
        if (v.pinned) {
            hf_time_iso8601(at, v.pin_at_ns);
            json_object_set_new(j, "pinned", json_pack("{s:I,s:s,s:s}", "generation",
                                                       (json_int_t)v.pin_generation, "by",
                                                       v.pin_by, "at", at));
        } else {
            json_object_set_new(j, "pinned", json_null());
        }
        print_json(j);
        json_decref(j);
    } else if (lay->generation == 0) {
        printf("generation 0: no layout yet. Start nodes with --cluster, then e.g.\n"
               "  holdfast admin layout apply --generation 0 --add NODE --add NODE --add NODE\n");
        if (v.nmembers)
            printf("\nregistered nodes:");
        for (uint32_t i = 0; i < v.nmembers; i++)
            printf(" %s (zone %s)", v.members[i].id, v.members[i].zone);
        if (v.nmembers)
            printf("\n");
    } else {
        if (lay->change.at_ns)
            hf_time_iso8601(at, lay->change.at_ns);
        printf("generation %" PRIu64 " (from %" PRIu64 ", %s%s%s): %s\n", lay->generation,
               lay->prev_generation, at, lay->change.by[0] ? " by " : "", lay->change.by,
               lay->change.summary);
        if (v.pinned)
            printf("PINNED at generation %" PRIu64 " by %s: nodes ignore newer generations until "
                   "'holdfast admin layout unpin'\n",
                   v.pin_generation, v.pin_by);
        printf("%u partitions, %u replicas each (floor %u), in at least %u zones\n\n", lay->nparts,
               lay->replicas, lay->replica_floor, lay->zone_floor);
        printf("%-20s %-12s %12s %10s %6s  %-6s %s\n", "NODE", "ZONE", "CAPACITY", "PARTITIONS",
               "SHARE", "STATE", "SERVES");
        uint64_t total = 0;
        for (uint32_t i = 0; i < lay->nparts; i++)
            total += lay->parts[i].nreplicas;
        for (uint32_t i = 0; i < lay->nnodes; i++) {
            const hf_layout_node_t *n = &lay->nodes[i];
            const hf_cluster_member_t *m = hf_cluster_view_member(&v, n->id);
            char serves[32] = "?";
            if (m && m->registered)
                snprintf(serves, sizeof serves, "%" PRIu64, m->applied);
            printf("%-20s %-12s %12s %10u %5.1f%%  %-6s %s\n", n->id, n->zone,
                   bytes(a, sizeof a, n->capacity), load[i],
                   total ? 100.0 * load[i] / (double)total : 0.0, m ? member_state(&v, m) : "down",
                   serves);
        }
    }
    free(load);
    hf_cluster_view_free(&v);
    hf_etcd_destroy(l.e);
    return 0;
}

/* ---- plan, apply, revert -------------------------------------------------------------- */

#define CHANGES_MAX HF_CLUSTER_NODES_MAX

typedef struct change_args {
    const char *add[CHANGES_MAX], *remove[CHANGES_MAX], *cap_id[CHANGES_MAX];
    uint64_t cap_bytes[CHANGES_MAX];
    uint32_t nadd, nremove, ncap;
    char cap_ids[64][HF_NODE_ID_MAX + 1]; /* storage for --capacity ids */
    hf_rule_facts_t facts;
    bool have_gen, js;
    uint64_t gen;
} change_args_t;

static int parse_u64_arg(const char *s, uint64_t *out)
{
    return hf_parse_u64(s, strlen(s), out) == HF_OK ? 0 : -1;
}

/* Parse the flags after the verb. allow: which groups of flags. */
static int parse_change(int argc, char **argv, bool changes, bool gen, change_args_t *a,
                        const char *usage)
{
    memset(a, 0, sizeof *a);
    for (int i = 1; i < argc; i++) {
        const char *f = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(f, "--json") == 0) {
            a->js = true;
            continue;
        }
        if (!v)
            goto bad;
        i++;
        if (changes && strcmp(f, "--add") == 0 && a->nadd < CHANGES_MAX) {
            a->add[a->nadd++] = v;
        } else if (changes && strcmp(f, "--remove") == 0 && a->nremove < CHANGES_MAX) {
            a->remove[a->nremove++] = v;
        } else if (changes && strcmp(f, "--capacity") == 0 && a->ncap < 64) {
            const char *eq = strchr(v, '=');
            if (!eq || eq == v || (size_t)(eq - v) > HF_NODE_ID_MAX ||
                hf_cli_parse_size(eq + 1, &a->cap_bytes[a->ncap]) || !a->cap_bytes[a->ncap]) {
                fprintf(stderr, "holdfast admin layout: --capacity takes ID=SIZE (e.g. n3=4TiB), "
                                "not '%s'\n",
                        v);
                return 2;
            }
            snprintf(a->cap_ids[a->ncap], sizeof a->cap_ids[a->ncap], "%.*s", (int)(eq - v), v);
            a->cap_id[a->ncap] = a->cap_ids[a->ncap];
            a->ncap++;
        } else if (strcmp(f, "--max-removal-step") == 0) {
            if (hf_rules_parse_step(v, &a->facts.max_step_nodes, &a->facts.max_step_percent)) {
                fprintf(stderr, "holdfast admin layout: --max-removal-step takes a node count "
                                "(e.g. 2) or a share of the capacity (e.g. 25%%)\n");
                return 2;
            }
        } else if (strcmp(f, "--force-removal") == 0) {
            uint64_t n;
            if (parse_u64_arg(v, &n) || n < 1 || n > HF_CLUSTER_NODES_MAX) {
                fprintf(stderr, "holdfast admin layout: --force-removal takes the number of nodes "
                                "being removed\n");
                return 2;
            }
            a->facts.force_removal = (uint32_t)n;
        } else if (gen && strcmp(f, "--generation") == 0) {
            if (parse_u64_arg(v, &a->gen)) {
                fprintf(stderr, "holdfast admin layout: --generation takes the generation the "
                                "change is planned from (see 'layout show')\n");
                return 2;
            }
            a->have_gen = true;
        } else {
            goto bad;
        }
    }
    return 0;
bad:
    fprintf(stderr, "usage: holdfast admin layout %s\n", usage);
    return 2;
}

static json_t *impact_json(const hf_apply_res_t *r)
{
    json_t *zones = json_array(), *nodes = json_array(), *parts = json_array(), *refused = json_array();
    for (uint32_t i = 0; i < r->impact.nzones; i++) {
        const hf_plan_zone_impact_t *z = &r->impact.zones[i];
        json_array_append_new(
            zones, json_pack("{s:s,s:i,s:i,s:I,s:i,s:i,s:i,s:i,s:I,s:I,s:f}", "zone", z->zone,
                             "nodes_before", z->nodes_before, "nodes_after", z->nodes_after,
                             "capacity_after", (json_int_t)z->capacity_after, "partitions_before",
                             z->parts_before, "partitions_after", z->parts_after, "gained",
                             z->gained, "lost", z->lost, "bytes_in", (json_int_t)z->bytes_in,
                             "bytes_out", (json_int_t)z->bytes_out, "fill_after", z->fill_after));
    }
    for (uint32_t i = 0; i < r->impact.nnodes; i++) {
        const hf_plan_node_impact_t *n = &r->impact.nodes[i];
        json_array_append_new(
            nodes, json_pack("{s:s,s:s,s:s,s:I,s:I,s:i,s:i,s:i,s:i,s:I,s:I,s:f}", "id", n->id,
                             "zone", n->zone, "change", n->change, "capacity_before",
                             (json_int_t)n->capacity_before, "capacity_after",
                             (json_int_t)n->capacity_after, "partitions_before", n->parts_before,
                             "partitions_after", n->parts_after, "gained", n->gained, "lost",
                             n->lost, "bytes_in", (json_int_t)n->bytes_in, "bytes_out",
                             (json_int_t)n->bytes_out, "fill_after", n->fill_after));
    }
    const hf_layout_t *nl = &r->new;
    for (uint32_t i = 0; i < nl->nparts; i++) {
        json_t *reps = json_array();
        for (uint32_t k = 0; k < nl->parts[i].nreplicas; k++)
            json_array_append_new(reps, json_string(nl->nodes[nl->parts[i].replica[k]].id));
        json_array_append_new(parts, json_pack("{s:s,s:o,s:i,s:i}", "start", nl->parts[i].start,
                                               "replicas", reps, "replica_count",
                                               nl->parts[i].nreplicas, "zones",
                                               hf_layout_part_zones(nl, &nl->parts[i])));
    }
    for (size_t i = 0; i < r->nv && i < sizeof r->v / sizeof r->v[0]; i++)
        json_array_append_new(refused, json_pack("{s:s,s:s}", "rule", r->v[i].rule, "message",
                                                 r->v[i].msg));
    return json_pack("{s:s,s:I,s:I,s:o,s:i,s:I,s:o,s:o,s:o}", "summary", nl->change.summary,
                     "planned_generation", (json_int_t)nl->generation, "bytes_per_replica",
                     (json_int_t)r->impact.bytes_per_replica, "refused", refused, "moves",
                     r->impact.moved, "bytes_moved", (json_int_t)r->impact.bytes_moved, "zones",
                     zones, "nodes", nodes, "partitions", parts);
}

static void print_impact(const hf_apply_res_t *r)
{
    char a[32], b[32], c2[32];
    const hf_plan_impact_t *im = &r->impact;
    printf("change: generation %" PRIu64 " -> %" PRIu64 ": %s\n", r->old.generation,
           r->new.generation, r->new.change.summary);
    printf("moves:  %u partition replicas, about %s (%s each, from what the nodes report)\n\n",
           im->moved, bytes(a, sizeof a, im->bytes_moved), bytes(b, sizeof b, im->bytes_per_replica));
    printf("%-12s %11s %21s %7s %7s %11s %11s %10s\n", "ZONE", "NODES", "PARTITIONS", "GAINED",
           "LOST", "BYTES IN", "BYTES OUT", "FILL AFTER");
    for (uint32_t i = 0; i < im->nzones; i++) {
        const hf_plan_zone_impact_t *z = &im->zones[i];
        char nn[24], pp[32];
        snprintf(nn, sizeof nn, "%u -> %u", z->nodes_before, z->nodes_after);
        snprintf(pp, sizeof pp, "%u -> %u", z->parts_before, z->parts_after);
        printf("%-12s %11s %21s %7u %7u %11s %11s %9.1f%%\n", z->zone, nn, pp, z->gained, z->lost,
               bytes(a, sizeof a, z->bytes_in), bytes(b, sizeof b, z->bytes_out),
               100.0 * z->fill_after);
    }
    printf("\n%-20s %-10s %-9s %12s %15s %7s %7s %11s %10s\n", "NODE", "ZONE", "CHANGE",
           "CAPACITY", "PARTITIONS", "GAINED", "LOST", "BYTES IN", "FILL AFTER");
    for (uint32_t i = 0; i < im->nnodes; i++) {
        const hf_plan_node_impact_t *n = &im->nodes[i];
        char pp[32];
        snprintf(pp, sizeof pp, "%u -> %u", n->parts_before, n->parts_after);
        printf("%-20s %-10s %-9s %12s %15s %7u %7u %11s %9.1f%%\n", n->id, n->zone,
               *n->change ? n->change : "-",
               bytes(c2, sizeof c2, n->capacity_after ? n->capacity_after : n->capacity_before), pp,
               n->gained, n->lost, bytes(a, sizeof a, n->bytes_in), 100.0 * n->fill_after);
    }
    printf("\npartitions after the change:");
    for (int k = HF_LAYOUT_REPLICAS_MAX; k >= 0; k--)
        if (im->by_replicas[k])
            printf(" %u with %d replica%s;", im->by_replicas[k], k, k == 1 ? "" : "s");
    for (int k = HF_LAYOUT_REPLICAS_MAX; k >= 0; k--)
        if (im->by_zones[k])
            printf(" %u in %d zone%s;", im->by_zones[k], k, k == 1 ? "" : "s");
    printf("\n");
    if (r->nv) {
        printf("\nREFUSED: the change breaks %zu rule%s:\n", r->nv, r->nv == 1 ? "" : "s");
        for (size_t i = 0; i < r->nv && i < sizeof r->v / sizeof r->v[0]; i++)
            printf("  %-14s %s\n", r->v[i].rule, r->v[i].msg);
    } else {
        printf("\nrules: every rule holds\n");
    }
}

/* plan (dry_run), apply, or revert (revert_to). */
static int change(admin_ctx_t *c, int argc, char **argv, bool dry_run, uint64_t revert_to)
{
    const char *usage = revert_to ? "revert G [--generation G] [--force-removal N] "
                                    "[--max-removal-step N|P%] [--json]"
                        : dry_run ? "plan [--add ID]... [--remove ID]... [--capacity ID=SIZE]... "
                                    "[--max-removal-step N|P%] [--force-removal N] [--json]"
                                  : "apply --generation G [--add ID]... [--remove ID]... "
                                    "[--capacity ID=SIZE]... [--max-removal-step N|P%] "
                                    "[--force-removal N] [--json]";
    change_args_t *a = calloc(1, sizeof *a);
    if (!a)
        return 1;
    int rc = parse_change(argc - (revert_to ? 1 : 0), argv + (revert_to ? 1 : 0), !revert_to,
                          !dry_run, a, usage);
    if (rc == 0 && !dry_run && !revert_to && !a->have_gen) {
        fprintf(stderr, "holdfast admin layout apply: --generation G is required: the generation "
                        "you planned from ('layout show'); the change is applied only if it is "
                        "still the current one\n");
        rc = 2;
    }
    layout_cli_t l;
    if (rc == 0)
        rc = open_etcd(c, &l);
    if (rc) {
        free(a);
        return rc;
    }
    char by[HF_CHANGE_BY_MAX + 1];
    hf_cluster_by(by, sizeof by, c->local_user);
    hf_apply_req_t rq = {
        .dry_run = dry_run,
        .any_generation = dry_run || (revert_to && !a->have_gen),
        .generation = a->gen,
        .revert_to = revert_to,
        .add = a->add, .nadd = a->nadd,
        .remove = a->remove, .nremove = a->nremove,
        .cap_id = a->cap_id, .cap_bytes = a->cap_bytes, .ncap = a->ncap,
        .facts = a->facts,
        .by = by,
    };
    hf_apply_res_t res;
    char why[512] = "";
    int erc = hf_cluster_apply(l.e, l.prefix, &rq, l.deadline, &res, why, sizeof why);
    if (erc == HF_E_INVAL) {
        fprintf(stderr, "holdfast admin layout: %s\n", why);
        rc = 2;
    } else if (erc) {
        rc = etcd_failed(&l, dry_run ? "cannot plan" : "the change was not applied", why);
    } else if (res.outcome == HF_APPLY_MOVED_ON) {
        if (a->js)
            print_json(json_pack("{s:I,s:s,s:I}", "generation", (json_int_t)res.current, "outcome",
                                 "moved_on", "planned_from", (json_int_t)a->gen));
        fprintf(stderr,
                "holdfast admin layout: the generation moved on: it is %s%" PRIu64 " now, the "
                "change was planned from %" PRIu64 ". Nothing was applied; look at 'holdfast admin "
                "layout show' and plan again\n",
                res.current ? "" : "beyond ", res.current ? res.current : a->gen, a->gen);
        rc = EXIT_MOVED_ON;
    } else {
        bool applied = res.outcome == HF_APPLY_APPLIED && !dry_run;
        if (a->js) {
            json_t *j = json_object();
            json_object_set_new(j, "generation",
                                json_integer((json_int_t)(applied ? res.new.generation
                                                                  : res.old.generation)));
            json_object_set_new(j, "outcome", json_string(res.outcome == HF_APPLY_REFUSED
                                                              ? "refused"
                                                          : dry_run ? "would_apply"
                                                                    : "applied"));
            json_object_update_new(j, impact_json(&res));
            print_json(j);
            json_decref(j);
        } else {
            print_impact(&res);
            if (res.outcome == HF_APPLY_REFUSED)
                printf("\nnothing was changed (generation %" PRIu64 ")\n", res.old.generation);
            else if (dry_run)
                printf("\nthis change would be applied: 'holdfast admin layout apply --generation "
                       "%" PRIu64 "' with the same flags\n",
                       res.old.generation);
            else
                printf("\napplied: generation %" PRIu64 "\n", res.new.generation);
        }
        rc = res.outcome == HF_APPLY_REFUSED ? EXIT_REFUSED : 0;
    }
    if (erc == HF_OK)
        hf_cluster_apply_free(&res);
    hf_etcd_destroy(l.e);
    free(a);
    return rc;
}

static int layout_plan(admin_ctx_t *c, int argc, char **argv)
{
    return change(c, argc, argv, true, 0);
}

static int layout_apply(admin_ctx_t *c, int argc, char **argv)
{
    return change(c, argc, argv, false, 0);
}

static int layout_revert(admin_ctx_t *c, int argc, char **argv)
{
    uint64_t g;
    if (argc < 2 || parse_u64_arg(argv[1], &g) || g == 0) {
        fprintf(stderr, "usage: holdfast admin layout revert G [--generation G] [--force-removal N] "
                        "[--max-removal-step N|P%%] [--json]   (G: a generation in 'layout "
                        "history')\n");
        return 2;
    }
    return change(c, argc, argv, false, g);
}

/* ---- history, pin ------------------------------------------------------------------------ */

static int layout_history(admin_ctx_t *c, int argc, char **argv)
{
    bool js = argc == 2 && strcmp(argv[1], "--json") == 0;
    if (argc > 2 || (argc == 2 && !js)) {
        fprintf(stderr, "usage: holdfast admin layout history [--json]\n");
        return 2;
    }
    layout_cli_t l;
    int rc = open_etcd(c, &l);
    if (rc)
        return rc;
    hf_layout_t *ls;
    uint32_t n, damaged;
    int erc = hf_cluster_history_list(l.e, l.prefix, l.deadline, &ls, &n, &damaged);
    if (erc) {
        char why[300];
        snprintf(why, sizeof why, "%s (%s)", hf_strerror(erc), hf_etcd_last_error(l.e));
        hf_etcd_destroy(l.e);
        return etcd_failed(&l, "cannot read the history", why);
    }
    json_t *arr = json_array();
    if (!js)
        printf("%-10s %-20s %-28s %-6s %s\n", "GEN", "AT", "BY", "NODES", "CHANGE");
    for (uint32_t i = 0; i < n; i++) {
        char at[32] = "";
        if (ls[i].change.at_ns)
            hf_time_iso8601(at, ls[i].change.at_ns);
        if (js)
            json_array_append_new(arr, json_pack("{s:I,s:I,s:s,s:s,s:s,s:i,s:I,s:I}", "generation",
                                                 (json_int_t)ls[i].generation, "prev_generation",
                                                 (json_int_t)ls[i].prev_generation, "at", at, "by",
                                                 ls[i].change.by, "summary", ls[i].change.summary,
                                                 "nodes", ls[i].nnodes, "force_removal",
                                                 (json_int_t)ls[i].change.force_removal,
                                                 "revert_of", (json_int_t)ls[i].change.revert_of));
        else
            printf("%-10" PRIu64 " %-20s %-28s %-6u %s\n", ls[i].generation, at, ls[i].change.by,
                   ls[i].nnodes, ls[i].change.summary);
        hf_layout_free(&ls[i]);
    }
    free(ls);
    if (js) {
        json_t *j = json_pack("{s:I,s:o,s:i}", "generation",
                              (json_int_t)(json_array_size(arr)
                                               ? json_integer_value(json_object_get(
                                                     json_array_get(arr, json_array_size(arr) - 1),
                                                     "generation"))
                                               : 0),
                              "history", arr, "damaged", damaged);
        print_json(j);
        json_decref(j);
    } else if (damaged) {
        printf("(%u damaged entries skipped)\n", damaged);
    }
    hf_etcd_destroy(l.e);
    return 0;
}

static int pin_common(admin_ctx_t *c, uint64_t g)
{
    layout_cli_t l;
    int rc = open_etcd(c, &l);
    if (rc)
        return rc;
    char by[HF_CHANGE_BY_MAX + 1], why[512] = "";
    hf_cluster_by(by, sizeof by, c->local_user);
    int erc = hf_cluster_pin(l.e, l.prefix, g, by, l.deadline, why, sizeof why);
    if (erc == HF_E_INVAL || erc == HF_E_NOTFOUND) {
        fprintf(stderr, "holdfast admin layout pin: %s\n", why);
        rc = 2;
    } else if (erc == HF_E_CONFLICT) {
        fprintf(stderr, "holdfast admin layout: %s\n", why);
        rc = EXIT_MOVED_ON;
    } else if (erc) {
        rc = etcd_failed(&l, g ? "cannot pin" : "cannot unpin", why);
    } else if (g) {
        printf("pinned at generation %" PRIu64 ": nodes serve it (or what they have, if newer) "
               "and ignore newer generations; changes are refused until 'holdfast admin layout "
               "unpin'\n",
               g);
    } else {
        printf("unpinned: nodes follow the current generation again\n");
    }
    hf_etcd_destroy(l.e);
    return rc;
}

static int layout_pin(admin_ctx_t *c, int argc, char **argv)
{
    uint64_t g;
    if (argc != 2 || parse_u64_arg(argv[1], &g) || g == 0) {
        fprintf(stderr, "usage: holdfast admin layout pin G   (G: a generation in 'layout "
                        "history', usually the current one)\n");
        return 2;
    }
    return pin_common(c, g);
}

static int layout_unpin(admin_ctx_t *c, int argc, char **argv)
{
    (void)argv;
    if (argc != 1) {
        fprintf(stderr, "usage: holdfast admin layout unpin\n");
        return 2;
    }
    return pin_common(c, 0);
}

int hf_admin_layout(admin_ctx_t *c, int argc, char **argv)
{
    static const struct {
        const char *verb;
        int (*fn)(admin_ctx_t *c, int argc, char **argv);
    } verbs[] = {
        {"show", layout_show},       {"plan", layout_plan}, {"apply", layout_apply},
        {"history", layout_history}, {"pin", layout_pin},   {"unpin", layout_unpin},
        {"revert", layout_revert},
    };
    for (size_t i = 0; i < sizeof verbs / sizeof verbs[0]; i++)
        if (argc >= 1 && strcmp(argv[0], verbs[i].verb) == 0)
            return verbs[i].fn(c, argc, argv);
    fprintf(stderr, "holdfast admin layout: unknown command '%s'; run 'holdfast admin --help'\n",
            argc ? argv[0] : "");
    return 2;
}
