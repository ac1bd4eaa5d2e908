/*
 * tcp_fsm.c - passive emulation of the two endpoints of a TCP connection
 * (see the state diagram in tcp_fsm.h).
 *
 * The middlebox sees both directions but is neither endpoint, so every
 * rule is the receiving stack's rule applied to what actually crossed the
 * wire: a transition happens when the packet that causes it at the real
 * endpoint is seen. Departures from a strict RFC 793 receiver are made
 * where a monitor must not be fooled (RSTs must fall inside the receiver's
 * window) or must not stall on capture loss (an ACK that completes a
 * handshake whose SYN/ACK was not captured is accepted).
 */
#include <stddef.h>

#include "tcp_fsm.h"

#define EV_SC	MOS_ON_TCP_STATE_CHANGE

static inline int
seq_lt(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) < 0;
}

static inline uint32_t
set_state(struct half *h, int state)
{
	if (h->state == state)
		return 0;
	h->state = (uint8_t)state;
	return EV_SC;
}

void
fsm_init(struct half *h)
{
	*h = (struct half){ .state = TCP_LISTEN };
}

/* Window scaling applies once both SYNs offered it, and never to SYNs. */
static inline __attribute__((always_inline)) void
note_window(struct half *s, const struct half *peer, const struct seg *g,
	    unsigned int fl)
{
	uint32_t w = g->win;

	if (!(fl & TH_ACK))
		return;
	if (!(fl & TH_SYN) && (s->flags & HF_WSCALE) &&
	    (peer->flags & HF_WSCALE))
		w <<= s->wscale;
	s->wnd = w;
	s->last_ack = g->ack;
	s->flags |= HF_WND;
}

static void
note_wscale(struct half *s, const struct seg *g)
{
	if (g->wscale >= 0) {
		s->flags |= HF_WSCALE;
		s->wscale = (uint8_t)(g->wscale > 14 ? 14 : g->wscale);
	}
}

static int rst_acceptable(const struct half *r, const struct seg *g);

/* What a segment the peer takes tells of its sender: the window it
 * advertises, and the highest sequence number it sent. */
static inline __attribute__((always_inline)) void
advance_sender(struct half *s, const struct half *peer, const struct seg *g,
	       unsigned int fl)
{
	uint32_t end = g->seq + g->len + ((fl & (TH_SYN | TH_FIN)) ? 1 : 0);

	note_window(s, peer, g, fl);
	if (!(s->flags & HF_ISS)) {
		/* Capture started without this side's SYN/ACK. */
		s->iss = g->seq - 1;
		s->snd_nxt = end;
		s->flags |= HF_ISS;
	} else if (seq_lt(s->snd_nxt, end)) {
		s->snd_nxt = end;
	}
}

/* Past the handshake: what both endpoints agreed on is settled. */
static inline int
synchronized(const struct half *h)
{
	return h->state >= TCP_ESTABLISHED;
}

/* Whether the peer takes a segment from this sequence number, or drops it
 * as beyond its window (with the receiver's slack of one more segment,
 * as the flow engine's buffering has it). Old data is taken (a
 * retransmission). */
static int
in_peer_window(const struct half *peer, const struct seg *g)
{
	/* wnd is 0 until HF_WND (struct half). */
	uint32_t wnd = peer->wnd > 65535 ? peer->wnd : 65535;

	if (!(peer->flags & HF_IRS))
		return 1;
	return (int32_t)(g->seq - fsm_rcv_nxt(peer)) <= (int64_t)wnd + 65536;
}

/* Whether the sender's RST ends the connection at the receiver: only then
 * does the sender's half close too (a forged RST must fool neither). */
static int
rst_believed(const struct half *peer, const struct seg *g)
{
	switch (peer->state) {
	case TCP_LISTEN:
	case TCP_CLOSED:
		return 1;
	case TCP_SYN_SENT:
		return (g->flags & TH_ACK) && g->ack == peer->snd_nxt;
	default:
		return rst_acceptable(peer, g);
	}
}

/*
 * The steps take the segment's flags apart from the segment: the quiet
 * path's entry (fsm_quiet_ack) passes flags whose SYN, RST and ACK bits
 * the compiler knows, and the tests on them fold away. Every entry runs
 * this one body, so the two cannot drift apart.
 */
