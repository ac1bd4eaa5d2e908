/*
 * rt.c - EAL start-up, ports, packet buffers and the process-wide state
 * (see rt.h). The software distributor's loop is in dist.c, a core's in
 * core.c and pipe.c.
 *
 * Errors a user can cause (a missing capture, a port that does not come
 * up) are checked here and reported as one line naming what the user gave,
 * before DPDK's own, less helpful, messages would appear.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_mbuf_dyn.h>
#include <rte_mbuf_pool_ops.h>

#include "capfile.h"
#include "capwrite.h"
#include "core.h"
#include "ipfrag.h"
#include "pipepeek.h"
#include "rt.h"
#include "scnport.h"

struct rt g_rt;

#define EAL_MAX_ARGS	64
#define RSS_KEY_MAX	64

int dist_main(void *arg);	/* dist.c */

/* -- Input checks ------------------------------------------------------- */

/* Our ends of a named pipe given to -r, held until net_pcap has opened
 * its own (see check_capture). */
static int fifo_hold = -1, fifo_hold_w = -1;

static void
fifo_release(void)
{
	if (fifo_hold >= 0)
		close(fifo_hold);
	if (fifo_hold_w >= 0)
		close(fifo_hold_w);
	fifo_hold = fifo_hold_w = -1;
}

static int
stop_requested(void)
{
	return __atomic_load_n(&g_rt.stop, __ATOMIC_ACQUIRE) != 0;
}

static int
check_capture(const char *prog, const char *path)
{
	char err[PCAP_ERRBUF_SIZE];
	struct stat sb;
	pcap_t *pc;
	int dlt, fd = -1;

	if (strchr(path, ',') != NULL) {
		fprintf(stderr, "%s: %s: file names with ',' are not supported\n",
			prog, path);
		return -1;
	}
	/* A pipe ("-" is the standard input, or a named pipe) can be read
	 * once only: by net_pcap's libpcap, which reports what it cannot
	 * read. Its link type is looked at without reading it.
	 * Both ends of a named pipe opened here stay open until net_pcap
	 * has opened its own (fifo_release): without our reader, the writer
	 * would get EPIPE in between; without our writer, net_pcap's open
	 * would wait for a new one when the writer has already written all
	 * and gone. The write end is opened after the peek, which must see
	 * the writer's close. */
	if (strcmp(path, "-") == 0) {
		fd = STDIN_FILENO;
	} else if (stat(path, &sb) == 0 && S_ISFIFO(sb.st_mode)) {
		fd = fifo_hold = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0 && errno == EINTR && stop_requested())
			return -1;
		if (fd < 0) {
			fprintf(stderr, "%s: cannot read '%s': %s\n", prog,
				path, strerror(errno));
			return -1;
		}
	}
	if (fd >= 0) {
		dlt = pipepeek_linktype(fd, &g_rt.stop);
		/* Interrupted while waiting for the writer: the user wants
		 * out, not a run on what net_pcap would then wait for. */
		if (stop_requested()) {
			fifo_release();
			return -1;
		}
		if (dlt >= 0 && dlt != DLT_EN10MB) {
			fifo_release();
			goto not_ethernet;
		}
		if (fifo_hold >= 0)
			fifo_hold_w = open(path, O_WRONLY | O_NONBLOCK |
					   O_CLOEXEC);
		return 0;
	}
	if (access(path, R_OK) != 0) {
		fprintf(stderr, "%s: cannot read '%s': %s\n", prog, path,
			strerror(errno));
		return -1;
	}
	pc = pcap_open_offline(path, err);
	if (pc == NULL) {
		fprintf(stderr, "%s: cannot read '%s': %s\n", prog, path, err);
		return -1;
	}
	dlt = pcap_datalink(pc);
	pcap_close(pc);
	if (dlt == DLT_EN10MB)
		return 0;
not_ethernet:
	fprintf(stderr, "%s: '%s': link type %s is not supported "
		"(Ethernet only)\n", prog, path,
		pcap_datalink_val_to_name(dlt) ?
		pcap_datalink_val_to_name(dlt) : "unknown");
	return -1;
}

static int
check_output(const char *prog, const char *path)
{
	int fd;

	fd = open(path, O_WRONLY | O_CREAT, 0644);
	if (fd < 0) {
		fprintf(stderr, "%s: cannot write '%s': %s\n", prog, path,
			strerror(errno));
		return -1;
	}
	close(fd);
	return 0;
}

/* Whether -w names the -r input (or a link to it): writing it would
 * truncate the file being read. Said if so. */
static int
same_file(const char *prog, const char *in, const char *out)
{
	struct stat a, b;

	if (stat(in, &a) != 0 || stat(out, &b) != 0 ||
	    a.st_dev != b.st_dev || a.st_ino != b.st_ino || !S_ISREG(a.st_mode))
		return 0;
	fprintf(stderr, "%s: '%s' is the input: -w would overwrite it\n", prog,
		out);
	return 1;
}

