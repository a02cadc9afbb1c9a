/*
 * server_cmd.c -- `holdfast server`: open the data directory, make sure a
 * root user exists, start the S3 and status listeners, and run until
 * SIGTERM/SIGINT.
 *
 * Start-up does no work that grows with the number of objects: LMDB opens
 * in constant time and nothing is scanned before serving (the 2017 S3
 * lesson: restart time must not grow with the index). The orphan sweep runs
 * later, in the background.
 *
 * Threads: the main thread only waits for signals; every other thread is
 * started here and has a fixed count (S3 event loops, status loops, the
 * blocking-I/O pool, the metadata writer, one housekeeping thread, the
 * status sampler; in a cluster, the control thread).
 */
#include "cli/cli.h"

#include "cli/config.h"

#include "base/err.h"
#include "base/fault.h"
#include "base/iopool.h"
#include "base/load.h"
#include "base/limits.h"
#include "base/log.h"
#include "base/time.h"
#include "base/vfs.h"
#include "chunk/store.h"
#include "guard/guard.h"
#include "meta/meta.h"
#include "net/server.h"
#include "s3/s3.h"
#include "s3/lifecycle.h"
#include "scrub/scrub.h"
#include "status/audit.h"
#include "status/status.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

const char *hf_cli_setting(const char *flag_value, const char *env, const char *def)
{
    if (flag_value)
        return flag_value;
    const char *e = env ? getenv(env) : NULL;
    if (e && *e)
        return e;
    return def;
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: holdfast server [options]\n"
            "\n"
            "  --config FILE          read settings from FILE: one 'key = value' per line, key a\n"
            "                         flag's name without '--' (env HOLDFAST_CONFIG); flags and\n"
            "                         environment variables override the file\n"
            "  --print-config         show every effective setting and where it came from (flag,\n"
            "                         env, file:line, default), then exit\n"
            "  --data DIR             data directory (env HOLDFAST_DATA, default ./data)\n"
            "  --listen HOST:PORT     S3 listener (env HOLDFAST_LISTEN, default 127.0.0.1:9000)\n"
            "  --status-listen H:P    health/admin listener (env HOLDFAST_STATUS_LISTEN,\n"
            "                         default 127.0.0.1:9001)\n"
            "  --region NAME          region in SigV4 scopes (env HOLDFAST_REGION, default us-east-1)\n"
            "  --domain NAME          serve virtual-hosted-style requests: Host BUCKET.NAME[:port]\n"
            "                         addresses BUCKET; repeatable (env HOLDFAST_DOMAIN, comma-\n"
            "                         separated); path style keeps working\n"
            "  --sigv2 on|off         accept AWS Signature Version 2 (env HOLDFAST_SIGV2,\n"
            "                         default on; off answers V2 requests as S3's V4-only\n"
            "                         regions do)\n"
            "  --workers N            S3 event-loop threads (env HOLDFAST_WORKERS, default: one\n"
            "                         per CPU, at least 2)\n"
            "  --io-threads N         threads for blocking disk calls (env HOLDFAST_IO_THREADS,\n"
            "                         default %d)\n"
            "  --log-level LEVEL      error|warn|info|debug (env HOLDFAST_LOG_LEVEL, default info)\n"
            "  --access-log DEST      one line per request: '-' stderr (default), a file path, or\n"
            "                         'off' (env HOLDFAST_ACCESS_LOG)\n"
            "  --tls-cert FILE        serve S3 over HTTPS with this PEM certificate chain (leaf\n"
            "                         first, then intermediates; env HOLDFAST_TLS_CERT)\n"
            "  --tls-key FILE         ...and this unencrypted PEM private key (env\n"
            "                         HOLDFAST_TLS_KEY); give both or neither. SIGHUP rereads\n"
            "                         both files without dropping connections\n"
            "  --default-object-ownership MODE  Object Ownership of new buckets whose request\n"
            "                         names none: BucketOwnerEnforced (ACLs off; default, as S3),\n"
            "                         BucketOwnerPreferred or ObjectWriter (env\n"
            "                         HOLDFAST_DEFAULT_OBJECT_OWNERSHIP)\n"
            "  --default-block-public-access on|off  all four Block Public Access settings on\n"
            "                         new buckets (default on, as S3), or none (env\n"
            "                         HOLDFAST_DEFAULT_BLOCK_PUBLIC_ACCESS)\n"
            "  --completed-upload-window DUR  a completed multipart upload answers a repeated\n"
            "                         CompleteMultipartUpload this long; 0: not at all (env\n"
            "                         HOLDFAST_COMPLETED_UPLOAD_WINDOW, default 1h, at most 7d)\n"
            "  --sse-master-key-file FILE  the SSE-S3 master keys (env\n"
            "                         HOLDFAST_SSE_MASTER_KEY_FILE, default DIR/sse-master.key,\n"
            "                         generated at first start); keep it off the data disk.\n"
            "                         SIGHUP rereads it for keys added by hand\n"
            "  --sse-default AES256|none  what a bucket without a default encryption\n"
            "                         configuration gets (env HOLDFAST_SSE_DEFAULT, default\n"
            "                         AES256: SSE-S3, as S3 encrypts every new object)\n"
            "\n"
            "Admission control (docs/operations.md#admission):\n"
            "  --max-inflight N       requests admitted at once, each holding up to 512 KiB of\n"
            "                         buffers (env HOLDFAST_MAX_INFLIGHT, default %d)\n"
            "  --max-inflight-per-key N  of those, per access key (env HOLDFAST_MAX_INFLIGHT_PER_KEY,\n"
            "                         default --max-inflight - max(2, --max-inflight/6))\n"
            "  --admit-queue N        requests that may wait for a slot (env HOLDFAST_ADMIT_QUEUE,\n"
            "                         default --max-inflight/8)\n"
            "  --admit-queue-timeout MS  longest wait before 503 SlowDown (env\n"
            "                         HOLDFAST_ADMIT_QUEUE_TIMEOUT, default %d)\n"
            "  --queue-delay-target DUR  shed new requests (503 SlowDown) while admitted work has\n"
            "                         waited longer than this for the CPU, the disk threads or\n"
            "                         the metadata writer over a whole interval (env\n"
            "                         HOLDFAST_QUEUE_DELAY_TARGET, default 50ms)\n"
            "  --max-conns-per-address N  open S3 connections from one client address (env\n"
            "                         HOLDFAST_MAX_CONNS_PER_ADDRESS, default %d; 0: no cap)\n"
            "  --min-transfer-rate SIZE  bodies and responses must move at least this many bytes\n"
            "                         per second on average, else 400 RequestTimeout (env\n"
            "                         HOLDFAST_MIN_TRANSFER_RATE, default 1KiB)\n"
            "  --request-timeout S    whole-request deadline in seconds (env HOLDFAST_REQUEST_TIMEOUT,\n"
            "                         default %d)\n"
            "  --fault-injection      accept fault sets (tests and drills only; env\n"
            "                         HOLDFAST_FAULT_INJECTION=1): from HOLDFAST_FAULTS at start\n"
            "                         and from 'holdfast admin faults' while running\n"
            "  --reserve SIZE         free space PUTs must leave on the data disk, so deletes and\n"
            "                         metadata updates still work when it fills (env\n"
            "                         HOLDFAST_RESERVE; default 256MiB, at most 10%% of the disk)\n"
            "  --scrub-rate SIZE      bytes per second a scrub pass reads (env HOLDFAST_SCRUB_RATE,\n"
            "                         default 8MiB)\n"
            "  --scrub-interval DUR   start a background scrub pass this often; 0: only when\n"
            "                         asked (env HOLDFAST_SCRUB_INTERVAL, default 7d)\n"
            "  --head-timeout DUR     a request head must arrive within this (env\n"
            "                         HOLDFAST_HEAD_TIMEOUT, default 20s)\n"
            "  --io-timeout DUR       bodies and responses must make progress within this, at\n"
            "                         --min-transfer-rate or more on average (env\n"
            "                         HOLDFAST_IO_TIMEOUT, default 30s)\n"
            "  --idle-timeout DUR     idle keep-alive connections are closed after this (env\n"
            "                         HOLDFAST_IDLE_TIMEOUT, default 60s)\n"
            "  --max-connections N    open S3 connections before new ones get 503 (env\n"
            "                         HOLDFAST_MAX_CONNECTIONS, default %d)\n"
            "  --lifecycle-day-seconds N  seconds in a lifecycle rule's day (env\n"
            "                         HOLDFAST_LIFECYCLE_DAY_SECONDS, default 86400; tests shrink it)\n"
            "  --lifecycle-interval DUR  start a lifecycle pass this often (env\n"
            "                         HOLDFAST_LIFECYCLE_INTERVAL, default a day/24, at most 1h)\n"
            "  --lifecycle-rate N     versions and uploads the lifecycle worker examines per\n"
            "                         second, at most (env HOLDFAST_LIFECYCLE_RATE, default 1000)\n"
            "\n"
            "Cluster (docs/cluster.md); without --cluster the server is a single node:\n"
            "  --cluster etcd://H:P[,H:P...][/PREFIX]  join the cluster whose control plane is\n"
            "                         this etcd (env HOLDFAST_CLUSTER; prefix default /holdfast)\n"
            "  --node-id ID           this node's name in the cluster (env HOLDFAST_NODE_ID)\n"
            "  --zone ZONE            its failure domain: rack, room, site (env HOLDFAST_ZONE)\n"
            "  --capacity SIZE        the storage it offers, e.g. 4TiB (env HOLDFAST_CAPACITY)\n"
            "  --rpc-listen HOST:PORT its node-to-node address: an IP address and a port (env\n"
            "                         HOLDFAST_RPC_LISTEN; docs/cluster.md)\n"
            "  --advertise HOST:PORT  the address peers use, if not --rpc-listen's (env\n"
            "                         HOLDFAST_ADVERTISE)\n"
            "  --cluster-secret-file FILE  the cluster's shared secret (env\n"
            "                         HOLDFAST_CLUSTER_SECRET_FILE, or the secret itself in\n"
            "                         HOLDFAST_CLUSTER_SECRET); the same on every node\n"
            "\n"
            "SIZE is bytes with an optional K, M, G or T (powers of 1024, e.g. 512MiB);\n"
            "DUR is seconds with an optional ms, s, m, h or d.\n"
            "\n"
            "The root key is set from HOLDFAST_ACCESS_KEY / HOLDFAST_SECRET_KEY when the data\n"
            "directory is first created; otherwise it is generated, printed once and stored in\n"
            "DIR/" HF_ROOT_CREDENTIALS_FILE " (mode 0600).\n",
            HF_IO_THREADS_DEFAULT, HF_ADMIT_INFLIGHT_DEFAULT, HF_ADMIT_QUEUE_TIMEOUT_MS,
            HF_CONNS_PER_ADDR_DEFAULT, HF_REQUEST_TIMEOUT_MS / 1000, HF_CONN_MAX_DEFAULT);
}

