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
#include "base/fiber.h"
#include "base/log.h"
#include "base/time.h"
#include "cluster/control.h"
#include "cluster/local.h"
#include "cluster/ops.h"
#include "net/loop.h"
#include "peer/peer.h"
#include "status/audit.h"
#include "status/status.h"

#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

/* ---- the node-to-node transport and the peer monitor --------------------------------- */

/* Methods of the transport (docs/internals/FORMAT-peer.md). PING answers
 * "NODE-ID GENERATION": who answered and the layout generation it serves. */
enum { PEER_PING = 1 };

struct hf_cli_peers {
    hf_peer_net_t *pn;
    hf_cluster_t *cluster;
    char self[HF_NODE_ID_MAX + 1];
    hf_loops_t *loops;
    _Atomic int stop;
    _Atomic int running; /* the monitor fiber is alive */
    _Atomic int pings;   /* ping fibers alive */
};

static hf_cli_peers_t g_peers;

static int peer_handler(void *ctx, const char *from, uint16_t method, const void *req, size_t n,
                        int64_t deadline_ms, hf_buf_t *resp)
{
    hf_cli_peers_t *m = ctx;
    (void)from, (void)req, (void)n, (void)deadline_ms;
    if (method != PEER_PING)
        return HF_E_INVAL;
    hf_cluster_stats_t cs;
    hf_cluster_stats(m->cluster, &cs);
    return hf_buf_printf(resp, "%s %" PRIu64, m->self, cs.served);
}

typedef struct ping {
    hf_cli_peers_t *m;
    char id[HF_NODE_ID_MAX + 1];
    char addr[HF_ADDR_MAX + 1];
} ping_t;

static void ping_main(void *arg)
{
    ping_t *p = arg;
    hf_buf_t r;
    hf_buf_init(&r, 256);
    int status;
    hf_peer_call(p->m->pn, p->id, p->addr, PEER_PING, NULL, 0,
                 hf_mono_ms() + HF_PEER_PING_TIMEOUT_MS, &r, &status);
    hf_buf_free(&r);
    atomic_fetch_sub(&p->m->pings, 1);
    free(p);
}

/* Once every HF_PEER_PING_MS, one ping fiber per peer of the layout
 * served: the links stay open and every node knows each peer's state and
 * round trip (the status page, /metrics, `holdfast admin nodes`). A peer
 * that does not answer costs its own ping fiber until the deadline, never
 * the others'. */
static void monitor_main(void *arg)
{
    hf_cli_peers_t *m = arg;
    while (!atomic_load(&m->stop)) {
        hf_layout_t l;
        hf_layout_init(&l);
        if (hf_cluster_layout(m->cluster, &l) == HF_OK) {
            for (uint32_t i = 0; i < l.nnodes; i++) {
                const hf_layout_node_t *nd = &l.nodes[i];
                if (strcmp(nd->id, m->self) == 0 || !nd->rpc[0] ||
                    atomic_load(&m->pings) >= HF_PEERS_MAX)
                    continue;
                ping_t *p = calloc(1, sizeof *p);
                if (!p)
                    break;
                p->m = m;
                snprintf(p->id, sizeof p->id, "%s", nd->id);
                snprintf(p->addr, sizeof p->addr, "%s", nd->rpc);
                atomic_fetch_add(&m->pings, 1);
                if (hf_sched_spawn(hf_loop_sched(hf_loop_self()), ping_main, p) != HF_OK) {
                    atomic_fetch_sub(&m->pings, 1);
                    free(p);
                }
            }
        }
        hf_layout_free(&l);
        int64_t next = hf_mono_ms() + HF_PEER_PING_MS;
        while (!atomic_load(&m->stop) && hf_mono_ms() < next)
            hf_loop_sleep_until(hf_mono_ms() + 100 < next ? hf_mono_ms() + 100 : next);
    }
    atomic_store(&m->running, 0);
}

static void spawn_monitor(void *arg)
{
    hf_cli_peers_t *m = arg;
    if (hf_sched_spawn(hf_loop_sched(hf_loop_self()), monitor_main, m) != HF_OK) {
        hf_log_error("msg=\"cannot start the peer monitor: out of memory\"");
        atomic_store(&m->running, 0);
    }
}

/* Listen for peers and start pinging them, on the S3 server's loops. The
 * secret is copied (peer.h). 0, or 1/2 after saying why. */
static int peers_open(hf_cli_cluster_t *ca, hf_loops_t *loops)
{
    hf_cli_peers_t *m = &g_peers;
    memset(m, 0, sizeof *m);
    snprintf(m->self, sizeof m->self, "%s", ca->node_id);
    m->loops = loops;
    m->cluster = ca->cluster;
    hf_peer_config_t pc = {.loops = loops, .listen = ca->rpc_listen, .node_id = ca->node_id,
                           .secret = ca->secret, .secret_len = ca->secret_len,
                           .handler = peer_handler, .ctx = m};
    int rc = hf_peer_net_create(&pc, &m->pn);
    if (rc == HF_OK)
        rc = hf_peer_net_start(m->pn);
    if (rc) {
        fprintf(stderr, "holdfast server: cannot listen for peers on %s: %s\n", ca->rpc_listen,
                rc == HF_E_INVAL ? "expected an IP address and a port, e.g. 10.0.0.7:9100"
                                 : hf_strerror(rc));
        hf_peer_net_destroy(m->pn);
        m->pn = NULL;
        return 2;
    }
    atomic_store(&m->running, 1);
    if (hf_loop_post(hf_loops_get(loops, 0), spawn_monitor, m) != HF_OK)
        atomic_store(&m->running, 0);
    ca->peers = m->pn;
    ca->monitor = m;
    return 0;
}

void hf_cli_cluster_stop_peers(hf_cli_cluster_t *ca)
{
    hf_cli_peers_t *m = ca->monitor;
    if (!m)
        return;
    atomic_store(&m->stop, 1);
    int64_t deadline = hf_mono_ms() + 3000;
    while ((atomic_load(&m->running) || atomic_load(&m->pings)) && hf_mono_ms() < deadline)
        usleep(10 * 1000);
    hf_peer_net_stop(m->pn);
}

int hf_cli_cluster_open(hf_cli_cluster_t *ca, hf_meta_t *meta, const char *data_dir,
                        const char *s3_addr, const char *status_addr, const char *region,
                        const char *s3_url, hf_s3_t *s3, hf_status_t *st, hf_loops_t *loops)
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
    if (rc) {
        memset(ca->secret, 0, sizeof ca->secret);
        memset(sk, 0, sizeof sk);
        fprintf(stderr, "holdfast server: cannot join the cluster: %s\n", why);
        return rc == HF_E_AUTH || rc == HF_E_STATE || rc == HF_E_INVAL ? 2 : 1;
    }
    /* The transport proves the same secret to every peer it talks to. */
    rc = peers_open(ca, loops);
    memset(ca->secret, 0, sizeof ca->secret);
    if (rc) {
        memset(sk, 0, sizeof sk);
        return rc;
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
    st->peers = ca->peers;
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
    hf_peer_net_destroy(ca->peers);
    ca->peers = NULL;
    ca->monitor = NULL;
    hf_cluster_close(ca->cluster);
    ca->cluster = NULL;
}
