/*
 * admin_users.c -- `holdfast admin user ...` and `holdfast admin audit
 * show`: clients of /admin/v1/users and /admin/v1/audit (status.h).
 *
 *   user create NAME [--access-key K (--secret-key-file FILE|- | --secret-key S)]
 *                    [--no-create-bucket]
 *   user list | show NAME | delete NAME | disable NAME | enable NAME
 *   user set NAME --create-bucket=true|false
 *   user key rotate NAME [--grace DUR] | key list NAME | key delete NAME ACCESS_KEY
 *   audit show [--since T] [--json]
 *
 * Output is for people and for scripts: `user create` and `user key
 * rotate` print "user:", "access key:" and "secret key:" lines in the same
 * form, and `user list` keeps its columns. Secrets are printed only by
 * those two commands, once, and are read from a file or stdin rather than
 * the command line (where every process listing shows them).
 */
#include "cli/admin.h"

#include "cli/cli.h"

#include "base/err.h"
#include "base/limits.h"
#include "base/str.h"
#include "base/time.h"
#include "status/status.h"

#include <errno.h>
#include <getopt.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char *hf_cli_local_user(char *out, size_t cap)
{
    uid_t uid = geteuid();
    struct passwd pw, *res = NULL;
    char buf[1024];
    if (getpwuid_r(uid, &pw, buf, sizeof buf, &res) == 0 && res && res->pw_name[0])
        snprintf(out, cap, "%.32s(%u)", res->pw_name, (unsigned)uid);
    else
        snprintf(out, cap, "%u", (unsigned)uid);
    /* It travels in a header: nothing that could end or fold one. */
    for (char *p = out; *p; p++)
        if ((unsigned char)*p < 0x21 || (unsigned char)*p > 0x7e)
            *p = '?';
    return out;
}

static int usage_err(const char *line)
{
    fprintf(stderr, "usage: holdfast admin %s\n", line);
    return 2;
}

static int bad(const char *why)
{
    fprintf(stderr, "holdfast admin: %s\n", why);
    return 2;
}

/* The user name argument, checked as the server checks it. */
static const char *user_arg(const char *name)
{
    return hf_status_check_user_name(name);
}

/* /admin/v1/users/NAME[/suffix] with NAME (and KEY) percent-encoded. */
static int user_path(char *out, size_t cap, const char *name, const char *suffix, const char *key)
{
    char en[HF_USER_NAME_MAX * 3 + 1], ek[HF_ACCESS_KEY_MAX * 3 + 1] = "";
    if (hf_uri_encode(en, sizeof en, name, strlen(name), false) < 0)
        return -1;
    if (key && hf_uri_encode(ek, sizeof ek, key, strlen(key), false) < 0)
        return -1;
    int n = snprintf(out, cap, "/admin/v1/users/%s%s%s%s", en, suffix ? suffix : "",
                     key ? "/" : "", ek);
    return n < 0 || (size_t)n >= cap ? -1 : 0;
}

/* A secret from FILE ("-": stdin): its first line, without the newline. */
static int read_secret(const char *file, char *out, size_t cap)
{
    FILE *f = strcmp(file, "-") == 0 ? stdin : fopen(file, "r");
    if (!f) {
        fprintf(stderr, "holdfast admin: cannot read %s: %s\n", file, strerror(errno));
        return 1;
    }
    char line[HF_SECRET_KEY_MAX + 3];
    bool ok = fgets(line, sizeof line, f) != NULL;
    if (f != stdin)
        fclose(f);
    if (!ok) {
        fprintf(stderr, "holdfast admin: %s holds no secret key\n", file);
        return 1;
    }
    line[strcspn(line, "\r\n")] = '\0';
    size_t n = strlen(line);
    if (n > HF_SECRET_KEY_MAX || n >= cap)
        return bad("secret keys are 8 to 128 characters");
    memcpy(out, line, n + 1);
    memset(line, 0, sizeof line);
    return 0;
}

/* The lines `user create` and `key rotate` print. */
static void print_keys(const char *name, const char *ak, const char *sk)
{
    printf("user:       %s\naccess key: %s\nsecret key: %s\n", name, ak, sk);
}

/* ---- users ------------------------------------------------------------------ */

