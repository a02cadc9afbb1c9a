/*
 * etcd.c -- the etcd v3 JSON gateway client; see etcd.h.
 *
 * Each call is one HTTP POST of a JSON body to /v3/<service>/<method> on
 * the current member, made with one reused libcurl easy handle (so the
 * connection is kept between calls). The answer is read into a capped
 * buffer and parsed with jansson. A watch is a long-lived POST to
 * /v3/watch whose answer is a stream of newline-separated JSON messages;
 * it runs on its own easy handle inside a libcurl multi handle, so the
 * thread that owns the client can wait on the stream and on its own
 * timers in one place (hf_etcd_watch_poll) without a thread of its own.
 *
 * Rejected: etcd's gRPC API directly (no C gRPC library in Debian 12
 * worth its weight: grpc's C core is C++ underneath and pulls in
 * protobuf); etcdctl as a subprocess (a process per call, and its output
 * is not a stable interface). The gateway is part of every etcd 3.4
 * member and speaks the same API.
 */
#include "etcd/etcd.h"

#include "base/buf.h"
#include "base/err.h"
#include "base/log.h"
#include "base/str.h"
#include "base/time.h"

#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* gRPC status codes the gateway passes through in {"code": N}. */
enum {
    GRPC_INVALID_ARGUMENT = 3,
    GRPC_DEADLINE_EXCEEDED = 4,
    GRPC_NOT_FOUND = 5,
    GRPC_OUT_OF_RANGE = 11,
    GRPC_UNAVAILABLE = 14,
};

