/*
 * page.c -- the status page (GET /) and its JSON twin (/admin/v1/status,
 * printed by `holdfast admin status`), both made from one snapshot.
 *
 * The page is one self-contained HTML document: inline CSS, no scripts, no
 * fonts or images from anywhere, so it renders when nothing else on the
 * network does (the 2017 status page depended on the system it reported
 * on). It refreshes itself every few seconds with a meta refresh and lays
 * out in one column on a phone.
 */
#include "status/internal.h"

#include "base/str.h"
#include "base/time.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define REFRESH_S 5

typedef struct page {
    hf_buf_t *b;
    int rc;
} page_t;

static void put(page_t *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(page_t *p, const char *fmt, ...)
{
    if (p->rc)
        return;
    va_list ap;
    va_start(ap, fmt);
    p->rc = hf_buf_vprintf(p->b, fmt, ap);
    va_end(ap);
}

/* Text into HTML. */
static void esc(page_t *p, const char *s)
{
    for (; *s && !p->rc; s++) {
        switch (*s) {
        case '<': p->rc = hf_buf_puts(p->b, "&lt;"); break;
        case '>': p->rc = hf_buf_puts(p->b, "&gt;"); break;
        case '&': p->rc = hf_buf_puts(p->b, "&amp;"); break;
        case '"': p->rc = hf_buf_puts(p->b, "&quot;"); break;
        default: p->rc = hf_buf_putc(p->b, *s); break;
        }
    }
}

static const char *secs_text(char *out, size_t n, double s)
{
    if (s < 0.001)
        snprintf(out, n, "%.0f µs", s * 1e6);
    else if (s < 1)
        snprintf(out, n, "%.1f ms", s * 1e3);
    else
        snprintf(out, n, "%.2f s", s);
    return out;
}

static const char *uptime_text(char *out, size_t n, int64_t s)
{
    if (s < 120)
        snprintf(out, n, "%llds", (long long)s);
    else if (s < 7200)
        snprintf(out, n, "%lldm", (long long)(s / 60));
    else if (s < 172800)
        snprintf(out, n, "%lldh %lldm", (long long)(s / 3600), (long long)(s % 3600 / 60));
    else
        snprintf(out, n, "%lldd %lldh", (long long)(s / 86400), (long long)(s % 86400 / 3600));
    return out;
}

static uint64_t op_errors(const hf_s3_op_stat_t *o, int from)
{
    uint64_t n = 0;
    for (int k = 0; k < HF_S3_NSTATUS; k++) {
        int c = hf_s3_status_codes[k];
        if (c >= from || (c == 0 && from >= 500))
            n += o->by_status[k];
    }
    return n;
}

/* This node's link to peer id, or NULL. */
static const hf_peer_stat_t *link_of(const status_snap_t *s, const char *id)
{
    for (size_t i = 0; i < s->npeers; i++)
        if (strcmp(s->peers[i].id, id) == 0)
            return &s->peers[i];
    return NULL;
}

static uint64_t total_shed(const status_snap_t *s)
{
    uint64_t n = s->srv.conns_refused;
    for (int i = 0; i < HF_GUARD_SHED_REASONS; i++)
        n += s->guard.shed[i];
    return n;
}

static void row(page_t *p, const char *name, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void row(page_t *p, const char *name, const char *fmt, ...)
{
    char v[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(v, sizeof v, fmt, ap);
    va_end(ap);
    put(p, "<tr><th>%s</th><td>", name);
    esc(p, v);
    put(p, "</td></tr>\n");
}

static const char css[] =
    "*{box-sizing:border-box}"
    "body{margin:0;font:15px/1.4 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;"
    "background:#f4f5f7;color:#1d2330}"
    "header{padding:14px 18px;background:#1d2330;color:#fff}"
    "header h1{margin:0;font-size:20px;display:flex;align-items:center;gap:10px;flex-wrap:wrap}"
    ".badge{font-size:13px;padding:3px 10px;border-radius:12px;text-transform:uppercase;"
    "letter-spacing:.05em}"
    ".ok{background:#1f8f4e}.degraded{background:#c77c02}.failed{background:#c0392b}"
    ".starting{background:#6b7280}"
    ".sub{color:#c9ced8;font-size:13px;margin-top:4px}"
    ".why{margin:10px 18px 0;padding:10px 12px;border-left:4px solid #c77c02;background:#fff8e6}"
    "main{display:grid;grid-template-columns:repeat(auto-fit,minmax(300px,1fr));gap:14px;"
    "padding:14px 18px}"
    "section{background:#fff;border-radius:8px;padding:12px 14px;box-shadow:0 1px 2px #0001;"
    "min-width:0}"
    "section.wide{grid-column:1/-1}"
    "h2{margin:0 0 8px;font-size:15px;color:#4b5563;text-transform:uppercase;letter-spacing:.04em}"
    "table{width:100%;border-collapse:collapse}"
    "th,td{text-align:left;padding:3px 4px;border-bottom:1px solid #eef0f3;vertical-align:top}"
    "th{font-weight:500;color:#4b5563}td{font-variant-numeric:tabular-nums}"
    ".num td,.num th{text-align:right}.num td:first-child,.num th:first-child{text-align:left}"
    ".scroll{overflow-x:auto}"
    ".bar{height:10px;background:#e5e7eb;border-radius:5px;overflow:hidden;margin:6px 0}"
    ".bar span{display:block;height:100%;background:#2563eb}"
    ".log{font:12px/1.35 ui-monospace,Menlo,Consolas,monospace;word-break:break-all}"
    ".lvl-error{color:#c0392b}.lvl-warn{color:#a05a00}"
    ".muted{color:#6b7280}"
    "footer{padding:0 18px 18px;color:#6b7280;font-size:12px}";

int status_render_page(const status_snap_t *s, hf_buf_t *out)
{
    page_t p = {out, 0};
    char a[64], b[64], c[64];
    put(&p, "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
            "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\n"
            "<meta http-equiv=\"refresh\" content=\"%d\">\n"
            "<title>holdfast: %s</title>\n<style>%s</style></head><body>\n",
        REFRESH_S, s->state, css);
    char when[32];
    hf_time_iso8601(when, s->now_ns);
    put(&p, "<header><h1>holdfast <span class=\"badge %s\" id=\"state\">%s</span></h1>\n"
            "<div class=\"sub\">up %s &middot; %s &middot; %s &middot; refreshes every %d s</div>"
            "</header>\n",
        s->state, s->state, uptime_text(a, sizeof a, s->uptime_s), when,
        s->ready ? "accepting S3 traffic" : "not accepting S3 traffic", REFRESH_S);
    if (s->reasons[0]) {
        put(&p, "<div class=\"why\" id=\"reasons\">");
        esc(&p, s->reasons);
        put(&p, "</div>\n");
    }
    put(&p, "<main>\n");

    /* Requests. */
    double p50 = hf_hist_quantile(&s->all_latency_us, 0.5) / 1e6;
    double p99 = hf_hist_quantile(&s->all_latency_us, 0.99) / 1e6;
    put(&p, "<section id=\"requests\"><h2>Requests</h2><table>\n");
    row(&p, "Rate", "%.1f/s (last 10 s)", s->req_rate);
    row(&p, "Server errors (5xx)", "%.1f/s, %" PRIu64 " total", s->err5_rate, s->s3_err5);
    row(&p, "Client errors (4xx)", "%.1f/s, %" PRIu64 " total", s->err4_rate, s->s3_err4);
    row(&p, "Latency p50 / p99", "%s / %s", secs_text(a, sizeof a, p50), secs_text(b, sizeof b, p99));
    row(&p, "Traffic in / out", "%s/s / %s/s", hf_str_bytes(a, sizeof a, s->in_rate),
        hf_str_bytes(b, sizeof b, s->out_rate));
    row(&p, "Total", "%" PRIu64 " requests", s->s3_requests);
    put(&p, "</table></section>\n");

    /* Shedding. */
    put(&p, "<section id=\"shedding\"><h2>Load shedding</h2><table>\n");
    if (s->have_guard) {
        const hf_guard_stats_t *g = &s->guard;
        row(&p, "Shed now", "%.1f/s answered 503 SlowDown", s->shed_rate);
        row(&p, "Work queueing", "%s (target %.0f ms; loop %s, disk threads %s, metadata %s)",
            g->overloaded ? "yes: shedding the heaviest keys" : "no",
            (double)s->load.target_us / 1000.0,
            s->load.overloaded[HF_LOAD_LOOP] ? "queueing" : "ok",
            s->load.overloaded[HF_LOAD_IO] ? "queueing" : "ok",
            s->load.overloaded[HF_LOAD_META] ? "queueing" : "ok");
        row(&p, "In flight", "%lld of %d (%lld keys)", (long long)g->inflight, g->max_inflight,
            (long long)g->active_keys);
        row(&p, "Queued", "%lld of %d", (long long)g->queued, g->queue_max);
        row(&p, "Per-key limit", "%d in flight", g->per_key_max);
        row(&p, "Admitted", "%" PRIu64, g->admitted);
        row(&p, "Shed (total)",
            "%" PRIu64 " (full %" PRIu64 ", queue timeout %" PRIu64 ", per key %" PRIu64
            ", work queueing %" PRIu64 ", connections %" PRIu64 " of which per address %" PRIu64
            ")",
            total_shed(s), g->shed[HF_GUARD_SHED_FULL], g->shed[HF_GUARD_SHED_TIMEOUT],
            g->shed[HF_GUARD_SHED_KEY], g->shed[HF_GUARD_SHED_OVERLOAD], s->srv.conns_refused,
            s->srv.conns_refused_addr);
        row(&p, "Client gone while queued", "%" PRIu64, g->abandoned);
    }
    if (s->have_srv)
        row(&p, "Deadlines exceeded", "%" PRIu64 " (timeouts %" PRIu64 ")", s->srv.deadlines,
            s->srv.timeouts);
    put(&p, "</table></section>\n");

    /* Storage. */
    put(&p, "<section id=\"storage\"><h2>Storage</h2>\n");
    if (s->disk_total) {
        double used = (double)(s->disk_total - s->disk_free) / (double)s->disk_total;
        put(&p, "<div class=\"bar\"><span style=\"width:%.1f%%\"></span></div>\n", used * 100);
    }
    put(&p, "<table>\n");
    row(&p, "Disk used", "%s of %s (%s available)",
        hf_str_bytes(a, sizeof a, (double)(s->disk_total - s->disk_free)),
        hf_str_bytes(b, sizeof b, (double)s->disk_total), hf_str_bytes(c, sizeof c, (double)s->disk_avail));
    if (s->disk_age_ms < 0 || s->disk_age_ms > STATUS_SAMPLE_STALE_MS)
        row(&p, "Disk sample", "%s", s->disk_age_ms < 0 ? "none yet" : "stale: the disk is not answering");
    if (s->have_chunk) {
        row(&p, "Chunk bytes written / read", "%s / %s",
            hf_str_bytes(a, sizeof a, (double)s->chunk.bytes_written),
            hf_str_bytes(b, sizeof b, (double)s->chunk.bytes_read));
        row(&p, "Corrupt reads", "%" PRIu64, s->chunk.corrupt_reads);
        row(&p, "Blobs waiting for removal", "%" PRIu64, s->chunk.pending_release);
    }
    row(&p, "Metadata commits", "%" PRIu64 " (%" PRIu64 " operations, queue %" PRIu64 ")",
        s->meta.commits, s->meta.ops, s->meta.queue_depth);
    row(&p, "Commit p99 / fsync p99", "%s / %s",
        secs_text(a, sizeof a, hf_hist_quantile(&s->meta.commit_us, 0.99) / 1e6),
        secs_text(b, sizeof b, hf_hist_quantile(&s->fsync_us, 0.99) / 1e6));
    row(&p, "Metadata store", "%s", s->meta_failed ? "FAILED: refusing writes" : "accepting writes");
    put(&p, "</table></section>\n");

    /* Process. */
    put(&p, "<section id=\"process\"><h2>Process</h2><table>\n");
    if (s->have_srv) {
        row(&p, "Connections", "%" PRIu64 " open of %d", s->srv.conns_open, s->srv.max_conns);
        row(&p, "S3 workers", "%d (fixed)", s->srv.workers);
        if (s->srv.tls)
            row(&p, "TLS certificate", "%.160s, expires in %.0f days", s->srv.tls_info.subject,
                (double)(s->srv.tls_info.not_after - (int64_t)time(NULL)) / 86400.0);
    }
    row(&p, "Threads", "%lld", (long long)s->threads);
    row(&p, "Open fds", "%lld of %lld", (long long)s->open_fds, (long long)s->max_fds);
    row(&p, "Memory (RSS)", "%s", hf_str_bytes(a, sizeof a, (double)s->rss_bytes));
    if (s->faults_enabled)
        row(&p, "Fault injection", "enabled, %" PRIu64 " fired", s->faults_fired);
    put(&p, "</table></section>\n");

    /* Cluster: what this node serves and sees, from its own copy. */
    if (s->have_cluster) {
        const hf_cluster_stats_t *cl = &s->cluster;
        put(&p, "<section class=\"wide\" id=\"cluster\"><h2>Cluster</h2><table>\n");
        row(&p, "Node", "%s (zone %s), cluster %s", cl->node_id, cl->zone, cl->cluster_id);
        row(&p, "Layout served", "generation %" PRIu64 "%s", cl->served,
            cl->pinned ? " (pinned)" : "");
        row(&p, "Layout in etcd", "generation %" PRIu64 "%s", cl->etcd_generation,
            cl->etcd_layout_refused ? ", REFUSED by this node" : "");
        if (cl->etcd_reachable)
            row(&p, "etcd", "reachable (%s, %.1f s ago)", cl->etcd_endpoint,
                (double)cl->etcd_ok_age_ms / 1000.0);
        else if (cl->etcd_ok_age_ms >= 0)
            row(&p, "etcd", "UNREACHABLE, last answer %.1f s ago (changes wait; serving goes on)",
                (double)cl->etcd_ok_age_ms / 1000.0);
        else
            row(&p, "etcd", "UNREACHABLE since start (changes wait; serving goes on)");
        if (cl->etcd_error[0] && !cl->etcd_reachable)
            row(&p, "etcd error", "%s", cl->etcd_error);
        row(&p, "Refused layouts", "%" PRIu64 " older or reused, %" PRIu64 " breaking a rule, %" PRIu64
                                   " ignored while pinned",
            cl->refused_stale, cl->refused_invalid, cl->ignored_pinned);
        if (cl->last_refusal[0])
            row(&p, "Last refusal", "%s", cl->last_refusal);
        row(&p, "Peer links", "%d open connections", s->peer_conns);
        put(&p, "</table><div class=\"scroll\"><table class=\"num\"><tr><th>Node</th><th>Zone</th>"
                "<th>State</th><th>Serves</th><th>Capacity</th><th>Address</th><th>Last seen</th>"
                "<th>Link</th></tr>\n");
        for (uint32_t i = 0; i < s->nnodes; i++) {
            const hf_cluster_node_t *n = &s->nodes[i];
            char seen[32] = "never";
            if (n->m.seen_ns)
                hf_time_iso8601(seen, n->m.seen_ns);
            put(&p, "<tr><td>");
            esc(&p, n->m.id);
            put(&p, "</td><td>");
            esc(&p, n->m.zone);
            put(&p, "</td><td>%s</td><td>%" PRIu64 "</td><td>%s</td><td>", n->state, n->m.applied,
                hf_str_bytes(b, sizeof b, (double)n->m.capacity));
            esc(&p, n->m.rpc);
            put(&p, "</td><td>%s</td><td>", seen);
            const hf_peer_stat_t *lk = link_of(s, n->m.id);
            if (!lk)
                put(&p, "%s", strcmp(n->m.id, s->cluster.node_id) == 0 ? "this node" : "–");
            else if (lk->connected && lk->last_rtt_us >= 0)
                put(&p, "up, %.2f ms", (double)lk->last_rtt_us / 1000.0);
            else if (lk->connected)
                put(&p, "up");
            else if (lk->down_since_ms)
                put(&p, "DOWN for %.0f s", (double)(s->now_ms - lk->down_since_ms) / 1000.0);
            else
                put(&p, "connecting");
            put(&p, "</td></tr>\n");
        }
        put(&p, "</table></div></section>\n");
    }

    /* Operations. */
    put(&p, "<section class=\"wide\" id=\"operations\"><h2>Operations</h2><div class=\"scroll\">"
            "<table class=\"num\"><tr><th>Operation</th><th>Requests</th><th>4xx</th>"
            "<th>5xx</th><th>p99</th><th>In</th><th>Out</th></tr>\n");
    bool any = false;
    for (size_t i = 0; i <= HF_S3_NOPS; i++) {
        const hf_s3_op_stat_t *o = &s->ops[i];
        if (!o->requests)
            continue;
        any = true;
        uint64_t e5 = op_errors(o, 500), e4 = op_errors(o, 400) - e5;
        put(&p, "<tr><td>%s</td><td>%" PRIu64 "</td><td>%" PRIu64 "</td><td>%" PRIu64
                "</td><td>%s</td><td>%s</td><td>%s</td></tr>\n",
            o->name, o->requests, e4, e5,
            secs_text(a, sizeof a, hf_hist_quantile(&o->latency_us, 0.99) / 1e6),
            hf_str_bytes(b, sizeof b, (double)o->bytes_in), hf_str_bytes(c, sizeof c, (double)o->bytes_out));
    }
    if (!any)
        put(&p, "<tr><td colspan=\"7\" class=\"muted\">no requests yet</td></tr>\n");
    put(&p, "</table></div></section>\n");

    /* Access keys. */
    if (s->have_guard) {
        put(&p, "<section class=\"wide\" id=\"keys\"><h2>Access keys</h2><div class=\"scroll\"><table class=\"num\">"
                "<tr><th>Key</th><th>In flight</th><th>Admitted</th><th>Shed</th></tr>\n");
        for (size_t i = 0; i < s->nkeys && i < STATUS_PAGE_KEYS; i++) {
            put(&p, "<tr><td>");
            esc(&p, s->keys[i].key);
            put(&p, "</td><td>%lld</td><td>%" PRIu64 "</td><td>%" PRIu64 "</td></tr>\n",
                (long long)s->keys[i].inflight, s->keys[i].admitted, s->keys[i].shed);
        }
        if (!s->nkeys)
            put(&p, "<tr><td colspan=\"4\" class=\"muted\">none yet</td></tr>\n");
        put(&p, "</table></div></section>\n");

        put(&p, "<section id=\"background\"><h2>Background jobs</h2><table class=\"num\">"
                "<tr><th>Job</th><th>State</th><th>Passes</th><th>Done</th><th>Yielded</th></tr>\n");
        for (size_t i = 0; i < s->nbg; i++) {
            const hf_guard_bg_stat_t *j = &s->bg[i];
            const char *state = j->running ? (j->waiting ? "yielding" : "running") : "idle";
            char done[64];
            if (j->units_planned)
                snprintf(done, sizeof done, "%" PRIu64 " of %" PRIu64, j->units_run, j->units_planned);
            else
                snprintf(done, sizeof done, "%" PRIu64, j->units_run);
            put(&p, "<tr><td>%s</td><td>%s</td><td>%" PRIu64 "</td><td>%s</td><td>%s</td></tr>\n",
                j->name, state, j->runs, done, secs_text(a, sizeof a, (double)j->yield_ms / 1000.0));
        }
        if (!s->nbg)
            put(&p, "<tr><td colspan=\"5\" class=\"muted\">none</td></tr>\n");
        put(&p, "</table></section>\n");
    }

    /* Recent errors. */
    put(&p, "<section class=\"wide\" id=\"errors\"><h2>Recent errors and warnings</h2>"
            "<div class=\"log\">\n");
    for (size_t i = 0; i < s->nrecent; i++) {
        char t[32];
        hf_time_iso8601(t, s->recent[i].time_ns);
        const char *lv = s->recent[i].level == HF_LOG_ERROR ? "error" : "warn";
        put(&p, "<div class=\"lvl-%s\">%s %s ", lv, t, lv);
        esc(&p, s->recent[i].line);
        put(&p, "</div>\n");
    }
    if (!s->nrecent)
        put(&p, "<div class=\"muted\">none since start</div>\n");
    put(&p, "</div></section>\n</main>\n"
            "<footer>Process-local state only: this page answers while storage is wedged. "
            "Machine-readable: <a href=\"/metrics\">/metrics</a>, "
            "<a href=\"/health/ready\">/health/ready</a>.</footer>\n</body></html>\n");
    return p.rc;
}

json_t *status_cluster_json(const status_snap_t *s)
{
    const hf_cluster_stats_t *c = &s->cluster;
    json_t *nodes = json_array();
    for (uint32_t i = 0; i < s->nnodes; i++) {
        const hf_cluster_node_t *n = &s->nodes[i];
        char seen[32] = "", started[32] = "";
        if (n->m.seen_ns)
            hf_time_iso8601(seen, n->m.seen_ns);
        if (n->m.started_ns)
            hf_time_iso8601(started, n->m.started_ns);
        json_array_append_new(
            nodes, json_pack("{s:s,s:s,s:I,s:s,s:s,s:s,s:s,s:b,s:s,s:s,s:I,s:I,s:I}", "id", n->m.id,
                             "zone", n->m.zone, "capacity", (json_int_t)n->m.capacity, "address",
                             n->m.rpc, "s3", n->m.s3, "status", n->m.status, "state", n->state,
                             "in_layout", n->in_layout, "last_seen", seen, "started", started,
                             "generation", (json_int_t)n->m.applied, "confirmed",
                             (json_int_t)n->m.confirmed, "used_bytes",
                             (json_int_t)n->m.used_bytes));
        const hf_peer_stat_t *lk = link_of(s, n->m.id);
        if (lk) {
            json_t *last = json_array_get(nodes, json_array_size(nodes) - 1);
            json_object_set_new(
                last, "link",
                json_pack("{s:b,s:f,s:I,s:I,s:I,s:I,s:i,s:f}", "connected", lk->connected,
                          "rtt_ms", lk->last_rtt_us < 0 ? -1.0 : (double)lk->last_rtt_us / 1000.0,
                          "ok", (json_int_t)lk->ok, "timeouts", (json_int_t)lk->timeouts,
                          "busy", (json_int_t)lk->busy, "failed", (json_int_t)lk->failed,
                          "in_flight", lk->inflight, "down_s",
                          lk->down_since_ms ? (double)(s->now_ms - lk->down_since_ms) / 1000.0
                                            : 0.0));
        }
    }
    return json_pack("{s:I,s:s,s:s,s:s,s:s,s:I,s:b,s:b,s:f,s:s,s:s,s:b,s:I,s:I,s:I,s:I,s:I,s:s,s:o}",
                     "generation", (json_int_t)c->served, "node_id", c->node_id, "zone", c->zone,
                     "cluster_id", c->cluster_id, "prefix", c->prefix, "etcd_generation",
                     (json_int_t)c->etcd_generation, "etcd_layout_refused", c->etcd_layout_refused,
                     "etcd_reachable", c->etcd_reachable, "etcd_age_s",
                     c->etcd_ok_age_ms < 0 ? -1.0 : (double)c->etcd_ok_age_ms / 1000.0,
                     "etcd_endpoint", c->etcd_endpoint, "etcd_error", c->etcd_error, "registered",
                     c->registered, "pinned", (json_int_t)c->pinned, "applied",
                     (json_int_t)c->applied_total, "refused_stale", (json_int_t)c->refused_stale,
                     "refused_invalid", (json_int_t)c->refused_invalid, "ignored_pinned",
                     (json_int_t)c->ignored_pinned, "last_refusal", c->last_refusal, "nodes", nodes);
}

json_t *status_render_json(const status_snap_t *s)
{
    json_t *j = json_object();
    json_object_set_new(j, "state", json_string(s->state));
    json_object_set_new(j, "reasons", json_string(s->reasons));
    json_object_set_new(j, "ready", json_boolean(s->ready));
    json_object_set_new(j, "uptime_s", json_integer(s->uptime_s));
    json_t *rq = json_pack("{s:f,s:f,s:f,s:f,s:f,s:f,s:I,s:I,s:I,s:f,s:f}", "rate", s->req_rate,
                           "err5_rate", s->err5_rate, "err4_rate", s->err4_rate, "shed_rate",
                           s->shed_rate, "in_rate", s->in_rate, "out_rate", s->out_rate, "total",
                           (json_int_t)s->s3_requests, "err5", (json_int_t)s->s3_err5, "err4",
                           (json_int_t)s->s3_err4, "p50_s",
                           hf_hist_quantile(&s->all_latency_us, 0.5) / 1e6, "p99_s",
                           hf_hist_quantile(&s->all_latency_us, 0.99) / 1e6);
    json_object_set_new(j, "requests", rq);
    if (s->have_guard) {
        const hf_guard_stats_t *g = &s->guard;
        json_object_set_new(
            j, "admission",
            json_pack("{s:I,s:i,s:I,s:i,s:i,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:b}", "in_flight",
                      (json_int_t)g->inflight, "max_inflight", g->max_inflight, "queued",
                      (json_int_t)g->queued, "queue_max", g->queue_max, "per_key_max",
                      g->per_key_max, "admitted", (json_int_t)g->admitted, "shed",
                      (json_int_t)total_shed(s), "shed_full", (json_int_t)g->shed[HF_GUARD_SHED_FULL],
                      "shed_queue_timeout", (json_int_t)g->shed[HF_GUARD_SHED_TIMEOUT],
                      "shed_per_key", (json_int_t)g->shed[HF_GUARD_SHED_KEY], "shed_overload",
                      (json_int_t)g->shed[HF_GUARD_SHED_OVERLOAD], "shed_connections",
                      (json_int_t)s->srv.conns_refused, "shed_per_address",
                      (json_int_t)s->srv.conns_refused_addr, "abandoned",
                      (json_int_t)g->abandoned, "overloaded", g->overloaded));
        json_t *keys = json_array();
        for (size_t i = 0; i < s->nkeys && i < STATUS_PAGE_KEYS; i++)
            json_array_append_new(keys, json_pack("{s:s,s:I,s:I,s:I}", "key_id", s->keys[i].key,
                                                  "in_flight", (json_int_t)s->keys[i].inflight,
                                                  "admitted", (json_int_t)s->keys[i].admitted,
                                                  "shed", (json_int_t)s->keys[i].shed));
        json_object_set_new(j, "keys", keys);
        json_t *bg = json_array();
        for (size_t i = 0; i < s->nbg; i++) {
            const hf_guard_bg_stat_t *b = &s->bg[i];
            json_array_append_new(
                bg, json_pack("{s:s,s:s,s:I,s:I,s:I,s:f}", "name", b->name, "state",
                              b->running ? (b->waiting ? "yielding" : "running") : "idle", "runs",
                              (json_int_t)b->runs, "done", (json_int_t)b->units_run, "planned",
                              (json_int_t)b->units_planned, "yield_s", (double)b->yield_ms / 1000.0));
        }
        json_object_set_new(j, "background", bg);
    }
    json_object_set_new(
        j, "storage",
        json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:f,s:f,s:b}", "disk_total",
                  (json_int_t)s->disk_total, "disk_free", (json_int_t)s->disk_free, "disk_avail",
                  (json_int_t)s->disk_avail, "disk_sample_age_ms", (json_int_t)s->disk_age_ms,
                  "chunk_bytes_written", (json_int_t)s->chunk.bytes_written, "chunk_bytes_read",
                  (json_int_t)s->chunk.bytes_read, "corrupt_reads", (json_int_t)s->chunk.corrupt_reads,
                  "meta_commits", (json_int_t)s->meta.commits, "commit_p99_s",
                  hf_hist_quantile(&s->meta.commit_us, 0.99) / 1e6, "fsync_p99_s",
                  hf_hist_quantile(&s->fsync_us, 0.99) / 1e6, "meta_failed", s->meta_failed));
    json_object_set_new(j, "process",
                        json_pack("{s:I,s:i,s:I,s:I,s:I,s:I,s:I}", "connections",
                                  (json_int_t)s->srv.conns_open, "workers", s->srv.workers,
                                  "threads", (json_int_t)s->threads, "open_fds",
                                  (json_int_t)s->open_fds, "max_fds", (json_int_t)s->max_fds,
                                  "rss_bytes", (json_int_t)s->rss_bytes, "in_flight",
                                  (json_int_t)s->srv.requests_inflight));
    json_t *ops = json_array();
    for (size_t i = 0; i <= HF_S3_NOPS; i++) {
        const hf_s3_op_stat_t *o = &s->ops[i];
        if (!o->requests)
            continue;
        uint64_t e5 = op_errors(o, 500), e4 = op_errors(o, 400) - e5;
        json_array_append_new(ops, json_pack("{s:s,s:I,s:I,s:I,s:f}", "op", o->name, "requests",
                                             (json_int_t)o->requests, "err4", (json_int_t)e4,
                                             "err5", (json_int_t)e5, "p99_s",
                                             hf_hist_quantile(&o->latency_us, 0.99) / 1e6));
    }
    json_object_set_new(j, "operations", ops);
    json_t *rec = json_array();
    for (size_t i = 0; i < s->nrecent; i++) {
        char t[32];
        hf_time_iso8601(t, s->recent[i].time_ns);
        json_array_append_new(rec, json_pack("{s:s,s:s,s:s}", "time", t, "level",
                                             s->recent[i].level == HF_LOG_ERROR ? "error" : "warn",
                                             "line", s->recent[i].line));
    }
    json_object_set_new(j, "recent_errors", rec);
    if (s->have_cluster)
        json_object_set_new(j, "cluster", status_cluster_json(s));
    return j;
}
