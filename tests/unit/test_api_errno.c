/*
 * test_api_errno.c - every public API function and every errno its doc
 * comment lists, checked by a program written like an mOS monitor: it
 * writes a capture, points MOONBOX_OPTS at it, calls mtcp_init(NULL),
 * creates its context and calls each function from the main thread before
 * the core runs (EPERM, EACCES, EBADF, EINVAL, ENOPROTOOPT, EAFNOSUPPORT,
 * ENOENT, EEXIST, EBUSY, EALREADY ...) and from callbacks while the capture
 * is processed (ENODATA, ENOTSOCK, ENOTCONN, bad sides and lengths, peek
 * results). Callbacks record their checks (test_api.h); the tests after
 * mtcp_app_join() assert them, one test per area.
 *
 * Capture (one core): a stray ACK (orphan); flow A 10.0.0.1:40001 ->
 * 10.0.0.2:80 and flow C 10.0.0.4:40003 -> :80, watched by listener L1
 * (buffers on); flow D 10.0.0.6:40006 -> :81, watched by listener L2 with
 * both buffers off; a raw socket sees every frame.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <cpu.h>
#include <mos_api.h>
#include <mtcp_util.h>

#include "test_api.h"

#define REQ_A	"GET / HTTP/1.0\r\n\r\n"
#define RSP_A	"HTTP/1.0 200 OK\r\n\r\nhello"
#define DATA_C1	"first bytes of C"
#define DATA_C2	"late bytes"
#define DATA_D	"nobuf!"

#define ISN_A_C	1000u
#define ISN_A_S	5000u
#define ISN_C_C	0xfffffff0u	/* wraps inside the stream */
#define ISN_C_S	7000u

static struct trec R;		/* every check; one core writes it */
static char cap_path[256], conf_path[256], bad_conf_path[256];
static unsigned cap_frames;
static mctx_t mctx;
static int L1 = -1, L2 = -1, RAW = -1;
static event_t ude_syn, ude_alloc;

/* What the callbacks saw (core thread only until the join). */
static struct {
	uint32_t last_ts;
	int ts_backwards;
	unsigned raw_pkts;
	unsigned orphans;
	unsigned starts_snd;
	unsigned starts_rcv;
	unsigned pktin_rcv;
	unsigned newdata;
	unsigned ends;
	unsigned l2_pkts;
	unsigned l2_newdata;
	unsigned ude_syn_fired;
	unsigned ude_alloc_fired;
	unsigned raised;
	int sock_a, sock_c;	/* active sockets of flows A and C */
	char got[2][2][128];	/* [flow A/C][side] bytes read with peek */
	size_t got_len[2][2];
	int uctx_ok;
} S = { .sock_a = -1, .sock_c = -1 };

static int uctx_tag;

/* -- Helpers ------------------------------------------------------------- */

/* Assert the checks of `area`: at least `min` ran, none failed. */
static void
assert_area(const char *area, unsigned min)
{
	trec_assert(&R, area, min);
}

static int
flow_index(mctx_t m, int sock)
{
	struct sockaddr_in a[2];
	socklen_t len = sizeof(a);

	if (mtcp_getpeername(m, sock, (struct sockaddr *)a, &len,
			     MOS_SIDE_BOTH) != 0)
		return -1;
	switch (ntohs(a[MOS_SIDE_CLI].sin_port)) {
	case 40001:
		return 0;
	case 40003:
		return 1;
	}
	return -1;
}

/* The core clock never goes back. */
static void
note_ts(mctx_t m)
{
	uint32_t ts = mtcp_cb_get_ts(m);

	if (ts < S.last_ts)
		S.ts_backwards++;
	S.last_ts = ts;
}

/* -- Callbacks ----------------------------------------------------------- */

#define A_START	"start"

