/*
 * flow.c - what the pipeline does to a TCP packet of a monitored flow
 * (mos-semantics §2.3 steps d-e, §3): find or create its flow, update the
 * sender's emulated stack, create the server half from the possibly
 * rewritten first SYN, detect retransmissions and reassembly errors, update
 * the receiver's stack and its buffer, and tear flows down. Each function
 * queues the dispatcher jobs of its step; pipe.c runs them between steps.
 *
 * Socket order (§2.3): a client-to-server packet visits the flow's sockets
 * in listener creation order, a server-to-client packet in reverse; events
 * of one side without a packet (new data, errors, flow end) use the order
 * of the direction whose bytes that side receives.
 */
#include <rte_byteorder.h>
#include <rte_mbuf.h>
#include <rte_prefetch.h>

#include "bpf.h"
#include "core.h"
#include "flow.h"
#include "rb.h"
#include "sock.h"

#define SIDES	((1u << MOS_SIDE_CLI) | (1u << MOS_SIDE_SVR))
#define FLOW_LRU_SLACK_MS	250

static inline uint32_t
rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static inline uint16_t
rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

uint8_t *
flow_tcp_hdr(const struct pipe_pkt *k)
{
	return k->data + k->pr.l2_len + k->pr.l3_len;
}

/* A SYN's window scale option (the only option read). */
static __rte_noinline void
read_wscale(struct pipe_pkt *k, const uint8_t *t)
{
	uint32_t i = 0, olen = k->pr.l4_len - 20u;
	uint8_t kind, len;
	int at;

	while ((at = tcp_opt_next(t + 20, olen, &i, &kind, &len)) >= 0)
		if (kind == 3 && len == 3)
			k->g.wscale = (int8_t)(t[20 + at + 2] & 0x0f);
}

/* Read the segment from the packet as it is now (callbacks may have
 * rewritten it). Options are looked at only on SYNs, for window scaling.
 * Inlined into flow_begin, which reads every segment (callgrind: the
 * call was 5 instructions a packet). */
static inline __attribute__((always_inline)) void
read_seg(struct pipe_pkt *k, const uint8_t *t)
{
	k->g.seq = rd32(t + 4);
	k->g.ack = rd32(t + 8);
	k->g.flags = t[13] & (TH_FIN | TH_SYN | TH_RST | TH_PSH | TH_ACK);
	k->g.win = rd16(t + 14);
	k->g.len = k->pr.payload_len;
	k->g.wscale = -1;
	if (unlikely(k->g.flags & TH_SYN))
		read_wscale(k, t);
}

void
flow_read_seg(struct pipe_pkt *k)
{
	read_seg(k, flow_tcp_hdr(k));
}

/* Sockets of a flow, in listener order or reversed. */
int
flow_socks(struct core *c, const struct flow *f, int forward, uint32_t *out)
{
	uint32_t s, n = 0, i;

	for (s = f->sock_head; s != SOCK_NONE && n < SOCK_MAX_PASSIVE;
	     s = c->socks.s[s].next)
		out[n++] = s;
	if (!forward)
		for (i = 0; i < n / 2; i++) {
			uint32_t tmp = out[i];

			out[i] = out[n - 1 - i];
			out[n - 1 - i] = tmp;
		}
	return (int)n;
}

/* What the sender and receiver steps can raise at their hooks for a
 * segment without SYN or RST. */
#define QUIET_EVENTS	(MOS_ON_PKT_IN | MOS_ON_TCP_STATE_CHANGE | MOS_ON_REXMIT)

/* flow_fast's tests of the flow, which change only with its flags, its
 * tracked sides and its sockets' callbacks, taken there as one byte
 * (callgrind, http replay: 808.3 -> 804.0 instructions a packet). Out
 * of line: two calls a connection. */
static __rte_noinline void
flow_update_paths(struct flow *f)
{
	uint32_t w = f->want[HK_SND] | f->want[HK_RCV];
	uint8_t paths = 0;

	if ((f->flags & (FL_SVR | FL_ADJ | FL_DESTROY)) == FL_SVR &&
	    f->mgmt == SIDES && !(w & MOS_ON_PKT_IN)) {
		paths = PATH_FAST;
		if (!(w & QUIET_EVENTS))
			paths |= PATH_QUIET;
	}
	f->paths = paths;
}

void
flow_update_want(struct core *c, struct flow *f)
{
	uint32_t s;
	int h;

	for (h = 0; h < HK__COUNT; h++)
		f->want[h] = 0;
	for (s = f->sock_head; s != SOCK_NONE; s = c->socks.s[s].next)
		for (h = 0; h < HK__COUNT; h++)
			f->want[h] |= c->socks.s[s].tree->mask[h];
	flow_update_paths(f);
}

void
flow_set_flags(struct flow *f, uint8_t fl)
{
	f->flags |= fl;
	flow_update_paths(f);
}

static void
queue_flow_jobs(struct core *c, const struct flow *f, int forward, int hook,
		int side, uint32_t raised)
{
	uint32_t socks[SOCK_MAX_PASSIVE];
	int i, n;

	if (f->nsocks == 1) {
		disp_add(c, f->sock_head, hook, side, raised);
		return;
	}
	n = flow_socks(c, f, forward, socks);
	for (i = 0; i < n; i++)
		disp_add(c, socks[i], hook, side, raised);
}

