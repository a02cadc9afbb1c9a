/* Unit tests for src/net/tls.c: loading certificates and keys (and every
 * way that fails), handshakes and I/O driven without blocking over a
 * socketpair against an OpenSSL client in a thread, protocol limits, ALPN,
 * reloads while a connection is open, and faults injected through the
 * syscall seam. Keys and certificates are made here with OpenSSL's API. */
#include "test.h"

#include "base/err.h"
#include "base/fault.h"
#include "base/limits.h"
#include "base/vfs.h"
#include "net/tls.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <pthread.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

/* ---- making certificates ---------------------------------------------------- */

static EVP_PKEY *new_key(void)
{
    EVP_PKEY *k = EVP_EC_gen("P-256");
    CHECK(k != NULL);
    return k;
}

static void add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX v3;
    X509V3_set_ctx(&v3, issuer, x, NULL, NULL, 0);
    X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &v3, nid, value);
    CHECK(e != NULL);
    CHECK(X509_add_ext(x, e, -1) == 1);
    X509_EXTENSION_free(e);
}

/* A certificate for key named cn, signed by issuer (NULL: self-signed).
 * Valid from days_from to days_to days from now. */
static X509 *new_cert(EVP_PKEY *key, const char *cn, X509 *issuer, EVP_PKEY *issuer_key, bool ca,
                      long days_from, long days_to)
{
    static long serial = 1;
    X509 *x = X509_new();
    CHECK(x != NULL);
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), serial++);
    X509_gmtime_adj(X509_getm_notBefore(x), days_from * 86400);
    X509_gmtime_adj(X509_getm_notAfter(x), days_to * 86400);
    X509_set_pubkey(x, key);
    X509_NAME *nm = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(nm, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : nm);
    X509 *signer = issuer ? issuer : x;
    if (ca) {
        add_ext(x, signer, NID_basic_constraints, "critical,CA:TRUE");
        add_ext(x, signer, NID_key_usage, "critical,keyCertSign,cRLSign");
    } else {
        add_ext(x, signer, NID_basic_constraints, "CA:FALSE");
        add_ext(x, signer, NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1");
        add_ext(x, signer, NID_ext_key_usage, "serverAuth");
    }
    add_ext(x, signer, NID_subject_key_identifier, "hash");
    CHECK(X509_sign(x, issuer_key ? issuer_key : key, EVP_sha256()) > 0);
    return x;
}

static char *tmp;

static const char *path(const char *name)
{
    static char p[8][256];
    static int i;
    i = (i + 1) % 8;
    snprintf(p[i], sizeof p[i], "%s/%s", tmp, name);
    return p[i];
}

/* Write PEM certificates (NULL-terminated list) and optionally a key. */
static void write_pem(const char *name, X509 **certs, EVP_PKEY *key)
{
    FILE *f = fopen(path(name), "w");
    CHECK(f != NULL);
    for (int i = 0; certs && certs[i]; i++)
        CHECK(PEM_write_X509(f, certs[i]) == 1);
    if (key)
        CHECK(PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL) == 1);
    fclose(f);
}

static void write_text(const char *name, const char *text)
{
    FILE *f = fopen(path(name), "w");
    CHECK(f != NULL);
    fputs(text, f);
    fclose(f);
}

/* One CA, an intermediate it signed, and a leaf the intermediate signed:
 * root.pem (what clients trust), chain.pem (leaf + intermediate),
 * leaf.pem (leaf alone), leaf.key, other.key (a key of no certificate). */
static X509 *root, *inter, *leaf;
static EVP_PKEY *root_key, *inter_key, *leaf_key;

