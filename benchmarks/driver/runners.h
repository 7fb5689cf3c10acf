/* Starting and stopping the runner processes (tensorjit, C limit, peers). */
#ifndef RUNNERS_H
#define RUNNERS_H

#include "bench.h"

typedef struct {
    const char *tjrun;     /* the tjrun binary */
    const char *peers_dir; /* benchmarks/peers */
    const char *log_dir;   /* each runner's stderr goes to LOG_DIR/NAME.log */
    const char *pythons[8];
    int npythons;
} bx_paths;

/* Starts every runner and waits for its hello; a runner that cannot start keeps proc NULL and a
 * note saying why (a missing peer is a note, never an error). */
void bx_start_runners(bx_run *run, const bx_paths *paths, bool with_peers);
void bx_stop_runners(bx_run *run);

#endif
