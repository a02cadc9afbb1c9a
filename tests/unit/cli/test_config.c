/*
 * test_config.c -- cli/config.c: the config file parser and the order of
 * precedence (flag over environment over file over default).
 */
#include "test.h"

#include "base/err.h"
#include "cli/config.h"

#include <stdlib.h>

static hf_setting_t table_init[] = {
    {.name = "config", .env = "HFT_CONFIG"},
    {.name = "data", .env = "HFT_DATA", .def = "./data"},
    {.name = "workers", .env = "HFT_WORKERS", .def = "16"},
    {.name = "region", .env = "HFT_REGION", .def = "us-east-1"},
    {.name = "fault-injection", .env = "HFT_FAULTS", .boolean = true},
};
#define NSET (sizeof table_init / sizeof table_init[0])

static hf_settings_t set;
static hf_setting_t table[NSET];

static void fresh(void)
{
    memcpy(table, table_init, sizeof table);
    hf_settings_init(&set, table, NSET);
}

/* Each row: a file's text and the outcome: HF_OK, or the error with the
 * start of the message after "f.conf:". */
static const struct {
    const char *text;
    int rc;
    const char *msg;
} cases[] = {
    {"", HF_OK, NULL},
    {"# only a comment\n\n   \n\t# indented comment\n", HF_OK, NULL},
    {"workers = 8\n", HF_OK, NULL},
    {"workers=8", HF_OK, NULL},                      /* no blanks, no final newline */
    {"  workers   =   8   \r\n", HF_OK, NULL},       /* CRLF and blanks */
    {"data = /srv/a b#c=d\n", HF_OK, NULL},          /* value keeps '#', '=' and spaces */
    {"fault-injection = yes\n", HF_OK, NULL},
    {"wrokers = 8\n", HF_E_INVAL, "1: unknown setting"},
    {"\n\nworkers 8\n", HF_E_INVAL, "3: expected 'key = value'"},
    {"workers =\n", HF_E_INVAL, "1: no value for 'workers'"},
    {"= 8\n", HF_E_INVAL, "1: no key before '='"},
    {"--workers = 8\n", HF_E_INVAL, "1: write the flag's name without the leading '--'"},
    {"workers = 8\nregion = x\nworkers = 9\n", HF_E_INVAL, "3: given again (first on line 1)"},
    {"config = other.conf\n", HF_E_INVAL, "1: a config file cannot name another config file"},
    {"a_key_longer_than_sixty_four_bytes_which_is_no_setting_at_all_ever = 1\n", HF_E_INVAL,
     "1: unknown setting (key too long)"},
};

TEST(file_lines_table)
{
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        fresh();
        char err[256] = "";
        int rc = hf_settings_parse(&set, "f.conf", cases[i].text, strlen(cases[i].text), err,
                                   sizeof err);
        if (rc != cases[i].rc)
            hf_test_fail(__FILE__, __LINE__, "case %zu: rc %d, expected %d (%s)", i, rc,
                         cases[i].rc, err);
        if (cases[i].msg && strncmp(err, "f.conf:", 7) != 0)
            hf_test_fail(__FILE__, __LINE__, "case %zu: message '%s' names no file", i, err);
        if (cases[i].msg && strncmp(err + 7, cases[i].msg, strlen(cases[i].msg)) != 0)
            hf_test_fail(__FILE__, __LINE__, "case %zu: message '%s'", i, err);
        /* A refused file changes nothing. */
        if (rc != HF_OK)
            for (size_t k = 0; k < NSET; k++)
                CHECK(table[k].value == NULL && table[k].src == HF_SET_DEFAULT);
        hf_settings_free(&set);
    }
}

TEST(values_and_lines)
{
    fresh();
    const char *t = "# header\nworkers = 8\n\ndata = /srv/a b#c=d  \n";
    char err[256];
    CHECK_EQ_INT(hf_settings_parse(&set, "f.conf", t, strlen(t), err, sizeof err), HF_OK);
    CHECK_EQ_STR(hf_settings_get(&set, "workers"), "8");
    CHECK_EQ_STR(hf_settings_get(&set, "data"), "/srv/a b#c=d");
    CHECK_EQ_INT(hf_settings_find(&set, "data")->line, 4);
    CHECK(hf_settings_get(&set, "region") == NULL);
    char o[128];
    CHECK_EQ_STR(hf_settings_origin(&set, "workers", o, sizeof o), "workers (f.conf:2)");
    hf_settings_free(&set);
}

