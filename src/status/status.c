/*
 * status.c -- health and admin endpoints on the status listener; see
 * status.h. Health answers from process-local flags only; admin calls go to
 * the metadata store but never more than one at a time.
 */
#include "status/status.h"

#include "status/internal.h"

#include "status/audit.h"

#include "auth/sigv4.h"
#include "base/err.h"
#include "base/fiber.h"
#include "base/iopool.h"
#include "base/fault.h"
#include "base/log.h"
#include "base/rand.h"
#include "base/str.h"
#include "base/time.h"
#include "net/loop.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


void hf_status_init(hf_status_t *st, hf_meta_t *meta, const char *region)
{
    memset(st, 0, sizeof *st);
    st->meta = meta;
    snprintf(st->region, sizeof st->region, "%s", region);
    st->started_ns = hf_time_now();
    pthread_mutex_init(&st->root_cred_mu, NULL);
}

void hf_status_fini(hf_status_t *st)
{
    pthread_mutex_destroy(&st->root_cred_mu);
}

int hf_status_gen_keys(char *access_key, char *secret_key)
{
    static const char up[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    static const char alnum[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    unsigned char r[64];
    int rc = hf_rand_bytes(r, sizeof r);
    if (rc)
        return rc;
    access_key[0] = 'H';
    access_key[1] = 'F';
    for (int i = 2; i < 20; i++)
        access_key[i] = up[r[i] & 31]; /* 32 symbols: no modulo bias */
    access_key[20] = '\0';
    /* 62 symbols: reject bytes >= 248 to avoid bias, drawing more as needed. */
    int o = 0;
    while (o < 40) {
        rc = hf_rand_bytes(r, sizeof r);
        if (rc)
            return rc;
        for (size_t i = 0; i < sizeof r && o < 40; i++)
            if (r[i] < 248)
                secret_key[o++] = alnum[r[i] % 62];
    }
    secret_key[40] = '\0';
    return HF_OK;
}

const char *hf_status_check_user_name(const char *name)
{
    size_t n = strlen(name);
    if (n < 1 || n > HF_USER_NAME_MAX)
        return "user names are 1 to 64 characters";
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.' || c == '@'))
            return "user names may contain letters, digits and - _ . @ only";
    }
    return NULL;
}

static const char *check_key_chars(const char *k, size_t min, size_t max, const char *what)
{
    size_t n = strlen(k);
    if (n < min || n > max)
        return what;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)k[i];
        if (c <= 0x20 || c >= 0x7f)
            return "keys are printable ASCII without spaces";
    }
    return NULL;
}

const char *hf_status_check_access_key(const char *key)
{
    const char *e = check_key_chars(key, HF_ACCESS_KEY_MIN, HF_ACCESS_KEY_MAX,
                                    "access keys are 3 to 128 characters");
    if (e)
        return e;
    /* The key appears in "Credential=KEY/date/..." and must not contain '/'. */
    if (strchr(key, '/') || strchr(key, ',') || strchr(key, '='))
        return "access keys cannot contain '/', ',' or '='";
    return NULL;
}

const char *hf_status_check_secret_key(const char *key)
{
    return check_key_chars(key, HF_SECRET_KEY_MIN, HF_SECRET_KEY_MAX,
                           "secret keys are 8 to 128 characters");
}

/* ---- responses ------------------------------------------------------------ */

static void send_json(hf_req_t *r, int status, json_t *j)
{
    char *s = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    hf_resp_header(r, "Content-Type", "application/json");
    hf_resp_header(r, "Cache-Control", "no-store");
    if (s) {
        size_t n = strlen(s);
        char *body = hf_arena_alloc(&r->arena, n + 1);
        if (body) {
            memcpy(body, s, n);
            body[n] = '\n';
        }
        free(s);
        hf_resp_send(r, status, body, body ? n + 1 : 0);
    } else {
        hf_resp_send(r, 500, NULL, 0);
    }
}

