/*
 * admit.c -- admission control for S3 requests (guard/guard.h).
 *
 * The decision is taken after authentication and before the body is read:
 * authentication costs microseconds and reads no body, and deciding on a
 * verified access key means per-key fairness cannot be gamed by a client
 * that puts someone else's key id in an unsigned request. A request that
 * is not admitted gets S3's 503 SlowDown with Retry-After, which every SDK
 * treats as a throttle and retries with backoff.
 */
#include "s3/internal.h"

#include "base/err.h"

static bool client_gone(void *ctx)
{
    return hf_req_client_gone(ctx);
}

int s3_admit(s3req_t *q)
{
    if (!q->s3->guard)
        return 0;
    int why = HF_GUARD_SHED_FULL;
    int rc = hf_guard_enter(q->s3->guard, q->auth.access_key, client_gone, q->r, &q->ticket, &why);
    if (rc == HF_OK)
        return 0;
    q->shed = true;
    if (rc == HF_E_CLOSED) {
        /* Nobody is waiting for the answer: close without one. */
        q->failed = true;
        hf_resp_abort(q->r);
        return -1;
    }
    if (why == HF_GUARD_SHED_KEY)
        return s3_fail(q, S3E_SlowDown,
                       "Please reduce your request rate: this access key has as many requests "
                       "in flight as one key may.");
    return s3_fail(q, S3E_SlowDown, NULL);
}

void s3_admit_leave(s3req_t *q)
{
    if (q->s3->guard)
        hf_guard_leave(q->s3->guard, &q->ticket);
}
