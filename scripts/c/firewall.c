/*
 * firewall.c - a SYN-time TCP firewall: each new flow is matched against
 * a list of rules when its first SYN arrives; the first matching rule
 * decides, and a flow no rule matches is accepted. A rewrite of mOS's
 * simple_firewall sample for moonbox, with its bugs fixed.
 *
 * Run it as a standalone mOS-style program:
 *	MOONBOX_OPTS="-r in.pcap -w out.pcap" ./mb-firewall -f firewall.rules \
 *		[-c mos.conf] [-n CORES]
 * or as a native plugin of the moonbox program:
 *	moonbox -r in.pcap -w out.pcap --plugin ./firewall.so \
 *		--plugin-arg rules=firewall.rules
 *
 * Rules file: one rule per line, `#` starts a comment, blank lines are
 * skipped:
 *	(ACCEPT|DROP) SRC[/PREFIX] DST[/PREFIX] [sport:PORT] [dport:PORT]
 * SRC and DST are IPv4 addresses with an optional prefix length 0-32
 * (any length is masked correctly; a bare 0.0.0.0 matches every address).
 * PORT is a number 1-65535, 0 for any port, or a range LOW-HIGH. Rules
 * apply to the first SYN: SRC and sport are the client's, DST and dport
 * the server's.
 *
 * Verdicts (MOS_ON_CONN_START at MOS_HK_SND):
 * - DROP: the SYN is dropped, and so is every later packet of the flow in
 *   either direction (the flow stays monitored; a callback on MOS_ON_PKT_IN
 *   at MOS_HK_SND drops each of its packets).
 * - ACCEPT (or no rule): monitoring of the flow stops (MOS_STOP_MON with
 *   MOS_SIDE_BOTH), so its packets pass untouched and cost nothing more.
 * Counters count flows, not SYNs: each core remembers the 4-tuple and
 * initial sequence number of the last SYNs it judged (8192 slots), and a
 * SYN seen again (a retransmission after monitoring stopped) is not
 * counted twice. A slot reused by another SYN in between forgets the old
 * one, which could count a very late retransmission again.
 *
 * Output (stdout): simple_firewall's table, every second of core 0's clock
 * (for captures, the packets' time) and once more at the end, followed by
 *	firewall: F flows: D dropped, A accepted (N matched no rule);
 *	P packets dropped, R repeated SYNs not counted
 */
#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <moonbox.h>

#include "example.h"

#define FIREWALL_MAX_CORES	64
#define FIREWALL_TICK_US	1000000u
#define FIREWALL_PAUSE_US	60000000	/* a later tick ends a pause */
#define FIREWALL_CACHE_SLOTS	8192u	/* power of two */

struct firewall_rule {
	int drop;
	uint32_t src, smask, dst, dmask;	/* network order */
	uint16_t sport_lo, sport_hi, dport_lo, dport_hi;
	char src_txt[24], dst_txt[24], sport_txt[16], dport_txt[16];
	unsigned long long flows;		/* updated atomically */
};

/* A SYN already judged: its 4-tuple and initial sequence number. */
struct firewall_syn {
	uint32_t sa, da, isn;
	uint16_t sp, dp;
	uint8_t used;
};

struct firewall_core {
	int used;
	struct firewall_syn *cache;
	int ticking;
	uint32_t due_us;
} __attribute__((aligned(64)));

static struct firewall_rule *firewall_rules;
static int firewall_nrules;
static struct firewall_core firewall_cores[FIREWALL_MAX_CORES];
static pthread_mutex_t firewall_out_lock = PTHREAD_MUTEX_INITIALIZER;

/* Totals, updated atomically by every core. */
static unsigned long long firewall_default_flows, firewall_flows_dropped,
	firewall_flows_accepted, firewall_pkts_dropped, firewall_syn_repeats;

static void
firewall_add(unsigned long long *c, unsigned long long v)
{
	__atomic_fetch_add(c, v, __ATOMIC_RELAXED);
}

