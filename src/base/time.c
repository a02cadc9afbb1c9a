/* time.c -- see time.h. */
#include "base/time.h"

#include "base/err.h"

#include <string.h>
#include <time.h>

int64_t hf_time_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t hf_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t hf_mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static const char *const wdays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

static int64_t floor_div(int64_t a, int64_t b)
{
    return a / b - (a % b < 0);
}

/* UTC calendar fields of ns (date, time, weekday; nothing else is set).
 * Computed from days since the epoch (Howard Hinnant's civil_from_days)
 * rather than with gmtime_r, which takes glibc's time-zone lock on every
 * call: every response's Date and Last-Modified and every listed object's
 * LastModified are formatted here, by all workers at once. */
static void to_tm(int64_t ns, struct tm *tm, int *ms)
{
    int64_t secs = floor_div(ns, 1000000000);
    int64_t days = floor_div(secs, 86400), sod = secs - days * 86400;
    memset(tm, 0, sizeof *tm);
    tm->tm_hour = (int)(sod / 3600);
    tm->tm_min = (int)(sod % 3600 / 60);
    tm->tm_sec = (int)(sod % 60);
    tm->tm_wday = (int)(days - floor_div(days + 4, 7) * 7 + 4); /* 1970-01-01 was a Thursday */
    int64_t z = days + 719468;                                   /* days since 0000-03-01 */
    int64_t era = floor_div(z, 146097);
    int64_t doe = z - era * 146097;                               /* [0, 146096] */
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);        /* [0, 365], from March */
    int64_t mp = (5 * doy + 2) / 153;
    int64_t month = mp < 10 ? mp + 3 : mp - 9;                    /* [1, 12] */
    int64_t year = yoe + era * 400 + (month <= 2);
    tm->tm_mday = (int)(doy - (153 * mp + 2) / 5 + 1);
    tm->tm_mon = (int)(month - 1);
    tm->tm_year = (int)(year - 1900);
    if (ms)
        *ms = (int)(floor_div(ns, 1000000) - floor_div(ns, 1000000000) * 1000);
}

/* Write v as exactly k decimal digits (v is in range by construction of
 * struct tm; years beyond 9999 are clamped), return the end. */
static char *put_num(char *o, int v, int k)
{
    if (v < 0)
        v = 0;
    for (int i = k - 1; i >= 0; i--) {
        o[i] = (char)('0' + v % 10);
        v /= 10;
    }
    return o + k;
}

static char *put_str(char *o, const char *s)
{
    while (*s)
        *o++ = *s++;
    return o;
}

void hf_time_http(char *out, int64_t ns)
{
    struct tm tm;
    to_tm(ns, &tm, NULL);
    char *o = put_str(out, wdays[tm.tm_wday]);
    o = put_str(o, ", ");
    o = put_num(o, tm.tm_mday, 2);
    *o++ = ' ';
    o = put_str(o, months[tm.tm_mon]);
    *o++ = ' ';
    o = put_num(o, tm.tm_year + 1900, 4);
    *o++ = ' ';
    o = put_num(o, tm.tm_hour, 2);
    *o++ = ':';
    o = put_num(o, tm.tm_min, 2);
    *o++ = ':';
    o = put_num(o, tm.tm_sec, 2);
    o = put_str(o, " GMT");
    *o = '\0';
}

void hf_time_iso8601(char *out, int64_t ns)
{
    struct tm tm;
    int ms;
    to_tm(ns, &tm, &ms);
    char *o = put_num(out, tm.tm_year + 1900, 4);
    *o++ = '-';
    o = put_num(o, tm.tm_mon + 1, 2);
    *o++ = '-';
    o = put_num(o, tm.tm_mday, 2);
    *o++ = 'T';
    o = put_num(o, tm.tm_hour, 2);
    *o++ = ':';
    o = put_num(o, tm.tm_min, 2);
    *o++ = ':';
    o = put_num(o, tm.tm_sec, 2);
    *o++ = '.';
    o = put_num(o, ms, 3);
    *o++ = 'Z';
    *o = '\0';
}

void hf_time_amz(char *out, int64_t ns)
{
    struct tm tm;
    to_tm(ns, &tm, NULL);
    char *o = put_num(out, tm.tm_year + 1900, 4);
    o = put_num(o, tm.tm_mon + 1, 2);
    o = put_num(o, tm.tm_mday, 2);
    *o++ = 'T';
    o = put_num(o, tm.tm_hour, 2);
    o = put_num(o, tm.tm_min, 2);
    o = put_num(o, tm.tm_sec, 2);
    *o++ = 'Z';
    *o = '\0';
}

/* Read exactly k digits at s. */
static int digits(const char *s, int k, int *v)
{
    int x = 0;
    for (int i = 0; i < k; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        x = x * 10 + (s[i] - '0');
    }
    *v = x;
    return 0;
}

