#!/usr/bin/python3
"""Listing edge cases against a real server: ListObjects (v1), ListObjectsV2,
ListObjectVersions, ListMultipartUploads and ListParts, through boto3 (its
paginators and its automatic encoding-type=url), raw signed requests (to
read the XML as sent and to send what boto3 will not) and awscli.

Every listing result is compared with a model of S3's semantics (model()
below): keys in UTF-8 byte order, a common prefix for the bytes up to and
including the first delimiter after the prefix, each common prefix counted
once against max-keys, markers resuming strictly after the key or prefix
they name. Paging at several page sizes must give exactly the model's
sequence: every key, version, upload and prefix exactly once, in order.

What AWS does, and where that is written down:
- encoding-type=url exists because "the XML 1.0 parser can't parse certain
  characters, such as characters with an ASCII value from 0 to 10" (the
  EncodingType parameter of ListObjects, ListObjectsV2,
  ListObjectVersions, ListMultipartUploads). Without it S3 writes such a
  character as a character reference (&#x1;) that XML 1.0 forbids, so
  parsers refuse the page; with it the keys come back percent-encoded.
- Which elements are encoded, per operation (the EncodingType response
  element in each operation's reference; botocore decodes the same ones):
  v1 Delimiter, Marker, Prefix, NextMarker, Key; v2 Delimiter, Prefix, Key,
  StartAfter; versions KeyMarker, NextKeyMarker, Prefix, Key, Delimiter;
  uploads Delimiter, KeyMarker, Prefix, NextKeyMarker, Key; and in all of
  them CommonPrefixes/Prefix. Tokens and version / upload id markers are
  not keys and are never encoded.
- How: percent-encoding of the UTF-8 bytes with "/" left alone --
  "test_file(3).png" appears as "test_file%283%29.png" (EncodingType
  docs); ceph's s3-tests, run against AWS, pin "foo+1/" -> "foo%2B1/" and
  "quux ab/" -> "quux%20ab/".
- max-keys=0 is an empty page with IsTruncated false; a max-keys that is
  not an integer in 0..2^31-1 is 400 InvalidArgument ("Provided max-keys
  not an integer or within integer range"); an unknown encoding-type is
  400 InvalidArgument ("Invalid Encoding Method specified in Request").
- Keys are at most 1024 bytes of UTF-8; a longer one is KeyTooLongError.
"""
import base64
import concurrent.futures
import http.client
import json
import os
import re
import string
import subprocess
import sys
import threading
import time
import types
import urllib.parse
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hf  # noqa: E402

setUpModule = hf.start_shared
tearDownModule = hf.stop_shared

NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"
OPS = {  # kind: (boto3 method, operation name, page-size parameter)
    "v1": ("list_objects", "ListObjects", "max-keys"),
    "v2": ("list_objects_v2", "ListObjectsV2", "max-keys"),
    "versions": ("list_object_versions", "ListObjectVersions", "max-keys"),
    "uploads": ("list_multipart_uploads", "ListMultipartUploads", "max-uploads"),
}
SUBRESOURCE = {"v1": [], "v2": [("list-type", "2")], "versions": [("versions", None)],
               "uploads": [("uploads", None)]}


def b8(s):
    return s.encode()


def ordered(keys):
    return sorted(keys, key=b8)


def model(keys, prefix="", delimiter="", after=None, entries=None):
    """S3's listing of keys: ("P", common prefix) and ("K", key, id, is
    marker) items in order, strictly after `after`. entries maps a key to
    its (id, is delete marker) list in listing order (versions newest
    first, uploads oldest first); absent, each key is one ("K", key, None,
    False)."""
    out, seen = [], set()
    for k in ordered(set(keys)):
        if not k.startswith(prefix):
            continue
        if after is not None and b8(k) <= b8(after):
            continue
        if delimiter:
            i = k.find(delimiter, len(prefix))
            if i >= 0:
                cp = k[:i + len(delimiter)]
                if cp not in seen and (after is None or b8(cp) > b8(after)):
                    out.append(("P", cp))
                seen.add(cp)
                continue
        for vid, marker in (entries[k] if entries else [(None, False)]):
            out.append(("K", k, vid, marker))
    return out


def strip_ids(items):
    return [it[:2] for it in items]


def merge(entries, prefixes):
    """One page's entries and common prefixes in key order, without
    reordering either (an out-of-order entry must still show)."""
    out, i, j = [], 0, 0
    while i < len(entries) and j < len(prefixes):
        if b8(entries[i][1]) <= b8(prefixes[j][1]):
            out.append(entries[i])
            i += 1
        else:
            out.append(prefixes[j])
            j += 1
    return out + entries[i:] + prefixes[j:]


def text(el, name):
    c = el.find(NS + name)
    return None if c is None else (c.text or "")


def page_items(body, encoded):
    """The items of one raw listing page, in key order."""
    dec = urllib.parse.unquote if encoded else (lambda s: s)
    root = ET.fromstring(body)
    entries, prefixes = [], []
    for el in root:
        tag = el.tag[len(NS):]
        if tag in ("Contents", "Version", "DeleteMarker", "Upload"):
            eid = text(el, "VersionId") or text(el, "UploadId")
            entries.append(("K", dec(text(el, "Key")), eid, tag == "DeleteMarker"))
        elif tag == "CommonPrefixes":
            prefixes.append(("P", dec(text(el, "Prefix"))))
    return root, merge(entries, prefixes)


def enc(s):
    """encoding-type=url as the server writes it: RFC 3986 percent-encoding
    of the UTF-8 bytes, "/" kept."""
    return urllib.parse.quote(b8(s), safe="/-_.~")


_conns = threading.local()


def fast(verb, bucket, key, query=()):
    """One small signed request on this thread's keep-alive connection --
    for setting up thousands of keys, where boto3's own overhead per
    request would dominate. A SlowDown is retried. Returns (headers, body)."""
    if not hasattr(_conns, "c"):
        _conns.c = http.client.HTTPConnection("127.0.0.1", hf.SHARED.port, timeout=60)
    path = "/%s/%s" % (bucket, urllib.parse.quote(b8(key), safe="/-_.~"))
    for _ in range(50):
        st, h, body = hf.signed_request(hf.SHARED, verb, path, query, conn=_conns.c,
                                        headers={"content-length": "0"})
        if st != 503:
            break
        time.sleep(0.05)  # back off from SlowDown; Retry-After is in whole seconds
    if st != 200:
        raise AssertionError("%s %r: %d %r" % (verb, key, st, body[:300]))
    return h, body


def on_threads(fn, items, threads=4):
    with concurrent.futures.ThreadPoolExecutor(threads) as ex:
        return list(ex.map(fn, items))


def put_all(bucket, keys):
    """PUT every key (empty body); returns {key: version id}."""
    res = on_threads(lambda k: fast("PUT", bucket, k), keys)
    return {k: h.get("x-amz-version-id") for k, (h, _) in zip(keys, res)}


def upload_all(bucket, groups):
    """groups: [(key, n)]: n uploads of key, created one after another so
    their initiation order is known. Returns {key: [upload ids, oldest
    first]}. (Raw also because boto3 cannot parse the response for a key
    that XML 1.0 cannot carry.)"""
    def ids(g):
        out = []
        for _ in range(g[1]):
            body = fast("POST", bucket, g[0], [("uploads", None)])[1]
            out.append(re.search(rb"<UploadId>([0-9a-f]+)</UploadId>", body).group(1).decode())
        return out
    return dict(zip([g[0] for g in groups], on_threads(ids, groups)))


