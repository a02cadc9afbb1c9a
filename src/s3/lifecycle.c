/*
 * lifecycle.c -- bucket lifecycle: Put/Get/DeleteBucketLifecycleConfiguration
 * and the worker that applies the rules (lifecycle.h).
 *
 * Rules (Amazon S3 user guide, "Lifecycle configuration elements"): an ID
 * (unique, at most 255 characters), Status Enabled or Disabled, a filter
 * (the legacy rule-level Prefix, or Filter with one of Prefix, Tag,
 * ObjectSizeGreaterThan, ObjectSizeLessThan or an And of them), and at
 * least one action:
 *   Expiration             Days or Date: the current version expires (in a
 *                          versioned bucket a delete marker takes its
 *                          place); ExpiredObjectDeleteMarker: a delete
 *                          marker that is a key's only version is removed;
 *   NoncurrentVersionExpiration  NoncurrentDays after a version became
 *                          noncurrent (when its successor was written) it
 *                          is removed, keeping the NewerNoncurrentVersions
 *                          newest noncurrent ones;
 *   AbortIncompleteMultipartUpload  DaysAfterInitiation.
 * Transitions to other storage classes answer NotImplemented: holdfast
 * has one storage class.
 *
 * The configuration is stored as the document GetBucketLifecycleConfiguration
 * returns, regenerated from what was parsed (canonical and valid); the
 * worker parses it again for each bucket it visits.
 *
 * The worker. A pass visits every bucket (in name order) that has a
 * configuration, walks its versions with the version listing (a page per
 * step) and then its multipart uploads, and removes what is due in one
 * multi-delete per page. Every removal names the version it was decided
 * for and carries the clock value seen (hf_del_item_t.if_hlc), so a
 * version written meanwhile is never removed by a decision about an older
 * one. Object Lock is enforced by the metadata layer: a retained or held
 * version is refused (counted as held) and tried again next pass. After
 * each page the position is saved in the bucket's lifecycle state
 * setting, so a restart resumes the pass where it was.
 */
#include "s3/lifecycle.h"
#include "s3/internal.h"

#include "base/err.h"
#include "base/log.h"
#include "base/rand.h"
#include "base/str.h"
#include "base/time.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define LC_RULES_MAX 1000
#define LC_TAGS_MAX 10
#define LC_ID_MAX 255
#define NS 1000000000LL

typedef struct lc_rule {
    const char *id;
    bool enabled;
    const char *prefix;          /* NULL: none */
    hf_kv_t tags[LC_TAGS_MAX];
    int ntags;
    int64_t size_gt, size_lt;    /* -1: none */
    bool legacy_prefix;          /* the filter was a rule-level <Prefix> */
    bool has_filter;             /* a <Filter> element was given */
    bool and_filter;
    int64_t exp_days;            /* 0: none */
    int64_t exp_date_s;          /* 0: none */
    bool exp_marker;
    int64_t nc_days;             /* 0: none */
    int64_t nc_newer;            /* 0: none */
    int64_t abort_days;          /* 0: none */
} lc_rule_t;

typedef struct lc_cfg {
    lc_rule_t *rules;
    int n;
} lc_cfg_t;

/* ---- parsing ------------------------------------------------------------------ */

typedef struct lc_err {
    hf_s3_err_t code;
    char msg[256];
} lc_err_t;

static int bad(lc_err_t *e, hf_s3_err_t code, const char *msg)
{
    e->code = code;
    snprintf(e->msg, sizeof e->msg, "%s", msg);
    return -1;
}

static int pos_int(const char *s, int64_t max, int64_t *out)
{
    uint64_t v;
    if (!s || hf_parse_u64(s, strlen(s), &v) != HF_OK || v == 0 || v > (uint64_t)max)
        return -1;
    *out = (int64_t)v;
    return 0;
}

static int size_int(const char *s, int64_t *out)
{
    uint64_t v;
    if (!s || hf_parse_u64(s, strlen(s), &v) != HF_OK || v > (uint64_t)INT64_MAX)
        return -1;
    *out = (int64_t)v;
    return 0;
}

static int parse_tag(hf_xml_node_t *t, lc_rule_t *r, lc_err_t *e)
{
    if (r->ntags == LC_TAGS_MAX)
        return bad(e, S3E_InvalidArgument, "A lifecycle filter has at most 10 tags.");
    const char *k = hf_xml_child_text(t, "Key"), *v = hf_xml_child_text(t, "Value");
    if (!k || !*k)
        return bad(e, S3E_MalformedXML, "A filter Tag needs a Key.");
    r->tags[r->ntags].name = k;
    r->tags[r->ntags].value = v ? v : "";
    r->ntags++;
    return 0;
}

