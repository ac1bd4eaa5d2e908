/*
 * dist.c - the software distributor: when several worker cores share ports
 * that cannot spread flows by symmetric RSS (capture files, most vdevs),
 * one extra lcore reads the ports, sends each packet to the worker that
 * owns its flow (both directions hash alike), and transmits what the
 * workers hand back.
 *
 * It also reassembles IPv4 fragments (ipfrag.h) for the workers: it sees
 * them in order, which keeps each datagram in order with its flow.
 *
 * With offline input nothing may be lost, so a full ring is waited on
 * (while the return rings keep draining, or the two would deadlock); with
 * live ports a full ring drops and counts.
 *
 * Offline, the output also keeps the input's order, as one core would
 * write it: each frame gets its place in the input (g_rt.seq_off), a
 * packet a core sends gets the place of the frame it took last, and the
 * frames the workers hand back are merged by place. A frame goes out
 * once no worker can still hand back one placed before it: each worker
 * publishes the place it has finished up to (seq_done), and one with
 * nothing left of what it was given can only send later ones.
 */
#include <netinet/in.h>
#include <stdlib.h>

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_pause.h>

#include "core.h"
#include "ipfrag.h"
#include "parse.h"
#include "rt.h"

struct dist_buf {
	uint16_t n;
	struct rte_mbuf *m[RT_BURST * 2];
};

/* A worker's frames handed back and not sent yet (ordered output). The
 * tests shrink the stage (MOONBOX_TEST_DIST_STAGE, 1 to DIST_STAGE) so
 * that it fills up on small captures too. */
#define DIST_STAGE	2048u

struct dist_stage {
	uint32_t head, n;
	uint64_t given;		/* place of the last frame given to it */
	struct rte_mbuf *m[DIST_STAGE];
};

static struct dist_stage stage[RT_MAX_CORES];
static uint32_t stage_cap = DIST_STAGE;
static uint64_t next_seq;

/* Frame m goes to worker w, at the next place in the input order. */
static inline void
give(struct dist_buf *bufs, int w, struct rte_mbuf *m, int new_place)
{
	if (g_rt.seq_off >= 0) {
		if (new_place)
			next_seq++;
		rt_set_seq(m, next_seq);
		stage[w].given = next_seq;
	}
	bufs[w].m[bufs[w].n++] = m;
}

/* The worker of a frame (parsed into *pr, which is zeroed if the frame is
 * in several buffers). */
static int
worker_of(struct rte_mbuf *m, struct parsed *pr_out)
{
	const uint8_t *f = rte_pktmbuf_mtod(m, const uint8_t *);
	const uint8_t *ip, *l4;
	struct parsed pr;
	uint32_t a, b;
	uint16_t pa = 0, pb = 0;

	parse_frame(f, rte_pktmbuf_data_len(m), &pr);
	if (m->nb_segs != 1)
		pr = (struct parsed){ .kind = PK_NON_IP };
	*pr_out = pr;
	if (g_rt.nb_cores == 1)
		return 0;
	if (pr.kind != PK_TCP && pr.kind != PK_IPV4 && pr.kind != PK_IPV4_FRAG)
		return 0;
	ip = f + pr.l2_len;
	memcpy(&a, ip + 12, 4);
	memcpy(&b, ip + 16, 4);
	if (pr.kind == PK_TCP) {
		l4 = ip + pr.l3_len;
		memcpy(&pa, l4, 2);
		memcpy(&pb, l4 + 2, 2);
	}
	return rt_core_of_hash(rt_sym_hash(a, b, pa, pb), g_rt.nb_cores);
}

/* Offer a fragment to the distributor's reassembly; a datagram it
 * completes goes to its flow's worker, after the packets of the flow
 * already queued there and before the later ones. Its buffer, from
 * g_rt.dist_big, tells the worker it is for analysis only. The clock is
 * the packets' (their capture time) when they have one. */
static void
reassemble(struct dist_buf *bufs, const struct rte_mbuf *m,
	   const struct parsed *pr, uint64_t *now_ms, struct stats *st)
{
	struct rte_mbuf *d;
	int w;

	if (rt_has_ts(m)) {
		uint64_t t = rt_packet_ms(m);

		if (t > *now_ms)
			*now_ms = t;
	} else {
		*now_ms = rte_get_timer_cycles() * 1000 / rte_get_timer_hz();
	}
	d = ipfrag_offer(g_rt.dist_frag, m, pr, *now_ms, g_rt.dist_big, st);
	if (d == NULL)
		return;
	w = ipfrag_core_of(d);
	give(bufs, w, d, 0);	/* in the place of the fragment that ended it */
}

