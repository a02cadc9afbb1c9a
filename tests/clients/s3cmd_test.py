#!/usr/bin/python3
"""s3cmd (Debian's /usr/bin/s3cmd) against a real holdfast server.

Run by tests/clients/s3cmd.sh with s3cmd's default configuration, and by
tests/clients/s3cmd-v2.sh with one setting more (HF_S3CMD_SIGV2=1:
`signature_v2 = True`, as older setups and appliances configure s3cmd,
every request signed with Signature Version 2). The
config file sets only what pointing s3cmd at another endpoint needs --
access_key, secret_key, host_base and host_bucket (the endpoint: path-style
addressing) -- plus use_https = False, because this server speaks plain
HTTP and s3cmd defaults to HTTPS. Everything else is s3cmd's default,
notably bucket_location = US, a region AWS (and holdfast) refuse with
AuthorizationHeaderMalformed naming the right one in <Region>: s3cmd then
retries there. The last steps run against an HTTPS server with the four
settings alone (the CA trusted through SSL_CERT_FILE, as a system-wide CA
would be).

Covers mb (and mb of an owned bucket), put (single and multipart), ls, la,
info, get, put --server-side-encryption, cp (server-side copy), sync up/down with --delete-removed, del,
del --recursive --force, rb, and the errors of common mistakes with
s3cmd's exit codes.
"""
import os
import re
import subprocess

import clientlib as cl
from clientlib import MiB, check, check_eq

S3CMD = "/usr/bin/s3cmd"
BUCKET = "s3cmd-bucket"
OTHER = "s3cmd-other"
PART = 15 * MiB  # s3cmd's default multipart_chunk_size_mb
SIGV2 = os.environ.get("HF_S3CMD_SIGV2") == "1"

# s3cmd exit codes (S3/ExitCodes.py).
EX_USAGE = 64
EX_CLIENTERROR = 11
EX_NOTFOUND = 12
EX_CONFLICT = 13
EX_ACCESSDENIED = 77

TREE = {
    "notes.txt": 300,
    "empty.txt": 0,
    "docs/report 2024.pdf": 50 * 1024,
    "docs/draft (old).txt": 700,
    "docs/deep/er/est.txt": 12,
    "photos/été à la plage.jpg": 40 * 1024,
    "photos/東京/夜景 1.png": 3000,
    "photos/party 🎈.gif": 999,
    "misc/a+b=c&d.txt": 41,
    "misc/100% sure.txt": 42,
    "video/clip.bin": 16 * MiB + 5,  # above the 15 MiB chunk: multipart inside sync
}
MODIFIED = ["notes.txt", "photos/東京/夜景 1.png"]  # same size, new bytes (s3cmd compares md5)
ADDED = {"docs/new one.txt": 123, "added/ñandú.txt": 321}
DELETED = ["docs/draft (old).txt", "photos/party 🎈.gif", "misc/100% sure.txt"]