/* First SYN, client side (MOS_HK_SND): the server half does not exist. */
static void
cb_start_snd(mctx_t m, int sock, int side, event_t ev, filter_arg_t *arg)
{
	struct sockaddr_in a[2], one;
	socklen_t len, olen;
	struct tcp_buf_info bi;
	struct tcp_ring_fragment fr[4];
	struct pkt_info p;
	struct mtcp_context fake = { .cpu = m->cpu };
	char buf[64];
	int v, fi = flow_index(m, sock);
	uint32_t ts;

	note_ts(m);
	S.starts_snd++;
	TTRUE(&R, A_START, side == MOS_SIDE_CLI, "side %d", side);
	TTRUE(&R, A_START, ev == MOS_ON_CONN_START, "event %llu",
	      (unsigned long long)ev);
	TTRUE(&R, A_START, arg != NULL && arg->arg == NULL && arg->len == 0,
	      "built-in event arg not {NULL, 0}");
	TTRUE(&R, A_START, fi >= 0, "unknown flow on L1");
	if (fi == 0)
		S.sock_a = sock;
	else if (fi == 1)
		S.sock_c = sock;

	/* getsockopt */
	len = sizeof(v);
	TRET(&R, A_START, mtcp_getsockopt(m, sock, SOL_MONSOCKET,
					  MOS_TCP_STATE_CLI, &v, &len), 0);
	TTRUE(&R, A_START, v == TCP_SYN_SENT && len == sizeof(int),
	      "client state %d len %u", v, len);
	len = sizeof(v);
	TFAIL(&R, A_START, mtcp_getsockopt(m, sock, SOL_MONSOCKET,
					   MOS_TCP_STATE_SVR, &v, &len),
	      -1, ENOTCONN);
	len = 1;
	TFAIL(&R, A_START, mtcp_getsockopt(m, sock, SOL_MONSOCKET,
					   MOS_TCP_STATE_CLI, &v, &len),
	      -1, EINVAL);
	len = sizeof(v);
	TFAIL(&R, A_START, mtcp_getsockopt(m, sock, SOL_SOCKET,
					   MOS_TCP_STATE_CLI, &v, &len),
	      -1, EINVAL);
	TFAIL(&R, A_START, mtcp_getsockopt(m, sock, SOL_MONSOCKET,
					   MOS_TCP_STATE_CLI, NULL, &len),
	      -1, EINVAL);
	TFAIL(&R, A_START, mtcp_getsockopt(m, sock, SOL_MONSOCKET,
					   MOS_TCP_STATE_CLI, &v, NULL),
	      -1, EINVAL);
	TFAIL(&R, A_START, mtcp_getsockopt(m, sock, SOL_MONSOCKET, 0x55,
					   &v, &len), -1, ENOPROTOOPT);
	TFAIL(&R, A_START, mtcp_getsockopt(m, sock, SOL_MONSOCKET,
					   MOS_CLIBUF, &v, &len),
	      -1, ENOPROTOOPT);
	TFAIL(&R, A_START, mtcp_getsockopt(m, 50000, SOL_MONSOCKET,
					   MOS_TCP_STATE_CLI, &v, &len),
	      -1, EBADF);
	TFAIL(&R, A_START, mtcp_getsockopt(m, -1, SOL_MONSOCKET,
					   MOS_TCP_STATE_CLI, &v, &len),
	      -1, EBADF);
	TFAIL(&R, A_START, mtcp_getsockopt(m, L1, SOL_MONSOCKET,
					   MOS_TCP_STATE_CLI, &v, &len),
	      -1, ENOTSOCK);
	TFAIL(&R, A_START, mtcp_getsockopt(NULL, sock, SOL_MONSOCKET,
					   MOS_TCP_STATE_CLI, &v, &len),
	      -1, EACCES);
	TFAIL(&R, A_START, mtcp_getsockopt(&fake, sock, SOL_MONSOCKET,
					   MOS_TCP_STATE_CLI, &v, &len),
	      -1, EACCES);
	/* Buffers: nothing received yet. */
	len = sizeof(bi) - 1;
	TFAIL(&R, A_START, mtcp_getsockopt(m, sock, SOL_MONSOCKET,
					   MOS_INFO_CLIBUF, &bi, &len),
	      -1, EINVAL);
	len = sizeof(bi);
	TFAIL(&R, A_START, mtcp_getsockopt(m, sock, SOL_MONSOCKET,
					   MOS_INFO_CLIBUF, &bi, &len),
	      -1, ENODATA);
	len = 0;
	TFAIL(&R, A_START, mtcp_getsockopt(m, sock, SOL_MONSOCKET,
					   MOS_FRAGINFO_CLIBUF, fr, &len),
	      -1, EINVAL);
	len = sizeof(fr[0]) + 1;
	TFAIL(&R, A_START, mtcp_getsockopt(m, sock, SOL_MONSOCKET,
					   MOS_FRAGINFO_CLIBUF, fr, &len),
	      -1, EINVAL);
	len = sizeof(fr);
	TRET(&R, A_START, mtcp_getsockopt(m, sock, SOL_MONSOCKET,
					  MOS_FRAGINFO_CLIBUF, fr, &len), 0);
	TTRUE(&R, A_START, len == 0, "fragments before any data: len %u",
	      len);
	len = 2;
	TFAIL(&R, A_START, mtcp_getsockopt(m, sock, SOL_MONSOCKET,
					   MOS_TIMESTAMP, &ts, &len),
	      -1, EINVAL);
	len = sizeof(ts);
	TRET(&R, A_START, mtcp_getsockopt(m, sock, SOL_MONSOCKET,
					  MOS_TIMESTAMP, &ts, &len), 0);
	TTRUE(&R, A_START, ts == mtcp_cb_get_ts(m),
	      "MOS_TIMESTAMP %u, core time %u", ts, mtcp_cb_get_ts(m));

	/* getpeername */
	len = sizeof(a);
	memset(a, 0xff, sizeof(a));
	TRET(&R, A_START, mtcp_getpeername(m, sock, (struct sockaddr *)a,
					   &len, MOS_SIDE_BOTH), 0);
	TTRUE(&R, A_START, len == 2 * sizeof(struct sockaddr),
	      "BOTH: addrlen %u", len);
	TTRUE(&R, A_START, a[0].sin_family == AF_INET &&
	      a[1].sin_family == AF_INET &&
	      a[MOS_SIDE_SVR].sin_addr.s_addr == inet_addr("10.0.0.2") &&
	      (fi != 0 || (a[MOS_SIDE_CLI].sin_addr.s_addr ==
			   inet_addr("10.0.0.1") &&
			   a[MOS_SIDE_SVR].sin_port == htons(80))),
	      "BOTH: wrong addresses");
	olen = sizeof(one);
	TRET(&R, A_START, mtcp_getpeername(m, sock, (struct sockaddr *)&one,
					   &olen, MOS_SIDE_CLI), 0);
	TTRUE(&R, A_START, olen == sizeof(struct sockaddr) &&
	      one.sin_addr.s_addr == a[MOS_SIDE_CLI].sin_addr.s_addr &&
	      one.sin_port == a[MOS_SIDE_CLI].sin_port,
	      "CLI: addrlen %u or address differs from BOTH's", olen);
	olen = sizeof(one);
	TRET(&R, A_START, mtcp_getpeername(m, sock, (struct sockaddr *)&one,
					   &olen, MOS_SIDE_SVR), 0);
	TTRUE(&R, A_START, one.sin_addr.s_addr ==
	      a[MOS_SIDE_SVR].sin_addr.s_addr &&
	      one.sin_port == a[MOS_SIDE_SVR].sin_port,
	      "SVR: address differs from BOTH's");
	len = 2 * sizeof(struct sockaddr) - 1;
	TFAIL(&R, A_START, mtcp_getpeername(m, sock, (struct sockaddr *)a,
					    &len, MOS_SIDE_BOTH), -1, EINVAL);
	olen = sizeof(struct sockaddr) - 1;
	TFAIL(&R, A_START, mtcp_getpeername(m, sock, (struct sockaddr *)&one,
					    &olen, MOS_SIDE_CLI), -1, EINVAL);
	len = sizeof(a);
	TFAIL(&R, A_START, mtcp_getpeername(m, sock, (struct sockaddr *)a,
					    &len, 3), -1, EINVAL);
	TFAIL(&R, A_START, mtcp_getpeername(m, sock, (struct sockaddr *)a,
					    &len, -1), -1, EINVAL);
	TFAIL(&R, A_START, mtcp_getpeername(m, sock, NULL, &len,
					    MOS_SIDE_BOTH), -1, EINVAL);
	TFAIL(&R, A_START, mtcp_getpeername(m, sock, (struct sockaddr *)a,
					    NULL, MOS_SIDE_BOTH), -1, EINVAL);
	TFAIL(&R, A_START, mtcp_getpeername(m, L1, (struct sockaddr *)a,
					    &len, MOS_SIDE_BOTH), -1, ENOTSOCK);
	TFAIL(&R, A_START, mtcp_getpeername(m, 50000, (struct sockaddr *)a,
					    &len, MOS_SIDE_BOTH), -1, EBADF);
	TFAIL(&R, A_START, mtcp_getpeername(NULL, sock, (struct sockaddr *)a,
					    &len, MOS_SIDE_BOTH), -1, EACCES);

	/* Streams: the client side exists (nothing in it), the server side
	 * does not yet. */
	TRET(&R, A_START, mtcp_peek(m, sock, MOS_SIDE_CLI, buf, sizeof(buf)),
	     0);
	TFAIL(&R, A_START, mtcp_peek(m, sock, MOS_SIDE_SVR, buf, sizeof(buf)),
	      -1, ENOTCONN);
	TFAIL(&R, A_START, mtcp_ppeek(m, sock, MOS_SIDE_SVR, buf, sizeof(buf),
				      0), -1, ENOTCONN);
	TFAIL(&R, A_START, mtcp_ppeek(m, sock, MOS_SIDE_CLI, buf, sizeof(buf),
				      0), -1, ENODATA);
	TFAIL(&R, A_START, mtcp_peek(m, sock, MOS_SIDE_BOTH, buf, sizeof(buf)),
	      -1, EINVAL);
	TFAIL(&R, A_START, mtcp_peek(m, sock, -1, buf, sizeof(buf)), -1,
	      EINVAL);
	TFAIL(&R, A_START, mtcp_ppeek(m, sock, MOS_SIDE_BOTH, buf, sizeof(buf),
				      0), -1, EINVAL);
	TFAIL(&R, A_START, mtcp_peek(m, sock, MOS_SIDE_CLI, NULL, 10), -1,
	      EINVAL);
	TFAIL(&R, A_START, mtcp_ppeek(m, sock, MOS_SIDE_CLI, NULL, 10, 0), -1,
	      EINVAL);
	TFAIL(&R, A_START, mtcp_peek(m, L1, MOS_SIDE_CLI, buf, sizeof(buf)),
	      -1, EBADF);
	TFAIL(&R, A_START, mtcp_peek(m, 50000, MOS_SIDE_CLI, buf, sizeof(buf)),
	      -1, EBADF);
	TFAIL(&R, A_START, mtcp_ppeek(m, L1, MOS_SIDE_CLI, buf, sizeof(buf),
				      0), -1, ESOCKTNOSUPPORT);
	TFAIL(&R, A_START, mtcp_ppeek(m, 50000, MOS_SIDE_CLI, buf, sizeof(buf),
				      0), -1, EBADF);
	TFAIL(&R, A_START, mtcp_peek(NULL, sock, MOS_SIDE_CLI, buf,
				     sizeof(buf)), -1, EACCES);
	TFAIL(&R, A_START, mtcp_ppeek(NULL, sock, MOS_SIDE_CLI, buf,
				      sizeof(buf), 0), -1, EACCES);

	/* The SYN itself */
	memset(&p, 0, sizeof(p));
	TRET(&R, A_START, mtcp_getlastpkt(m, sock, MOS_SIDE_CLI, &p), 0);
	TTRUE(&R, A_START, p.tcph != NULL && p.tcph->syn && !p.tcph->ack &&
	      p.payloadlen == 0 && p.iph != NULL && p.ethh != NULL &&
	      p.iph->saddr == a[MOS_SIDE_CLI].sin_addr.s_addr &&
	      p.tcph->source == a[MOS_SIDE_CLI].sin_port &&
	      p.ip_len == 40 && p.eth_len == 54 &&
	      p.seq == (fi == 0 ? ISN_A_C : ISN_C_C),
	      "getlastpkt: not the first SYN (seq %u ip_len %u)", p.seq,
	      p.ip_len);
	TTRUE(&R, A_START, (uint64_t)p.cur_ts * 1000 ==
	      (uint64_t)mtcp_cb_get_ts(m), "cur_ts %u ms, core %u us",
	      p.cur_ts, mtcp_cb_get_ts(m));
	TRET(&R, A_START, mtcp_getlastpkt(m, sock, MOS_SIDE_BOTH, &p), 0);
	TRET(&R, A_START, mtcp_getlastpkt(m, L1, MOS_SIDE_CLI, &p), 0);
	TFAIL(&R, A_START, mtcp_getlastpkt(m, sock, MOS_SIDE_CLI, NULL), -1,
	      EINVAL);
	TFAIL(&R, A_START, mtcp_getlastpkt(m, sock, 3, &p), -1, EINVAL);
	TFAIL(&R, A_START, mtcp_getlastpkt(m, sock, -1, &p), -1, EINVAL);
	TFAIL(&R, A_START, mtcp_getlastpkt(m, 50000, MOS_SIDE_CLI, &p), -1,
	      EBADF);
	TFAIL(&R, A_START, mtcp_getlastpkt(NULL, sock, MOS_SIDE_CLI, &p), -1,
	      EACCES);

	/* Neither handshake side has answered: no reset possible. */
	TFAIL(&R, A_START, mtcp_reset_conn(m, sock), -1, ENOTCONN);
	TFAIL(&R, A_START, mtcp_reset_conn(m, L1), -1, ENOTSOCK);
	TFAIL(&R, A_START, mtcp_reset_conn(m, 50000), -1, EBADF);
	TFAIL(&R, A_START, mtcp_reset_conn(NULL, sock), -1, EACCES);

	/* Only stream listeners and raw sockets take filters. */
	{
		union monitor_filter ft = { .stream_syn_filter = NULL };

		TFAIL(&R, A_START, mtcp_bind_monitor_filter(m, sock, &ft), -1,
		      ENOPROTOOPT);
	}
	/* An active socket gets flow events and its own new data, never
	 * orphans or raw packets. */
	TFAIL(&R, A_START, mtcp_register_callback(m, sock, MOS_ON_ORPHAN,
						  MOS_NULL, cb_start_snd),
	      -1, EINVAL);
	TFAIL(&R, A_START, mtcp_register_callback(m, sock, MOS_ON_PKT_IN,
						  MOS_NULL, cb_start_snd),
	      -1, EINVAL);
	TFAIL(&R, A_START, mtcp_register_callback(m, sock, MOS_ON_REXMIT,
						  MOS_HK_SND, cb_start_snd),
	      -1, EINVAL);
	TFAIL(&R, A_START, mtcp_register_callback(m, sock, MOS_ON_CONN_END,
						  MOS_HK_RCV, NULL), -1, ENOENT);
	/* Per-flow user context */
	errno = 0;
	TTRUE(&R, A_START, mtcp_get_uctx(m, sock) == NULL && errno == 0,
	      "get_uctx before set: not NULL or errno %d", errno);
	mtcp_set_uctx(m, sock, &uctx_tag);
	TTRUE(&R, A_START, mtcp_get_uctx(m, sock) == &uctx_tag,
	      "get_uctx does not return what set_uctx stored");
	errno = 0;
	mtcp_set_uctx(m, 50000, &uctx_tag);
	TTRUE(&R, A_START, errno == EBADF, "set_uctx bad sock: errno %d",
	      errno);
	errno = 0;
	mtcp_set_uctx(NULL, sock, &uctx_tag);
	TTRUE(&R, A_START, errno == EACCES, "set_uctx NULL mctx: errno %d",
	      errno);
	TFAIL(&R, A_START, mtcp_get_uctx(m, 50000), 0, EBADF);
	TFAIL(&R, A_START, mtcp_get_uctx(NULL, sock), 0, EACCES);
	/* The context of this thread's core only */
	TFAIL(&R, A_START, mtcp_destroy_context(m), -1, EPERM);
	TFAIL(&R, A_START, mtcp_destroy(), -1, EPERM);
}

#define A_START_RCV	"start_rcv"

/* First SYN, server side (MOS_HK_RCV): both halves exist now. */
static void
cb_start_rcv(mctx_t m, int sock, int side, event_t ev, filter_arg_t *arg)
{
	struct tcp_buf_info bi;
	socklen_t len;
	char buf[16];
	int v;

	(void)ev;
	(void)arg;
	note_ts(m);
	S.starts_rcv++;
	TTRUE(&R, A_START_RCV, side == MOS_SIDE_SVR, "side %d", side);
	len = sizeof(v);
	TRET(&R, A_START_RCV, mtcp_getsockopt(m, sock, SOL_MONSOCKET,
					      MOS_TCP_STATE_SVR, &v, &len), 0);
	TTRUE(&R, A_START_RCV, v == TCP_SYN_RCVD, "server state %d", v);
	TRET(&R, A_START_RCV, mtcp_peek(m, sock, MOS_SIDE_SVR, buf,
					sizeof(buf)), 0);
	TFAIL(&R, A_START_RCV, mtcp_ppeek(m, sock, MOS_SIDE_SVR, buf,
					  sizeof(buf), 0), -1, ENODATA);
	len = sizeof(bi);
	TFAIL(&R, A_START_RCV, mtcp_getsockopt(m, sock, SOL_MONSOCKET,
					       MOS_INFO_SVRBUF, &bi, &len),
	      -1, ENODATA);
	/* Both handshake halves are not there yet: still no reset. */
	TFAIL(&R, A_START_RCV, mtcp_reset_conn(m, sock), -1, ENOTCONN);
	/* count 0 reads nothing, even where nothing is buffered */
	TRET(&R, A_START_RCV, mtcp_ppeek(m, sock, MOS_SIDE_SVR, buf, 0, 0), 0);
}

#define A_PKT	"pkt"

