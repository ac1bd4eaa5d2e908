/*
 * test_tcp_fsm.c - unit tests of the emulated TCP endpoints
 * (engine/tcp_fsm.c), driven the way flow.c drives them: for each packet
 * the sender's half (fsm_send), then the receiver's control processing
 * (fsm_recv_ctl), the payload placement, and the receiver's FIN processing
 * (fsm_recv_fin).
 *
 * Every row of the clean-connection trace of mos-semantics §2.4 is checked
 * (states of both halves and the event bits of both hooks), then the other
 * closes, RSTs in every state, retransmitted SYN, SYN/ACK and FIN, a FIN
 * beyond a hole, window scaling and a lost SYN/ACK, and what a receiver
 * discards (data without ACK, SYNs in a live connection, segments beyond
 * its window), data on a SYN and a second SYN; the one-step path for
 * plain segments against the step-by-step one. Every test runs three
 * times, with initial sequence numbers far from 2^32 and with ones that
 * make the numbers wrap inside the handshake, the data and the close.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "tcp_fsm.h"

#define CLI	MOS_SIDE_CLI
#define SVR	MOS_SIDE_SVR
#define SC	MOS_ON_TCP_STATE_CHANGE
#define START	MOS_ON_CONN_START
#define REXMIT	MOS_ON_REXMIT

/* Initial sequence numbers of the current group (set by its setup). */
static uint32_t ciss, siss;

/* Sequence numbers relative to each side's ISN: C(0) is the client's SYN,
 * C(1) its first data byte. */
#define C(n)	((uint32_t)(ciss + (uint32_t)(n)))
#define S(n)	((uint32_t)(siss + (uint32_t)(n)))

/* Placement of a payload: in order via fsm_advance_nobuf (what flow.c does
 * for a side without a buffer, and what the reassembly buffer amounts to
 * for in-order data), or rcv_off set to a given value (what rb_next()
 * reports when a segment fills a hole in front of buffered bytes). */
#define PLACE_NOBUF	(-1)

struct conn {
	struct half h[2];
	uint32_t sev;		/* events of the last packet at HK_SND */
	uint32_t rev;		/* ... at HK_RCV */
	int rex;		/* fsm_send's syn_rexmit */
	int accept;		/* fsm_recv_ctl's accept_data */
	int64_t off;		/* receiver's stream offset of the data */
};

static void
conn_init(struct conn *c)
{
	memset(c, 0xa5, sizeof(*c));	/* fsm_init must set everything */
	fsm_init(&c->h[CLI]);
	fsm_init(&c->h[SVR]);
	c->sev = c->rev = 0;
	c->rex = c->accept = 0;
	c->off = 0;
}

/* One packet from side `snd`, as flow.c's flow_snd, flow_after_snd and
 * flow_rcv process it. */
static void
xfer_full(struct conn *c, int snd, uint32_t seq, uint32_t ack, uint32_t len,
	  uint8_t flags, uint16_t win, int8_t wscale, int64_t place)
{
	struct half *s = &c->h[snd], *r = &c->h[snd ^ 1];
	struct seg g = { .seq = seq, .ack = ack, .len = len, .win = win,
			 .flags = flags, .wscale = wscale };

	c->sev = fsm_send(s, r, &g, &c->rex);
	/* flow_after_snd: the offset is resolved before the receiver's
	 * control processing (0 while the receiver has no irs). */
	c->off = 0;
	if (len > 0 && (r->flags & HF_IRS)) {
		c->off = fsm_seq_to_off(r, seq);
		if (flags & TH_SYN)
			c->off += 1;
	}
	c->rev = fsm_recv_ctl(r, s, &g, &c->accept);
	if (c->accept && len > 0 && (r->flags & HF_IRS)) {
		if (place != PLACE_NOBUF) {
			r->rcv_off = (uint64_t)place;
		} else {
			int64_t off = c->off;
			uint32_t l = len;

			if (off < 0 && off + (int64_t)l > 0) {
				l -= (uint32_t)-off;
				off = 0;
			}
			if (off >= 0)
				fsm_advance_nobuf(r, off, l);
		}
	}
	c->rev |= fsm_recv_fin(r, s, &g);
}

static void
xfer(struct conn *c, int snd, uint32_t seq, uint32_t ack, uint32_t len,
     uint8_t flags)
{
	xfer_full(c, snd, seq, ack, len, flags, 65535, -1, PLACE_NOBUF);
}

static void
expect(const struct conn *c, uint32_t sev, uint32_t rev, int cli, int svr)
{
	assert_string_equal(fsm_state_name(c->h[CLI].state),
			    fsm_state_name(cli));
	assert_string_equal(fsm_state_name(c->h[SVR].state),
			    fsm_state_name(svr));
	assert_int_equal(c->sev, sev);
	assert_int_equal(c->rev, rev);
}

/* -- The clean connection of mos-semantics §2.4, row by row ------------- */

enum {
	R_SYN, R_SYNACK, R_ACK, R_DATA_CS, R_DATA_SC, R_FIN_C, R_ACK_S,
	R_FIN_S, R_LAST_ACK, R__COUNT
};

/* Run rows 0..upto of the clean connection, checking each. Data: 100
 * bytes client to server, 50 bytes back. */
static void
clean(struct conn *c, int upto)
{
	int row;

	conn_init(c);
	for (row = 0; row <= upto; row++) {
		switch (row) {
		case R_SYN:
			xfer(c, CLI, C(0), 0, 0, TH_SYN);
			/* CLI: CONN_START + LISTEN->SYN_SENT at SND;
			 * SVR: CONN_START + LISTEN->SYN_RCVD at RCV. */
			expect(c, START | SC, START | SC, TCP_SYN_SENT,
			       TCP_SYN_RCVD);
			assert_int_equal(c->rex, 0);
			assert_int_equal(c->h[CLI].iss, C(0));
			assert_int_equal(c->h[CLI].snd_nxt, C(1));
			assert_true(c->h[CLI].flags & HF_ISS);
			assert_int_equal(c->h[SVR].irs, C(0));
			assert_true(c->h[SVR].flags & HF_IRS);
			assert_int_equal(c->h[SVR].rcv_off, 0);
			assert_int_equal(fsm_rcv_nxt(&c->h[SVR]), C(1));
			break;
		case R_SYNACK:
			xfer(c, SVR, S(0), C(1), 0, TH_SYN | TH_ACK);
			/* SVR: PKT_IN only; CLI: ->ESTABLISHED. */
			expect(c, 0, SC, TCP_ESTABLISHED, TCP_SYN_RCVD);
			assert_int_equal(c->h[SVR].iss, S(0));
			assert_int_equal(c->h[SVR].snd_nxt, S(1));
			assert_int_equal(c->h[CLI].irs, S(0));
			assert_int_equal(fsm_rcv_nxt(&c->h[CLI]), S(1));
			assert_int_equal(c->h[CLI].snd_una, C(1));
			break;
		case R_ACK:
			xfer(c, CLI, C(1), S(1), 0, TH_ACK);
			expect(c, 0, SC, TCP_ESTABLISHED, TCP_ESTABLISHED);
			break;
		case R_DATA_CS:
			xfer(c, CLI, C(1), S(1), 100, TH_ACK | TH_PSH);
			expect(c, 0, 0, TCP_ESTABLISHED, TCP_ESTABLISHED);
			assert_int_equal(c->accept, 1);
			assert_int_equal(c->off, 0);
			assert_int_equal(c->h[SVR].rcv_off, 100);
			assert_int_equal(fsm_rcv_nxt(&c->h[SVR]), C(101));
			assert_int_equal(c->h[CLI].snd_nxt, C(101));
			break;
		case R_DATA_SC:
			xfer(c, SVR, S(1), C(101), 50, TH_ACK | TH_PSH);
			expect(c, 0, 0, TCP_ESTABLISHED, TCP_ESTABLISHED);
			assert_int_equal(c->accept, 1);
			assert_int_equal(c->h[CLI].rcv_off, 50);
			assert_int_equal(fsm_rcv_nxt(&c->h[CLI]), S(51));
			assert_int_equal(c->h[CLI].snd_una, C(101));
			break;
		case R_FIN_C:
			xfer(c, CLI, C(101), S(51), 0, TH_FIN | TH_ACK);
			/* CLI ->FIN_WAIT_1 at SND, SVR ->CLOSE_WAIT at RCV. */
			expect(c, SC, SC, TCP_FIN_WAIT_1, TCP_CLOSE_WAIT);
			assert_int_equal(c->h[CLI].fss, C(101));
			assert_true(c->h[CLI].flags & HF_FIN_SENT);
			assert_true(c->h[SVR].flags & HF_FIN_RCVD);
			assert_int_equal(fsm_rcv_nxt(&c->h[SVR]), C(102));
			assert_int_equal(c->h[SVR].rcv_off, 100);
			break;
		case R_ACK_S:
			xfer(c, SVR, S(51), C(102), 0, TH_ACK);
			expect(c, 0, SC, TCP_FIN_WAIT_2, TCP_CLOSE_WAIT);
			break;
		case R_FIN_S:
			xfer(c, SVR, S(51), C(102), 0, TH_FIN | TH_ACK);
			/* The FIN acks the client's: LAST_ACK, not CLOSING. */
			expect(c, SC, SC, TCP_TIME_WAIT, TCP_LAST_ACK);
			assert_int_equal(c->h[SVR].fss, S(51));
			break;
		case R_LAST_ACK:
			xfer(c, CLI, C(102), S(52), 0, TH_ACK);
			expect(c, 0, SC, TCP_TIME_WAIT, TCP_CLOSED);
			assert_true(fsm_finished(&c->h[CLI], 0));
			assert_false(fsm_finished(&c->h[CLI], 1));
			assert_true(fsm_finished(&c->h[SVR], 0));
			assert_true(fsm_finished(&c->h[SVR], 1));
			break;
		}
	}
}

