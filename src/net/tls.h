/*
 * tls.h -- TLS for the HTTP server's listeners, with OpenSSL 3.
 *
 * Two objects:
 *   hf_tls_t       a listener's certificate chain, private key and settings
 *                  (one SSL_CTX), loaded from PEM files and reloadable while
 *                  connections are open;
 *   hf_tls_conn_t  one connection's TLS state, driven without blocking: every
 *                  call that cannot finish says which way the socket must
 *                  become ready (POLLIN or POLLOUT), so the server's event
 *                  loop (and its poll-based waits inside a request) can wait
 *                  for exactly that.
 *
 * Settings, fixed: TLS 1.2 at least, 1.3 when the client has it; OpenSSL's
 * default cipher list and security level (the system's openssl.cnf); no
 * compression; no renegotiation; ALPN answers "http/1.1" and refuses a
 * client that offers only other protocols (the ALPACA cross-protocol
 * defence, as nginx does); no server-side session cache (TLS 1.3 tickets
 * are stateless, so resumption costs the server no memory); buffers are
 * released while a connection is idle.
 *
 * Socket I/O: OpenSSL reads and writes the socket through a BIO whose calls
 * are hf_vfs.read and hf_vfs.write (base/vfs.h), so fault injection covers
 * TLS connections like plain ones. A TLS socket is written with `write`
 * (one call per record), never `writev`.
 *
 * Errors: the I/O functions follow the syscall convention -- a byte count,
 * 0 at the end of the stream, or -1 with errno: EAGAIN (wait as *want says,
 * then call again with the same arguments), EPROTO (a TLS protocol failure:
 * a bad record, an alert, a refused handshake; hf_tls_conn_why says which),
 * or the socket's own errno (ECONNRESET, EPIPE, an injected EIO...).
 *
 * Ownership: the caller owns both objects and frees them with their destroy
 * functions. A connection keeps the settings it started with: a reload
 * affects new connections only, and an hf_tls_t must outlive its
 * connections.
 *
 * Threads: hf_tls_t is thread-safe (a reload may run while any number of
 * threads create connections). One hf_tls_conn_t is used by one thread at a
 * time (the server's slot ownership guarantees that).
 */
#ifndef HF_NET_TLS_H
#define HF_NET_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

/* The first byte of every TLS connection: a handshake record (RFC 8446
 * 5.1, ContentType handshake(22)). HTTP methods start with a letter. */
#define HF_TLS_RECORD_HANDSHAKE 0x16

typedef struct hf_tls hf_tls_t;
typedef struct hf_tls_conn hf_tls_conn_t;

/* What the loaded certificate says, for logs, the status page and metrics. */
typedef struct hf_tls_info {
    char subject[256];      /* leaf, RFC 2253 form */
    char issuer[256];
    int64_t not_before;     /* unix seconds */
    int64_t not_after;
    int chain;              /* certificates sent after the leaf (intermediates) */
    uint64_t reloads;       /* successful reloads since start */
    uint64_t reload_failures;
} hf_tls_info_t;

/* Load the certificate chain (PEM: the leaf first, then intermediates) and
 * the unencrypted private key (PEM, any type OpenSSL knows) and check that
 * they belong together. Files are read through hf_vfs, each at most
 * HF_TLS_PEM_MAX bytes. On failure *out is NULL and why (NUL-terminated,
 * may be truncated) says what is wrong, naming the file. Errors:
 * HF_E_INVAL (bad or mismatched contents), HF_E_TOOBIG, negative errno
 * (cannot read a file), -ENOMEM. */
int hf_tls_create(const char *cert_file, const char *key_file, hf_tls_t **out, char *why,
                  size_t whycap);

/* Read the same two files again and use them for every new connection;
 * open connections keep the old certificate until they close. On failure
 * nothing changes (errors and why as for hf_tls_create). */
int hf_tls_reload(hf_tls_t *t, char *why, size_t whycap);

/* Free t (after every connection made from it is destroyed). NULL is ok. */
void hf_tls_destroy(hf_tls_t *t);

void hf_tls_get_info(hf_tls_t *t, hf_tls_info_t *out);

/* ---- one connection --------------------------------------------------------- */

/* Start server-side TLS on a connected non-blocking socket. first is a byte
 * the caller already read from the socket (the server reads one to tell
 * TLS from plain HTTP), or -1. The socket stays the caller's to close.
 * Errors: -ENOMEM. */
int hf_tls_conn_create(hf_tls_t *t, int fd, int first, hf_tls_conn_t **out);

/* Advance the handshake. 0 when it is complete; -1 with errno otherwise
 * (EAGAIN: wait for *want). */
int hf_tls_handshake(hf_tls_conn_t *c, short *want);

/* Read up to n plaintext bytes (n > 0). */
ssize_t hf_tls_read(hf_tls_conn_t *c, void *buf, size_t n, short *want);

/* Write plaintext from the iovecs, in order; returns the bytes taken (at
 * least 1), which may be fewer than offered. Small leading pieces are
 * gathered into one record, so a response head and the start of its body
 * go out in one packet. After EAGAIN, call again with the same iovecs. */
ssize_t hf_tls_writev(hf_tls_conn_t *c, const struct iovec *iov, int cnt, short *want);

/* true if OpenSSL holds bytes read from the socket that have not been
 * returned yet: the socket may never become readable for them, so the
 * caller must read before waiting. */
bool hf_tls_pending(const hf_tls_conn_t *c);

/* Why the last call failed with EPROTO (or the handshake did not finish):
 * OpenSSL's reason, e.g. "wrong version number", "tlsv1 alert unknown ca".
 * A static string. */
const char *hf_tls_conn_why(const hf_tls_conn_t *c);

/* Negotiated protocol and cipher ("TLSv1.3", "TLS_AES_256_GCM_SHA384"),
 * after the handshake. Static strings. */
const char *hf_tls_conn_version(const hf_tls_conn_t *c);
const char *hf_tls_conn_cipher(const hf_tls_conn_t *c);

/* Send close_notify (one attempt, without waiting) if the connection is
 * healthy, then free c. The socket is not closed. NULL is ok. */
void hf_tls_conn_destroy(hf_tls_conn_t *c);

#endif /* HF_NET_TLS_H */