int hf_admin_user_create(admin_ctx_t *c, int argc, char **argv)
{
    static const char use[] = "user create NAME [--no-create-bucket] "
                              "[--access-key K --secret-key-file FILE|-]";
    static const struct option opts[] = {
        {"access-key", required_argument, NULL, 'a'},
        {"secret-key", required_argument, NULL, 's'},
        {"secret-key-file", required_argument, NULL, 'f'},
        {"no-create-bucket", no_argument, NULL, 'n'},
        {NULL, 0, NULL, 0},
    };
    const char *ak = NULL, *sk = NULL, *skfile = NULL;
    bool no_cb = false;
    optind = 1;
    int o;
    while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (o) {
        case 'a': ak = optarg; break;
        case 's': sk = optarg; break;
        case 'f': skfile = optarg; break;
        case 'n': no_cb = true; break;
        default: return usage_err(use);
        }
    }
    if (optind != argc - 1)
        return usage_err(use);
    const char *name = argv[optind];
    const char *why = user_arg(name);
    if (!why && sk && skfile)
        why = "give --secret-key-file or --secret-key, not both";
    if (!why && (ak != NULL) != (sk != NULL || skfile != NULL))
        why = "give both --access-key and --secret-key-file, or neither";
    if (why)
        return bad(why);
    char secret[HF_SECRET_KEY_MAX + 1];
    if (skfile) {
        int rc = read_secret(skfile, secret, sizeof secret);
        if (rc)
            return rc;
        sk = secret;
    } else if (sk) {
        fprintf(stderr, "holdfast admin: warning: a secret on the command line shows in process "
                        "listings; use --secret-key-file FILE (or - for stdin)\n");
    }
    if (!why && ak)
        why = hf_status_check_access_key(ak);
    if (!why && sk)
        why = hf_status_check_secret_key(sk);
    if (why)
        return bad(why);
    json_t *req = json_pack("{s:s}", "name", name);
    if (ak) {
        json_object_set_new(req, "access_key", json_string(ak));
        json_object_set_new(req, "secret_key", json_string(sk));
    }
    if (no_cb)
        json_object_set_new(req, "create_bucket", json_false());
    char *body = json_dumps(req, JSON_COMPACT);
    json_decref(req);
    memset(secret, 0, sizeof secret);
    json_t *j;
    int rc = hf_admin_call(c, "POST", "/admin/v1/users", body, 201, &j);
    if (body)
        memset(body, 0, strlen(body));
    free(body);
    if (rc)
        return rc;
    const char *n = NULL, *a = NULL, *s = NULL;
    rc = 1;
    if (j && !json_unpack(j, "{s:s,s:s,s:s}", "name", &n, "access_key", &a, "secret_key", &s)) {
        print_keys(n, a, s);
        rc = 0;
    }
    json_decref(j);
    return rc;
}

int hf_admin_user_list(admin_ctx_t *c, int argc, char **argv)
{
    (void)argv;
    if (argc != 1)
        return usage_err("user list");
    json_t *j;
    int rc = hf_admin_call(c, "GET", "/admin/v1/users", NULL, 200, &j);
    if (rc)
        return rc;
    json_t *users = j ? json_object_get(j, "users") : NULL;
    rc = 1;
    if (json_is_array(users)) {
        /* These columns are what scripts parse: keep them as they are;
         * `user show` has the rest. */
        printf("%-24s %-24s %-26s %s\n", "NAME", "ACCESS KEY", "CREATED", "ROLE");
        size_t i;
        json_t *u;
        json_array_foreach(users, i, u)
        {
            const char *n = "", *a = "", *cr = "";
            int root = 0;
            json_unpack(u, "{s:s,s:s,s:s,s:b}", "name", &n, "access_key", &a, "created", &cr,
                        "root", &root);
            printf("%-24s %-24s %-26s %s\n", n, a, cr, root ? "root" : "user");
        }
        rc = 0;
    }
    json_decref(j);
    return rc;
}

static void print_key_table(json_t *keys)
{
    printf("%-28s %-26s %-9s %s\n", "ACCESS KEY", "CREATED", "STATE", "EXPIRES");
    size_t i;
    json_t *k;
    json_array_foreach(keys, i, k)
    {
        const char *a = "", *cr = "", *state = "", *ex = "";
        json_unpack(k, "{s:s,s:s,s:s,s:s}", "access_key", &a, "created", &cr, "state", &state,
                    "expires", &ex);
        printf("%-28s %-26s %-9s %s\n", a, cr, state, *ex ? ex : "-");
    }
}

/* "VERB NAME": the path of NAME's resource (+ suffix) into path; 0, or
 * the exit status after saying what is wrong. */
static int one_user_path(int argc, char **argv, const char *use, const char *suffix, char *path,
                         size_t cap)
{
    if (argc != 2)
        return usage_err(use);
    const char *why = user_arg(argv[1]);
    if (why)
        return bad(why);
    if (user_path(path, cap, argv[1], suffix, NULL))
        return bad("user name too long");
    return 0;
}

