/* A client context's memory of the chains it verified.
 *
 * An exporter probes the same endpoints again and again and a scan meets the same chain behind many
 * addresses; each handshake had OpenSSL build and verify that chain anew (its lookups in the trust
 * store, the issuer's signature on each certificate: about a tenth of a probe's CPU with a P-256
 * leaf). Here a chain that verified is remembered for a short while, keyed by what its result
 * depends on as triage verifies, and a handshake that presents exactly those bytes again takes the
 * remembered result:
 *
 * - the key is the DER of every certificate the server sent, in order, the store, and the
 *   verification parameters of this connection: every host name, the address and the e-mail
 *   checked, depth, flags, host-check flags and security level (the purpose is libssl's, the same
 *   for every server). The bytes are compared in full, not by a digest;
 * - a connection with its own verify callback (SSL_set_verify) is always verified by OpenSSL, as
 *   the callback must see each certificate; triage sets none, nor DANE. A remembered answer leaves
 *   SSL_get0_peername unset (triage checks the name itself, with X509_check_host);
 * - only a success is remembered (a failure is verified again, so its detail is always fresh);
 * - a remembered success holds only while the verification time (now, or the fixed time set with
 *   `--at`) is inside every certificate's validity in the verified path, the trust anchor's
 *   included, so an expiry or a not-yet-valid certificate is seen at the same second as without it;
 *   and only until a certificate of the store or of those sent becomes valid (it could make another
 *   path: a renewed root with the old one's name and key);
 * - it holds for at most `seconds` of the monotonic clock (a trust directory's new or removed anchors
 *   are seen after that), and never for a verification time earlier than the one it was made at;
 * - nothing is remembered when a CRL or policy check is asked for.
 *
 * The handshake's signature checks (ServerKeyExchange, CertificateVerify) are not touched: they
 * prove the server holds the key, at every handshake. */
#include "triage_shims.h"

#include <openssl/err.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SLOTS 256
#define MAX_KEY (32 * 1024)

struct slot {
    unsigned char *key;
    size_t length;
    uint64_t hash;
    STACK_OF(X509) *chain;   /* the verified path, leaf first */
    time_t from, until;      /* the path's common validity: [latest notBefore, earliest notAfter] */
    time_t verified_at;      /* the verification time it was made at */
    time_t stored;           /* CLOCK_MONOTONIC seconds */
};

struct triage_verify_cache {
    pthread_mutex_t lock;
    int seconds;
    unsigned long hits, misses;
    /* The store's earliest notBefore still to come (0: none), as of `store_checked` and `store_count`
     * objects: the store is read again when it has grown (a trust directory loads lazily) or after `seconds`. */
    time_t store_next, store_checked;
    int store_count;
    struct slot slots[SLOTS];
};

static void clear_slot(struct slot *s) {
    free(s->key);
    if (s->chain) sk_X509_pop_free(s->chain, X509_free);
    memset(s, 0, sizeof *s);
}

static void cache_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl, void *argp) {
    (void)parent; (void)ad; (void)idx; (void)argl; (void)argp;
    struct triage_verify_cache *cache = ptr;
    if (cache == NULL) return;
    for (int i = 0; i < SLOTS; i++) clear_slot(&cache->slots[i]);
    pthread_mutex_destroy(&cache->lock);
    free(cache);
}

static int ex_index = -1;
static void make_index(void) { ex_index = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, cache_free); }

/* A growable byte buffer for the key. */
struct buffer { unsigned char *bytes; size_t length, capacity; int failed; };

static void put(struct buffer *b, const void *bytes, size_t length) {
    if (b->failed) return;
    if (b->length + length > MAX_KEY) { b->failed = 1; return; }
    if (b->length + length > b->capacity) {
        size_t capacity = b->capacity ? b->capacity : 2048;
        while (capacity < b->length + length) capacity *= 2;
        unsigned char *bytes2 = realloc(b->bytes, capacity);
        if (bytes2 == NULL) { b->failed = 1; return; }
        b->bytes = bytes2;
        b->capacity = capacity;
    }
    memcpy(b->bytes + b->length, bytes, length);
    b->length += length;
}

static void put_long(struct buffer *b, long value) { put(b, &value, sizeof value); }

static void put_string(struct buffer *b, const char *s) {
    long n = s ? (long)strlen(s) : -1;
    put_long(b, n);
    if (s) put(b, s, (size_t)n);
}

