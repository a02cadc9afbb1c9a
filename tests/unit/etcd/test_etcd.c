/*
 * test_etcd.c -- etcd/etcd.c: the gateway's wire format (tables of
 * answers, parsed offline), then the client against a real 3-member etcd
 * started on free loopback ports (Debian's etcd-server): ranges, CAS
 * transactions, leases, a watch, and failover when the member in use is
 * killed or stopped.
 */
#include "test.h"

#include "base/err.h"
#include "base/time.h"
#include "etcd/etcd.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- the wire format ------------------------------------------------------- */

TEST(parse_range_table)
{
    static const struct {
        const char *json;
        int rc;
        size_t n;
        int64_t rev;
    } rows[] = {
        {"{\"header\":{\"revision\":\"7\"}}", HF_OK, 0, 7},
        {"{\"header\":{\"revision\":\"9\"},\"kvs\":[{\"key\":\"Zm9v\",\"create_revision\":\"2\","
         "\"mod_revision\":\"9\",\"version\":\"3\",\"value\":\"YmFy\"}],\"count\":\"1\"}",
         HF_OK, 1, 9},
        {"{\"kvs\":[{\"key\":\"Zm9v\"}]}", HF_OK, 1, 0},                   /* empty value */
        {"{\"kvs\":[{\"key\":\"Zm9v\",\"value\":\"!!!!\"}]}", HF_E_PROTO, 0, 0}, /* bad base64 */
        {"{\"kvs\":[{\"key\":\"AGE=\"}]}", HF_E_PROTO, 0, 0},              /* NUL in a key */
        {"{\"kvs\":{}}", HF_E_PROTO, 0, 0},
        {"{\"header\":{\"revision\":\"x\"}}", HF_E_PROTO, 0, 0},
        {"{\"kvs\":[{\"key\":\"Zm9v\",\"version\":\"12a\"}]}", HF_E_PROTO, 0, 0},
        {"[1,2]", HF_E_PROTO, 0, 0},
        {"not json", HF_E_PROTO, 0, 0},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        hf_etcd_kvs_t r;
        int rc = hf_etcd_parse_range(rows[i].json, strlen(rows[i].json), &r);
        if (rc != rows[i].rc)
            hf_test_fail(__FILE__, __LINE__, "row %zu: rc %d, expected %d", i, rc, rows[i].rc);
        if (rc == HF_OK) {
            CHECK_EQ_INT(r.n, rows[i].n);
            CHECK_EQ_INT(r.revision, rows[i].rev);
        }
        hf_etcd_kvs_free(&r);
    }
    hf_etcd_kvs_t r;
    const char *j = "{\"kvs\":[{\"key\":\"Zm9v\",\"create_revision\":\"2\",\"mod_revision\":\"9\","
                    "\"version\":\"3\",\"lease\":\"77\",\"value\":\"YmFy\"}],\"more\":true}";
    CHECK_EQ_INT(hf_etcd_parse_range(j, strlen(j), &r), HF_OK);
    CHECK_EQ_STR(r.kv[0].key, "foo");
    CHECK_EQ_STR((char *)r.kv[0].value, "bar");
    CHECK_EQ_INT(r.kv[0].value_len, 3);
    CHECK_EQ_INT(r.kv[0].create_revision, 2);
    CHECK_EQ_INT(r.kv[0].mod_revision, 9);
    CHECK_EQ_INT(r.kv[0].version, 3);
    CHECK_EQ_INT(r.kv[0].lease, 77);
    CHECK(r.more);
    hf_etcd_kvs_free(&r);
}

typedef struct seen {
    int puts, dels;
    char last[64];
} seen_t;

static int count_ev(void *ctx, hf_etcd_event_kind_t kind, const hf_etcd_kv_t *kv)
{
    seen_t *s = ctx;
    if (kind == HF_ETCD_EV_PUT)
        s->puts++;
    else
        s->dels++;
    snprintf(s->last, sizeof s->last, "%s", kv->key);
    return 0;
}

