/* err.c -- descriptions for the values of err.h. */
#include "base/err.h"

#include <string.h>

const char *hf_strerror(int err)
{
    switch (err) {
    case HF_OK: return "success";
    case HF_E_INVAL: return "invalid input";
    case HF_E_TOOBIG: return "input exceeds a limit";
    case HF_E_NOTFOUND: return "not found";
    case HF_E_EXISTS: return "already exists";
    case HF_E_CORRUPT: return "stored data failed verification";
    case HF_E_PROTO: return "protocol error";
    case HF_E_TIMEOUT: return "timed out";
    case HF_E_CLOSED: return "connection closed by peer";
    case HF_E_STATE: return "refused in the current state";
    case HF_E_BUSY: return "queue full";
    case HF_E_VERSION: return "unsupported format version";
    case HF_E_META: return "metadata engine error";
    case HF_E_DIGEST: return "data does not match its digest";
    case HF_E_AUTH: return "authentication failed";
    case HF_E_CONFLICT: return "a concurrent change conflicted";
    case HF_E_NOSPACE: return "storage full";
    case HF_E_SHUTDOWN: return "shutting down";
    case HF_E_PRECONDITION: return "a request condition did not hold";
    case HF_E_LOCKED: return "protected by Object Lock";
    case HF_E_DENIED: return "access denied";
    case HF_E_NOKEY: return "an encryption key needed for this is not loaded";
    default: break;
    }
    if (err < 0 && err > -4096)
        return strerror(-err); /* glibc's strerror is thread-safe for known values */
    return "unknown error";
}
