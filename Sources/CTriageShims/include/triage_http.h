#ifndef TRIAGE_HTTP_H
#define TRIAGE_HTTP_H

/* One HTTP exchange through libcurl, which is loaded on first use.
 * curl_easy_setopt / curl_easy_getinfo are variadic, so each argument kind
 * gets a typed function; the callbacks (body, headers, verbose trace,
 * progress for cancellation) live here and fill bounded buffers. */

#include <stddef.h>
#include <stdint.h>

typedef struct triage_http triage_http;

/* NULL when libcurl cannot be loaded (see triage_lazy_error). */
triage_http *triage_http_new(size_t body_limit);
void triage_http_free(triage_http *h);

int triage_http_set_str(triage_http *h, int option, const char *value);
int triage_http_set_long(triage_http *h, int option, long value);
/* Appends to the list behind option (CURLOPT_HTTPHEADER, CURLOPT_RESOLVE, CURLOPT_CONNECT_TO). */
int triage_http_add_list(triage_http *h, int option, const char *value);
int triage_http_set_body(triage_http *h, const char *data, long length);

/* Performs the transfer; returns the CURLcode. The progress callback asks
 * is_cancelled(arg) and aborts the transfer when it returns non-zero. */
int triage_http_perform(triage_http *h, int (*is_cancelled)(void *), void *arg);

long triage_http_info_long(triage_http *h, int info);
int64_t triage_http_info_off(triage_http *h, int info);
const char *triage_http_info_str(triage_http *h, int info);
const char *triage_http_strerror(int code);
const char *triage_http_error_text(triage_http *h);

const char *triage_http_body(triage_http *h, size_t *length);
size_t triage_http_body_total(triage_http *h);
/* Stop the transfer once the body passes `cap` bytes (0: read it all); whether that happened. */
void triage_http_set_body_cap(triage_http *h, size_t cap);
int triage_http_body_capped(triage_http *h);
const char *triage_http_headers(triage_http *h, size_t *length);
const char *triage_http_trace(triage_http *h, size_t *length);
/* Bytes of whole trace lines left out once the trace reached its limit. */
size_t triage_http_trace_dropped(triage_http *h);
/* Every header byte received, kept or not. */
size_t triage_http_header_total(triage_http *h);
/* TLS record bytes received: progress even when no whole header line came. */
size_t triage_http_tls_in(triage_http *h);
/* Plaintext bytes of the application data received on TLS (the response as the server sent it,
 * an unfinished header line included). */
size_t triage_http_app_in(triage_http *h);
/* Verify the server's certificates as of Unix time `t` (`--at`) instead of now. */
void triage_http_set_verify_time(triage_http *h, int64_t t);

/* TLS alerts on curl's own connection, in order: sent = 1 when this side
 * (the client) sent it. Returns -1 past the end. */
int triage_http_alert_count(triage_http *h);
int triage_http_alert(triage_http *h, int i, int *sent, int *level, int *code);

#endif
