/*
 * flowstat.c - a standalone monitor written exactly like an mOS sample
 * (midstat's shape): it proves that such programs build against moonbox's
 * public headers and run unchanged. For every TCP connection it prints one
 * line when the connection ends:
 *
 *   conn CLIENT_IP:PORT SERVER_IP:PORT c2s BYTES s2c BYTES
 *
 * where BYTES counts the stream bytes of each direction that moonbox
 * delivered (read with mtcp_peek, plus any it reported as missed), and,
 * once, "timer core 0" from a timer main arms on core 0.
 *
 * Usage: flowstat [-f mos.conf] [-c cores] [-n] [-u]
 * -n: return from main without mtcp_destroy(), as some programs end.
 * -u: a SIGUSR1 handler of the program's own (it prints "usr1"), set
 *     before mtcp_init(), which must leave it alone.
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/queue.h>
#include <sys/time.h>
#include <arpa/inet.h>

#include <mos_api.h>
#include <mtcp_util.h>

#define MAX_CORES	16
#define MOS_CONFIG_FILE	"config/mos.conf"

struct connection {
	int sock;
	struct sockaddr_in addrs[2];	/* client, server */
	uint64_t bytes[2];		/* received by the client, the server */
	TAILQ_ENTRY(connection) link;
};

static int g_max_cores = 1;
static mctx_t g_mctx[MAX_CORES];
static TAILQ_HEAD(, connection) g_sockq[MAX_CORES];

static void
sigint_handler(int signum)
{
	int i;

	UNUSED(signum);
	for (i = 0; i < g_max_cores; i++)
		mtcp_destroy_context(g_mctx[i]);
}

static struct connection *
find_connection(int cpu, int sock)
{
	struct connection *c;

	TAILQ_FOREACH(c, &g_sockq[cpu], link)
		if (c->sock == sock)
			return c;
	return NULL;
}

static void
cb_creation(mctx_t mctx, int sock, int side, event_t events,
	    filter_arg_t *arg)
{
	socklen_t addrslen = sizeof(struct sockaddr) * 2;
	struct connection *c;

	UNUSED(side);
	UNUSED(events);
	UNUSED(arg);
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return;
	c->sock = sock;
	if (mtcp_getpeername(mctx, sock, (struct sockaddr *)c->addrs,
			     &addrslen, MOS_SIDE_BOTH) < 0) {
		perror("mtcp_getpeername");
		free(c);
		return;
	}
	TAILQ_INSERT_TAIL(&g_sockq[mctx->cpu], c, link);
}

/* Read what a side received so far (MOS_ON_CONN_NEW_DATA), or before it
 * would be overwritten (MOS_ON_ERROR). */
static void
cb_read(mctx_t mctx, int sock, int side, event_t events, filter_arg_t *arg)
{
	struct connection *c;
	char buf[4096];
	ssize_t n;

	UNUSED(events);
	UNUSED(arg);
	if (side != MOS_SIDE_CLI && side != MOS_SIDE_SVR)
		return;
	if (!(c = find_connection(mctx->cpu, sock)))
		return;
	for (;;) {
		n = mtcp_peek(mctx, sock, side, buf, sizeof(buf));
		if (n == 0 || (n < 0 && errno != ENODATA))
			break;
		/* -n bytes were overwritten before we read them */
		c->bytes[side] += (uint64_t)(n < 0 ? -n : n);
	}
}

static void
cb_destroy(mctx_t mctx, int sock, int side, event_t events,
	   filter_arg_t *arg)
{
	struct connection *c;
	char cli[INET_ADDRSTRLEN], svr[INET_ADDRSTRLEN];

	UNUSED(side);
	UNUSED(events);
	UNUSED(arg);
	if (!(c = find_connection(mctx->cpu, sock)))
		return;
	inet_ntop(AF_INET, &c->addrs[MOS_SIDE_CLI].sin_addr, cli, sizeof(cli));
	inet_ntop(AF_INET, &c->addrs[MOS_SIDE_SVR].sin_addr, svr, sizeof(svr));
	printf("conn %s:%u %s:%u c2s %llu s2c %llu\n",
	       cli, ntohs(c->addrs[MOS_SIDE_CLI].sin_port),
	       svr, ntohs(c->addrs[MOS_SIDE_SVR].sin_port),
	       (unsigned long long)c->bytes[MOS_SIDE_SVR],
	       (unsigned long long)c->bytes[MOS_SIDE_CLI]);
	TAILQ_REMOVE(&g_sockq[mctx->cpu], c, link);
	free(c);
}

