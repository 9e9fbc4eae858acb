#include "triage_capture.h"
#include "triage_shims.h"

#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>

struct triage_capture { pcap_t *pcap; int fd; };

#define TRIAGE_CAPTURE_BUFFER (32 << 20)

#define PCAP_SYM(type, name) ((type)triage_lazy_symbol(1, name))

static _Thread_local int capture_denied;
int triage_capture_denied(void) { return capture_denied; }

triage_capture *triage_capture_open(const char *device, const char *filter, int snaplen, char *error, size_t error_size) {
    capture_denied = 0;
    pcap_t *(*create)(const char *, char *) = PCAP_SYM(pcap_t *(*)(const char *, char *), "pcap_create");
    int (*set_snaplen)(pcap_t *, int) = PCAP_SYM(int (*)(pcap_t *, int), "pcap_set_snaplen");
    int (*set_timeout)(pcap_t *, int) = PCAP_SYM(int (*)(pcap_t *, int), "pcap_set_timeout");
    int (*set_immediate)(pcap_t *, int) = PCAP_SYM(int (*)(pcap_t *, int), "pcap_set_immediate_mode");
    int (*set_buffer_size)(pcap_t *, int) = PCAP_SYM(int (*)(pcap_t *, int), "pcap_set_buffer_size");
    int (*activate)(pcap_t *) = PCAP_SYM(int (*)(pcap_t *), "pcap_activate");
    char *(*geterr)(pcap_t *) = PCAP_SYM(char *(*)(pcap_t *), "pcap_geterr");
    int (*compile)(pcap_t *, struct bpf_program *, const char *, int, bpf_u_int32) =
        PCAP_SYM(int (*)(pcap_t *, struct bpf_program *, const char *, int, bpf_u_int32), "pcap_compile");
    int (*setfilter)(pcap_t *, struct bpf_program *) = PCAP_SYM(int (*)(pcap_t *, struct bpf_program *), "pcap_setfilter");
    void (*freecode)(struct bpf_program *) = PCAP_SYM(void (*)(struct bpf_program *), "pcap_freecode");
    void (*close_fn)(pcap_t *) = PCAP_SYM(void (*)(pcap_t *), "pcap_close");
    if (!create || !activate || !compile || !setfilter || !close_fn) {
        snprintf(error, error_size, "%s", triage_lazy_error());
        return NULL;
    }
    char message[PCAP_ERRBUF_SIZE] = {0};
    pcap_t *p = create(device, message);
    if (!p) { snprintf(error, error_size, "%s", message); return NULL; }
    set_snaplen(p, snaplen);
    /* Not immediate mode: that makes libpcap use TPACKET_V2, one ring slot
     * per packet sized for the snap length (64 KiB on lo), so a 32 MiB ring
     * holds ~500 packets and a burst overran it while the reader lagged
     * (measured: 575 of 1000 datagrams kept on a loaded machine). TPACKET_V3
     * packs packets into blocks handed over at most TRIAGE_CAPTURE_TIMEOUT_MS
     * later; capture.stop waits that long for the last block. */
    set_timeout(p, TRIAGE_CAPTURE_TIMEOUT_MS);
    set_immediate(p, 0);
    if (set_buffer_size) set_buffer_size(p, TRIAGE_CAPTURE_BUFFER);
    int rc = activate(p);
    if (rc < 0) {
        capture_denied = rc == PCAP_ERROR_PERM_DENIED;
        snprintf(error, error_size, "%s", geterr(p));
        close_fn(p);
        return NULL;
    }
    struct bpf_program program;
    if (compile(p, &program, filter, 1, PCAP_NETMASK_UNKNOWN) != 0) {
        snprintf(error, error_size, "bad capture filter '%s': %s", filter, geterr(p));
        close_fn(p);
        return NULL;
    }
    rc = setfilter(p, &program);
    freecode(&program);
    if (rc != 0) { snprintf(error, error_size, "%s", geterr(p)); close_fn(p); return NULL; }
    /* Non-blocking plus poll: a blocking pcap_next_ex waits for the next
     * packet with no bound the caller controls, and the reader must be able
     * to drain the ring and stop on its own schedule. */
    int (*setnonblock)(pcap_t *, int, char *) = PCAP_SYM(int (*)(pcap_t *, int, char *), "pcap_setnonblock");
    if (setnonblock) setnonblock(p, 1, message);
    triage_capture *c = calloc(1, sizeof *c);
    c->pcap = p;
    int (*selectable)(pcap_t *) = PCAP_SYM(int (*)(pcap_t *), "pcap_get_selectable_fd");
    c->fd = selectable ? selectable(p) : -1;
    return c;
}

int triage_capture_datalink(triage_capture *c) {
    return PCAP_SYM(int (*)(pcap_t *), "pcap_datalink")(c->pcap);
}

int triage_capture_next(triage_capture *c, int wait_ms, const uint8_t **data, uint32_t *captured, uint32_t *original, int64_t *microseconds) {
    struct pcap_pkthdr *header;
    const u_char *bytes;
    int rc = PCAP_SYM(int (*)(pcap_t *, struct pcap_pkthdr **, const u_char **), "pcap_next_ex")(c->pcap, &header, &bytes);
    if (rc == 0 && c->fd >= 0 && wait_ms > 0) {
        struct pollfd p = { c->fd, POLLIN, 0 };
        poll(&p, 1, wait_ms);
        return 0;
    }
    if (rc != 1) return rc == 0 ? 0 : -1;
    *data = bytes;
    *captured = header->caplen;
    *original = header->len;
    *microseconds = (int64_t)header->ts.tv_sec * 1000000 + header->ts.tv_usec;
    return 1;
}

long triage_capture_kernel_drops(triage_capture *c) {
    int (*stats)(pcap_t *, struct pcap_stat *) = PCAP_SYM(int (*)(pcap_t *, struct pcap_stat *), "pcap_stats");
    struct pcap_stat s;
    if (!stats || stats(c->pcap, &s) != 0) return -1;
    return (long)s.ps_drop;
}

void triage_capture_close(triage_capture *c) {
    if (!c) return;
    PCAP_SYM(void (*)(pcap_t *), "pcap_close")(c->pcap);
    free(c);
}
