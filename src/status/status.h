/*
 * status.h -- the status listener's handler: health checks and the admin
 * API (users). It runs on its own small server instance (own threads, own
 * port), so it answers while the S3 listener is saturated.
 *
 * Endpoints:
 *   GET    /                       the status page (HTML, refreshes itself)
 *   GET    /metrics                Prometheus text exposition (status/metrics.c)
 *   GET    /health/live            200 while the process runs (touches nothing)
 *   GET    /health/ready           200 when the S3 listener is serving and both
 *                                  stores accept writes, else 503 with the reason
 *                                  (a store refusing writes after an I/O error)
 *   GET    /admin/v1/users         list users (JSON, no secrets)
 *   POST   /admin/v1/users         create: {"name", "access_key"?, "secret_key"?,
 *                                  "create_bucket"?} (the answer holds the secret)
 *   GET    /admin/v1/users/NAME    one user, with its keys (no secrets)
 *   DELETE /admin/v1/users/NAME    delete
 *   POST   /admin/v1/users/NAME/disable | /enable
 *                                  refuse / accept the user's keys from the next
 *                                  request on (not the root user)
 *   PUT    /admin/v1/users/NAME/permissions  {"create_bucket": bool}
 *   GET    /admin/v1/users/NAME/keys         the user's keys and their states
 *   POST   /admin/v1/users/NAME/keys         rotate: {"grace_ms"?} (default a day);
 *                                  the answer holds the new secret
 *   DELETE /admin/v1/users/NAME/keys/KEY     end a retiring key's grace now
 *   GET    /admin/v1/audit?since=T&from=N    audit log records (status/audit.h)
 *   GET    /admin/v1/status        the status page's content as JSON (what
 *                                  `holdfast admin status` prints)
 *   GET|PUT|DELETE /admin/v1/faults  show, install (body: a fault set, see
 *                                  base/fault.h) or clear injected faults;
 *                                  403 unless faults_enabled
 *   GET    /admin/v1/store         state of the stores (failed or not, why),
 *                                  free space and the reserve
 *   POST   /admin/v1/store/reopen  verified reopen of the chunk store
 *                                  (hf_chunk_store_recover)
 *   GET    /admin/v1/scrub         scrub progress, counters, damaged objects
 *   POST   /admin/v1/scrub         start a scrub pass (body: {"rate": N} or empty)
 *   GET    /admin/v1/sse           the SSE-S3 master keys: file, active id, ids and
 *                                  fingerprints (never key material), the default
 *   POST   /admin/v1/sse/rotate    a new master key, written to the key file and
 *                                  made active (409 at the most keys a file holds)
 *   GET    /admin/v1/cluster       in a cluster: the layout generation served and
 *                                  in etcd, etcd's reachability, refusals, and
 *                                  every node as this node sees it (`holdfast
 *                                  admin nodes`); 404 on a single node
 * Admin calls are SigV4-signed with the root user's key. They run
 * concurrently: reads never wait; changes are each one atomic store
 * operation. A call that waits (a metadata commit, the audit log's fsync)
 * parks its fiber and holds no status loop, so health checks are answered
 * whatever the changes wait on; at most HF_STATUS_ADMIN_WRITES_MAX changes
 * run at once (a change beyond answers 503 Busy with Retry-After, which
 * the admin CLI retries), which bounds what a wedged store accumulates. Every authenticated call that is not a
 * GET is recorded in the audit log (status/audit.h) after it is answered,
 * with its outcome; the admin CLI's x-holdfast-local-user header names
 * the local account that ran it.
 *
 * The page, /metrics and health read only process-local state: atomics
 * and lock-free snapshots of the other modules' counters, and what the
 * sampler thread measured. None of them takes a lock the data path can
 * hold or makes a system call that touches the data disk, so they answer
 * while storage is wedged and the S3 listener is saturated.
 *
 * Ownership: borrows meta; hf_status_t lives as long as the status server.
 * Threads: handler runs on the status server's workers.
 */
#ifndef HF_STATUS_STATUS_H
#define HF_STATUS_STATUS_H

#include "base/limits.h"
#include "chunk/store.h"
#include "cluster/control.h"
#include "peer/peer.h"
#include "guard/guard.h"
#include "meta/meta.h"
#include "net/server.h"
#include "s3/lifecycle.h"
#include "s3/s3.h"
#include "scrub/scrub.h"
#include "sse/keyring.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

/* Seconds of per-second samples the sampler keeps for rates. */
#define HF_STATUS_RATE_WINDOW 60

