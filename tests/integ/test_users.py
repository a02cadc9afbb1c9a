"""User administration against a real server: key rotation with a grace
period, disabling and enabling users, the per-user permission to create
buckets, the audit log of admin actions, and secrets kept out of every log.

Each grant is checked next to its twin refusal: the key that works and the
one that does not, the user who may and the one who may not."""
import json
import os
import pwd
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hf  # noqa: E402
from botocore.exceptions import ClientError  # noqa: E402

SERVER = None
SECRETS = set()  # every secret this module saw: none may appear in a log


def setUpModule():
    global SERVER
    SERVER = hf.Server(args=["--fault-injection"]).start()
    SECRETS.add(hf.SECRET_KEY)


def tearDownModule():
    global SERVER
    rc = SERVER.stop()
    SERVER.cleanup()
    SERVER = None
    if rc != 0:
        raise AssertionError("server exited with status %r on SIGTERM" % rc)


def admin(*args, server=None, stdin=None, env=None):
    """`holdfast admin ARGS` signed with the root key; (rc, stdout, stderr)."""
    srv = server or SERVER
    e = dict(os.environ, HOLDFAST_ACCESS_KEY=hf.ACCESS_KEY, HOLDFAST_SECRET_KEY=hf.SECRET_KEY)
    e.update(env or {})
    p = subprocess.run([hf.BIN, "admin", "--admin", srv.status] + list(args), env=e,
                       input=stdin, capture_output=True, text=True, timeout=60)
    for s in (p.stdout, p.stderr):
        for line in s.splitlines():
            if line.startswith("secret key:"):
                SECRETS.add(line.split(":", 1)[1].strip())
    return p.returncode, p.stdout, p.stderr


def local_user():
    """What the admin CLI reports as the local account: name(uid)."""
    uid = os.geteuid()
    return "%s(%d)" % (pwd.getpwuid(uid).pw_name, uid)


def keys_of(out):
    """The access key and secret printed by `user create` / `key rotate`."""
    kv = dict(l.split(":", 1) for l in out.strip().splitlines() if ":" in l)
    return kv["access key"].strip(), kv["secret key"].strip()


def create(name, *flags):
    rc, out, err = admin("user", "create", name, *flags)
    assert rc == 0, err
    return keys_of(out)


def client(ak, sk):
    return hf.boto3_client(SERVER, access_key=ak, secret_key=sk)


def audit_records(server=None):
    rc, out, err = admin("audit", "show", "--json", server=server)
    assert rc == 0, err
    return [json.loads(l) for l in out.splitlines() if l.strip()]


def check_no_secret_in_logs(server):
    """No secret in the server's log (events and access log), its audit log,
    /metrics, the status page or the admin status snapshot."""
    texts = {"server log": open(server.log_path, "rb").read().decode(errors="replace")}
    with open(os.path.join(server.data, "audit.log")) as f:
        texts["audit.log"] = f.read()
    for path in ("/metrics", "/"):
        with urllib.request.urlopen(server.status + path, timeout=10) as r:
            texts[path] = r.read().decode()
    rc, out, err = admin("status", "--json", server=server)
    texts["admin status"] = out + err
    texts["stdout banner"] = "".join(server.stdout_lines)
    for s in SECRETS:
        for where, text in texts.items():
            if s in text:
                raise AssertionError("a secret key appears in the %s" % where)
    # The check can fail: the access key ids are there.
    assert hf.ACCESS_KEY in texts["server log"] and hf.ACCESS_KEY in texts["audit.log"]


class Case(unittest.TestCase):
    def assertError(self, code, status, fn, *a, **kw):
        with self.assertRaises(ClientError) as cm:
            fn(*a, **kw)
        self.assertEqual(cm.exception.response["Error"]["Code"], code, cm.exception.response)
        self.assertEqual(cm.exception.response["ResponseMetadata"]["HTTPStatusCode"], status)


