/*
 * core.c - worker cores: creation, the thread that runs one, handle
 * validation and the output path (see core.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_mbuf_dyn.h>
#include <rte_mempool.h>
#include <rte_pause.h>
#include <rte_ring.h>

#include "core.h"
#include "ipfrag.h"
#include "rb.h"

__thread struct core *per_lcore_cur_core;

static int
core_main(void *arg)
{
	struct core *c = arg;
	int ret = 0;

	RTE_PER_LCORE(cur_core) = c;
	if (c->init_hook != NULL)
		ret = c->init_hook(c, c->hook_arg);
	if (ret != 0) {
		__atomic_store_n(&c->state, CORE_FAILED, __ATOMIC_RELEASE);
		return ret;
	}
	__atomic_store_n(&c->state, CORE_READY, __ATOMIC_RELEASE);
	while (!__atomic_load_n(&g_rt.go, __ATOMIC_ACQUIRE) && !c->stop)
		rte_delay_us_sleep(200);
	__atomic_store_n(&c->state, CORE_RUNNING, __ATOMIC_RELEASE);
	ret = c->run(c);
	core_tx_flush(c);
	__atomic_store_n(&c->state, CORE_DONE, __ATOMIC_RELEASE);
	return ret;
}

static int
core_engine_init(struct core *c)
{
	uint32_t flows = (uint32_t)g_rt.cfg.max_flows;
	char name[RTE_MEMPOOL_NAMESIZE];

	if (flowtbl_init(&c->ft, flows) != 0)
		return -1;
	/* One active socket per flow and listener: room for two listeners
	 * per flow, plus the listening and raw sockets themselves. */
	if (sock_table_init(&c->socks, flows * 2 + 1024) != 0)
		return -1;
	timers_init(&c->timers);
	c->rbpool = rb_pool_create(g_rt.cfg.buf_mem);
	if (c->rbpool == NULL)
		return -1;
	/* Never freed before EAL's cleanup: a port may still hold buffers of
	 * it in a transmit queue when the core goes; a core created again
	 * with the same index takes it back. */
	snprintf(name, sizeof(name), "mb_big%d", c->idx);
	c->big = rte_mempool_lookup(name);
	if (c->big == NULL)
		c->big = rte_pktmbuf_pool_create(name, CORE_BIG_MBUFS, 32, 0,
			CORE_BIG_DATAROOM + RTE_PKTMBUF_HEADROOM,
			(int)rte_socket_id());
	if (c->big == NULL)
		return -1;
	/* With the software distributor, it reassembles (dist.c). */
	if (g_rt.opts.ipfrag == IPFRAG_REASSEMBLE && !g_rt.use_dist) {
		c->ipfrag = ipfrag_create();
		if (c->ipfrag == NULL)
			return -1;
		if (g_rt.nb_cores > 1) {
			snprintf(name, sizeof(name), "mb_frag_in%d", c->idx);
			c->frag_in = rte_ring_create(name, 256,
				(int)rte_socket_id(), RING_F_SC_DEQ);
			if (c->frag_in == NULL)
				return -1;
		}
	}
	return 0;
}

struct rte_mbuf *
core_linearize(struct core *c, const struct rte_mbuf *m)
{
	uint32_t len = rte_pktmbuf_pkt_len(m);
	struct rte_mbuf *out;
	const void *src;
	char *d;

	if (len > CORE_BIG_DATAROOM || (out = rte_pktmbuf_alloc(c->big)) == NULL)
		return NULL;
	d = rte_pktmbuf_append(out, (uint16_t)len);
	/* rte_pktmbuf_read copies a chain into d (a contiguous frame it
	 * would return in place). */
	src = rte_pktmbuf_read(m, 0, len, d);
	if (d == NULL || src == NULL) {
		rte_pktmbuf_free(out);
		return NULL;
	}
	if (src != d)
		memcpy(d, src, len);
	out->port = m->port;
	out->ol_flags = m->ol_flags;
	rte_mbuf_dynfield_copy(out, m);
	return out;
}

int
core_all_input_over(void)
{
	int i;

	for (i = 0; i < g_rt.nb_cores; i++) {
		const struct core *o = g_rt.cores[i];
		int s;

		if (o == NULL)
			continue;
		/* A core that failed or never started hands nothing over. */
		s = __atomic_load_n(&o->state, __ATOMIC_ACQUIRE);
		if (s != CORE_INIT && s != CORE_READY && s != CORE_RUNNING)
			continue;
		if (!__atomic_load_n(&o->input_over, __ATOMIC_ACQUIRE))
			return 0;
	}
	return 1;
}

