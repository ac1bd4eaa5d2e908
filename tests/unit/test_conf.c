/*
 * test_conf.c - unit tests of the mos.conf parser (engine/conf.c): values
 * and defaults, mOS's template layouts, the three netdev device kinds, the
 * derived fields, every error with the line it must name, and hostile
 * input parsed right before an unmapped page so over-reads crash.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <arpa/inet.h>

#include <cmocka.h>

#include "conf.h"

#define NAME	"t.conf"

/* Parse text that must be valid; the message is shown if it is not. */
static void
parse_ok(const char *text, struct mosconf *c)
{
	char err[512] = "";

	if (conf_parse_string(text, NAME, c, err, sizeof(err)) != 0)
		fail_msg("unexpected parse error: %s", err);
	assert_string_equal(err, "");
}

/*
 * Text that must fail at line (0: no line) with a message containing
 * what; the message must start with "t.conf:LINE: ".
 */
static void
parse_err(const char *text, int line, const char *what)
{
	struct mosconf *c = malloc(sizeof(*c));
	char err[512] = "", want[64];

	assert_non_null(c);
	errno = 0;
	if (conf_parse_string(text, NAME, c, err, sizeof(err)) != -1)
		fail_msg("parsed, but expected an error at line %d (%s)",
			 line, what);
	assert_int_equal(errno, EINVAL);
	if (line > 0)
		snprintf(want, sizeof(want), NAME ":%d: ", line);
	else
		snprintf(want, sizeof(want), NAME ": ");
	if (strncmp(err, want, strlen(want)) != 0 || strstr(err, what) == NULL)
		fail_msg("expected '%s...%s', got '%s'", want, what, err);
	free(c);
}

static uint32_t
ip(const char *s)
{
	struct in_addr a;

	assert_int_equal(inet_pton(AF_INET, s, &a), 1);
	return a.s_addr;
}

static int
has_ignored(const struct mosconf *c, const char *name)
{
	int i;

	for (i = 0; i < c->nb_ignored; i++)
		if (strcmp(c->ignored[i], name) == 0)
			return 1;
	return 0;
}

/* A growing string for generated configs. */
struct sbuf {
	char *p;
	size_t len, cap;
};

__attribute__((format(printf, 2, 3)))
static void
sb_add(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
		assert_true(n >= 0);
		if ((size_t)n < b->cap - b->len)
			break;
		b->cap = (b->cap + (size_t)n + 1) * 2;
		b->p = realloc(b->p, b->cap);
		assert_non_null(b->p);
	}
	b->len += (size_t)n;
}

static void
sb_init(struct sbuf *b)
{
	b->cap = 256;
	b->len = 0;
	b->p = malloc(b->cap);
	assert_non_null(b->p);
	b->p[0] = '\0';
}

/*
 * Parse len bytes placed at the very end of a page that is followed by a
 * PROT_NONE page: any read past the input faults.
 */
