/*
 * test_api_flow.c - what the mOS API calls do to flows, checked by a
 * program written like an mOS monitor over a capture it writes itself:
 * timers (armed from main and from callbacks, re-armed, and a timer on an
 * active socket that must not fire once its flow has ended, even though a
 * later flow got its socket id), per-flow user contexts, registrations on
 * an active socket (that flow only) and on a listener from a callback
 * (later flows only), MOS_CLIOVERLAP set before the first payload,
 * MOS_STOP_MON with MOS_SIDE_BOTH (the flow ends, its later packets are
 * orphans) and with one side, mtcp_close() on an active socket (its
 * callbacks stop, the flow goes on for the other listener) and on a
 * listener (before the run, and from its own flow's callback), peek and
 * ppeek around gaps and overwritten bytes (with and without MOS_ON_ERROR),
 * and an idle timeout set with mtcp_setconf().
 *
 * Listeners and their flows (client ports 410xx): L1 port 80 (A, B, C),
 * L3 ports 82 and 85 (E stops both sides, G the client side), L4 and L5
 * port 83 (F; L4 closes its socket), L7 (closed before the run), L8 and L9
 * ports 86 and 87 with 64-byte server buffers (H, H2), L10 port 88 (K,
 * out of order), L11 port 89 (M closes L11; M2 comes after), L12 port 90
 * (T times out). A raw socket counts the TCP frames.
 */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <mos_api.h>

#include "test_api.h"

#define FIRST_COPY	"AAAAAAAAAA"
#define LAST_COPY	"BBBBBBBBBB"
#define TIMER_MAIN_ID	777

static struct trec R;
static char cap_path[256];
static unsigned cap_frames;
static mctx_t mctx;
static int L1, L3, L4, L5, L7, L8, L9, L10, L11, L12, RAW;
static event_t ev_alloc;

enum { FA, FB, FC, FE, FF, FG, FH, FH2, FK, FM, FM2, FT, NFLOWS };

static const uint16_t cports[NFLOWS] = { 41001, 41002, 41003, 41005, 41006,
					 41007, 41008, 41009, 41010, 41011,
					 41012, 41013 };

/* Idle timeout set with mtcp_setconf(): flow T goes quiet after its
 * handshake and times out; no other flow is idle that long. */
#define IDLE_MS		2500

/* Flows H and H2 send OVR_LEN bytes into a 64-byte server buffer within
 * one receive burst. */
#define OVR_SEG		50
#define OVR_LEN		(3 * OVR_SEG)
#define OVR_WINDOW	64

static char ovr_stream[OVR_LEN + 1];

/* Timer kinds, in the order they must fire */
enum { TM_MAIN, TM_FLOW_C, TM_LISTENER, TM_LISTENER2, TM_FLOW_A, NTM };

static struct {
	int sock[NFLOWS];		/* active socket on L1/L3/L4 */
	int tag[NFLOWS];		/* per-flow user context */
	unsigned ends[NFLOWS];		/* CONN_END (HK_SND) on L1/L3 */
	unsigned uctx_ok[NFLOWS];
	char cli_buf[NFLOWS][16];	/* client stream at CONN_END */
	unsigned pkt_snd_e, pkt_rcv_e;	/* L3, flow E */
	unsigned orphans_e, orphans_other;
	unsigned g_cli_after, g_svr_after, g_stopped;
	unsigned l4_pkts, l5_pkts, l4_ends, l5_ends;
	char l5_svr[32], l5_cli[32];
	unsigned l7_calls;
	unsigned fired[NTM];
	uint32_t fired_ts[NTM];
	int order[8];
	unsigned norder;
	uint32_t armed_ts[NTM];		/* core time when armed, us */
	unsigned raw_pkts;
	/* [0]: flow H, read at NEW_DATA only; [1]: H2, also at ERROR */
	char ovr_got[2][OVR_LEN + 1];
	size_t ovr_len[2];
	long ovr_missed[2];
	unsigned ovr_errors[2];
	unsigned ovr_reads[2];
	unsigned gap_pkts;		/* flow K's payload packets */
	unsigned a_only[NFLOWS];	/* registered on A's active socket */
	unsigned late[NFLOWS];		/* registered on L1 during A */
	unsigned l11_pkts[NFLOWS], l11_ends[NFLOWS];
	unsigned orphans_m2;
	unsigned t_timeouts, t_ends, t_end_before_timeout;
	uint32_t t_last_pkt, t_timeout_ts;
} S;

static void
assert_area(const char *area, unsigned min)
{
	trec_assert(&R, area, min);
}

static int
flow_of(mctx_t m, int sock)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);
	int i;

	if (mtcp_getpeername(m, sock, (struct sockaddr *)&a, &len,
			     MOS_SIDE_CLI) != 0)
		return -1;
	for (i = 0; i < NFLOWS; i++)
		if (ntohs(a.sin_port) == cports[i])
			return i;
	return -1;
}

static int
payload_len(mctx_t m, int sock, int side)
{
	struct pkt_info p;

	if (mtcp_getlastpkt(m, sock, side, &p) != 0)
		return -1;
	return p.payloadlen;
}

/* -- Timers -------------------------------------------------------------- */

#define A_TIMER	"timers"

static void
timer_fired(mctx_t m, int kind)
{
	if (S.fired[kind] == 0)
		S.fired_ts[kind] = mtcp_cb_get_ts(m);
	S.fired[kind]++;
	if (S.norder < 8)
		S.order[S.norder++] = kind;
}

/* Checks every timer callback makes: no packet, no dispatch. */
static void
timer_common(mctx_t m, int sock, int side, event_t ev, filter_arg_t *arg)
{
	struct pkt_info p;

	TTRUE(&R, A_TIMER, side == 0 && ev == MOS_ON_TIMEOUT && arg == NULL,
	      "timer args: side %d event %llu arg %p", side,
	      (unsigned long long)ev, (void *)arg);
	/* A listener may look at any packet being processed: none is. */
	TFAIL(&R, A_TIMER, mtcp_getlastpkt(m, L1, MOS_SIDE_CLI, &p), -1,
	      ENODATA);
	TFAIL(&R, A_TIMER, mtcp_setlastpkt(m, L1, MOS_SIDE_CLI, 0, NULL, 0,
					   MOS_DROP), -1, ENODATA);
	TFAIL(&R, A_TIMER, mtcp_raise_event(m, ev_alloc), -1, EPERM);
}

