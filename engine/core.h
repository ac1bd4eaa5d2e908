/*
 * core.h - one worker core: its context handle (mctx), its input sources
 * and output queues, its pipeline state and counters, and the thread that
 * runs it.
 *
 * A core's thread first runs the core's init hook (moonbox loads plugins
 * and the Lua script there), then waits until the runtime releases input
 * (rt_release), then runs the core's run function: by default a C loop
 * around pipe_run(); the Lua host replaces it with a Lua-owned loop.
 */
#ifndef MB_CORE_H
#define MB_CORE_H

#include <stdint.h>
#include <pthread.h>
#include <rte_mbuf.h>
#include <rte_spinlock.h>

#include "event.h"
#include "flow.h"
#include "mtcp_api.h"
#include "pipe.h"
#include "rt.h"
#include "sock.h"
#include "stats.h"
#include "timer.h"

#define CORE_MAX_ND	(RT_BURST * 2)

/* Frames the engine analyses are contiguous: chained ones (jumbo frames)
 * and reassembled datagrams are copied into buffers of this size. */
#define CORE_BIG_DATAROOM	16384
#define CORE_BIG_MBUFS		255

struct rb_pool;
struct ipfrag;

#define CORE_MAGIC	0x6d6f6f6eu	/* "moon" */

enum core_state {
	CORE_NEW,		/* allocated, thread not started */
	CORE_INIT,		/* thread runs the init hook */
	CORE_READY,		/* waiting for input release */
	CORE_RUNNING,
	CORE_DONE,
	CORE_FAILED,		/* init hook failed */
};

/* An input source: a port queue, or the ring from the distributor. */
struct core_src {
	uint16_t port;		/* index in g_rt.ports */
	uint16_t queue;
	struct rte_ring *ring;	/* non-NULL: read from the distributor */
	uint8_t eof;
	uint64_t last_nombuf;
};

/* Output buffer for one port. */
struct core_sink {
	uint16_t n;
	struct rte_mbuf *m[RT_BURST * 4];
};

struct core {
	struct mtcp_context mctx;	/* must stay first: it is the handle */
	uint32_t magic;
	int idx;			/* == mctx.cpu */
	unsigned lcore;
	volatile int state;		/* enum core_state */
	volatile int stop;		/* finish after the current burst */
	volatile int reload;		/* SIGHUP: the Lua loop reloads the
					   script between two bursts */
	rte_spinlock_t lock;		/* held while a burst is processed */

	/* I/O */
	int nb_src;
	struct core_src src[RT_MAX_PORTS];
	int cur_src;			/* source polled next */
	uint16_t txq;			/* tx queue of this core on each port */
	struct rte_ring *to_dist;	/* distributor mode: output ring */
	uint64_t seq_last;		/* input order of the frame taken last
					   (g_rt.seq_off), */
	volatile uint64_t seq_done;	/* and at the end of the last burst,
					   whose output is in to_dist */
	struct core_sink sink[RT_MAX_PORTS];
	/* Where core_fwd puts a packet that came in on port i: its peer's
	 * sink, or NULL when core_tx decides (--passive, the distributor). */
	struct core_sink *fwd[RT_MAX_PORTS];
	struct core_sink dropped;	/* --passive: freed a burst at a time */

	/* packet pipeline (pipe.c) */
	struct pipe pipe;
	struct disp disp;

	/* flow engine */
	struct flowtbl ft;
	struct socktbl socks;
	struct timers timers;
	struct rb_pool *rbpool;
	struct ipfrag *ipfrag;		/* NULL with --ipfrag=pass */
	struct rte_mempool *big;	/* CORE_BIG_DATAROOM buffers */
	struct rte_ring *frag_in;	/* datagrams other cores reassembled
					   for this core's flows (NULL with
					   one core) */
	volatile int input_over;	/* this core takes no more input */
	uint16_t nnd;			/* pending new-data entries */
	struct nd_ent nd[CORE_MAX_ND];
	filter_arg_t noarg;		/* arg of built-in events */
	uint16_t nkill;			/* flows to destroy when possible */
	struct nd_ent kill[64];
	/* mtcp_getlastpkt's copy (the frame starts 2 bytes in) */
	uint8_t frame_copy[16386] __rte_aligned(64);

	struct stats st;

	/* Lua boundary (bindings/mosffi.c) and the watchdog */
	volatile uint8_t lua_busy;	/* a Lua function is running */
	uint8_t lua_stop;		/* the host stops the script's loop
					   (PIPE_STOP, between bursts) */
	uint8_t errs_logged;		/* script error kinds already printed */
	volatile uint64_t heartbeat;	/* steps of the Lua loop */

	/* set by whoever embeds the engine (the moonbox program) */
	int (*init_hook)(struct core *c, void *arg);
	void *hook_arg;
	int (*run)(struct core *c);
	void *host;			/* the Lua host's per-core state */
};

/* A copy of chained frame m in one buffer of c->big (port, flags and
 * dynamic fields too), or NULL when it is longer than CORE_BIG_DATAROOM or
 * no buffer is free. */
struct rte_mbuf *
core_linearize(struct core *c, const struct rte_mbuf *m);

/* Whether every core's input is over (none can hand a datagram to
 * another any more). */
int
core_all_input_over(void);

/* The core whose thread is calling, or NULL (main thread, other threads).
 * initial-exec: every API call reads it, and the default model of a shared
 * library calls __tls_get_addr() each time (callgrind, Lua midstat: 2.6M
 * of 72M instructions). libmoonbox is linked at start-up or dlopen()ed
 * into a host whose spare static TLS easily holds 8 bytes. */
extern __thread struct core *per_lcore_cur_core
	__attribute__((tls_model("initial-exec")));
#define CORE_SELF()	RTE_PER_LCORE(cur_core)

/*
 * Allocate core idx (0 <= idx < g_rt.nb_cores), bind it to its input
 * sources and output queues and start its thread, which runs init_hook
 * (may be NULL) and then waits for rt_release(). Returns NULL with errno
 * EINVAL, EEXIST or ENOMEM.
 */
struct core *
core_create(int idx, int (*init_hook)(struct core *, void *), void *arg);

/* Wait until the core's thread has finished its init hook; returns 0, or
 * -1 if the hook failed. */
int
core_wait_ready(struct core *c);

/* Wait until the core's thread has finished. */
void
core_join(struct core *c);

/* Free a finished core. */
void
core_free(struct core *c);

/* The core behind a context handle, or NULL if mctx is not a live one. */
struct core *
core_from_mctx(mctx_t mctx);

/* Default run function: C loop around pipe_run(). */
int
core_run_c(struct core *c);

/* Current time of the core in ms (packet time offline, wall time live). */
static inline uint64_t
core_now_ms(const struct core *c)
{
	return c->pipe.now_ms;
}

/* Hand a packet to the output of port index `port` (buffered). */
void
core_tx(struct core *c, uint16_t port, struct rte_mbuf *m);

/* core_tx to the peer of port in_port, the way of a forwarded packet. */
void
core_fwd(struct core *c, uint16_t in_port, struct rte_mbuf *m);

/* Hand a packet moonbox built (mtcp_sendpkt, mtcp_reset_conn) to the
 * output; counted as pkts_sent, not tx_packets. */
void
core_tx_gen(struct core *c, uint16_t port, struct rte_mbuf *m);

/* Transmit everything buffered. */
void
core_tx_flush(struct core *c);

#endif /* MB_CORE_H */