static int
parse_guarded(const void *data, size_t len, struct mosconf *c, char *err,
	      size_t errlen)
{
	long pg = sysconf(_SC_PAGESIZE);
	size_t pages = (len + (size_t)pg - 1) / (size_t)pg + 1, size;
	uint8_t *m;
	int rc;

	size = pages * (size_t)pg;
	m = mmap(NULL, size, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(m != MAP_FAILED);
	assert_int_equal(mprotect(m + size - pg, (size_t)pg, PROT_NONE), 0);
	memcpy(m + size - pg - len, data, len);
	rc = conf_parse_buf((const char *)(m + size - pg - len), len, NAME, c,
			    err, errlen);
	munmap(m, size);
	return rc;
}

static void
test_defaults(void **state)
{
	struct mosconf c;

	(void)state;
	memset(&c, 0xa5, sizeof(c));
	conf_defaults(&c);
	assert_int_equal(c.forward, 1);
	assert_int_equal(c.nb_mem_channels, 0);
	assert_int_equal(c.max_concurrency, 100000);
	assert_int_equal(c.rmem_size, 8192);
	assert_int_equal(c.wmem_size, 8192);
	assert_int_equal(c.tcp_tw_interval, 0);
	assert_int_equal(c.tcp_timeout, 30);
	assert_int_equal(c.no_ring_buffers, 0);
	assert_string_equal(c.mos_log, "");
	assert_string_equal(c.stat_print, "");
	assert_string_equal(c.port, "");
	assert_int_equal(c.multiprocess, 0);
	assert_int_equal(c.mp_core, -1);
	assert_int_equal(c.nb_ports, 0);
	assert_int_equal(c.nb_fwd, 0);
	assert_int_equal(c.nb_routes, 0);
	assert_int_equal(c.nb_arp, 0);
	assert_int_equal(c.nb_apps, 0);
	assert_int_equal(c.nb_ignored, 0);
	assert_int_equal(c.num_cores, 0);

	/* An empty mos block keeps every default; no app: monitor mode. */
	memset(&c, 0x5a, sizeof(c));
	parse_ok("mos {\n}\n", &c);
	assert_int_equal(c.forward, 1);
	assert_int_equal(c.max_concurrency, 100000);
	assert_int_equal(c.rmem_size, 8192);
	assert_int_equal(c.wmem_size, 8192);
	assert_int_equal(c.tcp_tw_interval, 0);
	assert_int_equal(c.tcp_timeout, 30);
	assert_int_equal(c.nb_ports, 0);
	assert_int_equal(c.nb_apps, 0);
	assert_int_equal(c.monitor_mode, 1);
	assert_int_equal(c.num_cores, 0);
	assert_int_equal(c.nb_ignored, 0);
}

static const char full_conf[] =
	"############### MOS configuration file ###############\n"	/* 1 */
	"application {\n"
	"\ttype = end\n"
	"\trun = ./epserver -p /www -f epserver.conf  \n"
	"\tcpu_mask = 0x0f\n"						/* 5 */
	"\tip_forward = 1\n"
	"}\n"
	"mos {\n"
	"\tforward = 1\n"
	"\tnb_mem_channels = 4\n"					/* 10 */
	"\tmax_concurrency = 50000\n"
	"\trmem_size = 16384\n"
	"\twmem_size = 4096\n"
	"\ttcp_tw_interval = 30\n"
	"\ttcp_timeout = 60\n"						/* 15 */
	"\tno_ring_buffers = 1\n"
	"\tmos_log = logs/\n"
	"\tstat_print = dpdk0 dpdk1\n"
	"\tport = 80\n"
	"\tmultiprocess = 2 master\n"					/* 20 */
	"\tnetdev {\n"
	"\t\tdpdk0 0x03\n"
	"\t\tdpdk1 0x0C\n"
	"\t}\n"
	"\tarp_table {\n"						/* 25 */
	"\t\t10.0.0.1/32 00:11:22:33:44:55\n"
	"\t\t10.0.1.0/24 aa:BB:cc:dd:EE:ff\n"
	"\t}\n"
	"\troute_table {\n"
	"\t\t10.0.0.0/24 dpdk0\n"					/* 30 */
	"\t\t0.0.0.0/0 dpdk1\n"
	"\t}\n"
	"\tnic_forward_table {\n"
	"\t\tdpdk0 dpdk1\n"
	"\t}\n"								/* 35 */
	"}\n";

static void
check_full(const struct mosconf *c)
{
	assert_int_equal(c->nb_apps, 1);
	assert_string_equal(c->apps[0].type, "end");
	assert_string_equal(c->apps[0].run, "./epserver -p /www -f epserver.conf");
	assert_int_equal(c->apps[0].cpu_mask, 0x0f);
	assert_int_equal(c->apps[0].ip_forward, 1);
	assert_int_equal(c->forward, 1);
	assert_int_equal(c->nb_mem_channels, 4);
	assert_int_equal(c->max_concurrency, 50000);
	assert_int_equal(c->rmem_size, 16384);
	assert_int_equal(c->wmem_size, 4096);
	assert_int_equal(c->tcp_tw_interval, 30);
	assert_int_equal(c->tcp_timeout, 60);
	assert_int_equal(c->no_ring_buffers, 1);
	assert_string_equal(c->mos_log, "logs/");
	assert_string_equal(c->stat_print, "dpdk0 dpdk1");
	assert_string_equal(c->port, "80");
	assert_int_equal(c->multiprocess, 1);
	assert_int_equal(c->mp_core, 2);
	assert_int_equal(c->mp_master, 1);

	assert_int_equal(c->nb_ports, 2);
	assert_string_equal(c->ports[0].dev, "dpdk0");
	assert_string_equal(c->ports[0].spec,
			    "net_af_packet_dpdk0,iface=dpdk0");
	assert_int_equal(c->ports[0].kind, CONF_DEV_IFNAME);
	assert_int_equal(c->ports[0].cpu_mask, 0x3);
	assert_string_equal(c->ports[1].dev, "dpdk1");
	assert_int_equal(c->ports[1].cpu_mask, 0xc);
	assert_int_equal(c->num_cores, 4);

	assert_int_equal(c->nb_arp, 2);
	assert_int_equal(c->arp[0].addr, ip("10.0.0.1"));
	assert_int_equal(c->arp[0].prefix, 32);
	assert_memory_equal(c->arp[0].mac, "\x00\x11\x22\x33\x44\x55", 6);
	assert_int_equal(c->arp[1].addr, ip("10.0.1.0"));
	assert_int_equal(c->arp[1].prefix, 24);
	assert_memory_equal(c->arp[1].mac, "\xaa\xbb\xcc\xdd\xee\xff", 6);

	assert_int_equal(c->nb_routes, 2);
	assert_int_equal(c->routes[0].addr, ip("10.0.0.0"));
	assert_int_equal(c->routes[0].prefix, 24);
	assert_string_equal(c->routes[0].dev, "dpdk0");
	assert_int_equal(c->routes[1].addr, 0);
	assert_int_equal(c->routes[1].prefix, 0);
	assert_string_equal(c->routes[1].dev, "dpdk1");

	assert_int_equal(c->nb_fwd, 1);
	assert_string_equal(c->fwd[0][0], "dpdk0");
	assert_string_equal(c->fwd[0][1], "dpdk1");

	assert_int_equal(c->monitor_mode, 0);
	assert_int_equal(c->nb_ignored, 0);
}

static void
test_full(void **state)
{
	struct mosconf c;

	(void)state;
	parse_ok(full_conf, &c);
	check_full(&c);
}

static void
test_file(void **state)
{
	char path[] = "/tmp/test_conf_XXXXXX", err[512];
	struct mosconf c;
	int fd = mkstemp(path);

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(write(fd, full_conf, strlen(full_conf)),
			 (ssize_t)strlen(full_conf));
	close(fd);
	assert_int_equal(conf_parse_file(path, &c, err, sizeof(err)), 0);
	check_full(&c);

	/* Errors in a file name the file. */
	fd = open(path, O_WRONLY | O_TRUNC);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "mos {\n\tbogus\n}\n", 15), 15);
	close(fd);
	assert_int_equal(conf_parse_file(path, &c, err, sizeof(err)), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(strncmp(err, path, strlen(path)), 0);
	assert_int_equal(strncmp(err + strlen(path), ":2: ", 4), 0);
	unlink(path);

	/* Missing file: errno ENOENT and the reason in the message. */
	errno = 0;
	assert_int_equal(conf_parse_file("/nonexistent/mos.conf", &c, err,
					 sizeof(err)), -1);
	assert_int_equal(errno, ENOENT);
	assert_string_equal(err, "/nonexistent/mos.conf: "
			    "No such file or directory");

	/* A directory opens but cannot be read. */
	errno = 0;
	assert_int_equal(conf_parse_file("/tmp", &c, err, sizeof(err)), -1);
	assert_int_equal(errno, EISDIR);
	assert_non_null(strstr(err, "/tmp: "));
}

