/*
 * policy.h -- bucket policies: parse and validate as S3 does, evaluate
 * requests against them, and tell whether one makes its bucket public.
 *
 * A bucket policy is the JSON document of PutBucketPolicy (AWS's IAM policy
 * grammar with a Principal). hf_policy_parse() checks it the way S3 does
 * before storing it, so that a policy holdfast accepts means what it would
 * mean on AWS, and one it refuses gets a MalformedPolicy message that says
 * which statement and which element is wrong. The parsed policy is
 * immutable: parse once when the policy is stored or loaded, then evaluate
 * it for every request, from any number of threads.
 *
 * Supported (docs/security.md#policy-evaluation has the details and the
 * AWS documentation each rule follows):
 *   Version "2012-10-17" (policy variables) or "2008-10-17" (the default:
 *   "${...}" is literal text); Id; Statement (one object or an array); Sid;
 *   Effect; Principal / NotPrincipal ("*", {"AWS": "*" | account id |
 *   arn:aws:iam::<account>:root | a user or role ARN}, {"CanonicalUser":
 *   id}, {"Service": ...}, {"Federated": ...}); Action / NotAction (S3
 *   actions, "*" and "?" wildcards, case-insensitive); Resource /
 *   NotResource (ARNs of this bucket and its objects, wildcards, policy
 *   variables, case-sensitive); Condition with the String*, Numeric*, Date*,
 *   Bool, BinaryEquals, IpAddress / NotIpAddress, Arn* and Null operators,
 *   their ...IfExists forms and the ForAnyValue: / ForAllValues: qualifiers.
 *
 * Threads: a parsed policy is read-only; eval and is_public may run
 * concurrently on one policy. Ownership: see each function.
 */
#ifndef HF_ACCESS_POLICY_H
#define HF_ACCESS_POLICY_H

#include "access/access.h"

#include <stdbool.h>
#include <stddef.h>

typedef struct hf_policy hf_policy_t;

/* Parse and validate the len bytes at json as a bucket policy for bucket
 * (every Resource must name that bucket or objects in it, as S3 requires).
 *
 * On success *out is a new policy (caller owns it, free with
 * hf_policy_free) and HF_OK is returned. On failure *out is NULL and err
 * (errlen bytes, may be NULL/0) holds a message for the client, e.g.
 *   Policy has invalid action "s3:GetObjekt" (statement 2, Sid "Read", Action)
 * returning:
 *   HF_E_INVAL   not a valid policy (S3: 400 MalformedPolicy, with err)
 *   HF_E_TOOBIG  more than HF_POLICY_MAX bytes (S3 answers this too with
 *                MalformedPolicy: "Policy exceeds the maximum allowed
 *                document size")
 *   -ENOMEM      out of memory
 */
int hf_policy_parse(const char *json, size_t len, const char *bucket, hf_policy_t **out, char *err,
                    size_t errlen);

/* Evaluate request r against policy p, following IAM's evaluation logic
 * within one policy: a statement applies when its principal, action and
 * resource match r and every condition holds; if any applying statement
 * is a Deny the answer is HF_ACCESS_DENY, else if any is an Allow
 * HF_ACCESS_ALLOW, else HF_ACCESS_NONE (the policy is silent; the caller
 * decides with ACLs and ownership). p may be NULL (HF_ACCESS_NONE).
 * r->action and r->resource are expected; a NULL one matches no Action or
 * Resource element (and so every NotAction / NotResource). The bucket of
 * r->resource is not checked against the policy's: the caller asks the
 * policy of the bucket the resource is in. Allocates nothing; uses about
 * 12 KiB of stack (policy variables expand into a bounded buffer). */
hf_access_t hf_policy_eval(const hf_policy_t *p, const hf_access_req_t *r);

/* true if p grants access to everyone, as S3 decides "public" for
 * GetBucketPolicyStatus and BlockPublicPolicy: some Allow statement names
 * the principal "*" and none of its conditions pins the caller to fixed
 * values of aws:SourceIp (no range wider than /8 for IPv4 or /32 for IPv6),
 * aws:SourceArn, aws:SourceVpc, aws:SourceVpce, aws:SourceOwner,
 * aws:SourceAccount, aws:userid, aws:PrincipalOrgID, aws:PrincipalAccount,
 * aws:PrincipalArn, s3:DataAccessPointArn or s3:DataAccessPointAccount.
 * A value with a wildcard or a policy variable is not fixed. */
bool hf_policy_is_public(const hf_policy_t *p);

/* Free p (NULL is fine). */
void hf_policy_free(hf_policy_t *p);

#endif /* HF_ACCESS_POLICY_H */