/* A PCI address as EAL accepts it: [DDDD:]BB:DD.F */
static int
is_pci_addr(const char *s)
{
	unsigned d, b, dv, f;
	char tail;

	if (sscanf(s, "%x:%x:%x.%x%c", &d, &b, &dv, &f, &tail) == 4)
		return 1;
	return sscanf(s, "%x:%x.%x%c", &b, &dv, &f, &tail) == 3;
}

/* -- EAL arguments ------------------------------------------------------ */

static void
remove_runtime_dir(void)
{
	char dir[128];

	snprintf(dir, sizeof(dir), "/var/run/dpdk/%s", g_rt.file_prefix);
	rmdir(dir);
}

static int
hugepages_usable(void)
{
	FILE *f = fopen("/proc/meminfo", "r");
	char line[256];
	long free_pages = 0;
	int mounted = 0;

	if (f == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "HugePages_Free: %ld", &free_pages) == 1)
			break;
	fclose(f);
	if (free_pages <= 0)
		return 0;
	f = fopen("/proc/mounts", "r");
	if (f == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strstr(line, " hugetlbfs ") != NULL)
			mounted = 1;
	fclose(f);
	return mounted;
}

/* af_packet's ring frames: whole pages holding the largest frame after
 * the driver's 32-byte header (a frame size that is not a multiple of
 * the block size left the ring silent). */
#define AFP_HDR	32u

static uint32_t
afp_frame_size(void)
{
	return RTE_ALIGN_CEIL((uint32_t)g_rt.opts.max_frame + AFP_HDR, 4096u);
}

/* The driver's name and its older alias. */
static int
is_af_packet(const char *spec)
{
	return strncmp(spec, "net_af_packet", 13) == 0 ||
	       strncmp(spec, "eth_af_packet", 13) == 0;
}

/* A packet buffer's size: head room and a data room for the largest
 * frame (--max-frame), so that no port needs to scatter a frame. Above
 * the default the data room takes what an af_packet ring frame holds. */
static uint16_t
buf_size(void)
{
	uint32_t room = (uint32_t)g_rt.opts.max_frame;

	if (room > OPTS_FRAME_DEFAULT)
		room = afp_frame_size() - AFP_HDR;
	return (uint16_t)(room + RTE_PKTMBUF_HEADROOM);
}

/* Memory EAL must provide when it has no hugepages: packet buffers
 * (2.3 KiB each, packed without PCI ports, else a 4 KiB page each: see
 * packet_pool; larger with --max-frame) and rings (the flow tables and
 * their indexes live outside, in mappings). */
static unsigned
eal_mem_mb(int max_cores, unsigned mbufs, int any_pci)
{
	uint64_t each = g_rt.opts.max_frame > OPTS_FRAME_DEFAULT ?
		(uint64_t)buf_size() + sizeof(struct rte_mbuf) + 256 :
		any_pci ? 4096 : 2500;
	uint64_t b = (uint64_t)mbufs * each;

	b += (uint64_t)max_cores * 2 * RT_RING_SIZE * 8;
	/* Each core's pool of large buffers (jumbo frames, datagrams), and
	 * the distributor's. */
	b += (uint64_t)(max_cores + 1) * (8u << 20);
	return (unsigned)(b >> 20) + 128;
}

/* The fields a -r frame's capmeta goes to (capmeta.h); without them
 * (-1) -w writes frames as they are. */
static void
capmeta_register(void)
{
	static const struct rte_mbuf_dynfield field = {
		.name = "moonbox_capmeta",
		.size = sizeof(struct capmeta),
		.align = __alignof__(struct capmeta),
	};
	static const struct rte_mbuf_dynflag flag = {
		.name = "moonbox_capmeta",
	};
	int off = rte_mbuf_dynfield_register(&field);
	int bit = off >= 0 ? rte_mbuf_dynflag_register(&flag) : -1;

	g_rt.capf.meta_off = bit >= 0 ? off : -1;
	g_rt.capf.meta_flag = bit >= 0 ? 1ULL << bit : 0;
}

/* The packet buffers. Without hugepages, DPDK keeps each pool object
 * within one 4 KiB page (contiguous in IO addresses, for a NIC's DMA),
 * which leaves room for one 2.3 KiB buffer per page. Virtual ports
 * (capture files, rings, null devices) do no DMA: without hugepages and
 * without PCI ports the buffers are packed, about 1.7 a page, for less
 * memory and fewer pages (TLB entries) per packet. */
