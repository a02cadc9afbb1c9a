#!/usr/bin/python3
"""boto3 as Debian ships it (python3-boto3 and python3-botocore) against a
real holdfast server, with the client's defaults.

Run by tests/clients/boto3.sh. The client gets what a user must give to
point boto3 at another endpoint -- endpoint_url, the keys and a region --
and nothing else: botocore picks path-style addressing itself for an IP
endpoint, signs with SigV4, retries as its "legacy" mode does, and
s3transfer's upload_file/download_file/copy use their default thresholds
(multipart from 8 MiB, in 8 MiB parts). Covers create/head bucket,
ListBuckets, put/get/head of a small object, upload_file (multipart) and
download_file (ranged GETs), listing with a delimiter, managed and plain
copies, delete_object/delete_objects, delete_bucket, the error fields boto3
exposes (Error.Key, Error.BucketName), and a client configured for another
region finding its way back (botocore's redirect on the Region element).
"""
import hashlib
import os
import re
import time

import boto3
import botocore
from botocore.exceptions import ClientError

import clientlib as cl
from clientlib import MiB, check, check_eq

BUCKET = "boto3-bucket"
BIG = 20 * MiB + 123  # three 8 MiB parts with s3transfer's defaults


def client(s, region=cl.REGION):
    # No Config(): addressing, signature version, retries and transfer sizes
    # are botocore's and s3transfer's own.
    session = boto3.session.Session(aws_access_key_id=cl.ACCESS_KEY, aws_secret_access_key=cl.SECRET_KEY,
                                    region_name=region)
    return session.client("s3", endpoint_url=s.endpoint)


def error_of(fn, *args, **kw):
    try:
        fn(*args, **kw)
    except ClientError as e:
        return e.response
    raise cl.StepFailed("%s succeeded, want an error" % getattr(fn, "__name__", fn))


def log_until(s, cond, timeout=5.0):
    """The server log since the step's start once cond(log) holds (the
    server writes a request's line after sending the answer, so the last
    lines can trail the client by a moment), or as it is after timeout."""
    deadline = time.time() + timeout
    while True:
        log = s.server_log_since_mark()
        if cond(log) or time.time() > deadline:
            return log
        time.sleep(0.05)