static void put_certificate(struct buffer *b, X509 *x) {
    unsigned char *der = NULL;
    int n = i2d_X509(x, &der);
    if (n <= 0) { b->failed = 1; return; }
    put_long(b, n);
    put(b, der, (size_t)n);
    OPENSSL_free(der);
}

static uint64_t fnv1a(const unsigned char *p, size_t n) {
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++) { h ^= p[i]; h *= 1099511628211ULL; }
    return h;
}

static int to_time(const ASN1_TIME *t, time_t *out) {
    struct tm tm;
    if (t == NULL || !ASN1_TIME_to_tm(t, &tm)) return 0;
    *out = timegm(&tm);
    return 1;
}

/* The window in which every certificate of `chain` is valid; 0 when a date cannot be read. */
static int validity(STACK_OF(X509) *chain, time_t *from, time_t *until) {
    int n = sk_X509_num(chain);
    if (n <= 0) return 0;
    for (int i = 0; i < n; i++) {
        X509 *x = sk_X509_value(chain, i);
        time_t nb, na;
        if (!to_time(X509_get0_notBefore(x), &nb) || !to_time(X509_get0_notAfter(x), &na)) return 0;
        if (i == 0 || nb > *from) *from = nb;
        if (i == 0 || na < *until) *until = na;
    }
    return 1;
}

/* A certificate that becomes valid later — an anchor of the store, or one the server sent — could give
 * a fresh verification another path from then on (a renewed root with the old one's name and key):
 * what is remembered ends at the first such notBefore. `next`: the earliest after `now` so far, 0: none. */
static void note_start(X509 *x, time_t now, time_t *next) {
    time_t nb;
    if (x && to_time(X509_get0_notBefore(x), &nb) && nb > now && (*next == 0 || nb < *next)) *next = nb;
}

static void until_store_changes(struct triage_verify_cache *cache, X509_STORE *store, time_t now, time_t *until) {
    if (store == NULL || !X509_STORE_lock(store)) return;
    STACK_OF(X509_OBJECT) *objects = X509_STORE_get0_objects(store);
    int count = objects ? sk_X509_OBJECT_num(objects) : 0;
    pthread_mutex_lock(&cache->lock);
    int fresh = cache->store_checked != 0 && cache->store_count == count && now >= cache->store_checked
        && now - cache->store_checked < cache->seconds
        && (cache->store_next == 0 || cache->store_next > now);
    time_t next = cache->store_next;
    pthread_mutex_unlock(&cache->lock);
    if (!fresh) {
        /* A system store holds some 150 anchors: read once a minute, not at every chain verified. */
        next = 0;
        for (int i = 0; i < count; i++) note_start(X509_OBJECT_get0_X509(sk_X509_OBJECT_value(objects, i)), now, &next);
        pthread_mutex_lock(&cache->lock);
        cache->store_next = next;
        cache->store_checked = now;
        cache->store_count = count;
        pthread_mutex_unlock(&cache->lock);
    }
    X509_STORE_unlock(store);
    if (next != 0 && next < *until) *until = next;
}

static time_t monotonic_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec;
}

