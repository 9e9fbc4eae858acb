#ifndef TRIAGE_CPCAP_SHIM_H
#define TRIAGE_CPCAP_SHIM_H
#include <pcap/pcap.h>
#endif