static void
test_row_syn(void **state)
{
	struct conn c;

	(void)state;
	clean(&c, R_SYN);
}

static void
test_row_synack(void **state)
{
	struct conn c;

	(void)state;
	clean(&c, R_SYNACK);
}

static void
test_row_ack(void **state)
{
	struct conn c;

	(void)state;
	clean(&c, R_ACK);
}

static void
test_row_data(void **state)
{
	struct conn c;

	(void)state;
	clean(&c, R_DATA_SC);
}

static void
test_row_fin_c(void **state)
{
	struct conn c;

	(void)state;
	clean(&c, R_FIN_C);
	assert_false(fsm_finished(&c.h[CLI], 0));
	assert_false(fsm_finished(&c.h[SVR], 0));
}

static void
test_row_ack_of_fin(void **state)
{
	struct conn c;

	(void)state;
	clean(&c, R_ACK_S);
}

static void
test_row_fin_s(void **state)
{
	struct conn c;

	(void)state;
	clean(&c, R_FIN_S);
}

static void
test_row_last_ack(void **state)
{
	struct conn c;

	(void)state;
	clean(&c, R_LAST_ACK);
}

/* -- Other closes --------------------------------------------------------- */

static void
test_server_first_close(void **state)
{
	struct conn c;

	(void)state;
	clean(&c, R_DATA_SC);
	xfer(&c, SVR, S(51), C(101), 0, TH_FIN | TH_ACK);
	expect(&c, SC, SC, TCP_CLOSE_WAIT, TCP_FIN_WAIT_1);
	assert_int_equal(c.h[SVR].fss, S(51));
	assert_int_equal(c.h[CLI].rcv_off, 50);
	xfer(&c, CLI, C(101), S(52), 0, TH_ACK);
	expect(&c, 0, SC, TCP_CLOSE_WAIT, TCP_FIN_WAIT_2);
	xfer(&c, CLI, C(101), S(52), 0, TH_FIN | TH_ACK);
	expect(&c, SC, SC, TCP_LAST_ACK, TCP_TIME_WAIT);
	assert_false(fsm_finished(&c.h[CLI], 0));
	xfer(&c, SVR, S(52), C(102), 0, TH_ACK);
	expect(&c, 0, SC, TCP_CLOSED, TCP_TIME_WAIT);
	assert_true(fsm_finished(&c.h[CLI], 1));
	assert_true(fsm_finished(&c.h[SVR], 0));
	assert_false(fsm_finished(&c.h[SVR], 1));
}

/* Both FINs are sent before either endpoint saw the other's: each FIN
 * acknowledges only data, so both end in CLOSING, and the two ACKs of the
 * FINs take them to TIME_WAIT. */
static void
test_simultaneous_close(void **state)
{
	struct conn c;

	(void)state;
	clean(&c, R_DATA_SC);
	xfer(&c, CLI, C(101), S(51), 0, TH_FIN | TH_ACK);
	expect(&c, SC, SC, TCP_FIN_WAIT_1, TCP_CLOSE_WAIT);
	/* The server's FIN crossed the client's: it acks C(101) only. */
	xfer(&c, SVR, S(51), C(101), 0, TH_FIN | TH_ACK);
	expect(&c, SC, SC, TCP_CLOSING, TCP_CLOSING);
	xfer(&c, CLI, C(102), S(52), 0, TH_ACK);
	expect(&c, 0, SC, TCP_CLOSING, TCP_TIME_WAIT);
	xfer(&c, SVR, S(52), C(102), 0, TH_ACK);
	expect(&c, 0, SC, TCP_TIME_WAIT, TCP_TIME_WAIT);
	assert_true(fsm_finished(&c.h[CLI], 0));
	assert_true(fsm_finished(&c.h[SVR], 0));
	assert_false(fsm_finished(&c.h[CLI], 1));
	assert_false(fsm_finished(&c.h[SVR], 1));
}

/* The server's FIN also acknowledges the client's FIN (no separate ACK):
 * the client goes FIN_WAIT_1 -> FIN_WAIT_2 -> TIME_WAIT on one packet,
 * one TCP_STATE_CHANGE. */
static void
test_fin_ack_combined(void **state)
{
	struct conn c;

	(void)state;
	clean(&c, R_FIN_C);
	xfer(&c, SVR, S(51), C(102), 0, TH_FIN | TH_ACK);
	expect(&c, SC, SC, TCP_TIME_WAIT, TCP_LAST_ACK);
	xfer(&c, CLI, C(102), S(52), 0, TH_ACK);
	expect(&c, 0, SC, TCP_TIME_WAIT, TCP_CLOSED);
}

static void
test_fin_with_data(void **state)
{
	struct conn c;

	(void)state;
	clean(&c, R_DATA_SC);
	xfer(&c, CLI, C(101), S(51), 30, TH_FIN | TH_ACK | TH_PSH);
	expect(&c, SC, SC, TCP_FIN_WAIT_1, TCP_CLOSE_WAIT);
	assert_int_equal(c.accept, 1);
	assert_int_equal(c.off, 100);
	assert_int_equal(c.h[SVR].rcv_off, 130);
	assert_int_equal(c.h[CLI].fss, C(131));
	assert_int_equal(c.h[CLI].snd_nxt, C(132));
	assert_int_equal(fsm_rcv_nxt(&c.h[SVR]), C(132));
	/* An ACK of the data only does not finish FIN_WAIT_1. */
	xfer(&c, SVR, S(51), C(131), 0, TH_ACK);
	expect(&c, 0, 0, TCP_FIN_WAIT_1, TCP_CLOSE_WAIT);
	xfer(&c, SVR, S(51), C(132), 0, TH_ACK);
	expect(&c, 0, SC, TCP_FIN_WAIT_2, TCP_CLOSE_WAIT);
	/* The server answers with data and its FIN in one segment. */
	xfer(&c, SVR, S(51), C(132), 20, TH_FIN | TH_ACK | TH_PSH);
	expect(&c, SC, SC, TCP_TIME_WAIT, TCP_LAST_ACK);
	assert_int_equal(c.h[CLI].rcv_off, 70);
	assert_int_equal(c.h[SVR].fss, S(71));
	xfer(&c, CLI, C(132), S(72), 0, TH_ACK);
	expect(&c, 0, SC, TCP_TIME_WAIT, TCP_CLOSED);
}