static struct rte_mempool *
packet_pool(unsigned n, int any_pci)
{
	struct rte_pktmbuf_pool_private priv = {
		.mbuf_data_room_size = buf_size(),
		.mbuf_priv_size = 0,
	};
	struct rte_mempool *mp;
	int ret;

	if (rte_eal_has_hugepages() || any_pci)
		return rte_pktmbuf_pool_create("moonbox_pool", n, 256, 0,
					       buf_size(),
					       (int)rte_socket_id());
	mp = rte_mempool_create_empty("moonbox_pool", n,
		sizeof(struct rte_mbuf) + buf_size(), 256,
		sizeof(priv), (int)rte_socket_id(),
		RTE_MEMPOOL_F_NO_IOVA_CONTIG);
	if (mp == NULL)
		return NULL;
	ret = rte_mempool_set_ops_byname(mp, rte_mbuf_best_mempool_ops(),
					 NULL);
	if (ret == 0) {
		rte_pktmbuf_pool_init(mp, &priv);
		ret = rte_mempool_populate_default(mp);
	}
	if (ret < 0) {
		rte_mempool_free(mp);
		rte_errno = -ret;	/* the caller reports it */
		return NULL;
	}
	rte_mempool_obj_iter(mp, rte_pktmbuf_init, NULL);
	return mp;
}

static unsigned
pool_size(int nb_ports, int max_cores)
{
	unsigned n = (unsigned)nb_ports * (RT_RXD + RT_TXD) +
		(unsigned)max_cores * (2 * RT_RING_SIZE + 8 * RT_BURST + 512) +
		4096;
	unsigned p = 1;

	while (p - 1 < n)
		p <<= 1;
	return p - 1;
}

/* A --file-prefix given with --eal names the runtime directory to remove
 * at exit. */
static void
user_prefix(const char *extra, char *out, size_t n)
{
	const char *p = extra != NULL ? strstr(extra, "--file-prefix") : NULL;
	size_t len;

	if (p == NULL)
		return;
	p += strlen("--file-prefix");
	while (*p == '=' || *p == ' ')
		p++;
	len = strcspn(p, " \t\"'");
	if (len == 0 || len >= n)
		return;
	memcpy(out, p, len);
	out[len] = '\0';
}

static int
user_gave(const char *extra, const char *opt)
{
	return extra != NULL && strstr(extra, opt) != NULL;
}

static void
add_port(const char *spec, const char *name, int offline, int has_tx)
{
	struct rt_port *p = &g_rt.ports[g_rt.nb_ports++];

	snprintf(p->spec, sizeof(p->spec), "%s", spec);
	snprintf(p->name, sizeof(p->name), "%s", name);
	p->offline = (uint8_t)offline;
	p->has_tx = (uint8_t)has_tx;
}

