#!/usr/bin/python3
"""AWS CLI (Debian's /usr/bin/aws, v2) against a real holdfast server: the
S3 API beyond plain objects, through `aws s3api` as a user types it --
versioning and delete markers, copies (metadata directive, copy-source
conditions, server-side multipart copy), tagging, additional checksums
and GetObjectAttributes, conditional GETs, CORS, lifecycle, Object Lock,
and listings with awkward keys and url encoding.

Run by tests/clients/awscli_api.sh. This CLI (2.9) has no parameters for
conditional writes or CRC64NVME; those are covered by the boto3 and
JavaScript SDK suites.
"""
import base64
import datetime
import hashlib
import json
import os
import zlib

import clientlib as cl
from clientlib import MiB, check, check_eq

B = "api"
V = "api-versioned"
L = "api-locked"


def main(s):
    aws = cl.AwsCli(s)

    def j(*args):
        return aws.json("s3api", *args)

    small = os.path.join(s.tmp, "small.txt")
    with open(small, "wb") as f:
        f.write(b"hello, holdfast\n")
    big = os.path.join(s.tmp, "big.bin")
    cl.write_random(big, 20 * MiB)

    def buckets():
        aws("s3api", "create-bucket", "--bucket", B)
        aws("s3api", "create-bucket", "--bucket", V)
        aws("s3api", "put-bucket-versioning", "--bucket", V, "--versioning-configuration", "Status=Enabled")
        check_eq(j("get-bucket-versioning", "--bucket", V).get("Status"), "Enabled", "versioning status")
    s.step("buckets", buckets)

    # ---- versioning --------------------------------------------------------

    state = {}

    def versions():
        v1 = j("put-object", "--bucket", V, "--key", "doc.txt", "--body", small)["VersionId"]
        v2 = j("put-object", "--bucket", V, "--key", "doc.txt", "--body", big)["VersionId"]
        check(v1 != v2, "two PUTs gave the same version id")
        out = os.path.join(s.tmp, "v1.out")
        j("get-object", "--bucket", V, "--key", "doc.txt", "--version-id", v1, out)
        check_eq(open(out, "rb").read(), open(small, "rb").read(), "the first version's bytes")
        lv = j("list-object-versions", "--bucket", V, "--prefix", "doc")
        check_eq([(x["VersionId"], x["IsLatest"]) for x in lv["Versions"]], [(v2, True), (v1, False)],
                 "versions newest first")
        d = j("delete-object", "--bucket", V, "--key", "doc.txt")
        check(d.get("DeleteMarker") is True, "a delete in a versioned bucket leaves a marker")
        aws.expect_error(["s3api", "head-object", "--bucket", V, "--key", "doc.txt"], "404")
        j("delete-object", "--bucket", V, "--key", "doc.txt", "--version-id", d["VersionId"])
        check_eq(j("head-object", "--bucket", V, "--key", "doc.txt")["VersionId"], v2,
                 "removing the marker restores the object")
        state["v1"] = v1
        aws.expect_error(["s3api", "get-object", "--bucket", V, "--key", "doc.txt", "--version-id",
                          "not-a-version", out], "InvalidArgument")
    s.step("versioning", versions, needs=["buckets"])

    # ---- copies -------------------------------------------------------------

    def copies():
        etag = j("put-object", "--bucket", B, "--key", "src.txt", "--body", small,
                 "--content-type", "text/plain", "--metadata", "color=blue")["ETag"]
        r = j("copy-object", "--bucket", B, "--key", "same.txt", "--copy-source", "%s/src.txt" % B)
        check_eq(r["CopyObjectResult"]["ETag"], etag, "the copy's ETag")
        h = j("head-object", "--bucket", B, "--key", "same.txt")
        check_eq((h["ContentType"], h["Metadata"]), ("text/plain", {"color": "blue"}), "metadata copied")
        j("copy-object", "--bucket", B, "--key", "same.txt", "--copy-source", "%s/same.txt" % B,
          "--metadata-directive", "REPLACE", "--metadata", "color=red", "--content-type", "text/x-red")
        h = j("head-object", "--bucket", B, "--key", "same.txt")
        check_eq((h["ContentType"], h["Metadata"]), ("text/x-red", {"color": "red"}), "metadata replaced in place")
        aws.expect_error(["s3api", "copy-object", "--bucket", B, "--key", "same.txt", "--copy-source",
                          "%s/same.txt" % B], "InvalidRequest")
        aws.expect_error(["s3api", "copy-object", "--bucket", B, "--key", "x", "--copy-source",
                          "%s/src.txt" % B, "--copy-source-if-match", '"%s"' % ("0" * 32)], "PreconditionFailed")
        # a version of another bucket, by id
        j("copy-object", "--bucket", B, "--key", "old.txt", "--copy-source",
          "%s/doc.txt?versionId=%s" % (V, state["v1"]))
        check_eq(j("head-object", "--bucket", B, "--key", "old.txt")["ContentLength"], os.path.getsize(small),
                 "size of the copied old version")
    s.step("copy-object", copies, needs=["buckets", "versioning"])

    def server_side_multipart_copy():
        aws("s3", "cp", big, "s3://%s/big.bin" % B)
        s.mark_log()
        aws("s3", "cp", "s3://%s/big.bin" % B, "s3://%s/big-copy.bin" % B)
        ops = [op for op, status in s.server_ops() if status == 200]
        check(ops.count("UploadPartCopy") >= 2, "a 20 MiB copy goes through UploadPartCopy", "ops: %r" % ops)
        out = os.path.join(s.tmp, "big.out")
        aws("s3", "cp", "s3://%s/big-copy.bin" % B, out)
        check_eq(cl.sha256_file(out), cl.sha256_file(big), "sha256 of the copied object")
    s.step("upload-part-copy", server_side_multipart_copy, needs=["buckets"])

    # ---- tagging --------------------------------------------------------------

    def tagging():
        j("put-object", "--bucket", B, "--key", "tagged", "--body", small, "--tagging", "team=core&tier=gold")
        t = j("get-object-tagging", "--bucket", B, "--key", "tagged")["TagSet"]
        check_eq(sorted((x["Key"], x["Value"]) for x in t), [("team", "core"), ("tier", "gold")], "tags")
        aws("s3api", "put-object-tagging", "--bucket", B, "--key", "tagged", "--tagging",
            json.dumps({"TagSet": [{"Key": "one", "Value": "1"}]}))
        check_eq(j("get-object-tagging", "--bucket", B, "--key", "tagged")["TagSet"], [{"Key": "one", "Value": "1"}],
                 "tags replaced")
        aws.expect_error(["s3api", "put-object-tagging", "--bucket", B, "--key", "tagged", "--tagging",
                          json.dumps({"TagSet": [{"Key": "k%d" % i, "Value": "v"} for i in range(11)]})],
                         "InvalidTag")
        aws("s3api", "delete-object-tagging", "--bucket", B, "--key", "tagged")
        check_eq(j("get-object-tagging", "--bucket", B, "--key", "tagged")["TagSet"], [], "tags removed")
        aws("s3api", "put-bucket-tagging", "--bucket", B, "--tagging", "TagSet=[{Key=env,Value=test}]")
        check_eq(j("get-bucket-tagging", "--bucket", B)["TagSet"], [{"Key": "env", "Value": "test"}], "bucket tags")
    s.step("tagging", tagging, needs=["buckets"])

    # ---- checksums --------------------------------------------------------------

    def checksums():
        data = open(small, "rb").read()
        want = {
            "CRC32": base64.b64encode((zlib.crc32(data) & 0xFFFFFFFF).to_bytes(4, "big")).decode(),
            "SHA1": base64.b64encode(hashlib.sha1(data).digest()).decode(),
            "SHA256": base64.b64encode(hashlib.sha256(data).digest()).decode(),
        }
        for alg in ("CRC32", "CRC32C", "SHA1", "SHA256"):
            r = j("put-object", "--bucket", B, "--key", "ck-" + alg, "--body", small, "--checksum-algorithm", alg)
            h = j("head-object", "--bucket", B, "--key", "ck-" + alg, "--checksum-mode", "ENABLED")
            check_eq(h.get("Checksum" + alg), r.get("Checksum" + alg), alg + " returned as stored")
            if alg in want:
                check_eq(h.get("Checksum" + alg), want[alg], alg + " value")
        a = j("get-object-attributes", "--bucket", B, "--key", "ck-SHA256", "--object-attributes",
              "ETag", "Checksum", "ObjectSize", "StorageClass")
        check_eq((a["ObjectSize"], a["StorageClass"], a["Checksum"]["ChecksumSHA256"]),
                 (len(data), "STANDARD", want["SHA256"]), "GetObjectAttributes")
        check_eq(a["ETag"], hashlib.md5(data).hexdigest(), "GetObjectAttributes ETag (no quotes)")
        # a multipart upload with checksums, part by part as `aws s3api` users do
        # it (this CLI's `aws s3 cp` has no --checksum-algorithm), then its
        # parts as attributes
        up = j("create-multipart-upload", "--bucket", B, "--key", "ck-big", "--checksum-algorithm", "CRC32")
        parts = []
        with open(big, "rb") as f:
            for n in (1, 2, 3):
                piece = os.path.join(s.tmp, "part%d" % n)
                with open(piece, "wb") as o:
                    o.write(f.read(8 * MiB))
                r = j("upload-part", "--bucket", B, "--key", "ck-big", "--upload-id", up["UploadId"],
                      "--part-number", str(n), "--body", piece, "--checksum-algorithm", "CRC32")
                parts.append({"PartNumber": n, "ETag": r["ETag"], "ChecksumCRC32": r["ChecksumCRC32"]})
        j("complete-multipart-upload", "--bucket", B, "--key", "ck-big", "--upload-id", up["UploadId"],
          "--multipart-upload", json.dumps({"Parts": parts}))
        a = j("get-object-attributes", "--bucket", B, "--key", "ck-big", "--object-attributes", "ObjectParts",
              "Checksum")
        check_eq(a["ObjectParts"]["TotalPartsCount"], 3, "parts of a 20 MiB upload in 8 MiB parts")
        check(all("ChecksumCRC32" in p for p in a["ObjectParts"].get("Parts", [])), "every part has its CRC32")
        out = os.path.join(s.tmp, "ck.out")
        aws("s3api", "get-object", "--bucket", B, "--key", "ck-big", "--checksum-mode", "ENABLED", out)
        check_eq(cl.sha256_file(out), cl.sha256_file(big), "bytes of the checksummed upload")
    s.step("checksums", checksums, needs=["buckets"])

    def conditional_get():
        etag = j("head-object", "--bucket", B, "--key", "src.txt")["ETag"]
        out = os.path.join(s.tmp, "c.out")
        j("get-object", "--bucket", B, "--key", "src.txt", "--if-match", etag, out)
        aws.expect_error(["s3api", "get-object", "--bucket", B, "--key", "src.txt", "--if-match",
                          '"%s"' % ("1" * 32), out], "PreconditionFailed")
        aws.expect_error(["s3api", "get-object", "--bucket", B, "--key", "src.txt", "--if-none-match", etag, out],
                         "304")
    s.step("conditional-get", conditional_get, needs=["copy-object"])

    def get_extras():
        out = os.path.join(s.tmp, "x.out")
        data = open(small, "rb").read()
        r = j("get-object", "--bucket", B, "--key", "src.txt", "--response-content-type", "application/x-over",
              "--response-content-disposition", 'attachment; filename="x.txt"', "--response-cache-control", "no-store",
              "--response-content-language", "fr", "--response-content-encoding", "identity",
              "--response-expires", "Wed, 01 Jan 2031 00:00:00 GMT", out)
        check_eq((r["ContentType"], r["ContentDisposition"], r["CacheControl"], r["ContentLanguage"],
                  r["ContentEncoding"]),
                 ("application/x-over", 'attachment; filename="x.txt"', "no-store", "fr", "identity"),
                 "response-* overrides")
        j("get-object", "--bucket", B, "--key", "src.txt", "--range", "bytes=-5", out)
        check_eq(open(out, "rb").read(), data[-5:], "suffix range")
        j("get-object", "--bucket", B, "--key", "src.txt", "--range", "bytes=3-", out)
        check_eq(open(out, "rb").read(), data[3:], "open-ended range")
        aws.expect_error(["s3api", "get-object", "--bucket", B, "--key", "src.txt", "--range", "bytes=9999-", out],
                         "InvalidRange")
        r = j("head-object", "--bucket", B, "--key", "ck-big", "--part-number", "2")
        check_eq((r["ContentLength"], r["PartsCount"]), (8 * MiB, 3), "HEAD partNumber=2")
        r = j("get-object", "--bucket", B, "--key", "ck-big", "--part-number", "3", out)
        check_eq(os.path.getsize(out), 4 * MiB, "GET partNumber=3 of a 20 MiB object in 8 MiB parts")
        aws.expect_error(["s3api", "get-object", "--bucket", B, "--key", "ck-big", "--part-number", "4", out],
                         "InvalidPartNumber")
    s.step("get-extras", get_extras, needs=["copy-object", "checksums"])

    # ---- bucket settings ---------------------------------------------------------

    def cors():
        cfg = {"CORSRules": [{"AllowedOrigins": ["https://app.example"], "AllowedMethods": ["GET", "PUT"],
                              "AllowedHeaders": ["*"], "MaxAgeSeconds": 300}]}
        aws("s3api", "put-bucket-cors", "--bucket", B, "--cors-configuration", json.dumps(cfg))
        got = j("get-bucket-cors", "--bucket", B)["CORSRules"]
        check_eq((got[0]["AllowedOrigins"], got[0]["MaxAgeSeconds"]), (["https://app.example"], 300), "CORS rules")
        aws("s3api", "delete-bucket-cors", "--bucket", B)
        aws.expect_error(["s3api", "get-bucket-cors", "--bucket", B], "NoSuchCORSConfiguration")
    s.step("cors", cors, needs=["buckets"])

    def lifecycle():
        cfg = {"Rules": [{"ID": "tmp", "Status": "Enabled", "Filter": {"Prefix": "tmp/"}, "Expiration": {"Days": 7}},
                         {"ID": "mpu", "Status": "Enabled", "Filter": {},
                          "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 2}}]}
        aws("s3api", "put-bucket-lifecycle-configuration", "--bucket", B, "--lifecycle-configuration", json.dumps(cfg))
        got = j("get-bucket-lifecycle-configuration", "--bucket", B)["Rules"]
        check_eq([r["ID"] for r in got], ["tmp", "mpu"], "lifecycle rules")
        bad = {"Rules": [{"ID": "t", "Status": "Enabled", "Filter": {},
                          "Transitions": [{"Days": 30, "StorageClass": "GLACIER"}]}]}
        aws.expect_error(["s3api", "put-bucket-lifecycle-configuration", "--bucket", B, "--lifecycle-configuration",
                          json.dumps(bad)], "NotImplemented")
        aws("s3api", "delete-bucket-lifecycle", "--bucket", B)
        aws.expect_error(["s3api", "get-bucket-lifecycle-configuration", "--bucket", B],
                         "NoSuchLifecycleConfiguration")
    s.step("lifecycle", lifecycle, needs=["buckets"])

    def object_lock():
        aws("s3api", "create-bucket", "--bucket", L, "--object-lock-enabled-for-bucket")
        aws("s3api", "put-object-lock-configuration", "--bucket", L, "--object-lock-configuration",
            json.dumps({"ObjectLockEnabled": "Enabled",
                        "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 1}}}))
        v = j("put-object", "--bucket", L, "--key", "k", "--body", small)["VersionId"]
        h = j("head-object", "--bucket", L, "--key", "k")
        check_eq(h.get("ObjectLockMode"), "GOVERNANCE", "the default retention applies")
        aws.expect_error(["s3api", "delete-object", "--bucket", L, "--key", "k", "--version-id", v], "AccessDenied")
        # extending is allowed without bypass; shortening is not
        until = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=2)).strftime(
            "%Y-%m-%dT%H:%M:%SZ")
        aws("s3api", "put-object-retention", "--bucket", L, "--key", "k", "--retention",
            json.dumps({"Mode": "GOVERNANCE", "RetainUntilDate": until}))
        sooner = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=2)).strftime(
            "%Y-%m-%dT%H:%M:%SZ")
        aws.expect_error(["s3api", "put-object-retention", "--bucket", L, "--key", "k", "--retention",
                          json.dumps({"Mode": "GOVERNANCE", "RetainUntilDate": sooner})], "AccessDenied")
        aws("s3api", "put-object-legal-hold", "--bucket", L, "--key", "k", "--legal-hold", "Status=ON")
        aws.expect_error(["s3api", "delete-object", "--bucket", L, "--key", "k", "--version-id", v,
                          "--bypass-governance-retention"], "AccessDenied")
        aws("s3api", "put-object-legal-hold", "--bucket", L, "--key", "k", "--legal-hold", "Status=OFF")
        aws("s3api", "delete-object", "--bucket", L, "--key", "k", "--version-id", v, "--bypass-governance-retention")
    s.step("object-lock", object_lock)

    # ---- access: ACLs, Block Public Access, bucket policies, presigned URLs ---------

    def access():
        P = "api-access"
        aws("s3api", "create-bucket", "--bucket", P, "--object-ownership", "ObjectWriter")
        check_eq(j("get-bucket-ownership-controls", "--bucket", P)["OwnershipControls"]["Rules"],
                 [{"ObjectOwnership": "ObjectWriter"}], "ownership controls")
        # Block Public Access is on for a new bucket: a public ACL is refused
        aws.expect_error(["s3api", "put-object", "--bucket", P, "--key", "pub", "--body", small,
                          "--acl", "public-read"], "AccessDenied")
        aws("s3api", "delete-public-access-block", "--bucket", P)
        j("put-object", "--bucket", P, "--key", "pub", "--body", small, "--acl", "public-read")
        j("put-object", "--bucket", P, "--key", "priv", "--body", small)
        grants = j("get-object-acl", "--bucket", P, "--key", "pub")["Grants"]
        check(any(g["Grantee"].get("URI", "").endswith("/AllUsers") and g["Permission"] == "READ"
                  for g in grants), "AllUsers READ on the public object", "grants: %r" % grants)
        st, _, body = cl.http_get("%s/%s/pub" % (s.endpoint, P))
        check_eq((st, body), (200, open(small, "rb").read()), "anonymous GET of the public object")
        st, _, _ = cl.http_get("%s/%s/priv" % (s.endpoint, P))
        check_eq(st, 403, "anonymous GET of the private neighbour")
        # a bucket policy, from a file as users write them
        policy = os.path.join(s.tmp, "policy.json")
        with open(policy, "w") as f:
            json.dump({"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
                 "Resource": "arn:aws:s3:::%s/shared/*" % P}]}, f)
        aws("s3api", "put-bucket-policy", "--bucket", P, "--policy", "file://" + policy)
        check_eq(j("get-bucket-policy-status", "--bucket", P)["PolicyStatus"]["IsPublic"], True, "IsPublic")
        j("put-object", "--bucket", P, "--key", "shared/x", "--body", small)
        check_eq(cl.http_get("%s/%s/shared/x" % (s.endpoint, P))[0], 200, "anonymous GET the policy allows")
        check_eq(cl.http_get("%s/%s?list-type=2" % (s.endpoint, P))[0], 403, "anonymous listing stays refused")
        with open(policy, "w") as f:
            f.write('{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": "*", '
                    '"Action": "s3:GetObjekt", "Resource": "arn:aws:s3:::%s/*"}]}' % P)
        aws.expect_error(["s3api", "put-bucket-policy", "--bucket", P, "--policy", "file://" + policy],
                         "MalformedPolicy")
        aws("s3api", "delete-bucket-policy", "--bucket", P)
        check_eq(cl.http_get("%s/%s/shared/x" % (s.endpoint, P))[0], 403, "refused again without the policy")
        # a presigned URL made by the CLI opens a private object, and only for its time
        url = aws("s3", "presign", "s3://%s/priv" % P, "--expires-in", "60").stdout.strip()
        check_eq(cl.http_get(url)[0], 200, "GET of the presigned URL")
        check_eq(cl.http_get(url.replace("/priv?", "/pub?"))[0], 403, "the URL does not open another key")
    s.step("access", access)

    # ---- listings -----------------------------------------------------------------

    def listings():
        keys = ["a b/c+d", "a b/é", "x?y", "pct%41", "tab\there", "semi;colon", "dots/../dots"]
        for k in keys:
            j("put-object", "--bucket", B, "--key", "ls/" + k, "--body", small)
        r = j("list-objects-v2", "--bucket", B, "--prefix", "ls/")
        check_eq(sorted(o["Key"] for o in r["Contents"]), sorted("ls/" + k for k in keys), "keys listed back")
        r = j("list-objects-v2", "--bucket", B, "--prefix", "ls/a b", "--delimiter", "/", "--encoding-type", "url")
        # botocore decodes only when it asked for url encoding itself; asked by
        # the user, the CLI prints what the server sent
        check_eq([p["Prefix"] for p in r["CommonPrefixes"]], ["ls/a%20b/"], "url-encoded common prefix")
        r = j("list-objects-v2", "--bucket", B, "--prefix", "ls/x", "--encoding-type", "url")
        check_eq([o["Key"] for o in r["Contents"]], ["ls/x%3Fy"], "url-encoded key")
        r = j("list-objects", "--bucket", B, "--prefix", "ls/", "--delimiter", "+")
        check_eq([p["Prefix"] for p in r.get("CommonPrefixes", [])], ["ls/a b/c+"], "a delimiter other than /")
        r = j("list-objects-v2", "--bucket", B, "--prefix", "nothing-here/", "--no-paginate")
        check("Contents" not in r and r["KeyCount"] == 0, "a prefix no key has")
    s.step("listings", listings, needs=["buckets"])


if __name__ == "__main__":
    cl.Suite("clients/awscli-api").main(main)
