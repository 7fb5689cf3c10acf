/* Child processes that speak the runner protocol: one command line in, one JSON line out. */
#ifndef PROC_H
#define PROC_H

#include <stddef.h>
#include <sys/resource.h>

typedef struct bp_proc bp_proc;

/* Starts argv[0] (searched in PATH) with stdin/stdout piped to us and stderr appended to
 * log_path (NULL: inherited). env lists "NAME=VALUE" to set and "NAME" to unset, NULL-terminated
 * (may be NULL). Returns NULL if the process could not be started. */
bp_proc *bp_start(char *const argv[], const char *const env[], const char *log_path);
/* Sends one line (a newline is added). 0 on success. */
int bp_send(bp_proc *p, const char *line);
/* Reads one line (without the newline) within timeout_s seconds: 0 on success, -1 on end of file or
 * error, -2 on timeout. */
int bp_recv(bp_proc *p, double timeout_s, char *buf, size_t len);
/* Sends "quit", waits a moment, kills the process if it is still there, frees p. NULL-safe. */
void bp_stop(bp_proc *p);
/* Waits for the process to exit by itself (within timeout_s, else kills it); fills *ru with its
 * resource usage (wait4). Returns the exit status, or -1. Frees p. */
int bp_finish(bp_proc *p, double timeout_s, struct rusage *ru);

#endif