static unsigned long long
firewall_get(const unsigned long long *c)
{
	return __atomic_load_n(c, __ATOMIC_RELAXED);
}

/* -- Rules file -------------------------------------------------------- */

static int
firewall_parse_addr(const char *tok, uint32_t *addr, uint32_t *mask,
		    char *txt, size_t txtlen)
{
	char ip[INET_ADDRSTRLEN], canon[INET_ADDRSTRLEN];
	const char *slash = strchr(tok, '/');
	struct in_addr a;
	long prefix = 32;
	size_t n = slash != NULL ? (size_t)(slash - tok) : strlen(tok);

	if (n == 0 || n >= sizeof(ip))
		return -1;
	memcpy(ip, tok, n);
	ip[n] = '\0';
	if (inet_pton(AF_INET, ip, &a) != 1)
		return -1;
	if (slash != NULL) {
		char *end;

		if (!isdigit((unsigned char)slash[1]))
			return -1;
		errno = 0;
		prefix = strtol(slash + 1, &end, 10);
		if (errno != 0 || *end != '\0' || prefix < 0 || prefix > 32)
			return -1;
	} else if (a.s_addr == 0) {
		prefix = 0;	/* a bare 0.0.0.0 is the wildcard */
	}
	/* A shift by 32 is undefined: /0 is written out. */
	*mask = prefix == 0 ? 0 : htonl(0xffffffffu << (32 - prefix));
	*addr = a.s_addr & *mask;
	a.s_addr = *addr;
	inet_ntop(AF_INET, &a, canon, sizeof(canon));
	if (slash == NULL || prefix == 32)
		snprintf(txt, txtlen, "%s", canon);
	else
		snprintf(txt, txtlen, "%s/%ld", canon, prefix);
	return 0;
}