TEST(parse_watch_table)
{
    static const struct {
        const char *json;
        int rc;
        int puts, dels;
        int64_t rev, compacted;
        bool canceled;
    } rows[] = {
        {"{\"result\":{\"header\":{\"revision\":\"4\"},\"created\":true}}", HF_OK, 0, 0, 4, 0, false},
        {"{\"result\":{\"header\":{\"revision\":\"5\"},\"events\":[{\"kv\":{\"key\":\"YQ==\","
         "\"mod_revision\":\"5\",\"value\":\"eA==\"}},{\"type\":\"DELETE\",\"kv\":{\"key\":\"Yg==\","
         "\"mod_revision\":\"5\"}}]}}",
         HF_OK, 1, 1, 5, 0, false},
        {"{\"result\":{\"header\":{\"revision\":\"5\"},\"canceled\":true,\"compact_revision\":\"5\"}}",
         HF_OK, 0, 0, 5, 5, true},
        {"{\"result\":{\"events\":[{\"type\":\"EXPIRE\",\"kv\":{\"key\":\"YQ==\"}}]}}", HF_E_PROTO,
         0, 0, 0, 0, false},
        {"{\"result\":{\"events\":[{\"kv\":7}]}}", HF_E_PROTO, 0, 0, 0, 0, false},
        {"{\"error\":\"x\",\"code\":14}", HF_E_CLOSED, 0, 0, 0, 0, false},
        {"{}", HF_E_PROTO, 0, 0, 0, 0, false},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        seen_t s = {0};
        int64_t rev, comp;
        bool canc;
        int rc = hf_etcd_parse_watch(rows[i].json, strlen(rows[i].json), count_ev, &s, &rev, &comp,
                                     &canc);
        if (rc != rows[i].rc)
            hf_test_fail(__FILE__, __LINE__, "row %zu: rc %d, expected %d", i, rc, rows[i].rc);
        if (rc != HF_OK)
            continue;
        CHECK_EQ_INT(s.puts, rows[i].puts);
        CHECK_EQ_INT(s.dels, rows[i].dels);
        CHECK_EQ_INT(rev, rows[i].rev);
        CHECK_EQ_INT(comp, rows[i].compacted);
        CHECK_EQ_INT(canc, rows[i].canceled);
    }
}

TEST(endpoints_and_prefix_end)
{
    static const struct {
        const char *spec;
        int rc;
    } rows[] = {
        {"127.0.0.1:2379", HF_OK},
        {"a:1,b:2,c:3", HF_OK},
        {"[::1]:2379", HF_OK},
        {"", HF_E_INVAL},
        {"host", HF_E_INVAL},
        {"host:0", HF_E_INVAL},
        {"host:70000", HF_E_INVAL},
        {":2379", HF_E_INVAL},
        {"a:1,,b:2", HF_E_INVAL},
        {"user@host:1", HF_E_INVAL},
        {"host:1/prefix", HF_E_INVAL},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        hf_etcd_t *e = NULL;
        char why[128];
        int rc = hf_etcd_create(rows[i].spec, &e, why, sizeof why);
        if (rc != rows[i].rc)
            hf_test_fail(__FILE__, __LINE__, "'%s': rc %d (%s)", rows[i].spec, rc, why);
        hf_etcd_destroy(e);
    }
    char out[32];
    hf_etcd_prefix_end("/holdfast/users/", out, sizeof out);
    CHECK_EQ_STR(out, "/holdfast/users0");
    hf_etcd_prefix_end("a", out, sizeof out);
    CHECK_EQ_STR(out, "b");
}

/* ---- a real etcd ---------------------------------------------------------------- */

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t l = sizeof a;
    if (bind(fd, (struct sockaddr *)&a, sizeof a) || getsockname(fd, (struct sockaddr *)&a, &l)) {
        close(fd);
        return -1;
    }
    close(fd);
    return ntohs(a.sin_port);
}

#define MEMBERS 3
static pid_t pids[MEMBERS];
static int cport[MEMBERS];
static char dir[64];
static char endpoints[128];

static void stop_all(void)
{
    for (int i = 0; i < MEMBERS; i++)
        if (pids[i] > 0) {
            kill(pids[i], SIGCONT);
            kill(pids[i], SIGKILL);
            waitpid(pids[i], NULL, 0);
            pids[i] = 0;
        }
    if (dir[0]) {
        char cmd[128];
        snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove %s\n", dir);
        dir[0] = '\0';
    }
}

