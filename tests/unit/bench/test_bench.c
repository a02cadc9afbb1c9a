/* Unit tests for src/bench: value parsers, statistics, the response pieces,
 * and the engine against a small scripted server (chunked bodies, heads
 * split across writes, Connection: close, error documents). */
#include "test.h"

#include "base/err.h"
#include "bench/bench.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <unistd.h>

TEST(size_units)
{
    uint64_t v;
    CHECK_EQ_INT(hf_bench_parse_size("4KiB", &v), HF_OK);
    CHECK_EQ_INT(v, 4096);
    CHECK_EQ_INT(hf_bench_parse_size("1MiB", &v), HF_OK);
    CHECK_EQ_INT(v, 1 << 20);
    CHECK_EQ_INT(hf_bench_parse_size("10MB", &v), HF_OK);
    CHECK_EQ_INT(v, 10000000);
    CHECK_EQ_INT(hf_bench_parse_size("2gib", &v), HF_OK);
    CHECK_EQ_INT(v, 2ULL << 30);
    CHECK_EQ_INT(hf_bench_parse_size("512", &v), HF_OK);
    CHECK_EQ_INT(v, 512);
    CHECK_EQ_INT(hf_bench_parse_size("0B", &v), HF_OK);
    CHECK_EQ_INT(v, 0);
    CHECK_EQ_INT(hf_bench_parse_size("5GiB", &v), HF_OK);
    CHECK_EQ_INT(hf_bench_parse_size("6GiB", &v), HF_E_TOOBIG);
    CHECK_EQ_INT(hf_bench_parse_size("", &v), HF_E_INVAL);
    CHECK_EQ_INT(hf_bench_parse_size("KiB", &v), HF_E_INVAL);
    CHECK_EQ_INT(hf_bench_parse_size("4 KiB", &v), HF_E_INVAL);
    CHECK_EQ_INT(hf_bench_parse_size("-1", &v), HF_E_INVAL);
    CHECK_EQ_INT(hf_bench_parse_size("4XB", &v), HF_E_INVAL);
    CHECK_EQ_INT(hf_bench_parse_size("1.5MiB", &v), HF_E_INVAL);
}

TEST(durations)
{
    int64_t ms;
    CHECK_EQ_INT(hf_bench_parse_duration("30s", &ms), HF_OK);
    CHECK_EQ_INT(ms, 30000);
    CHECK_EQ_INT(hf_bench_parse_duration("1m30s", &ms), HF_OK);
    CHECK_EQ_INT(ms, 90000);
    CHECK_EQ_INT(hf_bench_parse_duration("500ms", &ms), HF_OK);
    CHECK_EQ_INT(ms, 500);
    CHECK_EQ_INT(hf_bench_parse_duration("2h", &ms), HF_OK);
    CHECK_EQ_INT(ms, 7200000);
    CHECK_EQ_INT(hf_bench_parse_duration("45", &ms), HF_OK);
    CHECK_EQ_INT(ms, 45000);
    CHECK_EQ_INT(hf_bench_parse_duration("24h", &ms), HF_OK);
    CHECK_EQ_INT(hf_bench_parse_duration("25h", &ms), HF_E_TOOBIG);
    CHECK_EQ_INT(hf_bench_parse_duration("", &ms), HF_E_INVAL);
    CHECK_EQ_INT(hf_bench_parse_duration("s", &ms), HF_E_INVAL);
    CHECK_EQ_INT(hf_bench_parse_duration("30x", &ms), HF_E_INVAL);
    CHECK_EQ_INT(hf_bench_parse_duration("1m30", &ms), HF_E_INVAL);
    CHECK_EQ_INT(hf_bench_parse_duration("0s", &ms), HF_E_INVAL);
}