/* -- RST ------------------------------------------------------------------ */

static void
test_rst_established(void **state)
{
	struct conn c;

	(void)state;
	clean(&c, R_DATA_SC);
	xfer(&c, CLI, C(101), S(51), 0, TH_RST | TH_ACK);
	expect(&c, SC, SC, TCP_CLOSED, TCP_CLOSED);
	assert_true(fsm_finished(&c.h[CLI], 1));
	assert_true(fsm_finished(&c.h[SVR], 1));

	clean(&c, R_DATA_SC);
	xfer(&c, SVR, S(51), C(101), 0, TH_RST | TH_ACK);
	expect(&c, SC, SC, TCP_CLOSED, TCP_CLOSED);

	/* An RST without ACK (as sent after an abort) is in window too. */
	clean(&c, R_DATA_SC);
	xfer(&c, SVR, S(51), 0, 0, TH_RST);
	expect(&c, SC, SC, TCP_CLOSED, TCP_CLOSED);
}

/* Server half in SYN_RCVD. */
static void
test_rst_syn_rcvd(void **state)
{
	struct conn c;

	(void)state;
	/* The client gives up after its SYN. */
	clean(&c, R_SYN);
	xfer(&c, CLI, C(1), 0, 0, TH_RST);
	expect(&c, SC, SC, TCP_CLOSED, TCP_CLOSED);

	/* The server aborts after its SYN/ACK (client ESTABLISHED). */
	clean(&c, R_SYNACK);
	xfer(&c, SVR, S(1), C(1), 0, TH_RST | TH_ACK);
	expect(&c, SC, SC, TCP_CLOSED, TCP_CLOSED);

	/* The client resets the SYN/ACK it was not expecting. */
	clean(&c, R_SYNACK);
	xfer(&c, CLI, C(1), 0, 0, TH_RST);
	expect(&c, SC, SC, TCP_CLOSED, TCP_CLOSED);
}

/* Client half in SYN_SENT: only an RST/ACK acknowledging the SYN closes
 * it (a refused connection). */
static void
test_rst_syn_sent(void **state)
{
	struct conn c;

	(void)state;
	clean(&c, R_SYN);
	xfer(&c, SVR, 0, C(1), 0, TH_RST | TH_ACK);
	expect(&c, SC, SC, TCP_CLOSED, TCP_CLOSED);

	/* Wrong ack, or no ACK: not an answer to this SYN. */
	clean(&c, R_SYN);
	xfer(&c, SVR, 0, C(2), 0, TH_RST | TH_ACK);
	assert_int_equal(c.rev, 0);
	assert_string_equal(fsm_state_name(c.h[CLI].state), "SYN_SENT");
	xfer(&c, SVR, 0, C(0), 0, TH_RST | TH_ACK);
	assert_int_equal(c.rev, 0);
	assert_string_equal(fsm_state_name(c.h[CLI].state), "SYN_SENT");
	xfer(&c, SVR, 0, 0, 0, TH_RST);
	assert_int_equal(c.rev, 0);
	assert_string_equal(fsm_state_name(c.h[CLI].state), "SYN_SENT");
}

/* Half-closed: client FIN_WAIT_2, server CLOSE_WAIT. */
static void
test_rst_half_closed(void **state)
{
	struct conn c;

	(void)state;
	clean(&c, R_ACK_S);
	xfer(&c, SVR, S(51), C(102), 0, TH_RST | TH_ACK);
	expect(&c, SC, SC, TCP_CLOSED, TCP_CLOSED);

	clean(&c, R_ACK_S);
	xfer(&c, CLI, C(102), S(51), 0, TH_RST | TH_ACK);
	expect(&c, SC, SC, TCP_CLOSED, TCP_CLOSED);

	/* The client resets with the sequence number of its FIN (one
	 * below the server's rcv_nxt): still accepted. */
	clean(&c, R_ACK_S);
	xfer(&c, CLI, C(101), S(51), 0, TH_RST);
	expect(&c, SC, SC, TCP_CLOSED, TCP_CLOSED);

	/* LAST_ACK and TIME_WAIT halves are closed by an RST as well. */
	clean(&c, R_FIN_S);
	xfer(&c, CLI, C(102), S(52), 0, TH_RST);
	expect(&c, SC, SC, TCP_CLOSED, TCP_CLOSED);
}

/* An RST whose sequence number is outside the receiver's window (a blind
 * RST) does not close the receiver. */
static void
test_rst_out_of_window(void **state)
{
	struct conn c;

	(void)state;
	clean(&c, R_DATA_SC);
	xfer(&c, CLI, C(101 + 200000), S(51), 0, TH_RST | TH_ACK);
	assert_int_equal(c.rev, 0);
	assert_string_equal(fsm_state_name(c.h[SVR].state), "ESTABLISHED");
	clean(&c, R_DATA_SC);
	xfer(&c, SVR, S(51 + 70000), C(101), 0, TH_RST);
	assert_int_equal(c.rev, 0);
	assert_string_equal(fsm_state_name(c.h[CLI].state), "ESTABLISHED");
	/* Old sequence numbers (before rcv_nxt - 1) too. */
	clean(&c, R_DATA_SC);
	xfer(&c, CLI, C(101 - 2), S(51), 0, TH_RST);
	assert_int_equal(c.rev, 0);
	assert_string_equal(fsm_state_name(c.h[SVR].state), "ESTABLISHED");
	xfer(&c, CLI, C(101 - 0x40000000), S(51), 0, TH_RST);
	assert_int_equal(c.rev, 0);
	assert_string_equal(fsm_state_name(c.h[SVR].state), "ESTABLISHED");
	/* The server goes on receiving and can still close. */
	xfer(&c, CLI, C(101), S(51), 10, TH_ACK);
	assert_int_equal(c.h[SVR].rcv_off, 110);
}

/*
 * BUG: a blind RST (out of the receiver's window, so the receiver ignores
 * it) still moves the sender's half to CLOSED in fsm_send (tcp_fsm.c, the
 * `if (g->flags & TH_RST) return set_state(s, TCP_CLOSED);` at the top of
 * fsm_send). The half then accepts no more data (fsm_recv_ctl takes
 * payload only in SYN_RCVD..FIN_WAIT_2), so a forged RST "from the
 * client" ends the monitoring of the server-to-client stream and of the
 * client's close, which is what tcp_fsm.c's header says must not happen.
 * Expected: an RST the receiver does not accept changes neither half.
 */
static void
test_rst_out_of_window_sender(void **state)
{
	struct conn c;

	(void)state;
	clean(&c, R_DATA_SC);
	xfer(&c, CLI, C(101 + 200000), S(51), 0, TH_RST | TH_ACK);
	assert_int_equal(c.rev, 0);
	assert_int_equal(c.sev, 0);
	assert_string_equal(fsm_state_name(c.h[CLI].state), "ESTABLISHED");
	/* Server-to-client data is still taken by the client half. */
	xfer(&c, SVR, S(51), C(101), 40, TH_ACK | TH_PSH);
	assert_int_equal(c.accept, 1);
	assert_int_equal(c.h[CLI].rcv_off, 90);
}

/* In the window but not at rcv_nxt: accepted (a monitor cannot see the
 * challenge ACK of RFC 5961, so the window is the test). */