static inline __attribute__((always_inline)) uint32_t
send_step(struct half *s, const struct half *peer, const struct seg *g,
	  unsigned int fl, int *syn_rexmit)
{
	uint32_t ev = 0;

	*syn_rexmit = 0;
	if (fl & TH_RST)
		return rst_believed(peer, g) ? set_state(s, TCP_CLOSED) : 0;
	/* What the peer discards tells nothing of this endpoint: after the
	 * handshake a SYN or a segment without ACK, and at any time a
	 * segment beyond the peer's window (it must not move snd_nxt or
	 * announce a FIN that will never be taken). */
	if ((synchronized(s) && ((fl & TH_SYN) || !(fl & TH_ACK))) ||
	    (!(fl & TH_SYN) && !in_peer_window(peer, g)))
		return 0;
	/* The client acknowledges a SYN/ACK that was not captured. */
	if (s->state == TCP_SYN_SENT && (fl & (TH_SYN | TH_ACK)) == TH_ACK &&
	    !(s->flags & HF_IRS)) {
		s->irs = g->ack - 1;
		s->rcv_off = 0;
		s->flags |= HF_IRS;
		s->flags &= (uint8_t)~HF_ALT_ISS;
		ev |= set_state(s, TCP_ESTABLISHED);
	}

	if ((fl & (TH_SYN | TH_ACK)) == TH_SYN) {
		if (s->state == TCP_LISTEN) {
			s->iss = g->seq;
			s->snd_una = g->seq;
			/* Data on the SYN counts (TCP Fast Open). */
			s->snd_nxt = g->seq + 1 + g->len;
			s->flags |= HF_ISS;
			note_wscale(s, g);
			return MOS_ON_CONN_START | set_state(s, TCP_SYN_SENT);
		}
		if ((s->flags & HF_ISS) && g->seq == s->iss) {
			*syn_rexmit = 1;
		} else if (s->state == TCP_SYN_SENT) {
			/* A new attempt with another ISN: the SYN/ACK will
			 * answer one of the two (fsm_recv_ctl). */
			s->fss = s->iss;
			s->flags |= HF_ALT_ISS;
			s->iss = g->seq;
			s->snd_una = g->seq;
			s->snd_nxt = g->seq + 1 + g->len;
			note_wscale(s, g);
		}
		return 0;
	}
	if (fl & TH_SYN) {
		/* SYN/ACK: the server's ISN. */
		if (!(s->flags & HF_ISS)) {
			s->iss = g->seq;
			s->snd_una = g->seq;
			s->snd_nxt = g->seq + 1;
			s->flags |= HF_ISS;
			note_wscale(s, g);
		}
		/* It answers the client's SYN whose ISN it acknowledges,
		 * which may not be the one first seen (a second SYN with
		 * another ISN). */
		if (s->state == TCP_SYN_RCVD && (s->flags & HF_IRS) &&
		    (uint32_t)(g->ack - 1 - s->irs) > (uint32_t)s->rcv_off) {
			s->irs = g->ack - 1;
			s->rcv_off = 0;
		}
	}
	advance_sender(s, peer, g, fl);

	if ((fl & TH_FIN) && !(s->flags & HF_FIN_SENT)) {
		s->fss = g->seq + g->len;
		s->flags |= HF_FIN_SENT;
		s->flags &= (uint8_t)~HF_ALT_ISS;
		switch (s->state) {
		case TCP_SYN_RCVD:
		case TCP_ESTABLISHED:
			ev |= set_state(s, TCP_FIN_WAIT_1);
			break;
		case TCP_CLOSE_WAIT:
			/* LAST_ACK when this FIN also acknowledges the
			 * peer's, CLOSING when it crossed the peer's FIN. */
			if ((fl & TH_ACK) && g->ack == fsm_rcv_nxt(s))
				ev |= set_state(s, TCP_LAST_ACK);
			else
				ev |= set_state(s, TCP_CLOSING);
			break;
		default:
			break;
		}
	}
	return ev;
}

uint32_t
fsm_send(struct half *s, const struct half *peer, const struct seg *g,
	 int *syn_rexmit)
{
	return send_step(s, peer, g, g->flags, syn_rexmit);
}