def make_bucket(name, keys=(), uploads=(), versioning=True):
    """A bucket (versioned unless told), its keys PUT and its uploads
    created: (boto3 client, {key: version id}, {key: upload ids})."""
    s3 = hf.boto3_client(hf.SHARED)
    s3.create_bucket(Bucket=name)
    if versioning:
        s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    return s3, put_all(name, list(keys)), upload_all(name, list(uploads))


def delete_many(client, bucket, keys):
    """DeleteObjects in batches of 1000; returns {key: delete marker id}
    (a versioned bucket gets a marker per key, existing or not)."""
    out = {}
    for i in range(0, len(keys), 1000):
        r = client.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": k} for k in keys[i:i + 1000]]})
        if r.get("Errors"):
            raise AssertionError(r["Errors"][:3])
        for d in r["Deleted"]:
            out[d["Key"]] = d.get("DeleteMarkerVersionId")
    return out


def s3err(body):
    root = ET.fromstring(body)  # error documents have no namespace
    return root.findtext("Code"), root.findtext("Message")


def fixture(build):
    """build() runs once, on first use; its buckets serve every test class
    that uses them."""
    made = []

    def get():
        if not made:
            made.append(build())
        return made[0]
    return get


class Base(hf.S3Case):
    uses = None  # a fixture whose attributes become the class's

    @classmethod
    def setUpClass(cls):
        if cls.uses:
            for k, v in vars(cls.uses()).items():
                setattr(cls, k, v)

    def raw(self, bucket, kind, params=(), status=200):
        """A raw signed listing request; (root element, items, body)."""
        st, _, body = hf.signed_request(hf.SHARED, "GET", "/" + bucket, SUBRESOURCE[kind] + list(params))
        self.assertEqual(st, status, body[:400])
        if status != 200:
            return None, None, body
        encoded = ("encoding-type", "url") in params
        root, items = page_items(body, encoded)
        return root, items, body

    def raw_error(self, bucket, kind, params, code="InvalidArgument", status=400):
        st, _, body = hf.signed_request(hf.SHARED, "GET", "/" + bucket, SUBRESOURCE[kind] + list(params))
        self.assertEqual(st, status, (params, body[:300]))
        self.assertEqual(s3err(body)[0], code, (params, body[:300]))
        return s3err(body)[1]

    def walk(self, kind, bucket, page, **kw):
        """Page through a listing with the boto3 paginator (page = its page
        size) and check every page's bookkeeping; returns all items in the
        order the pages gave them."""
        method, op, _ = OPS[kind]
        bodies = []

        def keep(http_response, **_):
            bodies.append(http_response.content)
        self.s3.meta.events.register("after-call.s3.%s" % op, keep)
        try:
            pages = list(self.s3.get_paginator(method).paginate(
                Bucket=bucket, PaginationConfig={"PageSize": page}, **kw))
        finally:
            self.s3.meta.events.unregister("after-call.s3.%s" % op, keep)
        self.assertEqual(len(pages), len(bodies))
        encoded = kind != "uploads" or kw.get("EncodingType") == "url"
        out = []
        for n, (p, body) in enumerate(zip(pages, bodies)):
            _, items = page_items(body, encoded)
            last = n == len(pages) - 1
            where = "%s page %d of %d (size %d)" % (kind, n + 1, len(pages), page)
            self.assertEqual(p["IsTruncated"], not last, where)
            if last:
                self.assertLessEqual(len(items), min(page, 1000), where)
            else:
                # Common prefixes count against the page size as keys do.
                self.assertEqual(len(items), min(page, 1000), where)
            if kind == "v2":
                self.assertEqual(p["KeyCount"], len(items), where)
            if kind == "v1":
                if kw.get("Delimiter") and not last:
                    self.assertEqual(p["NextMarker"], items[-1][1], where)
                if not kw.get("Delimiter"):
                    # S3 gives NextMarker only with a delimiter.
                    self.assertNotIn("NextMarker", p, where)
            if kind in ("versions", "uploads") and not last:
                self.assertEqual(p["NextKeyMarker"], items[-1][1], where)
                if items[-1][0] == "K":
                    nid = p["NextVersionIdMarker" if kind == "versions" else "NextUploadIdMarker"]
                    self.assertEqual(nid, items[-1][2], where)
            out += items
        return out

    def assertItems(self, got, want, what=""):
        if got != want:
            for i, (g, w) in enumerate(zip(got, want)):
                if g != w:
                    self.fail("%s: item %d is %r, want %r (%d items, want %d)" % (what, i, g, w, len(got), len(want)))
            self.fail("%s: %d items, want %d; first extra %r" % (
                what, len(got), len(want), (got[len(want):] or want[len(got):])[:1]))


# ---- keys: special characters, control characters, unicode, long keys ----

SPECIALS = string.punctuation + " "
ASCII_KEYS = (["sp/a%sb" % c for c in SPECIALS] + ["sp/%s" % c for c in SPECIALS] +
              ["sp/all " + string.punctuation, "sp/../up", "sp/./here", "sp//double", "sp/trailing/",
               "sp/%41percent", "sp/%zz"])
CONTROL_KEYS = ["ctl/a%sb" % chr(c) for c in list(range(1, 32)) + [0x7f]]
UNICODE_KEYS = ["uni/\u00e9", "uni/e\u0301", "uni/\U0001F600", "uni/\u65e5\u672c\u8a9e",
                "uni/\u00ff", "uni/\uff5e", "uni/\ufffd", "uni/\U0010FFFF", "uni/\u0800", "uni/\u07ff",
                "uni/A\u030a", "uni/\u00c5", "uni/\U0001F468\u200d\U0001F469\u200d\U0001F467"]
GROUP = "grp/" + "x" * 600  # long keys sharing their first 470 bytes
LONG_KEYS = ["L" * 1024, "\u00e9" * 512, "\U0001F600" * 256, GROUP + "c", GROUP + "a", GROUP + "b" * 300,
             GROUP + "a" + "z" * 100, GROUP[:-1] + "/", GROUP + "\u00e9"]
ALL_KEYS = ASCII_KEYS + CONTROL_KEYS + UNICODE_KEYS + LONG_KEYS


@fixture
def keys_bucket():
    """A versioned bucket holding ALL_KEYS, each with one version and one
    upload (the Keys and AwsCli tests)."""
    f = types.SimpleNamespace(b="list-keys")
    _, f.vids, f.uploads = make_bucket(f.b, ALL_KEYS, [(k, 1) for k in ALL_KEYS])
    return f


