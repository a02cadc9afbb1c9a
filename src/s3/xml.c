/* xml.c -- see xml.h. */
#include "s3/xml.h"

#include "base/err.h"

#include <errno.h>
#include <expat.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdbool.h>
#include <string.h>

/* ---- reader ---- */

typedef struct pstate {
    XML_Parser p;
    hf_arena_t *a;
    hf_xml_node_t *root;
    hf_xml_node_t *cur;
    int depth;
    int nodes;
    int err;
} pstate_t;

static void stop(pstate_t *st, int err)
{
    if (!st->err)
        st->err = err;
    XML_StopParser(st->p, XML_FALSE);
}

static void XMLCALL on_start(void *ud, const XML_Char *name, const XML_Char **attrs)
{
    (void)attrs;
    pstate_t *st = ud;
    if (st->err)
        return;
    if (++st->depth > HF_XML_DEPTH_MAX || ++st->nodes > HF_XML_NODES_MAX) {
        stop(st, HF_E_INVAL);
        return;
    }
    /* With namespace processing on, names arrive as "uri|local". */
    const char *local = strrchr(name, '|');
    local = local ? local + 1 : name;
    hf_xml_node_t *n = hf_arena_calloc(st->a, sizeof *n);
    char *nm = n ? hf_arena_strdup(st->a, local) : NULL;
    if (!nm) {
        stop(st, -ENOMEM);
        return;
    }
    n->name = nm;
    n->parent = st->cur;
    if (st->cur) {
        if (st->cur->last)
            st->cur->last->next = n;
        else
            st->cur->child = n;
        st->cur->last = n;
    } else if (st->root) {
        stop(st, HF_E_INVAL); /* a second root element */
        return;
    } else {
        st->root = n;
    }
    st->cur = n;
}

static void XMLCALL on_end(void *ud, const XML_Char *name)
{
    (void)name;
    pstate_t *st = ud;
    if (st->err)
        return;
    st->depth--;
    st->cur = st->cur ? st->cur->parent : NULL;
}

static void XMLCALL on_text(void *ud, const XML_Char *s, int len)
{
    pstate_t *st = ud;
    if (st->err || !st->cur || len <= 0)
        return;
    hf_xml_node_t *n = st->cur;
    char *t = hf_arena_alloc(st->a, n->textlen + (size_t)len + 1);
    if (!t) {
        stop(st, -ENOMEM);
        return;
    }
    if (n->textlen)
        memcpy(t, n->text, n->textlen);
    memcpy(t + n->textlen, s, (size_t)len);
    n->textlen += (size_t)len;
    t[n->textlen] = '\0';
    n->text = t;
}

static void XMLCALL on_doctype(void *ud, const XML_Char *name, const XML_Char *sysid,
                               const XML_Char *pubid, int has_internal)
{
    (void)name;
    (void)sysid;
    (void)pubid;
    (void)has_internal;
    stop(ud, HF_E_INVAL);
}

int hf_xml_parse(const char *p, size_t n, hf_arena_t *a, hf_xml_node_t **root)
{
    *root = NULL;
    pstate_t st = {0};
    st.a = a;
    st.p = XML_ParserCreateNS(NULL, '|');
    if (!st.p)
        return -ENOMEM;
    XML_SetUserData(st.p, &st);
    XML_SetElementHandler(st.p, on_start, on_end);
    XML_SetCharacterDataHandler(st.p, on_text);
    XML_SetStartDoctypeDeclHandler(st.p, on_doctype);
    enum XML_Status s = XML_Parse(st.p, p, (int)n, XML_TRUE);
    int rc = st.err ? st.err : (s == XML_STATUS_OK ? HF_OK : HF_E_INVAL);
    XML_ParserFree(st.p);
    if (rc == HF_OK && !st.root)
        rc = HF_E_INVAL;
    if (rc == HF_OK)
        *root = st.root;
    return rc;
}

hf_xml_node_t *hf_xml_child(const hf_xml_node_t *n, const char *name)
{
    for (hf_xml_node_t *c = n ? n->child : NULL; c; c = c->next)
        if (strcmp(c->name, name) == 0)
            return c;
    return NULL;
}

hf_xml_node_t *hf_xml_next(const hf_xml_node_t *n)
{
    for (hf_xml_node_t *c = n->next; c; c = c->next)
        if (strcmp(c->name, n->name) == 0)
            return c;
    return NULL;
}

