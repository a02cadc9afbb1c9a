/* Unit tests for src/peer/peer.c: nodes in one process, each with its own
 * event loop, calling each other over loopback. Results are recorded by
 * fibers and checked on the test's thread. */
#include "test.h"

#include "base/buf.h"
#include "base/err.h"
#include "base/fiber.h"
#include "base/time.h"
#include "net/loop.h"
#include "peer/peer.h"

#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

static const uint8_t SECRET[] = "cluster-secret-for-unit-tests-0001";
static const uint8_t OTHER[] = "a-different-secret-entirely-000002";

enum { M_ECHO = 1, M_SLOW = 2, M_FAIL = 3, M_WHO = 4 };

typedef struct node {
    hf_loops_t *loops;
    hf_peer_net_t *pn;
    char id[16];
    char addr[32];
} node_t;

static int handler(void *ctx, const char *from, uint16_t method, const void *req, size_t n,
                   int64_t deadline_ms, hf_buf_t *resp)
{
    (void)ctx;
    switch (method) {
    case M_ECHO: return hf_buf_append(resp, req, n);
    case M_SLOW:
        hf_loop_sleep_until(hf_mono_ms() + 400);
        return hf_buf_append(resp, "late", 4);
    case M_FAIL: return HF_E_NOTFOUND;
    case M_WHO: return hf_buf_puts(resp, from);
    default: return HF_E_INVAL;
    }
    (void)deadline_ms;
}

static void node_start(node_t *nd, const char *id, const uint8_t *secret, size_t slen, int cap)
{
    hf_loops_config_t lc = {.name = id, .loops = 1};
    CHECK_EQ_INT(hf_loops_create(&lc, &nd->loops), HF_OK);
    CHECK_EQ_INT(hf_loops_start(nd->loops), HF_OK);
    snprintf(nd->id, sizeof nd->id, "%s", id);
    hf_peer_config_t pc = {.loops = nd->loops, .listen = "127.0.0.1:0", .node_id = id,
                           .secret = secret, .secret_len = slen, .max_calls_per_peer = cap,
                           .handler = handler};
    CHECK_EQ_INT(hf_peer_net_create(&pc, &nd->pn), HF_OK);
    CHECK_EQ_INT(hf_peer_net_start(nd->pn), HF_OK);
    snprintf(nd->addr, sizeof nd->addr, "127.0.0.1:%d", hf_peer_port(nd->pn));
}

static void node_stop(node_t *nd)
{
    hf_peer_net_stop(nd->pn);
    hf_loops_stop(nd->loops);
    hf_peer_net_destroy(nd->pn);
    hf_loops_destroy(nd->loops);
}

/* ---- running a call on a node's loop from the test thread ------------------ */

typedef struct job {
    node_t *from;
    const char *to_id, *to_addr;
    uint16_t method;
    const void *req;
    size_t n;
    int timeout_ms;
    int rc, status;
    hf_buf_t resp;
    int64_t took_ms;
    hf_done_t done;
} job_t;

static void call_fiber(void *arg)
{
    job_t *j = arg;
    int64_t t0 = hf_mono_ms();
    j->rc = hf_peer_call(j->from->pn, j->to_id, j->to_addr, j->method, j->req, j->n,
                         t0 + j->timeout_ms, &j->resp, &j->status);
    j->took_ms = hf_mono_ms() - t0;
    hf_done_post(&j->done);
}

static void spawn_job(void *arg)
{
    job_t *j = arg;
    hf_sched_spawn(hf_loop_sched(hf_loop_self()), call_fiber, j);
}

static void start_job(job_t *j, node_t *from, node_t *to, uint16_t method, const void *req,
                      size_t n, int timeout_ms)
{
    memset(j, 0, sizeof *j);
    j->from = from;
    j->to_id = to->id;
    j->to_addr = to->addr;
    j->method = method;
    j->req = req;
    j->n = n;
    j->timeout_ms = timeout_ms;
    hf_buf_init(&j->resp, HF_PEER_FRAME_MAX);
    hf_done_init(&j->done);
    CHECK_EQ_INT(hf_loop_post(hf_loops_get(from->loops, 0), spawn_job, j), HF_OK);
}

static int run_job(job_t *j, node_t *from, node_t *to, uint16_t method, const void *req, size_t n,
                   int timeout_ms)
{
    start_job(j, from, to, method, req, n, timeout_ms);
    hf_done_wait(&j->done);
    return j->rc;
}

/* ---- tests ------------------------------------------------------------------------ */