/* GET one user resource (path built from argv[1]) for show and key list. */
static int get_user(admin_ctx_t *c, int argc, char **argv, const char *use, const char *suffix,
                    json_t **j)
{
    char path[512];
    int rc = one_user_path(argc, argv, use, suffix, path, sizeof path);
    return rc ? rc : hf_admin_call(c, "GET", path, NULL, 200, j);
}

int hf_admin_user_show(admin_ctx_t *c, int argc, char **argv)
{
    json_t *j;
    int rc = get_user(c, argc, argv, "user show NAME", NULL, &j);
    if (rc || !j)
        return rc ? rc : 1;
    const char *n = "", *cr = "", *cid = "";
    int root = 0, disabled = 0, cb = 1;
    json_int_t id = 0;
    json_t *keys = NULL;
    if (json_unpack(j, "{s:s,s:s,s:b,s:b,s:b,s:I,s:s,s:o}", "name", &n, "created", &cr, "root",
                    &root, "disabled", &disabled, "create_bucket", &cb, "id", &id,
                    "canonical_id", &cid, "keys", &keys)) {
        json_decref(j);
        fprintf(stderr, "holdfast admin: unexpected answer from the server\n");
        return 1;
    }
    printf("user:          %s\n", n);
    printf("id:            %lld\n", (long long)id);
    printf("role:          %s\n", root ? "root" : "user");
    printf("state:         %s\n", disabled ? "disabled" : "enabled");
    printf("create bucket: %s\n", cb ? "allowed" : "denied");
    printf("created:       %s\n", cr);
    printf("canonical id:  %s\n", cid);
    /* Every user is its own account (docs/security.md): what bucket
     * policies name it by. */
    printf("account:       %012lld\n", (long long)(id % 1000000000000LL));
    printf("arn:           arn:aws:iam::%012lld:user/%s\n\n", (long long)(id % 1000000000000LL), n);
    print_key_table(keys);
    json_decref(j);
    return 0;
}

/* delete, disable, enable: METHOD /admin/v1/users/NAME[suffix]. */
static int user_action(admin_ctx_t *c, int argc, char **argv, const char *use, const char *method,
                       const char *suffix, long want, const char *done)
{
    char path[512];
    int rc = one_user_path(argc, argv, use, suffix, path, sizeof path);
    if (rc)
        return rc;
    json_t *j = NULL;
    rc = hf_admin_call(c, method, path, NULL, want, want == 204 ? NULL : &j);
    json_decref(j);
    if (rc == 0)
        printf("%s user %s\n", done, argv[1]);
    return rc;
}

int hf_admin_user_delete(admin_ctx_t *c, int argc, char **argv)
{
    return user_action(c, argc, argv, "user delete NAME", "DELETE", NULL, 204, "deleted");
}

int hf_admin_user_disable(admin_ctx_t *c, int argc, char **argv)
{
    return user_action(c, argc, argv, "user disable NAME", "POST", "/disable", 200, "disabled");
}

int hf_admin_user_enable(admin_ctx_t *c, int argc, char **argv)
{
    return user_action(c, argc, argv, "user enable NAME", "POST", "/enable", 200, "enabled");
}

/* true/false, yes/no, on/off; -1 for anything else. */
static int parse_bool(const char *v)
{
    if (!strcmp(v, "true") || !strcmp(v, "yes") || !strcmp(v, "on"))
        return 1;
    if (!strcmp(v, "false") || !strcmp(v, "no") || !strcmp(v, "off"))
        return 0;
    return -1;
}

/* "VERB NAME [--opt V | --opt=V]" (argv[0] is the verb): the name, and
 * the option's value or NULL. -1 for anything else. */
static int name_and_option(int argc, char **argv, const char *opt, const char **name,
                           const char **val)
{
    size_t ol = strlen(opt);
    *name = *val = NULL;
    for (int i = 1; i < argc; i++) {
        if (strncmp(argv[i], opt, ol) == 0 && argv[i][ol] == '=')
            *val = argv[i] + ol + 1;
        else if (strcmp(argv[i], opt) == 0 && i + 1 < argc)
            *val = argv[++i];
        else if (argv[i][0] != '-' && !*name)
            *name = argv[i];
        else
            return -1;
    }
    return *name ? 0 : -1;
}

