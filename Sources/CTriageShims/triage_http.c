#include "triage_http.h"
#include "triage_shims.h"

#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>

typedef struct { char *data; size_t length, capacity, limit, dropped; } buffer;

#define TRIAGE_HTTP_MAX_ALERTS 16

struct triage_http {
    CURL *easy;
    struct curl_slist *lists[3];
    int list_options[3];
    buffer body, headers, trace;
    size_t body_total, header_total;
    /* Past this many body bytes the transfer is stopped (0: never), and `body_capped` says so. */
    size_t body_cap;
    int body_capped;
    /* TLS bytes received (encrypted records), as curl's debug callback reports them. */
    size_t tls_in;
    /* Plaintext bytes of the application-data records received (the response as sent, partial
     * header lines included); `last_app` is the latest record's share, taken back when TLS 1.3
     * reveals that record held a handshake message (a session ticket) instead. */
    size_t app_in, last_app;
    /* `--at`: certificates verified as of this Unix time (0: now). */
    int64_t verify_time;
    int (*is_cancelled)(void *);
    void *cancel_arg;
    char error[CURL_ERROR_SIZE];
    /* TLS alerts on curl's connection: (sent by us, level, code). */
    int alert_count;
    unsigned char alerts[TRIAGE_HTTP_MAX_ALERTS][3];
};

typedef CURL *(*easy_init_fn)(void);
typedef CURLcode (*easy_setopt_fn)(CURL *, CURLoption, ...);
typedef CURLcode (*easy_getinfo_fn)(CURL *, CURLINFO, ...);
typedef CURLcode (*easy_perform_fn)(CURL *);
typedef void (*easy_cleanup_fn)(CURL *);
typedef struct curl_slist *(*slist_append_fn)(struct curl_slist *, const char *);
typedef void (*slist_free_fn)(struct curl_slist *);
typedef const char *(*strerror_fn)(CURLcode);

#define CURL_SYM(type, name) ((type)triage_lazy_symbol(0, name))

static void append(buffer *b, const char *data, size_t n) {
    if (b->length >= b->limit) { b->dropped += n; return; }
    if (n > b->limit - b->length) { b->dropped += n - (b->limit - b->length); n = b->limit - b->length; }
    if (b->length + n + 1 > b->capacity) {
        size_t capacity = (b->length + n + 1) * 2;
        char *grown = realloc(b->data, capacity);
        if (!grown) return;
        b->data = grown;
        b->capacity = capacity;
    }
    memcpy(b->data + b->length, data, n);
    b->length += n;
    b->data[b->length] = 0;
}

static size_t on_body(char *data, size_t size, size_t count, void *user) {
    triage_http *h = user;
    append(&h->body, data, size * count);
    h->body_total += size * count;
    /* A large download (its Content-Length declared, past the cap) is not read to its end:
     * returning less than was given stops the transfer (CURLE_WRITE_ERROR), which the caller reads
     * as "capped". A body of unknown length is read on: whether it ends is what is being checked. */
    if (h->body_cap && h->body_total > h->body_cap && !h->body_capped) {
        curl_off_t declared = -1;
        easy_getinfo_fn getinfo = CURL_SYM(easy_getinfo_fn, "curl_easy_getinfo");
        if (getinfo && getinfo(h->easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &declared) == CURLE_OK && declared > (curl_off_t)h->body_cap) {
            h->body_capped = 1;
            return 0;
        }
        h->body_cap = 0;
    }
    return size * count;
}

static size_t on_header(char *data, size_t size, size_t count, void *user) {
    triage_http *h = user;
    append(&h->headers, data, size * count);
    h->header_total += size * count;
    return size * count;
}

/* Whole lines only: once the limit is reached, lines are counted as
 * dropped rather than cut in the middle. */
