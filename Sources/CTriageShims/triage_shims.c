#include "triage_shims.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/bn.h>
#include <openssl/rsa.h>
#include <openssl/ec.h>
#include <openssl/pkcs12.h>
#include <openssl/ocsp.h>
#include <zlib.h>
#include <string.h>
#include <stdlib.h>
#include <time.h>
#include <dlfcn.h>
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <sys/socket.h>

const char *triage_openssl_version(void) { return OpenSSL_version(OPENSSL_VERSION); }

static pthread_once_t lazy_once[3] = { PTHREAD_ONCE_INIT, PTHREAD_ONCE_INIT, PTHREAD_ONCE_INIT };
static void *lazy_handle[3];
static const char *lazy_names[3][2] = { { "libcurl.so.4", "libcurl4" }, { "libpcap.so.0.8", "libpcap0.8" }, { "libidn2.so.0", "libidn2-0" } };
static _Thread_local char lazy_message[256];
static void load_curl(void) {
    triage_openssl_builtin_keys();   /* before curl initialises OpenSSL and loads any key */
    lazy_handle[0] = dlopen("libcurl.so.4", RTLD_LAZY | RTLD_LOCAL);
    /* curl_global_init is not thread-safe: run it here, once, under pthread_once. */
    long (*global_init)(long) = lazy_handle[0] ? (long (*)(long))dlsym(lazy_handle[0], "curl_global_init") : NULL;
    if (global_init) global_init(3L /* CURL_GLOBAL_DEFAULT */);
}
static void load_pcap(void) { lazy_handle[1] = dlopen("libpcap.so.0.8", RTLD_LAZY | RTLD_LOCAL); }
static void load_idn2(void) { lazy_handle[2] = dlopen("libidn2.so.0", RTLD_LAZY | RTLD_LOCAL); }

void *triage_lazy_symbol(int which, const char *symbol) {
    if (which < 0 || which > 2) return NULL;
    pthread_once(&lazy_once[which], which == 0 ? load_curl : which == 1 ? load_pcap : load_idn2);
    if (!lazy_handle[which]) {
        snprintf(lazy_message, sizeof lazy_message, "cannot load %s (install %s)", lazy_names[which][0], lazy_names[which][1]);
        return NULL;
    }
    void *address = dlsym(lazy_handle[which], symbol);
    if (!address) snprintf(lazy_message, sizeof lazy_message, "%s has no symbol %s", lazy_names[which][0], symbol);
    return address;
}

const char *triage_lazy_error(void) { return lazy_message; }

const char *triage_curl_version(void) {
    char *(*f)(void) = (char *(*)(void))triage_lazy_symbol(0, "curl_version");
    return f ? f() : NULL;
}

/* libidn2: IDNA2008 (non-transitional, NFC input), as curl uses it. */
int triage_idna_to_ascii(const char *input, char *output, size_t size, char *error, size_t error_size) {
    int (*to_ascii)(const char *, char **, int) = (int (*)(const char *, char **, int))triage_lazy_symbol(2, "idn2_to_ascii_8z");
    void (*release)(void *) = (void (*)(void *))triage_lazy_symbol(2, "idn2_free");
    const char *(*describe)(int) = (const char *(*)(int))triage_lazy_symbol(2, "idn2_strerror");
    if (!to_ascii || !release) { snprintf(error, error_size, "%s", lazy_message); return -1; }
    char *ascii = NULL;
    int rc = to_ascii(input, &ascii, 1 /* IDN2_NFC_INPUT */ | 8 /* IDN2_NONTRANSITIONAL */);
    if (rc != 0 || !ascii) {
        snprintf(error, error_size, "%s", describe ? describe(rc) : "IDNA conversion failed");
        return -1;
    }
    snprintf(output, size, "%s", ascii);
    size_t n = strlen(ascii);
    release(ascii);
    return n < size ? 0 : -1;
}