static void
tm_main(mctx_t m, int sock, int side, event_t ev, filter_arg_t *arg)
{
	timer_common(m, sock, side, ev, arg);
	TTRUE(&R, A_TIMER, sock == TIMER_MAIN_ID, "main timer id %d", sock);
	timer_fired(m, TM_MAIN);
}

static void
tm_listener(mctx_t m, int sock, int side, event_t ev, filter_arg_t *arg)
{
	struct timeval tv = { 0, 200000 };
	uint8_t ip[20] = { 0x45 }, tcp[20] = { 0 };
	struct pkt_info p;

	timer_common(m, sock, side, ev, arg);
	TTRUE(&R, A_TIMER, sock == L1, "listener timer id %d", sock);
	/* Nothing to route a new packet by: no flow, no packet */
	memset(&p, 0, sizeof(p));
	p.iph = (struct iphdr *)ip;
	p.tcph = (struct tcphdr *)tcp;
	tcp[12] = 5 << 4;
	TFAIL(&R, A_TIMER, mtcp_sendpkt(m, sock, &p), -1, ENOTCONN);
	if (S.fired[TM_LISTENER] == 0) {
		timer_fired(m, TM_LISTENER);
		/* Periodic work re-arms from the callback */
		S.armed_ts[TM_LISTENER2] = mtcp_cb_get_ts(m);
		TRET(&R, A_TIMER, mtcp_settimer(m, sock, &tv, tm_listener), 0);
	} else {
		timer_fired(m, TM_LISTENER2);
	}
}

/* Armed for LONG_MAX seconds (whose milliseconds wrapped to 0 once). */
static void
tm_never(mctx_t m, int sock, int side, event_t ev, filter_arg_t *arg)
{
	TTRUE(&R, A_TIMER, 0, "a timer of LONG_MAX seconds fired");
}

static void
tm_flow_c(mctx_t m, int sock, int side, event_t ev, filter_arg_t *arg)
{
	struct pkt_info p;
	char buf[8];

	timer_common(m, sock, side, ev, arg);
	TFAIL(&R, A_TIMER, mtcp_getlastpkt(m, sock, MOS_SIDE_SVR, &p), -1,
	      ENODATA);
	TTRUE(&R, A_TIMER, sock == S.sock[FC] && flow_of(m, sock) == FC,
	      "flow C timer: sock %d (C's is %d)", sock, S.sock[FC]);
	TRET(&R, A_TIMER, mtcp_ppeek(m, sock, MOS_SIDE_SVR, buf, 2, 0), 2);
	TTRUE(&R, A_TIMER, memcmp(buf, "c1", 2) == 0, "C's first bytes");
	timer_fired(m, TM_FLOW_C);
}

/* Must never run: flow A ended long before. */
static void
tm_flow_a(mctx_t m, int sock, int side, event_t ev, filter_arg_t *arg)
{
	(void)sock;
	(void)side;
	(void)ev;
	(void)arg;
	timer_fired(m, TM_FLOW_A);
}

/* -- L1: flows A, B, C --------------------------------------------------- */

#define A_L1	"l1"

static void
cb_a_only(mctx_t m, int sock, int side, event_t ev, filter_arg_t *arg)
{
	int f = flow_of(m, sock);

	(void)side;
	(void)ev;
	(void)arg;
	if (f >= 0)
		S.a_only[f]++;
}

static void
cb_late(mctx_t m, int sock, int side, event_t ev, filter_arg_t *arg)
{
	int f = flow_of(m, sock);

	(void)ev;
	(void)arg;
	TTRUE(&R, A_L1, side == MOS_SIDE_SVR, "late CONN_START side %d", side);
	if (f >= 0)
		S.late[f]++;
}

static void
cb_l1_start(mctx_t m, int sock, int side, event_t ev, filter_arg_t *arg)
{
	struct timeval t1 = { 1, 0 }, t05 = { 0, 500000 };
	int f = flow_of(m, sock);

	(void)side;
	(void)ev;
	(void)arg;
	TTRUE(&R, A_L1, f == FA || f == FB || f == FC, "L1 flow %d", f);
	if (f < 0)
		return;
	S.sock[f] = sock;
	mtcp_set_uctx(m, sock, &S.tag[f]);
	if (f == FA) {
		/* Before the first payload: the last copy of overlapping
		 * bytes wins in the client's stream. */
		TRET(&R, A_L1, mtcp_setsockopt(m, sock, SOL_MONSOCKET,
					       MOS_CLIOVERLAP,
					       &(int){ MOS_OVERLAP_POLICY_LAST },
					       sizeof(int)), 0);
		S.armed_ts[TM_FLOW_A] = mtcp_cb_get_ts(m);
		S.armed_ts[TM_LISTENER] = mtcp_cb_get_ts(m);
		TRET(&R, A_L1, mtcp_settimer(m, sock, &t1, tm_flow_a), 0);
		TRET(&R, A_L1, mtcp_settimer(m, L1, &t1, tm_listener), 0);
		/* On the active socket: this flow only. On the listener:
		 * flows created from now on. */
		TRET(&R, A_L1, mtcp_register_callback(m, sock, MOS_ON_PKT_IN,
						      MOS_HK_SND, cb_a_only),
		     0);
		TRET(&R, A_L1, mtcp_register_callback(m, L1, MOS_ON_CONN_START,
						      MOS_HK_RCV, cb_late), 0);
	} else if (f == FC) {
		S.armed_ts[TM_FLOW_C] = mtcp_cb_get_ts(m);
		TRET(&R, A_L1, mtcp_settimer(m, sock, &t05, tm_flow_c), 0);
		TRET(&R, A_L1, mtcp_settimer(m, L1, &(struct timeval){
			LONG_MAX, 999999 }, tm_never), 0);
	}
}

static void
cb_l1_end(mctx_t m, int sock, int side, event_t ev, filter_arg_t *arg)
{
	int f = flow_of(m, sock);

	(void)side;
	(void)ev;
	(void)arg;
	TTRUE(&R, A_L1, f == FA || f == FB || f == FC, "L1 end flow %d", f);
	if (f < 0)
		return;
	if (S.ends[f]++ == 0)
		TRET(&R, A_L1, mtcp_ppeek(m, sock, MOS_SIDE_CLI, S.cli_buf[f],
					  10, 0), f == FC ? -1 : 10);
	if (mtcp_get_uctx(m, sock) == &S.tag[f])
		S.uctx_ok[f]++;
}