static void make_pki(void)
{
    if (tmp)
        return;
    tmp = hf_test_tmpdir();
    root_key = new_key();
    inter_key = new_key();
    leaf_key = new_key();
    root = new_cert(root_key, "holdfast test root", NULL, NULL, true, -1, 30);
    inter = new_cert(inter_key, "holdfast test intermediate", root, root_key, true, -1, 30);
    leaf = new_cert(leaf_key, "localhost", inter, inter_key, false, -1, 10);
    write_pem("root.pem", (X509 *[]){root, NULL}, NULL);
    write_pem("chain.pem", (X509 *[]){leaf, inter, NULL}, NULL);
    write_pem("leaf.pem", (X509 *[]){leaf, NULL}, NULL);
    write_pem("leaf.key", NULL, leaf_key);
    EVP_PKEY *other = new_key();
    write_pem("other.key", NULL, other);
    EVP_PKEY_free(other);
}

/* ---- a client in a thread ------------------------------------------------------- */

typedef struct client {
    int fd;
    const char *alpn;         /* offered (wire format), NULL: none */
    int max_version;          /* 0: any */
    const char *send;         /* written after the handshake */
    size_t expect;            /* bytes to read back before closing */
    bool renegotiate;         /* TLS 1.2: ask for a renegotiation after sending */
    /* results */
    bool handshake_ok;
    bool reneg_ok;
    char alpn_got[32];
    char version[16];
    char peer_cn[128];
    char *got;
    size_t ngot;
    pthread_t th;
} client_t;

static void *client_main(void *arg)
{
    client_t *c = arg;
    struct timeval tv = {10, 0}; /* a broken server must not hang the test */
    setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx), root);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    if (c->max_version) {
        /* Old protocols are refused by the default security level before
         * they reach the server; lower it so the server is what refuses. */
        SSL_CTX_set_security_level(ctx, 0);
        SSL_CTX_set_cipher_list(ctx, "DEFAULT:@SECLEVEL=0");
        SSL_CTX_set_min_proto_version(ctx, 0);
        SSL_CTX_set_max_proto_version(ctx, c->max_version);
    }
    SSL *ssl = SSL_new(ctx);
    SSL_set1_host(ssl, "localhost");
    SSL_set_tlsext_host_name(ssl, "localhost");
    if (c->alpn)
        SSL_set_alpn_protos(ssl, (const unsigned char *)c->alpn, (unsigned)strlen(c->alpn));
    SSL_set_fd(ssl, c->fd);
    if (SSL_connect(ssl) == 1) {
        c->handshake_ok = true;
        const unsigned char *a;
        unsigned al;
        SSL_get0_alpn_selected(ssl, &a, &al);
        snprintf(c->alpn_got, sizeof c->alpn_got, "%.*s", (int)al, (const char *)a);
        snprintf(c->version, sizeof c->version, "%s", SSL_get_version(ssl));
        X509 *pc = SSL_get1_peer_certificate(ssl);
        if (pc) {
            X509_NAME_get_text_by_NID(X509_get_subject_name(pc), NID_commonName, c->peer_cn,
                                      sizeof c->peer_cn);
            X509_free(pc);
        }
        if (c->send)
            SSL_write(ssl, c->send, (int)strlen(c->send));
        if (c->renegotiate)
            c->reneg_ok = SSL_renegotiate(ssl) == 1 && SSL_do_handshake(ssl) == 1;
        c->got = malloc(c->expect + 1);
        while (c->ngot < c->expect) {
            int k = SSL_read(ssl, c->got + c->ngot, (int)(c->expect - c->ngot));
            if (k <= 0)
                break;
            c->ngot += (size_t)k;
        }
        SSL_shutdown(ssl);
    }
    SSL_free(ssl);
    SSL_CTX_free(ctx);
    shutdown(c->fd, SHUT_RDWR);
    return NULL;
}

/* A connected pair: the server's end is non-blocking (as in the server),
 * the client's end is driven by a thread. */
static int start_client(client_t *c)
{
    int sv[2];
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    CHECK(fcntl(sv[0], F_SETFL, O_NONBLOCK) == 0);
    c->fd = sv[1];
    CHECK(pthread_create(&c->th, NULL, client_main, c) == 0);
    return sv[0];
}

static void end_client(client_t *c, int sfd)
{
    pthread_join(c->th, NULL);
    close(c->fd);
    close(sfd);
    free(c->got);
    c->got = NULL;
}