struct hf_etcd {
    char ep[HF_ETCD_ENDPOINTS_MAX][HF_ETCD_ENDPOINT_MAX + 1];
    int nep;
    int cur;
    CURL *h;
    hf_buf_t body;
    char err[512];
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_init(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

int hf_etcd_create(const char *endpoints, hf_etcd_t **out, char *why, size_t whycap)
{
    *out = NULL;
    if (why && whycap)
        why[0] = '\0';
    pthread_once(&curl_once, curl_init);
    hf_etcd_t *e = calloc(1, sizeof *e);
    if (!e)
        return -ENOMEM;
    const char *p = endpoints;
    while (*p) {
        size_t n = strcspn(p, ",");
        const char *colon = n ? memrchr(p, ':', n) : NULL;
        char *end = NULL;
        long port = colon ? strtol(colon + 1, &end, 10) : 0;
        if (n == 0 || n > HF_ETCD_ENDPOINT_MAX || !colon || colon == p || end != p + n ||
            port < 1 || port > 65535 || memchr(p, '/', n) || memchr(p, '@', n)) {
            if (why)
                snprintf(why, whycap, "'%.*s' is not HOST:PORT", (int)(n < 80 ? n : 80), p);
            free(e);
            return HF_E_INVAL;
        }
        if (e->nep == HF_ETCD_ENDPOINTS_MAX) {
            if (why)
                snprintf(why, whycap, "more than %d etcd endpoints", HF_ETCD_ENDPOINTS_MAX);
            free(e);
            return HF_E_INVAL;
        }
        memcpy(e->ep[e->nep], p, n);
        e->ep[e->nep][n] = '\0';
        e->nep++;
        p += n;
        if (*p == ',')
            p++;
    }
    if (e->nep == 0) {
        if (why)
            snprintf(why, whycap, "no etcd endpoint given");
        free(e);
        return HF_E_INVAL;
    }
    e->h = curl_easy_init();
    if (!e->h) {
        free(e);
        return -ENOMEM;
    }
    hf_buf_init(&e->body, HF_ETCD_RESPONSE_MAX);
    *out = e;
    return HF_OK;
}

void hf_etcd_destroy(hf_etcd_t *e)
{
    if (!e)
        return;
    curl_easy_cleanup(e->h);
    hf_buf_free(&e->body);
    free(e);
}

const char *hf_etcd_endpoint(const hf_etcd_t *e)
{
    return e->ep[e->cur];
}

const char *hf_etcd_last_error(const hf_etcd_t *e)
{
    return e->err;
}

void hf_etcd_prefix_end(const char *prefix, char *out, size_t cap)
{
    size_t n = strlen(prefix);
    if (n + 1 > cap || n == 0) {
        if (cap)
            out[0] = '\0';
        return;
    }
    memcpy(out, prefix, n + 1);
    /* The smallest key greater than every key with the prefix: the last
     * byte below 0xff plus one, the bytes after it dropped. holdfast's
     * prefixes are text ending in '/', so this is the last byte + 1. */
    while (n > 0 && (unsigned char)out[n - 1] == 0xff)
        n--;
    if (n == 0) {
        out[0] = '\0';
        return;
    }
    out[n - 1] = (char)((unsigned char)out[n - 1] + 1);
    out[n] = '\0';
}

/* ---- JSON helpers ------------------------------------------------------------ */

static json_t *b64(const void *p, size_t n)
{
    char stackbuf[512];
    size_t need = hf_base64_len(n) + 1;
    char *s = need <= sizeof stackbuf ? stackbuf : malloc(need);
    if (!s)
        return NULL;
    size_t l = hf_base64_encode(s, p, n);
    json_t *j = json_stringn(s, l);
    if (s != stackbuf)
        free(s);
    return j;
}

static json_t *b64s(const char *s)
{
    return b64(s, strlen(s));
}

static json_t *i64(int64_t v)
{
    char s[24];
    snprintf(s, sizeof s, "%" PRId64, v);
    return json_string(s);
}

/* A 64-bit number as the gateway writes it: a decimal string (or, from
 * some paths, a JSON integer); absent means 0. -1 if malformed. */
static int get_i64(json_t *o, const char *k, int64_t *out)
{
    json_t *v = json_object_get(o, k);
    *out = 0;
    if (!v)
        return 0;
    if (json_is_integer(v)) {
        *out = json_integer_value(v);
        return 0;
    }
    const char *s = json_string_value(v);
    if (!s || !*s)
        return -1;
    char *end;
    errno = 0;
    long long x = strtoll(s, &end, 10);
    if (errno || *end)
        return -1;
    *out = x;
    return 0;
}

/* Decode base64 field k of o into a new NUL-terminated heap copy (absent:
 * empty). -1 if malformed or over HF_ETCD_RESPONSE_MAX. */
static int get_b64(json_t *o, const char *k, uint8_t **out, size_t *len)
{
    *out = NULL;
    *len = 0;
    json_t *v = json_object_get(o, k);
    const char *s = v ? json_string_value(v) : "";
    if (!s)
        return -1;
    size_t n = strlen(s);
    if (n > HF_ETCD_RESPONSE_MAX)
        return -1;
    uint8_t *b = malloc(n / 4 * 3 + 1);
    if (!b)
        return -1;
    int dl = n ? hf_base64_decode(b, n / 4 * 3, s, n) : 0;
    if (dl < 0) {
        free(b);
        return -1;
    }
    b[dl] = '\0';
    *out = b;
    *len = (size_t)dl;
    return 0;
}

static void kv_free(hf_etcd_kv_t *kv)
{
    free(kv->key);
    free(kv->value);
    memset(kv, 0, sizeof *kv);
}

static int parse_kv(json_t *o, hf_etcd_kv_t *kv)
{
    memset(kv, 0, sizeof *kv);
    uint8_t *key;
    if (!json_is_object(o) || get_b64(o, "key", &key, &kv->key_len) ||
        memchr(key, '\0', kv->key_len)) {
        if (json_is_object(o))
            free(key);
        return HF_E_PROTO;
    }
    kv->key = (char *)key;
    if (get_b64(o, "value", &kv->value, &kv->value_len) ||
        get_i64(o, "create_revision", &kv->create_revision) ||
        get_i64(o, "mod_revision", &kv->mod_revision) || get_i64(o, "version", &kv->version) ||
        get_i64(o, "lease", &kv->lease)) {
        kv_free(kv);
        return HF_E_PROTO;
    }
    return HF_OK;
}

void hf_etcd_kvs_free(hf_etcd_kvs_t *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n; i++)
        kv_free(&r->kv[i]);
    free(r->kv);
    memset(r, 0, sizeof *r);
}

/* A range answer's body (the object holding header, kvs, more). */
static int parse_range_obj(json_t *o, hf_etcd_kvs_t *out)
{
    memset(out, 0, sizeof *out);
    if (!json_is_object(o))
        return HF_E_PROTO;
    json_t *hdr = json_object_get(o, "header");
    if (hdr && get_i64(hdr, "revision", &out->revision))
        return HF_E_PROTO;
    out->more = json_is_true(json_object_get(o, "more"));
    json_t *kvs = json_object_get(o, "kvs");
    if (!kvs)
        return HF_OK;
    if (!json_is_array(kvs))
        return HF_E_PROTO;
    size_t n = json_array_size(kvs);
    if (n == 0)
        return HF_OK;
    out->kv = calloc(n, sizeof *out->kv);
    if (!out->kv)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++) {
        int rc = parse_kv(json_array_get(kvs, i), &out->kv[i]);
        if (rc) {
            hf_etcd_kvs_free(out);
            return rc;
        }
        out->n = i + 1;
    }
    return HF_OK;
}

