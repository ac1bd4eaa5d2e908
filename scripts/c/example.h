/*
 * example.h - what the three example monitors (midstat.c, firewall.c,
 * nat.c) share: a timer armed in microseconds, and for their standalone
 * builds the life of an mOS program (mtcp_init, a context per core,
 * mtcp_app_join), so that each example's own file shows its policy.
 */
#ifndef MB_EXAMPLE_H
#define MB_EXAMPLE_H

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include <moonbox.h>

/* mtcp_settimer with the delay in microseconds. */
static inline int
example_settimer_us(mctx_t m, int sock, uint32_t delay_us, callback_t cb)
{
	struct timeval tv = {
		.tv_sec = delay_us / 1000000u,
		.tv_usec = delay_us % 1000000u,
	};

	return mtcp_settimer(m, sock, &tv, cb);
}

#ifdef MB_STANDALONE

/* The argument of the core-count option -opt: 1 to max, or -1 after a
 * message. */
static inline int
example_cores(const char *prog, int opt, const char *arg, int max)
{
	char *end;
	long n = strtol(arg, &end, 10);

	if (*end != '\0' || n < 1 || n > max) {
		fprintf(stderr, "%s: -%c: 1 to %d cores\n", prog, opt, max);
		return -1;
	}
	return (int)n;
}

/* mtcp_init(conf) and, when cores > 0, that many cores: the number of
 * cores to run (at most max), or -1 after a message, moonbox destroyed. */
static inline int
example_init(const char *prog, const char *conf, int cores, int max)
{
	struct mtcp_conf mc;

	if (mtcp_init(conf) != 0) {
		fprintf(stderr, "%s: mtcp_init: %s\n", prog, strerror(errno));
		return -1;
	}
	if (mtcp_getconf(&mc) != 0)
		goto fail;
	if (cores > 0) {
		mc.num_cores = cores;
		if (mtcp_setconf(&mc) != 0)
			goto fail;
	}
	return mc.num_cores < max ? mc.num_cores : max;
fail:
	fprintf(stderr, "%s: configuration: %s\n", prog, strerror(errno));
	mtcp_destroy();
	return -1;
}

/* A context for each of the n cores, set up by setup(), then wait until
 * every core has finished: 0, or 1 after a failure (the cores already
 * running are stopped rather than left to read input, moonbox is
 * destroyed). */
static inline int
example_run(const char *prog, mctx_t *mctx, int n, int (*setup)(mctx_t))
{
	int i, rc = 0;

	for (i = 0; i < n; i++) {
		mctx[i] = mtcp_create_context(i);
		if (mctx[i] == NULL) {
			fprintf(stderr, "%s: core %d: %s\n", prog, i,
				strerror(errno));
			n = i;
			rc = 1;
			break;
		}
		if (setup(mctx[i]) != 0) {
			n = i + 1;
			rc = 1;
			break;
		}
	}
	if (rc != 0) {
		for (i = 0; i < n; i++)
			mtcp_destroy_context(mctx[i]);
		mtcp_destroy();
		return rc;
	}
	for (i = 0; i < n; i++)
		mtcp_app_join(mctx[i]);
	return 0;
}

#endif /* MB_STANDALONE */

#endif /* MB_EXAMPLE_H */