class Rotation(Case):
    def test_old_key_works_during_grace_then_stops(self):
        ak1, sk1 = create("rot-alice")
        old = client(ak1, sk1)
        old.create_bucket(Bucket="rot-alice")
        old.put_object(Bucket="rot-alice", Key="k", Body=b"before")
        rc, out, err = admin("user", "key", "rotate", "rot-alice", "--grace", "3s")
        self.assertEqual(rc, 0, err)
        ak2, sk2 = keys_of(out)
        self.assertNotEqual(ak1, ak2)
        self.assertRegex(out, r"old key:    %s works until \d{4}-\d\d-\d\dT" % ak1)
        new = client(ak2, sk2)
        # Both keys act as the same user during the grace period.
        self.assertEqual(old.get_object(Bucket="rot-alice", Key="k")["Body"].read(), b"before")
        self.assertEqual(new.get_object(Bucket="rot-alice", Key="k")["Body"].read(), b"before")
        new.put_object(Bucket="rot-alice", Key="k2", Body=b"after")
        self.assertEqual(old.get_object(Bucket="rot-alice", Key="k2")["Body"].read(), b"after")
        # The old secret with the new key id is no key at all.
        self.assertError("SignatureDoesNotMatch", 403, client(ak2, sk1).list_buckets)
        rc, out, _ = admin("user", "key", "list", "rot-alice")
        self.assertEqual(rc, 0)
        lines = out.splitlines()
        self.assertEqual(lines[0].split(), ["ACCESS", "KEY", "CREATED", "STATE", "EXPIRES"])
        self.assertEqual(lines[1].split()[0], ak2)
        self.assertEqual(lines[1].split()[2:], ["active", "-"])
        self.assertEqual(lines[2].split()[0], ak1)
        self.assertEqual(lines[2].split()[2], "retiring")
        self.assertNotIn(sk1, out)
        self.assertNotIn(sk2, out)
        # Then the old key stops (poll; no fixed sleep), the new one goes on.
        deadline = time.time() + 30
        while True:
            try:
                old.list_buckets()
            except ClientError as e:
                self.assertEqual(e.response["Error"]["Code"], "InvalidAccessKeyId")
                break
            self.assertLess(time.time(), deadline, "the old key still works after its grace")
            time.sleep(0.1)
        self.assertEqual(new.get_object(Bucket="rot-alice", Key="k")["Body"].read(), b"before")
        rc, out, _ = admin("user", "key", "list", "rot-alice")
        self.assertIn("expired", out.splitlines()[2])
        # The next change drops it for good.
        rc, out, err = admin("user", "key", "rotate", "rot-alice", "--grace", "0")
        self.assertEqual(rc, 0, err)
        ak3, sk3 = keys_of(out)
        self.assertIn("old key:    %s revoked" % ak2, out)
        rc, out, _ = admin("user", "key", "list", "rot-alice")
        self.assertEqual(len(out.splitlines()), 2, out)
        self.assertError("InvalidAccessKeyId", 403, new.list_buckets)
        third = client(ak3, sk3)
        for k in ("k", "k2"):
            third.delete_object(Bucket="rot-alice", Key=k)
        third.delete_bucket(Bucket="rot-alice")

    def test_presigned_url_of_a_retired_key_stops(self):
        ak1, sk1 = create("rot-presign")
        c = client(ak1, sk1)
        c.create_bucket(Bucket="rot-presign")
        c.put_object(Bucket="rot-presign", Key="p", Body=b"x")
        url = c.generate_presigned_url("get_object", Params={"Bucket": "rot-presign", "Key": "p"})
        self.assertEqual(hf.http_status(url), 200)
        rc, out, err = admin("user", "key", "rotate", "rot-presign", "--grace=0")
        self.assertEqual(rc, 0, err)
        self.assertEqual(hf.http_status(url), 403)
        ak2, sk2 = keys_of(out)
        c2 = client(ak2, sk2)
        url2 = c2.generate_presigned_url("get_object", Params={"Bucket": "rot-presign", "Key": "p"})
        self.assertEqual(hf.http_status(url2), 200)
        c2.delete_object(Bucket="rot-presign", Key="p")
        c2.delete_bucket(Bucket="rot-presign")

    def test_key_delete_and_the_bound_on_keys(self):
        ak0, sk0 = create("rot-many")
        keys = [(ak0, sk0)]
        for _ in range(3):
            rc, out, err = admin("user", "key", "rotate", "rot-many", "--grace", "1h")
            self.assertEqual(rc, 0, err)
            keys.append(keys_of(out))
        for ak, sk in keys:
            client(ak, sk).list_buckets()
        # A fourth key in grace would be a fifth key: refused, nothing changes.
        rc, out, err = admin("user", "key", "rotate", "rot-many", "--grace", "1h")
        self.assertEqual(rc, 1)
        self.assertIn("TooManyKeys", err)
        self.assertNotIn("secret key:", out)
        # Ending a retiring key's grace: it stops at once, the others go on.
        rc, out, err = admin("user", "key", "delete", "rot-many", keys[1][0])
        self.assertEqual(rc, 0, err)
        self.assertEqual(out.strip(), "deleted key %s of user rot-many" % keys[1][0])
        self.assertError("InvalidAccessKeyId", 403, client(*keys[1]).list_buckets)
        client(*keys[0]).list_buckets()
        client(*keys[3]).list_buckets()
        # The active key is not deleted: rotate it instead.
        rc, _, err = admin("user", "key", "delete", "rot-many", keys[3][0])
        self.assertEqual(rc, 1)
        self.assertIn("ActiveKey", err)
        client(*keys[3]).list_buckets()
        rc, _, err = admin("user", "key", "delete", "rot-many", "HFNOSUCHKEY")
        self.assertEqual(rc, 1)
        self.assertIn("NoSuchKey", err)
        # Room again for one rotation with grace.
        rc, out, err = admin("user", "key", "rotate", "rot-many", "--grace", "1h")
        self.assertEqual(rc, 0, err)
        # Deleting the user ends every key.
        self.assertEqual(admin("user", "delete", "rot-many")[0], 0)
        for k in keys + [keys_of(out)]:
            self.assertError("InvalidAccessKeyId", 403, client(*k).list_buckets)

    def test_bad_rotations_are_refused_clearly(self):
        create("rot-bad")
        for args, want in ((["--grace", "soon"], "--grace must be a duration"),
                           (["--grace", "31d"], "--grace must be a duration"),
                           (["--bogus"], "usage: holdfast admin user key rotate")):
            rc, out, err = admin("user", "key", "rotate", "rot-bad", *args)
            self.assertEqual(rc, 2, err)
            self.assertIn(want, err)
        rc, out, err = admin("user", "key", "rotate", "nobody-here")
        self.assertEqual(rc, 1)
        self.assertIn("404 NoSuchUser", err)
        rc, out, err = admin("user", "key", "spin", "rot-bad")
        self.assertEqual(rc, 2)
        self.assertIn("use rotate, list or delete", err)


