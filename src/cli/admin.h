/*
 * admin.h -- what the files of `holdfast admin` share (admin_cmd.c: the
 * command table, signing and HTTP; admin_users.c: the user, key and audit
 * commands). Not used outside src/cli.
 *
 * Command handlers get the words after the group (argv[0] is the verb)
 * and return the exit status: 0 done, 1 failed (the server's answer or the
 * reason printed on stderr), 2 bad usage (with what to type instead).
 */
#ifndef HF_CLI_ADMIN_H
#define HF_CLI_ADMIN_H

#include "base/limits.h"

#include <jansson.h>

typedef struct admin_ctx {
    char url[1024];    /* base, e.g. http://127.0.0.1:9001 */
    char host[512];    /* host[:port] as curl will send it */
    char ak[HF_ACCESS_KEY_MAX + 1];
    char sk[HF_SECRET_KEY_MAX + 1];
    char region[HF_REGION_MAX + 1];
    char local_user[HF_AUDIT_LOCAL_USER_MAX + 1]; /* sent for the audit log */
    char cluster[1200]; /* --cluster etcd://... (layout commands; "" if not given) */
} admin_ctx_t;

/* One signed request that must answer `want`: on success *j (may be NULL)
 * gets the parsed JSON body, owned by the caller (json_decref); returns 0.
 * A different status is reported on stderr and gives 1. path may carry a
 * query string. */
int hf_admin_call(admin_ctx_t *c, const char *method, const char *path, const char *body,
                  long want, json_t **j);

int hf_admin_user_create(admin_ctx_t *c, int argc, char **argv);
int hf_admin_user_list(admin_ctx_t *c, int argc, char **argv);
int hf_admin_user_show(admin_ctx_t *c, int argc, char **argv);
int hf_admin_user_delete(admin_ctx_t *c, int argc, char **argv);
int hf_admin_user_disable(admin_ctx_t *c, int argc, char **argv);
int hf_admin_user_enable(admin_ctx_t *c, int argc, char **argv);
int hf_admin_user_set(admin_ctx_t *c, int argc, char **argv);
/* user key rotate|list|delete ... */
int hf_admin_user_key(admin_ctx_t *c, int argc, char **argv);
int hf_admin_audit_show(admin_ctx_t *c, int argc, char **argv);
/* layout show|plan|apply|history|pin|unpin|revert (admin_layout.c): etcd
 * directly, no root key needed. */
int hf_admin_layout(admin_ctx_t *c, int argc, char **argv);

#endif
