/* OpenSSL 3.0: certificates' public keys decoded without the provider decoders.
 * The ENGINE API is deprecated in OpenSSL 3; it is the one route 3.0 offers here. */
#define OPENSSL_SUPPRESS_DEPRECATED 1
#include "triage_shims.h"

#include <openssl/crypto.h>
#include <openssl/engine.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ec.h>
#include <openssl/rsa.h>
#include <openssl/proverr.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* OpenSSL 3.0 decodes the SubjectPublicKeyInfo of every certificate it parses (each handshake's
 * peer chain) through an OSSL_DECODER_CTX it builds anew, enumerating every key manager and decoder
 * of the loaded providers: 185 us a P-256 certificate here against 31 us by the built-in method, and
 * the provider route's fetches and locks again at every signature check. 3.1 and later cache the
 * decoders; 3.0 takes the built-in method when an ENGINE claims the key type. So, with 3.0, one that
 * hands back OpenSSL's own EC and RSA methods is registered before the first key: the arithmetic,
 * signatures and verify results are OpenSSL's, only the route differs.
 *
 * With it, OpenSSL runs every EC and RSA operation by the built-in methods. What that changes:
 * - A key OpenSSL's provider decoders made (a private key read from PEM, as curl reads --key) still
 *   signs TLS handshakes, but cannot sign a certificate or an OCSP response (ASN1_item_sign asks its
 *   context for the AlgorithmIdentifier, which the built-in method cannot answer), nor be checked
 *   with EVP_PKEY_check. triage_pem_key / triage_private_key_file, the readers of every private key
 *   triage itself reads, hand back a built-in key, and the engine is in place before the first.
 * - EC parameters by OpenSSL's short names: "prime256v1", not the NIST alias "P-256" (libssl asks
 *   for its groups by those names: every curve still negotiates).
 * - A TLS server holding an RSA key cannot do RSA key exchange (the built-in method has no TLS
 *   padding): only triage's own servers (the demo's upstream, test fixtures) are servers, with
 *   ECDHE suites. As a client, RSA key exchange, RSA-PSS and PKCS#1 signatures work.
 * TRIAGE_OPENSSL_PROVIDER_KEYS=1 leaves OpenSSL's route as it is. */

static const int builtin_nids[] = { EVP_PKEY_EC, EVP_PKEY_RSA };

static int builtin_pkey_methods(ENGINE *e, EVP_PKEY_METHOD **method, const int **nids, int nid) {
    (void)e;
    if (method == NULL) {
        *nids = builtin_nids;
        return (int)(sizeof builtin_nids / sizeof builtin_nids[0]);
    }
    *method = (nid == EVP_PKEY_EC || nid == EVP_PKEY_RSA) ? (EVP_PKEY_METHOD *)EVP_PKEY_meth_find(nid) : NULL;
    return *method != NULL;
}

static int builtin_keys;

static void builtin_keys_setup(void) {
    const char *off = getenv("TRIAGE_OPENSSL_PROVIDER_KEYS");
    if ((off && *off && strcmp(off, "0") != 0) || OpenSSL_version_num() >= 0x30100000L) return;
    ENGINE *e = ENGINE_new();
    if (e == NULL) return;
    if (ENGINE_set_id(e, "triage-builtin-keys") && ENGINE_set_name(e, "OpenSSL's built-in EC and RSA key methods")
        && ENGINE_set_pkey_meths(e, builtin_pkey_methods) && ENGINE_add(e) && ENGINE_set_default_pkey_meths(e))
        builtin_keys = 1;
    ENGINE_free(e);   /* the engine list keeps its reference */
    ERR_clear_error();
}

/* Once, before the first key: every reader and maker of private keys calls it first (a key the
 * provider route made before it could not sign certificates after it; public keys made before it
 * still verify), and the handshakes' contexts, certificate parsing and curl's loading call it for
 * speed. `--version` and `explain` never touch OpenSSL: no initialisation, no cleanup at exit. */
int triage_openssl_builtin_keys(void) {
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, builtin_keys_setup);
    return builtin_keys;
}

/* A key the provider decoders made, as a built-in one (the same key). */
static EVP_PKEY *as_builtin(EVP_PKEY *key) {
    if (!builtin_keys || key == NULL || EVP_PKEY_get0_provider(key) == NULL) return key;
    EVP_PKEY *out = NULL;
    int id = EVP_PKEY_get_base_id(key);
    if (id == EVP_PKEY_EC) {
        EC_KEY *ec = EVP_PKEY_get1_EC_KEY(key);
        if (ec && (out = EVP_PKEY_new()) && !EVP_PKEY_assign_EC_KEY(out, ec)) { EVP_PKEY_free(out); out = NULL; }
        if (!out) EC_KEY_free(ec);
    } else if (id == EVP_PKEY_RSA) {
        RSA *rsa = EVP_PKEY_get1_RSA(key);
        if (rsa && (out = EVP_PKEY_new()) && !EVP_PKEY_assign_RSA(out, rsa)) { EVP_PKEY_free(out); out = NULL; }
        if (!out) RSA_free(rsa);
    } else {
        return key;   /* Ed25519, RSA-PSS, …: the engine does not claim them */
    }
    EVP_PKEY_free(key);
    return out;
}

/* No passphrase prompt: an encrypted key is an error, not a question on the terminal. */
static int no_passphrase(char *buf, int size, int rwflag, void *u) { (void)buf; (void)size; (void)rwflag; (void)u; return -1; }

/* The one reader of private keys: the key route set up first, no passphrase asked; the BIO is freed. */
static EVP_PKEY *read_private_key(BIO *bio) {
    triage_openssl_builtin_keys();
    EVP_PKEY *key = bio ? PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL) : NULL;
    BIO_free(bio);
    return key;
}

EVP_PKEY *triage_pem_key(const char *pem) { return as_builtin(read_private_key(BIO_new_mem_buf(pem, -1))); }

EVP_PKEY *triage_private_key_file(const char *path) { return as_builtin(read_private_key(BIO_new_file(path, "r"))); }

/* Why a client certificate and key cannot be used, before anything runs: 0 usable; 1 the key file
 * cannot be opened (errno in *err); 2 the key is encrypted; 3 no private key in the file; 4 no
 * certificate in the certificate file (or it cannot be opened: errno in *err); 5 the key is not the
 * certificate's. From OpenSSL's reason codes, not its messages. */
int triage_check_client_identity(const char *cert_path, const char *key_path, int *err) {
    *err = 0;
    ERR_clear_error();
    errno = 0;
    BIO *bio = BIO_new_file(key_path, "r");
    if (bio == NULL) { *err = errno; ERR_clear_error(); return 1; }
    EVP_PKEY *key = read_private_key(bio);
    if (key == NULL) {
        int encrypted = 0;
        unsigned long e;
        while ((e = ERR_get_error()) != 0) {
            if ((ERR_GET_LIB(e) == ERR_LIB_PEM && ERR_GET_REASON(e) == PEM_R_BAD_PASSWORD_READ)
                || (ERR_GET_LIB(e) == ERR_LIB_PROV && ERR_GET_REASON(e) == PROV_R_UNABLE_TO_GET_PASSPHRASE))
                encrypted = 1;
        }
        return encrypted ? 2 : 3;
    }
    errno = 0;
    bio = BIO_new_file(cert_path, "r");
    X509 *cert = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
    if (bio == NULL) *err = errno;
    BIO_free(bio);
    int status = cert == NULL ? 4 : X509_check_private_key(cert, key) == 1 ? 0 : 5;
    X509_free(cert);
    EVP_PKEY_free(key);
    ERR_clear_error();
    return status;
}