class Keys(Base):
    uses = staticmethod(keys_bucket)

    def test_every_listing_gives_every_key_once_in_byte_order(self):
        want = model(ALL_KEYS)
        for kind in ("v1", "v2", "versions"):
            for page in (1000, 7, 1):
                got = self.walk(kind, self.b, page)
                self.assertItems(strip_ids(got), strip_ids(want), "%s page %d" % (kind, page))
        got = self.walk("versions", self.b, 1000)
        self.assertEqual([(k, v) for _, k, v, _ in got], [(k, self.vids[k]) for k in ordered(ALL_KEYS)])
        # boto3 does not ask for encoding-type=url on ListMultipartUploads,
        # so keys with control characters need it asked for, and decoded.
        for page in (1000, 7, 1):
            items, km, um = [], None, None
            while True:
                q = [("encoding-type", "url"), ("max-uploads", str(page))]
                if km is not None:
                    q += [("key-marker", km), ("upload-id-marker", um)]
                root, got, _ = self.raw(self.b, "uploads", q)
                items += got
                if text(root, "IsTruncated") != "true":
                    break
                self.assertEqual(len(got), page)
                km, um = urllib.parse.unquote(text(root, "NextKeyMarker")), text(root, "NextUploadIdMarker")
            self.assertItems(items, [("K", k, self.uploads[k][0], False) for k in ordered(ALL_KEYS)],
                             "uploads page %d" % page)

    def test_xml_carries_printable_ascii_unencoded(self):
        for kind in ("v1", "v2", "versions", "uploads"):
            _, items, body = self.raw(self.b, kind, [("prefix", "sp/")])
            self.assertEqual([k for _, k, *_ in items], ordered(ASCII_KEYS), kind)
            self.assertIn(b"sp/a&amp;b", body)
            self.assertIn(b"sp/a&lt;b", body)

    def test_control_characters_need_url_encoding(self):
        # Without encoding-type, S3 writes a character XML 1.0 cannot hold
        # as a character reference: the page is not well-formed XML, which
        # is why encoding-type=url exists. With it, the key is %01.
        for kind in ("v1", "v2", "versions", "uploads"):
            st, _, body = hf.signed_request(hf.SHARED, "GET", "/" + self.b,
                                            SUBRESOURCE[kind] + [("prefix", "ctl/a\x01")])
            self.assertEqual(st, 200)
            self.assertIn(b"<Key>ctl/a&#x1;b</Key>", body, kind)
            with self.assertRaises(ET.ParseError):
                ET.fromstring(body)
            _, items, body = self.raw(self.b, kind, [("prefix", "ctl/"), ("encoding-type", "url")])
            self.assertIn(b"<Key>ctl/a%01b</Key>", body, kind)
            self.assertIn(b"<Key>ctl/a%7Fb</Key>", body, kind)
            self.assertEqual([k for _, k, *_ in items], ordered(CONTROL_KEYS), kind)
        # Tab, line feed and carriage return are XML characters; written as
        # references they survive a parser's line-end normalisation.
        for c in "\t\n\r":
            for kind in ("v1", "v2", "versions", "uploads"):
                _, items, _ = self.raw(self.b, kind, [("prefix", "ctl/a" + c)])
                self.assertEqual([k for _, k, *_ in items], ["ctl/a%sb" % c], (kind, c))
        # boto3 asks for url encoding itself on these three and decodes.
        self.assertEqual([o["Key"] for o in self.s3.list_objects(Bucket=self.b, Prefix="ctl/")["Contents"]],
                         ordered(CONTROL_KEYS))
        self.assertEqual([o["Key"] for o in self.s3.list_objects_v2(Bucket=self.b, Prefix="ctl/")["Contents"]],
                         ordered(CONTROL_KEYS))
        self.assertEqual([o["Key"] for o in self.s3.list_object_versions(Bucket=self.b, Prefix="ctl/")["Versions"]],
                         ordered(CONTROL_KEYS))

    def test_url_encoding_of_keys(self):
        pinned = {" ": "%20", "+": "%2B", "(": "%28", ")": "%29", "%": "%25", "&": "%26", "=": "%3D",
                  "?": "%3F", "#": "%23", "/": "/", ",": "%2C", ":": "%3A", "@": "%40", "-": "-",
                  "_": "_", ".": "."}
        for kind in ("v1", "v2", "versions", "uploads"):
            _, _, body = self.raw(self.b, kind, [("prefix", "sp/a"), ("encoding-type", "url")])
            keys = [el.text for el in ET.fromstring(body).iter(NS + "Key")]
            want = ordered(k for k in ASCII_KEYS if k.startswith("sp/a"))
            self.assertEqual([urllib.parse.unquote(k) for k in keys], want, kind)
            for raw_key, key in zip(keys, want):
                # Every byte but unreserved ones and "/" is %XX (upper-case
                # hex). "~" and "*" are left out of the exact check: AWS's
                # choice for them is not documented, and decoders take both.
                if "~" not in key and "*" not in key:
                    self.assertEqual(raw_key, enc(key), kind)
                c = key[len("sp/a")]
                if c in pinned and key == "sp/a%sb" % c:
                    self.assertEqual(raw_key, "sp/a%sb" % pinned[c], kind)
        _, _, body = self.raw(self.b, "v2", [("prefix", "uni/"), ("encoding-type", "url")])
        self.assertIn(b"<Key>uni/%C3%A9</Key>", body)
        self.assertIn(b"<Key>uni/e%CC%81</Key>", body)
        self.assertIn(b"<Key>uni/%F0%9F%98%80</Key>", body)

    def test_unicode_is_bytes_not_normalised(self):
        got = [o["Key"] for o in self.s3.list_objects_v2(Bucket=self.b, Prefix="uni/")["Contents"]]
        self.assertEqual(got, ordered(UNICODE_KEYS))
        # UTF-8 byte order, not UTF-16 order: U+FF5E (EF BD 9E) sorts before
        # U+1F600 (F0 9F 98 80), which UTF-16 would put first (a surrogate).
        self.assertLess(got.index("uni/\uff5e"), got.index("uni/\U0001F600"))
        self.assertEqual(got[-1], "uni/\U0010FFFF")
        # Precomposed and combining forms are different keys.
        for k in ("uni/\u00e9", "uni/e\u0301", "uni/\u00c5", "uni/A\u030a"):
            self.assertIn(k, got)
            self.assertEqual(self.s3.head_object(Bucket=self.b, Key=k)["VersionId"], self.vids[k])
        r = self.s3.list_objects_v2(Bucket=self.b, Prefix="uni/", Delimiter="\u00e9")
        self.assertEqual([p["Prefix"] for p in r["CommonPrefixes"]], ["uni/\u00e9"])

    def test_long_keys(self):
        for k in LONG_KEYS[:3]:
            self.assertEqual(len(b8(k)), 1024)
        for kind in ("v1", "v2", "versions", "uploads"):
            for page in (1, 2):
                got = self.walk(kind, self.b, page, Prefix="grp/")
                self.assertItems(strip_ids(got), strip_ids(model(LONG_KEYS, "grp/")), "%s %d" % (kind, page))
        # A 1024-byte key as prefix, marker and start-after.
        for k in LONG_KEYS[:3]:
            r = self.s3.list_objects_v2(Bucket=self.b, Prefix=k)
            self.assertEqual([o["Key"] for o in r["Contents"]], [k])
            want = [x[1] for x in model(ALL_KEYS, after=k)]
            r = self.s3.list_objects_v2(Bucket=self.b, StartAfter=k)
            self.assertEqual([o["Key"] for o in r.get("Contents", [])], want)
            r = self.s3.list_objects(Bucket=self.b, Marker=k)
            self.assertEqual([o["Key"] for o in r.get("Contents", [])], want)
            r = self.s3.list_object_versions(Bucket=self.b, KeyMarker=k)
            self.assertEqual([o["Key"] for o in r.get("Versions", [])], want)
        too_long = "L" * 1025
        self.assertError("KeyTooLongError", 400, self.s3.put_object, Bucket=self.b, Key=too_long, Body=b"")
        self.assertError("KeyTooLongError", 400, self.s3.create_multipart_upload, Bucket=self.b, Key=too_long)
        self.assertError("KeyTooLongError", 400, self.s3.put_object, Bucket=self.b,
                         Key="\u00e9" * 512 + "x", Body=b"")

    def test_parameters_longer_than_any_key(self):
        # No key is longer than 1024 bytes: a longer prefix matches nothing,
        # and a longer marker still has keys after it.
        for kind in ("v1", "v2", "versions", "uploads"):
            _, items, _ = self.raw(self.b, kind, [("prefix", "L" * 1500)])
            self.assertEqual(items, [], kind)
        after = [x[1] for x in model(ALL_KEYS, after="L" * 1500)]
        self.assertTrue(after)
        for kind, name in (("v1", "marker"), ("v2", "start-after"), ("versions", "key-marker"),
                           ("uploads", "key-marker")):
            _, items, _ = self.raw(self.b, kind, [(name, "L" * 1500), ("encoding-type", "url")])
            self.assertEqual([k for _, k, *_ in items], after, kind)
        _, items, _ = self.raw(self.b, "v2", [("delimiter", "/" * 1500), ("prefix", "sp/")])
        self.assertEqual([k for _, k, *_ in items], ordered(ASCII_KEYS))
        # A continuation token is the server's to make; one made up by the
        # client is refused or resumes somewhere, never an internal error.
        for token in (base64.b64encode(b"L" * 1500).decode(), base64.b64encode(b"\xff\x00").decode()):
            st, _, body = hf.signed_request(hf.SHARED, "GET", "/" + self.b,
                                            [("list-type", "2"), ("continuation-token", token)])
            self.assertIn(st, (200, 400), body[:300])

    def test_parameters_that_are_not_utf8(self):
        # No key holds bytes that are not UTF-8, and such bytes could not be
        # echoed in the (UTF-8) XML: refused as InvalidArgument.
        for kind, names in (("v1", ["prefix", "marker", "delimiter"]),
                            ("v2", ["prefix", "start-after", "delimiter"]),
                            ("versions", ["prefix", "key-marker", "delimiter"]),
                            ("uploads", ["prefix", "key-marker", "delimiter"])):
            for name in names:
                for bad in (b"\xff", b"sp/\xc3", b"\xc0\xaf", b"\xed\xa0\x80"):
                    self.raw_error(self.b, kind, [(name, bad)])
        # U+00FF is fine: its UTF-8 is C3 BF.
        _, items, _ = self.raw(self.b, "v2", [("prefix", "uni/\u00ff")])
        self.assertEqual([k for _, k, *_ in items], ["uni/\u00ff"])


