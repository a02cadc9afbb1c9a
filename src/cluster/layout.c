/*
 * layout.c -- the layout type, its JSON encoding and the checks every
 * served layout passes; see layout.h and docs/internals/FORMAT-layout.md.
 *
 * Decoding is strict: an unknown top-level field, a missing one, or a
 * value of the wrong type is refused, so a layout written by hand (or by
 * a bug) straight into etcd is refused by every node rather than half
 * understood.
 */
#include "cluster/layout.h"

#include "cluster/internal.h"

#include "base/err.h"
#include "base/str.h"
#include "base/time.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void hf_layout_init(hf_layout_t *l)
{
    memset(l, 0, sizeof *l);
    l->format = HF_LAYOUT_FORMAT;
}

void hf_layout_free(hf_layout_t *l)
{
    if (!l)
        return;
    for (uint32_t i = 0; i < l->nparts; i++)
        free(l->parts[i].start);
    free(l->parts);
    free(l->nodes);
    hf_layout_init(l);
}

int hf_layout_copy(hf_layout_t *dst, const hf_layout_t *src)
{
    *dst = *src;
    dst->nodes = NULL;
    dst->parts = NULL;
    dst->nnodes = dst->nparts = 0;
    if (src->nnodes) {
        dst->nodes = malloc(src->nnodes * sizeof *dst->nodes);
        if (!dst->nodes)
            goto fail;
        memcpy(dst->nodes, src->nodes, src->nnodes * sizeof *dst->nodes);
        dst->nnodes = src->nnodes;
    }
    if (src->nparts) {
        dst->parts = calloc(src->nparts, sizeof *dst->parts);
        if (!dst->parts)
            goto fail;
        for (uint32_t i = 0; i < src->nparts; i++) {
            dst->parts[i] = src->parts[i];
            dst->parts[i].start = strdup(src->parts[i].start);
            dst->nparts = i + 1;
            if (!dst->parts[i].start)
                goto fail;
        }
    }
    return HF_OK;
fail:
    hf_layout_free(dst);
    return -ENOMEM;
}

int hf_layout_node_index(const hf_layout_t *l, const char *id)
{
    /* Sorted by id: binary search. */
    uint32_t lo = 0, hi = l->nnodes;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        int c = strcmp(l->nodes[mid].id, id);
        if (c == 0)
            return (int)mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

uint32_t hf_layout_zones(const hf_layout_t *l)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < l->nnodes; i++) {
        bool seen = false;
        for (uint32_t k = 0; k < i && !seen; k++)
            seen = strcmp(l->nodes[k].zone, l->nodes[i].zone) == 0;
        n += !seen;
    }
    return n;
}

uint32_t hf_layout_part_zones(const hf_layout_t *l, const hf_layout_part_t *p)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < p->nreplicas; i++) {
        bool seen = false;
        for (uint32_t k = 0; k < i && !seen; k++)
            seen = strcmp(l->nodes[p->replica[k]].zone, l->nodes[p->replica[i]].zone) == 0;
        n += !seen;
    }
    return n;
}

void hf_layout_node_load(const hf_layout_t *l, uint32_t *counts)
{
    memset(counts, 0, l->nnodes * sizeof *counts);
    for (uint32_t i = 0; i < l->nparts; i++)
        for (uint32_t r = 0; r < l->parts[i].nreplicas; r++)
            counts[l->parts[i].replica[r]]++;
}

const char *hf_layout_check_name(const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n < 1 || n > max)
        return "must be 1 to 64 characters";
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.'))
            return "may contain letters, digits and - _ . only";
    }
    return NULL;
}