static void
test_rst_in_window_not_exact(void **state)
{
	struct conn c;

	(void)state;
	clean(&c, R_DATA_SC);
	xfer(&c, CLI, C(101 + 1000), S(51), 0, TH_RST);
	expect(&c, SC, SC, TCP_CLOSED, TCP_CLOSED);

	clean(&c, R_DATA_SC);
	xfer(&c, SVR, S(51 + 65535), C(101), 0, TH_RST);
	expect(&c, SC, SC, TCP_CLOSED, TCP_CLOSED);

	clean(&c, R_DATA_SC);
	xfer(&c, SVR, S(51 + 65536), C(101), 0, TH_RST);
	assert_int_equal(c.rev, 0);
	assert_string_equal(fsm_state_name(c.h[CLI].state), "ESTABLISHED");
}

/* A receiver that advertised a scaled window larger than 64 KiB accepts
 * RSTs up to that window. */
static void
test_rst_scaled_window(void **state)
{
	struct conn c;

	(void)state;
	conn_init(&c);
	xfer_full(&c, CLI, C(0), 0, 0, TH_SYN, 65535, 7, PLACE_NOBUF);
	xfer_full(&c, SVR, S(0), C(1), 0, TH_SYN | TH_ACK, 65535, 7,
		  PLACE_NOBUF);
	xfer_full(&c, CLI, C(1), S(1), 0, TH_ACK, 1000, -1, PLACE_NOBUF);
	expect(&c, 0, SC, TCP_ESTABLISHED, TCP_ESTABLISHED);
	/* The server advertises 2000 << 7 = 256000 bytes. */
	xfer_full(&c, SVR, S(1), C(1), 0, TH_ACK, 2000, -1, PLACE_NOBUF);
	assert_int_equal(c.h[SVR].wnd, 256000);
	xfer(&c, CLI, C(1 + 300000), S(1), 0, TH_RST);
	assert_int_equal(c.rev, 0);
	assert_string_equal(fsm_state_name(c.h[SVR].state), "ESTABLISHED");
	xfer(&c, CLI, C(1 + 200000), S(1), 0, TH_RST);
	assert_int_equal(c.rev, SC);
	assert_string_equal(fsm_state_name(c.h[SVR].state), "CLOSED");
}

/* -- Retransmissions ------------------------------------------------------ */

/* A repeated SYN: no second CONN_START (moonbox differs from mOS on
 * purpose), syn_rexmit at the sender, REXMIT at the server. */
static void
test_syn_rexmit(void **state)
{
	struct conn c;

	(void)state;
	clean(&c, R_SYN);
	xfer(&c, CLI, C(0), 0, 0, TH_SYN);
	expect(&c, 0, REXMIT, TCP_SYN_SENT, TCP_SYN_RCVD);
	assert_int_equal(c.rex, 1);
	assert_int_equal(c.h[CLI].iss, C(0));
	assert_int_equal(c.h[SVR].irs, C(0));
	xfer(&c, CLI, C(0), 0, 0, TH_SYN);
	expect(&c, 0, REXMIT, TCP_SYN_SENT, TCP_SYN_RCVD);
	assert_int_equal(c.rex, 1);
	/* The handshake then completes as usual. */
	xfer(&c, SVR, S(0), C(1), 0, TH_SYN | TH_ACK);
	expect(&c, 0, SC, TCP_ESTABLISHED, TCP_SYN_RCVD);
	assert_int_equal(c.rex, 0);
	xfer(&c, CLI, C(1), S(1), 0, TH_ACK);
	expect(&c, 0, SC, TCP_ESTABLISHED, TCP_ESTABLISHED);
	/* A SYN with another ISN is not a retransmission of this one. */
	clean(&c, R_SYN);
	xfer(&c, CLI, C(5000), 0, 0, TH_SYN);
	expect(&c, 0, 0, TCP_SYN_SENT, TCP_SYN_RCVD);
	assert_int_equal(c.rex, 0);
}

static void
test_synack_rexmit(void **state)
{
	struct conn c;

	(void)state;
	clean(&c, R_SYNACK);
	xfer(&c, SVR, S(0), C(1), 0, TH_SYN | TH_ACK);
	expect(&c, 0, REXMIT, TCP_ESTABLISHED, TCP_SYN_RCVD);
	assert_int_equal(c.h[SVR].iss, S(0));
	assert_int_equal(c.h[SVR].snd_nxt, S(1));
	/* Also after the handshake completed (the ACK was lost on its way
	 * to the server). */
	clean(&c, R_DATA_CS);
	xfer(&c, SVR, S(0), C(1), 0, TH_SYN | TH_ACK);
	expect(&c, 0, REXMIT, TCP_ESTABLISHED, TCP_ESTABLISHED);
	assert_int_equal(c.h[CLI].rcv_off, 0);
	assert_int_equal(fsm_rcv_nxt(&c.h[CLI]), S(1));
}

static void
test_fin_rexmit(void **state)
{
	struct conn c;

	(void)state;
	clean(&c, R_FIN_C);
	xfer(&c, CLI, C(101), S(51), 0, TH_FIN | TH_ACK);
	expect(&c, 0, REXMIT, TCP_FIN_WAIT_1, TCP_CLOSE_WAIT);
	assert_int_equal(c.h[SVR].rcv_off, 100);
	assert_int_equal(c.h[CLI].fss, C(101));
	/* The server's FIN repeated to a client in TIME_WAIT. */
	clean(&c, R_LAST_ACK);
	xfer(&c, SVR, S(51), C(102), 0, TH_FIN | TH_ACK);
	expect(&c, 0, REXMIT, TCP_TIME_WAIT, TCP_CLOSED);
	/* A repeated FIN carrying data. */
	clean(&c, R_DATA_SC);
	xfer(&c, CLI, C(101), S(51), 30, TH_FIN | TH_ACK);
	expect(&c, SC, SC, TCP_FIN_WAIT_1, TCP_CLOSE_WAIT);
	xfer(&c, CLI, C(101), S(51), 30, TH_FIN | TH_ACK);
	expect(&c, 0, REXMIT, TCP_FIN_WAIT_1, TCP_CLOSE_WAIT);
	assert_int_equal(c.off, 100);
	assert_int_equal(c.h[SVR].rcv_off, 130);
}

/* -- FIN beyond a hole --------------------------------------------------- */

static void
test_fin_pending(void **state)
{
	struct conn c;

	(void)state;
	clean(&c, R_ACK);
	/* Bytes [100, 150) and the FIN arrive; [0, 100) was lost. */
	xfer(&c, CLI, C(101), S(1), 50, TH_FIN | TH_ACK);
	expect(&c, SC, 0, TCP_FIN_WAIT_1, TCP_ESTABLISHED);
	assert_int_equal(c.off, 100);
	assert_int_equal(c.h[SVR].rcv_off, 0);
	assert_true(c.h[SVR].flags & HF_FIN_PEND);
	assert_false(c.h[SVR].flags & HF_FIN_RCVD);
	assert_int_equal(c.h[SVR].fin_off, 150);
	assert_int_equal(fsm_rcv_nxt(&c.h[SVR]), C(1));
	/* Part of the hole: still pending. */
	xfer(&c, CLI, C(1), S(1), 60, TH_ACK);
	expect(&c, 0, 0, TCP_FIN_WAIT_1, TCP_ESTABLISHED);
	assert_int_equal(c.h[SVR].rcv_off, 60);
	assert_true(c.h[SVR].flags & HF_FIN_PEND);
	/* The rest: the buffer now holds everything up to 150, and the FIN
	 * is consumed on this (non-FIN) packet. */
	xfer_full(&c, CLI, C(61), S(1), 40, TH_ACK, 65535, -1, 150);
	expect(&c, 0, SC, TCP_FIN_WAIT_1, TCP_CLOSE_WAIT);
	assert_false(c.h[SVR].flags & HF_FIN_PEND);
	assert_true(c.h[SVR].flags & HF_FIN_RCVD);
	assert_int_equal(fsm_rcv_nxt(&c.h[SVR]), C(152));
	xfer(&c, SVR, S(1), C(152), 0, TH_ACK);
	expect(&c, 0, SC, TCP_FIN_WAIT_2, TCP_CLOSE_WAIT);
}

/* A FIN beyond a hole, then its own retransmission with the data before
 * it filled: consumed by the repeated FIN. */