static int wait_for(int fd, short want)
{
    struct pollfd p = {.fd = fd, .events = want};
    return poll(&p, 1, 10000) == 1 ? 0 : -1;
}

/* Drive the handshake the way the event loop does: call, wait as told,
 * call again. 0, or the errno it failed with. */
static int handshake(hf_tls_conn_t *c, int fd)
{
    for (;;) {
        short want = 0;
        if (hf_tls_handshake(c, &want) == 0)
            return 0;
        if (errno != EAGAIN)
            return errno;
        if (wait_for(fd, want) != 0)
            return ETIMEDOUT;
    }
}

static ssize_t read_some(hf_tls_conn_t *c, int fd, void *buf, size_t n)
{
    for (;;) {
        short want = 0;
        ssize_t k = hf_tls_read(c, buf, n, &want);
        if (k >= 0 || errno != EAGAIN)
            return k;
        if (wait_for(fd, want) != 0)
            return -1;
    }
}

static int write_all(hf_tls_conn_t *c, int fd, struct iovec *iov, int cnt)
{
    while (cnt > 0) {
        short want = 0;
        ssize_t k = hf_tls_writev(c, iov, cnt, &want);
        if (k < 0) {
            if (errno != EAGAIN)
                return -errno;
            if (wait_for(fd, want) != 0)
                return -ETIMEDOUT;
            continue;
        }
        size_t left = (size_t)k;
        while (cnt > 0 && left >= iov->iov_len) {
            left -= iov->iov_len;
            iov++;
            cnt--;
        }
        if (cnt > 0) {
            iov->iov_base = (char *)iov->iov_base + left;
            iov->iov_len -= left;
        }
    }
    return 0;
}

/* A client thread against a new server-side connection from t, with the
 * handshake driven to its end: returns 0 or the errno it failed with. */
static int pair(hf_tls_t *t, client_t *cl, int *fd, hf_tls_conn_t **c)
{
    *fd = start_client(cl);
    *c = NULL;
    CHECK_EQ_INT(hf_tls_conn_create(t, *fd, -1, c), HF_OK);
    return handshake(*c, *fd);
}

/* Free the server side (close_notify if healthy) and wait for the client. */
static void unpair(client_t *cl, int fd, hf_tls_conn_t *c)
{
    hf_tls_conn_destroy(c);
    end_client(cl, fd);
}

static hf_tls_t *load(const char *cert, const char *key)
{
    char why[1024];
    hf_tls_t *t = NULL;
    int rc = hf_tls_create(path(cert), path(key), &t, why, sizeof why);
    if (rc)
        hf_test_fail(__FILE__, __LINE__, "hf_tls_create: %d %s", rc, why);
    return t;
}

/* hf_tls_create must fail with rc and a message containing each of the
 * needles. */
static void check_refused(const char *cert, const char *key, int rc_want, const char *n1,
                          const char *n2, int line)
{
    char why[1024];
    hf_tls_t *t = (hf_tls_t *)1;
    int rc = hf_tls_create(path(cert), path(key), &t, why, sizeof why);
    if (rc == HF_OK) {
        hf_tls_destroy(t);
        hf_test_fail(__FILE__, line, "loaded %s + %s", cert, key);
    }
    if (t != NULL)
        hf_test_fail(__FILE__, line, "*out not NULL after a failure");
    if (rc_want && rc != rc_want)
        hf_test_fail(__FILE__, line, "rc %d, expected %d (%s)", rc, rc_want, why);
    if ((n1 && !strstr(why, n1)) || (n2 && !strstr(why, n2)))
        hf_test_fail(__FILE__, line, "message \"%s\" lacks \"%s\" / \"%s\"", why, n1, n2 ? n2 : "");
}
#define REFUSED(cert, key, rc, n1, n2) check_refused(cert, key, rc, n1, n2, __LINE__)

/* ---- loading ------------------------------------------------------------------------ */

