/*
 * admin_cmd.c -- `holdfast admin ...`: a client of the status listener's
 * admin API (status/status.h). Requests are SigV4-signed with the root key,
 * found in HOLDFAST_ACCESS_KEY / HOLDFAST_SECRET_KEY or in the data
 * directory's root-credentials file. HTTP goes through libcurl.
 *
 *   holdfast admin [--admin URL] [--data DIR] user ...   (admin_users.c)
 *   holdfast admin [--admin URL] [--data DIR] audit show [--since T] [--json]
 *   holdfast admin [--admin URL] [--data DIR] faults show|set SPEC|clear
 *   holdfast admin [--admin URL] [--data DIR] status [--json]
 *   holdfast admin [--admin URL] [--data DIR] scrub run|start [--rate SIZE] | status
 *   holdfast admin [--admin URL] [--data DIR] store status|reopen
 *   holdfast admin [--admin URL] [--data DIR] lifecycle status
 *   holdfast admin [--admin URL] [--data DIR] sse status|rotate
 *
 * Commands are a table (group, verb, handler); each handler gets the words
 * after the group (argv[0] is the verb). Every request carries
 * x-holdfast-local-user (signed), the account running the command, which
 * the server writes into its audit log.
 */
#include "cli/cli.h"

#include "cli/admin.h"

#include "auth/sigv4.h"
#include "base/buf.h"
#include "base/err.h"
#include "base/fault.h"
#include "base/hash.h"
#include "base/rand.h"
#include "base/str.h"
#include "base/time.h"
#include "status/status.h"

#include <curl/curl.h>
#include <getopt.h>
#include <stdbool.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void usage(FILE *f)
{
    fprintf(f,
            "usage: holdfast admin [--admin URL] [--data DIR] <command>\n"
            "\n"
            "commands:\n"
            "  user create NAME [--no-create-bucket]              create a user, print its keys\n"
            "       [--access-key K --secret-key-file FILE|-]     (import a key; '-' reads stdin)\n"
            "  user list                                          list users\n"
            "  user show NAME                                     a user's settings and keys\n"
            "  user delete NAME                                   delete a user\n"
            "  user disable NAME | enable NAME                    refuse / accept the user's keys\n"
            "  user set NAME --create-bucket=true|false           allow or deny CreateBucket\n"
            "  user key rotate NAME [--grace DUR]                 new key (printed once); the old\n"
            "                                                     one works DUR more (default 24h,\n"
            "                                                     0: revoked at once)\n"
            "  user key list NAME                                 the user's keys and their states\n"
            "  user key delete NAME ACCESS_KEY                    end a retiring key's grace now\n"
            "  audit show [--since T] [--json]                    the audit log of admin actions (T:\n"
            "                                                     2026-01-02T15:04:05Z or e.g. 1h ago)\n"
            "  faults show | set SPEC | clear                     injected faults (servers started\n"
            "                                                     with --fault-injection only)\n"
            "  status [--json]                                    what the status page shows: state,\n"
            "                                                     traffic, shedding, storage, errors\n"
            "  scrub run [--rate SIZE]                            scrub every object now, wait, list\n"
            "                                                     damaged ones (exit 1 if any)\n"
            "  scrub start [--rate SIZE]                          start a scrub pass, do not wait\n"
            "  scrub status                                       progress and damaged objects\n"
            "  store status                                       stores' state, free space, reserve\n"
            "  store reopen                                       verify the chunk store and accept\n"
            "                                                     writes again after an I/O error\n"
            "  lifecycle status                                   what the lifecycle worker did\n"
            "  sse status                                         the SSE-S3 master keys (ids and\n"
            "                                                     fingerprints) and the active one\n"
            "  sse rotate                                         a new master key encrypts new\n"
            "                                                     objects; older ones still read\n"
            "  nodes [--json]                                     the cluster's nodes as this node\n"
            "                                                     sees them: zone, state, layout\n"
            "                                                     generation served, last seen\n"
            "\n"
            "cluster (etcd directly, with --cluster; exit 0 applied, 3 refused by a rule, 4 the\n"
            "generation moved on):\n"
            "  layout show [--json]                               the current layout and its nodes\n"
            "  layout plan [--add ID]... [--remove ID]...         what a change would do and every\n"
            "       [--capacity ID=SIZE]... [--max-removal-step N|P%%] [--force-removal N] [--json]\n"
            "                                                     rule it breaks; writes nothing\n"
            "  layout apply --generation G [same flags as plan]   apply if G is still current and\n"
            "                                                     every rule holds at the swap\n"
            "  layout history [--json]                            every kept generation: who, when, what\n"
            "  layout pin G | unpin                               nodes keep G, ignore newer ones\n"
            "  layout revert G [--force-removal N] [--json]       put generation G back (same rules)\n"
            "\n"
            "  --admin URL   the server's status listener (env HOLDFAST_ADMIN,\n"
            "                default http://127.0.0.1:9001)\n"
            "  --data DIR    where to find root-credentials (env HOLDFAST_DATA, default ./data),\n"
            "                unless HOLDFAST_ACCESS_KEY and HOLDFAST_SECRET_KEY are set\n"
            "  --region R    region the server signs for (env HOLDFAST_REGION, default us-east-1)\n"
            "  --cluster URL etcd://HOST:PORT[,HOST:PORT...][/PREFIX] of the cluster (env\n"
            "                HOLDFAST_CLUSTER): layout commands\n");
}

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    hf_buf_t *b = ud;
    if (hf_buf_append(b, p, size * n))
        return 0;
    return size * n;
}

