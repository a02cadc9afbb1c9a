/*
 * plan.h -- the planner (a new layout from the current one and the
 * requested changes), the impact of a change, and the rules a change must
 * keep. All pure: no I/O, no clock, no randomness; the inputs that come
 * from the world (what each node stores, which nodes have confirmed a
 * generation, whether the layout is pinned) are facts the caller passes.
 * tests/unit/cluster/ tests them as tables.
 *
 * The planner moves as little as possible and balances by capacity:
 *   1. targets: the partition replicas each node should hold, in
 *      proportion to its capacity, with no node holding a partition twice
 *      and, when there are at least as many zones as replicas, no zone
 *      holding a partition twice (a zone's share is capped at one replica
 *      of every partition; what a capped zone cannot take goes to the
 *      others in proportion);
 *   2. every replica of the current layout stays where it is unless its
 *      node is removed;
 *   3. a partition short of replicas gets them from the nodes furthest
 *      below their target, in zones it does not span yet;
 *   4. while a node holds more than its target, one of its replicas moves
 *      to a node below target where the zone rule allows; a move is only
 *      made toward the targets, so the loop ends, and nothing moves that
 *      the targets do not require.
 * Ties are broken by node order, so the same input always gives the same
 * layout.
 *
 * The rules (hf_rules_check) are what `layout plan` reports and `layout
 * apply` re-checks at the moment of its compare-and-swap; each refusal
 * names its rule and gives the numbers (docs/cluster.md, "Rules"):
 *   empty, replica-floor, zone-floor  (also checked by every node, alone)
 *   removal-step   more nodes removed at once than --max-removal-step
 *                  allows (one node, or 10% of the capacity, whichever
 *                  is larger) without --force-removal N repeating the
 *                  exact count
 *   force-removal  --force-removal N given with N not the count removed
 *   moving         a removal while nodes that gained partitions in the
 *                  current generation have not confirmed it (other than
 *                  the nodes being removed)
 *   space          a node would hold more than its capacity, or the data
 *                  would not fit in the cluster without its largest zone
 *                  (largest node when there is one zone): the headroom
 *                  repair needs
 *   pinned         the layout is pinned (`layout unpin` first)
 *
 * Ownership: outputs are the caller's; hf_plan_impact_free releases an
 * impact's arrays.
 */
#ifndef HF_CLUSTER_PLAN_H
#define HF_CLUSTER_PLAN_H

#include "cluster/layout.h"

/* A requested change. */
typedef struct hf_plan_change {
    const hf_layout_node_t *add;   /* nodes to add: id, zone, capacity, rpc */
    uint32_t nadd;
    const char *const *remove;     /* ids to remove */
    uint32_t nremove;
    const char *const *cap_id;     /* capacity changes: id and new bytes */
    const uint64_t *cap_bytes;
    uint32_t ncap;
    /* For a first layout (current generation 0): partitions and replicas
     * (0: the defaults in limits.h). Ignored otherwise. */
    uint32_t partitions;
    uint32_t replicas;
} hf_plan_change_t;

/* Make the next layout from cur (generation 0: the first) and ch into
 * *out: generation cur + 1, made from cur, settings kept (a first layout
 * gets replicas, replica floor = majority of replicas, zone floor =
 * min(replicas, zones)), nodes changed as asked, partitions placed as
 * described above. out->change is zeroed except for its summary (the
 * caller fills id, by, at). HF_E_INVAL with why when the request itself
 * is wrong (a node added twice or already there, a node to remove or
 * resize that is not in the layout, a bad id, zone or capacity, nothing
 * to do); -ENOMEM. A request that is well formed but breaks a rule is
 * planned anyway: hf_rules_check says what it breaks. */
int hf_plan_make(const hf_layout_t *cur, const hf_plan_change_t *ch, hf_layout_t *out, char *why,
                 size_t whycap);

