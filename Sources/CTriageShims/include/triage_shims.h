#ifndef TRIAGE_SHIMS_H
#define TRIAGE_SHIMS_H

/* Small C functions for what Swift cannot call directly: macros, variadic
 * setters, STACK_OF accessors, callbacks. Every function is prefixed triage_. */

#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <curl/curl.h>
#include <pcap/pcap.h>
#include <stdint.h>
#include "triage_http.h"
#include "triage_capture.h"
#include "triage_poll.h"

/* Versions of the libraries, for the report's background. libcurl and
 * libpcap are loaded on first use (dlopen); NULL when they are missing. */
const char *triage_openssl_version(void);
/* OpenSSL 3.0: EC and RSA keys by OpenSSL's built-in methods, not a provider decoder built anew for
 * each certificate (triage_keys.c). Sets that up once, before the first key; 1 when in effect. */
int triage_openssl_builtin_keys(void);
/* A private key from PEM text or a PEM file, usable whichever route is in effect; NULL when it cannot
 * be read (an encrypted key included: no passphrase is asked for). */
EVP_PKEY *triage_private_key_file(const char *path);
/* Why a client certificate (PEM file) and its key (PEM file, or the certificate's) cannot be used:
 * 0 usable, 1 key file unreadable (errno), 2 key encrypted, 3 no private key, 4 no certificate
 * (errno when unreadable), 5 the key is not the certificate's. */
int triage_check_client_identity(const char *cert_path, const char *key_path, int *err);
/* Remember, for at most `seconds`, the chains this client context verified successfully, so a handshake
 * presenting the same bytes for the same name is not verified again (triage_verify_cache.c). 1 when
 * installed; TRIAGE_VERIFY_CACHE=0 turns it off. */
int triage_verify_cache_install(SSL_CTX *ctx, int seconds);
/* How many verifications the context's memory answered, and how many OpenSSL ran. */
void triage_verify_cache_counts(SSL_CTX *ctx, unsigned long *hits, unsigned long *misses);
const char *triage_curl_version(void);
const char *triage_pcap_version(void);

/* A host name in IDNA ASCII form (xn--…) through libidn2, loaded on first
 * use; 0 on success, -1 with `error` filled. */
int triage_idna_to_ascii(const char *input, char *output, size_t size, char *error, size_t error_size);

/* The address of `symbol` in libcurl (which = 0), libpcap (which = 1) or libidn2 (which = 2),
 * loading the library on first use; NULL with triage_lazy_error() set when
 * the library or the symbol is missing. */
void *triage_lazy_symbol(int which, const char *symbol);
const char *triage_lazy_error(void);

/* --- OpenSSL macros ----------------------------------------------------- */

int triage_ssl_set_sni(SSL *ssl, const char *name);
int triage_ssl_set_min_version(SSL *ssl, int version);
int triage_ssl_set_max_version(SSL *ssl, int version);
int triage_ctx_set_min_version(SSL_CTX *ctx, int version);
int triage_ctx_set_max_version(SSL_CTX *ctx, int version);
int triage_sk_x509_num(const STACK_OF(X509) *stack);
X509 *triage_sk_x509_value(const STACK_OF(X509) *stack, int i);
int triage_sk_x509_name_num(const STACK_OF(X509_NAME) *stack);
X509_NAME *triage_sk_x509_name_value(const STACK_OF(X509_NAME) *stack, int i);
size_t triage_bio_pending(BIO *bio);

/* The subjectAltName entries of a certificate as "DNS:name" / "IP:addr"
 * lines joined by '\n' (malloc'd; free with triage_free). NULL when none. */
int triage_x509_san_records(X509 *cert, unsigned char **out);
/* A distinguished name in RFC 2253 form (malloc'd). */
char *triage_x509_name(const X509_NAME *name);
/* The serial number in hex (malloc'd). */
char *triage_x509_serial(X509 *cert);
/* notBefore (which = 0) or notAfter (which = 1) as seconds since the epoch;
 * returns 0 on success. */