static int
workers_done(void)
{
	int i;

	for (i = 0; i < g_rt.nb_cores; i++) {
		struct core *c = g_rt.cores[i];

		if (c != NULL && c->state != CORE_DONE &&
		    c->state != CORE_FAILED)
			return 0;
	}
	return 1;
}

/* Transmit one frame a worker handed back (waiting on a full port only
 * with offline input). */
static void
send_back(struct rte_mbuf *m, struct stats *st)
{
	uint16_t port = m->port;

	while (rt_tx_burst(port, 0, &m, 1) == 0) {
		if (!g_rt.offline) {
			/* A generated packet was never received: it is not
			 * a fate of a received one. */
			if (!(m->ol_flags & g_rt.gen_flag))
				st->dropped_tx_full++;
			rte_pktmbuf_free(m);
			return;
		}
		rte_pause();
	}
}

/* The ordered drain: take what the workers handed back into their stages,
 * then send, place by place, what no worker can precede any more (all of
 * it once the workers are done); returns the frames taken or sent. */
static unsigned
drain_ordered(struct stats *st, int final)
{
	uint64_t done[RT_MAX_CORES];
	int drained[RT_MAX_CORES];
	unsigned moved = 0;
	int w, nw = g_rt.nb_cores;

	for (w = 0; w < nw; w++) {
		struct dist_stage *s = &stage[w];
		struct rte_mbuf *pkts[RT_BURST];
		unsigned n, i, room;

		/* Read before the ring: the frames of the places it covers
		 * were queued before it was published. */
		done[w] = __atomic_load_n(&g_rt.cores[w]->seq_done,
					  __ATOMIC_ACQUIRE);
		do {
			room = stage_cap - s->n;
			n = rte_ring_dequeue_burst(g_rt.from_worker[w],
				(void **)pkts, room < RT_BURST ? room :
				RT_BURST, NULL);
			for (i = 0; i < n; i++)
				s->m[(s->head + s->n++) % DIST_STAGE] =
					pkts[i];
			moved += n;
		} while (n == RT_BURST);
		/* A full stage may leave frames in the ring. */
		drained[w] = s->n < stage_cap;
	}
	for (;;) {
		struct dist_stage *best = NULL;
		uint64_t q = 0;

		for (w = 0; w < nw; w++) {
			struct dist_stage *s = &stage[w];

			if (s->n != 0 && (best == NULL ||
					  rt_seq(s->m[s->head]) < q)) {
				best = s;
				q = rt_seq(s->m[s->head]);
			}
		}
		if (best == NULL)
			break;
		/* A worker with nothing staged may still hand back a frame
		 * placed before q: one left in its ring when its stage was
		 * full (the next call takes it), or one of its own it has not
		 * finished. */
		for (w = 0; w < nw; w++)
			if (stage[w].n == 0 &&
			    (!drained[w] || (!final && done[w] < stage[w].given &&
					     done[w] < q)))
				break;
		if (w < nw)
			break;
		send_back(best->m[best->head], st);
		best->head = (best->head + 1) % DIST_STAGE;
		best->n--;
		moved++;
	}
	return moved;
}

/* Transmit what the workers handed back; returns packets handled. */
static unsigned
drain_workers(struct stats *st)
{
	struct rte_mbuf *pkts[RT_BURST];
	unsigned total = 0;
	int w;

	if (g_rt.seq_off >= 0)
		return drain_ordered(st, 0);
	for (w = 0; w < g_rt.nb_cores; w++) {
		unsigned n, i;

		n = rte_ring_dequeue_burst(g_rt.from_worker[w], (void **)pkts,
					   RT_BURST, NULL);
		/* Ordering per worker is kept; one packet at a time keeps
		 * ports apart without sorting. */
		for (i = 0; i < n; i++)
			send_back(pkts[i], st);
		total += n;
	}
	return total;
}

/* Frames that did not fit a live worker's ring: dropped and counted. */
static void
drop_unsent(struct rte_mbuf **m, unsigned n, struct stats *st)
{
	unsigned i;

	/* Analysis-only datagrams were not received: they fail, the frames
	 * are dropped. */
	for (i = 0; i < n; i++) {
		if (m[i]->pool == g_rt.dist_big) {
			st->ipfrag_failed++;
		} else {
			st->rx_packets++;
			st->rx_bytes += rte_pktmbuf_pkt_len(m[i]);
			st->dropped_ring_full++;
		}
	}
	rte_pktmbuf_free_bulk(m, n);
}

