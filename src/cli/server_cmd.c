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
 * started here and has a fixed count (S3 workers, status workers, the
 * metadata writer, one housekeeping thread).
 */
#include "cli/cli.h"

#include "base/err.h"
#include "base/fault.h"
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
            "  --data DIR             data directory (env HOLDFAST_DATA, default ./data)\n"
            "  --listen HOST:PORT     S3 listener (env HOLDFAST_LISTEN, default 127.0.0.1:9000)\n"
            "  --status-listen H:P    health/admin listener (env HOLDFAST_STATUS_LISTEN,\n"
            "                         default 127.0.0.1:9001)\n"
            "  --region NAME          region in SigV4 scopes (env HOLDFAST_REGION, default us-east-1)\n"
            "  --workers N            S3 worker threads (env HOLDFAST_WORKERS, default %d)\n"
            "  --log-level LEVEL      error|warn|info|debug (env HOLDFAST_LOG_LEVEL, default info)\n"
            "  --access-log DEST      one line per request: '-' stderr (default), a file path, or\n"
            "                         'off' (env HOLDFAST_ACCESS_LOG)\n"
            "  --tls-cert FILE        serve S3 over HTTPS with this PEM certificate chain (leaf\n"
            "                         first, then intermediates; env HOLDFAST_TLS_CERT)\n"
            "  --tls-key FILE         ...and this unencrypted PEM private key (env\n"
            "                         HOLDFAST_TLS_KEY); give both or neither. SIGHUP rereads\n"
            "                         both files without dropping connections\n"
            "  --sse-master-key-file FILE  the SSE-S3 master keys (env\n"
            "                         HOLDFAST_SSE_MASTER_KEY_FILE, default DIR/sse-master.key,\n"
            "                         generated at first start); keep it off the data disk.\n"
            "                         SIGHUP rereads it for keys added by hand\n"
            "  --sse-default AES256|none  what a bucket without a default encryption\n"
            "                         configuration gets (env HOLDFAST_SSE_DEFAULT, default\n"
            "                         AES256: SSE-S3, as S3 encrypts every new object)\n"
            "\n"
            "Admission control (docs/operations.md#admission):\n"
            "  --max-inflight N       requests running at once (env HOLDFAST_MAX_INFLIGHT,\n"
            "                         default workers - workers/4)\n"
            "  --max-inflight-per-key N  of those, per access key (env HOLDFAST_MAX_INFLIGHT_PER_KEY,\n"
            "                         default --max-inflight - max(2, --max-inflight/6))\n"
            "  --admit-queue N        requests that may wait for a slot (env HOLDFAST_ADMIT_QUEUE,\n"
            "                         default workers - max-inflight - 1)\n"
            "  --admit-queue-timeout MS  longest wait before 503 SlowDown (env\n"
            "                         HOLDFAST_ADMIT_QUEUE_TIMEOUT, default %d)\n"
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
            "                         %d bytes/s or more on average (env HOLDFAST_IO_TIMEOUT,\n"
            "                         default 30s)\n"
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
            "SIZE is bytes with an optional K, M, G or T (powers of 1024, e.g. 512MiB);\n"
            "DUR is seconds with an optional ms, s, m, h or d.\n"
            "\n"
            "The root key is set from HOLDFAST_ACCESS_KEY / HOLDFAST_SECRET_KEY when the data\n"
            "directory is first created; otherwise it is generated, printed once and stored in\n"
            "DIR/" HF_ROOT_CREDENTIALS_FILE " (mode 0600).\n",
            HF_WORKERS_DEFAULT, HF_ADMIT_QUEUE_TIMEOUT_MS, HF_REQUEST_TIMEOUT_MS / 1000,
            HF_IO_MIN_RATE, HF_CONN_MAX_DEFAULT);
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