class DisableEnable(Case):
    def test_disabled_user_is_refused_from_the_next_request_and_keeps_its_data(self):
        ak, sk = create("dis-alice")
        bak, bsk = create("dis-bob")
        alice, bob = client(ak, sk), client(bak, bsk)
        alice.create_bucket(Bucket="dis-alice")
        alice.put_object(Bucket="dis-alice", Key="k", Body=b"kept")
        url = alice.generate_presigned_url("get_object", Params={"Bucket": "dis-alice", "Key": "k"})
        self.assertEqual(hf.http_status(url), 200)
        rc, out, err = admin("user", "disable", "dis-alice")
        self.assertEqual((rc, out.strip()), (0, "disabled user dis-alice"), err)
        # The same client (its kept-alive connection), the next request.
        self.assertError("InvalidAccessKeyId", 403, alice.list_buckets)
        self.assertError("InvalidAccessKeyId", 403, alice.get_object, Bucket="dis-alice", Key="k")
        self.assertError("InvalidAccessKeyId", 403, alice.put_object, Bucket="dis-alice", Key="n",
                         Body=b"x")
        self.assertEqual(hf.http_status(url), 403)
        # The neighbour is untouched.
        bob.list_buckets()
        rc, out, _ = admin("user", "show", "dis-alice")
        self.assertIn("state:         disabled", out)
        rc, out, err = admin("user", "enable", "dis-alice")
        self.assertEqual((rc, out.strip()), (0, "enabled user dis-alice"), err)
        self.assertEqual(alice.get_object(Bucket="dis-alice", Key="k")["Body"].read(), b"kept")
        self.assertEqual(hf.http_status(url), 200)
        rc, out, _ = admin("user", "show", "dis-alice")
        self.assertIn("state:         enabled", out)
        alice.delete_object(Bucket="dis-alice", Key="k")
        alice.delete_bucket(Bucket="dis-alice")

    def test_a_disabled_users_retiring_key_is_refused_too(self):
        ak1, sk1 = create("dis-rot")
        rc, out, err = admin("user", "key", "rotate", "dis-rot", "--grace", "1h")
        ak2, sk2 = keys_of(out)
        self.assertEqual(admin("user", "disable", "dis-rot")[0], 0)
        self.assertError("InvalidAccessKeyId", 403, client(ak1, sk1).list_buckets)
        self.assertError("InvalidAccessKeyId", 403, client(ak2, sk2).list_buckets)
        self.assertEqual(admin("user", "enable", "dis-rot")[0], 0)
        client(ak1, sk1).list_buckets()
        client(ak2, sk2).list_buckets()

    def test_root_cannot_be_disabled(self):
        rc, out, err = admin("user", "disable", "root")
        self.assertEqual(rc, 1)
        self.assertIn("409 RootUnrestricted: the root user cannot be disabled", err)
        hf.boto3_client(SERVER).list_buckets()
        rc, _, err = admin("user", "set", "root", "--create-bucket=false")
        self.assertEqual(rc, 1)
        self.assertIn("RootUnrestricted", err)
        rc, _, err = admin("user", "disable", "nobody-here")
        self.assertEqual(rc, 1)
        self.assertIn("404 NoSuchUser", err)