static inline void
add_flow_jobs(struct core *c, const struct flow *f, int forward, int hook,
	      int side, uint32_t raised)
{
	/* Most packets raise nothing any socket of the flow listens to. */
	if (f->want[hook] & raised)
		queue_flow_jobs(c, f, forward, hook, side, raised);
}

/* -- Finding the flow ---------------------------------------------------- */

/* rt_sym_hash of the key's 4-tuple, which is in order already. */
static inline uint32_t
key_hash(const struct fkey *k)
{
	return rt_sym_hash_ordered(k->lo_ip, k->hi_ip, k->lo_port, k->hi_port);
}

/* The 4-tuple of the IPv4 header at ip and the TCP header at t. */
static inline __attribute__((always_inline)) void
tuple_at(const uint8_t *ip, const uint8_t *t, uint32_t *sa, uint32_t *da,
	 uint16_t *sp, uint16_t *dp)
{
	memcpy(sa, ip + 12, 4);
	memcpy(da, ip + 16, 4);
	memcpy(sp, t, 2);
	memcpy(dp, t + 2, 2);
}

static void
tuple(const struct pipe_pkt *k, uint32_t *sa, uint32_t *da, uint16_t *sp,
      uint16_t *dp)
{
	tuple_at(k->data + k->pr.l2_len, flow_tcp_hdr(k), sa, da, sp, dp);
}

static int
syn_accepts(struct core *c, struct sock *l, const struct pipe_pkt *k)
{
	return bpf_prog_match(l->ls->syn, k->data,
			      rte_pktmbuf_data_len(k->m));
}

/* Create a flow for a first SYN if some listener accepts it. */
static uint32_t
create_flow(struct core *c, struct pipe_pkt *k, const struct fkey *key)
{
	struct socktbl *st = &c->socks;
	uint32_t accept[SOCK_MAX_PASSIVE], idx, last = SOCK_NONE;
	int i, n = 0;
	struct flow *f;

	for (i = 0; i < st->npassive; i++) {
		struct sock *l = &st->s[st->passive[i]];

		if (l->type == MOS_SOCK_MONITOR_STREAM && syn_accepts(c, l, k))
			accept[n++] = st->passive[i];
	}
	if (n == 0)
		return FLOW_NONE;
	idx = flowtbl_alloc(&c->ft);
	if (idx == FLOW_NONE) {
		c->st.flows_rejected_full++;
		return FLOW_NONE;
	}
	/* flow_begin's lookup of the key has just failed. */
	if (flowtbl_insert_key(&c->ft, key, k->hash, idx) != 0) {
		flowtbl_release(&c->ft, idx);
		c->st.flows_rejected_full++;
		return FLOW_NONE;
	}
	f = &c->ft.f[idx];
	tuple(k, &f->ip[MOS_SIDE_CLI], &f->ip[MOS_SIDE_SVR],
	      &f->port[MOS_SIDE_CLI], &f->port[MOS_SIDE_SVR]);
	fsm_init(&f->h[MOS_SIDE_CLI]);
	f->mgmt = SIDES;
	f->sock_head = SOCK_NONE;
	f->last_ms = c->pipe.now_ms;
	for (i = 0; i < n; i++) {
		struct lsock *ls = st->s[accept[i]].ls;
		uint32_t s = sock_new_active(st, accept[i], idx);

		if (s == SOCK_NONE) {
			c->st.socks_exhausted++;
			continue;
		}
		/* A side is buffered if any socket wants its bytes; the
		 * last copy wins if any socket asked for it. */
		f->buf |= (uint8_t)(SIDES & ~ls->bufoff);
		f->overlap_last |= ls->overlap_last;
		for (int sd = 0; sd < 2; sd++) {
			uint32_t w = ls->win[sd] ? ls->win[sd] :
				     (uint32_t)g_rt.cfg.rmem;

			if (w > f->win[sd])
				f->win[sd] = w;
		}
		if (last == SOCK_NONE)
			f->sock_head = s;
		else
			st->s[last].next = s;
		last = s;
		f->nsocks++;
	}
	flow_update_want(c, f);
	f->lru_ms = f->last_ms;
	flowtbl_list_tail(&c->ft, idx, FLIST_LRU);
	c->st.flows_created++;
	return idx;
}

/* Load, for the whole burst as it arrives, what its frames' lookups will
 * read, so that the misses overlap the work on the packets before. A first
 * SYN's key was last touched, if ever, long ago: its index bucket and
 * overflow count come from memory (about 500 cycles, a third of such a
 * packet's cost on the small-packet bench input). With more flows than the
 * caches hold, every frame is looked up here once its bucket is loaded,
 * and the four lines of its flow slot are loaded too (10 000 concurrent
 * connections: the engine's cycles a packet about halved); with fewer that
 * is work for nothing (5 % more engine cycles with the bench input's 58
 * flows, and a tenth more when flow_begin took the lookups from here: the
 * lookups are cheap when they hit the caches). Only plain Ethernet/IPv4
 * frames in one segment are looked at. Their hashes are kept for
 * flow_begin, and so are the index entries found, with their keys: an
 * earlier packet of the burst may end a flow or start one, so flow_begin
 * takes an entry only if it still holds the key (keys are unique in the
 * index, so the entry is then what a lookup would find), and looks the
 * flow up again otherwise. */