TEST(calls_both_ways_over_one_connection)
{
    node_t a, b;
    node_start(&a, "node-a", SECRET, sizeof SECRET, 0);
    node_start(&b, "node-b", SECRET, sizeof SECRET, 0);
    job_t j;
    CHECK_EQ_INT(run_job(&j, &a, &b, M_ECHO, "hello", 5, 2000), HF_OK);
    CHECK_EQ_INT(j.status, HF_OK);
    CHECK_EQ_INT(j.resp.len, 5);
    CHECK_EQ_MEM(j.resp.data, "hello", 5);
    hf_buf_free(&j.resp);
    /* The callee learns who called, from the handshake. */
    CHECK_EQ_INT(run_job(&j, &a, &b, M_WHO, NULL, 0, 2000), HF_OK);
    CHECK_EQ_INT(j.resp.len, 6);
    CHECK_EQ_MEM(j.resp.data, "node-a", 6);
    hf_buf_free(&j.resp);
    /* A handler's error comes back as the status, not a transport error. */
    CHECK_EQ_INT(run_job(&j, &a, &b, M_FAIL, NULL, 0, 2000), HF_OK);
    CHECK_EQ_INT(j.status, HF_E_NOTFOUND);
    hf_buf_free(&j.resp);
    /* b calls a back over the connection a opened: still one each side. */
    CHECK_EQ_INT(run_job(&j, &b, &a, M_ECHO, "back", 4, 2000), HF_OK);
    CHECK_EQ_MEM(j.resp.data, "back", 4);
    hf_buf_free(&j.resp);
    CHECK_EQ_INT(hf_peer_connections(a.pn), 1);
    CHECK_EQ_INT(hf_peer_connections(b.pn), 1);
    /* A frame at the size limit goes through whole. */
    size_t big = HF_PEER_FRAME_MAX;
    unsigned char *p = malloc(big);
    for (size_t i = 0; i < big; i++)
        p[i] = (unsigned char)(i * 7);
    CHECK_EQ_INT(run_job(&j, &a, &b, M_ECHO, p, big, 10000), HF_OK);
    CHECK_EQ_INT(j.resp.len, big);
    CHECK(memcmp(j.resp.data, p, big) == 0);
    hf_buf_free(&j.resp);
    CHECK_EQ_INT(run_job(&j, &a, &b, M_ECHO, p, big + 1, 10000), HF_E_TOOBIG);
    hf_buf_free(&j.resp);
    free(p);
    hf_peer_stat_t st[4];
    size_t n = hf_peer_stats(a.pn, st, 4);
    CHECK_EQ_INT(n, 1);
    CHECK_EQ_STR(st[0].id, "node-b");
    CHECK(st[0].connected);
    CHECK(st[0].ok >= 4);
    CHECK(st[0].last_rtt_us >= 0);
    node_stop(&a);
    node_stop(&b);
}

TEST(wrong_secret_or_wrong_node_is_refused)
{
    node_t a, b, c;
    node_start(&a, "node-a", SECRET, sizeof SECRET, 0);
    node_start(&b, "node-b", SECRET, sizeof SECRET, 0);
    node_start(&c, "node-c", OTHER, sizeof OTHER, 0);
    job_t j;
    CHECK_EQ_INT(run_job(&j, &a, &c, M_ECHO, "x", 1, 2000), HF_E_AUTH);
    hf_buf_free(&j.resp);
    CHECK_EQ_INT(run_job(&j, &c, &a, M_ECHO, "x", 1, 2000), HF_E_AUTH);
    hf_buf_free(&j.resp);
    /* b's address, but the caller meant another node. */
    node_t fake = b;
    snprintf(fake.id, sizeof fake.id, "node-z");
    CHECK_EQ_INT(run_job(&j, &a, &fake, M_ECHO, "x", 1, 2000), HF_E_AUTH);
    hf_buf_free(&j.resp);
    /* The real b still works. */
    CHECK_EQ_INT(run_job(&j, &a, &b, M_ECHO, "x", 1, 2000), HF_OK);
    hf_buf_free(&j.resp);
    node_stop(&a);
    node_stop(&b);
    node_stop(&c);
}