/* -- L3: flows E (stop both sides) and G (stop the client side) ---------- */

#define A_L3	"l3"

static void
cb_l3_pkt_snd(mctx_t m, int sock, int side, event_t ev, filter_arg_t *arg)
{
	(void)side;
	(void)ev;
	(void)arg;
	if (flow_of(m, sock) == FE)
		S.pkt_snd_e++;
}

static void
cb_l3_pkt_rcv(mctx_t m, int sock, int side, event_t ev, filter_arg_t *arg)
{
	int f = flow_of(m, sock), n = payload_len(m, sock, side);

	(void)ev;
	(void)arg;
	if (f == FE) {
		S.pkt_rcv_e++;
		if (n > 0) {
			TRET(&R, A_L3, mtcp_setsockopt(m, sock, SOL_MONSOCKET,
						       MOS_STOP_MON,
						       &(int){ MOS_SIDE_BOTH },
						       sizeof(int)), 0);
		}
	} else if (f == FG) {
		if (S.g_stopped) {
			if (side == MOS_SIDE_CLI)
				S.g_cli_after++;
			else
				S.g_svr_after++;
		} else if (n > 0) {
			TRET(&R, A_L3, mtcp_setsockopt(m, sock, SOL_MONSOCKET,
						       MOS_STOP_MON,
						       &(int){ MOS_SIDE_CLI },
						       sizeof(int)), 0);
			S.g_stopped = 1;
		}
	}
}

static void
cb_l3_end(mctx_t m, int sock, int side, event_t ev, filter_arg_t *arg)
{
	int f = flow_of(m, sock);

	(void)ev;
	(void)arg;
	TTRUE(&R, A_L3, f == FG && side == MOS_SIDE_SVR,
	      "L3 CONN_END: flow %d side %d (only G's server side is "
	      "still monitored)", f, side);
	if (f >= 0)
		S.ends[f]++;
}

static void
cb_orphan(mctx_t m, int sock, int side, event_t ev, filter_arg_t *arg)
{
	struct pkt_info p;

	(void)side;
	(void)ev;
	(void)arg;
	if (mtcp_getlastpkt(m, sock, MOS_SIDE_BOTH, &p) != 0 ||
	    p.tcph == NULL) {
		S.orphans_other++;
		return;
	}
	if (ntohs(p.tcph->source) == 82 || ntohs(p.tcph->dest) == 82)
		S.orphans_e++;
	else if (ntohs(p.tcph->source) == 89 || ntohs(p.tcph->dest) == 89)
		S.orphans_m2++;
	else
		S.orphans_other++;
}

/* -- L4, L5: flow F; L4 closes its socket at the first payload ----------- */

#define A_CLOSE	"close"

static void
cb_l4_pkt(mctx_t m, int sock, int side, event_t ev, filter_arg_t *arg)
{
	socklen_t len = sizeof(int);
	int v;

	(void)ev;
	(void)arg;
	S.l4_pkts++;
	if (payload_len(m, sock, side) > 0) {
		S.sock[FF] = sock;
		TRET(&R, A_CLOSE, mtcp_close(m, sock), 0);
		TFAIL(&R, A_CLOSE, mtcp_getsockopt(m, sock, SOL_MONSOCKET,
						   MOS_TCP_STATE_CLI, &v,
						   &len), -1, EBADF);
		TFAIL(&R, A_CLOSE, mtcp_close(m, sock), -1, EBADF);
	}
}

static void
cb_l4_end(mctx_t m, int sock, int side, event_t ev, filter_arg_t *arg)
{
	(void)m;
	(void)sock;
	(void)side;
	(void)ev;
	(void)arg;
	S.l4_ends++;
}

static void
cb_l5_pkt(mctx_t m, int sock, int side, event_t ev, filter_arg_t *arg)
{
	(void)m;
	(void)sock;
	(void)side;
	(void)ev;
	(void)arg;
	S.l5_pkts++;
}

static void
cb_l5_newdata(mctx_t m, int sock, int side, event_t ev, filter_arg_t *arg)
{
	char *dst = side == MOS_SIDE_SVR ? S.l5_svr : S.l5_cli;
	size_t have = strlen(dst);
	ssize_t n;

	(void)ev;
	(void)arg;
	n = mtcp_peek(m, sock, side, dst + have, sizeof(S.l5_svr) - 1 - have);
	TTRUE(&R, A_CLOSE, n > 0, "L5 peek: %zd errno %d", n, errno);
	if (n > 0)
		dst[have + (size_t)n] = '\0';
}

static void
cb_l5_end(mctx_t m, int sock, int side, event_t ev, filter_arg_t *arg)
{
	(void)m;
	(void)sock;
	(void)side;
	(void)ev;
	(void)arg;
	S.l5_ends++;
}

/* L11 is closed by a callback of its first flow, M: M keeps the callbacks
 * it inherited, a later flow M2 to the same port has no listener. */
static void
cb_l11_pkt(mctx_t m, int sock, int side, event_t ev, filter_arg_t *arg)
{
	int f = flow_of(m, sock);

	(void)ev;
	(void)arg;
	if (f < 0)
		return;
	S.l11_pkts[f]++;
	if (f == FM && payload_len(m, sock, side) > 0 && L11 >= 0) {
		TRET(&R, A_CLOSE, mtcp_close(m, L11), 0);
		TFAIL(&R, A_CLOSE, mtcp_close(m, L11), -1, EBADF);
		L11 = -1;
	}
}

static void
cb_l11_end(mctx_t m, int sock, int side, event_t ev, filter_arg_t *arg)
{
	int f = flow_of(m, sock);

	(void)side;
	(void)ev;
	(void)arg;
	if (f >= 0)
		S.l11_ends[f]++;
}

/* -- L12: flow T times out ---------------------------------------------- */

#define A_IDLE	"idle"