_Static_assert(RT_BURST <= 32, "pipe.hashed_mask has a bit per frame");

#define FLOW_PREFETCH_MIN	1024	/* flows: 320 KiB of slots and buckets */

/* Hash frame i of the burst and load its index bucket (and, for a first
 * SYN, the bucket's overflow count, which its insertion reads): 1 if it
 * is a plain TCP frame this was done for. Only first SYNs unless many. */
static inline __attribute__((always_inline)) int
prefetch_frame(struct pipe *p, const struct fidx *x, uint16_t i, int many)
{
	const struct rte_mbuf *m = p->burst[i];
	const uint8_t *d = rte_pktmbuf_mtod(m, const uint8_t *);
	uint32_t len = rte_pktmbuf_data_len(m), ihl, sa, da, h, b;
	const uint8_t *t;
	uint16_t sp, dp;
	struct fkey key;
	int syn;

	if (len < 54 || d[12] != 0x08 || d[13] != 0x00 || d[23] != 6 ||
	    m->nb_segs != 1)
		return 0;
	ihl = (uint32_t)(d[14] & 0x0f) * 4;
	if (ihl < 20 || len < 14 + ihl + 20)
		return 0;
	t = d + 14 + ihl;
	syn = (t[13] & (TH_SYN | TH_ACK | TH_RST)) == TH_SYN;
	if (!syn && !many)
		return 0;
	tuple_at(d + 14, t, &sa, &da, &sp, &dp);
	key = flow_key(sa, da, sp, dp);
	h = key_hash(&key);
	p->burst_ips[i] = fkey_ips(&key);
	p->burst_ports[i] = fkey_ports(&key);
	p->burst_hash[i] = h;
	b = fidx_home(x, h);
	rte_prefetch0(&x->b[b]);
	if (syn)
		rte_prefetch0(&x->ovf[b]);
	return 1;
}

void
flow_prefetch_burst(struct core *c)
{
	const struct fidx *x = &c->ft.ix;
	struct pipe *p = &c->pipe;
	uint32_t hashed = 0, found = 0, passed;
	uint16_t i, nb = p->nb;

	if (flowtbl_active(&c->ft) < FLOW_PREFETCH_MIN) {
		for (i = 0; i < nb; i++) {
			const struct rte_mbuf *m = p->burst[i];
			const uint8_t *d = rte_pktmbuf_mtod(m, const uint8_t *);

			/* Most frames are not a first SYN, and most of
			 * those say so at a fixed place: where an IPv4
			 * header without options puts TCP's ACK and RST
			 * flags. The header's length is not tested: a frame
			 * with either bit there is skipped whatever it holds
			 * (flow_begin then hashes it itself, and a SYN with
			 * IP options goes without its prefetch); one
			 * without goes through prefetch_frame's checks. */
			if (likely(rte_pktmbuf_data_len(m) >= 54 &&
				   (d[47] & (TH_ACK | TH_RST))))
				continue;
			if (prefetch_frame(p, x, i, 0))
				hashed |= 1u << i;
		}
		p->hashed_mask = hashed;
		p->found_mask = 0;
		return;
	}
	for (i = 0; i < nb; i++)
		if (prefetch_frame(p, x, i, 1))
			hashed |= 1u << i;
	for (i = 0; i < nb; i++) {
		const struct fidx_ent *e;
		const uint8_t *f;

		if (!((hashed >> i) & 1))
			continue;
		e = fidx_find(x, p->burst_ips[i], p->burst_ports[i],
			      p->burst_hash[i], &passed);
		if (e == NULL)
			continue;
		p->burst_ent[i] = e;
		found |= 1u << i;
		/* A packet reads all four lines of its flow. */
		f = (const uint8_t *)&c->ft.f[e->val - 1];
		rte_prefetch0(f);
		rte_prefetch0(f + 64);
		rte_prefetch0(f + 128);
		rte_prefetch0(f + 192);
	}
	p->hashed_mask = hashed;
	p->found_mask = found;
}

/* The flow the burst's pass found for the current packet, if its index
 * entry still holds the packet's key; FLOW_NONE otherwise. */
static inline uint32_t
burst_flow(const struct pipe *p, const struct pipe_pkt *k)
{
	const struct fidx_ent *e;

	if (!k->found)		/* cleared by an edit (pktmod.c) */
		return FLOW_NONE;
	e = p->burst_ent[p->i];
	if (e->val == 0 || e->ips != p->burst_ips[p->i] ||
	    e->ports != p->burst_ports[p->i])
		return FLOW_NONE;
	return e->val - 1;
}