# ---- encoding-type=url: which elements, per listing ----------------------

class Encoding(Base):
    KEYS = ["a b/c", "a b/d", "a b+e", "p(1).txt", "\u00fc/\u00f6", "t~d*s", "z"]

    @classmethod
    def setUpClass(cls):
        cls.b = "list-enc"
        s3, _, cls.uploads = make_bucket(cls.b, cls.KEYS, [(k, 1) for k in cls.KEYS])
        cls.marker = delete_many(s3, cls.b, ["a b+e"])["a b+e"]

    def test_v1(self):
        root, items, _ = self.raw(self.b, "v1", [("prefix", "a b"), ("delimiter", "/"), ("max-keys", "1"),
                                                  ("marker", "a b"), ("encoding-type", "url")])
        self.assertEqual(items, [("P", "a b/")])
        self.assertEqual((text(root, "Prefix"), text(root, "Delimiter"), text(root, "Marker")),
                         ("a%20b", "/", "a%20b"))
        self.assertEqual(text(root, "EncodingType"), "url")
        self.assertEqual(root.find(NS + "CommonPrefixes").findtext(NS + "Prefix"), "a%20b/")
        root, items, _ = self.raw(self.b, "v1", [("max-keys", "1"), ("delimiter", "/"), ("marker", "p(1).txt"),
                                                  ("encoding-type", "url")])
        self.assertEqual(urllib.parse.unquote(text(root, "NextMarker")), "t~d*s")
        self.assertEqual(text(root, "Marker"), "p%281%29.txt")
        root, _, _ = self.raw(self.b, "v1", [("delimiter", "+"), ("encoding-type", "url")])
        self.assertEqual(text(root, "Delimiter"), "%2B")
        # Not asked for: nothing is encoded and there is no EncodingType.
        root, items, _ = self.raw(self.b, "v1", [("prefix", "a b"), ("marker", "a b"), ("delimiter", "+")])
        self.assertEqual((text(root, "Prefix"), text(root, "Marker"), text(root, "Delimiter")),
                         ("a b", "a b", "+"))
        self.assertIsNone(root.find(NS + "EncodingType"))
        self.assertEqual(items, [("K", "a b/c", None, False), ("K", "a b/d", None, False)])

    def test_v2(self):
        root, items, _ = self.raw(self.b, "v2", [("prefix", "a b"), ("start-after", "a b/c"), ("max-keys", "1"),
                                                  ("encoding-type", "url")])
        self.assertEqual(items, [("K", "a b/d", None, False)])
        self.assertEqual((text(root, "Prefix"), text(root, "StartAfter"), text(root, "EncodingType")),
                         ("a%20b", "a%20b/c", "url"))
        self.assertEqual(text(root, "IsTruncated"), "false")
        root, items, _ = self.raw(self.b, "v2", [("delimiter", "/"), ("max-keys", "1"), ("encoding-type", "url")])
        self.assertEqual(items, [("P", "a b/")])
        self.assertEqual(root.find(NS + "CommonPrefixes").findtext(NS + "Prefix"), "a%20b/")
        token = text(root, "NextContinuationToken")
        self.assertTrue(token)
        root, items, _ = self.raw(self.b, "v2", [("delimiter", "/"), ("max-keys", "1"), ("encoding-type", "url"),
                                                  ("continuation-token", token)])
        # The token is opaque, sent back as it came, never encoded.
        self.assertEqual(text(root, "ContinuationToken"), token)
        self.assertEqual(items, [("K", "p(1).txt", None, False)])
        root, _, _ = self.raw(self.b, "v2", [("delimiter", "\u00fc"), ("encoding-type", "url")])
        self.assertEqual(text(root, "Delimiter"), "%C3%BC")

    def test_versions(self):
        root, items, _ = self.raw(self.b, "versions", [("prefix", "a b"), ("key-marker", "a b"), ("max-keys", "2"),
                                                        ("encoding-type", "url")])
        self.assertEqual(strip_ids(items), [("K", "a b+e"), ("K", "a b+e")])
        self.assertEqual(items[0][2:], (self.marker, True))
        self.assertEqual((text(root, "Prefix"), text(root, "KeyMarker"), text(root, "NextKeyMarker")),
                         ("a%20b", "a%20b", "a%20b%2Be"))
        self.assertEqual(text(root, "NextVersionIdMarker"), items[1][2])
        self.assertEqual(text(root, "EncodingType"), "url")
        self.assertIn(b"<DeleteMarker><Key>a%20b%2Be</Key>", self.raw(self.b, "versions", [
            ("prefix", "a b+"), ("encoding-type", "url")])[2])
        vid = items[1][2]
        root, items, _ = self.raw(self.b, "versions", [("delimiter", "/"), ("encoding-type", "url"),
                                                        ("key-marker", "a b+e"), ("version-id-marker", vid)])
        self.assertEqual(text(root, "VersionIdMarker"), vid)
        self.assertEqual(text(root, "Delimiter"), "/")
        self.assertEqual([p.findtext(NS + "Prefix") for p in root.iter(NS + "CommonPrefixes")],
                         ["a%20b/", "%C3%BC/"])

    def test_uploads(self):
        root, items, _ = self.raw(self.b, "uploads", [("prefix", "a b"), ("key-marker", "a b+e"),
                                                       ("max-uploads", "1"), ("encoding-type", "url")])
        self.assertEqual(items, [("K", "a b/c", self.uploads["a b/c"][0], False)])
        self.assertEqual((text(root, "Prefix"), text(root, "KeyMarker"), text(root, "NextKeyMarker")),
                         ("a%20b", "a%20b%2Be", "a%20b/c"))
        self.assertEqual(text(root, "NextUploadIdMarker"), self.uploads["a b/c"][0])
        self.assertEqual(text(root, "EncodingType"), "url")
        root, items, _ = self.raw(self.b, "uploads", [("delimiter", "/"), ("encoding-type", "url")])
        self.assertEqual([p.findtext(NS + "Prefix") for p in root.iter(NS + "CommonPrefixes")],
                         ["a%20b/", "%C3%BC/"])
        self.assertEqual(text(root, "Delimiter"), "/")
        root, items, _ = self.raw(self.b, "uploads", [("prefix", "a b"), ("key-marker", "a b+e")])
        self.assertEqual((text(root, "Prefix"), text(root, "KeyMarker")), ("a b", "a b+e"))
        self.assertIsNone(root.find(NS + "EncodingType"))

    def test_boto3_decodes_only_what_it_asked_for(self):
        r = self.s3.list_objects_v2(Bucket=self.b, Prefix="a b", Delimiter="/")
        self.assertEqual((r["Prefix"], r["CommonPrefixes"]), ("a b", [{"Prefix": "a b/"}]))
        r = self.s3.list_objects_v2(Bucket=self.b, Prefix="a b", Delimiter="/", EncodingType="url")
        self.assertEqual((r["Prefix"], r["CommonPrefixes"]), ("a%20b", [{"Prefix": "a%20b/"}]))
        r = self.s3.list_objects(Bucket=self.b, Prefix="p(")
        self.assertEqual([o["Key"] for o in r["Contents"]], ["p(1).txt"])
        r = self.s3.list_multipart_uploads(Bucket=self.b, Prefix="p(", EncodingType="url")
        self.assertEqual([u["Key"] for u in r["Uploads"]], ["p%281%29.txt"])

    def test_invalid_encoding_type(self):
        for kind in OPS:
            for bad in ("base64", "xml", "url "):
                msg = self.raw_error(self.b, kind, [("encoding-type", bad)])
                self.assertEqual(msg, "Invalid Encoding Method specified in Request")
        self.assertError("InvalidArgument", 400, self.s3.list_objects_v2, Bucket=self.b, EncodingType="base64")