static int
eal_init(const struct mb_opts *o, const char *prog)
{
	static char args[EAL_MAX_ARGS][1100];
	static char extra_buf[4096];
	char *argv[EAL_MAX_ARGS + 1], *extra[EAL_MAX_ARGS];
	int argc = 0, nextra = 0, i, any_pci = 0, ret;
	unsigned mbufs;

	if (g_rt.eal_ready) {
		errno = EALREADY;
		return -1;
	}
	g_rt.opts = *o;
	g_rt.nb_ports = 0;
	g_rt.scn_failed = -1;
	g_rt.cfg = (struct engcfg){
		.max_flows = o->max_flows,
		.rmem = o->rmem,
		.timewait_ms = o->timewait_ms,
		.timeout_ms = o->timeout_ms,
		.overlap_last = o->overlap_last,
		.eof_flush = o->eof_flush,
	};

	if (o->read_file != NULL) {
		char spec[1024];

		if (check_capture(prog, o->read_file) < 0)
			return -1;
		if (o->write_file != NULL && strcmp(o->write_file, "-") != 0 &&
		    (same_file(prog, o->read_file, o->write_file) ||
		     check_output(prog, o->write_file) < 0))
			return -1;
		/* -w is written by capwrite.c, not by net_pcap's dumper. */
		snprintf(spec, sizeof(spec), "net_pcap_mbr,rx_pcap=%s",
			 o->read_file);
		add_port(spec, "net_pcap_mbr", 1, o->write_file != NULL);
	}
	for (i = 0; i < o->nb_ports; i++) {
		const char *s = o->ports[i];
		char name[128];
		size_t n = strcspn(s, ",");

		if (g_rt.nb_ports == RT_MAX_PORTS) {
			fprintf(stderr, "%s: too many ports\n", prog);
			return -1;
		}
		if (n == 0 || n >= sizeof(name)) {
			fprintf(stderr, "%s: --port '%s': no device name\n",
				prog, s);
			return -1;
		}
		memcpy(name, s, n);
		name[n] = '\0';
		if (is_pci_addr(name))
			any_pci = 1;
		add_port(s, name, strstr(s, "rx_pcap=") != NULL, 1);
	}
	if (o->scenario)
		scnport_declare();

	/* Worker lcores 1..max_cores, distributor after them, main is 0. */
	g_rt.max_cores = o->cores;
	mbufs = o->mbufs ? (unsigned)o->mbufs :
		pool_size(g_rt.nb_ports, g_rt.max_cores);
	snprintf(g_rt.file_prefix, sizeof(g_rt.file_prefix), "moonbox%d",
		 (int)getpid());
	user_prefix(o->eal_extra, g_rt.file_prefix, sizeof(g_rt.file_prefix));

#define ADD(...) snprintf(args[argc], sizeof(args[0]), __VA_ARGS__), \
		argv[argc] = args[argc], argc++
	ADD("%s", prog);
	if (hugepages_usable() && !user_gave(o->eal_extra, "--no-huge")) {
		ADD("--in-memory");
	} else {
		if (!user_gave(o->eal_extra, "--no-huge"))
			ADD("--no-huge");
		if (!user_gave(o->eal_extra, "-m ") &&
		    !user_gave(o->eal_extra, "--socket-mem"))
			ADD("-m%u", eal_mem_mb(g_rt.max_cores, mbufs,
					       any_pci));
		/* No shared config files: nothing is left in /var/run/dpdk
		 * and parallel runs never collide. */
		if (!user_gave(o->eal_extra, "--file-prefix"))
			ADD("--file-prefix=%s", g_rt.file_prefix);
		if (!user_gave(o->eal_extra, "--no-shconf"))
			ADD("--no-shconf");
	}
	if (!any_pci && !user_gave(o->eal_extra, "--no-pci"))
		ADD("--no-pci");
	if (!user_gave(o->eal_extra, "--no-telemetry"))
		ADD("--no-telemetry");
	if (!user_gave(o->eal_extra, "--log-level"))
		ADD("--log-level=%s", o->verbose >= 2 ? "*:info" : "*:error");
	if (!user_gave(o->eal_extra, "--lcores") &&
	    !user_gave(o->eal_extra, "-l ") && !user_gave(o->eal_extra, "-c ")) {
		long ncpu = sysconf(_SC_NPROCESSORS_ONLN);

		/* lcores float over all CPUs: a shared machine may run
		 * several moonbox processes (pin with --eal for benchmarks). */
		ADD("--lcores=(0-%d)@(0-%ld)", g_rt.max_cores + 1,
		    ncpu > 0 ? ncpu - 1 : 0);
	}
	for (i = 0; i < g_rt.nb_ports; i++) {
		if (g_rt.ports[i].scenario)
			continue;
		if (is_pci_addr(g_rt.ports[i].name))
			ADD("-a%s", g_rt.ports[i].spec);
		else if (g_rt.opts.max_frame > OPTS_FRAME_DEFAULT &&
			 is_af_packet(g_rt.ports[i].spec) &&
			 strstr(g_rt.ports[i].spec, "framesz=") == NULL)
			/* Its ring must hand jumbo frames over whole. */
			ADD("--vdev=%s,framesz=%u,blocksz=%u",
			    g_rt.ports[i].spec, afp_frame_size(),
			    afp_frame_size());
		else
			ADD("--vdev=%s", g_rt.ports[i].spec);
	}
	if (o->eal_extra != NULL) {
		snprintf(extra_buf, sizeof(extra_buf), "%s", o->eal_extra);
		nextra = opts_split(extra_buf, extra, EAL_MAX_ARGS);
		if (nextra < 0 || argc + nextra > EAL_MAX_ARGS) {
			fprintf(stderr, "%s: --eal: cannot parse '%s'\n", prog,
				o->eal_extra);
			return -1;
		}
		for (i = 0; i < nextra; i++)
			argv[argc++] = extra[i];
	}
#undef ADD
	argv[argc] = NULL;

	if (o->verbose) {
		fprintf(stderr, "%s: EAL:", prog);
		for (i = 1; i < argc; i++)
			fprintf(stderr, " %s", argv[i]);
		fprintf(stderr, "\n");
	}
	ret = rte_eal_init(argc, argv);
	if (ret < 0) {
		if (rte_errno == ENODEV && g_rt.nb_ports > 0) {
			fprintf(stderr, "%s: port%s failed to start (DPDK "
				"rejected", prog, g_rt.nb_ports > 1 ? "s" : "");
			for (i = 0; i < g_rt.nb_ports; i++)
				fprintf(stderr, "%s '%s'", i ? "," : "",
					g_rt.ports[i].spec);
			fprintf(stderr, ")\n");
		} else {
			fprintf(stderr, "%s: DPDK EAL initialisation failed: "
				"%s\n", prog, rte_strerror(rte_errno));
		}
		remove_runtime_dir();
		return -1;
	}
	g_rt.eal_ready = 1;
	/* Past this point EAL runs and cannot start again in this process: a
	 * failure leaves moonbox unusable (rt_usable). */
	g_rt.init_failed = 1;
	if (rte_lcore_count() < (unsigned)g_rt.max_cores + 1) {
		fprintf(stderr, "%s: EAL gave %u lcores, %d are needed\n", prog,
			rte_lcore_count(), g_rt.max_cores + 1);
		return -1;
	}

	if (o->scenario && scnport_create(prog) != 0)
		return -1;
	g_rt.offline = g_rt.nb_ports > 0;
	for (i = 0; i < g_rt.nb_ports; i++) {
		struct rt_port *p = &g_rt.ports[i];

		if (rte_eth_dev_get_port_by_name(p->name, &p->id) != 0) {
			fprintf(stderr, "%s: port '%s' failed to start (DPDK "
				"could not create it)\n", prog, p->spec);
			return -1;
		}
		p->probed = 1;
		if (!p->offline)
			g_rt.offline = 0;
		/* Pairs (0,1), (2,3), ...; an odd last port forwards to
		 * itself, which is what -r/-w needs. */
		p->peer = (uint16_t)(i ^ 1);
		if (p->peer >= g_rt.nb_ports)
			p->peer = (uint16_t)i;
	}

	{
		/* Packets moonbox builds itself are flagged: a full queue
		 * must not count them against the received ones. */
		static const struct rte_mbuf_dynflag gen = {
			.name = "moonbox_generated",
		};
		int bit = rte_mbuf_dynflag_register(&gen);

		g_rt.gen_flag = bit >= 0 ? 1ULL << bit : 0;
	}
	g_rt.pool = packet_pool(mbufs, any_pci);
	if (g_rt.pool == NULL) {
		fprintf(stderr, "%s: cannot allocate %u packet buffers: %s\n",
			prog, mbufs, rte_strerror(rte_errno));
		return -1;
	}
	g_rt.init_failed = 0;
	return 0;
}