/* mOS's two templates, filled in the way setup.sh fills them. */
static void
test_templates(void **state)
{
	static const char standalone[] =
		"############### MOS configuration file ###############\n"
		"\n"
		"#######################\n"
		"# MOS-RELATED OPTIONS #\n"
		"#######################\n"
		"mos {\n"
		"\tforward = 1\n"
		"\n"
		"\t#######################\n"
		"\t##### I/O OPTIONS #####\n"
		"\t#######################\n"
		"\tnb_mem_channels = 4\n"
		"\t# devices used for MOS applications [mandatory]\n"
		"\tnetdev {\n"
		"\t\tdpdk0 0x0003\n"
		"\t\tdpdk1 0x0003\n"
		"\t}\n"
		"\n"
		"\t# NICs to print network statistics per second\n"
		"\tstat_print = dpdk0 dpdk1\n"
		"\n"
		"\t# A directory contains MOS system log files\n"
		"\tmos_log = logs/\n"
		"\n"
		"\t# (Destination IP address) (Destination MAC address)\n"
		"\tarp_table {\n"
		"\t}\n"
		"\n"
		"\t# (Destination address)/(Prefix) (Device name)\n"
		"\troute_table {\n"
		"\t}\n"
		"\n"
		"\t# DEVNIC_A DEVNIC_B ## (e.g. dpdk0 dpdk1) \n"
		"\tnic_forward_table {\t\n"
		"\t\tdpdk0 dpdk1\n"
		"\t}\n"
		"\n"
		"\t# maximum concurrency per core [optional / default : 100000]\n"
		"\t# max_concurrency = 100000\n"
		"\t# tcp timeout seconds [optional / default : 30]\n"
		"\t# (set tcp_timeout = -1 to disable timeout checking)\n"
		"\t# tcp_timeout = 30\n"
		"}\n";
	static const char end[] =
		"# application to run\n"
		"application {\n"
		"\ttype = end\n"
		"\trun = ./epwget 10.0.0.1/index.html 100000\n"
		"\tcore_mask = 0x3\n"
		"}\n"
		"mos {\n"
		"\tforward = 0\n"
		"\tnb_mem_channels = 4\n"
		"\tnetdev {\n"
		"\t\tdpdk0 0x0003\n"
		"\t}\n"
		"\tstat_print = dpdk0\n"
		"\tmos_log = logs/\n"
		"\tarp_table {\n"
		"\t}\n"
		"\troute_table {\n"
		"\t}\n"
		"\t# tcp_tw_interval = 30\n"
		"}\n";
	struct mosconf c;

	(void)state;
	parse_ok(standalone, &c);
	assert_int_equal(c.forward, 1);
	assert_int_equal(c.nb_mem_channels, 4);
	assert_int_equal(c.nb_ports, 2);
	assert_int_equal(c.num_cores, 2);
	assert_int_equal(c.nb_fwd, 1);
	assert_int_equal(c.nb_arp, 0);
	assert_int_equal(c.nb_routes, 0);
	assert_int_equal(c.max_concurrency, 100000);
	assert_int_equal(c.tcp_timeout, 30);
	assert_int_equal(c.monitor_mode, 1);
	assert_int_equal(c.nb_ignored, 0);

	parse_ok(end, &c);
	assert_int_equal(c.forward, 0);
	assert_int_equal(c.nb_apps, 1);
	assert_string_equal(c.apps[0].run,
			    "./epwget 10.0.0.1/index.html 100000");
	/* The templates' core_mask is not a key: the mask stays "all". */
	assert_int_equal(c.apps[0].cpu_mask, UINT64_MAX);
	assert_int_equal(c.nb_ignored, 1);
	assert_string_equal(c.ignored[0], "application.core_mask");
	assert_int_equal(c.monitor_mode, 0);
	assert_int_equal(c.num_cores, 2);
}

static void
test_comments(void **state)
{
	static const char text[] =
		"# leading comment } with a brace {\n"
		"#\n"
		"mos { # opener comment\n"
		"\tforward = 0 # trailing comment\n"
		"\t# } a commented-out close brace\n"
		"\tmos_log = /var/log/mos#not part of the value\n"
		"\tstat_print = dpdk0   # blanks before the comment go\n"
		"\t#rmem_size = 1\n"
		"\tnetdev { # netdev opener\n"
		"\t\t# dpdk9 0x1\n"
		"\t\tdpdk0 0x1 # entry comment\n"
		"\t} # closer comment\n"
		"} # end\n"
		"# trailing comment without newline";
	struct mosconf c;

	(void)state;
	parse_ok(text, &c);
	assert_int_equal(c.forward, 0);
	assert_string_equal(c.mos_log, "/var/log/mos");
	assert_string_equal(c.stat_print, "dpdk0");
	assert_int_equal(c.rmem_size, 8192);
	assert_int_equal(c.nb_ports, 1);
	assert_string_equal(c.ports[0].dev, "dpdk0");
	assert_int_equal(c.ports[0].cpu_mask, 1);
}

static void
test_numbers(void **state)
{
	struct mosconf c;

	(void)state;
	parse_ok("mos {\n"
		 "max_concurrency = 0x100\n"
		 "rmem_size = 0X2000\n"
		 "wmem_size = 010\n"		/* %i: leading 0 is octal */
		 "tcp_timeout = -1\n"
		 "tcp_tw_interval = +5\n"
		 "nb_mem_channels = 0\n"
		 "netdev {\n"
		 "eth0 0xFFFFFFFFFFFFFFFF\n"
		 "}\n"
		 "}\n", &c);
	assert_int_equal(c.max_concurrency, 256);
	assert_int_equal(c.rmem_size, 8192);
	assert_int_equal(c.wmem_size, 8);
	assert_int_equal(c.tcp_timeout, -1);
	assert_int_equal(c.tcp_tw_interval, 5);
	assert_int_equal(c.nb_mem_channels, 0);
	assert_int_equal(c.ports[0].cpu_mask, UINT64_MAX);
	assert_int_equal(c.num_cores, 64);

	parse_ok("application {\nrun = x\ncpu_mask = 0x8000000000000001\n}\n"
		 "mos {\n}\n", &c);
	assert_int_equal(c.apps[0].cpu_mask, 0x8000000000000001ull);

	/* The range ends are accepted. */
	parse_ok("mos {\nforward = 0\ntcp_timeout = 604800\n"
		 "tcp_tw_interval = 604800\nmax_concurrency = 2147483647\n}\n",
		 &c);
	assert_int_equal(c.tcp_timeout, 604800);
	assert_int_equal(c.max_concurrency, 2147483647);
}