const char *triage_pcap_version(void) {
    const char *(*f)(void) = (const char *(*)(void))triage_lazy_symbol(1, "pcap_lib_version");
    return f ? f() : NULL;
}

int triage_ssl_set_sni(SSL *ssl, const char *name) { return (int)SSL_set_tlsext_host_name(ssl, name); }
int triage_ssl_set_min_version(SSL *ssl, int v) { return (int)SSL_set_min_proto_version(ssl, v); }
int triage_ssl_set_max_version(SSL *ssl, int v) { return (int)SSL_set_max_proto_version(ssl, v); }
int triage_ctx_set_min_version(SSL_CTX *ctx, int v) { return (int)SSL_CTX_set_min_proto_version(ctx, v); }
int triage_ctx_set_max_version(SSL_CTX *ctx, int v) { return (int)SSL_CTX_set_max_proto_version(ctx, v); }
int triage_sk_x509_num(const STACK_OF(X509) *s) { return s ? sk_X509_num(s) : 0; }
X509 *triage_sk_x509_value(const STACK_OF(X509) *s, int i) { return sk_X509_value(s, i); }
int triage_sk_x509_name_num(const STACK_OF(X509_NAME) *s) { return s ? sk_X509_NAME_num(s) : 0; }
X509_NAME *triage_sk_x509_name_value(const STACK_OF(X509_NAME) *s, int i) { return sk_X509_NAME_value(s, i); }
size_t triage_bio_pending(BIO *bio) { return BIO_ctrl_pending(bio); }
void triage_free(void *p) { OPENSSL_free(p); }
void triage_limit_malloc_arenas(int n) { mallopt(M_ARENA_MAX, n); }
void triage_malloc_trim(void) { malloc_trim(0); }
STACK_OF(X509) *triage_sk_x509_new(void) { return sk_X509_new_null(); }
int triage_sk_x509_push(STACK_OF(X509) *s, X509 *c) { return sk_X509_push(s, c); }
void triage_sk_x509_free(STACK_OF(X509) *s) { sk_X509_free(s); }
void triage_sk_x509_pop_free(STACK_OF(X509) *s) { if (s) sk_X509_pop_free(s, X509_free); }
static char *bio_to_string(BIO *bio);

int triage_ssl_request_status(SSL *ssl) { return (int)SSL_set_tlsext_status_type(ssl, TLSEXT_STATUSTYPE_ocsp); }

long triage_ssl_status_response(SSL *ssl, const unsigned char **response) {
    unsigned char *p = NULL;
    long n = SSL_get_tlsext_status_ocsp_resp(ssl, &p);
    *response = p;
    return n > 0 && p ? n : 0;
}

static int64_t generalized_time(const ASN1_GENERALIZEDTIME *t) {
    struct tm tm;
    if (!t || !ASN1_TIME_to_tm(t, &tm)) return 0;
    return (int64_t)timegm(&tm);
}