/* Perform one signed request. Returns the HTTP status (or -1) and the body
 * in out. */
static long request(admin_ctx_t *c, const char *method, const char *path, const char *body,
                    hf_buf_t *out)
{
    size_t blen = body ? strlen(body) : 0;
    unsigned char sha[HF_SHA256_LEN];
    char sha_hex[65], amz_date[17], auth[1024];
    hf_sha256(body ? body : "", blen, sha);
    hf_hex_encode(sha_hex, sha, sizeof sha);
    hf_time_amz(amz_date, hf_time_now());
    const char *query = strchr(path, '?');
    size_t plen = query ? (size_t)(query - path) : strlen(path);
    hf_http_header_t hs[4] = {
        {{"host", 4}, {c->host, strlen(c->host)}},
        {{"x-amz-content-sha256", 20}, {sha_hex, 64}},
        {{"x-amz-date", 10}, {amz_date, 16}},
        {{"x-holdfast-local-user", 21}, {c->local_user, strlen(c->local_user)}},
    };
    hf_sigv4_input_t in = {{method, strlen(method)}, {path, plen},
                           {query ? query + 1 : "", query ? strlen(query + 1) : 0}, hs, 4};
    if (hf_sigv4_sign_header(&in, c->ak, c->sk, c->region, "s3", amz_date,
                             "host;x-amz-content-sha256;x-amz-date;x-holdfast-local-user", sha_hex,
                             auth, sizeof auth) != HF_OK) {
        fprintf(stderr, "holdfast admin: cannot sign the request (check the root key)\n");
        return -1;
    }
    CURL *h = curl_easy_init();
    if (!h)
        return -1;
    char url[2048], hdr[4][1200];
    snprintf(url, sizeof url, "%s%s", c->url, path);
    snprintf(hdr[0], sizeof hdr[0], "x-amz-content-sha256: %s", sha_hex);
    snprintf(hdr[1], sizeof hdr[1], "x-amz-date: %s", amz_date);
    snprintf(hdr[2], sizeof hdr[2], "Authorization: %s", auth);
    snprintf(hdr[3], sizeof hdr[3], "x-holdfast-local-user: %s", c->local_user);
    struct curl_slist *list = NULL;
    for (int i = 0; i < 4; i++)
        list = curl_slist_append(list, hdr[i]);
    list = curl_slist_append(list, "Content-Type: application/json");
    list = curl_slist_append(list, "Expect:");
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, list);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, out);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 30L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    if (body) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)blen);
    }
    CURLcode cc = curl_easy_perform(h);
    long status = -1;
    if (cc == CURLE_OK)
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    else
        fprintf(stderr, "holdfast admin: cannot reach %s: %s (is the server running? see --admin)\n",
                c->url, curl_easy_strerror(cc));
    curl_slist_free_all(list);
    curl_easy_cleanup(h);
    return status;
}

static int report_error(long status, hf_buf_t *body)
{
    json_error_t je;
    json_t *j = body->len ? json_loadb(body->data, body->len, 0, &je) : NULL;
    const char *msg = NULL, *code = NULL;
    if (j)
        json_unpack(j, "{s?s,s?s}", "error", &code, "message", &msg);
    fprintf(stderr, "holdfast admin: server answered %ld%s%s%s%s\n", status, code ? " " : "",
            code ? code : "", msg ? ": " : "", msg ? msg : "");
    if (j)
        json_decref(j);
    return 1;
}

/* true if the answer is the status listener's "Busy": more admin changes
 * than it runs at once were in progress, and this one was refused before
 * it did anything (status.h), so sending it again is safe. */
static bool answered_busy(long status, const hf_buf_t *body)
{
    if (status != 503 || !body->len)
        return false;
    json_error_t je;
    json_t *j = json_loadb(body->data, body->len, 0, &je);
    const char *code = NULL;
    bool busy = j && !json_unpack(j, "{s:s}", "error", &code) && strcmp(code, "Busy") == 0;
    json_decref(j);
    return busy;
}