void status_send_json(hf_req_t *r, int status, json_t *j)
{
    send_json(r, status, j);
}

void status_send_error(status_call_t *c, int status, const char *code, const char *msg)
{
    c->error = code;
    send_json(c->r, status, json_pack("{s:s,s:s}", "error", code, "message", msg));
}

static void send_text(hf_req_t *r, int status, const char *text)
{
    hf_resp_header(r, "Content-Type", "text/plain; charset=utf-8");
    hf_resp_header(r, "Cache-Control", "no-store");
    hf_resp_send(r, status, text, strlen(text));
}

/* ---- admin ------------------------------------------------------------------ */

/* Who signed an admin call, for its audit record. */
typedef struct admin_who {
    char user[HF_USER_NAME_MAX + 1];
    char key_id[HF_ACCESS_KEY_MAX + 1];
} admin_who_t;

static int admin_auth(status_call_t *c, admin_who_t *who)
{
    hf_status_t *st = c->st;
    hf_req_t *r = c->r;
    hf_http_req_t *h = &r->http;
    hf_sigv4_input_t in = {h->method, h->path, h->query, h->headers, h->nheaders};
    hf_sigv4_t a;
    char msg[512] = "";
    int s = hf_sigv4_parse(&in, &a, msg, sizeof msg);
    if (s != HF_AUTH_OK || a.kind == HF_AUTH_ANONYMOUS) {
        status_send_error(c, 403, "AccessDenied",
                   s != HF_AUTH_OK ? msg : "admin requests must be signed with the root key");
        return -1;
    }
    hf_user_t u;
    int rc = hf_meta_user_by_key(st->meta, a.access_key, &u);
    if (rc || !(u.flags & HF_USER_ROOT)) {
        status_send_error(c, 403, "AccessDenied", "admin requests must be signed with the root key");
        return -1;
    }
    s = hf_sigv4_verify(&in, &a, u.secret_key, st->region, hf_time_now() / 1000000000, NULL, msg,
                        sizeof msg);
    if (s != HF_AUTH_OK) {
        status_send_error(c, 403, "SignatureDoesNotMatch", msg);
        return -1;
    }
    if (a.payload_mode != HF_PAYLOAD_SHA256 && a.payload_mode != HF_PAYLOAD_UNSIGNED) {
        status_send_error(c, 400, "InvalidRequest", "admin bodies are sent in one piece");
        return -1;
    }
    snprintf(who->user, sizeof who->user, "%s", u.name);
    snprintf(who->key_id, sizeof who->key_id, "%s", a.access_key);
    return 0;
}

/* PUT /admin/v1/faults (body: a fault set, fault.h), GET, DELETE. Only
 * when the server was started with fault injection enabled. */
static void faults(status_call_t *c, hf_str_t rest)
{
    if (rest.n) {
        status_send_error(c, 404, "NotFound", "no such admin endpoint");
        return;
    }
    if (hf_str_eq(c->r->http.method, "PUT"))
        status_audit_note(c, "faults.set", NULL, NULL);
    else if (hf_str_eq(c->r->http.method, "DELETE"))
        status_audit_note(c, "faults.clear", NULL, NULL);
    if (!c->st->faults_enabled) {
        status_send_error(c, 403, "FaultInjectionDisabled",
                   "start the server with --fault-injection to use fault sets");
        return;
    }
    if (hf_str_eq(c->r->http.method, "PUT")) {
        hf_buf_t body;
        hf_buf_init(&body, 16 * 1024);
        int rc = hf_req_read_all(c->r, &body);
        char spec[16 * 1024 + 1], err[256] = "";
        if (rc == HF_OK) {
            memcpy(spec, body.data ? body.data : "", body.len);
            spec[body.len] = '\0';
        }
        hf_buf_free(&body);
        if (rc) {
            status_send_error(c, 400, "InvalidRequest", "could not read the fault set (at most 16 KiB)");
            return;
        }
        status_audit_note(c, "faults.set", NULL, json_pack("{s:s}", "faults", spec));
        if (hf_fault_set(spec, err, sizeof err) != HF_OK) {
            status_send_error(c, 400, "InvalidFaultSet", err);
            return;
        }
        hf_log_warn("msg=\"fault set installed\" faults=\"%.200s\"", spec);
    } else if (hf_str_eq(c->r->http.method, "DELETE")) {
        hf_fault_clear();
        hf_log_warn("msg=\"fault set cleared\"");
    } else if (!hf_str_eq(c->r->http.method, "GET")) {
        status_send_error(c, 405, "MethodNotAllowed", "use GET, PUT or DELETE");
        return;
    }
    char desc[4096];
    hf_fault_describe(desc, sizeof desc);
    status_send_json(c->r, 200, json_pack("{s:s,s:I}", "faults", desc, "fired", (json_int_t)hf_fault_fired()));
}