TEST(endpoints)
{
    hf_bench_endpoint_t ep;
    const char *why;
    CHECK_EQ_INT(hf_bench_parse_endpoint("http://127.0.0.1:9000", &ep, &why), HF_OK);
    CHECK_EQ_STR(ep.host, "127.0.0.1");
    CHECK_EQ_STR(ep.port, "9000");
    CHECK_EQ_STR(ep.hostport, "127.0.0.1:9000");
    CHECK_EQ_INT(hf_bench_parse_endpoint("http://[::1]:9001/", &ep, &why), HF_OK);
    CHECK_EQ_STR(ep.host, "::1");
    CHECK_EQ_STR(ep.port, "9001");
    CHECK_EQ_STR(ep.hostport, "[::1]:9001");
    CHECK_EQ_INT(hf_bench_parse_endpoint("http://s3.example.com", &ep, &why), HF_OK);
    CHECK_EQ_STR(ep.port, "80");
    CHECK_EQ_STR(ep.hostport, "s3.example.com");
    CHECK_EQ_INT(hf_bench_parse_endpoint("https://s3.example.com", &ep, &why), HF_E_INVAL);
    CHECK(strstr(why, "https") != NULL);
    CHECK_EQ_INT(hf_bench_parse_endpoint("http://h/bucket", &ep, &why), HF_E_INVAL);
    CHECK_EQ_INT(hf_bench_parse_endpoint("http://h:0", &ep, &why), HF_E_INVAL);
    CHECK_EQ_INT(hf_bench_parse_endpoint("http://h:65536", &ep, &why), HF_E_INVAL);
    CHECK_EQ_INT(hf_bench_parse_endpoint("http://h:", &ep, &why), HF_E_INVAL);
    CHECK_EQ_INT(hf_bench_parse_endpoint("ftp://h", &ep, &why), HF_E_INVAL);
    CHECK_EQ_INT(hf_bench_parse_endpoint("http://", &ep, &why), HF_E_INVAL);
    CHECK_EQ_INT(hf_bench_parse_endpoint("http://a b", &ep, &why), HF_E_INVAL);
    CHECK_EQ_INT(hf_bench_parse_endpoint("http://[::1", &ep, &why), HF_E_INVAL);
}

TEST(ops_and_mix)
{
    for (int i = 0; i <= HF_BENCH_MIXED; i++)
        CHECK_EQ_INT(hf_bench_parse_op(hf_bench_op_name(i)), i);
    CHECK_EQ_INT(hf_bench_parse_op("stat"), -1);
    CHECK(hf_bench_op_name(99) == NULL);
    unsigned mix[HF_BENCH_NOPS];
    CHECK_EQ_INT(hf_bench_parse_mix("get=45,head=30,put=15,delete=10", mix), HF_OK);
    CHECK_EQ_INT(mix[HF_BENCH_GET], 45);
    CHECK_EQ_INT(mix[HF_BENCH_HEAD], 30);
    CHECK_EQ_INT(mix[HF_BENCH_PUT], 15);
    CHECK_EQ_INT(mix[HF_BENCH_DELETE], 10);
    CHECK_EQ_INT(mix[HF_BENCH_LIST], 0);
    CHECK_EQ_INT(hf_bench_parse_mix("list=1", mix), HF_OK);
    CHECK_EQ_INT(mix[HF_BENCH_GET], 0);
    CHECK_EQ_INT(hf_bench_parse_mix("get=0", mix), HF_E_INVAL);
    CHECK_EQ_INT(hf_bench_parse_mix("mixed=3", mix), HF_E_INVAL);
    CHECK_EQ_INT(hf_bench_parse_mix("get", mix), HF_E_INVAL);
    CHECK_EQ_INT(hf_bench_parse_mix("get=1;put=2", mix), HF_E_INVAL);
}

TEST(config_checks)
{
    hf_bench_config_t c;
    hf_bench_config_default(&c);
    CHECK(hf_bench_config_check(&c) != NULL); /* no keys */
    strcpy(c.access_key, "AKTEST");
    strcpy(c.secret_key, "secret-secret");
    CHECK(hf_bench_config_check(&c) == NULL);
    strcpy(c.bucket, "Bad_Bucket");
    CHECK(hf_bench_config_check(&c) != NULL);
    strcpy(c.bucket, "ok-bucket");
    c.op = HF_BENCH_MIXED;
    c.objects = 10;
    c.concurrency = 32;
    CHECK(strstr(hf_bench_config_check(&c), "mixed") != NULL);
    c.objects = 32;
    CHECK(hf_bench_config_check(&c) == NULL);
    strcpy(c.prefix, "a\tb");
    CHECK(hf_bench_config_check(&c) != NULL);
    char key[HF_BENCH_KEY_MAX];
    strcpy(c.prefix, "p/");
    hf_bench_key(&c, 42, key);
    CHECK_EQ_STR(key, "p/0000000042");
}

