/*
 * nat.c - source NAT for TCP: client-to-server packets leave with the
 * source address and port rewritten to NAT_IP:PORT, and server-to-client
 * packets (which the server addresses to NAT_IP:PORT) get their
 * destination rewritten back to the client's address and port. IP and
 * TCP checksums are updated. A rewrite of mOS's nat sample for moonbox.
 *
 * Run it as a standalone mOS-style program:
 *	MOONBOX_OPTS="-r in.pcap -w out.pcap" ./mb-nat -i NAT_IP \
 *		[-f mos.conf] [-c CORES] [-p LOW-HIGH]
 * or as a native plugin of the moonbox program:
 *	moonbox -r in.pcap -w out.pcap [-c CORES] --plugin ./nat.so \
 *		--plugin-arg ip=NAT_IP [--plugin-arg ports=LOW-HIGH]
 *
 * How it works: MOS_ON_PKT_IN at MOS_HK_SND rewrites each packet of a flow
 * (mtcp_setlastpkt MOS_OVERWRITE with the checksum flags) before the
 * receiving side's emulation sees it; moonbox keys the flow's server side
 * on the rewritten first SYN, so the server's replies find the flow.
 * MOS_ON_CONN_END gives the port back. Reassembly is off.
 *
 * Port pool: ports LOW-HIGH (default 1025-65534), shared by all cores
 * under a mutex. The order is deterministic: the pool is a queue, at first
 * in ascending order; a flow takes the first port of the queue, and a
 * port comes back at the end of the queue when its flow ends
 * (MOS_ON_CONN_END), so it is reused only after every other free port.
 * On one core the n-th flow therefore gets the n-th port of that queue.
 * With several cores, a flow takes the first port in the queue for which
 * GetRSSCPUCore(NAT_IP, server, port, server port) names its own core, so
 * that the server's replies reach the core that holds the flow.
 *
 * Pool exhaustion: a flow that finds no port (none free, or none that
 * leads back to its core) is refused: every packet of it, in either
 * direction, is dropped and counted, for as long as moonbox tracks the
 * flow. TCP only; packets outside tracked flows (mid-stream packets,
 * other protocols) pass untranslated, as in mOS. Without --timewait a
 * flow ends, and its port is free again, as soon as the connection
 * closes.
 *
 * Output (stdout, at the end):
 *	nat: NAT_IP, ports LOW-HIGH: T flows translated, R refused (no
 *	port), P packets translated, D dropped, E errors; U ports in use at
 *	most
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <moonbox.h>
#include <mtcp_util.h>

#include "example.h"

#define NAT_MAX_CORES	64
#define NAT_PORT_LO	1025
#define NAT_PORT_HI	65534

struct nat_flow {
	struct sockaddr_in cli;	/* the client as it sent the first SYN */
	uint16_t port;		/* host order; 0 for a refused flow */
};

/* The free ports, a queue threaded through arrays indexed by port;
 * index 0 (never a port of the pool) is the head. */
static struct {
	pthread_mutex_t lock;
	uint16_t next[65536], prev[65536];
	uint8_t free[65536];
	uint16_t lo, hi;
	unsigned nfree, size, peak;
} nat_pool = { .lock = PTHREAD_MUTEX_INITIALIZER };

/* Shared by every refused flow: nothing to give back at its end. */
static struct nat_flow nat_refused;

static in_addr_t nat_ip;
static int nat_ncores = 1;
static unsigned long long nat_flows, nat_flows_refused, nat_pkts,
	nat_pkts_dropped, nat_errors;

static void
nat_add(unsigned long long *c)
{
	__atomic_fetch_add(c, 1, __ATOMIC_RELAXED);
}

/* -- Port pool ---------------------------------------------------------- */

static void
nat_pool_append(uint16_t p)
{
	uint16_t last = nat_pool.prev[0];

	nat_pool.prev[p] = last;
	nat_pool.next[p] = 0;
	nat_pool.next[last] = p;
	nat_pool.prev[0] = p;
	nat_pool.free[p] = 1;
	nat_pool.nfree++;
}

static void
nat_pool_init(uint16_t lo, uint16_t hi)
{
	unsigned p;

	nat_pool.next[0] = nat_pool.prev[0] = 0;
	nat_pool.lo = lo;
	nat_pool.hi = hi;
	nat_pool.size = (unsigned)(hi - lo) + 1;
	for (p = lo; p <= hi; p++)
		nat_pool_append((uint16_t)p);
}

