/*
 * postpolicy.h -- the policy document of a POST Object (browser form) upload.
 *
 * A browser upload carries a base64-encoded JSON policy in the form field
 * "policy", signed by whoever handed out the form:
 *
 *   { "expiration": "2030-01-01T12:00:00.000Z",
 *     "conditions": [ {"bucket": "photos"},
 *                     ["starts-with", "$key", "uploads/"],
 *                     ["eq", "$Content-Type", "image/png"],
 *                     ["content-length-range", 1, 10485760] ] }
 *
 * hf_postpolicy_parse() decodes and validates it; hf_postpolicy_check()
 * checks a submitted form against it as S3 does ("Creating a POST policy",
 * S3 API Reference): the policy has not expired, every condition holds,
 * and every form field is named by some condition, except the fields S3
 * exempts (x-amz-signature, file, policy, and any field whose name starts
 * with x-ignore-). Field names compare case-insensitively, values exactly.
 * A condition on a field the form does not have sees the empty string, so
 * ["starts-with", "$success_action_redirect", ""] holds with or without it.
 * The signature over the policy is the caller's (auth layer) to verify.
 *
 * The caller applies ${filename} to the key field before checking, as S3
 * expands form variables before it validates the policy.
 *
 * Threads: a parsed policy is read-only and may be checked concurrently.
 */
#ifndef HF_ACCESS_POSTPOLICY_H
#define HF_ACCESS_POSTPOLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct hf_postpolicy hf_postpolicy_t;

/* The verdict on a form, and the S3 error each failure answers with. */
typedef enum hf_postpolicy_code {
    HF_POSTPOLICY_OK = 0,
    HF_POSTPOLICY_EXPIRED,   /* 403 AccessDenied "Invalid according to Policy: Policy expired." */
    HF_POSTPOLICY_DENIED,    /* 403 AccessDenied "Invalid according to Policy: Policy Condition
                              * failed: [...]" or "...: Extra input fields: ..." */
    HF_POSTPOLICY_TOO_LARGE, /* 400 EntityTooLarge (content-length-range) */
    HF_POSTPOLICY_TOO_SMALL, /* 400 EntityTooSmall (content-length-range) */
} hf_postpolicy_code_t;

/* One form field as submitted. */
typedef struct hf_postpolicy_field {
    const char *name;  /* NUL-terminated, as sent */
    const char *value; /* value_len bytes */
    size_t value_len;
} hf_postpolicy_field_t;

/* Decode (base64; line breaks and spaces that some encoders insert are
 * skipped) and parse the len bytes of b64, the "policy" field's value.
 * HF_OK with *out set (caller owns it, free with hf_postpolicy_free);
 * HF_E_INVAL (S3: 400 InvalidPolicyDocument) with msg saying why; -ENOMEM.
 * More than HF_POSTPOLICY_MAX bytes is HF_E_INVAL too. */
int hf_postpolicy_parse(const char *b64, size_t len, hf_postpolicy_t **out, char *msg,
                        size_t msglen);

/* Check a form for bucket (what {"bucket": ...} compares with) against p
 * at time now (ns since epoch). fields are the form's fields other than
 * the file; content_length is the file's size, or -1 if not known yet (its
 * range is then checked later by hf_postpolicy_check_length). Conditions
 * are checked in the policy's order; the first failure is returned, with
 * S3's message in msg. */
hf_postpolicy_code_t hf_postpolicy_check(const hf_postpolicy_t *p, const char *bucket,
                                         const hf_postpolicy_field_t *fields, size_t nfields,
                                         int64_t content_length, int64_t now, char *msg,
                                         size_t msglen);

/* Check only the file's size against every content-length-range. */
hf_postpolicy_code_t hf_postpolicy_check_length(const hf_postpolicy_t *p, uint64_t length,
                                                char *msg, size_t msglen);

/* The tightest size bounds the policy sets (0 and UINT64_MAX without a
 * range), so a caller can stop reading an upload that is already too big.
 * false if the ranges leave no allowed size. */
bool hf_postpolicy_length_bounds(const hf_postpolicy_t *p, uint64_t *min, uint64_t *max);

/* When the policy expires, ns since epoch (INT64_MAX for dates past 2262). */
int64_t hf_postpolicy_expiration(const hf_postpolicy_t *p);

void hf_postpolicy_free(hf_postpolicy_t *p);

#endif /* HF_ACCESS_POSTPOLICY_H */
