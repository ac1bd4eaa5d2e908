/*
 * host.c - per-core start-up of the moonbox program (see host.h): native
 * plugins first, then the Lua policy, then the core's run loop (Lua-owned
 * when there is a script), and the plugins' fini hooks once the core has
 * finished; plus the watchdog the main thread drives.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "host.h"
#include "luahost.h"

static int
host_run(mctx_t mctx, void *arg)
{
	struct host *h = arg;
	struct lua_core *lc = h->lua[mctx->cpu];
	int ret;

	ret = lc != NULL ? luahost_run(lc) : mbx_run_c(mctx);
	plugins_fini_core(&h->plugins, mctx);
	return ret;
}

int
host_prepare(struct host *h, const struct mb_opts *o, const char *prog)
{
	memset(h, 0, sizeof(*h));
	h->opts = o;
	h->prog = prog;
	h->failed = 0;
	if (o->script != NULL)
		luahost_global_init();
	return plugins_load(&h->plugins, o->plugins, o->nb_plugins,
			    o->nb_plugin_args, (char **)o->plugin_args, prog);
}

int
host_core_init(mctx_t mctx, void *arg)
{
	struct host *h = arg;

	if (plugins_init_core(&h->plugins, mctx, h->prog) != 0)
		return -1;
	if (h->opts->script != NULL) {
		h->lua[mctx->cpu] = luahost_create(mctx, h->opts, h->prog);
		if (h->lua[mctx->cpu] == NULL)
			return -1;
	}
	mbx_set_run(mctx, host_run, h);
	return 0;
}

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/*
 * A Lua function that keeps a core busy without returning to the engine for
 * longer than --watchdog is a runaway: its core's heartbeat stops while it
 * is marked busy (or while the script is still loading).
 */
void
host_watch(struct host *h)
{
	static uint64_t last_hb[LUAHOST_MAX_CORES], since[LUAHOST_MAX_CORES];
	static uint8_t reported[LUAHOST_MAX_CORES];
	uint64_t now = now_ms();
	int i;

	if (h->opts->watchdog_ms <= 0)
		return;
	for (i = 0; i < LUAHOST_MAX_CORES; i++) {
		struct lua_core *lc = luahost_cores[i];
		mctx_t mctx = mbx_mctx(i);
		uint64_t hb;
		int busy;

		if (lc == NULL || mctx == NULL || !luahost_armed(lc)) {
			since[i] = 0;
			continue;
		}
		mbx_core_activity(mctx, &busy, &hb);
		if (!busy && mbx_running()) {
			/* Idle in the engine, or loading (not running yet). */
			if (mbx_core_started(mctx)) {
				since[i] = 0;
				continue;
			}
		}
		if (since[i] == 0 || hb != last_hb[i]) {
			since[i] = now;
			last_hb[i] = hb;
			continue;
		}
		if (now - since[i] < (uint64_t)h->opts->watchdog_ms)
			continue;
		if (!reported[i]) {
			reported[i] = 1;
			fprintf(stderr, "%s: core %d: Lua code has run for more "
				"than %d ms without returning; stopping it\n",
				h->prog, i, h->opts->watchdog_ms);
		}
		luahost_stop(lc);
	}
}

int
host_failed(const struct host *h)
{
	return h->failed;
}

void
host_release(struct host *h)
{
	int i;

	for (i = 0; i < LUAHOST_MAX_CORES; i++) {
		luahost_destroy(h->lua[i]);
		h->lua[i] = NULL;
	}
	plugins_unload(&h->plugins);
}