/* A port (host order) for a flow of core `cpu` to the server srv:sport
 * (network order), or 0 if there is none. */
static uint16_t
nat_pool_get(int cpu, in_addr_t srv, in_port_t sport)
{
	uint16_t p;

	pthread_mutex_lock(&nat_pool.lock);
	for (p = nat_pool.next[0]; p != 0; p = nat_pool.next[p]) {
		if (nat_ncores > 1 &&
		    GetRSSCPUCore(nat_ip, srv, htons(p), sport, nat_ncores,
				  0) != cpu)
			continue;
		nat_pool.next[nat_pool.prev[p]] = nat_pool.next[p];
		nat_pool.prev[nat_pool.next[p]] = nat_pool.prev[p];
		nat_pool.free[p] = 0;
		nat_pool.nfree--;
		if (nat_pool.size - nat_pool.nfree > nat_pool.peak)
			nat_pool.peak = nat_pool.size - nat_pool.nfree;
		break;
	}
	pthread_mutex_unlock(&nat_pool.lock);
	return p;
}

static void
nat_pool_put(uint16_t p)
{
	pthread_mutex_lock(&nat_pool.lock);
	if (p >= nat_pool.lo && p <= nat_pool.hi && !nat_pool.free[p])
		nat_pool_append(p);
	pthread_mutex_unlock(&nat_pool.lock);
}

/* -- Monitor ------------------------------------------------------------ */

static struct nat_flow *
nat_flow_new(mctx_t m, int sock)
{
	struct sockaddr_in a[2];
	socklen_t len = sizeof(a);
	struct nat_flow *f;
	uint16_t port;

	if (mtcp_getpeername(m, sock, (struct sockaddr *)a, &len,
			     MOS_SIDE_BOTH) != 0) {
		nat_add(&nat_errors);
		return &nat_refused;
	}
	port = nat_pool_get(m->cpu, a[MOS_SIDE_SVR].sin_addr.s_addr,
			    a[MOS_SIDE_SVR].sin_port);
	if (port == 0) {
		nat_add(&nat_flows_refused);
		return &nat_refused;
	}
	f = malloc(sizeof(*f));
	if (f == NULL) {
		nat_pool_put(port);
		nat_add(&nat_errors);
		return &nat_refused;
	}
	f->cli = a[MOS_SIDE_CLI];
	f->port = port;
	nat_add(&nat_flows);
	return f;
}

static void
nat_drop(mctx_t m, int sock, int side)
{
	if (mtcp_setlastpkt(m, sock, side, 0, NULL, 0, MOS_DROP) == 0)
		nat_add(&nat_pkts_dropped);
	else
		nat_add(&nat_errors);
}

/* Every packet of a flow, at the sender's hook: side is the sender. */
static void
nat_on_pkt(mctx_t m, int sock, int side, event_t ev, filter_arg_t *arg)
{
	const int csum = MOS_UPDATE_IP_CHKSUM | MOS_UPDATE_TCP_CHKSUM;
	struct nat_flow *f = mtcp_get_uctx(m, sock);
	uint16_t port;
	int rc;

	UNUSED(ev);
	UNUSED(arg);

	if (f == NULL) {
		/* A flow starts with the client's SYN: decide there. */
		f = side == MOS_SIDE_CLI ? nat_flow_new(m, sock) :
		    &nat_refused;
		mtcp_set_uctx(m, sock, f);
	}
	if (f->port == 0) {
		nat_drop(m, sock, side);
		return;
	}
	if (side == MOS_SIDE_CLI) {
		port = htons(f->port);
		rc = mtcp_setlastpkt(m, sock, side, 12, (byte *)&nat_ip, 4,
				     MOS_IP_HDR | MOS_OVERWRITE);
		if (rc == 0)
			rc = mtcp_setlastpkt(m, sock, side, 0, (byte *)&port,
					     2, MOS_TCP_HDR | MOS_OVERWRITE |
					     csum);
	} else {
		rc = mtcp_setlastpkt(m, sock, side, 16,
				     (byte *)&f->cli.sin_addr.s_addr, 4,
				     MOS_IP_HDR | MOS_OVERWRITE);
		if (rc == 0)
			rc = mtcp_setlastpkt(m, sock, side, 2,
					     (byte *)&f->cli.sin_port, 2,
					     MOS_TCP_HDR | MOS_OVERWRITE |
					     csum);
	}
	if (rc == 0) {
		nat_add(&nat_pkts);
		return;
	}
	/* Half-rewritten packets must not leave. */
	nat_add(&nat_errors);
	nat_drop(m, sock, side);
}