class CreateBucketPermission(Case):
    def test_permission_to_create_buckets(self):
        cak, csk = create("perm-carol", "--no-create-bucket")
        dak, dsk = create("perm-dave")
        carol, dave = client(cak, csk), client(dak, dsk)
        self.assertError("AccessDenied", 403, carol.create_bucket, Bucket="perm-carol")
        dave.create_bucket(Bucket="perm-dave")  # the default: allowed
        rc, out, _ = admin("user", "show", "perm-carol")
        self.assertIn("create bucket: denied", out)
        # Everything else still works for carol.
        self.assertEqual(carol.list_buckets()["Buckets"], [])
        rc, out, err = admin("user", "set", "perm-carol", "--create-bucket=true")
        self.assertEqual((rc, out.strip()), (0, "user perm-carol: create bucket allowed"), err)
        carol.create_bucket(Bucket="perm-carol")
        rc, out, err = admin("user", "set", "perm-carol", "--create-bucket", "false")
        self.assertEqual(rc, 0, err)
        self.assertError("AccessDenied", 403, carol.create_bucket, Bucket="perm-carol-2")
        # The bucket she has stays hers to use.
        carol.put_object(Bucket="perm-carol", Key="k", Body=b"x")
        carol.delete_object(Bucket="perm-carol", Key="k")
        carol.delete_bucket(Bucket="perm-carol")
        dave.delete_bucket(Bucket="perm-dave")
        rc, _, err = admin("user", "set", "perm-carol", "--create-bucket=maybe")
        self.assertEqual(rc, 2)
        self.assertIn("usage: holdfast admin user set NAME --create-bucket=true|false", err)