static void
test_netdev_kinds(void **state)
{
	struct mosconf c;

	(void)state;
	parse_ok("mos {\n"
		 "\tnetdev {\n"
		 "\t\teth1 0x1\n"
		 "\t\t0000:03:00.0 0x2\n"
		 "\t\t03:00.1 0x4\n"
		 "\t\tnet_pcap0,rx_pcap=in.pcap,tx_pcap=out.pcap 0x8\n"
		 "\t\tnet_ring0 0x10\n"
		 "\t\tveth-a.1 0x20\n"
		 "\t\tabcdefghijklmno 0x40\n"
		 "\t\t0000:AF:1f.7 0x80\n"
		 "\t}\n"
		 "}\n", &c);
	assert_int_equal(c.nb_ports, 8);
	assert_int_equal(c.ports[0].kind, CONF_DEV_IFNAME);
	assert_string_equal(c.ports[0].dev, "eth1");
	assert_string_equal(c.ports[0].spec, "net_af_packet_eth1,iface=eth1");
	assert_int_equal(c.ports[1].kind, CONF_DEV_PCI);
	assert_string_equal(c.ports[1].spec, "0000:03:00.0");
	assert_int_equal(c.ports[2].kind, CONF_DEV_PCI);
	assert_string_equal(c.ports[2].spec, "03:00.1");
	assert_int_equal(c.ports[3].kind, CONF_DEV_VDEV);
	assert_string_equal(c.ports[3].dev,
			    "net_pcap0,rx_pcap=in.pcap,tx_pcap=out.pcap");
	assert_string_equal(c.ports[3].spec,
			    "net_pcap0,rx_pcap=in.pcap,tx_pcap=out.pcap");
	assert_int_equal(c.ports[4].kind, CONF_DEV_VDEV);
	assert_string_equal(c.ports[4].spec, "net_ring0");
	assert_int_equal(c.ports[5].kind, CONF_DEV_IFNAME);
	assert_string_equal(c.ports[5].spec,
			    "net_af_packet_veth-a.1,iface=veth-a.1");
	assert_int_equal(c.ports[6].kind, CONF_DEV_IFNAME);
	assert_int_equal(c.ports[7].kind, CONF_DEV_PCI);
	assert_int_equal(c.ports[3].cpu_mask, 0x8);
	assert_int_equal(c.num_cores, 8);

	/* Device words that are none of the three kinds. */
	parse_err("mos {\nnetdev {\n03:00.8 0x1\n}\n}\n", 3, "'03:00.8'");
	parse_err("mos {\nnetdev {\n3:00.0 0x1\n}\n}\n", 3, "'3:00.0'");
	parse_err("mos {\nnetdev {\n0000:03:00.0.1 0x1\n}\n}\n", 3,
		  "not an interface name, PCI address or net_* vdev");
	parse_err("mos {\nnetdev {\neth/0 0x1\n}\n}\n", 3, "'eth/0'");
	parse_err("mos {\nnetdev {\neth:0 0x1\n}\n}\n", 3, "'eth:0'");
	parse_err("mos {\nnetdev {\nabcdefghijklmnop 0x1\n}\n}\n", 3,
		  "'abcdefghijklmnop'");
	parse_err("mos {\nnetdev {\nnet_ 0x1\n}\n}\n", 3, "'net_'");
	parse_err("mos {\nnetdev {\nnet_,a=b 0x1\n}\n}\n", 3, "'net_,a=b'");
	parse_err("mos {\nnetdev {\nnet_pc-ap 0x1\n}\n}\n", 3, "'net_pc-ap'");
	/* A blank inside a vdev string makes it three words. */
	parse_err("mos {\nnetdev {\nnet_pcap0,rx_pcap=a b.pcap 0x1\n}\n}\n",
		  3, "expected '<device> <cpumask>'");
}

static void
test_derived(void **state)
{
	struct mosconf c;

	(void)state;
	/* num_cores counts the union of the masks. */
	parse_ok("mos {\nnetdev {\na 0x1\nb 0x6\nc 0x4\n}\n}\n", &c);
	assert_int_equal(c.num_cores, 3);
	parse_ok("mos {\nnetdev {\na 0x10\n}\nnetdev {\nb 0x100\n}\n}\n", &c);
	assert_int_equal(c.nb_ports, 2);
	assert_int_equal(c.num_cores, 2);

	/* monitor_mode: mOS's PatchCONFIG rules. */
	parse_ok("mos {\n}\n", &c);
	assert_int_equal(c.monitor_mode, 1);
	parse_ok("application {\ntype = end\nrun = a\n}\nmos {\n}\n", &c);
	assert_int_equal(c.monitor_mode, 0);
	parse_ok("application {\ntype = monitor\nrun = a\n}\nmos {\n}\n", &c);
	assert_int_equal(c.monitor_mode, 1);
	assert_string_equal(c.apps[0].type, "monitor");
	parse_ok("application {\ntype = end\nrun = a\n}\n"
		 "application {\ntype = monitor\nrun = b\n}\nmos {\n}\n", &c);
	assert_int_equal(c.nb_apps, 2);
	assert_int_equal(c.monitor_mode, 1);
	assert_string_equal(c.apps[1].run, "b");
	/* No type at all: neither end nor monitor, so monitor. */
	parse_ok("application {\nrun = a\n}\nmos {\n}\n", &c);
	assert_string_equal(c.apps[0].type, "");
	assert_int_equal(c.monitor_mode, 1);

	/* forward is ANDed with every application's ip_forward. */
	parse_ok("application {\nrun = a\n}\n"
		 "application {\nrun = b\nip_forward = 0\n}\n"
		 "mos {\nforward = 1\n}\n", &c);
	assert_int_equal(c.apps[0].ip_forward, 1);
	assert_int_equal(c.apps[1].ip_forward, 0);
	assert_int_equal(c.forward, 0);
	parse_ok("application {\nrun = a\nip_forward = 1\n}\n"
		 "mos {\nforward = 1\n}\n", &c);
	assert_int_equal(c.forward, 1);
	parse_ok("application {\nrun = a\n}\nmos {\nforward = 0\n}\n", &c);
	assert_int_equal(c.forward, 0);
}

static void
test_ignored(void **state)
{
	struct sbuf b;
	struct mosconf c;
	int i;

	(void)state;
	parse_ok("top_key = 1\n"
		 "server {\n"
		 "  anything goes in here: ][ 1 2 3\n"
		 "  nested { deeper { x = } }\n"
		 "}\n"
		 "application {\n"
		 "  run = a\n"
		 "  core_mask = 0x3\n"
		 "  core_mask = 0x7\n"
		 "}\n"
		 "mos {\n"
		 "  foo = bar\n"
		 "  a2345678901234567890 = 1\n"
		 "  extra {\n"
		 "    this is not checked\n"
		 "  }\n"
		 "  netdev {\n"
		 "    eth0 0x1\n"
		 "    sub { }\n"
		 "  }\n"
		 "}\n", &c);
	assert_int_equal(c.nb_ignored, 7);
	assert_string_equal(c.ignored[0], "top_key");
	assert_string_equal(c.ignored[1], "server");
	assert_string_equal(c.ignored[2], "application.core_mask");
	assert_string_equal(c.ignored[3], "mos.foo");
	assert_string_equal(c.ignored[4], "mos.a2345678901234567890");
	assert_string_equal(c.ignored[5], "mos.extra");
	assert_string_equal(c.ignored[6], "mos.netdev.sub");
	assert_true(has_ignored(&c, "application.core_mask"));
	assert_false(has_ignored(&c, "mos.netdev"));
	assert_int_equal(c.nb_ignored_dropped, 0);
	assert_int_equal(c.nb_ports, 1);
	/* A known child block in the wrong place is unknown there. */
	parse_ok("netdev {\neth0 0x1\n}\nmos {\n}\n", &c);
	assert_int_equal(c.nb_ports, 0);
	assert_string_equal(c.ignored[0], "netdev");

	/* More distinct names than the list holds are counted. */
	sb_init(&b);
	sb_add(&b, "mos {\n");
	for (i = 0; i < CONF_MAX_IGNORED + 5; i++)
		sb_add(&b, "k%d = %d\n", i, i);
	sb_add(&b, "}\n");
	parse_ok(b.p, &c);
	assert_int_equal(c.nb_ignored, CONF_MAX_IGNORED);
	assert_int_equal(c.nb_ignored_dropped, 5);
	assert_string_equal(c.ignored[CONF_MAX_IGNORED - 1], "mos.k31");
	free(b.p);
}