int
rt_eal_init(const struct mb_opts *o, const char *prog)
{
	int ret = eal_init(o, prog);

	/* By now net_pcap has opened a named pipe given to -r, or failed. */
	fifo_release();
	return ret;
}

/* -- Ports -------------------------------------------------------------- */

static int
port_can_rss(const struct rt_port *p, int nb_cores)
{
	struct rte_eth_dev_info info;

	if (rte_eth_dev_info_get(p->id, &info) != 0)
		return 0;
	return info.max_rx_queues >= nb_cores &&
	       info.max_tx_queues >= nb_cores &&
	       (info.flow_type_rss_offloads &
		(RTE_ETH_RSS_NONFRAG_IPV4_TCP | RTE_ETH_RSS_IPV4)) != 0;
}

static int
port_setup(struct rt_port *p, int nb_q, int rss)
{
	static uint8_t key[RSS_KEY_MAX];
	struct rte_eth_conf conf = { 0 };
	struct rte_eth_dev_info info;
	int q, ret;

	if ((ret = rte_eth_dev_info_get(p->id, &info)) != 0)
		return ret;
	if (rss) {
		int i;

		/* A key of repeated 0x6d5a makes Toeplitz symmetric: both
		 * directions of a flow reach the same queue. */
		for (i = 0; i < RSS_KEY_MAX; i += 2) {
			key[i] = 0x6d;
			key[i + 1] = 0x5a;
		}
		conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
		conf.rx_adv_conf.rss_conf.rss_key = key;
		conf.rx_adv_conf.rss_conf.rss_key_len =
			info.hash_key_size ? info.hash_key_size : 40;
		conf.rx_adv_conf.rss_conf.rss_hf = info.flow_type_rss_offloads &
			(RTE_ETH_RSS_IP | RTE_ETH_RSS_TCP);
	}
	/* Jumbo frames: a NIC receives up to its MTU. Drivers whose frames
	 * the kernel sizes (af_packet, tap) report a standard maximum and
	 * are left as they are. */
	if (g_rt.opts.max_frame > OPTS_FRAME_DEFAULT) {
		/* (The frame in the buffer comes without its CRC.) */
		uint32_t mtu = (uint32_t)g_rt.opts.max_frame -
			       RTE_ETHER_HDR_LEN;

		if (mtu + RTE_ETHER_HDR_LEN + RTE_ETHER_CRC_LEN <=
		    info.max_rx_pktlen && mtu <= info.max_mtu)
			conf.rxmode.mtu = mtu;
	}
	ret = rte_eth_dev_configure(p->id, (uint16_t)nb_q, (uint16_t)nb_q,
				    &conf);
	if (ret != 0)
		return ret;
	for (q = 0; q < nb_q; q++) {
		ret = rte_eth_rx_queue_setup(p->id, (uint16_t)q, RT_RXD,
					     rte_eth_dev_socket_id(p->id),
					     NULL, g_rt.pool);
		if (ret != 0)
			return ret;
		ret = rte_eth_tx_queue_setup(p->id, (uint16_t)q, RT_TXD,
					     rte_eth_dev_socket_id(p->id),
					     NULL);
		if (ret != 0)
			return ret;
	}
	ret = rte_eth_dev_start(p->id);
	if (ret != 0)
		return ret;
	rte_eth_promiscuous_enable(p->id);
	if (g_rt.reta_size == 0)
		g_rt.reta_size = info.reta_size ? info.reta_size : 128;
	p->nb_q = (uint16_t)nb_q;
	return 0;
}

