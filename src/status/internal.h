/*
 * internal.h -- what the status listener's files share: one snapshot of
 * everything the page, /metrics and /admin/v1/status show, taken from
 * lock-free counters in one go so the three views agree. Not used outside
 * src/status.
 */
#ifndef HF_STATUS_INTERNAL_H
#define HF_STATUS_INTERNAL_H

#include "base/buf.h"
#include "base/hist.h"
#include "base/iopool.h"
#include "base/load.h"
#include "base/log.h"
#include "status/status.h"

#include <jansson.h>

/* Keys shown on the page (most shed first); /metrics has all of them. */
#define STATUS_PAGE_KEYS 10
/* Background jobs and recent errors shown. */
#define STATUS_BG_MAX HF_GUARD_BG_MAX
#define STATUS_RECENT 20

/* A sample older than this counts as stale: the sampler is stuck (statvfs
 * on a hung disk, most likely). */
#define STATUS_SAMPLE_STALE_MS 5000
/* In-flight requests with none finished for this long: the data path is
 * stalled. */
#define STATUS_STALL_MS 5000
/* Free space below this share of the disk is reported as degraded. */
#define STATUS_DISK_LOW_PERCENT 5

typedef struct status_snap {
    int64_t now_ns, now_ms, uptime_s;
    const char *state;          /* "ok", "degraded", "starting", "failed" */
    char reasons[512];          /* why, for anything but ok ("; "-separated) */
    bool ready;
    hf_server_stats_t srv;      /* the S3 listener */
    bool have_srv;
    hf_guard_stats_t guard;
    bool have_guard;
    hf_load_stats_t load;       /* the standing-queue detector */
    hf_iopool_stats_t iopool;
    hf_guard_key_stat_t *keys;  /* heap, nkeys entries */
    size_t nkeys;
    hf_guard_bg_stat_t bg[STATUS_BG_MAX];
    size_t nbg;
    hf_meta_stats_t meta;
    bool meta_failed;
    hf_chunk_stats_t chunk;
    bool have_chunk;
    hf_lifecycle_stats_t lifecycle;
    bool have_lifecycle;
    hf_scrub_stats_t scrub;
    bool have_scrub;
    uint64_t reserve_bytes;     /* the chunk store's free-space reserve */
    hf_hist_snap_t fsync_us;
    hf_s3_op_stat_t ops[HF_S3_NOPS + 1];
    bool have_s3;
    uint64_t s3_requests, s3_err4, s3_err5;
    hf_hist_snap_t all_latency_us; /* every operation together */
    /* From the sampler (atomics copied). */
    int64_t sample_age_ms;      /* -1: no sample yet */
    int64_t disk_age_ms;
    uint64_t disk_total, disk_free, disk_avail;
    int64_t threads, open_fds, max_fds, rss_bytes;
    double req_rate, err5_rate, err4_rate, shed_rate, in_rate, out_rate;
    int64_t stalled_ms;         /* 0 unless requests are stuck */
    hf_log_recent_t recent[STATUS_RECENT];
    size_t nrecent;
    uint64_t log_errors;
    uint64_t faults_fired;
    bool faults_enabled;
    int64_t admin_writes;       /* admin changes running now */
    bool have_cluster;
    hf_cluster_stats_t cluster;
    hf_cluster_node_t *nodes;   /* heap, nnodes entries */
    uint32_t nnodes;
    hf_peer_stat_t *peers;      /* heap, npeers entries: this node's links */
    size_t npeers;
    int peer_conns;             /* open node-to-node connections */
    uint64_t admin_busy;        /* admin changes answered 503 Busy */
} status_snap_t;

/* ---- the admin API (status.c, users.c) ---- */

/* One admin call in progress: the request, and what its audit record will
 * say. It lives on the stack of the status worker serving the call, so
 * concurrent calls never share one (status.c). */
typedef struct status_call {
    hf_status_t *st;
    hf_req_t *r;
    const char *action;  /* static text, e.g. "user.create" */
    char target[HF_USER_NAME_MAX + 1];
    json_t *detail;      /* owned; never a secret */
    const char *error;   /* the error code answered, if any (static text) */
} status_call_t;

/* Answer with a JSON body (takes ownership of j), or with an error document
 * {"error": code, "message": msg} whose code the audit record repeats. */
void status_send_json(hf_req_t *r, int status, json_t *j);
void status_send_error(status_call_t *c, int status, const char *code, const char *msg);

/* Set the running call's action and target (may be NULL) and replace its
 * detail (takes ownership; may be NULL). A handler notes before it can
 * fail, so refusals are recorded too; later notes refine earlier ones. */
void status_audit_note(status_call_t *c, const char *action, const char *target, json_t *detail);

/* /admin/v1/users... (users.c); rest is the path after "/admin/v1/users". */
void status_users(status_call_t *c, hf_str_t rest);

/* Fill *s (heap parts freed by status_snap_free). Never blocks. */
void status_snap_take(hf_status_t *st, status_snap_t *s);
void status_snap_free(status_snap_t *s);

/* The cluster part of the JSON views (GET /admin/v1/status and
 * /admin/v1/cluster): a new object (caller decrefs). */
json_t *status_cluster_json(const status_snap_t *s);

/* The three views. */
int status_render_metrics(const status_snap_t *s, hf_buf_t *out);
int status_render_page(const status_snap_t *s, hf_buf_t *out);
json_t *status_render_json(const status_snap_t *s);

#endif
