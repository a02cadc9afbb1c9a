/*
 * layout.h -- the cluster layout: a generation number, the nodes with
 * their zone and capacity, and the partition map (the index's key space
 * cut into ranges, each with an ordered replica set), plus the record of
 * the change that made it. Its JSON encoding is the etcd value and the
 * node's local copy; docs/internals/FORMAT-layout.md is the byte-level
 * description (format version HF_LAYOUT_FORMAT).
 *
 * Key space. The index keys are (bucket id u64 big-endian | object key).
 * A partition covers [start, next partition's start), the last one to
 * the end of the space; starts are byte strings written in hex. A first
 * layout cuts the bucket-id space into HF_LAYOUT_PARTITIONS_DEFAULT equal
 * ranges (8-byte starts); a later split may start a partition inside a
 * bucket (a longer start), which this format already carries.
 *
 * Replica sets are ordered: the first is the preferred primary (the data
 * plane's epochs in etcd decide who actually is). Members are indices
 * into nodes[].
 *
 * Everything here is pure: no I/O, no clock, no randomness (callers pass
 * times and ids in), so the planner and the rules built on it are tested
 * as tables.
 *
 * Ownership: a hf_layout_t owns its arrays; hf_layout_free releases them
 * (the struct itself is the caller's). hf_layout_copy makes an
 * independent copy.
 * Threads: none of its own; a layout is immutable once published, so
 * readers share it.
 */
#ifndef HF_CLUSTER_LAYOUT_H
#define HF_CLUSTER_LAYOUT_H

#include "base/buf.h"
#include "base/limits.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HF_LAYOUT_FORMAT 1

typedef struct hf_layout_node {
    char id[HF_NODE_ID_MAX + 1];
    char zone[HF_ZONE_MAX + 1];
    uint64_t capacity;            /* bytes the operator gives the node */
    char rpc[HF_ADDR_MAX + 1];    /* where peers reach it ("" if not known) */
} hf_layout_node_t;

typedef struct hf_layout_part {
    char *start;                  /* hex of the first key (heap); "00...0" (16) for the first */
    uint8_t nreplicas;
    uint16_t replica[HF_LAYOUT_REPLICAS_MAX]; /* indices into nodes[], distinct */
} hf_layout_part_t;

typedef struct hf_layout_change {
    char id[33];                  /* random hex: lets a writer recognise its own write */
    char by[HF_CHANGE_BY_MAX + 1];
    int64_t at_ns;                /* wall clock of the writer */
    uint32_t force_removal;       /* the --force-removal count given (0: none) */
    uint64_t revert_of;           /* the generation restored by `revert` (0: none) */
    char summary[512];            /* "add n7; remove n2; capacity n3 1TiB -> 2TiB" */
} hf_layout_change_t;

typedef struct hf_layout {
    uint32_t format;              /* HF_LAYOUT_FORMAT */
    uint64_t generation;          /* 0: no layout yet (the empty one) */
    uint64_t prev_generation;     /* what it was made from (0 for the first) */
    uint32_t replicas;            /* replicas a partition gets (fewer if fewer nodes) */
    uint32_t replica_floor;       /* no partition may have fewer */
    uint32_t zone_floor;          /* no partition may span fewer zones */
    uint32_t nnodes;
    hf_layout_node_t *nodes;      /* sorted by id, ids unique */
    uint32_t nparts;
    hf_layout_part_t *parts;      /* sorted by start, starts unique */
    hf_layout_change_t change;
} hf_layout_t;

/* The empty layout (generation 0, no nodes). */
void hf_layout_init(hf_layout_t *l);
void hf_layout_free(hf_layout_t *l);
/* An independent copy of src into dst (dst is overwritten, not freed).
 * -ENOMEM. */
int hf_layout_copy(hf_layout_t *dst, const hf_layout_t *src);

/* The index of node id, or -1. */
int hf_layout_node_index(const hf_layout_t *l, const char *id);

/* Distinct zones among the layout's nodes, and among a partition's
 * replicas. */
uint32_t hf_layout_zones(const hf_layout_t *l);
uint32_t hf_layout_part_zones(const hf_layout_t *l, const hf_layout_part_t *p);

/* Partition replicas each node holds (counts[] has nnodes entries). */
void hf_layout_node_load(const hf_layout_t *l, uint32_t *counts);

/* Check that ids and zones are names an operator can type: 1..64 of
 * [A-Za-z0-9._-]. NULL if fine, else why. */
const char *hf_layout_check_name(const char *s, size_t max);

/* Encode l as JSON (the etcd value) into out (capped by HF_LAYOUT_MAX:
 * HF_E_TOOBIG beyond). */
int hf_layout_encode(const hf_layout_t *l, hf_buf_t *out);

/* Decode and check a layout: structure and the rules that hold for any
 * single layout (hf_layout_check). On error *l is the empty layout and
 * why (may be NULL) says what is wrong. HF_E_INVAL (malformed or breaking
 * a rule), HF_E_VERSION (a newer format), HF_E_TOOBIG, -ENOMEM. */
int hf_layout_decode(const void *json, size_t n, hf_layout_t *l, char *why, size_t whycap);

/* The checks any layout must pass to be served, whatever it was made
 * from (invariant 3 of docs/cluster.md): the format; a generation; at
 * least one node and one partition (never empty); node ids and zones
 * well formed, ids unique and sorted; capacities above 0; floors within
 * the replica count; partitions sorted from the start of the key space,
 * each with 1..replicas distinct replicas that are nodes of the layout,
 * at least replica_floor of them, spanning at least zone_floor zones.
 * HF_OK, or HF_E_INVAL with why naming the rule ("empty", "replica-floor",
 * "zone-floor", "structure"). */
int hf_layout_check(const hf_layout_t *l, char *why, size_t whycap);

/* The first layout's cut: n equal ranges of the bucket-id space, with
 * no replicas yet (the planner assigns them). -ENOMEM, HF_E_INVAL (n out
 * of 1..HF_LAYOUT_PARTITIONS_MAX). */
int hf_layout_cut(hf_layout_t *l, uint32_t n);

#endif
