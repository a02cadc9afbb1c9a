/*
 * keyring.c -- the SSE-S3 master key file; see keyring.h.
 *
 * Owns: the key file's syntax, the in-memory key table and its protection
 * (one anonymous mapping: locked when the limit allows, excluded from core
 * dumps, wiped on close), rotation, and the fingerprint list the metadata
 * keeps.
 *
 * Concurrency. The table has room for HF_SSE_MASTER_KEYS_MAX keys from
 * the start and is never moved, so readers need no lock: a rotation
 * (serialised by mu) writes the new entry, then publishes the count with
 * release semantics; a reader loads the count with acquire semantics and
 * looks only below it. Keys are never removed while the process runs.
 *
 * Why a text file: an operator must be able to back it up, move it to
 * another disk, put it in a secrets store, and add a key with a shell
 * one-liner when the server cannot write the file itself (a read-only
 * secrets mount). Rejected: keeping the keys in LMDB (whoever has the
 * data disk would have them too -- the point of a key file is that it can
 * live elsewhere); one key only (rotation would mean re-wrapping every
 * object before the old key can go).
 */
#include "sse/keyring.h"

#include "base/crypt.h"
#include "base/err.h"
#include "base/hash.h"
#include "base/limits.h"
#include "base/log.h"
#include "base/rand.h"
#include "base/str.h"
#include "base/vfs.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>

#define FP_LABEL "holdfast sse master key fingerprint v1"

typedef struct entry {
    uint32_t id;
    uint8_t key[HF_KEYRING_KEY_LEN];
    uint8_t fp[HF_KEYRING_FP_LEN];
} entry_t;

struct hf_keyring {
    char *path;
    pthread_mutex_t mu;  /* serialises rotations */
    entry_t *e;          /* HF_SSE_MASTER_KEYS_MAX entries, one mapping */
    size_t map_len;
    _Atomic size_t n;    /* published entries */
};

static const char header[] =
    "# holdfast SSE-S3 master keys (docs/operations.md#encryption-keys).\n"
    "# One key per line: its id, then the 256-bit key as 64 hex digits. The highest id\n"
    "# encrypts new objects; every key listed can decrypt the objects that name it, so\n"
    "# never remove a line. Keep a copy of this file apart from the data: without it the\n"
    "# SSE-S3 objects cannot be read, and with the data it lets anyone read them.\n";

void hf_keyring_fingerprint(const uint8_t key[HF_KEYRING_KEY_LEN], uint8_t fp[HF_KEYRING_FP_LEN])
{
    uint8_t full[32];
    hf_hmac_sha256(key, HF_KEYRING_KEY_LEN, FP_LABEL, strlen(FP_LABEL), full);
    memcpy(fp, full, HF_KEYRING_FP_LEN);
}

/* ---- parsing ---------------------------------------------------------------- */

static bool is_space(char c)
{
    return c == ' ' || c == '\t';
}

int hf_keyring_parse(const char *text, size_t n, uint32_t *ids, uint8_t (*keys)[HF_KEYRING_KEY_LEN],
                     size_t cap, size_t *count, char *why, size_t wcap)
{
    *count = 0;
    size_t line = 0;
    const char *p = text, *end = text + n;
    while (p < end) {
        line++;
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        const char *le = eol ? eol : end;
        const char *q = p;
        p = eol ? eol + 1 : end;
        while (le > q && (le[-1] == '\r' || is_space(le[-1])))
            le--;
        while (q < le && is_space(*q))
            q++;
        if (q == le || *q == '#')
            continue;
        /* id */
        uint64_t id = 0;
        const char *d = q;
        while (q < le && *q >= '0' && *q <= '9' && id <= UINT32_MAX)
            id = id * 10 + (uint64_t)(*q++ - '0');
        if (q == d || id == 0 || id > UINT32_MAX || q == le || !is_space(*q)) {
            snprintf(why, wcap, "line %zu: expected a key id from 1 to 4294967295, a space and 64 hex digits",
                     line);
            goto bad;
        }
        while (q < le && is_space(*q))
            q++;
        if (le - q != 2 * HF_KEYRING_KEY_LEN) {
            snprintf(why, wcap, "line %zu: key %llu must be exactly 64 hex digits (256 bits)", line,
                     (unsigned long long)id);
            goto bad;
        }
        if (*count == cap) {
            snprintf(why, wcap, "more than %zu keys", cap);
            return HF_E_TOOBIG;
        }
        if (hf_hex_decode(keys[*count], q, HF_KEYRING_KEY_LEN) != HF_OK) {
            snprintf(why, wcap, "line %zu: key %llu is not hex", line, (unsigned long long)id);
            goto bad;
        }
        if (*count && id <= ids[*count - 1]) {
            snprintf(why, wcap, "line %zu: key ids must increase from line to line (%llu after %u)",
                     line, (unsigned long long)id, ids[*count - 1]);
            goto bad;
        }
        ids[*count] = (uint32_t)id;
        (*count)++;
    }
    if (*count == 0) {
        snprintf(why, wcap, "no keys in the file");
        return HF_E_INVAL;
    }
    return HF_OK;
bad:
    for (size_t i = 0; i <= *count && i < cap; i++)
        hf_wipe(keys[i], HF_KEYRING_KEY_LEN);
    *count = 0;
    return HF_E_INVAL;
}

