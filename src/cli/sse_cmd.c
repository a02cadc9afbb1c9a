/*
 * sse_cmd.c -- `holdfast server --sse-master-key-file FILE --sse-default
 * AES256|none`: the master key file at start and on SIGHUP, checked
 * against the fingerprints the metadata keeps.
 *
 * The rule that keeps data readable: a key file is generated only for a
 * data directory whose metadata names no master key yet. Once objects may
 * name keys, a missing key file, or one that lacks a key or holds another
 * key under its id, stops the start with a message saying which key is
 * missing -- rather than a server that generates a fresh key and then
 * fails every read of the objects written before (the classic way to lose
 * encrypted data: restarting without the flag that pointed at the keys).
 */
#include "cli/cli.h"

#include "base/err.h"
#include "base/log.h"
#include "meta/meta.h"
#include "sse/keyring.h"
#include "sse/sse.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* The stored fingerprints into a new buffer (*out NULL, *len 0 when none
 * are stored). */
static int stored_fps(hf_meta_t *m, uint8_t **out, size_t *len)
{
    *out = malloc(HF_META_SSE_KEYS_MAX);
    if (!*out)
        return -ENOMEM;
    int rc = hf_meta_sse_keys_get(m, *out, HF_META_SSE_KEYS_MAX, len);
    if (rc) {
        free(*out);
        *out = NULL;
        *len = 0;
    }
    return rc == HF_E_NOTFOUND ? HF_OK : rc;
}

/* Store the keyring's fingerprints in the metadata when they say more
 * than what is stored (a key generated, rotated in or added by hand). */
static int record(hf_keyring_t *k, hf_meta_t *m, const uint8_t *stored, size_t slen)
{
    size_t len = HF_KEYRING_FPS_LEN(hf_keyring_count(k));
    uint8_t *fps = malloc(len);
    if (!fps)
        return -ENOMEM;
    int rc = hf_keyring_fingerprints(k, fps, len, &len);
    if (rc == HF_OK && (len != slen || memcmp(fps, stored, len) != 0))
        rc = hf_meta_sse_keys_put(m, fps, len);
    free(fps);
    return rc;
}

static int record_again(hf_keyring_t *k, hf_meta_t *m)
{
    uint8_t *stored;
    size_t slen;
    int rc = stored_fps(m, &stored, &slen);
    if (rc == HF_OK)
        rc = record(k, m, stored, slen);
    free(stored);
    return rc;
}

int hf_cli_sse_default(const char *v, uint8_t *mode)
{
    v = hf_cli_setting(v, "HOLDFAST_SSE_DEFAULT", "AES256");
    if (strcmp(v, "AES256") == 0) {
        *mode = HF_SSE_S3;
        return 0;
    }
    if (strcasecmp(v, "none") == 0) {
        *mode = HF_SSE_NONE;
        return 0;
    }
    fprintf(stderr, "holdfast server: --sse-default (or HOLDFAST_SSE_DEFAULT) must be AES256 or "
                    "none\n");
    return 2;
}

int hf_cli_sse_open(const char *data, const char *file, hf_meta_t *m, hf_keyring_t **out)
{
    *out = NULL;
    file = hf_cli_setting(file, "HOLDFAST_SSE_MASTER_KEY_FILE", NULL);
    char def[4096];
    if (!file) {
        snprintf(def, sizeof def, "%s/%s", data, HF_KEYRING_DEFAULT_FILE);
        file = def;
    }
    uint8_t *stored;
    size_t slen = 0;
    int rc = stored_fps(m, &stored, &slen);
    if (rc) {
        fprintf(stderr, "holdfast server: cannot read the master key fingerprints from the "
                        "metadata: %s\n", hf_strerror(rc));
        return 1;
    }
    char why[600];
    bool created = false;
    hf_keyring_t *k = NULL;
    rc = hf_keyring_open(file, slen == 0, &k, &created, why, sizeof why);
    if (rc == -ENOENT) {
        fprintf(stderr,
                "holdfast server: the SSE-S3 master key file %s does not exist, but objects in %s "
                "may be encrypted with the keys it held. Give the key file with "
                "--sse-master-key-file FILE (or HOLDFAST_SSE_MASTER_KEY_FILE), or restore it from "
                "its backup (docs/operations.md#encryption-keys)\n",
                file, data);
        free(stored);
        return 1;
    }
    if (rc) {
        fprintf(stderr, "holdfast server: SSE-S3 master keys: %s\n", why);
        free(stored);
        return 1;
    }
    if (slen && (rc = hf_keyring_check(k, stored, slen, why, sizeof why)) != HF_OK)
        fprintf(stderr, "holdfast server: %s\n", why);
    else if ((rc = record(k, m, stored, slen)) != HF_OK)
        fprintf(stderr, "holdfast server: cannot record the master key fingerprints: %s\n",
                hf_strerror(rc));
    free(stored);
    if (rc) {
        hf_keyring_close(k);
        return 1;
    }
    if (created) {
        printf("Generated the SSE-S3 master key in %s (mode 0600). Back it up now, and keep it\n"
               "off the data disk (--sse-master-key-file): see docs/operations.md#encryption-keys\n",
               file);
        fflush(stdout);
    }
    hf_log_info("msg=\"SSE-S3 master keys loaded\" file=%s keys=%zu active=%u created=%d", file,
                hf_keyring_count(k), hf_keyring_active(k), created);
    *out = k;
    return 0;
}

void hf_cli_sse_reload(hf_keyring_t *k, hf_meta_t *m)
{
    if (!k)
        return;
    size_t added = 0;
    char why[600];
    int rc = hf_keyring_reload(k, &added, why, sizeof why);
    if (rc) {
        hf_log_error("msg=\"SIGHUP: master key file not reloaded; the keys loaded before stay in "
                     "use\" why=\"%s\"",
                     why);
        return;
    }
    if (added && (rc = record_again(k, m)) != HF_OK)
        hf_log_error("msg=\"SIGHUP: new master keys not recorded in the metadata\" err=\"%s\"",
                     hf_strerror(rc));
    hf_log_info("msg=\"SIGHUP: master key file reloaded\" added=%zu active=%u", added,
                hf_keyring_active(k));
}
