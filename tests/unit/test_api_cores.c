/*
 * test_api_cores.c - the mOS API with two worker cores, as mOS's samples
 * use it: mtcp_init() with one core, mtcp_setconf() raising num_cores to
 * two, one context and one listener per core, a timer armed from main on
 * core 0. Checks that each flow's callbacks all run on one core, that
 * GetRSSCPUCore() names that core for the flow's 4-tuple (either
 * direction), that each callback gets its own core's mctx, and that a
 * core-thread-only call with the other core's mctx fails with EPERM.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <mos_api.h>
#include <mtcp_util.h>

#include "test_api.h"

#define NCORES	2
#define NFLOWS	16

static struct trec R[NCORES];		/* one writer each: its core */
static char cap_path[256];
static unsigned cap_frames;
static mctx_t g_mctx[NCORES];
static int g_sock[NCORES];
static struct sockaddr_in g_addr[NFLOWS][2];	/* written by the flow's core */

static struct {
	unsigned starts;
	unsigned pkts;
	unsigned ends;
	unsigned timer;
	uint8_t seen[NFLOWS];		/* flow i had a packet here */
	uint8_t started[NFLOWS];
	int rss[NFLOWS];		/* GetRSSCPUCore() for the flow */
} S[NCORES];

static const char *const
cli_ip[4] = { "10.1.0.1", "10.1.0.2", "10.1.7.9", "192.168.3.4" };

static int
flow_index(mctx_t m, int sock, struct sockaddr_in a[2])
{
	socklen_t len = 2 * sizeof(struct sockaddr);
	int i;

	if (mtcp_getpeername(m, sock, (struct sockaddr *)a, &len,
			     MOS_SIDE_BOTH) != 0)
		return -1;
	i = ntohs(a[MOS_SIDE_CLI].sin_port) - 30000;
	return i >= 0 && i < NFLOWS ? i : -1;
}

#define A_CB	"callbacks"

static void
cb_start(mctx_t m, int sock, int side, event_t ev, filter_arg_t *arg)
{
	struct sockaddr_in a[2];
	struct pkt_info p;
	socklen_t len = sizeof(int);
	int cpu = m->cpu, other = cpu ^ 1, i, v;
	struct trec *r;

	(void)side;
	(void)ev;
	(void)arg;
	if (cpu < 0 || cpu >= NCORES)
		return;
	r = &R[cpu];
	TTRUE(r, A_CB, m == g_mctx[cpu], "core %d: mctx is not its own", cpu);
	i = flow_index(m, sock, a);
	TTRUE(r, A_CB, i >= 0, "unknown flow");
	if (i < 0)
		return;
	S[cpu].starts++;
	S[cpu].started[i] = 1;
	memcpy(g_addr[i], a, sizeof(a));
	S[cpu].rss[i] = GetRSSCPUCore(a[MOS_SIDE_CLI].sin_addr.s_addr,
				      a[MOS_SIDE_SVR].sin_addr.s_addr,
				      a[MOS_SIDE_CLI].sin_port,
				      a[MOS_SIDE_SVR].sin_port, NCORES, 0);
	TTRUE(r, A_CB, S[cpu].rss[i] == cpu,
	      "flow %d: GetRSSCPUCore says %d, callbacks run on %d", i,
	      S[cpu].rss[i], cpu);
	TTRUE(r, A_CB, GetRSSCPUCore(a[MOS_SIDE_SVR].sin_addr.s_addr,
				     a[MOS_SIDE_CLI].sin_addr.s_addr,
				     a[MOS_SIDE_SVR].sin_port,
				     a[MOS_SIDE_CLI].sin_port, NCORES, 1) ==
	      cpu, "flow %d: GetRSSCPUCore of the reply direction differs",
	      i);
	/* The other core's context is not this thread's */
	TFAIL(r, A_CB, mtcp_getlastpkt(g_mctx[other], g_sock[other],
				       MOS_SIDE_CLI, &p), -1, EPERM);
	TFAIL(r, A_CB, mtcp_getsockopt(g_mctx[other], sock, SOL_MONSOCKET,
				       MOS_TCP_STATE_CLI, &v, &len), -1,
	      EPERM);
	TFAIL(r, A_CB, mtcp_cb_get_ts(g_mctx[other]), 0, EPERM);
	TFAIL(r, A_CB, mtcp_raise_event(g_mctx[other], 5000), -1, EPERM);
	TFAIL(r, A_CB, mtcp_destroy_context(m), -1, EPERM);
	TRET(r, A_CB, mtcp_getlastpkt(m, sock, MOS_SIDE_CLI, &p), 0);
}