static void
test_fin_pending_refilled(void **state)
{
	struct conn c;

	(void)state;
	clean(&c, R_ACK);
	xfer(&c, CLI, C(101), S(1), 50, TH_FIN | TH_ACK);
	expect(&c, SC, 0, TCP_FIN_WAIT_1, TCP_ESTABLISHED);
	xfer(&c, CLI, C(1), S(1), 100, TH_ACK);
	expect(&c, 0, 0, TCP_FIN_WAIT_1, TCP_ESTABLISHED);
	assert_int_equal(c.h[SVR].rcv_off, 100);
	xfer(&c, CLI, C(101), S(1), 50, TH_FIN | TH_ACK);
	expect(&c, 0, SC, TCP_FIN_WAIT_1, TCP_CLOSE_WAIT);
	assert_int_equal(c.h[SVR].rcv_off, 150);
}

/* -- Window scaling ------------------------------------------------------- */

static void
handshake_ws(struct conn *c, int8_t cws, int8_t sws)
{
	conn_init(c);
	xfer_full(c, CLI, C(0), 0, 0, TH_SYN, 64240, cws, PLACE_NOBUF);
	xfer_full(c, SVR, S(0), C(1), 0, TH_SYN | TH_ACK, 65160, sws,
		  PLACE_NOBUF);
	/* The SYN/ACK's window is never scaled. */
	assert_int_equal(c->h[SVR].wnd, 65160);
	xfer_full(c, CLI, C(1), S(1), 0, TH_ACK, 100, -1, PLACE_NOBUF);
	xfer_full(c, SVR, S(1), C(1), 0, TH_ACK, 200, -1, PLACE_NOBUF);
	expect(c, 0, 0, TCP_ESTABLISHED, TCP_ESTABLISHED);
}

static void
test_window_scaling(void **state)
{
	struct conn c;

	(void)state;
	handshake_ws(&c, 7, 2);
	assert_true(c.h[CLI].flags & HF_WSCALE);
	assert_true(c.h[SVR].flags & HF_WSCALE);
	assert_int_equal(c.h[CLI].wnd, 100 << 7);
	assert_int_equal(c.h[SVR].wnd, 200 << 2);
	assert_int_equal(c.h[CLI].last_ack, S(1));

	handshake_ws(&c, 7, -1);
	assert_int_equal(c.h[CLI].wnd, 100);
	assert_int_equal(c.h[SVR].wnd, 200);

	handshake_ws(&c, -1, 5);
	assert_int_equal(c.h[CLI].wnd, 100);
	assert_int_equal(c.h[SVR].wnd, 200);

	handshake_ws(&c, 0, 0);
	assert_int_equal(c.h[CLI].wnd, 100);

	/* Shifts above 14 (RFC 7323) are taken as 14. */
	handshake_ws(&c, 15, 1);
	assert_int_equal(c.h[CLI].wscale, 14);
	assert_int_equal(c.h[CLI].wnd, 100u << 14);
}

/* -- Stream offsets ------------------------------------------------------- */

static void
test_seq_to_off(void **state)
{
	struct half h;
	uint64_t big = (5ULL << 32) + 7;

	(void)state;
	fsm_init(&h);
	h.irs = C(0);
	h.flags = HF_IRS;
	h.rcv_off = 0;
	assert_int_equal(fsm_seq_to_off(&h, C(1)), 0);
	assert_int_equal(fsm_seq_to_off(&h, C(0)), -1);
	assert_int_equal(fsm_seq_to_off(&h, C(-9)), -10);
	assert_int_equal(fsm_seq_to_off(&h, C(1001)), 1000);
	h.rcv_off = 0x300;
	assert_int_equal(fsm_seq_to_off(&h, C(0x301)), 0x300);
	assert_int_equal(fsm_seq_to_off(&h, C(0x300)), 0x2ff);
	assert_int_equal(fsm_seq_to_off(&h, C(0x302)), 0x301);
	assert_int_equal(fsm_seq_to_off(&h, C(1)), 0);
	assert_int_equal(fsm_seq_to_off(&h, C(0)), -1);
	/* Resolved within +-2^31 of rcv_off, across several wraps. */
	h.rcv_off = big;
	assert_int_equal(fsm_seq_to_off(&h, C(1 + 7)), (int64_t)big);
	assert_int_equal(fsm_seq_to_off(&h, C(8u + 0x7fffffffu)),
			 (int64_t)big + 0x7fffffff);
	assert_int_equal(fsm_seq_to_off(&h, C(1 + 7 - 0x80000000u)),
			 (int64_t)big - 0x80000000LL);
	assert_int_equal(fsm_seq_to_off(&h, C(1)), (int64_t)big - 7);
	assert_int_equal(fsm_seq_to_off(&h, C(0)), (int64_t)big - 8);
	/* Near the start, far-back sequence numbers give negative offsets. */
	h.rcv_off = 5;
	assert_int_equal(fsm_seq_to_off(&h, C(1 + 5 - 0x80000000u)),
			 5 - 0x80000000LL);
	/* rcv_nxt counts the consumed FIN. */
	h.rcv_off = 10;
	assert_int_equal(fsm_rcv_nxt(&h), C(11));
	h.flags |= HF_FIN_RCVD;
	assert_int_equal(fsm_rcv_nxt(&h), C(12));
}

static void
test_advance_nobuf(void **state)
{
	struct half h;

	(void)state;
	fsm_init(&h);
	fsm_advance_nobuf(&h, 0, 10);
	assert_int_equal(h.rcv_off, 10);
	fsm_advance_nobuf(&h, 20, 10);		/* beyond a hole */
	assert_int_equal(h.rcv_off, 10);
	fsm_advance_nobuf(&h, 5, 5);		/* entirely old */
	assert_int_equal(h.rcv_off, 10);
	fsm_advance_nobuf(&h, 5, 10);		/* overlaps the end */
	assert_int_equal(h.rcv_off, 15);
	fsm_advance_nobuf(&h, 15, 0);
	assert_int_equal(h.rcv_off, 15);
	fsm_advance_nobuf(&h, -3, 20);
	assert_int_equal(h.rcv_off, 17);
}

/* -- Capture loss --------------------------------------------------------- */

/* The SYN/ACK was not captured: the client's ACK shows the handshake
 * completed, and the server half takes it. */
static void
test_lost_synack_server(void **state)
{
	struct conn c;

	(void)state;
	clean(&c, R_SYN);
	xfer(&c, CLI, C(1), S(1), 0, TH_ACK);
	assert_int_equal(c.rev, SC);
	assert_string_equal(fsm_state_name(c.h[SVR].state), "ESTABLISHED");
	assert_int_equal(c.h[SVR].iss, S(0));
	assert_int_equal(c.h[SVR].snd_nxt, S(1));
	xfer(&c, CLI, C(1), S(1), 100, TH_ACK | TH_PSH);
	assert_int_equal(c.accept, 1);
	assert_int_equal(c.h[SVR].rcv_off, 100);
	/* An ACK that does not match a SYN/ACK we saw is not taken. */
	clean(&c, R_SYNACK);
	xfer(&c, CLI, C(1), S(2), 0, TH_ACK);
	assert_int_equal(c.rev, 0);
	assert_string_equal(fsm_state_name(c.h[SVR].state), "SYN_RCVD");
}

/*
 * BUG: with the SYN/ACK lost, the client half stays in SYN_SENT although
 * the client's ACK of the server's ISN proves it is ESTABLISHED
 * (fsm_send never moves a SYN_SENT half on an ACK, and its irs is never
 * learnt; tcp_fsm.c fsm_send / fsm_recv_ctl). Consequences: the
 * server-to-client bytes are never accepted (accept_data is 0 in SYN_SENT,
 * and HF_IRS is unset), and the client's FIN changes nothing, so the flow
 * cannot end before the idle timeout.
 * Expected: the client half becomes ESTABLISHED (irs = ack - 1) when it
 * sends the ACK, takes the server's data and closes normally.
 */