int hf_layout_cut(hf_layout_t *l, uint32_t n)
{
    if (n < 1 || n > HF_LAYOUT_PARTITIONS_MAX)
        return HF_E_INVAL;
    hf_layout_part_t *p = calloc(n, sizeof *p);
    if (!p)
        return -ENOMEM;
    for (uint32_t i = 0; i < n; i++) {
        /* Start of range i: i * 2^64 / n, exactly (128-bit product). */
        uint64_t start = (uint64_t)(((unsigned __int128)i << 64) / n);
        p[i].start = malloc(17);
        if (!p[i].start) {
            for (uint32_t k = 0; k < i; k++)
                free(p[k].start);
            free(p);
            return -ENOMEM;
        }
        snprintf(p[i].start, 17, "%016" PRIx64, start);
    }
    for (uint32_t i = 0; i < l->nparts; i++)
        free(l->parts[i].start);
    free(l->parts);
    l->parts = p;
    l->nparts = n;
    return HF_OK;
}

/* ---- checks ------------------------------------------------------------------ */

int hf_cluster_why(char *why, size_t cap, const char *fmt, ...)
{
    if (why && cap) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(why, cap, fmt, ap);
        va_end(ap);
    }
    return HF_E_INVAL;
}

/* A start is hex of 8..8+HF_KEY_MAX bytes (a bucket id, then a key). */
static bool start_ok(const char *s)
{
    size_t n = strlen(s);
    if (n < 16 || n % 2 || n > 2 * (8 + HF_KEY_MAX))
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    return true;
}

/* Hex strings of bytes compare as the bytes do when both are lower-case;
 * a shorter one that is a prefix of the other sorts first. */
static int start_cmp(const char *a, const char *b)
{
    return strcmp(a, b);
}

int hf_layout_check(const hf_layout_t *l, char *why, size_t cap)
{
    if (l->format != HF_LAYOUT_FORMAT)
        return hf_cluster_why(why, cap, "structure: format %u (this build reads %d)", l->format,
                   HF_LAYOUT_FORMAT);
    if (l->generation == 0)
        return hf_cluster_why(why, cap, "structure: generation 0 is the absence of a layout");
    if (l->prev_generation >= l->generation)
        return hf_cluster_why(why, cap, "structure: made from generation %" PRIu64 ", not older than %" PRIu64,
                   l->prev_generation, l->generation);
    if (l->nnodes == 0 || l->nparts == 0)
        return hf_cluster_why(why, cap, "empty: a layout with %u nodes and %u partitions", l->nnodes,
                   l->nparts);
    if (l->nnodes > HF_CLUSTER_NODES_MAX || l->nparts > HF_LAYOUT_PARTITIONS_MAX)
        return hf_cluster_why(why, cap, "structure: %u nodes, %u partitions (at most %d and %d)", l->nnodes,
                   l->nparts, HF_CLUSTER_NODES_MAX, HF_LAYOUT_PARTITIONS_MAX);
    if (l->replicas < 1 || l->replicas > HF_LAYOUT_REPLICAS_MAX || l->replica_floor < 1 ||
        l->replica_floor > l->replicas || l->zone_floor < 1 || l->zone_floor > l->replicas)
        return hf_cluster_why(why, cap, "structure: replicas %u, replica floor %u, zone floor %u", l->replicas,
                   l->replica_floor, l->zone_floor);
    for (uint32_t i = 0; i < l->nnodes; i++) {
        const hf_layout_node_t *n = &l->nodes[i];
        const char *e = hf_layout_check_name(n->id, HF_NODE_ID_MAX);
        if (e)
            return hf_cluster_why(why, cap, "structure: node id '%.64s' %s", n->id, e);
        if ((e = hf_layout_check_name(n->zone, HF_ZONE_MAX)))
            return hf_cluster_why(why, cap, "structure: zone '%.64s' of node %s %s", n->zone, n->id, e);
        if (i && strcmp(l->nodes[i - 1].id, n->id) >= 0)
            return hf_cluster_why(why, cap, "structure: node %s listed twice or out of order", n->id);
        if (n->capacity == 0)
            return hf_cluster_why(why, cap, "structure: node %s has no capacity", n->id);
    }
    for (uint32_t i = 0; i < l->nparts; i++) {
        const hf_layout_part_t *p = &l->parts[i];
        if (!p->start || !start_ok(p->start))
            return hf_cluster_why(why, cap, "structure: partition %u has a malformed start", i);
        if (i == 0 && strcmp(p->start, "0000000000000000") != 0)
            return hf_cluster_why(why, cap, "structure: the first partition must start at the beginning "
                                 "(0000000000000000), not %.40s",
                       p->start);
        if (i && start_cmp(l->parts[i - 1].start, p->start) >= 0)
            return hf_cluster_why(why, cap, "structure: partition %.40s is out of order", p->start);
        if (p->nreplicas > l->replicas)
            return hf_cluster_why(why, cap, "structure: partition %.40s has %u replicas, more than %u",
                       p->start, p->nreplicas, l->replicas);
        for (uint32_t r = 0; r < p->nreplicas; r++) {
            if (p->replica[r] >= l->nnodes)
                return hf_cluster_why(why, cap, "structure: partition %.40s names no node", p->start);
            for (uint32_t k = 0; k < r; k++)
                if (p->replica[k] == p->replica[r])
                    return hf_cluster_why(why, cap, "structure: partition %.40s names node %s twice",
                               p->start, l->nodes[p->replica[r]].id);
        }
        if (p->nreplicas < l->replica_floor)
            return hf_cluster_why(why, cap, "replica-floor: partition %.40s has %u replicas, the floor is %u",
                       p->start, p->nreplicas, l->replica_floor);
        uint32_t z = hf_layout_part_zones(l, p);
        if (z < l->zone_floor)
            return hf_cluster_why(why, cap, "zone-floor: partition %.40s spans %u zones, the floor is %u",
                       p->start, z, l->zone_floor);
    }
    return HF_OK;
}