int triage_x509_time(X509 *cert, int which, int64_t *out);
void triage_free(void *p);
/* mallopt(M_ARENA_MAX, n): malloc.h is not part of Swift's Glibc module. */
void triage_limit_malloc_arenas(int n);
/* malloc_trim(0): hands the free memory of every arena back to the system. */
void triage_malloc_trim(void);

/* Verifies `leaf` with the untrusted `chain` against `ca_file` (or the
 * system store when NULL) at time `at`, collecting every error (code and
 * depth) rather than stopping at the first. Returns the number of errors
 * written (at most `max`), or -1 when the store could not be set up.
 * `*built` receives the path OpenSSL built (free with sk_X509_pop_free). */
int triage_verify_chain(X509 *leaf, STACK_OF(X509) *chain, X509_STORE *store, int64_t at, const char *host, int depth,
                        int address_as_name, int *codes, int *depths, int max, STACK_OF(X509) **built);
/* A trust store loaded once: `ca_file`, or the system's default paths when NULL; NULL when it cannot be loaded. */
X509_STORE *triage_store_load(const char *ca_file);
void triage_store_free(X509_STORE *store);
void triage_sk_x509_pop_free(STACK_OF(X509) *stack);

/* The certificates of a PKCS#12 file (a Java or Windows trust store) as PEM text (malloc'd, free
 * with triage_free), tried with `password` then without one; NULL when it is not PKCS#12 or the
 * password is wrong. *count receives how many. */
char *triage_pkcs12_certificates(const unsigned char *der, long length, const char *password, int *count);

/* OCSP stapling (RFC 6066 status_request). Ask for a staple; read the one the server stapled
 * (a pointer into the SSL, valid while it lives; length 0 when none). */
int triage_ssl_request_status(SSL *ssl);
long triage_ssl_status_response(SSL *ssl, const unsigned char **response);
/* A stapled response for `leaf` issued by `issuer` (both DER): its status (0 good, 1 revoked,
 * 2 unknown; -1 not for this certificate or unreadable), thisUpdate / nextUpdate / revocation
 * time (seconds since the epoch, 0 when absent), and whether its signature verifies against
 * the issuer and `ca_file` (or the system store). Returns the OCSP response status (0
 * successful), or -1 when the bytes are not an OCSP response. */
int triage_ocsp_status(const unsigned char *response, long length, const unsigned char *leaf, long leaf_length,
                       const unsigned char *issuer, long issuer_length, X509_STORE *store,
                       int *status, int64_t *this_update, int64_t *next_update, int64_t *revoked_at, int *verified);
/* Whether a certificate carries the TLS Feature extension with status_request (must-staple). */
int triage_x509_must_staple(X509 *cert);

/* A gzip file (`capture.pcapng.gz`, as Wireshark reads them) decompressed into `out`, at most
 * `limit` bytes; 0 on success, -1 with `error` filled. */
int triage_gunzip(const char *in, const char *out, long long limit, char *error, size_t error_size);

/* ERR_GET_LIB / ERR_GET_REASON (inline functions in OpenSSL 3). */
int triage_err_lib(unsigned long code);
int triage_err_reason(unsigned long code);

/* The caIssuers URL of authorityInfoAccess, the subject and authority key
 * identifiers in hex (malloc'd, free with triage_free); NULL when absent. */
char *triage_x509_ca_issuers(X509 *cert);
/* The certificate's OCSP responder URL (authorityInfoAccess OCSP), or NULL; free with triage_free. */
char *triage_x509_ocsp_url(X509 *cert);
/* The certificate's first CRL distribution point URI (fullName), or NULL; free with triage_free. */
char *triage_x509_crl_url(X509 *cert);
/* A CRL (DER or PEM) read for `leaf`: whether it lists the leaf's serial (and when it was revoked),
 * its thisUpdate / nextUpdate (seconds since the epoch, 0 when absent), and whether it is issued
 * by `issuer` (the leaf's issuer) and signed with its key. 0, or -1 when the bytes are not a CRL. */