static void trace_lines(buffer *b, const char *prefix, const char *data, size_t n) {
    size_t start = 0;
    size_t prefix_length = strlen(prefix);
    for (size_t i = 0; i <= n; i++) {
        if (i == n || data[i] == '\n') {
            size_t end = i;
            if (end > start && data[end - 1] == '\r') end--;
            if (end > start || i < n) {
                size_t line = prefix_length + (end - start) + 1;
                if (b->dropped || b->length + line > b->limit) {
                    b->dropped += line;
                } else {
                    append(b, prefix, prefix_length);
                    append(b, data + start, end - start);
                    append(b, "\n", 1);
                }
            }
            start = i + 1;
        }
    }
}

static const char *handshake_name(int type) {
    switch (type) {
    case 1: return "ClientHello"; case 2: return "ServerHello"; case 4: return "NewSessionTicket";
    case 8: return "EncryptedExtensions"; case 11: return "Certificate"; case 12: return "ServerKeyExchange";
    case 13: return "CertificateRequest"; case 14: return "ServerHelloDone"; case 15: return "CertificateVerify";
    case 16: return "ClientKeyExchange"; case 20: return "Finished"; default: return "message";
    }
}

/* Installed on curl's SSL_CTX, it replaces curl's own verbose TLS lines:
 * it writes its own (messages and alerts, with direction), counts the
 * record bytes received, and keeps the alerts with their sender. */
static void on_tls_message(int write_p, int version, int content_type, const void *buf, size_t len, SSL *ssl, void *arg) {
    (void)version;
    triage_http *h = arg;
    const unsigned char *b = buf;
    if (!h || !b) return;
    if (content_type == SSL3_RT_HEADER && len >= 5 && !write_p) {
        size_t body = ((size_t)b[3] << 8) | b[4];
        h->tls_in += 5 + body;
        h->last_app = 0;
        if (b[0] == SSL3_RT_APPLICATION_DATA) {
            /* What the record adds to its plaintext: TLS 1.3 the inner type byte and a 16-byte tag;
             * TLS 1.2 AEAD an explicit 8-byte nonce (none for ChaCha20) and the tag; CBC's padding
             * and MAC are not known here, and are counted. */
            size_t overhead = 0;
            const SSL_CIPHER *cipher = ssl ? SSL_get_current_cipher(ssl) : NULL;
            if (ssl && SSL_version(ssl) == TLS1_3_VERSION) overhead = 17;
            else if (cipher && SSL_CIPHER_is_aead(cipher))
                overhead = SSL_CIPHER_get_cipher_nid(cipher) == NID_chacha20_poly1305 ? 16 : 24;
            h->last_app = body > overhead ? body - overhead : 0;
            h->app_in += h->last_app;
        }
        return;
    }
    if (content_type == SSL3_RT_INNER_CONTENT_TYPE && len >= 1 && !write_p) {
        if (b[0] != SSL3_RT_APPLICATION_DATA) { h->app_in -= h->last_app; h->last_app = 0; }
        return;
    }
    char line[128];
    if (content_type == SSL3_RT_HANDSHAKE && len >= 1) {
        snprintf(line, sizeof line, "TLS (%s) Handshake %s (%d)", write_p ? "OUT" : "IN", handshake_name(b[0]), b[0]);
        trace_lines(&h->trace, "* ", line, strlen(line));
        return;
    }
    if (content_type != SSL3_RT_ALERT || len < 2) return;
    snprintf(line, sizeof line, "TLS (%s) Alert %s %d", write_p ? "OUT" : "IN", b[0] == 2 ? "fatal" : "warning", b[1]);
    trace_lines(&h->trace, "* ", line, strlen(line));
    if (h->alert_count >= TRIAGE_HTTP_MAX_ALERTS) return;
    h->alerts[h->alert_count][0] = (unsigned char)(write_p ? 1 : 0);
    h->alerts[h->alert_count][1] = b[0];
    h->alerts[h->alert_count][2] = b[1];
    h->alert_count++;
}

