/*
 * internal.h -- what the files of src/cluster share. Not used outside it.
 */
#ifndef HF_CLUSTER_INTERNAL_H
#define HF_CLUSTER_INTERNAL_H

#include "base/fiber.h"
#include "base/limits.h"
#include "cluster/control.h"
#include "etcd/etcd.h"

#include <jansson.h>

#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>

/* Write a message into why (cap bytes; why may be NULL) and return
 * HF_E_INVAL: the one way this layer says what is wrong with an input. */
int hf_cluster_why(char *why, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Replace out's contents with j as compact JSON, keys in the order they
 * were set (so one record always encodes the same). Takes j (NULL:
 * -ENOMEM, as json_pack gives on failure). */
int hf_cluster_json_buf(json_t *j, hf_buf_t *out);

/* A catalog write waiting for the control thread (control.c): it lives on
 * the waiting caller's stack until done is posted. */
struct hf_cluster_job {
    int (*fn)(hf_cluster_t *c, void *arg);
    void *arg;
    int rc;
    hf_done_t done;
    struct hf_cluster_job *next;
};

struct hf_cluster {
    /* Set by hf_cluster_open, then read-only. */
    char endpoints[1024];
    char prefix[HF_CLUSTER_PREFIX_MAX + 1];
    char node_id[HF_NODE_ID_MAX + 1];
    char zone[HF_ZONE_MAX + 1];
    char rpc[HF_ADDR_MAX + 1], s3[HF_ADDR_MAX + 1], status[HF_ADDR_MAX + 1];
    char data_dir[PATH_MAX];
    char region[HF_REGION_MAX + 1];
    uint64_t capacity;
    uint8_t secret[HF_CLUSTER_SECRET_MAX];
    size_t secret_len;
    hf_meta_t *meta;
    void (*on_applied)(void *ctx, const hf_layout_t *l, uint64_t from);
    void (*on_root_key)(void *ctx, const char *access_key, const char *secret_key);
    uint64_t (*used_bytes)(void *ctx);
    void *cb_ctx;
    char cluster_id[33];
    char check[65];
    int64_t started_ns;

    /* The control thread's own (no lock: only it touches them). */
    hf_etcd_t *e;
    hf_etcd_watch_t *w;
    int64_t lease;
    bool registered;
    bool records_dirty;   /* the node record could not be written after an apply */
    bool wrong_cluster;   /* etcd's identity is not this node's cluster */
    bool reread_layout;   /* unpinned: look at etcd's layout again */
    uint64_t pin;
    int64_t next_register, next_keepalive, next_sync, next_probe;
    int64_t probe_rev;    /* the store's revision at the previous probe */
    int64_t layout_seen_mod;

    /* Published: written by the control thread under mu, copied out by
     * readers under mu; mu is never held across I/O. */
    pthread_mutex_t mu;
    hf_layout_t served, prev;
    hf_cluster_member_t *members; /* sorted by id */
    uint32_t nmembers, capm;
    hf_cluster_stats_t st;
    int64_t etcd_ok_ms;
    _Atomic uint64_t served_gen;

    /* The thread and its job queue. */
    pthread_t th;
    bool started;
    _Atomic int stop;
    _Atomic(hf_etcd_watch_t *) wake; /* the watch to wake, while one is open */
    pthread_mutex_t jmu;
    pthread_cond_t jcv;
    struct hf_cluster_job *jhead, *jtail;
    uint32_t njobs;
    bool jstop;
};

/* Run fn(c, arg) on the control thread and wait for its result (a catalog
 * write). HF_E_SHUTDOWN once the thread is stopping. */
int hf_cluster_call(hf_cluster_t *c, int (*fn)(hf_cluster_t *c, void *arg), void *arg);

#endif
