/*
 * local.c -- the node's own copy of its cluster state, and the cluster
 * secret; see local.h.
 */
#include "cluster/local.h"

#include "cluster/internal.h"

#include "base/err.h"
#include "base/hash.h"
#include "base/rand.h"
#include "base/str.h"
#include "base/vfs.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAGIC "holdfast-cluster 1 "

int hf_cluster_local_write(const char *data_dir, const char *name, const void *p, size_t n)
{
    if (n > HF_LAYOUT_MAX)
        return HF_E_TOOBIG;
    char dir[PATH_MAX], path[PATH_MAX];
    if (snprintf(dir, sizeof dir, "%s/cluster", data_dir) >= (int)sizeof dir ||
        snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path)
        return -ENAMETOOLONG;
    if (hf_vfs.mkdir(dir, 0700) != 0 && errno != EEXIST)
        return -errno;
    char head[64];
    int hl = snprintf(head, sizeof head, MAGIC "%08" PRIx32 " %zu\n", hf_crc32c(0, p, n), n);
    struct iovec iov[2] = {{head, (size_t)hl}, {(void *)p, n}};
    return hf_vfs_replace(path, iov, 2, 0600);
}

int hf_cluster_local_read(const char *data_dir, const char *name, hf_buf_t *out)
{
    char path[PATH_MAX];
    if (snprintf(path, sizeof path, "%s/cluster/%s", data_dir, name) >= (int)sizeof path)
        return -ENAMETOOLONG;
    int fd = hf_vfs_open(path, O_RDONLY | O_CLOEXEC, 0);
    if (fd == -ENOENT)
        return HF_E_NOTFOUND;
    if (fd < 0)
        return fd;
    struct stat st;
    int rc = hf_vfs.fstat(fd, &st) == 0 ? HF_OK : -errno;
    char *buf = NULL;
    if (rc == HF_OK && (st.st_size < (off_t)sizeof MAGIC || st.st_size > HF_CLUSTER_FILE_MAX))
        rc = HF_E_CORRUPT;
    if (rc == HF_OK && !(buf = malloc((size_t)st.st_size + 1)))
        rc = -ENOMEM;
    if (rc == HF_OK)
        rc = hf_vfs_pread_all(fd, buf, (size_t)st.st_size, 0);
    hf_vfs.close(fd);
    if (rc) {
        free(buf);
        return rc;
    }
    buf[st.st_size] = '\0';
    char *nl = memchr(buf, '\n', (size_t)st.st_size);
    uint32_t crc = 0;
    size_t len = 0;
    char tail;
    if (!nl || strncmp(buf, MAGIC, strlen(MAGIC)) != 0 ||
        sscanf(buf + strlen(MAGIC), "%8" SCNx32 " %zu%c", &crc, &len, &tail) != 3 || tail != '\n' ||
        (size_t)(nl - buf) + 1 + len != (size_t)st.st_size ||
        hf_crc32c(0, nl + 1, len) != crc) {
        free(buf);
        return HF_E_CORRUPT;
    }
    hf_buf_reset(out);
    rc = hf_buf_append(out, nl + 1, len);
    free(buf);
    return rc;
}

/* ---- the secret ------------------------------------------------------------------- */

int hf_cluster_secret_load(const char *file, const char *env_value, uint8_t *out, size_t cap,
                           size_t *n, char *why, size_t whycap)
{
    *n = 0;
    if (file) {
        int fd = hf_vfs_open(file, O_RDONLY | O_CLOEXEC, 0);
        if (fd < 0)
            return hf_cluster_why(why, whycap, "cannot read the cluster secret file %s: %s", file,
                                  strerror(-fd));
        uint8_t buf[HF_CLUSTER_SECRET_MAX + 2];
        ssize_t k = hf_vfs.read(fd, buf, sizeof buf);
        hf_vfs.close(fd);
        if (k < 0)
            return hf_cluster_why(why, whycap, "cannot read the cluster secret file %s", file);
        size_t len = (size_t)k;
        if (len && buf[len - 1] == '\n')
            len--;
        if (len && buf[len - 1] == '\r')
            len--;
        if (len > HF_CLUSTER_SECRET_MAX || len > cap)
            return hf_cluster_why(why, whycap, "the cluster secret in %s is longer than %d bytes",
                                  file, HF_CLUSTER_SECRET_MAX);
        memcpy(out, buf, len);
        *n = len;
        memset(buf, 0, sizeof buf);
    } else if (env_value && *env_value) {
        size_t len = strlen(env_value);
        if (len > HF_CLUSTER_SECRET_MAX || len > cap)
            return hf_cluster_why(why, whycap, "HOLDFAST_CLUSTER_SECRET is longer than %d bytes",
                                  HF_CLUSTER_SECRET_MAX);
        memcpy(out, env_value, len);
        *n = len;
    } else {
        return hf_cluster_why(why, whycap, "a cluster node needs the cluster's secret: set "
                                           "HOLDFAST_CLUSTER_SECRET or give --cluster-secret-file "
                                           "FILE (the same on every node; at least %d bytes, e.g. "
                                           "'openssl rand -hex 32')",
                              HF_CLUSTER_SECRET_MIN);
    }
    if (*n < HF_CLUSTER_SECRET_MIN)
        return hf_cluster_why(why, whycap, "the cluster secret is %zu bytes; at least %d are "
                                           "needed (e.g. 'openssl rand -hex 32')",
                              *n, HF_CLUSTER_SECRET_MIN);
    return HF_OK;
}