TEST(histogram_percentiles)
{
    static hf_bench_hist_t h;
    memset(&h, 0, sizeof h);
    CHECK_EQ_INT(hf_bench_hist_percentile(&h, 50), 0);
    for (uint64_t v = 1; v <= 100; v++)
        hf_bench_hist_add(&h, v);
    /* Below 128 us every value is exact. */
    CHECK_EQ_INT(hf_bench_hist_percentile(&h, 50), 50);
    CHECK_EQ_INT(hf_bench_hist_percentile(&h, 90), 90);
    CHECK_EQ_INT(hf_bench_hist_percentile(&h, 99), 99);
    CHECK_EQ_INT(hf_bench_hist_percentile(&h, 100), 100);
    CHECK_EQ_INT(h.count, 100);
    CHECK_EQ_INT(h.sum_us, 5050);
    memset(&h, 0, sizeof h);
    for (uint64_t v = 1; v <= 100000; v++)
        hf_bench_hist_add(&h, v);
    const double ps[] = {50, 90, 99, 99.9};
    for (int i = 0; i < 4; i++) {
        double want = ps[i] * 1000, got = (double)hf_bench_hist_percentile(&h, ps[i]);
        CHECK(got >= want && got <= want * (1 + 1.0 / 64));
    }
    CHECK_EQ_INT(hf_bench_hist_percentile(&h, 100), 100000);
    CHECK_EQ_INT(h.max_us, 100000);
    /* A single huge sample: reported as max, not as its bucket's top. */
    static hf_bench_hist_t one;
    memset(&one, 0, sizeof one);
    hf_bench_hist_add(&one, 123456789);
    CHECK_EQ_INT(hf_bench_hist_percentile(&one, 50), 123456789);
    hf_bench_hist_merge(&one, &h);
    CHECK_EQ_INT(one.count, 100001);
    CHECK_EQ_INT(one.max_us, 123456789);
    CHECK(hf_bench_hist_percentile(&one, 50) <= 50000 * (1 + 1.0 / 64) + 1);
}

TEST(error_counts)
{
    hf_bench_errs_t e, f;
    memset(&e, 0, sizeof e);
    memset(&f, 0, sizeof f);
    hf_bench_errs_add(&e, "NoSuchKey", 1);
    hf_bench_errs_add(&e, "NoSuchKey", 2);
    hf_bench_errs_add(&e, "SlowDown", 1);
    CHECK_EQ_INT(e.n, 2);
    CHECK_EQ_INT(e.e[0].count, 3);
    char code[16];
    for (int i = 0; i < HF_BENCH_ERR_CODES_MAX + 5; i++) {
        snprintf(code, sizeof code, "C%d", i);
        hf_bench_errs_add(&f, code, 1);
    }
    CHECK_EQ_INT(f.n, HF_BENCH_ERR_CODES_MAX);
    CHECK_EQ_INT(f.other, 5);
    hf_bench_errs_merge(&e, &f);
    CHECK_EQ_INT(hf_bench_errs_total(&e), 4 + HF_BENCH_ERR_CODES_MAX + 5);
    CHECK_EQ_INT(e.n, HF_BENCH_ERR_CODES_MAX);
}

