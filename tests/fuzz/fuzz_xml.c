/*
 * fuzz_xml.c -- the XML request-body reader (s3/xml.c, over expat).
 *
 * Properties: memory safety, no unbounded work (depth and node caps), and
 * the tree is well formed: every node's parent links back, text lengths
 * match, names are non-empty.
 */
#include "base/arena.h"
#include "base/err.h"
#include "s3/xml.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static size_t walk(const hf_xml_node_t *n, int depth)
{
    if (depth > HF_XML_DEPTH_MAX + 1 || !n->name || !n->name[0])
        abort();
    if (n->text && strlen(n->text) > n->textlen)
        abort();
    size_t count = 1;
    for (const hf_xml_node_t *c = n->child; c; c = c->next) {
        if (c->parent != n)
            abort();
        count += walk(c, depth + 1);
    }
    return count;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static hf_arena_t a;
    static int init;
    if (!init) {
        hf_arena_init(&a, 64 * 1024 * 1024);
        init = 1;
    }
    hf_xml_node_t *root = NULL;
    int rc = hf_xml_parse((const char *)data, size, &a, &root);
    if (rc == HF_OK) {
        if (!root || walk(root, 1) > HF_XML_NODES_MAX)
            abort();
        /* The accessors the S3 handlers use. */
        for (hf_xml_node_t *o = hf_xml_child(root, "Object"); o; o = hf_xml_next(o))
            (void)hf_xml_child_text(o, "Key");
        for (hf_xml_node_t *o = hf_xml_child(root, "Part"); o; o = hf_xml_next(o))
            (void)hf_xml_child_text(o, "PartNumber");
    } else if (rc != HF_E_INVAL && rc != -12 /* ENOMEM */) {
        abort();
    }
    hf_arena_reset(&a);
    return 0;
}