/* Raised once per side; the first call gives the port back. */
static void
nat_on_end(mctx_t m, int sock, int side, event_t ev, filter_arg_t *arg)
{
	struct nat_flow *f = mtcp_get_uctx(m, sock);

	UNUSED(side);
	UNUSED(ev);
	UNUSED(arg);

	if (f == NULL)
		return;
	mtcp_set_uctx(m, sock, NULL);
	if (f == &nat_refused)
		return;
	nat_pool_put(f->port);
	free(f);
}

static int
nat_setup(mctx_t m)
{
	int zero = 0, sock;

	if (m->cpu < 0 || m->cpu >= NAT_MAX_CORES) {
		fprintf(stderr, "nat: core %d: at most %d cores\n", m->cpu,
			NAT_MAX_CORES);
		return -1;
	}
	sock = mtcp_socket(m, AF_INET, MOS_SOCK_MONITOR_STREAM, 0);
	if (sock < 0 ||
	    mtcp_setsockopt(m, sock, SOL_MONSOCKET, MOS_CLIBUF, &zero,
			    sizeof(zero)) != 0 ||
	    mtcp_setsockopt(m, sock, SOL_MONSOCKET, MOS_SVRBUF, &zero,
			    sizeof(zero)) != 0 ||
	    mtcp_register_callback(m, sock, MOS_ON_PKT_IN, MOS_HK_SND,
				   nat_on_pkt) != 0 ||
	    mtcp_register_callback(m, sock, MOS_ON_CONN_END, MOS_HK_SND,
				   nat_on_end) != 0) {
		fprintf(stderr, "nat: core %d: setting up the monitor failed: "
			"%s\n", m->cpu, strerror(errno));
		return -1;
	}
	return 0;
}

static int
nat_parse_ip(const char *s)
{
	struct in_addr a;

	if (inet_pton(AF_INET, s, &a) != 1) {
		fprintf(stderr, "nat: '%s' is not an IPv4 address\n", s);
		return -1;
	}
	nat_ip = a.s_addr;
	return 0;
}

static int
nat_parse_ports(const char *s, uint16_t *lo, uint16_t *hi)
{
	char *end;
	long a, b;

	errno = 0;
	a = strtol(s, &end, 10);
	if (errno == 0 && end != s && *end == '-') {
		const char *t = end + 1;

		b = strtol(t, &end, 10);
		if (errno == 0 && end != t && *end == '\0' && a >= 1 &&
		    b >= a && b <= 65535) {
			*lo = (uint16_t)a;
			*hi = (uint16_t)b;
			return 0;
		}
	}
	fprintf(stderr, "nat: bad port range '%s' (LOW-HIGH within "
		"1-65535)\n", s);
	return -1;
}

static void
nat_print_summary(void)
{
	char ip[INET_ADDRSTRLEN];
	unsigned peak;

	inet_ntop(AF_INET, &nat_ip, ip, sizeof(ip));
	pthread_mutex_lock(&nat_pool.lock);
	peak = nat_pool.peak;
	pthread_mutex_unlock(&nat_pool.lock);
	printf("nat: %s, ports %u-%u: %llu flows translated, %llu refused "
	       "(no port), %llu packets translated, %llu dropped, %llu errors; "
	       "%u ports in use at most\n", ip, nat_pool.lo, nat_pool.hi,
	       __atomic_load_n(&nat_flows, __ATOMIC_RELAXED),
	       __atomic_load_n(&nat_flows_refused, __ATOMIC_RELAXED),
	       __atomic_load_n(&nat_pkts, __ATOMIC_RELAXED),
	       __atomic_load_n(&nat_pkts_dropped, __ATOMIC_RELAXED),
	       __atomic_load_n(&nat_errors, __ATOMIC_RELAXED), peak);
	fflush(stdout);
}