/* A timeout setting: 1 ms to 1 day. */
static int timeout_setting(const char *flag, const char *v, int *out)
{
    int64_t ms;
    if (!v)
        return 0;
    if (parse_duration_ms(v, &ms) || ms < 1 || ms > 86400 * 1000) {
        fprintf(stderr, "holdfast server: %s must be a duration from 1ms to 1d (e.g. 30s)\n", flag);
        return -1;
    }
    *out = (int)ms;
    return 0;
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

/* An integer setting from a flag or an environment variable, within
 * [lo, hi]. Unset leaves *out alone. Returns 0, or 2 after saying what is
 * wrong. */
static int int_setting(const char *flag, const char *value, const char *env, long lo, long hi,
                       int *out)
{
    value = hf_cli_setting(value, env, NULL);
    if (!value)
        return 0;
    char *end;
    errno = 0;
    long v = strtol(value, &end, 10);
    if (errno || end == value || *end || v < lo || v > hi) {
        fprintf(stderr, "holdfast server: %s (or %s) must be a number from %ld to %ld\n", flag, env,
                lo, hi);
        return 2;
    }
    *out = (int)v;
    return 0;
}

int hf_cli_server(int argc, char **argv)
{
    static const struct option opts[] = {
        {"data", required_argument, NULL, 'd'},
        {"listen", required_argument, NULL, 'l'},
        {"status-listen", required_argument, NULL, 's'},
        {"region", required_argument, NULL, 'r'},
        {"workers", required_argument, NULL, 'w'},
        {"log-level", required_argument, NULL, 'v'},
        {"fault-injection", no_argument, NULL, 'F'},
        {"access-log", required_argument, NULL, 'A'},
        {"max-inflight", required_argument, NULL, 'M'},
        {"max-inflight-per-key", required_argument, NULL, 'K'},
        {"admit-queue", required_argument, NULL, 'Q'},
        {"admit-queue-timeout", required_argument, NULL, 'T'},
        {"request-timeout", required_argument, NULL, 'R'},
        {"reserve", required_argument, NULL, 'E'},
        {"scrub-rate", required_argument, NULL, 'S'},
        {"scrub-interval", required_argument, NULL, 'I'},
        {"head-timeout", required_argument, NULL, 'H'},
        {"io-timeout", required_argument, NULL, 'O'},
        {"idle-timeout", required_argument, NULL, 'D'},
        {"max-connections", required_argument, NULL, 'C'},
        {"lifecycle-day-seconds", required_argument, NULL, 'Y'},
        {"lifecycle-interval", required_argument, NULL, 'L'},
        {"lifecycle-rate", required_argument, NULL, 'P'},
        {"tls-cert", required_argument, NULL, 'c'},
        {"tls-key", required_argument, NULL, 'k'},
        {"sse-master-key-file", required_argument, NULL, 'X'},
        {"sse-default", required_argument, NULL, 'Z'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *data = NULL, *listen = NULL, *slisten = NULL, *region = NULL, *workers_s = NULL,
               *level_s = NULL, *access_s = NULL, *maxin_s = NULL, *perkey_s = NULL,
               *queue_s = NULL, *qtimeout_s = NULL, *reqto_s = NULL, *reserve_s = NULL,
               *srate_s = NULL, *sint_s = NULL, *head_s = NULL, *io_s = NULL, *idle_s = NULL,
               *maxc_s = NULL, *lday_s = NULL, *lint_s = NULL, *lrate_s = NULL,
               *tls_cert = NULL, *tls_key = NULL, *sse_file = NULL, *sse_default_s = NULL;
    bool faults = false;
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'd': data = optarg; break;
        case 'l': listen = optarg; break;
        case 's': slisten = optarg; break;
        case 'r': region = optarg; break;
        case 'w': workers_s = optarg; break;
        case 'v': level_s = optarg; break;
        case 'F': faults = true; break;
        case 'A': access_s = optarg; break;
        case 'M': maxin_s = optarg; break;
        case 'K': perkey_s = optarg; break;
        case 'Q': queue_s = optarg; break;
        case 'T': qtimeout_s = optarg; break;
        case 'R': reqto_s = optarg; break;
        case 'E': reserve_s = optarg; break;
        case 'S': srate_s = optarg; break;
        case 'I': sint_s = optarg; break;
        case 'H': head_s = optarg; break;
        case 'O': io_s = optarg; break;
        case 'D': idle_s = optarg; break;
        case 'C': maxc_s = optarg; break;
        case 'Y': lday_s = optarg; break;
        case 'L': lint_s = optarg; break;
        case 'P': lrate_s = optarg; break;
        case 'c': tls_cert = optarg; break;
        case 'k': tls_key = optarg; break;
        case 'X': sse_file = optarg; break;
        case 'Z': sse_default_s = optarg; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "holdfast server: unexpected argument '%s'\n", argv[optind]);
        usage(stderr);
        return 2;
    }
    data = hf_cli_setting(data, "HOLDFAST_DATA", "./data");
    listen = hf_cli_setting(listen, "HOLDFAST_LISTEN", "127.0.0.1:9000");
    slisten = hf_cli_setting(slisten, "HOLDFAST_STATUS_LISTEN", "127.0.0.1:9001");
    region = hf_cli_setting(region, "HOLDFAST_REGION", "us-east-1");
    workers_s = hf_cli_setting(workers_s, "HOLDFAST_WORKERS", NULL);
    level_s = hf_cli_setting(level_s, "HOLDFAST_LOG_LEVEL", "info");
    int level = hf_log_parse_level(level_s);
    if (level < 0) {
        fprintf(stderr, "holdfast server: --log-level must be error, warn, info or debug\n");
        return 2;
    }
    hf_log_set_level(level);
    int workers = HF_WORKERS_DEFAULT;
    if (workers_s) {
        char *end;
        long w = strtol(workers_s, &end, 10);
        if (*end || w < 1 || w > HF_WORKERS_MAX) {
            fprintf(stderr, "holdfast server: --workers must be 1 to %d\n", HF_WORKERS_MAX);
            return 2;
        }
        workers = (int)w;
    }
    hf_guard_config_t gc = {.queue_max = -1};
    int request_timeout_s = HF_REQUEST_TIMEOUT_MS / 1000;
    if (int_setting("--max-inflight", maxin_s, "HOLDFAST_MAX_INFLIGHT", 1, HF_WORKERS_MAX,
                    &gc.max_inflight) ||
        int_setting("--max-inflight-per-key", perkey_s, "HOLDFAST_MAX_INFLIGHT_PER_KEY", 1,
                    HF_WORKERS_MAX, &gc.per_key_max) ||
        int_setting("--admit-queue", queue_s, "HOLDFAST_ADMIT_QUEUE", 0, HF_WORKERS_MAX,
                    &gc.queue_max) ||
        int_setting("--admit-queue-timeout", qtimeout_s, "HOLDFAST_ADMIT_QUEUE_TIMEOUT", 1,
                    HF_ADMIT_QUEUE_TIMEOUT_MAX_MS, &gc.queue_timeout_ms) ||
        int_setting("--request-timeout", reqto_s, "HOLDFAST_REQUEST_TIMEOUT", 1,
                    HF_REQUEST_TIMEOUT_MAX_MS / 1000, &request_timeout_s))
        return 2;
    hf_guard_defaults(&gc, workers);
    const char *gwhy = hf_guard_check(&gc, workers);
    if (gwhy) {
        fprintf(stderr, "holdfast server: %s (workers %d, max-inflight %d, admit-queue %d)\n", gwhy,
                workers, gc.max_inflight, gc.queue_max);
        return 2;
    }
    access_s = hf_cli_setting(access_s, "HOLDFAST_ACCESS_LOG", "-");
    int e = hf_log_access_open(access_s);
    if (e) {
        fprintf(stderr, "holdfast server: cannot open access log %s: %s\n", access_s,
                hf_strerror(e));
        return 2;
    }

    reserve_s = hf_cli_setting(reserve_s, "HOLDFAST_RESERVE", NULL);
    srate_s = hf_cli_setting(srate_s, "HOLDFAST_SCRUB_RATE", NULL);
    sint_s = hf_cli_setting(sint_s, "HOLDFAST_SCRUB_INTERVAL", "7d");
    head_s = hf_cli_setting(head_s, "HOLDFAST_HEAD_TIMEOUT", NULL);
    io_s = hf_cli_setting(io_s, "HOLDFAST_IO_TIMEOUT", NULL);
    idle_s = hf_cli_setting(idle_s, "HOLDFAST_IDLE_TIMEOUT", NULL);
    maxc_s = hf_cli_setting(maxc_s, "HOLDFAST_MAX_CONNECTIONS", NULL);
    uint64_t reserve = 0, scrub_rate = HF_SCRUB_RATE_DEFAULT;
    int64_t scrub_interval_ms = 0;
    bool reserve_given = reserve_s != NULL;
    if (reserve_s && parse_size(reserve_s, &reserve)) {
        fprintf(stderr, "holdfast server: --reserve must be a size, e.g. 256MiB or 0\n");
        return 2;
    }
    if (srate_s && (parse_size(srate_s, &scrub_rate) || scrub_rate < 1024)) {
        fprintf(stderr, "holdfast server: --scrub-rate must be a size per second of at least 1KiB\n");
        return 2;
    }
    if (parse_duration_ms(sint_s, &scrub_interval_ms)) {
        fprintf(stderr, "holdfast server: --scrub-interval must be a duration (e.g. 7d) or 0\n");
        return 2;
    }
    hf_lifecycle_config_t lcfg = {.day_seconds = HF_LIFECYCLE_DAY_DEFAULT_S,
                                  .rate = HF_LIFECYCLE_RATE_DEFAULT};
    int lday = 0, lrate = 0;
    int64_t lint_ms = 0;
    if (int_setting("--lifecycle-day-seconds", lday_s, "HOLDFAST_LIFECYCLE_DAY_SECONDS", 1,
                    HF_LIFECYCLE_DAY_DEFAULT_S, &lday) ||
        int_setting("--lifecycle-rate", lrate_s, "HOLDFAST_LIFECYCLE_RATE", 1, 1000000, &lrate))
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
    lint_s = hf_cli_setting(lint_s, "HOLDFAST_LIFECYCLE_INTERVAL", NULL);
    if (lint_s) {
        if (parse_duration_ms(lint_s, &lint_ms) || lint_ms < 1000) {
            fprintf(stderr, "holdfast server: --lifecycle-interval must be a duration of at least 1s\n");
            return 2;
        }
        lcfg.interval_s = lint_ms / 1000;
    }
    int head_ms = 0, io_ms = 0, idle_ms = 0, max_conns = HF_CONN_MAX_DEFAULT;
    if (timeout_setting("--head-timeout", head_s, &head_ms) ||
        timeout_setting("--io-timeout", io_s, &io_ms) ||
        timeout_setting("--idle-timeout", idle_s, &idle_ms))
        return 2;
    if (maxc_s) {
        char *end;
        long v = strtol(maxc_s, &end, 10);
        if (*end || v < 1 || v > HF_CONN_MAX_LIMIT) {
            fprintf(stderr, "holdfast server: --max-connections must be 1 to %d\n", HF_CONN_MAX_LIMIT);
            return 2;
        }
        max_conns = (int)v;
    }
    const char *fi = getenv("HOLDFAST_FAULT_INJECTION");
    if (fi && strcmp(fi, "1") == 0)
        faults = true;
    const char *fault_spec = getenv("HOLDFAST_FAULTS");
    if (fault_spec && *fault_spec) {
        char why[256];
        if (!faults) {
            fprintf(stderr, "holdfast server: HOLDFAST_FAULTS is set but fault injection is off; "
                            "add --fault-injection (tests and drills only)\n");
            return 2;
        }
        if (hf_fault_set(fault_spec, why, sizeof why) != HF_OK) {
            fprintf(stderr, "holdfast server: HOLDFAST_FAULTS: %s\n", why);
            return 2;
        }
        hf_log_warn("msg=\"fault set installed\" faults=\"%.200s\"", fault_spec);
    }
    uint8_t sse_default = 0;
    if (hf_cli_sse_default(sse_default_s, &sse_default))
        return 2;
    if (strlen(region) > HF_REGION_MAX) {
        fprintf(stderr, "holdfast server: --region is too long\n");
        return 2;
    }
    /* Last of the checks, so nothing else can fail after it is loaded. */
    hf_tls_t *tls = NULL;
    if (hf_cli_tls_open(tls_cert, tls_key, &tls))
        return 2;

    /* Signals: handled by sigwait in this thread; every thread started
     * below inherits the mask. SIGHUP reloads the TLS certificate and the
     * master key file. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
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
    bool hk_started = false, s3_started = false, st_started = false;

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
        .workers = 2,
        .max_conns = 1024,
        /* Health checks and the status page must answer while the S3
         * workers saturate the CPU: ahead of them when allowed to. */
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
    if (ensure_root(meta, data, s3url))
        goto out;
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
    printf("holdfast: health and admin on http://%s (listen %s)\n", staddr, slisten);
    fflush(stdout);
    hf_log_info("msg=started s3=%s status=%s data=%s workers=%d max_inflight=%d per_key=%d "
                "admit_queue=%d admit_queue_timeout_ms=%d request_timeout_s=%d reserve=%llu "
                "scrub_rate=%llu scrub_interval_s=%lld",
                listen, slisten, data, workers, gc.max_inflight, gc.per_key_max, gc.queue_max,
                gc.queue_timeout_ms, request_timeout_s, (unsigned long long)reserve,
                (unsigned long long)scrub_rate, (long long)scfg.interval_s);

    int sig = 0;
    while (sigwait(&set, &sig) == 0 && sig == SIGHUP) {
        hf_cli_tls_reload(tls);
        hf_cli_sse_reload(keys, meta);
    }
    hf_log_info("msg=\"stopping\" signal=%d", sig);
    atomic_store(&st->s3_ready, 0);
    rc = 0;
out:
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
    free(st);
    if (rc == 0)
        hf_log_info("msg=stopped");
    hf_log_access_close();
    return rc;
}
