#!/usr/bin/python3
"""rclone (Debian's /usr/bin/rclone, S3 backend, provider Other) against a
real holdfast server.

Run by tests/clients/rclone.sh. rclone gets its own config file, cache dir
and HOME inside the suite's temp dir. Covers mkdir, copy (single PUT, and
multipart forced with a 5 MiB cutoff), ls/lsl/lsd, server-side copyto and
moveto, check (hash and --download), sync after changes, delete with a
filter, purge, rmdir, and the errors of common mistakes.
"""
import base64
import datetime
import os
import re
import subprocess

import clientlib as cl
from clientlib import MiB, check, check_eq

RCLONE = "/usr/bin/rclone"
BUCKET = "rclone-bucket"
CHUNK = 5 * MiB

TREE = {
    "readme.md": 512,
    "empty.dat": 0,
    "src/main.c": 4096,
    "src/lib/util.h": 800,
    "src/lib/deep/er/x.txt": 9,
    "assets/logo big.png": 70 * 1024,
    "assets/ícone ñ.svg": 1500,
    "assets/図/画像 2.jpg": 2500,
    "assets/odd+name=1&2.txt": 31,
    "media/movie.bin": 60 * MiB,
}
MODIFIED = ["readme.md", "src/lib/util.h"]  # new bytes; the size changes for one of them
ADDED = {"src/new file.c": 333, "notes/ünïcode notes.txt": 444}
DELETED = ["src/main.c", "assets/ícone ñ.svg"]