/* An admin resource that only answers GET on itself: false (after
 * answering 404/405) for anything else. */
static bool plain_get(status_call_t *c, hf_str_t rest)
{
    if (rest.n) {
        status_send_error(c, 404, "NotFound", "no such admin endpoint");
        return false;
    }
    if (!hf_str_eq(c->r->http.method, "GET")) {
        status_send_error(c, 405, "MethodNotAllowed", "use GET");
        return false;
    }
    return true;
}

/* A snapshot rendered as JSON by render, answered 200. */
static void snap_json(status_call_t *c, json_t *(*render)(const status_snap_t *s))
{
    status_snap_t *snap = malloc(sizeof *snap);
    if (!snap) {
        status_send_error(c, 500, "InternalError", "out of memory");
        return;
    }
    status_snap_take(c->st, snap);
    json_t *j = render(snap);
    status_snap_free(snap);
    free(snap);
    status_send_json(c->r, 200, j);
}

/* GET /admin/v1/status: what the status page shows, as JSON. */
static void status_json(status_call_t *c, hf_str_t rest)
{
    if (plain_get(c, rest))
        snap_json(c, status_render_json);
}

/* GET /admin/v1/cluster: the cluster as this node sees it (its own copy:
 * answers while etcd is down, and says so). */
static void cluster(status_call_t *c, hf_str_t rest)
{
    if (!plain_get(c, rest))
        return;
    if (!c->st->cluster) {
        status_send_error(c, 404, "NotACluster", "this server is a single node (no --cluster)");
        return;
    }
    snap_json(c, status_cluster_json);
}

/* GET /admin/v1/lifecycle: what the lifecycle worker has done. */
static void lifecycle(status_call_t *c, hf_str_t rest)
{
    if (!plain_get(c, rest))
        return;
    if (!c->st->lifecycle) {
        status_send_error(c, 404, "NotFound", "this server has no lifecycle worker");
        return;
    }
    hf_lifecycle_stats_t l;
    hf_lifecycle_stats(c->st->lifecycle, &l);
    char last[32] = "";
    if (l.last_pass_ns)
        hf_time_iso8601(last, l.last_pass_ns);
    status_send_json(c->r, 200, json_pack("{s:b,s:I,s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "running", l.running,
                                "passes", (json_int_t)l.passes, "last_pass", last, "examined",
                                (json_int_t)l.examined, "expired", (json_int_t)l.expired,
                                "noncurrent_expired", (json_int_t)l.noncurrent_expired,
                                "markers_removed", (json_int_t)l.markers_removed,
                                "uploads_aborted", (json_int_t)l.uploads_aborted, "held",
                                (json_int_t)l.held, "errors", (json_int_t)l.errors));
}

/* GET /admin/v1/store: both stores' state, free space and reserve.
 * POST /admin/v1/store/reopen: verified reopen of the chunk store. */