int
flow_begin(struct core *c)
{
	struct pipe_pkt *k = &c->pipe.cur;
	const uint8_t *ip = k->data + k->pr.l2_len;
	const uint8_t *t = ip + k->pr.l3_len;
	uint32_t sa, da;
	uint16_t sp, dp;
	struct fkey key;
	struct flow *f;
	uint32_t idx;

	read_seg(k, t);
	k->orig_seq = k->g.seq;
	tuple_at(ip, t, &sa, &da, &sp, &dp);
	idx = burst_flow(&c->pipe, k);
	if (idx == FLOW_NONE) {
		key = flow_key(sa, da, sp, dp);
		/* The hash taken with the burst, unless a callback has
		 * rewritten the packet since (which clears k->hashed). */
		if (!k->hashed)
			k->hash = key_hash(&key);
		idx = flowtbl_lookup(&c->ft, &key, k->hash);
	}
	if (idx != FLOW_NONE) {
		f = &c->ft.f[idx];
		k->snd = (sa == f->ip[MOS_SIDE_CLI] &&
			  sp == f->port[MOS_SIDE_CLI]) ? MOS_SIDE_CLI :
			 MOS_SIDE_SVR;
		/* A new SYN on a 4-tuple whose previous connection is over
		 * (its client CLOSED or in TIME_WAIT) starts a new flow, the
		 * old one ending first. Any other SYN belongs to the live
		 * connection, which discards it. */
		if ((k->g.flags & (TH_SYN | TH_ACK | TH_RST)) == TH_SYN &&
		    k->snd == MOS_SIDE_CLI &&
		    (f->h[MOS_SIDE_CLI].state == TCP_CLOSED ||
		     f->h[MOS_SIDE_CLI].state == TCP_TIME_WAIT)) {
			k->fidx = idx;
			return FB_RECYCLE;
		}
		k->fidx = idx;
		k->fgen = f->gen;
		k->rcv = k->snd ^ 1;
		return FB_FLOW;
	}
	if ((k->g.flags & (TH_SYN | TH_ACK | TH_RST)) == TH_SYN &&
	    c->socks.nstream > 0) {
		idx = create_flow(c, k, &key);
		if (idx != FLOW_NONE) {
			k->fidx = idx;
			k->fgen = c->ft.f[idx].gen;
			k->snd = MOS_SIDE_CLI;
			k->rcv = MOS_SIDE_SVR;
			k->first_syn = 1;
			return FB_FLOW;
		}
	}
	k->fidx = FLOW_NONE;
	return FB_ORPHAN;
}

void
flow_orphan_jobs(struct core *c)
{
	struct socktbl *st = &c->socks;
	struct pipe_pkt *k = &c->pipe.cur;
	uint32_t len = rte_pktmbuf_data_len(k->m);
	int i;

	k->where = W_ORPHAN;
	c->st.orphans++;
	for (i = 0; i < st->npassive; i++) {
		struct sock *s = &st->s[st->passive[i]];
		const struct bpf_program *p = s->type == MOS_SOCK_MONITOR_RAW ?
			s->ls->raw : s->ls->orphan;

		if (evtree_wants(s->tree, HK_NULL, MOS_ON_ORPHAN) &&
		    bpf_prog_match(p, k->data, len))
			disp_add(c, st->passive[i], HK_NULL, MOS_SIDE_BOTH,
				 MOS_ON_ORPHAN);
	}
}

void
flow_raw_jobs(struct core *c)
{
	struct socktbl *st = &c->socks;
	struct pipe_pkt *k = &c->pipe.cur;
	uint32_t len = rte_pktmbuf_data_len(k->m);
	int i;

	for (i = 0; i < st->npassive; i++) {
		struct sock *s = &st->s[st->passive[i]];

		if (s->type == MOS_SOCK_MONITOR_RAW &&
		    evtree_wants(s->tree, HK_NULL, MOS_ON_PKT_IN) &&
		    bpf_prog_match(s->ls->raw, k->data, len))
			disp_add(c, st->passive[i], HK_NULL, MOS_SIDE_BOTH,
				 MOS_ON_PKT_IN);
	}
}

/* -- Sender, server half, receiver -------------------------------------- */

/* The sender's packet: when, and where from (for packets injected on the
 * flow). */
static inline void
note_sender(struct core *c, struct flow *f, const struct pipe_pkt *k)
{
	f->last_ms = c->pipe.now_ms;
	f->in_port[k->snd] = k->in_port;
	memcpy(f->mac[k->snd], k->data, 12);
	/* The LRU order is kept to within FLOW_LRU_SLACK_MS: moving a busy
	 * flow on every packet costs more than it tells; the expiry scan
	 * corrects the order where it matters (flow_expired). */
	if (f->last_ms - f->lru_ms >= FLOW_LRU_SLACK_MS &&
	    f->list == FLIST_LRU) {
		f->lru_ms = f->last_ms;
		flowtbl_list_tail(&c->ft, k->fidx, FLIST_LRU);
	}
}

/* A server's SYN/ACK may answer a later SYN than the one whose ISN
 * numbered what it received (fsm_send moved its stream's origin to 0):
 * bytes buffered from the earlier SYN (data on it) are not the stream's.
 * Readers that took them already (MOS_ON_CONN_NEW_DATA came in an earlier
 * burst) start again at the new stream's first byte. */
static void
restart_stream(struct core *c, struct flow *f, int side)
{
	uint32_t s;

	rb_destroy(c->rbpool, f->rb[side]);
	f->rb[side] = NULL;
	for (s = f->sock_head; s != SOCK_NONE; s = c->socks.s[s].next)
		c->socks.s[s].peek[side] = 0;
}

/* flow_snd and flow_rcv stay out of line: inlined into pipe_run (their
 * only caller) they crowd out the helpers every packet needs (callgrind,
 * bulk capture: 16 instructions a packet more). */