/* Hand each worker its frames. Offline, a full ring is waited on, the
 * other workers' frames going in meanwhile: with ordered output a worker
 * may be waiting (full rings both ways) for another's earlier frames,
 * which must not wait behind it. */
static void
flush_to_workers(struct dist_buf *bufs, struct stats *st)
{
	unsigned sent[RT_MAX_CORES] = { 0 };
	int w, left;

	for (;;) {
		left = 0;
		for (w = 0; w < g_rt.nb_cores; w++) {
			struct dist_buf *b = &bufs[w];

			if (sent[w] == b->n)
				continue;
			sent[w] += rte_ring_enqueue_burst(g_rt.to_worker[w],
				(void **)&b->m[sent[w]], b->n - sent[w], NULL);
			if (sent[w] == b->n)
				continue;
			if (!g_rt.offline) {
				drop_unsent(&b->m[sent[w]], b->n - sent[w], st);
				sent[w] = b->n;
				continue;
			}
			left = 1;
		}
		if (!left)
			break;
		drain_workers(st);
		rte_pause();
	}
	for (w = 0; w < g_rt.nb_cores; w++)
		bufs[w].n = 0;
}

static uint32_t
test_stage_cap(void)
{
	const char *v = getenv("MOONBOX_TEST_DIST_STAGE");
	char *end;
	unsigned long n;

	if (v == NULL)
		return DIST_STAGE;
	n = strtoul(v, &end, 10);
	return *v != '\0' && *end == '\0' && n >= 1 && n <= DIST_STAGE ?
	       (uint32_t)n : DIST_STAGE;
}

int
dist_main(void *arg)
{
	struct dist_buf bufs[RT_MAX_CORES];
	struct stats *st = &g_rt.dist_stats;
	uint64_t last_nombuf[RT_MAX_PORTS] = { 0 };
	uint8_t eof[RT_MAX_PORTS] = { 0 };
	uint64_t now_ms = 0;
	int p, input_done = 0;

	(void)arg;
	memset(bufs, 0, sizeof(bufs));
	memset(stage, 0, sizeof(stage));
	stage_cap = test_stage_cap();
	next_seq = 0;
	while (!__atomic_load_n(&g_rt.go, __ATOMIC_ACQUIRE) &&
	       !__atomic_load_n(&g_rt.stop, __ATOMIC_ACQUIRE))
		rte_delay_us_sleep(200);

	for (;;) {
		unsigned moved = 0;

		if (!input_done && __atomic_load_n(&g_rt.stop, __ATOMIC_ACQUIRE))
			input_done = 1;
		if (!input_done) {
			int all_eof = 1;

			for (p = 0; p < g_rt.nb_ports; p++) {
				struct rte_mbuf *pkts[RT_BURST];
				uint16_t n, i;

				if (eof[p])
					continue;
				n = rt_rx_burst((uint16_t)p, 0, pkts, RT_BURST);
				for (i = 0; i < n; i++) {
					struct parsed pr;
					int w = worker_of(pkts[i], &pr);

					pkts[i]->port = (uint16_t)p;
					give(bufs, w, pkts[i], 1);
					if (pr.kind == PK_IPV4_FRAG &&
					    pr.ip_proto == IPPROTO_TCP &&
					    g_rt.dist_frag != NULL)
						reassemble(bufs, pkts[i], &pr,
							   &now_ms, st);
				}
				moved += n;
				if (n == 0 && g_rt.ports[p].offline)
					eof[p] = (uint8_t)rt_rx_ended((uint16_t)p,
							&last_nombuf[p]);
				if (!eof[p])
					all_eof = 0;
				flush_to_workers(bufs, st);
			}
			if (all_eof) {
				input_done = 1;
				__atomic_store_n(&g_rt.dist_input_done, 1,
						 __ATOMIC_RELEASE);
			}
		} else if (!g_rt.dist_input_done) {
			__atomic_store_n(&g_rt.dist_input_done, 1,
					 __ATOMIC_RELEASE);
		}
		if (g_rt.dist_frag != NULL)
			ipfrag_expire(g_rt.dist_frag,
				      input_done ? UINT64_MAX : now_ms, st);
		moved += drain_workers(st);
		if (input_done && moved == 0 && workers_done()) {
			/* A worker may have queued its last packets just
			 * before finishing. */
			while (drain_workers(st) != 0)
				;
			if (g_rt.seq_off >= 0)
				while (drain_ordered(st, 1) != 0)
					;
			break;
		}
		if (moved == 0)
			rte_pause();
	}
	return 0;
}