static int parse_filter(hf_xml_node_t *f, lc_rule_t *r, lc_err_t *e)
{
    int kinds = 0;
    for (hf_xml_node_t *c = f->child; c; c = c->next)
        kinds++;
    if (kinds > 1)
        return bad(e, S3E_MalformedXML, "A Filter has one element; use And to combine them.");
    hf_xml_node_t *a = hf_xml_child(f, "And");
    hf_xml_node_t *src = a ? a : f;
    r->and_filter = a != NULL;
    const char *p = hf_xml_child_text(src, "Prefix");
    if (p)
        r->prefix = p;
    for (hf_xml_node_t *t = hf_xml_child(src, "Tag"); t; t = hf_xml_next(t))
        if (parse_tag(t, r, e))
            return -1;
    const char *gt = hf_xml_child_text(src, "ObjectSizeGreaterThan");
    const char *lt = hf_xml_child_text(src, "ObjectSizeLessThan");
    if (gt && size_int(gt, &r->size_gt))
        return bad(e, S3E_InvalidArgument, "ObjectSizeGreaterThan must be a non-negative integer.");
    if (lt && size_int(lt, &r->size_lt))
        return bad(e, S3E_InvalidArgument, "ObjectSizeLessThan must be a non-negative integer.");
    if (r->size_gt >= 0 && r->size_lt >= 0 && r->size_lt <= r->size_gt)
        return bad(e, S3E_InvalidArgument, "ObjectSizeLessThan must be greater than ObjectSizeGreaterThan.");
    if (!a && kinds == 1 && !p && r->ntags == 0 && !gt && !lt)
        return bad(e, S3E_MalformedXML, "Unknown element in a lifecycle Filter.");
    return 0;
}

/* Date: ISO 8601 at midnight UTC. */
static int parse_date(const char *s, int64_t *out)
{
    int64_t secs;
    if (hf_time_parse_iso8601(s, strlen(s), &secs) != HF_OK || secs % 86400 != 0)
        return -1;
    *out = secs;
    return 0;
}

static int parse_rule(hf_xml_node_t *x, lc_rule_t *r, lc_err_t *e)
{
    memset(r, 0, sizeof *r);
    r->size_gt = r->size_lt = -1;
    r->id = hf_xml_child_text(x, "ID");
    if (r->id && strlen(r->id) > LC_ID_MAX)
        return bad(e, S3E_InvalidArgument, "ID length should not exceed allowed limit of 255");
    const char *st = hf_xml_child_text(x, "Status");
    if (!st || (strcmp(st, "Enabled") != 0 && strcmp(st, "Disabled") != 0))
        return bad(e, S3E_MalformedXML, "A lifecycle rule needs a Status of Enabled or Disabled.");
    r->enabled = strcmp(st, "Enabled") == 0;
    if (hf_xml_child(x, "Transition") || hf_xml_child(x, "NoncurrentVersionTransition"))
        return bad(e, S3E_NotImplemented,
                   "Lifecycle transitions to other storage classes are not implemented by this "
                   "server (it has one storage class, STANDARD).");
    hf_xml_node_t *f = hf_xml_child(x, "Filter");
    const char *lp = hf_xml_child_text(x, "Prefix");
    if (f && lp)
        return bad(e, S3E_MalformedXML, "A rule has either a Filter or a Prefix, not both.");
    if (lp) {
        r->prefix = lp;
        r->legacy_prefix = true;
    }
    if (f) {
        r->has_filter = true;
        if (parse_filter(f, r, e))
            return -1;
    }
    bool any = false;
    hf_xml_node_t *ex = hf_xml_child(x, "Expiration");
    if (ex) {
        const char *days = hf_xml_child_text(ex, "Days"), *date = hf_xml_child_text(ex, "Date");
        const char *dm = hf_xml_child_text(ex, "ExpiredObjectDeleteMarker");
        if ((days != NULL) + (date != NULL) + (dm != NULL) != 1)
            return bad(e, S3E_MalformedXML,
                       "Expiration has exactly one of Days, Date and ExpiredObjectDeleteMarker.");
        if (days && pos_int(days, 1000000, &r->exp_days))
            return bad(e, S3E_InvalidArgument, "'Days' for Expiration action must be a positive integer");
        if (date && parse_date(date, &r->exp_date_s))
            return bad(e, S3E_InvalidArgument, "'Date' must be at midnight GMT");
        if (dm) {
            if (strcmp(dm, "true") != 0 && strcmp(dm, "false") != 0)
                return bad(e, S3E_MalformedXML, "ExpiredObjectDeleteMarker is true or false.");
            r->exp_marker = strcmp(dm, "true") == 0;
            if (r->exp_marker && r->ntags)
                return bad(e, S3E_InvalidArgument, "ExpiredObjectDeleteMarker cannot be specified with tags.");
        }
        any = true;
    }
    hf_xml_node_t *nc = hf_xml_child(x, "NoncurrentVersionExpiration");
    if (nc) {
        if (pos_int(hf_xml_child_text(nc, "NoncurrentDays"), 1000000, &r->nc_days))
            return bad(e, S3E_InvalidArgument,
                       "'NoncurrentDays' for NoncurrentVersionExpiration action must be a positive integer");
        const char *nv = hf_xml_child_text(nc, "NewerNoncurrentVersions");
        if (nv && pos_int(nv, 100, &r->nc_newer))
            return bad(e, S3E_InvalidArgument, "NewerNoncurrentVersions must be 1 to 100.");
        any = true;
    }
    hf_xml_node_t *ab = hf_xml_child(x, "AbortIncompleteMultipartUpload");
    if (ab) {
        if (pos_int(hf_xml_child_text(ab, "DaysAfterInitiation"), 1000000, &r->abort_days))
            return bad(e, S3E_InvalidArgument,
                       "'DaysAfterInitiation' for AbortIncompleteMultipartUpload action must be a positive integer");
        if (r->ntags)
            return bad(e, S3E_InvalidArgument, "AbortIncompleteMultipartUpload cannot be specified with Tags.");
        any = true;
    }
    if (!any)
        return bad(e, S3E_InvalidArgument, "At least one action needs to be specified in a rule");
    return 0;
}

