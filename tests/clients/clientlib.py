"""Shared plumbing for the real-client suites in tests/clients/.

Each suite script (awscli.sh, s3cmd.sh, rclone.sh, js-sdk.sh) runs one
Python driver with Debian's /usr/bin/python3. The driver makes a Suite,
which owns a temporary directory and a holdfast server (started through the
integration harness tests/integ/hf.py), and runs named steps. Every step
prints exactly one line, "PASS <suite>/<name>" or "FAIL <suite>/<name>:
<reason>" followed by indented detail lines, which is what tests/run.sh
counts. The last step is always "server-sigterm-exit": SIGTERM to the
server's PID must end it with exit status 0.

Steps usually build on each other (upload, then list, then download). A
step can name the steps it needs; when one of those failed, it reports
FAIL without running, so one broken feature does not produce a cascade of
misleading reasons.
"""
import hashlib
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "integ"))
import hf  # noqa: E402

ACCESS_KEY = hf.ACCESS_KEY
SECRET_KEY = hf.SECRET_KEY
REGION = hf.REGION

MiB = 1024 * 1024


class StepFailed(AssertionError):
    """A check failed; the message is the FAIL reason, details are printed indented."""

    def __init__(self, msg, details=()):
        super().__init__(msg)
        self.details = list(details)


def check(cond, msg, *details):
    if not cond:
        raise StepFailed(msg, details)


def check_eq(got, want, what):
    if got != want:
        raise StepFailed("%s: got %r, want %r" % (what, got, want))


def http_get(url, timeout=30):
    """(status, headers, body) of an unsigned GET (as a browser sends it)."""
    return hf.http(url, timeout=timeout)


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def md5_file(path):
    h = hashlib.md5()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def multipart_etag(path, part_size):
    """The ETag S3 gives an object uploaded in parts of part_size bytes:
    md5 of the concatenated binary part md5s, then "-<number of parts>"."""
    digests = []
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(part_size), b""):
            digests.append(hashlib.md5(block).digest())
    return "%s-%d" % (hashlib.md5(b"".join(digests)).hexdigest(), len(digests))


def write_random(path, size):
    """A file of `size` random bytes."""
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with open(path, "wb") as f:
        left = size
        while left > 0:
            n = min(left, MiB)
            f.write(os.urandom(n))
            left -= n


def tree_digest(root):
    """{relative path: sha256} of every regular file under root (paths use '/')."""
    out = {}
    for d, _dirs, files in os.walk(root):
        for name in files:
            p = os.path.join(d, name)
            out[os.path.relpath(p, root).replace(os.sep, "/")] = sha256_file(p)
    return out


def diff_maps(got, want):
    """Readable lines describing how two {name: value} maps differ."""
    lines = []
    for k in sorted(set(want) - set(got)):
        lines.append("missing: %r" % k)
    for k in sorted(set(got) - set(want)):
        lines.append("unexpected: %r" % k)
    for k in sorted(set(got) & set(want)):
        if got[k] != want[k]:
            lines.append("differs: %r: got %r, want %r" % (k, got[k], want[k]))
    return lines


