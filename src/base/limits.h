/*
 * limits.h -- every bound holdfast puts on input from outside, in one place.
 *
 * Each number says why it is that number. Input from the network, from disk
 * or from the command line is checked against one of these before it is
 * buffered, so no client can make the server hold more than these amounts per
 * request. Where S3 documents a limit, we use S3's value so that clients that
 * work against AWS work here, and clients that fail there fail here the same way.
 */
#ifndef HF_BASE_LIMITS_H
#define HF_BASE_LIMITS_H

/* ---- HTTP ---------------------------------------------------------------- */

/* Request line plus all header lines. AWS S3 rejects request heads above
 * 8 KiB of headers; 16 KiB leaves room for long presigned query strings
 * (SigV4 query auth with a session token approaches 4 KiB) while keeping the
 * per-connection head buffer small. Larger heads answer 431. */
#define HF_HTTP_HEAD_MAX (16 * 1024)

/* Header lines per request. Real S3 clients send fewer than 30; 100 leaves
 * room for user metadata, and bounds the per-request header array. */
#define HF_HTTP_HEADERS_MAX 100

/* Request target (path plus query). Bounded by the head size anyway; kept
 * separately so a URL alone cannot use the whole head budget silently. */
#define HF_HTTP_URL_MAX (8 * 1024)

/* HTTP method token: the longest we serve is "OPTIONS". */
#define HF_HTTP_METHOD_MAX 16

/* Hex digits in one Transfer-Encoding: chunked size line (2^60 bytes). */
#define HF_HTTP_CHUNK_SIZE_DIGITS 15

/* Chunk extension / trailer line length in chunked encodings. aws-chunked
 * puts a 64-hex-digit signature in the extension ("chunk-signature=" + 64). */
#define HF_HTTP_CHUNK_LINE_MAX 256

/* Trailer section of an aws-chunked body: a handful of checksum lines and a
 * trailer signature. */
#define HF_HTTP_TRAILER_MAX 4096

/* ---- connections and timing ----------------------------------------------- */

/* Default cap on open client connections per listener; beyond it new
 * connections get a 503 and are closed. Each idle connection costs a slot
 * of ~200 bytes and no buffer, so this is about fds, not memory. */
#define HF_CONN_MAX_DEFAULT 16384

/* Most connections --max-connections may allow: a slot is ~200 bytes and
 * an fd; past a million the fd limit is the real bound anyway. */
#define HF_CONN_MAX_LIMIT (1024 * 1024)

/* A client must deliver a complete request head within this time. Slowloris
 * defence: a slow head costs a connection slot, never a worker thread. On
 * an HTTPS listener the TLS handshake gets the same time (--head-timeout),
 * counted from accept, and is cut the same way: a client that stalls
 * mid-handshake holds a slot, never a worker, and not for longer. */
#define HF_HEAD_TIMEOUT_MS 20000

/* An idle keep-alive connection is closed after this long. AWS closes idle
 * connections after about 20 s; SDKs reopen transparently. */
#define HF_IDLE_TIMEOUT_MS 60000

/* While reading a body or writing a response, the peer must make progress
 * within this time, or the request is aborted. */
#define HF_IO_TIMEOUT_MS 30000

/* ...and on average at least this many bytes per second: each byte moved
 * earns 1/HF_IO_MIN_RATE s of time, up to one I/O timeout ahead. So a
 * client that trickles a byte every 29 s (slowloris on the body, or a
 * slow reader of a response) loses its worker after one timeout, while a
 * slow but real client is never cut. 1 KiB/s is far below any working
 * link (Apache's mod_reqtimeout uses 500 bytes/s for its MinRate). */
#define HF_IO_MIN_RATE 1024

/* Every request must be finished (body read, response written) within this
 * long of its head arriving, however steadily the client keeps the I/O
 * timeout above satisfied: a request that trickles a byte every 29 s would
 * otherwise hold a worker forever. 15 minutes covers a 5 GiB PUT at
 * 6 MB/s; operators with slower clients raise it (--request-timeout). */
#define HF_REQUEST_TIMEOUT_MS (15 * 60 * 1000)
#define HF_REQUEST_TIMEOUT_MAX_MS (24 * 3600 * 1000)

