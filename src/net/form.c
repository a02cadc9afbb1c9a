/*
 * form.c -- multipart/form-data, pushed a piece at a time (form.h).
 *
 * The stream is read as if it began with CRLF: then every delimiter,
 * including the first, is "CRLF--boundary", and the preamble is simply a
 * body nobody listens to. After a delimiter come either "--" (the end) or
 * optional spaces/tabs and CRLF (a part's head follows).
 */
#include "net/form.h"

#include "base/err.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

enum { ST_BODY, ST_AFTER_DELIM, ST_AFTER_DASH, ST_PAD, ST_PAD_LF, ST_HEAD, ST_DONE };

/* RFC 2046 bchars (the last one may not be a space). */
static bool bchar(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           strchr("'()+_,-./:=? ", c) != NULL;
}

int hf_form_boundary(const char *ct, size_t n, char out[HF_FORM_BOUNDARY_MAX + 1])
{
    static const char type[] = "multipart/form-data";
    size_t tl = sizeof type - 1;
    if (n < tl || strncasecmp(ct, type, tl) != 0)
        return HF_E_INVAL;
    size_t i = tl;
    while (i < n) {
        while (i < n && (ct[i] == ' ' || ct[i] == '\t' || ct[i] == ';'))
            i++;
        size_t ns = i;
        while (i < n && ct[i] != '=' && ct[i] != ';')
            i++;
        size_t nl = i - ns;
        if (i >= n || ct[i] != '=')
            continue;
        i++;
        const char *v = ct + i;
        size_t vl;
        if (i < n && ct[i] == '"') {
            v++;
            i++;
            size_t vs = i;
            while (i < n && ct[i] != '"')
                i++;
            if (i >= n)
                return HF_E_INVAL;
            vl = i - vs;
            i++;
        } else {
            size_t vs = i;
            while (i < n && ct[i] != ';' && ct[i] != ' ' && ct[i] != '\t')
                i++;
            vl = i - vs;
        }
        while (nl && (ct[ns + nl - 1] == ' ' || ct[ns + nl - 1] == '\t'))
            nl--;
        if (nl == 8 && strncasecmp(ct + ns, "boundary", 8) == 0) {
            if (vl == 0 || vl > HF_FORM_BOUNDARY_MAX || v[vl - 1] == ' ')
                return HF_E_INVAL;
            for (size_t k = 0; k < vl; k++)
                if (!bchar((unsigned char)v[k]))
                    return HF_E_INVAL;
            memcpy(out, v, vl);
            out[vl] = '\0';
            return HF_OK;
        }
    }
    return HF_E_INVAL;
}

void hf_form_init(hf_form_t *f, const char *boundary, const hf_form_cb_t *cb)
{
    memset(f, 0, sizeof *f);
    f->cb = *cb;
    size_t bl = strlen(boundary);
    if (bl > HF_FORM_BOUNDARY_MAX)
        bl = HF_FORM_BOUNDARY_MAX;
    memcpy(f->delim, "\r\n--", 4);
    memcpy(f->delim + 4, boundary, bl);
    f->dlen = 4 + bl;
    /* The stream is read as if it began with CRLF (see above). */
    memcpy(f->hold, "\r\n", 2);
    f->hold_len = 2;
    f->state = ST_BODY;
}

bool hf_form_done(const hf_form_t *f)
{
    return f->state == ST_DONE;
}

/* Body bytes: to the part's listener, or nowhere (the preamble). */
static int emit(hf_form_t *f, const char *p, size_t n)
{
    if (!n || !f->in_part || !f->cb.data)
        return 0;
    return f->cb.data(f->cb.ctx, p, n);
}

/* A quoted or token parameter value of a Content-Disposition line, copied
 * into out (at most cap - 1 bytes). Returns a pointer past it, or NULL. */
static const char *param_value(const char *s, char *out, size_t cap)
{
    size_t o = 0;
    if (*s == '"') {
        s++;
        while (*s && *s != '"') {
            /* RFC 7578 4.2: browsers percent-encode quotes; a backslash
             * escape is taken as the character it escapes. */
            if (*s == '\\' && s[1])
                s++;
            if (o + 1 < cap)
                out[o++] = *s;
            s++;
        }
        if (*s != '"')
            return NULL;
        s++;
    } else {
        while (*s && *s != ';' && *s != ' ' && *s != '\t') {
            if (o + 1 < cap)
                out[o++] = *s;
            s++;
        }
    }
    out[o] = '\0';
    return s;
}

/* The head of a part is complete in f->head: announce it. */
static int part_head(hf_form_t *f)
{
    char name[1024] = "", filename[1024] = "", ctype[256] = "";
    bool have_name = false, have_file = false, have_ct = false, have_cd = false;
    char *line = f->head;
    f->head[f->head_len] = '\0';
    while (*line) {
        char *eol = strstr(line, "\r\n");
        if (!eol)
            return HF_E_INVAL;
        *eol = '\0';
        char *colon = strchr(line, ':');
        if (!colon || colon == line)
            return HF_E_INVAL;
        *colon = '\0';
        char *v = colon + 1;
        while (*v == ' ' || *v == '\t')
            v++;
        if (strcasecmp(line, "content-disposition") == 0) {
            if (have_cd || strncasecmp(v, "form-data", 9) != 0)
                return HF_E_INVAL;
            have_cd = true;
            const char *s = v + 9;
            while (*s) {
                while (*s == ';' || *s == ' ' || *s == '\t')
                    s++;
                if (!*s)
                    break;
                const char *eq = strchr(s, '=');
                if (!eq)
                    return HF_E_INVAL;
                size_t kl = (size_t)(eq - s);
                if (kl == 4 && strncasecmp(s, "name", 4) == 0) {
                    s = param_value(eq + 1, name, sizeof name);
                    have_name = true;
                } else if (kl == 8 && strncasecmp(s, "filename", 8) == 0) {
                    s = param_value(eq + 1, filename, sizeof filename);
                    have_file = true;
                } else {
                    char skip[256];
                    s = param_value(eq + 1, skip, sizeof skip);
                }
                if (!s)
                    return HF_E_INVAL;
            }
        } else if (strcasecmp(line, "content-type") == 0) {
            snprintf(ctype, sizeof ctype, "%s", v);
            have_ct = true;
        }
        line = eol + 2;
    }
    if (!have_cd || !have_name || !name[0])
        return HF_E_INVAL;
    if (++f->parts > HF_FORM_PARTS_MAX)
        return HF_E_TOOBIG;
    hf_form_part_t p = {name, have_file ? filename : NULL, have_ct ? ctype : NULL};
    f->in_part = true;
    return f->cb.part ? f->cb.part(f->cb.ctx, &p) : 0;
}

