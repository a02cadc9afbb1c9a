/*
 * catalog.h -- the cluster-wide catalog: users with their keys, and
 * buckets, held in etcd (the source of truth) and cached in every node's
 * metadata (meta.h, "the cluster's cache"). Internal to src/cluster; the
 * writes are offered by control.h (hf_cluster_user_*, hf_cluster_bucket_*).
 *
 * Keys under the cluster's prefix P (FORMAT-layout.md has the values):
 *   P/users/<name>      the user's record: ids, keys, flags, times, and
 *                       the count of buckets it owns; secret keys sealed
 *                       with the cluster secret (local.h)
 *   P/keys/<access key> -> name   (an access key belongs to one user)
 *   P/userids/<id hex>  -> name   (an id is given once)
 *   P/buckets/<name>    the bucket's record: id, owner, flags, region
 *   P/bucketids/<id hex> -> name
 *
 * Every write is one etcd transaction whose compares are the records it
 * read (mod_revision) and the index keys it takes (absent), so two nodes
 * creating the same user or bucket get one winner and one "exists", and a
 * user is deleted only while it owns no bucket (its count, changed in the
 * same transaction as every bucket created for it). After the
 * transaction the writer applies the record to its own cache at once;
 * the others apply it from their watch. A node that reads the catalog
 * afresh (after a broken watch) makes its cache equal to etcd's: users
 * etcd does not have are forgotten; buckets are only added or updated.
 *
 * What is not cluster-wide yet (docs/cluster.md): deleting a bucket
 * (answers 501 NotImplemented in a cluster: its objects may be on other
 * nodes until the data plane can tell) and bucket settings (versioning,
 * policies, ACLs, CORS, lifecycle, tagging, Object Lock, ownership,
 * public access block) -- those stay node-local.
 *
 * Threads: the control thread only.
 */
#ifndef HF_CLUSTER_CATALOG_H
#define HF_CLUSTER_CATALOG_H

#include "cluster/internal.h"
#include "etcd/etcd.h"

#include <stdbool.h>

/* A watch event for P/<suffix> that is not the layout's or the nodes'. */
void hf_catalog_event(hf_cluster_t *c, const char *suffix, bool put, const hf_etcd_kv_t *kv);

/* Make the cache equal to etcd's ranges of P/users/ and P/buckets/. */
void hf_catalog_sync(hf_cluster_t *c, const hf_etcd_kvs_t *users, const hf_etcd_kvs_t *buckets);

/* At a node's first join (before the thread starts): give the cluster
 * its root user if it has none (with root_ak/root_sk, which the caller
 * proposes: *root_created says this node created it), then fill the
 * cache from etcd. */
int hf_catalog_join(hf_cluster_t *c, bool *root_created, const char *root_ak, const char *root_sk,
                    char *why, size_t whycap);

/* The record encodings (the fuzz harness and tests use them). A decoded
 * user's secrets are unsealed with the secret; *nbuckets is its bucket
 * count. HF_E_INVAL for a malformed record, HF_E_AUTH for secrets sealed
 * with another secret. */
int hf_catalog_user_encode(const uint8_t *secret, size_t slen, const hf_user_t *u,
                           uint32_t nbuckets, hf_buf_t *out);
int hf_catalog_user_decode(const uint8_t *secret, size_t slen, const void *data, size_t n,
                           hf_user_t *u, uint32_t *nbuckets);
int hf_catalog_bucket_encode(const hf_bucket_t *b, hf_buf_t *out);
int hf_catalog_bucket_decode(const void *data, size_t n, hf_bucket_t *b);

#endif