TEST(response_heads)
{
    hf_bench_resp_t r;
    const char *a = "HTTP/1.1 200 OK\r\nContent-Length: 12\r\nServer: x\r\n\r\nbody...";
    CHECK_EQ_INT(hf_bench_parse_resp(a, strlen(a), &r), strstr(a, "body") - a);
    CHECK_EQ_INT(r.status, 200);
    CHECK_EQ_INT(r.content_length, 12);
    CHECK(!r.chunked && !r.close);
    CHECK_EQ_INT(hf_bench_parse_resp(a, 20, &r), 0);
    const char *b = "HTTP/1.1 404 Not Found\r\ntransfer-encoding: chunked\r\nConnection: close\r\n\r\n";
    CHECK_EQ_INT(hf_bench_parse_resp(b, strlen(b), &r), strlen(b));
    CHECK_EQ_INT(r.status, 404);
    CHECK(r.chunked && r.close);
    CHECK_EQ_INT(r.content_length, -1);
    const char *c = "HTTP/1.0 200 OK\nContent-Length: 0\n\n";
    CHECK_EQ_INT(hf_bench_parse_resp(c, strlen(c), &r), strlen(c));
    CHECK(r.close);
    const char *d = "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n\r\n";
    CHECK_EQ_INT(hf_bench_parse_resp(d, strlen(d), &r), strlen(d));
    CHECK(!r.close);
    const char *e = "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n";
    CHECK_EQ_INT(hf_bench_parse_resp(e, strlen(e), &r), HF_E_PROTO);
    const char *f = "HTTP/2 200\r\n\r\n";
    CHECK_EQ_INT(hf_bench_parse_resp(f, strlen(f), &r), HF_E_PROTO);
    const char *g = "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n";
    CHECK_EQ_INT(hf_bench_parse_resp(g, strlen(g), &r), HF_E_PROTO);
    static char big[HF_BENCH_RESP_HEAD_MAX + 10];
    memset(big, 'a', sizeof big);
    memcpy(big, "HTTP/1.1 200 OK\r\nX: ", 20);
    CHECK_EQ_INT(hf_bench_parse_resp(big, sizeof big, &r), HF_E_TOOBIG);
}

TEST(s3_error_code)
{
    const char *doc = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>NoSuchKey</Code>"
                      "<Message>The specified key does not exist.</Message></Error>";
    char code[48];
    CHECK(hf_bench_s3_code(doc, strlen(doc), code, sizeof code));
    CHECK_EQ_STR(code, "NoSuchKey");
    CHECK(!hf_bench_s3_code("<Error></Error>", 15, code, sizeof code));
    CHECK(!hf_bench_s3_code("<Code>bad code</Code>", 21, code, sizeof code));
    CHECK(!hf_bench_s3_code("<Code>Truncat", 13, code, sizeof code));
}

TEST(key_counting_across_pieces)
{
    const char *x = "<ListBucketResult><Contents><Key>a</Key></Contents><<Key>b</Key>"
                    "<Contents><Key>c&lt;Key&gt;</Key></Contents></ListBucketResult>";
    size_t n = strlen(x);
    for (size_t cut = 0; cut <= n; cut++) {
        unsigned st = 0;
        uint64_t k = hf_bench_count_keys(&st, x, cut) + hf_bench_count_keys(&st, x + cut, n - cut);
        CHECK_EQ_INT(k, 3);
    }
    unsigned st = 0;
    uint64_t k = 0;
    for (size_t i = 0; i < n; i++)
        k += hf_bench_count_keys(&st, x + i, 1);
    CHECK_EQ_INT(k, 3);
}

/* ---- the engine against a scripted server ------------------------------------ */

/* The server answers by method and path:
 *   HEAD /bucket          404 (so the engine creates it), PUT /bucket 200
 *   PUT  /bucket/key      200; every third answer on a connection adds
 *                         Connection: close and closes
 *   GET  /bucket?list...  200, chunked, three <Key>s in tiny chunks
 *   GET  /bucket/key      fake_get_status: 200 with fake_size bytes (head
 *                         split in two writes), or 404 NoSuchKey, or (503)
 *                         every other request on a connection 503 SlowDown
 *                         with the connection kept, the others 200
 *   DELETE                204 */
static int fake_fd;
static _Atomic int fake_get_status = 200;
static uint64_t fake_size = 100;
static _Atomic int fake_conns, fake_requests;

static void send_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t k = send(fd, p, n, MSG_NOSIGNAL);
        if (k <= 0)
            return;
        p += k;
        n -= (size_t)k;
    }
}

