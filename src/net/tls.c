/*
 * tls.c -- OpenSSL 3 under the HTTP server; see tls.h for the contract.
 *
 *   settings     one SSL_CTX per load, built by ctx_load from two PEM files
 *                read through the syscall seam (bounded by HF_TLS_PEM_MAX).
 *                A reload builds a complete new SSL_CTX first and swaps the
 *                pointer under a mutex only if everything checked out, so a
 *                bad file can never leave the listener without a
 *                certificate. SSL_new takes its own reference on the
 *                context, so connections started before a reload keep the
 *                old one alive until they end.
 *   socket BIO   a source/sink BIO whose read and write are hf_vfs.read and
 *                hf_vfs.write on the connection's fd (looked up on every
 *                call: fault injection swaps the table at run time). EAGAIN
 *                becomes a BIO retry, which OpenSSL reports as
 *                SSL_ERROR_WANT_READ/WRITE; any other errno is kept in the
 *                connection so the caller sees the socket's real error
 *                instead of OpenSSL's generic one.
 *   writes       SSL_write makes one record per call, and the server writes
 *                a response head and the first body bytes with one writev.
 *                Sent as two records they would also leave as two TCP
 *                segments (TCP_NODELAY), so small leading pieces are copied
 *                into a per-thread buffer of one record's size first.
 *                Larger pieces go to SSL_write directly.
 *
 * Rejected: SSL_set_fd (OpenSSL's socket BIO calls read/write itself,
 * bypassing the seam, so drills could not fail TLS sockets); kernel TLS
 * (needs OpenSSL's socket BIO for the same reason, and the tls module, which
 * Debian 12's kernel builds but does not load); a handshake thread pool
 * (the workers already are one, and handshakes run without blocking).
 */
#include "net/tls.h"

#include "base/err.h"
#include "base/limits.h"
#include "base/vfs.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

/* Largest plaintext in one TLS record (RFC 8446 5.1): the most worth
 * gathering into one SSL_write. */
#define RECORD_MAX 16384

struct hf_tls {
    pthread_mutex_t mu;
    SSL_CTX *ctx;        /* current settings; guarded by mu */
    hf_tls_info_t info;  /* of ctx, and the reload counters; guarded by mu */
    char *cert_file;
    char *key_file;
};

struct hf_tls_conn {
    SSL *ssl;
    int fd;
    int sock_err;        /* errno of the last failed socket call, 0 if none */
    unsigned long ssl_err; /* OpenSSL's code for the last protocol failure */
    int first;           /* a byte read before OpenSSL started, or -1 */
    bool open;           /* handshake complete */
    bool dead;           /* fatal error: no close_notify may be sent */
};

/* ---- the socket BIO --------------------------------------------------------- */

static BIO_METHOD *bio_method;
static pthread_once_t bio_once = PTHREAD_ONCE_INIT;

static int bio_write(BIO *b, const char *p, int n)
{
    hf_tls_conn_t *c = BIO_get_data(b);
    BIO_clear_retry_flags(b);
    for (;;) {
        ssize_t k = hf_vfs.write(c->fd, p, (size_t)n);
        if (k >= 0)
            return (int)k;
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            BIO_set_retry_write(b);
            return -1;
        }
        c->sock_err = errno;
        return -1;
    }
}

static int bio_read(BIO *b, char *p, int n)
{
    hf_tls_conn_t *c = BIO_get_data(b);
    BIO_clear_retry_flags(b);
    if (n <= 0)
        return 0;
    if (c->first >= 0) {
        p[0] = (char)c->first;
        c->first = -1;
        return 1;
    }
    for (;;) {
        ssize_t k = hf_vfs.read(c->fd, p, (size_t)n);
        if (k >= 0)
            return (int)k; /* 0: the peer closed */
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            BIO_set_retry_read(b);
            return -1;
        }
        c->sock_err = errno;
        return -1;
    }
}