int triage_ocsp_status(const unsigned char *response, long length, const unsigned char *leaf_der, long leaf_length,
                       const unsigned char *issuer_der, long issuer_length, X509_STORE *store,
                       int *status, int64_t *this_update, int64_t *next_update, int64_t *revoked_at, int *verified) {
    *status = -1; *this_update = 0; *next_update = 0; *revoked_at = 0; *verified = 0;
    const unsigned char *p = response;
    OCSP_RESPONSE *resp = d2i_OCSP_RESPONSE(NULL, &p, length);
    if (!resp) { ERR_clear_error(); return -1; }
    int rstatus = OCSP_response_status(resp);
    OCSP_BASICRESP *basic = rstatus == OCSP_RESPONSE_STATUS_SUCCESSFUL ? OCSP_response_get1_basic(resp) : NULL;
    const unsigned char *lp = leaf_der, *ip = issuer_der;
    X509 *leaf = d2i_X509(NULL, &lp, leaf_length);
    X509 *issuer = issuer_der ? d2i_X509(NULL, &ip, issuer_length) : NULL;
    if (basic && leaf && issuer) {
        OCSP_CERTID *id = OCSP_cert_to_id(NULL, leaf, issuer);
        int reason = 0;
        ASN1_GENERALIZEDTIME *rev = NULL, *thisupd = NULL, *nextupd = NULL;
        if (id && OCSP_resp_find_status(basic, id, status, &reason, &rev, &thisupd, &nextupd)) {
            *this_update = generalized_time(thisupd);
            *next_update = generalized_time(nextupd);
            *revoked_at = generalized_time(rev);
        } else {
            *status = -1;
        }
        OCSP_CERTID_free(id);
        /* The signature: by the issuer itself or a responder it delegated to, chaining to the anchors. */
        if (store) {
            STACK_OF(X509) *certs = sk_X509_new_null();
            sk_X509_push(certs, issuer);
            *verified = OCSP_basic_verify(basic, certs, store, 0) > 0;
            sk_X509_free(certs);
        }
    }
    X509_free(leaf); X509_free(issuer);
    OCSP_BASICRESP_free(basic);
    OCSP_RESPONSE_free(resp);
    ERR_clear_error();
    return rstatus;
}

int triage_x509_must_staple(X509 *cert) {
    int at = X509_get_ext_by_NID(cert, NID_tlsfeature, -1);
    if (at < 0) return 0;
    ASN1_OCTET_STRING *data = X509_EXTENSION_get_data(X509_get_ext(cert, at));
    /* SEQUENCE OF INTEGER; status_request is 5: look for INTEGER 5 (02 01 05). */
    const unsigned char *d = ASN1_STRING_get0_data(data);
    int n = ASN1_STRING_length(data);
    for (int i = 0; i + 2 < n; i++) if (d[i] == 0x02 && d[i + 1] == 0x01 && d[i + 2] == 0x05) return 1;
    return 0;
}

char *triage_pkcs12_certificates(const unsigned char *der, long length, const char *password, int *count) {
    *count = 0;
    const unsigned char *p = der;
    PKCS12 *p12 = d2i_PKCS12(NULL, &p, length);
    if (!p12) { ERR_clear_error(); return NULL; }
    EVP_PKEY *key = NULL; X509 *cert = NULL; STACK_OF(X509) *ca = NULL;
    int ok = PKCS12_parse(p12, password ? password : "", &key, &cert, &ca);
    if (!ok) { ERR_clear_error(); ok = PKCS12_parse(p12, NULL, &key, &cert, &ca); }
    PKCS12_free(p12);
    if (!ok) { ERR_clear_error(); return NULL; }
    BIO *bio = BIO_new(BIO_s_mem());
    if (cert) { PEM_write_bio_X509(bio, cert); (*count)++; }
    for (int i = 0; ca && i < sk_X509_num(ca); i++) { PEM_write_bio_X509(bio, sk_X509_value(ca, i)); (*count)++; }
    EVP_PKEY_free(key); X509_free(cert); sk_X509_pop_free(ca, X509_free);
    ERR_clear_error();
    return bio_to_string(bio);
}

int triage_err_lib(unsigned long code) { return ERR_GET_LIB(code); }
int triage_err_reason(unsigned long code) { return ERR_GET_REASON(code); }

static char *hex_string(const ASN1_OCTET_STRING *s) {
    if (!s) return NULL;
    char *out = OPENSSL_malloc((size_t)s->length * 3 + 1);
    if (!out) return NULL;
    for (int i = 0; i < s->length; i++) snprintf(out + 3 * i, 4, "%02X%s", s->data[i], i + 1 < s->length ? ":" : "");
    out[s->length ? s->length * 3 - 1 : 0] = 0;
    return out;
}

char *triage_x509_ski(X509 *cert) { return hex_string(X509_get0_subject_key_id(cert)); }
char *triage_x509_aki(X509 *cert) { return hex_string(X509_get0_authority_key_id(cert)); }