static int parse_cfg(hf_xml_node_t *root, hf_arena_t *a, lc_cfg_t *cfg, lc_err_t *e)
{
    cfg->n = 0;
    for (hf_xml_node_t *r = hf_xml_child(root, "Rule"); r; r = hf_xml_next(r))
        cfg->n++;
    if (cfg->n == 0 || cfg->n > LC_RULES_MAX)
        return bad(e, S3E_MalformedXML, "A lifecycle configuration has 1 to 1000 rules.");
    cfg->rules = hf_arena_calloc(a, sizeof *cfg->rules * (size_t)cfg->n);
    if (!cfg->rules)
        return bad(e, S3E_InternalError, "out of memory");
    int i = 0;
    for (hf_xml_node_t *r = hf_xml_child(root, "Rule"); r; r = hf_xml_next(r), i++)
        if (parse_rule(r, &cfg->rules[i], e))
            return -1;
    for (i = 0; i < cfg->n; i++)
        for (int j = 0; j < i; j++)
            if (cfg->rules[i].id && cfg->rules[j].id && strcmp(cfg->rules[i].id, cfg->rules[j].id) == 0)
                return bad(e, S3E_InvalidArgument,
                           "Rule ID must be unique. Found same ID for more than one rule");
    return 0;
}

static void filter_xml(hf_buf_t *b, const lc_rule_t *r)
{
    if (r->legacy_prefix) {
        hf_xml_elem_str(b, "Prefix", r->prefix);
        return;
    }
    if (!r->has_filter)
        return;
    hf_xml_open(b, "Filter");
    if (r->and_filter)
        hf_xml_open(b, "And");
    if (r->prefix)
        hf_xml_elem_str(b, "Prefix", r->prefix);
    for (int k = 0; k < r->ntags; k++) {
        hf_xml_open(b, "Tag");
        hf_xml_elem_str(b, "Key", r->tags[k].name);
        hf_xml_elem_str(b, "Value", r->tags[k].value);
        hf_xml_close(b, "Tag");
    }
    if (r->size_gt >= 0)
        hf_xml_elem_u64(b, "ObjectSizeGreaterThan", (uint64_t)r->size_gt);
    if (r->size_lt >= 0)
        hf_xml_elem_u64(b, "ObjectSizeLessThan", (uint64_t)r->size_lt);
    if (r->and_filter)
        hf_xml_close(b, "And");
    hf_xml_close(b, "Filter");
}

static void cfg_xml(hf_buf_t *b, const lc_cfg_t *cfg)
{
    hf_xml_decl(b);
    hf_xml_open_ns(b, "LifecycleConfiguration");
    for (int i = 0; i < cfg->n; i++) {
        const lc_rule_t *r = &cfg->rules[i];
        hf_xml_open(b, "Rule");
        if (r->id)
            hf_xml_elem_str(b, "ID", r->id);
        filter_xml(b, r);
        hf_xml_elem_str(b, "Status", r->enabled ? "Enabled" : "Disabled");
        if (r->exp_days || r->exp_date_s || r->exp_marker) {
            hf_xml_open(b, "Expiration");
            if (r->exp_days)
                hf_xml_elem_u64(b, "Days", (uint64_t)r->exp_days);
            if (r->exp_date_s) {
                char d[32];
                hf_time_iso8601(d, r->exp_date_s * NS);
                hf_xml_elem_str(b, "Date", d);
            }
            if (r->exp_marker)
                hf_xml_elem_str(b, "ExpiredObjectDeleteMarker", "true");
            hf_xml_close(b, "Expiration");
        }
        if (r->nc_days) {
            hf_xml_open(b, "NoncurrentVersionExpiration");
            hf_xml_elem_u64(b, "NoncurrentDays", (uint64_t)r->nc_days);
            if (r->nc_newer)
                hf_xml_elem_u64(b, "NewerNoncurrentVersions", (uint64_t)r->nc_newer);
            hf_xml_close(b, "NoncurrentVersionExpiration");
        }
        if (r->abort_days) {
            hf_xml_open(b, "AbortIncompleteMultipartUpload");
            hf_xml_elem_u64(b, "DaysAfterInitiation", (uint64_t)r->abort_days);
            hf_xml_close(b, "AbortIncompleteMultipartUpload");
        }
        hf_xml_close(b, "Rule");
    }
    hf_xml_close(b, "LifecycleConfiguration");
}

