/*
 * access.h -- the request context that access decisions are made over.
 *
 * The access layer decides, from policies alone, whether a request may do
 * what it asks. It does no I/O and knows nothing of HTTP or storage: the
 * S3 layer describes each request in an hf_access_req_t (who, which action,
 * on which resource, under which conditions) and asks a policy about it
 * (policy.h). Bucket policies, POST Object policies (postpolicy.h) and the
 * table of IAM actions per S3 operation (actions.h) live in this layer.
 *
 * Condition keys. A policy's Condition block names keys such as
 * aws:SourceIp or s3:prefix; hf_access_lookup() answers them in this order:
 *
 *   1. r->keys, the caller's list (first entry with the name wins). Names
 *      compare as IAM compares them: case-insensitively, except the part
 *      after a '/' (the tag key in s3:ExistingObjectTag/<key>), which is
 *      compared exactly.
 *   2. keys derived from the fields below:
 *        aws:SourceIp          source_ip, when its family is not 0
 *        aws:SecureTransport   secure_transport ("true" / "false"), always
 *        aws:CurrentTime       now as ISO 8601, when now is not 0
 *        aws:EpochTime         now in whole seconds, when now is not 0
 *        aws:PrincipalType     "Anonymous", "Account" (an account's root) or "User"
 *        aws:PrincipalArn      principal.arn (not for anonymous requests)
 *        aws:PrincipalAccount  principal.account
 *        aws:username          the user name in principal.arn (IAM users only)
 *        aws:userid            principal.userid; "anonymous" for anonymous
 *                              requests; the account id for an account's root
 *   Any other key is absent unless the caller lists it.
 *
 * A key listed with nvalues == 0 is absent: the caller can thereby hide a
 * derived key. Multivalued keys (s3:RequestObjectTagKeys, aws:TagKeys) list
 * all their values.
 *
 * Ownership: every pointer in these structs is borrowed from the caller and
 * only read during the call it is passed to. Threads: pure functions.
 */
#ifndef HF_ACCESS_ACCESS_H
#define HF_ACCESS_ACCESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The outcome of asking one policy about one request. */
typedef enum hf_access {
    HF_ACCESS_NONE = 0,  /* no statement applies: the policy neither allows nor denies */
    HF_ACCESS_ALLOW = 1, /* an Allow statement applies and no Deny does */
    HF_ACCESS_DENY = 2,  /* an explicit Deny applies (it wins over every Allow) */
} hf_access_t;

/* An IP address: family 4 (addr[0..3]) or 6 (addr[0..15]), network byte
 * order; family 0 means unknown. */
typedef struct hf_access_ip {
    int family;
    uint8_t addr[16];
} hf_access_ip_t;

/* Who is asking. */
typedef struct hf_access_principal {
    bool anonymous;           /* no credentials: only "*" principals match */
    const char *account;      /* account id ("123456789012"), or NULL */
    const char *arn;          /* "arn:aws:iam::<account>:user/<name>", or
                               * "arn:aws:iam::<account>:root" for the
                               * account itself; NULL if none */
    const char *canonical_id; /* S3 canonical user id (64 hex digits), or NULL */
    const char *userid;       /* value of aws:userid, or NULL (see above) */
} hf_access_principal_t;

/* One condition key and its values. */
typedef struct hf_access_kv {
    const char *key;           /* "s3:prefix", "s3:ExistingObjectTag/project" */
    const char *const *values; /* nvalues NUL-terminated strings */
    size_t nvalues;            /* 0: the key is absent */
} hf_access_kv_t;

/* One request, as policies see it. */
typedef struct hf_access_req {
    hf_access_principal_t principal;
    const char *action;        /* "s3:GetObject" (actions.h gives the names) */
    const char *resource;      /* "arn:aws:s3:::bucket" or "arn:aws:s3:::bucket/key"
                                * (hf_access_resource_arn builds it) */
    hf_access_ip_t source_ip;  /* the client's address (aws:SourceIp) */
    bool secure_transport;     /* request came over TLS (aws:SecureTransport) */
    int64_t now;               /* ns since epoch (hf_time_now); 0: no time keys */
    const hf_access_kv_t *keys; /* further condition keys the caller knows */
    size_t nkeys;
} hf_access_req_t;

/* Parse a textual IPv4 ("192.0.2.7") or IPv6 ("2001:db8::1") address; an
 * IPv4-mapped IPv6 address (::ffff:192.0.2.7) becomes family 4, as the
 * client really is. HF_E_INVAL on anything else (out is then family 0). */
int hf_access_ip_parse(const char *s, size_t n, hf_access_ip_t *out);

/* "arn:aws:s3:::<bucket>" (key NULL) or "arn:aws:s3:::<bucket>/<key>" into
 * out (cap bytes, NUL-terminated). Returns the length, or HF_E_TOOBIG if it
 * does not fit (13 + bucket + 1 + key + 1 bytes are needed). */
int hf_access_resource_arn(char *out, size_t cap, const char *bucket, const char *key);

/* The values of condition key name for request r, looked up as described
 * at the top of this file. Sets *values and returns their number (0 if the
 * key is absent). Derived keys' strings are built in scratch, one slot per
 * derived key, so values of different keys looked up with one scratch stay
 * valid together, for as long as scratch and r do. */
enum { HF_ACCESS_DERIVED_KEYS = 9 };
typedef struct hf_access_scratch {
    char ip[48];     /* INET6_ADDRSTRLEN */
    char epoch[24];
    char iso[32];
    const char *slot[HF_ACCESS_DERIVED_KEYS];
} hf_access_scratch_t;
size_t hf_access_lookup(const hf_access_req_t *r, const char *name, size_t namelen,
                        hf_access_scratch_t *scratch, const char *const **values);

#endif /* HF_ACCESS_ACCESS_H */
