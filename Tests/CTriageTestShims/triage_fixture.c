#include "triage_fixture.h"
#include "triage_shims.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <openssl/ocsp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

typedef struct {
    int sni_mode;
    X509 *default_cert; STACK_OF(X509) *default_chain; EVP_PKEY *default_key;
    char *only_name;
} fixture_conf;

static void free_conf(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl, void *argp) {
    (void)parent; (void)ad; (void)idx; (void)argl; (void)argp;
    fixture_conf *c = ptr;
    if (!c) return;
    X509_free(c->default_cert); sk_X509_pop_free(c->default_chain, X509_free); EVP_PKEY_free(c->default_key);
    free(c->only_name); free(c);
}

static int conf_index = -1;
static pthread_once_t conf_once = PTHREAD_ONCE_INIT;
static void make_conf_index(void) { conf_index = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, free_conf); }

static int client_hello(SSL *ssl, int *alert, void *arg) {
    fixture_conf *conf = arg;
    const unsigned char *ext;
    size_t len;
    if (SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_server_name, &ext, &len)) {
        /* server_name list: 2-byte length, type 0, 2-byte name length, name */
        if (conf->sni_mode == TRIAGE_SNI_ONLY_NAME && conf->only_name && len > 5) {
            size_t n = ((size_t)ext[3] << 8) | ext[4];
            if (n + 5 > len || n != strlen(conf->only_name) || memcmp(ext + 5, conf->only_name, n) != 0) {
                *alert = SSL_AD_UNRECOGNIZED_NAME;
                return SSL_CLIENT_HELLO_ERROR;
            }
        }
        return SSL_CLIENT_HELLO_SUCCESS;
    }
    if (conf->sni_mode == TRIAGE_SNI_ABORT) {
        *alert = SSL_AD_INTERNAL_ERROR;
        return SSL_CLIENT_HELLO_ERROR;
    }
    if (conf->sni_mode == TRIAGE_SNI_DEFAULT_CERT && conf->default_cert) {
        SSL_use_certificate(ssl, conf->default_cert);
        SSL_use_PrivateKey(ssl, conf->default_key);
        SSL_set1_chain(ssl, conf->default_chain);
    }
    return SSL_CLIENT_HELLO_SUCCESS;
}

SSL_CTX *triage_fixture_server_ctx(const char *chain_pem, const char *key_pem, int min_version, int max_version,
                                   int security_level, const char *client_ca_pem, int sni_mode,
                                   const char *default_chain_pem, const char *default_key_pem, const char *only_name) {
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (!ctx) return NULL;
    /* The level first: a weak key is refused when it is loaded. */
    SSL_CTX_set_security_level(ctx, security_level);
    if (security_level == 0) SSL_CTX_set_cipher_list(ctx, "DEFAULT:@SECLEVEL=0");
    if (!triage_server_use_identity(ctx, chain_pem, key_pem)) { SSL_CTX_free(ctx); return NULL; }
    if (min_version) SSL_CTX_set_min_proto_version(ctx, min_version);
    if (max_version) SSL_CTX_set_max_proto_version(ctx, max_version);
    if (client_ca_pem) {
        X509 *ca = NULL; STACK_OF(X509) *more = NULL;
        if (triage_pem_chain(client_ca_pem, &ca, &more)) {
            X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx), ca);
            STACK_OF(X509_NAME) *names = sk_X509_NAME_new_null();
            sk_X509_NAME_push(names, X509_NAME_dup(X509_get_subject_name(ca)));
            SSL_CTX_set_client_CA_list(ctx, names);
        }
        X509_free(ca); sk_X509_pop_free(more, X509_free);
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
    }
    if (sni_mode != TRIAGE_SNI_ANY) {
        pthread_once(&conf_once, make_conf_index);
        fixture_conf *conf = calloc(1, sizeof *conf);
        if (!conf) { SSL_CTX_free(ctx); return NULL; }
        conf->sni_mode = sni_mode;
        if (only_name) conf->only_name = strdup(only_name);
        if (default_chain_pem && default_key_pem) {
            triage_pem_chain(default_chain_pem, &conf->default_cert, &conf->default_chain);
            conf->default_key = triage_pem_key(default_key_pem);
        }
        SSL_CTX_set_ex_data(ctx, conf_index, conf);
        SSL_CTX_set_client_hello_cb(ctx, client_hello, conf);
    }
    return ctx;
}

SSL *triage_fixture_accept(SSL_CTX *ctx, int fd, int timeout_ms) {
    struct timeval tv = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    SSL *ssl = SSL_new(ctx);
    SSL_set_fd(ssl, fd);
    if (SSL_accept(ssl) != 1) { SSL_free(ssl); ERR_clear_error(); return NULL; }
    return ssl;
}

