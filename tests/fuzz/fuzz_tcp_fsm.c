/*
 * fuzz_tcp_fsm.c - fuzz target of the emulated TCP endpoints
 * (engine/tcp_fsm.c): the input is a sequence of segments in either
 * direction (any flags, sequence and acknowledgement numbers near what
 * either side expects or anywhere, payload lengths, windows, window
 * scale options), driven through the two halves of a flow as
 * engine/flow.c drives them: fsm_send on the sender, fsm_recv_ctl on the
 * receiver, the payload placed (in a reassembly buffer, engine/rb.c, or
 * without one), fsm_recv_fin.
 *
 * Checked after every call: states are valid and only move along the
 * state diagram of tcp_fsm.h (CLOSED is final, nothing returns to
 * LISTEN); MOS_ON_TCP_STATE_CHANGE is raised exactly when the state
 * changed and MOS_ON_CONN_START only from LISTEN; no other event bits;
 * the sending side's call leaves the peer alone; the sequence numbers of
 * a synchronized half do not change; rcv_off never goes back once the
 * peer's ISN is known, matches fsm_seq_to_off, and equals the buffer's
 * next offset; a pending FIN lies ahead of rcv_off; the flag rules. For
 * segments with ACK and without SYN or RST, the quiet path's entries
 * (fsm_quiet_ack, fsm_quiet_fin) on copies of the halves give the same
 * halves and events as the steps one by one.
 */
#include <string.h>

#include "fuzz.h"
#include "rb.h"
#include "tcp_fsm.h"

#define MAXSEGS		500
#define EV_KNOWN	(MOS_ON_CONN_START | MOS_ON_TCP_STATE_CHANGE | \
			 MOS_ON_REXMIT)

static uint8_t payload[65536];

/* reach[a] has bit b when state b can follow state a (tcp_fsm.h's diagram
 * closed under composition: one call may take several steps). */
static uint16_t reach[TCP_TIME_WAIT + 1];

static void
edge(int a, int b)
{
	reach[a] |= (uint16_t)(1u << b);
}

static void
build_reach(void)
{
	int a, b, c, changed;

	if (reach[TCP_LISTEN] != 0)
		return;
	edge(TCP_LISTEN, TCP_SYN_SENT);
	edge(TCP_LISTEN, TCP_SYN_RCVD);
	edge(TCP_SYN_SENT, TCP_ESTABLISHED);
	edge(TCP_SYN_RCVD, TCP_ESTABLISHED);
	edge(TCP_SYN_RCVD, TCP_FIN_WAIT_1);
	edge(TCP_SYN_RCVD, TCP_CLOSE_WAIT);
	edge(TCP_ESTABLISHED, TCP_FIN_WAIT_1);
	edge(TCP_ESTABLISHED, TCP_CLOSE_WAIT);
	edge(TCP_FIN_WAIT_1, TCP_FIN_WAIT_2);
	edge(TCP_FIN_WAIT_1, TCP_CLOSING);
	edge(TCP_FIN_WAIT_2, TCP_TIME_WAIT);
	edge(TCP_CLOSE_WAIT, TCP_LAST_ACK);
	edge(TCP_CLOSE_WAIT, TCP_CLOSING);
	edge(TCP_CLOSING, TCP_TIME_WAIT);
	edge(TCP_LAST_ACK, TCP_CLOSED);
	/* Any state closes on a believed RST. */
	for (a = TCP_LISTEN; a <= TCP_TIME_WAIT; a++)
		edge(a, TCP_CLOSED);
	do {
		changed = 0;
		for (a = 0; a <= TCP_TIME_WAIT; a++)
			for (b = 0; b <= TCP_TIME_WAIT; b++)
				if (reach[a] & (1u << b))
					for (c = 0; c <= TCP_TIME_WAIT; c++)
						if ((reach[b] & (1u << c)) &&
						    !(reach[a] & (1u << c))) {
							edge(a, c);
							changed = 1;
						}
	} while (changed);
}

static int
synchronized(const struct half *h)
{
	return h->state != TCP_LISTEN && h->state != TCP_SYN_SENT &&
	       h->state != TCP_SYN_RCVD;
}

