/*
 * trace.c - test plugin: records every event moonbox raises, one line per
 * callback, so tests can compare the exact event order with mOS's
 * (mos-semantics §2.4).
 *
 * Plugin arguments: out=PATH (lines go to PATH.<core>), buf=0 (turn
 * reassembly off on the listener), peek (read new data with mtcp_peek and
 * record the byte count), udesyn (a user event "first SYN" under PKT_IN
 * at MOS_HK_SND, recorded as UDE_SYN), ts (add the core's clock, in
 * microseconds: the packets' times read from a capture).
 * Line: HOOK EVENT SIDE flags=F seq=S len=L cli=STATE svr=STATE
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <moonbox.h>

static FILE *out[64];
static int do_peek, do_ts;
static event_t ude_syn;

static const char *
ev_name(event_t ev)
{
	switch (ev) {
	case MOS_ON_PKT_IN: return "PKT_IN";
	case MOS_ON_CONN_START: return "CONN_START";
	case MOS_ON_CONN_NEW_DATA: return "NEW_DATA";
	case MOS_ON_ERROR: return "ERROR";
	case MOS_ON_TIMEOUT: return "TIMEOUT";
	case MOS_ON_TCP_STATE_CHANGE: return "STATE_CHANGE";
	case MOS_ON_ORPHAN: return "ORPHAN";
	case MOS_ON_REXMIT: return "REXMIT";
	case MOS_ON_CONN_END: return "CONN_END";
	}
	return ev == ude_syn ? "UDE_SYN" : "?";
}

static const char *
st(mctx_t m, int sock, int opt)
{
	static const char *names[] = { "CLOSED", "LISTEN", "SYN_SENT",
		"SYN_RCVD", "ESTABLISHED", "FIN_WAIT_1", "FIN_WAIT_2",
		"CLOSE_WAIT", "CLOSING", "LAST_ACK", "TIME_WAIT" };
	socklen_t len = sizeof(int);
	int v;

	if (mtcp_getsockopt(m, sock, SOL_MONSOCKET, opt, &v, &len) < 0)
		return "-";
	return v >= 0 && v <= 10 ? names[v] : "?";
}

static void
record(mctx_t m, int sock, int side, event_t ev, const char *hook)
{
	static const char *sides[] = { "CLI", "SVR", "BOTH" };
	struct pkt_info p;
	FILE *f = out[m->cpu];
	char buf[65536];

	if (f == NULL)
		return;
	fprintf(f, "%s %s %s", hook, ev_name(ev),
		side >= 0 && side <= 2 ? sides[side] : "?");
	if (mtcp_getlastpkt(m, sock, side, &p) == 0 && p.tcph != NULL)
		fprintf(f, " flags=%s%s%s%s seq=%u len=%u",
			p.tcph->syn ? "S" : "", p.tcph->fin ? "F" : "",
			p.tcph->rst ? "R" : "", p.tcph->ack ? "A" : "",
			p.seq, p.payloadlen);
	else
		fprintf(f, " nopkt");
	fprintf(f, " cli=%s svr=%s", st(m, sock, MOS_TCP_STATE_CLI),
		st(m, sock, MOS_TCP_STATE_SVR));
	if (ev == MOS_ON_CONN_NEW_DATA && do_peek) {
		ssize_t n, total = 0;

		while ((n = mtcp_peek(m, sock, side, buf, sizeof(buf))) > 0)
			total += n;
		fprintf(f, " peek=%zd", total);
	}
	if (do_ts)
		fprintf(f, " ts=%" PRIu64, (uint64_t)mtcp_cb_get_ts(m));
	fprintf(f, "\n");
}

static void
cb_snd(mctx_t m, int s, int side, event_t ev, filter_arg_t *a)
{
	record(m, s, side, ev, "SND");
}

static void
cb_rcv(mctx_t m, int s, int side, event_t ev, filter_arg_t *a)
{
	record(m, s, side, ev, "RCV");
}

static void
cb_null(mctx_t m, int s, int side, event_t ev, filter_arg_t *a)
{
	record(m, s, side, ev, "NULL");
}

static bool
first_syn(mctx_t m, int sock, int side, event_t ev, filter_arg_t *a)
{
	struct pkt_info p;

	return mtcp_getlastpkt(m, sock, side, &p) == 0 && p.tcph != NULL &&
	       p.tcph->syn && !p.tcph->ack;
}

int
moonbox_plugin_init(mctx_t mctx, int argc, char **argv)
{
	static const event_t snd[] = { MOS_ON_PKT_IN, MOS_ON_CONN_START,
		MOS_ON_TCP_STATE_CHANGE, MOS_ON_CONN_END };
	static const event_t rcv[] = { MOS_ON_PKT_IN, MOS_ON_CONN_START,
		MOS_ON_TCP_STATE_CHANGE, MOS_ON_REXMIT, MOS_ON_CONN_END };
	static const event_t nul[] = { MOS_ON_CONN_NEW_DATA, MOS_ON_ERROR,
		MOS_ON_ORPHAN, MOS_ON_TIMEOUT };
	const char *path = NULL;
	int sock, i, buf = 1, ude = 0;
	char name[4096];

	for (i = 0; i < argc; i++) {
		if (strncmp(argv[i], "out=", 4) == 0)
			path = argv[i] + 4;
		else if (strcmp(argv[i], "buf=0") == 0)
			buf = 0;
		else if (strcmp(argv[i], "peek") == 0)
			do_peek = 1;
		else if (strcmp(argv[i], "udesyn") == 0)
			ude = 1;
		else if (strcmp(argv[i], "ts") == 0)
			do_ts = 1;
	}
	if (path == NULL)
		return 1;
	snprintf(name, sizeof(name), "%s.%d", path, mctx->cpu);
	out[mctx->cpu] = fopen(name, "w");
	if (out[mctx->cpu] == NULL)
		return 2;
	sock = mtcp_socket(mctx, AF_INET, MOS_SOCK_MONITOR_STREAM, 0);
	if (sock < 0)
		return 3;
	if (!buf) {
		int zero = 0;

		mtcp_setsockopt(mctx, sock, SOL_MONSOCKET, MOS_CLIBUF, &zero,
				sizeof(zero));
		mtcp_setsockopt(mctx, sock, SOL_MONSOCKET, MOS_SVRBUF, &zero,
				sizeof(zero));
	}
	for (i = 0; i < 4; i++)
		if (mtcp_register_callback(mctx, sock, snd[i], MOS_HK_SND,
					   cb_snd) != 0)
			return 4;
	for (i = 0; i < 5; i++)
		if (mtcp_register_callback(mctx, sock, rcv[i], MOS_HK_RCV,
					   cb_rcv) != 0)
			return 5;
	for (i = 0; i < 4; i++)
		if (mtcp_register_callback(mctx, sock, nul[i], MOS_NULL,
					   cb_null) != 0)
			return 6;
	if (ude) {
		ude_syn = mtcp_define_event(MOS_ON_PKT_IN, first_syn, NULL);
		if (ude_syn == MOS_NULL_EVENT ||
		    mtcp_register_callback(mctx, sock, ude_syn, MOS_HK_SND,
					   cb_snd) != 0)
			return 7;
	}
	return 0;
}

void
moonbox_plugin_fini(mctx_t mctx)
{
	if (out[mctx->cpu] != NULL)
		fclose(out[mctx->cpu]);
	out[mctx->cpu] = NULL;
}