static void start_cluster(void)
{
    snprintf(dir, sizeof dir, "/tmp/hf-unit-etcd-XXXXXX");
    CHECK(mkdtemp(dir) != NULL);
    int pport[MEMBERS];
    char initial[512] = "";
    for (int i = 0; i < MEMBERS; i++) {
        cport[i] = free_port();
        pport[i] = free_port();
        CHECK(cport[i] > 0 && pport[i] > 0);
        snprintf(initial + strlen(initial), sizeof initial - strlen(initial), "%sm%d=http://127.0.0.1:%d",
                 i ? "," : "", i, pport[i]);
    }
    endpoints[0] = '\0';
    for (int i = 0; i < MEMBERS; i++) {
        snprintf(endpoints + strlen(endpoints), sizeof endpoints - strlen(endpoints), "%s127.0.0.1:%d",
                 i ? "," : "", cport[i]);
        char name[16], data[96], curl[64], purl[64], log[96];
        snprintf(name, sizeof name, "m%d", i);
        snprintf(data, sizeof data, "%s/m%d", dir, i);
        snprintf(curl, sizeof curl, "http://127.0.0.1:%d", cport[i]);
        snprintf(purl, sizeof purl, "http://127.0.0.1:%d", pport[i]);
        snprintf(log, sizeof log, "%s/m%d.log", dir, i);
        pid_t p = fork();
        if (p == 0) {
            FILE *f = freopen(log, "w", stderr);
            (void)f;
            execl("/usr/bin/etcd", "etcd", "--name", name, "--data-dir", data,
                  "--listen-client-urls", curl, "--advertise-client-urls", curl,
                  "--listen-peer-urls", purl, "--initial-advertise-peer-urls", purl,
                  "--initial-cluster", initial, "--initial-cluster-state", "new",
                  "--heartbeat-interval", "50", "--election-timeout", "500", (char *)NULL);
            _exit(127);
        }
        pids[i] = p;
    }
    /* Ready when a write through any member succeeds. */
    hf_etcd_t *e;
    CHECK_EQ_INT(hf_etcd_create(endpoints, &e, NULL, 0), HF_OK);
    int64_t until = hf_mono_ms() + 20000;
    int rc = -1;
    while (hf_mono_ms() < until) {
        hf_etcd_op_t put = {.kind = HF_ETCD_PUT, .key = "/t/ready", .value = "1", .value_len = 1};
        hf_etcd_txn_res_t r;
        rc = hf_etcd_txn(e, NULL, 0, &put, 1, NULL, 0, hf_mono_ms() + 2000, &r);
        hf_etcd_txn_free(&r);
        if (rc == HF_OK)
            break;
        usleep(100 * 1000);
    }
    hf_etcd_destroy(e);
    CHECK_EQ_INT(rc, HF_OK);
}

static int member_of(const char *ep)
{
    for (int i = 0; i < MEMBERS; i++) {
        char s[32];
        snprintf(s, sizeof s, "127.0.0.1:%d", cport[i]);
        if (strcmp(s, ep) == 0)
            return i;
    }
    return -1;
}

static int collect(void *ctx, hf_etcd_event_kind_t kind, const hf_etcd_kv_t *kv)
{
    return count_ev(ctx, kind, kv);
}

