/* errors.c -- the S3 error table; see errors.h. Codes, statuses and
 * messages follow the "Error responses" list of the Amazon S3 API
 * reference; the context elements (ctx) are those AWS writes into each
 * code's document, as captured from AWS by SDK and peer issue trackers
 * (docs/compatibility.md#error-documents lists them and their sources). */
#include "s3/errors.h"

#include "auth/sigv4.h"
#include "base/err.h"

#include <errno.h>

static const hf_s3_errinfo_t table[S3E_COUNT] = {
    [S3E_OK] = {"OK", 200, "OK"},
    [S3E_AccessDenied] = {"AccessDenied", 403, "Access Denied"},
    [S3E_AuthorizationHeaderMalformed] = {"AuthorizationHeaderMalformed", 400,
                                          "The authorization header is malformed."},
    [S3E_AuthorizationQueryParametersError] = {"AuthorizationQueryParametersError", 400,
                                               "The authorization query parameters are malformed."},
    [S3E_BadDigest] = {"BadDigest", 400,
                       "The Content-MD5 or checksum value that you specified did not match what the server received."},
    [S3E_BucketAlreadyExists] = {"BucketAlreadyExists", 409,
                                 "The requested bucket name is not available. The bucket namespace is shared by all users of the system. Please select a different name and try again.", S3X_BUCKET},
    [S3E_BucketAlreadyOwnedByYou] = {"BucketAlreadyOwnedByYou", 409,
                                     "Your previous request to create the named bucket succeeded and you already own it.", S3X_BUCKET},
    [S3E_BucketNotEmpty] = {"BucketNotEmpty", 409, "The bucket you tried to delete is not empty", S3X_BUCKET},
    [S3E_EntityTooLarge] = {"EntityTooLarge", 400,
                            "Your proposed upload exceeds the maximum allowed object size."},
    [S3E_EntityTooSmall] = {"EntityTooSmall", 400,
                            "Your proposed upload is smaller than the minimum allowed object size."},
    [S3E_IncompleteBody] = {"IncompleteBody", 400,
                            "You did not provide the number of bytes specified by the Content-Length HTTP header."},
    [S3E_InternalError] = {"InternalError", 500,
                           "We encountered an internal error. Please try again."},
    [S3E_InvalidAccessKeyId] = {"InvalidAccessKeyId", 403,
                                "The AWS access key Id you provided does not exist in our records."},
    [S3E_InvalidArgument] = {"InvalidArgument", 400, "Invalid Argument"},
    [S3E_InvalidBucketName] = {"InvalidBucketName", 400, "The specified bucket is not valid.", S3X_BUCKET},
    [S3E_InvalidDigest] = {"InvalidDigest", 400, "The Content-MD5 you specified is not valid."},
    [S3E_InvalidPart] = {"InvalidPart", 400,
                         "One or more of the specified parts could not be found. The part may not have been uploaded, or the specified entity tag may not match the part's entity tag.", S3X_UPLOAD},
    [S3E_InvalidPartOrder] = {"InvalidPartOrder", 400,
                              "The list of parts was not in ascending order. Parts must be ordered by part number.", S3X_UPLOAD},
    [S3E_InvalidRange] = {"InvalidRange", 416, "The requested range is not satisfiable"},
    [S3E_InvalidRequest] = {"InvalidRequest", 400, "Invalid Request"},
    [S3E_InvalidURI] = {"InvalidURI", 400, "Couldn't parse the specified URI."},
    [S3E_KeyTooLongError] = {"KeyTooLongError", 400, "Your key is too long"},
    [S3E_MalformedXML] = {"MalformedXML", 400,
                          "The XML you provided was not well-formed or did not validate against our published schema."},
    [S3E_MetadataTooLarge] = {"MetadataTooLarge", 400,
                              "Your metadata headers exceed the maximum allowed metadata size."},
    [S3E_MethodNotAllowed] = {"MethodNotAllowed", 405,
                              "The specified method is not allowed against this resource."},
    [S3E_MissingContentLength] = {"MissingContentLength", 411,
                                  "You must provide the Content-Length HTTP header."},
    [S3E_NoSuchBucket] = {"NoSuchBucket", 404, "The specified bucket does not exist", S3X_BUCKET},
    [S3E_NoSuchKey] = {"NoSuchKey", 404, "The specified key does not exist.", S3X_KEY},
    [S3E_NoSuchUpload] = {"NoSuchUpload", 404,
                          "The specified multipart upload does not exist. The upload ID might be invalid, or the multipart upload might have been aborted or completed.", S3X_UPLOAD},
    [S3E_NotImplemented] = {"NotImplemented", 501,
                            "A header or query you provided implies functionality that is not implemented."},
    [S3E_PreconditionFailed] = {"PreconditionFailed", 412,
                                "At least one of the preconditions you specified did not hold"},
    [S3E_RequestTimeTooSkewed] = {"RequestTimeTooSkewed", 403,
                                  "The difference between the request time and the current time is too large."},
    [S3E_RequestTimeout] = {"RequestTimeout", 400,
                            "Your socket connection to the server was not read from or written to within the timeout period."},
    [S3E_SignatureDoesNotMatch] = {"SignatureDoesNotMatch", 403,
                                   "The request signature we calculated does not match the signature you provided. Check your key and signing method."},
    [S3E_SlowDown] = {"SlowDown", 503, "Please reduce your request rate."},
    [S3E_XAmzContentSHA256Mismatch] = {"XAmzContentSHA256Mismatch", 400,
                                       "The provided 'x-amz-content-sha256' header does not match what was computed."},
    [S3E_ServiceUnavailable] = {"ServiceUnavailable", 503,
                                "The service is unavailable. Please retry."},
    [S3E_InsufficientStorage] = {"InsufficientStorage", 507,
                                 "The server does not have enough free storage to complete the request."},
    [S3E_IllegalLocationConstraintException] = {"IllegalLocationConstraintException", 400,
                                                "The location constraint is incompatible with the region this server serves."},
    [S3E_InvalidStorageClass] = {"InvalidStorageClass", 400,
                                 "The storage class you specified is not valid"},
    [S3E_MalformedACLError] = {"MalformedACLError", 400,
                               "The XML you provided was not well-formed or did not validate against our published schema"},
    [S3E_BadRequest] = {"BadRequest", 400, "Bad Request"},
    [S3E_RequestHeaderSectionTooLarge] = {"RequestHeaderSectionTooLarge", 400,
                                          "Your request header section exceeds the maximum allowed size."},
    [S3E_NoSuchVersion] = {"NoSuchVersion", 404,
                           "The version ID specified in the request does not match an existing version.", S3X_KEY | S3X_VERSION},
    [S3E_NotModified] = {"NotModified", 304, "Not Modified"},
    [S3E_InvalidEncodingType] = {"InvalidArgument", 400, "Invalid Encoding Method specified in Request"},
    [S3E_MissingSecurityHeader] = {"MissingSecurityHeader", 400,
                                   "Your request is missing a required header."},
    [S3E_InvalidObjectState] = {"InvalidObjectState", 403,
                                "The operation is not valid for the current state of the object."},
    [S3E_LengthRequired] = {"MissingContentLength", 411, "You must provide the Content-Length HTTP header."},
    [S3E_NoSuchBucketPolicy] = {"NoSuchBucketPolicy", 404, "The bucket policy does not exist", S3X_BUCKET},
    [S3E_NoSuchCORSConfiguration] = {"NoSuchCORSConfiguration", 404,
                                     "The CORS configuration does not exist", S3X_BUCKET},
    [S3E_TooManyBuckets] = {"TooManyBuckets", 400,
                            "You have attempted to create more buckets than allowed."},
    [S3E_InvalidBucketState] = {"InvalidBucketState", 409,
                                "The request is not valid with the current state of the bucket."},
    [S3E_InvalidTag] = {"InvalidTag", 400, "The tag provided was not a valid tag."},
    [S3E_AccessControlListNotSupported] = {"AccessControlListNotSupported", 400,
                                           "The bucket does not allow ACLs"},
    [S3E_InvalidBucketAclWithObjectOwnership] = {"InvalidBucketAclWithObjectOwnership", 400,
                                                 "Bucket cannot have ACLs set with ObjectOwnership's BucketOwnerEnforced setting"},
    [S3E_OwnershipControlsNotFoundError] = {"OwnershipControlsNotFoundError", 404,
                                            "The bucket ownership controls were not found", S3X_BUCKET},
    [S3E_NoSuchPublicAccessBlockConfiguration] = {"NoSuchPublicAccessBlockConfiguration", 404,
                                                  "The public access block configuration was not found", S3X_BUCKET},
    [S3E_UnresolvableGrantByEmailAddress] = {"UnresolvableGrantByEmailAddress", 400,
                                             "The email address you provided does not match any account on record."},
    [S3E_MalformedPolicy] = {"MalformedPolicy", 400, "Policies must be valid JSON and the first byte must be '{'"},
    [S3E_InvalidBucketAclWithBlockPublicAccessError] = {"InvalidBucketAclWithBlockPublicAccessError", 400,
                                                         "Bucket cannot have public ACLs set with BlockPublicAccess enabled"},
    [S3E_MaxPostPreDataLengthExceeded] = {"MaxPostPreDataLengthExceeded", 400,
                                          "Your POST request fields preceding the upload file were too large."},
    [S3E_MalformedPOSTRequest] = {"MalformedPOSTRequest", 400,
                                  "The body of your POST request is not well-formed multipart/form-data."},
    [S3E_UnexpectedContent] = {"UnexpectedContent", 400, "This request does not support content"},
    /* 404 as S3 answered it before every bucket had a default (the error
     * list says 400); only a server started with --sse-default none gives
     * it. */
    [S3E_ServerSideEncryptionConfigurationNotFoundError] = {
        "ServerSideEncryptionConfigurationNotFoundError", 404,
        "The server side encryption configuration was not found"},
    /* The wording S3 sends (its error list words it slightly otherwise). */
    [S3E_InvalidEncryptionAlgorithmError] = {"InvalidEncryptionAlgorithmError", 400,
                                             "The Encryption request you specified is not valid. Supported value: AES256."},
    [S3E_InvalidPolicyDocument] = {"InvalidPolicyDocument", 400,
                                   "The content of the form does not meet the conditions specified in the policy document."},
    [S3E_NoSuchTagSet] = {"NoSuchTagSet", 404, "The TagSet does not exist", S3X_BUCKET},
    [S3E_NoSuchLifecycleConfiguration] = {"NoSuchLifecycleConfiguration", 404,
                                          "The lifecycle configuration does not exist", S3X_BUCKET},
    [S3E_ObjectLockConfigurationNotFound] = {"ObjectLockConfigurationNotFoundError", 404,
                                             "Object Lock configuration does not exist for this bucket", S3X_BUCKET},
    [S3E_NoSuchObjectLockConfiguration] = {"NoSuchObjectLockConfiguration", 404,
                                           "The specified object does not have a ObjectLock configuration"},
    [S3E_ConditionalRequestConflict] = {"ConditionalRequestConflict", 409,
                                        "The conditional request cannot succeed due to a conflicting operation against this resource."},
    [S3E_InvalidPartNumber] = {"InvalidPartNumber", 416, "The requested partnumber is not satisfiable"},
    [S3E_AccessForbidden] = {"AccessForbidden", 403, "CORSResponse: This CORS request is not allowed."},
    [S3E_ObjectNotInActiveTierError] = {"ObjectNotInActiveTierError", 403,
                                        "The source object of the COPY action is not in the active tier."},
    [S3E_MalformedTrailerError] = {"MalformedTrailerError", 400,
                                   "The request contained trailing data that was not well-formed or did not conform to our published schema."},
};

