/*
 * keyring.h -- the SSE-S3 master keys: a file of numbered 256-bit keys.
 *
 * Every SSE-S3 object has a data key of its own, stored wrapped (encrypted
 * and authenticated) under one master key, whose id the object's record
 * names (sse/sse.h). The master keys live in a text file -- by default
 * DATA/sse-master.key, better on another disk (--sse-master-key-file) --
 * never in the metadata:
 *
 *   # comment lines and blank lines are ignored
 *   1 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
 *   2 60303ae22b998861bce3b28f33eec1be758a213c86c93c076dbe9f558c71c752
 *
 * one key per line: its id (decimal, 1..4294967295), spaces, then 64 hex
 * digits. The highest id is the *active* key: new objects are wrapped
 * under it; every key in the file can unwrap. Rotation adds a key with the
 * next id and makes it active; objects written before keep naming the old
 * key, which stays in the file, so nothing is rewritten.
 *
 * The metadata keeps each key's *fingerprint* (hf_keyring_fingerprints):
 * a server started with a key file that lacks a key its objects name, or
 * holds another key under that id, refuses to start (hf_keyring_check)
 * instead of failing every read of those objects.
 *
 * Keys are held in one memory mapping that is locked (best effort: no
 * swap) and left out of core dumps, and wiped when the keyring closes.
 *
 * Ownership: hf_keyring_open returns a keyring the caller owns (close with
 * hf_keyring_close). Threads: every function is thread-safe; readers
 * (hf_keyring_get, _active) take no lock -- keys are only ever added, each
 * published before the count that makes it visible.
 */
#ifndef HF_SSE_KEYRING_H
#define HF_SSE_KEYRING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HF_KEYRING_KEY_LEN 32
#define HF_KEYRING_FP_LEN 16
/* The default file name inside the data directory. */
#define HF_KEYRING_DEFAULT_FILE "sse-master.key"
/* Bytes of hf_keyring_fingerprints' encoding: count u32, then id u32 and
 * the 16-byte fingerprint per key (all big-endian). */
#define HF_KEYRING_FPS_LEN(n) (4 + 20 * (size_t)(n))

typedef struct hf_keyring hf_keyring_t;

/* Load the key file at path. When it does not exist and create is true,
 * make it with one new random key (id 1), mode 0600, durably. Errors
 * (with why, cap bytes, saying what to do): -ENOENT (missing and not to be
 * created), HF_E_INVAL (unreadable syntax: names the line; a file others
 * may read or write: says to chmod 600), HF_E_TOOBIG (past
 * HF_SSE_KEY_FILE_MAX or HF_SSE_MASTER_KEYS_MAX keys), another negative
 * errno. *created says whether the file was made now. */
int hf_keyring_open(const char *path, bool create, hf_keyring_t **out, bool *created, char *why,
                    size_t cap);
void hf_keyring_close(hf_keyring_t *k);

/* The file the keys come from (borrowed, lives as long as k). */
const char *hf_keyring_path(const hf_keyring_t *k);

/* The id of the active key. */
uint32_t hf_keyring_active(const hf_keyring_t *k);

/* Copy key id into key. HF_E_NOKEY if the file has no such key. */
int hf_keyring_get(const hf_keyring_t *k, uint32_t id, uint8_t key[HF_KEYRING_KEY_LEN]);

/* Number of keys, and the id and fingerprint of the i-th (file order:
 * ascending ids). */
size_t hf_keyring_count(const hf_keyring_t *k);
void hf_keyring_entry(const hf_keyring_t *k, size_t i, uint32_t *id, uint8_t fp[HF_KEYRING_FP_LEN]);

/* A key's fingerprint: HMAC-SHA256(key, "holdfast sse master key
 * fingerprint v1"), first 16 bytes. It says which key this is without
 * revealing anything of it. */
void hf_keyring_fingerprint(const uint8_t key[HF_KEYRING_KEY_LEN], uint8_t fp[HF_KEYRING_FP_LEN]);

/* Rotate: add a new random key with the next id to the file (rewritten
 * atomically and durably) and make it active. *id gets the new id.
 * HF_E_TOOBIG at HF_SSE_MASTER_KEYS_MAX keys; a negative errno when the
 * file cannot be written (then nothing changed, and why says so). */
int hf_keyring_rotate(hf_keyring_t *k, uint32_t *id, char *why, size_t cap);

/* Read the file again (SIGHUP, after an operator added a key by hand to a
 * file the server cannot write): keys it adds after the ones loaded are
 * published, the last becoming active. The loaded keys must all still be
 * there, unchanged, else nothing changes: HF_E_CONFLICT (why says which).
 * *added gets the number of new keys. Other errors as hf_keyring_open. */
int hf_keyring_reload(hf_keyring_t *k, size_t *added, char *why, size_t cap);

/* The fingerprints of every key, encoded for the metadata
 * (HF_KEYRING_FPS_LEN(count) bytes). HF_E_TOOBIG if cap is short. */
int hf_keyring_fingerprints(const hf_keyring_t *k, uint8_t *out, size_t cap, size_t *len);

/* Check a stored fingerprint list p (n bytes, as hf_keyring_fingerprints
 * wrote it, maybe by an earlier run) against the keys: HF_OK when every
 * key it names is in k with the same fingerprint; HF_E_NOKEY (why names
 * the first key missing or different); HF_E_CORRUPT when p is not such a
 * list. */
int hf_keyring_check(const hf_keyring_t *k, const uint8_t *p, size_t n, char *why, size_t cap);

/* Parse key file text (n bytes) into ids and keys (cap entries each):
 * *count entries. Ids must increase from line to line (rotation appends),
 * so the last key is the active one. HF_E_INVAL with why naming the line
 * (and no key material); HF_E_TOOBIG past cap. An empty list is
 * HF_E_INVAL. Exposed for tests and the fuzz harness. */
int hf_keyring_parse(const char *text, size_t n, uint32_t *ids, uint8_t (*keys)[HF_KEYRING_KEY_LEN],
                     size_t cap, size_t *count, char *why, size_t wcap);

#endif /* HF_SSE_KEYRING_H */