static void
test_lost_synack_client(void **state)
{
	struct conn c;

	(void)state;
	clean(&c, R_SYN);
	xfer(&c, CLI, C(1), S(1), 0, TH_ACK);
	assert_string_equal(fsm_state_name(c.h[CLI].state), "ESTABLISHED");
	assert_string_equal(fsm_state_name(c.h[SVR].state), "ESTABLISHED");
	xfer(&c, SVR, S(1), C(1), 50, TH_ACK | TH_PSH);
	assert_int_equal(c.accept, 1);
	assert_int_equal(c.h[CLI].rcv_off, 50);
	xfer(&c, CLI, C(1), S(51), 0, TH_FIN | TH_ACK);
	expect(&c, SC, SC, TCP_FIN_WAIT_1, TCP_CLOSE_WAIT);
}

/*
 * BUG: snd_una ("highest ack it received from the peer", tcp_fsm.h) starts
 * at 0 and only moves when seq_lt(snd_una, ack): for a server whose ISN is
 * 2^31 or more, the handshake's ACK (iss + 1) is not "after" 0 modulo
 * 2^32, so snd_una stays 0 until the acks wrap (tcp_fsm.c fsm_recv_ctl,
 * `if (seq_lt(r->snd_una, g->ack))`). Nothing reads snd_una yet, so this is
 * latent. Expected: the first ACK a half receives sets snd_una.
 */
static void
test_snd_una(void **state)
{
	struct conn c;

	(void)state;
	clean(&c, R_ACK);
	assert_int_equal(c.h[SVR].snd_una, S(1));
	assert_int_equal(c.h[CLI].snd_una, C(1));
	clean(&c, R_LAST_ACK);
	assert_int_equal(c.h[SVR].snd_una, S(52));
	assert_int_equal(c.h[CLI].snd_una, C(102));
}

/*
 * BUG: the client's first data segment (carrying the ACK of the server's
 * SYN) is captured before the SYN/ACK. The data moves the client's snd_nxt
 * from C(1) to C(11), and the SYN/ACK (ack C(1)) is then refused by the
 * SYN_SENT branch of fsm_recv_ctl (tcp_fsm.c: `g->ack != r->snd_nxt`);
 * RFC 793 accepts any ack in (iss, snd_nxt]. The client half stays in
 * SYN_SENT for good, takes no server bytes and cannot close.
 * Expected (whichever packet makes it ESTABLISHED): after the SYN/ACK the
 * client half is ESTABLISHED with irs = the server's ISN, and takes the
 * server's data.
 */
static void
test_synack_after_data(void **state)
{
	struct conn c;

	(void)state;
	clean(&c, R_SYN);
	xfer(&c, CLI, C(1), S(1), 10, TH_ACK | TH_PSH);
	assert_string_equal(fsm_state_name(c.h[SVR].state), "ESTABLISHED");
	assert_int_equal(c.h[SVR].rcv_off, 10);
	xfer(&c, SVR, S(0), C(1), 0, TH_SYN | TH_ACK);
	assert_string_equal(fsm_state_name(c.h[CLI].state), "ESTABLISHED");
	assert_int_equal(c.h[CLI].irs, S(0));
	xfer(&c, SVR, S(1), C(11), 20, TH_ACK | TH_PSH);
	assert_int_equal(c.accept, 1);
	assert_int_equal(c.h[CLI].rcv_off, 20);
}

/* -- Small things --------------------------------------------------------- */

static void
test_finished(void **state)
{
	struct half h;

	(void)state;
	fsm_init(&h);
	assert_int_equal(h.state, TCP_LISTEN);
	assert_int_equal(h.flags, 0);
	assert_false(fsm_finished(&h, 0));
	h.state = TCP_ESTABLISHED;
	assert_false(fsm_finished(&h, 0));
	h.state = TCP_LAST_ACK;
	assert_false(fsm_finished(&h, 0));
	h.state = TCP_TIME_WAIT;
	assert_true(fsm_finished(&h, 0));
	assert_false(fsm_finished(&h, 1));
	h.state = TCP_CLOSED;
	assert_true(fsm_finished(&h, 0));
	assert_true(fsm_finished(&h, 1));
}

static void
test_state_names(void **state)
{
	(void)state;
	assert_string_equal(fsm_state_name(TCP_CLOSED), "CLOSED");
	assert_string_equal(fsm_state_name(TCP_SYN_RCVD), "SYN_RCVD");
	assert_string_equal(fsm_state_name(TCP_TIME_WAIT), "TIME_WAIT");
	assert_string_equal(fsm_state_name(-1), "-");
	assert_string_equal(fsm_state_name(TCP_TIME_WAIT + 1), "-");
}

/* Segments on a flow nobody closed any more: nothing moves. */
static void
test_closed_is_final(void **state)
{
	struct conn c;

	(void)state;
	clean(&c, R_DATA_SC);
	xfer(&c, CLI, C(101), S(51), 0, TH_RST);
	expect(&c, SC, SC, TCP_CLOSED, TCP_CLOSED);
	xfer(&c, SVR, S(51), C(101), 20, TH_ACK | TH_FIN);
	expect(&c, 0, 0, TCP_CLOSED, TCP_CLOSED);
	assert_int_equal(c.accept, 0);
	assert_int_equal(c.h[CLI].rcv_off, 50);
	xfer(&c, CLI, C(101), S(51), 0, TH_RST);
	expect(&c, 0, 0, TCP_CLOSED, TCP_CLOSED);
}

/* -- Groups: three sets of initial sequence numbers --------------------- */

static int
isn_far(void **state)
{
	(void)state;
	ciss = 1000;
	siss = 2000000;
	return 0;
}

/* The client's numbers wrap inside its data, the server's on its SYN/ACK
 * (S(0) = 2^32 - 1, S(1) = 0). */
static int
isn_wrap(void **state)
{
	(void)state;
	ciss = 0xffffffc0u;
	siss = 0xffffffffu;
	return 0;
}

/* The client's SYN is the last number (C(1) = 0), the server's numbers
 * wrap inside its data. */
static int
isn_wrap2(void **state)
{
	(void)state;
	ciss = 0xffffffffu;
	siss = 0xffffffd0u;
	return 0;
}

/* -- What a real receiver discards (found by tests/integration/
 * test_hostile.sh) -------------------------------------------------------- */

/* Data without ACK after the SYN: discarded by the receiver, ignored by
 * the sender's half; the real bytes at the same numbers then count. */
static void
test_noack_data_discarded(void **state)
{
	struct conn c;

	(void)state;
	clean(&c, R_ACK);
	xfer(&c, CLI, C(1), 0, 13, TH_PSH);
	expect(&c, 0, 0, TCP_ESTABLISHED, TCP_ESTABLISHED);
	assert_int_equal(c.accept, 0);
	assert_int_equal(c.h[SVR].rcv_off, 0);
	assert_int_equal(c.h[CLI].snd_nxt, C(1));
	xfer(&c, CLI, C(1), S(1), 13, TH_PSH | TH_ACK);
	assert_int_equal(c.accept, 1);
	assert_int_equal(c.h[SVR].rcv_off, 13);
	/* In SYN_RCVD too, and a FIN without ACK is not taken. */
	clean(&c, R_SYN);
	xfer(&c, CLI, C(1), 0, 9, TH_PSH);
	assert_int_equal(c.accept, 0);
	assert_int_equal(c.h[SVR].rcv_off, 0);
	clean(&c, R_DATA_SC);
	xfer(&c, CLI, C(101), 0, 0, TH_FIN);
	expect(&c, 0, 0, TCP_ESTABLISHED, TCP_ESTABLISHED);
	assert_false(c.h[CLI].flags & HF_FIN_SENT);
	assert_false(c.h[SVR].flags & HF_FIN_RCVD);
}

/* SYNs inside a live connection change nothing, SYN+FIN included, and
 * neither does a FIN far beyond the receiver's window. */