int hf_cli_read_root_credentials(const char *data_dir, char *ak, size_t akcap, char *sk,
                                 size_t skcap)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", data_dir, HF_ROOT_CREDENTIALS_FILE);
    FILE *f = fopen(path, "r");
    if (!f)
        return -errno;
    char line[512];
    ak[0] = sk[0] = '\0';
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = '\0';
        if (strncmp(line, "access_key=", 11) == 0)
            snprintf(ak, akcap, "%s", line + 11);
        else if (strncmp(line, "secret_key=", 11) == 0)
            snprintf(sk, skcap, "%s", line + 11);
    }
    fclose(f);
    return ak[0] && sk[0] ? 0 : -EINVAL;
}

/* The root user is the first admin action on a data directory: the
 * server takes it on behalf of whoever started it. */
static void audit_root_created(const char *data_dir, const hf_user_t *u)
{
    char lu[HF_AUDIT_LOCAL_USER_MAX + 1];
    json_t *detail = json_pack("{s:s,s:b,s:s}", "access_key", u->access_key, "root", 1, "keys",
                               getenv("HOLDFAST_ACCESS_KEY") ? "from the environment" : "generated");
    hf_audit_rec_t rec = {
        .actor = {.via = "server", .local_user = hf_cli_local_user(lu, sizeof lu)},
        .action = "user.create",
        .target = u->name,
        .detail = detail,
    };
    int rc = hf_audit_append(data_dir, &rec);
    if (rc)
        hf_log_error("msg=\"audit log write failed\" action=user.create target=root err=\"%s\"",
                     hf_strerror(rc));
    json_decref(detail);
}

