/*
 * fuzz_config.c -- the config file parser (cli/config.c).
 *
 * Properties: memory safety on any bytes; a file that parses gives each
 * setting it names a value that is a NUL-terminated, non-empty string
 * without a newline or surrounding blanks, on a line of the file; a file
 * that is refused changes no setting and says where.
 */
#include "base/err.h"
#include "cli/config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    hf_setting_t table[] = {
        {.name = "config"}, {.name = "data"}, {.name = "workers"},
        {.name = "fault-injection", .boolean = true}, {.name = "tls-cert"},
    };
    size_t n = sizeof table / sizeof table[0];
    hf_settings_t s;
    hf_settings_init(&s, table, n);
    char err[512];
    int rc = hf_settings_parse(&s, "fuzz.conf", (const char *)data, size, err, sizeof err);
    for (size_t i = 0; i < n; i++) {
        const char *v = table[i].value;
        if (rc != HF_OK) {
            if (v || table[i].src != HF_SET_DEFAULT)
                abort();
            continue;
        }
        if (!v)
            continue;
        size_t l = strlen(v);
        if (l == 0 || strchr(v, '\n') || v[0] == ' ' || v[l - 1] == ' ' || table[i].line == 0)
            abort();
    }
    if (rc != HF_OK && strncmp(err, "fuzz.conf:", 10) != 0)
        abort();
    bool b;
    hf_settings_bool(&s, "fault-injection", &b);
    hf_settings_free(&s);
    return 0;
}