/* Every packet of L1's flows at the receiver's hook. */
static void
cb_pktin_rcv(mctx_t m, int sock, int side, event_t ev, filter_arg_t *arg)
{
	struct pkt_info p;
	char buf[256];
	byte win[2] = { 0xff, 0xff };
	int fi = flow_index(m, sock), other;

	(void)ev;
	(void)arg;
	note_ts(m);
	S.pktin_rcv++;
	TTRUE(&R, A_PKT, side == MOS_SIDE_CLI || side == MOS_SIDE_SVR,
	      "side %d", side);
	TRET(&R, A_PKT, mtcp_getlastpkt(m, sock, side, &p), 0);
	TTRUE(&R, A_PKT, (uint64_t)p.cur_ts * 1000 == mtcp_cb_get_ts(m),
	      "cur_ts %u ms, core %u us", p.cur_ts, mtcp_cb_get_ts(m));
	if (p.tcph == NULL)
		return;
	/* The receiver just stored the payload at p.offset of its stream. */
	if (p.payloadlen > 0 && p.payloadlen <= sizeof(buf)) {
		ssize_t n = mtcp_ppeek(m, sock, side, buf, sizeof(buf),
				       p.offset);

		TTRUE(&R, A_PKT, n == p.payloadlen &&
		      memcmp(buf, p.payload, p.payloadlen) == 0,
		      "ppeek at the payload's offset %llu: %zd bytes, "
		      "payload %u", (unsigned long long)p.offset, n,
		      p.payloadlen);
	}
	/* Edits that must be refused leave the packet as it was. */
	TFAIL(&R, A_PKT, mtcp_setlastpkt(m, sock, side, 0, win, 2, 0), -1,
	      EINVAL);
	TFAIL(&R, A_PKT, mtcp_setlastpkt(m, sock, side, 0, win, 2,
					 MOS_OVERWRITE), -1, EINVAL);
	TFAIL(&R, A_PKT, mtcp_setlastpkt(m, sock, side, 0, win, 2,
					 MOS_OVERWRITE | MOS_CHOMP |
					 MOS_TCP_HDR), -1, EINVAL);
	TFAIL(&R, A_PKT, mtcp_setlastpkt(m, sock, side, 0, win, 2,
					 MOS_OVERWRITE | MOS_TCP_HDR |
					 MOS_IP_HDR), -1, EINVAL);
	TFAIL(&R, A_PKT, mtcp_setlastpkt(m, sock, side, -1, win, 2,
					 MOS_OVERWRITE | MOS_TCP_HDR), -1,
	      EINVAL);
	TFAIL(&R, A_PKT, mtcp_setlastpkt(m, sock, side, 14, NULL, 2,
					 MOS_OVERWRITE | MOS_TCP_HDR), -1,
	      EINVAL);
	TFAIL(&R, A_PKT, mtcp_setlastpkt(m, sock, side, 19, win, 2,
					 MOS_OVERWRITE | MOS_TCP_HDR), -1,
	      EINVAL);
	TFAIL(&R, A_PKT, mtcp_setlastpkt(m, sock, side, p.payloadlen, win, 1,
					 MOS_OVERWRITE | MOS_TCP_PAYLOAD), -1,
	      EINVAL);
	TFAIL(&R, A_PKT, mtcp_setlastpkt(m, sock, side, 0, win, 2,
					 MOS_CHOMP | MOS_ETH_HDR), -1, EINVAL);
	TFAIL(&R, A_PKT, mtcp_setlastpkt(m, sock, side, 14, win, 2,
					 MOS_OVERWRITE | MOS_TCP_HDR |
					 (1 << 12)), -1, EINVAL);
	TFAIL(&R, A_PKT, mtcp_setlastpkt(m, sock, 3, 14, win, 2,
					 MOS_OVERWRITE | MOS_TCP_HDR), -1,
	      EINVAL);
	/* IP total length is moonbox's to keep consistent. */
	TFAIL(&R, A_PKT, mtcp_setlastpkt(m, sock, side, 2, win, 2,
					 MOS_OVERWRITE | MOS_IP_HDR), -1,
	      EINVAL);
	TFAIL(&R, A_PKT, mtcp_setlastpkt(m, 50000, side, 14, win, 2,
					 MOS_OVERWRITE | MOS_TCP_HDR), -1,
	      EBADF);
	TFAIL(&R, A_PKT, mtcp_setlastpkt(NULL, sock, side, 14, win, 2,
					 MOS_OVERWRITE | MOS_TCP_HDR), -1,
	      EACCES);
	/* Rewriting the window with its own value changes nothing. */
	memcpy(win, &p.tcph->window, 2);
	TRET(&R, A_PKT, mtcp_setlastpkt(m, sock, side, 14, win, 2,
					MOS_OVERWRITE | MOS_TCP_HDR |
					MOS_UPDATE_TCP_CHKSUM), 0);
	/* The other flow's socket is not about this packet. */
	other = fi == 0 ? S.sock_c : fi == 1 ? S.sock_a : -1;
	if (other >= 0 && mtcp_getpeername(m, other, (struct sockaddr *)buf,
					   &(socklen_t){ 32 },
					   MOS_SIDE_BOTH) == 0) {
		TFAIL(&R, A_PKT, mtcp_getlastpkt(m, other, side, &p), -1,
		      ENODATA);
		TFAIL(&R, A_PKT, mtcp_setlastpkt(m, other, side, 14, win, 2,
						 MOS_OVERWRITE | MOS_TCP_HDR),
		      -1, ENODATA);
	}
	/* sendpkt's argument checks (nothing is sent) */
	TFAIL(&R, A_PKT, mtcp_sendpkt(m, sock, NULL), -1, EINVAL);
	memset(&p, 0, sizeof(p));
	TFAIL(&R, A_PKT, mtcp_sendpkt(m, sock, &p), -1, ENODATA);
	{
		uint8_t ip[60] = { 0x45 }, tcp[60] = { 0 };

		p.iph = (struct iphdr *)ip;
		p.tcph = (struct tcphdr *)tcp;
		tcp[12] = 5 << 4;
		p.payloadlen = 10;
		TFAIL(&R, A_PKT, mtcp_sendpkt(m, sock, &p), -1, EINVAL);
		p.payloadlen = 0;
		ip[0] = 0x44;	/* IHL 16 bytes */
		TFAIL(&R, A_PKT, mtcp_sendpkt(m, sock, &p), -1, EINVAL);
		ip[0] = 0x45;
		tcp[12] = 4 << 4;	/* data offset 16 bytes */
		TFAIL(&R, A_PKT, mtcp_sendpkt(m, sock, &p), -1, EINVAL);
		tcp[12] = 5 << 4;
		p.payload = (uint8_t *)buf;
		p.payloadlen = 65000;	/* larger than a frame */
		TFAIL(&R, A_PKT, mtcp_sendpkt(m, sock, &p), -1, EINVAL);
		memset(&p, 0, sizeof(p));
	}
	TFAIL(&R, A_PKT, mtcp_sendpkt(m, 50000, &p), -1, EBADF);
	TFAIL(&R, A_PKT, mtcp_sendpkt(NULL, sock, &p), -1, EACCES);
}

#define A_DATA	"newdata"

/* New in-order bytes: read them all with peek, check every view. */
static void
cb_newdata(mctx_t m, int sock, int side, event_t ev, filter_arg_t *arg)
{
	struct tcp_buf_info bi;
	struct tcp_ring_fragment fr[4];
	struct pkt_info p;
	socklen_t len;
	char buf[256], again[8];
	int fi = flow_index(m, sock);
	uint32_t init;
	ssize_t n;
	size_t *got;

	(void)ev;
	(void)arg;
	note_ts(m);
	S.newdata++;
	TTRUE(&R, A_DATA, fi >= 0 && (side == MOS_SIDE_CLI ||
				      side == MOS_SIDE_SVR),
	      "flow %d side %d", fi, side);
	if (fi < 0 || (side != MOS_SIDE_CLI && side != MOS_SIDE_SVR))
		return;
	TFAIL(&R, A_DATA, mtcp_getlastpkt(m, sock, side, &p), -1, ENODATA);
	TFAIL(&R, A_DATA, mtcp_setlastpkt(m, sock, side, 0, NULL, 0,
					  MOS_DROP), -1, ENODATA);
	got = &S.got_len[fi][side];
	n = mtcp_peek(m, sock, side, buf, sizeof(buf));
	TTRUE(&R, A_DATA, n > 0, "peek in NEW_DATA: %zd errno %d", n, errno);
	if (n > 0 && *got + (size_t)n <= sizeof(S.got[0][0])) {
		memcpy(S.got[fi][side] + *got, buf, (size_t)n);
		*got += (size_t)n;
	}
	/* Nothing new after reading everything. */
	TRET(&R, A_DATA, mtcp_peek(m, sock, side, again, sizeof(again)), 0);
	TRET(&R, A_DATA, mtcp_peek(m, sock, side, again, 0), 0);
	/* The whole stream so far, from offset 0, without moving anything */
	n = mtcp_ppeek(m, sock, side, buf, sizeof(buf), 0);
	TTRUE(&R, A_DATA, n == (ssize_t)*got &&
	      memcmp(buf, S.got[fi][side], *got) == 0,
	      "ppeek(0): %zd bytes, read so far %zu", n, *got);
	TFAIL(&R, A_DATA, mtcp_ppeek(m, sock, side, buf, sizeof(buf), *got),
	      -1, ENODATA);
	TFAIL(&R, A_DATA, mtcp_ppeek(m, sock, side, buf, sizeof(buf), 100000),
	      -1, ENODATA);
	/* Buffer information, in sequence numbers */
	init = (fi == 0 ? (side == MOS_SIDE_SVR ? ISN_A_C : ISN_A_S) :
		(side == MOS_SIDE_SVR ? ISN_C_C : ISN_C_S)) + 1;
	len = sizeof(bi);
	TRET(&R, A_DATA, mtcp_getsockopt(m, sock, SOL_MONSOCKET,
					 side == MOS_SIDE_CLI ?
					 MOS_INFO_CLIBUF : MOS_INFO_SVRBUF,
					 &bi, &len), 0);
	TTRUE(&R, A_DATA, bi.tcpbi_init_seq == init &&
	      bi.tcpbi_last_byte_read == init + (uint32_t)*got &&
	      bi.tcpbi_next_byte_expected == init + (uint32_t)*got &&
	      bi.tcpbi_last_byte_received == init + (uint32_t)*got,
	      "buf info %u %u %u %u, expected init %u, %zu bytes",
	      bi.tcpbi_init_seq, bi.tcpbi_last_byte_read,
	      bi.tcpbi_next_byte_expected, bi.tcpbi_last_byte_received,
	      init, *got);
	len = sizeof(fr);
	TRET(&R, A_DATA, mtcp_getsockopt(m, sock, SOL_MONSOCKET,
					 side == MOS_SIDE_CLI ?
					 MOS_FRAGINFO_CLIBUF :
					 MOS_FRAGINFO_SVRBUF, fr, &len), 0);
	TTRUE(&R, A_DATA, len == sizeof(fr[0]) && fr[0].offset == 0 &&
	      fr[0].len == *got, "fragments: len %u, first %llu+%u", len,
	      (unsigned long long)fr[0].offset, fr[0].len);
	/* Only allocated events can be raised; we are inside a dispatch. */
	TFAIL(&R, A_DATA, mtcp_raise_event(m, ude_syn), -1, EINVAL);
	TFAIL(&R, A_DATA, mtcp_raise_event(m, MOS_ON_PKT_IN), -1, EINVAL);
	TFAIL(&R, A_DATA, mtcp_raise_event(m, 999999), -1, EINVAL);
	TRET(&R, A_DATA, mtcp_raise_event(m, ude_alloc), 0);
	TFAIL(&R, A_DATA, mtcp_raise_event(NULL, ude_alloc), -1, EACCES);
}