/* Create the root user on first start. url is the S3 endpoint to show. */
static int ensure_root(hf_meta_t *m, const char *data_dir, const char *url)
{
    hf_user_t u;
    const char *eak = getenv("HOLDFAST_ACCESS_KEY"), *esk = getenv("HOLDFAST_SECRET_KEY");
    if (eak && !*eak)
        eak = NULL;
    if (esk && !*esk)
        esk = NULL;
    int rc = hf_meta_user_get(m, "root", &u);
    if (rc == HF_OK) {
        if (eak && strcmp(eak, u.access_key) != 0)
            hf_log_warn("msg=\"HOLDFAST_ACCESS_KEY is ignored: the root key was set when the data "
                        "directory was created (see %s/%s)\"",
                        data_dir, HF_ROOT_CREDENTIALS_FILE);
        return HF_OK;
    }
    if (rc != HF_E_NOTFOUND)
        return rc;
    memset(&u, 0, sizeof u);
    snprintf(u.name, sizeof u.name, "root");
    u.flags = HF_USER_ROOT;
    if ((eak != NULL) != (esk != NULL)) {
        fprintf(stderr, "holdfast: set both HOLDFAST_ACCESS_KEY and HOLDFAST_SECRET_KEY, or neither\n");
        return HF_E_INVAL;
    }
    if (eak) {
        const char *why = hf_status_check_access_key(eak);
        if (!why)
            why = hf_status_check_secret_key(esk);
        if (why) {
            fprintf(stderr, "holdfast: HOLDFAST_ACCESS_KEY/HOLDFAST_SECRET_KEY: %s\n", why);
            return HF_E_INVAL;
        }
        snprintf(u.access_key, sizeof u.access_key, "%s", eak);
        snprintf(u.secret_key, sizeof u.secret_key, "%s", esk);
    } else if ((rc = hf_status_gen_keys(u.access_key, u.secret_key)) != HF_OK) {
        return rc;
    }
    rc = hf_meta_user_create(m, &u);
    if (rc)
        return rc;
    audit_root_created(data_dir, &u);
    rc = hf_status_write_root_credentials(data_dir, u.access_key, u.secret_key);
    if (rc) {
        fprintf(stderr, "holdfast: cannot write %s/%s: %s\n", data_dir, HF_ROOT_CREDENTIALS_FILE,
                hf_strerror(rc));
        return rc;
    }
    if (!eak) {
        printf("Root credentials (shown once; also in %s/%s, mode 0600):\n"
               "  access key: %s\n"
               "  secret key: %s\n"
               "Try:\n"
               "  AWS_ACCESS_KEY_ID=%s AWS_SECRET_ACCESS_KEY=%s \\\n"
               "    aws --endpoint-url %s s3 ls\n",
               data_dir, HF_ROOT_CREDENTIALS_FILE, u.access_key, u.secret_key, u.access_key,
               u.secret_key, url);
        fflush(stdout);
    }
    return HF_OK;
}

/* ---- settings with units ---------------------------------------------------- */

/* "123", "64K", "512MiB", "2G", "1TB": bytes, powers of 1024. */
static int parse_size(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (end == s || errno || *s == '-')
        return -1;
    int shift = 0;
    switch (*end) {
    case '\0': break;
    case 'k': case 'K': shift = 10; end++; break;
    case 'm': case 'M': shift = 20; end++; break;
    case 'g': case 'G': shift = 30; end++; break;
    case 't': case 'T': shift = 40; end++; break;
    default: return -1;
    }
    if (shift && (strcmp(end, "iB") == 0 || strcmp(end, "B") == 0 || strcmp(end, "ib") == 0))
        end += strlen(end);
    if (*end || (shift && v > (UINT64_MAX >> shift)))
        return -1;
    *out = (uint64_t)v << shift;
    return 0;
}

/* "30", "30s", "250ms", "5m", "2h", "7d": milliseconds. */
static int parse_duration_ms(const char *s, int64_t *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (end == s || errno || v < 0)
        return -1;
    int64_t mul = 1000;
    if (strcmp(end, "ms") == 0)
        mul = 1;
    else if (*end == '\0' || strcmp(end, "s") == 0)
        mul = 1000;
    else if (strcmp(end, "m") == 0)
        mul = 60 * 1000;
    else if (strcmp(end, "h") == 0)
        mul = 3600 * 1000;
    else if (strcmp(end, "d") == 0)
        mul = 86400 * 1000;
    else
        return -1;
    if (v > INT64_MAX / mul)
        return -1;
    *out = v * mul;
    return 0;
}

int hf_cli_parse_duration_ms(const char *s, int64_t *out)
{
    return parse_duration_ms(s, out);
}

int hf_cli_parse_size(const char *s, uint64_t *out)
{
    return parse_size(s, out);
}

/* ---- housekeeping: background work with its own fixed thread ------------- */

typedef struct housekeeping {
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stop;
    _Atomic int stop_flag; /* the same, for budget waits that must end early */
    hf_meta_t *meta;
    hf_chunk_store_t *chunks;
    hf_guard_bg_t *sweep_budget; /* NULL: unlimited */
    hf_scrub_t *scrub;
    hf_lifecycle_t *lifecycle;
} housekeeping_t;

/* Orphans are chunk files of uploads that never committed (a crash between
 * writing a blob and committing its record, or after a commit and before
 * the unlink). They are only removed when older than this, so a blob whose
 * commit is a moment away is never touched. */
#define ORPHAN_MIN_AGE_S 3600
#define ORPHAN_SWEEP_FIRST_S 60
#define ORPHAN_SWEEP_EVERY_S (6 * 3600)
/* The sweep's budget, in blobs examined per second: a million blobs take
 * under 20 minutes, and a sweep costs at most ~1000 metadata lookups and
 * directory entries a second, which a busy node hardly notices. It also
 * yields to busy foreground traffic (guard.h). */
#define ORPHAN_SWEEP_RATE 1000
#define ORPHAN_SWEEP_BURST 100

/* The sweep asks this before each blob: take one unit of budget, then ask
 * the metadata store. Stopping answers "live" so nothing more is removed. */
static bool sweep_is_live(void *ctx, const hf_blob_id_t *id)
{
    housekeeping_t *hk = ctx;
    if (hk->sweep_budget && hf_guard_bg_take(hk->sweep_budget, 1, &hk->stop_flag) != HF_OK)
        return true;
    return hf_meta_blob_live(hk->meta, id);
}

static void *housekeeping_main(void *arg)
{
    housekeeping_t *hk = arg;
    int64_t next = hf_mono_ms() + ORPHAN_SWEEP_FIRST_S * 1000LL;
    pthread_mutex_lock(&hk->mu);
    while (!hk->stop) {
        int64_t now = hf_mono_ms();
        if (now >= next) {
            pthread_mutex_unlock(&hk->mu);
            if (hk->sweep_budget)
                hf_guard_bg_run_begin(hk->sweep_budget, 0);
            long n = hf_chunk_sweep_orphans(hk->chunks, sweep_is_live, hk, ORPHAN_MIN_AGE_S);
            if (hk->sweep_budget)
                hf_guard_bg_run_end(hk->sweep_budget);
            if (n > 0)
                hf_log_info("msg=\"orphan sweep\" removed=%ld", n);
            else if (n < 0)
                hf_log_warn("msg=\"orphan sweep failed\" err=\"%s\"", hf_strerror((int)n));
            pthread_mutex_lock(&hk->mu);
            next = hf_mono_ms() + ORPHAN_SWEEP_EVERY_S * 1000LL;
            continue;
        }
        /* The scrubber paces itself: it says when it wants the next slice. */
        pthread_mutex_unlock(&hk->mu);
        int64_t wait_ms = hk->scrub ? hf_scrub_step(hk->scrub) : 1000;
        if (hk->lifecycle) {
            int64_t lw = hf_lifecycle_step(hk->lifecycle);
            if (lw < wait_ms)
                wait_ms = lw;
        }
        pthread_mutex_lock(&hk->mu);
        if (wait_ms > 1000)
            wait_ms = 1000;
        if (wait_ms <= 0 || hk->stop)
            continue;
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += (long)(wait_ms % 1000) * 1000000L;
        ts.tv_sec += wait_ms / 1000 + ts.tv_nsec / 1000000000L;
        ts.tv_nsec %= 1000000000L;
        pthread_cond_timedwait(&hk->cv, &hk->mu, &ts);
    }
    pthread_mutex_unlock(&hk->mu);
    return NULL;
}