TEST(load_chain_and_info)
{
    make_pki();
    hf_tls_t *t = load("chain.pem", "leaf.key");
    hf_tls_info_t in;
    hf_tls_get_info(t, &in);
    CHECK_EQ_STR(in.subject, "CN=localhost");
    CHECK_EQ_STR(in.issuer, "CN=holdfast test intermediate");
    CHECK_EQ_INT(in.chain, 1);
    int64_t now = (int64_t)time(NULL);
    CHECK(in.not_before < now && in.not_before > now - 2 * 86400);
    CHECK(in.not_after > now + 9 * 86400 && in.not_after < now + 11 * 86400);
    CHECK_EQ_INT(in.reloads, 0);
    hf_tls_destroy(t);
}

TEST(load_key_and_cert_in_one_file)
{
    make_pki();
    write_pem("both.pem", (X509 *[]){leaf, inter, NULL}, leaf_key);
    hf_tls_t *t = load("both.pem", "both.pem");
    hf_tls_info_t in;
    hf_tls_get_info(t, &in);
    CHECK_EQ_INT(in.chain, 1);
    hf_tls_destroy(t);
}

TEST(refuses_bad_files)
{
    make_pki();
    REFUSED("missing.pem", "leaf.key", -ENOENT, "missing.pem", "No such file");
    REFUSED("chain.pem", "missing.key", -ENOENT, "missing.key", "No such file");
    write_text("garbage.pem", "this is not a certificate\n");
    REFUSED("garbage.pem", "leaf.key", HF_E_INVAL, "garbage.pem", "no PEM certificate");
    REFUSED("chain.pem", "garbage.pem", HF_E_INVAL, "garbage.pem", "no PEM private key");
    REFUSED("leaf.key", "leaf.key", HF_E_INVAL, "leaf.key", "no PEM certificate");
    REFUSED("chain.pem", "other.key", HF_E_INVAL, "other.key", "does not match the certificate in");
    /* A directory where a file should be. */
    REFUSED(".", "leaf.key", 0, "certificate file", NULL);
    /* A broken second certificate is an error, not a shorter chain. */
    char *pem = NULL;
    size_t n = 0;
    FILE *m = open_memstream(&pem, &n);
    PEM_write_X509(m, leaf);
    fclose(m);
    FILE *f = fopen(path("badchain.pem"), "w");
    fputs(pem, f);
    fputs("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", f);
    fclose(f);
    free(pem);
    REFUSED("badchain.pem", "leaf.key", HF_E_INVAL, "certificate 2 in", "badchain.pem");
}

TEST(refuses_encrypted_key)
{
    make_pki();
    FILE *f = fopen(path("enc.key"), "w");
    CHECK(f != NULL);
    CHECK(PEM_write_PKCS8PrivateKey(f, leaf_key, EVP_aes_256_cbc(), NULL, 0, NULL,
                                    (void *)"passphrase") == 1);
    fclose(f);
    REFUSED("chain.pem", "enc.key", HF_E_INVAL, "enc.key", "encrypted");
}

TEST(refuses_oversized_file)
{
    make_pki();
    FILE *f = fopen(path("big.pem"), "w");
    CHECK(f != NULL);
    for (int i = 0; i <= HF_TLS_PEM_MAX; i++)
        fputc(i % 64 == 63 ? '\n' : '#', f);
    fclose(f);
    REFUSED("big.pem", "leaf.key", HF_E_TOOBIG, "big.pem", "larger than");
    /* Exactly at the limit is read (and then judged on its contents). */
    CHECK(truncate(path("big.pem"), HF_TLS_PEM_MAX) == 0);
    REFUSED("big.pem", "leaf.key", HF_E_INVAL, "big.pem", "no PEM certificate");
}

TEST(load_faults_through_the_seam)
{
    make_pki();
    char err[128];
    CHECK_EQ_INT(hf_fault_set("read:error=EIO/path=chain.pem", err, sizeof err), HF_OK);
    REFUSED("chain.pem", "leaf.key", -EIO, "chain.pem", "Input/output error");
    hf_fault_clear();
    hf_tls_destroy(load("chain.pem", "leaf.key"));
}

/* ---- connections ------------------------------------------------------------------------- */