#define A_END	"end"

static void
cb_end(mctx_t m, int sock, int side, event_t ev, filter_arg_t *arg)
{
	struct pkt_info p;

	(void)ev;
	(void)arg;
	note_ts(m);
	S.ends++;
	TFAIL(&R, A_END, mtcp_getlastpkt(m, sock, side, &p), -1, ENODATA);
	if (mtcp_get_uctx(m, sock) == &uctx_tag)
		S.uctx_ok++;
}

#define A_ORPHAN	"orphan"

/* Packets without a flow, on the listener: socket calls that need a flow
 * fail; the core-thread-only calls about the packet work. */
static void
cb_orphan(mctx_t m, int sock, int side, event_t ev, filter_arg_t *arg)
{
	struct sockaddr_in a[2];
	struct pkt_info p;
	socklen_t len = sizeof(a);
	char buf[16];
	int v = MOS_SIDE_BOTH;

	(void)arg;
	note_ts(m);
	S.orphans++;
	TTRUE(&R, A_ORPHAN, sock == L1 && side == MOS_SIDE_BOTH &&
	      ev == MOS_ON_ORPHAN, "sock %d side %d event %llu", sock, side,
	      (unsigned long long)ev);
	TRET(&R, A_ORPHAN, mtcp_getlastpkt(m, sock, side, &p), 0);
	TTRUE(&R, A_ORPHAN, p.tcph != NULL && ntohs(p.tcph->source) == 5555,
	      "orphan packet: wrong frame");
	TFAIL(&R, A_ORPHAN, mtcp_getsockopt(m, sock, SOL_MONSOCKET,
					    MOS_TCP_STATE_CLI, &v, &len), -1,
	      ENOTSOCK);
	TFAIL(&R, A_ORPHAN, mtcp_getpeername(m, sock, (struct sockaddr *)a,
					     &len, MOS_SIDE_BOTH), -1,
	      ENOTSOCK);
	TFAIL(&R, A_ORPHAN, mtcp_peek(m, sock, MOS_SIDE_SVR, buf, sizeof(buf)),
	      -1, EBADF);
	TFAIL(&R, A_ORPHAN, mtcp_ppeek(m, sock, MOS_SIDE_SVR, buf, sizeof(buf),
				       0), -1, ESOCKTNOSUPPORT);
	TFAIL(&R, A_ORPHAN, mtcp_reset_conn(m, sock), -1, ENOTSOCK);
	TFAIL(&R, A_ORPHAN, mtcp_setsockopt(m, sock, SOL_MONSOCKET,
					    MOS_STOP_MON, &(int){ 7 },
					    sizeof(int)), -1, EINVAL);
	/* A listener's own context works on its core, too. */
	mtcp_set_uctx(m, sock, &uctx_tag);
	TTRUE(&R, A_ORPHAN, mtcp_get_uctx(m, sock) == &uctx_tag,
	      "listener uctx on the core thread");
	mtcp_set_uctx(m, sock, NULL);
	/* Joining from the core must return, not wait for itself. */
	mtcp_app_join(m);
	TTRUE(&R, A_ORPHAN, 1, "app_join returned");
}

#define A_RAW	"raw"

static void
cb_raw(mctx_t m, int sock, int side, event_t ev, filter_arg_t *arg)
{
	struct pkt_info p;
	socklen_t len = sizeof(int);
	int v;

	(void)ev;
	(void)arg;
	note_ts(m);
	S.raw_pkts++;
	TTRUE(&R, A_RAW, sock == RAW && side == MOS_SIDE_BOTH,
	      "raw: sock %d side %d", sock, side);
	TRET(&R, A_RAW, mtcp_getlastpkt(m, sock, side, &p), 0);
	TTRUE(&R, A_RAW, p.iph != NULL && p.iph->protocol == IPPROTO_TCP,
	      "raw packet without IP header");
	TFAIL(&R, A_RAW, mtcp_getsockopt(m, sock, SOL_MONSOCKET,
					 MOS_TCP_STATE_CLI, &v, &len), -1,
	      ENOTSOCK);
	TFAIL(&R, A_RAW, mtcp_getpeername(m, sock, (struct sockaddr *)&p,
					  &len, MOS_SIDE_CLI), -1, ENOTSOCK);
}

#define A_NOBUF	"nobuf"

/* L2 turned both buffers off: reading a stream is EINVAL. */
static void
cb_l2_pkt(mctx_t m, int sock, int side, event_t ev, filter_arg_t *arg)
{
	struct tcp_buf_info bi;
	struct tcp_ring_fragment fr[2];
	struct pkt_info p;
	socklen_t len;
	char buf[16];
	int s;

	(void)ev;
	(void)arg;
	note_ts(m);
	S.l2_pkts++;
	if (mtcp_getlastpkt(m, sock, side, &p) != 0 || p.payloadlen == 0)
		return;
	for (s = MOS_SIDE_CLI; s <= MOS_SIDE_SVR; s++) {
		TFAIL(&R, A_NOBUF, mtcp_peek(m, sock, s, buf, sizeof(buf)), -1,
		      EINVAL);
		TFAIL(&R, A_NOBUF, mtcp_ppeek(m, sock, s, buf, sizeof(buf), 0),
		      -1, EINVAL);
		len = sizeof(bi);
		TFAIL(&R, A_NOBUF, mtcp_getsockopt(m, sock, SOL_MONSOCKET,
						   s == MOS_SIDE_CLI ?
						   MOS_INFO_CLIBUF :
						   MOS_INFO_SVRBUF, &bi, &len),
		      -1, EINVAL);
		len = sizeof(fr);
		TFAIL(&R, A_NOBUF, mtcp_getsockopt(m, sock, SOL_MONSOCKET,
						   s == MOS_SIDE_CLI ?
						   MOS_FRAGINFO_CLIBUF :
						   MOS_FRAGINFO_SVRBUF, fr,
						   &len), -1, EINVAL);
	}
}

static void
cb_l2_newdata(mctx_t m, int sock, int side, event_t ev, filter_arg_t *arg)
{
	(void)m;
	(void)sock;
	(void)side;
	(void)ev;
	(void)arg;
	S.l2_newdata++;
}

/* UDE: a client's first SYN. */
static bool
filter_syn(mctx_t m, int sock, int side, event_t ev, filter_arg_t *arg)
{
	struct pkt_info p;

	(void)ev;
	(void)arg;
	if (mtcp_getlastpkt(m, sock, side, &p) != 0 || p.tcph == NULL)
		return false;
	return p.tcph->syn && !p.tcph->ack;
}

static void
cb_ude_syn(mctx_t m, int sock, int side, event_t ev, filter_arg_t *arg)
{
	(void)m;
	(void)sock;
	(void)arg;
	TTRUE(&R, A_PKT, ev == ude_syn && side == MOS_SIDE_CLI,
	      "UDE callback: event %llu side %d", (unsigned long long)ev,
	      side);
	S.ude_syn_fired++;
}

/* PKT_IN at the sender's hook raises the allocated child for payload. */
static void
cb_pktin_snd(mctx_t m, int sock, int side, event_t ev, filter_arg_t *arg)
{
	struct pkt_info p;

	(void)ev;
	(void)arg;
	note_ts(m);
	static byte big[4000];

	if (mtcp_getlastpkt(m, sock, side, &p) == 0 && p.payloadlen > 0) {
		TRET(&R, A_PKT, mtcp_raise_event(m, ude_alloc), 0);
		S.raised++;
		/* More than the frame's buffer can take; nothing changes */
		TFAIL(&R, A_PKT, mtcp_setlastpkt(m, sock, side, 0, big,
						 sizeof(big), MOS_INSERT |
						 MOS_TCP_PAYLOAD), -1, ENOSPC);
	}
}

static void
cb_ude_alloc(mctx_t m, int sock, int side, event_t ev, filter_arg_t *arg)
{
	(void)m;
	(void)sock;
	(void)side;
	(void)arg;
	TTRUE(&R, A_PKT, ev == ude_alloc, "allocated event callback: %llu",
	      (unsigned long long)ev);
	S.ude_alloc_fired++;
}

/* -- Capture ------------------------------------------------------------- */

static void
write_capture(void)
{
	struct tcap cap;
	struct tconn a, c, d;
	static const uint32_t oip[2] = { 0x0a000009, 0x0a000002 };
	static const uint16_t oport[2] = { 5555, 80 };

	snprintf(cap_path, sizeof(cap_path), "/tmp/mb_api_errno_%d.pcap",
		 (int)getpid());
	assert_int_equal(tcap_open(&cap, cap_path), 0);
	/* A stray ACK: an orphan */
	tcap_tcp(&cap, oip, oport, TC2S, TH_ACK_, 1, 1, NULL, 0);
	tconn_init(&a, &cap, "10.0.0.1", 40001, "10.0.0.2", 80, ISN_A_C,
		   ISN_A_S);
	tconn_init(&c, &cap, "10.0.0.4", 40003, "10.0.0.2", 80, ISN_C_C,
		   ISN_C_S);
	tconn_init(&d, &cap, "10.0.0.6", 40006, "10.0.0.2", 81, 3000, 9000);
	tconn_handshake(&a);
	tconn_handshake(&c);
	tconn_data(&a, TC2S, REQ_A);
	tconn_data(&c, TC2S, DATA_C1);
	tconn_seg(&a, TS2C, TH_ACK_, NULL, 0);
	tconn_data(&a, TS2C, RSP_A);
	tconn_seg(&a, TC2S, TH_ACK_, NULL, 0);
	tconn_close(&a);
	tconn_handshake(&d);
	tconn_data(&d, TC2S, DATA_D);
	tconn_seg(&d, TS2C, TH_ACK_, NULL, 0);
	tconn_close(&d);
	/* C stays open: its late bytes come a second later; the end of
	 * the input closes it. */
	tcap_wait(&cap, 1000);
	tconn_data(&c, TC2S, DATA_C2);
	cap_frames = cap.frames;
	assert_int_equal(tcap_close(&cap), 0);
}

/* -- Tests: before mtcp_init --------------------------------------------- */

#define A_PRE	"pre_init"