def main(s):
    cfg = os.path.join(s.tmp, "s3cfg")
    with open(cfg, "w") as f:
        f.write("[default]\n"
                "access_key = %s\n"
                "secret_key = %s\n"
                "host_base = %s\n"
                "host_bucket = %s\n"
                "use_https = False\n"
                "%s"
                % (cl.ACCESS_KEY, cl.SECRET_KEY, s.hostport, s.hostport,
                   "signature_v2 = True\n" if SIGV2 else ""))
    env = dict(os.environ, HOME=os.path.join(s.tmp, "home"), LC_ALL="C.UTF-8")
    os.makedirs(env["HOME"])
    boto = s.boto3()

    def s3cmd(*args, ok_codes=(0,), timeout=120, config=cfg):
        return s.run([S3CMD, "-c", config] + list(args), env=env, ok_codes=ok_codes, timeout=timeout)

    def expect_error(args, rc, *needles):
        p = s3cmd(*args, ok_codes=None)
        out = p.stdout + p.stderr
        check_eq(p.returncode, rc, "exit status of s3cmd %s" % " ".join(args[:2]))
        for n in needles:
            check(n in out, "%r not in the output of s3cmd %s" % (n, " ".join(args[:2])),
                  *["output: " + l for l in out.strip().splitlines()])

    def ls_lines(*args):
        """Parsed `s3cmd ls` lines: (size, uri), size -1 for a DIR line."""
        out = []
        for line in s3cmd("ls", *args).stdout.splitlines():
            if not line.strip():
                continue
            m = re.match(r"^\s+DIR\s+(s3://.*)$", line)
            if m:
                out.append((-1, m.group(1)))  # a common prefix ("DIR")
                continue
            m = re.match(r"^\d{4}-\d\d-\d\d \d\d:\d\d\s+(\d+)\s+(s3://.*)$", line)
            check(m, "unparsable s3cmd ls line %r" % line)
            out.append((int(m.group(1)), m.group(2)))
        return out

    def remote(prefix=""):
        """{key: (size, etag)} straight from ListObjectsV2 (boto3), all pages."""
        out = {}
        for page in boto.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix):
            for o in page.get("Contents", []):
                out[o["Key"]] = (o["Size"], o["ETag"].strip('"'))
        return out

    def etag_for(path):
        if os.path.getsize(path) > PART:
            return cl.multipart_etag(path, PART)
        return cl.md5_file(path)

    small = os.path.join(s.tmp, "small.bin")
    big = os.path.join(s.tmp, "big.bin")
    cl.write_random(small, 2000)
    cl.write_random(big, 40 * MiB)

    def mb():
        p = s3cmd("mb", "s3://" + BUCKET)
        check_eq(p.stdout.strip(), "Bucket 's3://%s/' created" % BUCKET, "mb output")
        # bucket_location = US: refused naming us-east-1, then created there
        # (SigV4 signs a region; Signature Version 2 names none, so a V2
        # request has nothing to refuse and is created at once).
        log = s.server_log_since_mark()
        if SIGV2:
            check(("CreateBucket", 200) in s.server_ops(), "no CreateBucket", *log.splitlines()[-6:])
        else:
            check(re.search(r"op=CreateBucket .*status=400 error=AuthorizationHeaderMalformed",
                            log) and ("CreateBucket", 200) in s.server_ops(),
                  "s3cmd did not go through the region retry", *log.splitlines()[-6:])
        s3cmd("mb", "s3://" + OTHER)
        boto.head_bucket(Bucket=BUCKET)
    s.step("mb", mb)

    def signature_version():
        # Which signature s3cmd really sent (it falls back to V2 on some
        # errors by itself: this run must not depend on that).
        p = s3cmd("--debug", "ls", "s3://" + BUCKET)
        auth = re.findall(r"'Authorization': '(AWS4-HMAC-SHA256|AWS) ", p.stderr)
        check(auth, "no Authorization header in s3cmd --debug output")
        check_eq(set(auth), {"AWS" if SIGV2 else "AWS4-HMAC-SHA256"}, "signature schemes sent")
    s.step("signature-version", signature_version, needs=["mb"])
    def mb_again():
        # us-east-1 answers CreateBucket of an owned bucket 200, as S3 does
        p = s3cmd("mb", "s3://" + BUCKET)
        check_eq(p.stdout.strip(), "Bucket 's3://%s/' created" % BUCKET, "mb output")
    s.step("mb-owned-bucket-again", mb_again, needs=["mb"])

    def put_small():
        p = s3cmd("put", small, "s3://%s/small.bin" % BUCKET)
        check("upload:" in p.stdout, "no upload line", p.stdout)
        h = boto.head_object(Bucket=BUCKET, Key="small.bin")
        check_eq(h["ContentLength"], 2000, "ContentLength")
        check_eq(h["ETag"], '"%s"' % cl.md5_file(small), "ETag")
        check_eq([o for o in s.server_ops() if o[0] == "PutObject"], [("PutObject", 200)], "PutObject requests")
    s.step("put-small", put_small, needs=["mb"])

    def put_large_multipart():
        s3cmd("put", big, "s3://%s/dir/big.bin" % BUCKET, timeout=180)
        ops = s.server_ops()
        check(("CreateMultipartUpload", 200) in ops, "s3cmd did not use multipart", repr(ops[:8]))
        check_eq(sum(1 for o in ops if o == ("UploadPart", 200)), 3, "UploadPart requests (15 MiB chunks)")
        h = boto.head_object(Bucket=BUCKET, Key="dir/big.bin")
        check_eq(h["ContentLength"], 40 * MiB, "ContentLength")
        check_eq(h["ETag"], '"%s"' % cl.multipart_etag(big, PART), "multipart ETag")
        # s3cmd keeps the whole-file md5 in its own metadata.
        attrs = h["Metadata"].get("s3cmd-attrs", "")
        check("md5:%s" % cl.md5_file(big) in attrs, "s3cmd-attrs metadata lost: %r" % attrs)
    s.step("put-large-multipart", put_large_multipart, needs=["mb"])

    def ls():
        buckets = [l.split()[-1] for l in s3cmd("ls").stdout.splitlines() if l.strip()]
        check_eq(sorted(buckets), sorted(["s3://" + BUCKET, "s3://" + OTHER]), "s3cmd ls (buckets)")
        check_eq(sorted(ls_lines("s3://" + BUCKET)),
                 sorted([(-1, "s3://%s/dir/" % BUCKET), (2000, "s3://%s/small.bin" % BUCKET)]),
                 "s3cmd ls s3://" + BUCKET)
        check_eq(sorted(ls_lines("--recursive", "s3://" + BUCKET)),
                 sorted([(40 * MiB, "s3://%s/dir/big.bin" % BUCKET), (2000, "s3://%s/small.bin" % BUCKET)]),
                 "s3cmd ls --recursive")
    s.step("ls", ls, needs=["put-small", "put-large-multipart"])

    def la():
        s3cmd("put", small, "s3://%s/in-other.bin" % OTHER)
        out = [l for l in s3cmd("la").stdout.splitlines() if l.strip()]
        parsed = []
        for line in out:
            m = re.match(r"^\s+DIR\s+(s3://.*)$", line)
            if m:
                parsed.append((-1, m.group(1)))
                continue
            m = re.match(r"^\d{4}-\d\d-\d\d \d\d:\d\d\s+(\d+)\s+(s3://.*)$", line)
            check(m, "unparsable s3cmd la line %r" % line)
            parsed.append((int(m.group(1)), m.group(2)))
        want = [(-1, "s3://%s/dir/" % BUCKET), (2000, "s3://%s/small.bin" % BUCKET),
                (2000, "s3://%s/in-other.bin" % OTHER)]
        check_eq(sorted(parsed), sorted(want), "s3cmd la")
    s.step("la", la, needs=["put-small", "put-large-multipart"])

    def info():
        # s3cmd info also asks for the bucket policy (GET ?policy) and CORS
        # (GET ?cors); with neither set holdfast answers NoSuchBucketPolicy
        # and NoSuchCORSConfiguration, which s3cmd reports as "none". The
        # object ACL (GET ?acl) is answered.
        p = s3cmd("info", "s3://%s/dir/big.bin" % BUCKET)
        fields = {}
        for line in p.stdout.splitlines():
            m = re.match(r"^\s+([^:]+):\s+(.*)$", line)
            if m:
                fields[m.group(1).strip()] = m.group(2).strip()
        check_eq(fields.get("File size"), str(40 * MiB), "info File size")
        check_eq(fields.get("MD5 sum"), cl.md5_file(big), "info MD5 sum")
        check_eq(fields.get("ACL"), "%s: FULL_CONTROL" % "root", "info ACL")
        p = s3cmd("info", "s3://%s/small.bin" % BUCKET)
        check("MD5 sum:   %s" % cl.md5_file(small) in p.stdout, "info of small.bin: wrong MD5 sum", p.stdout)
    s.step("info", info, needs=["put-large-multipart"])

    def get():
        for key, src in (("small.bin", small), ("dir/big.bin", big)):
            dst = os.path.join(s.tmp, "got-" + os.path.basename(key))
            s3cmd("get", "s3://%s/%s" % (BUCKET, key), dst, timeout=180)
            check_eq(cl.sha256_file(dst), cl.sha256_file(src), "sha256 of s3cmd get " + key)
            os.unlink(dst)
        # A range of bytes, as s3cmd get --continue does after an interruption.
        part = os.path.join(s.tmp, "partial.bin")
        with open(big, "rb") as f, open(part, "wb") as o:
            o.write(f.read(5 * MiB + 3))
        s3cmd("get", "--continue", "s3://%s/dir/big.bin" % BUCKET, part, timeout=180)
        check_eq(cl.sha256_file(part), cl.sha256_file(big), "sha256 after s3cmd get --continue")
        check(("GetObject", 206) in s.server_ops(), "get --continue did not use a range request",
              repr(s.server_ops()))
        os.unlink(part)
    s.step("get", get, needs=["put-small", "put-large-multipart"])

    def cp():
        p = s3cmd("cp", "s3://%s/small.bin" % BUCKET, "s3://%s/copy.bin" % OTHER)
        check("remote copy:" in p.stdout, "no remote copy line", p.stdout)
        check_eq([o for o in s.server_ops() if o[0] in ("CopyObject", "PutObject")], [("CopyObject", 200)],
                 "requests of s3cmd cp")
        check_eq(boto.head_object(Bucket=OTHER, Key="copy.bin")["ETag"], '"%s"' % cl.md5_file(small),
                 "ETag of the copy")
        s3cmd("del", "s3://%s/copy.bin" % OTHER)
    s.step("cp-server-side", cp, needs=["put-small"])

    def put_sse():
        # --server-side-encryption sends x-amz-server-side-encryption: AES256.
        s3cmd("put", "--server-side-encryption", small, "s3://%s/sse/secret.bin" % BUCKET)
        h = boto.head_object(Bucket=BUCKET, Key="sse/secret.bin")
        check_eq(h.get("ServerSideEncryption"), "AES256", "ServerSideEncryption")
        check_eq(h["ETag"], '"%s"' % cl.md5_file(small), "ETag of an SSE-S3 object (s3cmd checks it)")
        p = s3cmd("info", "s3://%s/sse/secret.bin" % BUCKET)
        check(re.search(r"SSE:\s+AES256", p.stdout), "s3cmd info shows no SSE: AES256", p.stdout)
        dst = os.path.join(s.tmp, "got-secret.bin")
        s3cmd("get", "s3://%s/sse/secret.bin" % BUCKET, dst)
        check_eq(cl.sha256_file(dst), cl.sha256_file(small), "sha256 of s3cmd get of an SSE-S3 object")
        os.unlink(dst)
        s3cmd("del", "s3://%s/sse/secret.bin" % BUCKET)
    s.step("put-server-side-encryption", put_sse, needs=["mb"])

    # ---- errors ----------------------------------------------------------

    def errors():
        expect_error(["get", "s3://%s/no such key" % BUCKET, os.path.join(s.tmp, "nothing")], EX_USAGE,
                     "does not exist")
        check(not os.path.exists(os.path.join(s.tmp, "nothing")), "s3cmd get created a file for a missing key")
        expect_error(["info", "s3://%s/no such key" % BUCKET], EX_NOTFOUND, "404")
        expect_error(["ls", "s3://no-such-bucket-here"], EX_NOTFOUND, "does not exist")
        expect_error(["rb", "s3://" + BUCKET], EX_CONFLICT, "BucketNotEmpty")
        expect_error(["mb", "s3://Bad_Bucket_Name"], EX_CLIENTERROR, "InvalidBucketName")
        bad = os.path.join(s.tmp, "s3cfg-bad")
        with open(cfg) as f, open(bad, "w") as o:
            o.write(f.read().replace(cl.SECRET_KEY, "wrongsecret000000000000000000000000000ab"))
        p = s3cmd("ls", "s3://" + BUCKET, config=bad, ok_codes=None)
        check_eq(p.returncode, EX_ACCESSDENIED, "exit status with a wrong secret")
        check("SignatureDoesNotMatch" in p.stderr, "no SignatureDoesNotMatch", p.stderr)
        # Nothing above changed anything.
        check_eq(sorted(remote()), ["dir/big.bin", "small.bin"], "objects after the failed commands")
    s.step("errors", errors, needs=["put-small", "put-large-multipart"])

    # ---- sync ------------------------------------------------------------

    tree = os.path.join(s.tmp, "tree")
    for rel, size in TREE.items():
        cl.write_random(os.path.join(tree, rel), size)
    # Two files with equal content: s3cmd sync makes the second one with a
    # server-side copy (CopyObject) of the first.
    with open(os.path.join(tree, "docs", "report 2024.pdf"), "rb") as f:
        dup = f.read()
    with open(os.path.join(tree, "docs", "copy of report.pdf"), "wb") as f:
        f.write(dup)
    dest = "s3://%s/tree/" % BUCKET

    def expected():
        return {"tree/" + rel: (os.path.getsize(os.path.join(tree, rel)), etag_for(os.path.join(tree, rel)))
                for rel in cl.tree_digest(tree)}

    def sync_up():
        s3cmd("sync", tree + "/", dest, timeout=180)
        diff = cl.diff_maps(remote("tree/"), expected())
        check(not diff, "remote listing after sync differs from the local tree", *diff)
        # Nothing to do the second time.
        s.mark_log()
        p = s3cmd("sync", tree + "/", dest)
        check("upload:" not in p.stdout, "second sync uploaded again", p.stdout)
        check_eq([o for o in s.server_ops() if o[0] in ("PutObject", "UploadPart")], [],
                 "uploads during a sync with nothing to do")
    s.step("sync-up", sync_up, needs=["mb"])

    def sync_delete_removed():
        for rel in MODIFIED:
            cl.write_random(os.path.join(tree, rel), TREE[rel])
        for rel, size in ADDED.items():
            cl.write_random(os.path.join(tree, rel), size)
        for rel in DELETED:
            os.unlink(os.path.join(tree, rel))
        p = s3cmd("sync", "--delete-removed", tree + "/", dest, timeout=180)
        ups = set(re.findall(r"-> '(s3://[^']*)'", p.stdout))
        dels = set(re.findall(r"^delete: '(s3://[^']*)'", p.stdout, re.M))
        check_eq(ups, {dest + r for r in MODIFIED + list(ADDED)}, "uploads of sync --delete-removed")
        check_eq(dels, {dest + r for r in DELETED}, "deletes of sync --delete-removed")
        diff = cl.diff_maps(remote("tree/"), expected())
        check(not diff, "remote listing after sync --delete-removed differs from the local tree", *diff)
        got = sorted(uri for _sz, uri in ls_lines("--recursive", dest))
        check_eq(got, sorted(dest + rel for rel in cl.tree_digest(tree)), "s3cmd ls --recursive " + dest)
    s.step("sync-delete-removed", sync_delete_removed, needs=["sync-up"])

    def sync_down():
        down = os.path.join(s.tmp, "down")
        os.makedirs(down)
        s3cmd("sync", dest, down + "/", timeout=180)
        diff = cl.diff_maps(cl.tree_digest(down), cl.tree_digest(tree))
        check(not diff, "downloaded tree differs from the local tree", *diff)
    s.step("sync-down", sync_down, needs=["sync-delete-removed"])

    # ---- deleting --------------------------------------------------------

    def delete():
        p = s3cmd("del", "s3://%s/small.bin" % BUCKET)
        check_eq(p.stdout.strip(), "delete: 's3://%s/small.bin'" % BUCKET, "del output")
        check("small.bin" not in remote(), "small.bin still listed after del")
        expect_error(["info", "s3://%s/small.bin" % BUCKET], EX_NOTFOUND, "404")
    s.step("del", delete, needs=["put-small"])

    def del_recursive():
        before = sorted(remote())
        check(before, "nothing to delete")
        p = s3cmd("del", "--recursive", "--force", "s3://" + BUCKET, timeout=120)
        deleted = sorted(re.findall(r"^delete: 's3://%s/(.*)'$" % re.escape(BUCKET), p.stdout, re.M))
        check_eq(deleted, before, "objects deleted by del --recursive --force")
        check_eq(remote(), {}, "objects left")
        check_eq(ls_lines("s3://" + BUCKET), [], "s3cmd ls of the emptied bucket")
    s.step("del-recursive-force", del_recursive, needs=["mb"])

    def rb():
        p = s3cmd("rb", "s3://" + BUCKET)
        check_eq(p.stdout.strip(), "Bucket 's3://%s/' removed" % BUCKET, "rb output")
        s3cmd("del", "s3://%s/in-other.bin" % OTHER, ok_codes=None)
        s3cmd("rb", "s3://" + OTHER)
        check_eq(s3cmd("ls").stdout.strip(), "", "s3cmd ls after rb")
        expect_error(["ls", "s3://" + BUCKET], EX_NOTFOUND, "does not exist")
    s.step("rb", rb, needs=["del-recursive-force"])

    # ---- HTTPS, with nothing but the four settings -------------------------

    tls_everyday(s, small, big)