TEST(live_cluster)
{
    if (access("/usr/bin/etcd", X_OK) != 0)
        hf_test_fail(__FILE__, __LINE__, "/usr/bin/etcd missing: install etcd-server "
                                         "(scripts/install-deps.sh)");
    start_cluster();
    hf_etcd_t *e;
    CHECK_EQ_INT(hf_etcd_create(endpoints, &e, NULL, 0), HF_OK);
    int64_t dl = hf_mono_ms() + 5000;

    /* Create-if-absent: the first wins, the second sees the value. */
    hf_etcd_cmp_t absent = {.key = "/t/k", .target = HF_ETCD_VERSION, .result = HF_ETCD_EQUAL};
    hf_etcd_op_t put1 = {.kind = HF_ETCD_PUT, .key = "/t/k", .value = "one", .value_len = 3};
    hf_etcd_op_t get = {.kind = HF_ETCD_GET, .key = "/t/k"};
    hf_etcd_txn_res_t r;
    CHECK_EQ_INT(hf_etcd_txn(e, &absent, 1, &put1, 1, &get, 1, dl, &r), HF_OK);
    CHECK(r.succeeded);
    int64_t rev1 = r.revision;
    hf_etcd_txn_free(&r);
    hf_etcd_op_t put2 = {.kind = HF_ETCD_PUT, .key = "/t/k", .value = "two", .value_len = 3};
    CHECK_EQ_INT(hf_etcd_txn(e, &absent, 1, &put2, 1, &get, 1, dl, &r), HF_OK);
    CHECK(!r.succeeded);
    CHECK_EQ_INT(r.ngets, 1);
    CHECK_EQ_INT(r.gets[0].n, 1);
    CHECK_EQ_STR((char *)r.gets[0].kv[0].value, "one");
    CHECK_EQ_INT(r.gets[0].kv[0].mod_revision, rev1);
    hf_etcd_txn_free(&r);

    /* CAS on mod_revision: the stale one loses. */
    hf_etcd_cmp_t at = {.key = "/t/k", .target = HF_ETCD_MOD, .result = HF_ETCD_EQUAL, .n = rev1};
    CHECK_EQ_INT(hf_etcd_txn(e, &at, 1, &put2, 1, NULL, 0, dl, &r), HF_OK);
    CHECK(r.succeeded);
    hf_etcd_txn_free(&r);
    CHECK_EQ_INT(hf_etcd_txn(e, &at, 1, &put1, 1, NULL, 0, dl, &r), HF_OK);
    CHECK(!r.succeeded);
    hf_etcd_txn_free(&r);

    /* Ranges over a prefix, with a limit. */
    for (int i = 0; i < 5; i++) {
        char k[32];
        snprintf(k, sizeof k, "/t/p/%d", i);
        hf_etcd_op_t p = {.kind = HF_ETCD_PUT, .key = k, .value = "v", .value_len = 1};
        CHECK_EQ_INT(hf_etcd_txn(e, NULL, 0, &p, 1, NULL, 0, dl, &r), HF_OK);
        hf_etcd_txn_free(&r);
    }
    char end[32];
    hf_etcd_prefix_end("/t/p/", end, sizeof end);
    hf_etcd_kvs_t kvs;
    CHECK_EQ_INT(hf_etcd_range(e, "/t/p/", end, 0, 3, dl, &kvs), HF_OK);
    CHECK_EQ_INT(kvs.n, 3);
    CHECK(kvs.more);
    CHECK_EQ_STR(kvs.kv[2].key, "/t/p/2");
    hf_etcd_kvs_free(&kvs);

    /* A lease: a key on it, renewed, revoked (the key goes with it). */
    int64_t lease, ttl;
    CHECK_EQ_INT(hf_etcd_lease_grant(e, 5, dl, &lease, &ttl), HF_OK);
    CHECK_EQ_INT(ttl, 5);
    hf_etcd_op_t lp = {.kind = HF_ETCD_PUT, .key = "/t/alive", .value = "x", .value_len = 1,
                       .lease = lease};
    CHECK_EQ_INT(hf_etcd_txn(e, NULL, 0, &lp, 1, NULL, 0, dl, &r), HF_OK);
    hf_etcd_txn_free(&r);
    CHECK_EQ_INT(hf_etcd_lease_keepalive(e, lease, dl, &ttl), HF_OK);
    CHECK(ttl > 0);
    CHECK_EQ_INT(hf_etcd_lease_revoke(e, lease, dl), HF_OK);
    CHECK_EQ_INT(hf_etcd_lease_keepalive(e, lease, dl, &ttl), HF_E_NOTFOUND);
    CHECK_EQ_INT(hf_etcd_range(e, "/t/alive", NULL, 0, 0, dl, &kvs), HF_OK);
    CHECK_EQ_INT(kvs.n, 0);
    int64_t now_rev = kvs.revision;
    hf_etcd_kvs_free(&kvs);

    /* A watch from a past revision sees what happened since, then news. */
    hf_etcd_watch_t *w;
    CHECK_EQ_INT(hf_etcd_watch_open(e, "/t/p/", end, rev1, &w), HF_OK);
    seen_t s = {0};
    int64_t until = hf_mono_ms() + 5000;
    while (s.puts < 5 && hf_mono_ms() < until)
        CHECK_EQ_INT(hf_etcd_watch_poll(w, 200, collect, &s), HF_OK);
    CHECK_EQ_INT(s.puts, 5);
    hf_etcd_op_t del = {.kind = HF_ETCD_DELETE, .key = "/t/p/", .range_end = end};
    CHECK_EQ_INT(hf_etcd_txn(e, NULL, 0, &del, 1, NULL, 0, dl, &r), HF_OK);
    hf_etcd_txn_free(&r);
    until = hf_mono_ms() + 5000;
    while (s.dels < 5 && hf_mono_ms() < until)
        CHECK_EQ_INT(hf_etcd_watch_poll(w, 200, collect, &s), HF_OK);
    CHECK_EQ_INT(s.dels, 5);
    CHECK(hf_etcd_watch_revision(w) > now_rev);

    /* Kill the member the client and its watch use: the watch ends, the
     * next call goes to another member within its deadline. */
    int victim = member_of(hf_etcd_endpoint(e));
    CHECK(victim >= 0);
    kill(pids[victim], SIGKILL);
    waitpid(pids[victim], NULL, 0);
    pids[victim] = 0;
    int wrc = HF_OK;
    until = hf_mono_ms() + 5000;
    while (wrc == HF_OK && hf_mono_ms() < until)
        wrc = hf_etcd_watch_poll(w, 200, collect, &s);
    CHECK_EQ_INT(wrc, HF_E_CLOSED);
    hf_etcd_watch_close(w);
    int64_t t0 = hf_mono_ms();
    int rc = -1;
    for (int i = 0; i < 20 && rc != HF_OK; i++) /* a new leader may take an election */
        rc = hf_etcd_range(e, "/t/k", NULL, 0, 0, hf_mono_ms() + 3000, &kvs);
    CHECK_EQ_INT(rc, HF_OK);
    CHECK(member_of(hf_etcd_endpoint(e)) != victim);
    CHECK_EQ_STR((char *)kvs.kv[0].value, "two");
    hf_etcd_kvs_free(&kvs);
    printf("    failover after a kill: %lld ms\n", (long long)(hf_mono_ms() - t0));

    /* Stop (SIGSTOP) the member in use: it accepts and never answers; the
     * call still ends within its deadline (with two of three members
     * gone the third cannot serve a linearizable read either). */
    int frozen = member_of(hf_etcd_endpoint(e));
    kill(pids[frozen], SIGSTOP);
    t0 = hf_mono_ms();
    rc = hf_etcd_range(e, "/t/k", NULL, 0, 0, hf_mono_ms() + 2000, &kvs);
    int64_t took = hf_mono_ms() - t0;
    hf_etcd_kvs_free(&kvs);
    CHECK(took < 2600);
    CHECK(rc != HF_OK);
    printf("    a call with one member stopped and one dead: %s after %lld ms\n", hf_strerror(rc),
           (long long)took);
    /* A transaction sent to a member that then says nothing: outcome
     * unknown, never retried elsewhere. */
    hf_etcd_destroy(e);
    char one[32];
    snprintf(one, sizeof one, "127.0.0.1:%d", cport[frozen]);
    CHECK_EQ_INT(hf_etcd_create(one, &e, NULL, 0), HF_OK);
    rc = hf_etcd_txn(e, NULL, 0, &put1, 1, NULL, 0, hf_mono_ms() + 800, &r);
    CHECK_EQ_INT(rc, HF_E_TIMEOUT);
    hf_etcd_txn_free(&r);
    kill(pids[frozen], SIGCONT);
    hf_etcd_destroy(e);

    /* Nothing reachable: a clear error, at once. */
    stop_all();
    CHECK_EQ_INT(hf_etcd_create(endpoints, &e, NULL, 0), HF_OK);
    t0 = hf_mono_ms();
    rc = hf_etcd_range(e, "/t/k", NULL, 0, 0, hf_mono_ms() + 3000, &kvs);
    CHECK_EQ_INT(rc, HF_E_CLOSED);
    CHECK(hf_mono_ms() - t0 < 1000);
    CHECK(strstr(hf_etcd_last_error(e), "refused") != NULL || strstr(hf_etcd_last_error(e), "connect") != NULL);
    hf_etcd_destroy(e);
}

static void cleanup(void)
{
    stop_all();
}

int main(int argc, char **argv)
{
    atexit(cleanup);
    return hf_test_main("unit/etcd", argc, argv);
}