int triage_fixture_read(SSL *ssl, void *buffer, int length) { int n = SSL_read(ssl, buffer, length); ERR_clear_error(); return n; }
int triage_fixture_write(SSL *ssl, const void *buffer, int length) { int n = SSL_write(ssl, buffer, length); ERR_clear_error(); return n; }
void triage_fixture_close(SSL *ssl) { SSL_shutdown(ssl); SSL_free(ssl); ERR_clear_error(); }

static void replace_ext(X509 *cert, X509 *issuer, int nid, const char *value) {
    int at;
    while ((at = X509_get_ext_by_NID(cert, nid, -1)) >= 0) X509_EXTENSION_free(X509_delete_ext(cert, at));
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    if (ext) { X509_add_ext(cert, ext, -1); X509_EXTENSION_free(ext); }
}

/// The certificate as a PEM string the caller frees; NULL when out of memory.
static char *pem_string(X509 *cert) {
    BIO *bio = BIO_new(BIO_s_mem());
    if (!bio) return NULL;
    PEM_write_bio_X509(bio, cert);
    char *data = NULL, *out = NULL;
    long n = BIO_get_mem_data(bio, &data);
    out = malloc((size_t)n + 1);
    if (out) { memcpy(out, data, (size_t)n); out[n] = 0; }
    BIO_free(bio);
    return out;
}

/* The key as a PEM PKCS#8 file encrypted with `passphrase` (AES-256-CBC); NULL on failure. */
char *triage_fixture_encrypted_key(const char *key_pem, const char *passphrase) {
    EVP_PKEY *key = triage_pem_key(key_pem);
    BIO *bio = key ? BIO_new(BIO_s_mem()) : NULL;
    char *data = NULL, *out = NULL;
    if (bio && PEM_write_bio_PKCS8PrivateKey(bio, key, EVP_aes_256_cbc(), NULL, 0, NULL, (void *)passphrase)) {
        long n = BIO_get_mem_data(bio, &data);
        out = malloc((size_t)n + 1);
        if (out) { memcpy(out, data, (size_t)n); out[n] = 0; }
    }
    BIO_free(bio);
    EVP_PKEY_free(key);
    return out;
}

char *triage_fixture_cross_sign(const char *cert_pem, const char *issuer_pem, const char *issuer_key_pem) {
    X509 *cert = NULL, *issuer = NULL; STACK_OF(X509) *rest = NULL, *more = NULL;
    EVP_PKEY *key = triage_pem_key(issuer_key_pem);
    char *out = NULL;
    if (key && triage_pem_chain(cert_pem, &cert, &rest) && triage_pem_chain(issuer_pem, &issuer, &more)) {
        X509_set_issuer_name(cert, X509_get_subject_name(issuer));
        replace_ext(cert, issuer, NID_authority_key_identifier, "keyid:always");
        if (X509_sign(cert, key, EVP_sha256())) out = pem_string(cert);
    }
    X509_free(cert); X509_free(issuer); sk_X509_pop_free(rest, X509_free); sk_X509_pop_free(more, X509_free); EVP_PKEY_free(key);
    ERR_clear_error();
    return out;
}

unsigned char *triage_fixture_ocsp_response(const char *leaf_pem, const char *issuer_pem, const char *issuer_key_pem, int status,
                                            int64_t this_update, int64_t next_update, int64_t revoked_at, long *length) {
    *length = 0;
    X509 *leaf = NULL, *issuer = NULL; STACK_OF(X509) *a = NULL, *b = NULL;
    EVP_PKEY *key = triage_pem_key(issuer_key_pem);
    unsigned char *out = NULL;
    if (key && triage_pem_chain(leaf_pem, &leaf, &a) && triage_pem_chain(issuer_pem, &issuer, &b)) {
        OCSP_CERTID *id = OCSP_cert_to_id(NULL, leaf, issuer);
        OCSP_BASICRESP *bs = OCSP_BASICRESP_new();
        ASN1_GENERALIZEDTIME *thisupd = ASN1_GENERALIZEDTIME_set(NULL, (time_t)this_update);
        ASN1_GENERALIZEDTIME *nextupd = ASN1_GENERALIZEDTIME_set(NULL, (time_t)next_update);
        ASN1_GENERALIZEDTIME *rev = status == 1 ? ASN1_GENERALIZEDTIME_set(NULL, (time_t)revoked_at) : NULL;
        if (id && bs && OCSP_basic_add1_status(bs, id, status, status == 1 ? OCSP_REVOKED_STATUS_KEYCOMPROMISE : -1, rev, thisupd, nextupd)
            && OCSP_basic_sign(bs, issuer, key, EVP_sha256(), NULL, 0)) {
            OCSP_RESPONSE *resp = OCSP_response_create(OCSP_RESPONSE_STATUS_SUCCESSFUL, bs);
            unsigned char *der = NULL;
            int n = resp ? i2d_OCSP_RESPONSE(resp, &der) : 0;
            if (n > 0) { out = malloc((size_t)n); if (out) { memcpy(out, der, (size_t)n); *length = n; } }
            OPENSSL_free(der);
            OCSP_RESPONSE_free(resp);
        }
        OCSP_CERTID_free(id); OCSP_BASICRESP_free(bs);
        ASN1_GENERALIZEDTIME_free(thisupd); ASN1_GENERALIZEDTIME_free(nextupd); ASN1_GENERALIZEDTIME_free(rev);
    }
    X509_free(leaf); X509_free(issuer); sk_X509_pop_free(a, X509_free); sk_X509_pop_free(b, X509_free); EVP_PKEY_free(key);
    ERR_clear_error();
    return out;
}

