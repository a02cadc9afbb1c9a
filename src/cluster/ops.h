/*
 * ops.h -- the control state of one cluster in etcd, and the operator's
 * operations on it: read it, plan and apply a layout change with a
 * compare-and-swap, pin and unpin, read the history. `holdfast admin
 * layout ...` runs these directly against etcd (the CAS must happen where
 * the state is, and a change must fail clearly while etcd is down), and
 * the nodes read the same keys (control.h).
 *
 * Keys, under the cluster's prefix P (default /holdfast; FORMAT-layout.md
 * has the values):
 *   P/cluster            the cluster's id and the check of its secret
 *   P/layout             the current layout (absent: generation 0)
 *   P/history/<G>        every generation's layout, G as 20 digits; the
 *                        newest HF_LAYOUT_HISTORY_KEEP are kept
 *   P/pin                {generation, by, at} while the layout is pinned
 *   P/nodes/<id>         a node's registration: zone, capacity, addresses,
 *                        the generation it serves and has confirmed
 *   P/alive/<id>         held by the node's lease: present while it runs;
 *                        last seen, bytes stored
 *   P/users/, P/userids/, P/buckets/, P/bucketids/   (catalog.h)
 *
 * The apply (hf_cluster_apply) is the one writer of P/layout and keeps
 * invariant 3 from the writer's side: it reads the state in one etcd
 * transaction (one revision), plans, checks every rule, then commits with
 * a transaction whose compares are everything the rules read -- the
 * layout's and the pin's mod_revision and every node record's -- so the
 * rules hold at the moment of the swap, not only when they were checked
 * (the 2025 DynamoDB lesson: a check made once and acted on late). If a
 * node record moved under it (a heartbeat), it re-reads and re-checks; if
 * the layout moved, the answer is MOVED_ON.
 *
 * Ownership: results are the caller's; free them with the _free
 * functions. Threads: one thread per hf_etcd_t (etcd.h).
 */
#ifndef HF_CLUSTER_OPS_H
#define HF_CLUSTER_OPS_H

#include "base/limits.h"
#include "cluster/layout.h"
#include "cluster/plan.h"
#include "etcd/etcd.h"

#include <stdbool.h>
#include <stdint.h>

/* Parse "etcd://H:P[,H:P...][/PREFIX]" into the endpoint list and the
 * prefix (default "/holdfast", no trailing slash). HF_E_INVAL with why. */
#define HF_CLUSTER_PREFIX_DEFAULT "/holdfast"
int hf_cluster_parse_url(const char *url, char *endpoints, size_t epcap, char *prefix,
                         size_t pcap, char *why, size_t whycap);

