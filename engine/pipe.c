/*
 * pipe.c - the per-core pipeline (see pipe.h for the resumable contract).
 *
 * One iteration (mos-semantics §2.3):
 *   POLL        take the core's lock, read a burst (end of offline input:
 *               EOF)
 *   PKT         classify the next frame; raw sockets' MOS_ON_PKT_IN
 *   TCP         find or create its flow (or MOS_ON_ORPHAN); sender update,
 *               callbacks at MOS_HK_SND
 *   AFTER_SND   server half from the rewritten SYN, remapping, data
 *               MOS_ON_REXMIT at once
 *   RCV_CHECK   MOS_ON_ERROR before bytes would be lost
 *   RCV         receiver update and buffering, callbacks at MOS_HK_RCV
 *   VERDICT     forward or drop; PKT_END: destroy a finished flow
 *   TIMERS, TIMEOUTS, NEWDATA   after the burst: user timers, idle and
 *               time-wait expiry, MOS_ON_CONN_NEW_DATA
 *   BURST_END   transmit, release the lock
 *   EOF         close every flow (CONN_END), then DONE
 * Whenever a step queued callbacks, DISPATCH runs them (returning to the
 * Lua loop for Lua functions) before the next step.
 */
#include <rte_cycles.h>
#include <rte_pause.h>
#include <rte_ring.h>
#include <rte_ethdev.h>
#include <netinet/in.h>

#include "core.h"
#include "flow.h"
#include "ipfrag.h"
#include "pipe.h"

enum stage {
	ST_POLL,
	ST_PKT,
	ST_PKT_TIMERS,
	ST_PKT_GO,
	ST_TCP,
	ST_AFTER_SND,
	ST_RCV_CHECK,
	ST_RCV,
	ST_VERDICT,
	ST_NEXT,
	ST_TIMERS,
	ST_TIMEOUTS,
	ST_NEWDATA,
	ST_BURST_END,
	ST_EOF,
	ST_FINISH,
	ST_DONE,
	ST_DISPATCH,
	ST_DESTROY_FREE,
};

int
pipe_init(struct core *c)
{
	struct pipe *p = &c->pipe;

	p->stage = ST_POLL;
	switch (g_rt.opts.clock) {
	case CLOCK_PACKET:
		p->clock_packet = 1;
		break;
	case CLOCK_WALL:
		p->clock_packet = 0;
		break;
	default:
		/* A scenario's frames carry the times it gives them. */
		p->clock_packet = g_rt.offline || g_rt.opts.scenario;
	}
	p->step = g_rt.opts.scenario;
	if (!p->clock_packet)
		p->now_ms = rte_get_timer_cycles() * 1000 / rte_get_timer_hz();
	p->cycles = g_rt.opts.cycles;
	/* Both are fixed before a core starts (rt_start). */
	p->dist_in = g_rt.seq_off >= 0 || g_rt.dist_big != NULL;
	return 0;
}

/* --cycles: charge the loop iteration that ends now to busy or idle. */
static void
cycles_close(struct core *c)
{
	struct pipe *p = &c->pipe;
	uint64_t now = rte_rdtsc();

	if (p->cyc_mark != 0) {
		if (p->cyc_busy)
			c->st.cycles_busy += now - p->cyc_mark;
		else
			c->st.cycles_idle += now - p->cyc_mark;
	}
	p->cyc_mark = now;
	p->cyc_busy = 0;
}

static void
clock_from_packet(struct core *c, struct rte_mbuf *m)
{
	pipe_clock_to(c, rt_packet_ms(m));
}

void
pipe_clock_to(struct core *c, uint64_t ms)
{
	struct pipe *p = &c->pipe;

	if (ms <= p->now_ms)
		return;
	/* Timers armed before the first packet counted from zero. */
	if (p->now_ms == 0)
		timers_rebase(&c->timers, ms);
	p->now_ms = ms;
}

int
pipe_between_bursts(const struct core *c)
{
	return c->pipe.stage == ST_POLL;
}