static void store(status_call_t *c, hf_str_t rest)
{
    bool reopen = hf_str_eq(rest, "/reopen");
    if (!(rest.n == 0 || reopen)) {
        status_send_error(c, 404, "NotFound", "no such admin endpoint");
        return;
    }
    if (reopen != hf_str_eq(c->r->http.method, "POST") ||
        (!reopen && !hf_str_eq(c->r->http.method, "GET"))) {
        status_send_error(c, 405, "MethodNotAllowed", reopen ? "use POST" : "use GET");
        return;
    }
    if (!c->st->chunks) {
        status_send_error(c, 404, "NotFound", "no chunk store");
        return;
    }
    char why[256] = "";
    int status = 200;
    if (reopen)
        status_audit_note(c, "store.reopen", "chunks", NULL);
    if (reopen) {
        int rc = hf_chunk_store_recover(c->st->chunks, why, sizeof why);
        if (rc) {
            status_send_error(c, 503, "ReopenFailed", why);
            return;
        }
        hf_log_warn("msg=\"chunk store reopened by an admin request\"");
    }
    int cerr = 0, merr = 0;
    bool cf = hf_chunk_failed(c->st->chunks, &cerr, why, sizeof why);
    bool mf = hf_meta_failed(c->st->meta, &merr);
    uint64_t avail = 0;
    int src = hf_chunk_space_check(c->st->chunks, 0, &avail);
    json_t *j = json_pack("{s:{s:s,s:s},s:{s:s,s:s},s:I,s:I,s:b}",
                          "chunks", "state", cf ? "failed" : "ok", "reason", cf ? why : "",
                          "meta", "state", mf ? "failed" : "ok", "reason",
                          mf ? hf_strerror(merr) : "",
                          "free_bytes", (json_int_t)avail, "reserve_bytes",
                          (json_int_t)hf_chunk_reserve(c->st->chunks), "below_reserve",
                          src == HF_E_NOSPACE);
    status_send_json(c->r, status, j);
}

/* The master keys as the admin API shows them (no key material). */
static json_t *keys_json(hf_status_t *st)
{
    json_t *arr = json_array();
    size_t n = hf_keyring_count(st->keys);
    for (size_t i = 0; i < n; i++) {
        uint32_t id;
        uint8_t fp[HF_KEYRING_FP_LEN];
        char hex[2 * HF_KEYRING_FP_LEN + 1];
        hf_keyring_entry(st->keys, i, &id, fp);
        hf_hex_encode(hex, fp, sizeof fp);
        json_array_append_new(arr, json_pack("{s:I,s:s}", "id", (json_int_t)id, "fingerprint", hex));
    }
    return json_pack("{s:s,s:I,s:o,s:s}", "key_file", hf_keyring_path(st->keys), "active",
                     (json_int_t)hf_keyring_active(st->keys), "keys", arr, "default",
                     st->s3 && st->s3->sse_default ? "AES256" : "none");
}

/* GET /admin/v1/sse: the SSE-S3 master keys (ids, fingerprints) and
 * the default. POST /admin/v1/sse/rotate: a new master key becomes the
 * active one; objects written before keep naming theirs. */
typedef struct rotate_call {
    hf_keyring_t *keys;
    uint32_t id;
    char why[600];
    int rc;
} rotate_call_t;

/* The key file is written and fsynced: on the blocking-I/O pool. */
static void rotate_job(void *arg)
{
    rotate_call_t *rc = arg;
    rc->rc = hf_keyring_rotate(rc->keys, &rc->id, rc->why, sizeof rc->why);
}

