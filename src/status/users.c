/*
 * users.c -- the admin API's users resource: create, list, show, delete,
 * disable and enable, permissions, and access keys (rotate with a grace
 * period, list, delete). See status.h for the endpoints.
 *
 * Secrets leave the server in exactly two answers: the one that creates a
 * user and the one that rotates its key (the caller asked for them). They
 * are never logged, never audited, never listed.
 *
 * Every state-changing call notes its audit action and target first
 * (status_audit_note), so a refused or failed call is recorded as such.
 */
#include "status/internal.h"

#include "base/err.h"
#include "base/log.h"
#include "base/str.h"
#include "base/time.h"
#include "base/vfs.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int hf_status_write_root_credentials(const char *data_dir, const char *access_key,
                                     const char *secret_key)
{
    char path[PATH_MAX];
    int n = snprintf(path, sizeof path, "%s/%s", data_dir, HF_STATUS_ROOT_CREDENTIALS_FILE);
    if (n < 0 || (size_t)n >= sizeof path)
        return -ENAMETOOLONG;
    char buf[512];
    n = snprintf(buf, sizeof buf,
                 "# holdfast root credentials for this data directory\n"
                 "access_key=%s\nsecret_key=%s\n",
                 access_key, secret_key);
    return hf_vfs_write_file(path, buf, (size_t)n, 0600);
}

/* ---- reading request bodies ---------------------------------------------- */

/* The JSON object in the request body (an empty body reads as {}), or
 * NULL after answering 400. Caller owns the result. */
static json_t *read_object(hf_req_t *r)
{
    hf_buf_t body;
    hf_buf_init(&body, 64 * 1024);
    int rc = hf_req_read_all(r, &body);
    if (rc) {
        hf_buf_free(&body);
        status_send_error(r, 400, "InvalidRequest", "could not read the request body");
        return NULL;
    }
    json_error_t je;
    json_t *j = body.len ? json_loadb(body.data, body.len, 0, &je) : json_object();
    hf_buf_free(&body);
    if (!json_is_object(j)) {
        json_decref(j);
        status_send_error(r, 400, "InvalidRequest", "the body must be a JSON object");
        return NULL;
    }
    return j;
}

/* ---- answers -------------------------------------------------------------- */

static void fail_meta(hf_req_t *r, int rc)
{
    if (rc == HF_E_NOTFOUND)
        status_send_error(r, 404, "NoSuchUser", "no user by that name");
    else
        status_send_error(r, 500, "InternalError", hf_strerror(rc));
}

static const char *iso(char *out, int64_t ns)
{
    if (!ns)
        return "";
    hf_time_iso8601(out, ns);
    return out;
}

/* The keys of u, newest first, never their secrets. */
static json_t *keys_json(const hf_user_t *u, int64_t now)
{
    char t[32], e[32];
    json_t *arr = json_array();
    json_array_append_new(arr, json_pack("{s:s,s:s,s:s,s:s}", "access_key", u->access_key,
                                         "created", iso(t, u->key_created), "state", "active",
                                         "expires", ""));
    for (uint32_t i = u->nretiring; i-- > 0;) {
        const hf_user_key_t *k = &u->retiring[i];
        json_array_append_new(arr, json_pack("{s:s,s:s,s:s,s:s}", "access_key", k->access_key,
                                             "created", iso(t, k->created), "state",
                                             k->expires > now ? "retiring" : "expired", "expires",
                                             iso(e, k->expires)));
    }
    return arr;
}

/* The fields `user list` shows (list entries and the head of `show`). */
static json_t *user_json(const hf_user_t *u)
{
    char date[32];
    hf_time_iso8601(date, u->created);
    return json_pack("{s:s,s:s,s:s,s:b,s:b,s:b}", "name", u->name, "access_key", u->access_key,
                     "created", date, "root", (u->flags & HF_USER_ROOT) != 0, "disabled",
                     (u->flags & HF_USER_DISABLED) != 0, "create_bucket",
                     (u->flags & HF_USER_NO_CREATE_BUCKET) == 0);
}

/* ---- handlers ------------------------------------------------------------- */

static void list_users(hf_status_t *st, hf_req_t *r)
{
    hf_user_t *us;
    size_t n;
    int rc = hf_meta_user_list(st->meta, &r->arena, &us, &n);
    if (rc) {
        status_send_error(r, 500, "InternalError", hf_strerror(rc));
        return;
    }
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, user_json(&us[i]));
    status_send_json(r, 200, json_pack("{s:o}", "users", arr));
}

