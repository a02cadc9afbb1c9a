/*
 * scrub.c -- the scrubber; see scrub.h.
 *
 * Owns: the pass state (the scan cursor, the page of object versions
 * being checked, the object being read and where in it), the pacing, the
 * counters and the list of damaged objects.
 *
 * Approach. The owner's thread calls hf_scrub_step; a step spends at most
 * a slice of the byte budget (a quarter second at the pass's rate, at
 * least one verification block) and returns how long to wait so that the
 * average stays at the rate. Between steps nothing is held except, in the
 * middle of a large object, its chunk read section and reader -- so a
 * 5 GiB object read at 8 MiB/s delays the reclaim of blobs released
 * meanwhile by up to ten minutes, never more than one object's reading
 * time. Pages of object versions come from hf_meta_scan (one short read
 * transaction each) into an arena reset per page.
 *
 * For each object: take a read section, read the object's record again
 * (hf_meta_obj_get) and compare its parts with the scanned ones -- an
 * object overwritten or deleted since the page was read is skipped --
 * then read every byte of every part through hf_blob_read, which verifies
 * each block's crc32c and the chunk headers. Inline objects were verified
 * by the scan itself (their crc32c), so they cost no extra read. The
 * scrubber holds no encryption keys: an encrypted object's blobs are read
 * sealed, checking the crcs of the stored bytes (the tags are checked by
 * every GET), and its inline data's crc covers the sealed form.
 *
 * Rejected: a thread of its own (the housekeeping thread is idle almost
 * always, and a fixed thread count is a rule); holding one read
 * transaction for the pass (LMDB could not reuse freed pages for hours);
 * verifying chunk files by walking the chunk directories (a damaged file
 * could not be named by bucket and key, and orphans would be reported).
 */
#include "scrub/scrub.h"

#include "base/arena.h"
#include "base/err.h"
#include "base/log.h"
#include "base/str.h"
#include "base/time.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Object versions per page: one small read transaction each. */
#define PAGE 64
/* Arena for a page: 64 records of at most HF_REC_MAX decoded. */
#define PAGE_ARENA_MAX (96u * 1024 * 1024)
/* Bytes read per hf_blob_read call. */
#define READ_BUF HF_IO_BUF
/* Idle: look again this often for a due pass or a request. */
#define IDLE_MS 1000

struct hf_scrub {
    hf_meta_t *m;
    hf_chunk_store_t *chunks;
    hf_scrub_config_t cfg;

    pthread_mutex_t mu; /* guards everything down to `damage` */
    bool running, start_req;
    uint64_t req_rate;
    uint64_t rate;
    uint64_t passes;
    int64_t started_ns, finished_ns;
    int64_t next_start_ms;
    uint64_t objects, bytes, damaged, skipped;
    uint64_t objects_total, bytes_total, damaged_total;
    hf_scrub_damage_t *damage; /* this pass: HF_SCRUB_DAMAGE_MAX */
    size_t ndamage;
    hf_scrub_damage_t *last;   /* the last completed pass */
    size_t nlast;
    uint64_t last_damaged;

    /* Step thread only. */
    hf_meta_scan_cursor_t cur;
    bool scan_done;
    hf_arena_t page_arena, obj_arena;
    hf_meta_scan_item_t *items;
    uint32_t nitems, next_item;
    /* the object being read */
    bool in_obj;
    hf_meta_scan_item_t *it;
    hf_obj_t live;
    uint64_t ticket;
    uint32_t part;
    uint64_t off;
    hf_blob_reader_t *rd;
    unsigned char *buf;
};

int hf_scrub_create(hf_meta_t *m, hf_chunk_store_t *chunks, const hf_scrub_config_t *cfg,
                    hf_scrub_t **out)
{
    *out = NULL;
    hf_scrub_t *sc = calloc(1, sizeof *sc);
    if (!sc)
        return -ENOMEM;
    sc->damage = calloc(HF_SCRUB_DAMAGE_MAX, sizeof *sc->damage);
    sc->last = calloc(HF_SCRUB_DAMAGE_MAX, sizeof *sc->last);
    sc->buf = malloc(READ_BUF);
    if (!sc->damage || !sc->last || !sc->buf) {
        free(sc->damage);
        free(sc->last);
        free(sc->buf);
        free(sc);
        return -ENOMEM;
    }
    sc->m = m;
    sc->chunks = chunks;
    if (cfg)
        sc->cfg = *cfg;
    if (!sc->cfg.rate)
        sc->cfg.rate = HF_SCRUB_RATE_DEFAULT;
    sc->rate = sc->cfg.rate;
    pthread_mutex_init(&sc->mu, NULL);
    hf_arena_init(&sc->page_arena, PAGE_ARENA_MAX);
    hf_arena_init(&sc->obj_arena, 2 * 1024 * 1024);
    /* The first pass waits a whole interval: a restart loop must not turn
     * into a read storm. */
    sc->next_start_ms = sc->cfg.interval_s ? hf_mono_ms() + sc->cfg.interval_s * 1000 : 0;
    *out = sc;
    return HF_OK;
}