static void sse(status_call_t *c, hf_str_t rest)
{
    hf_status_t *st = c->st;
    bool rotate = hf_str_eq(rest, "/rotate");
    if (!(rest.n == 0 || rotate)) {
        status_send_error(c, 404, "NotFound", "no such admin endpoint");
        return;
    }
    if (rotate != hf_str_eq(c->r->http.method, "POST") ||
        (!rotate && !hf_str_eq(c->r->http.method, "GET"))) {
        status_send_error(c, 405, "MethodNotAllowed", rotate ? "use POST" : "use GET");
        return;
    }
    if (!st->keys) {
        status_send_error(c, 404, "NotFound", "this server has no master keys");
        return;
    }
    if (rotate) {
        status_audit_note(c, "sse.rotate", NULL, NULL);
        rotate_call_t rj = {.keys = st->keys};
        hf_iopool_run(rotate_job, &rj);
        if (rj.rc) {
            status_send_error(c, rj.rc == HF_E_TOOBIG ? 409 : 500, "RotateFailed", rj.why);
            return;
        }
        /* The key is in the file before it wraps anything; its fingerprint
         * goes to the metadata next, so a restart with an older copy of the
         * file is refused. Should this fail, the next start records it. */
        size_t len = HF_KEYRING_FPS_LEN(hf_keyring_count(st->keys));
        uint8_t *fps = malloc(len);
        int rc = fps ? hf_keyring_fingerprints(st->keys, fps, len, &len) : -ENOMEM;
        if (rc == HF_OK)
            rc = hf_meta_sse_keys_put(st->meta, fps, len);
        free(fps);
        if (rc)
            hf_log_error("msg=\"rotated master key not recorded in the metadata\" err=\"%s\"",
                         hf_strerror(rc));
        status_audit_note(c, "sse.rotate", NULL, json_pack("{s:I}", "active", (json_int_t)rj.id));
        hf_log_warn("msg=\"SSE-S3 master key rotated: back up the key file\" file=%s active=%u",
                    hf_keyring_path(st->keys), rj.id);
    }
    status_send_json(c->r, 200, keys_json(st));
}

/* GET /admin/v1/scrub: progress and the damaged objects of the current
 * (or last) pass. POST: start a pass, optional body {"rate": BYTES}. */
static void scrub(status_call_t *c, hf_str_t rest)
{
    if (rest.n) {
        status_send_error(c, 404, "NotFound", "no such admin endpoint");
        return;
    }
    if (!c->st->scrub) {
        status_send_error(c, 404, "NotFound", "this server has no scrubber");
        return;
    }
    bool started = false;
    if (hf_str_eq(c->r->http.method, "POST")) {
        status_audit_note(c, "scrub.start", NULL, NULL);
        hf_buf_t body;
        hf_buf_init(&body, 64 * 1024);
        int rc = hf_req_read_all(c->r, &body);
        json_int_t rate = 0;
        if (rc == HF_OK && body.len) {
            json_error_t je;
            json_t *j = json_loadb(body.data, body.len, 0, &je);
            if (!j || json_unpack(j, "{s?I}", "rate", &rate) || rate < 0) {
                if (j)
                    json_decref(j);
                hf_buf_free(&body);
                status_send_error(c, 400, "InvalidRequest",
                           "expected an empty body or {\"rate\": bytes per second}");
                return;
            }
            json_decref(j);
        }
        hf_buf_free(&body);
        if (rc) {
            status_send_error(c, 400, "InvalidRequest", "could not read the request body");
            return;
        }
        status_audit_note(c, "scrub.start", NULL, json_pack("{s:I}", "rate", rate));
        if (hf_scrub_start(c->st->scrub, (uint64_t)rate) == HF_E_BUSY) {
            status_send_error(c, 409, "ScrubRunning", "a scrub pass is already running");
            return;
        }
        started = true;
        hf_log_info("msg=\"scrub pass requested\" rate=%lld", (long long)rate);
    } else if (!hf_str_eq(c->r->http.method, "GET")) {
        status_send_error(c, 405, "MethodNotAllowed", "use GET or POST");
        return;
    }
    hf_scrub_stats_t ss;
    size_t cap = HF_SCRUB_DAMAGE_MAX, n = 0;
    bool more = false;
    hf_scrub_damage_t *d = malloc(cap * sizeof *d);
    if (!d)
        cap = 0;
    hf_scrub_report(c->st->scrub, &ss, d, cap, &n, &more);
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, json_pack("{s:s,s:s,s:s,s:s}", "bucket", d[i].bucket, "key",
                                             d[i].key, "version", d[i].version, "reason",
                                             d[i].reason));
    free(d);
    char t0[32] = "", t1[32] = "";
    if (ss.pass_started_ns)
        hf_time_iso8601(t0, ss.pass_started_ns);
    if (ss.pass_finished_ns)
        hf_time_iso8601(t1, ss.pass_finished_ns);
    json_t *j = json_pack("{s:b,s:b,s:I,s:I,s:I,s:s,s:s,s:I,s:I,s:I,s:I,s:o,s:b,s:{s:I,s:I,s:I}}",
                          "started", started, "running", ss.running || started,
                          "passes", (json_int_t)ss.passes, "rate", (json_int_t)ss.rate,
                          "interval_s", (json_int_t)ss.interval_s, "pass_started", t0,
                          "pass_finished", t1, "objects", (json_int_t)ss.objects, "bytes",
                          (json_int_t)ss.bytes, "damaged", (json_int_t)ss.damaged, "skipped",
                          (json_int_t)ss.skipped, "damaged_objects", arr, "truncated", more,
                          "totals", "objects", (json_int_t)ss.objects_total, "bytes",
                          (json_int_t)ss.bytes_total, "damaged", (json_int_t)ss.damaged_total);
    status_send_json(c->r, started ? 202 : 200, j);
}