/* One request that must answer `want`: on success *j (may be NULL) gets
 * the parsed JSON body, owned by the caller (json_decref); returns 0. A
 * different status is reported on stderr and gives 1. A Busy answer is
 * retried, with a growing jittered pause, for up to ADMIN_BUSY_WAIT_MS:
 * scripts that run admin commands side by side must not fail for it. */
#define ADMIN_BUSY_WAIT_MS (120 * 1000)
static int call(admin_ctx_t *c, const char *method, const char *path, const char *body, long want,
                json_t **j)
{
    hf_buf_t out;
    hf_buf_init(&out, 16 << 20);
    int64_t give_up = hf_mono_ms() + ADMIN_BUSY_WAIT_MS;
    long pause_ms = 20;
    long st = request(c, method, path, body, &out);
    while (answered_busy(st, &out) && hf_mono_ms() < give_up) {
        unsigned char r = 0;
        hf_rand_bytes(&r, 1);
        struct timespec ts = {0, (pause_ms / 2 + (long)r * pause_ms / 512) * 1000000L};
        nanosleep(&ts, NULL);
        if (pause_ms < 1000)
            pause_ms *= 2;
        hf_buf_reset(&out);
        st = request(c, method, path, body, &out);
    }
    int rc = 1;
    if (j)
        *j = NULL;
    if (st == want) {
        json_error_t je;
        if (j && out.len)
            *j = json_loadb(out.data, out.len, 0, &je);
        rc = j && !*j && out.len ? 1 : 0;
        if (rc)
            fprintf(stderr, "holdfast admin: the server's answer is not JSON\n");
    } else if (st > 0) {
        rc = report_error(st, &out);
    }
    hf_buf_free(&out);
    return rc;
}

int hf_admin_call(admin_ctx_t *c, const char *method, const char *path, const char *body,
                  long want, json_t **j)
{
    return call(c, method, path, body, want, j);
}

/* faults show|set|clear: GET/PUT/DELETE /admin/v1/faults. */
static int faults_call(admin_ctx_t *c, const char *method, const char *spec)
{
    json_t *j;
    int rc = call(c, method, "/admin/v1/faults", spec, 200, &j);
    if (rc)
        return rc;
    const char *f = NULL;
    json_int_t fired = 0;
    rc = 1;
    if (j && !json_unpack(j, "{s:s,s:I}", "faults", &f, "fired", &fired)) {
        printf("faults: %s\nfired:  %lld\n", *f ? f : "(none)", (long long)fired);
        rc = 0;
    }
    json_decref(j);
    return rc;
}

static int faults_show(admin_ctx_t *c, int argc, char **argv)
{
    (void)argv;
    if (argc != 1) {
        fprintf(stderr, "usage: holdfast admin faults show\n");
        return 2;
    }
    return faults_call(c, "GET", NULL);
}

static int faults_set(admin_ctx_t *c, int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: holdfast admin faults set SPEC   (e.g. fsync:delay=200/path=/chunks/)\n");
        return 2;
    }
    char why[256];
    if (hf_fault_check(argv[1], why, sizeof why) != HF_OK) {
        fprintf(stderr, "holdfast admin: %s\n", why);
        return 2;
    }
    return faults_call(c, "PUT", argv[1]);
}

static int faults_clear(admin_ctx_t *c, int argc, char **argv)
{
    (void)argv;
    if (argc != 1) {
        fprintf(stderr, "usage: holdfast admin faults clear\n");
        return 2;
    }
    return faults_call(c, "DELETE", NULL);
}

/* ---- status --------------------------------------------------------------- */

static double jnum(json_t *o, const char *k)
{
    return json_number_value(json_object_get(o, k));
}

static long long jint(json_t *o, const char *k)
{
    return (long long)json_integer_value(json_object_get(o, k));
}