static void end_object(hf_scrub_t *sc)
{
    if (!sc->in_obj)
        return;
    if (sc->rd)
        hf_blob_reader_close(sc->rd);
    sc->rd = NULL;
    hf_chunk_read_end(sc->chunks, sc->ticket);
    hf_arena_reset(&sc->obj_arena);
    sc->in_obj = false;
}

void hf_scrub_destroy(hf_scrub_t *sc)
{
    if (!sc)
        return;
    end_object(sc);
    hf_arena_free(&sc->page_arena);
    hf_arena_free(&sc->obj_arena);
    pthread_mutex_destroy(&sc->mu);
    free(sc->damage);
    free(sc->last);
    free(sc->buf);
    free(sc);
}

int hf_scrub_start(hf_scrub_t *sc, uint64_t rate)
{
    pthread_mutex_lock(&sc->mu);
    int rc = HF_OK;
    if (sc->running || sc->start_req) {
        rc = HF_E_BUSY;
    } else {
        sc->start_req = true;
        sc->req_rate = rate ? rate : sc->cfg.rate;
    }
    pthread_mutex_unlock(&sc->mu);
    return rc;
}

void hf_scrub_report(hf_scrub_t *sc, hf_scrub_stats_t *st, hf_scrub_damage_t *out, size_t cap,
                     size_t *n, bool *more)
{
    pthread_mutex_lock(&sc->mu);
    st->running = sc->running;
    st->passes = sc->passes;
    st->rate = sc->start_req ? sc->req_rate : sc->rate;
    st->interval_s = sc->cfg.interval_s;
    st->pass_started_ns = sc->started_ns;
    st->pass_finished_ns = sc->finished_ns;
    st->objects = sc->objects;
    st->bytes = sc->bytes;
    st->damaged = sc->running ? sc->damaged : sc->last_damaged;
    st->skipped = sc->skipped;
    st->objects_total = sc->objects_total;
    st->bytes_total = sc->bytes_total;
    st->damaged_total = sc->damaged_total;
    const hf_scrub_damage_t *src = sc->running ? sc->damage : sc->last;
    size_t have = sc->running ? sc->ndamage : sc->nlast;
    size_t k = have < cap ? have : cap;
    if (out && k)
        memcpy(out, src, k * sizeof *out);
    if (n)
        *n = out ? k : 0;
    if (more)
        *more = st->damaged > (out ? k : 0);
    pthread_mutex_unlock(&sc->mu);
}

/* ---- a pass ------------------------------------------------------------------ */

static void begin_pass(hf_scrub_t *sc, uint64_t rate)
{
    pthread_mutex_lock(&sc->mu);
    sc->running = true;
    sc->start_req = false;
    sc->rate = rate;
    sc->started_ns = hf_time_now();
    sc->objects = sc->bytes = sc->damaged = sc->skipped = 0;
    sc->ndamage = 0;
    pthread_mutex_unlock(&sc->mu);
    memset(&sc->cur, 0, sizeof sc->cur);
    sc->scan_done = false;
    sc->nitems = sc->next_item = 0;
    hf_arena_reset(&sc->page_arena);
    hf_log_info("msg=\"scrub pass started\" rate=%llu", (unsigned long long)rate);
}