static long bio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
    (void)b;
    (void)num;
    (void)ptr;
    /* Writes go straight to the socket, so there is never anything to
     * flush; every other control (kTLS, pending counts...) is "no". */
    return cmd == BIO_CTRL_FLUSH ? 1 : 0;
}

static void bio_method_init(void)
{
    BIO_METHOD *m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "holdfast socket");
    if (m && BIO_meth_set_write(m, bio_write) && BIO_meth_set_read(m, bio_read) &&
        BIO_meth_set_ctrl(m, bio_ctrl)) {
        bio_method = m;
        return;
    }
    BIO_meth_free(m);
}

/* ---- loading a certificate and key ---------------------------------------- */

/* OpenSSL's reason for the most recent error on this thread's queue. */
static const char *ossl_reason(void)
{
    unsigned long e = ERR_peek_last_error();
    const char *r = e ? ERR_reason_error_string(e) : NULL;
    return r ? r : "unknown OpenSSL error";
}

/* The whole file at path, through the seam, into *out (caller frees;
 * the buffer is NUL-terminated, *len excludes the NUL). */
static int read_file(const char *path, const char *what, char **out, size_t *len, char *why,
                     size_t whycap)
{
    *out = NULL;
    *len = 0;
    int fd = hf_vfs_open(path, O_RDONLY, 0);
    if (fd < 0) {
        snprintf(why, whycap, "cannot read %s %s: %s", what, path, strerror(-fd));
        return fd;
    }
    int rc = HF_OK;
    size_t cap = 8192, n = 0;
    char *buf = malloc(cap + 1);
    if (!buf) {
        rc = -ENOMEM;
        snprintf(why, whycap, "out of memory reading %s", path);
        goto out;
    }
    for (;;) {
        if (n > HF_TLS_PEM_MAX) {
            rc = HF_E_TOOBIG;
            snprintf(why, whycap, "%s %s is larger than %d bytes: not a PEM %s", what, path,
                     HF_TLS_PEM_MAX, what);
            goto out;
        }
        if (n == cap) {
            /* One byte past the limit is enough to know it is too big. */
            cap = cap * 2 > HF_TLS_PEM_MAX + 1 ? HF_TLS_PEM_MAX + 1 : cap * 2;
            char *nb = realloc(buf, cap + 1);
            if (!nb) {
                rc = -ENOMEM;
                snprintf(why, whycap, "out of memory reading %s", path);
                goto out;
            }
            buf = nb;
        }
        ssize_t k = hf_vfs.read(fd, buf + n, cap - n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0) {
            rc = -errno;
            snprintf(why, whycap, "cannot read %s %s: %s", what, path, strerror(errno));
            goto out;
        }
        if (k == 0)
            break;
        n += (size_t)k;
    }
    buf[n] = '\0';
    *out = buf;
    *len = n;
    buf = NULL;
out:
    if (buf) {
        OPENSSL_cleanse(buf, n);
        free(buf);
    }
    hf_vfs.close(fd);
    return rc;
}

/* PEM readers must never prompt on a terminal for a passphrase. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    (void)u;
    return -1;
}

static void name_text(const X509_NAME *nm, char *out, size_t cap)
{
    out[0] = '\0';
    BIO *m = BIO_new(BIO_s_mem());
    if (!m)
        return;
    if (X509_NAME_print_ex(m, nm, 0, XN_FLAG_RFC2253) >= 0) {
        int k = BIO_read(m, out, (int)cap - 1);
        out[k > 0 ? k : 0] = '\0';
    }
    BIO_free(m);
}

static int64_t asn1_unix(const ASN1_TIME *t)
{
    struct tm tm;
    if (!t || !ASN1_TIME_to_tm(t, &tm))
        return 0;
    return (int64_t)timegm(&tm);
}

/* ALPN: HTTP/1.1 is all this server speaks. A client that offers ALPN
 * without it is refused with no_application_protocol rather than served
 * as something it did not ask for (RFC 7301 3.2; the ALPACA attack relies
 * on servers that ignore the client's choice). */