static void
test_syn_in_live_connection(void **state)
{
	static const uint8_t fl[] = { TH_SYN, TH_SYN | TH_FIN,
				      TH_SYN | TH_ACK, TH_SYN | TH_ACK | TH_FIN };
	struct conn c;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(fl); i++) {
		clean(&c, R_DATA_SC);
		xfer(&c, CLI, C(101), S(51), 0, fl[i]);
		expect(&c, 0, 0, TCP_ESTABLISHED, TCP_ESTABLISHED);
		assert_int_equal(c.h[CLI].snd_nxt, C(101));
		assert_false(c.h[CLI].flags & HF_FIN_SENT);
		assert_false(c.h[SVR].flags & (HF_FIN_RCVD | HF_FIN_PEND));
	}
	clean(&c, R_DATA_SC);
	xfer(&c, CLI, C(101 + 1000000), S(51), 0, TH_FIN | TH_ACK);
	expect(&c, 0, 0, TCP_ESTABLISHED, TCP_ESTABLISHED);
	assert_int_equal(c.h[CLI].snd_nxt, C(101));
	assert_false(c.h[CLI].flags & HF_FIN_SENT);
	/* The real close still works. */
	xfer(&c, CLI, C(101), S(51), 0, TH_FIN | TH_ACK);
	expect(&c, SC, SC, TCP_FIN_WAIT_1, TCP_CLOSE_WAIT);
}

/* Data on the SYN: the stream's first bytes, whether the SYN/ACK
 * acknowledges them (TCP Fast Open) or not (sent again later). */
static void
test_syn_data(void **state)
{
	struct conn c;

	(void)state;
	conn_init(&c);
	xfer(&c, CLI, C(0), 0, 20, TH_SYN);
	expect(&c, START | SC, START | SC, TCP_SYN_SENT, TCP_SYN_RCVD);
	assert_int_equal(c.accept, 1);
	assert_int_equal(c.h[CLI].snd_nxt, C(21));
	assert_int_equal(c.h[SVR].rcv_off, 20);
	xfer(&c, SVR, S(0), C(21), 0, TH_SYN | TH_ACK);
	expect(&c, 0, SC, TCP_ESTABLISHED, TCP_SYN_RCVD);
	xfer(&c, CLI, C(21), S(1), 0, TH_ACK);
	expect(&c, 0, SC, TCP_ESTABLISHED, TCP_ESTABLISHED);
	/* Not acknowledged: the same bytes come again from C(1). */
	conn_init(&c);
	xfer(&c, CLI, C(0), 0, 20, TH_SYN);
	xfer(&c, SVR, S(0), C(1), 0, TH_SYN | TH_ACK);
	expect(&c, 0, SC, TCP_ESTABLISHED, TCP_SYN_RCVD);
	assert_int_equal(c.h[SVR].irs, C(0));
	xfer(&c, CLI, C(1), S(1), 0, TH_ACK);
	expect(&c, 0, SC, TCP_ESTABLISHED, TCP_ESTABLISHED);
	xfer(&c, CLI, C(1), S(1), 30, TH_ACK | TH_PSH);
	assert_int_equal(c.h[SVR].rcv_off, 30);
}

/* Two SYNs with different ISNs: the SYN/ACK names the one answered. */
static void
test_second_syn(void **state)
{
	struct conn c;
	int answered;

	(void)state;
	for (answered = 0; answered < 2; answered++) {
		uint32_t isn = answered ? C(5000) : C(0);

		clean(&c, R_SYN);
		xfer(&c, CLI, C(5000), 0, 0, TH_SYN);
		expect(&c, 0, 0, TCP_SYN_SENT, TCP_SYN_RCVD);
		assert_int_equal(c.h[CLI].iss, C(5000));
		xfer(&c, SVR, S(0), isn + 1, 0, TH_SYN | TH_ACK);
		expect(&c, 0, SC, TCP_ESTABLISHED, TCP_SYN_RCVD);
		assert_int_equal(c.h[CLI].iss, isn);
		assert_int_equal(c.h[SVR].irs, isn);
		xfer(&c, CLI, isn + 1, S(1), 0, TH_ACK);
		expect(&c, 0, SC, TCP_ESTABLISHED, TCP_ESTABLISHED);
		xfer(&c, CLI, isn + 1, S(1), 10, TH_ACK | TH_PSH);
		assert_int_equal(c.accept, 1);
		assert_int_equal(c.h[SVR].rcv_off, 10);
	}
	/* A SYN/ACK for neither is refused. */
	clean(&c, R_SYN);
	xfer(&c, CLI, C(5000), 0, 0, TH_SYN);
	xfer(&c, SVR, S(0), C(77), 0, TH_SYN | TH_ACK);
	expect(&c, 0, 0, TCP_SYN_SENT, TCP_SYN_RCVD);
}

/* -- The one-step path for plain segments ----------------------------- */

static uint64_t rng = 88172645463325252ull;

static uint32_t
rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng >> 16);
}

/* A half in a random state, mostly ESTABLISHED, with random numbers close
 * enough together for segments to fall in and out of its window. */
static void
random_half(struct half *h, uint32_t base)
{
	static const uint8_t states[] = {
		TCP_ESTABLISHED, TCP_ESTABLISHED, TCP_ESTABLISHED,
		TCP_ESTABLISHED, TCP_ESTABLISHED, TCP_ESTABLISHED,
		TCP_ESTABLISHED, TCP_ESTABLISHED, TCP_ESTABLISHED,
		TCP_ESTABLISHED, TCP_SYN_SENT, TCP_SYN_RCVD, TCP_FIN_WAIT_1,
		TCP_CLOSE_WAIT, TCP_LAST_ACK, TCP_CLOSED,
	};
	static const uint8_t flags[] = {
		HF_ISS | HF_IRS | HF_WND, HF_ISS | HF_IRS | HF_WND,
		HF_ISS | HF_IRS | HF_WND | HF_WSCALE, HF_ISS | HF_IRS,
		HF_ISS | HF_IRS | HF_WND | HF_FIN_PEND, HF_IRS | HF_WND,
		HF_ISS | HF_WND, HF_ISS | HF_IRS | HF_FIN_RCVD | HF_WND,
	};

	h->state = states[rnd() % sizeof(states)];
	h->flags = flags[rnd() % sizeof(flags)];
	h->wscale = (uint8_t)(rnd() % 4);
	h->pad = 0;
	h->iss = base + rnd() % 1000;
	h->snd_nxt = h->iss + 1 + rnd() % 200000;
	h->fss = h->snd_nxt - rnd() % 100;
	h->snd_una = h->snd_nxt - rnd() % 100000;
	h->irs = base * 7 + rnd() % 1000;
	h->wnd = rnd() % 300000;
	h->last_ack = rnd();
	h->rcv_off = rnd() % 200000;
	h->fin_off = h->rcv_off + rnd() % 3000;
}

/* fsm_established_ack takes a segment exactly when the step-by-step path
 * would raise nothing, let the receiver take its payload and find no FIN
 * to wait for, and then leaves both halves as that path does; otherwise
 * it changes nothing. 200000 random halves and segments. */