/* What holds of one half at any time. */
static void
check_half(const struct half *h)
{
	FUZZ_CHECK(h->state <= TCP_TIME_WAIT);
	FUZZ_CHECK(strcmp(fsm_state_name(h->state), "-") != 0);
	if (h->flags & HF_FIN_RCVD)
		FUZZ_CHECK((h->flags & HF_IRS) && !(h->flags & HF_FIN_PEND));
	if (h->flags & HF_FIN_PEND)
		FUZZ_CHECK(h->flags & HF_IRS);
	if (h->flags & HF_FIN_SENT)
		FUZZ_CHECK(h->flags & HF_ISS);
	if (h->state == TCP_SYN_SENT)
		FUZZ_CHECK(h->flags & HF_ISS);
	/* Past the handshake an endpoint knows its peer's ISN. */
	if (h->state != TCP_LISTEN && h->state != TCP_SYN_SENT &&
	    h->state != TCP_CLOSED)
		FUZZ_CHECK(h->flags & HF_IRS);
	if (h->flags & HF_IRS) {
		uint32_t nxt = h->irs + 1 + (uint32_t)h->rcv_off;

		FUZZ_CHECK(fsm_seq_to_off(h, nxt) == (int64_t)h->rcv_off);
		FUZZ_CHECK(fsm_rcv_nxt(h) == nxt +
			   ((h->flags & HF_FIN_RCVD) ? 1 : 0));
	}
}

/* One call's effect on a half: a legal move, the events that say so. */
static void
check_step(const struct half *before, const struct half *after,
	   uint32_t ev)
{
	FUZZ_CHECK((ev & ~(uint32_t)EV_KNOWN) == 0);
	check_half(after);
	if (after->state != before->state) {
		FUZZ_CHECK(reach[before->state] & (1u << after->state));
		FUZZ_CHECK(ev & MOS_ON_TCP_STATE_CHANGE);
	} else {
		FUZZ_CHECK(!(ev & MOS_ON_TCP_STATE_CHANGE));
	}
	if (ev & MOS_ON_CONN_START)
		FUZZ_CHECK(before->state == TCP_LISTEN);
	if (synchronized(before)) {
		if (before->flags & HF_ISS)
			FUZZ_CHECK(after->iss == before->iss);
		if (before->flags & HF_IRS)
			FUZZ_CHECK(after->irs == before->irs);
	}
	if ((before->flags & HF_IRS) && synchronized(before))
		FUZZ_CHECK(after->rcv_off >= before->rcv_off);
	/* Flags that are never taken back. */
	FUZZ_CHECK((after->flags & before->flags &
		    (HF_ISS | HF_IRS | HF_FIN_SENT | HF_FIN_RCVD)) ==
		   (before->flags & (HF_ISS | HF_IRS | HF_FIN_SENT |
				     HF_FIN_RCVD)));
}

/* Sequence number near a reference: the fuzz input picks which. */
static uint32_t
pick_seq(struct fuzz_in *in, const struct half *snd, const struct half *rcv)
{
	uint8_t how = fuzz_u8(in);
	int32_t d = (int16_t)fuzz_u16(in);

	switch (how % 6) {
	case 0: return snd->snd_nxt + (uint32_t)d;
	case 1: return fsm_rcv_nxt(rcv) + (uint32_t)d;
	case 2: return snd->iss + (uint32_t)d;
	case 3: return rcv->irs + (uint32_t)d;
	case 4: return fsm_rcv_nxt(rcv) + ((uint32_t)d << 16);
	default: return fuzz_u32(in);
	}
}