/* The layout that puts target back: its nodes and partition map as a new
 * generation, made from cur, change.revert_of = target's generation. The
 * new generation is above cur's and above newest (the newest generation
 * ever written: the history's, or one written into etcd by hand), so no
 * node sees generations go back. -ENOMEM; HF_E_INVAL if target is the
 * generation cur already is. */
int hf_plan_revert(const hf_layout_t *cur, const hf_layout_t *target, uint64_t newest,
                   hf_layout_t *out, char *why, size_t whycap);

/* ---- impact -------------------------------------------------------------------- */

typedef struct hf_plan_node_impact {
    char id[HF_NODE_ID_MAX + 1];
    char zone[HF_ZONE_MAX + 1];
    const char *change;            /* "added", "removed", "capacity", "" */
    uint64_t capacity_before, capacity_after;
    uint32_t parts_before, parts_after;
    uint32_t gained, lost;         /* partition replicas moving in / out */
    uint64_t bytes_in, bytes_out;  /* estimated */
    double fill_after;             /* estimated bytes held / capacity (0 if removed) */
} hf_plan_node_impact_t;

typedef struct hf_plan_zone_impact {
    char zone[HF_ZONE_MAX + 1];
    uint32_t nodes_before, nodes_after;
    uint64_t capacity_after;
    uint32_t parts_before, parts_after, gained, lost;
    uint64_t bytes_in, bytes_out;
    double fill_after;
} hf_plan_zone_impact_t;

typedef struct hf_plan_impact {
    hf_plan_node_impact_t *nodes;  /* every node of old and new, by id */
    uint32_t nnodes;
    hf_plan_zone_impact_t *zones;  /* every zone of old and new, by name */
    uint32_t nzones;
    uint32_t moved;                /* partition replicas placed on a new node */
    uint64_t bytes_moved;          /* estimated */
    uint64_t bytes_per_replica;    /* the estimate used */
    /* Partitions after the change by (replicas, zones spanned). */
    uint32_t by_replicas[HF_LAYOUT_REPLICAS_MAX + 1];
    uint32_t by_zones[HF_LAYOUT_REPLICAS_MAX + 1];
    uint32_t removed, added;       /* nodes */
    uint64_t capacity_removed, capacity_before;
} hf_plan_impact_t;

/* The impact of going from old to new, with data_bytes (every replica
 * of every partition, as the nodes report it) spread evenly over old's
 * partition replicas. -ENOMEM. */
int hf_plan_impact(const hf_layout_t *old, const hf_layout_t *new, uint64_t data_bytes,
                   hf_plan_impact_t *out);
void hf_plan_impact_free(hf_plan_impact_t *im);

/* ---- rules ---------------------------------------------------------------------- */

typedef struct hf_rule_facts {
    uint32_t force_removal;        /* --force-removal N (0: not given) */
    uint32_t max_step_nodes;       /* --max-removal-step N (0: not given) */
    uint32_t max_step_percent;     /* --max-removal-step P% (0: not given) */
    uint64_t data_bytes;           /* as for hf_plan_impact */
    const char *const *unconfirmed;/* nodes that gained partitions in old's generation and have
                                      not confirmed it */
    uint32_t nunconfirmed;
    bool pinned;
    uint64_t pin_generation;
} hf_rule_facts_t;

/* The default removal step: one node, or this share of the capacity,
 * whichever is larger (R1.2). */
#define HF_RULE_REMOVAL_STEP_PERCENT 10

typedef struct hf_rule_violation {
    const char *rule;              /* static: "removal-step", ... */
    char msg[320];
} hf_rule_violation_t;

/* Every rule the change old -> new breaks, at most cap of them into out
 * (the count of all of them is returned; 0: the change may be applied). */
size_t hf_rules_check(const hf_layout_t *old, const hf_layout_t *new, const hf_rule_facts_t *f,
                      hf_rule_violation_t *out, size_t cap);

/* Parse --max-removal-step: "N" nodes or "P%" of capacity. HF_E_INVAL. */
int hf_rules_parse_step(const char *s, uint32_t *nodes, uint32_t *percent);

#endif
