/*
 * internal.h -- what the access layer's files share and nobody else sees.
 *
 * Patterns. Policy strings are compiled once, at parse time, into arrays of
 * 16-bit units so that matching never has to re-read the policy's escapes:
 *   0..255              a literal byte
 *   HF_PAT_STAR         '*' of IAM's wildcards: any run of bytes, '/' included
 *   HF_PAT_ONE          '?': exactly one byte
 *   HF_PAT_VAR + i      policy variable i (${aws:username}) of the policy,
 *                       replaced by the request's value before matching
 * A literal '*' (StringEquals, or ${*} in a pattern) is just the byte.
 *
 * Threads: pure functions.
 */
#ifndef HF_ACCESS_INTERNAL_H
#define HF_ACCESS_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
    HF_PAT_STAR = 256,
    HF_PAT_ONE = 257,
    HF_PAT_VAR = 258, /* + variable index; the index is below 65536 - 258 */
};

/* true if the n bytes at s match the pattern (pn units, no HF_PAT_VAR
 * units left). icase folds ASCII letters on both sides. Greedy with
 * backtracking to the last star: linear for the patterns policies use,
 * O(pn x n) at worst, both bounded by HF_POLICY_STRING_MAX. */
bool hf_pat_match(const uint16_t *pat, size_t pn, const char *s, size_t n, bool icase);

/* ASCII case-insensitive comparison of a (n bytes) and b (m bytes). */
bool hf_access_ieq(const char *a, size_t n, const char *b, size_t m);

/* Condition-key names as IAM compares them: the part before the first '/'
 * case-insensitively, the rest (a tag key) exactly. */
bool hf_access_key_eq(const char *a, size_t n, const char *b, size_t m);

#endif /* HF_ACCESS_INTERNAL_H */
