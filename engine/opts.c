/*
 * opts.c - parser of moonbox's options (see opts.h and moonbox(1)).
 *
 * getopt_long with argument permutation, so `moonbox policy.lua -r in.pcap`
 * and `moonbox -r in.pcap policy.lua` mean the same; getopt's global state
 * is reset before and restored after, because a standalone mOS program may
 * run its own getopt loop before calling mtcp_init().
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "opts.h"

enum {
	O_PORT = 256, O_PASSIVE, O_EAL, O_STATS, O_DROP_MALFORMED, O_VERSION,
	O_MBUFS, O_IPFRAG, O_MAX_FLOWS, O_RMEM, O_OVERLAP, O_TIMEWAIT,
	O_TIMEOUT, O_NO_EOF_FLUSH, O_CLOCK, O_PLUGIN, O_PLUGIN_ARG,
	O_ON_ERROR, O_LUA_MEM, O_WATCHDOG, O_PROGRESS, O_NO_PROGRESS, O_TIME,
	O_CYCLES, O_SCENARIO, O_MAX_FRAME, O_STATS_INTERVAL, O_CHECK,
};

static const struct option long_opts[] = {
	{ "read", required_argument, NULL, 'r' },
	{ "write", required_argument, NULL, 'w' },
	{ "port", required_argument, NULL, O_PORT },
	{ "passive", no_argument, NULL, O_PASSIVE },
	{ "eal", required_argument, NULL, O_EAL },
	{ "cores", required_argument, NULL, 'c' },
	{ "mbufs", required_argument, NULL, O_MBUFS },
	{ "max-frame", required_argument, NULL, O_MAX_FRAME },
	{ "stats", required_argument, NULL, O_STATS },
	{ "stats-interval", required_argument, NULL, O_STATS_INTERVAL },
	{ "check", no_argument, NULL, O_CHECK },
	{ "drop-malformed", no_argument, NULL, O_DROP_MALFORMED },
	{ "ipfrag", required_argument, NULL, O_IPFRAG },
	{ "max-flows", required_argument, NULL, O_MAX_FLOWS },
	{ "rmem", required_argument, NULL, O_RMEM },
	{ "overlap", required_argument, NULL, O_OVERLAP },
	{ "timewait", required_argument, NULL, O_TIMEWAIT },
	{ "timeout", required_argument, NULL, O_TIMEOUT },
	{ "no-eof-flush", no_argument, NULL, O_NO_EOF_FLUSH },
	{ "clock", required_argument, NULL, O_CLOCK },
	{ "plugin", required_argument, NULL, O_PLUGIN },
	{ "plugin-arg", required_argument, NULL, O_PLUGIN_ARG },
	{ "on-error", required_argument, NULL, O_ON_ERROR },
	{ "lua-mem", required_argument, NULL, O_LUA_MEM },
	{ "watchdog", required_argument, NULL, O_WATCHDOG },
	{ "progress", no_argument, NULL, O_PROGRESS },
	{ "no-progress", no_argument, NULL, O_NO_PROGRESS },
	{ "time", required_argument, NULL, O_TIME },
	{ "cycles", no_argument, NULL, O_CYCLES },
	{ "scenario", no_argument, NULL, O_SCENARIO },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, O_VERSION },
	{ NULL, 0, NULL, 0 },
};

void
opts_defaults(struct mb_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->cores = 1;
	o->ipfrag = IPFRAG_REASSEMBLE;
	o->max_flows = 131072;
	o->rmem = 8192;
	o->max_frame = OPTS_FRAME_DEFAULT;
	o->timewait_ms = 0;
	o->timeout_ms = 30000;
	o->eof_flush = 1;
	o->clock = CLOCK_AUTO;
	o->on_error = ON_ERROR_PASS;
	o->lua_mem_mb = 512;
	o->watchdog_ms = 2000;
	o->progress = PROGRESS_AUTO;
}

void
opts_for_check(struct mb_opts *o)
{
	/* A check may run next to the moonbox it checks: it opens none of
	 * its ports or files, takes no hugepages (EAL's other arguments go
	 * too, a --file-prefix among them) and sends nothing. */
	o->read_file = NULL;
	o->write_file = NULL;
	o->ports[0] = "net_null0,no-rx=1";
	o->ports[1] = "net_null1,no-rx=1";
	o->nb_ports = 2;
	o->passive = 1;
	o->eal_extra = "--no-huge";
	o->mbufs = 0;
	o->stats_file = NULL;
	o->stats_interval_s = 0;
	o->time_s = 0;
	o->progress = PROGRESS_OFF;
}