/* End of input on a source: a capture port that returned nothing without
 * running out of buffers, or the distributor's ring after its last packet. */
static int
src_at_eof(struct core_src *s)
{
	if (s->ring != NULL)
		return __atomic_load_n(&g_rt.dist_input_done, __ATOMIC_ACQUIRE)
		       && rte_ring_empty(s->ring);
	if (!g_rt.ports[s->port].offline)
		return 0;
	return rt_rx_ended(s->port, &s->last_nombuf);
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
		/* A port's frames keep the driver's port number: classify()
		 * takes the burst's (src_port), and the paths that hand a
		 * frame's port on (linearizing, reassembly) stamp it first. */
		if (s->ring != NULL)
			n = (uint16_t)rte_ring_dequeue_burst(s->ring,
				(void **)p->burst, RT_BURST, NULL);
		else
			n = rt_rx_burst(s->port, s->queue, p->burst, RT_BURST);
		if (n != 0) {
			p->port_in_mbuf = s->ring != NULL;
			p->src_port = s->port;
			return n;
		}
		if (src_at_eof(s))
			s->eof = 1;
		else
			all_eof = 0;
	}
	if (all_eof)
		p->input_done = 1;
	return 0;
}

/* A datagram this core reassembled: analysed here, or, when its flow
 * belongs to another core (NIC RSS spreads fragments by addresses alone),
 * handed to that core. Then it may be analysed after later packets of its
 * flow: the cores run apart (with the software distributor, which
 * reassembles itself, the order is kept). */
static struct rte_mbuf *
frag_route(struct core *c, struct rte_mbuf *d)
{
	int to;

	if (d == NULL || c->frag_in == NULL)
		return d;
	to = ipfrag_core_of(d);
	if (to == c->idx || to < 0 || to >= g_rt.nb_cores ||
	    g_rt.cores[to] == NULL || g_rt.cores[to]->frag_in == NULL)
		return d;
	if (rte_ring_enqueue(g_rt.cores[to]->frag_in, d) != 0) {
		c->st.ipfrag_failed++;
		rte_pktmbuf_free(d);
	}
	return NULL;
}

/* Whether a chain's buffers hold its whole length. */
static int
chain_whole(const struct rte_mbuf *m)
{
	uint32_t len = 0;
	uint16_t n = 0;

	for (const struct rte_mbuf *s = m; s != NULL; s = s->next) {
		len += s->data_len;
		n++;
	}
	return len == m->pkt_len && n == m->nb_segs;
}