static void *fake_conn(void *arg)
{
    int fd = (int)(intptr_t)arg, served = 0;
    char *b = malloc(65536); /* bodies in these tests are small */
    size_t len = 0;
    for (;;) {
        char *end = memmem(b, len, "\r\n\r\n", 4);
        if (!end) {
            ssize_t k = recv(fd, b + len, 65536 - len, 0);
            if (k <= 0)
                break;
            len += (size_t)k;
            continue;
        }
        size_t head = (size_t)(end + 4 - b);
        size_t cl = 0;
        char *clp = strcasestr(b, "content-length:");
        if (clp && clp < end)
            cl = strtoul(clp + 15, NULL, 10);
        while (len < head + cl) {
            ssize_t k = recv(fd, b + len, 65536 - len, 0);
            if (k <= 0)
                goto out;
            len += (size_t)k;
        }
        atomic_fetch_add(&fake_requests, 1);
        served++;
        char resp[1024];
        bool close_after = false;
        if (!strncmp(b, "HEAD /bkt ", 10)) {
            send_all(fd, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n", 45);
        } else if (!strncmp(b, "PUT /bkt ", 9)) {
            send_all(fd, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 38);
        } else if (!strncmp(b, "PUT ", 4)) {
            close_after = served % 3 == 0;
            snprintf(resp, sizeof resp, "HTTP/1.1 200 OK\r\nETag: \"x\"\r\nContent-Length: 0\r\n%s\r\n",
                     close_after ? "Connection: close\r\n" : "");
            send_all(fd, resp, strlen(resp));
        } else if (!strncmp(b, "GET /bkt?", 9)) {
            const char *parts[] = {"HTTP/1.1 200 OK\r\nTransfer-Enc", "oding: chunked\r\n\r\n",
                                   "5\r\n<Key>\r\n", "3\r\na</\r\n", "2\r\nKe\r\n",
                                   "20\r\ny><Key>b</Key><Key>c</Key>      \r\n", "0\r\n\r\n"};
            for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
                send_all(fd, parts[i], strlen(parts[i]));
                usleep(200);
            }
        } else if (!strncmp(b, "GET ", 4) && atomic_load(&fake_get_status) == 0) {
            /* A wedged server: read on, answer nothing. */
            char sink[4096];
            while (recv(fd, sink, sizeof sink, 0) > 0)
                ;
            break;
        } else if (!strncmp(b, "GET ", 4)) {
            int st = atomic_load(&fake_get_status);
            if (st == 503 && served % 2 == 0) {
                const char *doc = "<?xml version=\"1.0\"?><Error><Code>SlowDown</Code>"
                                  "<Message>Please reduce your request rate.</Message></Error>";
                snprintf(resp, sizeof resp,
                         "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\n"
                         "Content-Length: %zu\r\n\r\n%s",
                         strlen(doc), doc);
                send_all(fd, resp, strlen(resp));
            } else if (st == 200 || st == 503) {
                snprintf(resp, sizeof resp, "HTTP/1.1 200 OK\r\nContent-Length: %llu\r\n\r\n",
                         (unsigned long long)fake_size);
                send_all(fd, resp, 10);
                usleep(200);
                send_all(fd, resp + 10, strlen(resp) - 10);
                char *body = calloc(1, fake_size);
                send_all(fd, body, fake_size);
                free(body);
            } else {
                const char *doc = "<?xml version=\"1.0\"?><Error><Code>NoSuchKey</Code></Error>";
                snprintf(resp, sizeof resp, "HTTP/1.1 404 Not Found\r\nContent-Length: %zu\r\n\r\n%s",
                         strlen(doc), doc);
                send_all(fd, resp, strlen(resp));
            }
        } else if (!strncmp(b, "DELETE ", 7)) {
            send_all(fd, "HTTP/1.1 204 No Content\r\n\r\n", 27);
        } else {
            send_all(fd, "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n", 47);
        }
        memmove(b, b + head + cl, len - head - cl);
        len -= head + cl;
        if (close_after)
            break;
    }
out:
    free(b);
    close(fd);
    return NULL;
}

static void *fake_accept(void *arg)
{
    (void)arg;
    for (;;) {
        int c = accept(fake_fd, NULL, NULL);
        if (c < 0)
            return NULL;
        atomic_fetch_add(&fake_conns, 1);
        pthread_t t;
        pthread_create(&t, NULL, fake_conn, (void *)(intptr_t)c);
        pthread_detach(t);
    }
}

