/*
 * api_life.c - life cycle of the mOS API for standalone programs:
 * mtcp_init (mos.conf, overridden by MOONBOX_OPTS), configuration, per-core
 * contexts, joining, signals and tear-down; GetRSSCPUCore.
 *
 * Start-up is deterministic (unlike mOS, whose cores ran before the program
 * registered its callbacks): a context's core waits until the first
 * mtcp_app_join() before it reads input, and every core starts together.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_thash.h>

#include "api.h"
#include "conf.h"
#include "moonbox.h"
#include "mtcp_util.h"
#include "opts.h"

#define ENV_OPTS	"MOONBOX_OPTS"

static struct {
	int inited;
	int num_cores;		/* as set by the config or mtcp_setconf */
	struct mb_opts opts;
	char env_buf[4096];
	char *env_argv[128];
	mtcp_sighandler_t sigint;
	time_t last_sigint;
	uint8_t destroyed[RT_MAX_CORES];
	double t0;		/* the first mtcp_app_join: input released */
	double last_stats;
	pthread_mutex_t stats_lock;	/* one writer of --stats at a time */
} g_api = { .stats_lock = PTHREAD_MUTEX_INITIALIZER };

static __thread int in_signal;
static volatile sig_atomic_t stats_asked;

static void
on_sigusr1(int sig)
{
	(void)sig;
	stats_asked = 1;
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* SIGUSR1 asks for the counters at once, as of the moonbox program; only
 * with --stats (the file to write) and only while the signal's action is
 * the default one, which would end the program: a handler of the
 * program's own is left alone. */
static void
catch_sigusr1(void)
{
	struct sigaction sa, old;

	if (sigaction(SIGUSR1, NULL, &old) != 0 ||
	    (old.sa_flags & SA_SIGINFO) || old.sa_handler != SIG_DFL)
		return;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sigusr1;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	sigaction(SIGUSR1, &sa, NULL);
}

/* The live counters (final false), when SIGUSR1 or --stats-interval asks
 * for them. A program's main thread is its own, so the thread waiting in
 * mtcp_app_join writes them; of several such threads, one at a time. */
static void
live_stats(void)
{
	const struct mb_opts *o = &g_api.opts;
	double now = now_s();

	if (!stats_asked && (o->stats_interval_s <= 0 ||
			     now - g_api.last_stats < o->stats_interval_s))
		return;
	if (pthread_mutex_trylock(&g_api.stats_lock) != 0)
		return;
	stats_asked = 0;
	g_api.last_stats = now;
	g_rt.run_seconds = now - g_api.t0;
	rt_write_stats(o->stats_file, 0);
	pthread_mutex_unlock(&g_api.stats_lock);
}

/* Let every core read its input (the first call counts the run's time
 * from here). */
static void
release_input(void)
{
	pthread_mutex_lock(&g_api.stats_lock);
	if (g_api.t0 == 0) {
		g_api.t0 = now_s();
		g_api.last_stats = g_api.t0;
	}
	pthread_mutex_unlock(&g_api.stats_lock);
	rt_release();
}

/* Wait for core c to end, writing live counters meanwhile. */
static void
join_core(struct core *c)
{
	const struct timespec tick = { 0, 20 * 1000 * 1000 };

	if (g_api.opts.stats_file != NULL)
		while (rte_eal_get_lcore_state(c->lcore) == RUNNING) {
			nanosleep(&tick, NULL);
			live_stats();
		}
	core_join(c);
}

static void
on_sigint(int sig)
{
	time_t now = time(NULL);

	if (g_api.last_sigint != 0 && now - g_api.last_sigint <= 1) {
		rt_request_stop();	/* a second ^C within a second */
		return;
	}
	g_api.last_sigint = now;
	if (g_api.sigint != NULL) {
		in_signal = 1;
		g_api.sigint(sig);
		in_signal = 0;
	} else {
		rt_request_stop();
	}
}

/* mos.conf ports in netdev order, except that each nic_forward_table pair
 * is placed side by side, which is how moonbox pairs ports. */
static int
conf_ports(const struct mosconf *cf, struct mb_opts *o)
{
	static char specs[OPTS_MAX_PORTS][512];
	int used[CONF_MAX_PORTS] = { 0 }, i, j, n = 0;

	for (i = 0; i < cf->nb_fwd; i++) {
		for (j = 0; j < 2; j++) {
			int p;

			for (p = 0; p < cf->nb_ports; p++)
				if (!used[p] &&
				    strcmp(cf->ports[p].dev, cf->fwd[i][j]) == 0)
					break;
			if (p == cf->nb_ports) {
				fprintf(stderr, "moonbox: nic_forward_table "
					"names '%s', which is not a netdev\n",
					cf->fwd[i][j]);
				return -1;
			}
			used[p] = 1;
			snprintf(specs[n], sizeof(specs[n]), "%s",
				 cf->ports[p].spec);
			o->ports[n] = specs[n];
			n++;
		}
	}
	for (i = 0; i < cf->nb_ports && n < OPTS_MAX_PORTS; i++) {
		if (used[i])
			continue;
		snprintf(specs[n], sizeof(specs[n]), "%s", cf->ports[i].spec);
		o->ports[n] = specs[n];
		n++;
	}
	o->nb_ports = n;
	return 0;
}

static int
apply_env(struct mb_opts *o, const char *prog)
{
	const char *env = getenv(ENV_OPTS);
	struct mb_opts e;
	int argc, rc;

	if (env == NULL || env[0] == '\0')
		return 0;
	snprintf(g_api.env_buf, sizeof(g_api.env_buf), "%s", env);
	g_api.env_argv[0] = (char *)prog;
	argc = opts_split(g_api.env_buf, g_api.env_argv + 1, 126);
	if (argc < 0) {
		fprintf(stderr, "moonbox: cannot parse %s\n", ENV_OPTS);
		return -1;
	}
	e = *o;
	e.read_file = NULL;
	e.write_file = NULL;
	e.nb_ports = 0;
	rc = opts_parse(&e, argc + 1, g_api.env_argv, OPTS_F_NOINPUT);
	if (rc != OPTS_OK)
		return -1;
	/* Input given in the environment replaces the config's ports. */
	if (e.read_file == NULL && e.nb_ports == 0) {
		e.nb_ports = o->nb_ports;
		memcpy(e.ports, o->ports, sizeof(e.ports));
	}
	*o = e;
	return 0;
}

int
mtcp_init(const char *config_file)
{
	const char *prog = program_invocation_short_name;
	struct mosconf cf;
	struct mb_opts o;
	char err[512];
	long ncpu;

	if (g_api.inited || g_rt.eal_ready) {
		errno = EALREADY;
		return -1;
	}
	opts_defaults(&o);
	conf_defaults(&cf);
	if (config_file != NULL) {
		if (conf_parse_file(config_file, &cf, err, sizeof(err)) != 0) {
			int e = errno == ENOENT ? ENOENT : EINVAL;

			fprintf(stderr, "moonbox: %s\n", err);
			errno = e;
			return -1;
		}
		if (conf_ports(&cf, &o) != 0) {
			errno = EINVAL;
			return -1;
		}
		o.max_flows = cf.max_concurrency > 16 ? cf.max_concurrency : 16;
		if (cf.rmem_size < 64 || cf.rmem_size > (1 << 26)) {
			fprintf(stderr, "moonbox: %s: rmem_size %d is outside "
				"64..67108864\n", config_file, cf.rmem_size);
			errno = EINVAL;
			return -1;
		}
		o.rmem = cf.rmem_size;
		o.timewait_ms = cf.tcp_tw_interval * 1000;
		o.timeout_ms = cf.tcp_timeout > 0 ? cf.tcp_timeout * 1000 : 0;
		o.passive = !cf.forward;
		if (cf.num_cores > 0)
			o.cores = cf.num_cores;
	}
	if (apply_env(&o, prog) != 0) {
		errno = EINVAL;
		return -1;
	}
	if (o.read_file == NULL && o.nb_ports == 0) {
		fprintf(stderr, "moonbox: no ports: give netdev entries in the "
			"config or -r/--port in %s\n", ENV_OPTS);
		errno = EINVAL;
		return -1;
	}
	g_api.num_cores = o.cores;
	/* EAL needs every lcore at start-up, before mtcp_setconf() may ask
	 * for more cores: declare as many as the machine has CPUs. */
	ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	if (ncpu > o.cores && ncpu <= RT_MAX_CORES - 2)
		o.cores = (int)ncpu;
	if (rt_eal_init(&o, prog) != 0) {
		errno = ENODEV;
		return -1;
	}
	g_api.opts = o;
	g_api.inited = 1;
	signal(SIGINT, on_sigint);
	if (o.stats_file != NULL)
		catch_sigusr1();
	return 0;
}

int
mtcp_getconf(struct mtcp_conf *conf)
{
	if (conf == NULL || !rt_usable()) {
		errno = EINVAL;
		return -1;
	}
	memset(conf, 0, sizeof(*conf));
	conf->num_cores = g_rt.started ? g_rt.nb_cores :
			  (g_api.inited ? g_api.num_cores : g_rt.opts.cores);
	conf->max_concurrency = g_rt.cfg.max_flows;
	conf->cpu_mask = conf->num_cores >= 64 ? ~0ULL :
			 (1ULL << conf->num_cores) - 1;
	conf->max_num_buffers = g_rt.cfg.max_flows * 2;
	conf->rcvbuf_size = g_rt.cfg.rmem;
	conf->sndbuf_size = g_rt.cfg.rmem;
	conf->tcp_timewait = g_rt.cfg.timewait_ms;
	conf->tcp_timeout = g_rt.cfg.timeout_ms > 0 ? g_rt.cfg.timeout_ms : -1;
	return 0;
}

int
mtcp_setconf(const struct mtcp_conf *conf)
{
	if (conf == NULL || !rt_usable()) {
		errno = EINVAL;
		return -1;
	}
	if (g_rt.started) {
		errno = EBUSY;
		return -1;
	}
	if (conf->num_cores < 1 || conf->num_cores > g_rt.max_cores ||
	    conf->max_concurrency < 16 || conf->rcvbuf_size < 64 ||
	    conf->rcvbuf_size > (1 << 26) || conf->tcp_timewait < 0) {
		errno = EINVAL;
		return -1;
	}
	g_api.num_cores = conf->num_cores;
	g_rt.cfg.max_flows = conf->max_concurrency;
	g_rt.cfg.rmem = conf->rcvbuf_size;
	g_rt.cfg.timewait_ms = conf->tcp_timewait;
	g_rt.cfg.timeout_ms = conf->tcp_timeout > 0 ? conf->tcp_timeout : 0;
	return 0;
}

int
mtcp_core_affinitize(int cpu)
{
	cpu_set_t set;

	if (cpu < 0 || cpu >= CPU_SETSIZE) {
		errno = EINVAL;
		return -1;
	}
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (pthread_setaffinity_np(pthread_self(), sizeof(set), &set) != 0) {
		errno = EINVAL;
		return -1;
	}
	return 0;
}

mctx_t
mtcp_create_context(int cpu)
{
	struct core *c;

	int n;

	if (!rt_usable()) {
		errno = EPERM;
		return NULL;
	}
	/* The core count is fixed by the first context: check against it
	 * before starting anything, so a bad cpu changes nothing. */
	n = g_rt.started ? g_rt.nb_cores :
	    (g_api.inited ? g_api.num_cores : g_rt.opts.cores);
	if (cpu < 0 || cpu >= n) {
		errno = EINVAL;
		return NULL;
	}
	if (!g_rt.started && rt_start(n) != 0)
		return NULL;
	c = core_create(cpu, NULL, NULL);
	if (c == NULL)
		return NULL;
	core_wait_ready(c);
	return &c->mctx;
}

int
mtcp_destroy_context(mctx_t mctx)
{
	struct core *c = api_core(mctx);

	if (c == NULL)
		return -1;
	if (api_own(c)) {
		errno = EPERM;
		return -1;
	}
	c->stop = 1;
	rt_release();
	/* From a signal handler (midstat's SIGINT handler calls this) only
	 * ask: the interrupted thread may be the one waiting for the core. */
	if (in_signal)
		return 0;
	if (!g_api.destroyed[c->idx]) {
		core_join(c);
		g_api.destroyed[c->idx] = 1;
	}
	return 0;
}

void
mtcp_app_join(mctx_t mctx)
{
	struct core *c = core_from_mctx(mctx);

	if (c == NULL || api_own(c))
		return;
	release_input();
	if (!g_api.destroyed[c->idx]) {
		join_core(c);
		g_api.destroyed[c->idx] = 1;
	}
}

int
mtcp_destroy(void)
{
	if (CORE_SELF() != NULL) {
		errno = EPERM;
		return -1;
	}
	if (!g_rt.eal_ready)
		return 0;
	rt_request_stop();
	rt_release();
	rt_wait();
	if (g_api.t0 != 0)
		g_rt.run_seconds = now_s() - g_api.t0;
	if (g_rt.opts.stats_file != NULL) {
		pthread_mutex_lock(&g_api.stats_lock);
		rt_write_stats(g_rt.opts.stats_file, 1);
		pthread_mutex_unlock(&g_api.stats_lock);
	}
	rt_cleanup();
	memset(&g_api, 0, sizeof(g_api));
	g_api.stats_lock = (pthread_mutex_t)PTHREAD_MUTEX_INITIALIZER;
	return 0;
}

mtcp_sighandler_t
mtcp_register_signal(int signum, mtcp_sighandler_t handler)
{
	mtcp_sighandler_t prev;

	if (signum == SIGINT) {
		prev = g_api.sigint;
		g_api.sigint = handler;
		signal(SIGINT, on_sigint);
		return prev;
	}
	prev = signal(signum, handler);
	if (prev == SIG_ERR)
		errno = EINVAL;
	return prev;
}

int
moonbox_num_cores(void)
{
	return g_rt.nb_cores;
}

int
GetRSSCPUCore(in_addr_t sip, in_addr_t dip, in_port_t sp, in_port_t dp,
	      int num_queues, uint8_t endian_check)
{
	(void)endian_check;
	if (num_queues < 1)
		return -1;
	if (g_rt.started && !g_rt.use_dist && g_rt.nb_cores > 1) {
		/* NIC RSS with moonbox's symmetric key: Toeplitz over the
		 * tuple, then the default redirection table. */
		static const uint8_t key[40] = {
			0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a,
			0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a,
			0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a,
			0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a,
			0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a,
		};
		uint32_t tuple[3] = {
			rte_be_to_cpu_32(sip), rte_be_to_cpu_32(dip),
			(uint32_t)rte_be_to_cpu_16(sp) << 16 |
			rte_be_to_cpu_16(dp),
		};

		/* The default redirection table maps entry i to queue
		 * i % queues. */
		return (int)((rte_softrss(tuple, 3, key) %
			      (g_rt.reta_size ? g_rt.reta_size : 128)) %
			     (uint32_t)num_queues);
	}
	return rt_core_of_hash(rt_sym_hash(sip, dip, sp, dp), num_queues);
}
