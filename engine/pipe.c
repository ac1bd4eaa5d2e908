/*
 * pipe.c - the per-core pipeline (see pipe.h for the resumable contract).
 *
 * Stages of one iteration:
 *   POLL       take the core's lock, read a burst from the next source;
 *              at the end of offline input go to EOF
 *   PKT        classify the next packet (parse.c), count it
 *   VERDICT    forward it to the paired port, or drop it with its reason
 *   BURST_END  transmit, release the lock
 *   EOF        end-of-input work, then DONE
 * The flow engine's stages sit between PKT and VERDICT (flow.c).
 */
#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_mbuf_dyn.h>

#include "core.h"
#include "pipe.h"

enum stage {
	ST_POLL,
	ST_PKT,
	ST_VERDICT,
	ST_BURST_END,
	ST_EOF,
	ST_DONE,
};

int
pipe_init(struct core *c)
{
	struct pipe *p = &c->pipe;
	int flag;

	p->stage = ST_POLL;
	p->ts_off = rte_mbuf_dynfield_lookup(RTE_MBUF_DYNFIELD_TIMESTAMP_NAME,
					     NULL);
	flag = rte_mbuf_dynflag_lookup(RTE_MBUF_DYNFLAG_RX_TIMESTAMP_NAME,
				       NULL);
	p->ts_flag = flag >= 0 ? 1ULL << flag : 0;
	switch (g_rt.opts.clock) {
	case CLOCK_PACKET:
		p->clock_packet = 1;
		break;
	case CLOCK_WALL:
		p->clock_packet = 0;
		break;
	default:
		p->clock_packet = g_rt.offline;
	}
	if (!p->clock_packet)
		p->now_ms = rte_get_timer_cycles() * 1000 / rte_get_timer_hz();
	return 0;
}

static void
clock_from_packet(struct pipe *p, struct rte_mbuf *m)
{
	uint64_t us;

	if (p->ts_off < 0 || !(m->ol_flags & p->ts_flag))
		return;
	us = *RTE_MBUF_DYNFIELD(m, p->ts_off, uint64_t *);
	if (us / 1000 > p->now_ms)
		p->now_ms = us / 1000;
}

/* End of input on a source: a capture port that returned nothing without
 * running out of buffers, or the distributor's ring after its last packet. */
static int
src_at_eof(struct core_src *s)
{
	struct rte_eth_stats es;

	if (s->ring != NULL)
		return __atomic_load_n(&g_rt.dist_input_done, __ATOMIC_ACQUIRE)
		       && rte_ring_empty(s->ring);
	if (!g_rt.ports[s->port].offline)
		return 0;
	if (rte_eth_stats_get(g_rt.ports[s->port].id, &es) != 0)
		return 1;
	if (es.rx_nombuf != s->last_nombuf) {
		s->last_nombuf = es.rx_nombuf;
		return 0;
	}
	return 1;
}

/* Read one burst; returns the number of packets, 0 if none. */
static uint16_t
poll_sources(struct core *c)
{
	struct pipe *p = &c->pipe;
	int tries, all_eof = 1;

	for (tries = 0; tries < c->nb_src; tries++) {
		struct core_src *s = &c->src[c->cur_src];
		uint16_t n;

		c->cur_src = (c->cur_src + 1) % c->nb_src;
		if (s->eof)
			continue;
		if (s->ring != NULL) {
			n = (uint16_t)rte_ring_dequeue_burst(s->ring,
				(void **)p->burst, RT_BURST, NULL);
		} else {
			n = rte_eth_rx_burst(g_rt.ports[s->port].id, s->queue,
					     p->burst, RT_BURST);
			for (uint16_t i = 0; i < n; i++)
				p->burst[i]->port = s->port;
		}
		if (n != 0)
			return n;
		if (src_at_eof(s))
			s->eof = 1;
		else
			all_eof = 0;
	}
	if (all_eof)
		p->input_done = 1;
	return 0;
}

static void
classify(struct core *c, struct rte_mbuf *m)
{
	struct pipe_pkt *k = &c->pipe.cur;
	struct stats *st = &c->st;

	k->m = m;
	k->in_port = m->port;
	k->drop = 0;
	k->err_drop = 0;
	k->valid = 1;
	st->rx_packets++;
	st->rx_bytes += rte_pktmbuf_pkt_len(m);
	if (c->pipe.clock_packet)
		clock_from_packet(&c->pipe, m);
	/* Chained buffers (jumbo frames) are forwarded untouched: the parser
	 * needs the frame in one piece. */
	if (m->nb_segs != 1) {
		k->data = NULL;
		k->pr.kind = PK_NON_IP;
		st->non_ip++;
		return;
	}
	k->data = rte_pktmbuf_mtod(m, uint8_t *);
	switch (parse_frame(k->data, rte_pktmbuf_data_len(m), &k->pr)) {
	case PK_NON_IP:
		st->non_ip++;
		st->non_tcp++;
		break;
	case PK_IPV4:
		st->non_tcp++;
		break;
	case PK_IPV4_FRAG:
		st->ip_fragments++;
		st->non_tcp++;
		break;
	case PK_TCP:
		st->tcp_packets++;
		break;
	case PK_MALFORMED:
		st->malformed++;
		st->malformed_reason[k->pr.reason]++;
		break;
	}
}

static void
verdict(struct core *c)
{
	struct pipe_pkt *k = &c->pipe.cur;
	struct rte_mbuf *m = k->m;

	k->valid = 0;
	if (k->pr.kind == PK_MALFORMED && g_rt.opts.drop_malformed) {
		c->st.dropped_malformed++;
		rte_pktmbuf_free(m);
	} else if (k->err_drop) {
		c->st.dropped_script_error++;
		rte_pktmbuf_free(m);
	} else if (k->drop) {
		c->st.dropped_by_policy++;
		rte_pktmbuf_free(m);
	} else {
		core_tx(c, g_rt.ports[k->in_port].peer, m);
	}
}

int
pipe_run(struct core *c)
{
	struct pipe *p = &c->pipe;

	for (;;) {
		switch (p->stage) {
		case ST_POLL:
			if (c->stop) {
				p->stage = ST_EOF;
				break;
			}
			rte_spinlock_lock(&c->lock);
			if (!p->clock_packet)
				p->now_ms = rte_get_timer_cycles() * 1000 /
					    rte_get_timer_hz();
			p->nb = poll_sources(c);
			p->i = 0;
			if (p->nb == 0) {
				rte_spinlock_unlock(&c->lock);
				if (p->input_done)
					p->stage = ST_EOF;
				break;
			}
			p->stage = ST_PKT;
			break;
		case ST_PKT:
			if (p->i == p->nb) {
				p->stage = ST_BURST_END;
				break;
			}
			classify(c, p->burst[p->i]);
			p->stage = ST_VERDICT;
			break;
		case ST_VERDICT:
			verdict(c);
			p->i++;
			p->stage = ST_PKT;
			break;
		case ST_BURST_END:
			core_tx_flush(c);
			rte_spinlock_unlock(&c->lock);
			p->stage = ST_POLL;
			break;
		case ST_EOF:
			core_tx_flush(c);
			p->stage = ST_DONE;
			break;
		case ST_DONE:
			return PIPE_DONE;
		}
	}
}