/* GET /admin/v1/audit?since=ISO8601&from=OFFSET: a page of records. */
static void audit_show(status_call_t *c, hf_str_t rest)
{
    if (!plain_get(c, rest))
        return;
    if (!c->st->data_dir[0]) {
        status_send_error(c, 404, "NotFound", "this server keeps no audit log");
        return;
    }
    int64_t since_s = 0;
    uint64_t from = 0;
    hf_str_t q = c->r->http.query;
    while (q.n) {
        const char *amp = memchr(q.p, '&', q.n);
        size_t n = amp ? (size_t)(amp - q.p) : q.n;
        char v[64];
        long vl = -1;
        bool is_since = n >= 6 && memcmp(q.p, "since=", 6) == 0;
        if (is_since && n - 6 < sizeof v)
            vl = hf_uri_decode(v, q.p + 6, n - 6);
        if (is_since && (vl < 0 || hf_time_parse_iso8601(v, (size_t)vl, &since_s) != HF_OK)) {
            status_send_error(c, 400, "InvalidArgument", "since must be a time like 2026-01-02T15:04:05Z");
            return;
        }
        if (n > 5 && memcmp(q.p, "from=", 5) == 0 && hf_parse_u64(q.p + 5, n - 5, &from) != HF_OK) {
            status_send_error(c, 400, "InvalidArgument", "from must be a byte offset");
            return;
        }
        q.p += amp ? n + 1 : n;
        q.n -= amp ? n + 1 : n;
    }
    json_t *recs;
    uint64_t next;
    bool more;
    int rc = hf_audit_read(c->st->data_dir, from, since_s * 1000000000, &recs, &next, &more);
    if (rc) {
        status_send_error(c, 500, "InternalError", hf_strerror(rc));
        return;
    }
    status_send_json(c->r, 200, json_pack("{s:o,s:I,s:b}", "records", recs, "next", (json_int_t)next,
                                "more", more));
}

/* The admin API: one row per resource under /admin/v1/. The handler gets
 * the rest of the path after the resource name ("" or "/..."). */
static const struct {
    const char *path;
    void (*fn)(status_call_t *c, hf_str_t rest);
} admin_routes[] = {
    {"/admin/v1/users", status_users},
    {"/admin/v1/audit", audit_show},
    {"/admin/v1/faults", faults},
    {"/admin/v1/status", status_json},
    {"/admin/v1/store", store},
    {"/admin/v1/scrub", scrub},
    {"/admin/v1/lifecycle", lifecycle},
    {"/admin/v1/cluster", cluster},
    {"/admin/v1/sse", sse},
};

void status_audit_note(status_call_t *c, const char *action, const char *target, json_t *detail)
{
    c->action = action;
    if (target)
        snprintf(c->target, sizeof c->target, "%s", target);
    json_decref(c->detail);
    c->detail = detail;
}