int hf_etcd_parse_range(const char *json, size_t n, hf_etcd_kvs_t *out)
{
    json_error_t je;
    json_t *o = json_loadb(json, n, 0, &je);
    int rc = o ? parse_range_obj(o, out) : HF_E_PROTO;
    json_decref(o);
    if (rc)
        memset(out, 0, sizeof *out);
    return rc;
}

/* ---- one call ---------------------------------------------------------------- */

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    hf_buf_t *b = ud;
    return hf_buf_append(b, p, size * n) == HF_OK ? size * n : 0;
}

/* What to do when a call's attempt on one member fails. */
enum attempt { NEXT_MEMBER, GIVE_UP };

/* POST body to /v3/<path>, trying members in turn until one answers or
 * the deadline passes. sent_is_ambiguous: the request changes state, so
 * a failure after it may have been sent ends the call with
 * HF_E_TIMEOUT instead of trying it elsewhere. On HF_OK *out is the
 * parsed answer (caller decrefs). An etcd error answer gives the mapped
 * error with the message in e->err. */
static int call(hf_etcd_t *e, const char *path, json_t *req, bool sent_is_ambiguous,
                int64_t deadline_ms, json_t **out)
{
    *out = NULL;
    char *body = json_dumps(req, JSON_COMPACT);
    if (!body)
        return -ENOMEM;
    int rc = HF_E_CLOSED;
    e->err[0] = '\0';
    for (int tried = 0; tried < e->nep; tried++) {
        int64_t now = hf_mono_ms();
        if (now >= deadline_ms) {
            rc = HF_E_TIMEOUT;
            if (!e->err[0])
                snprintf(e->err, sizeof e->err, "deadline passed before %s answered", e->ep[e->cur]);
            break;
        }
        /* A member that accepts and then says nothing must not take the
         * whole deadline from the others. */
        int64_t left = deadline_ms - now, budget = left / (e->nep - tried);
        if (budget < 300)
            budget = left < 300 ? left : 300;
        char url[HF_ETCD_ENDPOINT_MAX + 64];
        snprintf(url, sizeof url, "http://%s/v3/%s", e->ep[e->cur], path);
        hf_buf_reset(&e->body);
        CURL *h = e->h;
        curl_easy_reset(h);
        curl_easy_setopt(h, CURLOPT_URL, url);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, &e->body);
        curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)budget);
        curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
                         (long)(budget < HF_ETCD_CONNECT_TIMEOUT_MS ? budget : HF_ETCD_CONNECT_TIMEOUT_MS));
        curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
        curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http");
        curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)HF_ETCD_RESPONSE_MAX);
        struct curl_slist *hdrs = curl_slist_append(NULL, "Content-Type: application/json");
        hdrs = curl_slist_append(hdrs, "Expect:");
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
        CURLcode cc = curl_easy_perform(h);
        curl_slist_free_all(hdrs);
        enum attempt next = NEXT_MEMBER;
        if (cc != CURLE_OK) {
            snprintf(e->err, sizeof e->err, "%s: %s", e->ep[e->cur], curl_easy_strerror(cc));
            bool not_sent = cc == CURLE_COULDNT_CONNECT || cc == CURLE_COULDNT_RESOLVE_HOST;
            if (cc == CURLE_WRITE_ERROR || cc == CURLE_FILESIZE_EXCEEDED) {
                rc = HF_E_TOOBIG;
                next = GIVE_UP;
            } else if (!not_sent && sent_is_ambiguous) {
                rc = HF_E_TIMEOUT;
                next = GIVE_UP;
            } else {
                rc = cc == CURLE_OPERATION_TIMEDOUT ? HF_E_TIMEOUT : HF_E_CLOSED;
            }
        } else {
            long status = 0;
            curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
            json_error_t je;
            json_t *j = json_loadb(e->body.data ? e->body.data : "", e->body.len, 0, &je);
            json_int_t code = j ? json_integer_value(json_object_get(j, "code")) : 0;
            const char *msg = j ? json_string_value(json_object_get(j, "message")) : NULL;
            if (status == 200 && json_is_object(j) && !json_object_get(j, "error")) {
                *out = j;
                rc = HF_OK;
                break;
            }
            snprintf(e->err, sizeof e->err, "%s: HTTP %ld%s%s", e->ep[e->cur], status,
                     msg ? ": " : "", msg ? msg : "");
            json_decref(j);
            if (!j) {
                rc = HF_E_PROTO;
            } else if (code == GRPC_UNAVAILABLE) {
                rc = HF_E_CLOSED; /* no leader, or stopping: another member may serve */
            } else if (code == GRPC_DEADLINE_EXCEEDED) {
                rc = HF_E_TIMEOUT;
                if (sent_is_ambiguous)
                    next = GIVE_UP;
            } else {
                rc = code == GRPC_NOT_FOUND      ? HF_E_NOTFOUND
                     : code == GRPC_OUT_OF_RANGE ? HF_E_VERSION
                                                 : HF_E_STATE;
                next = GIVE_UP;
            }
        }
        if (next == GIVE_UP)
            break;
        e->cur = (e->cur + 1) % e->nep;
    }
    free(body);
    return rc;
}

