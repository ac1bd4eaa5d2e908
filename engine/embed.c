/*
 * embed.c - the mbx_* interface of embed.h over rt.c and core.c.
 */
#include <errno.h>

#include "core.h"
#include "embed.h"
#include "rt.h"

void
mbx_opts_defaults(struct mb_opts *o)
{
	opts_defaults(o);
}

int
mbx_opts_parse(struct mb_opts *o, int argc, char **argv)
{
	return opts_parse(o, argc, argv, 1);
}

void
mbx_opts_for_check(struct mb_opts *o)
{
	opts_for_check(o);
}

void
mbx_usage(FILE *f, const char *prog)
{
	opts_usage(f, prog);
}

int
mbx_init(const struct mb_opts *o, const char *prog)
{
	return rt_eal_init(o, prog);
}

struct hook_ctx {
	mbx_hook_fn fn;
	void *arg;
};

static struct hook_ctx hook_ctx;

static int
run_hook(struct core *c, void *arg)
{
	struct hook_ctx *h = arg;

	return h->fn != NULL ? h->fn(&c->mctx, h->arg) : 0;
}

int
mbx_start(mbx_hook_fn hook, void *arg)
{
	int i;

	if (rt_start(g_rt.opts.cores) != 0)
		return -1;
	hook_ctx.fn = hook;
	hook_ctx.arg = arg;
	for (i = 0; i < g_rt.nb_cores; i++) {
		if (core_create(i, run_hook, &hook_ctx) == NULL) {
			fprintf(stderr, "moonbox: cannot start core %d: %s\n",
				i, strerror(errno));
			return -1;
		}
	}
	return 0;
}

int
mbx_wait_ready(void)
{
	int i, ret = 0;

	for (i = 0; i < g_rt.nb_cores; i++)
		if (g_rt.cores[i] != NULL && core_wait_ready(g_rt.cores[i]))
			ret = -1;
	return ret;
}

int
mbx_poll_ready(void)
{
	int i, failed = 0;

	for (i = 0; i < g_rt.nb_cores; i++) {
		struct core *c = g_rt.cores[i];
		int s = c != NULL ? __atomic_load_n(&c->state, __ATOMIC_ACQUIRE)
			: CORE_READY;

		if (s == CORE_INIT || s == CORE_NEW)
			return 0;
		if (s == CORE_FAILED)
			failed = 1;
	}
	return failed ? -1 : 1;
}

int
mbx_core_started(mctx_t mctx)
{
	struct core *c = core_from_mctx(mctx);

	return c != NULL && c->state != CORE_INIT && c->state != CORE_NEW;
}

void
mbx_release(void)
{
	rt_release();
}

struct run_ctx {
	mbx_run_fn fn;
	void *arg;
};

static struct run_ctx run_ctx[RT_MAX_CORES];

static int
run_trampoline(struct core *c)
{
	return run_ctx[c->idx].fn(&c->mctx, run_ctx[c->idx].arg);
}

void
mbx_set_run(mctx_t mctx, mbx_run_fn run, void *arg)
{
	struct core *c = core_from_mctx(mctx);

	if (c == NULL)
		return;
	run_ctx[c->idx].fn = run;
	run_ctx[c->idx].arg = arg;
	c->run = run != NULL ? run_trampoline : core_run_c;
}

int
mbx_run_c(mctx_t mctx)
{
	struct core *c = core_from_mctx(mctx);

	return c != NULL ? core_run_c(c) : -1;
}

void
mbx_count_skipped(mctx_t mctx)
{
	struct core *c = core_from_mctx(mctx);
	struct pipe_pkt *k;

	if (c == NULL)
		return;
	c->st.script_skipped++;
	k = &c->pipe.cur;
	if (k->valid && g_rt.opts.on_error == ON_ERROR_DROP)
		k->err_drop = 1;
}

void
mbx_core_activity(mctx_t mctx, int *busy, uint64_t *heartbeat)
{
	struct core *c = core_from_mctx(mctx);

	*busy = c != NULL && c->lua_busy;
	*heartbeat = c != NULL ? c->heartbeat : 0;
}

void
mbx_stop(void)
{
	rt_request_stop();
}

int
mbx_running(void)
{
	int i;

	for (i = 0; i < g_rt.nb_cores; i++) {
		struct core *c = g_rt.cores[i];

		if (c != NULL && c->state != CORE_DONE &&
		    c->state != CORE_FAILED)
			return 1;
	}
	return 0;
}

int
mbx_wait(void)
{
	return rt_wait();
}

void
mbx_totals(struct stats *total)
{
	uint64_t nombuf, active;

	rt_totals(total, &nombuf, &active);
}

double
mbx_read_progress(void)
{
	return rt_read_progress();
}

uint64_t
mbx_dropped(const struct stats *s)
{
	return stats_dropped(s);
}

int
mbx_write_stats(const char *path, int final)
{
	return rt_write_stats(path, final);
}

void
mbx_reload(void)
{
	int i;

	for (i = 0; i < RT_MAX_CORES; i++)
		if (g_rt.cores[i] != NULL)
			g_rt.cores[i]->reload = 1;
}

int
mbx_scenario_failed(void)
{
	return g_rt.scn_failed;
}

void
mbx_set_run_seconds(double s)
{
	g_rt.run_seconds = s;
}

int
mbx_num_cores(void)
{
	return g_rt.nb_cores;
}

mctx_t
mbx_mctx(int core)
{
	if (core < 0 || core >= RT_MAX_CORES || g_rt.cores[core] == NULL)
		return NULL;
	return &g_rt.cores[core]->mctx;
}

void
mbx_cleanup(void)
{
	rt_cleanup();
}