const char *hf_xml_child_text(const hf_xml_node_t *n, const char *name)
{
    hf_xml_node_t *c = hf_xml_child(n, name);
    if (!c)
        return NULL;
    return c->text ? c->text : "";
}

/* ---- writer ---- */

void hf_xml_decl(hf_buf_t *b)
{
    hf_buf_puts(b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
}

/* The writer runs for every element of a listing page (about 8,000 for
 * 1,000 keys), so it appends with memcpy: formatting each tag through
 * printf was half of the server's CPU time in ListObjectsV2 (perf, 1,000-
 * key pages). Like hf_buf_printf, an append that does not fit leaves the
 * buffer as it was. */
static void put3(hf_buf_t *b, const char *x, size_t xn, const char *name, const char *y,
                 size_t yn)
{
    size_t nn = strlen(name);
    char *p = hf_buf_reserve(b, xn + nn + yn);
    if (!p)
        return;
    memcpy(p, x, xn);
    memcpy(p + xn, name, nn);
    memcpy(p + xn + nn, y, yn);
    hf_buf_commit(b, xn + nn + yn);
}

#define S3_NS " xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"

void hf_xml_open_ns(hf_buf_t *b, const char *name)
{
    put3(b, "<", 1, name, S3_NS, sizeof S3_NS - 1);
}

void hf_xml_open(hf_buf_t *b, const char *name)
{
    put3(b, "<", 1, name, ">", 1);
}

void hf_xml_close(hf_buf_t *b, const char *name)
{
    put3(b, "</", 2, name, ">", 1);
}

/* Bytes that need a character reference in text: controls, DEL, & < > " '.
 * Below 64 a bit mask answers in one shift. */
#define XML_SPECIAL_LOW                                                              \
    (0xFFFFFFFFULL | 1ULL << '"' | 1ULL << '&' | 1ULL << '\'' | 1ULL << '<' | 1ULL << '>')

static inline bool xml_special(unsigned char c)
{
    return c < 64 ? (XML_SPECIAL_LOW >> c) & 1 : c == 0x7f;
}

/* Length of the prefix of s[0..n) that needs no escaping. */
static size_t xml_plain(const char *s, size_t n)
{
    size_t i = 0;
    while (i < n && !xml_special((unsigned char)s[i]))
        i++;
    return i;
}

void hf_xml_text(hf_buf_t *b, const char *s, size_t n)
{
    while (n > 0) {
        size_t run = xml_plain(s, n);
        if (run)
            hf_buf_append(b, s, run);
        if (run == n)
            return;
        unsigned char c = (unsigned char)s[run];
        char num[8];
        const char *esc;
        switch (c) {
        case '&': esc = "&amp;"; break;
        case '<': esc = "&lt;"; break;
        case '>': esc = "&gt;"; break;
        case '"': esc = "&quot;"; break;
        case '\'': esc = "&apos;"; break;
        default:
            snprintf(num, sizeof num, "&#x%X;", c);
            esc = num;
        }
        hf_buf_puts(b, esc);
        s += run + 1;
        n -= run + 1;
    }
}

void hf_xml_elem(hf_buf_t *b, const char *name, const char *s, size_t n)
{
    size_t nn = strlen(name);
    if (xml_plain(s, n) == n) {
        /* The common case (keys, dates, ETags, numbers): one append. */
        char *p = hf_buf_reserve(b, 2 * nn + 5 + n);
        if (!p)
            return;
        *p++ = '<';
        memcpy(p, name, nn);
        p += nn;
        *p++ = '>';
        memcpy(p, s, n);
        p += n;
        *p++ = '<';
        *p++ = '/';
        memcpy(p, name, nn);
        p += nn;
        *p = '>';
        hf_buf_commit(b, 2 * nn + 5 + n);
        return;
    }
    hf_xml_open(b, name);
    hf_xml_text(b, s, n);
    hf_xml_close(b, name);
}

void hf_xml_elem_str(hf_buf_t *b, const char *name, const char *s)
{
    hf_xml_elem(b, name, s, strlen(s));
}

void hf_xml_elem_u64(hf_buf_t *b, const char *name, uint64_t v)
{
    char num[24], *e = num + sizeof num, *p = e;
    do {
        *--p = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    hf_xml_elem(b, name, p, (size_t)(e - p));
}

void hf_xml_elem_bool(hf_buf_t *b, const char *name, int v)
{
    hf_xml_elem_str(b, name, v ? "true" : "false");
}