TEST(nul_byte_and_long_line_are_refused)
{
    fresh();
    char err[256];
    const char t[] = "workers = 8\0\n";
    CHECK_EQ_INT(hf_settings_parse(&set, "f.conf", t, sizeof t - 1, err, sizeof err), HF_E_INVAL);
    CHECK(strstr(err, "NUL") != NULL);
    size_t n = HF_CONFIG_LINE_MAX + 20;
    char *big = malloc(n);
    memset(big, 'x', n);
    memcpy(big, "data = ", 7);
    CHECK_EQ_INT(hf_settings_parse(&set, "f.conf", big, n, err, sizeof err), HF_E_TOOBIG);
    free(big);
    CHECK_EQ_INT(hf_settings_parse(&set, "f.conf", "", HF_CONFIG_FILE_MAX + 1, err, sizeof err),
                 HF_E_TOOBIG);
    hf_settings_free(&set);
}

TEST(flag_over_env_over_file_over_default)
{
    fresh();
    setenv("HFT_WORKERS", "12", 1);
    setenv("HFT_REGION", "eu-west-1", 1);
    setenv("HFT_DATA", "", 1); /* empty counts as unset */
    hf_settings_flag(&set, "workers", "4");
    const char *t = "workers = 8\nregion = ap-south-1\ndata = /srv\n";
    char err[256];
    CHECK_EQ_INT(hf_settings_parse(&set, "f.conf", t, strlen(t), err, sizeof err), HF_OK);
    hf_settings_env(&set);
    CHECK_EQ_STR(hf_settings_get(&set, "workers"), "4");
    CHECK_EQ_INT(hf_settings_find(&set, "workers")->src, HF_SET_FLAG);
    CHECK_EQ_STR(hf_settings_get(&set, "region"), "eu-west-1");
    CHECK_EQ_INT(hf_settings_find(&set, "region")->src, HF_SET_ENV);
    CHECK_EQ_STR(hf_settings_get(&set, "data"), "/srv");
    CHECK_EQ_INT(hf_settings_find(&set, "data")->src, HF_SET_FILE);
    char o[128];
    CHECK_EQ_STR(hf_settings_origin(&set, "workers", o, sizeof o), "--workers");
    CHECK_EQ_STR(hf_settings_origin(&set, "region", o, sizeof o), "HFT_REGION");
    unsetenv("HFT_WORKERS");
    unsetenv("HFT_REGION");
    unsetenv("HFT_DATA");
    hf_settings_free(&set);
}

TEST(booleans)
{
    static const struct {
        const char *v;
        int rc;
        bool out;
    } rows[] = {{"1", 0, true},   {"true", 0, true}, {"YES", 0, true},  {"on", 0, true},
                {"0", 0, false},  {"False", 0, false}, {"no", 0, false}, {"off", 0, false},
                {"maybe", -1, false}, {"2", -1, false}};
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        fresh();
        char t[64], err[256];
        snprintf(t, sizeof t, "fault-injection = %s\n", rows[i].v);
        CHECK_EQ_INT(hf_settings_parse(&set, "f.conf", t, strlen(t), err, sizeof err), HF_OK);
        bool b = !rows[i].out;
        CHECK_EQ_INT(hf_settings_bool(&set, "fault-injection", &b), rows[i].rc);
        if (rows[i].rc == 0)
            CHECK_EQ_INT(b, rows[i].out);
        hf_settings_free(&set);
    }
    /* On the command line the flag takes no value: present means true. */
    fresh();
    hf_settings_flag(&set, "fault-injection", "true");
    bool b = false;
    CHECK_EQ_INT(hf_settings_bool(&set, "fault-injection", &b), 0);
    CHECK(b);
}

HF_TEST_MAIN("unit/cli")