int triage_crl_status(const unsigned char *crl, long length, const unsigned char *leaf, long leaf_length,
                      const unsigned char *issuer, long issuer_length,
                      int *revoked, int64_t *this_update, int64_t *next_update, int64_t *revoked_at, int *verified);
/* A DER OCSPRequest for the leaf (its CertID under `issuer`, SHA-1 as RFC 5019 asks), in *out
 * (OPENSSL_malloc'd, free with triage_free); its length, or -1. */
long triage_ocsp_request(const unsigned char *leaf_der, long leaf_length, const unsigned char *issuer_der, long issuer_length,
                         unsigned char **out);
char *triage_x509_ski(X509 *cert);
char *triage_x509_aki(X509 *cert);
STACK_OF(X509) *triage_sk_x509_new(void);
int triage_sk_x509_push(STACK_OF(X509) *stack, X509 *cert);
void triage_sk_x509_free(STACK_OF(X509) *stack);

/* --- Certificate minting and the demo's upstream ------------------------
 * (the test fixtures' server modes live in the test-only CTriageTestShims) */

/* A new key: type 0 = RSA of `bits`, 1 = EC P-256. */
EVP_PKEY *triage_generate_key(int type, int bits);
/* A certificate for `key`, signed by `issuer_key` (self-signed when
 * `issuer` is NULL). `sans`: comma-separated "DNS:x,IP:1.2.3.4" or NULL. */
X509 *triage_make_cert(EVP_PKEY *key, const char *common_name, const char *sans,
                       int64_t not_before, int64_t not_after, int is_ca, long serial,
                       X509 *issuer, EVP_PKEY *issuer_key);
char *triage_cert_pem(X509 *cert);
char *triage_key_pem(EVP_PKEY *key);
/* PEM text: the first certificate and the rest (1 when there was one), a private key. */
int triage_pem_chain(const char *pem, X509 **leaf, STACK_OF(X509) **rest);
EVP_PKEY *triage_pem_key(const char *pem);

/* A server context from PEM text: `chain_pem` holds the leaf first, then
 * any intermediates. With a default chain and key: a client without SNI gets
 * them, or fatal alert 80 internal_error once that certificate has expired
 * (the demo's upstream). NULL with the error queue set on failure. */
SSL_CTX *triage_server_ctx(const char *chain_pem, const char *key_pem, const char *default_chain_pem, const char *default_key_pem);
/* Loads a leaf-first chain and its key into a server context; 1 on success. */
int triage_server_use_identity(SSL_CTX *ctx, const char *chain_pem, const char *key_pem);
/* Serves one accepted connection: handshake, read a request if one comes,
 * answer "HTTP/1.1 200 OK", close. Blocking, bounded by `timeout_ms`. */
int triage_server_handle(SSL_CTX *ctx, int fd, int timeout_ms);
void triage_ssl_ctx_free(SSL_CTX *ctx);

/* TLS 1.3 record protection for captures decrypted with a key log.
 * HKDF-Expand (RFC 5869) with SHA-256 (hash 256) or SHA-384 (384) through
 * EVP_PKEY HKDF in expand-only mode: out gets out_len bytes; 0 on success. */
int triage_hkdf_expand(int hash, const uint8_t *secret, size_t secret_len, const uint8_t *info, size_t info_len,
                       uint8_t *out, size_t out_len);
/* AEAD open of one record: cipher 1 AES-128-GCM, 2 AES-256-GCM, 3 ChaCha20-Poly1305;
 * a 12-byte nonce; the last 16 bytes of sealed are the tag. Writes sealed_len - 16
 * bytes to out; returns that length, or -1 when the tag does not verify. */
long triage_aead_open(int cipher, const uint8_t *key, const uint8_t *nonce, const uint8_t *aad, size_t aad_len,
                      const uint8_t *sealed, size_t sealed_len, uint8_t *out);

#endif