static void
test_before_init(void **state)
{
	struct mtcp_conf conf;
	FILE *f;

	(void)state;
	write_capture();
	snprintf(conf_path, sizeof(conf_path), "/tmp/mb_api_errno_%d.missing",
		 (int)getpid());
	snprintf(bad_conf_path, sizeof(bad_conf_path),
		 "/tmp/mb_api_errno_%d.conf", (int)getpid());
	f = fopen(bad_conf_path, "w");
	assert_non_null(f);
	fputs("mos {\n\tforward = 1\n\tthis is not a key value line\n}\n", f);
	fclose(f);

	TFAIL(&R, A_PRE, mtcp_getconf(&conf), -1, EINVAL);
	TFAIL(&R, A_PRE, mtcp_setconf(&conf), -1, EINVAL);
	TFAIL(&R, A_PRE, mtcp_create_context(0), 0, EPERM);
	TFAIL(&R, A_PRE, mtcp_init(conf_path), -1, ENOENT);
	TFAIL(&R, A_PRE, mtcp_init(bad_conf_path), -1, EINVAL);
	/* No config and no input in MOONBOX_OPTS: no ports */
	unsetenv("MOONBOX_OPTS");
	TFAIL(&R, A_PRE, mtcp_init(NULL), -1, EINVAL);
	setenv("MOONBOX_OPTS", "--no-such-option", 1);
	TFAIL(&R, A_PRE, mtcp_init(NULL), -1, EINVAL);
	TFAIL(&R, A_PRE, mtcp_socket(NULL, AF_INET, MOS_SOCK_MONITOR_STREAM,
				     0), -1, EACCES);
	TRET(&R, A_PRE, GetRSSCPUCore(1, 2, 3, 4, 0, 0), -1);
	TRET(&R, A_PRE, GetRSSCPUCore(1, 2, 3, 4, 1, 0), 0);
	TRET(&R, A_PRE, GetNumCPUs(), (int)sysconf(_SC_NPROCESSORS_ONLN));
	unlink(bad_conf_path);
	assert_area(A_PRE, 10);
}

#define A_INIT	"init"

/* The last CPU the calling thread may run on, or -1. */
static int
last_allowed_cpu(void)
{
	cpu_set_t set;
	int cpu;

	if (pthread_getaffinity_np(pthread_self(), sizeof(set), &set) != 0)
		return -1;
	for (cpu = CPU_SETSIZE - 1; cpu >= 0; cpu--)
		if (CPU_ISSET(cpu, &set))
			return cpu;
	return -1;
}

/* The calling thread may run on CPU cpu and on no other. */
static int
only_cpu(int cpu)
{
	cpu_set_t set;

	return pthread_getaffinity_np(pthread_self(), sizeof(set), &set) == 0 &&
	       CPU_COUNT(&set) == 1 && CPU_ISSET(cpu, &set);
}

static void *
affinity_thread(void *arg)
{
	int *res = arg, last = last_allowed_cpu();

	errno = 0;
	res[0] = mtcp_core_affinitize(-1) == -1 && errno == EINVAL;
	errno = 0;
	res[1] = mtcp_core_affinitize(1 << 20) == -1 && errno == EINVAL;
	errno = 0;
	/* Within CPU_SETSIZE but not a CPU of this machine */
	res[2] = mtcp_core_affinitize(1000) == -1 && errno == EINVAL;
	res[3] = mtcp_core_affinitize(0) == 0;
	/* mOS's cpu.h name for it: the thread, now on CPU 0 alone, ends up
	 * on the last CPU it was allowed at first, alone (with 2 CPUs or
	 * more, a CoreAffinitize that did nothing would leave it on 0) */
	errno = 0;
	res[4] = CoreAffinitize(-1) == -1 && errno == EINVAL;
	res[5] = last >= 0 && CoreAffinitize(last) == 0 && only_cpu(last);
	return NULL;
}

static void
dummy_sig(int sig)
{
	(void)sig;
}

static void
test_init(void **state)
{
	struct mtcp_conf conf, got, bad;
	pthread_t th;
	int aff[6];

	(void)state;
	tapi_opts("errno", cap_path, "--max-flows 4096");
	TRET(&R, A_INIT, mtcp_init(NULL), 0);
	TFAIL(&R, A_INIT, mtcp_init(NULL), -1, EALREADY);
	TFAIL(&R, A_INIT, mtcp_init(conf_path), -1, EALREADY);

	/* Configuration: checked, then a round trip. */
	TFAIL(&R, A_INIT, mtcp_getconf(NULL), -1, EINVAL);
	TFAIL(&R, A_INIT, mtcp_setconf(NULL), -1, EINVAL);
	TRET(&R, A_INIT, mtcp_getconf(&conf), 0);
	TTRUE(&R, A_INIT, conf.num_cores == 1 && conf.max_concurrency == 4096 &&
	      conf.cpu_mask == 1 && conf.rcvbuf_size == 8192 &&
	      conf.tcp_timewait == 0 && conf.tcp_timeout == 30000,
	      "defaults: cores %d flows %d mask %llx rcvbuf %d tw %d to %d",
	      conf.num_cores, conf.max_concurrency,
	      (unsigned long long)conf.cpu_mask, conf.rcvbuf_size,
	      conf.tcp_timewait, conf.tcp_timeout);
	bad = conf;
	bad.num_cores = 0;
	TFAIL(&R, A_INIT, mtcp_setconf(&bad), -1, EINVAL);
	bad = conf;
	bad.num_cores = 65;
	TFAIL(&R, A_INIT, mtcp_setconf(&bad), -1, EINVAL);
	bad = conf;
	bad.max_concurrency = 1;
	TFAIL(&R, A_INIT, mtcp_setconf(&bad), -1, EINVAL);
	bad = conf;
	bad.rcvbuf_size = 10;
	TFAIL(&R, A_INIT, mtcp_setconf(&bad), -1, EINVAL);
	bad = conf;
	bad.tcp_timewait = -1;
	TFAIL(&R, A_INIT, mtcp_setconf(&bad), -1, EINVAL);
	conf.max_concurrency = 2048;
	conf.rcvbuf_size = 4096;
	conf.tcp_timeout = 60000;
	TRET(&R, A_INIT, mtcp_setconf(&conf), 0);
	TRET(&R, A_INIT, mtcp_getconf(&got), 0);
	TTRUE(&R, A_INIT, got.num_cores == 1 && got.max_concurrency == 2048 &&
	      got.rcvbuf_size == 4096 && got.tcp_timewait == 0 &&
	      got.tcp_timeout == 60000, "round trip: cores %d flows %d "
	      "rcvbuf %d tw %d to %d", got.num_cores, got.max_concurrency,
	      got.rcvbuf_size, got.tcp_timewait, got.tcp_timeout);

	/* Affinity, from a thread of its own (the main thread stays free) */
	assert_int_equal(pthread_create(&th, NULL, affinity_thread, aff), 0);
	pthread_join(th, NULL);
	TTRUE(&R, A_INIT, aff[0] && aff[1] && aff[2] && aff[3],
	      "mtcp_core_affinitize: %d %d %d %d", aff[0], aff[1], aff[2],
	      aff[3]);
	TTRUE(&R, A_INIT, aff[4] && aff[5], "CoreAffinitize: %d %d", aff[4],
	      aff[5]);

	/* Signals: the previous handler comes back. */
	TTRUE(&R, A_INIT, mtcp_register_signal(SIGINT, dummy_sig) == NULL,
	      "first SIGINT handler: previous not NULL");
	TTRUE(&R, A_INIT, mtcp_register_signal(SIGINT, NULL) == dummy_sig,
	      "second SIGINT handler: previous not dummy_sig");
	errno = 0;
	TTRUE(&R, A_INIT, mtcp_register_signal(-1, dummy_sig) == SIG_ERR &&
	      errno == EINVAL, "bad signal: errno %d", errno);
	errno = 0;
	TTRUE(&R, A_INIT, mtcp_register_signal(SIGKILL, dummy_sig) ==
	      SIG_ERR && errno == EINVAL, "SIGKILL: errno %d", errno);

	assert_area(A_INIT, 20);
}

#define A_CTX_BAD	"context_bad"

/*
 * BUG: mtcp_setconf() documents EBUSY only when "a context already
 * exists", but a mtcp_create_context() that failed with EINVAL (cpu out of
 * range) already fixes the configuration: mtcp_create_context() starts the
 * runtime (rt_start) before it checks cpu (engine/api_life.c,
 * mtcp_create_context), and mtcp_setconf() answers EBUSY once the runtime
 * has started, so the setconf below fails with EBUSY although no context
 * exists.
 */
static void
test_context_bad_cpu(void **state)
{
	struct mtcp_conf conf;

	(void)state;
	TFAIL(&R, A_CTX_BAD, mtcp_create_context(-1), 0, EINVAL);
	TFAIL(&R, A_CTX_BAD, mtcp_create_context(1), 0, EINVAL);
	TFAIL(&R, A_CTX_BAD, mtcp_create_context(64), 0, EINVAL);
	/* No context exists yet: the configuration may still change. */
	TRET(&R, A_CTX_BAD, mtcp_getconf(&conf), 0);
	TRET(&R, A_CTX_BAD, mtcp_setconf(&conf), 0);
	assert_area(A_CTX_BAD, 5);
}

#define A_CTX	"context"

static void
test_context(void **state)
{
	struct mtcp_conf conf, got;

	(void)state;
	mctx = mtcp_create_context(0);
	assert_non_null(mctx);
	assert_int_equal(mctx->cpu, 0);
	TFAIL(&R, A_CTX, mtcp_create_context(0), 0, EEXIST);
	TRET(&R, A_CTX, mtcp_getconf(&conf), 0);
	TFAIL(&R, A_CTX, mtcp_setconf(&conf), -1, EBUSY);
	TRET(&R, A_CTX, mtcp_getconf(&got), 0);
	TTRUE(&R, A_CTX, got.num_cores == 1 && got.max_concurrency == 2048 &&
	      got.rcvbuf_size == 4096, "after the context: cores %d flows %d "
	      "rcvbuf %d", got.num_cores, got.max_concurrency,
	      got.rcvbuf_size);
	assert_area(A_CTX, 5);
}

/* -- Tests: main thread, the core not running yet ------------------------ */

#define A_MAIN	"main"