int
rt_start(int nb_cores)
{
	int i, rss = nb_cores > 1;

	if (!rt_usable()) {
		errno = EPERM;
		return -1;
	}
	if (g_rt.started)
		return 0;
	if (nb_cores < 1 || nb_cores > g_rt.max_cores) {
		fprintf(stderr, "moonbox: %d cores requested, %d available\n",
			nb_cores, g_rt.max_cores);
		errno = EINVAL;
		return -1;
	}
	for (i = 0; i < g_rt.nb_ports && rss; i++)
		rss = port_can_rss(&g_rt.ports[i], nb_cores);
	g_rt.nb_cores = nb_cores;
	g_rt.use_dist = nb_cores > 1 && !rss;
	g_rt.seq_off = -1;
	if (g_rt.use_dist && g_rt.offline) {
		/* Files come out in the order they were read (dist.c). */
		static const struct rte_mbuf_dynfield seq = {
			.name = "moonbox_seq",
			.size = sizeof(uint64_t),
			.align = __alignof__(uint64_t),
		};

		g_rt.seq_off = rte_mbuf_dynfield_register(&seq);
		if (g_rt.seq_off < 0) {
			errno = ENOMEM;
			return -1;
		}
	}
	for (i = 0; i < g_rt.nb_ports; i++) {
		int ret = port_setup(&g_rt.ports[i], rss ? nb_cores : 1, rss);

		if (ret != 0) {
			fprintf(stderr, "moonbox: port '%s' failed to start: %s\n",
				g_rt.ports[i].spec, rte_strerror(-ret));
			errno = ENODEV;
			return -1;
		}
	}
	/* The ports have registered the timestamp field, if any. */
	g_rt.capf.ts_off = rte_mbuf_dynfield_lookup(
		RTE_MBUF_DYNFIELD_TIMESTAMP_NAME, NULL);
	i = rte_mbuf_dynflag_lookup(RTE_MBUF_DYNFLAG_RX_TIMESTAMP_NAME, NULL);
	g_rt.capf.ts_flag = i >= 0 ? 1ULL << i : 0;
	g_rt.capf.meta_off = -1;
	/* -r's port (added first) takes its frames from capfile.c's
	 * reader, when libpcap is not needed to read the file. */
	if (g_rt.opts.read_file != NULL) {
		/* ("-" is the standard input, not a file of that name.) */
		g_rt.ports[0].cap = strcmp(g_rt.opts.read_file, "-") != 0 ?
			capfile_open(g_rt.opts.read_file) : NULL;
		if (g_rt.opts.verbose)
			fprintf(stderr, "moonbox: %s: read %s\n",
				g_rt.opts.read_file, g_rt.ports[0].cap != NULL ?
				"by moonbox" : "by libpcap");
		if (g_rt.ports[0].cap != NULL && g_rt.capf.ts_off < 0 &&
		    rte_mbuf_dyn_rx_timestamp_register(&g_rt.capf.ts_off,
						       &g_rt.capf.ts_flag) != 0)
			g_rt.capf.ts_off = -1;
		if (g_rt.ports[0].cap != NULL)
			capmeta_register();
	}
	/* A scenario stamps its frames with its own clock. */
	if (g_rt.opts.scenario && g_rt.capf.ts_off < 0 &&
	    rte_mbuf_dyn_rx_timestamp_register(&g_rt.capf.ts_off,
					       &g_rt.capf.ts_flag) != 0)
		g_rt.capf.ts_off = -1;
	if (g_rt.opts.write_file != NULL) {
		/* A nanosecond input makes a nanosecond output. */
		g_rt.ports[0].wcap = capwrite_open(g_rt.opts.write_file,
			g_rt.ports[0].cap != NULL &&
			capfile_nsec(g_rt.ports[0].cap));
		if (g_rt.ports[0].wcap == NULL) {
			fprintf(stderr, "moonbox: cannot write '%s': %s\n",
				g_rt.opts.write_file, strerror(errno));
			return -1;
		}
		/* With -w - the standard output carries the capture (the
		 * writer has a descriptor of its own for it): what scripts
		 * and plugins print goes to the standard error instead of
		 * into the capture. The cores start after this. */
		if (strcmp(g_rt.opts.write_file, "-") == 0) {
			fflush(stdout);
			(void)dup2(STDERR_FILENO, STDOUT_FILENO);
		}
	}
	if (g_rt.use_dist) {
		for (i = 0; i < nb_cores; i++) {
			char name[32];

			snprintf(name, sizeof(name), "mb_to_w%d", i);
			g_rt.to_worker[i] = rte_ring_create(name, RT_RING_SIZE,
				rte_socket_id(), RING_F_SP_ENQ | RING_F_SC_DEQ);
			snprintf(name, sizeof(name), "mb_from_w%d", i);
			g_rt.from_worker[i] = rte_ring_create(name,
				RT_RING_SIZE, rte_socket_id(),
				RING_F_SP_ENQ | RING_F_SC_DEQ);
			if (g_rt.to_worker[i] == NULL ||
			    g_rt.from_worker[i] == NULL) {
				errno = ENOMEM;
				return -1;
			}
		}
		/* The distributor sees every fragment in order: it
		 * reassembles, and each datagram reaches its flow's core
		 * in order with the flow's packets. */
		if (g_rt.opts.ipfrag == IPFRAG_REASSEMBLE) {
			g_rt.dist_frag = ipfrag_create();
			g_rt.dist_big = rte_pktmbuf_pool_create("mb_dist_big",
				CORE_BIG_MBUFS, 32, 0,
				CORE_BIG_DATAROOM + RTE_PKTMBUF_HEADROOM,
				(int)rte_socket_id());
			if (g_rt.dist_frag == NULL || g_rt.dist_big == NULL) {
				errno = ENOMEM;
				return -1;
			}
		}
		g_rt.dist_lcore = (unsigned)g_rt.max_cores + 1;
		if (rte_eal_remote_launch(dist_main, NULL, g_rt.dist_lcore)
		    != 0) {
			errno = EBUSY;
			return -1;
		}
	}
	g_rt.started = 1;
	return 0;
}

