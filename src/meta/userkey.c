/*
 * userkey.c -- changes to existing users: key rotation with a grace
 * period, ending a retiring key early, and restriction flags; see meta.h.
 *
 * Owns: the rules for a user's set of keys. A user has one active key and
 * up to HF_USER_RETIRING_MAX retiring ones; every key has a `keys` row
 * naming the user, so a lookup is one get whichever key a client signs
 * with. A retiring key past its expiry is refused by the lookup at once
 * (meta.c) and dropped -- record entry and `keys` row -- by the next change
 * to its user, so expiry needs no timer and no background pass.
 *
 * Approach. Each change reads the user record inside the writer's
 * transaction, edits the decoded struct and writes it back, so two admin
 * calls on one user serialize on the writer and neither loses the other's
 * change. The wall clock is read on the calling thread before queueing
 * (the writer does no clock reads of its own) -- a rotation's grace starts
 * when the admin asked for it.
 *
 * Rejected: a separate table of keys with their own records. One record
 * per user keeps a lookup to the two gets it always took, and a user's
 * keys change together with its record in one write.
 */
#include "meta/internal.h"

#include "base/err.h"
#include "base/limits.h"
#include "base/str.h"
#include "base/time.h"

#include <stdio.h>
#include <string.h>

int hf_meta_tx_key_drop(hf_meta_t *m, MDB_txn *txn, const char *access_key)
{
    int rc = hf_db_del(txn, m->db.keys, access_key, strlen(access_key));
    return rc == HF_E_NOTFOUND ? HF_OK : rc;
}

uint32_t hf_meta_user_prune(hf_user_t *u, int64_t now, char dropped[][HF_ACCESS_KEY_MAX + 1])
{
    uint32_t keep = 0, nd = 0;
    for (uint32_t i = 0; i < u->nretiring; i++) {
        if (u->retiring[i].expires > now) {
            if (keep != i)
                u->retiring[keep] = u->retiring[i];
            keep++;
            continue;
        }
        memcpy(dropped[nd++], u->retiring[i].access_key, sizeof dropped[0]);
    }
    for (uint32_t i = keep; i < u->nretiring; i++)
        memset(&u->retiring[i], 0, sizeof u->retiring[i]);
    u->nretiring = keep;
    return nd;
}

int hf_meta_user_rotate(hf_user_t *u, const char *access_key, const char *secret_key,
                        int64_t grace_ns, int64_t now, char dropped[HF_ACCESS_KEY_MAX + 1])
{
    dropped[0] = '\0';
    if (grace_ns > 0) {
        if (u->nretiring >= HF_USER_RETIRING_MAX)
            return HF_E_TOOBIG;
        hf_user_key_t *k = &u->retiring[u->nretiring++];
        memcpy(k->access_key, u->access_key, sizeof k->access_key);
        memcpy(k->secret_key, u->secret_key, sizeof k->secret_key);
        k->created = u->key_created;
        k->expires = now + grace_ns;
    } else {
        memcpy(dropped, u->access_key, HF_ACCESS_KEY_MAX + 1);
    }
    snprintf(u->access_key, sizeof u->access_key, "%s", access_key);
    snprintf(u->secret_key, sizeof u->secret_key, "%s", secret_key);
    u->key_created = now;
    return HF_OK;
}

int hf_meta_user_retire_now(hf_user_t *u, const char *access_key)
{
    int i = hf_meta_user_key_index(u, access_key);
    if (i == 0)
        return HF_E_CONFLICT;
    if (i < 0)
        return HF_E_NOTFOUND; /* never held, or already expired and pruned */
    for (uint32_t k = (uint32_t)i; k < u->nretiring; k++)
        u->retiring[k - 1] = u->retiring[k];
    u->nretiring--;
    memset(&u->retiring[u->nretiring], 0, sizeof u->retiring[0]);
    return HF_OK;
}

int hf_meta_user_restrict(hf_user_t *u, uint32_t set, uint32_t clear)
{
    if ((set | clear) & ~(uint32_t)HF_USER_RESTRICTIONS)
        return HF_E_INVAL;
    if ((u->flags & HF_USER_ROOT) && set)
        return HF_E_CONFLICT;
    u->flags = (u->flags | set) & ~clear;
    return HF_OK;
}

/* Drop u's retiring keys whose grace has ended at now (record entries and
 * keys rows). */