/* ---- ranges and transactions -------------------------------------------------- */

static json_t *range_req(const char *key, const char *range_end, int64_t rev, int64_t limit)
{
    json_t *r = json_object();
    json_object_set_new(r, "key", b64s(key));
    if (range_end)
        json_object_set_new(r, "range_end", b64s(range_end));
    if (rev)
        json_object_set_new(r, "revision", i64(rev));
    if (limit)
        json_object_set_new(r, "limit", i64(limit));
    return r;
}

int hf_etcd_range(hf_etcd_t *e, const char *key, const char *range_end, int64_t rev,
                  int64_t limit, int64_t deadline_ms, hf_etcd_kvs_t *out)
{
    memset(out, 0, sizeof *out);
    json_t *req = range_req(key, range_end, rev, limit), *ans;
    int rc = call(e, "kv/range", req, false, deadline_ms, &ans);
    json_decref(req);
    if (rc)
        return rc;
    rc = parse_range_obj(ans, out);
    json_decref(ans);
    return rc;
}

static const char *const target_names[] = {"VERSION", "CREATE", "MOD", "VALUE"};
static const char *const result_names[] = {"EQUAL", "NOT_EQUAL", "LESS", "GREATER"};

static json_t *op_json(const hf_etcd_op_t *op)
{
    json_t *o = json_object(), *r;
    switch (op->kind) {
    case HF_ETCD_PUT:
        r = json_object();
        json_object_set_new(r, "key", b64s(op->key));
        json_object_set_new(r, "value", b64(op->value, op->value_len));
        if (op->lease)
            json_object_set_new(r, "lease", i64(op->lease));
        json_object_set_new(o, "request_put", r);
        break;
    case HF_ETCD_DELETE:
        r = json_object();
        json_object_set_new(r, "key", b64s(op->key));
        if (op->range_end)
            json_object_set_new(r, "range_end", b64s(op->range_end));
        json_object_set_new(o, "request_delete_range", r);
        break;
    case HF_ETCD_GET:
        json_object_set_new(o, "request_range", range_req(op->key, op->range_end, 0, 0));
        break;
    }
    return o;
}

void hf_etcd_txn_free(hf_etcd_txn_res_t *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->ngets; i++)
        hf_etcd_kvs_free(&r->gets[i]);
    free(r->gets);
    memset(r, 0, sizeof *r);
}