static void
classify(struct core *c, struct rte_mbuf *m)
{
	struct pipe_pkt *k = &c->pipe.cur;
	struct stats *st = &c->st;

	k->m = m;
	k->in_port = c->pipe.src_port;
	k->held = 0;
	/* valid, and the rest 0: W_RAW, not modified, not hashed. */
	k->fresh = 0;
	k->valid = 1;
	k->fidx = FLOW_NONE;
	k->pktno++;
	k->off = 0;
	/* k->analysis is 0 (k->held). Datagrams reassembled elsewhere come
	 * in buffers of the distributor's pool, or in a burst from another
	 * core. */
	if (unlikely(c->pipe.special)) {
		k->analysis = c->pipe.analysis_next | c->pipe.burst_analysis;
		/* The distributor's frames, and datagrams reassembled from
		 * this core's frames or handed over by another core, carry
		 * their port. */
		if (c->pipe.port_in_mbuf || k->analysis)
			k->in_port = m->port;
		if (c->pipe.dist_in) {
			/* Where the distributor's input order is (packets
			 * sent now follow this one). */
			if (g_rt.seq_off >= 0)
				c->seq_last = rt_seq(m);
			if (g_rt.dist_big != NULL && m->pool == g_rt.dist_big)
				k->analysis = 1;
		}
		c->pipe.analysis_next = 0;
		if (k->analysis) {
			/* A reassembled datagram: its frames were counted
			 * already. */
			k->data = rte_pktmbuf_mtod(m, uint8_t *);
			parse_frame(k->data, rte_pktmbuf_data_len(m), &k->pr);
			return;
		}
	}
	if ((c->pipe.hashed_mask >> c->pipe.i) & 1) {
		k->hash = c->pipe.burst_hash[c->pipe.i];
		k->hashed = 1;
		k->found = (uint8_t)((c->pipe.found_mask >> c->pipe.i) & 1);
	}
	st->rx_packets++;
	st->rx_bytes += rte_pktmbuf_pkt_len(m);
	if (c->pipe.clock_packet)
		clock_from_packet(c, m);
	/* The parser needs the frame in one piece: a chained one (a jumbo
	 * frame) takes the place of its copy in a big buffer; one too long
	 * even for that is forwarded untouched, unanalysed. */
	if (m->nb_segs != 1) {
		/* net_pcap's reader hands a record over 64 KiB over in buffers
		 * holding 16 bits of its length: reading it (linearizing,
		 * transmitting) runs off the chain; verdict() drops it. */
		int whole = chain_whole(m);
		struct rte_mbuf *lin;

		m->port = k->in_port;	/* for the copy */
		lin = whole ? core_linearize(c, m) : NULL;

		if (lin == NULL) {
			k->data = NULL;
			k->pr.kind = PK_NON_IP;
			k->bad_chain = (uint8_t)!whole;
			st->unanalysed++;
			st->non_tcp++;
			return;
		}
		rte_pktmbuf_free(m);
		c->pipe.burst[c->pipe.i] = lin;
		k->m = m = lin;
	}
	k->data = rte_pktmbuf_mtod(m, uint8_t *);
	if (likely(parse_plain_tcp(k->data, rte_pktmbuf_data_len(m), &k->pr))) {
		st->tcp_packets++;
		return;
	}
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
		m->port = k->in_port;	/* for the datagram it completes */
		if (k->pr.ip_proto == IPPROTO_TCP && c->ipfrag != NULL)
			c->pipe.frag_done = frag_route(c, ipfrag_offer(c->ipfrag,
				m, &k->pr, c->pipe.now_ms, c->big, st));
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

/* A packet not forwarded as it came (pipe_pkt.held, or malformed with
 * --drop-malformed): counted by the first reason and freed. */
static __rte_noinline void
hold_back(struct core *c, struct pipe_pkt *k)
{
	struct rte_mbuf *m = k->m;

	if (k->analysis) {
		rte_pktmbuf_free(m);	/* its fragments went out already */
		return;
	}
	if (k->bad_chain)
		c->st.dropped_bad_chain++;
	else if (k->pr.kind == PK_MALFORMED && g_rt.opts.drop_malformed)
		c->st.dropped_malformed++;
	else if (k->err_drop)
		c->st.dropped_script_error++;
	else
		c->st.dropped_by_policy++;
	rte_pktmbuf_free(m);
}

static inline void
verdict(struct core *c)
{
	struct pipe_pkt *k = &c->pipe.cur;

	k->valid = 0;
	if (unlikely(k->held != 0) ||
	    (k->pr.kind == PK_MALFORMED && g_rt.opts.drop_malformed))
		hold_back(c, k);
	else
		core_fwd(c, k->in_port, k->m);
}

/* Run the jobs just queued, then continue at `next` (at once when there
 * are none: the common case, kept cheap). */
static inline void
dispatch_then(struct core *c, int next)
{
	struct pipe *p = &c->pipe;

	if (c->disp.nj == 0) {
		p->stage = next;
		return;
	}
	p->after = next;
	p->stage = ST_DISPATCH;
}

/* Free the flow being torn down once its callbacks have run, and go on
 * at the stage destroy_then was given. */
static void
destroy_free(struct core *c)
{
	struct pipe *p = &c->pipe;

	flow_free(c, p->destroy_fidx);
	if (p->destroy_ret == ST_TCP)
		p->cur.valid = 1;
	p->stage = p->destroy_ret;
}

/* Tear flow fidx down (its pending new data, MOS_ON_CONN_END for both
 * sides), then continue at `ret`. With no callback to run the flow is
 * freed at once, not through the stage switch's indirect jump. */
static void
destroy_then(struct core *c, uint32_t fidx, int first, int timeout, int ret)
{
	struct pipe *p = &c->pipe;

	flow_destroy_jobs(c, fidx, first, timeout);
	p->destroy_fidx = fidx;
	p->destroy_ret = ret;
	/* The flow's end has no packet, even when one triggered it. */
	p->cur.valid = 0;
	dispatch_then(c, ST_DESTROY_FREE);
	if (p->stage == ST_DESTROY_FREE)
		destroy_free(c);
}

/* Run the user timers due by `limit`, in deadline order, the clock set to
 * each one's deadline; 1 when a Lua timer must run first.
 *
 * With the packet clock, a pause in the capture is caught up to at most
 * PIPE_PAUSE_MAX_MS past its start; after that the clock jumps to the
 * pause's end, where the timers still due fire once each. Otherwise a
 * single time stamp years ahead (a damaged record) had a one-second
 * periodic timer fire for every second in between: 315 million calls
 * for ten years, with the core deaf to SIGINT since a stop is only seen
 * between bursts. A stop request now also ends the catch-up. */
static int
run_timer(struct core *c, uint64_t limit)
{
	struct utimer u;
	struct sock *s;

	while (!c->stop && timers_pop_due(&c->timers, limit, &u)) {
		if (c->pipe.clock_packet &&
		    u.deadline > c->pipe.pause_from + PIPE_PAUSE_MAX_MS)
			c->pipe.now_ms = limit;
		else if (u.deadline > c->pipe.now_ms)
			c->pipe.now_ms = u.deadline;
		/* A timer armed on a flow's socket dies with the flow. */
		if (u.gen != UINT32_MAX) {
			s = sock_get(c, (uint32_t)u.id);
			if (s == NULL || s->gen != u.gen)
				continue;
		}
		c->st.timers_fired++;
		c->pipe.cyc_busy = 1;
		if (u.c != NULL) {
			u.c(&c->mctx, u.id, 0, MOS_ON_TIMEOUT, NULL);
			continue;
		}
		c->pipe.inv = (struct pipe_invoke){ .fn = u.lua, .kind = 0,
			.sock = u.id, .side = 0, .event = MOS_ON_TIMEOUT };
		return 1;
	}
	return 0;
}

/* At the end of this core's input, other cores may still complete
 * datagrams for its flows: take those in (as a burst; 1: go on at
 * ST_PKT), or wait until every core's input is over (1: ask again). */
static int
wait_for_frags(struct core *c)
{
	struct pipe *p = &c->pipe;

	__atomic_store_n(&c->input_over, 1, __ATOMIC_RELEASE);
	p->nb = (uint16_t)rte_ring_dequeue_burst(c->frag_in, (void **)p->burst,
						 RT_BURST, NULL);
	if (p->nb > 0) {
		p->i = 0;
		p->burst_analysis = 1;
		p->hashed_mask = 0;
		p->stage = ST_PKT;
		return 1;
	}
	if (!core_all_input_over()) {
		rte_spinlock_unlock(&c->lock);
		rte_pause();
		rte_spinlock_lock(&c->lock);
		return 1;
	}
	/* A core may have handed one over just before its input ended. */
	return !rte_ring_empty(c->frag_in);
}

int
pipe_run(struct core *c)
{
	struct pipe *p = &c->pipe;
	struct pipe_pkt *k = &p->cur;
	uint64_t t0;
	uint32_t fidx;
	int idle;

	/* Back from a Lua callback, the usual way in: to the dispatcher by a
	 * branch the CPU predicts, not by the stage switch's indirect jump. */
	if (p->stage == ST_DISPATCH)
		goto dispatch;
	for (;;) {
		switch (p->stage) {
		case ST_POLL:
			if (p->cycles)
				cycles_close(c);
			/* One test a burst for both, none a callback. */
			if (unlikely(c->reload | c->lua_stop)) {
				if (c->lua_stop) {
					c->lua_stop = 0;
					return PIPE_STOP;
				}
				c->reload = 0;
				return PIPE_RELOAD;
			}
			rte_spinlock_lock(&c->lock);
			if (c->stop) {
				p->stage = ST_EOF;
				break;
			}
			if (!p->clock_packet)
				p->now_ms = rte_get_timer_cycles() * 1000 /
					    rte_get_timer_hz();
			p->i = 0;
			p->burst_analysis = 0;
			if (c->frag_in != NULL &&
			    (p->nb = (uint16_t)rte_ring_dequeue_burst(c->frag_in,
					(void **)p->burst, RT_BURST, NULL)) > 0) {
				p->burst_analysis = 1;
				p->hashed_mask = 0;
				p->cyc_busy = 1;
				p->stage = ST_PKT;
				break;
			}
			t0 = p->cycles ? rte_rdtsc() : 0;
			p->nb = poll_sources(c);
			if (p->cycles && p->nb > 0) {
				c->st.cycles_rx += rte_rdtsc() - t0;
				p->cyc_busy = 1;
			}
			if (p->nb > 0 && c->socks.nstream > 0)
				flow_prefetch_burst(c);
			else
				p->hashed_mask = 0;
			if (p->nb == 0 && p->input_done) {
				p->stage = ST_EOF;
				break;
			}
			p->stage = ST_PKT;
			break;
		case ST_PKT:
next_packet:
			if (p->i == p->nb) {
				p->stage = ST_TIMERS;
				goto timers;
			}
			/* With the packet clock, timers whose deadline this
			 * packet passes run before it, not after the burst. */
			if (p->clock_packet && c->timers.n > 0 && p->now_ms != 0 &&
			    !p->analysis_next) {
				uint64_t t = rt_packet_ms(p->burst[p->i]);

				if (t >= c->timers.h[0].deadline) {
					p->timer_limit = t;
					p->pause_from = p->now_ms;
					p->stage = ST_PKT_TIMERS;
					break;
				}
			}
			/* fallthrough */
		case ST_PKT_GO:
classify_packet:
			classify(c, p->burst[p->i]);
			/* Stages run back to back until one has callbacks to
			 * run (then the dispatch stage takes over). Here only
			 * raw sockets' can be queued: every stage before has
			 * run its dispatch to the end. */
			if (c->socks.nraw > 0 && k->data != NULL) {
				flow_raw_jobs(c);
				dispatch_then(c, ST_TCP);
				if (p->stage != ST_TCP)
					break;
			}
			/* fallthrough */
		case ST_TCP:
			if (k->pr.kind != PK_TCP || c->socks.npassive == 0) {
				p->stage = ST_VERDICT;
				goto verdict;
			}
			switch (flow_begin(c)) {
			case FB_ORPHAN:
				flow_orphan_jobs(c);
				dispatch_then(c, ST_VERDICT);
				if (p->stage == ST_VERDICT)
					goto verdict;
				continue;
			case FB_RECYCLE:
				destroy_then(c, k->fidx, MOS_SIDE_SVR, 0, ST_TCP);
				continue;
			default:
				switch (flow_fast(c)) {
				case FF_EST:
					/* Nothing ends: straight on. */
					verdict(c);
					goto next;
				case FF_QUIET:
					p->stage = ST_VERDICT;
					goto verdict;
				}
				flow_snd(c);
				dispatch_then(c, ST_AFTER_SND);
				break;
			}
			if (p->stage != ST_AFTER_SND)
				break;
			/* fallthrough */
		case ST_AFTER_SND:
			flow_after_snd(c);
			dispatch_then(c, ST_RCV_CHECK);
			if (p->stage != ST_RCV_CHECK)
				break;
			/* fallthrough */
		case ST_RCV_CHECK:
			flow_rcv_check(c);
			dispatch_then(c, ST_RCV);
			if (p->stage != ST_RCV)
				break;
			/* fallthrough */
		case ST_RCV:
			flow_rcv(c);
			dispatch_then(c, ST_VERDICT);
			if (p->stage != ST_VERDICT)
				break;
			/* fallthrough */
		case ST_VERDICT:
verdict:
			verdict(c);
			if (k->fidx != FLOW_NONE && flow_end_of_packet(c)) {
				destroy_then(c, k->fidx, k->rcv, 0, ST_NEXT);
				if (p->stage != ST_NEXT)
					break;
			}
			/* fallthrough */
		case ST_NEXT:
next:
			if (p->frag_done != NULL) {
				/* Analyse the datagram this fragment completed
				 * in the fragment's slot. */
				p->burst[p->i] = p->frag_done;
				p->frag_done = NULL;
				p->analysis_next = 1;
			} else {
				p->i++;
			}
			/* Straight on to the next packet, not through the
			 * switch's indirect jump. */
			p->stage = ST_PKT;
			goto next_packet;
		case ST_TIMERS:
timers:
			/* The burst's end: its stages fall through to each
			 * other, the stage switch taking over only after
			 * callbacks. */
			k->valid = 0;
			p->pause_from = p->now_ms;
			if (run_timer(c, p->now_ms))
				return PIPE_INVOKE;
			p->stage = ST_TIMEOUTS;
			/* fallthrough */
		case ST_TIMEOUTS:
			fidx = flow_expired(c, &idle);
			if (fidx != FLOW_NONE) {
				p->cyc_busy = 1;
				destroy_then(c, fidx, MOS_SIDE_SVR, idle,
					     ST_TIMEOUTS);
				break;
			}
			p->stage = ST_NEWDATA;
			/* fallthrough */
		case ST_NEWDATA:
			while (p->nd_i < c->nnd && c->disp.nj == 0)
				flow_new_data_jobs(c, &c->nd[p->nd_i++]);
			if (c->disp.nj != 0) {
				dispatch_then(c, ST_NEWDATA);
				break;
			}
			c->nnd = 0;
			p->nd_i = 0;
			p->stage = ST_BURST_END;
			/* fallthrough */
		case ST_BURST_END:
			if (c->ipfrag != NULL)
				ipfrag_expire(c->ipfrag, p->now_ms, &c->st);
			core_tx_flush(c);
			/* The burst's output is with the distributor. */
			__atomic_store_n(&c->seq_done, c->seq_last,
					 __ATOMIC_RELEASE);
			rte_spinlock_unlock(&c->lock);
			p->stage = ST_POLL;
			if (p->step)
				return PIPE_IDLE;
			break;
		case ST_PKT_TIMERS:
			k->valid = 0;
			if (run_timer(c, p->timer_limit))
				return PIPE_INVOKE;
			p->stage = ST_PKT_GO;
			goto classify_packet;
		case ST_EOF:
			k->valid = 0;
			if (c->frag_in != NULL && !p->frags_settled) {
				if (wait_for_frags(c))
					break;
				p->frags_settled = 1;
			}
			if (!p->cyc_busy) {
				/* Waiting above was idle; closing the flows is
				 * work. */
				if (p->cycles)
					cycles_close(c);
				p->cyc_busy = 1;
			}
			if (c->ipfrag != NULL)
				ipfrag_expire(c->ipfrag, UINT64_MAX, &c->st);
			fidx = c->ft.tw_head != FLOW_NONE ? c->ft.tw_head :
			       c->ft.lru_head;
			if (g_rt.cfg.eof_flush && fidx != FLOW_NONE) {
				c->st.eof_flushed++;
				destroy_then(c, fidx, MOS_SIDE_SVR, 0, ST_EOF);
				break;
			}
			p->stage = ST_FINISH;
			break;
		case ST_FINISH:
			core_tx_flush(c);
			if (p->cycles)
				cycles_close(c);
			rte_spinlock_unlock(&c->lock);
			p->stage = ST_DONE;
			break;
		case ST_DONE:
			return PIPE_DONE;
		case ST_DISPATCH:
dispatch:
			if (disp_run(c))
				return PIPE_INVOKE;
			p->stage = p->after;
			break;
		case ST_DESTROY_FREE:
			destroy_free(c);
			break;
		}
	}
}