def main(s):
    for k in list(os.environ):
        if k.startswith("AWS_"):
            del os.environ[k]
    home = os.path.join(s.tmp, "home")
    os.makedirs(home)
    os.environ.update({"HOME": home, "AWS_CONFIG_FILE": os.path.join(home, "config"),
                       "AWS_SHARED_CREDENTIALS_FILE": os.path.join(home, "credentials"),
                       "AWS_EC2_METADATA_DISABLED": "true"})
    print("# boto3 %s, botocore %s" % (boto3.__version__, botocore.__version__), flush=True)
    s3 = client(s)
    big = os.path.join(s.tmp, "big.bin")
    cl.write_random(big, BIG)
    small = os.urandom(1000)

    def create_bucket():
        r = s3.create_bucket(Bucket=BUCKET)
        check_eq(r["ResponseMetadata"]["HTTPStatusCode"], 200, "status of CreateBucket")
        check_eq(r.get("Location"), "/" + BUCKET, "Location")
        h = s3.head_bucket(Bucket=BUCKET)
        check_eq(h["ResponseMetadata"]["HTTPHeaders"].get("x-amz-bucket-region"), cl.REGION,
                 "x-amz-bucket-region of HeadBucket")
        names = [b["Name"] for b in s3.list_buckets()["Buckets"]]
        check_eq(names, [BUCKET], "ListBuckets")
    s.step("create-bucket", create_bucket)

    def create_again():
        # Creating it again is what a script's "make sure it exists" does:
        # 200 in us-east-1, as AWS answers there.
        check_eq(s3.create_bucket(Bucket=BUCKET)["ResponseMetadata"]["HTTPStatusCode"], 200,
                 "status of CreateBucket of an owned bucket")
    s.step("create-bucket-again", create_again, needs=["create-bucket"])

    def put_small():
        r = s3.put_object(Bucket=BUCKET, Key="dir/small.bin", Body=small, ContentType="application/x-test",
                          Metadata={"colour": "blue"})
        check_eq(r["ETag"], '"%s"' % hashlib.md5(small).hexdigest(), "ETag of PutObject")
        g = s3.get_object(Bucket=BUCKET, Key="dir/small.bin")
        check(g["Body"].read() == small, "GetObject returned other bytes")
        check_eq([g["ContentType"], g["Metadata"], g["ContentLength"]], ["application/x-test", {"colour": "blue"}, 1000],
                 "GetObject fields")
        h = s3.head_object(Bucket=BUCKET, Key="dir/small.bin")
        check_eq([h["ETag"], h["ContentLength"], h["Metadata"]], [r["ETag"], 1000, {"colour": "blue"}], "HeadObject")
        s3.put_object(Bucket=BUCKET, Key="top.txt", Body=b"top")
    s.step("put-get-head-small", put_small, needs=["create-bucket"])

    def upload_multipart():
        s3.upload_file(big, BUCKET, "dir/big.bin")
        log = log_until(s, lambda l: " op=CompleteMultipartUpload " in l)
        ops = [(m.group(1), int(m.group(2))) for m in
               re.finditer(r' op=(\S+) bucket="[^"]*" key="dir/big.bin" status=(\d+)', log)]
        check_eq([o for o in ops if o[0] != "UploadPart"],
                 [("CreateMultipartUpload", 200), ("CompleteMultipartUpload", 200)], "requests besides UploadPart")
        check_eq(sum(1 for o in ops if o == ("UploadPart", 200)), 3, "UploadPart requests (8 MiB parts)")
        h = s3.head_object(Bucket=BUCKET, Key="dir/big.bin")
        check_eq(h["ETag"].strip('"'), cl.multipart_etag(big, 8 * MiB), "ETag of the multipart object")
        check_eq(h["ContentLength"], BIG, "size")
    s.step("upload-file-multipart", upload_multipart, needs=["create-bucket"])

    def download():
        out = os.path.join(s.tmp, "big.out")
        s3.download_file(BUCKET, "dir/big.bin", out)
        check_eq(cl.sha256_file(out), cl.sha256_file(big), "sha256 of the downloaded file")
        log = log_until(s, lambda l: l.count(" op=GetObject ") >= 3)
        ranged = [l for l in log.splitlines() if " op=GetObject " in l]
        check(len(ranged) >= 2, "download_file of 20 MiB used %d GETs, want ranged GETs" % len(ranged))
    s.step("download-file", download, needs=["upload-file-multipart"])

    def listing():
        pages = list(s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Delimiter="/"))
        keys = [o["Key"] for p in pages for o in p.get("Contents", [])]
        prefixes = [c["Prefix"] for p in pages for c in p.get("CommonPrefixes", [])]
        check_eq([keys, prefixes], [["top.txt"], ["dir/"]], "keys and common prefixes")
        got = {o["Key"]: o["Size"] for p in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix="dir/",
                                                                                        PaginationConfig={"PageSize": 1})
               for o in p.get("Contents", [])}
        check_eq(got, {"dir/big.bin": BIG, "dir/small.bin": 1000}, "listing of dir/ in pages of one")
        # list_objects (v1) as older scripts use it.
        v1 = s3.list_objects(Bucket=BUCKET, Prefix="dir/", Delimiter="")
        check_eq([o["Key"] for o in v1["Contents"]], ["dir/big.bin", "dir/small.bin"], "ListObjects with Delimiter=''")
    s.step("list", listing, needs=["put-get-head-small", "upload-file-multipart"])

    def copy():
        s3.copy({"Bucket": BUCKET, "Key": "dir/small.bin"}, BUCKET, "copies/small.bin")
        s3.copy({"Bucket": BUCKET, "Key": "dir/big.bin"}, BUCKET, "copies/big.bin")
        log_until(s, lambda l: " op=CompleteMultipartUpload " in l)
        ops = s.server_ops()
        check(("CopyObject", 200) in ops, "managed copy of a small object is not a CopyObject", ops)
        check(("UploadPartCopy", 200) in ops, "managed copy of 20 MiB is not UploadPartCopy", ops)
        check(not any(o[0] in ("PutObject", "UploadPart") for o in ops), "copy went through the client", ops)
        r = s3.copy_object(Bucket=BUCKET, Key="copies/replaced.bin", CopySource="%s/dir/small.bin" % BUCKET,
                           MetadataDirective="REPLACE", Metadata={"colour": "red"})
        check_eq(r["CopyObjectResult"]["ETag"], '"%s"' % hashlib.md5(small).hexdigest(), "ETag of the copy")
        check_eq(s3.head_object(Bucket=BUCKET, Key="copies/replaced.bin")["Metadata"], {"colour": "red"},
                 "metadata of the REPLACE copy")
        g = s3.get_object(Bucket=BUCKET, Key="copies/big.bin")
        check_eq(hashlib.sha256(g["Body"].read()).hexdigest(), cl.sha256_file(big), "bytes of the multipart copy")
    s.step("copy", copy, needs=["put-get-head-small", "upload-file-multipart"])

    def errors():
        e = error_of(s3.get_object, Bucket=BUCKET, Key="no/such/key")
        check_eq([e["Error"]["Code"], e["Error"].get("Key"), e["ResponseMetadata"]["HTTPStatusCode"]],
                 ["NoSuchKey", "no/such/key", 404], "GetObject of a missing key (Code, Key, status)")
        e = error_of(s3.list_objects_v2, Bucket="no-such-bucket-here")
        check_eq([e["Error"]["Code"], e["Error"].get("BucketName")], ["NoSuchBucket", "no-such-bucket-here"],
                 "ListObjectsV2 of a missing bucket (Code, BucketName)")
        e = error_of(s3.delete_bucket, Bucket=BUCKET)
        check_eq([e["Error"]["Code"], e["Error"].get("BucketName"), e["ResponseMetadata"]["HTTPStatusCode"]],
                 ["BucketNotEmpty", BUCKET, 409], "DeleteBucket of a non-empty bucket")
        # botocore moves RequestId and HostId to ResponseMetadata.
        check(e["ResponseMetadata"].get("HostId"), "no HostId in the error document", e["ResponseMetadata"])
        e = error_of(s3.head_object, Bucket=BUCKET, Key="no/such/key")
        check_eq(e["Error"]["Code"], "404", "HeadObject of a missing key")
        e = error_of(s3.head_bucket, Bucket="no-such-bucket-here")
        check_eq(e["Error"]["Code"], "404", "HeadBucket of a missing bucket")
        e = error_of(s3.create_bucket, Bucket="Bad_Bucket")
        check_eq(e["Error"]["Code"], "InvalidBucketName", "CreateBucket of a bad name")
    s.step("errors", errors, needs=["put-get-head-small"])

    def other_region():
        # A client configured for eu-west-1 signs for eu-west-1; the server
        # answers AuthorizationHeaderMalformed naming us-east-1 in <Region>
        # and botocore's redirector sends the request again, signed for it.
        eu = client(s, "eu-west-1")
        g = eu.get_object(Bucket=BUCKET, Key="top.txt")
        check_eq(g["Body"].read(), b"top", "GetObject through the redirect")
        log = log_until(s, lambda l: re.search(r' op=GetObject .* status=200', l))
        check(re.search(r' op=GetObject .* status=400', log) and re.search(r' op=GetObject .* status=200', log),
              "no 400 then 200 for the redirected GetObject", *log.splitlines()[-4:])
        h = eu.head_bucket(Bucket=BUCKET)
        check_eq(h["ResponseMetadata"]["HTTPHeaders"].get("x-amz-bucket-region"), cl.REGION,
                 "x-amz-bucket-region of the redirected HeadBucket")
    s.step("other-region-redirect", other_region, needs=["put-get-head-small"])

    def delete():
        s3.delete_object(Bucket=BUCKET, Key="top.txt")
        keys = [o["Key"] for p in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET)
                for o in p.get("Contents", [])]
        check("top.txt" not in keys, "top.txt still listed after delete_object")
        r = s3.delete_objects(Bucket=BUCKET, Delete={"Objects": [{"Key": k} for k in keys]})
        check_eq(sorted(d["Key"] for d in r.get("Deleted", [])), sorted(keys), "keys deleted by delete_objects")
        check_eq(r.get("Errors", []), [], "delete_objects errors")
        check_eq(s3.list_objects_v2(Bucket=BUCKET)["KeyCount"], 0, "KeyCount after deleting everything")
    s.step("delete-objects", delete, needs=["create-bucket"])

    def delete_bucket():
        s3.delete_bucket(Bucket=BUCKET)
        check_eq(s3.list_buckets()["Buckets"], [], "ListBuckets after delete_bucket")
        e = error_of(s3.head_bucket, Bucket=BUCKET)
        check_eq(e["ResponseMetadata"]["HTTPStatusCode"], 404, "HeadBucket of the deleted bucket")
    s.step("delete-bucket", delete_bucket, needs=["delete-objects"])


if __name__ == "__main__":
    cl.Suite("clients/boto3").main(main)