/* "host:port" a client on this machine can use for a listen spec and the
 * port actually bound: wildcard hosts become loopback. */
static void reachable(const char *spec, int port, char *out, size_t n)
{
    const char *colon = strrchr(spec, ':');
    size_t hl = colon ? (size_t)(colon - spec) : 0;
    if (hl == 0 || (hl == 7 && strncmp(spec, "0.0.0.0", 7) == 0) ||
        (hl == 4 && strncmp(spec, "[::]", 4) == 0))
        snprintf(out, n, "127.0.0.1:%d", port);
    else
        snprintf(out, n, "%.*s:%d", (int)hl, spec, port);
}

static void on_release(void *ctx, const hf_blob_id_t *id, uint64_t size)
{
    hf_chunk_release(ctx, id, size);
}

/* ---- the command ---------------------------------------------------------------- */

/* What a new bucket gets when its CreateBucket names nothing else:
 * S3's choices since April 2023 (BucketOwnerEnforced, all of Block Public
 * Access on) unless the operator picks others. Returns 0, or 2 after
 * saying what is wrong. */
static int bucket_defaults(const char *own_s, const char *pab_s, uint32_t *flags)
{
    if (hf_s3_ownership_bits(own_s, flags) != HF_OK) {
        fprintf(stderr,
                "holdfast server: --default-object-ownership (or HOLDFAST_DEFAULT_OBJECT_OWNERSHIP) "
                "is '%s'; use BucketOwnerEnforced (ACLs off, the default), BucketOwnerPreferred or "
                "ObjectWriter\n",
                own_s);
        return 2;
    }
    if (strcmp(pab_s, "on") == 0) {
        *flags |= HF_BUCKET_PAB_ALL;
    } else if (strcmp(pab_s, "off") != 0) {
        fprintf(stderr,
                "holdfast server: --default-block-public-access (or "
                "HOLDFAST_DEFAULT_BLOCK_PUBLIC_ACCESS) is '%s'; use on (the default) or off\n",
                pab_s);
        return 2;
    }
    return 0;
}

/* The --domain names: a comma-separated list (repeated flags are joined
 * with commas as they are read), split in place into domains[]. Returns 0,
 * or 2 after saying what is wrong. */