static void
cb_t_pkt(mctx_t m, int sock, int side, event_t ev, filter_arg_t *arg)
{
	(void)sock;
	(void)side;
	(void)ev;
	(void)arg;
	S.t_last_pkt = mtcp_cb_get_ts(m);
}

static void
cb_t_timeout(mctx_t m, int sock, int side, event_t ev, filter_arg_t *arg)
{
	struct pkt_info p;

	(void)side;
	TTRUE(&R, A_IDLE, ev == MOS_ON_TIMEOUT && arg != NULL &&
	      flow_of(m, sock) == FT, "timeout: event %llu flow %d",
	      (unsigned long long)ev, flow_of(m, sock));
	TFAIL(&R, A_IDLE, mtcp_getlastpkt(m, sock, MOS_SIDE_CLI, &p), -1,
	      ENODATA);
	S.t_timeouts++;
	S.t_timeout_ts = mtcp_cb_get_ts(m);
}

static void
cb_t_end(mctx_t m, int sock, int side, event_t ev, filter_arg_t *arg)
{
	(void)m;
	(void)sock;
	(void)side;
	(void)ev;
	(void)arg;
	if (S.t_timeouts == 0)
		S.t_end_before_timeout++;
	S.t_ends++;
}

/* L7 is closed before the run: none of these may run. */
static void
cb_l7(mctx_t m, int sock, int side, event_t ev, filter_arg_t *arg)
{
	(void)m;
	(void)sock;
	(void)side;
	(void)ev;
	(void)arg;
	S.l7_calls++;
}

static void
cb_raw(mctx_t m, int sock, int side, event_t ev, filter_arg_t *arg)
{
	(void)m;
	(void)sock;
	(void)side;
	(void)ev;
	(void)arg;
	S.raw_pkts++;
}

/* -- L8, L9: small server buffers ---------------------------------------- */

#define A_OVR	"overrun"

/* Read everything mtcp_peek() gives, counting what was overwritten. */
static void
ovr_read(mctx_t m, int sock, int side, int which)
{
	char buf[512];
	ssize_t n;
	int rounds;

	TTRUE(&R, A_OVR, side == MOS_SIDE_SVR, "side %d", side);
	for (rounds = 0; rounds < 8; rounds++) {
		errno = 0;
		n = mtcp_peek(m, sock, side, buf, sizeof(buf));
		if (n == 0)
			break;
		if (n < 0) {
			TTRUE(&R, A_OVR, errno == ENODATA,
			      "peek: %zd errno %d", n, errno);
			if (errno != ENODATA)
				break;
			S.ovr_missed[which] += -n;
			/* What was overwritten is gone for ppeek too */
			TFAIL(&R, A_OVR, mtcp_ppeek(m, sock, side, buf, 1, 0),
			      -1, ENODATA);
			continue;
		}
		if (S.ovr_len[which] + (size_t)n <= OVR_LEN) {
			memcpy(S.ovr_got[which] + S.ovr_len[which], buf,
			       (size_t)n);
			S.ovr_len[which] += (size_t)n;
		}
	}
	S.ovr_reads[which]++;
}

static void
cb_ovr_data(mctx_t m, int sock, int side, event_t ev, filter_arg_t *arg)
{
	(void)ev;
	(void)arg;
	ovr_read(m, sock, side, flow_of(m, sock) == FH2);
}

static void
cb_ovr_error(mctx_t m, int sock, int side, event_t ev, filter_arg_t *arg)
{
	int which = flow_of(m, sock) == FH2;

	(void)ev;
	(void)arg;
	S.ovr_errors[which]++;
	ovr_read(m, sock, side, which);
}

/* -- L10: flow K sends its bytes 0-9, 20-25, then 10-19 ------------------ */

#define A_GAP	"gaps"
#define GAP_1	"0123456789"
#define GAP_2	"ABCDEFGHIJ"
#define GAP_3	"UVWXYZ"

