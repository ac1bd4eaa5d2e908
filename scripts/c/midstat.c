/*
 * midstat.c - "middlebox netstat": a table of the TCP flows moonbox
 * tracks, with the client and server addresses and the emulated TCP state
 * of each endpoint, printed every second of the run's clock and once more
 * at the end. A rewrite of mOS's midstat sample for moonbox.
 *
 * Run it as a standalone mOS-style program:
 *	MOONBOX_OPTS="-r in.pcap" ./mb-midstat [-f mos.conf] [-c CORES]
 * or as a native plugin of the moonbox program:
 *	moonbox -r in.pcap [-c CORES] --plugin ./midstat.so
 *
 * How it works: reassembly is switched off (MOS_CLIBUF/MOS_SVRBUF = 0);
 * MOS_ON_CONN_START at MOS_HK_SND adds a row, MOS_ON_TCP_STATE_CHANGE at
 * both hooks stores the state of the side that changed (one getsockopt per
 * change, as mOS's midstat), MOS_ON_CONN_END removes it. Every core
 * keeps its own list and prints its own table from its own one-second
 * timer, so no core ever reads another core's list while it changes.
 *
 * Output (stdout), per core and second, a line
 *	midstat: core C, second N: F flows
 * then mOS midstat's table: its header line "Proto CPU Client Address
 * ... Server State" and one row per flow,
 *	tcp   0   10.0.0.1:40000        ESTABLISHED  10.0.0.2:80  ...
 * ("ip:port" in 21 columns, the state in 12, client then server). For
 * captures the clock is the packets' time. Seconds are counted from the
 * first table, which comes when the core's clock has run for one second.
 * The engine runs timers after each receive burst, so when one burst spans
 * several seconds the tables of those seconds come out together and show
 * the state at the end of the burst. A tick over a minute late (the end
 * of a pause in a capture, which the engine catches up through an hour at
 * most) gets one table headed "second N (after a pause)".
 *
 * At the end each core prints a final table headed
 *	midstat: core C, end of input: F flows open
 * listing the flows that were still open (not closed by FIN or RST) when
 * the input ended, with their last states, then
 *	midstat: core C: S flows seen, X closed, T timed out, F open at the end
 * and a last line "midstat: all cores: ..." with the sums. Flows closed by
 * FIN or RST (both endpoints CLOSED or TIME_WAIT) and flows ended by the
 * idle timeout leave the table when they end. moonbox closes the flows
 * still open at the end of offline input (MOS_ON_CONN_END without a
 * packet); midstat recognises those ends (the flow is unfinished, did not
 * time out, and neither a new flow nor a table follows on the core) and
 * lists them as open. An unfinished flow ended because a new SYN reused its 4-tuple
 * counts as closed.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <unistd.h>

#include <moonbox.h>

#include "example.h"

#define MIDSTAT_MAX_CORES	64
#define MIDSTAT_TICK_US	1000000u
/* A tick later than this ends a pause of the clock (see midstat_on_tick). */
#define MIDSTAT_PAUSE_US	60000000

struct midstat_conn {
	TAILQ_ENTRY(midstat_conn) link;
	struct sockaddr_in addr[2];	/* MOS_SIDE_CLI, MOS_SIDE_SVR */
	int state[2];			/* enum tcpstate, -1 if unknown */
	int gone;			/* ended unfinished (midstat_on_end) */
	int timed_out;
};

TAILQ_HEAD(midstat_list, midstat_conn);

struct midstat_core {
	struct midstat_list conns;	/* creation order */
	int used;
	unsigned ngone;
	unsigned long long seen, closed, timed_out, open_end;
	int ticking;
	uint32_t due_us;		/* clock time of the next table */
	unsigned second;
} __attribute__((aligned(64)));

static struct midstat_core midstat_cores[MIDSTAT_MAX_CORES];
static pthread_mutex_t midstat_out_lock = PTHREAD_MUTEX_INITIALIZER;

static const char *const midstat_state_names[] = {
	"CLOSED", "LISTEN", "SYN_SENT", "SYN_RCVD", "ESTABLISHED",
	"FIN_WAIT_1", "FIN_WAIT_2", "CLOSE_WAIT", "CLOSING", "LAST_ACK",
	"TIME_WAIT",
};

static const char *
midstat_state_name(int s)
{
	if (s < 0 || s >= (int)(sizeof(midstat_state_names) /
				sizeof(midstat_state_names[0])))
		return "-";
	return midstat_state_names[s];
}

/* Write a finished block of text in one piece, so tables of different
 * cores do not interleave. */
static void
midstat_emit(char *buf, size_t len)
{
	pthread_mutex_lock(&midstat_out_lock);
	fwrite(buf, 1, len, stdout);
	fflush(stdout);
	pthread_mutex_unlock(&midstat_out_lock);
}