TEST(handshake_alpn_and_io)
{
    make_pki();
    hf_tls_t *t = load("chain.pem", "leaf.key");
    client_t cl = {.alpn = "\x02h2\x08http/1.1", .send = "GET / HTTP/1.1\r\n\r\n",
                   .expect = 300000};
    int fd = start_client(&cl);
    /* As the server does: read one byte to see what the client speaks,
     * then hand it to TLS. */
    unsigned char b;
    CHECK_EQ_INT(wait_for(fd, POLLIN), 0);
    CHECK_EQ_INT(read(fd, &b, 1), 1);
    CHECK_EQ_INT(b, HF_TLS_RECORD_HANDSHAKE);
    hf_tls_conn_t *c = NULL;
    CHECK_EQ_INT(hf_tls_conn_create(t, fd, b, &c), HF_OK);
    CHECK_EQ_INT(handshake(c, fd), 0);
    CHECK_EQ_STR(hf_tls_conn_version(c), "TLSv1.3");
    char req[64];
    ssize_t k = read_some(c, fd, req, sizeof req);
    CHECK_EQ_INT(k, 18);
    CHECK(memcmp(req, "GET / HTTP/1.1\r\n\r\n", 18) == 0);
    /* A small head, a body larger than a record, a tail: the client must
     * read exactly these bytes in order. */
    static char body[300000 - 40];
    for (size_t i = 0; i < sizeof body; i++)
        body[i] = (char)('a' + i % 26);
    char head[30] = "HTTP/1.1 200 OK\r\n0123456789\r\n";
    struct iovec iov[3] = {{head, 29}, {body, sizeof body}, {(void *)"0123456789a", 11}};
    CHECK_EQ_INT(write_all(c, fd, iov, 3), 0);
    hf_tls_conn_destroy(c); /* close_notify */
    pthread_join(cl.th, NULL);
    CHECK(cl.handshake_ok);
    CHECK_EQ_STR(cl.alpn_got, "http/1.1");
    CHECK_EQ_STR(cl.peer_cn, "localhost"); /* verified through the intermediate */
    CHECK_EQ_INT(cl.ngot, 300000);
    CHECK(memcmp(cl.got, head, 29) == 0);
    CHECK(memcmp(cl.got + 29, body, sizeof body) == 0);
    CHECK(memcmp(cl.got + 29 + sizeof body, "0123456789a", 11) == 0);
    free(cl.got);
    close(cl.fd);
    close(fd);
    hf_tls_destroy(t);
}

TEST(without_intermediate_the_client_refuses)
{
    make_pki();
    hf_tls_t *t = load("leaf.pem", "leaf.key");
    client_t cl = {0};
    int fd;
    hf_tls_conn_t *c;
    int e = pair(t, &cl, &fd, &c);
    CHECK(e == EPROTO || e == ECONNRESET);
    if (e == EPROTO)
        CHECK(strstr(hf_tls_conn_why(c), "unknown ca") != NULL);
    unpair(&cl, fd, c);
    CHECK(!cl.handshake_ok);
    hf_tls_destroy(t);
}

TEST(alpn_without_http11_is_refused)
{
    make_pki();
    hf_tls_t *t = load("chain.pem", "leaf.key");
    client_t cl = {.alpn = "\x02h2"};
    int fd;
    hf_tls_conn_t *c;
    CHECK_EQ_INT(pair(t, &cl, &fd, &c), EPROTO);
    unpair(&cl, fd, c);
    CHECK(!cl.handshake_ok);
    hf_tls_destroy(t);
}

TEST(no_alpn_is_fine)
{
    make_pki();
    hf_tls_t *t = load("chain.pem", "leaf.key");
    client_t cl = {0};
    int fd;
    hf_tls_conn_t *c;
    CHECK_EQ_INT(pair(t, &cl, &fd, &c), 0);
    unpair(&cl, fd, c);
    CHECK(cl.handshake_ok);
    CHECK_EQ_STR(cl.alpn_got, "");
    hf_tls_destroy(t);
}

