/*
 * opts.h - moonbox's command-line options, parsed into struct mb_opts.
 *
 * One parser serves the moonbox program and standalone mOS programs (whose
 * MOONBOX_OPTS environment variable holds the same options). It never exits:
 * it reports usage errors on stderr and returns a status.
 */
#ifndef MB_OPTS_H
#define MB_OPTS_H

#include <stdio.h>

#define OPTS_MAX_PORTS		16
#define OPTS_MAX_PLUGINS	16
#define OPTS_MAX_PLUGIN_ARGS	64
#define OPTS_MAX_SCRIPT_ARGS	256

enum { ON_ERROR_PASS, ON_ERROR_DROP };
enum { IPFRAG_REASSEMBLE, IPFRAG_PASS };
enum { CLOCK_AUTO, CLOCK_PACKET, CLOCK_WALL };
enum { PROGRESS_AUTO, PROGRESS_ON, PROGRESS_OFF };

/* --max-frame: a packet buffer holds a whole frame (ports need no
 * scatter); the default is DPDK's 2 KiB data room. */
#define OPTS_FRAME_DEFAULT	2048
#define OPTS_FRAME_MAX		16384

struct mb_opts {
	/* I/O */
	const char *read_file;		/* -r: pcap input */
	const char *write_file;		/* -w: pcap output */
	const char *ports[OPTS_MAX_PORTS];	/* --port, in order */
	int nb_ports;
	int passive;			/* --passive: never transmit */
	const char *eal_extra;		/* --eal "ARGS" */
	int cores;			/* -c/--cores: worker cores */
	int cores_set;			/* -c was given */
	int mbufs;			/* --mbufs: packet buffers */
	int max_frame;			/* --max-frame: packet buffers' data room */
	int scenario;			/* --scenario: the script is a test
					   scenario with ports of its own */
	int check;			/* --check: load, then end (no I/O) */

	/* packet path */
	int drop_malformed;		/* --drop-malformed */
	int ipfrag;			/* --ipfrag=reassemble|pass */

	/* flow engine */
	int max_flows;			/* --max-flows: per core */
	int rmem;			/* --rmem: reassembly window per side */
	int buffers;			/* --buffers: reassembly buffers per core */
	int overlap_last;		/* --overlap=first|last */
	int timewait_ms;		/* --timewait SEC */
	int timeout_ms;			/* --timeout SEC (<= 0: never) */
	int eof_flush;			/* --no-eof-flush clears it */
	int clock;			/* --clock=packet|wall */

	/* scripting and plugins */
	const char *script;		/* first non-option argument */
	int script_argc;		/* arguments after the script */
	char **script_argv;		/* points to script_args */
	char *script_args[OPTS_MAX_SCRIPT_ARGS + 1];
	const char *plugins[OPTS_MAX_PLUGINS];
	int nb_plugins;
	char *plugin_args[OPTS_MAX_PLUGIN_ARGS + 1];
	int nb_plugin_args;
	int on_error;			/* --on-error=pass|drop */
	int lua_mem_mb;			/* --lua-mem MB (0: no cap) */
	int watchdog_ms;		/* --watchdog MS (0: off) */

	/* reporting */
	const char *stats_file;		/* --stats FILE (JSON) */
	int stats_interval_s;		/* --stats-interval SEC: also while
					 * running (the moonbox program) */
	int progress;			/* --progress / --no-progress */
	int time_s;			/* --time SEC: stop after SEC seconds */
	int cycles;			/* --cycles: count CPU cycles by activity */
	int verbose;			/* -v */
};

enum {
	OPTS_OK = 0,		/* run */
	OPTS_EXIT = 1,		/* --help or --version printed: exit 0 */
	OPTS_USAGE = 2,		/* usage error printed: exit 2 */
};

/* Defaults for every field. */
void
opts_defaults(struct mb_opts *o);

/* --check: leave out what would touch the run being checked or the
 * machine (-r, -w, the ports, --stats, --eal, --mbufs, --time): two null
 * ports without input instead, no hugepages, no output. */
void
opts_for_check(struct mb_opts *o);

/* opts_parse flags */
#define OPTS_F_SCRIPT	1	/* first non-option argument is the script */
#define OPTS_F_NOINPUT	2	/* no input is required (MOONBOX_OPTS) */

/*
 * Parse argv (argv[0] is the program name) into *o, whose fields not named
 * by an option keep their value. With OPTS_F_SCRIPT, the first non-option
 * argument is the script and the rest are its arguments; otherwise
 * non-option arguments are errors. Options are accepted before and after
 * the script; "--" ends option parsing. Strings point into argv.
 */
int
opts_parse(struct mb_opts *o, int argc, char **argv, int flags);

/*
 * Split a string into words like a shell does for simple cases (blanks
 * separate words, single and double quotes group, backslash escapes).
 * Returns the number of words, or -1 if more than max or on a quote that
 * is not closed. argv[n] is set to NULL; words live in buf (modified).
 */
int
opts_split(char *buf, char **argv, int max);

/* Print the usage text. */
void
opts_usage(FILE *f, const char *prog);

#endif /* MB_OPTS_H */