static void
cb_pkt(mctx_t m, int sock, int side, event_t ev, filter_arg_t *arg)
{
	struct sockaddr_in a[2];
	int cpu = m->cpu, i;

	(void)side;
	(void)ev;
	(void)arg;
	if (cpu < 0 || cpu >= NCORES)
		return;
	S[cpu].pkts++;
	i = flow_index(m, sock, a);
	TTRUE(&R[cpu], A_CB, i >= 0, "packet of an unknown flow");
	if (i >= 0)
		S[cpu].seen[i] = 1;
}

static void
cb_end(mctx_t m, int sock, int side, event_t ev, filter_arg_t *arg)
{
	(void)sock;
	(void)side;
	(void)ev;
	(void)arg;
	if (m->cpu >= 0 && m->cpu < NCORES)
		S[m->cpu].ends++;
}

static void
tm_core0(mctx_t m, int sock, int side, event_t ev, filter_arg_t *arg)
{
	(void)side;
	(void)ev;
	(void)arg;
	if (m->cpu < 0 || m->cpu >= NCORES)
		return;
	TTRUE(&R[m->cpu], A_CB, m == g_mctx[0] && sock == g_sock[0],
	      "timer armed on core 0 ran on core %d", m->cpu);
	S[m->cpu].timer++;
}

static void
write_capture(void)
{
	struct tcap cap;
	struct tconn k[NFLOWS];
	int i;

	snprintf(cap_path, sizeof(cap_path), "/tmp/mb_api_cores_%d.pcap",
		 (int)getpid());
	assert_int_equal(tcap_open(&cap, cap_path), 0);
	for (i = 0; i < NFLOWS; i++) {
		tconn_init(&k[i], &cap, cli_ip[i % 4], (uint16_t)(30000 + i),
			   i % 3 ? "10.2.0.1" : "172.16.5.5",
			   (uint16_t)(i % 2 ? 443 : 80), (uint32_t)i * 1000,
			   (uint32_t)i * 7777);
		tconn_handshake(&k[i]);
	}
	for (i = 0; i < NFLOWS; i++) {
		tconn_data(&k[i], TC2S, "request");
		tconn_data(&k[i], TS2C, "response");
	}
	/* Past the timer's second */
	tcap_wait(&cap, 1500);
	for (i = 0; i < NFLOWS; i++)
		tconn_close(&k[i]);
	cap_frames = cap.frames;
	assert_int_equal(tcap_close(&cap), 0);
}

#define A_MAIN	"main"