void
opts_usage(FILE *f, const char *prog)
{
	fprintf(f,
"Usage: %s [options] [SCRIPT.lua [script args...]]\n"
"Run a Lua (or native) mOS-style policy over TCP traffic.\n"
"\n"
"Input and output:\n"
"  -r, --read FILE        read packets from a pcap file (-: stdin); exit at\n"
"                         its end\n"
"  -w, --write FILE       write forwarded packets to a pcap file (-: stdout;\n"
"                         with -r), each with its input time stamp\n"
"      --port DEV         add a port (PCI address or DPDK vdev string);\n"
"                         ports are paired in order and forward to each other\n"
"      --passive          never transmit (monitor only)\n"
"      --check            load the plugins and SCRIPT on every core, then\n"
"                         end: status 0 if all loaded (no traffic, no output)\n"
"      --scenario         run SCRIPT as a test scenario: it pushes frames\n"
"                         through two ports of its own (see mos_scenario(3))\n"
"  -c, --cores N          worker cores (default 1)\n"
"      --eal \"ARGS\"       extra DPDK EAL arguments\n"
"      --mbufs N          packet buffers (default: sized from the setup)\n"
"      --max-frame BYTES  largest frame a port hands over, 2048 (default)\n"
"                         to 16384 (jumbo frames)\n"
"\n"
"Packet path and flow engine:\n"
"      --drop-malformed   drop malformed frames (default: forward them)\n"
"      --ipfrag=MODE      reassemble (default) or pass IPv4 fragments\n"
"      --max-flows N      flows per core (default 131072)\n"
"      --rmem BYTES       reassembly window per side (default 8192)\n"
"      --overlap=POLICY   first (default) or last copy of overlapping data\n"
"      --timewait SEC     TIME_WAIT hold (default 0)\n"
"      --timeout SEC      idle timeout, 0 = never (default 30)\n"
"      --no-eof-flush     at the end of offline input (or a stop), leave\n"
"                         open flows unreported (default: close them with\n"
"                         MOS_ON_CONN_END)\n"
"      --clock=SRC        packet (offline default) or wall time\n"
"\n"
"Scripts and plugins:\n"
"      --plugin FILE.so   load a native plugin (repeatable)\n"
"      --plugin-arg ARG   argument for the plugins (repeatable)\n"
"      --on-error=ACTION  pass (default) or drop the packets a failing\n"
"                         script callback concerned\n"
"      --lua-mem MB       Lua heap cap per core, 0 = none (default 512)\n"
"      --watchdog MS      stop a core's script when a callback runs\n"
"                         longer, 0 = off (default 2000)\n"
"\n"
"Reporting:\n"
"      --stats FILE       write counters as JSON at exit (and on SIGUSR1)\n"
"      --stats-interval SEC\n"
"                         rewrite the --stats file every SEC seconds while\n"
"                         running\n"
"      --progress         show progress on stderr (default: if a terminal)\n"
"      --no-progress      never show progress\n"
"      --time SEC         stop after SEC seconds (as on SIGINT)\n"
"      --cycles           count each core's CPU cycles by activity\n"
"                         (receive, transmit, engine, idle) in --stats\n"
"  -v, --verbose          more log output (repeat for DPDK's own)\n"
"  -h, --help             this text\n"
"      --version          print the version\n"
"\n"
"Options may follow the script; arguments after \"--\" go to the script.\n",
		prog);
}

static int
bad(const char *prog, const char *opt, const char *arg, const char *why)
{
	fprintf(stderr, "%s: %s: %s '%s'\n", prog, opt, why, arg);
	return -1;
}

static int
num(const char *prog, const char *opt, const char *arg, long min, long max,
    int *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(arg, &end, 0);
	if (errno != 0 || end == arg || *end != '\0')
		return bad(prog, opt, arg, "not a number");
	if (v < min || v > max)
		return bad(prog, opt, arg, "out of range");
	*out = (int)v;
	return 0;
}

static int
choice(const char *prog, const char *opt, const char *arg,
       const char *const *names, int *out)
{
	int i;

	for (i = 0; names[i] != NULL; i++) {
		if (strcmp(arg, names[i]) == 0) {
			*out = i;
			return 0;
		}
	}
	return bad(prog, opt, arg, "unknown value");
}

