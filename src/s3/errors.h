/*
 * errors.h -- S3 error codes: the one table that maps a condition to the
 * <Code>, HTTP status and default message S3 uses for it. Handlers name an
 * hf_s3_err; they never write a status code or code string themselves.
 *
 * The enum is append-only (values may appear in logs and metrics).
 */
#ifndef HF_S3_ERRORS_H
#define HF_S3_ERRORS_H

typedef enum hf_s3_err {
    S3E_OK = 0,
    S3E_AccessDenied,
    S3E_AuthorizationHeaderMalformed,
    S3E_AuthorizationQueryParametersError,
    S3E_BadDigest,
    S3E_BucketAlreadyExists,
    S3E_BucketAlreadyOwnedByYou,
    S3E_BucketNotEmpty,
    S3E_EntityTooLarge,
    S3E_EntityTooSmall,
    S3E_IncompleteBody,
    S3E_InternalError,
    S3E_InvalidAccessKeyId,
    S3E_InvalidArgument,
    S3E_InvalidBucketName,
    S3E_InvalidDigest,
    S3E_InvalidPart,
    S3E_InvalidPartOrder,
    S3E_InvalidRange,
    S3E_InvalidRequest,
    S3E_InvalidURI,
    S3E_KeyTooLongError,
    S3E_MalformedXML,
    S3E_MetadataTooLarge,
    S3E_MethodNotAllowed,
    S3E_MissingContentLength,
    S3E_NoSuchBucket,
    S3E_NoSuchKey,
    S3E_NoSuchUpload,
    S3E_NotImplemented,
    S3E_PreconditionFailed,
    S3E_RequestTimeTooSkewed,
    S3E_RequestTimeout,
    S3E_SignatureDoesNotMatch,
    S3E_SlowDown,
    S3E_XAmzContentSHA256Mismatch,
    S3E_ServiceUnavailable,
    S3E_InsufficientStorage,
    S3E_IllegalLocationConstraintException,
    S3E_InvalidStorageClass,
    S3E_MalformedACLError,
    S3E_BadRequest,
    S3E_RequestHeaderSectionTooLarge,
    S3E_NoSuchVersion,
    S3E_NotModified,
    S3E_InvalidEncodingType,
    S3E_MissingSecurityHeader,
    S3E_InvalidObjectState,
    S3E_LengthRequired,
    S3E_TooManyBuckets,
    S3E_NoSuchBucketPolicy,
    S3E_NoSuchCORSConfiguration,
    S3E_InvalidBucketState,
    S3E_InvalidTag,
    S3E_NoSuchTagSet,
    S3E_NoSuchLifecycleConfiguration,
    S3E_ObjectLockConfigurationNotFound,
    S3E_NoSuchObjectLockConfiguration,
    S3E_ConditionalRequestConflict,
    S3E_InvalidPartNumber,
    S3E_AccessForbidden,
    S3E_ObjectNotInActiveTierError,
    S3E_AccessControlListNotSupported,
    S3E_InvalidBucketAclWithObjectOwnership,
    S3E_OwnershipControlsNotFoundError,
    S3E_NoSuchPublicAccessBlockConfiguration,
    S3E_UnresolvableGrantByEmailAddress,
    S3E_MalformedPolicy,
    S3E_InvalidPolicyDocument,
    S3E_UnexpectedContent,
    S3E_InvalidBucketAclWithBlockPublicAccessError,
    S3E_MaxPostPreDataLengthExceeded,
    S3E_MalformedPOSTRequest,
    S3E_MalformedTrailerError,
    S3E_ServerSideEncryptionConfigurationNotFoundError,
    S3E_InvalidEncryptionAlgorithmError,
    S3E_COUNT
} hf_s3_err_t;

/* Elements S3 adds to an error document from the request itself (the
 * table's ctx bits). They follow <Message>, in this order, before the
 * elements the code that raised the error gave (s3_err_elem in
 * s3/internal.h), and are left out when that code gave one of the same
 * name or the request has no such part. */
enum {
    S3X_BUCKET = 1 << 0,  /* <BucketName>: the request's bucket */
    S3X_KEY = 1 << 1,     /* <Key>: the request's object key */
    S3X_UPLOAD = 1 << 2,  /* <UploadId>: the uploadId query parameter */
    S3X_VERSION = 1 << 3, /* <VersionId>: the versionId query parameter */
};

typedef struct hf_s3_errinfo {
    const char *code;    /* <Code> */
    int status;          /* HTTP status */
    const char *message; /* default <Message> */
    unsigned ctx;        /* S3X_* elements this code carries */
} hf_s3_errinfo_t;

const hf_s3_errinfo_t *hf_s3_errinfo(hf_s3_err_t e);

/* The S3 error for a failed internal operation (hf_err value), for the
 * places where a lower layer's failure reaches the client. */
hf_s3_err_t hf_s3_err_from(int hf_err);

/* The S3 error for an auth status (auth/sigv4.h); for_query selects the
 * query-string variant where S3 has one. */
hf_s3_err_t hf_s3_err_from_auth(int auth_status, int for_query);

#endif