def tls_everyday(s, small, big):
    """An HTTPS server and a config of access_key, secret_key, host_base and
    host_bucket only; the private CA is trusted the way a system-wide CA is
    (SSL_CERT_FILE, which OpenSSL reads as its default trust store)."""
    d = os.path.join(s.tmp, "tls")
    os.makedirs(d)

    def openssl(*args):
        subprocess.run(["openssl"] + list(args), cwd=d, check=True, capture_output=True)
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2",
            "-subj", "/CN=s3cmd test CA", "-keyout", "ca.key", "-out", "ca.pem")
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj", "/CN=127.0.0.1",
            "-keyout", "leaf.key", "-out", "leaf.csr")
    with open(os.path.join(d, "leaf.ext"), "w") as f:
        f.write("subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n")
    openssl("x509", "-req", "-in", "leaf.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
            "-days", "2", "-extfile", "leaf.ext", "-out", "leaf.pem")
    srv = cl.hf.Server(data=os.path.join(d, "data"), args=["--tls-cert", os.path.join(d, "leaf.pem"),
                                                           "--tls-key", os.path.join(d, "leaf.key")])
    os.makedirs(srv.data)
    srv.start()
    try:
        hostport = "127.0.0.1:%d" % srv.port
        cfg = os.path.join(d, "s3cfg")
        with open(cfg, "w") as f:
            f.write("[default]\naccess_key = %s\nsecret_key = %s\nhost_base = %s\nhost_bucket = %s\n"
                    % (cl.ACCESS_KEY, cl.SECRET_KEY, hostport, hostport))
        env = dict(os.environ, HOME=os.path.join(d, "home"), LC_ALL="C.UTF-8",
                   SSL_CERT_FILE=os.path.join(d, "ca.pem"))
        os.makedirs(env["HOME"])
        b = "s3cmd-tls"

        def s3cmd(*args, ok_codes=(0,)):
            return s.run([S3CMD, "-c", cfg] + list(args), env=env, ok_codes=ok_codes, timeout=180)

        def everyday():
            check_eq(s3cmd("mb", "s3://" + b).stdout.strip(), "Bucket 's3://%s/' created" % b, "mb output")
            s3cmd("put", small, "s3://%s/small.bin" % b)
            s3cmd("put", big, "s3://%s/big.bin" % b)
            names = sorted(l.split()[-1] for l in s3cmd("ls", "s3://" + b).stdout.splitlines() if l.strip())
            check_eq(names, ["s3://%s/big.bin" % b, "s3://%s/small.bin" % b], "s3cmd ls over HTTPS")
            for key, src in (("small.bin", small), ("big.bin", big)):
                dst = os.path.join(d, "got")
                s3cmd("get", "--force", "s3://%s/%s" % (b, key), dst)
                check_eq(cl.sha256_file(dst), cl.sha256_file(src), "sha256 of s3cmd get " + key)
            s3cmd("del", "--recursive", "--force", "s3://" + b)
            check_eq(s3cmd("rb", "s3://" + b).stdout.strip(), "Bucket 's3://%s/' removed" % b, "rb output")
            # without the CA, s3cmd refuses the server: the trust is what the
            # step relies on, not a disabled check
            p = s.run([S3CMD, "-c", cfg, "ls"], env=dict(env, SSL_CERT_FILE=os.path.join(d, "leaf.pem")),
                      ok_codes=None, timeout=120)
            check(p.returncode != 0 and "CERTIFICATE_VERIFY_FAILED" in p.stderr + p.stdout,
                  "s3cmd accepted a server it cannot verify", p.stderr[-300:])
        s.step("https-four-settings", everyday)
    finally:
        rc = srv.stop()
        srv.cleanup()
        if rc != 0:
            s.report("https-server-sigterm-exit", False, "server exited with status %r on SIGTERM" % rc)


if __name__ == "__main__":
    cl.Suite("clients/s3cmd-v2" if SIGV2 else "clients/s3cmd").main(main)