static int split_domains(char *list, const char *domains[HF_DOMAINS_MAX], int *n)
{
    *n = 0;
    for (char *save = NULL, *t = strtok_r(list, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        while (*t == ' ')
            t++;
        size_t tl = strlen(t);
        while (tl && t[tl - 1] == ' ')
            t[--tl] = '\0';
        if (!*t)
            continue;
        if (*n == HF_DOMAINS_MAX) {
            fprintf(stderr, "holdfast server: --domain: at most %d domains\n", HF_DOMAINS_MAX);
            return 2;
        }
        const char *why = hf_s3_domain_check(t);
        if (why) {
            fprintf(stderr, "holdfast server: --domain '%s': %s\n", t, why);
            return 2;
        }
        domains[(*n)++] = t;
    }
    return 0;
}

/* Every setting of `holdfast server`: its flag (without "--"), its
 * environment variable, and its default as --print-config shows it
 * (config.h). Defaults computed from other settings are recorded with
 * hf_settings_show once known. */
#define SERVER_SETTINGS(X)                                                                        \
    X("config", "HOLDFAST_CONFIG", NULL, false)                                                    \
    X("data", "HOLDFAST_DATA", "./data", false)                                                    \
    X("listen", "HOLDFAST_LISTEN", "127.0.0.1:9000", false)                                        \
    X("status-listen", "HOLDFAST_STATUS_LISTEN", "127.0.0.1:9001", false)                          \
    X("region", "HOLDFAST_REGION", "us-east-1", false)                                             \
    X("domain", "HOLDFAST_DOMAIN", NULL, false)                                                    \
    X("sigv2", "HOLDFAST_SIGV2", "on", false)                                                      \
    X("workers", "HOLDFAST_WORKERS", "one per CPU, at least 2", false)                             \
    X("io-threads", "HOLDFAST_IO_THREADS", "8", false)                                             \
    X("log-level", "HOLDFAST_LOG_LEVEL", "info", false)                                            \
    X("access-log", "HOLDFAST_ACCESS_LOG", "-", false)                                             \
    X("default-object-ownership", "HOLDFAST_DEFAULT_OBJECT_OWNERSHIP", "BucketOwnerEnforced",     \
      false)                                                                                      \
    X("default-block-public-access", "HOLDFAST_DEFAULT_BLOCK_PUBLIC_ACCESS", "on", false)          \
    X("completed-upload-window", "HOLDFAST_COMPLETED_UPLOAD_WINDOW", "1h", false)                  \
    X("sse-master-key-file", "HOLDFAST_SSE_MASTER_KEY_FILE", "DATA/sse-master.key", false)         \
    X("sse-default", "HOLDFAST_SSE_DEFAULT", "AES256", false)                                      \
    X("queue-delay-target", "HOLDFAST_QUEUE_DELAY_TARGET", "50ms", false)                          \
    X("max-inflight", "HOLDFAST_MAX_INFLIGHT", "2048", false)                                      \
    X("max-inflight-per-key", "HOLDFAST_MAX_INFLIGHT_PER_KEY",                                     \
      "max-inflight - max(2, max-inflight/6)", false)                                             \
    X("max-conns-per-address", "HOLDFAST_MAX_CONNS_PER_ADDRESS", "1024", false)                    \
    X("admit-queue", "HOLDFAST_ADMIT_QUEUE", "max-inflight/8", false)                              \
    X("min-transfer-rate", "HOLDFAST_MIN_TRANSFER_RATE", "1KiB", false)                            \
    X("admit-queue-timeout", "HOLDFAST_ADMIT_QUEUE_TIMEOUT", "250", false)                         \
    X("request-timeout", "HOLDFAST_REQUEST_TIMEOUT", "900", false)                                 \
    X("fault-injection", "HOLDFAST_FAULT_INJECTION", "false", true)                                \
    X("reserve", "HOLDFAST_RESERVE", "256MiB, at most 10% of the disk", false)                     \
    X("scrub-rate", "HOLDFAST_SCRUB_RATE", "8MiB", false)                                          \
    X("scrub-interval", "HOLDFAST_SCRUB_INTERVAL", "7d", false)                                    \
    X("head-timeout", "HOLDFAST_HEAD_TIMEOUT", "20s", false)                                       \
    X("io-timeout", "HOLDFAST_IO_TIMEOUT", "30s", false)                                           \
    X("idle-timeout", "HOLDFAST_IDLE_TIMEOUT", "60s", false)                                       \
    X("max-connections", "HOLDFAST_MAX_CONNECTIONS", "16384", false)                               \
    X("lifecycle-day-seconds", "HOLDFAST_LIFECYCLE_DAY_SECONDS", "86400", false)                   \
    X("lifecycle-interval", "HOLDFAST_LIFECYCLE_INTERVAL", "a lifecycle day / 24, at most 1h",     \
      false)                                                                                      \
    X("lifecycle-rate", "HOLDFAST_LIFECYCLE_RATE", "1000", false)                                  \
    X("tls-cert", "HOLDFAST_TLS_CERT", NULL, false)                                                \
    X("tls-key", "HOLDFAST_TLS_KEY", NULL, false)                                                  \
    X("cluster", "HOLDFAST_CLUSTER", NULL, false)                                                  \
    X("node-id", "HOLDFAST_NODE_ID", NULL, false)                                                  \
    X("zone", "HOLDFAST_ZONE", NULL, false)                                                        \
    X("capacity", "HOLDFAST_CAPACITY", NULL, false)                                                \
    X("rpc-listen", "HOLDFAST_RPC_LISTEN", NULL, false)                                            \
    X("advertise", "HOLDFAST_ADVERTISE", "--rpc-listen", false)                                     \
    X("cluster-secret-file", "HOLDFAST_CLUSTER_SECRET_FILE", "none: HOLDFAST_CLUSTER_SECRET", false)

/* An integer setting within [lo, hi]. Unset leaves *out alone. Returns 0,
 * or 2 after saying what is wrong and where the value came from. */
static int int_setting(hf_settings_t *set, const char *name, long lo, long hi, int *out)
{
    const char *value = hf_settings_get(set, name);
    if (!value)
        return 0;
    char *end;
    errno = 0;
    long v = strtol(value, &end, 10);
    if (errno || end == value || *end || v < lo || v > hi) {
        char o[1200];
        fprintf(stderr, "holdfast server: %s must be a number from %ld to %ld (got '%s')\n",
                hf_settings_origin(set, name, o, sizeof o), lo, hi, value);
        return 2;
    }
    *out = (int)v;
    return 0;
}

/* A timeout setting: 1 ms to 1 day. Unset leaves *out alone. */
static int timeout_setting(hf_settings_t *set, const char *name, int *out)
{
    int64_t ms;
    const char *v = hf_settings_get(set, name);
    if (!v)
        return 0;
    if (parse_duration_ms(v, &ms) || ms < 1 || ms > 86400 * 1000) {
        char o[1200];
        fprintf(stderr, "holdfast server: %s must be a duration from 1ms to 1d (e.g. 30s)\n",
                hf_settings_origin(set, name, o, sizeof o));
        return -1;
    }
    *out = (int)ms;
    return 0;
}

/* Say that setting name's value is wrong (why: what it must be). */
static int bad_setting(hf_settings_t *set, const char *name, const char *why)
{
    char o[1200];
    fprintf(stderr, "holdfast server: %s %s\n", hf_settings_origin(set, name, o, sizeof o), why);
    return 2;
}

static int server_run(hf_settings_t *set, bool print_config);

int hf_cli_server(int argc, char **argv)
{
#define SETTING_ROW(n, e, d, b) {.name = n, .env = e, .def = d, .boolean = b},
    hf_setting_t table[] = {SERVER_SETTINGS(SETTING_ROW)};
#undef SETTING_ROW
    enum { NSET = sizeof table / sizeof table[0], OPT_BASE = 1000 };
    struct option opts[NSET + 3];
    for (size_t i = 0; i < NSET; i++)
        opts[i] = (struct option){table[i].name, table[i].boolean ? no_argument : required_argument,
                                  NULL, OPT_BASE + (int)i};
    opts[NSET] = (struct option){"print-config", no_argument, NULL, 'p'};
    opts[NSET + 1] = (struct option){"help", no_argument, NULL, 'h'};
    opts[NSET + 2] = (struct option){NULL, 0, NULL, 0};
    hf_settings_t set;
    hf_settings_init(&set, table, NSET);
    bool print_config = false;
    char *domain_list = NULL; /* repeated --domain flags, joined */
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c >= OPT_BASE && c < OPT_BASE + NSET) {
            const char *name = table[c - OPT_BASE].name, *v = optarg ? optarg : "true";
            /* --domain repeats: the names join into one list. */
            const char *prev = strcmp(name, "domain") == 0 ? hf_settings_get(&set, name) : NULL;
            if (prev) {
                size_t need = strlen(prev) + strlen(v) + 2;
                char *joined = malloc(need);
                if (!joined)
                    return 1;
                snprintf(joined, need, "%s,%s", prev, v);
                free(domain_list);
                domain_list = joined;
                v = joined;
            }
            hf_settings_flag(&set, name, v);
            continue;
        }
        switch (c) {
        case 'p': print_config = true; break;
        case 'h': free(domain_list); usage(stdout); return 0;
        default: free(domain_list); usage(stderr); return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "holdfast server: unexpected argument '%s'\n", argv[optind]);
        free(domain_list);
        usage(stderr);
        return 2;
    }
    /* The config file, then the environment over it (flags stay first). */
    const char *config = hf_settings_get(&set, "config");
    if (!config)
        config = hf_cli_setting(NULL, "HOLDFAST_CONFIG", NULL);
    if (config) {
        char err[1400];
        if (hf_settings_load(&set, config, err, sizeof err) != HF_OK) {
            fprintf(stderr, "holdfast server: config file: %s\n", err);
            hf_settings_free(&set);
            return 2;
        }
    }
    hf_settings_env(&set);
    int rc = server_run(&set, print_config);
    hf_settings_free(&set);
    free(domain_list);
    return rc;
}

/* Check every setting, then (unless print_config) run the server until a
 * signal stops it. */
