/*
 * plugin.h - native plugins of the moonbox program (--plugin FILE.so):
 * shared objects implementing moonbox_plugin_init() (moonbox.h), loaded
 * once and initialised on every worker core.
 */
#ifndef MB_PLUGIN_H
#define MB_PLUGIN_H

#include "mtcp_api.h"

#define PLUGIN_MAX	16

struct plugin {
	void *handle;
	const char *path;
	int (*init)(mctx_t mctx, int argc, char **argv);
	void (*fini)(mctx_t mctx);
};

struct plugins {
	int n;
	struct plugin p[PLUGIN_MAX];
	int argc;
	char **argv;
};

/* dlopen every plugin and resolve its entry points; prints a one-line
 * error and returns -1 on failure. */
int plugins_load(struct plugins *ps, const char *const *paths, int n,
		 int argc, char **argv, const char *prog);
/* Run every plugin's init on this core; -1 (message printed) if one fails. */
int plugins_init_core(const struct plugins *ps, mctx_t mctx,
		      const char *prog);
/* Run every plugin's optional fini on this core. */
void plugins_fini_core(const struct plugins *ps, mctx_t mctx);
void plugins_unload(struct plugins *ps);

#endif /* MB_PLUGIN_H */
