#include "triage_shims.h"

const char *triage_openssl_version(void) { return OpenSSL_version(OPENSSL_VERSION); }
const char *triage_curl_version(void) { return curl_version(); }
const char *triage_pcap_version(void) { return pcap_lib_version(); }
