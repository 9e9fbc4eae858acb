#define _GNU_SOURCE
#include "triage_poll.h"

#include <dirent.h>
#include <spawn.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include <errno.h>

int triage_poll_create(void) { return epoll_create1(EPOLL_CLOEXEC); }

int triage_poll_control(int poller, int op, int fd, uint32_t events) {
    struct epoll_event e = { .events = events, .data = { .fd = fd } };
    int ops[3] = { EPOLL_CTL_ADD, EPOLL_CTL_MOD, EPOLL_CTL_DEL };
    return epoll_ctl(poller, ops[op < 0 || op > 2 ? 0 : op], fd, &e);
}

int triage_poll_wait(int poller, int *fds, uint32_t *events, int max, int timeout_ms) {
    struct epoll_event ready[256];
    if (max > 256) max = 256;
    int n = epoll_wait(poller, ready, max, timeout_ms);
    for (int i = 0; i < n; i++) { fds[i] = ready[i].data.fd; events[i] = ready[i].events; }
    return n;
}

int triage_event_create(void) { return eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC); }

void triage_event_signal(int fd) {
    uint64_t one = 1;
    ssize_t n = write(fd, &one, sizeof one);
    (void)n;
}

void triage_event_drain(int fd) {
    uint64_t value;
    while (read(fd, &value, sizeof value) > 0) {}
}

int triage_spawn_close_from(posix_spawn_file_actions_t *actions, int lowest) {
    return posix_spawn_file_actions_addclosefrom_np(actions, lowest);
}

int triage_open_descriptor_count(void) {
    DIR *dir = opendir("/proc/self/fd");
    if (!dir) return -1;
    int count = 0;
    struct dirent *entry;
    while ((entry = readdir(dir))) if (entry->d_name[0] != '.') count++;
    closedir(dir);
    return count - 1; /* the directory's own descriptor */
}
