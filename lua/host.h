/*
 * host.h - what the moonbox program runs on each worker core besides the
 * engine: native plugins and the Lua policy (one lua_State per core), plus
 * the watchdog that the main thread drives.
 */
#ifndef MB_HOST_H
#define MB_HOST_H

#include "embed.h"
#include "plugin.h"

struct lua_core;

struct host {
	const struct mb_opts *opts;
	const char *prog;
	struct plugins plugins;
	struct lua_core *lua[64];	/* per core, NULL without a script */
	volatile int failed;
};

/* Check and load what can be before the engine starts (plugins). */
int host_prepare(struct host *h, const struct mb_opts *o, const char *prog);
/* Per-core start-up, on the core's own thread (an mbx_hook_fn). */
int host_core_init(mctx_t mctx, void *arg);
/* Called by the main thread about every 100 ms while cores run. */
void host_watch(struct host *h);
/* Non-zero if a core failed in a way that fails the run. */
int host_failed(const struct host *h);
void host_release(struct host *h);

#endif /* MB_HOST_H */