int hf_etcd_txn(hf_etcd_t *e, const hf_etcd_cmp_t *cmp, size_t ncmp, const hf_etcd_op_t *success,
                size_t nsuccess, const hf_etcd_op_t *failure, size_t nfailure, int64_t deadline_ms,
                hf_etcd_txn_res_t *res)
{
    memset(res, 0, sizeof *res);
    json_t *req = json_object(), *cs = json_array(), *ss = json_array(), *fs = json_array();
    for (size_t i = 0; i < ncmp; i++) {
        const hf_etcd_cmp_t *c = &cmp[i];
        json_t *o = json_object();
        json_object_set_new(o, "key", b64s(c->key));
        json_object_set_new(o, "target", json_string(target_names[c->target]));
        json_object_set_new(o, "result", json_string(result_names[c->result]));
        switch (c->target) {
        case HF_ETCD_VERSION: json_object_set_new(o, "version", i64(c->n)); break;
        case HF_ETCD_CREATE: json_object_set_new(o, "create_revision", i64(c->n)); break;
        case HF_ETCD_MOD: json_object_set_new(o, "mod_revision", i64(c->n)); break;
        case HF_ETCD_VALUE: json_object_set_new(o, "value", b64(c->value, c->value_len)); break;
        }
        json_array_append_new(cs, o);
    }
    for (size_t i = 0; i < nsuccess; i++)
        json_array_append_new(ss, op_json(&success[i]));
    for (size_t i = 0; i < nfailure; i++)
        json_array_append_new(fs, op_json(&failure[i]));
    json_object_set_new(req, "compare", cs);
    json_object_set_new(req, "success", ss);
    json_object_set_new(req, "failure", fs);
    json_t *ans;
    int rc = call(e, "kv/txn", req, true, deadline_ms, &ans);
    json_decref(req);
    if (rc)
        return rc;
    json_t *hdr = json_object_get(ans, "header");
    res->succeeded = json_is_true(json_object_get(ans, "succeeded"));
    if (!hdr || get_i64(hdr, "revision", &res->revision)) {
        rc = HF_E_PROTO;
        goto out;
    }
    json_t *resps = json_object_get(ans, "responses");
    size_t nr = json_is_array(resps) ? json_array_size(resps) : 0;
    const hf_etcd_op_t *ops = res->succeeded ? success : failure;
    size_t nops = res->succeeded ? nsuccess : nfailure, ngets = 0;
    for (size_t i = 0; i < nops; i++)
        ngets += ops[i].kind == HF_ETCD_GET;
    if (ngets == 0)
        goto out;
    if (nr != nops) {
        rc = HF_E_PROTO;
        goto out;
    }
    res->gets = calloc(ngets, sizeof *res->gets);
    if (!res->gets) {
        rc = -ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < nops; i++) {
        if (ops[i].kind != HF_ETCD_GET)
            continue;
        json_t *rr = json_object_get(json_array_get(resps, i), "response_range");
        /* An empty range answer may be left out of its wrapper: no keys. */
        int prc = rr ? parse_range_obj(rr, &res->gets[res->ngets]) : HF_OK;
        if (prc) {
            rc = prc;
            goto out;
        }
        res->ngets++;
    }
out:
    json_decref(ans);
    if (rc)
        hf_etcd_txn_free(res);
    return rc;
}

/* ---- leases ---------------------------------------------------------------------- */

int hf_etcd_lease_grant(hf_etcd_t *e, int64_t ttl_s, int64_t deadline_ms, int64_t *id,
                        int64_t *granted_s)
{
    json_t *req = json_object(), *ans;
    json_object_set_new(req, "TTL", i64(ttl_s));
    /* A grant whose answer is lost leaves a lease that expires unused:
     * harmless, so it is retried like a read. */
    int rc = call(e, "lease/grant", req, false, deadline_ms, &ans);
    json_decref(req);
    if (rc)
        return rc;
    int64_t ttl = 0;
    if (get_i64(ans, "ID", id) || get_i64(ans, "TTL", &ttl) || *id == 0)
        rc = HF_E_PROTO;
    if (granted_s)
        *granted_s = ttl;
    json_decref(ans);
    return rc;
}

int hf_etcd_lease_keepalive(hf_etcd_t *e, int64_t id, int64_t deadline_ms, int64_t *ttl_s)
{
    json_t *req = json_object(), *ans;
    json_object_set_new(req, "ID", i64(id));
    int rc = call(e, "lease/keepalive", req, false, deadline_ms, &ans);
    json_decref(req);
    if (rc)
        return rc;
    json_t *r = json_object_get(ans, "result");
    int64_t ttl = 0;
    if (!json_is_object(r) || get_i64(r, "TTL", &ttl))
        rc = HF_E_PROTO;
    else if (ttl <= 0)
        rc = HF_E_NOTFOUND; /* etcd answers a TTL of 0 for an expired lease */
    if (ttl_s)
        *ttl_s = ttl;
    json_decref(ans);
    return rc;
}