static int fake_port(void)
{
    static int port;
    if (port)
        return port;
    fake_fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    bind(fake_fd, (struct sockaddr *)&a, sizeof a);
    listen(fake_fd, 64);
    socklen_t l = sizeof a;
    getsockname(fake_fd, (struct sockaddr *)&a, &l);
    port = ntohs(a.sin_port);
    pthread_t t;
    pthread_create(&t, NULL, fake_accept, NULL);
    pthread_detach(t);
    return port;
}

static void fake_config(hf_bench_config_t *c, int op)
{
    char url[64];
    const char *why;
    hf_bench_config_default(c);
    snprintf(url, sizeof url, "http://127.0.0.1:%d", fake_port());
    CHECK_EQ_INT(hf_bench_parse_endpoint(url, &c->endpoint, &why), HF_OK);
    strcpy(c->access_key, "AKTEST");
    strcpy(c->secret_key, "secret-secret");
    strcpy(c->bucket, "bkt");
    c->op = op;
    c->size = fake_size;
    c->objects = 20;
    c->concurrency = 3;
    c->threads = 2;
    c->duration_ms = 300;
}

TEST(engine_chunked_listing)
{
    static hf_bench_config_t c;
    static hf_bench_result_t r;
    char msg[256];
    fake_config(&c, HF_BENCH_LIST);
    int before = atomic_load(&fake_requests);
    CHECK_EQ_INT(hf_bench_run(&c, &r, msg, sizeof msg), HF_OK);
    const hf_bench_phase_t *m = &r.measure;
    CHECK(m->op[HF_BENCH_LIST].ops > 0);
    if (m->errs.n)
        fprintf(stderr, "first error: %s\n", m->errs.e[0].code);
    CHECK_EQ_INT(m->op[HF_BENCH_LIST].errors, 0);
    CHECK_EQ_INT(m->list_keys, 3 * m->op[HF_BENCH_LIST].ops);
    /* prepare uploaded 20 keys (every third PUT closed its connection),
     * cleanup deleted them: every request the server saw is counted. */
    CHECK(r.prepared && r.cleaned);
    CHECK_EQ_INT(r.prepare.op[HF_BENCH_PUT].ops, 20);
    CHECK_EQ_INT(r.prepare.op[HF_BENCH_PUT].errors, 0);
    CHECK(r.prepare.connects > 3);
    CHECK_EQ_INT(r.cleanup.op[HF_BENCH_DELETE].ops, 20);
    CHECK_EQ_INT(atomic_load(&fake_requests) - before,
                 2 + 20 + m->op[HF_BENCH_LIST].ops + 20);
}

TEST(engine_get_lengths_and_error_codes)
{
    static hf_bench_config_t c;
    static hf_bench_result_t r;
    char msg[256];
    fake_config(&c, HF_BENCH_GET);
    c.cleanup = false;
    CHECK_EQ_INT(hf_bench_run(&c, &r, msg, sizeof msg), HF_OK);
    const hf_bench_opstats_t *g = &r.measure.op[HF_BENCH_GET];
    CHECK(g->ops > 0);
    CHECK_EQ_INT(g->errors, 0);
    CHECK_EQ_INT(g->bytes, g->ops * fake_size);
    CHECK(g->lat.count == g->ops && g->lat.max_us > 0);

    /* The server now says NoSuchKey; the data set is said to be there. */
    atomic_store(&fake_get_status, 404);
    c.prepare = false;
    CHECK_EQ_INT(hf_bench_run(&c, &r, msg, sizeof msg), HF_OK);
    g = &r.measure.op[HF_BENCH_GET];
    CHECK(g->ops > 0);
    CHECK_EQ_INT(g->errors, g->ops);
    CHECK_EQ_INT(r.measure.errs.n, 1);
    CHECK_EQ_STR(r.measure.errs.e[0].code, "NoSuchKey");
    CHECK_EQ_INT(r.measure.errs.e[0].count, g->ops);
    CHECK(!r.prepared);
    atomic_store(&fake_get_status, 200);

    /* A wedged server: every request ends as a Timeout once no byte has
     * moved for timeout_ms, and the run still ends. */
    atomic_store(&fake_get_status, 0);
    c.timeout_ms = 150;
    c.duration_ms = 200;
    CHECK_EQ_INT(hf_bench_run(&c, &r, msg, sizeof msg), HF_OK);
    g = &r.measure.op[HF_BENCH_GET];
    CHECK(g->ops >= (uint64_t)c.concurrency);
    CHECK_EQ_INT(r.measure.errs.n, 1);
    CHECK_EQ_STR(r.measure.errs.e[0].code, "Timeout");
    CHECK_EQ_INT(r.measure.errs.e[0].count, g->ops);
    CHECK(g->lat.max_us >= 150000 && g->lat.max_us < 1000000);
    atomic_store(&fake_get_status, 200);

    /* A server that is not there: a clear message, no crash. */
    const char *why;
    CHECK_EQ_INT(hf_bench_parse_endpoint("http://127.0.0.1:1", &c.endpoint, &why), HF_OK);
    CHECK(hf_bench_run(&c, &r, msg, sizeof msg) != HF_OK);
    CHECK(strstr(msg, "connect") != NULL);
}