/* One endpoint in mOS's layout: "ip:port" in 21 columns, then the state. */
static void
midstat_put_end(FILE *f, const struct sockaddr_in *a, int state,
		const char *end)
{
	char ip[INET_ADDRSTRLEN];
	int n;

	if (inet_ntop(AF_INET, &a->sin_addr, ip, sizeof(ip)) == NULL)
		snprintf(ip, sizeof(ip), "?");
	n = fprintf(f, "%s:", ip);
	fprintf(f, "%-*u %-12s%s", n < 21 ? 21 - n : 0,
		(unsigned)ntohs(a->sin_port), midstat_state_name(state), end);
}

static void
midstat_put_table(FILE *f, int cpu, int final)
{
	struct midstat_core *mc = &midstat_cores[cpu];
	struct midstat_conn *c;

	fprintf(f, "Proto CPU Client Address        Client State "
		"Server Address        Server State\n");
	TAILQ_FOREACH(c, &mc->conns, link) {
		if (c->gone && !final)
			continue;
		fprintf(f, "%-5s %-3d ", "tcp", cpu);
		midstat_put_end(f, &c->addr[MOS_SIDE_CLI],
				c->state[MOS_SIDE_CLI], " ");
		midstat_put_end(f, &c->addr[MOS_SIDE_SVR],
				c->state[MOS_SIDE_SVR], "\n");
	}
}

static unsigned
midstat_count(const struct midstat_core *mc, int final)
{
	const struct midstat_conn *c;
	unsigned n = 0;

	TAILQ_FOREACH(c, &mc->conns, link)
		if (final || !c->gone)
			n++;
	return n;
}

static void
midstat_print_second(int cpu, int after_pause)
{
	struct midstat_core *mc = &midstat_cores[cpu];
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (f == NULL)
		return;
	fprintf(f, "midstat: core %d, second %u%s: %u flows\n", cpu,
		mc->second, after_pause ? " (after a pause)" : "",
		midstat_count(mc, 0));
	midstat_put_table(f, cpu, 0);
	if (fclose(f) == 0)
		midstat_emit(buf, len);
	free(buf);
}

/* The final table and summary of a core that has finished. */
static void
midstat_print_final(int cpu)
{
	struct midstat_core *mc = &midstat_cores[cpu];
	struct midstat_conn *c;
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	mc->open_end = midstat_count(mc, 1);
	f = open_memstream(&buf, &len);
	if (f != NULL) {
		fprintf(f, "midstat: core %d, end of input: %llu flows open\n",
			cpu, mc->open_end);
		midstat_put_table(f, cpu, 1);
		fprintf(f, "midstat: core %d: %llu flows seen, %llu closed, "
			"%llu timed out, %llu open at the end\n", cpu, mc->seen,
			mc->closed, mc->timed_out, mc->open_end);
		if (fclose(f) == 0)
			midstat_emit(buf, len);
		free(buf);
	}
	while ((c = TAILQ_FIRST(&mc->conns)) != NULL) {
		TAILQ_REMOVE(&mc->conns, c, link);
		free(c);
	}
}

static void
midstat_print_totals(int ncores)
{
	unsigned long long s = 0, x = 0, t = 0, o = 0;
	int i;

	for (i = 0; i < ncores && i < MIDSTAT_MAX_CORES; i++) {
		s += midstat_cores[i].seen;
		x += midstat_cores[i].closed;
		t += midstat_cores[i].timed_out;
		o += midstat_cores[i].open_end;
	}
	pthread_mutex_lock(&midstat_out_lock);
	printf("midstat: all cores: %llu flows seen, %llu closed, "
	       "%llu timed out, %llu open at the end\n", s, x, t, o);
	fflush(stdout);
	pthread_mutex_unlock(&midstat_out_lock);
}

static void
midstat_read_state(mctx_t m, int sock, struct midstat_conn *c, int side)
{
	static const int opt[2] = { MOS_TCP_STATE_CLI, MOS_TCP_STATE_SVR };
	socklen_t len = sizeof(int);
	int v;

	if (mtcp_getsockopt(m, sock, SOL_MONSOCKET, opt[side], &v, &len) == 0)
		c->state[side] = v;
}

/* Both states. The server side does not exist during the first SYN's
 * sender hook: what is known is kept. */
static void
midstat_refresh(mctx_t m, int sock, struct midstat_conn *c)
{
	midstat_read_state(m, sock, c, MOS_SIDE_CLI);
	midstat_read_state(m, sock, c, MOS_SIDE_SVR);
}

/* Unfinished flows that ended are kept until the next flow starts or the
 * next table is due on the core: if either happens, their end was not the
 * end of the input. */