static void
test_sockets_main(void **state)
{
	struct mtcp_context fake = { .cpu = 0 };
	union monitor_filter ft;
	int s, v = 0;

	(void)state;
	TFAIL(&R, A_MAIN, mtcp_socket(NULL, AF_INET, MOS_SOCK_MONITOR_STREAM,
				      0), -1, EACCES);
	TFAIL(&R, A_MAIN, mtcp_socket(&fake, AF_INET, MOS_SOCK_MONITOR_STREAM,
				      0), -1, EACCES);
	TFAIL(&R, A_MAIN, mtcp_socket(mctx, AF_INET6, MOS_SOCK_MONITOR_STREAM,
				      0), -1, EAFNOSUPPORT);
	TFAIL(&R, A_MAIN, mtcp_socket(mctx, AF_UNIX, MOS_SOCK_MONITOR_RAW, 0),
	      -1, EAFNOSUPPORT);
	TFAIL(&R, A_MAIN, mtcp_socket(mctx, AF_INET, MOS_SOCK_STREAM, 0), -1,
	      EINVAL);
	TFAIL(&R, A_MAIN, mtcp_socket(mctx, AF_INET,
				      MOS_SOCK_MONITOR_STREAM_ACTIVE, 0), -1,
	      EINVAL);
	TFAIL(&R, A_MAIN, mtcp_socket(mctx, AF_INET, 99, 0), -1, EINVAL);

	L1 = mtcp_socket(mctx, AF_INET, MOS_SOCK_MONITOR_STREAM, 0);
	L2 = mtcp_socket(mctx, AF_INET, MOS_SOCK_MONITOR_STREAM, 0);
	RAW = mtcp_socket(mctx, AF_INET, MOS_SOCK_MONITOR_RAW, 0);
	assert_true(L1 >= 0 && L2 >= 0 && RAW >= 0);
	assert_true(L1 != L2 && L1 != RAW && L2 != RAW);

	/* Listening and raw sockets are limited: ENFILE, then closing them
	 * frees their places. */
	{
		int extra[128], n = 0, r;

		for (;;) {
			errno = 0;
			r = mtcp_socket(mctx, AF_INET, n % 2 ?
					MOS_SOCK_MONITOR_RAW :
					MOS_SOCK_MONITOR_STREAM, 0);
			if (r < 0 || n == 128)
				break;
			extra[n++] = r;
		}
		TTRUE(&R, A_MAIN, r == -1 && errno == ENFILE && n > 0 &&
		      n < 128, "socket %d: %d errno %d", n, r, errno);
		while (n > 0)
			TRET(&R, A_MAIN, mtcp_close(mctx, extra[--n]), 0);
	}

	/* Close: a socket made just for it */
	s = mtcp_socket(mctx, AF_INET, MOS_SOCK_MONITOR_STREAM, 0);
	assert_true(s >= 0);
	TFAIL(&R, A_MAIN, mtcp_close(NULL, s), -1, EACCES);
	TFAIL(&R, A_MAIN, mtcp_close(mctx, 50000), -1, EBADF);
	TFAIL(&R, A_MAIN, mtcp_close(mctx, -1), -1, EBADF);
	TRET(&R, A_MAIN, mtcp_close(mctx, s), 0);
	TFAIL(&R, A_MAIN, mtcp_close(mctx, s), -1, EBADF);

	/* Filters */
	ft.stream_syn_filter = (char *)"tcp dst port 80";
	ft.stream_orphan_filter = NULL;
	TRET(&R, A_MAIN, mtcp_bind_monitor_filter(mctx, L1, &ft), 0);
	/* A second bind replaces the first (D reaches L2 only if so) */
	ft.stream_syn_filter = (char *)"tcp dst port 9999";
	TRET(&R, A_MAIN, mtcp_bind_monitor_filter(mctx, L2, &ft), 0);
	ft.stream_syn_filter = (char *)"tcp dst port 81";
	TRET(&R, A_MAIN, mtcp_bind_monitor_filter(mctx, L2, &ft), 0);
	/* The raw socket matches no frame of the capture... until the
	 * filter is removed below. */
	ft.raw_pkt_filter = (char *)"udp";
	TRET(&R, A_MAIN, mtcp_bind_monitor_filter(mctx, RAW, &ft), 0);
	ft.stream_syn_filter = (char *)"tcp dst port";
	ft.stream_orphan_filter = NULL;
	TFAIL(&R, A_MAIN, mtcp_bind_monitor_filter(mctx, L1, &ft), -1,
	      EINVAL);
	ft.stream_syn_filter = NULL;
	ft.stream_orphan_filter = (char *)"(((";
	TFAIL(&R, A_MAIN, mtcp_bind_monitor_filter(mctx, L1, &ft), -1,
	      EINVAL);
	ft.raw_pkt_filter = (char *)"no such thing";
	TFAIL(&R, A_MAIN, mtcp_bind_monitor_filter(mctx, RAW, &ft), -1,
	      EINVAL);
	TFAIL(&R, A_MAIN, mtcp_bind_monitor_filter(mctx, 50000, &ft), -1,
	      EBADF);
	TFAIL(&R, A_MAIN, mtcp_bind_monitor_filter(NULL, L1, &ft), -1,
	      EACCES);
	/* No filter: the raw socket sees every frame */
	TRET(&R, A_MAIN, mtcp_bind_monitor_filter(mctx, RAW, NULL), 0);

	/* Socket options on listeners from the main thread */
	TFAIL(&R, A_MAIN, mtcp_setsockopt(mctx, L1, SOL_SOCKET, MOS_CLIBUF, &v,
					  sizeof(v)), -1, EINVAL);
	TFAIL(&R, A_MAIN, mtcp_setsockopt(mctx, L1, SOL_MONSOCKET, 0x55, &v,
					  sizeof(v)), -1, ENOPROTOOPT);
	TFAIL(&R, A_MAIN, mtcp_setsockopt(mctx, L1, SOL_MONSOCKET,
					  MOS_TCP_STATE_CLI, &v, sizeof(v)),
	      -1, ENOPROTOOPT);
	TFAIL(&R, A_MAIN, mtcp_setsockopt(mctx, L1, SOL_MONSOCKET, MOS_CLIBUF,
					  &v, 3), -1, EINVAL);
	TFAIL(&R, A_MAIN, mtcp_setsockopt(mctx, L1, SOL_MONSOCKET, MOS_CLIBUF,
					  NULL, sizeof(v)), -1, EINVAL);
	TFAIL(&R, A_MAIN, mtcp_setsockopt(mctx, L1, SOL_MONSOCKET, MOS_CLIBUF,
					  &(int){ 5 }, sizeof(int)), -1,
	      EINVAL);
	TFAIL(&R, A_MAIN, mtcp_setsockopt(mctx, L1, SOL_MONSOCKET, MOS_CLIBUF,
					  &(int){ -1 }, sizeof(int)), -1,
	      EINVAL);
	TFAIL(&R, A_MAIN, mtcp_setsockopt(mctx, L1, SOL_MONSOCKET,
					  MOS_CLIOVERLAP, &(int){ 2 },
					  sizeof(int)), -1, EINVAL);
	TFAIL(&R, A_MAIN, mtcp_setsockopt(mctx, L1, SOL_MONSOCKET,
					  MOS_STOP_MON, &(int){ 3 },
					  sizeof(int)), -1, EINVAL);
	TFAIL(&R, A_MAIN, mtcp_setsockopt(mctx, L1, SOL_MONSOCKET,
					  MOS_SEQ_REMAP, &(int){ 0 },
					  sizeof(int)), -1, EINVAL);
	TFAIL(&R, A_MAIN, mtcp_setsockopt(mctx, RAW, SOL_MONSOCKET, MOS_CLIBUF,
					  &v, sizeof(v)), -1, ENOTSOCK);
	TFAIL(&R, A_MAIN, mtcp_setsockopt(mctx, RAW, SOL_MONSOCKET,
					  MOS_SVROVERLAP, &v, sizeof(v)), -1,
	      ENOTSOCK);
	TFAIL(&R, A_MAIN, mtcp_setsockopt(mctx, RAW, SOL_MONSOCKET,
					  MOS_STOP_MON, &v, sizeof(v)), -1,
	      ENOTSOCK);
	TFAIL(&R, A_MAIN, mtcp_setsockopt(mctx, 50000, SOL_MONSOCKET,
					  MOS_CLIBUF, &v, sizeof(v)), -1,
	      EBADF);
	TFAIL(&R, A_MAIN, mtcp_setsockopt(NULL, L1, SOL_MONSOCKET, MOS_CLIBUF,
					  &v, sizeof(v)), -1, EACCES);
	TRET(&R, A_MAIN, mtcp_setsockopt(mctx, L1, SOL_MONSOCKET,
					 MOS_SEQ_REMAP, &(int){ 1 },
					 sizeof(int)), 0);
	TRET(&R, A_MAIN, mtcp_setsockopt(mctx, L1, SOL_MONSOCKET,
					 MOS_SVROVERLAP,
					 &(uint8_t){ MOS_OVERLAP_POLICY_FIRST },
					 sizeof(uint8_t)), 0);
	/* L2 buffers nothing */
	TRET(&R, A_MAIN, mtcp_setsockopt(mctx, L2, SOL_MONSOCKET, MOS_CLIBUF,
					 &v, sizeof(v)), 0);
	TRET(&R, A_MAIN, mtcp_setsockopt(mctx, L2, SOL_MONSOCKET, MOS_SVRBUF,
					 &v, sizeof(v)), 0);
	/* getsockopt is for callbacks */
	{
		socklen_t len = sizeof(v);

		TFAIL(&R, A_MAIN, mtcp_getsockopt(mctx, L1, SOL_MONSOCKET,
						  MOS_TCP_STATE_CLI, &v,
						  &len), -1, EPERM);
		TFAIL(&R, A_MAIN, mtcp_getsockopt(NULL, L1, SOL_MONSOCKET,
						  MOS_TCP_STATE_CLI, &v,
						  &len), -1, EACCES);
	}
	/* Listener user context from main */
	errno = 0;
	TTRUE(&R, A_MAIN, mtcp_get_uctx(mctx, L1) == NULL && errno == 0,
	      "listener uctx before set: errno %d", errno);
	mtcp_set_uctx(mctx, L1, &uctx_tag);
	TTRUE(&R, A_MAIN, mtcp_get_uctx(mctx, L1) == &uctx_tag,
	      "listener uctx round trip");
	mtcp_set_uctx(mctx, L1, NULL);
	TFAIL(&R, A_MAIN, mtcp_get_uctx(mctx, 50000), 0, EBADF);
	TFAIL(&R, A_MAIN, mtcp_get_uctx(&fake, L1), 0, EACCES);
	assert_area(A_MAIN, 45 + 1 + 60);
}

#define A_EV	"events_main"