/* ---- Put/Get/DeleteBucketLifecycleConfiguration ---------------------------------- */

/* An ID for a rule that has none. S3 assigns one when the ID is left out
 * (its API reference: "If you don't provide one, Amazon S3 will assign an
 * ID") but documents no form, and no measurement of one was found: this is
 * the base64 of a random (version 4) UUID's text, 48 characters -- opaque,
 * unique without a lookup, well inside the 255-character limit, and stored
 * with the configuration so GetBucketLifecycleConfiguration shows it. */
static const char *gen_rule_id(hf_arena_t *a)
{
    uint8_t u[16];
    if (hf_rand_bytes(u, sizeof u) != HF_OK)
        return NULL;
    u[6] = (uint8_t)((u[6] & 0x0f) | 0x40); /* version 4 */
    u[8] = (uint8_t)((u[8] & 0x3f) | 0x80); /* RFC 4122 variant */
    char hex[33], text[37];
    hf_hex_encode(hex, u, sizeof u);
    snprintf(text, sizeof text, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12, hex + 16,
             hex + 20);
    char *id = hf_arena_alloc(a, hf_base64_len(36) + 1);
    if (id)
        hf_base64_encode(id, text, 36);
    return id;
}

void op_put_bucket_lifecycle(s3req_t *q)
{
    if (s3_load_bucket(q))
        return;
    hf_xml_node_t *root;
    if (s3_read_xml(q, "LifecycleConfiguration", false, &root))
        return;
    lc_cfg_t cfg;
    lc_err_t e;
    if (parse_cfg(root, q->a, &cfg, &e)) {
        s3_fail(q, e.code, "%s", e.msg);
        return;
    }
    for (int i = 0; i < cfg.n; i++)
        if (!cfg.rules[i].id || !*cfg.rules[i].id) {
            cfg.rules[i].id = gen_rule_id(q->a);
            if (!cfg.rules[i].id) {
                s3_fail(q, S3E_InternalError, NULL);
                return;
            }
        }
    hf_buf_t b;
    hf_buf_init(&b, HF_BUCKET_CFG_MAX);
    cfg_xml(&b, &cfg);
    s3_put_bucket_cfg(q, HF_BCFG_LIFECYCLE, b.data, b.len, 200);
    hf_buf_free(&b);
}

void op_get_bucket_lifecycle(s3req_t *q)
{
    if (s3_load_bucket(q) == 0)
        s3_send_bucket_cfg(q, HF_BCFG_LIFECYCLE, S3E_NoSuchLifecycleConfiguration);
}

void op_delete_bucket_lifecycle(s3req_t *q)
{
    if (s3_load_bucket(q))
        return;
    hf_meta_bucket_cfg_put(q->s3->meta, &q->b, HF_BCFG_LIFECYCLE_STATE, NULL, 0);
    s3_delete_bucket_cfg(q, HF_BCFG_LIFECYCLE);
}

/* ---- the worker ------------------------------------------------------------------- */

enum phase { PH_IDLE, PH_VERSIONS, PH_UPLOADS };

struct hf_lifecycle {
    hf_meta_t *meta;
    hf_guard_bg_t *bg;
    hf_guard_t *guard;
    hf_lifecycle_config_t cfg;
    hf_arena_t a;               /* one step's memory */
    int64_t next_pass_ms;       /* monotonic; when the next pass may start */
    enum phase phase;
    char bucket[HF_BUCKET_NAME_MAX + 1]; /* the bucket being worked on ("" between buckets) */
    /* Version walk state, carried across pages (a key's versions may
     * straddle two). */
    char km[HF_KEY_MAX];        /* resume after (km, vm) */
    size_t kmn;
    uint8_t vm[16];
    bool have_vm;
    char key[HF_KEY_MAX];       /* the key whose versions are being walked */
    size_t keyn;
    uint32_t nc_index;          /* noncurrent versions of key seen so far */
    int64_t newer_mtime;        /* mtime of the version seen just before (its successor) */
    bool key_has_noncurrent;
    uint8_t upload_km[HF_KEY_MAX];
    size_t upload_kmn;
    uint8_t upload_idm[16];
    bool have_upload_idm;
    /* counters */
    _Atomic uint64_t passes, examined, expired, nc_expired, markers, aborted, held, errors;
    _Atomic int64_t last_pass_ns;
    _Atomic int running;
};