static int alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                       const unsigned char *in, unsigned int inlen, void *arg)
{
    static const unsigned char h11[] = "http/1.1";
    (void)ssl;
    (void)arg;
    for (unsigned int i = 0; i < inlen;) {
        unsigned int n = in[i];
        if (n == 0 || i + 1 + n > inlen)
            break;
        if (n == sizeof h11 - 1 && memcmp(in + i + 1, h11, n) == 0) {
            *out = in + i + 1;
            *outlen = (unsigned char)n;
            return SSL_TLSEXT_ERR_OK;
        }
        i += 1 + n;
    }
    return SSL_TLSEXT_ERR_ALERT_FATAL;
}

/* Certificates from the PEM text: the first is the leaf, the rest go out
 * as its chain. */
static int load_chain(SSL_CTX *ctx, const char *path, const char *pem, size_t len,
                      hf_tls_info_t *info, char *why, size_t whycap)
{
    int rc = HF_E_INVAL;
    BIO *m = BIO_new_mem_buf(pem, (int)len);
    X509 *leaf = NULL;
    if (!m) {
        snprintf(why, whycap, "out of memory loading %s", path);
        return -ENOMEM;
    }
    ERR_clear_error();
    leaf = PEM_read_bio_X509_AUX(m, NULL, no_passphrase, NULL);
    if (!leaf) {
        snprintf(why, whycap,
                 "certificate file %s holds no PEM certificate (expected \"-----BEGIN "
                 "CERTIFICATE-----\"; OpenSSL: %s)",
                 path, ossl_reason());
        goto out;
    }
    if (SSL_CTX_use_certificate(ctx, leaf) != 1) {
        snprintf(why, whycap, "certificate in %s cannot be used: %s", path, ossl_reason());
        goto out;
    }
    name_text(X509_get_subject_name(leaf), info->subject, sizeof info->subject);
    name_text(X509_get_issuer_name(leaf), info->issuer, sizeof info->issuer);
    info->not_before = asn1_unix(X509_get0_notBefore(leaf));
    info->not_after = asn1_unix(X509_get0_notAfter(leaf));
    info->chain = 0;
    for (;;) {
        ERR_clear_error();
        X509 *ca = PEM_read_bio_X509(m, NULL, no_passphrase, NULL);
        if (!ca) {
            unsigned long e = ERR_peek_last_error();
            if (ERR_GET_LIB(e) == ERR_LIB_PEM && ERR_GET_REASON(e) == PEM_R_NO_START_LINE)
                break; /* the normal end: no more certificates */
            snprintf(why, whycap, "certificate %d in %s is not a valid PEM certificate: %s",
                     info->chain + 2, path, ossl_reason());
            goto out;
        }
        if (SSL_CTX_add0_chain_cert(ctx, ca) != 1) {
            X509_free(ca);
            snprintf(why, whycap, "certificate %d in %s cannot be used: %s", info->chain + 2,
                     path, ossl_reason());
            goto out;
        }
        info->chain++;
    }
    rc = HF_OK;
out:
    ERR_clear_error();
    X509_free(leaf);
    BIO_free(m);
    return rc;
}

