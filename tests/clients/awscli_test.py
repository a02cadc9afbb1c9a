#!/usr/bin/python3
"""AWS CLI (Debian's /usr/bin/aws, v2) against a real holdfast server.

Run by tests/clients/awscli.sh. Covers what a user does with `aws s3`:
mb, cp up and down (single PUT and multipart), cp between keys (server-side
CopyObject, and UploadPartCopy for the multipart object), ls, sync up/down
with --delete, rm --recursive, rb, presign, server-side encryption (--sse,
--sse-c, --sse-c-copy-source), and the error codes of the common mistakes
through `aws s3api`. The configuration is what `aws configure` writes:
credentials and region.
"""
import hashlib
import json
import os
import re
import shutil
import subprocess
import time

import clientlib as cl
from clientlib import MiB, check, check_eq

AWS = "/usr/bin/aws"
BUCKET = "photos"
ERRB = "errors-bucket"
# awscli's defaults: multipart_threshold = multipart_chunksize = 8 MiB.
PART = 8 * MiB
READ_TIMEOUT = 20

# The tree synced up: nested dirs, spaces, unicode, characters that must be
# percent-encoded, an empty file and one file big enough for multipart.
TREE = {
    "README.txt": 100,
    "index.html": 2000,
    "empty.txt": 0,
    "a/one.txt": 10,
    "a/two.txt": 20,
    "a/b/three.bin": 70 * 1024,
    "a/b/c/d/deep.txt": 33,
    "my photos/summer 2024/beach day.jpg": 300 * 1024,
    "my photos/summer 2024/sunset at the pier.jpg": 123 * 1024,
    "my photos/winter/snow man.png": 4567,
    "my photos/winter/ice.png": 4568,
    "café/naïve résumé.txt": 111,
    "日本語/ファイル.txt": 222,
    "日本語/サブ/写真 1.jpg": 3333,
    "emoji/party 🎉.txt": 44,
    "Ünïcödé Dir/Ölfarbe.txt": 55,
    "symbols/a+b=c.txt": 66,
    "symbols/100% done.txt": 77,
    "symbols/semi;colon (1).txt": 88,
    "symbols/amp & co, 'quoted'.txt": 99,
    "symbols/hash#tag@at.txt": 101,
    "data/big chunk.bin": 9 * MiB + 1,
}
for _i in range(10):
    TREE["data/part-%04d.csv" % _i] = 1000 + _i

MODIFIED_SIZE = ["a/one.txt"]                              # new content, new size
MODIFIED_SAME_SIZE = ["my photos/summer 2024/beach day.jpg"]  # same size, newer mtime
ADDED = {"new dir/new file.txt": 500, "日本語/新しい.txt": 600, "a/b/added.bin": 700}
DELETED = ["a/two.txt", "emoji/party 🎉.txt", "data/part-0003.csv",
           "my photos/winter/snow man.png", "my photos/winter/ice.png"]


def expected_etag(path):
    size = os.path.getsize(path)
    if size >= PART:
        return cl.multipart_etag(path, PART)
    return cl.md5_file(path)