int hf_lifecycle_create(hf_meta_t *meta, hf_guard_t *guard, const hf_lifecycle_config_t *cfg,
                        hf_lifecycle_t **out)
{
    *out = NULL;
    if (!cfg || cfg->day_seconds < 1 || cfg->interval_s < 1 || cfg->rate <= 0)
        return HF_E_INVAL;
    hf_lifecycle_t *lc = calloc(1, sizeof *lc);
    if (!lc)
        return -ENOMEM;
    lc->meta = meta;
    lc->guard = guard;
    lc->cfg = *cfg;
    hf_arena_init(&lc->a, 64 << 20);
    if (guard)
        lc->bg = hf_guard_bg_register(guard, "lifecycle", cfg->rate, cfg->rate);
    lc->next_pass_ms = hf_mono_ms();
    *out = lc;
    return HF_OK;
}

void hf_lifecycle_destroy(hf_lifecycle_t *lc)
{
    if (!lc)
        return;
    hf_arena_free(&lc->a);
    free(lc);
}

void hf_lifecycle_stats(const hf_lifecycle_t *lc, hf_lifecycle_stats_t *out)
{
    memset(out, 0, sizeof *out);
    if (!lc)
        return;
    out->passes = atomic_load(&lc->passes);
    out->examined = atomic_load(&lc->examined);
    out->expired = atomic_load(&lc->expired);
    out->noncurrent_expired = atomic_load(&lc->nc_expired);
    out->markers_removed = atomic_load(&lc->markers);
    out->uploads_aborted = atomic_load(&lc->aborted);
    out->held = atomic_load(&lc->held);
    out->errors = atomic_load(&lc->errors);
    out->last_pass_ns = atomic_load(&lc->last_pass_ns);
    out->running = atomic_load(&lc->running);
}

/* Saved progress of a bucket: phase u8 | key length u16 | key | has
 * version u8 | version 16. */
static void save_state(hf_lifecycle_t *lc, const hf_bucket_t *b)
{
    uint8_t st[1 + 2 + HF_KEY_MAX + 1 + 16];
    size_t n = 0;
    st[n++] = (uint8_t)lc->phase;
    const uint8_t *k = lc->phase == PH_UPLOADS ? lc->upload_km : (const uint8_t *)lc->km;
    size_t kn = lc->phase == PH_UPLOADS ? lc->upload_kmn : lc->kmn;
    st[n++] = (uint8_t)(kn >> 8);
    st[n++] = (uint8_t)kn;
    memcpy(st + n, k, kn);
    n += kn;
    bool hv = lc->phase == PH_UPLOADS ? lc->have_upload_idm : lc->have_vm;
    st[n++] = hv;
    memcpy(st + n, lc->phase == PH_UPLOADS ? lc->upload_idm : lc->vm, 16);
    n += 16;
    if (hf_meta_bucket_cfg_put(lc->meta, b, HF_BCFG_LIFECYCLE_STATE, st, n) != HF_OK)
        atomic_fetch_add(&lc->errors, 1);
}

static void load_state(hf_lifecycle_t *lc, const hf_bucket_t *b)
{
    lc->phase = PH_VERSIONS;
    lc->kmn = lc->upload_kmn = 0;
    lc->have_vm = lc->have_upload_idm = false;
    lc->keyn = 0;
    const uint8_t *d;
    size_t n;
    hf_arena_reset(&lc->a);
    if (hf_meta_bucket_cfg_get(lc->meta, b->id, HF_BCFG_LIFECYCLE_STATE, &lc->a, &d, &n) != HF_OK)
        return;
    if (n < 3)
        return;
    size_t kn = (size_t)d[1] << 8 | d[2];
    if (kn > HF_KEY_MAX || n != 3 + kn + 17 || (d[0] != PH_VERSIONS && d[0] != PH_UPLOADS))
        return; /* not ours: start the bucket over */
    lc->phase = d[0];
    if (lc->phase == PH_UPLOADS) {
        memcpy(lc->upload_km, d + 3, kn);
        lc->upload_kmn = kn;
        lc->have_upload_idm = d[3 + kn] != 0;
        memcpy(lc->upload_idm, d + 4 + kn, 16);
    } else {
        memcpy(lc->km, d + 3, kn);
        lc->kmn = kn;
        lc->have_vm = d[3 + kn] != 0;
        memcpy(lc->vm, d + 4 + kn, 16);
    }
}

/* When something written at mtime (ns) becomes due after days. */
static int64_t due_at(const hf_lifecycle_t *lc, int64_t mtime_ns, int64_t days)
{
    int64_t t = mtime_ns / NS + days * lc->cfg.day_seconds;
    if (lc->cfg.day_seconds == 86400)
        t = (t + 86399) / 86400 * 86400; /* S3 rounds up to the next midnight UTC */
    return t;
}