const hf_s3_errinfo_t *hf_s3_errinfo(hf_s3_err_t e)
{
    if ((int)e <= 0 || e >= S3E_COUNT || !table[e].code)
        return &table[S3E_InternalError];
    return &table[e];
}

hf_s3_err_t hf_s3_err_from(int err)
{
    switch (err) {
    case HF_OK: return S3E_OK;
    case HF_E_TIMEOUT: return S3E_RequestTimeout;
    case HF_E_CLOSED: return S3E_IncompleteBody;
    case HF_E_PROTO: return S3E_IncompleteBody;
    case HF_E_TOOBIG: return S3E_EntityTooLarge;
    case HF_E_NOSPACE:
    case -ENOSPC:
    case -EDQUOT: return S3E_InsufficientStorage;
    case HF_E_BUSY: return S3E_SlowDown;
    case HF_E_STATE:
    case HF_E_SHUTDOWN: return S3E_ServiceUnavailable;
    case HF_E_PRECONDITION: return S3E_PreconditionFailed;
    case HF_E_LOCKED: return S3E_AccessDenied;
    case HF_E_DENIED: return S3E_AccessDenied;
    case HF_E_CONFLICT: return S3E_ConditionalRequestConflict;
    default: return S3E_InternalError;
    }
}

hf_s3_err_t hf_s3_err_from_auth(int st, int for_query)
{
    switch (st) {
    case HF_AUTH_OK: return S3E_OK;
    case HF_AUTH_ERR_HEADER_MALFORMED: return S3E_AuthorizationHeaderMalformed;
    case HF_AUTH_ERR_QUERY_MALFORMED: return S3E_AuthorizationQueryParametersError;
    case HF_AUTH_ERR_UNSUPPORTED: return S3E_InvalidRequest;
    case HF_AUTH_ERR_SIGNATURE: return S3E_SignatureDoesNotMatch;
    case HF_AUTH_ERR_SKEWED: return S3E_RequestTimeTooSkewed;
    case HF_AUTH_ERR_EXPIRED: return S3E_AccessDenied;
    case HF_AUTH_ERR_NO_DATE: return S3E_AccessDenied;
    case HF_AUTH_ERR_CONTENT_SHA256: return S3E_InvalidArgument;
    case HF_AUTH_ERR_NO_CONTENT_SHA256: return S3E_InvalidRequest;
    case HF_AUTH_ERR_REGION:
        return for_query ? S3E_AuthorizationQueryParametersError : S3E_AuthorizationHeaderMalformed;
    case HF_AUTH_ERR_UNSIGNED_HEADER: return S3E_AccessDenied;
    case HF_AUTH_ERR_BOTH: return S3E_InvalidArgument;
    case HF_AUTH_ERR_INVALID_ARGUMENT: return S3E_InvalidArgument;
    case HF_AUTH_ERR_DENIED: return S3E_AccessDenied;
    default: return S3E_InternalError;
    }
}