/* ---- JSON ----------------------------------------------------------------------- */

int hf_layout_encode(const hf_layout_t *l, hf_buf_t *out)
{
    json_t *nodes = json_array(), *parts = json_array();
    for (uint32_t i = 0; i < l->nnodes; i++) {
        const hf_layout_node_t *n = &l->nodes[i];
        json_array_append_new(nodes, json_pack("{s:s,s:s,s:I,s:s}", "id", n->id, "zone", n->zone,
                                               "capacity", (json_int_t)n->capacity, "rpc", n->rpc));
    }
    for (uint32_t i = 0; i < l->nparts; i++) {
        const hf_layout_part_t *p = &l->parts[i];
        json_t *reps = json_array();
        for (uint32_t r = 0; r < p->nreplicas; r++)
            json_array_append_new(reps, json_string(l->nodes[p->replica[r]].id));
        json_array_append_new(parts, json_pack("{s:s,s:o}", "start", p->start, "replicas", reps));
    }
    char at[32] = "";
    if (l->change.at_ns)
        hf_time_iso8601(at, l->change.at_ns);
    json_t *change = json_pack("{s:s,s:s,s:s,s:s,s:I,s:I}", "id", l->change.id, "by", l->change.by,
                               "at", at, "summary", l->change.summary, "force_removal",
                               (json_int_t)l->change.force_removal, "revert_of",
                               (json_int_t)l->change.revert_of);
    json_t *j = json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:o,s:o,s:o}", "format", (json_int_t)l->format,
                          "generation", (json_int_t)l->generation, "prev_generation",
                          (json_int_t)l->prev_generation, "replicas", (json_int_t)l->replicas,
                          "replica_floor", (json_int_t)l->replica_floor, "zone_floor",
                          (json_int_t)l->zone_floor, "nodes", nodes, "partitions", parts, "change",
                          change);
    if (!j)
        return -ENOMEM;
    /* Keys in a fixed order, so the same layout encodes to the same bytes. */
    char *s = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(j);
    if (!s)
        return -ENOMEM;
    hf_buf_reset(out);
    size_t n = strlen(s);
    int rc = n > HF_LAYOUT_MAX ? HF_E_TOOBIG : hf_buf_append(out, s, n);
    free(s);
    return rc;
}

/* An unsigned integer field in [lo, hi]. */
static bool get_uint(json_t *o, const char *k, uint64_t lo, uint64_t hi, uint64_t *out)
{
    json_t *v = json_object_get(o, k);
    if (!json_is_integer(v) || json_integer_value(v) < 0)
        return false;
    uint64_t x = (uint64_t)json_integer_value(v);
    if (x < lo || x > hi)
        return false;
    *out = x;
    return true;
}