/* ---- TLS ------------------------------------------------------------------ */

/* A certificate chain or private key file (PEM). A leaf with two or three
 * intermediates is under 10 KiB and a 16384-bit RSA key about 13 KiB; 1 MiB
 * also takes a whole CA bundle pasted in by mistake, and bounds what a
 * wrong path (a log file, a disk image) makes the server read at start. */
#define HF_TLS_PEM_MAX (1024 * 1024)

/* ---- admission (src/guard) ---------------------------------------------- */

/* Memory one admitted request may hold while it runs: its head and input
 * buffer (HF_HTTP_HEAD_MAX + HF_IO_BUF), one HF_IO_BUF body or response
 * buffer in its arena, and the pages of fiber stack it touches. Measured
 * at 0.3-0.6 MiB (docs/performance.md); the admission defaults below are
 * counted in this unit. */
#define HF_REQ_MEM_MAX (512 * 1024)

/* Requests admitted at once (--max-inflight) by default: 2048 x
 * HF_REQ_MEM_MAX is 1 GiB, what a small server can give requests' buffers.
 * Waiting requests hold no thread, so this is a memory budget, not a
 * concurrency limit on the CPU -- the standing-queue detector (base/load.h)
 * is what sheds when the machine itself is saturated. */
#define HF_ADMIT_INFLIGHT_DEFAULT 2048
#define HF_ADMIT_INFLIGHT_MAX (1024 * 1024)

/* Connections one client address may hold open (--max-conns-per-address):
 * half the default admission budget, so a single address -- a crowd of
 * slow uploads from one host, or a holder of a leaked presigned URL --
 * can never hold every slot. A connection carries one request at a time,
 * so this caps the address's requests too. Clients behind one NAT share
 * it: raise it for them. */
#define HF_CONNS_PER_ADDR_DEFAULT 1024

/* Longest a request waits in the admission queue for a slot before it is
 * shed with 503 SlowDown. A queue is for bursts: a wait longer than a
 * quarter second means the server is over capacity, and the client does
 * better retrying with backoff than waiting (SDKs' default timeouts leave
 * room for a 250 ms wait and the request itself). */
#define HF_ADMIT_QUEUE_TIMEOUT_MS 250
#define HF_ADMIT_QUEUE_TIMEOUT_MAX_MS 60000

/* Access keys tracked separately for per-key fairness and shed counts.
 * Keys are entered only after authentication, so this bounds real users'
 * keys, not forged ones; more than this share one "(other)" entry. */
#define HF_GUARD_KEYS_MAX 1024

/* Background jobs with their own budget (orphan sweep, scrub, lifecycle,
 * repair, and room to spare). */
#define HF_GUARD_BG_MAX 8

/* Background work waits for busy foreground traffic at most this long per
 * unit taken, so it slows to a trickle under sustained load instead of
 * stopping (an orphan sweep that never runs never frees disk space). */
#define HF_GUARD_BG_DEFER_MAX_MS 5000

/* ---- S3 object model ------------------------------------------------------ */

/* Object key length in bytes of UTF-8 (S3: 1024). */
#define HF_KEY_MAX 1024

/* Bucket names: 3 to 63 characters (S3 naming rules). */
#define HF_BUCKET_NAME_MIN 3
#define HF_BUCKET_NAME_MAX 63

/* User-defined metadata: names and values of x-amz-meta-* together
 * (S3: 2 KiB). */
#define HF_USER_META_MAX 2048

/* Largest single PUT (S3: 5 GiB). Larger objects need multipart. */
#define HF_PUT_MAX (5ULL * 1024 * 1024 * 1024)

/* Largest object (S3: 5 TiB). */
#define HF_OBJECT_MAX (5ULL * 1024 * 1024 * 1024 * 1024)

/* Multipart: part numbers 1..10000, every part but the last >= 5 MiB,
 * each part <= 5 GiB (S3's limits). */
#define HF_PART_NUMBER_MAX 10000
#define HF_PART_MIN_SIZE (5ULL * 1024 * 1024)
#define HF_PART_MAX_SIZE HF_PUT_MAX