static int server_run(hf_settings_t *set, bool print_config)
{
#define GET(name, def) (hf_settings_get(set, name) ? hf_settings_get(set, name) : (def))
    const char *data = GET("data", "./data"), *listen = GET("listen", "127.0.0.1:9000"),
               *slisten = GET("status-listen", "127.0.0.1:9001"),
               *region = GET("region", "us-east-1"), *workers_s = GET("workers", NULL),
               *level_s = GET("log-level", "info"), *access_s = GET("access-log", "-"),
               *reserve_s = GET("reserve", NULL), *srate_s = GET("scrub-rate", NULL),
               *sint_s = GET("scrub-interval", "7d"), *lint_s = GET("lifecycle-interval", NULL),
               *maxc_s = GET("max-connections", NULL), *tls_cert = GET("tls-cert", NULL),
               *tls_key = GET("tls-key", NULL), *sigv2_s = GET("sigv2", "on"),
               *domain_s = GET("domain", NULL),
               *own_s = GET("default-object-ownership", "BucketOwnerEnforced"),
               *pab_s = GET("default-block-public-access", "on"),
               *done_s = GET("completed-upload-window", NULL),
               *qdt_s = GET("queue-delay-target", NULL), *mtr_s = GET("min-transfer-rate", NULL),
               *sse_file = GET("sse-master-key-file", NULL),
               *sse_default_s = GET("sse-default", NULL);
#undef GET
    bool faults = false;
    if (hf_settings_bool(set, "fault-injection", &faults))
        return bad_setting(set, "fault-injection", "must be true or false (1 or 0)");
    int level = hf_log_parse_level(level_s);
    if (level < 0)
        return bad_setting(set, "log-level", "must be error, warn, info or debug");
    hf_log_set_level(level);
    /* One loop per CPU: a loop never waits, so more would only add
     * switching; at least two, so one long request never holds them all. */
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    int workers = ncpu < 2 ? 2 : ncpu > HF_WORKERS_MAX ? HF_WORKERS_MAX : (int)ncpu;
    if (workers_s && int_setting(set, "workers", 1, HF_WORKERS_MAX, &workers))
        return 2;
    char shown_w[16];
    snprintf(shown_w, sizeof shown_w, "%d", workers);
    hf_settings_show(set, "workers", shown_w);
    hf_guard_config_t gc = {.queue_max = -1};
    int request_timeout_s = HF_REQUEST_TIMEOUT_MS / 1000;
    int io_threads = HF_IO_THREADS_DEFAULT, conns_per_addr = HF_CONNS_PER_ADDR_DEFAULT;
    if (int_setting(set, "max-inflight", 1, HF_ADMIT_INFLIGHT_MAX, &gc.max_inflight) ||
        int_setting(set, "max-inflight-per-key", 1, HF_ADMIT_INFLIGHT_MAX, &gc.per_key_max) ||
        int_setting(set, "admit-queue", 0, HF_ADMIT_INFLIGHT_MAX, &gc.queue_max) ||
        int_setting(set, "io-threads", 1, HF_IO_THREADS_MAX, &io_threads) ||
        int_setting(set, "max-conns-per-address", 0, HF_CONN_MAX_LIMIT, &conns_per_addr) ||
        int_setting(set, "admit-queue-timeout", 1, HF_ADMIT_QUEUE_TIMEOUT_MAX_MS,
                    &gc.queue_timeout_ms) ||
        int_setting(set, "request-timeout", 1, HF_REQUEST_TIMEOUT_MAX_MS / 1000,
                    &request_timeout_s))
        return 2;
    hf_guard_defaults(&gc);
    const char *gwhy = hf_guard_check(&gc);
    if (gwhy) {
        fprintf(stderr, "holdfast server: %s (max-inflight %d, admit-queue %d)\n", gwhy,
                gc.max_inflight, gc.queue_max);
        return 2;
    }
    int64_t qdt_ms = HF_LOAD_TARGET_US / 1000;
    if (qdt_s && (parse_duration_ms(qdt_s, &qdt_ms) || qdt_ms < 1 || qdt_ms > 60000))
        return bad_setting(set, "queue-delay-target",
                           "must be a duration from 1ms to 60s, e.g. 50ms");
    uint64_t min_rate = HF_IO_MIN_RATE;
    if (mtr_s && (parse_size(mtr_s, &min_rate) || min_rate < 1 || min_rate > (1u << 30)))
        return bad_setting(set, "min-transfer-rate",
                           "must be a size per second from 1 to 1GiB, e.g. 1KiB");
    if (strcmp(sigv2_s, "on") != 0 && strcmp(sigv2_s, "off") != 0)
        return bad_setting(set, "sigv2", "must be on or off");
    uint32_t new_bucket_flags = 0;
    if (bucket_defaults(own_s, pab_s, &new_bucket_flags))
        return 2;
    int64_t done_ms = (int64_t)HF_UPLOAD_DONE_WINDOW_S * 1000;
    if (done_s && (parse_duration_ms(done_s, &done_ms) ||
                   done_ms > (int64_t)HF_UPLOAD_DONE_WINDOW_MAX_S * 1000))
        return bad_setting(set, "completed-upload-window",
                           "must be a duration up to 7d (e.g. 1h), or 0");
    /* The domain list, split in a copy the server keeps while it runs. */
    const char *domains[HF_DOMAINS_MAX];
    int ndomains = 0;
    char *domain_copy = domain_s ? strdup(domain_s) : NULL;
    if (domain_s && (!domain_copy || split_domains(domain_copy, domains, &ndomains))) {
        free(domain_copy);
        return 2;
    }
    char shown_in[16], shown_pk[16], shown_q[16];
    snprintf(shown_in, sizeof shown_in, "%d", gc.max_inflight);
    snprintf(shown_pk, sizeof shown_pk, "%d", gc.per_key_max);
    snprintf(shown_q, sizeof shown_q, "%d", gc.queue_max);
    hf_settings_show(set, "max-inflight", shown_in);
    hf_settings_show(set, "max-inflight-per-key", shown_pk);
    hf_settings_show(set, "admit-queue", shown_q);

    uint64_t reserve = 0, scrub_rate = HF_SCRUB_RATE_DEFAULT;
    int64_t scrub_interval_ms = 0;
    bool reserve_given = reserve_s != NULL;
    if (reserve_s && parse_size(reserve_s, &reserve))
        return bad_setting(set, "reserve", "must be a size, e.g. 256MiB or 0");
    if (srate_s && (parse_size(srate_s, &scrub_rate) || scrub_rate < 1024))
        return bad_setting(set, "scrub-rate", "must be a size per second of at least 1KiB");
    if (parse_duration_ms(sint_s, &scrub_interval_ms))
        return bad_setting(set, "scrub-interval", "must be a duration (e.g. 7d) or 0");
    hf_lifecycle_config_t lcfg = {.day_seconds = HF_LIFECYCLE_DAY_DEFAULT_S,
                                  .rate = HF_LIFECYCLE_RATE_DEFAULT};
    int lday = 0, lrate = 0;
    int64_t lint_ms = 0;
    if (int_setting(set, "lifecycle-day-seconds", 1, HF_LIFECYCLE_DAY_DEFAULT_S, &lday) ||
        int_setting(set, "lifecycle-rate", 1, 1000000, &lrate))
        return 2;
    if (lday)
        lcfg.day_seconds = lday;
    if (lrate)
        lcfg.rate = lrate;
    /* A pass a twenty-fourth of a day apart, so an expiry lands within an
     * hour of when it is due; at most an hour, at least a second. */
    lcfg.interval_s = lcfg.day_seconds / 24 > 3600 ? 3600 : lcfg.day_seconds / 24;
    if (lcfg.interval_s < 1)
        lcfg.interval_s = 1;
    if (lint_s) {
        if (parse_duration_ms(lint_s, &lint_ms) || lint_ms < 1000)
            return bad_setting(set, "lifecycle-interval", "must be a duration of at least 1s");
        lcfg.interval_s = lint_ms / 1000;
    }
    char shown_li[32];
    snprintf(shown_li, sizeof shown_li, "%llds", (long long)lcfg.interval_s);
    hf_settings_show(set, "lifecycle-interval", shown_li);
    int head_ms = 0, io_ms = 0, idle_ms = 0, max_conns = HF_CONN_MAX_DEFAULT;
    if (timeout_setting(set, "head-timeout", &head_ms) ||
        timeout_setting(set, "io-timeout", &io_ms) ||
        timeout_setting(set, "idle-timeout", &idle_ms))
        return 2;
    if (maxc_s && int_setting(set, "max-connections", 1, HF_CONN_MAX_LIMIT, &max_conns)) {
        free(domain_copy);
        return 2;
    }
    /* Every connection is a descriptor: take the hard limit, and keep the
     * connection cap below it with room for chunk files, LMDB and logs, so
     * running out of descriptors is a clean 503 at accept, never a failed
     * open in the middle of a request. */
    struct rlimit rl;
    if (!print_config && getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        if (rl.rlim_cur < rl.rlim_max) {
            rl.rlim_cur = rl.rlim_max;
            setrlimit(RLIMIT_NOFILE, &rl);
            getrlimit(RLIMIT_NOFILE, &rl);
        }
        long room = rl.rlim_cur == RLIM_INFINITY ? HF_CONN_MAX_LIMIT
                                                 : (long)rl.rlim_cur - HF_FD_RESERVE;
        if (room < 16)
            room = 16;
        if (max_conns > room) {
            hf_log_warn("msg=\"connection cap lowered to fit the descriptor limit\" "
                        "max_connections=%d nofile=%llu", (int)room,
                        (unsigned long long)rl.rlim_cur);
            max_conns = (int)room;
        }
    }
    const char *fault_spec = getenv("HOLDFAST_FAULTS");
    if (fault_spec && *fault_spec) {
        char why[256];
        if (!faults) {
            fprintf(stderr, "holdfast server: HOLDFAST_FAULTS is set but fault injection is off; "
                            "add --fault-injection (tests and drills only)\n");
            return 2;
        }
        if (hf_fault_check(fault_spec, why, sizeof why) != HF_OK) {
            fprintf(stderr, "holdfast server: HOLDFAST_FAULTS: %s\n", why);
            return 2;
        }
    }
    uint8_t sse_default = 0;
    if (hf_cli_sse_default(sse_default_s, &sse_default)) {
        free(domain_copy);
        return 2;
    }
    if (strlen(region) > HF_REGION_MAX) {
        free(domain_copy);
        return bad_setting(set, "region", "is too long (at most 64 characters)");
    }
    hf_cli_cluster_t ca;
    if (hf_cli_cluster_check(set, &ca)) {
        free(domain_copy);
        return 2;
    }
    if (print_config) {
        memset(ca.secret, 0, sizeof ca.secret);
        hf_settings_print(set, stdout);
        free(domain_copy);
        return 0;
    }
    /* From here on, settings take effect: files are opened and faults
     * installed. */
    int e = hf_log_access_open(access_s);
    if (e) {
        char o[1200];
        fprintf(stderr, "holdfast server: cannot open access log %s (%s): %s\n", access_s,
                hf_settings_origin(set, "access-log", o, sizeof o), hf_strerror(e));
        free(domain_copy);
        return 2;
    }
    if (fault_spec && *fault_spec) {
        hf_fault_set(fault_spec, NULL, 0);
        hf_log_warn("msg=\"fault set installed\" faults=\"%.200s\"", fault_spec);
    }
    /* Last of the checks, so nothing else can fail after it is loaded. */
    hf_tls_t *tls = NULL;
    if (hf_cli_tls_open(tls_cert, tls_key, &tls)) {
        free(domain_copy);
        return 2;
    }

    /* Signals: handled by sigwait in this thread; every thread started
     * below inherits the mask. SIGHUP reloads the TLS certificate and the
     * master key file. */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    int rc = 1;
    hf_chunk_store_t *chunks = NULL;
    hf_meta_t *meta = NULL;
    hf_server_t *s3srv = NULL, *stsrv = NULL;
    hf_s3_t *s3 = NULL;
    hf_status_t *st = NULL;
    hf_guard_t *guard = NULL;
    hf_scrub_t *scrub = NULL;
    hf_lifecycle_t *lifecycle = NULL;
    hf_keyring_t *keys = NULL;
    housekeeping_t hk = {0};
    bool hk_started = false, s3_started = false, st_started = false, iopool_started = false;

    /* Listeners first: a bad or busy address is reported before anything
     * is created on disk. The contexts are filled in once the stores open. */
    s3 = calloc(1, sizeof *s3);
    st = calloc(1, sizeof *st);
    if (!s3 || !st)
        goto out;
    hf_server_config_t sc = {
        .name = "s3",
        .listen = listen,
        .workers = workers,
        .max_conns = max_conns,
        .max_conns_per_addr = conns_per_addr,
        .min_rate = (int)min_rate,
        .report_load = true,
        .request_timeout_ms = request_timeout_s * 1000,
        .head_timeout_ms = head_ms,
        .io_timeout_ms = io_ms,
        .idle_timeout_ms = idle_ms,
        .handler = hf_s3_handle,
        .ctx = s3,
        .error_body = hf_s3_error_body,
        .tls = tls,
    };
    e = hf_server_create(&sc, &s3srv);
    if (e) {
        fprintf(stderr, "holdfast server: cannot listen on %s: %s\n", listen,
                e == HF_E_INVAL ? "expected HOST:PORT, e.g. 127.0.0.1:9000" : hf_strerror(e));
        goto out;
    }
    hf_server_config_t tc = {
        .name = "status",
        .listen = slisten,
        .workers = HF_STATUS_WORKERS,
        .max_conns = 1024,
        /* Health checks and the status page must answer while the S3
         * loops saturate the CPU: ahead of them when allowed to. */
        .thread_nice = -10,
        .handler = hf_status_handle,
        .ctx = st,
    };
    e = hf_server_create(&tc, &stsrv);
    if (e) {
        fprintf(stderr, "holdfast server: cannot listen on %s: %s\n", slisten,
                e == HF_E_INVAL ? "expected HOST:PORT, e.g. 127.0.0.1:9001" : hf_strerror(e));
        goto out;
    }
    if (mkdir(data, 0700) != 0 && errno != EEXIST) {
        fprintf(stderr, "holdfast server: cannot create data directory %s: %s\n", data,
                strerror(errno));
        goto out;
    }
    e = hf_chunk_store_open(data, &chunks);
    if (e) {
        fprintf(stderr, "holdfast server: cannot open chunk store in %s: %s\n", data,
                hf_strerror(e));
        goto out;
    }
    if (!reserve_given) {
        /* 256 MiB keeps LMDB's copy-on-write pages for a burst of deletes
         * within reach; on a small disk, a tenth of it. */
        struct statvfs sv;
        reserve = HF_RESERVE_DEFAULT;
        if (hf_vfs.statvfs(data, &sv) == 0) {
            uint64_t size = (uint64_t)sv.f_blocks * (sv.f_frsize ? sv.f_frsize : sv.f_bsize);
            if (size / 10 < reserve)
                reserve = size / 10;
        }
    }
    hf_chunk_set_reserve(chunks, reserve);
    hf_meta_config_t mc = {.on_release = on_release, .release_ctx = chunks};
    e = hf_meta_open(data, &mc, &meta);
    if (e) {
        fprintf(stderr, "holdfast server: cannot open metadata in %s/meta: %s\n", data,
                hf_strerror(e));
        goto out;
    }

    hf_load_configure(qdt_ms * 1000, 0);
    e = hf_iopool_start(io_threads);
    if (e) {
        fprintf(stderr, "holdfast server: cannot start the I/O threads: %s\n", hf_strerror(e));
        goto out;
    }
    iopool_started = true;
    if (hf_cli_sse_open(data, sse_file, meta, &keys))
        goto out;

    e = hf_guard_create(&gc, &guard);
    if (e) {
        fprintf(stderr, "holdfast server: cannot set up admission control: %s\n", hf_strerror(e));
        goto out;
    }
    hf_scrub_config_t scfg = {.rate = scrub_rate, .interval_s = scrub_interval_ms / 1000};
    if (scrub_interval_ms > 0 && scfg.interval_s == 0)
        scfg.interval_s = 1;
    e = hf_scrub_create(meta, chunks, &scfg, &scrub);
    if (e) {
        fprintf(stderr, "holdfast server: cannot start the scrubber: %s\n", hf_strerror(e));
        goto out;
    }
    e = hf_lifecycle_create(meta, guard, &lcfg, &lifecycle);
    if (e) {
        fprintf(stderr, "holdfast server: cannot start the lifecycle worker: %s\n", hf_strerror(e));
        goto out;
    }
    hf_s3_init(s3, meta, chunks, region);
    s3->guard = guard;
    s3->sigv2_off = strcmp(sigv2_s, "off") == 0;
    for (int i = 0; i < ndomains; i++)
        hf_s3_add_domain(s3, domains[i]); /* checked above */
    s3->new_bucket_flags = new_bucket_flags;
    s3->done_window_ns = done_ms * 1000000;
    s3->keys = keys;
    s3->sse_default = sse_default;
    hf_status_init(st, meta, region);
    st->chunks = chunks;
    st->scrub = scrub;
    st->lifecycle = lifecycle;
    st->faults_enabled = faults;
    st->s3 = s3;
    st->keys = keys;
    st->s3srv = s3srv;
    st->guard = guard;
    snprintf(st->data_dir, sizeof st->data_dir, "%s", data);
    if (faults)
        hf_log_warn("msg=\"fault injection is enabled: for tests and drills only\"");
    char s3addr[300], staddr[300], s3url[310];
    reachable(listen, hf_server_port(s3srv), s3addr, sizeof s3addr);
    reachable(slisten, hf_server_port(stsrv), staddr, sizeof staddr);
    snprintf(s3url, sizeof s3url, "%s://%s", tls ? "https" : "http", s3addr);
    if (ca.url) {
        /* In a cluster the root user, like every user, is the cluster's. */
        int crc = hf_cli_cluster_open(&ca, meta, data, s3addr, staddr, region, s3url, s3, st,
                                      hf_server_loops(s3srv));
        if (crc) {
            rc = crc;
            goto out;
        }
    } else if (ensure_root(meta, data, s3url)) {
        goto out;
    }
    e = hf_server_start(stsrv);
    if (e == HF_OK) {
        st_started = true;
        e = hf_server_start(s3srv);
        s3_started = e == HF_OK;
    }
    if (e) {
        fprintf(stderr, "holdfast server: cannot start: %s\n", hf_strerror(e));
        goto out;
    }
    atomic_store(&st->s3_ready, 1);
    if (hf_status_sampler_start(st) != 0)
        hf_log_warn("msg=\"cannot start the status sampler: disk and process numbers will be "
                    "missing\"");

    hk.meta = meta;
    hk.chunks = chunks;
    hk.sweep_budget = hf_guard_bg_register(guard, "orphan_sweep", ORPHAN_SWEEP_RATE,
                                           ORPHAN_SWEEP_BURST);
    hk.scrub = scrub;
    hk.lifecycle = lifecycle;
    pthread_mutex_init(&hk.mu, NULL);
    pthread_cond_init(&hk.cv, NULL);
    if (pthread_create(&hk.th, NULL, housekeeping_main, &hk) == 0) {
        hk_started = true;
        pthread_setname_np(hk.th, "housekeeping");
    }

    printf("holdfast: serving S3 on %s (listen %s, data %s, region %s)\n", s3url, listen,
           data, region);
    for (int i = 0; i < s3->ndomains; i++)
        printf("holdfast: virtual-hosted buckets at BUCKET.%s\n", s3->domains[i]);
    if (s3->sigv2_off)
        printf("holdfast: Signature Version 2 is refused (--sigv2 off)\n");
    printf("holdfast: health and admin on http://%s (listen %s)\n", staddr, slisten);
    fflush(stdout);
    hf_log_info("msg=started s3=%s status=%s data=%s workers=%d io_threads=%d max_inflight=%d "
                "per_key=%d admit_queue=%d admit_queue_timeout_ms=%d queue_delay_target_ms=%lld "
                "max_connections=%d max_conns_per_address=%d request_timeout_s=%d reserve=%llu "
                "scrub_rate=%llu scrub_interval_s=%lld",
                listen, slisten, data, workers, io_threads, gc.max_inflight, gc.per_key_max,
                gc.queue_max, gc.queue_timeout_ms, (long long)qdt_ms, max_conns, conns_per_addr,
                request_timeout_s, (unsigned long long)reserve, (unsigned long long)scrub_rate,
                (long long)scfg.interval_s);

    int sig = 0;
    while (sigwait(&sigs, &sig) == 0 && sig == SIGHUP) {
        hf_cli_tls_reload(tls);
        hf_cli_sse_reload(keys, meta);
    }
    hf_log_info("msg=\"stopping\" signal=%d", sig);
    atomic_store(&st->s3_ready, 0);
    rc = 0;
out:
    if (ca.cluster)
        hf_cli_cluster_stop_peers(&ca);
    if (s3_started)
        hf_server_stop(s3srv, 10000);
    if (st_started)
        hf_server_stop(stsrv, 1000);
    if (hk_started) {
        atomic_store(&hk.stop_flag, 1);
        pthread_mutex_lock(&hk.mu);
        hk.stop = true;
        pthread_cond_signal(&hk.cv);
        pthread_mutex_unlock(&hk.mu);
        pthread_join(hk.th, NULL);
    }
    if (st)
        hf_status_sampler_stop(st);
    /* After the listeners: nothing asks it for a change any more. */
    if (ca.cluster)
        hf_cli_cluster_close(&ca);
    if (iopool_started)
        hf_iopool_stop();
    hf_server_destroy(s3srv);
    hf_server_destroy(stsrv);
    hf_tls_destroy(tls); /* after the server: its connections used it */
    hf_guard_destroy(guard);
    hf_scrub_destroy(scrub);
    hf_lifecycle_destroy(lifecycle);
    if (meta)
        hf_meta_close(meta);
    if (chunks)
        hf_chunk_store_close(chunks);
    hf_keyring_close(keys); /* after the servers: requests used it */
    free(s3);
    if (st && st->meta)
        hf_status_fini(st);
    free(st);
    free(domain_copy);
    if (rc == 0)
        hf_log_info("msg=stopped");
    hf_log_access_close();
    return rc;
}
