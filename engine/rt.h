/*
 * rt.h - the process-wide runtime: DPDK EAL, ports and their pairing, the
 * packet-buffer pool, the software distributor and the worker cores.
 *
 * Life cycle: rt_eal_init() (EAL and port probing, from struct mb_opts),
 * rt_start() (queues, pool, distributor; fixes the number of cores),
 * core_create() per core (core.h), rt_release() (workers start reading
 * input), rt_wait() (end of input or stop), rt_cleanup().
 */
#ifndef MB_RT_H
#define MB_RT_H

#include <stdint.h>
#include <rte_hash_crc.h>
#include <rte_mbuf.h>
#include <rte_mbuf_dyn.h>
#include <rte_mempool.h>
#include <rte_ring.h>

#include "capmeta.h"
#include "opts.h"
#include "stats.h"

#define RT_MAX_PORTS	OPTS_MAX_PORTS
#define RT_MAX_CORES	64
#define RT_BURST	32
#define RT_RING_SIZE	1024
#define RT_RXD		1024
#define RT_TXD		1024

struct core;
struct capfile;

/* Flow engine settings, from the options, a mos.conf or mtcp_setconf(). */
struct engcfg {
	int max_flows;		/* per core */
	int rmem;		/* reassembly window per side */
	int timewait_ms;
	int timeout_ms;		/* <= 0: never */
	int overlap_last;	/* default policy of new buffers */
	int eof_flush;
	uint64_t buf_mem;	/* reassembly bytes per core, 0: no cap */
};

struct rt_port {
	uint16_t id;		/* DPDK port id */
	uint16_t peer;		/* index in rt.ports of the paired port */
	uint8_t offline;	/* reads a capture file: its end ends the run */
	uint8_t has_tx;		/* transmits somewhere */
	uint8_t probed;		/* DPDK created it (p->id is valid) */
	uint8_t scenario;	/* made by scnport.c, not by EAL */
	uint16_t nb_q;		/* rx/tx queues configured */
	struct capfile *cap;	/* -r: the frames come from here (capfile.h) */
	struct capwrite *wcap;	/* -w: the frames leaving go here (capwrite.h) */
	struct rte_ring *scn_rx;	/* --scenario: what the port receives */
	struct rte_ring *scn_tx;	/* and what it sends (scnport.h) */
	char name[128];		/* vdev name or PCI address */
	char spec[1024];		/* as given by the user */
};

struct rt {
	struct mb_opts opts;	/* effective options */
	struct engcfg cfg;
	int eal_ready;
	int init_failed;	/* EAL started, but the rest of start-up failed */
	int started;
	int offline;		/* every rx port reads a file */
	int nb_ports;
	struct rt_port ports[RT_MAX_PORTS];
	struct rte_mempool *pool;
	int nb_cores;		/* worker cores (fixed by rt_start) */
	int max_cores;		/* worker lcores declared to EAL */
	int use_dist;		/* software distributor core */
	unsigned dist_lcore;
	struct rte_ring *to_worker[RT_MAX_CORES];
	struct rte_ring *from_worker[RT_MAX_CORES];
	volatile int dist_input_done;	/* distributor saw end of input */
	struct stats dist_stats;
	struct ipfrag *dist_frag;	/* the distributor's reassembly */
	struct rte_mempool *dist_big;	/* its datagrams' buffers */
	struct capmeta_fields capf;	/* mbuf fields of rx timestamps (us;
					   see rt_has_ts) and -r's capmeta */
	int seq_off;			/* mbuf field of the distributor's
					   input order (dist.c), or -1 */
	struct core *cores[RT_MAX_CORES];
	volatile int go;	/* workers may read input */
	volatile int stop;	/* stop requested (signal, destroy) */
	char file_prefix[64];
	uint64_t gen_flag;	/* mbuf flag of packets moonbox generated */
	uint16_t reta_size;	/* RSS redirection table of the first port */
	double run_seconds;	/* from input release to the last core done */
	int scn_failed;		/* --scenario: failed tests, -1 until the
				   scenario reports (mosffi_scn_report) */
};

extern struct rt g_rt;

/*
 * Initialise EAL with the ports named by the options (-r/-w and --port).
 * Checks input files first, so errors name the file, not a DPDK device.
 * Returns 0, or -1 with a one-line message already printed on stderr.
 */
int
rt_eal_init(const struct mb_opts *o, const char *prog);

/* 1 when rt_eal_init() succeeded (EAL may run after a failed one). */
static inline int
rt_usable(void)
{
	return g_rt.eal_ready && !g_rt.init_failed;
}

/* Configure and start the ports for nb_cores worker cores. */
int
rt_start(int nb_cores);

/* Let the workers read input (idempotent). */
void
rt_release(void);

/* Ask every core to stop after its current burst. */
void
rt_request_stop(void);