int
fsm_established_ack(struct half *s, struct half *r, const struct seg *g)
{
	if (s->state != TCP_ESTABLISHED || r->state != TCP_ESTABLISHED ||
	    (g->flags & (TH_SYN | TH_FIN | TH_RST | TH_ACK)) != TH_ACK ||
	    !(r->flags & HF_IRS) ||
	    (r->flags & (HF_FIN_PEND | HF_FIN_RCVD)) || !in_peer_window(r, g))
		return 0;
	/* fsm_send's path for such a segment, then fsm_recv_ctl's (whose
	 * ESTABLISHED receiver only notes the ACK); fsm_recv_fin has no
	 * FIN to take, now or pending. */
	advance_sender(s, r, g, TH_ACK);
	if (seq_lt(r->snd_una, g->ack))
		r->snd_una = g->ack;
	return 1;
}

/* An RST is believed only inside the receiver's window: a blind RST with
 * a wrong sequence number must not end the monitoring of a live flow. */
static int
rst_acceptable(const struct half *r, const struct seg *g)
{
	uint32_t wnd = (r->flags & HF_WND) && r->wnd > 65535 ? r->wnd : 65535;
	int64_t d = (int32_t)(g->seq - fsm_rcv_nxt(r));

	if (!(r->flags & HF_IRS))
		return 1;
	return d >= -1 && d <= (int64_t)wnd;
}

static inline __attribute__((always_inline)) uint32_t
recv_ctl_step(struct half *r, const struct seg *g, unsigned int fl,
	      int *accept_data)
{
	uint32_t ev = 0;

	*accept_data = 0;
	if (fl & TH_RST) {
		switch (r->state) {
		case TCP_LISTEN:
		case TCP_CLOSED:
			return 0;
		case TCP_SYN_SENT:
			if ((fl & TH_ACK) && g->ack == r->snd_nxt)
				return set_state(r, TCP_CLOSED);
			return 0;
		default:
			if (rst_acceptable(r, g))
				return set_state(r, TCP_CLOSED);
			return 0;
		}
	}

	if ((fl & (TH_SYN | TH_ACK)) == TH_SYN) {
		if (r->state == TCP_LISTEN) {
			r->irs = g->seq;
			r->rcv_off = 0;
			r->flags |= HF_IRS;
			/* Data on a SYN is the stream's first bytes. */
			*accept_data = 1;
			return MOS_ON_CONN_START | set_state(r, TCP_SYN_RCVD);
		}
		if ((r->flags & HF_IRS) && g->seq == r->irs)
			return MOS_ON_REXMIT;
		return 0;
	}

	if (fl & TH_SYN) {
		/* SYN/ACK arriving at the client. */
		if (r->state == TCP_SYN_SENT) {
			if (!(fl & TH_ACK))
				return 0;
			if (!seq_lt(r->iss, g->ack) ||
			    seq_lt(r->snd_nxt, g->ack)) {
				/* Unless it answers the earlier SYN. */
				if (!(r->flags & HF_ALT_ISS) ||
				    g->ack != r->fss + 1)
					return 0;
				r->iss = r->fss;
				r->snd_nxt = r->iss + 1;
			}
			r->flags &= (uint8_t)~HF_ALT_ISS;
			r->irs = g->seq;
			r->rcv_off = 0;
			r->flags |= HF_IRS;
			r->snd_una = g->ack;
			ev |= set_state(r, TCP_ESTABLISHED);
			*accept_data = 1;
			return ev;
		}
		if ((r->flags & HF_IRS) && g->seq == r->irs)
			return MOS_ON_REXMIT;
		return 0;
	}

	/* Without ACK a segment is discarded, its data and FIN too. */
	if (!(fl & TH_ACK))
		return ev;
	if (seq_lt(r->snd_una, g->ack))
		r->snd_una = g->ack;
	switch (r->state) {
	case TCP_SYN_RCVD:
		if (!(r->flags & HF_ISS)) {
			/* The SYN/ACK was not captured: the ACK
			 * shows the handshake completed. */
			r->iss = g->ack - 1;
			r->snd_una = r->iss;
			r->snd_nxt = g->ack;
			r->flags |= HF_ISS;
		}
		if (g->ack == r->snd_nxt)
			ev |= set_state(r, TCP_ESTABLISHED);
		break;
	case TCP_FIN_WAIT_1:
		if (g->ack == r->fss + 1)
			ev |= set_state(r, TCP_FIN_WAIT_2);
		break;
	case TCP_CLOSING:
		if (g->ack == r->fss + 1)
			ev |= set_state(r, TCP_TIME_WAIT);
		break;
	case TCP_LAST_ACK:
		if (g->ack == r->fss + 1)
			ev |= set_state(r, TCP_CLOSED);
		break;
	default:
		break;
	}

	/* A FIN at or before what was already consumed is a repeat. */
	if ((fl & TH_FIN) && (r->flags & HF_FIN_RCVD) &&
	    fsm_seq_to_off(r, g->seq) + (int64_t)g->len <= (int64_t)r->rcv_off)
		ev |= MOS_ON_REXMIT;

	switch (r->state) {
	case TCP_SYN_RCVD:
	case TCP_ESTABLISHED:
	case TCP_FIN_WAIT_1:
	case TCP_FIN_WAIT_2:
		*accept_data = (r->flags & HF_IRS) != 0;
		break;
	default:
		break;
	}
	return ev;
}