static void
cb_gap_pkt(mctx_t m, int sock, int side, event_t ev, filter_arg_t *arg)
{
	struct tcp_ring_fragment fr[4];
	struct tcp_buf_info bi;
	struct pkt_info p;
	socklen_t len;
	char buf[64];
	uint32_t init = 90 + 1;	/* client ISN + 1 */

	(void)ev;
	(void)arg;
	if (mtcp_getlastpkt(m, sock, side, &p) != 0 || p.payloadlen == 0)
		return;
	S.gap_pkts++;
	TTRUE(&R, A_GAP, side == MOS_SIDE_SVR, "side %d", side);
	len = sizeof(fr);
	TRET(&R, A_GAP, mtcp_getsockopt(m, sock, SOL_MONSOCKET,
					MOS_FRAGINFO_SVRBUF, fr, &len), 0);
	len = sizeof(bi);
	TRET(&R, A_GAP, mtcp_getsockopt(m, sock, SOL_MONSOCKET,
					MOS_INFO_SVRBUF, &bi, &len), 0);
	TTRUE(&R, A_GAP, bi.tcpbi_init_seq == init, "init_seq %u",
	      bi.tcpbi_init_seq);
	switch (S.gap_pkts) {
	case 1:		/* bytes 0-9 */
		TTRUE(&R, A_GAP, p.offset == 0, "offset %llu",
		      (unsigned long long)p.offset);
		break;
	case 2:		/* bytes 20-25: a gap at 10-19 */
		TTRUE(&R, A_GAP, p.offset == 20, "offset %llu",
		      (unsigned long long)p.offset);
		len = sizeof(fr);
		TRET(&R, A_GAP, mtcp_getsockopt(m, sock, SOL_MONSOCKET,
						MOS_FRAGINFO_SVRBUF, fr, &len),
		     0);
		TTRUE(&R, A_GAP, len == 2 * sizeof(fr[0]) &&
		      fr[0].offset == 0 && fr[0].len == 10 &&
		      fr[1].offset == 20 && fr[1].len == 6,
		      "fragments: len %u, %llu+%u %llu+%u", len,
		      (unsigned long long)fr[0].offset, fr[0].len,
		      (unsigned long long)fr[1].offset, fr[1].len);
		TTRUE(&R, A_GAP, bi.tcpbi_next_byte_expected == init + 10 &&
		      bi.tcpbi_last_byte_received == init + 26 &&
		      bi.tcpbi_last_byte_read == init,
		      "buf info: read %u next %u received %u",
		      bi.tcpbi_last_byte_read, bi.tcpbi_next_byte_expected,
		      bi.tcpbi_last_byte_received);
		/* ppeek stops at the gap; inside it there is nothing */
		TRET(&R, A_GAP, mtcp_ppeek(m, sock, MOS_SIDE_SVR, buf,
					   sizeof(buf), 0), 10);
		TTRUE(&R, A_GAP, memcmp(buf, GAP_1, 10) == 0, "bytes 0-9");
		TFAIL(&R, A_GAP, mtcp_ppeek(m, sock, MOS_SIDE_SVR, buf,
					    sizeof(buf), 12), -1, ENODATA);
		TFAIL(&R, A_GAP, mtcp_ppeek(m, sock, MOS_SIDE_SVR, buf,
					    sizeof(buf), 26), -1, ENODATA);
		TRET(&R, A_GAP, mtcp_ppeek(m, sock, MOS_SIDE_SVR, buf,
					   sizeof(buf), 20), 6);
		TTRUE(&R, A_GAP, memcmp(buf, GAP_3, 6) == 0, "bytes 20-25");
		TRET(&R, A_GAP, mtcp_ppeek(m, sock, MOS_SIDE_SVR, buf, 2, 22),
		     2);
		TTRUE(&R, A_GAP, memcmp(buf, "WX", 2) == 0, "bytes 22-23");
		/* peek reads in order only, up to the gap */
		TRET(&R, A_GAP, mtcp_peek(m, sock, MOS_SIDE_SVR, buf,
					  sizeof(buf)), 10);
		TRET(&R, A_GAP, mtcp_peek(m, sock, MOS_SIDE_SVR, buf,
					  sizeof(buf)), 0);
		break;
	case 3:		/* bytes 10-19 fill the gap */
		TTRUE(&R, A_GAP, p.offset == 10, "offset %llu",
		      (unsigned long long)p.offset);
		TTRUE(&R, A_GAP, len == sizeof(bi) &&
		      bi.tcpbi_next_byte_expected == init + 26 &&
		      bi.tcpbi_last_byte_received == init + 26 &&
		      bi.tcpbi_last_byte_read == init + 10,
		      "buf info after the fill: read %u next %u "
		      "received %u", bi.tcpbi_last_byte_read,
		      bi.tcpbi_next_byte_expected,
		      bi.tcpbi_last_byte_received);
		len = sizeof(fr);
		TRET(&R, A_GAP, mtcp_getsockopt(m, sock, SOL_MONSOCKET,
						MOS_FRAGINFO_SVRBUF, fr, &len),
		     0);
		TTRUE(&R, A_GAP, len == sizeof(fr[0]) && fr[0].offset == 0 &&
		      fr[0].len == 26, "one fragment: len %u, %llu+%u", len,
		      (unsigned long long)fr[0].offset, fr[0].len);
		TRET(&R, A_GAP, mtcp_ppeek(m, sock, MOS_SIDE_SVR, buf,
					   sizeof(buf), 0), 26);
		TTRUE(&R, A_GAP, memcmp(buf, GAP_1 GAP_2 GAP_3, 26) == 0,
		      "bytes 0-25");
		TRET(&R, A_GAP, mtcp_peek(m, sock, MOS_SIDE_SVR, buf,
					  sizeof(buf)), 16);
		TTRUE(&R, A_GAP, memcmp(buf, GAP_2 GAP_3, 16) == 0,
		      "peek after the fill: bytes 10-25");
		break;
	}
}

/* -- Capture ------------------------------------------------------------- */

/* Server data, then a retransmission of it with other bytes. */
static void
overlap_flow(struct tcap *cap, const char *cli, uint16_t cport)
{
	struct tconn k;

	tconn_init(&k, cap, cli, cport, "10.0.1.100", 80, 100, 900);
	tconn_handshake(&k);
	tconn_data(&k, TC2S, "request");
	tconn_data(&k, TS2C, FIRST_COPY);
	tconn_seg_at(&k, TS2C, 0, LAST_COPY, 10);
	tconn_seg(&k, TC2S, TH_ACK_, NULL, 0);
	tconn_close(&k);
}

static void
write_capture(void)
{
	struct tcap cap;
	struct tconn c, e, f, g;
	int i;

	snprintf(cap_path, sizeof(cap_path), "/tmp/mb_api_flow_%d.pcap",
		 (int)getpid());
	assert_int_equal(tcap_open(&cap, cap_path), 0);
	/* H and H2 first: their data is in the first receive burst. */
	for (i = 0; i < OVR_LEN; i++)
		ovr_stream[i] = (char)('A' + i % 26);
	for (i = 0; i < 2; i++) {
		struct tconn h;
		int j;

		tconn_init(&h, &cap, "10.0.1.8", cports[FH + i], "10.0.1.100",
			   (uint16_t)(86 + i), 70, 80);
		tconn_handshake(&h);
		for (j = 0; j < 3; j++)
			tconn_seg(&h, TC2S, TH_ACK_ | TH_PSH_,
				  ovr_stream + j * OVR_SEG, OVR_SEG);
		tconn_close(&h);
	}
	{
		struct tconn k;

		tconn_init(&k, &cap, "10.0.1.9", cports[FK], "10.0.1.100",
			   88, 90, 95);
		tconn_handshake(&k);
		tconn_seg_at(&k, TC2S, 0, GAP_1, 10);
		tconn_seg_at(&k, TC2S, 20, GAP_3, 6);
		tconn_seg_at(&k, TC2S, 10, GAP_2, 10);
		k.nxt[TC2S] += 26;
		tconn_close(&k);
	}
	overlap_flow(&cap, "10.0.1.1", cports[FA]);
	/* C starts right after A ended: it gets A's freed socket id, so A's
	 * timer finds that id alive when it comes due (and must still not
	 * fire). */
	tconn_init(&c, &cap, "10.0.1.3", cports[FC], "10.0.1.100", 80, 50,
		   60);
	tconn_handshake(&c);
	tconn_data(&c, TC2S, "c1");
	overlap_flow(&cap, "10.0.1.2", cports[FB]);
	{
		struct tconn t;

		tconn_init(&t, &cap, "10.0.1.12", cports[FT], "10.0.1.100",
			   90, 130, 140);
		tconn_handshake(&t);
	}
	for (i = 0; i < 2; i++) {
		struct tconn k;

		tconn_init(&k, &cap, "10.0.1.11", cports[FM + i],
			   "10.0.1.100", 89, 110, 120);
		tconn_handshake(&k);
		tconn_data(&k, TC2S, "m1");
		tconn_seg(&k, TS2C, TH_ACK_, NULL, 0);
		tconn_data(&k, TS2C, "m2");
		tconn_close(&k);
	}

	tconn_init(&e, &cap, "10.0.1.5", cports[FE], "10.0.1.100", 82, 1,
		   2);
	tconn_handshake(&e);
	tconn_data(&e, TC2S, "stop!");
	/* From here on E's packets have no flow: 5 orphans */
	tconn_seg(&e, TS2C, TH_ACK_, NULL, 0);
	tconn_data(&e, TC2S, "more");
	tconn_close(&e);

	tconn_init(&g, &cap, "10.0.1.7", cports[FG], "10.0.1.100", 85, 10,
		   20);
	tconn_handshake(&g);
	tconn_data(&g, TC2S, "g1");
	tconn_data(&g, TS2C, "g2");
	tconn_data(&g, TC2S, "g3");
	tconn_close(&g);

	tconn_init(&f, &cap, "10.0.1.6", cports[FF], "10.0.1.100", 83, 30,
		   40);
	tconn_handshake(&f);
	tconn_data(&f, TC2S, "f1");
	tconn_seg(&f, TS2C, TH_ACK_, NULL, 0);
	tconn_data(&f, TS2C, "f2");
	tconn_data(&f, TC2S, "f3");
	tconn_close(&f);

	/* Two seconds in, then more than a receive burst of filler, then
	 * three seconds: the first timers fire between the two. */
	cap.ms = 2000;
	tconn_data(&c, TC2S, "c2");
	for (i = 0; i < 40; i++)
		tcap_udp(&cap);
	cap.ms = 3000;
	tconn_data(&c, TC2S, "c3");
	cap_frames = cap.frames;
	assert_int_equal(tcap_close(&cap), 0);
}

