/*
 * lock.c -- Object Lock (WORM): the bucket's default retention, each
 * version's retention and legal hold, and the x-amz-object-lock-* headers
 * of writes.
 *
 * What is enforced where. Retention and legal hold live in the version's
 * record (meta), so the checks that protect a version -- no delete of a
 * retained or held version, compliance retention never shortened or
 * removed, governance only with x-amz-bypass-governance-retention -- run
 * inside the metadata write transaction, for every path that removes a
 * version (DeleteObject, DeleteObjects, lifecycle). Deleting without a
 * version id only adds a delete marker, which S3 allows on locked objects.
 * Nobody may bypass compliance mode, root included.
 *
 * Who may bypass governance: whoever holds s3:BypassGovernanceRetention
 * (authz.c): the bucket owner unless its policy denies it, anyone else
 * only where the bucket policy allows it; s3_delete_flags carries the
 * outcome.
 *
 * The default retention is stored as 9 bytes (mode u8, days u32, years
 * u32) and applied when a version is created without explicit settings.
 */
#include "s3/internal.h"

#include "base/err.h"
#include "base/str.h"
#include "base/time.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#define NS_PER_S 1000000000LL
#define DAY_S 86400LL
/* S3 bounds default retention to 36500 days (100 years). */
#define LOCK_DAYS_MAX 36500
#define LOCK_YEARS_MAX 100

static bool lock_bucket(const s3req_t *q)
{
    return (q->b.flags & HF_BUCKET_OBJECT_LOCK) != 0;
}

static int no_lock_config(s3req_t *q)
{
    return s3_fail(q, S3E_InvalidRequest, "Bucket is missing Object Lock Configuration");
}

static const char *mode_name(uint8_t m)
{
    return m == HF_LOCK_COMPLIANCE ? "COMPLIANCE" : m == HF_LOCK_GOVERNANCE ? "GOVERNANCE" : "";
}

static int parse_mode(const char *s, uint8_t *m)
{
    if (strcmp(s, "GOVERNANCE") == 0)
        *m = HF_LOCK_GOVERNANCE;
    else if (strcmp(s, "COMPLIANCE") == 0)
        *m = HF_LOCK_COMPLIANCE;
    else
        return HF_E_INVAL;
    return HF_OK;
}

/* The bucket's default retention: mode HF_LOCK_NONE when there is none. */
static int default_retention(s3req_t *q, uint8_t *mode, uint32_t *days, uint32_t *years)
{
    *mode = HF_LOCK_NONE;
    *days = *years = 0;
    const uint8_t *d;
    size_t n;
    int rc = hf_meta_bucket_cfg_get(q->s3->meta, q->b.id, HF_BCFG_OBJECT_LOCK, q->a, &d, &n);
    if (rc == HF_E_NOTFOUND)
        return HF_OK;
    if (rc)
        return rc;
    if (n != 9)
        return HF_E_CORRUPT;
    *mode = d[0];
    *days = (uint32_t)d[1] << 24 | (uint32_t)d[2] << 16 | (uint32_t)d[3] << 8 | d[4];
    *years = (uint32_t)d[5] << 24 | (uint32_t)d[6] << 16 | (uint32_t)d[7] << 8 | d[8];
    return HF_OK;
}

int s3_lock_apply_default(s3req_t *q, hf_obj_t *o)
{
    if (!lock_bucket(q) || o->lock_mode != HF_LOCK_NONE)
        return 0;
    uint8_t mode;
    uint32_t days, years;
    int rc = default_retention(q, &mode, &days, &years);
    if (rc)
        return s3_fail(q, hf_s3_err_from(rc), NULL);
    if (mode == HF_LOCK_NONE)
        return 0;
    int64_t span = years ? (int64_t)years * 365 * DAY_S : (int64_t)days * DAY_S;
    o->lock_mode = mode;
    o->lock_until = hf_time_now() + span * NS_PER_S;
    return 0;
}