TEST(tls11_is_refused_tls12_served)
{
    make_pki();
    hf_tls_t *t = load("chain.pem", "leaf.key");
    client_t old = {.max_version = TLS1_1_VERSION};
    int fd;
    hf_tls_conn_t *c;
    CHECK_EQ_INT(pair(t, &old, &fd, &c), EPROTO);
    CHECK(strstr(hf_tls_conn_why(c), "protocol") != NULL);
    unpair(&old, fd, c);
    CHECK(!old.handshake_ok);

    client_t v12 = {.max_version = TLS1_2_VERSION};
    CHECK_EQ_INT(pair(t, &v12, &fd, &c), 0);
    CHECK_EQ_STR(hf_tls_conn_version(c), "TLSv1.2");
    unpair(&v12, fd, c);
    CHECK(v12.handshake_ok);
    hf_tls_destroy(t);
}

TEST(renegotiation_is_refused)
{
    make_pki();
    hf_tls_t *t = load("chain.pem", "leaf.key");
    client_t cl = {.max_version = TLS1_2_VERSION, .send = "x", .renegotiate = true};
    int fd;
    hf_tls_conn_t *c;
    CHECK_EQ_INT(pair(t, &cl, &fd, &c), 0);
    char b[8];
    CHECK_EQ_INT(read_some(c, fd, b, 1), 1);
    /* The client's new ClientHello arrives while the server reads, which
     * is where a renegotiation would run; it gets a no_renegotiation
     * alert instead, and the client gives up and closes. */
    CHECK(read_some(c, fd, b, sizeof b) <= 0);
    unpair(&cl, fd, c);
    CHECK(cl.handshake_ok);
    CHECK(!cl.reneg_ok);
    hf_tls_destroy(t);
}

TEST(pending_bytes_are_reported)
{
    make_pki();
    hf_tls_t *t = load("chain.pem", "leaf.key");
    client_t cl = {.send = "0123456789abcdefghij"};
    int fd;
    hf_tls_conn_t *c;
    CHECK_EQ_INT(pair(t, &cl, &fd, &c), 0);
    char b[32];
    CHECK_EQ_INT(read_some(c, fd, b, 5), 5);
    /* 15 decrypted bytes are inside OpenSSL, none left in the socket. */
    CHECK(hf_tls_pending(c));
    CHECK_EQ_INT(read_some(c, fd, b, sizeof b), 15);
    CHECK(memcmp(b, "56789abcdefghij", 15) == 0);
    CHECK(!hf_tls_pending(c));
    unpair(&cl, fd, c);
    hf_tls_destroy(t);
}

