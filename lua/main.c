/*
 * main.c - the moonbox program: parses the options, starts the engine,
 * loads native plugins and the Lua policy on every worker core (host.c),
 * shows progress, and writes the counters at exit.
 *
 * --check loads the plugins and the script on every core, then ends.
 *
 * SIGHUP reloads the Lua script on every core (luahost.c). SIGUSR1 writes
 * the --stats file while moonbox runs (or, without one, a line of counters
 * on stderr), as --stats-interval does every few seconds.
 *
 * Exit status: 0 after a complete run, 1 on a start-up or run-time error,
 * 2 on a usage error, 128 + the signal for a SIGINT or SIGTERM before the
 * run starts, 130 for a second one while it stops.
 */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "embed.h"
#include "host.h"

static volatile sig_atomic_t interrupted;
static volatile sig_atomic_t reload_asked;
static volatile sig_atomic_t stats_asked;

static void
on_hup(int sig)
{
	reload_asked = sig;
}

static void
on_usr1(int sig)
{
	stats_asked = sig;
}

static void
on_signal(int sig)
{
	if (interrupted) {
		/* Second interrupt: the user wants out now. */
		static const char msg[] = "\nmoonbox: interrupted\n";

		if (write(STDERR_FILENO, msg, sizeof(msg) - 1) < 0)
			_exit(130);
		_exit(130);
	}
	interrupted = sig;
	mbx_stop();
}

/* Until the run starts the handler interrupts what waits (a named pipe's
 * writer, the first bytes of -r -), so that one Ctrl-C ends the wait;
 * during the run it restarts, so that no core's write fails on a signal. */
static void
catch_signals(int restart)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = restart ? SA_RESTART : 0;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sa.sa_handler = on_hup;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGHUP, &sa, NULL);
	/* Its default action would end the run. */
	sa.sa_handler = on_usr1;
	sigaction(SIGUSR1, &sa, NULL);
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Share of the capture read: moonbox's own file reader knows it; for a
 * classic pcap file read by libpcap, records are a 16-byte header plus the
 * captured bytes, after a 24-byte file header. */
static double
share_read(const char *path, const struct stats *t)
{
	double done = mbx_read_progress();
	struct stat sb;

	if (done >= 0)
		return done;
	if (path == NULL || stat(path, &sb) != 0 || sb.st_size <= 24)
		return -1;
	return fmin(1.0, (24.0 + 16.0 * (double)t->rx_packets +
			  (double)t->rx_bytes) / (double)sb.st_size);
}

/* Wipe the progress line before other text goes to stderr. */
static void
clear_progress(void)
{
	fprintf(stderr, "\r%*s\r", 78, "");
}

static void
show_progress(const struct mb_opts *o, double t0, double *last_t,
	      uint64_t *last_rx)
{
	struct stats t;
	double now = now_s(), share, rate;

	mbx_totals(&t);
	rate = now > *last_t ? (double)(t.rx_packets - *last_rx) /
	       (now - *last_t) : 0;
	share = share_read(o->read_file, &t);
	fprintf(stderr, "\rmoonbox: %llu packets, %.2f Mpps, %llu flows",
		(unsigned long long)t.rx_packets, rate / 1e6,
		(unsigned long long)(t.flows_created - t.flows_destroyed));
	if (share >= 0)
		fprintf(stderr, ", %.0f%% read", share * 100);
	fprintf(stderr, ", %.0f s   ", now - t0);
	*last_t = now;
	*last_rx = t.rx_packets;
}

/* The counters while the run goes on: the --stats file (replaced whole),
 * or without one a line on stderr. */
static void
live_stats(const struct mb_opts *o, double t0)
{
	struct stats t;

	if (o->stats_file != NULL) {
		mbx_set_run_seconds(now_s() - t0);
		mbx_write_stats(o->stats_file, 0);
		return;
	}
	mbx_totals(&t);
	fprintf(stderr, "moonbox: %llu packets in, %llu forwarded, %llu "
		"dropped, %llu sent, %llu flows open, %.0f s\n",
		(unsigned long long)t.rx_packets,
		(unsigned long long)t.tx_packets,
		(unsigned long long)mbx_dropped(&t),
		(unsigned long long)t.pkts_sent,
		(unsigned long long)(t.flows_created - t.flows_destroyed),
		now_s() - t0);
}

/* Wait for every core to load its plugins and script, watching for a
 * script that never finishes loading. */