/* The first URI of an authorityInfoAccess method (caIssuers or OCSP). */
static char *aia_uri(X509 *cert, int method) {
    AUTHORITY_INFO_ACCESS *aia = X509_get_ext_d2i(cert, NID_info_access, NULL, NULL);
    if (!aia) return NULL;
    char *out = NULL;
    for (int i = 0; i < sk_ACCESS_DESCRIPTION_num(aia) && !out; i++) {
        ACCESS_DESCRIPTION *ad = sk_ACCESS_DESCRIPTION_value(aia, i);
        if (OBJ_obj2nid(ad->method) == method && ad->location->type == GEN_URI) {
            const ASN1_IA5STRING *uri = ad->location->d.uniformResourceIdentifier;
            out = OPENSSL_malloc((size_t)uri->length + 1);
            if (out) { memcpy(out, uri->data, (size_t)uri->length); out[uri->length] = 0; }
        }
    }
    AUTHORITY_INFO_ACCESS_free(aia);
    return out;
}

char *triage_x509_ca_issuers(X509 *cert) { return aia_uri(cert, NID_ad_ca_issuers); }

char *triage_x509_ocsp_url(X509 *cert) { return aia_uri(cert, NID_ad_OCSP); }

char *triage_x509_crl_url(X509 *cert) {
    STACK_OF(DIST_POINT) *points = X509_get_ext_d2i(cert, NID_crl_distribution_points, NULL, NULL);
    if (!points) { ERR_clear_error(); return NULL; }
    char *out = NULL;
    for (int i = 0; i < sk_DIST_POINT_num(points) && !out; i++) {
        DIST_POINT *dp = sk_DIST_POINT_value(points, i);
        if (!dp->distpoint || dp->distpoint->type != 0) continue; /* fullName only */
        GENERAL_NAMES *names = dp->distpoint->name.fullname;
        for (int j = 0; j < sk_GENERAL_NAME_num(names) && !out; j++) {
            GENERAL_NAME *name = sk_GENERAL_NAME_value(names, j);
            if (name->type != GEN_URI) continue;
            const ASN1_IA5STRING *uri = name->d.uniformResourceIdentifier;
            out = OPENSSL_malloc((size_t)uri->length + 1);
            if (out) { memcpy(out, uri->data, (size_t)uri->length); out[uri->length] = 0; }
        }
    }
    sk_DIST_POINT_pop_free(points, DIST_POINT_free);
    return out;
}

int triage_crl_status(const unsigned char *crl_bytes, long length, const unsigned char *leaf_der, long leaf_length,
                      const unsigned char *issuer_der, long issuer_length,
                      int *revoked, int64_t *this_update, int64_t *next_update, int64_t *revoked_at, int *verified) {
    *revoked = 0; *this_update = 0; *next_update = 0; *revoked_at = 0; *verified = 0;
    const unsigned char *p = crl_bytes;
    X509_CRL *crl = d2i_X509_CRL(NULL, &p, length);
    if (!crl) {
        /* PEM, as some CAs serve it. */
        ERR_clear_error();
        BIO *bio = BIO_new_mem_buf(crl_bytes, (int)length);
        if (bio) { crl = PEM_read_bio_X509_CRL(bio, NULL, NULL, NULL); BIO_free(bio); }
    }
    if (!crl) { ERR_clear_error(); return -1; }
    const unsigned char *lp = leaf_der, *ip = issuer_der;
    X509 *leaf = d2i_X509(NULL, &lp, leaf_length);
    X509 *issuer = issuer_der ? d2i_X509(NULL, &ip, issuer_length) : NULL;
    int rc = -1;
    if (leaf) {
        rc = 0;
        *this_update = generalized_time(X509_CRL_get0_lastUpdate(crl));
        *next_update = generalized_time(X509_CRL_get0_nextUpdate(crl));
        X509_REVOKED *entry = NULL;
        if (X509_CRL_get0_by_serial(crl, &entry, X509_get0_serialNumber(leaf)) == 1 && entry) {
            *revoked = 1;
            *revoked_at = generalized_time(X509_REVOKED_get0_revocationDate(entry));
        }
        /* Issued by the leaf's issuer, and signed with its key. */
        if (issuer) {
            EVP_PKEY *key = X509_get0_pubkey(issuer);
            *verified = key && X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_subject_name(issuer)) == 0
                && X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_issuer_name(leaf)) == 0 && X509_CRL_verify(crl, key) == 1;
        }
    }
    X509_free(leaf); X509_free(issuer); X509_CRL_free(crl);
    ERR_clear_error();
    return rc;
}