static void
midstat_purge_gone(struct midstat_core *mc)
{
	struct midstat_conn *c, *next;

	for (c = TAILQ_FIRST(&mc->conns); c != NULL && mc->ngone > 0;
	     c = next) {
		next = TAILQ_NEXT(c, link);
		if (!c->gone)
			continue;
		TAILQ_REMOVE(&mc->conns, c, link);
		mc->ngone--;
		mc->closed++;
		free(c);
	}
}

static void
midstat_on_start(mctx_t m, int sock, int side, event_t ev, filter_arg_t *arg)
{
	struct midstat_core *mc = &midstat_cores[m->cpu];
	socklen_t len = sizeof(struct sockaddr_in[2]);
	struct midstat_conn *c;

	UNUSED(side);
	UNUSED(ev);
	UNUSED(arg);

	if (mc->ngone > 0)
		midstat_purge_gone(mc);
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return;
	if (mtcp_getpeername(m, sock, (struct sockaddr *)c->addr, &len,
			     MOS_SIDE_BOTH) != 0) {
		free(c);
		return;
	}
	c->state[0] = c->state[1] = -1;
	midstat_refresh(m, sock, c);
	TAILQ_INSERT_TAIL(&mc->conns, c, link);
	mc->seen++;
	mtcp_set_uctx(m, sock, c);
}

/* Raised at the hook of the side whose state changed. */
static void
midstat_on_state(mctx_t m, int sock, int side, event_t ev, filter_arg_t *arg)
{
	struct midstat_conn *c = mtcp_get_uctx(m, sock);

	UNUSED(ev);
	UNUSED(arg);

	if (c != NULL && (side == MOS_SIDE_CLI || side == MOS_SIDE_SVR))
		midstat_read_state(m, sock, c, side);
}

static void
midstat_on_timeout(mctx_t m, int sock, int side, event_t ev, filter_arg_t *arg)
{
	struct midstat_conn *c = mtcp_get_uctx(m, sock);

	UNUSED(side);
	UNUSED(ev);
	UNUSED(arg);

	if (c != NULL)
		c->timed_out = 1;
}

static int
midstat_state_final(int state)
{
	return state == TCP_CLOSED || state == TCP_TIME_WAIT;
}

/* Raised once per side; the first call does the work. */
static void
midstat_on_end(mctx_t m, int sock, int side, event_t ev, filter_arg_t *arg)
{
	struct midstat_core *mc = &midstat_cores[m->cpu];
	struct midstat_conn *c = mtcp_get_uctx(m, sock);

	UNUSED(side);
	UNUSED(ev);
	UNUSED(arg);

	if (c == NULL)
		return;
	mtcp_set_uctx(m, sock, NULL);
	midstat_refresh(m, sock, c);
	if (!c->timed_out && !(midstat_state_final(c->state[MOS_SIDE_CLI]) &&
			       midstat_state_final(c->state[MOS_SIDE_SVR]))) {
		c->gone = 1;
		mc->ngone++;
		return;
	}
	if (c->timed_out)
		mc->timed_out++;
	else
		mc->closed++;
	TAILQ_REMOVE(&mc->conns, c, link);
	free(c);
}

/* Tables follow the clock: if the timer comes late (a burst spanning
 * several seconds), every second that passed gets its table, and the next
 * one is due a whole number of seconds after the first. A tick more than
 * a minute late ends a pause of the clock (the engine catches a pause in
 * a capture up through an hour at most, then fires what is due once at
 * its end): it gets one table, and the seconds go on from there. The
 * clock's 32-bit microseconds cannot tell how long the pause was, and a
 * table per second of it is what the engine's bound is there to avoid. */
static void
midstat_on_tick(mctx_t m, int sock, int side, event_t ev, filter_arg_t *arg)
{
	struct midstat_core *mc = &midstat_cores[m->cpu];
	uint32_t now = mtcp_cb_get_ts(m);

	UNUSED(side);
	UNUSED(ev);
	UNUSED(arg);

	if (mc->ngone > 0)
		midstat_purge_gone(mc);
	if (!mc->ticking) {
		mc->ticking = 1;
		mc->due_us = now;
	}
	/* Microseconds wrap every 71 minutes: compare differences (a timer
	 * never fires early, so a negative one is over 35 minutes late). */
	if ((int32_t)(now - mc->due_us) < 0 ||
	    (int32_t)(now - mc->due_us) > MIDSTAT_PAUSE_US) {
		mc->second++;
		midstat_print_second(m->cpu, 1);
		mc->due_us = now + MIDSTAT_TICK_US;
	}
	while ((int32_t)(now - mc->due_us) >= 0) {
		mc->second++;
		midstat_print_second(m->cpu, 0);
		mc->due_us += MIDSTAT_TICK_US;
	}
	if (example_settimer_us(m, sock, mc->due_us - now,
				midstat_on_tick) != 0)
		fprintf(stderr, "midstat: core %d: cannot re-arm the timer: "
			"%s\n", m->cpu, strerror(errno));
}