static void finish_pass(hf_scrub_t *sc)
{
    pthread_mutex_lock(&sc->mu);
    sc->running = false;
    sc->passes++;
    sc->finished_ns = hf_time_now();
    memcpy(sc->last, sc->damage, sc->ndamage * sizeof *sc->last);
    sc->nlast = sc->ndamage;
    sc->last_damaged = sc->damaged;
    uint64_t objects = sc->objects, bytes = sc->bytes, damaged = sc->damaged;
    int64_t secs = (sc->finished_ns - sc->started_ns) / 1000000000;
    pthread_mutex_unlock(&sc->mu);
    hf_arena_reset(&sc->page_arena);
    sc->nitems = sc->next_item = 0;
    hf_log(damaged ? HF_LOG_WARN : HF_LOG_INFO,
           "msg=\"scrub pass finished\" objects=%llu bytes=%llu damaged=%llu seconds=%lld",
           (unsigned long long)objects, (unsigned long long)bytes, (unsigned long long)damaged,
           (long long)secs);
}

static void version_text(const uint8_t v[16], char out[33])
{
    static const uint8_t zero[16];
    if (memcmp(v, zero, 16) == 0)
        snprintf(out, 33, "null");
    else
        hf_hex_encode(out, v, 16);
}

static void note_damage(hf_scrub_t *sc, const hf_meta_scan_item_t *it, const char *reason)
{
    hf_scrub_damage_t d;
    memset(&d, 0, sizeof d);
    snprintf(d.bucket, sizeof d.bucket, "%s", it->bucket ? it->bucket : "");
    size_t kl = it->key.n < HF_KEY_MAX ? it->key.n : HF_KEY_MAX;
    if (kl)
        memcpy(d.key, it->key.p, kl);
    version_text(it->version, d.version);
    snprintf(d.reason, sizeof d.reason, "%s", reason);
    d.found_ns = hf_time_now();
    char qk[HF_KEY_MAX + 8], qr[160];
    hf_log_error("msg=\"scrub found a damaged object\" bucket=%s key=%s version=%s reason=%s",
                 d.bucket, hf_log_quote(qk, sizeof qk, d.key), d.version,
                 hf_log_quote(qr, sizeof qr, reason));
    pthread_mutex_lock(&sc->mu);
    sc->damaged++;
    sc->damaged_total++;
    sc->objects++;
    sc->objects_total++;
    if (sc->ndamage < HF_SCRUB_DAMAGE_MAX)
        sc->damage[sc->ndamage++] = d;
    pthread_mutex_unlock(&sc->mu);
}

static void count(hf_scrub_t *sc, uint64_t objects, uint64_t bytes, uint64_t skipped)
{
    pthread_mutex_lock(&sc->mu);
    sc->objects += objects;
    sc->objects_total += objects;
    sc->bytes += bytes;
    sc->bytes_total += bytes;
    sc->skipped += skipped;
    pthread_mutex_unlock(&sc->mu);
}

static bool same_parts(const hf_obj_t *a, const hf_obj_t *b)
{
    if (a->nparts != b->nparts || a->size != b->size || memcmp(a->version, b->version, 16) != 0)
        return false;
    for (uint32_t i = 0; i < a->nparts; i++)
        if (memcmp(a->parts[i].blob.b, b->parts[i].blob.b, 16) != 0 ||
            a->parts[i].size != b->parts[i].size)
            return false;
    return true;
}

/* Set up the next object of the page for reading; false when the page is
 * used up. Objects that need no chunk reads are finished here. */
static bool next_object(hf_scrub_t *sc)
{
    while (sc->next_item < sc->nitems) {
        hf_meta_scan_item_t *it = &sc->items[sc->next_item++];
        if (it->err) {
            note_damage(sc, it,
                        it->err == HF_E_VERSION ? "metadata record from a newer format"
                        : it->key.n             ? "metadata record damaged"
                                                : "bucket record damaged");
            continue;
        }
        if (it->obj.flags & HF_OBJ_INLINE || it->obj.nparts == 0) {
            count(sc, 1, it->obj.inline_len, 0);
            continue;
        }
        sc->ticket = hf_chunk_read_begin(sc->chunks);
        sc->in_obj = true;
        int rc = hf_meta_obj_get(sc->m, it->bucket_id, it->key.p, it->key.n, it->version, &sc->obj_arena,
                                 &sc->live);
        if (rc == HF_E_NOTFOUND || (rc == HF_OK && !same_parts(&it->obj, &sc->live))) {
            end_object(sc);
            count(sc, 0, 0, 1);
            continue;
        }
        if (rc) {
            end_object(sc);
            note_damage(sc, it, rc == HF_E_CORRUPT ? "metadata record damaged"
                                                   : "metadata record unreadable");
            continue;
        }
        sc->it = it;
        sc->part = 0;
        sc->off = 0;
        sc->rd = NULL;
        return true;
    }
    return false;
}

