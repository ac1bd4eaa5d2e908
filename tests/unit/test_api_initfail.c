/*
 * test_api_initfail.c - the mOS API after a mtcp_init() that failed late:
 * DPDK started but the only port could not be created (a net_pcap port
 * reading a file that does not exist), so mtcp_init() returns -1 with
 * ENODEV. The man pages say what must follow: moonbox is not initialised,
 * so mtcp_getconf() and mtcp_setconf() fail with EINVAL and
 * mtcp_create_context() with EPERM; mtcp_destroy() still cleans up. A
 * process of its own: DPDK can be started only once per process.
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

#include "test_api.h"

static struct trec R;
static char missing[256];

#define A_INIT	"init"

static void
test_init_fails(void **state)
{
	char opts[512];

	(void)state;
	snprintf(missing, sizeof(missing), "/tmp/mb_api_initfail_%d.pcap",
		 (int)getpid());
	unlink(missing);
	snprintf(opts, sizeof(opts), "--port net_pcap0,rx_pcap=%s --eal "
		 "\"--file-prefix=mb_api_initfail_%d\"", missing,
		 (int)getpid());
	setenv("MOONBOX_OPTS", opts, 1);
	TFAIL(&R, A_INIT, mtcp_init(NULL), -1, ENODEV);
	trec_assert(&R, A_INIT, 1);
}

#define A_CONF	"conf"

/*
 * BUG: after this failed mtcp_init(), mtcp_getconf() and mtcp_setconf()
 * return 0 instead of EINVAL ("moonbox is not initialised (mtcp_init() was
 * not called or failed)", mtcp_getconf(3), mtcp_setconf(3)): rt_eal_init()
 * returns -1 after rte_eal_init() succeeded without undoing it
 * (engine/rt.c, the "failed to start (DPDK could not create it)" return),
 * and both functions test only g_rt.eal_ready (engine/api_life.c,
 * mtcp_getconf and mtcp_setconf).
 */
static void
test_conf_after_failure(void **state)
{
	struct mtcp_conf conf;

	(void)state;
	memset(&conf, 0, sizeof(conf));
	conf.num_cores = 1;
	conf.max_concurrency = 1024;
	conf.rcvbuf_size = 8192;
	TFAIL(&R, A_CONF, mtcp_getconf(&conf), -1, EINVAL);
	TFAIL(&R, A_CONF, mtcp_setconf(&conf), -1, EINVAL);
	trec_assert(&R, A_CONF, 2);
}

#define A_CTX	"context"

/*
 * BUG: mtcp_create_context() after the failed mtcp_init() fails with
 * ENODEV (from rt_start() on a port that was never created, DPDK printing
 * "Invalid port_id=0"), where mtcp_create_context(3) documents EPERM for
 * "mtcp_init() was not called or failed" (engine/api_life.c,
 * mtcp_create_context tests only g_rt.eal_ready).
 */
static void
test_context_after_failure(void **state)
{
	(void)state;
	TFAIL(&R, A_CTX, mtcp_create_context(0), 0, EPERM);
	TFAIL(&R, A_CTX, mtcp_socket(NULL, AF_INET, MOS_SOCK_MONITOR_STREAM,
				     0), -1, EACCES);
	trec_assert(&R, A_CTX, 2);
}

static void
test_destroy(void **state)
{
	(void)state;
	assert_int_equal(mtcp_destroy(), 0);
	TFAIL(&R, "after", mtcp_getconf(&(struct mtcp_conf){ 0 }), -1, EINVAL);
	trec_assert(&R, "after", 1);
	tapi_cleanup("initfail", missing);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init_fails),
		cmocka_unit_test(test_conf_after_failure),
		cmocka_unit_test(test_context_after_failure),
		cmocka_unit_test(test_destroy),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