int hf_admin_user_set(admin_ctx_t *c, int argc, char **argv)
{
    static const char use[] = "user set NAME --create-bucket=true|false";
    const char *name, *val;
    if (name_and_option(argc, argv, "--create-bucket", &name, &val))
        return usage_err(use);
    int cb = val ? parse_bool(val) : -1;
    if (cb < 0)
        return usage_err(use);
    const char *why = user_arg(name);
    if (why)
        return bad(why);
    char path[512], body[64];
    if (user_path(path, sizeof path, name, "/permissions", NULL))
        return bad("user name too long");
    snprintf(body, sizeof body, "{\"create_bucket\":%s}", cb ? "true" : "false");
    json_t *j;
    int rc = hf_admin_call(c, "PUT", path, body, 200, &j);
    json_decref(j);
    if (rc == 0)
        printf("user %s: create bucket %s\n", name, cb ? "allowed" : "denied");
    return rc;
}

/* ---- keys ------------------------------------------------------------------- */

static int key_rotate(admin_ctx_t *c, int argc, char **argv)
{
    static const char use[] = "user key rotate NAME [--grace DUR]   (DUR: e.g. 24h, 30m, 0)";
    const char *name, *grace;
    if (name_and_option(argc, argv, "--grace", &name, &grace))
        return usage_err(use);
    const char *why = user_arg(name);
    if (why)
        return bad(why);
    int64_t ms = (int64_t)HF_KEY_GRACE_DEFAULT_S * 1000;
    if (grace && (hf_cli_parse_duration_ms(grace, &ms) || ms > (int64_t)HF_KEY_GRACE_MAX_S * 1000)) {
        fprintf(stderr, "holdfast admin: --grace must be a duration from 0 to %dd (e.g. 24h)\n",
                HF_KEY_GRACE_MAX_S / 86400);
        return 2;
    }
    char path[512], body[64];
    if (user_path(path, sizeof path, name, "/keys", NULL))
        return bad("user name too long");
    snprintf(body, sizeof body, "{\"grace_ms\":%lld}", (long long)ms);
    json_t *j;
    int rc = hf_admin_call(c, "POST", path, body, 201, &j);
    if (rc)
        return rc;
    const char *n = NULL, *a = NULL, *s = NULL, *prev = "", *until = "", *warn = NULL;
    rc = 1;
    if (j && !json_unpack(j, "{s:s,s:s,s:s,s:s,s:s,s?s}", "name", &n, "access_key", &a,
                          "secret_key", &s, "previous_key", &prev, "previous_expires", &until,
                          "warning", &warn)) {
        print_keys(n, a, s);
        if (*until)
            printf("old key:    %s works until %s\n", prev, until);
        else
            printf("old key:    %s revoked\n", prev);
        if (warn)
            fprintf(stderr, "holdfast admin: warning: %s\n", warn);
        rc = 0;
    }
    json_decref(j);
    return rc;
}

static int key_list(admin_ctx_t *c, int argc, char **argv)
{
    json_t *j;
    int rc = get_user(c, argc, argv, "user key list NAME", "/keys", &j);
    if (rc || !j)
        return rc ? rc : 1;
    json_t *keys = json_object_get(j, "keys");
    rc = 1;
    if (json_is_array(keys)) {
        print_key_table(keys);
        rc = 0;
    }
    json_decref(j);
    return rc;
}

static int key_delete(admin_ctx_t *c, int argc, char **argv)
{
    if (argc != 3)
        return usage_err("user key delete NAME ACCESS_KEY");
    const char *why = user_arg(argv[1]);
    if (!why)
        why = hf_status_check_access_key(argv[2]);
    if (why)
        return bad(why);
    char path[1024];
    if (user_path(path, sizeof path, argv[1], "/keys", argv[2]))
        return bad("user name or key too long");
    int rc = hf_admin_call(c, "DELETE", path, NULL, 204, NULL);
    if (rc == 0)
        printf("deleted key %s of user %s\n", argv[2], argv[1]);
    return rc;
}

int hf_admin_user_key(admin_ctx_t *c, int argc, char **argv)
{
    /* argv[0] is "key"; the key verb follows. */
    static const struct {
        const char *verb;
        int (*fn)(admin_ctx_t *c, int argc, char **argv);
    } verbs[] = {{"rotate", key_rotate}, {"list", key_list}, {"delete", key_delete}};
    const char *verb = argc > 1 ? argv[1] : "";
    for (size_t i = 0; i < sizeof verbs / sizeof verbs[0]; i++)
        if (strcmp(verbs[i].verb, verb) == 0)
            return verbs[i].fn(c, argc - 1, argv + 1);
    fprintf(stderr, "holdfast admin user key: unknown command '%s'; use rotate, list or delete\n",
            verb);
    return 2;
}