static bool prefix_ok(const lc_rule_t *r, hf_str_t key)
{
    size_t pl = r->prefix ? strlen(r->prefix) : 0;
    return pl == 0 || (key.n >= pl && memcmp(key.p, r->prefix, pl) == 0);
}

static bool size_ok(const lc_rule_t *r, uint64_t size)
{
    return (r->size_gt < 0 || size > (uint64_t)r->size_gt) &&
           (r->size_lt < 0 || size < (uint64_t)r->size_lt);
}

/* Every tag of the rule is on the version (reads its record). */
static bool tags_ok(hf_lifecycle_t *lc, const lc_rule_t *r, uint64_t bucket, hf_str_t key,
                    const uint8_t version[16])
{
    if (r->ntags == 0)
        return true;
    hf_arena_t tmp;
    hf_arena_init(&tmp, 8 << 20);
    hf_obj_t o;
    bool ok = hf_meta_obj_get(lc->meta, bucket, key.p, key.n, version, &tmp, &o) == HF_OK;
    for (int i = 0; ok && i < r->ntags; i++) {
        bool found = false;
        for (uint32_t k = 0; k < o.ntags && !found; k++)
            found = strcmp(o.tags[k].name, r->tags[i].name) == 0 &&
                    strcmp(o.tags[k].value, r->tags[i].value) == 0;
        ok = found;
    }
    hf_arena_free(&tmp);
    return ok;
}

static bool rule_matches(hf_lifecycle_t *lc, const lc_rule_t *r, uint64_t bucket,
                         const hf_list_entry_t *e)
{
    return r->enabled && prefix_ok(r, e->key) && size_ok(r, e->size) &&
           tags_ok(lc, r, bucket, e->key, e->version);
}

/* Decide what is due for entry e (a version, in listing order); append a
 * removal to items when something is. kind gets what it is. */
enum act { ACT_NONE, ACT_EXPIRE, ACT_NONCURRENT, ACT_MARKER };

static enum act decide(hf_lifecycle_t *lc, const lc_cfg_t *cfg, uint64_t bucket,
                       const hf_list_entry_t *e, bool lone_marker, uint32_t nc_index,
                       int64_t became_noncurrent_ns, int64_t now_s)
{
    bool marker = (e->flags & HF_OBJ_DELETE_MARKER) != 0;
    for (int i = 0; i < cfg->n; i++) {
        const lc_rule_t *r = &cfg->rules[i];
        if (!r->enabled || !prefix_ok(r, e->key))
            continue;
        if (e->latest) {
            if (marker) {
                if (r->exp_marker && lone_marker)
                    return ACT_MARKER;
                continue;
            }
            bool due = (r->exp_days && now_s >= due_at(lc, e->mtime, r->exp_days)) ||
                       (r->exp_date_s && now_s >= r->exp_date_s);
            if (due && rule_matches(lc, r, bucket, e))
                return ACT_EXPIRE;
        } else if (r->nc_days && nc_index >= (uint32_t)r->nc_newer &&
                   now_s >= due_at(lc, became_noncurrent_ns, r->nc_days) &&
                   (marker || (size_ok(r, e->size) && tags_ok(lc, r, bucket, e->key, e->version)))) {
            return ACT_NONCURRENT;
        }
    }
    return ACT_NONE;
}

/* One page of a bucket's versions. Returns true when the bucket's
 * versions are done. */