/* The caller's local account as the admin CLI reports it: printable
 * ASCII, bounded, or NULL. */
static const char *local_user(hf_req_t *r, char *out, size_t cap)
{
    const hf_http_header_t *h = hf_http_find(&r->http, "x-holdfast-local-user");
    if (!h || h->value.n == 0)
        return NULL;
    size_t n = h->value.n < HF_AUDIT_LOCAL_USER_MAX ? h->value.n : HF_AUDIT_LOCAL_USER_MAX;
    if (n >= cap)
        n = cap - 1;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)h->value.p[i];
        out[i] = ch >= 0x20 && ch < 0x7f ? (char)ch : '?';
    }
    out[n] = '\0';
    return out;
}

/* Append the audit record of a state-changing admin call, once answered.
 * A record that cannot be written goes to the log at error level, whole
 * (records hold no secrets), so it is not lost; the call's effect stands. */
static void audit_call(status_call_t *c, const admin_who_t *who, hf_str_t path)
{
    hf_status_t *st = c->st;
    hf_req_t *r = c->r;
    char generic[96], lu[HF_AUDIT_LOCAL_USER_MAX + 1];
    if (!c->action) {
        /* No handler claimed the call (an unknown endpoint or method): it
         * is recorded as what was asked. */
        snprintf(generic, sizeof generic, "%.*s %.*s", (int)r->http.method.n, r->http.method.p,
                 (int)(path.n < 64 ? path.n : 64), path.p);
        c->action = generic;
    }
    int status = hf_resp_status(r);
    hf_audit_rec_t rec = {
        .request_id = r->id,
        .actor = {.via = "admin-api", .user = who->user, .key_id = who->key_id, .peer = r->peer,
                  .local_user = local_user(r, lu, sizeof lu)},
        .action = c->action,
        .target = c->target[0] ? c->target : NULL,
        .status = status,
        .error = status >= 300 ? (c->error ? c->error : "Error") : NULL,
        .detail = c->detail,
    };
    if (!st->data_dir[0])
        return;
    int rc = hf_audit_append(st->data_dir, &rec);
    if (rc) {
        char *line = hf_audit_format(&rec);
        hf_log_error("msg=\"audit log write failed; the record follows\" err=\"%s\" record=%s",
                     hf_strerror(rc), line ? line : "(out of memory)");
        free(line);
    }
}

/* Admin calls run concurrently, each on the status worker that received
 * it. Reads (GET, HEAD) never wait and are never refused: they read LMDB
 * snapshots, files and counters. Changes need no lock of their own here:
 * each is one atomic operation of the store it changes (the metadata
 * writer serializes them), and the one file a change rewrites outside a
 * store (root-credentials) has its own lock (users.c). What is bounded is
 * how many status workers changes may hold at once (a change waits for
 * its commit, or for etcd, and a wedged disk or an unreachable etcd would
 * otherwise take every worker): HF_STATUS_ADMIN_WRITES_MAX, which leaves
 * the other workers to health checks, /metrics, the page and reads. A
 * change beyond it is answered 503 Busy with Retry-After, and the admin
 * CLI retries those until its deadline, so an operator never sees it. */