__rte_noinline void
flow_snd(struct core *c)
{
	struct pipe_pkt *k = &c->pipe.cur;
	struct flow *f = &c->ft.f[k->fidx];
	uint32_t ev = 0;
	int rex = 0;

	k->where = W_SND;
	note_sender(c, f, k);
	if (!(f->mgmt & (1u << k->snd)))
		return;
	ev = fsm_send(&f->h[k->snd], &f->h[k->rcv], &k->g, &rex);
	if (rex)
		c->st.syn_rexmit++;
	if (f->rb[k->snd] != NULL &&
	    rb_next(f->rb[k->snd]) != f->h[k->snd].rcv_off)
		restart_stream(c, f, k->snd);
	add_flow_jobs(c, f, k->snd == MOS_SIDE_CLI, HK_SND, k->snd,
		      MOS_ON_PKT_IN | ev);
	/* The payload's offset in the receiver's stream, for getlastpkt in
	 * the callbacks at the sender hook, if any (recomputed after them,
	 * the headers may change). */
	if (c->disp.nj != 0 && (f->flags & FL_SVR) &&
	    (f->h[k->rcv].flags & HF_IRS))
		k->off = fsm_seq_to_off(&f->h[k->rcv], k->g.seq) +
			 ((k->g.flags & TH_SYN) ? 1 : 0);
}

/* Rewrite the sequence and acknowledgement numbers of a packet of a flow
 * whose payload lengths were changed (pktmod.c). */
void flow_seq_remap(struct core *c, struct flow *f, struct pipe_pkt *k);

static void
create_server_half(struct core *c, struct flow *f, struct pipe_pkt *k)
{
	uint32_t sa, da;
	uint16_t sp, dp;

	fsm_init(&f->h[MOS_SIDE_SVR]);
	flow_set_flags(f, FL_SVR);
	/* The server half is keyed by the SYN as the callbacks left it:
	 * a NAT's rewritten SYN is what the server answers. */
	tuple(k, &sa, &da, &sp, &dp);
	if (sa != f->ip[MOS_SIDE_CLI] || da != f->ip[MOS_SIDE_SVR] ||
	    sp != f->port[MOS_SIDE_CLI] || dp != f->port[MOS_SIDE_SVR]) {
		struct fkey k2 = flow_key(sa, da, sp, dp);
		struct fkey k1 = flow_key(f->ip[0], f->ip[1], f->port[0],
					  f->port[1]);

		if (memcmp(&k1, &k2, sizeof(k1)) != 0 &&
		    flowtbl_add_key(&c->ft, &k2, key_hash(&k2), k->fidx) == 0) {
			flow_set_flags(f, FL_KEY2);
			f->ip2[0] = sa;
			f->ip2[1] = da;
			f->port2[0] = sp;
			f->port2[1] = dp;
		}
	}
}

/* Whether the payload overlaps bytes the receiver already has. */
static int
data_overlap(const struct flow *f, const struct pipe_pkt *k)
{
	const struct half *r = &f->h[k->rcv];
	struct rb_plan plan;

	if (k->off < (int64_t)r->rcv_off)
		return 1;
	/* Beyond everything buffered: nothing to overlap. */
	if (f->rb[k->rcv] == NULL || (uint64_t)k->off >= rb_end(f->rb[k->rcv]))
		return 0;
	rb_plan(f->rb[k->rcv], (uint64_t)k->off, k->g.len, &plan);
	return plan.overlap;
}

void
flow_after_snd(struct core *c)
{
	struct pipe_pkt *k = &c->pipe.cur;
	struct flow *f = &c->ft.f[k->fidx];
	struct half *r;

	if (k->first_syn)
		create_server_half(c, f, k);
	/* Callbacks at the sender hook may have rewritten the headers; the
	 * receiver must see the packet as it will leave. */
	if (k->modified)
		flow_read_seg(k);
	if (f->flags & FL_ADJ)
		flow_seq_remap(c, f, k);
	k->off = 0;
	if (!(f->mgmt & (1u << k->rcv)) || k->g.len == 0)
		return;
	r = &f->h[k->rcv];
	if (!(r->flags & HF_IRS))
		return;
	k->off = fsm_seq_to_off(r, k->g.seq);
	if ((k->g.flags & TH_SYN))
		k->off += 1;	/* data on a SYN starts after it */
	if (data_overlap(f, k)) {
		c->st.rexmit_data++;
		/* Raised at once, before the receiver's update. */
		add_flow_jobs(c, f, k->rcv == MOS_SIDE_SVR, HK_RCV, k->rcv,
			      MOS_ON_REXMIT);
	}
}

/* Largest stream offset the receiver would accept: what it advertised,
 * with room for one more segment; without a known window, 64 KiB. */
static uint64_t
window_limit(const struct half *r)
{
	uint64_t wnd = r->wnd;	/* 0 until HF_WND (struct half) */

	if (wnd < 65535)
		wnd = 65535;
	return r->rcv_off + wnd + 65536;
}

