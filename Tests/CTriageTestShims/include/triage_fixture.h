#ifndef TRIAGE_FIXTURE_H
#define TRIAGE_FIXTURE_H

/* Test-only C: the fixture servers' behaviours and certificate extensions
 * that only tests mint. Never linked into triage. */

#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <stdint.h>

enum triage_sni_mode {
    TRIAGE_SNI_ANY = 0,          /* serve the certificate whatever the SNI */
    TRIAGE_SNI_ABORT = 1,        /* no SNI: fatal alert 80 internal_error */
    TRIAGE_SNI_DEFAULT_CERT = 2, /* no SNI: serve the default certificate */
    TRIAGE_SNI_ONLY_NAME = 3,    /* a name other than `only_name`: fatal alert 112 */
};

/* A fixture server context: the product's server context (leaf first, then
 * intermediates) with versions, security level, a required client
 * certificate and an SNI behaviour. NULL with the error queue set. */
SSL_CTX *triage_fixture_server_ctx(const char *chain_pem, const char *key_pem, int min_version, int max_version,
                                   int security_level, const char *client_ca_pem, int sni_mode,
                                   const char *default_chain_pem, const char *default_key_pem, const char *only_name);
/* The handshake alone, for servers that answer in their own way: the
 * connection (free with triage_fixture_close), or NULL when it failed. */
SSL *triage_fixture_accept(SSL_CTX *ctx, int fd, int timeout_ms);
int triage_fixture_read(SSL *ssl, void *buffer, int length);
int triage_fixture_write(SSL *ssl, const void *buffer, int length);
void triage_fixture_close(SSL *ssl);

/* `cert_pem` with an authorityInfoAccess caIssuers URL and/or its
 * extendedKeyUsage replaced (either may be NULL), a TLS Feature status_request
 * (must-staple) when `must_staple`, signed again with
 * `signer_key_pem` by `issuer_pem` (NULL: self-signed). PEM text, malloc'd
 * (free with free()); NULL on failure. */
char *triage_fixture_extend(const char *cert_pem, const char *issuer_pem, const char *signer_key_pem,
                            const char *ca_issuers, const char *ocsp, const char *eku, int must_staple, const char *crl);

/* `cert_pem` issued again by another CA (a cross-sign): the same subject, key and extensions,
 * `issuer_pem`'s subject as its issuer, signed with `issuer_key_pem`. PEM (malloc'd, free()). */
char *triage_fixture_cross_sign(const char *cert_pem, const char *issuer_pem, const char *issuer_key_pem);

/* An OCSP response for `leaf` signed by its issuer: status 0 good, 1 revoked, 2 unknown, with these
 * times (seconds since the epoch; revoked_at for status 1). DER (malloc'd, free()), *length set. */
unsigned char *triage_fixture_ocsp_response(const char *leaf_pem, const char *issuer_pem, const char *issuer_key_pem, int status,
                                            int64_t this_update, int64_t next_update, int64_t revoked_at, long *length);
/* The server staples this response to every handshake that asks (status_request). */
int triage_fixture_staple(SSL_CTX *ctx, const unsigned char *der, long length);
/* ALPN as an HTTP/2-only server answers: h2 when offered; else alert 120 (`strict`) or no protocol. */
void triage_fixture_h2_only(SSL_CTX *ctx, int strict);
/* The key as PEM encrypted with `passphrase`; the caller frees it. */
char *triage_fixture_encrypted_key(const char *key_pem, const char *passphrase);
/* The key-exchange groups the server accepts (`P-256`, `X25519:P-384`, …); 1 when OpenSSL takes the list. */
int triage_fixture_groups(SSL_CTX *ctx, const char *groups);

#endif