static void
test_established_ack_model(void **state)
{
	static const uint8_t segflags[] = {
		TH_ACK, TH_ACK, TH_ACK, TH_ACK, TH_ACK | TH_PSH, TH_ACK | TH_PSH,
		TH_ACK | TH_PSH, TH_ACK | TH_PSH, TH_ACK | TH_FIN,
		TH_ACK | TH_SYN, TH_ACK | TH_RST, TH_SYN, TH_PSH, 0,
	};
	int i, taken = 0, refused = 0;

	(void)state;
	for (i = 0; i < 200000; i++) {
		struct half fast[2], step[2], orig[2];
		struct seg g;
		uint32_t sev, rev;
		int rex, accept, snd = (int)(rnd() & 1), ok;

		random_half(&orig[0], ciss + rnd() % 4);
		random_half(&orig[1], siss + rnd() % 4);
		/* Segments around what the receiver expects next. */
		g.seq = fsm_rcv_nxt(&orig[snd ^ 1]) + rnd() % 400000 - 200000;
		g.ack = orig[snd ^ 1].snd_nxt + rnd() % 200 - 100;
		g.len = rnd() % 3 == 0 ? 0 : rnd() % 1461;
		g.win = (uint16_t)rnd();
		g.flags = segflags[rnd() % sizeof(segflags)];
		g.wscale = -1;
		memcpy(fast, orig, sizeof(fast));
		memcpy(step, orig, sizeof(step));

		ok = fsm_established_ack(&fast[snd], &fast[snd ^ 1], &g);
		if (!ok) {
			assert_memory_equal(fast, orig, sizeof(fast));
			refused++;
			continue;
		}
		taken++;
		sev = fsm_send(&step[snd], &step[snd ^ 1], &g, &rex);
		rev = fsm_recv_ctl(&step[snd ^ 1], &step[snd], &g, &accept);
		assert_int_equal(sev, 0);
		assert_int_equal(rex, 0);
		assert_int_equal(accept, 1);
		/* The same payload placement on both, then the FIN step. */
		if (g.len > 0) {
			int64_t off = fsm_seq_to_off(&step[snd ^ 1], g.seq);

			assert_int_equal(off, fsm_seq_to_off(&fast[snd ^ 1],
							     g.seq));
			if (off >= 0) {
				fsm_advance_nobuf(&step[snd ^ 1], off, g.len);
				fsm_advance_nobuf(&fast[snd ^ 1], off, g.len);
			}
		}
		rev |= fsm_recv_fin(&step[snd ^ 1], &step[snd], &g);
		assert_int_equal(rev, 0);
		assert_memory_equal(fast, step, sizeof(fast));
	}
	/* Both outcomes were seen often enough to mean something. */
	assert_true(taken > 10000);
	assert_true(refused > 10000);
}

/* fsm_quiet_ack leaves both halves as fsm_send then fsm_recv_ctl do, and
 * returns the receiver's events and acceptance, and fsm_quiet_fin as
 * fsm_recv_fin, for any segment with ACK and without SYN or RST, in any
 * state of either half. 200000 random halves and segments. */
static void
test_quiet_ack_model(void **state)
{
	static const uint8_t segflags[] = {
		TH_ACK, TH_ACK | TH_PSH, TH_ACK | TH_FIN,
		TH_ACK | TH_FIN | TH_PSH,
	};
	static const uint8_t states[] = {
		TCP_CLOSED, TCP_LISTEN, TCP_SYN_SENT, TCP_SYN_RCVD,
		TCP_ESTABLISHED, TCP_FIN_WAIT_1, TCP_FIN_WAIT_2,
		TCP_CLOSE_WAIT, TCP_CLOSING, TCP_LAST_ACK, TCP_TIME_WAIT,
	};
	int i, events = 0, fins = 0, fin_events = 0;

	(void)state;
	for (i = 0; i < 200000; i++) {
		struct half quiet[2], step[2];
		struct seg g;
		uint32_t qev, sev;
		int rex, qacc, sacc, snd = (int)(rnd() & 1), h;

		random_half(&step[0], ciss + rnd() % 4);
		random_half(&step[1], siss + rnd() % 4);
		/* Every state, and every flag a half can hold. */
		for (h = 0; h < 2; h++) {
			if (rnd() % 2)
				step[h].state = states[rnd() % sizeof(states)];
			if (rnd() % 4 == 0)
				step[h].flags = (uint8_t)rnd();
		}
		g.seq = fsm_rcv_nxt(&step[snd ^ 1]) + rnd() % 400000 - 200000;
		/* Often exactly what closes a FIN or the handshake. */
		g.ack = rnd() % 3 == 0 ? step[snd ^ 1].fss + 1 :
			step[snd ^ 1].snd_nxt + rnd() % 200 - 100;
		g.len = rnd() % 3 == 0 ? 0 : rnd() % 1461;
		g.win = (uint16_t)rnd();
		g.flags = segflags[rnd() % sizeof(segflags)];
		g.wscale = -1;
		memcpy(quiet, step, sizeof(quiet));

		qev = fsm_quiet_ack(&quiet[snd], &quiet[snd ^ 1], &g, &qacc);
		fsm_send(&step[snd], &step[snd ^ 1], &g, &rex);
		sev = fsm_recv_ctl(&step[snd ^ 1], &step[snd], &g, &sacc);
		assert_int_equal(qev, sev);
		assert_int_equal(qacc, sacc);
		assert_memory_equal(quiet, step, sizeof(quiet));
		events += sev != 0;
		/* Then the FIN step, sometimes with the receiver's data
		 * already past the FIN (a pending one is consumed). */
		if (rnd() % 3 == 0) {
			quiet[snd ^ 1].rcv_off += rnd() % 3000;
			step[snd ^ 1].rcv_off = quiet[snd ^ 1].rcv_off;
		}
		qev = fsm_quiet_fin(&quiet[snd ^ 1], &g);
		sev = fsm_recv_fin(&step[snd ^ 1], &step[snd], &g);
		assert_int_equal(qev, sev);
		assert_memory_equal(quiet, step, sizeof(quiet));
		fin_events += sev != 0;
		fins += (step[snd].flags & HF_FIN_SENT) != 0;
	}
	/* The state changes and FINs were exercised, not only plain ACKs. */
	assert_true(events > 5000);
	assert_true(fins > 20000);
	assert_true(fin_events > 2000);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_row_syn),
		cmocka_unit_test(test_row_synack),
		cmocka_unit_test(test_row_ack),
		cmocka_unit_test(test_row_data),
		cmocka_unit_test(test_row_fin_c),
		cmocka_unit_test(test_row_ack_of_fin),
		cmocka_unit_test(test_row_fin_s),
		cmocka_unit_test(test_row_last_ack),
		cmocka_unit_test(test_server_first_close),
		cmocka_unit_test(test_simultaneous_close),
		cmocka_unit_test(test_fin_ack_combined),
		cmocka_unit_test(test_fin_with_data),
		cmocka_unit_test(test_rst_established),
		cmocka_unit_test(test_rst_syn_rcvd),
		cmocka_unit_test(test_rst_syn_sent),
		cmocka_unit_test(test_rst_half_closed),
		cmocka_unit_test(test_rst_out_of_window),
		cmocka_unit_test(test_rst_out_of_window_sender),
		cmocka_unit_test(test_rst_in_window_not_exact),
		cmocka_unit_test(test_rst_scaled_window),
		cmocka_unit_test(test_syn_rexmit),
		cmocka_unit_test(test_synack_rexmit),
		cmocka_unit_test(test_fin_rexmit),
		cmocka_unit_test(test_fin_pending),
		cmocka_unit_test(test_fin_pending_refilled),
		cmocka_unit_test(test_window_scaling),
		cmocka_unit_test(test_seq_to_off),
		cmocka_unit_test(test_advance_nobuf),
		cmocka_unit_test(test_lost_synack_server),
		cmocka_unit_test(test_lost_synack_client),
		cmocka_unit_test(test_synack_after_data),
		cmocka_unit_test(test_snd_una),
		cmocka_unit_test(test_finished),
		cmocka_unit_test(test_state_names),
		cmocka_unit_test(test_closed_is_final),
		cmocka_unit_test(test_noack_data_discarded),
		cmocka_unit_test(test_syn_in_live_connection),
		cmocka_unit_test(test_syn_data),
		cmocka_unit_test(test_second_syn),
		cmocka_unit_test(test_established_ack_model),
		cmocka_unit_test(test_quiet_ack_model),
	};
	int fails = 0;

	fails += cmocka_run_group_tests_name("isn_far", tests, isn_far, NULL);
	fails += cmocka_run_group_tests_name("isn_wrap", tests, isn_wrap, NULL);
	fails += cmocka_run_group_tests_name("isn_wrap2", tests, isn_wrap2,
					     NULL);
	return fails;
}