int s3_lock_headers(s3req_t *q, hf_obj_t *o, bool with_body)
{
    o->lock_mode = HF_LOCK_NONE;
    o->lock_until = 0;
    o->legal_hold = false;
    const char *mode = s3_header(q, "x-amz-object-lock-mode");
    const char *until = s3_header(q, "x-amz-object-lock-retain-until-date");
    const char *hold = s3_header(q, "x-amz-object-lock-legal-hold");
    if (!mode && !until && !hold)
        return 0;
    if (!lock_bucket(q))
        return no_lock_config(q);
    if (!mode != !until)
        return s3_fail_arg(q, mode ? "x-amz-object-lock-mode" : "x-amz-object-lock-retain-until-date",
                           mode ? mode : until,
                           "x-amz-object-lock-retain-until-date and x-amz-object-lock-mode must both be supplied");
    if (mode) {
        int64_t secs;
        if (parse_mode(mode, &o->lock_mode) != HF_OK)
            return s3_fail_arg(q, "x-amz-object-lock-mode", mode, "Unknown wormMode directive.");
        if (hf_time_parse_iso8601(until, strlen(until), &secs) != HF_OK)
            return s3_fail_arg(q, "x-amz-object-lock-retain-until-date", until,
                               "The retain until date must be provided in ISO 8601 format");
        if (secs * NS_PER_S <= hf_time_now())
            return s3_fail_arg(q, "x-amz-object-lock-retain-until-date", until,
                               "The retain until date must be in the future!");
        o->lock_until = secs * NS_PER_S;
    }
    if (hold) {
        if (strcmp(hold, "ON") == 0)
            o->legal_hold = true;
        else if (strcmp(hold, "OFF") != 0)
            return s3_fail_arg(q, "x-amz-object-lock-legal-hold", hold,
                               "Legal Hold must be either of 'ON' or 'OFF'");
    }
    /* S3 wants an integrity check on uploads that lock data for years. */
    if (mode && with_body && !hf_http_find(&q->r->http, "content-md5") &&
        !hf_http_find(&q->r->http, "x-amz-sdk-checksum-algorithm") && !s3_has_checksum_header(q))
        return s3_fail(q, S3E_InvalidRequest,
                       "Content-MD5 OR x-amz-checksum- HTTP header is required for Put Object "
                       "requests with Object Lock parameters");
    return 0;
}

void s3_lock_response_headers(s3req_t *q, const hf_obj_t *o)
{
    if (o->lock_mode != HF_LOCK_NONE) {
        char date[32];
        hf_time_iso8601(date, o->lock_until);
        hf_resp_header(q->r, "x-amz-object-lock-mode", mode_name(o->lock_mode));
        hf_resp_header(q->r, "x-amz-object-lock-retain-until-date", date);
    }
    if (lock_bucket(q))
        hf_resp_header(q->r, "x-amz-object-lock-legal-hold", o->legal_hold ? "ON" : "OFF");
}

/* ---- Put/GetObjectLockConfiguration -------------------------------------------------- */