static int load_key(SSL_CTX *ctx, const char *path, const char *cert_path, const char *pem,
                    size_t len, char *why, size_t whycap)
{
    if (strstr(pem, "-----BEGIN ENCRYPTED PRIVATE KEY-----") || strstr(pem, "Proc-Type: 4,ENCRYPTED")) {
        snprintf(why, whycap,
                 "private key %s is encrypted with a passphrase; the server needs it unencrypted "
                 "(decrypt it with 'openssl pkey -in %s -out NEWFILE' and keep NEWFILE mode 0600)",
                 path, path);
        return HF_E_INVAL;
    }
    int rc = HF_E_INVAL;
    BIO *m = BIO_new_mem_buf(pem, (int)len);
    EVP_PKEY *k = NULL;
    if (!m) {
        snprintf(why, whycap, "out of memory loading %s", path);
        return -ENOMEM;
    }
    ERR_clear_error();
    k = PEM_read_bio_PrivateKey(m, NULL, no_passphrase, NULL);
    if (!k) {
        snprintf(why, whycap,
                 "private key file %s holds no PEM private key (expected \"-----BEGIN PRIVATE "
                 "KEY-----\" or similar; OpenSSL: %s)",
                 path, ossl_reason());
        goto out;
    }
    ERR_clear_error();
    if (SSL_CTX_use_PrivateKey(ctx, k) != 1 || SSL_CTX_check_private_key(ctx) != 1) {
        unsigned long e = ERR_peek_last_error();
        if (ERR_GET_REASON(e) == X509_R_KEY_VALUES_MISMATCH ||
            ERR_GET_REASON(e) == X509_R_KEY_TYPE_MISMATCH ||
            ERR_GET_REASON(e) == SSL_R_PRIVATE_KEY_MISMATCH)
            snprintf(why, whycap, "private key %s does not match the certificate in %s", path,
                     cert_path);
        else
            snprintf(why, whycap, "private key %s cannot be used with the certificate in %s: %s",
                     path, cert_path, ossl_reason());
        goto out;
    }
    rc = HF_OK;
out:
    ERR_clear_error();
    EVP_PKEY_free(k);
    BIO_free(m);
    return rc;
}

/* A complete server context from the two files, or NULL with why set. */
static SSL_CTX *ctx_load(const char *cert_file, const char *key_file, hf_tls_info_t *info,
                         int *rcp, char *why, size_t whycap)
{
    char *cert = NULL, *key = NULL;
    size_t certlen = 0, keylen = 0;
    SSL_CTX *ctx = NULL;
    int rc = read_file(cert_file, "certificate file", &cert, &certlen, why, whycap);
    if (rc)
        goto out;
    rc = read_file(key_file, "private key file", &key, &keylen, why, whycap);
    if (rc)
        goto out;
    ERR_clear_error();
    ctx = SSL_CTX_new(TLS_server_method());
    if (!ctx) {
        rc = -ENOMEM;
        snprintf(why, whycap, "cannot set up TLS: %s", ossl_reason());
        goto out;
    }
    /* No cipher list is set: OpenSSL's defaults, under the system policy,
     * are the ones its maintainers keep secure. */
    if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1) {
        rc = HF_E_INVAL;
        snprintf(why, whycap, "cannot require TLS 1.2: %s", ossl_reason());
        goto out;
    }
    /* Unexpected EOF is read as a plain close: every request and response
     * is length-framed, so a cut stream is seen by the HTTP layer anyway,
     * and clients that drop keep-alive connections without close_notify
     * (most of them) should not log as protocol errors. */
    SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
                                 SSL_OP_IGNORE_UNEXPECTED_EOF);
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                              SSL_MODE_RELEASE_BUFFERS);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_dh_auto(ctx, 1);
    SSL_CTX_set_alpn_select_cb(ctx, alpn_select, NULL);
    rc = load_chain(ctx, cert_file, cert, certlen, info, why, whycap);
    if (rc)
        goto out;
    rc = load_key(ctx, key_file, cert_file, key, keylen, why, whycap);
out:
    ERR_clear_error();
    free(cert);
    if (key) {
        OPENSSL_cleanse(key, keylen);
        free(key);
    }
    if (rc) {
        SSL_CTX_free(ctx);
        ctx = NULL;
    }
    *rcp = rc;
    return ctx;
}

/* ---- settings ----------------------------------------------------------------- */