/* Read up to budget bytes of the current object. Returns bytes read; the
 * object is ended when complete or damaged. */
static uint64_t read_object(hf_scrub_t *sc, uint64_t budget)
{
    uint64_t done = 0;
    const hf_obj_t *o = &sc->live;
    while (done < budget) {
        if (sc->part == o->nparts) {
            count(sc, 1, 0, 0);
            end_object(sc);
            return done;
        }
        const hf_obj_part_t *p = &o->parts[sc->part];
        if (sc->off == p->size) {
            if (sc->rd)
                hf_blob_reader_close(sc->rd);
            sc->rd = NULL;
            sc->part++;
            sc->off = 0;
            continue;
        }
        int rc = HF_OK;
        /* An encrypted object's blobs are sealed: their crcs cover the
         * stored ciphertext, so they are verified without any key. */
        if (!sc->rd)
            rc = o->sse_len ? hf_blob_reader_open_sealed(sc->chunks, &p->blob, p->size, NULL, &sc->rd)
                            : hf_blob_reader_open(sc->chunks, &p->blob, p->size, &sc->rd);
        size_t k = p->size - sc->off < READ_BUF ? (size_t)(p->size - sc->off) : READ_BUF;
        if (rc == HF_OK)
            rc = hf_blob_read(sc->rd, sc->off, sc->buf, k);
        if (rc) {
            char reason[128];
            if (rc == HF_E_CORRUPT)
                snprintf(reason, sizeof reason, "chunk data failed verification (part %u, near byte %llu)",
                         sc->part + 1, (unsigned long long)sc->off);
            else if (rc == HF_E_VERSION)
                snprintf(reason, sizeof reason, "chunk in a format this build cannot read (part %u)",
                         sc->part + 1);
            else
                snprintf(reason, sizeof reason, "read error: %s (part %u)", hf_strerror(rc),
                         sc->part + 1);
            note_damage(sc, sc->it, reason);
            end_object(sc);
            return done;
        }
        sc->off += k;
        done += k;
        count(sc, 0, k, 0);
    }
    return done;
}

int64_t hf_scrub_step(hf_scrub_t *sc)
{
    int64_t t0 = hf_mono_ms();
    pthread_mutex_lock(&sc->mu);
    bool running = sc->running, req = sc->start_req;
    uint64_t rate = req ? sc->req_rate : sc->cfg.rate;
    pthread_mutex_unlock(&sc->mu);
    if (!running) {
        bool due = sc->cfg.interval_s && t0 >= sc->next_start_ms;
        if (!req && !due)
            return IDLE_MS;
        if (sc->cfg.interval_s)
            sc->next_start_ms = t0 + sc->cfg.interval_s * 1000;
        begin_pass(sc, rate);
    }
    pthread_mutex_lock(&sc->mu);
    rate = sc->rate;
    pthread_mutex_unlock(&sc->mu);
    uint64_t slice = rate / 4 > HF_CHUNK_BLOCK ? rate / 4 : HF_CHUNK_BLOCK;
    uint64_t used = 0;
    while (used < slice) {
        if (sc->in_obj) {
            used += read_object(sc, slice - used);
            continue;
        }
        if (next_object(sc))
            continue;
        if (sc->scan_done) {
            finish_pass(sc);
            return IDLE_MS;
        }
        hf_arena_reset(&sc->page_arena);
        bool done = false;
        int rc = hf_meta_scan(sc->m, &sc->cur, PAGE, &sc->page_arena, &sc->items, &sc->nitems,
                              &done);
        sc->next_item = 0;
        if (rc) {
            /* The metadata store is unreadable now: try the same page
             * again later rather than skip objects. */
            hf_log_warn("msg=\"scrub cannot read metadata; will retry\" err=\"%s\"", hf_strerror(rc));
            sc->nitems = 0;
            return IDLE_MS;
        }
        sc->scan_done = done;
        /* Walking metadata costs time too: count a page as one block. */
        used += HF_CHUNK_BLOCK;
    }
    /* Pace: this slice should have taken used / rate seconds. */
    int64_t want_ms = (int64_t)(used * 1000 / rate);
    int64_t took = hf_mono_ms() - t0;
    return want_ms > took ? want_ms - took : 0;
}