class Secrets(Case):
    def test_secret_from_a_file_or_stdin(self):
        secret = "imported-secret-%d-abcdefgh" % os.getpid()
        SECRETS.add(secret)
        rc, out, err = admin("user", "create", "sec-stdin", "--access-key", "HFIMPORTED0000STDIN",
                             "--secret-key-file", "-", stdin=secret + "\n")
        self.assertEqual(rc, 0, err)
        self.assertEqual(keys_of(out), ("HFIMPORTED0000STDIN", secret))
        self.assertEqual(err, "")
        client("HFIMPORTED0000STDIN", secret).list_buckets()
        with tempfile.NamedTemporaryFile("w", delete=False) as f:
            f.write(secret + "-file\n")
        SECRETS.add(secret + "-file")
        try:
            rc, out, err = admin("user", "create", "sec-file", "--access-key",
                                 "HFIMPORTED00000FILE", "--secret-key-file", f.name)
        finally:
            os.unlink(f.name)
        self.assertEqual(rc, 0, err)
        client("HFIMPORTED00000FILE", secret + "-file").list_buckets()
        # On the command line it still works (scripts use it), with a warning.
        rc, out, err = admin("user", "create", "sec-argv", "--access-key", "HFIMPORTED00000ARGV",
                             "--secret-key", secret + "-argv")
        SECRETS.add(secret + "-argv")
        self.assertEqual(rc, 0, err)
        self.assertIn("use --secret-key-file", err)
        rc, _, err = admin("user", "create", "sec-bad", "--access-key", "HFIMPORTED000000BAD",
                           "--secret-key-file", "/nonexistent/secret")
        self.assertEqual(rc, 1)
        self.assertIn("cannot read /nonexistent/secret", err)

    def test_a_secret_never_shows_in_list_show_or_audit(self):
        ak, sk = create("sec-show")
        admin("user", "key", "rotate", "sec-show", "--grace", "1h")
        for args in (("user", "list"), ("user", "show", "sec-show"),
                     ("user", "key", "list", "sec-show"), ("audit", "show"),
                     ("audit", "show", "--json")):
            rc, out, err = admin(*args)
            self.assertEqual(rc, 0, err)
            for s in SECRETS:
                self.assertNotIn(s, out + err, args)
        self.assertIn(ak, admin("user", "show", "sec-show")[1])



class SecretsInLogs(Case):
    """Runs after every other class of this module (unittest orders classes
    by name), so SECRETS holds every secret the module's tests made."""

    def test_no_secret_in_any_log(self):
        # Traffic with the keys, refused requests included.
        ak, sk = create("sec-logs")
        client(ak, sk).list_buckets()
        self.assertError("SignatureDoesNotMatch", 403, client(ak, sk + "x").list_buckets)
        self.assertGreater(len(SECRETS), 10)
        check_no_secret_in_logs(SERVER)


