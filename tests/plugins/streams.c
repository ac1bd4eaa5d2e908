/*
 * streams.c - test plugin: writes the reassembled bytes of every flow
 * direction to DIR/SRCIP.SRCPORT-DSTIP.DSTPORT (tcpflow's naming), reading
 * them with mtcp_peek on MOS_ON_CONN_NEW_DATA, and also on MOS_ON_ERROR,
 * which warns before unread bytes leave the window. A final
 * DIR/summary.<core> counts errors and bytes missed.
 * Plugin arguments: dir=DIR [rmem=N] (reassembly window of the listener)
 * [noerror] (no MOS_ON_ERROR callback) [states] (log every TCP state
 * change and flow end, with both sides' states, to DIR/states.<core>)
 * [ends] (log only the flow ends, with both sides' final states)
 * [pktin] (a callback that does nothing on every packet at both hooks:
 * the engine then takes no shortcut, and the output must not change).
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <moonbox.h>

static const char *dir;
static long errors[64], missed[64], bytes[64];
static FILE *states[64];

static void
name_of(const struct sockaddr_in *a, char *out, size_t n)
{
	uint32_t ip = ntohl(a->sin_addr.s_addr);

	snprintf(out, n, "%03u.%03u.%03u.%03u.%05u", ip >> 24, (ip >> 16) & 255,
		 (ip >> 8) & 255, ip & 255, ntohs(a->sin_port));
}

static void
drain(mctx_t m, int sock, int side)
{
	struct sockaddr_in a[2];
	socklen_t len = sizeof(a);
	char src[32], dst[32], path[4096], buf[65536];
	FILE *f = NULL;
	ssize_t n;

	if (mtcp_getpeername(m, sock, (struct sockaddr *)a, &len,
			     MOS_SIDE_BOTH) != 0)
		return;
	/* side is the receiver: SVR receives the client's bytes. */
	name_of(&a[side ^ 1], src, sizeof(src));
	name_of(&a[side], dst, sizeof(dst));
	snprintf(path, sizeof(path), "%s/%s-%s", dir, src, dst);
	for (;;) {
		n = mtcp_peek(m, sock, side, buf, sizeof(buf));
		if (n < 0 && n != -1) {
			missed[m->cpu] += -n;
			continue;
		}
		if (n <= 0)
			break;
		if (f == NULL && (f = fopen(path, "a")) == NULL)
			return;
		fwrite(buf, 1, (size_t)n, f);
		bytes[m->cpu] += n;
	}
	if (f != NULL)
		fclose(f);
}

static void
on_data(mctx_t m, int sock, int side, event_t ev, filter_arg_t *a)
{
	drain(m, sock, side);
}

static void
on_error(mctx_t m, int sock, int side, event_t ev, filter_arg_t *a)
{
	errors[m->cpu]++;
	drain(m, sock, side);
}

static void
on_state(mctx_t m, int sock, int side, event_t ev, filter_arg_t *a)
{
	struct sockaddr_in ad[2];
	socklen_t len = sizeof(ad), sl = sizeof(int);
	char cli[32], svr[32];
	int st[2] = { -1, -1 };

	if (states[m->cpu] == NULL ||
	    mtcp_getpeername(m, sock, (struct sockaddr *)ad, &len,
			     MOS_SIDE_BOTH) != 0)
		return;
	name_of(&ad[MOS_SIDE_CLI], cli, sizeof(cli));
	name_of(&ad[MOS_SIDE_SVR], svr, sizeof(svr));
	mtcp_getsockopt(m, sock, SOL_MONSOCKET, MOS_TCP_STATE_CLI, &st[0], &sl);
	sl = sizeof(int);
	mtcp_getsockopt(m, sock, SOL_MONSOCKET, MOS_TCP_STATE_SVR, &st[1], &sl);
	fprintf(states[m->cpu], "%s-%s side %d %s cli %d svr %d\n", cli, svr,
		side, ev == MOS_ON_CONN_END ? "end" : "change", st[0], st[1]);
}

static void
on_pkt(mctx_t m, int sock, int side, event_t ev, filter_arg_t *a)
{
}

int
moonbox_plugin_init(mctx_t mctx, int argc, char **argv)
{
	int sock, i, rmem = 0, log_states = 0, pktin = 0, noerror = 0;
	char path[4096];

	for (i = 0; i < argc; i++) {
		if (strncmp(argv[i], "dir=", 4) == 0)
			dir = argv[i] + 4;
		else if (strncmp(argv[i], "rmem=", 5) == 0)
			rmem = atoi(argv[i] + 5);
		else if (strcmp(argv[i], "states") == 0)
			log_states = 1;
		else if (strcmp(argv[i], "ends") == 0)
			log_states = 2;
		else if (strcmp(argv[i], "pktin") == 0)
			pktin = 1;
		else if (strcmp(argv[i], "noerror") == 0)
			noerror = 1;
	}
	if (dir == NULL)
		return 1;
	sock = mtcp_socket(mctx, AF_INET, MOS_SOCK_MONITOR_STREAM, 0);
	if (sock < 0)
		return 2;
	if (rmem > 0 &&
	    (mtcp_setsockopt(mctx, sock, SOL_MONSOCKET, MOS_CLIBUF, &rmem,
			     sizeof(rmem)) != 0 ||
	     mtcp_setsockopt(mctx, sock, SOL_MONSOCKET, MOS_SVRBUF, &rmem,
			     sizeof(rmem)) != 0))
		return 3;
	if (mtcp_register_callback(mctx, sock, MOS_ON_CONN_NEW_DATA, MOS_NULL,
				   on_data) != 0 ||
	    (!noerror && mtcp_register_callback(mctx, sock, MOS_ON_ERROR,
						MOS_NULL, on_error) != 0))
		return 4;
	if (log_states) {
		snprintf(path, sizeof(path), "%s/states.%d", dir, mctx->cpu);
		states[mctx->cpu] = fopen(path, "w");
		if (states[mctx->cpu] == NULL ||
		    (log_states == 1 &&
		     (mtcp_register_callback(mctx, sock,
					     MOS_ON_TCP_STATE_CHANGE,
					     MOS_HK_SND, on_state) != 0 ||
		      mtcp_register_callback(mctx, sock,
					     MOS_ON_TCP_STATE_CHANGE,
					     MOS_HK_RCV, on_state) != 0)) ||
		    mtcp_register_callback(mctx, sock, MOS_ON_CONN_END,
					   MOS_HK_RCV, on_state) != 0)
			return 5;
	}
	if (pktin &&
	    (mtcp_register_callback(mctx, sock, MOS_ON_PKT_IN, MOS_HK_SND,
				    on_pkt) != 0 ||
	     mtcp_register_callback(mctx, sock, MOS_ON_PKT_IN, MOS_HK_RCV,
				    on_pkt) != 0))
		return 6;
	return 0;
}

void
moonbox_plugin_fini(mctx_t mctx)
{
	char path[4096];
	FILE *f;

	if (states[mctx->cpu] != NULL)
		fclose(states[mctx->cpu]);
	states[mctx->cpu] = NULL;
	snprintf(path, sizeof(path), "%s/summary.%d", dir, mctx->cpu);
	f = fopen(path, "w");
	if (f == NULL)
		return;
	fprintf(f, "errors %ld\nmissed %ld\nbytes %ld\n", errors[mctx->cpu],
		missed[mctx->cpu], bytes[mctx->cpu]);
	fclose(f);
}