void
flow_rcv_check(struct core *c)
{
	struct pipe_pkt *k = &c->pipe.cur;
	struct flow *f = &c->ft.f[k->fidx];
	const struct half *r = &f->h[k->rcv];
	uint32_t socks[SOCK_MAX_PASSIVE];
	struct rb_plan plan;
	int i, n, fwd = k->rcv == MOS_SIDE_SVR;

	k->no_store = 0;
	if (!(f->mgmt & (1u << k->rcv)) || k->g.len == 0 ||
	    !(r->flags & HF_IRS) || !(f->buf & (1u << k->rcv)))
		return;
	if (k->off < 0 && k->off + (int64_t)k->g.len <= 0)
		return;
	if ((uint64_t)(k->off > 0 ? k->off : 0) + k->g.len > window_limit(r) ||
	    k->off > (int64_t)FSM_OFF_MAX) {
		/* Beyond what the receiver accepts: the real endpoint drops
		 * it, so buffering it would let a forged segment push real
		 * data out. */
		k->no_store = 1;
		c->st.reasm_out_of_window++;
		add_flow_jobs(c, f, fwd, HK_NULL, k->rcv, MOS_ON_ERROR);
		return;
	}
	if (f->rb[k->rcv] == NULL)
		return;
	/* Within the window and beyond the in-order data: nothing leaves. */
	if (k->off >= (int64_t)rb_next(f->rb[k->rcv]) &&
	    (uint64_t)k->off + k->g.len <= rb_head(f->rb[k->rcv]) +
	    rb_window(f->rb[k->rcv]) && f->rb[k->rcv]->nruns == 0)
		return;
	rb_plan(f->rb[k->rcv], (uint64_t)(k->off > 0 ? k->off : 0),
		k->g.len - (uint32_t)(k->off < 0 ? -k->off : 0), &plan);
	if (plan.new_head <= rb_head(f->rb[k->rcv]) && !plan.skipped)
		return;
	/* Bytes are about to leave the window: warn each socket that has
	 * not read them, so it can peek now. */
	n = flow_socks(c, f, fwd, socks);
	for (i = 0; i < n; i++) {
		struct sock *s = &c->socks.s[socks[i]];

		if (plan.skipped || s->peek[k->rcv] < plan.new_head) {
			if (disp_add(c, socks[i], HK_NULL, k->rcv,
				     MOS_ON_ERROR))
				c->st.reasm_overrun++;
		}
	}
}

static void
queue_new_data(struct core *c, uint32_t fidx, struct flow *f, int side)
{
	if (f->nd_queued & (1u << side))
		return;
	if (c->nnd == CORE_MAX_ND)
		return;		/* cannot happen: one entry per packet */
	f->nd_queued |= (uint8_t)(1u << side);
	c->nd[c->nnd++] = (struct nd_ent){ fidx, f->gen, (uint8_t)side };
}

static void
place_payload(struct core *c, struct flow *f, struct pipe_pkt *k)
{
	struct half *r = &f->h[k->rcv];
	const uint8_t *pl = flow_tcp_hdr(k) + k->pr.l4_len;
	int64_t off = k->off;
	uint32_t len = k->g.len;
	struct rb_result res;

	if (off < 0) {
		if (off + (int64_t)len <= 0)
			return;
		pl += -off;
		len -= (uint32_t)-off;
		off = 0;
	}
	if (!(f->buf & (1u << k->rcv))) {
		fsm_advance_nobuf(r, off, len);
		return;
	}
	if (k->no_store)
		return;
	if (f->rb[k->rcv] == NULL) {
		/* The buffer starts where the stream is now (later than 0
		 * when buffering was switched on mid-stream). */
		f->rb[k->rcv] = rb_create_at(c->rbpool, f->win[k->rcv],
					     r->rcv_off);
		if (f->rb[k->rcv] == NULL) {
			c->st.reasm_nomem++;
			return;
		}
		/* Without PSH its sender has more to send at once: room for
		 * a second such segment spares the ring a growth and a copy
		 * (a third of the bench's http responses). */
		if (!(k->g.flags & TH_PSH))
			rb_expect(f->rb[k->rcv], 2 * len);
	}
	rb_write(c->rbpool, f->rb[k->rcv], (uint64_t)off, pl, len,
		 (f->overlap_last >> k->rcv) & 1, &res);
	c->st.reasm_bytes += res.appended;
	if (res.skipped)
		c->st.reasm_gap_skipped += res.skipped;
	if (res.reason == RB_NOMEM)
		c->st.reasm_nomem++;
	r->rcv_off = rb_next(f->rb[k->rcv]);
	if (res.appended > 0)
		queue_new_data(c, k->fidx, f, k->rcv);
}

/* Without a buffer there are no holes to wait for: the FIN is taken as
 * it comes (as mOS does). */
static inline void
take_fin_unbuffered(const struct flow *f, const struct pipe_pkt *k,
		    struct half *r)
{
	int64_t fin;

	if (!fsm_fin_acceptable(&k->g) || (f->buf & (1u << k->rcv)) ||
	    !(r->flags & HF_IRS))
		return;
	fin = fsm_seq_to_off(r, k->g.seq) + (int64_t)k->g.len;
	if (fin > (int64_t)r->rcv_off && fin < (int64_t)window_limit(r))
		r->rcv_off = (uint64_t)fin;
}