static int cached_verify(X509_STORE_CTX *ctx, void *arg) {
    struct triage_verify_cache *cache = arg;
    X509_VERIFY_PARAM *param = X509_STORE_CTX_get0_param(ctx);
    SSL *ssl = X509_STORE_CTX_get_ex_data(ctx, SSL_get_ex_data_X509_STORE_CTX_idx());
    if (ssl != NULL && SSL_get_verify_callback(ssl) != NULL) return X509_verify_cert(ctx);
    unsigned long flags = param ? X509_VERIFY_PARAM_get_flags(param) : 0;
    const unsigned long unsafe = X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL | X509_V_FLAG_POLICY_CHECK
        | X509_V_FLAG_EXPLICIT_POLICY | X509_V_FLAG_USE_DELTAS;
    if (param == NULL || (flags & unsafe)) return X509_verify_cert(ctx);

    time_t now = (flags & X509_V_FLAG_USE_CHECK_TIME) ? X509_VERIFY_PARAM_get_time(param) : time(NULL);
    struct buffer key = {0};
    X509 *leaf = X509_STORE_CTX_get0_cert(ctx);
    /* What the server sent, leaf first (libssl hands the whole list over as untrusted). */
    STACK_OF(X509) *sent = X509_STORE_CTX_get0_untrusted(ctx);
    if (sent == NULL || sk_X509_num(sent) == 0 || sk_X509_value(sent, 0) != leaf) put_certificate(&key, leaf);
    for (int i = 0; sent && i < sk_X509_num(sent); i++) put_certificate(&key, sk_X509_value(sent, i));
    for (int i = 0;; i++) {
        char *host = X509_VERIFY_PARAM_get0_host(param, i);
        put_string(&key, host);
        if (host == NULL) break;
    }
    char *ip = X509_VERIFY_PARAM_get1_ip_asc(param);
    put_string(&key, ip);
    OPENSSL_free(ip);
    put_string(&key, X509_VERIFY_PARAM_get0_email(param));
    X509_STORE *store = X509_STORE_CTX_get0_store(ctx);
    put(&key, &store, sizeof store);
    put_long(&key, X509_VERIFY_PARAM_get_depth(param));
    put_long(&key, (long)(flags & ~(unsigned long)X509_V_FLAG_USE_CHECK_TIME));
    put_long(&key, (long)X509_VERIFY_PARAM_get_hostflags(param));
    put_long(&key, X509_VERIFY_PARAM_get_auth_level(param));
    if (leaf == NULL || key.failed) { free(key.bytes); return X509_verify_cert(ctx); }

    uint64_t hash = fnv1a(key.bytes, key.length);
    struct slot *s = &cache->slots[hash % SLOTS];
    STACK_OF(X509) *remembered = NULL;
    pthread_mutex_lock(&cache->lock);
    if (s->key && s->hash == hash && s->length == key.length && memcmp(s->key, key.bytes, key.length) == 0) {
        if (now >= s->from && now < s->until && now >= s->verified_at && monotonic_seconds() - s->stored < cache->seconds)
            remembered = X509_chain_up_ref(s->chain);
        else clear_slot(s);
    }
    if (remembered) cache->hits++; else cache->misses++;
    pthread_mutex_unlock(&cache->lock);

    if (remembered) {
        free(key.bytes);
        X509_STORE_CTX_set0_verified_chain(ctx, remembered);
        X509_STORE_CTX_set_error(ctx, X509_V_OK);
        X509_STORE_CTX_set_error_depth(ctx, 0);
        X509_STORE_CTX_set_current_cert(ctx, leaf);
        return 1;
    }

    int ok = X509_verify_cert(ctx);
    STACK_OF(X509) *path = X509_STORE_CTX_get0_chain(ctx);
    time_t from = 0, until = 0;
    if (ok == 1 && X509_STORE_CTX_get_error(ctx) == X509_V_OK && path && validity(path, &from, &until)) {
        time_t next = 0;
        for (int i = 0; sent && i < sk_X509_num(sent); i++) note_start(sk_X509_value(sent, i), now, &next);
        if (next != 0 && next < until) until = next;
        until_store_changes(cache, store, now, &until);
        STACK_OF(X509) *copy = X509_chain_up_ref(path);
        if (copy) {
            pthread_mutex_lock(&cache->lock);
            clear_slot(s);
            s->key = key.bytes;
            key.bytes = NULL;
            s->length = key.length;
            s->hash = hash;
            s->chain = copy;
            s->from = from;
            s->until = until;
            s->verified_at = now;
            s->stored = monotonic_seconds();
            pthread_mutex_unlock(&cache->lock);
        }
    }
    free(key.bytes);
    return ok;
}

int triage_verify_cache_install(SSL_CTX *ctx, int seconds) {
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, make_index);
    const char *off = getenv("TRIAGE_VERIFY_CACHE");
    if (ex_index < 0 || seconds <= 0 || (off && strcmp(off, "0") == 0)) return 0;
    struct triage_verify_cache *cache = calloc(1, sizeof *cache);
    if (cache == NULL) return 0;
    pthread_mutex_init(&cache->lock, NULL);
    cache->seconds = seconds;
    if (!SSL_CTX_set_ex_data(ctx, ex_index, cache)) { cache_free(NULL, cache, NULL, 0, 0, NULL); return 0; }
    SSL_CTX_set_cert_verify_callback(ctx, cached_verify, cache);
    return 1;
}

void triage_verify_cache_counts(SSL_CTX *ctx, unsigned long *hits, unsigned long *misses) {
    *hits = 0;
    *misses = 0;
    if (ex_index < 0) return;
    struct triage_verify_cache *cache = SSL_CTX_get_ex_data(ctx, ex_index);
    if (cache == NULL) return;
    pthread_mutex_lock(&cache->lock);
    *hits = cache->hits;
    *misses = cache->misses;
    pthread_mutex_unlock(&cache->lock);
}
