/*
 * xml.h -- the XML S3 speaks: a writer for responses and a small reader
 * for request bodies.
 *
 * Writer: appends to a capped hf_buf_t; text is escaped (& < > " ') and
 * bytes that XML 1.0 cannot carry (control characters) are written as
 * numeric character references, the way S3 does for such keys.
 *
 * Reader: expat parses the whole (already size-capped) body into a tree of
 * elements with their text, in the caller's arena. Namespaces are stripped
 * to local names (S3 bodies use the default namespace, some clients a
 * prefix). DOCTYPE declarations are refused outright, so no entity tricks
 * reach us; depth and element count are bounded.
 *
 * Ownership: tree nodes and strings live in the arena passed to parse.
 * Threads: pure over caller-owned state.
 */
#ifndef HF_S3_XML_H
#define HF_S3_XML_H

#include "base/arena.h"
#include "base/buf.h"

#include <stddef.h>
#include <stdint.h>

#define HF_XML_DEPTH_MAX 16
#define HF_XML_NODES_MAX 50000 /* 10000 parts x (Part, PartNumber, ETag, checksums) */

typedef struct hf_xml_node hf_xml_node_t;
struct hf_xml_node {
    const char *name;      /* local name */
    char *text;            /* concatenated character data (NUL-terminated) */
    size_t textlen;
    hf_xml_node_t *parent;
    hf_xml_node_t *child;  /* first child */
    hf_xml_node_t *last;   /* last child */
    hf_xml_node_t *next;   /* next sibling */
};

/* Parse p[0..n) into a tree rooted at *root. Returns HF_OK, HF_E_INVAL
 * (not well-formed, DOCTYPE, over limits: S3 says MalformedXML) or -ENOMEM. */
int hf_xml_parse(const char *p, size_t n, hf_arena_t *a, hf_xml_node_t **root);

/* First child element called name, or NULL. */
hf_xml_node_t *hf_xml_child(const hf_xml_node_t *n, const char *name);
/* Next sibling after n with the same name, or NULL. */
hf_xml_node_t *hf_xml_next(const hf_xml_node_t *n);
/* Text of child name (NULL if absent). */
const char *hf_xml_child_text(const hf_xml_node_t *n, const char *name);

/* ---- writer ---- */

/* '<?xml version="1.0" encoding="UTF-8"?>\n' */
void hf_xml_decl(hf_buf_t *b);
/* <name xmlns="http://s3.amazonaws.com/doc/2006-03-01/"> */
void hf_xml_open_ns(hf_buf_t *b, const char *name);
void hf_xml_open(hf_buf_t *b, const char *name);
void hf_xml_close(hf_buf_t *b, const char *name);
/* Escaped text. */
void hf_xml_text(hf_buf_t *b, const char *s, size_t n);
/* <name>escaped text</name> */
void hf_xml_elem(hf_buf_t *b, const char *name, const char *s, size_t n);
void hf_xml_elem_str(hf_buf_t *b, const char *name, const char *s);
void hf_xml_elem_u64(hf_buf_t *b, const char *name, uint64_t v);
void hf_xml_elem_bool(hf_buf_t *b, const char *name, int v);

#endif