int hf_tls_create(const char *cert_file, const char *key_file, hf_tls_t **out, char *why,
                  size_t whycap)
{
    *out = NULL;
    why[0] = '\0';
    pthread_once(&bio_once, bio_method_init);
    if (!bio_method) {
        snprintf(why, whycap, "cannot set up TLS: out of memory");
        return -ENOMEM;
    }
    hf_tls_t *t = calloc(1, sizeof *t);
    if (!t) {
        snprintf(why, whycap, "cannot set up TLS: out of memory");
        return -ENOMEM;
    }
    int rc;
    t->ctx = ctx_load(cert_file, key_file, &t->info, &rc, why, whycap);
    if (!t->ctx) {
        free(t);
        return rc;
    }
    t->cert_file = strdup(cert_file);
    t->key_file = strdup(key_file);
    if (!t->cert_file || !t->key_file) {
        free(t->cert_file);
        free(t->key_file);
        SSL_CTX_free(t->ctx);
        free(t);
        snprintf(why, whycap, "cannot set up TLS: out of memory");
        return -ENOMEM;
    }
    pthread_mutex_init(&t->mu, NULL);
    *out = t;
    return HF_OK;
}

int hf_tls_reload(hf_tls_t *t, char *why, size_t whycap)
{
    why[0] = '\0';
    hf_tls_info_t info = {0};
    int rc;
    SSL_CTX *ctx = ctx_load(t->cert_file, t->key_file, &info, &rc, why, whycap);
    pthread_mutex_lock(&t->mu);
    if (!ctx) {
        t->info.reload_failures++;
        pthread_mutex_unlock(&t->mu);
        return rc;
    }
    SSL_CTX *old = t->ctx;
    info.reloads = t->info.reloads + 1;
    info.reload_failures = t->info.reload_failures;
    t->ctx = ctx;
    t->info = info;
    pthread_mutex_unlock(&t->mu);
    SSL_CTX_free(old); /* open connections hold their own references */
    return HF_OK;
}

void hf_tls_destroy(hf_tls_t *t)
{
    if (!t)
        return;
    SSL_CTX_free(t->ctx);
    free(t->cert_file);
    free(t->key_file);
    pthread_mutex_destroy(&t->mu);
    free(t);
}

void hf_tls_get_info(hf_tls_t *t, hf_tls_info_t *out)
{
    pthread_mutex_lock(&t->mu);
    *out = t->info;
    pthread_mutex_unlock(&t->mu);
}

/* ---- connections ------------------------------------------------------------------ */

int hf_tls_conn_create(hf_tls_t *t, int fd, int first, hf_tls_conn_t **out)
{
    *out = NULL;
    hf_tls_conn_t *c = calloc(1, sizeof *c);
    if (!c)
        return -ENOMEM;
    c->fd = fd;
    c->first = first;
    pthread_mutex_lock(&t->mu);
    c->ssl = SSL_new(t->ctx);
    pthread_mutex_unlock(&t->mu);
    BIO *b = c->ssl ? BIO_new(bio_method) : NULL;
    if (!b) {
        SSL_free(c->ssl);
        free(c);
        ERR_clear_error();
        return -ENOMEM;
    }
    BIO_set_data(b, c);
    BIO_set_init(b, 1);
    SSL_set_bio(c->ssl, b, b); /* the SSL owns the BIO now */
    SSL_set_accept_state(c->ssl);
    *out = c;
    return HF_OK;
}

/* Map an OpenSSL failure to the syscall convention (see tls.h). Returns 0
 * for a clean end of stream, else -1 with errno set. */
