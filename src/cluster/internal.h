/*
 * internal.h -- what the files of src/cluster share. Not used outside it.
 */
#ifndef HF_CLUSTER_INTERNAL_H
#define HF_CLUSTER_INTERNAL_H

#include <stddef.h>

/* Write a message into why (cap bytes; why may be NULL) and return
 * HF_E_INVAL: the one way this layer says what is wrong with an input. */
int hf_cluster_why(char *why, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