static void
test_layouts(void **state)
{
	struct mosconf c;

	(void)state;
	/* Openers on their own line, content after '{' and before '}'. */
	parse_ok("mos\n"
		 "{\n"
		 "\tnetdev\n"
		 "\n"
		 "\t{ eth0 0x1\n"
		 "\teth1 0x2 }\n"
		 "\tarp_table { 10.0.0.1 00:00:00:00:00:01 }\n"
		 "\troute_table { 10.0.0.0/8 eth0 } nic_forward_table {\n"
		 "eth0 eth1 } forward = 0 }\n", &c);
	assert_int_equal(c.nb_ports, 2);
	assert_int_equal(c.ports[1].cpu_mask, 2);
	assert_int_equal(c.nb_arp, 1);
	assert_int_equal(c.arp[0].prefix, 32);	/* prefix optional */
	assert_int_equal(c.arp[0].mac[5], 1);
	assert_int_equal(c.nb_routes, 1);
	assert_int_equal(c.routes[0].prefix, 8);
	assert_int_equal(c.nb_fwd, 1);
	assert_int_equal(c.forward, 0);

	/* One line, CRLF endings, no final newline. */
	parse_ok("mos { forward = 0 }", &c);
	assert_int_equal(c.forward, 0);
	parse_ok("mos {\r\n\trmem_size = 1024\r\n\tmos_log = a b \r\n}\r\n",
		 &c);
	assert_int_equal(c.rmem_size, 1024);
	assert_string_equal(c.mos_log, "a b");
	parse_ok("mos {\n}", &c);
	/* Values keep inner blanks and '='; empty string values are "". */
	parse_ok("mos {\nstat_print =  a = b\t c\nmos_log =\n}\n", &c);
	assert_string_equal(c.stat_print, "a = b\t c");
	assert_string_equal(c.mos_log, "");
	/* The last assignment wins, as in mOS. */
	parse_ok("mos {\nrmem_size = 1024\nrmem_size = 2048\n}\n", &c);
	assert_int_equal(c.rmem_size, 2048);
	/* multiprocess without master. */
	parse_ok("mos {\nmultiprocess = 0\n}\n", &c);
	assert_int_equal(c.multiprocess, 1);
	assert_int_equal(c.mp_core, 0);
	assert_int_equal(c.mp_master, 0);
}

static void
test_limits(void **state)
{
	char text[1024], val[CONF_VALUE_MAX + 2];
	struct mosconf c;

	(void)state;
	/* A 200-character value is accepted, 201 is not. */
	memset(val, 'v', sizeof(val));
	val[CONF_VALUE_MAX] = '\0';
	snprintf(text, sizeof(text), "mos {\nmos_log = %s\n}\n", val);
	parse_ok(text, &c);
	assert_int_equal(strlen(c.mos_log), CONF_VALUE_MAX);
	val[CONF_VALUE_MAX] = 'v';
	val[CONF_VALUE_MAX + 1] = '\0';
	snprintf(text, sizeof(text), "mos {\nmos_log = %s  \n}\n", val);
	parse_err(text, 2, "value of 'mos_log' is longer than 200");
	snprintf(text, sizeof(text),
		 "application {\nrun = %s\n}\nmos {\n}\n", val);
	parse_err(text, 2, "value of 'run' is longer than 200");

	/* 20-character keys are keys (ignored here), 21 are errors. */
	parse_ok("mos {\nabcdefghijklmnopqrst = 1\n}\n", &c);
	assert_string_equal(c.ignored[0], "mos.abcdefghijklmnopqrst");
	parse_err("mos {\nabcdefghijklmnopqrstu = 1\n}\n", 2,
		  "key 'abcdefghijklmnopqrstu' is longer than 20");
	parse_err("mos {\nabcdefghijklmnopqrstu {\n}\n}\n", 2,
		  "block name 'abcdefghijklmnopqrstu' is longer than 20");

	/* A 255-character vdev fits, 256 does not. */
	memset(text, 0, sizeof(text));
	strcpy(text, "mos {\nnetdev {\nnet_null0,");
	memset(text + strlen(text), 'x', 255 - strlen("net_null0,"));
	strcat(text, " 0x1\n}\n}\n");
	parse_ok(text, &c);
	assert_int_equal(strlen(c.ports[0].dev), 255);
	assert_string_equal(c.ports[0].spec, c.ports[0].dev);
	memset(text, 0, sizeof(text));
	strcpy(text, "mos {\nnetdev {\nnet_null0,");
	memset(text + strlen(text), 'x', 256 - strlen("net_null0,"));
	strcat(text, " 0x1\n}\n}\n");
	parse_err(text, 3, "device name longer than 255");
}

static void
test_errors_syntax(void **state)
{
	(void)state;
	/* Unbalanced braces. */
	parse_err("mos {\n}\n}\n", 3, "'}' without an open block");
	parse_err("mos {\n\tnetdev {\n\t\teth0 0x1\n}\n", 1,
		  "block 'mos' is not closed");
	parse_err("mos {\n\tnetdev {\n\t\teth0 0x1\n", 2,
		  "block 'netdev' is not closed");
	parse_err("mos {\n}\nother {\n\tx {\n\t}\n", 3,
		  "block 'other' is not closed");
	/* Lines that are nothing we know. */
	parse_err("mos {\n\tforward 1\n}\n", 2, "expected 'key = value'");
	parse_err("mos {\n\tforward\n}\n", 2, "not 'forward'");
	parse_err("mos {\n\t= 1\n}\n", 2, "expected 'key = value'");
	parse_err("mos {\n\t1x = 1\n}\n", 2, "expected 'key = value'");
	parse_err("application {\n\trun ./a\n}\nmos {\n}\n", 2,
		  "expected 'key = value'");
	parse_err("garbage here\nmos {\n}\n", 1, "not 'garbage here'");
	parse_err("mos {\n}\nlonely\n", 3, "not 'lonely'");
	parse_err("mos {\n{\n}\n}\n", 2, "'{' without a block name");
	parse_err("mos {\nmy-block {\n}\n}\n", 2,
		  "'my-block' is not a block name");
	parse_err("mos {\nkey = {\n}\n}\n", 2, "'key =' is not a block name");
	parse_err("mos {\n\tforward = 1\x01\n}\n", 2,
		  "control character 0x01");
	parse_err("mos {\n\tmos_log = a\x7f\n}\n", 2,
		  "control character 0x7f");
	/* mos block: none, two. */
	parse_err("", 0, "no 'mos' block");
	parse_err("# only a comment\napplication {\nrun = a\n}\n", 0,
		  "no 'mos' block");
	parse_err("mos {\n}\n\nmos {\n}\n", 4,
		  "second 'mos' block (the first is at line 1)");
	parse_err("mos\n{\n}\nmos\n{\n}\n", 4, "second 'mos' block");
	/* application without run (names the opener's line). */
	parse_err("mos {\n}\napplication {\n\ttype = end\n}\n", 3,
		  "application block without 'run'");
	parse_err("mos {\n}\napplication {\n\trun =\n}\n", 3,
		  "application block without 'run'");
	parse_err("application {\ntype = server\nrun = a\n}\nmos {\n}\n", 2,
		  "type: 'server' is not 'end' or 'monitor'");
	parse_err("mos {\nmultiprocess = 1 slave\n}\n", 2,
		  "multiprocess: expected 'CORE [master]'");
	parse_err("mos {\nmultiprocess = x\n}\n", 2,
		  "multiprocess: 'x' is not a number");
	parse_err("mos {\nmultiprocess =\n}\n", 2,
		  "multiprocess: expected 'CORE [master]'");
}

