/*
 * pipe.h - the per-core packet pipeline as a resumable state machine.
 *
 * pipe_run() advances a core through rx burst -> per-packet stages ->
 * end-of-burst stages -> tx, calling C callbacks inline. When the next
 * thing to run is a Lua function, it stops and returns PIPE_INVOKE with
 * the call described in pipe.inv; the Lua loop makes the call, stores the
 * result in pipe.inv.ret and calls pipe_run() again, which continues
 * exactly where it stopped. C-only programs never see PIPE_INVOKE.
 * This keeps mOS's synchronous semantics (a callback acts on the packet
 * still held) without calling from C into Lua.
 */
#ifndef MB_PIPE_H
#define MB_PIPE_H

#include <stdint.h>
#include <rte_mbuf.h>

#include "mos_api.h"
#include "parse.h"
#include "rt.h"
#include "tcp_fsm.h"

struct core;
struct fidx_ent;
struct flow;

/* The packet clock catches a pause in the capture up through at most an
 * hour of timers (see run_timer in pipe.c). */
#define PIPE_PAUSE_MAX_MS	(3600ull * 1000)

/* How far a packet's processing got (what a length change must fix). */
enum pkt_where {
	W_RAW,		/* raw sockets' MOS_ON_PKT_IN, before flow lookup */
	W_ORPHAN,	/* no flow */
	W_SND,		/* flow: the receiver has not consumed it yet */
	W_RCV_DONE,	/* flow: the receiver consumed it */
};

enum pipe_ret {
	PIPE_DONE = 0,		/* the core has finished */
	PIPE_INVOKE = 1,	/* call the Lua function in pipe.inv */
	PIPE_IDLE = 2,		/* step mode: a burst is over */
	PIPE_RELOAD = 3,	/* between bursts: reload the script */
	PIPE_STOP = 4,		/* between bursts: the host stops the script
				   (core.lua_stop) */
};

/* A call the Lua loop must make for the engine (layout mirrored in the
 * Lua boundary header). */
struct pipe_invoke {
	int32_t fn;		/* Lua function id (registered by the host) */
	int32_t kind;		/* 0: callback, 1: filter (ret is its result) */
	int32_t sock;
	int32_t side;
	uint64_t event;
	filter_arg_t *arg;
	int32_t ret;		/* filter result, written by the Lua loop */
	int32_t failed;		/* written by the Lua loop: the call raised */
};

/* The packet being processed. */
struct pipe_pkt {
	struct rte_mbuf *m;
	uint8_t *data;		/* frame start */
	struct parsed pr;
	uint16_t in_port;	/* index in g_rt.ports */
	/* The reasons not to forward the packet as it came, which verdict()
	 * tests at once as `held` (nonzero: one of them). */
	union {
		struct {
			uint8_t drop;	/* dropped by policy */
			uint8_t err_drop;	/* after a script error */
			uint8_t bad_chain;	/* its buffers hold less than
						   its length */
			uint8_t analysis;	/* a reassembled datagram:
						   analysed, not sent */
		};
		uint32_t held;
	};

	/* TCP packets */
	struct seg g;		/* as the state machines see it */
	uint32_t hash;		/* symmetric hash of the 4-tuple */
	uint32_t fidx;		/* flow, or FLOW_NONE (orphan) */
	uint32_t fgen;
	int8_t snd;		/* sender side */
	int8_t rcv;		/* receiver side */
	/* What each packet starts with, set by one store (classify). */
	union {
		struct {
			uint8_t valid;	/* a packet is held (getlastpkt
					   works) */
			uint8_t first_syn;	/* this SYN created the flow */
			uint8_t no_store;	/* payload outside the
						   receiver's window */
			uint8_t len_changed;	/* a callback changed the
						   payload length */
			uint8_t modified;	/* a callback edited the
						   packet */
			uint8_t where;	/* enum pkt_where: how far
					   processing got */
			uint8_t hashed;	/* hash was taken with the burst
					   (cleared when a callback edits
					   the packet) */
			uint8_t found;	/* its index entry was found with
					   the burst (cleared likewise) */
		};
		uint64_t fresh;
	};
	int64_t off;		/* receiver's stream offset of the payload */
	uint32_t orig_len;	/* payload length before callbacks */
	uint32_t orig_seq;	/* sequence number before remapping */
	uint32_t rcv_nxt_before;	/* receiver's next expected sequence
					   number before this packet */
	uint32_t pktno;		/* the core's packet count (this packet) */
};

struct pipe {
	int stage;
	uint16_t nb;		/* packets in the burst */
	uint16_t i;		/* index of the current packet */
	struct rte_mbuf *burst[RT_BURST];
	uint32_t burst_hash[RT_BURST];	/* 4-tuple hashes (flow.c) */
	uint32_t hashed_mask;	/* bit i: burst_hash[i] is burst[i]'s */
	/* The flow index's entry that held burst[i]'s key when the burst
	 * arrived, and the key, to tell whether it still does (flow.c). */
	const struct fidx_ent *burst_ent[RT_BURST];
	uint64_t burst_ips[RT_BURST];
	uint32_t burst_ports[RT_BURST];
	uint32_t found_mask;	/* bit i: burst_ent[i] is burst[i]'s (read
				   only where hashed_mask's bit i is set) */
	struct pipe_pkt cur;
	struct pipe_invoke inv;

	int after;		/* stage to go to when the dispatch is done */
	uint32_t destroy_fidx;	/* flow being torn down */
	int destroy_ret;	/* stage to return to after the teardown */
	uint32_t nd_i;		/* next new-data entry to deliver */
	struct rte_mbuf *frag_done;	/* datagram completed by this frame */
	/* What classify() must look at in a frame beyond the common case,
	 * tested as one word (`special`: nonzero, one of them). */
	union {
		struct {
			uint8_t analysis_next;	/* the next packet is
						   frag_done */
			uint8_t burst_analysis;	/* the burst holds datagrams
						   other cores reassembled
						   (core.frag_in) */
			uint8_t dist_in;	/* the distributor's frames
						   carry an order or its
						   reassembled datagrams */
			uint8_t port_in_mbuf;	/* the burst is the
						   distributor's: each frame
						   carries its port */
		};
		uint32_t special;
	};
	uint16_t src_port;	/* the burst's port, unless port_in_mbuf */
	uint8_t frags_settled;	/* at the end: no core can hand over more */

	uint64_t now_ms;	/* core clock */
	uint64_t timer_limit;	/* run timers due by this (packet clock) */
	uint64_t pause_from;	/* the clock when the catch-up began */
	int clock_packet;	/* packet timestamps drive the clock */
	int input_done;
	int step;		/* --scenario: return at the end of each burst */

	int cycles;		/* --cycles */
	uint8_t cyc_busy;	/* this iteration counts as busy */
	uint64_t cyc_mark;	/* TSC at the start of this iteration */
};

/* Prepare the pipeline of a core (after its sources are set). */
int
pipe_init(struct core *c);

/* Advance; see above. */
int
pipe_run(struct core *c);

/* Move the core's packet clock on to ms (never back). */
void
pipe_clock_to(struct core *c, uint64_t ms);

/* 1 when no burst is being processed (step mode returned PIPE_IDLE). */
int
pipe_between_bursts(const struct core *c);

#endif /* MB_PIPE_H */