__rte_noinline void
flow_rcv(struct core *c)
{
	struct pipe_pkt *k = &c->pipe.cur;
	struct flow *f = &c->ft.f[k->fidx];
	struct half *r = &f->h[k->rcv], *s = &f->h[k->snd];
	uint32_t ev;
	int accept;

	k->where = W_RCV_DONE;
	k->orig_len = k->g.len;
	k->rcv_nxt_before = fsm_rcv_nxt(r);
	if (!(f->mgmt & (1u << k->rcv)))
		return;
	ev = fsm_recv_ctl(r, s, &k->g, &accept);
	if (ev & MOS_ON_REXMIT)
		c->st.rexmit_ctrl++;
	if (accept && k->g.len > 0 && (r->flags & HF_IRS))
		place_payload(c, f, k);
	take_fin_unbuffered(f, k, r);
	ev |= fsm_recv_fin(r, s, &k->g);
	add_flow_jobs(c, f, k->rcv == MOS_SIDE_SVR, HK_RCV, k->rcv,
		      MOS_ON_PKT_IN | ev);
}

/* What flow_after_snd, flow_rcv_check and flow_rcv leave in the packet
 * for a segment they pass without a word (in order at off, or no
 * payload) that place_payload reads. What they leave for the API
 * (orig_len, rcv_nxt_before) is read only by a callback while the packet
 * is held, and none runs for a packet of these paths. */
static inline void
note_steps(struct pipe_pkt *k, int64_t off)
{
	k->off = off;	/* no_store is 0 from classify() */
}

static inline int
half_closed(const struct half *h)
{
	return h->state == TCP_CLOSED || h->state == TCP_TIME_WAIT;
}

/* Both sides CLOSED or in TIME_WAIT: only then can a flow with both
 * sides tracked end, or wait in TIME_WAIT (flow_end_of_packet). */
static inline int
both_closed(const struct flow *f)
{
	return half_closed(&f->h[MOS_SIDE_CLI]) &&
	       half_closed(&f->h[MOS_SIDE_SVR]);
}

/* Kept out of line so that flow_fast, called for every segment, stays
 * small enough to inline into the pipeline (callgrind, bulk capture: 35
 * instructions a packet more when this was part of it). */
static __rte_noinline void
flow_quiet(struct core *c, struct flow *f, struct pipe_pkt *k, struct half *s,
	   struct half *r, int64_t off)
{
	int accept;

	note_sender(c, f, k);
	note_steps(k, off);
	if (fsm_quiet_ack(s, r, &k->g, &accept) & MOS_ON_REXMIT)
		c->st.rexmit_ctrl++;
	if (accept && k->g.len > 0 && (r->flags & HF_IRS))
		place_payload(c, f, k);
	take_fin_unbuffered(f, k, r);
	fsm_quiet_fin(r, &k->g);
	k->where = W_RCV_DONE;
	c->st.tcp_quiet_path++;
}

int
flow_fast(struct core *c)
{
	struct pipe_pkt *k = &c->pipe.cur;
	struct flow *f = &c->ft.f[k->fidx];
	struct half *s = &f->h[k->snd], *r = &f->h[k->rcv];
	const struct rb *b = f->rb[k->rcv];
	int64_t off = 0;

	if (!(f->paths & PATH_FAST) || k->modified)
		return FF_NO;
	if (k->g.len > 0 && (r->flags & HF_IRS)) {
		/* In order, overlapping nothing (no MOS_ON_REXMIT), and
		 * where flow_rcv_check lets it through without a word. */
		off = fsm_seq_to_off(r, k->g.seq);
		if (off != (int64_t)r->rcv_off || off > (int64_t)FSM_OFF_MAX)
			return FF_NO;
		if (b != NULL && (b->nruns != 0 || (uint64_t)off != rb_next(b)))
			return FF_NO;
		if (f->buf & (1u << k->rcv)) {
			/* Bytes it pushes out of the buffer are warned of
			 * only to a socket that listens for MOS_ON_ERROR. */
			if ((uint64_t)off + k->g.len > window_limit(r) ||
			    (b != NULL && (uint64_t)off + k->g.len >
			     rb_head(b) + rb_window(b) &&
			     (f->want[HK_NULL] & MOS_ON_ERROR)))
				return FF_NO;
		} else if (b != NULL) {
			return FF_NO;
		}
	}
	/* What flow_snd, flow_after_snd, flow_rcv_check and flow_rcv leave
	 * for such a packet, none of them queueing a callback. */
	if (fsm_established_ack(s, r, &k->g)) {
		note_sender(c, f, k);
		note_steps(k, off);
		if (k->g.len > 0)
			place_payload(c, f, k);
		k->where = W_RCV_DONE;
		c->st.tcp_fast_path++;
		return FF_EST;
	}
	/* Any other segment without SYN or RST (the handshake's last ACK,
	 * FINs, the ACKs of closing endpoints) takes the steps' own
	 * functions back to back when no socket of the flow listens for
	 * what they could raise at the sender and receiver hooks. */
	if (!(f->paths & PATH_QUIET) ||
	    (k->g.flags & (TH_SYN | TH_RST | TH_ACK)) != TH_ACK)
		return FF_NO;
	flow_quiet(c, f, k, s, r, off);
	/* Of a connection's quiet segments, only the last ACK needs
	 * flow_end_of_packet's tests. */
	if (!both_closed(f))
		return FF_EST;
	return FF_QUIET;
}

/* -- End of packet, teardown -------------------------------------------- */