static int
apply(struct mb_opts *o, const char *prog, int c, const char *arg)
{
	static const char *const ipfrag_names[] = { "reassemble", "pass", NULL };
	static const char *const overlap_names[] = { "first", "last", NULL };
	static const char *const clock_names[] = { "auto", "packet", "wall", NULL };
	static const char *const onerr_names[] = { "pass", "drop", NULL };
	int v;

	switch (c) {
	case 'r':
		o->read_file = arg;
		return 0;
	case 'w':
		o->write_file = arg;
		return 0;
	case O_PORT:
		if (o->nb_ports == OPTS_MAX_PORTS)
			return bad(prog, "--port", arg, "too many ports at");
		o->ports[o->nb_ports++] = arg;
		return 0;
	case O_PASSIVE:
		o->passive = 1;
		return 0;
	case O_EAL:
		o->eal_extra = arg;
		return 0;
	case 'c':
		o->cores_set = 1;
		return num(prog, "--cores", arg, 1, 64, &o->cores);
	case O_MBUFS:
		return num(prog, "--mbufs", arg, 1024, 1 << 24, &o->mbufs);
	case O_MAX_FRAME:
		return num(prog, "--max-frame", arg, OPTS_FRAME_DEFAULT,
			   OPTS_FRAME_MAX, &o->max_frame);
	case O_STATS:
		o->stats_file = arg;
		return 0;
	case O_DROP_MALFORMED:
		o->drop_malformed = 1;
		return 0;
	case O_IPFRAG:
		return choice(prog, "--ipfrag", arg, ipfrag_names, &o->ipfrag);
	case O_MAX_FLOWS:
		return num(prog, "--max-flows", arg, 16, 1 << 26, &o->max_flows);
	case O_RMEM:
		return num(prog, "--rmem", arg, 64, 1 << 26, &o->rmem);
	case O_OVERLAP:
		return choice(prog, "--overlap", arg, overlap_names,
			      &o->overlap_last);
	case O_TIMEWAIT:
		if (num(prog, "--timewait", arg, 0, 86400, &v) < 0)
			return -1;
		o->timewait_ms = v * 1000;
		return 0;
	case O_TIMEOUT:
		if (num(prog, "--timeout", arg, 0, 86400 * 7, &v) < 0)
			return -1;
		o->timeout_ms = v * 1000;
		return 0;
	case O_NO_EOF_FLUSH:
		o->eof_flush = 0;
		return 0;
	case O_CLOCK:
		return choice(prog, "--clock", arg, clock_names, &o->clock);
	case O_PLUGIN:
		if (o->nb_plugins == OPTS_MAX_PLUGINS)
			return bad(prog, "--plugin", arg, "too many plugins at");
		o->plugins[o->nb_plugins++] = arg;
		return 0;
	case O_PLUGIN_ARG:
		if (o->nb_plugin_args == OPTS_MAX_PLUGIN_ARGS)
			return bad(prog, "--plugin-arg", arg, "too many at");
		o->plugin_args[o->nb_plugin_args++] = (char *)arg;
		o->plugin_args[o->nb_plugin_args] = NULL;
		return 0;
	case O_ON_ERROR:
		return choice(prog, "--on-error", arg, onerr_names, &o->on_error);
	case O_LUA_MEM:
		return num(prog, "--lua-mem", arg, 0, 1 << 20, &o->lua_mem_mb);
	case O_WATCHDOG:
		return num(prog, "--watchdog", arg, 0, 3600 * 1000,
			   &o->watchdog_ms);
	case O_PROGRESS:
		o->progress = PROGRESS_ON;
		return 0;
	case O_NO_PROGRESS:
		o->progress = PROGRESS_OFF;
		return 0;
	case O_TIME:
		return num(prog, "--time", arg, 1, 86400 * 365, &o->time_s);
	case O_STATS_INTERVAL:
		return num(prog, "--stats-interval", arg, 1, 86400,
			   &o->stats_interval_s);
	case O_CYCLES:
		o->cycles = 1;
		return 0;
	case O_SCENARIO:
		o->scenario = 1;
		return 0;
	case O_CHECK:
		o->check = 1;
		return 0;
	case 'v':
		o->verbose++;
		return 0;
	}
	return -1;
}

static int
check(struct mb_opts *o, const char *prog, int flags)
{
	if (o->write_file != NULL && o->read_file == NULL) {
		fprintf(stderr, "%s: -w needs -r (the output pairs with a pcap "
			"input)\n", prog);
		return -1;
	}
	if (o->stats_interval_s > 0 && o->stats_file == NULL) {
		fprintf(stderr, "%s: --stats-interval needs --stats FILE\n",
			prog);
		return -1;
	}
	if (o->check) {
		/* The command line of a run may be checked as it is: its
		 * input and output are left out (opts_for_check). */
		if (o->scenario) {
			fprintf(stderr, "%s: --check takes no --scenario (the "
				"scenario's tests check it)\n", prog);
			return -1;
		}
		return 0;
	}
	if (o->scenario) {
		/* The scenario is the input: it brings its own two ports, on
		 * one core. */
		if (!(flags & OPTS_F_SCRIPT) || o->script == NULL) {
			fprintf(stderr, "%s: --scenario needs a scenario "
				"script\n", prog);
			return -1;
		}
		if (o->read_file != NULL || o->nb_ports > 0 || o->cores > 1) {
			fprintf(stderr, "%s: --scenario takes no -r, -w, --port "
				"or -c (the scenario makes its own traffic)\n",
				prog);
			return -1;
		}
		return 0;
	}
	if (!(flags & OPTS_F_NOINPUT) && o->read_file == NULL &&
	    o->nb_ports == 0) {
		fprintf(stderr, "%s: no input: give -r FILE or --port DEV\n",
			prog);
		return -1;
	}
	return 0;
}

