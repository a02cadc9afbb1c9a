/*
 * main.c -- `holdfast <command> ...`: the command table.
 */
#include "cli/cli.h"

#include <stdio.h>
#include <string.h>

#ifndef HF_VERSION
#define HF_VERSION "0.1.0-dev"
#endif

static int cmd_version(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    printf("holdfast %s\n", HF_VERSION);
    return 0;
}

static int cmd_help(int argc, char **argv);

static const struct {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *summary;
} commands[] = {
    {"server", hf_cli_server, "serve S3 (and the status/admin listener) from a data directory"},
    {"admin", hf_cli_admin, "manage a server: users, store, scrub, lifecycle, faults, status"},
    {"bench", hf_cli_bench, "load an S3 endpoint and report ops/s, MB/s, latency, errors"},
    {"version", cmd_version, "print the version"},
    {"help", cmd_help, "show this help"},
};

static int cmd_help(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    printf("usage: holdfast <command> [options]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        printf("  %-8s %s\n", commands[i].name, commands[i].summary);
    printf("\nRun 'holdfast <command> --help' for a command's options.\n");
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        cmd_help(0, NULL);
        return 2;
    }
    const char *name = argv[1];
    if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0)
        return cmd_help(0, NULL);
    if (strcmp(name, "--version") == 0)
        return cmd_version(0, NULL);
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(commands[i].name, name) == 0)
            return commands[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "holdfast: unknown command '%s'; run 'holdfast help' for the list\n", name);
    return 2;
}
