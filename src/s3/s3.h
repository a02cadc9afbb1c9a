/*
 * s3.h -- the S3 API: turns an HTTP request (net/server.h) into an S3
 * operation, authenticates it, runs it against meta/ and chunk/, and writes
 * the S3 response. The operation table is ops.def.
 *
 * Ownership: hf_s3_t borrows the meta and chunk stores; the caller keeps
 * them open for the S3 context's lifetime.
 * Threads: hf_s3_handle runs on any server worker concurrently.
 */
#ifndef HF_S3_S3_H
#define HF_S3_S3_H

#include "base/buf.h"
#include "base/hist.h"
#include "base/limits.h"
#include "chunk/store.h"
#include "guard/guard.h"
#include "meta/meta.h"
#include "net/server.h"
#include "sse/keyring.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Operations in ops.def; index HF_S3_NOPS counts requests that never
 * reached an operation (bad path, failed authentication, unknown op). */
enum {
    HF_S3_NOPS = 0
#define S3_OP(name, method, level, sub, fn) +1
#include "s3/ops.def"
#undef S3_OP
};

/* Response statuses counted one by one; any other status is counted in
 * the last slot ("other"). */
#define HF_S3_NSTATUS 18
extern const int hf_s3_status_codes[HF_S3_NSTATUS]; /* last entry is 0: other */

/* Per-operation counters (s3/metrics.c): atomics and lock-free
 * histograms, so the status listener reads them without any lock. */
typedef struct hf_s3_op_metrics {
    _Atomic uint64_t by_status[HF_S3_NSTATUS];
    _Atomic uint64_t bytes_in, bytes_out;
    hf_hist_t latency_us;
} hf_s3_op_metrics_t;

typedef struct hf_s3 {
    hf_meta_t *meta;
    hf_chunk_store_t *chunks;
    hf_guard_t *guard; /* admission control; NULL admits everything */
    /* Server-side encryption: the master keys (NULL: SSE-S3 answers
     * errors) and what a bucket without a default configuration gets --
     * HF_SSE_S3 (S3's default since 2023) or HF_SSE_NONE (--sse-default). */
    hf_keyring_t *keys;
    uint8_t sse_default;
    char region[HF_REGION_MAX + 1];
    /* Signature Version 2 is refused (--sigv2 off); accepted by default. */
    bool sigv2_off;
    /* --domain names, lower case: BUCKET.NAME[:port] in Host addresses
     * BUCKET (virtual-hosted style); set before serving, read-only after. */
    int ndomains;
    char domains[HF_DOMAINS_MAX][HF_DOMAIN_NAME_MAX + 1];
    /* HF_BUCKET_* a new bucket gets unless its request says otherwise:
     * Object Ownership (HF_BUCKET_OWNER_ENFORCED, _PREFERRED, neither:
     * ObjectWriter) and Block Public Access (HF_BUCKET_PAB_ALL or none).
     * hf_s3_init sets S3's defaults; the server's --default-* flags
     * change them before serving. */
    uint32_t new_bucket_flags;
    /* How long a completed upload answers a retried completion (0: not
     * at all); HF_UPLOAD_DONE_WINDOW_S unless the server sets another. */
    int64_t done_window_ns;
    /* In a cluster the bucket namespace is the cluster's: CreateBucket
     * goes through catalog_bucket_create (cli wires cluster/control.h
     * here; it answers as hf_meta_bucket_create, plus HF_E_CLOSED /
     * HF_E_TIMEOUT while etcd is unreachable), and DeleteBucket answers
     * 501 until the data plane can tell whether other nodes hold objects
     * of the bucket. NULL: a single node, the local metadata decides. */
    int (*catalog_bucket_create)(void *catalog, hf_bucket_t *b);
    void *catalog;
    _Atomic uint64_t requests;
    _Atomic uint64_t errors_4xx;
    _Atomic uint64_t errors_5xx;
    hf_s3_op_metrics_t ops[HF_S3_NOPS + 1];
} hf_s3_t;

/* Name of operation i (0 <= i <= HF_S3_NOPS; HF_S3_NOPS is "Unknown"). */
const char *hf_s3_op_name(size_t i);

/* A copy of operation i's counters. */
typedef struct hf_s3_op_stat {
    const char *name;
    uint64_t by_status[HF_S3_NSTATUS];
    uint64_t requests;
    uint64_t bytes_in, bytes_out;
    hf_hist_snap_t latency_us;
} hf_s3_op_stat_t;
void hf_s3_op_stats(const hf_s3_t *s3, size_t i, hf_s3_op_stat_t *out);

/* Initialise an S3 context over open stores. region is the one this server
 * serves (SigV4 scopes must name it). */
void hf_s3_init(hf_s3_t *s3, hf_meta_t *meta, hf_chunk_store_t *chunks, const char *region);

/* Is name usable as a --domain? NULL if so, else why not, in words for a
 * CLI message: not a DNS name (letters, digits, hyphens, dots; no port,
 * scheme or path) or too long. */
const char *hf_s3_domain_check(const char *name);
/* Add a --domain name (any case; stored lower-cased) after hf_s3_init.
 * NULL if added, else why not (hf_s3_domain_check, or one too many). */
const char *hf_s3_add_domain(hf_s3_t *s3, const char *name);

/* The request handler (hf_handler_fn); ctx is the hf_s3_t. */
void hf_s3_handle(void *ctx, hf_req_t *r);

/* hf_server_config_t.error_body: an S3 error document for errors the HTTP
 * layer answers itself (unparseable heads, connection limit). */
void hf_s3_error_body(void *ctx, int status, const char *why, hf_buf_t *body,
                      const char **content_type);

/* An Object Ownership name (BucketOwnerEnforced, BucketOwnerPreferred,
 * ObjectWriter; exact case) into its HF_BUCKET_OWNER_* bits: HF_OK, or
 * HF_E_INVAL for anything else. */
int hf_s3_ownership_bits(const char *name, uint32_t *bits);

/* Bucket naming rules of S3 (general purpose buckets): true if valid. */
int hf_s3_bucket_name_valid(const char *name);

#endif