static int
add_free_arg(struct mb_opts *o, const char *prog, char *arg, int flags)
{
	if (!(flags & OPTS_F_SCRIPT)) {
		fprintf(stderr, "%s: unexpected argument '%s'\n", prog, arg);
		return -1;
	}
	if (o->script == NULL) {
		o->script = arg;
		return 0;
	}
	if (o->script_argc == OPTS_MAX_SCRIPT_ARGS) {
		fprintf(stderr, "%s: too many script arguments\n", prog);
		return -1;
	}
	o->script_args[o->script_argc++] = arg;
	o->script_args[o->script_argc] = NULL;
	return 0;
}

int
opts_parse(struct mb_opts *o, int argc, char **argv, int flags)
{
	const char *prog = argc > 0 && argv[0] != NULL ? argv[0] : "moonbox";
	int saved_optind = optind, saved_opterr = opterr, saved_optopt = optopt;
	char *saved_optarg = optarg;
	char *reset_argv[] = { (char *)prog, NULL };
	int c, rc = OPTS_OK;

	o->script_argv = o->script_args;
	/* optind = 0 makes glibc re-initialise. The leading '-' returns
	 * non-options in order (code 1), whatever POSIXLY_CORRECT says, so
	 * options after the script are still options. */
	optind = 0;
	opterr = 1;
	while ((c = getopt_long(argc, argv, "-r:w:c:vh", long_opts, NULL))
	       != -1) {
		if (c == 1) {
			if (add_free_arg(o, prog, optarg, flags) < 0) {
				rc = OPTS_USAGE;
				goto out;
			}
			continue;
		}
		if (c == 'h') {
			opts_usage(stdout, prog);
			rc = OPTS_EXIT;
			goto out;
		}
		if (c == O_VERSION) {
			printf("moonbox %s\n", MOONBOX_VERSION);
			rc = OPTS_EXIT;
			goto out;
		}
		if (c == '?' || apply(o, prog, c, optarg) < 0) {
			rc = OPTS_USAGE;
			goto out;
		}
	}
	/* After "--": everything goes to the script. */
	for (; optind < argc; optind++) {
		if (add_free_arg(o, prog, argv[optind], flags) < 0) {
			rc = OPTS_USAGE;
			goto out;
		}
	}
	if (check(o, prog, flags) < 0)
		rc = OPTS_USAGE;
out:
	if (rc == OPTS_USAGE)
		fprintf(stderr, "Try '%s --help' for more information.\n",
			prog);
	/* Leave getopt's private scan position clean (we may have stopped
	 * inside a group like -hv), then restore the caller's globals. */
	opterr = 0;
	optind = 0;
	(void)getopt(1, reset_argv, "");
	optind = saved_optind;
	opterr = saved_opterr;
	optopt = saved_optopt;
	optarg = saved_optarg;
	return rc;
}

int
opts_split(char *buf, char **argv, int max)
{
	char *r = buf, *w = buf;
	int n = 0;

	for (;;) {
		char quote = 0;

		while (*r == ' ' || *r == '\t' || *r == '\n')
			r++;
		if (*r == '\0')
			break;
		if (n == max)
			return -1;
		argv[n++] = w;
		while (*r != '\0') {
			if (quote != 0) {
				if (*r == quote)
					quote = 0;
				else if (*r == '\\' && quote == '"' &&
					 r[1] != '\0')
					*w++ = *++r;
				else
					*w++ = *r;
				r++;
				continue;
			}
			if (*r == ' ' || *r == '\t' || *r == '\n')
				break;
			if (*r == '\'' || *r == '"')
				quote = *r;
			else if (*r == '\\' && r[1] != '\0')
				*w++ = *++r;
			else
				*w++ = *r;
			r++;
		}
		if (quote != 0)
			return -1;
		if (*r != '\0')
			r++;
		*w++ = '\0';
	}
	argv[n] = NULL;
	return n;
}
