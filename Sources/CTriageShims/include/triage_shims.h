#ifndef TRIAGE_SHIMS_H
#define TRIAGE_SHIMS_H

/* Small C functions for what Swift cannot call directly: macros, variadic
 * setters, callbacks. Every function is prefixed triage_. */

#include <openssl/ssl.h>
#include <curl/curl.h>
#include <pcap/pcap.h>

/* Versions of the linked libraries, for the report's background. */
const char *triage_openssl_version(void);
const char *triage_curl_version(void);
const char *triage_pcap_version(void);

#endif
