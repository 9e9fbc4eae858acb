#ifndef TRIAGE_CAPTURE_H
#define TRIAGE_CAPTURE_H

/* A live capture through libpcap, which is loaded on first use. */

#include <stddef.h>
#include <stdint.h>

typedef struct triage_capture triage_capture;

/* Opens `device` (32 MiB TPACKET_V3 ring) with a BPF `filter`; NULL with `error`
 * filled (libpcap's message) when libpcap is missing, the device does not
 * exist, the filter does not compile, or the process may not capture. */
triage_capture *triage_capture_open(const char *device, const char *filter, int snaplen, char *error, size_t error_size);
/* Why the last triage_capture_open on this thread failed, by libpcap's code: 1 when it was
 * PCAP_ERROR_PERM_DENIED (the process may not capture), 0 otherwise. */
int triage_capture_denied(void);
int triage_capture_datalink(triage_capture *c);

/* The longest the kernel holds captured packets before handing them over. */
#define TRIAGE_CAPTURE_TIMEOUT_MS 10

/* 1: a packet (valid until the next call), 0: none within wait_ms
 * (0: none buffered right now), -1: error. */
int triage_capture_next(triage_capture *c, int wait_ms, const uint8_t **data, uint32_t *captured, uint32_t *original, int64_t *microseconds);
/* Packets the kernel dropped (buffer full) so far, or -1 when unknown. */
long triage_capture_kernel_drops(triage_capture *c);
void triage_capture_close(triage_capture *c);

#endif