TEST(deadlines_and_backpressure_bound_a_slow_peer)
{
    node_t a, b;
    node_start(&a, "node-a", SECRET, sizeof SECRET, 4);
    node_start(&b, "node-b", SECRET, sizeof SECRET, 0);
    job_t j;
    /* The handler takes 400 ms; the caller's deadline is 100 ms. */
    CHECK_EQ_INT(run_job(&j, &a, &b, M_SLOW, NULL, 0, 100), HF_E_TIMEOUT);
    /* Ends at its deadline, not when the handler finishes (generous on a
     * loaded machine: the point is the order of magnitude). */
    CHECK(j.took_ms >= 90 && j.took_ms < 1500);
    hf_buf_free(&j.resp);
    /* Four slow calls wait; a fifth and sixth are refused at once. */
    static job_t slow[6];
    for (int i = 0; i < 4; i++)
        start_job(&slow[i], &a, &b, M_SLOW, NULL, 0, 3000);
    usleep(100 * 1000);
    for (int i = 4; i < 6; i++)
        start_job(&slow[i], &a, &b, M_ECHO, "y", 1, 3000);
    for (int i = 0; i < 6; i++)
        hf_done_wait(&slow[i].done);
    for (int i = 0; i < 4; i++) {
        CHECK_EQ_INT(slow[i].rc, HF_OK);
        CHECK_EQ_MEM(slow[i].resp.data, "late", 4);
        hf_buf_free(&slow[i].resp);
    }
    for (int i = 4; i < 6; i++) {
        CHECK_EQ_INT(slow[i].rc, HF_E_BUSY);
        CHECK(slow[i].took_ms < 300);
        hf_buf_free(&slow[i].resp);
    }
    /* The connection outlived the timed-out call and its late answer. */
    CHECK_EQ_INT(run_job(&j, &a, &b, M_ECHO, "z", 1, 2000), HF_OK);
    hf_buf_free(&j.resp);
    node_stop(&a);
    node_stop(&b);
}

TEST(unreachable_and_silent_peers_fail_fast)
{
    node_t a;
    node_start(&a, "node-a", SECRET, sizeof SECRET, 0);
    /* Nothing listens on this port. */
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    CHECK_EQ_INT(bind(s, (struct sockaddr *)&sa, sizeof sa), 0);
    socklen_t sl = sizeof sa;
    getsockname(s, (struct sockaddr *)&sa, &sl);
    node_t gone = {0};
    snprintf(gone.id, sizeof gone.id, "node-gone");
    snprintf(gone.addr, sizeof gone.addr, "127.0.0.1:%d", ntohs(sa.sin_port));
    close(s);
    job_t j;
    CHECK_EQ_INT(run_job(&j, &a, &gone, M_ECHO, "x", 1, 2000), HF_E_CLOSED);
    hf_buf_free(&j.resp);
    /* Backing off: the next call fails at once, without a dial. */
    CHECK_EQ_INT(run_job(&j, &a, &gone, M_ECHO, "x", 1, 2000), HF_E_CLOSED);
    CHECK(j.took_ms < 300);
    hf_buf_free(&j.resp);
    hf_peer_stat_t st[2];
    CHECK_EQ_INT(hf_peer_stats(a.pn, st, 2), 1);
    CHECK(!st[0].connected);
    CHECK(st[0].down_since_ms > 0);
    /* A peer that accepts and never answers (stopped): the call ends at its
     * deadline, and other peers are not affected. */
    int l = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in la = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    CHECK_EQ_INT(bind(l, (struct sockaddr *)&la, sizeof la), 0);
    CHECK_EQ_INT(listen(l, 8), 0);
    sl = sizeof la;
    getsockname(l, (struct sockaddr *)&la, &sl);
    node_t silent = {0};
    snprintf(silent.id, sizeof silent.id, "node-silent");
    snprintf(silent.addr, sizeof silent.addr, "127.0.0.1:%d", ntohs(la.sin_port));
    CHECK_EQ_INT(run_job(&j, &a, &silent, M_ECHO, "x", 1, 200), HF_E_TIMEOUT);
    CHECK(j.took_ms < 3000);
    hf_buf_free(&j.resp);
    node_t b;
    node_start(&b, "node-b", SECRET, sizeof SECRET, 0);
    CHECK_EQ_INT(run_job(&j, &a, &b, M_ECHO, "x", 1, 2000), HF_OK);
    hf_buf_free(&j.resp);
    close(l);
    node_stop(&a);
    node_stop(&b);
}

TEST(stop_ends_calls_in_flight)
{
    node_t a, b;
    node_start(&a, "node-a", SECRET, sizeof SECRET, 0);
    node_start(&b, "node-b", SECRET, sizeof SECRET, 0);
    job_t j;
    CHECK_EQ_INT(run_job(&j, &a, &b, M_ECHO, "x", 1, 2000), HF_OK);
    hf_buf_free(&j.resp);
    start_job(&j, &a, &b, M_SLOW, NULL, 0, 5000);
    usleep(50 * 1000);
    hf_peer_net_stop(b.pn); /* b goes away mid-call */
    hf_done_wait(&j.done);
    CHECK_EQ_INT(j.rc, HF_E_CLOSED);
    CHECK(j.took_ms < 3000);
    hf_buf_free(&j.resp);
    hf_loops_stop(b.loops);
    hf_peer_net_destroy(b.pn);
    hf_loops_destroy(b.loops);
    node_stop(&a);
}

HF_TEST_MAIN("unit/peer")
