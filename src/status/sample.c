/*
 * sample.c -- the sampler thread and the snapshot every view is built from.
 *
 * The sampler wakes once a second and measures what is not a counter: the
 * data directory's free space (statvfs, through the syscall seam so drills
 * can make it hang), threads, RSS and open fds from /proc, and the rates of
 * requests, errors, shedding and bytes over the last ten seconds (from a
 * ring of per-second counter readings). It writes only atomics in
 * hf_status_sample_t. statvfs comes last, so a hung disk leaves the process
 * numbers and rates fresh and only the disk numbers stale.
 *
 * status_snap_take copies every module's lock-free stats and the sample
 * into one struct, and decides the node's state from them.
 */
#include "status/internal.h"

#include "base/err.h"
#include "base/fault.h"
#include "base/time.h"
#include "base/vfs.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#define RATE_SPAN_S 10
#define SAMPLE_EVERY_MS 1000
#define STOP_STEP_MS 100

typedef struct reading {
    int64_t at_ms;
    uint64_t req, err5, err4, shed, in, out;
} reading_t;

static uint64_t shed_total(hf_status_t *st)
{
    uint64_t n = 0;
    if (st->guard) {
        hf_guard_stats_t g;
        hf_guard_stats(st->guard, &g);
        for (int i = 0; i < HF_GUARD_SHED_REASONS; i++)
            n += g.shed[i];
    }
    if (st->s3srv) {
        hf_server_stats_t s;
        hf_server_stats(st->s3srv, &s);
        n += s.conns_refused;
    }
    return n;
}

static void read_counters(hf_status_t *st, reading_t *r)
{
    memset(r, 0, sizeof *r);
    r->at_ms = hf_mono_ms();
    if (st->s3) {
        r->req = atomic_load(&st->s3->requests);
        r->err5 = atomic_load(&st->s3->errors_5xx);
        r->err4 = atomic_load(&st->s3->errors_4xx);
    }
    if (st->s3srv) {
        hf_server_stats_t s;
        hf_server_stats(st->s3srv, &s);
        r->in = s.bytes_in;
        r->out = s.bytes_out;
    }
    r->shed = shed_total(st);
}

static int64_t rate_m(uint64_t now, uint64_t then, int64_t dt_ms)
{
    if (dt_ms <= 0 || now < then)
        return 0;
    return (int64_t)((double)(now - then) * 1e6 / (double)dt_ms);
}

static void read_proc(hf_status_sample_t *sm)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (f) {
        char line[256];
        while (fgets(line, sizeof line, f)) {
            long long v;
            if (sscanf(line, "Threads: %lld", &v) == 1)
                atomic_store(&sm->threads, v);
            else if (sscanf(line, "VmRSS: %lld kB", &v) == 1)
                atomic_store(&sm->rss_bytes, v * 1024);
        }
        fclose(f);
    }
    DIR *d = opendir("/proc/self/fd");
    if (d) {
        int64_t n = 0;
        struct dirent *e;
        while ((e = readdir(d)) != NULL)
            if (e->d_name[0] != '.')
                n++;
        closedir(d);
        atomic_store(&sm->open_fds, n - 1); /* the directory stream's own fd */
    }
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
        atomic_store(&sm->max_fds, rl.rlim_cur == RLIM_INFINITY ? -1 : (int64_t)rl.rlim_cur);
}

/* Admitted requests that have finished: with some in flight and this
 * number not moving, the data path is stuck. */
static uint64_t finished(hf_status_t *st, int64_t *inflight)
{
    if (st->guard) {
        hf_guard_stats_t g;
        hf_guard_stats(st->guard, &g);
        *inflight = g.inflight;
        return g.admitted - (uint64_t)g.inflight;
    }
    *inflight = 0;
    return 0;
}

