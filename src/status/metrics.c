/*
 * metrics.c -- /metrics: the snapshot in the Prometheus text exposition
 * format (version 0.0.4). Names follow Prometheus conventions: a
 * holdfast_ prefix, _total for counters, base units (_seconds, _bytes),
 * histograms as _bucket{le=...}/_sum/_count with cumulative buckets.
 * The list, with what to alert on, is in docs/operations.md#metrics.
 */
#include "status/internal.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

typedef struct emit {
    hf_buf_t *b;
    int rc;
} emit_t;

static void put(emit_t *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(emit_t *e, const char *fmt, ...)
{
    if (e->rc)
        return;
    va_list ap;
    va_start(ap, fmt);
    e->rc = hf_buf_vprintf(e->b, fmt, ap);
    va_end(ap);
}

static void head(emit_t *e, const char *name, const char *type, const char *help)
{
    put(e, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void counter(emit_t *e, const char *name, const char *help, uint64_t v)
{
    head(e, name, "counter", help);
    put(e, "%s %" PRIu64 "\n", name, v);
}

/* Whole numbers (bytes, counts) exactly; fractions to six significant
 * digits, but at least to the microsecond for timestamps and durations
 * (a Unix time in seconds needs 16 digits, %.6g would lose hours). */
static const char *num(char *out, size_t n, double v)
{
    if (v < 9007199254740992.0 && v > -9007199254740992.0 && v == (double)(int64_t)v)
        snprintf(out, n, "%lld", (long long)v);
    else if (v >= 1e6 || v <= -1e6)
        snprintf(out, n, "%.6f", v);
    else
        snprintf(out, n, "%.6g", v);
    return out;
}

static void gauge(emit_t *e, const char *name, const char *help, double v)
{
    char t[48];
    head(e, name, "gauge", help);
    put(e, "%s %s\n", name, num(t, sizeof t, v));
}

/* Label values: escape \, " and newlines, as the format requires. */
static const char *label(char *out, size_t cap, const char *s)
{
    size_t o = 0;
    for (; *s && o + 3 < cap; s++) {
        if (*s == '\\' || *s == '"') {
            out[o++] = '\\';
            out[o++] = *s;
        } else if (*s == '\n') {
            out[o++] = '\\';
            out[o++] = 'n';
        } else {
            out[o++] = *s;
        }
    }
    out[o] = '\0';
    return out;
}

/* One histogram series; labels is "" or `op="X",` (with the comma). scale
 * converts the recorded unit to the exposed one (1e-6: us -> s). */
static void hist(emit_t *e, const char *name, const char *labels, const hf_hist_snap_t *h,
                 double scale)
{
    uint64_t cum = 0;
    for (int i = 0; i < h->nbounds; i++) {
        cum += h->counts[i];
        put(e, "%s_bucket{%sle=\"%.6g\"} %" PRIu64 "\n", name, labels, (double)h->bounds[i] * scale,
            cum);
    }
    cum += h->counts[h->nbounds];
    put(e, "%s_bucket{%sle=\"+Inf\"} %" PRIu64 "\n", name, labels, cum);
    size_t l = strlen(labels);
    char bare[256];
    /* _sum and _count take the same labels without the trailing comma. */
    snprintf(bare, sizeof bare, "%.*s", (int)(l ? l - 1 : 0), labels);
    put(e, "%s_sum%s%s%s %.9g\n", name, l ? "{" : "", bare, l ? "}" : "", (double)h->sum * scale);
    put(e, "%s_count%s%s%s %" PRIu64 "\n", name, l ? "{" : "", bare, l ? "}" : "", cum);
}

static void s3_ops(emit_t *e, const status_snap_t *s)
{
    head(e, "holdfast_s3_requests_total", "counter",
         "S3 requests answered, by operation and HTTP status.");
    for (size_t i = 0; i <= HF_S3_NOPS; i++)
        for (int k = 0; k < HF_S3_NSTATUS; k++) {
            uint64_t v = s->ops[i].by_status[k];
            if (!v)
                continue;
            int code = hf_s3_status_codes[k];
            if (code)
                put(e, "holdfast_s3_requests_total{op=\"%s\",code=\"%d\"} %" PRIu64 "\n",
                    s->ops[i].name, code, v);
            else
                put(e, "holdfast_s3_requests_total{op=\"%s\",code=\"other\"} %" PRIu64 "\n",
                    s->ops[i].name, v);
        }
    head(e, "holdfast_s3_request_duration_seconds", "histogram",
         "Time from a complete request head to the end of the response, by operation.");
    for (size_t i = 0; i <= HF_S3_NOPS; i++) {
        if (!s->ops[i].requests)
            continue;
        char l[96];
        snprintf(l, sizeof l, "op=\"%s\",", s->ops[i].name);
        hist(e, "holdfast_s3_request_duration_seconds", l, &s->ops[i].latency_us, 1e-6);
    }
    head(e, "holdfast_s3_received_bytes_total", "counter", "Request body bytes, by operation.");
    for (size_t i = 0; i <= HF_S3_NOPS; i++)
        if (s->ops[i].requests)
            put(e, "holdfast_s3_received_bytes_total{op=\"%s\"} %" PRIu64 "\n", s->ops[i].name,
                s->ops[i].bytes_in);
    head(e, "holdfast_s3_sent_bytes_total", "counter", "Response body bytes, by operation.");
    for (size_t i = 0; i <= HF_S3_NOPS; i++)
        if (s->ops[i].requests)
            put(e, "holdfast_s3_sent_bytes_total{op=\"%s\"} %" PRIu64 "\n", s->ops[i].name,
                s->ops[i].bytes_out);
}

/* This node's links to its peers (peer/peer.h). */
static void peer_metrics(emit_t *e, const status_snap_t *s)
{
    char k[2 * HF_NODE_ID_MAX + 1];
    gauge(e, "holdfast_peer_connections", "Open node-to-node connections.",
          (double)s->peer_conns);
    head(e, "holdfast_peer_up", "gauge",
         "1 while this node has an open, authenticated link to the peer.");
    for (size_t i = 0; i < s->npeers; i++)
        put(e, "holdfast_peer_up{peer=\"%s\"} %d\n", label(k, sizeof k, s->peers[i].id),
            s->peers[i].connected ? 1 : 0);
    head(e, "holdfast_peer_rtt_seconds", "gauge", "Round trip of the last answered call.");
    for (size_t i = 0; i < s->npeers; i++)
        if (s->peers[i].last_rtt_us >= 0)
            put(e, "holdfast_peer_rtt_seconds{peer=\"%s\"} %.6f\n",
                label(k, sizeof k, s->peers[i].id), (double)s->peers[i].last_rtt_us / 1e6);
    head(e, "holdfast_peer_calls_total", "counter",
         "Calls to each peer, by result (ok; timeout: its deadline passed; busy: refused at once, "
         "too many waiting for it; failed: unreachable, link broken or refused).");
    for (size_t i = 0; i < s->npeers; i++) {
        const hf_peer_stat_t *p = &s->peers[i];
        label(k, sizeof k, p->id);
        put(e, "holdfast_peer_calls_total{peer=\"%s\",result=\"ok\"} %" PRIu64 "\n", k, p->ok);
        put(e, "holdfast_peer_calls_total{peer=\"%s\",result=\"timeout\"} %" PRIu64 "\n", k,
            p->timeouts);
        put(e, "holdfast_peer_calls_total{peer=\"%s\",result=\"busy\"} %" PRIu64 "\n", k, p->busy);
        put(e, "holdfast_peer_calls_total{peer=\"%s\",result=\"failed\"} %" PRIu64 "\n", k,
            p->failed);
    }
    head(e, "holdfast_peer_in_flight", "gauge", "Calls waiting for each peer now.");
    for (size_t i = 0; i < s->npeers; i++)
        put(e, "holdfast_peer_in_flight{peer=\"%s\"} %d\n", label(k, sizeof k, s->peers[i].id),
            s->peers[i].inflight);
}

static void admission(emit_t *e, const status_snap_t *s)
{
    const hf_guard_stats_t *g = &s->guard;
    gauge(e, "holdfast_admission_in_flight", "Requests admitted and running.", (double)g->inflight);
    gauge(e, "holdfast_admission_queued", "Requests waiting in the admission queue.",
          (double)g->queued);
    head(e, "holdfast_admission_limit", "gauge",
         "Admission limits: in_flight (max-inflight), queue (admit-queue), per_key.");
    put(e, "holdfast_admission_limit{kind=\"in_flight\"} %d\n", g->max_inflight);
    put(e, "holdfast_admission_limit{kind=\"queue\"} %d\n", g->queue_max);
    put(e, "holdfast_admission_limit{kind=\"per_key\"} %d\n", g->per_key_max);
    counter(e, "holdfast_admission_admitted_total", "Requests admitted.", g->admitted);
    head(e, "holdfast_admission_shed_total", "counter",
         "Requests answered 503 SlowDown, by reason (full: every slot and the queue taken; "
         "queue_timeout: waited too long; per_key: the key is at its limit; overload: work is "
         "queueing and the key holds its share; connections: over the connection cap, "
         "per_address: of those, over the per-address cap).");
    put(e, "holdfast_admission_shed_total{reason=\"full\"} %" PRIu64 "\n", g->shed[HF_GUARD_SHED_FULL]);
    put(e, "holdfast_admission_shed_total{reason=\"queue_timeout\"} %" PRIu64 "\n",
        g->shed[HF_GUARD_SHED_TIMEOUT]);
    put(e, "holdfast_admission_shed_total{reason=\"per_key\"} %" PRIu64 "\n", g->shed[HF_GUARD_SHED_KEY]);
    put(e, "holdfast_admission_shed_total{reason=\"overload\"} %" PRIu64 "\n",
        g->shed[HF_GUARD_SHED_OVERLOAD]);
    put(e, "holdfast_admission_shed_total{reason=\"connections\"} %" PRIu64 "\n", s->srv.conns_refused);
    put(e, "holdfast_admission_shed_total{reason=\"per_address\"} %" PRIu64 "\n",
        s->srv.conns_refused_addr);
    gauge(e, "holdfast_admission_active_keys", "Access keys with a request in flight.",
          (double)g->active_keys);
    const hf_load_stats_t *l = &s->load;
    gauge(e, "holdfast_queue_delay_target_seconds",
          "Admitted work may wait this long for a resource before new requests are shed.",
          (double)l->target_us / 1e6);
    head(e, "holdfast_queue_overloaded", "gauge",
         "1 while work queues for a resource longer than the target over a whole interval "
         "(loop: an event loop's CPU; io: the blocking-I/O threads; meta: the metadata writer).");
    for (int i = 0; i < HF_LOAD_SOURCES; i++)
        put(e, "holdfast_queue_overloaded{resource=\"%s\"} %d\n", hf_load_source_name(i),
            l->overloaded[i] ? 1 : 0);
    head(e, "holdfast_queue_delay_min_seconds", "gauge",
         "Smallest wait of the last full interval, per resource (absent when idle).");
    for (int i = 0; i < HF_LOAD_SOURCES; i++)
        if (l->last_min_us[i] >= 0)
            put(e, "holdfast_queue_delay_min_seconds{resource=\"%s\"} %.6f\n",
                hf_load_source_name(i), (double)l->last_min_us[i] / 1e6);
    head(e, "holdfast_queue_overload_episodes_total", "counter",
         "Times a resource became overloaded.");
    for (int i = 0; i < HF_LOAD_SOURCES; i++)
        put(e, "holdfast_queue_overload_episodes_total{resource=\"%s\"} %" PRIu64 "\n",
            hf_load_source_name(i), l->episodes[i]);
    counter(e, "holdfast_admission_abandoned_total",
            "Queued requests dropped because the client went away.", g->abandoned);
    head(e, "holdfast_admission_queue_wait_seconds_total", "counter",
         "Time admitted requests spent waiting in the queue.");
    put(e, "holdfast_admission_queue_wait_seconds_total %.3f\n", (double)g->queue_wait_ms / 1000.0);
    head(e, "holdfast_admission_key_shed_total", "counter", "Requests shed, by access key.");
    char k[2 * HF_ACCESS_KEY_MAX + 1];
    for (size_t i = 0; i < s->nkeys; i++)
        put(e, "holdfast_admission_key_shed_total{key_id=\"%s\"} %" PRIu64 "\n",
            label(k, sizeof k, s->keys[i].key), s->keys[i].shed);
    head(e, "holdfast_admission_key_admitted_total", "counter", "Requests admitted, by access key.");
    for (size_t i = 0; i < s->nkeys; i++)
        put(e, "holdfast_admission_key_admitted_total{key_id=\"%s\"} %" PRIu64 "\n",
            label(k, sizeof k, s->keys[i].key), s->keys[i].admitted);
    head(e, "holdfast_admission_key_in_flight", "gauge", "Requests in flight, by access key.");
    for (size_t i = 0; i < s->nkeys; i++)
        put(e, "holdfast_admission_key_in_flight{key_id=\"%s\"} %lld\n",
            label(k, sizeof k, s->keys[i].key), (long long)s->keys[i].inflight);
}

static void background(emit_t *e, const status_snap_t *s)
{
    static const struct {
        const char *name, *type, *help;
    } m[] = {
        {"holdfast_background_runs_total", "counter", "Passes a background job finished."},
        {"holdfast_background_units_total", "counter",
         "Units of work a background job did (orphan_sweep: blobs examined; lifecycle: listing "
         "entries budgeted, a page at a time)."},
        {"holdfast_background_running", "gauge", "1 while a background job is in a pass."},
        {"holdfast_background_progress_ratio", "gauge",
         "Share of the current (or last) pass done, when the job knows its size."},
        {"holdfast_background_yields_total", "counter",
         "Times a background job waited for busy foreground traffic."},
        {"holdfast_background_yield_seconds_total", "counter",
         "Time background jobs spent waiting for foreground traffic."},
        {"holdfast_background_budget_units_per_second", "gauge", "A background job's budget."},
    };
    for (size_t k = 0; k < sizeof m / sizeof m[0]; k++) {
        head(e, m[k].name, m[k].type, m[k].help);
        for (size_t i = 0; i < s->nbg; i++) {
            const hf_guard_bg_stat_t *b = &s->bg[i];
            double v;
            switch (k) {
            case 0: v = (double)b->runs; break;
            case 1: v = (double)b->units_total; break;
            case 2: v = b->running; break;
            case 3:
                if (!b->units_planned)
                    continue;
                v = (double)b->units_run / (double)b->units_planned;
                break;
            case 4: v = (double)b->yields; break;
            case 5: v = (double)b->yield_ms / 1000.0; break;
            default: v = b->rate_per_s; break;
            }
            char t[48];
            put(e, "%s{job=\"%s\"} %s\n", m[k].name, b->name, num(t, sizeof t, v));
        }
    }
}

/* The HTTPS listener: handshakes, and the certificate's expiry to alert on
 * well before clients start refusing it. */
static void tls_metrics(emit_t *e, const hf_server_stats_t *v)
{
    counter(e, "holdfast_tls_handshakes_total", "TLS handshakes completed on the S3 listener.",
            v->tls_handshakes);
    counter(e, "holdfast_tls_handshake_failures_total",
            "TLS handshakes refused or broken (unknown CA, no shared protocol, bad records); "
            "handshakes that timed out count in holdfast_http_timeouts_total.",
            v->tls_handshake_failures);
    counter(e, "holdfast_tls_plain_http_requests_total",
            "Plain HTTP requests sent to the HTTPS port (answered 400).", v->tls_plain_requests);
    gauge(e, "holdfast_tls_certificate_not_after_timestamp_seconds",
          "When the S3 listener's certificate expires (unix time).",
          (double)v->tls_info.not_after);
    head(e, "holdfast_tls_reloads_total", "counter", "Certificate reloads (SIGHUP), by result.");
    put(e, "holdfast_tls_reloads_total{result=\"ok\"} %" PRIu64 "\n", v->tls_info.reloads);
    put(e, "holdfast_tls_reloads_total{result=\"failed\"} %" PRIu64 "\n",
        v->tls_info.reload_failures);
}

int status_render_metrics(const status_snap_t *s, hf_buf_t *out)
{
    emit_t e = {out, 0};
    gauge(&e, "holdfast_ready", "1 when the node accepts S3 traffic (as /health/ready).", s->ready);
    gauge(&e, "holdfast_degraded", "1 while the status page reports the node degraded or failed.",
          strcmp(s->state, "ok") != 0);
    gauge(&e, "holdfast_uptime_seconds", "Seconds since the process started.", (double)s->uptime_s);
    if (s->have_s3)
        s3_ops(&e, s);
    if (s->have_srv) {
        gauge(&e, "holdfast_connections", "Open S3 client connections.", (double)s->srv.conns_open);
        gauge(&e, "holdfast_connections_max", "The S3 listener's connection cap.",
              (double)s->srv.max_conns);
        counter(&e, "holdfast_connections_total", "S3 client connections accepted.",
                s->srv.conns_total);
        counter(&e, "holdfast_connections_refused_total",
                "S3 connections refused with 503 over the connection cap.", s->srv.conns_refused);
        gauge(&e, "holdfast_http_requests_in_flight",
              "S3 requests between a complete head and the end of the response (admitted or "
              "not).", (double)s->srv.requests_inflight);
        gauge(&e, "holdfast_http_workers", "S3 worker threads (fixed).", (double)s->srv.workers);
        counter(&e, "holdfast_http_requests_total", "S3 requests with a complete head.",
                s->srv.requests);
        counter(&e, "holdfast_http_bad_requests_total", "Request heads refused by the parser.",
                s->srv.bad_requests);
        gauge(&e, "holdfast_http_requests_waiting_or_running",
              "Connections served by a fiber now (a request running or waiting for its client, "
              "a disk or a commit).", (double)s->srv.fibers);
        counter(&e, "holdfast_http_timeouts_total",
                "Heads, idle connections and body/response I/O that timed out.", s->srv.timeouts);
        counter(&e, "holdfast_http_deadline_exceeded_total",
                "Requests cut off at the total request deadline.", s->srv.deadlines);
        counter(&e, "holdfast_http_received_bytes_total", "Bytes read from S3 clients.",
                s->srv.bytes_in);
        counter(&e, "holdfast_http_sent_bytes_total", "Bytes written to S3 clients.",
                s->srv.bytes_out);
        if (s->srv.tls)
            tls_metrics(&e, &s->srv);
    }
    if (s->have_guard) {
        admission(&e, s);
        background(&e, s);
    }
    gauge(&e, "holdfast_io_threads", "Threads of the blocking-I/O pool.", (double)s->iopool.threads);
    counter(&e, "holdfast_io_calls_total", "Disk calls run on the blocking-I/O pool.",
            s->iopool.calls);
    gauge(&e, "holdfast_io_queued", "Disk calls waiting for an I/O thread.",
          (double)s->iopool.queued);
    gauge(&e, "holdfast_io_busy", "I/O threads running a call.", (double)s->iopool.busy);
    head(&e, "holdfast_io_queue_wait_seconds_total", "counter",
         "Time disk calls waited for an I/O thread.");
    put(&e, "holdfast_io_queue_wait_seconds_total %.6f\n", (double)s->iopool.wait_us_total / 1e6);
    counter(&e, "holdfast_meta_commits_total", "Metadata group commits.", s->meta.commits);
    counter(&e, "holdfast_meta_ops_total", "Metadata operations committed.", s->meta.ops);
    counter(&e, "holdfast_meta_ops_failed_total", "Metadata operations that failed.",
            s->meta.ops_failed);
    gauge(&e, "holdfast_meta_queue_depth", "Metadata operations waiting for the writer.",
          (double)s->meta.queue_depth);
    gauge(&e, "holdfast_meta_failed",
          "1 if the metadata store refuses writes after a failed commit.", s->meta_failed);
    head(&e, "holdfast_meta_commit_batch_size", "histogram", "Operations per group commit.");
    hist(&e, "holdfast_meta_commit_batch_size", "", &s->meta.batch_sizes, 1);
    head(&e, "holdfast_meta_commit_duration_seconds", "histogram",
         "Duration of a group commit (LMDB commit, including its fsync).");
    hist(&e, "holdfast_meta_commit_duration_seconds", "", &s->meta.commit_us, 1e-6);
    head(&e, "holdfast_fsync_duration_seconds", "histogram",
         "Duration of every fsync and fdatasync made through the syscall seam (chunk files, "
         "directories).");
    hist(&e, "holdfast_fsync_duration_seconds", "", &s->fsync_us, 1e-6);
    if (s->have_chunk) {
        counter(&e, "holdfast_chunk_files_written_total", "Chunk files completed.",
                s->chunk.chunks_written);
        counter(&e, "holdfast_chunk_written_bytes_total", "Object bytes written to chunk files.",
                s->chunk.bytes_written);
        counter(&e, "holdfast_chunk_read_bytes_total", "Object bytes read from chunk files.",
                s->chunk.bytes_read);
        counter(&e, "holdfast_chunk_corrupt_reads_total",
                "Chunk reads that failed verification.", s->chunk.corrupt_reads);
        counter(&e, "holdfast_chunk_blobs_released_total", "Blobs queued for deletion.",
                s->chunk.blobs_released);
        counter(&e, "holdfast_chunk_blobs_unlinked_total", "Blobs whose files were removed.",
                s->chunk.blobs_unlinked);
        gauge(&e, "holdfast_chunk_pending_release", "Blobs waiting for readers before removal.",
              (double)s->chunk.pending_release);
    }
    if (s->have_lifecycle) {
        const hf_lifecycle_stats_t *l = &s->lifecycle;
        head(&e, "holdfast_lifecycle_actions_total", "counter",
             "Changes the lifecycle worker made, by action.");
        put(&e, "holdfast_lifecycle_actions_total{action=\"expire\"} %llu\n", (unsigned long long)l->expired);
        put(&e, "holdfast_lifecycle_actions_total{action=\"noncurrent_expire\"} %llu\n",
            (unsigned long long)l->noncurrent_expired);
        put(&e, "holdfast_lifecycle_actions_total{action=\"delete_marker\"} %llu\n",
            (unsigned long long)l->markers_removed);
        put(&e, "holdfast_lifecycle_actions_total{action=\"abort_upload\"} %llu\n",
            (unsigned long long)l->uploads_aborted);
        counter(&e, "holdfast_lifecycle_examined_total", "Versions and uploads the lifecycle worker examined.",
                l->examined);
        counter(&e, "holdfast_lifecycle_held_total",
                "Removals a lifecycle rule asked for that Object Lock refused.", l->held);
        counter(&e, "holdfast_lifecycle_errors_total",
                "Lifecycle changes that failed, and stored configurations that could not be read.",
                l->errors);
        counter(&e, "holdfast_lifecycle_passes_total", "Lifecycle passes over every bucket finished.",
                l->passes);
        gauge(&e, "holdfast_lifecycle_running", "1 while a lifecycle pass is under way.", l->running);
        gauge(&e, "holdfast_lifecycle_last_pass_timestamp_seconds",
              "When the last lifecycle pass finished (Unix time; 0: none yet).",
              (double)l->last_pass_ns / 1e9);
    }
    if (s->have_scrub) {
        const hf_scrub_stats_t *c = &s->scrub;
        counter(&e, "holdfast_scrub_objects_total", "Object versions the scrubber read and verified.",
                c->objects_total);
        counter(&e, "holdfast_scrub_bytes_total", "Bytes the scrubber read and verified.", c->bytes_total);
        counter(&e, "holdfast_scrub_damaged_total",
                "Damaged object versions the scrubber found (each is logged with bucket, key and version).",
                c->damaged_total);
        counter(&e, "holdfast_scrub_passes_total", "Scrub passes finished.", c->passes);
        gauge(&e, "holdfast_scrub_running", "1 while a scrub pass is under way.", c->running);
        gauge(&e, "holdfast_scrub_last_pass_damaged",
              "Damaged object versions in the current (or last) pass.", (double)c->damaged);
        gauge(&e, "holdfast_scrub_last_pass_timestamp_seconds",
              "When the last scrub pass finished (Unix time; 0: none yet).", (double)c->pass_finished_ns / 1e9);
    }
    if (s->have_chunk)
        gauge(&e, "holdfast_disk_reserve_bytes",
              "Free space kept for deletes and metadata: writes that would go below it answer 507.",
              (double)s->reserve_bytes);
    gauge(&e, "holdfast_disk_total_bytes", "Size of the data directory's file system.",
          (double)s->disk_total);
    gauge(&e, "holdfast_disk_free_bytes", "Free bytes on the data directory's file system.",
          (double)s->disk_free);
    gauge(&e, "holdfast_disk_available_bytes",
          "Bytes available to holdfast (free minus the file system's root reserve).",
          (double)s->disk_avail);
    gauge(&e, "holdfast_disk_sample_age_seconds",
          "Age of the last free-space measurement (grows while the disk does not answer).",
          s->disk_age_ms < 0 ? -1 : (double)s->disk_age_ms / 1000.0);
    gauge(&e, "holdfast_data_path_stalled_seconds",
          "How long admitted requests have been in flight with none finishing (0: moving).",
          (double)s->stalled_ms / 1000.0);
    gauge(&e, "holdfast_process_threads", "Threads in the process.", (double)s->threads);
    gauge(&e, "holdfast_process_open_fds", "Open file descriptors.", (double)s->open_fds);
    gauge(&e, "holdfast_process_max_fds", "The file descriptor limit (-1: unlimited).",
          (double)s->max_fds);
    gauge(&e, "holdfast_process_resident_memory_bytes", "Resident memory.", (double)s->rss_bytes);
    counter(&e, "holdfast_log_errors_total", "Lines logged at warn or error.", s->log_errors);
    if (s->have_cluster) {
        const hf_cluster_stats_t *c = &s->cluster;
        gauge(&e, "holdfast_layout_generation", "The cluster layout generation this node serves.",
              (double)c->served);
        gauge(&e, "holdfast_layout_generation_etcd",
              "The newest layout generation this node has seen in etcd.", (double)c->etcd_generation);
        gauge(&e, "holdfast_layout_pinned_generation", "The pinned generation (0: not pinned).",
              (double)c->pinned);
        gauge(&e, "holdfast_etcd_reachable", "1 if the last call to etcd succeeded.",
              c->etcd_reachable ? 1 : 0);
        gauge(&e, "holdfast_cluster_registered",
              "1 while this node's lease in etcd holds (its peers see it up).",
              c->registered ? 1 : 0);
        counter(&e, "holdfast_layout_applied_total", "Layout generations applied since start.",
                c->applied_total);
        head(&e, "holdfast_layout_refused_total", "counter",
             "Layouts refused: stale (older than served, or a generation reused), invalid "
             "(breaking a rule), pinned (newer than the pin).");
        put(&e, "holdfast_layout_refused_total{reason=\"stale\"} %" PRIu64 "\n", c->refused_stale);
        put(&e, "holdfast_layout_refused_total{reason=\"invalid\"} %" PRIu64 "\n", c->refused_invalid);
        put(&e, "holdfast_layout_refused_total{reason=\"pinned\"} %" PRIu64 "\n", c->ignored_pinned);
        static const char *const states[] = {"up", "down", "draining", "new"};
        head(&e, "holdfast_cluster_nodes", "gauge", "Nodes this node knows of, by state.");
        for (size_t k = 0; k < 4; k++) {
            uint32_t n = 0;
            for (uint32_t i = 0; i < s->nnodes; i++)
                n += strcmp(s->nodes[i].state, states[k]) == 0;
            put(&e, "holdfast_cluster_nodes{state=\"%s\"} %u\n", states[k], n);
        }
        peer_metrics(&e, s);
    }
    gauge(&e, "holdfast_admin_changes_running", "Admin API changes in progress.",
          (double)s->admin_writes);
    counter(&e, "holdfast_admin_busy_total",
            "Admin API changes answered 503 Busy (more than the status listener runs at once).",
            s->admin_busy);
    if (s->faults_enabled)
        counter(&e, "holdfast_faults_fired_total", "Injected faults that fired.", s->faults_fired);
    return e.rc;
}
