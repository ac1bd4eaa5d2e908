/*
 * fuzz_opts.c - fuzz target of moonbox's option parsing (engine/opts.c) as
 * a standalone mOS program meets it: the MOONBOX_OPTS text split into
 * words (opts_split), then parsed (opts_parse) with each combination of
 * flags. The input is that text (up to its first NUL byte).
 *
 * Checked: the split gives at most its limit of words, NULL-terminated,
 * each inside the text's buffer; the parser returns one of its three
 * statuses (it never exits); a run it accepts has every count within its
 * table, cores within 1..64, every string it kept pointing into the
 * words, --stats-interval only with --stats in the moonbox program's
 * parse; a second parse of the same words gives the same options.
 */
#include <stdint.h>
#include <string.h>

#include "fuzz.h"
#include "opts.h"

#define MAXWORDS	64

static char text[8192];
static char *words[MAXWORDS + 2];

static int
inside(const char *s)
{
	return s == NULL || (s >= text && s < text + sizeof(text));
}

static void
check_ok(const struct mb_opts *o, int flags)
{
	int i;

	FUZZ_CHECK(o->cores >= 1 && o->cores <= 64);
	FUZZ_CHECK(o->nb_ports >= 0 && o->nb_ports <= OPTS_MAX_PORTS);
	FUZZ_CHECK(o->nb_plugins >= 0 && o->nb_plugins <= OPTS_MAX_PLUGINS);
	FUZZ_CHECK(o->nb_plugin_args >= 0 &&
		   o->nb_plugin_args <= OPTS_MAX_PLUGIN_ARGS);
	FUZZ_CHECK(o->plugin_args[o->nb_plugin_args] == NULL);
	FUZZ_CHECK(o->script_argc >= 0 &&
		   o->script_argc <= OPTS_MAX_SCRIPT_ARGS);
	FUZZ_CHECK(o->mbufs == 0 || (o->mbufs >= 1024 && o->mbufs <= 1 << 24));
	FUZZ_CHECK(o->timeout_ms >= 0 && o->timewait_ms >= 0);
	FUZZ_CHECK(inside(o->read_file) && inside(o->write_file) &&
		   inside(o->eal_extra) && inside(o->stats_file) &&
		   inside(o->script));
	for (i = 0; i < o->nb_ports; i++)
		FUZZ_CHECK(o->ports[i] != NULL && inside(o->ports[i]));
	for (i = 0; i < o->nb_plugins; i++)
		FUZZ_CHECK(o->plugins[i] != NULL && inside(o->plugins[i]));
	for (i = 0; i < o->nb_plugin_args; i++)
		FUZZ_CHECK(inside(o->plugin_args[i]));
	if (!(flags & OPTS_F_SCRIPT))
		FUZZ_CHECK(o->script == NULL && o->script_argc == 0);
	/* A --stats file is rewritten while running only if there is one. */
	FUZZ_CHECK(o->stats_interval_s == 0 ||
		   (o->stats_file != NULL && o->stats_interval_s <= 86400));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mb_opts o1, o2;
	int n, flags, rc;

	if (size >= sizeof(text))
		size = sizeof(text) - 1;
	memcpy(text, data, size);
	text[size] = '\0';
	words[0] = "moonbox";
	n = opts_split(text, words + 1, MAXWORDS);
	FUZZ_CHECK(n >= -1 && n <= MAXWORDS);
	if (n < 0)
		return 0;
	FUZZ_CHECK(words[n + 1] == NULL);
	for (int i = 1; i <= n; i++)
		FUZZ_CHECK(words[i] != NULL && inside(words[i]));

	for (flags = 0; flags < 4; flags++) {
		opts_defaults(&o1);
		rc = opts_parse(&o1, n + 1, words, flags);
		FUZZ_CHECK(rc == OPTS_OK || rc == OPTS_EXIT ||
			   rc == OPTS_USAGE);
		if (rc != OPTS_OK)
			continue;
		check_ok(&o1, flags);
		/* getopt's state is restored: the same words, the same
		 * options. */
		opts_defaults(&o2);
		FUZZ_CHECK(opts_parse(&o2, n + 1, words, flags) == rc);
		/* script_argv points into each struct itself. */
		FUZZ_CHECK(o1.script_argv == NULL ||
			   o1.script_argv == o1.script_args);
		o1.script_argv = o2.script_argv = NULL;
		FUZZ_CHECK(memcmp(&o1, &o2, sizeof(o1)) == 0);
	}
	return 0;
}
