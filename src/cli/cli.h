/*
 * cli.h -- the holdfast command: a table of subcommands (main.c) and their
 * entry points. Each returns the process exit status: 0 success, 1 failure
 * at run time, 2 bad usage (with a message saying what to do).
 */
#ifndef HF_CLI_CLI_H
#define HF_CLI_CLI_H

#include <stddef.h>

int hf_cli_server(int argc, char **argv);
int hf_cli_admin(int argc, char **argv);
int hf_cli_bench(int argc, char **argv);

/* Settings shared by commands: flag value, else environment variable, else
 * the default. Never NULL when def is not NULL. */
const char *hf_cli_setting(const char *flag_value, const char *env, const char *def);

/* Name of the file in the data directory that holds the root key. */
#define HF_ROOT_CREDENTIALS_FILE "root-credentials"

/* Read access_key/secret_key from <data>/root-credentials. 0 or -errno. */
int hf_cli_read_root_credentials(const char *data_dir, char *ak, size_t akcap, char *sk,
                                 size_t skcap);

#endif