/* -- Tests --------------------------------------------------------------- */

#define A_SETUP	"setup"

static void
test_setup(void **state)
{
	struct timeval tv = { 0, 100000 };
	union monitor_filter ft = { .stream_syn_filter = NULL };
	int s;

	(void)state;
	write_capture();
	tapi_opts("flow", cap_path, "--max-flows 1024");
	assert_int_equal(mtcp_init(NULL), 0);
	{
		struct mtcp_conf conf;

		assert_int_equal(mtcp_getconf(&conf), 0);
		conf.tcp_timeout = IDLE_MS;
		assert_int_equal(mtcp_setconf(&conf), 0);
		assert_int_equal(mtcp_getconf(&conf), 0);
		assert_int_equal(conf.tcp_timeout, IDLE_MS);
	}
	mctx = mtcp_create_context(0);
	assert_non_null(mctx);
	L1 = mtcp_socket(mctx, AF_INET, MOS_SOCK_MONITOR_STREAM, 0);
	L3 = mtcp_socket(mctx, AF_INET, MOS_SOCK_MONITOR_STREAM, 0);
	L4 = mtcp_socket(mctx, AF_INET, MOS_SOCK_MONITOR_STREAM, 0);
	L5 = mtcp_socket(mctx, AF_INET, MOS_SOCK_MONITOR_STREAM, 0);
	L7 = mtcp_socket(mctx, AF_INET, MOS_SOCK_MONITOR_STREAM, 0);
	L8 = mtcp_socket(mctx, AF_INET, MOS_SOCK_MONITOR_STREAM, 0);
	L9 = mtcp_socket(mctx, AF_INET, MOS_SOCK_MONITOR_STREAM, 0);
	L10 = mtcp_socket(mctx, AF_INET, MOS_SOCK_MONITOR_STREAM, 0);
	L11 = mtcp_socket(mctx, AF_INET, MOS_SOCK_MONITOR_STREAM, 0);
	L12 = mtcp_socket(mctx, AF_INET, MOS_SOCK_MONITOR_STREAM, 0);
	RAW = mtcp_socket(mctx, AF_INET, MOS_SOCK_MONITOR_RAW, 0);
	assert_true(L1 >= 0 && L3 >= 0 && L4 >= 0 && L5 >= 0 && L7 >= 0 &&
		    L8 >= 0 && L9 >= 0 && L10 >= 0 && L11 >= 0 && L12 >= 0 &&
		    RAW >= 0);
	ft.stream_syn_filter = (char *)"tcp dst port 90";
	TRET(&R, A_SETUP, mtcp_bind_monitor_filter(mctx, L12, &ft), 0);
	ft.stream_syn_filter = (char *)"tcp dst port 89";
	TRET(&R, A_SETUP, mtcp_bind_monitor_filter(mctx, L11, &ft), 0);
	ft.stream_syn_filter = (char *)"tcp dst port 88";
	TRET(&R, A_SETUP, mtcp_bind_monitor_filter(mctx, L10, &ft), 0);
	ft.stream_syn_filter = (char *)"tcp dst port 86";
	TRET(&R, A_SETUP, mtcp_bind_monitor_filter(mctx, L8, &ft), 0);
	ft.stream_syn_filter = (char *)"tcp dst port 87";
	TRET(&R, A_SETUP, mtcp_bind_monitor_filter(mctx, L9, &ft), 0);
	TRET(&R, A_SETUP, mtcp_setsockopt(mctx, L8, SOL_MONSOCKET, MOS_SVRBUF,
					  &(int){ OVR_WINDOW }, sizeof(int)),
	     0);
	TRET(&R, A_SETUP, mtcp_setsockopt(mctx, L9, SOL_MONSOCKET, MOS_SVRBUF,
					  &(int){ OVR_WINDOW }, sizeof(int)),
	     0);
	ft.stream_syn_filter = (char *)"tcp dst port 80";
	TRET(&R, A_SETUP, mtcp_bind_monitor_filter(mctx, L1, &ft), 0);
	ft.stream_syn_filter = (char *)"tcp dst port 82 or tcp dst port 85";
	TRET(&R, A_SETUP, mtcp_bind_monitor_filter(mctx, L3, &ft), 0);
	ft.raw_pkt_filter = (char *)"tcp";
	TRET(&R, A_SETUP, mtcp_bind_monitor_filter(mctx, RAW, &ft), 0);
	ft.stream_orphan_filter = NULL;
	ft.stream_syn_filter = (char *)"tcp dst port 83";
	TRET(&R, A_SETUP, mtcp_bind_monitor_filter(mctx, L4, &ft), 0);
	TRET(&R, A_SETUP, mtcp_bind_monitor_filter(mctx, L5, &ft), 0);
	ev_alloc = mtcp_alloc_event(MOS_ON_PKT_IN);
	TTRUE(&R, A_SETUP, ev_alloc != MOS_NULL_EVENT, "alloc_event");

#define REG(s, e, h, cb) \
	TRET(&R, A_SETUP, mtcp_register_callback(mctx, s, e, h, cb), 0)
	REG(L1, MOS_ON_CONN_START, MOS_HK_SND, cb_l1_start);
	REG(L1, MOS_ON_CONN_END, MOS_HK_SND, cb_l1_end);
	REG(L1, MOS_ON_ORPHAN, MOS_NULL, cb_orphan);
	REG(L3, MOS_ON_PKT_IN, MOS_HK_SND, cb_l3_pkt_snd);
	REG(L3, MOS_ON_PKT_IN, MOS_HK_RCV, cb_l3_pkt_rcv);
	REG(L3, MOS_ON_CONN_END, MOS_HK_SND, cb_l3_end);
	REG(L4, MOS_ON_PKT_IN, MOS_HK_RCV, cb_l4_pkt);
	REG(L4, MOS_ON_CONN_END, MOS_HK_SND, cb_l4_end);
	REG(L5, MOS_ON_PKT_IN, MOS_HK_RCV, cb_l5_pkt);
	REG(L5, MOS_ON_CONN_NEW_DATA, MOS_NULL, cb_l5_newdata);
	REG(L5, MOS_ON_CONN_END, MOS_HK_SND, cb_l5_end);
	REG(L7, MOS_ON_PKT_IN, MOS_HK_RCV, cb_l7);
	REG(L7, MOS_ON_CONN_START, MOS_HK_SND, cb_l7);
	REG(L7, MOS_ON_ORPHAN, MOS_NULL, cb_l7);
	REG(RAW, MOS_ON_PKT_IN, MOS_NULL, cb_raw);
	REG(L8, MOS_ON_CONN_NEW_DATA, MOS_NULL, cb_ovr_data);
	REG(L9, MOS_ON_CONN_NEW_DATA, MOS_NULL, cb_ovr_data);
	REG(L9, MOS_ON_ERROR, MOS_NULL, cb_ovr_error);
	REG(L10, MOS_ON_PKT_IN, MOS_HK_RCV, cb_gap_pkt);
	REG(L11, MOS_ON_PKT_IN, MOS_HK_RCV, cb_l11_pkt);
	REG(L11, MOS_ON_CONN_END, MOS_HK_SND, cb_l11_end);
	REG(L12, MOS_ON_PKT_IN, MOS_HK_RCV, cb_t_pkt);
	REG(L12, MOS_ON_TIMEOUT, MOS_NULL, cb_t_timeout);
	REG(L12, MOS_ON_CONN_END, MOS_HK_SND, cb_t_end);
#undef REG
	/* A closed listener receives nothing, and its id is gone. */
	TRET(&R, A_SETUP, mtcp_close(mctx, L7), 0);
	TFAIL(&R, A_SETUP, mtcp_register_callback(mctx, L7, MOS_ON_PKT_IN,
						  MOS_HK_SND, cb_l7), -1, EBADF);
	/* A new listener (which may get L7's id back) has none of L7's
	 * callbacks. */
	s = mtcp_socket(mctx, AF_INET, MOS_SOCK_MONITOR_STREAM, 0);
	TTRUE(&R, A_SETUP, s >= 0, "new socket %d", s);
	TFAIL(&R, A_SETUP, mtcp_register_callback(mctx, s, MOS_ON_PKT_IN,
						  MOS_HK_RCV, NULL), -1, ENOENT);
	ft.stream_syn_filter = (char *)"tcp dst port 9";
	TRET(&R, A_SETUP, mtcp_bind_monitor_filter(mctx, s, &ft), 0);
	/* A timer from main before the core runs counts from the first
	 * packet. */
	TRET(&R, A_SETUP, mtcp_settimer(mctx, TIMER_MAIN_ID, &tv, tm_main), 0);
	assert_area(A_SETUP, 27 + 4 + 3 + 2 + 3 + 4);
}

