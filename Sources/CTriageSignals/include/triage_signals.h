#ifndef TRIAGE_SIGNALS_H
#define TRIAGE_SIGNALS_H

/* SIGINT and SIGTERM for the triage executable, from before main: the
 * dynamic loader's preinit array installs the handler, so no signal is lost or fatal while the
 * Swift runtime starts. The handler counts signals and writes one byte per
 * signal to a pipe that Swift reads; a third signal exits at once (130), and
 * so does any signal before Swift listens. */

/* The read end of the pipe: one byte (the signal number) per signal. */
int triage_signals_fd(void);
/* How many SIGINT/SIGTERM have arrived so far. */
int triage_signals_count(void);
/* From now on a signal is written to the pipe for Swift to read; before
 * this call it exits the process at once with status 130. */
void triage_signals_listen(void);
/* Flushes stdio's stdout (what `print` wrote): 0, or the errno of the write that failed. */
int triage_flush_stdout(void);

#endif