static const char *jstr(json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

static const char *human_secs(char *out, size_t n, double s)
{
    if (s < 1)
        snprintf(out, n, "%.1f ms", s * 1e3);
    else
        snprintf(out, n, "%.2f s", s);
    return out;
}

/* The status page, for a terminal: the same snapshot (GET /admin/v1/status). */
static int status_show(admin_ctx_t *c, int argc, char **argv)
{
    /* argv[0] is the verb: "--json", or nothing at all. */
    bool raw = argc == 1 && strcmp(argv[0], "--json") == 0;
    if (argc > 1) {
        fprintf(stderr, "usage: holdfast admin status [--json]\n");
        return 2;
    }
    json_t *j;
    int rc = call(c, "GET", "/admin/v1/status", NULL, 200, &j);
    if (rc)
        return rc;
    if (!j)
        return 1;
    if (raw) {
        char *t = json_dumps(j, JSON_INDENT(2) | JSON_SORT_KEYS);
        if (t)
            printf("%s\n", t);
        free(t);
        json_decref(j);
        return 0;
    }
    char a[48], b[48], d[48], e[48], f[48];
    json_t *rq = json_object_get(j, "requests"), *ad = json_object_get(j, "admission"),
           *sto = json_object_get(j, "storage"), *pr = json_object_get(j, "process");
    long long up = jint(j, "uptime_s");
    printf("holdfast: %s%s%s%s\n", jstr(j, "state"), *jstr(j, "reasons") ? " (" : "",
           jstr(j, "reasons"), *jstr(j, "reasons") ? ")" : "");
    printf("  up %lldh %02lldm %02llds, %s\n\n", up / 3600, up % 3600 / 60, up % 60,
           json_is_true(json_object_get(j, "ready")) ? "accepting S3 traffic"
                                                     : "NOT accepting S3 traffic");
    printf("%-12s %.1f/s, 5xx %.1f/s, 4xx %.1f/s, p50 %s, p99 %s, %lld total\n", "requests",
           jnum(rq, "rate"), jnum(rq, "err5_rate"), jnum(rq, "err4_rate"),
           human_secs(a, sizeof a, jnum(rq, "p50_s")), human_secs(b, sizeof b, jnum(rq, "p99_s")),
           jint(rq, "total"));
    if (ad)
        printf("%-12s %.1f/s now; in flight %lld/%lld, queued %lld/%lld, per key %lld; shed %lld "
               "(full %lld, queue timeout %lld, per key %lld, connections %lld)\n",
               "shedding", jnum(rq, "shed_rate"), jint(ad, "in_flight"), jint(ad, "max_inflight"),
               jint(ad, "queued"), jint(ad, "queue_max"), jint(ad, "per_key_max"), jint(ad, "shed"),
               jint(ad, "shed_full"), jint(ad, "shed_queue_timeout"), jint(ad, "shed_per_key"),
               jint(ad, "shed_connections"));
    printf("%-12s disk %s used of %s (%s available); commits %lld, commit p99 %s, fsync p99 %s%s\n",
           "storage",
           hf_str_bytes(a, sizeof a, jnum(sto, "disk_total") - jnum(sto, "disk_free")),
           hf_str_bytes(b, sizeof b, jnum(sto, "disk_total")),
           hf_str_bytes(d, sizeof d, jnum(sto, "disk_avail")), jint(sto, "meta_commits"),
           human_secs(e, sizeof e, jnum(sto, "commit_p99_s")),
           human_secs(f, sizeof f, jnum(sto, "fsync_p99_s")),
           json_is_true(json_object_get(sto, "meta_failed")) ? "; METADATA REFUSES WRITES" : "");
    printf("%-12s connections %lld, workers %lld, threads %lld, fds %lld/%lld, RSS %s\n", "process",
           jint(pr, "connections"), jint(pr, "workers"), jint(pr, "threads"), jint(pr, "open_fds"),
           jint(pr, "max_fds"), hf_str_bytes(a, sizeof a, jnum(pr, "rss_bytes")));
    size_t i;
    json_t *o;
    json_t *ops = json_object_get(j, "operations");
    if (json_array_size(ops)) {
        printf("\n%-28s %10s %8s %8s %10s\n", "OPERATION", "REQUESTS", "4XX", "5XX", "P99");
        json_array_foreach(ops, i, o)
            printf("%-28s %10lld %8lld %8lld %10s\n", jstr(o, "op"), jint(o, "requests"),
                   jint(o, "err4"), jint(o, "err5"), human_secs(a, sizeof a, jnum(o, "p99_s")));
    }
    json_t *keys = json_object_get(j, "keys");
    if (json_array_size(keys)) {
        printf("\n%-28s %10s %10s %10s\n", "ACCESS KEY", "IN FLIGHT", "ADMITTED", "SHED");
        json_array_foreach(keys, i, o)
            printf("%-28s %10lld %10lld %10lld\n", jstr(o, "key_id"), jint(o, "in_flight"),
                   jint(o, "admitted"), jint(o, "shed"));
    }
    json_t *bg = json_object_get(j, "background");
    if (json_array_size(bg)) {
        printf("\n%-28s %-10s %8s %12s %10s\n", "BACKGROUND JOB", "STATE", "PASSES", "DONE",
               "YIELDED");
        json_array_foreach(bg, i, o)
            printf("%-28s %-10s %8lld %12lld %10s\n", jstr(o, "name"), jstr(o, "state"),
                   jint(o, "runs"), jint(o, "done"), human_secs(a, sizeof a, jnum(o, "yield_s")));
    }
    json_t *cl = json_object_get(j, "cluster");
    if (cl)
        printf("%-12s node %s (zone %s): layout generation %lld served, %lld in etcd%s; etcd %s; "
               "%zu nodes known\n",
               "cluster", jstr(cl, "node_id"), jstr(cl, "zone"), jint(cl, "generation"),
               jint(cl, "etcd_generation"),
               json_is_true(json_object_get(cl, "etcd_layout_refused")) ? " (refused here)" : "",
               json_is_true(json_object_get(cl, "etcd_reachable")) ? "reachable" : "UNREACHABLE",
               json_array_size(json_object_get(cl, "nodes")));
    json_t *rec = json_object_get(j, "recent_errors");
    printf("\nrecent errors and warnings:%s\n", json_array_size(rec) ? "" : " none since start");
    json_array_foreach(rec, i, o)
        printf("  %s %-5s %s\n", jstr(o, "time"), jstr(o, "level"), jstr(o, "line"));
    json_decref(j);
    return 0;
}


/* ---- cluster --------------------------------------------------------------------- */

/* nodes [--json]: GET /admin/v1/cluster, the nodes as the node asked sees
 * them (its own copy: it answers while etcd is down, and says so). */
static int nodes_show(admin_ctx_t *c, int argc, char **argv)
{
    bool raw = argc == 1 && strcmp(argv[0], "--json") == 0;
    if (argc > 1 || (argc == 1 && !raw)) {
        fprintf(stderr, "usage: holdfast admin nodes [--json]\n");
        return 2;
    }
    json_t *j;
    int rc = call(c, "GET", "/admin/v1/cluster", NULL, 200, &j);
    if (rc || !j)
        return rc ? rc : 1;
    if (raw) {
        char *t = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        if (t)
            printf("%s\n", t);
        free(t);
        json_decref(j);
        return 0;
    }
    bool reach = json_is_true(json_object_get(j, "etcd_reachable"));
    printf("node %s (zone %s) serves layout generation %lld; etcd holds generation %lld%s; etcd "
           "%s\n",
           jstr(j, "node_id"), jstr(j, "zone"), jint(j, "generation"), jint(j, "etcd_generation"),
           json_is_true(json_object_get(j, "etcd_layout_refused")) ? " (REFUSED here)" : "",
           reach ? "reachable" : "UNREACHABLE: this list is as last seen");
    if (jint(j, "pinned"))
        printf("the layout is PINNED at generation %lld\n", jint(j, "pinned"));
    printf("\n%-20s %-12s %-9s %7s %12s %-22s %s\n", "NODE", "ZONE", "STATE", "SERVES", "CAPACITY",
           "ADDRESS", "LAST SEEN");
    size_t i;
    json_t *o;
    json_array_foreach(json_object_get(j, "nodes"), i, o)
    {
        char cap[32];
        printf("%-20s %-12s %-9s %7lld %12s %-22s %s\n", jstr(o, "id"), jstr(o, "zone"),
               jstr(o, "state"), jint(o, "generation"),
               hf_str_bytes(cap, sizeof cap, jnum(o, "capacity")), jstr(o, "address"),
               *jstr(o, "last_seen") ? jstr(o, "last_seen") : "never");
    }
    json_decref(j);
    return 0;
}

/* ---- scrub and store ---------------------------------------------------------- */

/* Print a scrub report; returns the number of damaged objects listed. */
static long print_scrub(json_t *j)
{
    int running = 0, truncated = 0;
    json_int_t passes = 0, objects = 0, bytes = 0, damaged = 0, skipped = 0, rate = 0;
    const char *t0 = "", *t1 = "";
    json_t *list = NULL;
    if (json_unpack(j, "{s:b,s:I,s:I,s:s,s:s,s:I,s:I,s:I,s:I,s:o,s:b}", "running", &running,
                    "passes", &passes, "rate", &rate, "pass_started", &t0, "pass_finished", &t1,
                    "objects", &objects, "bytes", &bytes, "damaged", &damaged, "skipped", &skipped,
                    "damaged_objects", &list, "truncated", &truncated)) {
        fprintf(stderr, "holdfast admin: unexpected scrub report\n");
        return -1;
    }
    printf("scrub:    %s (%lld passes completed, %lld bytes/s)\n", running ? "running" : "idle",
           (long long)passes, (long long)rate);
    printf("pass:     started %s%s%s\n", *t0 ? t0 : "never", *t1 && !running ? ", finished " : "",
           *t1 && !running ? t1 : "");
    printf("checked:  %lld objects, %lld bytes (%lld changed while scrubbing, skipped)\n",
           (long long)objects, (long long)bytes, (long long)skipped);
    printf("damaged:  %lld\n", (long long)damaged);
    size_t i;
    json_t *d;
    json_array_foreach(list, i, d)
    {
        const char *b = "", *k = "", *v = "", *why = "";
        json_unpack(d, "{s:s,s:s,s:s,s:s}", "bucket", &b, "key", &k, "version", &v, "reason", &why);
        printf("  %s/%s version=%s: %s\n", b, k, v, why);
    }
    if (truncated)
        printf("  ... more damaged objects than listed (see the server log)\n");
    return (long)damaged;
}

/* --rate SIZE as JSON body, or NULL; -1 on a bad value. */
static int rate_body(int argc, char **argv, const char *usage_line, char *body, size_t cap)
{
    body[0] = '\0';
    if (argc == 1)
        return 0;
    const char *v = NULL;
    if (argc == 3 && strcmp(argv[1], "--rate") == 0)
        v = argv[2];
    else if (argc == 2 && strncmp(argv[1], "--rate=", 7) == 0)
        v = argv[1] + 7;
    char *end = NULL;
    unsigned long long r = v ? strtoull(v, &end, 10) : 0;
    unsigned long long mul = 1;
    if (end && *end) {
        switch (*end) {
        case 'K': case 'k': mul = 1ULL << 10; break;
        case 'M': case 'm': mul = 1ULL << 20; break;
        case 'G': case 'g': mul = 1ULL << 30; break;
        default: mul = 0; break;
        }
        if (mul && end[1] && strcmp(end + 1, "iB") != 0 && strcmp(end + 1, "B") != 0)
            mul = 0;
    }
    if (!v || end == v || mul == 0 || r == 0 || r > (1ULL << 40) / mul) {
        fprintf(stderr, "usage: %s   (SIZE: bytes per second, e.g. 64MiB)\n", usage_line);
        return -1;
    }
    snprintf(body, cap, "{\"rate\":%llu}", r * mul);
    return 0;
}

static int scrub_begin(admin_ctx_t *c, int argc, char **argv, const char *usage_line, json_t **j)
{
    char body[64];
    if (rate_body(argc, argv, usage_line, body, sizeof body))
        return 2;
    return call(c, "POST", "/admin/v1/scrub", body[0] ? body : NULL, 202, j);
}

static int scrub_start(admin_ctx_t *c, int argc, char **argv)
{
    json_t *j;
    int rc = scrub_begin(c, argc, argv, "holdfast admin scrub start [--rate SIZE]", &j);
    if (rc)
        return rc;
    printf("scrub pass started\n");
    json_decref(j);
    return 0;
}

static int scrub_status(admin_ctx_t *c, int argc, char **argv)
{
    (void)argv;
    if (argc != 1) {
        fprintf(stderr, "usage: holdfast admin scrub status\n");
        return 2;
    }
    json_t *j;
    int rc = call(c, "GET", "/admin/v1/scrub", NULL, 200, &j);
    if (rc)
        return rc;
    long d = j ? print_scrub(j) : -1;
    json_decref(j);
    return d < 0 ? 1 : 0;
}

static int scrub_run(admin_ctx_t *c, int argc, char **argv)
{
    json_t *j;
    int rc = scrub_begin(c, argc, argv, "holdfast admin scrub run [--rate SIZE]", &j);
    if (rc)
        return rc;
    json_int_t before = 0;
    json_unpack(j, "{s:I}", "passes", &before);
    json_decref(j);
    /* Poll until the pass we started has completed. */
    for (;;) {
        struct timespec ts = {0, 200 * 1000000L};
        nanosleep(&ts, NULL);
        if ((rc = call(c, "GET", "/admin/v1/scrub", NULL, 200, &j)))
            return rc;
        json_int_t passes = 0;
        int running = 1;
        json_unpack(j, "{s:I,s:b}", "passes", &passes, "running", &running);
        if (!running && passes > before)
            break;
        json_decref(j);
    }
    long d = print_scrub(j);
    json_decref(j);
    return d == 0 ? 0 : 1;
}

static int store_call(admin_ctx_t *c, const char *method, const char *path)
{
    json_t *j;
    int rc = call(c, method, path, NULL, 200, &j);
    if (rc)
        return rc;
    const char *cs = "", *cr = "", *ms = "", *mr = "";
    json_int_t avail = 0, reserve = 0;
    int below = 0;
    rc = 1;
    if (j && !json_unpack(j, "{s:{s:s,s:s},s:{s:s,s:s},s:I,s:I,s:b}", "chunks", "state", &cs,
                          "reason", &cr, "meta", "state", &ms, "reason", &mr, "free_bytes",
                          &avail, "reserve_bytes", &reserve, "below_reserve", &below)) {
        printf("chunks:   %s%s%s\n", cs, *cr ? ": " : "", cr);
        printf("metadata: %s%s%s\n", ms, *mr ? ": " : "", mr);
        printf("free:     %lld bytes (reserve %lld bytes)%s\n", (long long)avail,
               (long long)reserve, below ? ": below the reserve, PUTs answer 507" : "");
        rc = 0;
    }
    json_decref(j);
    return rc;
}

static int store_status(admin_ctx_t *c, int argc, char **argv)
{
    (void)argv;
    if (argc != 1) {
        fprintf(stderr, "usage: holdfast admin store status\n");
        return 2;
    }
    return store_call(c, "GET", "/admin/v1/store");
}

static int store_reopen(admin_ctx_t *c, int argc, char **argv)
{
    (void)argv;
    if (argc != 1) {
        fprintf(stderr, "usage: holdfast admin store reopen\n");
        return 2;
    }
    return store_call(c, "POST", "/admin/v1/store/reopen");
}

static int lifecycle_status(admin_ctx_t *c, int argc, char **argv)
{
    (void)argv;
    if (argc != 1) {
        fprintf(stderr, "usage: holdfast admin lifecycle status\n");
        return 2;
    }
    json_t *j;
    int rc = call(c, "GET", "/admin/v1/lifecycle", NULL, 200, &j);
    if (rc || !j)
        return rc ? rc : 1;
    printf("lifecycle: %s, %lld passes (last finished %s)\n",
           json_is_true(json_object_get(j, "running")) ? "pass running" : "idle",
           (long long)json_integer_value(json_object_get(j, "passes")),
           *json_string_value(json_object_get(j, "last_pass")) ? json_string_value(json_object_get(j, "last_pass"))
                                                              : "never");
    static const char *const fields[] = {"examined", "expired", "noncurrent_expired",
                                         "markers_removed", "uploads_aborted", "held", "errors"};
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
        printf("  %-20s %lld\n", fields[i], (long long)json_integer_value(json_object_get(j, fields[i])));
    json_decref(j);
    return 0;
}

/* GET or POST /admin/v1/sse[/rotate]: print the keys (never key bytes). */
static int sse_call(admin_ctx_t *c, int argc, const char *verb, const char *method, const char *path)
{
    if (argc != 1) {
        fprintf(stderr, "usage: holdfast admin sse %s\n", verb);
        return 2;
    }
    json_t *j;
    int rc = call(c, method, path, NULL, 200, &j);
    if (rc || !j)
        return rc ? rc : 1;
    json_int_t active = json_integer_value(json_object_get(j, "active"));
    printf("key file: %s\n", json_string_value(json_object_get(j, "key_file")));
    printf("default:  %s (buckets without a default encryption configuration)\n",
           json_string_value(json_object_get(j, "default")));
    printf("active:   key %lld (new SSE-S3 objects)\n", (long long)active);
    json_t *keys = json_object_get(j, "keys");
    for (size_t i = 0; i < json_array_size(keys); i++) {
        json_t *k = json_array_get(keys, i);
        json_int_t id = json_integer_value(json_object_get(k, "id"));
        printf("  key %-6lld fingerprint %s%s\n", (long long)id,
               json_string_value(json_object_get(k, "fingerprint")), id == active ? "  (active)" : "");
    }
    if (strcmp(verb, "rotate") == 0)
        printf("Back up the key file now: objects written from now on need key %lld.\n",
               (long long)active);
    json_decref(j);
    return 0;
}

static int sse_status(admin_ctx_t *c, int argc, char **argv)
{
    (void)argv;
    return sse_call(c, argc, "status", "GET", "/admin/v1/sse");
}

static int sse_rotate(admin_ctx_t *c, int argc, char **argv)
{
    (void)argv;
    return sse_call(c, argc, "rotate", "POST", "/admin/v1/sse/rotate");
}

/* The admin commands: `holdfast admin GROUP VERB ...`. */
static const struct admin_cmd {
    const char *group, *verb;
    int (*fn)(admin_ctx_t *c, int argc, char **argv);
} admin_cmds[] = {
    {"user", "create", hf_admin_user_create},
    {"user", "list", hf_admin_user_list},
    {"user", "show", hf_admin_user_show},
    {"user", "delete", hf_admin_user_delete},
    {"user", "disable", hf_admin_user_disable},
    {"user", "enable", hf_admin_user_enable},
    {"user", "set", hf_admin_user_set},
    {"user", "key", hf_admin_user_key},
    {"audit", "show", hf_admin_audit_show},
    {"faults", "show", faults_show},
    {"faults", "set", faults_set},
    {"faults", "clear", faults_clear},
    {"status", "", status_show},
    {"status", "--json", status_show},
    {"scrub", "run", scrub_run},
    {"scrub", "start", scrub_start},
    {"scrub", "status", scrub_status},
    {"store", "status", store_status},
    {"store", "reopen", store_reopen},
    {"lifecycle", "status", lifecycle_status},
    {"nodes", "", nodes_show},
    {"nodes", "--json", nodes_show},
    {"layout", "show", hf_admin_layout},
    {"layout", "plan", hf_admin_layout},
    {"layout", "apply", hf_admin_layout},
    {"layout", "history", hf_admin_layout},
    {"layout", "pin", hf_admin_layout},
    {"layout", "unpin", hf_admin_layout},
    {"layout", "revert", hf_admin_layout},
    {"sse", "status", sse_status},
    {"sse", "rotate", sse_rotate},
};

static int setup(admin_ctx_t *c, const char *admin, const char *data, const char *region)
{
    const char *p = admin;
    if (strncmp(p, "http://", 7) == 0) {
        p += 7;
    } else if (strstr(p, "://")) {
        fprintf(stderr, "holdfast admin: --admin must be an http:// URL\n");
        return 2;
    }
    size_t hl = strcspn(p, "/");
    if (hl == 0 || hl >= sizeof c->host) {
        fprintf(stderr, "holdfast admin: --admin URL has no host\n");
        return 2;
    }
    memcpy(c->host, p, hl);
    c->host[hl] = '\0';
    snprintf(c->url, sizeof c->url, "http://%s", c->host);
    snprintf(c->region, sizeof c->region, "%s", region);
    hf_cli_local_user(c->local_user, sizeof c->local_user);
    const char *eak = getenv("HOLDFAST_ACCESS_KEY"), *esk = getenv("HOLDFAST_SECRET_KEY");
    if (eak && *eak && esk && *esk) {
        snprintf(c->ak, sizeof c->ak, "%s", eak);
        snprintf(c->sk, sizeof c->sk, "%s", esk);
        return 0;
    }
    if (hf_cli_read_root_credentials(data, c->ak, sizeof c->ak, c->sk, sizeof c->sk) != 0) {
        fprintf(stderr,
                "holdfast admin: no root key: set HOLDFAST_ACCESS_KEY and HOLDFAST_SECRET_KEY, or "
                "point --data at the server's data directory (%s/%s not readable)\n",
                data, HF_ROOT_CREDENTIALS_FILE);
        return 1;
    }
    return 0;
}

int hf_cli_admin(int argc, char **argv)
{
    /* Global options come before the command words. */
    const char *admin = NULL, *data = NULL, *region = NULL, *cluster = NULL;
    int i = 1;
    for (; i < argc; i++) {
        const char *a = argv[i];
        const char **dst = NULL;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 0;
        }
        if (strcmp(a, "--admin") == 0)
            dst = &admin;
        else if (strcmp(a, "--data") == 0)
            dst = &data;
        else if (strcmp(a, "--region") == 0)
            dst = &region;
        else if (strcmp(a, "--cluster") == 0)
            dst = &cluster;
        else if (strncmp(a, "--admin=", 8) == 0) {
            admin = a + 8;
            continue;
        } else if (strncmp(a, "--data=", 7) == 0) {
            data = a + 7;
            continue;
        } else if (strncmp(a, "--region=", 9) == 0) {
            region = a + 9;
            continue;
        } else if (strncmp(a, "--cluster=", 10) == 0) {
            cluster = a + 10;
            continue;
        } else
            break;
        if (i + 1 >= argc) {
            fprintf(stderr, "holdfast admin: %s needs a value\n", a);
            return 2;
        }
        *dst = argv[++i];
    }
    if (i >= argc) {
        usage(stderr);
        return 2;
    }
    admin = hf_cli_setting(admin, "HOLDFAST_ADMIN", "http://127.0.0.1:9001");
    data = hf_cli_setting(data, "HOLDFAST_DATA", "./data");
    region = hf_cli_setting(region, "HOLDFAST_REGION", "us-east-1");
    const char *group = argv[i], *verb = i + 1 < argc ? argv[i + 1] : "";
    int sub_argc = argc - (i + 1);
    char **sub_argv = argv + i + 1;
    const struct admin_cmd *cmd = NULL;
    bool group_known = false;
    for (size_t k = 0; k < sizeof admin_cmds / sizeof admin_cmds[0]; k++) {
        if (strcmp(admin_cmds[k].group, group) != 0)
            continue;
        group_known = true;
        if (strcmp(admin_cmds[k].verb, verb) == 0)
            cmd = &admin_cmds[k];
    }
    if (!cmd) {
        if (group_known)
            fprintf(stderr, "holdfast admin %s: unknown command '%s'; run 'holdfast admin --help'\n",
                    group, verb);
        else
            fprintf(stderr, "holdfast admin: unknown command '%s'; run 'holdfast admin --help'\n",
                    group);
        return 2;
    }
    admin_ctx_t c;
    memset(&c, 0, sizeof c);
    cluster = hf_cli_setting(cluster, "HOLDFAST_CLUSTER", NULL);
    if (cluster && strlen(cluster) >= sizeof c.cluster) {
        fprintf(stderr, "holdfast admin: --cluster is too long\n");
        return 2;
    }
    snprintf(c.cluster, sizeof c.cluster, "%s", cluster ? cluster : "");
    int rc = 0;
    /* Layout commands talk to etcd, not to a node: no root key needed. */
    if (strcmp(cmd->group, "layout") == 0)
        hf_cli_local_user(c.local_user, sizeof c.local_user);
    else
        rc = setup(&c, admin, data, region);
    if (rc)
        return rc;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    rc = cmd->fn(&c, sub_argc, sub_argv);
    curl_global_cleanup();
    return rc;
}
