/*
 * tcp_fsm.h - the emulated TCP endpoints of a monitored flow.
 *
 * A flow has two halves, client and server; each emulates one endpoint's
 * TCP state machine, driven passively by the packets seen in both
 * directions: a packet first updates its SENDER's half (fsm_send), then,
 * after the sender-hook callbacks, its RECEIVER's half (fsm_recv_ctl, the
 * payload placement done by the caller, then fsm_recv_fin).
 *
 *   client half                               server half
 *   LISTEN --send SYN--> SYN_SENT             LISTEN --recv SYN--> SYN_RCVD
 *   SYN_SENT --recv SYN/ACK--> ESTABLISHED    SYN_RCVD --recv ACK--> ESTABLISHED
 *   ESTABLISHED --send FIN--> FIN_WAIT_1      ESTABLISHED --recv FIN--> CLOSE_WAIT
 *   FIN_WAIT_1 --recv ACK of FIN--> FIN_WAIT_2  CLOSE_WAIT --send FIN+ACK--> LAST_ACK
 *   FIN_WAIT_1 --recv FIN--> CLOSING          CLOSE_WAIT --send FIN, no ACK of
 *   FIN_WAIT_2 --recv FIN--> TIME_WAIT             peer FIN--> CLOSING
 *   CLOSING --recv ACK of FIN--> TIME_WAIT    LAST_ACK --recv ACK of FIN--> CLOSED
 *   any --send RST the receiver believes--> CLOSED;
 *   synchronized --recv RST in window--> CLOSED;
 *   SYN_SENT --recv RST/ACK of SYN--> CLOSED;
 *   SYN_SENT --send ACK (its SYN/ACK was not captured)--> ESTABLISHED
 * (the table is symmetric: either side may close first or both at once).
 *
 * Like a real receiver, a half ignores what its endpoint would discard:
 * after the handshake, segments without ACK and segments with SYN (their
 * data and FIN too), RSTs outside its window, and a half ignores the
 * segments its own endpoint sends that the peer would discard. Data on a
 * SYN is the stream's first bytes (TCP Fast Open; without it the client
 * sends the same bytes again). A second SYN with another ISN replaces the
 * first until the SYN/ACK shows which one the server answered.
 *
 * Sequence numbers are 32-bit and compared modulo 2^32; received bytes are
 * also counted as 64-bit stream offsets (0 = first byte after the SYN),
 * which is what the reassembly buffer and mtcp_ppeek use.
 * Pure code: no DPDK, no allocation.
 */
#ifndef MB_TCP_FSM_H
#define MB_TCP_FSM_H

#include <stdint.h>

#include "mos_api.h"

#define TH_FIN	0x01
#define TH_SYN	0x02
#define TH_RST	0x04
#define TH_PSH	0x08
#define TH_ACK	0x10

/* Half flags */
#define HF_ISS		0x01	/* iss is known (this endpoint sent its SYN) */
#define HF_IRS		0x02	/* irs is known (it received the peer's SYN) */
#define HF_FIN_SENT	0x04	/* fss is valid */
#define HF_FIN_RCVD	0x08	/* the peer's FIN was consumed in order */
#define HF_FIN_PEND	0x10	/* peer FIN seen beyond a gap (fin_off) */
#define HF_WSCALE	0x20	/* this endpoint offered window scaling */
#define HF_WND		0x40	/* wnd is known */
#define HF_ALT_ISS	0x80	/* SYN_SENT: fss holds the ISN of an earlier
				   SYN with another ISN (the SYN/ACK will
				   tell which one the server answered) */

/* Stream offsets beyond this are impossible (a sign of a hostile peer). */
#define FSM_OFF_MAX	(1ULL << 62)

/* A TCP segment as the state machines see it (host byte order). */
struct seg {
	uint32_t seq;
	uint32_t ack;
	uint32_t len;		/* payload bytes */
	uint16_t win;		/* window field as sent */
	uint8_t flags;		/* TH_* */
	int8_t wscale;		/* window scale option of a SYN, -1 if none */
};

/* One emulated endpoint. */
struct half {
	uint8_t state;		/* enum tcpstate */
	uint8_t flags;		/* HF_* */
	uint8_t wscale;		/* shift this endpoint asked for */
	uint8_t pad;
	uint32_t iss;		/* initial sequence number it sent */
	uint32_t snd_nxt;	/* highest sequence number it sent + 1 */
	uint32_t fss;		/* sequence number of its FIN (HF_ALT_ISS:
				   the ISN of its earlier SYN) */
	uint32_t snd_una;	/* highest ack it received from the peer */
	uint32_t irs;		/* initial sequence number it received */
	uint32_t wnd;		/* receive window it advertised, scaled (0
				   until HF_WND) */
	uint32_t last_ack;	/* ack it last sent (valid with wnd) */
	uint64_t rcv_off;	/* stream offset of the next byte expected */
	uint64_t fin_off;	/* stream offset of a pending peer FIN */
};