static bool versions_page(hf_lifecycle_t *lc, const hf_bucket_t *b, const lc_cfg_t *cfg,
                          uint32_t page)
{
    hf_vlist_req_t rq = {.bucket_id = b->id, .key_marker = {lc->km, lc->kmn}, .max_keys = page};
    rq.version_marker = lc->have_vm ? lc->vm : NULL;
    hf_vlist_res_t res;
    if (hf_meta_obj_list_versions(lc->meta, &rq, &lc->a, &res) != HF_OK) {
        atomic_fetch_add(&lc->errors, 1);
        return true;
    }
    int64_t now_s = hf_time_now() / NS;
    hf_del_item_t *items = hf_arena_calloc(&lc->a, sizeof *items * (res.nentries ? res.nentries : 1));
    enum act *kinds = hf_arena_calloc(&lc->a, sizeof *kinds * (res.nentries ? res.nentries : 1));
    if (!items || !kinds) {
        atomic_fetch_add(&lc->errors, 1);
        return true;
    }
    size_t ni = 0;
    for (uint32_t i = 0; i < res.nentries; i++) {
        const hf_list_entry_t *e = &res.entries[i];
        if (e->latest || e->key.n != lc->keyn || memcmp(e->key.p, lc->key, e->key.n) != 0) {
            memcpy(lc->key, e->key.p, e->key.n);
            lc->keyn = e->key.n;
            lc->nc_index = 0;
            /* Starting inside a key's versions (a pass resumed after a
             * restart): when its first version here became noncurrent is
             * not known, so nothing of the key is due this pass. */
            lc->newer_mtime = e->latest ? e->mtime : hf_time_now();
        }
        /* A marker is alone when no version of its key follows it (on
         * this page, or -- at the page's end -- at all, per the next
         * page's first entry: looked up when needed). */
        bool lone = false;
        if (e->latest && (e->flags & HF_OBJ_DELETE_MARKER)) {
            if (i + 1 < res.nentries)
                lone = !(res.entries[i + 1].key.n == e->key.n &&
                         memcmp(res.entries[i + 1].key.p, e->key.p, e->key.n) == 0);
            else
                lone = !res.truncated; /* decided next pass otherwise */
        }
        enum act a = decide(lc, cfg, b->id, e, lone, lc->nc_index, lc->newer_mtime, now_s);
        if (!e->latest) {
            lc->nc_index++;
        }
        lc->newer_mtime = e->mtime;
        atomic_fetch_add(&lc->examined, 1);
        if (a == ACT_NONE)
            continue;
        hf_del_item_t *it = &items[ni];
        it->key = e->key;
        it->has_version = a != ACT_EXPIRE;
        memcpy(it->version, e->version, 16);
        it->if_hlc = e->hlc;
        kinds[ni++] = a;
    }
    if (ni) {
        int rc = hf_meta_obj_delete_many(lc->meta, b, items, ni, 0, b->owner);
        for (size_t k = 0; k < ni; k++) {
            hf_del_item_t *it = &items[k];
            char vt[33], key[200];
            s3_version_text(it->version, vt);
            hf_log_quote(key, sizeof key, it->key.p);
            if (rc == HF_OK && it->rc == HF_OK) {
                atomic_fetch_add(kinds[k] == ACT_EXPIRE       ? &lc->expired
                                 : kinds[k] == ACT_NONCURRENT ? &lc->nc_expired
                                                              : &lc->markers,
                                 1);
                hf_log_info("msg=\"lifecycle %s\" bucket=%s key=%s version=%s",
                            kinds[k] == ACT_EXPIRE       ? "expired the current version"
                            : kinds[k] == ACT_NONCURRENT ? "removed a noncurrent version"
                                                         : "removed a lone delete marker",
                            b->name, key, vt);
            } else if (it->rc == HF_E_LOCKED) {
                atomic_fetch_add(&lc->held, 1);
            } else if (it->rc != HF_E_PRECONDITION && it->rc != HF_E_NOTFOUND) {
                atomic_fetch_add(&lc->errors, 1);
            }
        }
    }
    if (!res.truncated)
        return true;
    memcpy(lc->km, res.next_key.p, res.next_key.n);
    lc->kmn = res.next_key.n;
    lc->have_vm = res.has_next_version;
    memcpy(lc->vm, res.next_version, 16);
    return false;
}

/* One page of a bucket's multipart uploads. Returns true when done. */
static bool uploads_page(hf_lifecycle_t *lc, const hf_bucket_t *b, const lc_cfg_t *cfg, uint32_t page)
{
    bool any = false;
    for (int i = 0; i < cfg->n; i++)
        any = any || (cfg->rules[i].enabled && cfg->rules[i].abort_days);
    if (!any)
        return true;
    hf_upload_list_req_t rq = {.bucket_id = b->id, .key_marker = {(const char *)lc->upload_km, lc->upload_kmn},
                               .max_uploads = page};
    rq.upload_id_marker = lc->have_upload_idm ? lc->upload_idm : NULL;
    hf_upload_list_res_t res;
    if (hf_meta_upload_list(lc->meta, &rq, &lc->a, &res) != HF_OK) {
        atomic_fetch_add(&lc->errors, 1);
        return true;
    }
    int64_t now_s = hf_time_now() / NS;
    for (uint32_t u = 0; u < res.nuploads; u++) {
        const hf_upload_t *up = &res.uploads[u];
        atomic_fetch_add(&lc->examined, 1);
        for (int i = 0; i < cfg->n; i++) {
            const lc_rule_t *r = &cfg->rules[i];
            if (!r->enabled || !r->abort_days || !prefix_ok(r, up->key) ||
                now_s < due_at(lc, up->initiated, r->abort_days))
                continue;
            int rc = hf_meta_upload_abort(lc->meta, b, up->key.p, up->key.n, up->id);
            if (rc == HF_OK) {
                char id[33], key[200];
                hf_hex_encode(id, up->id, 16);
                hf_log_quote(key, sizeof key, up->key.p);
                atomic_fetch_add(&lc->aborted, 1);
                hf_log_info("msg=\"lifecycle aborted an incomplete multipart upload\" bucket=%s "
                            "key=%s upload_id=%s",
                            b->name, key, id);
            } else if (rc != HF_E_NOTFOUND) {
                atomic_fetch_add(&lc->errors, 1);
            }
            break;
        }
    }
    if (!res.truncated)
        return true;
    memcpy(lc->upload_km, res.next_key.p, res.next_key.n);
    lc->upload_kmn = res.next_key.n;
    lc->have_upload_idm = res.has_next_upload_id;
    memcpy(lc->upload_idm, res.next_upload_id, 16);
    return false;
}

