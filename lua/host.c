/*
 * host.c - per-core start-up of the moonbox program (see host.h): native
 * plugins first, then the Lua policy, then the core's run loop, and the
 * plugins' fini hooks once the core has finished.
 */
#include "host.h"

struct host_core {
	struct host *h;
};

static int
host_run(mctx_t mctx, void *arg)
{
	struct host *h = arg;
	int ret;

	ret = mbx_run_c(mctx);
	plugins_fini_core(&h->plugins, mctx);
	return ret;
}

int
host_prepare(struct host *h, const struct mb_opts *o, const char *prog)
{
	h->opts = o;
	h->prog = prog;
	h->failed = 0;
	return plugins_load(&h->plugins, o->plugins, o->nb_plugins,
			    o->nb_plugin_args, (char **)o->plugin_args, prog);
}

int
host_core_init(mctx_t mctx, void *arg)
{
	struct host *h = arg;

	if (plugins_init_core(&h->plugins, mctx, h->prog) != 0)
		return -1;
	mbx_set_run(mctx, host_run, h);
	return 0;
}

void
host_watch(struct host *h)
{
	(void)h;
}

int
host_failed(const struct host *h)
{
	return h->failed;
}

void
host_release(struct host *h)
{
	plugins_unload(&h->plugins);
}
