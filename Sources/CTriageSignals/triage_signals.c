#define _GNU_SOURCE
#include "triage_signals.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

static volatile sig_atomic_t signals_seen = 0;
/* Set once Swift reads the pipe; until then (and in the commands that never
 * read it: --version, explain) a signal exits at once with 130. */
static volatile sig_atomic_t listening = 0;
static int signal_pipe[2] = {-1, -1};

/* Async-signal-safe only: a counter, write(2), _exit(2). */
static void on_signal(int number) {
    int saved = errno;
    signals_seen = signals_seen + 1;
    /* The second is handled in Swift (cleanup, then exit); a third means
     * even that is stuck. */
    if (signals_seen >= 3 || !listening) _exit(130);
    char byte = (char)number;
    if (signal_pipe[1] >= 0) (void)!write(signal_pipe[1], &byte, 1);
    errno = saved;
}

/* A standard descriptor the parent left closed (`>&- 2>&-`, a daemon, cron) is opened on /dev/null
 * before anything else: the next pipe, file or socket would take its number, and what triage writes to
 * "stderr" would go into it: the signal pipe below, which then read a progress line as a signal and
 * exited 130 with no report. */
static void open_standard_descriptors(void) {
    for (int fd = 0; fd <= 2; fd++) {
        if (fcntl(fd, F_GETFD) != -1 || errno != EBADF) continue;
        int opened = open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY);   /* the lowest free number: fd */
        if (opened >= 0 && opened != fd) close(opened);
    }
}

static void install_signal_handlers(void) {
    open_standard_descriptors();
    if (pipe2(signal_pipe, O_CLOEXEC) != 0) {
        signal_pipe[0] = signal_pipe[1] = -1;
    } else {
        /* The handler must never block on a full pipe. */
        fcntl(signal_pipe[1], F_SETFL, O_NONBLOCK);
    }
    struct sigaction action = {0};
    action.sa_handler = on_signal;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESTART;
    sigaction(SIGINT, &action, NULL);
    sigaction(SIGTERM, &action, NULL);
    /* A closed pipe is an error on write, not a death. */
    signal(SIGPIPE, SIG_IGN);
}

int triage_signals_fd(void) { return signal_pipe[0]; }
int triage_signals_count(void) { return signals_seen; }
void triage_signals_listen(void) { listening = 1; }

/* .preinit_array: run by the dynamic loader before any library's
 * initialisers (Foundation's, ICU's, the Swift runtime's), which take tens
 * of milliseconds during which a SIGINT would otherwise be fatal. Only an
 * executable may have one; this file is linked into the triage executable
 * alone. */
__attribute__((section(".preinit_array"), used))
static void (*const preinit_signal_handlers)(void) = install_signal_handlers;

int triage_flush_stdout(void) {
    errno = 0;
    if (fflush(stdout) != 0) return errno ? errno : EIO;
    if (!ferror(stdout)) return 0;
    /* An earlier write failed (a large print() goes out unbuffered, its error only flagged): on a pipe or a
     * socket that is a reader that left (EPIPE); on a file or a device the result is lost. */
    struct stat st;
    if (fstat(STDOUT_FILENO, &st) == 0 && (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode))) return EPIPE;
    return EIO;
}