static void
test_errors_numbers(void **state)
{
	(void)state;
	parse_err("mos {\n\trmem_size = abc\n}\n", 2,
		  "rmem_size: 'abc' is not a number");
	parse_err("mos {\n\trmem_size = 12k\n}\n", 2, "'12k' is not a number");
	parse_err("mos {\n\trmem_size = 0x\n}\n", 2, "'0x' is not a number");
	parse_err("mos {\n\trmem_size = 08\n}\n", 2, "'08' is not a number");
	parse_err("mos {\n\trmem_size =\n}\n", 2, "'' is not a number");
	parse_err("mos {\n\trmem_size = 1 2\n}\n", 2, "not a number");
	parse_err("mos {\n\tmax_concurrency = 99999999999999999999\n}\n", 2,
		  "not a number");
	parse_err("mos {\n\tmax_concurrency = 2147483648\n}\n", 2,
		  "out of range");
	parse_err("mos {\n\tmax_concurrency = 0\n}\n", 2,
		  "max_concurrency: 0 is out of range (1..2147483647)");
	parse_err("mos {\n\tforward = 2\n}\n", 2, "forward: 2 is out of range");
	parse_err("mos {\n\tno_ring_buffers = -1\n}\n", 2, "out of range");
	parse_err("mos {\n\ttcp_tw_interval = -1\n}\n", 2, "out of range");
	parse_err("mos {\n\ttcp_timeout = 604801\n}\n", 2, "out of range");
	parse_err("application {\nrun = a\nip_forward = 3\n}\nmos {\n}\n", 3,
		  "ip_forward: 3 is out of range");
	parse_err("application {\nrun = a\ncpu_mask = -1\n}\nmos {\n}\n", 3,
		  "cpu_mask: '-1' is not a number");
	parse_err("application {\nrun = a\ncpu_mask = 0x1ffffffffffffffff\n}\n"
		  "mos {\n}\n", 3, "cpu_mask: '0x1ffffffffffffffff' is not");
}

static void
test_errors_tables(void **state)
{
	(void)state;
	/* netdev. */
	parse_err("mos {\n\tnetdev {\n\t\tdpdk0\n\t}\n}\n", 3,
		  "netdev: 'dpdk0' has no cpu mask");
	parse_err("mos {\n\tnetdev {\n\t\tdpdk0 # 0x1\n\t}\n}\n", 3,
		  "has no cpu mask");
	parse_err("mos {\n\tnetdev { dpdk0 }\n}\n", 2, "has no cpu mask");
	parse_err("mos {\n\tnetdev {\n\t\tnet_pcap0,iface=x\n\t}\n}\n", 3,
		  "'net_pcap0,iface=x' has no cpu mask");
	parse_err("mos {\n\tnetdev {\n\t\tdpdk0 zz\n\t}\n}\n", 3,
		  "netdev: 'zz' is not a number");
	parse_err("mos {\n\tnetdev {\n\t\tdpdk0 0\n\t}\n}\n", 3,
		  "netdev: cpu mask of 'dpdk0' is 0");
	parse_err("mos {\n\tnetdev {\n\t\tdpdk0 1 2\n\t}\n}\n", 3,
		  "expected '<device> <cpumask>'");
	parse_err("mos {\n\tnetdev {\n\t\tdpdk0 1\n\t\tdpdk0 2\n\t}\n}\n", 4,
		  "'dpdk0' is listed twice");
	/* arp_table. */
	parse_err("mos {\narp_table {\n10.0.0.1/32\n}\n}\n", 3,
		  "arp_table: expected '<ip>/<prefix> <mac>'");
	parse_err("mos {\narp_table {\n10.0.0.256/32 00:00:00:00:00:01\n}\n}\n",
		  3, "'10.0.0.256/32' is not an IPv4 address/prefix");
	parse_err("mos {\narp_table {\n10.0.0.1/33 00:00:00:00:00:01\n}\n}\n",
		  3, "'10.0.0.1/33' is not an IPv4");
	parse_err("mos {\narp_table {\n10.0.0.1/ 00:00:00:00:00:01\n}\n}\n",
		  3, "is not an IPv4");
	parse_err("mos {\narp_table {\n10.0.0.1/024 00:00:00:00:00:01\n}\n}\n",
		  3, "is not an IPv4");
	parse_err("mos {\narp_table {\n10.0.0/8 00:00:00:00:00:01\n}\n}\n",
		  3, "is not an IPv4");
	parse_err("mos {\narp_table {\n/8 00:00:00:00:00:01\n}\n}\n",
		  3, "is not an IPv4");
	parse_err("mos {\narp_table {\n10.0.0.1/-1 00:00:00:00:00:01\n}\n}\n",
		  3, "is not an IPv4");
	parse_err("mos {\narp_table {\n10.0.0.1/32 00:11:22:33:44\n}\n}\n",
		  3, "arp_table: '00:11:22:33:44' is not a MAC address");
	parse_err("mos {\narp_table {\n10.0.0.1/32 00:11:22:33:44:55:66\n}\n}\n",
		  3, "is not a MAC address");
	parse_err("mos {\narp_table {\n10.0.0.1/32 00:11:22:33:44:5g\n}\n}\n",
		  3, "is not a MAC address");
	parse_err("mos {\narp_table {\n10.0.0.1/32 000:11:22:33:44:55\n}\n}\n",
		  3, "is not a MAC address");
	parse_err("mos {\narp_table {\n10.0.0.1/32 00::22:33:44:55\n}\n}\n",
		  3, "is not a MAC address");
	/* route_table. */
	parse_err("mos {\nroute_table {\n10.0.0.0/24\n}\n}\n", 3,
		  "route_table: expected '<ip>/<prefix> <device>'");
	parse_err("mos {\nroute_table {\n10.0.0.0/40 eth0\n}\n}\n", 3,
		  "route_table: '10.0.0.0/40' is not an IPv4");
	parse_err("mos {\nroute_table {\nfoo/24 eth0\n}\n}\n", 3,
		  "'foo/24' is not an IPv4");
	parse_err("mos {\nroute_table {\n10.0.0.0/24 e/th0\n}\n}\n", 3,
		  "route_table: 'e/th0' is not an interface name");
	/* nic_forward_table. */
	parse_err("mos {\nnetdev {\na 1\nb 1\n}\n"
		  "nic_forward_table {\na\n}\n}\n", 7,
		  "nic_forward_table: expected '<device> <device>'");
	parse_err("mos {\nnetdev {\na 1\nb 1\n}\n"
		  "nic_forward_table {\na c\n}\n}\n", 7,
		  "nic_forward_table: 'c' is not a netdev device");
	parse_err("mos {\nnic_forward_table {\na b\n}\nnetdev {\na 1\n}\n}\n", 3,
		  "'b' is not a netdev device");
	parse_err("mos {\nnetdev {\na 1\nb 1\n}\n"
		  "nic_forward_table {\na a\n}\n}\n", 7,
		  "'a' is paired with itself");
	parse_err("mos {\nnetdev {\na 1\nb 1\nc 1\n}\n"
		  "nic_forward_table {\na b\n\n  c b\n}\n}\n", 10,
		  "'b' is already paired");
	/* NUL byte (only reachable through conf_parse_buf). */
	{
		static const char nul[] = "mos {\nforward = 0\0\n}\n";
		struct mosconf c;
		char err[256];

		assert_int_equal(conf_parse_buf(nul, sizeof(nul) - 1, NAME, &c,
						err, sizeof(err)), -1);
		assert_string_equal(err, NAME ":2: NUL byte");
	}
}

