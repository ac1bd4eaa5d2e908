/*
 * mosffi_scn.c - the C side of test scenarios (moonbox --scenario; the Lua
 * side is mos/scenario.lua): frames in and out of the scenario's two ports
 * (engine/scnport.h), the engine advanced until it has handled what was
 * pushed, the core's clock, counters and the scenario's result.
 *
 * Everything runs on the worker core whose Lua state runs the scenario:
 * it is the only thread at either end of the ports' rings.
 */
#include <stddef.h>
#include <string.h>

#include <rte_mbuf.h>
#include <rte_ring.h>

#include "api.h"
#include "core.h"
#include "mosffi_gen.h"
#include "pipe.h"
#include "rt.h"

static const struct {
	const char *name;
	size_t off;
} counters[] = {
#define X_ENT(n) { #n, offsetof(struct stats, n) },
	STATS_OTHERS(X_ENT)
	STATS_DROPS(X_ENT)
#undef X_ENT
};

/* The calling core, in a scenario run; else NULL with errno. */
static struct core *
scn_core(mctx_t mctx)
{
	if (!g_rt.opts.scenario) {
		errno = EINVAL;
		return NULL;
	}
	return api_core_own(mctx);
}

static struct rt_port *
scn_port(int port)
{
	if (port < 0 || port >= g_rt.nb_ports || !g_rt.ports[port].scenario) {
		errno = EINVAL;
		return NULL;
	}
	return &g_rt.ports[port];
}

int
mosffi_scn_active(void)
{
	return g_rt.opts.scenario;
}

int
mosffi_scn_push(mctx_t mctx, int port, const void *frame, uint32_t len,
		int64_t usec)
{
	struct core *c = scn_core(mctx);
	struct rt_port *p = scn_port(port);
	struct rte_mbuf *m;
	char *d;

	if (c == NULL || p == NULL)
		return -1;
	/* A frame fills one packet buffer (--max-frame sizes them). */
	if (frame == NULL || len == 0 || len > (uint32_t)g_rt.opts.max_frame ||
	    usec < 0) {
		errno = EINVAL;
		return -1;
	}
	m = rte_pktmbuf_alloc(g_rt.pool);
	if (m == NULL) {
		errno = ENOBUFS;
		return -1;
	}
	d = rte_pktmbuf_append(m, (uint16_t)len);
	if (d == NULL) {	/* never: the pool's buffers hold max_frame */
		rte_pktmbuf_free(m);
		errno = EINVAL;
		return -1;
	}
	memcpy(d, frame, len);
	if (g_rt.capf.ts_off >= 0) {
		*RTE_MBUF_DYNFIELD(m, g_rt.capf.ts_off, uint64_t *) =
			(uint64_t)usec;
		m->ol_flags |= g_rt.capf.ts_flag;
	}
	if (rte_ring_enqueue(p->scn_rx, m) != 0) {
		rte_pktmbuf_free(m);
		errno = ENOSPC;
		return -1;
	}
	return 0;
}

static int
inputs_left(void)
{
	int i;

	for (i = 0; i < g_rt.nb_ports; i++)
		if (g_rt.ports[i].scenario &&
		    !rte_ring_empty(g_rt.ports[i].scn_rx))
			return 1;
	return 0;
}

int
mosffi_scn_step(mctx_t mctx)
{
	struct core *c = scn_core(mctx);
	int r;

	if (c == NULL)
		return -1;
	/* Between steps the scenario's own Lua code runs: the watchdog
	 * watches it as it watches a callback. */
	c->heartbeat++;
	c->lua_busy = 0;
	for (;;) {
		r = pipe_run(c);
		/* (A scenario does not reload: SIGHUP is ignored; nor does
		 * it stop at the heap cap, only past its headroom.) */
		if (r == PIPE_RELOAD || r == PIPE_STOP)
			continue;
		if (r == PIPE_INVOKE || r == PIPE_DONE || !inputs_left())
			break;
	}
	c->lua_busy = 1;
	return r == PIPE_INVOKE ? 1 : r == PIPE_DONE ? 2 : 0;
}

int
mosffi_scn_pull(mctx_t mctx, int port, void *buf, uint32_t cap,
		uint32_t *flags)
{
	struct core *c = scn_core(mctx);
	struct rt_port *p = scn_port(port);
	struct rte_mbuf *m;
	const void *src;
	uint32_t len, n;

	if (c == NULL || p == NULL)
		return -1;
	if (buf == NULL || flags == NULL) {
		errno = EINVAL;
		return -1;
	}
	if (rte_ring_dequeue(p->scn_tx, (void **)&m) != 0)
		return 0;
	len = rte_pktmbuf_pkt_len(m);
	n = len < cap ? len : cap;
	src = rte_pktmbuf_read(m, 0, n, buf);
	if (src != NULL && src != buf)
		memcpy(buf, src, n);
	*flags = (m->ol_flags & g_rt.gen_flag) ? MOSFFI_SCN_GENERATED : 0;
	rte_pktmbuf_free(m);
	return (int)len;
}

int
mosffi_scn_clock(mctx_t mctx, int64_t ms)
{
	struct core *c = scn_core(mctx);

	if (c == NULL)
		return -1;
	if (ms < 0 || !pipe_between_bursts(c)) {
		errno = EINVAL;
		return -1;
	}
	pipe_clock_to(c, (uint64_t)ms);
	return 0;
}

int
mosffi_scn_finish(mctx_t mctx)
{
	struct core *c = scn_core(mctx);

	if (c == NULL)
		return -1;
	c->stop = 1;
	return 0;
}

int
mosffi_scn_counter(mctx_t mctx, int i, const char **name, uint64_t *value)
{
	struct core *c = scn_core(mctx);

	if (c == NULL)
		return -1;
	if (i < 0 || (size_t)i >= RTE_DIM(counters) || name == NULL ||
	    value == NULL) {
		errno = EINVAL;
		return -1;
	}
	*name = counters[i].name;
	*value = *(const uint64_t *)((const char *)&c->st + counters[i].off);
	return 0;
}

void
mosffi_scn_report(mctx_t mctx, int failed)
{
	if (scn_core(mctx) != NULL)
		g_rt.scn_failed = failed < 0 ? 1 : failed;
}