class Audit(Case):
    def test_every_admin_action_is_recorded(self):
        t0 = time.time()
        n0 = len(audit_records())
        ak, sk = create("aud-erin", "--no-create-bucket")
        steps = [
            (("user", "key", "rotate", "aud-erin", "--grace", "1h"), 0),
            (("user", "disable", "aud-erin"), 0),
            (("user", "enable", "aud-erin"), 0),
            (("user", "set", "aud-erin", "--create-bucket=true"), 0),
            (("user", "delete", "aud-nobody"), 1),
            (("faults", "set", "fsync:delay=1/path=/nothing-matches/"), 0),
            (("faults", "clear"), 0),
            (("store", "reopen"), 0),
            (("scrub", "start"), 0),
            (("user", "delete", "aud-erin"), 0),
        ]
        for args, want in steps:
            rc, out, err = admin(*args)
            self.assertEqual(rc, want, (args, err))
            if args[1] == "key":
                new_ak = keys_of(out)[0]
        hf.wait_for(lambda: "idle" in admin("scrub", "status")[1], 30, "scrub pass done")
        recs = audit_records()[n0:]
        got = [(r["action"], r.get("target"), r["outcome"], r.get("error")) for r in recs]
        self.assertEqual(got, [
            ("user.create", "aud-erin", "ok", None),
            ("user.key.rotate", "aud-erin", "ok", None),
            ("user.disable", "aud-erin", "ok", None),
            ("user.enable", "aud-erin", "ok", None),
            ("user.permissions", "aud-erin", "ok", None),
            ("user.delete", "aud-nobody", "error", "NoSuchUser"),
            ("faults.set", None, "ok", None),
            ("faults.clear", None, "ok", None),
            ("store.reopen", "chunks", "ok", None),
            ("scrub.start", None, "ok", None),
            ("user.delete", "aud-erin", "ok", None),
        ])
        me = local_user()
        for r in recs:
            self.assertEqual(r["actor"]["via"], "admin-api")
            self.assertEqual(r["actor"]["user"], "root")
            self.assertEqual(r["actor"]["key_id"], hf.ACCESS_KEY)
            self.assertEqual(r["actor"]["local_user"], me)
            self.assertRegex(r["actor"]["peer"], r"^127\.0\.0\.1:\d+$")
            self.assertRegex(r["request_id"], r"^[0-9A-F]{16}$")
            self.assertRegex(r["time"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
        times = [r["time"] for r in recs]
        self.assertEqual(times, sorted(times))
        self.assertGreaterEqual(times[0], time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t0 - 1)))
        by = {r["action"]: r for r in recs}
        self.assertEqual(by["user.create"]["detail"], {"access_key": ak, "create_bucket": False})
        self.assertEqual(by["user.key.rotate"]["detail"],
                         {"access_key": new_ak, "previous_key": ak, "grace_ms": 3600000})
        self.assertEqual(by["user.permissions"]["detail"], {"create_bucket": True})
        self.assertEqual(by["faults.set"]["detail"], {"faults": "fsync:delay=1/path=/nothing-matches/"})
        self.assertEqual(by["user.create"]["status"], 201)
        self.assertEqual([r["status"] for r in recs if r["outcome"] == "error"], [404])
        # Reads are not actions.
        self.assertFalse([r for r in audit_records() if r["action"].startswith("GET")])

    def test_the_file_is_json_lines_appended_in_order(self):
        path = os.path.join(SERVER.data, "audit.log")
        before = open(path, "rb").read()
        create("aud-file")
        after = open(path, "rb").read()
        self.assertTrue(after.startswith(before), "the audit log was rewritten")
        lines = after.decode().splitlines()
        for line in lines:
            json.loads(line)
        last = json.loads(lines[-1])
        self.assertEqual((last["action"], last["target"]), ("user.create", "aud-file"))
        self.assertEqual(oct(os.stat(path).st_mode & 0o777), "0o640")
        # The first record of a data directory: the root user, by the server.
        first = json.loads(lines[0])
        self.assertEqual((first["action"], first["target"], first["actor"]["via"]),
                         ("user.create", "root", "server"))

    def test_since_and_the_table(self):
        create("aud-since-1")
        cut = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 1))
        # A record from after the cut: wait until the clock has passed it.
        hf.wait_for(lambda: time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()) >= cut, 5, "clock")
        create("aud-since-2")
        rc, out, err = admin("audit", "show", "--since", cut, "--json")
        self.assertEqual(rc, 0, err)
        targets = [json.loads(l).get("target") for l in out.splitlines()]
        self.assertIn("aud-since-2", targets)
        self.assertNotIn("aud-since-1", targets)
        rc, out, err = admin("audit", "show", "--since", "1h")
        self.assertEqual(rc, 0, err)
        head = out.splitlines()[0].split()
        self.assertEqual(head, ["TIME", "ACTOR", "ACTION", "TARGET", "OUTCOME", "DETAIL"])
        row = [l for l in out.splitlines() if " aud-since-1 " in l][0].split()
        self.assertEqual(row[1], "root")
        self.assertEqual(row[3:6], ["user.create", "aud-since-1", "ok"])
        rc, _, err = admin("audit", "show", "--since", "yesterday-ish")
        self.assertEqual(rc, 2)
        self.assertIn("usage: holdfast admin audit show", err)

    def test_unsigned_or_foreign_calls_are_not_recorded(self):
        path = os.path.join(SERVER.data, "audit.log")
        n = len(open(path).read().splitlines())
        req = urllib.request.Request(SERVER.status + "/admin/v1/users/x/disable", method="POST")
        try:
            urllib.request.urlopen(req, timeout=5)
            self.fail("an unsigned admin call was accepted")
        except urllib.error.HTTPError as e:
            self.assertEqual(e.code, 403)
        ak, sk = create("aud-notroot")
        rc, _, err = admin("user", "disable", "aud-notroot",
                           env={"HOLDFAST_ACCESS_KEY": ak, "HOLDFAST_SECRET_KEY": sk})
        self.assertEqual(rc, 1)
        self.assertIn("403 AccessDenied", err)
        lines = open(path).read().splitlines()
        self.assertEqual(len(lines), n + 1)  # only the create
        self.assertEqual(json.loads(lines[-1])["target"], "aud-notroot")

    def test_a_failing_audit_log_does_not_block_the_action(self):
        rc, _, err = admin("faults", "set", "write:error=EIO/path=audit.log")
        self.assertEqual(rc, 0, err)
        try:
            rc, out, err = admin("user", "create", "aud-noaudit")
            self.assertEqual(rc, 0, err)
        finally:
            self.assertEqual(admin("faults", "clear")[0], 0)
        client(*keys_of(out)).list_buckets()
        # The record went to the server log instead, whole.
        hf.wait_for(lambda: "audit log write failed" in SERVER.read_log(), 10, "log line")
        line = [l for l in SERVER.read_log().splitlines() if "audit log write failed" in l
                and "aud-noaudit" in l]
        self.assertTrue(line, SERVER.read_log())
        rec = json.loads(line[0].split(" record=", 1)[1])
        self.assertEqual((rec["action"], rec["target"], rec["outcome"]),
                         ("user.create", "aud-noaudit", "ok"))
        # And the log goes on afterwards.
        create("aud-after")
        self.assertEqual(audit_records()[-1]["target"], "aud-after")