static bool get_str(json_t *o, const char *k, char *out, size_t cap)
{
    const char *s = json_string_value(json_object_get(o, k));
    if (!s || strlen(s) >= cap || strlen(s) != json_string_length(json_object_get(o, k)))
        return false;
    memcpy(out, s, strlen(s) + 1);
    return true;
}

/* The object has exactly these keys. */
static bool only_keys(json_t *o, const char *const *keys, size_t n)
{
    if (!json_is_object(o) || json_object_size(o) != n)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!json_object_get(o, keys[i]))
            return false;
    return true;
}

static int decode(json_t *j, hf_layout_t *l, char *why, size_t cap)
{
    static const char *const top[] = {"format", "generation", "prev_generation", "replicas",
                                      "replica_floor", "zone_floor", "nodes", "partitions", "change"};
    static const char *const nk[] = {"id", "zone", "capacity", "rpc"};
    static const char *const pk[] = {"start", "replicas"};
    static const char *const ck[] = {"id", "by", "at", "summary", "force_removal", "revert_of"};
    uint64_t v;
    if (!json_is_object(j))
        return hf_cluster_why(why, cap, "structure: not a JSON object");
    if (get_uint(j, "format", 1, UINT32_MAX, &v) && v > HF_LAYOUT_FORMAT) {
        hf_cluster_why(why, cap, "structure: format %" PRIu64 " is newer than this build reads (%d)", v,
            HF_LAYOUT_FORMAT);
        return HF_E_VERSION;
    }
    if (!only_keys(j, top, sizeof top / sizeof top[0]))
        return hf_cluster_why(why, cap, "structure: the fields are not those of format %d", HF_LAYOUT_FORMAT);
    if (!get_uint(j, "format", HF_LAYOUT_FORMAT, HF_LAYOUT_FORMAT, &v))
        return hf_cluster_why(why, cap, "structure: bad format");
    l->format = (uint32_t)v;
    if (!get_uint(j, "generation", 0, INT64_MAX, &l->generation) ||
        !get_uint(j, "prev_generation", 0, INT64_MAX, &l->prev_generation))
        return hf_cluster_why(why, cap, "structure: bad generation");
    uint64_t r, rf, zf;
    if (!get_uint(j, "replicas", 1, HF_LAYOUT_REPLICAS_MAX, &r) ||
        !get_uint(j, "replica_floor", 1, HF_LAYOUT_REPLICAS_MAX, &rf) ||
        !get_uint(j, "zone_floor", 1, HF_LAYOUT_REPLICAS_MAX, &zf))
        return hf_cluster_why(why, cap, "structure: bad replicas or floors");
    l->replicas = (uint32_t)r;
    l->replica_floor = (uint32_t)rf;
    l->zone_floor = (uint32_t)zf;
    json_t *nodes = json_object_get(j, "nodes"), *parts = json_object_get(j, "partitions");
    if (!json_is_array(nodes) || !json_is_array(parts))
        return hf_cluster_why(why, cap, "structure: nodes and partitions must be arrays");
    size_t nn = json_array_size(nodes), np = json_array_size(parts);
    if (nn > HF_CLUSTER_NODES_MAX || np > HF_LAYOUT_PARTITIONS_MAX)
        return hf_cluster_why(why, cap, "structure: %zu nodes, %zu partitions (at most %d and %d)", nn, np,
                   HF_CLUSTER_NODES_MAX, HF_LAYOUT_PARTITIONS_MAX);
    if (nn) {
        l->nodes = calloc(nn, sizeof *l->nodes);
        if (!l->nodes)
            return -ENOMEM;
    }
    for (size_t i = 0; i < nn; i++) {
        json_t *o = json_array_get(nodes, i);
        hf_layout_node_t *n = &l->nodes[i];
        if (!only_keys(o, nk, 4) || !get_str(o, "id", n->id, sizeof n->id) ||
            !get_str(o, "zone", n->zone, sizeof n->zone) ||
            !get_uint(o, "capacity", 0, INT64_MAX, &n->capacity) ||
            !get_str(o, "rpc", n->rpc, sizeof n->rpc))
            return hf_cluster_why(why, cap, "structure: node %zu is malformed", i);
        l->nnodes = (uint32_t)(i + 1);
    }
    /* Node ids are checked sorted and unique before replicas are
     * resolved (hf_layout_node_index needs the order). */
    for (uint32_t i = 1; i < l->nnodes; i++)
        if (strcmp(l->nodes[i - 1].id, l->nodes[i].id) >= 0)
            return hf_cluster_why(why, cap, "structure: node %s listed twice or out of order", l->nodes[i].id);
    if (np) {
        l->parts = calloc(np, sizeof *l->parts);
        if (!l->parts)
            return -ENOMEM;
    }
    for (size_t i = 0; i < np; i++) {
        json_t *o = json_array_get(parts, i), *reps = json_object_get(o, "replicas");
        hf_layout_part_t *p = &l->parts[i];
        const char *start = json_string_value(json_object_get(o, "start"));
        if (!only_keys(o, pk, 2) || !start || !json_is_array(reps) ||
            json_array_size(reps) > HF_LAYOUT_REPLICAS_MAX)
            return hf_cluster_why(why, cap, "structure: partition %zu is malformed", i);
        p->start = strndup(start, 2 * (8 + HF_KEY_MAX) + 1);
        l->nparts = (uint32_t)(i + 1);
        if (!p->start)
            return -ENOMEM;
        for (size_t k = 0; k < json_array_size(reps); k++) {
            const char *id = json_string_value(json_array_get(reps, k));
            int idx = id ? hf_layout_node_index(l, id) : -1;
            if (idx < 0)
                return hf_cluster_why(why, cap, "structure: partition %zu names '%.64s', not a node of the "
                                     "layout",
                           i, id ? id : "?");
            p->replica[p->nreplicas++] = (uint16_t)idx;
        }
    }
    json_t *c = json_object_get(j, "change");
    char at[40];
    uint64_t force, revert;
    if (!only_keys(c, ck, sizeof ck / sizeof ck[0]) ||
        !get_str(c, "id", l->change.id, sizeof l->change.id) ||
        !get_str(c, "by", l->change.by, sizeof l->change.by) || !get_str(c, "at", at, sizeof at) ||
        !get_str(c, "summary", l->change.summary, sizeof l->change.summary) ||
        !get_uint(c, "force_removal", 0, HF_CLUSTER_NODES_MAX, &force) ||
        !get_uint(c, "revert_of", 0, INT64_MAX, &revert))
        return hf_cluster_why(why, cap, "structure: the change record is malformed");
    int64_t secs = 0;
    if (at[0] && hf_time_parse_iso8601(at, strlen(at), &secs) != HF_OK)
        return hf_cluster_why(why, cap, "structure: the change's time is malformed");
    l->change.at_ns = secs * 1000000000;
    l->change.force_removal = (uint32_t)force;
    l->change.revert_of = revert;
    return HF_OK;
}

int hf_layout_decode(const void *data, size_t n, hf_layout_t *l, char *why, size_t cap)
{
    hf_layout_init(l);
    if (why && cap)
        why[0] = '\0';
    if (n > HF_LAYOUT_MAX) {
        hf_cluster_why(why, cap, "structure: %zu bytes, more than %d", n, HF_LAYOUT_MAX);
        return HF_E_TOOBIG;
    }
    json_error_t je;
    json_t *j = json_loadb(data, n, JSON_REJECT_DUPLICATES, &je);
    int rc = j ? decode(j, l, why, cap) : hf_cluster_why(why, cap, "structure: not JSON: %s", je.text);
    json_decref(j);
    if (rc == HF_OK)
        rc = hf_layout_check(l, why, cap);
    if (rc)
        hf_layout_free(l);
    return rc;
}