/* How long a completed multipart upload is remembered, so that a repeated
 * CompleteMultipartUpload gets the completion's answer again (S3 answers
 * such retries 200 and documents no window). SDKs retry a lost answer
 * within seconds to minutes; an hour covers that many times over while
 * the remembered answers stay few (one small row per completion of the
 * last hour). --completed-upload-window changes it, up to a week. */
#define HF_UPLOAD_DONE_WINDOW_S 3600
#define HF_UPLOAD_DONE_WINDOW_MAX_S (7 * 24 * 3600)

/* XML request bodies (CompleteMultipartUpload with 10000 parts is ~1 MiB at
 * the most verbose; DeleteObjects with 1000 keys of 1024 bytes is ~1 MiB). */
#define HF_XML_BODY_MAX (1024 * 1024 + 64 * 1024)

/* Keys per DeleteObjects request (S3: 1000). */
#define HF_DELETE_OBJECTS_MAX 1000

/* Entries per listing page (S3: 1000). */
#define HF_LIST_PAGE_MAX 1000

/* Buckets per user (S3's default quota is 100; we allow more, but bound it
 * so ListBuckets stays a single bounded page). */
#define HF_BUCKETS_PER_USER_MAX 1000

/* ---- auth ------------------------------------------------------------------ */

/* Allowed difference between the request time and ours (S3: 15 minutes). */
#define HF_CLOCK_SKEW_MAX_S (15 * 60)

/* Presigned URL lifetime (SigV4: 1 second to 7 days). */
#define HF_PRESIGN_EXPIRES_MAX_S (7 * 24 * 3600)

/* Access key ids and secrets: AWS keys are 20 and 40 characters; allow
 * longer ones for imported credentials, bounded for the fixed buffers. */
#define HF_ACCESS_KEY_MIN 3
#define HF_ACCESS_KEY_MAX 128
#define HF_SECRET_KEY_MIN 8
#define HF_SECRET_KEY_MAX 128

/* Virtual-hosted-style addressing: names given with --domain. A server
 * answers to a handful of names (its public name, an internal one); each
 * request compares its Host with every one. A name is a DNS name: at most
 * 253 characters (RFC 1035 2.3.4). */
#define HF_DOMAINS_MAX 16
#define HF_DOMAIN_NAME_MAX 253

/* Users (admin API names). */
#define HF_USER_NAME_MAX 64

/* Access keys one user holds at once: the active key and up to three that
 * are still in their grace period after rotations. One retiring key is what
 * a rotation needs; three let an operator rotate again (a key rolled out to
 * the wrong place) before the first grace period ends. Bounded so a user
 * record, and the key list an admin reads, stay a few hundred bytes. */
#define HF_USER_KEYS_MAX 4

/* Longest grace period a rotated key may keep working (`key rotate
 * --grace`): a month is time enough to roll a new key out to every client;
 * an old key that lives longer defeats the rotation. */
#define HF_KEY_GRACE_MAX_S (30 * 24 * 3600)
/* The default grace period: a day, so clients can be switched during
 * working hours without downtime. */
#define HF_KEY_GRACE_DEFAULT_S (24 * 3600)

/* ---- audit log ----------------------------------------------------------- */

/* One audit record (a JSON line). The longest detail is a fault set (at
 * most 16 KiB, the admin API's cap), which JSON escaping can grow; each
 * line goes to the file in one write(), so it is built whole in memory. */
#define HF_AUDIT_LINE_MAX (64 * 1024)
/* The local user name the admin CLI reports for the audit log (a login
 * name is at most 32 bytes on Linux; room for "name(uid)"). */
#define HF_AUDIT_LOCAL_USER_MAX 64
/* Records and bytes of the audit log one admin API page returns; the CLI
 * pages through the rest, so neither side holds the whole log. */
#define HF_AUDIT_PAGE_RECORDS 1000
#define HF_AUDIT_PAGE_BYTES (1024 * 1024)

/* Signed headers named in one SigV4 Authorization header. */
#define HF_SIGNED_HEADERS_MAX 64

/* Region names in a credential scope (AWS's longest is under 20). */
#define HF_REGION_MAX 64

/* ---- access policies (src/access) ------------------------------------------- */

/* A bucket policy document (S3: "Bucket policies are limited to 20 KB"). */
#define HF_POLICY_MAX (20 * 1024)