/* -- Running ------------------------------------------------------------ */

void
rt_release(void)
{
	__atomic_store_n(&g_rt.go, 1, __ATOMIC_RELEASE);
}

void
rt_request_stop(void)
{
	int i;

	__atomic_store_n(&g_rt.stop, 1, __ATOMIC_RELEASE);
	for (i = 0; i < RT_MAX_CORES; i++)
		if (g_rt.cores[i] != NULL)
			g_rt.cores[i]->stop = 1;
}

int
rt_wait(void)
{
	int i, ret = 0;

	for (i = 0; i < RT_MAX_CORES; i++)
		if (g_rt.cores[i] != NULL)
			core_join(g_rt.cores[i]);
	if (g_rt.use_dist)
		rte_eal_wait_lcore(g_rt.dist_lcore);
	/* Nothing transmits any more. */
	for (i = 0; i < g_rt.nb_ports; i++) {
		if (g_rt.ports[i].wcap == NULL)
			continue;
		if (capwrite_close(g_rt.ports[i].wcap) != 0) {
			fprintf(stderr, "moonbox: cannot write '%s': %s\n",
				g_rt.opts.write_file, strerror(errno));
			ret = -1;
		}
		g_rt.ports[i].wcap = NULL;
	}
	return ret;
}

uint16_t
rt_rx_burst(uint16_t p, uint16_t q, struct rte_mbuf **b, uint16_t n)
{
	const struct rt_port *pt = &g_rt.ports[p];

	if (pt->cap != NULL)
		return capfile_rx(pt->cap, g_rt.pool, &g_rt.capf, b, n);
	return rte_eth_rx_burst(pt->id, q, b, n);
}

uint16_t
rt_tx_burst(uint16_t p, uint16_t q, struct rte_mbuf **b, uint16_t n)
{
	const struct rt_port *pt = &g_rt.ports[p];

	if (pt->wcap != NULL) {
		n = capwrite_burst(pt->wcap, &g_rt.capf, b, n);
		/* The rest would be lost too (a full disk, a closed pipe):
		 * the run ends, and rt_wait() says why. */
		if (capwrite_failed(pt->wcap))
			rt_request_stop();
		return n;
	}
	return rte_eth_tx_burst(pt->id, q, b, n);
}

double
rt_read_progress(void)
{
	if (g_rt.ports[0].cap == NULL)
		return -1;
	return capfile_progress(g_rt.ports[0].cap);
}

int
rt_rx_ended(uint16_t p, uint64_t *last_nombuf)
{
	const struct rt_port *pt = &g_rt.ports[p];
	struct rte_eth_stats es;

	if (pt->cap != NULL)
		return capfile_eof(pt->cap);
	/* net_pcap returns nothing both at the end of its file and when the
	 * pool is empty; only the latter counts rx_nombuf. */
	if (rte_eth_stats_get(pt->id, &es) != 0)
		return 1;
	if (es.rx_nombuf != *last_nombuf) {
		*last_nombuf = es.rx_nombuf;
		return 0;
	}
	return 1;
}