int hf_etcd_lease_revoke(hf_etcd_t *e, int64_t id, int64_t deadline_ms)
{
    json_t *req = json_object(), *ans;
    json_object_set_new(req, "ID", i64(id));
    int rc = call(e, "lease/revoke", req, false, deadline_ms, &ans);
    json_decref(req);
    json_decref(ans);
    return rc == HF_E_NOTFOUND ? HF_OK : rc;
}

/* ---- watches --------------------------------------------------------------------- */

struct hf_etcd_watch {
    hf_etcd_t *e;
    CURLM *m;
    CURL *h;
    char *req;             /* the POST body (kept while the transfer runs) */
    struct curl_slist *hdrs;
    hf_buf_t in;           /* bytes received, not yet a complete message */
    bool overflow;         /* a message grew past HF_ETCD_RESPONSE_MAX */
    int64_t rev;           /* newest revision complete */
    bool done;             /* the transfer ended */
    CURLcode result;
    char err[256];
};

static size_t on_watch(char *p, size_t size, size_t n, void *ud)
{
    hf_etcd_watch_t *w = ud;
    if (hf_buf_append(&w->in, p, size * n) != HF_OK) {
        w->overflow = true;
        return 0;
    }
    return size * n;
}

int hf_etcd_watch_open(hf_etcd_t *e, const char *key, const char *range_end, int64_t start_rev,
                       hf_etcd_watch_t **out)
{
    *out = NULL;
    hf_etcd_watch_t *w = calloc(1, sizeof *w);
    if (!w)
        return -ENOMEM;
    w->e = e;
    w->rev = start_rev > 0 ? start_rev - 1 : 0;
    hf_buf_init(&w->in, HF_ETCD_RESPONSE_MAX);
    json_t *cr = json_object(), *req = json_object();
    json_object_set_new(cr, "key", b64s(key));
    if (range_end)
        json_object_set_new(cr, "range_end", b64s(range_end));
    if (start_rev > 0)
        json_object_set_new(cr, "start_revision", i64(start_rev));
    json_object_set_new(req, "create_request", cr);
    w->req = json_dumps(req, JSON_COMPACT);
    json_decref(req);
    w->m = curl_multi_init();
    w->h = curl_easy_init();
    if (!w->req || !w->m || !w->h) {
        hf_etcd_watch_close(w);
        return -ENOMEM;
    }
    char url[HF_ETCD_ENDPOINT_MAX + 32];
    snprintf(url, sizeof url, "http://%s/v3/watch", e->ep[e->cur]);
    w->hdrs = curl_slist_append(NULL, "Content-Type: application/json");
    w->hdrs = curl_slist_append(w->hdrs, "Expect:");
    curl_easy_setopt(w->h, CURLOPT_URL, url);
    curl_easy_setopt(w->h, CURLOPT_POSTFIELDS, w->req);
    curl_easy_setopt(w->h, CURLOPT_POSTFIELDSIZE, (long)strlen(w->req));
    curl_easy_setopt(w->h, CURLOPT_HTTPHEADER, w->hdrs);
    curl_easy_setopt(w->h, CURLOPT_WRITEFUNCTION, on_watch);
    curl_easy_setopt(w->h, CURLOPT_WRITEDATA, w);
    curl_easy_setopt(w->h, CURLOPT_CONNECTTIMEOUT_MS, (long)HF_ETCD_CONNECT_TIMEOUT_MS);
    curl_easy_setopt(w->h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(w->h, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(w->h, CURLOPT_PROTOCOLS_STR, "http");
    /* A member that vanishes without closing the connection (a cut
     * network) is noticed by TCP keep-alive too, besides the caller's own
     * staleness checks. */
    curl_easy_setopt(w->h, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(w->h, CURLOPT_TCP_KEEPIDLE, 5L);
    curl_easy_setopt(w->h, CURLOPT_TCP_KEEPINTVL, 2L);
    curl_multi_add_handle(w->m, w->h);
    *out = w;
    return HF_OK;
}

void hf_etcd_watch_close(hf_etcd_watch_t *w)
{
    if (!w)
        return;
    if (w->m && w->h)
        curl_multi_remove_handle(w->m, w->h);
    if (w->h)
        curl_easy_cleanup(w->h);
    if (w->m)
        curl_multi_cleanup(w->m);
    curl_slist_free_all(w->hdrs);
    free(w->req);
    hf_buf_free(&w->in);
    free(w);
}

const char *hf_etcd_watch_error(const hf_etcd_watch_t *w)
{
    return w->err;
}

int64_t hf_etcd_watch_revision(const hf_etcd_watch_t *w)
{
    return w->rev;
}

void hf_etcd_watch_wakeup(hf_etcd_watch_t *w)
{
    curl_multi_wakeup(w->m);
}

int hf_etcd_parse_watch(const char *json, size_t n, hf_etcd_event_fn fn, void *ctx, int64_t *rev,
                        int64_t *compacted, bool *canceled)
{
    *rev = 0;
    *compacted = 0;
    *canceled = false;
    json_error_t je;
    json_t *o = json_loadb(json, n, 0, &je);
    int rc = HF_OK;
    json_t *r = o ? json_object_get(o, "result") : NULL;
    if (!json_is_object(r)) {
        rc = o && json_object_get(o, "error") ? HF_E_CLOSED : HF_E_PROTO;
        goto out;
    }
    json_t *hdr = json_object_get(r, "header");
    if ((hdr && get_i64(hdr, "revision", rev)) || get_i64(r, "compact_revision", compacted)) {
        rc = HF_E_PROTO;
        goto out;
    }
    *canceled = json_is_true(json_object_get(r, "canceled"));
    json_t *evs = json_object_get(r, "events");
    if (evs && !json_is_array(evs)) {
        rc = HF_E_PROTO;
        goto out;
    }
    size_t i;
    json_t *ev;
    json_array_foreach(evs, i, ev)
    {
        const char *type = json_string_value(json_object_get(ev, "type"));
        hf_etcd_event_kind_t kind = HF_ETCD_EV_PUT;
        if (type && strcmp(type, "DELETE") == 0)
            kind = HF_ETCD_EV_DELETE;
        else if (type && strcmp(type, "PUT") != 0)
            rc = HF_E_PROTO;
        hf_etcd_kv_t kv;
        if (rc == HF_OK)
            rc = parse_kv(json_object_get(ev, "kv"), &kv);
        if (rc)
            goto out;
        rc = fn ? fn(ctx, kind, &kv) : HF_OK;
        kv_free(&kv);
        if (rc)
            goto out;
    }
out:
    json_decref(o);
    return rc;
}

/* Deliver every complete message in w->in. */
static int drain(hf_etcd_watch_t *w, hf_etcd_event_fn fn, void *ctx)
{
    for (;;) {
        char *nl = w->in.len ? memchr(w->in.data, '\n', w->in.len) : NULL;
        if (!nl)
            return HF_OK;
        size_t n = (size_t)(nl - w->in.data);
        int rc = HF_OK;
        if (n) {
            int64_t rev, compacted;
            bool canceled;
            rc = hf_etcd_parse_watch(w->in.data, n, fn, ctx, &rev, &compacted, &canceled);
            if (rc == HF_OK && compacted) {
                snprintf(w->err, sizeof w->err, "revision %" PRId64 " was compacted (now %" PRId64 ")",
                         w->rev + 1, compacted);
                rc = HF_E_VERSION;
            } else if (rc == HF_OK && canceled) {
                rc = HF_E_CLOSED;
            } else if (rc == HF_OK && rev > w->rev) {
                w->rev = rev;
            }
        }
        hf_buf_consume(&w->in, n + 1);
        if (rc)
            return rc;
    }
}

int hf_etcd_watch_poll(hf_etcd_watch_t *w, int timeout_ms, hf_etcd_event_fn fn, void *ctx)
{
    int running = 0;
    if (!w->done) {
        curl_multi_poll(w->m, NULL, 0, timeout_ms > 0 ? timeout_ms : 0, NULL);
        curl_multi_perform(w->m, &running);
        int left;
        CURLMsg *msg;
        while ((msg = curl_multi_info_read(w->m, &left)))
            if (msg->msg == CURLMSG_DONE) {
                w->done = true;
                w->result = msg->data.result;
            }
    }
    int rc = drain(w, fn, ctx);
    if (rc)
        return rc;
    if (w->overflow)
        return HF_E_TOOBIG;
    if (w->done) {
        snprintf(w->err, sizeof w->err, "%s: watch ended: %s", w->e->ep[w->e->cur],
                 w->result == CURLE_OK ? "closed by the member" : curl_easy_strerror(w->result));
        return HF_E_CLOSED;
    }
    return HF_OK;
}
