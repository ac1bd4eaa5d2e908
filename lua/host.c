/*
 * host.c - per-core start-up of the moonbox program (see host.h).
 */
#include "host.h"

int
host_prepare(struct host *h, const struct mb_opts *o, const char *prog)
{
	h->opts = o;
	h->prog = prog;
	h->failed = 0;
	return 0;
}

int
host_core_init(mctx_t mctx, void *arg)
{
	(void)mctx;
	(void)arg;
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
	(void)h;
}
