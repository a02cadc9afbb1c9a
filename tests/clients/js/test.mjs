// AWS SDK for JavaScript v3 (@aws-sdk/client-s3, @aws-sdk/lib-storage, the
// exact versions pinned in package.json) against a running holdfast server.
//
// Run by tests/clients/js-sdk.sh, which starts the server and passes
//   HF_ENDPOINT, HF_ACCESS_KEY, HF_SECRET_KEY, HF_TMP (a scratch directory).
// Prints one line per step: "PASS clients/js-sdk/<name>" or
// "FAIL clients/js-sdk/<name>: <reason>" plus indented details; lines that
// start with "# " are information (the headers the SDK sent per upload
// shape) and are not counted.
//
// The client is configured with what a user must give for another endpoint
// (endpoint, region, credentials) and nothing else: the SDK picks
// path-style addressing itself for an IP endpoint.
// The client keeps the SDK's DEFAULT checksum behaviour
// (requestChecksumCalculation WHEN_SUPPORTED: CRC32 on every PutObject /
// UploadPart). A middleware records the headers of every request as sent.
// The later steps set ChecksumAlgorithm to each algorithm the SDK has
// (header and trailer forms, composite and full-object multipart) and use
// copies, conditional writes and versions.
import {
  S3Client,
  CreateBucketCommand,
  HeadBucketCommand,
  PutObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  DeleteObjectCommand,
  DeleteBucketCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  UploadPartCommand,
  UploadPartCopyCommand,
  CompleteMultipartUploadCommand,
  GetObjectAttributesCommand,
  PutBucketVersioningCommand,
  ListObjectVersionsCommand,
  ListBucketsCommand,
  paginateListBuckets,
} from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { createHash, randomBytes } from "node:crypto";
import { createReadStream, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Readable } from "node:stream";
import { crc32 } from "node:zlib";

const SUITE = "clients/js-sdk";
const endpoint = process.env.HF_ENDPOINT;
const tmp = process.env.HF_TMP;
if (!endpoint || !tmp || !process.env.HF_ACCESS_KEY || !process.env.HF_SECRET_KEY) {
  console.log(`FAIL ${SUITE}/setup: HF_ENDPOINT, HF_ACCESS_KEY, HF_SECRET_KEY and HF_TMP must be set`);
  process.exit(1);
}

const MiB = 1024 * 1024;
const BUCKET = "js-sdk-bucket";

// ---- request recording ------------------------------------------------------

const sent = []; // {command, method, path, query, headers}
function recorder(next, context) {
  return async (args) => {
    const r = args.request;
    if (r && r.headers) {
      sent.push({
        command: context.commandName,
        method: r.method,
        path: r.path,
        query: { ...(r.query || {}) },
        headers: { ...r.headers },
      });
    }
    return next(args);
  };
}

function makeClient(extra = {}) {
  const c = new S3Client({
    endpoint,
    region: "us-east-1",
    credentials: { accessKeyId: process.env.HF_ACCESS_KEY, secretAccessKey: process.env.HF_SECRET_KEY },
    maxAttempts: 1,
    ...extra,
  });
  // The deserialize step runs innermost: it sees the request exactly as the
  // HTTP handler sends it (after checksums, aws-chunked encoding, signing).
  c.middlewareStack.add(recorder, { step: "deserialize", name: "hfRecorder", priority: "low" });
  return c;
}
const s3 = makeClient();

// Headers worth reporting: everything but the volatile signature details.
function describe(req) {
  const keep = Object.keys(req.headers)
    .map((k) => k.toLowerCase())
    .sort()
    .filter((k) => !["authorization", "x-amz-date", "amz-sdk-invocation-id", "user-agent", "x-amz-user-agent", "host"].includes(k));
  const h = {};
  for (const k of Object.keys(req.headers)) h[k.toLowerCase()] = req.headers[k];
  return keep.map((k) => {
    let v = String(h[k]);
    if (k === "x-amz-content-sha256" && /^[0-9a-f]{64}$/.test(v)) v = "<sha256 of the body>";
    return `${k}: ${v}`;
  });
}
function lowerHeaders(req) {
  const h = {};
  for (const k of Object.keys(req.headers)) h[k.toLowerCase()] = String(req.headers[k]);
  return h;
}
function lastSent(command) {
  for (let i = sent.length - 1; i >= 0; i--) if (sent[i].command === command) return sent[i];
  return null;
}
function info(title, req) {
  console.log(`# ${title}: ${req.method} ${req.path}${Object.keys(req.query).length ? "?" + Object.keys(req.query).join("&") : ""}`);
  for (const l of describe(req)) console.log(`#     ${l}`);
}

