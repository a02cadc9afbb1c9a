"""`holdfast server --config FILE`: every flag can come from a file, flags
and environment variables override it, --print-config tells where each
value came from, and a bad file is refused naming the file and the line."""
import os
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hf  # noqa: E402


def conf(text):
    fd, path = tempfile.mkstemp(prefix="hf-conf-", suffix=".conf")
    with os.fdopen(fd, "w") as f:
        f.write(text)
    return path


def server(*args, env=None):
    e = dict(os.environ)
    for k in list(e):
        if k.startswith("HOLDFAST_"):
            del e[k]
    e.update(env or {})
    p = subprocess.run([hf.BIN, "server"] + list(args), env=e, capture_output=True, text=True,
                       timeout=30)
    return p.returncode, p.stdout, p.stderr


def table(out):
    """--print-config's table: {setting: (value, from)}."""
    rows = {}
    for line in out.splitlines()[1:]:
        parts = line.split(None, 1)
        value, src = parts[1].rsplit("  ", 1) if "  " in parts[1] else (parts[1], "")
        rows[parts[0]] = (value.strip(), src.strip())
    return rows


class ConfigFile(unittest.TestCase):
    def setUp(self):
        self.files = []

    def tearDown(self):
        for f in self.files:
            os.unlink(f)

    def conf(self, text):
        p = conf(text)
        self.files.append(p)
        return p

    def test_precedence_and_sources(self):
        path = self.conf("# a node\nworkers = 8\nregion = eu-west-1\nscrub-rate = 16MiB\n"
                         "fault-injection = yes\n")
        rc, out, err = server("--config", path, "--scrub-rate", "4MiB", "--print-config",
                              env={"HOLDFAST_REGION": "us-west-2"})
        self.assertEqual(rc, 0, err)
        t = table(out)
        self.assertEqual(t["workers"], ("8", "file %s:2" % path))
        self.assertEqual(t["region"], ("us-west-2", "env HOLDFAST_REGION"))
        self.assertEqual(t["scrub-rate"], ("4MiB", "flag --scrub-rate"))
        self.assertEqual(t["fault-injection"], ("yes", "file %s:5" % path))
        self.assertEqual(t["data"], ("./data", "default"))
        # Computed defaults are shown as computed: the admission queue is
        # an eighth of the in-flight budget.
        self.assertEqual(t["max-inflight"], ("2048", "default"))
        self.assertEqual(t["admit-queue"], ("256", "default"))
        self.assertEqual(t["config"], (path, "flag --config"))

    def test_config_from_the_environment(self):
        path = self.conf("workers = 3\n")
        rc, out, err = server("--print-config", env={"HOLDFAST_CONFIG": path})
        self.assertEqual(rc, 0, err)
        self.assertEqual(table(out)["workers"], ("3", "file %s:1" % path))

    def test_every_flag_has_a_key(self):
        # Each flag of --help can be written in the file.
        rc, help_out, _ = server("--help")
        import re
        flags = sorted(set(re.findall(r"^\s+--([a-z][a-z0-9-]*)", help_out, re.M))
                       - {"config", "print-config", "help"})
        self.assertGreater(len(flags), 20)
        rc, out, err = server("--print-config")
        self.assertEqual(rc, 0, err)
        keys = set(table(out))
        for f in flags:
            self.assertIn(f, keys, "flag --%s has no config key" % f)

    def test_errors_name_the_file_and_line(self):
        cases = [
            ("workers = 4\nwrokers = 8\n", "%s:2: unknown setting"),
            ("workers = 4\nworkers = 5\n", "%s:2: given again (first on line 1)"),
            ("\nlisten\n", "%s:2: expected 'key = value'"),
            ("workers = many\n", "workers (%s:1) must be a number from 1 to 256"),
            ("scrub-interval = soon\n", "scrub-interval (%s:1) must be a duration"),
            ("fault-injection = perhaps\n", "fault-injection (%s:1) must be true or false"),
            ("head-timeout = 0\n", "head-timeout (%s:1) must be a duration"),
        ]
        for text, want in cases:
            path = self.conf(text)
            rc, out, err = server("--config", path, "--print-config")
            self.assertEqual(rc, 2, (text, err))
            self.assertIn(want % path, err, text)

    def test_a_missing_file_is_an_error(self):
        rc, out, err = server("--config", "/nonexistent/holdfast.conf")
        self.assertEqual(rc, 2)
        self.assertIn("cannot read /nonexistent/holdfast.conf", err)

    def test_a_server_runs_from_its_file(self):
        data = tempfile.mkdtemp(prefix="hf-conf-data-")
        path = self.conf("data = %s\nlisten = 127.0.0.1:0\nstatus-listen = 127.0.0.1:0\n"
                         "region = eu-central-1\nlog-level = warn\n" % data)
        srv = hf.Server(data=data, args=["--config", path])
        try:
            # hf.Server passes --data/--listen/--status-listen as flags too;
            # the region only comes from the file.
            srv.start()
            c = hf.boto3_client(srv)
            from botocore.exceptions import ClientError
            with self.assertRaises(ClientError) as cm:
                c.list_buckets()
            self.assertIn("eu-central-1", str(cm.exception.response["Error"]))
        finally:
            srv.cleanup()
            import shutil
            shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    hf.main(__file__)