/* Statements in one policy. The smallest statement S3 accepts takes about
 * 70 bytes, so 20 KiB holds fewer than 300; the cap only keeps a parser bug
 * from turning into an unbounded array. */
#define HF_POLICY_STATEMENTS_MAX 512

/* Values in one element (Action, Resource, Principal, one condition key's
 * values). A 20 KiB policy holds about 1100 CIDR blocks, the longest lists
 * real policies carry; evaluation walks these lists per request. */
#define HF_POLICY_VALUES_MAX 2048

/* JSON nesting: policy object, Statement array, statement, Condition,
 * operator, key's value array = 6. Anything deeper is not a policy. */
#define HF_POLICY_DEPTH_MAX 8

/* One string in a policy. A resource ARN for a 1024-byte key is 1101 bytes;
 * the rest of the budget is for policy variables and wildcards. Bounding the
 * pattern bounds the wildcard matcher's work per value. */
#define HF_POLICY_STRING_MAX 2048

/* A POST Object policy as it arrives (base64 text in the "policy" form
 * field). The same budget as a bucket policy: a policy with dozens of
 * conditions is under 2 KiB. */
#define HF_POSTPOLICY_MAX (20 * 1024)

/* Conditions in one POST policy; each is checked against every form field. */
#define HF_POSTPOLICY_CONDITIONS_MAX 256

/* ---- storage ---------------------------------------------------------------- */

/* Object bytes are stored in chunk files of at most this size. 4 MiB keeps a
 * 5 GiB object at 1280 files, keeps a write buffer per in-flight PUT small,
 * and bounds the read amplification of a verified range read to one
 * verification block (see HF_CHUNK_BLOCK). */
#define HF_CHUNK_SIZE (4 * 1024 * 1024)

/* Every chunk carries one crc32c per block of this size, so a range read
 * verifies only the blocks it touches. */
#define HF_CHUNK_BLOCK (64 * 1024)

/* Objects up to this size are stored inside their metadata record: one
 * group commit makes data and metadata durable together, with no chunk
 * file to create, fsync and later unlink. 16 KiB keeps LMDB overflow pages
 * few while covering the small-object sizes that dominate real buckets. */
#define HF_INLINE_MAX (16 * 1024)

/* Size of the buffer a request uses to move body bytes between the socket
 * and storage. Per in-flight request, so (workers x this) is the bound on
 * body bytes in memory. */
#define HF_IO_BUF (256 * 1024)

/* Default free space kept on the data disk (--reserve); at most a tenth of
 * the disk. Below it PUTs answer 507 while deletes, aborts and metadata
 * updates, which need a little space for LMDB's copy-on-write pages,
 * still work. */
#define HF_RESERVE_DEFAULT (256ULL * 1024 * 1024)

/* Metadata operations one group commit may carry; more wait for the next. */
#define HF_META_BATCH_MAX 256

/* Pending metadata operations queued for the writer; beyond it a caller
 * waits (back-pressure) rather than queueing without bound. */
#define HF_META_QUEUE_MAX 4096

/* Default LMDB map size: address space reserved for metadata. LMDB grows
 * the file only as pages are used; 1 TiB of address space is free on 64-bit. */
#define HF_META_MAP_SIZE_DEFAULT (1ULL << 40)

/* ---- threads ------------------------------------------------------------------ */

/* Event-loop threads serving requests (--workers; default one per CPU):
 * fixed at start, never grown with load or connection count (the Kinesis
 * 2020 lesson). */
#define HF_WORKERS_MAX 256

/* Descriptors kept out of the connection cap (--max-connections is
 * lowered to RLIMIT_NOFILE minus this): chunk files open by running
 * requests and the I/O threads, LMDB, logs, the status listener's own
 * connections (up to 1024 are allowed there, few are used). */
#define HF_FD_RESERVE 1280

/* Stack reserved per fiber (base/fiber.h). Address space, not memory: only
 * the pages a request touches become resident, typically 8-24 KiB. Request
 * code keeps big buffers in its arena (no local array above 4 KiB), and
 * the deepest paths (LMDB cursors, expat, OpenSSL, vsnprintf) stay below
 * 64 KiB; four times that leaves room. ASan builds quadruple it again. */