uint32_t
fsm_recv_ctl(struct half *r, const struct half *peer, const struct seg *g,
	     int *accept_data)
{
	(void)peer;
	return recv_ctl_step(r, g, g->flags, accept_data);
}

/* The flags of a segment the quiet entries take (their callers check: ACK
 * set, SYN and RST clear), with those three bits known to the compiler. */
static inline unsigned int
quiet_flags(const struct seg *g)
{
	return (g->flags & ~(unsigned int)(TH_SYN | TH_RST)) | TH_ACK;
}

uint32_t
fsm_quiet_ack(struct half *s, struct half *r, const struct seg *g,
	      int *accept_data)
{
	unsigned int fl = quiet_flags(g);
	int rex;

	send_step(s, r, g, fl, &rex);
	return recv_ctl_step(r, g, fl, accept_data);
}

void
fsm_advance_nobuf(struct half *r, int64_t off, uint32_t len)
{
	if (off <= (int64_t)r->rcv_off && off + (int64_t)len > (int64_t)r->rcv_off)
		r->rcv_off = (uint64_t)off + len;
}

static uint32_t
consume_fin(struct half *r)
{
	r->flags |= HF_FIN_RCVD;
	r->flags &= (uint8_t)~HF_FIN_PEND;
	switch (r->state) {
	case TCP_SYN_RCVD:
	case TCP_ESTABLISHED:
		return set_state(r, TCP_CLOSE_WAIT);
	case TCP_FIN_WAIT_1:
		return set_state(r, TCP_CLOSING);
	case TCP_FIN_WAIT_2:
		return set_state(r, TCP_TIME_WAIT);
	default:
		return 0;
	}
}

static inline __attribute__((always_inline)) uint32_t
recv_fin_step(struct half *r, const struct seg *g, unsigned int fl)
{
	if (r->flags & HF_FIN_RCVD)
		return 0;
	if (fsm_fin_flags_ok(fl) && (r->flags & HF_IRS)) {
		int64_t off = fsm_seq_to_off(r, g->seq) + (int64_t)g->len;

		switch (r->state) {
		case TCP_SYN_RCVD:
		case TCP_ESTABLISHED:
		case TCP_FIN_WAIT_1:
		case TCP_FIN_WAIT_2:
			break;
		default:
			return 0;
		}
		if (off < 0)
			return 0;
		if ((uint64_t)off <= r->rcv_off)
			return consume_fin(r);
		r->flags |= HF_FIN_PEND;
		r->fin_off = (uint64_t)off;
		return 0;
	}
	if ((r->flags & HF_FIN_PEND) && r->rcv_off >= r->fin_off)
		return consume_fin(r);
	return 0;
}

uint32_t
fsm_recv_fin(struct half *r, const struct half *peer, const struct seg *g)
{
	(void)peer;
	return recv_fin_step(r, g, g->flags);
}

uint32_t
fsm_quiet_fin(struct half *r, const struct seg *g)
{
	return recv_fin_step(r, g, quiet_flags(g));
}

const char *
fsm_state_name(int state)
{
	static const char *const names[] = {
		"CLOSED", "LISTEN", "SYN_SENT", "SYN_RCVD", "ESTABLISHED",
		"FIN_WAIT_1", "FIN_WAIT_2", "CLOSE_WAIT", "CLOSING", "LAST_ACK",
		"TIME_WAIT",
	};

	if (state < 0 || state > TCP_TIME_WAIT)
		return "-";
	return names[state];
}
