/*
 * tls_cmd.c -- `holdfast server --tls-cert FILE --tls-key FILE`: the
 * settings' checks and messages, and the SIGHUP reload.
 *
 * Everything that can be wrong with the files is found before the server
 * listens or touches the data directory, and reported naming the file, so
 * a typo in a path fails the start instead of the first client.
 */
#include "cli/cli.h"

#include "base/err.h"
#include "base/log.h"
#include "net/tls.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

/* "2027-03-01T12:00:00Z" */
static void iso_time(int64_t t, char *out, size_t n)
{
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(out, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* One line about the certificate in use, and a warning when clients will
 * refuse it for its dates. */
static void log_cert(hf_tls_t *t, const char *msg)
{
    hf_tls_info_t in;
    hf_tls_get_info(t, &in);
    char subj[300], iss[300], nb[32], na[32];
    iso_time(in.not_before, nb, sizeof nb);
    iso_time(in.not_after, na, sizeof na);
    hf_log_info("msg=\"%s\" subject=%s issuer=%s intermediates=%d not_before=%s not_after=%s", msg,
                hf_log_quote(subj, sizeof subj, in.subject),
                hf_log_quote(iss, sizeof iss, in.issuer), in.chain, nb, na);
    int64_t now = (int64_t)time(NULL);
    if (in.not_after <= now)
        hf_log_warn("msg=\"the TLS certificate has expired: clients will refuse it\" "
                    "not_after=%s",
                    na);
    else if (in.not_before > now)
        hf_log_warn("msg=\"the TLS certificate is not valid yet: clients will refuse it\" "
                    "not_before=%s",
                    nb);
}

int hf_cli_tls_open(const char *cert, const char *key, hf_tls_t **out)
{
    *out = NULL;
    cert = hf_cli_setting(cert, "HOLDFAST_TLS_CERT", NULL);
    key = hf_cli_setting(key, "HOLDFAST_TLS_KEY", NULL);
    if (!cert && !key)
        return 0;
    if (!cert || !key) {
        fprintf(stderr,
                "holdfast server: --tls-cert and --tls-key (or HOLDFAST_TLS_CERT and "
                "HOLDFAST_TLS_KEY) go together: give both for HTTPS, or neither for plain HTTP "
                "(%s is missing)\n",
                cert ? "--tls-key" : "--tls-cert");
        return 2;
    }
    char why[1024];
    int rc = hf_tls_create(cert, key, out, why, sizeof why);
    if (rc) {
        fprintf(stderr, "holdfast server: TLS: %s\n", why);
        return 2;
    }
    log_cert(*out, "TLS certificate loaded");
    return 0;
}

void hf_cli_tls_reload(hf_tls_t *t)
{
    if (!t) {
        hf_log_info("msg=\"SIGHUP: nothing to reload (the S3 listener is plain HTTP)\"");
        return;
    }
    char why[1024];
    int rc = hf_tls_reload(t, why, sizeof why);
    if (rc) {
        char q[1100];
        hf_log_error("msg=\"TLS reload failed; still serving the previous certificate\" why=%s",
                     hf_log_quote(q, sizeof q, why));
        return;
    }
    log_cert(t, "TLS certificate reloaded");
}