static void
test_errors_overflow(void **state)
{
	struct sbuf b;
	struct mosconf c;
	int i;

	(void)state;
	/* Each table takes exactly its size, and fails on the next line. */
	sb_init(&b);
	sb_add(&b, "mos {\nnetdev {\n");
	for (i = 0; i < CONF_MAX_PORTS; i++)
		sb_add(&b, "eth%d 0x%x\n", i, 1u << (i % 8));
	sb_add(&b, "}\n}\n");
	parse_ok(b.p, &c);
	assert_int_equal(c.nb_ports, CONF_MAX_PORTS);
	assert_int_equal(c.num_cores, 8);
	b.len -= 4;
	sb_add(&b, "eth99 0x1\n}\n}\n");
	parse_err(b.p, 3 + CONF_MAX_PORTS, "netdev: more than 16 devices");

	b.len = 0;
	sb_add(&b, "mos {\narp_table {\n");
	for (i = 0; i < CONF_MAX_ARP; i++)
		sb_add(&b, "10.0.%d.1/32 00:00:00:00:00:%02x\n", i, i);
	sb_add(&b, "}\n}\n");
	parse_ok(b.p, &c);
	assert_int_equal(c.nb_arp, CONF_MAX_ARP);
	assert_int_equal(c.arp[63].mac[5], 63);
	assert_int_equal(c.arp[63].addr, ip("10.0.63.1"));
	b.len -= 4;
	sb_add(&b, "10.1.0.1/32 00:00:00:00:00:00\n}\n}\n");
	parse_err(b.p, 3 + CONF_MAX_ARP, "arp_table: more than 64 entries");

	b.len = 0;
	sb_add(&b, "mos {\nroute_table {\n");
	for (i = 0; i < CONF_MAX_ROUTES; i++)
		sb_add(&b, "10.%d.0.0/16 eth0\n", i);
	sb_add(&b, "}\n}\n");
	parse_ok(b.p, &c);
	assert_int_equal(c.nb_routes, CONF_MAX_ROUTES);
	b.len -= 4;
	sb_add(&b, "10.200.0.0/16 eth0\n}\n}\n");
	parse_err(b.p, 3 + CONF_MAX_ROUTES, "route_table: more than 64 entries");

	/* Pairs overflow before their names are checked against netdev. */
	b.len = 0;
	sb_add(&b, "mos {\nnic_forward_table {\n");
	for (i = 0; i <= CONF_MAX_FWD; i++)
		sb_add(&b, "a%d b%d\n", i, i);
	sb_add(&b, "}\n}\n");
	parse_err(b.p, 3 + CONF_MAX_FWD, "nic_forward_table: more than 16");
	/* 16 pairs need 32 ports, more than netdev holds: 8 pairs. */
	b.len = 0;
	sb_add(&b, "mos {\nnetdev {\n");
	for (i = 0; i < CONF_MAX_PORTS; i++)
		sb_add(&b, "p%d 1\n", i);
	sb_add(&b, "}\nnic_forward_table {\n");
	for (i = 0; i < CONF_MAX_PORTS; i += 2)
		sb_add(&b, "p%d p%d\n", i, i + 1);
	sb_add(&b, "}\n}\n");
	parse_ok(b.p, &c);
	assert_int_equal(c.nb_fwd, CONF_MAX_PORTS / 2);
	assert_string_equal(c.fwd[7][1], "p15");

	b.len = 0;
	for (i = 0; i < CONF_MAX_APPS; i++)
		sb_add(&b, "application {\nrun = app%d\n}\n", i);
	sb_add(&b, "mos {\n}\n");
	parse_ok(b.p, &c);
	assert_int_equal(c.nb_apps, CONF_MAX_APPS);
	assert_string_equal(c.apps[9].run, "app9");
	sb_add(&b, "application {\nrun = more\n}\n");
	parse_err(b.p, 3 * CONF_MAX_APPS + 3, "more than 10 application blocks");
	free(b.p);
}