static void
cb_timer(mctx_t mctx, int sock, int side, event_t events, filter_arg_t *arg)
{
	UNUSED(sock);
	UNUSED(side);
	UNUSED(events);
	UNUSED(arg);
	printf("timer core %d\n", mctx->cpu);
}

static void
RegisterCallbacks(mctx_t mctx, int sock)
{
	if (mtcp_register_callback(mctx, sock, MOS_ON_CONN_START,
				   MOS_HK_SND, cb_creation) ||
	    mtcp_register_callback(mctx, sock, MOS_ON_CONN_NEW_DATA,
				   MOS_NULL, cb_read) ||
	    mtcp_register_callback(mctx, sock, MOS_ON_ERROR,
				   MOS_NULL, cb_read) ||
	    mtcp_register_callback(mctx, sock, MOS_ON_CONN_END,
				   MOS_HK_SND, cb_destroy)) {
		fprintf(stderr, "Failed to register callbacks: %s\n",
			strerror(errno));
		exit(EXIT_FAILURE);
	}
}

static volatile sig_atomic_t g_usr1;

static void
usr1_handler(int sig)
{
	(void)sig;
	g_usr1 = 1;
}

static int
InitMonitor(mctx_t mctx)
{
	int sock;

	TAILQ_INIT(&g_sockq[mctx->cpu]);
	if ((sock = mtcp_socket(mctx, AF_INET, MOS_SOCK_MONITOR_STREAM,
				0)) < 0) {
		fprintf(stderr, "Failed to create monitor listening socket!\n");
		exit(EXIT_FAILURE);
	}
	RegisterCallbacks(mctx, sock);
	return sock;
}

int
main(int argc, char **argv)
{
	struct timeval tv_now = { 0, 0 };
	char *fname = MOS_CONFIG_FILE;
	struct mtcp_conf mcfg;
	int i, opt, sock0 = -1, destroy = 1;

	while ((opt = getopt(argc, argv, "c:f:nu")) != -1) {
		switch (opt) {
		case 'n':
			destroy = 0;
			break;
		case 'u':
			signal(SIGUSR1, usr1_handler);
			break;
		case 'f':
			fname = optarg;
			break;
		case 'c':
			g_max_cores = atoi(optarg);
			if (g_max_cores < 1 || g_max_cores > MAX_CORES) {
				printf("Available number of CPU cores is %d\n",
				       MAX_CORES);
				return -1;
			}
			break;
		default:
			printf("Usage: %s [-f mos_config_file] [-c #_of_cpu] "
			       "[-n] [-u]\n", argv[0]);
			return 0;
		}
	}

	if (mtcp_init(fname)) {
		fprintf(stderr, "Failed to initialize mtcp: %s\n",
			strerror(errno));
		exit(EXIT_FAILURE);
	}

	/* set the core limit */
	mtcp_getconf(&mcfg);
	mcfg.num_cores = g_max_cores;
	if (mtcp_setconf(&mcfg)) {
		fprintf(stderr, "mtcp_setconf: %s\n", strerror(errno));
		exit(EXIT_FAILURE);
	}

	mtcp_register_signal(SIGINT, sigint_handler);

	for (i = 0; i < g_max_cores; i++) {
		if (!(g_mctx[i] = mtcp_create_context(i))) {
			fprintf(stderr, "Failed to create mtcp context.\n");
			return -1;
		}
		if (i == 0)
			sock0 = InitMonitor(g_mctx[i]);
		else
			InitMonitor(g_mctx[i]);
	}

	/* CPU 0 says once that its timers run */
	if (mtcp_settimer(g_mctx[0], sock0, &tv_now, cb_timer)) {
		fprintf(stderr, "Failed to register timer\n");
		exit(EXIT_FAILURE);
	}

	for (i = 0; i < g_max_cores; i++)
		mtcp_app_join(g_mctx[i]);
	if (g_usr1)
		printf("usr1\n");

	if (destroy)
		mtcp_destroy();
	return 0;
}
