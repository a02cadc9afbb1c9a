/*
 * local.h -- what a node keeps of the cluster on its own disk, so that it
 * starts, restarts and serves without etcd (static stability, invariant
 * 5 of docs/cluster.md), and the cluster secret.
 *
 * Files, in <data>/cluster/ (FORMAT-layout.md has the bytes):
 *   layout   the last layout this node applied, exactly as etcd held it
 *   state    {format, cluster id, secret check, node id, pin}
 * Each is one header line "holdfast-cluster 1 <crc32c> <length>\n" and
 * the bytes; written to a temporary file, fsynced, renamed over the old
 * one and the directory fsynced, so a crash leaves the old file or the
 * new one, never a mix, and a damaged file is recognised (HF_E_CORRUPT).
 * All I/O goes through the hf_vfs seam.
 *
 * The secret. Nodes of one cluster share a secret (HOLDFAST_CLUSTER_SECRET
 * or --cluster-secret-file). etcd holds, at P/cluster, the cluster's
 * random id and a check of the secret: HMAC-SHA256(secret,
 * "holdfast-cluster-secret-check-v1:" || id), never the secret itself. A
 * node whose secret gives another check is refused, at its first join
 * (against etcd) and at every start after (against the check it keeps in
 * `state`, so a wrong secret is refused even while etcd is down). The
 * secret also seals the users' secret keys the cluster keeps in etcd
 * (catalog.h), so reading etcd does not give S3 credentials away.
 *
 * Threads: any; the functions keep no state.
 */
#ifndef HF_CLUSTER_LOCAL_H
#define HF_CLUSTER_LOCAL_H

#include "base/buf.h"
#include "base/limits.h"

#include <stddef.h>
#include <stdint.h>

/* A file's content: at most a layout and its header. */
#define HF_CLUSTER_FILE_MAX (HF_LAYOUT_MAX + 64)

/* Write name (e.g. "layout") under <data_dir>/cluster/ atomically and
 * durably. HF_OK or a negative errno. */
int hf_cluster_local_write(const char *data_dir, const char *name, const void *p, size_t n);
/* Read and verify it into out. HF_E_NOTFOUND (never written),
 * HF_E_CORRUPT (damaged: header, length or checksum), negative errno. */
int hf_cluster_local_read(const char *data_dir, const char *name, hf_buf_t *out);

/* The secret from a file (one trailing newline dropped) or, with file
 * NULL, from env_value. HF_E_INVAL with why when missing, shorter than
 * HF_CLUSTER_SECRET_MIN or longer than HF_CLUSTER_SECRET_MAX. */
int hf_cluster_secret_load(const char *file, const char *env_value, uint8_t *out, size_t cap,
                           size_t *n, char *why, size_t whycap);

/* The check of secret for cluster id (64 hex digits and a NUL). */
void hf_cluster_secret_check(const uint8_t *secret, size_t n, const char *cluster_id,
                             char out[65]);

/* Seal / unseal a short text (a secret key) with a key derived from the
 * cluster secret: AES-256-GCM, a random 96-bit nonce per seal, written as
 * base64(nonce | ciphertext | tag). out: at most cap bytes, NUL-ended.
 * Unseal: HF_E_AUTH if the text was not sealed with this secret or was
 * altered, HF_E_INVAL if malformed. */
int hf_cluster_seal(const uint8_t *secret, size_t n, const char *plain, char *out, size_t cap);
int hf_cluster_unseal(const uint8_t *secret, size_t n, const char *sealed, char *out, size_t cap);

#endif