struct core *
core_create(int idx, int (*init_hook)(struct core *, void *), void *arg)
{
	struct core *c;
	int p;

	if (!g_rt.started || idx < 0 || idx >= g_rt.nb_cores) {
		errno = EINVAL;
		return NULL;
	}
	if (g_rt.cores[idx] != NULL) {
		errno = EEXIST;
		return NULL;
	}
	if (posix_memalign((void **)&c, RTE_CACHE_LINE_SIZE, sizeof(*c)) != 0) {
		errno = ENOMEM;
		return NULL;
	}
	memset(c, 0, sizeof(*c));
	c->mctx.cpu = idx;
	c->magic = CORE_MAGIC;
	c->idx = idx;
	c->lcore = (unsigned)idx + 1;
	c->state = CORE_NEW;
	rte_spinlock_init(&c->lock);
	c->init_hook = init_hook;
	c->hook_arg = arg;
	c->run = core_run_c;

	if (g_rt.use_dist) {
		c->nb_src = 1;
		c->src[0].ring = g_rt.to_worker[idx];
		c->to_dist = g_rt.from_worker[idx];
	} else {
		for (p = 0; p < g_rt.nb_ports; p++) {
			c->src[c->nb_src].port = (uint16_t)p;
			c->src[c->nb_src].queue =
				(uint16_t)(idx % g_rt.ports[p].nb_q);
			c->nb_src++;
		}
		c->txq = (uint16_t)idx;
		for (p = 0; p < g_rt.nb_ports && !g_rt.opts.passive; p++)
			c->fwd[p] = &c->sink[g_rt.ports[p].peer];
	}
	if (core_engine_init(c) != 0 || pipe_init(c) != 0) {
		core_free(c);
		errno = ENOMEM;
		return NULL;
	}
	g_rt.cores[idx] = c;
	c->state = CORE_INIT;
	if (rte_eal_remote_launch(core_main, c, c->lcore) != 0) {
		g_rt.cores[idx] = NULL;
		free(c);
		errno = EBUSY;
		return NULL;
	}
	return c;
}

int
core_wait_ready(struct core *c)
{
	int s;

	while ((s = __atomic_load_n(&c->state, __ATOMIC_ACQUIRE)) == CORE_INIT)
		rte_delay_us_sleep(200);
	return s == CORE_FAILED ? -1 : 0;
}

void
core_join(struct core *c)
{
	rte_eal_wait_lcore(c->lcore);
}

void
core_free(struct core *c)
{
	c->magic = 0;
	sock_table_free(&c->socks);
	flowtbl_destroy(&c->ft);
	timers_free(&c->timers);
	rb_pool_destroy(c->rbpool);
	ipfrag_destroy(c->ipfrag);
	if (c->frag_in != NULL) {
		struct rte_mbuf *m;

		while (rte_ring_dequeue(c->frag_in, (void **)&m) == 0)
			rte_pktmbuf_free(m);
		rte_ring_free(c->frag_in);
	}
	free(c);
}

struct core *
core_from_mctx(mctx_t mctx)
{
	struct core *self = CORE_SELF();
	int i;

	if (mctx == NULL)
		return NULL;
	if (self != NULL && &self->mctx == mctx)
		return self;
	for (i = 0; i < RT_MAX_CORES; i++) {
		struct core *c = g_rt.cores[i];

		if (c != NULL && &c->mctx == mctx && c->magic == CORE_MAGIC)
			return c;
	}
	return NULL;
}

int
core_run_c(struct core *c)
{
	while (pipe_run(c) != PIPE_DONE)
		;	/* no Lua functions are registered in C-only mode */
	return 0;
}

/* -- Output ------------------------------------------------------------- */

static void
flush_port(struct core *c, uint16_t port)
{
	struct core_sink *s = &c->sink[port];
	uint16_t sent = 0;
	uint64_t t0 = c->pipe.cycles ? rte_rdtsc() : 0;

	while (sent < s->n) {
		sent += rt_tx_burst(port, c->txq, &s->m[sent],
				    (uint16_t)(s->n - sent));
		if (sent == s->n)
			break;
		if (!g_rt.offline) {
			for (; sent < s->n; sent++) {
				struct rte_mbuf *m = s->m[sent];

				if (m->ol_flags & g_rt.gen_flag) {
					c->st.pkts_sent--;
				} else {
					c->st.dropped_tx_full++;
					c->st.tx_packets--;
				}
				rte_pktmbuf_free(m);
			}
			break;
		}
		rte_pause();
	}
	s->n = 0;
	if (c->pipe.cycles)
		c->st.cycles_tx += rte_rdtsc() - t0;
}

