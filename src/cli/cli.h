/*
 * cli.h -- the holdfast command: a table of subcommands (main.c) and their
 * entry points. Each returns the process exit status: 0 success, 1 failure
 * at run time, 2 bad usage (with a message saying what to do).
 */
#ifndef HF_CLI_CLI_H
#define HF_CLI_CLI_H

#include "meta/meta.h"
#include "net/tls.h"
#include "sse/keyring.h"
#include "status/status.h"

#include <stddef.h>
#include <stdint.h>

int hf_cli_server(int argc, char **argv);
int hf_cli_admin(int argc, char **argv);
int hf_cli_bench(int argc, char **argv);

/* Settings shared by commands: flag value, else environment variable, else
 * the default. Never NULL when def is not NULL. */
const char *hf_cli_setting(const char *flag_value, const char *env, const char *def);

/* Name of the file in the data directory that holds the root key. */
#define HF_ROOT_CREDENTIALS_FILE HF_STATUS_ROOT_CREDENTIALS_FILE

/* Read access_key/secret_key from <data>/root-credentials. 0 or -errno. */
int hf_cli_read_root_credentials(const char *data_dir, char *ak, size_t akcap, char *sk,
                                 size_t skcap);

/* The local account running this process, "name(uid)" (or "uid" when it
 * has no name), for audit records. Returns out. */
const char *hf_cli_local_user(char *out, size_t cap);

/* "30", "30s", "250ms", "5m", "2h", "7d" into milliseconds; -1 if s is not
 * such a duration. */
int hf_cli_parse_duration_ms(const char *s, int64_t *out);
/* "123", "64K", "512MiB", "2G", "1TB": bytes (powers of 1024); -1 if s is
 * not such a size. */
int hf_cli_parse_size(const char *s, uint64_t *out);
/* Cluster nodes (server_cluster.c): the flags of `holdfast server
 * --cluster`, checked, and the node's control plane once opened. */
struct hf_settings;
typedef struct hf_peer_net hf_peer_net_t;
typedef struct hf_loops hf_loops_t;
typedef struct hf_cli_peers hf_cli_peers_t;

typedef struct hf_cli_cluster {
    const char *url, *node_id, *zone, *rpc_listen, *advertise; /* borrowed from the settings */
    uint64_t capacity;
    uint8_t secret[HF_CLUSTER_SECRET_MAX];
    size_t secret_len;
    hf_cluster_t *cluster;
    hf_peer_net_t *peers;        /* the node-to-node transport, on the S3 loops */
    hf_cli_peers_t *monitor;     /* the fiber that pings every peer of the layout */
} hf_cli_cluster_t;
/* Check --cluster and its companions (none without --cluster). 0, or 2
 * after saying what is wrong. */
int hf_cli_cluster_check(struct hf_settings *set, hf_cli_cluster_t *ca);
/* Join (or rejoin) the cluster and start the control thread; wire
 * CreateBucket and user changes through it. 0, or 1/2 after saying why. */
int hf_cli_cluster_open(hf_cli_cluster_t *ca, hf_meta_t *meta, const char *data_dir,
                        const char *s3_addr, const char *status_addr, const char *region,
                        const char *s3_url, hf_s3_t *s3, hf_status_t *st, hf_loops_t *loops);
/* Stop talking to peers (before the S3 loops stop: the transport lives on
 * them). */
void hf_cli_cluster_stop_peers(hf_cli_cluster_t *ca);
void hf_cli_cluster_close(hf_cli_cluster_t *ca);

/* HTTPS for the S3 listener (tls_cmd.c): from --tls-cert/--tls-key or
 * HOLDFAST_TLS_CERT/HOLDFAST_TLS_KEY (both or neither). *out stays NULL for
 * plain HTTP. Returns 0, or 2 after printing what is wrong. */
int hf_cli_tls_open(const char *cert, const char *key, hf_tls_t **out);
/* SIGHUP: reread the certificate and key (t may be NULL); logs the outcome. */
void hf_cli_tls_reload(hf_tls_t *t);

/* Server-side encryption (sse_cmd.c). --sse-default / HOLDFAST_SSE_DEFAULT
 * (AES256 or none) into *mode: 0, or 2 after saying what is wrong. */
int hf_cli_sse_default(const char *v, uint8_t *mode);
/* The master key file (--sse-master-key-file / HOLDFAST_SSE_MASTER_KEY_FILE,
 * default DATA/sse-master.key): generated only when the metadata names no
 * key yet, else it must hold every key the metadata names. Records the
 * keys' fingerprints. 0, or 1 after printing what is wrong. */
int hf_cli_sse_open(const char *data, const char *file, hf_meta_t *m, hf_keyring_t **out);
/* SIGHUP: reread the key file for keys added by hand; logs the outcome. */
void hf_cli_sse_reload(hf_keyring_t *k, hf_meta_t *m);

#endif
