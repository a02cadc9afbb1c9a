/*
 * test_plan.c -- cluster/layout.c, plan.c and rules.c as tables: the
 * layout encoding and the checks every node makes (invariant 3 of
 * docs/cluster.md), the planner (balance by capacity, zones, least
 * movement, determinism), and every rule of a layout change with its
 * numbers (the 2017 "typo", R1.1/R1.2; the empty layout, R4.2).
 */
#include "test.h"

#include "base/buf.h"
#include "base/err.h"
#include "cluster/layout.h"
#include "cluster/plan.h"

#include <stdlib.h>

#define TiB (1ULL << 40)

static hf_layout_node_t node(const char *id, const char *zone, uint64_t cap)
{
    hf_layout_node_t n = {0};
    snprintf(n.id, sizeof n.id, "%s", id);
    snprintf(n.zone, sizeof n.zone, "%s", zone);
    n.capacity = cap;
    snprintf(n.rpc, sizeof n.rpc, "127.0.0.1:7%03d", (int)(strlen(id) * 7 % 1000));
    return n;
}

/* A first layout of the given nodes. */
static void first(hf_layout_t *out, const hf_layout_node_t *nodes, uint32_t n, uint32_t parts)
{
    hf_layout_t empty;
    hf_layout_init(&empty);
    hf_plan_change_t ch = {.add = nodes, .nadd = n, .partitions = parts};
    char why[256] = "";
    int rc = hf_plan_make(&empty, &ch, out, why, sizeof why);
    if (rc)
        hf_test_fail(__FILE__, __LINE__, "first layout: %s", why);
    out->generation = 1;
}

static void six(hf_layout_t *l)
{
    hf_layout_node_t n[] = {node("n1", "a", TiB), node("n2", "a", TiB), node("n3", "b", TiB),
                            node("n4", "b", TiB), node("n5", "c", TiB), node("n6", "c", TiB)};
    first(l, n, 6, 256);
}

static void loads(const hf_layout_t *l, uint32_t *min, uint32_t *max)
{
    uint32_t *c = calloc(l->nnodes, sizeof *c);
    hf_layout_node_load(l, c);
    *min = UINT32_MAX;
    *max = 0;
    for (uint32_t i = 0; i < l->nnodes; i++) {
        *min = c[i] < *min ? c[i] : *min;
        *max = c[i] > *max ? c[i] : *max;
    }
    free(c);
}

static uint32_t load_of(const hf_layout_t *l, const char *id)
{
    uint32_t *c = calloc(l->nnodes, sizeof *c);
    hf_layout_node_load(l, c);
    int i = hf_layout_node_index(l, id);
    uint32_t v = i >= 0 ? c[i] : 0;
    free(c);
    return v;
}

/* ---- layout --------------------------------------------------------------------- */

TEST(first_layout_six_nodes_three_zones)
{
    hf_layout_t l;
    six(&l);
    char why[256];
    CHECK_EQ_INT(hf_layout_check(&l, why, sizeof why), HF_OK);
    CHECK_EQ_INT(l.nparts, 256);
    CHECK_EQ_INT(l.replicas, 3);
    CHECK_EQ_INT(l.replica_floor, 2);
    CHECK_EQ_INT(l.zone_floor, 3);
    for (uint32_t i = 0; i < l.nparts; i++) {
        CHECK_EQ_INT(l.parts[i].nreplicas, 3);
        CHECK_EQ_INT(hf_layout_part_zones(&l, &l.parts[i]), 3);
    }
    uint32_t mn, mx;
    loads(&l, &mn, &mx);
    CHECK_EQ_INT(mn, 128); /* 256 * 3 / 6, exactly */
    CHECK_EQ_INT(mx, 128);
    /* Primaries (first replicas) spread too: no node leads more than half
     * again its share. */
    uint32_t lead[6] = {0};
    for (uint32_t i = 0; i < l.nparts; i++)
        lead[l.parts[i].replica[0]]++;
    for (int i = 0; i < 6; i++)
        CHECK(lead[i] <= 256 / 6 * 3 / 2 + 1);
    hf_layout_free(&l);
}