# ---- delimiters ---------------------------------------------------------

class Delimiters(Base):
    KEYS = ["a", "a!", "a.b", "a/", "a/!", "a/b", "a/b/c", "a//d", "a0", "b-1-x", "b-1-y", "b-2", "b--3",
            "c|d|e", "c|f", "dxxaayy", "dxaaay", "daa", "\u00e9/\u00fc", "\u00e9\u00e9", "\u00fc", "z"]
    CASES = [("", "/"), ("a", "/"), ("a/", "/"), ("a/b", "/"), ("", "-"), ("b", "-"), ("b-", "-"), ("", "--"),
             ("b-", "--"), ("", "|"), ("c|", "|"), ("", "aa"), ("d", "aa"), ("", "\u00e9"), ("", "#"),
             ("", "a/b/c"), ("nothing", "/"), ("a/b/c/d", "/"), ("", "b")]

    @classmethod
    def setUpClass(cls):
        cls.b = "list-delim"
        cls.uploads = make_bucket(cls.b, cls.KEYS, [(k, 2) for k in cls.KEYS], versioning=False)[2]

    # Paged one item at a time: every page ends on a key or a prefix.
    PAGED = [("", "/"), ("a/", "/"), ("", "-"), ("", "--"), ("", "aa"), ("", "\u00e9")]

    def test_every_listing_matches_the_model(self):
        for prefix, delim in self.CASES:
            want = strip_ids(model(self.KEYS, prefix, delim))
            for kind in OPS:
                for page in (1000, 1) if (prefix, delim) in self.PAGED else (1000, 3):
                    got = self.walk(kind, self.b, page, Prefix=prefix, Delimiter=delim)
                    if kind == "uploads":
                        want_k = strip_ids(model(self.KEYS, prefix, delim,
                                                 entries={k: [(u, False) for u in v] for k, v in self.uploads.items()}))
                        self.assertItems(strip_ids(got), want_k, "%s %r %r %d" % (kind, prefix, delim, page))
                    else:
                        self.assertItems(strip_ids(got), want, "%s %r %r %d" % (kind, prefix, delim, page))

    def test_delimiter_semantics(self):
        def v2(**kw):
            r = self.s3.list_objects_v2(Bucket=self.b, **kw)
            return [o["Key"] for o in r.get("Contents", [])], [p["Prefix"] for p in r.get("CommonPrefixes", [])]
        # The delimiter is looked for after the prefix only.
        self.assertEqual(v2(Prefix="a/", Delimiter="/"), (["a/", "a/!", "a/b"], ["a//", "a/b/"]))
        self.assertEqual(v2(Prefix="b-", Delimiter="--"), (["b--3", "b-1-x", "b-1-y", "b-2"], []))
        self.assertEqual(v2(Prefix="b", Delimiter="--"), (["b-1-x", "b-1-y", "b-2"], ["b--"]))
        # First occurrence: "dxxaayy" rolls up at its first "aa".
        self.assertEqual(v2(Prefix="d", Delimiter="aa"), ([], ["daa", "dxaa", "dxxaa"]))
        # A delimiter in no key: every key is listed.
        self.assertEqual(v2(Delimiter="#")[0], ordered(self.KEYS))
        # A key equal to the prefix is listed as a key even when it ends in
        # the delimiter.
        self.assertEqual(v2(Prefix="a/", Delimiter="/", MaxKeys=1), (["a/"], []))
        # Keys around "/" (0x2f) in byte order: "!" and "." sort before it, "0" after.
        self.assertEqual(v2(Prefix="a", Delimiter="/"), (["a", "a!", "a.b", "a0"], ["a/"]))
        # A prefix no key has and one longer than every key.
        self.assertEqual(v2(Prefix="nothing/", Delimiter="/"), ([], []))
        self.assertEqual(v2(Prefix="a/b/c/d"), ([], []))
        # A page exactly as long as the listing is not truncated; one shorter is.
        for kind in OPS:
            ups = {k: [(u, False) for u in v] for k, v in self.uploads.items()}
            n = len(model(self.KEYS, "", "/", entries=ups if kind == "uploads" else None))
            for size, truncated in ((n, "false"), (n - 1, "true")):
                root, items, _ = self.raw(self.b, kind, [("delimiter", "/"), (OPS[kind][2], str(size))])
                self.assertEqual((len(items), text(root, "IsTruncated")), (size, truncated), kind)

    def test_page_ending_on_a_common_prefix(self):
        # v1: NextMarker is the prefix, and the next page starts after
        # every key under it.
        r = self.s3.list_objects(Bucket=self.b, Prefix="a", Delimiter="/", MaxKeys=4)
        self.assertEqual(([o["Key"] for o in r["Contents"]], r["CommonPrefixes"], r["NextMarker"]),
                         (["a", "a!", "a.b"], [{"Prefix": "a/"}], "a/"))
        self.assertTrue(r["IsTruncated"])
        r = self.s3.list_objects(Bucket=self.b, Prefix="a", Delimiter="/", Marker=r["NextMarker"])
        self.assertEqual(([o["Key"] for o in r["Contents"]], r.get("CommonPrefixes")), (["a0"], None))
        self.assertFalse(r["IsTruncated"])
        # v2: the continuation token resumes after the prefix too.
        r = self.s3.list_objects_v2(Bucket=self.b, Prefix="a", Delimiter="/", MaxKeys=4)
        self.assertEqual((r["KeyCount"], r["CommonPrefixes"]), (4, [{"Prefix": "a/"}]))
        r = self.s3.list_objects_v2(Bucket=self.b, Prefix="a", Delimiter="/",
                                    ContinuationToken=r["NextContinuationToken"])
        self.assertEqual(([o["Key"] for o in r["Contents"]], r["KeyCount"]), (["a0"], 1))
        # versions and uploads: NextKeyMarker is the prefix, no id marker.
        # (a/ and a/! come before a// -- one version each, two uploads each)
        for kind, method, mk, n in (("versions", "list_object_versions", "MaxKeys", 3),
                                    ("uploads", "list_multipart_uploads", "MaxUploads", 5)):
            r = getattr(self.s3, method)(Bucket=self.b, Prefix="a/", Delimiter="/", **{mk: n})
            self.assertEqual(r["NextKeyMarker"], "a//", kind)
            self.assertEqual([p["Prefix"] for p in r["CommonPrefixes"]], ["a//"], kind)
            r = getattr(self.s3, method)(Bucket=self.b, Prefix="a/", Delimiter="/", KeyMarker="a//")
            self.assertEqual([p["Prefix"] for p in r["CommonPrefixes"]], ["a/b/"], kind)