static void
test_run(void **state)
{
	(void)state;
	mtcp_app_join(mctx);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	assert_int_equal(S.raw_pkts, cap_frames - 40);
	assert_int_equal(S.l7_calls, 0);
}

static void
test_timers(void **state)
{
	const uint32_t t0 = TCAP_START_SEC * 1000000u;

	(void)state;
	assert_area(A_TIMER, 4 * 4 + 1 + 5 + 4);
	assert_int_equal(S.fired[TM_MAIN], 1);
	assert_int_equal(S.fired[TM_FLOW_C], 1);
	assert_int_equal(S.fired[TM_LISTENER], 1);
	assert_int_equal(S.fired[TM_LISTENER2], 1);
	/* The flow's timer died with the flow, even if its socket id was
	 * given to a later flow (C, here). */
	if (S.sock[FC] != S.sock[FA])
		print_message("note: C did not reuse A's socket id (%d, %d)\n",
			      S.sock[FC], S.sock[FA]);
	assert_int_equal(S.fired[TM_FLOW_A], 0);
	/* Each fired no earlier than armed + delay, in deadline order */
	assert_true(S.fired_ts[TM_MAIN] >= t0 + 100000);
	assert_true(S.fired_ts[TM_FLOW_C] >= S.armed_ts[TM_FLOW_C] + 500000);
	assert_true(S.fired_ts[TM_LISTENER] >=
		    S.armed_ts[TM_LISTENER] + 1000000);
	assert_true(S.fired_ts[TM_LISTENER2] >=
		    S.armed_ts[TM_LISTENER2] + 200000);
	/* With the packet clock a timer runs before the first packet past
	 * its deadline, and sees the clock at its deadline: the ones armed
	 * inside callbacks fire exactly armed + delay. */
	assert_int_equal(S.fired_ts[TM_LISTENER],
			 S.armed_ts[TM_LISTENER] + 1000000);
	assert_int_equal(S.fired_ts[TM_LISTENER2],
			 S.armed_ts[TM_LISTENER2] + 200000);
	assert_int_equal(S.norder, 4);
	assert_int_equal(S.order[0], TM_MAIN);
	assert_int_equal(S.order[1], TM_FLOW_C);
	assert_int_equal(S.order[2], TM_LISTENER);
	assert_int_equal(S.order[3], TM_LISTENER2);
}