TEST(encode_decode_round_trip_is_exact)
{
    hf_layout_t l, d;
    six(&l);
    snprintf(l.change.id, sizeof l.change.id, "00112233445566778899aabbccddeeff");
    snprintf(l.change.by, sizeof l.change.by, "ops(1000)@host");
    l.change.at_ns = 1767225600LL * 1000000000;
    hf_buf_t a, b;
    hf_buf_init(&a, HF_LAYOUT_MAX);
    hf_buf_init(&b, HF_LAYOUT_MAX);
    CHECK_EQ_INT(hf_layout_encode(&l, &a), HF_OK);
    char why[256];
    CHECK_EQ_INT(hf_layout_decode(a.data, a.len, &d, why, sizeof why), HF_OK);
    CHECK_EQ_INT(hf_layout_encode(&d, &b), HF_OK);
    CHECK_EQ_INT(a.len, b.len);
    CHECK_EQ_MEM(a.data, b.data, a.len);
    CHECK_EQ_INT(d.generation, 1);
    CHECK_EQ_INT(d.change.at_ns, l.change.at_ns);
    printf("    a 6-node, 256-partition layout is %zu bytes of JSON\n", a.len);
    hf_buf_free(&a);
    hf_buf_free(&b);
    hf_layout_free(&l);
    hf_layout_free(&d);
}

/* Edit a valid encoding and expect a refusal naming the rule. */
static void refuse(const char *json, int rc_want, const char *rule)
{
    hf_layout_t d;
    char why[256] = "";
    int rc = hf_layout_decode(json, strlen(json), &d, why, sizeof why);
    if (rc != rc_want || strncmp(why, rule, strlen(rule)) != 0)
        hf_test_fail(__FILE__, __LINE__, "got %d '%s', expected %d '%s...' for %.120s", rc, why,
                     rc_want, rule, json);
    CHECK_EQ_INT(d.nnodes, 0);
}

#define HEAD "\"format\":1,\"generation\":4,\"prev_generation\":3,\"replicas\":3,\"replica_floor\":2,\"zone_floor\":%d,"
#define NODES                                                                                     \
    "\"nodes\":[{\"id\":\"a1\",\"zone\":\"a\",\"capacity\":5,\"rpc\":\"\"},{\"id\":\"b1\","       \
    "\"zone\":\"b\",\"capacity\":5,\"rpc\":\"\"},{\"id\":\"c1\",\"zone\":\"c\",\"capacity\":5,"   \
    "\"rpc\":\"\"}],"
#define CHANGE "\"change\":{\"id\":\"\",\"by\":\"\",\"at\":\"\",\"summary\":\"\",\"force_removal\":0,\"revert_of\":0}"