# ---- 1000+ keys, versions and uploads, paging at every size --------------

@fixture
def big():
    """The large buckets (the Paging and AwsCli tests): a versioned bucket
    of 2500 keys (some with three versions, some under one or two delete
    markers) and 300 keys that only ever had a marker; a bucket with 1100
    uploads (several on some keys) and one upload with 25 parts. They are
    not emptied afterwards: the server's data directory goes when the
    module ends."""
    f = types.SimpleNamespace(b="list-big", ub="list-uploads")
    keys = ["k%04d" % i for i in range(2500)]
    versions = {k: [] for k in keys}  # oldest first while building
    s3, first, _ = make_bucket(f.b, keys)
    extra = [k for i, k in enumerate(keys) if i % 50 == 0]
    second = put_all(f.b, extra)
    third = put_all(f.b, extra)
    for k in keys:
        versions[k].append((first[k], False))
    for k in extra:
        versions[k] += [(second[k], False), (third[k], False)]
    for k, vid in delete_many(s3, f.b, [k for i, k in enumerate(keys) if i % 7 == 3]).items():
        versions[k].append((vid, True))
    for k, vid in delete_many(s3, f.b, [k for i, k in enumerate(keys) if i % 14 == 3]).items():
        versions[k].append((vid, True))
    for k, vid in delete_many(s3, f.b, ["m%04d" % i for i in range(300)]).items():
        versions[k] = [(vid, True)]
    f.versions = {k: list(reversed(v)) for k, v in versions.items()}  # newest first
    f.all = list(f.versions)
    f.live = [k for k, v in f.versions.items() if not v[0][1]]
    assert len(f.live) > 2000
    f.uploads = make_bucket(f.ub, (), [("u%04d" % i, 2) for i in range(545)] + [("u0100x", 5), ("u0200x", 5)],
                            versioning=False)[2]
    f.pk = "parts/key"
    f.pid = s3.create_multipart_upload(Bucket=f.ub, Key=f.pk)["UploadId"]
    f.parts = {n: s3.upload_part(Bucket=f.ub, Key=f.pk, UploadId=f.pid, PartNumber=n, Body=b"p%d" % n)["ETag"]
               for n in range(1, 26)}
    f.uentries = {k: [(u, False) for u in v] for k, v in f.uploads.items()}
    f.uentries[f.pk] = [(f.pid, False)]
    f.ukeys = list(f.uentries)
    return f