/* What the sampler thread measured last (status/sample.c). Everything the
 * status listener shows that needs a system call touching the data disk
 * (statvfs) or a scan (/proc/self/fd) is measured here, once a second, on
 * the sampler's own thread: if the disk hangs, the sampler hangs and the
 * page says the sample is stale, but the listener itself never blocks. */
typedef struct hf_status_sample {
    _Atomic int64_t at_ms;          /* monotonic time of the last complete sample; 0: none */
    _Atomic uint64_t disk_total, disk_free, disk_avail; /* bytes, of the data directory's fs */
    _Atomic int64_t disk_at_ms;     /* when statvfs last returned */
    _Atomic int64_t threads, open_fds, max_fds, rss_bytes;
    /* Rates over the last 10 s, in thousandths per second. */
    _Atomic int64_t req_rate_m, err5_rate_m, err4_rate_m, shed_rate_m, in_rate_m, out_rate_m;
    _Atomic int64_t last_progress_ms; /* last time a request finished (or nothing was in flight) */
} hf_status_sample_t;

typedef struct hf_status {
    hf_meta_t *meta;
    hf_chunk_store_t *chunks; /* may be NULL (then not reported) */
    hf_scrub_t *scrub;        /* may be NULL (no scrub endpoints) */
    hf_lifecycle_t *lifecycle;/* may be NULL */
    /* In a cluster (may be NULL): users and keys are changed through it
     * (etcd first), and the page, /metrics and GET /admin/v1/cluster show
     * what it publishes (never waiting on etcd). */
    hf_cluster_t *cluster;
    /* In a cluster: the node-to-node transport, whose links the page,
     * /metrics and GET /admin/v1/cluster show per peer (may be NULL). */
    hf_peer_net_t *peers;
    char region[HF_REGION_MAX + 1];
    _Atomic int s3_ready;     /* set once the S3 listener is serving */
    _Atomic int admin_writes; /* admin changes running (status.c) */
    _Atomic uint64_t admin_busy_total; /* changes answered 503 Busy over the bound */
    /* Held while root-credentials is rewritten after a root key rotation,
     * so concurrent rotations leave the file naming the active key. */
    pthread_mutex_t root_cred_mu;
    int64_t started_ns;
    bool faults_enabled;      /* the server was started with --fault-injection */
    /* What the page and /metrics read (borrowed; set before serving, any
     * may be NULL). Only their lock-free stats functions are called. */
    hf_s3_t *s3;
    hf_server_t *s3srv;
    hf_guard_t *guard;
    hf_keyring_t *keys;       /* SSE-S3 master keys (rotation); may be NULL */
    char data_dir[1024];
    /* The sampler thread. */
    hf_status_sample_t sample;
    pthread_t sampler;
    _Atomic int sampler_stop;
    bool sampler_started;
} hf_status_t;

/* Event-loop threads of the status listener: two, so that one busy with a
 * large page or /metrics never delays a health check behind it. Admin
 * changes park while they wait and hold neither (net/server.h). */
#define HF_STATUS_WORKERS 2
/* Admin changes running at once: operators' scripts and the CLI, never
 * many; the cap bounds what piles up behind a wedged store (a change
 * beyond it is answered Busy, which the CLI retries). */
#define HF_STATUS_ADMIN_WRITES_MAX 4

void hf_status_init(hf_status_t *st, hf_meta_t *meta, const char *region);
/* Release what hf_status_init set up (after the status server stopped). */
void hf_status_fini(hf_status_t *st);
void hf_status_handle(void *ctx, hf_req_t *r);

/* Start and stop the sampler thread (one fixed thread, 1 Hz). Errors:
 * negative errno from pthread_create. */
int hf_status_sampler_start(hf_status_t *st);
void hf_status_sampler_stop(hf_status_t *st);

/* Generate an access key (20 upper-case letters and digits, starting
 * "HF") and a secret (40 letters and digits) from the kernel's random
 * source. Buffers: HF_ACCESS_KEY_MAX+1 and HF_SECRET_KEY_MAX+1. */
int hf_status_gen_keys(char *access_key, char *secret_key);

/* Validate user-supplied names and keys: what the admin API and the CLI
 * accept. Return NULL if fine, else a message saying what is wrong. */
const char *hf_status_check_user_name(const char *name);
const char *hf_status_check_access_key(const char *key);
const char *hf_status_check_secret_key(const char *key);

/* The file in the data directory that holds the root key, and writing it
 * (mode 0600, replaced atomically: temporary file, fsync, rename, fsync of
 * the directory). Used at the data directory's creation and when the root
 * key is rotated. HF_OK or a negative errno. */
#define HF_STATUS_ROOT_CREDENTIALS_FILE "root-credentials"
int hf_status_write_root_credentials(const char *data_dir, const char *access_key,
                                     const char *secret_key);

#endif
