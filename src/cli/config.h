/*
 * config.h -- a command's settings from four places, in order of
 * precedence: a command-line flag, an environment variable, the config
 * file, the built-in default. `holdfast server` uses it for every flag
 * (--config FILE or HOLDFAST_CONFIG names the file; --print-config shows
 * the result and where each value came from).
 *
 * The config file: UTF-8 text, one setting per line, `key = value`, where
 * key is a flag's name without the leading "--" (`workers = 32`,
 * `tls-cert = /etc/holdfast/cert.pem`). Blank lines and lines whose first
 * non-blank character is '#' are ignored; the value is the rest of the
 * line with surrounding blanks removed (it may contain '#', '=' and
 * spaces; there is no quoting). A flag that takes no value on the command
 * line (--fault-injection) takes true/false, yes/no, on/off or 1/0. A key
 * that is not a setting, a key given twice, a line without '=', an empty
 * value, a NUL byte, or a file or line over the limits below is an error
 * that names the file and the line.
 *
 * Ownership: hf_settings_t owns the file's text (values point into it)
 * and borrows the table of settings, which the caller keeps for its
 * lifetime; hf_settings_free releases what it owns.
 * Threads: one thread (a command's set-up).
 */
#ifndef HF_CLI_CONFIG_H
#define HF_CLI_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* A config file is a handful of lines; 1 MiB is far above any real one
 * and far below memory trouble. A line holds one path or address. */
#define HF_CONFIG_FILE_MAX (1024 * 1024)
#define HF_CONFIG_LINE_MAX 4096

typedef enum hf_setting_src {
    HF_SET_DEFAULT = 0,
    HF_SET_FILE,
    HF_SET_ENV,
    HF_SET_FLAG,
} hf_setting_src_t;

typedef struct hf_setting {
    const char *name;     /* the flag without "--", e.g. "workers" */
    const char *env;      /* e.g. "HOLDFAST_WORKERS" (NULL: none) */
    const char *def;      /* the default as --print-config shows it; NULL: unset */
    bool boolean;         /* a flag without a value on the command line */
    bool secret;          /* --print-config shows "(set)" instead of the value */
    /* Filled by hf_settings_*: */
    const char *value;    /* the effective value (NULL: unset, the default applies) */
    hf_setting_src_t src;
    unsigned line;        /* the config file's line when src == HF_SET_FILE */
    const char *shown;    /* what the code computed for an unset setting (may be NULL) */
} hf_setting_t;

typedef struct hf_settings {
    hf_setting_t *v;      /* borrowed table */
    size_t n;
    char file[1024];      /* the config file read ("" if none) */
    char *text;           /* its contents, NUL-separated (owned) */
} hf_settings_t;

/* Start with every setting unset (src HF_SET_DEFAULT). */
void hf_settings_init(hf_settings_t *s, hf_setting_t *table, size_t n);
void hf_settings_free(hf_settings_t *s);

/* The setting called name, or NULL. */
hf_setting_t *hf_settings_find(hf_settings_t *s, const char *name);

/* A value given as a flag (takes precedence over everything). */
void hf_settings_flag(hf_settings_t *s, const char *name, const char *value);

/* Parse a config file's text (n bytes, need not be NUL-terminated): for
 * each setting, a value not already given by a flag is taken from the
 * file. The file name is only for messages. HF_OK, or HF_E_INVAL /
 * HF_E_TOOBIG with err saying "FILE:LINE: what is wrong". On error
 * nothing is taken from the file. */
int hf_settings_parse(hf_settings_t *s, const char *file, const char *text, size_t n, char *err,
                      size_t errcap);

/* Read path and parse it (hf_settings_parse). Errors also: a negative
 * errno when the file cannot be read (err says so). */
int hf_settings_load(hf_settings_t *s, const char *path, char *err, size_t errcap);

/* Fill every setting still unset from its environment variable (an empty
 * variable counts as unset). */
void hf_settings_env(hf_settings_t *s);

/* The effective value of name (NULL: unset, the caller's default
 * applies). */
const char *hf_settings_get(hf_settings_t *s, const char *name);

/* A boolean setting: *out gets its value (false when unset). -1 if the
 * value is not one of true/false, yes/no, on/off, 1/0. */
int hf_settings_bool(hf_settings_t *s, const char *name, bool *out);

/* Where name's value came from, for error messages: "--workers",
 * "HOLDFAST_WORKERS", "workers (FILE:12)". Returns out. */
const char *hf_settings_origin(hf_settings_t *s, const char *name, char *out, size_t cap);

/* Record what the code computed for an unset setting (e.g. the admission
 * limits derived from the worker count), for --print-config. shown must
 * outlive s. */
void hf_settings_show(hf_settings_t *s, const char *name, const char *shown);

/* A table: one line per setting with its effective value (or default)
 * and where it came from (flag, env, file:line, default). */
void hf_settings_print(hf_settings_t *s, FILE *f);

#endif
