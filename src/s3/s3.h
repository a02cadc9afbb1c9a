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
#include "base/limits.h"
#include "chunk/store.h"
#include "meta/meta.h"
#include "net/server.h"

#include <stdatomic.h>
#include <stdint.h>

typedef struct hf_s3 {
    hf_meta_t *meta;
    hf_chunk_store_t *chunks;
    char region[HF_REGION_MAX + 1];
    _Atomic uint64_t requests;
    _Atomic uint64_t errors_4xx;
    _Atomic uint64_t errors_5xx;
} hf_s3_t;

/* Initialise an S3 context over open stores. region is the one this server
 * serves (SigV4 scopes must name it). */
void hf_s3_init(hf_s3_t *s3, hf_meta_t *meta, hf_chunk_store_t *chunks, const char *region);

/* The request handler (hf_handler_fn); ctx is the hf_s3_t. */
void hf_s3_handle(void *ctx, hf_req_t *r);

/* hf_server_config_t.error_body: an S3 error document for errors the HTTP
 * layer answers itself (unparseable heads, connection limit). */
void hf_s3_error_body(void *ctx, int status, const char *why, hf_buf_t *body,
                      const char **content_type);

/* Bucket naming rules of S3 (general purpose buckets): true if valid. */
int hf_s3_bucket_name_valid(const char *name);

#endif