/* Initialise a half in LISTEN. */
void
fsm_init(struct half *h);

/* Sequence number of the next byte this half expects from its peer. */
static inline uint32_t
fsm_rcv_nxt(const struct half *h)
{
	return h->irs + 1 + (uint32_t)h->rcv_off +
	       ((h->flags & HF_FIN_RCVD) ? 1 : 0);
}

/* Stream offset of sequence number seq for data this half receives,
 * resolved around rcv_off (so wrap-around is handled); may be negative
 * (old data). */
static inline int64_t
fsm_seq_to_off(const struct half *h, uint32_t seq)
{
	uint32_t nxt = h->irs + 1 + (uint32_t)h->rcv_off;

	return (int64_t)h->rcv_off + (int32_t)(seq - nxt);
}

/* Events for the sender's side (MOS_ON_CONN_START, MOS_ON_TCP_STATE_CHANGE
 * bits). *syn_rexmit is set for a repeated SYN. */
uint32_t
fsm_send(struct half *s, const struct half *peer, const struct seg *g,
	 int *syn_rexmit);

/*
 * Receiver control processing, before the payload is placed: handshake,
 * ACKs of FINs, RST. Returns event bits (CONN_START, TCP_STATE_CHANGE,
 * REXMIT for a repeated SYN, SYN/ACK or FIN). *accept_data tells whether
 * the receiver takes payload in its resulting state.
 */
uint32_t
fsm_recv_ctl(struct half *r, const struct half *peer, const struct seg *g,
	     int *accept_data);

/*
 * Receiver FIN processing, after the payload was placed and rcv_off
 * advanced. A FIN beyond a gap is remembered and consumed by a later call
 * once the data reaches it. Returns event bits.
 */
uint32_t
fsm_recv_fin(struct half *r, const struct half *peer, const struct seg *g);

/*
 * The common segment in one step: both endpoints ESTABLISHED, ACK without
 * SYN, FIN or RST, inside the receiver's window, the receiver waiting for
 * no FIN. Updates both halves as fsm_send, fsm_recv_ctl and fsm_recv_fin
 * would (none of which raises an event for it; the receiver takes its
 * payload) and returns 1; for any other segment returns 0 and changes
 * nothing.
 */
int
fsm_established_ack(struct half *s, struct half *r, const struct seg *g);

/*
 * fsm_send then fsm_recv_ctl for a segment with ACK and without SYN or RST
 * (the caller checks; other segments must take the two steps). Returns
 * fsm_recv_ctl's events and sets *accept_data as it does; the sender's
 * events are dropped (the flow engine's quiet path, which no socket
 * listens on for them).
 */
uint32_t
fsm_quiet_ack(struct half *s, struct half *r, const struct seg *g,
	      int *accept_data);

/* fsm_recv_fin for the segments fsm_quiet_ack takes. */
uint32_t
fsm_quiet_fin(struct half *r, const struct seg *g);

/* Whether a receiver takes the FIN of a segment with these flags, or of
 * segment g: only with ACK and without SYN or RST (fsm_recv_fin; the flow
 * engine's unbuffered sides). */
static inline int
fsm_fin_flags_ok(unsigned int flags)
{
	return (flags & (TH_FIN | TH_ACK | TH_SYN | TH_RST)) ==
	       (TH_FIN | TH_ACK);
}

static inline int
fsm_fin_acceptable(const struct seg *g)
{
	return fsm_fin_flags_ok(g->flags);
}

/* Advance rcv_off over in-order payload when the side keeps no buffer:
 * bytes [off, off+len) with off <= rcv_off extend it. */
void
fsm_advance_nobuf(struct half *r, int64_t off, uint32_t len);

/* 1 if the half no longer needs its flow (closed, or TIME_WAIT when
 * timewait is 0). */
static inline int
fsm_finished(const struct half *h, int timewait)
{
	return h->state == TCP_CLOSED ||
	       (h->state == TCP_TIME_WAIT && !timewait);
}

/* Name of a state ("ESTABLISHED"), "-" if unknown. */
const char *
fsm_state_name(int state);

#endif /* MB_TCP_FSM_H */