long triage_ocsp_request(const unsigned char *leaf_der, long leaf_length, const unsigned char *issuer_der, long issuer_length,
                         unsigned char **out) {
    *out = NULL;
    const unsigned char *lp = leaf_der, *ip = issuer_der;
    X509 *leaf = d2i_X509(NULL, &lp, leaf_length);
    X509 *issuer = d2i_X509(NULL, &ip, issuer_length);
    long n = -1;
    OCSP_REQUEST *request = OCSP_REQUEST_new();
    OCSP_CERTID *id = leaf && issuer ? OCSP_cert_to_id(EVP_sha1(), leaf, issuer) : NULL;
    if (request && id && OCSP_request_add0_id(request, id)) {
        id = NULL; /* the request owns it now */
        n = i2d_OCSP_REQUEST(request, out);
    }
    OCSP_CERTID_free(id);
    OCSP_REQUEST_free(request);
    X509_free(leaf);
    X509_free(issuer);
    return n;
}

static char *bio_to_string(BIO *bio) {
    char *data = NULL;
    long n = BIO_get_mem_data(bio, &data);
    char *out = OPENSSL_malloc((size_t)n + 1);
    if (out) { memcpy(out, data, (size_t)n); out[n] = 0; }
    BIO_free(bio);
    return out;
}

/* The subjectAltName entries as typed records: the GENERAL_NAME type (one byte), the value's
   length (four bytes, big-endian), the ASN.1 string's bytes as they are — nothing printed, so
   a NUL or a newline inside a name stays in it (and OpenSSL's name check refuses such a name). */
int triage_x509_san_records(X509 *cert, unsigned char **out) {
    *out = NULL;
    GENERAL_NAMES *names = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
    if (!names) return 0;
    size_t size = 0, capacity = 256;
    unsigned char *buffer = OPENSSL_malloc(capacity);
    int count = sk_GENERAL_NAME_num(names);
    for (int i = 0; buffer && i < count && i < 100000; i++) {
        const GENERAL_NAME *name = sk_GENERAL_NAME_value(names, i);
        const unsigned char *data = NULL;
        int length = 0;
        switch (name->type) {
        case GEN_DNS: case GEN_EMAIL: case GEN_URI:
            data = ASN1_STRING_get0_data(name->d.ia5); length = ASN1_STRING_length(name->d.ia5); break;
        case GEN_IPADD:
            data = ASN1_STRING_get0_data(name->d.iPAddress); length = ASN1_STRING_length(name->d.iPAddress); break;
        default: break;
        }
        if (length < 0) length = 0;
        while (size + 5 + (size_t)length > capacity) {
            capacity *= 2;
            unsigned char *bigger = OPENSSL_realloc(buffer, capacity);
            if (!bigger) { OPENSSL_free(buffer); buffer = NULL; break; }
            buffer = bigger;
        }
        if (!buffer) break;
        buffer[size] = (unsigned char)name->type;
        buffer[size + 1] = (unsigned char)(length >> 24); buffer[size + 2] = (unsigned char)(length >> 16);
        buffer[size + 3] = (unsigned char)(length >> 8); buffer[size + 4] = (unsigned char)length;
        if (length > 0) memcpy(buffer + size + 5, data, (size_t)length);
        size += 5 + (size_t)length;
    }
    GENERAL_NAMES_free(names);
    if (!buffer) return -1;
    /* An extension without names (found by make fuzz: the buffer leaked). */
    if (size == 0) { OPENSSL_free(buffer); return 0; }
    *out = buffer;
    return (int)size;
}

