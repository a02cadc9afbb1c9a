/*
 * config.c -- settings from flags, environment and a config file; see
 * config.h for the file's format and the order of precedence.
 *
 * The parser is strict on purpose: a misspelt key silently ignored would
 * leave a node running with a default its operator thought was changed,
 * so every line must be a known setting, once.
 */
#include "cli/config.h"

#include "base/err.h"
#include "base/vfs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void hf_settings_init(hf_settings_t *s, hf_setting_t *table, size_t n)
{
    memset(s, 0, sizeof *s);
    s->v = table;
    s->n = n;
    for (size_t i = 0; i < n; i++) {
        table[i].value = NULL;
        table[i].src = HF_SET_DEFAULT;
        table[i].line = 0;
        table[i].shown = NULL;
    }
}

void hf_settings_free(hf_settings_t *s)
{
    free(s->text);
    s->text = NULL;
}

hf_setting_t *hf_settings_find(hf_settings_t *s, const char *name)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->v[i].name, name) == 0)
            return &s->v[i];
    return NULL;
}

void hf_settings_flag(hf_settings_t *s, const char *name, const char *value)
{
    hf_setting_t *e = hf_settings_find(s, name);
    if (!e)
        return;
    e->value = value;
    e->src = HF_SET_FLAG;
}

static bool blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r';
}

static int fail(char *err, size_t cap, int rc, const char *file, unsigned line, const char *what,
                const char *key)
{
    if (err && cap)
        snprintf(err, cap, "%s:%u: %s%s%s%s", file, line, what, key ? " '" : "", key ? key : "",
                 key ? "'" : "");
    return rc;
}

/* One pass over the text, checking everything; with take, also storing
 * values (pointing into buf, a writable copy of the text). */
static int parse(hf_settings_t *s, const char *file, char *buf, size_t n, bool take, char *err,
                 size_t errcap)
{
    unsigned line = 0;
    size_t i = 0;
    /* A key given twice is found by remembering the line of each key. */
    unsigned *seen = calloc(s->n ? s->n : 1, sizeof *seen);
    if (!seen)
        return -ENOMEM;
    int rc = HF_OK;
    while (i < n) {
        line++;
        size_t start = i;
        while (i < n && buf[i] != '\n')
            i++;
        size_t len = i - start;
        if (i < n)
            i++; /* the newline */
        if (len > HF_CONFIG_LINE_MAX) {
            rc = fail(err, errcap, HF_E_TOOBIG, file, line, "line longer than 4096 bytes", NULL);
            goto out;
        }
        char *p = buf + start, *end = p + len;
        if (memchr(p, '\0', len)) {
            rc = fail(err, errcap, HF_E_INVAL, file, line, "a NUL byte in the line", NULL);
            goto out;
        }
        while (p < end && blank(*p))
            p++;
        while (end > p && blank(end[-1]))
            end--;
        if (p == end || *p == '#')
            continue;
        char *eq = memchr(p, '=', (size_t)(end - p));
        if (!eq) {
            rc = fail(err, errcap, HF_E_INVAL, file, line, "expected 'key = value'", NULL);
            goto out;
        }
        char *kend = eq, *v = eq + 1;
        while (kend > p && blank(kend[-1]))
            kend--;
        while (v < end && blank(*v))
            v++;
        char key[64];
        size_t kl = (size_t)(kend - p);
        if (kl == 0) {
            rc = fail(err, errcap, HF_E_INVAL, file, line, "no key before '='", NULL);
            goto out;
        }
        if (kl >= sizeof key) {
            rc = fail(err, errcap, HF_E_INVAL, file, line, "unknown setting (key too long)", NULL);
            goto out;
        }
        memcpy(key, p, kl);
        key[kl] = '\0';
        if (kl > 2 && key[0] == '-' && key[1] == '-') {
            rc = fail(err, errcap, HF_E_INVAL, file, line,
                      "write the flag's name without the leading '--':", key);
            goto out;
        }
        hf_setting_t *e = hf_settings_find(s, key);
        if (!e || strcmp(key, "config") == 0) {
            rc = fail(err, errcap, HF_E_INVAL, file, line,
                      e ? "a config file cannot name another config file:"
                        : "unknown setting (see 'holdfast server --help'):",
                      key);
            goto out;
        }
        size_t idx = (size_t)(e - s->v);
        if (seen[idx]) {
            char what[96];
            snprintf(what, sizeof what, "given again (first on line %u):", seen[idx]);
            rc = fail(err, errcap, HF_E_INVAL, file, line, what, key);
            goto out;
        }
        seen[idx] = line;
        if (v == end) {
            rc = fail(err, errcap, HF_E_INVAL, file, line, "no value for", key);
            goto out;
        }
        if (take) {
            *end = '\0';
            if (e->src < HF_SET_FILE) {
                e->value = v;
                e->src = HF_SET_FILE;
                e->line = line;
            }
        }
    }
out:
    free(seen);
    return rc;
}