static void admin(hf_status_t *st, hf_req_t *r, hf_str_t path)
{
    bool change = !hf_str_eq(r->http.method, "GET") && !hf_str_eq(r->http.method, "HEAD");
    status_call_t call = {.st = st, .r = r};
    if (change && atomic_fetch_add(&st->admin_writes, 1) >= HF_STATUS_ADMIN_WRITES_MAX) {
        atomic_fetch_sub(&st->admin_writes, 1);
        atomic_fetch_add(&st->admin_busy_total, 1);
        hf_resp_header(r, "Retry-After", "1");
        char msg[128];
        snprintf(msg, sizeof msg, "%d admin changes are running; retry", HF_STATUS_ADMIN_WRITES_MAX);
        status_send_error(&call, 503, "Busy", msg);
        return;
    }
    admin_who_t who;
    /* Refused signatures are not recorded: anyone who reaches the port
     * could fill the disk with them. */
    if (admin_auth(&call, &who))
        goto out;
    bool found = false;
    for (size_t i = 0; i < sizeof admin_routes / sizeof admin_routes[0] && !found; i++) {
        size_t l = strlen(admin_routes[i].path);
        if (path.n >= l && memcmp(path.p, admin_routes[i].path, l) == 0 &&
            (path.n == l || path.p[l] == '/')) {
            admin_routes[i].fn(&call, (hf_str_t){path.p + l, path.n - l});
            found = true;
        }
    }
    if (!found)
        status_send_error(&call, 404, "NotFound", "no such admin endpoint");
    if (change)
        audit_call(&call, &who, path);
out:
    json_decref(call.detail);
    if (change)
        atomic_fetch_sub(&st->admin_writes, 1);
}

/* ---- the page and /metrics --------------------------------------------------- */

/* Both views are at most a few hundred KiB (per-key lines for every key
 * dominate); the cap is far above that and far below memory trouble. */
#define VIEW_MAX (8 * 1024 * 1024)

static void view(hf_status_t *st, hf_req_t *r, bool metrics)
{
    status_snap_t *snap = malloc(sizeof *snap);
    if (!snap) {
        send_text(r, 500, "out of memory\n");
        return;
    }
    status_snap_take(st, snap);
    hf_buf_t b;
    hf_buf_init(&b, VIEW_MAX);
    int rc = metrics ? status_render_metrics(snap, &b) : status_render_page(snap, &b);
    status_snap_free(snap);
    free(snap);
    if (rc) {
        hf_buf_free(&b);
        send_text(r, 500, "could not render\n");
        return;
    }
    hf_resp_header(r, "Content-Type", metrics ? "text/plain; version=0.0.4; charset=utf-8"
                                             : "text/html; charset=utf-8");
    hf_resp_header(r, "Cache-Control", "no-store");
    hf_resp_send(r, 200, b.data, b.len);
    hf_buf_free(&b);
}

/* ---- routing ---------------------------------------------------------------- */

void hf_status_handle(void *ctx, hf_req_t *r)
{
    hf_status_t *st = ctx;
    hf_str_t path = r->http.path;
    bool get = hf_str_eq(r->http.method, "GET") || hf_str_eq(r->http.method, "HEAD");
    if (hf_str_eq(path, "/health/live")) {
        if (!get) {
            send_text(r, 405, "method not allowed\n");
            return;
        }
        send_text(r, 200, "ok\n");
        return;
    }
    if (hf_str_eq(path, "/health/ready")) {
        if (!get) {
            send_text(r, 405, "method not allowed\n");
            return;
        }
        int err = 0;
        char why[256], line[320];
        if (!atomic_load(&st->s3_ready)) {
            send_text(r, 503, "starting\n");
        } else if (hf_meta_failed(st->meta, &err)) {
            snprintf(line, sizeof line,
                     "metadata store refuses writes after a failed commit (%s); restart the server\n",
                     hf_strerror(err));
            send_text(r, 503, line);
        } else if (st->chunks && hf_chunk_failed(st->chunks, &err, why, sizeof why)) {
            snprintf(line, sizeof line,
                     "chunk store refuses writes: %s; run 'holdfast admin store reopen'\n", why);
            send_text(r, 503, line);
        } else {
            send_text(r, 200, "ready\n");
        }
        return;
    }
    if (hf_str_eq(path, "/") || hf_str_eq(path, "/metrics")) {
        if (!get) {
            send_text(r, 405, "method not allowed\n");
            return;
        }
        view(st, r, path.n > 1);
        return;
    }
    if (path.n >= 7 && memcmp(path.p, "/admin/", 7) == 0) {
        admin(st, r, path);
        return;
    }
    send_text(r, 404, "not found\n");
}