def main(s):
    aws = cl.AwsCli(s, read_timeout=READ_TIMEOUT)
    env = aws.env

    def puts_per_key():
        """{key: number of PutObject requests} the server logged in this step."""
        counts = {}
        for line in s.server_log_since_mark().splitlines():
            m = re.search(r' op=PutObject bucket="[^"]*" key="((?:[^"\\]|\\.)*)"', line)
            if m:
                counts[m.group(1)] = counts.get(m.group(1), 0) + 1
        return counts

    aws_json = aws.json

    def remote_objects(prefix=""):
        """{key: (size, etag)} from s3api list-objects-v2 (the CLI pages through)."""
        args = ["s3api", "list-objects-v2", "--bucket", BUCKET]
        if prefix:
            args += ["--prefix", prefix]
        out = {}
        for o in aws_json(*args).get("Contents", []):
            out[o["Key"]] = (o["Size"], o["ETag"].strip('"'))
        return out

    expect_error = aws.expect_error

    small = os.path.join(s.tmp, "small.bin")
    big = os.path.join(s.tmp, "big.bin")
    cl.write_random(small, 1024)
    cl.write_random(big, 50 * MiB)

    # ---- buckets and single objects --------------------------------------

    def mb():
        p = aws("s3", "mb", "s3://" + BUCKET)
        check_eq(p.stdout.strip(), "make_bucket: " + BUCKET, "mb output")
        aws("s3api", "head-bucket", "--bucket", BUCKET)
    s.step("mb", mb)

    def ls_buckets():
        aws("s3api", "create-bucket", "--bucket", ERRB)
        names = sorted(line.split()[-1] for line in aws("s3", "ls").stdout.splitlines() if line.strip())
        check_eq(names, sorted([BUCKET, ERRB]), "s3 ls bucket names")
        for line in aws("s3", "ls").stdout.splitlines():
            check(re.match(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \S+$", line), "bad s3 ls line %r" % line)
    s.step("ls-buckets", ls_buckets, needs=["mb"])

    def cp_small():
        p = aws("s3", "cp", "--no-progress", small, "s3://%s/small.bin" % BUCKET)
        check("upload:" in p.stdout, "no upload line in output", p.stdout)
        h = aws_json("s3api", "head-object", "--bucket", BUCKET, "--key", "small.bin")
        check_eq(h.get("ContentLength"), 1024, "ContentLength")
        check_eq(h.get("ETag"), '"%s"' % cl.md5_file(small), "ETag")
    s.step("cp-small", cp_small, needs=["mb"])

    def cp_large_multipart():
        aws("s3", "cp", "--no-progress", big, "s3://%s/big.bin" % BUCKET, timeout=180)
        s_ops = s.server_ops()
        check(("CreateMultipartUpload", 200) in s_ops, "awscli did not use multipart", repr(s_ops[:10]))
        check_eq(sum(1 for o in s_ops if o == ("UploadPart", 200)), 7, "UploadPart requests")
        h = aws_json("s3api", "head-object", "--bucket", BUCKET, "--key", "big.bin")
        check_eq(h.get("ContentLength"), 50 * MiB, "ContentLength")
        etag = h.get("ETag", "")
        check(re.match(r'^"[0-9a-f]{32}-7"$', etag), "ETag %r does not end in -7" % etag)
        check_eq(etag, '"%s"' % cl.multipart_etag(big, PART), "ETag")
    s.step("cp-large-multipart", cp_large_multipart, needs=["mb"])

    def ls_objects():
        lines = [l for l in aws("s3", "ls", "s3://" + BUCKET).stdout.splitlines() if l.strip()]
        got = sorted((int(l.split()[2]), l.split(None, 3)[3]) for l in lines)
        check_eq(got, [(1024, "small.bin"), (50 * MiB, "big.bin")], "s3 ls s3://%s" % BUCKET)
    s.step("ls-objects", ls_objects, needs=["cp-small", "cp-large-multipart"])

    def cp_download():
        for name, src in (("small.bin", small), ("big.bin", big)):
            dst = os.path.join(s.tmp, "down-" + name)
            aws("s3", "cp", "--no-progress", "s3://%s/%s" % (BUCKET, name), dst, timeout=180)
            check_eq(cl.sha256_file(dst), cl.sha256_file(src), "sha256 of downloaded " + name)
            os.unlink(dst)
    s.step("cp-download", cp_download, needs=["cp-small", "cp-large-multipart"])

    def cp_server_side():
        # awscli copies with CopyObject, or UploadPartCopy above its 8 MiB
        # multipart threshold; no byte goes through the client
        for name, src in (("small.bin", small), ("big.bin", big)):
            aws("s3", "cp", "--no-progress", "s3://%s/%s" % (BUCKET, name), "s3://%s/copies/%s" % (BUCKET, name),
                timeout=180)
            h = aws_json("s3api", "head-object", "--bucket", BUCKET, "--key", "copies/" + name)
            check_eq(h.get("ContentLength"), os.path.getsize(src), "size of the copy of " + name)
        ops = s.server_ops()
        check(("CopyObject", 200) in ops and ("UploadPartCopy", 200) in ops and
              not [o for o in ops if o[0] in ("PutObject", "UploadPart")],
              "not a server-side copy", repr(ops))
        dst = os.path.join(s.tmp, "copied-big")
        aws("s3", "cp", "--no-progress", "s3://%s/copies/big.bin" % BUCKET, dst, timeout=180)
        check_eq(cl.sha256_file(dst), cl.sha256_file(big), "sha256 of the copied big.bin")
        os.unlink(dst)
        aws("s3", "rm", "--recursive", "s3://%s/copies/" % BUCKET)
    s.step("cp-server-side", cp_server_side, needs=["cp-small", "cp-large-multipart"])

    # ---- server-side encryption: --sse, --sse-c, --sse-c-copy-source ---------

    SECRETS = "secrets"
    key_file = os.path.join(s.tmp, "sse-c.key")
    with open(key_file, "wb") as f:
        f.write(os.urandom(32))
    other_key = os.path.join(s.tmp, "other.key")
    with open(other_key, "wb") as f:
        f.write(os.urandom(32))
    mid = os.path.join(s.tmp, "mid.bin")
    cl.write_random(mid, PART + 123)  # two parts with awscli's defaults

    def sse_s3():
        aws("s3", "mb", "s3://" + SECRETS)
        aws("s3", "cp", "--no-progress", "--sse", "AES256", small, "s3://%s/s3.bin" % SECRETS)
        h = aws_json("s3api", "head-object", "--bucket", SECRETS, "--key", "s3.bin")
        check_eq(h.get("ServerSideEncryption"), "AES256", "ServerSideEncryption after --sse AES256")
        check_eq(h.get("ETag"), '"%s"' % cl.md5_file(small), "ETag of an SSE-S3 object")
        # Without --sse the bucket's default applies: SSE-S3 too.
        aws("s3", "cp", "--no-progress", small, "s3://%s/default.bin" % SECRETS)
        h = aws_json("s3api", "head-object", "--bucket", SECRETS, "--key", "default.bin")
        check_eq(h.get("ServerSideEncryption"), "AES256", "ServerSideEncryption by default")
        cfg = aws_json("s3api", "get-bucket-encryption", "--bucket", SECRETS)
        rule = cfg["ServerSideEncryptionConfiguration"]["Rules"][0]
        check_eq(rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"], "AES256", "bucket default")
        expect_error(["s3", "cp", "--no-progress", "--sse", "aws:kms", small, "s3://%s/kms.bin" % SECRETS],
                     "NotImplemented")
    s.step("sse-s3", sse_s3)

    def sse_c():
        c = ["--sse-c", "AES256", "--sse-c-key", "fileb://" + key_file]
        for name, src in (("c-small.bin", small), ("c-mid.bin", mid)):
            aws("s3", "cp", "--no-progress", *c, src, "s3://%s/%s" % (SECRETS, name), timeout=120)
            dst = os.path.join(s.tmp, "down-" + name)
            aws("s3", "cp", "--no-progress", *c, "s3://%s/%s" % (SECRETS, name), dst, timeout=120)
            check_eq(cl.sha256_file(dst), cl.sha256_file(src), "sha256 of SSE-C download " + name)
            os.unlink(dst)
            # Without the key, or with another: refused as S3 refuses.
            expect_error(["s3", "cp", "--no-progress", "s3://%s/%s" % (SECRETS, name), dst], "400")
            expect_error(["s3", "cp", "--no-progress", "--sse-c", "AES256", "--sse-c-key", "fileb://" + other_key,
                          "s3://%s/%s" % (SECRETS, name), dst], "403")
        check(("CreateMultipartUpload", 200) in s.server_ops(), "the mid-sized upload was not multipart")
        h = aws_json("s3api", "head-object", "--bucket", SECRETS, "--key", "c-small.bin", "--sse-customer-algorithm",
                     "AES256", "--sse-customer-key", "fileb://" + key_file)
        check_eq(h.get("SSECustomerAlgorithm"), "AES256", "SSECustomerAlgorithm")
        check(h.get("ETag") != '"%s"' % cl.md5_file(small), "an SSE-C ETag is not the MD5 of the data")
        # A server-side copy from SSE-C to SSE-S3.
        aws("s3", "cp", "--no-progress", "--sse-c-copy-source", "AES256", "--sse-c-copy-source-key",
            "fileb://" + key_file, "--sse", "AES256", "s3://%s/c-small.bin" % SECRETS, "s3://%s/copied.bin" % SECRETS)
        dst = os.path.join(s.tmp, "down-copied")
        aws("s3", "cp", "--no-progress", "s3://%s/copied.bin" % SECRETS, dst)
        check_eq(cl.sha256_file(dst), cl.sha256_file(small), "sha256 of the copy")
        aws("s3", "rb", "--force", "s3://" + SECRETS, timeout=120)
    s.step("sse-c", sse_c, needs=["sse-s3"])

    def cp_download_stdout():
        # As in `aws s3 cp s3://b/k - | ...`: the object's bytes on stdout.
        out = subprocess.run([AWS, "--endpoint-url", s.endpoint, "s3", "cp", "s3://%s/small.bin" % BUCKET, "-"],
                             env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
        check_eq(out.returncode, 0, "exit status")
        check_eq(hashlib.sha256(out.stdout).hexdigest(), cl.sha256_file(small), "sha256 of s3 cp ... -")
    s.step("cp-download-stdout", cp_download_stdout, needs=["cp-small"])

    def expect_continue_empty_body():
        # awscli sends "Expect: 100-continue" on every PutObject, also with
        # Content-Length: 0. RFC 9110 lets a server skip the interim
        # "100 Continue" when there is no content, but when it answers with
        # the final response directly, botocore (awscli v2, boto3) keeps
        # that status line for the next request on the same pooled
        # connection, cannot parse the next response, waits for its read
        # timeout and sends the PUT again (boto/botocore#3755). A server
        # that always sends "100 Continue" when asked avoids the stall.
        d = os.path.join(s.tmp, "empties")
        for i in (1, 2, 3):
            cl.write_random(os.path.join(d, "e%d.txt" % i), 0)
            cl.write_random(os.path.join(d, "f%d.txt" % i), 100 + i)
        cfg = os.path.join(aws.home, "config-serial")
        with open(cfg, "w") as f:
            f.write("[default]\nregion = us-east-1\ns3 =\n    max_concurrent_requests = 1\n")
        t0 = time.time()
        try:
            aws("s3", "cp", "--recursive", "--no-progress", d, "s3://%s/empties/" % BUCKET,
                env=dict(env, AWS_CONFIG_FILE=cfg), read_timeout=5)
            took = time.time() - t0
            counts = puts_per_key()
            want = {"empties/%s%d.txt" % (c, i): 1 for c in "ef" for i in (1, 2, 3)}
            check(counts == want,
                  "PutObject requests per key %r (want each once), took %.1fs: a response was lost after a "
                  "zero-length PUT with Expect: 100-continue" % (counts, took))
            for i in (1, 2, 3):
                h = aws_json("s3api", "head-object", "--bucket", BUCKET, "--key", "empties/e%d.txt" % i)
                check_eq(h.get("ContentLength"), 0, "ContentLength of empties/e%d.txt" % i)
        finally:
            aws("s3", "rm", "--recursive", "s3://%s/empties/" % BUCKET, ok_codes=None)
    s.step("expect-100-continue-empty-body", expect_continue_empty_body, needs=["mb"])

    # ---- errors a user hits ----------------------------------------------

    def err_no_such_key():
        expect_error(["s3api", "get-object", "--bucket", BUCKET, "--key", "no/such key.txt",
                      os.path.join(s.tmp, "nothing")], "NoSuchKey", 254)
        check(not os.path.exists(os.path.join(s.tmp, "nothing")) or
              os.path.getsize(os.path.join(s.tmp, "nothing")) == 0, "error body written as object")
        expect_error(["s3api", "get-object", "--bucket", "no-such-bucket-here", "--key", "k",
                      os.path.join(s.tmp, "nothing2")], "NoSuchBucket", 254)
        p = aws("s3", "cp", "s3://%s/no-such-key" % BUCKET, os.path.join(s.tmp, "nothing3"), ok_codes=None)
        check(p.returncode != 0, "s3 cp of a missing key exited 0")
        check("404" in p.stderr, "404 not in stderr of s3 cp of a missing key", p.stderr)
    s.step("error-no-such-key", err_no_such_key, needs=["mb"])

    def err_bucket_not_empty():
        expect_error(["s3", "rb", "s3://" + BUCKET], "BucketNotEmpty", 1)
        expect_error(["s3api", "delete-bucket", "--bucket", BUCKET], "BucketNotEmpty", 254)
        aws("s3api", "head-bucket", "--bucket", BUCKET)
        check_eq(aws_json("s3api", "head-object", "--bucket", BUCKET, "--key", "small.bin").get("ContentLength"),
                 1024, "small.bin still there")
    s.step("error-bucket-not-empty", err_bucket_not_empty, needs=["cp-small"])

    def err_invalid_bucket_name():
        for bad in ("Bad_Name", "ab", "-leading-hyphen", "a" * 64, "double..dot", "192.168.0.1"):
            expect_error(["s3", "mb", "s3://" + bad], "InvalidBucketName", 1)
        expect_error(["s3api", "create-bucket", "--bucket", "UPPERCASE"], "InvalidBucketName", 254)
        names = sorted(l.split()[-1] for l in aws("s3", "ls").stdout.splitlines() if l.strip())
        check_eq(names, sorted([BUCKET, ERRB]), "buckets after failed mb")
    s.step("error-invalid-bucket-name", err_invalid_bucket_name, needs=["ls-buckets"])

    def create_owned_again():
        # us-east-1 answers 200 to re-creating your own bucket, as S3 does
        aws("s3api", "create-bucket", "--bucket", BUCKET)
        aws("s3api", "head-bucket", "--bucket", BUCKET)
    s.step("create-owned-bucket-again", create_owned_again, needs=["mb"])

    def err_bad_credentials():
        bad_env = dict(env, AWS_SECRET_ACCESS_KEY="wrongsecret000000000000000000000000000ab")
        p = s.run([AWS, "--endpoint-url", s.endpoint, "s3api", "list-buckets"], env=bad_env, ok_codes=None)
        check_eq(p.returncode, 254, "exit status with a wrong secret")
        check("SignatureDoesNotMatch" in p.stderr, "SignatureDoesNotMatch not in stderr", p.stderr)
        bad_env = dict(env, AWS_ACCESS_KEY_ID="HFNOSUCHKEY000000001")
        p = s.run([AWS, "--endpoint-url", s.endpoint, "s3api", "list-buckets"], env=bad_env, ok_codes=None)
        check_eq(p.returncode, 254, "exit status with an unknown key")
        check("InvalidAccessKeyId" in p.stderr, "InvalidAccessKeyId not in stderr", p.stderr)
    s.step("error-bad-credentials", err_bad_credentials)

    # ---- presigned URL ---------------------------------------------------

    def presign():
        url = aws("s3", "presign", "s3://%s/big.bin" % BUCKET, "--expires-in", "300").stdout.strip()
        check(url.startswith(s.endpoint + "/%s/big.bin?" % BUCKET), "unexpected presigned URL %r" % url)
        check("X-Amz-Signature=" in url, "no signature in %r" % url)
        out = os.path.join(s.tmp, "presigned.bin")
        p = s.run(["curl", "-sS", "-o", out, "-w", "%{http_code}", url])
        check_eq(p.stdout, "200", "HTTP status of curl GET presigned URL")
        check_eq(cl.sha256_file(out), cl.sha256_file(big), "sha256 of presigned download")
        os.unlink(out)
        # A range through the presigned URL.
        p = s.run(["curl", "-sS", "-o", out, "-w", "%{http_code}", "-r", "1000-1999", url])
        check_eq(p.stdout, "206", "HTTP status of ranged presigned GET")
        with open(big, "rb") as f:
            f.seek(1000)
            want = f.read(1000)
        with open(out, "rb") as f:
            check(f.read() == want, "ranged presigned GET returned the wrong bytes")
        # Tampered: same signature, another key.
        bad = url.replace("/big.bin?", "/small.bin?")
        p = s.run(["curl", "-sS", "-o", out, "-w", "%{http_code}", bad])
        check_eq(p.stdout, "403", "HTTP status of tampered presigned URL")
        with open(out, "rb") as f:
            body = f.read().decode(errors="replace")
        check("<Code>SignatureDoesNotMatch</Code>" in body, "tampered URL: no SignatureDoesNotMatch", body[:300])
        # No signature at all.
        p = s.run(["curl", "-sS", "-o", out, "-w", "%{http_code}", s.endpoint + "/%s/big.bin" % BUCKET])
        check_eq(p.stdout, "403", "HTTP status of anonymous GET")
        os.unlink(out)
    s.step("presign-curl", presign, needs=["cp-large-multipart"])

    # ---- sync ------------------------------------------------------------

    state = {}
    tree = os.path.join(s.tmp, "tree")
    for rel, size in TREE.items():
        cl.write_random(os.path.join(tree, rel), size)
    prefix = "tree/"
    dest = "s3://%s/%s" % (BUCKET, prefix)

    def local_expected():
        out = {}
        for rel in cl.tree_digest(tree):
            p = os.path.join(tree, rel)
            out[prefix + rel] = (os.path.getsize(p), expected_etag(p))
        return out

    def sync_ops(stdout):
        ops = {"upload": set(), "delete": set(), "download": set()}
        for line in stdout.splitlines():
            m = re.match(r"^(upload|delete|download): (.*)$", line.strip())
            if m:
                # "upload: <local path> to s3://..." (the local path is
                # printed relative to the cwd): keep the remote side.
                ops[m.group(1)].add(m.group(2).split(" to ")[-1] if m.group(1) == "upload" else m.group(2))
        return ops

    def sync_up():
        check_eq(len(TREE), 32, "tree size")
        p = aws("s3", "sync", "--no-progress", tree, dest, timeout=180)
        got = remote_objects(prefix)
        diff = cl.diff_maps(got, local_expected())
        check(not diff, "remote listing after sync differs from the local tree", *diff)
        check_eq(len(sync_ops(p.stdout)["upload"]), len(TREE), "number of uploads")
        state["sync_up_puts"] = puts_per_key()
        # Nothing changed: a second sync must not transfer anything (this
        # checks sizes and LastModified in listings are right).
        p = aws("s3", "sync", "--no-progress", tree, dest)
        check_eq(p.stdout.strip(), "", "output of a sync with nothing to do")
    s.step("sync-up", sync_up, needs=["mb"])

    def sync_up_once():
        # Each file crosses the wire once: a PutObject the server answered
        # but the client sent again means the client could not read the
        # response (see expect-100-continue-empty-body).
        dup = {k: n for k, n in state["sync_up_puts"].items() if n != 1}
        check(not dup, "PutObject sent more than once for %r during one sync (the client lost the response "
              "and retried after its read timeout)" % dup)
    s.step("sync-up-each-file-sent-once", sync_up_once, needs=["sync-up"])

    def ls_tree():
        lines = [l for l in aws("s3", "ls", dest).stdout.splitlines() if l.strip()]
        pres = sorted(l.split("PRE ", 1)[1] for l in lines if l.strip().startswith("PRE "))
        files = sorted(l.split(None, 3)[3] for l in lines if not l.strip().startswith("PRE "))
        want_pres = sorted({rel.split("/")[0] + "/" for rel in TREE if "/" in rel})
        want_files = sorted(rel for rel in TREE if "/" not in rel)
        check_eq(pres, want_pres, "PRE entries of s3 ls " + dest)
        check_eq(files, want_files, "files of s3 ls " + dest)
        lines = [l for l in aws("s3", "ls", "--recursive", dest).stdout.splitlines() if l.strip()]
        got = sorted(l.split(None, 3)[3] for l in lines)
        check_eq(got, sorted(prefix + rel for rel in TREE), "s3 ls --recursive " + dest)
    s.step("ls-prefixes", ls_tree, needs=["sync-up"])

    def sync_delete():
        for rel in MODIFIED_SIZE:
            cl.write_random(os.path.join(tree, rel), TREE[rel] + 17)
        future = time.time() + 120
        for rel in MODIFIED_SAME_SIZE:
            p = os.path.join(tree, rel)
            cl.write_random(p, TREE[rel])
            os.utime(p, (future, future))
        for rel, size in ADDED.items():
            cl.write_random(os.path.join(tree, rel), size)
        for rel in DELETED:
            os.unlink(os.path.join(tree, rel))
        os.rmdir(os.path.join(tree, "my photos", "winter"))
        os.rmdir(os.path.join(tree, "emoji"))
        p = aws("s3", "sync", "--no-progress", "--delete", tree, dest, timeout=180)
        ops = sync_ops(p.stdout)
        want_up = {dest + rel
                   for rel in MODIFIED_SIZE + MODIFIED_SAME_SIZE + list(ADDED)}
        want_del = {dest + rel for rel in DELETED}
        check_eq(ops["upload"], want_up, "uploads of sync --delete")
        check_eq(ops["delete"], want_del, "deletes of sync --delete")
        diff = cl.diff_maps(remote_objects(prefix), local_expected())
        check(not diff, "remote listing after sync --delete differs from the local tree", *diff)
        # The whole bucket: the tree plus the two cp'd objects, nothing else.
        everything = remote_objects()
        check_eq(sorted(k for k in everything if not k.startswith(prefix)), ["big.bin", "small.bin"],
                 "keys outside tree/")
        check_eq(len(everything), len(TREE) + len(ADDED) - len(DELETED) + 2, "object count")
    s.step("sync-delete", sync_delete, needs=["sync-up"])

    def sync_down():
        down = os.path.join(s.tmp, "down")
        os.makedirs(down)
        p = aws("s3", "sync", "--no-progress", dest, down, timeout=180)
        diff = cl.diff_maps(cl.tree_digest(down), cl.tree_digest(tree))
        check(not diff, "downloaded tree differs from the local tree", *diff)
        check_eq(len(sync_ops(p.stdout)["download"]), len(cl.tree_digest(tree)), "number of downloads")
        shutil.rmtree(down)
    s.step("sync-down", sync_down, needs=["sync-delete"])

    # ---- teardown through the CLI -----------------------------------------

    def rm_recursive():
        before = remote_objects()
        check(before, "nothing to remove")
        p = aws("s3", "rm", "--recursive", "s3://" + BUCKET, timeout=120)
        deleted = sorted(l[len("delete: s3://%s/" % BUCKET):] for l in p.stdout.splitlines()
                         if l.startswith("delete: "))
        check_eq(deleted, sorted(before), "objects deleted by rm --recursive")
        check_eq(remote_objects(), {}, "objects left after rm --recursive")
        check_eq(aws("s3", "ls", "s3://" + BUCKET).stdout.strip(), "", "s3 ls of emptied bucket")
    s.step("rm-recursive", rm_recursive, needs=["mb"])

    def rb():
        p = aws("s3", "rb", "s3://" + BUCKET)
        check_eq(p.stdout.strip(), "remove_bucket: " + BUCKET, "rb output")
        aws("s3", "rb", "s3://" + ERRB)
        check_eq(aws("s3", "ls").stdout.strip(), "", "s3 ls after rb")
        p = aws("s3api", "head-bucket", "--bucket", BUCKET, ok_codes=None)
        check_eq(p.returncode, 254, "head-bucket of a removed bucket: exit status")
        check("404" in p.stderr, "head-bucket of a removed bucket: no 404", p.stderr)
    s.step("rb", rb, needs=["rm-recursive"])


if __name__ == "__main__":
    cl.Suite("clients/awscli").main(main)