#define HF_FIBER_STACK (256 * 1024)

/* Idle fiber stacks a scheduler keeps mapped for reuse; beyond it they are
 * unmapped. Bounds the memory kept after a burst of concurrent requests. */
#define HF_FIBER_POOL_KEEP 256

/* Longest a fiber runs before code that keeps finding its socket ready
 * yields to the other fibers of its loop (hf_fiber_maybe_yield). 2 ms is
 * about 3 MiB of MD5 and SHA-256: long enough that yielding costs nothing
 * measurable, short enough that a loop's other requests see at most that. */
#define HF_FIBER_SLICE_US 2000

/* Threads of the blocking-I/O pool (base/iopool.h) by default: disk calls a
 * fiber must not make on its loop thread (open, fdatasync, pread...) run
 * there. More than the disk's useful queue depth only adds threads. */
#define HF_IO_THREADS_DEFAULT 8
#define HF_IO_THREADS_MAX 64

/* Admission's standing-queue detector (base/load.h, --queue-delay-target):
 * requests are shed while every piece of admitted work waited longer than
 * the target for a loop, an I/O thread or the metadata writer over a whole
 * interval. 50 ms is a queue nobody wants to stand in (three orders of
 * magnitude above the ~30 us a small request costs) yet long enough that a
 * closed-loop client with hundreds of connections is served, not shed; the
 * interval lets bursts drain before they count. */
#define HF_LOAD_TARGET_US (50 * 1000)
#define HF_LOAD_INTERVAL_US (200 * 1000)

/* ---- the cluster's node-to-node transport (src/peer) ------------------------ */

/* A node id: what an operator types ("a1", "rack3-node12"); 64 bytes is
 * more than anyone names a machine. */
#define HF_NODE_ID_MAX 64

/* A HOST:PORT address: a DNS name (253) or a bracketed IPv6 address, a
 * colon and five digits. */
#define HF_ADDR_MAX 261

/* A frame's payload: one chunk of a blob (HF_CHUNK_SIZE) plus room for the
 * record that goes with it. Bounds what a peer can make this node buffer
 * per frame. */
#define HF_PEER_FRAME_MAX (4 * 1024 * 1024 + 64 * 1024)

/* Peers one node keeps state for: the largest cluster holdfast plans for,
 * with room. The table is fixed; a call to a node beyond it is refused. */
#define HF_PEERS_MAX 1024

/* Calls that may wait for one peer at once before more are refused with
 * HF_E_BUSY, and bytes that may be queued to it: a slow or stopped peer
 * holds at most this much of a node, never all of it. */
#define HF_PEER_CALLS_DEFAULT 256
#define HF_PEER_QUEUE_BYTES_MAX (64 * 1024 * 1024)

/* Requests from one connection handled at once; beyond it they are
 * answered HF_E_BUSY at once (the caller's own cap normally stops first). */
#define HF_PEER_HANDLERS_MAX 256

/* A peer that could not be reached is not dialled again for this long,
 * doubling up to the maximum (jittered), so calls fail fast instead of each
 * waiting for a connect timeout. */
#define HF_PEER_BACKOFF_MIN_MS 100
#define HF_PEER_BACKOFF_MAX_MS 5000

/* Every node pings every peer of its layout this often, each ping with
 * its own deadline: the links stay open and each peer's state and round
 * trip are known (a down peer costs one failed call per period). */
#define HF_PEER_PING_MS 1000
#define HF_PEER_PING_TIMEOUT_MS 1000

/* Connecting and proving the secret must finish within this, whatever the
 * caller's deadline: a peer that accepts and says nothing is not waited for. */
#define HF_PEER_HANDSHAKE_MS 5000

/* ---- the load generator (holdfast bench) ------------------------------------- */

/* A response head from the server under test. S3 response heads are well
 * under 2 KiB; the same bound as our request heads leaves room for long
 * x-amz-meta-* and x-amz-id-2 values. */
#define HF_BENCH_RESP_HEAD_MAX (16 * 1024)

/* Bytes of an error body kept to find its <Code>: S3 puts Code right after
 * <Error>, within the first 100 bytes; the rest (a SignatureDoesNotMatch
 * document carries the canonical request) is not needed. Kept per
 * connection, so small. */