void op_put_object_lock_config(s3req_t *q)
{
    if (s3_load_bucket(q))
        return;
    hf_xml_node_t *root;
    if (s3_read_xml(q, "ObjectLockConfiguration", false, &root))
        return;
    const char *en = hf_xml_child_text(root, "ObjectLockEnabled");
    if (!en || strcmp(en, "Enabled") != 0) {
        s3_fail(q, S3E_MalformedXML, "ObjectLockEnabled must be Enabled.");
        return;
    }
    uint8_t cfg[9] = {0};
    hf_xml_node_t *rule = hf_xml_child(root, "Rule");
    if (rule) {
        hf_xml_node_t *dr = hf_xml_child(rule, "DefaultRetention");
        const char *mode = dr ? hf_xml_child_text(dr, "Mode") : NULL;
        const char *days = dr ? hf_xml_child_text(dr, "Days") : NULL;
        const char *years = dr ? hf_xml_child_text(dr, "Years") : NULL;
        uint8_t m;
        uint64_t v = 0;
        if (!mode || parse_mode(mode, &m) != HF_OK) {
            s3_fail(q, S3E_MalformedXML, "A DefaultRetention needs a Mode of GOVERNANCE or COMPLIANCE.");
            return;
        }
        if (!days == !years) {
            s3_fail(q, S3E_MalformedXML, "A DefaultRetention has either Days or Years.");
            return;
        }
        const char *num = days ? days : years;
        if (hf_parse_u64(num, strlen(num), &v) != HF_OK || v == 0 ||
            v > (days ? LOCK_DAYS_MAX : LOCK_YEARS_MAX)) {
            s3_fail(q, S3E_InvalidArgument, "Default retention period must be a positive integer "
                                            "of at most %d days or %d years.",
                    LOCK_DAYS_MAX, LOCK_YEARS_MAX);
            return;
        }
        cfg[0] = m;
        uint8_t *dst = days ? cfg + 1 : cfg + 5;
        dst[0] = (uint8_t)(v >> 24);
        dst[1] = (uint8_t)(v >> 16);
        dst[2] = (uint8_t)(v >> 8);
        dst[3] = (uint8_t)v;
    }
    if (!lock_bucket(q)) {
        /* Turning Object Lock on for an existing bucket needs versioning
         * on, and cannot be undone (versioning can then not be suspended). */
        if (!(q->b.flags & HF_BUCKET_VERSIONING)) {
            s3_fail(q, S3E_InvalidBucketState,
                    "Versioning must be 'Enabled' on the bucket to apply a Object Lock configuration");
            return;
        }
        int rc = hf_meta_bucket_object_lock(q->s3->meta, &q->b);
        if (rc) {
            s3_fail(q, rc == HF_E_NOTFOUND ? S3E_NoSuchBucket : rc == HF_E_CONFLICT
                                                                   ? S3E_InvalidBucketState
                                                                   : hf_s3_err_from(rc), NULL);
            return;
        }
    }
    s3_put_bucket_cfg(q, HF_BCFG_OBJECT_LOCK, cfg, rule ? 9 : 0, 200);
}

void op_get_object_lock_config(s3req_t *q)
{
    if (s3_load_bucket(q))
        return;
    if (!lock_bucket(q)) {
        s3_fail(q, S3E_ObjectLockConfigurationNotFound, NULL);
        return;
    }
    uint8_t mode;
    uint32_t days, years;
    int rc = default_retention(q, &mode, &days, &years);
    if (rc) {
        s3_fail(q, hf_s3_err_from(rc), NULL);
        return;
    }
    hf_buf_t b;
    hf_buf_init(&b, 4096);
    hf_xml_decl(&b);
    hf_xml_open_ns(&b, "ObjectLockConfiguration");
    hf_xml_elem_str(&b, "ObjectLockEnabled", "Enabled");
    if (mode != HF_LOCK_NONE) {
        hf_xml_open(&b, "Rule");
        hf_xml_open(&b, "DefaultRetention");
        hf_xml_elem_str(&b, "Mode", mode_name(mode));
        if (years)
            hf_xml_elem_u64(&b, "Years", years);
        else
            hf_xml_elem_u64(&b, "Days", days);
        hf_xml_close(&b, "DefaultRetention");
        hf_xml_close(&b, "Rule");
    }
    hf_xml_close(&b, "ObjectLockConfiguration");
    s3_send_xml(q, &b);
}

/* ---- retention and legal hold of a version ----------------------------------------------- */

static void update_version(s3req_t *q, const hf_obj_update_t *u)
{
    uint8_t vbuf[16], changed[16];
    hf_version_sel_t ver;
    if (s3_version_param(q, vbuf, &ver))
        return;
    int rc = hf_meta_obj_update(q->s3->meta, &q->b, q->key, q->keylen, ver, u, changed);
    if (rc == HF_E_NOTFOUND) {
        s3_fail(q, ver ? S3E_NoSuchVersion : S3E_NoSuchKey, NULL);
        return;
    }
    if (rc == HF_E_INVAL) {
        hf_resp_header(q->r, "x-amz-delete-marker", "true");
        if (ver)
            s3_fail_method(q, "DeleteMarker", "DELETE");
        else
            s3_fail(q, S3E_NoSuchKey, NULL);
        return;
    }
    if (rc == HF_E_LOCKED) {
        s3_fail(q, S3E_AccessDenied,
                "Access Denied because object protected by object lock.");
        return;
    }
    if (rc) {
        s3_fail(q, hf_s3_err_from(rc), NULL);
        return;
    }
    s3_common_headers(q);
    s3_version_header(q, changed);
    hf_resp_send(q->r, 200, NULL, 0);
}