/* libcurl hands over its SSL_CTX before connecting: watch its alerts. */
static CURLcode on_ssl_ctx(CURL *easy, void *ctx, void *user) {
    (void)easy;
    triage_http *h = user;
    if (h && h->verify_time > 0) X509_VERIFY_PARAM_set_time(SSL_CTX_get0_param((SSL_CTX *)ctx), (time_t)h->verify_time);
    SSL_CTX_set_msg_callback((SSL_CTX *)ctx, on_tls_message);
    SSL_CTX_set_msg_callback_arg((SSL_CTX *)ctx, user);
    return CURLE_OK;
}

static int on_debug(CURL *easy, curl_infotype type, char *data, size_t n, void *user) {
    (void)easy;
    buffer *b = &((triage_http *)user)->trace;
    char note[64];
    switch (type) {
    case CURLINFO_TEXT: trace_lines(b, "* ", data, n && data[n - 1] == '\n' ? n - 1 : n); break;
    case CURLINFO_HEADER_OUT: trace_lines(b, "> ", data, n >= 2 && data[n - 1] == '\n' ? n - 1 : n); break;
    case CURLINFO_HEADER_IN: trace_lines(b, "< ", data, n && data[n - 1] == '\n' ? n - 1 : n); break;
    case CURLINFO_DATA_IN: snprintf(note, sizeof note, "{ [%zu bytes data]", n); trace_lines(b, "", note, strlen(note)); break;
    case CURLINFO_DATA_OUT: snprintf(note, sizeof note, "} [%zu bytes data]", n); trace_lines(b, "", note, strlen(note)); break;
    default: break;
    }
    return 0;
}

static int on_progress(void *user, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d) {
    (void)a; (void)b; (void)c; (void)d;
    triage_http *h = user;
    return h->is_cancelled && h->is_cancelled(h->cancel_arg) ? 1 : 0;
}

triage_http *triage_http_new(size_t body_limit) {
    easy_init_fn init = CURL_SYM(easy_init_fn, "curl_easy_init"); /* loading also runs curl_global_init */
    easy_setopt_fn setopt = CURL_SYM(easy_setopt_fn, "curl_easy_setopt");
    if (!init || !setopt) return NULL;
    triage_http *h = calloc(1, sizeof *h);
    h->easy = init();
    if (!h->easy) { free(h); return NULL; }
    h->body.limit = body_limit;
    h->headers.limit = 256 * 1024;
    h->trace.limit = 1024 * 1024;
    h->list_options[0] = CURLOPT_HTTPHEADER;
    h->list_options[1] = CURLOPT_RESOLVE;
    h->list_options[2] = CURLOPT_CONNECT_TO;
    setopt(h->easy, CURLOPT_NOSIGNAL, 1L);
    setopt(h->easy, CURLOPT_ERRORBUFFER, h->error);
    setopt(h->easy, CURLOPT_WRITEFUNCTION, on_body);
    setopt(h->easy, CURLOPT_WRITEDATA, h);
    setopt(h->easy, CURLOPT_HEADERFUNCTION, on_header);
    setopt(h->easy, CURLOPT_HEADERDATA, h);
    setopt(h->easy, CURLOPT_VERBOSE, 1L); /* the debug callback is only called in verbose mode */
    setopt(h->easy, CURLOPT_DEBUGFUNCTION, on_debug);
    setopt(h->easy, CURLOPT_DEBUGDATA, h);
    setopt(h->easy, CURLOPT_NOPROGRESS, 0L);
    setopt(h->easy, CURLOPT_XFERINFOFUNCTION, on_progress);
    setopt(h->easy, CURLOPT_XFERINFODATA, h);
    setopt(h->easy, CURLOPT_SSL_CTX_FUNCTION, on_ssl_ctx);
    setopt(h->easy, CURLOPT_SSL_CTX_DATA, h);
    return h;
}

void triage_http_free(triage_http *h) {
    if (!h) return;
    CURL_SYM(easy_cleanup_fn, "curl_easy_cleanup")(h->easy);
    slist_free_fn free_list = CURL_SYM(slist_free_fn, "curl_slist_free_all");
    for (int i = 0; i < 3; i++) if (h->lists[i]) free_list(h->lists[i]);
    free(h->body.data); free(h->headers.data); free(h->trace.data);
    free(h);
}