static void
test_uctx_overlap(void **state)
{
	(void)state;
	assert_area(A_L1, 3 + 6 + 6 + 3 + 3);
	/* A's own registration: A's packets only (its SYN's PKT_IN at
	 * MOS_HK_SND may come before the registration) */
	assert_true(S.a_only[FA] == 9 || S.a_only[FA] == 10);
	assert_int_equal(S.a_only[FB] + S.a_only[FC], 0);
	/* The listener's new registration: flows after A only */
	assert_int_equal(S.late[FA], 0);
	assert_int_equal(S.late[FB], 1);
	assert_int_equal(S.late[FC], 1);
	/* CONN_END at MOS_HK_SND: once per side; C ends with the input */
	assert_int_equal(S.ends[FA], 2);
	assert_int_equal(S.ends[FB], 2);
	assert_int_equal(S.ends[FC], 2);
	assert_int_equal(S.uctx_ok[FA], 2);
	assert_int_equal(S.uctx_ok[FB], 2);
	assert_int_equal(S.uctx_ok[FC], 2);
	/* MOS_CLIOVERLAP LAST, set at CONN_START, before any payload */
	assert_memory_equal(S.cli_buf[FA], LAST_COPY, 10);
	/* The default policy keeps the first copy */
	assert_memory_equal(S.cli_buf[FB], FIRST_COPY, 10);
}

static void
test_stop_mon(void **state)
{
	(void)state;
	assert_area(A_L3, 2 + 1);
	/* E: handshake and the data packet, then nothing */
	assert_int_equal(S.pkt_snd_e, 4);
	assert_int_equal(S.pkt_rcv_e, 4);
	assert_int_equal(S.ends[FE], 0);
	/* E's later packets have no flow: orphans */
	assert_int_equal(S.orphans_e, 5);
	assert_int_equal(S.orphans_other, 0);
	/* G: only the server side after the stop: g3, FIN, ACK */
	assert_int_equal(S.g_stopped, 1);
	assert_int_equal(S.g_cli_after, 0);
	assert_int_equal(S.g_svr_after, 3);
	assert_int_equal(S.ends[FG], 1);
}

static void
test_close_active(void **state)
{
	(void)state;
	assert_area(A_CLOSE, 3 + 2 + 2);
	/* L4: handshake and the first data packet, then nothing */
	assert_int_equal(S.l4_pkts, 4);
	assert_int_equal(S.l4_ends, 0);
	/* L5 saw the whole flow, which went on after L4 closed */
	assert_int_equal(S.l5_pkts, 3 + 1 + 1 + 1 + 1 + 3);
	assert_int_equal(S.l5_ends, 2);
	assert_string_equal(S.l5_svr, "f1f3");
	assert_string_equal(S.l5_cli, "f2");
	/* A listener closed by its flow's callback: the flow keeps its
	 * callbacks to the end, the next flow is nobody's (orphans). */
	assert_int_equal(S.l11_pkts[FM], 3 + 1 + 1 + 1 + 3);
	assert_int_equal(S.l11_ends[FM], 2);
	assert_int_equal(S.l11_pkts[FM2] + S.l11_ends[FM2], 0);
	assert_int_equal(S.orphans_m2, 9);
}

static void
test_overrun(void **state)
{
	size_t n = S.ovr_len[0];

	(void)state;
	assert_area(A_OVR, 2);
	/* Without an ERROR callback: what was overwritten is reported as
	 * missed (a negative peek with ENODATA), the rest read in order. */
	assert_int_equal(S.ovr_errors[0], 0);
	assert_true(S.ovr_missed[0] > 0);
	assert_int_equal((size_t)S.ovr_missed[0] + n, OVR_LEN);
	assert_true(n > 0 && n <= OVR_WINDOW);
	assert_memory_equal(S.ovr_got[0], ovr_stream + OVR_LEN - n, n);
	/* With one: the ERROR callback peeks in time, nothing is lost. */
	assert_true(S.ovr_errors[1] >= 1);
	assert_int_equal(S.ovr_missed[1], 0);
	assert_int_equal(S.ovr_len[1], OVR_LEN);
	assert_memory_equal(S.ovr_got[1], ovr_stream, OVR_LEN);
}

static void
test_gaps(void **state)
{
	(void)state;
	assert_int_equal(S.gap_pkts, 3);
	assert_area(A_GAP, 3 * 4 + 1 + 14 + 8);
}

static void
test_idle_timeout(void **state)
{
	const uint32_t t0 = TCAP_START_SEC * 1000000u;

	(void)state;
	assert_area(A_IDLE, 2);
	/* Once, at MOS_NULL, before the flow's end, after IDLE_MS of
	 * silence: at the 3 s packet, not at the 2 s one. */
	assert_int_equal(S.t_timeouts, 1);
	assert_int_equal(S.t_ends, 2);
	assert_int_equal(S.t_end_before_timeout, 0);
	assert_true(S.t_timeout_ts >= S.t_last_pkt + IDLE_MS * 1000u);
	assert_true(S.t_timeout_ts >= t0 + 3000000u);
}

static void
test_teardown(void **state)
{
	(void)state;
	assert_int_equal(mtcp_destroy(), 0);
	tapi_cleanup("flow", cap_path);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_setup),
		cmocka_unit_test(test_run),
		cmocka_unit_test(test_timers),
		cmocka_unit_test(test_uctx_overlap),
		cmocka_unit_test(test_stop_mon),
		cmocka_unit_test(test_close_active),
		cmocka_unit_test(test_overrun),
		cmocka_unit_test(test_gaps),
		cmocka_unit_test(test_idle_timeout),
		cmocka_unit_test(test_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