/* A key of the cluster: prefix + "/" + a printf-style name. */
int hf_cluster_key(char *out, size_t cap, const char *prefix, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* ---- nodes as etcd knows them ---------------------------------------------------- */

typedef struct hf_cluster_member {
    char id[HF_NODE_ID_MAX + 1];
    char zone[HF_ZONE_MAX + 1];
    uint64_t capacity;
    char rpc[HF_ADDR_MAX + 1];     /* --advertise, else --rpc-listen */
    char s3[HF_ADDR_MAX + 1];      /* the S3 listener, for `admin nodes` */
    char status[HF_ADDR_MAX + 1];  /* the status listener */
    uint64_t applied;              /* the generation it serves */
    uint64_t confirmed;            /* the newest generation whose data it holds */
    int64_t started_ns;
    int64_t mod_revision;          /* of P/nodes/<id> */
    bool registered;               /* P/nodes/<id> exists */
    bool alive;                    /* P/alive/<id> exists (its lease holds) */
    int64_t seen_ns;               /* last heartbeat written */
    uint64_t used_bytes;           /* bytes it stores */
} hf_cluster_member_t;

/* Encode / decode the two records of a member (JSON). Decoding fills the
 * fields of that record only. HF_E_INVAL for a malformed one. */
int hf_cluster_member_encode(const hf_cluster_member_t *m, bool alive_record, hf_buf_t *out);
int hf_cluster_member_decode(const void *data, size_t n, bool alive_record,
                             hf_cluster_member_t *m);

/* ---- the state, read at one revision -------------------------------------------- */

typedef struct hf_cluster_view {
    int64_t revision;
    hf_layout_t layout;            /* generation 0 if none (or refused) */
    int64_t layout_mod;            /* its mod_revision (0: absent) */
    /* The value in etcd breaks a check (written there by hand or by a
     * bug): every node refuses it, and only `layout revert` may replace
     * it (with a good generation from the history). */
    bool layout_refused;
    uint64_t refused_generation;   /* the generation it claims */
    char refused_why[256];
    bool pinned;
    uint64_t pin_generation;
    char pin_by[HF_CHANGE_BY_MAX + 1];
    int64_t pin_at_ns;
    int64_t pin_mod;
    hf_cluster_member_t *members;  /* registered or alive, sorted by id */
    uint32_t nmembers;
} hf_cluster_view_t;

/* Read layout, pin, node records and alive records in one transaction.
 * A layout in etcd that breaks a check is reported in layout_refused (an
 * operator must not plan from it; `layout revert` replaces it). */
int hf_cluster_view_read(hf_etcd_t *e, const char *prefix, int64_t deadline_ms,
                         hf_cluster_view_t *v, char *why, size_t whycap);
void hf_cluster_view_free(hf_cluster_view_t *v);
hf_cluster_member_t *hf_cluster_view_member(hf_cluster_view_t *v, const char *id);

/* The layout of generation g from the history (HF_E_NOTFOUND if it was
 * collected or never existed). */
int hf_cluster_history_get(hf_etcd_t *e, const char *prefix, uint64_t g, int64_t deadline_ms,
                           hf_layout_t *out, char *why, size_t whycap);

/* Every generation in the history, oldest first (decoded; a damaged entry
 * is skipped and counted in *damaged). */
int hf_cluster_history_list(hf_etcd_t *e, const char *prefix, int64_t deadline_ms,
                            hf_layout_t **out, uint32_t *n, uint32_t *damaged);

/* The nodes of layout l that gained partitions in l's generation (against
 * prev, the generation before; NULL: all of them) and have not confirmed
 * it. Names point into l; *out is the caller's (free). */
int hf_cluster_unconfirmed(const hf_layout_t *l, const hf_layout_t *prev,
                           const hf_cluster_view_t *v, const char ***out, uint32_t *n);

/* ---- changes --------------------------------------------------------------------- */

typedef enum hf_apply_outcome {
    HF_APPLY_APPLIED = 0,          /* committed (or: would be, for a dry run) */
    HF_APPLY_REFUSED = 3,          /* a rule refuses it */
    HF_APPLY_MOVED_ON = 4,         /* the generation is not the one expected */
} hf_apply_outcome_t;

typedef struct hf_apply_req {
    bool dry_run;                  /* `layout plan`: check, commit nothing */
    bool any_generation;           /* plan against whatever is current */
    uint64_t generation;           /* apply only from this generation */
    uint64_t revert_to;            /* `layout revert G`: put G back (0: a change) */
    const char *const *add;        /* ids; zone, capacity and address come from
                                      their registration */
    uint32_t nadd;
    const char *const *remove;
    uint32_t nremove;
    const char *const *cap_id;     /* --capacity ID=SIZE (also for an added node) */
    const uint64_t *cap_bytes;
    uint32_t ncap;
    hf_rule_facts_t facts;         /* force_removal, max step; the rest is filled in */
    const char *by;                /* who, for the record */
} hf_apply_req_t;

typedef struct hf_apply_res {
    hf_apply_outcome_t outcome;
    uint64_t current;              /* the generation found (MOVED_ON: the newer one) */
    hf_layout_t old, new;          /* new: the plan */
    hf_plan_impact_t impact;
    hf_rule_violation_t v[16];
    size_t nv;                     /* rules broken (may exceed the 16 kept) */
    uint32_t attempts;             /* commits tried (node records moved in between) */
} hf_apply_res_t;

/* Plan, check and (unless dry_run) commit a change. HF_OK with
 * res->outcome (res is the caller's: hf_cluster_apply_free; on an error
 * it holds nothing); errors: the etcd ones (etcd.h; why says which member and
 * what), HF_E_INVAL with why for a bad request (a node to add that has
 * not registered...). HF_E_TIMEOUT after the commit was sent: its
 * outcome could not be read back either. */
int hf_cluster_apply(hf_etcd_t *e, const char *prefix, const hf_apply_req_t *rq,
                     int64_t deadline_ms, hf_apply_res_t *res, char *why, size_t whycap);
void hf_cluster_apply_free(hf_apply_res_t *res);

/* Pin generation g (g <= current; nodes at or beyond it stay where they
 * are, nodes behind it go no further than g) or unpin (g == 0).
 * HF_E_INVAL with why for a generation that is not there. */
int hf_cluster_pin(hf_etcd_t *e, const char *prefix, uint64_t g, const char *by,
                   int64_t deadline_ms, char *why, size_t whycap);

/* What an etcd failure means, in words for an operator (HF_E_CLOSED: no
 * member answered; HF_E_TIMEOUT: no answer in time; else hf_strerror). */
const char *hf_cluster_etcd_err(int rc);

/* A record of who ran an operator command, for layouts and pins:
 * "user(uid)@host". */
void hf_cluster_by(char *out, size_t cap, const char *local_user);

#endif