#define HF_BENCH_ERR_BODY_MAX 1024

/* Distinct error codes counted by name; the rest count as "Other". S3 has
 * about 100 codes, and one run meets a handful. */
#define HF_BENCH_ERR_CODES_MAX 32

/* Connections one run keeps busy: one fd each, below common fd limits. */
#define HF_BENCH_CONCURRENCY_MAX 16384

/* Client threads; more than the CPUs only adds switching. */
#define HF_BENCH_THREADS_MAX 256

/* Keys in a data set: the run keeps one byte of state per key (mixed), so
 * 10^8 keys is 100 MB, and 10 digits name them all. */
#define HF_BENCH_OBJECTS_MAX 100000000ULL

/* A request whose connection moves no byte for this long counts as a
 * Timeout error and its connection is closed: a server that answers at all
 * (however slowly a large body moves) is not cut off, and a wedged one does
 * not hold the run. */
#define HF_BENCH_REQUEST_TIMEOUT_MS 60000

/* A measured phase longer than a day is a mistake, not a benchmark. */
#define HF_BENCH_DURATION_MAX_S (24 * 3600)

/* Key prefix: with the 10-digit index the key stays far below HF_KEY_MAX. */
#define HF_BENCH_PREFIX_MAX 512

/* SSE-S3 master keys a key file may hold. Keys are only ever added
 * (rotation), so this bounds rotations: monthly for 85 years. 1024 keys
 * of 36 bytes stay locked in memory under the usual 64 KiB
 * RLIMIT_MEMLOCK. */
#define HF_SSE_MASTER_KEYS_MAX 1024

/* The master key file: a comment header and up to HF_SSE_MASTER_KEYS_MAX
 * lines of about 76 bytes; anything larger is not a key file. */
#define HF_SSE_KEY_FILE_MAX (256 * 1024)

/* ---- cluster (src/etcd, src/cluster) ------------------------------------------ */

/* A node's id and zone: names an operator types (host names, rack or
 * datacenter names); 64 bytes hold any of them. */
#define HF_NODE_ID_MAX 64
#define HF_ZONE_MAX 64
/* "host:port" an address is written as: a DNS name (253) and a port. */
#define HF_ADDR_MAX 261
/* Nodes in one layout. The layout is one etcd value (etcd's request limit
 * is 1.5 MiB) and every node holds it in memory; 1024 nodes of about 120
 * bytes each and the partition map stay far below HF_LAYOUT_MAX. */
#define HF_CLUSTER_NODES_MAX 1024
/* Partitions of the index key space in a first layout, and at most. 256
 * spreads a 24-node cluster's load within a few percent (each node holds
 * about 32 replicas) and keeps the map a few tens of KiB; a big cluster
 * can be cut finer later by splitting partitions without moving data. */
#define HF_LAYOUT_PARTITIONS_DEFAULT 256
#define HF_LAYOUT_PARTITIONS_MAX 4096
/* Replicas of a partition: 3 (one per zone, survives a zone) by default;
 * more than 5 buys nothing a cluster of this design needs. */
#define HF_LAYOUT_REPLICAS_DEFAULT 3
#define HF_LAYOUT_REPLICAS_MAX 5
/* One encoded layout (JSON), below etcd's 1.5 MiB request limit with room
 * for the history entry written in the same transaction. */
#define HF_LAYOUT_MAX (640 * 1024)
/* Layout generations kept in etcd's history (R4.1: garbage collection
 * keeps at least the K >= 2 before the active one; 32 covers weeks of
 * changes and lets `layout revert` reach back that far). */
#define HF_LAYOUT_HISTORY_KEEP 32
/* The cluster secret: at least 16 bytes (128 bits typed or generated),
 * at most 1024. */
#define HF_CLUSTER_SECRET_MIN 16
#define HF_CLUSTER_SECRET_MAX 1024
/* The etcd key prefix every key of one cluster lives under. */
#define HF_CLUSTER_PREFIX_MAX 128
/* Who made a layout change, as recorded: "user(uid)@host". */
#define HF_CHANGE_BY_MAX 160

#endif /* HF_BASE_LIMITS_H */