/* ---- audit -------------------------------------------------------------------- */

/* --since: an ISO 8601 time (or a date), or a duration meaning that long
 * ago; into "2006-01-02T15:04:05Z". */
static int since_arg(const char *v, char *out, size_t cap)
{
    int64_t secs, ms;
    char tmp[40];
    if (strlen(v) == 10 && v[4] == '-' && v[7] == '-') {
        snprintf(tmp, sizeof tmp, "%sT00:00:00Z", v);
        v = tmp;
    }
    if (hf_time_parse_iso8601(v, strlen(v), &secs) == HF_OK) {
        snprintf(out, cap, "%s", v);
        return 0;
    }
    if (hf_cli_parse_duration_ms(v, &ms) == 0) {
        char iso[32];
        hf_time_iso8601(iso, hf_time_now() - ms * 1000000);
        snprintf(out, cap, "%s", iso);
        return 0;
    }
    return -1;
}

static void print_record(json_t *r)
{
    if (json_is_true(json_object_get(r, "damaged"))) {
        printf("(damaged line at byte %lld)\n",
               (long long)json_integer_value(json_object_get(r, "offset")));
        return;
    }
    json_t *actor = json_object_get(r, "actor");
    const char *user = json_string_value(json_object_get(actor, "user"));
    const char *via = json_string_value(json_object_get(actor, "via"));
    const char *lu = json_string_value(json_object_get(actor, "local_user"));
    const char *t = json_string_value(json_object_get(r, "time"));
    const char *action = json_string_value(json_object_get(r, "action"));
    const char *target = json_string_value(json_object_get(r, "target"));
    const char *err = json_string_value(json_object_get(r, "error"));
    char who[160], outcome[96];
    snprintf(who, sizeof who, "%s%s%s%s", user ? user : (via ? via : "-"), lu ? " (" : "",
             lu ? lu : "", lu ? ")" : "");
    if (err)
        snprintf(outcome, sizeof outcome, "%lld %s",
                 (long long)json_integer_value(json_object_get(r, "status")), err);
    else
        snprintf(outcome, sizeof outcome, "ok");
    char *detail = NULL;
    json_t *d = json_object_get(r, "detail");
    if (d)
        detail = json_dumps(d, JSON_COMPACT | JSON_PRESERVE_ORDER);
    printf("%-24s %-24s %-18s %-20s %-24s %s\n", t ? t : "-", who, action ? action : "-",
           target ? target : "-", outcome, detail ? detail : "");
    free(detail);
}

int hf_admin_audit_show(admin_ctx_t *c, int argc, char **argv)
{
    static const char use[] = "audit show [--since T] [--json]   (T: 2026-01-02T15:04:05Z, "
                              "2026-01-02, or a duration ago such as 1h)";
    const char *since = NULL;
    bool raw = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            raw = true;
        else if (strncmp(argv[i], "--since=", 8) == 0)
            since = argv[i] + 8;
        else if (strcmp(argv[i], "--since") == 0 && i + 1 < argc)
            since = argv[++i];
        else
            return usage_err(use);
    }
    char iso[40] = "";
    if (since && since_arg(since, iso, sizeof iso))
        return usage_err(use);
    if (!raw)
        printf("%-24s %-24s %-18s %-20s %-24s %s\n", "TIME", "ACTOR", "ACTION", "TARGET",
               "OUTCOME", "DETAIL");
    unsigned long long from = 0;
    for (;;) {
        char path[160];
        snprintf(path, sizeof path, "/admin/v1/audit?from=%llu%s%s", from, iso[0] ? "&since=" : "",
                 iso);
        json_t *j;
        int rc = hf_admin_call(c, "GET", path, NULL, 200, &j);
        if (rc)
            return rc;
        json_t *recs = j ? json_object_get(j, "records") : NULL;
        if (!json_is_array(recs)) {
            json_decref(j);
            fprintf(stderr, "holdfast admin: unexpected answer from the server\n");
            return 1;
        }
        size_t i;
        json_t *r;
        json_array_foreach(recs, i, r)
        {
            if (raw) {
                char *line = json_dumps(r, JSON_COMPACT | JSON_PRESERVE_ORDER);
                if (line)
                    printf("%s\n", line);
                free(line);
            } else {
                print_record(r);
            }
        }
        json_int_t next = json_integer_value(json_object_get(j, "next"));
        bool more = json_is_true(json_object_get(j, "more"));
        json_decref(j);
        if (!more || (unsigned long long)next <= from)
            break;
        from = (unsigned long long)next;
    }
    return 0;
}