/* Wait until all created cores have finished, then close the -w file:
 * -1 (reported on stderr) if it could not be written whole. */
int
rt_wait(void);

/* Read a burst from port index p, queue q (the -r file's frames come
 * from capfile.c, not from the port's driver). */
uint16_t
rt_rx_burst(uint16_t p, uint16_t q, struct rte_mbuf **b, uint16_t n);

/* Transmit a burst on port index p, queue q (the -w file's frames go to
 * capwrite.c, not to the port's driver); returns the frames taken. */
uint16_t
rt_tx_burst(uint16_t p, uint16_t q, struct rte_mbuf **b, uint16_t n);

/* After an empty read of an offline port: 1 if its input is over, 0 if it
 * only lacked buffers (*last_nombuf: the driver's count of those at the
 * last call; the -r file's reader knows its end itself). */
int
rt_rx_ended(uint16_t p, uint64_t *last_nombuf);

/* The share of the -r file read so far (0 to 1), or -1 when libpcap
 * reads it (or there is none). */
double
rt_read_progress(void);

/* Sum the counters of all cores and the distributor. */
void
rt_totals(struct stats *total, uint64_t *rx_nombuf, uint64_t *flows_active);

/* Write the JSON statistics file named by --stats (no-op without it):
 * final at the end of the run, or a snapshot while it runs. */
int
rt_write_stats(const char *path, int final);

/* Stop ports, free everything, clean up EAL. */
void
rt_cleanup(void);

/* Core index a symmetric hash is delivered to (distributor and
 * GetRSSCPUCore agree on it). */
int
rt_core_of_hash(uint32_t hash, int nb_cores);

/* Symmetric hash of an IPv4 4-tuple (network order), as used by the
 * distributor and the flow table. */
uint32_t
rt_sym_hash(uint32_t a, uint32_t b, uint16_t pa, uint16_t pb);

/* The same hash of endpoints already put in order (the lower address, or
 * port on equal addresses, first: a flow key), so that a packet orders
 * its 4-tuple once. */
static inline uint32_t
rt_sym_hash_ordered(uint32_t lo_ip, uint32_t hi_ip, uint16_t lo_port,
		    uint16_t hi_port)
{
#ifdef __SSE4_2__
	/* The same CRC32-C steps as rte_hash_crc_4byte, without its test of
	 * the CPU (a load and a branch every packet): a build for SSE4.2
	 * (DPDK's -march) runs only where the instruction is. */
	return __builtin_ia32_crc32si(__builtin_ia32_crc32si(
		__builtin_ia32_crc32si(0, lo_ip), hi_ip),
		(uint32_t)lo_port << 16 | hi_port);
#else
	return rte_hash_crc_4byte((uint32_t)lo_port << 16 | hi_port,
		rte_hash_crc_4byte(hi_ip, rte_hash_crc_4byte(lo_ip, 0)));
#endif
}

/* Whether a packet carries its capture time (the rx timestamp net_pcap
 * sets). */
static inline int
rt_has_ts(const struct rte_mbuf *m)
{
	return g_rt.capf.ts_off >= 0 && (m->ol_flags & g_rt.capf.ts_flag) != 0;
}

/* The latest packet time the clock takes, in ms: a classic pcap file's
 * last (2^32 s). A pcapng time stamp (64 bits, plus an offset) goes up to
 * 2^64 us, where the packet clock's sums in microseconds (and timers'
 * deadlines) would wrap; later times count as this one. */
#define RT_PACKET_MS_MAX	(UINT64_C(4294967296) * 1000 - 1)

/* A frame's place in the distributor's input order (when g_rt.seq_off >=
 * 0: -c N offline; dist.c). */
static inline uint64_t
rt_seq(const struct rte_mbuf *m)
{
	return *RTE_MBUF_DYNFIELD(m, g_rt.seq_off, const uint64_t *);
}

static inline void
rt_set_seq(struct rte_mbuf *m, uint64_t seq)
{
	*RTE_MBUF_DYNFIELD(m, g_rt.seq_off, uint64_t *) = seq;
}

/* The capture time stamp of a packet that has one (rt_has_ts), in us. */
static inline uint64_t
rt_packet_us(const struct rte_mbuf *m)
{
	return *RTE_MBUF_DYNFIELD(m, g_rt.capf.ts_off, const uint64_t *);
}

/* The capture time of a packet in ms, 0 if it has none. */
static inline uint64_t
rt_packet_ms(const struct rte_mbuf *m)
{
	uint64_t ms;

	if (!rt_has_ts(m))
		return 0;
	ms = rt_packet_us(m) / 1000;
	return ms < RT_PACKET_MS_MAX ? ms : RT_PACKET_MS_MAX;
}

#endif /* MB_RT_H */