#ifdef MB_STANDALONE

static void
nat_usage(const char *prog)
{
	fprintf(stderr, "Usage: %s -i NAT_IP [-f mos_config_file] "
		"[-c #_of_cores] [-p LOW-HIGH]\n"
		"Without -f, moonbox's options come from MOONBOX_OPTS, e.g.\n"
		"  MOONBOX_OPTS=\"-r in.pcap -w out.pcap\" %s -i 10.0.0.1\n",
		prog, prog);
}

int
main(int argc, char **argv)
{
	mctx_t mctx[NAT_MAX_CORES];
	const char *conf = NULL, *ip = NULL;
	uint16_t lo = NAT_PORT_LO, hi = NAT_PORT_HI;
	int opt, cores = 0, n;

	while ((opt = getopt(argc, argv, "i:f:c:p:h")) != -1) {
		switch (opt) {
		case 'i':
			ip = optarg;
			break;
		case 'f':
			conf = optarg;
			break;
		case 'c':
			cores = example_cores(argv[0], opt, optarg,
					      NAT_MAX_CORES);
			if (cores < 0)
				return 2;
			break;
		case 'p':
			if (nat_parse_ports(optarg, &lo, &hi) != 0)
				return 2;
			break;
		default:
			nat_usage(argv[0]);
			return opt == 'h' ? 0 : 2;
		}
	}
	if (optind != argc || ip == NULL) {
		if (ip == NULL)
			fprintf(stderr, "%s: the NAT address (-i) is "
				"required\n", argv[0]);
		nat_usage(argv[0]);
		return 2;
	}
	if (nat_parse_ip(ip) != 0)
		return 2;
	nat_pool_init(lo, hi);
	n = example_init(argv[0], conf, cores, NAT_MAX_CORES);
	if (n < 0)
		return 1;
	/* The port pools are split among the cores before they start. */
	nat_ncores = n;
	if (example_run(argv[0], mctx, n, nat_setup) != 0)
		return 1;
	nat_print_summary();
	mtcp_destroy();
	return 0;
}

#else /* plugin */

const int moonbox_plugin_abi = MOONBOX_PLUGIN_ABI;

static pthread_mutex_t nat_init_lock = PTHREAD_MUTEX_INITIALIZER;
static int nat_ready;		/* 1 ready, -1 bad arguments */
static int nat_finished_cores;

static int
nat_plugin_args(int argc, char **argv)
{
	uint16_t lo = NAT_PORT_LO, hi = NAT_PORT_HI;
	const char *ip = NULL;
	int i;

	for (i = 0; i < argc; i++) {
		if (strncmp(argv[i], "ip=", 3) == 0) {
			ip = argv[i] + 3;
		} else if (strncmp(argv[i], "ports=", 6) == 0) {
			if (nat_parse_ports(argv[i] + 6, &lo, &hi) != 0)
				return -1;
		} else {
			fprintf(stderr, "nat: unknown plugin argument '%s' "
				"(expected ip=NAT_IP, ports=LOW-HIGH)\n",
				argv[i]);
			return -1;
		}
	}
	if (ip == NULL) {
		fprintf(stderr, "nat: the NAT address is required: "
			"--plugin-arg ip=NAT_IP\n");
		return -1;
	}
	if (nat_parse_ip(ip) != 0)
		return -1;
	nat_pool_init(lo, hi);
	nat_ncores = moonbox_num_cores();
	return 0;
}

int
moonbox_plugin_init(mctx_t mctx, int argc, char **argv)
{
	int ok;

	/* Every core starts with the same arguments: apply them once. */
	pthread_mutex_lock(&nat_init_lock);
	if (nat_ready == 0)
		nat_ready = nat_plugin_args(argc, argv) == 0 ? 1 : -1;
	ok = nat_ready == 1;
	pthread_mutex_unlock(&nat_init_lock);
	if (!ok)
		return 1;
	return nat_setup(mctx) == 0 ? 0 : 2;
}

/* The last core to finish prints the summary. */
void
moonbox_plugin_fini(mctx_t mctx)
{
	UNUSED(mctx);
	if (__atomic_add_fetch(&nat_finished_cores, 1, __ATOMIC_ACQ_REL) ==
	    moonbox_num_cores())
		nat_print_summary();
}

#endif /* MB_STANDALONE */
