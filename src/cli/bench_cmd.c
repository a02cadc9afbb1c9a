/*
 * bench_cmd.c -- `holdfast bench`: flags and environment into a
 * hf_bench_config_t, then bench/bench.h runs and reports. The flags are a
 * fixed interface (README "Benchmarking"); add, never rename.
 */
#include "cli/cli.h"

#include "base/err.h"
#include "bench/bench.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void usage(FILE *f)
{
    fprintf(f,
            "usage: holdfast bench [options]\n"
            "\n"
            "Load an S3 endpoint (holdfast or any other S3 server) and report ops/s, MB/s,\n"
            "latency percentiles and errors by S3 code. Uploads its data set first, then\n"
            "measures, then deletes what it wrote.\n"
            "\n"
            "  --endpoint URL      http://HOST:PORT (env AWS_ENDPOINT_URL, default\n"
            "                      http://127.0.0.1:9000); path-style requests\n"
            "  --access-key KEY    (env AWS_ACCESS_KEY_ID)\n"
            "  --secret-key KEY    (env AWS_SECRET_ACCESS_KEY)\n"
            "  --region NAME       region to sign for (env AWS_REGION, default us-east-1)\n"
            "  --bucket NAME       bucket to use, created if missing (default holdfast-bench)\n"
            "  --prefix P          key prefix (default bench/); keys are P + 10 digits\n"
            "  --op OP             put | get | head | list | delete | mixed (default get)\n"
            "  --size SIZE         object size: 4KiB, 1MiB, 10MB, 512... (default 4KiB)\n"
            "  --objects N         keys in the data set (default 1000); put cycles over them,\n"
            "                      delete deletes each once, list pages through them\n"
            "  --concurrency C     connections kept busy (default 32)\n"
            "  --threads T         client threads (default: CPUs, at most C)\n"
            "  --duration D        measured time: 30s, 2m, 500ms... (default 30s)\n"
            "  --mix SPEC          weights for --op mixed (default\n"
            "                      get=45,head=30,put=15,delete=10)\n"
            "  --no-prepare        the data set is already there (from an earlier run with\n"
            "                      --no-cleanup): do not upload it\n"
            "  --no-cleanup        keep the keys this run wrote\n"
            "  --no-progress       no progress bar (it is drawn only on a terminal anyway)\n"
            "  --expect-slowdown   an overload test: count 503 SlowDown answers as shed\n"
            "                      load (their own row), not as errors, and send the next\n"
            "                      request at once on the same connection (no backoff)\n"
            "  --json              print the result as one JSON object\n"
            "\n"
            "Exit status: 0 when the run completed (failed requests are part of the\n"
            "report), 1 when it could not run (endpoint unreachable, bucket unusable,\n"
            "data set upload failed), 2 for bad usage.\n");
}

static int bad(const char *what, const char *value)
{
    fprintf(stderr, "holdfast bench: %s: '%s'; see 'holdfast bench --help'\n", what, value);
    return 2;
}

static int copy(char *dst, size_t cap, const char *src, const char *flag)
{
    if (strlen(src) >= cap) {
        fprintf(stderr, "holdfast bench: %s is too long (at most %zu bytes)\n", flag, cap - 1);
        return 2;
    }
    strcpy(dst, src);
    return 0;
}