void hf_cluster_secret_check(const uint8_t *secret, size_t n, const char *cluster_id,
                             char out[65])
{
    char msg[128];
    int ml = snprintf(msg, sizeof msg, "holdfast-cluster-secret-check-v1:%s", cluster_id);
    unsigned char mac[HF_SHA256_LEN];
    hf_hmac_sha256(secret, n, msg, (size_t)ml, mac);
    hf_hex_encode(out, mac, sizeof mac);
}

static void seal_key(const uint8_t *secret, size_t n, unsigned char key[HF_SHA256_LEN])
{
    static const char label[] = "holdfast-catalog-seal-v1";
    hf_hmac_sha256(secret, n, label, sizeof label - 1, key);
}

#define NONCE 12
#define TAG 16

int hf_cluster_seal(const uint8_t *secret, size_t n, const char *plain, char *out, size_t cap)
{
    size_t pl = strlen(plain);
    if (pl > 1024)
        return HF_E_TOOBIG;
    unsigned char key[HF_SHA256_LEN], buf[NONCE + 1024 + TAG];
    seal_key(secret, n, key);
    int rc = hf_rand_bytes(buf, NONCE);
    if (rc)
        return rc;
    EVP_CIPHER_CTX *x = EVP_CIPHER_CTX_new();
    int len = 0, fl = 0;
    rc = HF_E_INVAL;
    if (x && EVP_EncryptInit_ex(x, EVP_aes_256_gcm(), NULL, key, buf) == 1 &&
        EVP_EncryptUpdate(x, buf + NONCE, &len, (const unsigned char *)plain, (int)pl) == 1 &&
        EVP_EncryptFinal_ex(x, buf + NONCE + len, &fl) == 1 &&
        EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_GCM_GET_TAG, TAG, buf + NONCE + len + fl) == 1) {
        size_t total = NONCE + (size_t)(len + fl) + TAG;
        if (hf_base64_len(total) + 1 <= cap) {
            hf_base64_encode(out, buf, total);
            rc = HF_OK;
        } else {
            rc = HF_E_TOOBIG;
        }
    }
    EVP_CIPHER_CTX_free(x);
    memset(key, 0, sizeof key);
    return rc;
}

int hf_cluster_unseal(const uint8_t *secret, size_t n, const char *sealed, char *out, size_t cap)
{
    unsigned char buf[NONCE + 1024 + TAG], key[HF_SHA256_LEN];
    int bl = hf_base64_decode(buf, sizeof buf, sealed, strlen(sealed));
    if (bl < NONCE + TAG || (size_t)(bl - NONCE - TAG) + 1 > cap)
        return HF_E_INVAL;
    seal_key(secret, n, key);
    int ct = bl - NONCE - TAG, len = 0, fl = 0, rc = HF_E_AUTH;
    EVP_CIPHER_CTX *x = EVP_CIPHER_CTX_new();
    if (x && EVP_DecryptInit_ex(x, EVP_aes_256_gcm(), NULL, key, buf) == 1 &&
        EVP_DecryptUpdate(x, (unsigned char *)out, &len, buf + NONCE, ct) == 1 &&
        EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_GCM_SET_TAG, TAG, buf + NONCE + ct) == 1 &&
        EVP_DecryptFinal_ex(x, (unsigned char *)out + len, &fl) == 1) {
        out[len + fl] = '\0';
        rc = memchr(out, '\0', (size_t)(len + fl)) ? HF_E_INVAL : HF_OK;
    }
    EVP_CIPHER_CTX_free(x);
    memset(key, 0, sizeof key);
    if (rc)
        out[0] = '\0';
    return rc;
}