static int days_in_month(int y, int m)
{
    static const int d[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
        return 29;
    return d[m - 1];
}

/* Seconds since epoch for a UTC civil date, after range checks. */
static int civil(int y, int mo, int d, int h, int mi, int s, int64_t *out)
{
    if (y < 1970 || y > 9999 || mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) ||
        h > 23 || mi > 59 || s > 60)
        return HF_E_INVAL;
    /* days from civil (Howard Hinnant's algorithm) */
    int yy = y - (mo <= 2);
    int era = yy / 400;
    int yoe = yy - era * 400;
    int doy = (153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    int64_t days = (int64_t)era * 146097 + doe - 719468;
    *out = days * 86400 + h * 3600 + mi * 60 + (s == 60 ? 59 : s);
    return HF_OK;
}

int hf_time_parse_amz(const char *s, size_t n, int64_t *secs)
{
    int y, mo, d, h, mi, se;
    if (n != 16 || s[8] != 'T' || s[15] != 'Z')
        return HF_E_INVAL;
    if (digits(s, 4, &y) || digits(s + 4, 2, &mo) || digits(s + 6, 2, &d) ||
        digits(s + 9, 2, &h) || digits(s + 11, 2, &mi) || digits(s + 13, 2, &se))
        return HF_E_INVAL;
    return civil(y, mo, d, h, mi, se, secs);
}

int hf_time_parse_iso8601(const char *s, size_t n, int64_t *secs)
{
    int y, mo, d, h, mi, se;
    if (n < 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' ||
        s[n - 1] != 'Z')
        return HF_E_INVAL;
    if (digits(s, 4, &y) || digits(s + 5, 2, &mo) || digits(s + 8, 2, &d) ||
        digits(s + 11, 2, &h) || digits(s + 14, 2, &mi) || digits(s + 17, 2, &se))
        return HF_E_INVAL;
    if (n > 20) { /* fractional seconds: ".d+" */
        if (s[19] != '.' || n < 22)
            return HF_E_INVAL;
        for (size_t i = 20; i < n - 1; i++)
            if (s[i] < '0' || s[i] > '9')
                return HF_E_INVAL;
    }
    return civil(y, mo, d, h, mi, se, secs);
}

static int month_of(const char *s)
{
    for (int i = 0; i < 12; i++)
        if (memcmp(s, months[i], 3) == 0)
            return i + 1;
    return -1;
}

int hf_time_parse_http(const char *s, size_t n, int64_t *secs)
{
    int y, mo, d, h, mi, se;
    char buf[64];
    if (n >= sizeof buf)
        return HF_E_INVAL;
    memcpy(buf, s, n);
    buf[n] = '\0';
    /* IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT" */
    if (n == 29 && buf[3] == ',' && buf[4] == ' ' && buf[7] == ' ' && buf[11] == ' ' &&
        buf[16] == ' ' && buf[19] == ':' && buf[22] == ':' && memcmp(buf + 25, " GMT", 4) == 0) {
        if (digits(buf + 5, 2, &d) || (mo = month_of(buf + 8)) < 0 || digits(buf + 12, 4, &y) ||
            digits(buf + 17, 2, &h) || digits(buf + 20, 2, &mi) || digits(buf + 23, 2, &se))
            return HF_E_INVAL;
        return civil(y, mo, d, h, mi, se, secs);
    }
    /* asctime: "Sun Nov  6 08:49:37 1994" */
    if (n == 24 && buf[3] == ' ' && buf[7] == ' ' && buf[10] == ' ' && buf[13] == ':' &&
        buf[16] == ':' && buf[19] == ' ') {
        if ((mo = month_of(buf + 4)) < 0)
            return HF_E_INVAL;
        if (buf[8] == ' ') {
            if (digits(buf + 9, 1, &d))
                return HF_E_INVAL;
        } else if (digits(buf + 8, 2, &d)) {
            return HF_E_INVAL;
        }
        if (digits(buf + 11, 2, &h) || digits(buf + 14, 2, &mi) || digits(buf + 17, 2, &se) ||
            digits(buf + 20, 4, &y))
            return HF_E_INVAL;
        return civil(y, mo, d, h, mi, se, secs);
    }
    /* RFC 850: "Sunday, 06-Nov-94 08:49:37 GMT" */
    const char *c = strchr(buf, ',');
    if (c && strlen(c) == 24 && c[1] == ' ' && c[4] == '-' && c[8] == '-' && c[11] == ' ' &&
        c[14] == ':' && c[17] == ':' && memcmp(c + 20, " GMT", 4) == 0) {
        if (digits(c + 2, 2, &d) || (mo = month_of(c + 5)) < 0 || digits(c + 9, 2, &y) ||
            digits(c + 12, 2, &h) || digits(c + 15, 2, &mi) || digits(c + 18, 2, &se))
            return HF_E_INVAL;
        y += y < 70 ? 2000 : 1900;
        return civil(y, mo, d, h, mi, se, secs);
    }
    return HF_E_INVAL;
}