/* The engine's limit on what a receiver buffers (engine/flow.c). */
static uint64_t
window_limit(const struct half *r)
{
	uint64_t w = (r->flags & HF_WND) ? r->wnd : 0;

	return r->rcv_off + (w < 65535 ? 65535 : w) + 65536;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	uint8_t mode = fuzz_u8(&in);
	int use_rb = mode & 1, n;
	struct rb_pool *pool = use_rb ? rb_pool_create(0) : NULL;
	struct rb *buf[2] = { NULL, NULL };
	struct half h[2];

	build_reach();
	fsm_init(&h[0]);
	fsm_init(&h[1]);
	FUZZ_CHECK(h[0].state == TCP_LISTEN && h[0].flags == 0);
	FUZZ_CHECK(!use_rb || pool != NULL);
	for (n = 0; fuzz_more(&in) && n < MAXSEGS; n++) {
		uint8_t b0 = fuzz_u8(&in);
		int s = b0 & 1, r = s ^ 1, rex = -1, accept = -1;
		struct half *snd = &h[s], *rcv = &h[r];
		struct half before_s, before_r, q[2];
		struct seg g;
		uint32_t ev, qev = 0;
		int quiet, qaccept = -1;

		g.flags = (uint8_t)((b0 >> 1) & (TH_FIN | TH_SYN | TH_RST |
						 TH_PSH | TH_ACK));
		g.seq = pick_seq(&in, snd, rcv);
		g.ack = (b0 & 0x80) ? pick_seq(&in, rcv, snd) : fuzz_u32(&in);
		g.len = fuzz_u16(&in) % 3000;
		g.win = fuzz_u16(&in);
		g.wscale = (int8_t)((int8_t)fuzz_u8(&in) % 17);

		/* The quiet path's one-call steps, on copies, for what the
		 * engine gives them: ACK, no SYN or RST. */
		quiet = (g.flags & (TH_SYN | TH_RST | TH_ACK)) == TH_ACK;
		if (quiet) {
			q[0] = h[0];
			q[1] = h[1];
			qev = fsm_quiet_ack(&q[s], &q[r], &g, &qaccept);
		}

		/* The sender's stack; the receiver is only read. */
		before_s = *snd;
		before_r = *rcv;
		ev = fsm_send(snd, rcv, &g, &rex);
		FUZZ_CHECK(rex == 0 || rex == 1);
		FUZZ_CHECK(memcmp(rcv, &before_r, sizeof(*rcv)) == 0);
		check_step(&before_s, snd, ev);
		/* A SYN/ACK that moved the sender's stream origin: flow_snd
		 * drops what it buffered before (found by this target). */
		if (use_rb && buf[s] != NULL && rb_next(buf[s]) != snd->rcv_off) {
			FUZZ_CHECK(before_s.state == TCP_SYN_RCVD);
			rb_destroy(pool, buf[s]);
			buf[s] = NULL;
		}

		/* The receiver's control processing. */
		before_s = *snd;
		before_r = *rcv;
		ev = fsm_recv_ctl(rcv, snd, &g, &accept);
		FUZZ_CHECK(accept == 0 || accept == 1);
		FUZZ_CHECK(memcmp(snd, &before_s, sizeof(*snd)) == 0);
		check_step(&before_r, rcv, ev);
		if (quiet)
			FUZZ_CHECK(qev == ev && qaccept == accept &&
				   memcmp(q, h, sizeof(h)) == 0);
		if (accept)
			FUZZ_CHECK(rcv->flags & HF_IRS);

		/* The payload, as engine/flow.c places it. */
		before_r = *rcv;
		if (accept && g.len > 0) {
			int64_t off = fsm_seq_to_off(rcv, g.seq) +
				      ((g.flags & TH_SYN) ? 1 : 0);
			uint32_t len = g.len;

			if (off < 0 && off + (int64_t)len > 0) {
				len -= (uint32_t)-off;
				off = 0;
			}
			if (off >= 0 && (uint64_t)off + len <=
			    window_limit(rcv) && off <= (int64_t)FSM_OFF_MAX) {
				if (!use_rb) {
					fsm_advance_nobuf(rcv, off, len);
				} else {
					if (buf[r] == NULL)
						buf[r] = rb_create_at(pool,
							1u << 16, rcv->rcv_off);
					FUZZ_CHECK(buf[r] != NULL);
					FUZZ_CHECK(rb_write(pool, buf[r],
						(uint64_t)off, payload, len,
						RB_FIRST, NULL) == 0);
					rcv->rcv_off = rb_next(buf[r]);
				}
			}
			FUZZ_CHECK(rcv->rcv_off >= before_r.rcv_off);
		}
		if (use_rb && buf[r] != NULL)
			FUZZ_CHECK(rcv->rcv_off == rb_next(buf[r]));

		/* FIN processing after the payload. */
		before_s = *snd;
		before_r = *rcv;
		q[r] = *rcv;
		qev = quiet ? fsm_quiet_fin(&q[r], &g) : 0;
		ev = fsm_recv_fin(rcv, snd, &g);
		if (quiet)
			FUZZ_CHECK(qev == ev &&
				   memcmp(&q[r], rcv, sizeof(*rcv)) == 0);
		FUZZ_CHECK(memcmp(snd, &before_s, sizeof(*snd)) == 0);
		check_step(&before_r, rcv, ev);
		FUZZ_CHECK(!(ev & (MOS_ON_CONN_START | MOS_ON_REXMIT)));
		if (rcv->flags & HF_FIN_PEND)
			FUZZ_CHECK(rcv->fin_off > rcv->rcv_off);
		FUZZ_CHECK(fsm_finished(rcv, 1) ==
			   (rcv->state == TCP_CLOSED));
		FUZZ_CHECK(fsm_finished(rcv, 0) ==
			   (rcv->state == TCP_CLOSED ||
			    rcv->state == TCP_TIME_WAIT));
	}
	FUZZ_CHECK(strcmp(fsm_state_name(-1), "-") == 0);
	FUZZ_CHECK(strcmp(fsm_state_name(TCP_TIME_WAIT + 1), "-") == 0);
	rb_destroy(pool, buf[0]);
	rb_destroy(pool, buf[1]);
	rb_pool_destroy(pool);
	return 0;
}