class RootKey(Case):
    def test_rotating_the_root_key_updates_root_credentials(self):
        srv = hf.Server().start()
        try:
            creds = os.path.join(srv.data, "root-credentials")
            rc, out, err = admin("user", "key", "rotate", "root", "--grace", "0", server=srv)
            self.assertEqual(rc, 0, err)
            ak, sk = keys_of(out)
            text = open(creds).read()
            self.assertIn("access_key=%s\n" % ak, text)
            self.assertIn("secret_key=%s\n" % sk, text)
            self.assertEqual(oct(os.stat(creds).st_mode & 0o777), "0o600")
            # The admin CLI finds the new key in the data directory...
            env = {k: v for k, v in os.environ.items() if not k.startswith("HOLDFAST_")}
            p = subprocess.run([hf.BIN, "admin", "--admin", srv.status, "--data", srv.data,
                                "user", "list"], env=env, capture_output=True, text=True)
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertIn(ak, p.stdout)
            # ...and the old one is refused, by S3 and by the admin API.
            self.assertError("InvalidAccessKeyId", 403, hf.boto3_client(srv).list_buckets)
            rc, _, err = admin("user", "list", server=srv)
            self.assertEqual(rc, 1)
            self.assertIn("403 AccessDenied", err)
            hf.boto3_client(srv, access_key=ak, secret_key=sk).list_buckets()
            check_no_secret_in_logs_of(srv, {sk, hf.SECRET_KEY})
        finally:
            srv.stop()
            srv.cleanup()


def check_no_secret_in_logs_of(srv, secrets):
    log = open(srv.log_path, "rb").read().decode(errors="replace")
    audit = open(os.path.join(srv.data, "audit.log")).read()
    for s in secrets:
        assert s not in log and s not in audit, "a secret key appears in a log"


if __name__ == "__main__":
    hf.main(__file__)
