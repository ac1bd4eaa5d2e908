/*
 * plugin.c - loading native plugins (see plugin.h).
 *
 * Plugins are opened with RTLD_NOW so a missing symbol is reported at
 * start-up, not at the first packet, and RTLD_GLOBAL is not needed: they
 * resolve the mtcp_* functions from libmoonbox, which the program links.
 */
#include <dlfcn.h>
#include <stdio.h>

#include "moonbox.h"
#include "plugin.h"

int
plugins_load(struct plugins *ps, const char *const *paths, int n, int argc,
	     char **argv, const char *prog)
{
	int i;

	ps->n = 0;
	ps->argc = argc;
	ps->argv = argv;
	for (i = 0; i < n && i < PLUGIN_MAX; i++) {
		struct plugin *p = &ps->p[ps->n];
		const int *abi;

		p->path = paths[i];
		p->handle = dlopen(paths[i], RTLD_NOW | RTLD_LOCAL);
		if (p->handle == NULL) {
			fprintf(stderr, "%s: cannot load plugin: %s\n", prog,
				dlerror());
			return -1;
		}
		ps->n++;
		*(void **)&p->init = dlsym(p->handle, "moonbox_plugin_init");
		if (p->init == NULL) {
			fprintf(stderr, "%s: plugin '%s' has no "
				"moonbox_plugin_init()\n", prog, paths[i]);
			return -1;
		}
		*(void **)&p->fini = dlsym(p->handle, "moonbox_plugin_fini");
		abi = dlsym(p->handle, "moonbox_plugin_abi");
		if (abi != NULL && *abi != MOONBOX_PLUGIN_ABI) {
			fprintf(stderr, "%s: plugin '%s' was built for plugin "
				"interface %d, this moonbox has %d\n", prog,
				paths[i], *abi, MOONBOX_PLUGIN_ABI);
			return -1;
		}
	}
	return 0;
}

int
plugins_init_core(const struct plugins *ps, mctx_t mctx, const char *prog)
{
	int i, ret;

	for (i = 0; i < ps->n; i++) {
		ret = ps->p[i].init(mctx, ps->argc, ps->argv);
		if (ret != 0) {
			fprintf(stderr, "%s: plugin '%s' failed to start on "
				"core %d (returned %d)\n", prog, ps->p[i].path,
				mctx->cpu, ret);
			return -1;
		}
	}
	return 0;
}

void
plugins_fini_core(const struct plugins *ps, mctx_t mctx)
{
	int i;

	for (i = 0; i < ps->n; i++)
		if (ps->p[i].fini != NULL)
			ps->p[i].fini(mctx);
}

void
plugins_unload(struct plugins *ps)
{
	int i;

	for (i = 0; i < ps->n; i++)
		dlclose(ps->p[i].handle);
	ps->n = 0;
}