TEST(reload_keeps_open_connections)
{
    make_pki();
    hf_tls_t *t = load("chain.pem", "leaf.key");
    client_t a = {.send = "one", .expect = 3};
    int fa;
    hf_tls_conn_t *ca;
    CHECK_EQ_INT(pair(t, &a, &fa, &ca), 0);

    /* A new leaf under the same files' names: the next connection gets it. */
    EVP_PKEY *k2 = new_key();
    X509 *leaf2 = new_cert(k2, "localhost", inter, inter_key, false, -1, 20);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(leaf2), "O", MBSTRING_ASC,
                               (const unsigned char *)"second", -1, -1, 0);
    CHECK(X509_sign(leaf2, inter_key, EVP_sha256()) > 0);
    write_pem("chain.pem", (X509 *[]){leaf2, inter, NULL}, NULL);
    write_pem("leaf.key", NULL, k2);
    char why[1024];
    CHECK_EQ_INT(hf_tls_reload(t, why, sizeof why), HF_OK);
    hf_tls_info_t in;
    hf_tls_get_info(t, &in);
    CHECK_EQ_STR(in.subject, "O=second,CN=localhost");
    CHECK_EQ_INT(in.reloads, 1);

    /* The old connection still works on the old certificate. */
    char b[8];
    CHECK_EQ_INT(read_some(ca, fa, b, 3), 3);
    struct iovec iov = {(void *)"abc", 3};
    CHECK_EQ_INT(write_all(ca, fa, &iov, 1), 0);
    hf_tls_conn_destroy(ca);
    pthread_join(a.th, NULL);
    CHECK_EQ_INT(a.ngot, 3);
    free(a.got);
    close(a.fd);
    close(fa);

    client_t bcl = {0};
    int fb;
    hf_tls_conn_t *cb;
    CHECK_EQ_INT(pair(t, &bcl, &fb, &cb), 0);
    unpair(&bcl, fb, cb);
    CHECK(bcl.handshake_ok);

    /* A broken file: the reload fails and the current pair stays. */
    write_text("leaf.key", "broken\n");
    CHECK(hf_tls_reload(t, why, sizeof why) != HF_OK);
    CHECK(strstr(why, "leaf.key") != NULL);
    hf_tls_get_info(t, &in);
    CHECK_EQ_STR(in.subject, "O=second,CN=localhost");
    CHECK_EQ_INT(in.reloads, 1);
    CHECK_EQ_INT(in.reload_failures, 1);
    client_t ccl = {0};
    int fc;
    hf_tls_conn_t *cc;
    CHECK_EQ_INT(pair(t, &ccl, &fc, &cc), 0);
    unpair(&ccl, fc, cc);
    CHECK(ccl.handshake_ok);
    hf_tls_destroy(t);

    /* Put the original files back for the other tests. */
    write_pem("chain.pem", (X509 *[]){leaf, inter, NULL}, NULL);
    write_pem("leaf.key", NULL, leaf_key);
    X509_free(leaf2);
    EVP_PKEY_free(k2);
}

TEST(socket_faults_reach_the_caller)
{
    make_pki();
    hf_tls_t *t = load("chain.pem", "leaf.key");
    client_t cl = {.send = "hello", .expect = 1};
    int fd;
    hf_tls_conn_t *c;
    CHECK_EQ_INT(pair(t, &cl, &fd, &c), 0);
    CHECK_EQ_INT(wait_for(fd, POLLIN), 0);
    char err[128];
    CHECK_EQ_INT(hf_fault_set("read:error=EIO/path=socket", err, sizeof err), HF_OK);
    char b[8];
    short want = 0;
    errno = 0;
    CHECK_EQ_INT(hf_tls_read(c, b, sizeof b, &want), -1);
    CHECK_EQ_INT(errno, EIO);
    CHECK(strstr(hf_tls_conn_why(c), "Input/output") != NULL);
    CHECK_EQ_INT(hf_fault_set("write:error=ENOSPC/path=socket", err, sizeof err), HF_OK);
    struct iovec iov = {(void *)"x", 1};
    errno = 0;
    CHECK_EQ_INT(hf_tls_writev(c, &iov, 1, &want), -1);
    CHECK_EQ_INT(errno, ENOSPC);
    hf_fault_clear();
    hf_tls_conn_destroy(c); /* broken: no close_notify is attempted */
    end_client(&cl, fd);
    CHECK_EQ_INT(cl.ngot, 0);
    hf_tls_destroy(t);
}

TEST(peer_closing_reads_as_end)
{
    make_pki();
    hf_tls_t *t = load("chain.pem", "leaf.key");
    client_t cl = {.send = "bye"};
    int fd;
    hf_tls_conn_t *c;
    CHECK_EQ_INT(pair(t, &cl, &fd, &c), 0);
    char b[8];
    CHECK_EQ_INT(read_some(c, fd, b, sizeof b), 3);
    CHECK_EQ_INT(read_some(c, fd, b, sizeof b), 0); /* close_notify */
    unpair(&cl, fd, c);
    hf_tls_destroy(t);
}

static void cleanup(void)
{
    if (!tmp)
        return;
    hf_test_rmtree(tmp);
    free(tmp);
    X509_free(root);
    X509_free(inter);
    X509_free(leaf);
    EVP_PKEY_free(root_key);
    EVP_PKEY_free(inter_key);
    EVP_PKEY_free(leaf_key);
}

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN);
    int rc = hf_test_main("unit/net/tls", argc, argv);
    cleanup();
    return rc;
}