/* The next bucket after lc->bucket (by name) that has a configuration,
 * into b. false when there is none. */
static bool next_bucket(hf_lifecycle_t *lc, hf_bucket_t *b)
{
    hf_bucket_t *all;
    size_t n;
    hf_arena_reset(&lc->a);
    if (hf_meta_bucket_list(lc->meta, 0, &lc->a, &all, &n) != HF_OK) {
        atomic_fetch_add(&lc->errors, 1);
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if (lc->bucket[0] && strcmp(all[i].name, lc->bucket) <= 0)
            continue;
        const uint8_t *d;
        size_t len;
        if (hf_meta_bucket_cfg_get(lc->meta, all[i].id, HF_BCFG_LIFECYCLE, &lc->a, &d, &len) == HF_OK) {
            *b = all[i];
            return true;
        }
    }
    return false;
}

#define LC_PAGE 200

int64_t hf_lifecycle_step(hf_lifecycle_t *lc)
{
    if (lc->phase == PH_IDLE && lc->bucket[0] == '\0') {
        int64_t now = hf_mono_ms();
        if (now < lc->next_pass_ms)
            return lc->next_pass_ms - now;
    }
    /* Foreground first, then a page's worth of budget per page. */
    if (lc->bg) {
        int64_t w = hf_guard_bg_try(lc->bg, LC_PAGE);
        if (w)
            return w;
    } else if (lc->guard && hf_guard_busy(lc->guard)) {
        return 100;
    }
    if (!atomic_load(&lc->running)) {
        atomic_store(&lc->running, 1);
        if (lc->bg)
            hf_guard_bg_run_begin(lc->bg, 0);
    }
    hf_bucket_t b;
    if (lc->phase == PH_IDLE) {
        if (!next_bucket(lc, &b)) {
            /* The pass is over. */
            lc->bucket[0] = '\0';
            lc->next_pass_ms = hf_mono_ms() + lc->cfg.interval_s * 1000;
            atomic_fetch_add(&lc->passes, 1);
            atomic_store(&lc->last_pass_ns, hf_time_now());
            atomic_store(&lc->running, 0);
            if (lc->bg)
                hf_guard_bg_run_end(lc->bg);
            return lc->cfg.interval_s * 1000;
        }
        snprintf(lc->bucket, sizeof lc->bucket, "%s", b.name);
        load_state(lc, &b);
    } else if (hf_meta_bucket_get(lc->meta, lc->bucket, &b) != HF_OK) {
        lc->phase = PH_IDLE; /* deleted meanwhile */
        return 0;
    }
    hf_arena_reset(&lc->a);
    const uint8_t *doc;
    size_t len;
    hf_xml_node_t *root;
    lc_cfg_t cfg;
    lc_err_t e;
    int grc = hf_meta_bucket_cfg_get(lc->meta, b.id, HF_BCFG_LIFECYCLE, &lc->a, &doc, &len);
    if (grc != HF_OK || hf_xml_parse((const char *)doc, len, &lc->a, &root) != HF_OK ||
        parse_cfg(root, &lc->a, &cfg, &e)) {
        /* Removed meanwhile, or unreadable (counted and logged: the
         * configuration was valid when it was stored). */
        if (grc != HF_E_NOTFOUND) {
            atomic_fetch_add(&lc->errors, 1);
            hf_log_warn("msg=\"lifecycle configuration unreadable; bucket skipped\" bucket=%s err=%s",
                        b.name, grc ? hf_strerror(grc) : "parse");
        }
        lc->phase = PH_IDLE;
        return 0;
    }
    bool done;
    if (lc->phase == PH_VERSIONS) {
        done = versions_page(lc, &b, &cfg, LC_PAGE);
        if (done) {
            lc->phase = PH_UPLOADS;
            lc->upload_kmn = 0;
            lc->have_upload_idm = false;
        }
        save_state(lc, &b);
    } else {
        done = uploads_page(lc, &b, &cfg, LC_PAGE);
        if (done) {
            hf_meta_bucket_cfg_put(lc->meta, &b, HF_BCFG_LIFECYCLE_STATE, NULL, 0);
            lc->phase = PH_IDLE;
        } else {
            save_state(lc, &b);
        }
    }
    /* Pace: a page's worth of budget before the next (the guard's bucket
     * when there is one; it holds one page, so this is the same wait). */
    return lc->bg ? 0 : (int64_t)(LC_PAGE * 1000.0 / lc->cfg.rate);
}