typedef struct { unsigned char *der; long length; } staple_bytes;

static void free_staple(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl, void *argp) {
    (void)parent; (void)ad; (void)idx; (void)argl; (void)argp;
    staple_bytes *s = ptr;
    if (s) { free(s->der); free(s); }
}

static int staple_index = -1;
static pthread_once_t staple_once = PTHREAD_ONCE_INIT;
static void make_staple_index(void) { staple_index = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, free_staple); }

static int staple_cb(SSL *ssl, void *arg) {
    staple_bytes *s = arg;
    unsigned char *copy = OPENSSL_malloc((size_t)s->length);
    if (!copy) return SSL_TLSEXT_ERR_NOACK;
    memcpy(copy, s->der, (size_t)s->length);
    SSL_set_tlsext_status_ocsp_resp(ssl, copy, s->length);
    return SSL_TLSEXT_ERR_OK;
}

int triage_fixture_staple(SSL_CTX *ctx, const unsigned char *der, long length) {
    pthread_once(&staple_once, make_staple_index);
    staple_bytes *s = calloc(1, sizeof *s);
    if (!s) return 0;
    s->der = malloc((size_t)length);
    if (!s->der) { free(s); return 0; }
    memcpy(s->der, der, (size_t)length);
    s->length = length;
    SSL_CTX_set_ex_data(ctx, staple_index, s);
    SSL_CTX_set_tlsext_status_cb(ctx, staple_cb);
    SSL_CTX_set_tlsext_status_arg(ctx, s);
    return 1;
}

char *triage_fixture_extend(const char *cert_pem, const char *issuer_pem, const char *signer_key_pem,
                            const char *ca_issuers, const char *ocsp, const char *eku, int must_staple, const char *crl) {
    X509 *cert = NULL, *issuer = NULL; STACK_OF(X509) *rest = NULL, *more = NULL;
    EVP_PKEY *key = triage_pem_key(signer_key_pem);
    char *out = NULL;
    if (key && triage_pem_chain(cert_pem, &cert, &rest) && (!issuer_pem || triage_pem_chain(issuer_pem, &issuer, &more))) {
        X509 *signer = issuer ? issuer : cert;
        if (eku) replace_ext(cert, signer, NID_ext_key_usage, eku);
        if (must_staple) replace_ext(cert, signer, NID_tlsfeature, "status_request");
        if (crl) {
            char value[1100];
            snprintf(value, sizeof value, "URI:%s", crl);
            replace_ext(cert, signer, NID_crl_distribution_points, value);
        }
        if (ca_issuers || ocsp) {
            char value[1100];
            snprintf(value, sizeof value, "%s%s%s%s%s", ca_issuers ? "caIssuers;URI:" : "", ca_issuers ? ca_issuers : "",
                     ca_issuers && ocsp ? "," : "", ocsp ? "OCSP;URI:" : "", ocsp ? ocsp : "");
            replace_ext(cert, signer, NID_info_access, value);
        }
        if (X509_sign(cert, key, EVP_sha256())) out = pem_string(cert);
    }
    X509_free(cert); X509_free(issuer); sk_X509_pop_free(rest, X509_free); sk_X509_pop_free(more, X509_free); EVP_PKEY_free(key);
    ERR_clear_error();
    return out;
}

/* ALPN as an HTTP/2-only upstream answers it: h2 when offered; otherwise
 * fatal alert 120 when `strict`, else no protocol (the handshake goes on). */
static int alpn_strict_cb(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                          const unsigned char *in, unsigned int inlen, void *arg) {
    (void)ssl;
    static const unsigned char h2[] = {2, 'h', '2'};
    unsigned char *selected = NULL;
    if (SSL_select_next_proto(&selected, outlen, h2, sizeof h2, in, inlen) == OPENSSL_NPN_NEGOTIATED) {
        *out = selected;
        return SSL_TLSEXT_ERR_OK;
    }
    return arg ? SSL_TLSEXT_ERR_ALERT_FATAL : SSL_TLSEXT_ERR_NOACK;
}

void triage_fixture_h2_only(SSL_CTX *ctx, int strict) {
    SSL_CTX_set_alpn_select_cb(ctx, alpn_strict_cb, strict ? (void *)1 : NULL);
}

int triage_fixture_groups(SSL_CTX *ctx, const char *groups) { return SSL_CTX_set1_groups_list(ctx, groups); }