static void
test_events_main(void **state)
{
	struct mtcp_context fake = { .cpu = 0 };
	uint32_t key = 0x1234, key2 = 0x1234;
	filter_arg_t arg = { &key, sizeof(key) }, arg2 = { &key2, 4 };
	filter_arg_t bad = { NULL, 4 }, empty = { NULL, 0 };
	event_t u1, u2, u3, nested, ude_data, a2;

	(void)state;
	/* Definitions */
	TFAIL(&R, A_EV, mtcp_define_event(MOS_ON_PKT_IN, NULL, NULL),
	      MOS_NULL_EVENT, EINVAL);
	TFAIL(&R, A_EV, mtcp_define_event(0, filter_syn, NULL),
	      MOS_NULL_EVENT, EINVAL);
	TFAIL(&R, A_EV, mtcp_define_event(MOS_ON_PKT_IN | MOS_ON_CONN_START,
					  filter_syn, NULL), MOS_NULL_EVENT,
	      EINVAL);
	TFAIL(&R, A_EV, mtcp_define_event(123456, filter_syn, NULL),
	      MOS_NULL_EVENT, EINVAL);
	TFAIL(&R, A_EV, mtcp_define_event(MOS_ON_PKT_IN, filter_syn, &bad),
	      MOS_NULL_EVENT, EINVAL);
	ude_syn = mtcp_define_event(MOS_ON_PKT_IN, filter_syn, NULL);
	TTRUE(&R, A_EV, ude_syn >= 4096, "UDE id %llu",
	      (unsigned long long)ude_syn);
	/* The same definition gives the same id; {NULL, 0} is no argument */
	TRET(&R, A_EV, mtcp_define_event(MOS_ON_PKT_IN, filter_syn, NULL),
	     ude_syn);
	TRET(&R, A_EV, mtcp_define_event(MOS_ON_PKT_IN, filter_syn, &empty),
	     ude_syn);
	u1 = mtcp_define_event(MOS_ON_PKT_IN, filter_syn, &arg);
	TTRUE(&R, A_EV, u1 >= 4096 && u1 != ude_syn, "UDE with arg: %llu",
	      (unsigned long long)u1);
	/* The argument is compared by value, not by pointer */
	TRET(&R, A_EV, mtcp_define_event(MOS_ON_PKT_IN, filter_syn, &arg2),
	     u1);
	key2 = 0x4321;
	u2 = mtcp_define_event(MOS_ON_PKT_IN, filter_syn, &arg2);
	TTRUE(&R, A_EV, u2 >= 4096 && u2 != u1 && u2 != ude_syn,
	      "UDE with another arg: %llu", (unsigned long long)u2);
	/* Another parent is another event */
	u3 = mtcp_define_event(MOS_ON_CONN_START, filter_syn, NULL);
	TTRUE(&R, A_EV, u3 >= 4096 && u3 != ude_syn, "UDE of CONN_START");
	nested = mtcp_define_event(u1, filter_syn, NULL);
	TTRUE(&R, A_EV, nested >= 4096 && nested != u1, "nested UDE");
	ude_data = mtcp_define_event(MOS_ON_CONN_NEW_DATA, filter_syn, NULL);
	TTRUE(&R, A_EV, ude_data >= 4096, "UDE of NEW_DATA");

	/* Allocation */
	TFAIL(&R, A_EV, mtcp_alloc_event(0), MOS_NULL_EVENT, EINVAL);
	TFAIL(&R, A_EV, mtcp_alloc_event(999999), MOS_NULL_EVENT, EINVAL);
	ude_alloc = mtcp_alloc_event(MOS_ON_PKT_IN);
	a2 = mtcp_alloc_event(MOS_ON_PKT_IN);
	TTRUE(&R, A_EV, ude_alloc >= 4096 && a2 >= 4096 && a2 != ude_alloc,
	      "allocated events %llu %llu", (unsigned long long)ude_alloc,
	      (unsigned long long)a2);
	/* Raising is for callbacks */
	TFAIL(&R, A_EV, mtcp_raise_event(mctx, ude_alloc), -1, EPERM);
	TFAIL(&R, A_EV, mtcp_raise_event(NULL, ude_alloc), -1, EACCES);
	TFAIL(&R, A_EV, mtcp_raise_event(&fake, ude_alloc), -1, EACCES);

	/* Registration: bad arguments */
	TFAIL(&R, A_EV, mtcp_register_callback(NULL, L1, MOS_ON_PKT_IN,
					       MOS_HK_RCV, cb_pktin_rcv), -1,
	      EACCES);
	TFAIL(&R, A_EV, mtcp_register_callback(&fake, L1, MOS_ON_PKT_IN,
					       MOS_HK_RCV, cb_pktin_rcv), -1,
	      EACCES);
	TFAIL(&R, A_EV, mtcp_register_callback(mctx, 50000, MOS_ON_PKT_IN,
					       MOS_HK_RCV, cb_pktin_rcv), -1,
	      EBADF);
	TFAIL(&R, A_EV, mtcp_register_callback(mctx, -1, MOS_ON_PKT_IN,
					       MOS_HK_RCV, cb_pktin_rcv), -1,
	      EBADF);
	TFAIL(&R, A_EV, mtcp_register_callback(mctx, L1, 0, MOS_HK_RCV,
					       cb_pktin_rcv), -1, EINVAL);
	TFAIL(&R, A_EV, mtcp_register_callback(mctx, L1, MOS_ON_PKT_IN |
					       MOS_ON_CONN_END, MOS_HK_RCV,
					       cb_pktin_rcv), -1, EINVAL);
	TFAIL(&R, A_EV, mtcp_register_callback(mctx, L1, 999999, MOS_HK_RCV,
					       cb_pktin_rcv), -1, EINVAL);
	TFAIL(&R, A_EV, mtcp_register_callback(mctx, L1, 1ULL << 40,
					       MOS_HK_RCV, cb_pktin_rcv), -1,
	      EINVAL);
	TFAIL(&R, A_EV, mtcp_register_callback(mctx, L1, MOS_ON_PKT_IN, 0,
					       cb_pktin_rcv), -1, EINVAL);
	TFAIL(&R, A_EV, mtcp_register_callback(mctx, L1, MOS_ON_PKT_IN,
					       MOS_NULL | MOS_HK_RCV,
					       cb_pktin_rcv), -1, EINVAL);
	TFAIL(&R, A_EV, mtcp_register_callback(mctx, L1, MOS_ON_PKT_IN, 12345,
					       cb_pktin_rcv), -1, EINVAL);
	/* Deprecated or never raised */
	TFAIL(&R, A_EV, mtcp_register_callback(mctx, L1, MOS_ON_PKT_OUT,
					       MOS_HK_SND, cb_pktin_rcv), -1,
	      EINVAL);
	TFAIL(&R, A_EV, mtcp_register_callback(mctx, L1, MOS_ON_CONN_SETUP,
					       MOS_HK_RCV, cb_pktin_rcv), -1,
	      EINVAL);
	TFAIL(&R, A_EV, mtcp_register_callback(mctx, L1, MOS_ON_DEBUG_MESSAGE,
					       MOS_NULL, cb_pktin_rcv), -1,
	      EINVAL);
	/* Hooks an event never fires at, on a stream listener */
	TFAIL(&R, A_EV, mtcp_register_callback(mctx, L1, MOS_ON_PKT_IN,
					       MOS_NULL, cb_pktin_rcv), -1,
	      EINVAL);
	TFAIL(&R, A_EV, mtcp_register_callback(mctx, L1, MOS_ON_CONN_START,
					       MOS_NULL, cb_pktin_rcv), -1,
	      EINVAL);
	TFAIL(&R, A_EV, mtcp_register_callback(mctx, L1,
					       MOS_ON_TCP_STATE_CHANGE,
					       MOS_NULL, cb_pktin_rcv), -1,
	      EINVAL);
	TFAIL(&R, A_EV, mtcp_register_callback(mctx, L1, MOS_ON_REXMIT,
					       MOS_NULL, cb_pktin_rcv), -1,
	      EINVAL);
	TFAIL(&R, A_EV, mtcp_register_callback(mctx, L1, MOS_ON_CONN_END,
					       MOS_NULL, cb_pktin_rcv), -1,
	      EINVAL);
	TFAIL(&R, A_EV, mtcp_register_callback(mctx, L1, MOS_ON_REXMIT,
					       MOS_HK_SND, cb_pktin_rcv), -1,
	      EINVAL);
	TFAIL(&R, A_EV, mtcp_register_callback(mctx, L1, MOS_ON_CONN_NEW_DATA,
					       MOS_HK_RCV, cb_pktin_rcv), -1,
	      EINVAL);
	TFAIL(&R, A_EV, mtcp_register_callback(mctx, L1, MOS_ON_CONN_NEW_DATA,
					       MOS_HK_SND, cb_pktin_rcv), -1,
	      EINVAL);
	TFAIL(&R, A_EV, mtcp_register_callback(mctx, L1, MOS_ON_ERROR,
					       MOS_HK_RCV, cb_pktin_rcv), -1,
	      EINVAL);
	TFAIL(&R, A_EV, mtcp_register_callback(mctx, L1, MOS_ON_ORPHAN,
					       MOS_HK_RCV, cb_pktin_rcv), -1,
	      EINVAL);
	TFAIL(&R, A_EV, mtcp_register_callback(mctx, L1, MOS_ON_TIMEOUT,
					       MOS_HK_SND, cb_pktin_rcv), -1,
	      EINVAL);
	TFAIL(&R, A_EV, mtcp_register_callback(mctx, L1, MOS_ON_TIMEOUT,
					       MOS_HK_RCV, cb_pktin_rcv), -1,
	      EINVAL);
	/* User events are checked through their built-in root */
	TFAIL(&R, A_EV, mtcp_register_callback(mctx, L1, ude_syn, MOS_NULL,
					       cb_pktin_rcv), -1, EINVAL);
	TFAIL(&R, A_EV, mtcp_register_callback(mctx, L1, nested, MOS_NULL,
					       cb_pktin_rcv), -1, EINVAL);
	TFAIL(&R, A_EV, mtcp_register_callback(mctx, L1, ude_data, MOS_HK_RCV,
					       cb_pktin_rcv), -1, EINVAL);
	TFAIL(&R, A_EV, mtcp_register_callback(mctx, L1, u3, MOS_NULL,
					       cb_pktin_rcv), -1, EINVAL);
	/* Raw sockets: packets and orphans at MOS_NULL only */
	TFAIL(&R, A_EV, mtcp_register_callback(mctx, RAW, MOS_ON_PKT_IN,
					       MOS_HK_RCV, cb_raw), -1, EINVAL);
	TFAIL(&R, A_EV, mtcp_register_callback(mctx, RAW, MOS_ON_PKT_IN,
					       MOS_HK_SND, cb_raw), -1, EINVAL);
	TFAIL(&R, A_EV, mtcp_register_callback(mctx, RAW, MOS_ON_CONN_START,
					       MOS_NULL, cb_raw), -1, EINVAL);
	TFAIL(&R, A_EV, mtcp_register_callback(mctx, RAW, MOS_ON_CONN_NEW_DATA,
					       MOS_NULL, cb_raw), -1, EINVAL);
	TFAIL(&R, A_EV, mtcp_register_callback(mctx, RAW, MOS_ON_CONN_END,
					       MOS_HK_RCV, cb_raw), -1, EINVAL);
	/* Unregistering what is not registered */
	TFAIL(&R, A_EV, mtcp_register_callback(mctx, L1, MOS_ON_REXMIT,
					       MOS_HK_RCV, NULL), -1, ENOENT);
	TFAIL(&R, A_EV, mtcp_register_callback(mctx, RAW, MOS_ON_ORPHAN,
					       MOS_NULL, NULL), -1, ENOENT);
	/* Register, replace, unregister, and it is gone */
	TRET(&R, A_EV, mtcp_register_callback(mctx, L1, MOS_ON_TIMEOUT,
					      MOS_NULL, cb_end), 0);
	TRET(&R, A_EV, mtcp_register_callback(mctx, L1, MOS_ON_TIMEOUT,
					      MOS_NULL, cb_orphan), 0);
	TRET(&R, A_EV, mtcp_register_callback(mctx, L1, MOS_ON_TIMEOUT,
					      MOS_NULL, NULL), 0);
	TFAIL(&R, A_EV, mtcp_register_callback(mctx, L1, MOS_ON_TIMEOUT,
					       MOS_NULL, NULL), -1, ENOENT);
	/* A user event never registered on this socket */
	TFAIL(&R, A_EV, mtcp_register_callback(mctx, L1, u2, MOS_HK_SND,
					       NULL), -1, ENOENT);

	/* The callbacks of the run */
	TRET(&R, A_EV, mtcp_register_callback(mctx, L1, MOS_ON_CONN_START,
					      MOS_HK_SND, cb_start_snd), 0);
	TRET(&R, A_EV, mtcp_register_callback(mctx, L1, MOS_ON_CONN_START,
					      MOS_HK_RCV, cb_start_rcv), 0);
	TRET(&R, A_EV, mtcp_register_callback(mctx, L1, MOS_ON_PKT_IN,
					      MOS_HK_RCV, cb_pktin_rcv), 0);
	TRET(&R, A_EV, mtcp_register_callback(mctx, L1, MOS_ON_PKT_IN,
					      MOS_HK_SND, cb_pktin_snd), 0);
	TRET(&R, A_EV, mtcp_register_callback(mctx, L1, ude_alloc,
					      MOS_HK_SND, cb_ude_alloc), 0);
	TRET(&R, A_EV, mtcp_register_callback(mctx, L1, ude_syn, MOS_HK_SND,
					      cb_ude_syn), 0);
	TRET(&R, A_EV, mtcp_register_callback(mctx, L1, MOS_ON_CONN_NEW_DATA,
					      MOS_NULL, cb_newdata), 0);
	TRET(&R, A_EV, mtcp_register_callback(mctx, L1, MOS_ON_CONN_END,
					      MOS_HK_SND, cb_end), 0);
	TRET(&R, A_EV, mtcp_register_callback(mctx, L1, MOS_ON_ORPHAN,
					      MOS_NULL, cb_orphan), 0);
	TRET(&R, A_EV, mtcp_register_callback(mctx, L2, MOS_ON_PKT_IN,
					      MOS_HK_RCV, cb_l2_pkt), 0);
	TRET(&R, A_EV, mtcp_register_callback(mctx, L2, MOS_ON_CONN_NEW_DATA,
					      MOS_NULL, cb_l2_newdata), 0);
	TRET(&R, A_EV, mtcp_register_callback(mctx, RAW, MOS_ON_PKT_IN,
					      MOS_NULL, cb_raw), 0);
	assert_area(A_EV, 74);
}