/* Listener, callbacks and timer of one core. */
static int
midstat_setup(mctx_t m)
{
	struct midstat_core *mc;
	int zero = 0, sock;

	if (m->cpu < 0 || m->cpu >= MIDSTAT_MAX_CORES) {
		fprintf(stderr, "midstat: core %d: at most %d cores\n", m->cpu,
			MIDSTAT_MAX_CORES);
		return -1;
	}
	mc = &midstat_cores[m->cpu];
	TAILQ_INIT(&mc->conns);
	mc->used = 1;
	sock = mtcp_socket(m, AF_INET, MOS_SOCK_MONITOR_STREAM, 0);
	if (sock < 0)
		goto err;
	if (mtcp_setsockopt(m, sock, SOL_MONSOCKET, MOS_CLIBUF, &zero,
			    sizeof(zero)) != 0 ||
	    mtcp_setsockopt(m, sock, SOL_MONSOCKET, MOS_SVRBUF, &zero,
			    sizeof(zero)) != 0 ||
	    mtcp_register_callback(m, sock, MOS_ON_CONN_START, MOS_HK_SND,
				   midstat_on_start) != 0 ||
	    mtcp_register_callback(m, sock, MOS_ON_TCP_STATE_CHANGE,
				   MOS_HK_SND, midstat_on_state) != 0 ||
	    mtcp_register_callback(m, sock, MOS_ON_TCP_STATE_CHANGE,
				   MOS_HK_RCV, midstat_on_state) != 0 ||
	    mtcp_register_callback(m, sock, MOS_ON_TIMEOUT, MOS_NULL,
				   midstat_on_timeout) != 0 ||
	    mtcp_register_callback(m, sock, MOS_ON_CONN_END, MOS_HK_SND,
				   midstat_on_end) != 0 ||
	    example_settimer_us(m, sock, MIDSTAT_TICK_US,
				midstat_on_tick) != 0)
		goto err;
	return 0;
err:
	fprintf(stderr, "midstat: core %d: setting up the monitor failed: "
		"%s\n", m->cpu, strerror(errno));
	return -1;
}

#ifdef MB_STANDALONE

static void
midstat_usage(const char *prog)
{
	fprintf(stderr, "Usage: %s [-f mos_config_file] [-c #_of_cores]\n"
		"Without -f, moonbox's options come from MOONBOX_OPTS, e.g.\n"
		"  MOONBOX_OPTS=\"-r in.pcap\" %s\n", prog, prog);
}

int
main(int argc, char **argv)
{
	mctx_t mctx[MIDSTAT_MAX_CORES];
	const char *conf = NULL;
	int opt, cores = 0, i, n;

	while ((opt = getopt(argc, argv, "f:c:h")) != -1) {
		switch (opt) {
		case 'f':
			conf = optarg;
			break;
		case 'c':
			cores = example_cores(argv[0], opt, optarg,
					      MIDSTAT_MAX_CORES);
			if (cores < 0)
				return 2;
			break;
		default:
			midstat_usage(argv[0]);
			return opt == 'h' ? 0 : 2;
		}
	}
	if (optind != argc) {
		midstat_usage(argv[0]);
		return 2;
	}
	n = example_init(argv[0], conf, cores, MIDSTAT_MAX_CORES);
	if (n < 0 || example_run(argv[0], mctx, n, midstat_setup) != 0)
		return 1;
	/* Every core has finished: their lists are ours to read now. */
	for (i = 0; i < n; i++)
		midstat_print_final(i);
	midstat_print_totals(n);
	mtcp_destroy();
	return 0;
}

#else /* plugin */

const int moonbox_plugin_abi = MOONBOX_PLUGIN_ABI;

static int midstat_finished_cores;

int
moonbox_plugin_init(mctx_t mctx, int argc, char **argv)
{
	if (argc > 0) {
		fprintf(stderr, "midstat: unknown plugin argument '%s' "
			"(midstat takes none)\n", argv[0]);
		return 1;
	}
	return midstat_setup(mctx) == 0 ? 0 : 2;
}

/* Called on each core once it has finished; the last one adds up. */
void
moonbox_plugin_fini(mctx_t mctx)
{
	int n = moonbox_num_cores();

	if (mctx->cpu < 0 || mctx->cpu >= MIDSTAT_MAX_CORES ||
	    !midstat_cores[mctx->cpu].used)
		return;
	midstat_print_final(mctx->cpu);
	if (__atomic_add_fetch(&midstat_finished_cores, 1,
			       __ATOMIC_ACQ_REL) == n)
		midstat_print_totals(n);
}

#endif /* MB_STANDALONE */