int triage_http_set_str(triage_http *h, int option, const char *value) {
    return CURL_SYM(easy_setopt_fn, "curl_easy_setopt")(h->easy, (CURLoption)option, value);
}

int triage_http_set_long(triage_http *h, int option, long value) {
    return CURL_SYM(easy_setopt_fn, "curl_easy_setopt")(h->easy, (CURLoption)option, value);
}

int triage_http_add_list(triage_http *h, int option, const char *value) {
    for (int i = 0; i < 3; i++) {
        if (h->list_options[i] != option) continue;
        h->lists[i] = CURL_SYM(slist_append_fn, "curl_slist_append")(h->lists[i], value);
        return CURL_SYM(easy_setopt_fn, "curl_easy_setopt")(h->easy, (CURLoption)option, h->lists[i]);
    }
    return CURLE_BAD_FUNCTION_ARGUMENT;
}

int triage_http_set_body(triage_http *h, const char *data, long length) {
    easy_setopt_fn setopt = CURL_SYM(easy_setopt_fn, "curl_easy_setopt");
    setopt(h->easy, CURLOPT_POSTFIELDSIZE, length);
    return setopt(h->easy, CURLOPT_COPYPOSTFIELDS, data);
}

int triage_http_perform(triage_http *h, int (*is_cancelled)(void *), void *arg) {
    h->is_cancelled = is_cancelled;
    h->cancel_arg = arg;
    return CURL_SYM(easy_perform_fn, "curl_easy_perform")(h->easy);
}

long triage_http_info_long(triage_http *h, int info) {
    long value = 0;
    CURL_SYM(easy_getinfo_fn, "curl_easy_getinfo")(h->easy, (CURLINFO)info, &value);
    return value;
}

int64_t triage_http_info_off(triage_http *h, int info) {
    curl_off_t value = 0;
    CURL_SYM(easy_getinfo_fn, "curl_easy_getinfo")(h->easy, (CURLINFO)info, &value);
    return (int64_t)value;
}

const char *triage_http_info_str(triage_http *h, int info) {
    char *value = NULL;
    CURL_SYM(easy_getinfo_fn, "curl_easy_getinfo")(h->easy, (CURLINFO)info, &value);
    return value;
}

const char *triage_http_strerror(int code) {
    strerror_fn f = CURL_SYM(strerror_fn, "curl_easy_strerror");
    return f ? f((CURLcode)code) : "libcurl is not available";
}

const char *triage_http_error_text(triage_http *h) { return h->error; }
const char *triage_http_body(triage_http *h, size_t *n) { *n = h->body.length; return h->body.data ? h->body.data : ""; }
size_t triage_http_body_total(triage_http *h) { return h->body_total; }
void triage_http_set_body_cap(triage_http *h, size_t cap) { h->body_cap = cap; }
int triage_http_body_capped(triage_http *h) { return h->body_capped; }
const char *triage_http_headers(triage_http *h, size_t *n) { *n = h->headers.length; return h->headers.data ? h->headers.data : ""; }
const char *triage_http_trace(triage_http *h, size_t *n) { *n = h->trace.length; return h->trace.data ? h->trace.data : ""; }
size_t triage_http_trace_dropped(triage_http *h) { return h->trace.dropped; }
size_t triage_http_header_total(triage_http *h) { return h->header_total; }
size_t triage_http_tls_in(triage_http *h) { return h->tls_in; }
size_t triage_http_app_in(triage_http *h) { return h->app_in; }
void triage_http_set_verify_time(triage_http *h, int64_t t) { h->verify_time = t; }

int triage_http_alert_count(triage_http *h) { return h->alert_count; }
int triage_http_alert(triage_http *h, int i, int *sent, int *level, int *code) {
    if (i < 0 || i >= h->alert_count) return -1;
    *sent = h->alerts[i][0];
    *level = h->alerts[i][1];
    *code = h->alerts[i][2];
    return 0;
}