static int failed(hf_tls_conn_t *c, int r, short *want)
{
    int e = SSL_get_error(c->ssl, r);
    int rc = -1;
    switch (e) {
    case SSL_ERROR_WANT_READ:
        *want = POLLIN;
        errno = EAGAIN;
        break;
    case SSL_ERROR_WANT_WRITE:
        *want = POLLOUT;
        errno = EAGAIN;
        break;
    case SSL_ERROR_ZERO_RETURN:
        rc = 0; /* close_notify, or EOF (SSL_OP_IGNORE_UNEXPECTED_EOF) */
        break;
    case SSL_ERROR_SYSCALL:
        c->dead = true;
        if (c->sock_err) {
            errno = c->sock_err;
        } else {
            /* EOF from the socket where OpenSSL did not expect one. */
            rc = 0;
        }
        break;
    default:
        c->dead = true;
        c->ssl_err = ERR_peek_last_error();
        errno = EPROTO;
        break;
    }
    ERR_clear_error();
    return rc;
}

int hf_tls_handshake(hf_tls_conn_t *c, short *want)
{
    ERR_clear_error();
    c->sock_err = 0;
    int r = SSL_do_handshake(c->ssl);
    if (r == 1) {
        c->open = true;
        return 0;
    }
    if (failed(c, r, want) == 0) {
        /* The peer closed before the handshake finished. */
        c->dead = true;
        errno = ECONNRESET;
    }
    return -1;
}

ssize_t hf_tls_read(hf_tls_conn_t *c, void *buf, size_t n, short *want)
{
    ERR_clear_error();
    c->sock_err = 0;
    int r = SSL_read(c->ssl, buf, n > INT_MAX ? INT_MAX : (int)n);
    if (r > 0)
        return r;
    return failed(c, r, want);
}

ssize_t hf_tls_writev(hf_tls_conn_t *c, const struct iovec *iov, int cnt, short *want)
{
    static __thread unsigned char stage[RECORD_MAX];
    while (cnt > 0 && iov->iov_len == 0) {
        iov++;
        cnt--;
    }
    if (cnt == 0)
        return 0;
    const void *p = iov->iov_base;
    size_t n = iov->iov_len;
    if (cnt > 1 && n < RECORD_MAX) {
        /* The same iovecs always gather to the same bytes, which is what
         * SSL_write needs when it is called again after WANT_WRITE. */
        n = 0;
        for (int i = 0; i < cnt && n < RECORD_MAX; i++) {
            size_t k = iov[i].iov_len < RECORD_MAX - n ? iov[i].iov_len : RECORD_MAX - n;
            memcpy(stage + n, iov[i].iov_base, k);
            n += k;
        }
        p = stage;
    }
    ERR_clear_error();
    c->sock_err = 0;
    int r = SSL_write(c->ssl, p, n > INT_MAX ? INT_MAX : (int)n);
    if (r > 0)
        return r;
    if (failed(c, r, want) == 0) {
        c->dead = true;
        errno = EPIPE; /* a write cannot end cleanly */
    }
    return -1;
}

bool hf_tls_pending(const hf_tls_conn_t *c)
{
    return SSL_has_pending(c->ssl) == 1;
}

const char *hf_tls_conn_why(const hf_tls_conn_t *c)
{
    if (c->ssl_err) {
        const char *r = ERR_reason_error_string(c->ssl_err);
        return r ? r : "TLS protocol error";
    }
    if (c->sock_err)
        return strerror(c->sock_err);
    return "the peer closed the connection";
}

const char *hf_tls_conn_version(const hf_tls_conn_t *c)
{
    return SSL_get_version(c->ssl);
}

const char *hf_tls_conn_cipher(const hf_tls_conn_t *c)
{
    const char *n = SSL_get_cipher_name(c->ssl);
    return n ? n : "none";
}

void hf_tls_conn_destroy(hf_tls_conn_t *c)
{
    if (!c)
        return;
    if (c->open && !c->dead) {
        /* Tell the client the response it has is all there is. The
         * socket is non-blocking: if close_notify does not fit, it is not
         * worth waiting for. */
        ERR_clear_error();
        SSL_shutdown(c->ssl);
        ERR_clear_error();
    }
    SSL_free(c->ssl);
    free(c);
}