char *triage_x509_name(const X509_NAME *name) {
    BIO *bio = BIO_new(BIO_s_mem());
    X509_NAME_print_ex(bio, name, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
    return bio_to_string(bio);
}

char *triage_x509_serial(X509 *cert) {
    BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), NULL);
    char *hex = bn ? BN_bn2hex(bn) : NULL;
    BN_free(bn);
    return hex;
}

int triage_x509_time(X509 *cert, int which, int64_t *out) {
    const ASN1_TIME *t = which ? X509_get0_notAfter(cert) : X509_get0_notBefore(cert);
    struct tm tm;
    if (!t || !ASN1_TIME_to_tm(t, &tm)) return -1;
    *out = (int64_t)timegm(&tm);
    return 0;
}

typedef struct { int *codes; int *depths; int max; int count; } verify_errors;

static int collect_errors(int ok, X509_STORE_CTX *ctx) {
    verify_errors *e = X509_STORE_CTX_get_ex_data(ctx, 0);
    if (!ok && e && e->count < e->max) {
        e->codes[e->count] = X509_STORE_CTX_get_error(ctx);
        e->depths[e->count] = X509_STORE_CTX_get_error_depth(ctx);
        e->count++;
    }
    return 1; /* keep going: report every problem, not the first */
}

X509_STORE *triage_store_load(const char *ca_file) {
    X509_STORE *store = X509_STORE_new();
    if (!store) return NULL;
    int loaded = ca_file ? X509_STORE_load_file(store, ca_file) : X509_STORE_set_default_paths(store);
    if (!loaded) { X509_STORE_free(store); ERR_clear_error(); return NULL; }
    return store;
}

void triage_store_free(X509_STORE *store) { X509_STORE_free(store); }

int triage_verify_chain(X509 *leaf, STACK_OF(X509) *chain, X509_STORE *store, int64_t at, const char *host, int depth,
                        int address_as_name, int *codes, int *depths, int max, STACK_OF(X509) **built) {
    if (!store) return -1;
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    verify_errors e = { codes, depths, max, 0 };
    X509_STORE_CTX_init(ctx, store, leaf, chain);
    X509_STORE_CTX_set_ex_data(ctx, 0, &e);
    X509_STORE_CTX_set_verify_cb(ctx, collect_errors);
    /* As an SSL client verifies a server: purpose and trust "ssl_server" (serverAuth). */
    X509_STORE_CTX_set_default(ctx, "ssl_server");
    X509_VERIFY_PARAM *param = X509_STORE_CTX_get0_param(ctx);
    X509_VERIFY_PARAM_set_time(param, (time_t)at);
    if (depth >= 0) X509_VERIFY_PARAM_set_depth(param, depth);
    if (host && *host) {
        /* OpenSSL matches the name (X509_check_host / X509_check_ip): never a re-match of printed text. */
        if (address_as_name || !X509_VERIFY_PARAM_set1_ip_asc(param, host)) X509_VERIFY_PARAM_set1_host(param, host, 0);
    }
    X509_verify_cert(ctx);
    if (built) *built = X509_STORE_CTX_get1_chain(ctx);
    X509_STORE_CTX_free(ctx);
    return e.count;
}

EVP_PKEY *triage_generate_key(int type, int bits) {
    triage_openssl_builtin_keys();
    /* The curve by its OpenSSL short name: with the built-in EC method of triage_keys.c in effect
     * (OpenSSL 3.0), a key type's parameters go through 3.0's legacy translation, which knows
     * "prime256v1" but not the NIST alias "P-256" (libssl asks for its groups by that name too). */
    return type == 0 ? EVP_RSA_gen((unsigned int)bits) : EVP_EC_gen("prime256v1");
}