static int
wait_ready(struct host *h)
{
	int r;

	while ((r = mbx_poll_ready()) == 0) {
		struct timespec ts = { 0, 20 * 1000 * 1000 };

		nanosleep(&ts, NULL);
		host_watch(h);
	}
	return r < 0 ? -1 : 0;
}

static int
check_script(const char *prog, const char *path)
{
	if (access(path, R_OK) != 0) {
		fprintf(stderr, "%s: cannot read script '%s': %s\n", prog, path,
			strerror(errno));
		return -1;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	const char *prog = "moonbox";
	struct mb_opts o;
	struct host host;
	int rc, progress, status = 0;
	double t0, last_t, last_stats;
	uint64_t last_rx = 0;

	/* getopt's messages and --help name the program as argv[0] does:
	 * make them say "moonbox" as every other message does, however it
	 * was started (build/lua/moonbox, a symlink). */
	if (argc > 0)
		argv[0] = (char *)prog;
	mbx_opts_defaults(&o);
	rc = mbx_opts_parse(&o, argc, argv);
	if (rc == OPTS_EXIT)
		return 0;
	if (rc == OPTS_USAGE)
		return 2;
	if (o.script == NULL && o.nb_plugins == 0) {
		fprintf(stderr, "%s: no script given (and no --plugin)\n"
			"Try '%s --help' for more information.\n", prog, prog);
		return 2;
	}
	if (o.script != NULL && check_script(prog, o.script) < 0)
		return 1;
	if (o.check)
		mbx_opts_for_check(&o);
	if (host_prepare(&host, &o, prog) != 0)
		return 1;

	catch_signals(0);
	/* A reader of -w - that goes away is a write error (reported, the
	 * run ends cleanly), not a kill. */
	signal(SIGPIPE, SIG_IGN);
	if (mbx_init(&o, prog) != 0) {
		mbx_cleanup();
		host_release(&host);
		return interrupted ? 128 + interrupted : 1;
	}
	catch_signals(1);
	if (mbx_start(host_core_init, &host) != 0 || wait_ready(&host) != 0) {
		mbx_stop();
		mbx_release();
		mbx_wait();
		mbx_cleanup();
		host_release(&host);
		return 1;
	}

	if (o.check) {
		/* Loaded on every core: end before the first packet. */
		if (o.script != NULL)
			fprintf(stderr, "%s: %s loaded on %d core%s\n", prog,
				o.script, o.cores, o.cores == 1 ? "" : "s");
		else
			fprintf(stderr, "%s: %d plugin%s loaded on %d core%s\n",
				prog, o.nb_plugins, o.nb_plugins == 1 ? "" : "s",
				o.cores, o.cores == 1 ? "" : "s");
		mbx_stop();
	}
	progress = o.progress == PROGRESS_ON ||
		   (o.progress == PROGRESS_AUTO && isatty(STDERR_FILENO));
	t0 = last_t = last_stats = now_s();
	mbx_release();
	while (mbx_running()) {
		struct timespec ts = { 0, 20 * 1000 * 1000 };

		nanosleep(&ts, NULL);
		host_watch(&host);
		if (reload_asked) {
			reload_asked = 0;
			if (o.script != NULL && !o.scenario)
				mbx_reload();
			else
				fprintf(stderr, "%s: SIGHUP ignored: %s\n",
					prog, o.scenario ? "a scenario is not "
					"reloaded" : "no script to reload");
		}
		if (stats_asked || (o.stats_interval_s > 0 &&
				    now_s() - last_stats >= o.stats_interval_s)) {
			stats_asked = 0;
			last_stats = now_s();
			if (progress)
				clear_progress();
			live_stats(&o, t0);
		}
		if (progress && now_s() - last_t >= 0.5)
			show_progress(&o, t0, &last_t, &last_rx);
		if (o.time_s > 0 && now_s() - t0 >= o.time_s)
			mbx_stop();
	}
	if (mbx_wait() != 0)
		status = 1;
	mbx_set_run_seconds(now_s() - t0);
	if (progress)
		clear_progress();
	if (host_failed(&host))
		status = 1;
	/* A scenario that failed a test, or did not get to its end. */
	if (o.scenario && mbx_scenario_failed() != 0)
		status = 1;
	if (mbx_write_stats(o.stats_file, 1) != 0)
		status = 1;
	mbx_cleanup();
	host_release(&host);
	return status;
}
