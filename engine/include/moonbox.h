/*
 * moonbox.h - what a native moonbox plugin implements and may call besides
 * the mOS API (mos_api.h, mtcp_api.h).
 *
 * A plugin is a shared object loaded with `moonbox --plugin ./x.so
 * [--plugin-arg ARG ...]`. moonbox calls its moonbox_plugin_init() once per
 * worker core, on that core's thread, after the core's context exists and
 * before any packet is processed; the plugin registers its sockets,
 * callbacks and timers there. Build it with
 *   cc -shared -fPIC x.c $(pkg-config --cflags --libs moonbox) -o x.so
 */
#ifndef MOONBOX_H
#define MOONBOX_H

#include <mos_api.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Version of the plugin interface; a plugin may export
 * `const int moonbox_plugin_abi = MOONBOX_PLUGIN_ABI;` to be checked. */
#define MOONBOX_PLUGIN_ABI	1

/**
 * Plugin entry point, called once per worker core.
 * @param mctx the core's context.
 * @param argc number of --plugin-arg values (0 if none).
 * @param argv the --plugin-arg values; argv[argc] is NULL.
 * @return 0 on success; anything else stops moonbox at start-up (exit 1).
 */
int
moonbox_plugin_init(mctx_t mctx, int argc, char **argv);

/** Number of worker cores of this run (for plugins that share state). */
int
moonbox_num_cores(void);

#ifdef __cplusplus
};
#endif

#endif /* MOONBOX_H */