static void add_ext(X509 *cert, X509 *issuer, int nid, const char *value) {
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    if (ext) { X509_add_ext(cert, ext, -1); X509_EXTENSION_free(ext); }
}

X509 *triage_make_cert(EVP_PKEY *key, const char *cn, const char *sans, int64_t not_before, int64_t not_after,
                       int is_ca, long serial, X509 *issuer, EVP_PKEY *issuer_key) {
    X509 *cert = X509_new();
    X509_set_version(cert, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(cert), serial);
    ASN1_TIME_set(X509_getm_notBefore(cert), (time_t)not_before);
    ASN1_TIME_set(X509_getm_notAfter(cert), (time_t)not_after);
    X509_set_pubkey(cert, key);
    X509_NAME *name = X509_get_subject_name(cert);
    X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, (const unsigned char *)"triage fixture", -1, -1, 0);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    X509 *signer = issuer ? issuer : cert;
    X509_set_issuer_name(cert, X509_get_subject_name(signer));
    add_ext(cert, signer, NID_basic_constraints, is_ca ? "critical,CA:TRUE" : "CA:FALSE");
    add_ext(cert, signer, NID_key_usage, is_ca ? "critical,keyCertSign,cRLSign" : "critical,digitalSignature,keyEncipherment");
    add_ext(cert, signer, NID_subject_key_identifier, "hash");
    if (issuer) add_ext(cert, signer, NID_authority_key_identifier, "keyid:always");
    if (!is_ca) add_ext(cert, signer, NID_ext_key_usage, "serverAuth,clientAuth");
    if (sans && *sans) add_ext(cert, signer, NID_subject_alt_name, sans);
    if (!X509_sign(cert, issuer_key ? issuer_key : key, EVP_sha256())) { X509_free(cert); return NULL; }
    return cert;
}

char *triage_cert_pem(X509 *cert) {
    BIO *bio = BIO_new(BIO_s_mem());
    PEM_write_bio_X509(bio, cert);
    return bio_to_string(bio);
}

char *triage_key_pem(EVP_PKEY *key) {
    BIO *bio = BIO_new(BIO_s_mem());
    PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL);
    return bio_to_string(bio);
}

/* --- the demo's upstream ---------------------------------------------- */

int triage_pem_chain(const char *pem, X509 **leaf, STACK_OF(X509) **rest) {
    BIO *bio = BIO_new_mem_buf(pem, -1);
    *leaf = PEM_read_bio_X509(bio, NULL, NULL, NULL);
    *rest = sk_X509_new_null();
    X509 *c;
    while ((c = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) sk_X509_push(*rest, c);
    ERR_clear_error(); /* the loop ends on a "no start line" error */
    BIO_free(bio);
    return *leaf ? 1 : 0;
}

typedef struct { X509 *cert; STACK_OF(X509) *chain; EVP_PKEY *key; } default_identity;

/* The demo's upstream: a client without SNI gets the default certificate,
   or fatal alert 80 once it has expired (as servers that refuse to present
   an expired certificate do). */
static int demo_client_hello(SSL *ssl, int *alert, void *arg) {
    default_identity *d = arg;
    if (SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_server_name, NULL, NULL)) return SSL_CLIENT_HELLO_SUCCESS;
    if (X509_cmp_time(X509_get0_notAfter(d->cert), NULL) < 0) {
        *alert = SSL_AD_INTERNAL_ERROR;
        return SSL_CLIENT_HELLO_ERROR;
    }
    SSL_use_certificate(ssl, d->cert);
    SSL_use_PrivateKey(ssl, d->key);
    SSL_set1_chain(ssl, d->chain);
    return SSL_CLIENT_HELLO_SUCCESS;
}

static void free_default_identity(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl, void *argp) {
    (void)parent; (void)ad; (void)idx; (void)argl; (void)argp;
    default_identity *d = ptr;
    if (!d) return;
    X509_free(d->cert); sk_X509_pop_free(d->chain, X509_free); EVP_PKEY_free(d->key); free(d);
}