class Suite:
    def __init__(self, name):
        self.name = name  # e.g. "clients/awscli"
        short = name.split("/")[-1]
        self.tmp = tempfile.mkdtemp(prefix="hf-%s-" % short)
        self.server = None
        self.failed = set()
        self.npass = 0
        self.nfail = 0
        self.t0 = time.time()
        self._log_mark = 0
        # Turn SIGTERM/SIGINT/SIGHUP into an exception so the finally clause
        # in run() still stops the server and removes the temp dir.
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(sig, self._on_signal)

    def _on_signal(self, signum, _frame):
        raise KeyboardInterrupt("signal %d" % signum)

    # ---- reporting ---------------------------------------------------------

    def report(self, step, ok, reason="", details=()):
        if ok:
            self.npass += 1
            print("PASS %s/%s" % (self.name, step), flush=True)
        else:
            self.nfail += 1
            self.failed.add(step)
            reason = " ".join(str(reason).split()) or "failed"
            print("FAIL %s/%s: %s" % (self.name, step, reason[:400]), flush=True)
            for line in details:
                for sub in str(line).splitlines():
                    print("    " + sub[:300], flush=True)

    def step(self, name, fn, needs=()):
        """Run fn() as the step `name`; returns True when it passed."""
        ok = self._step(name, fn, needs)
        if os.environ.get("HF_CLIENTS_VERBOSE"):
            print("# %s took %.1fs" % (name, time.time() - self._step_t0), flush=True)
        return ok

    def _step(self, name, fn, needs):
        self._step_t0 = time.time()
        missing = [n for n in needs if n in self.failed]
        if missing:
            self.report(name, False, "not run: needs %s, which failed" % ", ".join(missing))
            return False
        self._mark_log()
        try:
            fn()
        except StepFailed as e:
            self.report(name, False, str(e), e.details + self._server_errors())
            return False
        except KeyboardInterrupt:
            raise
        except Exception as e:  # a crash in the test itself still counts as a failure
            tb = traceback.format_exc().strip().splitlines()
            self.report(name, False, "%s: %s" % (type(e).__name__, e), tb[-12:] + self._server_errors())
            return False
        self.report(name, True)
        return True

    # ---- server ------------------------------------------------------------

    def start_server(self):
        try:
            self.server = hf.Server(data=os.path.join(self.tmp, "data"))
            os.makedirs(self.server.data, exist_ok=True)
            self.server.start()
        except Exception as e:
            log = self.server.read_log() if self.server else ""
            self.report("server-start", False, "%s: %s" % (type(e).__name__, e), log.splitlines()[-20:])
            return False
        return True

    @property
    def endpoint(self):
        return self.server.endpoint

    @property
    def hostport(self):
        return "127.0.0.1:%d" % self.server.port

    def mark_log(self):
        """Start server_ops()/server_log_since_mark() afresh from here."""
        self._mark_log()

    def _mark_log(self):
        try:
            self._log_mark = os.path.getsize(self.server.log_path)
        except (OSError, AttributeError):
            self._log_mark = 0

    def server_log_since_mark(self):
        try:
            with open(self.server.log_path, "rb") as f:
                f.seek(self._log_mark)
                return f.read().decode(errors="replace")
        except (OSError, AttributeError):
            return ""

    def _server_errors(self):
        """Server log lines of the current step that are not plain 2xx/3xx
        request lines: failed requests, warnings, errors."""
        out = []
        for line in self.server_log_since_mark().splitlines():
            m = re.search(r" status=(\d+)", line)
            if m and int(m.group(1)) < 400:
                continue
            out.append("server: " + line)
        return out[-12:]

    def server_ops(self):
        """[(op, status)] of the requests the server logged during this step."""
        ops = []
        for line in self.server_log_since_mark().splitlines():
            m = re.search(r" op=(\S+) .* status=(\d+)", line)
            if m:
                ops.append((m.group(1), int(m.group(2))))
        return ops

    def boto3(self):
        return hf.boto3_client(self.server)

    # ---- running clients ---------------------------------------------------

    def run(self, argv, env=None, timeout=120, cwd=None, input=None, ok_codes=(0,)):
        """Run a client; returns CompletedProcess (text). Raises StepFailed when
        its exit status is not in ok_codes (pass ok_codes=None to accept any)."""
        try:
            p = subprocess.run(argv, env=env, cwd=cwd, input=input, timeout=timeout,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        except subprocess.TimeoutExpired:
            raise StepFailed("timed out after %ds: %s" % (timeout, " ".join(argv[:6])))
        p.stdout = p.stdout.decode("utf-8", errors="replace")
        p.stderr = p.stderr.decode("utf-8", errors="replace")
        if ok_codes is not None and p.returncode not in ok_codes:
            raise StepFailed("%s exited with status %d" % (" ".join(_short(a) for a in argv[:5]), p.returncode),
                             ["stderr: " + l for l in p.stderr.strip().splitlines()[-10:]] +
                             ["stdout: " + l for l in p.stdout.strip().splitlines()[-6:]])
        return p

    # ---- end ---------------------------------------------------------------

    def finish(self):
        """Stop the server (SIGTERM by PID; exit status 0 is a step of its
        own), remove the temp dir, print the runtime, exit 1 on any failure."""
        if self.server is not None and self.server.proc is not None:
            srv = self.server
            if os.environ.get("HF_CLIENTS_VERBOSE"):
                self._print_error_summary()

            def sigterm():
                rc = srv.stop(signal.SIGTERM, timeout=30)
                check(rc == 0, "server exited with status %r on SIGTERM" % rc,
                      *srv.read_log().splitlines()[-10:])
            self.step("server-sigterm-exit", sigterm)
        self.cleanup()
        print("# %s: %d passed, %d failed in %.1fs" % (self.name, self.npass, self.nfail,
                                                      time.time() - self.t0), flush=True)
        sys.exit(1 if self.nfail else 0)

    def _print_error_summary(self):
        """Every request the server answered with 4xx/5xx in the whole run."""
        try:
            with open(self.server.log_path, "rb") as f:
                log = f.read().decode(errors="replace")
        except OSError:
            return
        for line in log.splitlines():
            m = re.search(r" status=(\d+)", line)
            if m and int(m.group(1)) >= 400:
                print("# server: " + line, flush=True)

    def cleanup(self):
        if self.server is not None:
            try:
                self.server.stop(signal.SIGTERM, timeout=30)
            except Exception:
                pass
            try:
                os.unlink(self.server.log_path)
            except OSError:
                pass
        shutil.rmtree(self.tmp, ignore_errors=True)

    def main(self, body):
        """Start the server, run body(self), always stop and clean up."""
        try:
            if self.start_server():
                body(self)
        except KeyboardInterrupt as e:
            self.report("interrupted", False, str(e) or "interrupted")
        except Exception as e:
            self.report("driver", False, "%s: %s" % (type(e).__name__, e),
                        traceback.format_exc().strip().splitlines()[-12:])
        finally:
            self.finish()


class AwsCli:
    """Debian's AWS CLI v2 against the suite's server, in an environment
    of its own (credentials, path-style addressing, no pager)."""

    BIN = "/usr/bin/aws"

    def __init__(self, suite, read_timeout=20):
        self.s = suite
        self.read_timeout = read_timeout
        home = os.path.join(suite.tmp, "home")
        os.makedirs(home, exist_ok=True)
        env = dict(os.environ)
        for k in list(env):
            if k.startswith("AWS_"):
                del env[k]
        env.update({
            "AWS_ACCESS_KEY_ID": ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_CONFIG_FILE": os.path.join(home, "config"),
            "AWS_SHARED_CREDENTIALS_FILE": os.path.join(home, "credentials"),
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_PAGER": "",
            "HOME": home,
            "LC_ALL": "C.UTF-8",
        })
        with open(env["AWS_CONFIG_FILE"], "w") as f:
            # The region `aws configure` asks for, and nothing else: awscli
            # picks path-style addressing itself for an IP endpoint.
            f.write("[default]\nregion = us-east-1\n")
        self.home = home
        self.env = env

    def __call__(self, *args, ok_codes=(0,), timeout=120, env=None, read_timeout=None):
        # A read timeout below the default 60 s bounds the stall of a lost
        # response without hiding it.
        rt = self.read_timeout if read_timeout is None else read_timeout
        return self.s.run([self.BIN, "--endpoint-url", self.s.endpoint, "--cli-read-timeout", str(rt)] +
                          list(args), env=env or self.env, ok_codes=ok_codes, timeout=timeout)

    def json(self, *args):
        import json
        out = self(*args).stdout
        return json.loads(out) if out.strip() else {}

    def expect_error(self, args, code, rc_want=None):
        """The command must fail, naming the S3 error code on stderr."""
        p = self(*args, ok_codes=None)
        check(p.returncode != 0, "%s: exit status 0, want non-zero (%s)" % (" ".join(args[:2]), code))
        if rc_want is not None:
            check_eq(p.returncode, rc_want, "exit status of " + " ".join(args[:2]))
        check(code in p.stderr, "%s not in stderr of %s" % (code, " ".join(args[:2])),
              *["stderr: " + l for l in p.stderr.strip().splitlines()])
        return p


def _short(a):
    return a if len(a) <= 60 else a[:57] + "..."