static void
test_setup(void **state)
{
	struct timeval tv = { 1, 0 };
	struct mtcp_conf conf;
	int i;

	(void)state;
	write_capture();
	tapi_opts("cores", cap_path, "--max-flows 1024");
	assert_int_equal(mtcp_init(NULL), 0);
	TRET(&R[0], A_MAIN, mtcp_getconf(&conf), 0);
	TTRUE(&R[0], A_MAIN, conf.num_cores == 1, "cores %d", conf.num_cores);
	conf.num_cores = NCORES;
	TRET(&R[0], A_MAIN, mtcp_setconf(&conf), 0);
	TRET(&R[0], A_MAIN, mtcp_getconf(&conf), 0);
	TTRUE(&R[0], A_MAIN, conf.num_cores == NCORES && conf.cpu_mask == 3,
	      "after setconf: cores %d mask %llx", conf.num_cores,
	      (unsigned long long)conf.cpu_mask);
	for (i = 0; i < NCORES; i++) {
		g_mctx[i] = mtcp_create_context(i);
		assert_non_null(g_mctx[i]);
		assert_int_equal(g_mctx[i]->cpu, i);
		g_sock[i] = mtcp_socket(g_mctx[i], AF_INET,
					MOS_SOCK_MONITOR_STREAM, 0);
		assert_true(g_sock[i] >= 0);
		TRET(&R[0], A_MAIN, mtcp_register_callback(g_mctx[i],
			g_sock[i], MOS_ON_CONN_START, MOS_HK_SND, cb_start), 0);
		TRET(&R[0], A_MAIN, mtcp_register_callback(g_mctx[i],
			g_sock[i], MOS_ON_PKT_IN, MOS_HK_RCV, cb_pkt), 0);
		TRET(&R[0], A_MAIN, mtcp_register_callback(g_mctx[i],
			g_sock[i], MOS_ON_PKT_IN, MOS_HK_SND, cb_pkt), 0);
		TRET(&R[0], A_MAIN, mtcp_register_callback(g_mctx[i],
			g_sock[i], MOS_ON_CONN_END, MOS_HK_RCV, cb_end), 0);
	}
	TTRUE(&R[0], A_MAIN, g_mctx[0] != g_mctx[1], "one context per core");
	TFAIL(&R[0], A_MAIN, mtcp_create_context(NCORES), 0, EINVAL);
	TFAIL(&R[0], A_MAIN, mtcp_create_context(1), 0, EEXIST);
	TFAIL(&R[0], A_MAIN, mtcp_setconf(&conf), -1, EBUSY);
	TRET(&R[0], A_MAIN, mtcp_settimer(g_mctx[0], g_sock[0], &tv,
					  tm_core0), 0);
	/* Either direction of a 4-tuple maps to one core in range. */
	for (i = 0; i < 64; i++) {
		in_addr_t a = htonl(0x0a000000u + (uint32_t)i * 7919u);
		in_addr_t b = htonl(0xac100000u + (uint32_t)i * 104729u);
		in_port_t pa = htons((uint16_t)(1024 + i * 31));
		in_port_t pb = htons((uint16_t)(80 + i));
		int c = GetRSSCPUCore(a, b, pa, pb, NCORES, 0);

		TTRUE(&R[0], A_MAIN, c >= 0 && c < NCORES &&
		      GetRSSCPUCore(b, a, pb, pa, NCORES, 0) == c,
		      "tuple %d: core %d, reversed %d", i, c,
		      GetRSSCPUCore(b, a, pb, pa, NCORES, 0));
	}
	{
		unsigned ran, bad = trec_report(&R[0], A_MAIN, &ran);

		assert_int_equal(bad, 0);
		assert_true(ran >= 5 + 4 * NCORES + 4 + 64);
	}
}

static void
test_run(void **state)
{
	unsigned ran[NCORES], bad = 0, n, i;
	int c;

	(void)state;
	for (c = 0; c < NCORES; c++)
		mtcp_app_join(g_mctx[c]);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	for (c = 0; c < NCORES; c++) {
		bad += trec_report(&R[c], A_CB, &ran[c]);
		assert_int_equal(R[c].lost, 0);
	}
	assert_int_equal(bad, 0);
	/* Every flow started once, on one core, and all its packets were
	 * seen there only. */
	for (i = 0; i < NFLOWS; i++) {
		n = 0;
		for (c = 0; c < NCORES; c++) {
			n += S[c].started[i];
			if (S[c].seen[i])
				assert_int_equal(S[c].started[i], 1);
		}
		assert_int_equal(n, 1);
	}
	/* Both cores had flows (the tuples were chosen to spread) */
	for (c = 0; c < NCORES; c++) {
		assert_true(S[c].starts > 0);
		assert_true(ran[c] >= S[c].starts * 10);
	}
	/* 8 packets per flow at two hooks; CONN_END once per side */
	assert_int_equal(S[0].pkts + S[1].pkts, NFLOWS * 8 * 2);
	assert_int_equal(S[0].ends + S[1].ends, NFLOWS * 2);
	assert_int_equal(cap_frames, NFLOWS * 8);
	/* The timer armed from main ran once, on core 0 */
	assert_int_equal(S[0].timer, 1);
	assert_int_equal(S[1].timer, 0);
}

static void
test_after(void **state)
{
	int c, i;

	(void)state;
	/* From main, after the run, the answers are the same. */
	for (c = 0; c < NCORES; c++)
		for (i = 0; i < NFLOWS; i++)
			if (S[c].started[i])
				assert_int_equal(GetRSSCPUCore(
					g_addr[i][0].sin_addr.s_addr,
					g_addr[i][1].sin_addr.s_addr,
					g_addr[i][0].sin_port,
					g_addr[i][1].sin_port, NCORES, 0), c);
	assert_int_equal(mtcp_destroy(), 0);
	tapi_cleanup("cores", cap_path);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_setup),
		cmocka_unit_test(test_run),
		cmocka_unit_test(test_after),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