static void sleep_ms(int64_t ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static void *sampler_main(void *arg)
{
    hf_status_t *st = arg;
    hf_status_sample_t *sm = &st->sample;
    reading_t ring[HF_STATUS_RATE_WINDOW + 1];
    size_t n = 0;
    uint64_t last_done = 0;
    atomic_store(&sm->last_progress_ms, hf_mono_ms());
    while (!atomic_load(&st->sampler_stop)) {
        reading_t *r = &ring[n % (HF_STATUS_RATE_WINDOW + 1)];
        read_counters(st, r);
        size_t back = n < RATE_SPAN_S ? n : RATE_SPAN_S;
        const reading_t *o = &ring[(n - back) % (HF_STATUS_RATE_WINDOW + 1)];
        int64_t dt = r->at_ms - o->at_ms;
        atomic_store(&sm->req_rate_m, rate_m(r->req, o->req, dt));
        atomic_store(&sm->err5_rate_m, rate_m(r->err5, o->err5, dt));
        atomic_store(&sm->err4_rate_m, rate_m(r->err4, o->err4, dt));
        atomic_store(&sm->shed_rate_m, rate_m(r->shed, o->shed, dt));
        atomic_store(&sm->in_rate_m, rate_m(r->in, o->in, dt));
        atomic_store(&sm->out_rate_m, rate_m(r->out, o->out, dt));
        n++;
        int64_t inflight;
        uint64_t done = finished(st, &inflight);
        if (done != last_done || inflight == 0)
            atomic_store(&sm->last_progress_ms, r->at_ms);
        last_done = done;
        read_proc(sm);
        atomic_store(&sm->at_ms, hf_mono_ms());
        if (st->data_dir[0]) {
            struct statvfs sv;
            if (hf_vfs.statvfs(st->data_dir, &sv) == 0) {
                atomic_store(&sm->disk_total, (uint64_t)sv.f_blocks * sv.f_frsize);
                atomic_store(&sm->disk_free, (uint64_t)sv.f_bfree * sv.f_frsize);
                atomic_store(&sm->disk_avail, (uint64_t)sv.f_bavail * sv.f_frsize);
                atomic_store(&sm->disk_at_ms, hf_mono_ms());
            }
        }
        for (int64_t slept = 0; slept < SAMPLE_EVERY_MS && !atomic_load(&st->sampler_stop);
             slept += STOP_STEP_MS)
            sleep_ms(STOP_STEP_MS);
    }
    return NULL;
}

int hf_status_sampler_start(hf_status_t *st)
{
    atomic_store(&st->sampler_stop, 0);
    int e = pthread_create(&st->sampler, NULL, sampler_main, st);
    if (e)
        return -e;
    pthread_setname_np(st->sampler, "sampler");
    st->sampler_started = true;
    return 0;
}

void hf_status_sampler_stop(hf_status_t *st)
{
    if (!st->sampler_started)
        return;
    atomic_store(&st->sampler_stop, 1);
    /* A sampler stuck in statvfs on a hung disk cannot be joined; it holds
     * nothing but its stack, so it is left to end with the process. */
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += 2;
    if (pthread_timedjoin_np(st->sampler, NULL, &ts) != 0)
        pthread_detach(st->sampler);
    st->sampler_started = false;
}

/* ---- the snapshot ---------------------------------------------------------- */

static void add_reason(status_snap_t *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void add_reason(status_snap_t *s, const char *fmt, ...)
{
    size_t l = strlen(s->reasons);
    if (l + 3 >= sizeof s->reasons)
        return;
    if (l) {
        memcpy(s->reasons + l, "; ", 3);
        l += 2;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->reasons + l, sizeof s->reasons - l, fmt, ap);
    va_end(ap);
}

static int key_cmp(const void *a, const void *b)
{
    const hf_guard_key_stat_t *x = a, *y = b;
    if (x->shed != y->shed)
        return x->shed < y->shed ? 1 : -1;
    if (x->admitted != y->admitted)
        return x->admitted < y->admitted ? 1 : -1;
    return strcmp(x->key, y->key);
}

void status_snap_take(hf_status_t *st, status_snap_t *s)
{
    memset(s, 0, sizeof *s);
    s->now_ns = hf_time_now();
    s->now_ms = hf_mono_ms();
    s->uptime_s = (s->now_ns - st->started_ns) / 1000000000;
    if (st->s3srv) {
        hf_server_stats(st->s3srv, &s->srv);
        s->have_srv = true;
    }
    hf_load_stats(&s->load);
    hf_iopool_stats(&s->iopool);
    if (st->guard) {
        hf_guard_stats(st->guard, &s->guard);
        s->have_guard = true;
        s->keys = calloc(HF_GUARD_KEYS_MAX + 1, sizeof *s->keys);
        if (s->keys) {
            s->nkeys = hf_guard_key_stats(st->guard, s->keys, HF_GUARD_KEYS_MAX + 1);
            qsort(s->keys, s->nkeys, sizeof *s->keys, key_cmp);
        }
        s->nbg = hf_guard_bg_stats(st->guard, s->bg, STATUS_BG_MAX);
    }
    int err = 0;
    if (st->meta) {
        hf_meta_stats(st->meta, &s->meta);
        s->meta_failed = hf_meta_failed(st->meta, &err);
    }
    if (st->chunks) {
        hf_chunk_stats(st->chunks, &s->chunk);
        s->have_chunk = true;
        s->reserve_bytes = hf_chunk_reserve(st->chunks);
    }
    if (st->scrub) {
        size_t n;
        bool more;
        hf_scrub_report(st->scrub, &s->scrub, NULL, 0, &n, &more);
        s->have_scrub = true;
    }
    if (st->lifecycle) {
        hf_lifecycle_stats(st->lifecycle, &s->lifecycle);
        s->have_lifecycle = true;
    }
    hf_hist_read(&hf_vfs_sync_hist, &s->fsync_us);
    if (st->s3) {
        s->have_s3 = true;
        s->s3_requests = atomic_load(&st->s3->requests);
        s->s3_err4 = atomic_load(&st->s3->errors_4xx);
        s->s3_err5 = atomic_load(&st->s3->errors_5xx);
        for (size_t i = 0; i <= HF_S3_NOPS; i++) {
            hf_s3_op_stats(st->s3, i, &s->ops[i]);
            hf_hist_merge(&s->all_latency_us, &s->ops[i].latency_us);
        }
    }
    hf_status_sample_t *sm = &st->sample;
    int64_t at = atomic_load(&sm->at_ms), dat = atomic_load(&sm->disk_at_ms);
    s->sample_age_ms = at ? s->now_ms - at : -1;
    s->disk_age_ms = dat ? s->now_ms - dat : -1;
    s->disk_total = atomic_load(&sm->disk_total);
    s->disk_free = atomic_load(&sm->disk_free);
    s->disk_avail = atomic_load(&sm->disk_avail);
    s->threads = atomic_load(&sm->threads);
    s->open_fds = atomic_load(&sm->open_fds);
    s->max_fds = atomic_load(&sm->max_fds);
    s->rss_bytes = atomic_load(&sm->rss_bytes);
    s->req_rate = (double)atomic_load(&sm->req_rate_m) / 1000.0;
    s->err5_rate = (double)atomic_load(&sm->err5_rate_m) / 1000.0;
    s->err4_rate = (double)atomic_load(&sm->err4_rate_m) / 1000.0;
    s->shed_rate = (double)atomic_load(&sm->shed_rate_m) / 1000.0;
    s->in_rate = (double)atomic_load(&sm->in_rate_m) / 1000.0;
    s->out_rate = (double)atomic_load(&sm->out_rate_m) / 1000.0;
    int64_t lp = atomic_load(&sm->last_progress_ms);
    if (s->have_guard && s->guard.inflight > 0 && lp && s->now_ms - lp >= STATUS_STALL_MS)
        s->stalled_ms = s->now_ms - lp;
    s->nrecent = hf_log_recent(s->recent, STATUS_RECENT);
    s->log_errors = hf_log_errors_total();
    s->faults_enabled = st->faults_enabled;
    s->faults_fired = hf_fault_fired();
    s->admin_writes = atomic_load(&st->admin_writes);
    s->admin_busy = atomic_load(&st->admin_busy_total);
    if (st->cluster) {
        s->have_cluster = true;
        hf_cluster_stats(st->cluster, &s->cluster);
        if (hf_cluster_nodes(st->cluster, &s->nodes, &s->nnodes) != HF_OK)
            s->nnodes = 0;
        if (st->peers) {
            s->peers = calloc(HF_PEERS_MAX, sizeof *s->peers);
            if (s->peers)
                s->npeers = hf_peer_stats(st->peers, s->peers, HF_PEERS_MAX);
            s->peer_conns = hf_peer_connections(st->peers);
        }
    }

    /* The node's state: the worst thing that is true. */
    s->ready = atomic_load(&st->s3_ready) && !s->meta_failed;
    if (!atomic_load(&st->s3_ready)) {
        s->state = "starting";
        add_reason(s, "the S3 listener is not serving yet");
    } else if (s->meta_failed) {
        s->state = "failed";
        add_reason(s, "the metadata store refuses writes after a failed commit (%s); restart",
                   hf_strerror(err));
    } else {
        s->state = "ok";
    }
    bool degraded = false;
    if (s->stalled_ms) {
        degraded = true;
        add_reason(s, "data path stalled: %lld requests in flight, none finished for %lld s",
                   (long long)s->guard.inflight, (long long)(s->stalled_ms / 1000));
    }
    if (s->shed_rate > 0) {
        degraded = true;
        add_reason(s, "shedding load: %.1f requests/s answered SlowDown", s->shed_rate);
    }
    if (s->err5_rate > 0) {
        degraded = true;
        add_reason(s, "server errors: %.1f/s", s->err5_rate);
    }
    if (st->data_dir[0] && (s->disk_age_ms < 0 || s->disk_age_ms > STATUS_SAMPLE_STALE_MS) &&
        s->uptime_s > STATUS_SAMPLE_STALE_MS / 1000) {
        degraded = true;
        add_reason(s, "disk not answering: free space last measured %s",
                   s->disk_age_ms < 0 ? "never" : "more than 5 s ago");
    }
    if (s->disk_total && s->disk_avail * 100 < s->disk_total * STATUS_DISK_LOW_PERCENT) {
        degraded = true;
        add_reason(s, "disk almost full: %.1f%% free",
                   100.0 * (double)s->disk_avail / (double)s->disk_total);
    }
    if (s->have_cluster) {
        const hf_cluster_stats_t *c = &s->cluster;
        /* The node serves on (static stability); what waits is changes. */
        if (!c->etcd_reachable) {
            degraded = true;
            add_reason(s, "etcd unreachable%s%s: serving layout generation %llu, changes wait",
                       c->etcd_error[0] ? ": " : "", c->etcd_error, (unsigned long long)c->served);
        }
        if (c->etcd_layout_refused) {
            degraded = true;
            add_reason(s, "the layout in etcd (generation %llu) is refused: %s",
                       (unsigned long long)c->etcd_generation, c->last_refusal);
        }
        if (c->nodes_down) {
            degraded = true;
            add_reason(s, "%u node%s of the layout down", c->nodes_down,
                       c->nodes_down == 1 ? "" : "s");
        }
        if (c->pinned)
            add_reason(s, "layout pinned at generation %llu", (unsigned long long)c->pinned);
    }
    if (s->faults_enabled && hf_fault_describe(NULL, 0) > 0)
        add_reason(s, "fault injection active");
    if (degraded && strcmp(s->state, "ok") == 0)
        s->state = "degraded";
}

void status_snap_free(status_snap_t *s)
{
    free(s->keys);
    s->keys = NULL;
    free(s->nodes);
    s->nodes = NULL;
    free(s->peers);
    s->peers = NULL;
    s->npeers = 0;
}