def main(s):
    # The remote is what `rclone config` asks for with provider Other: keys
    # and endpoint. Everything else is rclone's default (path-style
    # addressing, region us-east-1 for signing, no env auth).
    home = os.path.join(s.tmp, "home")
    os.makedirs(home)
    conf = os.path.join(s.tmp, "rclone.conf")
    with open(conf, "w") as f:
        f.write("[hf]\n"
                "type = s3\n"
                "provider = Other\n"
                "access_key_id = %s\n"
                "secret_access_key = %s\n"
                "endpoint = %s\n" % (cl.ACCESS_KEY, cl.SECRET_KEY, s.endpoint))
    env = dict(os.environ)
    # The AWS SDK inside rclone reads AWS_* variables (AWS_CA_BUNDLE breaks
    # its plain-http transport); the test only uses the config file.
    for k in list(env):
        if k.startswith("AWS_") or k.startswith("RCLONE_"):
            del env[k]
    env.update({"HOME": home, "XDG_CONFIG_HOME": os.path.join(home, ".config"),
                "XDG_CACHE_HOME": os.path.join(home, ".cache"), "TZ": "UTC", "LC_ALL": "C.UTF-8"})
    base = [RCLONE, "--config", conf, "--cache-dir", os.path.join(s.tmp, "cache"),
            "--temp-dir", s.tmp, "--log-level", "NOTICE", "--stats", "0", "--retries", "1",
            "--low-level-retries", "2"]
    boto = s.boto3()

    def rclone(*args, ok_codes=(0,), timeout=180, extra_env=None):
        return s.run(base + list(args), env=dict(env, **(extra_env or {})), ok_codes=ok_codes, timeout=timeout)

    def remote(prefix=""):
        out = {}
        for page in boto.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix):
            for o in page.get("Contents", []):
                out[o["Key"]] = (o["Size"], o["ETag"].strip('"'))
        return out

    def expected(root, prefix, part=None):
        out = {}
        for rel in cl.tree_digest(root):
            p = os.path.join(root, rel)
            size = os.path.getsize(p)
            etag = cl.multipart_etag(p, part) if part and size > part else cl.md5_file(p)
            out[prefix + rel] = (size, etag)
        return out

    def check_clean(prefix, root, download=False):
        args = ["check", root, "hf:%s/%s" % (BUCKET, prefix.rstrip("/"))]
        if download:
            args.insert(1, "--download")
        p = rclone(*args, ok_codes=None)
        n = len(cl.tree_digest(root))
        check(p.returncode == 0 and "0 differences found" in p.stderr and "%d matching files" % n in p.stderr
              and "could not be checked" not in p.stderr,
              "rclone %s reported differences (exit status %d)" % (" ".join(args[:2]), p.returncode),
              *["stderr: " + l for l in p.stderr.strip().splitlines()[-12:]])

    tree = os.path.join(s.tmp, "tree")
    for rel, size in TREE.items():
        cl.write_random(os.path.join(tree, rel), size)
    state = {}

    def mkdir():
        rclone("mkdir", "hf:" + BUCKET)
        boto.head_bucket(Bucket=BUCKET)
        check_eq([o for o in s.server_ops() if o[0] == "CreateBucket"], [("CreateBucket", 200)], "CreateBucket")
    s.step("mkdir", mkdir)

    def copy():
        rclone("copy", tree, "hf:%s/single" % BUCKET)
        ops = s.server_ops()
        check_eq(sum(1 for o in ops if o == ("PutObject", 200)), len(TREE), "PutObject requests")
        check(not any(o[0] == "UploadPart" for o in ops), "multipart used below the 200 MiB cutoff")
        state["single"] = expected(tree, "single/")
        diff = cl.diff_maps(remote("single/"), state["single"])
        check(not diff, "remote listing after copy differs from the local tree", *diff)
    s.step("copy", copy, needs=["mkdir"])

    def copy_multipart():
        rclone("copy", "--s3-upload-cutoff", "5M", "--s3-chunk-size", "5M", tree, "hf:%s/multi" % BUCKET)
        ops = s.server_ops()
        check_eq(sum(1 for o in ops if o == ("CreateMultipartUpload", 200)), 1, "CreateMultipartUpload requests")
        check_eq(sum(1 for o in ops if o == ("UploadPart", 200)), 12, "UploadPart requests (60 MiB / 5 MiB)")
        check_eq(sum(1 for o in ops if o == ("CompleteMultipartUpload", 200)), 1, "CompleteMultipartUpload")
        want = expected(tree, "multi/", CHUNK)
        check(want["multi/media/movie.bin"][1].endswith("-12"), "bad expected ETag")
        diff = cl.diff_maps(remote("multi/"), want)
        check(not diff, "remote listing after multipart copy differs from the local tree", *diff)
        h = boto.head_object(Bucket=BUCKET, Key="multi/media/movie.bin")
        check_eq(h["Metadata"].get("md5chksum"),
                 base64.b64encode(bytes.fromhex(cl.md5_file(os.path.join(tree, "media/movie.bin"))))
                 .decode(), "rclone's md5chksum metadata")
    s.step("copy-multipart", copy_multipart, needs=["mkdir"])

    def ls():
        got = {}
        for line in rclone("ls", "hf:%s/single" % BUCKET).stdout.splitlines():
            m = re.match(r"^\s*(\d+) (.*)$", line)
            check(m, "unparsable rclone ls line %r" % line)
            got[m.group(2)] = int(m.group(1))
        check_eq(got, {rel: size for rel, size in TREE.items()}, "rclone ls")
        # lsl shows the modification time rclone stored in X-Amz-Meta-Mtime.
        got = {}
        for line in rclone("lsl", "hf:%s/multi" % BUCKET).stdout.splitlines():
            m = re.match(r"^\s*(\d+) (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+) (.*)$", line)
            check(m, "unparsable rclone lsl line %r" % line)
            got[m.group(3)] = (int(m.group(1)), m.group(2)[:23])
        want = {}
        for rel, size in TREE.items():
            ns = os.stat(os.path.join(tree, rel)).st_mtime_ns
            t = datetime.datetime.fromtimestamp(ns // 10**9, datetime.timezone.utc)
            want[rel] = (size, t.strftime("%Y-%m-%d %H:%M:%S") + ".%03d" % ((ns // 10**6) % 1000))
        check_eq(got, want, "rclone lsl (size, mtime to the millisecond)")
        # lsd: the buckets at the root, the directories below a path.
        lsd_root = [l.split()[-1] for l in rclone("lsd", "hf:").stdout.splitlines() if l.strip()]
        check_eq(lsd_root, [BUCKET], "rclone lsd hf:")
        lsd = sorted(l.split(None, 4)[-1] for l in rclone("lsd", "hf:%s/single" % BUCKET).stdout.splitlines()
                     if l.strip())
        check_eq(lsd, ["assets", "media", "src"], "rclone lsd hf:%s/single" % BUCKET)
        lsf = sorted(rclone("lsf", "-R", "hf:%s/single/assets" % BUCKET).stdout.splitlines())
        check_eq(lsf, sorted(["logo big.png", "ícone ñ.svg", "図/", "図/画像 2.jpg", "odd+name=1&2.txt"]),
                 "rclone lsf -R")
    s.step("ls-lsl-lsd", ls, needs=["copy", "copy-multipart"])

    def check_step():
        check_clean("single", tree)
        check_clean("multi", tree)
        check_clean("multi", tree, download=True)
        # And a difference is found: check must not just say yes.
        other = os.path.join(s.tmp, "other")
        cl.write_random(os.path.join(other, "readme.md"), 512)
        p = rclone("check", "--one-way", other, "hf:%s/single" % BUCKET, ok_codes=None)
        check_eq(p.returncode, 1, "exit status of rclone check with a changed file")
        check("1 differences found" in p.stderr, "changed file not found by check", p.stderr)
    s.step("check", check_step, needs=["copy", "copy-multipart"])

    def cat_range():
        big = os.path.join(tree, "media/movie.bin")
        with open(big, "rb") as f:
            f.seek(7 * MiB - 10)
            want = f.read(100)
        p = subprocess.run(base + ["cat", "--offset", str(7 * MiB - 10), "--count", "100",
                                   "hf:%s/multi/media/movie.bin" % BUCKET],
                           env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
        check_eq(p.returncode, 0, "exit status of rclone cat")
        check(p.stdout == want, "rclone cat --offset --count returned the wrong bytes")
    s.step("cat-range", cat_range, needs=["copy-multipart"])

    def copy_server_side():
        # copyto/moveto inside one remote are server-side: CopyObject below
        # the 4.656 GiB copy cutoff, then DeleteObject for the move.
        s.mark_log()
        rclone("copyto", "hf:%s/single/readme.md" % BUCKET, "hf:%s/copied/readme.md" % BUCKET)
        rclone("moveto", "hf:%s/copied/readme.md" % BUCKET, "hf:%s/moved/readme.md" % BUCKET)
        log = s.server_log_since_mark()
        check_eq(len(re.findall(r' op=CopyObject bucket="[^"]*" key="(?:copied|moved)/readme.md" status=200', log)), 2,
                 "CopyObject requests for copyto and moveto")
        check(" op=PutObject " not in log and " op=GetObject " not in log, "copy went through the client")
        check_eq(remote("copied/"), {}, "objects left under copied/ after moveto")
        check_eq(remote("moved/"), {"moved/readme.md": state["single"]["single/readme.md"]}, "moved object")
        p = subprocess.run(base + ["cat", "hf:%s/moved/readme.md" % BUCKET], env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
        check_eq(p.returncode, 0, "exit status of rclone cat")
        with open(os.path.join(tree, "readme.md"), "rb") as f:
            check(p.stdout == f.read(), "rclone cat of the moved object returned the wrong bytes")
        rclone("deletefile", "hf:%s/moved/readme.md" % BUCKET)
        check_eq(remote("moved/"), {}, "objects left under moved/ after deletefile")
    s.step("copy-server-side", copy_server_side, needs=["copy"])

    def sync():
        cl.write_random(os.path.join(tree, MODIFIED[0]), TREE[MODIFIED[0]] + 10)
        cl.write_random(os.path.join(tree, MODIFIED[1]), TREE[MODIFIED[1]])
        for rel, size in ADDED.items():
            cl.write_random(os.path.join(tree, rel), size)
        for rel in DELETED:
            os.unlink(os.path.join(tree, rel))
        s.mark_log()
        rclone("sync", "--s3-upload-cutoff", "5M", "--s3-chunk-size", "5M", tree, "hf:%s/multi" % BUCKET)
        puts = sorted(re.findall(r' op=PutObject bucket="[^"]*" key="([^"]*)" status=200',
                                 s.server_log_since_mark()))
        check_eq(puts, sorted("multi/" + r for r in MODIFIED + list(ADDED)), "objects uploaded by sync")
        diff = cl.diff_maps(remote("multi/"), expected(tree, "multi/", CHUNK))
        check(not diff, "remote listing after sync differs from the local tree", *diff)
        check_clean("multi", tree)
    s.step("sync", sync, needs=["copy-multipart"])

    def delete():
        rclone("delete", "--include", "*.{png,jpg}", "hf:%s/single" % BUCKET)
        want = {k: v for k, v in state["single"].items() if not re.search(r"\.(png|jpg)$", k)}
        check_eq(len(want), len(TREE) - 2, "objects kept")
        diff = cl.diff_maps(remote("single/"), want)
        check(not diff, "remote listing after rclone delete --include differs", *diff)
    s.step("delete", delete, needs=["copy"])

    def purge():
        rclone("purge", "hf:%s/multi" % BUCKET)
        check_eq(remote("multi/"), {}, "objects left under multi/ after purge")
        check(remote("single/"), "purge of multi/ removed single/ too")
    s.step("purge", purge, needs=["copy-multipart"])

    def errors():
        p = rclone("rmdir", "hf:" + BUCKET, ok_codes=None)
        check_eq(p.returncode, 1, "exit status of rmdir of a non-empty bucket")
        check("BucketNotEmpty" in p.stderr, "no BucketNotEmpty", p.stderr)
        p = rclone("lsf", "hf:no-such-bucket-here", ok_codes=None)
        check_eq(p.returncode, 3, "exit status of lsf of a missing bucket (directory not found)")
        p = rclone("mkdir", "hf:Bad_Bucket_Name", ok_codes=None)
        check_eq(p.returncode, 1, "exit status of mkdir of an invalid bucket name")
        check("InvalidBucketName" in p.stderr, "no InvalidBucketName", p.stderr)
        p = rclone("lsf", "hf:" + BUCKET, ok_codes=None,
                   extra_env={"RCLONE_CONFIG_HF_SECRET_ACCESS_KEY": "wrongsecret000000000000000000000000000ab"})
        check_eq(p.returncode, 1, "exit status with a wrong secret")
        check("SignatureDoesNotMatch" in p.stderr, "no SignatureDoesNotMatch", p.stderr)
        boto.head_bucket(Bucket=BUCKET)
    s.step("errors", errors, needs=["copy"])

    def rmdir():
        rclone("delete", "hf:" + BUCKET)
        check_eq(remote(), {}, "objects left after rclone delete")
        rclone("rmdir", "hf:" + BUCKET)
        check_eq([l for l in rclone("lsd", "hf:").stdout.splitlines() if l.strip()], [], "rclone lsd hf: after rmdir")
        p = rclone("lsf", "hf:" + BUCKET, ok_codes=None)
        check_eq(p.returncode, 3, "exit status of lsf of the removed bucket")
    s.step("rmdir", rmdir, needs=["mkdir"])


if __name__ == "__main__":
    cl.Suite("clients/rclone").main(main)
