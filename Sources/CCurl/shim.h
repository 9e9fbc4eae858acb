#ifndef TRIAGE_CCURL_SHIM_H
#define TRIAGE_CCURL_SHIM_H
#include <curl/curl.h>
#endif