void
rt_totals(struct stats *total, uint64_t *rx_nombuf, uint64_t *flows_active)
{
	int i;

	memset(total, 0, sizeof(*total));
	for (i = 0; i < RT_MAX_CORES; i++)
		if (g_rt.cores[i] != NULL)
			stats_add(total, &g_rt.cores[i]->st);
	/* The workers count the packets the distributor hands them; the
	 * distributor counts its own fates (and the reception of the
	 * packets it dropped), and its reassembly. */
	if (g_rt.use_dist)
		stats_add(total, &g_rt.dist_stats);
	*rx_nombuf = 0;
	for (i = 0; i < g_rt.nb_ports; i++) {
		struct rte_eth_stats es;

		if (rte_eth_stats_get(g_rt.ports[i].id, &es) == 0)
			*rx_nombuf += es.rx_nombuf;
		if (g_rt.ports[i].cap != NULL)
			*rx_nombuf += capfile_nombuf(g_rt.ports[i].cap);
	}
	*flows_active = total->flows_created - total->flows_destroyed;
}

/* A regular file (or a new one) is replaced whole, through a temporary
 * file beside it, so that a reader of a file rewritten while moonbox runs
 * never sees part of one; anything else is written in place: a pipe, and
 * a symbolic link (replacing /dev/stdout would replace the link). A
 * failure while running is reported once until a write works again:
 * --stats-interval would repeat it every few seconds. */
int
rt_write_stats(const char *path, int final)
{
	static int live_failed;
	struct stats total, per[RT_MAX_CORES];
	uint64_t nombuf, active;
	char tmp[PATH_MAX];
	const char *to;
	struct stat sb;
	FILE *f = NULL;
	int i, n = 0, ret, err;

	if (path == NULL)
		return 0;
	rt_totals(&total, &nombuf, &active);
	for (i = 0; i < RT_MAX_CORES; i++)
		if (g_rt.cores[i] != NULL)
			per[n++] = g_rt.cores[i]->st;
	to = path;
	if ((lstat(path, &sb) != 0 ? errno == ENOENT : S_ISREG(sb.st_mode)) &&
	    snprintf(tmp, sizeof(tmp), "%s.%d.tmp", path, (int)getpid()) <
	    (int)sizeof(tmp) && (f = fopen(tmp, "w")) != NULL)
		to = tmp;
	if (f == NULL)
		f = fopen(path, "w");
	if (f == NULL)
		goto fail;
	errno = 0;
	ret = stats_write_json(f, &total, nombuf, active, g_rt.run_seconds,
			       rte_get_tsc_hz(), per, n,
			       g_rt.use_dist ? &g_rt.dist_stats : NULL, final);
	if (fclose(f) != 0 || ret != 0)
		goto fail;
	if (to == tmp && rename(tmp, path) != 0)
		goto fail;
	live_failed = 0;
	return 0;
fail:
	err = errno;
	if (to == tmp)
		unlink(tmp);
	if (final || !live_failed)
		fprintf(stderr, "moonbox: cannot write '%s': %s\n", path,
			err != 0 ? strerror(err) : "write error");
	live_failed = !final;
	return -1;
}

void
rt_cleanup(void)
{
	int i;

	if (!g_rt.eal_ready)
		return;
	for (i = 0; i < RT_MAX_CORES; i++) {
		if (g_rt.cores[i] != NULL) {
			core_free(g_rt.cores[i]);
			g_rt.cores[i] = NULL;
		}
	}
	for (i = 0; i < g_rt.nb_ports; i++) {
		capfile_close(g_rt.ports[i].cap);
		capwrite_close(g_rt.ports[i].wcap);	/* start-up failed */
		if (!g_rt.ports[i].probed)
			continue;
		if (g_rt.started)
			rte_eth_dev_stop(g_rt.ports[i].id);
		rte_eth_dev_close(g_rt.ports[i].id);
	}
	for (i = 0; i < RT_MAX_CORES; i++) {
		rte_ring_free(g_rt.to_worker[i]);
		rte_ring_free(g_rt.from_worker[i]);
	}
	rte_mempool_free(g_rt.pool);
	rte_mempool_free(g_rt.dist_big);
	ipfrag_destroy(g_rt.dist_frag);
	rte_eal_cleanup();
	remove_runtime_dir();
	memset(&g_rt, 0, sizeof(g_rt));
}

/* -- Hashing shared by the distributor, the flow table and GetRSSCPUCore */

uint32_t
rt_sym_hash(uint32_t a, uint32_t b, uint16_t pa, uint16_t pb)
{
	/* Order the endpoints so both directions hash alike. */
	if (a < b || (a == b && pa <= pb))
		return rt_sym_hash_ordered(a, b, pa, pb);
	return rt_sym_hash_ordered(b, a, pb, pa);
}

int
rt_core_of_hash(uint32_t hash, int nb_cores)
{
	/* High bits pick the core; the flow table indexes buckets with the
	 * low bits, which therefore stay evenly spread on every core. */
	return (int)(((uint64_t)hash * (uint64_t)nb_cores) >> 32);
}
