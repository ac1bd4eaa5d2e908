/*
 * embed.h - the interface through which the moonbox program (lua/) drives
 * the engine: options, start-up, per-core hooks, running, counters,
 * shutdown. Exported from libmoonbox.so as mbx_*; not for plugins.
 */
#ifndef MB_EMBED_H
#define MB_EMBED_H

#include "mtcp_api.h"
#include "opts.h"
#include "stats.h"

/* Runs on a core's own thread before it reads input; non-zero fails the
 * start-up. */
typedef int (*mbx_hook_fn)(mctx_t mctx, void *arg);
/* Replaces a core's C run loop (the Lua host's loop). */
typedef int (*mbx_run_fn)(mctx_t mctx, void *arg);

void mbx_opts_defaults(struct mb_opts *o);
int mbx_opts_parse(struct mb_opts *o, int argc, char **argv);
/* --check: the options of a run that loads and ends (opts_for_check). */
void mbx_opts_for_check(struct mb_opts *o);
void mbx_usage(FILE *f, const char *prog);

/* EAL, ports and packet buffers; -1 after printing a one-line error. */
int mbx_init(const struct mb_opts *o, const char *prog);
/* Configure ports for o->cores cores and create the cores' contexts; each
 * core runs hook on its own thread. */
int mbx_start(mbx_hook_fn hook, void *arg);
/* Wait until every core ran its hook; -1 if one failed. */
int mbx_wait_ready(void);
/* 0 while some core still runs its hook, 1 when all did, -1 if one
 * failed (all others done). */
int mbx_poll_ready(void);
/* 1 once the core's hook has finished (it reads input or waits to). */
int mbx_core_started(mctx_t mctx);
/* Start reading input. */
void mbx_release(void);
/* Set the run loop of the calling core (from its hook). */
void mbx_set_run(mctx_t mctx, mbx_run_fn run, void *arg);
/* The engine's own C run loop (for run functions that wrap it). */
int mbx_run_c(mctx_t mctx);
/* Count a Lua call skipped because the core's script was stopped. */
void mbx_count_skipped(mctx_t mctx);
/* For the watchdog: whether a Lua function runs on the core, and its
 * heartbeat (moves each time the Lua loop advances the engine). */
void mbx_core_activity(mctx_t mctx, int *busy, uint64_t *heartbeat);
/* Ask all cores to stop. */
void mbx_stop(void);
/* 1 while a core is still running. */
int mbx_running(void);
/* Wait for all cores and the distributor, then close the -w file: -1
 * (reported on stderr) if it could not be written whole. */
int mbx_wait(void);
/* Sum of all counters so far (racy while running: for progress only). */
void mbx_totals(struct stats *total);
/* The sum of a struct stats' dropped_* counters. */
uint64_t mbx_dropped(const struct stats *s);
/* The share of the -r file read so far (0 to 1), -1 if unknown. */
double mbx_read_progress(void);
/* Write the --stats file: final (1) once the cores are done, or a
 * snapshot while they run (0; racy as mbx_totals, replaced whole). */
int mbx_write_stats(const char *path, int final);
/* Record how long the cores ran (written as run_seconds). */
void mbx_set_run_seconds(double s);
/* Ask every core to reload its Lua script at its next burst (SIGHUP). */
void mbx_reload(void);
/* --scenario: the tests that failed, -1 if the scenario did not finish. */
int mbx_scenario_failed(void);
int mbx_num_cores(void);
mctx_t mbx_mctx(int core);
void mbx_cleanup(void);

#endif /* MB_EMBED_H */