static void show_user(hf_status_t *st, hf_req_t *r, const char *name)
{
    hf_user_t u;
    int rc = hf_meta_user_get(st->meta, name, &u);
    if (rc) {
        fail_meta(r, rc);
        return;
    }
    json_t *j = user_json(&u);
    json_object_set_new(j, "id", json_integer((json_int_t)u.id));
    json_object_set_new(j, "canonical_id", json_string(u.canonical_id));
    json_object_set_new(j, "keys", keys_json(&u, hf_time_now()));
    status_send_json(r, 200, j);
}

static void create_user(hf_status_t *st, hf_req_t *r)
{
    status_audit_note(st, "user.create", NULL, NULL);
    json_t *j = read_object(r);
    if (!j)
        return;
    const char *name = NULL, *ak = NULL, *sk = NULL;
    int create_bucket = 1;
    if (json_unpack(j, "{s:s,s?s,s?s,s?b}", "name", &name, "access_key", &ak, "secret_key", &sk,
                    "create_bucket", &create_bucket)) {
        json_decref(j);
        status_send_error(r, 400, "InvalidRequest",
                          "expected a JSON object with \"name\" and optional \"access_key\", "
                          "\"secret_key\", \"create_bucket\"");
        return;
    }
    const char *why = hf_status_check_user_name(name);
    if (!why)
        status_audit_note(st, "user.create", name, NULL);
    if (!why && (ak != NULL) != (sk != NULL))
        why = "give both access_key and secret_key, or neither";
    if (!why && ak)
        why = hf_status_check_access_key(ak);
    if (!why && sk)
        why = hf_status_check_secret_key(sk);
    if (why) {
        json_decref(j);
        status_send_error(r, 400, "InvalidRequest", why);
        return;
    }
    hf_user_t u = {0};
    snprintf(u.name, sizeof u.name, "%s", name);
    if (!create_bucket)
        u.flags |= HF_USER_NO_CREATE_BUCKET;
    if (ak) {
        snprintf(u.access_key, sizeof u.access_key, "%s", ak);
        snprintf(u.secret_key, sizeof u.secret_key, "%s", sk);
    } else if (hf_status_gen_keys(u.access_key, u.secret_key) != HF_OK) {
        json_decref(j);
        status_send_error(r, 500, "InternalError", "could not generate keys");
        return;
    }
    json_decref(j);
    status_audit_note(st, "user.create", u.name,
                      json_pack("{s:s,s:b}", "access_key", u.access_key, "create_bucket",
                                create_bucket));
    int rc = hf_meta_user_create(st->meta, &u);
    if (rc == HF_E_EXISTS) {
        status_send_error(r, 409, "UserAlreadyExists", "a user with that name or access key exists");
        return;
    }
    if (rc) {
        status_send_error(r, 500, "InternalError", hf_strerror(rc));
        return;
    }
    hf_log_info("msg=\"user created\" name=%s access_key=%s", u.name, u.access_key);
    status_send_json(r, 201, json_pack("{s:s,s:s,s:s}", "name", u.name, "access_key",
                                       u.access_key, "secret_key", u.secret_key));
}

static void delete_user(hf_status_t *st, hf_req_t *r, const char *name)
{
    status_audit_note(st, "user.delete", name, NULL);
    int rc = hf_meta_user_delete(st->meta, name);
    if (rc == HF_E_CONFLICT) {
        status_send_error(r, 409, "UserInUse",
                          "the root user cannot be deleted, nor a user who still owns buckets");
        return;
    }
    if (rc) {
        fail_meta(r, rc);
        return;
    }
    hf_log_info("msg=\"user deleted\" name=%s", name);
    hf_resp_send(r, 204, NULL, 0);
}

/* Disable, enable, permissions: a change of restriction flags. */
static void set_flags(hf_status_t *st, hf_req_t *r, const char *name, uint32_t set,
                      uint32_t clear, const char *what)
{
    hf_user_t u;
    int rc = hf_meta_user_set_flags(st->meta, name, set, clear, &u);
    if (rc == HF_E_CONFLICT) {
        status_send_error(r, 409, "RootUnrestricted",
                          "the root user cannot be disabled or restricted");
        return;
    }
    if (rc) {
        fail_meta(r, rc);
        return;
    }
    hf_log_info("msg=\"user %s\" name=%s", what, name);
    status_send_json(r, 200, user_json(&u));
}

static void permissions(hf_status_t *st, hf_req_t *r, const char *name)
{
    status_audit_note(st, "user.permissions", name, NULL);
    json_t *j = read_object(r);
    if (!j)
        return;
    int cb = -1;
    if (json_unpack(j, "{s:b}", "create_bucket", &cb) || json_object_size(j) != 1) {
        json_decref(j);
        status_send_error(r, 400, "InvalidRequest",
                          "expected {\"create_bucket\": true or false}");
        return;
    }
    json_decref(j);
    status_audit_note(st, "user.permissions", name, json_pack("{s:b}", "create_bucket", cb));
    set_flags(st, r, name, cb ? 0 : HF_USER_NO_CREATE_BUCKET, cb ? HF_USER_NO_CREATE_BUCKET : 0,
              "permissions changed");
}