static int default_identity_index = -1;
static pthread_once_t default_identity_once = PTHREAD_ONCE_INIT;
static void make_default_identity_index(void) {
    default_identity_index = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, free_default_identity);
}

int triage_server_use_identity(SSL_CTX *ctx, const char *chain_pem, const char *key_pem) {
    X509 *leaf = NULL; STACK_OF(X509) *rest = NULL; EVP_PKEY *key = triage_pem_key(key_pem);
    int ok = key && triage_pem_chain(chain_pem, &leaf, &rest);
    ok = ok && SSL_CTX_use_certificate(ctx, leaf) && SSL_CTX_use_PrivateKey(ctx, key) && SSL_CTX_set1_chain(ctx, rest);
    if (key) EVP_PKEY_free(key);
    if (leaf) X509_free(leaf);
    if (rest) sk_X509_pop_free(rest, X509_free);
    return ok;
}

SSL_CTX *triage_server_ctx(const char *chain_pem, const char *key_pem, const char *default_chain_pem, const char *default_key_pem) {
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (!ctx) return NULL;
    if (!triage_server_use_identity(ctx, chain_pem, key_pem)) { SSL_CTX_free(ctx); return NULL; }
    if (default_chain_pem && default_key_pem) {
        pthread_once(&default_identity_once, make_default_identity_index);
        default_identity *d = calloc(1, sizeof *d);
        if (!d || !triage_pem_chain(default_chain_pem, &d->cert, &d->chain) || !(d->key = triage_pem_key(default_key_pem))) {
            free_default_identity(NULL, d, NULL, 0, 0, NULL);
            SSL_CTX_free(ctx);
            return NULL;
        }
        SSL_CTX_set_ex_data(ctx, default_identity_index, d);
        SSL_CTX_set_client_hello_cb(ctx, demo_client_hello, d);
    }
    return ctx;
}

void triage_ssl_ctx_free(SSL_CTX *ctx) { SSL_CTX_free(ctx); }

int triage_server_handle(SSL_CTX *ctx, int fd, int timeout_ms) {
    struct timeval tv = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    SSL *ssl = SSL_new(ctx);
    SSL_set_fd(ssl, fd);
    int ok = SSL_accept(ssl) == 1;
    if (ok) {
        char buf[4096];
        int n = SSL_read(ssl, buf, sizeof buf);
        if (n > 0) {
            const char *answer = "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n";
            SSL_write(ssl, answer, (int)strlen(answer));
        }
        SSL_shutdown(ssl);
    }
    SSL_free(ssl);
    ERR_clear_error();
    return ok ? 0 : -1;
}

int triage_gunzip(const char *in, const char *out, long long limit, char *error, size_t error_size) {
    gzFile source = gzopen(in, "rb");
    if (!source) { snprintf(error, error_size, "cannot open %s", in); return -1; }
    FILE *target = fopen(out, "wb");
    if (!target) { gzclose(source); snprintf(error, error_size, "cannot write %s", out); return -1; }
    unsigned char buffer[1 << 16];
    long long total = 0;
    int n, status = 0;
    while ((n = gzread(source, buffer, sizeof buffer)) > 0) {
        total += n;
        if (total > limit) { snprintf(error, error_size, "more than %lld bytes once decompressed", limit); status = -1; break; }
        if (fwrite(buffer, 1, (size_t)n, target) != (size_t)n) { snprintf(error, error_size, "cannot write %s", out); status = -1; break; }
    }
    if (n < 0 && status == 0) {
        int code = 0;
        const char *why = gzerror(source, &code);
        snprintf(error, error_size, "not a complete gzip file: %s", why ? why : "read error");
        status = -1;
    }
    gzclose(source);
    if (fclose(target) != 0 && status == 0) { snprintf(error, error_size, "cannot write %s", out); status = -1; }
    return status;
}