#define A_CORE_ONLY	"core_only"

/* Core-thread-only functions called from the main thread: EPERM. */
static void
test_core_only_main(void **state)
{
	struct timeval tv = { 0, 1000 };
	struct sockaddr_in a[2];
	socklen_t len = sizeof(a);
	struct pkt_info p;
	char buf[8];
	byte b[2] = { 0, 0 };

	(void)state;
	memset(&p, 0, sizeof(p));
	TFAIL(&R, A_CORE_ONLY, mtcp_peek(mctx, L1, MOS_SIDE_SVR, buf,
					 sizeof(buf)), -1, EPERM);
	TFAIL(&R, A_CORE_ONLY, mtcp_ppeek(mctx, L1, MOS_SIDE_SVR, buf,
					  sizeof(buf), 0), -1, EPERM);
	TFAIL(&R, A_CORE_ONLY, mtcp_getlastpkt(mctx, L1, MOS_SIDE_CLI, &p),
	      -1, EPERM);
	TFAIL(&R, A_CORE_ONLY, mtcp_setlastpkt(mctx, L1, MOS_SIDE_CLI, 0, b, 2,
					       MOS_DROP), -1, EPERM);
	TFAIL(&R, A_CORE_ONLY, mtcp_sendpkt(mctx, L1, &p), -1, EPERM);
	TFAIL(&R, A_CORE_ONLY, mtcp_reset_conn(mctx, L1), -1, EPERM);
	TFAIL(&R, A_CORE_ONLY, mtcp_getpeername(mctx, L1, (struct sockaddr *)a,
						&len, MOS_SIDE_BOTH), -1,
	      EPERM);
	TFAIL(&R, A_CORE_ONLY, mtcp_cb_get_ts(mctx), 0, EPERM);
	TFAIL(&R, A_CORE_ONLY, mtcp_cb_get_ts(NULL), 0, EACCES);
	TFAIL(&R, A_CORE_ONLY, mtcp_getlastpkt(NULL, L1, MOS_SIDE_CLI, &p), -1,
	      EACCES);
	/* Timers: arguments */
	TFAIL(&R, A_CORE_ONLY, mtcp_settimer(NULL, 1, &tv, cb_end), -1,
	      EACCES);
	TFAIL(&R, A_CORE_ONLY, mtcp_settimer(mctx, 1, NULL, cb_end), -1,
	      EINVAL);
	TFAIL(&R, A_CORE_ONLY, mtcp_settimer(mctx, 1, &tv, NULL), -1, EINVAL);
	TFAIL(&R, A_CORE_ONLY, mtcp_settimer(mctx, 1,
					     &(struct timeval){ -1, 0 },
					     cb_end), -1, EINVAL);
	TFAIL(&R, A_CORE_ONLY, mtcp_settimer(mctx, 1,
					     &(struct timeval){ 0, -5 },
					     cb_end), -1, EINVAL);
	TFAIL(&R, A_CORE_ONLY, mtcp_settimer(mctx, 1,
					     &(struct timeval){ 0, 1000000 },
					     cb_end), -1, EINVAL);
	TFAIL(&R, A_CORE_ONLY, mtcp_destroy_context(NULL), -1, EACCES);
	assert_area(A_CORE_ONLY, 17);
}

/* -- The run ------------------------------------------------------------- */

static void
test_run(void **state)
{
	(void)state;
	/* Releases the input; returns at its end */
	mtcp_app_join(mctx);
	/* A second join of a finished core returns at once. */
	mtcp_app_join(mctx);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	assert_int_equal(S.raw_pkts, cap_frames);
	assert_int_equal(S.ts_backwards, 0);
}

static void
test_run_start(void **state)
{
	(void)state;
	assert_int_equal(S.starts_snd, 2);
	assert_int_equal(S.starts_rcv, 2);
	assert_area(A_START, 2 * 85);
	assert_area(A_START_RCV, 2 * 8);
}

static void
test_run_packets(void **state)
{
	(void)state;
	/* L1's flows: A has 3 + 1 + 1 + 1 + 1 + 3 packets, C 3 + 1 + 1 */
	assert_int_equal(S.pktin_rcv, 10 + 5);
	/* Client SYNs of A and C */
	assert_int_equal(S.ude_syn_fired, 2);
	/* Payload packets: A 2, C 2 */
	assert_int_equal(S.raised, 4);
	assert_int_equal(S.ude_alloc_fired, 4);
	/* 26 unconditional checks per packet, 2 UDE, 4 raises, 4 ENOSPC,
	 * 4 fired */
	assert_area(A_PKT, 15 * 26 + 2 + 4 + 4 + 4);
}

static void
test_run_newdata(void **state)
{
	(void)state;
	assert_true(S.newdata >= 3);
	/* Everything read with peek, once, in order */
	assert_int_equal(S.got_len[0][MOS_SIDE_SVR], strlen(REQ_A));
	assert_memory_equal(S.got[0][MOS_SIDE_SVR], REQ_A, strlen(REQ_A));
	assert_int_equal(S.got_len[0][MOS_SIDE_CLI], strlen(RSP_A));
	assert_memory_equal(S.got[0][MOS_SIDE_CLI], RSP_A, strlen(RSP_A));
	assert_int_equal(S.got_len[1][MOS_SIDE_SVR],
			 strlen(DATA_C1 DATA_C2));
	assert_memory_equal(S.got[1][MOS_SIDE_SVR], DATA_C1 DATA_C2,
			    strlen(DATA_C1 DATA_C2));
	assert_int_equal(S.got_len[1][MOS_SIDE_CLI], 0);
	assert_area(A_DATA, S.newdata * 18);
}

static void
test_run_end_orphan_raw(void **state)
{
	(void)state;
	/* CONN_END at MOS_HK_SND: once per side, for A and C */
	assert_int_equal(S.ends, 4);
	assert_int_equal(S.uctx_ok, 4);
	assert_area(A_END, 4);
	assert_int_equal(S.orphans, 1);
	assert_area(A_ORPHAN, 11);
	assert_area(A_RAW, cap_frames * 5);
}

static void
test_run_nobuf(void **state)
{
	(void)state;
	/* D: 3 + 1 + 1 + 3 packets */
	assert_int_equal(S.l2_pkts, 8);
	assert_int_equal(S.l2_newdata, 0);
	assert_area(A_NOBUF, 8);
}

#define A_SPACE	"event_space"

/* The user event registry is finite and shared: ENOSPC when it is full;
 * existing definitions keep their ids. Last, as it fills the registry. */
static void
test_event_space(void **state)
{
	event_t e, last = MOS_NULL_EVENT;
	unsigned n = 0;

	(void)state;
	for (;;) {
		errno = 0;
		e = mtcp_alloc_event(MOS_ON_PKT_IN);
		if (e == MOS_NULL_EVENT || n > 1000000)
			break;
		last = e;
		n++;
	}
	TTRUE(&R, A_SPACE, e == MOS_NULL_EVENT && errno == ENOSPC && n > 1000,
	      "alloc_event %u: %llu errno %d", n, (unsigned long long)e,
	      errno);
	TTRUE(&R, A_SPACE, last > ude_alloc, "last id %llu",
	      (unsigned long long)last);
	TFAIL(&R, A_SPACE, mtcp_alloc_event(MOS_ON_CONN_START),
	      MOS_NULL_EVENT, ENOSPC);
	TFAIL(&R, A_SPACE, mtcp_define_event(MOS_ON_CONN_END, filter_syn,
					     NULL), MOS_NULL_EVENT, ENOSPC);
	TRET(&R, A_SPACE, mtcp_define_event(MOS_ON_PKT_IN, filter_syn, NULL),
	     ude_syn);
	assert_area(A_SPACE, 5);
}

#define A_AFTER	"after"

static void
test_after(void **state)
{
	struct mtcp_conf conf;

	(void)state;
	/* The core has finished: its context can be destroyed. */
	TRET(&R, A_AFTER, mtcp_destroy_context(mctx), 0);
	TRET(&R, A_AFTER, mtcp_destroy(), 0);
	TFAIL(&R, A_AFTER, mtcp_getconf(&conf), -1, EINVAL);
	TFAIL(&R, A_AFTER, mtcp_socket(mctx, AF_INET, MOS_SOCK_MONITOR_STREAM,
				       0), -1, EACCES);
	TFAIL(&R, A_AFTER, mtcp_destroy_context(mctx), -1, EACCES);
	TRET(&R, A_AFTER, mtcp_destroy(), 0);
	/* DPDK starts once per process: no second life */
	TFAIL(&R, A_AFTER, mtcp_init(NULL), -1, ENODEV);
	TFAIL(&R, A_AFTER, mtcp_getconf(&conf), -1, EINVAL);
	tapi_cleanup("errno", cap_path);
	assert_area(A_AFTER, 8);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_before_init),
		cmocka_unit_test(test_init),
		cmocka_unit_test(test_context_bad_cpu),
		cmocka_unit_test(test_context),
		cmocka_unit_test(test_sockets_main),
		cmocka_unit_test(test_events_main),
		cmocka_unit_test(test_core_only_main),
		cmocka_unit_test(test_run),
		cmocka_unit_test(test_run_start),
		cmocka_unit_test(test_run_packets),
		cmocka_unit_test(test_run_newdata),
		cmocka_unit_test(test_run_end_orphan_raw),
		cmocka_unit_test(test_run_nobuf),
		cmocka_unit_test(test_event_space),
		cmocka_unit_test(test_after),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