static void list_keys(hf_status_t *st, hf_req_t *r, const char *name)
{
    hf_user_t u;
    int rc = hf_meta_user_get(st->meta, name, &u);
    if (rc) {
        fail_meta(r, rc);
        return;
    }
    status_send_json(r, 200, json_pack("{s:s,s:o}", "name", u.name, "keys",
                                       keys_json(&u, hf_time_now())));
}

static void rotate_key(hf_status_t *st, hf_req_t *r, const char *name)
{
    status_audit_note(st, "user.key.rotate", name, NULL);
    json_t *j = read_object(r);
    if (!j)
        return;
    json_int_t grace_ms = (json_int_t)HF_KEY_GRACE_DEFAULT_S * 1000;
    if (json_unpack(j, "{s?I}", "grace_ms", &grace_ms) || grace_ms < 0 ||
        grace_ms > (json_int_t)HF_KEY_GRACE_MAX_S * 1000) {
        json_decref(j);
        char msg[128];
        snprintf(msg, sizeof msg, "expected {\"grace_ms\": 0 to %lld} or an empty body",
                 (long long)HF_KEY_GRACE_MAX_S * 1000);
        status_send_error(r, 400, "InvalidRequest", msg);
        return;
    }
    json_decref(j);
    hf_user_t before;
    int rc = hf_meta_user_get(st->meta, name, &before);
    if (rc) {
        fail_meta(r, rc);
        return;
    }
    char ak[HF_ACCESS_KEY_MAX + 1], sk[HF_SECRET_KEY_MAX + 1];
    if (hf_status_gen_keys(ak, sk) != HF_OK) {
        status_send_error(r, 500, "InternalError", "could not generate keys");
        return;
    }
    status_audit_note(st, "user.key.rotate", name,
                      json_pack("{s:s,s:s,s:I}", "access_key", ak, "previous_key",
                                before.access_key, "grace_ms", grace_ms));
    hf_user_t u;
    rc = hf_meta_user_key_rotate(st->meta, name, ak, sk, (int64_t)grace_ms * 1000000, &u);
    if (rc == HF_E_TOOBIG) {
        char msg[200];
        snprintf(msg, sizeof msg,
                 "the user already holds %d keys; delete a retiring one ('holdfast admin user "
                 "key delete NAME KEY') or rotate with --grace 0",
                 HF_USER_KEYS_MAX);
        status_send_error(r, 409, "TooManyKeys", msg);
        return;
    }
    if (rc == HF_E_EXISTS) { /* 100 random bits collided: practically never */
        status_send_error(r, 409, "KeyExists", "the generated key is taken; retry");
        return;
    }
    if (rc) {
        fail_meta(r, rc);
        memset(sk, 0, sizeof sk);
        return;
    }
    /* What the rotation did to the key that was active: retiring until
     * its expiry, or gone. The record names it by id, as before. */
    const char *prev = before.access_key;
    char until[32] = "";
    for (uint32_t i = 0; i < u.nretiring; i++)
        if (strcmp(u.retiring[i].access_key, prev) == 0)
            hf_time_iso8601(until, u.retiring[i].expires);
    hf_log_info("msg=\"user key rotated\" name=%s access_key=%s previous=%s grace_ms=%lld", name,
                ak, prev, (long long)grace_ms);
    json_t *out = json_pack("{s:s,s:s,s:s,s:s,s:s}", "name", u.name, "access_key", ak,
                            "secret_key", sk, "previous_key", prev, "previous_expires", until);
    memset(sk, 0, sizeof sk);
    /* The admin CLI signs with the key in root-credentials: keep it the
     * active one, or the next admin call fails once the grace ends. */
    if ((u.flags & HF_USER_ROOT) && st->data_dir[0]) {
        int wrc = hf_status_write_root_credentials(st->data_dir, u.access_key, u.secret_key);
        if (wrc) {
            hf_log_error("msg=\"root key rotated but root-credentials not updated\" err=\"%s\"",
                         hf_strerror(wrc));
            char w[200];
            snprintf(w, sizeof w, "could not update %s: %s", HF_STATUS_ROOT_CREDENTIALS_FILE,
                     hf_strerror(wrc));
            json_object_set_new(out, "warning", json_string(w));
        }
    }
    status_send_json(r, 201, out);
}