/* ---- the table ------------------------------------------------------------------- */

static hf_keyring_t *ring_new(const char *path)
{
    hf_keyring_t *k = calloc(1, sizeof *k);
    if (!k)
        return NULL;
    k->path = strdup(path);
    k->map_len = sizeof(entry_t) * HF_SSE_MASTER_KEYS_MAX;
    void *m = mmap(NULL, k->map_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (!k->path || m == MAP_FAILED) {
        free(k->path);
        free(k);
        return NULL;
    }
    k->e = m;
    /* Keys must not reach swap or a core file; neither call is worth
     * failing for (a small RLIMIT_MEMLOCK, an old kernel). */
    if (mlock(m, k->map_len) != 0)
        hf_log_debug("msg=\"cannot lock the master keys in memory\" errno=%d", errno);
    madvise(m, k->map_len, MADV_DONTDUMP);
    pthread_mutex_init(&k->mu, NULL);
    return k;
}

void hf_keyring_close(hf_keyring_t *k)
{
    if (!k)
        return;
    hf_wipe(k->e, k->map_len);
    munlock(k->e, k->map_len);
    munmap(k->e, k->map_len);
    pthread_mutex_destroy(&k->mu);
    free(k->path);
    free(k);
}

/* Add (id, key) as the last entry and publish it. Under mu (or before the
 * keyring is shared). */
static void ring_add(hf_keyring_t *k, uint32_t id, const uint8_t key[HF_KEYRING_KEY_LEN])
{
    size_t n = atomic_load_explicit(&k->n, memory_order_relaxed);
    entry_t *e = &k->e[n];
    e->id = id;
    memcpy(e->key, key, HF_KEYRING_KEY_LEN);
    hf_keyring_fingerprint(key, e->fp);
    atomic_store_explicit(&k->n, n + 1, memory_order_release);
}

const char *hf_keyring_path(const hf_keyring_t *k)
{
    return k->path;
}

size_t hf_keyring_count(const hf_keyring_t *k)
{
    return atomic_load_explicit(&((hf_keyring_t *)k)->n, memory_order_acquire);
}

void hf_keyring_entry(const hf_keyring_t *k, size_t i, uint32_t *id, uint8_t fp[HF_KEYRING_FP_LEN])
{
    *id = k->e[i].id;
    memcpy(fp, k->e[i].fp, HF_KEYRING_FP_LEN);
}

uint32_t hf_keyring_active(const hf_keyring_t *k)
{
    size_t n = hf_keyring_count(k);
    return n ? k->e[n - 1].id : 0;
}

int hf_keyring_get(const hf_keyring_t *k, uint32_t id, uint8_t key[HF_KEYRING_KEY_LEN])
{
    size_t n = hf_keyring_count(k);
    /* Ids ascend: binary search. */
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (k->e[mid].id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == n || k->e[lo].id != id)
        return HF_E_NOKEY;
    memcpy(key, k->e[lo].key, HF_KEYRING_KEY_LEN);
    return HF_OK;
}

/* ---- the file -------------------------------------------------------------------- */

/* The whole key file for the first n entries of k, into a buffer the
 * caller wipes and frees. */
static char *render(const hf_keyring_t *k, size_t n, size_t *len)
{
    size_t cap = sizeof header + n * (11 + 1 + 2 * HF_KEYRING_KEY_LEN + 1) + 1;
    char *out = malloc(cap);
    if (!out)
        return NULL;
    size_t off = (size_t)snprintf(out, cap, "%s", header);
    for (size_t i = 0; i < n; i++) {
        char hex[2 * HF_KEYRING_KEY_LEN + 1];
        hf_hex_encode(hex, k->e[i].key, HF_KEYRING_KEY_LEN);
        off += (size_t)snprintf(out + off, cap - off, "%u %s\n", k->e[i].id, hex);
        hf_wipe(hex, sizeof hex);
    }
    *len = off;
    return out;
}

static int write_file(const hf_keyring_t *k, size_t n)
{
    size_t len = 0;
    char *text = render(k, n, &len);
    if (!text)
        return -ENOMEM;
    int rc = hf_vfs_write_file(k->path, text, len, 0600);
    hf_wipe(text, len);
    free(text);
    return rc;
}

/* Read the whole file (at most HF_SSE_KEY_FILE_MAX) into a buffer the
 * caller wipes and frees; check its permissions. */
static int read_file(const char *path, char **out, size_t *len, char *why, size_t cap)
{
    *out = NULL;
    int fd = hf_vfs_open(path, O_RDONLY | O_CLOEXEC, 0);
    if (fd < 0) {
        if (fd == -ENOENT)
            snprintf(why, cap, "%s does not exist", path);
        else
            snprintf(why, cap, "cannot open %s: %s", path, hf_strerror(fd));
        return fd;
    }
    struct stat st;
    int rc = HF_OK;
    if (hf_vfs.fstat(fd, &st) != 0) {
        rc = -errno;
        snprintf(why, cap, "cannot stat %s: %s", path, hf_strerror(rc));
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        snprintf(why, cap, "%s is not a regular file", path);
        rc = HF_E_INVAL;
        goto out;
    }
    if (st.st_mode & 077) {
        /* As ssh does with private keys: a key others can read is not a
         * secret, and one others can write is not ours. */
        snprintf(why, cap, "%s may be read or written by others (mode %03o); run chmod 600 on it",
                 path, (unsigned)(st.st_mode & 0777));
        rc = HF_E_INVAL;
        goto out;
    }
    if (st.st_size > HF_SSE_KEY_FILE_MAX) {
        snprintf(why, cap, "%s is larger than %d bytes: not a key file", path, HF_SSE_KEY_FILE_MAX);
        rc = HF_E_TOOBIG;
        goto out;
    }
    char *buf = malloc((size_t)st.st_size + 1);
    if (!buf) {
        rc = -ENOMEM;
        goto out;
    }
    rc = hf_vfs_pread_all(fd, buf, (size_t)st.st_size, 0);
    if (rc) {
        hf_wipe(buf, (size_t)st.st_size);
        free(buf);
        snprintf(why, cap, "cannot read %s: %s", path, hf_strerror(rc));
        goto out;
    }
    *out = buf;
    *len = (size_t)st.st_size;
out:
    hf_vfs.close(fd);
    return rc;
}

/* Parse the file's text and add the keys past the ones k has; those it
 * has must come first, unchanged. */
static int load_text(hf_keyring_t *k, const char *text, size_t len, size_t *added, char *why,
                     size_t cap)
{
    *added = 0;
    uint32_t *ids = malloc(sizeof *ids * HF_SSE_MASTER_KEYS_MAX);
    uint8_t(*keys)[HF_KEYRING_KEY_LEN] = malloc((size_t)HF_KEYRING_KEY_LEN * HF_SSE_MASTER_KEYS_MAX);
    int rc = HF_OK;
    size_t n = 0, have = hf_keyring_count(k);
    if (!ids || !keys) {
        rc = -ENOMEM;
        goto out;
    }
    char w[200];
    rc = hf_keyring_parse(text, len, ids, keys, HF_SSE_MASTER_KEYS_MAX, &n, w, sizeof w);
    if (rc) {
        snprintf(why, cap, "%s: %s", k->path, w);
        goto out;
    }
    for (size_t i = 0; i < have; i++)
        if (i >= n || ids[i] != k->e[i].id ||
            !hf_ct_equal(keys[i], k->e[i].key, HF_KEYRING_KEY_LEN)) {
            snprintf(why, cap, "%s no longer holds master key %u as it was loaded; keys may only be "
                               "added at the end", k->path, k->e[i].id);
            rc = HF_E_CONFLICT;
            goto out;
        }
    for (size_t i = have; i < n; i++)
        ring_add(k, ids[i], keys[i]);
    *added = n - have;
out:
    if (keys)
        hf_wipe(keys, (size_t)HF_KEYRING_KEY_LEN * HF_SSE_MASTER_KEYS_MAX);
    free(ids);
    free(keys);
    return rc;
}

int hf_keyring_reload(hf_keyring_t *k, size_t *added, char *why, size_t cap)
{
    *added = 0;
    why[0] = '\0';
    char *text = NULL;
    size_t len = 0;
    pthread_mutex_lock(&k->mu);
    int rc = read_file(k->path, &text, &len, why, cap);
    if (rc == HF_OK)
        rc = load_text(k, text, len, added, why, cap);
    pthread_mutex_unlock(&k->mu);
    if (text) {
        hf_wipe(text, len);
        free(text);
    }
    return rc;
}

int hf_keyring_open(const char *path, bool create, hf_keyring_t **out, bool *created, char *why,
                    size_t cap)
{
    *out = NULL;
    *created = false;
    why[0] = '\0';
    hf_keyring_t *k = ring_new(path);
    if (!k)
        return -ENOMEM;
    char *text = NULL;
    size_t len = 0;
    int rc = read_file(path, &text, &len, why, cap);
    if (rc == -ENOENT && create) {
        uint8_t key[HF_KEYRING_KEY_LEN];
        rc = hf_rand_bytes(key, sizeof key);
        if (rc == HF_OK) {
            ring_add(k, 1, key);
            rc = write_file(k, 1);
            if (rc)
                snprintf(why, cap, "cannot write %s: %s", path, hf_strerror(rc));
        }
        hf_wipe(key, sizeof key);
        *created = rc == HF_OK;
        goto done;
    }
    if (rc)
        goto done;
    size_t added;
    rc = load_text(k, text, len, &added, why, cap);
    hf_wipe(text, len);
    free(text);
done:
    if (rc) {
        hf_keyring_close(k);
        return rc;
    }
    *out = k;
    return HF_OK;
}

int hf_keyring_rotate(hf_keyring_t *k, uint32_t *id, char *why, size_t cap)
{
    why[0] = '\0';
    pthread_mutex_lock(&k->mu);
    size_t n = hf_keyring_count(k);
    int rc = HF_OK;
    if (n == HF_SSE_MASTER_KEYS_MAX || k->e[n - 1].id == UINT32_MAX) {
        snprintf(why, cap, "the key file holds the most keys it may (%d)", HF_SSE_MASTER_KEYS_MAX);
        rc = HF_E_TOOBIG;
        goto out;
    }
    /* Write the entry where it will live, but publish it only once the
     * file holding it is durable: a key the file lacks must never wrap a
     * data key. */
    entry_t *e = &k->e[n];
    e->id = k->e[n - 1].id + 1;
    rc = hf_rand_bytes(e->key, sizeof e->key);
    if (rc == HF_OK)
        rc = write_file(k, n + 1);
    if (rc) {
        snprintf(why, cap, "cannot write %s: %s", k->path, hf_strerror(rc));
        hf_wipe(e, sizeof *e);
        goto out;
    }
    hf_keyring_fingerprint(e->key, e->fp);
    *id = e->id;
    atomic_store_explicit(&k->n, n + 1, memory_order_release);
out:
    pthread_mutex_unlock(&k->mu);
    return rc;
}

/* ---- fingerprints in the metadata ---------------------------------------------------- */

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static uint32_t get_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

int hf_keyring_fingerprints(const hf_keyring_t *k, uint8_t *out, size_t cap, size_t *len)
{
    size_t n = hf_keyring_count(k);
    *len = HF_KEYRING_FPS_LEN(n);
    if (cap < *len)
        return HF_E_TOOBIG;
    put_be32(out, (uint32_t)n);
    for (size_t i = 0; i < n; i++) {
        put_be32(out + 4 + 20 * i, k->e[i].id);
        memcpy(out + 8 + 20 * i, k->e[i].fp, HF_KEYRING_FP_LEN);
    }
    return HF_OK;
}

int hf_keyring_check(const hf_keyring_t *k, const uint8_t *p, size_t n, char *why, size_t cap)
{
    why[0] = '\0';
    if (n < 4 || n != HF_KEYRING_FPS_LEN(get_be32(p))) {
        snprintf(why, cap, "the metadata's list of master key fingerprints is damaged");
        return HF_E_CORRUPT;
    }
    uint32_t count = get_be32(p);
    size_t have = hf_keyring_count(k);
    for (uint32_t i = 0; i < count; i++) {
        uint32_t id = get_be32(p + 4 + 20 * (size_t)i);
        const uint8_t *fp = p + 8 + 20 * (size_t)i;
        size_t j = 0;
        while (j < have && k->e[j].id != id)
            j++;
        char hex[2 * HF_KEYRING_FP_LEN + 1];
        hf_hex_encode(hex, fp, HF_KEYRING_FP_LEN);
        if (j == have) {
            snprintf(why, cap,
                     "master key %u (fingerprint %s) encrypted objects in this data directory, but "
                     "%s does not hold it: give the key file that does (--sse-master-key-file)",
                     id, hex, k->path);
            return HF_E_NOKEY;
        }
        if (!hf_ct_equal(k->e[j].fp, fp, HF_KEYRING_FP_LEN)) {
            snprintf(why, cap,
                     "master key %u in %s is not the key that encrypted objects in this data "
                     "directory (fingerprint %s): give the key file that holds it "
                     "(--sse-master-key-file)",
                     id, k->path, hex);
            return HF_E_NOKEY;
        }
    }
    return HF_OK;
}
