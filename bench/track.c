/*
 * track.c - benchmark plugin for the "track" configuration: one listening
 * stream socket with no callbacks, so moonbox tracks every flow and
 * reassembles both directions but runs no policy code.
 *   moonbox --plugin ./track.so ...
 */
#include <moonbox.h>

int
moonbox_plugin_init(mctx_t mctx, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return mtcp_socket(mctx, AF_INET, MOS_SOCK_MONITOR_STREAM, 0) < 0;
}