static void
test_hostile(void **state)
{
	const size_t big = 1u << 20;
	struct mosconf *c = malloc(sizeof(*c));
	char *t = malloc(big + 64), err[256];
	struct sbuf b;
	int i;

	(void)state;
	assert_non_null(c);
	assert_non_null(t);

	/* A megabyte-long word: reported with a short excerpt. */
	memset(t, 'a', big);
	t[big] = '\0';
	assert_int_equal(conf_parse_string(t, NAME, c, err, sizeof(err)), -1);
	assert_int_equal(strncmp(err, NAME ":1: expected 'key = value'",
				 strlen(NAME ":1: expected 'key = value'")), 0);
	assert_true(strlen(err) < 120);
	/* Inside a comment it is harmless. */
	memcpy(t, "mos { } #", 9);
	assert_int_equal(conf_parse_string(t, NAME, c, err, sizeof(err)), 0);
	/* As a value it is too long; as a key too. */
	memcpy(t, "mos {\nmos_log = ", 16);
	strcpy(t + big - 3, "\n}\n");
	assert_int_equal(conf_parse_string(t, NAME, c, err, sizeof(err)), -1);
	assert_string_equal(err, NAME ":2: value of 'mos_log' is longer "
			    "than 200 characters");
	memset(t, 'a', big);
	memcpy(t, "mos {\n", 6);
	strcpy(t + big - 10, " = 1\n}\n");
	assert_int_equal(conf_parse_string(t, NAME, c, err, sizeof(err)), -1);
	assert_non_null(strstr(err, NAME ":2: key 'aaaa"));
	assert_non_null(strstr(err, "...' is longer than 20"));

	/* Deep nesting: 16 levels are fine, 17 are not. */
	sb_init(&b);
	sb_add(&b, "mos {\n");
	for (i = 1; i < CONF_MAX_DEPTH; i++)
		sb_add(&b, "x%d {\n", i);
	for (i = 0; i < CONF_MAX_DEPTH; i++)
		sb_add(&b, "}\n");
	parse_ok(b.p, c);
	assert_string_equal(c->ignored[0], "mos.x1");
	b.len = 0;
	for (i = 0; i < 100000; i++)
		sb_add(&b, "a{");
	parse_err(b.p, 1, "blocks nested deeper than 16");
	b.len = 0;
	sb_add(&b, "mos {\n");
	for (i = 1; i <= CONF_MAX_DEPTH; i++)
		sb_add(&b, "x%d {\n", i);
	parse_err(b.p, CONF_MAX_DEPTH + 1, "blocks nested deeper than 16");
	free(b.p);

	/* Many closing braces, many openers. */
	memset(t, '}', big);
	t[big] = '\0';
	parse_err(t, 1, "'}' without an open block");

	/* No trailing newline, in every position. */
	parse_err("mos {\n\trmem_size = 1024", 1, "block 'mos' is not closed");
	parse_err("mos {\n\tnetdev {\n\t\teth0", 3, "has no cpu mask");
	parse_err("mos", 1, "not 'mos'");
	parse_ok("mos {\n}\n#", c);
	parse_ok("mos {\n\trmem_size = 1024 }", c);
	assert_int_equal(c->rmem_size, 1024);

	free(t);
	free(c);
}

/* Random bytes, and random mixes of config tokens, before a guard page. */
static void
test_fuzz(void **state)
{
	static const char *const pieces[] = {
		"mos", "application", "netdev", "arp_table", "route_table",
		"nic_forward_table", "{", "}", "{", "}", "\n", "\n", "\n",
		" ", "\t", "#", "=", " = ", "run = a", "type = end",
		"forward = 1", "rmem_size = 0x10", "eth0 0x1",
		"10.0.0.1/24 00:11:22:33:44:55", "10.0.0.0/8 eth0", "eth0 eth1",
		"net_pcap0,rx_pcap=x", "03:00.0 3", "0x", "-", "/", ":", "\r",
		"\0", "\xff", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "1", "99999",
		"multiprocess = 1 master", "mos_log = ", "cpu_mask = 0x",
	};
	/* Pieces that keep a mos block valid, so both outcomes are seen. */
	static const char *const benign[] = {
		"\n", " ", "\t", "# c { }\n", "forward = 0\n",
		"rmem_size = 0x400\n", "foo = bar\n", "x { y = 1 }\n",
		"arp_table { 10.0.0.1/24 00:11:22:33:44:55 }\n",
		"route_table {\n10.0.0.0/8 eth0\n}\n", "netdev {\n}\n",
	};
	const int npieces = (int)(sizeof(pieces) / sizeof(pieces[0]));
	const int nbenign = (int)(sizeof(benign) / sizeof(benign[0]));
	struct mosconf *c = malloc(sizeof(*c));
	uint8_t buf[2048];
	char err[128];
	unsigned seed = 12345;
	int iter, ok = 0, bad = 0;

	(void)state;
	assert_non_null(c);
	for (iter = 0; iter < 60000; iter++) {
		size_t len = 0, target;
		int rc;

		seed = seed * 1103515245u + 12345u;
		target = (seed >> 8) % sizeof(buf);
		if (iter % 4 == 0) {
			for (len = 0; len < target; len++) {
				seed = seed * 1103515245u + 12345u;
				buf[len] = (uint8_t)(seed >> 16);
			}
		} else if (iter % 4 == 1) {
			memcpy(buf, "mos {\n", 6);
			len = 6;
			while (len + 64 < target) {
				const char *p;

				seed = seed * 1103515245u + 12345u;
				p = benign[(seed >> 8) % (unsigned)nbenign];
				memcpy(buf + len, p, strlen(p));
				len += strlen(p);
			}
			buf[len++] = '}';
		} else {
			while (len < target) {
				const char *p;
				size_t n;

				seed = seed * 1103515245u + 12345u;
				p = pieces[(seed >> 8) % (unsigned)npieces];
				n = p[0] == '\0' ? 1 : strlen(p);
				if (len + n > target)
					break;
				memcpy(buf + len, p, n);
				len += n;
			}
		}
		err[0] = 'X';
		rc = parse_guarded(buf, len, c, err, sizeof(err));
		assert_true(rc == 0 || rc == -1);
		if (rc == 0) {
			ok++;
			assert_string_equal(err, "");
			assert_true(c->nb_ports <= CONF_MAX_PORTS);
			assert_true(c->nb_apps <= CONF_MAX_APPS);
			assert_true(c->nb_ignored <= CONF_MAX_IGNORED);
		} else {
			bad++;
			assert_int_equal(strncmp(err, NAME ":", 7), 0);
			assert_true(strlen(err) < sizeof(err));
		}
	}
	print_message("fuzz: %d parsed, %d rejected\n", ok, bad);
	/* The generator reaches both outcomes. */
	assert_true(ok > 0);
	assert_true(bad > 0);

	/* A tiny error buffer is not overrun, NULL is allowed. */
	memset(err, 'Z', sizeof(err));
	assert_int_equal(conf_parse_string("x", NAME, c, err, 8), -1);
	assert_int_equal(strlen(err), 7);
	assert_int_equal(err[8], 'Z');
	assert_int_equal(conf_parse_string("x", NAME, c, NULL, 0), -1);
	assert_int_equal(parse_guarded("mos {}", 6, c, NULL, 0), 0);
	free(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_full),
		cmocka_unit_test(test_file),
		cmocka_unit_test(test_templates),
		cmocka_unit_test(test_comments),
		cmocka_unit_test(test_numbers),
		cmocka_unit_test(test_netdev_kinds),
		cmocka_unit_test(test_derived),
		cmocka_unit_test(test_ignored),
		cmocka_unit_test(test_layouts),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_errors_syntax),
		cmocka_unit_test(test_errors_numbers),
		cmocka_unit_test(test_errors_tables),
		cmocka_unit_test(test_errors_overflow),
		cmocka_unit_test(test_hostile),
		cmocka_unit_test(test_fuzz),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