int
flow_end_of_packet(struct core *c)
{
	struct pipe_pkt *k = &c->pipe.cur;
	struct flow *f = &c->ft.f[k->fidx];
	int tw = g_rt.cfg.timewait_ms > 0, done = 1, side;

	if (f->flags & FL_DESTROY)
		return 1;
	/* The common case, decided without the loop below. */
	if (f->mgmt == SIDES && !both_closed(f))
		return 0;
	for (side = 0; side < 2; side++) {
		const struct half *h = &f->h[side];

		if (!(f->mgmt & (1u << side)))
			continue;
		if (side == MOS_SIDE_SVR && !(f->flags & FL_SVR)) {
			done = 0;
			continue;
		}
		if (!fsm_finished(h, tw))
			done = 0;
	}
	if (done)
		return 1;
	if (tw && (f->flags & FL_SVR) && both_closed(f))
		flowtbl_list_tail(&c->ft, k->fidx, FLIST_TW);
	return 0;
}

void
flow_destroy_jobs(struct core *c, uint32_t fidx, int first, int timeout)
{
	struct flow *f = &c->ft.f[fidx];
	int i, side;

	if (timeout)
		add_flow_jobs(c, f, 1, HK_NULL, MOS_SIDE_BOTH, MOS_ON_TIMEOUT);
	/* Bytes that arrived in this burst are delivered before the end. */
	for (i = 0; i < 2; i++) {
		side = i == 0 ? MOS_SIDE_SVR : MOS_SIDE_CLI;
		if (f->nd_queued & (1u << side)) {
			f->nd_queued &= (uint8_t)~(1u << side);
			add_flow_jobs(c, f, side == MOS_SIDE_SVR, HK_NULL, side,
				      MOS_ON_CONN_NEW_DATA);
		}
	}
	/* Most flows end with no socket listening for their end. */
	if (!((f->want[HK_RCV] | f->want[HK_SND]) &
	      (MOS_ON_CONN_END | MOS_ON_TCP_STATE_CHANGE)))
		return;
	for (i = 0; i < 2; i++) {
		uint32_t socks[SOCK_MAX_PASSIVE];
		int n, j;

		side = i == 0 ? first : first ^ 1;
		n = flow_socks(c, f, side == MOS_SIDE_SVR, socks);
		for (j = 0; j < n; j++) {
			disp_add(c, socks[j], HK_RCV, side,
				 MOS_ON_CONN_END | MOS_ON_TCP_STATE_CHANGE);
			disp_add(c, socks[j], HK_SND, side,
				 MOS_ON_CONN_END | MOS_ON_TCP_STATE_CHANGE);
		}
	}
}

void
flow_free(struct core *c, uint32_t fidx)
{
	struct flow *f = &c->ft.f[fidx];
	struct fkey k = flow_key(f->ip[0], f->ip[1], f->port[0], f->port[1]);
	uint32_t s, next;
	int side;

	flowtbl_del_key(&c->ft, &k, key_hash(&k));
	if (f->flags & FL_KEY2) {
		k = flow_key(f->ip2[0], f->ip2[1], f->port2[0], f->port2[1]);
		flowtbl_del_key(&c->ft, &k, key_hash(&k));
	}
	for (side = 0; side < 2; side++) {
		if (f->rb[side] != NULL)
			rb_destroy(c->rbpool, f->rb[side]);
		f->rb[side] = NULL;
	}
	for (s = f->sock_head; s != SOCK_NONE; s = next) {
		next = c->socks.s[s].next;
		sock_free(&c->socks, s);
	}
	flowtbl_release(&c->ft, fidx);
	c->st.flows_destroyed++;
}

void
flow_new_data_jobs(struct core *c, const struct nd_ent *e)
{
	struct flow *f = &c->ft.f[e->fidx];

	if (f->gen != e->gen || !(f->nd_queued & (1u << e->side)))
		return;		/* delivered at the flow's end already */
	f->nd_queued &= (uint8_t)~(1u << e->side);
	add_flow_jobs(c, f, e->side == MOS_SIDE_SVR, HK_NULL, e->side,
		      MOS_ON_CONN_NEW_DATA);
}

uint32_t
flow_expired(struct core *c, int *idle)
{
	struct flowtbl *t = &c->ft;
	uint64_t now = c->pipe.now_ms;

	/* Flows nobody monitors any more, or reset: end them first. */
	while (c->nkill > 0) {
		struct nd_ent e = c->kill[--c->nkill];

		if (t->f[e.fidx].gen == e.gen) {
			*idle = 0;
			return e.fidx;
		}
	}
	if (t->tw_head != FLOW_NONE &&
	    now - t->f[t->tw_head].last_ms >= (uint64_t)g_rt.cfg.timewait_ms) {
		*idle = 0;
		c->st.timeouts_timewait++;
		return t->tw_head;
	}
	while (g_rt.cfg.timeout_ms > 0 && t->lru_head != FLOW_NONE &&
	       now - t->f[t->lru_head].lru_ms >= (uint64_t)g_rt.cfg.timeout_ms) {
		struct flow *f = &t->f[t->lru_head];

		if (now - f->last_ms < (uint64_t)g_rt.cfg.timeout_ms) {
			/* Active since it last moved: move it now. */
			f->lru_ms = f->last_ms;
			flowtbl_list_tail(t, t->lru_head, FLIST_LRU);
			continue;
		}
		*idle = 1;
		c->st.timeouts_idle++;
		return t->lru_head;
	}
	return FLOW_NONE;
}
