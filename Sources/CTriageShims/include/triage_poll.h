#ifndef TRIAGE_POLL_H
#define TRIAGE_POLL_H

/* epoll and eventfd for the handshake event loop: struct epoll_event is
 * packed on x86-64 and holds a union, which Swift does not import cleanly. */

#include <stdint.h>

#define TRIAGE_POLL_IN 0x001u
#define TRIAGE_POLL_OUT 0x004u
#define TRIAGE_POLL_ERR 0x008u
#define TRIAGE_POLL_HUP 0x010u

/* An epoll instance (close-on-exec), or -1 with errno set. */
int triage_poll_create(void);
/* op: 0 add, 1 modify, 2 delete. events: TRIAGE_POLL_* bits. */
int triage_poll_control(int poller, int op, int fd, uint32_t events);
/* Waits up to timeout_ms; fills fds/events; returns their number, 0 on
 * timeout, -1 on error (EINTR included). */
int triage_poll_wait(int poller, int *fds, uint32_t *events, int max, int timeout_ms);
/* A non-blocking, close-on-exec eventfd to wake the loop; -1 on error. */
int triage_event_create(void);
void triage_event_signal(int fd);
void triage_event_drain(int fd);

#include <spawn.h>
/* Adds "close every descriptor >= lowest" to a spawn's file actions
 * (glibc's posix_spawn_file_actions_addclosefrom_np, a _GNU_SOURCE name):
 * a child gets stdin, stdout, stderr and none of this process's sockets,
 * pipes or files. 0 or an errno. */
int triage_spawn_close_from(posix_spawn_file_actions_t *actions, int lowest);
/* How many descriptors this process has open (entries of /proc/self/fd),
 * or -1 when that cannot be read. */
int triage_open_descriptor_count(void);

#endif
