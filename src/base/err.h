/*
 * err.h -- holdfast's one error enum.
 *
 * Every function that can fail returns an int: HF_OK (0) on success or a
 * negative value. Failures of system calls pass through unchanged as
 * negative errno values (-EIO, -ENOSPC, ...), so no information is lost on
 * the way up. holdfast's own conditions live below -1000, away from errno.
 *
 * The enum is append-only: never renumber or remove a value; values are
 * logged and may be stored. hf_strerror() covers every value.
 *
 * The mapping from these to S3 error codes and HTTP statuses is in one table
 * in src/s3/errors.c; lower layers never invent HTTP statuses.
 */
#ifndef HF_BASE_ERR_H
#define HF_BASE_ERR_H

enum {
    HF_OK = 0,
    HF_E_INVAL = -1001,    /* malformed input or argument */
    HF_E_TOOBIG = -1002,   /* input exceeds a limit in limits.h */
    HF_E_NOTFOUND = -1003, /* no such record */
    HF_E_EXISTS = -1004,   /* record already exists */
    HF_E_CORRUPT = -1005,  /* stored data failed verification (checksum, format) */
    HF_E_PROTO = -1006,    /* peer violated the protocol (HTTP framing) */
    HF_E_TIMEOUT = -1007,  /* a deadline passed */
    HF_E_CLOSED = -1008,   /* peer closed the connection */
    HF_E_STATE = -1009,    /* component is in a state that refuses this (e.g. read-only after an I/O error) */
    HF_E_BUSY = -1010,     /* a bounded queue is full */
    HF_E_VERSION = -1011,  /* a stored format version this build cannot read */
    HF_E_META = -1012,     /* the metadata engine failed (details logged) */
    HF_E_DIGEST = -1013,   /* received data does not match a declared digest */
    HF_E_AUTH = -1014,     /* authentication failed (details in the auth result) */
    HF_E_CONFLICT = -1015, /* a precondition checked atomically did not hold */
    HF_E_NOSPACE = -1016,  /* storage is full beyond its reserve */
    HF_E_SHUTDOWN = -1017, /* the server is stopping */
    HF_E_PRECONDITION = -1018, /* a caller's condition (If-Match, If-None-Match) did not hold */
    HF_E_LOCKED = -1019,   /* Object Lock retention or a legal hold forbids the change */
    HF_E_DENIED = -1020,   /* access rules (ACLs, policies) refuse the request */
    HF_E_NOKEY = -1021,    /* an encryption key needed for this is not loaded */
};

/* A static, human-readable description of err (never NULL; unknown values
 * get a generic text). Thread-safe. */
const char *hf_strerror(int err);

#endif /* HF_BASE_ERR_H */
