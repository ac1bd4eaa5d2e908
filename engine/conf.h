/*
 * conf.h - parser of mOS's configuration file (mos.conf), so that programs
 * written for mOS can keep passing theirs to mtcp_init().
 *
 * Syntax (mOS core/src/config.c): '#' starts a comment anywhere; blocks are
 * "name { ... }" and may nest, with '{' on the name's line or alone on the
 * next one, and content may follow '{' or precede '}' on the same line;
 * inside application and mos, lines are "key = value" (key: letter or '_'
 * then letters, digits, '_', at most 20 characters; value: at most 200
 * characters, blanks around it trimmed; numbers as scanf's %i, so 0x.. is
 * hex and a leading 0 is octal). Keys and blocks this parser does not know
 * are ignored, as mOS does, but their names are recorded in ignored[] so the
 * caller can warn (the templates' "core_mask" is the usual case); the
 * content of an unknown block is skipped without being checked. '{' and
 * '}' are structure wherever they appear, so values cannot contain them
 * (mOS's brace matching counts them too).
 *
 * Where mOS silently skips a line it cannot use, this parser reports an
 * error instead: a line that is neither "key = value", a block opener, '}',
 * nor a valid table entry; a number with trailing junk or out of range; an
 * invalid device, IP address, prefix or MAC; a table that overflows; a
 * string too long for its field. Nothing is truncated silently.
 *
 * moonbox extensions and choices:
 * - netdev lines are "<device> <cpumask>" where <device> is a kernel
 *   interface name (at most 15 characters of [A-Za-z0-9_.-]), a PCI address
 *   ("0000:03:00.0" or "03:00.0") or a DPDK vdev string (starts with
 *   "net_", may carry ",key=value" parameters). conf_port.spec is what to
 *   hand to DPDK: PCI addresses and vdev strings as written; a kernel
 *   interface NAME becomes "net_af_packet_NAME,iface=NAME" (DPDK's
 *   af_packet PMD; the "_NAME" suffix keeps vdev names unique), because
 *   moonbox has no dpdk-iface-kmod to turn DPDK ports into netdevs.
 * - arp_table and route_table entries may omit "/prefix" (meaning /32);
 *   mOS needs it and silently drops such lines.
 * - netdev, arp_table, route_table and nic_forward_table blocks may appear
 *   more than once in mos; their entries accumulate.
 * - nic_forward_table names must be netdev devices (as written there), a
 *   device may be in one pair only, and not paired with itself.
 * - netdev may be absent (nb_ports == 0): moonbox can take its ports from
 *   its own options; the caller decides whether that is an error.
 * - Numbers are range-checked: forward, no_ring_buffers and ip_forward are
 *   0 or 1; sizes and max_concurrency at least 1; nb_mem_channels 0..128;
 *   times at most 604800 s (a week, so milliseconds still fit an int);
 *   the multiprocess core 0..1023; masks are unsigned 64-bit, and a netdev
 *   mask may not be 0. application.type, when given, is end or monitor.
 * - Blocks nest at most CONF_MAX_DEPTH deep, unknown ones included.
 * - Unlike mOS, nothing is read from /proc/net/arp or /proc/net/route.
 */
#ifndef MB_CONF_H
#define MB_CONF_H

#include <stddef.h>
#include <stdint.h>

#define CONF_MAX_PORTS		16
#define CONF_MAX_FWD		16
#define CONF_MAX_ROUTES		64
#define CONF_MAX_ARP		64
#define CONF_MAX_APPS		10	/* mOS's MAX_APP_BLOCK */
#define CONF_MAX_IGNORED	32
#define CONF_MAX_DEPTH		16	/* block nesting limit */
#define CONF_KEY_MAX		20	/* mOS's WORD_LEN */
#define CONF_VALUE_MAX		200	/* mOS's STR_LEN */

enum conf_dev_kind {
	CONF_DEV_IFNAME,	/* kernel interface, opened with af_packet */
	CONF_DEV_PCI,		/* PCI address */
	CONF_DEV_VDEV,		/* DPDK virtual device string */
};

struct conf_port {
	char dev[256];		/* as written in netdev */
	char spec[512];		/* DPDK device argument (see above) */
	uint64_t cpu_mask;	/* never 0 */
	int kind;		/* enum conf_dev_kind */
};

struct conf_route {
	uint32_t addr;		/* network order */
	int prefix;		/* 0..32 */
	char dev[64];
};

struct conf_arp {
	uint32_t addr;		/* network order */
	int prefix;		/* 0..32 */
	uint8_t mac[6];
};

struct conf_app {
	char type[16];		/* "end", "monitor" or "" (not given) */
	char run[256];		/* never empty */
	uint64_t cpu_mask;	/* default: all bits */
	int ip_forward;		/* 0 or 1, default 1 */
};

struct mosconf {
	/*
	 * forward is mos.forward ANDed with every application's ip_forward,
	 * as mOS's PatchCONFIG() does. Times are seconds, as in the file;
	 * tcp_timeout <= 0 means never.
	 */
	int forward, nb_mem_channels, max_concurrency, rmem_size, wmem_size;
	int tcp_tw_interval, tcp_timeout, no_ring_buffers;
	char mos_log[256], stat_print[256], port[256];
	int multiprocess;	/* "multiprocess = CORE [master]" was given */
	int mp_core;		/* CORE, -1 without multiprocess */
	int mp_master;		/* "master" was given */

	int nb_ports;
	struct conf_port ports[CONF_MAX_PORTS];
	int nb_fwd;
	char fwd[CONF_MAX_FWD][2][256];	/* nic_forward_table pairs */
	int nb_routes;
	struct conf_route routes[CONF_MAX_ROUTES];
	int nb_arp;
	struct conf_arp arp[CONF_MAX_ARP];
	int nb_apps;
	struct conf_app apps[CONF_MAX_APPS];

	/*
	 * mOS's mon_app_exists: an application of type monitor, or no
	 * application of type end (which includes no application at all).
	 */
	int monitor_mode;
	int num_cores;		/* popcount of the OR of all netdev masks */

	/* "block.key" or "block.subblock" names ignored, each once. */
	int nb_ignored;
	char ignored[CONF_MAX_IGNORED][64];
	int nb_ignored_dropped;	/* further names that did not fit */
};

/* mOS's defaults: forward 1, max_concurrency 100000, rmem and wmem 8192,
 * tcp_tw_interval 0, tcp_timeout 30, everything else 0 or empty. */
void
conf_defaults(struct mosconf *c);

/*
 * Parse a file into *c (which starts from conf_defaults() and is left
 * partly filled on error). Returns 0, or
 * -1 with errno set (the open/read error, or EINVAL for bad content) and a
 * message in err: "FILE:LINE: what is wrong", or "FILE: what is wrong" when
 * no single line is to blame. err may be NULL. Never exits.
 */
int
conf_parse_file(const char *path, struct mosconf *c, char *err,
		size_t errlen);

/* The same on text in memory; name stands for FILE in messages. */
int
conf_parse_string(const char *text, const char *name, struct mosconf *c,
		  char *err, size_t errlen);

/* The same on len bytes (may contain NUL bytes, which are errors). */
int
conf_parse_buf(const char *buf, size_t len, const char *name,
	       struct mosconf *c, char *err, size_t errlen);

#endif /* MB_CONF_H */
