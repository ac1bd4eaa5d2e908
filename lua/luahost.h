/*
 * luahost.h - the Lua state of a worker core (luahost.c): loading the
 * policy script, running the Lua-owned loop, and stopping a runaway
 * callback from the watchdog.
 */
#ifndef MB_LUAHOST_H
#define MB_LUAHOST_H

#include "embed.h"
#include "mosffi_gen.h"

#define LUAHOST_MAX_CORES	64

struct lua_core;

/* The state of each core while it exists (read by the watchdog). */
extern struct lua_core *volatile luahost_cores[LUAHOST_MAX_CORES];

/* Install the watchdog's signal handler (once, before cores start). */
void luahost_global_init(void);
/* On the core's thread: a state with the mos module, the script run with
 * (mctx, args...). NULL after printing the error (file:line for errors in
 * the script). */
struct lua_core *luahost_create(mctx_t mctx, const struct mb_opts *o,
				const char *prog);
/* On the core's thread: the run loop, until the core finishes. */
int luahost_run(struct lua_core *lc);
/* From the main thread: interrupt the core's Lua code (runaway). */
void luahost_stop(struct lua_core *lc);
/* 1 while Lua code of the core runs under the watchdog's protection. */
int luahost_armed(const struct lua_core *lc);
void luahost_destroy(struct lua_core *lc);

#endif /* MB_LUAHOST_H */