static int prune(hf_meta_t *m, MDB_txn *txn, hf_user_t *u, int64_t now)
{
    char dropped[HF_USER_RETIRING_MAX][HF_ACCESS_KEY_MAX + 1];
    uint32_t n = hf_meta_user_prune(u, now, dropped);
    for (uint32_t i = 0; i < n; i++) {
        int rc = hf_meta_tx_key_drop(m, txn, dropped[i]);
        if (rc)
            return rc;
    }
    return HF_OK;
}

typedef struct user_change {
    const char *name;
    size_t len;
    int64_t now;
    /* rotate */
    const char *access_key, *secret_key;
    int64_t grace_ns;
    /* key delete */
    const char *drop_key;
    /* flags */
    uint32_t set, clear;
    int (*apply)(hf_meta_t *m, MDB_txn *txn, struct user_change *c, hf_user_t *u);
    hf_user_t *out; /* may be NULL */
} user_change_t;

/* Read the user, prune, apply the change, write the user back. */
static int change_tx(void *ctx, MDB_txn *txn, void *arg)
{
    hf_meta_t *m = ctx;
    user_change_t *c = arg;
    hf_user_t u;
    int rc = hf_meta_tx_user_read(m, txn, c->name, c->len, &u);
    if (rc)
        return rc;
    if ((rc = prune(m, txn, &u, c->now)) || (rc = c->apply(m, txn, c, &u)) ||
        (rc = hf_meta_tx_user_write(m, txn, &u)))
        return rc;
    if (c->out)
        *c->out = u;
    return HF_OK;
}

static int run_change(hf_meta_t *m, user_change_t *c)
{
    c->len = strnlen(c->name, HF_USER_NAME_MAX + 1);
    if (c->len < 1 || c->len > HF_USER_NAME_MAX)
        return HF_E_NOTFOUND;
    c->now = hf_time_now();
    return hf_meta_write(m, change_tx, c);
}

static int rotate(hf_meta_t *m, MDB_txn *txn, user_change_t *c, hf_user_t *u)
{
    int rc = hf_meta_tx_key_free(m, txn, c->access_key);
    if (rc)
        return rc;
    char dropped[HF_ACCESS_KEY_MAX + 1];
    if ((rc = hf_meta_user_rotate(u, c->access_key, c->secret_key, c->grace_ns, c->now, dropped)))
        return rc;
    if (dropped[0] && (rc = hf_meta_tx_key_drop(m, txn, dropped)))
        return rc;
    return hf_db_put(txn, m->db.keys, c->access_key, strlen(c->access_key), u->name,
                     strlen(u->name));
}

int hf_meta_user_key_rotate(hf_meta_t *m, const char *name, const char *access_key,
                            const char *secret_key, int64_t grace_ns, hf_user_t *out)
{
    size_t kl = strnlen(access_key, HF_ACCESS_KEY_MAX + 1);
    size_t sl = strnlen(secret_key, HF_SECRET_KEY_MAX + 1);
    if (kl < HF_ACCESS_KEY_MIN || kl > HF_ACCESS_KEY_MAX || sl < HF_SECRET_KEY_MIN ||
        sl > HF_SECRET_KEY_MAX || grace_ns < 0 ||
        grace_ns > (int64_t)HF_KEY_GRACE_MAX_S * 1000000000)
        return HF_E_INVAL;
    user_change_t c = {.name = name, .access_key = access_key, .secret_key = secret_key,
                       .grace_ns = grace_ns, .apply = rotate, .out = out};
    return run_change(m, &c);
}

static int key_delete(hf_meta_t *m, MDB_txn *txn, user_change_t *c, hf_user_t *u)
{
    int rc = hf_meta_user_retire_now(u, c->drop_key);
    return rc ? rc : hf_meta_tx_key_drop(m, txn, c->drop_key);
}

int hf_meta_user_key_delete(hf_meta_t *m, const char *name, const char *access_key)
{
    if (strnlen(access_key, HF_ACCESS_KEY_MAX + 1) > HF_ACCESS_KEY_MAX)
        return HF_E_NOTFOUND;
    user_change_t c = {.name = name, .drop_key = access_key, .apply = key_delete};
    return run_change(m, &c);
}

static int set_flags(hf_meta_t *m, MDB_txn *txn, user_change_t *c, hf_user_t *u)
{
    (void)m;
    (void)txn;
    return hf_meta_user_restrict(u, c->set, c->clear);
}

int hf_meta_user_set_flags(hf_meta_t *m, const char *name, uint32_t set, uint32_t clear,
                           hf_user_t *out)
{
    if ((set | clear) & ~(uint32_t)HF_USER_RESTRICTIONS)
        return HF_E_INVAL;
    user_change_t c = {.name = name, .set = set, .clear = clear, .apply = set_flags, .out = out};
    return run_change(m, &c);
}