static void
flush_dist(struct core *c)
{
	struct core_sink *s = &c->sink[0];
	unsigned sent = 0;
	uint64_t t0 = c->pipe.cycles ? rte_rdtsc() : 0;

	while (sent < s->n) {
		sent += rte_ring_enqueue_burst(c->to_dist,
					       (void **)&s->m[sent],
					       s->n - sent, NULL);
		if (sent < s->n)
			rte_pause();	/* the distributor always drains */
	}
	s->n = 0;
	if (c->pipe.cycles)
		c->st.cycles_tx += rte_rdtsc() - t0;
}

/* Queue m for port (or for the distributor, which knows the port). */
static inline void
sink_put(struct core *c, uint16_t port, struct rte_mbuf *m)
{
	struct core_sink *s;

	if (c->to_dist != NULL) {
		m->port = port;
		s = &c->sink[0];
		s->m[s->n++] = m;
		if (s->n == RTE_DIM(s->m))
			flush_dist(c);
		return;
	}
	s = &c->sink[port];
	s->m[s->n++] = m;
	if (s->n == RTE_DIM(s->m))
		flush_port(c, port);
}

/* --passive: packets go back to their pool a burst at a time (one free per
 * packet was some 60 instructions, a tenth of an offline run's engine
 * time). Counted as transmit time: that is where a forwarded packet's
 * release is paid (by the driver), so that --cycles splits a passive
 * run's packet cost as it does a forwarding one's. */
static void
free_dropped(struct core *c)
{
	uint64_t t0 = c->pipe.cycles ? rte_rdtsc() : 0;

	rte_pktmbuf_free_bulk(c->dropped.m, c->dropped.n);
	c->dropped.n = 0;
	if (c->pipe.cycles)
		c->st.cycles_tx += rte_rdtsc() - t0;
}

static void
passive_drop(struct core *c, struct rte_mbuf *m)
{
	c->dropped.m[c->dropped.n++] = m;
	if (c->dropped.n == RTE_DIM(c->dropped.m))
		free_dropped(c);
}

void
core_tx(struct core *c, uint16_t port, struct rte_mbuf *m)
{
	if (g_rt.opts.passive) {
		c->st.dropped_passive++;
		passive_drop(c, m);
		return;
	}
	c->st.tx_packets++;
	c->st.tx_bytes += rte_pktmbuf_pkt_len(m);
	sink_put(c, port, m);
}

/* The ports' pairing and --passive are fixed at start, so a forwarded
 * packet's sink is looked up by its input port alone, without core_tx's
 * tests. */
void
core_fwd(struct core *c, uint16_t in_port, struct rte_mbuf *m)
{
	struct core_sink *s = c->fwd[in_port];

	if (unlikely(s == NULL)) {
		core_tx(c, g_rt.ports[in_port].peer, m);
		return;
	}
	c->st.tx_packets++;
	c->st.tx_bytes += rte_pktmbuf_pkt_len(m);
	s->m[s->n++] = m;
	if (unlikely(s->n == RTE_DIM(s->m)))
		flush_port(c, (uint16_t)(s - c->sink));
}

/* A packet a callback sends gets the time stamp of the packet being
 * processed, or else the core's packet clock: -w writes it with the
 * traffic's times. (With the wall clock and no packet, the writer gives
 * it the time of the frame before it.) */
static void
stamp_gen(struct core *c, struct rte_mbuf *m)
{
	const struct pipe_pkt *k = &c->pipe.cur;
	uint64_t us;

	if (g_rt.capf.ts_off < 0)
		return;
	if (k->valid && rt_has_ts(k->m))
		us = rt_packet_us(k->m);
	else if (c->pipe.clock_packet && c->pipe.now_ms != 0)
		us = c->pipe.now_ms * 1000;
	else
		return;
	*RTE_MBUF_DYNFIELD(m, g_rt.capf.ts_off, uint64_t *) = us;
	m->ol_flags |= g_rt.capf.ts_flag;
}

void
core_tx_gen(struct core *c, uint16_t port, struct rte_mbuf *m)
{
	if (g_rt.opts.passive) {
		passive_drop(c, m);
		return;
	}
	c->st.pkts_sent++;
	m->ol_flags |= g_rt.gen_flag;
	stamp_gen(c, m);
	/* In the distributor's order: after the packet this core took
	 * last (the one it was sent for, if any). */
	if (g_rt.seq_off >= 0)
		rt_set_seq(m, c->seq_last);
	sink_put(c, port, m);
}

void
core_tx_flush(struct core *c)
{
	int p;

	if (c->dropped.n != 0)
		free_dropped(c);
	if (c->to_dist != NULL) {
		if (c->sink[0].n != 0)
			flush_dist(c);
		return;
	}
	for (p = 0; p < g_rt.nb_ports; p++)
		if (c->sink[p].n != 0)
			flush_port(c, (uint16_t)p);
}