static void delete_key(hf_status_t *st, hf_req_t *r, const char *name, const char *ak)
{
    status_audit_note(st, "user.key.delete", name, json_pack("{s:s}", "access_key", ak));
    int rc = hf_meta_user_key_delete(st->meta, name, ak);
    if (rc == HF_E_CONFLICT) {
        status_send_error(r, 409, "ActiveKey",
                          "that is the user's active key; rotate it (--grace 0 revokes it at once)");
        return;
    }
    if (rc == HF_E_NOTFOUND) {
        hf_user_t u;
        if (hf_meta_user_get(st->meta, name, &u) == HF_OK)
            status_send_error(r, 404, "NoSuchKey", "the user holds no such key (an expired key "
                                                   "is gone already)");
        else
            fail_meta(r, rc);
        return;
    }
    if (rc) {
        fail_meta(r, rc);
        return;
    }
    hf_log_info("msg=\"user key deleted\" name=%s access_key=%s", name, ak);
    hf_resp_send(r, 204, NULL, 0);
}

/* ---- routing ---------------------------------------------------------------- */

/* The next path segment of *rest ("/seg..."), percent-decoded into out;
 * false if there is none or it does not fit / decode. */
static bool segment(hf_str_t *rest, char *out, size_t cap)
{
    if (rest->n < 2 || rest->p[0] != '/')
        return false;
    const char *s = rest->p + 1;
    const char *e = memchr(s, '/', rest->n - 1);
    size_t n = e ? (size_t)(e - s) : rest->n - 1;
    /* Percent-encoding at most triples a name. */
    if (n == 0 || n >= cap)
        return false;
    long dl = hf_uri_decode(out, s, n);
    if (dl < 0 || (size_t)dl != strlen(out)) /* a %00 inside */
        return false;
    rest->p = s + n;
    rest->n -= n + 1;
    return true;
}

static bool method(hf_req_t *r, const char *m)
{
    return hf_str_eq(r->http.method, m);
}

void status_users(hf_status_t *st, hf_req_t *r, hf_str_t rest)
{
    if (rest.n == 0) {
        if (method(r, "GET"))
            list_users(st, r);
        else if (method(r, "POST"))
            create_user(st, r);
        else
            status_send_error(r, 405, "MethodNotAllowed", "use GET or POST");
        return;
    }
    char name[HF_USER_NAME_MAX * 3 + 1], sub[32], ak[HF_ACCESS_KEY_MAX * 3 + 1];
    if (!segment(&rest, name, sizeof name)) {
        status_send_error(r, 404, "NoSuchUser", "no user by that name");
        return;
    }
    if (rest.n == 0) {
        if (method(r, "GET"))
            show_user(st, r, name);
        else if (method(r, "DELETE"))
            delete_user(st, r, name);
        else
            status_send_error(r, 405, "MethodNotAllowed", "use GET or DELETE");
        return;
    }
    if (!segment(&rest, sub, sizeof sub)) {
        status_send_error(r, 404, "NotFound", "no such admin endpoint");
        return;
    }
    bool keys = strcmp(sub, "keys") == 0;
    if (keys && rest.n) {
        if (!segment(&rest, ak, sizeof ak) || rest.n) {
            status_send_error(r, 404, "NotFound", "no such admin endpoint");
            return;
        }
        if (method(r, "DELETE"))
            delete_key(st, r, name, ak);
        else
            status_send_error(r, 405, "MethodNotAllowed", "use DELETE");
        return;
    }
    if (rest.n) {
        status_send_error(r, 404, "NotFound", "no such admin endpoint");
        return;
    }
    if (keys) {
        if (method(r, "GET"))
            list_keys(st, r, name);
        else if (method(r, "POST"))
            rotate_key(st, r, name);
        else
            status_send_error(r, 405, "MethodNotAllowed", "use GET or POST");
    } else if (strcmp(sub, "disable") == 0 || strcmp(sub, "enable") == 0) {
        bool dis = sub[0] == 'd';
        if (!method(r, "POST")) {
            status_send_error(r, 405, "MethodNotAllowed", "use POST");
            return;
        }
        status_audit_note(st, dis ? "user.disable" : "user.enable", name, NULL);
        set_flags(st, r, name, dis ? HF_USER_DISABLED : 0, dis ? 0 : HF_USER_DISABLED,
                  dis ? "disabled" : "enabled");
    } else if (strcmp(sub, "permissions") == 0) {
        if (method(r, "PUT"))
            permissions(st, r, name);
        else
            status_send_error(r, 405, "MethodNotAllowed", "use PUT");
    } else {
        status_send_error(r, 404, "NotFound", "no such admin endpoint");
    }
}