TEST(engine_slowdown_is_shed_when_expected)
{
    static hf_bench_config_t c;
    static hf_bench_result_t r;
    char msg[256];
    fake_config(&c, HF_BENCH_GET);
    c.cleanup = false;
    CHECK_EQ_INT(hf_bench_run(&c, &r, msg, sizeof msg), HF_OK);
    c.prepare = false;
    atomic_store(&fake_get_status, 503);

    /* Without the flag a SlowDown is an error like any other. */
    CHECK_EQ_INT(hf_bench_run(&c, &r, msg, sizeof msg), HF_OK);
    const hf_bench_opstats_t *g = &r.measure.op[HF_BENCH_GET];
    CHECK(g->errors > 0 && g->errors < g->ops);
    CHECK_EQ_INT(r.measure.errs.n, 1);
    CHECK_EQ_STR(r.measure.errs.e[0].code, "SlowDown");
    CHECK_EQ_INT(r.measure.shed.ops, 0);

    /* With it, every other answer is shed: counted apart, not an error,
     * not in the GETs' latency, and the connection is kept (the server
     * kept it), so the measured phase opens one per connection. */
    c.expect_slowdown = true;
    int conns0 = atomic_load(&fake_conns);
    CHECK_EQ_INT(hf_bench_run(&c, &r, msg, sizeof msg), HF_OK);
    g = &r.measure.op[HF_BENCH_GET];
    const hf_bench_opstats_t *sh = &r.measure.shed;
    CHECK(g->ops > 0 && sh->ops > 0);
    CHECK_EQ_INT(g->errors, 0);
    CHECK_EQ_INT(hf_bench_errs_total(&r.measure.errs), 0);
    CHECK_EQ_INT(g->bytes, g->ops * fake_size);
    CHECK_EQ_INT(g->lat.count, g->ops);
    CHECK_EQ_INT(sh->lat.count, sh->ops);
    /* Each connection alternates, so the counts differ by at most one per connection. */
    CHECK(sh->ops + (uint64_t)c.concurrency >= g->ops && g->ops + (uint64_t)c.concurrency >= sh->ops);
    CHECK_EQ_INT(r.measure.connects, (uint64_t)c.concurrency);
    /* The server saw those and the one that checked the bucket. */
    CHECK_EQ_INT(atomic_load(&fake_conns) - conns0, c.concurrency + 1);
    hf_bench_opstats_t t;
    hf_bench_phase_total(&r.measure, &t);
    CHECK_EQ_INT(t.ops, g->ops);

    /* The JSON report has the shed load as an object of its own. */
    char *out = NULL;
    size_t outn = 0;
    FILE *f = open_memstream(&out, &outn);
    CHECK_EQ_INT(hf_bench_report_json(f, &c, &r), 0);
    fclose(f);
    CHECK(strstr(out, "\"expect_slowdown\": true") != NULL);
    char want[64];
    snprintf(want, sizeof want, "\"shed\": {\n      \"requests\": %llu,",
             (unsigned long long)sh->ops);
    CHECK(strstr(out, want) != NULL);
    free(out);
    atomic_store(&fake_get_status, 200);
}

HF_TEST_MAIN("unit/bench")
