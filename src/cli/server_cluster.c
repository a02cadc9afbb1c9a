/*
 * server_cluster.c -- the cluster side of `holdfast server`: checking
 * --cluster and the flags that go with it, opening the node's control
 * plane (cluster/control.h) and wiring what it does back into the
 * server: applied layouts into the audit log, the cluster's root key into
 * root-credentials, CreateBucket and user changes through etcd.
 *
 * Without --cluster none of this runs and the server is the single node
 * it always was.
 */
#include "cli/cli.h"

#include "cli/config.h"

#include "base/err.h"
#include "base/log.h"
#include "cluster/control.h"
#include "cluster/local.h"
#include "cluster/ops.h"
#include "status/audit.h"
#include "status/status.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A HOST:PORT that can be bound or dialled. */
static bool host_port(const char *s)
{
    const char *colon = strrchr(s, ':');
    if (!colon || colon == s || strlen(s) > HF_ADDR_MAX)
        return false;
    char *end;
    long port = strtol(colon + 1, &end, 10);
    return *end == '\0' && end != colon + 1 && port >= 1 && port <= 65535;
}

static bool wildcard(const char *s)
{
    return strncmp(s, "0.0.0.0:", 8) == 0 || strncmp(s, "[::]:", 5) == 0;
}

int hf_cli_cluster_check(hf_settings_t *set, hf_cli_cluster_t *ca)
{
    memset(ca, 0, sizeof *ca);
    ca->url = hf_settings_get(set, "cluster");
    static const char *const only[] = {"node-id", "zone", "capacity", "rpc-listen", "advertise",
                                       "cluster-secret-file"};
    char o[1200];
    if (!ca->url) {
        for (size_t i = 0; i < sizeof only / sizeof only[0]; i++)
            if (hf_settings_get(set, only[i])) {
                fprintf(stderr, "holdfast server: %s is for cluster nodes: give --cluster too\n",
                        hf_settings_origin(set, only[i], o, sizeof o));
                return 2;
            }
        return 0;
    }
    char ep[1024], prefix[HF_CLUSTER_PREFIX_MAX + 1], why[512];
    if (hf_cluster_parse_url(ca->url, ep, sizeof ep, prefix, sizeof prefix, why, sizeof why)) {
        fprintf(stderr, "holdfast server: %s: %s\n", hf_settings_origin(set, "cluster", o, sizeof o),
                why);
        return 2;
    }
    ca->node_id = hf_settings_get(set, "node-id");
    ca->zone = hf_settings_get(set, "zone");
    const char *cap = hf_settings_get(set, "capacity");
    ca->rpc_listen = hf_settings_get(set, "rpc-listen");
    ca->advertise = hf_settings_get(set, "advertise");
    const char *missing = !ca->node_id ? "--node-id ID (env HOLDFAST_NODE_ID)"
                          : !ca->zone  ? "--zone ZONE (env HOLDFAST_ZONE)"
                          : !cap       ? "--capacity SIZE (env HOLDFAST_CAPACITY)"
                          : !ca->rpc_listen ? "--rpc-listen HOST:PORT (env HOLDFAST_RPC_LISTEN)"
                                            : NULL;
    if (missing) {
        fprintf(stderr, "holdfast server: a cluster node needs %s\n", missing);
        return 2;
    }
    const char *e = hf_layout_check_name(ca->node_id, HF_NODE_ID_MAX);
    if (e) {
        fprintf(stderr, "holdfast server: %s %s\n", hf_settings_origin(set, "node-id", o, sizeof o), e);
        return 2;
    }
    if ((e = hf_layout_check_name(ca->zone, HF_ZONE_MAX))) {
        fprintf(stderr, "holdfast server: %s %s\n", hf_settings_origin(set, "zone", o, sizeof o), e);
        return 2;
    }
    if (hf_cli_parse_size(cap, &ca->capacity) || ca->capacity == 0) {
        fprintf(stderr, "holdfast server: %s must be a size above 0, e.g. 4TiB\n",
                hf_settings_origin(set, "capacity", o, sizeof o));
        return 2;
    }
    if (!host_port(ca->rpc_listen)) {
        fprintf(stderr, "holdfast server: %s must be HOST:PORT\n",
                hf_settings_origin(set, "rpc-listen", o, sizeof o));
        return 2;
    }
    if (ca->advertise && !host_port(ca->advertise)) {
        fprintf(stderr, "holdfast server: %s must be HOST:PORT\n",
                hf_settings_origin(set, "advertise", o, sizeof o));
        return 2;
    }
    if (!ca->advertise && wildcard(ca->rpc_listen)) {
        fprintf(stderr, "holdfast server: --rpc-listen %s is a wildcard address: give --advertise "
                        "HOST:PORT, where the other nodes reach this one\n",
                ca->rpc_listen);
        return 2;
    }
    if (hf_cluster_secret_load(hf_settings_get(set, "cluster-secret-file"),
                               getenv("HOLDFAST_CLUSTER_SECRET"), ca->secret, sizeof ca->secret,
                               &ca->secret_len, why, sizeof why)) {
        fprintf(stderr, "holdfast server: %s\n", why);
        return 2;
    }
    return 0;
}

/* ---- callbacks (the control thread) ------------------------------------------------- */

typedef struct cluster_ctx {
    char data_dir[1024];
} cluster_ctx_t;

static cluster_ctx_t g_ctx;