class Paging(Base):
    uses = staticmethod(big)

    def vmodel(self, prefix="", delimiter="", after=None):
        return model(self.all, prefix, delimiter, after, entries=self.versions)

    def test_objects_paging(self):
        want = strip_ids(model(self.live))
        for kind in ("v1", "v2"):
            for page in (1000, 5000):
                self.assertItems(strip_ids(self.walk(kind, self.b, page)), want, "%s %d" % (kind, page))
            for page, prefix in ((7, "k0"), (1, "k00")):
                self.assertItems(strip_ids(self.walk(kind, self.b, page, Prefix=prefix)),
                                 strip_ids(model(self.live, prefix)), "%s %d" % (kind, page))
            # Delimiter "9": prefixes and keys interleave, and pages end on both.
            for page, prefix in ((1000, ""), (7, "k1"), (1, "k10")):
                self.assertItems(strip_ids(self.walk(kind, self.b, page, Prefix=prefix, Delimiter="9")),
                                 strip_ids(model(self.live, prefix, "9")), "%s delimiter %d" % (kind, page))

    def test_page_limits(self):
        for kind, method in (("v1", "list_objects"), ("v2", "list_objects_v2"),
                             ("versions", "list_object_versions")):
            for mk, n in ((1, 1), (7, 7), (1000, 1000), (1001, 1000), (5000, 1000), (2147483647, 1000)):
                r = getattr(self.s3, method)(Bucket=self.b, MaxKeys=mk)
                got = len(r.get("Contents", [])) + len(r.get("Versions", [])) + len(r.get("DeleteMarkers", []))
                self.assertEqual((got, r["IsTruncated"]), (n, True), (kind, mk))
        for mk, n in ((1, 1), (7, 7), (1000, 1000), (5000, 1000)):
            r = self.s3.list_multipart_uploads(Bucket=self.ub, MaxUploads=mk)
            self.assertEqual((len(r["Uploads"]), r["IsTruncated"]), (n, True), mk)
            r = self.s3.list_parts(Bucket=self.ub, Key=self.pk, UploadId=self.pid, MaxParts=mk)
            self.assertEqual((len(r["Parts"]), r["IsTruncated"]), (min(n, 25), mk < 25), mk)

    def test_v2_start_after_with_continuation(self):
        # The paginator sends StartAfter with every continuation token.
        for page in (1000, 7):
            got = self.walk("v2", self.b, page, StartAfter="k1000")
            self.assertItems(strip_ids(got), strip_ids(model(self.live, after="k1000")), "start-after %d" % page)
        r = self.s3.list_objects_v2(Bucket=self.b, StartAfter="k2000", MaxKeys=3)
        self.assertEqual(r["StartAfter"], "k2000")
        r2 = self.s3.list_objects_v2(Bucket=self.b, StartAfter="k2000", MaxKeys=3,
                                     ContinuationToken=r["NextContinuationToken"])
        self.assertEqual([o["Key"] for o in r["Contents"] + r2["Contents"]],
                         [x[1] for x in model(self.live, after="k2000")][:6])
        self.assertEqual(r2["ContinuationToken"], r["NextContinuationToken"])
        self.assertError("InvalidArgument", 400, self.s3.list_objects_v2, Bucket=self.b,
                         ContinuationToken="not a token!")

    def test_versions_paging(self):
        self.assertItems(self.walk("versions", self.b, 1000), self.vmodel(), "versions 1000")
        self.assertItems(self.walk("versions", self.b, 7, Prefix="k0"), self.vmodel("k0"), "versions 7")
        for page in (1, 2, 3):
            self.assertItems(self.walk("versions", self.b, page, Prefix="k000"), self.vmodel("k000"),
                             "versions %d" % page)
        for page, prefix in ((1000, ""), (7, "k2"), (1, "k20")):
            self.assertItems(self.walk("versions", self.b, page, Prefix=prefix, Delimiter="9"),
                             self.vmodel(prefix, "9"), "versions delimiter %d" % page)
        # IsLatest is the first version of each key.
        r = self.s3.list_object_versions(Bucket=self.b, Prefix="k0003")
        self.assertEqual([m["IsLatest"] for m in r["DeleteMarkers"]], [True, False])
        self.assertEqual([v["IsLatest"] for v in r.get("Versions", [])], [False])

    def test_versions_resume_inside_a_key(self):
        k = "k0150"  # three versions under one delete marker
        vs = self.versions[k]
        self.assertEqual([m for _, m in vs], [True, False, False, False])
        for i, (vid, _) in enumerate(vs):
            root, items, _ = self.raw(self.b, "versions", [("key-marker", k), ("version-id-marker", vid),
                                                            ("max-keys", "2")])
            want = self.vmodel(after=k)  # the rest of the bucket after k
            want = [("K", k, v, m) for v, m in vs[i + 1:]] + want
            self.assertEqual(items, want[:2], i)
            self.assertEqual(text(root, "VersionIdMarker"), vid)
        # A key marker alone resumes after every version of the key.
        _, items, _ = self.raw(self.b, "versions", [("key-marker", k), ("max-keys", "1")])
        self.assertEqual(items, self.vmodel(after=k)[:1])
        # A version id marker needs a key marker; a malformed one is refused.
        self.raw_error(self.b, "versions", [("version-id-marker", vs[1][0])])
        self.raw_error(self.b, "versions", [("key-marker", k), ("version-id-marker", "nonsense")])

    def test_suspended_null_version_marker(self):
        b = self.bucket("Enabled")
        v1 = self.s3.put_object(Bucket=b, Key="n", Body=b"1")["VersionId"]
        self.s3.put_bucket_versioning(Bucket=b, VersioningConfiguration={"Status": "Suspended"})
        self.s3.put_object(Bucket=b, Key="n", Body=b"2")
        self.s3.put_object(Bucket=b, Key="o", Body=b"3")
        got = self.walk("versions", b, 1)
        self.assertEqual([(k, v) for _, k, v, _ in got], [("n", "null"), ("n", v1), ("o", "null")])
        r = self.s3.list_object_versions(Bucket=b, KeyMarker="n", VersionIdMarker="null")
        self.assertEqual([(v["Key"], v["VersionId"]) for v in r["Versions"]], [("n", v1), ("o", "null")])

    def test_uploads_paging(self):
        entries, keys = self.uentries, self.ukeys
        for page, prefix in ((1000, ""), (7, "u01"), (1, "u010")):
            want = model(keys, prefix, entries=entries)
            self.assertItems(self.walk("uploads", self.ub, page, Prefix=prefix), want, "uploads %d" % page)
        for page, prefix in ((1000, ""), (7, "u01")):
            self.assertItems(self.walk("uploads", self.ub, page, Prefix=prefix, Delimiter="5"),
                             model(keys, prefix, "5", entries=entries), "uploads delimiter %d" % page)
        # Resume inside a key's uploads with key-marker + upload-id-marker.
        ids = self.uploads["u0100x"]
        for i, u in enumerate(ids):
            r = self.s3.list_multipart_uploads(Bucket=self.ub, KeyMarker="u0100x", UploadIdMarker=u, MaxUploads=2)
            rest = [(k, x) for _, k, x, _ in model(keys, after="u0100x", entries=entries)]
            want = [("u0100x", x) for x in ids[i + 1:]] + rest
            self.assertEqual([(x["Key"], x["UploadId"]) for x in r["Uploads"]], want[:2], i)
        # An upload id marker without a key marker is ignored, as S3 does.
        r = self.s3.list_multipart_uploads(Bucket=self.ub, UploadIdMarker=ids[0], MaxUploads=1)
        self.assertEqual(r["Uploads"][0]["Key"], model(keys, entries=entries)[0][1])

    def test_parts_paging(self):
        for page in (1, 7, 1000):
            pages = list(self.s3.get_paginator("list_parts").paginate(
                Bucket=self.ub, Key=self.pk, UploadId=self.pid, PaginationConfig={"PageSize": page}))
            got = [(p["PartNumber"], p["ETag"]) for pg in pages for p in pg.get("Parts", [])]
            self.assertEqual(got, sorted(self.parts.items()), page)
            self.assertEqual([pg["IsTruncated"] for pg in pages], [True] * (len(pages) - 1) + [False])
            for pg in pages[:-1]:
                self.assertEqual(pg["NextPartNumberMarker"], pg["Parts"][-1]["PartNumber"])
        r = self.s3.list_parts(Bucket=self.ub, Key=self.pk, UploadId=self.pid, PartNumberMarker=20)
        self.assertEqual([p["PartNumber"] for p in r["Parts"]], [21, 22, 23, 24, 25])
        r = self.s3.list_parts(Bucket=self.ub, Key=self.pk, UploadId=self.pid, PartNumberMarker=25)
        self.assertEqual((r.get("Parts", []), r["IsTruncated"]), ([], False))
        path = "/%s/%s" % (self.ub, self.pk)
        for name, bad in (("max-parts", "-1"), ("max-parts", "abc"), ("part-number-marker", "x"),
                          ("max-parts", "2147483648")):
            st, _, body = hf.signed_request(hf.SHARED, "GET", path, [("uploadId", self.pid), (name, bad)])
            self.assertEqual((st, s3err(body)[0]), (400, "InvalidArgument"), (name, bad))


# ---- max-keys edge values, empty results ---------------------------------