void op_put_object_retention(s3req_t *q)
{
    if (s3_load_bucket(q))
        return;
    if (!lock_bucket(q)) {
        no_lock_config(q);
        return;
    }
    hf_xml_node_t *root;
    if (s3_read_xml(q, "Retention", false, &root))
        return;
    const char *mode = hf_xml_child_text(root, "Mode");
    const char *until = hf_xml_child_text(root, "RetainUntilDate");
    hf_obj_update_t u = {.set_retention = true};
    if (!mode != !until) {
        s3_fail(q, S3E_MalformedXML, "A Retention has both a Mode and a RetainUntilDate, or neither.");
        return;
    }
    if (mode) {
        int64_t secs;
        if (parse_mode(mode, &u.lock_mode) != HF_OK) {
            s3_fail(q, S3E_MalformedXML, "Mode must be GOVERNANCE or COMPLIANCE.");
            return;
        }
        if (hf_time_parse_iso8601(until, strlen(until), &secs) != HF_OK) {
            s3_fail(q, S3E_InvalidArgument, "The retain until date must be provided in ISO 8601 format");
            return;
        }
        if (secs * NS_PER_S <= hf_time_now()) {
            s3_fail(q, S3E_InvalidArgument, "The retain until date must be in the future!");
            return;
        }
        u.lock_until = secs * NS_PER_S;
    }
    u.bypass_governance = (s3_delete_flags(q) & HF_DEL_BYPASS_GOVERNANCE) != 0;
    update_version(q, &u);
}

void op_get_object_retention(s3req_t *q)
{
    if (s3_load_bucket(q))
        return;
    if (!lock_bucket(q)) {
        no_lock_config(q);
        return;
    }
    hf_obj_t o;
    if (s3_load_version(q, &o))
        return;
    if (o.lock_mode == HF_LOCK_NONE) {
        s3_fail(q, S3E_NoSuchObjectLockConfiguration, NULL);
        return;
    }
    char date[32];
    hf_time_iso8601(date, o.lock_until);
    hf_buf_t b;
    hf_buf_init(&b, 4096);
    hf_xml_decl(&b);
    hf_xml_open_ns(&b, "Retention");
    hf_xml_elem_str(&b, "Mode", mode_name(o.lock_mode));
    hf_xml_elem_str(&b, "RetainUntilDate", date);
    hf_xml_close(&b, "Retention");
    s3_version_header(q, o.version);
    s3_send_xml(q, &b);
}

void op_put_object_legal_hold(s3req_t *q)
{
    if (s3_load_bucket(q))
        return;
    if (!lock_bucket(q)) {
        no_lock_config(q);
        return;
    }
    hf_xml_node_t *root;
    if (s3_read_xml(q, "LegalHold", false, &root))
        return;
    const char *st = hf_xml_child_text(root, "Status");
    if (!st || (strcmp(st, "ON") != 0 && strcmp(st, "OFF") != 0)) {
        s3_fail(q, S3E_MalformedXML, "A LegalHold Status is ON or OFF.");
        return;
    }
    hf_obj_update_t u = {.set_legal_hold = true, .legal_hold = strcmp(st, "ON") == 0};
    update_version(q, &u);
}

void op_get_object_legal_hold(s3req_t *q)
{
    if (s3_load_bucket(q))
        return;
    if (!lock_bucket(q)) {
        no_lock_config(q);
        return;
    }
    hf_obj_t o;
    if (s3_load_version(q, &o))
        return;
    hf_buf_t b;
    hf_buf_init(&b, 4096);
    hf_xml_decl(&b);
    hf_xml_open_ns(&b, "LegalHold");
    hf_xml_elem_str(&b, "Status", o.legal_hold ? "ON" : "OFF");
    hf_xml_close(&b, "LegalHold");
    s3_version_header(q, o.version);
    s3_send_xml(q, &b);
}