int hf_settings_parse(hf_settings_t *s, const char *file, const char *text, size_t n, char *err,
                      size_t errcap)
{
    if (n > HF_CONFIG_FILE_MAX)
        return fail(err, errcap, HF_E_TOOBIG, file, 0, "file larger than 1 MiB", NULL);
    char *buf = malloc(n + 1);
    if (!buf)
        return -ENOMEM;
    memcpy(buf, text, n);
    buf[n] = '\0';
    /* Check the whole file first, so an error leaves every setting as it
     * was; then take the values. */
    int rc = parse(s, file, buf, n, false, err, errcap);
    if (rc == HF_OK)
        rc = parse(s, file, buf, n, true, err, errcap);
    if (rc) {
        free(buf);
        return rc;
    }
    free(s->text);
    s->text = buf;
    snprintf(s->file, sizeof s->file, "%s", file);
    return HF_OK;
}

int hf_settings_load(hf_settings_t *s, const char *path, char *err, size_t errcap)
{
    int fd = hf_vfs_open(path, O_RDONLY | O_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(err, errcap, "cannot read %s: %s", path, strerror(-fd));
        return fd;
    }
    size_t cap = 4096, n = 0;
    char *text = malloc(cap);
    int rc = text ? HF_OK : -ENOMEM;
    while (rc == HF_OK) {
        if (n == cap) {
            if (cap > HF_CONFIG_FILE_MAX) {
                rc = fail(err, errcap, HF_E_TOOBIG, path, 0, "file larger than 1 MiB", NULL);
                break;
            }
            char *t = realloc(text, cap * 2);
            if (!t) {
                rc = -ENOMEM;
                break;
            }
            text = t;
            cap *= 2;
        }
        ssize_t k = hf_vfs.read(fd, text + n, cap - n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0) {
            rc = -errno;
            snprintf(err, errcap, "cannot read %s: %s", path, strerror(errno));
        } else if (k == 0) {
            break;
        } else {
            n += (size_t)k;
        }
    }
    hf_vfs.close(fd);
    if (rc == HF_OK)
        rc = hf_settings_parse(s, path, text, n, err, errcap);
    free(text);
    return rc;
}

void hf_settings_env(hf_settings_t *s)
{
    for (size_t i = 0; i < s->n; i++) {
        hf_setting_t *e = &s->v[i];
        if (e->src >= HF_SET_ENV || !e->env)
            continue;
        const char *v = getenv(e->env);
        if (v && *v) {
            e->value = v;
            e->src = HF_SET_ENV;
        }
    }
}

const char *hf_settings_get(hf_settings_t *s, const char *name)
{
    hf_setting_t *e = hf_settings_find(s, name);
    return e ? e->value : NULL;
}

int hf_settings_bool(hf_settings_t *s, const char *name, bool *out)
{
    hf_setting_t *e = hf_settings_find(s, name);
    *out = false;
    if (!e || !e->value)
        return 0;
    /* A flag on the command line has no value: it is there, so true. */
    if (e->src == HF_SET_FLAG && e->boolean) {
        *out = true;
        return 0;
    }
    static const char *const yes[] = {"1", "true", "yes", "on"}, *const no[] = {"0", "false", "no", "off"};
    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(e->value, yes[i]) == 0) {
            *out = true;
            return 0;
        }
        if (strcasecmp(e->value, no[i]) == 0)
            return 0;
    }
    return -1;
}

const char *hf_settings_origin(hf_settings_t *s, const char *name, char *out, size_t cap)
{
    hf_setting_t *e = hf_settings_find(s, name);
    if (!e || e->src == HF_SET_FLAG || e->src == HF_SET_DEFAULT)
        snprintf(out, cap, "--%s", name);
    else if (e->src == HF_SET_ENV)
        snprintf(out, cap, "%s", e->env);
    else
        snprintf(out, cap, "%s (%s:%u)", name, s->file, e->line);
    return out;
}

void hf_settings_show(hf_settings_t *s, const char *name, const char *shown)
{
    hf_setting_t *e = hf_settings_find(s, name);
    if (e)
        e->shown = shown;
}

void hf_settings_print(hf_settings_t *s, FILE *f)
{
    fprintf(f, "%-22s %-34s %s\n", "SETTING", "VALUE", "FROM");
    for (size_t i = 0; i < s->n; i++) {
        hf_setting_t *e = &s->v[i];
        const char *v = e->value;
        if (e->src == HF_SET_FLAG && e->boolean)
            v = "true";
        else if (!v)
            v = e->shown ? e->shown : e->def;
        if (e->secret && e->value)
            v = "(set)";
        char from[1100];
        switch (e->src) {
        case HF_SET_FLAG: snprintf(from, sizeof from, "flag --%s", e->name); break;
        case HF_SET_ENV: snprintf(from, sizeof from, "env %s", e->env); break;
        case HF_SET_FILE: snprintf(from, sizeof from, "file %s:%u", s->file, e->line); break;
        default: snprintf(from, sizeof from, "default"); break;
        }
        fprintf(f, "%-22s %-34s %s\n", e->name, v ? v : "(unset)", from);
    }
}