// ---- steps -----------------------------------------------------------------

let npass = 0;
let nfail = 0;
const failed = new Set();
class Check extends Error {
  constructor(msg, details = []) {
    super(msg);
    this.details = details;
  }
}
function check(cond, msg, ...details) {
  if (!cond) throw new Check(msg, details);
}
function checkEq(got, want, what) {
  if (JSON.stringify(got) !== JSON.stringify(want)) {
    throw new Check(`${what}: got ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
  }
}
async function step(name, fn, needs = []) {
  const missing = needs.filter((n) => failed.has(n));
  if (missing.length) {
    nfail++;
    failed.add(name);
    console.log(`FAIL ${SUITE}/${name}: not run: needs ${missing.join(", ")}, which failed`);
    return;
  }
  const first = sent.length;
  try {
    await fn();
    npass++;
    console.log(`PASS ${SUITE}/${name}`);
  } catch (e) {
    nfail++;
    failed.add(name);
    const reason = e instanceof Check ? e.message : `${e.name}: ${e.message}`;
    console.log(`FAIL ${SUITE}/${name}: ${reason.replace(/\s+/g, " ").slice(0, 400)}`);
    const details = e instanceof Check ? [...e.details] : (e.stack || "").split("\n").slice(1, 3);
    if (e.$metadata) details.push(`http status ${e.$metadata.httpStatusCode}, error code ${e.Code || e.name}`);
    if (e.$response && e.$response.body && typeof e.$response.body === "string") details.push(e.$response.body);
    // The request that failed, as the SDK sent it.
    const last = sent.length > first ? sent[sent.length - 1] : null;
    if (last && !(e instanceof Check)) {
      details.push(`request sent: ${last.command}: ${last.method} ${last.path}`);
      for (const l of describe(last)) details.push(`    ${l}`);
    }
    for (const d of details) for (const l of String(d).split("\n")) console.log(`    ${l.slice(0, 300)}`);
  }
}

async function expectError(promise, name, status) {
  try {
    await promise;
  } catch (e) {
    checkEq(e.name, name, "error name");
    checkEq(e.$metadata && e.$metadata.httpStatusCode, status, "http status of " + name);
    return e;
  }
  throw new Check(`succeeded, want ${name}`);
}

const sha256 = (b) => createHash("sha256").update(b).digest("hex");
const md5 = (b) => createHash("md5").update(b).digest("hex");
async function bodyBytes(body) {
  const chunks = [];
  for await (const c of body) chunks.push(Buffer.from(c));
  return Buffer.concat(chunks);
}
function multipartEtag(buf, part) {
  const parts = [];
  for (let off = 0; off < buf.length; off += part) parts.push(createHash("md5").update(buf.subarray(off, off + part)).digest());
  return `${createHash("md5").update(Buffer.concat(parts)).digest("hex")}-${parts.length}`;
}

const objects = {}; // key -> Buffer we uploaded

async function putAndVerify(key, makeBody, bytes, extra = {}) {
  const r = await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: makeBody(), ...extra }));
  checkEq(r.ETag, `"${md5(bytes)}"`, "ETag returned by PutObject");
  objects[key] = bytes;
  const g = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
  const got = await bodyBytes(g.Body);
  checkEq(got.length, bytes.length, "length of GetObject body");
  check(sha256(got) === sha256(bytes), "GetObject returned different bytes (sha256 differs)");
  checkEq(g.ContentLength, bytes.length, "GetObject ContentLength");
  return lastSent("PutObjectCommand");
}

const bufBody = randomBytes(3 * MiB + 5);
const streamBody = randomBytes(4 * MiB + 3);
const streamFile = join(tmp, "stream.bin");
writeFileSync(streamFile, streamBody);
const bigBody = randomBytes(11 * MiB + 7);

await step("create-bucket", async () => {
  await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
  await s3.send(new HeadBucketCommand({ Bucket: BUCKET }));
});

await step("put-get-buffer", async () => {
  const req = await putAndVerify("buffer.bin", () => bufBody, bufBody);
  info("PutObject, Body: Buffer (3 MiB)", req);
  const h = lowerHeaders(req);
  // The default checksum behaviour: a CRC32 of the body in a header.
  check(h["x-amz-checksum-crc32"], "the SDK sent no x-amz-checksum-crc32 header (did its default change?)", ...describe(req));
}, ["create-bucket"]);

await step("put-get-string", async () => {
  const text = "héllo wörld, a string body\n".repeat(100);
  const req = await putAndVerify("dir/string.txt", () => text, Buffer.from(text), { ContentType: "text/plain; charset=utf-8" });
  info("PutObject, Body: string", req);
}, ["create-bucket"]);

await step("put-get-stream-trailer", async () => {
  const req = await putAndVerify(
    "dir/stream.bin",
    () => createReadStream(streamFile, { highWaterMark: 64 * 1024 }),
    streamBody,
    { ContentLength: streamBody.length },
  );
  info("PutObject, Body: fs.ReadStream (4 MiB) with ContentLength", req);
  const h = lowerHeaders(req);
  // The case this step exists for: CRC32 as an aws-chunked trailer.
  checkEq(h["x-amz-content-sha256"], "STREAMING-UNSIGNED-PAYLOAD-TRAILER", "x-amz-content-sha256 the SDK sent");
  checkEq(h["x-amz-trailer"], "x-amz-checksum-crc32", "x-amz-trailer the SDK sent");
  checkEq(h["x-amz-decoded-content-length"], String(streamBody.length), "x-amz-decoded-content-length");
}, ["create-bucket"]);

await step("put-get-readable-from", async () => {
  // A generic Readable (not a file stream) cut into odd-sized pieces.
  const pieces = [];
  for (let off = 0; off < streamBody.length; off += 300001) pieces.push(streamBody.subarray(off, off + 300001));
  const req = await putAndVerify("dir/readable.bin", () => Readable.from(pieces), streamBody, { ContentLength: streamBody.length });
  info("PutObject, Body: Readable.from(Buffer pieces) with ContentLength", req);
}, ["create-bucket"]);

await step("put-stream-corrupted-trailer-rejected", async () => {
  // Same stream upload, but one byte of the first chunk's data is flipped
  // after the SDK computed the CRC32 trailer. The payload is unsigned, so
  // only the trailer checksum can catch it: S3 answers 400 BadDigest and
  // stores nothing.
  const c = makeClient();
  c.middlewareStack.add(
    (next) => async (args) => {
      const body = args.request.body;
      const enc = await bodyBytes(body);
      const eol = enc.indexOf("\r\n");
      const pos = eol + 2 + 1000; // inside the first chunk's data
      enc[pos] ^= 0xff;
      args.request.body = Readable.from([enc]);
      return next(args);
    },
    { step: "deserialize", name: "hfCorrupt", priority: "high" },
  );
  await expectError(
    c.send(new PutObjectCommand({ Bucket: BUCKET, Key: "corrupt.bin", Body: createReadStream(streamFile), ContentLength: streamBody.length })),
    "BadDigest",
    400,
  );
  const req = lastSent("PutObjectCommand");
  checkEq(lowerHeaders(req)["x-amz-content-sha256"], "STREAMING-UNSIGNED-PAYLOAD-TRAILER", "x-amz-content-sha256");
  await expectError(s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: "corrupt.bin" })), "NotFound", 404);
}, ["create-bucket"]);

await step("put-buffer-wrong-checksum-rejected", async () => {
  await expectError(
    s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: "wrong.bin", Body: bufBody, ChecksumCRC32: "AAAAAA==" })),
    "BadDigest",
    400,
  );
  await expectError(s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: "wrong.bin" })), "NotFound", 404);
}, ["create-bucket"]);

await step("lib-storage-multipart-upload", async () => {
  const pieces = [];
  for (let off = 0; off < bigBody.length; off += 1 * MiB) pieces.push(bigBody.subarray(off, off + 1 * MiB));
  const up = new Upload({
    client: s3,
    params: { Bucket: BUCKET, Key: "multi/big.bin", Body: Readable.from(pieces) },
    partSize: 5 * MiB,
    queueSize: 2,
  });
  const r = await up.done();
  const create = lastSent("CreateMultipartUploadCommand");
  const part = lastSent("UploadPartCommand");
  const complete = lastSent("CompleteMultipartUploadCommand");
  check(create && part && complete, "lib-storage did not do a multipart upload",
    ...sent.slice(-6).map((x) => `${x.command} ${x.method} ${x.path}`));
  info("lib-storage Upload: CreateMultipartUpload", create);
  info("lib-storage Upload: UploadPart (Body: Buffer part)", part);
  info("lib-storage Upload: CompleteMultipartUpload", complete);
  checkEq(r.ETag, `"${multipartEtag(bigBody, 5 * MiB)}"`, "ETag of the completed upload");
  objects["multi/big.bin"] = bigBody;
  const g = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: "multi/big.bin" }));
  const got = await bodyBytes(g.Body);
  check(sha256(got) === sha256(bigBody), "GetObject of the multipart object returned different bytes");
}, ["create-bucket"]);

await step("get-range", async () => {
  const g = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: "buffer.bin", Range: "bytes=1000-1999" }));
  checkEq(g.$metadata.httpStatusCode, 206, "status");
  checkEq(g.ContentRange, `bytes 1000-1999/${bufBody.length}`, "ContentRange");
  const got = await bodyBytes(g.Body);
  check(got.equals(bufBody.subarray(1000, 2000)), "ranged GetObject returned the wrong bytes");
}, ["put-get-buffer"]);

await step("head-object", async () => {
  const h = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: "dir/string.txt" }));
  checkEq(h.ContentLength, objects["dir/string.txt"].length, "ContentLength");
  checkEq(h.ETag, `"${md5(objects["dir/string.txt"])}"`, "ETag");
  checkEq(h.ContentType, "text/plain; charset=utf-8", "ContentType");
  check(h.LastModified instanceof Date && Math.abs(Date.now() - h.LastModified.getTime()) < 5 * 60 * 1000,
    `LastModified ${h.LastModified} is not close to now`);
  const h2 = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: "buffer.bin" }));
  checkEq(h2.ContentLength, bufBody.length, "ContentLength of buffer.bin");
  checkEq(h2.ETag, `"${md5(bufBody)}"`, "ETag of buffer.bin");
}, ["put-get-string", "put-get-buffer"]);

await step("get-missing-key", async () => {
  await expectError(s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: "no/such/key" })), "NoSuchKey", 404);
  await expectError(s3.send(new GetObjectCommand({ Bucket: "no-such-bucket-js", Key: "k" })), "NoSuchBucket", 404);
}, ["create-bucket"]);

await step("list-objects-v2", async () => {
  const got = {};
  let token;
  let pages = 0;
  do {
    const r = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, MaxKeys: 1, ContinuationToken: token }));
    for (const o of r.Contents || []) got[o.Key] = [o.Size, o.ETag];
    token = r.IsTruncated ? r.NextContinuationToken : undefined;
    pages++;
  } while (token && pages < 100);
  const want = {};
  for (const [k, b] of Object.entries(objects)) want[k] = [b.length, `"${k === "multi/big.bin" ? multipartEtag(b, 5 * MiB) : md5(b)}"`];
  const sortObj = (o) => Object.fromEntries(Object.entries(o).sort());
  // Whatever the earlier steps stored, listed exactly (one key per page).
  checkEq(sortObj(got), sortObj(want), "ListObjectsV2 (all pages, MaxKeys 1)");
  checkEq(pages, Object.keys(want).length, "number of pages with MaxKeys 1");
  const d = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Delimiter: "/" }));
  const keys = Object.keys(objects);
  const wantPrefixes = [...new Set(keys.filter((k) => k.includes("/")).map((k) => k.split("/")[0] + "/"))].sort();
  checkEq((d.CommonPrefixes || []).map((p) => p.Prefix).sort(), wantPrefixes, "CommonPrefixes with Delimiter /");
  checkEq((d.Contents || []).map((o) => o.Key).sort(), keys.filter((k) => !k.includes("/")).sort(), "top-level keys");
}, ["put-get-buffer", "put-get-string"]);

await step("list-buckets", async () => {
  // ListBuckets as the SDK pages it: MaxBuckets, ContinuationToken, Prefix
  // and BucketRegion (the paginator follows ContinuationToken).
  const names = ["js-sdk-page-a", "js-sdk-page-b", "js-sdk-page-c"];
  for (const n of names) await s3.send(new CreateBucketCommand({ Bucket: n }));
  const all = await s3.send(new ListBucketsCommand({}));
  check((all.Buckets || []).some((b) => b.Name === BUCKET), "the suite's bucket in ListBuckets", JSON.stringify(all.Buckets));
  checkEq(all.ContinuationToken, undefined, "ContinuationToken of an unpaged listing");
  const pages = [];
  for await (const page of paginateListBuckets({ client: s3, pageSize: 2 }, { Prefix: "js-sdk-page-", BucketRegion: "us-east-1" })) {
    checkEq(page.Prefix, "js-sdk-page-", "Prefix echoed");
    pages.push((page.Buckets || []).map((b) => [b.Name, b.BucketRegion]));
  }
  checkEq(pages, [[["js-sdk-page-a", "us-east-1"], ["js-sdk-page-b", "us-east-1"]], [["js-sdk-page-c", "us-east-1"]]], "pages of 2");
  const other = await s3.send(new ListBucketsCommand({ BucketRegion: "eu-west-1" }));
  checkEq(other.Buckets || [], [], "buckets in another region");
  const e = await expectError(s3.send(new ListBucketsCommand({ MaxBuckets: 10001 })), "InvalidArgument", 400);
  checkEq(e.message, "Argument max-buckets must be an integer between 1 and 10000.", "message for MaxBuckets 10001");
  await expectError(s3.send(new ListBucketsCommand({ ContinuationToken: "not-a-token" })), "InvalidArgument", 400);
  for (const n of names) await s3.send(new DeleteBucketCommand({ Bucket: n }));
}, ["create-bucket"]);

await step("delete-bucket-not-empty", async () => {
  await expectError(s3.send(new DeleteBucketCommand({ Bucket: BUCKET })), "BucketNotEmpty", 409);
}, ["put-get-buffer"]);

await step("delete-objects", async () => {
  for (const k of Object.keys(objects)) {
    const r = await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: k }));
    checkEq(r.$metadata.httpStatusCode, 204, `status of DeleteObject ${k}`);
  }
  const r = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET }));
  checkEq(r.KeyCount, 0, "KeyCount after deleting everything");
  checkEq(r.Contents || [], [], "Contents after deleting everything");
  await expectError(s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: "buffer.bin" })), "NotFound", 404);
}, ["create-bucket"]);

await step("delete-bucket", async () => {
  await s3.send(new DeleteBucketCommand({ Bucket: BUCKET }));
  await expectError(s3.send(new HeadBucketCommand({ Bucket: BUCKET })), "NotFound", 404);
}, ["delete-objects"]);

// ---- the API beyond plain objects: every checksum algorithm, copies,
// conditional writes, versions ------------------------------------------------

const API = "js-sdk-api";
const ALGS = ["CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256"];
// The checksums node can compute itself, to check the SDK and the server
// agree with an independent implementation (CRC32C and CRC64NVME are
// checked against the header the SDK computed and sent).
const localChecksum = {
  CRC32: (b) => { const x = Buffer.alloc(4); x.writeUInt32BE(crc32(b) >>> 0); return x.toString("base64"); },
  SHA1: (b) => createHash("sha1").update(b).digest("base64"),
  SHA256: (b) => createHash("sha256").update(b).digest("base64"),
};
const small = randomBytes(200 * 1024 + 11);
const smallFile = join(tmp, "small.bin");
writeFileSync(smallFile, small);

await step("api-create-bucket", async () => {
  await s3.send(new CreateBucketCommand({ Bucket: API }));
});

for (const alg of ALGS) {
  const field = "Checksum" + alg;
  const hdr = "x-amz-checksum-" + alg.toLowerCase();
  await step(`checksum-${alg.toLowerCase()}-put-get`, async () => {
    // In a header (Buffer body) ...
    const r = await s3.send(new PutObjectCommand({ Bucket: API, Key: `ck/${alg}`, Body: small, ChecksumAlgorithm: alg }));
    const sentHdr = lowerHeaders(lastSent("PutObjectCommand"))[hdr];
    check(sentHdr, `the SDK sent no ${hdr} header`, ...describe(lastSent("PutObjectCommand")));
    checkEq(r[field], sentHdr, `${field} returned by PutObject`);
    if (localChecksum[alg]) checkEq(sentHdr, localChecksum[alg](small), `${alg} of the body`);
    // ... and as an aws-chunked trailer (stream body).
    const r2 = await s3.send(new PutObjectCommand({
      Bucket: API, Key: `ck/${alg}-stream`, Body: createReadStream(smallFile), ContentLength: small.length, ChecksumAlgorithm: alg,
    }));
    const h2 = lowerHeaders(lastSent("PutObjectCommand"));
    checkEq(h2["x-amz-trailer"], hdr, "x-amz-trailer the SDK sent");
    checkEq(r2[field], sentHdr, `${field} of the trailer upload`);
    // Returned on GET and HEAD when asked; the SDK verifies the body against it.
    for (const key of [`ck/${alg}`, `ck/${alg}-stream`]) {
      const g = await s3.send(new GetObjectCommand({ Bucket: API, Key: key, ChecksumMode: "ENABLED" }));
      const got = await bodyBytes(g.Body);
      check(got.equals(small), `GetObject ${key} returned different bytes`);
      checkEq([g[field], g.ChecksumType], [sentHdr, "FULL_OBJECT"], `${field} and ChecksumType on GetObject ${key}`);
      const h = await s3.send(new HeadObjectCommand({ Bucket: API, Key: key, ChecksumMode: "ENABLED" }));
      checkEq(h[field], sentHdr, `${field} on HeadObject`);
    }
    const plain = await s3.send(new HeadObjectCommand({ Bucket: API, Key: `ck/${alg}` }));
    checkEq(plain[field], undefined, `${field} without x-amz-checksum-mode`);
    // A wrong value is refused and nothing is stored.
    const wrong = alg.startsWith("SHA") ? localChecksum[alg](Buffer.from("other")) : (alg === "CRC64NVME" ? "AAAAAAAAAAA=" : "AAAAAA==");
    await expectError(s3.send(new PutObjectCommand({ Bucket: API, Key: `ck/${alg}-bad`, Body: small, [field]: wrong })), "BadDigest", 400);
    await expectError(s3.send(new HeadObjectCommand({ Bucket: API, Key: `ck/${alg}-bad` })), "NotFound", 404);
  }, ["api-create-bucket"]);
}

// Multipart with each algorithm: COMPOSITE where S3 allows it (the
// checksum of the part checksums, "-N"), FULL_OBJECT for CRC64NVME and,
// when asked, CRC32 / CRC32C.
const partA = randomBytes(5 * MiB);
const partB = randomBytes(1 * MiB + 17);
const whole = Buffer.concat([partA, partB]);
const shapes = ALGS.map((a) => [a, a === "CRC64NVME" ? "FULL_OBJECT" : "COMPOSITE"]).concat([["CRC32", "FULL_OBJECT"], ["CRC32C", "FULL_OBJECT"]]);
for (const [alg, type] of shapes) {
  const field = "Checksum" + alg;
  await step(`multipart-${alg.toLowerCase()}-${type.toLowerCase()}`, async () => {
    const key = `mp/${alg}-${type}`;
    const c = await s3.send(new CreateMultipartUploadCommand({ Bucket: API, Key: key, ChecksumAlgorithm: alg, ChecksumType: type }));
    checkEq([c.ChecksumAlgorithm, c.ChecksumType], [alg, type], "CreateMultipartUpload's algorithm and type");
    const parts = [];
    for (const [n, body] of [[1, partA], [2, partB]]) {
      const u = await s3.send(new UploadPartCommand({ Bucket: API, Key: key, UploadId: c.UploadId, PartNumber: n, Body: body, ChecksumAlgorithm: alg }));
      check(u[field], `UploadPart ${n} returned no ${field}`);
      parts.push({ PartNumber: n, ETag: u.ETag, [field]: u[field] });
    }
    const done = await s3.send(new CompleteMultipartUploadCommand({ Bucket: API, Key: key, UploadId: c.UploadId, MultipartUpload: { Parts: parts } }));
    check(done[field], `CompleteMultipartUpload returned no ${field}`);
    if (type === "COMPOSITE" && localChecksum[alg]) {
      // S3's composite value: the algorithm over the parts' binary
      // checksums, then "-" and the part count.
      const bin = Buffer.concat(parts.map((x) => Buffer.from(x[field], "base64")));
      checkEq(done[field], `${localChecksum[alg](bin)}-2`, `composite ${alg}`);
    }
    if (type === "COMPOSITE") check(done[field].endsWith("-2"), `composite checksum ${done[field]} does not end in -2`);
    if (type === "FULL_OBJECT" && localChecksum[alg]) checkEq(done[field], localChecksum[alg](whole), `full-object ${alg}`);
    if (type === "FULL_OBJECT" && alg !== "CRC32") {
      // The same bytes in one PUT must give the same full-object value.
      const one = await s3.send(new PutObjectCommand({ Bucket: API, Key: key + "-single", Body: whole, ChecksumAlgorithm: alg }));
      checkEq(done[field], one[field], `full-object ${alg} of the parts = ${alg} of one PUT`);
    }
    const g = await s3.send(new GetObjectCommand({ Bucket: API, Key: key, ChecksumMode: "ENABLED" }));
    check((await bodyBytes(g.Body)).equals(whole), "GetObject of the multipart object returned different bytes");
    checkEq([g[field], g.ChecksumType], [done[field], type], "checksum and type on GetObject");
    const p = await s3.send(new GetObjectCommand({ Bucket: API, Key: key, PartNumber: 2, ChecksumMode: "ENABLED" }));
    check((await bodyBytes(p.Body)).equals(partB), "GetObject partNumber=2 returned different bytes");
    const a = await s3.send(new GetObjectAttributesCommand({ Bucket: API, Key: key, ObjectAttributes: ["Checksum", "ObjectParts", "ObjectSize"] }));
    checkEq([a.ObjectSize, a.ObjectParts && a.ObjectParts.TotalPartsCount], [whole.length, 2], "GetObjectAttributes size and parts");
    checkEq(a.Checksum && a.Checksum.ChecksumType, type, "GetObjectAttributes ChecksumType");
  }, ["api-create-bucket"]);
}

await step("lib-storage-multipart-crc32c", async () => {
  const up = new Upload({ client: s3, params: { Bucket: API, Key: "mp/lib-storage", Body: Readable.from([whole]), ChecksumAlgorithm: "CRC32C" }, partSize: 5 * MiB, queueSize: 2 });
  await up.done();
  const h = await s3.send(new HeadObjectCommand({ Bucket: API, Key: "mp/lib-storage", ChecksumMode: "ENABLED" }));
  check(h.ChecksumCRC32C, "no CRC32C on the object lib-storage uploaded");
  checkEq(h.ContentLength, whole.length, "ContentLength");
}, ["api-create-bucket"]);

await step("copy-object", async () => {
  const r = await s3.send(new CopyObjectCommand({ Bucket: API, Key: "copy/same", CopySource: `${API}/ck/SHA256` }));
  checkEq(r.CopyObjectResult.ETag, `"${md5(small)}"`, "ETag of the copy");
  const g = await s3.send(new GetObjectCommand({ Bucket: API, Key: "copy/same", ChecksumMode: "ENABLED" }));
  check((await bodyBytes(g.Body)).equals(small), "the copy's bytes");
  checkEq(g.ChecksumSHA256, localChecksum.SHA256(small), "the source's checksum travels with the copy");
  // A new algorithm computed during the copy.
  const r2 = await s3.send(new CopyObjectCommand({ Bucket: API, Key: "copy/crc64", CopySource: `${API}/ck/SHA256`, ChecksumAlgorithm: "CRC64NVME",
    MetadataDirective: "REPLACE", ContentType: "application/x-test", Metadata: { copied: "yes" } }));
  // The reference value: what the SDK computes for the same bytes.
  const ref = await s3.send(new PutObjectCommand({ Bucket: API, Key: "copy/ref", Body: small, ChecksumAlgorithm: "CRC64NVME" }));
  checkEq(r2.CopyObjectResult.ChecksumCRC64NVME, ref.ChecksumCRC64NVME, "CRC64NVME computed by the copy");
  const h = await s3.send(new HeadObjectCommand({ Bucket: API, Key: "copy/crc64" }));
  checkEq([h.ContentType, h.Metadata], ["application/x-test", { copied: "yes" }], "REPLACE directive");
  await expectError(s3.send(new CopyObjectCommand({ Bucket: API, Key: "copy/x", CopySource: `${API}/ck/SHA256`, CopySourceIfMatch: '"0123"' })), "PreconditionFailed", 412);
  await expectError(s3.send(new CopyObjectCommand({ Bucket: API, Key: "copy/x", CopySource: `${API}/no-such` })), "NoSuchKey", 404);
}, ["checksum-sha256-put-get"]);

await step("upload-part-copy", async () => {
  const src = `${API}/mp/CRC32-COMPOSITE`;
  const c = await s3.send(new CreateMultipartUploadCommand({ Bucket: API, Key: "copy/parts" }));
  const p1 = await s3.send(new UploadPartCopyCommand({ Bucket: API, Key: "copy/parts", UploadId: c.UploadId, PartNumber: 1, CopySource: src, CopySourceRange: `bytes=0-${5 * MiB - 1}` }));
  const p2 = await s3.send(new UploadPartCopyCommand({ Bucket: API, Key: "copy/parts", UploadId: c.UploadId, PartNumber: 2, CopySource: src, CopySourceRange: `bytes=${5 * MiB}-${whole.length - 1}` }));
  await s3.send(new CompleteMultipartUploadCommand({ Bucket: API, Key: "copy/parts", UploadId: c.UploadId,
    MultipartUpload: { Parts: [{ PartNumber: 1, ETag: p1.CopyPartResult.ETag }, { PartNumber: 2, ETag: p2.CopyPartResult.ETag }] } }));
  const g = await s3.send(new GetObjectCommand({ Bucket: API, Key: "copy/parts" }));
  check((await bodyBytes(g.Body)).equals(whole), "bytes of the object assembled from copied ranges");
  await expectError(s3.send(new UploadPartCopyCommand({ Bucket: API, Key: "copy/parts", UploadId: "no-such-upload", PartNumber: 1, CopySource: src })), "NoSuchUpload", 404);
}, ["multipart-crc32-composite"]);

await step("complete-retried", async () => {
  // A CompleteMultipartUpload sent again (a retry after a lost answer) gets
  // the same answer; with other parts it is NoSuchUpload.
  const c = await s3.send(new CreateMultipartUploadCommand({ Bucket: API, Key: "retry/obj", ChecksumAlgorithm: "CRC32" }));
  const u = await s3.send(new UploadPartCommand({ Bucket: API, Key: "retry/obj", UploadId: c.UploadId, PartNumber: 1, Body: small, ChecksumAlgorithm: "CRC32" }));
  const parts = { Parts: [{ PartNumber: 1, ETag: u.ETag, ChecksumCRC32: u.ChecksumCRC32 }] };
  const first = await s3.send(new CompleteMultipartUploadCommand({ Bucket: API, Key: "retry/obj", UploadId: c.UploadId, MultipartUpload: parts }));
  const again = await s3.send(new CompleteMultipartUploadCommand({ Bucket: API, Key: "retry/obj", UploadId: c.UploadId, MultipartUpload: parts }));
  checkEq([again.ETag, again.Bucket, again.Key, again.Location, again.ChecksumCRC32],
    [first.ETag, first.Bucket, first.Key, first.Location, first.ChecksumCRC32], "the repeated answer");
  await expectError(s3.send(new CompleteMultipartUploadCommand({ Bucket: API, Key: "retry/obj", UploadId: c.UploadId,
    MultipartUpload: { Parts: [{ PartNumber: 1, ETag: `"${md5("other")}"` }] } })), "NoSuchUpload", 404);
}, ["api-create-bucket"]);

await step("conditional-writes", async () => {
  const r = await s3.send(new PutObjectCommand({ Bucket: API, Key: "cond/once", Body: "first", IfNoneMatch: "*" }));
  await expectError(s3.send(new PutObjectCommand({ Bucket: API, Key: "cond/once", Body: "second", IfNoneMatch: "*" })), "PreconditionFailed", 412);
  await expectError(s3.send(new PutObjectCommand({ Bucket: API, Key: "cond/once", Body: "third", IfMatch: `"${md5("other")}"` })), "PreconditionFailed", 412);
  await s3.send(new PutObjectCommand({ Bucket: API, Key: "cond/once", Body: "fourth", IfMatch: r.ETag }));
  const g = await s3.send(new GetObjectCommand({ Bucket: API, Key: "cond/once" }));
  checkEq((await bodyBytes(g.Body)).toString(), "fourth", "body after the conditional writes");
  // And on completing a multipart upload.
  const c = await s3.send(new CreateMultipartUploadCommand({ Bucket: API, Key: "cond/once" }));
  const u = await s3.send(new UploadPartCommand({ Bucket: API, Key: "cond/once", UploadId: c.UploadId, PartNumber: 1, Body: "x" }));
  await expectError(s3.send(new CompleteMultipartUploadCommand({ Bucket: API, Key: "cond/once", UploadId: c.UploadId, IfNoneMatch: "*",
    MultipartUpload: { Parts: [{ PartNumber: 1, ETag: u.ETag }] } })), "PreconditionFailed", 412);
}, ["api-create-bucket"]);

await step("versions", async () => {
  const V = "js-sdk-versioned";
  await s3.send(new CreateBucketCommand({ Bucket: V }));
  await s3.send(new PutBucketVersioningCommand({ Bucket: V, VersioningConfiguration: { Status: "Enabled" } }));
  const v1 = (await s3.send(new PutObjectCommand({ Bucket: V, Key: "k", Body: "one" }))).VersionId;
  const v2 = (await s3.send(new PutObjectCommand({ Bucket: V, Key: "k", Body: "two" }))).VersionId;
  const d = await s3.send(new DeleteObjectCommand({ Bucket: V, Key: "k" }));
  checkEq(d.DeleteMarker, true, "DeleteMarker");
  const g = await s3.send(new GetObjectCommand({ Bucket: V, Key: "k", VersionId: v1 }));
  checkEq((await bodyBytes(g.Body)).toString(), "one", "the first version");
  const l = await s3.send(new ListObjectVersionsCommand({ Bucket: V }));
  checkEq((l.Versions || []).map((x) => x.VersionId), [v2, v1], "versions newest first");
  checkEq((l.DeleteMarkers || []).map((x) => [x.VersionId, x.IsLatest]), [[d.VersionId, true]], "the delete marker");
}, []);

console.log(`# ${SUITE}: node ${process.version}: ${npass} passed, ${nfail} failed`);
process.exit(nfail ? 1 : 0);