/* Every applied generation in this node's audit log: who made it (as the
 * change records), what it changed, and that this node applied it. */
static void on_applied(void *ctx, const hf_layout_t *l, uint64_t from)
{
    cluster_ctx_t *cc = ctx;
    char target[32];
    snprintf(target, sizeof target, "generation %" PRIu64, l->generation);
    json_t *detail = json_pack("{s:I,s:I,s:s,s:s,s:s,s:i,s:i}", "generation",
                               (json_int_t)l->generation, "from", (json_int_t)from, "change",
                               l->change.summary, "change_id", l->change.id, "by", l->change.by,
                               "nodes", (int)l->nnodes, "partitions", (int)l->nparts);
    hf_audit_rec_t rec = {
        .actor = {.via = "cluster", .local_user = l->change.by},
        .action = "layout.apply",
        .target = target,
        .detail = detail,
    };
    int rc = hf_audit_append(cc->data_dir, &rec);
    if (rc)
        hf_log_error("msg=\"audit log write failed\" action=layout.apply generation=%" PRIu64
                     " err=\"%s\"",
                     l->generation, hf_strerror(rc));
    json_decref(detail);
}

static void on_root_key(void *ctx, const char *ak, const char *sk)
{
    cluster_ctx_t *cc = ctx;
    int rc = hf_status_write_root_credentials(cc->data_dir, ak, sk);
    if (rc)
        hf_log_error("msg=\"cannot write the cluster's root key to root-credentials\" err=\"%s\"",
                     hf_strerror(rc));
}

static int bucket_create(void *catalog, hf_bucket_t *b)
{
    return hf_cluster_bucket_create(catalog, b);
}

int hf_cli_cluster_open(hf_cli_cluster_t *ca, hf_meta_t *meta, const char *data_dir,
                        const char *s3_addr, const char *status_addr, const char *region,
                        const char *s3_url, hf_s3_t *s3, hf_status_t *st)
{
    snprintf(g_ctx.data_dir, sizeof g_ctx.data_dir, "%s", data_dir);
    /* The cluster's root key, if this node is the one to create it. */
    char ak[HF_ACCESS_KEY_MAX + 1], sk[HF_SECRET_KEY_MAX + 1];
    const char *eak = getenv("HOLDFAST_ACCESS_KEY"), *esk = getenv("HOLDFAST_SECRET_KEY");
    bool from_env = eak && *eak && esk && *esk;
    if (from_env) {
        const char *why = hf_status_check_access_key(eak);
        if (!why)
            why = hf_status_check_secret_key(esk);
        if (why) {
            fprintf(stderr, "holdfast server: HOLDFAST_ACCESS_KEY/HOLDFAST_SECRET_KEY: %s\n", why);
            return 2;
        }
        snprintf(ak, sizeof ak, "%s", eak);
        snprintf(sk, sizeof sk, "%s", esk);
    } else if (hf_status_gen_keys(ak, sk) != HF_OK) {
        fprintf(stderr, "holdfast server: cannot generate keys\n");
        return 1;
    }
    hf_cluster_config_t cfg = {
        .url = ca->url,
        .node_id = ca->node_id,
        .zone = ca->zone,
        .capacity = ca->capacity,
        .rpc = ca->advertise ? ca->advertise : ca->rpc_listen,
        .s3_addr = s3_addr,
        .status_addr = status_addr,
        .secret = ca->secret,
        .secret_len = ca->secret_len,
        .data_dir = data_dir,
        .meta = meta,
        .region = region,
        .root_access_key = ak,
        .root_secret_key = sk,
        .on_applied = on_applied,
        .on_root_key = on_root_key,
        .ctx = &g_ctx,
    };
    bool created = false;
    char why[768];
    int rc = hf_cluster_open(&cfg, &ca->cluster, &created, why, sizeof why);
    memset(ca->secret, 0, sizeof ca->secret);
    if (rc) {
        memset(sk, 0, sizeof sk);
        fprintf(stderr, "holdfast server: cannot join the cluster: %s\n", why);
        return rc == HF_E_AUTH || rc == HF_E_STATE || rc == HF_E_INVAL ? 2 : 1;
    }
    if (created && !from_env) {
        printf("Root credentials of the new cluster (shown once; also in %s/%s on every node):\n"
               "  access key: %s\n"
               "  secret key: %s\n"
               "Try:\n"
               "  AWS_ACCESS_KEY_ID=%s AWS_SECRET_ACCESS_KEY=%s \\\n"
               "    aws --endpoint-url %s s3 ls\n",
               data_dir, HF_ROOT_CREDENTIALS_FILE, ak, sk, ak, sk, s3_url);
        fflush(stdout);
    }
    memset(sk, 0, sizeof sk);
    s3->catalog_bucket_create = bucket_create;
    s3->catalog = ca->cluster;
    st->cluster = ca->cluster;
    rc = hf_cluster_start(ca->cluster);
    if (rc) {
        fprintf(stderr, "holdfast server: cannot start the cluster thread: %s\n", hf_strerror(rc));
        return 1;
    }
    hf_log_info("msg=\"cluster node\" node=%s zone=%s capacity=%" PRIu64 " rpc=%s cluster=%s",
                ca->node_id, ca->zone, ca->capacity, cfg.rpc, ca->url);
    return 0;
}

void hf_cli_cluster_close(hf_cli_cluster_t *ca)
{
    hf_cluster_close(ca->cluster);
    ca->cluster = NULL;
}