int hf_cli_bench(int argc, char **argv)
{
    enum {
        O_ENDPOINT = 256, O_AK, O_SK, O_REGION, O_BUCKET, O_PREFIX, O_OP, O_SIZE, O_OBJECTS,
        O_CONC, O_THREADS, O_DURATION, O_MIX, O_NOPREP, O_NOCLEAN, O_NOPROG, O_JSON, O_HELP,
        O_SLOWDOWN,
    };
    static const struct option opts[] = {
        {"endpoint", required_argument, NULL, O_ENDPOINT},
        {"access-key", required_argument, NULL, O_AK},
        {"secret-key", required_argument, NULL, O_SK},
        {"region", required_argument, NULL, O_REGION},
        {"bucket", required_argument, NULL, O_BUCKET},
        {"prefix", required_argument, NULL, O_PREFIX},
        {"op", required_argument, NULL, O_OP},
        {"size", required_argument, NULL, O_SIZE},
        {"objects", required_argument, NULL, O_OBJECTS},
        {"concurrency", required_argument, NULL, O_CONC},
        {"threads", required_argument, NULL, O_THREADS},
        {"duration", required_argument, NULL, O_DURATION},
        {"mix", required_argument, NULL, O_MIX},
        {"no-prepare", no_argument, NULL, O_NOPREP},
        {"no-cleanup", no_argument, NULL, O_NOCLEAN},
        {"no-progress", no_argument, NULL, O_NOPROG},
        {"json", no_argument, NULL, O_JSON},
        {"expect-slowdown", no_argument, NULL, O_SLOWDOWN},
        {"help", no_argument, NULL, O_HELP},
        {NULL, 0, NULL, 0},
    };
    hf_bench_config_t *c = malloc(sizeof *c);
    if (!c) {
        fprintf(stderr, "holdfast bench: out of memory\n");
        return 1;
    }
    hf_bench_config_default(c);
    const char *endpoint = getenv("AWS_ENDPOINT_URL");
    const char *ak = getenv("AWS_ACCESS_KEY_ID"), *sk = getenv("AWS_SECRET_ACCESS_KEY");
    const char *region = getenv("AWS_REGION");
    bool json = false, progress = true;
    int rc = 0, o;
    optind = 1;
    while (rc == 0 && (o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        uint64_t v;
        switch (o) {
        case O_ENDPOINT: endpoint = optarg; break;
        case O_AK: ak = optarg; break;
        case O_SK: sk = optarg; break;
        case O_REGION: region = optarg; break;
        case O_BUCKET: rc = copy(c->bucket, sizeof c->bucket, optarg, "--bucket"); break;
        case O_PREFIX: rc = copy(c->prefix, sizeof c->prefix, optarg, "--prefix"); break;
        case O_OP:
            c->op = hf_bench_parse_op(optarg);
            if (c->op < 0)
                rc = bad("--op must be put, get, head, list, delete or mixed", optarg);
            break;
        case O_SIZE:
            if (hf_bench_parse_size(optarg, &c->size))
                rc = bad("--size must be a size like 4KiB, 1MiB or 10MB, at most 5GiB", optarg);
            break;
        case O_OBJECTS:
            if (hf_bench_parse_size(optarg, &v) || strspn(optarg, "0123456789") != strlen(optarg) ||
                v < 1 || v > HF_BENCH_OBJECTS_MAX)
                rc = bad("--objects must be a number from 1 to 100000000", optarg);
            c->objects = v;
            break;
        case O_CONC:
        case O_THREADS: {
            int max = o == O_CONC ? HF_BENCH_CONCURRENCY_MAX : HF_BENCH_THREADS_MAX;
            if (hf_bench_parse_size(optarg, &v) || strspn(optarg, "0123456789") != strlen(optarg) ||
                v < 1 || v > (uint64_t)max) {
                rc = bad(o == O_CONC ? "--concurrency must be a number from 1 to 16384"
                                     : "--threads must be a number from 1 to 256",
                         optarg);
                break;
            }
            if (o == O_CONC)
                c->concurrency = (int)v;
            else
                c->threads = (int)v;
            break;
        }
        case O_DURATION:
            if (hf_bench_parse_duration(optarg, &c->duration_ms))
                rc = bad("--duration must be like 30s, 2m or 500ms, at most 24h", optarg);
            break;
        case O_MIX:
            if (hf_bench_parse_mix(optarg, c->mix))
                rc = bad("--mix must be like get=45,head=30,put=15,delete=10", optarg);
            break;
        case O_NOPREP: c->prepare = false; break;
        case O_NOCLEAN: c->cleanup = false; break;
        case O_NOPROG: progress = false; break;
        case O_JSON: json = true; break;
        case O_SLOWDOWN: c->expect_slowdown = true; break;
        case O_HELP:
        case 'h':
            usage(stdout);
            free(c);
            return 0;
        default: rc = 2; break;
        }
    }
    if (rc == 0 && optind < argc)
        rc = bad("unexpected argument", argv[optind]);
    if (rc == 0 && endpoint) {
        const char *why;
        if (hf_bench_parse_endpoint(endpoint, &c->endpoint, &why))
            rc = bad(why, endpoint);
    }
    if (rc == 0 && ak)
        rc = copy(c->access_key, sizeof c->access_key, ak, "the access key");
    if (rc == 0 && sk)
        rc = copy(c->secret_key, sizeof c->secret_key, sk, "the secret key");
    if (rc == 0 && region && *region)
        rc = copy(c->region, sizeof c->region, region, "--region");
    if (rc == 0) {
        const char *why = hf_bench_config_check(c);
        if (why) {
            fprintf(stderr, "holdfast bench: %s\n", why);
            rc = 2;
        }
    }
    if (rc) {
        free(c);
        return rc;
    }
    c->progress = progress && isatty(STDERR_FILENO);
    c->progress_out = stderr;
    hf_bench_result_t *res = malloc(sizeof *res);
    char msg[512];
    if (!res) {
        fprintf(stderr, "holdfast bench: out of memory\n");
        free(c);
        return 1;
    }
    int e = hf_bench_run(c, res, msg, sizeof msg);
    if (e) {
        fprintf(stderr, "holdfast bench: %s\n", msg[0] ? msg : hf_strerror(e));
        rc = 1;
    } else if (json) {
        rc = hf_bench_report_json(stdout, c, res) ? 1 : 0;
    } else {
        hf_bench_report_text(stdout, c, res);
    }
    free(res);
    free(c);
    return rc;
}