static int
firewall_parse_num(const char *s, const char **end, long *v)
{
	char *e;

	if (!isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	*v = strtol(s, &e, 10);
	if (errno != 0 || *v < 0 || *v > 65535)
		return -1;
	*end = e;
	return 0;
}

static int
firewall_parse_port(const char *s, uint16_t *lo, uint16_t *hi,
		    char *txt, size_t txtlen)
{
	const char *end;
	long a, b;

	if (firewall_parse_num(s, &end, &a) != 0)
		return -1;
	if (*end == '\0') {
		if (a == 0) {
			*lo = 0;
			*hi = 65535;
		} else {
			*lo = *hi = (uint16_t)a;
		}
		snprintf(txt, txtlen, "%ld", a);
		return 0;
	}
	if (*end != '-' || firewall_parse_num(end + 1, &end, &b) != 0 ||
	    *end != '\0' || b < a)
		return -1;
	*lo = (uint16_t)a;
	*hi = (uint16_t)b;
	snprintf(txt, txtlen, "%ld-%ld", a, b);
	return 0;
}

static int
firewall_parse_line(char *line, struct firewall_rule *r, const char **why)
{
	char *save = NULL, *tok;
	int n = 0;

	memset(r, 0, sizeof(*r));
	r->sport_hi = r->dport_hi = 65535;
	for (tok = strtok_r(line, " \t\r\n", &save); tok != NULL;
	     tok = strtok_r(NULL, " \t\r\n", &save), n++) {
		if (n == 0) {
			if (strcasecmp(tok, "DROP") == 0) {
				r->drop = 1;
			} else if (strcasecmp(tok, "ACCEPT") != 0) {
				*why = "the target must be ACCEPT or DROP";
				return -1;
			}
		} else if (n == 1 || n == 2) {
			int bad = n == 1 ?
				firewall_parse_addr(tok, &r->src, &r->smask,
						    r->src_txt,
						    sizeof(r->src_txt)) :
				firewall_parse_addr(tok, &r->dst, &r->dmask,
						    r->dst_txt,
						    sizeof(r->dst_txt));

			if (bad) {
				*why = "bad address (IPv4[/0-32])";
				return -1;
			}
		} else if (strncmp(tok, "sport:", 6) == 0 &&
			   r->sport_txt[0] == '\0') {
			if (firewall_parse_port(tok + 6, &r->sport_lo,
						&r->sport_hi, r->sport_txt,
						sizeof(r->sport_txt)) != 0) {
				*why = "bad port (0-65535 or LOW-HIGH)";
				return -1;
			}
		} else if (strncmp(tok, "dport:", 6) == 0 &&
			   r->dport_txt[0] == '\0') {
			if (firewall_parse_port(tok + 6, &r->dport_lo,
						&r->dport_hi, r->dport_txt,
						sizeof(r->dport_txt)) != 0) {
				*why = "bad port (0-65535 or LOW-HIGH)";
				return -1;
			}
		} else {
			*why = "unexpected word (sport:PORT and dport:PORT "
			       "may each appear once)";
			return -1;
		}
	}
	if (n == 0)
		return 0;	/* blank or comment */
	if (n < 3) {
		*why = "a rule needs a target, a source and a destination";
		return -1;
	}
	return 1;
}

static int
firewall_load(const char *path)
{
	char *line = NULL;
	size_t cap = 0;
	int lineno = 0, rc = 0, max = 0;
	FILE *f = fopen(path, "r");

	if (f == NULL) {
		fprintf(stderr, "firewall: %s: %s\n", path, strerror(errno));
		return -1;
	}
	while (getline(&line, &cap, f) != -1) {
		const char *why = NULL;
		char *hash = strchr(line, '#');
		struct firewall_rule r;
		int got;

		lineno++;
		if (hash != NULL)
			*hash = '\0';
		got = firewall_parse_line(line, &r, &why);
		if (got < 0) {
			fprintf(stderr, "firewall: %s:%d: %s\n", path, lineno,
				why);
			rc = -1;
			break;
		}
		if (got == 0)
			continue;
		if (firewall_nrules == max) {
			int nmax = max ? max * 2 : 16;
			struct firewall_rule *nr = realloc(firewall_rules,
						     sizeof(*nr) * nmax);

			if (nr == NULL) {
				fprintf(stderr, "firewall: out of memory\n");
				rc = -1;
				break;
			}
			firewall_rules = nr;
			max = nmax;
		}
		firewall_rules[firewall_nrules++] = r;
	}
	free(line);
	fclose(f);
	return rc;
}

/* First matching rule, or -1. Addresses in network order, ports in host
 * order. */
static int
firewall_lookup(uint32_t sa, uint32_t da, uint16_t sp, uint16_t dp)
{
	int i;

	for (i = 0; i < firewall_nrules; i++) {
		const struct firewall_rule *r = &firewall_rules[i];

		if ((sa & r->smask) == r->src && (da & r->dmask) == r->dst &&
		    sp >= r->sport_lo && sp <= r->sport_hi &&
		    dp >= r->dport_lo && dp <= r->dport_hi)
			return i;
	}
	return -1;
}

/* -- Output ------------------------------------------------------------ */

static void
firewall_print_table(int final)
{
	static const char dashes[] = "-----------------------------------"
		"------------------------------------";
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	int i;

	if (f == NULL)
		return;
	fprintf(f, "%s\nFirewall rule table\n", dashes);
	fprintf(f, "idx   flows   target   client             server"
		"             port\n");
	for (i = 0; i < firewall_nrules; i++) {
		const struct firewall_rule *r = &firewall_rules[i];

		fprintf(f, "%-6d%-8llu%-9s%-19s%-19s", i + 1,
			firewall_get(&r->flows), r->drop ? "DROP" : "ACCEPT",
			r->src_txt, r->dst_txt);
		if (r->sport_txt[0] != '\0')
			fprintf(f, "sport:%-6s", r->sport_txt);
		if (r->dport_txt[0] != '\0')
			fprintf(f, "dport:%-6s", r->dport_txt);
		fputc('\n', f);
	}
	fprintf(f, "%s\n", dashes);
	if (final)
		fprintf(f, "firewall: %llu flows: %llu dropped, %llu accepted "
			"(%llu matched no rule); %llu packets dropped, %llu "
			"repeated SYNs not counted\n",
			firewall_get(&firewall_flows_dropped) +
			firewall_get(&firewall_flows_accepted),
			firewall_get(&firewall_flows_dropped),
			firewall_get(&firewall_flows_accepted),
			firewall_get(&firewall_default_flows),
			firewall_get(&firewall_pkts_dropped),
			firewall_get(&firewall_syn_repeats));
	if (fclose(f) == 0) {
		pthread_mutex_lock(&firewall_out_lock);
		fwrite(buf, 1, len, stdout);
		fflush(stdout);
		pthread_mutex_unlock(&firewall_out_lock);
	}
	free(buf);
}

/* -- Monitor ----------------------------------------------------------- */

/* Remember a SYN; 0 if it was remembered already. */
static int
firewall_cache_add(struct firewall_core *fc, uint32_t sa, uint32_t da,
		   uint16_t sp, uint16_t dp, uint32_t isn)
{
	uint64_t h = ((uint64_t)sa << 32 | da) * 0x9e3779b97f4a7c15ull;
	struct firewall_syn *e;

	h ^= ((uint64_t)sp << 48 | (uint64_t)dp << 32 | isn) *
	     0xc2b2ae3d27d4eb4full;
	h ^= h >> 31;
	e = &fc->cache[(h >> 20) & (FIREWALL_CACHE_SLOTS - 1)];
	if (e->used && e->sa == sa && e->da == da && e->sp == sp &&
	    e->dp == dp && e->isn == isn)
		return 0;
	*e = (struct firewall_syn){ sa, da, isn, sp, dp, 1 };
	return 1;
}

static void
firewall_drop(mctx_t m, int sock, int side)
{
	if (mtcp_setlastpkt(m, sock, side, 0, NULL, 0, MOS_DROP) == 0)
		firewall_add(&firewall_pkts_dropped, 1);
	else
		fprintf(stderr, "firewall: core %d: cannot drop a packet: "
			"%s\n", m->cpu, strerror(errno));
}

/* Every later packet of a denied flow, either direction. */
static void
firewall_on_denied_pkt(mctx_t m, int sock, int side, event_t ev,
		       filter_arg_t *a)
{
	UNUSED(ev);
	UNUSED(a);

	firewall_drop(m, sock, side);
}

static void
firewall_on_start(mctx_t m, int sock, int side, event_t ev, filter_arg_t *arg)
{
	struct firewall_core *fc = &firewall_cores[m->cpu];
	struct sockaddr_in addr[2];
	socklen_t len = sizeof(addr);
	struct pkt_info p;
	uint32_t sa, da;
	uint16_t sp, dp;
	int r, fresh = 1, both = MOS_SIDE_BOTH;

	UNUSED(ev);
	UNUSED(arg);

	if (mtcp_getpeername(m, sock, (struct sockaddr *)addr, &len,
			     MOS_SIDE_BOTH) != 0) {
		fprintf(stderr, "firewall: core %d: getpeername: %s\n", m->cpu,
			strerror(errno));
		return;
	}
	sa = addr[MOS_SIDE_CLI].sin_addr.s_addr;
	da = addr[MOS_SIDE_SVR].sin_addr.s_addr;
	sp = ntohs(addr[MOS_SIDE_CLI].sin_port);
	dp = ntohs(addr[MOS_SIDE_SVR].sin_port);
	/* Without the packet (never expected) the SYN cannot be compared:
	 * count it. */
	if (mtcp_getlastpkt(m, sock, side, &p) == 0 && p.tcph != NULL)
		fresh = firewall_cache_add(fc, sa, da, sp, dp, p.seq);
	r = firewall_lookup(sa, da, sp, dp);
	if (fresh) {
		if (r >= 0)
			firewall_add(&firewall_rules[r].flows, 1);
		else
			firewall_add(&firewall_default_flows, 1);
		firewall_add(r >= 0 && firewall_rules[r].drop ?
			     &firewall_flows_dropped :
			     &firewall_flows_accepted, 1);
	} else {
		firewall_add(&firewall_syn_repeats, 1);
	}
	if (r >= 0 && firewall_rules[r].drop) {
		firewall_drop(m, sock, side);
		if (mtcp_register_callback(m, sock, MOS_ON_PKT_IN, MOS_HK_SND,
					   firewall_on_denied_pkt) != 0)
			fprintf(stderr, "firewall: core %d: cannot watch a "
				"denied flow: %s\n", m->cpu, strerror(errno));
		return;
	}
	if (mtcp_setsockopt(m, sock, SOL_MONSOCKET, MOS_STOP_MON, &both,
			    sizeof(both)) != 0)
		fprintf(stderr, "firewall: core %d: MOS_STOP_MON: %s\n",
			m->cpu, strerror(errno));
}

/* One table per second of the clock, late timers included, and one for a
 * tick over a minute late, which ends a pause of the clock (see
 * midstat.c). */
static void
firewall_on_tick(mctx_t m, int sock, int side, event_t ev, filter_arg_t *arg)
{
	struct firewall_core *fc = &firewall_cores[m->cpu];
	uint32_t now = mtcp_cb_get_ts(m);

	UNUSED(side);
	UNUSED(ev);
	UNUSED(arg);

	if (!fc->ticking) {
		fc->ticking = 1;
		fc->due_us = now;
	}
	if ((int32_t)(now - fc->due_us) < 0 ||
	    (int32_t)(now - fc->due_us) > FIREWALL_PAUSE_US) {
		firewall_print_table(0);
		fc->due_us = now + FIREWALL_TICK_US;
	}
	while ((int32_t)(now - fc->due_us) >= 0) {
		firewall_print_table(0);
		fc->due_us += FIREWALL_TICK_US;
	}
	if (example_settimer_us(m, sock, fc->due_us - now,
				firewall_on_tick) != 0)
		fprintf(stderr, "firewall: cannot re-arm the timer: %s\n",
			strerror(errno));
}

static int
firewall_setup(mctx_t m)
{
	struct firewall_core *fc;
	int zero = 0, sock;

	if (m->cpu < 0 || m->cpu >= FIREWALL_MAX_CORES) {
		fprintf(stderr, "firewall: core %d: at most %d cores\n",
			m->cpu, FIREWALL_MAX_CORES);
		return -1;
	}
	fc = &firewall_cores[m->cpu];
	fc->cache = calloc(FIREWALL_CACHE_SLOTS, sizeof(*fc->cache));
	if (fc->cache == NULL) {
		errno = ENOMEM;
		goto err;
	}
	fc->used = 1;
	sock = mtcp_socket(m, AF_INET, MOS_SOCK_MONITOR_STREAM, 0);
	if (sock < 0)
		goto err;
	if (mtcp_setsockopt(m, sock, SOL_MONSOCKET, MOS_CLIBUF, &zero,
			    sizeof(zero)) != 0 ||
	    mtcp_setsockopt(m, sock, SOL_MONSOCKET, MOS_SVRBUF, &zero,
			    sizeof(zero)) != 0 ||
	    mtcp_register_callback(m, sock, MOS_ON_CONN_START, MOS_HK_SND,
				   firewall_on_start) != 0)
		goto err;
	/* The periodic table is the whole firewall's: core 0 prints it. */
	if (m->cpu == 0 &&
	    example_settimer_us(m, sock, FIREWALL_TICK_US,
				firewall_on_tick) != 0)
		goto err;
	return 0;
err:
	fprintf(stderr, "firewall: core %d: setting up the monitor failed: "
		"%s\n", m->cpu, strerror(errno));
	return -1;
}

static void
firewall_core_free(int cpu)
{
	free(firewall_cores[cpu].cache);
	firewall_cores[cpu].cache = NULL;
}

#ifdef MB_STANDALONE

static void
firewall_usage(const char *prog)
{
	fprintf(stderr, "Usage: %s -f rules_file [-c mos_config_file] "
		"[-n #_of_cores]\n"
		"Without -c, moonbox's options come from MOONBOX_OPTS, e.g.\n"
		"  MOONBOX_OPTS=\"-r in.pcap -w out.pcap\" %s -f rules\n",
		prog, prog);
}

int
main(int argc, char **argv)
{
	mctx_t mctx[FIREWALL_MAX_CORES];
	const char *conf = NULL, *rules = NULL;
	int opt, cores = 0, i, n;

	while ((opt = getopt(argc, argv, "c:f:n:h")) != -1) {
		switch (opt) {
		case 'c':
			conf = optarg;
			break;
		case 'f':
			rules = optarg;
			break;
		case 'n':
			cores = example_cores(argv[0], opt, optarg,
					      FIREWALL_MAX_CORES);
			if (cores < 0)
				return 2;
			break;
		default:
			firewall_usage(argv[0]);
			return opt == 'h' ? 0 : 2;
		}
	}
	if (optind != argc || rules == NULL) {
		firewall_usage(argv[0]);
		return 2;
	}
	if (firewall_load(rules) != 0)
		return 1;
	n = example_init(argv[0], conf, cores, FIREWALL_MAX_CORES);
	if (n < 0 || example_run(argv[0], mctx, n, firewall_setup) != 0)
		return 1;
	firewall_print_table(1);
	for (i = 0; i < n; i++)
		firewall_core_free(i);
	mtcp_destroy();
	free(firewall_rules);
	return 0;
}

#else /* plugin */

const int moonbox_plugin_abi = MOONBOX_PLUGIN_ABI;

static pthread_mutex_t firewall_init_lock = PTHREAD_MUTEX_INITIALIZER;
static int firewall_loaded;		/* 1 loaded, -1 failed */
static int firewall_finished_cores;

int
moonbox_plugin_init(mctx_t mctx, int argc, char **argv)
{
	const char *rules = NULL;
	int i, ok;

	for (i = 0; i < argc; i++) {
		if (strncmp(argv[i], "rules=", 6) == 0) {
			rules = argv[i] + 6;
		} else {
			fprintf(stderr, "firewall: unknown plugin argument "
				"'%s' (expected rules=FILE)\n", argv[i]);
			return 1;
		}
	}
	if (rules == NULL) {
		fprintf(stderr, "firewall: no rules: --plugin-arg "
			"rules=FILE\n");
		return 1;
	}
	/* Every core starts with the same arguments: load them once. */
	pthread_mutex_lock(&firewall_init_lock);
	if (firewall_loaded == 0)
		firewall_loaded = firewall_load(rules) == 0 ? 1 : -1;
	ok = firewall_loaded == 1;
	pthread_mutex_unlock(&firewall_init_lock);
	if (!ok)
		return 1;
	return firewall_setup(mctx) == 0 ? 0 : 2;
}

/* The last core to finish prints the final table. */
void
moonbox_plugin_fini(mctx_t mctx)
{
	if (mctx->cpu < 0 || mctx->cpu >= FIREWALL_MAX_CORES ||
	    !firewall_cores[mctx->cpu].used)
		return;
	firewall_core_free(mctx->cpu);
	if (__atomic_add_fetch(&firewall_finished_cores, 1, __ATOMIC_ACQ_REL) ==
	    moonbox_num_cores())
		firewall_print_table(1);
}

#endif /* MB_STANDALONE */