/* The delimiter was found: the current part (if any) ends. */
static int part_end(hf_form_t *f)
{
    if (!f->in_part)
        return 0;
    f->in_part = false;
    return f->cb.end ? f->cb.end(f->cb.ctx) : 0;
}

/* Body state: scan p for the delimiter; returns bytes of p consumed. On
 * finding it, the state moves on. *rc gets an error. */
static size_t body(hf_form_t *f, const char *p, size_t n, int *rc)
{
    size_t d = f->dlen;
    if (f->hold_len) {
        /* Bytes held back may start a delimiter that the first d - 1
         * bytes of p complete: look at the two together. */
        size_t take = n < d - 1 ? n : d - 1;
        memcpy(f->hold + f->hold_len, p, take);
        size_t tot = f->hold_len + take;
        const char *hit = memmem(f->hold, tot, f->delim, d);
        if (hit) {
            size_t at = (size_t)(hit - f->hold);
            size_t used = at + d - f->hold_len; /* bytes of p up to the delimiter's end */
            if ((*rc = emit(f, f->hold, at)) || (*rc = part_end(f)))
                return 0;
            f->hold_len = 0;
            f->state = ST_AFTER_DELIM;
            return used;
        }
        if (take == d - 1) {
            /* No delimiter starts in the held bytes: they are body, and p
             * is scanned on its own (fast, in place). */
            if ((*rc = emit(f, f->hold, f->hold_len)))
                return 0;
            f->hold_len = 0;
            return 0;
        }
        /* p was short: keep the last d - 1 bytes of both. */
        size_t keep = tot < d - 1 ? tot : d - 1;
        if ((*rc = emit(f, f->hold, tot - keep)))
            return 0;
        memmove(f->hold, f->hold + tot - keep, keep);
        f->hold_len = keep;
        return take;
    }
    const char *hit = memmem(p, n, f->delim, d);
    if (hit) {
        size_t at = (size_t)(hit - p);
        if ((*rc = emit(f, p, at)) || (*rc = part_end(f)))
            return 0;
        f->state = ST_AFTER_DELIM;
        return at + d;
    }
    size_t keep = n < d - 1 ? n : d - 1;
    if ((*rc = emit(f, p, n - keep)))
        return 0;
    memcpy(f->hold, p + n - keep, keep);
    f->hold_len = keep;
    return n;
}

int hf_form_feed(hf_form_t *f, const char *p, size_t n)
{
    if (f->err)
        return f->err;
    int rc = 0;
    while (n && !rc) {
        switch (f->state) {
        case ST_BODY: {
            size_t used = body(f, p, n, &rc);
            p += used;
            n -= used;
            break;
        }
        case ST_AFTER_DELIM:
            if (*p == '-') {
                f->state = ST_AFTER_DASH;
            } else if (*p == ' ' || *p == '\t') {
                f->state = ST_PAD;
            } else if (*p == '\r') {
                f->state = ST_PAD_LF;
            } else {
                rc = HF_E_INVAL;
                break;
            }
            p++, n--;
            break;
        case ST_AFTER_DASH:
            if (*p != '-') {
                rc = HF_E_INVAL;
                break;
            }
            f->state = ST_DONE;
            p++, n--;
            break;
        case ST_PAD:
            if (*p == '\r')
                f->state = ST_PAD_LF;
            else if (*p != ' ' && *p != '\t')
                rc = HF_E_INVAL;
            p++, n--;
            break;
        case ST_PAD_LF:
            if (*p != '\n') {
                rc = HF_E_INVAL;
                break;
            }
            f->state = ST_HEAD;
            f->head_len = 0;
            p++, n--;
            break;
        case ST_HEAD: {
            /* Copy until the blank line that ends the head. */
            while (n) {
                if (f->head_len == HF_FORM_HEAD_MAX) {
                    rc = HF_E_TOOBIG;
                    break;
                }
                f->head[f->head_len++] = *p++;
                n--;
                size_t hl = f->head_len;
                bool blank_first = hl == 2 && memcmp(f->head, "\r\n", 2) == 0;
                if (blank_first || (hl >= 4 && memcmp(f->head + hl - 4, "\r\n\r\n", 4) == 0)) {
                    /* Keep the last line's CRLF, drop the blank line. */
                    f->head_len = blank_first ? 0 : hl - 2;
                    rc = part_head(f);
                    f->state = ST_BODY;
                    f->hold_len = 0;
                    break;
                }
            }
            break;
        }
        case ST_DONE:
            return HF_OK; /* the epilogue is ignored */
        }
    }
    if (rc)
        f->err = rc;
    return rc;
}