TEST(decode_refuses_what_no_node_may_serve)
{
    char j[2048];
    /* A good one first: the edits below are what breaks it. */
    snprintf(j, sizeof j, "{" HEAD NODES "\"partitions\":[{\"start\":\"0000000000000000\","
             "\"replicas\":[\"a1\",\"b1\",\"c1\"]}]," CHANGE "}", 3);
    hf_layout_t d;
    char why[256];
    CHECK_EQ_INT(hf_layout_decode(j, strlen(j), &d, why, sizeof why), HF_OK);
    hf_layout_free(&d);
    static const struct {
        const char *parts;
        int zf;
        const char *rule;
    } rows[] = {
        {"\"partitions\":[],", 3, "empty"},
        {"\"partitions\":[{\"start\":\"0000000000000000\",\"replicas\":[\"a1\"]}],", 1,
         "replica-floor"},
        {"\"partitions\":[{\"start\":\"0000000000000000\",\"replicas\":[\"a1\",\"b1\"]}],", 3,
         "zone-floor"},
        {"\"partitions\":[{\"start\":\"0000000000000000\",\"replicas\":[\"a1\",\"b1\",\"x9\"]}],",
         3, "structure"},
        {"\"partitions\":[{\"start\":\"0000000000000000\",\"replicas\":[\"a1\",\"a1\",\"b1\"]}],",
         1, "structure"},
        {"\"partitions\":[{\"start\":\"0100000000000000\",\"replicas\":[\"a1\",\"b1\",\"c1\"]}],",
         3, "structure"},
        {"\"partitions\":[{\"start\":\"0000000000000000\",\"replicas\":[\"a1\",\"b1\",\"c1\"]},"
         "{\"start\":\"0000000000000000\",\"replicas\":[\"a1\",\"b1\",\"c1\"]}],",
         3, "structure"},
        {"\"partitions\":[{\"start\":\"00000000000000zz\",\"replicas\":[\"a1\",\"b1\",\"c1\"]}],",
         3, "structure"},
        {"\"partitions\":[{\"start\":\"0000000000000000\",\"replicas\":[\"a1\",\"b1\",\"c1\"],"
         "\"extra\":1}],",
         3, "structure"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        snprintf(j, sizeof j, "{" HEAD NODES "%s" CHANGE "}", rows[i].zf, rows[i].parts);
        refuse(j, HF_E_INVAL, rows[i].rule);
    }
    /* No nodes at all; generation 0; a field too many; a key twice; a
     * newer format; not JSON. */
    refuse("{\"format\":1,\"generation\":4,\"prev_generation\":3,\"replicas\":3,\"replica_floor\":2,"
           "\"zone_floor\":3,\"nodes\":[],\"partitions\":[]," CHANGE "}",
           HF_E_INVAL, "empty");
    snprintf(j, sizeof j, "{" HEAD NODES "\"partitions\":[{\"start\":\"0000000000000000\","
             "\"replicas\":[\"a1\",\"b1\",\"c1\"]}]," CHANGE "}", 3);
    char *g0 = strstr(j, "\"generation\":4");
    memcpy(g0, "\"generation\":0", 14);
    refuse(j, HF_E_INVAL, "structure");
    memcpy(g0, "\"generation\":2", 14); /* made from 3: older than its parent */
    refuse(j, HF_E_INVAL, "structure");
    refuse("{\"format\":1,\"format\":1}", HF_E_INVAL, "structure");
    refuse("{\"format\":2,\"anything\":true}", HF_E_VERSION, "structure");
    refuse("[", HF_E_INVAL, "structure");
    refuse("{\"format\":1,\"generation\":4,\"surprise\":1}", HF_E_INVAL, "structure");
}

/* ---- planner -------------------------------------------------------------------- */

TEST(same_input_same_layout)
{
    hf_layout_t a, b;
    six(&a);
    six(&b);
    hf_buf_t x, y;
    hf_buf_init(&x, HF_LAYOUT_MAX);
    hf_buf_init(&y, HF_LAYOUT_MAX);
    CHECK_EQ_INT(hf_layout_encode(&a, &x), HF_OK);
    CHECK_EQ_INT(hf_layout_encode(&b, &y), HF_OK);
    CHECK_EQ_INT(x.len, y.len);
    CHECK_EQ_MEM(x.data, y.data, x.len);
    hf_buf_free(&x);
    hf_buf_free(&y);
    hf_layout_free(&a);
    hf_layout_free(&b);
}

TEST(capacity_weights_the_share)
{
    /* Zone a: a1 twice a2's capacity; b and c one node each. Every zone
     * holds one replica of each partition; a1 holds two thirds of a's. */
    hf_layout_node_t n[] = {node("a1", "a", 2 * TiB), node("a2", "a", TiB), node("b1", "b", TiB),
                            node("c1", "c", TiB)};
    hf_layout_t l;
    first(&l, n, 4, 300);
    CHECK_EQ_INT(load_of(&l, "a1"), 200);
    CHECK_EQ_INT(load_of(&l, "a2"), 100);
    CHECK_EQ_INT(load_of(&l, "b1"), 300);
    CHECK_EQ_INT(load_of(&l, "c1"), 300);
    hf_layout_free(&l);
}

TEST(adding_a_node_moves_only_its_share)
{
    hf_layout_t l, m;
    six(&l);
    hf_layout_node_t add = node("n7", "a", TiB);
    hf_plan_change_t ch = {.add = &add, .nadd = 1};
    char why[256];
    CHECK_EQ_INT(hf_plan_make(&l, &ch, &m, why, sizeof why), HF_OK);
    CHECK_EQ_INT(m.generation, 2);
    CHECK_EQ_INT(m.prev_generation, 1);
    hf_plan_impact_t im;
    CHECK_EQ_INT(hf_plan_impact(&l, &m, 768 * TiB / 1024, &im), HF_OK);
    /* Zone a's 256 replicas over 3 nodes: 86/85/85; the new node's
     * share is all that moves, and only within zone a. */
    uint32_t n7 = load_of(&m, "n7");
    CHECK(n7 == 85 || n7 == 86);
    CHECK_EQ_INT(im.moved, n7);
    CHECK_EQ_INT(im.added, 1);
    for (uint32_t i = 0; i < im.nzones; i++)
        if (strcmp(im.zones[i].zone, "a") != 0)
            CHECK_EQ_INT(im.zones[i].gained + im.zones[i].lost, 0);
    CHECK_EQ_INT(load_of(&m, "n3"), 128);
    char w[256];
    CHECK_EQ_INT(hf_layout_check(&m, w, sizeof w), HF_OK);
    CHECK(strstr(m.change.summary, "add n7 (zone a,") != NULL);
    hf_plan_impact_free(&im);
    hf_layout_free(&l);
    hf_layout_free(&m);
}

TEST(removing_a_node_replaces_only_its_replicas)
{
    hf_layout_t l, m;
    six(&l);
    const char *rm[] = {"n2"};
    hf_plan_change_t ch = {.remove = rm, .nremove = 1};
    char why[256];
    CHECK_EQ_INT(hf_plan_make(&l, &ch, &m, why, sizeof why), HF_OK);
    hf_plan_impact_t im;
    CHECK_EQ_INT(hf_plan_impact(&l, &m, 0, &im), HF_OK);
    /* n2's 128 replicas go to n1, the other node of zone a. */
    CHECK_EQ_INT(im.moved, 128);
    CHECK_EQ_INT(load_of(&m, "n1"), 256);
    CHECK_EQ_INT(im.removed, 1);
    CHECK_EQ_INT(hf_layout_check(&m, why, sizeof why), HF_OK);
    hf_plan_impact_free(&im);
    hf_layout_free(&l);
    hf_layout_free(&m);
}

TEST(twenty_four_nodes_balance_within_one)
{
    hf_layout_node_t n[24];
    for (int i = 0; i < 24; i++) {
        char id[16], z[4];
        snprintf(id, sizeof id, "node%02d", i);
        snprintf(z, sizeof z, "z%d", i % 3);
        n[i] = node(id, z, TiB);
    }
    hf_layout_t l;
    first(&l, n, 24, 256);
    uint32_t mn, mx;
    loads(&l, &mn, &mx);
    CHECK(mx - mn <= 1); /* 768 / 24 = 32 each */
    char why[256];
    CHECK_EQ_INT(hf_layout_check(&l, why, sizeof why), HF_OK);
    hf_layout_free(&l);
}

TEST(more_zones_than_replicas_and_fewer)
{
    /* Four zones, the fourth twice as big: replicas in 3 distinct zones,
     * zone shares by capacity (capped at one replica per partition). */
    hf_layout_node_t n4[] = {node("a", "za", TiB), node("b", "zb", TiB), node("c", "zc", TiB),
                             node("d", "zd", 2 * TiB)};
    hf_layout_t l;
    first(&l, n4, 4, 200);
    for (uint32_t i = 0; i < l.nparts; i++)
        CHECK_EQ_INT(hf_layout_part_zones(&l, &l.parts[i]), 3);
    CHECK_EQ_INT(load_of(&l, "d"), 200); /* capped: one replica of each */
    CHECK_EQ_INT(load_of(&l, "a") + load_of(&l, "b") + load_of(&l, "c"), 400);
    hf_layout_free(&l);
    /* Two zones: every partition spans both; the floor is 2. */
    hf_layout_node_t n2[] = {node("a1", "a", TiB), node("a2", "a", TiB), node("b1", "b", TiB),
                             node("b2", "b", TiB)};
    first(&l, n2, 4, 64);
    CHECK_EQ_INT(l.zone_floor, 2);
    for (uint32_t i = 0; i < l.nparts; i++) {
        CHECK_EQ_INT(l.parts[i].nreplicas, 3);
        CHECK_EQ_INT(hf_layout_part_zones(&l, &l.parts[i]), 2);
    }
    hf_layout_free(&l);
}

TEST(bad_requests_table)
{
    hf_layout_t l, m;
    six(&l);
    hf_layout_node_t dup = node("n3", "b", TiB), badid = node("n 7", "a", TiB),
                     nocap = node("n8", "a", 0), badzone = node("n9", "a/b", TiB);
    const char *ghost[] = {"n99"}, *twice[] = {"n1", "n1"}, *one[] = {"n1"};
    uint64_t zero = 0, two = 2 * TiB;
    static const char *what[] = {"nothing to change", "already in the layout", "node id",
                                 "no capacity", "zone", "not in the layout", "removed twice",
                                 "not in the layout", "both removed and resized",
                                 "a capacity above 0"};
    hf_plan_change_t rows[] = {
        {0},
        {.add = &dup, .nadd = 1},
        {.add = &badid, .nadd = 1},
        {.add = &nocap, .nadd = 1},
        {.add = &badzone, .nadd = 1},
        {.remove = ghost, .nremove = 1},
        {.remove = twice, .nremove = 2},
        {.cap_id = ghost, .cap_bytes = &two, .ncap = 1},
        {.remove = one, .nremove = 1, .cap_id = one, .cap_bytes = &two, .ncap = 1},
        {.cap_id = one, .cap_bytes = &zero, .ncap = 1},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        char why[256] = "";
        int rc = hf_plan_make(&l, &rows[i], &m, why, sizeof why);
        if (rc != HF_E_INVAL || !strstr(why, what[i]))
            hf_test_fail(__FILE__, __LINE__, "row %zu: %d '%s'", i, rc, why);
    }
    hf_layout_free(&l);
}

TEST(revert_restores_a_map_as_a_new_generation)
{
    hf_layout_t l1, l2, r;
    six(&l1);
    const char *rm[] = {"n6"};
    hf_plan_change_t ch = {.remove = rm, .nremove = 1};
    char why[256];
    CHECK_EQ_INT(hf_plan_make(&l1, &ch, &l2, why, sizeof why), HF_OK);
    CHECK_EQ_INT(hf_plan_revert(&l2, &l1, 2, &r, why, sizeof why), HF_OK);
    CHECK_EQ_INT(r.generation, 3);
    CHECK_EQ_INT(r.prev_generation, 2);
    CHECK_EQ_INT(r.change.revert_of, 1);
    CHECK_EQ_INT(r.nnodes, 6);
    for (uint32_t i = 0; i < r.nparts; i++)
        CHECK_EQ_MEM(r.parts[i].replica, l1.parts[i].replica, sizeof r.parts[i].replica);
    hf_layout_free(&r);
    /* Numbered past the newest generation ever written, whatever etcd
     * holds now (an older one written back by hand, say). */
    CHECK_EQ_INT(hf_plan_revert(&l1, &l2, 7, &r, why, sizeof why), HF_OK);
    CHECK_EQ_INT(r.generation, 8);
    CHECK_EQ_INT(r.prev_generation, 1);
    hf_layout_t bad;
    CHECK_EQ_INT(hf_plan_revert(&l1, &l1, 1, &bad, why, sizeof why), HF_E_INVAL);
    hf_layout_free(&l1);
    hf_layout_free(&l2);
    hf_layout_free(&r);
}

/* ---- rules ---------------------------------------------------------------------- */

/* The rules a removal of ids from six() breaks, as "rule,rule,...". */
static void removal(const char *const *ids, uint32_t n, const hf_rule_facts_t *f, char *out,
                    size_t cap)
{
    hf_layout_t l, m;
    six(&l);
    hf_plan_change_t ch = {.remove = ids, .nremove = n};
    char why[256];
    CHECK_EQ_INT(hf_plan_make(&l, &ch, &m, why, sizeof why), HF_OK);
    hf_rule_violation_t v[8];
    size_t k = hf_rules_check(&l, &m, f, v, 8);
    out[0] = '\0';
    for (size_t i = 0; i < k && i < 8; i++)
        snprintf(out + strlen(out), cap - strlen(out), "%s%s", i ? "," : "", v[i].rule);
    hf_layout_free(&l);
    hf_layout_free(&m);
}

TEST(the_typo_is_refused)
{
    /* 2017: remove 4 of 6 nodes across 3 zones. */
    const char *four[] = {"n1", "n3", "n5", "n6"};
    char got[256];
    hf_rule_facts_t f = {0};
    removal(four, 4, &f, got, sizeof got);
    CHECK_EQ_STR(got, "zone-floor,removal-step");
    f.force_removal = 3; /* the wrong count */
    removal(four, 4, &f, got, sizeof got);
    CHECK_EQ_STR(got, "zone-floor,force-removal,removal-step");
    f.force_removal = 4; /* the right count lifts the step, not the floors */
    removal(four, 4, &f, got, sizeof got);
    CHECK_EQ_STR(got, "zone-floor");
    const char *one[] = {"n2"};
    memset(&f, 0, sizeof f);
    removal(one, 1, &f, got, sizeof got);
    CHECK_EQ_STR(got, "");
    const char *two[] = {"n2", "n4"};
    removal(two, 2, &f, got, sizeof got);
    CHECK_EQ_STR(got, "removal-step");
    f.max_step_nodes = 2;
    removal(two, 2, &f, got, sizeof got);
    CHECK_EQ_STR(got, "");
    memset(&f, 0, sizeof f);
    f.max_step_percent = 34; /* 2 of 6 equal nodes: 33% */
    removal(two, 2, &f, got, sizeof got);
    CHECK_EQ_STR(got, "");
}

TEST(rule_messages_carry_the_numbers)
{
    hf_layout_t l, m;
    six(&l);
    const char *four[] = {"n1", "n3", "n5", "n6"};
    hf_plan_change_t ch = {.remove = four, .nremove = 4};
    char why[256];
    CHECK_EQ_INT(hf_plan_make(&l, &ch, &m, why, sizeof why), HF_OK);
    hf_rule_facts_t f = {.force_removal = 3};
    hf_rule_violation_t v[8];
    CHECK_EQ_INT(hf_rules_check(&l, &m, &f, v, 8), 3);
    CHECK(strstr(v[0].msg, "256 of 256 partitions would span fewer than 3 zones (as few as 2)"));
    CHECK(strstr(v[1].msg, "--force-removal 3 does not repeat the number of nodes this change "
                           "removes (4)"));
    CHECK(strstr(v[2].msg, "removes 4 nodes (4.0 TiB of 6.0 TiB, 67% of the capacity)"));
    hf_layout_free(&l);
    hf_layout_free(&m);
}

TEST(ten_percent_of_capacity_is_one_step)
{
    hf_layout_node_t n[20];
    for (int i = 0; i < 20; i++) {
        char id[16], z[4];
        snprintf(id, sizeof id, "n%02d", i);
        snprintf(z, sizeof z, "z%d", i % 3);
        n[i] = node(id, z, TiB);
    }
    hf_layout_t l, m;
    first(&l, n, 20, 256);
    hf_rule_facts_t f = {0};
    hf_rule_violation_t v[4];
    char why[256];
    const char *two[] = {"n00", "n01"}, *three[] = {"n00", "n01", "n02"};
    hf_plan_change_t ch = {.remove = two, .nremove = 2};
    CHECK_EQ_INT(hf_plan_make(&l, &ch, &m, why, sizeof why), HF_OK);
    CHECK_EQ_INT(hf_rules_check(&l, &m, &f, v, 4), 0); /* 10% exactly */
    hf_layout_free(&m);
    ch.remove = three;
    ch.nremove = 3;
    CHECK_EQ_INT(hf_plan_make(&l, &ch, &m, why, sizeof why), HF_OK);
    CHECK_EQ_INT(hf_rules_check(&l, &m, &f, v, 4), 1);
    CHECK_EQ_STR(v[0].rule, "removal-step");
    hf_layout_free(&m);
    hf_layout_free(&l);
}

TEST(no_removal_while_data_moves)
{
    hf_rule_facts_t f = {0};
    const char *unconf[] = {"n3"};
    f.unconfirmed = unconf;
    f.nunconfirmed = 1;
    char got[256];
    const char *rm1[] = {"n1"}, *rm3[] = {"n3"};
    removal(rm1, 1, &f, got, sizeof got);
    CHECK_EQ_STR(got, "moving");
    /* Removing the very node that has not confirmed is how a dead node
     * leaves: allowed. */
    removal(rm3, 1, &f, got, sizeof got);
    CHECK_EQ_STR(got, "");
    /* Adding is never held back by it. */
    hf_layout_t l, m;
    six(&l);
    hf_layout_node_t add = node("n7", "b", TiB);
    hf_plan_change_t ch = {.add = &add, .nadd = 1};
    char why[256];
    CHECK_EQ_INT(hf_plan_make(&l, &ch, &m, why, sizeof why), HF_OK);
    hf_rule_violation_t v[4];
    CHECK_EQ_INT(hf_rules_check(&l, &m, &f, v, 4), 0);
    hf_layout_free(&l);
    hf_layout_free(&m);
}

TEST(space_and_headroom)
{
    hf_rule_facts_t f = {0};
    char got[256];
    const char *rm[] = {"n2"};
    /* 6 TiB of capacity in 3 zones of 2 TiB; without n2, 5 TiB and the
     * largest zone is 2 TiB: 3 TiB must hold the data. */
    f.data_bytes = 3 * TiB;
    removal(rm, 1, &f, got, sizeof got);
    CHECK_EQ_STR(got, "");
    f.data_bytes = 3 * TiB + 1;
    removal(rm, 1, &f, got, sizeof got);
    CHECK_EQ_STR(got, "space");
    /* n1 then holds all 256 of zone a's replicas: 1/3 of the data. Above
     * its 1 TiB the node rule fires too. */
    f.data_bytes = 3 * TiB + 3 * (TiB / 2);
    removal(rm, 1, &f, got, sizeof got);
    CHECK_EQ_STR(got, "space,space");
}

TEST(empty_and_pinned)
{
    hf_layout_t l, m;
    six(&l);
    const char *all[] = {"n1", "n2", "n3", "n4", "n5", "n6"};
    hf_plan_change_t ch = {.remove = all, .nremove = 6};
    char why[256];
    CHECK_EQ_INT(hf_plan_make(&l, &ch, &m, why, sizeof why), HF_OK);
    hf_rule_facts_t f = {.pinned = true, .pin_generation = 1, .force_removal = 6};
    hf_rule_violation_t v[4];
    CHECK_EQ_INT(hf_rules_check(&l, &m, &f, v, 4), 2);
    CHECK_EQ_STR(v[0].rule, "pinned");
    CHECK_EQ_STR(v[1].rule, "empty");
    hf_layout_free(&l);
    hf_layout_free(&m);
    uint32_t nodes, pct;
    CHECK_EQ_INT(hf_rules_parse_step("3", &nodes, &pct), HF_OK);
    CHECK_EQ_INT(nodes, 3);
    CHECK_EQ_INT(hf_rules_parse_step("25%", &nodes, &pct), HF_OK);
    CHECK_EQ_INT(pct, 25);
    CHECK_EQ_INT(hf_rules_parse_step("0", &nodes, &pct), HF_E_INVAL);
    CHECK_EQ_INT(hf_rules_parse_step("101%", &nodes, &pct), HF_E_INVAL);
    CHECK_EQ_INT(hf_rules_parse_step("-1", &nodes, &pct), HF_E_INVAL);
    CHECK_EQ_INT(hf_rules_parse_step("two", &nodes, &pct), HF_E_INVAL);
}

HF_TEST_MAIN("unit/cluster")