class Limits(Base):
    @classmethod
    def setUpClass(cls):
        cls.b, cls.empty = "list-limits", "list-empty"
        make_bucket(cls.b, ["a", "b/c", "d"], [("a", 1), ("b/c", 1)])
        make_bucket(cls.empty)

    def test_max_keys_zero(self):
        for kind in OPS:
            root, items, _ = self.raw(self.b, kind, [(OPS[kind][2], "0"), ("delimiter", "/")])
            self.assertEqual(items, [], kind)
            self.assertEqual(text(root, "IsTruncated"), "false", kind)
            self.assertEqual(text(root, "MaxKeys" if kind != "uploads" else "MaxUploads"), "0", kind)
            self.assertIsNone(root.find(NS + "NextMarker"))
            self.assertIsNone(root.find(NS + "NextContinuationToken"))
            self.assertIsNone(root.find(NS + "NextKeyMarker"))
        self.assertEqual(self.s3.list_objects_v2(Bucket=self.b, MaxKeys=0)["KeyCount"], 0)
        r = self.s3.list_objects(Bucket=self.b, MaxKeys=0)
        self.assertEqual(("Contents" in r, r["IsTruncated"]), (False, False))

    def test_bad_max_keys(self):
        for kind in OPS:
            for bad in ("abc", "1.5", "0x10", "2147483648", "99999999999999999999", "1e3", "--1"):
                msg = self.raw_error(self.b, kind, [(OPS[kind][2], bad)])
                self.assertIn("not an integer or within integer range", msg)
            # a negative number gets the other message S3 gives
            for bad in ("-1", "-2147483648"):
                msg = self.raw_error(self.b, kind, [(OPS[kind][2], bad)])
                self.assertIn("must be an integer between 0 and 2147483647", msg)
            self.raw(self.b, kind, [(OPS[kind][2], "2147483647")])
        self.assertError("InvalidArgument", 400, self.s3.list_objects, Bucket=self.b, MaxKeys=-1)
        self.assertError("InvalidArgument", 400, self.s3.list_objects_v2, Bucket=self.b, MaxKeys=-1)
        self.assertError("InvalidArgument", 400, self.s3.list_object_versions, Bucket=self.b, MaxKeys=-1)
        self.assertError("InvalidArgument", 400, self.s3.list_multipart_uploads, Bucket=self.b, MaxUploads=-1)

    def test_prefixes_that_match_nothing(self):
        for kind in OPS:
            for prefix in ("zzz", "a/", "b/c/", "b/cc", "0", "b/c" + "x" * 900):
                root, items, _ = self.raw(self.b, kind, [("prefix", prefix), ("delimiter", "/")])
                self.assertEqual((items, text(root, "IsTruncated")), ([], "false"), (kind, prefix))
            _, items, _ = self.raw(self.b, kind, [("prefix", "b/c")])
            self.assertEqual([x[1] for x in items], ["b/c"], kind)
            _, items, _ = self.raw(self.b, kind, [("prefix", "b"), ("delimiter", "/")])
            self.assertEqual(strip_ids(items), [("P", "b/")], kind)
            _, items, _ = self.raw(self.b, kind, [("prefix", "b/"), ("delimiter", "/")])
            self.assertEqual([x[1] for x in items], ["b/c"], kind)

    def test_empty_bucket(self):
        for kind in OPS:
            for params in ([], [("delimiter", "/")], [("prefix", "x/"), ("delimiter", "/")],
                           [("encoding-type", "url"), (OPS[kind][2], "1")]):
                root, items, _ = self.raw(self.empty, kind, params)
                self.assertEqual((items, text(root, "IsTruncated")), ([], "false"), (kind, params))
        r = self.s3.list_objects_v2(Bucket=self.empty)
        self.assertEqual((r["KeyCount"], "Contents" in r, r["IsTruncated"]), (0, False, False))
        r = self.s3.list_object_versions(Bucket=self.empty)
        self.assertEqual(("Versions" in r, "DeleteMarkers" in r), (False, False))
        self.assertNotIn("Uploads", self.s3.list_multipart_uploads(Bucket=self.empty))
        for kind in ("v1", "v2", "versions"):
            self.assertEqual(self.walk(kind, self.empty, 1), [])

    def test_missing_bucket(self):
        for kind in OPS:
            self.raw_error("list-no-such-bucket", kind, [], code="NoSuchBucket", status=404)
        self.assertError("NoSuchBucket", 404, self.s3.list_objects_v2, Bucket="list-no-such-bucket")


# ---- awscli ----------------------------------------------------------------

class AwsCli(Base):
    """Debian's awscli v2 over the same buckets: its own paginators and its
    own automatic url encoding. (Each run costs seconds of start-up, so
    there are few.)"""
    AWS = "/usr/bin/aws"

    @classmethod
    def setUpClass(cls):
        cls.env = hf.cli_env(hf.SHARED)
        cls.env.update({"AWS_EC2_METADATA_DISABLED": "true", "LC_ALL": "C.UTF-8"})
        with open(cls.env["AWS_CONFIG_FILE"], "w") as f:
            f.write("[default]\nregion = us-east-1\ns3 =\n    addressing_style = path\n")
        cls.big = big()

    def aws(self, *args, ok=True):
        p = subprocess.run([self.AWS, "--endpoint-url", hf.SHARED.endpoint, "--output", "json"] + list(args),
                           env=self.env, capture_output=True, timeout=300)
        if ok:
            self.assertEqual(p.returncode, 0, p.stderr.decode(errors="replace")[-800:])
            return json.loads(p.stdout or b"{}")
        self.assertNotEqual(p.returncode, 0)
        return p.stderr.decode(errors="replace")

    def test_objects_and_versions(self):
        f = self.big
        r = self.aws("s3api", "list-objects-v2", "--bucket", f.b, "--page-size", "700")
        self.assertEqual([o["Key"] for o in r["Contents"]], ordered(f.live))
        r = self.aws("s3api", "list-object-versions", "--bucket", f.b, "--page-size", "900")
        want = model(f.all, entries=f.versions)
        self.assertEqual(sorted((v["Key"], v["VersionId"]) for v in r["Versions"]),
                         sorted((k, v) for _, k, v, m in want if not m))
        self.assertEqual(sorted((v["Key"], v["VersionId"]) for v in r["DeleteMarkers"]),
                         sorted((k, v) for _, k, v, m in want if m))

    def test_uploads_and_special_keys(self):
        f = self.big
        r = self.aws("s3api", "list-multipart-uploads", "--bucket", f.ub, "--page-size", "400")
        self.assertEqual([(u["Key"], u["UploadId"]) for u in r["Uploads"]],
                         [(k, u) for _, k, u, _ in model(f.ukeys, entries=f.uentries)])
        # Keys with every special character, control characters included:
        # awscli asks for url encoding and decodes, page after page.
        r = self.aws("s3api", "list-objects", "--bucket", keys_bucket().b, "--page-size", "5")
        self.assertEqual([o["Key"] for o in r["Contents"]], ordered(ALL_KEYS))

    def test_errors(self):
        err = self.aws("s3api", "list-objects", "--bucket", self.big.b, "--encoding-type", "base64", ok=False)
        self.assertIn("InvalidArgument", err)
        err = self.aws("s3api", "list-objects-v2", "--bucket", self.big.b, "--max-keys", "-1", "--no-paginate",
                       ok=False)
        self.assertIn("InvalidArgument", err)


if __name__ == "__main__":
    hf.main(__file__)
